//! The second run of a 20-file C kata with one file changed, under each
//! runner and katas backend, as a ratio to the tmp runner (which rebuilds
//! everything). Interleaved round-robin in one process, so every
//! configuration sees the same machine.
//!
//! `cargo bench -p kata-strategy --bench rebuild` (needs `images/build`);
//! `KATA_BENCH_RUNS` sets the timed runs per configuration (default 7).

#[path = "../tests/it/c_kata.rs"]
mod c_kata;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kata_docker::{Executor, ExecutorConfig};
use kata_store::{DirKatas, Katas, VolumeKatas};
use kata_strategy::{ByStatus, RunRequest, Runner, RunnerKind};
use kata_types::{KataId, Outcome, SandboxPath};
use kata_wasi::{Guest, GuestConfig};

fn main() {
    let runs: usize = std::env::var("KATA_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(7);
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o007));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let executor = Arc::new(
        rt.block_on(Executor::connect(ExecutorConfig {
            instance: "kata-runner-bench".into(),
            ..ExecutorConfig::default()
        }))
        .expect("the Docker engine"),
    );
    let guest = Guest::new(GuestConfig::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = Arc::new(Katas::Dir(Arc::new(
        DirKatas::open(tmp.path().join("katas")).unwrap(),
    )));
    let volume_name = format!("kata-runner-bench-{}", std::process::id());
    let volume = rt
        .block_on(VolumeKatas::open(
            &executor,
            &volume_name,
            "kata-runner/busybox-bash",
        ))
        .unwrap();
    let vol = Arc::new(Katas::Volume(volume.clone()));

    // The floor: a run of `true` through the tmp runner (guest, container,
    // history), which no runner can go under.
    let configs = [
        (
            "floor: `true` through the tmp runner",
            RunnerKind::Tmp,
            dir.clone(),
            "Bench3",
        ),
        ("tmp runner", RunnerKind::Tmp, dir.clone(), "Bench0"),
        (
            "katas runner, host directory",
            RunnerKind::Katas,
            dir.clone(),
            "Bench1",
        ),
        (
            "katas runner, data-container volume",
            RunnerKind::Katas,
            vol.clone(),
            "Bench2",
        ),
    ];
    let runners: Vec<_> = configs
        .iter()
        .map(|(_, _, katas, _)| Runner::new(guest.clone(), executor.clone(), katas.clone()))
        .collect();
    let mut files = c_kata::c_kata();
    let trivial: kata_types::Files = [(
        SandboxPath::new("cyber-dojo.sh").unwrap(),
        "true".to_owned(),
    )]
    .into();
    let run = |i: usize, files: &kata_types::Files| {
        let (_, kind, _, id) = &configs[i];
        let req = RunRequest {
            id: KataId::new(id).unwrap(),
            files: if i == 0 {
                trivial.clone()
            } else {
                files.clone()
            },
            image: "kata-runner/gcc".into(),
            max_seconds: 60,
            runner: *kind,
        };
        let started = Instant::now();
        let report = rt.block_on(runners[i].run(req, &ByStatus)).unwrap();
        assert_eq!(
            report.event.outcome,
            Outcome::Green,
            "{}",
            report.event.stderr.content
        );
        (
            started.elapsed(),
            c_kata::compiled(&report).len(),
            report.timings,
        )
    };
    // The first run of each builds everything; it is not timed.
    for i in 0..configs.len() {
        run(i, &files);
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); configs.len()];
    let mut phases: Vec<Vec<kata_strategy::Timings>> = vec![Vec::new(); configs.len()];
    for n in 0..runs {
        files.insert(
            SandboxPath::new("f07.c").unwrap(),
            format!("int f07(void) {{ return 7 + {n} - {n}; }}\n"),
        );
        for (i, t) in times.iter_mut().enumerate() {
            let (elapsed, compiled, timings) = run(i, &files);
            let want = [0, 17, 1, 1][i];
            assert_eq!(compiled, want, "{}", configs[i].0);
            t.push(elapsed);
            phases[i].push(timings);
        }
    }
    rt.block_on(volume.destroy(&volume_name)).unwrap();

    let median = |t: &mut Vec<Duration>| {
        t.sort();
        t[t.len() / 2]
    };
    let medians: Vec<Duration> = times.iter_mut().map(median).collect();
    println!("second run of a 20-file C kata, one file changed; {runs} runs each, median:");
    println!(
        "| runner and backend | files compiled | median | ratio to tmp | ratio above the floor |"
    );
    println!("| --- | --- | --- | --- | --- |");
    let (floor, tmp) = (medians[0].as_secs_f64(), medians[1].as_secs_f64());
    for (i, (name, ..)) in configs.iter().enumerate() {
        let t = medians[i].as_secs_f64();
        println!(
            "| {name} | {} | {:.0} ms | {:.2} | {:.2} |",
            [0, 17, 1, 1][i],
            t * 1e3,
            t / tmp,
            (t - floor) / (tmp - floor)
        );
    }
    println!("\nwhere the time goes (mean ms):");
    println!("| runner and backend | prepare | container | harvest | save |");
    println!("| --- | --- | --- | --- | --- |");
    for (i, (name, ..)) in configs.iter().enumerate() {
        let n = phases[i].len() as f64;
        let mean = |f: fn(&kata_strategy::Timings) -> Duration| {
            phases[i].iter().map(|t| f(t).as_secs_f64()).sum::<f64>() / n * 1e3
        };
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {:.0} |",
            mean(|t| t.prepare),
            mean(|t| t.container),
            mean(|t| t.harvest),
            mean(|t| t.save)
        );
    }
}
