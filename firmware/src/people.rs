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
                match create_secret(&path, &hex::encode(secret)) {
                    Ok(()) => Ok(PersonKeys { secret }),
                    // Another process (the daemon beside `kiosk submit`) created it first:
                    // use theirs, or the two would hash the same person differently.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        PersonKeys::load_or_create(data_dir)
                    }
                    Err(e) => Err(Failure::new(format!(
                        "{} cannot be written: {e}",
                        path.display()
                    ))),
                }
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

/// Create the secret once: written and fsynced under a name of this process's own, then
/// hard-linked into place, which fails with `AlreadyExists` if another process won the race
/// (a rename would silently replace the other's secret).
fn create_secret(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!(
        "key.{}.{:x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked?;
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

    /// Regression: the daemon and `kiosk submit` creating the secret at once collided on one
    /// temporary name, and a rename could replace the secret the other had already used.
    #[test]
    fn processes_creating_the_secret_at_once_agree_on_one() {
        let d = tempfile::tempdir().unwrap();
        let keys: Vec<String> = (0..8)
            .map(|_| {
                let dir = d.path().to_path_buf();
                std::thread::spawn(move || PersonKeys::load_or_create(&dir).map(|k| k.key("x")))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap().map_err(|f| f.message).unwrap())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] == w[1]), "{keys:?}");
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
