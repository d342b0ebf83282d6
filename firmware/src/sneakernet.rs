//! `kiosk export --to DIR` and `kiosk import FILE`: applications out and decisions in by USB
//! stick when the link is gone for weeks. Glue over `store_and_forward::sneakernet` (which
//! writes and applies bundles) and `county_api::bundle` (the container).
//!
//! Export writes one file, `<station-id>-<UTC yyyymmddThhmmssZ>.kiosk-bundle`, with every
//! application the county has not acknowledged, still sealed to the county's key and signed
//! with the station's key (`DATA_DIR/station.key`). The applications stay in the outbox and
//! are still sent when the link returns. Nothing to export: no file, exit 0.
//!
//! Import takes the county's decisions bundle (`county export-decisions`), checks it was
//! signed by this station's county and is addressed to this station, marks what the county
//! holds as delivered (no longer exported or sent) and applies the decisions as the link
//! would. Importing it again changes nothing.
//!
//! Exit status 1 with one sentence (Chinese first, English beside it) when the stick is
//! missing, read-only or full, the bundle is damaged or not for this station.

use std::path::Path;

use county_api::bundle::{self, DecisionsHeader, Unverified};
use store_and_forward::Outbox;

use crate::Failure;
use crate::form;
use crate::station::Station;

fn provisioned(data_dir: &Path) -> Result<Station, Failure> {
    Station::load(data_dir)?.ok_or_else(|| {
        Failure::new(
            "本服务站尚未配置 / this station is not provisioned yet; run `kiosk provision FILE` \
             first",
        )
    })
}

fn open(data_dir: &Path) -> Result<Outbox, Failure> {
    Outbox::open(data_dir).map_err(|e| match store_and_forward::Health::of_error(&e) {
        Some(h) => {
            let (zh, en) = h.message();
            Failure::new(format!("{zh} / {en} ({e})"))
        }
        None => Failure::from(e),
    })
}

pub fn export(data_dir: &Path, to: &Path) -> Result<(), Failure> {
    let station = provisioned(data_dir)?;
    let key = crate::station::signing_key(data_dir)?;
    let outbox = open(data_dir)?;
    let done =
        store_and_forward::sneakernet::export(&outbox, &station.station_id, &key, to, form::now())
            .map_err(Failure::from)?;
    match done {
        None => println!(
            "没有待导出的申请：县平台已收到全部申请 / nothing to export: the county has \
             acknowledged every application"
        ),
        Some(e) => {
            if let Some(path) = &e.path {
                let size = bundle::human_size(e.bytes);
                println!(
                    "已导出 {n} 份申请（{size}）到 {path} / exported {n} application{s} ({size}) \
                     to {path}",
                    n = e.applications,
                    s = if e.applications == 1 { "" } else { "s" },
                    path = path.display(),
                );
            }
            if e.unsealed > 0 {
                println!(
                    "{u} 份申请是在加密功能之前保存的，不能放到 U 盘上，会通过网络发送 / {u} \
                     application(s) stored before sealing were not exported (they would be \
                     readable on the stick); they go by the link",
                    u = e.unsealed
                );
            }
        }
    }
    Ok(())
}

pub fn import(data_dir: &Path, file: &Path) -> Result<(), Failure> {
    let station = provisioned(data_dir)?;
    let county_key = station
        .county_signing_key
        .as_deref()
        .ok_or_else(|| {
            Failure::new(
                "本服务站没有县平台的签名密钥，无法核对导入包，请重新配置 / this station has no \
                 county signing key to check the bundle with (provisioned before USB import); \
                 provision it again",
            )
        })?
        .parse::<sealing::sign::VerifyingKey>()
        .map_err(|_| {
            Failure::new(
                "the county signing key in the station identity (station.toml) is damaged; \
                 provision the station again",
            )
        })?;
    let bytes = std::fs::read(file).map_err(|e| {
        Failure::new(format!(
            "读不了导入包 {path} / the bundle {path} cannot be read: {e}",
            path = file.display()
        ))
    })?;
    let unverified = Unverified::<DecisionsHeader>::parse(&bytes)
        .map_err(|e| Failure::new(format!("导入包无效 / {e}")))?;
    if unverified.station_id() != station.station_id {
        return Err(Failure::new(format!(
            "这个导入包是给服务站 {} 的，本站是 {} / this bundle is for station {}, this is \
             station {}",
            unverified.station_id(),
            station.station_id,
            unverified.station_id(),
            station.station_id
        )));
    }
    let verified = unverified
        .verify(|context, digest, signature| county_key.verify_digest(context, digest, signature))
        .map_err(|_| {
            Failure::new(
                "导入包签名不符：内容被改动过，或不是本县平台写的 / the bundle's signature does \
                 not match the county's key: it was changed, damaged, or not written by this \
                 station's county",
            )
        })?;
    let mut outbox = open(data_dir)?;
    let done = store_and_forward::sneakernet::import(&mut outbox, &verified.header, form::now())?;
    println!(
        "已导入县平台的回执（{at}）：{r} 份申请确认已收，{d} 条新决定 / imported the county's \
         bundle ({at}): {r} application(s) confirmed received, {d} new decision(s)",
        at = verified.header.created_at,
        r = done.received,
        d = done.decisions,
    );
    if done.unknown > 0 {
        println!(
            "{u} 份申请本站没有记录（可能已清理） / {u} application(s) in it are not known here \
             (perhaps removed after hand-over)",
            u = done.unknown
        );
    }
    Ok(())
}
