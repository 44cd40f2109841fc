use std::path::Path;
use std::process::Command;

use kata_abi::Timestamp;
use kata_store::{DirKatas, Event, NewEvent};
use kata_types::{FileContent, Files, KataId, Outcome, SandboxPath};

pub fn id(s: &str) -> KataId {
    KataId::new(s).unwrap()
}

pub fn path(s: &str) -> SandboxPath {
    SandboxPath::new(s).unwrap()
}

pub fn store() -> (tempfile::TempDir, DirKatas) {
    let tmp = tempfile::tempdir().unwrap();
    let katas = DirKatas::open(tmp.path().join("katas")).unwrap();
    (tmp, katas)
}

/// The `n`th run of a C kata: `hiker.c` says `n`, and odd runs are red.
pub fn run(n: u64) -> NewEvent {
    let files: Files = [
        ("cyber-dojo.sh", "make test\n".to_owned()),
        ("hiker.c", format!("int answer(void) {{ return {n}; }}\n")),
        ("s1/s2/x.txt", format!("nested {n}\n")),
    ]
    .into_iter()
    .map(|(p, c)| (path(p), c))
    .collect();
    NewEvent {
        time: Timestamp {
            secs: 1_700_000_000 + n as i64,
            nanos: 123_456_789,
        },
        duration_secs: 1.0 + n as f64 / 100.0,
        runner: "katas".into(),
        image: "cyberdojofoundation/gcc_assert:56fa098".into(),
        outcome: if n % 2 == 1 {
            Outcome::Red
        } else {
            Outcome::Green
        },
        status: if n % 2 == 1 { "2" } else { "0" }.into(),
        stdout: FileContent {
            content: format!("run {n}\n"),
            truncated: false,
        },
        stderr: FileContent {
            content: "hiker.c:4: assertion failed\n".into(),
            truncated: n == 3,
        },
        files,
        created: [path("s1/s2/x.txt")].into(),
        changed: [path("hiker.c")].into(),
        deleted: [path("old.c")].into(),
    }
}

/// Runs the real git CLI in `repo` and returns its stdout; panics on failure.
pub fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@localhost")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@localhost")
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What `append` returns for `run(n)` stored as event `n`.
pub fn expected(n: u64) -> Event {
    let e = run(n);
    Event {
        index: n,
        time: e.time,
        duration_secs: e.duration_secs,
        runner: e.runner,
        image: e.image,
        outcome: e.outcome,
        status: e.status,
        stdout: e.stdout,
        stderr: e.stderr,
        files: e.files,
        created: e.created,
        changed: e.changed,
        deleted: e.deleted,
    }
}
