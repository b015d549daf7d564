//! Timer definitions: what a timer event says about time, as the modeler wrote it.
//!
//! Parsing is pure: `P3D`, `PT4H`, `2026-11-24T07:00:00+07:00`, `R3/PT1H`, cron expressions and
//! motcua's working days are turned into a [`TimerSpec`] at deploy, so a bad value is refused
//! with its element's position. Turning a spec into due instants needs "now" and, for working
//! days, the working-day calendar: the engine does that.

use std::str::FromStr;

use chrono::{
    DateTime, Duration, FixedOffset, Months, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc,
};

use crate::expr::Expression;

/// Which BPMN timer element the value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// `timeDuration`: once, a duration after the timer is armed.
    Duration,
    /// `timeDate`: once, at an instant.
    Date,
    /// `timeCycle`: repeatedly.
    Cycle,
}

/// An ISO 8601 duration (`P1Y2M3W4DT5H6M7.5S`). Years and months are calendar units, added to
/// the date in Asia/Ho_Chi_Minh; the rest are exact.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct IsoDuration {
    /// Years.
    pub years: u32,
    /// Months.
    pub months: u32,
    /// Weeks.
    pub weeks: u32,
    /// Days.
    pub days: u32,
    /// Hours.
    pub hours: u32,
    /// Minutes.
    pub minutes: u32,
    /// Seconds, fractions allowed.
    pub seconds: f64,
}

/// A timer's value, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum TimerSpec {
    /// Fire once, this long after being armed.
    Duration(IsoDuration),
    /// Fire once at this instant.
    Date(DateTime<FixedOffset>),
    /// Fire every `interval`, `repetitions` times (`None`: without end), first at `start` +
    /// interval, or one interval after being armed.
    Cycle {
        /// `R3/...`: how many times; `R/...` or no `R`: unbounded.
        repetitions: Option<u32>,
        /// `R3/2026-11-24T07:00:00+07:00/PT1H`: the start instant.
        start: Option<DateTime<FixedOffset>>,
        /// The period.
        interval: IsoDuration,
    },
    /// A cron expression (Zeebe/Quartz style with seconds, or classic five fields), evaluated
    /// in Asia/Ho_Chi_Minh; fires at every match.
    Cron {
        /// The expression as written.
        expression: String,
        /// The parsed schedule.
        schedule: Box<cron::Schedule>,
    },
    /// Fire once after this many working days (motcua `workingDays`; decimals: half days).
    WorkingDays(f64),
    /// A FEEL or `${...}` expression, evaluated when the timer is armed; its text result is
    /// read as a value of `kind`.
    Expression {
        /// Which element it was in.
        kind: TimerKind,
        /// The expression.
        expression: Expression,
    },
}

/// A timer event's definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    /// Which element the value was in.
    pub kind: TimerKind,
    /// The value.
    pub spec: TimerSpec,
    /// The value as written in the file (for people and the journal).
    pub source: String,
}

/// A timer value that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimerError(pub String);

/// Vietnam's offset: UTC+7 all year (Asia/Ho_Chi_Minh has had no daylight saving since 1975).
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| Utc.fix())
}

/// How each timer kind's value may be written, for error messages.
const DURATION_EXAMPLE: &str = "an ISO 8601 duration such as P3D or PT4H";
const DATE_EXAMPLE: &str = "an ISO 8601 date-time such as 2026-11-24T07:00:00+07:00 (without an \
                            offset it is Vietnam time, UTC+7) or a date such as 2026-11-24";
const CYCLE_EXAMPLE: &str = "an ISO 8601 repeating interval such as R3/PT1H or \
                             R/2026-11-24T07:00:00+07:00/P1D, or a cron expression such as \
                             `0 0 7 * * MON-FRI`";

impl TimerKind {
    /// The BPMN element the value is written in: `timeDuration`, `timeDate` or `timeCycle`.
    pub fn element_name(self) -> &'static str {
        match self {
            TimerKind::Duration => "timeDuration",
            TimerKind::Date => "timeDate",
            TimerKind::Cycle => "timeCycle",
        }
    }

    /// The kind of a BPMN element name (`timeDuration`, `timeDate`, `timeCycle`).
    pub fn of_element(local: &str) -> Option<TimerKind> {
        match local {
            "timeDuration" => Some(TimerKind::Duration),
            "timeDate" => Some(TimerKind::Date),
            "timeCycle" => Some(TimerKind::Cycle),
            _ => None,
        }
    }

    fn example(self) -> &'static str {
        match self {
            TimerKind::Duration => DURATION_EXAMPLE,
            TimerKind::Date => DATE_EXAMPLE,
            TimerKind::Cycle => CYCLE_EXAMPLE,
        }
    }
}

impl IsoDuration {
    /// Parses an ISO 8601 duration: `P3D`, `PT4H`, `P1Y2M3W4DT5H6M7.5S`, `PT0.5S`, `P0D`.
    ///
    /// Designators may be lower case; only seconds may have a fraction (`.` or `,`). Negative
    /// durations, an empty `P` or `PT`, units out of order or repeated are refused; the message
    /// reads "`text` is not an ISO 8601 duration such as P3D or PT4H: why".
    pub fn parse(text: &str) -> Result<IsoDuration, TimerError> {
        let fail = |why: String| TimerError(format!("`{text}` is not {DURATION_EXAMPLE}: {why}"));
        let t = text.trim();
        if t.is_empty() {
            return Err(fail("it is empty".into()));
        }
        if t.starts_with('-') {
            return Err(fail("negative durations are not supported".into()));
        }
        let Some(rest) = t.strip_prefix(['P', 'p']) else {
            return Err(fail("a duration starts with P".into()));
        };
        if rest.is_empty() {
            return Err(fail("`P` alone names no amount; write e.g. P1D".into()));
        }
        let (date, time) = match rest.find(['T', 't']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if time == Some("") {
            return Err(fail(
                "`T` must be followed by hours, minutes or seconds, e.g. PT4H".into(),
            ));
        }
        let mut d = IsoDuration::default();
        for (part, units, in_time) in [(Some(date), "YMWD", false), (time, "HMS", true)]
            .into_iter()
            .filter_map(|(p, u, t)| p.map(|p| (p, u, t)))
        {
            let mut last: Option<usize> = None;
            let mut number = String::new();
            for c in part.chars() {
                if c.is_ascii_digit() || c == '.' || c == ',' {
                    number.push(c);
                    continue;
                }
                let unit = c.to_ascii_uppercase();
                let Some(rank) = units.find(unit) else {
                    let place = if in_time { "after T" } else { "before T" };
                    return Err(fail(format!(
                        "`{c}` is not a unit {place}: use Y, M, W, D before T and H, M, S after it"
                    )));
                };
                if number.is_empty() {
                    return Err(fail(format!("`{c}` has no number before it")));
                }
                if last.is_some_and(|l| l >= rank) {
                    return Err(fail(format!(
                        "units must appear once each, in the order {}",
                        if in_time { "H, M, S" } else { "Y, M, W, D" }
                    )));
                }
                last = Some(rank);
                let fraction = number.contains(['.', ',']);
                if unit == 'S' && in_time {
                    let n = number.replace(',', ".");
                    let ok = !n.starts_with('.') && !n.ends_with('.');
                    match n.parse::<f64>() {
                        Ok(s) if ok && s.is_finite() => d.seconds = s,
                        _ => return Err(fail(format!("`{number}` is not a number of seconds"))),
                    }
                } else if fraction {
                    return Err(fail(format!(
                        "only seconds may have a fraction (`{number}{c}`); write e.g. PT1H30M \
                         instead of PT1.5H"
                    )));
                } else {
                    let n: u32 = number
                        .parse()
                        .map_err(|_| fail(format!("`{number}` is too large")))?;
                    match (in_time, unit) {
                        (false, 'Y') => d.years = n,
                        (false, 'M') => d.months = n,
                        (false, 'W') => d.weeks = n,
                        (false, _) => d.days = n,
                        (true, 'H') => d.hours = n,
                        (true, _) => d.minutes = n,
                    }
                }
                number.clear();
            }
            if !number.is_empty() {
                return Err(fail(format!("the number `{number}` has no unit after it")));
            }
        }
        Ok(d)
    }

    /// Whether every component is zero (`P0D`, `PT0S`).
    pub fn is_zero(&self) -> bool {
        self.years == 0
            && self.months == 0
            && self.weeks == 0
            && self.days == 0
            && self.hours == 0
            && self.minutes == 0
            && self.seconds == 0.0
    }

    /// `at` plus this duration: years and months as calendar months on the date in Vietnam
    /// (UTC+7), the day of month clamped to the month's last day (31 January + P1M is
    /// 28 or 29 February); weeks, days, hours, minutes and seconds as exact time (Vietnam has no
    /// daylight saving, so a day is always 24 hours). `None` when out of range.
    pub fn add_to(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut local = at.with_timezone(&vietnam());
        let months = self.years.checked_mul(12)?.checked_add(self.months)?;
        if months > 0 {
            local = local.checked_add_months(Months::new(months))?;
        }
        let whole = self.seconds.trunc();
        if !(0.0..=1e12).contains(&whole) {
            return None;
        }
        let nanos = ((self.seconds - whole) * 1e9).round() as i64;
        let days = i64::from(self.weeks) * 7 + i64::from(self.days);
        let secs = days * 86_400
            + i64::from(self.hours) * 3_600
            + i64::from(self.minutes) * 60
            + whole as i64;
        let exact = Duration::try_seconds(secs)?.checked_add(&Duration::nanoseconds(nanos))?;
        local
            .checked_add_signed(exact)
            .map(|d| d.with_timezone(&Utc))
    }
}

impl std::fmt::Display for IsoDuration {
    /// The canonical form: `P1Y2M3W4DT5H6M7.5S`, `PT0S` when zero.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_zero() {
            return f.write_str("PT0S");
        }
        f.write_str("P")?;
        for (n, u) in [
            (self.years, 'Y'),
            (self.months, 'M'),
            (self.weeks, 'W'),
            (self.days, 'D'),
        ] {
            if n > 0 {
                write!(f, "{n}{u}")?;
            }
        }
        if self.hours > 0 || self.minutes > 0 || self.seconds > 0.0 {
            f.write_str("T")?;
            for (n, u) in [(self.hours, 'H'), (self.minutes, 'M')] {
                if n > 0 {
                    write!(f, "{n}{u}")?;
                }
            }
            if self.seconds > 0.0 {
                write!(f, "{}S", self.seconds)?;
            }
        }
        Ok(())
    }
}

/// Whether a timer text is an expression to evaluate when the timer is armed: FEEL (`= ...`) or
/// Camunda 7 (`${...}`, `#{...}`).
fn is_expression(text: &str) -> bool {
    text.starts_with('=') || text.starts_with("${") || text.starts_with("#{")
}

impl TimerSpec {
    /// Parses the text of a `timeDuration`, `timeDate` or `timeCycle` element.
    ///
    /// - `timeDuration`: an ISO 8601 duration ([`IsoDuration::parse`]).
    /// - `timeDate`: an ISO 8601 / RFC 3339 date-time with an offset or `Z`; without an offset
    ///   it is Vietnam time (UTC+7); a bare date `2026-11-24` is 00:00 Vietnam time. A zone
    ///   suffix such as `[Asia/Ho_Chi_Minh]` after the offset is ignored.
    /// - `timeCycle`: `R3/PT1H` (three times, the first one interval after arming), `R/PT1H`
    ///   (without end), `R3/2026-11-24T07:00:00+07:00/PT1H` (the first at the start instant), a
    ///   bare duration `PT1H` (without end), or a cron expression: six fields (Quartz/Zeebe:
    ///   seconds minutes hours day-of-month month day-of-week, an optional seventh for years;
    ///   numeric days of week count from 1 = Sunday, names `MON`-`SUN` are clearer) or the
    ///   classic five fields (minutes ... day-of-week, 0 or 7 = Sunday), evaluated in Vietnam
    ///   time. `R3/PT1H/2026-...` (interval then end) is refused.
    /// - Text starting with `=` (FEEL) or `${` (Camunda 7) is an expression, evaluated when the
    ///   timer is armed; the engine reads its result with [`parse_value`].
    ///
    /// Errors read "timeDuration `P3X` is not an ISO 8601 duration such as P3D or PT4H: why".
    pub fn parse(kind: TimerKind, text: &str) -> Result<TimerSpec, TimerError> {
        let t = text.trim();
        if is_expression(t) {
            return match Expression::parse(t) {
                Ok(expression) => Ok(TimerSpec::Expression { kind, expression }),
                Err(e) => Err(TimerError(format!(
                    "{} `{t}` is an expression that does not parse: {} at character {}",
                    kind.element_name(),
                    e.message,
                    e.offset + 1
                ))),
            };
        }
        parse_value(kind, t)
    }

    /// The due instant of the timer's `fired + 1`-th firing, or `None` when it fires no more
    /// (or the spec needs the engine: [`TimerSpec::WorkingDays`] needs the working-day calendar
    /// and [`TimerSpec::Expression`] must first be evaluated and read with [`parse_value`]).
    ///
    /// `armed_at` is when the timer was armed (the token arrived, the activity began, the
    /// definition was deployed); `fired` how many times it has fired; `last_due` the due instant
    /// of the last firing, if any.
    ///
    /// - `Duration(d)`: `armed_at + d` once.
    /// - `Date(t)`: `t` once (possibly already past: the engine fires it at once).
    /// - `Cycle` without start (`R3/PT1H`): one interval after arming, then every interval after
    ///   the last due instant; with a start (`R3/<start>/PT1H`): at the start, then every
    ///   interval. `R<n>` fires `n` times in all, `R` without end. Calendar months step from the
    ///   last due instant (31 Jan, 28 Feb, 28 Mar for P1M), as Camunda does.
    /// - `Cron`: the first schedule instant, in Vietnam time, strictly after
    ///   `last_due.unwrap_or(armed_at)`.
    pub fn next_after(
        &self,
        armed_at: DateTime<Utc>,
        fired: u32,
        last_due: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        match self {
            TimerSpec::Duration(d) => (fired == 0).then(|| d.add_to(armed_at)).flatten(),
            TimerSpec::Date(t) => (fired == 0).then(|| t.with_timezone(&Utc)),
            TimerSpec::Cycle {
                repetitions,
                start,
                interval,
            } => {
                if repetitions.is_some_and(|n| fired >= n) || interval.is_zero() {
                    return None;
                }
                if let (true, Some(last)) = (fired > 0, last_due) {
                    return interval.add_to(last);
                }
                let (mut due, steps) = match start {
                    Some(s) => (s.with_timezone(&Utc), fired),
                    None => (armed_at, fired.checked_add(1)?),
                };
                for _ in 0..steps {
                    due = interval.add_to(due)?;
                }
                Some(due)
            }
            TimerSpec::Cron { schedule, .. } => {
                let from = last_due.unwrap_or(armed_at).with_timezone(&vietnam());
                schedule.after(&from).next().map(|d| d.with_timezone(&Utc))
            }
            TimerSpec::WorkingDays(_) | TimerSpec::Expression { .. } => None,
        }
    }
}

/// Reads a timer value that is not an expression: what [`TimerSpec::parse`] does for literal
/// text, and what the engine uses to read the string an expression evaluated to. Expressions are
/// refused here.
pub fn parse_value(kind: TimerKind, text: &str) -> Result<TimerSpec, TimerError> {
    let t = text.trim();
    let element = kind.element_name();
    if t.is_empty() {
        return Err(TimerError(format!(
            "{element} is empty: write {}",
            kind.example()
        )));
    }
    if is_expression(t) {
        return Err(TimerError(format!(
            "{element} `{t}` is an expression, where {} is expected",
            kind.example()
        )));
    }
    let prefix = |e: TimerError| TimerError(format!("{element} {}", e.0));
    match kind {
        TimerKind::Duration => IsoDuration::parse(t)
            .map(TimerSpec::Duration)
            .map_err(prefix),
        TimerKind::Date => parse_date(t).map(TimerSpec::Date).map_err(prefix),
        TimerKind::Cycle => parse_cycle(t).map_err(prefix),
    }
}

/// Reads motcua's `workingDays`: a positive multiple of half a day (`2`, `0.5`, `1.5`).
pub fn parse_working_days(text: &str) -> Result<f64, TimerError> {
    match text.trim().parse::<f64>() {
        Ok(d) if d.is_finite() && d > 0.0 && d <= 10_000.0 && (d * 2.0).fract() == 0.0 => Ok(d),
        _ => Err(TimerError(format!(
            "motcua:workingDays `{text}` is not a number of working days: write a positive \
             multiple of 0.5 such as 2 or 0.5"
        ))),
    }
}

impl Timer {
    /// Parses the text of a `timeDuration`, `timeDate` or `timeCycle` element
    /// ([`TimerSpec::parse`]); `source` keeps the text, trimmed.
    pub fn parse(kind: TimerKind, text: &str) -> Result<Timer, TimerError> {
        Ok(Timer {
            kind,
            spec: TimerSpec::parse(kind, text)?,
            source: text.trim().to_owned(),
        })
    }

    /// A timer of motcua's `workingDays` ([`parse_working_days`]): kind `Duration`, spec
    /// [`TimerSpec::WorkingDays`], source the attribute value.
    pub fn working_days(text: &str) -> Result<Timer, TimerError> {
        Ok(Timer {
            kind: TimerKind::Duration,
            spec: TimerSpec::WorkingDays(parse_working_days(text)?),
            source: text.trim().to_owned(),
        })
    }
}

/// Reads an ISO 8601 date-time; without an offset it is Vietnam time.
fn parse_date(text: &str) -> Result<DateTime<FixedOffset>, TimerError> {
    let fail = || TimerError(format!("`{text}` is not {DATE_EXAMPLE}"));
    let mut t = text.trim().to_owned();
    // A zoned form such as `2026-11-24T07:00:00+07:00[Asia/Ho_Chi_Minh]`: the offset decides.
    if let (Some(i), true) = (t.find('['), t.ends_with(']')) {
        t.truncate(i);
    }
    if t.ends_with(['Z', 'z']) {
        t.pop();
        t.push_str("+00:00");
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(&t) {
        return Ok(d);
    }
    let t = t.replacen(' ', "T", 1);
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(&t, f) {
            return Ok(d);
        }
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&t, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or_else(fail)?;
    vietnam()
        .from_local_datetime(&local)
        .single()
        .ok_or_else(fail)
}

/// Reads a `timeCycle`: an ISO 8601 repeating interval, a bare duration, or a cron expression.
fn parse_cycle(text: &str) -> Result<TimerSpec, TimerError> {
    let mut chars = text.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase());
    let second = chars.next();
    let repeating = first == Some('R') && second.is_none_or(|c| c.is_ascii_digit() || c == '/');
    if first == Some('P') {
        let interval = IsoDuration::parse(text)?;
        return cycle(text, None, None, interval);
    }
    if !repeating {
        return parse_cron(text);
    }
    let fail = |why: &str| TimerError(format!("`{text}` is not {CYCLE_EXAMPLE}: {why}"));
    let parts: Vec<&str> = text.split('/').map(str::trim).collect();
    let repetitions = match &parts[0][1..] {
        "" => None,
        n => match n.parse::<u32>() {
            Ok(0) => {
                return Err(fail(
                    "R0 never fires; write R1 or more, or R alone for no end",
                ))
            }
            Ok(n) => Some(n),
            Err(_) => {
                return Err(fail(&format!(
                    "`{}` is not a number of repetitions",
                    parts[0]
                )))
            }
        },
    };
    let is_duration = |p: &str| p.starts_with(['P', 'p']);
    match parts.as_slice() {
        [_] => Err(fail("the interval is missing, e.g. R3/PT1H")),
        [_, d] if is_duration(d) => cycle(text, repetitions, None, IsoDuration::parse(d)?),
        [_, _] => Err(fail(
            "the interval is missing after the start, e.g. R3/2026-11-24T07:00:00+07:00/PT1H",
        )),
        [_, d, _] if is_duration(d) => Err(fail(
            "an interval followed by an end is not supported; write the start and the interval, \
             e.g. R3/2026-11-24T07:00:00+07:00/PT1H",
        )),
        [_, s, d] if is_duration(d) => {
            let start = parse_date(s).map_err(|e| fail(&format!("the start {}", e.0)))?;
            cycle(text, repetitions, Some(start), IsoDuration::parse(d)?)
        }
        [_, _, _] => Err(fail(
            "a start and an end are not supported; write the start and the interval, e.g. \
             R3/2026-11-24T07:00:00+07:00/PT1H",
        )),
        _ => Err(fail("too many `/` parts")),
    }
}

fn cycle(
    text: &str,
    repetitions: Option<u32>,
    start: Option<DateTime<FixedOffset>>,
    interval: IsoDuration,
) -> Result<TimerSpec, TimerError> {
    if interval.is_zero() {
        return Err(TimerError(format!(
            "`{text}` repeats every zero interval: give the interval a length, e.g. PT1H"
        )));
    }
    Ok(TimerSpec::Cycle {
        repetitions,
        start,
        interval,
    })
}

/// Reads a cron expression: six or seven fields as is, five (classic) with a `0` seconds field
/// prepended and the day of week renumbered (classic 0/7 = Sunday; Quartz 1 = Sunday).
fn parse_cron(text: &str) -> Result<TimerSpec, TimerError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let normal = match fields.as_slice() {
        [m, h, dom, mon, dow] => format!("0 {m} {h} {dom} {mon} {}", classic_dow(dow)),
        [_, _, _, _, _, _] | [_, _, _, _, _, _, _] => fields.join(" "),
        _ => {
            return Err(TimerError(format!(
                "`{text}` is not {CYCLE_EXAMPLE}: a cron expression has six fields (seconds \
                 minutes hours day-of-month month day-of-week) or five (minutes hours \
                 day-of-month month day-of-week), not {}",
                fields.len()
            )))
        }
    };
    match cron::Schedule::from_str(&normal) {
        Ok(schedule) => Ok(TimerSpec::Cron {
            expression: text.to_owned(),
            schedule: Box::new(schedule),
        }),
        Err(e) => Err(TimerError(format!(
            "`{text}` is not {CYCLE_EXAMPLE}: as a cron expression, {e}"
        ))),
    }
}

/// A classic cron day-of-week field (0 or 7 = Sunday) in Quartz numbering (1 = Sunday).
/// Numeric items are expanded to lists; names, `*` and `?` are the same in both.
fn classic_dow(field: &str) -> String {
    let numeric = |s: &str| s.parse::<u32>().ok().filter(|n| *n <= 7);
    let mut days: Vec<u32> = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => match s.parse::<u32>() {
                Ok(s) if s > 0 => (r, s),
                _ => return field.to_owned(),
            },
            None => (item, 1),
        };
        let (lo, hi) = match range {
            "*" | "?" if step == 1 => return field.to_owned(),
            "*" | "?" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => match (numeric(a), numeric(b)) {
                    (Some(a), Some(b)) if a <= b => (a, b),
                    _ => return field.to_owned(),
                },
                None => match numeric(r) {
                    Some(a) if step == 1 => (a, a),
                    Some(a) => (a, 7),
                    None => return field.to_owned(),
                },
            },
        };
        days.extend((lo..=hi).step_by(step as usize).map(|d| d % 7 + 1));
    }
    days.sort_unstable();
    days.dedup();
    days.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests;
