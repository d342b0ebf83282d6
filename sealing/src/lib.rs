//! Sealing: what a station stores and sends of an application's personal data is encrypted
//! to the county's public key, so a stolen SD card does not leak it.
//!
//! Key decision: HPKE (RFC 9180) in base mode with one fixed suite, DHKEM(X25519,
//! HKDF-SHA256) + HKDF-SHA256 + ChaCha20-Poly1305, through the `hpke` crate (pure Rust,
//! RustCrypto primitives, reviewed by Cloudflare). Only the county's private key opens a
//! sealed blob; the station holds only the public key and cannot read back what it sealed.
//! Every blob is bound to a *context* (which application, which scan) through HPKE's `info`
//! string: a blob moved under another application or scan name does not open.
//!
//! Format of a sealed blob: `b"vks1"` (format version), the 32-byte encapsulated key, then
//! the ChaCha20-Poly1305 ciphertext (plaintext length + 16-byte tag); [`OVERHEAD`] bytes in
//! all beyond the plaintext.
//!
//! Signatures ([`sign`]): a bundle carried on a USB stick (`kiosk export`, `county
//! export-decisions`) is signed with Ed25519 by whoever wrote it, so the other side can tell
//! it really comes from the registered station (or from the county) and is whole.
//!
//! I/O contract: none. Bytes in, bytes out; randomness from `rand`'s thread-local CSPRNG
//! (ChaCha12, seeded from the operating system).

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};

pub mod sign;

type Kem = X25519HkdfSha256;

/// The version tag every sealed blob starts with.
const MAGIC: &[u8; 4] = b"vks1";
const ENCAPPED_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// Bytes a sealed blob has beyond its plaintext.
pub const OVERHEAD: u64 = (MAGIC.len() + ENCAPPED_LEN + TAG_LEN) as u64;

/// Why a blob could not be opened, or a key read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("not a sealed blob (too short or an unknown format)")]
    Format,
    #[error(
        "the sealed blob does not open with this key in this context (wrong key, moved, or damaged)"
    )]
    Open,
    #[error("a key must be 64 hexadecimal characters")]
    Key,
    #[error("sealing failed")]
    Seal,
}

/// The county's public key: 32 bytes, written as 64 lower-case hex characters.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(<Kem as hpke::Kem>::PublicKey);

/// The county's private key. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct PrivateKey(<Kem as hpke::Kem>::PrivateKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0.to_bytes()))
    }
}

impl std::str::FromStr for PublicKey {
    type Err = SealError;
    fn from_str(s: &str) -> Result<PublicKey, SealError> {
        let bytes = decode32(s)?;
        <Kem as hpke::Kem>::PublicKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| SealError::Key)
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

impl PrivateKey {
    /// A fresh key pair from the operating system's randomness.
    pub fn generate() -> PrivateKey {
        PrivateKey(Kem::gen_keypair(&mut rand::rng()).0)
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(Kem::sk_to_pk(&self.0))
    }

    /// 64 lower-case hex characters, for the county's key file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn from_hex(s: &str) -> Result<PrivateKey, SealError> {
        let bytes = decode32(s)?;
        <Kem as hpke::Kem>::PrivateKey::from_bytes(&bytes)
            .map(PrivateKey)
            .map_err(|_| SealError::Key)
    }
}

fn decode32(s: &str) -> Result<[u8; 32], SealError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out).map_err(|_| SealError::Key)?;
    Ok(out)
}

/// The context of an application's sealed record.
pub fn record_context(application_id: &str) -> Vec<u8> {
    format!("village-kiosk/v1/record/{application_id}").into_bytes()
}

/// The context of one sealed scan of an application.
pub fn scan_context(application_id: &str, name: &str) -> Vec<u8> {
    format!("village-kiosk/v1/scan/{application_id}/{name}").into_bytes()
}

/// Seal `plaintext` to `key` in `context`. Sealing the same bytes twice gives different
/// blobs (a fresh ephemeral key each time).
pub fn seal(key: &PublicKey, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let (encapped, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &key.0,
        context,
        plaintext,
        &[],
        &mut rand::rng(),
    )
    .map_err(|_| SealError::Seal)?;
    let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD as usize);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&encapped.to_bytes());
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Open a blob [`seal`] made for this key's public half in the same `context`.
pub fn open(key: &PrivateKey, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if (sealed.len() as u64) < OVERHEAD || !sealed.starts_with(MAGIC) {
        return Err(SealError::Format);
    }
    let (encapped, ciphertext) = sealed[MAGIC.len()..].split_at(ENCAPPED_LEN);
    let encapped =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(encapped).map_err(|_| SealError::Format)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        &key.0,
        &encapped,
        context,
        ciphertext,
        &[],
    )
    .map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_blob_opens_with_the_key_in_its_context_only() {
        let county = PrivateKey::generate();
        let public: PublicKey = county.public_key().to_string().parse().unwrap();
        let plain = "张三 532627195003120036".as_bytes();
        let ctx = scan_context("app-1", "photo.jpg");
        let a = seal(&public, &ctx, plain).unwrap();
        let b = seal(&public, &ctx, plain).unwrap();
        assert_ne!(a, b, "each seal uses a fresh ephemeral key");
        assert_eq!(a.len() as u64, plain.len() as u64 + OVERHEAD);
        assert!(
            !a.windows(plain.len()).any(|w| w == plain),
            "no plaintext in the blob"
        );
        assert_eq!(open(&county, &ctx, &a).unwrap(), plain);
        assert_eq!(open(&county, &ctx, &b).unwrap(), plain);

        // Another context, another key, a flipped bit, a truncation: refused.
        let other = scan_context("app-2", "photo.jpg");
        assert_eq!(open(&county, &other, &a), Err(SealError::Open));
        assert_eq!(
            open(&PrivateKey::generate(), &ctx, &a),
            Err(SealError::Open)
        );
        let mut flipped = a.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(open(&county, &ctx, &flipped), Err(SealError::Open));
        assert_eq!(open(&county, &ctx, &a[..20]), Err(SealError::Format));
        assert_eq!(
            open(
                &county,
                &ctx,
                b"plain text, not sealed at all, long enough to pass the length check"
            ),
            Err(SealError::Format)
        );
        // Empty plaintexts seal too.
        let e = seal(&public, &ctx, b"").unwrap();
        assert_eq!(open(&county, &ctx, &e).unwrap(), b"");
    }

    #[test]
    fn keys_round_trip_through_hex_and_refuse_garbage() {
        let k = PrivateKey::generate();
        let again = PrivateKey::from_hex(&k.to_hex()).unwrap();
        assert_eq!(again.public_key(), k.public_key());
        assert_eq!(k.public_key().to_string().len(), 64);
        assert!(format!("{k:?}").ends_with("(..)"));
        assert_eq!("abc".parse::<PublicKey>(), Err(SealError::Key));
        assert!(PrivateKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
