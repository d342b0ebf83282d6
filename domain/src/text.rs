//! Bilingual text: every string a person reads is given in Chinese and English.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A text in simplified Chinese (`zh`, zh-CN) and English (`en`).
///
/// The kiosk shows `zh` by default; `en` is for operators, technicians and logs read by
/// people who do not read Chinese.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default, Hash)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Simplified Chinese (zh-CN).
    pub zh: String,
    /// English.
    pub en: String,
}

impl Text {
    /// A text from its Chinese and English versions.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// True when either language is missing (empty or only whitespace).
    pub fn is_incomplete(&self) -> bool {
        self.zh.trim().is_empty() || self.en.trim().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_zh_en_object() {
        let t = Text::new("男", "Male");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"zh":"男","en":"Male"}"#
        );
        let back: Text = serde_json::from_str(r#"{"zh":"男","en":"Male"}"#).unwrap();
        assert_eq!(back, t);
        assert!(serde_json::from_str::<Text>(r#"{"zh":"男","en":"Male","fr":"Homme"}"#).is_err());
    }

    #[test]
    fn incomplete_when_a_language_is_blank() {
        assert!(!Text::new("男", "Male").is_incomplete());
        assert!(Text::new("男", " ").is_incomplete());
        assert!(Text::new("", "Male").is_incomplete());
    }
}
