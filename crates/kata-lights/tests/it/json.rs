//! Declarative rules: the schema, its round trip and its judgements.

use kata_lights::{Colour, Condition, ParseError, Rule, RuleSet, Rules, StatusTest};
use kata_types::Judge;
use serde_json::json;

use crate::support::*;

fn gcc_assert() -> serde_json::Value {
    json!([
        {"if": {"status": 0}, "then": "green"},
        {"if": {"output": "Assertion.*failed"}, "then": "red"},
        {"else": "amber"}
    ])
}

#[test]
fn the_cyber_dojo_cases() {
    let r = Rules::from_json(&gcc_assert()).unwrap();
    assert_eq!(r.colour("", "x: Assertion `a' failed.\n", 2), Ok(Red));
    assert_eq!(
        r.colour("", "hiker.c:5: error: invalid suffix \"s\"\n", 2),
        Ok(Amber)
    );
    assert_eq!(r.colour("All tests passed\n", "", 0), Ok(Green));
}

#[test]
fn every_condition_kind() {
    let r = Rules::from_json(&json!([
        {"if": {"all": [{"status": {"!=": 0}}, {"stderr": "^error:"}]}, "then": "amber"},
        {"if": {"any": [{"stdout": "FAIL"}, {"stderr": "FAIL"}]}, "then": "red"},
        {"if": {"not": {"output": "(?i)passed"}}, "then": "amber"},
        {"if": {"status": {"==": 0}}, "then": "green"},
        {"else": "red"}
    ]))
    .unwrap();
    assert_eq!(r.colour("", "warning\nerror: x\n", 1), Ok(Amber));
    assert_eq!(
        r.colour("PASSED", "error: x\n", 0),
        Ok(Green),
        "status 0 fails the all"
    );
    assert_eq!(r.colour("FAIL", "", 1), Ok(Red));
    assert_eq!(r.colour("", "nothing", 1), Ok(Amber));
    assert_eq!(r.colour("PASSED", "", 0), Ok(Green));
    assert_eq!(r.colour("PASSED", "", 3), Ok(Red));
}

#[test]
fn output_is_stdout_then_stderr_and_anchors_work_per_line() {
    let r = Rules::from_json(&json!([
        {"if": {"output": "ab"}, "then": "red"},
        {"if": {"output": "^ok$"}, "then": "green"},
        {"if": {"output": "\\Aonly\\z"}, "then": "amber"}
    ]))
    .unwrap();
    assert_eq!(r.colour("a", "b", 1), Ok(Red));
    assert_eq!(r.colour("x\nok\n", "", 0), Ok(Green));
    assert_eq!(r.colour("only", "", 0), Ok(Amber));
    assert_eq!(
        r.colour("neither\n", "", 0),
        Err(r#"no rule matched, and there is no "else" rule"#.to_string())
    );
}

#[test]
fn rules_round_trip() {
    let v = json!([
        {"if": {"status": 0}, "then": "green"},
        {"if": {"status": {"!=": 2}}, "then": "amber"},
        {"if": {"all": [{"stdout": "a"}, {"any": [{"stderr": "b"}, {"not": {"output": "c"}}]}]}, "then": "red"},
        {"else": "amber"}
    ]);
    let set = RuleSet::from_json(&v).unwrap();
    assert_eq!(serde_json::to_value(&set).unwrap(), v);
    assert_eq!(
        set.0[1],
        Rule::If {
            condition: Condition::Status(StatusTest::Ne(2)),
            then: Colour::Amber
        }
    );
    let rules = Rules::from_rule_set(set.clone()).unwrap();
    assert_eq!(rules.rule_set(), Some(&set));
    let text = set.to_string();
    assert_eq!(serde_json::from_str::<RuleSet>(&text).unwrap(), set);
}

#[test]
fn parse_tells_json_from_ruby() {
    let r = Rules::parse(&gcc_assert().to_string()).unwrap();
    assert!(r.rule_set().is_some());
    let r = Rules::parse("lambda { |a, b, c| :red }").unwrap();
    assert!(r.rule_set().is_none());
    assert_eq!(colour(&r, "", "", 0), Red);
}

#[test]
fn mistakes_name_the_rule_at_fault() {
    let err = |v: serde_json::Value| Rules::from_json(&v).unwrap_err().to_string();
    assert_eq!(
        err(json!({"if": {}})),
        "rules must be a JSON array of rules, not an object"
    );
    assert_eq!(err(json!([])), "there are no rules");
    assert_eq!(
        err(json!([{"else": "red"}, {"else": "amber"}])),
        r#"rule 1: no rule may follow "else""#
    );
    assert_eq!(
        err(json!([{"if": {"status": 0}}])),
        r#"rule 0: an "if" needs a "then" colour"#
    );
    assert_eq!(
        err(json!([{"then": "red"}])),
        r#"rule 0: a rule needs "if" and "then", or "else""#
    );
    assert_eq!(
        err(json!([{"if": {"status": 0}, "then": "red", "else": "green"}])),
        r#"rule 0: an "else" rule has no "if" or "then""#
    );
    assert!(
        err(json!([{"if": {"status": 0}, "then": "blue"}]))
            .starts_with("rule 0: unknown variant `blue`")
    );
    assert!(
        err(json!([{"if": {"stdot": "x"}, "then": "red"}]))
            .starts_with("rule 0: unknown variant `stdot`")
    );
    assert!(
        err(json!([{"if": {"status": "0"}, "then": "red"}])).contains("a status test is a number")
    );
    assert!(
        err(json!([{"if": {"status": {"<": 0}}, "then": "red"}]))
            .contains(r#"unknown status operator "<""#)
    );
    assert!(
        err(json!([{"when": {"status": 0}, "then": "red"}]))
            .starts_with("rule 0: unknown field `when`")
    );
    let e = err(json!([{"else": "red"}, {"if": {"stdout": "a(?!b)"}, "then": "red"}]));
    assert!(e.starts_with("rule 1: no rule may follow"), "{e}");
    let e = err(json!([{"if": {"stdout": "a(?!b)"}, "then": "red"}]));
    assert!(
        e.starts_with(r#"rule 0: "stdout" pattern "a(?!b)": "#) && e.contains("look-around"),
        "{e}"
    );
    let e = err(json!([{"if": {"output": "(a{1000}){1000}"}, "then": "red"}]));
    assert!(e.contains("too big"), "{e}");
    assert!(matches!(
        Rules::from_json(&json!([])),
        Err(ParseError::Json { rule: None, .. })
    ));
}
