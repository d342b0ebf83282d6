//! `kiosk provision FILE`: enrol this station with its county.
//!
//! The file is what `county station add` wrote (TOML: `county_url`, `station_id`,
//! `station_name`, `enrolment_token`, `county_public_key`). The one-time token is exchanged
//! for the station's credential, which is stored with the county's public key (applications
//! are sealed to it) and the county's signing key (decision bundles are checked with it) in
//! `DATA_DIR/station.toml` (mode 0600); then the file is removed so the spent token does
//! not linger on the boot partition or a USB stick. A fresh Ed25519 signing key is made
//! first (`DATA_DIR/station.key`, 0600) and its public half sent with the enrolment, so the
//! county can check the bundles `kiosk export` writes.
//!
//! The county's TLS trust anchor (`county_tls_anchor`, PEM) is stored beside it as
//! `DATA_DIR/county-tls-anchor.pem`; the station's link trusts exactly that for an
//! `https://` county. An `https://` URL without an anchor, or a damaged anchor, is refused
//! before the token is spent (the station never falls back to the system's certificates).
//!
//! Failures: an unreadable or malformed file, an unreachable county (nothing changes; run
//! it again when the link is up), a refused token (already used or unknown: the county
//! must issue a new file). Exit status 1 with one plain sentence each time.

use std::path::Path;

use county_api::{ErrorCode, Provisioning};
use store_and_forward::LinkError;

use crate::Failure;
use crate::station::Station;

pub fn read(file: &Path) -> Result<Provisioning, Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Failure::new(format!(
            "the provisioning file {} cannot be read: {e}",
            file.display()
        ))
    })?;
    toml::from_str(&text).map_err(|e| {
        Failure::new(format!(
            "{} is not a provisioning file from `county station add`: {e}",
            file.display()
        ))
    })
}

pub fn run(data_dir: &Path, file: &Path) -> Result<(), Failure> {
    let prov = read(file)?;
    // Checked before the one-time token is spent.
    prov.county_public_key
        .parse::<sealing::PublicKey>()
        .map_err(|_| {
            Failure::new(format!(
                "the county key in {} is damaged; ask the county for a new provisioning file",
                file.display()
            ))
        })?;
    std::fs::create_dir_all(data_dir).map_err(|e| {
        Failure::new(format!(
            "the data directory {} cannot be created: {e}",
            data_dir.display()
        ))
    })?;
    if let Some(key) = &prov.county_signing_key {
        key.parse::<sealing::sign::VerifyingKey>().map_err(|_| {
            Failure::new(format!(
                "the county signing key in {} is damaged; ask the county for a new provisioning \
                 file",
                file.display()
            ))
        })?;
    }
    // The TLS trust anchor, checked before the token is spent: an https:// county is dialled
    // trusting exactly the anchor from this file, never the system's certificate store.
    let https = prov
        .county_url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    match &prov.county_tls_anchor {
        None if https => {
            return Err(Failure::new(format!(
                "开通文件 {} 缺少县平台的 TLS 信任锚，本站无法核实县平台 / the provisioning file \
                 has an https:// county URL but no TLS trust anchor (county_tls_anchor), so \
                 this station cannot tell the county from an impostor; ask the county for a \
                 file made with `county station add --tls-anchor FILE`",
                file.display()
            )));
        }
        Some(pem) => {
            store_and_forward::sync::trust_roots(pem).map_err(|e| {
                Failure::new(format!(
                    "开通文件 {} 中的 TLS 信任锚已损坏 / {e}; ask the county for a new \
                     provisioning file",
                    file.display()
                ))
            })?;
        }
        None => {}
    }
    // Made and stored before the token is spent; a failed enrolment leaves a key that the
    // next attempt replaces.
    let signing = crate::station::new_signing_key(data_dir)?;
    let rt = crate::daemon::runtime()?;
    let enrolled = rt
        .block_on(store_and_forward::sync::enrol(
            &prov,
            Some(signing.verifying_key().to_string()),
        ))
        .map_err(|e| match e {
            LinkError::Refused { body, .. } if body.code == ErrorCode::EnrolmentRefused => {
                Failure::new(format!(
                    "the county refused this provisioning file (its token was already used or \
                     is unknown); ask the county for a new one ({})",
                    body.message
                ))
            }
            other => Failure::new(format!(
                "enrolment with {} failed: {other}; nothing was changed, try again when the \
                 link is up",
                prov.county_url
            )),
        })?;
    crate::station::save_tls_anchor(data_dir, prov.county_tls_anchor.as_deref())?;
    let station = Station {
        county_url: prov.county_url.clone(),
        station_id: enrolled.station_id,
        station_name: enrolled.station_name,
        credential: enrolled.credential,
        county_public_key: Some(prov.county_public_key.clone()),
        county_signing_key: prov.county_signing_key.clone(),
    };
    station.save(data_dir)?;
    if let Err(e) = std::fs::remove_file(file) {
        eprintln!(
            "kiosk: enrolled, but the spent provisioning file {} could not be removed ({e}); \
             delete it by hand",
            file.display()
        );
    }
    println!(
        "station {} ({}) enrolled with {}",
        station.station_id, station.station_name, station.county_url
    );
    Ok(())
}
