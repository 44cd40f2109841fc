use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use kata_docker::{ExecError, RunJob, Sandbox};

use crate::support::*;

/// The volume-backed katas backend: one kata's directory is mounted at
/// `/sandbox`, changed in place, and nothing else of the host is visible.
pub async fn bind_mounted_sandbox_is_changed_in_place() {
    let host = tempfile::tempdir().unwrap();
    let kata_dir = host.path().join("34").join("de").join("2W");
    std::fs::create_dir_all(&kata_dir).unwrap();
    std::fs::write(host.path().join("other-kata.txt"), "secret").unwrap();
    std::fs::write(
        kata_dir.join("cyber-dojo.sh"),
        "cat hiker.txt; echo new > created.txt; ls -a /sandbox/..; cat ../other-kata.txt 2>/dev/null || echo unreachable",
    )
    .unwrap();
    std::fs::write(kata_dir.join("hiker.txt"), "hello\n").unwrap();
    // The container's user must be able to write; a real backend chowns.
    std::fs::set_permissions(&kata_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let kata_dir = std::fs::canonicalize(&kata_dir).unwrap();

    let id = kata_id();
    let r = executor()
        .await
        .run(RunJob {
            image: BUSYBOX.to_owned(),
            kata_id: id.clone(),
            sandbox: Sandbox::BindMount(kata_dir.clone()),
            max_seconds: 10,
            limits: None,
        })
        .await
        .unwrap();
    assert_gone(&id, Duration::ZERO).await;
    assert_eq!(r.status, 0, "{}", text(&r.stderr.bytes));
    assert!(r.sandbox_tar.is_none());
    let out = text(&r.stdout.bytes);
    assert!(out.starts_with("hello\n"), "{out}");
    assert!(out.ends_with("unreachable\n"), "{out}");
    assert!(!out.contains("other-kata.txt"), "{out}");
    assert_eq!(
        std::fs::read_to_string(kata_dir.join("created.txt")).unwrap(),
        "new\n"
    );

    // A path through a symlink could point the mount anywhere.
    let link = host.path().join("link");
    std::os::unix::fs::symlink(&kata_dir, &link).unwrap();
    let err = executor()
        .await
        .run(RunJob {
            image: BUSYBOX.to_owned(),
            kata_id: id.clone(),
            sandbox: Sandbox::BindMount(link),
            max_seconds: 10,
            limits: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ExecError::BindMount { .. }), "{err:?}");
}
