//! Tokens of the Ruby subset, each with its position.
//!
//! Constructs that can only mean something unsupported (backticks, heredocs,
//! instance variables, floats) are refused here, where their position is
//! known exactly.

use crate::error::{ParseError, Pos};

/// `"#{"#{...}"}"` nests the lexer; real lambdas need one level.
const MAX_INTERPOLATION_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub pos: Pos,
    /// Whether whitespace precedes the token on its line: Ruby's grammar
    /// depends on it (`x.size -1` versus `x.size - 1`).
    pub space_before: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Local names, method names and keywords.
    Ident(String),
    /// A name starting with a capital letter (`Regexp`, `File`).
    Const(String),
    /// `$~`, `$1`, `$stdout`: the name without `$`.
    GVar(String),
    Int(i64),
    Str(Vec<Part>),
    Regex {
        parts: Vec<Part>,
        flags: String,
    },
    Sym(String),
    /// `%w(a b c)`.
    Words(Vec<String>),
    Punct(&'static str),
    Newline,
    Eof,
}

/// A piece of a string or regex literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    Lit(String),
    /// `#{...}`: the tokens inside, ending with `Eof`.
    Code(Vec<Token>),
}

/// Longest first, so that `===` is not read as `==` `=`.
const PUNCTS: &[&str] = &[
    "===", "...", "**=", "<=>", "||=", "&&=", "<<=", ">>=", "==", "!=", "=~", "!~", "<=", ">=",
    "&&", "||", "<<", ">>", "**", "->", "::", "..", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=",
    "&.", "=>", "(", ")", "[", "]", "{", "}", "|", ",", ".", ";", "=", "!", "<", ">", "+", "-",
    "*", "/", "%", "?", ":", "&", "^", "~",
];

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer {
        chars: src.chars().collect(),
        i: 0,
        line: 1,
        col: 1,
        depth: 0,
    };
    lexer.tokens(false)
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: u32,
    col: u32,
    depth: usize,
}

impl Lexer {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.col,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.peek(k) == Some(c))
    }

    /// Lexes to the end of input, or (inside `#{`) to the unmatched `}`.
    fn tokens(&mut self, interpolation: bool) -> Result<Vec<Token>, ParseError> {
        let mut out: Vec<Token> = Vec::new();
        let mut braces = 0usize;
        loop {
            let space_before = self.skip_space()?;
            let pos = self.pos();
            let Some(c) = self.peek(0) else {
                if interpolation {
                    return Err(ParseError::syntax(pos, "unterminated `#{` interpolation"));
                }
                out.push(Token {
                    kind: Tok::Eof,
                    pos,
                    space_before,
                });
                return Ok(out);
            };
            if interpolation && c == '}' && braces == 0 {
                self.bump();
                out.push(Token {
                    kind: Tok::Eof,
                    pos,
                    space_before,
                });
                return Ok(out);
            }
            let kind = self.token(c, pos, space_before, &out)?;
            match kind {
                Tok::Punct("{") => braces += 1,
                Tok::Punct("}") => braces = braces.saturating_sub(1),
                _ => {}
            }
            out.push(Token {
                kind,
                pos,
                space_before,
            });
        }
    }

    /// Skips blanks, comments, `=begin`/`=end` and line continuations;
    /// says whether anything was skipped.
    fn skip_space(&mut self) -> Result<bool, ParseError> {
        let mut skipped = false;
        loop {
            match self.peek(0) {
                Some(' ' | '\t' | '\r') => {
                    self.bump();
                }
                Some('\\') if self.peek(1) == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                Some('#') => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                Some('=') if self.col == 1 && self.starts_with("=begin") => {
                    let pos = self.pos();
                    loop {
                        while self.peek(0).is_some_and(|c| c != '\n') {
                            self.bump();
                        }
                        if self.bump().is_none() {
                            return Err(ParseError::syntax(pos, "`=begin` without `=end`"));
                        }
                        if self.starts_with("=end") {
                            while self.peek(0).is_some_and(|c| c != '\n') {
                                self.bump();
                            }
                            break;
                        }
                    }
                }
                _ => return Ok(skipped),
            }
            skipped = true;
        }
    }

    fn token(
        &mut self,
        c: char,
        pos: Pos,
        space_before: bool,
        before: &[Token],
    ) -> Result<Tok, ParseError> {
        let prev = before.last();
        let value_ended = prev.is_some_and(ends_value);
        let after_dot = prev.is_some_and(|t| matches!(t.kind, Tok::Punct(".") | Tok::Punct("&.")));
        // `output.scan /re/`: Ruby reads a regex after a method name when a
        // space comes before the slash and none after it.
        let method_name = before.len() >= 2
            && matches!(prev.map(|t| &t.kind), Some(Tok::Ident(_)))
            && matches!(before[before.len() - 2].kind, Tok::Punct("."));
        let after_method =
            method_name && space_before && !matches!(self.peek(1), Some(' ' | '\t' | '\n' | '='));
        match c {
            '\n' => {
                self.bump();
                Ok(Tok::Newline)
            }
            '0'..='9' => self.number(pos),
            '\'' => {
                self.bump();
                self.single_quoted(pos, '\'')
                    .map(|s| Tok::Str(vec![Part::Lit(s)]))
            }
            '"' => {
                self.bump();
                self.double_quoted(pos).map(Tok::Str)
            }
            '`' => Err(ParseError::unsupported(pos, "backtick command")),
            '@' => Err(ParseError::unsupported(pos, "instance or class variable")),
            '$' => {
                self.bump();
                let name: String = match self.peek(0) {
                    Some(d) if d.is_ascii_digit() => self.take_while(|c| c.is_ascii_digit()),
                    Some(c) if is_ident_start(c) => self.take_while(is_ident_char),
                    Some(c) if "~!@&`'+*$?:\"<>,./\\;0_".contains(c) => {
                        self.bump();
                        c.to_string()
                    }
                    _ => return Err(ParseError::syntax(pos, "malformed global variable")),
                };
                Ok(Tok::GVar(name))
            }
            '/' if !value_ended || after_method => {
                self.bump();
                let parts = self.delimited(pos, '/', None, true)?;
                let flags = self.take_while(|c| c.is_ascii_alphabetic());
                Ok(Tok::Regex { parts, flags })
            }
            '%' if !value_ended || after_method => self.percent(pos),
            '<' if self.starts_with("<<~")
                || self.starts_with("<<-")
                || (self.starts_with("<<")
                    && !value_ended
                    && self
                        .peek(2)
                        .is_some_and(|c| c.is_ascii_uppercase() || c == '"' || c == '\'')) =>
            {
                Err(ParseError::unsupported(pos, "heredoc"))
            }
            ':' if self.peek(1).is_some_and(is_ident_start) => {
                self.bump();
                let mut name = self.take_while(is_ident_char);
                if let Some(c @ ('?' | '!' | '=')) = self.peek(0)
                    && self.peek(1) != Some('=')
                {
                    self.bump();
                    name.push(c);
                }
                Ok(Tok::Sym(name))
            }
            ':' if self.peek(1) == Some('"') || self.peek(1) == Some('\'') => {
                Err(ParseError::unsupported(pos, "quoted symbol"))
            }
            c if is_ident_start(c) => {
                let mut name = self.take_while(is_ident_char);
                // `x.empty?`: a method name may end in ? or !, but `x != y`
                // and `a ? b : c` must survive.
                if (after_dot || name == "defined")
                    && let Some(s @ ('?' | '!')) = self.peek(0)
                    && self.peek(1) != Some('=')
                {
                    self.bump();
                    name.push(s);
                }
                if c.is_uppercase() {
                    Ok(Tok::Const(name))
                } else {
                    Ok(Tok::Ident(name))
                }
            }
            _ => {
                for p in PUNCTS {
                    if self.starts_with(p) {
                        for _ in 0..p.chars().count() {
                            self.bump();
                        }
                        return Ok(Tok::Punct(p));
                    }
                }
                Err(ParseError::syntax(
                    pos,
                    format!("unexpected character {c:?}"),
                ))
            }
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek(0) {
            if !f(c) {
                break;
            }
            s.push(c);
            self.bump();
        }
        s
    }

    fn number(&mut self, pos: Pos) -> Result<Tok, ParseError> {
        let (radix, digits) = if self.peek(0) == Some('0')
            && matches!(self.peek(1), Some('x' | 'X' | 'b' | 'B' | 'o' | 'O'))
        {
            self.bump();
            let r = match self.bump() {
                Some('x' | 'X') => 16,
                Some('b' | 'B') => 2,
                _ => 8,
            };
            (
                r,
                self.take_while(|c| c.is_ascii_alphanumeric() || c == '_'),
            )
        } else {
            (
                10,
                self.take_while(|c| c.is_ascii_alphanumeric() || c == '_'),
            )
        };
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            return Err(ParseError::unsupported(pos, "floating-point number"));
        }
        let clean: String = digits.chars().filter(|&c| c != '_').collect();
        if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
            return Err(ParseError::syntax(
                pos,
                format!("malformed number `{digits}`"),
            ));
        }
        i64::from_str_radix(&clean, radix)
            .map(Tok::Int)
            .map_err(|_| {
                ParseError::syntax(pos, format!("malformed or too large number `{digits}`"))
            })
    }

    /// Ruby single-quote rules: only `\\` and `\<quote>` are escapes.
    fn single_quoted(&mut self, pos: Pos, close: char) -> Result<String, ParseError> {
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(ParseError::syntax(pos, "unterminated string")),
                Some(c) if c == close => return Ok(s),
                Some('\\') => match self.peek(0) {
                    Some(c) if c == '\\' || c == close => {
                        self.bump();
                        s.push(c);
                    }
                    _ => s.push('\\'),
                },
                Some(c) => s.push(c),
            }
        }
    }

    fn double_quoted(&mut self, pos: Pos) -> Result<Vec<Part>, ParseError> {
        let mut parts = Vec::new();
        let mut s = String::new();
        loop {
            let at = self.pos();
            match self.bump() {
                None => return Err(ParseError::syntax(pos, "unterminated string")),
                Some('"') => break,
                Some('#') if self.peek(0) == Some('{') => {
                    self.bump();
                    parts.push(Part::Lit(std::mem::take(&mut s)));
                    parts.push(Part::Code(self.interpolation(at)?));
                }
                Some('#') if matches!(self.peek(0), Some('@' | '$')) => {
                    return Err(ParseError::unsupported(at, "`#@`/`#$` interpolation"));
                }
                Some('\\') => self.string_escape(at, &mut s)?,
                Some(c) => s.push(c),
            }
        }
        parts.push(Part::Lit(s));
        parts.retain(|p| !matches!(p, Part::Lit(l) if l.is_empty()));
        Ok(parts)
    }

    fn interpolation(&mut self, at: Pos) -> Result<Vec<Token>, ParseError> {
        if self.depth >= MAX_INTERPOLATION_DEPTH {
            return Err(ParseError::syntax(at, "interpolation nested too deeply"));
        }
        self.depth += 1;
        let tokens = self.tokens(true);
        self.depth -= 1;
        tokens
    }

    /// Ruby double-quote escapes. An unknown escape (`"\d"`) is the
    /// character itself, which is why `Regexp.new("\d")` matches `d`.
    fn string_escape(&mut self, at: Pos, s: &mut String) -> Result<(), ParseError> {
        let Some(c) = self.bump() else {
            return Err(ParseError::syntax(at, "unterminated string"));
        };
        let ch = match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            's' => ' ',
            'e' => '\x1B',
            'a' => '\x07',
            'b' => '\x08',
            'f' => '\x0C',
            'v' => '\x0B',
            '\n' => return Ok(()),
            '0'..='7' => {
                let mut n = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek(0).and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            n = n * 8 + d;
                            self.bump();
                        }
                        None => break,
                    }
                }
                char::from_u32(n).unwrap_or('\0')
            }
            'x' => {
                let d = self.take_hex(2);
                let n = u32::from_str_radix(&d, 16)
                    .map_err(|_| ParseError::syntax(at, r"invalid hex escape `\x`"))?;
                char::from_u32(n).unwrap_or('\0')
            }
            'u' => {
                if self.peek(0) == Some('{') {
                    self.bump();
                    loop {
                        let d = self.take_hex(6);
                        let ch = u32::from_str_radix(&d, 16).ok().and_then(char::from_u32);
                        let Some(ch) = ch else {
                            return Err(ParseError::syntax(at, r"invalid unicode escape `\u{`"));
                        };
                        s.push(ch);
                        match self.bump() {
                            Some(' ') => continue,
                            Some('}') => return Ok(()),
                            _ => {
                                return Err(ParseError::syntax(
                                    at,
                                    r"invalid unicode escape `\u{`",
                                ));
                            }
                        }
                    }
                }
                let d = self.take_hex(4);
                let ch = (d.len() == 4)
                    .then(|| u32::from_str_radix(&d, 16).ok().and_then(char::from_u32))
                    .flatten();
                ch.ok_or_else(|| ParseError::syntax(at, r"invalid unicode escape `\u`"))?
            }
            'c' | 'C' | 'M' => {
                return Err(ParseError::unsupported(
                    at,
                    format!(r"control/meta escape `\{c}`"),
                ));
            }
            other => other,
        };
        s.push(ch);
        Ok(())
    }

    fn take_hex(&mut self, max: usize) -> String {
        let mut d = String::new();
        while d.len() < max && self.peek(0).is_some_and(|c| c.is_ascii_hexdigit()) {
            d.extend(self.bump());
        }
        d
    }

    /// The body of a regex literal: kept as written (the regex translator
    /// reads the escapes), except for `#{...}`.
    fn delimited(
        &mut self,
        pos: Pos,
        close: char,
        open: Option<char>,
        interpolate: bool,
    ) -> Result<Vec<Part>, ParseError> {
        let mut parts = Vec::new();
        let mut s = String::new();
        let mut nesting = 0usize;
        loop {
            let at = self.pos();
            match self.bump() {
                None => return Err(ParseError::syntax(pos, "unterminated regex")),
                Some('\\') => match self.bump() {
                    None => return Err(ParseError::syntax(pos, "unterminated regex")),
                    // An escaped delimiter is the delimiter itself.
                    Some(c) if c == close && close == '/' => s.push_str("\\/"),
                    Some(c) if c == close || Some(c) == open => s.push(c),
                    Some(c) => {
                        s.push('\\');
                        s.push(c);
                    }
                },
                Some(c) if Some(c) == open => {
                    nesting += 1;
                    s.push(c);
                }
                Some(c) if c == close && nesting > 0 => {
                    nesting -= 1;
                    s.push(c);
                }
                Some(c) if c == close => break,
                Some('#') if interpolate && self.peek(0) == Some('{') => {
                    self.bump();
                    parts.push(Part::Lit(std::mem::take(&mut s)));
                    parts.push(Part::Code(self.interpolation(at)?));
                }
                Some(c) => s.push(c),
            }
        }
        parts.push(Part::Lit(s));
        parts.retain(|p| !matches!(p, Part::Lit(l) if l.is_empty()));
        Ok(parts)
    }

    fn percent(&mut self, pos: Pos) -> Result<Tok, ParseError> {
        self.bump();
        let kind = match self.peek(0) {
            Some(c) if c.is_ascii_alphabetic() => {
                self.bump();
                c
            }
            _ => 'Q',
        };
        let Some(open) = self.bump() else {
            return Err(ParseError::syntax(pos, "unterminated % literal"));
        };
        if open.is_alphanumeric() || open.is_whitespace() {
            return Err(ParseError::syntax(pos, "malformed % literal"));
        }
        let (open, close) = match open {
            '(' => (Some('('), ')'),
            '[' => (Some('['), ']'),
            '{' => (Some('{'), '}'),
            '<' => (Some('<'), '>'),
            c => (None, c),
        };
        match kind {
            'r' => {
                let parts = self.delimited(pos, close, open, true)?;
                let flags = self.take_while(|c| c.is_ascii_alphabetic());
                Ok(Tok::Regex { parts, flags })
            }
            'w' => {
                let parts = self.delimited(pos, close, open, false)?;
                let body: String = parts
                    .into_iter()
                    .map(|p| match p {
                        Part::Lit(s) => s,
                        Part::Code(_) => String::new(),
                    })
                    .collect();
                if body.contains('\\') {
                    return Err(ParseError::unsupported(pos, "escapes in %w()"));
                }
                Ok(Tok::Words(
                    body.split_whitespace().map(String::from).collect(),
                ))
            }
            'x' => Err(ParseError::unsupported(pos, "%x() command")),
            c => Err(ParseError::unsupported(pos, format!("%{c}() literal"))),
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// After these a `/` divides; elsewhere it starts a regex.
fn ends_value(t: &Token) -> bool {
    match &t.kind {
        Tok::Ident(name) => !matches!(
            name.as_str(),
            "if" | "elsif"
                | "unless"
                | "and"
                | "or"
                | "not"
                | "return"
                | "then"
                | "else"
                | "when"
                | "do"
                | "while"
                | "until"
                | "case"
        ),
        Tok::Const(_)
        | Tok::GVar(_)
        | Tok::Int(_)
        | Tok::Str(_)
        | Tok::Regex { .. }
        | Tok::Sym(_)
        | Tok::Words(_) => true,
        Tok::Punct(p) => matches!(*p, ")" | "]" | "}"),
        Tok::Newline | Tok::Eof => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn slash_is_regex_or_division_by_context() {
        assert!(matches!(kinds("x = /a/")[2], Tok::Regex { .. }));
        assert_eq!(kinds("a / 2")[1], Tok::Punct("/"));
        assert!(matches!(
            kinds("return :red if /a/.match(o)")[3],
            Tok::Regex { .. }
        ));
        assert!(matches!(kinds("o.scan /a/")[3], Tok::Regex { .. }));
        assert_eq!(kinds("total /2")[1], Tok::Punct("/"));
    }

    #[test]
    fn method_names_keep_question_marks_but_ternaries_survive() {
        assert_eq!(kinds("x.empty?")[2], Tok::Ident("empty?".into()));
        assert_eq!(kinds("a ? :b : :c")[1], Tok::Punct("?"));
        assert_eq!(kinds("x.y != 1")[3], Tok::Punct("!="));
    }

    #[test]
    fn string_escapes_follow_ruby() {
        assert_eq!(
            kinds(r"'\d\\\''")[0],
            Tok::Str(vec![Part::Lit(r"\d\'".into())])
        );
        assert_eq!(
            kinds(r#""\d\t\u00e9""#)[0],
            Tok::Str(vec![Part::Lit("d\té".into())])
        );
    }

    #[test]
    fn positions_are_line_and_column() {
        let toks = lex("a\n  bb").unwrap();
        assert_eq!(toks[2].pos, Pos { line: 2, column: 3 });
    }
}
