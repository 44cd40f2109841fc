//! A kata's history: a bare git repository, one commit per event.
//!
//! Each commit's tree holds `event.json` (the event less its texts),
//! `stdout`, `stderr` and `files/<path>` for every visible file. The branch
//! `refs/heads/main` is the history; the tags `refs/tags/<index>` are there
//! for people running `git show 3:event.json`, and are never read here.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::tree::{Entry as TreeEntry, EntryKind};
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::{FullName, Target};
use kata_abi::Timestamp;
use kata_types::{Files, KataId, SandboxPath};

use crate::event::{Meta, commit_message};
use crate::{Event, NewEvent, StoreError};

pub(crate) const HISTORY: &str = "history.git";
const BRANCH: &str = "refs/heads/main";
/// How often an append is tried when another writer moves the branch first.
const ATTEMPTS: u32 = 5;
/// A ref lock older than this was left by a writer that died: appends hold
/// one for milliseconds.
const STALE_LOCK: Duration = Duration::from_secs(10);

const EVENT_JSON: &str = "event.json";
const STDOUT: &str = "stdout";
const STDERR: &str = "stderr";
const FILES: &str = "files";

/// An open history repository.
pub(crate) struct History {
    repo: gix::Repository,
    kata: KataId,
    path: PathBuf,
}

/// A commit of the history, decoded as far as its `event.json`.
struct Stored {
    id: ObjectId,
    meta: Meta,
    parent: Option<ObjectId>,
    root: Vec<(String, EntryKind, ObjectId)>,
}

enum Node {
    Blob(ObjectId),
    Dir(BTreeMap<String, Node>),
}

fn open_options() -> gix::open::Options {
    // Isolated: the host's ~/.gitconfig or GIT_* variables must not change
    // how (or whether) histories are written.
    gix::open::Options::isolated()
        .open_path_as_is(true)
        .config_overrides([
            "init.defaultBranch=main",
            // Another process appending to the same kata holds the branch's
            // lock for milliseconds: wait a little rather than fail.
            "core.filesRefLockTimeout=1000",
        ])
}

impl History {
    /// Opens the kata's history, or `None` if it has none yet.
    pub fn open(kata: &KataId, kata_dir: &Path) -> Result<Option<Self>, StoreError> {
        let path = kata_dir.join(HISTORY);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("reading", path)(e)),
        }
        let repo = gix::open_opts(&path, open_options()).map_err(|e| StoreError::Git {
            kata: kata.clone(),
            action: "opening the history",
            path: path.clone(),
            source: Box::new(e),
        })?;
        Ok(Some(Self {
            repo,
            kata: kata.clone(),
            path,
        }))
    }

    /// Opens the kata's history, creating an empty one if it has none.
    ///
    /// The repository is made under a temporary name and renamed into place,
    /// so a crash never leaves a half-made `history.git`.
    pub fn open_or_create(kata: &KataId, kata_dir: &Path) -> Result<Self, StoreError> {
        if let Some(history) = Self::open(kata, kata_dir)? {
            return Ok(history);
        }
        let tmp = kata_dir.join(crate::temp_name(".history.git.new"));
        let made = gix::ThreadSafeRepository::init_opts(
            &tmp,
            gix::create::Kind::Bare,
            gix::create::Options::default(),
            open_options(),
        );
        if let Err(e) = made {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(StoreError::Git {
                kata: kata.clone(),
                action: "creating the history",
                path: tmp,
                source: Box::new(e),
            });
        }
        // The sample hooks are 20-odd KB per kata and never run.
        let _ = std::fs::remove_dir_all(tmp.join("hooks"));
        let path = kata_dir.join(HISTORY);
        match crate::rename_no_replace(&tmp, &path) {
            Ok(()) => {}
            // Another process made it first.
            Err(e)
                if matches!(
                    rustix::io::Errno::from_io_error(&e),
                    Some(rustix::io::Errno::EXIST | rustix::io::Errno::NOTEMPTY)
                ) =>
            {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(StoreError::io("renaming into place", path)(e));
            }
        }
        Self::open(kata, kata_dir)?.ok_or_else(|| StoreError::Io {
            action: "opening the history just made at",
            path: kata_dir.join(HISTORY),
            source: io::ErrorKind::NotFound.into(),
        })
    }

    /// Appends `event` with the next index, moving the branch with a
    /// compare-and-swap so that two writers cannot both take one index.
    pub fn append(&self, event: NewEvent) -> Result<Event, StoreError> {
        let mut event = event.into_event(0);
        for _ in 0..ATTEMPTS {
            let head = self.head()?;
            event.index = match head {
                None => 1,
                Some(head) => {
                    let last = self.read_commit(head)?;
                    // A crash between moving the branch and tagging leaves
                    // the head untagged; this is the next chance to fix it.
                    self.ensure_tag(last.meta.index, head);
                    last.meta.index + 1
                }
            };
            let commit = self.write_event(&event, head)?;
            if self.move_branch(head, commit, &event)? {
                self.ensure_tag(event.index, commit);
                return Ok(event);
            }
        }
        Err(StoreError::Contended {
            kata: self.kata.clone(),
            attempts: ATTEMPTS,
        })
    }

    /// Every event, oldest first.
    pub fn events(&self) -> Result<Vec<Event>, StoreError> {
        let Some(head) = self.head()? else {
            return Ok(Vec::new());
        };
        let mut stored = self.read_commit(head)?;
        self.ensure_tag(stored.meta.index, head);
        let mut events = Vec::with_capacity(usize::try_from(stored.meta.index).unwrap_or(0));
        loop {
            let parent = self.parent_of(&stored)?;
            events.push(self.read_event(stored)?);
            match parent {
                Some(parent) => stored = parent,
                None => break,
            }
        }
        events.reverse();
        Ok(events)
    }

    /// The event with `index`, if there is one.
    pub fn event(&self, index: u64) -> Result<Option<Event>, StoreError> {
        let Some(head) = self.head()? else {
            return Ok(None);
        };
        let mut stored = self.read_commit(head)?;
        self.ensure_tag(stored.meta.index, head);
        if index == 0 || index > stored.meta.index {
            return Ok(None);
        }
        while stored.meta.index > index {
            stored = self
                .parent_of(&stored)?
                .ok_or_else(|| self.corrupt(stored.id, "the history ends before event 1"))?;
        }
        self.read_event(stored).map(Some)
    }

    /// The newest event, if there is one.
    pub fn last(&self) -> Result<Option<Event>, StoreError> {
        let Some(head) = self.head()? else {
            return Ok(None);
        };
        let stored = self.read_commit(head)?;
        self.ensure_tag(stored.meta.index, head);
        self.read_event(stored).map(Some)
    }

    fn head(&self) -> Result<Option<ObjectId>, StoreError> {
        let found = self
            .repo
            .try_find_reference(BRANCH)
            .map_err(|e| self.git("reading the branch", e))?;
        match found.map(|r| r.inner().target.clone()) {
            None => Ok(None),
            Some(Target::Object(id)) => Ok(Some(id)),
            Some(Target::Symbolic(name)) => Err(StoreError::Corrupt {
                kata: self.kata.clone(),
                commit: String::new(),
                what: format!("{BRANCH} is a symbolic ref to {}", name.as_bstr()),
            }),
        }
    }

    /// Reads `stored`'s parent and checks that the indices link up: the
    /// parent of event `n` is event `n - 1`, and only event 1 has none.
    fn parent_of(&self, stored: &Stored) -> Result<Option<Stored>, StoreError> {
        let parent = match (stored.parent, stored.meta.index) {
            (None, 1) => return Ok(None),
            (None, n) => return Err(self.corrupt(stored.id, format!("event {n} has no parent"))),
            (Some(_), 1) => return Err(self.corrupt(stored.id, "event 1 has a parent")),
            (Some(parent), _) => self.read_commit(parent)?,
        };
        if parent.meta.index + 1 != stored.meta.index {
            return Err(self.corrupt(
                stored.id,
                format!(
                    "event {} follows event {}",
                    stored.meta.index, parent.meta.index
                ),
            ));
        }
        Ok(Some(parent))
    }

    fn read_commit(&self, id: ObjectId) -> Result<Stored, StoreError> {
        let commit = self
            .repo
            .find_commit(id)
            .map_err(|e| self.git("reading a commit", e))?;
        let tree = commit
            .tree_id()
            .map_err(|e| self.git("reading a commit", e))?
            .detach();
        let mut parents = commit.parent_ids().map(|p| p.detach());
        let parent = parents.next();
        if parents.next().is_some() {
            return Err(self.corrupt(id, "a merge commit"));
        }
        let root = self.entries(id, tree)?;
        let json = self.blob_at(id, &root, EVENT_JSON)?;
        let meta: Meta = serde_json::from_slice(&json)
            .map_err(|e| self.corrupt(id, format!("{EVENT_JSON}: {e}")))?;
        Ok(Stored {
            id,
            meta,
            parent,
            root,
        })
    }

    fn read_event(&self, stored: Stored) -> Result<Event, StoreError> {
        let id = stored.id;
        let stdout = self.text(id, self.blob_at(id, &stored.root, STDOUT)?, STDOUT)?;
        let stderr = self.text(id, self.blob_at(id, &stored.root, STDERR)?, STDERR)?;
        let mut files = Files::new();
        let files_tree = stored
            .root
            .iter()
            .find(|(name, kind, _)| name == FILES && *kind == EntryKind::Tree);
        // Walked with a stack, not recursion: a damaged repository may nest
        // trees deeper than any path this crate writes.
        let mut todo: Vec<(String, ObjectId)> = files_tree
            .map(|(_, _, tree)| (String::new(), *tree))
            .into_iter()
            .collect();
        while let Some((dir, tree)) = todo.pop() {
            for (name, kind, oid) in self.entries(id, tree)? {
                let path = if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                };
                match kind {
                    EntryKind::Tree => todo.push((path, oid)),
                    EntryKind::Blob | EntryKind::BlobExecutable => {
                        let bytes = self.blob(oid)?;
                        let text = self.text(id, bytes, &path)?;
                        let path = SandboxPath::new(&path)
                            .map_err(|e| self.corrupt(id, format!("file {path:?}: {e}")))?;
                        files.insert(path, text);
                    }
                    other => {
                        return Err(self.corrupt(id, format!("file {path:?} is a {other:?}")));
                    }
                }
            }
        }
        Ok(stored.meta.into_event(stdout, stderr, files))
    }

    fn entries(
        &self,
        commit: ObjectId,
        tree: ObjectId,
    ) -> Result<Vec<(String, EntryKind, ObjectId)>, StoreError> {
        let tree = self
            .repo
            .find_tree(tree)
            .map_err(|e| self.git("reading a tree", e))?;
        let decoded = tree.decode().map_err(|e| self.git("reading a tree", e))?;
        decoded
            .entries
            .iter()
            .map(|e| {
                let name = e.filename.to_str().map_err(|_| {
                    self.corrupt(
                        commit,
                        format!("a name that is not UTF-8: {:?}", e.filename),
                    )
                })?;
                Ok((name.to_owned(), e.mode.kind(), e.oid.to_owned()))
            })
            .collect()
    }

    fn blob_at(
        &self,
        commit: ObjectId,
        root: &[(String, EntryKind, ObjectId)],
        name: &str,
    ) -> Result<Vec<u8>, StoreError> {
        match root.iter().find(|(n, _, _)| n == name) {
            Some((_, EntryKind::Blob, id)) => self.blob(*id),
            Some(_) => Err(self.corrupt(commit, format!("{name} is not a file"))),
            None => Err(self.corrupt(commit, format!("no {name}"))),
        }
    }

    fn blob(&self, id: ObjectId) -> Result<Vec<u8>, StoreError> {
        let mut blob = self
            .repo
            .find_blob(id)
            .map_err(|e| self.git("reading a blob", e))?;
        Ok(blob.take_data())
    }

    fn text(&self, commit: ObjectId, bytes: Vec<u8>, what: &str) -> Result<String, StoreError> {
        String::from_utf8(bytes).map_err(|_| self.corrupt(commit, format!("{what} is not UTF-8")))
    }

    /// Writes the event's blobs, trees and commit; moves no ref.
    fn write_event(&self, event: &Event, parent: Option<ObjectId>) -> Result<ObjectId, StoreError> {
        let mut json =
            serde_json::to_vec_pretty(&Meta::of(event)).map_err(|e| StoreError::BadEvent {
                kata: self.kata.clone(),
                why: e.to_string(),
            })?;
        json.push(b'\n');
        let mut root = BTreeMap::new();
        root.insert(EVENT_JSON.to_owned(), Node::Blob(self.write_blob(&json)?));
        let stdout = self.write_blob(event.stdout.content.as_bytes())?;
        root.insert(STDOUT.to_owned(), Node::Blob(stdout));
        let stderr = self.write_blob(event.stderr.content.as_bytes())?;
        root.insert(STDERR.to_owned(), Node::Blob(stderr));
        if !event.files.is_empty() {
            let mut files = BTreeMap::new();
            for (path, content) in &event.files {
                let blob = self.write_blob(content.as_bytes())?;
                self.insert(&mut files, path, blob)?;
            }
            root.insert(FILES.to_owned(), Node::Dir(files));
        }
        let tree = self.write_dir(root)?;
        let signature = signature(event.time);
        let commit = gix::objs::Commit {
            tree,
            parents: parent.into_iter().collect(),
            author: signature.clone(),
            committer: signature,
            encoding: None,
            message: commit_message(event).into(),
            extra_headers: Vec::new(),
        };
        self.repo
            .write_object(&commit)
            .map(|id| id.detach())
            .map_err(|e| self.git("writing a commit", e))
    }

    fn write_blob(&self, bytes: &[u8]) -> Result<ObjectId, StoreError> {
        self.repo
            .write_blob(bytes)
            .map(|id| id.detach())
            .map_err(|e| self.git("writing a blob", e))
    }

    fn insert(
        &self,
        root: &mut BTreeMap<String, Node>,
        path: &SandboxPath,
        blob: ObjectId,
    ) -> Result<(), StoreError> {
        let clash = |end: usize| StoreError::FileClash {
            kata: self.kata.clone(),
            path: SandboxPath::new(&path.as_str()[..end]).unwrap_or_else(|_| path.clone()),
        };
        let (dirs, leaf) = match path.as_str().rsplit_once('/') {
            Some((dirs, leaf)) => (Some(dirs), leaf),
            None => (None, path.as_str()),
        };
        let mut dir = root;
        let mut end = 0;
        for name in dirs.into_iter().flat_map(|d| d.split('/')) {
            end += name.len() + usize::from(end != 0);
            let node = dir
                .entry(name.to_owned())
                .or_insert_with(|| Node::Dir(BTreeMap::new()));
            dir = match node {
                Node::Dir(d) => d,
                Node::Blob(_) => return Err(clash(end)),
            };
        }
        match dir.entry(leaf.to_owned()) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(Node::Blob(blob));
                Ok(())
            }
            std::collections::btree_map::Entry::Occupied(_) => Err(clash(path.as_str().len())),
        }
    }

    // Recursion is bounded: a SandboxPath has at most 2,048 components.
    fn write_dir(&self, dir: BTreeMap<String, Node>) -> Result<ObjectId, StoreError> {
        let mut entries = Vec::with_capacity(dir.len());
        for (name, node) in dir {
            let (kind, oid) = match node {
                Node::Blob(id) => (EntryKind::Blob, id),
                Node::Dir(d) => (EntryKind::Tree, self.write_dir(d)?),
            };
            entries.push(TreeEntry {
                mode: kind.into(),
                filename: name.into(),
                oid,
            });
        }
        // Git orders a tree's entries as if directory names ended in '/'.
        entries.sort();
        self.repo
            .write_object(&gix::objs::Tree { entries })
            .map(|id| id.detach())
            .map_err(|e| self.git("writing a tree", e))
    }

    /// Moves the branch from `from` to `to`. `false`: another writer moved
    /// it first (or died holding its lock, now cleared), so try again.
    fn move_branch(
        &self,
        from: Option<ObjectId>,
        to: ObjectId,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let expected = match from {
            Some(id) => PreviousValue::MustExistAndMatch(Target::Object(id)),
            None => PreviousValue::MustNotExist,
        };
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: commit_message(event).trim_end().into(),
                },
                expected,
                new: Target::Object(to),
            },
            name: full_name(BRANCH),
            deref: false,
        };
        let signature = signature(event.time);
        let mut time = gix::date::parse::TimeBuf::default();
        match self
            .repo
            .edit_references_as([edit], Some(signature.to_ref(&mut time)))
        {
            Ok(_) => Ok(true),
            Err(e) => {
                if self.head()? != from {
                    return Ok(false);
                }
                if self.clear_stale_lock(BRANCH) {
                    return Ok(false);
                }
                Err(self.git("moving the branch", e))
            }
        }
    }

    /// Makes `refs/tags/<index>` point at `commit` if it does not exist.
    ///
    /// Never fails: the tags are for people, the branch is the history, and
    /// an event that is on the branch has been stored.
    fn ensure_tag(&self, index: u64, commit: ObjectId) {
        let name = format!("refs/tags/{index}");
        for _ in 0..2 {
            match self.repo.try_find_reference(name.as_str()) {
                Ok(Some(tag)) => {
                    if tag.inner().target != Target::Object(commit) {
                        tracing::warn!(kata = %self.kata, tag = %name, commit = %commit,
                            "tag points elsewhere than the history's commit; left as it is");
                    }
                    return;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(kata = %self.kata, tag = %name, error = %format!("{e:#}"),
                        "cannot read tag");
                    return;
                }
            }
            let edit = RefEdit {
                change: Change::Update {
                    log: LogChange {
                        mode: RefLog::AndReference,
                        force_create_reflog: false,
                        message: Default::default(),
                    },
                    expected: PreviousValue::MustNotExist,
                    new: Target::Object(commit),
                },
                name: full_name(&name),
                deref: false,
            };
            match self.repo.edit_references_as([edit], None) {
                Ok(_) => return,
                // Another reader or writer may have made it meanwhile: look
                // again; or one died holding the lock: clear it and retry.
                Err(e) => {
                    if !self.clear_stale_lock(&name) && self.tag_target(&name).is_none() {
                        tracing::warn!(kata = %self.kata, tag = %name, error = %format!("{e:#}"),
                            "cannot tag event");
                        return;
                    }
                }
            }
        }
    }

    fn tag_target(&self, name: &str) -> Option<Target> {
        let tag = self.repo.try_find_reference(name).ok()??;
        Some(tag.inner().target.clone())
    }

    /// Removes `name`'s lock file if a writer that died left it. Returns
    /// whether it did.
    fn clear_stale_lock(&self, name: &str) -> bool {
        let lock = self.path.join(format!("{name}.lock"));
        let Ok(meta) = std::fs::symlink_metadata(&lock) else {
            return false;
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok());
        if age.is_some_and(|age| age > STALE_LOCK) && std::fs::remove_file(&lock).is_ok() {
            tracing::warn!(kata = %self.kata, lock = %lock.display(), "removed a stale lock");
            return true;
        }
        false
    }

    fn git(&self, action: &'static str, source: gix::Error) -> StoreError {
        StoreError::Git {
            kata: self.kata.clone(),
            action,
            path: self.path.clone(),
            source: Box::new(source),
        }
    }

    fn corrupt(&self, commit: ObjectId, what: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            kata: self.kata.clone(),
            commit: commit.to_string(),
            what: what.into(),
        }
    }
}

fn full_name(name: &str) -> FullName {
    FullName::try_from(name).expect("branch and tag names are valid ref names")
}

/// Who wrote every commit: the runner, at the event's time (UTC).
fn signature(time: Timestamp) -> gix::actor::Signature {
    gix::actor::Signature {
        name: "kata-runner".into(),
        email: "kata-runner@localhost".into(),
        time: gix::date::Time {
            seconds: time.secs,
            offset: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use kata_types::{FileContent, Outcome};

    use super::*;

    fn run(stdout: &str) -> NewEvent {
        let text = |s: &str| FileContent {
            content: s.to_owned(),
            truncated: false,
        };
        NewEvent {
            time: Timestamp {
                secs: 1_700_000_000,
                nanos: 0,
            },
            duration_secs: 0.5,
            runner: "tmp".into(),
            image: "busybox:latest".into(),
            outcome: Outcome::Amber,
            status: "1".into(),
            stdout: text(stdout),
            stderr: text(""),
            files: Files::new(),
            created: Default::default(),
            changed: Default::default(),
            deleted: Default::default(),
        }
    }

    /// The in-process and flock locks keep writers apart in practice; this
    /// is the compare-and-swap that makes two winners impossible anyway.
    #[test]
    fn the_branch_only_moves_from_the_head_it_was_built_on() {
        let tmp = tempfile::tempdir().unwrap();
        let kata = KataId::new("34de2W").unwrap();
        let history = History::open_or_create(&kata, tmp.path()).unwrap();
        history.append(run("first")).unwrap();

        // A writer reads the head and builds event 2 on it...
        let head = history.head().unwrap();
        let late = run("late").into_event(2);
        let commit = history.write_event(&late, head).unwrap();
        // ...while another writer stores its event 2.
        assert_eq!(history.append(run("early")).unwrap().index, 2);

        assert!(!history.move_branch(head, commit, &late).unwrap());
        let stdouts: Vec<_> = history
            .events()
            .unwrap()
            .into_iter()
            .map(|e| e.stdout.content)
            .collect();
        assert_eq!(stdouts, ["first", "early"]);

        // A first event cannot land on a history that has one either.
        let root = history
            .write_event(&run("root").into_event(1), None)
            .unwrap();
        assert!(!history.move_branch(None, root, &late).unwrap());
    }
}
