use std::collections::BTreeSet;

use kata_abi::Timestamp;
use kata_types::{FileContent, Files, Outcome, SandboxPath};
use serde::{Deserialize, Serialize};

/// One run of a kata, as kept in its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 1 for the kata's first run, then 2, 3, … with no gaps.
    pub index: u64,
    /// When the run started.
    pub time: Timestamp,
    /// How long the run took, in seconds.
    pub duration_secs: f64,
    /// Which runner ran it: `"tmp"` or `"katas"`.
    pub runner: String,
    /// The Docker image it ran in.
    pub image: String,
    /// The traffic light, or why there is none.
    pub outcome: Outcome,
    /// cyber-dojo's status: the exit status as a string (`"2"`), or a
    /// synthetic one (`"142"` for timed out).
    pub status: String,
    /// What `cyber-dojo.sh` printed on stdout.
    pub stdout: FileContent,
    /// What `cyber-dojo.sh` printed on stderr.
    pub stderr: FileContent,
    /// The kata's visible (text) files after the run.
    pub files: Files,
    /// Files the run created.
    pub created: BTreeSet<SandboxPath>,
    /// Files the run changed.
    pub changed: BTreeSet<SandboxPath>,
    /// Files the run deleted.
    pub deleted: BTreeSet<SandboxPath>,
}

/// A run as the runner hands it to the store: an [`Event`] without its
/// index, which the store assigns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// When the run started.
    pub time: Timestamp,
    /// How long the run took, in seconds; finite and not negative.
    pub duration_secs: f64,
    /// Which runner ran it: `"tmp"` or `"katas"`.
    pub runner: String,
    /// The Docker image it ran in.
    pub image: String,
    /// The traffic light, or why there is none.
    pub outcome: Outcome,
    /// cyber-dojo's status string.
    pub status: String,
    /// What `cyber-dojo.sh` printed on stdout.
    pub stdout: FileContent,
    /// What `cyber-dojo.sh` printed on stderr.
    pub stderr: FileContent,
    /// The kata's visible (text) files after the run.
    pub files: Files,
    /// Files the run created.
    pub created: BTreeSet<SandboxPath>,
    /// Files the run changed.
    pub changed: BTreeSet<SandboxPath>,
    /// Files the run deleted.
    pub deleted: BTreeSet<SandboxPath>,
}

impl NewEvent {
    pub(crate) fn into_event(self, index: u64) -> Event {
        let NewEvent {
            time,
            duration_secs,
            runner,
            image,
            outcome,
            status,
            stdout,
            stderr,
            files,
            created,
            changed,
            deleted,
        } = self;
        Event {
            index,
            time,
            duration_secs,
            runner,
            image,
            outcome,
            status,
            stdout,
            stderr,
            files,
            created,
            changed,
            deleted,
        }
    }
}

/// `event.json` in a history commit: the event less what lives in blobs of
/// its own (stdout, stderr, files), so that `git show 3:event.json` stays
/// short and the blobs diff well.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub index: u64,
    pub time: Timestamp,
    pub duration_secs: f64,
    pub runner: String,
    pub image: String,
    pub outcome: Outcome,
    pub status: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub created: BTreeSet<SandboxPath>,
    pub changed: BTreeSet<SandboxPath>,
    pub deleted: BTreeSet<SandboxPath>,
}

impl Meta {
    pub fn of(event: &Event) -> Self {
        Self {
            index: event.index,
            time: event.time,
            duration_secs: event.duration_secs,
            runner: event.runner.clone(),
            image: event.image.clone(),
            outcome: event.outcome,
            status: event.status.clone(),
            stdout_truncated: event.stdout.truncated,
            stderr_truncated: event.stderr.truncated,
            created: event.created.clone(),
            changed: event.changed.clone(),
            deleted: event.deleted.clone(),
        }
    }

    pub fn into_event(self, stdout: String, stderr: String, files: Files) -> Event {
        Event {
            index: self.index,
            time: self.time,
            duration_secs: self.duration_secs,
            runner: self.runner,
            image: self.image,
            outcome: self.outcome,
            status: self.status,
            stdout: FileContent {
                content: stdout,
                truncated: self.stdout_truncated,
            },
            stderr: FileContent {
                content: stderr,
                truncated: self.stderr_truncated,
            },
            files,
            created: self.created,
            changed: self.changed,
            deleted: self.deleted,
        }
    }
}

/// The one-line commit message: `run 3: red (status 2, 1.23 s)`.
pub(crate) fn commit_message(event: &Event) -> String {
    // Escaped: the status is the runner's string, and a newline in it would
    // break the one-line subject (and the reflog line, which forbids one).
    format!(
        "run {}: {} (status {}, {:.2} s)\n",
        event.index,
        event.outcome,
        event.status.escape_debug(),
        event.duration_secs
    )
}
