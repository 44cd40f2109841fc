//! The command line, parsed into validated types.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand};
use kata_docker::{ExecutorConfig, Limits};
use kata_server::ServerConfig;
use kata_strategy::RunnerKind;

/// Runs coding-kata tests in throw-away, locked-down Docker containers;
/// every file moved in or out is handled in a WebAssembly sandbox.
#[derive(Debug, Parser)]
#[command(name = "kata-runner", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log as JSON lines (one object per event) instead of text.
    #[arg(long, global = true, env = "KATA_RUNNER_LOG_JSON")]
    pub log_json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve cyber-dojo's runner API and the native /v1 API.
    Serve(ServeArgs),
    /// Run one kata directory once; print its output and colour. Exits 0
    /// when green, 1 when red, amber, timed out or faulty, 2 on errors.
    Run(RunArgs),
}

/// Where katas live: `dir:PATH` or `docker-volume:NAME`.
#[derive(Debug, Clone)]
pub enum KatasSpec {
    /// A host directory; sandboxes are bind-mounted.
    Dir(PathBuf),
    /// A Docker volume behind a data container; sandboxes travel as tars.
    Volume(String),
}

impl FromStr for KatasSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("dir", path)) if !path.is_empty() => Ok(Self::Dir(path.into())),
            Some(("docker-volume", name))
                if !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) =>
            {
                Ok(Self::Volume(name.into()))
            }
            _ => Err(format!("{s:?}: expected dir:PATH or docker-volume:NAME")),
        }
    }
}

impl fmt::Display for KatasSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(p) => write!(f, "dir:{}", p.display()),
            Self::Volume(n) => write!(f, "docker-volume:{n}"),
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on (cyber-dojo's runner port by default).
    #[arg(long, env = "KATA_RUNNER_PORT", default_value_t = 4597)]
    pub port: u16,
    /// Address to listen on (0.0.0.0 inside a container).
    #[arg(long, env = "KATA_RUNNER_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Where katas live: dir:PATH or docker-volume:NAME.
    #[arg(long, env = "KATA_RUNNER_KATAS", default_value = "dir:./katas")]
    pub katas: KatasSpec,
    /// The image of the data container for docker-volume katas (needs sh).
    #[arg(
        long,
        env = "KATA_RUNNER_DATA_IMAGE",
        default_value = "kata-runner/busybox-bash"
    )]
    pub data_image: String,
    /// The runner for requests that do not choose one (all of cyber-dojo's).
    #[arg(long, env = "KATA_RUNNER_RUNNER", default_value = "tmp", value_parser = parse_runner)]
    pub runner: RunnerKind,
    /// Runs at once.
    #[arg(long, env = "KATA_RUNNER_CONCURRENCY", default_value_t = 8)]
    pub concurrency: usize,
    /// Runs waiting for a slot before new ones get 429.
    #[arg(long, env = "KATA_RUNNER_QUEUE", default_value_t = 32)]
    pub queue: usize,
    /// The cap on a request's max_seconds (cyber-dojo: 15).
    #[arg(long, env = "KATA_RUNNER_MAX_SECONDS", default_value_t = 15)]
    pub max_seconds: u32,
    /// The largest request body, in bytes.
    #[arg(long, env = "KATA_RUNNER_MAX_BODY_BYTES", default_value_t = 8 << 20)]
    pub max_body_bytes: usize,
    /// The most files one request may send.
    #[arg(long, env = "KATA_RUNNER_MAX_FILES", default_value_t = 1000)]
    pub max_files: usize,
    /// Memory of one run's container, in MiB.
    #[arg(long, env = "KATA_RUNNER_MEMORY_MB", default_value_t = 2048)]
    pub memory_mb: i64,
    /// Processes of one run's container.
    #[arg(long, env = "KATA_RUNNER_PIDS_LIMIT", default_value_t = 128)]
    pub pids_limit: i64,
    /// This server's name on its containers; two servers on one engine
    /// need different names, or each reaps the other's runs.
    #[arg(long, env = "KATA_RUNNER_INSTANCE", default_value = "kata-runner")]
    pub instance: String,
    /// On SIGTERM, how long runs in flight may take to finish.
    #[arg(long, env = "KATA_RUNNER_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
}

impl ServeArgs {
    pub fn executor_config(&self) -> ExecutorConfig {
        let defaults = ExecutorConfig::default();
        ExecutorConfig {
            instance: self.instance.clone(),
            limits: Limits {
                memory_bytes: self.memory_mb << 20,
                pids_limit: self.pids_limit,
                ..defaults.limits.clone()
            },
            ..defaults
        }
    }

    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            default_runner: self.runner,
            concurrency: self.concurrency,
            queue: self.queue,
            max_body_bytes: self.max_body_bytes,
            max_files: self.max_files,
            max_seconds_cap: self.max_seconds,
            ..ServerConfig::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The kata directory: cyber-dojo.sh and its sources.
    pub dir: PathBuf,
    /// The image to run in.
    #[arg(long)]
    pub image: String,
    /// tmp (fresh every time) or katas (incremental, state kept in --katas).
    #[arg(long, default_value = "tmp", value_parser = parse_runner)]
    pub runner: RunnerKind,
    /// Seconds before the run is killed.
    #[arg(long, default_value_t = 10)]
    pub max_seconds: u32,
    /// Where the kata's history (and, for katas, its sandbox) is kept.
    #[arg(long, env = "KATA_RUNNER_KATAS", default_value = "dir:./katas")]
    pub katas: KatasSpec,
    /// The kata id (default: derived from the directory's path).
    #[arg(long)]
    pub id: Option<String>,
    /// The data container's image, for docker-volume katas.
    #[arg(
        long,
        env = "KATA_RUNNER_DATA_IMAGE",
        default_value = "kata-runner/busybox-bash"
    )]
    pub data_image: String,
}

fn parse_runner(s: &str) -> Result<RunnerKind, String> {
    s.parse()
}
