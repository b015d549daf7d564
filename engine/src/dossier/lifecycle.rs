//! The one-stop lifecycle of a dossier: its states and the ONE table of allowed transitions.
//! A transition not in [`ALLOWED`] is refused (`EngineError::Conflict` naming both states).

use serde::{Deserialize, Serialize};

/// Where a dossier is in the one-stop process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DossierState {
    /// Received at the counter (tiếp nhận).
    Received,
    /// Being processed (đang xử lý).
    Processing,
    /// The applicant was asked to supplement it (yêu cầu bổ sung).
    SupplementRequested,
    /// The supplement arrived (đã bổ sung).
    SupplementReceived,
    /// Transferred to another agency (chuyển xử lý).
    Transferred,
    /// Processing is done, the result waits at the counter (đã xử lý xong).
    Done,
    /// The result was handed to the applicant (đã trả kết quả). Final.
    ResultReturned,
    /// Refused (từ chối). Final.
    Refused,
    /// Cancelled, e.g. withdrawn by the applicant (đã hủy). Final.
    Cancelled,
}

use DossierState::*;

/// Every allowed transition: `(from, to)`. The only place the lifecycle is written down.
pub const ALLOWED: &[(DossierState, DossierState)] = &[
    (Received, Processing),
    (Received, SupplementRequested),
    (Received, Refused),
    (Received, Transferred),
    (Received, Cancelled),
    (Processing, SupplementRequested),
    (Processing, Transferred),
    (Processing, Done),
    (Processing, Refused),
    (Processing, Cancelled),
    (SupplementRequested, SupplementReceived),
    (SupplementRequested, Cancelled),
    (SupplementReceived, Processing),
    (SupplementReceived, SupplementRequested),
    (SupplementReceived, Refused),
    (SupplementReceived, Transferred),
    (Transferred, Received),
    (Transferred, SupplementReceived),
    (Transferred, SupplementRequested),
    (Transferred, Processing),
    (Transferred, Done),
    (Transferred, Refused),
    (Done, ResultReturned),
];

/// Every state, in lifecycle order.
pub const ALL: [DossierState; 9] = [
    Received,
    Processing,
    SupplementRequested,
    SupplementReceived,
    Transferred,
    Done,
    ResultReturned,
    Refused,
    Cancelled,
];

impl DossierState {
    /// The stored name (`received`, `supplement_requested`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Received => "received",
            Processing => "processing",
            SupplementRequested => "supplement_requested",
            SupplementReceived => "supplement_received",
            Transferred => "transferred",
            Done => "done",
            ResultReturned => "result_returned",
            Refused => "refused",
            Cancelled => "cancelled",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// The Vietnamese label shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Received => "Đã tiếp nhận",
            Processing => "Đang xử lý",
            SupplementRequested => "Yêu cầu bổ sung",
            SupplementReceived => "Đã bổ sung",
            Transferred => "Đã chuyển xử lý",
            Done => "Đã xử lý xong",
            ResultReturned => "Đã trả kết quả",
            Refused => "Từ chối",
            Cancelled => "Đã hủy",
        }
    }

    /// No transition leaves it.
    pub fn is_final(self) -> bool {
        !ALLOWED.iter().any(|(from, _)| *from == self)
    }

    /// Processing is over (done or final): such a dossier is never overdue, and entering one of
    /// these sets `finished_at` (kept when `done` moves on to `result_returned`).
    pub fn is_finished(self) -> bool {
        matches!(self, Done | ResultReturned | Refused | Cancelled)
    }

    /// Whether `self → to` is in [`ALLOWED`].
    pub fn can_go_to(self, to: DossierState) -> bool {
        ALLOWED.contains(&(self, to))
    }

    /// Whether documents may be added (received, processing, supplement requested/received).
    pub fn accepts_documents(self) -> bool {
        matches!(
            self,
            Received | Processing | SupplementRequested | SupplementReceived
        )
    }
}

impl std::fmt::Display for DossierState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finals_and_names() {
        for s in ALL {
            assert_eq!(DossierState::parse(s.as_str()), Some(s));
        }
        let finals: Vec<_> = ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, vec![ResultReturned, Refused, Cancelled]);
        assert!(Received.can_go_to(Processing));
        assert!(!Received.can_go_to(Done));
        // Transfers (liên thông): the counter forwards at once, or after processing or a
        // supplement; a returned dossier goes back to where it was; the receiver may ask for a
        // supplement, process, finish or refuse.
        for from in [Received, Processing, SupplementReceived] {
            assert!(from.can_go_to(Transferred), "{from}");
            assert!(Transferred.can_go_to(from), "{from}");
        }
        for to in [SupplementRequested, Done, Refused] {
            assert!(Transferred.can_go_to(to), "{to}");
        }
        assert!(!SupplementRequested.can_go_to(Transferred));
    }
}
