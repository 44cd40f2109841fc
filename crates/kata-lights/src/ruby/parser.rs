//! Recursive descent over the Ruby subset, following Ruby's precedence
//! table. Names are resolved here, as Ruby's own parser does: a name that
//! is neither a parameter nor an assigned local would be a method call,
//! and method calls outside [`Method`] are refused.

use std::sync::Arc;

use super::ast::{BinOp, Block, BlockUse, Call, Expr, Kind, Method, Piece, Program};
use super::lexer::{Part, Tok, Token, lex};
use super::regex::{Flags, RubyRegex, ruby_escape};
use crate::error::{ParseError, Pos};

/// Deep enough for any real lambda; shallow enough that the recursive
/// descent stays far from the end of a 2 MiB test-thread stack.
const MAX_DEPTH: usize = 64;

/// Operators Ruby has and this subset does not.
const UNSUPPORTED_OPS: &[&str] = &[
    "<=>", "**", "<<", ">>", "&", "|", "^", "~", "..", "...", "&.", "=>", "::", "*=", "/=", "%=",
    "|=", "&=", "^=", "<<=", ">>=", "**=",
];

/// Tokens that close something: a statement list stops at any of them and
/// lets its caller say what it was waiting for.
const CLOSERS: &[&str] = &["}", ")", "]", "end", "else", "elsif"];

const KEYWORDS: &[&str] = &[
    "alias",
    "and",
    "begin",
    "break",
    "case",
    "class",
    "def",
    "defined?",
    "do",
    "else",
    "elsif",
    "end",
    "ensure",
    "false",
    "for",
    "if",
    "in",
    "module",
    "next",
    "nil",
    "not",
    "or",
    "redo",
    "rescue",
    "retry",
    "return",
    "self",
    "super",
    "then",
    "true",
    "undef",
    "unless",
    "until",
    "when",
    "while",
    "yield",
    "__FILE__",
    "__LINE__",
    "__method__",
    "__dir__",
];

pub(crate) fn parse(src: &str) -> Result<Program, ParseError> {
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens,
        i: 0,
        scopes: vec![Scope::default()],
        slots: 0,
        depth: 0,
    };
    p.program()
}

#[derive(Default)]
struct Scope {
    names: Vec<(String, usize)>,
}

struct Parser {
    tokens: Vec<Token>,
    i: usize,
    scopes: Vec<Scope>,
    slots: usize,
    depth: usize,
}

type PResult<T> = Result<T, ParseError>;

fn expr(kind: Kind, pos: Pos) -> Expr {
    Expr { kind, pos }
}

fn boxed(kind: Kind, pos: Pos) -> Box<Expr> {
    Box::new(expr(kind, pos))
}

impl Parser {
    // ----- token helpers -------------------------------------------------

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, k: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.i + k).min(last)]
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.tokens.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek().kind, Tok::Punct(q) if q == p)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().kind, Tok::Ident(n) if n == kw)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let yes = self.is_punct(p);
        if yes {
            self.advance();
        }
        yes
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.is_kw(kw);
        if yes {
            self.advance();
        }
        yes
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek().kind, Tok::Newline) {
            self.advance();
        }
    }

    fn skip_terms(&mut self) {
        while matches!(self.peek().kind, Tok::Newline | Tok::Punct(";")) {
            self.advance();
        }
    }

    fn at_any(&self, terms: &[&str]) -> bool {
        match &self.peek().kind {
            Tok::Ident(n) => terms.contains(&n.as_str()),
            Tok::Punct(p) => terms.contains(p),
            Tok::Eof => true,
            _ => false,
        }
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        let t = self.peek();
        if let Tok::Punct(p) = t.kind
            && UNSUPPORTED_OPS.contains(&p)
        {
            return ParseError::unsupported(t.pos, format!("operator `{p}`"));
        }
        ParseError::syntax(
            t.pos,
            format!("expected {expected}, found {}", describe(&t.kind)),
        )
    }

    fn expect_punct(&mut self, p: &str, expected: &str) -> PResult<Token> {
        if self.is_punct(p) {
            Ok(self.advance())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn enter(&mut self, pos: Pos) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::syntax(pos, "nested too deeply"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Each link of a left-associative chain (`a + b + c`, `x.f.g`) nests
    /// the tree one level deeper, so it counts against the depth limit too:
    /// otherwise a long chain would overflow the stack when evaluated.
    fn link(&mut self, pos: Pos, links: &mut usize) -> PResult<()> {
        self.enter(pos)?;
        *links += 1;
        Ok(())
    }

    fn unlink(&mut self, links: usize) {
        self.depth -= links;
    }

    // ----- names ---------------------------------------------------------

    fn lookup(&self, name: &str) -> Option<usize> {
        self.scopes.iter().rev().find_map(|s| {
            s.names
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, i)| *i)
        })
    }

    fn new_slot(&mut self, name: &str) -> usize {
        let slot = self.slots;
        self.slots += 1;
        self.scopes
            .last_mut()
            .expect("there is always a scope")
            .names
            .push((name.to_string(), slot));
        slot
    }

    fn declare(&mut self, name: &str) -> usize {
        match self.lookup(name) {
            Some(slot) => slot,
            None => self.new_slot(name),
        }
    }

    // ----- the lambda ----------------------------------------------------

    fn program(&mut self) -> PResult<Program> {
        self.skip_terms();
        let start = self.peek().pos;
        let (params, close) = match &self.peek().kind {
            Tok::Ident(n) if n == "lambda" => {
                self.advance();
                let close = self.block_open("`{` or `do` after `lambda`")?;
                let params = if self.is_punct("|") || self.is_punct("||") {
                    self.bar_params()?
                } else {
                    Vec::new()
                };
                (params, close)
            }
            Tok::Punct("->") => {
                self.advance();
                let params = if self.eat_punct("(") {
                    self.param_list(")")?
                } else {
                    self.param_list_until_open()?
                };
                let close = self.block_open("`{` or `do` after `->(...)`")?;
                (params, close)
            }
            Tok::Ident(n) if n == "proc" => {
                return Err(ParseError::unsupported(
                    start,
                    "`proc` (a proc's `return` and arguments differ from a lambda's; use `lambda`)",
                ));
            }
            Tok::Const(n) if n == "Proc" => {
                return Err(ParseError::unsupported(start, "`Proc.new` (use `lambda`)"));
            }
            _ => {
                return Err(ParseError::syntax(
                    start,
                    format!(
                        "expected a lambda such as `lambda {{ |stdout, stderr, status| ... }}`, found {}",
                        describe(&self.peek().kind)
                    ),
                ));
            }
        };
        if params.len() != 3 {
            return Err(ParseError::syntax(
                start,
                format!(
                    "the lambda takes {} parameter(s); cyber-dojo calls it with 3 (stdout, stderr, status)",
                    params.len()
                ),
            ));
        }
        for (k, (name, pos)) in params.iter().enumerate() {
            if params[..k].iter().any(|(n, _)| n == name) && !name.starts_with('_') {
                return Err(ParseError::syntax(
                    *pos,
                    format!("duplicate parameter `{name}`"),
                ));
            }
            self.new_slot(name);
        }
        let body = self.stmts(&[close])?;
        if !self.eat_punct(close) && !self.eat_kw(close) {
            return Err(self.unexpected(&format!("`{close}` closing the lambda at {start}")));
        }
        self.skip_terms();
        if !matches!(self.peek().kind, Tok::Eof) {
            return Err(ParseError::unsupported(
                self.peek().pos,
                "code after the lambda (the file must hold one lambda and nothing else)",
            ));
        }
        Ok(Program {
            body,
            slots: self.slots,
        })
    }

    /// Consumes `{` or `do`, returning what closes it.
    fn block_open(&mut self, expected: &str) -> PResult<&'static str> {
        if self.eat_punct("{") {
            Ok("}")
        } else if self.eat_kw("do") {
            Ok("end")
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// `|a, b, c|`.
    fn bar_params(&mut self) -> PResult<Vec<(String, Pos)>> {
        if self.eat_punct("||") {
            return Ok(Vec::new());
        }
        self.expect_punct("|", "`|`")?;
        self.param_list("|")
    }

    fn param_list(&mut self, close: &str) -> PResult<Vec<(String, Pos)>> {
        let mut params = Vec::new();
        if self.eat_punct(close) {
            return Ok(params);
        }
        loop {
            params.push(self.param()?);
            if self.eat_punct(close) {
                return Ok(params);
            }
            self.expect_punct(",", &format!("`,` or `{close}`"))?;
        }
    }

    /// `-> a, b, c { ... }`.
    fn param_list_until_open(&mut self) -> PResult<Vec<(String, Pos)>> {
        let mut params = Vec::new();
        while !self.is_punct("{") && !self.is_kw("do") {
            params.push(self.param()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(params)
    }

    fn param(&mut self) -> PResult<(String, Pos)> {
        let t = self.peek().clone();
        match &t.kind {
            Tok::Ident(n) if !KEYWORDS.contains(&n.as_str()) => {
                self.advance();
                if self.is_punct("=") || self.is_punct(":") {
                    return Err(ParseError::unsupported(
                        self.peek().pos,
                        "default or keyword parameters",
                    ));
                }
                Ok((n.clone(), t.pos))
            }
            Tok::Punct("*" | "**" | "&") => {
                Err(ParseError::unsupported(t.pos, "splat or block parameters"))
            }
            Tok::Punct("(") => Err(ParseError::unsupported(t.pos, "destructuring parameters")),
            Tok::Punct(";") => Err(ParseError::unsupported(
                t.pos,
                "block-local variable declarations",
            )),
            _ => Err(self.unexpected("a parameter name")),
        }
    }

    // ----- statements ----------------------------------------------------

    /// Statements up to (not including) one of `terms`, or the end.
    fn stmts(&mut self, terms: &[&str]) -> PResult<Vec<Expr>> {
        let pos = self.peek().pos;
        self.enter(pos)?;
        let mut out = Vec::new();
        loop {
            self.skip_terms();
            // A closer that is not ours ends the list too, so that the
            // caller can say what it was waiting for.
            if self.at_any(terms) || self.at_any(CLOSERS) {
                break;
            }
            out.push(self.stmt()?);
            if matches!(self.peek().kind, Tok::Newline | Tok::Punct(";")) {
                continue;
            }
            if self.at_any(terms) || self.at_any(CLOSERS) {
                break;
            }
            return Err(self.unexpected("the end of the statement"));
        }
        self.leave();
        Ok(out)
    }

    fn stmt(&mut self) -> PResult<Expr> {
        let mut e = if self.at_multi_assign() {
            self.multi_assign()?
        } else {
            self.expr_stmt()?
        };
        let mut links = 0;
        loop {
            let t = self.peek().clone();
            match &t.kind {
                Tok::Ident(k) if k == "if" || k == "unless" => {
                    self.advance();
                    self.link(t.pos, &mut links)?;
                    self.skip_newlines();
                    let cond = Box::new(self.expr_stmt()?);
                    let pos = e.pos;
                    e = if k == "if" {
                        expr(Kind::If(cond, vec![e], Vec::new()), pos)
                    } else {
                        expr(Kind::If(cond, Vec::new(), vec![e]), pos)
                    };
                }
                Tok::Ident(k) if k == "while" || k == "until" => {
                    return Err(ParseError::unsupported(t.pos, format!("`{k}` loop")));
                }
                Tok::Ident(k) if k == "rescue" => {
                    return Err(ParseError::unsupported(t.pos, "`rescue`"));
                }
                _ => {
                    self.unlink(links);
                    return Ok(e);
                }
            }
        }
    }

    fn at_multi_assign(&self) -> bool {
        let mut k = 0;
        loop {
            match &self.peek_at(k).kind {
                Tok::Ident(n) if !KEYWORDS.contains(&n.as_str()) => {}
                _ => return false,
            }
            match self.peek_at(k + 1).kind {
                Tok::Punct(",") => k += 2,
                Tok::Punct("=") => return k > 0,
                _ => return false,
            }
        }
    }

    fn multi_assign(&mut self) -> PResult<Expr> {
        let pos = self.peek().pos;
        let mut names = Vec::new();
        loop {
            if let Tok::Ident(n) = self.advance().kind {
                names.push(n);
            }
            if self.advance().kind == Tok::Punct("=") {
                break;
            }
        }
        let slots = names.iter().map(|n| self.declare(n)).collect();
        self.skip_newlines();
        let first = self.expr()?;
        let rhs = if self.is_punct(",") {
            let mut items = vec![first];
            while self.eat_punct(",") {
                self.skip_newlines();
                items.push(self.expr()?);
            }
            expr(Kind::Array(items), pos)
        } else {
            first
        };
        Ok(expr(Kind::MultiAssign(slots, Box::new(rhs)), pos))
    }

    /// `and`, `or`, `not`: below assignment, above the modifiers.
    fn expr_stmt(&mut self) -> PResult<Expr> {
        let mut left = self.not_expr()?;
        let mut links = 0;
        loop {
            let pos = self.peek().pos;
            if self.is_kw("and") || self.is_kw("or") {
                self.link(pos, &mut links)?;
            }
            if self.eat_kw("and") {
                self.skip_newlines();
                let right = self.not_expr()?;
                left = expr(Kind::And(Box::new(left), Box::new(right)), pos);
            } else if self.eat_kw("or") {
                self.skip_newlines();
                let right = self.not_expr()?;
                left = expr(Kind::Or(Box::new(left), Box::new(right)), pos);
            } else {
                self.unlink(links);
                return Ok(left);
            }
        }
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        let pos = self.peek().pos;
        if self.eat_kw("not") {
            self.enter(pos)?;
            let e = self.not_expr()?;
            self.leave();
            return Ok(expr(Kind::Not(Box::new(e)), pos));
        }
        if self.eat_kw("return") {
            if self.starts_expr() {
                let value = self.expr()?;
                if self.is_punct(",") {
                    return Err(ParseError::unsupported(
                        self.peek().pos,
                        "returning several values",
                    ));
                }
                return Ok(expr(Kind::Return(Some(Box::new(value))), pos));
            }
            return Ok(expr(Kind::Return(None), pos));
        }
        self.expr()
    }

    fn starts_expr(&self) -> bool {
        match &self.peek().kind {
            Tok::Newline | Tok::Eof => false,
            Tok::Punct(p) => !matches!(*p, ";" | "}" | ")" | "]" | ","),
            Tok::Ident(n) => !matches!(
                n.as_str(),
                "if" | "unless"
                    | "end"
                    | "else"
                    | "elsif"
                    | "then"
                    | "and"
                    | "or"
                    | "do"
                    | "while"
                    | "until"
                    | "rescue"
            ),
            _ => true,
        }
    }

    // ----- expressions, loosest first -----------------------------------

    fn expr(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        if let Tok::Ident(name) = &t.kind
            && !KEYWORDS.contains(&name.as_str())
            && let Tok::Punct(op @ ("=" | "+=" | "-=" | "*=" | "||=" | "&&=")) =
                self.peek_at(1).kind
        {
            self.advance();
            self.advance();
            self.skip_newlines();
            // Ruby declares the name before reading the right-hand side.
            let slot = self.declare(name);
            let rhs = Box::new(self.expr()?);
            let pos = t.pos;
            let var = || boxed(Kind::Var(slot), pos);
            let assign = |rhs| expr(Kind::Assign(slot, rhs), pos);
            return Ok(match op {
                "=" => assign(rhs),
                "+=" => assign(boxed(Kind::Binary(BinOp::Add, var(), rhs), pos)),
                "-=" => assign(boxed(Kind::Binary(BinOp::Sub, var(), rhs), pos)),
                "*=" => assign(boxed(Kind::Binary(BinOp::Mul, var(), rhs), pos)),
                "||=" => expr(Kind::Or(var(), Box::new(assign(rhs))), pos),
                _ => expr(Kind::And(var(), Box::new(assign(rhs))), pos),
            });
        }
        self.ternary()
    }

    fn ternary(&mut self) -> PResult<Expr> {
        let cond = self.or_expr()?;
        if !self.is_punct("?") {
            return Ok(cond);
        }
        let pos = self.advance().pos;
        self.enter(pos)?;
        self.skip_newlines();
        let yes = self.expr()?;
        self.skip_newlines();
        self.expect_punct(":", "`:` in `cond ? a : b`")?;
        self.skip_newlines();
        let no = self.expr()?;
        self.leave();
        Ok(expr(Kind::If(Box::new(cond), vec![yes], vec![no]), pos))
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        let mut left = self.and_expr()?;
        let mut links = 0;
        while self.is_punct("||") {
            let pos = self.advance().pos;
            self.link(pos, &mut links)?;
            self.skip_newlines();
            let right = self.and_expr()?;
            left = expr(Kind::Or(Box::new(left), Box::new(right)), pos);
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let mut left = self.eq_expr()?;
        let mut links = 0;
        while self.is_punct("&&") {
            let pos = self.advance().pos;
            self.link(pos, &mut links)?;
            self.skip_newlines();
            let right = self.eq_expr()?;
            left = expr(Kind::And(Box::new(left), Box::new(right)), pos);
        }
        Ok(left)
    }

    fn eq_expr(&mut self) -> PResult<Expr> {
        let left = self.cmp_expr()?;
        let op = match self.peek().kind {
            Tok::Punct("==") => BinOp::Eq,
            Tok::Punct("!=") => BinOp::Ne,
            Tok::Punct("===") => BinOp::CaseEq,
            Tok::Punct("=~") => BinOp::Match,
            Tok::Punct("!~") => BinOp::NotMatch,
            _ => return Ok(left),
        };
        let pos = self.advance().pos;
        self.skip_newlines();
        let right = self.cmp_expr()?;
        if matches!(
            self.peek().kind,
            Tok::Punct("==" | "!=" | "===" | "=~" | "!~")
        ) {
            return Err(ParseError::syntax(
                self.peek().pos,
                "equality operators do not chain",
            ));
        }
        Ok(expr(Kind::Binary(op, Box::new(left), Box::new(right)), pos))
    }

    fn cmp_expr(&mut self) -> PResult<Expr> {
        self.left_assoc(
            &[
                ("<", BinOp::Lt),
                ("<=", BinOp::Le),
                (">", BinOp::Gt),
                (">=", BinOp::Ge),
            ],
            Self::add_expr,
        )
    }

    fn add_expr(&mut self) -> PResult<Expr> {
        self.left_assoc(&[("+", BinOp::Add), ("-", BinOp::Sub)], Self::mul_expr)
    }

    fn mul_expr(&mut self) -> PResult<Expr> {
        self.left_assoc(
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Mod)],
            Self::neg_expr,
        )
    }

    /// One level of left-associative binary operators over `next`, the
    /// level that binds tighter; each link counts toward the nesting limit.
    fn left_assoc(
        &mut self,
        ops: &[(&str, BinOp)],
        next: fn(&mut Self) -> PResult<Expr>,
    ) -> PResult<Expr> {
        let mut left = next(self)?;
        let mut links = 0;
        loop {
            let op = match self.peek().kind {
                Tok::Punct(p) => ops.iter().find(|(s, _)| *s == p).map(|(_, op)| *op),
                _ => None,
            };
            let Some(op) = op else {
                self.unlink(links);
                return Ok(left);
            };
            let pos = self.advance().pos;
            self.link(pos, &mut links)?;
            self.skip_newlines();
            let right = next(self)?;
            left = expr(Kind::Binary(op, Box::new(left), Box::new(right)), pos);
        }
    }

    fn neg_expr(&mut self) -> PResult<Expr> {
        let pos = self.peek().pos;
        if !self.is_punct("-") {
            return self.unary();
        }
        self.advance();
        self.enter(pos)?;
        let e = match self.peek().kind {
            Tok::Int(n) if !self.peek().space_before => {
                self.advance();
                expr(Kind::Int(-n), pos)
            }
            _ => {
                let inner = self.neg_expr()?;
                expr(Kind::Neg(Box::new(inner)), pos)
            }
        };
        self.leave();
        Ok(e)
    }

    fn unary(&mut self) -> PResult<Expr> {
        let pos = self.peek().pos;
        self.enter(pos)?;
        let e = if self.eat_punct("!") {
            let inner = self.unary()?;
            expr(Kind::Not(Box::new(inner)), pos)
        } else {
            self.postfix()?
        };
        self.leave();
        Ok(e)
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        let mut links = 0;
        loop {
            let t = self.peek().clone();
            if matches!(t.kind, Tok::Punct(".") | Tok::Punct("[")) {
                self.link(t.pos, &mut links)?;
            }
            match t.kind {
                Tok::Punct(".") => e = self.method_call(e)?,
                Tok::Newline => {
                    // A chain may continue on the next line: `x\n  .map {...}`.
                    let mut k = 0;
                    while self.peek_at(k).kind == Tok::Newline {
                        k += 1;
                    }
                    if self.peek_at(k).kind != Tok::Punct(".") {
                        self.unlink(links);
                        return Ok(e);
                    }
                    self.skip_newlines();
                }
                Tok::Punct("&.") => {
                    return Err(ParseError::unsupported(t.pos, "safe navigation `&.`"));
                }
                Tok::Punct("::") => {
                    return Err(ParseError::unsupported(t.pos, "`::` lookup"));
                }
                Tok::Punct("[") if !t.space_before => {
                    self.advance();
                    self.skip_newlines();
                    let args = self.args_until("]")?;
                    if args.is_empty() || args.len() > 2 {
                        return Err(ParseError::syntax(t.pos, "`[]` takes one or two arguments"));
                    }
                    e = expr(Kind::Index(Box::new(e), args), t.pos);
                }
                _ => {
                    self.unlink(links);
                    return Ok(e);
                }
            }
        }
    }

    /// Comma-separated expressions up to `close`, which is consumed.
    fn args_until(&mut self, close: &str) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        self.skip_newlines();
        if self.eat_punct(close) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.skip_newlines();
            if self.eat_punct(close) {
                return Ok(args);
            }
            self.expect_punct(",", &format!("`,` or `{close}`"))?;
            self.skip_newlines();
        }
    }

    fn method_call(&mut self, recv: Expr) -> PResult<Expr> {
        self.advance(); // the dot
        let t = self.advance();
        let name = match &t.kind {
            Tok::Ident(n) | Tok::Const(n) => n.clone(),
            Tok::Punct("(") => {
                return Err(ParseError::unsupported(t.pos, "calling a proc with `.()`"));
            }
            other => {
                return Err(ParseError::syntax(
                    t.pos,
                    format!(
                        "expected a method name after `.`, found {}",
                        describe(other)
                    ),
                ));
            }
        };
        let Some(method) = Method::from_name(&name) else {
            return Err(ParseError::unsupported(t.pos, format!("method `.{name}`")));
        };
        let mut args = Vec::new();
        let mut block = None;
        if self.is_punct("(") && !self.peek().space_before {
            self.advance();
            self.skip_newlines();
            if !self.eat_punct(")") {
                loop {
                    if self.is_punct("&") {
                        block = Some(self.sym_block()?);
                        self.skip_newlines();
                        self.expect_punct(")", "`)` after a `&:symbol` argument")?;
                        break;
                    }
                    args.push(self.expr()?);
                    self.skip_newlines();
                    if self.eat_punct(")") {
                        break;
                    }
                    self.expect_punct(",", "`,` or `)`")?;
                    self.skip_newlines();
                }
            }
        } else if self.peek().space_before && self.starts_command_arg() {
            // `output.include? 'FAILED'`: a call without parentheses.
            loop {
                args.push(self.expr()?);
                if !self.eat_punct(",") {
                    break;
                }
                self.skip_newlines();
            }
        }
        if block.is_none() && (self.is_punct("{") || self.is_kw("do")) {
            block = Some(self.code_block()?);
        }
        let (min, max) = method.arity();
        if args.len() < min || args.len() > max {
            let wanted = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(ParseError::syntax(
                t.pos,
                format!("`.{name}` takes {wanted} argument(s), given {}", args.len()),
            ));
        }
        match (method.block(), &block) {
            (BlockUse::No, Some(_)) => {
                return Err(ParseError::unsupported(
                    t.pos,
                    format!("`.{name}` with a block"),
                ));
            }
            (BlockUse::Required, None) => {
                return Err(ParseError::unsupported(
                    t.pos,
                    format!("`.{name}` without a block (an enumerator)"),
                ));
            }
            _ => {}
        }
        Ok(expr(
            Kind::Call(Box::new(Call {
                recv,
                method,
                args,
                block,
            })),
            t.pos,
        ))
    }

    fn starts_command_arg(&self) -> bool {
        match &self.peek().kind {
            Tok::Str(_)
            | Tok::Regex { .. }
            | Tok::Int(_)
            | Tok::Sym(_)
            | Tok::GVar(_)
            | Tok::Words(_) => true,
            Tok::Ident(n) => {
                !KEYWORDS.contains(&n.as_str()) || matches!(n.as_str(), "nil" | "true" | "false")
            }
            Tok::Const(_) => true,
            _ => false,
        }
    }

    /// `&:to_i`.
    fn sym_block(&mut self) -> PResult<Block> {
        let amp = self.advance();
        let t = self.advance();
        let Tok::Sym(name) = &t.kind else {
            return Err(ParseError::unsupported(
                amp.pos,
                "passing a block with `&` (only `&:method` is supported)",
            ));
        };
        match Method::from_name(name) {
            Some(m) if m.arity().0 == 0 && m.block() != BlockUse::Required => Ok(Block::Sym(m)),
            _ => Err(ParseError::unsupported(t.pos, format!("`&:{name}`"))),
        }
    }

    /// `{ |x| ... }` or `do |x| ... end`.
    fn code_block(&mut self) -> PResult<Block> {
        let pos = self.peek().pos;
        self.enter(pos)?;
        let close = self.block_open("a block")?;
        self.scopes.push(Scope::default());
        let params = if self.is_punct("|") || self.is_punct("||") {
            self.bar_params()?
        } else {
            Vec::new()
        };
        let first_slot = self.slots;
        let params: Vec<usize> = params.iter().map(|(n, _)| self.new_slot(n)).collect();
        let body = self.stmts(&[close])?;
        if !self.eat_punct(close) && !self.eat_kw(close) {
            return Err(self.unexpected(&format!("`{close}` closing the block at {pos}")));
        }
        self.scopes.pop();
        let locals = (first_slot..self.slots)
            .filter(|s| !params.contains(s))
            .collect();
        self.leave();
        Ok(Block::Code {
            params,
            locals,
            body,
        })
    }

    // ----- primaries -----------------------------------------------------

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        let pos = t.pos;
        let kind = match t.kind {
            Tok::Int(n) => {
                self.advance();
                Kind::Int(n)
            }
            Tok::Str(parts) => {
                self.advance();
                self.string(parts)?
            }
            Tok::Regex { parts, flags } => {
                self.advance();
                self.regex(parts, &flags, pos)?
            }
            Tok::Sym(s) => {
                self.advance();
                Kind::Sym(s.into())
            }
            Tok::Words(words) => {
                self.advance();
                Kind::Array(
                    words
                        .into_iter()
                        .map(|w| expr(Kind::Str(w.into()), pos))
                        .collect(),
                )
            }
            Tok::GVar(name) => {
                self.advance();
                match name.as_str() {
                    "~" => Kind::LastMatch,
                    d if d.len() == 1 && ('1'..='9').contains(&d.chars().next().unwrap_or('0')) => {
                        Kind::LastGroup(d.parse().unwrap_or(0))
                    }
                    _ => {
                        return Err(ParseError::unsupported(
                            pos,
                            format!("global variable `${name}`"),
                        ));
                    }
                }
            }
            Tok::Const(name) => {
                self.advance();
                return self.constant(&name, pos);
            }
            Tok::Punct("(") => {
                self.advance();
                let body = self.stmts(&[")"])?;
                self.expect_punct(")", "`)`")?;
                Kind::Seq(body)
            }
            Tok::Punct("[") => {
                self.advance();
                Kind::Array(self.args_until("]")?)
            }
            Tok::Punct("{") => return Err(ParseError::unsupported(pos, "hash literal")),
            Tok::Punct("->") => return Err(ParseError::unsupported(pos, "nested lambda")),
            Tok::Ident(name) => return self.identifier(&name, pos),
            _ => return Err(self.unexpected("an expression")),
        };
        Ok(expr(kind, pos))
    }

    fn identifier(&mut self, name: &str, pos: Pos) -> PResult<Expr> {
        let unsupported = |what: &str| Err(ParseError::unsupported(pos, what.to_string()));
        match name {
            "nil" | "true" | "false" => {
                self.advance();
                let kind = match name {
                    "nil" => Kind::Nil,
                    n => Kind::Bool(n == "true"),
                };
                Ok(expr(kind, pos))
            }
            "if" => {
                self.advance();
                self.if_rest(pos, "if")
            }
            "unless" => {
                self.advance();
                let cond = self.expr_stmt()?;
                self.then_sep()?;
                let body = self.stmts(&["else", "end"])?;
                let other = if self.eat_kw("else") {
                    self.stmts(&["end"])?
                } else {
                    Vec::new()
                };
                self.expect_end(pos, "unless")?;
                Ok(expr(Kind::If(Box::new(cond), other, body), pos))
            }
            "lambda" | "proc" => unsupported("a nested lambda or proc"),
            "def" => unsupported("method definition (`def`)"),
            "class" | "module" => unsupported("`class`/`module` definition"),
            "while" | "until" | "for" => unsupported(&format!("`{name}` loop")),
            "begin" | "rescue" | "ensure" => unsupported("`begin`/`rescue`"),
            "case" => unsupported("`case`/`when`"),
            "self" | "super" | "yield" | "alias" | "undef" | "redo" | "retry" | "break"
            | "next" | "defined?" | "__FILE__" | "__LINE__" | "__method__" | "__dir__" => {
                unsupported(&format!("`{name}`"))
            }
            "end" | "else" | "elsif" | "then" | "do" | "and" | "or" | "not" | "when" | "in"
            | "return" => Err(ParseError::syntax(pos, format!("unexpected `{name}`"))),
            _ => {
                self.advance();
                match self.lookup(name) {
                    Some(slot) => Ok(expr(Kind::Var(slot), pos)),
                    None => unsupported(&format!(
                        "call to `{name}` (not a parameter or local variable; method calls are limited to those documented)"
                    )),
                }
            }
        }
    }

    /// After `if`/`elsif`: the condition, the branches and the `end`.
    fn if_rest(&mut self, pos: Pos, opener: &str) -> PResult<Expr> {
        let cond = self.expr_stmt()?;
        self.then_sep()?;
        let then = self.stmts(&["elsif", "else", "end"])?;
        let other = if self.is_kw("elsif") {
            let at = self.advance().pos;
            self.enter(at)?;
            let nested = self.if_rest(pos, opener)?;
            self.leave();
            vec![nested]
        } else {
            let other = if self.eat_kw("else") {
                self.stmts(&["end"])?
            } else {
                Vec::new()
            };
            self.expect_end(pos, opener)?;
            other
        };
        Ok(expr(Kind::If(Box::new(cond), then, other), pos))
    }

    fn then_sep(&mut self) -> PResult<()> {
        if self.eat_kw("then") || matches!(self.peek().kind, Tok::Newline | Tok::Punct(";")) {
            Ok(())
        } else {
            Err(self.unexpected("`then` or a new line after the condition"))
        }
    }

    fn expect_end(&mut self, pos: Pos, opener: &str) -> PResult<()> {
        if self.eat_kw("end") {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`end` closing the `{opener}` at {pos}")))
        }
    }

    fn constant(&mut self, name: &str, pos: Pos) -> PResult<Expr> {
        if name != "Regexp" {
            return Err(ParseError::unsupported(pos, format!("constant `{name}`")));
        }
        if self.is_punct("::") {
            return Err(ParseError::unsupported(
                pos,
                "`Regexp::` constants (write regex options inline, e.g. `(?i)`)",
            ));
        }
        if !self.is_punct(".") {
            return Err(ParseError::unsupported(
                pos,
                "`Regexp` other than `Regexp.new`/`Regexp.escape`",
            ));
        }
        self.advance();
        let t = self.advance();
        let method = match &t.kind {
            Tok::Ident(m) => m.clone(),
            _ => {
                return Err(ParseError::syntax(
                    t.pos,
                    "expected a method name after `Regexp.`",
                ));
            }
        };
        if !matches!(method.as_str(), "new" | "compile" | "escape" | "quote") {
            return Err(ParseError::unsupported(t.pos, format!("`Regexp.{method}`")));
        }
        let args = if self.is_punct("(") && !self.peek().space_before {
            self.advance();
            self.args_until(")")?
        } else if self.starts_command_arg() {
            vec![self.expr()?]
        } else {
            Vec::new()
        };
        if args.len() != 1 {
            let what = if args.len() > 1 && (method == "new" || method == "compile") {
                format!("`Regexp.{method}` with options (write the flags inline, e.g. `(?i)`)")
            } else {
                format!("`Regexp.{method}` with {} arguments", args.len())
            };
            return Err(ParseError::unsupported(t.pos, what));
        }
        let arg = args.into_iter().next().expect("one argument");
        let kind = match (method.as_str(), &arg.kind) {
            ("escape" | "quote", Kind::Str(s)) => Kind::Str(ruby_escape(s).into()),
            ("escape" | "quote", _) => Kind::RegexpEscape(Box::new(arg)),
            (_, Kind::Str(s)) => {
                Kind::Regex(RubyRegex::new(s, Flags::default()).map_err(|message| {
                    ParseError::Regex {
                        pos: arg.pos,
                        pattern: s.to_string(),
                        message,
                    }
                })?)
            }
            (_, Kind::Regex(_)) => arg.kind,
            _ => Kind::RegexpNew(Box::new(arg)),
        };
        Ok(expr(kind, pos))
    }

    fn pieces(&mut self, parts: Vec<Part>) -> PResult<Vec<Piece>> {
        let mut out = Vec::new();
        for part in parts {
            match part {
                Part::Lit(s) => out.push(Piece::Lit(s.into())),
                Part::Code(tokens) => {
                    let saved_tokens = std::mem::replace(&mut self.tokens, tokens);
                    let saved_i = std::mem::replace(&mut self.i, 0);
                    let body = self.stmts(&[]);
                    let at_end = matches!(self.peek().kind, Tok::Eof);
                    let err = (!at_end).then(|| self.unexpected("`}` ending the interpolation"));
                    self.tokens = saved_tokens;
                    self.i = saved_i;
                    if let Some(err) = err {
                        return Err(err);
                    }
                    out.push(Piece::Code(body?));
                }
            }
        }
        Ok(out)
    }

    fn string(&mut self, parts: Vec<Part>) -> PResult<Kind> {
        let pieces = self.pieces(parts)?;
        Ok(match literal(&pieces) {
            Some(s) => Kind::Str(s.into()),
            None => Kind::Interp(pieces),
        })
    }

    fn regex(&mut self, parts: Vec<Part>, flags: &str, pos: Pos) -> PResult<Kind> {
        let pieces = self.pieces(parts)?;
        let pattern = || {
            pieces
                .iter()
                .map(|p| match p {
                    Piece::Lit(s) => s.to_string(),
                    Piece::Code(_) => "#{...}".to_string(),
                })
                .collect::<String>()
        };
        let flags = Flags::parse(flags).map_err(|message| ParseError::Regex {
            pos,
            pattern: pattern(),
            message,
        })?;
        match literal(&pieces) {
            Some(source) => RubyRegex::new(&source, flags)
                .map(Kind::Regex)
                .map_err(|message| ParseError::Regex {
                    pos,
                    pattern: source,
                    message,
                }),
            None => Ok(Kind::DynRegex(pieces, flags)),
        }
    }
}

/// The text of pieces with no interpolation.
fn literal(pieces: &[Piece]) -> Option<String> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => Some(Arc::clone(s)),
            Piece::Code(_) => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(|v| v.concat())
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(n) | Tok::Const(n) => format!("`{n}`"),
        Tok::GVar(n) => format!("`${n}`"),
        Tok::Int(n) => format!("`{n}`"),
        Tok::Str(_) => "a string".into(),
        Tok::Regex { .. } => "a regex".into(),
        Tok::Sym(s) => format!("`:{s}`"),
        Tok::Words(_) => "a %w() list".into(),
        Tok::Punct(p) => format!("`{p}`"),
        Tok::Newline => "the end of the line".into(),
        Tok::Eof => "the end of the input".into(),
    }
}
