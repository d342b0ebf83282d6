//! The demo's simulated people and papers: sample ID cards for the simulated reader and a
//! sample page for the simulated scanner. The people are invented; their ID numbers are valid
//! under GB 11643 so the demo's applications pass validation.

use idcard::CardData;

fn card(name: &str, gender: &str, eth: &str, birth: &str, id: &str, address: &str) -> CardData {
    CardData {
        name: name.into(),
        gender_code: gender.into(),
        ethnicity_code: eth.into(),
        birth_date: birth.into(),
        address: address.into(),
        id_number: id.into(),
        issuing_authority: "广南县公安局".into(),
        valid_from: "20200101".into(),
        valid_to: "长期".into(),
    }
}

/// Cards to tap in the demo, in order: the first of each group of a form takes the next one.
pub fn cards() -> Vec<CardData> {
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

/// The page the simulated scanner "captures" (a generated sample, marked as such).
pub const SCAN_PAGE: &[u8] =
    include_bytes!("../../tests/data/applications/scans/household-register.jpg");
