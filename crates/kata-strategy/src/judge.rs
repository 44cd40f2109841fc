//! Traffic lights: a run's output → red, amber or green.

use kata_types::Outcome;

/// Gives a finished run its colour.
pub trait Judge: Send + Sync {
    /// `Ok(Red | Amber | Green)`, or why no colour could be given (the run
    /// is then `faulty`, with the reason in its log).
    fn colour(&self, stdout: &str, stderr: &str, status: i32) -> Result<Outcome, String>;
}

/// The simplest rule: status 0 is green, anything else red.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByStatus;

impl Judge for ByStatus {
    fn colour(&self, _stdout: &str, _stderr: &str, status: i32) -> Result<Outcome, String> {
        Ok(if status == 0 {
            Outcome::Green
        } else {
            Outcome::Red
        })
    }
}
