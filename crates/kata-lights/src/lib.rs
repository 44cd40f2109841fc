//! Traffic lights from rules: gives a finished run its colour, red, amber or
//! green, without ever running an interpreter.
//!
//! [`Rules`] is the one type most callers need. It implements
//! [`kata_types::Judge`] and comes from either of two sources:
//!
//! * [`Rules::from_ruby`]: cyber-dojo's Ruby `rag_lambda`, as start-points
//!   carry it in their manifest or images carry it in
//!   `/usr/local/bin/red_amber_green.rb`. It is *parsed* into a checked
//!   program over a documented subset of Ruby (see below) and evaluated by
//!   this crate; anything outside the subset is a [`ParseError`] with its
//!   line and column, never a guess.
//! * [`Rules::from_json`]: declarative rules ([`RuleSet`]): status tests and
//!   regexes over stdout, stderr or output, combined with `all`/`any`/`not`.
//!
//! [`Rules::parse`] takes either as text, telling them apart by the first
//! character (`[` for JSON).
//!
//! ```
//! use kata_lights::Rules;
//! use kata_types::{Judge, Outcome};
//!
//! let rules = Rules::from_ruby(r#"
//!     lambda { |stdout, stderr, status|
//!       output = stdout + stderr
//!       return :green if status == 0
//!       return :red   if /(.*)Assertion(.*)failed/.match(output)
//!       return :amber
//!     }
//! "#)?;
//! let stderr = "hiker.tests.c:9: test_answer: Assertion `answer() == 42' failed.\n";
//! assert_eq!(rules.colour("", stderr, 2), Ok(Outcome::Red));
//! assert_eq!(rules.colour("All tests passed\n", "", 0), Ok(Outcome::Green));
//! assert_eq!(rules.colour("", "hiker.c:5: error: expected ';'\n", 2), Ok(Outcome::Amber));
//!
//! // Outside the subset: refused when parsed, with where and what.
//! let err = Rules::from_ruby("lambda { |o, e, s| system('rm -rf /') }").unwrap_err();
//! assert_eq!(err.to_string(), "1:20: unsupported: call to `system` (not a parameter or \
//!     local variable; method calls are limited to those documented)");
//!
//! // The same judge, declared.
//! let rules = Rules::from_json(&serde_json::json!([
//!     {"if": {"status": 0}, "then": "green"},
//!     {"if": {"output": "Assertion.*failed"}, "then": "red"},
//!     {"else": "amber"}
//! ]))?;
//! assert_eq!(rules.colour("", stderr, 2), Ok(Outcome::Red));
//! # Ok::<(), kata_lights::ParseError>(())
//! ```
//!
//! # The Ruby subset
//!
//! The lambda: `lambda { |a, b, c| ... }`, `lambda do |a, b, c| ... end`,
//! `->(a, b, c) { ... }` (any parameter names; exactly three), alone in the
//! text apart from comments.
//!
//! Statements and expressions: local assignment (`x = ...`, `a, b = ...`,
//! `+=`, `||=`); `return` (with or without a value); `if`/`elsif`/`else`,
//! `unless`/`else`, both as blocks and as modifiers; `cond ? a : b`; `&&`,
//! `||`, `!`, `and`, `or`, `not`; `==`, `!=`, `===`, `=~`, `!~`, `<`, `<=`,
//! `>`, `>=`; integer `+ - * / %` and string/array `+`; parentheses.
//! Literals: integers, `'...'` and `"..."` strings (Ruby escapes, `#{}`
//! interpolation), symbols, `/regex/imx`, `%r{...}`, `%w(...)`, `[...]`,
//! `nil`, `true`, `false`. `Regexp.new(str)`, `Regexp.escape(str)`; `$~` and
//! `$1`..`$9` after a match.
//!
//! Methods (each on the receivers Ruby has it for): `match`, `match?`,
//! `scan`, `include?`, `start_with?`, `end_with?`, `empty?`, `nil?`,
//! `zero?`, `positive?`, `negative?`, `size`, `length`, `count`, `to_i`,
//! `to_s`, `to_a`, `strip`, `chomp`, `downcase`, `upcase`, `lines`,
//! `freeze`, `captures`, `[]` (on arrays, match data and strings), and
//! on arrays `map`/`collect`, `select`/`filter`, `reject`, `find`/`detect`,
//! `each`, `any?`, `all?`, `none?`, `max`, `min`, `sum`, `first`, `last`,
//! `flatten`, `compact`, `uniq`, `join`. Blocks are `{ |x| ... }`,
//! `do |x| ... end` or `&:method`; `return` inside a block returns from
//! the lambda, as in Ruby.
//!
//! Refused when parsed: every other method or name (`system`, `eval`,
//! `exit`, `puts`, `File.read`, `send`, ...), backticks and `%x()`, `def`,
//! `class`, `module`, loops (`while`, `until`, `for`), `begin`/`rescue`,
//! `case`, `proc`, nested lambdas, hashes, floats, ranges, heredocs,
//! instance and global variables other than `$~`/`$1`..`$9`, and regexes
//! using look-around, back-references, atomic groups or possessive
//! quantifiers.
//!
//! Ruby's semantics are kept where they decide colours: only `nil` and
//! `false` are falsy; the value of the last expression is the result when
//! there is no `return`; `=~` gives a character index; `String#to_i` reads
//! a leading number; regexes get Ruby's meanings (`^`/`$` at every line,
//! ASCII-only `\d \s \w \b`, `/m` for dot-matches-newline). A run that
//! would raise in Ruby (`nil[1]`, `1 + "a"`) is an `Err`, i.e. `faulty`.
//! So is a result other than `:red`, `:amber` or `:green` (or the same
//! words as strings: cyber-dojo compares `result.to_s`).
//!
//! Every run has a step budget, and regexes a compiled-size limit, so that
//! no lambda can make a run slow or large.
#![deny(missing_docs)]

mod error;
mod json;
mod ruby;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use error::{ParseError, Pos};
pub use json::{Condition, Rule, RuleSet, StatusTest};
use kata_types::{Judge, Outcome};

/// Longer than any real rule set by two orders of magnitude.
pub const MAX_RULES_BYTES: usize = 64 * 1024;

/// A traffic-light colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    /// The tests ran and failed.
    Red,
    /// The tests did not run.
    Amber,
    /// The tests passed.
    Green,
}

impl From<Colour> for Outcome {
    fn from(c: Colour) -> Self {
        match c {
            Colour::Red => Outcome::Red,
            Colour::Amber => Outcome::Amber,
            Colour::Green => Outcome::Green,
        }
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Outcome::from(*self).fmt(f)
    }
}

/// Compiled traffic-light rules. Cheap to share: `Send + Sync`, and
/// judging does not mutate them.
pub struct Rules {
    inner: Inner,
}

enum Inner {
    Ruby(ruby::Program),
    Declarative(RuleSet, json::Compiled),
}

impl Rules {
    /// Parses a cyber-dojo `rag_lambda` (see the crate docs for the subset).
    pub fn from_ruby(src: &str) -> Result<Self, ParseError> {
        check_len(src)?;
        Ok(Self {
            inner: Inner::Ruby(ruby::parse(src)?),
        })
    }

    /// Builds rules from their declarative form (see [`RuleSet`]).
    pub fn from_json(v: &serde_json::Value) -> Result<Self, ParseError> {
        Self::from_rule_set(RuleSet::from_json(v)?)
    }

    /// Builds rules from an already-read [`RuleSet`].
    pub fn from_rule_set(rules: RuleSet) -> Result<Self, ParseError> {
        let compiled = rules.compile()?;
        Ok(Self {
            inner: Inner::Declarative(rules, compiled),
        })
    }

    /// Reads rules from text: JSON when it starts with `[` (after
    /// whitespace), a Ruby lambda otherwise. This is what to call on a
    /// manifest's `rag_lambda` or on `/usr/local/bin/red_amber_green.rb`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        check_len(text)?;
        if text.trim_start().starts_with('[') {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|e| ParseError::Json {
                    rule: None,
                    message: e.to_string(),
                })?;
            Self::from_json(&v)
        } else {
            Self::from_ruby(text)
        }
    }

    /// The declarative rules these were built from, if they were.
    pub fn rule_set(&self) -> Option<&RuleSet> {
        match &self.inner {
            Inner::Declarative(rules, _) => Some(rules),
            Inner::Ruby(_) => None,
        }
    }
}

fn check_len(src: &str) -> Result<(), ParseError> {
    if src.len() > MAX_RULES_BYTES {
        return Err(ParseError::TooLong {
            len: src.len(),
            limit: MAX_RULES_BYTES,
        });
    }
    Ok(())
}

impl Judge for Rules {
    fn colour(&self, stdout: &str, stderr: &str, status: i32) -> Result<Outcome, String> {
        match &self.inner {
            Inner::Declarative(_, compiled) => {
                compiled.colour(stdout, stderr, status).map(Outcome::from)
            }
            Inner::Ruby(program) => {
                let value = ruby::run(program, stdout, stderr, status)
                    .map_err(|f| format!("{}: {}", f.pos, f.message))?;
                // cyber-dojo compares `result.to_s`, so "red" does as well as :red.
                match ruby::to_s(&value).as_str() {
                    "red" => Ok(Outcome::Red),
                    "amber" => Ok(Outcome::Amber),
                    "green" => Ok(Outcome::Green),
                    _ => Err(format!(
                        "the lambda returned {}; it must return :red, :amber or :green",
                        ruby::inspect(&value)
                    )),
                }
            }
        }
    }
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Ruby(_) => f.write_str("Rules(ruby lambda)"),
            Inner::Declarative(rules, _) => write!(f, "Rules({rules})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Rules>();
    }
}
