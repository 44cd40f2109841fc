use std::fmt;

use serde::{Deserialize, Serialize};

/// How a run ended, in cyber-dojo's words: a traffic-light colour, or why
/// there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The tests ran and failed.
    Red,
    /// The tests did not run (a syntax error, say).
    Amber,
    /// The tests passed.
    Green,
    /// The run was killed at its time limit.
    TimedOut,
    /// The run could not be judged: no bash in the image, a broken rule.
    Faulty,
    /// The image is being pulled; try again.
    Pulling,
}

impl Outcome {
    /// The name cyber-dojo uses (`timed_out`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Amber => "amber",
            Self::Green => "green",
            Self::TimedOut => "timed_out",
            Self::Faulty => "faulty",
            Self::Pulling => "pulling",
        }
    }

    /// The status cyber-dojo reports for outcomes without a real exit status.
    pub fn synthetic_status(self) -> Option<i32> {
        match self {
            Self::Pulling => Some(141),
            Self::TimedOut => Some(142),
            Self::Faulty => Some(143),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Gives a finished run its colour: cyber-dojo's traffic lights.
pub trait Judge: Send + Sync {
    /// `Ok(Red | Amber | Green)`, or why no colour could be given (the run
    /// is then `faulty`, with the reason in its log).
    fn colour(&self, stdout: &str, stderr: &str, status: i32) -> Result<Outcome, String>;
}
