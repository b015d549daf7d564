//! `motcua demo`: the birth-registration procedure ("Đăng ký khai sinh") run end to end on a
//! fresh embedded SQLite file, one supplement loop included, printing each step in Vietnamese.
//! It goes through the same engine calls as every other command: the procedure is deployed with
//! its forms, a dossier is received with its documents (a first submission with a wrong citizen
//! ID is refused by the form), the dossier follows its one-stop lifecycle beside the process,
//! and the slips of Circular 01/2018 are written as HTML files next to the database. Half-way it
//! closes the database and opens it again to show that nothing lives only in memory.
//!
//! Then it deploys the whole procedure catalog and fills the database with realistic dossiers
//! and directives in every state (`crate::demo_data`), printing a summary table.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use motcua_engine::slips::SlipForm;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    Applicant, ApplicantKind, CommandOptions, DeployFile, DocumentInput, DossierState, Engine,
    EngineError, FolderBlobStore, InstanceId, InstanceStatus, SqliteConfig, SqliteStore,
    SubmitDossier, SystemClock,
};
use serde_json::{json, Map, Value};

use crate::output::{local, print_json, say, table};

const CATALOG_FILE: &str = "definitions/catalog/dang-ky-khai-sinh.bpmn";
const BIRTH_REGISTRATION: &str = include_str!("../../definitions/catalog/dang-ky-khai-sinh.bpmn");
const FORMS: [(&str, &str); 3] = [
    (
        "definitions/catalog/to-khai-khai-sinh.form",
        include_str!("../../definitions/catalog/to-khai-khai-sinh.form"),
    ),
    (
        "definitions/catalog/khai-sinh-tiep-nhan.form",
        include_str!("../../definitions/catalog/khai-sinh-tiep-nhan.form"),
    ),
    (
        "definitions/catalog/khai-sinh-tham-dinh.form",
        include_str!("../../definitions/catalog/khai-sinh-tham-dinh.form"),
    ),
];
/// UBND xã Phú Thượng in the shipped agency directory.
const AGENCY: &str = "000.00.02.H22";
/// UBND phường Phú Hội: certified copies (chứng thực bản sao) in the demo data.
const WARD: &str = "000.00.01.H22";

async fn open(
    url: &str,
    documents: &std::path::Path,
    signing: Option<&std::path::Path>,
) -> Result<Engine<SqliteStore>> {
    open_with_clock(url, documents, signing, Arc::new(SystemClock)).await
}

async fn open_with_clock(
    url: &str,
    documents: &std::path::Path,
    signing: Option<&std::path::Path>,
    clock: Arc<dyn motcua_engine::Clock>,
) -> Result<Engine<SqliteStore>> {
    let store = SqliteStore::open(&SqliteConfig::new(url))
        .await
        .with_context(|| format!("cannot open {url}"))?;
    let engine = Engine::new(store, clock).with_blobs(Arc::new(FolderBlobStore::new(documents)));
    Ok(match signing {
        None => engine,
        Some(path) => engine.with_signatures(crate::signing_config::load(path)?),
    })
}

/// Writes a form of Circular 01/2018 for the dossier next to the database.
async fn write_slip(
    engine: &Engine<SqliteStore>,
    code: &str,
    form: SlipForm,
    folder: &std::path::Path,
    name: &str,
) -> Result<PathBuf> {
    let slip = engine.dossier_slip(code, form).await?;
    let html = motcua_forms::slips::render(engine.templates(), &slip)?;
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let path = folder.join(name);
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A small stand-in for a scanned document (the demo has no scanner).
fn demo_document(slot: &str, title: &str) -> DocumentInput {
    DocumentInput::Upload {
        slot: slot.to_owned(),
        name: format!("{slot}.txt"),
        media_type: "text/plain; charset=utf-8".to_owned(),
        bytes: format!("{title} — bản số hóa tại Bộ phận một cửa (motcua demo)\n").into_bytes(),
    }
}

/// Finds the instance's one open task for `group`, claims it as `user` and completes it.
async fn work(
    engine: &Engine<SqliteStore>,
    instance: InstanceId,
    group: &str,
    user: &str,
    variables: Value,
    say: &str,
) -> Result<()> {
    let query = TaskQuery {
        candidate_group: Some(group.to_owned()),
        instance: Some(instance),
        ..TaskQuery::default()
    };
    let tasks = engine.tasks(&query).await?;
    let Some(task) = tasks.first() else {
        bail!("the demo expected an open task for group '{group}' and found none");
    };
    let id = task.record.id;
    say!(
        "  ▸ Hàng đợi «{group}»: công việc «{}» ({})",
        task.record.name,
        task.record.node
    );
    engine.claim(id, user, CommandOptions::by(user)).await?;
    say!("    {user} nhận xử lý");
    let outcome = engine
        .complete(
            id,
            vars(variables),
            CommandOptions::by(user).with_key(format!("demo-{id}")),
        )
        .await?;
    say!("    {say} (phiên bản {})", outcome.version);
    Ok(())
}

/// Runs the demo.
/// `signing` is the `--signing` configuration, loaded into the demo's engine when given.
pub async fn run(
    keep: Option<PathBuf>,
    json_out: bool,
    signing: Option<&std::path::Path>,
) -> Result<()> {
    let path = match keep {
        Some(p) => p,
        None => std::env::temp_dir().join(format!("motcua-demo-{}.db", uuid::Uuid::now_v7())),
    };
    if path.exists() {
        bail!(
            "{} exists already: give --keep a new file name",
            path.display()
        );
    }
    let url = format!("sqlite://{}", path.display());
    say!("motcua demo — thủ tục «Đăng ký khai sinh» tại Bộ phận một cửa UBND xã Phú Thượng");
    say!(
        "Cơ sở dữ liệu: {} (SQLite, WAL, synchronous=FULL)\n",
        path.display()
    );

    let documents = path.with_extension("documents");
    let slips = path.with_extension("slips");
    let (signing, demo_root) = match signing {
        Some(p) => (p.to_path_buf(), None),
        None => {
            let dir = path.with_extension("pki");
            let file = write_demo_pki(&dir)?;
            (file, Some(dir.join("root.pem")))
        }
    };
    let engine = open(&url, &documents, Some(&signing)).await?;
    let mut files = vec![DeployFile {
        name: CATALOG_FILE.to_owned(),
        bytes: BIRTH_REGISTRATION.as_bytes().to_vec(),
    }];
    files.extend(FORMS.iter().map(|(name, text)| DeployFile {
        name: (*name).to_owned(),
        bytes: text.as_bytes().to_vec(),
    }));
    let deployed = engine.deploy("catalog", &files).await?;
    for d in &deployed {
        say!(
            "1. Triển khai quy trình «{}» ({}), phiên bản {}, cùng 3 biểu mẫu điện tử",
            d.definition.name.as_deref().unwrap_or(&d.definition.key),
            d.definition.key,
            d.definition.version
        );
    }

    let declaration = json!({
        "applicantName": "Nguyễn Văn An",
        "applicantId": "046090001234",
        "applicantPhone": "0905 123 456",
        "relationship": "cha",
        "childName": "Nguyễn Thị Bình An",
        "childBirthDate": "20/11/2026",
        "childGender": "nu",
        "birthPlace": "Bệnh viện Trung ương Huế",
        "parentsMarried": true,
        "marriageCertificateNumber": "15/2024",
        "channel": "Cổng dịch vụ công",
    });
    let submission = |data: Value| SubmitDossier {
        procedure_key: "dang-ky-khai-sinh".into(),
        version: None,
        agency_code: AGENCY.into(),
        applicant: Applicant {
            kind: ApplicantKind::CitizenId,
            id: "046090001234".into(),
            name: "Nguyễn Văn An".into(),
            address: Some("Thôn Phú Xuân, xã Phú Thượng, Huế".into()),
            phone: Some("0905123456".into()),
            email: None,
        },
        data: vars(data),
        documents: vec![
            demo_document("to-khai", "Tờ khai đăng ký khai sinh"),
            demo_document("giay-chung-sinh", "Giấy chứng sinh"),
        ],
        due_at: None,
        certify: Vec::new(),
    };
    let mut typo = declaration.clone();
    typo["applicantId"] = json!("04609000123");
    match engine
        .submit_dossier(submission(typo), CommandOptions::by("cb.motcua.lan"))
        .await
    {
        Err(EngineError::Form { errors, .. }) => {
            say!("2. Lần nộp đầu bị biểu mẫu từ chối, không có gì được ghi:");
            for e in &errors {
                say!("   ✗ {}: {}", e.path, e.message);
            }
        }
        other => bail!("the demo expected the form to refuse a wrong citizen ID, got {other:?}"),
    }
    let view = engine
        .submit_dossier(
            submission(declaration),
            CommandOptions::by("cb.motcua.lan").with_key("demo-submit"),
        )
        .await?;
    let code = view.dossier.code.clone();
    let id = view.dossier.instance;
    say!(
        "   Công dân Nguyễn Văn An nộp lại hồ sơ khai sinh cho con — mã hồ sơ {code}, {} giấy tờ",
        view.documents.len()
    );
    if let Some(due) = view.dossier.due_at {
        say!(
            "   hẹn trả kết quả: {} (1 ngày làm việc theo lịch nghỉ lễ Việt Nam)",
            local(due)
        );
    }
    let receipt = write_slip(
        &engine,
        &code,
        SlipForm::Receipt,
        &slips,
        "01-giay-tiep-nhan.html",
    )
    .await?;
    say!(
        "   Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu 01): {}",
        receipt.display()
    );
    say!("   mã quy trình (instance): {id}");
    match engine
        .sign_document(
            &code,
            "giay-chung-sinh",
            AGENCY,
            CommandOptions::by("cb.motcua.lan"),
        )
        .await
    {
        Ok(signed) => say!(
            "   Bộ phận một cửa ký số bản số hóa Giấy chứng sinh bằng khóa của cơ quan: {} \
             (TOTAL_PASSED, gắn với SHA-256 {}…)",
            signed.signer_subject,
            &signed.document_sha256[..16]
        ),
        Err(EngineError::Rejected(why)) => say!("   (không ký số: {why})"),
        Err(e) => return Err(e.into()),
    }

    say!("3. Bộ phận một cửa tiếp nhận và kiểm tra hồ sơ");
    work(
        &engine,
        id,
        "mot-cua",
        "cb.motcua.lan",
        json!({"receivedDocuments": ["to-khai", "giay-chung-sinh"]}),
        "Đã tiếp nhận, chuyển công chức tư pháp - hộ tịch",
    )
    .await?;
    engine
        .transition_dossier(
            &code,
            DossierState::Processing,
            None,
            None,
            CommandOptions::by("cb.motcua.lan"),
        )
        .await?;

    say!("4. Công chức tư pháp - hộ tịch thẩm định: thiếu giấy tờ tùy thân của người đi khai");
    work(
        &engine,
        id,
        "tu-phap-ho-tich",
        "cc.tuphap.hung",
        json!({"dossierComplete": false, "missing": "CCCD của người đi đăng ký"}),
        "Hồ sơ chưa đầy đủ → yêu cầu bổ sung",
    )
    .await?;
    engine
        .transition_dossier(
            &code,
            DossierState::SupplementRequested,
            Some("Bản sao CCCD của người đi đăng ký khai sinh".into()),
            None,
            CommandOptions::by("cc.tuphap.hung"),
        )
        .await?;
    let request = write_slip(
        &engine,
        &code,
        SlipForm::Supplement,
        &slips,
        "02-yeu-cau-bo-sung.html",
    )
    .await?;
    say!(
        "   Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu 02): {}",
        request.display()
    );

    say!("5. Khởi động lại: đóng cơ sở dữ liệu và mở lại — quy trình tiếp tục từ nơi đã dừng");
    engine.store().close().await;
    drop(engine);
    let engine = open(&url, &documents, Some(&signing)).await?;
    let state = engine.instance(id).await?;
    let waiting: Vec<&str> = state.tokens.iter().map(|t| t.node.as_str()).collect();
    say!("   đang chờ tại: {}", waiting.join(", "));

    say!("6. Bộ phận một cửa thông báo và nhận hồ sơ bổ sung");
    work(
        &engine,
        id,
        "mot-cua",
        "cb.motcua.lan",
        json!({"supplemented": true}),
        "Đã nhận bổ sung, chuyển thẩm định lại",
    )
    .await?;
    let added = engine
        .add_document(
            &code,
            demo_document("cccd-nguoi-di-khai", "Bản sao CCCD của người đi đăng ký"),
            CommandOptions::by("cb.motcua.lan"),
        )
        .await?;
    say!(
        "   giấy tờ bổ sung «{}» lưu theo SHA-256 {}…",
        added.slot,
        &added.sha256[..16]
    );
    for to in [DossierState::SupplementReceived, DossierState::Processing] {
        engine
            .transition_dossier(&code, to, None, None, CommandOptions::by("cb.motcua.lan"))
            .await?;
    }

    say!("7. Thẩm định lại: hồ sơ đầy đủ");
    work(
        &engine,
        id,
        "tu-phap-ho-tich",
        "cc.tuphap.hung",
        json!({"dossierComplete": true}),
        "Hồ sơ đầy đủ → trình lãnh đạo",
    )
    .await?;

    say!("8. Lãnh đạo UBND xã ký duyệt giấy khai sinh");
    work(
        &engine,
        id,
        "lanh-dao",
        "pct.ubnd.minh",
        json!({"approved": true}),
        "Đã ký duyệt",
    )
    .await?;
    engine
        .transition_dossier(
            &code,
            DossierState::Done,
            None,
            None,
            CommandOptions::by("pct.ubnd.minh"),
        )
        .await?;

    say!("9. Bộ phận một cửa trả kết quả cho công dân");
    work(
        &engine,
        id,
        "mot-cua",
        "cb.motcua.lan",
        json!({"returnedTo": "Nguyễn Văn An"}),
        "Đã trả kết quả",
    )
    .await?;
    let view = engine
        .transition_dossier(
            &code,
            DossierState::ResultReturned,
            None,
            None,
            CommandOptions::by("cb.motcua.lan"),
        )
        .await?;
    say!("   Hồ sơ {code}: {}", view.dossier.state.label());
    let control = write_slip(
        &engine,
        &code,
        SlipForm::ControlSheet,
        &slips,
        "05-phieu-kiem-soat.html",
    )
    .await?;
    say!(
        "   Phiếu kiểm soát quá trình giải quyết hồ sơ (Mẫu 05): {}",
        control.display()
    );

    let state = engine.instance(id).await?;
    if state.status != InstanceStatus::Completed {
        bail!(
            "the demo instance should have completed but is {}",
            state.status.as_str()
        );
    }
    let journal = engine.journal(id).await?;
    say!(
        "\n✔ Hoàn thành lúc {} — {} sự kiện trong nhật ký (journal); các bước chính:",
        state.ended_at.map(local).unwrap_or_default(),
        journal.len()
    );
    if json_out {
        print_json(&Value::Array(
            journal.iter().map(crate::output::journal_json).collect(),
        ));
    } else {
        let mut t = table(&["#", "sự kiện", "người thực hiện", "chi tiết"]);
        let main_steps = journal.iter().filter(|e| {
            !matches!(
                e.event,
                motcua_engine::Event::ActivityEntered { .. }
                    | motcua_engine::Event::ActivityCompleted { .. }
            )
        });
        for e in main_steps {
            let detail = match &e.event {
                motcua_engine::Event::ActivityEntered { node, .. }
                | motcua_engine::Event::ActivityCompleted { node }
                | motcua_engine::Event::TaskCreated { node, .. }
                | motcua_engine::Event::TaskCompleted { node, .. } => node.clone(),
                motcua_engine::Event::TaskClaimed { assignee, .. } => assignee.clone(),
                motcua_engine::Event::GatewayDecided { node, flows } => {
                    format!("{node} → {}", flows.join(", "))
                }
                motcua_engine::Event::VariablesChanged { changes } => {
                    let names: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
                    match names.len() {
                        0..=4 => names.join(", "),
                        n => format!("{}, … ({n} biến)", names[..3].join(", ")),
                    }
                }
                motcua_engine::Event::DossierReceived { code, .. } => {
                    code.clone().unwrap_or_default()
                }
                motcua_engine::Event::DossierStateChanged { from, to, .. } => {
                    format!("{from} → {to}")
                }
                motcua_engine::Event::DocumentAttached { document } => {
                    format!("{} v{}", document.slot, document.version)
                }
                motcua_engine::Event::DocumentSigned { signature } => {
                    format!(
                        "{} v{} — {}",
                        signature.slot, signature.version, signature.signer_subject
                    )
                }
                _ => String::new(),
            };
            t.add_row(vec![
                e.seq.to_string(),
                e.kind.clone(),
                e.actor.clone().unwrap_or_default(),
                detail,
            ]);
        }
        say!("{t}");
    }
    audit(&engine, &code, &path, &signing, demo_root.as_deref()).await?;

    // The catalog and its data, played on a clock set back a few weeks.
    let now = engine.now();
    engine.store().close().await;
    drop(engine);
    let clock = motcua_engine::ManualClock::new(now);
    let engine = open_with_clock(&url, &documents, Some(&signing), Arc::new(clock.clone())).await?;
    let created = crate::demo_data::fill(&engine, &clock, now).await?;
    let catalog = motcua_engine::catalog::Catalog::shipped()?;
    crate::demo_data::print_summary(&created, &catalog);
    let users = write_demo_users(&path)?;
    say!(
        "\n🌐 Giao diện web: motcua --database {url} --documents {} --signing {} serve --web-users {}",
        documents.display(),
        signing.display(),
        users.display()
    );
    say!(
        "   rồi mở http://127.0.0.1:8080/web/login — tài khoản (mật khẩu «{DEMO_PASSWORD}»): lan \
         (một cửa, xã Phú Thượng), binh (tư pháp - hộ tịch), lanh-dao (lãnh đạo xã), quan-tri \
         (quản trị: mọi hàng đợi, IOC); tra cứu công khai: /tra-cuu?ma={code}"
    );
    say!("\nXem lại: motcua --database {url} history {id}");
    say!(
        "         motcua --database {url} --documents {} dossier show {code}",
        documents.display()
    );
    Ok(())
}

/// The demo accounts' password (printed; never for a real deployment).
const DEMO_PASSWORD: &str = "motcua-demo";

/// The web front's demo accounts next to the database (`<db>.users.toml`): the birth
/// registration's three groups in UBND xã Phú Thượng and an administrator.
fn write_demo_users(db: &std::path::Path) -> Result<PathBuf> {
    let hash = crate::web::session::hash_password(DEMO_PASSWORD, 10_000)?;
    let agency = "000.00.02.H22";
    let mut text = String::from("# Demo accounts of `motcua demo` (never for real use).\n");
    for (id, name, role, groups) in [
        ("lan", "Trần Thị Lan", "servant", "\"mot-cua\""),
        ("binh", "Lê Văn Bình", "servant", "\"tu-phap-ho-tich\""),
        ("lanh-dao", "Hồ Thị Dung", "leader", "\"lanh-dao\""),
        ("quan-tri", "Quản trị hệ thống", "admin", ""),
    ] {
        text.push_str(&format!(
            "\n[[user]]\nid = \"{id}\"\nname = \"{name}\"\nrole = \"{role}\"\nagency = \"{agency}\"\ngroups = [{groups}]\npassword_hash = \"{hash}\"\n"
        ));
    }
    let path = db.with_extension("users.toml");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// A local demonstration PKI next to the database (root, the counter's key, the engine's key)
/// and the `--signing` file naming them; returns the file. Never for real signatures.
fn write_demo_pki(dir: &std::path::Path) -> Result<PathBuf> {
    use motcua_signing::{to_pkcs12, LocalAuthority};
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let now = chrono::Utc::now();
    let validity = (
        now - chrono::Duration::days(1),
        now + chrono::Duration::days(365),
    );
    let mut ca = LocalAuthority::new(
        "motcua demo root (chỉ để trình diễn)",
        "motcua demo",
        validity,
    )?;
    let counter = ca.issue(
        "Bộ phận một cửa UBND xã Phú Thượng",
        "UBND xã Phú Thượng",
        validity,
    )?;
    let ward = ca.issue(
        "Bộ phận một cửa UBND phường Phú Hội",
        "UBND phường Phú Hội",
        validity,
    )?;
    let engine = ca.issue("motcua — khóa hệ thống (demo)", "motcua demo", validity)?;
    let password = uuid::Uuid::new_v4().simple().to_string();
    let write = |name: &str, bytes: &[u8]| -> Result<()> {
        let file = dir.join(name);
        std::fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))
    };
    write("root.pem", &ca.root_pem()?)?;
    write("counter.p12", &to_pkcs12(&counter, &password)?)?;
    write("ward.p12", &to_pkcs12(&ward, &password)?)?;
    write("engine.p12", &to_pkcs12(&engine, &password)?)?;
    write("password", password.as_bytes())?;
    write(
        "signing.toml",
        format!(
            "# The demo's local PKI: never trust it for real signatures.\n\
             trust = [\"root.pem\"]\n\n\
             [engine_key]\npkcs12 = \"engine.p12\"\npassword_file = \"password\"\n\n\
             [[agency_key]]\nagency = \"{AGENCY}\"\npkcs12 = \"counter.p12\"\n\
             password_file = \"password\"\n\n\
             [[agency_key]]\nagency = \"{WARD}\"\npkcs12 = \"ward.p12\"\n\
             password_file = \"password\"\n"
        )
        .as_bytes(),
    )?;
    Ok(dir.join("signing.toml"))
}

/// The auditor's view at the end of the demo: the dossier exported as an archive (a checkpoint
/// signed first), verified offline, then one journal row edited in a copy to show it is caught.
async fn audit(
    engine: &Engine<SqliteStore>,
    code: &str,
    db: &std::path::Path,
    signing: &std::path::Path,
    root: Option<&std::path::Path>,
) -> Result<()> {
    use motcua_engine::audit::archive::JOURNAL;
    use motcua_engine::audit::verify_archive;
    let archive = engine.export_dossier(code, engine.engine_key()).await?;
    let file = db.with_extension("zip");
    std::fs::write(&file, archive.to_zip()?)
        .with_context(|| format!("cannot write {}", file.display()))?;
    let empty = motcua_signing::TrustStore::new();
    let trust = engine.signature_setup().map_or(&empty, |s| &s.trust);
    let report = verify_archive(&archive, trust, engine.now());
    say!(
        "\n🔏 Hồ sơ điện tử xuất cho kiểm toán: {} ({} tệp) — kiểm tra ngoại tuyến: {}",
        file.display(),
        archive.files.len(),
        if report.passed {
            "HỢP LỆ"
        } else {
            "KHÔNG HỢP LỆ"
        }
    );
    for c in &report.checks {
        say!(
            "   {} {}: {}",
            if c.passed { "✔" } else { "✗" },
            c.check,
            c.message
        );
    }
    let mut edited = archive.clone();
    if let Some(journal) = edited.files.get_mut(JOURNAL) {
        let text = String::from_utf8_lossy(journal).replacen("Nguyễn Văn An", "Nguyễn Văn Ân", 1);
        *journal = text.into_bytes();
    }
    let tampered = verify_archive(&edited, trust, engine.now());
    if let Some(c) = tampered
        .checks
        .iter()
        .find(|c| c.check == "journal" && !c.passed)
    {
        say!(
            "   Sửa một dòng nhật ký trong bản sao → bị phát hiện: {}",
            c.message
        );
    }
    say!(
        "   Tự kiểm tra: motcua verify {} --trust {}",
        file.display(),
        root.map_or_else(
            || format!("<các chứng thư gốc trong {}>", signing.display()),
            |r| r.display().to_string()
        )
    );
    Ok(())
}
