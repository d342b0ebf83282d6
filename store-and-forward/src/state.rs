//! The life of an application at the station, as a pure state machine.
//!
//! ```text
//! queued ──> sending ──> delivered ──> decided ──> ready ──> handed_over
//!              │  ▲                       │  (approved / rejected / more_papers)
//!              │  └── retry (backoff) ────┘
//!              └──> returned   (the county refused it as invalid; back to the operator)
//! ```
//! `draft` lives only in the UI until the operator submits; the outbox starts at `queued`.

use std::fmt;

/// Where an application stands. The names are part of `kiosk status --json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AppState {
    /// Stored durably; nothing sent yet.
    Queued,
    /// Transmission started (record and/or attachments partly sent).
    Sending,
    /// The county holds the record and every scan, whole and checked.
    Delivered,
    /// A clerk decided: approved, rejected (with a reason) or more papers needed.
    Decided,
    /// The certificate is ready for pick-up at the station.
    Ready,
    /// The villager collected it (recorded by card tap, forwarded to the county).
    HandedOver,
    /// The county refused the application as invalid; the operator must look at it.
    Returned,
}

impl AppState {
    /// Every state, in the order of an application's life.
    pub const ALL: [AppState; 7] = [
        AppState::Queued,
        AppState::Sending,
        AppState::Delivered,
        AppState::Decided,
        AppState::Ready,
        AppState::HandedOver,
        AppState::Returned,
    ];

    /// The stable name used in the database and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AppState::Queued => "queued",
            AppState::Sending => "sending",
            AppState::Delivered => "delivered",
            AppState::Decided => "decided",
            AppState::Ready => "ready",
            AppState::HandedOver => "handed_over",
            AppState::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<AppState> {
        AppState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Still has something to send to the county.
    pub fn is_waiting(self) -> bool {
        matches!(self, AppState::Queued | AppState::Sending)
    }

    /// Whether moving from `self` to `to` is a step of the machine above. Repeating the
    /// current state is not a transition (callers treat it as already done).
    pub fn can_go_to(self, to: AppState) -> bool {
        use AppState::*;
        matches!(
            (self, to),
            (Queued, Sending)
                | (Sending, Delivered)
                | (Sending, Returned)
                | (Queued, Returned)
                | (Delivered, Decided)
                | (Delivered, Ready)
                | (Decided, Decided)
                | (Decided, Ready)
                | (Ready, HandedOver)
        )
    }
}

impl fmt::Display for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::AppState::{self, *};

    #[test]
    fn names_round_trip() {
        for s in AppState::ALL {
            assert_eq!(AppState::parse(s.as_str()), Some(s));
        }
        assert_eq!(AppState::parse("draft"), None);
    }

    #[test]
    fn the_happy_path_is_allowed_and_nothing_goes_backwards() {
        let path = [Queued, Sending, Delivered, Decided, Ready, HandedOver];
        for w in path.windows(2) {
            assert!(w[0].can_go_to(w[1]), "{} -> {}", w[0], w[1]);
        }
        for (i, a) in path.iter().enumerate() {
            for b in &path[..i] {
                assert!(!a.can_go_to(*b), "{a} -> {b} must be refused");
            }
        }
        assert!(!HandedOver.can_go_to(Returned));
        assert!(
            !Delivered.can_go_to(Returned),
            "delivered is final for the county's intake"
        );
    }
}
