use std::time::{Duration, Instant};

use crate::support::*;

pub async fn c_fork_bomb() {
    let _turn = exclusive().await;
    let id = kata_id();
    let files: &[(&str, &[u8])] = &[
        ("cyber-dojo.sh", b"gcc -o bomb bomb.c && ./bomb"),
        (
            "bomb.c",
            b"#include <unistd.h>\nint main(void) { for (;;) fork(); }\n",
        ),
    ];
    let started = Instant::now();
    let r = executor().await.run(job(GCC, &id, files, 4)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(r.timed_out);
    assert_gone(&id, Duration::from_secs(5)).await;
}

pub async fn shell_fork_bomb() {
    let _turn = exclusive().await;
    let id = kata_id();
    // The script stays alive while the bomb goes off, so only the deadline
    // ends it.
    let script = b"bomb() { bomb | bomb & }\nbomb\nsleep 30\n";
    let started = Instant::now();
    let r = executor()
        .await
        .run(job(BUSYBOX, &id, &[("cyber-dojo.sh", script)], 3))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert!(r.timed_out);
    assert_gone(&id, Duration::from_secs(5)).await;
}

/// A bomb left running when the script ends is killed with the rest of the
/// script's leftovers, and the run returns at once.
pub async fn shell_fork_bomb_left_behind() {
    let _turn = exclusive().await;
    let started = Instant::now();
    let r = run_script(BUSYBOX, "bomb() { bomb | bomb & }\nbomb\necho lit\n", 10).await;
    assert!(!r.timed_out);
    assert_eq!((r.status, text(&r.stdout.bytes).as_str()), (0, "lit\n"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

/// Opening files until the nofile ulimit (1024) says no: the run ends
/// normally, having hit EMFILE.
pub async fn file_handle_exhaustion() {
    let _turn = exclusive().await;
    let id = kata_id();
    let program = b"#include <errno.h>\n#include <fcntl.h>\n#include <stdio.h>\n\
int main(void) { int n = 0; for (;;) { if (open(\"/dev/null\", O_RDONLY) < 0) break; n++; }\n\
printf(\"%d %s\\n\", n, errno == EMFILE ? \"EMFILE\" : \"other\"); return 0; }\n";
    let files: &[(&str, &[u8])] = &[
        ("cyber-dojo.sh", b"gcc -o fds fds.c && ./fds"),
        ("fds.c", program),
    ];
    let r = executor()
        .await
        .run(job(GCC, &id, files, 20))
        .await
        .unwrap();
    assert_gone(&id, Duration::ZERO).await;
    assert!(!r.timed_out);
    let out = text(&r.stdout.bytes);
    let (n, why) = out
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("{out:?} {}", text(&r.stderr.bytes)));
    assert_eq!(why, "EMFILE");
    let n: u32 = n.parse().unwrap();
    assert!((1000..1024).contains(&n), "opened {n}");
}
