use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kata_abi::{Delta, Limits, Refusal, RefusalReason, Report, Timestamp};
use kata_docker::{ExecError, Executor, RunJob, RunResult, Sandbox};
use kata_store::{Event, Katas, NewEvent, SandboxHome, StoreError};
use kata_types::{FileContent, Files, KataId, Outcome, SandboxPath, TEXT_FILE_CAP};
use kata_wasi::{Guest, GuestError};

use crate::{Judge, Keep, RunnerKind, Start};

/// One run, as a client asks for it.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The kata.
    pub id: KataId,
    /// Its visible files, `cyber-dojo.sh` among them.
    pub files: Files,
    /// The image to run in.
    pub image: String,
    /// The run's time budget.
    pub max_seconds: u32,
    /// Which strategy.
    pub runner: RunnerKind,
}

/// What a run gave, as saved in the history and more.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The event saved in the kata's history (index, outcome, output, files).
    pub event: Event,
    /// Created text files, with content (at most 16, 50 KiB each).
    pub created: BTreeMap<SandboxPath, FileContent>,
    /// Changed text files, with content.
    pub changed: BTreeMap<SandboxPath, FileContent>,
    /// Files the run deleted.
    pub deleted: BTreeSet<SandboxPath>,
    /// New or changed files not returned (binary, or past 16): still there.
    pub omitted: BTreeSet<SandboxPath>,
    /// Entries the guest refused (links, devices, bad names, over caps).
    pub refused: Vec<Refusal>,
    /// Why the outcome is what it is, when it is not a colour
    /// (`timed_out`, `faulty`): cyber-dojo's `log`.
    pub log: Option<String>,
    /// Where the time went.
    pub timings: Timings,
}

/// Wall-clock time of a run's phases.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Guest work before the run (pack or sync), store reads included.
    pub prepare: Duration,
    /// The container, from create to removal.
    pub container: Duration,
    /// Guest work after the run (check, harvest), keeping the sandbox.
    pub harvest: Duration,
    /// Writing the event.
    pub save: Duration,
    /// All of it.
    pub total: Duration,
}

/// Why a run produced no event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The guest failed as a whole (not a refused entry: those are reported).
    #[error("kata {id}: {step}: {source}")]
    Guest {
        /// The kata.
        id: KataId,
        /// What the runner was doing.
        step: &'static str,
        /// The guest's error.
        #[source]
        source: GuestError,
    },
    /// The executor could not run the job at all.
    #[error("kata {id}: {source}")]
    Exec {
        /// The kata.
        id: KataId,
        /// The executor's error.
        #[source]
        source: ExecError,
    },
    /// The katas store failed.
    #[error("kata {id}: {source}")]
    Store {
        /// The kata.
        id: KataId,
        /// The store's error.
        #[source]
        source: StoreError,
    },
}

impl RunError {
    /// Whether the Docker engine (or the volume's data container on it) was
    /// unreachable or failed: worth a retry once it is back, not a bug.
    pub fn is_engine_failure(&self) -> bool {
        match self {
            Self::Exec { source, .. } => matches!(source, ExecError::Engine { .. }),
            Self::Store {
                source: StoreError::Volume { source, .. },
                ..
            } => matches!(
                source,
                ExecError::Engine { .. } | ExecError::DataContainer { .. }
            ),
            _ => false,
        }
    }
}

/// Runs katas: one guest, one executor, one katas store.
///
/// Runs of one kata are serialised (its sandbox is one directory or one
/// tar); runs of different katas go in parallel.
pub struct Runner {
    guest: Guest,
    executor: Arc<Executor>,
    katas: Arc<Katas>,
    limits: Limits,
    locks: Mutex<HashMap<KataId, Arc<tokio::sync::Mutex<()>>>>,
}

impl Runner {
    /// A runner over these parts.
    pub fn new(guest: Guest, executor: Arc<Executor>, katas: Arc<Katas>) -> Self {
        Self {
            guest,
            executor,
            katas,
            limits: Limits::default(),
            locks: Mutex::default(),
        }
    }

    /// The katas store, for reading histories.
    pub fn katas(&self) -> &Katas {
        &self.katas
    }

    /// The guest, for reading a kata directory the same way runs do.
    pub fn guest(&self) -> &Guest {
        &self.guest
    }

    /// The executor, for pulling images and reaping.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// One run, top to bottom.
    pub async fn run(&self, req: RunRequest, judge: &dyn Judge) -> Result<RunReport, RunError> {
        let started = Instant::now();
        let id = req.id.clone();
        let lock = self.lock_for(&id);
        let _one_at_a_time = lock.lock().await;
        let plan = req.runner.plan();
        let mut timings = Timings::default();
        let store_err = |source| RunError::Store {
            id: id.clone(),
            source,
        };

        // 1. The sandbox to run: fresh, or the kata's saved one synced with
        //    the request. Only the guest touches files.
        let wants_saved = plan.start == Start::Saved || plan.keep == Keep::Sandbox;
        let mut begun = self
            .katas
            .begin(&id, wants_saved)
            .await
            .map_err(store_err)?;
        let previous: BTreeSet<SandboxPath> = match &begun.last {
            Some(event) => event.files.keys().cloned().collect(),
            None => BTreeSet::new(),
        };
        let now = Timestamp::now();
        let sandbox = match (plan.start, &begun.home) {
            (Start::Fresh, _) => {
                let files = req.files.clone();
                let tar = self
                    .guest_call("packing the request's files", &id, move |g| {
                        g.pack_files(&files, now)
                    })
                    .await?;
                Sandbox::Tar(tar)
            }
            (Start::Saved, SandboxHome::Dir(dir)) => {
                let (dir2, files, prev) = (dir.clone(), req.files.clone(), previous.clone());
                self.guest_call("syncing the kata's sandbox", &id, move |g| {
                    g.sync(&dir2, &files, &prev, now)
                })
                .await?;
                Sandbox::BindMount(dir.clone())
            }
            (Start::Saved, SandboxHome::Volume) => {
                let saved = std::mem::take(&mut begun.saved);
                let (files, prev, limits) =
                    (req.files.clone(), previous.clone(), self.limits.clone());
                let (tar, _) = self
                    .guest_call("syncing the kata's saved sandbox", &id, move |g| {
                        g.sync_tar(&saved, &files, &prev, now, &limits)
                    })
                    .await?;
                Sandbox::Tar(tar)
            }
        };
        let bind = matches!(sandbox, Sandbox::BindMount(_));
        timings.prepare = started.elapsed();

        // 2. The container.
        let t = Instant::now();
        let job = RunJob {
            image: req.image.clone(),
            kata_id: id.clone(),
            sandbox,
            max_seconds: req.max_seconds,
            limits: None,
        };
        let ran = self.executor.run(job).await;
        timings.container = t.elapsed();

        // 3. What came back, checked by the guest; the sandbox kept if asked.
        let t = Instant::now();
        let (result, log) = match ran {
            Ok(result) => (Some(result), None),
            Err(
                e @ (ExecError::NoBash { .. }
                | ExecError::Wrapper { .. }
                | ExecError::Harvest { .. }),
            ) => (None, Some(e.to_string())),
            Err(source) => return Err(RunError::Exec { id, source }),
        };
        let (mut delta, mut report, mut kept) = match &result {
            Some(r) if !r.timed_out => {
                self.harvest(&id, &req, r, bind, &begun.home, plan.keep)
                    .await?
            }
            _ if bind => {
                // The killed or failed run still left its mark on the
                // bind-mounted sandbox: the guest clears out links, FIFOs
                // and bad names now, though nothing is reported.
                if let SandboxHome::Dir(dir) = &begun.home {
                    let (dir, files, limits) =
                        (dir.clone(), req.files.clone(), self.limits.clone());
                    self.guest_call("checking the kata's sandbox", &id, move |g| {
                        g.harvest_dir(&dir, &files, &limits)
                    })
                    .await?;
                }
                (Delta::default(), Report::default(), None)
            }
            _ => (Delta::default(), Report::default(), None),
        };
        if result.as_ref().is_some_and(|r| r.sandbox_tar_truncated) {
            // Part of the sandbox did not come back: what is missing was
            // not deleted, and a partial sandbox must not replace the saved one.
            delta.deleted.clear();
            kept = None;
            // The client is told: "." stands for the rest of the sandbox.
            report.refused.push(Refusal {
                path: ".".into(),
                reason: RefusalReason::TooManyBytes,
            });
        }
        timings.harvest = t.elapsed();

        // 4. The colour, and the event in the history.
        let t = Instant::now();
        let (outcome, status, stdout, stderr, log) = judge_run(result.as_ref(), log, judge);
        let mut files = req.files.clone();
        for path in &delta.deleted {
            files.remove(path);
        }
        for (path, content) in delta.created.iter().chain(&delta.changed) {
            files.insert(path.clone(), content.content.clone());
        }
        let event = NewEvent {
            time: now,
            duration_secs: started.elapsed().as_secs_f64(),
            runner: req.runner.as_str().to_owned(),
            image: req.image.clone(),
            outcome,
            status,
            stdout,
            stderr,
            files,
            created: delta.created.keys().cloned().collect(),
            changed: delta.changed.keys().cloned().collect(),
            deleted: delta.deleted.clone(),
        };
        let event = self
            .katas
            .finish(&id, &begun, event, kept)
            .await
            .map_err(store_err)?;
        timings.save = t.elapsed();
        timings.total = started.elapsed();
        tracing::info!(
            kata = %id, index = event.index, outcome = %event.outcome,
            runner = req.runner.as_str(), ?timings, "run"
        );
        Ok(RunReport {
            event,
            created: delta.created,
            changed: delta.changed,
            deleted: delta.deleted,
            omitted: delta.omitted,
            refused: report.refused,
            log,
            timings,
        })
    }

    /// Checks what the run left and works out the delta; keeps the sandbox
    /// when the plan says so (a directory now; for a volume, the checked tar
    /// is returned, to be saved with the event).
    async fn harvest(
        &self,
        id: &KataId,
        req: &RunRequest,
        result: &RunResult,
        bind: bool,
        home: &SandboxHome,
        keep: Keep,
    ) -> Result<(Delta, Report, Option<Vec<u8>>), RunError> {
        let baseline = req.files.clone();
        let limits = self.limits.clone();
        if bind {
            let SandboxHome::Dir(dir) = home else {
                unreachable!("only a directory home is bind-mounted")
            };
            let dir: PathBuf = dir.clone();
            let (delta, report) = self
                .guest_call("harvesting the kata's sandbox", id, move |g| {
                    g.harvest_dir(&dir, &baseline, &limits)
                })
                .await?;
            return Ok((delta, report, None));
        }
        let tar = result.sandbox_tar.clone().unwrap_or_default();
        let (checked, delta, report) = self
            .guest_call("checking the sandbox that came back", id, move |g| {
                g.harvest_tar(&tar, &baseline, &limits)
            })
            .await?;
        match (keep, home) {
            (Keep::History, _) => Ok((delta, report, None)),
            (Keep::Sandbox, SandboxHome::Volume) => Ok((delta, report, Some(checked))),
            (Keep::Sandbox, SandboxHome::Dir(dir)) => {
                let dir = dir.clone();
                let limits = self.limits.clone();
                self.guest_call("keeping the sandbox", id, move |g| {
                    g.unpack(&dir, &checked, &limits)
                })
                .await?;
                Ok((delta, report, None))
            }
        }
    }

    /// Runs a guest call off the async threads: it is CPU-bound, and
    /// wasmtime-wasi's synchronous linker must not run inside a tokio task.
    async fn guest_call<T: Send + 'static>(
        &self,
        step: &'static str,
        id: &KataId,
        call: impl FnOnce(&Guest) -> Result<T, GuestError> + Send + 'static,
    ) -> Result<T, RunError> {
        let guest = self.guest.clone();
        tokio::task::spawn_blocking(move || call(&guest))
            .await
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
            .map_err(|source| RunError::Guest {
                id: id.clone(),
                step,
                source,
            })
    }

    fn lock_for(&self, id: &KataId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Forget locks nobody holds, so the map does not grow with every kata.
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(id.clone()).or_default().clone()
    }
}

/// The outcome, status, output and log of a run, as cyber-dojo reports them.
fn judge_run(
    result: Option<&RunResult>,
    log: Option<String>,
    judge: &dyn Judge,
) -> (Outcome, String, FileContent, FileContent, Option<String>) {
    let empty = || FileContent {
        content: String::new(),
        truncated: false,
    };
    let synthetic = |o: Outcome, log| {
        let status = o.synthetic_status().unwrap_or_default().to_string();
        (o, status, empty(), empty(), log)
    };
    let Some(r) = result else {
        return synthetic(Outcome::Faulty, log);
    };
    if r.timed_out {
        return synthetic(
            Outcome::TimedOut,
            Some("the run timed out and was killed".into()),
        );
    }
    let text = |c: &kata_docker::Captured| {
        let mut fc = FileContent::from_bytes(&c.bytes, TEXT_FILE_CAP);
        fc.truncated |= c.truncated;
        fc
    };
    let (stdout, stderr) = (text(&r.stdout), text(&r.stderr));
    match judge.colour(&stdout.content, &stderr.content, r.status) {
        Ok(o) => (o, r.status.to_string(), stdout, stderr, None),
        Err(why) => {
            let (o, status, _, _, _) = synthetic(Outcome::Faulty, None);
            (o, status, stdout, stderr, Some(why))
        }
    }
}
