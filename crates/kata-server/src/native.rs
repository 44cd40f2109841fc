//! The native API, versioned under `/v1`. Described by `docs/openapi.json`
//! (served at `/v1/openapi.json`); every error is `{"error": {"code",
//! "message"}}` with a 4xx for the client's mistakes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use kata_docker::ExecError;
use kata_store::Event;
use kata_strategy::{RunError, RunReport, RunRequest, RunnerKind};
use kata_types::{FileContent, Files, Judge, KataId, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::judges::RuleSource;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/katas/{id}/runs", post(create_run))
        .route("/v1/katas/{id}/events", get(list_events))
        .route("/v1/katas/{id}/events/{index}", get(one_event))
        .route("/v1/openapi.json", get(openapi))
}

/// Why a run produced no report.
pub(crate) enum Failed {
    /// No slot and no room in the queue.
    Busy,
    /// The run flow failed.
    Run(RunError),
    /// The engine failed while the image's rules were read.
    Judge(ExecError),
}

/// Waits for a slot (or is turned away), finds the rules (reading them from
/// the image takes a container, so only with a slot), then runs on the
/// server's task tracker: a client that hangs up does not cut the run short.
pub(crate) async fn admit_and_run(
    state: &AppState,
    request: RunRequest,
    rules: RuleSource<'_>,
) -> Result<RunReport, Failed> {
    // A bad image name is the client's mistake: refused before the kata is
    // touched or a slot taken.
    if let Err(source) = kata_docker::normalize_image(&request.image) {
        return Err(Failed::Run(RunError::Exec {
            id: request.id,
            source,
        }));
    }
    let Ok(permit) = state.admission.enter().await else {
        state.metrics.rejected();
        return Err(Failed::Busy);
    };
    let judge: Arc<dyn Judge> = state
        .judges
        .get(rules, &request.image, state.runner.executor())
        .await
        .map_err(Failed::Judge)?;
    let started = Instant::now();
    let (runner, metrics) = (state.runner.clone(), state.metrics.clone());
    let span = tracing::info_span!("run", kata = %request.id, runner = request.runner.as_str());
    let task = state.tasks.spawn(tracing::Instrument::instrument(
        async move {
            let _slot = permit;
            let result = runner.run(request, &*judge).await;
            match &result {
                Ok(report) => metrics.run(report.event.outcome, started.elapsed()),
                Err(RunError::Exec {
                    source: ExecError::ImageNotFound { .. },
                    ..
                }) => metrics.run(Outcome::Pulling, started.elapsed()),
                Err(e) => {
                    metrics.error();
                    tracing::error!("run failed: {e}");
                }
            }
            result
        },
        span,
    ));
    match task.await {
        Ok(result) => result.map_err(Failed::Run),
        Err(panic) => std::panic::resume_unwind(panic.into_panic()),
    }
}

/// The body of `POST /v1/katas/{id}/runs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    files: Files,
    image: String,
    #[serde(default)]
    max_seconds: Option<u32>,
    #[serde(default)]
    runner: Option<RunnerKind>,
    /// Declarative rules (see kata-lights).
    #[serde(default)]
    rules: Option<Value>,
    /// A cyber-dojo Ruby lambda.
    #[serde(default)]
    rag_lambda: Option<String>,
}

fn kata_id(raw: &str) -> Result<KataId, ApiError> {
    KataId::new(raw).map_err(|e| ApiError::bad_request("bad_id", e.to_string()))
}

async fn create_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let id = kata_id(&id)?;
    let bytes = body.map_err(|r| ApiError {
        status: r.status(),
        code: if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_body"
        },
        message: r.body_text(),
    })?;
    let body: RunBody = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "bad_body",
            format!("the body is not a valid run request: {e}"),
        )
    })?;
    if body.files.len() > state.config.max_files {
        return Err(ApiError::bad_request(
            "too_many_files",
            format!(
                "{} files, more than the {} a run may send",
                body.files.len(),
                state.config.max_files
            ),
        ));
    }
    kata_types::check_no_clashes(&body.files)
        .map_err(|e| ApiError::bad_request("bad_files", e.to_string()))?;
    if !body.files.contains_key("cyber-dojo.sh") {
        return Err(ApiError::bad_request(
            "bad_files",
            "the files have no cyber-dojo.sh",
        ));
    }
    let max_seconds = match body.max_seconds {
        None => state.config.default_max_seconds,
        Some(n) if (1..=state.config.max_seconds_cap).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::bad_request(
                "bad_max_seconds",
                format!(
                    "max_seconds {n} is not in 1..={}",
                    state.config.max_seconds_cap
                ),
            ));
        }
    };
    let rules = match (&body.rules, &body.rag_lambda) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "bad_rules",
                "give rules or rag_lambda, not both",
            ));
        }
        (Some(v), None) => RuleSource::Json(v),
        (None, Some(src)) => RuleSource::Ruby(src),
        (None, None) => RuleSource::Image,
    };
    let location_of = id.to_string();
    let request = RunRequest {
        id,
        files: body.files,
        image: body.image,
        max_seconds,
        runner: body.runner.unwrap_or(state.config.default_runner),
    };
    let report = match admit_and_run(&state, request, rules).await {
        Ok(report) => report,
        Err(Failed::Busy) => {
            return Err(ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "busy",
                message: "too many runs at once: try again shortly".into(),
            });
        }
        Err(Failed::Run(RunError::Exec {
            source: e @ ExecError::ImageNotFound { .. },
            ..
        })) => {
            return Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "image_not_found",
                message: e.to_string(),
            });
        }
        Err(Failed::Run(RunError::Exec {
            source: e @ ExecError::InvalidImage { .. },
            ..
        })) => {
            return Err(ApiError::bad_request("bad_image", e.to_string()));
        }
        Err(Failed::Run(e)) if e.is_engine_failure() => {
            return Err(ApiError::unavailable(&e));
        }
        Err(Failed::Judge(e @ ExecError::Engine { .. })) => {
            return Err(ApiError::unavailable(&e));
        }
        Err(Failed::Run(e)) => return Err(ApiError::internal("the run", &e)),
        Err(Failed::Judge(e)) => return Err(ApiError::internal("reading the image's rules", &e)),
    };
    let location = format!("/v1/katas/{location_of}/events/{}", report.event.index);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(run_json(&report)),
    ))
}

fn contents(m: &BTreeMap<kata_types::SandboxPath, FileContent>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.to_string(), json!(v))).collect())
}

fn paths(s: &BTreeSet<kata_types::SandboxPath>) -> Value {
    json!(s.iter().map(|p| p.as_str()).collect::<Vec<_>>())
}

fn run_json(r: &RunReport) -> Value {
    let e = &r.event;
    let ms = |d: std::time::Duration| (d.as_secs_f64() * 1e3 * 10.0).round() / 10.0;
    json!({
        "index": e.index,
        "outcome": e.outcome,
        "status": e.status.parse::<i64>().ok(),
        "stdout": e.stdout,
        "stderr": e.stderr,
        "created": contents(&r.created),
        "changed": contents(&r.changed),
        "deleted": paths(&r.deleted),
        "omitted": paths(&r.omitted),
        "refused": r.refused,
        "log": r.log,
        "timings_ms": {
            "prepare": ms(r.timings.prepare),
            "container": ms(r.timings.container),
            "harvest": ms(r.timings.harvest),
            "save": ms(r.timings.save),
            "total": ms(r.timings.total),
        },
    })
}

/// An event as listed: everything but output and files.
fn summary(e: &Event) -> Value {
    json!({
        "index": e.index,
        "time": cyber_dojo_time(e.time.secs, e.time.nanos),
        "duration": e.duration_secs,
        "runner": e.runner,
        "image": e.image,
        "outcome": e.outcome,
        "status": e.status,
    })
}

async fn list_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = kata_id(&id)?;
    let events = state
        .runner
        .katas()
        .events(&id)
        .await
        .map_err(|e| ApiError::internal("reading the history", &e))?;
    Ok(Json(
        json!({"events": events.iter().map(summary).collect::<Vec<_>>()}),
    ))
}

async fn one_event(
    State(state): State<AppState>,
    Path((id, index)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let id = kata_id(&id)?;
    let index: u64 = index.parse().map_err(|_| {
        ApiError::bad_request(
            "bad_index",
            format!("event index {index:?} is not a number"),
        )
    })?;
    let event = state
        .runner
        .katas()
        .event(&id, index)
        .await
        .map_err(|e| ApiError::internal("reading the history", &e))?
        .ok_or_else(|| ApiError {
            status: StatusCode::NOT_FOUND,
            code: "no_such_event",
            message: format!("kata {id} has no event {index}"),
        })?;
    let mut v = summary(&event);
    v["stdout"] = json!(event.stdout);
    v["stderr"] = json!(event.stderr);
    v["files"] = json!(event.files);
    v["created"] = paths(&event.created);
    v["changed"] = paths(&event.changed);
    v["deleted"] = paths(&event.deleted);
    Ok(Json(v))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI)
}

/// cyber-dojo's event time: `[year, month, day, hour, minute, second, usec]`, UTC.
pub fn cyber_dojo_time(secs: i64, nanos: u32) -> [i64; 7] {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    [
        year,
        month,
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        i64::from(nanos / 1000),
    ]
}

#[cfg(test)]
mod tests {
    use super::cyber_dojo_time;

    #[test]
    fn times_are_civil_utc() {
        assert_eq!(cyber_dojo_time(0, 0), [1970, 1, 1, 0, 0, 0, 0]);
        assert_eq!(
            cyber_dojo_time(1_796_400_000, 123_456_000),
            [2026, 12, 4, 16, 0, 0, 123_456]
        );
        assert_eq!(cyber_dojo_time(951_782_400, 0), [2000, 2, 29, 0, 0, 0, 0]);
    }
}
