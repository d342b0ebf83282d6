//! The 58 mm thermal receipt printer: ESC/POS over a serial port, the receipt it prints,
//! its status in plain words, a simulator on a pseudo-terminal, and a renderer that turns
//! what was printed into a PNG.
//!
//! # Key decision
//! Everything about bytes is pure: [`Receipt::to_escpos`] lays out the receipt (text in
//! GB18030, the printer's own `GS ( k` QR command, cut); [`status`] reads the `DLE EOT`
//! answers; [`escpos::Parser`] turns a byte stream back into commands, and both the
//! simulator and [`render`] use it. Only [`Printer`] owns a port and timers. The
//! application depends on the small [`ReceiptPrinter`] trait; the serial printer and the
//! simulated printer (the simulator plus the same real driver) both implement it.
//!
//! # I/O contract
//! - [`Printer::open`] opens the device 8N1 (9600 baud unless told otherwise), exclusively
//!   (TIOCEXCL and `flock`), and releases it on drop.
//! - [`Printer::print_bytes`] asks the status first and refuses to print when the printer
//!   says it cannot ([`Error::NotReady`]); sends the job in pieces, each within
//!   [`Options::write_timeout`]; then asks again and reports a printer that stopped during
//!   the job ([`Error::Interrupted`]). Printers answer `DLE EOT` in real time, so that second
//!   answer tells the state when the last byte left, not when the paper stopped. A status query gets [`Options::status_timeout`] for
//!   its four answer bytes; silence is [`Error::NoAnswer`], a port that went away
//!   [`Error::Disconnected`].
//! - [`sim::Simulator`] runs in a thread of its own and answers on a pseudo-terminal.
//! - Nothing is logged but debug/warn lines about the link; receipts carry no personal data
//!   (no name, no ID number), only the tracking number.
//!
//! This crate knows nothing about applications or services: a [`Receipt`] is plain text.
//!
//! # Troubleshooting
//! - *Permission denied*: the user running the kiosk must be in the `dialout` group.
//! - *Device busy*: another program holds the printer (a second `kiosk`, `screen`); stop it.
//! - *Not found*: the printer is unplugged, or its udev link (e.g. `/dev/receipt`) is missing;
//!   `ls -l /dev/serial/by-id/` shows what the system sees.
//! - *No answer*: the printer is switched off, or the path is another device, or its rate is
//!   not 9600 (print its self-test page: hold the feed button while switching it on).
//! - *Out of paper / cover open*: the status words say which; load a roll (thermal side
//!   out), close the cover firmly until it clicks.

mod driver;
pub mod escpos;
pub mod receipt;
pub mod render;
pub mod sim;
pub mod status;

use std::future::Future;
use std::io;

pub use driver::{Error, Options, Printer, Result};
pub use receipt::Receipt;
pub use render::{Image, render};
pub use status::{Problem, Status};

/// A receipt printer, as the application sees it.
pub trait ReceiptPrinter: Send {
    /// The printer's state.
    fn status(&mut self) -> impl Future<Output = Result<Status>> + Send;
    /// Print `receipt`; the state after printing (it may say the paper is near its end).
    fn print(&mut self, receipt: &Receipt) -> impl Future<Output = Result<Status>> + Send;
}

impl ReceiptPrinter for Printer {
    async fn status(&mut self) -> Result<Status> {
        Printer::status(self).await
    }

    async fn print(&mut self, receipt: &Receipt) -> Result<Status> {
        self.print_bytes(&receipt.to_escpos()).await
    }
}

/// The simulator with the real driver printing to it: what the demo and tests use.
#[derive(Debug)]
pub struct SimulatedPrinter {
    printer: Printer,
    sim: sim::Simulator,
}

impl SimulatedPrinter {
    /// Start a simulator and open it with the real driver (inside a tokio runtime).
    pub fn start(opts: Options) -> io::Result<SimulatedPrinter> {
        let sim = sim::Simulator::start()?;
        let printer = Printer::open(&sim.path(), opts).map_err(io::Error::other)?;
        Ok(SimulatedPrinter { printer, sim })
    }

    /// A handle to the simulator (faults, captured receipts).
    pub fn simulator(&self) -> sim::Simulator {
        self.sim.clone()
    }
}

impl ReceiptPrinter for SimulatedPrinter {
    async fn status(&mut self) -> Result<Status> {
        self.printer.status().await
    }

    async fn print(&mut self, receipt: &Receipt) -> Result<Status> {
        self.printer.print_bytes(&receipt.to_escpos()).await
    }
}

/// Either printer, for an application that picks one at start (the real one on the
/// appliance, the simulated one in the demo).
#[derive(Debug)]
pub enum AnyPrinter {
    Serial(Printer),
    Simulated(Box<SimulatedPrinter>),
}

impl ReceiptPrinter for AnyPrinter {
    async fn status(&mut self) -> Result<Status> {
        match self {
            AnyPrinter::Serial(p) => ReceiptPrinter::status(p).await,
            AnyPrinter::Simulated(p) => p.status().await,
        }
    }

    async fn print(&mut self, receipt: &Receipt) -> Result<Status> {
        match self {
            AnyPrinter::Serial(p) => ReceiptPrinter::print(p, receipt).await,
            AnyPrinter::Simulated(p) => p.print(receipt).await,
        }
    }
}
