//! Attachments on disk: partial uploads and the content-addressed store. No SQL here.
//!
//! - `uploads/<application_id>/<name>.part`: the bytes received so far. The database's offset
//!   is the truth; this file may hold more (a crash after the append, before the offset was
//!   recorded) and is truncated back before the next append.
//! - `attachments/<sha256>`: finished files, moved here by rename once the whole file's
//!   SHA-256 matched the manifest, after an fsync of the file and then of the directory.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::CountyError;

/// The directories of one data directory.
pub(crate) struct Dirs {
    root: PathBuf,
    uploads: PathBuf,
    attachments: PathBuf,
}

impl Dirs {
    /// Create (if needed) the data directory and its subdirectories.
    pub(crate) fn create(root: &Path) -> Result<Dirs, CountyError> {
        let dirs = Dirs {
            root: root.to_owned(),
            uploads: root.join("uploads"),
            attachments: root.join("attachments"),
        };
        for dir in [&dirs.root, &dirs.uploads, &dirs.attachments] {
            fs::create_dir_all(dir).map_err(|source| CountyError::DataDir {
                path: root.to_owned(),
                source,
            })?;
        }
        Ok(dirs)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The partial file of one attachment. `name` must be a valid attachment name
    /// (`county_api::is_valid_attachment_name`), which keeps it inside the directory.
    pub(crate) fn part(&self, application_id: Uuid, name: &str) -> PathBuf {
        self.uploads
            .join(application_id.to_string())
            .join(format!("{name}.part"))
    }

    /// Where a finished attachment with this (validated, lower-case hex) SHA-256 lives.
    pub(crate) fn attachment(&self, sha256: &str) -> PathBuf {
        self.attachments.join(sha256)
    }
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> CountyError {
    move |source| CountyError::file(context, source)
}

/// Length of the partial file, 0 when it does not exist.
pub(crate) fn part_len(part: &Path) -> Result<u64, CountyError> {
    match fs::metadata(part) {
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
        Err(e) => Err(CountyError::file(
            format!("cannot inspect {}", part.display()),
            e,
        )),
    }
}

/// Truncate the partial file to `offset` (dropping bytes an unrecorded append left behind),
/// append `chunk`, and fsync before returning.
pub(crate) fn append(part: &Path, offset: u64, chunk: &[u8]) -> Result<(), CountyError> {
    if let Some(dir) = part.parent() {
        fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(part)
        .map_err(io(format!("cannot open {}", part.display())))?;
    let context = || format!("cannot write {}", part.display());
    file.set_len(offset).map_err(io(context()))?;
    file.seek(SeekFrom::Start(offset)).map_err(io(context()))?;
    file.write_all(chunk).map_err(io(context()))?;
    file.sync_data().map_err(io(context()))?;
    Ok(())
}

/// Lower-case hex SHA-256 of a file.
pub(crate) fn sha256_file(path: &Path) -> Result<String, CountyError> {
    let context = || format!("cannot read {}", path.display());
    let mut file = File::open(path).map_err(io(context()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer).map_err(io(context()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Move a checked partial file to its content-addressed place and make the move durable.
/// The upload directory of the application is removed when it is left empty.
pub(crate) fn commit(part: &Path, target: &Path) -> Result<(), CountyError> {
    let context = || format!("cannot move {} to {}", part.display(), target.display());
    File::open(part)
        .and_then(|f| f.sync_all())
        .map_err(io(context()))?;
    fs::rename(part, target).map_err(io(context()))?;
    if let Some(dir) = target.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(format!("cannot sync {}", dir.display())))?;
    }
    if let Some(upload_dir) = part.parent() {
        // Best effort: fails harmlessly while other attachments are still arriving.
        let _ = fs::remove_dir(upload_dir);
    }
    Ok(())
}

/// Store `bytes` (an opened sealed upload) at its content-addressed place durably (temporary
/// file, fsync, rename, fsync of the directory), then drop the partial file it came from.
pub(crate) fn commit_bytes(part: &Path, target: &Path, bytes: &[u8]) -> Result<(), CountyError> {
    let tmp = target.with_extension("tmp");
    let context = || format!("cannot write {}", target.display());
    let mut file = File::create(&tmp).map_err(io(context()))?;
    file.write_all(bytes).map_err(io(context()))?;
    file.sync_all().map_err(io(context()))?;
    fs::rename(&tmp, target).map_err(io(context()))?;
    if let Some(dir) = target.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(format!("cannot sync {}", dir.display())))?;
    }
    discard(part)?;
    if let Some(upload_dir) = part.parent() {
        // Best effort: fails harmlessly while other attachments are still arriving.
        let _ = fs::remove_dir(upload_dir);
    }
    Ok(())
}

/// Discard a partial file (after a checksum mismatch).
pub(crate) fn discard(part: &Path) -> Result<(), CountyError> {
    match fs::remove_file(part) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CountyError::file(
            format!("cannot remove {}", part.display()),
            e,
        )),
    }
}

/// Lower-case hex SHA-256 of bytes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `len` random bytes as lower-case RFC 4648 base32 without padding (easy to read aloud and
/// to type: no `0/O`, `1/l` confusion).
pub(crate) fn random_base32(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    base32(&bytes)
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[usize::from((buffer >> bits) & 31)]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            ALPHABET[usize::from((buffer << (5 - bits)) & 31)],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648() {
        // RFC 4648 §10 test vectors, lower-cased, without padding.
        for (input, expected) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32(input.as_bytes()), expected, "{input}");
        }
        assert_eq!(random_base32(5).len(), 8);
    }

    #[test]
    fn append_truncates_what_an_unrecorded_append_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("a").join("x.part");
        append(&part, 0, b"hello").unwrap();
        append(&part, 5, b" wonderful").unwrap();
        // The offset row still says 5: the " wonderful" append was never recorded.
        append(&part, 5, b" world").unwrap();
        assert_eq!(fs::read(&part).unwrap(), b"hello world");
        assert_eq!(part_len(&part).unwrap(), 11);
        assert_eq!(sha256_file(&part).unwrap(), sha256_hex(b"hello world"));
        let target = dir.path().join("done");
        commit(&part, &target).unwrap();
        assert_eq!(part_len(&part).unwrap(), 0);
        assert!(!dir.path().join("a").exists(), "empty upload dir removed");
        assert_eq!(fs::read(&target).unwrap(), b"hello world");
    }
}
