//! Many writers, one kata: every run gets exactly one index, and none is lost.

use std::collections::BTreeSet;
use std::sync::Arc;

use kata_store::DirKatas;

use crate::common::{id, run};

const THREADS: u64 = 8;
const EACH: u64 = 6;

/// Appends `EACH` runs from each of `THREADS` threads, each thread using the
/// store `store_for(thread)`, and checks the history is 1..N with every run
/// in it once.
fn hammer(store_for: impl Fn(u64) -> Arc<DirKatas>) {
    let kata = id("34de2W");
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let katas = store_for(t);
            let kata = kata.clone();
            std::thread::spawn(move || {
                (0..EACH)
                    .map(|i| {
                        let mut event = run(1);
                        event.stdout.content = format!("thread {t} run {i}\n");
                        katas.append(&kata, event).unwrap().index
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut given: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    given.sort();
    let n = THREADS * EACH;
    assert_eq!(given, (1..=n).collect::<Vec<_>>(), "indices handed out");

    let events = store_for(0).events(&kata).unwrap();
    assert_eq!(
        events.iter().map(|e| e.index).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>()
    );
    let runs: BTreeSet<&str> = events.iter().map(|e| e.stdout.content.as_str()).collect();
    assert_eq!(runs.len() as u64, n, "a run was lost or stored twice");
}

#[test]
fn eight_threads_on_one_store() {
    let tmp = tempfile::tempdir().unwrap();
    let katas = Arc::new(DirKatas::open(tmp.path()).unwrap());
    hammer(|_| katas.clone());
}

/// Separate stores share no in-process lock, as two server processes would
/// not: only the branch's compare-and-swap keeps the indices apart.
#[test]
fn eight_threads_on_eight_stores_over_one_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let stores: Vec<_> = (0..THREADS)
        .map(|_| Arc::new(DirKatas::open(tmp.path()).unwrap()))
        .collect();
    hammer(|t| stores[t as usize].clone());
}
