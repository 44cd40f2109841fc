//! Random trees survive every round trip through the guest.

use std::collections::BTreeMap;

use kata_abi::{Limits, Timestamp};
use kata_types::Files;
use proptest::prelude::*;

use crate::support::*;

/// Relative paths of 1-3 components from a small alphabet (so that
/// directories are shared), each with bytes and an mtime.
fn trees() -> impl Strategy<Value = BTreeMap<String, (Vec<u8>, i64)>> {
    let name = "[a-c]{1,2}(\\.[a-z]{1,3})?";
    let path = prop::collection::vec(name, 1..=3).prop_map(|c| c.join("/"));
    let file = (
        prop::collection::vec(any::<u8>(), 0..2048),
        1_000_000_000i64..2_000_000_000,
    );
    prop::collection::btree_map(path, file, 0..24).prop_map(|mut m| {
        // A path cannot be both a file and a directory: drop the file.
        let keys: Vec<String> = m.keys().cloned().collect();
        m.retain(|k, _| !keys.iter().any(|o| o.starts_with(&format!("{k}/"))));
        m
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pack_dir_unpack_round_trips(made in trees()) {
        let from = Kata::new();
        write_tree(&from.dir(), &made);
        let packed = guest().pack_dir(&from.dir(), &Limits::default()).unwrap();
        prop_assert!(packed.report.refused.is_empty());
        let to = Kata::new();
        // Something to be replaced: unpack must remove it.
        std::fs::write(to.dir().join("stale"), "stale").unwrap();
        guest().unpack(&to.dir(), &packed.tar, &Limits::default()).unwrap();
        let got = tree(&to.dir());
        prop_assert_eq!(got.len(), made.len());
        for (name, (bytes, secs)) in &made {
            prop_assert_eq!(&got[name].0, bytes);
            prop_assert_eq!(got[name].1.unix_seconds(), *secs);
        }
    }

    #[test]
    fn text_files_round_trip_through_pack_files_and_harvest(made in trees()) {
        let files: Files = made
            .iter()
            .map(|(k, (bytes, _))| (p(k), String::from_utf8_lossy(bytes).replace('\0', "")))
            .collect();
        let tar = guest().pack_files(&files, Timestamp::now()).unwrap();
        let (checked, delta, report) = guest().harvest_tar(&tar, &files, &Limits::default()).unwrap();
        prop_assert!(report.refused.is_empty());
        prop_assert_eq!(delta, Default::default());
        prop_assert_eq!(tar_entries(&checked), tar_entries(&tar));
    }
}
