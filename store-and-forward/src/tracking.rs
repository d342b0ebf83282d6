//! Tracking numbers: what the villager reads from the receipt or over the phone.
//!
//! `YYMMDD-ABCD-EFGH`: the submission date, then 40 bits of the application id's random part
//! in Crockford base32 (no I, L, O, U; nothing to misread). Derived from the id, so it needs
//! no counter that a power cut could reset; 2^40 per day makes a collision at one county
//! practically impossible, and the county still keys everything on the id.

use time::Date;
use uuid::Uuid;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The tracking number of application `id` submitted on `date`.
pub fn tracking_number(id: &Uuid, date: Date) -> String {
    let b = id.as_bytes();
    // The last 5 bytes of a UUIDv7 are random (rand_b).
    let mut bits = u64::from_be_bytes([0, 0, 0, b[11], b[12], b[13], b[14], b[15]]);
    let mut chars = [0u8; 8];
    for c in chars.iter_mut().rev() {
        *c = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    let chars = std::str::from_utf8(&chars).unwrap_or_default();
    format!(
        "{:02}{:02}{:02}-{}-{}",
        date.year() % 100,
        u8::from(date.month()),
        date.day(),
        &chars[..4],
        &chars[4..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn format_is_date_and_two_groups() {
        let id = Uuid::from_bytes([0xff; 16]);
        assert_eq!(
            tracking_number(&id, date!(2026 - 11 - 05)),
            "261105-ZZZZ-ZZZZ"
        );
        let id = Uuid::from_bytes([0; 16]);
        assert_eq!(
            tracking_number(&id, date!(2031 - 01 - 31)),
            "310131-0000-0000"
        );
    }

    #[test]
    fn different_ids_give_different_numbers() {
        let a = tracking_number(&Uuid::now_v7(), date!(2026 - 11 - 25));
        let b = tracking_number(&Uuid::now_v7(), date!(2026 - 11 - 25));
        assert_ne!(a, b);
        assert!(!a.contains(['I', 'L', 'O', 'U']));
    }
}
