//! Where katas live, and who owns their sandboxes.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use kata_store::{DirKatas, SANDBOX_GID, SANDBOX_MODE, SANDBOX_UID};

use crate::common::{id, store};

#[test]
fn ids_map_into_root_xx_yy_zz() {
    let (_tmp, katas) = store();
    let root = katas.root();
    assert!(root.is_absolute());
    for (kata, rel) in [
        ("34de2W-7", "34/de/2W-7"),
        ("34de2W", "34/de/2W"),
        ("aBcDeF-1234", "aB/cD/eF-1234"),
    ] {
        let dir = katas.kata_dir(&id(kata));
        assert_eq!(dir, root.join(rel));
        assert_eq!(
            katas.history_dir(&id(kata)),
            root.join(rel).join("history.git")
        );
    }
    // Anything that could climb out is not a KataId in the first place.
    for bad in ["../../x", "34/e2W", "..", "34de2W/..", "./34de"] {
        assert!(kata_types::KataId::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn the_root_is_made_private_and_an_existing_one_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let new = tmp.path().join("new");
    DirKatas::open(&new).unwrap();
    assert_eq!(std::fs::metadata(&new).unwrap().mode() & 0o7777, 0o700);

    let existing = tmp.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o755)).unwrap();
    DirKatas::open(&existing).unwrap();
    assert_eq!(std::fs::metadata(&existing).unwrap().mode() & 0o7777, 0o755);

    let file = tmp.path().join("file");
    std::fs::write(&file, "").unwrap();
    assert!(DirKatas::open(&file).is_err());
}

fn running_as_root() -> bool {
    euid() == 0
}

fn euid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}

#[test]
fn a_new_sandbox_belongs_to_the_container_user_and_passes_its_group_on() {
    if !running_as_root() {
        // Only root may give a directory away; the CI machines run as root.
        eprintln!("not root: skipping the ownership check");
        return;
    }
    let (_tmp, katas) = store();
    let kata = id("34de2W");
    let sandbox = katas.sandbox_dir(&kata).unwrap();
    assert_eq!(sandbox, katas.kata_dir(&kata).join("sandbox"));
    let meta = std::fs::symlink_metadata(&sandbox).unwrap();
    assert!(meta.is_dir());
    assert_eq!((meta.uid(), meta.gid()), (SANDBOX_UID, SANDBOX_GID));
    assert_eq!(meta.mode() & 0o7777, SANDBOX_MODE);

    // setgid: what the server makes inside later belongs to the group too,
    // subdirectories included (and they inherit setgid).
    let sub = sandbox.join("d1");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("f"), "").unwrap();
    assert_eq!(std::fs::metadata(&sub).unwrap().gid(), SANDBOX_GID);
    assert_eq!(std::fs::metadata(&sub).unwrap().mode() & 0o2000, 0o2000);
    assert_eq!(std::fs::metadata(sub.join("f")).unwrap().gid(), SANDBOX_GID);

    // Nothing but the sandbox and its history sits in the kata directory:
    // no temporary left behind.
    let names: Vec<String> = std::fs::read_dir(katas.kata_dir(&kata))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["sandbox"]);
}

#[test]
fn an_existing_sandbox_and_what_is_in_it_are_never_touched() {
    let (_tmp, katas) = store();
    let kata = id("34de2W");
    let sandbox = katas.sandbox_dir(&kata).unwrap();
    // As if user code and an admin had been at it.
    std::fs::set_permissions(&sandbox, std::fs::Permissions::from_mode(0o700)).unwrap();
    let inside = sandbox.join("made-by-user-code");
    std::fs::write(&inside, "x").unwrap();
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (before, inside_before) = (
        std::fs::metadata(&sandbox).unwrap(),
        std::fs::metadata(&inside).unwrap(),
    );

    assert_eq!(katas.sandbox_dir(&kata).unwrap(), sandbox);
    let (after, inside_after) = (
        std::fs::metadata(&sandbox).unwrap(),
        std::fs::metadata(&inside).unwrap(),
    );
    assert_eq!(
        (after.mode(), after.uid(), after.gid()),
        (before.mode(), before.uid(), before.gid())
    );
    assert_eq!(
        (inside_after.mode(), inside_after.uid(), inside_after.gid()),
        (
            inside_before.mode(),
            inside_before.uid(),
            inside_before.gid()
        )
    );
}

#[test]
fn a_sandbox_that_is_not_a_directory_is_an_error_not_followed() {
    let (tmp, katas) = store();
    let kata = id("linked");
    std::fs::create_dir_all(katas.kata_dir(&kata)).unwrap();
    std::os::unix::fs::symlink(tmp.path(), katas.kata_dir(&kata).join("sandbox")).unwrap();
    let err = katas.sandbox_dir(&kata).unwrap_err();
    assert!(err.to_string().contains("sandbox"), "{err}");
}
