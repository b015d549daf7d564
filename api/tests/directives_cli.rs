//! `motcua directive` through the real binary on SQLite: issue a directive to a lead and a
//! co-ordinating agency, see each agency's own assignments, report progress, complete and
//! accept, then the statistics (JSON and Prometheus) and the CSV export for a meeting;
//! documents attached to the assignment and to a progress report, listed and shown.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const LEAD: &str = "000.00.10.H22";
const OTHER: &str = "000.00.11.H22";

fn motcua(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .current_dir(dir)
        .env_remove("MOTCUA_DATABASE_URL")
        .env_remove("MOTCUA_USER")
        .args([
            "--database",
            &format!("sqlite://{}", dir.join("m.db").display()),
        ])
        .args(args)
        .output()
        .expect("the motcua binary runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = motcua(dir, args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "motcua {args:?}: {stdout}\n{stderr}");
    stdout
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(dir, &all)).expect("JSON")
}

#[test]
fn directives_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "deploy",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../definitions/catalog/theo-doi-chi-dao.bpmn"
            ),
        ],
    );
    let made = json(
        d,
        &[
            "--user",
            "chu-tich",
            "directive",
            "issue",
            "--issuer",
            "chu-tich",
            "--summary",
            "Khắc phục hậu quả mưa lũ tại các xã ven biển",
            "--document",
            "123/UBND-TH",
            "--date",
            "2026-11-20",
            "--working-days",
            "10",
            "--lead",
            LEAD,
            "--coordinate",
            OTHER,
        ],
    );
    let made = made.as_array().expect("the assignments");
    assert_eq!(made.len(), 2);
    let lead = made[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(made[0]["agency"], LEAD);
    assert_eq!(made[0]["role"], "lead");

    // Each agency sees its own assignment only.
    let mine = json(d, &["directive", "list", "--agency", OTHER]);
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["assignment"]["agency"], OTHER);
    assert_eq!(mine[0]["status"]["status"], "in_progress", "{}", mine[0]);

    ok(
        d,
        &[
            "--user",
            "cv.so-a",
            "directive",
            "report",
            &lead,
            "--percent",
            "60",
            "--text",
            "Đã khảo sát 5/8 xã",
        ],
    );
    // The source document on the lead's assignment, a photo on the progress report.
    std::fs::write(d.join("123-UBND-TH.pdf"), b"%PDF-1.7 van ban 123/UBND-TH").unwrap();
    std::fs::write(d.join("anh.jpg"), b"\xff\xd8\xff anh hien truong").unwrap();
    let source = json(
        d,
        &[
            "--user",
            "van-thu",
            "directive",
            "attach",
            &lead,
            "123-UBND-TH.pdf",
        ],
    );
    assert_eq!(source["name"], "123-UBND-TH.pdf");
    assert_eq!(source["media_type"], "application/pdf");
    assert_eq!(source["signature_sha256"], Value::Null);
    let report = json(d, &["directive", "show", &lead])["reports"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = ok(
        d,
        &[
            "--user",
            "cv.so-a",
            "directive",
            "attach",
            &lead,
            "anh.jpg",
            "--report",
            &report,
        ],
    );
    assert!(text.contains("anh.jpg") && text.contains(&report), "{text}");
    // A report of nobody: refused.
    let refused = motcua(
        d,
        &["directive", "attach", &lead, "anh.jpg", "--report", "x"],
    );
    assert!(!refused.status.success());
    let documents = json(d, &["directive", "documents", &lead]);
    let documents = documents.as_array().unwrap();
    assert_eq!(documents.len(), 2);
    assert_eq!(documents[1]["report"], report.as_str());
    assert_eq!(documents[1]["media_type"], "image/jpeg");
    let table = ok(d, &["directive", "documents", &lead]);
    assert!(table.contains("123-UBND-TH.pdf"), "{table}");

    ok(
        d,
        &[
            "--user",
            "cv.so-a",
            "directive",
            "complete",
            &lead,
            "--evidence",
            "Báo cáo 45/BC-SXD",
        ],
    );
    ok(d, &["--user", "chu-tich", "directive", "accept", &lead]);
    let shown = json(d, &["directive", "show", &lead]);
    assert_eq!(shown["assignment"]["state"], "accepted");
    assert_eq!(shown["reports"][0]["percent"], 60);
    assert_eq!(shown["documents"].as_array().unwrap().len(), 2);
    assert_eq!(shown["documents"][0]["sha256"], source["sha256"]);
    let shown = ok(d, &["directive", "show", &lead]);
    assert!(
        shown.contains("tài liệu") && shown.contains("anh.jpg"),
        "{shown}"
    );

    let stats = json(d, &["directive", "stats"]);
    assert_eq!(stats["by_agency"][LEAD]["done_on_time"], 1, "{stats}");
    assert_eq!(stats["by_agency"][LEAD]["on_time_rate"], 1.0);
    assert_eq!(stats["by_agency"][OTHER]["in_progress"], 1);
    assert_eq!(stats["by_leader"]["chu-tich"]["total"], 2);
    let prom = ok(d, &["directive", "stats", "--prometheus"]);
    assert!(
        prom.contains(&format!(
            "motcua_directive_assignments{{agency=\"{LEAD}\",status=\"done_on_time\"}} 1"
        )),
        "{prom}"
    );
    assert!(prom.contains(&format!(
        "motcua_directive_on_time_ratio{{agency=\"{LEAD}\"}} 1"
    )));

    ok(d, &["directive", "list", "--csv", "hop.csv"]);
    let csv = std::fs::read_to_string(d.join("hop.csv")).unwrap();
    assert!(csv.starts_with('\u{feff}'), "a BOM for Excel");
    let lines: Vec<&str> = csv.trim_end().lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].contains("Trích yếu"));
    assert!(csv.contains("123/UBND-TH") && csv.contains("Khắc phục hậu quả mưa lũ"));
    assert!(csv.contains("Hoàn thành đúng hạn") && csv.contains("chủ trì"));
}
