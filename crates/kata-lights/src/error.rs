use std::fmt;

/// A place in a lambda's source: 1-based line, and 1-based column counted in
/// characters (not bytes), as an editor shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why rules could not be built. Every variant says where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The Ruby is malformed, or malformed for the subset (an `if` with no
    /// `end`, a stray `)`).
    #[error("{pos}: syntax error: {message}")]
    Syntax {
        /// Where.
        pos: Pos,
        /// What was wrong.
        message: String,
    },
    /// Well-formed Ruby that this crate deliberately does not understand:
    /// `system(...)`, backticks, `eval`, `def`, `File.read`, a `while` loop.
    #[error("{pos}: unsupported: {construct}")]
    Unsupported {
        /// Where.
        pos: Pos,
        /// The construct, in words (`` call to `system` ``).
        construct: String,
    },
    /// A regex that cannot be translated to Rust's `regex` syntax (a
    /// look-ahead, a back-reference) or that is too big.
    #[error("{pos}: regex /{pattern}/: {message}")]
    Regex {
        /// Where the regex starts.
        pos: Pos,
        /// The Ruby pattern, as written.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// Declarative rules that do not fit the schema.
    #[error("{}{message}", rule.map(|i| format!("rule {i}: ")).unwrap_or_default())]
    Json {
        /// 0-based index of the offending rule, when one is to blame.
        rule: Option<usize>,
        /// What was wrong.
        message: String,
    },
    /// The text is too long to be a traffic-light rule.
    #[error("rules are {len} bytes; the limit is {limit}")]
    TooLong {
        /// The text's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

impl ParseError {
    /// Where in the Ruby source the error is, if it came from Ruby.
    pub fn pos(&self) -> Option<Pos> {
        match self {
            Self::Syntax { pos, .. } | Self::Unsupported { pos, .. } | Self::Regex { pos, .. } => {
                Some(*pos)
            }
            Self::Json { .. } | Self::TooLong { .. } => None,
        }
    }

    pub(crate) fn syntax(pos: Pos, message: impl Into<String>) -> Self {
        Self::Syntax {
            pos,
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(pos: Pos, construct: impl Into<String>) -> Self {
        Self::Unsupported {
            pos,
            construct: construct.into(),
        }
    }
}
