//! The working-day calendar: whether an instant is working time, and N working days (or half
//! days) after or before an instant, for Vietnamese civil servants (Asia/Ho_Chi_Minh, UTC+7).
//!
//! - [`rules`]: the Labour Code 2019 holidays (art. 112) for any year, with compensation.
//! - [`lunar`]: the Vietnamese lunar calendar (UTC+7, not the Chinese one), for Tết and Hùng
//!   Kings' day.
//! - [`overrides`]: per-year TOML files with what the Government announces each year (Tết
//!   span, swaps, make-up Saturdays). The files of `engine/calendar/` are embedded in the
//!   binary ([`WorkCalendar::vietnam`]); configuration can replace them with a folder
//!   ([`WorkCalendar::from_override_dir`]).
//!
//! Pure: no database, no clock — every instant is an argument. The only I/O is
//! [`WorkCalendar::from_override_dir`], which reads the configured folder once.
//!
//! Precedence for a date: a `work` day of an override file, then an `off` day of an override
//! file, then the built-in holidays (without those the file for that year replaces), then the
//! weekend (Saturday and Sunday off).

pub mod lunar;
pub mod overrides;
pub mod rules;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};

use overrides::Override;
use rules::Holiday;

/// Vietnam's offset from UTC (no daylight saving).
const UTC_OFFSET_HOURS: i64 = 7;
/// How far `add_working_days` may go, in days (a century).
const MAX_DAYS: f64 = 36_500.0;
/// How many days in a row may be off before the calendar is considered broken.
const MAX_DAYS_OFF_IN_A_ROW: usize = 400;
/// Years whose built-in holidays are computed once and kept; others are computed when asked.
const CACHED_YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// The override files shipped with motcua (`engine/calendar/`), as announced by the Government.
const SHIPPED: &[(&str, &str)] = &[
    ("vn-2025.toml", include_str!("../../calendar/vn-2025.toml")),
    ("vn-2026.toml", include_str!("../../calendar/vn-2026.toml")),
];

/// Errors of the calendar: bad override data, impossible arguments.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// An override file is wrong; `line` is 1-based (0 if unknown).
    #[error("{file}:{line}: {field}{sep}{message}", sep = if field.is_empty() { "" } else { ": " })]
    Override {
        file: String,
        line: usize,
        field: String,
        message: String,
    },
    /// Two override files give different working hours.
    #[error("working hours differ between {first} and {second}")]
    ConflictingHours { first: String, second: String },
    /// Working hours that are not two ordered sessions.
    #[error("invalid working hours: {0}")]
    InvalidHours(String),
    /// The override folder cannot be read.
    #[error("cannot read calendar overrides {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The override folder holds no `*.toml` file.
    #[error("no calendar override file (*.toml) in {path}")]
    NoOverrides { path: String },
    /// Days that are not a whole multiple of half a day.
    #[error("{days} is not a multiple of half a working day")]
    NotHalfDays { days: f64 },
    /// A result outside the dates the calendar can represent or search.
    #[error("out of range: {0}")]
    OutOfRange(String),
}

/// The two daily sessions, local time (UTC+7). Default 07:30–11:30 and 13:30–17:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingHours {
    morning: (NaiveTime, NaiveTime),
    afternoon: (NaiveTime, NaiveTime),
}

impl WorkingHours {
    /// Checks that both sessions are non-empty and the morning ends before the afternoon starts.
    pub fn new(
        morning: (NaiveTime, NaiveTime),
        afternoon: (NaiveTime, NaiveTime),
    ) -> Result<WorkingHours, CalendarError> {
        if morning.0 < morning.1 && morning.1 <= afternoon.0 && afternoon.0 < afternoon.1 {
            Ok(WorkingHours { morning, afternoon })
        } else {
            Err(CalendarError::InvalidHours(format!(
                "{}-{} and {}-{} must be two non-empty sessions, morning first",
                morning.0.format("%H:%M"),
                morning.1.format("%H:%M"),
                afternoon.0.format("%H:%M"),
                afternoon.1.format("%H:%M"),
            )))
        }
    }

    pub fn morning(&self) -> (NaiveTime, NaiveTime) {
        self.morning
    }

    pub fn afternoon(&self) -> (NaiveTime, NaiveTime) {
        self.afternoon
    }

    fn session(&self, half: Half) -> (NaiveTime, NaiveTime) {
        match half {
            Half::Morning => self.morning,
            Half::Afternoon => self.afternoon,
        }
    }
}

impl Default for WorkingHours {
    fn default() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        WorkingHours {
            morning: (t(7, 30), t(11, 30)),
            afternoon: (t(13, 30), t(17, 0)),
        }
    }
}

/// What the calendar says about one date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayInfo {
    pub date: NaiveDate,
    pub working: bool,
    /// Why the day is off (`"Tết Nguyên đán"`, `"Nghỉ bù Quốc khánh"`, `"Thứ Bảy"`,
    /// `"Chủ nhật"`), or why a weekend day is worked (`"Làm bù cho ngày 02/05/2025"`); `None`
    /// for an ordinary weekday.
    pub reason: Option<String>,
}

/// A date the rules or the overrides mark.
#[derive(Clone, Debug)]
struct Mark {
    working: bool,
    reason: String,
}

type YearTable = HashMap<NaiveDate, Mark>;

/// Built-in tables (no overrides), computed once per year on first use.
static BUILTIN: [OnceLock<YearTable>; 300] = [const { OnceLock::new() }; 300];

fn builtin_table(year: i32) -> Option<&'static YearTable> {
    if !CACHED_YEARS.contains(&year) {
        return None;
    }
    let index = (year - CACHED_YEARS.start()) as usize;
    BUILTIN
        .get(index)
        .map(|cell| cell.get_or_init(|| rules_table(year, &[])))
}

fn rules_table(year: i32, replaced: &[Holiday]) -> YearTable {
    let mut table = YearTable::new();
    for day in rules::holidays(year, replaced) {
        table.entry(day.date).or_insert(Mark {
            working: false,
            reason: day.reason(),
        });
    }
    table
}

/// The working-day calendar. Cheap to clone (the tables are shared).
#[derive(Clone, Debug)]
pub struct WorkCalendar {
    hours: WorkingHours,
    /// Full tables (rules + overrides) of the years the overrides touch.
    years: Arc<BTreeMap<i32, YearTable>>,
    /// `(file name, source document)` of each override file in use.
    sources: Arc<Vec<(String, String)>>,
}

impl WorkCalendar {
    /// The built-in rules plus the override files shipped in `engine/calendar/`.
    pub fn vietnam() -> WorkCalendar {
        match WorkCalendar::from_override_texts(SHIPPED) {
            Ok(calendar) => calendar,
            // The shipped files are checked by a test; fall back to the Labour Code's rules.
            Err(_) => WorkCalendar::rules_only(),
        }
    }

    /// The built-in rules only, without any announcement.
    pub fn rules_only() -> WorkCalendar {
        WorkCalendar {
            hours: WorkingHours::default(),
            years: Arc::new(BTreeMap::new()),
            sources: Arc::new(Vec::new()),
        }
    }

    /// The built-in rules plus these override files (`(name, text)`), replacing the shipped
    /// ones.
    pub fn from_override_texts(texts: &[(&str, &str)]) -> Result<WorkCalendar, CalendarError> {
        let mut files = Vec::with_capacity(texts.len());
        for (name, text) in texts {
            files.push(overrides::parse(name, text)?);
        }
        WorkCalendar::from_overrides(files)
    }

    /// The built-in rules plus the `*.toml` files of `dir` (read in name order), replacing the
    /// shipped ones.
    pub fn from_override_dir(dir: &Path) -> Result<WorkCalendar, CalendarError> {
        let io = |source| CalendarError::Io {
            path: dir.display().to_string(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                paths.push(path);
            }
        }
        if paths.is_empty() {
            return Err(CalendarError::NoOverrides {
                path: dir.display().to_string(),
            });
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| CalendarError::Io {
                path: path.display().to_string(),
                source,
            })?;
            files.push(overrides::parse(&path.display().to_string(), &text)?);
        }
        WorkCalendar::from_overrides(files)
    }

    fn from_overrides(files: Vec<Override>) -> Result<WorkCalendar, CalendarError> {
        let mut hours: Option<(WorkingHours, &str)> = None;
        for file in &files {
            if let Some(h) = file.hours {
                match hours {
                    Some((existing, first)) if existing != h => {
                        return Err(CalendarError::ConflictingHours {
                            first: first.to_owned(),
                            second: file.name.clone(),
                        })
                    }
                    _ => hours = Some((h, &file.name)),
                }
            }
        }
        let mut replaced: BTreeMap<i32, Vec<Holiday>> = BTreeMap::new();
        for file in &files {
            replaced.entry(file.year).or_default().extend(&file.replace);
            for (date, _) in file.off.iter().chain(&file.work) {
                replaced.entry(date.year()).or_default();
            }
        }
        let mut years = BTreeMap::new();
        for (year, replaced) in replaced {
            let mut table = rules_table(year, &replaced);
            for file in &files {
                for (date, reason) in file.off.iter().filter(|(d, _)| d.year() == year) {
                    table.insert(
                        *date,
                        Mark {
                            working: false,
                            reason: reason.clone(),
                        },
                    );
                }
            }
            for file in &files {
                for (date, reason) in file.work.iter().filter(|(d, _)| d.year() == year) {
                    table.insert(
                        *date,
                        Mark {
                            working: true,
                            reason: reason.clone(),
                        },
                    );
                }
            }
            years.insert(year, table);
        }
        Ok(WorkCalendar {
            hours: hours.map(|(h, _)| h).unwrap_or_default(),
            years: Arc::new(years),
            sources: Arc::new(files.into_iter().map(|f| (f.name, f.source)).collect()),
        })
    }

    /// `(file name, source document)` of each override file in use.
    pub fn sources(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sources.iter().map(|(n, s)| (n.as_str(), s.as_str()))
    }

    pub fn hours(&self) -> &WorkingHours {
        &self.hours
    }

    fn with_mark<R>(&self, date: NaiveDate, f: impl FnOnce(Option<&Mark>) -> R) -> R {
        let year = date.year();
        if let Some(table) = self.years.get(&year) {
            return f(table.get(&date));
        }
        match builtin_table(year) {
            Some(table) => f(table.get(&date)),
            None => f(rules_table(year, &[]).get(&date)),
        }
    }

    /// Whether civil servants work on this date.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.with_mark(date, |mark| match mark {
            Some(m) => m.working,
            None => !rules::is_weekend(date),
        })
    }

    /// What the calendar says about this date, with the reason in Vietnamese.
    pub fn day(&self, date: NaiveDate) -> DayInfo {
        self.with_mark(date, |mark| match mark {
            Some(m) => DayInfo {
                date,
                working: m.working,
                reason: Some(m.reason.clone()),
            },
            None => {
                let reason = match date.weekday() {
                    Weekday::Sat => Some("Thứ Bảy".to_owned()),
                    Weekday::Sun => Some("Chủ nhật".to_owned()),
                    _ => None,
                };
                DayInfo {
                    date,
                    working: reason.is_none(),
                    reason,
                }
            }
        })
    }

    /// Whether `at` is inside a working session (start included, end excluded) of a working day.
    pub fn is_working_time(&self, at: DateTime<Utc>) -> bool {
        let local = to_local(at);
        let t = local.time();
        let (m, a) = (self.hours.morning, self.hours.afternoon);
        self.is_working_day(local.date()) && ((m.0 <= t && t < m.1) || (a.0 <= t && t < a.1))
    }

    /// Adds `days` working days (a multiple of 0.5, possibly negative) to `from`.
    ///
    /// Time is counted in Asia/Ho_Chi_Minh (UTC+7, no daylight saving). Working time is the two
    /// sessions of each working day (default 07:30–11:30 and 13:30–17:00).
    ///
    /// 1. `from` is first placed in a session, the same way for both signs: before the morning
    ///    session → its start (07:30); in a session, its end included → where it is; between
    ///    the sessions → the afternoon's start (13:30); after the afternoon (past 17:00) or on a
    ///    day off → 07:30 of the next working day.
    /// 2. Each half day moves to the same offset (time since the session's start) in the next
    ///    session: morning → afternoon of the same day, afternoon → morning of the next working
    ///    day. So +1 day is the same clock time on the next working day. Negative days move
    ///    back the same way (afternoon → morning, morning → afternoon of the previous working
    ///    day).
    /// 3. The offset is kept from `from`; only the result is clamped to its session's end (an
    ///    offset of 3h45 lands at 17:00 in a 3h30 afternoon).
    ///
    /// `days` that is not a multiple of 0.5, not finite, or beyond a century gives
    /// [`CalendarError::NotHalfDays`] / [`CalendarError::OutOfRange`].
    pub fn add_working_days(
        &self,
        from: DateTime<Utc>,
        days: f64,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let halves = days * 2.0;
        if !halves.is_finite() || halves.fract() != 0.0 {
            return Err(CalendarError::NotHalfDays { days });
        }
        if days.abs() > MAX_DAYS {
            return Err(CalendarError::OutOfRange(format!(
                "{days} working days is more than {MAX_DAYS}"
            )));
        }
        let mut pos = self.place(from)?;
        let offset = pos.offset;
        for _ in 0..(halves.abs() as u64) {
            pos = if halves > 0.0 {
                self.next_session(pos)?
            } else {
                self.previous_session(pos)?
            };
        }
        pos.offset = offset;
        Ok(self.instant(pos))
    }

    /// Working days from `from` to `to`, in half-day steps, floored: the largest `n` such that
    /// `add_working_days(from, n) <= to`. Negative (`-working_days_between(to, from)`) when
    /// `to` is before `from`, e.g. the days a task is late. Saturates at a century
    /// (±36,500 days), the range of [`Self::add_working_days`]; 0 when an instant lies beyond
    /// the dates the calendar can represent.
    pub fn working_days_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        let (Ok(a), Ok(b)) = (self.place(from), self.place(to)) else {
            return 0.0;
        };
        let mut halves: i64 = 0;
        let mut pos = a;
        while (pos.date, pos.half) < (b.date, b.half) {
            if halves as f64 >= 2.0 * MAX_DAYS {
                return MAX_DAYS;
            }
            match self.next_session(pos) {
                Ok(next) => pos = next,
                Err(_) => break,
            }
            halves += 1;
        }
        let length = self.session_length(b.half);
        if b.offset < a.offset.min(length) {
            halves -= 1;
        }
        halves.max(0) as f64 / 2.0
    }

    /// Step 1 of [`Self::add_working_days`].
    fn place(&self, at: DateTime<Utc>) -> Result<Position, CalendarError> {
        let local = to_local(at);
        let (date, t) = (local.date(), local.time());
        let (m, a) = (self.hours.morning, self.hours.afternoon);
        let at_start = |date, half| Position {
            date,
            half,
            offset: Duration::zero(),
        };
        if !self.is_working_day(date) || t > a.1 {
            return Ok(at_start(self.next_working_day(date)?, Half::Morning));
        }
        Ok(if t < m.0 {
            at_start(date, Half::Morning)
        } else if t <= m.1 {
            Position {
                date,
                half: Half::Morning,
                offset: t - m.0,
            }
        } else if t < a.0 {
            at_start(date, Half::Afternoon)
        } else {
            Position {
                date,
                half: Half::Afternoon,
                offset: t - a.0,
            }
        })
    }

    fn next_session(&self, pos: Position) -> Result<Position, CalendarError> {
        Ok(match pos.half {
            Half::Morning => Position {
                half: Half::Afternoon,
                ..pos
            },
            Half::Afternoon => Position {
                date: self.next_working_day(pos.date)?,
                half: Half::Morning,
                ..pos
            },
        })
    }

    fn previous_session(&self, pos: Position) -> Result<Position, CalendarError> {
        Ok(match pos.half {
            Half::Afternoon => Position {
                half: Half::Morning,
                ..pos
            },
            Half::Morning => Position {
                date: self.previous_working_day(pos.date)?,
                half: Half::Afternoon,
                ..pos
            },
        })
    }

    /// The first working day strictly after `date`.
    fn next_working_day(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut d = date;
        for _ in 0..MAX_DAYS_OFF_IN_A_ROW {
            d = d
                .succ_opt()
                .ok_or_else(|| CalendarError::OutOfRange(format!("no date after {date}")))?;
            if self.is_working_day(d) {
                return Ok(d);
            }
        }
        Err(CalendarError::OutOfRange(format!(
            "no working day within {MAX_DAYS_OFF_IN_A_ROW} days after {date}"
        )))
    }

    /// The last working day strictly before `date`.
    fn previous_working_day(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut d = date;
        for _ in 0..MAX_DAYS_OFF_IN_A_ROW {
            d = d
                .pred_opt()
                .ok_or_else(|| CalendarError::OutOfRange(format!("no date before {date}")))?;
            if self.is_working_day(d) {
                return Ok(d);
            }
        }
        Err(CalendarError::OutOfRange(format!(
            "no working day within {MAX_DAYS_OFF_IN_A_ROW} days before {date}"
        )))
    }

    fn session_length(&self, half: Half) -> Duration {
        let (start, end) = self.hours.session(half);
        end - start
    }

    /// The instant of a position, its offset clamped to the session's end.
    fn instant(&self, pos: Position) -> DateTime<Utc> {
        let (start, _) = self.hours.session(pos.half);
        let offset = pos.offset.min(self.session_length(pos.half));
        from_local(pos.date.and_time(start) + offset)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Half {
    Morning,
    Afternoon,
}

/// A place in working time: a session of a working day and the time since its start.
#[derive(Clone, Copy, Debug)]
struct Position {
    date: NaiveDate,
    half: Half,
    offset: Duration,
}

/// The local (UTC+7) wall-clock time of an instant.
pub fn to_local(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc()
        .checked_add_signed(Duration::hours(UTC_OFFSET_HOURS))
        .unwrap_or(NaiveDateTime::MAX)
}

/// The instant of a local (UTC+7) wall-clock time.
pub fn from_local(local: NaiveDateTime) -> DateTime<Utc> {
    local
        .checked_sub_signed(Duration::hours(UTC_OFFSET_HOURS))
        .unwrap_or(NaiveDateTime::MIN)
        .and_utc()
}

#[cfg(test)]
mod tests;
