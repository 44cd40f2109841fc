//! The run flow, top to bottom, in one place: [`Runner::run`].
//!
//! A run is: a strategy's [`Plan`] → the guest prepares the sandbox (fresh
//! tar, or the kata's saved state synced with the request) → the executor
//! runs `cyber-dojo.sh` in a container → the guest checks what came back and
//! works out created / changed / deleted → the sandbox is kept if the plan
//! says so → a [`Judge`] gives the colour → the event goes into the kata's
//! history.
//!
//! This crate decides the order of things and nothing else: files are the
//! guest's (`kata-wasi`), containers the executor's (`kata-docker`), history
//! the store's (`kata-store`).
#![deny(missing_docs)]

mod judge;
mod plan;
mod run;

pub use judge::{ByStatus, Judge};
pub use plan::{Keep, Plan, RunnerKind, Start};
pub use run::{RunError, RunReport, RunRequest, Runner, Timings};
