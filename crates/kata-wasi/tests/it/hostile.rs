//! Crafted tars and planted links: each is refused and reported, the rest of
//! the stream is taken, and nothing outside the kata directory changes.

use std::fs;
use std::os::unix::fs::symlink;

use kata_abi::{Limits, RefusalReason, Report};
use kata_types::PathError;
use tar::EntryType;

use crate::support::*;

/// Unpacks `tar` into a fresh kata and harvests it too; both must refuse
/// `bad` for `why`, take `good.txt`, and leave the outside alone.
fn assert_refused(tar: Vec<u8>, bad: &str, why: RefusalReason) {
    let kata = Kata::new();
    let report = guest()
        .unpack(&kata.dir(), &tar, &Limits::default())
        .unwrap();
    assert_refusal(&report, bad, &why);
    let got = tree(&kata.dir());
    assert_eq!(
        got["good.txt"].0, b"fine",
        "the rest of the tar is still taken"
    );
    assert!(
        got.keys().all(|k| k == "good.txt"),
        "only good.txt may be there: {:?}",
        got.keys()
    );
    kata.assert_nothing_escaped();

    let (checked, _, report) = guest()
        .harvest_tar(&tar, &Default::default(), &Limits::default())
        .unwrap();
    assert_refusal(&report, bad, &why);
    let names: Vec<_> = tar_entries(&checked).into_keys().collect();
    assert_eq!(
        names,
        ["good.txt"],
        "the checked tar holds only what passed"
    );
}

fn assert_refusal(report: &Report, bad: &str, why: &RefusalReason) {
    assert!(
        report
            .refused
            .iter()
            .any(|r| r.path == bad && r.reason == *why),
        "expected {bad:?} refused for {why:?}, got {:?}",
        report.refused
    );
}

fn with_good(t: TarBuilder) -> Vec<u8> {
    t.file("good.txt", b"fine").finish()
}

#[test]
fn a_symlink_to_etc_passwd_is_refused() {
    let tar = with_good(TarBuilder::new().link(EntryType::Symlink, "passwd", "/etc/passwd"));
    assert_refused(tar, "passwd", RefusalReason::Symlink);
}

#[test]
fn a_symlink_to_a_sibling_kata_is_refused() {
    let tar = with_good(TarBuilder::new().link(EntryType::Symlink, "s", "../sibling-kata/secret"));
    assert_refused(tar, "s", RefusalReason::Symlink);
}

#[test]
fn a_hard_link_to_etc_passwd_is_refused() {
    let tar = with_good(TarBuilder::new().link(EntryType::Link, "passwd", "/etc/passwd"));
    assert_refused(tar, "passwd", RefusalReason::HardLink);
}

#[test]
fn a_parent_dir_escape_is_refused() {
    let tar = with_good(TarBuilder::new().file("../../escape", b"out!"));
    assert_refused(
        tar,
        "../../escape",
        RefusalReason::BadPath {
            error: PathError::ParentDir,
        },
    );
}

#[test]
fn a_nested_parent_dir_escape_is_refused() {
    let tar = with_good(TarBuilder::new().file("a/../../sentinel", b"out!"));
    assert_refused(
        tar,
        "a/../../sentinel",
        RefusalReason::BadPath {
            error: PathError::ParentDir,
        },
    );
}

#[test]
fn an_absolute_path_is_refused() {
    let tar = with_good(TarBuilder::new().file("/tmp/kata-runner-escape", b"out!"));
    assert_refused(
        tar,
        "/tmp/kata-runner-escape",
        RefusalReason::BadPath {
            error: PathError::Absolute,
        },
    );
    assert!(!std::path::Path::new("/tmp/kata-runner-escape").exists());
}

#[test]
fn a_backslash_is_refused() {
    let tar = with_good(TarBuilder::new().file("..\\..\\escape", b"out!"));
    assert_refused(
        tar,
        "..\\..\\escape",
        RefusalReason::BadPath {
            error: PathError::Backslash,
        },
    );
}

#[test]
fn a_nul_in_a_long_name_is_refused() {
    // A short name ends at its first NUL; a GNU long name can carry one inside.
    let name = format!("{}\0../escape", "n".repeat(120));
    let tar = with_good(TarBuilder::new().file(&name, b"out!"));
    let shown = name.clone();
    assert_refused(
        tar,
        &shown,
        RefusalReason::BadPath {
            error: PathError::Nul,
        },
    );
}

#[test]
fn a_newline_in_a_name_is_refused() {
    let tar = with_good(TarBuilder::new().file("evil\nname", b"x"));
    assert_refused(
        tar,
        "evil\nname",
        RefusalReason::BadPath {
            error: PathError::Control,
        },
    );
}

#[test]
fn non_utf8_names_are_refused() {
    let mut t = TarBuilder::new();
    t.file_raw(b"bad\xff", b"x");
    let shown = String::from_utf8_lossy(b"bad\xff").into_owned();
    assert_refused(
        with_good(t),
        &shown,
        RefusalReason::BadPath {
            error: PathError::NotUtf8,
        },
    );
}

#[test]
fn a_name_over_255_bytes_is_refused() {
    let name = "n".repeat(256);
    let tar = with_good(TarBuilder::new().file(&name, b"x"));
    assert_refused(
        tar,
        &name,
        RefusalReason::BadPath {
            error: PathError::NameTooLong,
        },
    );
}

#[test]
fn a_path_over_4096_bytes_is_refused() {
    let name = ["dd"; 1366].join("/");
    let tar = with_good(TarBuilder::new().file(&name, b"x"));
    assert_refused(
        tar,
        &name,
        RefusalReason::BadPath {
            error: PathError::PathTooLong,
        },
    );
}

#[test]
fn a_path_over_128_levels_is_refused() {
    let name = ["d"; 129].join("/");
    let tar = with_good(TarBuilder::new().file(&name, b"x"));
    assert_refused(
        tar,
        &name,
        RefusalReason::BadPath {
            error: PathError::TooDeep,
        },
    );
}

#[test]
fn devices_and_fifos_are_refused() {
    for (kind, why) in [
        (EntryType::Char, RefusalReason::Device),
        (EntryType::Block, RefusalReason::Device),
        (EntryType::Fifo, RefusalReason::Fifo),
    ] {
        let tar = with_good(TarBuilder::new().special(kind, "node"));
        assert_refused(tar, "node", why);
    }
}

#[test]
fn a_file_under_a_file_is_a_conflict() {
    let tar = with_good(
        TarBuilder::new()
            .file("x", b"file")
            .file("x/y", b"under a file"),
    );
    let kata = Kata::new();
    let report = guest()
        .unpack(&kata.dir(), &tar, &Limits::default())
        .unwrap();
    assert_refusal(&report, "x/y", &RefusalReason::Conflict);
    assert_eq!(tree(&kata.dir())["x"].0, b"file");
}

#[test]
fn a_tar_bomb_of_entries_stops_at_the_cap() {
    let mut t = TarBuilder::new();
    for i in 0..500 {
        t.file_with(&format!("f{i:03}"), b"x", 0o644, 1);
    }
    let limits = Limits {
        max_entries: 100,
        ..Limits::default()
    };
    let kata = Kata::new();
    let report = guest().unpack(&kata.dir(), &t.finish(), &limits).unwrap();
    assert_refusal(&report, "f100", &RefusalReason::TooManyEntries);
    assert_eq!(tree(&kata.dir()).len(), 100);
    kata.assert_nothing_escaped();
}

#[test]
fn a_tar_bomb_of_bytes_is_refused_file_by_file() {
    let mut t = TarBuilder::new();
    t.file_with("big1", &vec![7u8; 600_000], 0o644, 1);
    t.file_with("big2", &vec![7u8; 600_000], 0o644, 1);
    t.file_with("huge", &vec![7u8; 2_000_000], 0o644, 1);
    t.file_with("small", b"ok", 0o644, 1);
    let limits = Limits {
        max_total_bytes: 1_000_000,
        max_file_bytes: 1_500_000,
        ..Limits::default()
    };
    let kata = Kata::new();
    let report = guest().unpack(&kata.dir(), &t.finish(), &limits).unwrap();
    assert_refusal(&report, "big2", &RefusalReason::TooManyBytes);
    assert_refusal(
        &report,
        "huge",
        &RefusalReason::FileTooLarge { size: 2_000_000 },
    );
    let names: Vec<_> = tree(&kata.dir()).into_keys().collect();
    assert_eq!(names, ["big1", "small"]);
}

#[test]
fn a_truncated_tar_keeps_what_came_before_and_says_so() {
    let mut tar = TarBuilder::new()
        .file("first.txt", b"kept")
        .file("second.txt", b"cut")
        .finish();
    tar.truncate(512 * 2 + 100); // inside second.txt's header
    let kata = Kata::new();
    let report = guest()
        .unpack(&kata.dir(), &tar, &Limits::default())
        .unwrap();
    assert!(
        report
            .refused
            .iter()
            .any(|r| matches!(r.reason, RefusalReason::Malformed { .. })),
        "{:?}",
        report.refused
    );
    assert_eq!(tree(&kata.dir())["first.txt"].0, b"kept");
}

#[test]
fn links_planted_in_the_directory_are_never_followed() {
    let kata = Kata::new();
    symlink("/etc/passwd", kata.dir().join("passwd")).unwrap();
    symlink("../sibling-kata", kata.dir().join("sibling")).unwrap();
    fs::write(kata.dir().join("hiker.c"), "int x;").unwrap();

    let packed = guest().pack_dir(&kata.dir(), &Limits::default()).unwrap();
    let names: Vec<_> = tar_entries(&packed.tar).into_keys().collect();
    assert_eq!(
        names,
        ["hiker.c"],
        "pack takes neither link nor what it points at"
    );
    assert_refusal(&packed.report, "passwd", &RefusalReason::Symlink);
    assert_refusal(&packed.report, "sibling", &RefusalReason::Symlink);

    let (delta, report) = guest()
        .harvest_dir(&kata.dir(), &files(&[("passwd", "x")]), &Limits::default())
        .unwrap();
    assert_refusal(&report, "passwd", &RefusalReason::Symlink);
    assert!(
        delta.deleted.contains(&p("passwd")),
        "a refused baseline file counts as deleted"
    );
    assert!(delta.created.contains_key(&p("hiker.c")));
    let names: Vec<_> = tree(&kata.dir()).into_keys().collect();
    assert_eq!(names, ["hiker.c"], "harvest removes the links it refused");
    kata.assert_nothing_escaped();
}

#[test]
fn a_fifo_planted_in_the_directory_is_removed_not_read() {
    let kata = Kata::new();
    let fifo = kata.dir().join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let (_, report) = guest()
        .harvest_dir(&kata.dir(), &Default::default(), &Limits::default())
        .unwrap();
    assert_refusal(&report, "pipe", &RefusalReason::OtherType);
    assert!(!fifo.exists());
}

#[test]
fn thousands_of_refusals_are_counted_not_listed() {
    let mut t = TarBuilder::new();
    for i in 0..2_000 {
        t = t.link(EntryType::Symlink, &format!("l{i}"), "/etc/passwd");
    }
    let (_, _, report) = guest()
        .harvest_tar(&t.finish(), &Default::default(), &Limits::default())
        .unwrap();
    assert_eq!(report.refused.len(), kata_abi::MAX_REFUSALS_LISTED);
    assert_eq!(report.refused_count(), 2_000);
}

#[test]
fn odd_names_planted_in_the_directory_are_reported_without_failing_the_harvest() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let kata = Kata::new();
    fs::create_dir(kata.dir().join("sub")).unwrap();
    // WASI preview 1 cannot name this entry: its directory cannot be listed.
    fs::write(kata.dir().join(OsStr::from_bytes(b"sub/bad\xffname")), "x").unwrap();
    fs::write(kata.dir().join("sub/hidden.txt"), "x").unwrap();
    fs::write(kata.dir().join("new\nline"), "x").unwrap();
    fs::write(kata.dir().join("fine.txt"), "fine").unwrap();
    let (delta, report) = guest()
        .harvest_dir(&kata.dir(), &Default::default(), &Limits::default())
        .unwrap();
    assert!(
        report
            .refused
            .iter()
            .any(|r| r.path == "sub" && matches!(r.reason, RefusalReason::Unlistable { .. })),
        "{:?}",
        report.refused
    );
    assert_refusal(
        &report,
        "new\nline",
        &RefusalReason::BadPath {
            error: PathError::Control,
        },
    );
    assert_eq!(
        delta.created.keys().map(|p| p.as_str()).collect::<Vec<_>>(),
        ["fine.txt"]
    );
    assert!(
        !kata.dir().join("new\nline").exists(),
        "a name it could read but refused is removed"
    );
    kata.assert_nothing_escaped();
}

#[test]
fn what_a_stopped_walk_did_not_reach_is_not_reported_deleted() {
    let baseline = files(&[("a.txt", "a"), ("z.txt", "z")]);
    let mut t = TarBuilder::new();
    t.file_with("a.txt", b"a", 0o644, 1);
    for i in 0..10 {
        t.file_with(&format!("m{i}.o"), b"\0\0", 0o644, 1);
    }
    t.file_with("z.txt", b"z", 0o644, 1);
    let limits = Limits {
        max_entries: 5,
        ..Limits::default()
    };
    let (_, delta, report) = guest()
        .harvest_tar(&t.finish(), &baseline, &limits)
        .unwrap();
    assert!(
        report
            .refused
            .iter()
            .any(|r| r.reason == RefusalReason::TooManyEntries)
    );
    assert!(
        delta.deleted.is_empty(),
        "z.txt was never reached, not deleted: {:?}",
        delta.deleted
    );
}

#[test]
fn a_file_over_the_size_cap_stays_and_is_not_deleted() {
    let kata = Kata::new();
    fs::write(kata.dir().join("big.txt"), vec![b'x'; 2_000]).unwrap();
    fs::write(kata.dir().join("small.txt"), "s").unwrap();
    let baseline = files(&[("big.txt", "old"), ("small.txt", "s")]);
    let limits = Limits {
        max_file_bytes: 1_000,
        ..Limits::default()
    };
    let (delta, report) = guest()
        .harvest_dir(&kata.dir(), &baseline, &limits)
        .unwrap();
    assert_refusal(
        &report,
        "big.txt",
        &RefusalReason::FileTooLarge { size: 2_000 },
    );
    assert!(delta.deleted.is_empty(), "{:?}", delta.deleted);
    assert!(
        kata.dir().join("big.txt").exists(),
        "over a budget is not hostile: it stays"
    );
}
