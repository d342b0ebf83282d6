//! The committed JSON Schema of the definition format must match the types.
//!
//! After changing the definition types, regenerate it with
//! `UPDATE_SCHEMA=1 cargo test -p kiosk-domain --test schema`.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/service-definition.schema.json")
}

fn generated() -> String {
    let mut s = serde_json::to_string_pretty(&kiosk_domain::definition::json_schema()).unwrap();
    s.push('\n');
    s
}

#[test]
fn committed_schema_is_up_to_date() {
    let path = committed_path();
    let want = generated();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date with the definition types; regenerate it with\n    \
         UPDATE_SCHEMA=1 cargo test -p kiosk-domain --test schema",
        path.display()
    );
}

#[test]
fn schema_describes_the_format() {
    let schema = kiosk_domain::definition::json_schema();
    assert_eq!(schema["title"], "ServiceDefinition");
    assert_eq!(schema["additionalProperties"], false);
    let required = schema["required"].as_array().unwrap();
    for key in [
        "format", "id", "version", "title", "summary", "groups", "fields",
    ] {
        assert!(required.contains(&key.into()), "{key} is required");
    }
    // the kinds and rules are tagged unions
    let kinds = schema["$defs"]["FieldKind"]["oneOf"].as_array().unwrap();
    assert_eq!(kinds.len(), 7);
    let rules = schema["$defs"]["Rule"]["oneOf"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
}
