//! `kiosk receipt` and `kiosk printer sim`: the receipt printer for technicians and tests,
//! and [`print_application_receipt`], what the counter prints after a submission.
//!
//! `kiosk receipt --device PATH [--test]` reports the printer's status in plain words and,
//! with `--test`, prints a test receipt. Exit status: 0 printed (or, without `--test`, ready
//! to print; "paper near end" still counts); 1 out of paper, cover open, printer error, no
//! answer, or the device cannot be used (one sentence on stderr says which); 2 usage.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use printer::sim::Simulator;
use printer::{Options, Printer, Receipt, ReceiptPrinter, Status};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::Failure;
use crate::cli::PrinterAction;

/// Print the receipt for a submitted application: the station's name, the service, the
/// tracking number (large, and as the printer's own QR code), the time, what to bring at
/// pick-up and the county's hotline. Returns the printer's state after printing (it may
/// say the paper is near its end; show that to the operator). The application is already
/// stored when this runs: a printer error never loses it, the operator can print again.
pub async fn print_application_receipt<P: ReceiptPrinter>(
    printer: &mut P,
    station: &str,
    service: &str,
    tracking_number: &str,
    time: OffsetDateTime,
    bring: &[String],
    hotline: &str,
) -> Result<Status, printer::Error> {
    let receipt = Receipt {
        station: station.to_string(),
        service: service.to_string(),
        tracking_number: tracking_number.to_string(),
        time: PrimitiveDateTime::new(time.date(), time.time()),
        bring: bring.to_vec(),
        hotline: hotline.to_string(),
    };
    printer.print(&receipt).await
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("the background workers cannot start: {e}")))
}

/// `kiosk receipt --device PATH [--test]`.
pub fn run(device: &Path, test: bool) -> Result<(), Failure> {
    let rt = runtime()?;
    let result = rt.block_on(async {
        let mut p = Printer::open(device, Options::default())?;
        let before = p.status().await?;
        println!("打印机状态 / printer status: {before}");
        if !test {
            return Ok((before, false));
        }
        let now = crate::form::now();
        let t = Receipt::test(PrimitiveDateTime::new(now.date(), now.time()));
        let after = print_application_receipt(
            &mut p,
            &t.station,
            &t.service,
            &t.tracking_number,
            now,
            &t.bring,
            &t.hotline,
        )
        .await?;
        Ok::<_, printer::Error>((after, true))
    });
    match result {
        Ok((status, printed)) if status.ready() => {
            if printed {
                println!("已打印测试回执 / test receipt printed");
                if !status.problems().is_empty() {
                    println!("打印后状态 / status after printing: {status}");
                }
            }
            Ok(())
        }
        Ok((status, _)) => Err(Failure::new(format!(
            "the receipt printer cannot print: {status}"
        ))),
        Err(e) => Err(Failure::new(e.to_string())),
    }
}

pub fn run_printer(action: PrinterAction) -> Result<(), Failure> {
    match action {
        PrinterAction::Sim {
            out,
            paper_out,
            cover_open,
            silent,
        } => sim(&out, paper_out, cover_open, silent),
    }
}

/// `kiosk printer sim --out DIR`: the simulator on a pseudo-terminal; each receipt it
/// prints becomes DIR/receipt-NNNN.png (written whole, then renamed into place).
fn sim(out: &Path, paper_out: bool, cover_open: bool, silent: bool) -> Result<(), Failure> {
    std::fs::create_dir_all(out).map_err(|e| {
        Failure::new(format!(
            "the folder {} cannot be created: {e}",
            out.display()
        ))
    })?;
    let rt = runtime()?;
    let sim = Simulator::start()
        .map_err(|e| Failure::new(format!("the simulator cannot open a pseudo-terminal: {e}")))?;
    sim.set_paper_out(paper_out);
    sim.set_cover_open(cover_open);
    sim.set_silent(silent);
    {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{}", sim.path().display());
        let _ = writeln!(
            o,
            "kiosk printer sim: receipts are written to {} as PNG; stop with Ctrl-C",
            out.display()
        );
        let _ = o.flush();
    }
    rt.block_on(async {
        tokio::select! {
            _ = crate::daemon::wait_for_signal() => {}
            _ = keep_receipts(sim.clone(), out.to_path_buf(), |path| {
                // Whoever started us may have stopped reading: not a reason to stop.
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "{}", path.display());
                let _ = o.flush();
            }) => {}
        }
    });
    Ok(())
}

/// Write each receipt the simulator prints as DIR/receipt-NNNN.png (numbers after those
/// already there; each file written whole, then renamed into place), calling `saved` with
/// its path. Runs until cancelled. The demo can run this beside its simulated printer.
pub async fn keep_receipts(sim: Simulator, dir: PathBuf, mut saved: impl FnMut(&Path)) {
    let mut next = first_free_number(&dir);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        for bytes in sim.take_new_receipts() {
            match write_png(&dir, next, &bytes) {
                Ok(path) => saved(&path),
                Err(e) => {
                    tracing::warn!(error = %e, number = next, "a receipt PNG cannot be written")
                }
            }
            next += 1;
        }
    }
}

fn first_free_number(dir: &Path) -> u32 {
    (1..)
        .find(|n| !png_path(dir, *n).exists())
        .unwrap_or(u32::MAX)
}

fn png_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("receipt-{n:04}.png"))
}

fn write_png(dir: &Path, n: u32, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let png = printer::render(bytes).to_png()?;
    let path = png_path(dir, n);
    let tmp = dir.join(format!(".receipt-{n:04}.png.part"));
    std::fs::write(&tmp, png)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_application_receipt_goes_through_the_real_driver_to_the_simulator() {
        let rt = runtime().unwrap();
        rt.block_on(async {
            let mut p = printer::SimulatedPrinter::start(Options::default()).unwrap();
            let at = time::macros::datetime!(2026-11-25 14:05 +8);
            let bring = vec!["身份证原件".to_string()];
            let s = print_application_receipt(
                &mut p,
                "新街村为民服务站",
                "老年人优待证",
                "261125-ABCD-EFGH",
                at,
                &bring,
                "0876-5123456",
            )
            .await
            .unwrap();
            assert!(s.ready());
            let r = p.simulator().receipts();
            assert_eq!(r.len(), 1);
            let text = String::from_utf8_lossy(&r[0]).into_owned();
            assert!(text.contains("261125-ABCD-EFGH"));
            assert!(text.contains("2026-11-25 14:05"));
        });
    }
}
