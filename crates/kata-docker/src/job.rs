use std::path::PathBuf;
use std::time::Duration;

use kata_types::KataId;

use crate::Limits;

/// One run of `bash ./cyber-dojo.sh`.
#[derive(Debug, Clone)]
pub struct RunJob {
    /// The image; `:latest` is added when no tag is given.
    pub image: String,
    /// The kata (and avatar) the run is for: in the environment as
    /// `CYBER_DOJO_ID` and on the container as a label.
    pub kata_id: KataId,
    /// The files to run on.
    pub sandbox: Sandbox,
    /// Wall-clock budget, counted from the call to
    /// [`Executor::run`](crate::Executor::run): at the deadline the container is
    /// killed and the result says `timed_out`. Zero counts as one second.
    pub max_seconds: u32,
    /// Limits for this run instead of the executor's (e.g. a clang image
    /// that needs `SYS_PTRACE` and no `data` ulimit).
    pub limits: Option<Limits>,
}

/// How the sandbox's files reach `/sandbox` in the container.
#[derive(Debug, Clone)]
pub enum Sandbox {
    /// A tar of the files, paths relative to `/sandbox`. It is fed to the
    /// container's stdin and unpacked there into a tmpfs; the tar of
    /// `/sandbox` after the run comes back in
    /// [`RunResult::sandbox_tar`].
    Tar(Vec<u8>),
    /// One kata's sandbox directory on the host, bind-mounted read-write at
    /// `/sandbox` (the volume-backed katas backend). It must be absolute,
    /// exist, and contain no symlink in its path. Files are changed in
    /// place; no tar comes back. The directory must be writable by the
    /// container's user.
    BindMount(PathBuf),
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// The script's stdout, cut to [`Caps::stdout`](crate::Caps::stdout).
    /// Empty when `timed_out`.
    pub stdout: Captured,
    /// The script's stderr, cut to [`Caps::stderr`](crate::Caps::stderr).
    /// Empty when `timed_out`.
    pub stderr: Captured,
    /// The exit status of `bash ./cyber-dojo.sh`; 137 when the container
    /// was killed (timed out, or the wrapper itself was OOM-killed).
    pub status: i32,
    /// The deadline passed and the container was killed.
    pub timed_out: bool,
    /// The kernel's OOM killer killed a process of the run (not necessarily
    /// the script itself).
    pub oom_killed: bool,
    /// A tar of `/sandbox` after the run, entries relative to it (`./` is
    /// left out), with the uid, gid, mode and whole-second mtime the files
    /// had. `None` for [`Sandbox::BindMount`], on timeout, and when the
    /// wrapper was OOM-killed.
    pub sandbox_tar: Option<Vec<u8>>,
    /// Some of `/sandbox` is missing from `sandbox_tar`: it did not fit in
    /// [`Caps::sandbox_tar`](crate::Caps::sandbox_tar), or `tar` could not
    /// read some files (e.g. the script made them unreadable).
    pub sandbox_tar_truncated: bool,
    /// Where the time went.
    pub durations: Durations,
}

/// Bytes of an output stream, cut to a cap while streaming.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// At most the cap's worth of the stream's first bytes.
    pub bytes: Vec<u8>,
    /// The stream was longer than `bytes`.
    pub truncated: bool,
}

/// Wall-clock time of a run's phases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Durations {
    /// Creating and attaching to the container.
    pub create: Duration,
    /// From starting the container until it exited or was killed.
    pub run: Duration,
    /// Inspecting and removing the container, and unpacking the results.
    pub cleanup: Duration,
    /// The whole call.
    pub total: Duration,
}

/// The answer to [`Executor::pull_image`](crate::Executor::pull_image), as
/// cyber-dojo's `pull_image`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullState {
    /// The image is on the engine.
    Pulled,
    /// A pull is under way in the background.
    Pulling,
}
