use std::time::{Duration, Instant};

use crate::support::*;

/// The limit the issue sets: the call returns within max_seconds + 1 s.
fn assert_prompt(started: Instant, max_seconds: u32) {
    let took = started.elapsed();
    eprintln!("timed out after {took:?} (max_seconds {max_seconds})");
    assert!(
        took < Duration::from_secs(u64::from(max_seconds) + 1),
        "returned after {took:?}, max_seconds {max_seconds}"
    );
}

pub async fn c_infinite_loop() {
    let _turn = exclusive().await;
    let id = kata_id();
    let files: &[(&str, &[u8])] = &[
        ("cyber-dojo.sh", b"gcc -o loop loop.c && ./loop"),
        ("loop.c", b"int main(void) { for (;;); }\n"),
    ];
    let started = Instant::now();
    let r = executor().await.run(job(GCC, &id, files, 3)).await.unwrap();
    assert_prompt(started, 3);
    assert!(r.timed_out);
    assert!(r.stdout.bytes.is_empty() && r.sandbox_tar.is_none());
    assert_gone(&id, Duration::from_secs(5)).await;
}

/// TERM is ignored by the script and its child: only a kill from the host
/// ends it.
pub async fn child_ignoring_term() {
    let _turn = exclusive().await;
    let id = kata_id();
    let script =
        b"trap '' TERM\n(trap '' TERM; while :; do sleep 1; done) &\nwhile :; do sleep 1; done\n";
    let started = Instant::now();
    let r = executor()
        .await
        .run(job(BUSYBOX, &id, &[("cyber-dojo.sh", script)], 2))
        .await
        .unwrap();
    assert_prompt(started, 2);
    assert!(r.timed_out);
    assert_gone(&id, Duration::from_secs(5)).await;
}
