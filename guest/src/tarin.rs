//! Reading a tar stream that user code wrote, entry by entry, checking each.

use std::collections::HashSet;
use std::io::Read;

use kata_abi::{Limits, RefusalReason, Report};
use kata_types::SandboxPath;
use tar::EntryType;

use crate::Result;
use crate::budget::{Budget, Verdict};

/// An entry that passed every check.
pub struct Checked<'a> {
    pub path: SandboxPath,
    /// Permission bits only: setuid, setgid and sticky are dropped.
    pub mode: u32,
    pub mtime: u64,
    /// `None` for a directory; the file's bytes otherwise.
    pub file: Option<(u64, &'a mut dyn Read)>,
}

/// What a walk of a tar saw besides the accepted entries.
#[derive(Default)]
pub struct Seen {
    /// The walk stopped early (a broken stream, too many entries): entries
    /// after the stop are unknown, so nothing may be inferred from absence.
    pub incomplete: bool,
    /// Regular files refused for their size or place, not their kind: they
    /// exist, even though they were not taken.
    pub present: Vec<SandboxPath>,
}

/// Calls `accept` with each acceptable entry of the tar on `input`, in stream
/// order, recording refusals in `report`. A broken stream ends the walk with a
/// refusal, not an error: what came before it stands.
pub fn for_each_checked<R: Read>(
    input: R,
    limits: &Limits,
    report: &mut Report,
    mut accept: impl FnMut(Checked<'_>) -> Result<()>,
) -> Result<Seen> {
    let mut seen = Seen::default();
    let mut archive = tar::Archive::new(input);
    let mut budget = Budget::new(limits);
    // What this stream has made a file, and what it has made (or implied) a
    // directory: `a` cannot be both.
    let mut files: HashSet<SandboxPath> = HashSet::new();
    let mut dirs: HashSet<SandboxPath> = HashSet::new();
    // A broken stream ends the walk: what came before it stands.
    let broken = |report: &mut Report, mut seen: Seen, e: std::io::Error| {
        let error = e.to_string();
        report.refuse("", RefusalReason::Malformed { error });
        seen.incomplete = true;
        Ok(seen)
    };
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => return broken(report, seen, e),
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => return broken(report, seen, e),
        };
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        if matches!(&raw[..], b"." | b"./") {
            continue; // `tar -C dir .` names the directory itself.
        }
        let header = entry.header();
        let is_dir = match header.entry_type() {
            EntryType::Regular | EntryType::Continuous => false,
            EntryType::Directory => true,
            EntryType::XGlobalHeader => continue,
            EntryType::Symlink => {
                report.refuse(shown, RefusalReason::Symlink);
                continue;
            }
            EntryType::Link => {
                report.refuse(shown, RefusalReason::HardLink);
                continue;
            }
            EntryType::Char | EntryType::Block => {
                report.refuse(shown, RefusalReason::Device);
                continue;
            }
            EntryType::Fifo => {
                report.refuse(shown, RefusalReason::Fifo);
                continue;
            }
            _ => {
                report.refuse(shown, RefusalReason::OtherType);
                continue;
            }
        };
        let path = match SandboxPath::from_tar_bytes(&raw) {
            Ok(path) => path,
            Err(error) => {
                report.refuse(shown, RefusalReason::BadPath { error });
                continue;
            }
        };
        let conflict = path.ancestors().any(|a| files.contains(&a))
            || if is_dir {
                files.contains(&path)
            } else {
                dirs.contains(&path)
            };
        if conflict {
            report.refuse(shown, RefusalReason::Conflict);
            seen.present.push(path);
            continue;
        }
        let size = if is_dir { 0 } else { entry.size() };
        match budget.admit(size) {
            Verdict::Admit => {}
            Verdict::Refuse(reason) => {
                report.refuse(shown, reason);
                seen.present.push(path);
                continue;
            }
            Verdict::Stop(reason) => {
                report.refuse(shown, reason);
                seen.incomplete = true;
                return Ok(seen);
            }
        }
        let mode = header.mode().unwrap_or(if is_dir { 0o755 } else { 0o644 }) & 0o777;
        let mtime = header.mtime().unwrap_or(0);
        dirs.extend(path.ancestors());
        if is_dir {
            dirs.insert(path.clone());
        } else {
            files.insert(path.clone());
        }
        accept(Checked {
            path,
            mode,
            mtime,
            file: (!is_dir).then_some((size, &mut entry as &mut dyn Read)),
        })?;
    }
    Ok(seen)
}
