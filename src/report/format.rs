//! The words, numbers and times that every reporter shows the same way, so the terminal, JUnit and
//! HTML never disagree about what a status is called or how long a job took.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::event::JobStatus;

/// The word a person reads for a status (the JSON keeps `JobStatus::as_str`, which is for machines).
pub fn status_word(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Success => "passed",
        JobStatus::Failed => "failed",
        JobStatus::AllowedFailure => "allowed to fail",
        JobStatus::Skipped => "skipped",
        JobStatus::Manual => "manual",
        JobStatus::Cached => "cached",
        JobStatus::Canceled => "canceled",
    }
}

/// One narrow symbol per status, so a column of them can be scanned without reading the words.
/// All are single-width characters: wide emoji would break the table alignment.
pub fn status_symbol(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Success => "✓",
        JobStatus::Failed => "✗",
        JobStatus::AllowedFailure => "!",
        JobStatus::Skipped => "-",
        JobStatus::Manual => "▷",
        JobStatus::Cached => "↺",
        JobStatus::Canceled => "⊘",
    }
}

/// Every status, in the order counts are listed.
pub const ALL_STATUSES: [JobStatus; 7] = [
    JobStatus::Success,
    JobStatus::Failed,
    JobStatus::AllowedFailure,
    JobStatus::Skipped,
    JobStatus::Manual,
    JobStatus::Cached,
    JobStatus::Canceled,
];

/// A job's duration as shown, or `None` when it has none worth showing: it never ran (skipped,
/// manual), or was canceled before starting, or was taken from the cache without timing.
pub fn shown_duration(result: &crate::event::JobResult) -> Option<String> {
    let never_ran = match result.status {
        JobStatus::Skipped | JobStatus::Manual => true,
        JobStatus::Cached | JobStatus::Canceled => result.duration.is_zero(),
        _ => false,
    };
    (!never_ran).then(|| duration(result.duration))
}

/// `0.4s`, `12.0s`, `3m 05s`, `1h 02m`: precise when short, coarse when long, as people read them.
pub fn duration(d: Duration) -> String {
    let tenths = d.as_millis() / 100;
    if tenths < 600 {
        return format!("{}.{}s", tenths / 10, tenths % 10);
    }
    let secs = d.as_secs();
    if secs < 3600 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

/// Seconds with millisecond precision, as JUnit's `time` attribute wants them.
pub fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// The reason shown next to a job: the scheduler's own words when it gave some, else the exit
/// code of a failure; and the number of attempts when the job was retried.
pub fn reason(result: &crate::event::JobResult) -> Option<String> {
    let failed = matches!(result.status, JobStatus::Failed | JobStatus::AllowedFailure);
    let base = match (&result.reason, result.exit_code) {
        (Some(r), _) => Some(r.clone()),
        (None, Some(code)) if failed => Some(format!("exit code {code}")),
        _ => None,
    };
    let attempts = (result.attempts > 1).then(|| format!("{} attempts", result.attempts));
    match (base, attempts) {
        (Some(b), Some(a)) => Some(format!("{b}; {a}")),
        (b, a) => b.or(a),
    }
}

/// `HH:MM:SS` in local time, for the start of plain progress lines.
pub fn local_clock(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match local_hms(secs) {
        Some((h, m, s)) => format!("{h:02}:{m:02}:{s:02}"),
        None => {
            let day = secs % 86_400;
            format!("{:02}:{:02}:{:02}", day / 3600, (day % 3600) / 60, day % 60)
        }
    }
}

#[cfg(unix)]
fn local_hms(secs: u64) -> Option<(i32, i32, i32)> {
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: `tm` is plain data that localtime_r fills in; both pointers are to live locals, and
    // localtime_r (unlike localtime) keeps no shared buffer, so this is safe from any thread.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    ok.then_some((tm.tm_hour, tm.tm_min, tm.tm_sec))
}

#[cfg(not(unix))]
fn local_hms(_secs: u64) -> Option<(i32, i32, i32)> {
    None
}

/// RFC 3339 in UTC with milliseconds (`2026-05-01T12:00:01.250Z`): sortable as text, the same
/// whatever the machine's time zone, parsed by every language's standard library.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (y, mo, d) = crate::time::civil_from_days((secs / 86_400) as i64);
    let day = secs % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        day / 3600,
        (day % 3600) / 60,
        day % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::ZERO), "0.0s");
        assert_eq!(duration(Duration::from_millis(1249)), "1.2s");
        assert_eq!(duration(Duration::from_millis(59_990)), "59.9s");
        assert_eq!(duration(Duration::from_secs(60)), "1m 00s");
        assert_eq!(duration(Duration::from_secs(185)), "3m 05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h 02m");
        assert_eq!(seconds(Duration::from_millis(1200)), "1.200");
    }

    #[test]
    fn utc_timestamps() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_772_107_201_250);
        assert_eq!(rfc3339_utc(t), "2026-02-26T12:00:01.250Z");
        // A leap day, to check the month arithmetic.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339_utc(t), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn local_clock_is_hh_mm_ss() {
        let s = local_clock(SystemTime::now());
        assert_eq!(s.len(), 8);
        assert_eq!(&s[2..3], ":");
    }
}
