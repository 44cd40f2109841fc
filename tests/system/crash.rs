//! `kill -9` of the server while runs are in flight, ten times, at
//! different moments. After each restart the reaper has removed the orphaned
//! containers, every history is numbered without gaps and readable, and
//! every kata runs on from where its history says it is.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{self, Backend, SMALL, Server};

fn run_body(script: &str, n: usize) -> Value {
    json!({
        "image": SMALL,
        "max_seconds": 8,
        "rules": crate::hostile::rules(),
        "files": {"cyber-dojo.sh": script, "round.txt": format!("{n}\n")},
    })
}

pub fn crash(backend: Backend) -> Result<(), String> {
    let mut server = Server::start(backend, &format!("crash-{}", backend.name()), &[]);
    let ids: Vec<String> = (0..4).map(|_| support::fresh_id()).collect();
    for id in &ids {
        let a = server.run(id, run_body("echo first > first.txt", 0));
        if a.status != 201 {
            return Err(format!("first run: {}", a.text));
        }
    }
    let mut killed_with_containers = 0;
    for (round, kill_after_ms) in [300u64, 700, 1100, 1400, 1500, 1600, 1700, 1800, 1900, 2600]
        .into_iter()
        .enumerate()
        .map(|(i, ms)| (i + 1, ms))
    {
        // Runs in flight: a few seconds each, so that the kill finds them in
        // every phase (syncing, in the container, saving).
        let port = server.port;
        let flights: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let url = format!("http://127.0.0.1:{port}/v1/katas/{id}/runs");
                let body = run_body(
                    &format!("sleep 1.{i}; echo {round} > r{round}.txt; cat round.txt"),
                    round,
                );
                support::spawn(async move {
                    reqwest::Client::new()
                        .post(url)
                        .json(&body)
                        .send()
                        .await
                        .map(|r| r.status())
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        let orphans = server.containers();
        server.kill9();
        killed_with_containers += orphans.len();
        for f in flights {
            let _ = support::block_on(f);
        }
        eprintln!(
            "crash {}: round {round}, killed with {} containers running",
            backend.name(),
            orphans.len()
        );
        server.launch();
        let left = server.containers_left();
        if !left.is_empty() {
            return Err(format!("round {round}: orphans not reaped: {left:?}"));
        }
        for id in &ids {
            check_kata(&server, id, round)?;
        }
    }
    // Of ten rounds, at least one killed the server with containers
    // running, or the test proved nothing about orphans.
    if killed_with_containers == 0 {
        return Err("no round killed the server with a container running".into());
    }
    server.check_sentinels()?;
    Ok(())
}

/// The history is whole, and the kata runs on from it.
fn check_kata(server: &Server, id: &str, round: usize) -> Result<(), String> {
    let list = server.get(&format!("/v1/katas/{id}/events"));
    if list.status != 200 {
        return Err(format!("{id}: events: {} {}", list.status, list.text));
    }
    let indexes: Vec<u64> = list.body["events"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["index"].as_u64()).collect())
        .unwrap_or_default();
    let n = indexes.len() as u64;
    if indexes != (1..=n).collect::<Vec<_>>() {
        return Err(format!("{id}: events {indexes:?} have gaps"));
    }
    for i in 1..=n {
        let e = server.get(&format!("/v1/katas/{id}/events/{i}"));
        if e.status != 200 {
            return Err(format!("{id} event {i}: {} {}", e.status, e.text));
        }
    }
    if server.backend == Backend::Dir {
        let git = server.kata_dir(id).join("history.git");
        let fsck = std::process::Command::new("git")
            .args(["--git-dir", &git.to_string_lossy(), "fsck", "--strict"])
            .output()
            .map_err(|e| format!("git fsck: {e}"))?;
        if !fsck.status.success() {
            return Err(format!(
                "{id}: git fsck: {}",
                String::from_utf8_lossy(&fsck.stderr)
            ));
        }
    }
    // The next run sees the files it sends, and its index follows the last.
    let a = server.run(
        id,
        json!({
            "image": SMALL,
            "max_seconds": 5,
            "rules": crate::hostile::rules(),
            "files": {"cyber-dojo.sh": "cat round.txt; ls", "round.txt": format!("after {round}\n")},
        }),
    );
    if a.status != 201 || a.body["index"] != json!(n + 1) {
        return Err(format!(
            "{id}: the run after the crash: {} {:.400}\n{}",
            a.status,
            a.text,
            server.log()
        ));
    }
    if !a.stdout().contains(&format!("after {round}")) {
        return Err(format!("{id}: the sandbox after the crash: {}", a.stdout()));
    }
    Ok(())
}
