//! Dossier codes per Circular 01/2018/TT-VPCP, article 19: `<agency code>-YYMMDD-NNNN`, e.g.
//! `000.00.01.H22-261125-0001`.
//!
//! - `YYMMDD` is the day of receipt in Vietnam time (UTC+7, no daylight saving).
//! - `NNNN` is a daily sequence per agency starting at 0001. It is allocated by the store in the
//!   transaction that creates the dossier (a `dossier_counters (agency, day)` row upserted and
//!   read there), so numbers are gap-free (a rolled-back submission rolls its number back) and
//!   never given twice (on PostgreSQL the upsert's row lock serialises concurrent submissions of
//!   one agency and day until commit).
//! - Past 9999 in one day the number simply widens (`…-10000`): the circular fixes four digits,
//!   no agency receives that many; the code stays unique and ordered within its width.

use chrono::{DateTime, Duration, Utc};

/// The `YYMMDD` of an instant, in Vietnam time (UTC+7, no daylight saving).
pub fn day_of(at: DateTime<Utc>) -> String {
    (at.naive_utc() + Duration::hours(7))
        .format("%y%m%d")
        .to_string()
}

/// The code for a sequence number (four digits, wider past 9999).
pub fn format_code(agency: &str, day: &str, number: i64) -> String {
    format!("{agency}-{day}-{number:04}")
}

/// Checks an agency code: 1 to 40 ASCII letters, digits, `.` or `_` (the `-` separates the
/// parts of a dossier code).
pub fn valid_agency(agency: &str) -> bool {
    !agency.is_empty()
        && agency.len() <= 40
        && agency
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn day_is_vietnam_time() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 18, 30, 0).unwrap();
        assert_eq!(day_of(at), "261125");
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 16, 59, 59).unwrap();
        assert_eq!(day_of(at), "261124");
    }

    #[test]
    fn numbers_widen() {
        assert_eq!(format_code("A.1", "261125", 1), "A.1-261125-0001");
        assert_eq!(format_code("A.1", "261125", 10000), "A.1-261125-10000");
        assert!(valid_agency("000.00.01.H22"));
        assert!(!valid_agency("a-b"));
        assert!(!valid_agency("../x"));
    }
}
