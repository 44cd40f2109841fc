//! Either backend, behind one async API.

use std::path::PathBuf;
use std::sync::Arc;

use kata_types::KataId;

use crate::{DirKatas, Event, NewEvent, StoreError, VolumeKatas};

/// The katas store the server was started with.
#[derive(Debug, Clone)]
pub enum Katas {
    /// Katas under a host directory; sandboxes are bind-mounted.
    Dir(Arc<DirKatas>),
    /// Katas in a Docker volume; sandboxes travel as tars.
    Volume(VolumeKatas),
}

/// Where a kata's saved sandbox lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxHome {
    /// A host directory, to be bind-mounted into the run container.
    Dir(PathBuf),
    /// A tar in the volume: [`Katas::load_sandbox`], [`Katas::save_sandbox`].
    Volume,
}

/// What a run starts from: [`Katas::begin`].
#[derive(Debug, Clone)]
pub struct Begun {
    /// The kata's newest event.
    pub last: Option<Event>,
    /// Where its sandbox lives.
    pub home: SandboxHome,
    /// The saved sandbox tar, for [`SandboxHome::Volume`] when asked for
    /// (empty if none).
    pub saved: Vec<u8>,
}

impl Katas {
    /// Reads what a run starts from — the newest event, the sandbox's home,
    /// the saved sandbox if `with_sandbox` — in as few round trips as the
    /// backend allows (one exec for a volume).
    pub async fn begin(&self, id: &KataId, with_sandbox: bool) -> Result<Begun, StoreError> {
        match self {
            Self::Dir(d) => {
                let last = blocking(d, id, |d, id| d.last(id)).await?;
                let home = if with_sandbox {
                    blocking(d, id, |d, id| d.sandbox_dir(id))
                        .await
                        .map(SandboxHome::Dir)?
                } else {
                    SandboxHome::Dir(d.kata_dir(id).join("sandbox"))
                };
                Ok(Begun {
                    last,
                    home,
                    saved: Vec::new(),
                })
            }
            Self::Volume(v) => {
                let (last, saved) = v.begin(id, with_sandbox).await?;
                Ok(Begun {
                    last,
                    home: SandboxHome::Volume,
                    saved,
                })
            }
        }
    }

    /// Saves what a run leaves: the event and, for a volume, the sandbox tar
    /// if it is kept; in one exec for a volume. `begun` is what
    /// [`Katas::begin`] read.
    pub async fn finish(
        &self,
        id: &KataId,
        begun: &Begun,
        event: NewEvent,
        sandbox: Option<Vec<u8>>,
    ) -> Result<Event, StoreError> {
        match self {
            Self::Dir(d) => blocking(d, id, move |d, id| d.append(id, event)).await,
            Self::Volume(v) => {
                let last = begun.last.as_ref().map_or(0, |e| e.index);
                v.finish(id, last, event, sandbox).await
            }
        }
    }

    /// Where `id`'s sandbox lives (a directory backend creates it).
    pub async fn sandbox_home(&self, id: &KataId) -> Result<SandboxHome, StoreError> {
        match self {
            Self::Dir(d) => blocking(d, id, |d, id| d.sandbox_dir(id))
                .await
                .map(SandboxHome::Dir),
            Self::Volume(_) => Ok(SandboxHome::Volume),
        }
    }

    /// The saved sandbox as a tar (empty if none); only for [`SandboxHome::Volume`].
    pub async fn load_sandbox(&self, id: &KataId) -> Result<Vec<u8>, StoreError> {
        match self {
            Self::Dir(_) => Ok(Vec::new()),
            Self::Volume(v) => v.load_sandbox(id).await,
        }
    }

    /// Replaces the saved sandbox; only for [`SandboxHome::Volume`].
    pub async fn save_sandbox(&self, id: &KataId, tar: Vec<u8>) -> Result<(), StoreError> {
        match self {
            Self::Dir(_) => Ok(()),
            Self::Volume(v) => v.save_sandbox(id, tar).await,
        }
    }

    /// Appends a run to `id`'s history.
    pub async fn append(&self, id: &KataId, event: NewEvent) -> Result<Event, StoreError> {
        match self {
            Self::Dir(d) => blocking(d, id, move |d, id| d.append(id, event)).await,
            Self::Volume(v) => v.append(id, event).await,
        }
    }

    /// `id`'s history, oldest first.
    pub async fn events(&self, id: &KataId) -> Result<Vec<Event>, StoreError> {
        match self {
            Self::Dir(d) => blocking(d, id, |d, id| d.events(id)).await,
            Self::Volume(v) => v.events(id).await,
        }
    }

    /// Event `index` of `id`.
    pub async fn event(&self, id: &KataId, index: u64) -> Result<Option<Event>, StoreError> {
        match self {
            Self::Dir(d) => blocking(d, id, move |d, id| d.event(id, index)).await,
            Self::Volume(v) => v.event(id, index).await,
        }
    }

    /// `id`'s newest event.
    pub async fn last(&self, id: &KataId) -> Result<Option<Event>, StoreError> {
        match self {
            Self::Dir(d) => blocking(d, id, |d, id| d.last(id)).await,
            Self::Volume(v) => v.last(id).await,
        }
    }
}

/// git and file I/O block: off the async threads with them.
async fn blocking<T: Send + 'static>(
    d: &Arc<DirKatas>,
    id: &KataId,
    f: impl FnOnce(&DirKatas, &KataId) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let (d, id) = (Arc::clone(d), id.clone());
    tokio::task::spawn_blocking(move || f(&d, &id))
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
}
