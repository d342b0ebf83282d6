//! Cards and helpers shared by the driver tests.
#![allow(dead_code)]

use idcard::card::LONG_TERM;
use idcard::sim::{self, Faults, SimOptions, Simulator};
use idcard::{Card, CardText, CardType};

/// A resident card: a 35-character address, an ID ending in X, a name with 䶮 (U+4DAE,
/// outside GBK), Yi nationality, an additional address and two fingerprints.
pub fn resident() -> Card {
    let text = CardText {
        name: Some("阿䶮".into()),
        gender_code: "2".into(),
        nation_code: Some("07".into()),
        birth_date: "19950214".into(),
        address: Some(
            "云南省文山壮族苗族自治州广南县坝美镇坝美村委会坝美村第一村民小组一二号".into(),
        ),
        id_number: "53262719950214002X".into(),
        issuing_authority: Some("广南县公安局".into()),
        valid_from: "20150214".into(),
        valid_until: "20350214".into(),
        ..CardText::blank(CardType::Resident)
    };
    assert_eq!(text.address.as_ref().unwrap().chars().count(), 35);
    sim::make_card(text, Some("云南省文山州广南县莲城镇新街88号".into()), 2).unwrap()
}

pub fn foreign_2017() -> Card {
    let text = CardText {
        english_name: Some("SMITH, JOHN PAUL".into()),
        name: Some("史密斯".into()),
        gender_code: "1".into(),
        id_number: "USA110075061501".into(),
        nationality: Some("USA".into()),
        valid_from: "20170601".into(),
        valid_until: "20270601".into(),
        birth_date: "19750615".into(),
        card_version: Some("01".into()),
        issuing_authority: Some("1500".into()),
        ..CardText::blank(CardType::ForeignPermanent2017)
    };
    sim::make_card(text, None, 0).unwrap()
}

pub fn hmt() -> Card {
    let text = CardText {
        name: Some("陈嘉欣".into()),
        gender_code: "2".into(),
        birth_date: "19900101".into(),
        address: Some("云南省昆明市五华区华山南路100号".into()),
        id_number: "810000199001010027".into(),
        issuing_authority: Some("昆明市公安局五华分局".into()),
        valid_from: "20200101".into(),
        valid_until: "20250101".into(),
        pass_number: Some("H12345678".into()),
        issue_count: Some("01".into()),
        ..CardText::blank(CardType::HmtResidencePermit)
    };
    sim::make_card(text, None, 1).unwrap()
}

pub fn foreign_2023() -> Card {
    let text = CardText {
        name: Some("玛丽亚".into()),
        english_name: Some(
            "GONZALEZ RODRIGUEZ, MARIA DE LOS ANGELES CARMEN"
                .chars()
                .take(46)
                .collect(),
        ),
        gender_code: "2".into(),
        issue_count: Some("00".into()),
        birth_date: "19850320".into(),
        id_number: "933156198503200026".into(),
        valid_from: "20230320".into(),
        valid_until: LONG_TERM.into(),
        nationality: Some("ESP".into()),
        previous_number: Some("".into()).filter(|s: &String| !s.is_empty()),
        ..CardText::blank(CardType::ForeignPermanent2023)
    };
    sim::make_card(text, None, 0).unwrap()
}

pub fn all_cards() -> Vec<Card> {
    vec![resident(), foreign_2017(), hmt(), foreign_2023()]
}

/// A simulator in manual mode with `faults`, answering fast (no latency) but with wire time.
pub fn simulator(faults: Faults) -> Simulator {
    Simulator::start(SimOptions {
        faults,
        ..SimOptions::default()
    })
    .expect("a pseudo-terminal for the simulator")
}
