//! The container goes on every path: a dropped future, a panic, a dead server.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateContainerOptions;
use kata_docker::{Executor, ExecutorConfig, LABEL_INSTANCE, LABEL_KATA};

use crate::support::*;

/// The client went away: the server drops the run's future mid-run.
pub async fn dropped_future_removes_the_container() {
    let id = kata_id();
    let task_id = id.clone();
    let run = tokio::spawn(async move {
        let exec = executor().await;
        exec.run(job(
            BUSYBOX,
            &task_id,
            &[("cyber-dojo.sh", b"sleep 30")],
            20,
        ))
        .await
    });
    wait_for_container(&id).await;
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    assert_gone(&id, Duration::from_secs(5)).await;
}

/// Dropped while the create request is still in flight: the guard cannot
/// know the container yet, so it keeps looking for it by name.
pub async fn future_dropped_during_create_removes_the_container() {
    let id = kata_id();
    let run = executor()
        .await
        .run(job(BUSYBOX, &id, &[("cyber-dojo.sh", b"sleep 30")], 20));
    let dropped = tokio::time::timeout(Duration::from_millis(3), run).await;
    assert!(dropped.is_err(), "the run finished in 3 ms");
    // The container may appear only now; give the engine time to create it
    // before checking that it went again.
    let mut seen = false;
    for _ in 0..20 {
        seen |= !containers_of(&id).await.is_empty();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("container seen after the drop: {seen}");
    assert_gone(&id, Duration::from_secs(12)).await;
}

/// A panic unwinding through a task that awaits a run.
pub async fn panic_removes_the_container() {
    let id = kata_id();
    let task_id = id.clone();
    let task = tokio::spawn(async move {
        let exec = executor().await;
        let run = exec.run(job(
            BUSYBOX,
            &task_id,
            &[("cyber-dojo.sh", b"sleep 30")],
            20,
        ));
        tokio::select! {
            _ = run => {}
            () = async {
                wait_for_container(&task_id).await;
            } => panic!("the server panics mid-run"),
        }
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    assert_gone(&id, Duration::from_secs(5)).await;
}

/// A dead server's containers carry its instance label; the next one's
/// reaper removes them (running or not), and not another instance's.
pub async fn reaper_removes_orphans() {
    let docker = docker().await;
    let (orphans, bystander) = (kata_id(), kata_id());
    let specs = [
        (REAP_TEST_INSTANCE, &orphans, true),
        (REAP_TEST_INSTANCE, &orphans, false),
        (TEST_INSTANCE, &bystander, true),
    ];
    for (n, (instance, id, start)) in specs.into_iter().enumerate() {
        let body = ContainerCreateBody {
            image: Some(format!("{BUSYBOX}:latest")),
            entrypoint: Some(vec!["sleep".into(), "60".into()]),
            labels: Some(HashMap::from([
                (LABEL_INSTANCE.to_owned(), instance.to_owned()),
                (LABEL_KATA.to_owned(), id.to_string()),
            ])),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(format!("{instance}-{id}-{n}")),
            ..Default::default()
        };
        let created = docker.create_container(Some(options), body).await.unwrap();
        if start {
            docker.start_container(&created.id, None).await.unwrap();
        }
    }
    assert_eq!(containers_of(&orphans).await.len(), 2);

    let reaper = Executor::connect(ExecutorConfig {
        instance: REAP_TEST_INSTANCE.to_owned(),
        ..ExecutorConfig::default()
    })
    .await
    .unwrap();
    let reaped = reaper.reap().await.unwrap();
    let bystanders = containers_of(&bystander).await.len();
    // Not by reaping the test instance: that would hit the other tests' runs.
    remove_by_kata(&bystander).await;
    assert_eq!(reaped, 2);
    assert_eq!(
        bystanders, 1,
        "the reaper removed another instance's container"
    );
    assert_gone(&orphans, Duration::ZERO).await;
    assert_eq!(reaper.reap().await.unwrap(), 0);
}

async fn remove_by_kata(id: &kata_types::KataId) {
    let options = bollard::query_parameters::RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    for name in containers_of(id).await {
        let _ = docker()
            .await
            .remove_container(name.trim_start_matches('/'), Some(options.clone()))
            .await;
    }
}
