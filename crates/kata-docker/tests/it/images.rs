use std::time::{Duration, Instant};

use kata_docker::{ExecError, Limits, PullState};

use crate::support::*;

pub async fn image_without_bash() {
    let id = kata_id();
    let err = executor()
        .await
        .run(job(NO_BASH, &id, &[("cyber-dojo.sh", b"echo hi")], 10))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ExecError::NoBash { image } if image == "kata-runner/no-bash:latest"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "image kata-runner/no-bash:latest has no bash"
    );
    assert_gone(&id, Duration::ZERO).await;
}

/// No registry is reachable here: a missing image is a prompt, clear error,
/// and pulling it is cyber-dojo's `pulling` until it arrives (never, here).
pub async fn missing_image_and_pulling() {
    let exec = executor().await;
    let id = kata_id();
    let missing = "kata-runner/not-built-anywhere";
    let started = Instant::now();
    let err = exec
        .run(job(missing, &id, &[("cyber-dojo.sh", b"true")], 10))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    match err {
        ExecError::ImageNotFound { image, pulling } => {
            assert_eq!(image, "kata-runner/not-built-anywhere:latest");
            assert!(pulling, "the default config pulls missing images");
        }
        other => panic!("{other:?}"),
    }
    assert_gone(&id, Duration::ZERO).await;

    assert!(!exec.image_exists(missing).await.unwrap());
    assert_eq!(exec.pull_image(missing).await.unwrap(), PullState::Pulling);
    assert_eq!(exec.pull_image(BUSYBOX).await.unwrap(), PullState::Pulled);
    assert!(
        exec.image_exists(&format!("{BUSYBOX}:latest"))
            .await
            .unwrap()
    );
}

pub async fn invalid_image_name() {
    let id = kata_id();
    let err = executor()
        .await
        .run(job(
            "bad image;rm -rf /",
            &id,
            &[("cyber-dojo.sh", b"true")],
            10,
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, ExecError::InvalidImage { .. }), "{err:?}");
}

/// An image without `/bin/sh` cannot run the wrapper: a clear error, not an
/// engine failure. The image is one file, imported here through the API.
pub async fn image_without_sh() {
    let image = "kata-runner-test/no-sh:latest";
    let docker = docker().await;
    if docker.inspect_image(image).await.is_err() {
        let rootfs = sandbox_tar(&[("etc/motd", b"no shell here\n")]);
        let options = bollard::query_parameters::CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some("kata-runner-test/no-sh".into()),
            tag: Some("latest".into()),
            ..Default::default()
        };
        let mut import =
            docker.create_image(Some(options), Some(bollard::body_full(rootfs.into())), None);
        while let Some(step) = futures_util::StreamExt::next(&mut import).await {
            step.expect("importing a one-file image");
        }
    }
    // With docker-init the shell is missed by docker-init; without it, by
    // the runtime when the container starts.
    for init in [true, false] {
        let id = kata_id();
        let mut job = job(image, &id, &[("cyber-dojo.sh", b"echo hi")], 10);
        job.limits = Some(Limits {
            init,
            ..Limits::default()
        });
        let err = executor().await.run(job).await.unwrap_err();
        assert!(
            matches!(&err, ExecError::CannotStart { message, .. } if message.contains("/bin/sh")),
            "init {init}: {err:?}"
        );
        assert_gone(&id, Duration::ZERO).await;
    }
}
