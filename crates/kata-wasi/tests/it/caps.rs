//! A guest that runs out of memory, time or output space fails its call
//! cleanly; the host goes on.

use std::time::Duration;

use kata_abi::{Limits, Timestamp};
use kata_wasi::{Guest, GuestConfig, GuestError};

use crate::support::*;

fn big_files(n: usize, size: usize) -> kata_types::Files {
    (0..n)
        .map(|i| (p(&format!("f{i}.txt")), "x".repeat(size)))
        .collect()
}

#[test]
fn running_out_of_memory_is_an_error_not_a_crash() {
    let small = Guest::new(GuestConfig {
        memory_bytes: 4 << 20,
        ..GuestConfig::default()
    })
    .unwrap();
    let err = small
        .pack_files(&big_files(4, 2 << 20), Timestamp::now())
        .unwrap_err();
    assert!(matches!(err, GuestError::OutOfMemory { .. }), "{err}");
    // The same guest still serves calls that fit.
    small
        .pack_files(&big_files(1, 10), Timestamp::now())
        .unwrap();
}

#[test]
fn running_out_of_time_is_an_error_not_a_hang() {
    let hasty = Guest::new(GuestConfig {
        time_limit: Duration::from_millis(1),
        ..GuestConfig::default()
    })
    .unwrap();
    let kata = Kata::new();
    let tar = guest()
        .pack_files(&big_files(200, 100_000), Timestamp::now())
        .unwrap();
    let started = std::time::Instant::now();
    let err = hasty
        .unpack(&kata.dir(), &tar, &Limits::default())
        .unwrap_err();
    assert!(matches!(err, GuestError::OutOfTime { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn output_over_the_cap_is_an_error() {
    let tight = Guest::new(GuestConfig {
        max_output_bytes: 100_000,
        ..GuestConfig::default()
    })
    .unwrap();
    let err = tight
        .pack_files(&big_files(2, 100_000), Timestamp::now())
        .unwrap_err();
    assert!(matches!(err, GuestError::OutputTooLarge { .. }), "{err}");
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let err = guest()
        .pack_dir(std::path::Path::new("/no/such/kata"), &Limits::default())
        .unwrap_err();
    assert!(matches!(err, GuestError::Preopen { .. }), "{err}");
    assert!(err.to_string().contains("/no/such/kata"), "{err}");
}

#[test]
fn many_calls_at_once_all_succeed() {
    let fs = files(&[("cyber-dojo.sh", "make")]);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                for _ in 0..10 {
                    guest().pack_files(&fs, Timestamp::now()).unwrap();
                }
            });
        }
    });
}
