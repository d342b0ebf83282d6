//! The stations' self-tests (`POST /v1/selftest`): the latest report of each station, shown
//! on the clerks' station dashboard so the county sees a village whose reader or printer
//! is failing before the villagers complain.
//!
//! Only the newest report (by the station's `checked_at`) is kept; an older one arriving
//! late (a retry after a lost answer) changes nothing. Reports carry no personal data.

use county_api::{SelftestCheck, SelftestReport};
use rusqlite::{Connection, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{ApiError, CountyError};

/// Migration 5: the latest self-test of each station.
pub(crate) const V5_STATION_SELFTESTS: &str = "
CREATE TABLE station_selftests (
    station_id  TEXT PRIMARY KEY REFERENCES stations(id),
    -- The station's clock when the checks ran, normalised to UTC (RFC 3339).
    checked_at  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    ok          INTEGER NOT NULL,
    -- The report as received (JSON of county_api::SelftestReport).
    report      TEXT NOT NULL
);";

/// Limits on what a station may send: a report is a handful of short lines.
const MAX_CHECKS: usize = 32;
const MAX_TEXT: usize = 2_000;

/// Check a report before it is stored; its `checked_at` in UTC.
pub(crate) fn check(report: &SelftestReport) -> Result<OffsetDateTime, ApiError> {
    let at = OffsetDateTime::parse(&report.checked_at, &Rfc3339).map_err(|_| {
        ApiError::bad_request(format!(
            "checked_at {:?} is not an RFC 3339 time",
            report.checked_at
        ))
    })?;
    if report.checks.len() > MAX_CHECKS {
        return Err(ApiError::bad_request(format!(
            "{} checks; at most {MAX_CHECKS}",
            report.checks.len()
        )));
    }
    let too_long = |s: &str| s.chars().count() > MAX_TEXT;
    if too_long(&report.version)
        || report.checks.iter().any(|c| {
            too_long(&c.name) || too_long(&c.detail) || c.action.as_deref().is_some_and(too_long)
        })
    {
        return Err(ApiError::bad_request(format!(
            "a text of the report is longer than {MAX_TEXT} characters"
        )));
    }
    if report.ok != report.checks.iter().all(|c| c.ok) {
        return Err(ApiError::bad_request(
            "ok must say whether every check passed",
        ));
    }
    Ok(at.to_offset(time::UtcOffset::UTC))
}

fn utc(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Keep `report` as the station's latest unless a newer one is already kept.
pub(crate) fn record(
    conn: &Connection,
    station: &str,
    report: &SelftestReport,
    checked_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), CountyError> {
    let json = serde_json::to_string(report)
        .map_err(|e| CountyError::Corrupt(format!("cannot encode a self-test: {e}")))?;
    conn.execute(
        "INSERT INTO station_selftests (station_id, checked_at, received_at, ok, report)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (station_id) DO UPDATE SET
             checked_at = excluded.checked_at, received_at = excluded.received_at,
             ok = excluded.ok, report = excluded.report
         WHERE excluded.checked_at >= station_selftests.checked_at",
        params![station, utc(checked_at), utc(now), report.ok, json],
    )?;
    Ok(())
}

/// The latest self-test of a station, as the dashboard shows it.
#[derive(Clone, Debug)]
pub(crate) struct Latest {
    pub checked_at: String,
    pub ok: bool,
    /// The checks that failed, with what to do.
    pub failed: Vec<SelftestCheck>,
}

#[cfg(test)]
pub(crate) fn latest(conn: &Connection, station: &str) -> Result<Option<Latest>, CountyError> {
    use rusqlite::OptionalExtension;
    let row: Option<(String, bool, String)> = conn
        .query_row(
            "SELECT checked_at, ok, report FROM station_selftests WHERE station_id = ?1",
            [station],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((checked_at, ok, json)) = row else {
        return Ok(None);
    };
    let report: SelftestReport = serde_json::from_str(&json)
        .map_err(|e| CountyError::Corrupt(format!("a stored self-test does not read: {e}")))?;
    Ok(Some(Latest {
        checked_at,
        ok,
        failed: report.checks.into_iter().filter(|c| !c.ok).collect(),
    }))
}

/// A dashboard row's self-test columns (`checked_at`, `ok`, `report`; all NULL when the
/// station never sent one). A report that does not read shows as none.
pub(crate) fn from_row(
    checked_at: Option<String>,
    ok: Option<bool>,
    report: Option<String>,
) -> Option<Latest> {
    let report: SelftestReport = serde_json::from_str(&report?).ok()?;
    Some(Latest {
        checked_at: checked_at?,
        ok: ok?,
        failed: report.checks.into_iter().filter(|c| !c.ok).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(at: &str, printer_ok: bool) -> SelftestReport {
        SelftestReport {
            checked_at: at.into(),
            ok: printer_ok,
            version: "0.1.0".into(),
            checks: vec![
                SelftestCheck {
                    name: "reader".into(),
                    ok: true,
                    detail: "读卡器正常 Reader answers".into(),
                    action: None,
                },
                SelftestCheck {
                    name: "printer".into(),
                    ok: printer_ok,
                    detail: "打印机 Printer".into(),
                    action: (!printer_ok).then(|| "装纸 Load paper".into()),
                },
            ],
        }
    }

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrations().to_latest(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO stations (id, name, url, created_at, enrolment_token_sha256)
             VALUES ('st-1', 'a', 'http://x', '2026-11-25T00:00:00Z', '00')",
            [],
        )
        .unwrap();
        conn
    }

    #[test]
    fn the_newest_report_is_kept_and_a_late_older_one_changes_nothing() {
        let conn = db();
        let now = OffsetDateTime::now_utc();
        assert!(latest(&conn, "st-1").unwrap().is_none());
        let failing = report("2026-11-25T09:12:03+08:00", false);
        let at = check(&failing).unwrap();
        record(&conn, "st-1", &failing, at, now).unwrap();
        let l = latest(&conn, "st-1").unwrap().unwrap();
        assert!(!l.ok);
        assert_eq!(l.checked_at, "2026-11-25T01:12:03Z");
        assert_eq!(l.failed.len(), 1);
        assert_eq!(l.failed[0].name, "printer");

        let fixed = report("2026-11-25T10:00:00+08:00", true);
        record(&conn, "st-1", &fixed, check(&fixed).unwrap(), now).unwrap();
        let stale = report("2026-11-25T08:00:00+08:00", false);
        record(&conn, "st-1", &stale, check(&stale).unwrap(), now).unwrap();
        let l = latest(&conn, "st-1").unwrap().unwrap();
        assert!(l.ok, "the older report arrived late and changed nothing");
        assert!(l.failed.is_empty());
    }

    #[test]
    fn malformed_reports_are_refused() {
        let mut r = report("yesterday", true);
        assert!(check(&r).is_err());
        r.checked_at = "2026-11-25T09:12:03Z".into();
        assert!(check(&r).is_ok());
        r.ok = false;
        assert!(check(&r).is_err(), "ok disagrees with the checks");
        r.ok = true;
        r.checks[0].detail = "x".repeat(MAX_TEXT + 1);
        assert!(check(&r).is_err());
    }
}
