//! Runs the kata-runner guest (`guest/`) in wasmtime and gives it a typed API.
//!
//! Every file a run moves passes through the guest: parsing a tar written by
//! user code, or a name chosen by a user, happens inside a WebAssembly sandbox
//! that sees one directory and nothing else.
//!
//! * [`Guest`] holds the engine and the guest module, compiled once, and runs
//!   one fresh, capped instance per call.
//! * Its methods ([`Guest::sync`], [`Guest::pack_files`], [`Guest::harvest_tar`], …)
//!   are the operations of [`kata_abi::Op`], typed.
//! * [`GuestError`] says why a call failed; refusals of single entries are not
//!   failures and come back in a [`Report`].
//!
//! ```no_run
//! use kata_wasi::{Guest, GuestConfig};
//! use kata_abi::{Limits, Timestamp};
//! # fn main() -> Result<(), kata_wasi::GuestError> {
//! let guest = Guest::new(GuestConfig::default())?;
//! let files = [("cyber-dojo.sh".parse().unwrap(), "make".to_owned())].into();
//! let tar = guest.pack_files(&files, Timestamp::now())?;
//! let (checked, delta, report) = guest.harvest_tar(&tar, &files, &Limits::default())?;
//! assert!(delta.created.is_empty() && report.refused.is_empty());
//! # Ok(()) }
//! ```
//!
//! Calls are synchronous and CPU-bound: from async code, run them under
//! `tokio::task::spawn_blocking`.
#![deny(missing_docs)]

mod error;
mod runtime;

use std::collections::BTreeSet;
use std::path::Path;

pub use error::GuestError;
use kata_abi::{Delta, HarvestSource, Limits, Op, Report, Request, Timestamp};
use kata_types::{Files, SandboxPath};
pub use runtime::{Guest, GuestConfig};

/// The guest module, built from `guest/` by this crate's build script.
pub static GUEST_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kata-guest.wasm"));

/// A directory packed into a tar.
#[derive(Debug)]
pub struct Packed {
    /// The tar stream.
    pub tar: Vec<u8>,
    /// What went in, and what was refused.
    pub report: Report,
}

impl Guest {
    /// Packs every regular file and directory of `dir`, mtimes kept.
    pub fn pack_dir(&self, dir: &Path, limits: &Limits) -> Result<Packed, GuestError> {
        let request = Request {
            op: Op::PackDir,
            limits: limits.clone(),
        };
        let (tar, outcome) = self.call(Some(dir), &request, &[])?;
        Ok(Packed {
            tar,
            report: outcome.report,
        })
    }

    /// Packs the request's files into a tar, every entry stamped `mtime`.
    pub fn pack_files(&self, files: &Files, mtime: Timestamp) -> Result<Vec<u8>, GuestError> {
        let request = Request {
            op: Op::PackFiles {
                files: files.clone(),
                mtime,
            },
            limits: Limits::default(),
        };
        Ok(self.call(None, &request, &[])?.0)
    }

    /// Brings `dir` in line with `files`: only changed files are written
    /// (stamped `mtime`), files in `previous` but not in `files` are deleted,
    /// everything else is left alone.
    pub fn sync(
        &self,
        dir: &Path,
        files: &Files,
        previous: &BTreeSet<SandboxPath>,
        mtime: Timestamp,
    ) -> Result<Report, GuestError> {
        let request = Request {
            op: Op::Sync {
                files: files.clone(),
                previous: previous.clone(),
                mtime,
            },
            limits: Limits::default(),
        };
        Ok(self.call(Some(dir), &request, &[])?.1.report)
    }

    /// [`Guest::sync`] on a saved sandbox tar instead of a directory: returns
    /// the tar to run, with entries the client did not touch passed through
    /// (modes and mtimes kept) and changed or new files stamped `mtime` (or
    /// one second after the newest entry, if later).
    pub fn sync_tar(
        &self,
        saved: &[u8],
        files: &Files,
        previous: &BTreeSet<SandboxPath>,
        mtime: Timestamp,
        limits: &Limits,
    ) -> Result<(Vec<u8>, Report), GuestError> {
        let request = Request {
            op: Op::SyncTar {
                files: files.clone(),
                previous: previous.clone(),
                mtime,
            },
            limits: limits.clone(),
        };
        let (tar, outcome) = self.call(None, &request, saved)?;
        Ok((tar, outcome.report))
    }

    /// Replaces the content of `dir` with the checked entries of `tar`.
    pub fn unpack(&self, dir: &Path, tar: &[u8], limits: &Limits) -> Result<Report, GuestError> {
        let request = Request {
            op: Op::Unpack,
            limits: limits.clone(),
        };
        Ok(self.call(Some(dir), &request, tar)?.1.report)
    }

    /// Compares `dir` with `baseline`. Refused entries are removed from `dir`.
    pub fn harvest_dir(
        &self,
        dir: &Path,
        baseline: &Files,
        limits: &Limits,
    ) -> Result<(Delta, Report), GuestError> {
        let request = Request {
            op: Op::Harvest {
                source: HarvestSource::Dir,
                baseline: baseline.clone(),
            },
            limits: limits.clone(),
        };
        let (_, outcome) = self.call(Some(dir), &request, &[])?;
        Ok((outcome.delta.unwrap_or_default(), outcome.report))
    }

    /// Compares `tar` with `baseline`; returns the checked tar (refused
    /// entries left out, modes and mtimes kept), the delta and the report.
    pub fn harvest_tar(
        &self,
        tar: &[u8],
        baseline: &Files,
        limits: &Limits,
    ) -> Result<(Vec<u8>, Delta, Report), GuestError> {
        let request = Request {
            op: Op::Harvest {
                source: HarvestSource::Tar,
                baseline: baseline.clone(),
            },
            limits: limits.clone(),
        };
        let (checked, outcome) = self.call(None, &request, tar)?;
        Ok((checked, outcome.delta.unwrap_or_default(), outcome.report))
    }
}
