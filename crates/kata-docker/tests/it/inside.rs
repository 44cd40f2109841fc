//! What the script sees from inside the container.

use kata_docker::{Limits, RunJob, Sandbox};

use crate::support::*;

fn lines(bytes: &[u8]) -> Vec<String> {
    text(bytes).lines().map(str::to_owned).collect()
}

pub async fn user_and_group() {
    let r = run_script(
        BUSYBOX,
        "id -u; id -g; id -un; touch f; stat -c '%u %g' f",
        10,
    )
    .await;
    assert_eq!(
        lines(&r.stdout.bytes),
        ["41966", "51966", "sandbox", "41966 51966"]
    );
}

pub async fn ulimits() {
    // bash reports -c, -f, -s, -d in 1024-byte blocks.
    let r = run_script(
        BUSYBOX,
        "for o in c f x n u s d; do echo \"$o $(ulimit -$o)\"; done",
        10,
    )
    .await;
    assert_eq!(
        lines(&r.stdout.bytes),
        [
            "c 0",
            "f 262144",
            "x 1024",
            "n 1024",
            "u 1024",
            "s 16384",
            "d 4194304"
        ],
        "{}",
        text(&r.stderr.bytes)
    );
}

/// The memory and pids limits reach the cgroup (fuse-overlayfs, cgroup v1
/// here; v2 paths too).
pub async fn cgroup_limits() {
    let script = "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max\n\
                  cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max\n\
                  cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.swap.max\n";
    let r = run_script(BUSYBOX, script, 10).await;
    let got = lines(&r.stdout.bytes);
    assert_eq!(got[0], "128");
    assert_eq!(got[1], (2048u64 << 20).to_string());
    // v1 counts memory+swap (so equal means no swap); v2 counts swap alone.
    assert!(
        got[2] == (2048u64 << 20).to_string() || got[2] == "0",
        "{got:?}"
    );
}

pub async fn no_network() {
    let script = "ls /sys/class/net\n\
                  if (exec 3<>/dev/tcp/1.1.1.1/53) 2>/dev/null; then echo connected; else echo refused; fi\n\
                  if (exec 3<>/dev/tcp/127.0.0.1/4597) 2>/dev/null; then echo connected; else echo refused; fi\n";
    let r = run_script(BUSYBOX, script, 10).await;
    assert_eq!(lines(&r.stdout.bytes), ["lo", "refused", "refused"]);
}

/// No capabilities, no new privileges, a read-only root, writable tmpfs
/// `/sandbox` and `/tmp` (exec allowed), docker-init as PID 1.
pub async fn locked_down() {
    let script = "grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status\n\
                  touch /etc/x 2>/dev/null && echo root-writable || echo root-read-only\n\
                  touch /home/sandbox/x 2>/dev/null && echo home-writable || echo home-read-only\n\
                  printf '#!/bin/sh\\necho ran\\n' > /tmp/t && chmod +x /tmp/t && /tmp/t\n\
                  cp /tmp/t /sandbox/t && /sandbox/t\n\
                  cat /proc/1/comm\n";
    let r = run_script(BUSYBOX, script, 10).await;
    assert_eq!(
        lines(&r.stdout.bytes),
        [
            "CapEff:\t0000000000000000",
            "CapBnd:\t0000000000000000",
            "NoNewPrivs:\t1",
            "root-read-only",
            "home-read-only",
            "ran",
            "ran",
            "docker-init",
        ],
        "{}",
        text(&r.stderr.bytes)
    );
}

/// A job can bring its own limits; the OOM killer's work is reported.
pub async fn oom_kill_is_reported() {
    let id = kata_id();
    let limits = Limits {
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    let script = b"x=$(head -c 300000000 /dev/zero | tr '\\0' x)\necho survived ${#x}\n";
    let r = executor()
        .await
        .run(RunJob {
            image: BUSYBOX.to_owned(),
            kata_id: id.clone(),
            sandbox: Sandbox::Tar(sandbox_tar(&[("cyber-dojo.sh", script)])),
            max_seconds: 20,
            limits: Some(limits),
        })
        .await
        .unwrap();
    assert!(r.oom_killed, "{r:?}");
    assert!(!r.timed_out);
    assert!(!text(&r.stdout.bytes).contains("survived 300000000"));
    assert_gone(&id, std::time::Duration::ZERO).await;
}
