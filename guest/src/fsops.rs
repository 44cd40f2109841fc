//! Writing to the guest's directory, and the sync operation built on it.
//!
//! Nothing here follows a link: whatever stands where a directory or file is
//! to go and is not one (a link left by user code, a file where a directory is
//! needed) is removed first. wasmtime-wasi would stop a link from leading out
//! of the directory anyway; this makes sure it cannot even redirect a write
//! inside it.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;

use filetime::FileTime;
use kata_abi::{Outcome, Report, Timestamp};
use kata_types::{Files, SandboxPath};

use crate::Result;
use crate::walk::host;

pub fn filetime(t: Timestamp) -> FileTime {
    FileTime::from_unix_time(t.secs, t.nanos)
}

/// Removes whatever is at `path`, a directory with all it holds included.
/// Nothing there is fine, and so is a file where a parent directory was
/// (`a/b` once `a` has become a file): nothing can be there either.
pub fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Makes `path` and its ancestors real directories.
pub fn ensure_dir(path: &SandboxPath) -> Result<()> {
    for dir in path.ancestors().chain(std::iter::once(path.clone())) {
        let h = host(&dir);
        match fs::symlink_metadata(&h) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => remove_any(&h).map_err(|e| format!("removing {dir}: {e}"))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("inspecting {dir}: {e}")),
        }
        fs::create_dir(&h).map_err(|e| format!("creating directory {dir}: {e}"))?;
    }
    Ok(())
}

/// Writes a regular file at `path` from `content`, replacing whatever was
/// there, and stamps it `mtime`. Returns the bytes written.
pub fn write_file(
    path: &SandboxPath,
    content: &mut (impl Read + ?Sized),
    mtime: FileTime,
) -> Result<u64> {
    if let Some(parent) = path.ancestors().last() {
        ensure_dir(&parent)?;
    }
    let h = host(path);
    match fs::symlink_metadata(&h) {
        Ok(m) if m.is_file() => {}
        Ok(_) => remove_any(&h).map_err(|e| format!("removing {path}: {e}"))?,
        Err(_) => {}
    }
    let mut file = File::create(&h).map_err(|e| format!("creating {path}: {e}"))?;
    let n = io::copy(content, &mut file).map_err(|e| format!("writing {path}: {e}"))?;
    file.flush().map_err(|e| format!("writing {path}: {e}"))?;
    filetime::set_file_handle_times(&file, Some(mtime), Some(mtime))
        .map_err(|e| format!("stamping {path}: {e}"))?;
    Ok(n)
}

/// Whether every directory above `path` is a real directory (not a link).
fn real_parents(path: &SandboxPath) -> bool {
    path.ancestors()
        .all(|dir| fs::symlink_metadata(host(&dir)).is_ok_and(|m| m.is_dir()))
}

/// Whether the regular file at `path` holds exactly `content`.
fn same_content(path: &SandboxPath, content: &[u8]) -> bool {
    if !real_parents(path) {
        return false;
    }
    let h = host(path);
    match fs::symlink_metadata(&h) {
        Ok(m) if m.is_file() && m.len() == content.len() as u64 => {}
        _ => return false,
    }
    fs::read(&h).is_ok_and(|bytes| bytes == content)
}

/// [`kata_abi::Op::Sync`].
pub fn sync(files: &Files, previous: &BTreeSet<SandboxPath>, mtime: Timestamp) -> Result<Outcome> {
    let mtime = filetime(mtime);
    let mut report = Report::default();
    for (path, content) in files {
        if same_content(path, content.as_bytes()) {
            report.files_unchanged += 1;
            continue;
        }
        report.bytes_written += write_file(path, &mut content.as_bytes(), mtime)?;
        report.files_written += 1;
    }
    for gone in previous.iter().filter(|p| !files.contains_key(*p)) {
        // Only through real directories: a link where a directory was
        // must not redirect the deletion.
        if !real_parents(gone) {
            continue;
        }
        let h = host(gone);
        // Only a file the client knew is deleted: if user code turned its
        // name into a directory, that directory is the user's now.
        if fs::symlink_metadata(&h).is_ok_and(|m| !m.is_dir()) {
            fs::remove_file(&h).map_err(|e| format!("deleting {gone}: {e}"))?;
            report.files_deleted += 1;
        }
    }
    Ok(Outcome {
        report,
        delta: None,
    })
}
