use std::collections::BTreeSet;

use kata_store::StoreError;
use kata_types::FileContent;

use crate::common::{expected, id, path, run, store};

#[test]
fn appended_events_read_back_equal_with_indices_one_to_n() {
    let (_tmp, katas) = store();
    let kata = id("34de2W");
    let mut written = Vec::new();
    for n in 1..=5 {
        let event = katas.append(&kata, run(n)).unwrap();
        assert_eq!(event.index, n);
        assert_eq!(event, expected(n));
        written.push(event);
    }
    assert_eq!(katas.events(&kata).unwrap(), written);
    for (i, event) in written.iter().enumerate() {
        assert_eq!(
            katas.event(&kata, i as u64 + 1).unwrap().as_ref(),
            Some(event)
        );
    }
    assert_eq!(katas.last(&kata).unwrap().as_ref(), written.last());
    assert_eq!(katas.event(&kata, 0).unwrap(), None);
    assert_eq!(katas.event(&kata, 6).unwrap(), None);
}

#[test]
fn an_unknown_kata_has_no_events_and_reading_creates_nothing() {
    let (_tmp, katas) = store();
    let kata = id("000000");
    assert_eq!(katas.events(&kata).unwrap(), vec![]);
    assert_eq!(katas.last(&kata).unwrap(), None);
    assert_eq!(katas.event(&kata, 1).unwrap(), None);
    assert!(!katas.kata_dir(&kata).exists());
}

#[test]
fn events_of_two_katas_do_not_mix() {
    let (_tmp, katas) = store();
    // Same first four characters: same XX/YY directories, different ZZ.
    let (a, b) = (id("34de2W"), id("34de2W-7"));
    for n in 1..=3 {
        katas.append(&a, run(n)).unwrap();
    }
    katas.append(&b, run(10)).unwrap();
    let (ea, eb) = (katas.events(&a).unwrap(), katas.events(&b).unwrap());
    assert_eq!(ea.iter().map(|e| e.index).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(eb.len(), 1);
    assert_eq!(eb[0].index, 1);
    assert_eq!(eb[0].stdout.content, "run 10\n");
    assert_ne!(katas.history_dir(&a), katas.history_dir(&b));
}

#[test]
fn odd_names_empty_texts_and_truncation_survive() {
    let (_tmp, katas) = store();
    let kata = id("aBcDeF");
    let mut event = run(1);
    event.files = [
        ("ampers&and.txt", "&\n"),
        ("-leading-dash", "-\n"),
        (".hidden", ""),
        ("stdout", "not the real stdout\n"),
        ("d1/d2/d3/f", "deep\n"),
        ("d1/a", "a\n"),
        ("d1.txt", "sorts between d1 and d1/ in git's tree order\n"),
        ("ünïcödé.txt", "ü\n"),
        ("with space", " \n"),
    ]
    .into_iter()
    .map(|(p, c)| (path(p), c.to_owned()))
    .collect();
    event.stdout = FileContent {
        content: String::new(),
        truncated: true,
    };
    let stored = katas.append(&kata, event.clone()).unwrap();
    let read = katas.last(&kata).unwrap().unwrap();
    assert_eq!(read, stored);
    assert_eq!(read.files, event.files);
    assert!(read.stdout.truncated && read.stdout.content.is_empty());
}

#[test]
fn a_run_without_files_is_stored() {
    let (_tmp, katas) = store();
    let kata = id("nofile");
    let mut event = run(1);
    event.files.clear();
    event.created = BTreeSet::new();
    let stored = katas.append(&kata, event).unwrap();
    assert_eq!(katas.events(&kata).unwrap(), vec![stored]);
}

#[test]
fn a_file_that_is_also_a_directory_is_refused_and_nothing_is_stored() {
    let (_tmp, katas) = store();
    let kata = id("clash1");
    let mut event = run(1);
    event.files.insert(path("a"), "file\n".into());
    event.files.insert(path("a/b"), "in a directory a\n".into());
    let err = katas.append(&kata, event).unwrap_err();
    assert!(
        matches!(&err, StoreError::FileClash { path, .. } if path.as_str() == "a"),
        "{err}"
    );
    assert_eq!(katas.events(&kata).unwrap(), vec![]);
    // The failed append took no index.
    assert_eq!(katas.append(&kata, run(1)).unwrap().index, 1);
}

#[test]
fn a_duration_that_is_not_a_number_is_refused() {
    let (_tmp, katas) = store();
    let kata = id("nanNaN");
    for bad in [f64::NAN, f64::INFINITY, -1.0] {
        let mut event = run(1);
        event.duration_secs = bad;
        let err = katas.append(&kata, event).unwrap_err();
        assert!(matches!(err, StoreError::BadEvent { .. }), "{err}");
    }
    assert!(!katas.history_dir(&kata).exists());
}

#[test]
fn strings_with_newlines_and_quotes_are_kept_as_they_are() {
    let (_tmp, katas) = store();
    let kata = id("quotes");
    let mut event = run(1);
    event.status = "2\nnot a second line".into();
    event.image = "a \"quoted\" image".into();
    event.stdout.content = "\0nul and \u{7f} bytes\r\n".into();
    let stored = katas.append(&kata, event).unwrap();
    assert_eq!(katas.last(&kata).unwrap(), Some(stored));
}

/// `git init` in cyber-dojo.sh makes text files under `.git/` that the
/// harvest returns; git itself would refuse to check them out, but a bare
/// history only stores them.
#[test]
fn files_under_dot_git_are_stored_like_any_other() {
    let (_tmp, katas) = store();
    let kata = id("dotgit");
    let mut event = run(1);
    event
        .files
        .insert(path(".git/HEAD"), "ref: refs/heads/master\n".into());
    event
        .files
        .insert(path("sub/.git/config"), "[core]\n".into());
    let stored = katas.append(&kata, event).unwrap();
    assert_eq!(katas.events(&kata).unwrap(), vec![stored]);
    let repo = katas.history_dir(&kata);
    assert_eq!(
        crate::common::git(&repo, &["show", "1:files/.git/HEAD"]),
        "ref: refs/heads/master\n"
    );
}
