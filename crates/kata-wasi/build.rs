//! Builds the guest (`guest/`) for wasm32-wasip1 with a nested cargo, so that
//! a plain `cargo build` of the workspace yields a host with its guest inside.
//! No built `.wasm` is ever checked in.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip1";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.join("../..").canonicalize().unwrap();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    // One guest build shared by every profile and tool (build, clippy, test):
    // under the workspace's target dir, found by the tag cargo leaves there.
    let target_dir = out_dir
        .ancestors()
        .find(|d| d.join("CACHEDIR.TAG").exists())
        .map_or_else(|| out_dir.join("guest"), |t| t.join("guest"));

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&workspace)
        .args([
            "build",
            "--release",
            "--package",
            "kata-guest",
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        // The outer build's flags are for the host, not for wasm.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        // Small and fast: the module is compiled at every server start.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .status()
        .expect("running cargo to build the guest");
    if !status.success() {
        panic!(
            "building the guest for {TARGET} failed; if the target is missing, \
             run `rustup target add {TARGET}`"
        );
    }

    let built = target_dir.join(TARGET).join("release");
    fs::copy(
        built.join("kata-guest.wasm"),
        out_dir.join("kata-guest.wasm"),
    )
    .expect("copying the guest module");
    // Rebuild when any source of the guest changes: cargo lists them.
    for source in dep_info_sources(&built.join("kata-guest.d")) {
        println!("cargo:rerun-if-changed={}", source.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// The inputs listed in a cargo `.d` file (`target: in1 in2 ...`).
fn dep_info_sources(d_file: &Path) -> Vec<PathBuf> {
    let text = fs::read_to_string(d_file).unwrap_or_default();
    let Some((_, inputs)) = text.split_once(": ") else {
        return vec![];
    };
    // Spaces inside a path are escaped as "\ ".
    inputs
        .replace("\\ ", "\u{0}")
        .split_whitespace()
        .map(|p| PathBuf::from(p.replace('\u{0}', " ")))
        .collect()
}
