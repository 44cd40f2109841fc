//! Shared fixtures: one compiled guest per test process, trees on disk,
//! tars crafted natively (test input only: the code under test is the guest).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use filetime::FileTime;
use kata_types::{Files, SandboxPath};
use kata_wasi::{Guest, GuestConfig};

pub static GUEST: LazyLock<Guest> =
    LazyLock::new(|| Guest::new(GuestConfig::default()).expect("the guest compiles"));

pub fn guest() -> &'static Guest {
    &GUEST
}

pub fn p(s: &str) -> SandboxPath {
    SandboxPath::new(s).unwrap()
}

pub fn files(pairs: &[(&str, &str)]) -> Files {
    pairs.iter().map(|(k, v)| (p(k), (*v).to_owned())).collect()
}

/// A kata directory inside a parent that also holds a sentinel file: what
/// escapes the kata directory lands beside the sentinel, or changes it.
pub struct Kata {
    pub root: tempfile::TempDir,
}

impl Kata {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("parent/kata")).unwrap();
        fs::write(root.path().join("parent/sentinel"), "untouched").unwrap();
        fs::create_dir_all(root.path().join("parent/sibling-kata")).unwrap();
        fs::write(root.path().join("parent/sibling-kata/secret"), "secret").unwrap();
        Self { root }
    }

    pub fn dir(&self) -> PathBuf {
        self.root.path().join("parent/kata")
    }

    /// Everything outside the kata directory is as it was made.
    pub fn assert_nothing_escaped(&self) {
        let outside = tree(self.root.path());
        let mut expected = BTreeMap::new();
        expected.insert("parent/sentinel".to_owned(), b"untouched".to_vec());
        expected.insert("parent/sibling-kata/secret".to_owned(), b"secret".to_vec());
        let outside: BTreeMap<_, _> = outside
            .into_iter()
            .filter(|(k, _)| !k.starts_with("parent/kata/") && k != "parent/kata")
            .map(|(k, (bytes, _))| (k, bytes))
            .collect();
        assert_eq!(outside, expected, "something was written outside the kata");
        assert_eq!(
            fs::read_to_string("/etc/passwd")
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .split(':')
                .next(),
            Some("root"),
            "/etc/passwd was touched"
        );
    }
}

/// Regular files under `dir`: relative path → (bytes, mtime). Links are
/// listed as "-> target" so a test sees them.
pub fn tree(dir: &Path) -> BTreeMap<String, (Vec<u8>, FileTime)> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (Vec<u8>, FileTime)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let meta = fs::symlink_metadata(&path).unwrap();
        let mtime = FileTime::from_last_modification_time(&meta);
        if meta.is_dir() {
            walk(root, &path, out);
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).unwrap();
            out.insert(
                rel,
                (format!("-> {}", target.display()).into_bytes(), mtime),
            );
        } else {
            out.insert(rel, (fs::read(&path).unwrap_or_default(), mtime));
        }
    }
}

/// Writes `files` under `dir` natively, each with its own mtime.
pub fn write_tree(dir: &Path, files: &BTreeMap<String, (Vec<u8>, i64)>) {
    for (rel, (bytes, secs)) in files {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        filetime::set_file_mtime(&path, FileTime::from_unix_time(*secs, 0)).unwrap();
    }
}

/// Builds a tar entry by entry, as hostile code could.
pub struct TarBuilder(tar::Builder<Vec<u8>>);

impl TarBuilder {
    pub fn new() -> Self {
        Self(tar::Builder::new(Vec::new()))
    }

    fn header(kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(1_600_000_000);
        h
    }

    pub fn file(mut self, name: &str, content: &[u8]) -> Self {
        self.file_with(name, content, 0o644, 1_600_000_000);
        self
    }

    pub fn file_with(&mut self, name: &str, content: &[u8], mode: u32, mtime: u64) {
        let mut h = Self::header(tar::EntryType::Regular, content.len() as u64);
        h.set_mode(mode);
        h.set_mtime(mtime);
        // `append_data` would refuse `..` itself: write the raw name.
        self.raw_name(&mut h, name.as_bytes());
        self.0.append(&h, content).unwrap();
    }

    /// A file whose name is any bytes, UTF-8 or not.
    pub fn file_raw(&mut self, name: &[u8], content: &[u8]) {
        let mut h = Self::header(tar::EntryType::Regular, content.len() as u64);
        self.raw_name(&mut h, name);
        self.0.append(&h, content).unwrap();
    }

    pub fn dir(mut self, name: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Directory, 0);
        h.set_mode(0o755);
        self.raw_name(&mut h, name.as_bytes());
        self.0.append(&h, &[][..]).unwrap();
        self
    }

    pub fn link(mut self, kind: tar::EntryType, name: &str, target: &str) -> Self {
        let mut h = Self::header(kind, 0);
        h.set_link_name_literal(target).unwrap();
        self.raw_name(&mut h, name.as_bytes());
        self.0.append(&h, &[][..]).unwrap();
        self
    }

    pub fn special(mut self, kind: tar::EntryType, name: &str) -> Self {
        let mut h = Self::header(kind, 0);
        self.raw_name(&mut h, name.as_bytes());
        self.0.append(&h, &[][..]).unwrap();
        self
    }

    /// A name of any bytes: short ones in the header, long ones in a GNU
    /// long-name entry, as GNU tar writes them.
    fn raw_name(&mut self, h: &mut tar::Header, name: &[u8]) {
        if name.len() <= 100 {
            h.as_old_mut().name = [0; 100];
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
        } else {
            let mut long = tar::Header::new_gnu();
            long.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
            long.set_entry_type(tar::EntryType::GNULongName);
            long.set_mode(0o644);
            let mut data = name.to_vec();
            data.push(0);
            long.set_size(data.len() as u64);
            long.set_cksum();
            self.0.append(&long, &data[..]).unwrap();
            h.as_old_mut().name = [0; 100];
            h.as_old_mut().name[..100].copy_from_slice(&name[..100]);
        }
        h.set_cksum();
    }

    pub fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

/// The entries of a tar: name → (type, bytes, mode, mtime).
pub fn tar_entries(tar: &[u8]) -> BTreeMap<String, (tar::EntryType, Vec<u8>, u32, u64)> {
    use std::io::Read;
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let h = entry.header().clone();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.insert(
            name,
            (h.entry_type(), bytes, h.mode().unwrap(), h.mtime().unwrap()),
        );
    }
    out
}
