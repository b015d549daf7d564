//! Signing in the process (issue #7 part 3) on a real SQLite file and a real PostgreSQL
//! database (each test runs on both), with a real test PKI made at test time (root → agency CA
//! → user certificates): a user task with `motcua:requiresSignatures` cannot be completed
//! without a valid signature by a certificate mapped to the acting user or the task's agency;
//! a certificate of another agency does not do; a signature over an older version does not
//! count after a supplement; a tampered document is refused with HASH_FAILURE; the counter
//! signs server-side with the agency's PKCS#12 key; the journal records `document_signed` and
//! replay still checks the instance.

use std::sync::Arc;

use chrono::Utc;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    certificate_fingerprint, Applicant, ApplicantKind, CommandOptions, DeployFile, DocumentInput,
    Engine, EngineError, Event, FolderBlobStore, InstanceId, SignatureSetup, SignerMapping,
    SubmitDossier, TaskId,
};
use motcua_signing::openssl::pkcs12::Pkcs12;
use motcua_signing::openssl::stack::Stack;
use motcua_signing::{load_pkcs12, SigningIdentity, SubIndication, TrustStore};
use motcua_tests::pki::{Pki, Spec};
use motcua_tests::{Backend, TestDb};
use serde_json::Map;
use tempfile::TempDir;

const PROCEDURE: &str = include_str!("../fixtures/chung-thuc-ky-so.bpmn");
/// The agency of the procedure's tasks (`motcua:agency`) and of the dossiers.
const AGENCY: &str = "000.00.01.H22";
/// Another agency.
const OTHER: &str = "000.00.02.H22";
const PAPER: &[u8] = b"%PDF-1.7 ban so hoa: Giay khai sinh so 123/2026";

struct World {
    db: TestDb,
    engine: Engine<AnyStore>,
    pki: Pki,
    /// Nguyễn Văn A, mapped to user `nguyenvana` of [`AGENCY`].
    a: SigningIdentity,
    /// Trần Thị B, mapped to user `tranthib` of [`OTHER`].
    b: SigningIdentity,
    _dir: TempDir,
}

fn fingerprint(identity: &SigningIdentity) -> String {
    certificate_fingerprint(identity.cert()).unwrap()
}

/// The counter's key as a PKCS#12 file, loaded as the server configuration would.
fn counter_key(pki: &Pki) -> SigningIdentity {
    let counter = pki.user(&Spec::user(
        "Trung tâm Phục vụ hành chính công tỉnh Thừa Thiên Huế",
        300,
    ));
    let mut chain = Stack::new().unwrap();
    chain.push(pki.agency.clone()).unwrap();
    chain.push(pki.root.clone()).unwrap();
    let mut builder = Pkcs12::builder();
    builder
        .name("tt-pvhcc")
        .pkey(counter.key())
        .cert(counter.cert())
        .ca(chain);
    let p12 = builder.build2("mật khẩu").unwrap().to_der().unwrap();
    load_pkcs12(&p12, "mật khẩu").unwrap()
}

async fn world(backend: Backend, test: &str) -> Option<World> {
    let db = TestDb::new(backend, test).await?;
    // The test PKI's certificates are valid around the real time: so is the engine clock (in
    // whole seconds, as the databases keep times to the microsecond).
    let now = Utc::now().timestamp();
    db.clock
        .set(chrono::DateTime::from_timestamp(now, 0).unwrap());
    let pki = Pki::new();
    let a = pki.user(&Spec::user("Nguyễn Văn A", 100));
    let b = pki.user(&Spec::user("Trần Thị B", 101));
    let mut trust = TrustStore::new();
    trust.add_roots_pem(&pki.root_pem()).unwrap();
    let mut agency_keys = std::collections::HashMap::new();
    agency_keys.insert(AGENCY.to_owned(), counter_key(&pki));
    let setup = SignatureSetup {
        trust,
        signers: vec![
            SignerMapping {
                fingerprint: fingerprint(&a),
                user: Some("nguyenvana".into()),
                agency: Some(AGENCY.into()),
            },
            SignerMapping {
                fingerprint: fingerprint(&b),
                user: Some("tranthib".into()),
                agency: Some(OTHER.into()),
            },
        ],
        agency_keys,
        engine_key: None,
    };
    // Debug never prints key material.
    let debug = format!("{setup:?}");
    assert!(
        debug.contains(AGENCY) && !debug.contains("PRIVATE"),
        "{debug}"
    );
    let dir = tempfile::tempdir().unwrap();
    let engine = db
        .open()
        .await
        .with_blobs(Arc::new(FolderBlobStore::new(dir.path().join("blobs"))))
        .with_signatures(setup);
    engine
        .deploy(
            "ky-so",
            &[DeployFile {
                name: "chung-thuc-ky-so.bpmn".into(),
                bytes: PROCEDURE.as_bytes().to_vec(),
            }],
        )
        .await
        .unwrap();
    Some(World {
        db,
        engine,
        pki,
        a,
        b,
        _dir: dir,
    })
}

fn upload(slot: &str, bytes: &[u8]) -> DocumentInput {
    DocumentInput::Upload {
        slot: slot.into(),
        name: format!("{slot}.pdf"),
        media_type: "application/pdf".into(),
        bytes: bytes.to_vec(),
    }
}

/// Receives a dossier with the paper in `ban-chinh`: its code and instance.
async fn receive(w: &World) -> (String, InstanceId) {
    let view = w
        .engine
        .submit_dossier(
            SubmitDossier {
                procedure_key: "chung-thuc-ky-so".into(),
                version: None,
                agency_code: AGENCY.into(),
                applicant: Applicant {
                    kind: ApplicantKind::CitizenId,
                    id: "046090000001".into(),
                    name: "Lê Thị Hoa".into(),
                    address: None,
                    phone: None,
                    email: None,
                },
                data: Map::new(),
                documents: vec![upload("ban-chinh", PAPER)],
                due_at: None,
                certify: Vec::new(),
            },
            CommandOptions::by("motcua-1"),
        )
        .await
        .unwrap();
    (view.dossier.code, view.dossier.instance)
}

/// The open tasks of an instance: (id, node).
async fn open_tasks(w: &World, instance: InstanceId) -> Vec<(TaskId, String)> {
    w.engine
        .tasks(&TaskQuery {
            instance: Some(instance),
            ..TaskQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.record.id, t.record.node))
        .collect()
}

/// What must not move when a command is refused: the instance's version, the dossier's
/// version, the open tasks and the journal's length.
async fn snapshot(w: &World, code: &str, instance: InstanceId) -> (i64, i64, Vec<String>, usize) {
    let state = w.engine.instance(instance).await.unwrap();
    let dossier = w.engine.dossier(code).await.unwrap();
    let tasks = open_tasks(w, instance)
        .await
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    let journal = w.engine.journal(instance).await.unwrap().len();
    (state.version, dossier.dossier.version, tasks, journal)
}

fn rejected(result: Result<motcua_engine::Outcome, EngineError>) -> String {
    match result {
        Err(EngineError::Rejected(message)) => message,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

async fn a_task_requiring_a_signature_cannot_be_completed_without_one(backend: Backend) {
    let Some(w) = world(
        backend,
        "a_task_requiring_a_signature_cannot_be_completed_without_one",
    )
    .await
    else {
        return;
    };
    let (code, instance) = receive(&w).await;
    let tasks = open_tasks(&w, instance).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].1, "so-hoa");
    let before = snapshot(&w, &code, instance).await;
    let message = rejected(
        w.engine
            .complete(tasks[0].0, Map::new(), CommandOptions::by("nguyenvana"))
            .await,
    );
    assert!(message.contains(&code), "{message}");
    assert!(message.contains("ban-chinh"), "{message}");
    assert!(
        message.contains("nguyenvana") && message.contains(AGENCY),
        "{message}"
    );
    assert!(message.contains("chữ ký số"), "{message}");
    assert_eq!(
        snapshot(&w, &code, instance).await,
        before,
        "nothing changed"
    );
    assert!(w.engine.dossier_signatures(&code).await.unwrap().is_empty());
}

async fn a_users_valid_signature_lets_them_complete(backend: Backend) {
    let Some(w) = world(backend, "a_users_valid_signature_lets_them_complete").await else {
        return;
    };
    let (code, instance) = receive(&w).await;
    let task = open_tasks(&w, instance).await[0].0;
    let cms = w.a.sign(PAPER, None).unwrap();
    let options = CommandOptions::by("nguyenvana").with_key("ky-1");
    let record = w
        .engine
        .attach_signature(&code, "ban-chinh", &cms, options.clone())
        .await
        .unwrap();
    assert_eq!(record.dossier_code, code);
    assert_eq!((record.slot.as_str(), record.version), ("ban-chinh", 1));
    assert_eq!(
        record.document_sha256,
        motcua_engine::dossier::blobs::sha256_hex(PAPER)
    );
    assert_eq!(record.fingerprint, fingerprint(&w.a));
    assert_eq!(record.signer_user.as_deref(), Some("nguyenvana"));
    assert_eq!(record.signer_agency.as_deref(), Some(AGENCY));
    assert!(record.signer_subject.contains("Nguyễn Văn A"));
    assert!(!record.server_side);
    assert_eq!(record.added_by.as_deref(), Some("nguyenvana"));
    // The CMS is stored as a blob, read back verified.
    assert_eq!(
        w.engine.read_signature(&code, &record.id).await.unwrap(),
        cms
    );
    // A retry with the same key returns the first answer and stores nothing new.
    let again = w
        .engine
        .attach_signature(&code, "ban-chinh", &cms, options)
        .await
        .unwrap();
    assert_eq!(again.id, record.id);
    assert_eq!(w.engine.dossier_signatures(&code).await.unwrap().len(), 1);

    w.engine
        .complete(task, Map::new(), CommandOptions::by("nguyenvana"))
        .await
        .unwrap();
    // The approval needs `phieu-duyet`, which the dossier does not have at all.
    let tasks = open_tasks(&w, instance).await;
    assert_eq!(tasks[0].1, "phe-duyet");
    let message = rejected(
        w.engine
            .complete(tasks[0].0, Map::new(), CommandOptions::by("nguyenvana"))
            .await,
    );
    assert!(
        message.contains("phieu-duyet") && message.contains("chưa có giấy tờ"),
        "{message}"
    );

    // The journal records the signature as its own version-checked command.
    let journal = w.engine.journal(instance).await.unwrap();
    let signed: Vec<_> = journal
        .iter()
        .filter(|j| j.kind == "document_signed")
        .collect();
    assert_eq!(signed.len(), 1);
    match &signed[0].event {
        Event::DocumentSigned { signature } => {
            assert_eq!(signature.id, record.id);
            assert_eq!(signature.slot, "ban-chinh");
            assert_eq!(signature.document_sha256, record.document_sha256);
            assert_eq!(signature.signer_user.as_deref(), Some("nguyenvana"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(signed[0].actor.as_deref(), Some("nguyenvana"));
    w.engine.verify_instance(instance).await.expect("replay");
    let fresh = w.db.open().await;
    fresh.verify_instance(instance).await.expect("replay");
}

async fn a_certificate_of_another_agency_cannot_complete_the_task(backend: Backend) {
    let Some(w) = world(
        backend,
        "a_certificate_of_another_agency_cannot_complete_the_task",
    )
    .await
    else {
        return;
    };
    let (code, instance) = receive(&w).await;
    let task = open_tasks(&w, instance).await[0].0;
    // A valid signature, stored — by a certificate mapped to another agency.
    let record = w
        .engine
        .attach_signature(
            &code,
            "ban-chinh",
            &w.b.sign(PAPER, None).unwrap(),
            CommandOptions::by("nguyenvana"),
        )
        .await
        .unwrap();
    assert_eq!(record.signer_agency.as_deref(), Some(OTHER));
    // And one by a certificate the configuration maps to nobody.
    let stranger = w.pki.user(&Spec::user("Người lạ", 102));
    let unmapped = w
        .engine
        .attach_signature(
            &code,
            "ban-chinh",
            &stranger.sign(PAPER, None).unwrap(),
            CommandOptions::by("nguyenvana"),
        )
        .await
        .unwrap();
    assert_eq!((unmapped.signer_user, unmapped.signer_agency), (None, None));

    let before = snapshot(&w, &code, instance).await;
    let message = rejected(
        w.engine
            .complete(task, Map::new(), CommandOptions::by("nguyenvana"))
            .await,
    );
    assert!(message.contains("ban-chinh"), "{message}");
    assert!(message.contains(AGENCY), "who must sign: {message}");
    assert!(
        message.contains("Trần Thị B") && message.contains(OTHER),
        "the refused signature is named: {message}"
    );
    assert_eq!(
        snapshot(&w, &code, instance).await,
        before,
        "nothing changed"
    );
}

async fn a_signature_over_an_older_version_does_not_count_after_a_supplement(backend: Backend) {
    let Some(w) = world(
        backend,
        "a_signature_over_an_older_version_does_not_count_after_a_supplement",
    )
    .await
    else {
        return;
    };
    let (code, instance) = receive(&w).await;
    let task = open_tasks(&w, instance).await[0].0;
    let old = w.a.sign(PAPER, None).unwrap();
    w.engine
        .attach_signature(&code, "ban-chinh", &old, CommandOptions::by("nguyenvana"))
        .await
        .unwrap();
    let v2: &[u8] = b"%PDF-1.7 ban so hoa (quet lai): Giay khai sinh so 123/2026";
    w.engine
        .add_document(
            &code,
            upload("ban-chinh", v2),
            CommandOptions::by("motcua-1"),
        )
        .await
        .unwrap();
    let message = rejected(
        w.engine
            .complete(task, Map::new(), CommandOptions::by("nguyenvana"))
            .await,
    );
    assert!(message.contains("phiên bản 2"), "{message}");
    // The old signature no longer verifies against the latest version.
    match w
        .engine
        .attach_signature(&code, "ban-chinh", &old, CommandOptions::by("nguyenvana"))
        .await
    {
        Err(EngineError::Signature { report }) => {
            assert_eq!(report.sub_indication, Some(SubIndication::HashFailure))
        }
        other => panic!("{other:?}"),
    }
    let new = w
        .engine
        .attach_signature(
            &code,
            "ban-chinh",
            &w.a.sign(v2, None).unwrap(),
            CommandOptions::by("nguyenvana"),
        )
        .await
        .unwrap();
    assert_eq!(new.version, 2);
    w.engine
        .complete(task, Map::new(), CommandOptions::by("nguyenvana"))
        .await
        .unwrap();
    let versions: Vec<i32> = w
        .engine
        .dossier_signatures(&code)
        .await
        .unwrap()
        .iter()
        .map(|s| s.version)
        .collect();
    assert_eq!(versions, [1, 2]);
    w.engine.verify_instance(instance).await.expect("replay");
}

async fn a_tampered_document_or_signature_is_refused(backend: Backend) {
    let Some(w) = world(backend, "a_tampered_document_or_signature_is_refused").await else {
        return;
    };
    let (code, instance) = receive(&w).await;
    let before = snapshot(&w, &code, instance).await;
    // Signed over other bytes than the dossier's document (the document was changed after
    // signing, as far as the signature knows).
    let mut tampered = PAPER.to_vec();
    tampered[10] ^= 1;
    let cms = w.a.sign(&tampered, None).unwrap();
    match w
        .engine
        .attach_signature(&code, "ban-chinh", &cms, CommandOptions::by("nguyenvana"))
        .await
    {
        Err(EngineError::Signature { report }) => {
            assert_eq!(report.sub_indication, Some(SubIndication::HashFailure));
            assert!(!report.passed());
        }
        other => panic!("{other:?}"),
    }
    // Not a signature at all.
    match w
        .engine
        .attach_signature(&code, "ban-chinh", b"garbage", CommandOptions::default())
        .await
    {
        Err(EngineError::Signature { report }) => {
            assert_eq!(report.sub_indication, Some(SubIndication::FormatFailure))
        }
        other => panic!("{other:?}"),
    }
    // No document in that slot.
    assert!(matches!(
        w.engine
            .attach_signature(&code, "phieu-duyet", &cms, CommandOptions::default())
            .await,
        Err(EngineError::NotFound { .. })
    ));
    assert!(w.engine.dossier_signatures(&code).await.unwrap().is_empty());
    assert_eq!(
        snapshot(&w, &code, instance).await,
        before,
        "nothing changed"
    );
}

async fn server_side_signing_with_the_agency_key_satisfies_the_task_agency(backend: Backend) {
    let Some(w) = world(
        backend,
        "server_side_signing_with_the_agency_key_satisfies_the_task_agency",
    )
    .await
    else {
        return;
    };
    let (code, instance) = receive(&w).await;
    let task = open_tasks(&w, instance).await[0].0;
    // Another agency has no key configured: a clear refusal, nothing stored.
    match w
        .engine
        .sign_document(&code, "ban-chinh", OTHER, CommandOptions::by("motcua-1"))
        .await
    {
        Err(EngineError::Rejected(m)) => assert!(m.contains(OTHER), "{m}"),
        other => panic!("{other:?}"),
    }
    let record = w
        .engine
        .sign_document(&code, "ban-chinh", AGENCY, CommandOptions::by("motcua-1"))
        .await
        .unwrap();
    assert!(record.server_side);
    assert_eq!(record.signer_agency.as_deref(), Some(AGENCY));
    assert_eq!(record.signer_user, None);
    assert!(record
        .signer_subject
        .contains("Trung tâm Phục vụ hành chính công"));
    // Signed at the engine clock's time.
    let signed_at = record.signing_time.expect("a signing time");
    assert!((signed_at - w.db.clock.now_for_tests()).num_seconds().abs() <= 1);
    // The task's agency signed: any of its servants completes it.
    w.engine
        .complete(task, Map::new(), CommandOptions::by("motcua-1"))
        .await
        .unwrap();
    let journal = w.engine.journal(instance).await.unwrap();
    assert!(journal.iter().any(|j| matches!(
        &j.event,
        Event::DocumentSigned { signature } if signature.server_side
    )));
    w.engine.verify_instance(instance).await.expect("replay");
}

motcua_tests::on_both_databases!(
    a_task_requiring_a_signature_cannot_be_completed_without_one,
    a_users_valid_signature_lets_them_complete,
    a_certificate_of_another_agency_cannot_complete_the_task,
    a_signature_over_an_older_version_does_not_count_after_a_supplement,
    a_tampered_document_or_signature_is_refused,
    server_side_signing_with_the_agency_key_satisfies_the_task_agency,
);
