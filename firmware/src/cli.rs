//! The command line. Every subcommand is a product interface: technicians, scripts and the
//! acceptance tests use them exactly as documented here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The village service-station kiosk (为民服务站自助终端).
///
/// Without a subcommand it runs the demo: the kiosk window with simulated devices and the
/// reference county platform on this machine.
#[derive(Debug, Parser)]
#[command(name = "kiosk", version, about, long_about)]
pub struct Cli {
    /// Where the station keeps its data (outbox database, scans, identity).
    /// Default: /var/lib/kiosk for `run`, a per-user folder for everything else.
    #[arg(long, global = true, value_name = "DIR", env = "KIOSK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Configuration file (TOML). Default: /etc/kiosk/kiosk.toml when it exists.
    #[arg(long, global = true, value_name = "FILE", env = "KIOSK_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the demo: simulated devices plus the reference county platform on 127.0.0.1
    /// (its data under DATA_DIR/county).
    Demo {
        /// No window: for servers and CI. Stops on Ctrl-C or SIGTERM.
        #[arg(long)]
        headless: bool,
    },
    /// Run the appliance as systemd starts it (provisioned station, real devices).
    Run {
        /// No window.
        #[arg(long)]
        headless: bool,
        /// Use the simulated devices instead of hardware (a technician's bench, tests).
        #[arg(long)]
        simulate: bool,
    },
    /// Validate an application given as JSON exactly as the counter screen would, store it
    /// durably with its scans, and print its tracking number. Invalid input: exit 1, every
    /// field error listed, nothing stored.
    Submit {
        /// The application file: {"service": "...", "fields": {...}, "scans": [{"scan": "...",
        /// "file": "path relative to this file"}]}.
        file: PathBuf,
        /// Print {"application_id": "...", "tracking_number": "..."} (with --print also
        /// "receipt": "printed" or what went wrong).
        #[arg(long)]
        json: bool,
        /// Also print the villager's receipt on the configured printer ([devices] printer).
        #[arg(long)]
        print: bool,
    },
    /// Show what is waiting, sent, decided and ready.
    Status {
        /// Print a JSON object: counts by state, oldest_waiting_secs, last_contact, ...
        #[arg(long)]
        json: bool,
    },
    /// Record that the villager collected the result (when the card reader cannot be used);
    /// forwarded to the county with the next contact.
    Handover {
        /// The tracking number on the villager's receipt.
        tracking_number: String,
    },
    /// Enrol this station with its county using the file `county station add` wrote; the
    /// spent file is removed afterwards.
    Provision {
        /// The provisioning file.
        file: PathBuf,
    },
    /// For long outages: write every application the county has not acknowledged into one
    /// bundle in DIR (e.g. a mounted USB stick), still sealed to the county's key and signed
    /// with this station's key, named `<station-id>-<UTC yyyymmddThhmmssZ>.kiosk-bundle`.
    /// The applications stay here and are still sent when the link returns. Prints the count,
    /// size and path. Exit status 1 when DIR is missing, not writable or full.
    Export {
        /// The directory to write the bundle into.
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
    },
    /// Apply the county's decisions bundle (`county export-decisions`) from a USB stick:
    /// decisions as if pulled over the link, and the applications the county holds marked
    /// delivered (no longer exported or sent). Importing it again changes nothing. Exit
    /// status 1 when the bundle is damaged, not signed by this station's county or for
    /// another station.
    Import {
        /// The bundle file.
        file: PathBuf,
    },
    /// Check every device, the storage, the database, the clock and the county link: one
    /// line each, pass or fail, and what to do. Exit status 1 when anything failed.
    Selftest {
        /// Print one JSON object: {"ok", "simulated", "version", "checked_at", "checks":
        /// [{"name", "ok", "detail", "action"}]}.
        #[arg(long)]
        json: bool,
        /// Check the simulated devices instead of hardware.
        #[arg(long)]
        simulate: bool,
        /// Only what a new software release can break (storage and database): the update
        /// gate run at boot, which must not fail because the link or a device is away.
        #[arg(long)]
        boot: bool,
    },
    /// ID-card reader: read one card, or run the reader simulator.
    Card {
        #[command(subcommand)]
        action: CardAction,
    },
    /// Receipt printer: report its status in plain words; with --test also print a test
    /// receipt. Exit status: 0 ready (or printed); 1 out of paper, cover open, printer
    /// error, no answer, or the device cannot be used.
    Receipt {
        /// The printer's serial device (e.g. /dev/receipt, /dev/ttyUSB0, or the path
        /// `kiosk printer sim` printed).
        #[arg(long, value_name = "PATH")]
        device: PathBuf,
        /// Print a test receipt (every part of a real one, marked as a test).
        #[arg(long)]
        test: bool,
    },
    /// Receipt-printer simulator.
    Printer {
        #[command(subcommand)]
        action: PrinterAction,
    },
    /// LEDs and buzzer.
    Leds {
        /// Run each pattern once: on the GPIO on a Raspberry Pi, simulated elsewhere (it
        /// says which).
        #[arg(long, required = true)]
        test: bool,
    },
    /// Scan one page through the whole pipeline (crop, resolution, gray or colour, JPEG; a
    /// page of dense print as a black-and-white PNG) and print the size, type and SHA-256 of
    /// the file written; or list the scanners with --list.
    /// `--device sim` uses the simulator.
    #[command(
        override_usage = "kiosk scan [--device NAME] --kind id-card|page|photo --out FILE\n       kiosk scan --list"
    )]
    Scan(crate::scan::ScanArgs),
    /// Staff PINs: the operator's (the counter) and the technician's (self-test page).
    Pin {
        #[command(subcommand)]
        action: PinAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum PinAction {
    /// Set the PIN (4 to 8 digits), read twice from standard input, one a line; stored
    /// as an Argon2 hash in DATA_DIR/pins.toml.
    Set {
        #[arg(value_enum)]
        role: crate::pin::Role,
    },
    /// Remove the PIN: that role's page opens without one.
    Clear {
        #[arg(value_enum)]
        role: crate::pin::Role,
    },
}

#[derive(Debug, Subcommand)]
pub enum PrinterAction {
    /// Run the ESC/POS printer simulator on a pseudo-terminal: its device path is the first
    /// line of output; each receipt it prints is written to DIR as receipt-NNNN.png (and
    /// its path printed). Stops on Ctrl-C or SIGTERM.
    Sim {
        /// Where the receipts go (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Fault: start out of paper.
        #[arg(long)]
        paper_out: bool,
        /// Fault: start with the cover open.
        #[arg(long)]
        cover_open: bool,
        /// Fault: answer nothing (a printer switched off behind its USB adapter).
        #[arg(long)]
        silent: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CardAction {
    /// Wait for a card on the reader, read it (text, photo, fingerprints, additional
    /// address) and print it. Exit status: 0 read; 3 no card within the timeout; 4 a device
    /// or protocol error that retries could not overcome (one sentence on stderr says which).
    Read {
        /// The reader's serial device (e.g. /dev/idcard, /dev/ttyUSB0, or the path
        /// `kiosk card sim` printed).
        #[arg(long, value_name = "PATH")]
        device: PathBuf,
        /// Seconds to wait for a card.
        #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
        timeout: f64,
        /// Print one JSON object (keys: card_type, name, english_name, gender, nation_code,
        /// nation, birth_date, address, extra_address, id_number, id_checksum_ok,
        /// issuing_authority, valid_from, valid_until, long_term, expired, nationality,
        /// pass_number, issue_count, photo_sha256, fingerprint_count, sam_id).
        #[arg(long)]
        json: bool,
    },
    /// Run the card-reader simulator on a pseudo-terminal and print its device path on the
    /// first line. The cards of FILE are placed in order; each is lifted once it has been
    /// read, and the next one placed. Stops on Ctrl-C or SIGTERM.
    Sim {
        /// The cards (JSON; format in tests/data/cards/README.md).
        #[arg(long, value_name = "FILE")]
        cards: PathBuf,
        /// Module latency per command, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 0)]
        latency_ms: u64,
        /// Fault: send answers in small random pieces.
        #[arg(long)]
        split_writes: bool,
        /// Fault: random bytes and partial preambles before every answer.
        #[arg(long)]
        noise: bool,
        /// Fault: the first N answers carry a wrong checksum.
        #[arg(long, value_name = "N", default_value_t = 0)]
        corrupt_checksums: u32,
        /// Answer at once instead of at 115200-baud wire time.
        #[arg(long)]
        no_wire_time: bool,
        /// Also make this symlink to the device (as udev does for a real reader).
        #[arg(long, value_name = "PATH")]
        link: Option<PathBuf>,
    },
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds (0 to 86400)")),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
