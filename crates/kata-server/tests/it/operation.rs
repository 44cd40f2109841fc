//! Running the service: admission, metrics.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_over_the_limit_gets_429_with_retry_after() {
    let s = Server::with(kata_server::ServerConfig {
        concurrency: 1,
        queue: 1,
        ..Default::default()
    })
    .await;
    let body = json!({"files": {"cyber-dojo.sh": "sleep 2"}, "image": SMALL, "rules": [{"else": "green"}]});
    // Collected, so that all five are sent before any answer is awaited.
    let sends: Vec<_> = (0..5)
        .map(|i| {
            let (client, url, body) = (
                s.client.clone(),
                s.url(&format!("/v1/katas/Burst{i}/runs")),
                body.clone(),
            );
            tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap() })
        })
        .collect();
    let mut statuses = Vec::new();
    for send in sends {
        let response = send.await.unwrap();
        if response.status() == 429 {
            assert_eq!(response.headers()["retry-after"], "1");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "busy");
            statuses.push(429);
        } else {
            statuses.push(response.status().as_u16());
        }
    }
    statuses.sort();
    assert_eq!(
        statuses,
        [201, 201, 429, 429, 429],
        "one runs, one waits, the rest are turned away"
    );
    let (_, metrics) = metrics(&s).await;
    assert!(
        metrics.contains("kata_runner_rejected_total 3"),
        "{metrics}"
    );
}

async fn metrics(s: &Server) -> (u16, String) {
    let r = s.client.get(s.url("/metrics")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_runs_by_outcome() {
    let s = Server::start().await;
    let body = json!({"files": {"cyber-dojo.sh": "exit 1"}, "image": SMALL, "rules": [{"if": {"status": 0}, "then": "green"}, {"else": "red"}]});
    let (status, _) = s.post("/v1/katas/M3tric/runs", &body).await;
    assert_eq!(status, 201);
    let (status, text) = metrics(&s).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("kata_runner_runs_total{outcome=\"red\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("kata_runner_run_duration_seconds_count 1"),
        "{text}"
    );
    assert!(text.contains("kata_runner_queue_depth 0"), "{text}");
    assert!(text.contains("kata_runner_containers_alive 0"), "{text}");
    let _ = Method::GET;
}
