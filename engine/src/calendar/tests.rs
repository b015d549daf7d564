//! Tests of [`WorkCalendar`] against the dates the Government announced (sources cited in each
//! test and in `engine/calendar/*.toml`) and against the built-in rules where nothing was
//! announced.

use chrono::{NaiveDate, NaiveTime};

use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A local (UTC+7) time as an instant.
fn at(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
    from_local(d(y, m, day).and_hms_opt(h, min, 0).unwrap())
}

fn cal() -> WorkCalendar {
    WorkCalendar::vietnam()
}

/// `check(from, days, expected)`: the one table-driven helper of these tests.
fn check(calendar: &WorkCalendar, cases: &[(DateTime<Utc>, f64, DateTime<Utc>)]) {
    for &(from, days, expected) in cases {
        let got = calendar.add_working_days(from, days).unwrap();
        assert_eq!(
            to_local(got),
            to_local(expected),
            "{} + {days} working days",
            to_local(from)
        );
    }
}

#[test]
fn shipped_override_files_parse() {
    let calendar = WorkCalendar::from_override_texts(SHIPPED).unwrap();
    assert_eq!(calendar.sources().count(), 2);
    assert!(calendar
        .sources()
        .all(|(_, source)| source.contains("VPCP")));
    assert_eq!(calendar.hours(), &WorkingHours::default());
}

/// Tết Bính Ngọ 2026: off Saturday 14/2 to Sunday 22/2/2026 (Thủ tướng's decision on the Bộ
/// Nội vụ proposal, October 2025, reported by kienthuc.net.vn 13/10/2025 and congan.com.vn).
#[test]
fn tet_2026_as_announced() {
    let c = cal();
    check(
        &c,
        &[
            (at(2026, 2, 13, 9, 0), 1.0, at(2026, 2, 23, 9, 0)),
            (at(2026, 2, 9, 8, 0), 5.0, at(2026, 2, 23, 8, 0)),
            (at(2026, 2, 13, 14, 0), 0.5, at(2026, 2, 23, 8, 0)),
            (at(2026, 2, 23, 9, 0), -1.0, at(2026, 2, 13, 9, 0)),
            // Starting inside Tết: the next working day's morning.
            (at(2026, 2, 17, 10, 0), 0.0, at(2026, 2, 23, 7, 30)),
        ],
    );
    for day in d(2026, 2, 14).iter_days().take(9) {
        let info = c.day(day);
        assert!(!info.working, "{day}");
        assert_eq!(info.reason.as_deref(), Some("Tết Nguyên đán"), "{day}");
    }
    assert!(c.is_working_day(d(2026, 2, 13)) && c.is_working_day(d(2026, 2, 23)));
}

/// Tết Đinh Mùi 2027: lunar 1/1 is Saturday 6/2/2027. No announcement yet, so the built-in rule
/// applies: the last day of the lunar year (Friday 5/2) and mùng 1–4 (6/2–9/2), with Saturday
/// 6/2 and Sunday 7/2 compensated on Wednesday 10/2 and Thursday 11/2.
#[test]
fn tet_2027_by_the_built_in_rule() {
    let c = cal();
    assert_eq!(lunar::tet(2027), Some(d(2027, 2, 6)));
    check(
        &c,
        &[
            (at(2027, 2, 4, 10, 0), 1.0, at(2027, 2, 12, 10, 0)),
            (at(2027, 2, 4, 10, 0), 2.0, at(2027, 2, 15, 10, 0)),
            (at(2027, 2, 12, 10, 0), -1.0, at(2027, 2, 4, 10, 0)),
        ],
    );
    assert_eq!(
        c.day(d(2027, 2, 5)).reason.as_deref(),
        Some("Tết Nguyên đán")
    );
    assert_eq!(
        c.day(d(2027, 2, 10)).reason.as_deref(),
        Some("Nghỉ bù Tết Nguyên đán")
    );
    assert_eq!(
        c.day(d(2027, 2, 11)).reason.as_deref(),
        Some("Nghỉ bù Tết Nguyên đán")
    );
    assert!(c.is_working_day(d(2027, 2, 12)));
}

/// Giỗ Tổ Hùng Vương 2026: lunar 10/3 = Sunday 26/4/2026, compensated Monday 27/4; then 30/4
/// (Thursday) and 1/5 (Friday). Sources: thanhnien.vn 23/02/2026 and kenh14.vn 11/03/2026 (no
/// swap announced). This is `motcua calendar add 2026-04-24 5`.
#[test]
fn hung_kings_and_30_4_2026() {
    let c = cal();
    assert_eq!(
        c.day(d(2026, 4, 26)).reason.as_deref(),
        Some("Giỗ Tổ Hùng Vương")
    );
    assert_eq!(
        c.day(d(2026, 4, 27)).reason.as_deref(),
        Some("Nghỉ bù Giỗ Tổ Hùng Vương")
    );
    check(
        &c,
        &[
            (at(2026, 4, 24, 9, 0), 1.0, at(2026, 4, 28, 9, 0)),
            (at(2026, 4, 24, 0, 0), 5.0, at(2026, 5, 6, 7, 30)),
            (at(2026, 4, 29, 9, 0), 1.0, at(2026, 5, 4, 9, 0)),
        ],
    );
}

/// 30/4–1/5/2025: Friday 2/5 swapped with Saturday 26/4, so 26/4 is worked and 30/4–4/5 is off
/// (Văn bản 8726/VPCP-KGVX ngày 26/11/2024; thoidai.com.vn).
#[test]
fn victory_and_labour_day_2025_with_the_swap() {
    let c = cal();
    let saturday = c.day(d(2025, 4, 26));
    assert!(saturday.working);
    assert_eq!(
        saturday.reason.as_deref(),
        Some("Làm bù cho ngày 02/05/2025")
    );
    assert!(!c.is_working_day(d(2025, 5, 2)));
    check(
        &c,
        &[
            (at(2025, 4, 25, 9, 0), 1.0, at(2025, 4, 26, 9, 0)),
            (at(2025, 4, 25, 9, 0), 4.0, at(2025, 5, 5, 9, 0)),
            (at(2025, 5, 5, 9, 0), -2.0, at(2025, 4, 28, 9, 0)),
        ],
    );
    // Without the announcement, 2/5/2025 is an ordinary Friday and 26/4 a Saturday.
    let rules = WorkCalendar::rules_only();
    assert!(rules.is_working_day(d(2025, 5, 2)));
    assert!(!rules.is_working_day(d(2025, 4, 26)));
}

/// Quốc khánh 2025: off Saturday 30/8 to Tuesday 2/9 (1/9 the adjacent day). Quốc khánh 2026:
/// off Saturday 29/8 to Wednesday 2/9, Monday 31/8 swapped with Saturday 22/8 (kienthuc.net.vn
/// 13/10/2025).
#[test]
fn national_day_2025_and_2026() {
    let c = cal();
    check(
        &c,
        &[
            (at(2025, 8, 29, 9, 0), 1.0, at(2025, 9, 3, 9, 0)),
            (at(2026, 8, 21, 9, 0), 1.0, at(2026, 8, 22, 9, 0)),
            (at(2026, 8, 28, 9, 0), 1.0, at(2026, 9, 3, 9, 0)),
        ],
    );
    assert_eq!(c.day(d(2025, 9, 1)).reason.as_deref(), Some("Quốc khánh"));
    assert!(!c.is_working_day(d(2026, 8, 31)));
}

/// Tết Dương lịch 2026: Friday 2/1 swapped with Saturday 10/1 (12729/VPCP-KGVX, 25/12/2025).
#[test]
fn new_year_2026_swap() {
    let c = cal();
    check(&c, &[(at(2025, 12, 31, 9, 0), 1.0, at(2026, 1, 5, 9, 0))]);
    assert!(c.is_working_day(d(2026, 1, 10)));
}

/// A holiday on a weekend is compensated on the next working day that is not itself a holiday.
#[test]
fn weekend_holidays_are_compensated() {
    let c = cal();
    // 2027: 30/4 Friday, 1/5 Saturday -> Monday 3/5 off.
    assert_eq!(
        c.day(d(2027, 5, 3)).reason.as_deref(),
        Some("Nghỉ bù Ngày Quốc tế lao động")
    );
    // 2028: 30/4 Sunday and 1/5 Monday -> 30/4 compensated on Tuesday 2/5.
    assert_eq!(
        c.day(d(2028, 5, 2)).reason.as_deref(),
        Some("Nghỉ bù Ngày Chiến thắng")
    );
    check(&c, &[(at(2028, 4, 28, 9, 0), 1.0, at(2028, 5, 3, 9, 0))]);
    // 2029: 2/9 Sunday; 3/9 Monday is the adjacent day; 2/9 compensated Tuesday 4/9.
    assert_eq!(c.day(d(2029, 9, 3)).reason.as_deref(), Some("Quốc khánh"));
    assert_eq!(
        c.day(d(2029, 9, 4)).reason.as_deref(),
        Some("Nghỉ bù Quốc khánh")
    );
    // 2033: 1/1 Saturday -> Monday 3/1 off.
    assert!(!c.is_working_day(d(2033, 1, 3)));
}

#[test]
fn half_days_keep_the_offset_in_the_session() {
    let c = cal();
    // Monday 9/3/2026 is an ordinary working day.
    check(
        &c,
        &[
            (at(2026, 3, 9, 9, 0), 0.5, at(2026, 3, 9, 15, 0)),
            (at(2026, 3, 9, 10, 0), 0.5, at(2026, 3, 9, 16, 0)),
            (at(2026, 3, 9, 11, 0), 0.5, at(2026, 3, 9, 17, 0)),
            // 3h45 into the morning clamps to the afternoon's end, but +1 day keeps 11:15.
            (at(2026, 3, 9, 11, 15), 0.5, at(2026, 3, 9, 17, 0)),
            (at(2026, 3, 9, 11, 15), 1.0, at(2026, 3, 10, 11, 15)),
            (at(2026, 3, 9, 14, 0), 0.5, at(2026, 3, 10, 8, 0)),
            (at(2026, 3, 9, 14, 0), 1.5, at(2026, 3, 11, 8, 0)),
            // Friday afternoon + 0.5 -> Monday morning.
            (at(2026, 3, 13, 14, 0), 0.5, at(2026, 3, 16, 8, 0)),
        ],
    );
}

#[test]
fn starts_outside_working_time_move_to_the_next_session() {
    let c = cal();
    check(
        &c,
        &[
            (at(2026, 3, 9, 6, 0), 0.0, at(2026, 3, 9, 7, 30)),
            (at(2026, 3, 9, 6, 0), 1.0, at(2026, 3, 10, 7, 30)),
            (at(2026, 3, 9, 12, 0), 0.0, at(2026, 3, 9, 13, 30)),
            (at(2026, 3, 9, 12, 0), 0.5, at(2026, 3, 10, 7, 30)),
            (at(2026, 3, 9, 18, 0), 0.0, at(2026, 3, 10, 7, 30)),
            (at(2026, 3, 9, 18, 0), 1.0, at(2026, 3, 11, 7, 30)),
            // A session's end belongs to it: 17:00 + 1 day is 17:00 the next working day.
            (at(2026, 3, 9, 17, 0), 1.0, at(2026, 3, 10, 17, 0)),
            // Saturday and Sunday -> Monday 07:30.
            (at(2026, 3, 14, 10, 0), 0.0, at(2026, 3, 16, 7, 30)),
            (at(2026, 3, 15, 23, 59), 1.0, at(2026, 3, 17, 7, 30)),
        ],
    );
}

#[test]
fn negative_days_move_back() {
    let c = cal();
    check(
        &c,
        &[
            (at(2026, 3, 11, 9, 0), -1.0, at(2026, 3, 10, 9, 0)),
            (at(2026, 3, 9, 9, 0), -1.0, at(2026, 3, 6, 9, 0)),
            (at(2026, 3, 9, 9, 0), -0.5, at(2026, 3, 6, 15, 0)),
            (at(2026, 3, 9, 15, 0), -0.5, at(2026, 3, 9, 9, 0)),
            (at(2026, 3, 9, 9, 0), -5.0, at(2026, 3, 2, 9, 0)),
        ],
    );
}

#[test]
fn adding_then_subtracting_returns_to_the_start() {
    let c = cal();
    // Every 50 minutes of working time over 2025–2026, with various day counts.
    let mut t = at(2025, 1, 2, 7, 30);
    let end = at(2026, 12, 31, 17, 0);
    let mut checked = 0;
    while t < end {
        if c.is_working_time(t) {
            for n in [0.5, 1.0, 2.5, 7.0, 15.0] {
                let later = c.add_working_days(t, n).unwrap();
                let local = to_local(t).time();
                // Morning offsets beyond the afternoon's length are clamped, not reversible.
                if local <= NaiveTime::from_hms_opt(11, 0, 0).unwrap()
                    || local >= c.hours().afternoon().0
                    || n.fract() == 0.0
                {
                    assert_eq!(
                        c.add_working_days(later, -n).unwrap(),
                        t,
                        "{} ± {n}",
                        to_local(t)
                    );
                }
                assert_eq!(
                    c.working_days_between(t, later),
                    n,
                    "{} .. {n}",
                    to_local(t)
                );
                assert_eq!(c.working_days_between(later, t), -n);
            }
            checked += 1;
        }
        t += Duration::minutes(50 * 7);
    }
    assert!(checked > 400, "{checked}");
}

#[test]
fn days_must_be_half_days() {
    let c = cal();
    let t = at(2026, 3, 9, 9, 0);
    for bad in [0.3, 1.25, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            c.add_working_days(t, bad),
            Err(CalendarError::NotHalfDays { .. })
        ));
    }
    assert!(matches!(
        c.add_working_days(t, 1e9),
        Err(CalendarError::OutOfRange(_))
    ));
}

#[test]
fn working_days_between_counts_half_days() {
    let c = cal();
    let mon9 = at(2026, 3, 9, 9, 0);
    assert_eq!(c.working_days_between(mon9, at(2026, 3, 10, 9, 0)), 1.0);
    assert_eq!(c.working_days_between(mon9, at(2026, 3, 10, 8, 59)), 0.5);
    assert_eq!(c.working_days_between(mon9, at(2026, 3, 9, 14, 59)), 0.0);
    assert_eq!(c.working_days_between(mon9, at(2026, 3, 9, 15, 0)), 0.5);
    assert_eq!(c.working_days_between(mon9, mon9), 0.0);
    // Across Tết 2026: Friday 13/2 to Monday 23/2 is one working day.
    assert_eq!(
        c.working_days_between(at(2026, 2, 13, 9, 0), at(2026, 2, 23, 9, 0)),
        1.0
    );
    // Days late: done two working days after a deadline, and the other way round.
    let deadline = at(2026, 3, 9, 17, 0);
    let done = at(2026, 3, 11, 17, 0);
    assert_eq!(c.working_days_between(deadline, done), 2.0);
    assert_eq!(c.working_days_between(done, deadline), -2.0);
}

#[test]
fn working_time_is_the_two_sessions() {
    let c = cal();
    let cases = [
        (at(2026, 3, 9, 7, 29), false),
        (at(2026, 3, 9, 7, 30), true),
        (at(2026, 3, 9, 11, 29), true),
        (at(2026, 3, 9, 11, 30), false),
        (at(2026, 3, 9, 13, 30), true),
        (at(2026, 3, 9, 16, 59), true),
        (at(2026, 3, 9, 17, 0), false),
        (at(2026, 3, 14, 9, 0), false),
        (at(2025, 4, 26, 9, 0), true),
        (at(2026, 2, 18, 9, 0), false),
    ];
    for (t, expected) in cases {
        assert_eq!(c.is_working_time(t), expected, "{}", to_local(t));
    }
}

#[test]
fn day_gives_the_reason() {
    let c = cal();
    assert_eq!(
        c.day(d(2026, 3, 9)),
        DayInfo {
            date: d(2026, 3, 9),
            working: true,
            reason: None
        }
    );
    assert_eq!(c.day(d(2026, 3, 14)).reason.as_deref(), Some("Thứ Bảy"));
    assert_eq!(c.day(d(2026, 3, 15)).reason.as_deref(), Some("Chủ nhật"));
    assert_eq!(
        c.day(d(2026, 1, 1)).reason.as_deref(),
        Some("Tết Dương lịch")
    );
    assert_eq!(
        c.day(d(2026, 4, 30)).reason.as_deref(),
        Some("Ngày Chiến thắng")
    );
    // Far outside the cached years, the rules still apply.
    assert_eq!(c.day(d(2250, 9, 2)).reason.as_deref(), Some("Quốc khánh"));
}

const OVERRIDE_2027: &str = r#"
year = 2027
source = "test: a made-up announcement"
replace = ["tet"]

[hours]
morning = "08:00-12:00"
afternoon = "13:00-17:00"

[[off]]
date = "2027-02-03"
to = "2027-02-10"
reason = "Tết Nguyên đán"
"#;

#[test]
fn override_texts_replace_the_shipped_files() {
    let c = WorkCalendar::from_override_texts(&[("vn-2027.toml", OVERRIDE_2027)]).unwrap();
    // The shipped 2026 swap is gone, the rules stay.
    assert!(c.is_working_day(d(2026, 1, 2)));
    assert!(!c.is_working_day(d(2026, 2, 17)));
    // The 2027 file's span replaces the built-in Tết (and its compensation on 11/2).
    assert!(!c.is_working_day(d(2027, 2, 3)));
    assert!(c.is_working_day(d(2027, 2, 11)));
    assert_eq!(
        c.hours().morning().0,
        NaiveTime::from_hms_opt(8, 0, 0).unwrap()
    );
    check(&c, &[(at(2027, 2, 2, 7, 0), 0.5, at(2027, 2, 2, 13, 0))]);
}

#[test]
fn override_dir_reads_toml_files_and_names_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        WorkCalendar::from_override_dir(dir.path()),
        Err(CalendarError::NoOverrides { .. })
    ));
    std::fs::write(dir.path().join("vn-2027.toml"), OVERRIDE_2027).unwrap();
    std::fs::write(dir.path().join("README.md"), "not a calendar").unwrap();
    let c = WorkCalendar::from_override_dir(dir.path()).unwrap();
    assert!(!c.is_working_day(d(2027, 2, 3)));

    let bad = OVERRIDE_2027.replace("2027-02-10", "2027-02-31");
    std::fs::write(dir.path().join("vn-2028.toml"), bad).unwrap();
    let err = WorkCalendar::from_override_dir(dir.path()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("vn-2028.toml:12: off[0].to:"), "{message}");
    assert!(message.contains("2027-02-31"), "{message}");

    assert!(matches!(
        WorkCalendar::from_override_dir(&dir.path().join("missing")),
        Err(CalendarError::Io { .. })
    ));
}

#[test]
fn conflicting_hours_are_refused() {
    let other = OVERRIDE_2027
        .replace("year = 2027", "year = 2028")
        .replace("2027-02", "2028-02")
        .replace("08:00-12:00", "07:00-11:00");
    let err = WorkCalendar::from_override_texts(&[("a.toml", OVERRIDE_2027), ("b.toml", &other)])
        .unwrap_err();
    assert!(
        matches!(err, CalendarError::ConflictingHours { .. }),
        "{err}"
    );
}

#[test]
fn calendar_is_shareable() {
    fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync>() {}
    assert_traits::<WorkCalendar>();
}

#[test]
fn extreme_instants_give_errors_not_panics() {
    let c = cal();
    assert!(c.add_working_days(DateTime::<Utc>::MAX_UTC, 1.0).is_err());
    assert!(c.add_working_days(DateTime::<Utc>::MIN_UTC, -1.0).is_err());
    let far = at(2400, 1, 3, 9, 0);
    assert_eq!(c.working_days_between(at(2026, 3, 9, 9, 0), far), MAX_DAYS);
    assert_eq!(c.working_days_between(far, at(2026, 3, 9, 9, 0)), -MAX_DAYS);
    assert_eq!(
        c.working_days_between(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC),
        0.0
    );
}
