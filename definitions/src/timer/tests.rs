//! Tests of timer values: `check(kind, text, expect)` parses a value and compares a compact
//! rendering of the spec (or the error message) with the expectation.

use chrono::{DateTime, Utc};

use super::*;

/// Renders a parsed spec compactly, or `error: <message>`.
fn render(result: Result<TimerSpec, TimerError>) -> String {
    match result {
        Ok(TimerSpec::Duration(d)) => format!("duration {d}"),
        Ok(TimerSpec::Date(t)) => format!("date {}", t.to_rfc3339()),
        Ok(TimerSpec::Cycle {
            repetitions,
            start,
            interval,
        }) => {
            let r = repetitions.map_or("R".to_owned(), |n| format!("R{n}"));
            match start {
                Some(s) => format!("cycle {r}/{}/{interval}", s.to_rfc3339()),
                None => format!("cycle {r}/{interval}"),
            }
        }
        Ok(TimerSpec::Cron { expression, .. }) => format!("cron {expression}"),
        Ok(TimerSpec::WorkingDays(d)) => format!("workingDays {d}"),
        Ok(TimerSpec::Expression { kind, expression }) => {
            format!("expression {} {}", kind.element_name(), expression.source())
        }
        Err(e) => format!("error: {e}"),
    }
}

#[track_caller]
fn check(kind: TimerKind, text: &str, expect: &str) {
    assert_eq!(
        render(TimerSpec::parse(kind, text)),
        expect,
        "input: {text:?}"
    );
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a test instant")
        .with_timezone(&Utc)
}

fn local(d: Option<DateTime<Utc>>) -> String {
    d.map_or("none".into(), |d| d.with_timezone(&vietnam()).to_rfc3339())
}

#[test]
fn durations() {
    use TimerKind::Duration as D;
    for (text, expect) in [
        ("P3D", "duration P3D"),
        ("PT4H", "duration PT4H"),
        ("P1Y2M3W4DT5H6M7.5S", "duration P1Y2M3W4DT5H6M7.5S"),
        ("PT0.5S", "duration PT0.5S"),
        ("PT0,5S", "duration PT0.5S"),
        ("P0D", "duration PT0S"),
        ("PT15M", "duration PT15M"),
        ("  pt1h30m \n", "duration PT1H30M"),
        ("P2W", "duration P2W"),
        ("PT36H", "duration PT36H"),
        (
            "P",
            "error: timeDuration `P` is not an ISO 8601 duration such as P3D or PT4H: `P` alone \
             names no amount; write e.g. P1D",
        ),
        (
            "PT",
            "error: timeDuration `PT` is not an ISO 8601 duration such as P3D or PT4H: `T` must \
             be followed by hours, minutes or seconds, e.g. PT4H",
        ),
        (
            "P1DT",
            "error: timeDuration `P1DT` is not an ISO 8601 duration such as P3D or PT4H: `T` \
             must be followed by hours, minutes or seconds, e.g. PT4H",
        ),
        (
            "-P3D",
            "error: timeDuration `-P3D` is not an ISO 8601 duration such as P3D or PT4H: \
             negative durations are not supported",
        ),
        (
            "P3X",
            "error: timeDuration `P3X` is not an ISO 8601 duration such as P3D or PT4H: `X` is \
             not a unit before T: use Y, M, W, D before T and H, M, S after it",
        ),
        (
            "P4H",
            "error: timeDuration `P4H` is not an ISO 8601 duration such as P3D or PT4H: `H` is \
             not a unit before T: use Y, M, W, D before T and H, M, S after it",
        ),
        (
            "3 days",
            "error: timeDuration `3 days` is not an ISO 8601 duration such as P3D or PT4H: a \
             duration starts with P",
        ),
        (
            "PT1.5H",
            "error: timeDuration `PT1.5H` is not an ISO 8601 duration such as P3D or PT4H: only \
             seconds may have a fraction (`1.5H`); write e.g. PT1H30M instead of PT1.5H",
        ),
        (
            "PT30M1H",
            "error: timeDuration `PT30M1H` is not an ISO 8601 duration such as P3D or PT4H: \
             units must appear once each, in the order H, M, S",
        ),
        (
            "P1D1D",
            "error: timeDuration `P1D1D` is not an ISO 8601 duration such as P3D or PT4H: units \
             must appear once each, in the order Y, M, W, D",
        ),
        (
            "P1",
            "error: timeDuration `P1` is not an ISO 8601 duration such as P3D or PT4H: the \
             number `1` has no unit after it",
        ),
        (
            "PTH",
            "error: timeDuration `PTH` is not an ISO 8601 duration such as P3D or PT4H: `H` has \
             no number before it",
        ),
        (
            "PT.5S",
            "error: timeDuration `PT.5S` is not an ISO 8601 duration such as P3D or PT4H: `.5` \
             is not a number of seconds",
        ),
        (
            "P99999999999D",
            "error: timeDuration `P99999999999D` is not an ISO 8601 duration such as P3D or \
             PT4H: `99999999999` is too large",
        ),
        (
            "",
            "error: timeDuration is empty: write an ISO 8601 duration such as P3D or PT4H",
        ),
        (
            "2026-11-24",
            "error: timeDuration `2026-11-24` is not an ISO 8601 duration such as P3D or PT4H: \
             a duration starts with P",
        ),
    ] {
        check(D, text, expect);
    }
    assert!(IsoDuration::parse("P0D").unwrap().is_zero());
    assert!(IsoDuration::parse("PT0.0S").unwrap().is_zero());
    assert!(!IsoDuration::parse("PT0.5S").unwrap().is_zero());
}

#[test]
fn duration_arithmetic() {
    let add = |d: &str, at: &str| local(IsoDuration::parse(d).unwrap().add_to(utc(at)));
    assert_eq!(
        add("P3D", "2026-11-24T08:00:00+07:00"),
        "2026-11-27T08:00:00+07:00"
    );
    assert_eq!(
        add("PT0.5S", "2026-11-24T08:00:00+07:00"),
        "2026-11-24T08:00:00.500+07:00"
    );
    assert_eq!(
        add("P1W1DT1H1M1S", "2026-11-24T08:00:00+07:00"),
        "2026-12-02T09:01:01+07:00"
    );
    // Months are calendar months on the Vietnam date, clamped to the month's end: 31 January at
    // 06:00 in Vietnam is still 30 January in UTC, yet P1M lands on 28 February (Vietnam).
    assert_eq!(
        add("P1M", "2026-01-31T06:00:00+07:00"),
        "2026-02-28T06:00:00+07:00"
    );
    assert_eq!(
        add("P1Y", "2028-02-29T10:00:00+07:00"),
        "2029-02-28T10:00:00+07:00"
    );
    assert_eq!(
        add("P1MT12H", "2026-01-31T20:00:00+07:00"),
        "2026-03-01T08:00:00+07:00"
    );
    assert_eq!(add("P4000000000Y", "2026-01-31T20:00:00+07:00"), "none");
}

#[test]
fn dates() {
    use TimerKind::Date as D;
    for (text, expect) in [
        (
            "2026-11-24T07:00:00+07:00",
            "date 2026-11-24T07:00:00+07:00",
        ),
        ("2026-11-24T00:00:00Z", "date 2026-11-24T00:00:00+00:00"),
        ("2026-11-24T00:00Z", "date 2026-11-24T00:00:00+00:00"),
        (
            "2026-11-24T07:30:00.250+07:00",
            "date 2026-11-24T07:30:00.250+07:00",
        ),
        ("2026-11-24T07:30+0700", "date 2026-11-24T07:30:00+07:00"),
        (
            "2026-11-24 07:30:00+07:00",
            "date 2026-11-24T07:30:00+07:00",
        ),
        // Without an offset: Vietnam time.
        ("2026-11-24T07:30:00", "date 2026-11-24T07:30:00+07:00"),
        ("2026-11-24T07:30", "date 2026-11-24T07:30:00+07:00"),
        ("2026-11-24", "date 2026-11-24T00:00:00+07:00"),
        (
            "2019-10-02T08:09:40+02:00[Europe/Berlin]",
            "date 2019-10-02T08:09:40+02:00",
        ),
        (
            "24/11/2026",
            "error: timeDate `24/11/2026` is not an ISO 8601 date-time such as \
             2026-11-24T07:00:00+07:00 (without an offset it is Vietnam time, UTC+7) or a date \
             such as 2026-11-24",
        ),
        (
            "2026-02-30",
            "error: timeDate `2026-02-30` is not an ISO 8601 date-time such as \
             2026-11-24T07:00:00+07:00 (without an offset it is Vietnam time, UTC+7) or a date \
             such as 2026-11-24",
        ),
        (
            "PT1H",
            "error: timeDate `PT1H` is not an ISO 8601 date-time such as \
             2026-11-24T07:00:00+07:00 (without an offset it is Vietnam time, UTC+7) or a date \
             such as 2026-11-24",
        ),
    ] {
        check(D, text, expect);
    }
}

#[test]
fn cycles() {
    use TimerKind::Cycle as C;
    let bad = "is not an ISO 8601 repeating interval such as R3/PT1H or \
               R/2026-11-24T07:00:00+07:00/P1D, or a cron expression such as `0 0 7 * * MON-FRI`";
    for (text, expect) in [
        ("R3/PT1H", "cycle R3/PT1H".to_owned()),
        ("R/PT1H", "cycle R/PT1H".to_owned()),
        ("r/P1D", "cycle R/P1D".to_owned()),
        ("R3/PT10H", "cycle R3/PT10H".to_owned()),
        ("PT1H", "cycle R/PT1H".to_owned()),
        (
            "R3/2026-11-24T07:00:00+07:00/PT1H",
            "cycle R3/2026-11-24T07:00:00+07:00/PT1H".to_owned(),
        ),
        (
            "R/2026-11-24T07:00:00/P1D",
            "cycle R/2026-11-24T07:00:00+07:00/P1D".to_owned(),
        ),
        ("0 0 7 * * ?", "cron 0 0 7 * * ?".to_owned()),
        ("0 0 7 ? * MON-FRI", "cron 0 0 7 ? * MON-FRI".to_owned()),
        (
            "0 0/15 8-17 * * MON-FRI",
            "cron 0 0/15 8-17 * * MON-FRI".to_owned(),
        ),
        ("0 0 7 * * * 2027", "cron 0 0 7 * * * 2027".to_owned()),
        ("0 7 * * 1-5", "cron 0 7 * * 1-5".to_owned()),
        ("*/5 * * * *", "cron */5 * * * *".to_owned()),
        (
            "R3/PT1H/2026-11-24T07:00:00+07:00",
            format!(
                "error: timeCycle `R3/PT1H/2026-11-24T07:00:00+07:00` {bad}: an interval \
                 followed by an end is not supported; write the start and the interval, e.g. \
                 R3/2026-11-24T07:00:00+07:00/PT1H"
            ),
        ),
        (
            "R3/2026-11-24T07:00:00+07:00/2026-11-25T07:00:00+07:00",
            format!(
                "error: timeCycle `R3/2026-11-24T07:00:00+07:00/2026-11-25T07:00:00+07:00` \
                 {bad}: a start and an end are not supported; write the start and the interval, \
                 e.g. R3/2026-11-24T07:00:00+07:00/PT1H"
            ),
        ),
        (
            "R0/PT1H",
            format!(
                "error: timeCycle `R0/PT1H` {bad}: R0 never fires; write R1 or more, or R alone \
                 for no end"
            ),
        ),
        (
            "R3",
            format!("error: timeCycle `R3` {bad}: the interval is missing, e.g. R3/PT1H"),
        ),
        (
            "R3/PT0S",
            "error: timeCycle `R3/PT0S` repeats every zero interval: give the interval a \
             length, e.g. PT1H"
                .to_owned(),
        ),
        (
            "R3/PT1X",
            "error: timeCycle `PT1X` is not an ISO 8601 duration such as P3D or PT4H: `X` is \
             not a unit after T: use Y, M, W, D before T and H, M, S after it"
                .to_owned(),
        ),
        (
            "R3/24-11-2026/PT1H",
            format!(
                "error: timeCycle `R3/24-11-2026/PT1H` {bad}: the start `24-11-2026` is not an \
                 ISO 8601 date-time such as 2026-11-24T07:00:00+07:00 (without an offset it is \
                 Vietnam time, UTC+7) or a date such as 2026-11-24"
            ),
        ),
        (
            "every day",
            format!(
                "error: timeCycle `every day` {bad}: a cron expression has six fields (seconds \
                 minutes hours day-of-month month day-of-week) or five (minutes hours \
                 day-of-month month day-of-week), not 2"
            ),
        ),
    ] {
        check(C, text, &expect);
    }
    // The cron crate's own message follows "as a cron expression, ".
    let e = render(TimerSpec::parse(C, "0 0 25 * * *"));
    assert!(
        e.starts_with(&format!(
            "error: timeCycle `0 0 25 * * *` {bad}: as a cron expression, "
        )),
        "{e}"
    );
}

#[test]
fn expressions_and_values() {
    check(
        TimerKind::Duration,
        "= delay",
        "expression timeDuration = delay",
    );
    check(
        TimerKind::Date,
        "${environment.variables.catchDate}",
        "expression timeDate ${environment.variables.catchDate}",
    );
    check(
        TimerKind::Cycle,
        r#"="R" + string(n) + "/PT1H""#,
        r#"expression timeCycle ="R" + string(n) + "/PT1H""#,
    );
    check(
        TimerKind::Duration,
        "= (",
        "error: timeDuration `= (` is an expression that does not parse: expected an expression \
         after '(' at character 4",
    );
    // What the engine reads from an expression's result: never another expression.
    assert_eq!(
        render(parse_value(TimerKind::Duration, "PT2H")),
        "duration PT2H"
    );
    assert_eq!(
        render(parse_value(TimerKind::Duration, "= delay")),
        "error: timeDuration `= delay` is an expression, where an ISO 8601 duration such as P3D \
         or PT4H is expected"
    );
    assert_eq!(
        render(parse_value(TimerKind::Cycle, "R2/PT1M")),
        "cycle R2/PT1M"
    );
}

#[test]
fn working_days() {
    assert_eq!(parse_working_days("2"), Ok(2.0));
    assert_eq!(parse_working_days(" 0.5 "), Ok(0.5));
    assert_eq!(parse_working_days("1.5"), Ok(1.5));
    for bad in ["0", "-1", "1.25", "abc", "NaN", "inf", ""] {
        assert_eq!(
            parse_working_days(bad),
            Err(TimerError(format!(
                "motcua:workingDays `{bad}` is not a number of working days: write a positive \
                 multiple of 0.5 such as 2 or 0.5"
            )))
        );
    }
    let t = Timer::working_days("2").unwrap();
    assert_eq!(t.kind, TimerKind::Duration);
    assert_eq!(t.spec, TimerSpec::WorkingDays(2.0));
    assert_eq!(t.source, "2");
    let t = Timer::parse(TimerKind::Cycle, "\n  R3/PT1H\n").unwrap();
    assert_eq!(t.source, "R3/PT1H");
}

/// Every due instant of a spec armed at `armed`, fed back as the engine does, up to `max`.
fn dues(spec: &TimerSpec, armed: &str, max: u32) -> Vec<String> {
    let armed = utc(armed);
    let mut out = Vec::new();
    let mut last = None;
    for fired in 0..max {
        match spec.next_after(armed, fired, last) {
            Some(d) => {
                out.push(local(Some(d)));
                last = Some(d);
            }
            None => break,
        }
    }
    out
}

fn spec(kind: TimerKind, text: &str) -> TimerSpec {
    TimerSpec::parse(kind, text).unwrap()
}

#[test]
fn next_after_each_kind() {
    let armed = "2026-11-24T08:00:00+07:00";
    assert_eq!(
        dues(&spec(TimerKind::Duration, "PT15M"), armed, 5),
        ["2026-11-24T08:15:00+07:00"]
    );
    assert_eq!(
        dues(&spec(TimerKind::Date, "2026-12-01"), armed, 5),
        ["2026-12-01T00:00:00+07:00"]
    );
    // R3 without a start: one interval after arming, then every interval, three times in all.
    assert_eq!(
        dues(&spec(TimerKind::Cycle, "R3/PT1H"), armed, 10),
        [
            "2026-11-24T09:00:00+07:00",
            "2026-11-24T10:00:00+07:00",
            "2026-11-24T11:00:00+07:00"
        ]
    );
    // With a start: the first at the start.
    assert_eq!(
        dues(
            &spec(TimerKind::Cycle, "R3/2026-11-25T07:00:00+07:00/P1D"),
            armed,
            10
        ),
        [
            "2026-11-25T07:00:00+07:00",
            "2026-11-26T07:00:00+07:00",
            "2026-11-27T07:00:00+07:00"
        ]
    );
    // Unbounded.
    assert_eq!(
        dues(&spec(TimerKind::Cycle, "R/PT10M"), armed, 50).len(),
        50
    );
    // Calendar months step from the last due instant.
    assert_eq!(
        dues(
            &spec(TimerKind::Cycle, "R3/2026-01-31T09:00:00+07:00/P1M"),
            armed,
            10
        ),
        [
            "2026-01-31T09:00:00+07:00",
            "2026-02-28T09:00:00+07:00",
            "2026-03-28T09:00:00+07:00"
        ]
    );
    // Without the last due instant the engine gets the same answer.
    let c = spec(TimerKind::Cycle, "R3/PT1H");
    assert_eq!(
        local(c.next_after(utc(armed), 2, None)),
        "2026-11-24T11:00:00+07:00"
    );
    assert_eq!(local(c.next_after(utc(armed), 3, None)), "none");

    // Cron in Vietnam time: 07:00 every day, armed at 08:00 -> 07:00 the next day.
    assert_eq!(
        dues(&spec(TimerKind::Cycle, "0 0 7 * * *"), armed, 2),
        ["2026-11-25T07:00:00+07:00", "2026-11-26T07:00:00+07:00"]
    );
    assert_eq!(
        dues(&spec(TimerKind::Cycle, "0 0 7 * * ?"), armed, 1),
        ["2026-11-25T07:00:00+07:00"]
    );
    // 2026-11-27 is a Friday: weekdays only skip to Monday 30 November.
    assert_eq!(
        dues(
            &spec(TimerKind::Cycle, "0 0 7 * * MON-FRI"),
            "2026-11-27T08:00:00+07:00",
            2
        ),
        ["2026-11-30T07:00:00+07:00", "2026-12-01T07:00:00+07:00"]
    );
    // Classic five fields: 1-5 is Monday to Friday.
    assert_eq!(
        dues(
            &spec(TimerKind::Cycle, "0 7 * * 1-5"),
            "2026-11-27T08:00:00+07:00",
            2
        ),
        ["2026-11-30T07:00:00+07:00", "2026-12-01T07:00:00+07:00"]
    );
    // Classic 0 and 7 are Sunday (29 November 2026).
    for sunday in ["30 9 * * 0", "30 9 * * 7", "30 9 * * SUN"] {
        assert_eq!(
            dues(&spec(TimerKind::Cycle, sunday), armed, 1),
            ["2026-11-29T09:30:00+07:00"],
            "{sunday}"
        );
    }
    // From the last due instant, strictly after it.
    let cron = spec(TimerKind::Cycle, "0 0 7 * * *");
    assert_eq!(
        local(cron.next_after(utc(armed), 1, Some(utc("2026-11-25T07:00:00+07:00")))),
        "2026-11-26T07:00:00+07:00"
    );

    // The engine handles these.
    assert_eq!(
        TimerSpec::WorkingDays(2.0).next_after(utc(armed), 0, None),
        None
    );
    assert_eq!(
        spec(TimerKind::Duration, "= d").next_after(utc(armed), 0, None),
        None
    );
}

#[test]
fn classic_day_of_week() {
    assert_eq!(classic_dow("1-5"), "2,3,4,5,6");
    assert_eq!(classic_dow("0,6"), "1,7");
    assert_eq!(classic_dow("5-7"), "1,6,7");
    assert_eq!(classic_dow("*/2"), "1,3,5,7");
    assert_eq!(classic_dow("*"), "*");
    assert_eq!(classic_dow("MON-FRI"), "MON-FRI");
}
