//! The status of a directive's assignment, computed (never stored) from its deadline, its
//! completion time and the working-day calendar at a given moment, and the roll-up of a parent
//! over its child tasks. Pure: no clock, no I/O.
//!
//! Rules:
//! - done (the agency reported completion; a reopening clears it): **done on time** when
//!   completed at or before the deadline, else **done late** with the working days late;
//! - open, after the deadline: **overdue** with the working days late so far;
//! - open, with the deadline within [`DUE_SOON_WORKING_DAYS`] working days (deadline ≤ now + 3
//!   working days): **due soon**;
//! - else **in progress**.
//!
//! Days late are whole working days begun after the deadline (an hour late is 1 day, a
//! deadline Friday 17:00 met Monday 09:00 is 1 day: the weekend does not count).
//!
//! Roll-up: a parent that is done keeps its own status. While it is open, the worst of its own
//! status and its children's rolled-up statuses wins, in the order overdue (most days late) >
//! due soon > in progress; children that are done do not change an open parent's status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;

/// "Due soon" starts this many working days before the deadline.
pub const DUE_SOON_WORKING_DAYS: f64 = 3.0;

/// An assignment's status at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DirectiveStatus {
    /// Open, more than 3 working days before the deadline.
    InProgress,
    /// Open, the deadline within 3 working days.
    DueSoon,
    /// Open, past the deadline.
    Overdue {
        /// Working days late so far.
        days_late: u32,
    },
    /// Completed by the deadline.
    DoneOnTime,
    /// Completed after the deadline.
    DoneLate {
        /// Working days late.
        days_late: u32,
    },
}

impl DirectiveStatus {
    /// `in_progress`, `due_soon`, `overdue`, `done_on_time`, `done_late`.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectiveStatus::InProgress => "in_progress",
            DirectiveStatus::DueSoon => "due_soon",
            DirectiveStatus::Overdue { .. } => "overdue",
            DirectiveStatus::DoneOnTime => "done_on_time",
            DirectiveStatus::DoneLate { .. } => "done_late",
        }
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            DirectiveStatus::InProgress => "Đang thực hiện",
            DirectiveStatus::DueSoon => "Sắp đến hạn",
            DirectiveStatus::Overdue { .. } => "Quá hạn",
            DirectiveStatus::DoneOnTime => "Hoàn thành đúng hạn",
            DirectiveStatus::DoneLate { .. } => "Hoàn thành quá hạn",
        }
    }

    /// Completed (on time or late).
    pub fn is_done(self) -> bool {
        matches!(
            self,
            DirectiveStatus::DoneOnTime | DirectiveStatus::DoneLate { .. }
        )
    }

    /// How bad an open status is (higher is worse); done statuses are 0.
    fn severity(self) -> (u8, u32) {
        match self {
            DirectiveStatus::Overdue { days_late } => (3, days_late),
            DirectiveStatus::DueSoon => (2, 0),
            DirectiveStatus::InProgress => (1, 0),
            _ => (0, 0),
        }
    }
}

/// Whole working days begun between `deadline` and a later `at` (at least 1).
pub fn days_late(calendar: &WorkCalendar, deadline: DateTime<Utc>, at: DateTime<Utc>) -> u32 {
    let floor = calendar.working_days_between(deadline, at).max(0.0).floor();
    let reached = calendar.add_working_days(deadline, floor).unwrap_or(at);
    let days = if reached < at { floor + 1.0 } else { floor };
    (days.max(1.0)) as u32
}

/// The status of one assignment at `now`.
pub fn status(
    calendar: &WorkCalendar,
    deadline: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DirectiveStatus {
    match completed_at {
        Some(done) if done <= deadline => DirectiveStatus::DoneOnTime,
        Some(done) => DirectiveStatus::DoneLate {
            days_late: days_late(calendar, deadline, done),
        },
        None if now > deadline => DirectiveStatus::Overdue {
            days_late: days_late(calendar, deadline, now),
        },
        None => {
            let soon = calendar
                .add_working_days(now, DUE_SOON_WORKING_DAYS)
                .unwrap_or(now);
            if deadline <= soon {
                DirectiveStatus::DueSoon
            } else {
                DirectiveStatus::InProgress
            }
        }
    }
}

/// A parent's status over its children's (already rolled-up) statuses: see the module doc.
pub fn roll_up(own: DirectiveStatus, children: &[DirectiveStatus]) -> DirectiveStatus {
    if own.is_done() {
        return own;
    }
    children
        .iter()
        .copied()
        .filter(|c| !c.is_done())
        .fold(own, |worst, c| {
            if c.severity() > worst.severity() {
                c
            } else {
                worst
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap() - Duration::hours(7)
    }

    #[test]
    fn statuses_by_the_calendar() {
        let cal = WorkCalendar::vietnam();
        // Deadline Thursday 6/5/2027 17:00; 30/4 and 1/5 (a Saturday, compensated Monday 3/5)
        // are holidays.
        let deadline = local(2027, 5, 6, 17);
        assert_eq!(
            status(&cal, deadline, None, local(2027, 4, 26, 9)),
            DirectiveStatus::InProgress
        );
        // 3 working days before: Wednesday 29/4 ... Tuesday 4/5, Wednesday 5/5, Thursday 6/5.
        assert_eq!(
            status(&cal, deadline, None, local(2027, 4, 29, 17)),
            DirectiveStatus::DueSoon
        );
        assert_eq!(
            status(&cal, deadline, None, local(2027, 4, 28, 16)),
            DirectiveStatus::InProgress
        );
        assert_eq!(
            status(&cal, deadline, None, local(2027, 5, 7, 9)),
            DirectiveStatus::Overdue { days_late: 1 }
        );
        assert_eq!(
            status(
                &cal,
                deadline,
                Some(local(2027, 5, 6, 10)),
                local(2027, 6, 1, 9)
            ),
            DirectiveStatus::DoneOnTime
        );
        // Done Tuesday 11/5 10:00: Friday, Monday, Tuesday begun = 3 working days late.
        assert_eq!(
            status(
                &cal,
                deadline,
                Some(local(2027, 5, 11, 10)),
                local(2027, 6, 1, 9)
            ),
            DirectiveStatus::DoneLate { days_late: 3 }
        );
    }

    #[test]
    fn the_worst_open_child_wins() {
        let overdue = DirectiveStatus::Overdue { days_late: 2 };
        assert_eq!(
            roll_up(
                DirectiveStatus::InProgress,
                &[DirectiveStatus::DueSoon, overdue]
            ),
            overdue
        );
        assert_eq!(
            roll_up(
                DirectiveStatus::DueSoon,
                &[DirectiveStatus::DoneLate { days_late: 4 }]
            ),
            DirectiveStatus::DueSoon
        );
        assert_eq!(
            roll_up(DirectiveStatus::DoneOnTime, &[overdue]),
            DirectiveStatus::DoneOnTime
        );
    }
}
