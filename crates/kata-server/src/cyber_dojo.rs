//! cyber-dojo's runner API, as its web service calls it.
//!
//! Bodies are read by hand, not by an extractor, because cyber-dojo's rules
//! are particular: any method, an empty body means `{}`, and every error is
//! `{"exception": {"path", "body", "class": "Runner", "message"}}` — 400 for
//! the client's mistakes, 500 for ours.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::Uri;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use kata_docker::{ExecError, PullState};
use kata_strategy::{RunError, RunReport, RunRequest};
use kata_types::{FileContent, Files, KataId, Outcome, SandboxPath};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::judges::RuleSource;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/alive", any(alive))
        .route("/ready", any(ready))
        .route("/sha", any(sha))
        .route("/pull_image", any(pull_image))
        .route("/run_cyber_dojo_sh", any(run_cyber_dojo_sh))
}

/// cyber-dojo's error answer.
pub struct Exception {
    status: StatusCode,
    path: String,
    body: String,
    message: String,
}

impl IntoResponse for Exception {
    fn into_response(self) -> Response {
        let body = json!({"exception": {
            "path": self.path,
            "body": self.body,
            "class": "Runner",
            "message": self.message,
        }});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}

/// A request body as cyber-dojo reads it: a JSON object, `{}` when empty.
struct Call {
    path: String,
    body: String,
    args: Map<String, Value>,
}

impl Call {
    fn parse(uri: &Uri, body: Result<Bytes, BytesRejection>) -> Result<Self, Exception> {
        let path = uri.path().to_owned();
        let bytes = match body {
            Ok(bytes) => bytes,
            Err(rejection) => {
                let status = rejection.status();
                return Err(Exception {
                    status: if status.is_client_error() {
                        status
                    } else {
                        StatusCode::BAD_REQUEST
                    },
                    path,
                    body: String::new(),
                    message: rejection.body_text(),
                });
            }
        };
        let body = String::from_utf8_lossy(&bytes).into_owned();
        let fail = |message: &str| Exception {
            status: StatusCode::BAD_REQUEST,
            path: path.clone(),
            body: body.clone(),
            message: message.to_owned(),
        };
        let value: Value = if body.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str(&body).map_err(|_| fail("body is not JSON"))?
        };
        let Value::Object(args) = value else {
            return Err(fail("body is not JSON Hash"));
        };
        Ok(Self { path, body, args })
    }

    fn error(&self, status: StatusCode, message: impl Into<String>) -> Exception {
        Exception {
            status,
            path: self.path.clone(),
            body: self.body.clone(),
            message: message.into(),
        }
    }

    fn bad(&self, message: impl Into<String>) -> Exception {
        self.error(StatusCode::BAD_REQUEST, message)
    }

    /// cyber-dojo names every missing argument at once, in signature order.
    fn require(&self, names: &[&str]) -> Result<(), Exception> {
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !self.args.contains_key(**n))
            .map(|n| format!(":{n}"))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(self.bad(format!("missing argument(s): {}", missing.join(", "))))
        }
    }

    fn id(&self) -> Result<KataId, Exception> {
        match &self.args["id"] {
            Value::String(s) => {
                KataId::new(s).map_err(|e| self.bad(format!("malformed argument: :id {e}")))
            }
            _ => Err(self.bad("malformed argument: :id is not a String")),
        }
    }
}

async fn alive() -> impl IntoResponse {
    axum::Json(json!({"alive?": true}))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let ready = !state.tasks.is_closed();
    axum::Json(json!({"ready?": ready}))
}

async fn sha(State(state): State<AppState>) -> impl IntoResponse {
    axum::Json(json!({"sha": state.config.sha}))
}

async fn pull_image(
    State(state): State<AppState>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, Exception> {
    let call = Call::parse(&uri, body)?;
    call.require(&["id", "image_name"])?;
    call.id()?;
    let Value::String(image) = &call.args["image_name"] else {
        return Err(call.bad("malformed argument: :image_name is not a String"));
    };
    match state.runner.executor().pull_image(image).await {
        Ok(PullState::Pulled) => Ok(axum::Json(json!({"pull_image": "pulled"}))),
        Ok(PullState::Pulling) => Ok(axum::Json(json!({"pull_image": "pulling"}))),
        Err(e @ ExecError::InvalidImage { .. }) => {
            Err(call.bad(format!("malformed argument: :image_name {e}")))
        }
        Err(e) => Err(call.error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

async fn run_cyber_dojo_sh(
    State(state): State<AppState>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, Exception> {
    let call = Call::parse(&uri, body)?;
    call.require(&["id", "files", "manifest"])?;
    let id = call.id()?;
    let files = files(&call, state.config.max_files)?;
    let Value::Object(manifest) = &call.args["manifest"] else {
        return Err(call.bad("malformed argument: :manifest is not a Hash"));
    };
    let Some(Value::String(image)) = manifest.get("image_name") else {
        return Err(call.bad("malformed argument: :manifest has no String image_name"));
    };
    let max_seconds = match manifest.get("max_seconds") {
        None | Some(Value::Null) => state.config.default_max_seconds,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => n.min(u64::from(state.config.max_seconds_cap)) as u32,
            _ => {
                return Err(
                    call.bad("malformed argument: :manifest max_seconds is not an Integer >= 1")
                );
            }
        },
    };
    let rules = match manifest.get("rag_lambda") {
        None | Some(Value::Null) => RuleSource::Image,
        Some(Value::String(src)) => RuleSource::Ruby(src),
        Some(_) => return Err(call.bad("malformed argument: :manifest rag_lambda is not a String")),
    };
    let request = RunRequest {
        id,
        files,
        image: image.clone(),
        max_seconds,
        runner: state.config.default_runner,
    };
    match crate::native::admit_and_run(&state, request, rules).await {
        Ok(report) => Ok(axum::Json(json!({"run_cyber_dojo_sh": result(&report)}))),
        Err(crate::native::Failed::Busy) => Err(call.error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many runs: try again shortly",
        )),
        Err(crate::native::Failed::Run(RunError::Exec {
            source: ExecError::ImageNotFound { image, .. },
            ..
        })) => Ok(axum::Json(json!({"run_cyber_dojo_sh": synthetic(
            Outcome::Pulling,
            &format!("image {image} is not on the engine; pulling it"),
        )}))),
        Err(crate::native::Failed::Run(RunError::Exec {
            source: e @ ExecError::InvalidImage { .. },
            ..
        })) => Err(call.bad(format!("malformed argument: :manifest image_name {e}"))),
        Err(crate::native::Failed::Run(e)) => {
            Err(call.error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
        }
        Err(crate::native::Failed::Judge(e)) => {
            Err(call.error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
        }
    }
}

/// `files` as cyber-dojo sends them: name → content, names checked.
fn files(call: &Call, max_files: usize) -> Result<Files, Exception> {
    let Value::Object(given) = &call.args["files"] else {
        return Err(call.bad("malformed argument: :files is not a Hash"));
    };
    if given.len() > max_files {
        return Err(call.bad(format!(
            "malformed argument: :files has {} files, more than {max_files}",
            given.len()
        )));
    }
    let mut files = Files::new();
    for (name, content) in given {
        let path = SandboxPath::new(name).map_err(|e| {
            call.bad(format!(
                "malformed argument: :files name {:?}: {e}",
                cut(name)
            ))
        })?;
        // The web service sends plain strings; older clients {content: ...}.
        let text = match content {
            Value::String(s) => s.clone(),
            Value::Object(o) => match o.get("content") {
                Some(Value::String(s)) => s.clone(),
                _ => {
                    return Err(call.bad(format!(
                        "malformed argument: :files {:?} has no String content",
                        cut(name)
                    )));
                }
            },
            _ => {
                return Err(call.bad(format!(
                    "malformed argument: :files {:?} is not a String",
                    cut(name)
                )));
            }
        };
        files.insert(path, text);
    }
    kata_types::check_no_clashes(&files)
        .map_err(|e| call.bad(format!("malformed argument: :files {e}")))?;
    Ok(files)
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

fn content(c: &FileContent) -> Value {
    json!({"content": c.content, "truncated": c.truncated})
}

/// The result cyber-dojo's web service reads.
fn result(report: &RunReport) -> Value {
    let e = &report.event;
    if matches!(
        e.outcome,
        Outcome::TimedOut | Outcome::Faulty | Outcome::Pulling
    ) {
        let log = report.log.clone().unwrap_or_default();
        let mut v = synthetic(e.outcome, &log);
        // A faulty judge still saw real output: cyber-dojo keeps it.
        if e.outcome == Outcome::Faulty {
            v["stdout"] = content(&e.stdout);
            v["stderr"] = content(&e.stderr);
        }
        return v;
    }
    let map = |m: &BTreeMap<SandboxPath, FileContent>| -> Value {
        Value::Object(m.iter().map(|(k, v)| (k.to_string(), content(v))).collect())
    };
    json!({
        "stdout": content(&e.stdout),
        "stderr": content(&e.stderr),
        "status": e.status,
        "outcome": e.outcome.as_str(),
        "log": {},
        "created": map(&report.created),
        "changed": map(&report.changed),
    })
}

/// A result without a real run to report: timed out, faulty, pulling.
fn synthetic(outcome: Outcome, why: &str) -> Value {
    let empty = json!({"content": "", "truncated": false});
    json!({
        "stdout": empty,
        "stderr": empty,
        "status": outcome.synthetic_status().unwrap_or_default().to_string(),
        "outcome": outcome.as_str(),
        "log": {"message": why},
        "created": {},
        "changed": {},
    })
}

/// Any other path: cyber-dojo answers 400.
pub(crate) async fn unknown_path(uri: Uri, body: Result<Bytes, BytesRejection>) -> Exception {
    Exception {
        status: StatusCode::BAD_REQUEST,
        path: uri.path().to_owned(),
        body: body
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
        message: "unknown path".into(),
    }
}
