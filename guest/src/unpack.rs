//! [`kata_abi::Op::Unpack`]: a tar stream becomes the directory's content.

use std::collections::HashSet;
use std::io::Read;

use filetime::FileTime;
use kata_abi::{Limits, Outcome, RefusalReason, Report};
use kata_types::SandboxPath;

use crate::Result;
use crate::fsops::{ensure_dir, remove_any, write_file};
use crate::tarin::for_each_checked;
use crate::walk::{host, walk};

pub fn unpack(limits: &Limits, input: &mut impl Read) -> Result<Outcome> {
    // Links and other oddities left in the directory go first, so that no
    // write below can be redirected by one.
    let mut report = Report::default();
    let before = walk(&Limits {
        max_entries: u64::MAX,
        max_total_bytes: u64::MAX,
        max_file_bytes: u64::MAX,
        ..limits.clone()
    })?;
    for s in &before.skipped {
        if matches!(s.reason, RefusalReason::Unlistable { .. }) {
            return Err(format!(
                "cannot replace the directory's content: {} cannot be listed",
                s.shown
            ));
        }
        remove_any(&s.host).map_err(|e| format!("removing {}: {e}", s.shown))?;
    }

    let mut kept: HashSet<SandboxPath> = HashSet::new();
    let mut dir_times: Vec<(SandboxPath, u64)> = Vec::new();
    let (mut files, mut bytes) = (0, 0);
    let seen = for_each_checked(input, limits, &mut report, |entry| {
        kept.extend(entry.path.ancestors());
        kept.insert(entry.path.clone());
        match entry.file {
            None => {
                ensure_dir(&entry.path)?;
                dir_times.push((entry.path, entry.mtime));
            }
            Some((_, data)) => {
                let mtime = FileTime::from_unix_time(entry.mtime as i64, 0);
                bytes += write_file(&entry.path, data, mtime)?;
                files += 1;
            }
        }
        Ok(())
    })?;
    (report.files_written, report.bytes_written) = (files, bytes);

    // Whatever the tar did not hold is gone: a file deleted inside the
    // container must not come back from the last run. Deepest first, so a
    // removed directory's children are not visited again.
    for found in before.found.iter().rev() {
        // A tar that stopped early says nothing about what it did not reach.
        if !kept.contains(&found.path) && !seen.incomplete {
            remove_any(&host(&found.path)).map_err(|e| format!("removing {}: {e}", found.path))?;
            report.files_deleted += u64::from(!found.is_dir);
        }
    }

    // A directory's mtime changes as entries are made in it: stamp directories
    // last, children before parents.
    dir_times.sort_by(|a, b| b.0.cmp(&a.0));
    for (dir, mtime) in dir_times {
        let t = FileTime::from_unix_time(mtime as i64, 0);
        filetime::set_file_mtime(host(&dir), t).map_err(|e| format!("stamping {dir}: {e}"))?;
    }
    Ok(Outcome {
        report,
        delta: None,
    })
}
