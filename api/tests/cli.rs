//! End-to-end tests of the `motcua` binary: every call is a new process on a SQLite file in its
//! own temporary directory, so each step after the first is also a restart.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

const BIRTH_REGISTRATION: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../definitions/catalog/dang-ky-khai-sinh.bpmn"
);

/// The database URL of a test directory.
fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("m.db").display())
}

/// A `motcua` command isolated from the caller's environment, run inside `dir`.
fn command(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_motcua"));
    c.current_dir(dir)
        .env_remove("MOTCUA_DATABASE_URL")
        .env_remove("MOTCUA_USER")
        .env_remove("MOTCUA_SQLITE_SYNC")
        .env_remove("MOTCUA_LOG")
        .env_remove("RUST_BACKTRACE");
    c
}

/// Runs `motcua --database sqlite://<dir>/m.db ARGS...`.
fn motcua(dir: &Path, args: &[&str]) -> Output {
    command(dir)
        .arg("--database")
        .arg(db_url(dir))
        .args(args)
        .output()
        .expect("the motcua binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

/// Asserts success and no panic; returns stdout.
fn expect_ok(args: &[&str], out: Output) -> String {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "motcua {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "motcua {args:?}: {stderr}");
    stdout
}

/// Runs a command that must succeed; returns stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    expect_ok(args, motcua(dir, args))
}

/// Runs a command that must succeed with `--json`; returns the parsed stdout.
fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let stdout = ok(dir, &all);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("motcua {all:?} printed no JSON ({e}):\n{stdout}"))
}

/// Runs a command that must fail with exit status 1 and a `lỗi / error:` message, no panic; returns
/// stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = motcua(dir, args);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "motcua {args:?} should fail with status 1:\nstdout: {}\nstderr: {stderr}",
        text(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "motcua {args:?}: {stderr}");
    assert!(
        stderr.starts_with("lỗi / error: "),
        "motcua {args:?}: stderr should be the error sentence, got: {stderr}"
    );
    stderr
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string field '{field}' in {v}"))
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {v}"))
}

/// The one open task of `group`: its id, checked to be at `node`.
fn only_task(dir: &Path, group: &str, node: &str) -> String {
    let tasks = ok_json(dir, &["tasks", "--group", group]);
    let tasks = array(&tasks);
    assert_eq!(tasks.len(), 1, "open tasks of {group}: {tasks:?}");
    assert_eq!(str_of(&tasks[0], "node"), node, "task of {group}");
    assert_eq!(str_of(&tasks[0], "state"), "open");
    str_of(&tasks[0], "id").to_owned()
}

fn deploy_catalog(dir: &Path) -> Value {
    ok_json(dir, &["deploy", BIRTH_REGISTRATION])
}

/// Deploys the catalog procedure and starts one instance; returns (instance id, first task id).
fn start_one(dir: &Path) -> (String, String) {
    deploy_catalog(dir);
    let started = ok_json(dir, &["start", "dang-ky-khai-sinh"]);
    let task = started["tasks"][0]
        .as_str()
        .expect("a first task")
        .to_owned();
    (str_of(&started, "instance").to_owned(), task)
}

// ---- 1. the demo -----------------------------------------------------------------------------

#[test]
fn demo_runs_the_birth_registration_with_a_supplement_loop() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("demo.db");
    let args = ["demo", "--keep", db.to_str().unwrap()];
    let stdout = expect_ok(&args, command(dir.path()).args(args).output().unwrap());

    for line in [
        "1. Triển khai quy trình «Đăng ký khai sinh» (dang-ky-khai-sinh), phiên bản 1",
        "Hàng đợi «mot-cua»: công việc «Tiếp nhận và kiểm tra hồ sơ» (tiep-nhan)",
        "Hồ sơ chưa đầy đủ → yêu cầu bổ sung",
        "Khởi động lại",
        "công việc «Yêu cầu bổ sung hồ sơ» (yeu-cau-bo-sung)",
        "Hồ sơ đầy đủ → trình lãnh đạo",
        "Đã trả kết quả",
        "✔ Hoàn thành",
        "gateway_decided",
    ] {
        assert!(
            stdout.contains(line),
            "demo output lacks «{line}»:\n{stdout}"
        );
    }
    assert!(db.exists(), "--keep keeps the database");

    // The kept database is an ordinary motcua database.
    let url = format!("sqlite://{}", db.display());
    let instance = stdout
        .split("mã quy trình (instance): ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the demo prints its instance")
        .to_owned();
    let args = [
        "--database",
        &url,
        "--json",
        "tasks",
        "--all",
        "--instance",
        &instance,
    ];
    let tasks: Value = serde_json::from_str(&expect_ok(
        &args,
        command(dir.path()).args(args).output().unwrap(),
    ))
    .unwrap();
    let tasks = array(&tasks);
    let nodes: Vec<&str> = tasks.iter().map(|t| str_of(t, "node")).collect();
    assert_eq!(
        nodes,
        [
            "tiep-nhan",
            "tham-dinh",
            "yeu-cau-bo-sung",
            "tham-dinh",
            "phe-duyet",
            "tra-ket-qua"
        ]
    );
    for t in tasks {
        assert_eq!(str_of(t, "state"), "completed", "{t}");
        assert!(t["closedAt"].is_string(), "{t}");
    }

    // A second demo refuses to overwrite the kept file.
    let args = ["demo", "--keep", db.to_str().unwrap()];
    let out = command(dir.path()).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("exists already"), "{stderr}");
}

#[test]
fn demo_fills_the_database_with_dossiers_in_every_state_and_directives() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("demo.db");
    let args = ["demo", "--keep", db.to_str().unwrap()];
    let started = std::time::Instant::now();
    let stdout = expect_ok(&args, command(dir.path()).args(args).output().unwrap());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the demo should take seconds"
    );
    let count = |label: &str| -> u64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("│ {label} ")))
            .unwrap_or_else(|| panic!("no row «{label}» in:\n{stdout}"));
        line.split('┆')
            .nth(1)
            .and_then(|c| c.trim().trim_end_matches('│').trim().parse().ok())
            .unwrap_or_else(|| panic!("no count in «{line}»"))
    };
    let mut total = 0;
    for state in [
        "Đã tiếp nhận",
        "Đang xử lý",
        "Yêu cầu bổ sung",
        "Đã bổ sung",
        "Đã chuyển xử lý",
        "Đã xử lý xong",
        "Đã trả kết quả",
        "Từ chối",
        "Đã hủy",
    ] {
        let n = count(state);
        assert!(n > 0, "no dossier in state «{state}»:\n{stdout}");
        total += n;
    }
    assert!((60..=130).contains(&total), "{total} dossiers");
    for procedure in [
        "Chứng thực bản sao từ bản chính",
        "Đăng ký thành lập hộ kinh doanh",
        "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "Đăng ký biến động: chuyển nhượng quyền sử dụng đất",
        "Phản ánh hiện trường",
    ] {
        assert!(count(procedure) > 0, "no dossier of «{procedure}»");
    }
    for status in [
        "Đang thực hiện",
        "Quá hạn",
        "Hoàn thành đúng hạn",
        "Hoàn thành quá hạn",
    ] {
        assert!(count(status) > 0, "no directive task «{status}»:\n{stdout}");
    }
    let overdue: u64 = stdout
        .split("hồ sơ, trong đó ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the summary names the overdue dossiers");
    assert!(overdue > 0, "some dossiers are overdue");
    // Every dossier's and assignment's instance was verified against its journal's replay.
    let verified: u64 = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("✔ ")
                .and_then(|r| r.split_once(" quy trình (hồ sơ"))
        })
        .and_then(|(n, _)| n.trim().parse().ok())
        .expect("the demo reports the verified instances");
    assert!(verified > total, "{verified} verified for {total} dossiers");

    // The data is deterministic: a second run creates the same counts.
    let db2 = dir.path().join("demo2.db");
    let args = ["demo", "--keep", db2.to_str().unwrap()];
    let again = expect_ok(&args, command(dir.path()).args(args).output().unwrap());
    let summary = |s: &str| {
        s.split("11. Dữ liệu mẫu")
            .nth(1)
            .and_then(|r| r.split("\n🌐").next())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(summary(&stdout), summary(&again));
    // The web front's demo accounts are written next to the database, and their command printed.
    let users = std::fs::read_to_string(dir.path().join("demo2.users.toml")).unwrap();
    for id in ["lan", "binh", "lanh-dao", "quan-tri"] {
        assert!(users.contains(&format!("id = \"{id}\"")), "{users}");
    }
    assert!(again.contains("serve --web-users"), "{again}");
}

// ---- 2. a whole procedure, one process per step ------------------------------------------------

#[test]
fn a_procedure_runs_to_completion_across_separate_invocations() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();

    let deployed = ok(d, &["deploy", BIRTH_REGISTRATION]);
    assert!(
        deployed.contains("deployed dang-ky-khai-sinh v1 (Đăng ký khai sinh)"),
        "{deployed}"
    );
    let defs = ok_json(d, &["definitions"]);
    let defs = array(&defs);
    assert_eq!(defs.len(), 1);
    assert_eq!(str_of(&defs[0], "key"), "dang-ky-khai-sinh");
    assert_eq!(defs[0]["version"], 1);
    assert_eq!(str_of(&defs[0], "name"), "Đăng ký khai sinh");

    let started = ok_json(
        d,
        &[
            "start",
            "dang-ky-khai-sinh",
            "--business-key",
            "HS-1",
            "--var",
            "applicantName=Nguyễn Văn An",
        ],
    );
    let instance = str_of(&started, "instance").to_owned();
    assert_eq!(str_of(&started, "status"), "active");
    assert_eq!(array(&started["tasks"]).len(), 1);

    // Tiếp nhận: the one-stop desk claims and completes.
    let task = only_task(d, "mot-cua", "tiep-nhan");
    assert_eq!(started["tasks"][0], task.as_str());
    let table = ok(d, &["tasks", "--group", "mot-cua"]);
    assert!(table.contains("Tiếp nhận và kiểm tra hồ sơ"), "{table}");
    assert!(table.contains(&task), "{table}");
    assert!(table.contains("đang chờ"), "{table}");

    ok(d, &["--user", "lan", "claim", &task]);
    let mine = ok_json(d, &["tasks", "--assignee", "lan"]);
    assert_eq!(array(&mine).len(), 1);
    assert_eq!(str_of(&mine[0], "id"), task);
    ok(d, &["--user", "lan", "complete", &task, "--var", "x=1"]);

    // Thẩm định: incomplete dossier → supplement request.
    let task = only_task(d, "tu-phap-ho-tich", "tham-dinh");
    ok(d, &["--user", "hung", "claim", &task]);
    let outcome = ok_json(
        d,
        &[
            "--user",
            "hung",
            "complete",
            &task,
            "--var",
            "dossierComplete=false",
        ],
    );
    assert_eq!(str_of(&outcome, "status"), "active");
    let task = only_task(d, "mot-cua", "yeu-cau-bo-sung");
    assert_eq!(outcome["tasks"][0], task.as_str());
    ok(d, &["--user", "lan", "complete", &task]);

    // Thẩm định again: complete dossier → approval.
    let task = only_task(d, "tu-phap-ho-tich", "tham-dinh");
    let outcome = ok_json(
        d,
        &[
            "--user",
            "hung",
            "complete",
            &task,
            "--var",
            "dossierComplete=true",
        ],
    );
    let task = only_task(d, "lanh-dao", "phe-duyet");
    assert_eq!(outcome["tasks"][0], task.as_str());
    ok(d, &["--user", "minh", "complete", &task]);

    let task = only_task(d, "mot-cua", "tra-ket-qua");
    let outcome = ok_json(d, &["--user", "lan", "complete", &task]);
    assert_eq!(str_of(&outcome, "status"), "completed");
    assert_eq!(array(&outcome["tasks"]).len(), 0);
    assert_eq!(array(&ok_json(d, &["tasks"])).len(), 0, "no open task left");

    let state = ok_json(d, &["instance", &instance]);
    assert_eq!(str_of(&state, "status"), "completed");
    assert_eq!(str_of(&state, "businessKey"), "HS-1");
    assert_eq!(str_of(&state, "definitionKey"), "dang-ky-khai-sinh");
    assert!(state["endedAt"].is_string(), "{state}");
    assert_eq!(state["variables"]["applicantName"], "Nguyễn Văn An");
    assert_eq!(state["variables"]["x"], 1, "a JSON value stays JSON");
    assert_eq!(state["variables"]["dossierComplete"], true);
    assert_eq!(array(&state["tokens"]).len(), 0);
    let human = ok(d, &["instance", &instance]);
    assert!(human.contains("completed (hoàn thành)"), "{human}");
    assert!(human.contains("business  HS-1"), "{human}");

    let history = ok_json(d, &["history", &instance]);
    let history = array(&history);
    let seqs: Vec<i64> = history.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (1..=history.len() as i64).collect();
    assert_eq!(seqs, expected, "the journal has no gaps");
    let kinds: Vec<&str> = history.iter().map(|e| str_of(e, "kind")).collect();
    assert_eq!(kinds.first(), Some(&"instance_started"));
    assert_eq!(
        kinds.iter().filter(|k| **k == "gateway_decided").count(),
        2,
        "{kinds:?}"
    );
    assert!(
        history
            .iter()
            .any(|e| str_of(e, "kind") == "task_claimed" && e["actor"] == "lan"),
        "the journal records who claimed"
    );
    let human = ok(d, &["history", &instance]);
    assert!(human.contains("gateway_decided"), "{human}");
}

// ---- 3. errors --------------------------------------------------------------------------------

#[test]
fn malformed_bpmn_names_file_line_column_and_kind() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("bad.bpmn");
    std::fs::write(
        &file,
        "<?xml version=\"1.0\"?>\n\
         <bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n  \
         <bpmn:process id=\"p\" isExecutable=\"true\">\n    \
         <bpmn:startEvent id=\"s\">\n  \
         </bpmn:process>\n\
         </bpmn:definitions>\n",
    )
    .unwrap();
    let stderr = fails(dir.path(), &["deploy", file.to_str().unwrap()]);
    // The start tag on line 4 is never closed; the parser finds out at `</bpmn:process>`.
    let at = format!("{}:5:3: malformed-xml", file.display());
    assert!(stderr.contains(&at), "expected «{at}» in: {stderr}");
    // Nothing was deployed.
    assert_eq!(array(&ok_json(dir.path(), &["definitions"])).len(), 0);
}

#[test]
fn unsupported_element_is_refused_with_its_id_and_position() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("boundary.bpmn");
    std::fs::write(
        &file,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:test">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:userTask id="t" name="T" />
    <bpmn:boundaryEvent id="b1" attachedToRef="t" />
    <bpmn:endEvent id="e" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"#,
    )
    .unwrap();
    // All or nothing: the good catalog file in the same deployment is not stored either.
    let stderr = fails(
        dir.path(),
        &["deploy", BIRTH_REGISTRATION, file.to_str().unwrap()],
    );
    let at = format!(
        "{}:6:5: unsupported-element <boundaryEvent id=\"b1\">: ",
        file.display()
    );
    assert!(stderr.contains(&at), "expected «{at}» in: {stderr}");
    assert_eq!(array(&ok_json(dir.path(), &["definitions"])).len(), 0);
}

#[test]
fn bad_commands_fail_with_one_clear_sentence() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let (_, task) = start_one(d);
    let unknown = "0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d";

    let stderr = fails(d, &["complete", unknown]);
    assert!(
        stderr.contains(&format!("task '{unknown}' was not found")),
        "{stderr}"
    );
    let stderr = fails(d, &["instance", unknown]);
    assert!(stderr.contains("not found"), "{stderr}");
    let stderr = fails(d, &["start", "khong-co"]);
    assert!(
        stderr.contains("definition 'khong-co' was not found"),
        "{stderr}"
    );

    let stderr = fails(d, &["complete", "HS-1"]);
    assert!(stderr.contains("'HS-1' is not a valid task id"), "{stderr}");
    let stderr = fails(d, &["history", "abc"]);
    assert!(
        stderr.contains("'abc' is not a valid instance id"),
        "{stderr}"
    );

    let stderr = fails(d, &["complete", &task, "--var", "dossierComplete"]);
    assert!(
        stderr.contains("'dossierComplete' must be written name=value"),
        "{stderr}"
    );
    let stderr = fails(d, &["start", "dang-ky-khai-sinh", "--var", "=1"]);
    assert!(stderr.contains("has no name"), "{stderr}");

    let stderr = fails(d, &["claim", &task]);
    assert!(stderr.contains("pass --user NAME"), "{stderr}");

    ok(d, &["--user", "lan", "claim", &task]);
    let stderr = fails(d, &["--user", "hung", "claim", &task]);
    assert!(stderr.contains("conflict"), "{stderr}");
    assert!(stderr.contains("claimed by lan"), "{stderr}");

    let out = command(d)
        .env("MOTCUA_DATABASE_URL", "mysql://localhost/x")
        .arg("definitions")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("mysql://localhost/x"), "{stderr}");

    // A page size the store would silently clamp is refused by the argument parser.
    for limit in ["0", "1001"] {
        let out = motcua(d, &["tasks", "--limit", limit]);
        assert_eq!(out.status.code(), Some(2), "--limit {limit}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("--limit"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    // None of this changed the instance: the task is still open and still lan's.
    let tasks = ok_json(d, &["tasks", "--group", "mot-cua"]);
    assert_eq!(array(&tasks).len(), 1);
    assert_eq!(str_of(&tasks[0], "assignee"), "lan");
}

#[test]
fn a_completed_task_cannot_be_completed_again() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let (_, task) = start_one(d);
    ok(d, &["complete", &task]);
    let stderr = fails(d, &["complete", &task]);
    assert!(stderr.contains("conflict"), "{stderr}");
}

// ---- 4. idempotency ---------------------------------------------------------------------------

#[test]
fn a_retried_start_with_the_same_key_starts_one_instance() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    deploy_catalog(d);

    // The database comes from the environment this time.
    let start = |key: &str, business_key: &str| -> Output {
        command(d)
            .env("MOTCUA_DATABASE_URL", db_url(d))
            .args(["--idempotency-key", key, "start", "dang-ky-khai-sinh"])
            .args(["--business-key", business_key, "--json"])
            .output()
            .unwrap()
    };
    let parse =
        |out: Output| -> Value { serde_json::from_str(&expect_ok(&["start"], out)).expect("JSON") };
    let first = parse(start("k1", "HS-7"));
    let second = parse(start("k1", "HS-7"));
    assert_eq!(first, second, "the retry returns the first answer");
    assert_eq!(
        array(&ok_json(d, &["tasks", "--group", "mot-cua"])).len(),
        1
    );

    // The same key for a different command is refused, and changes nothing.
    let out = start("k1", "HS-8");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("conflict") && stderr.contains("'k1'"),
        "{stderr}"
    );
    assert_eq!(
        array(&ok_json(d, &["tasks", "--group", "mot-cua"])).len(),
        1
    );

    // A new key is a new instance.
    let third = parse(start("k2", "HS-7"));
    assert_ne!(first["instance"], third["instance"]);
    assert_eq!(
        array(&ok_json(d, &["tasks", "--group", "mot-cua"])).len(),
        2
    );
}

#[test]
fn a_retried_complete_with_the_same_key_is_not_a_conflict() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let (_, task) = start_one(d);
    let args = ["--idempotency-key", "c1", "complete", &task, "--var", "a=1"];
    let first = ok_json(d, &args);
    let second = ok_json(d, &args);
    assert_eq!(first, second);
    assert_eq!(
        array(&ok_json(d, &["tasks", "--group", "tu-phap-ho-tich"])).len(),
        1
    );
}

// ---- 5. redeploying ---------------------------------------------------------------------------

#[test]
fn redeploying_the_same_file_is_unchanged_and_a_changed_file_is_a_new_version() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();

    let first = deploy_catalog(d);
    assert_eq!(first[0]["created"], true);
    assert_eq!(first[0]["version"], 1);

    let again = deploy_catalog(d);
    assert_eq!(again[0]["created"], false);
    assert_eq!(again[0]["version"], 1);
    assert_eq!(again[0]["checksum"], first[0]["checksum"]);
    let human = ok(d, &["deploy", BIRTH_REGISTRATION]);
    assert!(human.contains("unchanged"), "{human}");
    assert!(human.contains("dang-ky-khai-sinh v1"), "{human}");
    assert_eq!(array(&ok_json(d, &["definitions"])).len(), 1);

    let changed = d.join("dang-ky-khai-sinh.bpmn");
    let xml = std::fs::read_to_string(BIRTH_REGISTRATION).unwrap();
    let xml = xml.replace(
        "name=\"Tiếp nhận và kiểm tra hồ sơ\"",
        "name=\"Tiếp nhận hồ sơ (mẫu mới)\"",
    );
    std::fs::write(&changed, xml).unwrap();
    let v2 = ok_json(d, &["deploy", changed.to_str().unwrap()]);
    assert_eq!(v2[0]["created"], true);
    assert_eq!(v2[0]["version"], 2);
    let defs = ok_json(d, &["definitions"]);
    let versions: Vec<i64> = array(&defs)
        .iter()
        .map(|d| d["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2]);

    // New instances use the latest version; --version picks an older one.
    let latest = ok_json(d, &["start", "dang-ky-khai-sinh"]);
    let old = ok_json(d, &["start", "dang-ky-khai-sinh", "--version", "1"]);
    let state = ok_json(d, &["instance", str_of(&latest, "instance")]);
    assert_eq!(state["definitionVersion"], 2);
    let state = ok_json(d, &["instance", str_of(&old, "instance")]);
    assert_eq!(state["definitionVersion"], 1);
    let table = ok(d, &["tasks"]);
    assert!(table.contains("Tiếp nhận hồ sơ (mẫu mới)"), "{table}");
    assert!(table.contains("Tiếp nhận và kiểm tra hồ sơ"), "{table}");
}

// ---- time: calendar, worker, schedules, SLA views --------------------------------------------

#[test]
fn calendar_commands_show_working_days_across_holidays() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = ok(dir.path(), &["calendar", "add", "2026-04-24", "5"]);
    assert!(out.contains("06/05/2026"), "{out}");
    assert!(out.contains("Giỗ Tổ Hùng Vương"), "{out}");
    let month = ok(dir.path(), &["calendar", "month", "2027-02"]);
    assert!(month.contains("Tết Nguyên đán"), "{month}");
    let err = fails(dir.path(), &["calendar", "add", "2026-04-24", "0.3"]);
    assert!(err.contains("0.3"), "{err}");
}

#[test]
fn the_worker_runs_due_jobs_once_and_schedules_are_managed_from_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    deploy_catalog(dir.path());
    let report = ok_json(dir.path(), &["worker", "--once"]);
    assert_eq!(report["timersFired"], 0);
    assert_eq!(report["failed"], 0);
    let added = ok(
        dir.path(),
        &[
            "cron",
            "add",
            "bao-cao",
            "0 0 7 * * *",
            "--handler",
            "overdue-report",
        ],
    );
    assert!(added.contains("07:00:00"), "{added}");
    let list = ok_json(dir.path(), &["cron", "list"]);
    assert_eq!(str_of(&array(&list)[0], "name"), "bao-cao");
    let err = fails(dir.path(), &["cron", "add", "x", "not a cron"]);
    assert!(err.contains("cron"), "{err}");
    let err = fails(
        dir.path(),
        &["cron", "add", "x", "0 0 7 * * *", "--handler", "nope"],
    );
    assert!(err.contains("nope"), "{err}");
    ok(dir.path(), &["cron", "remove", "bao-cao"]);
    fails(dir.path(), &["cron", "remove", "bao-cao"]);
    let unknown = "0192f0c4-5b7e-7cc1-9d7a-3b1f2e4a5c6d";
    let err = fails(dir.path(), &["incidents", "retry", unknown]);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn the_queue_shows_sla_due_dates_and_filters_overdue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, _) = start_one(dir.path());
    // tiep-nhan has an SLA of half a working day: it has a due date.
    let tasks = ok_json(
        dir.path(),
        &["tasks", "--group", "mot-cua", "--sort", "due"],
    );
    assert!(array(&tasks)[0]["dueAt"].is_string(), "{tasks}");
    let overdue = ok_json(dir.path(), &["tasks", "--overdue"]);
    assert!(array(&overdue).is_empty());
    let err = fails(dir.path(), &["tasks", "--sort", "sideways"]);
    assert!(err.contains("--sort"), "{err}");
    let err = fails(dir.path(), &["tasks", "--due-before", "tomorrow"]);
    assert!(err.contains("tomorrow"), "{err}");
}

#[test]
fn logs_can_be_json_for_collectors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = command(dir.path())
        .env("MOTCUA_LOG", "debug")
        .args([
            "--database",
            &db_url(dir.path()),
            "--log-format",
            "json",
            "worker",
            "--once",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "debug logging writes something");
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
        assert!(
            v.get("level").is_some() && v.get("fields").is_some(),
            "{line}"
        );
    }
    let refused = command(dir.path())
        .args(["--log-format", "xml", "definitions"])
        .output()
        .expect("runs");
    assert_eq!(
        refused.status.code(),
        Some(2),
        "clap refuses an unknown format"
    );
}

// ---- e-forms and dossiers ---------------------------------------------------------------------

const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../definitions/catalog");

#[test]
fn forms_check_and_validate_name_every_problem() {
    let dir = TempDir::new().unwrap();
    let forms: Vec<String> = [
        "to-khai-khai-sinh",
        "khai-sinh-tiep-nhan",
        "khai-sinh-tham-dinh",
    ]
    .iter()
    .map(|f| format!("{CATALOG}/{f}.form"))
    .collect();
    let mut args = vec!["forms", "check"];
    args.extend(forms.iter().map(String::as_str));
    let out = ok(dir.path(), &args);
    assert!(out.contains("biểu mẫu «to-khai-khai-sinh» hợp lệ"), "{out}");

    let broken = dir.path().join("broken.form");
    std::fs::write(
        &broken,
        r#"{"id": "x", "components": [{"type": "number", "key": "n", "label": "N",
            "validate": {"min": 5, "max": 1}}, {"type": "rating", "key": "r"}]}"#,
    )
    .unwrap();
    let out = motcua(dir.path(), &["forms", "check", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("components[0].validate"), "{stdout}");
    assert!(stdout.contains("components[1].type"), "{stdout}");

    let data = dir.path().join("data.json");
    std::fs::write(
        &data,
        r#"{"applicantId": "000123456789", "childGender": "nu"}"#,
    )
    .unwrap();
    let out = motcua(
        dir.path(),
        &[
            "--json",
            "forms",
            "validate",
            &forms[0],
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let paths: Vec<&str> = array(&report["errors"])
        .iter()
        .map(|e| str_of(e, "path"))
        .collect();
    assert!(
        paths.contains(&"applicantId") && paths.contains(&"childName"),
        "{paths:?}"
    );
}

#[test]
fn a_dossier_is_received_read_back_and_printed_from_the_command_line() {
    let dir = TempDir::new().unwrap();
    let mut deploy = vec!["deploy".to_owned(), BIRTH_REGISTRATION.to_owned()];
    for f in [
        "to-khai-khai-sinh",
        "khai-sinh-tiep-nhan",
        "khai-sinh-tham-dinh",
    ] {
        deploy.push(format!("{CATALOG}/{f}.form"));
    }
    ok(
        dir.path(),
        &deploy.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    std::fs::write(dir.path().join("to-khai.pdf"), b"%PDF-1.7 to khai").unwrap();
    std::fs::write(dir.path().join("chung-sinh.pdf"), b"%PDF-1.7 chung sinh").unwrap();
    let data = dir.path().join("data.json");
    std::fs::write(
        &data,
        r#"{"applicantName": "Nguyễn Văn An", "applicantId": "046090001234",
            "relationship": "cha", "childName": "Nguyễn Thị Bình An",
            "childBirthDate": "2026-11-20", "childGender": "nu",
            "birthPlace": "Bệnh viện Trung ương Huế"}"#,
    )
    .unwrap();
    let submit = [
        "--user",
        "cb.motcua.lan",
        "dossier",
        "submit",
        "--procedure",
        "dang-ky-khai-sinh",
        "--agency",
        "000.00.01.H22",
        "--applicant-id",
        "046090001234",
        "--applicant-name",
        "Nguyễn Văn An",
        "--data",
        data.to_str().unwrap(),
        "--document",
        "to-khai=to-khai.pdf",
        "--document",
        "giay-chung-sinh=chung-sinh.pdf",
    ];
    let view = ok_json(dir.path(), &submit);
    let code = str_of(&view["dossier"], "code").to_owned();
    assert!(
        code.starts_with("000.00.01.H22-") && code.ends_with("-0001"),
        "{code}"
    );
    assert_eq!(str_of(&view["dossier"], "state"), "received");
    assert_eq!(array(&view["documents"]).len(), 2);

    // The bytes come back as they went in, checked against their hash.
    let out = dir.path().join("back.pdf");
    ok(
        dir.path(),
        &[
            "dossier",
            "document",
            &code,
            "to-khai",
            "1",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"%PDF-1.7 to khai");

    // The receipt slip, and a transition the lifecycle forbids.
    let slip = dir.path().join("01.html");
    ok(
        dir.path(),
        &[
            "dossier",
            "slip",
            &code,
            "--form",
            "01",
            "-o",
            slip.to_str().unwrap(),
        ],
    );
    let html = std::fs::read_to_string(&slip).unwrap();
    assert!(
        html.contains("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"),
        "{html}"
    );
    assert!(html.contains("UBND phường Phú Hội"), "{html}");
    let err = fails(
        dir.path(),
        &["dossier", "transition", &code, "result_returned"],
    );
    assert!(err.contains("conflict"), "{err}");
    let shown = ok_json(dir.path(), &["dossier", "show", &code]);
    assert_eq!(str_of(&shown["dossier"], "state"), "received");

    // A document altered on disk is caught when it is read.
    let sha = str_of(&array(&view["documents"])[1], "sha256").to_owned();
    let blob = dir
        .path()
        .join("motcua-documents")
        .join(&sha[..2])
        .join(&sha);
    std::fs::write(&blob, b"%PDF-1.7 forged").unwrap();
    let slot = str_of(&array(&view["documents"])[1], "slot").to_owned();
    let err = fails(
        dir.path(),
        &[
            "dossier",
            "document",
            &code,
            &slot,
            "1",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(err.contains(&sha[..16]), "{err}");
}

// ---- signatures -------------------------------------------------------------------------------

const SIGNING_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../signing/tests/fixtures");

#[test]
fn signature_verify_passes_only_untouched_documents() {
    let dir = TempDir::new().unwrap();
    let root = format!("{SIGNING_FIXTURES}/root.pem");
    let doc = format!("{SIGNING_FIXTURES}/document.txt");
    let sig = format!("{SIGNING_FIXTURES}/document.txt.p7s");
    let pdf = format!("{SIGNING_FIXTURES}/signed.pdf");

    let report = ok_json(
        dir.path(),
        &[
            "signature",
            "verify",
            &doc,
            "--signature",
            &sig,
            "--trust",
            &root,
        ],
    );
    assert_eq!(
        str_of(&array(&report)[0], "indication"),
        "TOTAL_PASSED",
        "{report}"
    );
    let report = ok_json(dir.path(), &["signature", "verify", &pdf, "--trust", &root]);
    assert_eq!(str_of(&array(&report)[0], "format"), "PAdES", "{report}");

    // One byte changed: the digest no longer matches, and the exit status says so.
    let mut bytes = std::fs::read(&doc).unwrap();
    bytes[0] ^= 1;
    let changed = dir.path().join("changed.txt");
    std::fs::write(&changed, bytes).unwrap();
    let out = motcua(
        dir.path(),
        &[
            "--json",
            "signature",
            "verify",
            changed.to_str().unwrap(),
            "--signature",
            &sig,
            "--trust",
            &root,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(
        str_of(&array(&report)[0], "subIndication"),
        "HASH_FAILURE",
        "{report}"
    );
}
