//! The counter's output devices as the running appliance uses them: the receipt printer
//! after each submission, and the LEDs and buzzer that show the station's state from across
//! the room.
//!
//! LEDs (see [`patterns`], pure and tested):
//! - link: steady after a successful contact with the county and no error since; blinking
//!   while the link fails (the outbox keeps retrying); off before the first contact.
//! - backlog: off when nothing waits to be sent; steady while applications wait; blinking
//!   when the oldest has waited more than a day (the technician should look at the link, or
//!   export to a USB stick).
//! - fault: steady while the storage is full, read-only, failing or damaged (the outbox's
//!   health; also while the station runs degraded and nothing can be read); blinking while a
//!   device is missing (the card reader) or the outbox cannot be read; off otherwise.
//!
//! The buzzer: a short beep on every card read, a long one on an error at the counter.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use printer::Status as PrinterStatus;
use signals::{Event, Output, Pattern};
use store_and_forward::{AppState, Health, Status};
use time::OffsetDateTime;

/// What every receipt tells the villager to bring at pick-up.
pub const BRING: [&str; 2] = ["本人身份证 / your ID card", "本回执 / this receipt"];

/// Where receipts go: the simulator (demo, `--simulate`; each receipt also becomes a PNG
/// under `DATA_DIR/receipts/`) or the printer at its stable device name, opened for each
/// receipt so a printer plugged in late, or unplugged and back, just works.
pub enum ReceiptDesk {
    Simulated(tokio::sync::Mutex<printer::SimulatedPrinter>),
    Device(PathBuf),
}

impl ReceiptDesk {
    /// Start the simulated printer and the task that keeps its receipts as PNGs (inside a
    /// tokio runtime).
    pub fn simulated(receipts: PathBuf) -> std::io::Result<ReceiptDesk> {
        let sim = printer::SimulatedPrinter::start(printer::Options::default())?;
        std::fs::create_dir_all(&receipts)?;
        tokio::spawn(crate::receipt::keep_receipts(
            sim.simulator(),
            receipts,
            |path| tracing::info!(path = %path.display(), "receipt printed (simulated)"),
        ));
        Ok(ReceiptDesk::Simulated(tokio::sync::Mutex::new(sim)))
    }

    /// Print one application's receipt. The application is already stored: an error here
    /// is for the operator to fix (paper, cover, cable), never a reason to undo anything.
    pub async fn print(
        &self,
        station: &str,
        service: &str,
        tracking_number: &str,
        time: OffsetDateTime,
        hotline: &str,
    ) -> Result<PrinterStatus, printer::Error> {
        let bring: Vec<String> = BRING.iter().map(|s| s.to_string()).collect();
        match self {
            ReceiptDesk::Simulated(p) => {
                let mut p = p.lock().await;
                crate::receipt::print_application_receipt(
                    &mut *p,
                    station,
                    service,
                    tracking_number,
                    time,
                    &bring,
                    hotline,
                )
                .await
            }
            ReceiptDesk::Device(path) => {
                let mut p = printer::Printer::open(path, printer::Options::default())?;
                let st = crate::receipt::print_application_receipt(
                    &mut p,
                    station,
                    service,
                    tracking_number,
                    time,
                    &bring,
                    hotline,
                )
                .await;
                drop(p);
                st
            }
        }
    }
}

/// The printer's answer as the operator reads it: `None` when all is well.
pub fn printer_note(result: &Result<PrinterStatus, printer::Error>) -> Option<(String, String)> {
    match result {
        Ok(st) if st.problems().is_empty() => None,
        Ok(st) => {
            let problems = st.problems();
            let zh: Vec<&str> = problems.iter().map(|p| p.zh()).collect();
            let en: Vec<&str> = problems.iter().map(|p| p.en()).collect();
            Some((
                format!("回执已打印，但打印机：{}", zh.join("；")),
                format!("Receipt printed, but the printer says: {}", en.join("; ")),
            ))
        }
        Err(e) => Some((
            "回执没有打印出来，但申请已保存；请检查打印机的电源、纸和连线".to_string(),
            format!(
                "The receipt did not print ({e}); the application is saved. Check the \
                 printer's power, paper and cable."
            ),
        )),
    }
}

/// Device faults the fault LED shows (set by the parts that see them).
#[derive(Clone, Default)]
pub struct Faults {
    reader_missing: Arc<AtomicBool>,
}

impl Faults {
    pub fn set_reader_missing(&self, missing: bool) {
        self.reader_missing.store(missing, Ordering::Relaxed);
    }

    pub fn any(&self) -> bool {
        self.reader_missing.load(Ordering::Relaxed)
    }
}

/// How long the oldest application may wait before the backlog LED blinks.
const LONG_WAIT_SECS: u64 = 24 * 60 * 60;

/// The three LEDs for an outbox status (`None`: the outbox could not be read), the
/// storage fault known without reading it (`degraded`: why the station runs degraded) and
/// the device faults.
pub fn patterns(
    status: Option<&Status>,
    degraded: Option<Health>,
    device_fault: bool,
) -> [(Output, Pattern); 3] {
    let Some(st) = status else {
        return [
            (Output::Link, Pattern::Off),
            (Output::Backlog, Pattern::Off),
            (
                Output::Fault,
                match degraded {
                    Some(_) => Pattern::Steady,
                    None => Pattern::Blink,
                },
            ),
        ];
    };
    let link = match (&st.last_error, st.last_contact) {
        (Some(_), _) => Pattern::Blink,
        (None, Some(_)) => Pattern::Steady,
        (None, None) => Pattern::Off,
    };
    let count = |s: AppState| st.counts.get(&s).copied().unwrap_or(0);
    let waiting = count(AppState::Queued) + count(AppState::Sending);
    let backlog = match st.oldest_waiting_secs {
        _ if waiting == 0 => Pattern::Off,
        Some(secs) if secs > LONG_WAIT_SECS => Pattern::Blink,
        _ => Pattern::Steady,
    };
    // Storage trouble is steady (it needs the technician); a missing device blinks.
    let fault = if st.health != Health::Ok || degraded.is_some() {
        Pattern::Steady
    } else if device_fault {
        Pattern::Blink
    } else {
        Pattern::Off
    };
    [
        (Output::Link, link),
        (Output::Backlog, backlog),
        (Output::Fault, fault),
    ]
}

/// Keep the LEDs in step with the outbox, every two seconds, until cancelled.
pub async fn follow_outbox(signals: signals::Handle, outbox: crate::daemon::Store, faults: Faults) {
    let mut shown: Option<[(Output, Pattern); 3]> = None;
    loop {
        let ob = outbox.clone();
        let status =
            tokio::task::spawn_blocking(move || ob.read(|ob| ob.status(crate::form::now())))
                .await
                .ok()
                .and_then(Result::ok);
        let now = patterns(status.as_ref(), outbox.degraded(), faults.any());
        if shown != Some(now) {
            // For the technician's journal (and the tests): what the LEDs say now.
            tracing::info!(link = ?now[0].1, backlog = ?now[1].1, fault = ?now[2].1, "LEDs set");
            for (output, pattern) in now {
                signals.set(output, pattern);
            }
            shown = Some(now);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// A beep for something that happened at the counter.
pub fn beep(signals: Option<&signals::Handle>, event: Event) {
    if let Some(s) = signals {
        s.event(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn status(queued: u64, oldest: Option<u64>, contact: bool, error: bool) -> Status {
        let mut counts: BTreeMap<AppState, u64> = AppState::ALL.iter().map(|s| (*s, 0)).collect();
        counts.insert(AppState::Queued, queued);
        Status {
            counts,
            oldest_waiting_secs: oldest,
            last_contact: contact.then_some(time::macros::datetime!(2026-11-25 08:00 UTC)),
            bytes_waiting: 0,
            last_error: error.then(|| "the county is unreachable".to_string()),
            sending: None,
            health: Health::Ok,
        }
    }

    fn of(p: [(Output, Pattern); 3], o: Output) -> Pattern {
        p.iter().find(|(x, _)| *x == o).map(|(_, p)| *p).unwrap()
    }

    #[test]
    fn leds_follow_the_outbox_and_the_devices() {
        let fresh = patterns(Some(&status(0, None, false, false)), None, false);
        assert_eq!(of(fresh, Output::Link), Pattern::Off);
        assert_eq!(of(fresh, Output::Backlog), Pattern::Off);
        assert_eq!(of(fresh, Output::Fault), Pattern::Off);

        let serving = patterns(Some(&status(2, Some(60), true, false)), None, false);
        assert_eq!(of(serving, Output::Link), Pattern::Steady);
        assert_eq!(of(serving, Output::Backlog), Pattern::Steady);

        let cut_off = patterns(Some(&status(5, Some(2 * 86_400), true, true)), None, true);
        assert_eq!(of(cut_off, Output::Link), Pattern::Blink);
        assert_eq!(of(cut_off, Output::Backlog), Pattern::Blink);
        assert_eq!(of(cut_off, Output::Fault), Pattern::Blink);

        let unreadable = patterns(None, None, false);
        assert_eq!(of(unreadable, Output::Fault), Pattern::Blink);

        // A damaged database: steady (call support), readable or not.
        let damaged = patterns(None, Some(Health::DatabaseCorrupt), false);
        assert_eq!(of(damaged, Output::Fault), Pattern::Steady);
        assert_eq!(of(damaged, Output::Link), Pattern::Off);
        let partly = patterns(
            Some(&status(1, Some(60), true, false)),
            Some(Health::DatabaseCorrupt),
            false,
        );
        assert_eq!(of(partly, Output::Fault), Pattern::Steady);

        let mut full = status(1, Some(60), true, false);
        full.health = Health::StorageFull;
        assert_eq!(
            of(patterns(Some(&full), None, true), Output::Fault),
            Pattern::Steady
        );
    }
}
