//! Katas in a Docker volume, reached only through its data container.
//!
//! Layout inside the volume, per kata (`XX/YY/ZZ` as for [`crate::DirKatas`]):
//!
//! * `sandbox.tar` — the kata's sandbox between runs, as the checked tar the
//!   guest wrote (modes and mtimes kept). Kept as one file, so that replacing
//!   it is one atomic rename and no run container ever needs the volume.
//! * `events/000001.json` … — one [`Event`] per run, each created with a
//!   hard link that fails if the name exists: append-only, atomically.

use kata_docker::{DataContainer, Executor, Write, Written};
use kata_types::KataId;

use crate::{Event, NewEvent, StoreError};

/// How many times an append retries after losing an index to another writer.
const APPEND_TRIES: u32 = 5;

/// Katas in a Docker volume behind a data container. Cheap to share.
#[derive(Debug, Clone)]
pub struct VolumeKatas {
    data: DataContainer,
}

impl VolumeKatas {
    /// Opens (creating if missing) the volume and its data container, which
    /// runs `image` (it needs `sh` and coreutils or busybox).
    pub async fn open(executor: &Executor, volume: &str, image: &str) -> Result<Self, StoreError> {
        let data =
            executor
                .data_container(volume, image)
                .await
                .map_err(|e| StoreError::Volume {
                    kata: None,
                    source: e,
                })?;
        Ok(Self { data })
    }

    /// The data container's name.
    pub fn container(&self) -> &str {
        self.data.name()
    }

    /// Removes the data container and `volume`, every kata with them. For
    /// tests and for retiring a store.
    pub async fn destroy(self, volume: &str) -> Result<(), StoreError> {
        self.data
            .destroy(volume)
            .await
            .map_err(|source| StoreError::Volume { kata: None, source })
    }

    fn dir(id: &KataId) -> String {
        id.shards().join("/")
    }

    fn err(id: &KataId) -> impl FnOnce(kata_docker::ExecError) -> StoreError + '_ {
        move |source| StoreError::Volume {
            kata: Some(id.clone()),
            source,
        }
    }

    /// The saved sandbox tar; empty when the kata has none yet.
    pub async fn load_sandbox(&self, id: &KataId) -> Result<Vec<u8>, StoreError> {
        let path = format!("{}/sandbox.tar", Self::dir(id));
        Ok(self
            .data
            .read(&path)
            .await
            .map_err(Self::err(id))?
            .unwrap_or_default())
    }

    /// Replaces the saved sandbox, atomically.
    pub async fn save_sandbox(&self, id: &KataId, tar: Vec<u8>) -> Result<(), StoreError> {
        let path = format!("{}/sandbox.tar", Self::dir(id));
        self.data
            .write(&path, tar, Write::Replace)
            .await
            .map_err(Self::err(id))?;
        Ok(())
    }

    /// Appends `event` with the next index.
    pub async fn append(&self, id: &KataId, event: NewEvent) -> Result<Event, StoreError> {
        for _ in 0..APPEND_TRIES {
            let index = self.indices(id).await?.last().copied().unwrap_or(0) + 1;
            let event = event.clone().into_event(index);
            let json = serde_json::to_vec(&event).map_err(|e| StoreError::BadEvent {
                kata: id.clone(),
                why: e.to_string(),
            })?;
            let path = format!("{}/events/{index:06}.json", Self::dir(id));
            match self
                .data
                .write(&path, json, Write::CreateNew)
                .await
                .map_err(Self::err(id))?
            {
                Written::Done => return Ok(event),
                Written::Exists => continue,
            }
        }
        Err(StoreError::Contended {
            kata: id.clone(),
            attempts: APPEND_TRIES,
        })
    }

    /// Every event, oldest first.
    pub async fn events(&self, id: &KataId) -> Result<Vec<Event>, StoreError> {
        let mut events = Vec::new();
        for index in self.indices(id).await? {
            if let Some(event) = self.event(id, index).await? {
                events.push(event);
            }
        }
        Ok(events)
    }

    /// Event `index`, if there is one.
    pub async fn event(&self, id: &KataId, index: u64) -> Result<Option<Event>, StoreError> {
        let path = format!("{}/events/{index:06}.json", Self::dir(id));
        let Some(json) = self.data.read(&path).await.map_err(Self::err(id))? else {
            return Ok(None);
        };
        let event: Event = serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt {
            kata: id.clone(),
            commit: path.clone(),
            what: e.to_string(),
        })?;
        Ok(Some(event))
    }

    /// The newest event.
    pub async fn last(&self, id: &KataId) -> Result<Option<Event>, StoreError> {
        match self.indices(id).await?.last() {
            Some(&index) => self.event(id, index).await,
            None => Ok(None),
        }
    }

    async fn indices(&self, id: &KataId) -> Result<Vec<u64>, StoreError> {
        let dir = format!("{}/events", Self::dir(id));
        let mut indices: Vec<u64> = self
            .data
            .list(&dir)
            .await
            .map_err(Self::err(id))?
            .iter()
            .filter_map(|n| n.strip_suffix(".json")?.parse().ok())
            .collect();
        indices.sort_unstable();
        Ok(indices)
    }
}
