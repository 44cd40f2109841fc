//! Listing the guest's directory without following anything.

use std::fs;
use std::path::{Path, PathBuf};

use filetime::FileTime;
use kata_abi::{GUEST_DIR, Limits, RefusalReason};
use kata_types::SandboxPath;

use crate::Result;
use crate::budget::{Budget, Verdict};

/// A regular file or directory found by [`walk`].
pub struct Found {
    pub path: SandboxPath,
    pub is_dir: bool,
    pub len: u64,
    pub mtime: FileTime,
}

/// An entry [`walk`] did not take. `host` names it even when its name is not a
/// valid [`SandboxPath`], so that it can still be removed.
pub struct Skipped {
    pub host: PathBuf,
    pub shown: String,
    pub reason: RefusalReason,
}

/// Everything under the guest's directory, parents before children.
#[derive(Default)]
pub struct Walk {
    pub found: Vec<Found>,
    pub skipped: Vec<Skipped>,
}

/// Where a sandbox path lives in the guest's view.
pub fn host(path: &SandboxPath) -> PathBuf {
    Path::new(GUEST_DIR).join(path.as_str())
}

/// Lists the directory. Entries are read with `lstat` semantics: a link is
/// reported as a link and never followed. A refused directory is not entered.
pub fn walk(limits: &Limits) -> Result<Walk> {
    let mut budget = Budget::new(limits);
    let mut out = Walk::default();
    let mut stopped = false;
    // (host path, sandbox path) of directories still to read.
    let mut todo: Vec<(PathBuf, Option<SandboxPath>)> = vec![(PathBuf::from(GUEST_DIR), None)];
    while let Some((dir, parent)) = todo.pop() {
        let mut names = match list(&dir) {
            Ok(names) => names,
            Err(e) => {
                // Its entries stay unseen: report the directory instead of
                // failing the whole job (a run can make such a name).
                out.skipped.push(Skipped {
                    host: dir.clone(),
                    shown: parent.as_ref().map_or_else(String::new, |p| p.to_string()),
                    reason: RefusalReason::Unlistable {
                        error: e.to_string(),
                    },
                });
                if let Some(p) = &parent {
                    out.found.retain(|f| &f.path != p);
                }
                continue;
            }
        };
        names.sort();
        // Pushed in reverse so that the stack pops them in sorted order.
        let mut subdirs = Vec::new();
        for name in names {
            let host_path = dir.join(&name);
            let shown = match &parent {
                Some(p) => format!("{p}/{}", name.to_string_lossy()),
                None => name.to_string_lossy().into_owned(),
            };
            let skip = |reason| Skipped {
                host: host_path.clone(),
                shown: shown.clone(),
                reason,
            };
            if stopped {
                // Past the entry cap nothing more is taken, so nothing more
                // is inspected: a run that leaves 100,000 files costs 20,000
                // stats, not 100,000.
                out.skipped.push(skip(RefusalReason::TooManyEntries));
                continue;
            }
            let meta =
                fs::symlink_metadata(&host_path).map_err(|e| format!("inspecting {shown}: {e}"))?;
            let ft = meta.file_type();
            let kind_refusal = if ft.is_symlink() {
                Some(RefusalReason::Symlink)
            } else if ft.is_file() || ft.is_dir() {
                None
            } else {
                // A FIFO, socket or device: WASI preview 1 reports them all
                // alike, and none is a file a kata needs.
                Some(RefusalReason::OtherType)
            };
            if let Some(reason) = kind_refusal {
                out.skipped.push(skip(reason));
                continue;
            }
            let path = match name
                .to_str()
                .ok_or(kata_types::PathError::NotUtf8)
                .and_then(|n| match &parent {
                    Some(p) => p.join(n),
                    None => SandboxPath::new(n),
                }) {
                Ok(path) => path,
                Err(error) => {
                    out.skipped.push(skip(RefusalReason::BadPath { error }));
                    continue;
                }
            };
            let len = if ft.is_dir() { 0 } else { meta.len() };
            match budget.admit(len) {
                Verdict::Admit => {}
                Verdict::Refuse(reason) => {
                    out.skipped.push(skip(reason));
                    continue;
                }
                Verdict::Stop(reason) => {
                    stopped = true;
                    out.skipped.push(skip(reason));
                    continue;
                }
            }
            let mtime = FileTime::from_last_modification_time(&meta);
            if ft.is_dir() {
                subdirs.push((host_path, Some(path.clone())));
            }
            out.found.push(Found {
                path,
                is_dir: ft.is_dir(),
                len,
                mtime,
            });
        }
        todo.extend(subdirs.into_iter().rev());
    }
    out.found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The names in `dir`, read with few, large `fd_readdir` calls.
///
/// std's `read_dir` asks for 128 bytes at a time, and wasmtime's preview 1
/// `fd_readdir` re-reads the directory from its start on every call to find
/// the cookie: together quadratic, a minute of guest time for a run that
/// leaves 100,000 files. One call with a buffer of [`READDIR_BUF`] bytes
/// returns thousands of entries.
#[cfg(target_os = "wasi")]
fn list(dir: &Path) -> std::io::Result<Vec<std::ffi::OsString>> {
    use std::os::fd::AsRawFd;
    use std::os::wasi::ffi::OsStringExt;

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn fd_readdir(fd: i32, buf: *mut u8, len: usize, cookie: u64, used: *mut usize) -> u16;
    }
    // d_next: u64, d_ino: u64, d_namlen: u32, d_type: u8, padding.
    const DIRENT: usize = 24;

    let handle = fs::File::open(dir)?;
    let mut buf = vec![0u8; READDIR_BUF];
    let mut names = Vec::new();
    let mut cookie = 0u64;
    loop {
        let mut used = 0usize;
        // SAFETY: the buffer is valid for `len` bytes and `used` for a write;
        // the fd is open for the duration of the call.
        let errno = unsafe {
            fd_readdir(
                handle.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
                cookie,
                &mut used,
            )
        };
        if errno != 0 {
            return Err(std::io::Error::from_raw_os_error(i32::from(errno)));
        }
        let mut at = 0;
        let mut progressed = false;
        while at + DIRENT <= used {
            let next = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
            let len = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
            if at + DIRENT + len > used {
                break; // cut short: read again from this entry's cookie
            }
            let name = &buf[at + DIRENT..at + DIRENT + len];
            if name != b"." && name != b".." {
                names.push(std::ffi::OsString::from_vec(name.to_vec()));
            }
            cookie = next;
            progressed = true;
            at += DIRENT + len;
        }
        if used < buf.len() {
            return Ok(names);
        }
        if !progressed {
            // One name longer than the whole buffer: grow it.
            buf.resize(buf.len() * 2, 0);
        }
    }
}

#[cfg(target_os = "wasi")]
const READDIR_BUF: usize = 1 << 20;

#[cfg(not(target_os = "wasi"))]
fn list(dir: &Path) -> std::io::Result<Vec<std::ffi::OsString>> {
    fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect()
}
