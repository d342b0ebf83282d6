//! The configuration file (TOML) and the data directory.
//!
//! ```toml
//! # /etc/kiosk/kiosk.toml — every key is optional
//! [sync]
//! poll_secs = 30        # how often to look for decisions when nothing is waiting
//! [outbox]
//! forget_handed_over_after_days = 30   # then a handed-over application leaves the index
//! [ui]
//! fullscreen = true
//! [devices]
//! idcard = "/dev/kiosk-idcard"   # the ID-card reader (the udev rules make this name)
//! printer = "/dev/kiosk-printer" # the receipt printer (ESC/POS over serial)
//! scanner = ""          # a name from `kiosk scan --list`; empty: the first one found
//! [receipt]
//! hotline = "12345"     # printed on every receipt: the county's service hotline
//! [gpio]                # BCM pin numbers of the LEDs and the buzzer
//! link = 17
//! backlog = 27
//! fault = 22
//! buzzer = 18
//! ```
//! `forget_handed_over_after_days`: how long after the villager collected the result (and
//! the county acknowledged the hand-over) the station keeps the application's row (tracking
//! number, masked name, state) for card taps and the counter board. Its sealed personal
//! data is gone already, deleted when the county confirmed receipt. Default 30 days; 0
//! removes it at the next hourly sweep.
//! The station's identity and the county's address come from provisioning
//! (`DATA_DIR/station.toml`), not from this file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Failure;
use crate::cli::Command;

const SYSTEM_CONFIG: &str = "/etc/kiosk/kiosk.toml";
const APPLIANCE_DATA_DIR: &str = "/var/lib/kiosk";

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub sync: SyncConfig,
    pub outbox: OutboxConfig,
    pub ui: UiConfig,
    pub devices: DevicesConfig,
    pub gpio: crate::leds::GpioConfig,
    pub receipt: ReceiptConfig,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiptConfig {
    /// The hotline printed on every receipt (12345 is China's government service hotline).
    pub hotline: String,
}

impl Default for ReceiptConfig {
    fn default() -> Self {
        ReceiptConfig {
            hotline: "12345".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DevicesConfig {
    /// The ID-card reader's serial device.
    pub idcard: PathBuf,
    /// The receipt printer's serial device.
    pub printer: PathBuf,
    /// The scanner: a name from `kiosk scan --list`, `sim`, or empty for the first found.
    pub scanner: String,
}

impl Default for DevicesConfig {
    fn default() -> Self {
        DevicesConfig {
            idcard: PathBuf::from("/dev/kiosk-idcard"),
            printer: PathBuf::from("/dev/kiosk-printer"),
            scanner: String::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    pub forget_handed_over_after_days: u32,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            forget_handed_over_after_days: 30,
        }
    }
}

impl OutboxConfig {
    pub fn keep_after_handover(&self) -> time::Duration {
        time::Duration::days(i64::from(self.forget_handed_over_after_days))
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    pub poll_secs: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig { poll_secs: 30 }
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    pub fullscreen: bool,
}

impl Config {
    /// Read `path`, or the system file when it exists, or use the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, Failure> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None if Path::new(SYSTEM_CONFIG).exists() => PathBuf::from(SYSTEM_CONFIG),
            None => return Ok(Config::default()),
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Failure::new(format!(
                "the configuration file {} cannot be read: {e}",
                path.display()
            ))
        })?;
        Config::parse(&text).map_err(|e| {
            Failure::new(format!(
                "the configuration file {} is not valid: {e}",
                path.display()
            ))
        })
    }

    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }
}

/// The data directory: `--data-dir` if given; the appliance's for `run`; else a per-user one.
pub fn data_dir(given: Option<&Path>, command: &Command, _config: &Config) -> PathBuf {
    if let Some(d) = given {
        return d.to_path_buf();
    }
    if matches!(command, Command::Run { .. }) {
        return PathBuf::from(APPLIANCE_DATA_DIR);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("village-kiosk")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults_and_unknown_keys_are_refused() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        let c = Config::parse("[sync]\npoll_secs = 5\n").unwrap();
        assert_eq!(c.sync.poll_secs, 5);
        let e = Config::parse("[sync]\npol_secs = 5\n").unwrap_err();
        assert!(e.to_string().contains("pol_secs"), "{e}");
        assert_eq!(
            Config::default().outbox.keep_after_handover(),
            time::Duration::days(30)
        );
        let c = Config::parse("[outbox]\nforget_handed_over_after_days = 0\n").unwrap();
        assert_eq!(c.outbox.keep_after_handover(), time::Duration::ZERO);
    }
}
