//! The national portal feed (issue #9 part 5) on a fresh database (SQLite, and PostgreSQL when
//! `MOTCUA_TEST_DATABASE_URL` is set) with a manual clock, no sleeps: a birth registration's
//! life mapped step by step (dates `yyyyMMddHHmmss` in UTC+7 exactly, TrangThaiHoSo per step,
//! QuaTrinhXuLy from the journal), then the feed delivered over real HTTP to a small axum
//! receiver on 127.0.0.1 that refuses the first post: nothing is lost after the back-off, every
//! post is the dossier's mapping, in order, signed.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    Applicant, ApplicantKind, CommandOptions, DeployFile, DocumentInput, DossierState, Engine,
    FolderBlobStore, SubmitDossier, TransferRequest,
};
use motcua_tests::{on_both_databases, Backend, TestDb};
use serde_json::{json, Map, Value};

const BPMN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../definitions/catalog/dang-ky-khai-sinh.bpmn"
));
const SECRET: &str = "a-portal-secret-of-some-length";

/// Posts received: (event id header, signature header, body).
type Received = Arc<Mutex<(u32, Vec<(String, String, Value)>)>>;

async fn receive(State(shared): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Ok(mut guard) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    guard.0 += 1;
    if guard.0 == 1 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    guard.1.push((
        header("x-motcua-event-id"),
        header("x-motcua-signature"),
        value,
    ));
    StatusCode::OK
}

async fn start_receiver(shared: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/dvcqg/dong-bo-ho-so", axum::routing::post(receive))
        .with_state(shared);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/dvcqg/dong-bo-ho-so")
}

fn status(e: &Value) -> &str {
    e["TrangThaiHoSo"].as_str().unwrap_or_default()
}

async fn portal(e: &Engine<AnyStore>, code: &str) -> Value {
    serde_json::to_value(e.portal_sync(code).await.unwrap()).unwrap()
}

async fn open_task(
    e: &Engine<AnyStore>,
    instance: motcua_engine::InstanceId,
) -> motcua_engine::TaskId {
    e.tasks(&TaskQuery {
        instance: Some(instance),
        ..TaskQuery::default()
    })
    .await
    .unwrap()[0]
        .record
        .id
}

async fn portal_feed_follows_a_dossier(backend: Backend) {
    let Some(db) = TestDb::new(backend, "portal_feed_follows_a_dossier").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let e = db
        .open()
        .await
        .with_blobs(Arc::new(FolderBlobStore::new(dir.path().join("blobs"))));
    // The catalog procedure with its national code.
    let bpmn = BPMN.replacen(
        r#"motcua:agency="000.00.02.H22""#,
        r#"motcua:agency="000.00.02.H22" motcua:procedureCode="1.001193""#,
        1,
    );
    e.deploy(
        "catalog",
        &[DeployFile {
            name: "khai-sinh.bpmn".into(),
            bytes: bpmn.into_bytes(),
        }],
    )
    .await
    .unwrap();
    let shared: Received = Arc::new(Mutex::new((0, Vec::new())));
    let url = start_receiver(shared.clone()).await;
    // Tuesday 24/11/2026 18:30Z = Wednesday 25/11 01:30 in Vietnam.
    let t0 = Utc.with_ymd_and_hms(2026, 11, 24, 18, 30, 0).unwrap();
    db.clock.set(t0 - Duration::minutes(1));
    let sub = e.subscribe_portal_sync(&url, SECRET.into()).await.unwrap();
    assert_eq!(sub.id, motcua_engine::portal::portal_subscription_id(&url));
    // Subscribing again (a restart) finds the same subscription.
    let again = e.subscribe_portal_sync(&url, SECRET.into()).await.unwrap();
    assert_eq!(again.id, sub.id);

    db.clock.set(t0);
    let mut data = Map::new();
    data.insert("hoTenTre".into(), json!("Nguyễn Thị Bình"));
    let view = e
        .submit_dossier(
            SubmitDossier {
                procedure_key: "dang-ky-khai-sinh".into(),
                version: None,
                agency_code: "000.00.02.H22".into(),
                applicant: Applicant {
                    kind: ApplicantKind::CitizenId,
                    id: "046090001234".into(),
                    name: "Nguyễn Văn An".into(),
                    address: None,
                    phone: None,
                    email: None,
                },
                data,
                documents: vec![
                    DocumentInput::Upload {
                        slot: "to-khai".into(),
                        name: "to-khai.pdf".into(),
                        media_type: "application/pdf".into(),
                        bytes: b"to khai".to_vec(),
                    },
                    DocumentInput::Upload {
                        slot: "giay-chung-sinh".into(),
                        name: "gcs.pdf".into(),
                        media_type: "application/pdf".into(),
                        bytes: b"gcs".to_vec(),
                    },
                ],
                due_at: None,
                certify: Vec::new(),
            },
            CommandOptions::by("mot-cua-1"),
        )
        .await
        .unwrap();
    let code = view.dossier.code.clone();
    let p = portal(&e, &code).await;
    assert_eq!(p["MaHoSo"], code.as_str());
    assert_eq!(p["MaTTHC"], "1.001193");
    assert_eq!(p["TenTTHC"], "Đăng ký khai sinh");
    assert_eq!(p["MaCoQuan"], "000.00.02.H22");
    assert_eq!(p["ChuHoSo"], "Nguyễn Văn An");
    assert_eq!(p["NgayTiepNhan"], "20261125013000");
    // The SLA of one working day from outside office hours: Thursday 26/11 07:30 (UTC+7)...
    // as the working-day calendar places it; the portal shows the stored date in UTC+7.
    let due = view.dossier.due_at.unwrap();
    assert_eq!(
        p["NgayHenTra"],
        (due + Duration::hours(7))
            .format("%Y%m%d%H%M%S")
            .to_string()
            .as_str()
    );
    assert_eq!(status(&p), "2");
    assert_eq!(p["NgayTra"], "");
    assert_eq!(p["QuaTrinhXuLy"][0]["NoiDungXuLy"], "Tiếp nhận hồ sơ");
    assert_eq!(p["QuaTrinhXuLy"][0]["NguoiXuLy"], "mot-cua-1");
    assert_eq!(p["QuaTrinhXuLy"][0]["ThoiDiemXuLy"], "20261125013000");

    // 08:00 Vietnam: processing; the receiving step done.
    db.clock.set(t0 + Duration::minutes(390));
    e.transition_dossier(
        &code,
        DossierState::Processing,
        None,
        None,
        CommandOptions::by("lan"),
    )
    .await
    .unwrap();
    let task = open_task(&e, view.dossier.instance).await;
    e.complete(task, Map::new(), CommandOptions::by("lan"))
        .await
        .unwrap();
    let p = portal(&e, &code).await;
    assert_eq!(status(&p), "4");
    let steps = p["QuaTrinhXuLy"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[1]["ThoiDiemXuLy"], "20261125080000");
    assert_eq!(
        steps[1]["NoiDungXuLy"],
        "Chuyển trạng thái: Đã tiếp nhận → Đang xử lý"
    );
    assert_eq!(
        steps[2]["NoiDungXuLy"],
        "Hoàn thành bước: Tiếp nhận và kiểm tra hồ sơ"
    );

    // 09:15: transferred to the city (still "processing" for the portal), accepted at 10:00.
    db.clock.set(t0 + Duration::minutes(465));
    let t = e
        .transfer_dossier(
            &code,
            TransferRequest {
                to_agency: "000.00.10.H22".into(),
                reason: "Xin ý kiến".into(),
                ..TransferRequest::default()
            },
            CommandOptions::by("lan"),
        )
        .await
        .unwrap();
    assert_eq!(status(&portal(&e, &code).await), "4");
    db.clock.set(t0 + Duration::minutes(510));
    e.accept_transfer(&t.id, CommandOptions::by("minh"))
        .await
        .unwrap();
    // 11:00: done (9); 14:30: handed over (10, NgayTra).
    db.clock.set(t0 + Duration::minutes(570));
    e.transition_dossier(
        &code,
        DossierState::Done,
        None,
        None,
        CommandOptions::by("minh"),
    )
    .await
    .unwrap();
    assert_eq!(status(&portal(&e, &code).await), "9");
    db.clock.set(t0 + Duration::minutes(780));
    e.transition_dossier(
        &code,
        DossierState::ResultReturned,
        None,
        None,
        CommandOptions::by("mot-cua-1"),
    )
    .await
    .unwrap();
    let last = portal(&e, &code).await;
    assert_eq!(status(&last), "10");
    assert_eq!(last["NgayTra"], "20261125143000");
    let texts: Vec<&str> = last["QuaTrinhXuLy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["NoiDungXuLy"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Tiếp nhận hồ sơ",
            "Chuyển trạng thái: Đã tiếp nhận → Đang xử lý",
            "Hoàn thành bước: Tiếp nhận và kiểm tra hồ sơ",
            "Chuyển liên thông đến 000.00.10.H22. Lý do: Xin ý kiến",
            "000.00.10.H22 tiếp nhận hồ sơ liên thông",
            "Chuyển trạng thái: Đã chuyển xử lý → Đã xử lý xong",
            "Chuyển trạng thái: Đã xử lý xong → Đã trả kết quả",
        ]
    );
    let times: Vec<&str> = last["QuaTrinhXuLy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ThoiDiemXuLy"].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        [
            "20261125013000",
            "20261125080000",
            "20261125080000",
            "20261125091500",
            "20261125100000",
            "20261125110000",
            "20261125143000",
        ]
    );

    // Delivery over real HTTP: the receiver refuses the first post; nothing moves until the
    // back-off has passed on the engine clock, then every dossier event is posted, in order.
    let first = motcua_api::webhook_delivery::deliver(&e, "w1")
        .await
        .unwrap();
    assert_eq!(first, 0);
    let early = motcua_api::webhook_delivery::deliver(&e, "w1")
        .await
        .unwrap();
    assert_eq!(early, 0, "not before the back-off");
    db.clock.advance(Duration::seconds(2));
    let delivered = motcua_api::webhook_delivery::deliver(&e, "w1")
        .await
        .unwrap();
    assert_eq!(delivered, 7);
    let got = shared.lock().unwrap().1.clone();
    assert_eq!(got.len(), 7);
    let ids: Vec<i64> = got.iter().map(|(id, _, _)| id.parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in feed order: {ids:?}"
    );
    for (_, signature, body) in &got {
        assert!(signature.starts_with("sha256="), "{signature}");
        assert_eq!(body["MaHoSo"], code.as_str());
        assert_eq!(body["MaTTHC"], "1.001193");
    }
    // Each post is the mapping as of delivery (the portal upserts by MaHoSo).
    assert_eq!(got[6].2, last);
    // Nothing is posted twice.
    assert_eq!(
        motcua_api::webhook_delivery::deliver(&e, "w1")
            .await
            .unwrap(),
        0
    );
}

on_both_databases!(portal_feed_follows_a_dossier);
