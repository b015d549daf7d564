//! Crash safety end to end (issue 4, part 3): two real `motcua serve` nodes on one database take
//! concurrent load from clients that send every command with an `Idempotency-Key`; node A is
//! killed with SIGKILL in the middle of the load and started again on a fresh port. Every command
//! whose answer did not arrive (connection refused or reset, incomplete answer) is sent again,
//! unchanged and under the same key, to the other node or to the restarted one, until an answer
//! arrives. Afterwards the database must show:
//!
//! - one instance per start key (no duplicate start), every instance completed;
//! - every acknowledged command in the journal exactly once: per instance one `instance_started`,
//!   one `task_completed` for `t1` and one for `t2`, one `job_completed` for its one job;
//! - every instance's stored state equal to the replay of its journal (`verify_instance`);
//! - no job lost (every job completed, none open or locked) and none completed twice (each job
//!   acknowledged to exactly one worker);
//! - one idempotency record per acknowledged command, and every acknowledged command, sent once
//!   more with its key, answered exactly as the first time.
//!
//! The full run needs PostgreSQL (`MOTCUA_TEST_DATABASE_URL`; without it the run reports
//! `SKIPPED crash_under_load on postgres`). A smaller run puts both nodes on one SQLite file.

mod common;

use common::Server;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use motcua_engine::{Event, InstanceId, InstanceStatus};
use motcua_tests::{Backend, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Notify;

/// start → t1 (user task) → notify (external-worker job) → t2 (user task) → end.
const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:motcua="urn:motcua:bpmn:1.0"
    id="d" targetNamespace="urn:t">
  <bpmn:process id="crash" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="t1" name="Tiếp nhận" camunda:candidateGroups="g" />
    <bpmn:serviceTask id="notify" name="Gửi thông báo" motcua:topic="notify" />
    <bpmn:userTask id="t2" name="Trả kết quả" motcua:candidateGroups="g" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t1" />
    <bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="notify" />
    <bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="t2" />
    <bpmn:sequenceFlow id="f4" sourceRef="t2" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"#;

/// How many times one request is sent before the test gives up on an answer.
const MAX_ATTEMPTS: u32 = 400;

/// How long an external worker's lock lasts. Short: when a node dies after committing a
/// fetch-and-lock but before answering it, nobody knows the job is locked, and it must become
/// fetchable again soon (the lock expires; no job is lost).
const LOCK_SECONDS: u32 = 3;

/// What the run counts.
#[derive(Default)]
struct Stats {
    /// Commands answered with success.
    acked: AtomicUsize,
    /// Requests that got no answer (connection refused or reset, incomplete answer).
    no_answer: AtomicUsize,
    /// ... of which the request went out on an open connection (not refused): in flight at the
    /// kill, or sent on a kept-alive connection to the dead node.
    lost_in_flight: AtomicUsize,
    /// Keyed commands that needed more than one attempt.
    commands_retried: AtomicUsize,
    /// Requests that got no answer before the kill (must stay 0).
    no_answer_before_kill: AtomicUsize,
    /// Answers with a 5xx status (retried; must stay 0).
    server_errors: AtomicUsize,
    /// Job completions refused with 409 (a lock that expired): checked against the acks.
    job_conflicts: AtomicUsize,
    killed: AtomicBool,
}

/// One answer.
struct Answer {
    status: StatusCode,
    body: Value,
    attempts: u32,
}

/// The nodes' addresses (a restarted node's new one replaces its old one) and a client.
#[derive(Clone)]
struct Cluster {
    http: reqwest::Client,
    addrs: Arc<RwLock<Vec<String>>>,
    stats: Arc<Stats>,
    /// Woken after each acknowledged command, so the test can kill a node mid-load.
    progress: Arc<Notify>,
}

impl Cluster {
    /// One attempt: `Err` when no whole answer arrived.
    async fn once(
        &self,
        node: usize,
        method: &Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let base = {
            let addrs = self.addrs.read().expect("addresses");
            addrs[node % addrs.len()].clone()
        };
        let mut request = self.http.request(method.clone(), format!("{base}{path}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Sends a request to `node` first; while no answer arrives (or a 5xx does), sends the very
    /// same request (same key, same body) again, to the other node each time.
    async fn call(
        &self,
        node: usize,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let keyed = headers.iter().any(|(n, _)| *n == "Idempotency-Key");
        let mut last = String::new();
        for attempt in 0..MAX_ATTEMPTS {
            match self
                .once(node + attempt as usize, &method, path, headers, body)
                .await
            {
                Ok((status, body)) if status.is_server_error() => {
                    self.stats.server_errors.fetch_add(1, Ordering::Relaxed);
                    last = format!("{status}: {body}");
                }
                Ok((status, body)) => {
                    if keyed && attempt > 0 {
                        self.stats.commands_retried.fetch_add(1, Ordering::Relaxed);
                    }
                    return Answer {
                        status,
                        body,
                        attempts: attempt + 1,
                    };
                }
                Err(e) => {
                    self.stats.no_answer.fetch_add(1, Ordering::Relaxed);
                    if !e.is_connect() {
                        self.stats.lost_in_flight.fetch_add(1, Ordering::Relaxed);
                    }
                    if !self.stats.killed.load(Ordering::SeqCst) {
                        self.stats
                            .no_answer_before_kill
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    last = e.to_string();
                }
            }
            if attempt % 2 == 1 {
                // Both nodes failed this round (one is down, the other too?): give the other
                // process a moment rather than spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        panic!("{method} {path}: no answer after {MAX_ATTEMPTS} attempts; last: {last}");
    }

    /// A keyed command that must succeed with `expected`; its answer is recorded.
    async fn command(
        &self,
        node: usize,
        path: &str,
        key: &str,
        body: Value,
        expected: StatusCode,
        acked: &Mutex<Vec<Acked>>,
    ) -> Value {
        let headers = [("Idempotency-Key", key), ("X-Motcua-User", "can-bo")];
        let answer = self
            .call(node, Method::POST, path, &headers, Some(&body))
            .await;
        assert_eq!(
            answer.status, expected,
            "{path} (key {key}, attempt {}): {} — a keyed retry must get the first answer",
            answer.attempts, answer.body
        );
        self.ack(acked, path, key, body, &answer);
        answer.body
    }

    fn ack(&self, acked: &Mutex<Vec<Acked>>, path: &str, key: &str, body: Value, a: &Answer) {
        acked.lock().expect("acks").push(Acked {
            path: path.to_owned(),
            key: key.to_owned(),
            body,
            status: a.status,
            answer: a.body.clone(),
        });
        self.stats.acked.fetch_add(1, Ordering::SeqCst);
        self.progress.notify_one();
    }

    async fn get(&self, node: usize, path: &str) -> Value {
        let answer = self.call(node, Method::GET, path, &[], None).await;
        assert_eq!(answer.status, StatusCode::OK, "GET {path}: {}", answer.body);
        answer.body
    }
}

/// An acknowledged command: what was sent and what came back.
#[derive(Debug, Clone)]
struct Acked {
    path: String,
    key: String,
    body: Value,
    status: StatusCode,
    answer: Value,
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string field '{field}' in {v}"))
        .to_owned()
}

fn ids(v: &Value, field: &str) -> Vec<String> {
    v[field]
        .as_array()
        .unwrap_or_else(|| panic!("no array '{field}' in {v}"))
        .iter()
        .map(|x| x.as_str().expect("an id").to_owned())
        .collect()
}

/// What one client learnt of one instance.
#[derive(Debug, Clone)]
struct Run {
    instance: String,
    t1: String,
    job: String,
    t2: String,
}

/// One client: `instances` instances one after another, each command to the next node in turn.
async fn client(
    cluster: Cluster,
    c: usize,
    instances: usize,
    acked: Arc<Mutex<Vec<Acked>>>,
) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut turn = c;
    let mut next = || {
        turn += 1;
        turn
    };
    for i in 0..instances {
        let start = cluster
            .command(
                next(),
                "/process-instances",
                &format!("c{c}-i{i}-start"),
                json!({ "key": "crash", "businessKey": format!("c{c}-i{i}"),
                        "variables": { "client": c, "n": i } }),
                StatusCode::CREATED,
                &acked,
            )
            .await;
        let instance = text(&start, "instance");
        assert_eq!(text(&start, "status"), "active", "{start}");

        // The instance's queue shows t1, the task the start answered with.
        let open = cluster
            .get(next(), &format!("/tasks?group=g&instance={instance}"))
            .await;
        let open = open.as_array().expect("a task list").clone();
        assert_eq!(open.len(), 1, "open tasks after the start: {open:?}");
        assert_eq!(text(&open[0], "node"), "t1");
        let t1 = text(&open[0], "id");
        assert_eq!(ids(&start, "tasks"), vec![t1.clone()], "{start}");

        let done1 = cluster
            .command(
                next(),
                &format!("/tasks/{t1}/complete"),
                &format!("c{c}-i{i}-t1"),
                json!({ "variables": { "received": true } }),
                StatusCode::OK,
                &acked,
            )
            .await;
        assert_eq!(text(&done1, "status"), "active", "{done1}");
        let jobs = ids(&done1, "jobs");
        assert_eq!(jobs.len(), 1, "completing t1 creates the job: {done1}");

        // t2 appears once a worker has completed the job.
        let mut t2 = None;
        for _ in 0..3000 {
            let open = cluster
                .get(next(), &format!("/tasks?group=g&instance={instance}"))
                .await;
            if let Some(task) = open.as_array().and_then(|a| a.first()) {
                assert_eq!(text(task, "node"), "t2", "{open}");
                t2 = Some(text(task, "id"));
                break;
            }
            // Polling another process (the workers, the nodes): a short pause, not a spin.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let t2 = t2.unwrap_or_else(|| panic!("t2 of {instance} never appeared (job {jobs:?})"));

        let done2 = cluster
            .command(
                next(),
                &format!("/tasks/{t2}/complete"),
                &format!("c{c}-i{i}-t2"),
                json!({ "variables": { "returned": true } }),
                StatusCode::OK,
                &acked,
            )
            .await;
        assert_eq!(text(&done2, "status"), "completed", "{done2}");
        runs.push(Run {
            instance,
            t1,
            job: jobs[0].clone(),
            t2,
        });
    }
    runs
}

/// Job completions, per job: the workers each was acknowledged to, and those refused (409).
#[derive(Default)]
struct JobLog {
    acked: HashMap<String, Vec<String>>,
    refused: HashMap<String, Vec<(String, String)>>,
}

/// An external worker: fetch-and-lock, complete each job under the key `job-{id}-complete`,
/// until told to stop.
async fn worker(
    cluster: Cluster,
    w: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acked>>>,
    jobs: Arc<Mutex<JobLog>>,
) {
    let worker_id = format!("w{w}");
    let mut turn = w;
    let fetch = json!({ "workerId": worker_id, "topic": "notify", "maxTasks": 5,
                        "lockSeconds": LOCK_SECONDS });
    while !stop.load(Ordering::SeqCst) {
        turn += 1;
        let fetched = cluster
            .call(
                turn,
                Method::POST,
                "/external-tasks/fetch-and-lock",
                &[],
                Some(&fetch),
            )
            .await;
        assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.body);
        let fetched = fetched.body.as_array().expect("a job list").clone();
        if fetched.is_empty() {
            // Polling another process for work: a short pause, not a spin.
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        for job in fetched {
            let id = text(&job, "id");
            assert_eq!(text(&job, "topic"), "notify");
            turn += 1;
            let path = format!("/external-tasks/{id}/complete");
            let key = format!("job-{id}-complete");
            let body = json!({ "workerId": worker_id, "variables": { "notified": true } });
            let headers = [("Idempotency-Key", key.as_str())];
            let answer = cluster
                .call(turn, Method::POST, &path, &headers, Some(&body))
                .await;
            match answer.status {
                StatusCode::OK => {
                    cluster.ack(&acked, &path, &key, body, &answer);
                    jobs.lock()
                        .expect("job log")
                        .acked
                        .entry(id)
                        .or_default()
                        .push(worker_id.clone());
                }
                // Legitimate only if the lock expired and another worker completed the job;
                // checked at the end (a committed completion refused on retry is a bug).
                StatusCode::CONFLICT => {
                    cluster.stats.job_conflicts.fetch_add(1, Ordering::Relaxed);
                    jobs.lock()
                        .expect("job log")
                        .refused
                        .entry(id)
                        .or_default()
                        .push((
                            worker_id.clone(),
                            format!("attempt {}: {}", answer.attempts, answer.body),
                        ));
                }
                other => panic!("{path}: {other} {}", answer.body),
            }
        }
    }
}

/// Resumes a spawned task's panic in the test, so its message is the test's failure.
async fn join<T>(handle: tokio::task::JoinHandle<T>) -> T {
    match handle.await {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("a task failed: {e}"),
    }
}

async fn crash_under_load(backend: Backend, clients: usize, per_client: usize, workers: usize) {
    let Some(db) = TestDb::new(backend, "crash_under_load").await else {
        return;
    };
    let began = Instant::now();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = db.url().to_owned();
    let log = |name: &str| dir.path().join(format!("{name}.log"));

    // Server B first: it migrates the fresh database alone; then node A.
    let mut nodes = vec![None, Some(Server::start(&url, &log("b"), &["--no-worker"]))];
    nodes[0] = Some(Server::start(&url, &log("a"), &["--no-worker"]));
    let addrs: Vec<String> = nodes.iter().flatten().map(|n| n.base.clone()).collect();
    let cluster = Cluster {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client"),
        addrs: Arc::new(RwLock::new(addrs)),
        stats: Arc::new(Stats::default()),
        progress: Arc::new(Notify::new()),
    };

    let deploy = json!({ "name": "crash", "files": [{ "name": "crash.bpmn", "xml": PROCESS }] });
    let deployed = cluster
        .call(0, Method::POST, "/deployments", &[], Some(&deploy))
        .await;
    assert_eq!(deployed.status, StatusCode::CREATED, "{}", deployed.body);

    // The load.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let job_log = Arc::new(Mutex::new(JobLog::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let worker_tasks: Vec<_> = (0..workers)
        .map(|w| {
            tokio::spawn(worker(
                cluster.clone(),
                w,
                stop.clone(),
                acked.clone(),
                job_log.clone(),
            ))
        })
        .collect();
    let client_tasks: Vec<_> = (0..clients)
        .map(|c| tokio::spawn(client(cluster.clone(), c, per_client, acked.clone())))
        .collect();

    // Mid-load: SIGKILL node A, start it again on a fresh port.
    let expected = clients * per_client * 4;
    let threshold = expected * 2 / 5;
    while cluster.stats.acked.load(Ordering::SeqCst) < threshold {
        cluster.progress.notified().await;
    }
    let acked_at_kill = cluster.stats.acked.load(Ordering::SeqCst);
    cluster.stats.killed.store(true, Ordering::SeqCst);
    nodes[0].take().expect("node A").kill();
    let killed_at = Instant::now();
    // Server A stays down until at least one command has been sent again (to node B) for want of
    // an answer: the outage is felt even if no command happened to be in flight at the kill.
    while cluster.stats.commands_retried.load(Ordering::SeqCst) == 0 {
        assert!(
            killed_at.elapsed() < Duration::from_secs(20),
            "no command was sent again within 20 s of the kill"
        );
        let _ = tokio::time::timeout(Duration::from_millis(50), cluster.progress.notified()).await;
    }
    let restart = {
        let url = url.clone();
        let log = log("a2");
        tokio::task::spawn_blocking(move || Server::start(&url, &log, &["--no-worker"]))
    };
    let node = join(restart).await;
    let down_for = killed_at.elapsed();
    cluster.addrs.write().expect("addresses")[0] = node.base.clone();
    nodes[0] = Some(node);

    let mut runs = Vec::new();
    for task in client_tasks {
        runs.extend(join(task).await);
    }
    stop.store(true, Ordering::SeqCst);
    for task in worker_tasks {
        join(task).await;
    }
    let load_seconds = began.elapsed().as_secs_f64();
    let stats = &cluster.stats;
    let acked = acked.lock().expect("acks").clone();
    let job_log = std::mem::take(&mut *job_log.lock().expect("job log"));

    // The outage was felt, and only after the kill; no node failed a request.
    assert_eq!(stats.no_answer_before_kill.load(Ordering::SeqCst), 0);
    assert_eq!(
        stats.server_errors.load(Ordering::SeqCst),
        0,
        "5xx answers; logs in {}",
        dir.path().display()
    );
    let retried = stats.commands_retried.load(Ordering::SeqCst);
    assert!(
        retried > 0,
        "no command was sent again after the kill: the test did not test a crash"
    );

    // Every acknowledged command, sent once more with its key, gets its first answer.
    for (n, a) in acked.iter().enumerate() {
        let headers = [
            ("Idempotency-Key", a.key.as_str()),
            ("X-Motcua-User", "can-bo"),
        ];
        let again = cluster
            .call(n, Method::POST, &a.path, &headers, Some(&a.body))
            .await;
        assert_eq!(
            (again.status, &again.body),
            (a.status, &a.answer),
            "{} (key {}) sent again: not its first answer",
            a.path,
            a.key
        );
    }

    // Each job acknowledged to exactly one worker; a refused completion only where another
    // worker completed the job (its lock had expired).
    let runs_by_job: HashMap<&str, &Run> = runs.iter().map(|r| (r.job.as_str(), r)).collect();
    for run in &runs {
        let workers = job_log.acked.get(&run.job).cloned().unwrap_or_default();
        assert_eq!(
            workers.len(),
            1,
            "job {} of {}: completion acknowledged to {workers:?}; refused: {:?}",
            run.job,
            run.instance,
            job_log.refused.get(&run.job)
        );
    }
    for (job, refused) in &job_log.refused {
        assert!(runs_by_job.contains_key(job.as_str()), "unknown job {job}");
        let winner = &job_log.acked[job][0];
        assert!(
            refused.iter().all(|(w, _)| w != winner),
            "job {job}: its worker {winner} was both acknowledged and refused: {refused:?}"
        );
    }
    assert_eq!(job_log.acked.len(), runs.len(), "acknowledged jobs");

    // The database, read by an engine in this process.
    let engine = db.open().await;
    let instances = runs.len();
    assert_eq!(instances, clients * per_client);
    let starts: HashSet<&str> = acked
        .iter()
        .filter(|a| a.key.ends_with("-start"))
        .map(|a| a.key.as_str())
        .collect();
    assert_eq!(starts.len(), instances);
    let count = |sql: &'static str| db.count(&engine, sql);
    assert_eq!(
        count("SELECT count(*) FROM instances").await,
        instances as i64,
        "one instance per start key"
    );
    assert_eq!(
        count("SELECT count(*) FROM instances WHERE status = 'completed'").await,
        instances as i64
    );
    assert_eq!(
        count("SELECT count(*) FROM idempotency").await,
        acked.len() as i64,
        "one idempotency record per acknowledged command"
    );
    assert_eq!(acked.len(), expected);
    assert_eq!(count("SELECT count(*) FROM jobs").await, instances as i64);
    assert_eq!(
        count("SELECT count(*) FROM jobs WHERE state <> 'completed' OR lock_owner IS NOT NULL")
            .await,
        0,
        "no job open, locked or failed"
    );
    assert_eq!(
        count("SELECT count(*) FROM tasks").await,
        2 * instances as i64
    );
    assert_eq!(
        count("SELECT count(*) FROM tasks WHERE state <> 'completed'").await,
        0,
        "no task open"
    );
    assert_eq!(
        count("SELECT count(*) FROM incidents").await,
        0,
        "no incident"
    );
    let mut journal_events = 0;
    for run in &runs {
        let id: InstanceId = run.instance.parse().expect("an instance id");
        let state = engine.instance(id).await.expect("the instance");
        assert_eq!(state.status, InstanceStatus::Completed, "{}", run.instance);
        let journal = engine.journal(id).await.expect("its journal");
        journal_events += journal.len();
        for (i, entry) in journal.iter().enumerate() {
            assert_eq!(
                entry.seq,
                i as i64 + 1,
                "{}: a gap-free journal",
                run.instance
            );
        }
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        let mut completed_tasks = Vec::new();
        let mut completed_jobs = Vec::new();
        for entry in &journal {
            *kinds.entry(entry.kind.as_str()).or_default() += 1;
            match &entry.event {
                Event::TaskCompleted { task, node, .. } => {
                    completed_tasks.push((task.to_string(), node.clone()))
                }
                Event::JobCompleted { job, .. } => completed_jobs.push(job.to_string()),
                _ => {}
            }
        }
        for kind in [
            "instance_started",
            "job_created",
            "job_completed",
            "instance_completed",
        ] {
            assert_eq!(
                kinds.get(kind),
                Some(&1),
                "{}: {kind} in {kinds:?}",
                run.instance
            );
        }
        assert_eq!(kinds.get("task_created"), Some(&2), "{}", run.instance);
        assert_eq!(
            completed_tasks,
            vec![
                (run.t1.clone(), "t1".to_owned()),
                (run.t2.clone(), "t2".to_owned())
            ],
            "{}: t1 and t2 completed once each",
            run.instance
        );
        assert_eq!(completed_jobs, vec![run.job.clone()], "{}", run.instance);
        assert!(
            !kinds.contains_key("job_failed") && !kinds.contains_key("incident_raised"),
            "{}: {kinds:?}",
            run.instance
        );
        if let Err(e) = engine.verify_instance(id).await {
            panic!("the stored state is not the replay of its journal: {e}");
        }
    }
    assert_eq!(
        count("SELECT count(*) FROM journal").await,
        journal_events as i64
    );
    engine.store().close().await;
    drop(nodes);
    for name in ["a", "b", "a2"] {
        let text = std::fs::read_to_string(log(name)).unwrap_or_default();
        assert!(!text.contains("panicked"), "node {name} panicked:\n{text}");
    }

    eprintln!(
        "crash_under_load on {backend:?}: {instances} instances, {} commands acknowledged \
         ({acked_at_kill} before the kill), {journal_events} journal events; node A down {:.2} s; \
         {} requests unanswered ({} on connections open at the kill), {retried} commands sent again, \
         {} job completions refused after a lock expiry; load {load_seconds:.2} s, total {:.2} s",
        acked.len(),
        down_for.as_secs_f64(),
        stats.no_answer.load(Ordering::SeqCst),
        stats.lost_in_flight.load(Ordering::SeqCst),
        stats.job_conflicts.load(Ordering::SeqCst),
        began.elapsed().as_secs_f64(),
    );
}

/// The PostgreSQL run (the issue's test) and a smaller one with both nodes on one SQLite file.
mod crash_under_load {
    use motcua_tests::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::crash_under_load(Backend::Postgres, 40, 8, 3).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::crash_under_load(Backend::Sqlite, 12, 5, 2).await;
    }
}
