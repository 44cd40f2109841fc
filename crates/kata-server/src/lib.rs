//! The HTTP face of kata-runner (axum).
//!
//! * cyber-dojo's runner API, so cyber-dojo's web service can use us as it is
//!   ([`cyber_dojo`]): `/alive`, `/ready`, `/sha`, `/pull_image`,
//!   `/run_cyber_dojo_sh`, with its result shape, its error bodies and its
//!   400/500 mapping.
//! * A versioned native API ([`native`]): `POST /v1/katas/{id}/runs` with a
//!   choice of runner, returning deletions, refusals and timings too;
//!   `GET /v1/katas/{id}/events[/{n}]`; the OpenAPI document at
//!   `/v1/openapi.json` (kept in `docs/openapi.json`).
//! * `/metrics` in Prometheus' text format.
//!
//! Every run passes [`Admission`]: at most `concurrency` at once, at most
//! `queue` waiting, the rest turned away with 429 and `Retry-After`. A run is
//! spawned on the server's [`TaskTracker`](tokio_util::task::TaskTracker), so
//! that a client hanging up does not cut it short (its event is still saved)
//! and a graceful shutdown can wait for it.
//!
//! [`app`] builds the router; tests drive it on a real socket.
#![deny(missing_docs)]

mod admission;
pub mod cyber_dojo;
mod error;
pub mod judges;
mod metrics;
pub mod native;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use kata_strategy::{Runner, RunnerKind};
use tokio_util::task::TaskTracker;

pub use admission::Admission;
pub use error::ApiError;
pub use metrics::Metrics;

/// The OpenAPI document of the native API, served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// What the server is configured with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The runner for requests that do not name one (all of cyber-dojo's).
    pub default_runner: RunnerKind,
    /// Runs at once.
    pub concurrency: usize,
    /// Runs waiting for a slot before new ones are turned away (429).
    pub queue: usize,
    /// The largest request body accepted (413 beyond it).
    pub max_body_bytes: usize,
    /// The most files a request may send; a kata has tens. The guest's own
    /// entry cap bounds what a run may leave.
    pub max_files: usize,
    /// cyber-dojo caps `max_seconds` at 15; so do we by default.
    pub max_seconds_cap: u32,
    /// `max_seconds` when a request gives none.
    pub default_max_seconds: u32,
    /// What `/sha` answers: the commit the server was built from.
    pub sha: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            default_runner: RunnerKind::Tmp,
            concurrency: 8,
            queue: 32,
            max_body_bytes: 8 << 20,
            max_files: 1000,
            max_seconds_cap: 15,
            default_max_seconds: 10,
            sha: option_env!("KATA_RUNNER_SHA")
                .unwrap_or("unknown")
                .to_owned(),
        }
    }
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The run flow.
    pub runner: Arc<Runner>,
    /// The configuration.
    pub config: Arc<ServerConfig>,
    /// Slots for runs.
    pub admission: Arc<Admission>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Runs in flight, for graceful shutdown.
    pub tasks: TaskTracker,
    judges: Arc<judges::Judges>,
}

impl AppState {
    /// State over a runner.
    pub fn new(runner: Arc<Runner>, config: ServerConfig) -> Self {
        Self {
            admission: Arc::new(Admission::new(config.concurrency, config.queue)),
            metrics: Arc::new(Metrics::default()),
            tasks: TaskTracker::new(),
            judges: Arc::default(),
            runner,
            config: Arc::new(config),
        }
    }

    /// Waits for runs in flight to finish, at most `deadline`. Returns
    /// whether they all did; the rest are dropped with the runtime, and their
    /// containers removed by the executor's guards or the next start's reaper.
    pub async fn drain(&self, deadline: Duration) -> bool {
        self.tasks.close();
        tokio::time::timeout(deadline, self.tasks.wait())
            .await
            .is_ok()
    }
}

/// The whole HTTP API.
pub fn app(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    cyber_dojo::routes()
        .merge(native::routes())
        .route("/metrics", axum::routing::get(metrics::render))
        .fallback(cyber_dojo::unknown_path)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
