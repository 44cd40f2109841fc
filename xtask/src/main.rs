//! `cargo xtask <command>`: the project's automation, in Rust rather than in
//! long shell scripts. No dependencies, so it builds in seconds on a fresh
//! machine before anything else.

mod demo;
mod image;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  demo     build what is missing, start the server, run a demo kata through it
           (red, then green) over HTTP in a real container, show its history
  test     everything CI checks: the wasm target, the test images, rustfmt,
           clippy, and every test of the workspace against the real engine
  images   build the Docker test images (idempotent, cached by tag)
  image    build the server's image from the Dockerfile (no registry needed)
           and test it: the server container, the socket mounted, katas in
           a Docker volume, a kata run over HTTP, red then green (slow: a
           release build; CI runs it from .ci/image)
  help     this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo::demo(),
        Some("images") => images(),
        Some("image") => image::image(),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!(
            "unknown command {:?}\n\n{USAGE}",
            other.unwrap_or("")
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Runs a command in the workspace root, echoing it; fails on non-zero exit.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed: {status}", args.join(" ")))
    }
}

pub(crate) fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(&cargo, args)
}

/// The guest is built for wasm32-wasip1 by kata-wasi's build script.
pub(crate) fn wasm_target() -> Result<(), String> {
    run("rustup", &["target", "add", "wasm32-wasip1"])
}

fn images() -> Result<(), String> {
    run("bash", &["images/build"])
}

fn test() -> Result<(), String> {
    wasm_target()?;
    images()?;
    cargo(&["fmt", "--all", "--check"])?;
    // Benches are built (clippy below) but not run: they time things, and
    // a test run is no place for timing.
    cargo(&["test", "--workspace", "--lib", "--bins", "--tests"])?;
    cargo(&["test", "--workspace", "--doc"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    Ok(())
}
