//! The katas store's side door into Docker: a long-lived data container that
//! holds a named volume, reached only through the Engine API.
//!
//! No run container ever mounts the volume (a run could otherwise `rm -rf`
//! every kata). The server never sees it as a host path either, so it works
//! with the server in a container and against a remote engine. Every access
//! is an `exec` of a fixed `sh` script in the data container, with paths as
//! positional arguments (never spliced into the script) and bytes on
//! stdin/stdout.

use std::collections::HashMap;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, VolumeCreateRequest};
use bollard::query_parameters::CreateContainerOptions;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::{ExecError, Executor};

/// The label every data container carries (its value: the volume). The
/// reaper leaves these alone: they hold the katas.
pub const LABEL_DATA: &str = "kata-runner.data";
/// Where the volume is mounted inside the data container.
pub const DATA_MOUNT: &str = "/katas";

/// Exit status the scripts below use for "the target already exists".
const EXIT_EXISTS: i64 = 17;
/// Exit status for "no such file".
const EXIT_MISSING: i64 = 44;

/// A running data container holding one katas volume.
#[derive(Debug, Clone)]
pub struct DataContainer {
    docker: Docker,
    name: String,
    cap: usize,
}

/// How a write treats a file that is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Replace it (atomically: readers see the old or the new bytes).
    Replace,
    /// Leave it and report [`Written::Exists`]: append-only histories.
    CreateNew,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The bytes are in place.
    Done,
    /// [`Write::CreateNew`] found the file there already.
    Exists,
}

impl Executor {
    /// The data container for `volume`, created (with the volume) if
    /// missing and started if stopped. `image` needs `sh` and busybox or
    /// coreutils (`cat`, `dd` with `iflag=count_bytes`, `ln`, `mv`, `wc`, …); no
    /// network.
    pub async fn data_container(
        &self,
        volume: &str,
        image: &str,
    ) -> Result<DataContainer, ExecError> {
        let docker = self.docker().clone();
        let name = format!("kata-runner-data-{volume}");
        match docker.inspect_container(&name, None).await {
            Ok(inspect) if inspect.state.as_ref().and_then(|s| s.running) == Some(true) => {}
            Ok(_) => start(&docker, &name).await?,
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                create(&docker, &name, volume, image).await?;
                start(&docker, &name).await?;
            }
            Err(source) => {
                return Err(ExecError::Engine {
                    context: "inspecting the data container",
                    source,
                });
            }
        }
        // A read may carry a saved sandbox and an event (files, output) at once.
        let cap = self.config().caps.sandbox_tar + (32 << 20);
        Ok(DataContainer { docker, name, cap })
    }
}

async fn create(docker: &Docker, name: &str, volume: &str, image: &str) -> Result<(), ExecError> {
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(volume.to_owned()),
            labels: Some(HashMap::from([(LABEL_DATA.to_owned(), volume.to_owned())])),
            ..Default::default()
        })
        .await
        .map_err(ExecError::engine("creating the katas volume"))?;
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        // Idles until stopped; `exec` does the work.
        cmd: Some(vec![
            "sh".into(),
            "-c".into(),
            "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done".into(),
        ]),
        labels: Some(HashMap::from([(LABEL_DATA.to_owned(), volume.to_owned())])),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            mounts: Some(vec![Mount {
                target: Some(DATA_MOUNT.into()),
                source: Some(volume.to_owned()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            }]),
            restart_policy: Some(bollard::models::RestartPolicy {
                name: Some(bollard::models::RestartPolicyNameEnum::UNLESS_STOPPED),
                ..Default::default()
            }),
            cap_drop: Some(vec!["ALL".into()]),
            cap_add: Some(vec!["CHOWN".into(), "DAC_OVERRIDE".into(), "FOWNER".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            readonly_rootfs: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptions {
        name: Some(name.to_owned()),
        ..Default::default()
    };
    match docker.create_container(Some(options), body).await {
        Ok(_) => Ok(()),
        // Another server made it first: fine.
        Err(DockerError::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(()),
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => Err(ExecError::ImageNotFound {
            image: image.to_owned(),
            pulling: false,
        }),
        Err(source) => Err(ExecError::Engine {
            context: "creating the data container",
            source,
        }),
    }
}

async fn start(docker: &Docker, name: &str) -> Result<(), ExecError> {
    match docker.start_container(name, None).await {
        Ok(())
        | Err(DockerError::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(()),
        Err(source) => Err(ExecError::Engine {
            context: "starting the data container",
            source,
        }),
    }
}

impl DataContainer {
    /// The container's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Removes the data container and its volume, with every kata in it.
    /// For tests and for operators retiring a store; never called by a run.
    pub async fn destroy(self, volume: &str) -> Result<(), ExecError> {
        let options = bollard::query_parameters::RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self
            .docker
            .remove_container(&self.name, Some(options))
            .await
        {
            Ok(())
            | Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(source) => {
                return Err(ExecError::Engine {
                    context: "removing the data container",
                    source,
                });
            }
        }
        match self
            .docker
            .remove_volume(
                volume,
                None::<bollard::query_parameters::RemoveVolumeOptions>,
            )
            .await
        {
            Ok(())
            | Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(source) => Err(ExecError::Engine {
                context: "removing the katas volume",
                source,
            }),
        }
    }

    /// The bytes of `path` (relative to the volume), or `None` if missing.
    pub async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, ExecError> {
        let script = r#"[ -f "$1" ] || exit 44; exec cat -- "$1""#;
        let (status, out) = self.exec(script, &[path], None).await?;
        match status {
            0 => Ok(Some(out)),
            EXIT_MISSING => Ok(None),
            _ => Err(self.failed("reading", path, status, &out)),
        }
    }

    /// Writes `bytes` to `path` (relative to the volume), making its
    /// directories. The file appears whole or not at all: it is written
    /// under a temporary name and then renamed, or hard-linked for
    /// [`Write::CreateNew`] (which fails if the name exists, atomically).
    pub async fn write(
        &self,
        path: &str,
        bytes: Vec<u8>,
        mode: Write,
    ) -> Result<Written, ExecError> {
        let script = r#"set -e
d=$(dirname -- "$1"); mkdir -p -- "$d"
t="$d/.tmp.$$.$(basename -- "$1")"
cat > "$t"
# A feed cut short is never saved.
if [ $(wc -c < "$t") -ne "$3" ]; then rm -f -- "$t"; exit 18; fi
if [ "$2" = new ]; then
  if ln -- "$t" "$1" 2>/dev/null; then rm -f -- "$t"; else rm -f -- "$t"; exit 17; fi
else
  mv -f -- "$t" "$1"
fi"#;
        let how = match mode {
            Write::Replace => "replace",
            Write::CreateNew => "new",
        };
        let len = bytes.len().to_string();
        let (status, out) = self.exec(script, &[path, how, &len], Some(bytes)).await?;
        match status {
            0 => Ok(Written::Done),
            EXIT_EXISTS => Ok(Written::Exists),
            _ => Err(self.failed("writing", path, status, &out)),
        }
    }

    /// The names in directory `path` (relative to the volume), sorted;
    /// empty if it is missing. Temporary files of unfinished writes are not
    /// listed.
    pub async fn list(&self, path: &str) -> Result<Vec<String>, ExecError> {
        let script = r#"[ -d "$1" ] || exit 0; cd -- "$1" && for f in *; do [ -e "$f" ] && printf '%s\n' "$f"; done; exit 0"#;
        let (status, out) = self.exec(script, &[path], None).await?;
        if status != 0 {
            return Err(self.failed("listing", path, status, &out));
        }
        let mut names: Vec<String> = String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with(".tmp."))
            .map(str::to_owned)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Runs `sh -c script` in the volume's directory with `args` as `$1…`;
    /// returns its status and stdout (capped; stderr is appended on failure).
    /// Runs a script of the caller's in the volume's directory, `args` as
    /// `$1…`, `stdin` on its stdin: for work that must be one exec (each
    /// costs a process in the container and three API calls). Returns the
    /// exit status and stdout (capped), stderr appended when it failed.
    pub async fn run_script(
        &self,
        script: &str,
        args: &[&str],
        stdin: Option<Vec<u8>>,
    ) -> Result<(i64, Vec<u8>), ExecError> {
        self.exec(script, args, stdin).await
    }

    /// An error for a script that failed.
    pub fn script_failed(&self, what: &str, path: &str, status: i64, out: &[u8]) -> ExecError {
        self.failed(what, path, status, out)
    }

    async fn exec(
        &self,
        script: &str,
        args: &[&str],
        stdin: Option<Vec<u8>>,
    ) -> Result<(i64, Vec<u8>), ExecError> {
        let mut cmd = vec!["sh", "-c", script, "sh"];
        cmd.extend_from_slice(args);
        let options = CreateExecOptions {
            cmd: Some(cmd),
            working_dir: Some(DATA_MOUNT),
            attach_stdin: Some(stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = self
            .docker
            .create_exec(&self.name, options)
            .await
            .map_err(ExecError::engine("creating an exec in the data container"))?;
        let started = self
            .docker
            .start_exec(
                &exec.id,
                Some(StartExecOptions {
                    detach: false,
                    ..Default::default()
                }),
            )
            .await
            .map_err(ExecError::engine("starting an exec in the data container"))?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        else {
            unreachable!("started attached");
        };
        let feed = async move {
            if let Some(bytes) = stdin {
                input.write_all(&bytes).await?;
            }
            input.shutdown().await
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        let collect = async {
            while let Some(frame) = output.next().await {
                match frame.map_err(ExecError::engine("reading an exec's output"))? {
                    LogOutput::StdOut { message } => {
                        if out.len() + message.len() > self.cap {
                            return Err(ExecError::Config(format!(
                                "a file in the data container is over the {} byte cap",
                                self.cap
                            )));
                        }
                        out.extend_from_slice(&message);
                    }
                    LogOutput::StdErr { message } if err.len() < 4096 => {
                        err.extend_from_slice(&message)
                    }
                    _ => {}
                }
            }
            Ok(())
        };
        let (fed, collected) = tokio::join!(feed, collect);
        collected?;
        fed.map_err(|e| ExecError::Config(format!("feeding an exec in the data container: {e}")))?;
        // The output can end a moment before the engine records the exit.
        let mut status = None;
        for _ in 0..100 {
            let inspect = self
                .docker
                .inspect_exec(&exec.id)
                .await
                .map_err(ExecError::engine(
                    "inspecting an exec in the data container",
                ))?;
            if inspect.running != Some(true) {
                status = inspect.exit_code;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let status = status.unwrap_or(-1);
        if status != 0 {
            out.extend_from_slice(&err);
        }
        Ok((status, out))
    }

    fn failed(&self, what: &str, path: &str, status: i64, out: &[u8]) -> ExecError {
        ExecError::DataContainer {
            container: self.name.clone(),
            message: format!(
                "{what} {path} failed with status {status}: {}",
                String::from_utf8_lossy(&out[out.len().saturating_sub(512)..]).trim()
            ),
        }
    }
}
