//! Declarative rules: the schema (serde types that round-trip) and their
//! compiled form.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::Colour;
use crate::error::ParseError;

/// Declarative traffic-light rules: tried in order, the first that holds
/// gives the colour. The last may be an `else`.
///
/// ```json
/// [
///   {"if": {"status": 0}, "then": "green"},
///   {"if": {"output": "Assertion.*failed"}, "then": "red"},
///   {"if": {"all": [{"status": {"!=": 0}}, {"stderr": "error:"}]}, "then": "amber"},
///   {"else": "amber"}
/// ]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleSet(pub Vec<Rule>);

/// One rule: `{"if": CONDITION, "then": COLOUR}` or `{"else": COLOUR}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRule", into = "RawRule")]
pub enum Rule {
    /// When the condition holds, the colour.
    If {
        /// What must hold.
        condition: Condition,
        /// The colour it gives.
        then: Colour,
    },
    /// The colour when no earlier rule held. Only last.
    Else(Colour),
}

/// The serde shape of a [`Rule`]: one struct, so a mistake gets a precise
/// message instead of serde's "did not match any variant".
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    then: Option<Colour>,
    #[serde(rename = "else", default, skip_serializing_if = "Option::is_none")]
    otherwise: Option<Colour>,
}

impl TryFrom<RawRule> for Rule {
    type Error = String;

    fn try_from(raw: RawRule) -> Result<Self, String> {
        match raw {
            RawRule {
                condition: Some(condition),
                then: Some(then),
                otherwise: None,
            } => Ok(Self::If { condition, then }),
            RawRule {
                condition: None,
                then: None,
                otherwise: Some(colour),
            } => Ok(Self::Else(colour)),
            RawRule {
                otherwise: Some(_), ..
            } => Err(r#"an "else" rule has no "if" or "then""#.into()),
            RawRule {
                condition: None, ..
            } => Err(r#"a rule needs "if" and "then", or "else""#.into()),
            RawRule { then: None, .. } => Err(r#"an "if" needs a "then" colour"#.into()),
        }
    }
}

impl From<Rule> for RawRule {
    fn from(rule: Rule) -> Self {
        match rule {
            Rule::If { condition, then } => Self {
                condition: Some(condition),
                then: Some(then),
                otherwise: None,
            },
            Rule::Else(colour) => Self {
                condition: None,
                then: None,
                otherwise: Some(colour),
            },
        }
    }
}

/// What a rule tests. Written as a JSON object with exactly one key.
///
/// Patterns use the Rust `regex` crate's syntax, with one change to suit
/// multi-line output: `^` and `$` match at line boundaries (as in Ruby);
/// `\A` and `\z` match at the ends of the text. Matching is linear-time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// `{"status": 0}`, `{"status": {"==": 0}}` or `{"status": {"!=": 0}}`.
    Status(StatusTest),
    /// `{"stdout": "regex"}`: the pattern is found in stdout.
    Stdout(String),
    /// `{"stderr": "regex"}`: the pattern is found in stderr.
    Stderr(String),
    /// `{"output": "regex"}`: found in stdout followed directly by stderr
    /// (no separator, like cyber-dojo's `output = stdout + stderr`).
    Output(String),
    /// `{"all": [...]}`: every condition holds (true when empty).
    All(Vec<Condition>),
    /// `{"any": [...]}`: some condition holds (false when empty).
    Any(Vec<Condition>),
    /// `{"not": {...}}`.
    Not(Box<Condition>),
}

/// A test of the exit status. A bare number means `==`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value", into = "serde_json::Value")]
pub enum StatusTest {
    /// The status is this.
    Eq(i32),
    /// The status is not this.
    Ne(i32),
}

impl TryFrom<serde_json::Value> for StatusTest {
    type Error = String;

    fn try_from(v: serde_json::Value) -> Result<Self, String> {
        let int = |v: &serde_json::Value| {
            v.as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| format!("a status must be an integer, not {v}"))
        };
        match &v {
            serde_json::Value::Number(_) => int(&v).map(Self::Eq),
            serde_json::Value::Object(map) if map.len() == 1 => {
                let (op, n) = map.iter().next().expect("one entry");
                match op.as_str() {
                    "==" => int(n).map(Self::Eq),
                    "!=" => int(n).map(Self::Ne),
                    other => Err(format!(
                        r#"unknown status operator "{other}"; use "==" or "!=""#
                    )),
                }
            }
            _ => Err(format!(
                r#"a status test is a number or {{"==": n}} or {{"!=": n}}, not {v}"#
            )),
        }
    }
}

impl From<StatusTest> for serde_json::Value {
    fn from(t: StatusTest) -> Self {
        match t {
            StatusTest::Eq(n) => n.into(),
            StatusTest::Ne(n) => serde_json::json!({ "!=": n }),
        }
    }
}

impl RuleSet {
    /// Reads rules from JSON, with the index of the rule at fault in errors.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, ParseError> {
        let items = v.as_array().ok_or_else(|| ParseError::Json {
            rule: None,
            message: format!("rules must be a JSON array of rules, not {}", kind(v)),
        })?;
        let rules = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                Rule::deserialize(item).map_err(|e| ParseError::Json {
                    rule: Some(i),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(rules))
    }

    pub(crate) fn compile(&self) -> Result<Compiled, ParseError> {
        if self.0.is_empty() {
            return Err(ParseError::Json {
                rule: None,
                message: "there are no rules".into(),
            });
        }
        let mut rules = Vec::with_capacity(self.0.len());
        let mut otherwise = None;
        for (i, rule) in self.0.iter().enumerate() {
            if otherwise.is_some() {
                return Err(ParseError::Json {
                    rule: Some(i),
                    message: r#"no rule may follow "else""#.into(),
                });
            }
            match rule {
                Rule::If { condition, then } => {
                    let cond = compile(condition, 0).map_err(|message| ParseError::Json {
                        rule: Some(i),
                        message,
                    })?;
                    rules.push((cond, *then));
                }
                Rule::Else(colour) => otherwise = Some(*colour),
            }
        }
        Ok(Compiled { rules, otherwise })
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Keeps a recursive structure from a hostile document off the stack.
const MAX_DEPTH: usize = 32;

#[derive(Debug)]
pub(crate) struct Compiled {
    rules: Vec<(Cond, Colour)>,
    otherwise: Option<Colour>,
}

#[derive(Debug)]
enum Cond {
    Status(StatusTest),
    Stdout(Regex),
    Stderr(Regex),
    Output(Regex),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
}

fn compile(c: &Condition, depth: usize) -> Result<Cond, String> {
    if depth > MAX_DEPTH {
        return Err("conditions nested too deeply".into());
    }
    let re = |p: &str, field: &str| {
        crate::ruby::regex::build(&format!("(?m){p}"))
            .map_err(|e| format!(r#""{field}" pattern {p:?}: {e}"#))
    };
    let many = |cs: &[Condition]| {
        cs.iter()
            .map(|c| compile(c, depth + 1))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match c {
        Condition::Status(t) => Cond::Status(*t),
        Condition::Stdout(p) => Cond::Stdout(re(p, "stdout")?),
        Condition::Stderr(p) => Cond::Stderr(re(p, "stderr")?),
        Condition::Output(p) => Cond::Output(re(p, "output")?),
        Condition::All(cs) => Cond::All(many(cs)?),
        Condition::Any(cs) => Cond::Any(many(cs)?),
        Condition::Not(c) => Cond::Not(Box::new(compile(c, depth + 1)?)),
    })
}

/// The run being judged. `output` is built only if a rule asks for it.
struct Run<'a> {
    stdout: &'a str,
    stderr: &'a str,
    status: i32,
    output: Option<String>,
}

impl Compiled {
    pub(crate) fn colour(&self, stdout: &str, stderr: &str, status: i32) -> Result<Colour, String> {
        let mut run = Run {
            stdout,
            stderr,
            status,
            output: None,
        };
        for (cond, colour) in &self.rules {
            if holds(cond, &mut run) {
                return Ok(*colour);
            }
        }
        self.otherwise
            .ok_or_else(|| r#"no rule matched, and there is no "else" rule"#.to_string())
    }
}

fn holds(c: &Cond, run: &mut Run<'_>) -> bool {
    match c {
        Cond::Status(StatusTest::Eq(n)) => run.status == *n,
        Cond::Status(StatusTest::Ne(n)) => run.status != *n,
        Cond::Stdout(re) => re.is_match(run.stdout),
        Cond::Stderr(re) => re.is_match(run.stderr),
        Cond::Output(re) => {
            let (stdout, stderr) = (run.stdout, run.stderr);
            re.is_match(
                run.output
                    .get_or_insert_with(|| format!("{stdout}{stderr}")),
            )
        }
        Cond::All(cs) => cs.iter().all(|c| holds(c, run)),
        Cond::Any(cs) => cs.iter().any(|c| holds(c, run)),
        Cond::Not(c) => !holds(c, run),
    }
}

impl fmt::Display for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&json)
    }
}
