//! The guest against the `tar` crate run natively, side by side in one run.
//!
//! `cargo bench -p kata-wasi --bench guest`; results in docs/BENCHMARKS.md.

use std::fs;
use std::io::Read;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use kata_abi::{Limits, Timestamp};
use kata_types::Files;
use kata_wasi::{Guest, GuestConfig};

const FILES: usize = 200;
const BYTES: usize = 5_000_000;

/// 200 files, 5 MB in all, in 10 directories.
fn make_tree(dir: &Path) {
    let size = BYTES / FILES;
    for i in 0..FILES {
        let sub = dir.join(format!("d{}", i % 10));
        fs::create_dir_all(&sub).unwrap();
        let bytes: Vec<u8> = (0..size).map(|j| b'a' + ((i + j) % 26) as u8).collect();
        fs::write(sub.join(format!("f{i}.c")), bytes).unwrap();
    }
}

/// What the guest's pack+unpack does, with the `tar` crate on the host.
fn native_pack(dir: &Path) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut dirs: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for sub in dirs {
        let name = sub.file_name().unwrap().to_str().unwrap().to_owned();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        tar.append_data(&mut h, &name, &[][..]).unwrap();
        let mut files: Vec<_> = fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let meta = fs::symlink_metadata(&f).unwrap();
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(meta.len());
            h.set_mtime(
                filetime::FileTime::from_last_modification_time(&meta).unix_seconds() as u64,
            );
            let rel = format!("{name}/{}", f.file_name().unwrap().to_str().unwrap());
            tar.append_data(&mut h, rel, fs::File::open(&f).unwrap().take(meta.len()))
                .unwrap();
        }
    }
    tar.into_inner().unwrap()
}

fn native_unpack(dir: &Path, tar: &[u8]) {
    let mut archive = tar::Archive::new(tar);
    archive.set_preserve_mtime(true);
    archive.unpack(dir).unwrap();
}

fn bench(c: &mut Criterion) {
    let guest = Guest::new(GuestConfig::default()).unwrap();
    let src = tempfile::tempdir().unwrap();
    make_tree(src.path());
    let limits = Limits::default();

    let mut g = c.benchmark_group("pack+unpack 200 files, 5 MB");
    g.sample_size(30);
    g.bench_function("guest (wasmtime)", |b| {
        b.iter(|| {
            let dst = tempfile::tempdir().unwrap();
            let packed = guest.pack_dir(src.path(), &limits).unwrap();
            guest.unpack(dst.path(), &packed.tar, &limits).unwrap();
        })
    });
    g.bench_function("native tar crate", |b| {
        b.iter(|| {
            let dst = tempfile::tempdir().unwrap();
            let tar = native_pack(src.path());
            native_unpack(dst.path(), &tar);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("guest call");
    let empty = Files::new();
    g.bench_function("instantiate + trivial call", |b| {
        b.iter(|| guest.pack_files(&empty, Timestamp::now()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
