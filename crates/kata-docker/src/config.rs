use kata_types::TEXT_FILE_CAP;

use crate::ExecError;

const MIB: i64 = 1024 * 1024;

/// How the executor runs every container. [`ExecutorConfig::default`] is at
/// least as strict as cyber-dojo's runner; see [`Limits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// The value of the [`LABEL_INSTANCE`](crate::LABEL_INSTANCE) label on every
    /// container, and the scope of [`Executor::reap`](crate::Executor::reap):
    /// servers sharing an engine need different instances, or one's reaper
    /// removes the other's runs. Letters, digits, `_`, `.` and `-` only.
    pub instance: String,
    /// The container's user, `uid:gid`.
    pub user: String,
    /// `$HOME` in the container.
    pub home: String,
    /// Limits for a job that does not bring its own.
    pub limits: Limits,
    /// How much output the server keeps.
    pub caps: Caps,
    /// Whether a run on a missing image starts pulling it (cyber-dojo's
    /// `pulling` outcome). Without a registry the pull fails in the
    /// background and the next run tries again.
    pub pull_missing_images: bool,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            instance: "kata-runner".to_owned(),
            user: "41966:51966".to_owned(),
            home: "/home/sandbox".to_owned(),
            limits: Limits::default(),
            caps: Caps::default(),
            pull_missing_images: true,
        }
    }
}

impl ExecutorConfig {
    pub(crate) fn validate(&self) -> Result<(), ExecError> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
                && s.as_bytes()[0].is_ascii_alphanumeric()
        };
        if !ok(&self.instance) {
            return Err(ExecError::Config(format!(
                "instance {:?} must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
                self.instance
            )));
        }
        self.limits.validate()?;
        Ok(())
    }
}

/// The container settings that confine a run. The defaults are cyber-dojo's
/// (`--init`, `--net=none`, `--pids-limit=128`, `--memory=2g`, no new
/// privileges, its ulimits, tmpfs `/sandbox` and `/tmp` of 250 MB) plus
/// `cap-drop ALL` and a read-only root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Run `docker-init` as PID 1, so zombies are reaped and the script is
    /// not PID 1 (which ignores default signal actions).
    pub init: bool,
    /// Docker's `NetworkMode`; `none` leaves only loopback.
    pub network_mode: String,
    /// Most processes and threads in the container (cgroup `pids.max`).
    pub pids_limit: i64,
    /// Memory limit in bytes; swap is set to the same, i.e. no swap.
    pub memory_bytes: i64,
    /// `setrlimit` limits for every process in the container.
    pub ulimits: Vec<Ulimit>,
    /// `no-new-privileges`: setuid binaries gain nothing.
    pub no_new_privileges: bool,
    /// Drop every capability...
    pub cap_drop_all: bool,
    /// ...except these (e.g. `SYS_PTRACE` for AddressSanitizer images).
    pub cap_add: Vec<String>,
    /// Mount the image's filesystem read-only; only the tmpfs mounts (and a
    /// bind-mounted sandbox) are writable, so `$HOME` is not (cyber-dojo's is).
    /// Turn off for images whose tools insist on writing elsewhere.
    pub read_only_rootfs: bool,
    /// Size of the tmpfs at `/sandbox`, in bytes (not used when the sandbox
    /// is bind-mounted).
    pub sandbox_tmpfs_bytes: i64,
    /// Size of the tmpfs at `/tmp`, in bytes. The wrapper keeps the script's
    /// stdout and stderr here while it runs.
    pub tmp_tmpfs_bytes: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            init: true,
            network_mode: "none".to_owned(),
            pids_limit: 128,
            memory_bytes: 2048 * MIB,
            ulimits: Ulimit::cyber_dojo(),
            no_new_privileges: true,
            cap_drop_all: true,
            cap_add: Vec::new(),
            read_only_rootfs: true,
            sandbox_tmpfs_bytes: 250 * MIB,
            tmp_tmpfs_bytes: 250 * MIB,
        }
    }
}

impl Limits {
    pub(crate) fn validate(&self) -> Result<(), ExecError> {
        let positive = [
            ("pids_limit", self.pids_limit),
            ("memory_bytes", self.memory_bytes),
            ("sandbox_tmpfs_bytes", self.sandbox_tmpfs_bytes),
            ("tmp_tmpfs_bytes", self.tmp_tmpfs_bytes),
        ];
        for (name, value) in positive {
            if value <= 0 {
                return Err(ExecError::Config(format!(
                    "{name} must be positive, not {value}"
                )));
            }
        }
        for u in &self.ulimits {
            if u.soft > u.hard || u.name.is_empty() {
                return Err(ExecError::Config(format!("bad ulimit {u:?}")));
            }
        }
        Ok(())
    }
}

/// One `setrlimit` limit, as Docker names it (`nofile`, `nproc`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// Docker's name for the resource.
    pub name: String,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

impl Ulimit {
    /// A limit whose soft and hard values are equal.
    pub fn new(name: &str, limit: i64) -> Self {
        Self {
            name: name.to_owned(),
            soft: limit,
            hard: limit,
        }
    }

    /// cyber-dojo's ulimits: core 0, fsize 256 MiB, locks 1024, nofile 1024,
    /// nproc 1024, stack 16 MiB, data 4 GiB. Drop `data` for clang images
    /// (AddressSanitizer reserves more).
    ///
    /// `nproc` counts every process of the uid on the host, across
    /// containers; `pids_limit` is the per-container bound.
    pub fn cyber_dojo() -> Vec<Self> {
        vec![
            Self::new("core", 0),
            Self::new("fsize", 256 * MIB),
            Self::new("locks", 1024),
            Self::new("nofile", 1024),
            Self::new("nproc", 1024),
            Self::new("stack", 16 * MIB),
            Self::new("data", 4096 * MIB),
        ]
    }
}

/// How much of each stream the server keeps, enforced while it streams in:
/// memory per run is bounded by these, whatever the container sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Bytes of the script's stdout kept; more sets `truncated`.
    pub stdout: usize,
    /// Bytes of the script's stderr kept; more sets `truncated`.
    pub stderr: usize,
    /// Bytes of the tar of `/sandbox` returned; entries that do not fit are
    /// left out and `sandbox_tar_truncated` is set.
    pub sandbox_tar: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            stdout: TEXT_FILE_CAP,
            stderr: TEXT_FILE_CAP,
            sandbox_tar: 16 * 1024 * 1024,
        }
    }
}
