//! kata-store against real directories and real git repositories; the git
//! CLI checks that what gix writes is an ordinary repository.

mod common;
mod concurrency;
mod crash;
mod git_cli;
mod layout;
mod roundtrip;
