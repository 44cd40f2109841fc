//! Traffic lights: a run's output → red, amber or green.

pub use kata_types::Judge;
use kata_types::Outcome;

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
