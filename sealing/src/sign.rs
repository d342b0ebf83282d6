//! Ed25519 signatures (RFC 8032) for what travels outside the HTTP link: sneakernet bundles.
//!
//! Key decision: `ed25519-dalek` (the same curve25519-dalek the HPKE stack already builds),
//! keys kept as 64 lower-case hex characters like the sealing keys. What is signed is a
//! *context* string and the SHA-256 of the content (`context || 0x00 || sha256(content)`),
//! so a writer can sign a bundle of hundreds of megabytes while streaming it to a stick,
//! and a signature made for one purpose (a station's bundle) is never valid for another (the
//! county's decisions).

use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::{Digest, Sha256};

use crate::SealError;

/// Bytes of a signature.
pub const SIGNATURE_LEN: usize = 64;

/// Why a signature or a signing key was refused.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("the signature does not match (made with another key, or the content was changed)")]
    BadSignature,
    #[error("a signing key must be 64 hexadecimal characters")]
    Key,
}

impl From<SealError> for SignError {
    fn from(_: SealError) -> SignError {
        SignError::Key
    }
}

/// A private signing key (a station's, or the county's). Its `Debug` shows nothing of it.
pub struct SigningKey(ed25519_dalek::SigningKey);

/// The public half, which the other side keeps to check signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyingKey({self})")
    }
}

impl std::fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0.as_bytes()))
    }
}

impl std::str::FromStr for VerifyingKey {
    type Err = SignError;
    fn from_str(s: &str) -> Result<VerifyingKey, SignError> {
        let bytes = crate::decode32(s)?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(VerifyingKey)
            .map_err(|_| SignError::Key)
    }
}

impl SigningKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> SigningKey {
        let seed: [u8; 32] = rand::random();
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// 64 lower-case hex characters (the seed), for a key file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn from_hex(s: &str) -> Result<SigningKey, SignError> {
        let bytes = crate::decode32(s)?;
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&bytes)))
    }

    /// Sign content whose SHA-256 is `digest`, for `context`.
    pub fn sign_digest(&self, context: &[u8], digest: &[u8; 32]) -> [u8; SIGNATURE_LEN] {
        self.0.sign(&message(context, digest)).to_bytes()
    }

    /// Sign `content` for `context`.
    pub fn sign(&self, context: &[u8], content: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.sign_digest(context, &Sha256::digest(content).into())
    }
}

impl VerifyingKey {
    /// Check a signature [`SigningKey::sign_digest`] made.
    pub fn verify_digest(
        &self,
        context: &[u8],
        digest: &[u8; 32],
        signature: &[u8],
    ) -> Result<(), SignError> {
        let signature =
            ed25519_dalek::Signature::from_slice(signature).map_err(|_| SignError::BadSignature)?;
        self.0
            .verify(&message(context, digest), &signature)
            .map_err(|_| SignError::BadSignature)
    }

    /// Check a signature [`SigningKey::sign`] made.
    pub fn verify(
        &self,
        context: &[u8],
        content: &[u8],
        signature: &[u8],
    ) -> Result<(), SignError> {
        self.verify_digest(context, &Sha256::digest(content).into(), signature)
    }
}

fn message(context: &[u8], digest: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(context.len() + 1 + digest.len());
    m.extend_from_slice(context);
    m.push(0);
    m.extend_from_slice(digest);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_key_context_and_content_only() {
        let key = SigningKey::generate();
        let public: VerifyingKey = key.verifying_key().to_string().parse().unwrap();
        let sig = key.sign(b"ctx-a", b"content");
        assert_eq!(public.verify(b"ctx-a", b"content", &sig), Ok(()));
        let bad = SignError::BadSignature;
        assert_eq!(public.verify(b"ctx-b", b"content", &sig), Err(bad.clone()));
        assert_eq!(public.verify(b"ctx-a", b"contenT", &sig), Err(bad.clone()));
        assert_eq!(
            public.verify(b"ctx-a", b"content", &sig[..63]),
            Err(bad.clone())
        );
        let other = SigningKey::generate().verifying_key();
        assert_eq!(other.verify(b"ctx-a", b"content", &sig), Err(bad));
        // Keys survive hex; garbage is refused.
        let again = SigningKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(again.verifying_key(), key.verifying_key());
        assert!(format!("{key:?}").ends_with("(..)"));
        assert_eq!("abc".parse::<VerifyingKey>(), Err(SignError::Key));
        assert!(SigningKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
