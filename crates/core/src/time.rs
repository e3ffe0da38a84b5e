//! Capture timestamps with nanosecond resolution.

use serde::{Serialize, Serializer};

/// Nanoseconds since the Unix epoch, as read from the capture (never the wall clock).
///
/// Microsecond captures are scaled up, so that comparisons between files of
/// different resolutions stay exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);
    pub const NANOS_PER_SEC: i64 = 1_000_000_000;

    /// Builds a timestamp from whole seconds and a sub-second part in `units_per_sec` units.
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Timestamp {
        let nanos = if units_per_sec == 1_000_000_000 {
            frac as i64
        } else if units_per_sec == 0 {
            0
        } else {
            ((frac as u128 * 1_000_000_000u128) / units_per_sec as u128) as i64
        };
        Timestamp(
            secs.saturating_mul(Self::NANOS_PER_SEC)
                .saturating_add(nanos),
        )
    }

    pub fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(Self::NANOS_PER_SEC))
    }

    pub fn secs(self) -> i64 {
        self.0.div_euclid(Self::NANOS_PER_SEC)
    }

    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(Self::NANOS_PER_SEC) as u32
    }

    /// Saturating difference `self - earlier` in nanoseconds.
    pub fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn add_nanos(self, n: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(n))
    }

    /// RFC 3339 in UTC with nanosecond precision, e.g. `2024-01-02T03:04:05.123456789Z`.
    pub fn to_rfc3339(self) -> String {
        let mut s = String::with_capacity(30);
        self.write_rfc3339(&mut s);
        s
    }

    /// Appends the RFC 3339 form to `out` without allocating beyond `out`'s growth.
    pub fn write_rfc3339(self, out: &mut String) {
        use std::fmt::Write;
        let secs = self.secs();
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let _ = write!(
            out,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            self.subsec_nanos()
        );
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// The classic era-based algorithm (H. Hinnant, "chrono-compatible low-level date algorithms").
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000000000Z");
        // 2000-02-29 (leap day) 12:34:56.000001 UTC
        let t = Timestamp::from_parts(951_827_696, 1, 1_000_000);
        assert_eq!(t.to_rfc3339(), "2000-02-29T12:34:56.000001000Z");
        let t = Timestamp::from_parts(1_700_000_000, 123_456_789, 1_000_000_000);
        assert_eq!(t.to_rfc3339(), "2023-11-14T22:13:20.123456789Z");
        // Before the epoch.
        assert_eq!(Timestamp(-1).to_rfc3339(), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn resolution_scaling() {
        assert_eq!(Timestamp::from_parts(1, 5, 1_000_000).0, 1_000_005_000);
        assert_eq!(Timestamp::from_parts(1, 5, 1_000_000_000).0, 1_000_000_005);
        assert_eq!(Timestamp::from_parts(1, 1, 10).0, 1_100_000_000);
    }
}
