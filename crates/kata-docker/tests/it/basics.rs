use std::time::Duration;

use crate::support::*;

pub async fn hello_world() {
    let r = run_script(BUSYBOX, "echo Hello world\necho oops >&2\n", 10).await;
    assert_eq!(text(&r.stdout.bytes), "Hello world\n");
    assert_eq!(text(&r.stderr.bytes), "oops\n");
    assert_eq!(r.status, 0);
    assert!(!r.timed_out && !r.oom_killed && !r.stdout.truncated);
}

pub async fn non_zero_status() {
    let r = run_script(BUSYBOX, "echo failing\nexit 3\n", 10).await;
    assert_eq!(r.status, 3);
    assert_eq!(text(&r.stdout.bytes), "failing\n");
    assert!(!r.timed_out);
}

/// Files go in on stdin and come out as a tar, with their owner, mode and
/// exact sizes; odd names survive; a created file called `stdout` stays apart
/// from the real stdout; a 51 KB created file comes back whole.
pub async fn files_round_trip() {
    let id = kata_id();
    let script = b"set -e
cat hiker.c
head -c 52000 /dev/zero | tr '\\0' x > created.txt
echo 'I am a file' > stdout
mkdir -p d1/d2/d3 && echo deep > d1/d2/d3/x.txt
rm deleted.txt
echo changed >> 'ampers&and.txt'
";
    let files: &[(&str, &[u8])] = &[
        ("cyber-dojo.sh", script),
        ("hiker.c", b"int answer(void) { return 6 * 9; }\n"),
        ("deleted.txt", b"bye"),
        ("ampers&and.txt", b"one\n"),
        ("-leading-dash.txt", b"dash"),
        (".dotfile", b"dot"),
        ("s1/s2/x.txt", b"nested"),
    ];
    let r = executor()
        .await
        .run(job(BUSYBOX, &id, files, 10))
        .await
        .unwrap();
    assert_gone(&id, Duration::ZERO).await;
    assert_eq!(r.status, 0, "stderr: {}", text(&r.stderr.bytes));
    assert_eq!(
        text(&r.stdout.bytes),
        "int answer(void) { return 6 * 9; }\n"
    );

    let tar = r.sandbox_tar.expect("a tar of /sandbox");
    assert!(!r.sandbox_tar_truncated);
    let entries = tar_entries(&tar);
    let file = |p: &str| {
        entries
            .get(p)
            .unwrap_or_else(|| panic!("{p} missing from {:?}", entries.keys()))
    };

    let start = file("hiker.c");
    assert_eq!((start.mode, start.uid, start.gid), (0o644, 41966, 51966));
    assert_eq!(start.data.len(), 35);
    let created = file("created.txt");
    assert_eq!(created.data.len(), 52000);
    assert!(created.data.iter().all(|&b| b == b'x'));
    assert_eq!(file("stdout").data, b"I am a file\n");
    assert_eq!(file("d1/d2/d3/x.txt").data, b"deep\n");
    assert_eq!(file("ampers&and.txt").data, b"one\nchanged\n");
    assert_eq!(file("-leading-dash.txt").data, b"dash");
    assert_eq!(file(".dotfile").data, b"dot");
    assert_eq!(file("s1/s2/x.txt").data, b"nested");
    assert!(!entries.contains_key("deleted.txt"));
    assert!(
        entries
            .keys()
            .all(|k| !k.starts_with("sandbox") && !k.starts_with('/'))
    );
}

pub async fn large_incoming_file_does_not_time_out() {
    let id = kata_id();
    let big = vec![b'a'; 511 * 1024];
    let files: &[(&str, &[u8])] = &[("cyber-dojo.sh", b"wc -c < big.txt"), ("big.txt", &big)];
    let r = executor()
        .await
        .run(job(BUSYBOX, &id, files, 10))
        .await
        .unwrap();
    assert!(!r.timed_out);
    assert_eq!(text(&r.stdout.bytes).trim(), (511 * 1024).to_string());
    assert_gone(&id, Duration::ZERO).await;
}

/// cyber-dojo's C assert kata: red on a failed assertion, green on 6 * 7.
pub async fn c_assert_red_and_green() {
    let script = b"gcc -Wall -o test hiker.c && ./test";
    for (answer, want_green) in [("6 * 9", false), ("6 * 7", true)] {
        let id = kata_id();
        let hiker = format!(
            "#include <assert.h>\n#include <stdio.h>\nint answer(void) {{ return {answer}; }}\n\
             int main(void) {{ assert(answer() == 42); puts(\"All tests passed\"); return 0; }}\n"
        );
        let files: &[(&str, &[u8])] = &[("cyber-dojo.sh", script), ("hiker.c", hiker.as_bytes())];
        let r = executor()
            .await
            .run(job(GCC, &id, files, 20))
            .await
            .unwrap();
        assert_gone(&id, Duration::ZERO).await;
        let output = text(&r.stdout.bytes) + &text(&r.stderr.bytes);
        if want_green {
            assert_eq!(r.status, 0, "{output}");
            assert!(output.contains("All tests passed"), "{output}");
        } else {
            assert_ne!(r.status, 0, "{output}");
            assert!(
                output.contains("Assertion") && output.contains("failed"),
                "{output}"
            );
        }
    }
}

pub async fn cyber_dojo_environment() {
    let id = kata_id();
    let script = b"echo \"$CYBER_DOJO_ID|$CYBER_DOJO_SANDBOX|$CYBER_DOJO_IMAGE_NAME|$HOME|$(pwd)\"";
    let r = executor()
        .await
        .run(job(BUSYBOX, &id, &[("cyber-dojo.sh", script)], 10))
        .await
        .unwrap();
    assert_eq!(
        text(&r.stdout.bytes).trim(),
        format!("{id}|/sandbox|{BUSYBOX}:latest|/home/sandbox|/sandbox")
    );
}

/// A script that leaves a sleeping child holding stdout still returns at once.
pub async fn leftover_background_processes_do_not_hold_the_run() {
    let started = std::time::Instant::now();
    let r = run_script(
        BUSYBOX,
        "sleep 60 &\n(sleep 60 > /sandbox/held.txt) &\necho done\n",
        10,
    )
    .await;
    assert!(!r.timed_out);
    assert_eq!(text(&r.stdout.bytes), "done\n");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
