//! E-forms enforced by the engine, on a real SQLite file and a real PostgreSQL database: the
//! catalog's birth registration deployed with its three form-js forms; invalid start data and an
//! invalid task completion are refused with every failing field and change nothing; hidden
//! fields are dropped; a form file with errors deploys nothing.

use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{CommandOptions, Engine, EngineError, StartInstance};
use motcua_tests::{deploy_file as file, vars, Backend, TestDb};
use serde_json::{json, Map, Value};

const BIRTH: &str = include_str!("../../definitions/catalog/dang-ky-khai-sinh.bpmn");
const DECLARATION: &str = include_str!("../../definitions/catalog/to-khai-khai-sinh.form");
const RECEIPT: &str = include_str!("../../definitions/catalog/khai-sinh-tiep-nhan.form");
const EXAMINATION: &str = include_str!("../../definitions/catalog/khai-sinh-tham-dinh.form");

async fn deploy_catalog(engine: &Engine<AnyStore>) {
    engine
        .deploy(
            "catalog",
            &[
                file("dang-ky-khai-sinh.bpmn", BIRTH),
                file("to-khai-khai-sinh.form", DECLARATION),
                file("khai-sinh-tiep-nhan.form", RECEIPT),
                file("khai-sinh-tham-dinh.form", EXAMINATION),
            ],
        )
        .await
        .expect("the catalog deploys with its forms");
}

fn declaration() -> Value {
    json!({
        "applicantName": "Nguyễn Văn An",
        "applicantId": "046090001234",
        "applicantPhone": "0905 123 456",
        "relationship": "cha",
        "childName": "Nguyễn Thị Bình An",
        "childBirthDate": "20/11/2026",
        "childGender": "nu",
        "birthPlace": "Bệnh viện Trung ương Huế",
        "parentsMarried": false,
        "marriageCertificateNumber": "12/2020",
    })
}

fn start(data: Value) -> StartInstance {
    StartInstance {
        key: "dang-ky-khai-sinh".into(),
        variables: vars(data),
        ..StartInstance::default()
    }
}

async fn one_task(engine: &Engine<AnyStore>, group: &str) -> motcua_engine::TaskId {
    let tasks = engine
        .tasks(&TaskQuery {
            candidate_group: Some(group.into()),
            ..TaskQuery::default()
        })
        .await
        .expect("task query");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    tasks[0].record.id
}

async fn start_data_is_checked_by_the_start_form(backend: Backend) {
    let Some(db) = TestDb::new(backend, "start_data_is_checked_by_the_start_form").await else {
        return;
    };
    let engine = db.open().await;
    deploy_catalog(&engine).await;

    let mut bad = declaration();
    bad["applicantId"] = json!("000090001234"); // no province 000
    bad["childBirthDate"] = json!("29/02/2025"); // not a date
    bad["childGender"] = json!("khac"); // not an option
    bad["parentsMarried"] = json!(true); // shows the certificate number: now required
    bad["marriageCertificateNumber"] = json!("");
    let err = engine
        .start(start(bad), CommandOptions::by("cong-dan"))
        .await
        .expect_err("invalid data is refused");
    let EngineError::Form { form, errors } = err else {
        panic!("expected a form error, got {err:?}");
    };
    assert_eq!(form, "to-khai-khai-sinh");
    let mut got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.path.as_str(), e.code.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("applicantId", "cccd"),
            ("childBirthDate", "type"),
            ("childGender", "option"),
            ("marriageCertificateNumber", "required"),
        ]
    );
    assert!(errors.iter().all(|e| !e.message.is_empty()));
    assert_eq!(db.count(&engine, "SELECT count(*) FROM instances").await, 0);

    let started = engine
        .start(start(declaration()), CommandOptions::by("cong-dan"))
        .await
        .expect("valid data starts the procedure");
    let state = engine.instance(started.instance).await.expect("state");
    // Normalised to ISO, and the hidden certificate number dropped.
    assert_eq!(state.variables["childBirthDate"], json!("2026-11-20"));
    assert!(!state.variables.contains_key("marriageCertificateNumber"));
}

async fn an_invalid_task_completion_changes_nothing(backend: Backend) {
    let Some(db) = TestDb::new(backend, "an_invalid_task_completion_changes_nothing").await else {
        return;
    };
    let engine = db.open().await;
    deploy_catalog(&engine).await;
    let started = engine
        .start(start(declaration()), CommandOptions::by("cong-dan"))
        .await
        .expect("start");
    let receipt = one_task(&engine, "mot-cua").await;
    let err = engine
        .complete(receipt, Map::new(), CommandOptions::by("cb.motcua.lan"))
        .await
        .expect_err("the checklist is required");
    assert!(
        matches!(&err, EngineError::Form { errors, .. } if errors.len() == 1 && errors[0].path == "receivedDocuments"),
        "{err:?}"
    );
    engine
        .complete(
            receipt,
            vars(json!({"receivedDocuments": ["to-khai", "giay-chung-sinh"]})),
            CommandOptions::by("cb.motcua.lan"),
        )
        .await
        .expect("receipt");

    let exam = one_task(&engine, "tu-phap-ho-tich").await;
    let before = engine.instance(started.instance).await.expect("state");
    let journal_before = engine
        .journal(started.instance)
        .await
        .expect("journal")
        .len();
    // Not complete, and no word on what is missing: `missing` is shown, so required.
    let err = engine
        .complete(
            exam,
            vars(json!({"dossierComplete": false})),
            CommandOptions::by("cb.tuphap.minh"),
        )
        .await
        .expect_err("what is missing must be said");
    let EngineError::Form { errors, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.path.as_str(), e.code.as_str()))
            .collect::<Vec<_>>(),
        [("missing", "required")]
    );
    let after = engine.instance(started.instance).await.expect("state");
    assert_eq!(after.version, before.version);
    assert_eq!(after.variables, before.variables);
    assert_eq!(
        engine
            .journal(started.instance)
            .await
            .expect("journal")
            .len(),
        journal_before
    );
    assert_eq!(one_task(&engine, "tu-phap-ho-tich").await, exam);

    // Complete: `missing` is hidden, so what was typed is dropped, and the dossier goes on.
    engine
        .complete(
            exam,
            vars(json!({"dossierComplete": true, "missing": "không"})),
            CommandOptions::by("cb.tuphap.minh"),
        )
        .await
        .expect("examined");
    let state = engine.instance(started.instance).await.expect("state");
    assert_eq!(state.variables["dossierComplete"], json!(true));
    assert_eq!(state.variables.get("missing"), Some(&Value::Null));
    one_task(&engine, "lanh-dao").await;
}

async fn a_form_with_errors_deploys_nothing(backend: Backend) {
    let Some(db) = TestDb::new(backend, "a_form_with_errors_deploys_nothing").await else {
        return;
    };
    let engine = db.open().await;
    let broken = EXAMINATION.replace("\"minLength\": 5", "\"minLength\": \"năm\"");
    let err = engine
        .deploy(
            "catalog",
            &[
                file("dang-ky-khai-sinh.bpmn", BIRTH),
                file("khai-sinh-tham-dinh.form", &broken),
            ],
        )
        .await
        .expect_err("a broken form refuses the deployment");
    let text = err.to_string();
    assert!(
        text.contains("khai-sinh-tham-dinh.form: components[1].validate.minLength"),
        "{text}"
    );
    assert!(engine.definitions().await.expect("definitions").is_empty());
    assert!(engine
        .form("khai-sinh-tham-dinh")
        .await
        .expect("form")
        .is_none());

    // The same form twice deploys one version; a change makes version 2, which is enforced.
    deploy_catalog(&engine).await;
    deploy_catalog(&engine).await;
    let relaxed = EXAMINATION.replace("\"minLength\": 5", "\"minLength\": 1");
    engine
        .deploy("fix", &[file("khai-sinh-tham-dinh.form", &relaxed)])
        .await
        .expect("a forms-only deployment");
    assert_eq!(
        db.count(
            &engine,
            "SELECT count(*) FROM forms WHERE id = 'khai-sinh-tham-dinh'"
        )
        .await,
        2
    );
}

motcua_tests::on_both_databases!(
    start_data_is_checked_by_the_start_form,
    an_invalid_task_completion_changes_nothing,
    a_form_with_errors_deploys_nothing,
);
