//! The named validators of `validate.validationType`: Vietnamese citizen ID (CCCD), phone
//! number, tax code and `dd/mm/yyyy` date, plus e-mail. Pure functions over text; each returns
//! `Err(Invalid)` naming why the value is rejected.

use std::fmt;

/// Why a value was rejected by a named validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Wrong number of digits or characters.
    Length,
    /// A character that is not allowed (a letter where digits are expected).
    Characters,
    /// The CCCD's first three digits are not a province code.
    Province,
    /// The phone number's prefix is not a Vietnamese mobile or landline prefix.
    Prefix,
    /// The tax code's check digit is wrong.
    CheckDigit,
    /// The tax code's branch number is `000`.
    Branch,
    /// Not a real calendar date (31/04, 29/02 of a common year).
    Date,
    /// Not in the expected shape.
    Format,
}

impl Invalid {
    /// A short Vietnamese explanation, to follow "không hợp lệ: ".
    pub fn reason(self) -> &'static str {
        match self {
            Invalid::Length => "sai số chữ số",
            Invalid::Characters => "chỉ được gồm chữ số",
            Invalid::Province => "mã tỉnh/thành phố (3 chữ số đầu) không tồn tại",
            Invalid::Prefix => "đầu số không phải đầu số Việt Nam",
            Invalid::CheckDigit => "chữ số kiểm tra không đúng",
            Invalid::Branch => "số thứ tự đơn vị phụ thuộc phải từ 001",
            Invalid::Date => "ngày không có trên lịch",
            Invalid::Format => "sai định dạng",
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// The 63 province codes that open a citizen ID number (the first three digits), from the
/// annex of Circular 07/2016/TT-BCA as amended by Circular 59/2021/TT-BCA (Ministry of Public
/// Security): 001 Hà Nội … 046 Thừa Thiên Huế … 079 TP Hồ Chí Minh … 096 Cà Mau. The
/// numbers in between (003, 005, 007, …) are not assigned. Citizen IDs issued before the
/// 2025 merger of provinces keep these codes.
pub const CCCD_PROVINCE_CODES: [(&str, &str); 63] = [
    ("001", "Hà Nội"),
    ("002", "Hà Giang"),
    ("004", "Cao Bằng"),
    ("006", "Bắc Kạn"),
    ("008", "Tuyên Quang"),
    ("010", "Lào Cai"),
    ("011", "Điện Biên"),
    ("012", "Lai Châu"),
    ("014", "Sơn La"),
    ("015", "Yên Bái"),
    ("017", "Hòa Bình"),
    ("019", "Thái Nguyên"),
    ("020", "Lạng Sơn"),
    ("022", "Quảng Ninh"),
    ("024", "Bắc Giang"),
    ("025", "Phú Thọ"),
    ("026", "Vĩnh Phúc"),
    ("027", "Bắc Ninh"),
    ("030", "Hải Dương"),
    ("031", "Hải Phòng"),
    ("033", "Hưng Yên"),
    ("034", "Thái Bình"),
    ("035", "Hà Nam"),
    ("036", "Nam Định"),
    ("037", "Ninh Bình"),
    ("038", "Thanh Hóa"),
    ("040", "Nghệ An"),
    ("042", "Hà Tĩnh"),
    ("044", "Quảng Bình"),
    ("045", "Quảng Trị"),
    ("046", "Thừa Thiên Huế"),
    ("048", "Đà Nẵng"),
    ("049", "Quảng Nam"),
    ("051", "Quảng Ngãi"),
    ("052", "Bình Định"),
    ("054", "Phú Yên"),
    ("056", "Khánh Hòa"),
    ("058", "Ninh Thuận"),
    ("060", "Bình Thuận"),
    ("062", "Kon Tum"),
    ("064", "Gia Lai"),
    ("066", "Đắk Lắk"),
    ("067", "Đắk Nông"),
    ("068", "Lâm Đồng"),
    ("070", "Bình Phước"),
    ("072", "Tây Ninh"),
    ("074", "Bình Dương"),
    ("075", "Đồng Nai"),
    ("077", "Bà Rịa - Vũng Tàu"),
    ("079", "Hồ Chí Minh"),
    ("080", "Long An"),
    ("082", "Tiền Giang"),
    ("083", "Bến Tre"),
    ("084", "Trà Vinh"),
    ("086", "Vĩnh Long"),
    ("087", "Đồng Tháp"),
    ("089", "An Giang"),
    ("091", "Kiên Giang"),
    ("092", "Cần Thơ"),
    ("093", "Hậu Giang"),
    ("094", "Sóc Trăng"),
    ("095", "Bạc Liêu"),
    ("096", "Cà Mau"),
];

/// The province of a CCCD province code (`"001"` → `"Hà Nội"`).
pub fn cccd_province(code: &str) -> Option<&'static str> {
    CCCD_PROVINCE_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// A citizen ID number (số căn cước công dân / số định danh cá nhân), Circular 07/2016/TT-BCA
/// and 59/2021/TT-BCA: exactly 12 digits (surrounding whitespace ignored); digits 1–3 are a
/// province code from [`CCCD_PROVINCE_CODES`]; digit 4 is the century and gender code
/// (0/1 = 20th century male/female, 2/3 = 21st, … up to 9); digits 5–6 are the last two
/// digits of the birth year; digits 7–12 are a random number. There is no check digit.
pub fn cccd(value: &str) -> Result<(), Invalid> {
    let v = value.trim();
    if !v.chars().all(|c| c.is_ascii_digit()) {
        return Err(Invalid::Characters);
    }
    if v.len() != 12 {
        return Err(Invalid::Length);
    }
    // Digits 4 (century/gender, 0–9) and 5–6 (year) are any digits: checked above.
    if cccd_province(&v[..3]).is_none() {
        return Err(Invalid::Province);
    }
    Ok(())
}

/// Strips the separators people type in phone numbers: spaces, dots, hyphens and brackets.
fn phone_digits(value: &str) -> String {
    value
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}'))
        .collect()
}

/// A Vietnamese phone number, with spaces, dots, hyphens and brackets allowed and ignored, and
/// `+84` or `84` accepted in place of the leading `0`:
/// - mobile: `0` + 9 digits with prefix 03, 05, 07, 08 or 09 (the ten-digit mobile plan of the
///   Ministry of Information and Communications, in force since 2018, e.g. `0912 345 678`);
/// - landline: `02` + 9 digits (the area codes of 2017, e.g. `024 3825 1234` for Hà Nội).
pub fn phone(value: &str) -> Result<(), Invalid> {
    let raw = phone_digits(value);
    let national = if let Some(rest) = raw.strip_prefix("+84") {
        format!("0{rest}")
    } else if raw.len() >= 11 && raw.starts_with("84") && !raw.starts_with("840") {
        format!("0{}", &raw[2..])
    } else {
        raw
    };
    if national.is_empty() || !national.chars().all(|c| c.is_ascii_digit()) {
        return Err(Invalid::Characters);
    }
    let b = national.as_bytes();
    if b[0] != b'0' || b.len() < 2 {
        return Err(Invalid::Prefix);
    }
    match b[1] {
        b'3' | b'5' | b'7' | b'8' | b'9' => {
            if b.len() == 10 {
                Ok(())
            } else {
                Err(Invalid::Length)
            }
        }
        b'2' => {
            if b.len() == 11 {
                Ok(())
            } else {
                Err(Invalid::Length)
            }
        }
        _ => Err(Invalid::Prefix),
    }
}

/// The weights of the tax code's check digit, over its first nine digits.
const TAX_WEIGHTS: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];

/// A Vietnamese tax code (mã số thuế):
/// - 10 digits (an enterprise or an individual registered before 1/7/2025), or 10 digits, `-`
///   and 3 digits (a dependent unit or branch; its number is 001–999, `000` is rejected);
///   the 10th digit is a check digit over the first nine: with the weights
///   31, 29, 23, 19, 17, 13, 7, 5, 3, `N10 = 10 − (Σ Ni·Wi mod 11)`. When the remainder is 0,
///   `N10` would be 10, which is not a digit: no code is issued with those nine digits, so
///   such a code is rejected (a remainder of 10 gives `N10 = 0`). This is the rule of the
///   General Department of Taxation's tax code structure (Decision 75/1998/QĐ-TCT); we checked
///   it against published implementations and real codes (Viettel's `0100109106`).
/// - 12 digits: from 1/7/2025 an individual's personal identification number (the CCCD
///   number) is their tax code (Circular 86/2024/TT-BTC), checked by the [`cccd`] rule.
pub fn tax_code(value: &str) -> Result<(), Invalid> {
    let v = value.trim();
    let (main, branch) = match v.split_once('-') {
        Some((m, b)) => (m.trim(), Some(b.trim())),
        None => (v, None),
    };
    if !main.chars().all(|c| c.is_ascii_digit())
        || !branch.is_none_or(|b| b.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(Invalid::Characters);
    }
    if main.len() == 12 && branch.is_none() {
        return cccd(main);
    }
    if main.len() != 10 {
        return Err(Invalid::Length);
    }
    if let Some(b) = branch {
        if b.len() != 3 {
            return Err(Invalid::Length);
        }
        if b == "000" {
            return Err(Invalid::Branch);
        }
    }
    let digits: Vec<u32> = main.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = digits.iter().zip(TAX_WEIGHTS).map(|(d, w)| d * w).sum();
    let check = 10 - sum % 11;
    if check == 10 || digits.get(9) != Some(&check) {
        return Err(Invalid::CheckDigit);
    }
    Ok(())
}

/// Parses a Vietnamese date `dd/mm/yyyy` (also `d/m/yyyy`; a four-digit year) into a real
/// calendar date: leap years by the Gregorian rule (29/02/2024 and 29/02/2000 exist,
/// 29/02/2025 and 29/02/1900 do not).
pub fn parse_vn_date(value: &str) -> Result<chrono::NaiveDate, Invalid> {
    let v = value.trim();
    let parts: Vec<&str> = v.split('/').collect();
    let [d, m, y] = parts.as_slice() else {
        return Err(Invalid::Format);
    };
    let ok = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit())
    };
    if !ok(d, 1, 2) || !ok(m, 1, 2) || !ok(y, 4, 4) {
        return Err(Invalid::Format);
    }
    let (Ok(d), Ok(m), Ok(y)) = (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>()) else {
        return Err(Invalid::Format);
    };
    chrono::NaiveDate::from_ymd_opt(y, m, d).ok_or(Invalid::Date)
}

/// A Vietnamese date `dd/mm/yyyy` (see [`parse_vn_date`]).
pub fn vn_date(value: &str) -> Result<(), Invalid> {
    parse_vn_date(value).map(|_| ())
}

/// An e-mail address, loosely as form-js checks it: one `@`, a non-empty local part, a domain
/// with a dot whose labels are non-empty, no whitespace.
pub fn email(value: &str) -> Result<(), Invalid> {
    let v = value.trim();
    let Some((local, domain)) = v.split_once('@') else {
        return Err(Invalid::Format);
    };
    if local.is_empty()
        || domain.contains('@')
        || v.chars().any(char::is_whitespace)
        || !domain.contains('.')
        || domain.split('.').any(str::is_empty)
    {
        return Err(Invalid::Format);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn province_codes_are_63_distinct_and_sorted() {
        assert_eq!(CCCD_PROVINCE_CODES.len(), 63);
        assert!(CCCD_PROVINCE_CODES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(cccd_province("046"), Some("Thừa Thiên Huế"));
        assert_eq!(cccd_province("003"), None);
    }

    #[test]
    fn cccd_rules() {
        assert_eq!(cccd("001203012345"), Ok(()));
        assert_eq!(cccd(" 096099000001 "), Ok(()));
        assert_eq!(cccd("000203012345"), Err(Invalid::Province));
        assert_eq!(cccd("097203012345"), Err(Invalid::Province));
        assert_eq!(cccd("003203012345"), Err(Invalid::Province));
        assert_eq!(cccd("00120301234"), Err(Invalid::Length));
        assert_eq!(cccd("0012030123456"), Err(Invalid::Length));
        assert_eq!(cccd("00120301234a"), Err(Invalid::Characters));
        assert_eq!(cccd(""), Err(Invalid::Length));
    }

    #[test]
    fn phone_rules() {
        for ok in [
            "0912345678",
            "0912 345 678",
            "091.234.5678",
            "+84 912 345 678",
            "84912345678",
            "0321234567",
            "0587654321",
            "0701234567",
            "0812345678",
            "02438251234",
            "024 3825 1234",
            "+84 24 3825 1234",
        ] {
            assert_eq!(phone(ok), Ok(()), "{ok}");
        }
        assert_eq!(phone("0112345678"), Err(Invalid::Prefix));
        assert_eq!(phone("0412345678"), Err(Invalid::Prefix));
        assert_eq!(phone("091234567"), Err(Invalid::Length));
        assert_eq!(phone("09123456789"), Err(Invalid::Length));
        assert_eq!(phone("0243825123"), Err(Invalid::Length));
        assert_eq!(phone("09123x5678"), Err(Invalid::Characters));
        assert_eq!(phone("912345678"), Err(Invalid::Prefix));
    }

    #[test]
    fn tax_code_rules() {
        assert_eq!(tax_code("0100109106"), Ok(()));
        assert_eq!(tax_code("0100109106-001"), Ok(()));
        assert_eq!(tax_code("0100109107"), Err(Invalid::CheckDigit));
        assert_eq!(tax_code("0100109106-000"), Err(Invalid::Branch));
        assert_eq!(tax_code("0100109106-01"), Err(Invalid::Length));
        assert_eq!(tax_code("010010910"), Err(Invalid::Length));
        assert_eq!(tax_code("01001091a6"), Err(Invalid::Characters));
        // 000000008: 8·3 = 24, 24 mod 11 = 2, check digit 10 − 2 = 8.
        assert_eq!(tax_code("0000000089"), Err(Invalid::CheckDigit));
        assert_eq!(tax_code("0000000088"), Ok(()));
        // 000000000 → remainder 0 → no valid check digit.
        assert_eq!(tax_code("0000000000"), Err(Invalid::CheckDigit));
        // 12 digits: the personal identification number.
        assert_eq!(tax_code("001203012345"), Ok(()));
        assert_eq!(tax_code("000203012345"), Err(Invalid::Province));
    }

    #[test]
    fn remainder_ten_gives_zero() {
        // Find nine digits whose weighted sum is 10 mod 11 and check that 0 is accepted.
        let body = (0..1_000_000u32)
            .map(|n| format!("{n:09}"))
            .find(|b| {
                let s: u32 = b
                    .bytes()
                    .zip(TAX_WEIGHTS)
                    .map(|(d, w)| u32::from(d - b'0') * w)
                    .sum();
                s % 11 == 10
            })
            .unwrap();
        assert_eq!(tax_code(&format!("{body}0")), Ok(()));
        assert_eq!(tax_code(&format!("{body}1")), Err(Invalid::CheckDigit));
    }

    #[test]
    fn vn_date_rules() {
        assert_eq!(vn_date("29/02/2024"), Ok(()));
        assert_eq!(vn_date("29/02/2000"), Ok(()));
        assert_eq!(vn_date("29/02/2025"), Err(Invalid::Date));
        assert_eq!(vn_date("29/02/1900"), Err(Invalid::Date));
        assert_eq!(vn_date("1/2/2025"), Ok(()));
        assert_eq!(vn_date("31/04/2025"), Err(Invalid::Date));
        assert_eq!(vn_date("00/01/2025"), Err(Invalid::Date));
        assert_eq!(vn_date("01/13/2025"), Err(Invalid::Date));
        assert_eq!(vn_date("2025-01-01"), Err(Invalid::Format));
        assert_eq!(vn_date("01/01/25"), Err(Invalid::Format));
        assert_eq!(vn_date("001/01/2025"), Err(Invalid::Format));
        assert_eq!(
            parse_vn_date("5/9/2025"),
            Ok(chrono::NaiveDate::from_ymd_opt(2025, 9, 5).unwrap())
        );
    }

    #[test]
    fn email_rules() {
        assert_eq!(email("a.b@hanoi.gov.vn"), Ok(()));
        assert_eq!(email("a@b"), Err(Invalid::Format));
        assert_eq!(email("@b.vn"), Err(Invalid::Format));
        assert_eq!(email("a b@c.vn"), Err(Invalid::Format));
        assert_eq!(email("a@@c.vn"), Err(Invalid::Format));
    }
}
