//! The system under test: the `kata-runner` binary as a process, the Docker
//! engine, and the files around them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const SMALL: &str = "kata-runner/busybox-bash";
pub const GCC: &str = "kata-runner/gcc";

/// What no response may ever contain: the content of files outside the kata.
pub const SECRET_OUTSIDE: &str = "sentinel-outside-the-katas-7f3a9c";
pub const SECRET_OTHER_KATA: &str = "sentinel-of-another-kata-b81e04";
/// The kata that holds [`SECRET_OTHER_KATA`]; every server has it.
pub const OTHER_KATA: &str = "SENTL1";

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
});

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    RT.block_on(f)
}

pub fn spawn<F>(f: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    RT.spawn(f)
}

/// Where a server keeps katas, and which runner it uses by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The stateless runner (history still kept in a host directory).
    Tmp,
    /// Katas over a host directory: the sandbox is bind-mounted.
    Dir,
    /// Katas over a Docker volume behind a data container.
    Volume,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Tmp, Backend::Dir, Backend::Volume];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Tmp => "tmp",
            Backend::Dir => "dir",
            Backend::Volume => "volume",
        }
    }
}

/// A unique kata id for each run of each case: 6 letters and digits.
pub fn fresh_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id()) * 1000;
    let alphabet = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (n >> 7);
    (0..6)
        .map(|_| {
            let c = alphabet[(x % 32) as usize] as char;
            x /= 32;
            c
        })
        .collect()
}

/// The `kata-runner serve` process, its katas and its sentinels.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub backend: Backend,
    pub instance: String,
    /// Holds `katas/` (dir backends) and `sentinel.txt`.
    pub root: tempfile::TempDir,
    pub client: reqwest::Client,
    volume: Option<String>,
    args: Vec<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts a server and seeds [`OTHER_KATA`]. `extra` are more `serve` flags.
    pub fn start(backend: Backend, tag: &str, extra: &[&str]) -> Server {
        let root = tempfile::Builder::new()
            .prefix("kata-system-")
            .tempdir()
            .unwrap();
        std::fs::write(root.path().join("sentinel.txt"), SECRET_OUTSIDE).unwrap();
        let instance = format!("kata-system-{tag}-{}", std::process::id());
        let (katas, runner, volume) = match backend {
            Backend::Tmp => (
                format!("dir:{}", root.path().join("katas").display()),
                "tmp",
                None,
            ),
            Backend::Dir => (
                format!("dir:{}", root.path().join("katas").display()),
                "katas",
                None,
            ),
            Backend::Volume => {
                let volume = format!("{instance}-katas");
                (format!("docker-volume:{volume}"), "katas", Some(volume))
            }
        };
        let port = free_port();
        let mut args: Vec<String> = [
            "serve",
            "--port",
            &port.to_string(),
            "--katas",
            &katas,
            "--runner",
            runner,
            "--instance",
            &instance,
            "--data-image",
            SMALL,
            "--shutdown-grace-secs",
            "5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut server = Server {
            child: None,
            port,
            backend,
            instance,
            root,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            volume,
            args,
        };
        server.launch();
        let seeded = server.run(
            OTHER_KATA,
            json!({
                "image": SMALL,
                "max_seconds": 5,
                "rules": crate::hostile::rules(),
                "files": {"cyber-dojo.sh": "echo seeded", "secret.txt": SECRET_OTHER_KATA},
            }),
        );
        assert_eq!(seeded.status, 201, "seeding {OTHER_KATA}: {}", seeded.body);
        server
    }

    /// Starts the process (again) with the same flags; waits for `/ready`.
    pub fn launch(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kata-runner"))
            .args(&self.args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("kata-runner starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.ready() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the server exited ({status}); log:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "not ready; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_path(&self) -> PathBuf {
        // Beside the root, not in it: the root is compared before and after.
        PathBuf::from(format!("{}.log", self.root.path().display()))
    }

    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `kill -9`: no shutdown, no cleanup.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn ready(&self) -> bool {
        let url = self.url("/ready");
        block_on(async {
            match reqwest::get(&url).await {
                Ok(r) if r.status().is_success() => r
                    .json::<Value>()
                    .await
                    .is_ok_and(|v| v["ready?"] == json!(true)),
                _ => false,
            }
        })
    }

    /// Peak resident memory of the server process so far, in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .expect("VmHWM");
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap();
        kb * 1024
    }

    /// `POST /v1/katas/{id}/runs`.
    pub fn run(&self, id: &str, body: Value) -> Answer {
        self.send(
            reqwest::Method::POST,
            &format!("/v1/katas/{id}/runs"),
            body.to_string().into_bytes(),
        )
    }

    pub fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, Vec::new())
    }

    /// Any request with a raw body; the answer must be JSON.
    pub fn send(&self, method: reqwest::Method, path: &str, body: Vec<u8>) -> Answer {
        let started = Instant::now();
        let request = self
            .client
            .request(method, self.url(path))
            .header("content-type", "application/json")
            .body(body);
        let (status, text) = block_on(async move {
            let response = request.send().await.expect("the server answers");
            let status = response.status().as_u16();
            (status, response.text().await.expect("a whole answer"))
        });
        let elapsed = started.elapsed();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{path}: {status}, not JSON: {text:.300}"));
        Answer {
            status,
            body,
            text,
            elapsed,
        }
    }

    /// A POST whose body the server may refuse before reading it all: the
    /// body is written on another thread, as a browser would keep sending,
    /// while the answer is read here.
    pub fn send_big(&self, path: &str, body: Vec<u8>) -> Answer {
        use std::io::{Read, Write};
        let started = Instant::now();
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let sending = std::thread::spawn(move || {
            for chunk in body.chunks(64 << 10) {
                if writer.write_all(chunk).is_err() {
                    return;
                }
            }
        });
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) if raw.is_empty() => panic!("no answer: {e}"),
                Err(_) => break,
            }
        }
        let _ = stream.shutdown(std::net::Shutdown::Both);
        let _ = sending.join();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Answer {
            status,
            body: serde_json::from_str(body)
                .unwrap_or_else(|_| panic!("{path}: {status}, not JSON: {body:.300}")),
            text: body.to_owned(),
            elapsed: started.elapsed(),
        }
    }

    /// Where a kata lives on the host (dir backends only).
    pub fn kata_dir(&self, id: &str) -> PathBuf {
        let katas = self.root.path().join("katas");
        katas.join(&id[0..2]).join(&id[2..4]).join(&id[4..6])
    }

    /// Every path under the root but `except`, with what identifies its
    /// content: nothing outside a kata may change while it runs.
    pub fn snapshot_except(&self, except: &Path) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        walk(self.root.path(), except, &mut out);
        out
    }

    /// The containers of this server that are still on the engine.
    pub fn containers(&self) -> Vec<String> {
        containers_labelled(&format!("kata-runner.instance={}", self.instance))
    }

    /// Waits a moment for removals in flight, then lists what is left.
    pub fn containers_left(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let left = self.containers();
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What any case must leave true: the other kata untouched, the sentinel
    /// unread and unchanged.
    pub fn check_sentinels(&self) -> Result<(), String> {
        let outside = std::fs::read_to_string(self.root.path().join("sentinel.txt"))
            .map_err(|e| format!("sentinel.txt: {e}"))?;
        if outside != SECRET_OUTSIDE {
            return Err("sentinel.txt changed".into());
        }
        let events = self.get(&format!("/v1/katas/{OTHER_KATA}/events"));
        let n = events.body["events"].as_array().map_or(0, Vec::len);
        if n != 1 {
            return Err(format!("{OTHER_KATA} has {n} events, not 1"));
        }
        let first = self.get(&format!("/v1/katas/{OTHER_KATA}/events/1"));
        if first.body["files"]["secret.txt"] != json!(SECRET_OTHER_KATA) {
            return Err(format!("{OTHER_KATA}'s secret.txt changed"));
        }
        if self.backend != Backend::Volume {
            let on_disk = self.kata_dir(OTHER_KATA).join("sandbox/secret.txt");
            if self.backend == Backend::Dir
                && std::fs::read_to_string(&on_disk).ok().as_deref() != Some(SECRET_OTHER_KATA)
            {
                return Err(format!("{} changed", on_disk.display()));
            }
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if let Some(volume) = &self.volume {
            // The data container holds the volume; the server leaves it
            // running for the next start, so the suite removes both.
            for id in containers_labelled(&format!("kata-runner.data={volume}")) {
                let _ = Command::new("docker").args(["rm", "-f", &id]).output();
            }
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", volume])
                .output();
        }
        let _ = std::fs::remove_file(self.log_path());
    }
}

fn walk(dir: &Path, except: &Path, out: &mut BTreeMap<PathBuf, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.starts_with(except) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if except.starts_with(&path) {
            // The kata's shard directories may be made by its run.
            walk(&path, except, out);
            continue;
        }
        use std::os::unix::fs::MetadataExt;
        out.insert(
            path.clone(),
            format!(
                "{:o} {} {}.{}",
                meta.mode(),
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec()
            ),
        );
        if meta.is_dir() {
            walk(&path, except, out);
        }
    }
}

/// Containers on the engine with `label` (`key=value`), running or not.
pub fn containers_labelled(label: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label={label}")])
        .output()
        .expect("the docker CLI runs (the suite checks the engine with it)");
    assert!(
        out.status.success(),
        "docker ps: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// An HTTP answer.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub elapsed: Duration,
}

impl Answer {
    pub fn outcome(&self) -> &str {
        self.body["outcome"].as_str().unwrap_or("")
    }

    /// The native API's `{content, truncated}`, or cyber-dojo's string.
    pub fn stdout(&self) -> &str {
        self.stream("stdout")
    }

    pub fn stderr(&self) -> &str {
        self.stream("stderr")
    }

    fn stream(&self, name: &str) -> &str {
        let v = &self.body[name];
        v["content"].as_str().or(v.as_str()).unwrap_or("")
    }

    /// `(path, reason)` of every refused entry.
    pub fn refused(&self) -> Vec<(String, String)> {
        self.body["refused"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        (
                            r["path"].as_str().unwrap_or("").to_owned(),
                            r["reason"]["reason"]
                                .as_str()
                                .or(r["reason"].as_str())
                                .unwrap_or("")
                                .to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn refused_as(&self, path: &str, reason: &str) -> bool {
        self.refused()
            .iter()
            .any(|(p, r)| p.trim_end_matches('/') == path && r == reason)
    }

    /// Names the run created, returned or omitted.
    pub fn created(&self) -> Vec<String> {
        let mut names: Vec<String> = self.body["created"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        if let Some(omitted) = self.body["omitted"].as_array() {
            names.extend(omitted.iter().filter_map(|v| v.as_str().map(str::to_owned)));
        }
        names
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Restarts the Docker engine the way an operator's would: SIGTERM to
/// dockerd, wait for it to go, start it again with the same command line.
pub fn restart_engine() {
    let pid = String::from_utf8(
        Command::new("pidof")
            .arg("dockerd")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let pid = pid
        .split_whitespace()
        .next()
        .expect("dockerd runs")
        .to_owned();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let argv: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "dockerd did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A supervisor may bring it back by itself; then leave it be.
    std::thread::sleep(Duration::from_secs(1));
    if !engine_up() {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open("/var/log/kata-runner-dockerd.log")
            .unwrap();
        // `setsid --fork` returns at once, leaving dockerd in a session
        // of its own, outliving the suite as the engine should.
        let started = Command::new("setsid")
            .arg("--fork")
            .args(&argv)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .status()
            .expect("dockerd starts again");
        assert!(started.success(), "setsid dockerd: {started}");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !engine_up() {
        assert!(Instant::now() < deadline, "dockerd did not come back");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn engine_up() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
