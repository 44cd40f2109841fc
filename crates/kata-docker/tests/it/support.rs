use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::query_parameters::ListContainersOptions;
use kata_docker::{
    Executor, ExecutorConfig, LABEL_INSTANCE, LABEL_KATA, RunJob, RunResult, Sandbox,
};
use kata_types::KataId;
use tokio::runtime::Runtime;
use tokio::sync::{Mutex, MutexGuard, OnceCell};

pub const BUSYBOX: &str = "kata-runner/busybox-bash";
pub const GCC: &str = "kata-runner/gcc";
pub const NO_BASH: &str = "kata-runner/no-bash";

/// One runtime for every test, so that a guard's background removal outlives
/// the test that dropped it.
fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

pub fn block_on<F: Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

pub const TEST_INSTANCE: &str = "kata-runner-test";
pub const REAP_TEST_INSTANCE: &str = "kata-runner-reap-test";

pub async fn executor() -> &'static Executor {
    static EXEC: OnceCell<Executor> = OnceCell::const_new();
    EXEC.get_or_init(|| async {
        let config = ExecutorConfig {
            instance: TEST_INSTANCE.to_owned(),
            ..ExecutorConfig::default()
        };
        let exec = Executor::connect(config)
            .await
            .unwrap_or_else(|e| panic!("the Docker engine is needed for these tests: {e}"));
        for image in [BUSYBOX, GCC, NO_BASH] {
            let found = exec.image_exists(image).await.expect("inspecting images");
            assert!(found, "test image {image} is missing: run images/build");
        }
        exec
    })
    .await
}

pub async fn docker() -> &'static Docker {
    static DOCKER: OnceCell<Docker> = OnceCell::const_new();
    DOCKER
        .get_or_init(|| async {
            Docker::connect_with_defaults()
                .expect("docker")
                .negotiate_version()
                .await
                .expect("the Docker engine is needed for these tests")
        })
        .await
}

/// CPU-hungry and timing-sensitive tests take turns: on two cores a fork
/// bomb next door would make a deadline test measure the machine, not us.
pub async fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::const_new(());
    LOCK.lock().await
}

/// A fresh kata id per test, so each can find its own containers.
pub fn kata_id() -> KataId {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut x = nanos
        .wrapping_mul(6364136223846793005)
        .wrapping_add(N.fetch_add(1, Ordering::Relaxed) * 7919);
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut id = String::new();
    for _ in 0..6 {
        id.push(alphabet[(x % 62) as usize] as char);
        x /= 62;
    }
    KataId::new(&id).unwrap()
}

/// A tar of text files, `-rw-r--r--`, as the server will send.
pub fn sandbox_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(now);
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn job(image: &str, id: &KataId, files: &[(&str, &[u8])], max_seconds: u32) -> RunJob {
    RunJob {
        image: image.to_owned(),
        kata_id: id.clone(),
        sandbox: Sandbox::Tar(sandbox_tar(files)),
        max_seconds,
        limits: None,
    }
}

/// Runs `script` as cyber-dojo.sh in `image` and checks the container is gone.
pub async fn run_script(image: &str, script: &str, max_seconds: u32) -> RunResult {
    let id = kata_id();
    let result = executor()
        .await
        .run(job(
            image,
            &id,
            &[("cyber-dojo.sh", script.as_bytes())],
            max_seconds,
        ))
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"));
    assert_gone(&id, Duration::ZERO).await;
    result
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarFile {
    pub data: Vec<u8>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub kind: tar::EntryType,
}

pub fn tar_entries(tar: &[u8]) -> BTreeMap<String, TarFile> {
    use std::io::Read;
    let mut archive = tar::Archive::new(tar);
    let mut out = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let h = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.insert(
            path,
            TarFile {
                data,
                mode: h.mode().unwrap(),
                uid: h.uid().unwrap(),
                gid: h.gid().unwrap(),
                kind: h.entry_type(),
            },
        );
    }
    out
}

async fn list(filter: String) -> Vec<String> {
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([("label".to_owned(), vec![filter])])),
        ..Default::default()
    };
    docker()
        .await
        .list_containers(Some(options))
        .await
        .expect("listing containers")
        .into_iter()
        .map(|c| c.names.unwrap_or_default().join(","))
        .collect()
}

pub async fn containers_of(id: &KataId) -> Vec<String> {
    list(format!("{LABEL_KATA}={id}")).await
}

/// Every container of the instances this suite uses (not those of a server
/// or another suite that may share the engine).
pub async fn labelled_containers() -> Vec<String> {
    let mut all = Vec::new();
    for instance in [TEST_INSTANCE, REAP_TEST_INSTANCE] {
        all.extend(list(format!("{LABEL_INSTANCE}={instance}")).await);
    }
    all
}

/// Fails unless the kata's containers are gone within `within`.
pub async fn assert_gone(id: &KataId, within: Duration) {
    let until = Instant::now() + within;
    loop {
        let left = containers_of(id).await;
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < until,
            "containers of {id} left behind: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls until the kata has a container (so a test can interrupt a run).
pub async fn wait_for_container(id: &KataId) {
    let until = Instant::now() + Duration::from_secs(10);
    while containers_of(id).await.is_empty() {
        assert!(Instant::now() < until, "no container appeared for {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// This process's resident memory, from /proc.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}
