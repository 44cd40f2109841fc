//! `cargo xtask image`: builds the server's image from the top-level
//! `Dockerfile` with no registry, then proves it serves real runs: the server
//! container, the engine's socket mounted, katas in a Docker volume behind a
//! data container, a kata sent over HTTP, red and then green.

use std::process::{Command, Stdio};

use crate::demo::{cyber_dojo_body, expect, free_port, get, native_body, post, say, wait_ready};
use crate::{root, run, wasm_target};

/// The tag of the built image.
pub const TAG: &str = "kata-runner/server:latest";

pub fn image() -> Result<(), String> {
    wasm_target()?;
    // The demo kata's image and the build stage's base.
    run("bash", &["images/build", "busybox-bash", "rust-builder"])?;
    let context = stage_context()?;
    say("building the server's image (a release build: about 8 minutes on 2 cores)");
    let sha = output("git", &["rev-parse", "HEAD"]).unwrap_or_else(|_| "unknown".into());
    let dockerfile = context.join("Dockerfile");
    let built = Command::new("docker")
        .args(["build", "--build-arg"])
        .arg(format!("KATA_RUNNER_SHA={sha}"))
        .args(["-t", TAG, "-f"])
        .arg(&dockerfile)
        .arg(&context)
        // The classic builder: BuildKit wants buildx, and a registry for
        // its frontend image.
        .env("DOCKER_BUILDKIT", "0")
        .status()
        .map_err(|e| format!("docker build: {e}"))?;
    if !built.success() {
        return Err(format!("docker build failed: {built}"));
    }
    let size = output("docker", &["image", "inspect", "-f", "{{.Size}}", TAG])?;
    say(&format!(
        "built {TAG}: {} MiB",
        size.parse::<u64>().unwrap_or(0) >> 20
    ));
    let test = ServerContainer::start()?;
    let outcome = test.check();
    drop(test);
    outcome?;
    say("the image serves real runs: red, then green, over a Docker volume");
    Ok(())
}

/// The source tree as git knows it (tracked and new files, working-tree
/// content), plus every crate vendored, in `target/docker-context`: the
/// build inside needs no network.
fn stage_context() -> Result<std::path::PathBuf, String> {
    let root = root();
    let context = root.join("target/docker-context");
    if context.exists() {
        std::fs::remove_dir_all(&context).map_err(|e| format!("clearing {context:?}: {e}"))?;
    }
    let listed = output(
        "git",
        &["ls-files", "--cached", "--others", "--exclude-standard"],
    )?;
    for file in listed.lines() {
        let from = root.join(file);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = context.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).map_err(|e| e.to_string())?;
        std::fs::copy(&from, &to).map_err(|e| format!("copying {file}: {e}"))?;
    }
    say("vendoring the crates into the build context");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let vendored = Command::new(cargo)
        .args(["vendor", "--locked", "--versioned-dirs"])
        .arg(context.join("vendor"))
        .current_dir(&root)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cargo vendor: {e}"))?;
    if !vendored.success() {
        return Err("cargo vendor failed".into());
    }
    Ok(context)
}

/// The server's container and everything it made; all removed on drop.
struct ServerContainer {
    name: String,
    volume: String,
    port: u16,
}

impl ServerContainer {
    fn start() -> Result<Self, String> {
        let port = free_port()?;
        let name = format!("kata-runner-image-test-{}", std::process::id());
        let volume = format!("{name}-katas");
        let socket = "/var/run/docker.sock";
        let gid = output("stat", &["-c", "%g", socket])?;
        let this = Self {
            name: name.clone(),
            volume: volume.clone(),
            port,
        };
        say(&format!(
            "starting {TAG} as {name}, katas in volume {volume}"
        ));
        run(
            "docker",
            &[
                "run",
                "-d",
                "--name",
                &name,
                "--group-add",
                &gid,
                "-v",
                &format!("{socket}:{socket}"),
                "-p",
                &format!("127.0.0.1:{port}:4597"),
                "-e",
                &format!("KATA_RUNNER_KATAS=docker-volume:{volume}"),
                "-e",
                "KATA_RUNNER_DATA_IMAGE=kata-runner/busybox-bash",
                "-e",
                &format!("KATA_RUNNER_INSTANCE={name}"),
                TAG,
            ],
        )?;
        Ok(this)
    }

    fn check(&self) -> Result<(), String> {
        let port = self.port;
        wait_ready(port).map_err(|e| format!("{e}\n{}", self.logs()))?;
        let user = output("docker", &["inspect", "-f", "{{.Config.User}}", &self.name])?;
        if user.starts_with('0') || user.is_empty() || user == "root" {
            return Err(format!("the server runs as {user:?}, not a non-root user"));
        }
        say(&format!(
            "the server runs as user {user}; /sha: {}",
            get(port, "/sha")?
        ));
        say("cyber-dojo's API: the start files (red)");
        let red = post(port, "/run_cyber_dojo_sh", &cyber_dojo_body("6 * 9"))
            .map_err(|e| format!("{e}\n{}", self.logs()))?;
        expect(&red, "\"outcome\":\"red\"").map_err(|e| format!("{e}: {red}"))?;
        say("the native API, katas runner (green, the same kata)");
        let green = post(port, "/v1/katas/D3mo42/runs", &native_body("6 * 7"))
            .map_err(|e| format!("{e}\n{}", self.logs()))?;
        expect(&green, "\"outcome\":\"green\"").map_err(|e| format!("{e}: {green}"))?;
        expect(&green, "\"index\":2").map_err(|e| format!("{e}: {green}"))?;
        let history = get(port, "/v1/katas/D3mo42/events")?;
        println!("{history}");
        let volumes = output(
            "docker",
            &[
                "volume",
                "ls",
                "-q",
                "--filter",
                &format!("name={}", self.volume),
            ],
        )?;
        if volumes.trim() != self.volume {
            return Err(format!("the katas volume {} is missing", self.volume));
        }
        let left = output(
            "docker",
            &[
                "ps",
                "-aq",
                "--filter",
                &format!("label=kata-runner.instance={}", self.name),
            ],
        )?;
        if !left.trim().is_empty() {
            return Err(format!("run containers left behind: {left}"));
        }
        Ok(())
    }

    fn logs(&self) -> String {
        output("docker", &["logs", "--tail", "30", &self.name]).unwrap_or_default()
    }
}

impl Drop for ServerContainer {
    fn drop(&mut self) {
        // Stop the server first, so that it cannot start another container.
        let _ = quiet("docker", &["rm", "-f", &self.name]);
        let label = format!("label=kata-runner.data={}", self.volume);
        if let Ok(ids) = output("docker", &["ps", "-aq", "--filter", &label]) {
            for id in ids.split_whitespace() {
                let _ = quiet("docker", &["rm", "-f", id]);
            }
        }
        let _ = quiet("docker", &["volume", "rm", "-f", &self.volume]);
    }
}

fn output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn quiet(program: &str, args: &[&str]) -> std::io::Result<()> {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|_| ())
}
