//! `kata-runner serve` runs the HTTP API; `kata-runner run DIR` runs one
//! kata directory and exits non-zero unless it is green.
//!
//! Flags are parsed into [`cli`]'s types, then turned into the libraries'
//! configurations here; every flag of `serve` has an environment variable.

mod cli;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{Cli, Command, KatasSpec, RunArgs, ServeArgs};
use kata_abi::Limits;
use kata_docker::{Executor, ExecutorConfig};
use kata_server::AppState;
use kata_server::judges::{Judges, RuleSource};
use kata_store::{DirKatas, Katas, VolumeKatas};
use kata_strategy::{RunRequest, Runner};
use kata_types::{KataId, Outcome};
use kata_wasi::{Guest, GuestConfig};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any thread exists (the umask is per process): what the guest
    // creates in a sandbox must be group-writable for the run's user.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o007));
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kata-runner: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await.map(|()| ExitCode::SUCCESS),
            Command::Run(args) => run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kata-runner: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(cli: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KATA_RUNNER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The parts every command needs.
async fn runner(katas: &KatasSpec, data_image: &str, executor: ExecutorConfig) -> Result<Runner> {
    let executor = Executor::connect(executor)
        .await
        .context("connecting to the Docker engine (is it running? DOCKER_HOST?)")?;
    let katas = match katas {
        KatasSpec::Dir(path) => {
            Katas::Dir(Arc::new(DirKatas::open(path).with_context(|| {
                format!("opening the katas directory {}", path.display())
            })?))
        }
        KatasSpec::Volume(name) => Katas::Volume(
            VolumeKatas::open(&executor, name, data_image)
                .await
                .with_context(|| format!("opening the katas volume {name}"))?,
        ),
    };
    let guest = tokio::task::spawn_blocking(|| Guest::new(GuestConfig::default()))
        .await?
        .context("compiling the WASI guest")?;
    Ok(Runner::new(guest, Arc::new(executor), Arc::new(katas)))
}

async fn serve(args: ServeArgs) -> Result<()> {
    let runner = Arc::new(runner(&args.katas, &args.data_image, args.executor_config()).await?);
    let reaped = runner
        .executor()
        .reap()
        .await
        .context("reaping orphaned containers")?;
    tracing::info!(reaped, "start-up: removed containers a dead server left");
    let state = AppState::new(runner.clone(), args.server_config());
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    tracing::info!(%addr, katas = %args.katas, runner = args.runner.as_str(), "serving");

    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let app = kata_server::app(state.clone());
    // One deadline, `grace` after the signal: the server stops accepting,
    // runs in flight finish by then (their connections close as they
    // answer), or their containers are removed.
    let (signalled, mut at_signal) = tokio::sync::watch::channel(None::<Instant>);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = signalled.send(Some(Instant::now()));
    });
    let deadline = async {
        let signal = *at_signal
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|t| *t)
            .get_or_insert_with(Instant::now);
        tokio::time::sleep_until((signal + grace).into()).await;
    };
    let drained = tokio::select! {
        served = server => {
            served.context("serving")?;
            let left = at_signal.borrow().map_or(grace, |t| grace.saturating_sub(t.elapsed()));
            state.drain(left).await
        }
        () = deadline => false,
    };
    if !drained {
        tracing::warn!(
            ?grace,
            "runs still in flight at the deadline: removing their containers"
        );
    }
    let reaped = runner.executor().reap().await.unwrap_or(0);
    tracing::info!(reaped, "stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = ctrl_c => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
    tracing::info!("shutting down: no new requests");
}

async fn run(args: RunArgs) -> Result<ExitCode> {
    let dir = args
        .dir
        .canonicalize()
        .with_context(|| format!("no kata directory {}", args.dir.display()))?;
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let id = match &args.id {
        Some(id) => KataId::new(id)?,
        None => id_for(&dir),
    };
    let runner = runner(&args.katas, &args.data_image, ExecutorConfig::default()).await?;
    let files = read_kata(runner.guest().clone(), &dir).await?;
    if !files.contains_key("cyber-dojo.sh") {
        bail!("{} has no cyber-dojo.sh", dir.display());
    }
    let judge = Judges::default()
        .get(RuleSource::Image, &args.image, runner.executor())
        .await
        .context("reading the image's traffic-light rules")?;
    let request = RunRequest {
        id: id.clone(),
        files,
        image: args.image.clone(),
        max_seconds: args.max_seconds,
        runner: args.runner,
    };
    let report = runner.run(request, &*judge).await?;
    let e = &report.event;
    print!("{}", e.stdout.content);
    eprint!("{}", e.stderr.content);
    for (path, what) in report
        .created
        .keys()
        .map(|p| (p, "created"))
        .chain(report.changed.keys().map(|p| (p, "changed")))
        .chain(report.deleted.iter().map(|p| (p, "deleted")))
    {
        eprintln!("kata-runner: {what} {path}");
    }
    if let Some(log) = &report.log {
        eprintln!("kata-runner: {log}");
    }
    eprintln!(
        "kata-runner: kata {id}, event {}: {} (status {})",
        e.index, e.outcome, e.status
    );
    Ok(if e.outcome == Outcome::Green {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A kata directory's text files, read by the guest (it is a directory like
/// any other: the host does not walk it).
async fn read_kata(guest: Guest, dir: &Path) -> Result<kata_types::Files> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let packed = guest.pack_dir(&dir, &Limits::default())?;
        // Every text file, whole (the guest's usize is 32 bits).
        let all = Limits {
            max_created: 1 << 20,
            text_cap: 64 << 20,
            ..Limits::default()
        };
        let (_, delta, _) = guest.harvest_tar(&packed.tar, &Default::default(), &all)?;
        for path in &delta.omitted {
            eprintln!("kata-runner: leaving out {path}: not a text file");
        }
        for r in &packed.report.refused {
            eprintln!("kata-runner: leaving out {}: {:?}", r.path, r.reason);
        }
        Ok(delta
            .created
            .into_iter()
            .map(|(k, v)| (k, v.content))
            .collect())
    })
    .await?
}

/// A stable kata id for a directory: the same directory, the same history.
fn id_for(dir: &Path) -> KataId {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in dir.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    let id: String = (0..6)
        .map(|i| ALPHABET[((h >> (i * 10)) % ALPHABET.len() as u64) as usize] as char)
        .collect();
    KataId::new(&id).expect("6 alphanumerics")
}
