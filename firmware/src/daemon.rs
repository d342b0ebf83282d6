//! The running appliance: the outbox, the sync engine and (unless headless) the screen.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use store_and_forward::{Link, Outbox};
use tokio::runtime::Runtime;
use tokio::sync::{Notify, watch};

use crate::Failure;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::people::PersonKeys;
use crate::station::Station;

/// What the running appliance is made of; shared by the screen and the sync engine.
#[derive(Clone)]
pub struct Shared {
    pub outbox: Arc<Mutex<Outbox>>,
    /// The services and county parameters in force (the county's catalog once pulled).
    pub catalog: Arc<Mutex<Catalog>>,
    /// Notified after a submission so the sync engine sends at once.
    pub wake: Arc<Notify>,
    pub station: Station,
    /// Keys for the card-tap index (see `people`).
    pub people: PersonKeys,
    pub demo: bool,
}

pub struct Options {
    pub headless: bool,
    pub demo: bool,
    pub poll: Duration,
    /// How long a handed-over application stays in the index (config `outbox`).
    pub keep_after_handover: time::Duration,
    /// The card reader the screen listens to (the demo's simulator read by the real driver).
    pub card_reader: Option<idcard::SimulatedReader>,
}

pub fn runtime() -> Result<Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("the background workers cannot start: {e}")))
}

/// `kiosk run`: the provisioned appliance.
pub fn run_appliance(data_dir: &Path, config: &Config, headless: bool) -> Result<(), Failure> {
    let Some(station) = Station::load(data_dir)? else {
        return Err(Failure::new(format!(
            "this station is not provisioned yet (no {}); copy the county's provisioning file \
             and run `kiosk provision FILE`",
            crate::station::path(data_dir).display()
        )));
    };
    let rt = runtime()?;
    run(
        &rt,
        data_dir,
        station,
        Options {
            headless,
            demo: false,
            poll: Duration::from_secs(config.sync.poll_secs.max(1)),
            keep_after_handover: config.outbox.keep_after_handover(),
            card_reader: None,
        },
    )
}

/// Run until Ctrl-C / SIGTERM (headless) or until the window closes.
pub fn run(rt: &Runtime, data_dir: &Path, station: Station, opts: Options) -> Result<(), Failure> {
    let outbox = Outbox::open(data_dir)?;
    let catalog = Catalog::load(&outbox);
    let shared = Shared {
        catalog: Arc::new(Mutex::new(catalog)),
        outbox: Arc::new(Mutex::new(outbox)),
        wake: Arc::new(Notify::new()),
        station,
        people: PersonKeys::load_or_create(data_dir)?,
        demo: opts.demo,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let link = Link::new(&shared.station.county_url, &shared.station.credential);
    let sync = rt.spawn(link.run(
        shared.outbox.clone(),
        shared.wake.clone(),
        opts.poll,
        stop_rx,
    ));
    let retention = rt.spawn(forget_handed_over(
        shared.outbox.clone(),
        opts.keep_after_handover,
        stop_tx.subscribe(),
    ));
    let result = if opts.headless {
        rt.block_on(wait_for_signal());
        Ok(())
    } else {
        crate::screen::run(rt, shared.clone(), opts.card_reader)
    };
    let _ = stop_tx.send(true);
    let _ = rt.block_on(sync);
    let _ = rt.block_on(retention);
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
