//! The engine's directive methods: issue a directive (one instance of `theo-doi-chi-dao` per
//! assignment), split an assignment into child tasks, report progress, request and decide
//! extensions, complete, accept or reopen; list assignments with their computed status and
//! count them per agency and per leader.
//!
//! Each change is one commit on the assignment's instance with its journal event and the
//! projection rows: a progress report is a commit of its own (version + 1, one event); the
//! others complete the instance's open user task (`thuc-hien`, `xet-gia-han`, `nghiem-thu`)
//! through the step and add their event after the step's events, so replay re-runs the
//! completion and checks it. The assignment row carries its own version: a caller that read
//! version `n` passes it and a change made meanwhile is a conflict.
//!
//! Issuing a directive commits one instance per assignment, the lead's first (its commit also
//! writes the directive row). These are separate transactions: a failure after the first
//! leaves the directive with the assignments committed so far (the error says which agency
//! failed); the caller adds the missing one with [`Engine::add_assignment`].

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::status::{roll_up, status, DirectiveStatus};
use super::{
    AssignmentChange, AssignmentFilter, AssignmentRecord, AssignmentState, Deadline,
    DirectiveEffect, DirectiveRecord, ExtensionRecord, IssueDirective, ReportRecord, Role,
    ACCEPTANCE_TASK, DEFAULT_REPORT_EVERY_DAYS, EXTENSION_TASK, MAX_REPORT_EVERY_DAYS, PROCESS_KEY,
    WORK_TASK,
};
use crate::calendar::from_local;
use crate::command::{Command, Effect};
use crate::engine::{CommandOptions, Engine, Outcome};
use crate::error::EngineError;
use crate::event::Event;
use crate::ids::{DefinitionRef, InstanceId};
use crate::state::Wait;
use crate::step;
use crate::store::Store;

/// Reminders are armed this many working days before the deadline.
pub const REMINDER_WORKING_DAYS: [f64; 3] = [7.0, 3.0, 1.0];

/// Which assignments [`Engine::list_assignments`] returns; every given field must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssignmentQuery {
    /// One agency's (an agency sees only its own assignments).
    pub agency: Option<String>,
    /// One leader's directives.
    pub issuer: Option<String>,
    /// One directive's.
    pub directive: Option<String>,
    /// Only those with this (rolled-up) status: `in_progress`, `due_soon`, `overdue`,
    /// `done_on_time`, `done_late`.
    pub status: Option<String>,
    /// Directives issued at or after.
    pub issued_from: Option<DateTime<Utc>>,
    /// Directives issued before.
    pub issued_to: Option<DateTime<Utc>>,
    /// Text in the summary, content, title or document number (case-insensitive).
    pub text: Option<String>,
}

/// An assignment with its status at the moment asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentView {
    /// The row.
    pub assignment: AssignmentRecord,
    /// Its own status (deadline, completion, calendar).
    pub own_status: DirectiveStatus,
    /// Rolled up over its child tasks (see [`super::status`]).
    pub status: DirectiveStatus,
}

/// Counts per status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// In progress.
    pub in_progress: u32,
    /// Due soon.
    pub due_soon: u32,
    /// Overdue.
    pub overdue: u32,
    /// Done on time.
    pub done_on_time: u32,
    /// Done late.
    pub done_late: u32,
}

impl StatusCounts {
    fn add(&mut self, s: DirectiveStatus) {
        match s {
            DirectiveStatus::InProgress => self.in_progress += 1,
            DirectiveStatus::DueSoon => self.due_soon += 1,
            DirectiveStatus::Overdue { .. } => self.overdue += 1,
            DirectiveStatus::DoneOnTime => self.done_on_time += 1,
            DirectiveStatus::DoneLate { .. } => self.done_late += 1,
        }
    }

    /// Done on time / done; `None` when nothing is done.
    pub fn on_time_rate(&self) -> Option<f64> {
        let done = self.done_on_time + self.done_late;
        (done > 0).then(|| f64::from(self.done_on_time) / f64::from(done))
    }

    /// All counted.
    pub fn total(&self) -> u32 {
        self.in_progress + self.due_soon + self.overdue + self.done_on_time + self.done_late
    }
}

/// Statistics of the assignments a query selects, by their own status (a parent is counted
/// by its own deadline; its children are counted themselves).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DirectiveStatistics {
    /// Everything selected.
    pub total: StatusCounts,
    /// Per agency.
    pub by_agency: BTreeMap<String, StatusCounts>,
    /// Per issuing leader.
    pub by_leader: BTreeMap<String, StatusCounts>,
}

/// What identifies a directive command for its idempotency fingerprint (only with a key).
fn print_of(options: &CommandOptions, op: &str, args: Value) -> Option<Value> {
    options
        .idempotency_key
        .as_ref()
        .map(|_| json!({ "op": op, "args": args }))
}

/// The options of one assignment's start within an issue: the caller's idempotency key,
/// made distinct per agency so that each start records its own answer.
fn part_options(options: &CommandOptions, agency: &str) -> CommandOptions {
    CommandOptions {
        actor: options.actor.clone(),
        idempotency_key: options
            .idempotency_key
            .as_ref()
            .map(|k| format!("{k}#{agency}")),
    }
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::Invalid(message.into())
}

fn valid_agency(agency: &str) -> bool {
    !agency.is_empty()
        && agency.len() <= 40
        && agency
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
}

/// The end of office hours (17:00 Vietnam time) of a date.
fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    from_local(date.and_time(NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default()))
}

impl<S: Store> Engine<S> {
    /// The instant a deadline names, from `now`.
    fn deadline_at(&self, d: Deadline, now: DateTime<Utc>) -> Result<DateTime<Utc>, EngineError> {
        let at = match d {
            Deadline::Date(date) => end_of_day(date),
            Deadline::WorkingDays(days) if days > 0.0 => self
                .calendar()
                .add_working_days(now, days)
                .map_err(|e| invalid(format!("thời hạn {days} ngày làm việc: {e}")))?,
            Deadline::WorkingDays(days) => {
                return Err(invalid(format!(
                    "thời hạn phải là số ngày làm việc dương, không phải {days}"
                )))
            }
        };
        if at <= now {
            return Err(invalid(format!(
                "thời hạn {} đã qua",
                crate::calendar::to_local(at).format("%H:%M %d/%m/%Y")
            )));
        }
        Ok(at)
    }

    /// The process variables of a deadline: `deadline` and `remind7`, `remind3`, `remind1`
    /// (RFC 3339).
    fn deadline_variables(
        &self,
        deadline: DateTime<Utc>,
    ) -> Result<Map<String, Value>, EngineError> {
        let mut vars = Map::new();
        vars.insert("deadline".into(), json!(deadline.to_rfc3339()));
        for days in REMINDER_WORKING_DAYS {
            let at = self
                .calendar()
                .add_working_days(deadline, -days)
                .map_err(|e| invalid(format!("ngày nhắc hạn: {e}")))?;
            vars.insert(format!("remind{days}"), json!(at.to_rfc3339()));
        }
        Ok(vars)
    }

    /// Starts one assignment's instance; `issue` is the directive row its commit creates.
    #[allow(clippy::too_many_arguments)]
    async fn start_assignment(
        &self,
        directive: &DirectiveRecord,
        issue: bool,
        parent: Option<String>,
        agency: &str,
        role: Role,
        title: &str,
        deadline: DateTime<Utc>,
        options: &CommandOptions,
        print: &Option<Value>,
    ) -> Result<String, EngineError> {
        if !valid_agency(agency) {
            return Err(invalid(format!(
                "mã cơ quan '{agency}' không hợp lệ: chỉ gồm chữ, số, '.', '-' và '_' (tối đa 40 ký tự)"
            )));
        }
        let record = self
            .store
            .definition_record(PROCESS_KEY, None)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "definition",
                id: PROCESS_KEY.to_owned(),
            })?;
        let def = DefinitionRef {
            key: record.key.clone(),
            version: record.version,
        };
        let model = self.model(&def).await?;
        let instance = InstanceId::new_v7();
        let id = uuid::Uuid::now_v7().to_string();
        let mut variables = self.deadline_variables(deadline)?;
        variables.insert("directive".into(), json!(directive.id));
        variables.insert("assignment".into(), json!(id));
        variables.insert("agency".into(), json!(agency));
        variables.insert("role".into(), json!(role.as_str()));
        variables.insert("issuer".into(), json!(directive.issuer));
        variables.insert(
            "reportCycle".into(),
            json!(format!("R/P{}D", directive.report_every_days)),
        );
        let now = self.clock.now();
        let mut t = step::start(
            &model,
            def,
            instance,
            Some(id.clone()),
            variables,
            None,
            self.context(now),
        )?;
        t.state.journal_seq += 1;
        t.events.push(Event::DirectiveAssigned {
            directive: directive.id.clone(),
            assignment: id.clone(),
            parent: parent.clone(),
            agency: agency.to_owned(),
            role: role.as_str().to_owned(),
            issuer: directive.issuer.clone(),
            deadline,
        });
        if issue {
            t.effects.push(Effect::Directive(DirectiveEffect::Issued(
                directive.clone(),
            )));
        }
        t.effects
            .push(Effect::Directive(DirectiveEffect::AssignmentCreated {
                id: id.clone(),
                directive: directive.id.clone(),
                parent,
                agency: agency.to_owned(),
                role,
                title: title.to_owned(),
                deadline,
                instance,
            }));
        let outcome = self.commit(None, t, options, print, now).await?;
        // A concurrent retry under the same key may have won: its assignment is the answer.
        if outcome.instance != instance {
            return Ok(self.assignment_of_instance(outcome.instance).await?.id);
        }
        Ok(id)
    }

    /// Issues a directive: one instance of `theo-doi-chi-dao` per assignment (exactly one
    /// lead), the lead's first. Returns the assignments.
    pub async fn issue_directive(
        &self,
        request: IssueDirective,
        options: CommandOptions,
    ) -> Result<Vec<AssignmentRecord>, EngineError> {
        if request.summary.trim().is_empty() {
            return Err(invalid("thiếu trích yếu của ý kiến chỉ đạo"));
        }
        if request.issuer.trim().is_empty() {
            return Err(invalid("thiếu lãnh đạo chỉ đạo"));
        }
        if let super::DirectiveSource::Document { number, .. } = &request.source {
            if number.trim().is_empty() {
                return Err(invalid("thiếu số hiệu văn bản chỉ đạo"));
            }
        }
        let leads = request
            .assignments
            .iter()
            .filter(|a| a.role == Role::Lead)
            .count();
        if leads != 1 {
            return Err(invalid(format!(
                "một ý kiến chỉ đạo cần đúng một cơ quan chủ trì, không phải {leads}"
            )));
        }
        for (i, a) in request.assignments.iter().enumerate() {
            if request.assignments[..i]
                .iter()
                .any(|b| b.agency == a.agency)
            {
                return Err(invalid(format!(
                    "cơ quan '{}' được giao hai lần trong cùng một ý kiến chỉ đạo",
                    a.agency
                )));
            }
        }
        let report_every_days = request
            .report_every_days
            .unwrap_or(DEFAULT_REPORT_EVERY_DAYS);
        if !(1..=MAX_REPORT_EVERY_DAYS).contains(&report_every_days) {
            return Err(invalid(format!(
                "chu kỳ báo cáo phải từ 1 đến {MAX_REPORT_EVERY_DAYS} ngày, không phải {report_every_days}"
            )));
        }
        let now = self.clock.now();
        let mut parts = Vec::with_capacity(request.assignments.len());
        for a in &request.assignments {
            let deadline = self.deadline_at(a.deadline.unwrap_or(request.deadline), now)?;
            parts.push((a, deadline));
        }
        // The lead first: its commit writes the directive row.
        parts.sort_by_key(|(a, _)| a.role != Role::Lead);
        let mut directive = DirectiveRecord {
            id: uuid::Uuid::now_v7().to_string(),
            issuer: request.issuer.trim().to_owned(),
            source: request.source.clone(),
            summary: request.summary.trim().to_owned(),
            content: request.content.clone(),
            priority: request.priority.clone(),
            issued_at: now,
            issued_by: options.actor.clone(),
            report_every_days,
        };
        for (i, (a, deadline)) in parts.iter().enumerate() {
            // Under an idempotency key each assignment's start records its own answer: a retry
            // finds the lead's (and so the directive issued first) and starts only the
            // assignments a failure left out.
            let part = part_options(&options, &a.agency);
            let print = print_of(&part, "issue_directive", json!(&request));
            if let Some(done) = self.replayed(&part, &print).await? {
                if i == 0 {
                    directive = done.directive;
                }
                continue;
            }
            self.start_assignment(
                &directive,
                i == 0,
                None,
                &a.agency,
                a.role,
                &directive.summary,
                *deadline,
                &part,
                &print,
            )
            .await
            .map_err(|e| match e {
                e if i == 0 => e,
                e => EngineError::Fatal(format!(
                    "ý kiến chỉ đạo {} đã được giao cho {i} cơ quan; giao cho '{}' thất bại: {e}",
                    directive.id, a.agency
                )),
            })?;
        }
        Ok(self
            .store
            .directive_assignments(&AssignmentFilter {
                directive: Some(directive.id),
                ..AssignmentFilter::default()
            })
            .await?)
    }

    /// Adds an assignment to an issued directive (e.g. one whose issue failed midway).
    pub async fn add_assignment(
        &self,
        directive: &str,
        agency: &str,
        role: Role,
        deadline: Deadline,
        options: CommandOptions,
    ) -> Result<AssignmentRecord, EngineError> {
        let existing = self
            .store
            .directive_assignments(&AssignmentFilter {
                directive: Some(directive.to_owned()),
                ..AssignmentFilter::default()
            })
            .await?;
        let first = existing.first().ok_or_else(|| EngineError::NotFound {
            what: "directive",
            id: directive.to_owned(),
        })?;
        if role == Role::Lead {
            return Err(invalid("ý kiến chỉ đạo đã có cơ quan chủ trì"));
        }
        let print = print_of(
            &options,
            "add_assignment",
            json!([directive, agency, role, deadline]),
        );
        if let Some(done) = self.replayed(&options, &print).await? {
            return Ok(done);
        }
        let deadline = self.deadline_at(deadline, self.clock.now())?;
        let id = self
            .start_assignment(
                &first.directive,
                false,
                None,
                agency,
                role,
                &first.directive.summary,
                deadline,
                &options,
                &print,
            )
            .await?;
        self.directive_assignment(&id).await
    }

    /// Splits an assignment: a child task for one of the assignee's departments, with its own
    /// instance, deadline (not after the parent's) and the parent's role.
    pub async fn add_child_assignment(
        &self,
        parent: &str,
        agency: &str,
        title: &str,
        deadline: Deadline,
        options: CommandOptions,
    ) -> Result<AssignmentRecord, EngineError> {
        let print = print_of(
            &options,
            "add_child_assignment",
            json!([parent, agency, title, deadline]),
        );
        if let Some(done) = self.replayed(&options, &print).await? {
            return Ok(done);
        }
        let p = self.directive_assignment(parent).await?;
        if matches!(
            p.state,
            AssignmentState::Completed | AssignmentState::Accepted
        ) {
            return Err(EngineError::Conflict(format!(
                "nhiệm vụ {parent} đã hoàn thành: không thể giao thêm nhiệm vụ con"
            )));
        }
        if title.trim().is_empty() {
            return Err(invalid("thiếu nội dung nhiệm vụ con"));
        }
        let deadline = self.deadline_at(deadline, self.clock.now())?;
        if deadline > p.deadline {
            return Err(invalid(
                "thời hạn của nhiệm vụ con không được sau thời hạn của nhiệm vụ được giao",
            ));
        }
        let id = self
            .start_assignment(
                &p.directive,
                false,
                Some(p.id.clone()),
                agency,
                p.role,
                title.trim(),
                deadline,
                &options,
                &print,
            )
            .await?;
        self.directive_assignment(&id).await
    }

    /// One assignment.
    pub async fn directive_assignment(&self, id: &str) -> Result<AssignmentRecord, EngineError> {
        self.store
            .directive_assignments(&AssignmentFilter {
                id: Some(id.to_owned()),
                ..AssignmentFilter::default()
            })
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| EngineError::NotFound {
                what: "directive assignment",
                id: id.to_owned(),
            })
    }

    /// The assignment an instance of `theo-doi-chi-dao` runs.
    async fn assignment_of_instance(
        &self,
        instance: InstanceId,
    ) -> Result<AssignmentRecord, EngineError> {
        self.store
            .directive_assignments(&AssignmentFilter {
                instance: Some(instance),
                ..AssignmentFilter::default()
            })
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| EngineError::NotFound {
                what: "directive assignment",
                id: instance.to_string(),
            })
    }

    /// A command retried under the same idempotency key: the assignment it changed, as it is
    /// now; `None` when the key is new (or absent).
    async fn replayed(
        &self,
        options: &CommandOptions,
        print: &Option<Value>,
    ) -> Result<Option<AssignmentRecord>, EngineError> {
        match self.replay_answer(options, print).await? {
            Some(outcome) => Ok(Some(self.assignment_of_instance(outcome.instance).await?)),
            None => Ok(None),
        }
    }

    /// An assignment's progress reports, oldest first.
    pub async fn directive_reports(&self, id: &str) -> Result<Vec<ReportRecord>, EngineError> {
        self.directive_assignment(id).await?;
        Ok(self.store.directive_reports(id).await?)
    }

    /// An assignment's extension requests, oldest first.
    pub async fn directive_extensions(
        &self,
        id: &str,
    ) -> Result<Vec<ExtensionRecord>, EngineError> {
        self.directive_assignment(id).await?;
        Ok(self.store.directive_extensions(id).await?)
    }

    /// Reads the assignment, checking the caller's version and the states the change needs.
    async fn assignment_for(
        &self,
        id: &str,
        expected_version: Option<i64>,
        allowed: &[AssignmentState],
        what: &str,
    ) -> Result<AssignmentRecord, EngineError> {
        let a = self.directive_assignment(id).await?;
        if let Some(expected) = expected_version {
            if expected != a.version {
                return Err(EngineError::Conflict(format!(
                    "nhiệm vụ {id} đã được thay đổi (phiên bản {}, không phải {expected}): hãy tải lại",
                    a.version
                )));
            }
        }
        if !allowed.contains(&a.state) {
            return Err(EngineError::Conflict(format!(
                "nhiệm vụ {id} đang ở trạng thái '{}': không thể {what}",
                a.state.as_str()
            )));
        }
        Ok(a)
    }

    /// Completes the instance's open task at `node` with `variables`, adding `event` and
    /// `effects` to the same commit.
    #[allow(clippy::too_many_arguments)]
    async fn complete_with(
        &self,
        a: &AssignmentRecord,
        node: &str,
        variables: Map<String, Value>,
        event: Event,
        effects: Vec<DirectiveEffect>,
        options: &CommandOptions,
        print: &Option<Value>,
    ) -> Result<Outcome, EngineError> {
        let state = self.instance(a.instance).await?;
        let task = state
            .tokens
            .iter()
            .find_map(|t| match &t.wait {
                Wait::UserTask { task, .. } if t.node == node => Some(*task),
                _ => None,
            })
            .ok_or_else(|| {
                EngineError::Conflict(format!(
                    "nhiệm vụ {}: bước '{node}' không đang chờ xử lý",
                    a.id
                ))
            })?;
        let model = self.model(&state.definition).await?;
        let expected = state.version;
        let now = self.clock.now();
        let command = Command::Complete {
            task,
            variables,
            by: options.actor.clone(),
        };
        let mut t = step::apply(&model, state, &command, self.context(now))?;
        t.state.journal_seq += 1;
        t.events.push(event);
        t.effects.extend(effects.into_iter().map(Effect::Directive));
        self.commit(Some(expected), t, options, print, now).await
    }

    fn updated(a: &AssignmentRecord) -> AssignmentChange {
        AssignmentChange {
            id: a.id.clone(),
            expected_version: a.version,
            state: None,
            progress: None,
            deadline: None,
            completed_at: None,
            clear_completed: false,
            accepted_at: None,
        }
    }

    /// Records a progress report (its own commit on the assignment's instance).
    pub async fn report_progress(
        &self,
        id: &str,
        expected_version: Option<i64>,
        percent: i32,
        text: &str,
        options: CommandOptions,
    ) -> Result<AssignmentRecord, EngineError> {
        let print = print_of(&options, "report_progress", json!([id, percent, text]));
        if let Some(done) = self.replayed(&options, &print).await? {
            return Ok(done);
        }
        if !(0..=100).contains(&percent) {
            return Err(invalid(format!(
                "tiến độ phải từ 0 đến 100%, không phải {percent}"
            )));
        }
        if text.trim().is_empty() {
            return Err(invalid("báo cáo tiến độ cần nội dung"));
        }
        let a = self
            .assignment_for(
                id,
                expected_version,
                &[
                    AssignmentState::InProgress,
                    AssignmentState::ExtensionRequested,
                ],
                "báo cáo tiến độ",
            )
            .await?;
        let now = self.clock.now();
        let event = Event::DirectiveProgressReported {
            assignment: a.id.clone(),
            percent,
            text: text.trim().to_owned(),
        };
        let effects = vec![
            Effect::Directive(DirectiveEffect::ReportAdded(ReportRecord {
                id: uuid::Uuid::now_v7().to_string(),
                assignment: a.id.clone(),
                text: text.trim().to_owned(),
                percent,
                reported_at: now,
                reported_by: options.actor.clone(),
            })),
            Effect::Directive(DirectiveEffect::AssignmentUpdated(AssignmentChange {
                progress: Some(percent),
                ..Self::updated(&a)
            })),
        ];
        self.commit_dossier_change(a.instance, event, effects, &options, &print)
            .await?;
        self.directive_assignment(id).await
    }

    /// Asks the issuer for a later deadline: completes `thuc-hien` with `outcome` =
    /// `"extension"`; the issuer's `xet-gia-han` task opens.
    pub async fn request_extension(
        &self,
        id: &str,
        expected_version: Option<i64>,
        deadline: Deadline,
        reason: &str,
        options: CommandOptions,
    ) -> Result<AssignmentRecord, EngineError> {
        let print = print_of(&options, "request_extension", json!([id, deadline, reason]));
        if let Some(done) = self.replayed(&options, &print).await? {
            return Ok(done);
        }
        if reason.trim().is_empty() {
            return Err(invalid("đề nghị gia hạn cần nêu lý do"));
        }
        let a = self
            .assignment_for(
                id,
                expected_version,
                &[AssignmentState::InProgress],
                "đề nghị gia hạn",
            )
            .await?;
        let now = self.clock.now();
        let requested = self.deadline_at(deadline, now)?;
        if requested <= a.deadline {
            return Err(invalid("thời hạn đề nghị phải sau thời hạn hiện tại"));
        }
        let extension = uuid::Uuid::now_v7().to_string();
        let mut variables = Map::new();
        variables.insert("outcome".into(), json!("extension"));
        variables.insert("requestedDeadline".into(), json!(requested.to_rfc3339()));
        let event = Event::DirectiveExtensionRequested {
            assignment: a.id.clone(),
            extension: extension.clone(),
            requested_deadline: requested,
            reason: reason.trim().to_owned(),
        };
        let effects = vec![
            DirectiveEffect::ExtensionRequested(ExtensionRecord {
                id: extension,
                assignment: a.id.clone(),
                reason: reason.trim().to_owned(),
                requested_deadline: requested,
                requested_at: now,
                requested_by: options.actor.clone(),
                approved: None,
                new_deadline: None,
                decided_at: None,
                decided_by: None,
            }),
            DirectiveEffect::AssignmentUpdated(AssignmentChange {
                state: Some(AssignmentState::ExtensionRequested),
                ..Self::updated(&a)
            }),
        ];
        self.complete_with(&a, WORK_TASK, variables, event, effects, &options, &print)
            .await?;
        self.directive_assignment(id).await
    }

    /// The issuer decides the pending extension: completes `xet-gia-han`; approved, the new
    /// deadline and its reminders become the instance's variables (the timers of
    /// `thuc-hien` are armed from them again) and the original deadline is kept.
    pub async fn decide_extension(
        &self,
        id: &str,
        expected_version: Option<i64>,
        approved: bool,
        options: CommandOptions,
    ) -> Result<AssignmentRecord, EngineError> {
        let print = print_of(&options, "decide_extension", json!([id, approved]));
        if let Some(done) = self.replayed(&options, &print).await? {
            return Ok(done);
        }
        let a = self
            .assignment_for(
                id,
                expected_version,
                &[AssignmentState::ExtensionRequested],
                "xét gia hạn",
            )
            .await?;
        let pending = self
            .store
            .directive_extensions(id)
            .await?
            .into_iter()
            .rev()
            .find(|x| x.approved.is_none())
            .ok_or_else(|| {
                EngineError::Conflict(format!("nhiệm vụ {id} không có đề nghị gia hạn đang chờ"))
            })?;
        let to = if approved {
            pending.requested_deadline
        } else {
            a.deadline
        };
        let mut variables = if approved {
            self.deadline_variables(to)?
        } else {
            Map::new()
        };
        variables.insert("approved".into(), json!(approved));
        let event = Event::DirectiveExtensionDecided {
            assignment: a.id.clone(),
            extension: pending.id.clone(),
            approved,
            from: a.deadline,
            to,
        };
        let effects = vec![
            DirectiveEffect::ExtensionDecided {
                id: pending.id,
                approved,
                new_deadline: approved.then_some(to),
                decided_by: options.actor.clone(),
            },
            DirectiveEffect::AssignmentUpdated(AssignmentChange {
                state: Some(AssignmentState::InProgress),
                deadline: approved.then_some(to),
                ..Self::updated(&a)
            }),
        ];
        self.complete_with(
            &a,
            EXTENSION_TASK,
            variables,
            event,
            effects,
            &options,
            &print,
        )
        .await?;
        self.directive_assignment(id).await
    }

    /// The agency reports the task done with its evidence: completes `thuc-hien` with
    /// `outcome` = `"done"`; the issuer's `nghiem-thu` task opens.
    pub async fn complete_assignment(
        &self,
        id: &str,
        expected_version: Option<i64>,
        evidence: &str,
        options: CommandOptions,
    ) -> Result<AssignmentRecord, EngineError> {
        let print = print_of(&options, "complete_assignment", json!([id, evidence]));
        if let Some(done) = self.replayed(&options, &print).await? {
            return Ok(done);
        }
        if evidence.trim().is_empty() {
            return Err(invalid(
                "báo cáo hoàn thành cần kết quả (văn bản, số hiệu, nội dung đã thực hiện)",
            ));
        }
        let a = self
            .assignment_for(
                id,
                expected_version,
                &[AssignmentState::InProgress],
                "báo cáo hoàn thành",
            )
            .await?;
        let now = self.clock.now();
        let mut variables = Map::new();
        variables.insert("outcome".into(), json!("done"));
        variables.insert("evidence".into(), json!(evidence.trim()));
        let event = Event::DirectiveAssignmentCompleted {
            assignment: a.id.clone(),
            evidence: evidence.trim().to_owned(),
        };
        let effects = vec![DirectiveEffect::AssignmentUpdated(AssignmentChange {
            state: Some(AssignmentState::Completed),
            progress: Some(100),
            completed_at: Some(now),
            ..Self::updated(&a)
        })];
        self.complete_with(&a, WORK_TASK, variables, event, effects, &options, &print)
            .await?;
        self.directive_assignment(id).await
    }

    /// The issuer accepts the result (`accepted`) or reopens the task with a reason:
    /// completes `nghiem-thu`. A reopening clears the completion time: the task is open
    /// again against its deadline.
    pub async fn accept_assignment(
        &self,
        id: &str,
        expected_version: Option<i64>,
        accepted: bool,
        reason: Option<&str>,
        options: CommandOptions,
    ) -> Result<AssignmentRecord, EngineError> {
        let print = print_of(&options, "accept_assignment", json!([id, accepted, reason]));
        if let Some(done) = self.replayed(&options, &print).await? {
            return Ok(done);
        }
        let a = self
            .assignment_for(
                id,
                expected_version,
                &[AssignmentState::Completed],
                if accepted {
                    "nghiệm thu"
                } else {
                    "mở lại"
                },
            )
            .await?;
        let now = self.clock.now();
        let mut variables = Map::new();
        variables.insert("accepted".into(), json!(accepted));
        let (event, effect) = if accepted {
            (
                Event::DirectiveAssignmentAccepted {
                    assignment: a.id.clone(),
                },
                DirectiveEffect::AssignmentUpdated(AssignmentChange {
                    state: Some(AssignmentState::Accepted),
                    accepted_at: Some(now),
                    ..Self::updated(&a)
                }),
            )
        } else {
            let reason = reason.map(str::trim).unwrap_or_default();
            if reason.is_empty() {
                return Err(invalid("mở lại nhiệm vụ cần nêu lý do"));
            }
            (
                Event::DirectiveAssignmentReopened {
                    assignment: a.id.clone(),
                    reason: reason.to_owned(),
                },
                DirectiveEffect::AssignmentUpdated(AssignmentChange {
                    state: Some(AssignmentState::InProgress),
                    clear_completed: true,
                    ..Self::updated(&a)
                }),
            )
        };
        self.complete_with(
            &a,
            ACCEPTANCE_TASK,
            variables,
            event,
            vec![effect],
            &options,
            &print,
        )
        .await?;
        self.directive_assignment(id).await
    }

    /// The status of an assignment at `now`, rolled up over its child tasks.
    pub async fn directive_status(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<DirectiveStatus, EngineError> {
        let a = self.directive_assignment(id).await?;
        let all = self
            .store
            .directive_assignments(&AssignmentFilter {
                directive: Some(a.directive.id.clone()),
                ..AssignmentFilter::default()
            })
            .await?;
        Ok(self.statuses(&all, now).get(id).map_or(
            status(self.calendar(), a.deadline, a.completed_at, now),
            |s| s.1,
        ))
    }

    /// Own and rolled-up status of every assignment of one or more whole directive trees.
    fn statuses(
        &self,
        all: &[AssignmentRecord],
        now: DateTime<Utc>,
    ) -> HashMap<String, (DirectiveStatus, DirectiveStatus)> {
        let own: HashMap<&str, DirectiveStatus> = all
            .iter()
            .map(|a| {
                (
                    a.id.as_str(),
                    status(self.calendar(), a.deadline, a.completed_at, now),
                )
            })
            .collect();
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for a in all {
            if let Some(p) = &a.parent {
                children.entry(p.as_str()).or_default().push(a.id.as_str());
            }
        }
        fn rolled<'a>(
            id: &'a str,
            own: &HashMap<&'a str, DirectiveStatus>,
            children: &HashMap<&'a str, Vec<&'a str>>,
            depth: usize,
        ) -> DirectiveStatus {
            let mine = own.get(id).copied().unwrap_or(DirectiveStatus::InProgress);
            // A tree deeper than this is corrupt data (a cycle): stop rolling up.
            if depth > 64 {
                return mine;
            }
            let kids: Vec<DirectiveStatus> = children
                .get(id)
                .map(|c| {
                    c.iter()
                        .map(|k| rolled(k, own, children, depth + 1))
                        .collect()
                })
                .unwrap_or_default();
            roll_up(mine, &kids)
        }
        all.iter()
            .map(|a| {
                let mine = own
                    .get(a.id.as_str())
                    .copied()
                    .unwrap_or(DirectiveStatus::InProgress);
                (
                    a.id.clone(),
                    (mine, rolled(a.id.as_str(), &own, &children, 0)),
                )
            })
            .collect()
    }

    /// Assignments with their status at `now`, filtered (see [`AssignmentQuery`]), oldest
    /// first. With `agency`, only that agency's own assignments are returned.
    pub async fn list_assignments(
        &self,
        query: &AssignmentQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<AssignmentView>, EngineError> {
        let selected = self
            .store
            .directive_assignments(&AssignmentFilter {
                directive: query.directive.clone(),
                agency: query.agency.clone(),
                issuer: query.issuer.clone(),
                ..AssignmentFilter::default()
            })
            .await?;
        let text = query.text.as_ref().map(|t| t.to_lowercase());
        let selected: Vec<AssignmentRecord> = selected
            .into_iter()
            .filter(|a| query.issued_from.is_none_or(|f| a.directive.issued_at >= f))
            .filter(|a| query.issued_to.is_none_or(|t| a.directive.issued_at < t))
            .filter(|a| {
                let Some(text) = &text else { return true };
                let number = match &a.directive.source {
                    super::DirectiveSource::Document { number, .. } => number.as_str(),
                    super::DirectiveSource::Meeting { .. } => "",
                };
                [
                    a.directive.summary.as_str(),
                    a.directive.content.as_str(),
                    a.title.as_str(),
                    number,
                ]
                .iter()
                .any(|s| s.to_lowercase().contains(text.as_str()))
            })
            .collect();
        // Whole trees for the roll-up.
        let mut trees: Vec<AssignmentRecord> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for a in &selected {
            if seen.contains(&a.directive.id.as_str()) {
                continue;
            }
            seen.push(a.directive.id.as_str());
            trees.extend(
                self.store
                    .directive_assignments(&AssignmentFilter {
                        directive: Some(a.directive.id.clone()),
                        ..AssignmentFilter::default()
                    })
                    .await?,
            );
        }
        let statuses = self.statuses(&trees, now);
        let mut out = Vec::with_capacity(selected.len());
        for a in selected {
            let (own_status, status) = statuses.get(&a.id).copied().unwrap_or_else(|| {
                let s = status(self.calendar(), a.deadline, a.completed_at, now);
                (s, s)
            });
            if query
                .status
                .as_deref()
                .is_some_and(|wanted| wanted != status.as_str())
            {
                continue;
            }
            out.push(AssignmentView {
                assignment: a,
                own_status,
                status,
            });
        }
        Ok(out)
    }

    /// Counts per status of the assignments `query` selects (by their own status), in total,
    /// per agency and per leader, with the on-time rate (done on time / done).
    pub async fn directive_statistics(
        &self,
        query: &AssignmentQuery,
        now: DateTime<Utc>,
    ) -> Result<DirectiveStatistics, EngineError> {
        let mut stats = DirectiveStatistics::default();
        for v in self.list_assignments(query, now).await? {
            stats.total.add(v.own_status);
            stats
                .by_agency
                .entry(v.assignment.agency.clone())
                .or_default()
                .add(v.own_status);
            stats
                .by_leader
                .entry(v.assignment.directive.issuer.clone())
                .or_default()
                .add(v.own_status);
        }
        Ok(stats)
    }
}
