//! Log timestamps: UTC wall-clock time as the CRI log format writes it (RFC 3339 with
//! nanoseconds, `2026-12-04T17:53:09.123456789Z`).
//!
//! [`LogTime::format_into`] runs in the monitor (see `child/logwrite.rs`): no allocation, no
//! locks, no libc time functions (they take locks and read the time zone).

/// A point in time: seconds and nanoseconds since the Unix epoch (UTC).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds within the second (0..1e9).
    pub nanos: u32,
}

/// Length of a formatted timestamp (always nine fraction digits, always `Z`).
pub const TIME_LEN: usize = 30;

impl LogTime {
    /// The current time (`CLOCK_REALTIME`, a vDSO call: async-signal-safe).
    pub fn now() -> LogTime {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes the timespec on our stack.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        LogTime { secs: ts.tv_sec, nanos: ts.tv_nsec.clamp(0, 999_999_999) as u32 }
    }

    /// Writes the timestamp as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (years 0..=9999; outside
    /// that range the year is clamped). Allocation-free.
    pub fn format_into(self, out: &mut [u8; TIME_LEN]) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (mut y, mut m, mut d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            (y, m, d) = if y < 0 { (0, 1, 1) } else { (9999, 12, 31) };
        }
        let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
        digits(&mut out[0..4], y as u64);
        out[4] = b'-';
        digits(&mut out[5..7], m as u64);
        out[7] = b'-';
        digits(&mut out[8..10], d as u64);
        out[10] = b'T';
        digits(&mut out[11..13], hh as u64);
        out[13] = b':';
        digits(&mut out[14..16], mm as u64);
        out[16] = b':';
        digits(&mut out[17..19], ss as u64);
        out[19] = b'.';
        digits(&mut out[20..29], self.nanos.min(999_999_999) as u64);
        out[29] = b'Z';
    }
}

impl std::fmt::Display for LogTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut b = [0u8; TIME_LEN];
        self.format_into(&mut b);
        // The buffer holds ASCII digits and separators only.
        f.write_str(std::str::from_utf8(&b).map_err(|_| std::fmt::Error)?)
    }
}

/// Formats `t` as the log files write it.
pub fn format_time(t: LogTime) -> String {
    t.to_string()
}

/// Why a timestamp did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTime(pub String);

impl std::fmt::Display for BadTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not an RFC 3339 timestamp: {:?}", self.0)
    }
}

impl std::error::Error for BadTime {}

/// Parses an RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9
/// digits, then `Z` or `±HH:MM` (what kubelet's, containerd's and our writers produce).
pub fn parse_time(s: &str) -> Result<LogTime, BadTime> {
    let bad = || BadTime(s.chars().take(64).collect());
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, BadTime> {
        let part = &b[r];
        if part.iter().all(u8::is_ascii_digit) {
            Ok(part.iter().fold(0i64, |a, d| a * 10 + i64::from(d - b'0')))
        } else {
            Err(bad())
        }
    };
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return Err(bad());
        }
        nanos = num(start..i)? as u32 * 10u32.pow(9 - n as u32);
    }
    let offset = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return Err(bad()),
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se.min(59) - offset;
    Ok(LogTime { secs, nanos })
}

fn digits(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_time(LogTime { secs: 0, nanos: 0 }), "1970-01-01T00:00:00.000000000Z");
        // 2016-10-06T00:17:09.669794202Z: the example in the CRI log format's design doc.
        assert_eq!(format_time(LogTime { secs: 1_475_713_029, nanos: 669_794_202 }), "2016-10-06T00:17:09.669794202Z");
        assert_eq!(format_time(LogTime { secs: 951_782_400, nanos: 5 }), "2000-02-29T00:00:00.000000005Z");
    }

    #[test]
    fn parses_what_it_formats_and_other_writers_forms() {
        for secs in [-86_400 * 400, -1, 0, 1, 951_782_399, 1_475_713_029, 4_102_444_800, 253_402_300_799] {
            let t = LogTime { secs, nanos: 123_456_789 };
            assert_eq!(parse_time(&format_time(t)), Ok(t), "{secs}");
        }
        // containerd trims trailing zeros; offsets other than Z.
        assert_eq!(parse_time("2016-10-06T00:17:09.6Z"), Ok(LogTime { secs: 1_475_713_029, nanos: 600_000_000 }));
        assert_eq!(parse_time("2016-10-06T02:17:09+02:00"), Ok(LogTime { secs: 1_475_713_029, nanos: 0 }));
        for bad in [
            "",
            "2016-10-06",
            "2016-13-06T00:17:09Z",
            "2016-02-30T00:17:09Z",
            "2016-10-06T00:17:09.Z",
            "2016-10-06T00:17:09.1234567890Z",
            "2016-10-06T00:17:09",
            "2016-10-06T00:17:09+0200",
            "２016-10-06T00:17:09Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn now_is_after_this_code_was_written() {
        assert!(LogTime::now().secs > 1_790_000_000);
    }
}
