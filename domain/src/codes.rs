//! Code tables printed on and read from the resident ID card.
//!
//! - Gender: GB/T 2261.1 — `0` unknown, `1` male, `2` female, `9` not stated.
//! - Ethnic group: GB/T 3304, two digits — `01` 汉 … `56` 基诺, `97` 其他,
//!   `98` 外国血统中国籍人士.
//!
//! Form values of the `gender` and `ethnicity` field kinds are these codes, exactly as
//! the card reader delivers them; labels are looked up here for display.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::text::Text;

/// Gender as coded by GB/T 2261.1.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// `0` 未知的性别.
    Unknown,
    /// `1` 男.
    Male,
    /// `2` 女.
    Female,
    /// `9` 未说明的性别.
    NotStated,
}

impl Gender {
    /// All codes, in code order.
    pub const ALL: [Gender; 4] = [
        Gender::Unknown,
        Gender::Male,
        Gender::Female,
        Gender::NotStated,
    ];

    /// The GB/T 2261.1 code: `"0"`, `"1"`, `"2"` or `"9"`.
    pub fn code(&self) -> &'static str {
        match self {
            Gender::Unknown => "0",
            Gender::Male => "1",
            Gender::Female => "2",
            Gender::NotStated => "9",
        }
    }

    /// The gender for a GB/T 2261.1 code (surrounding whitespace is ignored).
    pub fn from_code(code: &str) -> Option<Gender> {
        match code.trim() {
            "0" => Some(Gender::Unknown),
            "1" => Some(Gender::Male),
            "2" => Some(Gender::Female),
            "9" => Some(Gender::NotStated),
            _ => None,
        }
    }

    /// The label shown on screen: 男 / Male, 女 / Female, 未知 / Unknown, 未说明 / Not stated.
    pub fn label(&self) -> Text {
        match self {
            Gender::Unknown => Text::new("未知", "Unknown"),
            Gender::Male => Text::new("男", "Male"),
            Gender::Female => Text::new("女", "Female"),
            Gender::NotStated => Text::new("未说明", "Not stated"),
        }
    }
}

/// GB/T 3304 ethnic-group codes and their Chinese names, in code order.
const ETHNICITIES: [(&str, &str); 58] = [
    ("01", "汉"),
    ("02", "蒙古"),
    ("03", "回"),
    ("04", "藏"),
    ("05", "维吾尔"),
    ("06", "苗"),
    ("07", "彝"),
    ("08", "壮"),
    ("09", "布依"),
    ("10", "朝鲜"),
    ("11", "满"),
    ("12", "侗"),
    ("13", "瑶"),
    ("14", "白"),
    ("15", "土家"),
    ("16", "哈尼"),
    ("17", "哈萨克"),
    ("18", "傣"),
    ("19", "黎"),
    ("20", "傈僳"),
    ("21", "佤"),
    ("22", "畲"),
    ("23", "高山"),
    ("24", "拉祜"),
    ("25", "水"),
    ("26", "东乡"),
    ("27", "纳西"),
    ("28", "景颇"),
    ("29", "柯尔克孜"),
    ("30", "土"),
    ("31", "达斡尔"),
    ("32", "仫佬"),
    ("33", "羌"),
    ("34", "布朗"),
    ("35", "撒拉"),
    ("36", "毛南"),
    ("37", "仡佬"),
    ("38", "锡伯"),
    ("39", "阿昌"),
    ("40", "普米"),
    ("41", "塔吉克"),
    ("42", "怒"),
    ("43", "乌孜别克"),
    ("44", "俄罗斯"),
    ("45", "鄂温克"),
    ("46", "德昂"),
    ("47", "保安"),
    ("48", "裕固"),
    ("49", "京"),
    ("50", "塔塔尔"),
    ("51", "独龙"),
    ("52", "鄂伦春"),
    ("53", "赫哲"),
    ("54", "门巴"),
    ("55", "珞巴"),
    ("56", "基诺"),
    ("97", "其他"),
    ("98", "外国血统中国籍人士"),
];

/// The Chinese name for a two-digit GB/T 3304 code: `"01"` → `"汉"`, `"97"` → `"其他"`.
/// Codes must be exactly two digits (`"1"` is not `"01"`).
pub fn ethnicity_name(code: &str) -> Option<&'static str> {
    ETHNICITIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Every `(code, Chinese name)` pair of GB/T 3304, in code order (56 groups, then 97, 98).
pub fn ethnicities() -> impl Iterator<Item = (&'static str, &'static str)> {
    ETHNICITIES.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_gender(code: &str, expected: Option<(Gender, &str)>) {
        let got = Gender::from_code(code);
        assert_eq!(got, expected.map(|(g, _)| g), "code {code:?}");
        if let (Some(g), Some((_, zh))) = (got, expected) {
            assert_eq!(g.label().zh, zh);
            assert_eq!(g.code(), code.trim());
        }
    }

    #[test]
    fn gender_codes() {
        check_gender("0", Some((Gender::Unknown, "未知")));
        check_gender("1", Some((Gender::Male, "男")));
        check_gender("2", Some((Gender::Female, "女")));
        check_gender("9", Some((Gender::NotStated, "未说明")));
        check_gender(" 2 ", Some((Gender::Female, "女")));
        check_gender("3", None);
        check_gender("男", None);
        check_gender("", None);
        for g in Gender::ALL {
            assert_eq!(Gender::from_code(g.code()), Some(g));
        }
    }

    #[test]
    fn ethnicity_table() {
        let check = |code: &str, expected: Option<&str>| {
            assert_eq!(ethnicity_name(code), expected, "code {code:?}")
        };
        check("01", Some("汉"));
        check("07", Some("彝"));
        check("16", Some("哈尼"));
        check("56", Some("基诺"));
        check("97", Some("其他"));
        check("98", Some("外国血统中国籍人士"));
        check("00", None);
        check("57", None);
        check("1", None);
        check("", None);

        let all: Vec<_> = ethnicities().collect();
        assert_eq!(all.len(), 58);
        // codes 01..=56 are contiguous, then 97 and 98; sorted, no duplicates
        for (i, (code, _)) in all.iter().take(56).enumerate() {
            assert_eq!(*code, format!("{:02}", i + 1));
        }
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
