//! At most N runs at once, at most Q waiting, the rest turned away.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Slots for runs, with a bounded queue in front of them.
#[derive(Debug)]
pub struct Admission {
    slots: std::sync::Arc<Semaphore>,
    concurrency: usize,
    queue: usize,
    waiting: AtomicUsize,
}

/// A place in the queue, given back on drop.
struct Place<'a>(&'a AtomicUsize);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The queue is full: come back later.
#[derive(Debug, Clone, Copy)]
pub struct Busy;

impl Admission {
    /// `concurrency` slots, `queue` places to wait for one.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        Self {
            slots: std::sync::Arc::new(Semaphore::new(concurrency.max(1))),
            concurrency: concurrency.max(1),
            queue,
            waiting: AtomicUsize::new(0),
        }
    }

    /// Waits for a slot, or says [`Busy`] at once when the queue is full.
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let queued = self.waiting.fetch_add(1, Ordering::SeqCst);
        // Leaves the queue however the wait ends, a dropped future included
        // (the client hung up): a leaked place would turn everyone away.
        let _place = Place(&self.waiting);
        if queued >= self.queue {
            return Err(Busy);
        }
        self.slots.clone().acquire_owned().await.map_err(|_| Busy)
    }

    /// Runs waiting for a slot (and, for an instant, ones being turned away).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Runs holding a slot (each has a container, or is about to).
    pub fn running(&self) -> usize {
        self.concurrency - self.slots.available_permits()
    }
}
