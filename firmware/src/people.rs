//! Person keys: how a card tap finds "my applications" without the index holding ID numbers.
//!
//! A key is HMAC-SHA256 over the (normalised) ID number with a random secret that never
//! leaves this station (`DATA_DIR/person.key`, mode 0600). The outbox stores only the keys;
//! someone with the SD card but without the secret cannot test ID numbers against them, and
//! keys from two stations never match.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use kiosk_domain::definition::{FieldKind, ServiceDefinition};
use sha2::Sha256;

use crate::Failure;

#[derive(Clone)]
pub struct PersonKeys {
    secret: [u8; 32],
}

impl PersonKeys {
    /// The station's secret, created on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<PersonKeys, Failure> {
        let path = data_dir.join("person.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut secret = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut secret).map_err(|_| {
                    Failure::new(format!(
                        "{} is damaged; restore it from the backup (card taps cannot find \
                         earlier applications without it)",
                        path.display()
                    ))
                })?;
                Ok(PersonKeys { secret })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret: [u8; 32] = rand::random();
                write_secret(&path, &hex::encode(secret)).map_err(|e| {
                    Failure::new(format!("{} cannot be written: {e}", path.display()))
                })?;
                Ok(PersonKeys { secret })
            }
            Err(e) => Err(Failure::new(format!(
                "{} cannot be read: {e}",
                path.display()
            ))),
        }
    }

    /// The key of one ID number (trimmed, `x` upper-cased).
    pub fn key(&self, id_number: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .expect("HMAC takes a key of any length");
        mac.update(id_number.trim().to_ascii_uppercase().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Keys of every ID number filled in on an application.
    pub fn for_application(
        &self,
        def: &ServiceDefinition,
        fields: &std::collections::BTreeMap<String, String>,
    ) -> Vec<String> {
        def.fields
            .iter()
            .filter(|f| matches!(f.kind, FieldKind::IdNumber))
            .filter_map(|f| fields.get(&f.id))
            .filter(|v| !v.trim().is_empty())
            .map(|v| self.key(v))
            .collect()
    }
}

fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("key.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_per_station_and_differ_between_stations() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ka = PersonKeys::load_or_create(a.path()).unwrap();
        let ka2 = PersonKeys::load_or_create(a.path()).unwrap();
        let kb = PersonKeys::load_or_create(b.path()).unwrap();
        let id = "53262719950214002X";
        assert_eq!(ka.key(id), ka2.key(" 53262719950214002x "));
        assert_ne!(ka.key(id), kb.key(id));
        assert_ne!(ka.key(id), ka.key("532627199205030019"));
        assert!(!ka.key(id).contains("53262719950214002X"));
    }

    #[test]
    fn a_damaged_secret_is_reported_not_replaced() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("person.key"), "not hex").unwrap();
        let err = PersonKeys::load_or_create(d.path()).err().unwrap();
        assert!(err.message.contains("damaged"), "{}", err.message);
        assert_eq!(
            std::fs::read_to_string(d.path().join("person.key")).unwrap(),
            "not hex"
        );
    }
}
