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

    /// What a run starts from, in one exec: the newest event, and (if
    /// `with_sandbox`) the saved sandbox tar (empty if none).
    pub async fn begin(
        &self,
        id: &KataId,
        with_sandbox: bool,
    ) -> Result<(Option<Event>, Vec<u8>), StoreError> {
        // Sizes first, then the bytes: the host checks that they add up.
        let script = r#"d="$1"
last=$(ls "$d/events" 2>/dev/null | grep '^[0-9]*\.json$' | sort | tail -n 1)
if [ -n "$last" ]; then n=$(wc -c < "$d/events/$last"); else n=0; fi
if [ "$2" = 1 ] && [ -f "$d/sandbox.tar" ]; then t=$(wc -c < "$d/sandbox.tar"); else t=0; fi
printf '%s %s\n' $n $t
[ "$n" = 0 ] || cat "$d/events/$last"
[ "$t" = 0 ] || cat "$d/sandbox.tar""#;
        let dir = Self::dir(id);
        let flag = if with_sandbox { "1" } else { "0" };
        let (status, out) = self
            .data
            .run_script(script, &[&dir, flag], None)
            .await
            .map_err(Self::err(id))?;
        let bad = |what: &str| StoreError::Corrupt {
            kata: id.clone(),
            commit: dir.clone(),
            what: what.to_owned(),
        };
        if status != 0 {
            return Err(StoreError::Volume {
                kata: Some(id.clone()),
                source: self.data.script_failed("loading", &dir, status, &out),
            });
        }
        let newline = out
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("no size line"))?;
        let sizes = std::str::from_utf8(&out[..newline]).map_err(|_| bad("size line"))?;
        let mut sizes = sizes.split_whitespace().map(str::parse::<usize>);
        let (Some(Ok(n)), Some(Ok(t))) = (sizes.next(), sizes.next()) else {
            return Err(bad("size line"));
        };
        let body = &out[newline + 1..];
        if body.len() != n + t {
            return Err(bad("a file changed while it was read"));
        }
        let event = if n == 0 {
            None
        } else {
            Some(serde_json::from_slice(&body[..n]).map_err(|e| bad(&e.to_string()))?)
        };
        Ok((event, body[n..].to_vec()))
    }

    /// What a run leaves, in one exec: the sandbox (if kept) is renamed into
    /// place, then the event is created under its index (failing if the
    /// index is taken: appends are exclusive). `last` is the index
    /// [`VolumeKatas::begin`] saw.
    pub async fn finish(
        &self,
        id: &KataId,
        last: u64,
        event: NewEvent,
        sandbox: Option<Vec<u8>>,
    ) -> Result<Event, StoreError> {
        let event = event.into_event(last + 1);
        let json = serde_json::to_vec(&event).map_err(|e| StoreError::BadEvent {
            kata: id.clone(),
            why: e.to_string(),
        })?;
        // Two blobs down one stdin: the first one's length is an argument
        // and `dd` reads exactly that (`head -c` may read ahead and lose
        // the rest of a pipe).
        let tar_len = sandbox.as_ref().map_or(0, Vec::len);
        let mut stdin = sandbox.unwrap_or_default();
        stdin.extend_from_slice(&json);
        // The event is the commit point: linked first (exclusively), then
        // the sandbox renamed into place. A feed cut short is never saved:
        // both lengths are checked before anything moves.
        let script = r#"set -e
d="$1"; t="$d/.tmp.$$"
mkdir -p "$d/events"
if [ "$3" -gt 0 ]; then dd of="$t.tar" bs=65536 iflag=fullblock,count_bytes count="$3" 2>/dev/null; fi
cat > "$t.json"
if [ "$3" -gt 0 ] && [ $(wc -c < "$t.tar") -ne "$3" ]; then rm -f "$t.tar" "$t.json"; exit 18; fi
if [ $(wc -c < "$t.json") -ne "$4" ]; then rm -f "$t.tar" "$t.json"; exit 18; fi
if ! ln "$t.json" "$d/events/$2.json" 2>/dev/null; then rm -f "$t.json" "$t.tar"; exit 17; fi
rm -f "$t.json"
if [ "$3" -gt 0 ]; then mv -f "$t.tar" "$d/sandbox.tar"; fi"#;
        let dir = Self::dir(id);
        let index = format!("{:06}", event.index);
        let (len, json_len) = (tar_len.to_string(), json.len().to_string());
        let (status, out) = self
            .data
            .run_script(script, &[&dir, &index, &len, &json_len], Some(stdin))
            .await
            .map_err(Self::err(id))?;
        match status {
            0 => Ok(event),
            17 => Err(StoreError::Contended {
                kata: id.clone(),
                attempts: 1,
            }),
            _ => Err(StoreError::Volume {
                kata: Some(id.clone()),
                source: self.data.script_failed("saving", &dir, status, &out),
            }),
        }
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
