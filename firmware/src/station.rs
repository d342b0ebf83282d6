//! The station's identity: `DATA_DIR/station.toml`, written once enrolment succeeded.
//!
//! It holds the long-lived credential, so it is written atomically (temporary file, fsync,
//! rename, fsync of the directory) with mode 0600: a power cut leaves the old file or the
//! new one, never a torn one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Failure;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Station {
    /// Base URL of the county platform.
    pub county_url: String,
    pub station_id: String,
    pub station_name: String,
    /// Bearer credential from enrolment.
    pub credential: String,
    /// The county's public key from the provisioning file: every application is sealed to
    /// it. Absent only in identities saved before sealing arrived.
    #[serde(default)]
    pub county_public_key: Option<String>,
    /// The county's signing key (Ed25519) from the provisioning file: decision bundles
    /// brought by USB stick (`kiosk import`) must carry its signature. Absent in identities
    /// saved before sneakernet.
    #[serde(default)]
    pub county_signing_key: Option<String>,
}

/// The station's own signing key (Ed25519 seed, 64 hex characters, mode 0600), made at
/// provisioning beside the credential: `kiosk export` signs its bundles with it.
pub fn signing_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("station.key")
}

/// Make and store a fresh signing key (atomically, 0600); returns it.
pub fn new_signing_key(data_dir: &Path) -> Result<sealing::sign::SigningKey, Failure> {
    let key = sealing::sign::SigningKey::generate();
    let p = signing_key_path(data_dir);
    write_atomic(&p, format!("{}\n", key.to_hex()).as_bytes()).map_err(|e| {
        Failure::new(format!(
            "the station's signing key cannot be saved to {}: {e}",
            p.display()
        ))
    })?;
    Ok(key)
}

/// The station's signing key, or why there is none.
pub fn signing_key(data_dir: &Path) -> Result<sealing::sign::SigningKey, Failure> {
    let p = signing_key_path(data_dir);
    let text = std::fs::read_to_string(&p).map_err(|e| {
        Failure::new(if e.kind() == std::io::ErrorKind::NotFound {
            "本服务站没有签名密钥（在此功能之前配置），请重新配置 / this station has no signing \
             key (it was provisioned before USB export); ask the county for a new provisioning \
             file and run `kiosk provision FILE`"
                .to_owned()
        } else {
            format!(
                "the station's signing key {} cannot be read: {e}",
                p.display()
            )
        })
    })?;
    sealing::sign::SigningKey::from_hex(&text).map_err(|_| {
        Failure::new(format!(
            "the station's signing key {} is damaged; provision the station again",
            p.display()
        ))
    })
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("station.toml")
}

/// The county's TLS trust anchor (PEM), beside `station.toml`: written by `kiosk provision`
/// from the provisioning file's `county_tls_anchor`, removed when the file has none.
pub fn tls_anchor_path(data_dir: &Path) -> PathBuf {
    data_dir.join("county-tls-anchor.pem")
}

/// Store (or, with `None`, remove) the county's TLS trust anchor.
pub fn save_tls_anchor(data_dir: &Path, anchor: Option<&str>) -> Result<(), Failure> {
    let p = tls_anchor_path(data_dir);
    let done = match anchor {
        Some(pem) => write_atomic(&p, pem.as_bytes()),
        None => match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    };
    done.map_err(|e| {
        Failure::new(format!(
            "the county's TLS trust anchor {} cannot be saved: {e}",
            p.display()
        ))
    })
}

/// The county's TLS trust anchor, if the station has one.
pub fn tls_anchor(data_dir: &Path) -> Result<Option<String>, Failure> {
    let p = tls_anchor_path(data_dir);
    match std::fs::read_to_string(&p) {
        Ok(pem) => Ok(Some(pem)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::new(format!(
            "the county's TLS trust anchor {} cannot be read: {e}",
            p.display()
        ))),
    }
}

impl Station {
    /// The link to the county: `https://` trusts exactly the stored trust anchor. A missing
    /// anchor for an `https://` county, or a damaged one, is refused here in words.
    pub fn link(&self, data_dir: &Path) -> Result<store_and_forward::Link, Failure> {
        let anchor = tls_anchor(data_dir)?;
        store_and_forward::Link::trusting(&self.county_url, &self.credential, anchor.as_deref())
            .map_err(|e| {
                Failure::new(format!(
                    "县平台的 TLS 信任锚不可用，请向县平台要新的开通文件并重新开通 / {e}; ask the \
                     county for a new provisioning file and run `kiosk provision FILE`"
                ))
            })
    }

    /// The key applications are sealed to, or why there is none.
    pub fn county_key(&self) -> Result<sealing::PublicKey, Failure> {
        self.county_public_key
            .as_deref()
            .ok_or_else(|| {
                Failure::new(
                    "this station has no county key to seal applications with (it was \
                     provisioned before sealing); ask the county for a new provisioning file \
                     and run `kiosk provision FILE`",
                )
            })?
            .parse()
            .map_err(|_| {
                Failure::new(
                    "the county key in the station identity (station.toml) is damaged; \
                     provision the station again",
                )
            })
    }

    /// The stored identity, or `None` when the station was never enrolled.
    pub fn load(data_dir: &Path) -> Result<Option<Station>, Failure> {
        let p = path(data_dir);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Failure::new(format!(
                    "the station identity {} cannot be read: {e}",
                    p.display()
                )));
            }
        };
        toml::from_str(&text).map(Some).map_err(|e| {
            Failure::new(format!(
                "the station identity {} is damaged ({e}); provision the station again",
                p.display()
            ))
        })
    }

    pub fn save(&self, data_dir: &Path) -> Result<(), Failure> {
        let p = path(data_dir);
        let body = format!(
            "# The station's identity and county credential. Keep private.\n{}",
            toml_string(self)?
        );
        write_atomic(&p, body.as_bytes()).map_err(|e| {
            Failure::new(format!(
                "the station identity cannot be saved to {}: {e}",
                p.display()
            ))
        })
    }
}

fn toml_string(station: &Station) -> Result<String, Failure> {
    // Four plain strings: quote them ourselves rather than pull in a TOML writer.
    let q = |s: &str| serde_json::to_string(s).map_err(Failure::from);
    let mut out = format!(
        "county_url = {}\nstation_id = {}\nstation_name = {}\ncredential = {}\n",
        q(&station.county_url)?,
        q(&station.station_id)?,
        q(&station.station_name)?,
        q(&station.credential)?
    );
    if let Some(key) = &station.county_public_key {
        out.push_str(&format!("county_public_key = {}\n", q(key)?));
    }
    if let Some(key) = &station.county_signing_key {
        out.push_str(&format!("county_signing_key = {}\n", q(key)?));
    }
    Ok(out)
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips_with_awkward_characters() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Station::load(dir.path()).unwrap(), None);
        let s = Station {
            county_url: "http://127.0.0.1:9/".into(),
            station_id: "st-1".into(),
            station_name: "坝美村 \"东\" \\ station".into(),
            credential: "abc".into(),
            county_public_key: Some(sealing::PrivateKey::generate().public_key().to_string()),
            county_signing_key: Some(
                sealing::sign::SigningKey::generate()
                    .verifying_key()
                    .to_string(),
            ),
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Station::load(dir.path()).unwrap(), Some(s.clone()));
        assert!(s.county_key().is_ok());
        // An identity from before sealing still loads, but cannot seal.
        let old = Station {
            county_public_key: None,
            county_signing_key: None,
            ..s
        };
        old.save(dir.path()).unwrap();
        let loaded = Station::load(dir.path()).unwrap().unwrap();
        assert!(
            loaded
                .county_key()
                .unwrap_err()
                .message
                .contains("provision")
        );
        std::fs::write(path(dir.path()), "county_url = ").unwrap();
        let err = Station::load(dir.path()).unwrap_err();
        assert!(err.message.contains("damaged"), "{}", err.message);
    }
}
