//! One supported construct at a time.

use crate::support::*;

fn is(body: &str, stdout: &str, want: kata_types::Outcome) {
    assert_eq!(
        judge(body, stdout, "", 0),
        Ok(want),
        "body:\n{body}\nstdout: {stdout:?}"
    );
}

#[test]
fn lambda_headers() {
    for src in [
        "lambda { |stdout, stderr, status| :red }",
        "lambda do |stdout, stderr, status| :red end",
        "->(stdout, stderr, status) { :red }",
        "-> (so, se, rc) do :red end",
        "-> a, b, c { :red }",
        "# a comment first\n\nlambda { |so,se,rc|\n  :red # trailing\n}\n# and after\n",
        "=begin\nblock comment\n=end\nlambda { |_, _, _| :red }",
    ] {
        assert_eq!(colour(&rules(src), "", "", 0), Red, "{src}");
    }
}

#[test]
fn output_is_stdout_then_stderr_with_no_separator() {
    let body = "output = stdout + stderr\nreturn :red if output =~ /ab/\n:green";
    assert_eq!(judge(body, "a", "b", 0), Ok(Red));
    assert_eq!(judge(body, "a\n", "b", 0), Ok(Green));
}

#[test]
fn status_comparisons() {
    assert_eq!(judge("status == 0 ? :green : :red", "", "", 0), Ok(Green));
    assert_eq!(judge("status != 0 ? :red : :green", "", "", 3), Ok(Red));
    assert_eq!(judge("status === 2 ? :red : :green", "", "", 2), Ok(Red));
    // status is an Integer: it never equals a string.
    assert_eq!(judge("status == '0' ? :green : :red", "", "", 0), Ok(Red));
    assert_eq!(judge("status.zero? ? :green : :red", "", "", 0), Ok(Green));
    assert_eq!(judge("status > 1 ? :amber : :red", "", "", 2), Ok(Amber));
    assert_eq!(
        judge("return :green if status.to_s == '0'\n:red", "", "", 0),
        Ok(Green)
    );
}

#[test]
fn the_forms_of_a_regex_test() {
    for body in [
        "return :red if /fail/.match(stdout)\n:green",
        "return :red if stdout.match(/fail/)\n:green",
        "return :red if stdout.match?(/fail/)\n:green",
        "return :red if stdout =~ /fail/\n:green",
        "return :red if /fail/ =~ stdout\n:green",
        "return :red if /fail/ === stdout\n:green",
        "return :red if stdout.match('fa.l')\n:green",
        "return :red if stdout.include?('fail')\n:green",
        "return :red if stdout.include? 'fail'\n:green",
        "return :red if stdout.scan(/fail/).size > 0\n:green",
        "return :red if stdout[/fail/]\n:green",
        "return :red unless stdout !~ /fail/\n:green",
        "return :green if stdout.match(/fail/).nil?\n:red",
        "return :green if /fail/.match(stdout) == nil\n:red",
        "return :red if /fail/.match(stdout) != nil\n:green",
    ] {
        is(body, "it did fail", Red);
        is(body, "it passed", Green);
    }
}

#[test]
fn if_elsif_else_blocks_with_returns_inside() {
    let body = "
if stdout =~ /a/
  return :red
elsif stdout =~ /b/ then
  return :amber
else
  return :green
end";
    is(body, "a", Red);
    is(body, "b", Amber);
    is(body, "c", Green);
}

#[test]
fn unless_blocks_and_modifiers() {
    let body = "unless stdout.empty?\n  return :red\nelse\n  return :green\nend";
    is(body, "x", Red);
    is(body, "", Green);
    is("return :green unless stdout =~ /x/\n:red", "x", Red);
}

#[test]
fn logic_and_precedence() {
    is(
        "(stdout =~ /a/ && stdout =~ /b/) ? :red : :green",
        "ab",
        Red,
    );
    is("stdout =~ /a/ && stdout =~ /b/ ? :red : :green", "a", Green);
    is("stdout =~ /a/ || stdout =~ /b/ ? :red : :green", "b", Red);
    is("!(stdout =~ /a/) ? :red : :green", "b", Red);
    is("!stdout.empty? ? :red : :green", "b", Red);
    is(
        "return :red if stdout =~ /a/ and not stdout =~ /b/\n:green",
        "a",
        Red,
    );
    is(
        "return :red if stdout =~ /a/ or stdout =~ /b/\n:green",
        "c",
        Green,
    );
    // `and` is looser than `=`; `&&` is tighter.
    is("x = nil and true\nx.nil? ? :red : :green", "", Red);
    is("x = true && nil\nx.nil? ? :red : :green", "", Red);
}

#[test]
fn only_nil_and_false_are_falsy() {
    is("0 ? :red : :green", "", Red);
    is("'' ? :red : :green", "", Red);
    is("[] ? :red : :green", "", Red);
    is("nil ? :red : :green", "", Green);
    is("false ? :red : :green", "", Green);
}

#[test]
fn the_last_expression_is_the_value() {
    is(":amber", "", Amber);
    is("x = :green", "", Green);
    is("if stdout.empty? then :green end", "", Green);
    is("stdout.empty? ? :green : :red", "", Green);
    assert!(
        judge("if false then :green end", "", "", 0)
            .unwrap_err()
            .contains("returned nil")
    );
}

#[test]
fn match_groups_and_conversions() {
    let body = "
if m = /(\\d+) passed, (\\d+) failed/.match(stdout)
  return :red if m[2].to_i > 0
  return :amber if m[1] == '0'
  return :green
end
:amber";
    is(body, "3 passed, 1 failed", Red);
    is(body, "0 passed, 0 failed", Amber);
    is(body, "3 passed, 0 failed", Green);
    is(body, "nothing", Amber);
    is(
        "m = /(x)(y)?/.match(stdout)\nm[2].nil? && m[-2] == 'x' ? :green : :red",
        "x",
        Green,
    );
    is(
        "m = /(\\d+)/.match(stdout)\nm[1].to_i >= 10 && m[1].to_i <= 20 && m[1].to_i < 21 ? :green : :red",
        "15",
        Green,
    );
    is(
        "m = /(?<n>\\d+)/.match(stdout)\nm['n'] == '7' ? :green : :red",
        "7",
        Green,
    );
    is(
        "m = /(a)(b)/.match(stdout)\nm.captures == ['a', 'b'] && m.to_a.size == 3 ? :green : :red",
        "ab",
        Green,
    );
    is(
        "stdout[/(\\d+) failed/, 1] == '2' ? :red : :green",
        "2 failed",
        Red,
    );
}

#[test]
fn numbered_globals_after_a_match() {
    is(
        "if stdout =~ /(\\d+) failures/ then $1.to_i > 0 ? :red : :green else :amber end",
        "2 failures",
        Red,
    );
    is(
        "stdout =~ /(\\d+) failures/\n$~[1] == '0' ? :green : :red",
        "0 failures",
        Green,
    );
    is("$1.nil? ? :amber : :red", "", Amber);
}

#[test]
fn locals_and_regexes_held_in_them() {
    is(
        "re = /fail/\nreturn :red if re.match(stdout)\n:green",
        "fail",
        Red,
    );
    is(
        "re = Regexp.new('f\\d+')\nre =~ stdout ? :red : :green",
        "f12",
        Red,
    );
    // Ruby's double-quoted "\d" is "d": the regex matches a letter d.
    is("Regexp.new(\"\\d\") =~ stdout ? :red : :green", "d", Red);
    is("Regexp.new(\"\\\\d\") =~ stdout ? :red : :green", "7", Red);
    is(
        "word = 'fail'\nRegexp.new(word + 'ed') =~ stdout ? :red : :green",
        "failed",
        Red,
    );
    is(
        "Regexp.new(Regexp.escape('a.b')) =~ stdout ? :red : :green",
        "axb",
        Green,
    );
    is("n = 1\nn += 2\nn == 3 ? :green : :red", "", Green);
    is("x ||= :green", "", Green);
}

#[test]
fn interpolation_in_strings_and_regexes() {
    is("w = 'ail'\n/f#{w}/ =~ stdout ? :red : :green", "fail", Red);
    is(
        "n = 2\n\"#{n} failed\" == stdout ? :red : :green",
        "2 failed",
        Red,
    );
    is(
        "inner = /a+/\n/x#{inner}y/ =~ stdout ? :red : :green",
        "xaay",
        Red,
    );
    is(
        "%w(Name Type).any? { |e| stdout.include?(\"#{e}Error\") } ? :amber : :green",
        "TypeError",
        Amber,
    );
}

#[test]
fn scan_map_max_and_friends() {
    let out = "1 of 3 failed\n0 of 4 failed\n";
    let all = "output = stdout + stderr\nr = output.scan(/(\\d+) of (\\d+) failed/)\n";
    is(
        &format!("{all}r.map {{ |x| x[0].to_i }}.max == 1 ? :red : :green"),
        out,
        Red,
    );
    is(
        &format!("{all}r.map {{ |a, b| b.to_i }}.sum == 7 ? :red : :green"),
        out,
        Red,
    );
    is(
        &format!("{all}r.flatten.map(&:to_i).min == 0 ? :red : :green"),
        out,
        Red,
    );
    is(
        &format!("{all}r.any? {{ |f, _| f != '0' }} ? :red : :green"),
        out,
        Red,
    );
    is(
        &format!("{all}r.all? {{ |f, _| f == '0' }} ? :green : :red"),
        out,
        Red,
    );
    is(&format!("{all}r.none? ? :green : :red"), out, Red);
    is(&format!("{all}r.empty? ? :amber : :red"), "", Amber);
    is(
        &format!("{all}r.size == 2 && r.length == 2 && r.count == 2 ? :red : :green"),
        out,
        Red,
    );
    is(
        &format!("{all}r.first[0] == '1' && r.last[1] == '4' ? :red : :green"),
        out,
        Red,
    );
    is(
        &format!("{all}r.map {{ |x| x[0] }}.uniq.join(',') == '1,0' ? :red : :green"),
        out,
        Red,
    );
    is(
        &format!("{all}r.find {{ |x| x[0] == '0' }}[1] == '4' ? :red : :green"),
        out,
        Red,
    );
    is(
        &format!("{all}r.reject {{ |x| x[0] == '0' }}.size == 1 ? :red : :green"),
        out,
        Red,
    );
    is(
        "stdout.scan(/\\d/).map(&:to_i).max.nil? ? :amber : :red",
        "",
        Amber,
    );
    is(
        "stdout.scan(/(x)|(y)/).flatten.compact == ['x', 'y'] ? :green : :red",
        "xy",
        Green,
    );
}

#[test]
fn return_inside_a_block_returns_from_the_lambda() {
    let body = "%w(a b c).each do |x|\n  return :red if stdout.include?(x)\nend\n:green";
    is(body, "b", Red);
    is(body, "z", Green);
    is(
        "[1, 2].map { |n| return :amber if n == 2\n n }\n:green",
        "",
        Amber,
    );
}

#[test]
fn block_locals_are_fresh_each_time_and_outer_locals_are_shared() {
    is(
        "seen = 0\n[1, 2, 3].each { |n| seen += n\n t ||= n\n return :red if t != n }\nseen == 6 ? :green : :red",
        "",
        Green,
    );
    is(
        "x = 5\n[1].each { |x| x }\nx == 5 ? :green : :red",
        "",
        Green,
    );
}

#[test]
fn method_chains_across_lines() {
    is(
        "stdout\n  .lines\n  .map(&:strip)\n  .include?('ok') ? :green : :red",
        "x\nok\n",
        Green,
    );
}

#[test]
fn integer_arithmetic_follows_ruby() {
    is(
        "-7 / 2 == -4 && -7 % 3 == 2 && 7 % -3 == -2 ? :green : :red",
        "",
        Green,
    );
    is("(2 + 3) * 4 - 1 == 19 ? :green : :red", "", Green);
    is("'a' + 'b' == 'ab' ? :green : :red", "", Green);
    is("[1] + [2] == [1, 2] ? :green : :red", "", Green);
    is("x = 3\n-x == -3 ? :green : :red", "", Green);
}

#[test]
fn string_methods() {
    is(
        "stdout.strip == 'x' && stdout.chomp == \"  x \" ? :green : :red",
        "  x \n",
        Green,
    );
    is(
        "stdout.downcase == 'ab' && stdout.upcase == 'AB' ? :green : :red",
        "aB",
        Green,
    );
    is("stdout.start_with?('FAIL') ? :red : :green", "FAIL: x", Red);
    is(
        "stdout.end_with?(\"ok\\n\") ? :green : :red",
        "all ok\n",
        Green,
    );
    is(
        "stdout.to_i == 42 && ' 7x'.to_i == 7 && 'x'.to_i == 0 ? :green : :red",
        "42 tests",
        Green,
    );
    is(
        "stdout[0] == 'é' && stdout[-1] == 'z' && stdout[1, 2] == 'xy' ? :green : :red",
        "éxyz",
        Green,
    );
    is("(stdout =~ /z/) == 3 ? :green : :red", "éxyz", Green);
}

#[test]
fn ruby_regex_semantics() {
    // ^ and $ match at every line, always.
    is("stdout =~ /^ok$/ ? :green : :red", "first\nok\nlast", Green);
    // \A and \z do not.
    is("stdout =~ /\\Aok/ ? :green : :red", "first\nok", Red);
    // . does not match a newline, unless /m.
    is("stdout =~ /a.b/ ? :green : :red", "a\nb", Red);
    is("stdout =~ /a.b/m ? :green : :red", "a\nb", Green);
    is("stdout =~ /FAIL/i ? :red : :green", "fail", Red);
    is("stdout =~ /f a i l/x ? :red : :green", "fail", Red);
    // \d and \w are ASCII.
    is("stdout =~ /\\d/ ? :red : :green", "٣", Green);
    is("stdout =~ /\\w/ ? :red : :green", "é", Green);
    is("stdout =~ /\\h+\\z/ ? :red : :green", "0xBEEF", Red);
    is("stdout =~ /a{,2}b/ ? :red : :green", "aab", Red);
    is("stdout =~ /\\//  ? :red : :green", "a/b", Red);
    is("stdout =~ /(?i:FAIL)ED/ ? :red : :green", "failED", Red);
    is(
        "stdout =~ /[[:digit:]]+ failed/ ? :red : :green",
        "3 failed",
        Red,
    );
}

#[test]
fn parameters_may_have_any_names() {
    let r = rules(
        "lambda { |so, se, rc| out = so + se\n return :green if rc == 0\n out =~ /x/ ? :red : :amber }",
    );
    assert_eq!(colour(&r, "", "", 0), Green);
    assert_eq!(colour(&r, "x", "", 1), Red);
    assert_eq!(colour(&r, "", "y", 1), Amber);
}
