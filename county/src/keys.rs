//! The county's key pair for sealed applications: `DATA_DIR/county.key`, made once.
//!
//! The file holds the private key (64 hex characters), mode 0600; the public key is derived
//! from it and written into every provisioning file (`county station add`). Losing the file
//! means applications still sealed at stations can never be opened: back it up with the
//! database.
//!
//! Beside it, `DATA_DIR/county-signing.key` (Ed25519, 64 hex characters, 0600) signs the
//! decision bundles `county export-decisions` writes; its public half is in every
//! provisioning file as `county_signing_key`.
//!
//! Made without a race: `county serve` and `county station add` may meet a fresh data
//! directory at once. The key is written and fsynced under a name of this process's own,
//! then hard-linked into place; the loser of the race (`AlreadyExists`) reads the winner's.

use std::io::Write;
use std::path::Path;

use sealing::PrivateKey;

use crate::CountyError;

/// The key file inside the data directory.
pub(crate) const KEY_FILE: &str = "county.key";

/// The county's private key, created on first use.
pub(crate) fn load_or_create(data_dir: &Path) -> Result<PrivateKey, CountyError> {
    let path = data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => PrivateKey::from_hex(&text).map_err(|_| {
            CountyError::Corrupt(format!(
                "the county key {} is damaged; restore it from the backup (sealed \
                 applications cannot be opened without it)",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = PrivateKey::generate();
            match create(&path, &key.to_hex()) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "made the county's key pair");
                    Ok(key)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(data_dir),
                Err(e) => Err(CountyError::file(
                    format!("cannot write the county key {}", path.display()),
                    e,
                )),
            }
        }
        Err(e) => Err(CountyError::file(
            format!("cannot read the county key {}", path.display()),
            e,
        )),
    }
}

/// The file of the county's signing key (Ed25519) for decision bundles.
pub(crate) const SIGNING_KEY_FILE: &str = "county-signing.key";

/// The county's signing key for the decision bundles it writes for stations (`county
/// export-decisions`), created on first use like [`load_or_create`]; its public half goes
/// into every provisioning file. Lost: make a new one and provision the stations again.
pub(crate) fn signing_key(data_dir: &Path) -> Result<sealing::sign::SigningKey, CountyError> {
    let path = data_dir.join(SIGNING_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => sealing::sign::SigningKey::from_hex(&text).map_err(|_| {
            CountyError::Corrupt(format!(
                "the county signing key {} is damaged; restore it from the backup",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = sealing::sign::SigningKey::generate();
            match create(&path, &key.to_hex()) {
                Ok(()) => Ok(key),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => signing_key(data_dir),
                Err(e) => Err(CountyError::file(
                    format!("cannot write the county signing key {}", path.display()),
                    e,
                )),
            }
        }
        Err(e) => Err(CountyError::file(
            format!("cannot read the county signing key {}", path.display()),
            e,
        )),
    }
}

fn create(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension(format!(
        "key.{}.{:x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_key_is_made_once_private_and_shared_by_racing_openers() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<String> = (0..6)
            .map(|_| {
                let d = dir.path().to_owned();
                std::thread::spawn(move || load_or_create(&d).map(|k| k.public_key().to_string()))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap().unwrap())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] == w[1]), "{keys:?}");
        let meta = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            load_or_create(dir.path()).unwrap().public_key().to_string(),
            keys[0]
        );
        std::fs::write(dir.path().join(KEY_FILE), "damaged").unwrap();
        let err = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("damaged"), "{err}");
    }
}
