//! What one receipt costs, beside its baseline from the same run: the job's wire time at
//! 9600 baud (how long the printer needs just to receive it). Printed: job size, encoding
//! time, status-query round trip over the pseudo-terminal against the simulator, render +
//! PNG time and PNG size.
//!
//! `cargo bench -p printer --bench receipt`

use std::time::{Duration, Instant};

use printer::{Options, Receipt, SimulatedPrinter};
use time::macros::datetime;

fn receipt() -> Receipt {
    Receipt {
        station: "莲城镇新街村为民服务站".into(),
        service: "生育登记（生育服务证）".into(),
        tracking_number: "261125-7KQ2-M9XD".into(),
        time: datetime!(2026-11-25 14:05),
        bring: vec![
            "本回执".into(),
            "夫妻双方身份证原件".into(),
            "户口簿".into(),
        ],
        hotline: "0876-5123456".into(),
    }
}

fn per_iter(n: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}

fn main() {
    let r = receipt();
    let job = r.to_escpos();
    // 8N1: 10 bits a byte.
    let wire = Duration::from_secs_f64(job.len() as f64 * 10.0 / 9600.0);
    let encode = per_iter(200, || {
        std::hint::black_box(r.to_escpos());
    });
    let mut png_len = 0;
    let render = per_iter(20, || {
        let png = printer::render(&job).to_png().unwrap();
        png_len = png.len();
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, print) = rt.block_on(async {
        let mut p = SimulatedPrinter::start(Options::default()).unwrap();
        let status = {
            let start = Instant::now();
            for _ in 0..50 {
                printer::ReceiptPrinter::status(&mut p).await.unwrap();
            }
            start.elapsed() / 50
        };
        let start = Instant::now();
        for _ in 0..20 {
            printer::ReceiptPrinter::print(&mut p, &r).await.unwrap();
        }
        (status, start.elapsed() / 20)
    });
    let ms = |d: Duration| format!("{:>9.3} ms", d.as_secs_f64() * 1e3);
    println!("receipt job: {} bytes", job.len());
    let rows = [
        (
            "baseline: the job's wire time at 9600 baud",
            ms(wire),
            String::new(),
        ),
        (
            "encode the job (Receipt::to_escpos)",
            ms(encode),
            String::new(),
        ),
        (
            "print to the simulator over the pty",
            ms(print),
            " (2 status queries; no wire time simulated)".to_string(),
        ),
        ("one status query over the pty", ms(status), String::new()),
        (
            "render + PNG (384 dots, 1 bit)",
            ms(render),
            format!(", {png_len} bytes"),
        ),
    ];
    for (what, figure, note) in rows {
        println!("{what:<46}{figure}{note}");
    }
}
