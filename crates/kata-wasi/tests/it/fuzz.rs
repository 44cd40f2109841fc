//! Fuzzing the guest's tar reading at scale, through the real guest in real
//! wasmtime: `unpack`, `harvest_tar` (with and without a baseline),
//! `sync_tar`, and `harvest_dir` on what `unpack` left.
//!
//! Tars are generated from a structured spec (every entry type, every way of
//! carrying a name, odd numeric fields), then, in `mutated_tars`, mutated at
//! the byte level (bit flips, truncation, splicing, header fields rewritten
//! with the checksum recomputed so the change gets past the checksum check).
//!
//! Knobs (environment): `KATA_FUZZ_CASES` (cases per test, default
//! [`DEFAULT_CASES`]), `KATA_FUZZ_SEED` (replay a run: the seed is printed at
//! the start and in every failure). A failing case is also persisted by
//! proptest next to this file and its tar written to
//! `target/tmp/kata-fuzz-failure-<test>.tar`. See `docs/FUZZING.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kata_abi::{Delta, Limits, RefusalReason, Report, Timestamp};
use kata_types::{FileContent, Files, SandboxPath, is_text};
use kata_wasi::GuestError;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{
    Config, FileFailurePersistence, RngSeed, TestCaseError, TestCaseResult, TestRunner,
};

use crate::support::{TarBuilder, guest};

/// Cases per test when `KATA_FUZZ_CASES` is not set: about 25 s for both
/// tests side by side in a debug build on two busy cores (40 cases/s each).
const DEFAULT_CASES: u32 = 1000;

// ---------------------------------------------------------------------------
// The tar spec: what a hostile tar writer controls.

/// A numeric header field as written.
#[derive(Debug, Clone)]
enum Num {
    /// Octal ASCII, NUL-terminated; too many digits overflow the field.
    Octal(u64),
    /// GNU base-256: high bit set, big-endian binary.
    Base256(u64),
    /// Whatever bytes.
    Raw(Vec<u8>),
}

fn auto(v: u64) -> Num {
    if v < 8u64.pow(11) {
        Num::Octal(v)
    } else {
        Num::Base256(v)
    }
}

/// How an entry's name (and link target) travels.
#[derive(Debug, Clone, Copy)]
enum Carry {
    /// In the header's 100-byte name field (cut there).
    Short,
    /// ustar prefix + name (up to 255 bytes).
    UstarPrefix,
    /// A GNU `L` (and `K`) entry before the header.
    GnuLong,
    /// A PAX `x` entry with `path=` (and `linkpath=`).
    Pax,
    /// Both: the tar reader must pick one.
    PaxAndGnu,
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Gnu,
    Ustar,
    V7,
}

/// A file's data.
#[derive(Debug, Clone)]
enum Body {
    Bytes(Vec<u8>),
    /// `max_file_bytes` + this many bytes (-1, 0, 1): at and around the cap.
    AroundCap(i8),
    /// The header declares `declared` bytes, the stream carries `actual`.
    Short {
        declared: u64,
        actual: Vec<u8>,
    },
}

#[derive(Debug, Clone)]
enum Kind {
    File(Body),
    /// Typeflag NUL: a regular file for pre-POSIX tars.
    OldFile(Body),
    /// Typeflag `7`.
    Contiguous(Body),
    Dir,
    Symlink(Vec<u8>),
    HardLink(Vec<u8>),
    Char,
    Block,
    Fifo,
    Sparse(Sparse),
    /// Any other typeflag, with a body.
    Other(u8, Vec<u8>),
}

/// A GNU sparse (`S`) entry: map in the header, more maps in extension
/// blocks, then the data.
#[derive(Debug, Clone)]
struct Sparse {
    map: Vec<(Num, Num)>,
    real_size: Num,
    extensions: Vec<Vec<(Num, Num)>>,
    data: Vec<u8>,
}

/// A PAX record: well-formed `key=value`, or raw bytes.
#[derive(Debug, Clone)]
enum Pax {
    Kv(String, Vec<u8>),
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
struct EntrySpec {
    name: Vec<u8>,
    carry: Carry,
    format: Format,
    kind: Kind,
    mode: Num,
    mtime: Num,
    uid: Num,
    /// Extra records for a PAX header before this entry.
    pax: Vec<Pax>,
}

#[derive(Debug, Clone)]
struct TarSpec {
    global: Option<Vec<Pax>>,
    entries: Vec<EntrySpec>,
    /// Zero blocks at the end: 2 is proper, 0 and 1 are not.
    end_blocks: usize,
}

/// A header field a mutation can rewrite.
#[derive(Debug, Clone, Copy)]
enum Field {
    Name,
    Mode,
    Uid,
    Size,
    Mtime,
    Typeflag,
    Linkname,
    Magic,
    Prefix,
    SparseMap,
    RealSize,
    IsExtended,
}

impl Field {
    fn range(self) -> std::ops::Range<usize> {
        match self {
            Field::Name => 0..100,
            Field::Mode => 100..108,
            Field::Uid => 108..116,
            Field::Size => 124..136,
            Field::Mtime => 136..148,
            Field::Typeflag => 156..157,
            Field::Linkname => 157..257,
            Field::Magic => 257..265,
            Field::Prefix => 345..500,
            Field::SparseMap => 386..482,
            Field::IsExtended => 482..483,
            Field::RealSize => 483..495,
        }
    }
}

#[derive(Debug, Clone)]
enum Value {
    Num(Num),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    /// A bit of a header block, the checksum fixed or not.
    FlipHeaderBit {
        header: Index,
        at: Index,
        bit: u8,
        fix: bool,
    },
    /// A field rewritten, the checksum recomputed.
    Rewrite {
        header: Index,
        field: Field,
        value: Value,
    },
    /// The checksum field itself set to garbage.
    BadChecksum(Index, Vec<u8>),
    Truncate(Index),
    /// A block of the other tar put over (or before) one of this one.
    Splice {
        from: Index,
        to: Index,
        replace: bool,
    },
    ZeroBlock(Index),
    DupBlock(Index),
    TrailingGarbage(Vec<u8>),
    /// The end-of-archive blocks removed.
    DropEnd,
}

#[derive(Debug, Clone)]
struct LimitsSpec {
    max_entries: u64,
    max_file_bytes: u64,
    max_total_bytes: u64,
    text_cap: usize,
    max_created: usize,
}

impl LimitsSpec {
    fn limits(&self) -> Limits {
        Limits {
            max_entries: self.max_entries,
            max_total_bytes: self.max_total_bytes,
            max_file_bytes: self.max_file_bytes,
            text_cap: self.text_cap,
            max_created: self.max_created,
        }
    }
}

/// One fuzz case: a tar, how to mangle it, and the rest of each call's input.
#[derive(Debug, Clone)]
struct Case {
    limits: LimitsSpec,
    tar: TarSpec,
    other: TarSpec,
    mutations: Vec<Mutation>,
    baseline: Files,
    client: Files,
    previous: BTreeSet<SandboxPath>,
    sync_time: i64,
    /// Files already in the kata directory before `unpack`.
    existing: Vec<(SandboxPath, Vec<u8>)>,
    /// A link planted in the kata directory before `unpack`.
    planted_link: Option<(String, String)>,
}

// ---------------------------------------------------------------------------
// Serialising a spec.

struct Out {
    bytes: Vec<u8>,
    headers: Vec<usize>,
}

impl Out {
    fn header(&mut self, block: [u8; 512]) {
        self.headers.push(self.bytes.len());
        self.bytes.extend_from_slice(&block);
    }

    fn data(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.bytes.extend(std::iter::repeat_n(0, pad));
    }
}

fn put(block: &mut [u8], range: std::ops::Range<usize>, bytes: &[u8]) {
    let field = &mut block[range];
    field.fill(0);
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
}

fn put_num(block: &mut [u8], range: std::ops::Range<usize>, num: &Num) {
    let len = range.len();
    let field = &mut block[range];
    field.fill(0);
    match num {
        Num::Octal(v) => {
            let s = format!("{v:0w$o}", w = len - 1);
            let n = s.len().min(len);
            field[..n].copy_from_slice(&s.as_bytes()[..n]);
        }
        Num::Base256(v) => {
            let be = v.to_be_bytes();
            if len >= 8 {
                field[len - 8..].copy_from_slice(&be);
            } else {
                field.copy_from_slice(&be[8 - len..]);
            }
            field[0] |= 0x80;
        }
        Num::Raw(bytes) => {
            let n = bytes.len().min(len);
            field[..n].copy_from_slice(&bytes[..n]);
        }
    }
}

fn fix_checksum(block: &mut [u8]) {
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|b| u32::from(*b)).sum();
    let s = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(&s.as_bytes()[..8]);
}

fn magic(block: &mut [u8], format: Format) {
    match format {
        Format::Gnu => put(block, 257..265, b"ustar  \0"),
        Format::Ustar => put(block, 257..265, b"ustar\x0000"),
        Format::V7 => {}
    }
}

fn pax_bytes(records: &[Pax]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        match r {
            Pax::Kv(k, v) => {
                // "<len> <key>=<value>\n", the length counting itself.
                let rest = 1 + k.len() + 1 + v.len() + 1;
                let mut len = rest + 1;
                while len != rest + len.to_string().len() {
                    len = rest + len.to_string().len();
                }
                out.extend_from_slice(format!("{len} {k}=").as_bytes());
                out.extend_from_slice(v);
                out.push(b'\n');
            }
            Pax::Raw(bytes) => out.extend_from_slice(bytes),
        }
    }
    out
}

/// A GNU `L`/`K` or PAX `x`/`g` entry carrying `data`.
fn extension(out: &mut Out, typeflag: u8, format: Format, data: &[u8]) {
    let mut h = [0u8; 512];
    let name: &[u8] = if matches!(typeflag, b'L' | b'K') {
        b"././@LongLink"
    } else {
        b"PaxHeaders/entry"
    };
    put(&mut h, 0..100, name);
    put_num(&mut h, 100..108, &Num::Octal(0o644));
    put_num(&mut h, 108..116, &Num::Octal(0));
    put_num(&mut h, 116..124, &Num::Octal(0));
    put_num(&mut h, 124..136, &auto(data.len() as u64));
    put_num(&mut h, 136..148, &Num::Octal(0));
    h[156] = typeflag;
    magic(&mut h, format);
    fix_checksum(&mut h);
    out.header(h);
    out.data(data);
}

fn body_bytes(body: &Body, limits: &Limits) -> (u64, Vec<u8>) {
    match body {
        Body::Bytes(b) => (b.len() as u64, b.clone()),
        Body::AroundCap(d) => {
            let n = (limits.max_file_bytes as i64 + i64::from(*d)).max(0) as usize;
            let data: Vec<u8> = b"cap\n".iter().copied().cycle().take(n).collect();
            (n as u64, data)
        }
        Body::Short { declared, actual } => (*declared, actual.clone()),
    }
}

fn build(spec: &TarSpec, limits: &Limits) -> Out {
    let mut out = Out {
        bytes: Vec::new(),
        headers: Vec::new(),
    };
    if let Some(global) = &spec.global {
        extension(&mut out, b'g', Format::Ustar, &pax_bytes(global));
    }
    for e in &spec.entries {
        entry(&mut out, e, limits);
    }
    out.bytes
        .extend(std::iter::repeat_n(0, 512 * spec.end_blocks));
    out
}

fn entry(out: &mut Out, e: &EntrySpec, limits: &Limits) {
    let link = match &e.kind {
        Kind::Symlink(t) | Kind::HardLink(t) => Some(t.as_slice()),
        _ => None,
    };
    let gnu = matches!(e.carry, Carry::GnuLong | Carry::PaxAndGnu);
    let pax = matches!(e.carry, Carry::Pax | Carry::PaxAndGnu);
    let mut records = e.pax.clone();
    if pax {
        records.push(Pax::Kv("path".into(), e.name.clone()));
        if let Some(t) = link {
            records.push(Pax::Kv("linkpath".into(), t.to_vec()));
        }
    }
    if !records.is_empty() {
        extension(out, b'x', Format::Ustar, &pax_bytes(&records));
    }
    if gnu {
        let mut name = e.name.clone();
        name.push(0);
        extension(out, b'L', Format::Gnu, &name);
        if let Some(t) = link.filter(|t| t.len() > 100) {
            let mut t = t.to_vec();
            t.push(0);
            extension(out, b'K', Format::Gnu, &t);
        }
    }

    let mut h = [0u8; 512];
    let split = matches!(e.carry, Carry::UstarPrefix) && e.name.len() > 100;
    match split.then(|| ustar_split(&e.name)).flatten() {
        Some((prefix, name)) => {
            put(&mut h, 0..100, name);
            put(&mut h, 345..500, prefix);
        }
        None => put(&mut h, 0..100, &e.name),
    }
    put_num(&mut h, 100..108, &e.mode);
    put_num(&mut h, 108..116, &e.uid);
    put_num(&mut h, 116..124, &Num::Octal(51966));
    put_num(&mut h, 136..148, &e.mtime);
    put(&mut h, 265..297, b"fuzz");
    let (typeflag, size, data): (u8, u64, Vec<u8>) = match &e.kind {
        Kind::File(b) => {
            let (n, d) = body_bytes(b, limits);
            (b'0', n, d)
        }
        Kind::OldFile(b) => {
            let (n, d) = body_bytes(b, limits);
            (0, n, d)
        }
        Kind::Contiguous(b) => {
            let (n, d) = body_bytes(b, limits);
            (b'7', n, d)
        }
        Kind::Dir => (b'5', 0, vec![]),
        Kind::Symlink(t) => {
            put(&mut h, 157..257, t);
            (b'2', 0, vec![])
        }
        Kind::HardLink(t) => {
            put(&mut h, 157..257, t);
            (b'1', 0, vec![])
        }
        Kind::Char => (b'3', 0, vec![]),
        Kind::Block => (b'4', 0, vec![]),
        Kind::Fifo => (b'6', 0, vec![]),
        Kind::Sparse(s) => {
            for (i, (off, len)) in s.map.iter().take(4).enumerate() {
                let at = 386 + i * 24;
                put_num(&mut h, at..at + 12, off);
                put_num(&mut h, at + 12..at + 24, len);
            }
            h[482] = u8::from(!s.extensions.is_empty());
            put_num(&mut h, 483..495, &s.real_size);
            (b'S', s.data.len() as u64, s.data.clone())
        }
        Kind::Other(t, d) => (*t, d.len() as u64, d.clone()),
    };
    h[156] = typeflag;
    put_num(&mut h, 124..136, &auto(size));
    // A sparse entry needs a GNU header; everything else takes the spec's.
    let format = if matches!(e.kind, Kind::Sparse(_)) {
        Format::Gnu
    } else {
        e.format
    };
    magic(&mut h, format);
    fix_checksum(&mut h);
    out.header(h);
    if let Kind::Sparse(s) = &e.kind {
        let n = s.extensions.len();
        for (i, ext) in s.extensions.iter().enumerate() {
            let mut b = [0u8; 512];
            for (j, (off, len)) in ext.iter().take(21).enumerate() {
                let at = j * 24;
                put_num(&mut b, at..at + 12, off);
                put_num(&mut b, at + 12..at + 24, len);
            }
            b[504] = u8::from(i + 1 < n);
            out.bytes.extend_from_slice(&b);
        }
    }
    out.data(&data);
}

/// Splits a long name at a `/` into a ustar prefix (≤ 155) and name (≤ 100).
fn ustar_split(name: &[u8]) -> Option<(&[u8], &[u8])> {
    (0..name.len())
        .rev()
        .filter(|i| name[*i] == b'/')
        .find(|i| *i <= 155 && name.len() - i - 1 <= 100)
        .map(|i| (&name[..i], &name[i + 1..]))
}

fn mutate(bytes: &mut Vec<u8>, headers: &[usize], other: &[u8], m: &Mutation) {
    let blocks = |len: usize| len.div_ceil(512).max(1);
    let header_at = |i: &Index, len: usize| -> Option<usize> {
        let h = *i.get(headers);
        (h + 512 <= len).then_some(h)
    };
    match m {
        Mutation::FlipBit(at, bit) if !bytes.is_empty() => {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << (bit % 8);
        }
        Mutation::FlipBit(..) => {}
        Mutation::FlipHeaderBit {
            header,
            at,
            bit,
            fix,
        } if !headers.is_empty() => {
            if let Some(h) = header_at(header, bytes.len()) {
                bytes[h + at.index(512)] ^= 1 << (bit % 8);
                if *fix {
                    fix_checksum(&mut bytes[h..h + 512]);
                }
            }
        }
        Mutation::Rewrite {
            header,
            field,
            value,
        } if !headers.is_empty() => {
            if let Some(h) = header_at(header, bytes.len()) {
                let block = &mut bytes[h..h + 512];
                let range = field.range();
                match value {
                    Value::Num(n) => put_num(block, range, n),
                    Value::Bytes(b) => put(block, range, b),
                }
                fix_checksum(block);
            }
        }
        Mutation::BadChecksum(header, garbage) if !headers.is_empty() => {
            if let Some(h) = header_at(header, bytes.len()) {
                put(&mut bytes[h..h + 512], 148..156, garbage);
            }
        }
        Mutation::FlipHeaderBit { .. } | Mutation::Rewrite { .. } | Mutation::BadChecksum(..) => {}
        Mutation::Truncate(at) => {
            let at = at.index(bytes.len() + 1);
            bytes.truncate(at);
        }
        Mutation::Splice { from, to, replace } => {
            let src = from.index(blocks(other.len())) * 512;
            let mut block = [0u8; 512];
            let n = other.len().saturating_sub(src).min(512);
            block[..n].copy_from_slice(&other[src..src + n]);
            let dst = (to.index(blocks(bytes.len())) * 512).min(bytes.len());
            if *replace {
                let end = (dst + 512).min(bytes.len());
                bytes.splice(dst..end, block);
            } else {
                bytes.splice(dst..dst, block);
            }
        }
        Mutation::ZeroBlock(at) => {
            let dst = (at.index(blocks(bytes.len())) * 512).min(bytes.len());
            let end = (dst + 512).min(bytes.len());
            bytes[dst..end].fill(0);
        }
        Mutation::DupBlock(at) => {
            let dst = (at.index(blocks(bytes.len())) * 512).min(bytes.len());
            let end = (dst + 512).min(bytes.len());
            let block = bytes[dst..end].to_vec();
            bytes.splice(dst..dst, block);
        }
        Mutation::TrailingGarbage(g) => bytes.extend_from_slice(g),
        Mutation::DropEnd => {
            while bytes.len() >= 512 && bytes[bytes.len() - 512..].iter().all(|b| *b == 0) {
                bytes.truncate(bytes.len() - 512);
            }
        }
    }
}

impl Case {
    fn tar(&self) -> Vec<u8> {
        let limits = self.limits.limits();
        let mut out = build(&self.tar, &limits);
        if !self.mutations.is_empty() {
            let other = build(&self.other, &limits).bytes;
            for m in &self.mutations {
                mutate(&mut out.bytes, &out.headers, &other, m);
            }
        }
        out.bytes
    }
}

// ---------------------------------------------------------------------------
// Strategies.

/// Valid names, few enough that entries share them (duplicates, a file and a
/// directory of the same name, a file under a file).
const POOL: &[&str] = &[
    "a",
    "b",
    "c.txt",
    "a/b",
    "a/c.txt",
    "a/b/c",
    "d/e",
    "cyber-dojo.sh",
];

fn pool_path() -> impl Strategy<Value = SandboxPath> {
    select(POOL).prop_map(|s| SandboxPath::new(s).unwrap())
}

fn hostile_names() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        &b".."[..],
        b"../escape",
        b"../../escape",
        b"../sentinel",
        b"../other-kata/secret",
        b"a/../../escape",
        b"./../escape",
        b"a/b/../../..",
        b"/tmp/kata-fuzz-escape",
        b"/etc/passwd",
        b"//etc/passwd",
        b"/",
        b".",
        b"./",
        b"",
        b"a//b",
        b"a/./b",
        b"./a/",
        b"a/",
        b"./a",
        b"a\0b",
        b"..\\..\\escape",
        b"a\\b",
        b"new\nline",
        b"tab\there",
        b"del\x7f",
        b"bad\xff",
        b"\xc0\xae\xc0\xae/escape",
        b"\xed\xa0\x80",
        b"rlo\xe2\x80\xae.txt",
        b"C:\\x",
        b"~",
        b" ",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    v.push(vec![b'x'; 255]);
    v.push(vec![b'x'; 256]);
    v.push(vec![b'x'; 300]);
    v.push(format!("a/{}", "y".repeat(300)).into_bytes());
    v.push(["d"; 128].join("/").into_bytes());
    v.push(["d"; 129].join("/").into_bytes());
    v.push(["d"; 200].join("/").into_bytes());
    let long = vec!["y".repeat(240); 17].join("/"); // exactly 4096 bytes
    v.push(long.as_bytes()[..long.len() - 1].to_vec()); // the longest that fits
    v.push(long.clone().into_bytes());
    v.push(format!("{long}z").into_bytes());
    v.push(format!("{}\0../escape", "n".repeat(120)).into_bytes());
    v
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    let component = prop_oneof![
        6 => "[a-d]{1,2}".prop_map(String::into_bytes),
        1 => Just(b"..".to_vec()),
        1 => Just(b".".to_vec()),
        1 => Just(Vec::new()),
        1 => prop::collection::vec(any::<u8>(), 1..4),
    ];
    let random = prop::collection::vec(component, 1..5).prop_map(|c| c.join(&b'/'));
    let base = prop_oneof![
        8 => select(POOL).prop_map(|s| s.as_bytes().to_vec()),
        3 => select(hostile_names()),
        2 => random,
    ];
    (base, 0..10u8).prop_map(|(n, affix)| match affix {
        0 => [&b"./"[..], &n].concat(),
        1 => [&n, &b"/"[..]].concat(),
        _ => n,
    })
}

fn link_target() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        select(vec![
            b"/etc/passwd".to_vec(),
            b"../..".to_vec(),
            b"../other-kata/secret".to_vec(),
            b"../sentinel".to_vec(),
            b"a".to_vec(),
            b"a/b".to_vec(),
            b".".to_vec(),
            b"".to_vec(),
        ]),
        name(),
        Just(format!("{}/etc/passwd", "../".repeat(40)).into_bytes()),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..700).prop_map(Body::Bytes),
        5 => select(vec![
            b"".to_vec(),
            b"x".to_vec(),
            b"hello\n".to_vec(),
            b"int main(){}\n".to_vec(),
            b"bin\0ary".to_vec(),
            b"\xff\xfe not utf-8".to_vec(),
        ])
        .prop_map(Body::Bytes),
        2 => (-1i8..=1).prop_map(Body::AroundCap),
        1 => (
            select(vec![
                1u64,
                511,
                513,
                10_000,
                1 << 20,
                1 << 33,
                1_000_000_000_000,
                u64::MAX >> 1,
                u64::MAX - 511,
                u64::MAX,
            ]),
            prop::collection::vec(any::<u8>(), 0..100),
        )
            .prop_map(|(declared, actual)| Body::Short { declared, actual }),
    ]
}

fn garbage_num() -> impl Strategy<Value = Num> {
    prop_oneof![
        select(vec![
            b"".to_vec(),
            b"zzzzzzz".to_vec(),
            b"-1".to_vec(),
            b" 0644 ".to_vec(),
            vec![0xff; 12],
            vec![0x80; 12],
            b"99999999999".to_vec(),
            b"0x1f".to_vec(),
            b"\xff\xfe".to_vec(),
        ])
        .prop_map(Num::Raw),
        prop::collection::vec(any::<u8>(), 0..12).prop_map(Num::Raw),
    ]
}

fn mode() -> impl Strategy<Value = Num> {
    prop_oneof![
        6 => select(vec![0o644u64, 0o755, 0o777, 0o4755, 0o7777, 0o1000, 0])
            .prop_map(Num::Octal),
        2 => any::<u32>().prop_map(|m| Num::Octal(u64::from(m))),
        1 => any::<u64>().prop_map(Num::Base256),
        1 => garbage_num(),
    ]
}

fn mtime() -> impl Strategy<Value = Num> {
    prop_oneof![
        6 => (0u64..8u64.pow(11)).prop_map(Num::Octal),
        1 => Just(Num::Octal(8u64.pow(11) - 1)),
        2 => select(vec![
            u64::MAX,
            1 << 63,
            (1 << 63) - 1,
            1 << 62,
            1 << 34,
            253_402_300_800,
            18_446_744_073,
            18_446_744_074,
        ])
        .prop_map(Num::Base256),
        1 => any::<u64>().prop_map(Num::Base256),
        1 => garbage_num(),
    ]
}

fn pax_record() -> impl Strategy<Value = Pax> {
    let numbers = select(vec![
        b"0".to_vec(),
        b"1".to_vec(),
        b"-1".to_vec(),
        b"1.5".to_vec(),
        b"1e9".to_vec(),
        b"abc".to_vec(),
        b"".to_vec(),
        b" 5".to_vec(),
        b"99999999999".to_vec(),
        b"18446744073709551615".to_vec(),
        b"18446744073709551616".to_vec(),
        b"-9223372036854775808".to_vec(),
        b"1700000000.123456789".to_vec(),
    ]);
    prop_oneof![
        2 => name().prop_map(|n| Pax::Kv("path".into(), n)),
        2 => numbers.clone().prop_map(|v| Pax::Kv("size".into(), v)),
        2 => numbers.clone().prop_map(|v| Pax::Kv("mtime".into(), v)),
        1 => link_target().prop_map(|n| Pax::Kv("linkpath".into(), n)),
        1 => numbers.clone().prop_map(|v| Pax::Kv("uid".into(), v)),
        1 => numbers.prop_map(|v| Pax::Kv("GNU.sparse.size".into(), v)),
        2 => select(vec![
            b"5 a=b\n".to_vec(),
            b"0 x=\n".to_vec(),
            b"999999 path=x\n".to_vec(),
            b"abc\n".to_vec(),
            b"3 \n".to_vec(),
            b"12 path=y".to_vec(),
            b"\n\n".to_vec(),
            b"18446744073709551616 path=z\n".to_vec(),
            b"9 path\n".to_vec(),
        ])
        .prop_map(Pax::Raw),
    ]
}

/// A well-formed sparse file: blocks of whole 512-byte runs but the last,
/// the real size where the last one ends, the data their sum.
fn valid_sparse() -> impl Strategy<Value = Sparse> {
    prop::collection::vec((0u64..3, 0u64..3, 1u64..600), 1..4).prop_map(|blocks| {
        let (mut map, mut at, mut total) = (Vec::new(), 0u64, 0u64);
        let n = blocks.len();
        for (i, (gap, runs, tail)) in blocks.into_iter().enumerate() {
            let len = if i + 1 == n {
                runs * 512 + tail
            } else {
                (runs + 1) * 512
            };
            at += gap * 512;
            map.push((Num::Octal(at), Num::Octal(len)));
            at += len;
            total += len;
        }
        let data = b"sparse\n"
            .iter()
            .copied()
            .cycle()
            .take(total as usize)
            .collect();
        Sparse {
            map,
            real_size: Num::Octal(at),
            extensions: vec![],
            data,
        }
    })
}

fn sparse() -> impl Strategy<Value = Sparse> {
    let pair = || {
        prop_oneof![
            3 => (0u64..4096, 0u64..2048).prop_map(|(o, l)| (Num::Octal(o), Num::Octal(l))),
            1 => (any::<u64>(), any::<u64>()).prop_map(|(o, l)| (Num::Base256(o), Num::Base256(l))),
            1 => (garbage_num(), garbage_num()),
        ]
    };
    (
        prop::collection::vec(pair(), 0..5),
        prop_oneof![
            (0u64..8192).prop_map(Num::Octal),
            any::<u64>().prop_map(Num::Base256),
            garbage_num()
        ],
        prop::collection::vec(prop::collection::vec(pair(), 0..22), 0..3),
        prop::collection::vec(any::<u8>(), 0..1536),
    )
        .prop_map(|(map, real_size, extensions, data)| Sparse {
            map,
            real_size,
            extensions,
            data,
        })
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        14 => body().prop_map(Kind::File),
        1 => body().prop_map(Kind::OldFile),
        1 => body().prop_map(Kind::Contiguous),
        4 => Just(Kind::Dir),
        2 => link_target().prop_map(Kind::Symlink),
        2 => link_target().prop_map(Kind::HardLink),
        1 => Just(Kind::Char),
        1 => Just(Kind::Block),
        1 => Just(Kind::Fifo),
        1 => prop_oneof![valid_sparse(), sparse()].prop_map(Kind::Sparse),
        1 => (
            prop_oneof![
                select(b"VMNDgxLKXA89".to_vec()),
                any::<u8>(),
            ],
            prop::collection::vec(any::<u8>(), 0..600),
        )
            .prop_map(|(t, d)| Kind::Other(t, d)),
    ]
}

fn entry_spec() -> impl Strategy<Value = EntrySpec> {
    (
        name(),
        prop_oneof![
            4 => Just(Carry::Short),
            1 => Just(Carry::UstarPrefix),
            2 => Just(Carry::GnuLong),
            2 => Just(Carry::Pax),
            1 => Just(Carry::PaxAndGnu),
        ],
        prop_oneof![
            3 => Just(Format::Gnu),
            2 => Just(Format::Ustar),
            1 => Just(Format::V7)
        ],
        kind(),
        mode(),
        mtime(),
        prop_oneof![
            4 => Just(Num::Octal(41966)),
            1 => any::<u64>().prop_map(Num::Base256),
            1 => garbage_num()
        ],
        prop_oneof![
            8 => Just(Vec::new()),
            1 => prop::collection::vec(pax_record(), 1..4),
        ],
    )
        .prop_map(
            |(name, carry, format, kind, mode, mtime, uid, pax)| EntrySpec {
                name,
                carry,
                format,
                kind,
                mode,
                mtime,
                uid,
                pax,
            },
        )
}

fn tar_spec() -> impl Strategy<Value = TarSpec> {
    (
        prop::option::weighted(0.1, prop::collection::vec(pax_record(), 1..3)),
        prop::collection::vec(entry_spec(), 0..16),
        prop_oneof![8 => Just(2usize), 1 => 0usize..4],
    )
        .prop_map(|(global, entries, end_blocks)| TarSpec {
            global,
            entries,
            end_blocks,
        })
}

fn limits() -> impl Strategy<Value = LimitsSpec> {
    (
        prop_oneof![4 => Just(20_000u64), 1 => select(vec![0u64, 1, 2, 3, 8])],
        prop_oneof![
            2 => select(vec![4096u64, 65_536]),
            1 => select(vec![0u64, 1, 100, 511, 512, 513]),
        ],
        prop_oneof![
            3 => Just(256u64 << 20),
            1 => select(vec![0u64, 100, 1000, 4096, 1 << 20]),
        ],
        prop_oneof![3 => Just(51_200usize), 1 => select(vec![0usize, 1, 5])],
        prop_oneof![3 => Just(16usize), 1 => select(vec![0usize, 1, 2])],
    )
        .prop_map(
            |(max_entries, max_file_bytes, max_total_bytes, text_cap, max_created)| LimitsSpec {
                max_entries,
                max_file_bytes,
                max_total_bytes,
                text_cap,
                max_created,
            },
        )
}

fn files() -> impl Strategy<Value = Files> {
    let content = select(vec![
        "",
        "x",
        "hello\n",
        "int main(){}\n",
        "bin\0ary",
        "cap\n",
    ]);
    prop::collection::btree_map(pool_path(), content.prop_map(str::to_owned), 0..4).prop_map(
        |mut m| {
            // `a` and `a/b` cannot both be files.
            let keys: Vec<SandboxPath> = m.keys().cloned().collect();
            m.retain(|k, _| !keys.iter().any(|o| o.ancestors().any(|a| &a == k)));
            m
        },
    )
}

fn field_value(field: Field) -> BoxedStrategy<Value> {
    match field {
        Field::Name | Field::Linkname | Field::Prefix => name().prop_map(Value::Bytes).boxed(),
        Field::Typeflag => prop_oneof![select(b"0123456789SLKxgVMND\0".to_vec()), any::<u8>()]
            .prop_map(|t| Value::Bytes(vec![t]))
            .boxed(),
        Field::Magic => select(vec![
            b"ustar  \0".to_vec(),
            b"ustar\x0000".to_vec(),
            b"".to_vec(),
            b"ustar\0 \0".to_vec(),
        ])
        .prop_map(Value::Bytes)
        .boxed(),
        Field::IsExtended => any::<u8>().prop_map(|b| Value::Bytes(vec![b])).boxed(),
        Field::SparseMap => prop::collection::vec(any::<u8>(), 0..96)
            .prop_map(Value::Bytes)
            .boxed(),
        Field::Size => prop_oneof![
            (0u64..4096).prop_map(Num::Octal),
            select(vec![
                0u64,
                1,
                511,
                512,
                513,
                1 << 20,
                1 << 33,
                u64::MAX >> 1,
                u64::MAX - 511,
                u64::MAX
            ])
            .prop_map(auto),
            garbage_num(),
        ]
        .prop_map(Value::Num)
        .boxed(),
        Field::Mode => mode().prop_map(Value::Num).boxed(),
        Field::Mtime => mtime().prop_map(Value::Num).boxed(),
        Field::Uid | Field::RealSize => prop_oneof![
            any::<u64>().prop_map(auto),
            any::<u64>().prop_map(Num::Base256),
            garbage_num()
        ]
        .prop_map(Value::Num)
        .boxed(),
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let field = select(vec![
        Field::Name,
        Field::Mode,
        Field::Uid,
        Field::Size,
        Field::Size,
        Field::Mtime,
        Field::Typeflag,
        Field::Typeflag,
        Field::Linkname,
        Field::Magic,
        Field::Prefix,
        Field::SparseMap,
        Field::RealSize,
        Field::IsExtended,
    ]);
    prop_oneof![
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        3 => (any::<Index>(), any::<Index>(), any::<u8>(), prop::bool::weighted(0.8)).prop_map(
            |(header, at, bit, fix)| Mutation::FlipHeaderBit { header, at, bit, fix }
        ),
        5 => (any::<Index>(), field)
            .prop_flat_map(|(header, field)| {
                field_value(field).prop_map(move |value| Mutation::Rewrite {
                    header,
                    field,
                    value,
                })
            }),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(i, g)| Mutation::BadChecksum(i, g)),
        2 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), any::<Index>(), any::<bool>())
            .prop_map(|(from, to, replace)| Mutation::Splice { from, to, replace }),
        1 => any::<Index>().prop_map(Mutation::ZeroBlock),
        1 => any::<Index>().prop_map(Mutation::DupBlock),
        1 => prop_oneof![
            prop::collection::vec(any::<u8>(), 1..1100),
            Just(vec![0u8; 1024]),
            Just(b"ustar".to_vec()),
        ]
        .prop_map(Mutation::TrailingGarbage),
        1 => Just(Mutation::DropEnd),
    ]
}

fn case(mutated: bool) -> impl Strategy<Value = Case> {
    let mutations = if mutated {
        prop::collection::vec(mutation(), 1..6).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    let other = if mutated {
        tar_spec().boxed()
    } else {
        Just(TarSpec {
            global: None,
            entries: vec![],
            end_blocks: 2,
        })
        .boxed()
    };
    (
        limits(),
        tar_spec(),
        other,
        mutations,
        files(),
        files(),
        prop::collection::btree_set(pool_path(), 0..4),
        select(vec![0i64, -5, 1_600_000_000, 1_700_000_000, i64::MAX]),
        prop::collection::vec(
            (pool_path(), prop::collection::vec(any::<u8>(), 0..4)),
            0..3,
        ),
        prop::option::weighted(
            0.2,
            (
                select(vec!["a", "b", "d"]),
                select(vec!["../sentinel", "/etc", "../other-kata", "../.."]),
            ),
        ),
    )
        .prop_map(
            |(
                limits,
                tar,
                other,
                mutations,
                baseline,
                client,
                previous,
                sync_time,
                existing,
                link,
            )| Case {
                limits,
                tar,
                other,
                mutations,
                baseline,
                client,
                previous,
                sync_time,
                existing,
                planted_link: link.map(|(a, b)| (a.to_owned(), b.to_owned())),
            },
        )
}

// ---------------------------------------------------------------------------
// What is checked.

/// A kata directory with sentinels around it: `root/sentinel`,
/// `root/parent/sentinel`, `root/parent/other-kata/secret`; the kata is
/// `root/parent/kata`.
struct Arena {
    root: tempfile::TempDir,
    outside: BTreeMap<Vec<u8>, Node>,
}

impl Arena {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("parent/kata")).unwrap();
        fs::create_dir_all(r.join("parent/other-kata")).unwrap();
        fs::write(r.join("sentinel"), "root sentinel").unwrap();
        fs::write(r.join("parent/sentinel"), "parent sentinel").unwrap();
        fs::write(r.join("parent/other-kata/secret"), "other kata's secret").unwrap();
        let mut arena = Self {
            root,
            outside: BTreeMap::new(),
        };
        arena.outside = arena.outside_now();
        arena
    }

    fn kata(&self) -> PathBuf {
        self.root.path().join("parent/kata")
    }

    fn outside_now(&self) -> BTreeMap<Vec<u8>, Node> {
        snapshot(self.root.path())
            .into_iter()
            .filter(|(k, _)| !k.starts_with(b"parent/kata/") && k != b"parent/kata")
            .collect()
    }

    fn check_nothing_escaped(&self) -> TestCaseResult {
        let now = self.outside_now();
        prop_assert_eq!(
            &now,
            &self.outside,
            "something outside the kata directory changed"
        );
        prop_assert!(
            !Path::new("/tmp/kata-fuzz-escape").exists(),
            "/tmp/kata-fuzz-escape was created"
        );
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File(Vec<u8>, i64),
    Dir,
    Other(String),
}

/// Everything under `dir`, never following or opening anything but a
/// regular file or a directory. Each directory is reached through its open
/// descriptor (`/proc/self/fd/N/name`), so that paths the guest may make
/// (4095 bytes under the kata directory) stay short for the host's calls.
fn snapshot(dir: &Path) -> BTreeMap<Vec<u8>, Node> {
    fn go(dir: &fs::File, rel: &[u8], out: &mut BTreeMap<Vec<u8>, Node>) {
        use std::os::fd::AsRawFd;
        let here = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
        for entry in fs::read_dir(&here).unwrap() {
            let name = entry.unwrap().file_name();
            let path = here.join(&name);
            let rel = match rel {
                [] => name.as_bytes().to_vec(),
                _ => [rel, b"/", name.as_bytes()].concat(),
            };
            let meta = fs::symlink_metadata(&path).unwrap();
            let node = if meta.is_dir() {
                go(&fs::File::open(&path).unwrap(), &rel, out);
                Node::Dir
            } else if meta.is_file() {
                let mtime = filetime::FileTime::from_last_modification_time(&meta);
                Node::File(fs::read(&path).unwrap(), mtime.unix_seconds())
            } else {
                Node::Other(format!("{:?}", meta.file_type()))
            };
            out.insert(rel, node);
        }
    }
    let mut out = BTreeMap::new();
    go(&fs::File::open(dir).unwrap(), b"", &mut out);
    out
}

/// A tar the guest wrote, read strictly: every entry a regular file or a
/// directory with a valid name, every file's data as long as its header
/// says, two zero blocks at the end.
#[derive(Debug, Default)]
struct Parsed {
    /// Last one wins, as when unpacked: content, mtime.
    files: BTreeMap<String, (Vec<u8>, u64)>,
    dirs: BTreeSet<String>,
    file_entries: u64,
    file_bytes: u64,
    largest: u64,
}

fn parse_strict(tar: &[u8]) -> Result<Parsed, String> {
    if !tar.len().is_multiple_of(512)
        || tar.len() < 1024
        || tar[tar.len() - 1024..].iter().any(|b| *b != 0)
    {
        return Err(format!(
            "the tar does not end in two zero blocks (length {})",
            tar.len()
        ));
    }
    let mut parsed = Parsed::default();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| format!("reading the tar: {e}"))?;
        let raw = entry.path_bytes().into_owned();
        let path = SandboxPath::from_tar_bytes(&raw)
            .map_err(|e| format!("{:?}: {e}", String::from_utf8_lossy(&raw)))?
            .to_string();
        let header = entry.header().clone();
        let declared = header.entry_size().map_err(|e| e.to_string())?;
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| format!("{path}: {e}"))?;
        if data.len() as u64 != declared {
            return Err(format!(
                "{path}: header says {declared} bytes, {} follow",
                data.len()
            ));
        }
        let mode = header.mode().map_err(|e| format!("{path}: mode: {e}"))?;
        if mode & !0o777 != 0 {
            return Err(format!(
                "{path}: mode {mode:o} has more than permission bits"
            ));
        }
        let mtime = header.mtime().map_err(|e| format!("{path}: mtime: {e}"))?;
        for a in SandboxPath::new(&path).unwrap().ancestors() {
            if parsed.files.contains_key(a.as_str()) {
                return Err(format!("{path} is under the file {a}"));
            }
            if !parsed.dirs.contains(a.as_str()) {
                return Err(format!("{path} comes before its directory {a}"));
            }
        }
        match header.entry_type() {
            tar::EntryType::Regular => {
                if parsed.dirs.contains(&path) {
                    return Err(format!("{path} is a file and a directory"));
                }
                parsed.file_entries += 1;
                parsed.file_bytes += declared;
                parsed.largest = parsed.largest.max(declared);
                parsed.files.insert(path, (data, mtime));
            }
            tar::EntryType::Directory => {
                if parsed.files.contains_key(&path) || !parsed.dirs.insert(path.clone()) {
                    return Err(format!("{path}: a directory entry twice, or over a file"));
                }
            }
            other => return Err(format!("{path}: entry type {other:?}")),
        }
    }
    Ok(parsed)
}

/// Every failure of a call counts: a trap is a guest panic; out of memory,
/// time or output on an input this small is a denial of service; `Failed`
/// means one entry failed the whole job, which the guest promises never
/// happens (a refused entry is reported and skipped).
fn call<T>(what: &str, r: Result<T, GuestError>) -> Result<T, TestCaseError> {
    r.map_err(|e| TestCaseError::fail(format!("{what} failed: {e:?}")))
}

/// Whether the walk read the whole stream: `None` when refusals past the
/// list could hide the answer.
fn completeness(report: &Report) -> Option<bool> {
    let stopped = report.refused.iter().any(|r| {
        matches!(
            r.reason,
            RefusalReason::Malformed { .. } | RefusalReason::TooManyEntries
        )
    });
    if stopped {
        Some(false)
    } else if report.refused_not_listed > 0 {
        None
    } else {
        Some(true)
    }
}

/// Paths refused for their size or place, not their kind: present, though
/// not taken.
fn present(report: &Report) -> BTreeSet<String> {
    report
        .refused
        .iter()
        .filter(|r| {
            matches!(
                r.reason,
                RefusalReason::Conflict
                    | RefusalReason::FileTooLarge { .. }
                    | RefusalReason::TooManyBytes
            )
        })
        .filter_map(|r| SandboxPath::from_tar_bytes(r.path.as_bytes()).ok())
        .map(|p| p.to_string())
        .collect()
}

/// The delta says what `files` (what the harvest kept) holds compared with
/// `baseline`.
/// `duplicates`: the harvest saw a path more than once. The first
/// `max_created` new text files by name are returned, but a file returned
/// and then seen again as something else leaves room that a file already
/// omitted for the cap does not get back (its content was not kept).
#[allow(clippy::too_many_arguments)]
fn check_delta(
    what: &str,
    delta: &Delta,
    files: &BTreeMap<String, Vec<u8>>,
    duplicates: bool,
    baseline: &Files,
    limits: &Limits,
    complete: Option<bool>,
    present: &BTreeSet<String>,
) -> TestCaseResult {
    let expected = |c: &[u8]| FileContent::from_bytes(c, limits.text_cap);
    prop_assert!(
        delta.created.len() <= limits.max_created,
        "{what}: {} created",
        delta.created.len()
    );
    let mut new_text = BTreeSet::new();
    for (path, content) in files {
        let p = SandboxPath::new(path).unwrap();
        let same = baseline
            .get(&p)
            .is_some_and(|b| b.as_bytes() == &content[..]);
        let listed = delta.created.contains_key(&p)
            || delta.changed.contains_key(&p)
            || delta.omitted.contains(&p);
        if same {
            prop_assert!(!listed, "{what}: {path} is unchanged but listed: {delta:?}");
            continue;
        }
        let text = is_text(&content[..content.len().min(8000)]);
        if !text {
            prop_assert!(
                delta.omitted.contains(&p)
                    && !delta.created.contains_key(&p)
                    && !delta.changed.contains_key(&p),
                "{what}: binary {path} must be omitted only: {delta:?}"
            );
        } else if baseline.contains_key(&p) {
            prop_assert_eq!(
                delta.changed.get(&p),
                Some(&expected(content)),
                "{}: changed {}",
                what,
                path
            );
        } else {
            new_text.insert(p.clone());
            if let Some(c) = delta.created.get(&p) {
                prop_assert_eq!(c, &expected(content), "{}: created {}", what, path);
            } else {
                prop_assert!(
                    delta.omitted.contains(&p)
                        && (duplicates || delta.created.len() == limits.max_created),
                    "{what}: new text {path} neither created nor omitted for the cap: {delta:?}"
                );
            }
        }
    }
    for p in delta.created.keys() {
        prop_assert!(
            new_text.contains(p),
            "{what}: created {p} is not a new text file"
        );
    }
    // The smallest names are returned.
    if let Some(last) = delta.created.keys().next_back().filter(|_| !duplicates) {
        for p in new_text.iter().filter(|p| !delta.created.contains_key(*p)) {
            prop_assert!(p > last, "{what}: {p} omitted but {last} returned");
        }
    }
    for p in delta.changed.keys().chain(delta.omitted.iter()) {
        prop_assert!(
            files.contains_key(p.as_str()),
            "{what}: {p} listed, not kept"
        );
    }
    for p in &delta.deleted {
        prop_assert!(
            baseline.contains_key(p) && !files.contains_key(p.as_str()),
            "{what}: {p} deleted, but kept or never in the baseline"
        );
    }
    if complete == Some(true) {
        let want: BTreeSet<&SandboxPath> = baseline
            .keys()
            .filter(|p| !files.contains_key(p.as_str()) && !present.contains(p.as_str()))
            .collect();
        let got: BTreeSet<&SandboxPath> = delta.deleted.iter().collect();
        prop_assert_eq!(got, want, "{}: deleted", what);
    } else if complete == Some(false) {
        prop_assert!(
            delta.deleted.is_empty(),
            "{what}: a stopped walk reports deletions: {:?}",
            delta.deleted
        );
    }
    Ok(())
}

/// The latest second WASI can stamp (`u64` nanoseconds).
const MAX_MTIME: u64 = u64::MAX / 1_000_000_000;

/// A name refused as bad breaks the rule the refusal names.
fn check_refusals(report: &Report) -> TestCaseResult {
    for r in &report.refused {
        let RefusalReason::BadPath { error } = &r.reason else {
            continue;
        };
        if *error == kata_types::PathError::NotUtf8 {
            continue; // The name shown has its bad bytes replaced.
        }
        let got = SandboxPath::from_tar_bytes(r.path.as_bytes());
        let too_long = got
            .as_ref()
            .is_ok_and(|p| p.as_str().len() > kata_types::MAX_PATH_BYTES);
        prop_assert!(
            got.as_ref().err() == Some(error)
                || (too_long && *error == kata_types::PathError::PathTooLong),
            "{:?} refused for {error:?}, but it reads as {got:?}",
            r.path
        );
    }
    Ok(())
}

fn check_caps(what: &str, parsed: &Parsed, limits: &Limits) -> TestCaseResult {
    // Directories count too, named or implied: each is an entry of the tar
    // and a directory on disk.
    prop_assert!(
        parsed.file_entries + parsed.dirs.len() as u64 <= limits.max_entries,
        "{what}: {} files and {} directories over the cap of {} entries",
        parsed.file_entries,
        parsed.dirs.len(),
        limits.max_entries
    );
    prop_assert!(
        parsed.largest <= limits.max_file_bytes,
        "{what}: a file of {} bytes over the cap of {}",
        parsed.largest,
        limits.max_file_bytes
    );
    prop_assert!(
        parsed.file_bytes <= limits.max_total_bytes,
        "{what}: {} bytes over the cap of {}",
        parsed.file_bytes,
        limits.max_total_bytes
    );
    Ok(())
}

/// Limits nothing a guest wrote can exceed, for second passes.
fn roomy() -> Limits {
    Limits {
        max_entries: u64::MAX,
        max_total_bytes: u64::MAX,
        max_file_bytes: u64::MAX,
        ..Limits::default()
    }
}

/// What one case exercised, for the tallies.
struct Tally {
    accepted_files: u64,
    complete: bool,
    refusals: Vec<String>,
}

fn check(case: &Case, tar: &[u8]) -> Result<Tally, TestCaseError> {
    let g = guest();
    let limits = case.limits.limits();
    let empty = Files::new();

    // harvest_tar, without and with a baseline: the same checked tar.
    let (checked, d0, r0) = call("harvest_tar", g.harvest_tar(tar, &empty, &limits))?;
    let (checked_b, d1, r1) = call(
        "harvest_tar with a baseline",
        g.harvest_tar(tar, &case.baseline, &limits),
    )?;
    prop_assert!(checked == checked_b, "the baseline changed the checked tar");
    prop_assert_eq!(&r0, &r1, "the baseline changed the report");
    let parsed = parse_strict(&checked)
        .map_err(|e| TestCaseError::fail(format!("harvest_tar's checked tar: {e}")))?;
    check_caps("harvest_tar", &parsed, &limits)?;
    let complete = completeness(&r0);
    check_refusals(&r0)?;
    for (p, (_, m)) in &parsed.files {
        prop_assert!(
            *m <= MAX_MTIME,
            "the checked tar stamps {p} {m}, later than WASI can"
        );
    }
    let present = present(&r0);
    let kept: BTreeMap<String, Vec<u8>> = parsed
        .files
        .iter()
        .map(|(k, (c, _))| (k.clone(), c.clone()))
        .collect();
    let duplicates = parsed.file_entries > parsed.files.len() as u64;
    check_delta(
        "harvest_tar",
        &d0,
        &kept,
        duplicates,
        &empty,
        &limits,
        complete,
        &present,
    )?;
    check_delta(
        "harvest_tar with a baseline",
        &d1,
        &kept,
        duplicates,
        &case.baseline,
        &limits,
        complete,
        &present,
    )?;
    prop_assert_eq!(
        (r0.files_written, r0.bytes_written),
        (parsed.file_entries, parsed.file_bytes),
        "harvest_tar's report and its tar disagree"
    );

    // A checked tar passes the check unchanged.
    let (again, _, r2) = call(
        "harvest_tar of its own tar",
        g.harvest_tar(&checked, &empty, &roomy()),
    )?;
    prop_assert!(
        r2.refused.is_empty(),
        "the checked tar is refused: {:?}",
        r2.refused
    );
    prop_assert!(again == checked, "harvesting the checked tar changes it");

    // unpack: the same walk; the directory ends as the checked tar says.
    let arena = Arena::new();
    let kata = arena.kata();
    for (p, bytes) in &case.existing {
        let h = kata.join(p.as_str());
        if p.ancestors().any(|a| kata.join(a.as_str()).is_file()) || h.is_dir() {
            continue;
        }
        fs::create_dir_all(h.parent().unwrap()).unwrap();
        fs::write(&h, bytes).unwrap();
    }
    if let Some((name, target)) = &case.planted_link {
        let _ = std::os::unix::fs::symlink(target, kata.join(name));
    }
    let before = snapshot(&kata);
    let ru = call("unpack", g.unpack(&kata, tar, &limits))?;
    arena.check_nothing_escaped()?;
    prop_assert_eq!(
        &ru.refused,
        &r0.refused,
        "unpack and harvest_tar refuse differently"
    );
    prop_assert_eq!(ru.refused_not_listed, r0.refused_not_listed);
    prop_assert_eq!(
        (ru.files_written, ru.bytes_written),
        (r0.files_written, r0.bytes_written),
        "unpack and harvest_tar take different files"
    );
    let after = snapshot(&kata);
    let mut on_disk = BTreeMap::new();
    for (rel, node) in &after {
        let shown = String::from_utf8_lossy(rel);
        let path = std::str::from_utf8(rel)
            .ok()
            .and_then(|s| SandboxPath::new(s).ok());
        prop_assert!(path.is_some(), "unpack left an invalid name {shown:?}");
        match node {
            Node::Dir => {
                if complete == Some(true) {
                    prop_assert!(
                        parsed.dirs.contains(shown.as_ref()),
                        "unpack left a directory {shown} the tar does not hold"
                    );
                }
            }
            Node::File(bytes, mtime) => {
                let old = before.get(rel) == Some(node);
                match parsed.files.get(shown.as_ref()) {
                    Some((want, want_mtime)) => {
                        prop_assert!(
                            bytes == want,
                            "unpacked {shown} differs from the checked tar"
                        );
                        if *want_mtime < 1 << 33 {
                            prop_assert_eq!(*mtime, *want_mtime as i64, "mtime of {}", shown);
                        }
                    }
                    None => prop_assert!(
                        complete != Some(true) && old,
                        "unpack left {shown}, which the checked tar does not hold"
                    ),
                }
                prop_assert!(
                    old || bytes.len() as u64 <= limits.max_file_bytes,
                    "unpacked {shown} is over the size cap"
                );
                on_disk.insert(shown.into_owned(), bytes.clone());
            }
            Node::Other(kind) => {
                return Err(TestCaseError::fail(format!("unpack left {shown}: {kind}")));
            }
        }
    }
    for path in parsed.files.keys() {
        prop_assert!(
            on_disk.contains_key(path),
            "the checked tar's {path} was not unpacked"
        );
    }

    // harvest_dir of what unpack left: nothing to refuse.
    let (dd, rd) = call(
        "harvest_dir after unpack",
        g.harvest_dir(&kata, &case.baseline, &roomy()),
    )?;
    prop_assert!(
        rd.refused.is_empty(),
        "harvest_dir refuses {:?}",
        rd.refused
    );
    check_delta(
        "harvest_dir",
        &dd,
        &on_disk,
        false,
        &case.baseline,
        &roomy(),
        Some(true),
        &BTreeSet::new(),
    )?;
    arena.check_nothing_escaped()?;

    // sync_tar: the same walk, the client's files win.
    let stamp = Timestamp {
        secs: case.sync_time,
        nanos: 0,
    };
    let (synced, rs) = call(
        "sync_tar",
        g.sync_tar(tar, &case.client, &case.previous, stamp, &limits),
    )?;
    prop_assert_eq!(
        &rs.refused,
        &r0.refused,
        "sync_tar and harvest_tar refuse differently"
    );
    let out =
        parse_strict(&synced).map_err(|e| TestCaseError::fail(format!("sync_tar's tar: {e}")))?;
    let needed: BTreeSet<String> = case
        .client
        .keys()
        .flat_map(|p| p.ancestors())
        .map(|p| p.to_string())
        .collect();
    for (p, content) in &case.client {
        let got = out.files.get(p.as_str()).map(|(c, _)| c);
        prop_assert_eq!(
            got,
            Some(&content.as_bytes().to_vec()),
            "sync_tar: client file {}",
            p
        );
    }
    let newest_other = out
        .files
        .iter()
        .filter(|(p, _)| !case.client.contains_key(p.as_str()))
        .map(|(_, (_, m))| *m)
        .max();
    for p in case.client.keys() {
        if !parsed.files.contains_key(p.as_str()) {
            let m = out.files[p.as_str()].1;
            prop_assert!(
                m >= case.sync_time.max(0) as u64,
                "sync_tar: {p} stamped {m}"
            );
            if let Some(n) = newest_other {
                prop_assert!(
                    m > n || n == u64::MAX,
                    "sync_tar: new {p} ({m}) not newer than a build product ({n})"
                );
            }
        }
    }
    for p in case
        .previous
        .iter()
        .filter(|p| !case.client.contains_key(*p))
    {
        prop_assert!(
            !out.files.contains_key(p.as_str()),
            "sync_tar kept deleted {p}"
        );
    }
    for (p, (content, _)) in &out.files {
        if case.client.contains_key(p.as_str()) {
            continue;
        }
        prop_assert_eq!(
            parsed.files.get(p).map(|(c, _)| c),
            Some(content),
            "sync_tar passed {} through differently",
            p
        );
    }
    for p in parsed.files.keys() {
        let sp = SandboxPath::new(p).unwrap();
        let dropped = case.client.contains_key(&sp)
            || case.previous.contains(&sp)
            || needed.contains(p)
            || sp.ancestors().any(|a| case.client.contains_key(&a));
        prop_assert!(dropped || out.files.contains_key(p), "sync_tar lost {p}");
    }
    let (_, _, r3) = call(
        "harvest_tar of sync_tar's tar",
        g.harvest_tar(&synced, &empty, &roomy()),
    )?;
    prop_assert!(
        r3.refused.is_empty(),
        "sync_tar's tar is refused: {:?}",
        r3.refused
    );
    Ok(Tally {
        accepted_files: parsed.file_entries,
        complete: complete == Some(true),
        refusals: r0
            .refused
            .iter()
            .map(|r| match &r.reason {
                // Which complaint broke the stream, numbers left out.
                RefusalReason::Malformed { error } if error.starts_with("the stream ends") => {
                    "Malformed: the stream ends inside a file".to_owned()
                }
                RefusalReason::Malformed { error } => format!(
                    "Malformed: {}",
                    error
                        .split([
                            ':', '\'', '`', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'
                        ])
                        .next()
                        .unwrap_or("")
                        .trim()
                ),
                reason => {
                    let name = format!("{reason:?}");
                    name.split([' ', '{', '(']).next().unwrap_or("").to_owned()
                }
            })
            .collect(),
    })
}

// ---------------------------------------------------------------------------
// Running.

#[derive(Default)]
struct Stats {
    /// Set at the first failure: shrinking's runs are not counted.
    failed: bool,
    cases: u64,
    input_bytes: u64,
    accepted_files: u64,
    incomplete: u64,
    refusals: BTreeMap<String, u64>,
}

fn record(stats: &Mutex<Stats>, tar: &[u8], tally: Tally) {
    let mut s = stats.lock().unwrap();
    if s.failed {
        return;
    }
    s.cases += 1;
    s.input_bytes += tar.len() as u64;
    s.accepted_files += tally.accepted_files;
    s.incomplete += u64::from(!tally.complete);
    for name in tally.refusals {
        *s.refusals.entry(name).or_default() += 1;
    }
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(test: &str, mutated: bool) {
    let cases = env_or("KATA_FUZZ_CASES", DEFAULT_CASES);
    let random = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64
        ^ u64::from(std::process::id()).rotate_left(32);
    let seed = env_or("KATA_FUZZ_SEED", random);
    let replay = format!(
        "KATA_FUZZ_SEED={seed} KATA_FUZZ_CASES={cases} cargo test -p kata-wasi --test it fuzz::{test}"
    );
    eprintln!("fuzz::{test}: {cases} cases, seed {seed} (replay: {replay})");
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        max_shrink_iters: 4096,
        max_shrink_time: 600_000,
        ..Config::default()
    };
    let failure =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kata-fuzz-failure-{test}.tar"));
    let stats = Mutex::new(Stats::default());
    let mut runner = TestRunner::new(config);
    let started = Instant::now();
    let result = runner.run(&case(mutated), |case| {
        let tar = case.tar();
        match check(&case, &tar) {
            Ok(tally) => {
                record(&stats, &tar, tally);
                Ok(())
            }
            Err(e) => {
                // The last failure written is the smallest shrinking found.
                let _ = fs::write(&failure, &tar);
                stats.lock().unwrap().failed = true;
                Err(e)
            }
        }
    });
    let elapsed = started.elapsed();
    let s = stats.lock().unwrap();
    let per_sec = s.cases as f64 / elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "fuzz::{test}: {} cases passed in {:.1?} ({per_sec:.1} cases/s), {} input bytes, \
         {} files accepted, {} walks stopped early; refusals: {:#?}",
        s.cases,
        Duration::from_millis(elapsed.as_millis() as u64),
        s.input_bytes,
        s.accepted_files,
        s.incomplete,
        s.refusals
    );
    if let Err(e) = result {
        panic!(
            "fuzz::{test} found a failing case (seed {seed}; the tar is in {}): {e}\nreplay: {replay}",
            failure.display()
        );
    }
}

#[test]
fn structured_tars() {
    run("structured_tars", false);
}

#[test]
fn mutated_tars() {
    run("mutated_tars", true);
}

// ---------------------------------------------------------------------------
// Regressions: what the fuzzer found, minimized.

fn file(bytes: &[u8]) -> Kind {
    Kind::File(Body::Bytes(bytes.to_vec()))
}

fn spec(name: &str, kind: Kind, mtime: Num) -> EntrySpec {
    EntrySpec {
        name: name.as_bytes().to_vec(),
        carry: Carry::Short,
        format: Format::Gnu,
        kind,
        mode: Num::Octal(0o644),
        mtime,
        uid: Num::Octal(41966),
        pax: vec![],
    }
}

fn tar_of(entries: Vec<EntrySpec>, end_blocks: usize) -> Vec<u8> {
    let spec = TarSpec {
        global: None,
        entries,
        end_blocks,
    };
    build(&spec, &Limits::default()).bytes
}

fn refused_for(report: &Report, path: &str, reason: &RefusalReason) -> bool {
    report
        .refused
        .iter()
        .any(|r| r.path == path && r.reason == *reason)
}

/// A tar header can say any `u64` mtime (and GNU's negative ones read as
/// huge): stamping one failed the whole unpack ("stamping a: Invalid
/// argument"). Now clamped to the latest second WASI can stamp.
#[test]
fn an_mtime_past_what_wasi_can_stamp_is_clamped_not_fatal() {
    let tar = tar_of(
        vec![
            spec("a", Kind::Dir, Num::Base256(u64::MAX)),
            spec("a/f", file(b"x"), Num::Base256(1 << 62)),
            spec("g", file(b"y"), Num::Base256(u64::MAX)),
        ],
        2,
    );
    let arena = Arena::new();
    let report = guest()
        .unpack(&arena.kata(), &tar, &Limits::default())
        .unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let on_disk = snapshot(&arena.kata());
    assert!(matches!(&on_disk[&b"a/f"[..]], Node::File(b, _) if b == b"x"));
    arena.check_nothing_escaped().unwrap();
    let (checked, _, _) = guest()
        .harvest_tar(&tar, &Files::new(), &Limits::default())
        .unwrap();
    let parsed = parse_strict(&checked).unwrap();
    assert_eq!(parsed.files["a/f"].1, MAX_MTIME);
    assert_eq!(parsed.files["g"].1, MAX_MTIME);
}

/// The kata directory held `a/b`; the tar has a file `a`. Writing `a`
/// replaced the directory, then removing `a/b` through the file failed the
/// whole unpack ("removing a/b: Not a directory"). The directory-backed
/// runner unpacks every sandbox it keeps: a run that turned a directory
/// into a file could not be kept.
#[test]
fn a_file_that_replaces_a_directory_is_unpacked() {
    let arena = Arena::new();
    fs::create_dir_all(arena.kata().join("a")).unwrap();
    fs::write(arena.kata().join("a/b"), "old").unwrap();
    let tar = TarBuilder::new().file("a", b"now a file").finish();
    let report = guest()
        .unpack(&arena.kata(), &tar, &Limits::default())
        .unwrap();
    assert_eq!(report.files_deleted, 1);
    let on_disk = snapshot(&arena.kata());
    assert_eq!(on_disk.len(), 1);
    assert!(matches!(&on_disk[&b"a"[..]], Node::File(b, _) if b == b"now a file"));
}

/// A file the stream ends inside was taken whole: `harvest_tar` wrote a
/// header promising 100 bytes and 10 followed (the padding and end blocks
/// became its data, and the checked tar had no end); `unpack` wrote 10
/// bytes; both reported 100. Now the missing bytes are zeros in every copy,
/// and the broken stream is reported with the file's name.
#[test]
fn a_file_cut_short_by_the_end_of_the_stream_is_padded_and_reported() {
    let mut tar = tar_of(
        vec![
            spec("first.txt", file(b"kept"), Num::Octal(1)),
            spec(
                "cut.txt",
                Kind::File(Body::Short {
                    declared: 100,
                    actual: b"0123456789".to_vec(),
                }),
                Num::Octal(1),
            ),
        ],
        0,
    );
    tar.truncate(tar.len() - 512 + 10);
    let mut want = b"0123456789".to_vec();
    want.resize(100, 0);
    let broken = |report: &Report| {
        report.refused.iter().any(|r| {
            matches!(&r.reason, RefusalReason::Malformed { error }
                if error.contains("cut.txt") && error.contains("90 of its 100 bytes"))
        })
    };

    let (checked, _, report) = guest()
        .harvest_tar(&tar, &Files::new(), &Limits::default())
        .unwrap();
    assert!(broken(&report), "{:?}", report.refused);
    assert_eq!(report.bytes_written, 104);
    let parsed = parse_strict(&checked).unwrap();
    assert_eq!(parsed.files["first.txt"].0, b"kept");
    assert_eq!(parsed.files["cut.txt"].0, want);

    let arena = Arena::new();
    let report = guest()
        .unpack(&arena.kata(), &tar, &Limits::default())
        .unwrap();
    assert!(broken(&report), "{:?}", report.refused);
    assert_eq!(report.bytes_written, 104);
    assert!(matches!(&snapshot(&arena.kata())[&b"cut.txt"[..]], Node::File(b, _) if *b == want));

    let client = Files::new();
    let (synced, report) = guest()
        .sync_tar(
            &tar,
            &client,
            &BTreeSet::new(),
            Timestamp::now(),
            &Limits::default(),
        )
        .unwrap();
    assert!(broken(&report), "{:?}", report.refused);
    parse_strict(&synced).unwrap();
}

/// A 4096-byte path: the kernel's `PATH_MAX` counts the terminating NUL, so
/// creating it failed the whole unpack ("Filename too long"). Now it is not
/// a `SandboxPath` (refused); 4095 bytes still go through.
#[test]
fn a_path_the_kernel_cannot_take_is_refused_not_fatal() {
    let long = vec!["y".repeat(240); 17].join("/");
    assert_eq!(long.len(), kata_types::MAX_PATH_BYTES + 1);
    let longest = &long[..long.len() - 1];
    let tar = TarBuilder::new()
        .file(&long, b"x")
        .file(longest, b"x")
        .file("good.txt", b"fine")
        .finish();
    let arena = Arena::new();
    let report = guest()
        .unpack(&arena.kata(), &tar, &Limits::default())
        .unwrap();
    let too_long = RefusalReason::BadPath {
        error: kata_types::PathError::PathTooLong,
    };
    assert!(
        refused_for(&report, &long, &too_long),
        "{:?}",
        report.refused
    );
    assert_eq!(report.files_written, 2);
    let on_disk = snapshot(&arena.kata());
    assert!(on_disk.contains_key(longest.as_bytes()));
    assert!(on_disk.contains_key(&b"good.txt"[..]));
    let (_, _, report) = guest()
        .harvest_tar(&tar, &Files::new(), &Limits::default())
        .unwrap();
    assert!(
        refused_for(&report, &long, &too_long),
        "{:?}",
        report.refused
    );
}

/// A path seen twice kept the first sighting's verdict: `a.txt` empty
/// (created), then binary (omitted), came back created with the empty
/// content the sandbox no longer holds; `c.txt` changed, then as in the
/// baseline, came back changed.
#[test]
fn a_path_seen_twice_is_reported_as_last_seen() {
    let tar = TarBuilder::new()
        .file("a.txt", b"")
        .file("a.txt", b"bin\0ary")
        .file("b.txt", b"\0\0")
        .file("b.txt", b"text")
        .file("c.txt", b"changed")
        .file("c.txt", b"same")
        .finish();
    let baseline: Files = [(SandboxPath::new("c.txt").unwrap(), "same".to_owned())].into();
    let (_, delta, _) = guest()
        .harvest_tar(&tar, &baseline, &Limits::default())
        .unwrap();
    let a = SandboxPath::new("a.txt").unwrap();
    let b = SandboxPath::new("b.txt").unwrap();
    assert!(
        !delta.created.contains_key(&a) && delta.omitted.contains(&a),
        "{delta:?}"
    );
    assert_eq!(delta.created[&b].content, "text");
    assert!(!delta.omitted.contains(&b), "{delta:?}");
    assert!(delta.changed.is_empty(), "{delta:?}");
}

/// `sync_tar` passed a saved directory through without entries for its
/// parents: unpacked as root (the Docker archive API), they would be
/// root's, and the run's user could not write in them.
#[test]
fn sync_tar_gives_a_saved_directory_its_parents() {
    let saved = tar_of(vec![spec("a/b", Kind::Dir, Num::Octal(5))], 2);
    let (out, _) = guest()
        .sync_tar(
            &saved,
            &Files::new(),
            &BTreeSet::new(),
            Timestamp::now(),
            &Limits::default(),
        )
        .unwrap();
    let parsed = parse_strict(&out).unwrap();
    assert_eq!(parsed.dirs, ["a".to_owned(), "a/b".to_owned()].into());
}

/// `sync_tar` took "every saved file is stamped 0" for "nothing saved" and
/// stamped a new file 0 too, no newer than the build products (only with a
/// clock at the epoch).
#[test]
fn sync_tar_stamps_a_new_file_after_products_of_time_zero() {
    let saved = tar_of(vec![spec("p.o", file(b"\0obj"), Num::Octal(0))], 2);
    let client: Files = [(SandboxPath::new("new.c").unwrap(), "int x;".to_owned())].into();
    let (out, _) = guest()
        .sync_tar(
            &saved,
            &client,
            &BTreeSet::new(),
            Timestamp { secs: 0, nanos: 0 },
            &Limits::default(),
        )
        .unwrap();
    let parsed = parse_strict(&out).unwrap();
    assert_eq!(parsed.files["new.c"].1, 1);
}

/// Found by a scale probe, not the fuzzer (its tars are small): `max_entries`
/// counted a tar's entries, not the directories they imply, and the guest
/// keeps every directory's path (and a checked tar gets an entry for each).
/// 1,400 one-byte files at distinct 126-level paths, a 7.9 MB tar within
/// every cap, ran both `harvest_tar` and `unpack` out of memory (and 1,000
/// made a 409 MB checked tar). Now each directory an entry brings counts.
#[test]
fn directories_a_tar_implies_count_against_the_entry_cap() {
    let deep = |i: usize| format!("x{i}/{}/f", vec!["d".repeat(30); 125].join("/"));
    let mut t = TarBuilder::new();
    for i in 0..1_400 {
        t.file_with(&deep(i), b"x", 0o644, 1);
    }
    let tar = t.finish();
    let (checked, _, report) = guest()
        .harvest_tar(&tar, &Files::new(), &Limits::default())
        .unwrap();
    // 126 directories and a file each: the 158th would pass 20,000 entries.
    assert_eq!(report.files_written, 157);
    assert!(refused_for(
        &report,
        &deep(157),
        &RefusalReason::TooManyEntries
    ));
    let parsed = parse_strict(&checked).unwrap();
    assert_eq!(parsed.dirs.len() + parsed.files.len(), 157 * 127);

    // The same count in `unpack`, small enough to be quick.
    let limits = Limits {
        max_entries: 300,
        ..Limits::default()
    };
    let arena = Arena::new();
    let report = guest().unpack(&arena.kata(), &tar, &limits).unwrap();
    assert_eq!(report.files_written, 2);
    assert_eq!(snapshot(&arena.kata()).len(), 2 * 127);
    // Directories named before their files (as `tar -c` writes them) are
    // counted once.
    let mut t = TarBuilder::new().dir("a").dir("a/b");
    for i in 0..5 {
        t.file_with(&format!("a/b/f{i}"), b"x", 0o644, 1);
    }
    let limits = Limits {
        max_entries: 7,
        ..Limits::default()
    };
    let (_, _, report) = guest()
        .harvest_tar(&t.finish(), &Files::new(), &limits)
        .unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
}
