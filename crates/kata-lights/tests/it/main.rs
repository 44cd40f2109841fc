//! kata-lights integration tests: one binary, a module per topic.

mod constructs;
mod cyber_dojo;
mod fuzz;
mod json;
mod runtime;
mod support;
mod survey;
mod unsupported;
