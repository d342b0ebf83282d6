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
//!   device is missing or unusable (reader, scanner, printer: see [`Faults`], which the
//!   status strip also names) or the outbox cannot be read; off otherwise.
//!
//! The buzzer: a short beep on every card read, a long one on an error at the counter.

use std::path::PathBuf;
use std::sync::Arc;
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

impl ReceiptDesk {
    /// The printer's status now (opened and closed again for a real one; `Busy` while a
    /// receipt prints).
    pub async fn status(&self) -> Result<PrinterStatus, printer::Error> {
        use printer::ReceiptPrinter;
        match self {
            ReceiptDesk::Simulated(p) => match p.try_lock() {
                Ok(mut p) => p.status().await,
                Err(_) => Err(printer::Error::Busy {
                    path: PathBuf::from("simulator"),
                }),
            },
            ReceiptDesk::Device(path) => {
                let mut p = printer::Printer::open(path, printer::Options::default())?;
                p.status().await
            }
        }
    }
}

/// What the printer reports wrong after a job, `(zh, en)`, each joined; `None` when nothing.
pub fn printer_problems(st: &PrinterStatus) -> Option<(String, String)> {
    let problems = st.problems();
    if problems.is_empty() {
        return None;
    }
    let zh: Vec<&str> = problems.iter().map(|p| p.zh()).collect();
    let en: Vec<&str> = problems.iter().map(|p| p.en()).collect();
    Some((zh.join("；"), en.join("; ")))
}

/// The printer's answer as the operator reads it: `None` when all is well.
pub fn printer_note(result: &Result<PrinterStatus, printer::Error>) -> Option<(String, String)> {
    match result {
        Ok(st) => printer_problems(st).map(|(zh, en)| {
            (
                format!("回执已打印，但打印机：{zh}"),
                format!("Receipt printed, but the printer says: {en}"),
            )
        }),
        Err(e) => Some((
            "回执没有打印出来，但申请已保存；请检查打印机的电源、纸和连线".to_string(),
            format!(
                "The receipt did not print ({e}); the application is saved. Check the \
                 printer's power, paper and cable."
            ),
        )),
    }
}

/// A device the counter needs, as the status strip names it (in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Device {
    Reader,
    Scanner,
    Printer,
}

/// What is wrong with a device, in the operator's words: what happened, then what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub zh: String,
    pub en: String,
}

impl Fault {
    fn new(zh: impl Into<String>, en: impl Into<String>) -> Fault {
        Fault {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn reader_missing() -> Fault {
        Fault::new(
            "读卡器没有连接：请检查读卡器的 USB 线，拔下再插上",
            "Card reader not connected: check its USB cable, unplug it and plug it back",
        )
    }

    pub fn scanner_missing() -> Fault {
        Fault::new(
            "扫描仪没有连接：请检查扫描仪的电源和 USB 线",
            "Scanner not found: check its power and USB cable",
        )
    }
}

/// What a look at the printer says of it: fine, a fault to show, or nothing learnt (it was
/// busy printing, so the last word stands).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    Fine,
    Fault(Fault),
    Unknown,
}

/// The printer's answer (to a status query or a print) as the status strip shows it.
pub fn printer_probe(result: &Result<PrinterStatus, printer::Error>) -> Probe {
    use printer::Error as E;
    match result {
        Ok(st) => {
            let blocking: Vec<_> = st
                .problems()
                .into_iter()
                .filter(|p| p.blocks_printing())
                .collect();
            if blocking.is_empty() {
                return Probe::Fine;
            }
            let zh: Vec<&str> = blocking.iter().map(|p| p.zh()).collect();
            let en: Vec<&str> = blocking.iter().map(|p| p.en()).collect();
            Probe::Fault(Fault::new(
                format!(
                    "回执打印机{}：请装纸、关好纸仓盖，或关掉再打开打印机",
                    zh.join("、")
                ),
                format!(
                    "Receipt printer {}: load paper, close the cover, or switch it off and on",
                    en.join(", ")
                ),
            ))
        }
        // Printing right now (we hold it, or another program does): nothing learnt.
        Err(E::Busy { .. }) => Probe::Unknown,
        Err(E::NotReady { status } | E::Interrupted { status }) => printer_probe(&Ok(*status)),
        Err(E::PermissionDenied { .. }) => Probe::Fault(Fault::new(
            "回执打印机无权使用：请联系技术员",
            "Receipt printer not permitted (the kiosk user needs the dialout group): call the \
             technician",
        )),
        Err(E::NoAnswer { .. } | E::Garbled(_) | E::Stalled { .. }) => Probe::Fault(Fault::new(
            "回执打印机没有应答：请确认打印机已打开，或关掉再打开",
            "Receipt printer does not answer: check that it is switched on, or switch it off \
             and on",
        )),
        Err(E::NotFound { .. } | E::Open { .. } | E::Disconnected { .. }) => {
            Probe::Fault(Fault::new(
                "回执打印机没有连接：请检查打印机的电源和 USB 线",
                "Receipt printer not connected: check its power and USB cable",
            ))
        }
    }
}

/// Device faults, set by the parts that see them; the fault LED blinks and the status strip
/// names each while any holds. Changes are logged for the technician's journal.
#[derive(Clone, Default)]
pub struct Faults {
    current: Arc<std::sync::Mutex<std::collections::BTreeMap<Device, Fault>>>,
}

impl Faults {
    fn current(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<Device, Fault>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record what is wrong with `device` now (`None`: nothing).
    pub fn set(&self, device: Device, fault: Option<Fault>) {
        let mut current = self.current();
        let before = current.get(&device).cloned();
        if before == fault {
            return;
        }
        match &fault {
            Some(f) => {
                tracing::warn!(device = ?device, problem = %f.en, "device fault");
                current.insert(device, f.clone());
            }
            None => {
                tracing::info!(device = ?device, "device fault cleared");
                current.remove(&device);
            }
        }
    }

    /// Apply what a look at the printer said.
    pub fn printer(&self, probe: Probe) {
        match probe {
            Probe::Fine => self.set(Device::Printer, None),
            Probe::Fault(f) => self.set(Device::Printer, Some(f)),
            Probe::Unknown => {}
        }
    }

    pub fn set_reader_missing(&self, missing: bool) {
        self.set(Device::Reader, missing.then(Fault::reader_missing));
    }

    pub fn any(&self) -> bool {
        !self.current().is_empty()
    }

    /// Every fault now, reader first, then scanner, then printer.
    pub fn lines(&self) -> Vec<Fault> {
        self.current().values().cloned().collect()
    }
}

/// How often the printer and the scanner are looked at while nobody uses them.
const PRINTER_EVERY: Duration = Duration::from_secs(20);
const SCANNER_EVERY: Duration = Duration::from_secs(60);

/// Look at the printer and the scanner every so often, so the status strip names one that
/// was unplugged (or ran out of paper) before the operator needs it. Runs until cancelled.
pub async fn watch_devices(desk: Arc<ReceiptDesk>, scanner: Option<String>, faults: Faults) {
    let mut last_scanner: Option<tokio::time::Instant> = None;
    loop {
        faults.printer(printer_probe(&desk.status().await));
        if last_scanner.is_none_or(|t| t.elapsed() >= SCANNER_EVERY) {
            last_scanner = Some(tokio::time::Instant::now());
            let device = scanner.clone();
            if let Ok(found) =
                tokio::task::spawn_blocking(move || crate::scan::present(device.as_deref())).await
            {
                faults.set(Device::Scanner, (!found).then(Fault::scanner_missing));
            }
        }
        tokio::time::sleep(PRINTER_EVERY).await;
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

    #[test]
    fn the_printer_probe_names_what_stops_printing_and_ignores_a_busy_port() {
        assert_eq!(printer_probe(&Ok(PrinterStatus::default())), Probe::Fine);
        // Paper near its end still prints: not a fault.
        let near = PrinterStatus {
            paper_near_end: true,
            ..PrinterStatus::default()
        };
        assert_eq!(printer_probe(&Ok(near)), Probe::Fine);
        let out = PrinterStatus {
            paper_out: true,
            offline: true,
            ..PrinterStatus::default()
        };
        let Probe::Fault(f) = printer_probe(&Ok(out)) else {
            panic!("paper out is a fault")
        };
        assert!(f.zh.starts_with("回执打印机缺纸"), "{f:?}");
        assert!(
            f.en.contains("out of paper") && f.en.contains("load paper"),
            "{f:?}"
        );
        // A print refused for the same reason says the same.
        assert_eq!(
            printer_probe(&Err(printer::Error::NotReady { status: out })),
            printer_probe(&Ok(out))
        );
        let gone = printer_probe(&Err(printer::Error::NotFound {
            path: "/dev/kiosk-printer".into(),
        }));
        assert!(
            matches!(&gone, Probe::Fault(f) if f.zh.contains("没有连接")),
            "{gone:?}"
        );
        let busy = printer::Error::Busy {
            path: "/dev/kiosk-printer".into(),
        };
        assert_eq!(printer_probe(&Err(busy)), Probe::Unknown);
    }

    #[test]
    fn faults_are_listed_reader_scanner_printer_and_cleared_one_by_one() {
        let faults = Faults::default();
        assert!(!faults.any());
        faults.printer(Probe::Fault(Fault::new("打印机坏了", "printer broken")));
        faults.set(Device::Scanner, Some(Fault::scanner_missing()));
        faults.set_reader_missing(true);
        let lines: Vec<String> = faults.lines().into_iter().map(|f| f.en).collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("Card reader"));
        assert!(lines[1].starts_with("Scanner"));
        assert_eq!(lines[2], "printer broken");
        // Nothing learnt (printing): the printer's fault stands.
        faults.printer(Probe::Unknown);
        assert_eq!(faults.lines().len(), 3);
        faults.printer(Probe::Fine);
        faults.set_reader_missing(false);
        assert_eq!(faults.lines(), vec![Fault::scanner_missing()]);
        assert!(faults.any());
        faults.set(Device::Scanner, None);
        assert!(!faults.any());
    }
}
