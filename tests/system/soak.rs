//! The soak: many runs of mixed payloads at concurrency 8 over two servers
//! (katas over a host directory and over a Docker volume), clients hanging
//! up at random, and one restart of the Docker engine half way. Afterwards
//! every run that was answered has its event, no container is left, and
//! both servers still answer `/ready`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::hostile::MEMORY_BOUND;
use crate::support::{self, Backend, SMALL, Server};

const CONCURRENCY: usize = 8;
const KATAS_PER_SERVER: usize = 24;

/// A small xorshift: the suite needs spread, not cryptography; the seed is
/// printed so that a failing mix can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One payload of the mix: files, max_seconds, runner.
fn payload(rng: &mut Rng, n: usize) -> Value {
    let (script, max_seconds) = match rng.below(10) {
        0 => ("echo green; exit 0".to_owned(), 5),
        1 => ("echo red >&2; exit 1".to_owned(), 5),
        2 => (format!("echo {n} > out-{}.txt; ls", rng.below(5)), 5),
        3 => ("rm -f out-*.txt; echo cleaned".to_owned(), 5),
        4 => ("head -c 2000000 /dev/zero | tr '\\0' y".to_owned(), 5),
        5 => (
            "ln -s /etc/passwd link; mkfifo fifo; echo hostile".to_owned(),
            5,
        ),
        6 => ("sleep 10".to_owned(), 1),
        7 => (
            "mkdir -p d/e && seq 1000 > d/e/numbers && wc -l d/e/numbers".to_owned(),
            5,
        ),
        8 => (":(){ :|:& };:".to_owned(), 2),
        _ => ("cat hiker.txt; echo more >> hiker.txt".to_owned(), 5),
    };
    let runner = if rng.below(4) == 0 { "tmp" } else { "katas" };
    json!({
        "image": SMALL,
        "max_seconds": max_seconds,
        "runner": runner,
        "rules": crate::hostile::rules(),
        "files": {"cyber-dojo.sh": script, "hiker.txt": format!("run {n}\n")},
    })
}

#[derive(Default)]
struct Tally {
    answered: usize,
    hung_up: usize,
    failed: BTreeMap<u16, usize>,
    /// (server, kata, index, outcome) of every answered run.
    events: Vec<(usize, String, u64, String)>,
    /// Runs started after the engine was back, and how many of them failed.
    after_restart: (usize, usize),
}

pub fn soak() -> Result<(), String> {
    let runs: usize = std::env::var("KATA_SOAK_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let seed: u64 = std::env::var("KATA_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(std::process::id()) * 2_654_435_761 + 1);
    eprintln!("soak: {runs} runs, seed {seed}");
    let servers: Arc<Vec<Server>> = Arc::new(vec![
        Server::start(Backend::Dir, "soak-dir", &["--concurrency", "4"]),
        Server::start(Backend::Volume, "soak-volume", &["--concurrency", "4"]),
    ]);
    let ids: Arc<Vec<Vec<String>>> = Arc::new(
        (0..servers.len())
            .map(|_| (0..KATAS_PER_SERVER).map(|_| support::fresh_id()).collect())
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    // 0: before the restart; 1: restarting; 2: back.
    let phase = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();

    let restarter = {
        let (next, phase) = (next.clone(), phase.clone());
        std::thread::spawn(move || {
            while next.load(Ordering::Relaxed) < runs * 2 / 5 {
                std::thread::sleep(Duration::from_millis(50));
            }
            phase.store(1, Ordering::SeqCst);
            let t = Instant::now();
            support::restart_engine();
            eprintln!("soak: engine restarted in {:?}", t.elapsed());
            phase.store(2, Ordering::SeqCst);
        })
    };

    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|w| {
            let (servers, ids, next, tally, phase) = (
                servers.clone(),
                ids.clone(),
                next.clone(),
                tally.clone(),
                phase.clone(),
            );
            let mut rng = Rng(seed ^ (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            std::thread::spawn(move || {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= runs {
                        return;
                    }
                    let s = w % servers.len();
                    let server = &servers[s];
                    let id = ids[s][rng.below(KATAS_PER_SERVER as u64) as usize].clone();
                    let body = payload(&mut rng, n);
                    let hang_up =
                        (rng.below(10) == 0).then(|| Duration::from_millis(50 + rng.below(1500)));
                    let back = phase.load(Ordering::SeqCst) == 2;
                    let url = server.url(&format!("/v1/katas/{id}/runs"));
                    let client = server.client.clone();
                    // A client that honours 503 + Retry-After, as the engine
                    // restarts: the same run is sent again a second later.
                    let answer = support::block_on(async move {
                        let send = async {
                            for _ in 0..90 {
                                let r = client.post(&url).json(&body).send().await?;
                                let status = r.status().as_u16();
                                let v: Value = r.json().await?;
                                if status != 503 {
                                    return Ok::<_, reqwest::Error>((status, v));
                                }
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                            Ok((503, Value::Null))
                        };
                        match hang_up {
                            Some(after) => tokio::time::timeout(after, send).await.ok(),
                            None => Some(send.await),
                        }
                    });
                    let mut t = tally.lock().unwrap();
                    match answer {
                        None => t.hung_up += 1,
                        Some(Ok((201, v))) => {
                            t.answered += 1;
                            t.events.push((
                                s,
                                id,
                                v["index"].as_u64().unwrap_or(0),
                                v["outcome"].as_str().unwrap_or("").to_owned(),
                            ));
                            if back {
                                t.after_restart.0 += 1;
                            }
                        }
                        Some(Ok((status, v))) => {
                            *t.failed.entry(status).or_default() += 1;
                            if back {
                                t.after_restart.0 += 1;
                                t.after_restart.1 += 1;
                                eprintln!("soak: after the restart, {status}: {v}");
                            }
                        }
                        Some(Err(e)) => {
                            *t.failed.entry(0).or_default() += 1;
                            eprintln!("soak: transport error: {e}");
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| "a soak worker panicked")?;
    }
    restarter.join().map_err(|_| "the restart panicked")?;
    let elapsed = started.elapsed();
    let t = tally.lock().unwrap();
    eprintln!(
        "soak: {runs} runs in {elapsed:?}: {} answered, {} hung up, failed {:?}, after the restart {:?}",
        t.answered, t.hung_up, t.failed, t.after_restart
    );

    // Runs that started once the engine was back must all succeed: the
    // servers reconnect by themselves.
    if t.after_restart.1 > 0 {
        return Err(format!(
            "{} of {} runs after the engine restart failed",
            t.after_restart.1, t.after_restart.0
        ));
    }
    // Every run not hung up on is answered: a 503 during the restart is
    // retried, and nothing else may fail.
    if !t.failed.is_empty() {
        return Err(format!("runs failed: {:?}", t.failed));
    }
    // Every answered run's event is in its kata's history, with its outcome;
    // every history is numbered 1..=n with no gap.
    let mut seen: BTreeSet<(usize, String, u64)> = BTreeSet::new();
    for (s, id, index, outcome) in &t.events {
        let e = servers[*s].get(&format!("/v1/katas/{id}/events/{index}"));
        if e.status != 200 || e.body["outcome"] != json!(outcome) {
            return Err(format!("{id} event {index}: {} {:.300}", e.status, e.text));
        }
        seen.insert((*s, id.clone(), *index));
    }
    for (s, server) in servers.iter().enumerate() {
        for id in &ids[s] {
            let list = server.get(&format!("/v1/katas/{id}/events"));
            let indexes: Vec<u64> = list.body["events"]
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["index"].as_u64()).collect())
                .unwrap_or_default();
            let expected: Vec<u64> = (1..=indexes.len() as u64).collect();
            if indexes != expected {
                return Err(format!("{id}: events {indexes:?} have gaps"));
            }
        }
        if !server.ready() {
            return Err(format!(
                "{} is not ready after the soak",
                server.backend.name()
            ));
        }
        let left = server.containers_left();
        if !left.is_empty() {
            return Err(format!("containers left after the soak: {left:?}"));
        }
        let rss = server.peak_rss();
        eprintln!(
            "soak: {} server peak memory {} MiB",
            server.backend.name(),
            rss >> 20
        );
        if rss > MEMORY_BOUND {
            return Err(format!("server peak memory {} MiB", rss >> 20));
        }
    }
    Ok(())
}
