use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Once};

use kata_docker::{Executor, ExecutorConfig};
use kata_store::{DirKatas, Katas, VolumeKatas};
use kata_strategy::{ByStatus, RunReport, RunRequest, Runner, RunnerKind};
use kata_types::{Files, KataId, SandboxPath};

pub use crate::c_kata::{c_kata, compiled};
use kata_wasi::{Guest, GuestConfig};

pub const GCC: &str = "kata-runner/gcc";
/// The data container's image: it needs `sh` and busybox's tools.
pub const SMALL: &str = "kata-runner/busybox-bash";

static GUEST: LazyLock<Guest> = LazyLock::new(|| Guest::new(GuestConfig::default()).unwrap());

/// The server's umask (see kata-store): files the guest makes in a sandbox
/// must be group-writable for the container's user.
fn server_umask() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o007));
    });
}

/// A runner over one katas backend, cleaned up when dropped.
pub struct World {
    pub runner: Runner,
    pub root: Option<tempfile::TempDir>,
    volume: Option<(VolumeKatas, String)>,
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Dir,
    Volume,
}

impl World {
    pub async fn new(backend: Backend) -> Self {
        server_umask();
        let executor = Arc::new(
            Executor::connect(ExecutorConfig::default())
                .await
                .expect("the Docker engine is reachable (the tests need it)"),
        );
        let (katas, root, volume) = match backend {
            Backend::Dir => {
                let root = tempfile::tempdir().unwrap();
                let katas = DirKatas::open(root.path().join("katas")).unwrap();
                (Katas::Dir(Arc::new(katas)), Some(root), None)
            }
            Backend::Volume => {
                let name = format!("kata-runner-test-{}-{}", std::process::id(), unique());
                let v = VolumeKatas::open(&executor, &name, SMALL).await.unwrap();
                (Katas::Volume(v.clone()), None, Some((v, name)))
            }
        };
        let runner = Runner::new(GUEST.clone(), executor, Arc::new(katas));
        Self {
            runner,
            root,
            volume,
        }
    }

    pub fn katas_root(&self) -> PathBuf {
        self.root.as_ref().unwrap().path().join("katas")
    }

    pub async fn run(&self, id: &KataId, files: &Files, runner: RunnerKind) -> RunReport {
        let req = RunRequest {
            id: id.clone(),
            files: files.clone(),
            image: GCC.into(),
            max_seconds: 60,
            runner,
        };
        self.runner.run(req, &ByStatus).await.unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some((v, name)) = self.volume.take() {
            // Async cleanup from a sync drop: on a thread of its own.
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(v.destroy(&name))
            })
            .join()
            .unwrap()
            .unwrap();
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub fn p(s: &str) -> SandboxPath {
    SandboxPath::new(s).unwrap()
}

pub fn id(s: &str) -> KataId {
    KataId::new(s).unwrap()
}
