//! Resident ID-card reader: a protocol-exact driver for the GA 467 security module (SAM)
//! behind a USB-serial port, the card data it reads, and a simulator that speaks the same
//! protocol on a pseudo-terminal.
//!
//! # Key decision
//! The protocol is a pure codec ([`codec`]: bytes and `now` in, frames and errors out; and
//! [`card`]: the card's bytes to values and back). It never touches a port or a clock, so
//! it is tested byte for byte, fuzzed, and shared by the driver and the simulator. A thin
//! tokio layer ([`Reader`], [`Watcher`]) owns the port, the timers and the retries. The
//! application depends only on the small [`CardReader`] trait; the serial watcher and the
//! simulated reader (the simulator plus the same real driver) both implement it.
//!
//! # I/O contract
//! - [`Reader::open`] opens the device at 115200 8N1, exclusively (TIOCEXCL and `flock`),
//!   and releases it on drop. Every command is retried up to [`Options::retries`] times on
//!   a wrong checksum, an impossible length, a frame error the SAM reports (SW3 10/11) or
//!   silence, each time after a re-sync (input dropped, decoder reset).
//! - [`Watcher`] polls "find card" every [`Options::poll_interval`], reads a new card once
//!   (text, photo, fingerprints, additional address) and reports
//!   [`CardEvent::Presented`]; a card resting on the reader is not reported again;
//!   [`CardEvent::Removed`] follows when it is lifted (or the reader is lost while a card lay
//!   on it). A card the SAM refuses or whose data cannot be decoded is reported once as
//!   [`CardEvent::Unreadable`]; a read interrupted by lifting the card is not reported.
//!   When the device goes away (USB unplugged) it reports [`CardEvent::ReaderLost`]
//!   and reopens the same path until it is back ([`CardEvent::ReaderReady`]). A stable path
//!   (a udev symlink) is the system's job; the driver only reopens.
//! - [`sim::Simulator`] runs in a thread of its own and answers on a pseudo-terminal.
//! - The driver logs through `tracing` at debug/warn level, never a card's personal data;
//!   [`Card`]'s `Debug` shows only its type and sizes.
//!
//! This crate knows nothing about applications or services.
//!
//! # Troubleshooting
//! - *Permission denied* ([`Error::PermissionDenied`]): the user running the kiosk must be in
//!   the `dialout` group (or a udev rule must give the device to it).
//! - *Device busy* ([`Error::Busy`]): another program holds the reader (a second `kiosk`, a
//!   vendor tool, `screen`/`minicom`). Only one may open it; stop the other.
//! - *Not found* ([`Error::NotFound`]): the reader is unplugged, or the udev link (e.g.
//!   `/dev/idcard`) is missing; `ls -l /dev/serial/by-id/` shows what the system sees.
//! - *No answer / garbled answers*: wrong port (another USB-serial device), a rate other than
//!   115200 set by a vendor tool (power-cycle the reader), or a failing cable.
//! - *The card could not be read* ([`Error::ReadFailed`]): the card moved during the read;
//!   lay it flat and still.

pub mod card;
pub mod codec;
mod driver;
pub mod sim;
mod watch;

use std::future::Future;
use std::io;

pub use card::{Card, CardError, CardText, CardType, Gender, SamId, ValidUntil};
pub use driver::{Error, Options, Reader, Result, open};
pub use watch::{Presence, Step, Watcher};

/// What a reader reports.
#[derive(Debug)]
pub enum CardEvent {
    /// The reader is open and answering (at start, and again after it was lost).
    ReaderReady,
    /// A card was placed and read in full.
    Presented(Box<Card>),
    /// A card was placed but cannot be used: the security module refused it (e.g. it failed
    /// authentication) or its data cannot be decoded. [`CardEvent::Removed`] follows when it
    /// is lifted.
    Unreadable(Error),
    /// The card was lifted.
    Removed,
    /// The reader went away or cannot be opened; the watcher keeps trying.
    ReaderLost(Error),
}

/// An ID-card reader, as the application sees it.
pub trait CardReader: Send {
    /// The next event; `None` once the reader has stopped for good.
    fn next_event(&mut self) -> impl Future<Output = Option<CardEvent>> + Send;
}

/// The simulator with the real driver reading from it: what the demo uses. Cards are put on
/// and taken off through [`SimulatedReader::simulator`].
#[derive(Debug)]
pub struct SimulatedReader {
    watcher: Watcher,
    sim: sim::Simulator,
}

impl SimulatedReader {
    /// Start a simulator and watch it with the real driver (inside a tokio runtime).
    pub fn start(sim: sim::SimOptions, opts: Options) -> io::Result<SimulatedReader> {
        let sim = sim::Simulator::start(sim)?;
        let watcher = Watcher::spawn(sim.path(), opts);
        Ok(SimulatedReader { watcher, sim })
    }

    /// A handle to the simulator (place and lift cards, faults).
    pub fn simulator(&self) -> sim::Simulator {
        self.sim.clone()
    }
}

impl CardReader for SimulatedReader {
    async fn next_event(&mut self) -> Option<CardEvent> {
        self.watcher.next_event().await
    }
}
