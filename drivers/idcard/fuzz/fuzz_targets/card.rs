//! The card parser on hostile bytes: a read answer with and without fingerprints, a bare
//! text block, an additional address and a SAM ID. It must never panic; whatever it accepts
//! must encode back to the same text.
#![no_main]

use idcard::card::{self, CardText, SamId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for fp in [true, false] {
        if let Ok(card) = card::parse_read(data, fp) {
            let _ = card.text.id_checksum_ok();
            let _ = card.text.expired(time::Date::MIN);
            let _ = card.text.nation();
        }
    }
    let mut block = [0x20u8; card::TEXT_LEN];
    let n = data.len().min(card::TEXT_LEN);
    block[..n].copy_from_slice(&data[..n]);
    if let Ok(text) = CardText::parse(&block) {
        // Text that decodes (and so fits) re-encodes and parses to the same values,
        // unless it holds U+FFFD from a broken surrogate, which the card cannot carry back.
        if let Ok(bytes) = text.encode() {
            assert_eq!(CardText::parse(&bytes).ok(), Some(text));
        }
    }
    let _ = card::parse_extra_address(data);
    let _ = SamId::parse(data).map(|s| s.to_string());
});
