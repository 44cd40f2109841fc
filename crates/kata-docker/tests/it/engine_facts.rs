//! The Docker behaviours the executor's design rests on (see lib.rs): if an
//! engine upgrade changes one of them, this says which.

use std::collections::HashMap;
use std::io::Read;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    DownloadFromContainerOptions, UploadToContainerOptions, WaitContainerOptions,
};
use futures_util::{StreamExt, TryStreamExt};
use kata_docker::{LABEL_INSTANCE, LABEL_KATA};

use crate::support::*;

/// A test container with our labels (so the suite's final check covers it),
/// removed by `remove`, or in the background if a failing assert drops it.
struct Scratch {
    name: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let name = std::mem::take(&mut self.name);
        tokio::spawn(async move {
            let options = bollard::query_parameters::RemoveContainerOptions {
                force: true,
                ..Default::default()
            };
            let _ = docker().await.remove_container(&name, Some(options)).await;
        });
    }
}

impl Scratch {
    async fn create(entrypoint: &[&str], host_config: HostConfig) -> Self {
        Self::create_with_stdin(entrypoint, host_config, false).await
    }

    async fn create_with_stdin(entrypoint: &[&str], host_config: HostConfig, stdin: bool) -> Self {
        let id = kata_id();
        let name = format!("{TEST_INSTANCE}-facts-{id}");
        let body = ContainerCreateBody {
            image: Some(format!("{BUSYBOX}:latest")),
            user: Some("41966:51966".into()),
            entrypoint: Some(entrypoint.iter().map(|s| s.to_string()).collect()),
            labels: Some(HashMap::from([
                (LABEL_INSTANCE.to_owned(), TEST_INSTANCE.to_owned()),
                (LABEL_KATA.to_owned(), id.to_string()),
            ])),
            host_config: Some(host_config),
            open_stdin: Some(stdin),
            stdin_once: Some(stdin),
            attach_stdin: Some(stdin),
            ..Default::default()
        };
        let options = bollard::query_parameters::CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        docker()
            .await
            .create_container(Some(options), body)
            .await
            .unwrap();
        Self { name }
    }

    async fn remove(mut self) {
        let options = bollard::query_parameters::RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        let name = std::mem::take(&mut self.name);
        docker()
            .await
            .remove_container(&name, Some(options))
            .await
            .unwrap();
    }
}

fn tmpfs_sandbox(read_only_root: bool) -> HostConfig {
    HostConfig {
        tmpfs: Some(HashMap::from([(
            "/sandbox".to_owned(),
            "rw,exec,uid=41966,gid=51966".to_owned(),
        )])),
        readonly_rootfs: Some(read_only_root),
        network_mode: Some("none".into()),
        ..Default::default()
    }
}

fn one_file_tar(name: &str) -> Vec<u8> {
    sandbox_tar(&[(name, b"uploaded")])
}

async fn wait_exit(docker: &Docker, name: &str) -> Result<i64, bollard::errors::Error> {
    let options = WaitContainerOptions {
        condition: "not-running".into(),
    };
    docker
        .wait_container(name, Some(options))
        .next()
        .await
        .unwrap()
        .map(|r| r.status_code)
}

/// `PUT /containers/{id}/archive` into a tmpfs mount is accepted and lost;
/// with a read-only root it is refused. Hence the tar on stdin.
pub async fn put_archive_into_tmpfs_is_lost() {
    let docker = docker().await;
    let c = Scratch::create(&["sh", "-c", "ls -A /sandbox"], tmpfs_sandbox(false)).await;
    let options = UploadToContainerOptions {
        path: "/sandbox".into(),
        ..Default::default()
    };
    docker
        .upload_to_container(
            &c.name,
            Some(options.clone()),
            bollard::body_full(one_file_tar("f.txt").into()),
        )
        .await
        .expect("the upload is accepted");
    let mut attach = docker
        .attach_container(
            &c.name,
            Some(bollard::query_parameters::AttachContainerOptions {
                stdout: true,
                stream: true,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    docker.start_container(&c.name, None).await.unwrap();
    let mut listed = Vec::new();
    while let Some(Ok(out)) = attach.output.next().await {
        listed.extend_from_slice(&out.into_bytes());
    }
    assert_eq!(text(&listed), "", "the uploaded file arrived after all");
    wait_exit(docker, &c.name).await.unwrap();
    c.remove().await;

    let c = Scratch::create(&["true"], tmpfs_sandbox(true)).await;
    let refused = docker
        .upload_to_container(
            &c.name,
            Some(options),
            bollard::body_full(one_file_tar("f.txt").into()),
        )
        .await;
    c.remove().await;
    assert!(
        refused.is_err(),
        "upload with a read-only root was accepted"
    );
}

/// `GET …/archive` does not see what the run wrote into a tmpfs; elsewhere it
/// returns the real uid, gid and mode (with the file-type bits), and
/// whole-second mtimes.
pub async fn get_archive_misses_tmpfs_and_truncates_mtimes() {
    let docker = docker().await;
    let script = "echo x > /sandbox/in-tmpfs.txt; mkdir -p /tmp/out; echo y > /tmp/out/on-disk.txt; chmod 640 /tmp/out/on-disk.txt";
    let c = Scratch::create(&["sh", "-c", script], tmpfs_sandbox(false)).await;
    docker.start_container(&c.name, None).await.unwrap();
    wait_exit(docker, &c.name).await.unwrap();

    let fetch = |path: &str| {
        let options = DownloadFromContainerOptions {
            path: path.to_owned(),
        };
        docker
            .download_from_container(&c.name, Some(options))
            .try_fold(Vec::new(), |mut acc, chunk| async move {
                acc.extend_from_slice(&chunk);
                Ok(acc)
            })
    };
    let sandbox = fetch("/sandbox").await.unwrap();
    assert!(!tar_entries(&sandbox).keys().any(|k| k.contains("in-tmpfs")));

    let on_disk = fetch("/tmp/out").await.unwrap();
    let mut archive = tar::Archive::new(&on_disk[..]);
    let mut found = false;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().ends_with("on-disk.txt") {
            let h = entry.header();
            assert_eq!(
                (h.uid().unwrap(), h.gid().unwrap(), h.mode().unwrap()),
                (41966, 51966, 0o100640)
            );
            // Whole seconds: no PAX record with a fractional mtime.
            let pax_mtime = entry
                .pax_extensions()
                .unwrap()
                .into_iter()
                .flatten()
                .any(|e| e.map(|e| e.key() == Ok("mtime")).unwrap_or(false));
            assert!(!pax_mtime);
            let mut data = String::new();
            entry.read_to_string(&mut data).unwrap();
            assert_eq!(data, "y\n");
            found = true;
        }
    }
    c.remove().await;
    assert!(found);
}

/// bollard reports a non-zero exit from `wait_container` as an `Err`.
pub async fn wait_reports_non_zero_exit_as_error() {
    let docker = docker().await;
    let c = Scratch::create(&["sh", "-c", "exit 7"], HostConfig::default()).await;
    docker.start_container(&c.name, None).await.unwrap();
    let waited = wait_exit(docker, &c.name).await;
    c.remove().await;
    match waited {
        Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => assert_eq!(code, 7),
        other => panic!("{other:?}"),
    }
}

/// Shutting down bollard's attach input half-closes the connection, and the
/// engine then closes the container's stdin (`stdin_once`): the wrapper's
/// `tar -x` sees the end of its input.
pub async fn closing_attach_input_ends_container_stdin() {
    use tokio::io::AsyncWriteExt;
    let docker = docker().await;
    let c = Scratch::create_with_stdin(&["sh", "-c", "cat; echo EOF"], HostConfig::default(), true)
        .await;
    let options = bollard::query_parameters::AttachContainerOptions {
        stdin: true,
        stdout: true,
        stream: true,
        ..Default::default()
    };
    let mut attached = docker
        .attach_container(&c.name, Some(options))
        .await
        .unwrap();
    docker.start_container(&c.name, None).await.unwrap();
    attached.input.write_all(b"hello\n").await.unwrap();
    attached.input.shutdown().await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(chunk)) = attached.output.next().await {
            out.extend_from_slice(&chunk.into_bytes());
        }
    })
    .await;
    c.remove().await;
    assert!(read.is_ok(), "stdin never ended: {:?}", text(&out));
    assert_eq!(text(&out), "hello\nEOF\n");
}
