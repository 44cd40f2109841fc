//! The whole-system suite: the `kata-runner` binary Cargo has just built,
//! served on loopback, driven over HTTP, running real containers on the real
//! Docker engine with the images `images/build` makes.
//!
//! * `hostile::inside::<case>::<backend>`: a hostile `cyber-dojo.sh`.
//! * `hostile::request::<case>`: a hostile request.
//! * `soak`: many mixed runs at concurrency 8, clients hanging up, and one
//!   restart of the Docker engine.
//! * `crash::<backend>`: `kill -9` of the server during runs, then a restart.
//!
//! Trials run one at a time: fork bombs and engine restarts must not skew
//! the time limits of other cases. It fails, never skips, when the engine is
//! missing. Afterwards no container of the suite may be left on the engine.

mod crash;
mod hostile;
mod soak;
mod support;

use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use support::Backend;

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    assert!(
        support::engine_up(),
        "the Docker engine is not reachable: the system suite needs it"
    );
    let servers = Arc::new(hostile::Servers::new());
    let mut trials = Vec::new();
    for case in hostile::inside_cases() {
        let case = Arc::new(case);
        for backend in case.backends {
            let (case, servers, backend) = (case.clone(), servers.clone(), *backend);
            trials.push(Trial::test(
                format!("hostile::inside::{}::{}", case.name, backend.name()),
                move || hostile::run_inside(&case, &servers.get(backend)).map_err(Failed::from),
            ));
        }
    }
    for case in hostile::request_cases() {
        let servers = servers.clone();
        trials.push(Trial::test(
            format!("hostile::request::{}", case.name),
            move || hostile::run_request(&case, &servers.get(Backend::Dir)).map_err(Failed::from),
        ));
    }
    trials.push(Trial::test("soak", || soak::soak().map_err(Failed::from)));
    for backend in [Backend::Dir, Backend::Volume] {
        trials.push(Trial::test(
            format!("crash::{}", backend.name()),
            move || crash::crash(backend).map_err(Failed::from),
        ));
    }
    // libtest takes one filter; KATA_SYSTEM_ONLY takes several, comma-separated.
    if let Ok(only) = std::env::var("KATA_SYSTEM_ONLY") {
        let wanted: Vec<&str> = only.split(',').filter(|s| !s.is_empty()).collect();
        trials.retain(|t| wanted.iter().any(|w| t.name().contains(w)));
    }
    // The soak restarts the engine: it runs after the cases that share
    // servers, so that they keep their own timing.
    let conclusion = libtest_mimic::run(&args, trials);
    servers.shut_down();
    if let Ok(path) = std::env::var("KATA_SECURITY_TABLE") {
        std::fs::write(&path, hostile::table()).expect("writing the table");
        eprintln!("wrote the table of cases to {path}");
    }
    let left = support::containers_labelled("kata-runner.instance");
    let ours: Vec<_> = left
        .iter()
        .filter(|id| {
            let out = std::process::Command::new("docker")
                .args([
                    "inspect",
                    "-f",
                    "{{index .Config.Labels \"kata-runner.instance\"}}",
                    id,
                ])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).starts_with("kata-system-")
        })
        .collect();
    if !ours.is_empty() {
        eprintln!("containers of the suite left on the engine: {ours:?}");
        return ExitCode::FAILURE;
    }
    conclusion.exit_code()
}
