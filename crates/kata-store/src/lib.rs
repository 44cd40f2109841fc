//! Katas over a host directory: each kata's sandbox, and its history of runs
//! as a git repository.
//!
//! [`DirKatas`] keeps every kata under one root directory (default
//! `./katas`), at the path cyber-dojo's saver uses: kata `34de2W-7` lives at
//! `ROOT/34/de/2W-7/` ([`KataId::shards`]). Inside:
//!
//! * `sandbox/` — the kata's files between runs, bind-mounted as `/sandbox`
//!   into the run container ([`DirKatas::sandbox_dir`]).
//! * `history.git` — a bare git repository holding every run as an [`Event`]:
//!   one commit per event on `refs/heads/main`, tagged with its index
//!   (`refs/tags/3`). Each commit's tree holds `event.json`, `stdout`,
//!   `stderr` and `files/<path>`, so `git -C history.git log` and
//!   `git -C history.git show 3:files/hiker.c` work as usual.
//! * `append.lock` — an empty file that appends `flock`.
//!
//! The kata directory and those above it are the server's alone (mode
//! `0700`): the run container sees only `sandbox/`, through its bind mount.
//!
//! ```
//! use kata_store::{DirKatas, NewEvent};
//! use kata_types::{FileContent, KataId, Outcome, SandboxPath};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let tmp = tempfile::tempdir()?;
//! let katas = DirKatas::open(tmp.path().join("katas"))?;
//! let id = KataId::new("34de2W")?;
//! let files = [(SandboxPath::new("hiker.c")?, "int answer = 54;\n".to_owned())];
//! let run = NewEvent {
//!     time: kata_abi::Timestamp::now(),
//!     duration_secs: 1.23,
//!     runner: "katas".into(),
//!     image: "cyberdojofoundation/gcc_assert:56fa098".into(),
//!     outcome: Outcome::Red,
//!     status: "2".into(),
//!     stdout: FileContent::from_bytes(b"", 51_200),
//!     stderr: FileContent::from_bytes(b"hiker.c:4: assertion failed\n", 51_200),
//!     files: files.into_iter().collect(),
//!     created: Default::default(),
//!     changed: Default::default(),
//!     deleted: Default::default(),
//! };
//! let event = katas.append(&id, run)?;
//! assert_eq!(event.index, 1);
//! assert_eq!(katas.events(&id)?, vec![event.clone()]);
//! assert_eq!(katas.last(&id)?, Some(event));
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//!
//! * **Append-only, no gaps.** Indices run 1, 2, 3, … The branch is moved
//!   with a compare-and-swap on its old value, so two writers can never both
//!   take an index: the loser writes its commit again on the new head (up to
//!   5 times, then [`StoreError::Contended`]). So that writers do not race in
//!   the first place, appends to one kata are serialised within the process
//!   (a lock per kata) and across processes (`flock` on
//!   `ROOT/XX/YY/ZZ/append.lock`, released by the kernel if its holder dies).
//! * **Crash-consistent** against the server being killed: an event's blobs,
//!   trees and commit are written before the branch moves, and the branch
//!   moves by an atomic rename, so an event is either there with all its
//!   files or not at all. A crash between moving the branch and tagging
//!   leaves the newest event untagged; the next append or read tags it. A
//!   lock file left by a killed writer is cleared once it is 10 s old.
//!   Nothing is fsynced (gix does not): a power cut may lose recent events.
//! * **Confined.** A [`KataId`] can only name `ROOT/XX/YY/ZZ`, and a
//!   [`SandboxPath`](kata_types::SandboxPath) only a path inside `files/`.
//! * **Hands off the sandbox.** Only a sandbox directory this crate has just
//!   made is chowned or chmodded; an existing one, where user code has
//!   written, is never touched.
//!
//! # Ownership and the umask
//!
//! The run container runs as uid [`SANDBOX_UID`], gid [`SANDBOX_GID`]. A new
//! sandbox is given to them with mode [`SANDBOX_MODE`] (`02770`: setgid, so
//! whatever the server creates inside later, subdirectories included, belongs
//! to group [`SANDBOX_GID`]). That takes root; otherwise the sandbox is left
//! with the server's owner and mode [`SANDBOX_MODE_UNOWNED`] (`02777`) and a
//! warning is logged.
//!
//! **The server must set its umask to `0o007` at startup**, before any
//! thread starts, so that files and directories its WASI guest creates inside
//! a sandbox are group-writable and the container's user can change them.
//! This library does not set it: the umask is per process.
#![deny(missing_docs)]

mod error;
mod event;
mod history;
mod katas;
mod lock;
mod sandbox;
mod volume;

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use kata_types::KataId;

pub use error::StoreError;
pub use event::{Event, NewEvent};
pub use katas::{Begun, Katas, SandboxHome};
pub use sandbox::{SANDBOX_GID, SANDBOX_MODE, SANDBOX_MODE_UNOWNED, SANDBOX_UID};
pub use volume::VolumeKatas;

use history::History;
use lock::KataLocks;

/// Katas stored under one host directory, with their histories as git
/// repositories. Cheap to share between threads (`Arc<DirKatas>`).
#[derive(Debug)]
pub struct DirKatas {
    root: PathBuf,
    locks: KataLocks,
}

impl DirKatas {
    /// Opens the store at `root`, creating it (mode `0700`) if it does not
    /// exist. The root is made absolute: sandbox paths are handed to Docker,
    /// which only mounts absolute paths.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&root)
            .map_err(StoreError::io("creating directory", &root))?;
        let root = std::fs::canonicalize(&root).map_err(StoreError::io("resolving", &root))?;
        Ok(Self {
            root,
            locks: KataLocks::default(),
        })
    }

    /// The store's root directory, absolute.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where kata `id` lives: `ROOT/XX/YY/ZZ` ([`KataId::shards`]). Nothing
    /// is created.
    pub fn kata_dir(&self, id: &KataId) -> PathBuf {
        let [a, b, c] = id.shards();
        self.root.join(a).join(b).join(c)
    }

    /// Where kata `id`'s history repository is: `ROOT/XX/YY/ZZ/history.git`.
    /// Nothing is created.
    pub fn history_dir(&self, id: &KataId) -> PathBuf {
        self.kata_dir(id).join(history::HISTORY)
    }

    /// The kata's sandbox, `ROOT/XX/YY/ZZ/sandbox`, to bind-mount into the run
    /// container; created on first use, owned by [`SANDBOX_UID`]:[`SANDBOX_GID`]
    /// with mode [`SANDBOX_MODE`] (see the crate docs when not root).
    pub fn sandbox_dir(&self, id: &KataId) -> Result<PathBuf, StoreError> {
        let _held = self.locks.lock(id);
        let kata_dir = self.make_kata_dir(id)?;
        sandbox::ensure(&kata_dir)
    }

    /// Appends a run to the kata's history with the next index (1 for the
    /// first), and returns it as stored.
    pub fn append(&self, id: &KataId, event: NewEvent) -> Result<Event, StoreError> {
        if !(event.duration_secs.is_finite() && event.duration_secs >= 0.0) {
            return Err(StoreError::BadEvent {
                kata: id.clone(),
                why: format!(
                    "duration {} s is not a finite, non-negative number",
                    event.duration_secs
                ),
            });
        }
        // The branch's compare-and-swap alone keeps indices unique; the
        // locks keep writers from starving each other with retries.
        let _held = self.locks.lock(id);
        let kata_dir = self.make_kata_dir(id)?;
        let _held_across_processes = lock::lock_across_processes(&kata_dir)?;
        History::open_or_create(id, &kata_dir)?.append(event)
    }

    /// The kata's events, oldest first; empty for a kata never run.
    pub fn events(&self, id: &KataId) -> Result<Vec<Event>, StoreError> {
        match History::open(id, &self.kata_dir(id))? {
            Some(history) => history.events(),
            None => Ok(Vec::new()),
        }
    }

    /// The kata's event `index`, if there is one.
    pub fn event(&self, id: &KataId, index: u64) -> Result<Option<Event>, StoreError> {
        match History::open(id, &self.kata_dir(id))? {
            Some(history) => history.event(index),
            None => Ok(None),
        }
    }

    /// The kata's newest event, if there is one.
    pub fn last(&self, id: &KataId) -> Result<Option<Event>, StoreError> {
        match History::open(id, &self.kata_dir(id))? {
            Some(history) => history.last(),
            None => Ok(None),
        }
    }

    fn make_kata_dir(&self, id: &KataId) -> Result<PathBuf, StoreError> {
        let dir = self.kata_dir(id);
        // Only the server goes in here: the container sees the sandbox
        // through its bind mount, which needs no search permission above it.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(StoreError::io("creating directory", &dir))?;
        Ok(dir)
    }
}

/// A name for a temporary sibling that no other writer, in this process or
/// another, nor a leftover of an earlier crash, can be using.
pub(crate) fn temp_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Renames `from` to `to`, failing with `EEXIST` if `to` exists.
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags};
    match rustix::fs::renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        // A file system without RENAME_NOREPLACE: a plain rename still
        // refuses to replace a directory that is not empty.
        Err(rustix::io::Errno::INVAL) => std::fs::rename(from, to),
        other => other.map_err(io::Error::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server shares one store between request handlers and moves
    /// errors across tasks.
    #[test]
    fn store_and_errors_cross_threads() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<DirKatas>();
        shareable::<StoreError>();
        shareable::<Event>();
    }
}
