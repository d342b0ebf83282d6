//! The services in force at this station: the county's catalog when one was pulled, else the
//! definitions shipped with the firmware; and the county's parameters (e.g. the elderly-card
//! age threshold) that validation uses.
//!
//! A county definition that does not pass the domain's checks is skipped with a log line and
//! the shipped one of the same id stays in force: a bad push must never take a service away.

use std::collections::BTreeMap;

use kiosk_domain::definition::{self, ServiceDefinition};
use store_and_forward::Outbox;

#[derive(Clone, Debug)]
pub struct Catalog {
    pub services: Vec<ServiceDefinition>,
    /// County overrides of definition parameters.
    pub params: BTreeMap<String, i64>,
}

impl Catalog {
    /// The shipped definitions, no county parameters.
    pub fn builtin() -> Catalog {
        Catalog {
            services: definition::builtin(),
            params: BTreeMap::new(),
        }
    }

    /// What the outbox holds from the county, over the shipped definitions.
    pub fn load(outbox: &Outbox) -> Catalog {
        match outbox.catalog() {
            Ok(Some((_, body))) => Catalog::from_county_json(&body),
            Ok(None) => Catalog::builtin(),
            Err(e) => {
                tracing::error!(error = %e, "the stored catalog cannot be read; using the shipped services");
                Catalog::builtin()
            }
        }
    }

    /// The county's catalog (`county_api::Catalog` as JSON) over the shipped definitions.
    pub fn from_county_json(body: &str) -> Catalog {
        let mut catalog = Catalog::builtin();
        let county: county_api::Catalog = match serde_json::from_str(body) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "the stored catalog is not readable; using the shipped services");
                return catalog;
            }
        };
        for value in county.services {
            let parsed = serde_json::to_string(&value)
                .map_err(|e| e.to_string())
                .and_then(|json| definition::parse(&json).map_err(|e| e.to_string()));
            match parsed {
                Ok(def) => match catalog.services.iter_mut().find(|d| d.id == def.id) {
                    Some(slot) => *slot = def,
                    None => catalog.services.push(def),
                },
                Err(e) => tracing::warn!(error = %e, "a county service definition was refused"),
            }
        }
        catalog.params = county.params;
        catalog
    }

    pub fn service(&self, id: &str) -> Option<&ServiceDefinition> {
        self.services.iter().find(|d| d.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn county_params_apply_and_a_bad_definition_keeps_the_shipped_one() {
        let mut revised =
            serde_json::to_value(Catalog::builtin().service("elderly-card").unwrap().clone())
                .unwrap();
        revised["version"] = 7.into();
        let body = serde_json::json!({
            "version": 3,
            "services": [revised, {"format": 1, "id": "broken"}],
            "params": {"min_age": 65},
        });
        let c = Catalog::from_county_json(&body.to_string());
        assert_eq!(c.service("elderly-card").unwrap().version, 7);
        assert!(c.service("birth-permit").is_some());
        assert!(c.service("broken").is_none());
        assert_eq!(c.params.get("min_age"), Some(&65));
        let garbage = Catalog::from_county_json("not json");
        assert_eq!(garbage.services.len(), Catalog::builtin().services.len());
    }
}
