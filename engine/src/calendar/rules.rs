//! The public holidays of the Labour Code 2019 (Bộ luật Lao động 2019, art. 112, and art. 111(3)
//! for compensation), computed for any year from the Gregorian and the Vietnamese lunar
//! calendar. These are the *built-in* rules; each year's Government announcement (exact Tết
//! span, swapped days, make-up Saturdays) comes from the override files (see `overrides`).
//!
//! - Tết Dương lịch: 1/1.
//! - Tết Nguyên đán: 5 days. The Code leaves the choice to the Government; the built-in rule is
//!   the usual one: the last day of the lunar year plus lunar 1/1–4/1.
//! - Giỗ Tổ Hùng Vương: lunar 10/3.
//! - Ngày Chiến thắng: 30/4. Ngày Quốc tế lao động: 1/5.
//! - Quốc khánh: 2/9 plus one adjacent day chosen by the Government. The built-in choice is the
//!   weekday that joins the holiday to a weekend: 3/9 when 2/9 is a Monday, Thursday or Sunday;
//!   otherwise 1/9. This is what the Government chose in 2024 (Monday: 31/8–3/9), 2025
//!   (Tuesday: 30/8–2/9) and 2026 (Wednesday: 1/9 and 2/9), checked against press reports of
//!   the announcements; 2021 (Thursday: 3/9), 2022 (Friday: 1/9) and 2023 (Saturday: 1/9) are
//!   recalled, not re-checked.
//! - A holiday that falls on Saturday or Sunday (the weekly rest of civil servants) gives the
//!   next working day off; when that day is itself a holiday or already taken by another
//!   compensation, the next one after it.
//!
//! Pure: no I/O, no clock.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::lunar;

/// A holiday of the Labour Code, by the name override files use to replace it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holiday {
    NewYear,
    Tet,
    HungKings,
    Victory,
    Labour,
    NationalDay,
}

impl Holiday {
    pub const ALL: [Holiday; 6] = [
        Holiday::NewYear,
        Holiday::Tet,
        Holiday::HungKings,
        Holiday::Victory,
        Holiday::Labour,
        Holiday::NationalDay,
    ];

    /// The key used in override files (`replace = ["tet"]`).
    pub fn key(self) -> &'static str {
        match self {
            Holiday::NewYear => "new_year",
            Holiday::Tet => "tet",
            Holiday::HungKings => "hung_kings",
            Holiday::Victory => "victory",
            Holiday::Labour => "labour",
            Holiday::NationalDay => "national_day",
        }
    }

    pub fn from_key(key: &str) -> Option<Holiday> {
        Holiday::ALL.into_iter().find(|h| h.key() == key)
    }

    /// The Vietnamese name, as shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Holiday::NewYear => "Tết Dương lịch",
            Holiday::Tet => "Tết Nguyên đán",
            Holiday::HungKings => "Giỗ Tổ Hùng Vương",
            Holiday::Victory => "Ngày Chiến thắng",
            Holiday::Labour => "Ngày Quốc tế lao động",
            Holiday::NationalDay => "Quốc khánh",
        }
    }
}

/// One day off given by the built-in rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleDay {
    pub date: NaiveDate,
    pub holiday: Holiday,
    /// `true` for a compensation day (nghỉ bù) rather than the holiday itself.
    pub compensation: bool,
}

impl RuleDay {
    pub fn reason(&self) -> String {
        if self.compensation {
            format!("Nghỉ bù {}", self.holiday.name())
        } else {
            self.holiday.name().to_owned()
        }
    }
}

pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The holidays of `year` by the built-in rules, without those in `replaced`, with their
/// compensation days, sorted by date.
pub fn holidays(year: i32, replaced: &[Holiday]) -> Vec<RuleDay> {
    let mut days: Vec<RuleDay> = Vec::new();
    let mut add = |date: Option<NaiveDate>, holiday: Holiday| {
        if let Some(date) = date {
            if !replaced.contains(&holiday) {
                days.push(RuleDay {
                    date,
                    holiday,
                    compensation: false,
                });
            }
        }
    };
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    add(ymd(1, 1), Holiday::NewYear);
    if let Some(tet) = lunar::tet(year) {
        for offset in -1..=3i64 {
            add(shift(tet, offset), Holiday::Tet);
        }
    }
    add(
        lunar::lunar_to_solar(10, 3, year, false),
        Holiday::HungKings,
    );
    add(ymd(4, 30), Holiday::Victory);
    add(ymd(5, 1), Holiday::Labour);
    if let Some(sep2) = ymd(9, 2) {
        add(Some(sep2), Holiday::NationalDay);
        let adjacent = match sep2.weekday() {
            Weekday::Mon | Weekday::Thu | Weekday::Sun => 1,
            _ => -1,
        };
        add(shift(sep2, adjacent), Holiday::NationalDay);
    }
    days.sort_by_key(|d| d.date);
    days.dedup_by_key(|d| d.date);

    let mut compensations: Vec<RuleDay> = Vec::new();
    for day in days.iter().filter(|d| is_weekend(d.date)) {
        let mut candidate = day.date;
        loop {
            candidate = match candidate.succ_opt() {
                Some(next) => next,
                None => break,
            };
            let taken = days.iter().any(|d| d.date == candidate)
                || compensations.iter().any(|d| d.date == candidate);
            if !is_weekend(candidate) && !taken {
                compensations.push(RuleDay {
                    date: candidate,
                    holiday: day.holiday,
                    compensation: true,
                });
                break;
            }
        }
    }
    days.extend(compensations);
    days.sort_by_key(|d| d.date);
    days
}

fn shift(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn dates(year: i32) -> Vec<(NaiveDate, String)> {
        holidays(year, &[])
            .into_iter()
            .map(|r| (r.date, r.reason()))
            .collect()
    }

    #[test]
    fn consecutive_weekend_holidays_push_compensation_past_each_other() {
        // 2023: Hùng Kings' day (lunar 10/3, after a leap 2nd month) is Saturday 29/4, 30/4 a
        // Sunday and 1/5 a Monday: they are compensated on Tuesday 2/5 and Wednesday 3/5.
        let y = dates(2023);
        assert!(y.contains(&(d(2023, 4, 29), "Giỗ Tổ Hùng Vương".into())));
        assert!(y.contains(&(d(2023, 5, 1), "Ngày Quốc tế lao động".into())));
        assert!(y.contains(&(d(2023, 5, 2), "Nghỉ bù Giỗ Tổ Hùng Vương".into())));
        assert!(y.contains(&(d(2023, 5, 3), "Nghỉ bù Ngày Chiến thắng".into())));
        // 2/9/2023 is a Saturday: 1/9 (Friday) is the adjacent day, 2/9 compensated Monday 4/9.
        assert!(y.contains(&(d(2023, 9, 1), "Quốc khánh".into())));
        assert!(y.contains(&(d(2023, 9, 4), "Nghỉ bù Quốc khánh".into())));
    }

    #[test]
    fn national_day_adjacent_day_follows_recent_practice() {
        let adjacent = |year| {
            holidays(year, &[])
                .into_iter()
                .filter(|r| r.holiday == Holiday::NationalDay && !r.compensation)
                .map(|r| r.date)
                .find(|date| date.day() != 2)
        };
        assert_eq!(adjacent(2021), Some(d(2021, 9, 3))); // Thursday 2/9.
        assert_eq!(adjacent(2022), Some(d(2022, 9, 1))); // Friday.
        assert_eq!(adjacent(2024), Some(d(2024, 9, 3))); // Monday.
        assert_eq!(adjacent(2025), Some(d(2025, 9, 1))); // Tuesday.
        assert_eq!(adjacent(2026), Some(d(2026, 9, 1))); // Wednesday.
    }

    #[test]
    fn replaced_holidays_and_their_compensation_are_dropped() {
        let y = holidays(2027, &[Holiday::Tet]);
        assert!(y.iter().all(|r| r.holiday != Holiday::Tet));
        let y = holidays(2027, &[]);
        let tet: Vec<_> = y.iter().filter(|r| r.holiday == Holiday::Tet).collect();
        assert_eq!(tet.len(), 7, "{tet:?}"); // 5 days, 2 on the weekend, compensated.
    }
}
