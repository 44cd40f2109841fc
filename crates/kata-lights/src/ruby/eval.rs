//! Runs a checked [`Program`] with Ruby's semantics for the values it can
//! hold. There are no loops but iteration over finite arrays, and every
//! step draws on a fixed budget, so a run always ends, and soon.

use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;

use super::ast::{BinOp, Block, Call, Expr, Kind, Method, Piece, Program};
use super::regex::{Flags, RubyRegex, ruby_escape};
use crate::error::Pos;

/// Steps one run may take. A regex search costs one step per 128 bytes
/// searched, building a string one per 4 bytes and an array 8 per element;
/// the lambdas in the wild use well under 10,000.
const FUEL: u64 = 5_000_000;

/// A Ruby value the subset can produce.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Str(Arc<str>),
    Sym(Arc<str>),
    Regex(RubyRegex),
    Match(Rc<MatchData>),
    Array(Rc<List>),
}

/// Arrays can nest at most this deep: a lambda could otherwise build
/// `[[[...]]]` in a loop until `flatten` or dropping it overflowed the stack.
const MAX_NESTING: usize = 32;

/// An array's items, and how deeply arrays nest inside it.
#[derive(Debug)]
pub(crate) struct List {
    items: Vec<Value>,
    depth: usize,
}

impl std::ops::Deref for List {
    type Target = Vec<Value>;

    fn deref(&self) -> &Vec<Value> {
        &self.items
    }
}

#[derive(Debug)]
pub(crate) struct MatchData {
    /// Group 0 is the whole match.
    groups: Vec<Option<Arc<str>>>,
    names: Vec<Option<String>>,
    /// Byte offset of the match, and the text it was found in (for `=~`'s
    /// character index).
    start: usize,
    char_start: usize,
}

/// Why a run did not produce a value: a Ruby exception, in effect.
pub(crate) struct Failure {
    pub pos: Pos,
    pub message: String,
}

enum Flow {
    Return(Value),
    Fail(Failure),
}

type R = Result<Value, Flow>;

fn fail<T>(pos: Pos, message: impl Into<String>) -> Result<T, Flow> {
    Err(Flow::Fail(Failure {
        pos,
        message: message.into(),
    }))
}

pub(crate) fn run(
    program: &Program,
    stdout: &str,
    stderr: &str,
    status: i32,
) -> Result<Value, Failure> {
    let mut slots = vec![Value::Nil; program.slots];
    slots[0] = Value::Str(stdout.into());
    slots[1] = Value::Str(stderr.into());
    slots[2] = Value::Int(status.into());
    let mut machine = Machine {
        slots,
        last_match: Value::Nil,
        fuel: FUEL,
    };
    match machine.body(&program.body) {
        Ok(v) | Err(Flow::Return(v)) => Ok(v),
        Err(Flow::Fail(f)) => Err(f),
    }
}

struct Machine {
    slots: Vec<Value>,
    last_match: Value,
    fuel: u64,
}

pub(crate) fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Nil | Value::Bool(false))
}

impl Machine {
    fn charge(&mut self, pos: Pos, steps: u64) -> Result<(), Flow> {
        match self.fuel.checked_sub(steps) {
            Some(left) => {
                self.fuel = left;
                Ok(())
            }
            None => {
                self.fuel = 0;
                fail(pos, format!("the lambda took too long (over {FUEL} steps)"))
            }
        }
    }

    /// Every array is built here: it is charged for, and its nesting checked.
    fn array(&mut self, items: Vec<Value>, pos: Pos) -> R {
        self.charge(pos, 8 * items.len() as u64)?;
        let depth = 1 + items
            .iter()
            .map(|v| match v {
                Value::Array(inner) => inner.depth,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        if depth > MAX_NESTING {
            return fail(pos, format!("arrays nested more than {MAX_NESTING} deep"));
        }
        Ok(Value::Array(Rc::new(List { items, depth })))
    }

    fn body(&mut self, body: &[Expr]) -> R {
        let mut last = Value::Nil;
        for e in body {
            last = self.eval(e)?;
        }
        Ok(last)
    }

    fn eval(&mut self, e: &Expr) -> R {
        let pos = e.pos;
        self.charge(pos, 1)?;
        Ok(match &e.kind {
            Kind::Nil => Value::Nil,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(n) => Value::Int(*n),
            Kind::Str(s) => Value::Str(Arc::clone(s)),
            Kind::Sym(s) => Value::Sym(Arc::clone(s)),
            Kind::Regex(r) => Value::Regex(r.clone()),
            Kind::Interp(pieces) => Value::Str(self.interpolate(pieces, pos, false)?.into()),
            Kind::DynRegex(pieces, flags) => {
                let source = self.interpolate(pieces, pos, true)?;
                Value::Regex(self.compile(&source, *flags, pos)?)
            }
            Kind::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(item)?);
                }
                self.array(out, pos)?
            }
            Kind::Var(slot) => self.slots[*slot].clone(),
            Kind::LastMatch => self.last_match.clone(),
            Kind::LastGroup(n) => match &self.last_match {
                Value::Match(m) => group(m, *n),
                _ => Value::Nil,
            },
            Kind::Assign(slot, rhs) => {
                let v = self.eval(rhs)?;
                self.slots[*slot] = v.clone();
                v
            }
            Kind::MultiAssign(slots, rhs) => {
                let v = self.eval(rhs)?;
                match &v {
                    Value::Array(items) => {
                        for (k, slot) in slots.iter().enumerate() {
                            self.slots[*slot] = items.get(k).cloned().unwrap_or(Value::Nil);
                        }
                    }
                    other => {
                        for (k, slot) in slots.iter().enumerate() {
                            self.slots[*slot] = if k == 0 { other.clone() } else { Value::Nil };
                        }
                    }
                }
                v
            }
            Kind::Not(inner) => Value::Bool(!truthy(&self.eval(inner)?)),
            Kind::And(a, b) => {
                let v = self.eval(a)?;
                if truthy(&v) { self.eval(b)? } else { v }
            }
            Kind::Or(a, b) => {
                let v = self.eval(a)?;
                if truthy(&v) { v } else { self.eval(b)? }
            }
            Kind::Binary(op, a, b) => {
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                self.binary(*op, a, b, pos)?
            }
            Kind::Neg(inner) => match self.eval(inner)? {
                Value::Int(n) => Value::Int(n.checked_neg().ok_or_else(|| overflow(pos))?),
                other => return fail(pos, format!("undefined method `-@' for {}", class(&other))),
            },
            Kind::If(cond, yes, no) => {
                if truthy(&self.eval(cond)?) {
                    self.body(yes)?
                } else {
                    self.body(no)?
                }
            }
            Kind::Return(value) => {
                let v = match value {
                    Some(v) => self.eval(v)?,
                    None => Value::Nil,
                };
                return Err(Flow::Return(v));
            }
            Kind::Seq(body) => self.body(body)?,
            Kind::Call(call) => self.call(call, pos)?,
            Kind::Index(recv, args) => {
                let recv = self.eval(recv)?;
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a)?);
                }
                self.index(recv, values, pos)?
            }
            Kind::RegexpNew(arg) => match self.eval(arg)? {
                Value::Str(s) => Value::Regex(self.compile(&s, Flags::default(), pos)?),
                Value::Regex(r) => Value::Regex(r),
                other => {
                    return fail(
                        pos,
                        format!("no implicit conversion of {} into String", class(&other)),
                    );
                }
            },
            Kind::RegexpEscape(arg) => match self.eval(arg)? {
                Value::Str(s) | Value::Sym(s) => Value::Str(ruby_escape(&s).into()),
                other => {
                    return fail(
                        pos,
                        format!("no implicit conversion of {} into String", class(&other)),
                    );
                }
            },
        })
    }

    fn interpolate(&mut self, pieces: &[Piece], pos: Pos, in_regex: bool) -> Result<String, Flow> {
        let mut s = String::new();
        for piece in pieces {
            match piece {
                Piece::Lit(l) => s.push_str(l),
                Piece::Code(body) => match self.body(body)? {
                    // A regex embeds as `(?-mix:...)`, keeping its options.
                    Value::Regex(r) if in_regex => s.push_str(&r.to_ruby_s()),
                    v => s.push_str(&to_s(&v)),
                },
            }
        }
        self.charge(pos, s.len() as u64 / 4)?;
        Ok(s)
    }

    fn compile(&mut self, source: &str, flags: Flags, pos: Pos) -> Result<RubyRegex, Flow> {
        self.charge(pos, 100 + source.len() as u64)?;
        RubyRegex::new(source, flags).or_else(|m| fail(pos, format!("regex /{source}/: {m}")))
    }

    /// `re.match(s)`: the match data, remembered as `$~` like Ruby does.
    fn search(&mut self, re: &RubyRegex, s: &str, pos: Pos, set_last: bool) -> R {
        self.charge(pos, 1 + s.len() as u64 / 128)?;
        let found = match re.regex.captures(s) {
            Some(caps) => match_data(re, s, &caps),
            None => Value::Nil,
        };
        if set_last {
            self.last_match = found.clone();
        }
        Ok(found)
    }

    fn binary(&mut self, op: BinOp, a: Value, b: Value, pos: Pos) -> R {
        use Value::{Array, Int, Str};
        let sym = op.symbol();
        Ok(match op {
            BinOp::Eq => Value::Bool(equal(&a, &b)),
            BinOp::Ne => Value::Bool(!equal(&a, &b)),
            BinOp::CaseEq => match (&a, &b) {
                (Value::Regex(r), Str(s) | Value::Sym(s)) => {
                    let s = Arc::clone(s);
                    Value::Bool(truthy(&self.search(r, &s, pos, true)?))
                }
                (Value::Regex(_), _) => Value::Bool(false),
                _ => Value::Bool(equal(&a, &b)),
            },
            BinOp::Match | BinOp::NotMatch => {
                let found = match (&a, &b) {
                    (Str(s), Value::Regex(r)) | (Value::Regex(r), Str(s) | Value::Sym(s)) => {
                        let s = Arc::clone(s);
                        self.search(r, &s, pos, true)?
                    }
                    (Value::Regex(_), Value::Nil) | (Value::Nil, _) => {
                        self.last_match = Value::Nil;
                        Value::Nil
                    }
                    (Str(_), other) => {
                        return fail(
                            pos,
                            format!("wrong argument type {} (expected Regexp)", class(other)),
                        );
                    }
                    _ => return fail(pos, format!("undefined method `{sym}' for {}", class(&a))),
                };
                match (op, found) {
                    (BinOp::NotMatch, found) => Value::Bool(!truthy(&found)),
                    (_, Value::Match(m)) => Int(m.char_start as i64),
                    (_, _) => Value::Nil,
                }
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ord = match (&a, &b) {
                    (Int(x), Int(y)) => x.cmp(y),
                    (Str(x), Str(y)) => x.as_bytes().cmp(y.as_bytes()),
                    (Int(_) | Str(_), other) => {
                        return fail(
                            pos,
                            format!("comparison of {} with {} failed", class(&a), inspect(other)),
                        );
                    }
                    _ => return fail(pos, format!("undefined method `{sym}' for {}", class(&a))),
                };
                Value::Bool(match op {
                    BinOp::Lt => ord.is_lt(),
                    BinOp::Le => ord.is_le(),
                    BinOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
            BinOp::Add => match (&a, &b) {
                (Int(x), Int(y)) => Int(x.checked_add(*y).ok_or_else(|| overflow(pos))?),
                (Str(x), Str(y)) => {
                    self.charge(pos, (x.len() + y.len()) as u64 / 4)?;
                    Str(format!("{x}{y}").into())
                }
                (Array(x), Array(y)) => {
                    self.charge(pos, (x.len() + y.len()) as u64)?;
                    self.array(x.iter().chain(y.iter()).cloned().collect(), pos)?
                }
                (Int(_), other) => {
                    return fail(
                        pos,
                        format!("{} can't be coerced into Integer", class(other)),
                    );
                }
                (Str(_) | Array(_), other) => {
                    return fail(
                        pos,
                        format!(
                            "no implicit conversion of {} into {}",
                            class(other),
                            class(&a)
                        ),
                    );
                }
                _ => return fail(pos, format!("undefined method `+' for {}", class(&a))),
            },
            BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => match (&a, &b) {
                (Int(x), Int(y)) => {
                    let (x, y) = (*x, *y);
                    if matches!(op, BinOp::Div | BinOp::Mod) && y == 0 {
                        return fail(pos, "divided by 0");
                    }
                    let n = match op {
                        BinOp::Sub => x.checked_sub(y),
                        BinOp::Mul => x.checked_mul(y),
                        // Ruby rounds quotients down and gives remainders
                        // the divisor's sign.
                        BinOp::Div => x.checked_div(y).map(|q| {
                            if x % y != 0 && (x < 0) != (y < 0) {
                                q - 1
                            } else {
                                q
                            }
                        }),
                        _ => x.checked_rem(y).map(|r| {
                            if r != 0 && (r < 0) != (y < 0) {
                                r + y
                            } else {
                                r
                            }
                        }),
                    };
                    Int(n.ok_or_else(|| overflow(pos))?)
                }
                (Int(_), other) => {
                    return fail(
                        pos,
                        format!("{} can't be coerced into Integer", class(other)),
                    );
                }
                _ => return fail(pos, format!("undefined method `{sym}' for {}", class(&a))),
            },
        })
    }

    fn call(&mut self, call: &Call, pos: Pos) -> R {
        let recv = self.eval(&call.recv)?;
        let mut args = Vec::with_capacity(call.args.len());
        for a in &call.args {
            args.push(self.eval(a)?);
        }
        self.invoke(call.method, recv, args, call.block.as_ref(), pos)
    }

    fn yield_block(&mut self, block: &Block, arg: Value, pos: Pos) -> R {
        match block {
            Block::Sym(method) => self.invoke(*method, arg, Vec::new(), None, pos),
            Block::Code {
                params,
                locals,
                body,
            } => {
                for slot in locals {
                    self.slots[*slot] = Value::Nil;
                }
                // A block with several parameters spreads an array argument
                // over them, as `|a, b|` does in Ruby.
                match (params.as_slice(), &arg) {
                    ([], _) => {}
                    ([one], _) => self.slots[*one] = arg,
                    (many, Value::Array(items)) => {
                        for (k, slot) in many.iter().enumerate() {
                            self.slots[*slot] = items.get(k).cloned().unwrap_or(Value::Nil);
                        }
                    }
                    ([first, rest @ ..], _) => {
                        self.slots[*first] = arg;
                        for slot in rest {
                            self.slots[*slot] = Value::Nil;
                        }
                    }
                }
                self.body(body)
            }
        }
    }

    fn invoke(
        &mut self,
        method: Method,
        recv: Value,
        args: Vec<Value>,
        block: Option<&Block>,
        pos: Pos,
    ) -> R {
        use Value::{Array, Bool, Int, Nil, Str};
        let name = method.name();
        let no_method = |recv: &Value| {
            fail(
                pos,
                format!("undefined method `{name}' for {}", class(recv)),
            )
        };
        let arg = args.first();
        Ok(match (method, &recv) {
            (Method::NilP, _) => Bool(matches!(recv, Nil)),
            (Method::ToS, _) => Str(to_s(&recv).into()),
            (Method::Freeze, _) => recv,
            (Method::Match | Method::MatchP, _) => {
                let set_last = method == Method::Match;
                let (re, text) = match (&recv, arg) {
                    (Str(s), Some(Value::Regex(r))) => (r.clone(), Arc::clone(s)),
                    // String#match(str) makes a Regexp of the string.
                    (Str(s), Some(Str(p))) => {
                        (self.compile(p, Flags::default(), pos)?, Arc::clone(s))
                    }
                    (Value::Regex(r), Some(Str(s) | Value::Sym(s))) => (r.clone(), Arc::clone(s)),
                    (Value::Regex(_), Some(Nil)) => {
                        if set_last {
                            self.last_match = Nil;
                        }
                        return Ok(if set_last { Nil } else { Bool(false) });
                    }
                    (Str(_) | Value::Regex(_), Some(other)) => {
                        return fail(
                            pos,
                            format!("wrong argument type {} (expected Regexp)", class(other)),
                        );
                    }
                    _ => return no_method(&recv),
                };
                let found = self.search(&re, &text, pos, set_last)?;
                if set_last {
                    found
                } else {
                    Bool(truthy(&found))
                }
            }
            (Method::Scan, Str(s)) => match arg {
                Some(Value::Regex(r)) => self.scan(r, s, pos)?,
                Some(Str(needle)) if !needle.is_empty() => {
                    self.charge(pos, 1 + s.len() as u64 / 128)?;
                    let hits: Vec<Value> = s
                        .matches(&**needle)
                        .map(|_| Str(Arc::clone(needle)))
                        .collect();
                    self.charge(pos, hits.len() as u64)?;
                    self.array(hits, pos)?
                }
                Some(other) => {
                    return fail(
                        pos,
                        format!("wrong argument type {} (expected Regexp)", class(other)),
                    );
                }
                None => return no_method(&recv),
            },
            (Method::IncludeP, Str(s)) => match arg {
                Some(Str(needle)) => {
                    self.charge(pos, 1 + s.len() as u64 / 128)?;
                    Bool(s.contains(&**needle))
                }
                Some(other) => {
                    return fail(
                        pos,
                        format!("no implicit conversion of {} into String", class(other)),
                    );
                }
                None => return no_method(&recv),
            },
            (Method::IncludeP, Array(items)) => {
                self.charge(pos, items.len() as u64)?;
                let needle = arg.cloned().unwrap_or(Nil);
                Bool(items.iter().any(|v| equal(v, &needle)))
            }
            (Method::StartWithP | Method::EndWithP, Str(s)) => match arg {
                Some(Str(x)) => Bool(if method == Method::StartWithP {
                    s.starts_with(&**x)
                } else {
                    s.ends_with(&**x)
                }),
                Some(other) => {
                    return fail(
                        pos,
                        format!(
                            "`{name}' with a {} argument is not supported (give a String)",
                            class(other)
                        ),
                    );
                }
                None => return no_method(&recv),
            },
            (Method::EmptyP, Str(s)) => Bool(s.is_empty()),
            (Method::EmptyP, Array(items)) => Bool(items.is_empty()),
            (Method::ZeroP, Int(n)) => Bool(*n == 0),
            (Method::PositiveP, Int(n)) => Bool(*n > 0),
            (Method::NegativeP, Int(n)) => Bool(*n < 0),
            (Method::Size | Method::Length, Str(s)) => Int(s.chars().count() as i64),
            (Method::Size | Method::Length, Array(items)) => Int(items.len() as i64),
            (Method::Size | Method::Length, Value::Match(m)) => Int(m.groups.len() as i64),
            (Method::Count, Array(items)) => match block {
                None => Int(items.len() as i64),
                Some(b) => {
                    let mut n = 0;
                    for item in items.iter() {
                        if truthy(&self.yield_block(b, item.clone(), pos)?) {
                            n += 1;
                        }
                    }
                    Int(n)
                }
            },
            (Method::ToI, Int(n)) => Int(*n),
            (Method::ToI, Nil) => Int(0),
            (Method::ToI, Str(s)) => Int(string_to_i(s).ok_or_else(|| overflow(pos))?),
            (Method::ToA, Array(_)) => recv,
            (Method::ToA, Nil) => self.array(Vec::new(), pos)?,
            (Method::ToA, Value::Match(m)) => {
                self.array(m.groups.iter().map(opt_str).collect(), pos)?
            }
            (Method::Captures, Value::Match(m)) => {
                self.array(m.groups.iter().skip(1).map(opt_str).collect(), pos)?
            }
            (Method::Strip, Str(s)) => {
                Str(s.trim_matches(|c| " \t\n\x0B\x0C\r\0".contains(c)).into())
            }
            (Method::Chomp, Str(s)) => {
                let t = s
                    .strip_suffix("\r\n")
                    .or_else(|| s.strip_suffix('\n'))
                    .or_else(|| s.strip_suffix('\r'));
                Str(t.unwrap_or(s).into())
            }
            (Method::Downcase, Str(s)) => Str(s.to_lowercase().into()),
            (Method::Upcase, Str(s)) => Str(s.to_uppercase().into()),
            (Method::Lines, Str(s)) => {
                self.charge(pos, s.len() as u64 / 4)?;
                self.array(
                    s.split_inclusive('\n').map(|l| Str(l.into())).collect(),
                    pos,
                )?
            }
            (Method::Map | Method::Collect, Array(items)) => {
                let b = block.expect("the parser requires a block");
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    out.push(self.yield_block(b, item.clone(), pos)?);
                }
                self.array(out, pos)?
            }
            (Method::Select | Method::Filter | Method::Reject, Array(items)) => {
                let b = block.expect("the parser requires a block");
                let keep = method != Method::Reject;
                let mut out = Vec::new();
                for item in items.iter() {
                    if truthy(&self.yield_block(b, item.clone(), pos)?) == keep {
                        out.push(item.clone());
                    }
                }
                self.array(out, pos)?
            }
            (Method::Find | Method::Detect, Array(items)) => {
                let b = block.expect("the parser requires a block");
                for item in items.iter() {
                    if truthy(&self.yield_block(b, item.clone(), pos)?) {
                        return Ok(item.clone());
                    }
                }
                Nil
            }
            (Method::Each, Array(items)) => {
                let b = block.expect("the parser requires a block");
                for item in items.iter() {
                    self.yield_block(b, item.clone(), pos)?;
                }
                recv
            }
            (Method::AnyP | Method::AllP | Method::NoneP, Array(items)) => {
                let mut any = false;
                let mut all = true;
                for item in items.iter() {
                    let t = match block {
                        Some(b) => truthy(&self.yield_block(b, item.clone(), pos)?),
                        None => {
                            self.charge(pos, 1)?;
                            truthy(item)
                        }
                    };
                    any |= t;
                    all &= t;
                    // Ruby stops at the first element that decides.
                    if (method == Method::AllP && !t) || (method != Method::AllP && t) {
                        break;
                    }
                }
                Bool(match method {
                    Method::AnyP => any,
                    Method::AllP => all,
                    _ => !any,
                })
            }
            (Method::Max | Method::Min, Array(items)) => {
                self.charge(pos, items.len() as u64)?;
                let mut best: Option<&Value> = None;
                for item in items.iter() {
                    let Some(b) = best else {
                        best = Some(item);
                        continue;
                    };
                    let ord = match (item, b) {
                        (Int(x), Int(y)) => x.cmp(y),
                        (Str(x), Str(y)) => x.as_bytes().cmp(y.as_bytes()),
                        _ => {
                            return fail(
                                pos,
                                format!("comparison of {} with {} failed", class(item), inspect(b)),
                            );
                        }
                    };
                    if (method == Method::Max && ord.is_gt())
                        || (method == Method::Min && ord.is_lt())
                    {
                        best = Some(item);
                    }
                }
                best.cloned().unwrap_or(Nil)
            }
            (Method::Sum, Array(items)) => {
                self.charge(pos, items.len() as u64)?;
                let mut total: i64 = 0;
                for item in items.iter() {
                    match item {
                        Int(n) => total = total.checked_add(*n).ok_or_else(|| overflow(pos))?,
                        other => {
                            return fail(
                                pos,
                                format!("{} can't be coerced into Integer", class(other)),
                            );
                        }
                    }
                }
                Int(total)
            }
            (Method::First, Array(items)) => items.first().cloned().unwrap_or(Nil),
            (Method::Last, Array(items)) => items.last().cloned().unwrap_or(Nil),
            (Method::Flatten, Array(items)) => {
                let mut out = Vec::new();
                flatten(items, &mut out);
                self.charge(pos, out.len() as u64)?;
                self.array(out, pos)?
            }
            (Method::Compact, Array(items)) => self.array(
                items
                    .iter()
                    .filter(|v| !matches!(v, Nil))
                    .cloned()
                    .collect(),
                pos,
            )?,
            (Method::Uniq, Array(items)) => {
                self.charge(pos, items.len() as u64)?;
                let mut seen = HashSet::new();
                self.array(
                    items
                        .iter()
                        .filter(|v| seen.insert(inspect(v)))
                        .cloned()
                        .collect(),
                    pos,
                )?
            }
            (Method::Join, Array(items)) => {
                let sep = match arg {
                    None | Some(Nil) => String::new(),
                    Some(Str(s)) => s.to_string(),
                    Some(other) => {
                        return fail(
                            pos,
                            format!("no implicit conversion of {} into String", class(other)),
                        );
                    }
                };
                let joined = join(items, &sep);
                self.charge(pos, joined.len() as u64 / 4)?;
                Str(joined.into())
            }
            _ => return no_method(&recv),
        })
    }

    fn scan(&mut self, re: &RubyRegex, s: &str, pos: Pos) -> R {
        self.charge(pos, 1 + s.len() as u64 / 128)?;
        let grouped = re.regex.captures_len() > 1;
        let mut out = Vec::new();
        let mut last = None;
        for caps in re.regex.captures_iter(s) {
            self.charge(pos, 1)?;
            out.push(if grouped {
                self.array(
                    caps.iter()
                        .skip(1)
                        .map(|g| g.map_or(Value::Nil, |m| Value::Str(m.as_str().into())))
                        .collect(),
                    pos,
                )?
            } else {
                Value::Str(caps.get(0).map_or("", |m| m.as_str()).into())
            });
            last = Some(caps);
        }
        // Like Ruby, $~ is left at the last match.
        self.last_match = match last {
            Some(caps) => match_data(re, s, &caps),
            None => Value::Nil,
        };
        self.array(out, pos)
    }

    fn index(&mut self, recv: Value, args: Vec<Value>, pos: Pos) -> R {
        use Value::{Array, Int, Nil, Str};
        Ok(match (&recv, args.as_slice()) {
            (Array(items), [Int(i)]) => at(items.len(), *i).map_or(Nil, |k| items[k].clone()),
            (Value::Match(m), [Int(i)]) => at(m.groups.len(), *i).map_or(Nil, |k| group(m, k)),
            (Value::Match(m), [Str(name) | Value::Sym(name)]) => {
                match m.names.iter().position(|n| n.as_deref() == Some(&**name)) {
                    Some(k) => group(m, k),
                    None => return fail(pos, format!("undefined group name reference: {name}")),
                }
            }
            (Str(s), [Value::Regex(r)]) => match self.search(r, s, pos, true)? {
                Value::Match(m) => group(&m, 0),
                _ => Nil,
            },
            (Str(s), [Value::Regex(r), Int(g)]) => match self.search(r, s, pos, true)? {
                Value::Match(m) => at(m.groups.len(), *g).map_or(Nil, |k| group(&m, k)),
                _ => Nil,
            },
            (Str(s), [Str(needle)]) => {
                if s.contains(&**needle) {
                    Str(Arc::clone(needle))
                } else {
                    Nil
                }
            }
            (Str(s), [Int(i)]) => {
                let n = s.chars().count();
                at(n, *i)
                    .and_then(|k| s.chars().nth(k))
                    .map_or(Nil, |c| Str(c.to_string().into()))
            }
            (Str(s), [Int(start), Int(len)]) => {
                let n = s.chars().count();
                let start = if *start < 0 { start + n as i64 } else { *start };
                if start < 0 || start > n as i64 || *len < 0 {
                    Nil
                } else {
                    Str(s
                        .chars()
                        .skip(start as usize)
                        .take(*len as usize)
                        .collect::<String>()
                        .into())
                }
            }
            (Nil, _) => return fail(pos, "undefined method `[]' for nil"),
            _ => {
                let kinds: Vec<&str> = args.iter().map(class).collect();
                return fail(
                    pos,
                    format!(
                        "`[]' on {} with ({}) is not supported",
                        class(&recv),
                        kinds.join(", ")
                    ),
                );
            }
        })
    }
}

/// Ruby's index rule: negative counts from the end.
fn at(len: usize, i: i64) -> Option<usize> {
    let k = if i < 0 { i + len as i64 } else { i };
    (0..len as i64).contains(&k).then_some(k as usize)
}

fn group(m: &MatchData, k: usize) -> Value {
    m.groups.get(k).map_or(Value::Nil, opt_str)
}

fn opt_str(g: &Option<Arc<str>>) -> Value {
    g.as_ref().map_or(Value::Nil, |s| Value::Str(Arc::clone(s)))
}

fn flatten(items: &[Value], out: &mut Vec<Value>) {
    for item in items {
        match item {
            Value::Array(inner) => flatten(inner, out),
            other => out.push(other.clone()),
        }
    }
}

fn join(items: &[Value], sep: &str) -> String {
    items
        .iter()
        .map(|v| match v {
            Value::Array(inner) => join(inner, sep),
            other => to_s(other),
        })
        .collect::<Vec<_>>()
        .join(sep)
}

fn overflow(pos: Pos) -> Flow {
    Flow::Fail(Failure {
        pos,
        message: "integer too large (kata-lights uses 64-bit integers)".into(),
    })
}

/// Ruby's `String#to_i`: leading blanks, a sign, digits (with single
/// underscores between them); anything else ends the number, and no digits
/// at all is 0. `None` when it does not fit in 64 bits.
fn string_to_i(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0B', '\x0C', '\r']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    let bytes = t.as_bytes();
    let mut k = 0;
    while k < bytes.len() {
        let b = bytes[k];
        if b.is_ascii_digit() {
            let d = i64::from(b - b'0');
            n = n.checked_mul(10)?;
            n = if neg {
                n.checked_sub(d)?
            } else {
                n.checked_add(d)?
            };
        } else if b == b'_'
            && k > 0
            && bytes[k - 1].is_ascii_digit()
            && bytes.get(k + 1).is_some_and(u8::is_ascii_digit)
        {
        } else {
            break;
        }
        k += 1;
    }
    Some(n)
}

pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    use Value::*;
    match (a, b) {
        (Nil, Nil) => true,
        (Bool(x), Bool(y)) => x == y,
        (Int(x), Int(y)) => x == y,
        (Str(x), Str(y)) | (Sym(x), Sym(y)) => x == y,
        (Array(x), Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equal(p, q))
        }
        (Regex(x), Regex(y)) => x.source == y.source && x.flags == y.flags,
        (Match(x), Match(y)) => Rc::ptr_eq(x, y) || (x.groups == y.groups && x.start == y.start),
        _ => false,
    }
}

fn class(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
        Value::Int(_) => "Integer",
        Value::Str(_) => "String",
        Value::Sym(_) => "Symbol",
        Value::Regex(_) => "Regexp",
        Value::Match(_) => "MatchData",
        Value::Array(_) => "Array",
    }
}

/// Ruby's `to_s`.
pub(crate) fn to_s(v: &Value) -> String {
    match v {
        Value::Nil => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Str(s) | Value::Sym(s) => s.to_string(),
        Value::Regex(r) => r.to_ruby_s(),
        Value::Match(m) => m
            .groups
            .first()
            .cloned()
            .flatten()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        Value::Array(_) => inspect(v),
    }
}

/// Ruby's `inspect`, near enough for messages.
pub(crate) fn inspect(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Str(s) => format!("{:?}", &**s),
        Value::Sym(s) => format!(":{s}"),
        Value::Regex(r) => r.inspect(),
        Value::Match(m) => format!("#<MatchData {:?}>", to_s(&Value::Match(Rc::clone(m)))),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inspect).collect::<Vec<_>>().join(", ")
        ),
        other => to_s(other),
    }
}

/// Ruby's `MatchData` for `caps`, a match of `re` in `s`.
fn match_data(re: &RubyRegex, s: &str, caps: &regex::Captures<'_>) -> Value {
    let start = caps.get(0).map_or(0, |m| m.start());
    Value::Match(Rc::new(MatchData {
        groups: caps
            .iter()
            .map(|g| g.map(|m| Arc::from(m.as_str())))
            .collect(),
        names: re
            .regex
            .capture_names()
            .map(|n| n.map(String::from))
            .collect(),
        start,
        char_start: s[..start].chars().count(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_i_follows_ruby() {
        assert_eq!(string_to_i("  42abc"), Some(42));
        assert_eq!(string_to_i("-1_000"), Some(-1000));
        assert_eq!(string_to_i("1__0"), Some(1));
        assert_eq!(string_to_i("abc"), Some(0));
        assert_eq!(string_to_i("+7"), Some(7));
        assert_eq!(string_to_i("99999999999999999999"), None);
    }
}
