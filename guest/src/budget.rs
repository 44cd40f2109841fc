//! The caps that turn a tar bomb into refusals.

use kata_abi::{Limits, RefusalReason};

/// Counts entries and bytes admitted against [`Limits`].
pub struct Budget<'a> {
    limits: &'a Limits,
    entries: u64,
    bytes: u64,
}

/// What to do with an entry that was not admitted.
pub enum Verdict {
    /// Take it.
    Admit,
    /// Refuse this one, go on with the next.
    Refuse(RefusalReason),
    /// Refuse this one and stop: every later entry would be refused too.
    Stop(RefusalReason),
}

impl<'a> Budget<'a> {
    pub fn new(limits: &'a Limits) -> Self {
        Self {
            limits,
            entries: 0,
            bytes: 0,
        }
    }

    /// Admits a file of `size` bytes, or a directory with `size` 0.
    pub fn admit(&mut self, size: u64) -> Verdict {
        self.admit_counting(size, 1)
    }

    /// Admits an entry that counts as `entries`: itself and the directories
    /// it brings into being.
    pub fn admit_counting(&mut self, size: u64, entries: u64) -> Verdict {
        if self.entries.saturating_add(entries) > self.limits.max_entries {
            return Verdict::Stop(RefusalReason::TooManyEntries);
        }
        if size > self.limits.max_file_bytes {
            return Verdict::Refuse(RefusalReason::FileTooLarge { size });
        }
        if self.bytes.saturating_add(size) > self.limits.max_total_bytes {
            return Verdict::Refuse(RefusalReason::TooManyBytes);
        }
        self.entries += entries;
        self.bytes += size;
        Verdict::Admit
    }
}
