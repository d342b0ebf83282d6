//! The service catalog the county publishes (`county catalog publish`) and serves
//! (`GET /v1/catalog`), and the definitions intake validates against.
//!
//! A publication is a JSON file: either one service definition (a document with `format`,
//! like `domain/services/elderly-card.json`), or an object
//! `{"services": [definition, …], "params": {"min_age": 65}}` with either key optional.
//! It is checked as a whole before anything is stored; one problem refuses the file:
//!
//! - "against the schema": each definition goes through [`kiosk_domain::definition::parse`],
//!   the strict typed reading (`deny_unknown_fields`, the types `docs/service-definition.
//!   schema.json` is generated from) plus the domain's consistency checks — the very reading
//!   a station does when it pulls the catalog (firmware `Catalog::from_county_json`), so what
//!   the county accepts no station refuses;
//! - a service appears once in the file; a revision's `version` is above the one in force
//!   (the published one, else the built-in one); the same version with the same content is
//!   "unchanged", with other content refused;
//! - every parameter is one a service in force declares (a typo would otherwise do nothing).
//!
//! Services not in the file stay in force: a publication adds or revises, it never removes,
//! so no service vanishes from the stations by omission. `params`, when present, replaces
//! the county's parameters as a whole (an empty object goes back to the defaults).
//!
//! Stored: each accepted publication is a row of `catalog` (the next version, the body
//! stations get, the parameters alone) and one row of `service_revisions` per new revision.
//! Revisions are never deleted: intake accepts an application captured under any revision the
//! county ever published (or the built-in one), so records waiting in a station's outbox
//! when a revision is published are still taken.
//!
//! Version 1 is the empty catalog the county served before anything was published; the
//! first publication is version 2, so a station holding version 1 sees a new ETag.

use std::collections::BTreeMap;

use county_api::Catalog;
use kiosk_domain::definition::{self, ServiceDefinition};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Deserialize;

use crate::CountyError;

/// The built-in definitions, parsed once (intake looks them up on every submission).
static BUILTIN: std::sync::LazyLock<Vec<ServiceDefinition>> =
    std::sync::LazyLock::new(kiosk_domain::builtin);

/// The catalog version served while nothing is published.
pub(crate) const EMPTY_VERSION: u64 = 1;

/// The catalog tables (migration 6; named V5 when written, before the self-tests took 5).
pub(crate) const V5_CATALOG: &str = "
CREATE TABLE catalog (
    version       INTEGER PRIMARY KEY,
    published_at  TEXT NOT NULL,
    published_by  TEXT NOT NULL,
    -- The county_api::Catalog JSON stations get.
    body          TEXT NOT NULL,
    -- Its params alone (JSON object), for intake.
    params        TEXT NOT NULL
) STRICT;
CREATE TABLE service_revisions (
    service          TEXT NOT NULL,
    version          INTEGER NOT NULL,
    definition       TEXT NOT NULL,
    catalog_version  INTEGER NOT NULL REFERENCES catalog(version),
    PRIMARY KEY (service, version)
) STRICT;
";

/// The publication file's object form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Publication {
    #[serde(default)]
    services: Vec<serde_json::Value>,
    params: Option<BTreeMap<String, i64>>,
}

/// What `county catalog publish` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Published {
    /// A new catalog version: the revisions it brought (service id, version) and whether the
    /// parameters changed.
    New {
        version: u64,
        revisions: Vec<(String, u32)>,
        params_changed: bool,
    },
    /// Everything in the file is already in force; the catalog stays at this version.
    Unchanged { version: u64 },
}

/// The version of the catalog in force (a station's poll compares it with its ETag; one
/// lookup on the primary key).
pub(crate) fn current_version(conn: &Connection) -> Result<u64, CountyError> {
    let version: Option<i64> = conn
        .prepare_cached("SELECT MAX(version) FROM catalog")?
        .query_row([], |row| row.get(0))?;
    Ok(version.map_or(EMPTY_VERSION, |v| u64::try_from(v).unwrap_or(EMPTY_VERSION)))
}

/// The catalog in force as stations get it, as its stored JSON text, with its version.
pub(crate) fn current_json(conn: &Connection) -> Result<(u64, String), CountyError> {
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT version, body FROM catalog ORDER BY version DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    match row {
        Some((version, body)) => Ok((u64::try_from(version).unwrap_or(EMPTY_VERSION), body)),
        None => {
            let empty = serde_json::to_string(&current(conn)?)
                .map_err(|e| CountyError::Corrupt(format!("cannot serialise the catalog: {e}")))?;
            Ok((EMPTY_VERSION, empty))
        }
    }
}

/// The catalog in force as stations get it (version 1 and empty when nothing is published).
pub(crate) fn current(conn: &Connection) -> Result<Catalog, CountyError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM catalog ORDER BY version DESC LIMIT 1")?
        .query_row([], |row| row.get(0))
        .optional()?;
    match body {
        None => Ok(Catalog {
            version: EMPTY_VERSION,
            services: Vec::new(),
            params: BTreeMap::new(),
        }),
        Some(body) => serde_json::from_str(&body)
            .map_err(|e| CountyError::Corrupt(format!("the stored catalog is unreadable: {e}"))),
    }
}

/// The definitions in force: the built-in ones, each replaced by its latest published
/// revision, then services only the county publishes.
pub(crate) fn in_force(catalog: &Catalog) -> Result<Vec<ServiceDefinition>, CountyError> {
    let mut services = BUILTIN.clone();
    for value in &catalog.services {
        let def: ServiceDefinition = serde_json::from_value(value.clone()).map_err(|e| {
            CountyError::Corrupt(format!("a stored service definition is unreadable: {e}"))
        })?;
        match services.iter_mut().find(|d| d.id == def.id) {
            Some(slot) => *slot = def,
            None => services.push(def),
        }
    }
    Ok(services)
}

fn refused(zh: impl std::fmt::Display, en: impl std::fmt::Display) -> CountyError {
    CountyError::InvalidInput(format!("{zh} / {en}"))
}

/// A publication file read and checked on its own: its definitions (each through the schema
/// and the domain's checks, no id twice) and its parameters.
pub(crate) struct Checked {
    pub services: Vec<ServiceDefinition>,
    pub params: Option<BTreeMap<String, i64>>,
}

/// Read a publication file's text and check what can be checked without the catalog in
/// force; [`store_publication`] checks the rest and stores it.
pub(crate) fn parse_publication(text: &str) -> Result<Checked, CountyError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        refused(
            format!("文件不是合法的 JSON（{e}）"),
            format!("the file is not valid JSON ({e})"),
        )
    })?;
    let publication = if value.get("format").is_some() {
        Publication {
            services: vec![value],
            params: None,
        }
    } else {
        serde_json::from_value::<Publication>(value).map_err(|e| {
            refused(
                format!(
                    "文件应是一份服务定义，或 {{\"services\": [...], \"params\": {{...}}}}（{e}）"
                ),
                format!(
                    "the file must be one service definition or \
                     {{\"services\": [...], \"params\": {{...}}}} ({e})"
                ),
            )
        })?
    };
    if publication.services.is_empty() && publication.params.is_none() {
        return Err(refused(
            "文件里没有服务定义，也没有参数",
            "the file has neither service definitions nor params",
        ));
    }
    let mut incoming = Vec::new();
    for (n, value) in publication.services.iter().enumerate() {
        let id = value.get("id").and_then(|v| v.as_str());
        let name_zh = id.map(|id| format!("（{id}）")).unwrap_or_default();
        let name = id.map(|id| format!(" ({id})")).unwrap_or_default();
        let def = definition::parse(&value.to_string()).map_err(|e| {
            refused(
                format!(
                    "第 {} 个服务定义{name_zh}不符合服务定义格式（docs/service-definition.schema.json）",
                    n + 1
                ),
                format!(
                    "service definition {}{name} does not pass the definition schema and \
                     checks: {e}",
                    n + 1
                ),
            )
        })?;
        if incoming.iter().any(|d: &ServiceDefinition| d.id == def.id) {
            return Err(refused(
                format!("服务 {} 在文件里出现了两次", def.id),
                format!("service {} appears twice in the file", def.id),
            ));
        }
        incoming.push(def);
    }
    Ok(Checked {
        services: incoming,
        params: publication.params,
    })
}

/// Store checked definitions and/or parameters as the next catalog version, all in one
/// transaction (nothing is stored when refused): a revision must raise the version in
/// force, a parameter must belong to a service in force; nothing new is `Unchanged`.
pub(crate) fn store_publication(
    conn: &mut Connection,
    incoming: Vec<ServiceDefinition>,
    params: Option<BTreeMap<String, i64>>,
    by: &str,
    now: &str,
) -> Result<Published, CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let catalog = current(&tx)?;
    let mut services = in_force(&catalog)?;
    let mut published: Vec<serde_json::Value> = catalog.services.clone();
    let mut revisions = Vec::new();
    for def in incoming {
        let existing = services.iter().position(|d| d.id == def.id);
        if let Some(i) = existing {
            let old = &services[i];
            if old.version == def.version && *old == def {
                continue;
            }
            if def.version <= old.version {
                return Err(refused(
                    format!(
                        "服务 {} 现行第 {} 版，修订须用更高的版本号（文件中为第 {} 版）",
                        def.id, old.version, def.version
                    ),
                    format!(
                        "service {} is at revision {} in force; a revision needs a higher \
                         version (the file has {})",
                        def.id, old.version, def.version
                    ),
                ));
            }
        }
        let value = serde_json::to_value(&def)
            .map_err(|e| CountyError::Corrupt(format!("cannot serialise a definition: {e}")))?;
        match published
            .iter_mut()
            .find(|v| v.get("id").and_then(|id| id.as_str()) == Some(def.id.as_str()))
        {
            Some(slot) => *slot = value,
            None => published.push(value),
        }
        revisions.push((def.id.clone(), def.version));
        match existing {
            Some(i) => services[i] = def,
            None => services.push(def),
        }
    }
    let params = params.unwrap_or_else(|| catalog.params.clone());
    for name in params.keys() {
        if !services.iter().any(|d| d.params.contains_key(name)) {
            return Err(refused(
                format!("没有哪项服务有参数 {name}"),
                format!("no service in force has a parameter {name:?}"),
            ));
        }
    }
    let params_changed = params != catalog.params;
    if revisions.is_empty() && !params_changed {
        return Ok(Published::Unchanged {
            version: catalog.version,
        });
    }
    let version = catalog.version + 1;
    let next = Catalog {
        version,
        services: published,
        params,
    };
    let body = serde_json::to_string(&next)
        .map_err(|e| CountyError::Corrupt(format!("cannot serialise the catalog: {e}")))?;
    let params_json = serde_json::to_string(&next.params)
        .map_err(|e| CountyError::Corrupt(format!("cannot serialise params: {e}")))?;
    let sql_version = i64::try_from(version).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO catalog (version, published_at, published_by, body, params)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![sql_version, now, by, body, params_json],
    )?;
    for (id, rev) in &revisions {
        let Some(def) = services.iter().find(|d| &d.id == id) else {
            return Err(CountyError::Corrupt(format!(
                "revision {rev} of {id} went missing"
            )));
        };
        let text = serde_json::to_string(def)
            .map_err(|e| CountyError::Corrupt(format!("cannot serialise a definition: {e}")))?;
        tx.execute(
            "INSERT INTO service_revisions (service, version, definition, catalog_version)
             VALUES (?1, ?2, ?3, ?4)",
            params![id, rev, text, sql_version],
        )?;
    }
    tx.execute(
        "INSERT INTO audit (at, actor, action, application_id, detail)
         VALUES (?1, ?2, 'catalog_publish', NULL, ?3)",
        params![
            now,
            format!("clerk:{by}"),
            format!("catalog version {version}")
        ],
    )?;
    tx.commit()?;
    Ok(Published::New {
        version,
        revisions,
        params_changed,
    })
}

/// The definition of revision `version` of service `id`, if the county ever had it (built
/// in or published).
pub(crate) fn revision(
    conn: &Connection,
    id: &str,
    version: u32,
) -> Result<Option<ServiceDefinition>, CountyError> {
    let stored: Option<String> = conn
        .prepare_cached(
            "SELECT definition FROM service_revisions WHERE service = ?1 AND version = ?2",
        )?
        .query_row(params![id, version], |row| row.get(0))
        .optional()?;
    if let Some(text) = stored {
        return serde_json::from_str(&text).map(Some).map_err(|e| {
            CountyError::Corrupt(format!(
                "stored revision {version} of {id} is unreadable: {e}"
            ))
        });
    }
    Ok(BUILTIN
        .iter()
        .find(|d| d.id == id && d.version == version)
        .cloned())
}

/// Every revision of service `id` the county knows, ascending (empty: an unknown service).
pub(crate) fn versions(conn: &Connection, id: &str) -> Result<Vec<u32>, CountyError> {
    let mut versions: Vec<u32> = conn
        .prepare_cached("SELECT version FROM service_revisions WHERE service = ?1")?
        .query_map([id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    versions.extend(BUILTIN.iter().filter(|d| d.id == id).map(|d| d.version));
    versions.sort_unstable();
    versions.dedup();
    Ok(versions)
}

/// The ids of every service the county takes (built in or published).
pub(crate) fn service_ids(conn: &Connection) -> Result<Vec<String>, CountyError> {
    let mut ids: Vec<String> = conn
        .prepare_cached("SELECT DISTINCT service FROM service_revisions")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    ids.extend(BUILTIN.iter().map(|d| d.id.clone()));
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Every set of county parameters that has been in force, newest first, ending with the
/// definitions' defaults (an empty map).
pub(crate) fn param_sets(conn: &Connection) -> Result<Vec<BTreeMap<String, i64>>, CountyError> {
    let texts: Vec<String> = conn
        .prepare_cached("SELECT params FROM catalog ORDER BY version DESC")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut sets: Vec<BTreeMap<String, i64>> = Vec::new();
    for text in texts.iter().map(String::as_str).chain(["{}"]) {
        let set: BTreeMap<String, i64> = serde_json::from_str(text)
            .map_err(|e| CountyError::Corrupt(format!("stored params are unreadable: {e}")))?;
        if !sets.contains(&set) {
            sets.push(set);
        }
    }
    Ok(sets)
}

/// One row of `county catalog show`.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishedInfo {
    /// The catalog version stations get.
    pub version: u64,
    /// When and by whom it was published (`None` for the empty version 1).
    pub published_at: Option<String>,
    pub published_by: Option<String>,
    /// The services in force: id, version, title (zh, en), and whether it is published by
    /// the county (else built in).
    pub services: Vec<(String, u32, String, String, bool)>,
    pub params: BTreeMap<String, i64>,
    /// The catalog as stations get it.
    pub catalog: Catalog,
}

pub(crate) fn show(conn: &Connection) -> Result<PublishedInfo, CountyError> {
    let catalog = current(conn)?;
    let meta: Option<(String, String)> = conn
        .query_row(
            "SELECT published_at, published_by FROM catalog ORDER BY version DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let published_ids: Vec<String> = catalog
        .services
        .iter()
        .filter_map(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned))
        .collect();
    let services = in_force(&catalog)?
        .into_iter()
        .map(|d| {
            let published = published_ids.contains(&d.id);
            (
                d.id,
                d.version,
                d.title.zh.clone(),
                d.title.en.clone(),
                published,
            )
        })
        .collect();
    Ok(PublishedInfo {
        version: catalog.version,
        published_at: meta.as_ref().map(|m| m.0.clone()),
        published_by: meta.map(|m| m.1),
        services,
        params: catalog.params.clone(),
        catalog,
    })
}
