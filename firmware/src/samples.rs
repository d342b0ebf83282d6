//! The demo's simulated people: sample ID cards for the simulated reader (the simulated
//! scanner is `scanner::sim`). The people are invented; their ID numbers are valid
//! under GB 11643 so the demo's applications pass validation.

use idcard::{Card, CardText, CardType};

fn card(name: &str, gender: &str, eth: &str, birth: &str, id: &str, address: &str) -> Card {
    let text = CardText {
        name: Some(name.into()),
        gender_code: gender.into(),
        nation_code: Some(eth.into()),
        birth_date: birth.into(),
        address: Some(address.into()),
        id_number: id.into(),
        issuing_authority: Some("广南县公安局".into()),
        valid_from: "20200101".into(),
        valid_until: idcard::card::LONG_TERM.into(),
        ..CardText::blank(CardType::Resident)
    };
    // The sample texts fit the card's layout (tested below), so this cannot fail.
    idcard::sim::make_card(text, None, 2).unwrap_or_else(|e| unreachable!("sample card: {e}"))
}

/// Cards to tap in the demo, in order: the first of each group of a form takes the next one.
pub fn cards() -> Vec<Card> {
    const ADDR: &str = "云南省文山壮族苗族自治州广南县坝美镇坝美村12号";
    vec![
        card(
            "李德华",
            "1",
            "01",
            "19500312",
            "532627195003120034",
            "云南省文山壮族苗族自治州广南县坝美镇坝美村3号",
        ),
        card("陶丽", "2", "06", "19950214", "53262719950214002X", ADDR),
        card("农志强", "1", "08", "19920503", "532627199205030019", ADDR),
        card(
            "王秀英",
            "2",
            "01",
            "19530707",
            "532627195307070048",
            "云南省文山壮族苗族自治州广南县坝美镇汤那村7号",
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sample_cards_are_valid_cards() {
        let cards = super::cards();
        assert_eq!(cards.len(), 4);
        for c in cards {
            assert_eq!(c.text.id_checksum_ok(), Some(true), "{c:?}");
            assert!(c.text.encode().is_ok());
        }
    }
}
