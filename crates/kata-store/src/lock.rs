use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use kata_types::KataId;
use rustix::fs::{FlockOperation, Mode, OFlags};

use crate::StoreError;

/// One lock per kata, within the process.
///
/// A set of held ids and one condition variable rather than a map of
/// mutexes: nothing to prune, no guard borrowing from a map entry. Waiters of
/// every kata wake when any kata is released; appends take milliseconds, so
/// the extra wake-ups cost less than a map that only grows.
#[derive(Debug, Default)]
pub(crate) struct KataLocks {
    held: Mutex<HashSet<KataId>>,
    released: Condvar,
}

/// Holds one kata's lock until dropped.
pub(crate) struct KataGuard<'a> {
    locks: &'a KataLocks,
    id: KataId,
}

impl KataLocks {
    pub fn lock(&self, id: &KataId) -> KataGuard<'_> {
        let mut held = self.held_set();
        while held.contains(id) {
            held = self
                .released
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        held.insert(id.clone());
        KataGuard {
            locks: self,
            id: id.clone(),
        }
    }

    // The set stays consistent even if a holder panicked: a guard removes its
    // id on unwinding too, so poisoning carries no information here.
    fn held_set(&self) -> MutexGuard<'_, HashSet<KataId>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for KataGuard<'_> {
    fn drop(&mut self) {
        self.locks.held_set().remove(&self.id);
        self.locks.released.notify_all();
    }
}

/// The name of the file appends lock across processes, in the kata's directory.
pub(crate) const APPEND_LOCK: &str = "append.lock";

/// Locks the kata against appends by other processes until the returned
/// descriptor is dropped.
///
/// An `flock`, not a lock file that exists or not: the kernel releases it
/// when its holder dies, so a killed server never leaves a kata locked.
pub(crate) fn lock_across_processes(kata_dir: &Path) -> Result<OwnedFd, StoreError> {
    let path = kata_dir.join(APPEND_LOCK);
    let fd = rustix::fs::open(
        &path,
        OFlags::CREATE | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| StoreError::io("opening", &path)(e.into()))?;
    loop {
        match rustix::fs::flock(&fd, FlockOperation::LockExclusive) {
            Ok(()) => return Ok(fd),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(StoreError::io("locking", &path)(e.into())),
        }
    }
}
