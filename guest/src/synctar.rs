//! [`kata_abi::Op::SyncTar`]: a saved sandbox (tar) + the client's files →
//! the sandbox to run (tar).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{Read, Write};

use kata_abi::{Limits, Outcome, Report, Timestamp};
use kata_types::{Files, SandboxPath};

use crate::Result;
use crate::pack::{append, header};
use crate::tarin::for_each_checked;

/// Entries the client does not touch stream straight through; changed and new
/// files go at the end, once the newest mtime in the sandbox (and so their
/// stamp) is known.
pub fn sync_tar(
    files: &Files,
    previous: &BTreeSet<SandboxPath>,
    mtime: Timestamp,
    limits: &Limits,
    input: &mut impl Read,
    out: &mut impl Write,
) -> Result<Outcome> {
    let mut report = Report::default();
    // Directories the client's files need: a saved file there must go.
    let needed_dirs: HashSet<SandboxPath> = files.keys().flat_map(|p| p.ancestors()).collect();
    let mut tar = tar::Builder::new(out);
    let mut dirs_out: HashSet<SandboxPath> = HashSet::new();
    let mut unchanged: HashSet<SandboxPath> = HashSet::new();
    // The mode a changed file had, so that an executable script stays one.
    let mut modes: HashMap<SandboxPath, u32> = HashMap::new();
    let mut newest: Option<u64> = None;
    let mut deleted = 0u64;
    for_each_checked(input, limits, &mut report, |entry| {
        let path = entry.path;
        // The client's files win over the sandbox at the same name: a saved
        // directory where the client has a file goes, with all it holds, and
        // so does a saved file where the client needs a directory.
        if path.ancestors().any(|a| files.contains_key(&a)) {
            return Ok(());
        }
        let Some((size, data)) = entry.file else {
            if !files.contains_key(&path) && !dirs_out.contains(&path) {
                // Its parents first, each with an entry of its own (see
                // harvest): a saved tar need not have them.
                ensure_dirs(&mut tar, &mut dirs_out, &path, entry.mtime)?;
                dirs_out.insert(path.clone());
                append(
                    &mut tar,
                    &path,
                    header(None, entry.mode, entry.mtime),
                    &[][..],
                )?;
            }
            return Ok(());
        };
        newest = newest.max(Some(entry.mtime));
        if needed_dirs.contains(&path) || (previous.contains(&path) && !files.contains_key(&path)) {
            deleted += 1;
            return Ok(());
        }
        let kept = header(Some(size), entry.mode, entry.mtime);
        match files.get(&path) {
            None => {
                // A build product: through as it was, mode and mtime kept.
                ensure_dirs(&mut tar, &mut dirs_out, &path, entry.mtime)?;
                append(&mut tar, &path, kept, data)?;
            }
            Some(content) => {
                // Read only what could equal the client's file.
                let mut bytes = Vec::new();
                if size == content.len() as u64 {
                    data.read_to_end(&mut bytes)
                        .map_err(|e| format!("reading {path}: {e}"))?;
                }
                if size == content.len() as u64 && bytes == content.as_bytes() {
                    ensure_dirs(&mut tar, &mut dirs_out, &path, entry.mtime)?;
                    append(&mut tar, &path, kept, &bytes[..])?;
                    unchanged.insert(path);
                } else {
                    modes.insert(path, entry.mode);
                }
            }
        }
        Ok(())
    })?;

    // Whole seconds: a change made in the second the last build ended must
    // still look newer than what that build made.
    let stamp = (mtime.secs.max(0) as u64).max(newest.map_or(0, |n| n.saturating_add(1)));
    for (path, content) in files.iter().filter(|(p, _)| !unchanged.contains(*p)) {
        let content = content.as_bytes();
        let mode = modes.get(path).copied().unwrap_or(0o644);
        ensure_dirs(&mut tar, &mut dirs_out, path, stamp)?;
        append(
            &mut tar,
            path,
            header(Some(content.len() as u64), mode, stamp),
            content,
        )?;
        report.files_written += 1;
        report.bytes_written += content.len() as u64;
    }
    tar.finish().map_err(|e| format!("finishing tar: {e}"))?;
    report.files_unchanged = unchanged.len() as u64;
    report.files_deleted = deleted;
    Ok(Outcome {
        report,
        delta: None,
    })
}

/// Emits entries for `path`'s directories not yet in the tar.
fn ensure_dirs<W: Write>(
    tar: &mut tar::Builder<W>,
    dirs_out: &mut HashSet<SandboxPath>,
    path: &SandboxPath,
    mtime: u64,
) -> Result<()> {
    for dir in path.ancestors() {
        if dirs_out.insert(dir.clone()) {
            append(tar, &dir, header(None, 0o755, mtime), &[][..])?;
        }
    }
    Ok(())
}
