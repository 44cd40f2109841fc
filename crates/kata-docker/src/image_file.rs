//! Reading one file out of an image, without running it: a created (never
//! started) container and the archive API.

use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::DownloadFromContainerOptions;
use futures_util::StreamExt;

use crate::executor::LABEL_INSTANCE;
use crate::guard::ContainerGuard;
use crate::image::normalize_image;
use crate::{ExecError, Executor};

/// The most an image file may hold: rules files are a few lines.
const FILE_CAP: usize = 1 << 20;

impl Executor {
    /// The bytes of regular file `path` in `image`, or `None` if there is no
    /// such file. The container is created, never started, and removed on
    /// every path (it carries the instance label, so the reaper finds it
    /// after a crash too).
    pub async fn image_file(&self, image: &str, path: &str) -> Result<Option<Vec<u8>>, ExecError> {
        let image = normalize_image(image)?;
        let docker = self.docker().clone();
        let name = format!("{}-file-{:x}", self.config().instance, rand_suffix());
        let body = ContainerCreateBody {
            image: Some(image.clone()),
            cmd: Some(vec!["true".into()]),
            network_disabled: Some(true),
            labels: Some(HashMap::from([(
                LABEL_INSTANCE.to_owned(),
                self.config().instance.clone(),
            )])),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut guard = ContainerGuard::new(docker.clone(), name.clone());
        guard
            .create(body, "creating a container to read a file")
            .await?;
        let read = async {
            let options = DownloadFromContainerOptions {
                path: path.to_owned(),
            };
            let mut stream = docker.download_from_container(&name, Some(options));
            let mut tar = Vec::new();
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(bytes) if tar.len() + bytes.len() <= FILE_CAP + 64 * 1024 => {
                        tar.extend_from_slice(&bytes)
                    }
                    Ok(_) => return Ok(None),
                    Err(DockerError::DockerResponseServerError {
                        status_code: 404, ..
                    }) => return Ok(None),
                    Err(source) => {
                        return Err(ExecError::Engine {
                            context: "reading a file from an image",
                            source,
                        });
                    }
                }
            }
            Ok(first_regular_file(&tar))
        };
        let result = read.await;
        guard.remove_within(Duration::from_secs(5)).await;
        result
    }
}

/// The archive API wraps the file in a tar of one entry.
fn first_regular_file(tar: &[u8]) -> Option<Vec<u8>> {
    let mut archive = tar::Archive::new(tar);
    let mut entry = archive.entries().ok()?.next()?.ok()?;
    if entry.header().entry_type() != tar::EntryType::Regular || entry.size() > FILE_CAP as u64 {
        return None;
    }
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

fn rand_suffix() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    nanos ^ (u128::from(std::process::id()) << 64) ^ u128::from(N.fetch_add(1, Ordering::Relaxed))
}
