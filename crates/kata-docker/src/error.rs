use std::path::PathBuf;

/// Why a run (or another executor call) did not produce a [`RunResult`](crate::RunResult).
///
/// The variants say whose fault it is, so a server can map them: the image
/// (missing, no bash, broken wrapper) is cyber-dojo's `pulling` or `faulty`;
/// the engine or the configuration is an internal error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The image is not on the engine. `pulling` says whether a pull was
    /// started (or was already running) in the background.
    #[error("image {image} is not on the Docker engine{}", if *.pulling { " (pulling it)" } else { "" })]
    ImageNotFound {
        /// The image, normalised (`:latest` added when no tag was given).
        image: String,
        /// Whether a background pull is under way.
        pulling: bool,
    },

    /// The image has no `bash`, so `cyber-dojo.sh` cannot run.
    #[error("image {image} has no bash")]
    NoBash {
        /// The image, normalised.
        image: String,
    },

    /// The wrapper that unpacks the sandbox and harvests the results failed
    /// inside the container (no `tar`, the sandbox could not be unpacked, the
    /// wrapper was killed...).
    #[error("the run wrapper failed in image {image} with status {status}: {message}")]
    Wrapper {
        /// The image, normalised.
        image: String,
        /// The container's exit status.
        status: i64,
        /// The wrapper's diagnostics (its stderr), cut short.
        message: String,
    },

    /// The engine could not start the container's process: the image has no
    /// `/bin/sh` to run the wrapper with, or its configuration is unusable.
    #[error("cannot start a container of image {image}: {message}")]
    CannotStart {
        /// The image, normalised.
        image: String,
        /// The engine's explanation.
        message: String,
    },

    /// The container ended normally but what it sent back is not the
    /// expected tar stream (e.g. the script deleted or replaced the wrapper's
    /// result files).
    #[error("the results of the run in image {image} are malformed: {reason}")]
    Harvest {
        /// The image, normalised.
        image: String,
        /// What was wrong.
        reason: String,
    },

    /// The image name is not one Docker accepts.
    #[error("invalid image name {image:?}")]
    InvalidImage {
        /// The offending name, cut to 256 characters.
        image: String,
    },

    /// A bind-mounted sandbox directory is not an existing, absolute,
    /// symlink-free directory.
    #[error("sandbox directory {path:?} cannot be bind-mounted: {reason}")]
    BindMount {
        /// The path given.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },

    /// The configuration is inconsistent, or asks for a limit the engine
    /// cannot enforce (e.g. memory limits on a kernel without them).
    #[error("configuration: {0}")]
    Config(String),

    /// An access to the katas volume through its data container failed.
    #[error("data container {container}: {message}")]
    DataContainer {
        /// The data container's name.
        container: String,
        /// What failed, with the script's diagnostics.
        message: String,
    },

    /// The Docker engine could not be reached or refused a request.
    #[error("Docker engine, {context}: {source}")]
    Engine {
        /// What the executor was doing.
        context: &'static str,
        /// bollard's error.
        #[source]
        source: bollard::errors::Error,
    },
}

impl ExecError {
    pub(crate) fn engine(context: &'static str) -> impl FnOnce(bollard::errors::Error) -> Self {
        move |source| Self::Engine { context, source }
    }
}
