use std::collections::BTreeSet;
use std::fs;

use filetime::FileTime;
use kata_abi::{Limits, Timestamp};

use crate::support::*;

const T1: Timestamp = Timestamp {
    secs: 1_600_000_000,
    nanos: 123_456_789,
};
const T2: Timestamp = Timestamp {
    secs: 1_600_000_500,
    nanos: 987_654_321,
};

fn mtime(kata: &Kata, name: &str) -> FileTime {
    FileTime::from_last_modification_time(&fs::metadata(kata.dir().join(name)).unwrap())
}

#[test]
fn sync_writes_only_changed_files_and_keeps_the_mtime_of_the_rest() {
    let kata = Kata::new();
    let v1 = files(&[
        ("cyber-dojo.sh", "make"),
        ("hiker.c", "int x;"),
        ("hiker.h", "int f();"),
    ]);
    let report = guest()
        .sync(&kata.dir(), &v1, &BTreeSet::new(), T1)
        .unwrap();
    assert_eq!((report.files_written, report.files_unchanged), (3, 0));
    assert_eq!(
        mtime(&kata, "hiker.h"),
        FileTime::from_unix_time(T1.secs, T1.nanos)
    );

    let mut v2 = v1.clone();
    v2.insert(p("hiker.c"), "int y;".into());
    let previous = v1.keys().cloned().collect();
    let report = guest().sync(&kata.dir(), &v2, &previous, T2).unwrap();
    assert_eq!((report.files_written, report.files_unchanged), (1, 2));
    assert_eq!(
        fs::read_to_string(kata.dir().join("hiker.c")).unwrap(),
        "int y;"
    );
    assert_eq!(
        mtime(&kata, "hiker.c"),
        FileTime::from_unix_time(T2.secs, T2.nanos)
    );
    assert_eq!(
        mtime(&kata, "hiker.h"),
        FileTime::from_unix_time(T1.secs, T1.nanos),
        "an unchanged file keeps its mtime, to the nanosecond"
    );
    kata.assert_nothing_escaped();
}

#[test]
fn sync_deletes_what_the_client_deleted_and_keeps_build_products() {
    let kata = Kata::new();
    let v1 = files(&[
        ("cyber-dojo.sh", "make"),
        ("hiker.c", "int x;"),
        ("sub/extra.c", ""),
    ]);
    guest()
        .sync(&kata.dir(), &v1, &BTreeSet::new(), T1)
        .unwrap();
    fs::write(kata.dir().join("hiker.o"), b"\x7fELF\0\0").unwrap(); // made by the run

    let v2 = files(&[("cyber-dojo.sh", "make"), ("hiker.c", "int x;")]);
    let previous = v1.keys().cloned().collect();
    let report = guest().sync(&kata.dir(), &v2, &previous, T2).unwrap();
    assert_eq!(report.files_deleted, 1);
    let names: Vec<_> = tree(&kata.dir()).into_keys().collect();
    assert_eq!(names, ["cyber-dojo.sh", "hiker.c", "hiker.o"]);
}

#[test]
fn sync_replaces_a_link_left_in_the_directory_instead_of_writing_through_it() {
    let kata = Kata::new();
    let outside = kata.root.path().join("parent/sentinel");
    std::os::unix::fs::symlink(&outside, kata.dir().join("hiker.c")).unwrap();
    std::os::unix::fs::symlink(kata.root.path().join("parent"), kata.dir().join("sub")).unwrap();
    let v = files(&[
        ("hiker.c", "overwritten?"),
        ("sub/sentinel", "overwritten?"),
    ]);
    guest().sync(&kata.dir(), &v, &BTreeSet::new(), T1).unwrap();
    kata.assert_nothing_escaped();
    let got = tree(&kata.dir());
    assert_eq!(got["hiker.c"].0, b"overwritten?");
    assert_eq!(got["sub/sentinel"].0, b"overwritten?");
    assert!(
        fs::symlink_metadata(kata.dir().join("sub"))
            .unwrap()
            .is_dir()
    );
}

#[test]
fn unpack_deletes_what_the_tar_no_longer_holds() {
    let kata = Kata::new();
    let v1 = files(&[
        ("cyber-dojo.sh", "make"),
        ("hiker.c", "int x;"),
        ("d/e.txt", "e"),
    ]);
    guest()
        .sync(&kata.dir(), &v1, &BTreeSet::new(), T1)
        .unwrap();
    // The container deleted hiker.c and d/, and made a.out.
    let tar = TarBuilder::new()
        .file("cyber-dojo.sh", b"make")
        .file("a.out", b"\x7fELF")
        .finish();
    let report = guest()
        .unpack(&kata.dir(), &tar, &Limits::default())
        .unwrap();
    assert_eq!(report.files_deleted, 2);
    let names: Vec<_> = tree(&kata.dir()).into_keys().collect();
    assert_eq!(names, ["a.out", "cyber-dojo.sh"]);
    assert!(!kata.dir().join("d").exists());
}

#[test]
fn deletions_in_the_client_and_in_the_run_both_show() {
    let baseline = files(&[("cyber-dojo.sh", "make"), ("hiker.c", "int x;")]);
    let tar = TarBuilder::new().file("cyber-dojo.sh", b"make").finish();
    let (checked, delta, _) = guest()
        .harvest_tar(&tar, &baseline, &Limits::default())
        .unwrap();
    assert_eq!(
        delta.deleted.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        ["hiker.c"]
    );
    assert!(!tar_entries(&checked).contains_key("hiker.c"));
}

#[test]
fn sync_tar_passes_untouched_entries_through_and_stamps_changes_newer() {
    let mut saved = TarBuilder::new();
    saved.file_with("cyber-dojo.sh", b"make", 0o755, 1_600_000_000);
    saved.file_with("hiker.c", b"int x;", 0o644, 1_600_000_000);
    saved.file_with("hiker.o", b"\x7fELF\0\0", 0o644, 1_600_000_009);
    saved.file_with("a.out", b"\x7fELF\0\0", 0o755, 1_600_000_009);
    saved.file_with("old.txt", b"bye", 0o644, 1_600_000_000);
    let previous = ["cyber-dojo.sh", "hiker.c", "old.txt"]
        .map(p)
        .into_iter()
        .collect();
    let now = Timestamp {
        secs: 1_600_000_005,
        nanos: 0,
    }; // same second as the build, or earlier
    let files = files(&[
        ("cyber-dojo.sh", "make"),
        ("hiker.c", "int y;"),
        ("new/x.h", ""),
    ]);

    let (tar, report) = guest()
        .sync_tar(&saved.finish(), &files, &previous, now, &Limits::default())
        .unwrap();
    let e = tar_entries(&tar);
    assert_eq!(
        e.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "a.out",
            "cyber-dojo.sh",
            "hiker.c",
            "hiker.o",
            "new",
            "new/x.h"
        ]
    );
    assert_eq!(
        (e["a.out"].2, e["a.out"].3),
        (0o755, 1_600_000_009),
        "build products pass through"
    );
    assert_eq!(
        (e["cyber-dojo.sh"].2, e["cyber-dojo.sh"].3),
        (0o755, 1_600_000_000),
        "unchanged"
    );
    assert_eq!(e["hiker.c"].1, b"int y;");
    assert_eq!(
        e["hiker.c"].3, 1_600_000_010,
        "a change is newer than the newest build product"
    );
    assert_eq!(e["new/x.h"].3, 1_600_000_010);
    assert_eq!(
        (
            report.files_written,
            report.files_unchanged,
            report.files_deleted
        ),
        (2, 1, 1)
    );
}

#[test]
fn sync_tar_of_nothing_is_pack_files() {
    let files = files(&[("cyber-dojo.sh", "make")]);
    let now = Timestamp {
        secs: 1_700_000_000,
        nanos: 0,
    };
    let (tar, _) = guest()
        .sync_tar(&[], &files, &BTreeSet::new(), now, &Limits::default())
        .unwrap();
    assert_eq!(
        tar_entries(&tar),
        tar_entries(&guest().pack_files(&files, now).unwrap())
    );
}
