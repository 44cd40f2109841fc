//! cyber-dojo's Ruby `rag_lambda`, read by a parser of its own: a lexer, a
//! recursive-descent parser to a checked AST, and a small evaluator over
//! that AST. No Ruby is ever run.

mod ast;
mod eval;
mod lexer;
mod parser;
pub(crate) mod regex;

pub(crate) use ast::Program;
pub(crate) use eval::{inspect, run, to_s};
pub(crate) use parser::parse;
