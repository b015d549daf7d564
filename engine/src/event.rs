//! Journal events: every change to an instance, in order. History, audit and statistics are read
//! from them, and replaying an instance's commands must reproduce them exactly.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{JobId, TaskId};

/// One change to a variable: before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableChange {
    /// Variable name.
    pub name: String,
    /// The value before (absent if new).
    pub before: Option<Value>,
    /// The value after.
    pub after: Value,
}

/// A journal event. Stored as `kind` plus the JSON of its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The instance started.
    InstanceStarted {
        /// Definition key.
        definition_key: String,
        /// Definition version.
        version: i32,
        /// The business key, if given.
        business_key: Option<String>,
        /// The call activity that started it, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        called_by: Option<crate::state::CalledBy>,
    },
    /// Variables were set (by the start, a task or a job completion).
    VariablesChanged {
        /// Each changed variable, before and after.
        changes: Vec<VariableChange>,
    },
    /// A token entered a node.
    ActivityEntered {
        /// Node id.
        node: String,
        /// BPMN element name (e.g. `userTask`).
        element: String,
    },
    /// A token left a node.
    ActivityCompleted {
        /// Node id.
        node: String,
    },
    /// A waiting activity was ended without completing (terminate or cancel).
    ActivityCancelled {
        /// Node id.
        node: String,
    },
    /// A gateway chose its outgoing flows.
    GatewayDecided {
        /// Gateway id.
        node: String,
        /// Flow ids taken.
        flows: Vec<String>,
    },
    /// A user task was put in a queue.
    TaskCreated {
        /// Task id.
        task: TaskId,
        /// Node id.
        node: String,
    },
    /// A user task was claimed.
    TaskClaimed {
        /// Task id.
        task: TaskId,
        /// The new assignee.
        assignee: String,
    },
    /// A claim was released.
    TaskUnclaimed {
        /// Task id.
        task: TaskId,
        /// Who had it.
        previous: String,
    },
    /// A task's assignee was set directly (by a leader or an administrator).
    TaskAssigned {
        /// Task id.
        task: TaskId,
        /// The new assignee.
        assignee: String,
        /// Who had it, if anyone.
        previous: Option<String>,
    },
    /// A task was delegated: the owner keeps it, the delegate works it.
    TaskDelegated {
        /// Task id.
        task: TaskId,
        /// Who gets it back on resolve.
        owner: String,
        /// The new assignee.
        delegate: String,
    },
    /// A delegated task was resolved: it went back to its owner.
    TaskResolved {
        /// Task id.
        task: TaskId,
        /// The owner, its assignee again.
        owner: String,
        /// Variables submitted with the resolution.
        variables: Map<String, Value>,
    },
    /// A user task was completed.
    TaskCompleted {
        /// Task id.
        task: TaskId,
        /// Node id.
        node: String,
        /// Variables submitted with the completion.
        variables: Map<String, Value>,
    },
    /// A job for an external worker was created.
    JobCreated {
        /// Job id.
        job: JobId,
        /// Node id.
        node: String,
        /// Worker topic.
        topic: String,
    },
    /// An external worker completed a job.
    JobCompleted {
        /// Job id.
        job: JobId,
        /// Node id.
        node: String,
        /// Variables returned by the worker.
        variables: Map<String, Value>,
    },
    /// An external worker reported a failure.
    JobFailed {
        /// Job id.
        job: JobId,
        /// Node id.
        node: String,
        /// The worker's message.
        error: String,
        /// Attempts left.
        retries: u32,
    },
    /// Retries ran out: a person must look.
    IncidentRaised {
        /// Job id.
        job: JobId,
        /// Node id.
        node: String,
        /// The last error.
        message: String,
    },
    /// A timer was armed: its job is due at `due_at`.
    TimerArmed {
        /// Its job.
        job: JobId,
        /// The timer event, or the task's node for an SLA mark.
        node: String,
        /// When it fires.
        due_at: chrono::DateTime<chrono::Utc>,
    },
    /// A timer fired.
    TimerFired {
        /// Its job.
        job: JobId,
        /// The timer event (catch or boundary) or, for an SLA mark, the task's node.
        node: String,
        /// Which firing (1 for the first).
        count: u32,
    },
    /// A task or the instance is near its due date.
    DueSoon {
        /// The task, or none for the instance.
        task: Option<TaskId>,
        /// The due date.
        due_at: chrono::DateTime<chrono::Utc>,
    },
    /// A task or the instance passed its due date.
    Overdue {
        /// The task, or none for the instance.
        task: Option<TaskId>,
        /// The due date.
        due_at: chrono::DateTime<chrono::Utc>,
    },
    /// A person gave an incident's job new attempts.
    IncidentResolved {
        /// The job.
        job: JobId,
        /// Attempts given.
        retries: u32,
    },
    /// A message was correlated to a waiting catcher (a command of its own).
    MessageCorrelated {
        /// The message name.
        name: String,
        /// Its correlation key, if any.
        correlation_key: Option<String>,
        /// Its unique id.
        message_id: String,
        /// The catching node.
        node: String,
        /// Its payload.
        variables: Map<String, Value>,
        /// Whether it had been buffered.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        buffered: bool,
        /// Until when it would have waited (its row's expiry).
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    /// A message throw event or send task published a message (its outbox job delivers it).
    MessageSent {
        /// The throwing node.
        node: String,
        /// The message name.
        name: String,
        /// Its correlation key, if any.
        correlation_key: Option<String>,
        /// Its unique id (the outbox job's).
        message_id: String,
    },
    /// A call activity started a child instance (its outbox job starts it).
    CallActivityStarted {
        /// The call activity.
        node: String,
        /// The child instance.
        child: crate::ids::InstanceId,
        /// The called process.
        process: String,
        /// The fixed version, or none for the latest.
        version: Option<i32>,
    },
    /// The child of a call activity ended and its outputs were copied (a command of its own).
    CallActivityCompleted {
        /// The call activity.
        node: String,
        /// The child instance.
        child: crate::ids::InstanceId,
        /// The child's variables at its end (the activity's output mapping picks from them).
        variables: Map<String, Value>,
    },
    /// Every token ended.
    InstanceCompleted,
    /// A person cancelled the instance.
    InstanceCancelled {
        /// Why.
        reason: Option<String>,
    },
    /// A dossier was received for this instance (written by the instance's start commit).
    DossierReceived {
        /// The dossier code (always set; `null` only in journals of early development builds).
        code: Option<String>,
        /// Receiving agency.
        agency: String,
        /// Applicant identity kind (`citizen_id`, `tax_code`).
        applicant_kind: String,
        /// Applicant id.
        applicant_id: String,
        /// Applicant name.
        applicant_name: String,
        /// Promised return date.
        due_at: Option<chrono::DateTime<chrono::Utc>>,
        /// Documents received with it.
        documents: Vec<AttachedDocument>,
        /// Uploads certified into the applicant's store at receipt.
        certified: Vec<CertifiedDocument>,
    },
    /// The dossier moved to another one-stop state.
    DossierStateChanged {
        /// The state before.
        from: String,
        /// The state after.
        to: String,
        /// Why (shown to the applicant for a refusal or a supplement request).
        reason: Option<String>,
    },
    /// A message to a peer engine was queued (liên thông): a transfer or a status.
    ExchangeSent {
        /// The message id.
        message: String,
        /// `dossier.transfer` or `dossier.status`.
        message_kind: String,
        /// The receiving agency.
        peer: String,
    },
    /// A message from a peer engine took effect on this dossier.
    ExchangeReceived {
        /// The message id.
        message: String,
        /// `dossier.transfer` or `dossier.status`.
        message_kind: String,
        /// The sending agency.
        peer: String,
        /// The dossier's code on the other side.
        remote_code: Option<String>,
    },
    /// The promised return date moved (form 04 of Circular 01/2018 apologises for it).
    DossierRescheduled {
        /// The date promised before.
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// The new date.
        to: chrono::DateTime<chrono::Utc>,
        /// Why it is late.
        reason: String,
    },
    /// A document version was added to the dossier (a supplement).
    DocumentAttached {
        /// The document.
        document: AttachedDocument,
    },
    /// A document of the dossier was certified into its owner's store.
    DocumentCertified {
        /// The certification.
        certified: CertifiedDocument,
    },
    /// A verified signature over a document version was stored with the dossier.
    DocumentSigned {
        /// The signature.
        signature: SignedDocument,
    },
    /// The dossier (or one step of it) was transferred to another agency (liên thông).
    DossierTransferred {
        /// The transfer's id.
        transfer: String,
        /// The sending agency.
        from_agency: String,
        /// The receiving agency.
        to_agency: String,
        /// The peer engine serving the receiver, if it is not this engine.
        peer: Option<String>,
        /// Why.
        reason: String,
        /// For a step transfer: the task handed over.
        step_task: Option<TaskId>,
        /// The open user tasks re-routed to the receiver.
        tasks: Vec<TaskId>,
        /// The documents that go along.
        documents: Vec<TransferredDocument>,
        /// The receiver's share of the SLA, in working days.
        receiver_share_working_days: Option<f64>,
        /// The receiver's due date.
        receiver_due_at: Option<chrono::DateTime<chrono::Utc>>,
        /// What remains to the sender, in working days.
        sender_share_working_days: Option<f64>,
        /// The dossier's new state, when it changed (`transferred`).
        state: Option<String>,
    },
    /// The receiving agency accepted a transfer.
    TransferAccepted {
        /// The transfer.
        transfer: String,
    },
    /// The receiving agency returned a transfer to its sender.
    TransferReturned {
        /// The transfer.
        transfer: String,
        /// Why.
        reason: String,
        /// The tasks given back to their agencies.
        tasks: Vec<TaskId>,
        /// The dossier's state after, when it changed.
        state: Option<String>,
    },
    /// This instance is an assignment of a directive (written by the instance's start
    /// commit; the first assignment's commit also creates the directive).
    DirectiveAssigned {
        /// The directive.
        directive: String,
        /// The assignment.
        assignment: String,
        /// The parent assignment of a child task.
        parent: Option<String>,
        /// The agency.
        agency: String,
        /// `lead`, `coordinate` or `monitor`.
        role: String,
        /// The issuing leader.
        issuer: String,
        /// The deadline.
        deadline: chrono::DateTime<chrono::Utc>,
    },
    /// The agency reported progress (a commit of its own).
    DirectiveProgressReported {
        /// The assignment.
        assignment: String,
        /// Progress, 0–100.
        percent: i32,
        /// What was done.
        text: String,
    },
    /// The agency asked for more time (rides on the completion of `thuc-hien`).
    DirectiveExtensionRequested {
        /// The assignment.
        assignment: String,
        /// The request.
        extension: String,
        /// The deadline asked for.
        requested_deadline: chrono::DateTime<chrono::Utc>,
        /// Why.
        reason: String,
    },
    /// The issuer decided an extension (rides on the completion of `xet-gia-han`).
    DirectiveExtensionDecided {
        /// The assignment.
        assignment: String,
        /// The request.
        extension: String,
        /// Approved or refused.
        approved: bool,
        /// The deadline before.
        from: chrono::DateTime<chrono::Utc>,
        /// The deadline after (unchanged when refused).
        to: chrono::DateTime<chrono::Utc>,
    },
    /// The agency reported the task done (rides on the completion of `thuc-hien`).
    DirectiveAssignmentCompleted {
        /// The assignment.
        assignment: String,
        /// The evidence (what was done, document numbers).
        evidence: String,
    },
    /// The issuer accepted the result (rides on the completion of `nghiem-thu`).
    DirectiveAssignmentAccepted {
        /// The assignment.
        assignment: String,
    },
    /// The issuer refused the result: the task is open again (rides on the completion of
    /// `nghiem-thu`).
    DirectiveAssignmentReopened {
        /// The assignment.
        assignment: String,
        /// Why.
        reason: String,
    },
    /// A document was attached to an assignment or to one of its progress reports,
    /// optionally with a verified signature (a commit of its own).
    DirectiveDocumentAttached {
        /// The assignment.
        assignment: String,
        /// The document.
        document: DirectiveDocument,
    },
}

/// A document version as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedDocument {
    /// Slot.
    pub slot: String,
    /// Version within the slot.
    pub version: i32,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// The applicant document reused instead of an upload.
    pub reused_from: Option<String>,
}

/// A document version sent with a transfer, as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferredDocument {
    /// Slot.
    pub slot: String,
    /// Version.
    pub version: i32,
    /// SHA-256 of the bytes.
    pub sha256: String,
}

/// A certification as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedDocument {
    /// The new applicant document's id.
    pub applicant_document: String,
    /// The dossier document's slot.
    pub slot: String,
    /// Its version.
    pub version: i32,
    /// Kind of paper.
    pub doc_type: String,
    /// Its number.
    pub number: Option<String>,
    /// SHA-256 of the bytes.
    pub sha256: String,
}

/// A directive document as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectiveDocument {
    /// The document's id.
    pub id: String,
    /// The progress report it is attached to, if any.
    pub report: Option<String>,
    /// File name.
    pub name: String,
    /// MIME type.
    pub media_type: String,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Bytes.
    pub size: i64,
    /// Its verified signature, if signed.
    pub signature: Option<DirectiveDocumentSigner>,
}

/// The verified signature of a directive document as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectiveDocumentSigner {
    /// SHA-256 of the CMS signature (DER), its blob's address.
    pub signature_sha256: String,
    /// The signer certificate's subject.
    pub signer_subject: String,
    /// SHA-256 of the signer certificate (DER), lowercase hex.
    pub fingerprint: String,
    /// The user the certificate is mapped to, if any.
    pub signer_user: Option<String>,
    /// The agency the certificate is mapped to (or whose key signed), if any.
    pub signer_agency: Option<String>,
    /// Signed by the engine with an agency's key.
    pub server_side: bool,
}

/// A stored signature as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDocument {
    /// The signature's id.
    pub id: String,
    /// The document's slot.
    pub slot: String,
    /// The signed version.
    pub version: i32,
    /// SHA-256 of the signed document version.
    pub document_sha256: String,
    /// SHA-256 of the CMS signature (DER), its blob's address.
    pub signature_sha256: String,
    /// The signer certificate's subject.
    pub signer_subject: String,
    /// SHA-256 of the signer certificate (DER), lowercase hex.
    pub fingerprint: String,
    /// The user the certificate is mapped to, if any.
    pub signer_user: Option<String>,
    /// The agency the certificate is mapped to, if any.
    pub signer_agency: Option<String>,
    /// Signed by the engine with an agency's key.
    pub server_side: bool,
}

impl Event {
    /// For a dossier event: whether it is a command of its own (one commit, the instance's
    /// version + 1) rather than part of the instance's start commit (`dossier_received`).
    /// `None` for every other event. Replay advances the state by it (see `crate::replay`).
    pub fn dossier_command(&self) -> Option<bool> {
        match self {
            Event::DossierReceived { .. } => Some(false),
            Event::DossierStateChanged { .. }
            | Event::DossierRescheduled { .. }
            | Event::DocumentAttached { .. }
            | Event::DocumentCertified { .. }
            | Event::DocumentSigned { .. }
            | Event::DossierTransferred { .. }
            | Event::TransferAccepted { .. }
            | Event::TransferReturned { .. }
            | Event::ExchangeReceived { .. } => Some(true),
            // Queued with the change that sends it (a state change).
            Event::ExchangeSent { .. } => Some(false),
            _ => None,
        }
    }

    /// For a directive event: whether it is a command of its own (one commit, the instance's
    /// version + 1: a progress report, an attached document) rather than riding on another command's commit (the
    /// start, or the completion of a user task, whose events come first). `None` for every
    /// other event. Replay treats it like a dossier event (see `crate::replay`).
    pub fn directive_command(&self) -> Option<bool> {
        match self {
            Event::DirectiveProgressReported { .. } | Event::DirectiveDocumentAttached { .. } => {
                Some(true)
            }
            Event::DirectiveAssigned { .. }
            | Event::DirectiveExtensionRequested { .. }
            | Event::DirectiveExtensionDecided { .. }
            | Event::DirectiveAssignmentCompleted { .. }
            | Event::DirectiveAssignmentAccepted { .. }
            | Event::DirectiveAssignmentReopened { .. } => Some(false),
            _ => None,
        }
    }

    /// The `kind` stored in the journal (`task_completed`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::InstanceStarted { .. } => "instance_started",
            Event::VariablesChanged { .. } => "variables_changed",
            Event::ActivityEntered { .. } => "activity_entered",
            Event::ActivityCompleted { .. } => "activity_completed",
            Event::ActivityCancelled { .. } => "activity_cancelled",
            Event::GatewayDecided { .. } => "gateway_decided",
            Event::TaskCreated { .. } => "task_created",
            Event::TaskClaimed { .. } => "task_claimed",
            Event::TaskUnclaimed { .. } => "task_unclaimed",
            Event::TaskAssigned { .. } => "task_assigned",
            Event::TaskDelegated { .. } => "task_delegated",
            Event::TaskResolved { .. } => "task_resolved",
            Event::TaskCompleted { .. } => "task_completed",
            Event::JobCreated { .. } => "job_created",
            Event::JobCompleted { .. } => "job_completed",
            Event::JobFailed { .. } => "job_failed",
            Event::IncidentRaised { .. } => "incident_raised",
            Event::TimerArmed { .. } => "timer_armed",
            Event::TimerFired { .. } => "timer_fired",
            Event::DueSoon { .. } => "due_soon",
            Event::Overdue { .. } => "overdue",
            Event::IncidentResolved { .. } => "incident_resolved",
            Event::MessageCorrelated { .. } => "message_correlated",
            Event::MessageSent { .. } => "message_sent",
            Event::CallActivityStarted { .. } => "call_activity_started",
            Event::CallActivityCompleted { .. } => "call_activity_completed",
            Event::InstanceCompleted => "instance_completed",
            Event::InstanceCancelled { .. } => "instance_cancelled",
            Event::DossierReceived { .. } => "dossier_received",
            Event::DossierStateChanged { .. } => "dossier_state_changed",
            Event::DossierRescheduled { .. } => "dossier_rescheduled",
            Event::ExchangeSent { .. } => "exchange_sent",
            Event::ExchangeReceived { .. } => "exchange_received",
            Event::DocumentAttached { .. } => "document_attached",
            Event::DocumentCertified { .. } => "document_certified",
            Event::DocumentSigned { .. } => "document_signed",
            Event::DossierTransferred { .. } => "dossier_transferred",
            Event::TransferAccepted { .. } => "transfer_accepted",
            Event::TransferReturned { .. } => "transfer_returned",
            Event::DirectiveAssigned { .. } => "directive_assigned",
            Event::DirectiveProgressReported { .. } => "directive_progress_reported",
            Event::DirectiveExtensionRequested { .. } => "directive_extension_requested",
            Event::DirectiveExtensionDecided { .. } => "directive_extension_decided",
            Event::DirectiveAssignmentCompleted { .. } => "directive_assignment_completed",
            Event::DirectiveAssignmentAccepted { .. } => "directive_assignment_accepted",
            Event::DirectiveAssignmentReopened { .. } => "directive_assignment_reopened",
            Event::DirectiveDocumentAttached { .. } => "directive_document_attached",
        }
    }
}
