//! Resident ID-card reader: the card data the rest of the station sees, the reader trait, and
//! its backends.
//!
//! Key decision: the application depends on the small [`CardReader`] trait, never on a port.
//! A backend turns whatever the hardware does into [`CardEvent`]s.
//!
//! Backends in this cut:
//! - [`SimulatedReader`]: an in-process queue of sample cards, for the demo and tests.
//!
//! The GA 467 serial backend (a pure codec plus a tokio-serial driver) and the
//! pseudo-terminal simulator that speaks the same protocol come with the ID-card issue; they
//! will implement this same trait, so nothing above it changes.
//!
//! This crate knows nothing about applications or services.

use std::collections::VecDeque;

/// The text of a resident ID card (GA/T 490), as decoded from the card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardData {
    pub name: String,
    /// GB/T 2261.1 code: `1` male, `2` female.
    pub gender_code: String,
    /// GB/T 3304 two-digit code, e.g. `01` (汉).
    pub ethnicity_code: String,
    /// `YYYYMMDD`.
    pub birth_date: String,
    pub address: String,
    pub id_number: String,
    pub issuing_authority: String,
    /// `YYYYMMDD`.
    pub valid_from: String,
    /// `YYYYMMDD`, or `长期` for a card without expiry.
    pub valid_to: String,
}

/// What a reader reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardEvent {
    /// A card was placed and read.
    Read(Box<CardData>),
    /// The card was lifted.
    Removed,
}

/// Reader failures, in words a technician can act on.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    #[error("the card reader is not connected")]
    NotConnected,
    #[error("the card could not be read; place it flat on the reader and try again")]
    ReadFailed,
}

pub type Result<T, E = ReaderError> = std::result::Result<T, E>;

/// A resident ID-card reader.
pub trait CardReader: Send {
    /// The next event, if one happened since the last call. Never blocks for long.
    fn poll(&mut self) -> Result<Option<CardEvent>>;
}

/// An in-process reader fed with sample cards: each [`SimulatedReader::tap`] yields one
/// `Read` followed by one `Removed`.
#[derive(Debug, Default)]
pub struct SimulatedReader {
    pending: VecDeque<CardEvent>,
}

impl SimulatedReader {
    pub fn new() -> SimulatedReader {
        SimulatedReader::default()
    }

    /// Place `card` on the reader and lift it again.
    pub fn tap(&mut self, card: CardData) {
        self.pending.push_back(CardEvent::Read(Box::new(card)));
        self.pending.push_back(CardEvent::Removed);
    }
}

impl CardReader for SimulatedReader {
    fn poll(&mut self) -> Result<Option<CardEvent>> {
        Ok(self.pending.pop_front())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tap_reads_then_removes() {
        let card = CardData {
            name: "张三".into(),
            gender_code: "1".into(),
            ethnicity_code: "01".into(),
            birth_date: "19500101".into(),
            address: "云南省".into(),
            id_number: "x".into(),
            issuing_authority: "y".into(),
            valid_from: "20200101".into(),
            valid_to: "长期".into(),
        };
        let mut r = SimulatedReader::new();
        assert_eq!(r.poll().unwrap(), None);
        r.tap(card.clone());
        assert_eq!(r.poll().unwrap(), Some(CardEvent::Read(Box::new(card))));
        assert_eq!(r.poll().unwrap(), Some(CardEvent::Removed));
        assert_eq!(r.poll().unwrap(), None);
    }
}
