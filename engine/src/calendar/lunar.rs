//! The Vietnamese lunar calendar (âm lịch), computed for Vietnam's time zone, UTC+7.
//!
//! This follows the method published by Hồ Ngọc Đức ("Thuật toán tính âm lịch"): new moons and
//! the sun's longitude come from the truncated series of Jean Meeus' *Astronomical Algorithms*,
//! and the calendar rules are the traditional ones:
//!
//! - a lunar month starts on the local day (UTC+7) of a new moon;
//! - month 11 is the month that contains the winter solstice;
//! - a lunar year with 13 months (between two months 11) has a leap month: the first month
//!   after month 11 in which the sun enters no new major solar term (trung khí), that is, no
//!   new 30° sector of ecliptic longitude. It repeats the number of the month before it.
//!
//! Because the day boundary is taken at UTC+7, the result is *not* the Chinese calendar (UTC+8):
//! a new moon between 16:00 and 17:00 UTC falls on different days in Hanoi and Beijing, so some
//! months, and some years Tết itself, differ (1985, 2007, 2030). Valid for 1800–2199, where the
//! series are accurate enough; outside that range the result is still computed but unverified.
//!
//! Pure: no I/O, no clock.

use std::f64::consts::PI;

use chrono::{Datelike, NaiveDate};

/// Vietnam's offset from UTC, in hours, used to cut astronomical instants into local days.
const TIME_ZONE_HOURS: f64 = 7.0;
/// The mean length of a lunation (synodic month), in days.
const SYNODIC_MONTH: f64 = 29.530_588_853;
/// Julian day of the new moon of 1900-01-01 (the origin of the lunation number `k`).
const NEW_MOON_EPOCH: f64 = 2_415_021.076_998_695;
/// Julian day number of 0001-01-01 (proleptic Gregorian) minus one, to convert from chrono.
const JDN_OFFSET_CE: i64 = 1_721_425;

/// A date of the Vietnamese lunar calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LunarDate {
    /// Day of the month, 1..=30.
    pub day: u32,
    /// Month, 1..=12 (a leap month repeats the number of the month before it).
    pub month: u32,
    /// The lunar year, named after the solar year in which its first day falls.
    pub year: i32,
    /// Whether this is the leap (nhuận) month.
    pub leap: bool,
}

/// Converts a solar (Gregorian) date to the Vietnamese lunar date.
pub fn solar_to_lunar(date: NaiveDate) -> LunarDate {
    let jd = julian_day(date);
    // The mean lunation is only an estimate (true new moons drift by up to ~14 hours from
    // it), so look around it for the month with new_moon_day(k) <= jd < new_moon_day(k + 1).
    let mut k = ((jd as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
    while new_moon_day(k + 1) <= jd {
        k += 1;
    }
    while new_moon_day(k) > jd {
        k -= 1;
    }
    let month_start = new_moon_day(k);
    let solar_year = date.year();
    let (a11, b11, mut year) = {
        let this11 = month_11(solar_year);
        if this11 >= month_start {
            (month_11(solar_year - 1), this11, solar_year)
        } else {
            (this11, month_11(solar_year + 1), solar_year + 1)
        }
    };
    let day = (jd - month_start + 1) as u32;
    // Whole months since month 11; months are 29 or 30 days, so dividing by 29 is exact.
    let diff = (month_start - a11) / 29;
    let mut leap = false;
    let mut month = diff + 11;
    if b11 - a11 > 365 {
        let leap_offset = leap_month_offset(a11);
        if diff >= leap_offset {
            month = diff + 10;
            leap = diff == leap_offset;
        }
    }
    if month > 12 {
        month -= 12;
    }
    if month >= 11 && diff < 4 {
        year -= 1;
    }
    LunarDate {
        day,
        month: month as u32,
        year,
        leap,
    }
}

/// Converts a Vietnamese lunar date to the solar date, or `None` if it does not exist (a leap
/// month in a year that has none or another one, day 30 of a 29-day month, numbers out of range).
pub fn lunar_to_solar(day: u32, month: u32, year: i32, leap: bool) -> Option<NaiveDate> {
    if !(1..=30).contains(&day) || !(1..=12).contains(&month) {
        return None;
    }
    let (a11, b11) = if month < 11 {
        (month_11(year - 1), month_11(year))
    } else {
        (month_11(year), month_11(year + 1))
    };
    let k = (0.5 + (a11 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
    let mut offset = (month as i64 + 12 - 11) % 12;
    if b11 - a11 > 365 {
        let leap_offset = leap_month_offset(a11);
        let leap_month = (leap_offset - 2).rem_euclid(12);
        if leap && month as i64 != leap_month {
            return None;
        }
        if leap || offset >= leap_offset {
            offset += 1;
        }
    } else if leap {
        return None;
    }
    let month_start = new_moon_day(k + offset);
    let next_month_start = new_moon_day(k + offset + 1);
    if i64::from(day) > next_month_start - month_start {
        return None;
    }
    from_julian_day(month_start + i64::from(day) - 1)
}

/// The solar date of Tết (lunar 1/1) of the given year.
pub fn tet(year: i32) -> Option<NaiveDate> {
    lunar_to_solar(1, 1, year, false)
}

/// Julian day number (days since 4713 BC at noon) of a Gregorian date.
fn julian_day(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) + JDN_OFFSET_CE
}

fn from_julian_day(jd: i64) -> Option<NaiveDate> {
    let days = i32::try_from(jd - JDN_OFFSET_CE).ok()?;
    NaiveDate::from_num_days_from_ce_opt(days)
}

/// The astronomical instant (Julian day, fractional, in Terrestrial/Universal time) of the
/// `k`-th new moon after the one of January 1900 (Meeus, chapter 49, truncated series).
fn new_moon(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85; // Julian centuries since 1900.
    let t2 = t * t;
    let t3 = t2 * t;
    let rad = PI / 180.0;
    let mean = 2_415_020.759_33 + 29.530_588_68 * k + 0.000_117_8 * t2 - 0.000_000_155 * t3
        + 0.000_33 * ((166.56 + 132.87 * t - 0.009_173 * t2) * rad).sin();
    // Mean anomalies of the sun (m) and moon (mp), and the moon's argument of latitude (f).
    let m = (359.224_2 + 29.105_356_08 * k - 0.000_033_3 * t2 - 0.000_003_47 * t3) * rad;
    let mp = (306.025_3 + 385.816_918_06 * k + 0.010_730_6 * t2 + 0.000_012_36 * t3) * rad;
    let f = (21.296_4 + 390.670_506_46 * k - 0.001_652_8 * t2 - 0.000_002_39 * t3) * rad;
    let correction = (0.173_4 - 0.000_393 * t) * m.sin() + 0.002_1 * (2.0 * m).sin()
        - 0.406_8 * mp.sin()
        + 0.016_1 * (2.0 * mp).sin()
        - 0.000_4 * (3.0 * mp).sin()
        + 0.010_4 * (2.0 * f).sin()
        - 0.005_1 * (m + mp).sin()
        - 0.007_4 * (m - mp).sin()
        + 0.000_4 * (2.0 * f + m).sin()
        - 0.000_4 * (2.0 * f - m).sin()
        - 0.000_6 * (2.0 * f + mp).sin()
        + 0.001_0 * (2.0 * f - mp).sin()
        + 0.000_5 * (2.0 * mp + m).sin();
    // Difference between dynamical time and universal time (ΔT), in days.
    let delta_t = if t < -11.0 {
        0.001 + 0.000_839 * t + 0.000_226_1 * t2 - 0.000_008_45 * t3 - 0.000_000_081 * t * t3
    } else {
        -0.000_278 + 0.000_265 * t + 0.000_262 * t2
    };
    mean + correction - delta_t
}

/// The local (UTC+7) Julian day number on which the `k`-th new moon falls.
fn new_moon_day(k: i64) -> i64 {
    (new_moon(k) + 0.5 + TIME_ZONE_HOURS / 24.0).floor() as i64
}

/// The sun's apparent ecliptic longitude, in radians in `[0, 2π)`, at Julian instant `jd`.
fn sun_longitude(jd: f64) -> f64 {
    let t = (jd - 2_451_545.0) / 36_525.0; // Julian centuries since J2000.0.
    let t2 = t * t;
    let rad = PI / 180.0;
    let m = (357.529_10 + 35_999.050_30 * t - 0.000_155_9 * t2 - 0.000_000_48 * t * t2) * rad;
    let l0 = 280.466_45 + 36_000.769_83 * t + 0.000_303_2 * t2;
    let center = (1.914_600 - 0.004_817 * t - 0.000_014 * t2) * m.sin()
        + (0.019_993 - 0.000_101 * t) * (2.0 * m).sin()
        + 0.000_290 * (3.0 * m).sin();
    let l = (l0 + center) * rad;
    l.rem_euclid(2.0 * PI)
}

/// Which 30° sector (0..=11; 0 starts at the spring equinox, 9 at the winter solstice) the sun
/// is in at the start of local day `jd` (midnight UTC+7).
fn sun_sector(jd: i64) -> i64 {
    let instant = jd as f64 - 0.5 - TIME_ZONE_HOURS / 24.0;
    (sun_longitude(instant) / PI * 6.0).floor() as i64
}

/// The first day (local Julian day) of lunar month 11 of the given solar year: the month that
/// contains the winter solstice.
fn month_11(year: i32) -> i64 {
    let dec31 = NaiveDate::from_ymd_opt(year, 12, 31).map_or(0, julian_day);
    let k = ((dec31 as f64 - 2_415_021.0) / SYNODIC_MONTH).floor() as i64;
    let start = new_moon_day(k);
    // If the sun is already past the solstice (sector 9 or more) when this month starts, the
    // solstice fell in the month before.
    if sun_sector(start) >= 9 {
        new_moon_day(k - 1)
    } else {
        start
    }
}

/// For a 13-month year starting at month 11 `a11`, the offset (in months after `a11`) of the
/// leap month: the first month during which the sun stays in one sector.
fn leap_month_offset(a11: i64) -> i64 {
    let k = ((a11 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH + 0.5).floor() as i64;
    let mut i = 1;
    let mut sector = sun_sector(new_moon_day(k + i));
    loop {
        let previous = sector;
        i += 1;
        sector = sun_sector(new_moon_day(k + i));
        if sector == previous || i >= 14 {
            return i - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Tết in Vietnam differs from the Chinese New Year in these years because the lunar
    /// calendar is computed for UTC+7 (Vietnam) rather than UTC+8 (China).
    /// Sources: 1985 — Vietnam 21/1/1985, China 20/2/1985 (the Vietnamese calendar had no leap
    /// month where China had one; reported e.g. by en.wikipedia.org "Vietnamese calendar" and
    /// oreateai.com "1985 Lunar New Year"); 2007 — Vietnam 17/2/2007, China 18/2/2007 (National
    /// Calendar Department's Trần Tiến Bình on the differences, reported by scimyst.com; China
    /// 18/2/2007 in encyclopedia.kids.net.au "Chinese New Year"); 2030 — Vietnam 2/2/2030, China
    /// 3/2/2030 (scienceinfo.net "Why is the Vietnamese and Chinese New Year a day different?":
    /// "in 2030 and 2053, Vietnam will eat Tet sooner than China").
    #[test]
    fn tet_differs_from_the_chinese_new_year_in_1985_2007_2030() {
        assert_eq!(tet(1985), Some(d(1985, 1, 21)));
        assert_eq!(tet(2007), Some(d(2007, 2, 17)));
        assert_eq!(tet(2030), Some(d(2030, 2, 2)));
        for (date, year) in [
            (d(1985, 1, 21), 1985),
            (d(2007, 2, 17), 2007),
            (d(2030, 2, 2), 2030),
        ] {
            let lunar = solar_to_lunar(date);
            assert_eq!(
                (lunar.day, lunar.month, lunar.year, lunar.leap),
                (1, 1, year, false)
            );
            // The day before is the last day of the previous lunar year.
            let eve = solar_to_lunar(date.pred_opt().unwrap());
            assert_eq!((eve.month, eve.year), (12, year - 1));
        }
    }

    /// Vietnamese Tết dates as announced each year (Tết Nguyên đán, lunar 1/1).
    #[test]
    fn tet_dates_match_known_vietnamese_dates() {
        let known = [
            (1968, d(1968, 1, 29)), // North Vietnam's first Tết at UTC+7 (the Tết Offensive).
            (2000, d(2000, 2, 5)),
            (2010, d(2010, 2, 14)),
            (2018, d(2018, 2, 16)),
            (2019, d(2019, 2, 5)),
            (2020, d(2020, 1, 25)),
            (2021, d(2021, 2, 12)),
            (2022, d(2022, 2, 1)),
            (2023, d(2023, 1, 22)),
            (2024, d(2024, 2, 10)),
            (2025, d(2025, 1, 29)),
            (2026, d(2026, 2, 17)),
            (2027, d(2027, 2, 6)),
        ];
        for (year, date) in known {
            assert_eq!(tet(year), Some(date), "Tết {year}");
        }
    }

    /// Hùng Kings' day (lunar 10/3) in recent years, as announced with the holiday schedules.
    #[test]
    fn hung_kings_day_matches_known_dates() {
        assert_eq!(lunar_to_solar(10, 3, 2024, false), Some(d(2024, 4, 18)));
        assert_eq!(lunar_to_solar(10, 3, 2025, false), Some(d(2025, 4, 7)));
        assert_eq!(lunar_to_solar(10, 3, 2026, false), Some(d(2026, 4, 26)));
    }

    /// The lunar dates printed in the Government's holiday announcements.
    #[test]
    fn announced_lunar_dates() {
        let lunar = |date| {
            let l = solar_to_lunar(date);
            (l.day, l.month, l.year)
        };
        // 8726/VPCP-KGVX: 25/1/2025 is 26 tháng Chạp Giáp Thìn, 2/2/2025 mùng 5 tháng Giêng Ất Tỵ.
        assert_eq!(lunar(d(2025, 1, 25)), (26, 12, 2024));
        assert_eq!(lunar(d(2025, 2, 2)), (5, 1, 2025));
        // Tết Bính Ngọ: 14/2/2026 is 27 tháng Chạp Ất Tỵ, 22/2/2026 mùng 6 tháng Giêng Bính Ngọ;
        // the 5 official days 16/2–20/2 are 29 tháng Chạp to mùng 4.
        assert_eq!(lunar(d(2026, 2, 14)), (27, 12, 2025));
        assert_eq!(lunar(d(2026, 2, 22)), (6, 1, 2026));
        assert_eq!(lunar(d(2026, 2, 16)), (29, 12, 2025));
        assert_eq!(lunar(d(2026, 2, 20)), (4, 1, 2026));
        // 2020: 23/1/2020 was 29 tháng Chạp Kỷ Hợi, 29/1/2020 mùng 5 Canh Tý.
        assert_eq!(lunar(d(2020, 1, 23)), (29, 12, 2019));
        assert_eq!(lunar(d(2020, 1, 29)), (5, 1, 2020));
    }

    #[test]
    fn leap_months_are_found() {
        // 2023 had a leap 2nd month (tháng 2 nhuận Quý Mão) starting 22/3/2023.
        let leap = solar_to_lunar(d(2023, 3, 24));
        assert_eq!(
            (leap.day, leap.month, leap.year, leap.leap),
            (3, 2, 2023, true)
        );
        assert_eq!(lunar_to_solar(1, 2, 2023, true), Some(d(2023, 3, 22)));
        // 2025 had a leap 6th month (tháng 6 nhuận Ất Tỵ) starting 25/7/2025.
        assert_eq!(lunar_to_solar(1, 6, 2025, true), Some(d(2025, 7, 25)));
        // No leap month in 2024, nor a leap 3rd month in 2023.
        assert_eq!(lunar_to_solar(1, 6, 2024, true), None);
        assert_eq!(lunar_to_solar(1, 3, 2023, true), None);
    }

    #[test]
    fn impossible_dates_are_none() {
        assert_eq!(lunar_to_solar(0, 1, 2025, false), None);
        assert_eq!(lunar_to_solar(1, 13, 2025, false), None);
        // Month 12 of Ất Tỵ (2025) has 29 days: Tết Bính Ngọ is 17/2/2026, 29/12 is 16/2/2026.
        assert_eq!(lunar_to_solar(29, 12, 2025, false), Some(d(2026, 2, 16)));
        assert_eq!(lunar_to_solar(30, 12, 2025, false), None);
    }

    /// Property: every day converts to a lunar date and back to itself, and consecutive days
    /// have consecutive lunar days (or start a new month on day 1). Sampled over 1900..2100.
    #[test]
    fn round_trip_solar_lunar_solar() {
        let mut date = d(1900, 1, 31);
        let end = d(2100, 12, 31);
        while date < end {
            // Every 3rd day keeps the test fast while crossing every month boundary often.
            date += chrono::Duration::days(3);
            let lunar = solar_to_lunar(date);
            let back = lunar_to_solar(lunar.day, lunar.month, lunar.year, lunar.leap);
            assert_eq!(back, Some(date), "{date} -> {lunar:?}");
            assert!((1..=30).contains(&lunar.day) && (1..=12).contains(&lunar.month));
            assert!(lunar.year == date.year() || lunar.year == date.year() - 1);
        }
        // And daily over a decade, checking continuity.
        let mut date = d(2020, 1, 1);
        let mut previous = solar_to_lunar(date);
        while date < d(2031, 1, 1) {
            date = date.succ_opt().unwrap();
            let lunar = solar_to_lunar(date);
            assert!(
                lunar.day == previous.day + 1 && lunar.month == previous.month
                    || lunar.day == 1 && (previous.day == 29 || previous.day == 30),
                "{date}: {previous:?} -> {lunar:?}"
            );
            previous = lunar;
        }
    }
}
