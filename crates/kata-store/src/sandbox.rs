//! Making a kata's `sandbox/` directory, the one the run container mounts.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Gid, Mode, OFlags, RenameFlags, Uid};

use crate::StoreError;

/// The uid the run container runs as (cyber-dojo's `sandbox` user).
pub const SANDBOX_UID: u32 = 41966;
/// The gid the run container runs as (cyber-dojo's `sandbox` group).
pub const SANDBOX_GID: u32 = 51966;

/// The sandbox's mode when it could be given to [`SANDBOX_UID`]: the owner
/// and the group may write, nobody else; setgid so that what the server (or
/// its WASI guest) creates inside belongs to [`SANDBOX_GID`] too.
pub const SANDBOX_MODE: u32 = 0o2770;
/// The sandbox's mode when this process may not give it away (not root): the
/// container's user is then "other" and must be able to write.
pub const SANDBOX_MODE_UNOWNED: u32 = 0o2777;

pub(crate) const SANDBOX: &str = "sandbox";

/// Returns `kata_dir/sandbox`, creating it if it does not exist.
///
/// A new sandbox is made under a temporary name, given its owner and mode,
/// and only then renamed into place: a crash never leaves a `sandbox/` that
/// the container's user cannot write. An existing sandbox is never touched:
/// user code writes in it, and a chown or chmod there could be steered by a
/// planted link (Judge0's CVE-2024-28185).
pub(crate) fn ensure(kata_dir: &Path) -> Result<PathBuf, StoreError> {
    let path = kata_dir.join(SANDBOX);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => return Ok(path),
        Ok(_) => {
            return Err(StoreError::Io {
                action: "expected a directory at",
                path,
                source: io::ErrorKind::NotADirectory.into(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io("reading", path)(e)),
    }

    let dir = open_dir(kata_dir)?;
    let tmp = crate::temp_name(".sandbox.new");
    let tmp_path = kata_dir.join(&tmp);
    rustix::fs::mkdirat(&dir, &tmp, Mode::from_raw_mode(0o700))
        .map_err(|e| StoreError::io("creating directory", &tmp_path)(e.into()))?;
    let made = hand_over(&dir, &tmp)
        .map_err(|e| StoreError::io("setting owner and mode of", &tmp_path)(e));
    let renamed = made.and_then(|()| {
        match rustix::fs::renameat_with(&dir, &tmp, &dir, SANDBOX, RenameFlags::NOREPLACE) {
            Ok(()) => Ok(true),
            // Another process made it first; theirs is as good as ours.
            Err(rustix::io::Errno::EXIST) => Ok(false),
            // A file system without RENAME_NOREPLACE. We hold the kata's lock
            // and saw no sandbox a moment ago, so a plain rename is as safe as
            // it gets without one.
            Err(rustix::io::Errno::INVAL) => rustix::fs::renameat(&dir, &tmp, &dir, SANDBOX)
                .map(|()| true)
                .map_err(|e| StoreError::io("renaming into place", &path)(e.into())),
            Err(e) => Err(StoreError::io("renaming into place", &path)(e.into())),
        }
    });
    if !matches!(renamed, Ok(true)) {
        // Empty and ours: nothing can have been planted in it.
        let _ = rustix::fs::unlinkat(&dir, &tmp, AtFlags::REMOVEDIR);
    }
    renamed.map(|_| path)
}

/// Gives the fresh directory `name` (inside `dir`) to the sandbox user, or
/// failing that to everybody.
fn hand_over(dir: &OwnedFd, name: &str) -> io::Result<()> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let owner = Some(Uid::from_raw(SANDBOX_UID));
    let group = Some(Gid::from_raw(SANDBOX_GID));
    let mode = match rustix::fs::fchown(&fd, owner, group) {
        Ok(()) => SANDBOX_MODE,
        // Not root, or 41966 is not mapped in this user namespace.
        Err(rustix::io::Errno::PERM | rustix::io::Errno::INVAL) => {
            tracing::warn!(
                uid = SANDBOX_UID,
                gid = SANDBOX_GID,
                "cannot give a new sandbox to the run container's user (not root?): \
                 it is left world-writable (mode {SANDBOX_MODE_UNOWNED:o})"
            );
            SANDBOX_MODE_UNOWNED
        }
        Err(e) => return Err(e.into()),
    };
    // fchmod, unlike mkdir's mode, is not cut by the umask; it comes after
    // fchown because chown may clear set-id bits.
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    Ok(())
}

pub(crate) fn open_dir(path: &Path) -> Result<OwnedFd, StoreError> {
    rustix::fs::open(
        path,
        OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| StoreError::io("opening directory", path)(e.into()))
}
