//! How each line cco-stats writes to stderr for people begins: warnings (the `log`
//! backend), errors, pass summaries, `watch`'s start lines. One place, so that every line
//! of a run begins alike.
//!
//! A line begins `cco-stats: `. For `once` and `watch` writing somewhere other than a
//! terminal (cron's `once 2>> log`, a file a service redirects to), it begins with the
//! local time first, `2026-12-03T15:40:01+01:00 cco-stats: `, so that a log tells when
//! each run happened. The systemd journal stamps its lines itself, so a stderr that is the
//! journal's stream (`JOURNAL_STREAM`) gets no second stamp.

use std::fmt::Display;
use std::io::IsTerminal;
use std::sync::OnceLock;

use jiff::tz::TimeZone;

/// The zone this run's lines are stamped in, if they are: decided once, by
/// `stamp_unless_terminal`.
static STAMPED: OnceLock<Option<TimeZone>> = OnceLock::new();

/// Stamps this run's lines with the time when stderr is a log rather than a person's
/// terminal (see the module doc). Called once, for the commands whose stderr is kept.
pub fn stamp_unless_terminal() {
    let stderr = std::io::stderr();
    let log = !stderr.is_terminal() && !is_journal(&stderr);
    let zone = || crate::model::calendar::zone(None).unwrap_or(TimeZone::UTC);
    let _ = STAMPED.set(log.then(zone));
}

/// The start of a line: `cco-stats: `, after the local time when stamped.
pub fn prefix() -> String {
    match STAMPED.get() {
        Some(Some(zone)) => format!("{} cco-stats: ", stamp(zone)),
        _ => "cco-stats: ".to_string(),
    }
}

/// Writes one line to stderr, after its `prefix`, its text escaped (`visible`): lines name
/// files, models and hosts, shown and never obeyed by the terminal.
pub fn line(text: impl Display) {
    eprintln!("{}{}", prefix(), crate::visible::Shown(text));
}

/// The time now in `zone`, to the second, RFC 3339 with the zone's offset.
fn stamp(zone: &TimeZone) -> String {
    jiff::Timestamp::now()
        .to_zoned_datetime(zone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Whether `stderr` is the systemd journal's stream: systemd names it in `JOURNAL_STREAM`
/// as `device:inode`, and a child that redirected its stderr elsewhere inherits the
/// variable, hence the comparison.
fn is_journal(stderr: &std::io::Stderr) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some(meta) = stderr
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .and_then(|fd| std::fs::File::from(fd).metadata().ok())
    else {
        return false;
    };
    stream.to_string_lossy() == format!("{}:{}", meta.dev(), meta.ino())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_time_reads_as_rfc3339_to_the_second() {
        let now = super::stamp(&jiff::tz::TimeZone::UTC);
        assert!(
            jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%:z", &now).is_ok(),
            "{now}"
        );
    }
}
