//! [`kata_abi::Op::Harvest`]: what did the run create, change and delete?

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};

use kata_abi::{Delta, HarvestSource, Limits, Outcome, RefusalReason, Report};
use kata_types::{FileContent, Files, SandboxPath, is_text};

use crate::Result;
use crate::fsops::remove_any;
use crate::pack::{append, header};
use crate::tarin::for_each_checked;
use crate::walk::{host, walk};

/// Bytes that decide whether a file is text (see [`kata_types::is_text`]).
const TEXT_PROBE: usize = 8000;

pub fn harvest(
    source: HarvestSource,
    baseline: &Files,
    limits: &Limits,
    stdin: &mut impl Read,
    stdout: &mut impl Write,
) -> Result<Outcome> {
    match source {
        HarvestSource::Dir => harvest_dir(baseline, limits),
        HarvestSource::Tar => harvest_tar(baseline, limits, stdin, stdout),
    }
}

/// Harvests the directory in place. Refused entries are removed, so that the
/// directory afterwards holds only what a later run may be given.
fn harvest_dir(baseline: &Files, limits: &Limits) -> Result<Outcome> {
    let walked = walk(limits)?;
    let mut report = Report::default();
    let mut delta = DeltaBuilder::new(baseline, limits);
    for s in walked.skipped {
        match &s.reason {
            // A directory that cannot be listed cannot be emptied either: it
            // stays, reported; what it holds is unknown, not deleted.
            RefusalReason::Unlistable { .. } => delta.unknown_under(&s.shown),
            // Over a budget is not hostile: the files stay where they are,
            // unseen. Past the entry cap, nothing can be told from absence.
            RefusalReason::TooManyEntries => delta.incomplete = true,
            RefusalReason::FileTooLarge { .. } | RefusalReason::TooManyBytes => {
                if let Ok(path) = SandboxPath::new(&s.shown) {
                    delta.present(path);
                }
            }
            _ => remove_any(&s.host).map_err(|e| format!("removing {}: {e}", s.shown))?,
        }
        report.refuse(s.shown, s.reason);
    }
    for found in walked.found.iter().filter(|f| !f.is_dir) {
        let mut probe = Probe::new(baseline.get(&found.path).map(String::as_bytes), limits);
        let wanted = probe.bytes_wanted(found.len);
        let file =
            File::open(host(&found.path)).map_err(|e| format!("opening {}: {e}", found.path))?;
        io::copy(
            &mut ProbeReader {
                inner: file.take(wanted),
                probe: &mut probe,
            },
            &mut io::sink(),
        )
        .map_err(|e| format!("reading {}: {e}", found.path))?;
        delta.record(found.path.clone(), found.len, probe);
    }
    Ok(Outcome {
        report,
        delta: Some(delta.finish()),
    })
}

/// Harvests a tar, writing the entries that pass every check to stdout.
fn harvest_tar(
    baseline: &Files,
    limits: &Limits,
    stdin: &mut impl Read,
    stdout: &mut impl Write,
) -> Result<Outcome> {
    let mut report = Report::default();
    let mut delta = DeltaBuilder::new(baseline, limits);
    let mut tar = tar::Builder::new(stdout);
    let mut dirs_out: HashSet<SandboxPath> = HashSet::new();
    let mut written = (0u64, 0u64);
    let seen = for_each_checked(stdin, limits, &mut report, |entry| {
        // Every directory gets an entry of its own, so that whoever unpacks
        // this tar as root still gives the sandbox user its directories.
        for dir in entry.path.ancestors() {
            if dirs_out.insert(dir.clone()) {
                append(&mut tar, &dir, header(None, 0o755, entry.mtime), &[][..])?;
            }
        }
        match entry.file {
            None => {
                if dirs_out.insert(entry.path.clone()) {
                    append(
                        &mut tar,
                        &entry.path,
                        header(None, entry.mode, entry.mtime),
                        &[][..],
                    )?;
                }
            }
            Some((size, data)) => {
                let mut probe = Probe::new(baseline.get(&entry.path).map(String::as_bytes), limits);
                let reader = ProbeReader {
                    inner: data,
                    probe: &mut probe,
                };
                append(
                    &mut tar,
                    &entry.path,
                    header(Some(size), entry.mode, entry.mtime),
                    reader,
                )?;
                delta.record(entry.path, size, probe);
                written.0 += 1;
                written.1 += size;
            }
        }
        Ok(())
    })?;
    tar.finish().map_err(|e| format!("finishing tar: {e}"))?;
    (report.files_written, report.bytes_written) = written;
    delta.incomplete = seen.incomplete;
    for path in seen.present {
        delta.present(path);
    }
    Ok(Outcome {
        report,
        delta: Some(delta.finish()),
    })
}

/// Watches a file's bytes go by: keeps its head, compares it with the
/// baseline's content as it comes.
struct Probe<'a> {
    baseline: Option<&'a [u8]>,
    head: Vec<u8>,
    head_cap: usize,
    seen: u64,
    differs: bool,
}

impl<'a> Probe<'a> {
    fn new(baseline: Option<&'a [u8]>, limits: &Limits) -> Self {
        Self {
            baseline,
            head: Vec::new(),
            head_cap: limits.text_cap.max(TEXT_PROBE),
            seen: 0,
            differs: baseline.is_none(),
        }
    }

    /// How much of a file of `len` bytes must be read to judge it: all of it
    /// when it could equal the baseline, its head otherwise.
    fn bytes_wanted(&self, len: u64) -> u64 {
        match self.baseline {
            Some(b) if b.len() as u64 == len => len,
            _ => len.min(self.head_cap as u64),
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let room = self.head_cap - self.head.len();
        self.head.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if !self.differs {
            let start = self.seen as usize;
            let expected = self
                .baseline
                .and_then(|b| b.get(start..start + chunk.len()));
            self.differs = expected != Some(chunk);
        }
        self.seen += chunk.len() as u64;
    }
}

struct ProbeReader<'p, 'b, R> {
    inner: R,
    probe: &'p mut Probe<'b>,
}

impl<R: Read> Read for ProbeReader<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.probe.feed(&buf[..n]);
        Ok(n)
    }
}

/// Sorts observed files into created / changed / omitted; whatever of the
/// baseline was not observed is deleted.
struct DeltaBuilder<'a> {
    baseline: &'a Files,
    limits: &'a Limits,
    seen: HashSet<SandboxPath>,
    /// Directories whose content could not be seen ("" is everything).
    unknown: Vec<String>,
    /// The walk stopped early: absence proves nothing.
    incomplete: bool,
    delta: Delta,
}

impl<'a> DeltaBuilder<'a> {
    fn new(baseline: &'a Files, limits: &'a Limits) -> Self {
        Self {
            baseline,
            limits,
            seen: HashSet::new(),
            unknown: Vec::new(),
            incomplete: false,
            delta: Delta::default(),
        }
    }

    /// A file that is there, though not read (refused for its size).
    fn present(&mut self, path: SandboxPath) {
        self.seen.insert(path);
    }

    fn unknown_under(&mut self, dir: &str) {
        self.unknown.push(dir.to_owned());
    }

    /// Whether `path` was out of sight, so its absence means nothing.
    fn unseeable(&self, path: &SandboxPath) -> bool {
        self.incomplete
            || self
                .unknown
                .iter()
                .any(|d| d.is_empty() || path.as_str().starts_with(&format!("{d}/")))
    }

    fn record(&mut self, path: SandboxPath, len: u64, probe: Probe<'_>) {
        self.seen.insert(path.clone());
        // A tar may hold a path twice: the last sighting is what unpacking
        // it leaves, so an earlier one's verdict goes.
        self.delta.created.remove(&path);
        self.delta.changed.remove(&path);
        self.delta.omitted.remove(&path);
        let in_baseline = self.baseline.contains_key(&path);
        let same =
            in_baseline && !probe.differs && Some(len) == probe.baseline.map(|b| b.len() as u64);
        if same {
            return;
        }
        if !is_text(&probe.head[..probe.head.len().min(TEXT_PROBE)]) {
            self.delta.omitted.insert(path);
            return;
        }
        let mut content = FileContent::from_bytes(&probe.head, self.limits.text_cap);
        content.truncated = len > self.limits.text_cap as u64;
        if in_baseline {
            self.delta.changed.insert(path, content);
        } else {
            self.delta.created.insert(path, content);
            if self.delta.created.len() > self.limits.max_created
                && let Some((last, _)) = self.delta.created.pop_last()
            {
                self.delta.omitted.insert(last);
            }
        }
    }

    fn finish(mut self) -> Delta {
        // A path seen twice (a tar may repeat one) ends as it was last seen.
        for path in self.baseline.keys() {
            if !self.seen.contains(path) && !self.unseeable(path) {
                self.delta.deleted.insert(path.clone());
            }
        }
        // Omitted means "there, but not returned": not if it was returned.
        let Delta {
            created,
            changed,
            omitted,
            ..
        } = &mut self.delta;
        omitted.retain(|p| !created.contains_key(p) && !changed.contains_key(p));
        self.delta
    }
}
