//! Benchmark: card placed → data decoded, through the real watcher over a pseudo-terminal,
//! against the simulator honouring wire time at 115200 baud and a module latency.
//!
//! Baseline, from the same run: the wire time of the frames the read exchanged (find that
//! saw the card, select, read 30 10, read 30 03: command and answer frames as the simulator
//! logged them) plus the simulated module latency of each of those commands. Goal: ≤ 1.1×.
//!
//! `cargo bench -p idcard --bench card_read` (`IDCARD_BENCH_RUNS`, `IDCARD_BENCH_LATENCY_MS`
//! change the defaults of 20 placements and 30 ms).

use std::time::{Duration, Instant};

use idcard::codec::{self, Command, Sw3};
use idcard::sim::{self, Faults, SimOptions, Simulator};
use idcard::{CardEvent, CardReader, CardText, CardType, Options, Watcher};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn card() -> idcard::Card {
    let text = CardText {
        name: Some("李德华".into()),
        gender_code: "1".into(),
        nation_code: Some("01".into()),
        birth_date: "19500312".into(),
        address: Some("云南省文山壮族苗族自治州广南县坝美镇坝美村3号".into()),
        id_number: "532627195003120034".into(),
        issuing_authority: Some("广南县公安局".into()),
        valid_from: "20200101".into(),
        valid_until: "长期".into(),
        ..CardText::blank(CardType::Resident)
    };
    sim::make_card(text, Some("云南省文山州广南县莲城镇新街88号".into()), 2).expect("a valid card")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let runs = env("IDCARD_BENCH_RUNS", 20) as usize;
    let latency = Duration::from_millis(env("IDCARD_BENCH_LATENCY_MS", 30));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let sim = Simulator::start(SimOptions {
        faults: Faults {
            latency,
            wire_time: true,
            ..Faults::default()
        },
        ..SimOptions::default()
    })
    .expect("a pseudo-terminal");
    let opts = Options::default();
    let (measured, baseline) = rt.block_on(async {
        let mut w = Watcher::spawn(sim.path(), opts.clone());
        assert!(matches!(w.next_event().await, Some(CardEvent::ReaderReady)));
        let mut measured = Vec::new();
        let mut baseline = Vec::new();
        for i in 0..runs {
            // Place the card at varying points of the polling cycle.
            let phase = Duration::from_millis((i as u64 * 37) % 97);
            tokio::time::sleep(Duration::from_millis(150) + phase).await;
            sim.clear_exchanges();
            let t0 = Instant::now();
            sim.place(card()).expect("placed");
            match w.next_event().await {
                Some(CardEvent::Presented(_)) => {}
                other => panic!("expected the card, got {other:?}"),
            }
            measured.push(t0.elapsed());
            let log = sim.exchanges();
            let start = log
                .iter()
                .position(|e| e.sw3 == Sw3::FOUND)
                .expect("a find saw the card");
            let read = &log[start..];
            assert_eq!(
                read.iter().map(|e| e.command.clone()).collect::<Vec<_>>(),
                vec![
                    Some(Command::FindCard),
                    Some(Command::SelectCard),
                    Some(Command::ReadTextAndFingerprints),
                    Some(Command::ReadExtraAddress)
                ],
                "the exchanges of one read"
            );
            let bytes: usize = read.iter().map(|e| e.command_bytes + e.answer_bytes).sum();
            baseline.push(codec::wire_time(bytes, codec::BAUD_RATE) + latency * read.len() as u32);
            sim.lift();
            match w.next_event().await {
                Some(CardEvent::Removed) => {}
                other => panic!("expected the removal, got {other:?}"),
            }
        }
        (measured, baseline)
    });
    let mut sorted = measured.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    let mean = measured.iter().sum::<Duration>() / measured.len() as u32;
    let base = baseline.iter().sum::<Duration>() / baseline.len() as u32;
    println!(
        "card placed -> data decoded: resident card, 2 fingerprints, extra address; \
         {runs} placements; module latency {} ms/command; wire time at 115200; poll every {} ms",
        latency.as_millis(),
        opts.poll_interval.as_millis()
    );
    println!(
        "  measured: median {:.1} ms, mean {:.1} ms, min {:.1} ms, max {:.1} ms",
        ms(median),
        ms(mean),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1])
    );
    println!(
        "  baseline: {:.1} ms (wire time of the 4 exchanges' frames + 4 x {} ms latency, this run)",
        ms(base),
        latency.as_millis()
    );
    println!(
        "  ratio: median {:.3}x, mean {:.3}x (goal <= 1.1x)",
        median.as_secs_f64() / base.as_secs_f64(),
        mean.as_secs_f64() / base.as_secs_f64()
    );
}
