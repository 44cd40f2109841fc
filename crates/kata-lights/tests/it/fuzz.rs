//! The parser, the regex translator and the evaluator never panic, whatever
//! they are given.

use kata_lights::Rules;
use kata_types::Judge;
use proptest::prelude::*;

/// Pieces of Ruby, good and bad, for token soup.
const PIECES: &[&str] = &[
    "output",
    "stdout",
    "stderr",
    "status",
    "m",
    "x",
    "=",
    "==",
    "!=",
    "===",
    "=~",
    "!~",
    "&&",
    "||",
    "!",
    "and",
    "or",
    "not",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "|",
    ",",
    ".",
    ";",
    "\n",
    "?",
    ":",
    "+",
    "-",
    "*",
    "/",
    "%",
    "<",
    ">=",
    "0",
    "1",
    "-2",
    "'0'",
    "\"a#{x}\"",
    ":red",
    ":amber",
    ":green",
    ":blue",
    "/(\\d+) f/",
    "/a/m",
    "%r{x}",
    "%w(a b)",
    "return",
    "if",
    "elsif",
    "else",
    "unless",
    "then",
    "end",
    "do",
    "nil",
    "true",
    "match",
    "match?",
    "scan",
    "map",
    "to_i",
    "nil?",
    "zero?",
    "empty?",
    "size",
    "any?",
    "max",
    "captures",
    "$1",
    "$~",
    "&:to_i",
    "Regexp.new('a')",
    "Regexp",
    "x = /(a)|(b)/.match(output)",
    "m[1]",
    "m[2].to_i",
    "system",
    "`ls`",
    "def",
    "#{",
    "\\",
    "'",
    "\"",
    "/",
    "(?!",
    "@a",
    "1.5",
    "<<~E",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|ps| ps.join(" "))
}

fn judge_all(r: &Rules) {
    for (out, err, status) in [("", "", 0), ("1 f\na\nb", "x", 1), ("(2) f", "", 2)] {
        let _ = r.colour(out, err, status);
    }
}

proptest! {
    #[test]
    fn any_text_parses_or_errs(src in "\\PC*") {
        let _ = Rules::from_ruby(&src);
        let _ = Rules::parse(&src);
    }

    #[test]
    fn token_soup_in_a_lambda_parses_or_errs_and_runs_or_faults(body in soup()) {
        let src = format!("lambda {{ |stdout, stderr, status|\n{body}\n}}");
        if let Ok(r) = Rules::from_ruby(&src) {
            judge_all(&r);
        }
    }

    #[test]
    fn any_regex_translates_or_errs(pattern in "[a-z()\\[\\]{}?*+|^$.\\\\dswbAzZhp:<>=!#,0-9 -]{0,24}") {
        let src = format!("lambda {{ |a, b, c| /{pattern}/ =~ a ? :red : :green }}");
        if let Ok(r) = Rules::from_ruby(&src) {
            judge_all(&r);
        }
        let r = Rules::from_ruby("lambda { |a, b, c| Regexp.new(a) =~ b ? :red : :green }").unwrap();
        let _ = r.colour(&pattern, "text", 0);
    }

    #[test]
    fn any_json_reads_or_errs(src in "\\PC*") {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&src) {
            let _ = Rules::from_json(&v);
        }
    }
}
