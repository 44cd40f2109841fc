use kata_lights::Rules;
use kata_types::{Judge, Outcome};

pub use kata_types::Outcome::{Amber, Green, Red};

/// Parses a lambda, failing the test with the parser's message.
pub fn rules(src: &str) -> Rules {
    Rules::from_ruby(src).unwrap_or_else(|e| panic!("parse failed: {e}\n{src}"))
}

/// The colour, failing the test if the judge said faulty.
pub fn colour(rules: &Rules, stdout: &str, stderr: &str, status: i32) -> Outcome {
    rules
        .colour(stdout, stderr, status)
        .unwrap_or_else(|e| panic!("judge failed: {e}"))
}

/// A lambda with the usual parameters around `body`.
pub fn lambda(body: &str) -> String {
    format!("lambda {{ |stdout, stderr, status|\n{body}\n}}")
}

/// Judges `body` (inside the usual lambda) on one run.
pub fn judge(body: &str, stdout: &str, stderr: &str, status: i32) -> Result<Outcome, String> {
    rules(&lambda(body)).colour(stdout, stderr, status)
}
