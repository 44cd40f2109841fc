//! What a killed server leaves behind is repaired or ignored.

use std::time::{Duration, SystemTime};

use crate::common::{git, id, run, store};

fn tags(repo: &std::path::Path) -> Vec<u64> {
    let mut tags: Vec<u64> = git(repo, &["tag"])
        .lines()
        .map(|t| t.parse().unwrap())
        .collect();
    tags.sort();
    tags
}

#[test]
fn a_missing_head_tag_is_repaired_by_the_next_read() {
    let (_tmp, katas) = store();
    let kata = id("34de2W");
    for n in 1..=3 {
        katas.append(&kata, run(n)).unwrap();
    }
    let repo = katas.history_dir(&kata);
    // Killed after moving the branch, before tagging.
    git(&repo, &["tag", "-d", "3"]);
    assert_eq!(tags(&repo), [1, 2]);

    assert_eq!(katas.events(&kata).unwrap().len(), 3);
    assert_eq!(tags(&repo), [1, 2, 3]);
    assert_eq!(
        git(&repo, &["rev-parse", "3"]),
        git(&repo, &["rev-parse", "main"])
    );
}

#[test]
fn a_missing_head_tag_is_repaired_by_the_next_append() {
    let (_tmp, katas) = store();
    let kata = id("34de2W");
    for n in 1..=2 {
        katas.append(&kata, run(n)).unwrap();
    }
    let repo = katas.history_dir(&kata);
    git(&repo, &["tag", "-d", "2"]);

    assert_eq!(katas.append(&kata, run(3)).unwrap().index, 3);
    assert_eq!(tags(&repo), [1, 2, 3]);
    assert_eq!(
        git(&repo, &["rev-parse", "2"]),
        git(&repo, &["rev-parse", "main~1"])
    );
}

#[test]
fn objects_written_by_a_run_that_never_moved_the_branch_are_ignored() {
    let (_tmp, katas) = store();
    let kata = id("34de2W");
    katas.append(&kata, run(1)).unwrap();
    let repo = katas.history_dir(&kata);
    // Killed after writing its commit, before moving the branch.
    let tree = git(&repo, &["rev-parse", "main^{tree}"]);
    let main = git(&repo, &["rev-parse", "main"]);
    git(
        &repo,
        &[
            "commit-tree",
            tree.trim(),
            "-p",
            main.trim(),
            "-m",
            "run 2: orphan",
        ],
    );

    let event = katas.append(&kata, run(2)).unwrap();
    assert_eq!(event.index, 2);
    assert_eq!(katas.events(&kata).unwrap().len(), 2);
}

#[test]
fn a_stale_branch_lock_left_by_a_killed_writer_is_cleared() {
    let (_tmp, katas) = store();
    let kata = id("34de2W");
    katas.append(&kata, run(1)).unwrap();
    let lock = katas.history_dir(&kata).join("refs/heads/main.lock");
    std::fs::write(&lock, "").unwrap();
    let old = SystemTime::now() - Duration::from_secs(60);
    filetime::set_file_mtime(&lock, filetime::FileTime::from_system_time(old)).unwrap();

    assert_eq!(katas.append(&kata, run(2)).unwrap().index, 2);
    assert!(!lock.exists());
}

#[test]
fn a_fresh_branch_lock_is_respected() {
    let (_tmp, katas) = store();
    let kata = id("34de2W");
    katas.append(&kata, run(1)).unwrap();
    let lock = katas.history_dir(&kata).join("refs/heads/main.lock");
    // Another live writer holds it (longer than it ever would).
    std::fs::write(&lock, "").unwrap();

    let err = katas.append(&kata, run(2)).unwrap_err();
    assert!(err.to_string().contains("moving the branch"), "{err}");
    assert!(lock.exists());
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(katas.append(&kata, run(2)).unwrap().index, 2);
}

#[test]
fn a_half_made_history_from_a_killed_first_run_is_not_mistaken_for_one() {
    let (_tmp, katas) = store();
    let kata = id("34de2W");
    // Killed while creating the repository: only the temporary exists.
    let leftover = katas.kata_dir(&kata).join(".history.git.new-1-2-3");
    std::fs::create_dir_all(leftover.join("objects")).unwrap();

    assert_eq!(katas.events(&kata).unwrap(), vec![]);
    assert_eq!(katas.append(&kata, run(1)).unwrap().index, 1);
    assert_eq!(katas.events(&kata).unwrap().len(), 1);
}

#[test]
fn a_gap_in_the_history_is_reported_as_corruption() {
    let (_tmp, katas) = store();
    let kata = id("34de2W");
    for n in 1..=3 {
        katas.append(&kata, run(n)).unwrap();
    }
    let repo = katas.history_dir(&kata);
    // Someone rewrote history: event 3 now sits directly on event 1.
    let tree3 = git(&repo, &["rev-parse", "main^{tree}"]);
    let one = git(&repo, &["rev-parse", "1"]);
    let forged = git(
        &repo,
        &[
            "commit-tree",
            tree3.trim(),
            "-p",
            one.trim(),
            "-m",
            "forged",
        ],
    );
    git(&repo, &["update-ref", "refs/heads/main", forged.trim()]);

    let err = katas.events(&kata).unwrap_err();
    assert!(err.to_string().contains("event 3 follows event 1"), "{err}");
}
