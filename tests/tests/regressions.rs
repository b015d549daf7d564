//! Regressions found by the crash test, kept as small tests on both databases.

use chrono::Duration;
use motcua_engine::{CommandOptions, DeployFile, InstanceStatus, StartInstance};
use motcua_tests::{Backend, TestDb};
use serde_json::{json, Map};

const WORKER_PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:motcua="urn:motcua:bpmn:1.0" id="d" targetNamespace="urn:t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:serviceTask id="notify" motcua:topic="notify"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="notify"/>
    <bpmn:sequenceFlow id="f2" sourceRef="notify" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// A worker whose answer was lost retries its completion with the same key after the job was
/// closed (and its lock cleared): it gets the first answer, not a conflict.
async fn a_retried_job_completion_returns_its_first_answer(backend: Backend) {
    let Some(db) = TestDb::new(backend, "a_retried_job_completion_returns_its_first_answer").await
    else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy(
            "p",
            &[DeployFile {
                name: "p.bpmn".into(),
                bytes: WORKER_PROCESS.as_bytes().to_vec(),
            }],
        )
        .await
        .expect("deploy");
    let started = engine
        .start(
            StartInstance {
                key: "p".into(),
                ..StartInstance::default()
            },
            CommandOptions::default(),
        )
        .await
        .expect("start");
    let jobs = engine
        .fetch_and_lock("notify", "w1", 1, Duration::minutes(1))
        .await
        .expect("fetch");
    let job = jobs[0].job.id;
    let mut vars = Map::new();
    vars.insert("sent".into(), json!(true));
    let key = CommandOptions::default().with_key("job-1-complete");
    let first = engine
        .complete_job(job, "w1", vars.clone(), key.clone())
        .await
        .expect("complete");
    assert_eq!(first.status, InstanceStatus::Completed);
    let again = engine
        .complete_job(job, "w1", vars, key)
        .await
        .expect("the retry gets the first answer");
    assert_eq!(first, again);
    // Without a key, the same late completion is a conflict: the job is not locked any more.
    assert!(engine
        .complete_job(job, "w1", Map::new(), CommandOptions::default())
        .await
        .is_err());
    engine
        .verify_instance(started.instance)
        .await
        .expect("replays");
}

/// A worker whose fetch answer was lost retries it with the same key: it gets the same jobs
/// again instead of locking more; the same key for another request is a conflict.
async fn a_retried_keyed_fetch_returns_the_same_jobs(backend: Backend) {
    let Some(db) = TestDb::new(backend, "a_retried_keyed_fetch_returns_the_same_jobs").await else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy(
            "p",
            &[DeployFile {
                name: "p.bpmn".into(),
                bytes: WORKER_PROCESS.as_bytes().to_vec(),
            }],
        )
        .await
        .expect("deploy");
    for _ in 0..3 {
        engine
            .start(
                StartInstance {
                    key: "p".into(),
                    ..StartInstance::default()
                },
                CommandOptions::default(),
            )
            .await
            .expect("start");
    }
    let key = CommandOptions::default().with_key("fetch-1");
    let lock = Duration::minutes(1);
    let first = engine
        .fetch_and_lock_keyed("notify", "w1", 2, lock, &key)
        .await
        .expect("fetch");
    assert_eq!(first.len(), 2);
    let again = engine
        .fetch_and_lock_keyed("notify", "w1", 2, lock, &key)
        .await
        .expect("retry");
    let ids = |v: &[motcua_engine::FetchedJob]| v.iter().map(|f| f.job.id).collect::<Vec<_>>();
    assert_eq!(
        ids(&first),
        ids(&again),
        "the same jobs, nothing more locked"
    );
    let rest = engine
        .fetch_and_lock("notify", "w2", 10, lock)
        .await
        .expect("fetch the rest");
    assert_eq!(rest.len(), 1, "the retry locked no extra job");
    let other = engine
        .fetch_and_lock_keyed("notify", "w1", 5, lock, &key)
        .await
        .unwrap_err();
    assert!(
        matches!(other, motcua_engine::EngineError::Conflict(_)),
        "{other:?}"
    );
}

motcua_tests::on_both_databases!(
    a_retried_job_completion_returns_its_first_answer,
    a_retried_keyed_fetch_returns_the_same_jobs,
);
