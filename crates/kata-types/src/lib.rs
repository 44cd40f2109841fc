//! The vocabulary shared by every kata-runner crate, the WASI guest included.
//!
//! Each type here makes a wrong state unrepresentable:
//!
//! * [`KataId`] cannot hold `/`, `..` or anything but a cyber-dojo style id, so
//!   it can be joined to a katas root without further checks.
//! * [`SandboxPath`] is a relative, normalised, `/`-separated path that cannot
//!   leave the directory it is joined to.
//! * [`FileContent`] is text cut to a size, and says whether it was cut.
//!
//! This crate does no I/O and compiles for `wasm32-wasip1`.
#![deny(missing_docs)]

mod content;
mod kata_id;
mod outcome;
mod sandbox_path;

pub use content::{FileContent, Files, PathClash, TEXT_FILE_CAP, check_no_clashes, is_text};
pub use kata_id::{KataId, KataIdError};
pub use outcome::{Judge, Outcome};
pub use sandbox_path::{MAX_DEPTH, MAX_NAME_BYTES, MAX_PATH_BYTES, PathError, SandboxPath};
