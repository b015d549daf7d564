//! The global event feed and the IOC statistics, on SQLite and PostgreSQL: the feed's order and
//! `after = N` paging; many concurrent writers while a reader polls (no gaps, no duplicates,
//! nothing found later behind the cursor); statistics with a manual clock (on time, early,
//! late, overdue, in progress, per agency and procedure).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{Duration, FixedOffset};
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    CommandOptions, DeployFile, Engine, EventFilter, FeedEvent, InstanceId, StartInstance,
    StatsFilter,
};
use motcua_tests::{Backend, TestDb};
use serde_json::Map;

fn bpmn(id: &str, attrs: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:motcua="urn:motcua:bpmn:1.0" id="d_{id}" targetNamespace="urn:t">
  <bpmn:process id="{id}" isExecutable="true" {attrs}>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="review" motcua:candidateGroups="g" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"#
    )
}

async fn deploy(engine: &Engine<AnyStore>, id: &str, attrs: &str) {
    engine
        .deploy(
            id,
            &[DeployFile {
                name: format!("{id}.bpmn"),
                bytes: bpmn(id, attrs).into_bytes(),
            }],
        )
        .await
        .expect("the test process deploys");
}

async fn start(engine: &Engine<AnyStore>, key: &str) -> InstanceId {
    engine
        .start(
            StartInstance {
                key: key.into(),
                ..StartInstance::default()
            },
            CommandOptions::by("citizen"),
        )
        .await
        .expect("start")
        .instance
}

async fn complete_only_task(engine: &Engine<AnyStore>, id: InstanceId) {
    let tasks = engine
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .expect("tasks");
    let task = tasks.first().expect("an open task").record.id;
    engine
        .complete(task, Map::new(), CommandOptions::by("servant"))
        .await
        .expect("complete");
}

async fn read_all(engine: &Engine<AnyStore>, filter: &EventFilter) -> Vec<FeedEvent> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = engine.events_after(after, 7, filter).await.expect("feed");
        match page.last() {
            Some(last) => after = last.seq,
            None => return all,
        }
        all.extend(page);
    }
}

async fn feed_is_ordered_and_resumes_after_n(backend: Backend) {
    let Some(db) = TestDb::new(backend, "feed_is_ordered_and_resumes_after_n").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, "khai_sinh", r#"motcua:agency="so-tu-phap""#).await;
    deploy(&engine, "ket_hon", r#"motcua:agency="ubnd-phu-xuan""#).await;
    let a = start(&engine, "khai_sinh").await;
    let b = start(&engine, "ket_hon").await;
    complete_only_task(&engine, a).await;
    let c = start(&engine, "khai_sinh").await;

    let all = engine
        .events_after(0, 1_000, &EventFilter::default())
        .await
        .expect("feed");
    let journals: usize = {
        let mut n = 0;
        for id in [a, b, c] {
            n += engine.journal(id).await.expect("journal").len();
        }
        n
    };
    assert_eq!(all.len(), journals, "every journal event is in the feed");
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first");
    // Per instance, the feed keeps the journal's order and content.
    for id in [a, b, c] {
        let journal = engine.journal(id).await.expect("journal");
        let mine: Vec<&FeedEvent> = all.iter().filter(|e| e.instance == id).collect();
        assert_eq!(mine.len(), journal.len());
        for (f, j) in mine.iter().zip(&journal) {
            assert_eq!(f.kind, j.kind);
            assert_eq!(f.at, j.at);
            assert_eq!(f.actor, j.actor);
            assert_eq!(f.event, serde_json::to_value(&j.event).expect("json"));
        }
    }
    let first = &all[0];
    assert_eq!(first.kind, "instance_started");
    assert_eq!(first.definition_key, "khai_sinh");
    assert_eq!(first.agency.as_deref(), Some("so-tu-phap"));

    // Paging by `after` gives the same events, each once.
    assert_eq!(read_all(&engine, &EventFilter::default()).await, all);
    let middle = all[all.len() / 2].seq;
    let rest = engine
        .events_after(middle, 1_000, &EventFilter::default())
        .await
        .expect("feed");
    assert_eq!(rest.as_slice(), &all[all.len() / 2 + 1..]);
    let last = all.last().expect("events").seq;
    assert!(engine
        .events_after(last, 10, &EventFilter::default())
        .await
        .expect("feed")
        .is_empty());

    // New events come after the cursor.
    complete_only_task(&engine, b).await;
    let new = engine
        .events_after(last, 100, &EventFilter::default())
        .await
        .expect("feed");
    assert!(!new.is_empty() && new.iter().all(|e| e.instance == b && e.seq > last));

    // Filters.
    let by_agency = read_all(
        &engine,
        &EventFilter {
            agency: Some("ubnd-phu-xuan".into()),
            ..EventFilter::default()
        },
    )
    .await;
    assert!(!by_agency.is_empty() && by_agency.iter().all(|e| e.instance == b));
    let by_key = read_all(
        &engine,
        &EventFilter {
            definition_key: Some("khai_sinh".into()),
            ..EventFilter::default()
        },
    )
    .await;
    assert!(by_key.iter().all(|e| e.instance == a || e.instance == c));
    let completed = read_all(
        &engine,
        &EventFilter {
            kinds: Some(vec!["instance_completed".into(), "task_completed".into()]),
            ..EventFilter::default()
        },
    )
    .await;
    assert_eq!(completed.len(), 4, "{completed:?}");
    assert!(engine
        .events_after(-1, 10, &EventFilter::default())
        .await
        .is_err());
}

async fn concurrent_writers_and_a_polling_reader_see_every_event_once(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "concurrent_writers_and_a_polling_reader_see_every_event_once",
    )
    .await
    else {
        return;
    };
    let engine = Arc::new(db.open().await);
    deploy(&engine, "p", r#"motcua:agency="a""#).await;
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let engine = engine.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut seen: Vec<FeedEvent> = Vec::new();
            let mut after = 0;
            let mut polls = 0u32;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = engine
                    .events_after(after, 25, &EventFilter::default())
                    .await
                    .expect("feed");
                polls += 1;
                for e in &page {
                    assert!(e.seq > after, "event {} at or behind cursor {after}", e.seq);
                    after = e.seq;
                }
                let empty = page.is_empty();
                seen.extend(page);
                if empty && finished {
                    return (seen, polls);
                }
                if empty {
                    tokio::task::yield_now().await;
                }
            }
        })
    };

    let mut writers = Vec::new();
    for _ in 0..8 {
        let engine = engine.clone();
        writers.push(tokio::spawn(async move {
            for _ in 0..12 {
                let id = start(&engine, "p").await;
                complete_only_task(&engine, id).await;
            }
        }));
    }
    for w in writers {
        w.await.expect("a writer");
    }
    done.store(true, Ordering::SeqCst);
    let (seen, polls) = reader.await.expect("the reader");
    assert!(polls > 1);

    // No duplicates: every (instance, journal position) once, in increasing feed order.
    let mut positions: BTreeMap<InstanceId, Vec<&FeedEvent>> = BTreeMap::new();
    let mut seqs = BTreeSet::new();
    for e in &seen {
        assert!(seqs.insert(e.seq), "feed number {} seen twice", e.seq);
        positions.entry(e.instance).or_default().push(e);
    }
    // No gaps: everything that was written, and nothing else, with the journal's order.
    let total = db.count(&engine, "SELECT COUNT(*) FROM journal").await;
    assert_eq!(seen.len() as i64, total, "the reader saw every event");
    assert_eq!(positions.len(), 8 * 12);
    for (id, events) in &positions {
        let journal = engine.journal(*id).await.expect("journal");
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        let expected: Vec<&str> = journal.iter().map(|j| j.kind.as_str()).collect();
        assert_eq!(kinds, expected, "instance {id}");
    }
    // The numbers are dense: 1..=n.
    assert_eq!(
        seqs.iter().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    // A fresh reader from 0 gets exactly the same sequence.
    let again = read_all(&engine, &EventFilter::default()).await;
    assert_eq!(again, seen);
}

async fn statistics_count_on_time_early_late_and_overdue(backend: Backend) {
    let Some(db) = TestDb::new(backend, "statistics_count_on_time_early_late_and_overdue").await
    else {
        return;
    };
    let engine = db.open().await;
    deploy(
        &engine,
        "khai_sinh",
        r#"motcua:agency="so-tu-phap" motcua:slaWorkingDays="2""#,
    )
    .await;
    deploy(&engine, "ket_hon", r#"motcua:agency="ubnd-phu-xuan""#).await;
    let t0 = engine.now();
    let early = start(&engine, "khai_sinh").await;
    let on_time = start(&engine, "khai_sinh").await;
    let late = start(&engine, "khai_sinh").await;
    let overdue = start(&engine, "khai_sinh").await;
    let other = start(&engine, "ket_hon").await;
    let due = engine
        .instance(early)
        .await
        .expect("instance")
        .due_at
        .expect("an SLA due date");
    assert!(due > t0 + Duration::days(1));

    // Early: done the day it arrived. On time: on the due day, before the due time.
    complete_only_task(&engine, early).await;
    db.clock.set(due - Duration::minutes(1));
    let vn = FixedOffset::east_opt(7 * 3600).expect("UTC+7");
    assert_eq!(
        (due - Duration::minutes(1)).with_timezone(&vn).date_naive(),
        due.with_timezone(&vn).date_naive()
    );
    complete_only_task(&engine, on_time).await;
    // Late: a day after the due date. `overdue` stays open.
    db.clock.set(due + Duration::days(1));
    complete_only_task(&engine, late).await;

    let now = engine.now();
    let stats = engine
        .statistics(&StatsFilter {
            from: t0 - Duration::days(1),
            to: now + Duration::days(1),
            agency: None,
            definition_key: None,
        })
        .await
        .expect("statistics");
    assert_eq!(stats.at, now);
    assert_eq!(stats.rows.len(), 2, "{stats:?}");
    let ks = stats
        .rows
        .iter()
        .find(|r| r.definition_key.as_deref() == Some("khai_sinh"))
        .expect("a khai_sinh row");
    assert_eq!(ks.agency.as_deref(), Some("so-tu-phap"));
    assert_eq!(
        (
            ks.received,
            ks.in_progress,
            ks.done_on_time,
            ks.done_early,
            ks.done_late,
            ks.overdue
        ),
        (4, 1, 2, 1, 1, 1)
    );
    assert_eq!(ks.on_time_rate(), Some(2.0 / 3.0));
    let kh = stats
        .rows
        .iter()
        .find(|r| r.definition_key.as_deref() == Some("ket_hon"))
        .expect("a ket_hon row");
    assert_eq!((kh.received, kh.in_progress, kh.overdue), (1, 1, 0));
    assert_eq!(kh.on_time_rate(), None);
    assert_eq!(stats.total.received, 5);
    assert_eq!(stats.total.in_progress, 2);
    assert_eq!(stats.agencies.len(), 2);

    // Scoped to one agency; and a later period receives nothing but still sees what is open.
    let scoped = engine
        .statistics(&StatsFilter {
            from: t0 - Duration::days(1),
            to: now + Duration::days(1),
            agency: Some("ubnd-phu-xuan".into()),
            definition_key: None,
        })
        .await
        .expect("statistics");
    assert_eq!(scoped.rows.len(), 1);
    assert_eq!(scoped.total.received, 1);
    let later = engine
        .statistics(&StatsFilter {
            from: now + Duration::days(1),
            to: now + Duration::days(2),
            agency: None,
            definition_key: Some("khai_sinh".into()),
        })
        .await
        .expect("statistics");
    assert_eq!(
        (
            later.total.received,
            later.total.in_progress,
            later.total.done_on_time + later.total.done_late,
            later.total.overdue
        ),
        (0, 1, 0, 1)
    );
    let _ = (other, overdue);
    assert!(engine
        .statistics(&StatsFilter {
            from: now,
            to: now,
            agency: None,
            definition_key: None,
        })
        .await
        .is_err());
}

motcua_tests::on_both_databases!(
    feed_is_ordered_and_resumes_after_n,
    concurrent_writers_and_a_polling_reader_see_every_event_once,
    statistics_count_on_time_early_late_and_overdue,
);
