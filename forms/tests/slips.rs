//! The six printed forms of Circular 01/2018/TT-VPCP: titles, dossier code and QR, Vietnam
//! time, escaping, template overrides, every table row.

use chrono::{DateTime, FixedOffset};
use motcua_forms::slips::{
    self, Agency, Apology, Applicant, ControlRow, ControlSheet, Party, ReceiptSlip, Refusal,
    RegisterRow, Slip, SlipDocument, SupplementRequest, Timeliness, TrackingRegister,
};
use motcua_forms::templates::Templates;

const CODE: &str = "000.00.01.H22-261125-0001";
const PROCEDURE: &str = "Đăng ký khai sinh";
/// 2026-11-25T01:30Z is 08:30 in Huế.
const RECEIVED_PROSE: &str = "08 giờ 30 phút, ngày 25 tháng 11 năm 2026";

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("valid RFC 3339 time")
}

fn agency() -> Agency {
    Agency {
        name: "UBND phường Phú Hội".into(),
        parent: Some("UBND thành phố Huế".into()),
        address: Some("16 Lê Lợi, phường Phú Hội, thành phố Huế".into()),
        phone: Some("0234 3822 123".into()),
    }
}

fn applicant(name: &str) -> Applicant {
    Applicant {
        name: name.into(),
        address: Some("25 Phạm Ngũ Lão, phường Phú Hội, thành phố Huế".into()),
        phone: Some("0905123456".into()),
        email: Some("hoa.nguyen@example.vn".into()),
        id_number: Some("046190001234".into()),
    }
}

fn receipt(code: &str, name: &str) -> ReceiptSlip {
    ReceiptSlip {
        agency: agency(),
        code: code.into(),
        applicant: applicant(name),
        procedure: PROCEDURE.into(),
        documents: vec![
            SlipDocument {
                name: "Tờ khai đăng ký khai sinh".into(),
                kind: "Bản chính".into(),
                copies: 1,
            },
            SlipDocument {
                name: "Giấy chứng sinh".into(),
                kind: "Bản chính".into(),
                copies: 1,
            },
            SlipDocument {
                name: "Giấy chứng nhận kết hôn của cha, mẹ".into(),
                kind: "Bản sao".into(),
                copies: 1,
            },
        ],
        processing_days: 1,
        received_at: at("2026-11-25T01:30:00Z"),
        return_at: at("2026-11-26T09:00:00Z"),
        return_place: "Bộ phận tiếp nhận và trả kết quả UBND phường Phú Hội".into(),
        officer: "Trần Văn Minh".into(),
    }
}

fn supplement(name: &str) -> SupplementRequest {
    SupplementRequest {
        agency: agency(),
        code: CODE.into(),
        applicant: applicant(name),
        procedure: PROCEDURE.into(),
        items: vec![
            "Bổ sung bản sao Giấy chứng nhận kết hôn của cha, mẹ".into(),
            "Ghi đầy đủ quê quán của mẹ trong Tờ khai".into(),
        ],
        reason: "Hồ sơ chưa đủ thành phần theo quy định".into(),
        officer: "Trần Văn Minh".into(),
        contact_phone: Some("0234 3822 123".into()),
        place: "Huế".into(),
        issued_at: at("2026-11-25T01:30:00Z"),
    }
}

fn refusal(name: &str) -> Refusal {
    Refusal {
        agency: agency(),
        code: CODE.into(),
        applicant: applicant(name),
        procedure: PROCEDURE.into(),
        reasons: vec![
            "Trẻ em có nơi cư trú ngoài địa bàn phường Phú Hội".into(),
            "Không thuộc thẩm quyền giải quyết của UBND phường Phú Hội".into(),
        ],
        officer: "Trần Văn Minh".into(),
        place: "Huế".into(),
        issued_at: at("2026-11-25T01:30:00Z"),
    }
}

fn apology(name: &str) -> Apology {
    Apology {
        agency: agency(),
        code: CODE.into(),
        applicant: applicant(name),
        procedure: PROCEDURE.into(),
        received_at: at("2026-11-25T01:30:00Z"),
        original_return_at: at("2026-11-26T09:00:00Z"),
        reason: "Cần xác minh thông tin nơi sinh với cơ sở y tế".into(),
        new_return_at: at("2026-11-30T02:00:00Z"),
        apology: None,
        signer: "Lê Thị Thu".into(),
        signer_title: Some("CHỦ TỊCH".into()),
        place: "Huế".into(),
        issued_at: at("2026-11-26T08:00:00Z"),
    }
}

fn control_sheet(name: &str) -> ControlSheet {
    ControlSheet {
        agency: agency(),
        code: CODE.into(),
        applicant: applicant(name),
        procedure: PROCEDURE.into(),
        received_at: at("2026-11-25T01:30:00Z"),
        return_at: at("2026-11-26T09:00:00Z"),
        lead_agency: Some("Công chức Tư pháp - Hộ tịch".into()),
        coordinating_agencies: vec![],
        rows: vec![
            ControlRow {
                from: Party {
                    agency: "Bộ phận tiếp nhận và trả kết quả".into(),
                    person: Some("Trần Văn Minh".into()),
                },
                to: Party {
                    agency: "Công chức Tư pháp - Hộ tịch".into(),
                    person: Some("Phan Thị Lan".into()),
                },
                at: at("2026-11-25T01:30:00Z"),
                outcome: None,
                note: None,
            },
            ControlRow {
                from: Party {
                    agency: "Công chức Tư pháp - Hộ tịch".into(),
                    person: Some("Phan Thị Lan".into()),
                },
                to: Party {
                    agency: "Lãnh đạo UBND phường".into(),
                    person: Some("Lê Thị Thu".into()),
                },
                at: at("2026-11-25T07:15:00Z"),
                outcome: Some(Timeliness::Early),
                note: Some("Trình ký".into()),
            },
            ControlRow {
                from: Party {
                    agency: "Lãnh đạo UBND phường".into(),
                    person: Some("Lê Thị Thu".into()),
                },
                to: Party {
                    agency: "Bộ phận tiếp nhận và trả kết quả".into(),
                    person: None,
                },
                at: at("2026-11-26T10:00:00Z"),
                outcome: Some(Timeliness::Late),
                note: Some("Chậm 1 giờ".into()),
            },
        ],
    }
}

fn register(name: &str) -> TrackingRegister {
    let row = |code: &str, applicant: &str, received: &str| RegisterRow {
        code: code.into(),
        procedure: PROCEDURE.into(),
        sets: 1,
        applicant: applicant.into(),
        contact: Some("Phú Hội, Huế – 0905123456".into()),
        lead_agency: Some("UBND phường Phú Hội".into()),
        received_at: at(received),
        return_at: at("2026-11-26T09:00:00Z"),
        transferred_at: Some(at("2026-11-25T02:00:00Z")),
        result_at: None,
        returned_at: None,
        note: None,
    };
    TrackingRegister {
        agency: agency(),
        period: Some("Quyển số 01/2026".into()),
        rows: vec![
            row(CODE, name, "2026-11-25T01:30:00Z"),
            row(
                "000.00.01.H22-261125-0002",
                "Hoàng Văn Nam",
                "2026-11-25T02:10:00Z",
            ),
            // 23:00 on the 24th UTC is already the 25th in Huế.
            row(
                "000.00.01.H22-261125-0003",
                "Võ Thị Mai",
                "2026-11-24T23:00:00Z",
            ),
        ],
    }
}

fn all(name: &str) -> Vec<Slip> {
    vec![
        Slip::Receipt(receipt(CODE, name)),
        Slip::Supplement(supplement(name)),
        Slip::Refusal(refusal(name)),
        Slip::Apology(apology(name)),
        Slip::ControlSheet(control_sheet(name)),
        Slip::Register(register(name)),
    ]
}

/// The slip as HTML, with minijinja's escaped `/` (`&#x2f;`) turned back for readable asserts.
fn render(slip: &Slip) -> String {
    unslash(slips::render(&Templates::built_in(), slip).expect("slip renders"))
}

fn unslash(html: String) -> String {
    html.replace("&#x2f;", "/")
}

#[test]
fn numbers_titles_and_templates() {
    let slips = all("Nguyễn Thị Hoa");
    let numbers: Vec<u8> = slips.iter().map(Slip::number).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
    let titles: Vec<&str> = slips.iter().map(Slip::title).collect();
    assert_eq!(
        titles,
        [
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
            "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
            "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
            "SỔ THEO DÕI HỒ SƠ",
        ]
    );
    let names = motcua_forms::templates::names();
    for slip in &slips {
        assert!(
            names.contains(&slip.template()),
            "{} is built in",
            slip.template()
        );
    }
    assert!(names.contains(&"slip-base.html"));
}

#[test]
fn every_form_has_heading_title_agency_and_code() {
    for slip in all("Nguyễn Thị Hoa") {
        let html = render(&slip);
        let n = slip.number();
        assert!(html.starts_with("<!DOCTYPE html>"), "form {n}");
        assert!(html.contains("<html lang=\"vi\">"), "form {n}");
        assert!(html.contains("<meta charset=\"utf-8\">"), "form {n}");
        assert!(
            html.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
            "form {n}"
        );
        assert!(html.contains("Độc lập - Tự do - Hạnh phúc"), "form {n}");
        assert!(html.contains(&format!("Mẫu số {n:02}")), "form {n}");
        assert!(
            html.contains(&format!("<h1>{}</h1>", slip.title())),
            "form {n}"
        );
        assert!(html.contains("UBND phường Phú Hội"), "form {n}");
        assert!(html.contains("UBND thành phố Huế"), "form {n}");
        assert!(html.contains(CODE), "form {n}");
        assert!(html.contains("Nguyễn Thị Hoa"), "form {n}");
        assert!(html.contains("@page { size: A4"), "form {n}");
        assert!(html.contains("Times New Roman"), "form {n}");
        let landscape = html.contains("size: A4 landscape");
        assert_eq!(landscape, n >= 5, "form {n}: landscape only for 05 and 06");
        if n <= 5 {
            assert!(html.contains(PROCEDURE), "form {n}");
        }
    }
}

#[test]
fn forms_about_one_dossier_carry_its_qr_code() {
    let qr = slips::qr_svg(CODE).expect("qr");
    for slip in all("Nguyễn Thị Hoa") {
        let html = render(&slip);
        if slip.number() <= 5 {
            assert!(
                html.contains(&qr),
                "form {} has the QR of the code",
                slip.number()
            );
            assert_eq!(html.matches("<svg").count(), 1, "form {}", slip.number());
            assert!(!html.contains("&lt;svg"), "QR is markup, not escaped text");
            assert!(!html.contains("<?xml"), "no XML declaration inside HTML");
        } else {
            assert!(!html.contains("<svg"), "the register has no QR");
        }
    }
}

#[test]
fn qr_svg_is_deterministic_and_distinguishes_codes() {
    let a = slips::qr_svg(CODE).expect("qr");
    let again = slips::qr_svg(CODE).expect("qr");
    let b = slips::qr_svg("000.00.01.H22-261125-0002").expect("qr");
    assert_eq!(a, again);
    assert_ne!(a, b);
    assert!(a.starts_with("<svg"), "{}", &a[..40.min(a.len())]);
    assert!(a.trim_end().ends_with("</svg>"));
    assert!(a.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    // Rejects only texts far beyond any dossier code.
    assert!(slips::qr_svg(&"x".repeat(10_000)).is_err());
}

/// The dark modules drawn by a QR SVG, as (column, row) with the 4-module quiet zone removed.
fn svg_modules(svg: &str) -> (usize, std::collections::BTreeSet<(usize, usize)>) {
    let size: usize = svg
        .split("width=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|w| w.parse().ok())
        .expect("svg width");
    let d = svg
        .split(" d=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("svg path");
    // Each dark module is `M{left} {top}h{w}v{h}H{left}V{top}`.
    let rects: Vec<(usize, usize, usize)> = d
        .split('M')
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (pos, rest) = r.split_once('h').expect("h");
            let (left, top) = pos.split_once(' ').expect("left top");
            let w = rest.split('v').next().expect("w");
            (
                left.parse().expect("left"),
                top.parse().expect("top"),
                w.parse().expect("w"),
            )
        })
        .collect();
    let module = rects.iter().map(|r| r.2).min().expect("some module");
    let modules = size / module - 8;
    let dark = rects
        .iter()
        .map(|&(left, top, w)| {
            assert_eq!(w, module, "one rect per module");
            (left / module - 4, top / module - 4)
        })
        .collect();
    (modules, dark)
}

#[test]
fn qr_svg_draws_exactly_the_qr_of_the_code() {
    for text in [CODE, "000.00.01.H22-261125-0002", "X"] {
        let svg = slips::qr_svg(text).expect("qr");
        let (width, dark) = svg_modules(&svg);
        // The reference: the bare code, no URL or prefix around it.
        let reference =
            qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
                .expect("reference");
        assert_eq!(width, reference.width(), "{text}");
        let expected: std::collections::BTreeSet<(usize, usize)> = reference
            .to_colors()
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == qrcode::Color::Dark)
            .map(|(i, _)| (i % width, i / width))
            .collect();
        assert_eq!(dark, expected, "{text}");
    }
}

#[test]
fn receipt_prints_times_in_vietnam_time_and_the_documents() {
    let html = render(&Slip::Receipt(receipt(CODE, "Nguyễn Thị Hoa")));
    assert!(html.contains(&format!(
        "Thời gian nhận hồ sơ: <span class=\"value\">{RECEIVED_PROSE}</span>"
    )));
    // 09:00Z on the 26th is 16:00 in Huế.
    assert!(html.contains(
        "Thời gian trả kết quả giải quyết hồ sơ: <span class=\"value\">16 giờ 00 phút, ngày 26 tháng 11 năm 2026</span>"
    ));
    assert!(html.contains("Thời gian giải quyết hồ sơ theo quy định là: 01 ngày làm việc"));
    assert!(html.contains("Tờ khai đăng ký khai sinh"));
    assert!(html.contains("Giấy chứng sinh"));
    assert!(html.contains("Bản sao"));
    assert!(html.contains(
        "Đăng ký nhận kết quả tại: Bộ phận tiếp nhận và trả kết quả UBND phường Phú Hội"
    ));
    assert!(html.contains("NGƯỜI NỘP HỒ SƠ"));
    assert!(html.contains("NGƯỜI TIẾP NHẬN HỒ SƠ"));
    assert!(html.contains("Trần Văn Minh"));
    assert!(html.contains("0905123456"));
    assert!(html.contains("hoa.nguyen@example.vn"));
    assert!(html.contains("mang theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả"));
}

#[test]
fn times_are_the_same_whatever_offset_the_caller_uses() {
    let mut local = receipt(CODE, "Nguyễn Thị Hoa");
    local.received_at = at("2026-11-25T08:30:00+07:00");
    local.return_at = at("2026-11-26T16:00:00+07:00");
    assert_eq!(
        render(&Slip::Receipt(local)),
        render(&Slip::Receipt(receipt(CODE, "Nguyễn Thị Hoa")))
    );
}

#[test]
fn supplement_refusal_and_apology_contents() {
    let html = render(&Slip::Supplement(supplement("Nguyễn Thị Hoa")));
    assert!(html.contains("Huế, ngày 25 tháng 11 năm 2026"));
    assert!(html.contains("<li>Bổ sung bản sao Giấy chứng nhận kết hôn của cha, mẹ</li>"));
    assert!(html.contains("<li>Ghi đầy đủ quê quán của mẹ trong Tờ khai</li>"));
    assert!(html.contains("Lý do: Hồ sơ chưa đủ thành phần theo quy định"));
    assert!(html.contains("NGƯỜI HƯỚNG DẪN"));

    let html = render(&Slip::Refusal(refusal("Nguyễn Thị Hoa")));
    assert!(html.contains("<li>Trẻ em có nơi cư trú ngoài địa bàn phường Phú Hội</li>"));
    assert!(html.contains("<li>Không thuộc thẩm quyền giải quyết của UBND phường Phú Hội</li>"));
    assert!(html.contains("không tiếp nhận, giải quyết hồ sơ"));

    let html = render(&Slip::Apology(apology("Nguyễn Thị Hoa")));
    assert!(html.contains(RECEIVED_PROSE), "received at");
    assert!(
        html.contains("16 giờ 00 phút, ngày 26 tháng 11 năm 2026"),
        "original date"
    );
    assert!(
        html.contains("09 giờ 00 phút, ngày 30 tháng 11 năm 2026"),
        "new date"
    );
    assert!(html.contains("Lý do: Cần xác minh thông tin nơi sinh với cơ sở y tế"));
    assert!(html.contains("UBND phường Phú Hội xin lỗi Ông/Bà"));
    assert!(html.contains("CHỦ TỊCH"));
    assert!(html.contains("Lê Thị Thu"));
    assert!(html.contains("Huế, ngày 26 tháng 11 năm 2026"));

    let mut own = apology("Nguyễn Thị Hoa");
    own.apology = Some("Chúng tôi thành thật xin lỗi.".into());
    let html = render(&Slip::Apology(own));
    assert!(html.contains("Chúng tôi thành thật xin lỗi."));
    assert!(!html.contains("UBND phường Phú Hội xin lỗi Ông/Bà"));
}

#[test]
fn control_sheet_lists_every_handover() {
    let html = render(&Slip::ControlSheet(control_sheet("Nguyễn Thị Hoa")));
    assert_eq!(html.matches("<tr class=\"handover\">").count(), 3);
    assert!(html.contains("Giao: Bộ phận tiếp nhận và trả kết quả"));
    assert!(html.contains("Nhận: Công chức Tư pháp - Hộ tịch"));
    assert!(html.contains("Nhận: Lãnh đạo UBND phường"));
    assert!(html.contains("Phan Thị Lan"));
    assert!(html.contains(RECEIVED_PROSE));
    assert!(html.contains("14 giờ 15 phút, ngày 25 tháng 11 năm 2026"));
    assert!(html.contains("17 giờ 00 phút, ngày 26 tháng 11 năm 2026"));
    assert!(html.contains("Trước hạn"));
    assert!(html.contains("Quá hạn"));
    assert!(html.contains("Chậm 1 giờ"));
    assert!(html.contains("Trình ký"));
}

#[test]
fn register_lists_every_dossier() {
    let html = render(&Slip::Register(register("Nguyễn Thị Hoa")));
    for (i, (code, name)) in [
        (CODE, "Nguyễn Thị Hoa"),
        ("000.00.01.H22-261125-0002", "Hoàng Văn Nam"),
        ("000.00.01.H22-261125-0003", "Võ Thị Mai"),
    ]
    .iter()
    .enumerate()
    {
        assert!(html.contains(&format!("<td class=\"num\">{}</td><td>{code}</td>", i + 1)));
        assert!(html.contains(name));
    }
    assert!(html.contains("Quyển số 01/2026"));
    // Received 23:00Z on the 24th: the 25th in Huế, so no row shows the 24th.
    assert!(!html.contains("24/11/2026"));
    assert_eq!(html.matches("<td class=\"num\">25/11/2026</td>").count(), 6);
    assert!(html.contains("<td class=\"num\">26/11/2026</td>"));
}

#[test]
fn user_text_is_escaped() {
    for slip in all("<b>Hoa</b> & \"Nam\"") {
        let html = render(&slip);
        assert!(
            html.contains("&lt;b&gt;Hoa&lt;/b&gt;"),
            "form {}",
            slip.number()
        );
        assert!(!html.contains("<b>Hoa</b>"), "form {}", slip.number());
    }
    let mut evil = receipt("<script>alert(1)</script>", "Hoa");
    evil.documents[0].name = "<img src=x onerror=alert(1)>".into();
    let html = render(&Slip::Receipt(evil));
    assert!(!html.contains("<script>"));
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;script&gt;"));
}

#[test]
fn slips_round_trip_through_json_tagged_by_form() {
    for slip in all("Nguyễn Thị Hoa") {
        let json = serde_json::to_value(&slip).expect("serialise");
        assert!(json["form"].is_string());
        let back: Slip = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, slip);
    }
    let json = serde_json::to_value(Slip::ControlSheet(control_sheet("Hoa"))).expect("json");
    assert_eq!(json["form"], "control_sheet");
    assert_eq!(json["rows"][1]["outcome"], "early");
    // A UTC time from the caller is accepted.
    let mut value = serde_json::to_value(Slip::Receipt(receipt(CODE, "Hoa"))).expect("json");
    value["received_at"] = "2026-11-25T01:30:00Z".into();
    let slip: Slip = serde_json::from_value(value).expect("UTC accepted");
    assert!(render(&slip).contains(RECEIVED_PROSE));
}

#[test]
fn an_override_folder_replaces_a_template() {
    let dir = std::env::temp_dir().join(format!(
        "motcua-slips-override-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("slip-01-receipt.html"),
        "{% extends \"slip-base.html\" %}{% block content %}\
         <p class=\"custom\">Mẫu riêng của Huế: {{ slip.code }} – {{ slip.applicant.name }}</p>\
         {% endblock %}",
    )
    .expect("write override");
    let templates = Templates::with_overrides(Some(dir.clone()));
    let html = unslash(
        slips::render(&templates, &Slip::Receipt(receipt(CODE, "<i>Hoa</i>"))).expect("renders"),
    );
    assert!(html.contains(&format!(
        "<p class=\"custom\">Mẫu riêng của Huế: {CODE} – &lt;i&gt;Hoa&lt;/i&gt;</p>"
    )));
    assert!(!html.contains("Thành phần hồ sơ"), "built-in body replaced");
    assert!(
        html.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        "base still built in"
    );
    // Templates not overridden stay built in.
    let other = slips::render(&templates, &Slip::Refusal(refusal("Hoa"))).expect("renders");
    assert!(other.contains("không tiếp nhận, giải quyết hồ sơ"));
    // A broken override is an error, not a panic.
    std::fs::write(dir.join("slip-03-refusal.html"), "{% if %}").expect("write");
    let broken = Templates::with_overrides(Some(dir.clone()));
    assert!(slips::render(&broken, &Slip::Refusal(refusal("Hoa"))).is_err());
    std::fs::remove_dir_all(&dir).expect("clean up");
}
