//! `kiosk demo`: the appliance with simulated devices and the reference county platform
//! running in this process on 127.0.0.1 (a free port), its data under `DATA_DIR/county`.
//!
//! The ID-card reader is the pty simulator read by the real GA 467 driver
//! (`idcard::SimulatedReader`): the screen's "simulate card tap" places a sample card on it,
//! and the form fills from the driver's "card presented" event.
//!
//! The station enrols with that county once, exactly as a real station does (provisioning
//! file → one-time token → credential); later runs reuse the identity and only follow the
//! county to its new port.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::Failure;
use crate::config::Config;
use crate::daemon::{self, Options};
use crate::station::Station;

const DEMO_STATION: &str = "示范村为民服务站 Demo village station";

/// The demo's PINs, set at its first run (a real station's are set by the technician with
/// `kiosk pin set`) and shown under the keypad.
pub const OPERATOR_PIN: &str = "1234";
pub const TECHNICIAN_PIN: &str = "5678";

pub fn run(data_dir: &Path, config: &Config, headless: bool) -> Result<(), Failure> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        Failure::new(format!(
            "the data directory {} cannot be created: {e}",
            data_dir.display()
        ))
    })?;
    let county_dir = data_dir.join("county");
    std::fs::create_dir_all(&county_dir).map_err(|e| {
        Failure::new(format!(
            "the county data directory {} cannot be created: {e}",
            county_dir.display()
        ))
    })?;
    let rt = daemon::runtime()?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| Failure::new(format!("no local port for the county platform: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::new(format!("no local port for the county platform: {e}")))?;
    let url = format!("http://{addr}");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let county_task = {
        let dir = county_dir.clone();
        rt.spawn(async move {
            let stop = async {
                let _ = stop_rx.await;
            };
            if let Err(e) = county::serve(listener, &dir, stop).await {
                tracing::error!(error = %e, "the demo county platform stopped");
            }
        })
    };

    {
        use crate::pin::{Pins, Role};
        let pins = Pins::load(data_dir).unwrap_or_default();
        for (role, pin) in [
            (Role::Operator, OPERATOR_PIN),
            (Role::Technician, TECHNICIAN_PIN),
        ] {
            if !pins.required(role) {
                Pins::store(data_dir, role, Some(pin)).map_err(|e| Failure::new(e.to_string()))?;
            }
        }
    }
    let station = match Station::load(data_dir)? {
        // An identity from before signing keys is enrolled afresh, so `kiosk export` works
        // in the demo too.
        Some(mut s)
            if county_dir.join("county.sqlite3").exists()
                && s.county_public_key.is_some()
                && crate::station::signing_key_path(data_dir).exists() =>
        {
            s.county_url = url.clone();
            s.save(data_dir)?;
            s
        }
        _ => {
            let prov = county::add_station(&county_dir, DEMO_STATION, &url)?;
            // As `kiosk provision` does: the signing key first, its public half enrolled.
            let signing = crate::station::new_signing_key(data_dir)?;
            let enrolled = rt.block_on(store_and_forward::sync::enrol(
                &prov,
                Some(signing.verifying_key().to_string()),
            ))?;
            let s = Station {
                county_url: url.clone(),
                station_id: enrolled.station_id,
                station_name: enrolled.station_name,
                credential: enrolled.credential,
                county_public_key: Some(prov.county_public_key.clone()),
                county_signing_key: prov.county_signing_key.clone(),
            };
            s.save(data_dir)?;
            s
        }
    };

    let reader = daemon::simulated_reader(&rt)?;
    let reader_path = reader.simulator().path();

    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "kiosk demo: county platform on {url} (data in {})",
        county_dir.display()
    );
    let _ = writeln!(
        out,
        "kiosk demo: card-reader simulator on {} (read by the real driver)",
        reader_path.display()
    );
    let _ = writeln!(
        out,
        "kiosk demo: receipt-printer simulator; receipts as PNG in {}",
        data_dir.join("receipts").display()
    );
    let _ = writeln!(
        out,
        "kiosk demo: station {} ({})",
        station.station_id, station.station_name
    );
    let _ = writeln!(
        out,
        "kiosk demo: ready; submit with `kiosk --data-dir {} submit FILE`",
        data_dir.display()
    );
    let _ = out.flush();
    drop(out);

    let poll = Duration::from_secs(config.sync.poll_secs.clamp(1, 2));
    let result = daemon::run(
        &rt,
        data_dir,
        config,
        station,
        Options {
            headless,
            demo: true,
            poll,
            card_reader: daemon::Reader::simulated(reader),
            simulate: true,
            keep_after_handover: config.outbox.keep_after_handover(),
        },
    );
    let _ = stop_tx.send(());
    let _ = rt.block_on(county_task);
    result
}
