use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountBindOptions,
    MountBindOptionsPropagationEnum, MountType, ResourcesUlimits,
};
use bollard::query_parameters::{
    AttachContainerOptions, CreateImageOptions, ListContainersOptions, WaitContainerOptions,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use kata_types::KataId;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc::{Receiver, Sender};

use crate::guard::{self, ContainerGuard, Removed};
use crate::harvest::{Harvest, harvest};
use crate::image::normalize_image;
use crate::wrapper::{self, EXIT_NO_BASH, EXIT_NO_SHELL, EXIT_TAR_INCOMPLETE};
use crate::{
    Captured, Durations, ExecError, ExecutorConfig, Limits, PullState, RunJob, RunResult, Sandbox,
};

/// The label every container of an executor carries; its value is
/// [`ExecutorConfig::instance`]. [`Executor::reap`] removes by it.
pub const LABEL_INSTANCE: &str = "kata-runner.instance";
/// The label holding the run's [`KataId`].
pub const LABEL_KATA: &str = "kata-runner.kata";

const SANDBOX_DIR: &str = "/sandbox";
/// The wrapper's own stderr is a few lines; more is noise.
const DIAGNOSTICS_CAP: usize = 16 * 1024;
/// Chunks of stdout in flight between the attach stream and the harvesting
/// thread; the engine's frames are at most 32 KiB.
const STREAM_CHUNKS: usize = 16;
/// After the deadline, how long removal may delay the return; a slower
/// removal finishes in the background.
const REMOVE_BUDGET_AFTER_TIMEOUT: Duration = Duration::from_millis(600);
const REMOVE_BUDGET: Duration = Duration::from_secs(10);

/// Runs jobs in containers of one Docker engine. Cheap to share (`Arc`) and
/// safe to use from many tasks at once.
pub struct Executor {
    docker: Docker,
    config: ExecutorConfig,
    pulls: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// Connects to the engine named by `DOCKER_HOST` (the local socket by
    /// default), agrees on an API version, and checks that the engine can
    /// enforce the configured memory and pids limits.
    pub async fn connect(config: ExecutorConfig) -> Result<Self, ExecError> {
        config.validate()?;
        let docker = Docker::connect_with_defaults()
            .map_err(ExecError::engine("connecting"))?
            .negotiate_version()
            .await
            .map_err(ExecError::engine("negotiating the API version"))?;
        let info = docker
            .info()
            .await
            .map_err(ExecError::engine("reading engine info"))?;
        // A limit the kernel cannot enforce is silently ignored by the
        // engine (a warning on create): refuse rather than run unconfined.
        if info.memory_limit == Some(false) {
            return Err(ExecError::Config(
                "the engine cannot enforce memory limits".into(),
            ));
        }
        if info.pids_limit == Some(false) {
            return Err(ExecError::Config(
                "the engine cannot enforce pids limits".into(),
            ));
        }
        if info.swap_limit == Some(false) {
            tracing::warn!(
                "the engine cannot limit swap: a run may use swap beyond its memory limit"
            );
        }
        Ok(Self {
            docker,
            config,
            pulls: Arc::default(),
        })
    }

    /// The configuration this executor runs with.
    pub fn config(&self) -> &ExecutorConfig {
        &self.config
    }

    /// The engine connection, for the data container (`crate::data`).
    pub(crate) fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Runs `bash ./cyber-dojo.sh` in `/sandbox` of a fresh container and
    /// removes the container.
    ///
    /// Returns within `max_seconds` plus about half a second whatever the
    /// script does: at the deadline the container is killed and the result
    /// says `timed_out`. If the future is dropped (client gone) or a panic
    /// unwinds through it, the container is removed in the background.
    ///
    /// A script that fails is a [`RunResult`] with its status; an image that
    /// cannot run scripts at all is an error ([`ExecError::ImageNotFound`],
    /// [`ExecError::NoBash`], [`ExecError::CannotStart`],
    /// [`ExecError::Wrapper`]).
    pub async fn run(&self, job: RunJob) -> Result<RunResult, ExecError> {
        let started = Instant::now();
        let budget = Duration::from_secs(u64::from(job.max_seconds.max(1)));
        let deadline = tokio::time::Instant::from_std(started) + budget;
        let image = normalize_image(&job.image)?;
        let limits = job.limits.as_ref().unwrap_or(&self.config.limits);
        limits.validate()?;
        let (stdin, bind) = match job.sandbox {
            Sandbox::Tar(tar) => (Some(nonempty_tar(tar)), None),
            Sandbox::BindMount(path) => (None, Some(checked_bind_source(path)?)),
        };
        let name = container_name(&self.config.instance, &job.kata_id);
        let body = self.container_body(&image, &job.kata_id, limits, bind.as_deref());

        let mut guard = ContainerGuard::new(self.docker.clone(), name.clone());
        let mut durations = Durations::default();
        let driven = tokio::time::timeout_at(
            deadline,
            self.drive(&name, body, stdin, &mut guard, &mut durations, started),
        )
        .await;

        let driven = match driven {
            Err(_elapsed) => {
                let killed = Instant::now();
                guard.remove_within(REMOVE_BUDGET_AFTER_TIMEOUT).await;
                if durations.run.is_zero() {
                    durations.run = killed
                        .duration_since(started)
                        .saturating_sub(durations.create);
                }
                durations.cleanup = killed.elapsed();
                durations.total = started.elapsed();
                return Ok(RunResult {
                    stdout: Captured::default(),
                    stderr: Captured::default(),
                    status: 137,
                    timed_out: true,
                    oom_killed: false,
                    sandbox_tar: None,
                    sandbox_tar_truncated: false,
                    durations,
                });
            }
            Ok(Err(ExecError::ImageNotFound { image, .. })) => {
                let pulling = self.config.pull_missing_images;
                if pulling {
                    self.start_pull(image.clone());
                }
                return Err(ExecError::ImageNotFound { image, pulling });
            }
            Ok(Err(e)) => {
                guard.remove_within(REMOVE_BUDGET).await;
                return Err(e);
            }
            Ok(Ok(driven)) => driven,
        };

        let cleanup = Instant::now();
        let oom_killed = self.oom_killed(&name).await;
        guard.remove_within(REMOVE_BUDGET).await;
        let outcome = self.outcome(&image, driven, oom_killed);
        durations.cleanup = cleanup.elapsed();
        durations.total = started.elapsed();
        outcome.map(|mut result| {
            result.durations = durations;
            result
        })
    }

    /// Removes every container labelled with this executor's instance: the
    /// orphans of a server that died mid-run. Call it at start-up, before
    /// any run. Returns how many were removed.
    pub async fn reap(&self) -> Result<usize, ExecError> {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{LABEL_INSTANCE}={}", self.config.instance)],
        )]);
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(ExecError::engine("listing containers to reap"))?;
        let mut removed = 0;
        for id in containers.into_iter().filter_map(|c| c.id) {
            match guard::remove(&self.docker, &id).await {
                Ok(Removed::Yes) => removed += 1,
                Ok(Removed::NotFound) => {}
                Err(source) => {
                    return Err(ExecError::Engine {
                        context: "removing an orphaned container",
                        source,
                    });
                }
            }
        }
        if removed > 0 {
            tracing::info!(removed, instance = %self.config.instance, "reaped orphaned containers");
        }
        Ok(removed)
    }

    /// Whether the image is on the engine (`:latest` is added when untagged).
    pub async fn image_exists(&self, image: &str) -> Result<bool, ExecError> {
        let image = normalize_image(image)?;
        match self.docker.inspect_image(&image).await {
            Ok(_) => Ok(true),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(source) => Err(ExecError::Engine {
                context: "inspecting an image",
                source,
            }),
        }
    }

    /// cyber-dojo's `pull_image`: `Pulled` if the image is on the engine;
    /// otherwise a pull is started in the background (unless one is under
    /// way) and the answer is `Pulling`. A failed pull is logged and
    /// forgotten, so the next call tries again.
    pub async fn pull_image(&self, image: &str) -> Result<PullState, ExecError> {
        let image = normalize_image(image)?;
        if self.image_exists(&image).await? {
            return Ok(PullState::Pulled);
        }
        self.start_pull(image);
        Ok(PullState::Pulling)
    }

    fn start_pull(&self, image: String) {
        if !self
            .pulls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(image.clone())
        {
            return;
        }
        let docker = self.docker.clone();
        let pulls = Arc::clone(&self.pulls);
        tokio::spawn(async move {
            let options = CreateImageOptions {
                from_image: Some(image.clone()),
                ..Default::default()
            };
            let mut progress = docker.create_image(Some(options), None, None);
            let mut failure = None;
            while let Some(step) = progress.next().await {
                if let Err(e) = step {
                    failure = Some(e);
                    break;
                }
            }
            pulls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&image);
            match failure {
                None => tracing::info!(%image, "pulled"),
                Some(e) => tracing::warn!(%image, "pull failed: {e}"),
            }
        });
    }

    /// Create, attach, start, feed and collect: the part bounded by the
    /// deadline.
    async fn drive(
        &self,
        name: &str,
        body: ContainerCreateBody,
        stdin: Option<Vec<u8>>,
        guard: &mut ContainerGuard,
        durations: &mut Durations,
        started: Instant,
    ) -> Result<Driven, ExecError> {
        let image = body.image.clone().unwrap_or_default();
        guard.create(body, "creating the container").await?;
        // Attached before start, so no output is missed and stdin is open
        // when the wrapper reads it.
        let attach = AttachContainerOptions {
            stdin: stdin.is_some(),
            stdout: true,
            stderr: true,
            stream: true,
            ..Default::default()
        };
        let attached = self
            .docker
            .attach_container(name, Some(attach))
            .await
            .map_err(ExecError::engine("attaching to the container"))?;
        durations.create = started.elapsed();

        let running = Instant::now();
        match self.docker.start_container(name, None).await {
            Ok(()) => {}
            // The runtime refused the process (e.g. no /bin/sh): the image's
            // fault, not the engine's.
            Err(DockerError::DockerResponseServerError {
                status_code: 400,
                message,
            }) => return Err(ExecError::CannotStart { image, message }),
            Err(source) => {
                return Err(ExecError::Engine {
                    context: "starting the container",
                    source,
                });
            }
        }

        // The wrapper's tar is unpacked while it streams in, on a blocking
        // thread fed through a bounded channel: memory holds the caps, not
        // the stream.
        let (chunks, stream) = tokio::sync::mpsc::channel(STREAM_CHUNKS);
        let (caps, with_sandbox) = (self.config.caps, stdin.is_some());
        let harvesting = tokio::task::spawn_blocking(move || {
            harvest(ChunkReader::new(stream), caps, with_sandbox)
        });
        let collect = collect(attached.output, chunks);
        let collected = match stdin {
            Some(tar) => {
                let feed = feed(attached.input, tar);
                tokio::pin!(feed, collect);
                let mut fed = false;
                // The wrapper may exit without reading stdin (no bash): the
                // output ending, not the feeding, ends the run.
                loop {
                    tokio::select! {
                        () = &mut feed, if !fed => fed = true,
                        collected = &mut collect => break collected,
                    }
                }
            }
            None => {
                drop(attached.input);
                collect.await
            }
        }?;

        let wait = WaitContainerOptions {
            condition: "not-running".to_owned(),
        };
        let exit = match self.docker.wait_container(name, Some(wait)).next().await {
            Some(Ok(response)) => response.status_code,
            // bollard reports a non-zero exit as an error.
            Some(Err(DockerError::DockerContainerWaitError { code, .. })) => code,
            Some(Err(source)) => {
                return Err(ExecError::Engine {
                    context: "waiting for the container",
                    source,
                });
            }
            None => {
                return Err(ExecError::Engine {
                    context: "waiting for the container",
                    source: DockerError::DockerStreamError {
                        error: "the wait stream ended without a status".into(),
                    },
                });
            }
        };
        durations.run = running.elapsed();
        let harvested = harvesting
            .await
            .unwrap_or_else(|e| Err(format!("the harvesting thread failed: {e}")));
        Ok(Driven {
            diagnostics: collected,
            harvested,
            exit,
        })
    }

    /// `State.OOMKilled`: exit 137 alone cannot tell an OOM kill from any
    /// other SIGKILL.
    async fn oom_killed(&self, name: &str) -> bool {
        match self.docker.inspect_container(name, None).await {
            Ok(inspect) => inspect.state.and_then(|s| s.oom_killed).unwrap_or(false),
            Err(e) => {
                tracing::warn!(container = name, "inspecting: {e}");
                false
            }
        }
    }

    fn outcome(
        &self,
        image: &str,
        driven: Driven,
        oom_killed: bool,
    ) -> Result<RunResult, ExecError> {
        let Driven {
            diagnostics,
            harvested,
            exit,
        } = driven;
        let diagnostics = || String::from_utf8_lossy(&diagnostics).trim().to_owned();
        match exit {
            0 | EXIT_TAR_INCOMPLETE => {
                let h = harvested.map_err(|reason| ExecError::Harvest {
                    image: image.to_owned(),
                    reason,
                })?;
                Ok(RunResult {
                    stdout: h.stdout,
                    stderr: h.stderr,
                    status: h.status,
                    timed_out: false,
                    oom_killed,
                    sandbox_tar: h.sandbox_tar,
                    sandbox_tar_truncated: h.sandbox_tar_truncated || exit == EXIT_TAR_INCOMPLETE,
                    durations: Durations::default(),
                })
            }
            EXIT_NO_BASH => Err(ExecError::NoBash {
                image: image.to_owned(),
            }),
            // docker-init could not exec the wrapper's shell.
            EXIT_NO_SHELL => Err(ExecError::CannotStart {
                image: image.to_owned(),
                message: diagnostics(),
            }),
            // The wrapper itself was OOM-killed: its results died with it.
            status if oom_killed => Ok(RunResult {
                stdout: Captured::default(),
                stderr: Captured::default(),
                status: i32::try_from(status).unwrap_or(137),
                timed_out: false,
                oom_killed,
                sandbox_tar: None,
                sandbox_tar_truncated: false,
                durations: Durations::default(),
            }),
            status => Err(ExecError::Wrapper {
                image: image.to_owned(),
                status,
                message: diagnostics(),
            }),
        }
    }

    fn container_body(
        &self,
        image: &str,
        kata_id: &KataId,
        limits: &Limits,
        bind: Option<&Path>,
    ) -> ContainerCreateBody {
        let tar_mode = bind.is_none();
        let caps = self.config.caps;
        let mut tmpfs = HashMap::from([(
            "/tmp".to_owned(),
            format!(
                "rw,exec,nosuid,nodev,size={},mode=1777",
                limits.tmp_tmpfs_bytes
            ),
        )]);
        let mut mounts = Vec::new();
        match bind {
            None => {
                let owner = match numeric_user(&self.config.user) {
                    Some((uid, gid)) => format!(",uid={uid},gid={gid}"),
                    None => String::new(),
                };
                tmpfs.insert(
                    SANDBOX_DIR.to_owned(),
                    format!(
                        "rw,exec,nosuid,nodev,size={},mode=0755{owner}",
                        limits.sandbox_tmpfs_bytes
                    ),
                );
            }
            Some(source) => mounts.push(Mount {
                target: Some(SANDBOX_DIR.to_owned()),
                source: Some(source.display().to_string()),
                typ: Some(MountType::BIND),
                read_only: Some(false),
                bind_options: Some(MountBindOptions {
                    propagation: Some(MountBindOptionsPropagationEnum::RPRIVATE),
                    // Only this directory, not what may be mounted below it.
                    non_recursive: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }
        let host_config = HostConfig {
            init: Some(limits.init),
            network_mode: Some(limits.network_mode.clone()),
            pids_limit: Some(limits.pids_limit),
            memory: Some(limits.memory_bytes),
            memory_swap: Some(limits.memory_bytes),
            ulimits: Some(
                limits
                    .ulimits
                    .iter()
                    .map(|u| ResourcesUlimits {
                        name: Some(u.name.clone()),
                        soft: Some(u.soft),
                        hard: Some(u.hard),
                    })
                    .collect(),
            ),
            security_opt: limits
                .no_new_privileges
                .then(|| vec!["no-new-privileges".to_owned()]),
            cap_drop: limits.cap_drop_all.then(|| vec!["ALL".to_owned()]),
            cap_add: (!limits.cap_add.is_empty()).then(|| limits.cap_add.clone()),
            readonly_rootfs: Some(limits.read_only_rootfs),
            tmpfs: Some(tmpfs),
            mounts: (!mounts.is_empty()).then_some(mounts),
            // Output is read through attach; the json-file log would only
            // copy every flood to the host's disk.
            log_config: Some(HostConfigLogConfig {
                typ: Some("none".to_owned()),
                config: None,
            }),
            auto_remove: Some(false),
            ..Default::default()
        };
        let labels = HashMap::from([
            (LABEL_INSTANCE.to_owned(), self.config.instance.clone()),
            (LABEL_KATA.to_owned(), kata_id.to_string()),
        ]);
        let entrypoint = vec![
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            wrapper::SCRIPT.to_owned(),
            "kata-runner".to_owned(),
            if tar_mode { "tar" } else { "bind" }.to_owned(),
            (caps.stdout + 1).to_string(),
            (caps.stderr + 1).to_string(),
        ];
        ContainerCreateBody {
            image: Some(image.to_owned()),
            user: Some(self.config.user.clone()),
            env: Some(vec![
                format!("CYBER_DOJO_IMAGE_NAME={image}"),
                format!("CYBER_DOJO_ID={kata_id}"),
                format!("CYBER_DOJO_SANDBOX={SANDBOX_DIR}"),
                format!("HOME={}", self.config.home),
            ]),
            // Setting the entrypoint also keeps the image's CMD out.
            entrypoint: Some(entrypoint),
            working_dir: Some(SANDBOX_DIR.to_owned()),
            attach_stdin: Some(tar_mode),
            open_stdin: Some(tar_mode),
            stdin_once: Some(tar_mode),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            network_disabled: Some(limits.network_mode == "none"),
            labels: Some(labels),
            host_config: Some(host_config),
            ..Default::default()
        }
    }
}

struct Driven {
    /// The container's stderr: the wrapper's own messages, capped.
    diagnostics: Vec<u8>,
    /// What the wrapper's tar on stdout held, if it was one.
    harvested: Result<Harvest, String>,
    exit: i64,
}

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, DockerError>> + Send>>;

/// Reads the attached streams to their end: stdout goes to the harvesting
/// thread (and is discarded once that has stopped reading), stderr is kept
/// up to a cap. The container is never blocked on a full pipe.
async fn collect(mut output: Output, chunks: Sender<Bytes>) -> Result<Vec<u8>, ExecError> {
    let mut chunks = Some(chunks);
    let mut diagnostics = Vec::new();
    let mut complete = true;
    while let Some(frame) = output.next().await {
        match frame.map_err(ExecError::engine("reading the container's output"))? {
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                if let Some(tx) = &chunks
                    && tx.send(message).await.is_err()
                {
                    // The archive has ended (or was garbage): the rest is
                    // padding, or noise.
                    chunks = None;
                }
            }
            LogOutput::StdErr { message } => {
                push_capped(&mut diagnostics, &message, DIAGNOSTICS_CAP, &mut complete);
            }
            LogOutput::StdIn { .. } => {}
        }
    }
    Ok(diagnostics)
}

/// A blocking `Read` over the chunks the attach stream delivers.
struct ChunkReader {
    chunks: Receiver<Bytes>,
    current: Bytes,
}

impl ChunkReader {
    fn new(chunks: Receiver<Bytes>) -> Self {
        Self {
            chunks,
            current: Bytes::new(),
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                // The output ended, or the run was abandoned at its deadline.
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

fn push_capped(buffer: &mut Vec<u8>, bytes: &[u8], cap: usize, complete: &mut bool) {
    let room = cap.saturating_sub(buffer.len());
    if bytes.len() > room {
        *complete = false;
    }
    let take = bytes.len().min(room);
    if take == 0 {
        return;
    }
    // Doubling, but never past the cap: a buffer at its cap holds no spare
    // half-megabytes.
    let needed = buffer.len() + take;
    if needed > buffer.capacity() {
        let target = (buffer.capacity() * 2).max(needed).max(64 * 1024).min(cap);
        buffer.reserve_exact(target - buffer.len());
    }
    buffer.extend_from_slice(&bytes[..take]);
}

async fn feed(mut input: Pin<Box<dyn AsyncWrite + Send>>, tar: Vec<u8>) {
    // Errors mean the wrapper stopped reading (it exits without bash, or
    // died); its exit status tells the story.
    if let Err(e) = input.write_all(&tar).await {
        tracing::debug!("feeding the sandbox tar: {e}");
        return;
    }
    // Half-closes the attach connection: the engine then closes the
    // container's stdin (stdin_once), and the wrapper's tar sees the end.
    if let Err(e) = input.shutdown().await {
        tracing::debug!("closing stdin: {e}");
    }
}

/// An empty archive instead of no bytes, which `tar -x` rejects.
fn nonempty_tar(tar: Vec<u8>) -> Vec<u8> {
    if tar.is_empty() { vec![0; 1024] } else { tar }
}

/// The engine follows symlinks in a bind source; one inside the path could
/// point the mount at another kata, so only a canonical path is accepted.
fn checked_bind_source(path: PathBuf) -> Result<PathBuf, ExecError> {
    let refuse = |reason: &str| ExecError::BindMount {
        path: path.clone(),
        reason: reason.to_owned(),
    };
    if !path.is_absolute() {
        return Err(refuse("not an absolute path"));
    }
    let canonical = std::fs::canonicalize(&path).map_err(|e| refuse(&e.to_string()))?;
    if canonical != path {
        return Err(refuse("the path is not canonical (symlinks, `.` or `..`)"));
    }
    if !canonical.is_dir() {
        return Err(refuse("not a directory"));
    }
    Ok(canonical)
}

fn numeric_user(user: &str) -> Option<(u32, u32)> {
    let (uid, gid) = user.split_once(':')?;
    Some((uid.parse().ok()?, gid.parse().ok()?))
}

/// Unique per run, so that a guard can find a container by name even when
/// the create request's answer never arrived.
fn container_name(instance: &str, kata_id: &KataId) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{instance}-{kata_id}-{:x}-{nanos:x}-{n}",
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_capped_keeps_the_first_bytes_and_says_so() {
        let (mut buf, mut complete) = (Vec::new(), true);
        push_capped(&mut buf, b"hello", 8, &mut complete);
        assert!(complete);
        push_capped(&mut buf, b" world", 8, &mut complete);
        assert_eq!(buf, b"hello wo");
        assert!(!complete);
        assert!(buf.capacity() <= 8);
    }

    #[test]
    fn bind_sources_must_be_canonical_directories() {
        let dir = std::env::temp_dir();
        let canonical = std::fs::canonicalize(&dir).unwrap();
        assert!(checked_bind_source(canonical.clone()).is_ok());
        assert!(checked_bind_source(PathBuf::from("relative")).is_err());
        assert!(
            checked_bind_source(canonical.join("..").join(canonical.file_name().unwrap())).is_err()
        );
        assert!(checked_bind_source(PathBuf::from("/no/such/dir")).is_err());
    }

    #[test]
    fn container_names_are_unique_and_valid() {
        let id = KataId::new("34de2W-7").unwrap();
        let a = container_name("kata-runner", &id);
        let b = container_name("kata-runner", &id);
        assert_ne!(a, b);
        assert!(
            a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'),
            "{a}"
        );
    }
}
