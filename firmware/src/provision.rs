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
