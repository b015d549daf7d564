//! Integration tests of motcua-forms on realistic form-js exports (`tests/fixtures/*.form`):
//! loading, validation (conditional fields, every error at once with paths, computed fields)
//! and HTML rendering.

use motcua_forms::render::render;
use motcua_forms::schema::{self, ComponentKind, DateSubtype, FormSchema};
use motcua_forms::templates::Templates;
use motcua_forms::validate::{from_form_fields, validate, FieldError};
use serde_json::{json, Map, Value};

fn fixture(name: &str) -> FormSchema {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    schema::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn khai_sinh() -> FormSchema {
    fixture("to-khai-khai-sinh.form")
}

fn ho_kinh_doanh() -> FormSchema {
    fixture("dang-ky-ho-kinh-doanh.form")
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn codes(errors: &[FieldError]) -> Vec<(&str, &str)> {
    errors
        .iter()
        .map(|e| (e.path.as_str(), e.code.as_str()))
        .collect()
}

fn good_birth() -> Value {
    json!({
        "nguoiYeuCau": "Nguyễn Văn An",
        "cccd": "001085012345",
        "dienThoai": "0912 345 678",
        "tenTre": "Nguyễn Minh Khôi",
        "ngaySinh": "2025-03-01",
        "gioiTinh": "nam",
        "quanHe": "cha",
        "coGiayKetHon": false,
        "nguoiLamChung": [
            {"hoTen": "Trần Thị Bình", "cccd": "079190000123"},
            {"hoTen": "Lê Văn Cường", "cccd": "046088004567"}
        ],
        "processExtra": {"kept": true}
    })
}

#[test]
fn fixtures_load() {
    let f = khai_sinh();
    assert_eq!(f.id, "to-khai-khai-sinh");
    assert_eq!(f.schema_version, Some(16));
    assert_eq!(f.components.len(), 12);
    assert_eq!(
        f.components[5].kind,
        ComponentKind::DateTime(DateSubtype::Date)
    );
    assert_eq!(
        f.components[5].label.as_deref(),
        Some("Ngày, tháng, năm sinh")
    );
    assert!(f.components[9].hide.is_some());
    assert_eq!(f.components[10].kind, ComponentKind::DynamicList);
    assert_eq!(f.components[10].components.len(), 2);
    assert_eq!(
        f.components[11].kind,
        ComponentKind::Display("button".into())
    );

    let g = ho_kinh_doanh();
    assert_eq!(g.id, "dang-ky-ho-kinh-doanh");
    assert_eq!(g.components[2].path.as_deref(), Some("diaChi"));
    assert!(g.components[5].expression.is_some());
    assert_eq!(g.components[6].values.len(), 3);
}

#[test]
fn valid_birth_declaration_is_cleaned() {
    let out = validate(&khai_sinh(), &obj(good_birth())).unwrap();
    assert_eq!(out["processExtra"], json!({"kept": true}));
    assert_eq!(out["coGiayKetHon"], json!(false));
    assert_eq!(out["ngaySinh"], json!("2025-03-01"));
    assert_eq!(out["nguoiLamChung"][1]["cccd"], json!("046088004567"));
}

#[test]
fn vietnamese_date_is_normalised_to_iso() {
    let mut data = obj(good_birth());
    data.insert("ngaySinh".into(), json!("1/3/2025"));
    let out = validate(&khai_sinh(), &data).unwrap();
    assert_eq!(out["ngaySinh"], json!("2025-03-01"));
    data.insert("ngaySinh".into(), json!("29/02/2025"));
    let e = validate(&khai_sinh(), &data).unwrap_err();
    assert_eq!(codes(&e), [("ngaySinh", "type")]);
}

#[test]
fn hidden_file_is_dropped_and_not_validated() {
    let mut data = obj(good_birth());
    // Unchecked: the (required) file field is hidden, so its stale value goes.
    data.insert(
        "giayKetHon".into(),
        json!({"sha256": "abc", "name": "kh.pdf"}),
    );
    let out = validate(&khai_sinh(), &data).unwrap();
    assert!(!out.contains_key("giayKetHon"));

    // Checked: it is shown, so it is required.
    data.insert("coGiayKetHon".into(), json!(true));
    data.remove("giayKetHon");
    let e = validate(&khai_sinh(), &data).unwrap_err();
    assert_eq!(codes(&e), [("giayKetHon", "required")]);
    assert_eq!(
        e[0].message,
        "Trường «Giấy chứng nhận kết hôn (bản chụp)» là bắt buộc."
    );

    // Checked and given: kept.
    data.insert(
        "giayKetHon".into(),
        json!({"sha256": "abc", "name": "kh.pdf"}),
    );
    let out = validate(&khai_sinh(), &data).unwrap();
    assert_eq!(out["giayKetHon"]["name"], json!("kh.pdf"));

    // A string from an HTML checkbox counts.
    data.insert("coGiayKetHon".into(), json!("true"));
    data.insert("giayKetHon".into(), json!("not a document"));
    let e = validate(&khai_sinh(), &data).unwrap_err();
    assert_eq!(codes(&e), [("giayKetHon", "type")]);
}

#[test]
fn every_error_at_once_with_paths() {
    let data = obj(json!({
        "nguoiYeuCau": "",
        "cccd": "097085012345",
        "dienThoai": "0112345678",
        "tenTre": "Bé",
        "ngaySinh": "2025-02-30",
        "gioiTinh": "khac",
        "quanHe": "hangxom",
        "nguoiLamChung": [
            {"hoTen": "Trần Thị Bình", "cccd": "079190000123"},
            {"hoTen": "", "cccd": "00019000012a"},
            "not a row"
        ]
    }));
    let e = validate(&khai_sinh(), &data).unwrap_err();
    assert_eq!(
        codes(&e),
        [
            ("nguoiYeuCau", "required"),
            ("cccd", "cccd"),
            ("dienThoai", "phone"),
            ("ngaySinh", "type"),
            ("gioiTinh", "option"),
            ("quanHe", "option"),
            ("nguoiLamChung[1].hoTen", "required"),
            ("nguoiLamChung[1].cccd", "cccd"),
            ("nguoiLamChung[2]", "type"),
        ]
    );
    assert!(e[1].message.contains("«Số CCCD»"), "{}", e[1].message);
    assert!(e[1].message.contains("mã tỉnh"), "{}", e[1].message);
}

#[test]
fn hide_in_a_row_sees_the_row_and_the_outer_data() {
    let f = schema::parse(
        r#"{"id":"F","type":"default","components":[
        {"type":"checkbox","key":"strict","label":"Strict"},
        {"type":"dynamiclist","path":"rows","components":[
          {"type":"checkbox","key":"foreigner","label":"Người nước ngoài"},
          {"type":"textfield","key":"cccd","label":"CCCD","validate":{"required":true,"validationType":"cccd"},
           "conditional":{"hide":"=foreigner = true"}},
          {"type":"textfield","key":"note","label":"Ghi chú","validate":{"required":true},
           "conditional":{"hide":"=not(strict = true)"}}]}]}"#,
    )
    .unwrap();
    let data = obj(json!({"strict": true, "rows": [
        {"foreigner": true, "cccd": "garbage"},
        {"foreigner": false, "cccd": "garbage", "note": "x"}
    ]}));
    let e = validate(&f, &data).unwrap_err();
    assert_eq!(
        codes(&e),
        [("rows[0].note", "required"), ("rows[1].cccd", "cccd")]
    );
    let data =
        obj(json!({"strict": false, "rows": [{"foreigner": true, "cccd": "x", "note": "n"}]}));
    let out = validate(&f, &data).unwrap();
    assert_eq!(out["rows"], json!([{"foreigner": true}]));
}

#[test]
fn group_path_number_pattern_checklist_computed() {
    let f = ho_kinh_doanh();
    let data = obj(json!({
        "tenHoKinhDoanh": "Tạp hoá Minh Anh",
        "maSoThue": "0100109106",
        "diaChi": {"soNha": "12 Hàng Bạc", "maBuuChinh": "11000", "email": "a@b.vn"},
        "soLaoDong": "3",
        "vonKinhDoanh": "150.5",
        "nganhNghe": ["banLe", "anUong"],
        "ngayBatDau": "29/02/2024",
        "thanhVien": [{"hoTen": "A", "vaiTro": "Chủ hộ"}]
    }));
    let out = validate(&f, &data).unwrap();
    assert_eq!(out["soLaoDong"], json!(3));
    assert_eq!(out["vonKinhDoanh"], json!(150.5));
    assert_eq!(out["tongVonDong"], json!(150_500_000));
    assert_eq!(out["diaChi"]["soNha"], json!("12 Hàng Bạc"));
    assert_eq!(out["nganhNghe"], json!(["banLe", "anUong"]));

    let bad = obj(json!({
        "tenHoKinhDoanh": "AB",
        "maSoThue": "0100109107",
        "diaChi": {"maBuuChinh": "1100", "email": "a@b"},
        "soLaoDong": 11,
        "vonKinhDoanh": -1,
        "nganhNghe": ["banLe", "cuopBien"],
        "ngayBatDau": "29/02/2025",
        "tongVonDong": 5
    }));
    let e = validate(&f, &bad).unwrap_err();
    assert_eq!(
        codes(&e),
        [
            ("tenHoKinhDoanh", "minLength"),
            ("maSoThue", "taxCode"),
            ("diaChi.soNha", "required"),
            ("diaChi.maBuuChinh", "pattern"),
            ("diaChi.email", "email"),
            ("soLaoDong", "max"),
            ("vonKinhDoanh", "min"),
            ("nganhNghe", "option"),
            ("ngayBatDau", "vnDate"),
        ]
    );
    assert_eq!(e[5].message, "«Số lao động» phải nhỏ hơn hoặc bằng 10.");

    let empty = validate(&f, &Map::new()).unwrap_err();
    assert_eq!(
        codes(&empty),
        [
            ("tenHoKinhDoanh", "required"),
            ("diaChi.soNha", "required"),
            ("soLaoDong", "required"),
            ("nganhNghe", "required"),
        ]
    );
}

#[test]
fn schema_errors_list_every_problem() {
    let e = schema::parse(
        r#"{"type":"default","schemaVersion":16,"components":[
        {"type":"textfield","label":"no key"},
        {"type":"slider","key":"s"},
        {"type":"number","key":"n","validate":{"min":10,"max":1,"minLength":-1}},
        {"type":"textfield","key":"p","validate":{"pattern":"[a-","validationType":"iban"}},
        {"type":"expression","key":"e","expression":"=a +"},
        {"type":"datetime","key":"d","subtype":"week"},
        {"type":"dynamiclist","components":[{"type":"textfield","key":"x"},{"type":"textfield","key":"x"}]},
        {"type":"textfield","key":"n"}]}"#,
    )
    .unwrap_err();
    let paths: Vec<&str> = e.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "id",
            "components[0].key",
            "components[1].type",
            "components[2].validate.minLength",
            "components[2].validate.min",
            "components[3].validate.pattern",
            "components[3].validate.validationType",
            "components[4].expression",
            "components[5].subtype",
            "components[6].path",
            "components[6].components[1].key",
            "components[7].key",
        ],
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains("12 problem(s)"), "{text}");
    assert!(text.contains("components[1].type: unknown component type \"slider\""));
}

#[test]
fn render_keeps_values_and_shows_errors_next_to_fields() {
    let f = khai_sinh();
    let data = obj(json!({
        "nguoiYeuCau": "<script>alert(1)</script>",
        "cccd": "000085012345",
        "gioiTinh": "nu",
        "quanHe": "me",
        "ngaySinh": "01/03/2025",
        "nguoiLamChung": [{"hoTen": "Trần Thị Bình", "cccd": "079190000123"}, {"hoTen": "", "cccd": "1"}]
    }));
    let errors = validate(&f, &data).unwrap_err();
    let html = render(&Templates::built_in(), &f, &data, &errors, "/ho-so/1/nop").unwrap();

    // minijinja's HTML escaping also escapes `/`.
    assert!(
        html.contains(r#"<form method="post" action="&#x2f;ho-so&#x2f;1&#x2f;nop""#),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    // Label + input + kept value.
    assert!(
        html.contains(
            r#"<label for="f-cccd">Số CCCD <span class="required">(Bắt buộc)</span></label>"#
        ),
        "{html}"
    );
    assert!(html.contains(r#"id="f-cccd" name="cccd" value="000085012345" required aria-invalid="true" aria-describedby="f-cccd-description f-cccd-error">"#), "{html}");
    // The error right after the field, with the id the input points to.
    let input_at = html.find(r#"id="f-cccd" name="cccd""#).unwrap();
    let error_at = html.find(r#"<p class="error" id="f-cccd-error">"#).unwrap();
    let next_field = html.find(r#"<label for="f-dienThoai""#).unwrap();
    assert!(input_at < error_at && error_at < next_field);
    // Radio and select options with the chosen one.
    assert!(
        html.contains(
            r#"<input type="radio" id="f-gioiTinh-1" name="gioiTinh" value="nu" checked required>"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="me" selected>Mẹ</option>"#),
        "{html}"
    );
    // A date typed dd/mm/yyyy comes back as ISO for <input type="date">.
    assert!(
        html.contains(r#"type="date" id="f-ngaySinh" name="ngaySinh" value="2025-03-01""#),
        "{html}"
    );
    // Dynamic list rows as fieldsets, names are paths.
    assert!(
        html.contains("<legend>Người làm chứng – dòng 2</legend>"),
        "{html}"
    );
    assert!(
        html.contains(r#"name="nguoiLamChung[1].cccd" value="1""#),
        "{html}"
    );
    assert!(
        html.contains(r#"id="f-nguoiLamChung-1-hoTen-error""#),
        "{html}"
    );
    // Hidden file field not rendered; text shown; button component not duplicated.
    assert!(!html.contains("giayKetHon"), "{html}");
    assert!(
        html.contains("<p># TỜ KHAI ĐĂNG KÝ KHAI SINH</p>"),
        "{html}"
    );
    assert!(html.contains(r#"<button type="submit">Gửi</button>"#));
    // Summary links to the field.
    assert!(html.contains(r##"<a href="#f-cccd">"##), "{html}");
}

#[test]
fn render_shows_file_field_when_checked_and_tables() {
    let f = khai_sinh();
    // As posted by the browser: the string "true" counts as checked for the condition.
    let data = obj(json!({"coGiayKetHon": "true"}));
    let html = render(&Templates::built_in(), &f, &data, &[], "/x").unwrap();
    assert!(html.contains(r#"enctype="multipart/form-data""#));
    assert!(html.contains(r#"<input type="file" id="f-giayKetHon" name="giayKetHon" accept=".pdf,.jpg,.png" required>"#), "{html}");
    assert!(html.contains(r#"<input type="checkbox" id="f-coGiayKetHon" name="coGiayKetHon" value="true" checked>"#), "{html}");
    // Two empty witness rows by defaultRepetitions.
    assert!(html.contains("nguoiLamChung[1].hoTen"));
    assert!(!html.contains("nguoiLamChung[2]"));
    assert!(!html.contains("error-summary"));

    let g = ho_kinh_doanh();
    let data = obj(
        json!({"thanhVien": [{"hoTen": "A <b>", "vaiTro": "Chủ hộ"}], "nganhNghe": ["dichVu"], "vonKinhDoanh": "2", "tongVonDong": 7}),
    );
    let html = render(&Templates::built_in(), &g, &data, &[], "/y").unwrap();
    assert!(
        html.contains("<td>A &lt;b&gt;</td><td>Chủ hộ</td>"),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<input type="checkbox" id="f-nganhNghe-2" name="nganhNghe" value="dichVu" checked>"#
        ),
        "{html}"
    );
    assert!(html.contains(r#"name="diaChi.soNha""#));
    assert!(
        html.contains(r#"<output id="f-tongVonDong" name="tongVonDong">2000000</output>"#),
        "{html}"
    );
    assert!(html.contains(r#"type="number" id="f-soLaoDong" name="soLaoDong" value="" step="any" required min="1" max="10""#), "{html}");
}

#[test]
fn posted_html_fields_round_trip() {
    let f = ho_kinh_doanh();
    let pairs: Vec<(String, String)> = [
        ("tenHoKinhDoanh", "Quán Phở Bò"),
        ("maSoThue", "0100109106-001"),
        ("diaChi.soNha", "5 Lý Quốc Sư"),
        ("diaChi.maBuuChinh", "11000"),
        ("diaChi.email", ""),
        ("soLaoDong", "4"),
        ("vonKinhDoanh", ""),
        ("nganhNghe", "anUong"),
        ("nganhNghe", "dichVu"),
        ("ngayBatDau", "1/6/2025"),
        ("bad..name", "x"),
        ("huge[5000].x", "x"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let data = from_form_fields(&f, &pairs);
    assert_eq!(data["diaChi"]["soNha"], json!("5 Lý Quốc Sư"));
    assert_eq!(data["nganhNghe"], json!(["anUong", "dichVu"]));
    assert!(!data.contains_key("huge"));
    let out = validate(&f, &data).unwrap();
    assert_eq!(out["soLaoDong"], json!(4));
    assert_eq!(out["vonKinhDoanh"], Value::Null);
    assert_eq!(out["tongVonDong"], Value::Null);

    let k = khai_sinh();
    let pairs: Vec<(String, String)> = [
        ("nguoiLamChung[1].hoTen", "B"),
        ("nguoiLamChung[0].hoTen", "A"),
        ("nguoiLamChung[0].cccd", "001085012345"),
        ("coGiayKetHon", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let data = from_form_fields(&k, &pairs);
    assert_eq!(
        data["nguoiLamChung"],
        json!([{"hoTen": "A", "cccd": "001085012345"}, {"hoTen": "B"}])
    );
    let e = validate(&k, &data).unwrap_err();
    assert!(codes(&e).contains(&("nguoiLamChung[1].cccd", "required")));
    assert!(codes(&e).contains(&("giayKetHon", "required")));
}
