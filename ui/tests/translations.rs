//! Every @tr() string of the pages has a Chinese translation under the context Slint looks
//! it up by (the enclosing component's name). `python3 ui/translations/update.py` adds the
//! missing entries for a translator.

use std::collections::BTreeSet;
use std::path::Path;

fn slint_strings() -> BTreeSet<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("ui/ui") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "slint") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a .slint file");
        let mut component = String::new();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(i) = words.iter().position(|w| *w == "component")
                && (i == 0 || words[..i] == ["export"])
            {
                component = words.get(i + 1).copied().unwrap_or_default().to_owned();
            }
            let mut rest = line;
            while let Some(start) = rest.find("@tr(\"") {
                let after = &rest[start + 5..];
                let end = after.find('"').expect("a closed string");
                found.insert((component.clone(), after[..end].to_owned()));
                rest = &after[end..];
            }
        }
    }
    found
}

fn po_entries() -> BTreeSet<(String, String)> {
    let po =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("translations/zh_CN/LC_MESSAGES/kiosk-ui.po");
    let text = std::fs::read_to_string(po).expect("the zh_CN catalogue");
    let unquote = |line: &str, key: &str| {
        line.strip_prefix(key)
            .map(|v| v.trim().trim_matches('"').to_owned())
    };
    let mut entries = BTreeSet::new();
    let (mut ctx, mut id) = (String::new(), String::new());
    for line in text.lines() {
        if let Some(v) = unquote(line, "msgctxt ") {
            ctx = v;
        } else if let Some(v) = unquote(line, "msgid ") {
            id = v;
        } else if let Some(v) = unquote(line, "msgstr ")
            && !id.is_empty()
            && !v.is_empty()
        {
            entries.insert((ctx.clone(), id.clone()));
        }
    }
    entries
}

#[test]
fn every_page_string_has_a_chinese_translation() {
    let strings = slint_strings();
    assert!(
        strings.len() > 20,
        "the pages' strings were found: {strings:?}"
    );
    let translated = po_entries();
    let missing: Vec<_> = strings.difference(&translated).collect();
    assert!(
        missing.is_empty(),
        "untranslated (component, string); run ui/translations/update.py: {missing:?}"
    );
}
