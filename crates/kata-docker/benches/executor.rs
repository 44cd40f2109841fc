//! A trivial run (`true`) through the executor against a bare
//! `docker run --rm --network none IMAGE true`, interleaved in one process so
//! both see the same machine. The docker CLI is used here only as that
//! baseline.
//!
//! `cargo bench -p kata-docker --bench executor` (needs `images/build`);
//! `KATA_BENCH_RUNS` sets the number of runs of each (default 20).

use std::process::Command;
use std::time::{Duration, Instant};

use kata_docker::{Executor, ExecutorConfig, RunJob, Sandbox};

const IMAGE: &str = "kata-runner/busybox-bash";

fn main() {
    let runs: usize = std::env::var("KATA_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let exec = runtime
        .block_on(Executor::connect(ExecutorConfig {
            instance: "kata-runner-bench".into(),
            ..ExecutorConfig::default()
        }))
        .expect("the Docker engine");
    assert!(
        runtime.block_on(exec.image_exists(IMAGE)).unwrap(),
        "{IMAGE} is missing: run images/build"
    );
    let tar = sandbox_tar();

    let through_executor = || {
        let job = RunJob {
            image: IMAGE.into(),
            kata_id: "bench0".parse().unwrap(),
            sandbox: Sandbox::Tar(tar.clone()),
            max_seconds: 10,
            limits: None,
        };
        let started = Instant::now();
        let result = runtime.block_on(exec.run(job)).expect("run");
        assert_eq!((result.status, result.timed_out), (0, false));
        (started.elapsed(), result.durations)
    };
    let bare = || {
        let started = Instant::now();
        let status = Command::new("docker")
            .args(["run", "--rm", "--network", "none", IMAGE, "true"])
            .status()
            .expect("the docker CLI");
        assert!(status.success());
        started.elapsed()
    };

    for _ in 0..2 {
        through_executor();
        bare();
    }
    let rss_before = rss_mib();
    let (mut ours, mut theirs, mut phases) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (took, durations) = through_executor();
        ours.push(took);
        phases.push(durations);
        theirs.push(bare());
    }

    let mean_of = |f: fn(&kata_docker::Durations) -> Duration| {
        mean(&phases.iter().map(f).collect::<Vec<_>>())
    };
    println!("{runs} runs each, interleaved, image {IMAGE}, script `true`");
    println!("executor  : {}", summary(&mut ours));
    println!("docker run: {}", summary(&mut theirs));
    println!(
        "executor phases (mean): create+attach {:.0} ms, start..exit {:.0} ms, inspect+remove {:.0} ms",
        ms(mean_of(|d| d.create)),
        ms(mean_of(|d| d.run)),
        ms(mean_of(|d| d.cleanup)),
    );
    println!(
        "bench process RSS: {rss_before} MiB after warm-up, {} MiB after the runs",
        rss_mib()
    );
    println!(
        "ratio executor / docker run: {:.2} (medians), {:.2} (means)",
        ms(median(&mut ours)) / ms(median(&mut theirs)),
        ms(mean(&ours)) / ms(mean(&theirs)),
    );
}

fn sandbox_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    b.append_data(&mut h, "cyber-dojo.sh", &b"true"[..])
        .unwrap();
    b.into_inner().unwrap()
}

fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    kb / 1024
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mean(xs: &[Duration]) -> Duration {
    xs.iter().sum::<Duration>() / xs.len() as u32
}

fn median(xs: &mut [Duration]) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn summary(xs: &mut [Duration]) -> String {
    xs.sort();
    format!(
        "median {:.0} ms, mean {:.0} ms, min {:.0} ms, max {:.0} ms",
        ms(median(xs)),
        ms(mean(xs)),
        ms(xs[0]),
        ms(xs[xs.len() - 1])
    )
}
