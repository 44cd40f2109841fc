//! The history is an ordinary git repository: the real git CLI reads it.

use crate::common::{git, id, run, store};

#[test]
fn git_log_tag_and_show_read_the_history() {
    let (_tmp, katas) = store();
    let kata = id("34de2W-7");
    for n in 1..=4 {
        katas.append(&kata, run(n)).unwrap();
    }
    let repo = katas.history_dir(&kata);

    let log = git(&repo, &["log", "--oneline"]);
    let subjects: Vec<&str> = log.lines().map(|l| l.split_once(' ').unwrap().1).collect();
    assert_eq!(
        subjects,
        [
            "run 4: green (status 0, 1.04 s)",
            "run 3: red (status 2, 1.03 s)",
            "run 2: green (status 0, 1.02 s)",
            "run 1: red (status 2, 1.01 s)",
        ]
    );

    let mut tags: Vec<u64> = git(&repo, &["tag"])
        .lines()
        .map(|t| t.parse().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, [1, 2, 3, 4]);
    for n in 1..=4 {
        let tag = git(&repo, &["rev-parse", &format!("{n}^{{commit}}")]);
        let nth = git(&repo, &["rev-parse", &format!("main~{}", 4 - n)]);
        assert_eq!(tag, nth, "tag {n} is not the {n}th commit");
    }

    assert_eq!(
        git(&repo, &["show", "2:files/hiker.c"]),
        "int answer(void) { return 2; }\n"
    );
    assert_eq!(git(&repo, &["show", "3:files/s1/s2/x.txt"]), "nested 3\n");
    assert_eq!(git(&repo, &["show", "1:stdout"]), "run 1\n");

    let json: serde_json::Value =
        serde_json::from_str(&git(&repo, &["show", "3:event.json"])).unwrap();
    assert_eq!(json["index"], 3);
    assert_eq!(json["outcome"], "red");
    assert_eq!(json["status"], "2");
    assert_eq!(json["stderr_truncated"], true);
    assert_eq!(json["time"]["secs"], 1_700_000_003_i64);

    assert_eq!(
        git(&repo, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    assert_eq!(
        git(
            &repo,
            &["log", "-1", "--format=%an <%ae> %at|%cn <%ce> %ct", "1"]
        )
        .trim(),
        "kata-runner <kata-runner@localhost> 1700000001|kata-runner <kata-runner@localhost> 1700000001"
    );
    assert_eq!(
        git(&repo, &["rev-parse", "--is-bare-repository"]).trim(),
        "true"
    );
    git(&repo, &["fsck", "--strict", "--no-dangling"]);
}
