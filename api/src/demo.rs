//! `motcua demo`: the birth-registration procedure ("Đăng ký khai sinh") run end to end on a
//! fresh embedded SQLite file, one supplement loop included, printing each step in Vietnamese.
//! It goes through the same engine calls as every other command; half-way it closes the
//! database and opens it again to show that nothing lives only in memory.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    CommandOptions, DeployFile, Engine, InstanceId, InstanceStatus, SqliteConfig, SqliteStore,
    StartInstance, SystemClock,
};
use serde_json::{json, Map, Value};

use crate::output::{local, print_json, say, table};

const CATALOG_FILE: &str = "definitions/catalog/dang-ky-khai-sinh.bpmn";
const BIRTH_REGISTRATION: &str = include_str!("../../definitions/catalog/dang-ky-khai-sinh.bpmn");

async fn open(url: &str) -> Result<Engine<SqliteStore>> {
    let store = SqliteStore::open(&SqliteConfig::new(url))
        .await
        .with_context(|| format!("cannot open {url}"))?;
    Ok(Engine::new(store, Arc::new(SystemClock)))
}

fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
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
pub async fn run(keep: Option<PathBuf>, json_out: bool) -> Result<()> {
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

    let engine = open(&url).await?;
    let deployed = engine
        .deploy(
            "catalog",
            &[DeployFile {
                name: CATALOG_FILE.to_owned(),
                bytes: BIRTH_REGISTRATION.as_bytes().to_vec(),
            }],
        )
        .await?;
    for d in &deployed {
        say!(
            "1. Triển khai quy trình «{}» ({}), phiên bản {}",
            d.definition.name.as_deref().unwrap_or(&d.definition.key),
            d.definition.key,
            d.definition.version
        );
    }

    let start = StartInstance {
        key: "dang-ky-khai-sinh".into(),
        version: None,
        business_key: Some("xa-phu-thuong-261124-0001".into()),
        variables: vars(json!({
            "applicantName": "Nguyễn Văn An",
            "childName": "Nguyễn Thị Bình An",
            "childBirthDate": "2026-11-20",
            "birthPlace": "Bệnh viện Trung ương Huế",
            "channel": "Cổng dịch vụ công",
        })),
    };
    let started = engine
        .start(start, CommandOptions::by("cong-dan").with_key("demo-start"))
        .await?;
    let id = started.instance;
    say!("2. Công dân Nguyễn Văn An nộp hồ sơ khai sinh cho con — hồ sơ xa-phu-thuong-261124-0001");
    say!("   mã quy trình (instance): {id}");

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

    say!("5. Khởi động lại: đóng cơ sở dữ liệu và mở lại — quy trình tiếp tục từ nơi đã dừng");
    engine.store().close().await;
    drop(engine);
    let engine = open(&url).await?;
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
                motcua_engine::Event::VariablesChanged { changes } => changes
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
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
    say!("\nXem lại: motcua --database {url} history {id}");
    Ok(())
}
