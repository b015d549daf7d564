//! `motcua calendar`: the working-day calendar for people — add working days to a date, show a
//! month with its days off, explain one day — in Vietnamese, or JSON with `--json`.
//!
//! The computing is in `motcua_engine::calendar`; this module only parses arguments (dates in
//! local time, Asia/Ho_Chi_Minh) and formats the answers.

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use clap::Subcommand;
use motcua_engine::calendar::{from_local, lunar, to_local, DayInfo};
use motcua_engine::WorkCalendar;
use serde_json::{json, Value};

use crate::output::{self, say};

#[derive(Debug, Subcommand)]
pub enum CalendarCmd {
    /// Add working days to a date: `motcua calendar add 2026-04-24 5`.
    Add {
        /// Start, local time: 2026-04-24, 2026-04-24T09:00, "2026-04-24 09:00" or 24/04/2026.
        from: String,
        /// Working days, a multiple of 0.5; negative counts back.
        #[arg(allow_negative_numbers = true)]
        days: f64,
    },
    /// Show a month with its days off: `motcua calendar month 2027-02`.
    Month {
        /// The month: 2027-02 or 02/2027.
        month: String,
    },
    /// Explain one day: working or not, and why.
    Day {
        /// The date: 2026-02-17 or 17/02/2026.
        date: String,
    },
}

pub fn run(cmd: CalendarCmd, calendar: &WorkCalendar, json: bool) -> Result<()> {
    match cmd {
        CalendarCmd::Add { from, days } => {
            let from = parse_instant(&from)?;
            let result = calendar
                .add_working_days(from, days)
                .context("cannot add working days")?;
            let skipped = skipped_days(calendar, from, result);
            if json {
                output::print_json(&add_json(from, days, result, &skipped));
            } else {
                for line in add_lines(from, days, result, &skipped) {
                    say!("{line}");
                }
            }
        }
        CalendarCmd::Month { month } => {
            let first = parse_month(&month)?;
            let days = month_days(calendar, first);
            if json {
                output::print_json(&month_json(first, &days));
            } else {
                for line in month_lines(first, &days) {
                    say!("{line}");
                }
            }
        }
        CalendarCmd::Day { date } => {
            let date = parse_date(&date)?;
            let info = calendar.day(date);
            if json {
                output::print_json(&day_json(&info));
            } else {
                say!("{}", day_line(&info));
            }
        }
    }
    Ok(())
}

/// A local date or date-time (UTC+7). A bare date means the start of that day, so it is moved
/// to the first working session.
fn parse_instant(text: &str) -> Result<DateTime<Utc>> {
    let text = text.trim();
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%d/%m/%Y %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(from_local(t));
        }
    }
    let date = parse_date(text)?;
    Ok(from_local(date.and_time(NaiveTime::MIN)))
}

fn parse_date(text: &str) -> Result<NaiveDate> {
    let text = text.trim();
    ["%Y-%m-%d", "%d/%m/%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
        .ok_or_else(|| {
            anyhow!("`{text}` is not a date (2026-04-24, 24/04/2026, or 2026-04-24T09:00)")
        })
}

/// The first day of a month given as `2027-02` or `02/2027`.
fn parse_month(text: &str) -> Result<NaiveDate> {
    let text = text.trim();
    let (year, month) = match (text.split_once('-'), text.split_once('/')) {
        (Some((y, m)), None) => (y, m),
        (None, Some((m, y))) => (y, m),
        _ => bail!("`{text}` is not a month (2027-02 or 02/2027)"),
    };
    let (Ok(year), Ok(month)) = (year.parse::<i32>(), month.parse::<u32>()) else {
        bail!("`{text}` is not a month (2027-02 or 02/2027)");
    };
    NaiveDate::from_ymd_opt(year, month, 1)
        .ok_or_else(|| anyhow!("`{text}` is not a month (2027-02 or 02/2027)"))
}

/// The days off between `from` and `result` (local dates, both ends included), in order.
fn skipped_days(
    calendar: &WorkCalendar,
    from: DateTime<Utc>,
    result: DateTime<Utc>,
) -> Vec<DayInfo> {
    let (a, b) = (to_local(from).date(), to_local(result).date());
    let (first, last) = if a <= b { (a, b) } else { (b, a) };
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| calendar.day(d))
        .filter(|info| !info.working)
        .collect()
}

fn month_days(calendar: &WorkCalendar, first: NaiveDate) -> Vec<DayInfo> {
    first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .map(|d| calendar.day(d))
        .collect()
}

fn weekday_vi(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Thứ Hai",
        Weekday::Tue => "Thứ Ba",
        Weekday::Wed => "Thứ Tư",
        Weekday::Thu => "Thứ Năm",
        Weekday::Fri => "Thứ Sáu",
        Weekday::Sat => "Thứ Bảy",
        Weekday::Sun => "Chủ nhật",
    }
}

/// The name of a lunar year in the sexagenary cycle, e.g. 2026 -> "Bính Ngọ".
fn can_chi(year: i32) -> String {
    const CAN: [&str; 10] = [
        "Giáp", "Ất", "Bính", "Đinh", "Mậu", "Kỷ", "Canh", "Tân", "Nhâm", "Quý",
    ];
    const CHI: [&str; 12] = [
        "Tý", "Sửu", "Dần", "Mão", "Thìn", "Tỵ", "Ngọ", "Mùi", "Thân", "Dậu", "Tuất", "Hợi",
    ];
    let can = CAN[(year + 6).rem_euclid(10) as usize];
    let chi = CHI[(year + 8).rem_euclid(12) as usize];
    format!("{can} {chi}")
}

fn lunar_vi(date: NaiveDate) -> String {
    let l = lunar::solar_to_lunar(date);
    let leap = if l.leap { " nhuận" } else { "" };
    format!("{:02}/{:02}{leap} năm {}", l.day, l.month, can_chi(l.year))
}

fn local_vi(t: DateTime<Utc>) -> String {
    let local = to_local(t);
    format!(
        "{} {}",
        weekday_vi(local.weekday()),
        local.format("%d/%m/%Y %H:%M")
    )
}

fn local_iso(t: DateTime<Utc>) -> String {
    format!("{}+07:00", to_local(t).format("%Y-%m-%dT%H:%M:%S"))
}

fn days_vi(days: f64) -> String {
    let n = if days.fract() == 0.0 {
        format!("{}", days as i64)
    } else {
        format!("{days:.1}").replace('.', ",")
    };
    format!("{n} ngày làm việc")
}

fn add_lines(
    from: DateTime<Utc>,
    days: f64,
    result: DateTime<Utc>,
    skipped: &[DayInfo],
) -> Vec<String> {
    let mut lines = vec![
        format!("Từ:       {}", local_vi(from)),
        format!(
            "{}  {}",
            if days < 0.0 {
                "Lùi lại:"
            } else {
                "Cộng:   "
            },
            days_vi(days.abs())
        ),
        format!("Kết quả:  {}", local_vi(result)),
    ];
    if skipped.is_empty() {
        lines.push("Không có ngày nghỉ nào ở giữa.".into());
    } else {
        lines.push(format!("Ngày nghỉ bỏ qua ({}):", skipped.len()));
        for info in skipped {
            lines.push(format!(
                "  {:<9} {}  {}",
                weekday_vi(info.date.weekday()),
                info.date.format("%d/%m/%Y"),
                info.reason.as_deref().unwrap_or("")
            ));
        }
    }
    lines
}

fn day_json(info: &DayInfo) -> Value {
    let l = lunar::solar_to_lunar(info.date);
    json!({
        "date": info.date.to_string(),
        "weekday": weekday_vi(info.date.weekday()),
        "working": info.working,
        "reason": info.reason,
        "lunar": { "day": l.day, "month": l.month, "year": l.year, "leap": l.leap },
    })
}

fn add_json(from: DateTime<Utc>, days: f64, result: DateTime<Utc>, skipped: &[DayInfo]) -> Value {
    json!({
        "from": local_iso(from),
        "days": days,
        "result": local_iso(result),
        "resultUtc": result.to_rfc3339(),
        "skipped": skipped.iter().map(day_json).collect::<Vec<_>>(),
    })
}

/// A day off that is not a plain weekend (holiday, compensation, swap) — marked `*` in the grid.
fn is_special_off(info: &DayInfo) -> bool {
    !info.working && !matches!(info.reason.as_deref(), Some("Thứ Bảy" | "Chủ nhật"))
}

/// A Saturday or Sunday that is worked (make-up day) — marked `+` in the grid.
fn is_worked_weekend(info: &DayInfo) -> bool {
    info.working && matches!(info.date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn month_lines(first: NaiveDate, days: &[DayInfo]) -> Vec<String> {
    let mut lines = vec![
        format!("Tháng {}", first.format("%m/%Y")),
        ["T2", "T3", "T4", "T5", "T6", "T7", "CN"]
            .map(|w| format!(" {w}  "))
            .concat()
            .trim_end()
            .to_owned(),
    ];
    let mut row = "     ".repeat(first.weekday().num_days_from_monday() as usize);
    for info in days {
        let mark = if is_special_off(info) {
            '*'
        } else if is_worked_weekend(info) {
            '+'
        } else {
            ' '
        };
        row.push_str(&format!(" {:>2}{mark} ", info.date.day()));
        if info.date.weekday() == Weekday::Sun {
            lines.push(row.trim_end().to_owned());
            row.clear();
        }
    }
    if !row.is_empty() {
        lines.push(row.trim_end().to_owned());
    }
    let working = days.iter().filter(|d| d.working).count();
    lines.push(String::new());
    lines.push(format!(
        "Số ngày làm việc: {working}/{} (T7, CN nghỉ; * nghỉ lễ, Tết, nghỉ bù; + làm bù)",
        days.len()
    ));
    for info in days
        .iter()
        .filter(|d| is_special_off(d) || is_worked_weekend(d))
    {
        lines.push(format!(
            "  {} {:<9} {}  {}",
            if info.working { '+' } else { '*' },
            weekday_vi(info.date.weekday()),
            info.date.format("%d/%m"),
            info.reason.as_deref().unwrap_or("")
        ));
    }
    lines
}

fn month_json(first: NaiveDate, days: &[DayInfo]) -> Value {
    json!({
        "month": first.format("%Y-%m").to_string(),
        "workingDays": days.iter().filter(|d| d.working).count(),
        "days": days.iter().map(day_json).collect::<Vec<_>>(),
    })
}

fn day_line(info: &DayInfo) -> String {
    let status = if info.working {
        "ngày làm việc"
    } else {
        "ngày nghỉ"
    };
    let reason = info
        .reason
        .as_deref()
        .map(|r| format!(" — {r}"))
        .unwrap_or_default();
    format!(
        "{} {}: {status}{reason} (âm lịch {})",
        weekday_vi(info.date.weekday()),
        info.date.format("%d/%m/%Y"),
        lunar_vi(info.date)
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: CalendarCmd,
    }

    fn parse(args: &[&str]) -> Result<CalendarCmd, clap::Error> {
        let mut all = vec!["calendar"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|c| c.cmd)
    }

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        from_local(
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, min, 0)
                .unwrap(),
        )
    }

    #[test]
    fn subcommands_parse() {
        match parse(&["add", "2026-04-24", "5"]).unwrap() {
            CalendarCmd::Add { from, days } => {
                assert_eq!((from.as_str(), days), ("2026-04-24", 5.0))
            }
            other => panic!("{other:?}"),
        }
        match parse(&["add", "2026-04-24T09:00", "-2.5"]).unwrap() {
            CalendarCmd::Add { days, .. } => assert_eq!(days, -2.5),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["month", "2027-02"]).unwrap(),
            CalendarCmd::Month { .. }
        ));
        assert!(matches!(
            parse(&["day", "2026-02-17"]).unwrap(),
            CalendarCmd::Day { .. }
        ));
        assert!(parse(&["add", "2026-04-24", "five"]).is_err());
        assert!(parse(&["add", "2026-04-24"]).is_err());
    }

    #[test]
    fn instants_are_local_time() {
        assert_eq!(
            parse_instant("2026-04-24").unwrap(),
            local(2026, 4, 24, 0, 0)
        );
        assert_eq!(
            parse_instant("2026-04-24T09:00").unwrap(),
            local(2026, 4, 24, 9, 0)
        );
        assert_eq!(
            parse_instant("2026-04-24 09:00").unwrap(),
            local(2026, 4, 24, 9, 0)
        );
        assert_eq!(
            parse_instant("24/04/2026").unwrap(),
            local(2026, 4, 24, 0, 0)
        );
        assert_eq!(
            parse_instant("24/04/2026 14:15").unwrap(),
            local(2026, 4, 24, 14, 15)
        );
        // 09:00 in Vietnam is 02:00 UTC.
        assert_eq!(
            parse_instant("2026-04-24T09:00").unwrap().to_rfc3339(),
            "2026-04-24T02:00:00+00:00"
        );
        assert!(parse_instant("2026-02-30").is_err());
        assert!(parse_instant("tomorrow").is_err());
    }

    #[test]
    fn months_parse() {
        assert_eq!(
            parse_month("2027-02").unwrap(),
            NaiveDate::from_ymd_opt(2027, 2, 1).unwrap()
        );
        assert_eq!(
            parse_month("02/2027").unwrap(),
            NaiveDate::from_ymd_opt(2027, 2, 1).unwrap()
        );
        assert!(parse_month("2027-13").is_err());
        assert!(parse_month("2027").is_err());
        assert!(parse_month("2027-02-01").is_err());
    }

    #[test]
    fn add_lists_the_days_off_it_skipped() {
        let calendar = WorkCalendar::vietnam();
        let from = parse_instant("2026-04-24").unwrap();
        let result = calendar.add_working_days(from, 5.0).unwrap();
        assert_eq!(result, local(2026, 5, 6, 7, 30));
        let skipped = skipped_days(&calendar, from, result);
        let reasons: Vec<_> = skipped.iter().filter_map(|d| d.reason.as_deref()).collect();
        assert_eq!(
            reasons,
            [
                "Thứ Bảy",
                "Giỗ Tổ Hùng Vương",
                "Nghỉ bù Giỗ Tổ Hùng Vương",
                "Ngày Chiến thắng",
                "Ngày Quốc tế lao động",
                "Thứ Bảy",
                "Chủ nhật"
            ]
        );
        let lines = add_lines(from, 5.0, result, &skipped);
        assert!(lines[2].contains("Thứ Tư 06/05/2026 07:30"), "{lines:?}");
        let v = add_json(from, 5.0, result, &skipped);
        assert_eq!(v["result"], "2026-05-06T07:30:00+07:00");
        assert_eq!(v["skipped"].as_array().unwrap().len(), 7);
    }

    #[test]
    fn month_grid_marks_days_off() {
        let calendar = WorkCalendar::vietnam();
        let first = parse_month("2027-02").unwrap();
        let days = month_days(&calendar, first);
        let lines = month_lines(first, &days);
        // February 2027 starts on a Monday; Tết (5/2–9/2) and compensation (10/2, 11/2) marked.
        assert_eq!(lines[1], " T2   T3   T4   T5   T6   T7   CN");
        assert_eq!(lines[2], "  1    2    3    4    5*   6*   7*");
        assert_eq!(lines[3], "  8*   9*  10*  11*  12   13   14");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("10/02  Nghỉ bù Tết Nguyên đán")),
            "{lines:#?}"
        );
        assert_eq!(month_json(first, &days)["workingDays"], 15);
        // A make-up Saturday is marked +.
        let first = parse_month("2026-01").unwrap();
        let lines = month_lines(first, &month_days(&calendar, first));
        assert!(lines.iter().any(|l| l.contains(" 10+")), "{lines:#?}");
    }

    #[test]
    fn day_explains_with_the_lunar_date() {
        let calendar = WorkCalendar::vietnam();
        let line = day_line(&calendar.day(NaiveDate::from_ymd_opt(2026, 2, 17).unwrap()));
        assert_eq!(
            line,
            "Thứ Ba 17/02/2026: ngày nghỉ — Tết Nguyên đán (âm lịch 01/01 năm Bính Ngọ)"
        );
        assert_eq!(can_chi(2025), "Ất Tỵ");
        assert_eq!(can_chi(2027), "Đinh Mùi");
    }
}
