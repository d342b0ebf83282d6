//! Sneakernet bundles: what a USB stick carries when the link is gone for weeks.
//!
//! Two kinds, one container:
//! - **applications** (`kiosk export --to DIR` → `county import FILE`): every application the
//!   county has not acknowledged, exactly as the sync engine would `PUT` it
//!   ([`SubmitApplication`], its personal part sealed to the county's key) followed by its
//!   scans, still sealed. Nothing in it is readable without the county's private key.
//!   Signed with the station's key (registered at enrolment).
//! - **decisions** (`county export-decisions` → `kiosk import FILE`): the station's decision
//!   stream and the ids of its applications the county holds whole. Signed with the county's
//!   signing key (in the provisioning file). Nothing personal in it.
//!
//! Container (all integers big-endian), documented in `docs/sneakernet.md`:
//!
//! ```text
//! 0   8  magic  b"VKBUNDLE"
//! 8   1  version (1)
//! 9   1  kind: b'A' applications, b'D' decisions
//! 10  4  header length H
//! 14  H  header: UTF-8 JSON, ApplicationsHeader or DecisionsHeader
//! ..  *  blobs: each application's scans in manifest order, `size` bytes each (kind A only)
//! end 64 Ed25519 signature over  context || 0x00 || SHA-256(every byte before it)
//!        context = "village-kiosk/v1/bundle/applications" or ".../decisions"
//! ```
//!
//! The file's length must be exactly what the header announces, so a truncated or padded
//! file is refused before its signature is checked; the signature covers the header and
//! every blob, so nothing may be trusted or stored before it is verified ([`Unverified`]).
//!
//! I/O contract: [`Writer`] writes to any `io::Write` (streaming: scans are copied, not held
//! in memory); [`save`] puts it into a directory (temporary name, fsync, rename);
//! [`Unverified::parse`] reads from a byte slice. Signing and verifying are
//! closures given by the caller (the `sealing` crate's Ed25519 keys), so this crate stays
//! free of key handling.

use std::io::Write;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Decision, SubmitApplication};

/// The first bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"VKBUNDLE";
/// The container version this code writes and reads.
pub const VERSION: u8 = 1;
/// Bytes of the signature that ends every bundle.
pub const SIGNATURE_LEN: usize = 64;
const PRELUDE_LEN: usize = 14;
/// Largest header accepted (the list of applications or decisions), in bytes.
pub const MAX_HEADER_BYTES: u32 = 64 * 1024 * 1024;

/// The file name ending of a bundle.
pub const EXTENSION: &str = "kiosk-bundle";

/// What a bundle carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A station's applications for the county.
    Applications,
    /// The county's decisions for a station.
    Decisions,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Applications => b'A',
            Kind::Decisions => b'D',
        }
    }

    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            b'A' => Some(Kind::Applications),
            b'D' => Some(Kind::Decisions),
            _ => None,
        }
    }

    /// What is signed besides the content's digest: a station's bundle signature is never
    /// valid for a decisions bundle and the other way round.
    pub fn context(self) -> &'static [u8] {
        match self {
            Kind::Applications => b"village-kiosk/v1/bundle/applications",
            Kind::Decisions => b"village-kiosk/v1/bundle/decisions",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Applications => "applications",
            Kind::Decisions => "decisions",
        }
    }
}

/// The header of an applications bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationsHeader {
    /// The station that wrote and signed it.
    pub station_id: String,
    /// When it was written (RFC 3339, the station's clock).
    pub created_at: String,
    /// Each application as the sync engine sends it; its scans follow as blobs, in this
    /// order, each `attachments[i].size` bytes (the sealed bytes).
    pub applications: Vec<SubmitApplication>,
}

/// The header of a decisions bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionsHeader {
    /// The station it is for.
    pub station_id: String,
    /// When the county wrote it (RFC 3339).
    pub created_at: String,
    /// Every decision for this station, in cursor order (the same as `GET /v1/decisions`).
    pub decisions: Vec<Decision>,
    /// This station's applications the county holds whole (record and every scan).
    pub received: Vec<Uuid>,
}

/// Why a file is not a bundle this code can use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("not a kiosk bundle (it does not start as one)")]
    NotABundle,
    #[error("a bundle of format version {0}, which this software does not read")]
    Version(u8),
    #[error("a bundle of {found}, where one of {expected} was expected")]
    WrongKind {
        expected: &'static str,
        found: &'static str,
    },
    #[error("the bundle is incomplete or damaged: {0}")]
    Damaged(String),
}

/// A bundle read from bytes whose signature has not been checked yet: only the signer's
/// name may be looked at (to find the key), then [`Unverified::verify`].
#[derive(Debug)]
pub struct Unverified<'a, H> {
    pub kind: Kind,
    /// The header as read, not yet to be trusted.
    header: H,
    blobs: &'a [u8],
    digest: [u8; 32],
    signature: &'a [u8],
}

/// Who a header names: the station that wrote (kind A) or that is addressed (kind D).
pub trait Header: serde::de::DeserializeOwned {
    const KIND: Kind;
    fn station_id(&self) -> &str;
    /// Total bytes of the blobs that follow this header.
    fn blob_bytes(&self) -> Result<u64, BundleError>;
}

impl Header for ApplicationsHeader {
    const KIND: Kind = Kind::Applications;
    fn station_id(&self) -> &str {
        &self.station_id
    }
    fn blob_bytes(&self) -> Result<u64, BundleError> {
        self.applications
            .iter()
            .flat_map(|a| &a.attachments)
            .try_fold(0u64, |sum, a| sum.checked_add(a.size))
            .ok_or_else(|| BundleError::Damaged("the scan sizes overflow".into()))
    }
}

impl Header for DecisionsHeader {
    const KIND: Kind = Kind::Decisions;
    fn station_id(&self) -> &str {
        &self.station_id
    }
    fn blob_bytes(&self) -> Result<u64, BundleError> {
        Ok(0)
    }
}

impl<'a, H: Header> Unverified<'a, H> {
    /// Read the framing and the header of `bytes`, the whole file.
    pub fn parse(bytes: &'a [u8]) -> Result<Unverified<'a, H>, BundleError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(BundleError::NotABundle);
        }
        if bytes.len() < PRELUDE_LEN {
            return Err(BundleError::Damaged(
                "it ends inside its first bytes".into(),
            ));
        }
        if bytes[8] != VERSION {
            return Err(BundleError::Version(bytes[8]));
        }
        let kind = Kind::from_byte(bytes[9])
            .ok_or_else(|| BundleError::Damaged(format!("unknown kind byte {}", bytes[9])))?;
        if kind != H::KIND {
            return Err(BundleError::WrongKind {
                expected: H::KIND.as_str(),
                found: kind.as_str(),
            });
        }
        let header_len = u32::from_be_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]);
        if header_len > MAX_HEADER_BYTES {
            return Err(BundleError::Damaged(
                "its header length is impossible".into(),
            ));
        }
        let header_end = PRELUDE_LEN + header_len as usize;
        if bytes.len() < header_end + SIGNATURE_LEN {
            return Err(BundleError::Damaged(format!(
                "it is {} bytes long, shorter than its header says (truncated?)",
                bytes.len()
            )));
        }
        let header: H = serde_json::from_slice(&bytes[PRELUDE_LEN..header_end])
            .map_err(|e| BundleError::Damaged(format!("its header is not readable: {e}")))?;
        let blob_bytes = header.blob_bytes()?;
        let expected = (header_end as u64)
            .checked_add(blob_bytes)
            .and_then(|n| n.checked_add(SIGNATURE_LEN as u64))
            .ok_or_else(|| BundleError::Damaged("its sizes overflow".into()))?;
        if bytes.len() as u64 != expected {
            return Err(BundleError::Damaged(format!(
                "it is {} bytes long but its header announces {expected} (truncated or padded)",
                bytes.len()
            )));
        }
        let signed_end = bytes.len() - SIGNATURE_LEN;
        Ok(Unverified {
            kind,
            digest: Sha256::digest(&bytes[..signed_end]).into(),
            blobs: &bytes[header_end..signed_end],
            signature: &bytes[signed_end..],
            header,
        })
    }

    /// The station the header names (to choose the key that must have signed it).
    pub fn station_id(&self) -> &str {
        self.header.station_id()
    }

    /// Check the signature with `check(context, digest, signature)`; only then are the
    /// header and the blobs handed out.
    pub fn verify<E>(
        self,
        check: impl FnOnce(&[u8], &[u8; 32], &[u8]) -> Result<(), E>,
    ) -> Result<Verified<'a, H>, E> {
        check(self.kind.context(), &self.digest, self.signature)?;
        Ok(Verified {
            header: self.header,
            blobs: self.blobs,
        })
    }
}

/// A bundle whose signature was checked.
#[derive(Debug)]
pub struct Verified<'a, H> {
    pub header: H,
    blobs: &'a [u8],
}

impl<'a> Verified<'a, ApplicationsHeader> {
    /// Each application with its scans' sealed bytes, in manifest order.
    pub fn applications(&self) -> Vec<(&SubmitApplication, Vec<&'a [u8]>)> {
        let mut at = 0usize;
        self.header
            .applications
            .iter()
            .map(|app| {
                let blobs = app
                    .attachments
                    .iter()
                    .map(|a| {
                        // parse() checked the sizes add up to the blob region.
                        let end = at + a.size as usize;
                        let blob = &self.blobs[at..end];
                        at = end;
                        blob
                    })
                    .collect();
                (app, blobs)
            })
            .collect()
    }
}

/// Writes a bundle: the header, then [`Writer::blob`] for each scan, then
/// [`Writer::finish`] with the signer. Hashes as it goes.
pub struct Writer<W: Write> {
    out: W,
    kind: Kind,
    hash: Sha256,
    blobs_left: u64,
    written: u64,
}

impl<W: Write> Writer<W> {
    pub fn new<H: Header + Serialize>(mut out: W, header: &H) -> std::io::Result<Writer<W>> {
        let json = serde_json::to_vec(header).map_err(std::io::Error::other)?;
        let len = u32::try_from(json.len())
            .ok()
            .filter(|l| *l <= MAX_HEADER_BYTES)
            .ok_or_else(|| std::io::Error::other("the bundle header is too large"))?;
        let blobs_left = header
            .blob_bytes()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut prelude = Vec::with_capacity(PRELUDE_LEN + json.len());
        prelude.extend_from_slice(MAGIC);
        prelude.push(VERSION);
        prelude.push(H::KIND.byte());
        prelude.extend_from_slice(&len.to_be_bytes());
        prelude.extend_from_slice(&json);
        out.write_all(&prelude)?;
        let mut hash = Sha256::new();
        hash.update(&prelude);
        Ok(Writer {
            out,
            kind: H::KIND,
            hash,
            blobs_left,
            written: prelude.len() as u64,
        })
    }

    /// Append one scan's bytes (a piece at a time is fine).
    pub fn blob(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let len = bytes.len() as u64;
        if len > self.blobs_left {
            return Err(std::io::Error::other(
                "more scan bytes than the header announces (did a scan change on disk?)",
            ));
        }
        self.out.write_all(bytes)?;
        self.hash.update(bytes);
        self.blobs_left -= len;
        self.written += len;
        Ok(())
    }

    /// Sign with `sign(context, digest)` and write the signature. Returns the writer and
    /// the bundle's size in bytes.
    pub fn finish(
        mut self,
        sign: impl FnOnce(&[u8], &[u8; 32]) -> [u8; SIGNATURE_LEN],
    ) -> std::io::Result<(W, u64)> {
        if self.blobs_left != 0 {
            return Err(std::io::Error::other(
                "fewer scan bytes than the header announces (did a scan change on disk?)",
            ));
        }
        let digest: [u8; 32] = self.hash.finalize().into();
        let signature = sign(self.kind.context(), &digest);
        self.out.write_all(&signature)?;
        Ok((self.out, self.written + SIGNATURE_LEN as u64))
    }
}

/// Why a bundle could not be written into a directory (USB stick). `Display` is one
/// sentence, Chinese first with English beside it, for the person holding the stick.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(
        "目录 {0} 不存在（U 盘插好了吗？） / the directory {0} does not exist (is the USB stick mounted?)"
    )]
    NoDirectory(String),
    #[error("不能写入 {0}（只读或没有权限） / {0} cannot be written (read-only or no permission)")]
    NotWritable(String),
    #[error(
        "{0} 空间不够，请换一个更大的 U 盘 / there is not enough space on {0}; use a larger USB stick"
    )]
    Full(String),
    #[error("写入 {dir} 失败 / writing to {dir} failed: {source}")]
    Other {
        dir: String,
        #[source]
        source: std::io::Error,
    },
}

impl SaveError {
    fn of(dir: &std::path::Path, e: std::io::Error) -> SaveError {
        let d = dir.display().to_string();
        // errno: EACCES 13, EPERM 1, EROFS 30, ENOSPC 28, EDQUOT 122, ENOENT 2, ENOTDIR 20
        match (e.kind(), e.raw_os_error()) {
            (std::io::ErrorKind::NotFound, _) | (_, Some(2 | 20)) => SaveError::NoDirectory(d),
            (std::io::ErrorKind::PermissionDenied, _) | (_, Some(1 | 13 | 30)) => {
                SaveError::NotWritable(d)
            }
            (_, Some(28 | 122)) => SaveError::Full(d),
            _ => SaveError::Other { dir: d, source: e },
        }
    }
}

/// Write a bundle into `dir` as `name`: under a hidden temporary name first, fsynced, then
/// renamed and the directory fsynced, so a stick pulled out too early never holds half a
/// bundle under a bundle's name. On failure the temporary file is removed. `write` gets the
/// file (buffered) and returns the bundle's size.
pub fn save(
    dir: &std::path::Path,
    name: &str,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<u64>,
) -> Result<(std::path::PathBuf, u64), SaveError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(SaveError::NoDirectory(dir.display().to_string())),
        Err(e) => return Err(SaveError::of(dir, e)),
    }
    // Never replace a bundle already on the stick (two exports within a second): the next
    // free `NAME-2.EXT`, `NAME-3.EXT`, …
    let mut target = dir.join(name);
    let (stem, ext) = name.split_once('.').unwrap_or((name, ""));
    let mut n = 1;
    while target.exists() {
        n += 1;
        let dot = if ext.is_empty() { "" } else { "." };
        target = dir.join(format!("{stem}-{n}{dot}{ext}"));
    }
    let tmp = dir.join(format!(".{name}.tmp"));
    let attempt = || -> std::io::Result<u64> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
        let size = write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &target)?;
        // The rename made durable. Some stick file systems refuse fsync on a directory
        // (EINVAL): the file itself is already synced, so that is not a failure.
        match std::fs::File::open(dir).and_then(|d| d.sync_all()) {
            Err(e) if e.raw_os_error() == Some(22) => {}
            other => other?,
        }
        Ok(size)
    };
    match attempt() {
        Ok(size) => Ok((target, size)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(SaveError::of(dir, e))
        }
    }
}

/// Bytes as a person reads them on a stick's label (1000-based: B, kB, MB, GB).
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} B"),
        b if b < 1_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        b if b < 1_000_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{:.2} GB", b as f64 / 1e9),
    }
}

/// A bundle's file name: `<who>-<UTC yyyymmddThhmmssZ>.kiosk-bundle`.
pub fn file_name(who: &str, at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{who}-{:04}{:02}{:02}T{:02}{:02}{:02}Z.{EXTENSION}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AttachmentManifest;

    fn header() -> ApplicationsHeader {
        let app = |n: u8, sizes: &[u64]| SubmitApplication {
            application_id: Uuid::from_bytes([n; 16]),
            tracking_number: format!("T-{n}"),
            service: "elderly-card".into(),
            service_version: 1,
            submitted_at: "2026-11-25T08:00:00Z".into(),
            fields: Default::default(),
            attachments: sizes
                .iter()
                .enumerate()
                .map(|(i, size)| AttachmentManifest {
                    name: format!("s{i}.jpg"),
                    scan: "photo".into(),
                    content_type: "image/jpeg".into(),
                    size: *size,
                    sha256: "0".repeat(64),
                })
                .collect(),
            sealed: Some("00".into()),
            clock: None,
        };
        ApplicationsHeader {
            station_id: "st-1".into(),
            created_at: "2026-11-25T09:00:00Z".into(),
            applications: vec![app(1, &[3, 2]), app(2, &[]), app(3, &[4])],
        }
    }

    /// A toy signature: the digest twice (the real one is Ed25519, in `sealing`).
    fn toy(context: &[u8], digest: &[u8; 32]) -> [u8; 64] {
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(digest);
        s[32..].copy_from_slice(&Sha256::digest(context));
        s
    }

    fn toy_check(context: &[u8], digest: &[u8; 32], sig: &[u8]) -> Result<(), &'static str> {
        (sig == toy(context, digest)).then_some(()).ok_or("bad")
    }

    fn written() -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), &header()).unwrap();
        w.blob(b"abc").unwrap();
        w.blob(b"de").unwrap();
        w.blob(b"fg").unwrap();
        w.blob(b"hi").unwrap();
        let (bytes, size) = w.finish(toy).unwrap();
        assert_eq!(size, bytes.len() as u64);
        bytes
    }

    #[test]
    fn a_bundle_round_trips_and_hands_out_each_scan() {
        let bytes = written();
        let u = Unverified::<ApplicationsHeader>::parse(&bytes).unwrap();
        assert_eq!(u.station_id(), "st-1");
        let v = u.verify(toy_check).unwrap();
        assert_eq!(v.header, header());
        let apps = v.applications();
        assert_eq!(apps.len(), 3);
        assert_eq!(apps[0].1, vec![&b"abc"[..], b"de"]);
        assert!(apps[1].1.is_empty());
        assert_eq!(apps[2].1, vec![&b"fghi"[..]]);
    }

    #[test]
    fn damage_of_every_kind_is_refused_before_anything_is_handed_out() {
        let bytes = written();
        type P<'a> = Result<Unverified<'a, ApplicationsHeader>, BundleError>;
        let parse = |b: &[u8]| -> Result<(), String> {
            let p: P<'_> = Unverified::parse(b);
            p.map_err(|e| e.to_string())?
                .verify(toy_check)
                .map(|_| ())
                .map_err(str::to_owned)
        };
        assert_eq!(parse(&bytes), Ok(()));
        // (what, damage, part of the expected message)
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", vec![], "not a kiosk bundle"),
            (
                "garbage",
                b"hello world, not a bundle".to_vec(),
                "not a kiosk bundle",
            ),
            ("truncated", bytes[..bytes.len() - 1].to_vec(), "truncated"),
            ("cut in the header", bytes[..20].to_vec(), "truncated"),
            ("padded", [&bytes[..], b"x"].concat(), "padded"),
            (
                "version",
                {
                    let mut b = bytes.clone();
                    b[8] = 9;
                    b
                },
                "version 9",
            ),
            (
                "kind",
                {
                    let mut b = bytes.clone();
                    b[9] = b'D';
                    b
                },
                "of decisions",
            ),
            (
                "a scan byte",
                {
                    let mut b = bytes.clone();
                    let n = b.len() - 66;
                    b[n] ^= 1;
                    b
                },
                "bad",
            ),
            (
                "the signature",
                {
                    let mut b = bytes.clone();
                    let n = b.len() - 1;
                    b[n] ^= 1;
                    b
                },
                "bad",
            ),
        ];
        for (what, damaged, expect) in cases {
            let got = parse(&damaged).unwrap_err();
            assert!(got.contains(expect), "{what}: {got}");
        }
    }

    #[test]
    fn a_bundle_is_saved_whole_or_not_at_all_and_a_missing_stick_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let at = time::macros::datetime!(2026-11-25 08:09:10 UTC);
        let name = file_name("st-abc", at);
        assert_eq!(name, "st-abc-20261125T080910Z.kiosk-bundle");
        let sizes = [0, 999, 1_000, 384_411, 38_400_000, 2_100_000_000].map(human_size);
        assert_eq!(
            sizes,
            ["0 B", "999 B", "1.0 kB", "384.4 kB", "38.4 MB", "2.10 GB"]
        );
        let (path, size) = save(dir.path(), &name, |w| {
            w.write_all(b"bundle")?;
            Ok(6)
        })
        .unwrap();
        assert_eq!(
            (std::fs::read(&path).unwrap(), size),
            (b"bundle".to_vec(), 6)
        );
        // The same name again (two exports within a second): a new file, the first kept.
        let (second, _) = save(dir.path(), &name, |w| {
            w.write_all(b"later")?;
            Ok(5)
        })
        .unwrap();
        assert_eq!(
            second.file_name().unwrap(),
            "st-abc-20261125T080910Z-2.kiosk-bundle"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"bundle");
        std::fs::remove_file(&second).unwrap();
        let failed = save(dir.path(), "other", |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("scan changed"))
        });
        assert!(matches!(failed, Err(SaveError::Other { .. })), "{failed:?}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from(&name)],
            "no temporary file left"
        );
        let missing = save(&dir.path().join("usb"), "x", |_| Ok(0)).unwrap_err();
        assert!(matches!(missing, SaveError::NoDirectory(_)), "{missing:?}");
        assert!(missing.to_string().starts_with("目录"), "{missing}");
    }

    #[test]
    fn the_writer_refuses_scans_that_disagree_with_the_header() {
        let mut w = Writer::new(Vec::new(), &header()).unwrap();
        assert!(w.blob(&[0; 12]).is_err());
        let mut w = Writer::new(Vec::new(), &header()).unwrap();
        w.blob(b"abc").unwrap();
        assert!(w.finish(toy).is_err());
    }
}
