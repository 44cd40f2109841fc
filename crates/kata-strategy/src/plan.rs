//! What a strategy decides, as data.
//!
//! A strategy never touches a file: it returns a [`Plan`], and the runner
//! carries it out with the guest. That is what lets a later third-party
//! strategy be a WASI module returning a plan as JSON.

use serde::{Deserialize, Serialize};

/// Where a run's sandbox comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// The request's files alone, stamped now: every run starts clean.
    Fresh,
    /// The kata's saved sandbox, brought in line with the request's files:
    /// unchanged files keep their timestamps, build products stay.
    Saved,
}

/// What of the sandbox outlives the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// Only the visible files, in the history.
    History,
    /// The whole sandbox (object files, executables), with timestamps, as
    /// the next run's start.
    Sandbox,
}

/// A strategy's decision for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Where the sandbox comes from.
    pub start: Start,
    /// What is kept afterwards.
    pub keep: Keep,
}

/// The built-in strategies, by the name a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerKind {
    /// Stateless: fresh timestamps, nothing read from the kata's sandbox.
    Tmp,
    /// Stateful: the kata's saved sandbox is the state; incremental builds.
    Katas,
}

impl RunnerKind {
    /// The name clients use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tmp => "tmp",
            Self::Katas => "katas",
        }
    }

    /// This strategy's plan. Built-in strategies decide the same for every
    /// run; a plugin may look at the request.
    pub fn plan(self) -> Plan {
        match self {
            Self::Tmp => Plan {
                start: Start::Fresh,
                keep: Keep::History,
            },
            Self::Katas => Plan {
                start: Start::Saved,
                keep: Keep::Sandbox,
            },
        }
    }
}

impl std::str::FromStr for RunnerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tmp" => Ok(Self::Tmp),
            "katas" => Ok(Self::Katas),
            other => Err(format!("unknown runner {other:?}: expected tmp or katas")),
        }
    }
}
