//! The checked program a lambda becomes. Every method named here is one the
//! evaluator implements; the parser refuses all others.

use std::sync::Arc;

use super::regex::{Flags, RubyRegex};
use crate::error::Pos;

/// A parsed lambda: its body, and how many local slots it needs
/// (parameters first: stdout, stderr, status).
#[derive(Debug, Clone)]
pub(crate) struct Program {
    pub body: Vec<Expr>,
    pub slots: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub kind: Kind,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Nil,
    Bool(bool),
    Int(i64),
    Str(Arc<str>),
    Interp(Vec<Piece>),
    Sym(Arc<str>),
    Regex(RubyRegex),
    /// A regex literal with `#{...}`: compiled when evaluated.
    DynRegex(Vec<Piece>, Flags),
    Array(Vec<Expr>),
    Var(usize),
    /// `$~`.
    LastMatch,
    /// `$1`..`$9`.
    LastGroup(usize),
    Assign(usize, Box<Expr>),
    /// `a, b = expr`.
    MultiAssign(Vec<usize>, Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    /// `if`, `unless`, `elsif`, the modifiers and `?:` all become this.
    If(Box<Expr>, Vec<Expr>, Vec<Expr>),
    Return(Option<Box<Expr>>),
    Seq(Vec<Expr>),
    Call(Box<Call>),
    /// `x[i]`, `x[re, group]`.
    Index(Box<Expr>, Vec<Expr>),
    /// `Regexp.new(expr)`, when `expr` is not a plain literal.
    RegexpNew(Box<Expr>),
    /// `Regexp.escape(expr)`.
    RegexpEscape(Box<Expr>),
}

#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Lit(Arc<str>),
    Code(Vec<Expr>),
}

#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub recv: Expr,
    pub method: Method,
    pub args: Vec<Expr>,
    pub block: Option<Block>,
}

#[derive(Debug, Clone)]
pub(crate) enum Block {
    /// `{ |a, b| ... }`: parameter slots, slots first assigned inside (reset
    /// to nil on each call, as Ruby's block-locals are), and the body.
    Code {
        params: Vec<usize>,
        locals: Vec<usize>,
        body: Vec<Expr>,
    },
    /// `(&:to_i)`.
    Sym(Method),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Eq,
    Ne,
    CaseEq,
    Match,
    NotMatch,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::CaseEq => "===",
            Self::Match => "=~",
            Self::NotMatch => "!~",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
            Self::Mod => "%",
        }
    }
}

/// Whether a method takes a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockUse {
    No,
    Optional,
    Required,
}

macro_rules! methods {
    ($($variant:ident $name:literal $min:literal..=$max:literal $block:ident,)*) => {
        /// The supported methods, by Ruby name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Method { $($variant,)* }

        impl Method {
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$variant),)* _ => None }
            }
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }
            /// Fewest and most arguments.
            pub fn arity(self) -> (usize, usize) {
                match self { $(Self::$variant => ($min, $max),)* }
            }
            pub fn block(self) -> BlockUse {
                match self { $(Self::$variant => BlockUse::$block,)* }
            }
        }
    };
}

methods! {
    Match "match" 1..=1 No,
    MatchP "match?" 1..=1 No,
    Scan "scan" 1..=1 No,
    IncludeP "include?" 1..=1 No,
    StartWithP "start_with?" 1..=1 No,
    EndWithP "end_with?" 1..=1 No,
    EmptyP "empty?" 0..=0 No,
    NilP "nil?" 0..=0 No,
    ZeroP "zero?" 0..=0 No,
    PositiveP "positive?" 0..=0 No,
    NegativeP "negative?" 0..=0 No,
    Size "size" 0..=0 No,
    Length "length" 0..=0 No,
    Count "count" 0..=0 Optional,
    ToI "to_i" 0..=0 No,
    ToS "to_s" 0..=0 No,
    ToA "to_a" 0..=0 No,
    Strip "strip" 0..=0 No,
    Chomp "chomp" 0..=0 No,
    Downcase "downcase" 0..=0 No,
    Upcase "upcase" 0..=0 No,
    Lines "lines" 0..=0 No,
    Freeze "freeze" 0..=0 No,
    Captures "captures" 0..=0 No,
    Map "map" 0..=0 Required,
    Collect "collect" 0..=0 Required,
    Select "select" 0..=0 Required,
    Filter "filter" 0..=0 Required,
    Reject "reject" 0..=0 Required,
    Find "find" 0..=0 Required,
    Detect "detect" 0..=0 Required,
    Each "each" 0..=0 Required,
    AnyP "any?" 0..=0 Optional,
    AllP "all?" 0..=0 Optional,
    NoneP "none?" 0..=0 Optional,
    Max "max" 0..=0 No,
    Min "min" 0..=0 No,
    Sum "sum" 0..=0 No,
    First "first" 0..=0 No,
    Last "last" 0..=0 No,
    Flatten "flatten" 0..=0 No,
    Compact "compact" 0..=0 No,
    Uniq "uniq" 0..=0 No,
    Join "join" 0..=1 No,
}
