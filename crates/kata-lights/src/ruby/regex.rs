//! Ruby (Onigmo) regex syntax → Rust `regex` syntax.
//!
//! The translation is a single left-to-right pass. Whatever has no exact
//! equivalent in `regex` (look-around, back-references, atomic groups,
//! possessive quantifiers) is refused with a message naming it: a rule
//! that silently matched something else would give the wrong colour.

use std::sync::Arc;

use regex::{Regex, RegexBuilder};

/// Compiled programs can hold many regexes; this keeps one hostile pattern
/// (`(a{1000}){1000}`) from costing more than a few MiB.
const SIZE_LIMIT: usize = 2 << 20;
const DFA_SIZE_LIMIT: usize = 2 << 20;
const NEST_LIMIT: u32 = 64;

/// Ruby's `\s`: space, \t, \n, \v, \f, \r (ASCII only, unlike Rust's).
const SPACE: &str = r"\t\n\x0B\x0C\r ";
const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const HEX: &str = "0-9a-fA-F";

/// A compiled Ruby regex, remembering how it was written so that `to_s`,
/// `inspect`, `==` and interpolation into other regexes behave as in Ruby.
#[derive(Debug, Clone)]
pub(crate) struct RubyRegex {
    pub source: Arc<str>,
    pub flags: Flags,
    pub regex: Arc<Regex>,
}

impl RubyRegex {
    pub fn new(source: &str, flags: Flags) -> Result<Self, String> {
        let translated = translate(source, flags)?;
        let regex = build(&translated)?;
        Ok(Self {
            source: source.into(),
            flags,
            regex: Arc::new(regex),
        })
    }

    /// Ruby's `Regexp#to_s`, which is what `"#{re}"` and `/a#{re}/` embed.
    pub fn to_ruby_s(&self) -> String {
        let on: String = [
            (self.flags.multiline, 'm'),
            (self.flags.ignore_case, 'i'),
            (self.flags.extended, 'x'),
        ]
        .iter()
        .filter(|(f, _)| *f)
        .map(|(_, c)| *c)
        .collect();
        let off: String = [
            (self.flags.multiline, 'm'),
            (self.flags.ignore_case, 'i'),
            (self.flags.extended, 'x'),
        ]
        .iter()
        .filter(|(f, _)| !*f)
        .map(|(_, c)| *c)
        .collect();
        let off = if off.is_empty() {
            String::new()
        } else {
            format!("-{off}")
        };
        format!("(?{on}{off}:{})", self.source)
    }

    pub fn inspect(&self) -> String {
        let mut s = format!("/{}/", self.source);
        if self.flags.multiline {
            s.push('m');
        }
        if self.flags.ignore_case {
            s.push('i');
        }
        if self.flags.extended {
            s.push('x');
        }
        s
    }
}

/// The options of a Ruby regex literal (`/re/mix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Flags {
    pub ignore_case: bool,
    /// Ruby's `m`: `.` matches a newline (Rust's `s`).
    pub multiline: bool,
    pub extended: bool,
}

impl Flags {
    /// Reads the letters after a literal's closing `/`.
    pub fn parse(letters: &str) -> Result<Self, String> {
        let mut flags = Self::default();
        for c in letters.chars() {
            match c {
                'i' => flags.ignore_case = true,
                'm' => flags.multiline = true,
                'x' => flags.extended = true,
                'o' => return Err("the `o` (interpolate once) option is not supported".into()),
                'n' | 'e' | 's' | 'u' => {
                    return Err(format!("the `{c}` encoding option is not supported"));
                }
                _ => return Err(format!("unknown regex option `{c}`")),
            }
        }
        Ok(flags)
    }
}

/// Builds a Rust regex with this crate's limits.
pub(crate) fn build(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .nest_limit(NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("too big: it compiles to more than {limit} bytes")
            }
            // The full message quotes the translated pattern, which would
            // confuse someone who wrote the Ruby one: keep only its last line.
            other => {
                let text = other.to_string();
                let last = text.lines().last().unwrap_or_default().trim();
                last.strip_prefix("error: ").unwrap_or(last).to_string()
            }
        })
}

/// Translates a Ruby pattern into Rust `regex` syntax.
pub(crate) fn translate(pattern: &str, flags: Flags) -> Result<String, String> {
    let mut t = Translator {
        chars: pattern.chars().collect(),
        i: 0,
        out: String::with_capacity(pattern.len() + 16),
        named_groups: has_named_groups(pattern),
        after_quantifier: false,
    };
    // Ruby's ^ and $ always match at line boundaries.
    t.out.push_str("(?m");
    if flags.ignore_case {
        t.out.push('i');
    }
    if flags.multiline {
        t.out.push('s');
    }
    if flags.extended {
        t.out.push('x');
    }
    t.out.push(')');
    t.run()?;
    Ok(t.out)
}

/// In Onigmo, once a pattern has a named group its plain `(...)` groups stop
/// capturing, which changes what `m[1]` means.
fn has_named_groups(p: &str) -> bool {
    let b = p.as_bytes();
    (0..b.len()).any(|i| {
        b[i..].starts_with(b"(?'")
            || (b[i..].starts_with(b"(?<")
                && !matches!(b.get(i + 3), Some(b'=') | Some(b'!'))
                && (i == 0 || b[i - 1] != b'\\'))
    })
}

struct Translator {
    chars: Vec<char>,
    i: usize,
    out: String,
    named_groups: bool,
    after_quantifier: bool,
}

impl Translator {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn run(&mut self) -> Result<(), String> {
        while let Some(c) = self.peek(0) {
            self.i += 1;
            let quantifier = match c {
                '\\' => {
                    self.escape(false)?;
                    false
                }
                '[' => {
                    self.class()?;
                    false
                }
                '(' => {
                    self.group()?;
                    false
                }
                ')' => {
                    self.out.push(')');
                    false
                }
                '{' => self.brace(),
                '}' => {
                    self.out.push_str(r"\}");
                    false
                }
                '+' if self.after_quantifier => {
                    return Err(
                        "possessive quantifiers (`*+`, `++`, `?+`) are not supported".into(),
                    );
                }
                '?' if self.after_quantifier => {
                    // Lazy: fine in Rust too, and not itself a quantifier.
                    self.out.push('?');
                    false
                }
                '*' | '+' | '?' => {
                    self.out.push(c);
                    true
                }
                _ => {
                    self.out.push(c);
                    false
                }
            };
            self.after_quantifier = quantifier;
        }
        Ok(())
    }

    /// `{` is a quantifier only when it is one; otherwise Ruby takes it
    /// literally, where Rust would refuse it.
    fn brace(&mut self) -> bool {
        let rest: String = self.chars[self.i..].iter().take(24).collect();
        let Some(end) = rest.find('}') else {
            self.out.push_str(r"\{");
            return false;
        };
        let body = &rest[..end];
        let (lo, hi) = match body.split_once(',') {
            Some((lo, hi)) => (lo, Some(hi)),
            None => (body, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let valid = match hi {
            None => digits(lo),
            Some(hi) => (digits(lo) || lo.is_empty()) && (digits(hi) || hi.is_empty()),
        } && !(lo.is_empty() && hi.is_none_or(str::is_empty));
        if !valid {
            self.out.push_str(r"\{");
            return false;
        }
        self.i += body.chars().count() + 1;
        let lo = if lo.is_empty() { "0" } else { lo };
        match hi {
            None => self.out.push_str(&format!("{{{lo}}}")),
            Some(hi) => self.out.push_str(&format!("{{{lo},{hi}}}")),
        }
        true
    }

    fn group(&mut self) -> Result<(), String> {
        if self.peek(0) != Some('?') {
            self.out
                .push_str(if self.named_groups { "(?:" } else { "(" });
            return Ok(());
        }
        let next = self.peek(1);
        let after = self.peek(2);
        match (next, after) {
            (Some(':'), _) => {
                self.i += 2;
                self.out.push_str("(?:");
            }
            (Some('='), _) => return Err("look-ahead `(?=...)` is not supported".into()),
            (Some('!'), _) => return Err("negative look-ahead `(?!...)` is not supported".into()),
            (Some('<'), Some('=')) => {
                return Err("look-behind `(?<=...)` is not supported".into());
            }
            (Some('<'), Some('!')) => {
                return Err("negative look-behind `(?<!...)` is not supported".into());
            }
            (Some('>'), _) => return Err("atomic groups `(?>...)` are not supported".into()),
            (Some('~'), _) => return Err("the absent operator `(?~...)` is not supported".into()),
            (Some('('), _) => {
                return Err("conditional groups `(?(...)...)` are not supported".into());
            }
            (Some('#'), _) => {
                // A comment group: drop it.
                while let Some(c) = self.peek(0) {
                    self.i += 1;
                    if c == ')' {
                        return Ok(());
                    }
                }
                return Err("unterminated comment group `(?#`".into());
            }
            (Some(open @ ('<' | '\'')), _) => {
                let close = if open == '<' { '>' } else { '\'' };
                self.i += 2;
                let mut name = String::new();
                loop {
                    match self.peek(0) {
                        Some(c) if c == close => {
                            self.i += 1;
                            break;
                        }
                        Some(c) if c.is_alphanumeric() || c == '_' => {
                            name.push(c);
                            self.i += 1;
                        }
                        _ => return Err("malformed group name".into()),
                    }
                }
                if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                    return Err(format!("invalid group name `{name}`"));
                }
                self.out.push_str(&format!("(?P<{name}>"));
            }
            _ => {
                // Inline options: (?imx-imx) or (?imx-imx:...).
                self.i += 1;
                let mut opts = String::new();
                loop {
                    match self.peek(0) {
                        Some(c @ ('i' | 'x' | '-')) => opts.push(c),
                        // Ruby's m is Rust's s.
                        Some('m') => opts.push('s'),
                        Some(':' | ')') => break,
                        Some(c) => return Err(format!("unsupported group syntax `(?{c}`")),
                        None => return Err("unterminated group".into()),
                    }
                    self.i += 1;
                }
                let end = self.peek(0).unwrap_or(')');
                self.i += 1;
                self.out.push_str(&format!("(?{opts}{end}"));
            }
        }
        Ok(())
    }

    fn class(&mut self) -> Result<(), String> {
        self.out.push('[');
        let mut depth = 1;
        let mut at_start = true;
        let mut prev_dash = false;
        if self.peek(0) == Some('^') {
            self.i += 1;
            self.out.push('^');
        }
        while depth > 0 {
            let Some(c) = self.peek(0) else {
                return Err("unterminated character class `[`".into());
            };
            self.i += 1;
            let mut dash = false;
            match c {
                '\\' => self.escape(true)?,
                ']' if at_start => self.out.push_str(r"\]"),
                ']' => {
                    depth -= 1;
                    self.out.push(']');
                }
                '[' if self.peek(0) == Some(':') => {
                    let rest: String = self.chars[self.i..].iter().take(16).collect();
                    let Some(end) = rest.find(":]") else {
                        return Err("malformed POSIX class `[:`".into());
                    };
                    let name = &rest[1..end];
                    self.i += end + 2;
                    self.out.push_str(&format!("[:{name}:]"));
                }
                '[' => {
                    depth += 1;
                    self.out.push('[');
                    if self.peek(0) == Some('^') {
                        self.i += 1;
                        self.out.push('^');
                    }
                    at_start = true;
                    continue;
                }
                // Rust reads `--` as set difference and `~~` as symmetric
                // difference; Ruby reads both literally.
                '-' if prev_dash => self.out.push_str(r"\-"),
                '-' => {
                    self.out.push('-');
                    dash = true;
                }
                '~' => self.out.push_str(r"\~"),
                '&' if self.peek(0) == Some('&') => {
                    self.i += 1;
                    self.out.push_str("&&");
                }
                // Rust's verbose mode ignores spaces in classes, Ruby's not.
                c if c.is_whitespace() || c == '#' => hex(&mut self.out, c),
                c => self.out.push(c),
            }
            at_start = false;
            prev_dash = dash;
        }
        Ok(())
    }

    fn escape(&mut self, in_class: bool) -> Result<(), String> {
        let Some(c) = self.peek(0) else {
            return Err("trailing backslash".into());
        };
        self.i += 1;
        let class = |s: &str, negated: bool| {
            if negated {
                format!("[^{s}]")
            } else {
                format!("[{s}]")
            }
        };
        let text = match c {
            'd' => class(DIGIT, false),
            'D' => class(DIGIT, true),
            'w' => class(WORD, false),
            'W' => class(WORD, true),
            's' => class(SPACE, false),
            'S' => class(SPACE, true),
            'h' => class(HEX, false),
            'H' => class(HEX, true),
            'n' => r"\n".into(),
            't' => r"\t".into(),
            'r' => r"\r".into(),
            'f' => r"\x0C".into(),
            'v' => r"\x0B".into(),
            'a' => r"\x07".into(),
            'e' => r"\x1B".into(),
            'b' if in_class => r"\x08".into(),
            'b' => r"(?-u:\b)".into(),
            'B' if !in_class => r"(?-u:\B)".into(),
            'A' if !in_class => r"\A".into(),
            'z' if !in_class => r"\z".into(),
            // Ruby's \Z is "end, or before a final newline"; without
            // look-ahead the newline is consumed, which only shows in m[0].
            'Z' if !in_class => r"(?:\n?\z)".into(),
            'R' if !in_class => r"(?:\r\n|[\n\x0B\x0C\r\x{85}\x{2028}\x{2029}])".into(),
            'x' => {
                let digits = self.take_while(2, |c| c.is_ascii_hexdigit());
                if digits.is_empty() {
                    return Err(r"invalid hex escape `\x`".into());
                }
                format!(r"\x{{{digits}}}")
            }
            'u' => {
                let digits = if self.peek(0) == Some('{') {
                    self.i += 1;
                    let d = self.take_while(6, |c| c.is_ascii_hexdigit());
                    if self.peek(0) != Some('}') {
                        return Err(r"invalid unicode escape `\u{`".into());
                    }
                    self.i += 1;
                    d
                } else {
                    let d = self.take_while(4, |c| c.is_ascii_hexdigit());
                    if d.len() != 4 {
                        return Err(r"invalid unicode escape `\u`".into());
                    }
                    d
                };
                if digits.is_empty() {
                    return Err(r"invalid unicode escape `\u`".into());
                }
                format!(r"\x{{{digits}}}")
            }
            '0' => {
                let digits = self.take_while(2, |c| c.is_digit(8));
                let n = u32::from_str_radix(&format!("0{digits}"), 8).unwrap_or(0);
                format!(r"\x{{{n:X}}}")
            }
            '1'..='9' => {
                return Err(format!(r"back-references (`\{c}`) are not supported"));
            }
            'k' => return Err(r"named back-references (`\k<...>`) are not supported".into()),
            'g' => return Err(r"subexpression calls (`\g<...>`) are not supported".into()),
            'p' | 'P' => {
                if self.peek(0) != Some('{') {
                    return Err(format!(r"malformed property escape `\{c}`"));
                }
                self.i += 1;
                let mut negated = c == 'P';
                if self.peek(0) == Some('^') {
                    self.i += 1;
                    negated = !negated;
                }
                let name = self.take_while(40, |c| c.is_alphanumeric() || c == '_' || c == ' ');
                if self.peek(0) != Some('}') || name.is_empty() {
                    return Err(format!(r"malformed property escape `\{c}{{`"));
                }
                self.i += 1;
                format!(r"\{}{{{name}}}", if negated { 'P' } else { 'p' })
            }
            'G' => return Err(r"`\G` is not supported".into()),
            'K' => return Err(r"`\K` is not supported".into()),
            'X' => return Err(r"`\X` (grapheme cluster) is not supported".into()),
            'c' | 'C' | 'M' => {
                return Err(format!(r"control/meta escapes (`\{c}`) are not supported"));
            }
            c if c.is_ascii_alphanumeric() => {
                let what = if in_class {
                    "in a character class "
                } else {
                    ""
                };
                return Err(format!(r"the escape `\{c}` {what}is not supported"));
            }
            // An escaped punctuation mark (or any other character) stands
            // for itself; spelling it in hex sidesteps Rust's escape rules.
            c => {
                let mut s = String::new();
                hex(&mut s, c);
                s
            }
        };
        self.out.push_str(&text);
        Ok(())
    }

    fn take_while(&mut self, max: usize, f: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while s.chars().count() < max {
            match self.peek(0) {
                Some(c) if f(c) => {
                    s.push(c);
                    self.i += 1;
                }
                _ => break,
            }
        }
        s
    }
}

fn hex(out: &mut String, c: char) {
    out.push_str(&format!(r"\x{{{:X}}}", c as u32));
}

/// Ruby's `Regexp.escape`: a pattern that matches `s` literally.
pub(crate) fn ruby_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '.' | '*' | '?' | '+' | '^' | '$' | '|' | '(' | ')' | '[' | ']' | '{' | '}' | '\\'
            | '/' | '-' | '#' => {
                out.push('\\');
                out.push(c);
            }
            ' ' => out.push_str("\\ "),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x0C' => out.push_str("\\f"),
            '\x0B' => out.push_str("\\v"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Regex {
        RubyRegex::new(p, Flags::default())
            .unwrap()
            .regex
            .as_ref()
            .clone()
    }

    #[test]
    fn anchors_match_at_line_boundaries() {
        assert!(re("^ok$").is_match("first\nok\nlast"));
        assert!(!re(r"\Aok").is_match("first\nok"));
        assert!(re(r"ok\Z").is_match("x ok\n"));
        assert!(re(r"ok\z").is_match("x ok"));
        assert!(!re(r"ok\z").is_match("x ok\n"));
    }

    #[test]
    fn shorthand_classes_are_ascii() {
        assert!(!re(r"\d").is_match("٣"));
        assert!(!re(r"\w").is_match("é"));
        assert!(!re(r"\s").is_match("\u{a0}"));
        assert!(re(r"[\d\s]+x").is_match("1 2x"));
        assert!(re(r"[^\D]").is_match("7"));
        assert!(re(r"\h+").is_match("beef"));
    }

    #[test]
    fn braces_that_are_not_quantifiers_are_literal() {
        assert!(re(r"a{,2}b").is_match("aab"));
        assert!(re(r"{x}").is_match("{x}"));
        assert!(re(r"a{1}").is_match("a"));
    }

    #[test]
    fn named_groups_turn_plain_groups_non_capturing() {
        let r = re(r"(a)(?<n>b)");
        assert_eq!(r.captures_len(), 2);
    }

    #[test]
    fn refusals_name_the_construct() {
        let err = |p: &str| RubyRegex::new(p, Flags::default()).unwrap_err();
        assert!(err("a(?!b)").contains("negative look-ahead"));
        assert!(err("(a)\\1").contains("back-references"));
        assert!(err("a++").contains("possessive"));
        assert!(err("(?>a)").contains("atomic"));
        assert!(err("(a{1000}){1000}").contains("too big"));
    }

    #[test]
    fn escape_round_trips() {
        let s = "a.b*c (x) [y] {z} / # - ? + ^ $ | \\ \n";
        let r = re(&ruby_escape(s));
        assert!(r.is_match(s));
        assert!(!r.is_match("aXb"));
    }
}
