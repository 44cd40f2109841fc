//! `/metrics`, in Prometheus' text format, written by hand: four series do
//! not need a metrics framework.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use kata_types::Outcome;

use crate::AppState;

/// Upper bounds of the run-duration histogram, in seconds.
const BUCKETS: [f64; 10] = [
    0.25,
    0.5,
    1.0,
    2.0,
    4.0,
    8.0,
    15.0,
    30.0,
    60.0,
    f64::INFINITY,
];
const OUTCOMES: [Outcome; 6] = [
    Outcome::Red,
    Outcome::Amber,
    Outcome::Green,
    Outcome::TimedOut,
    Outcome::Faulty,
    Outcome::Pulling,
];

/// Counters since the server started.
#[derive(Debug, Default)]
pub struct Metrics {
    by_outcome: [AtomicU64; 6],
    rejected: AtomicU64,
    errors: AtomicU64,
    durations: Mutex<([u64; 10], f64, u64)>,
}

impl Metrics {
    /// Counts a finished run.
    pub fn run(&self, outcome: Outcome, took: Duration) {
        let i = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(0);
        self.by_outcome[i].fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let mut d = self.durations.lock().unwrap_or_else(|p| p.into_inner());
        for (bucket, le) in d.0.iter_mut().zip(BUCKETS) {
            if secs <= le {
                *bucket += 1;
            }
        }
        d.1 += secs;
        d.2 += 1;
    }

    /// Counts a run turned away (429).
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a run that failed with a server error (500).
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.metrics;
    let mut out = String::new();
    out.push_str("# HELP kata_runner_runs_total Runs finished, by outcome.\n");
    out.push_str("# TYPE kata_runner_runs_total counter\n");
    for (o, n) in OUTCOMES.iter().zip(&m.by_outcome) {
        let _ = writeln!(
            out,
            "kata_runner_runs_total{{outcome=\"{o}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    out.push_str("# HELP kata_runner_run_duration_seconds Wall-clock time of runs.\n");
    out.push_str("# TYPE kata_runner_run_duration_seconds histogram\n");
    {
        let d = m.durations.lock().unwrap_or_else(|p| p.into_inner());
        for (n, le) in d.0.iter().zip(BUCKETS) {
            let le = if le.is_infinite() {
                "+Inf".to_owned()
            } else {
                le.to_string()
            };
            let _ = writeln!(
                out,
                "kata_runner_run_duration_seconds_bucket{{le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(out, "kata_runner_run_duration_seconds_sum {}", d.1);
        let _ = writeln!(out, "kata_runner_run_duration_seconds_count {}", d.2);
    }
    let gauges = [
        (
            "kata_runner_queue_depth",
            "Runs waiting for a slot.",
            state.admission.waiting() as u64,
        ),
        (
            "kata_runner_containers_alive",
            "Runs holding a slot: containers alive or about to be.",
            state.admission.running() as u64,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    let counters = [
        (
            "kata_runner_rejected_total",
            "Runs turned away with 429.",
            m.rejected.load(Ordering::Relaxed),
        ),
        (
            "kata_runner_errors_total",
            "Runs that failed with a server error.",
            m.errors.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
