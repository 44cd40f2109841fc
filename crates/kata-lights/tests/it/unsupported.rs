//! What the parser refuses, and how it says so.

use kata_lights::{ParseError, Pos, Rules};

fn refused(src: &str) -> ParseError {
    match Rules::from_ruby(src) {
        Err(e) => e,
        Ok(_) => panic!("expected a parse error for\n{src}"),
    }
}

/// The message for `body` inside the usual lambda, whose body starts on line 2.
fn refused_body(body: &str) -> String {
    refused(&format!("lambda {{ |stdout, stderr, status|\n{body}\n}}")).to_string()
}

#[test]
fn dangerous_calls_are_refused_with_line_and_column() {
    let e = refused("lambda { |stdout, stderr, status|\n  system('rm -rf /')\n  :red\n}");
    assert_eq!(e.pos(), Some(Pos { line: 2, column: 3 }));
    assert!(matches!(e, ParseError::Unsupported { .. }));
    assert!(
        e.to_string()
            .starts_with("2:3: unsupported: call to `system`"),
        "{e}"
    );

    for (body, what) in [
        ("`rm -rf /`", "backtick command"),
        ("%x(ls)", "%x() command"),
        ("eval('1')", "call to `eval`"),
        ("exec 'ls'", "call to `exec`"),
        ("exit 1", "call to `exit`"),
        ("puts stdout", "call to `puts`"),
        ("File.read('/etc/passwd')", "constant `File`"),
        ("IO.popen('ls')", "constant `IO`"),
        ("Kernel.system('ls')", "constant `Kernel`"),
        ("stdout.send(:system, 'ls')", "method `.send`"),
        ("stdout.instance_eval('x')", "method `.instance_eval`"),
        ("def f; end", "method definition (`def`)"),
        ("class X; end", "`class`/`module` definition"),
        ("while true do end", "`while` loop"),
        ("loop { }", "call to `loop`"),
        ("begin\n:red\nrescue\n:amber\nend", "`begin`/`rescue`"),
        ("case status\nwhen 0 then :green\nend", "`case`/`when`"),
        ("x = proc { }", "a nested lambda or proc"),
        ("f = ->(x) { x }", "nested lambda"),
        ("h = { a: 1 }", "hash literal"),
        ("x = 1.5", "floating-point number"),
        ("x = 1..2", "operator `..`"),
        ("x = <<~EOS\nhi\nEOS", "heredoc"),
        ("@x = 1", "instance or class variable"),
        ("$stdout.puts 'x'", "global variable `$stdout`"),
        ("x = 1 << 2", "operator `<<`"),
        ("stdout&.size", "safe navigation `&.`"),
        ("stdout.gsub(/a/, 'b')", "method `.gsub`"),
        (
            "Regexp.new('a', Regexp::IGNORECASE)",
            "`Regexp::` constants",
        ),
        ("Regexp.new('a', true)", "`Regexp.new` with options"),
        ("Regexp.union('a')", "`Regexp.union`"),
        ("stdout.size { }", "`.size` with a block"),
        ("[1].map", "`.map` without a block"),
        ("self", "`self`"),
        (":red rescue :amber", "`rescue`"),
        ("x = 1 while false", "`while` loop"),
    ] {
        let e = refused_body(body);
        assert!(
            e.contains(&format!("unsupported: {what}")),
            "{body:?} gave: {e}"
        );
    }
}

#[test]
fn regexes_without_a_linear_time_equivalent_are_refused() {
    for (body, what) in [
        ("/a(?!b)/ =~ stdout", "negative look-ahead"),
        ("/a(?=b)/ =~ stdout", "look-ahead"),
        ("/(?<=a)b/ =~ stdout", "look-behind"),
        ("/(?<!a)b/ =~ stdout", "negative look-behind"),
        ("/(a)\\1/ =~ stdout", "back-references"),
        ("/(?<x>a)\\k<x>/ =~ stdout", "named back-references"),
        ("/(?>a+)/ =~ stdout", "atomic groups"),
        ("/a++/ =~ stdout", "possessive"),
        ("/\\Ga/ =~ stdout", "`\\G`"),
        ("Regexp.new('(?!x)')", "negative look-ahead"),
        ("/a/o =~ stdout", "`o` (interpolate once)"),
        ("/(a{1000}){1000}/ =~ stdout", "too big"),
    ] {
        let e = refused_body(body);
        assert!(e.contains(what), "{body:?} gave: {e}");
        assert!(e.starts_with("2:"), "{e}");
    }
    let e = refused("lambda { |a, b, c|\n  return :red if  /x(?!y)/.match(a)\n}");
    assert_eq!(
        e.to_string(),
        "2:19: regex /x(?!y)/: negative look-ahead `(?!...)` is not supported"
    );
}

#[test]
fn malformed_ruby_is_a_syntax_error_that_says_where() {
    for (src, want) in [
        (
            "lambda { |a, b, c|\n  if a\n    :red\n}",
            "4:1: syntax error: expected `end` closing the `if` at 2:3, found `}`",
        ),
        (
            "lambda { |a, b, c| (a }",
            "1:23: syntax error: expected `)`, found `}`",
        ),
        (
            "lambda { |a, b| :red }",
            "1:1: syntax error: the lambda takes 2 parameter(s); cyber-dojo calls it with 3 (stdout, stderr, status)",
        ),
        (
            "lambda { |a, b, c| :red } :extra",
            "1:27: unsupported: code after the lambda (the file must hold one lambda and nothing else)",
        ),
        (
            "puts 'hi'",
            "1:1: syntax error: expected a lambda such as `lambda { |stdout, stderr, status| ... }`, found `puts`",
        ),
        (
            "lambda { |a, b, c| 'unterminated }",
            "1:20: syntax error: unterminated string",
        ),
        (
            "lambda { |a, b, c| /unterminated }",
            "1:20: syntax error: unterminated regex",
        ),
        (
            "lambda { |a, a, c| :red }",
            "1:14: syntax error: duplicate parameter `a`",
        ),
        (
            "lambda { |a, b, c| a == b == c }",
            "1:27: syntax error: equality operators do not chain",
        ),
        (
            "lambda { |a, b, c| a.match }",
            "1:22: syntax error: `.match` takes 1 argument(s), given 0",
        ),
        (
            "lambda { |a, b, c = 0| :red }",
            "1:19: unsupported: default or keyword parameters",
        ),
        (
            "proc { |a, b, c| :red }",
            "1:1: unsupported: `proc` (a proc's `return` and arguments differ from a lambda's; use `lambda`)",
        ),
        (
            "",
            "1:1: syntax error: expected a lambda such as `lambda { |stdout, stderr, status| ... }`, found the end of the input",
        ),
    ] {
        assert_eq!(refused(src).to_string(), want, "{src}");
    }
}

#[test]
fn an_unknown_name_is_refused_even_if_never_reached() {
    let e = refused("lambda { |a, b, c|\n  return :red\n  sdf\n}");
    assert!(
        e.to_string().starts_with("3:3: unsupported: call to `sdf`"),
        "{e}"
    );
}

#[test]
fn over_long_text_is_refused() {
    let src = format!(
        "lambda {{ |a, b, c| :red }}{}",
        " ".repeat(kata_lights::MAX_RULES_BYTES)
    );
    assert!(matches!(refused(&src), ParseError::TooLong { .. }));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let src = format!(
        "lambda {{ |a, b, c| {}:red{} }}",
        "(".repeat(500),
        ")".repeat(500)
    );
    assert!(refused(&src).to_string().contains("nested too deeply"));
    let src = format!("lambda {{ |a, b, c| {}:red }}", "!".repeat(500));
    assert!(refused(&src).to_string().contains("nested too deeply"));
    let src = format!(
        "lambda {{ |a, b, c| {}:red{} }}",
        "[".repeat(500),
        "]".repeat(500)
    );
    assert!(refused(&src).to_string().contains("nested too deeply"));
}

#[test]
fn long_chains_are_an_error_not_a_stack_overflow() {
    for chain in [
        format!("1{}", " + 1".repeat(5000)),
        format!("status{}", " == 0 &&  status".repeat(3000)),
        format!("stdout{}", ".strip".repeat(5000)),
        format!("[[1]]{}", "[0]".repeat(5000)),
        format!(":red{}", " if true".repeat(5000)),
        format!("true{}", " and true".repeat(5000)),
    ] {
        let e = refused(&format!("lambda {{ |stdout, stderr, status| {chain} }}"));
        assert!(e.to_string().contains("nested too deeply"), "{e}");
    }
}

#[test]
fn nesting_just_inside_the_limit_parses_and_runs() {
    use kata_types::Judge;
    let body = format!(
        "{}stdout.strip.empty? && status == 0{}",
        "(".repeat(20),
        ")".repeat(20)
    );
    let r = Rules::from_ruby(&format!(
        "lambda {{ |stdout, stderr, status| {body} ? :green : :red }}"
    ))
    .unwrap();
    assert_eq!(r.colour("", "", 0), Ok(kata_types::Outcome::Green));
}

#[test]
fn the_deepest_program_that_parses_also_runs() {
    use kata_types::Judge;
    // Find the deepest nesting the parser accepts, then run it.
    let deepest = (1..200)
        .map(|n| {
            format!(
                "lambda {{ |stdout, stderr, status| {}[stdout.strip.empty? && !!status.zero?].first{} ? :green : :red }}",
                "(".repeat(n),
                ")".repeat(n)
            )
        })
        .take_while(|src| Rules::from_ruby(src).is_ok())
        .last()
        .unwrap();
    let r = Rules::from_ruby(&deepest).unwrap();
    assert_eq!(r.colour("", "", 0), Ok(kata_types::Outcome::Green));
}
