//! Runs `bash ./cyber-dojo.sh` in a locked-down, throw-away Docker container,
//! through the Engine API (bollard; `DOCKER_HOST` honoured). This crate is
//! the only one in kata-runner that talks to Docker.
//!
//! * [`Executor`] connects to the engine; [`Executor::run`] takes a
//!   [`RunJob`] (image, [`KataId`](kata_types::KataId), [`Sandbox`], time
//!   budget) and returns a [`RunResult`]: stdout, stderr, status, whether it
//!   timed out or hit the OOM killer, and a tar of `/sandbox` afterwards.
//! * [`ExecutorConfig`] holds the container settings: [`Limits`] (by default
//!   cyber-dojo's, plus `cap-drop ALL` and a read-only root) and the output
//!   [`Caps`].
//! * [`ExecError`] says why a run produced no result: missing image, no bash,
//!   a broken wrapper, the engine.
//!
//! How a run goes: the container's entrypoint is a small POSIX `sh` wrapper.
//! The sandbox arrives as a tar on the container's stdin (attached before
//! start) and is unpacked into a tmpfs `/sandbox`; `cyber-dojo.sh` runs with
//! its stdout and stderr in files; then the wrapper writes one tar on stdout
//! with the status, the (cut) outputs, and `/sandbox`. The host caps that
//! stream while it arrives. The archive API is not used: writes into a tmpfs
//! through it are silently lost, and reads do not see what the run wrote
//! into one.
//!
//! Architecture invariants:
//! * Every container carries [`LABEL_INSTANCE`] and is removed on every path
//!   out of `run` (a drop guard covers dropped futures and panics);
//!   [`Executor::reap`] removes what a dead server left.
//! * Files never pass through a host path the container can write, except a
//!   [`Sandbox::BindMount`], which mounts exactly one given directory.
//! * Memory per run is bounded by [`Caps`], whatever the container sends.
//!
//! ```no_run
//! # async fn demo(sandbox_tar: Vec<u8>) -> Result<(), kata_docker::ExecError> {
//! use kata_docker::{Executor, ExecutorConfig, RunJob, Sandbox};
//!
//! let executor = Executor::connect(ExecutorConfig::default()).await?;
//! executor.reap().await?;
//! let result = executor
//!     .run(RunJob {
//!         image: "kata-runner/gcc".into(),
//!         kata_id: "34de2W".parse().unwrap(),
//!         sandbox: Sandbox::Tar(sandbox_tar),
//!         max_seconds: 10,
//!         limits: None,
//!     })
//!     .await?;
//! println!("status {}, timed out: {}", result.status, result.timed_out);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod config;
mod data;
mod error;
mod executor;
mod guard;
mod harvest;
mod image;
mod image_file;
mod job;
mod wrapper;

pub use config::{Caps, ExecutorConfig, Limits, Ulimit};
pub use data::{DATA_MOUNT, DataContainer, LABEL_DATA, Write, Written};
pub use error::ExecError;
pub use executor::{Executor, LABEL_INSTANCE, LABEL_KATA};
pub use image::normalize_image;
pub use job::{Captured, Durations, PullState, RunJob, RunResult, Sandbox};
