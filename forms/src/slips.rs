//! The six printed forms of Circular 01/2018/TT-VPCP (guiding Decree 61/2018/NĐ-CP on the
//! one-stop mechanism) as print-ready HTML: pure data in, HTML out.
//!
//! | Form | Title | Template |
//! |------|-------|----------|
//! | Mẫu số 01 | Giấy tiếp nhận hồ sơ và hẹn trả kết quả | `slip-01-receipt.html` |
//! | Mẫu số 02 | Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ | `slip-02-supplement.html` |
//! | Mẫu số 03 | Phiếu từ chối tiếp nhận giải quyết hồ sơ | `slip-03-refusal.html` |
//! | Mẫu số 04 | Phiếu xin lỗi và hẹn lại ngày trả kết quả | `slip-04-apology.html` |
//! | Mẫu số 05 | Phiếu kiểm soát quá trình giải quyết hồ sơ | `slip-05-control.html` |
//! | Mẫu số 06 | Sổ theo dõi hồ sơ | `slip-06-register.html` |
//!
//! Every template extends `slip-base.html` (national heading, agency, print CSS: A4 portrait
//! for forms 01–04, A4 landscape for forms 05 and 06). Times are printed in Vietnam time
//! (UTC+7) whatever offset the caller passes, as Vietnamese prose: "08 giờ 30 phút, ngày 25
//! tháng 11 năm 2026". Templates receive view models of already formatted strings under
//! `slip`, plus `title`, `form_number`, `landscape`, `agency` and, for forms 01–05, `qr` (the
//! dossier code as inline SVG, inserted as safe markup since we generate it).

use chrono::{DateTime, FixedOffset, Timelike};
use minijinja::Value;
use serde::{Deserialize, Serialize};

use crate::templates::Templates;

/// The built-in slip templates: (file name, source).
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "slip-base.html",
        include_str!("../templates/slip-base.html"),
    ),
    (
        "slip-01-receipt.html",
        include_str!("../templates/slip-01-receipt.html"),
    ),
    (
        "slip-02-supplement.html",
        include_str!("../templates/slip-02-supplement.html"),
    ),
    (
        "slip-03-refusal.html",
        include_str!("../templates/slip-03-refusal.html"),
    ),
    (
        "slip-04-apology.html",
        include_str!("../templates/slip-04-apology.html"),
    ),
    (
        "slip-05-control.html",
        include_str!("../templates/slip-05-control.html"),
    ),
    (
        "slip-06-register.html",
        include_str!("../templates/slip-06-register.html"),
    ),
];

/// Vietnam time, UTC+7 (no daylight saving).
const VIETNAM: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+7 is a valid offset"),
};

/// A slip could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum SlipError {
    /// The text does not fit in a QR code (far longer than any dossier code).
    #[error("mã QR không tạo được: {0}")]
    Qr(String),
    /// The template is missing, does not parse, or failed while rendering.
    #[error("mẫu phiếu lỗi: {0}")]
    Template(#[from] minijinja::Error),
}

/// The agency that issues a slip, printed at the top left of the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agency {
    /// The agency itself, e.g. "UBND phường Phú Hội".
    pub name: String,
    /// The governing agency printed above it, e.g. "UBND thành phố Huế".
    #[serde(default)]
    pub parent: Option<String>,
    /// Postal address.
    #[serde(default)]
    pub address: Option<String>,
    /// Telephone number.
    #[serde(default)]
    pub phone: Option<String>,
}

/// The person or organisation who filed the dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    /// Full name of the person, or name of the organisation.
    pub name: String,
    /// Address.
    #[serde(default)]
    pub address: Option<String>,
    /// Telephone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Citizen ID (CCCD) or other identity document number.
    #[serde(default)]
    pub id_number: Option<String>,
}

/// One document received with a dossier (form 01).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlipDocument {
    /// Name of the document, e.g. "Tờ khai đăng ký khai sinh".
    pub name: String,
    /// Kind: "Bản chính", "Bản sao", "Bản sao có chứng thực", "Bản chụp"...
    pub kind: String,
    /// Number of copies received.
    pub copies: u32,
}

/// Mẫu số 01: the receipt and appointment slip given to the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptSlip {
    /// The receiving agency.
    pub agency: Agency,
    /// The dossier code ("Mã hồ sơ"), also printed as a QR code.
    pub code: String,
    /// Who filed the dossier.
    pub applicant: Applicant,
    /// The administrative procedure requested.
    pub procedure: String,
    /// The documents received.
    pub documents: Vec<SlipDocument>,
    /// Processing time set by law, in working days.
    pub processing_days: u32,
    /// When the dossier was received.
    pub received_at: DateTime<FixedOffset>,
    /// The promised time to return the result (the appointment).
    pub return_at: DateTime<FixedOffset>,
    /// Where the result is returned, e.g. the one-stop desk or by post.
    pub return_place: String,
    /// The receiving officer's name.
    pub officer: String,
}

/// Mẫu số 02: a request to supplement or complete a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplementRequest {
    /// The agency asking.
    pub agency: Agency,
    /// The dossier code.
    pub code: String,
    /// Who filed the dossier.
    pub applicant: Applicant,
    /// The administrative procedure requested.
    pub procedure: String,
    /// What must be supplemented or corrected, one item each.
    pub items: Vec<String>,
    /// Why.
    pub reason: String,
    /// The officer giving guidance, who signs the slip.
    pub officer: String,
    /// A phone number to call with questions.
    #[serde(default)]
    pub contact_phone: Option<String>,
    /// The place name of the dated line, e.g. "Huế".
    pub place: String,
    /// When the slip is issued.
    pub issued_at: DateTime<FixedOffset>,
}

/// Mẫu số 03: a refusal to accept and process a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The refusing agency.
    pub agency: Agency,
    /// The dossier code.
    pub code: String,
    /// Who filed the dossier.
    pub applicant: Applicant,
    /// The administrative procedure requested.
    pub procedure: String,
    /// The reasons for refusing, one each.
    pub reasons: Vec<String>,
    /// The officer who signs the slip.
    pub officer: String,
    /// The place name of the dated line, e.g. "Huế".
    pub place: String,
    /// When the slip is issued.
    pub issued_at: DateTime<FixedOffset>,
}

/// Mẫu số 04: an apology for a late result, with a new return date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Apology {
    /// The apologising agency.
    pub agency: Agency,
    /// The dossier code.
    pub code: String,
    /// Who filed the dossier.
    pub applicant: Applicant,
    /// The administrative procedure requested.
    pub procedure: String,
    /// When the dossier was received.
    pub received_at: DateTime<FixedOffset>,
    /// The return time first promised.
    pub original_return_at: DateTime<FixedOffset>,
    /// Why the result is late.
    pub reason: String,
    /// The new return time.
    pub new_return_at: DateTime<FixedOffset>,
    /// The agency's apology; a standard sentence is printed when absent.
    #[serde(default)]
    pub apology: Option<String>,
    /// The head of the agency who signs.
    pub signer: String,
    /// The signer's title, e.g. "CHỦ TỊCH"; "THỦ TRƯỞNG CƠ QUAN" when absent.
    #[serde(default)]
    pub signer_title: Option<String>,
    /// The place name of the dated line, e.g. "Huế".
    pub place: String,
    /// When the slip is issued.
    pub issued_at: DateTime<FixedOffset>,
}

/// Whether a step finished before, on or after its deadline (form 05).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    /// Trước hạn.
    Early,
    /// Đúng hạn.
    OnTime,
    /// Quá hạn.
    Late,
}

impl Timeliness {
    /// The Vietnamese label printed on the form.
    pub fn label(self) -> &'static str {
        match self {
            Timeliness::Early => "Trước hạn",
            Timeliness::OnTime => "Đúng hạn",
            Timeliness::Late => "Quá hạn",
        }
    }
}

/// One side of a handover: an agency or unit, and the person acting for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// The agency or unit, e.g. "Bộ phận tiếp nhận và trả kết quả".
    pub agency: String,
    /// The person who handed over or received.
    #[serde(default)]
    pub person: Option<String>,
}

/// One handover of the dossier (form 05): from one party to another at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlRow {
    /// Who handed the dossier over ("Giao").
    pub from: Party,
    /// Who received it ("Nhận").
    pub to: Party,
    /// When.
    pub at: DateTime<FixedOffset>,
    /// How the step ended against its deadline, once known.
    #[serde(default)]
    pub outcome: Option<Timeliness>,
    /// Remarks.
    #[serde(default)]
    pub note: Option<String>,
}

/// Mẫu số 05: the sheet that travels with a dossier and records every handover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlSheet {
    /// The agency that received the dossier.
    pub agency: Agency,
    /// The dossier code.
    pub code: String,
    /// Who filed the dossier.
    pub applicant: Applicant,
    /// The administrative procedure requested.
    pub procedure: String,
    /// When the dossier was received.
    pub received_at: DateTime<FixedOffset>,
    /// The promised return time.
    pub return_at: DateTime<FixedOffset>,
    /// The agency leading the processing ("Cơ quan chủ trì giải quyết").
    #[serde(default)]
    pub lead_agency: Option<String>,
    /// Agencies cooperating in the processing ("Cơ quan phối hợp giải quyết").
    #[serde(default)]
    pub coordinating_agencies: Vec<String>,
    /// The handovers, in order.
    pub rows: Vec<ControlRow>,
}

/// One dossier in the tracking register (form 06).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRow {
    /// The dossier code.
    pub code: String,
    /// The administrative procedure.
    pub procedure: String,
    /// Number of dossier sets received.
    #[serde(default = "one")]
    pub sets: u32,
    /// The applicant's name.
    pub applicant: String,
    /// The applicant's address and phone, as printed.
    #[serde(default)]
    pub contact: Option<String>,
    /// The agency leading the processing.
    #[serde(default)]
    pub lead_agency: Option<String>,
    /// When the dossier was received.
    pub received_at: DateTime<FixedOffset>,
    /// The promised return time.
    pub return_at: DateTime<FixedOffset>,
    /// When it was handed to the processing agency.
    #[serde(default)]
    pub transferred_at: Option<DateTime<FixedOffset>>,
    /// When the result came back from the processing agency.
    #[serde(default)]
    pub result_at: Option<DateTime<FixedOffset>>,
    /// When the result was returned to the applicant.
    #[serde(default)]
    pub returned_at: Option<DateTime<FixedOffset>>,
    /// Remarks.
    #[serde(default)]
    pub note: Option<String>,
}

fn one() -> u32 {
    1
}

/// Mẫu số 06: the register of dossiers kept at the one-stop desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingRegister {
    /// The agency keeping the register.
    pub agency: Agency,
    /// What the register covers, e.g. "Quyển số 01/2026" or "Tháng 11 năm 2026".
    #[serde(default)]
    pub period: Option<String>,
    /// The dossiers, one row each, in order.
    pub rows: Vec<RegisterRow>,
}

/// Any of the six forms, tagged by `"form"` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum Slip {
    /// Mẫu số 01: receipt and appointment slip.
    Receipt(ReceiptSlip),
    /// Mẫu số 02: request to supplement the dossier.
    Supplement(SupplementRequest),
    /// Mẫu số 03: refusal to accept the dossier.
    Refusal(Refusal),
    /// Mẫu số 04: apology and new return date.
    Apology(Apology),
    /// Mẫu số 05: processing control sheet.
    ControlSheet(ControlSheet),
    /// Mẫu số 06: tracking register.
    Register(TrackingRegister),
}

impl Slip {
    /// The form's number in the circular, 1 to 6.
    pub fn number(&self) -> u8 {
        match self {
            Slip::Receipt(_) => 1,
            Slip::Supplement(_) => 2,
            Slip::Refusal(_) => 3,
            Slip::Apology(_) => 4,
            Slip::ControlSheet(_) => 5,
            Slip::Register(_) => 6,
        }
    }

    /// The form's title as printed, in capitals.
    pub fn title(&self) -> &'static str {
        match self {
            Slip::Receipt(_) => "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            Slip::Supplement(_) => "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            Slip::Refusal(_) => "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
            Slip::Apology(_) => "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
            Slip::ControlSheet(_) => "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
            Slip::Register(_) => "SỔ THEO DÕI HỒ SƠ",
        }
    }

    /// The name of the template that renders the form.
    pub fn template(&self) -> &'static str {
        match self {
            Slip::Receipt(_) => "slip-01-receipt.html",
            Slip::Supplement(_) => "slip-02-supplement.html",
            Slip::Refusal(_) => "slip-03-refusal.html",
            Slip::Apology(_) => "slip-04-apology.html",
            Slip::ControlSheet(_) => "slip-05-control.html",
            Slip::Register(_) => "slip-06-register.html",
        }
    }

    /// Whether the form prints on landscape A4 (forms 05 and 06).
    pub fn landscape(&self) -> bool {
        matches!(self, Slip::ControlSheet(_) | Slip::Register(_))
    }

    /// The agency printed on the form.
    pub fn agency(&self) -> &Agency {
        match self {
            Slip::Receipt(s) => &s.agency,
            Slip::Supplement(s) => &s.agency,
            Slip::Refusal(s) => &s.agency,
            Slip::Apology(s) => &s.agency,
            Slip::ControlSheet(s) => &s.agency,
            Slip::Register(s) => &s.agency,
        }
    }

    /// The dossier code, for the forms about one dossier (all but the register).
    pub fn code(&self) -> Option<&str> {
        match self {
            Slip::Receipt(s) => Some(&s.code),
            Slip::Supplement(s) => Some(&s.code),
            Slip::Refusal(s) => Some(&s.code),
            Slip::Apology(s) => Some(&s.code),
            Slip::ControlSheet(s) => Some(&s.code),
            Slip::Register(_) => None,
        }
    }
}

/// Renders a slip as a complete HTML document with the template of [`Slip::template`].
pub fn render(templates: &Templates, slip: &Slip) -> Result<String, SlipError> {
    let body = match slip {
        Slip::Receipt(s) => Value::from_serialize(receipt_view(s)),
        Slip::Supplement(s) => Value::from_serialize(supplement_view(s)),
        Slip::Refusal(s) => Value::from_serialize(refusal_view(s)),
        Slip::Apology(s) => Value::from_serialize(apology_view(s)),
        Slip::ControlSheet(s) => Value::from_serialize(control_view(s)),
        Slip::Register(s) => Value::from_serialize(register_view(s)),
    };
    let qr = match slip.code() {
        Some(code) => Value::from_safe_string(qr_svg(code)?),
        None => Value::from(()),
    };
    let ctx = minijinja::context! {
        title => slip.title(),
        form_number => format!("Mẫu số {:02}", slip.number()),
        landscape => slip.landscape(),
        agency => Value::from_serialize(agency_view(slip.agency())),
        qr => qr,
        slip => body,
    };
    Ok(templates.env().get_template(slip.template())?.render(ctx)?)
}

/// The text as a QR code in inline SVG (no XML declaration, so it can sit inside HTML).
/// Deterministic: the same text always gives the same markup.
pub fn qr_svg(text: &str) -> Result<String, SlipError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| SlipError::Qr(e.to_string()))?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(120, 120)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .quiet_zone(true)
        .build();
    // Drop the `<?xml ...?>` declaration: inside HTML it would be a bogus comment.
    let start = image.find("<svg").unwrap_or(0);
    Ok(image[start..].to_owned())
}

/// Hour, minute and date in Vietnam time as prose: "08 giờ 30 phút, ngày 25 tháng 11 năm 2026".
pub fn format_time(at: &DateTime<FixedOffset>) -> String {
    let local = at.with_timezone(&VIETNAM);
    format!(
        "{:02} giờ {:02} phút, {}",
        local.hour(),
        local.minute(),
        format_date(at)
    )
}

/// The date in Vietnam time as prose: "ngày 25 tháng 11 năm 2026".
pub fn format_date(at: &DateTime<FixedOffset>) -> String {
    at.with_timezone(&VIETNAM)
        .format("ngày %d tháng %m năm %Y")
        .to_string()
}

/// The date in Vietnam time, short, for tables: "25/11/2026".
pub fn format_short_date(at: &DateTime<FixedOffset>) -> String {
    at.with_timezone(&VIETNAM).format("%d/%m/%Y").to_string()
}

// ---- view models: every value already formatted for printing ----

#[derive(Serialize)]
struct AgencyView<'a> {
    name: &'a str,
    parent: Option<&'a str>,
    address: Option<&'a str>,
    phone: Option<&'a str>,
}

fn agency_view(a: &Agency) -> AgencyView<'_> {
    AgencyView {
        name: &a.name,
        parent: a.parent.as_deref(),
        address: a.address.as_deref(),
        phone: a.phone.as_deref(),
    }
}

#[derive(Serialize)]
struct ApplicantView<'a> {
    name: &'a str,
    address: Option<&'a str>,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    id_number: Option<&'a str>,
}

fn applicant_view(a: &Applicant) -> ApplicantView<'_> {
    ApplicantView {
        name: &a.name,
        address: a.address.as_deref(),
        phone: a.phone.as_deref(),
        email: a.email.as_deref(),
        id_number: a.id_number.as_deref(),
    }
}

/// "Huế, ngày 25 tháng 11 năm 2026".
fn dated_line(place: &str, at: &DateTime<FixedOffset>) -> String {
    if place.trim().is_empty() {
        let date = format_date(at);
        let mut chars = date.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => date,
        }
    } else {
        format!("{}, {}", place.trim(), format_date(at))
    }
}

#[derive(Serialize)]
struct DocumentView<'a> {
    index: usize,
    name: &'a str,
    kind: &'a str,
    copies: String,
}

#[derive(Serialize)]
struct ReceiptView<'a> {
    code: &'a str,
    applicant: ApplicantView<'a>,
    procedure: &'a str,
    documents: Vec<DocumentView<'a>>,
    document_count: String,
    processing_days: String,
    received_at: String,
    return_at: String,
    return_place: &'a str,
    officer: &'a str,
}

fn receipt_view(s: &ReceiptSlip) -> ReceiptView<'_> {
    ReceiptView {
        code: &s.code,
        applicant: applicant_view(&s.applicant),
        procedure: &s.procedure,
        documents: s
            .documents
            .iter()
            .enumerate()
            .map(|(i, d)| DocumentView {
                index: i + 1,
                name: &d.name,
                kind: &d.kind,
                copies: format!("{:02}", d.copies),
            })
            .collect(),
        document_count: format!("{:02}", s.documents.len()),
        processing_days: format!("{:02} ngày làm việc", s.processing_days),
        received_at: format_time(&s.received_at),
        return_at: format_time(&s.return_at),
        return_place: &s.return_place,
        officer: &s.officer,
    }
}

#[derive(Serialize)]
struct SupplementView<'a> {
    code: &'a str,
    applicant: ApplicantView<'a>,
    procedure: &'a str,
    items: &'a [String],
    reason: &'a str,
    officer: &'a str,
    contact_phone: Option<&'a str>,
    dated: String,
}

fn supplement_view(s: &SupplementRequest) -> SupplementView<'_> {
    SupplementView {
        code: &s.code,
        applicant: applicant_view(&s.applicant),
        procedure: &s.procedure,
        items: &s.items,
        reason: &s.reason,
        officer: &s.officer,
        contact_phone: s.contact_phone.as_deref(),
        dated: dated_line(&s.place, &s.issued_at),
    }
}

#[derive(Serialize)]
struct RefusalView<'a> {
    code: &'a str,
    applicant: ApplicantView<'a>,
    procedure: &'a str,
    reasons: &'a [String],
    officer: &'a str,
    dated: String,
}

fn refusal_view(s: &Refusal) -> RefusalView<'_> {
    RefusalView {
        code: &s.code,
        applicant: applicant_view(&s.applicant),
        procedure: &s.procedure,
        reasons: &s.reasons,
        officer: &s.officer,
        dated: dated_line(&s.place, &s.issued_at),
    }
}

#[derive(Serialize)]
struct ApologyView<'a> {
    code: &'a str,
    applicant: ApplicantView<'a>,
    procedure: &'a str,
    received_at: String,
    original_return_at: String,
    reason: &'a str,
    new_return_at: String,
    apology: String,
    signer: &'a str,
    signer_title: &'a str,
    dated: String,
}

fn apology_view(s: &Apology) -> ApologyView<'_> {
    let apology = match s.apology.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => text.to_owned(),
        _ => format!(
            "Sự chậm trễ này đã gây phiền hà cho Ông/Bà. {} xin lỗi Ông/Bà vì sự chậm trễ này.",
            s.agency.name
        ),
    };
    ApologyView {
        code: &s.code,
        applicant: applicant_view(&s.applicant),
        procedure: &s.procedure,
        received_at: format_time(&s.received_at),
        original_return_at: format_time(&s.original_return_at),
        reason: &s.reason,
        new_return_at: format_time(&s.new_return_at),
        apology,
        signer: &s.signer,
        signer_title: s.signer_title.as_deref().unwrap_or("THỦ TRƯỞNG CƠ QUAN"),
        dated: dated_line(&s.place, &s.issued_at),
    }
}

#[derive(Serialize)]
struct ControlRowView<'a> {
    index: usize,
    from_agency: &'a str,
    from_person: Option<&'a str>,
    to_agency: &'a str,
    to_person: Option<&'a str>,
    at: String,
    outcome: Option<&'static str>,
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct ControlView<'a> {
    code: &'a str,
    applicant: ApplicantView<'a>,
    procedure: &'a str,
    received_at: String,
    return_at: String,
    lead_agency: Option<&'a str>,
    coordinating_agencies: &'a [String],
    rows: Vec<ControlRowView<'a>>,
}

fn control_view(s: &ControlSheet) -> ControlView<'_> {
    ControlView {
        code: &s.code,
        applicant: applicant_view(&s.applicant),
        procedure: &s.procedure,
        received_at: format_time(&s.received_at),
        return_at: format_time(&s.return_at),
        lead_agency: s.lead_agency.as_deref(),
        coordinating_agencies: &s.coordinating_agencies,
        rows: s
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| ControlRowView {
                index: i + 1,
                from_agency: &r.from.agency,
                from_person: r.from.person.as_deref(),
                to_agency: &r.to.agency,
                to_person: r.to.person.as_deref(),
                at: format_time(&r.at),
                outcome: r.outcome.map(Timeliness::label),
                note: r.note.as_deref(),
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct RegisterRowView<'a> {
    index: usize,
    code: &'a str,
    procedure: &'a str,
    sets: String,
    applicant: &'a str,
    contact: Option<&'a str>,
    lead_agency: Option<&'a str>,
    received_at: String,
    return_at: String,
    transferred_at: Option<String>,
    result_at: Option<String>,
    returned_at: Option<String>,
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct RegisterView<'a> {
    period: Option<&'a str>,
    rows: Vec<RegisterRowView<'a>>,
}

fn register_view(s: &TrackingRegister) -> RegisterView<'_> {
    RegisterView {
        period: s.period.as_deref(),
        rows: s
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| RegisterRowView {
                index: i + 1,
                code: &r.code,
                procedure: &r.procedure,
                sets: format!("{:02}", r.sets),
                applicant: &r.applicant,
                contact: r.contact.as_deref(),
                lead_agency: r.lead_agency.as_deref(),
                received_at: format_short_date(&r.received_at),
                return_at: format_short_date(&r.return_at),
                transferred_at: r.transferred_at.as_ref().map(format_short_date),
                result_at: r.result_at.as_ref().map(format_short_date),
                returned_at: r.returned_at.as_ref().map(format_short_date),
                note: r.note.as_deref(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("valid time")
    }

    #[test]
    fn times_are_vietnam_prose() {
        assert_eq!(
            format_time(&at("2026-11-25T01:30:00Z")),
            "08 giờ 30 phút, ngày 25 tháng 11 năm 2026"
        );
        // Late evening UTC is the next day in Huế.
        assert_eq!(
            format_date(&at("2026-11-24T18:05:00Z")),
            "ngày 25 tháng 11 năm 2026"
        );
        assert_eq!(format_short_date(&at("2026-11-24T18:05:00Z")), "25/11/2026");
        assert_eq!(
            format_time(&at("2026-11-25T08:30:00+07:00")),
            "08 giờ 30 phút, ngày 25 tháng 11 năm 2026"
        );
    }

    #[test]
    fn dated_line_without_place_is_capitalised() {
        assert_eq!(
            dated_line("", &at("2026-11-25T01:30:00Z")),
            "Ngày 25 tháng 11 năm 2026"
        );
        assert_eq!(
            dated_line("Huế", &at("2026-11-25T01:30:00Z")),
            "Huế, ngày 25 tháng 11 năm 2026"
        );
    }
}
