//! Property tests: frames survive any split and noise; card text survives encode → parse.

use std::time::Instant;

use idcard::codec::{Decoded, Decoder, Direction, encode_frame};
use idcard::{CardText, CardType};
use proptest::prelude::*;

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 3..300)
}

proptest! {
    #[test]
    fn frames_decode_whatever_the_split_and_the_noise(
        frames in prop::collection::vec(body(), 1..4),
        noise in prop::collection::vec(any::<u8>().prop_filter("no sync byte", |b| *b != 0xAA), 0..40),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let mut stream = Vec::new();
        for f in &frames {
            stream.extend_from_slice(&noise);
            stream.extend_from_slice(&encode_frame(f));
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len())).collect();
        cuts.push(stream.len());
        cuts.sort();
        let mut d = Decoder::new(Direction::Responses);
        let mut got = Vec::new();
        let mut at = 0;
        for c in cuts {
            d.push(&stream[at..c], Instant::now());
            at = c;
            while let Some(x) = d.poll() {
                got.push(x);
            }
        }
        let want: Vec<Decoded> = frames.into_iter().map(Decoded::Frame).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn hostile_bytes_never_panic_and_stay_bounded(bytes in prop::collection::vec(any::<u8>(), 0..5000)) {
        let mut d = Decoder::new(Direction::Commands);
        d.push(&bytes, Instant::now());
        while d.poll().is_some() {}
        let _ = CardText::parse(&bytes);
        let _ = idcard::card::parse_read(&bytes, true);
        let _ = idcard::card::parse_read(&bytes, false);
    }
}

fn text(max: usize) -> impl Strategy<Value = String> {
    // Han, the U+4DAE outside GBK, Latin, digits; no spaces at the ends (the card pads).
    prop::collection::vec(
        prop::sample::select(vec!['张', '䶮', '彝', '云', 'A', 'z', '0', '9', '-', '·']),
        1..=max,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(0u8..10, n).prop_map(|v| v.iter().map(|d| char::from(b'0' + d)).collect())
}

proptest! {
    #[test]
    fn resident_and_hmt_text_round_trips(
        hmt in any::<bool>(),
        name in text(15),
        address in text(35),
        authority in text(15),
        id in digits(17),
        x in any::<bool>(),
        birth in digits(8),
        pass in text(9),
    ) {
        let ty = if hmt { CardType::HmtResidencePermit } else { CardType::Resident };
        let t = CardText {
            name: Some(name),
            gender_code: "1".into(),
            nation_code: (!hmt).then(|| "01".into()),
            birth_date: birth,
            address: Some(address),
            id_number: format!("{id}{}", if x { 'X' } else { '7' }),
            issuing_authority: Some(authority),
            valid_from: "20200101".into(),
            valid_until: "长期".into(),
            pass_number: hmt.then_some(pass),
            ..CardText::blank(ty)
        };
        let bytes = t.encode().unwrap();
        prop_assert_eq!(CardText::parse(&bytes).unwrap(), t);
    }

    #[test]
    fn foreign_text_round_trips(y in any::<bool>(), en in text(46), name in text(15), nat in text(3)) {
        let ty = if y { CardType::ForeignPermanent2023 } else { CardType::ForeignPermanent2017 };
        let t = CardText {
            english_name: Some(en),
            name: Some(name),
            gender_code: "9".into(),
            nationality: Some(nat),
            id_number: if y { "933156198503200026".into() } else { "ESP110085032001".into() },
            birth_date: "19850320".into(),
            valid_from: "20230320".into(),
            valid_until: "20330320".into(),
            ..CardText::blank(ty)
        };
        let bytes = t.encode().unwrap();
        prop_assert_eq!(CardText::parse(&bytes).unwrap(), t);
    }
}
