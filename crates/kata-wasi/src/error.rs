use std::path::PathBuf;

use kata_abi::{FrameError, GuestFailure};

/// Why a call of the guest failed as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuestError {
    /// The engine could not be set up or the module compiled.
    #[error("setting up the guest: {0}")]
    Setup(String),
    /// The directory to preopen could not be opened.
    #[error("opening {path} for the guest: {message}")]
    Preopen {
        /// The host directory.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The guest hit its memory cap.
    #[error("the guest ran out of memory (cap {cap_bytes} bytes)")]
    OutOfMemory {
        /// The cap.
        cap_bytes: usize,
    },
    /// The guest ran past its time cap.
    #[error("the guest ran out of time (cap {cap_ms} ms)")]
    OutOfTime {
        /// The cap.
        cap_ms: u128,
    },
    /// The guest's output was over its cap.
    #[error("the guest's output is over its cap of {cap_bytes} bytes")]
    OutputTooLarge {
        /// The cap.
        cap_bytes: usize,
    },
    /// The guest trapped (a bug, or every instance slot is busy).
    #[error("the guest trapped: {message}; stderr: {stderr}")]
    Trap {
        /// wasmtime's message.
        message: String,
        /// What the guest said on stderr.
        stderr: String,
    },
    /// The guest's output could not be read as a response.
    #[error("the guest's answer is malformed: {0}")]
    Protocol(#[from] FrameError),
    /// The guest ran and reported that it could not do the job.
    #[error(transparent)]
    Failed(#[from] GuestFailure),
}
