use std::collections::{BTreeMap, BTreeSet};

use kata_types::{FileContent, Files, PathError, SandboxPath, TEXT_FILE_CAP};
use serde::{Deserialize, Serialize};

/// One call of the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// What to do.
    pub op: Op,
    /// The caps that turn a tar bomb into a refusal instead of a full disk.
    #[serde(default)]
    pub limits: Limits,
}

/// The guest's operations. Each names its inputs; the guest's directory is
/// implied (it is the only one it has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    /// The directory → tar on stdout: every regular file and directory, with
    /// its mtime. Anything else is refused.
    PackDir,
    /// The request's files → tar on stdout, every entry stamped `mtime`
    /// (the tmp runner: fresh timestamps). Needs no directory.
    PackFiles {
        /// The files.
        files: Files,
        /// Stamped on every entry (tar keeps whole seconds).
        mtime: Timestamp,
    },
    /// Bring the directory in line with the request's files: write only files
    /// whose content differs (stamped `mtime`), leave the others untouched
    /// (their mtimes kept), delete those in `previous` but not in `files`.
    Sync {
        /// The files as the client has them now.
        files: Files,
        /// The files the client had last time. Only these may be deleted:
        /// anything else in the directory (build products) is kept.
        previous: BTreeSet<SandboxPath>,
        /// Stamped on every file written. Nanoseconds matter: `make` compares
        /// them, and a run often follows the last one within a second.
        mtime: Timestamp,
    },
    /// [`Op::Sync`] on a tar instead of a directory: the kata's saved sandbox
    /// comes in on stdin, the sandbox to run goes out on stdout. Entries the
    /// request does not touch pass through with their mode and mtime (build
    /// products included); changed and new files are stamped `mtime`, or one
    /// second after the newest entry if that is later, because a tar keeps
    /// whole seconds and `make` must see a changed source as newer than the
    /// object built from it within the same second.
    SyncTar {
        /// The files as the client has them now.
        files: Files,
        /// The files the client had last time.
        previous: BTreeSet<SandboxPath>,
        /// When the client's change is taken to have happened.
        mtime: Timestamp,
    },
    /// Tar on stdin → the directory, mtimes kept, replacing what was there:
    /// whatever the tar does not hold is deleted afterwards.
    Unpack,
    /// Compare a directory or tar with `baseline` (the files the run started
    /// from) → created / changed / deleted text files. Refused entries are
    /// removed from the directory, or left out of the checked tar.
    Harvest {
        /// What to compare.
        source: HarvestSource,
        /// The files the run started from.
        baseline: Files,
    },
}

/// A point in time as file systems keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl Timestamp {
    /// The current time of the caller's clock.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        }
    }
}

/// Where [`Op::Harvest`] reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HarvestSource {
    /// The guest's directory.
    Dir,
    /// A tar on stdin. The accepted entries are written out again as a checked
    /// tar on stdout, modes kept, so build products stay executable.
    Tar,
}

/// Caps on what the guest accepts. Past a cap, entries are refused and
/// reported; the call itself succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Most entries (files and directories) taken from a tar or directory.
    pub max_entries: u64,
    /// Most bytes of file content, summed.
    pub max_total_bytes: u64,
    /// Largest single file.
    pub max_file_bytes: u64,
    /// How much of each harvested text file is returned.
    pub text_cap: usize,
    /// Most created files returned by a harvest (the first, by sorted name).
    pub max_created: usize,
}

impl Default for Limits {
    /// cyber-dojo's caps for what is returned (50 KiB a file, 16 created); a
    /// sandbox as big as its 250 MB tmpfs; an entry count far above any kata.
    fn default() -> Self {
        Self {
            max_entries: 20_000,
            max_total_bytes: 256 * 1024 * 1024,
            max_file_bytes: 256 * 1024 * 1024,
            text_cap: TEXT_FILE_CAP,
            max_created: 16,
        }
    }
}

/// What the guest answers: its outcome, or why it could not do the job at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// The job was done (possibly with refusals).
    Ok(Outcome),
    /// The job could not be done: a bad request, an I/O error in the directory.
    Failed(GuestFailure),
}

/// A job the guest gave up on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("guest failed: {message}")]
pub struct GuestFailure {
    /// What went wrong, with the path or step it went wrong at.
    pub message: String,
}

/// The result of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// What was moved, and what was refused.
    pub report: Report,
    /// For [`Op::Harvest`]: what the run changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<Delta>,
}

/// What a job moved and refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Files written to the directory or the output tar.
    pub files_written: u64,
    /// Files left as they were (sync).
    pub files_unchanged: u64,
    /// Files deleted from the directory.
    pub files_deleted: u64,
    /// Bytes of file content written.
    pub bytes_written: u64,
    /// Entries refused, in the order met, at most [`MAX_REFUSALS_LISTED`].
    pub refused: Vec<Refusal>,
    /// Entries refused past [`MAX_REFUSALS_LISTED`]: counted, not listed, so
    /// that 100,000 refused files cannot make a 100,000-line answer.
    #[serde(default)]
    pub refused_not_listed: u64,
}

/// How many refusals a [`Report`] lists one by one.
pub const MAX_REFUSALS_LISTED: usize = 100;

impl Report {
    /// Records a refusal, listing it while there is room.
    pub fn refuse(&mut self, path: impl Into<String>, reason: RefusalReason) {
        if self.refused.len() < MAX_REFUSALS_LISTED {
            self.refused.push(Refusal {
                path: path.into(),
                reason,
            });
        } else {
            self.refused_not_listed += 1;
        }
    }

    /// All entries refused, listed or not.
    pub fn refused_count(&self) -> u64 {
        self.refused.len() as u64 + self.refused_not_listed
    }
}

/// An entry the guest would not take, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The entry's name as found, non-UTF-8 bytes replaced.
    pub path: String,
    /// Why.
    pub reason: RefusalReason,
}

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
#[non_exhaustive]
pub enum RefusalReason {
    /// The name could escape or is malformed.
    BadPath {
        /// The rule it broke.
        error: PathError,
    },
    /// A symbolic link: never followed, never created.
    Symlink,
    /// A hard link: it could alias a file outside the sandbox.
    HardLink,
    /// A character or block device.
    Device,
    /// A named pipe: reading one blocks forever.
    Fifo,
    /// A socket or a tar entry type we do not know.
    OtherType,
    /// Past [`Limits::max_entries`]: this entry and every later one.
    TooManyEntries,
    /// Past [`Limits::max_total_bytes`].
    TooManyBytes,
    /// Over [`Limits::max_file_bytes`].
    FileTooLarge {
        /// Its size.
        size: u64,
    },
    /// A file where a directory is needed, or the reverse (`a` and `a/b`).
    Conflict,
    /// A directory that could not be listed: WASI preview 1 cannot name a
    /// non-UTF-8 entry, so one such name hides its whole directory.
    Unlistable {
        /// Why.
        error: String,
    },
    /// The tar stream broke here; nothing after it was read.
    Malformed {
        /// The tar reader's complaint.
        error: String,
    },
}

/// What a run changed, compared with the files it started from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// New text files, at most [`Limits::max_created`], by sorted name.
    pub created: BTreeMap<SandboxPath, FileContent>,
    /// Text files whose content differs.
    pub changed: BTreeMap<SandboxPath, FileContent>,
    /// Files of the baseline that are gone (refused ones included).
    pub deleted: BTreeSet<SandboxPath>,
    /// New or changed files not returned: binary, or past `max_created`.
    /// Not deleted: they are still in the sandbox.
    pub omitted: BTreeSet<SandboxPath>,
}
