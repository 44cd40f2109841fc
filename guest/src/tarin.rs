//! Reading a tar stream that user code wrote, entry by entry, checking each.

use std::collections::HashSet;
use std::io::{self, Read};

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
    /// Seconds since the epoch, at most [`MAX_MTIME`].
    pub mtime: u64,
    /// `None` for a directory; the file's size and bytes otherwise. The
    /// reader yields exactly `size` bytes (see [`Exact`]).
    pub file: Option<(u64, &'a mut dyn Read)>,
}

/// An entry's data, exactly as long as its header says. The tar reader
/// ends a file's data early, without an error, when the stream ends inside
/// it; whoever has written the header by then (a checked tar) must still
/// write that many bytes. The missing ones are made up with zeros and
/// counted, and the walk stops there.
struct Exact<R> {
    inner: R,
    left: u64,
    missing: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let mut n = if self.missing == 0 {
            self.inner.read(&mut buf[..want])?
        } else {
            0
        };
        if n == 0 {
            buf[..want].fill(0);
            n = want;
            self.missing += n as u64;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

impl<R: Read> Exact<R> {
    /// Reads what the consumer left unread, to learn whether it is all
    /// there; nothing is made up.
    fn finish(&mut self) -> io::Result<()> {
        let mut buf = [0; 8192];
        while self.left > 0 && self.missing == 0 {
            let want = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            match self.inner.read(&mut buf[..want])? {
                0 => self.missing = self.left,
                n => self.left -= n as u64,
            }
        }
        Ok(())
    }
}

/// The latest second a file can be stamped with: WASI keeps times as `u64`
/// nanoseconds since the epoch (the year 2554). A tar header can say any
/// `u64` (and a GNU negative time reads as a huge one); a later time is
/// taken as this one, so that stamping it cannot fail the whole job.
pub const MAX_MTIME: u64 = u64::MAX / 1_000_000_000;

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
        // The directories this entry brings into being count as entries too:
        // each becomes a directory on disk and an entry of a checked tar, and
        // a tar that names only files at distinct deep paths would otherwise
        // make hundreds of thousands of them within every cap. (`dirs` holds
        // every ancestor of what it holds: count from the deepest up.)
        let mut ancestors: Vec<SandboxPath> = path.ancestors().collect();
        if is_dir {
            ancestors.push(path.clone());
        }
        let new_dirs = ancestors
            .iter()
            .rev()
            .take_while(|a| !dirs.contains(*a))
            .count() as u64;
        let implied = new_dirs - u64::from(is_dir && !dirs.contains(&path));
        match budget.admit_counting(size, 1 + implied) {
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
        let mtime = header.mtime().unwrap_or(0).min(MAX_MTIME);
        if !is_dir {
            files.insert(path.clone());
        }
        dirs.extend(ancestors);
        let mut data = Exact {
            inner: &mut entry,
            left: size,
            missing: 0,
        };
        accept(Checked {
            path,
            mode,
            mtime,
            file: (!is_dir).then_some((size, &mut data as &mut dyn Read)),
        })?;
        if let Err(e) = data.finish() {
            return broken(report, seen, e);
        }
        if data.missing > 0 {
            let error = format!(
                "the stream ends inside {shown}: {} of its {size} bytes are missing \
                 (any copy of it is padded with zeros)",
                data.missing
            );
            report.refuse("", RefusalReason::Malformed { error });
            seen.incomplete = true;
            return Ok(seen);
        }
    }
    Ok(seen)
}
