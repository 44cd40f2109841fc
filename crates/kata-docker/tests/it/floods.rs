use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::support::*;

const MB: u64 = 1_000_000;

/// 100 MB on stdout, 100 MB on stderr and a 100 MB file in /sandbox: each
/// comes back cut to its cap, and this process's memory does not grow by
/// anything like the flood while it streams in. (The baseline is higher in a
/// full run than alone: the panic test's backtrace loads this binary's debug
/// info, ~130 MB, once.)
pub async fn floods_are_capped_and_memory_stays_flat() {
    let _turn = exclusive().await;
    let exec = executor().await;
    let caps = exec.config().caps;
    let before = rss_bytes();
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let script = "yes 0123456789 | head -c 100000000\n\
                  yes 9876543210 | head -c 100000000 >&2\n\
                  head -c 100000000 /dev/zero > flood.bin\n\
                  echo small > after.txt\n";
    let r = run_script(BUSYBOX, script, 20).await;
    sampler.abort();
    let growth = peak.load(Ordering::Relaxed).saturating_sub(before);

    assert!(!r.timed_out);
    assert_eq!(r.status, 0, "{}", text(&r.stderr.bytes));
    assert!(r.stdout.truncated && r.stderr.truncated);
    assert_eq!(r.stdout.bytes.len(), caps.stdout);
    assert_eq!(r.stderr.bytes.len(), caps.stderr);
    assert!(r.stdout.bytes.starts_with(b"0123456789\n0123"));
    let tar = r.sandbox_tar.unwrap();
    assert!(r.sandbox_tar_truncated);
    assert!(tar.len() <= caps.sandbox_tar, "tar of {} bytes", tar.len());
    let entries = tar_entries(&tar);
    assert!(entries.contains_key("cyber-dojo.sh"));
    assert!(!entries.contains_key("flood.bin"));
    eprintln!(
        "flood: RSS {} MB before, peak growth {:.1} MB; tar cap {} MB",
        before / MB,
        growth as f64 / MB as f64,
        caps.sandbox_tar as u64 / MB
    );
    // The caps allow ~16 MB of stream plus ~16 MB of repacked tar.
    assert!(
        growth < 60 * MB,
        "memory grew by {growth} bytes during a 300 MB flood"
    );
}
