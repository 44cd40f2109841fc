//! The native /v1 API.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_run_reports_created_changed_deleted_and_is_in_the_history() {
    let s = Server::start().await;
    let body = json!({
        "files": {
            "cyber-dojo.sh": "rm old.txt; echo changed > keep.txt; echo made > new.txt; exit 3",
            "old.txt": "old", "keep.txt": "keep",
        },
        "image": SMALL,
        "runner": "katas",
        "rules": [{"if": {"status": 0}, "then": "green"}, {"else": "red"}],
    });
    let (status, run) = s.post("/v1/katas/N4tive/runs", &body).await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["index"], 1);
    assert_eq!(run["outcome"], "red");
    assert_eq!(run["status"], 3);
    assert_eq!(run["deleted"], json!(["old.txt"]));
    assert_eq!(run["changed"]["keep.txt"]["content"], "changed\n");
    assert_eq!(run["created"]["new.txt"]["content"], "made\n");
    assert!(run["timings_ms"]["total"].as_f64().unwrap() > 0.0);

    let (status, list) = s.call(Method::GET, "/v1/katas/N4tive/events", "").await;
    assert_eq!(status, 200);
    let events = list["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["outcome"], "red");
    assert_eq!(events[0]["time"].as_array().unwrap().len(), 7);

    let (status, event) = s.call(Method::GET, "/v1/katas/N4tive/events/1", "").await;
    assert_eq!(status, 200);
    assert_eq!(
        event["files"],
        json!({"cyber-dojo.sh": body["files"]["cyber-dojo.sh"], "keep.txt": "changed\n", "new.txt": "made\n"})
    );
    assert_eq!(event["deleted"], json!(["old.txt"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_a_4xx_with_a_json_reason() {
    let s = Server::with(kata_server::ServerConfig {
        max_body_bytes: 64 * 1024,
        ..Default::default()
    })
    .await;
    let ok_files = json!({"cyber-dojo.sh": "true"});
    let cases = [
        (
            "/v1/katas/bad..id/runs",
            json!({"files": ok_files, "image": SMALL}).to_string(),
            400,
            "bad_id",
        ),
        ("/v1/katas/34de2W/runs", "{oops".to_owned(), 400, "bad_body"),
        (
            "/v1/katas/34de2W/runs",
            json!({"files": "nope", "image": SMALL}).to_string(),
            400,
            "bad_body",
        ),
        (
            "/v1/katas/34de2W/runs",
            json!({"files": ok_files, "image": SMALL, "extra": 1}).to_string(),
            400,
            "bad_body",
        ),
        (
            "/v1/katas/34de2W/runs",
            json!({"files": {"../x": "", "cyber-dojo.sh": ""}, "image": SMALL}).to_string(),
            400,
            "bad_body",
        ),
        (
            "/v1/katas/34de2W/runs",
            json!({"files": {"a": "", "a/b": "", "cyber-dojo.sh": ""}, "image": SMALL}).to_string(),
            400,
            "bad_files",
        ),
        (
            "/v1/katas/34de2W/runs",
            json!({"files": {"x": ""}, "image": SMALL}).to_string(),
            400,
            "bad_files",
        ),
        (
            "/v1/katas/34de2W/runs",
            json!({"files": ok_files, "image": SMALL, "max_seconds": 99}).to_string(),
            400,
            "bad_max_seconds",
        ),
        (
            "/v1/katas/34de2W/runs",
            json!({"files": ok_files, "image": "Bad Image!"}).to_string(),
            400,
            "bad_image",
        ),
        (
            "/v1/katas/34de2W/runs",
            json!({"files": ok_files, "image": "kata-runner/absent:1"}).to_string(),
            422,
            "image_not_found",
        ),
        (
            "/v1/katas/34de2W/runs",
            json!({"files": {"cyber-dojo.sh": "x".repeat(70_000)}, "image": SMALL}).to_string(),
            413,
            "too_large",
        ),
    ];
    for (path, body, status, code) in cases {
        let (got, answer) = s.call(Method::POST, path, body.clone()).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str().unwrap_or("")),
            (status, code),
            "{path} {}: {answer}",
            &body[..body.len().min(200)]
        );
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, answer) = s.call(Method::GET, "/v1/katas/34de2W/events/99", "").await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (404, json!("no_such_event"))
    );
    let (status, answer) = s.call(Method::GET, "/v1/katas/34de2W/events/x", "").await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!("bad_index"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_is_served_and_kept_in_docs() {
    let s = Server::start().await;
    let (status, served) = s.call(Method::GET, "/v1/openapi.json", "").await;
    assert_eq!(status, 200);
    let kept: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(served, kept);
    assert!(served["paths"]["/v1/katas/{id}/runs"]["post"].is_object());
}
