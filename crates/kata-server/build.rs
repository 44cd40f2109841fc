//! `/sha` answers the commit the server was built from: git's HEAD when
//! building from a checkout, `KATA_RUNNER_SHA` when given (a Docker build has
//! no `.git`), `unknown` otherwise.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=KATA_RUNNER_SHA");
    let sha = std::env::var("KATA_RUNNER_SHA").ok().or_else(|| {
        let out = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    });
    if let Some(sha) = sha {
        println!("cargo:rustc-env=KATA_RUNNER_SHA={sha}");
    }
    // HEAD moves with every commit; the ref it names, too.
    let git = std::path::Path::new("../../.git");
    if git.exists() {
        println!("cargo:rerun-if-changed=../../.git/HEAD");
        println!("cargo:rerun-if-changed=../../.git/refs/heads");
    }
}
