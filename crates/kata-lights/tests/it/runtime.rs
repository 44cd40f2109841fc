//! What a lambda that parses can still do wrong: each is `faulty`.

use std::time::{Duration, Instant};

use crate::support::*;

fn fault(body: &str, stdout: &str) -> String {
    match judge(body, stdout, "", 0) {
        Err(e) => e,
        Ok(c) => panic!("expected a fault, got {c:?} from\n{body}"),
    }
}

#[test]
fn a_colour_other_than_red_amber_green_is_a_fault() {
    assert_eq!(
        fault(":blue", ""),
        "the lambda returned :blue; it must return :red, :amber or :green"
    );
    assert!(fault("'orange'", "").contains("returned \"orange\""));
    assert!(fault("42", "").contains("returned 42"));
    assert!(fault("[:red]", "").contains("returned [:red]"));
}

#[test]
fn falling_off_the_end_is_a_fault() {
    assert!(fault("return", "").contains("returned nil"));
    assert!(fault("return :red if stdout =~ /x/", "").contains("returned nil"));
}

#[test]
fn what_ruby_would_raise_is_a_fault_with_its_position() {
    let e = fault("m = /(x)/.match(stdout)\nm[1] == 'x' ? :red : :green", "y");
    assert_eq!(e, "3:2: undefined method `[]' for nil");
    assert!(fault("stdout + 1", "").contains("no implicit conversion of Integer into String"));
    assert!(fault("status + 'a'", "").contains("String can't be coerced into Integer"));
    assert!(fault("status < nil", "").contains("comparison of Integer with nil failed"));
    assert!(fault("stdout.zero?", "").contains("undefined method `zero?' for String"));
    assert!(fault("1 / 0", "").contains("divided by 0"));
    assert!(fault("stdout.to_i", "99999999999999999999").contains("integer too large"));
    assert!(fault("m = /(?<a>x)/.match(stdout)\nm[:b]", "x").contains("undefined group name"));
    assert!(fault("[1, 'a'].max", "").contains("comparison of String with 1 failed"));
}

#[test]
fn a_regex_built_at_run_time_is_checked_at_run_time() {
    let e = fault("Regexp.new(stdout) =~ 'x' ? :red : :green", "a(?!b)");
    assert!(e.contains("negative look-ahead"), "{e}");
}

#[test]
fn a_runaway_lambda_is_stopped_by_its_budget() {
    let body = "cs = stdout.scan(/./)\ncs.each { |a| cs.each { |b| b } }\n:red";
    let stdout = "x".repeat(20_000);
    let started = Instant::now();
    let e = fault(body, &stdout);
    assert!(e.contains("took too long"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn judging_is_repeatable_and_shares_nothing_between_runs() {
    let r = rules(&lambda("stdout =~ /(x)/\n$1.nil? ? :green : :red"));
    assert_eq!(colour(&r, "x", "", 0), Red);
    assert_eq!(colour(&r, "y", "", 0), Green);
    let r = std::sync::Arc::new(r);
    let threads: Vec<_> = (0..4)
        .map(|k| {
            let r = r.clone();
            std::thread::spawn(move || {
                use kata_types::Judge;
                let out = if k % 2 == 0 { "x" } else { "y" };
                r.colour(out, "", 0)
            })
        })
        .collect();
    let got: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(got, vec![Ok(Red), Ok(Green), Ok(Red), Ok(Green)]);
}

#[test]
fn arrays_cannot_nest_without_bound() {
    let body = "x = []\nstdout.scan(/./).each { |c| x = [x] }\nx.flatten.empty? ? :green : :red";
    assert!(fault(body, &"a".repeat(100)).contains("arrays nested more than 32 deep"));
    assert_eq!(judge(body, &"a".repeat(20), "", 0), Ok(Green));
}

#[test]
fn doubling_a_string_runs_out_of_budget_early() {
    let body = "s = stdout\nstdout.scan(/./).each { |c| s = s + s }\n:green";
    assert!(fault(body, &"a".repeat(64)).contains("took too long"));
}

#[test]
fn any_value_whose_to_s_is_a_colour_counts_as_cyber_dojo_does() {
    assert_eq!(judge(":red", "", "", 0), Ok(Red));
    assert_eq!(judge("'amber'", "", "", 0), Ok(Amber));
    assert_eq!(judge("\"gr#{'een'}\"", "", "", 0), Ok(Green));
    // MatchData#to_s is the matched text.
    assert_eq!(
        judge("/red|green/.match(stdout)", "all green", "", 0),
        Ok(Green)
    );
    assert!(fault("'Red'", "").contains("returned \"Red\""));
}
