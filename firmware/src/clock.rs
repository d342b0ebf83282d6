//! The station's clock. A Raspberry Pi 4 has no real-time clock: after a power cut the
//! system time may be far behind until the link (NTP or the county) returns.
//!
//! The daemon persists the last time it knew (`DATA_DIR/clock`, written atomically once a
//! minute), so a clock that went backwards is noticed; [`assess`] is the pure judgement
//! `kiosk selftest` reports. The remembered time itself never moves backwards.

use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// No clock reading before this can be right: this software did not exist yet.
pub const NOT_BEFORE: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);

/// How far behind the last known time the clock may be before it counts as wrong (the file
/// is written once a minute, so a minute's gap is normal).
const SLACK: Duration = Duration::minutes(2);

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("clock")
}

/// The last time this station knew, if it ever wrote one.
pub fn last_known(data_dir: &Path) -> Option<OffsetDateTime> {
    let text = std::fs::read_to_string(path(data_dir)).ok()?;
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
}

/// Remember `now` as the last known time (never moving it backwards).
pub fn remember(data_dir: &Path, now: OffsetDateTime) -> std::io::Result<()> {
    let keep = match last_known(data_dir) {
        Some(t) if t > now => t,
        _ => now,
    };
    let text = keep.format(&Rfc3339).map_err(std::io::Error::other)?;
    crate::station::write_atomic(&path(data_dir), format!("{text}\n").as_bytes())
}

/// What `selftest` says of the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Plausible,
    /// Before this software existed: the clock was never set since the power came back.
    NeverSet,
    /// Behind the last time this station knew, by this much.
    WentBack(Duration),
    /// Off from the county's clock (its last answer) by this many seconds (county − ours).
    OffFromCounty(i64),
}

/// How far from the county's clock ours may be before ages and deadlines are at risk.
pub const MAX_COUNTY_OFFSET_SECS: i64 = 5 * 60;

/// `county_offset`: county minus station, in seconds, from the last answer (HTTP `Date`).
pub fn assess(
    system: OffsetDateTime,
    last_known: Option<OffsetDateTime>,
    county_offset: Option<i64>,
) -> Verdict {
    if system < NOT_BEFORE {
        return Verdict::NeverSet;
    }
    match (last_known, county_offset) {
        (Some(t), _) if system + SLACK < t => Verdict::WentBack(t - system),
        (_, Some(off)) if off.abs() > MAX_COUNTY_OFFSET_SECS => Verdict::OffFromCounty(off),
        _ => Verdict::Plausible,
    }
}

/// How sure this station is of `system` for an application captured now: what the county
/// is told with it (`SubmitApplication::clock`). Pure: the remembered time and the county's
/// last clock reading (offset, when) are passed in.
pub fn note(
    system: OffsetDateTime,
    last_known: Option<OffsetDateTime>,
    county: Option<(i64, OffsetDateTime)>,
) -> county_api::ClockNote {
    use county_api::ClockConfidence as C;
    let confidence = match assess(system, last_known, county.map(|(o, _)| o)) {
        Verdict::Plausible if county.is_some() => C::Checked,
        Verdict::Plausible => C::Unchecked,
        Verdict::NeverSet | Verdict::WentBack(_) | Verdict::OffFromCounty(_) => C::Doubtful,
    };
    county_api::ClockNote {
        confidence,
        county_offset_secs: county.map(|(o, _)| o),
        compared_at: county.and_then(|(_, at)| at.format(&Rfc3339).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

    #[test]
    fn verdicts() {
        assert_eq!(assess(NOW, None, None), Verdict::Plausible);
        let days_ago = Some(NOW - Duration::days(3));
        assert_eq!(assess(NOW, days_ago, Some(-3)), Verdict::Plausible);
        let a_minute_ahead = Some(NOW + Duration::minutes(1));
        assert_eq!(assess(NOW, a_minute_ahead, None), Verdict::Plausible);
        assert_eq!(
            assess(NOW, Some(NOW + Duration::hours(5)), None),
            Verdict::WentBack(Duration::hours(5))
        );
        let epoch = datetime!(1970-01-01 00:00 UTC);
        assert_eq!(assess(epoch, Some(NOW), None), Verdict::NeverSet);
        assert_eq!(assess(NOW, None, Some(300)), Verdict::Plausible);
        assert_eq!(assess(NOW, None, Some(-301)), Verdict::OffFromCounty(-301));
        assert_eq!(assess(NOW, None, Some(7200)), Verdict::OffFromCounty(7200));
    }

    #[test]
    fn remembered_time_survives_and_never_moves_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(last_known(dir.path()), None);
        remember(dir.path(), NOW).unwrap();
        assert_eq!(last_known(dir.path()), Some(NOW));
        remember(dir.path(), NOW - Duration::hours(1)).unwrap();
        assert_eq!(last_known(dir.path()), Some(NOW));
        remember(dir.path(), NOW + Duration::hours(1)).unwrap();
        assert_eq!(last_known(dir.path()), Some(NOW + Duration::hours(1)));
    }

    #[test]
    fn each_capture_says_how_sure_its_time_is() {
        use county_api::ClockConfidence as C;
        let seen = NOW - Duration::hours(2);
        assert_eq!(note(NOW, None, None).confidence, C::Unchecked);
        let checked = note(NOW, Some(NOW), Some((3, seen)));
        assert_eq!(checked.confidence, C::Checked);
        assert_eq!(checked.county_offset_secs, Some(3));
        assert_eq!(checked.compared_at.as_deref(), Some("2026-11-25T06:00:00Z"));
        assert_eq!(note(NOW, None, Some((900, seen))).confidence, C::Doubtful);
        let after_power_cut = datetime!(2020-01-01 00:00 UTC);
        assert_eq!(
            note(after_power_cut, Some(NOW), None).confidence,
            C::Doubtful
        );
        assert_eq!(
            note(NOW - Duration::hours(1), Some(NOW), Some((0, seen))).confidence,
            C::Doubtful,
            "behind the remembered time"
        );
    }
}
