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
    },
    /// Validate an application given as JSON exactly as the counter screen would, store it
    /// durably with its scans, and print its tracking number. Invalid input: exit 1, every
    /// field error listed, nothing stored.
    Submit {
        /// The application file: {"service": "...", "fields": {...}, "scans": [{"scan": "...",
        /// "file": "path relative to this file"}]}.
        file: PathBuf,
        /// Print {"application_id": "...", "tracking_number": "..."}.
        #[arg(long)]
        json: bool,
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
    /// Check every device and the county link (not available yet).
    Selftest {
        /// Machine-readable report.
        #[arg(long)]
        json: bool,
    },
    /// ID-card reader commands (not available yet).
    Card {
        #[command(subcommand)]
        action: CardAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum CardAction {
    /// Read the card on the reader once and print it.
    Read,
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
