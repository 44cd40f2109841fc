//! The C-assert cases cyber-dojo's own runner test-suite checks.

use crate::support::*;

const GCC_ASSERT: &str = "
lambda { |stdout, stderr, status|
  output = stdout + stderr
  return :green if status == 0
  return :red   if /(.*)Assertion(.*)failed/.match(output)
  return :amber
}
";

#[test]
fn start_files_are_red() {
    let stderr = "test: hiker.tests.c:9: life_the_universe_and_everything: \
                  Assertion `answer() == 42' failed.\nmake: *** [makefile:14: test.output] Aborted\n";
    assert_eq!(colour(&rules(GCC_ASSERT), "", stderr, 2), Red);
}

#[test]
fn a_syntax_error_is_amber() {
    let stderr = "hiker.c: In function 'answer':\nhiker.c:5:16: error: invalid suffix \"s\" on integer constant\n    return 6 * 9s;\n                ^~\nmake: *** [makefile:17: test] Error 1\n";
    assert_eq!(colour(&rules(GCC_ASSERT), "", stderr, 2), Amber);
}

#[test]
fn six_times_seven_is_green() {
    assert_eq!(
        colour(&rules(GCC_ASSERT), "All tests passed\n", "", 0),
        Green
    );
}

#[test]
fn the_older_gcc_assert_lambda_too() {
    let r = rules(
        "
lambda { |stdout, stderr, status|
  output = stdout + stderr
  return :red   if /(.*)Assertion(.*)failed./.match(output)
  return :green if /(All|\\d+) tests passed/.match(output)
  return :amber
}",
    );
    assert_eq!(colour(&r, "", "x: Assertion `a' failed.\n", 2), Red);
    assert_eq!(colour(&r, "3 tests passed\n", "", 0), Green);
    assert_eq!(colour(&r, "", "error: expected ';'\n", 2), Amber);
}
