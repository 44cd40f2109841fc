//! Lambdas in the styles the survey of cyber-dojo's languages found, each
//! judged on a red, an amber and a green run. Written for these tests.

use crate::support::*;

/// Checks a lambda on (stdout, stderr, status) → colour cases.
fn check(src: &str, cases: &[(&str, &str, i32, kata_types::Outcome)]) {
    let r = rules(src);
    for (k, (stdout, stderr, status, want)) in cases.iter().enumerate() {
        assert_eq!(
            colour(&r, stdout, stderr, *status),
            *want,
            "case {k} of\n{src}"
        );
    }
}

#[test]
fn python_unittest_regex_ladder() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  return :red   if /FAILED \(failures=\d+\)/.match(output)
  return :green if /^OK$/.match(output)
  return :amber
}"#,
        &[
            (
                "",
                "F\n=====\nFAIL: test_life\nAssertionError: 54 != 42\n\nFAILED (failures=1)\n",
                1,
                Red,
            ),
            (
                "",
                "  File \"hiker.py\", line 3\n    return 6 *\n             ^\nSyntaxError: invalid syntax\n",
                1,
                Amber,
            ),
            ("", ".\n-----\nRan 1 test in 0.000s\n\nOK\n", 0, Green),
        ],
    );
}

#[test]
fn python_pytest_with_a_word_list_and_interpolation() {
    check(
        r#"
# pytest does not set status helpfully, so read the output.
lambda { |stdout,stderr,status|
  output = stdout + stderr

  return :amber if /=== ERRORS ===/.match(output)

  %w(
    Attribute
    Name
    Type
    UnboundLocal
  ).each do |prefix|
     return :amber if
       /=== FAILURES ===/.match(output) &&
         Regexp.new(".*:[0-9]+: #{prefix}Error").match(output)
  end

  return :green if /=== (\d+) passed/.match(output)
  return :red
}"#,
        &[
            (
                "=== FAILURES ===\n    assert answer() == 42\nE   assert 54 == 42\n=== 1 failed in 0.03s ===\n",
                "",
                1,
                Red,
            ),
            (
                "=== FAILURES ===\nhiker.py:4: NameError\n=== 1 failed in 0.03s ===\n",
                "",
                1,
                Amber,
            ),
            ("=== ERRORS ===\nImportError\n", "", 2, Amber),
            ("=== 1 passed in 0.01s ===\n", "", 0, Green),
        ],
    );
}

#[test]
fn java_junit_with_groups_compared_as_strings() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  return :amber if /error: /.match(output)
  if m = /\[\s*(\d+) tests successful\s*\]\s*\n\s*\[\s*(\d+) tests failed\s*\]/.match(output)
    return m[2] == '0' ? :green : :red
  end
  :amber
}"#,
        &[
            (
                "[         0 tests successful      ]\n[         1 tests failed          ]\n",
                "",
                1,
                Red,
            ),
            ("", "Hiker.java:5: error: ';' expected\n", 1, Amber),
            (
                "[         1 tests successful      ]\n[         0 tests failed          ]\n",
                "",
                0,
                Green,
            ),
        ],
    );
}

#[test]
fn ruby_minitest_with_captures_and_multiple_assignment() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  return :amber if output =~ /SyntaxError|NameError/
  m = output.match(/(\d+) runs, (\d+) assertions, (\d+) failures, (\d+) errors/)
  return :amber if m.nil?
  runs, _assertions, failures, errors = m.captures.map(&:to_i)
  return :amber if errors > 0
  return :red if failures > 0
  runs > 0 ? :green : :amber
}"#,
        &[
            (
                "1 runs, 1 assertions, 1 failures, 0 errors, 0 skips\n",
                "",
                1,
                Red,
            ),
            (
                "",
                "hiker.rb:3: syntax error, unexpected end (SyntaxError)\n",
                1,
                Amber,
            ),
            (
                "1 runs, 0 assertions, 0 failures, 1 errors, 0 skips\n",
                "",
                1,
                Amber,
            ),
            (
                "1 runs, 1 assertions, 0 failures, 0 errors, 0 skips\n",
                "",
                0,
                Green,
            ),
        ],
    );
}

#[test]
fn javascript_jest() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  return :amber if /SyntaxError|ReferenceError|Cannot find module/.match(output)
  return :red   if /^Tests:\s+(\d+) failed/.match(output)
  return :green if /^Tests:\s+(\d+) passed, (\d+) total/.match(output)
  return :amber
}"#,
        &[
            ("", "Tests:       1 failed, 1 total\n", 1, Red),
            (
                "",
                "SyntaxError: hiker.js: Unexpected token (3:10)\n",
                1,
                Amber,
            ),
            (
                "",
                "Tests:       1 passed, 1 total\nSnapshots:   0 total\n",
                0,
                Green,
            ),
        ],
    );
}

#[test]
fn go_test_with_status_and_match_operator() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  return :green if status == 0 && output =~ /^(ok|PASS)/
  return :red   if output =~ /^--- FAIL:/
  :amber
}"#,
        &[
            (
                "--- FAIL: TestLife (0.00s)\n    hiker_test.go:9: got 54 want 42\nFAIL\n",
                "",
                1,
                Red,
            ),
            (
                "",
                "./hiker.go:4:13: syntax error: unexpected newline\n",
                2,
                Amber,
            ),
            ("ok  \thiker\t0.002s\n", "", 0, Green),
        ],
    );
}

#[test]
fn swift_xctest_style_scan_map_max() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  # One summary per suite; the largest numbers are the whole run's.
  summaries = output.scan(/Executed (\d+) tests?, with (\d+) failures?/)
  unless summaries.empty?
    executed = summaries.map { |s| s[0].to_i }.max
    failed   = summaries.map { |s| s[1].to_i }.max
    if executed > 0
      return :green if failed.zero?
      return :red
    end
  end
  return :amber
}"#,
        &[
            (
                "Executed 1 test, with 1 failure (0 unexpected)\nExecuted 1 test, with 1 failure (0 unexpected)\n",
                "",
                1,
                Red,
            ),
            (
                "",
                "hiker.swift:3:5: error: cannot find 'x' in scope\n",
                1,
                Amber,
            ),
            (
                "Executed 2 tests, with 0 failures (0 unexpected)\n",
                "",
                0,
                Green,
            ),
        ],
    );
}

#[test]
fn csharp_nunit_summary_line() {
    check(
        r#"
lambda { |stdout,stderr,status|
  output = stdout + stderr
  return :green if /^\s*Test Count: \d+, Passed: \d+, Failed: 0, Warnings: \d+, Inconclusive: \d+, Skipped: \d+/.match(output)
  return :red   if /^Failed!/.match(output)
  return :amber
}"#,
        &[
            (
                "Failed!  - Failed:     1, Passed:     0, Skipped:     0, Total:     1\n",
                "",
                1,
                Red,
            ),
            ("Hiker.cs(5,20): error CS1002: ; expected\n", "", 1, Amber),
            (
                "  Test Count: 1, Passed: 1, Failed: 0, Warnings: 0, Inconclusive: 0, Skipped: 0\n",
                "",
                0,
                Green,
            ),
        ],
    );
}

#[test]
fn kotlin_counts_with_character_classes() {
    check(
        r#"
lambda { |stdout,stderr,status|
  output = stdout + stderr
  return :red   if /^Tests: passed 0, failed 0, ignored 0/.match(output)
  return :red   if /^Tests: passed (\d+), failed [1-9][0-9]*, ignored (\d+)/.match(output)
  return :green if /^Tests: passed (\d+), failed 0, ignored (\d+)/.match(output)
  return :amber
}"#,
        &[
            ("Tests: passed 0, failed 1, ignored 0\n", "", 1, Red),
            (
                "",
                "hiker.kt:3:5: error: unresolved reference: x\n",
                1,
                Amber,
            ),
            ("Tests: passed 1, failed 0, ignored 0\n", "", 0, Green),
        ],
    );
}

#[test]
fn rust_cargo_test_with_elsif_and_numbered_groups() {
    check(
        r#"
->(stdout, stderr, status) {
  output = stdout + stderr
  if output =~ /^error(\[E\d+\])?:/
    :amber
  elsif output =~ /test result: FAILED\. (\d+) passed; (\d+) failed/
    :red
  elsif output =~ /test result: ok\. (\d+) passed; 0 failed/
    $1.to_i > 0 ? :green : :amber
  else
    :amber
  end
}"#,
        &[
            (
                "test result: FAILED. 0 passed; 1 failed; 0 ignored\n",
                "",
                101,
                Red,
            ),
            (
                "",
                "error[E0425]: cannot find value `x` in this scope\n",
                101,
                Amber,
            ),
            (
                "test result: ok. 0 passed; 0 failed; 0 ignored\n",
                "",
                0,
                Amber,
            ),
            (
                "test result: ok. 3 passed; 0 failed; 0 ignored\n",
                "",
                0,
                Green,
            ),
        ],
    );
}

#[test]
fn haskell_hspec_do_end_lambda_with_unless_and_other_names() {
    check(
        r#"
lambda do |out, err, rc|
  text = out + err
  m = /(\d+) examples?, (\d+) failures?/.match(text)
  return :amber unless m
  m[2].to_i.zero? ? :green : :red
end"#,
        &[
            ("1 example, 1 failure\n", "", 1, Red),
            ("", "Hiker.hs:3:1: error: parse error\n", 1, Amber),
            ("1 example, 0 failures\n", "", 0, Green),
        ],
    );
}

#[test]
fn bash_bats_tap_with_percent_r_and_not_match() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  return :amber if output !~ %r{^\d+\.\.\d+$}   # no TAP plan: it never ran
  return :red if output =~ /^not ok/
  :green
}"#,
        &[
            ("1..1\nnot ok 1 life\n", "", 1, Red),
            (
                "",
                "hiker.sh: line 3: syntax error near unexpected token `}'\n",
                2,
                Amber,
            ),
            ("1..1\nok 1 life\n", "", 0, Green),
        ],
    );
}

#[test]
fn php_unit_with_case_insensitive_and_named_group() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  return :amber if /php (parse|fatal) error/i.match(output)
  if m = /^OK \((?<tests>\d+) tests?, \d+ assertions?\)/.match(output)
    return m[:tests].to_i > 0 ? :green : :amber
  end
  return :red if /^(FAILURES|ERRORS)!$/.match(output)
  :amber
}"#,
        &[
            (
                "FAILURES!\nTests: 1, Assertions: 1, Failures: 1.\n",
                "",
                1,
                Red,
            ),
            (
                "PHP Parse error:  syntax error, unexpected '}' in Hiker.php on line 6\n",
                "",
                255,
                Amber,
            ),
            ("OK (1 test, 1 assertion)\n", "", 0, Green),
        ],
    );
}

#[test]
fn cpp_catch2_with_any_over_lines() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  return :amber if output.lines.any? { |line| line =~ /: error: / }
  return :green if output =~ /^All tests passed/
  return :red if output =~ /^test cases:.*\|\s*\d+ failed/
  :amber
}"#,
        &[
            (
                "test cases: 1 | 1 failed\nassertions: 1 | 1 failed\n",
                "",
                1,
                Red,
            ),
            (
                "",
                "hiker.cpp:4:12: error: expected ';' before '}' token\n",
                2,
                Amber,
            ),
            (
                "All tests passed (1 assertion in 1 test case)\n",
                "",
                0,
                Green,
            ),
        ],
    );
}

#[test]
fn elixir_exunit_with_regexp_new_and_local_regexes() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  summary = Regexp.new('(\d+) tests?, (\d+) failures?')
  compile_error = /\*\* \((CompileError|SyntaxError|TokenMissingError)\)/
  return :amber if compile_error.match(output)
  if m = summary.match(output)
    return m[2] == '0' ? :green : :red
  end
  return :amber
}"#,
        &[
            ("1 test, 1 failure\n", "", 1, Red),
            (
                "",
                "** (SyntaxError) hiker.ex:3:5: unexpected token\n",
                1,
                Amber,
            ),
            ("1 test, 0 failures\n", "", 0, Green),
        ],
    );
}

#[test]
fn status_only_with_if_then_elsif_and_string_colours() {
    check(
        r#"lambda { |stdout, stderr, status| if status == 0 then 'green' elsif status == 1 then 'red' else 'amber' end }"#,
        &[("", "", 1, Red), ("", "", 2, Amber), ("", "", 0, Green)],
    );
}

#[test]
fn clojure_with_nested_ifs_and_counts_compared_as_integers() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  if m = /Ran (\d+) tests containing (\d+) assertions\.\s*(\d+) failures, (\d+) errors\./.match(output)
    if m[4].to_i != 0
      return :amber
    elsif m[3].to_i != 0
      return :red
    else
      return :green
    end
  end
  return :amber
}"#,
        &[
            (
                "Ran 1 tests containing 1 assertions.\n1 failures, 0 errors.\n",
                "",
                1,
                Red,
            ),
            ("Syntax error compiling at (hiker.clj:3:1).\n", "", 1, Amber),
            (
                "Ran 1 tests containing 1 assertions.\n0 failures, 1 errors.\n",
                "",
                1,
                Amber,
            ),
            (
                "Ran 1 tests containing 1 assertions.\n0 failures, 0 errors.\n",
                "",
                0,
                Green,
            ),
        ],
    );
}

#[test]
fn fortran_style_with_count_block_and_size() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  results = output.lines.select { |l| l.start_with?('TEST ') }
  return :amber if results.empty?
  fails = results.count { |l| l.include?('FAILED') }
  fails == 0 && results.size > 0 ? :green : :red
}"#,
        &[
            ("TEST life ... ok\nTEST answer ... FAILED\n", "", 1, Red),
            (
                "",
                "hiker.f90:3:5: Error: Unclassifiable statement\n",
                1,
                Amber,
            ),
            ("TEST life ... ok\n", "", 0, Green),
        ],
    );
}

#[test]
fn erlang_eunit_with_unless_block_and_case_equality() {
    check(
        r#"
lambda { |stdout, stderr, status|
  output = stdout + stderr
  unless /compile error|syntax error/ === output
    return :green if /All \d+ tests passed\./ === output
    return :red   if output =~ /Failed: \d+\.\s+Skipped: \d+\.\s+Passed: \d+\./
  end
  :amber
}"#,
        &[
            ("  Failed: 1.  Skipped: 0.  Passed: 0.\n", "", 1, Red),
            ("hiker.erl:3: syntax error before: '.'\n", "", 1, Amber),
            ("  All 2 tests passed.\n", "", 0, Green),
        ],
    );
}
