//! cyber-dojo's runner API, as its web service uses it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn health_endpoints_answer_as_cyber_dojo() {
    let s = Server::start().await;
    assert_eq!(
        s.call(Method::GET, "/alive", "").await,
        (200, json!({"alive?": true}))
    );
    assert_eq!(
        s.call(Method::GET, "/ready", "").await,
        (200, json!({"ready?": true}))
    );
    let (status, sha) = s.call(Method::GET, "/sha", "").await;
    assert_eq!(status, 200);
    assert!(
        sha["sha"]
            .as_str()
            .is_some_and(|s| s.len() == 40 || s == "unknown"),
        "{sha}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_image_says_pulled_for_an_image_on_the_engine() {
    let s = Server::start().await;
    let (status, body) = s
        .post("/pull_image", &json!({"id": "34de2W", "image_name": SMALL}))
        .await;
    assert_eq!((status, body), (200, json!({"pull_image": "pulled"})));
    let (status, body) = s
        .post(
            "/pull_image",
            &json!({"id": "34de2W", "image_name": "kata-runner/not-here:1"}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"pull_image": "pulling"})));
}

async fn run(s: &Server, method: Method, answer: &str) -> Value {
    let body = json!({"id": "C4sser", "files": c_assert(answer), "manifest": manifest(GCC, 10)});
    let (status, body) = s.call(method, "/run_cyber_dojo_sh", body.to_string()).await;
    assert_eq!(status, 200, "{body}");
    body["run_cyber_dojo_sh"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_c_assert_trio_is_red_amber_green() {
    let s = Server::start().await;
    // The web service sends a GET with a JSON body.
    let red = run(&s, Method::GET, "6 * 9").await;
    assert_eq!(red["outcome"], "red", "{red}");
    assert_eq!(red["status"], "2", "status is a string");
    assert!(
        red["stderr"]["content"]
            .as_str()
            .unwrap()
            .contains("Assertion"),
        "{red}"
    );
    assert_eq!(red["log"], json!({}));

    let amber = run(&s, Method::POST, "6 * 9s").await;
    assert_eq!(amber["outcome"], "amber", "{amber}");
    let green = run(&s, Method::POST, "6 * 7").await;
    assert_eq!(green["outcome"], "green", "{green}");
    assert_eq!(green["status"], "0");
    assert!(
        green["stdout"]["content"]
            .as_str()
            .unwrap()
            .contains("All tests passed")
    );
    // The result's shape, exactly.
    let mut keys: Vec<_> = green.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "changed", "created", "log", "outcome", "status", "stderr", "stdout"
        ]
    );
    assert_eq!(
        green["created"],
        json!({}),
        "tests.out is binary: not returned"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_past_max_seconds_is_timed_out() {
    let s = Server::start().await;
    let files = json!({"cyber-dojo.sh": "echo started; sleep 30"});
    let body = json!({"id": "T1meUp", "files": files, "manifest": manifest(GCC, 2)});
    let started = std::time::Instant::now();
    let (status, body) = s.post("/run_cyber_dojo_sh", &body).await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed().as_secs_f64() < 5.0,
        "{:?}",
        started.elapsed()
    );
    let r = &body["run_cyber_dojo_sh"];
    assert_eq!(r["outcome"], "timed_out");
    assert_eq!(r["status"], "142");
    assert_eq!(r["stdout"], json!({"content": "", "truncated": false}));
    assert_eq!(
        (r["created"].clone(), r["changed"].clone()),
        (json!({}), json!({}))
    );
    assert!(r["log"]["message"].as_str().unwrap().contains("timed out"));
}

#[tokio::test(flavor = "multi_thread")]
async fn max_seconds_is_capped_at_15() {
    let s = Server::start().await;
    let files = json!({"cyber-dojo.sh": "sleep 17; echo late"});
    let body = json!({"id": "Capped", "files": files, "manifest": manifest(SMALL, 20)});
    let started = std::time::Instant::now();
    let (_, body) = s.post("/run_cyber_dojo_sh", &body).await;
    assert_eq!(body["run_cyber_dojo_sh"]["outcome"], "timed_out");
    assert!(started.elapsed().as_secs() < 17, "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn created_and_changed_files_come_back() {
    let s = Server::start().await;
    let files = json!({
        "cyber-dojo.sh": "echo new > made.txt; mkdir -p d1/d2; echo deep > d1/d2/x.txt; echo more >> notes.txt; printf '\\0\\1' > bin.dat",
        "notes.txt": "notes\n",
    });
    let lambda = "lambda { |stdout, stderr, status| return :green if status == 0\n:red }";
    let mut manifest = manifest(SMALL, 10);
    manifest["rag_lambda"] = json!(lambda);
    let body = json!({"id": "Cr3ate", "files": files, "manifest": manifest});
    let (_, body) = s.post("/run_cyber_dojo_sh", &body).await;
    let r = &body["run_cyber_dojo_sh"];
    assert_eq!(r["outcome"], "green", "{r}");
    assert_eq!(
        r["created"]["made.txt"],
        json!({"content": "new\n", "truncated": false})
    );
    assert_eq!(r["created"]["d1/d2/x.txt"]["content"], "deep\n");
    assert!(
        r["created"].get("bin.dat").is_none(),
        "binary files are not returned"
    );
    assert_eq!(r["changed"]["notes.txt"]["content"], "notes\nmore\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_map_as_in_cyber_dojo() {
    let s = Server::start().await;
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "/run_cyber_dojo_sh",
            "{not json".into(),
            400,
            "body is not JSON",
        ),
        (
            "/run_cyber_dojo_sh",
            "[1,2]".into(),
            400,
            "body is not JSON Hash",
        ),
        (
            "/run_cyber_dojo_sh",
            "".into(),
            400,
            "missing argument(s): :id, :files, :manifest",
        ),
        (
            "/run_cyber_dojo_sh",
            json!({"id": "34de2W"}).to_string(),
            400,
            "missing argument(s): :files, :manifest",
        ),
        ("/no_such_path", "{}".into(), 400, "unknown path"),
    ];
    for (path, body, status, message) in cases {
        let (got, answer) = s.call(Method::POST, path, body.clone()).await;
        assert_eq!(got, status, "{path} {body}: {answer}");
        let e = &answer["exception"];
        assert_eq!(e["message"], message, "{answer}");
        assert_eq!(e["class"], "Runner");
        assert_eq!(e["path"], path);
        assert_eq!(e["body"], body);
    }
    let bad = [
        json!({"id": "../../etc", "files": {}, "manifest": manifest(SMALL, 1)}),
        json!({"id": "34de2W", "files": {"../escape": "x"}, "manifest": manifest(SMALL, 1)}),
        json!({"id": "34de2W", "files": {"/etc/passwd": "x"}, "manifest": manifest(SMALL, 1)}),
        json!({"id": "34de2W", "files": {"a": 1}, "manifest": manifest(SMALL, 1)}),
        json!({"id": "34de2W", "files": {}, "manifest": {"max_seconds": 1}}),
        json!({"id": "34de2W", "files": {}, "manifest": manifest("Not A Valid Image!", 1)}),
    ];
    for body in bad {
        let (status, answer) = s.post("/run_cyber_dojo_sh", &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["exception"]["message"]
                .as_str()
                .unwrap()
                .starts_with("malformed argument"),
            "{answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_not_on_the_engine_is_pulling() {
    let s = Server::start().await;
    let body = json!({"id": "Pu11ed", "files": {"cyber-dojo.sh": "true"}, "manifest": manifest("kata-runner/absent:1", 5)});
    let (status, body) = s.post("/run_cyber_dojo_sh", &body).await;
    assert_eq!(status, 200);
    let r = &body["run_cyber_dojo_sh"];
    assert_eq!(
        (r["outcome"].clone(), r["status"].clone()),
        (json!("pulling"), json!("141")),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsupported_lambda_is_faulty_with_the_reason() {
    let s = Server::start().await;
    let mut m = manifest(SMALL, 5);
    m["rag_lambda"] = json!("lambda { |stdout, stderr, status| system('rm -rf /') }");
    let body = json!({"id": "Fau1ty", "files": {"cyber-dojo.sh": "echo hi"}, "manifest": m});
    let (_, body) = s.post("/run_cyber_dojo_sh", &body).await;
    let r = &body["run_cyber_dojo_sh"];
    assert_eq!(
        (r["outcome"].clone(), r["status"].clone()),
        (json!("faulty"), json!("143")),
        "{r}"
    );
    assert!(
        r["log"]["message"].as_str().unwrap().contains("rag_lambda"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_without_bash_is_faulty() {
    let s = Server::start().await;
    let mut m = manifest("kata-runner/no-bash", 5);
    m["rag_lambda"] = json!("lambda { |stdout, stderr, status| :green }");
    let body = json!({"id": "N0bash", "files": {"cyber-dojo.sh": "echo hi"}, "manifest": m});
    let (_, body) = s.post("/run_cyber_dojo_sh", &body).await;
    let r = &body["run_cyber_dojo_sh"];
    assert_eq!(r["outcome"], "faulty", "{r}");
    assert!(
        r["log"]["message"].as_str().unwrap().contains("bash"),
        "{r}"
    );
}
