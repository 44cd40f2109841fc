//! Unpacks the one tar the wrapper writes on stdout (see [`crate::wrapper`])
//! into the script's status, stdout, stderr and a tar of `/sandbox`.
//!
//! It reads the stream as it arrives and keeps only what fits the caps: an
//! entry too big to fit is skipped, not buffered, so the files after a
//! 100 MB file still come back and a hostile stream costs at most the caps.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use tar::EntryType;

use crate::wrapper::{OUT_PREFIX, SANDBOX_PREFIX};
use crate::{Caps, Captured};

/// What the wrapper's tar held.
#[derive(Debug)]
pub(crate) struct Harvest {
    pub status: i32,
    pub stdout: Captured,
    pub stderr: Captured,
    /// `None` when the wrapper was not asked to archive `/sandbox`.
    pub sandbox_tar: Option<Vec<u8>>,
    pub sandbox_tar_truncated: bool,
}

/// Reads the wrapper's tar from `stream` to its end-of-archive marker.
pub(crate) fn harvest(
    stream: impl Read,
    caps: Caps,
    with_sandbox: bool,
) -> Result<Harvest, String> {
    let mut status = None;
    let mut stdout = None;
    let mut stderr = None;
    let mut sandbox = with_sandbox.then(|| Repacker::new(caps.sandbox_tar));
    let mut cut = false;

    let mut archive = tar::Archive::new(stream);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar stream: {e}"))?;
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            // A stream that ends mid-entry (the wrapper's tar died): the
            // entries before the cut are still good.
            Err(_) => {
                cut = true;
                break;
            }
        };
        let path = entry.path_bytes().into_owned();
        if let Some(name) = path.strip_prefix(OUT_PREFIX.as_bytes()) {
            if entry.header().entry_type() != EntryType::Regular {
                continue;
            }
            match name {
                b"status" => status = Some(read_status(&mut entry)?),
                b"stdout" => stdout = Some(read_capped(&mut entry, caps.stdout)?),
                b"stderr" => stderr = Some(read_capped(&mut entry, caps.stderr)?),
                _ => {}
            }
        } else if let (Some(rel), Some(repacker)) = (
            path.strip_prefix(SANDBOX_PREFIX.as_bytes()),
            sandbox.as_mut(),
        ) && !rel.is_empty()
        {
            repacker
                .add(rel, &mut entry)
                .map_err(|e| format!("repacking {}: {e}", String::from_utf8_lossy(rel)))?;
        }
    }

    let missing = |what| format!("the wrapper's {what} file is missing");
    let status = status.ok_or_else(|| missing("status"))?;
    let stdout = stdout.ok_or_else(|| missing("stdout"))?;
    let stderr = stderr.ok_or_else(|| missing("stderr"))?;
    let (sandbox_tar, sandbox_tar_truncated) = match sandbox {
        Some(r) => {
            let (tar, skipped) = r.finish().map_err(|e| format!("repacking: {e}"))?;
            (Some(tar), skipped || cut)
        }
        None => (None, false),
    };
    Ok(Harvest {
        status,
        stdout,
        stderr,
        sandbox_tar,
        sandbox_tar_truncated,
    })
}

fn read_status(entry: &mut impl Read) -> Result<i32, String> {
    let mut text = String::new();
    entry
        .take(16)
        .read_to_string(&mut text)
        .map_err(|e| format!("reading the status: {e}"))?;
    text.trim()
        .parse()
        .map_err(|_| format!("the status {text:?} is not a number"))
}

fn read_capped(entry: &mut impl Read, cap: usize) -> Result<Captured, String> {
    let mut bytes = Vec::new();
    entry
        .take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading output: {e}"))?;
    let truncated = bytes.len() > cap;
    bytes.truncate(cap);
    Ok(Captured { bytes, truncated })
}

/// Re-emits `sandbox/...` entries without the `sandbox/` prefix, keeping
/// their headers (mode, uid, gid, mtime), within a byte budget.
struct Repacker {
    builder: tar::Builder<Vec<u8>>,
    cap: usize,
    skipped: bool,
}

/// Two zero blocks end an archive.
const TRAILER: usize = 1024;

impl Repacker {
    fn new(cap: usize) -> Self {
        Self {
            builder: tar::Builder::new(Vec::new()),
            cap,
            skipped: false,
        }
    }

    fn add<R: Read>(&mut self, rel: &[u8], entry: &mut tar::Entry<'_, R>) -> std::io::Result<()> {
        let mut header = entry.header().clone();
        let size = header.entry_size()? as usize;
        let before = self.builder.get_ref().len();
        // Checked before reading, so one huge file never enters memory.
        if before + 512 + size.div_ceil(512) * 512 + TRAILER > self.cap {
            self.skipped = true;
            return Ok(());
        }
        let path = bytes_path(rel);
        let written = match header.entry_type() {
            EntryType::Regular | EntryType::Continuous => {
                let mut counted = Counted { inner: entry, n: 0 };
                let appended = self.builder.append_data(&mut header, &path, &mut counted);
                // A stream cut inside this entry reads short without an
                // error; the header would then promise bytes that are not there.
                match appended {
                    Ok(()) if counted.n != size as u64 => Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the stream ends inside this file",
                    )),
                    other => other,
                }
            }
            EntryType::Directory | EntryType::Fifo => {
                header.set_size(0);
                self.builder
                    .append_data(&mut header, &path, std::io::empty())
            }
            EntryType::Symlink => match entry.link_name_bytes() {
                Some(target) => {
                    let target = bytes_path(&target).into_owned();
                    self.builder.append_link(&mut header, &path, target)
                }
                None => Ok(()),
            },
            // A hard link names its target by its archive path, which carries
            // the prefix too; one pointing elsewhere is dropped.
            EntryType::Link => match entry.link_name_bytes() {
                Some(target) => match target.strip_prefix(SANDBOX_PREFIX.as_bytes()) {
                    Some(t) if !t.is_empty() => {
                        let target = bytes_path(t).into_owned();
                        self.builder.append_link(&mut header, &path, target)
                    }
                    _ => Ok(()),
                },
                None => Ok(()),
            },
            _ => Ok(()),
        };
        if let Err(e) = written {
            // A name the tar crate refuses to write: leave it out, say so.
            self.builder.get_mut().truncate(before);
            self.skipped = true;
            tracing::debug!("left out of the sandbox tar: {e}");
            return Ok(());
        }
        if self.builder.get_ref().len() + TRAILER > self.cap {
            self.builder.get_mut().truncate(before);
            self.skipped = true;
        }
        Ok(())
    }

    fn finish(self) -> std::io::Result<(Vec<u8>, bool)> {
        let skipped = self.skipped;
        Ok((self.builder.into_inner()?, skipped))
    }
}

struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

fn bytes_path(bytes: &[u8]) -> Cow<'_, Path> {
    use std::os::unix::ffi::OsStrExt;
    Cow::Borrowed(Path::new(std::ffi::OsStr::from_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_uid(41966);
        h.set_gid(51966);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(EntryType::Regular);
        b.append_data(&mut h, path, data).unwrap();
    }

    fn dir(b: &mut tar::Builder<Vec<u8>>, path: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, path, std::io::empty()).unwrap();
    }

    fn wrapper_tar(stdout: &[u8], sandbox: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        dir(&mut b, "tmp/.kata-runner/out/");
        file(&mut b, "tmp/.kata-runner/out/status", b"2\n", 0o644);
        file(&mut b, "tmp/.kata-runner/out/stdout", stdout, 0o644);
        file(&mut b, "tmp/.kata-runner/out/stderr", b"err", 0o644);
        dir(&mut b, "sandbox/");
        for (path, data) in sandbox {
            file(&mut b, &format!("sandbox/{path}"), data, 0o644);
        }
        b.into_inner().unwrap()
    }

    fn entries(tar: &[u8]) -> Vec<(String, Vec<u8>, u32, u64)> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().display().to_string();
                let mode = e.header().mode().unwrap();
                let uid = e.header().uid().unwrap();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (path, data, mode, uid)
            })
            .collect()
    }

    const CAPS: Caps = Caps {
        stdout: 10,
        stderr: 10,
        sandbox_tar: 64 * 1024,
    };

    #[test]
    fn splits_results_from_the_sandbox_and_strips_the_prefix() {
        let raw = wrapper_tar(
            b"hello",
            &[("cyber-dojo.sh", b"make"), ("stdout", b"a file")],
        );
        let h = harvest(&raw[..], CAPS, true).unwrap();
        assert_eq!(h.status, 2);
        assert_eq!(
            h.stdout,
            Captured {
                bytes: b"hello".to_vec(),
                truncated: false
            }
        );
        assert_eq!(h.stderr.bytes, b"err");
        let files = entries(h.sandbox_tar.as_ref().unwrap());
        assert_eq!(
            files,
            vec![
                ("cyber-dojo.sh".into(), b"make".to_vec(), 0o644, 41966),
                ("stdout".into(), b"a file".to_vec(), 0o644, 41966),
            ]
        );
        assert!(!h.sandbox_tar_truncated);
    }

    #[test]
    fn output_past_the_cap_is_cut_and_reported() {
        let raw = wrapper_tar(b"0123456789X", &[]);
        let h = harvest(&raw[..], CAPS, true).unwrap();
        assert_eq!(h.stdout.bytes, b"0123456789");
        assert!(h.stdout.truncated);
    }

    #[test]
    fn files_past_the_tar_cap_are_left_out_and_reported() {
        let big = vec![b'x'; 100 * 1024];
        let raw = wrapper_tar(b"", &[("a", b"1"), ("big", &big), ("c", b"3")]);
        let h = harvest(&raw[..], CAPS, true).unwrap();
        let names: Vec<_> = entries(h.sandbox_tar.as_ref().unwrap())
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(names, ["a", "c"]);
        assert!(h.sandbox_tar_truncated);
        assert!(h.sandbox_tar.unwrap().len() <= CAPS.sandbox_tar);
    }

    #[test]
    fn a_stream_cut_mid_entry_keeps_what_came_before() {
        let raw = wrapper_tar(b"out", &[("a", b"1"), ("b", &[b'y'; 5000])]);
        let cut = &raw[..raw.len() - 3000];
        let h = harvest(cut, CAPS, true).unwrap();
        let names: Vec<_> = entries(h.sandbox_tar.as_ref().unwrap())
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(names, ["a"]);
        assert!(h.sandbox_tar_truncated);
    }

    #[test]
    fn long_names_survive_repacking() {
        let long = format!("{}/{}.txt", "d".repeat(120), "f".repeat(120));
        let raw = wrapper_tar(b"", &[(&long, b"x")]);
        let h = harvest(&raw[..], CAPS, true).unwrap();
        assert_eq!(entries(h.sandbox_tar.as_ref().unwrap())[0].0, long);
    }

    #[test]
    fn missing_results_are_an_error() {
        let mut b = tar::Builder::new(Vec::new());
        file(&mut b, "sandbox/x", b"1", 0o644);
        let err = harvest(&b.into_inner().unwrap()[..], CAPS, true).unwrap_err();
        assert!(err.contains("status"), "{err}");
        assert!(harvest(&b"garbage"[..], CAPS, true).is_err());
    }

    #[test]
    fn bind_mode_returns_no_tar() {
        let raw = wrapper_tar(b"out", &[("a", b"1")]);
        let h = harvest(&raw[..], CAPS, false).unwrap();
        assert!(h.sandbox_tar.is_none());
        assert!(!h.sandbox_tar_truncated);
    }
}
