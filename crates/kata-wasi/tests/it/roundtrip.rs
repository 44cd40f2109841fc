use std::collections::BTreeMap;

use kata_abi::{Limits, Timestamp};

use crate::support::*;

#[test]
fn pack_dir_then_unpack_keeps_bytes_and_mtimes() {
    let from = Kata::new();
    let mut made = BTreeMap::new();
    made.insert(
        "cyber-dojo.sh".to_owned(),
        (b"make test\n".to_vec(), 1_500_000_001),
    );
    made.insert(
        "src/hiker.c".to_owned(),
        (b"int answer(void) { return 42; }\n".to_vec(), 1_500_000_002),
    );
    made.insert(
        "src/deep/er/x.bin".to_owned(),
        ((0..=255u8).collect(), 1_500_000_003),
    );
    made.insert("empty".to_owned(), (vec![], 1_500_000_004));
    write_tree(&from.dir(), &made);

    let packed = guest().pack_dir(&from.dir(), &Limits::default()).unwrap();
    assert!(
        packed.report.refused.is_empty(),
        "{:?}",
        packed.report.refused
    );
    assert_eq!(packed.report.files_written, 4);

    let to = Kata::new();
    let report = guest()
        .unpack(&to.dir(), &packed.tar, &Limits::default())
        .unwrap();
    assert_eq!(report.files_written, 4);
    let got = tree(&to.dir());
    assert_eq!(got.len(), made.len());
    for (name, (bytes, secs)) in &made {
        let (got_bytes, got_mtime) = &got[name];
        assert_eq!(got_bytes, bytes, "{name}");
        assert_eq!(got_mtime.unix_seconds(), *secs, "{name}");
    }
}

#[test]
fn pack_files_stamps_every_entry_fresh_and_owns_it_as_sandbox() {
    let fs = files(&[("cyber-dojo.sh", "make"), ("a/b/c.txt", "deep")]);
    let now = Timestamp {
        secs: 1_700_000_000,
        nanos: 5,
    };
    let tar = guest().pack_files(&fs, now).unwrap();
    let entries = tar_entries(&tar);
    let names: Vec<_> = entries.keys().cloned().collect();
    assert_eq!(names, ["a", "a/b", "a/b/c.txt", "cyber-dojo.sh"]);
    for (name, (_, _, mode, mtime)) in &entries {
        assert_eq!(*mtime, 1_700_000_000, "{name}");
        let want = if name.ends_with(".txt") || name.ends_with(".sh") {
            0o644
        } else {
            0o755
        };
        assert_eq!(*mode, want, "{name}");
    }
    let mut archive = tar::Archive::new(&tar[..]);
    for e in archive.entries().unwrap() {
        let h = e.unwrap().header().clone();
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (41966, 51966));
    }
    assert_eq!(entries["a/b/c.txt"].1, b"deep");
}

#[test]
fn harvest_tar_of_untouched_files_reports_nothing_and_passes_everything_through() {
    let fs = files(&[("cyber-dojo.sh", "make"), ("hiker.c", "int x;")]);
    let tar = guest().pack_files(&fs, Timestamp::now()).unwrap();
    let (checked, delta, report) = guest().harvest_tar(&tar, &fs, &Limits::default()).unwrap();
    assert_eq!(delta, Default::default());
    assert!(report.refused.is_empty());
    assert_eq!(tar_entries(&checked), tar_entries(&tar));
}

#[test]
fn harvest_tar_keeps_modes_of_build_products_and_reports_the_delta() {
    let baseline = files(&[
        ("cyber-dojo.sh", "make"),
        ("hiker.c", "int x;"),
        ("gone.txt", "bye"),
    ]);
    let mut t = TarBuilder::new();
    t.file_with("cyber-dojo.sh", b"make", 0o644, 1_600_000_000);
    t.file_with("hiker.c", b"int y;", 0o644, 1_600_000_001);
    t.file_with("a.out", b"\x7fELF\x02\x01\x01\0\0\0", 0o755, 1_600_000_002);
    t.file_with("report.txt", b"3 tests passed", 0o4755, 1_600_000_003);
    let (checked, delta, _) = guest()
        .harvest_tar(&t.finish(), &baseline, &Limits::default())
        .unwrap();

    let entries = tar_entries(&checked);
    assert_eq!(entries["a.out"].2, 0o755, "an executable stays executable");
    assert_eq!(entries["a.out"].3, 1_600_000_002, "mtimes are kept");
    assert_eq!(entries["report.txt"].2, 0o755, "setuid is dropped");
    assert_eq!(delta.changed[&p("hiker.c")].content, "int y;");
    assert_eq!(delta.created[&p("report.txt")].content, "3 tests passed");
    assert!(
        !delta.created.contains_key(&p("a.out")),
        "binary files are not returned"
    );
    assert!(
        delta.omitted.contains(&p("a.out")),
        "but they are not lost either"
    );
    assert_eq!(
        delta.deleted.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        ["gone.txt"]
    );
}

#[test]
fn harvest_cuts_text_at_the_cap_and_returns_the_first_16_created_by_name() {
    let mut t = TarBuilder::new();
    t.file_with("big.txt", &[b'x'; 51_201], 0o644, 1);
    for i in 0..31 {
        t.file_with(&format!("f{i:02}.txt"), b"hi", 0o644, 1);
    }
    t.file_with("bad-utf8.txt", b"ok \xff\xfe ok", 0o644, 1);
    let (_, delta, _) = guest()
        .harvest_tar(&t.finish(), &Default::default(), &Limits::default())
        .unwrap();
    assert_eq!(delta.created.len(), 16);
    let first: Vec<_> = delta.created.keys().map(|p| p.as_str()).take(3).collect();
    assert_eq!(first, ["bad-utf8.txt", "big.txt", "f00.txt"]);
    let big = &delta.created[&p("big.txt")];
    assert_eq!((big.content.len(), big.truncated), (51_200, true));
    assert_eq!(
        delta.created[&p("bad-utf8.txt")].content,
        "ok \u{fffd}\u{fffd} ok"
    );
    assert_eq!(
        delta.omitted.len(),
        33 - 16,
        "the rest are omitted, not lost"
    );
}

#[test]
fn harvest_dir_finds_created_changed_and_deleted() {
    let kata = Kata::new();
    let baseline = files(&[
        ("cyber-dojo.sh", "make"),
        ("hiker.c", "int x;"),
        ("old.txt", "old"),
    ]);
    guest()
        .sync(
            &kata.dir(),
            &baseline,
            &Default::default(),
            Timestamp::now(),
        )
        .unwrap();
    // What a run would do inside the container.
    std::fs::write(kata.dir().join("hiker.c"), "int y;").unwrap();
    std::fs::remove_file(kata.dir().join("old.txt")).unwrap();
    std::fs::create_dir(kata.dir().join("out")).unwrap();
    std::fs::write(kata.dir().join("out/results.txt"), "1 failed").unwrap();

    let (delta, report) = guest()
        .harvest_dir(&kata.dir(), &baseline, &Limits::default())
        .unwrap();
    assert!(report.refused.is_empty());
    assert_eq!(
        delta.changed.keys().map(|p| p.as_str()).collect::<Vec<_>>(),
        ["hiker.c"]
    );
    assert_eq!(delta.created[&p("out/results.txt")].content, "1 failed");
    assert_eq!(
        delta.deleted.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        ["old.txt"]
    );
}

#[test]
fn unpack_stamps_directories_after_filling_them() {
    let tar = TarBuilder::new()
        .dir("d")
        .dir("d/e")
        .file("d/e/f.txt", b"f")
        .finish();
    let kata = Kata::new();
    guest()
        .unpack(&kata.dir(), &tar, &Limits::default())
        .unwrap();
    for d in ["d", "d/e"] {
        let meta = std::fs::metadata(kata.dir().join(d)).unwrap();
        assert!(meta.is_dir());
        let mtime = filetime::FileTime::from_last_modification_time(&meta);
        assert_eq!(mtime.unix_seconds(), 1_600_000_000, "{d}");
    }
}
