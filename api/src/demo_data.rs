//! The second half of `motcua demo`: the whole procedure catalog deployed and the database
//! filled with realistic, varied dossiers and directives, for a task queue and an IOC dashboard
//! to look real.
//!
//! Everything goes through the engine's ordinary calls (submit, claim, complete, transition,
//! documents, signatures, directives) on an engine whose clock is a [`ManualClock`] set back a
//! few weeks: the generator plans every dossier's steps at office hours in the past, sorts all
//! steps of all dossiers by time and plays them in that order, running the timers that fell due
//! in between (task SLA marks, the field-report escalation, directive reminders) as a worker
//! would have. A step planned after "now" is not played, so recent dossiers are still in
//! progress and old unfinished ones are overdue. Names, addresses (wards of Huế), citizen IDs
//! (046…, Thừa Thiên Huế), phones and tax codes (with their check digit) come from a small
//! seeded generator (splitmix64): the same data on every run, no new dependency.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, Duration, FixedOffset, Offset, TimeZone, Timelike, Utc, Weekday};
use motcua_engine::catalog::Catalog;
use motcua_engine::directive::engine::AssignmentQuery;
use motcua_engine::directive::{
    AssignmentInput, Deadline, DirectiveSource, DirectiveStatus, IssueDirective, Role,
};
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    Applicant, ApplicantKind, CommandOptions, DocumentInput, DossierState, Engine, EngineError,
    InstanceId, ManualClock, SqliteStore, SubmitDossier,
};
use serde_json::{json, Map, Value};

use crate::output::{say, table};

/// How many dossiers the generator adds to the coverage set.
const RANDOM_DOSSIERS: usize = 70;
/// How far back the first dossier is received.
const WINDOW_DAYS: i64 = 30;

/// splitmix64: small, fast, good enough for demo data, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

const SURNAMES: &[&str] = &[
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Phan",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Huỳnh",
    "Trương",
    "Tôn Thất",
    "Nguyễn Phúc",
    "Lê Văn",
];
const MALE_MIDDLE: &[&str] = &[
    "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thanh", "Xuân",
];
const FEMALE_MIDDLE: &[&str] = &["Thị", "Ngọc", "Thanh", "Minh", "Thu", "Diệu", "Bảo"];
const MALE_GIVEN: &[&str] = &[
    "An", "Bình", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tuấn",
    "Trung", "Hiếu", "Thắng", "Vinh",
];
const FEMALE_GIVEN: &[&str] = &[
    "Châu", "Giang", "Hà", "Hiền", "Hoa", "Lan", "Linh", "Mai", "Nga", "Quỳnh", "Tâm", "Thảo",
    "Trang", "Vy", "Yến", "Hương",
];
/// `(value in the forms' ward select, printed name)`.
const WARDS: &[(&str, &str)] = &[
    ("Phú Hội", "phường Phú Hội"),
    ("Phú Nhuận", "phường Phú Nhuận"),
    ("Vĩnh Ninh", "phường Vĩnh Ninh"),
    ("Phước Vĩnh", "phường Phước Vĩnh"),
    ("Trường An", "phường Trường An"),
    ("An Cựu", "phường An Cựu"),
    ("Thuận Hòa", "phường Thuận Hòa"),
    ("Tây Lộc", "phường Tây Lộc"),
    ("Kim Long", "phường Kim Long"),
    ("Hương Sơ", "phường Hương Sơ"),
    ("Thủy Xuân", "phường Thủy Xuân"),
    ("Vỹ Dạ", "phường Vỹ Dạ"),
    ("xã Phú Thượng", "xã Phú Thượng"),
    ("xã Thủy Bằng", "xã Thủy Bằng"),
];
const STREETS: &[&str] = &[
    "Lê Lợi",
    "Hùng Vương",
    "Trần Hưng Đạo",
    "Nguyễn Huệ",
    "Bà Triệu",
    "Phan Đình Phùng",
    "Điện Biên Phủ",
    "Lê Duẩn",
    "Nguyễn Sinh Cung",
    "Chi Lăng",
    "Kim Long",
    "Đặng Thái Thân",
    "Ngự Bình",
    "Phan Bội Châu",
    "Nguyễn Trãi",
    "Trường Chinh",
    "Tố Hữu",
    "Võ Văn Kiệt",
    "Đống Đa",
    "Lý Thường Kiệt",
];

struct Person {
    name: String,
    id: String,
    phone: String,
    ward: (&'static str, &'static str),
    address: String,
    male: bool,
}

fn person(rng: &mut Rng) -> Person {
    let male = rng.chance(50);
    let surname = rng.pick(SURNAMES);
    let (middle, given) = if male {
        (rng.pick(MALE_MIDDLE), rng.pick(MALE_GIVEN))
    } else {
        (rng.pick(FEMALE_MIDDLE), rng.pick(FEMALE_GIVEN))
    };
    let year = rng.range(1955, 2004);
    // Digit 4: century and gender (0/1: 1900s male/female, 2/3: 2000s).
    let century = match (year >= 2000, male) {
        (false, true) => 0,
        (false, false) => 1,
        (true, true) => 2,
        (true, false) => 3,
    };
    let id = format!("046{century}{:02}{}", year % 100, rng.digits(6));
    let prefix = rng.pick(&[
        "090", "091", "093", "094", "097", "098", "083", "035", "077", "088",
    ]);
    let phone = format!("{prefix}{}", rng.digits(7));
    let ward = *rng.pick(WARDS);
    let address = format!(
        "{} {}, {}, Huế",
        rng.range(1, 250),
        rng.pick(STREETS),
        ward.1
    );
    Person {
        name: format!("{surname} {middle} {given}"),
        id,
        phone,
        ward,
        address,
        male,
    }
}

/// A 10-digit tax code of Thừa Thiên Huế (`33…`) with its check digit.
fn tax_code(rng: &mut Rng) -> String {
    const W: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];
    loop {
        let nine = format!("33{}", rng.digits(7));
        let sum: u32 = nine
            .bytes()
            .zip(W)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        if !sum.is_multiple_of(11) {
            return format!("{nine}{}", 10 - sum % 11);
        }
    }
}

fn applicant(p: &Person) -> Applicant {
    Applicant {
        kind: ApplicantKind::CitizenId,
        id: p.id.clone(),
        name: p.name.clone(),
        address: Some(p.address.clone()),
        phone: Some(p.phone.clone()),
        email: None,
    }
}

fn doc(slot: &str, title: &str) -> DocumentInput {
    DocumentInput::Upload {
        slot: slot.to_owned(),
        name: format!("{slot}.txt"),
        media_type: "text/plain; charset=utf-8".to_owned(),
        bytes: format!("{title} — bản số hóa (dữ liệu mẫu motcua demo)\n").into_bytes(),
    }
}

fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn vn() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| Utc.fix())
}

fn vn_date(t: DateTime<Utc>) -> String {
    t.with_timezone(&vn()).format("%d/%m/%Y").to_string()
}

/// The next office moment at or after `t` (Mon–Fri, 07:30–11:30 and 13:30–17:00, Huế time).
fn office(t: DateTime<Utc>) -> DateTime<Utc> {
    let mut local = t.with_timezone(&vn());
    for _ in 0..20 {
        let weekend = matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
        let minutes = local.hour() * 60 + local.minute();
        let day_at = |l: DateTime<FixedOffset>, h: u32, m: u32| {
            l.date_naive()
                .and_hms_opt(h, m, 0)
                .and_then(|n| vn().from_local_datetime(&n).single())
                .unwrap_or(l)
        };
        if weekend || minutes >= 17 * 60 {
            local = day_at(local + Duration::days(1), 7, 30);
            continue;
        }
        if minutes < 7 * 60 + 30 {
            local = day_at(local, 7, 30);
        } else if (11 * 60 + 30..13 * 60 + 30).contains(&minutes) {
            local = day_at(local, 13, 30);
        }
        return local.with_timezone(&Utc);
    }
    local.with_timezone(&Utc)
}

/// One planned step of a dossier.
#[derive(Debug, Clone)]
enum Step {
    /// Claim and complete the instance's open task at `node`.
    Task {
        node: &'static str,
        user: &'static str,
        vars: Value,
    },
    /// Move the dossier to another one-stop state.
    State(DossierState, Option<String>),
    /// Add a document (a supplement).
    Doc(&'static str, &'static str),
    /// The agency signs the slot's latest version with its key (server-side).
    Sign(&'static str, &'static str),
    /// Withdrawn by the applicant: the dossier is cancelled and its instance too.
    Cancel(String),
}

struct Plan {
    procedure: &'static str,
    agency: &'static str,
    person: Person,
    data: Value,
    documents: Vec<DocumentInput>,
    received: DateTime<Utc>,
    steps: Vec<(DateTime<Utc>, Step)>,
}

/// How a dossier's story goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Happy,
    Supplement,
    Refused,
    Cancelled,
}

fn task(node: &'static str, user: &'static str, vars: Value) -> Step {
    Step::Task { node, user, vars }
}

fn st(to: DossierState) -> Step {
    Step::State(to, None)
}

fn because(to: DossierState, why: &str) -> Step {
    Step::State(to, Some(why.to_owned()))
}

/// The steps of a procedure's story, without times.
fn story(procedure: &str, path: Path, rng: &mut Rng, p: &Person) -> Vec<Step> {
    use DossierState::*;
    let mut s = Vec::new();
    let returned = json!({"receivedBy": p.name, "returnChannel": "truc-tiep"});
    if path == Path::Cancelled && rng.chance(50) {
        s.push(Step::Cancel("Người nộp rút hồ sơ".into()));
        return s;
    }
    match procedure {
        "dang-ky-khai-sinh" => {
            s.push(task(
                "tiep-nhan",
                "cb.motcua.lan",
                json!({"receivedDocuments": ["to-khai", "giay-chung-sinh"]}),
            ));
            s.push(st(Processing));
            if path == Path::Cancelled {
                s.push(Step::Cancel(
                    "Gia đình xin rút hồ sơ để đăng ký tại nơi khác".into(),
                ));
                return s;
            }
            if path == Path::Supplement {
                s.push(task("tham-dinh", "cc.tuphap.hung", json!({"dossierComplete": false, "missing": "Bản sao CCCD của người đi đăng ký"})));
                s.push(because(
                    SupplementRequested,
                    "Bổ sung bản sao CCCD của người đi đăng ký",
                ));
                s.push(task("yeu-cau-bo-sung", "cb.motcua.lan", json!({})));
                s.push(Step::Doc(
                    "cccd-nguoi-di-khai",
                    "Bản sao CCCD của người đi đăng ký",
                ));
                s.push(st(SupplementReceived));
                s.push(st(Processing));
            }
            if path == Path::Refused {
                s.push(because(
                    Refused,
                    "Hồ sơ đã được đăng ký khai sinh tại UBND nơi cư trú khác",
                ));
                s.push(Step::Cancel(String::new()));
                return s;
            }
            s.push(task(
                "tham-dinh",
                "cc.tuphap.hung",
                json!({"dossierComplete": true}),
            ));
            s.push(task("phe-duyet", "pct.ubnd.minh", json!({})));
            s.push(st(Done));
            s.push(task("tra-ket-qua", "cb.motcua.lan", returned));
            s.push(st(ResultReturned));
        }
        "chung-thuc-ban-sao" => {
            s.push(task(
                "tiep-nhan",
                "cb.motcua.thu",
                json!({"receivedDocuments": ["ban-chinh", "ban-sao"]}),
            ));
            s.push(st(Processing));
            if path == Path::Cancelled {
                s.push(Step::Cancel(
                    "Người yêu cầu không chờ nhận kết quả, rút yêu cầu".into(),
                ));
                return s;
            }
            if path == Path::Refused {
                s.push(task("doi-chieu", "cc.tuphap.ha", json!({"copyMatches": false, "refusalReason": "Bản chính bị tẩy xóa, sửa chữa nội dung (Điều 22 Nghị định 23/2015/NĐ-CP)"})));
                s.push(because(Refused, "Bản chính bị tẩy xóa, sửa chữa nội dung"));
                s.push(task("tu-choi", "cb.motcua.thu", json!({})));
                return s;
            }
            if path == Path::Supplement {
                s.push(because(
                    SupplementRequested,
                    "Bản sao bị mờ, đề nghị nộp bản sao rõ nét",
                ));
                s.push(Step::Doc(
                    "ban-sao",
                    "Bản sao cần chứng thực (nộp lại, rõ nét)",
                ));
                s.push(st(SupplementReceived));
                s.push(st(Processing));
            }
            let number = format!("{}/2026/SCT/BS", rng.range(1200, 4800));
            s.push(task(
                "doi-chieu",
                "cc.tuphap.ha",
                json!({"copyMatches": true, "certificationNumber": number}),
            ));
            s.push(Step::Sign("ban-sao", "000.00.01.H22"));
            s.push(task("ky-chung-thuc", "pct.ubnd.phuong", json!({})));
            s.push(st(Done));
            s.push(task("tra-ket-qua", "cb.motcua.thu", returned));
            s.push(st(ResultReturned));
        }
        "dang-ky-ho-kinh-doanh" => {
            s.push(task(
                "tiep-nhan",
                "cb.motcua.hoa",
                json!({"receivedDocuments": ["giay-de-nghi", "giay-to-phap-ly-chu-ho"]}),
            ));
            s.push(st(Processing));
            if path == Path::Cancelled {
                s.push(Step::Cancel("Chủ hộ đề nghị dừng đăng ký".into()));
                return s;
            }
            if path == Path::Supplement {
                s.push(task("tham-dinh", "cv.dkkd.tuan", json!({"examination": "bo-sung", "supplementRequest": "Ngành, nghề kinh doanh ghi chưa đúng Hệ thống ngành kinh tế Việt Nam"})));
                s.push(because(
                    SupplementRequested,
                    "Sửa ngành, nghề kinh doanh theo Hệ thống ngành kinh tế Việt Nam",
                ));
                s.push(task("yeu-cau-bo-sung", "cb.motcua.hoa", json!({})));
                s.push(Step::Doc(
                    "giay-de-nghi",
                    "Giấy đề nghị đăng ký hộ kinh doanh (đã sửa)",
                ));
                s.push(st(SupplementReceived));
                s.push(st(Processing));
            }
            if path == Path::Refused {
                s.push(task("tham-dinh", "cv.dkkd.tuan", json!({"examination": "tu-choi", "refusalReason": "Tên hộ kinh doanh trùng với tên hộ kinh doanh đã đăng ký trong phạm vi thành phố"})));
                s.push(because(Refused, "Tên hộ kinh doanh bị trùng"));
                s.push(task("thong-bao-tu-choi", "cb.motcua.hoa", json!({})));
                return s;
            }
            s.push(task(
                "tham-dinh",
                "cv.dkkd.tuan",
                json!({"examination": "hop-le"}),
            ));
            let number = format!("33A8{}", rng.digits(6));
            s.push(task(
                "phe-duyet",
                "tp.tckh.dung",
                json!({"approved": true, "registrationNumber": number}),
            ));
            s.push(st(Done));
            s.push(task("tra-ket-qua", "cb.motcua.hoa", returned));
            s.push(st(ResultReturned));
        }
        "cap-phep-xay-dung-nha-o" => {
            s.push(task(
                "tiep-nhan",
                "cb.motcua.nhung",
                json!({"receivedDocuments": ["don-de-nghi", "giay-to-dat", "ban-ve-thiet-ke"]}),
            ));
            s.push(st(Processing));
            if path == Path::Cancelled {
                s.push(Step::Cancel(
                    "Chủ đầu tư điều chỉnh thiết kế, rút hồ sơ".into(),
                ));
                return s;
            }
            if path == Path::Supplement {
                s.push(task("tham-dinh-ho-so", "cv.qldt.khoa", json!({"dossierComplete": false, "missing": "Bổ sung bản vẽ mặt bằng móng và sơ đồ đấu nối hạ tầng"})));
                s.push(because(
                    SupplementRequested,
                    "Bổ sung bản vẽ mặt bằng móng và sơ đồ đấu nối hạ tầng",
                ));
                s.push(task("yeu-cau-bo-sung", "cb.motcua.nhung", json!({})));
                s.push(Step::Doc(
                    "ban-ve-thiet-ke",
                    "Bản vẽ thiết kế (bổ sung mặt bằng móng)",
                ));
                s.push(st(SupplementReceived));
                s.push(st(Processing));
            }
            s.push(task(
                "tham-dinh-ho-so",
                "cv.qldt.khoa",
                json!({"dossierComplete": true}),
            ));
            if path == Path::Refused {
                s.push(task("kiem-tra-hien-truong", "cv.qldt.khoa", json!({"inspectionDate": "{date}", "inspectionFindings": "Lô đất nằm trong khu vực bảo vệ II di tích Kinh thành Huế, chưa phù hợp quy hoạch", "eligible": false, "refusalReason": "Không phù hợp quy hoạch khu vực bảo vệ di tích"})));
                s.push(because(
                    Refused,
                    "Không phù hợp quy hoạch khu vực bảo vệ di tích",
                ));
                s.push(task("thong-bao-tu-choi", "cb.motcua.nhung", json!({})));
                return s;
            }
            s.push(task("kiem-tra-hien-truong", "cv.qldt.khoa", json!({"inspectionDate": "{date}", "inspectionFindings": "Hiện trạng đúng hồ sơ, chỉ giới xây dựng phù hợp quy hoạch chi tiết", "eligible": true})));
            let number = format!("{}/GPXD", rng.range(150, 990));
            s.push(task(
                "phe-duyet",
                "pct.ubnd.tp",
                json!({"approved": true, "permitNumber": number}),
            ));
            s.push(st(Done));
            s.push(task("tra-ket-qua", "cb.motcua.nhung", returned));
            s.push(st(ResultReturned));
        }
        "chuyen-nhuong-quyen-su-dung-dat" => {
            s.push(task("tiep-nhan", "cb.motcua.phuong", json!({"receivedDocuments": ["don-dang-ky-bien-dong", "hop-dong-chuyen-nhuong", "giay-chung-nhan", "to-khai-thue-tncn", "to-khai-le-phi-truoc-ba"]})));
            s.push(st(Processing));
            if path == Path::Cancelled {
                s.push(Step::Cancel("Các bên hủy hợp đồng chuyển nhượng".into()));
                return s;
            }
            if path == Path::Supplement {
                s.push(task("tham-tra", "cv.vpdk.bao", json!({"dossierValid": false, "missing": "Hợp đồng thiếu chữ ký của người đồng sở hữu"})));
                s.push(because(
                    SupplementRequested,
                    "Hợp đồng thiếu chữ ký của người đồng sở hữu",
                ));
                s.push(task("yeu-cau-bo-sung", "cb.motcua.phuong", json!({})));
                s.push(Step::Doc(
                    "hop-dong-chuyen-nhuong",
                    "Hợp đồng chuyển nhượng (bổ sung chữ ký)",
                ));
                s.push(st(SupplementReceived));
                s.push(st(Processing));
            }
            if path == Path::Refused {
                s.push(because(
                    Refused,
                    "Thửa đất đang có tranh chấp, bị kê biên để bảo đảm thi hành án",
                ));
                s.push(Step::Cancel(String::new()));
                return s;
            }
            let number = format!("{}/PCTT", rng.range(100, 999));
            s.push(task(
                "tham-tra",
                "cv.vpdk.bao",
                json!({"dossierValid": true, "cadastralTransferNumber": number}),
            ));
            s.push(because(
                Transferred,
                "Chuyển Chi cục Thuế xác định nghĩa vụ tài chính",
            ));
            let price = rng.range(8, 60) * 100_000_000;
            s.push(task("xac-dinh-nghia-vu-tai-chinh", "cb.thue.lien", json!({"taxNoticeNumber": format!("TB{}", rng.digits(6)), "personalIncomeTax": price / 50, "registrationFee": price / 200})));
            s.push(st(Processing));
            s.push(task("thong-bao-thue", "cb.motcua.phuong", json!({})));
            s.push(task(
                "xac-nhan-nop-thue",
                "cb.motcua.phuong",
                json!({"paymentReceipt": format!("CT{}", rng.digits(8)), "paidOn": "{date}"}),
            ));
            s.push(task("cap-nhat-giay-chung-nhan", "cv.vpdk.bao", json!({"registryEntry": format!("CS{}", rng.digits(5)), "changeNote": format!("Chuyển nhượng cho ông/bà {} theo hồ sơ số", p.name)})));
            s.push(st(Done));
            s.push(task("tra-ket-qua", "cb.motcua.phuong", returned));
            s.push(st(ResultReturned));
        }
        "phan-anh-hien-truong" => {
            if path == Path::Cancelled {
                s.push(Step::Cancel("Người phản ánh rút phản ánh".into()));
                return s;
            }
            s.push(st(Processing));
            if path == Path::Refused {
                s.push(task("phan-loai", "dhv.ioc.trinh", json!({"accepted": false, "publicAnswer": "Nội dung phản ánh không thuộc phạm vi tiếp nhận của hệ thống (tranh chấp dân sự), đề nghị liên hệ UBND phường."})));
                s.push(because(Refused, "Không thuộc phạm vi tiếp nhận"));
                return s;
            }
            let agency = *rng.pick(&[
                "000.00.31.H22",
                "000.00.35.H22",
                "000.00.36.H22",
                "000.00.01.H22",
                "000.00.02.H22",
            ]);
            s.push(task(
                "phan-loai",
                "dhv.ioc.trinh",
                json!({"accepted": true, "agency": agency, "priority": "thuong"}),
            ));
            s.push(because(Transferred, &format!("Chuyển {agency} xử lý")));
            s.push(task("xu-ly", "cb.xuly.duc", json!({"handlingResult": "Đã cử tổ công tác kiểm tra, xử lý tại hiện trường", "publicAnswer": "Đơn vị đã xử lý dứt điểm, hiện trường đã được khắc phục. Cảm ơn người dân đã phản ánh.", "handledOn": "{date}"})));
            if path == Path::Supplement {
                s.push(task("kiem-tra-dong", "dhv.ioc.trinh", json!({"answerApproved": false, "reworkRequest": "Đề nghị bổ sung hình ảnh sau khi xử lý"})));
                s.push(task("xu-ly", "cb.xuly.duc", json!({"handlingResult": "Đã bổ sung hình ảnh sau xử lý", "publicAnswer": "Hiện trường đã được khắc phục (có hình ảnh kèm theo).", "handledOn": "{date}"})));
            }
            s.push(st(Done));
            s.push(task(
                "kiem-tra-dong",
                "dhv.ioc.trinh",
                json!({"answerApproved": true}),
            ));
            s.push(st(ResultReturned));
        }
        _ => {}
    }
    s
}

/// Start data and documents of a procedure's dossier.
fn submission(procedure: &str, rng: &mut Rng, p: &Person) -> (Value, Vec<DocumentInput>) {
    let channel = *rng.pick(&["Trực tiếp", "Cổng dịch vụ công", "Hue-S", "Bưu chính"]);
    match procedure {
        "dang-ky-khai-sinh" => {
            let married = rng.chance(85);
            let mut child = person(rng);
            child.name = format!(
                "{} {}",
                p.name.split(' ').next().unwrap_or("Nguyễn"),
                child.name.split_once(' ').map_or("An", |(_, r)| r)
            );
            let mut data = json!({
                "applicantName": p.name, "applicantId": p.id, "applicantPhone": p.phone,
                "relationship": if p.male { "cha" } else { "me" },
                "childName": child.name, "childBirthDate": format!("{:02}/11/2026", rng.range(1, 28)),
                "childGender": if child.male { "nam" } else { "nu" },
                "birthPlace": *rng.pick(&["Bệnh viện Trung ương Huế", "Bệnh viện Đa khoa thành phố Huế", "Bệnh viện Quốc tế Trung ương Huế", "Bệnh viện Trường Đại học Y - Dược Huế"]),
                "parentsMarried": married, "channel": channel,
            });
            let mut docs = vec![
                doc("to-khai", "Tờ khai đăng ký khai sinh"),
                doc("giay-chung-sinh", "Giấy chứng sinh"),
            ];
            if married {
                data["marriageCertificateNumber"] =
                    json!(format!("{}/{}", rng.range(1, 120), rng.range(2010, 2025)));
                docs.push(doc("dang-ky-ket-hon", "Giấy chứng nhận kết hôn"));
            }
            (data, docs)
        }
        "chung-thuc-ban-sao" => {
            let (kind, title, issuer) = *rng.pick(&[
                (
                    "van-bang",
                    "Bằng tốt nghiệp đại học",
                    "Trường Đại học Khoa học, Đại học Huế",
                ),
                ("giay-khai-sinh", "Giấy khai sinh", "UBND phường Phú Hội"),
                (
                    "can-cuoc",
                    "Thẻ căn cước",
                    "Cục Cảnh sát quản lý hành chính về trật tự xã hội",
                ),
                (
                    "giay-chung-nhan-qsdd",
                    "Giấy chứng nhận quyền sử dụng đất",
                    "Sở Tài nguyên và Môi trường tỉnh Thừa Thiên Huế",
                ),
                (
                    "van-bang",
                    "Bằng tốt nghiệp trung học phổ thông",
                    "Sở Giáo dục và Đào tạo tỉnh Thừa Thiên Huế",
                ),
            ]);
            let pages = rng.range(1, 6);
            let data = json!({
                "applicantName": p.name, "applicantId": p.id, "applicantPhone": p.phone,
                "documentType": kind, "documentTitle": title, "issuingAuthority": issuer,
                "pages": pages, "copies": rng.range(1, 5), "channel": "Trực tiếp",
            });
            (
                data,
                vec![
                    doc("ban-chinh", title),
                    doc("ban-sao", &format!("Bản sao {title}")),
                ],
            )
        }
        "dang-ky-ho-kinh-doanh" => {
            let (kind, lines) = *rng.pick(&[
                (
                    "Quán cơm",
                    "Nhà hàng và các dịch vụ ăn uống phục vụ lưu động (5610)",
                ),
                ("Cà phê", "Dịch vụ phục vụ đồ uống (5630)"),
                (
                    "Tạp hóa",
                    "Bán lẻ lương thực, thực phẩm, đồ uống trong cửa hàng (4711)",
                ),
                ("Homestay", "Dịch vụ lưu trú ngắn ngày (5510)"),
                (
                    "Bún bò",
                    "Nhà hàng và các dịch vụ ăn uống phục vụ lưu động (5610)",
                ),
                ("Sửa xe", "Bảo dưỡng và sửa chữa mô tô, xe máy (4542)"),
            ]);
            let given = p.name.rsplit(' ').next().unwrap_or("An");
            let family = rng.chance(25);
            let mut data = json!({
                "ownerName": p.name, "ownerId": p.id, "ownerPhone": p.phone,
                "businessName": format!("{kind} {given}"),
                "businessAddress": p.address, "businessWard": p.ward.0,
                "businessLines": lines, "capital": rng.range(3, 60) * 10_000_000,
                "employees": rng.range(0, 8),
                "registeredBy": if family { "ho-gia-dinh" } else { "ca-nhan" },
                "channel": channel,
            });
            if rng.chance(60) {
                data["ownerTaxCode"] = json!(tax_code(rng));
            }
            let mut docs = vec![
                doc("giay-de-nghi", "Giấy đề nghị đăng ký hộ kinh doanh"),
                doc("giay-to-phap-ly-chu-ho", "Bản sao thẻ căn cước của chủ hộ"),
            ];
            if family {
                data["familyMembers"] = json!(rng.range(2, 5));
                docs.push(doc(
                    "bien-ban-hop-gia-dinh",
                    "Biên bản họp thành viên hộ gia đình",
                ));
            }
            (data, docs)
        }
        "cap-phep-xay-dung-nha-o" => {
            let land = rng.range(60, 300);
            let foot = land * rng.range(55, 85) / 100;
            let floors = rng.range(1, 4);
            let data = json!({
                "investorName": p.name, "investorId": p.id, "investorPhone": p.phone,
                "constructionAddress": p.address, "constructionWard": p.ward.0,
                "landParcel": rng.range(1, 900).to_string(), "mapSheet": rng.range(1, 60).to_string(),
                "landArea": land, "buildingFootprint": foot, "totalFloorArea": foot * floors,
                "floors": floors, "height": 4 + floors * 3,
                "designer": *rng.pick(&["Công ty TNHH Tư vấn thiết kế Kiến trúc Huế", "Công ty CP Tư vấn xây dựng Thừa Thiên Huế", "Kiến trúc sư Trần Minh Đức"]),
                "channel": channel,
            });
            (
                data,
                vec![
                    doc("don-de-nghi", "Đơn đề nghị cấp giấy phép xây dựng"),
                    doc("giay-to-dat", "Bản sao Giấy chứng nhận quyền sử dụng đất"),
                    doc("ban-ve-thiet-ke", "Bản vẽ thiết kế xây dựng"),
                ],
            )
        }
        "chuyen-nhuong-quyen-su-dung-dat" => {
            let seller = person(rng);
            let data = json!({
                "transferorName": seller.name, "transferorId": seller.id,
                "transfereeName": p.name, "transfereeId": p.id, "transfereePhone": p.phone,
                "certificateSerial": format!("D{}", rng.digits(7)),
                "landParcel": rng.range(1, 900).to_string(), "mapSheet": rng.range(1, 60).to_string(),
                "landArea": rng.range(60, 400), "landAddress": seller.address, "landWard": seller.ward.0,
                "contractNumber": format!("{}/2026/CCGD", rng.range(1000, 9999)),
                "contractDate": format!("{:02}/10/2026", rng.range(1, 28)),
                "price": rng.range(8, 60) * 100_000_000, "channel": channel,
            });
            (
                data,
                vec![
                    doc("don-dang-ky-bien-dong", "Đơn đăng ký biến động đất đai"),
                    doc(
                        "hop-dong-chuyen-nhuong",
                        "Hợp đồng chuyển nhượng quyền sử dụng đất",
                    ),
                    doc(
                        "giay-chung-nhan",
                        "Giấy chứng nhận quyền sử dụng đất (bản gốc)",
                    ),
                    doc("to-khai-thue-tncn", "Tờ khai thuế thu nhập cá nhân"),
                    doc("to-khai-le-phi-truoc-ba", "Tờ khai lệ phí trước bạ"),
                ],
            )
        }
        "phan-anh-hien-truong" => {
            let (category, title, description) = *rng.pick(&[
                (
                    "moi-truong",
                    "Rác thải tập kết không đúng nơi quy định",
                    "Rác thải sinh hoạt đổ thành đống ven đường, bốc mùi hôi, đề nghị thu gom.",
                ),
                (
                    "giao-thong",
                    "Ổ gà lớn giữa đường",
                    "Mặt đường xuất hiện ổ gà sâu, nguy hiểm cho người đi xe máy vào ban đêm.",
                ),
                (
                    "chieu-sang",
                    "Đèn chiếu sáng công cộng không hoạt động",
                    "Cả dãy đèn đường không sáng nhiều đêm liền, đề nghị kiểm tra sửa chữa.",
                ),
                (
                    "trat-tu-do-thi",
                    "Lấn chiếm vỉa hè kinh doanh",
                    "Quán ăn bày bàn ghế chiếm hết vỉa hè, người đi bộ phải xuống lòng đường.",
                ),
                (
                    "cap-thoat-nuoc",
                    "Cống thoát nước bị tắc gây ngập",
                    "Sau mưa nước ngập sâu do cống bị tắc, đề nghị nạo vét.",
                ),
                (
                    "moi-truong",
                    "Cây xanh gãy đổ sau mưa",
                    "Cây lớn gãy nhánh chắn một phần lòng đường, có nguy cơ đổ tiếp.",
                ),
            ]);
            let data = json!({
                "category": category, "title": title, "description": description,
                "location": p.address, "ward": p.ward.0,
                "latitude": 16.43 + rng.below(700) as f64 / 10_000.0,
                "longitude": 107.55 + rng.below(700) as f64 / 10_000.0,
                "reporterName": p.name, "reporterPhone": p.phone,
                "confidential": rng.chance(20),
            });
            (data, vec![DocumentInput::Upload {
                slot: "hinh-anh".into(),
                name: "hien-truong.svg".into(),
                media_type: "image/svg+xml".into(),
                bytes: format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"320\" height=\"200\"><rect width=\"320\" height=\"200\" fill=\"#ddd\"/><text x=\"10\" y=\"100\">{title}</text></svg>\n").into_bytes(),
            }])
        }
        _ => (json!({}), Vec::new()),
    }
}

/// The procedures dossiers are generated for, with their agency and relative weight.
const PROCEDURES: &[(&str, &str, u64)] = &[
    ("dang-ky-khai-sinh", "000.00.02.H22", 14),
    ("chung-thuc-ban-sao", "000.00.01.H22", 22),
    ("dang-ky-ho-kinh-doanh", "000.00.30.H22", 14),
    ("cap-phep-xay-dung-nha-o", "000.00.31.H22", 12),
    ("chuyen-nhuong-quyen-su-dung-dat", "000.00.32.H22", 14),
    ("phan-anh-hien-truong", "000.00.34.H22", 24),
];

fn plan(
    rng: &mut Rng,
    procedure: &'static str,
    agency: &'static str,
    path: Path,
    received: DateTime<Utc>,
    gap_hours: (i64, i64),
) -> Plan {
    let person = person(rng);
    let (data, documents) = submission(procedure, rng, &person);
    let received = office(received);
    let mut t = received;
    let steps = story(procedure, path, rng, &person)
        .into_iter()
        .map(|step| {
            // State changes follow their task within minutes; work waits hours.
            let gap = match step {
                Step::State(..) | Step::Sign(..) | Step::Doc(..) => {
                    Duration::minutes(rng.range(2, 25))
                }
                _ => Duration::minutes(rng.range(gap_hours.0 * 60, gap_hours.1 * 60)),
            };
            t = office(t + gap);
            (t, step)
        })
        .collect();
    Plan {
        procedure,
        agency,
        person,
        data,
        documents,
        received,
        steps,
    }
}

/// What was created, for the summary and the test.
#[derive(Debug, Default)]
pub struct Created {
    /// Dossiers per procedure key.
    pub per_procedure: BTreeMap<String, usize>,
    /// Dossiers per state.
    pub per_state: BTreeMap<&'static str, usize>,
    /// Overdue dossiers.
    pub overdue: usize,
    /// Directive assignments per status label.
    pub directives: BTreeMap<&'static str, u32>,
    /// Instances whose stored state equals the replay of their journal and whose hash chain
    /// holds (every dossier's and every assignment's).
    pub verified: usize,
}

/// Deploys the catalog and fills the database. `engine` reads `clock`, which this moves.
pub async fn fill(
    engine: &Engine<SqliteStore>,
    clock: &ManualClock,
    now: DateTime<Utc>,
) -> Result<Created> {
    let catalog = Catalog::shipped().context("the shipped catalog")?;
    let deployed = engine.deploy("catalog", &catalog.all_files()).await?;
    say!(
        "\n10. Triển khai toàn bộ danh mục thủ tục: {} quy trình ({} mới)",
        deployed.len(),
        deployed.iter().filter(|d| d.created).count()
    );
    let mut t = table(&["mã TTHC", "thủ tục", "cấp", "thời hạn", "phí, lệ phí"]);
    for p in catalog.procedures() {
        t.add_row(vec![
            p.code.clone(),
            p.name.clone(),
            p.level.label().to_owned(),
            p.sla_working_days
                .map(|d| format!("{d} ngày làm việc"))
                .unwrap_or_default(),
            p.fee_text.clone(),
        ]);
    }
    say!("{t}");

    let mut rng = Rng(0x6D6F_7463_7561_2026);
    let start = now - Duration::days(WINDOW_DAYS);
    let mut plans = Vec::new();
    // Coverage first: each procedure once on each path, received early enough to finish.
    for (i, (procedure, agency, _)) in PROCEDURES.iter().enumerate() {
        for (j, path) in [
            Path::Happy,
            Path::Supplement,
            Path::Refused,
            Path::Cancelled,
        ]
        .into_iter()
        .enumerate()
        {
            let received = start + Duration::days(2 + (i as i64 + j as i64 * 3) % 12);
            plans.push(plan(&mut rng, procedure, agency, path, received, (1, 5)));
        }
    }
    // Dossiers held in the states a finished story passes through, so that every state has some.
    let holds = [
        (DossierState::SupplementRequested, Path::Supplement),
        (DossierState::SupplementReceived, Path::Supplement),
        (DossierState::Transferred, Path::Happy),
        (DossierState::Done, Path::Happy),
    ];
    for (i, (procedure, agency, _)) in PROCEDURES.iter().enumerate() {
        for (hold, path) in holds {
            let received = now - Duration::days(1 + (i as i64) % 4);
            let mut p = plan(&mut rng, procedure, agency, path, received, (1, 3));
            let at = p
                .steps
                .iter()
                .position(|(_, s)| matches!(s, Step::State(to, _) if *to == hold));
            if let Some(at) = at {
                p.steps.truncate(at + 1);
                plans.push(p);
            }
        }
        if i % 2 == 0 {
            let mut p = plan(
                &mut rng,
                procedure,
                agency,
                Path::Happy,
                now - Duration::hours(3),
                (1, 3),
            );
            p.steps.clear();
            // Filed on the portal, at any hour: not yet received at the counter.
            p.received = now - Duration::hours(2 + i as i64);
            plans.push(p);
        }
    }
    // Then a weighted random mix over the whole window: recent ones are still under way.
    let total: u64 = PROCEDURES.iter().map(|p| p.2).sum();
    for _ in 0..RANDOM_DOSSIERS {
        let mut roll = rng.below(total);
        let (procedure, agency, _) = PROCEDURES
            .iter()
            .find(|p| {
                let hit = roll < p.2;
                roll = roll.saturating_sub(p.2);
                hit
            })
            .copied()
            .unwrap_or(PROCEDURES[0]);
        let path = match rng.below(100) {
            0..=64 => Path::Happy,
            65..=84 => Path::Supplement,
            85..=94 => Path::Refused,
            _ => Path::Cancelled,
        };
        let received = start + Duration::minutes(rng.range(0, WINDOW_DAYS * 24 * 60));
        // Some agencies are slow: days between steps, so their dossiers run late.
        let gaps = if rng.chance(30) { (20, 60) } else { (2, 20) };
        plans.push(plan(&mut rng, procedure, agency, path, received, gaps));
    }

    // Every action of every dossier, in time order; those after `now` are not played.
    let mut actions: Vec<(DateTime<Utc>, usize, usize)> = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        if p.received < now {
            actions.push((p.received, i, 0));
        }
        for (j, (at, _)) in p.steps.iter().enumerate() {
            if *at < now {
                actions.push((*at, i, j + 1));
            }
        }
    }
    actions.sort();
    let mut opened: Vec<Option<(String, InstanceId)>> = vec![None; plans.len()];
    let mut blocked = vec![false; plans.len()];
    let mut seq = 0u64;
    for (at, i, j) in actions {
        if blocked[i] {
            continue;
        }
        clock.set(at);
        engine.run_all_due_jobs("motcua-demo").await?;
        let p = &plans[i];
        if j == 0 {
            let view = engine
                .submit_dossier(
                    SubmitDossier {
                        procedure_key: p.procedure.into(),
                        version: None,
                        agency_code: p.agency.into(),
                        applicant: applicant(&p.person),
                        data: vars(p.data.clone()),
                        documents: p.documents.clone(),
                        due_at: None,
                        certify: Vec::new(),
                    },
                    CommandOptions::by("cong-dan").with_key(format!("demo-data-{i}")),
                )
                .await
                .with_context(|| format!("submitting a {} dossier", p.procedure))?;
            opened[i] = Some((view.dossier.code, view.dossier.instance));
            continue;
        }
        let Some((code, instance)) = opened[i].clone() else {
            continue;
        };
        seq += 1;
        let step = &p.steps[j - 1].1;
        let result = play(engine, &code, instance, step, at, seq).await;
        match result {
            Ok(()) => {}
            // Without the agency's key (a --signing file of one's own), the copy cannot be
            // signed: that dossier waits at the signing step.
            Err(e) if matches!(step, Step::Sign(..)) => {
                blocked[i] = true;
                tracing::debug!("demo: {code} stays before signing: {e}");
            }
            Err(e) => return Err(e.context(format!("dossier {code} ({}), step {j}", p.procedure))),
        }
    }
    clock.set(now);
    engine.run_all_due_jobs("motcua-demo").await?;

    let mut created = Created::default();
    for (i, o) in opened.iter().enumerate() {
        let Some((code, instance)) = o else { continue };
        engine.verify_instance(*instance).await?;
        created.verified += 1;
        let view = engine.dossier(code).await?;
        *created
            .per_procedure
            .entry(plans[i].procedure.to_owned())
            .or_default() += 1;
        *created
            .per_state
            .entry(view.dossier.state.as_str())
            .or_default() += 1;
        if view.overdue {
            created.overdue += 1;
        }
    }
    directives(engine, clock, now, &mut created).await?;
    clock.set(now);
    Ok(created)
}

async fn play(
    engine: &Engine<SqliteStore>,
    code: &str,
    instance: InstanceId,
    step: &Step,
    at: DateTime<Utc>,
    seq: u64,
) -> Result<()> {
    match step {
        Step::Task {
            node,
            user,
            vars: v,
        } => {
            let query = TaskQuery {
                instance: Some(instance),
                ..TaskQuery::default()
            };
            let tasks = engine.tasks(&query).await?;
            let Some(task) = tasks.iter().find(|t| t.record.node == *node) else {
                bail!("no open task '{node}'");
            };
            let id = task.record.id;
            engine.claim(id, user, CommandOptions::by(*user)).await?;
            // Dates the officer types are today's.
            let text = v.to_string().replace("{date}", &vn_date(at));
            let data: Value = serde_json::from_str(&text)?;
            engine
                .complete(
                    id,
                    vars(data),
                    CommandOptions::by(*user).with_key(format!("demo-data-t{seq}")),
                )
                .await?;
        }
        Step::State(to, reason) => {
            engine
                .transition_dossier(
                    code,
                    *to,
                    reason.clone(),
                    None,
                    CommandOptions::by("cb.motcua"),
                )
                .await?;
        }
        Step::Doc(slot, title) => {
            engine
                .add_document(code, doc(slot, title), CommandOptions::by("cb.motcua"))
                .await?;
        }
        Step::Sign(slot, agency) => {
            engine
                .sign_document(code, slot, agency, CommandOptions::by("cc.tuphap.ha"))
                .await?;
        }
        Step::Cancel(reason) => {
            if !reason.is_empty() {
                engine
                    .transition_dossier(
                        code,
                        DossierState::Cancelled,
                        Some(reason.clone()),
                        None,
                        CommandOptions::by("cb.motcua"),
                    )
                    .await?;
            }
            match engine
                .cancel(
                    instance,
                    Some(if reason.is_empty() {
                        "Từ chối".into()
                    } else {
                        reason.clone()
                    }),
                    CommandOptions::by("cb.motcua"),
                )
                .await
            {
                Ok(_) | Err(EngineError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Several directives of the provincial leaders, in every status.
async fn directives(
    engine: &Engine<SqliteStore>,
    clock: &ManualClock,
    now: DateTime<Utc>,
    created: &mut Created,
) -> Result<()> {
    struct D {
        issuer: &'static str,
        number: &'static str,
        summary: &'static str,
        lead: &'static str,
        others: &'static [&'static str],
        issued_days_ago: i64,
        deadline_days: f64,
        /// What happens to the lead's assignment: 0 nothing, 1 progress, 2 done on time and
        /// accepted, 3 done late, 4 extension requested.
        outcome: u8,
    }
    let list = [
        D {
            issuer: "Chủ tịch UBND tỉnh",
            number: "312/UBND-TH",
            summary: "Rà soát, đơn giản hóa thủ tục đăng ký hộ kinh doanh trên địa bàn thành phố",
            lead: "000.00.30.H22",
            others: &["000.00.00.H22"],
            issued_days_ago: 26,
            deadline_days: 10.0,
            outcome: 2,
        },
        D {
            issuer: "Phó Chủ tịch UBND tỉnh Nguyễn Thanh Bình",
            number: "355/UBND-XD",
            summary: "Xử lý dứt điểm hồ sơ cấp phép xây dựng quá hạn tại Phòng Quản lý đô thị",
            lead: "000.00.31.H22",
            others: &["000.00.34.H22"],
            issued_days_ago: 24,
            deadline_days: 5.0,
            outcome: 0,
        },
        D {
            issuer: "Chủ tịch UBND tỉnh",
            number: "401/UBND-DT",
            summary: "Nâng tỷ lệ phản ánh hiện trường qua Hue-S được xử lý đúng hạn lên 95%",
            lead: "000.00.34.H22",
            others: &["000.00.35.H22", "000.00.36.H22"],
            issued_days_ago: 12,
            deadline_days: 20.0,
            outcome: 1,
        },
        D {
            issuer: "Phó Chủ tịch UBND tỉnh Phan Quý Phương",
            number: "420/UBND-DC",
            summary: "Đẩy nhanh liên thông thuế trong đăng ký biến động đất đai",
            lead: "000.00.32.H22",
            others: &["000.00.33.H22"],
            issued_days_ago: 14,
            deadline_days: 8.0,
            outcome: 4,
        },
        D {
            issuer: "Chủ tịch UBND tỉnh",
            number: "288/UBND-NC",
            summary: "Số hóa kết quả chứng thực bản sao tại UBND các phường",
            lead: "000.00.01.H22",
            others: &["000.00.02.H22"],
            issued_days_ago: 28,
            deadline_days: 5.0,
            outcome: 3,
        },
        D {
            issuer: "Phó Chủ tịch UBND tỉnh Nguyễn Thanh Bình",
            number: "437/UBND-KT",
            summary: "Báo cáo tình hình tiếp nhận hồ sơ trực tuyến toàn trình tháng 12",
            lead: "000.00.00.H22",
            others: &[],
            issued_days_ago: 3,
            deadline_days: 4.0,
            outcome: 1,
        },
    ];
    for (n, d) in list.iter().enumerate() {
        let issued = office(now - Duration::days(d.issued_days_ago));
        clock.set(issued);
        let mut assignments = vec![AssignmentInput {
            agency: d.lead.into(),
            role: Role::Lead,
            deadline: None,
        }];
        assignments.extend(d.others.iter().map(|a| AssignmentInput {
            agency: (*a).into(),
            role: Role::Coordinate,
            deadline: None,
        }));
        let date = issued.with_timezone(&vn()).date_naive();
        let issued_list = engine
            .issue_directive(
                IssueDirective {
                    issuer: d.issuer.into(),
                    source: DirectiveSource::Document {
                        number: d.number.into(),
                        date,
                    },
                    summary: d.summary.into(),
                    content: format!(
                        "{}. Các cơ quan được giao báo cáo kết quả về UBND tỉnh.",
                        d.summary
                    ),
                    deadline: Deadline::WorkingDays(d.deadline_days),
                    priority: if n % 2 == 0 {
                        "normal".into()
                    } else {
                        "high".into()
                    },
                    assignments,
                    report_every_days: None,
                },
                CommandOptions::by("vp.ubnd.tinh").with_key(format!("demo-directive-{n}")),
            )
            .await?;
        let Some(lead) = issued_list.iter().find(|a| a.role == Role::Lead) else {
            continue;
        };
        let by = |who: &str| CommandOptions::by(who.to_owned());
        let step = |days: f64| office(issued + Duration::hours((days * 24.0) as i64));
        match d.outcome {
            1 => {
                clock.set(step(2.0));
                engine
                    .report_progress(
                        &lead.id,
                        None,
                        40,
                        "Đã xây dựng kế hoạch, đang triển khai",
                        by("cv.tonghop"),
                    )
                    .await?;
            }
            2 => {
                clock.set(step(3.0));
                engine
                    .report_progress(
                        &lead.id,
                        None,
                        70,
                        "Đã rà soát 12 thủ tục, đề xuất cắt giảm 3 thành phần hồ sơ",
                        by("cv.tonghop"),
                    )
                    .await?;
                clock.set(step(7.0));
                engine
                    .complete_assignment(
                        &lead.id,
                        None,
                        "Báo cáo số 95/BC-TCKH kèm dự thảo quyết định",
                        by("tp.tckh.dung"),
                    )
                    .await?;
                clock.set(step(8.0));
                engine
                    .accept_assignment(&lead.id, None, true, None, by(d.issuer))
                    .await?;
            }
            3 => {
                clock.set(step(12.0));
                engine
                    .complete_assignment(
                        &lead.id,
                        None,
                        "Đã số hóa 4.120 kết quả chứng thực",
                        by("ct.ubnd.phuong"),
                    )
                    .await?;
            }
            4 => {
                clock.set(step(4.0));
                engine
                    .report_progress(
                        &lead.id,
                        None,
                        30,
                        "Đang phối hợp Chi cục Thuế thống nhất quy trình",
                        by("gd.vpdk"),
                    )
                    .await?;
                clock.set(step(6.0));
                engine
                    .request_extension(
                        &lead.id,
                        None,
                        Deadline::WorkingDays(10.0),
                        "Chờ Cục Thuế hướng dẫn mẫu phiếu chuyển thông tin điện tử",
                        by("gd.vpdk"),
                    )
                    .await?;
            }
            _ => {}
        }
        if now < clock.now_for_tests() {
            clock.set(now);
        }
    }
    clock.set(now);
    engine.run_all_due_jobs("motcua-demo").await?;
    for a in engine
        .list_assignments(&AssignmentQuery::default(), now)
        .await?
    {
        engine.verify_instance(a.assignment.instance).await?;
        created.verified += 1;
    }
    let stats = engine
        .directive_statistics(&AssignmentQuery::default(), now)
        .await?;
    let s = &stats.total;
    for (label, n) in [
        (DirectiveStatus::InProgress.label(), s.in_progress),
        (DirectiveStatus::DueSoon.label(), s.due_soon),
        (DirectiveStatus::Overdue { days_late: 0 }.label(), s.overdue),
        (DirectiveStatus::DoneOnTime.label(), s.done_on_time),
        (
            DirectiveStatus::DoneLate { days_late: 0 }.label(),
            s.done_late,
        ),
    ] {
        created.directives.insert(label, n);
    }
    Ok(())
}

/// Prints the Vietnamese summary of what [`fill`] created.
pub fn print_summary(created: &Created, catalog: &Catalog) {
    let total: usize = created.per_procedure.values().sum();
    say!(
        "\n11. Dữ liệu mẫu: {total} hồ sơ, trong đó {} quá hạn",
        created.overdue
    );
    let mut t = table(&["thủ tục", "số hồ sơ"]);
    for (key, n) in &created.per_procedure {
        let name = catalog
            .procedure(key)
            .map_or(key.as_str(), |p| p.name.as_str());
        t.add_row(vec![name.to_owned(), n.to_string()]);
    }
    say!("{t}");
    let mut t = table(&["trạng thái", "số hồ sơ"]);
    for s in motcua_engine::dossier::lifecycle::ALL {
        let n = created.per_state.get(s.as_str()).copied().unwrap_or(0);
        t.add_row(vec![s.label().to_owned(), n.to_string()]);
    }
    say!("{t}");
    let mut t = table(&["ý kiến chỉ đạo (nhiệm vụ)", "số nhiệm vụ"]);
    for (label, n) in &created.directives {
        t.add_row(vec![(*label).to_owned(), n.to_string()]);
    }
    say!("{t}");
    say!(
        "✔ {} quy trình (hồ sơ và nhiệm vụ chỉ đạo): trạng thái lưu trữ trùng với phát lại nhật ký",
        created.verified
    );
}

/// Opens the engine for the data on the demo's database, with a clock it can move.
pub fn engine_with_clock(
    store: SqliteStore,
    now: DateTime<Utc>,
) -> (Engine<SqliteStore>, ManualClock) {
    let clock = ManualClock::new(now);
    (Engine::new(store, Arc::new(clock.clone())), clock)
}
