//! The running appliance: the outbox, the sync engine and (unless headless) the screen.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use store_and_forward::{Health, Link, NewApplication, Opened, Outbox, OutboxError, Submitted};
use tokio::runtime::Runtime;
use tokio::sync::{Notify, watch};

use crate::Failure;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::counter::{Faults, ReceiptDesk};
use crate::people::PersonKeys;
use crate::station::Station;
use crate::watchdog::{self, Liveness};

/// The longest the sync engine may go without a sign of life: its longest request timeout
/// (a 256 KiB chunk at 1 kB/s, about five minutes) with a wide margin.
const UPLOADER_LIMIT: Duration = Duration::from_secs(10 * 60);

/// The outbox as the running appliance has it.
///
/// A damaged database or a failing card must not keep the station from coming up (under
/// systemd that would be a restart loop with a blank screen): it runs degraded instead —
/// nothing is written, swept or migrated, the sync engine and the retention sweep do not
/// start, the fault LED is steady, the screen says what happened, and whatever SQLite can
/// still read from the file (opened read-only and immutable) is served.
#[derive(Clone)]
pub enum Store {
    /// Submissions, the sync engine, retention: everything.
    Serving(Arc<Mutex<Outbox>>),
    /// Saving nothing; `view` reads what it can (`None`: nothing can be read).
    Degraded {
        health: Health,
        view: Option<Arc<Mutex<Outbox>>>,
    },
}

impl Store {
    /// The outbox under `data_dir`, degraded after a storage fault (see [`Opened::open`]).
    pub fn open(data_dir: &Path) -> Result<Store, OutboxError> {
        let shared = |ob| Arc::new(Mutex::new(ob));
        Ok(match Opened::open(data_dir)? {
            Opened::Ready(ob) => Store::Serving(shared(ob)),
            Opened::Damaged { health, view, .. } => Store::Degraded {
                health,
                view: view.map(shared),
            },
        })
    }

    /// The outbox for new work (submissions, sync, retention): only while serving.
    pub fn serving(&self) -> Option<&Arc<Mutex<Outbox>>> {
        match self {
            Store::Serving(ob) => Some(ob),
            Store::Degraded { .. } => None,
        }
    }

    /// Why the station runs degraded, if it does.
    pub fn degraded(&self) -> Option<Health> {
        match self {
            Store::Serving(_) => None,
            Store::Degraded { health, .. } => Some(*health),
        }
    }

    /// Read from the outbox (status, board, card taps); when nothing can be read, the
    /// error says why ([`OutboxError::Refused`]). Blocking: call off the async threads.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Outbox) -> Result<T, OutboxError>,
    ) -> Result<T, OutboxError> {
        match self {
            Store::Serving(ob) | Store::Degraded { view: Some(ob), .. } => {
                f(&ob.lock().unwrap_or_else(|p| p.into_inner()))
            }
            Store::Degraded { health, view: None } => Err(OutboxError::Refused(*health)),
        }
    }

    /// Store a new application (see [`Outbox::submit`]); refused while degraded, before
    /// anything is written. Blocking.
    pub fn submit(
        &self,
        app: NewApplication,
        county: &sealing::PublicKey,
        now: time::OffsetDateTime,
    ) -> Result<Submitted, OutboxError> {
        match self {
            Store::Serving(ob) => ob
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .submit(app, county, now),
            Store::Degraded { health, .. } => Err(OutboxError::Refused(*health)),
        }
    }
}

/// What the running appliance is made of; shared by the screen and the sync engine.
#[derive(Clone)]
pub struct Shared {
    pub outbox: Store,
    /// The services and county parameters in force (the county's catalog once pulled).
    pub catalog: Arc<Mutex<Catalog>>,
    /// Notified after a submission so the sync engine sends at once.
    pub wake: Arc<Notify>,
    pub station: Station,
    /// Keys for the card-tap index (see `people`).
    pub people: PersonKeys,
    pub demo: bool,
    /// What the systemd watchdog watches (see `watchdog`).
    pub liveness: Liveness,
    /// The receipt printer (see `counter`).
    pub receipts: Arc<ReceiptDesk>,
    /// The LEDs and the buzzer.
    pub signals: Option<signals::Handle>,
    /// The county's hotline, printed on every receipt.
    pub hotline: String,
    /// The scanner (`--device` of `kiosk scan`: `sim`, a SANE name, `v4l2:/dev/videoN`;
    /// `None`: the first one found).
    pub scanner: Option<String>,
    /// Device faults: the fault LED and the status strip (see `counter`).
    pub faults: Faults,
    /// Where the station keeps its data (PINs, the outbox), and the configuration: the
    /// technician page's self-test runs the same checks as `kiosk selftest`.
    pub data_dir: std::path::PathBuf,
    pub config: Config,
    /// The devices are the simulators (`--simulate`, the demo).
    pub simulate: bool,
}

pub struct Options {
    pub headless: bool,
    pub demo: bool,
    pub poll: Duration,
    /// How long a handed-over application stays in the index (config `outbox`).
    pub keep_after_handover: time::Duration,
    /// The card reader: the screen listens to it, or (headless) its events are logged.
    pub card_reader: Reader,
    /// Simulated printer and LEDs (the demo, `--simulate`) instead of the configured devices.
    pub simulate: bool,
}

/// The ID-card reader the appliance listens to: the real one at its stable device name, or
/// the simulator (demo, `--simulate`); both are read by the real driver.
///
/// The real reader's port is held exclusively while `kiosk run` serves, so `kiosk selftest`
/// cannot open it then; the daemon therefore writes what the reader last reported to
/// `DATA_DIR/reader.state` (see [`reader_state`]) and the self-test reads that instead.
pub struct Reader {
    source: Source,
    state_file: Option<std::path::PathBuf>,
    faults: Faults,
    signals: Option<signals::Handle>,
}

enum Source {
    Real(idcard::Watcher),
    Simulated(idcard::SimulatedReader),
}

impl Reader {
    pub fn real(watcher: idcard::Watcher, data_dir: &Path) -> Reader {
        Reader {
            source: Source::Real(watcher),
            state_file: Some(reader_state_path(data_dir)),
            faults: Faults::default(),
            signals: None,
        }
    }

    pub fn simulated(sim: idcard::SimulatedReader) -> Reader {
        Reader {
            source: Source::Simulated(sim),
            state_file: None,
            faults: Faults::default(),
            signals: None,
        }
    }

    /// The simulator behind it, for the demo's "simulate card tap".
    pub fn simulator(&self) -> Option<idcard::sim::Simulator> {
        match &self.source {
            Source::Real(_) => None,
            Source::Simulated(s) => Some(s.simulator()),
        }
    }

    /// Report to the fault LED and beep on reads.
    fn signal_to(&mut self, faults: Faults, signals: Option<signals::Handle>) {
        self.faults = faults;
        self.signals = signals;
    }

    fn record(&self, ev: &idcard::CardEvent) {
        match ev {
            idcard::CardEvent::Presented(_) => {
                crate::counter::beep(self.signals.as_ref(), signals::Event::CardRead)
            }
            idcard::CardEvent::Unreadable(_) => {
                crate::counter::beep(self.signals.as_ref(), signals::Event::Error)
            }
            idcard::CardEvent::ReaderReady => self.faults.set_reader_missing(false),
            idcard::CardEvent::ReaderLost(_) => self.faults.set_reader_missing(true),
            idcard::CardEvent::Removed => {}
        }
        let Some(path) = &self.state_file else { return };
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let line = match ev {
            idcard::CardEvent::ReaderReady => format!("ready {now}\n"),
            idcard::CardEvent::ReaderLost(e) => format!("lost {now} {e}\n"),
            _ => return,
        };
        if let Err(e) = crate::station::write_atomic(path, line.as_bytes()) {
            tracing::warn!(error = %e, "could not record the reader's state");
        }
    }
}

impl idcard::CardReader for Reader {
    async fn next_event(&mut self) -> Option<idcard::CardEvent> {
        let ev = match &mut self.source {
            Source::Real(w) => w.next_event().await,
            Source::Simulated(s) => s.next_event().await,
        }?;
        self.record(&ev);
        Some(ev)
    }
}

fn reader_state_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("reader.state")
}

/// What the running kiosk last heard from its reader: `Ok(since)` when ready,
/// `Err((since, error))` when lost; `None` when it never recorded anything.
pub fn reader_state(data_dir: &Path) -> Option<Result<String, (String, String)>> {
    let text = std::fs::read_to_string(reader_state_path(data_dir)).ok()?;
    let mut parts = text.trim_end().splitn(3, ' ');
    match (parts.next()?, parts.next()?, parts.next()) {
        ("ready", since, _) => Some(Ok(since.to_string())),
        ("lost", since, error) => Some(Err((
            since.to_string(),
            error.unwrap_or_default().to_string(),
        ))),
        _ => None,
    }
}

pub fn runtime() -> Result<Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("the background workers cannot start: {e}")))
}

/// `kiosk run`: the provisioned appliance (`simulate`: with the simulated devices).
pub fn run_appliance(
    data_dir: &Path,
    config: &Config,
    headless: bool,
    simulate: bool,
) -> Result<(), Failure> {
    let Some(station) = Station::load(data_dir)? else {
        return Err(Failure::new(format!(
            "this station is not provisioned yet (no {}); copy the county's provisioning file \
             and run `kiosk provision FILE`",
            crate::station::path(data_dir).display()
        )));
    };
    let rt = runtime()?;
    let reader = if simulate {
        let reader = simulated_reader(&rt)?;
        tracing::info!(device = %reader.simulator().path().display(), "simulated card reader");
        Reader::simulated(reader)
    } else {
        let _inside = rt.enter();
        // A missing reader is reported by the watcher (and on screen), which keeps trying.
        Reader::real(
            idcard::Watcher::spawn(config.devices.idcard.clone(), idcard::Options::default()),
            data_dir,
        )
    };
    run(
        &rt,
        data_dir,
        config,
        station,
        Options {
            headless,
            demo: simulate,
            poll: Duration::from_secs(config.sync.poll_secs.max(1)),
            card_reader: reader,
            simulate,
            keep_after_handover: config.outbox.keep_after_handover(),
        },
    )
}

/// The card-reader simulator read by the real driver.
pub fn simulated_reader(rt: &Runtime) -> Result<idcard::SimulatedReader, Failure> {
    let _inside = rt.enter();
    idcard::SimulatedReader::start(
        idcard::sim::SimOptions::default(),
        idcard::Options::default(),
    )
    .map_err(|e| Failure::new(format!("the card-reader simulator cannot start: {e}")))
}

/// Headless: nobody taps, but the reader runs; say what it sees (never personal data).
pub async fn log_card_events(mut reader: impl idcard::CardReader) {
    use idcard::CardEvent;
    while let Some(ev) = reader.next_event().await {
        match ev {
            CardEvent::ReaderReady => tracing::info!("card reader ready"),
            CardEvent::Presented(card) => {
                tracing::info!(card_type = card.text.card_type.key(), "card presented")
            }
            CardEvent::Unreadable(e) => tracing::warn!(error = %e, "card unreadable"),
            CardEvent::Removed => tracing::info!("card removed"),
            CardEvent::ReaderLost(e) => tracing::warn!(error = %e, "card reader lost"),
        }
    }
}

/// Once a minute (and at the end): remember the time, so a clock that went back after a
/// power cut is noticed (see `clock`).
async fn remember_time(data_dir: std::path::PathBuf) {
    loop {
        let now = time::OffsetDateTime::now_utc();
        if now >= crate::clock::NOT_BEFORE
            && let Err(e) = crate::clock::remember(&data_dir, now)
        {
            tracing::warn!(error = %e, "could not remember the time");
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

/// Run until Ctrl-C / SIGTERM (headless) or until the window closes.
pub fn run(
    rt: &Runtime,
    data_dir: &Path,
    config: &Config,
    station: Station,
    opts: Options,
) -> Result<(), Failure> {
    let outbox = Store::open(data_dir)?;
    let catalog = outbox
        .read(|ob| Ok(Catalog::load(ob)))
        .unwrap_or_else(|_| Catalog::builtin());
    let receipts = if opts.simulate {
        let _inside = rt.enter();
        ReceiptDesk::simulated(data_dir.join("receipts"))
            .map_err(|e| Failure::new(format!("the receipt-printer simulator cannot start: {e}")))?
    } else {
        ReceiptDesk::Device(config.devices.printer.clone())
    };
    // The LEDs: the GPIO on a Raspberry Pi, recorded only elsewhere (and in simulation).
    let outputs = if opts.simulate {
        Ok(signals::AnyOutputs::Simulated(
            signals::sim::SimOutputs::new(),
        ))
    } else {
        signals::open(config.gpio.pins())
    };
    let signals = match outputs
        .map_err(|e| e.to_string())
        .and_then(|o| signals::spawn(o).map_err(|e| e.to_string()))
    {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::warn!(error = %e, "the LEDs and buzzer cannot be used; carrying on without");
            None
        }
    };
    let shared = Shared {
        catalog: Arc::new(Mutex::new(catalog)),
        outbox,
        wake: Arc::new(Notify::new()),
        station,
        people: PersonKeys::load_or_create(data_dir)?,
        demo: opts.demo,
        liveness: Liveness::new(),
        receipts: Arc::new(receipts),
        signals,
        hotline: config.receipt.hotline.clone(),
        scanner: if opts.simulate {
            Some(scanner::sim::DEVICE.to_string())
        } else {
            Some(config.devices.scanner.clone()).filter(|s| !s.is_empty())
        },
        faults: Faults::default(),
        data_dir: data_dir.to_path_buf(),
        config: config.clone(),
        simulate: opts.simulate,
    };
    let faults = shared.faults.clone();
    let devices = rt.spawn(crate::counter::watch_devices(
        shared.receipts.clone(),
        shared.scanner.clone(),
        faults.clone(),
    ));
    let mut reader = opts.card_reader;
    reader.signal_to(faults.clone(), shared.signals.clone());
    let leds = shared.signals.clone().map(|h| {
        rt.spawn(crate::counter::follow_outbox(
            h,
            shared.outbox.clone(),
            faults.clone(),
        ))
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let clock_task = rt.spawn(remember_time(data_dir.to_path_buf()));
    // Degraded: no sync engine and no retention sweep (both write), so no uploader for the
    // watchdog to wait on either.
    let (sync, retention) = match shared.outbox.serving() {
        Some(outbox) => {
            let uploader = shared.liveness.register("uploader", UPLOADER_LIMIT);
            let link = shared
                .station
                .link(data_dir)
                .unwrap_or_else(|f| {
                    // Keep serving the counter: every round then fails as untrusted, backs
                    // off, and `kiosk status` shows why.
                    tracing::error!("{}", f.message);
                    Link::new(&shared.station.county_url, &shared.station.credential)
                })
                .with_heartbeat(Arc::new(move || uploader.beat()));
            let sync = rt.spawn(link.run(outbox.clone(), shared.wake.clone(), opts.poll, stop_rx));
            let retention = rt.spawn(forget_handed_over(
                outbox.clone(),
                opts.keep_after_handover,
                stop_tx.subscribe(),
            ));
            (Some(sync), Some(retention))
        }
        None => (None, None),
    };
    let _watchdog = watchdog::spawn(shared.liveness.clone());
    let serving = match shared.outbox.degraded() {
        None => "serving (headless)".to_string(),
        Some(h) => format!("degraded: {} (headless)", h.as_str()),
    };
    let result = if opts.headless {
        let card_log = rt.spawn(log_card_events(reader));
        watchdog::ready(&serving);
        rt.block_on(wait_for_signal());
        card_log.abort();
        Ok(())
    } else {
        crate::screen::run(rt, shared.clone(), Some(reader))
    };
    watchdog::stopping();
    clock_task.abort();
    devices.abort();
    if let Some(t) = leds {
        t.abort();
    }
    let _ = stop_tx.send(true);
    for task in [sync, retention].into_iter().flatten() {
        let _ = rt.block_on(task);
    }
    result
}

/// Retention of the index: at start and then hourly, delete applications handed over more
/// than `keep` ago (the outbox decides; the clock is read here, at the edge).
async fn forget_handed_over(
    outbox: Arc<Mutex<Outbox>>,
    keep: time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    const EVERY: Duration = Duration::from_secs(3600);
    while !*stop.borrow() {
        let result = {
            let outbox = outbox.clone();
            tokio::task::spawn_blocking(move || {
                outbox
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .forget_handed_over(time::OffsetDateTime::now_utc(), keep)
            })
            .await
        };
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "handed-over applications not removed yet"),
            Err(e) => tracing::warn!(error = %e, "the retention sweep failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn wait_for_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("stopping");
}
