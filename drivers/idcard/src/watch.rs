//! The card watch: polls the reader, reads a card once when it is placed, reports when it
//! is lifted, and reopens the reader after it was unplugged.

use std::path::PathBuf;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::card::Card;
use crate::driver::{Error, Options, Reader};
use crate::{CardEvent, CardReader};

/// What the watch loop does after a "find card" answer. Pure, so the no-duplicates rule is
/// tested without a port.
#[derive(Clone, Debug, Default)]
pub struct Presence {
    present: bool,
    misses: u32,
}

/// The next step after a find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A new card is there: read it.
    Read,
    /// Nothing changed (no card, or the card read before is still resting).
    Nothing,
    /// The card read before was lifted: report it.
    Removed,
}

impl Presence {
    /// A find answered `found`; `debounce` "no card" answers in a row mean lifted.
    pub fn on_find(&mut self, found: bool, debounce: u32) -> Step {
        match (found, self.present) {
            (true, true) => {
                self.misses = 0;
                Step::Nothing
            }
            (true, false) => Step::Read,
            (false, false) => Step::Nothing,
            (false, true) => {
                self.misses += 1;
                if self.misses >= debounce.max(1) {
                    self.present = false;
                    self.misses = 0;
                    Step::Removed
                } else {
                    Step::Nothing
                }
            }
        }
    }

    /// The card was read and reported.
    pub fn on_read(&mut self) {
        self.present = true;
        self.misses = 0;
    }

    /// The reader was lost: true when a card was being held (report it as removed).
    pub fn on_lost(&mut self) -> bool {
        std::mem::take(&mut self.present)
    }

    pub fn present(&self) -> bool {
        self.present
    }
}

/// Watches the reader at a path in a background task and reports [`CardEvent`]s. Dropping
/// it stops the task and closes the port.
#[derive(Debug)]
pub struct Watcher {
    events: mpsc::Receiver<CardEvent>,
    task: JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher {
    /// Start watching `path` (must run inside a tokio runtime). Opening problems come as
    /// [`CardEvent::ReaderLost`] events; the watcher keeps trying.
    pub fn spawn(path: impl Into<PathBuf>, opts: Options) -> Watcher {
        let (tx, events) = mpsc::channel(16);
        let task = tokio::spawn(watch(path.into(), opts, tx));
        Watcher { events, task }
    }
}

impl CardReader for Watcher {
    async fn next_event(&mut self) -> Option<CardEvent> {
        self.events.recv().await
    }
}

async fn watch(path: PathBuf, opts: Options, tx: mpsc::Sender<CardEvent>) {
    let mut presence = Presence::default();
    let mut reported_lost = false;
    loop {
        let mut reader = match Reader::open(&path, opts.clone()) {
            Ok(r) => r,
            Err(e) => {
                if !reported_lost {
                    reported_lost = true;
                    if tx.send(CardEvent::ReaderLost(e)).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(opts.reconnect_interval).await;
                continue;
            }
        };
        if tx.send(CardEvent::ReaderReady).await.is_err() {
            return;
        }
        let e = run(&mut reader, &opts, &mut presence, &tx).await;
        drop(reader);
        let Some(e) = e else { return };
        if presence.on_lost() && tx.send(CardEvent::Removed).await.is_err() {
            return;
        }
        // The loss is reported here; failed reopens after it are not reported again.
        reported_lost = true;
        if tx.send(CardEvent::ReaderLost(e)).await.is_err() {
            return;
        }
        tokio::time::sleep(opts.reconnect_interval).await;
    }
}

/// Poll until the port is lost (`Some(error)`) or nobody listens any more (`None`).
async fn run(
    reader: &mut Reader,
    opts: &Options,
    presence: &mut Presence,
    tx: &mpsc::Sender<CardEvent>,
) -> Option<Error> {
    // Errors that are not a lost port (garbled answers, a refusing SAM) are reported once
    // per run of failures and polled through.
    let mut failing = false;
    loop {
        let step = match reader.find_card().await {
            Ok(found) => {
                failing = false;
                presence.on_find(found, opts.removal_debounce)
            }
            Err(e) if e.is_disconnect() => return Some(e),
            Err(e) => {
                if !failing {
                    failing = true;
                    tracing::warn!(error = %e, "card reader trouble");
                }
                Step::Nothing
            }
        };
        let event = match step {
            Step::Nothing => None,
            Step::Removed => Some(CardEvent::Removed),
            Step::Read => match read(reader).await {
                Ok(Some(card)) => {
                    presence.on_read();
                    Some(CardEvent::Presented(Box::new(card)))
                }
                // Lifted before the read finished: nothing to report; the next find sees.
                Ok(None) | Err(Error::ReadFailed { .. }) => None,
                Err(e) if e.is_disconnect() => return Some(e),
                // A card whose data cannot be decoded, or that the SAM refuses (e.g. it
                // fails authentication): reported once, like a card read, until lifted.
                Err(e) => {
                    presence.on_read();
                    Some(CardEvent::Unreadable(e))
                }
            },
        };
        if let Some(ev) = event
            && tx.send(ev).await.is_err()
        {
            return None;
        }
        tokio::time::sleep(opts.poll_interval).await;
    }
}

async fn read(reader: &mut Reader) -> Result<Option<Card>, Error> {
    if !reader.select_card().await? {
        return Ok(None);
    }
    reader.read_selected().await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resting_card_is_read_once_and_removed_once() {
        let mut p = Presence::default();
        assert_eq!(p.on_find(false, 2), Step::Nothing);
        assert_eq!(p.on_find(true, 2), Step::Read);
        p.on_read();
        for _ in 0..10 {
            assert_eq!(p.on_find(true, 2), Step::Nothing);
        }
        // One stray "no card" is not a removal.
        assert_eq!(p.on_find(false, 2), Step::Nothing);
        assert_eq!(p.on_find(true, 2), Step::Nothing);
        assert_eq!(p.on_find(false, 2), Step::Nothing);
        assert_eq!(p.on_find(false, 2), Step::Removed);
        assert_eq!(p.on_find(false, 2), Step::Nothing);
        assert_eq!(p.on_find(true, 2), Step::Read);
    }

    #[test]
    fn a_failed_read_is_tried_again_on_the_next_find() {
        let mut p = Presence::default();
        assert_eq!(p.on_find(true, 2), Step::Read);
        // (the read failed: no on_read)
        assert_eq!(p.on_find(true, 2), Step::Read);
        p.on_read();
        assert!(p.on_lost());
        assert!(!p.on_lost());
    }
}
