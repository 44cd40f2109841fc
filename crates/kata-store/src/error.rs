use std::path::PathBuf;

use kata_types::{KataId, SandboxPath};

/// Why a store operation failed. Every variant names the kata or the path it
/// failed on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file-system call failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`creating directory`, …).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A git operation on a kata's history failed.
    #[error("kata {kata}: {action} in {}: {source:#}", path.display())]
    Git {
        /// The kata.
        kata: KataId,
        /// What was being done (`writing objects`, …).
        action: &'static str,
        /// The kata's history repository.
        path: PathBuf,
        /// gix's error, boxed so that gix stays out of this crate's API.
        /// The message shows its whole chain.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The Docker volume backend's data container failed.
    #[error("{}{source}", kata.as_ref().map(|k| format!("kata {k}: ")).unwrap_or_default())]
    Volume {
        /// The kata, when the failure was about one.
        kata: Option<KataId>,
        /// The executor's error.
        #[source]
        source: kata_docker::ExecError,
    },
    /// The history holds something this crate would not have written: a gap
    /// in the indices, a commit without `event.json`, a file that is not UTF-8.
    #[error("kata {kata}: history is corrupt at commit {commit}: {what}")]
    Corrupt {
        /// The kata.
        kata: KataId,
        /// The commit (hex) where the problem was found.
        commit: String,
        /// What is wrong.
        what: String,
    },
    /// Another writer (another process on the same directory) kept moving the
    /// history while this one tried to append.
    #[error("kata {kata}: gave up appending after {attempts} attempts: the history kept moving")]
    Contended {
        /// The kata.
        kata: KataId,
        /// How many times the append was tried.
        attempts: u32,
    },
    /// Two of the event's files cannot both exist: `a` and `a/b`.
    #[error("kata {kata}: {path} is both a file and a directory in the event's files")]
    FileClash {
        /// The kata.
        kata: KataId,
        /// The path that is used both ways.
        path: SandboxPath,
    },
    /// The event cannot be stored as given.
    #[error("kata {kata}: event rejected: {why}")]
    BadEvent {
        /// The kata.
        kata: KataId,
        /// Why.
        why: String,
    },
}

impl StoreError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
