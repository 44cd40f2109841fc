//! Removes a run's container on every path out of
//! [`Executor::run`](crate::Executor::run), the future being dropped and a
//! panic included.

use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};

use crate::ExecError;

/// What the guard knows about its container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A create request may be in flight: the container may appear later.
    MaybeCreating,
    /// The engine created it.
    Exists,
    /// Removed, or never created.
    Gone,
}

pub(crate) struct ContainerGuard {
    docker: Docker,
    name: String,
    state: State,
}

/// How long a dropped guard keeps trying. A create request still in flight
/// when the future was dropped finishes well within this.
const RETRY_FOR: Duration = Duration::from_secs(10);
const RETRY_EVERY: Duration = Duration::from_millis(250);

impl ContainerGuard {
    /// Made before the create request is sent, so that a drop during the
    /// request still looks for the container.
    pub(crate) fn new(docker: Docker, name: String) -> Self {
        Self {
            docker,
            name,
            state: State::MaybeCreating,
        }
    }

    /// Creates the guarded container from `body`. A missing image is
    /// [`ExecError::ImageNotFound`]; engine warnings are logged.
    pub(crate) async fn create(
        &mut self,
        body: ContainerCreateBody,
        context: &'static str,
    ) -> Result<(), ExecError> {
        let image = body.image.clone().unwrap_or_default();
        let options = CreateContainerOptions {
            name: Some(self.name.clone()),
            ..Default::default()
        };
        match self.docker.create_container(Some(options), body).await {
            Ok(created) => {
                self.state = State::Exists;
                for warning in created.warnings {
                    tracing::warn!(container = %self.name, "engine warning: {warning}");
                }
                Ok(())
            }
            Err(e) => {
                // The create request failed: the engine made nothing.
                self.state = State::Gone;
                match e {
                    DockerError::DockerResponseServerError {
                        status_code: 404, ..
                    } => Err(ExecError::ImageNotFound {
                        image,
                        pulling: false,
                    }),
                    source => Err(ExecError::Engine { context, source }),
                }
            }
        }
    }

    /// Removes the container now, waiting at most `budget`. If that fails
    /// the guard stays armed and its drop keeps trying in the background.
    pub(crate) async fn remove_within(&mut self, budget: Duration) {
        if self.state == State::Gone {
            return;
        }
        let attempt = remove(&self.docker, &self.name);
        match tokio::time::timeout(budget, attempt).await {
            Ok(Ok(Removed::Yes)) => self.state = State::Gone,
            Ok(Ok(Removed::NotFound)) if self.state == State::Exists => self.state = State::Gone,
            Ok(Ok(Removed::NotFound)) => {}
            Ok(Err(e)) => tracing::warn!(container = %self.name, "removing: {e}"),
            Err(_) => tracing::debug!(container = %self.name, "removal slower than {budget:?}"),
        }
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        if self.state == State::Gone {
            return;
        }
        let name = std::mem::take(&mut self.name);
        let maybe_creating = self.state == State::MaybeCreating;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let docker = self.docker.clone();
                runtime.spawn(remove_eventually(docker, name, maybe_creating));
            }
            // The client's connections belong to the runtime that made them,
            // so a drop outside any runtime connects afresh on its own.
            Err(_) => {
                std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async move {
                        match Docker::connect_with_defaults() {
                            Ok(docker) => remove_eventually(docker, name, maybe_creating).await,
                            Err(e) => tracing::warn!(container = %name, "cannot remove: {e}"),
                        }
                    });
                });
            }
        }
    }
}

async fn remove_eventually(docker: Docker, name: String, maybe_creating: bool) {
    let give_up = tokio::time::Instant::now() + RETRY_FOR;
    loop {
        match remove(&docker, &name).await {
            Ok(Removed::Yes) => return,
            Ok(Removed::NotFound) if !maybe_creating => return,
            Ok(Removed::NotFound) => {}
            Err(e) => tracing::debug!(container = %name, "removing, will retry: {e}"),
        }
        if tokio::time::Instant::now() >= give_up {
            if !maybe_creating {
                tracing::warn!(container = %name, "not removed; the reaper will remove it");
            }
            return;
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

pub(crate) enum Removed {
    Yes,
    NotFound,
}

/// Kills (SIGKILL) and removes the container and its anonymous volumes.
pub(crate) async fn remove(docker: &Docker, name: &str) -> Result<Removed, bollard::errors::Error> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(Removed::Yes),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(Removed::NotFound),
        Err(e) => Err(e),
    }
}
