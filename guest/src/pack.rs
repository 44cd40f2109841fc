//! Writing tar streams: a directory's, or a request's files.
//!
//! Headers are built by hand: `tar`'s `append_path` and `append_dir_all` ask
//! the file system for permissions, which WASI preview 1 does not have.

use std::fs::File;
use std::io::{Read, Write};

use kata_abi::{Limits, Outcome, Report, Timestamp};
use kata_types::{Files, SandboxPath};

use crate::Result;
use crate::walk::{host, walk};

/// The owner of every entry we write: cyber-dojo's `sandbox` user, so that a
/// tar unpacked as root (the Docker archive API) gives files the run owns.
pub const SANDBOX_UID: u64 = 41966;
/// The `sandbox` group.
pub const SANDBOX_GID: u64 = 51966;

/// Builds a header for a file (`Some(size)`) or a directory (`None`).
pub fn header(size: Option<u64>, mode: u32, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    match size {
        Some(size) => {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(size);
        }
        None => {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
        }
    }
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(SANDBOX_UID);
    h.set_gid(SANDBOX_GID);
    // Names are only a courtesy for `tar tv`; the ids above are what count.
    let _ = h.set_username("sandbox");
    let _ = h.set_groupname("sandbox");
    h
}

/// Appends one entry; long names go in GNU extension headers.
pub fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &SandboxPath,
    mut header: tar::Header,
    data: impl Read,
) -> Result<()> {
    tar.append_data(&mut header, path.as_str(), data)
        .map_err(|e| format!("writing {path} to tar: {e}"))
}

/// Whole seconds: all a plain tar header keeps.
fn secs(t: filetime::FileTime) -> u64 {
    t.unix_seconds().max(0) as u64
}

/// [`kata_abi::Op::PackDir`].
pub fn pack_dir(limits: &Limits, out: &mut impl Write) -> Result<Outcome> {
    let walked = walk(limits)?;
    let mut report = Report::default();
    for s in walked.skipped {
        report.refuse(s.shown, s.reason);
    }
    let mut tar = tar::Builder::new(out);
    for found in &walked.found {
        if found.is_dir {
            append(
                &mut tar,
                &found.path,
                header(None, 0o755, secs(found.mtime)),
                &[][..],
            )?;
            continue;
        }
        // WASI cannot tell us the mode: files we pack are 0644, like the
        // start files cyber-dojo sends. Modes of build products travel in
        // tars (see harvest), never through this directory.
        let file =
            File::open(host(&found.path)).map_err(|e| format!("opening {}: {e}", found.path))?;
        // The header promises `len` bytes: take no more even if it grew.
        append(
            &mut tar,
            &found.path,
            header(Some(found.len), 0o644, secs(found.mtime)),
            file.take(found.len),
        )?;
        report.files_written += 1;
        report.bytes_written += found.len;
    }
    tar.finish().map_err(|e| format!("finishing tar: {e}"))?;
    Ok(Outcome {
        report,
        delta: None,
    })
}

/// [`kata_abi::Op::PackFiles`].
pub fn pack_files(files: &Files, mtime: Timestamp, out: &mut impl Write) -> Result<Outcome> {
    let mtime = mtime.secs.max(0) as u64;
    let mut report = Report::default();
    let mut tar = tar::Builder::new(out);
    let mut dirs_done = std::collections::BTreeSet::new();
    for (path, content) in files {
        // Explicit directory entries, so that they too are the sandbox
        // user's when unpacked as root.
        for dir in path.ancestors() {
            if dirs_done.insert(dir.clone()) {
                append(&mut tar, &dir, header(None, 0o755, mtime), &[][..])?;
            }
        }
        let bytes = content.as_bytes();
        append(
            &mut tar,
            path,
            header(Some(bytes.len() as u64), 0o644, mtime),
            bytes,
        )?;
        report.files_written += 1;
        report.bytes_written += bytes.len() as u64;
    }
    tar.finish().map_err(|e| format!("finishing tar: {e}"))?;
    Ok(Outcome {
        report,
        delta: None,
    })
}
