//! Per-year override files: what the Government announces each year on top of the Labour Code
//! (the exact Tết span, swapped days off, make-up working Saturdays).
//!
//! One TOML file per year, e.g. `engine/calendar/vn-2026.toml`:
//!
//! ```toml
//! year = 2026
//! source = "Văn bản số ... của Văn phòng Chính phủ"   # required: where the dates come from
//! replace = ["tet"]        # optional: built-in holidays of this year that the file replaces
//!
//! [hours]                  # optional: working hours, local time (UTC+7)
//! morning = "07:30-11:30"
//! afternoon = "13:30-17:00"
//!
//! [[off]]                  # days off: one day, or `date` to `to` inclusive
//! date = "2026-02-14"
//! to = "2026-02-22"
//! reason = "Tết Nguyên đán"
//!
//! [[work]]                 # working days, e.g. a make-up Saturday
//! date = "2026-01-10"
//! reason = "Làm bù cho ngày 02/01/2026"
//! ```
//!
//! Replace keys: `new_year`, `tet`, `hung_kings`, `victory` (30/4), `labour` (1/5),
//! `national_day` (2/9 and its adjacent day); a replaced holiday loses its built-in days and
//! compensation for that year, and the file lists the days instead. A `work` day wins over
//! everything; an `off` day wins over the rules. Errors name the file, line and field.
//!
//! Pure: parses text; reading a folder is done by the caller (`WorkCalendar::from_override_dir`).

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;
use toml::Spanned;

use super::rules::Holiday;
use super::{CalendarError, WorkingHours};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    year: Spanned<i64>,
    source: Spanned<String>,
    #[serde(default)]
    replace: Vec<Spanned<String>>,
    hours: Option<RawHours>,
    #[serde(default)]
    off: Vec<RawDay>,
    #[serde(default)]
    work: Vec<RawDay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    morning: Spanned<String>,
    afternoon: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDay {
    date: Spanned<String>,
    to: Option<Spanned<String>>,
    reason: Spanned<String>,
}

/// One parsed override file.
#[derive(Clone, Debug)]
pub struct Override {
    pub name: String,
    pub year: i32,
    pub source: String,
    pub replace: Vec<Holiday>,
    pub hours: Option<WorkingHours>,
    /// Days off, each with its reason.
    pub off: Vec<(NaiveDate, String)>,
    /// Working days, each with its reason.
    pub work: Vec<(NaiveDate, String)>,
}

/// The longest span one `[[off]]` entry may cover, to catch typos in years.
const MAX_SPAN_DAYS: i64 = 31;

/// Parses one override file; `name` is used in error messages.
pub fn parse(name: &str, text: &str) -> Result<Override, CalendarError> {
    let err =
        |span: std::ops::Range<usize>, field: &str, message: String| CalendarError::Override {
            file: name.to_owned(),
            line: line_of(text, span.start),
            field: field.to_owned(),
            message,
        };
    let raw: RawFile = toml::from_str(text).map_err(|e| CalendarError::Override {
        file: name.to_owned(),
        line: e.span().map_or(0, |s| line_of(text, s.start)),
        field: String::new(),
        message: e.message().to_owned(),
    })?;
    let year = i32::try_from(*raw.year.get_ref())
        .ok()
        .filter(|y| (1900..=2199).contains(y))
        .ok_or_else(|| {
            err(
                raw.year.span(),
                "year",
                format!("year {} is outside 1900..=2199", raw.year.get_ref()),
            )
        })?;
    if raw.source.get_ref().trim().is_empty() {
        return Err(err(
            raw.source.span(),
            "source",
            "the source document must be named".into(),
        ));
    }
    let mut replace = Vec::new();
    for key in &raw.replace {
        match Holiday::from_key(key.get_ref()) {
            Some(h) => replace.push(h),
            None => {
                let known: Vec<_> = Holiday::ALL.iter().map(|h| h.key()).collect();
                return Err(err(
                    key.span(),
                    "replace",
                    format!(
                        "unknown holiday `{}` (known: {})",
                        key.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    let hours = match raw.hours {
        None => None,
        Some(h) => {
            let morning =
                session(&h.morning).map_err(|m| err(h.morning.span(), "hours.morning", m))?;
            let afternoon =
                session(&h.afternoon).map_err(|m| err(h.afternoon.span(), "hours.afternoon", m))?;
            Some(
                WorkingHours::new(morning, afternoon)
                    .map_err(|e| err(h.afternoon.span(), "hours.afternoon", e.to_string()))?,
            )
        }
    };
    let mut off = Vec::new();
    for (i, day) in raw.off.iter().enumerate() {
        let field = |f: &str| format!("off[{i}].{f}");
        let from = date(&day.date).map_err(|m| err(day.date.span(), &field("date"), m))?;
        let to = match &day.to {
            None => from,
            Some(to) => date(to).map_err(|m| err(to.span(), &field("to"), m))?,
        };
        let span = (to - from).num_days();
        if !(0..MAX_SPAN_DAYS).contains(&span) {
            let at = day.to.as_ref().map_or(day.date.span(), |t| t.span());
            return Err(err(
                at,
                &field("to"),
                format!("`to` must be on or after `date` and within {MAX_SPAN_DAYS} days"),
            ));
        }
        let reason =
            reason(&day.reason).map_err(|m| err(day.reason.span(), &field("reason"), m))?;
        for d in from.iter_days().take(span as usize + 1) {
            off.push((d, reason.clone()));
        }
    }
    let mut work = Vec::new();
    for (i, day) in raw.work.iter().enumerate() {
        let field = |f: &str| format!("work[{i}].{f}");
        let d = date(&day.date).map_err(|m| err(day.date.span(), &field("date"), m))?;
        if let Some(to) = &day.to {
            return Err(err(
                to.span(),
                &field("to"),
                "a working day is one date; list each day".into(),
            ));
        }
        let reason =
            reason(&day.reason).map_err(|m| err(day.reason.span(), &field("reason"), m))?;
        if off.iter().any(|(o, _)| *o == d) {
            return Err(err(
                day.date.span(),
                &field("date"),
                format!("{d} is also listed as a day off"),
            ));
        }
        work.push((d, reason));
    }
    Ok(Override {
        name: name.to_owned(),
        year,
        source: raw.source.into_inner(),
        replace,
        hours,
        off,
        work,
    })
}

fn date(value: &Spanned<String>) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.get_ref().trim(), "%Y-%m-%d")
        .map_err(|e| format!("`{}` is not a date YYYY-MM-DD: {e}", value.get_ref()))
}

fn reason(value: &Spanned<String>) -> Result<String, String> {
    let r = value.get_ref().trim();
    if r.is_empty() {
        return Err("the reason must not be empty".into());
    }
    Ok(r.to_owned())
}

/// Parses `"07:30-11:30"`.
fn session(value: &Spanned<String>) -> Result<(NaiveTime, NaiveTime), String> {
    let bad = || format!("`{}` is not a session HH:MM-HH:MM", value.get_ref());
    let (a, b) = value.get_ref().split_once('-').ok_or_else(bad)?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").map_err(|_| bad())?;
    let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").map_err(|_| bad())?;
    Ok((a, b))
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
year = 2030
source = "test"
replace = ["tet"]

[[off]]
date = "2030-02-01"
to = "2030-02-03"
reason = "Tết Nguyên đán"

[[work]]
date = "2030-02-09"
reason = "Làm bù"
"#;

    #[test]
    fn parses_spans_and_working_days() {
        let o = parse("good.toml", GOOD).unwrap();
        assert_eq!(o.year, 2030);
        assert_eq!(o.replace, vec![Holiday::Tet]);
        assert_eq!(o.off.len(), 3);
        assert_eq!(o.work.len(), 1);
    }

    fn error(text: &str) -> (String, usize, String, String) {
        match parse("vn-bad.toml", text) {
            Err(CalendarError::Override {
                file,
                line,
                field,
                message,
            }) => (file, line, field, message),
            other => panic!("expected an override error, got {other:?}"),
        }
    }

    #[test]
    fn a_bad_date_names_file_line_and_field() {
        let text = GOOD.replace("\"2030-02-09\"", "\"2030-02-30\"");
        let (file, line, field, message) = error(&text);
        assert_eq!(file, "vn-bad.toml");
        assert_eq!(line, 12);
        assert_eq!(field, "work[0].date");
        assert!(message.contains("2030-02-30"), "{message}");
    }

    #[test]
    fn other_mistakes_are_reported_with_their_line() {
        let (_, line, field, _) = error(&GOOD.replace("\"tet\"", "\"tết\""));
        assert_eq!((line, field.as_str()), (4, "replace"));
        let (_, line, field, _) =
            error(&GOOD.replace("to = \"2030-02-03\"", "to = \"2029-02-03\""));
        assert_eq!((line, field.as_str()), (8, "off[0].to"));
        // A syntax error or an unknown field is reported by the TOML parser with its line.
        let (_, line, _, message) = error(&GOOD.replace("reason = \"Làm bù\"", "raeson = \"x\""));
        assert_eq!(line, 13, "{message}");
        let (_, line, _, _) = error("year = 2030\nsource = \"x\"\n[[off]\n");
        assert_eq!(line, 3);
        let (_, _, field, _) = error("year = 2030\nsource = \"  \"\n");
        assert_eq!(field, "source");
    }

    #[test]
    fn hours_are_parsed_and_checked() {
        let text = "year = 2030\nsource = \"x\"\n[hours]\nmorning = \"08:00-12:00\"\nafternoon = \"13:00-17:00\"\n";
        let o = parse("h.toml", text).unwrap();
        let h = o.hours.unwrap();
        assert_eq!(h.morning().0, NaiveTime::from_hms_opt(8, 0, 0).unwrap());
        let bad = text.replace("13:00-17:00", "11:00-17:00");
        let (_, line, field, _) = error(&bad);
        assert_eq!((line, field.as_str()), (5, "hours.afternoon"));
    }
}
