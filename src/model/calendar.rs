//! Dates and time zones: turning `--since`/`--until` into UTC instants and UTC instants
//! into the local day they fall on. All of it goes through jiff's IANA database, so DST
//! and half-hour zones are right.

use std::path::Path;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// `2026-02-10` or `20260210`.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let iso = match text.len() {
        8 if text.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..])
        }
        _ => text.to_string(),
    };
    iso.parse::<Date>()
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD or YYYYMMDD)"))
}

/// The zone named by `--timezone`, or the system's.
pub fn zone(name: Option<&str>) -> Result<TimeZone> {
    if let Some(zone) = zone_file(name) {
        return Ok(zone);
    }
    match name {
        Some(name) => TimeZone::get(name).with_context(|| {
            format!("unknown time zone {name:?} (an IANA name such as Europe/Berlin)")
        }),
        None => Ok(TimeZone::system()),
    }
}

/// The zone read straight from its TZif file, when the usual layout makes that plain: the
/// file `/usr/share/zoneinfo/<name>` (or under `$TZDIR`), or for the system's zone the
/// `/etc/localtime` link into it with `TZ` unset. jiff's database first lists every file
/// of the zoneinfo tree (37% of a status line's instructions); anything unusual (a `TZ`
/// rule, a copied `/etc/localtime`, a name in another case) goes through jiff instead.
fn zone_file(name: Option<&str>) -> Option<TimeZone> {
    let dir = std::env::var_os("TZDIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| "/usr/share/zoneinfo".into(), std::path::PathBuf::from);
    let name = match name {
        Some(name) => name.to_string(),
        None if std::env::var_os("TZ").is_some() => return None,
        None => {
            // systemd writes the link relative (`../usr/share/zoneinfo/Europe/Berlin`).
            let link = Path::new("/etc").join(std::fs::read_link("/etc/localtime").ok()?);
            let target = std::fs::canonicalize(link).ok()?;
            let dir = std::fs::canonicalize(&dir).ok()?;
            target.strip_prefix(dir).ok()?.to_str()?.to_string()
        }
    };
    let plain = name.split('/').all(|part| {
        !part.is_empty()
            && !part.starts_with('.')
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))
    });
    if !plain {
        return None;
    }
    let data = std::fs::read(dir.join(&name)).ok()?;
    TimeZone::tzif(&name, &data).ok()
}

/// The UTC range `[since, until + 1 day)` in milliseconds, for dates in `zone`.
pub fn range_ms(
    since: Option<Date>,
    until: Option<Date>,
    zone: &TimeZone,
) -> Result<(Option<i64>, Option<i64>)> {
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        bail!("--since {s} is after --until {u}");
    }
    let since_ms = since.map(|d| day_start_ms(d, zone)).transpose()?;
    let until_ms = until
        .map(|d| day_start_ms(d.tomorrow()?, zone))
        .transpose()?;
    Ok((since_ms, until_ms))
}

/// The UTC instant, in milliseconds, where `date` starts in `zone`.
pub fn day_start_ms(date: Date, zone: &TimeZone) -> Result<i64> {
    Ok(date
        .to_zoned_datetime(zone.clone())?
        .timestamp()
        .as_millisecond())
}

/// The local date (`YYYY-MM-DD`) of a UTC instant in milliseconds.
pub fn local_date(ms: i64, zone: &TimeZone) -> Date {
    Timestamp::from_millisecond(ms)
        .map(|ts| ts.to_zoned_datetime(zone.clone()).date())
        .unwrap_or_default()
}

/// The day the week holding `date` starts on (Sunday- or Monday-based).
pub fn week_start(date: Date, monday: bool) -> Date {
    let since_start = if monday {
        date.weekday().to_monday_zero_offset()
    } else {
        date.weekday().to_sunday_zero_offset()
    };
    date.checked_sub(jiff::Span::new().days(i64::from(since_start)))
        .unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_read_from_their_files_equal_jiffs() {
        for name in ["Europe/Berlin", "Asia/Kolkata", "America/New_York", "UTC"] {
            let ours = zone_file(Some(name)).expect("the zoneinfo file");
            let jiffs = TimeZone::get(name).unwrap();
            assert_eq!(ours.iana_name(), Some(name));
            for at in [0, 1_700_000_000_000, 1_711_846_800_000, 1_730_000_000_000] {
                let ts = Timestamp::from_millisecond(at).unwrap();
                assert_eq!(ours.to_offset(ts), jiffs.to_offset(ts), "{name} at {at}");
            }
        }
        assert!(zone_file(Some("../../etc/passwd")).is_none());
        assert!(zone("Not/AZone".into()).is_err());
    }

    #[test]
    fn both_date_spellings() {
        assert_eq!(
            parse_date("2026-02-10").unwrap(),
            parse_date("20260210").unwrap()
        );
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("yesterday").is_err());
    }

    #[test]
    fn ranges_follow_the_zone() {
        let kolkata = zone(Some("Asia/Kolkata")).unwrap();
        let day = parse_date("2026-02-10").unwrap();
        let (since, until) = range_ms(Some(day), Some(day), &kolkata).unwrap();
        // Midnight in Kolkata is 18:30 UTC the day before.
        assert_eq!(
            since.unwrap(),
            "2026-02-09T18:30:00Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_millisecond()
        );
        assert_eq!(until.unwrap() - since.unwrap(), 86_400_000);
        assert!(range_ms(Some(day), Some(parse_date("2026-02-01").unwrap()), &kolkata).is_err());
    }

    #[test]
    fn dst_day_is_23_hours() {
        let ny = zone(Some("America/New_York")).unwrap();
        let day = parse_date("2026-03-08").unwrap();
        let (since, until) = range_ms(Some(day), Some(day), &ny).unwrap();
        assert_eq!(until.unwrap() - since.unwrap(), 23 * 3_600_000);
    }

    #[test]
    fn weeks_start_on_sunday_or_monday() {
        let wednesday = parse_date("2026-02-11").unwrap();
        assert_eq!(week_start(wednesday, false).to_string(), "2026-02-08");
        assert_eq!(week_start(wednesday, true).to_string(), "2026-02-09");
        let sunday = parse_date("2026-02-08").unwrap();
        assert_eq!(week_start(sunday, false), sunday);
        assert_eq!(week_start(sunday, true).to_string(), "2026-02-02");
    }

    #[test]
    fn unknown_zone_is_named() {
        let err = zone(Some("Mars/Olympus")).unwrap_err();
        assert!(format!("{err:#}").contains("Mars/Olympus"));
    }
}
