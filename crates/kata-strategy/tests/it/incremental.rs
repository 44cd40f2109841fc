//! The katas runner's point: the second run of a C kata compiles only what
//! changed, under either backend; tmp compiles everything every time.

use std::io::Read;

use kata_store::Katas;
use kata_strategy::RunnerKind;
use kata_types::Outcome;

use crate::support::*;

async fn run_twice(backend: Backend, runner: RunnerKind) -> (World, Vec<String>, Vec<String>) {
    let world = World::new(backend).await;
    let kata = id("C1rcle");
    let mut files = c_kata();
    let first = world.run(&kata, &files, runner).await;
    assert_eq!(
        first.event.outcome,
        Outcome::Green,
        "{}",
        first.event.stderr.content
    );
    files.insert(p("f07.c"), "int f07(void) { return 3 + 4; }\n".into());
    let second = world.run(&kata, &files, runner).await;
    assert_eq!(
        second.event.outcome,
        Outcome::Green,
        "{}",
        second.event.stderr.content
    );
    assert!(second.event.stdout.content.contains("All tests passed"));
    (world, compiled(&first), compiled(&second))
}

#[tokio::test(flavor = "multi_thread")]
async fn katas_over_a_directory_recompiles_only_the_changed_file() {
    let (_world, first, second) = run_twice(Backend::Dir, RunnerKind::Katas).await;
    assert_eq!(first.len(), 17);
    assert_eq!(second, ["f07.c"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn katas_over_a_volume_recompiles_only_the_changed_file() {
    let (_world, first, second) = run_twice(Backend::Volume, RunnerKind::Katas).await;
    assert_eq!(first.len(), 17);
    assert_eq!(second, ["f07.c"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn tmp_recompiles_everything_every_time() {
    let (_world, first, second) = run_twice(Backend::Dir, RunnerKind::Tmp).await;
    assert_eq!(first.len(), 17);
    assert_eq!(second.len(), 17);
}

#[tokio::test(flavor = "multi_thread")]
async fn unchanged_files_keep_their_timestamps_over_a_directory() {
    let world = World::new(Backend::Dir).await;
    let kata = id("T1mesD");
    let mut files = c_kata();
    world.run(&kata, &files, RunnerKind::Katas).await;
    let sandbox = world.katas_root().join("T1/me/sD/sandbox");
    let mtime = |name: &str| {
        filetime::FileTime::from_last_modification_time(
            &std::fs::metadata(sandbox.join(name)).unwrap(),
        )
    };
    let (f01, o01, h) = (mtime("f01.c"), mtime("f01.o"), mtime("hiker.h"));
    files.insert(
        p("f07.c"),
        "int f07(void) { return 7; } /* edited */\n".into(),
    );
    world.run(&kata, &files, RunnerKind::Katas).await;
    assert_eq!(
        (mtime("f01.c"), mtime("f01.o"), mtime("hiker.h")),
        (f01, o01, h)
    );
    assert!(mtime("f07.c") > f01);
}

#[tokio::test(flavor = "multi_thread")]
async fn unchanged_files_keep_their_timestamps_over_a_volume() {
    let world = World::new(Backend::Volume).await;
    let kata = id("T1mesV");
    let mut files = c_kata();
    world.run(&kata, &files, RunnerKind::Katas).await;
    let Katas::Volume(v) = world.runner.katas() else {
        unreachable!()
    };
    let mtimes = |tar: Vec<u8>| {
        let mut out = std::collections::BTreeMap::new();
        let mut archive = tar::Archive::new(&tar[..]);
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let mtime = e.header().mtime().unwrap();
            let mut sink = Vec::new();
            e.read_to_end(&mut sink).unwrap();
            out.insert(name, mtime);
        }
        out
    };
    let before = mtimes(v.load_sandbox(&kata).await.unwrap());
    assert!(
        before.contains_key("f01.o") && before.contains_key("run_tests"),
        "{before:?}"
    );
    files.insert(
        p("f07.c"),
        "int f07(void) { return 7; } /* edited */\n".into(),
    );
    world.run(&kata, &files, RunnerKind::Katas).await;
    let after = mtimes(v.load_sandbox(&kata).await.unwrap());
    for name in ["f01.c", "f01.o", "hiker.h", "makefile"] {
        assert_eq!(before[name], after[name], "{name}");
    }
    assert!(after["f07.c"] > before["f07.o"]);
}

async fn deletions_reach_the_katas(backend: Backend) {
    let world = World::new(backend).await;
    let kata = id("De1ete");
    let mut files = c_kata();
    files.insert(
        p("cyber-dojo.sh"),
        "rm -f old.txt\nmake --no-print-directory test\n".into(),
    );
    files.insert(p("old.txt"), "remove me".into());
    let report = world.run(&kata, &files, RunnerKind::Katas).await;
    assert_eq!(
        report
            .deleted
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>(),
        ["old.txt"]
    );
    assert!(!report.event.files.contains_key("old.txt"));
    let last = world.runner.katas().last(&kata).await.unwrap().unwrap();
    assert!(!last.files.contains_key("old.txt"));
    // The next run does not bring it back either.
    files.remove(&p("old.txt"));
    files.insert(p("cyber-dojo.sh"), "ls\n".into());
    let report = world.run(&kata, &files, RunnerKind::Katas).await;
    assert!(
        !report.event.stdout.content.lines().any(|l| l == "old.txt"),
        "{}",
        report.event.stdout.content
    );
    assert!(report.event.stdout.content.lines().any(|l| l == "f01.o"));
}

#[tokio::test(flavor = "multi_thread")]
async fn files_deleted_in_the_container_are_gone_from_a_directory() {
    deletions_reach_the_katas(Backend::Dir).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn files_deleted_in_the_container_are_gone_from_a_volume() {
    deletions_reach_the_katas(Backend::Volume).await;
}

async fn history_holds_every_run(backend: Backend) -> World {
    let world = World::new(backend).await;
    let kata = id("H1stor");
    let mut files = c_kata();
    files.insert(p("cyber-dojo.sh"), "echo run; exit 1\n".into());
    for n in 1..=3 {
        files.insert(p("notes.txt"), format!("run {n}"));
        let runner = if n == 2 {
            RunnerKind::Tmp
        } else {
            RunnerKind::Katas
        };
        let report = world.run(&kata, &files, runner).await;
        assert_eq!(report.event.index, n);
    }
    let events = world.runner.katas().events(&kata).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.index).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        events.iter().map(|e| e.runner.as_str()).collect::<Vec<_>>(),
        ["katas", "tmp", "katas"]
    );
    for (n, e) in events.iter().enumerate() {
        assert_eq!(e.outcome, Outcome::Red);
        assert_eq!(e.status, "1");
        assert_eq!(e.stdout.content, "run\n");
        assert_eq!(e.files[&p("notes.txt")], format!("run {}", n + 1));
        assert_eq!(e.image, GCC);
    }
    world
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_keeps_the_history_as_git() {
    let world = history_holds_every_run(Backend::Dir).await;
    let repo = world.katas_root().join("H1/st/or/history.git");
    let log = std::process::Command::new("git")
        .args(["-C", repo.to_str().unwrap(), "log", "--format=%s"])
        .output()
        .unwrap();
    let log = String::from_utf8(log.stdout).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(log.lines().all(|l| l.contains("red")), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_volume_keeps_the_same_history() {
    history_holds_every_run(Backend::Volume).await;
}
