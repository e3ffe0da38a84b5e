//! Alert exclusion rules (reference §5.3): detections that match a rule
//! create no alert.
//!
//! A rule has a name (no double quotes), daily time windows in one time zone
//! (a fixed UTC offset), device addresses (IP, MAC or CIDR subnet, each with
//! a direction), alert titles and sensor ids. Conditions are ANDed across
//! fields, values are ORed within a field, and an empty field matches
//! anything. The TOML format is in `docs/alerts.md` ("Exclusion rules").
//!
//! Rules deserialize from their TOML form ([`ExclusionRule`] implements
//! `Deserialize` through validation); [`parse_rules`] reads a whole file and
//! returns an [`ExclusionError`] that names the rule and the field.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use otwatch_core::{MacAddr, Timestamp};
use serde::Deserialize;

use crate::catalog::Catalog;
use crate::detection::Endpoint;

/// A fixed offset from UTC, in seconds east of UTC (`+02:00` is 7200).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct UtcOffset(pub i32);

impl FromStr for UtcOffset {
    type Err = String;

    /// `Z`, `UTC`, or `±HH:MM` (also `±HHMM`, `±HH`), at most 18 hours.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("`{s}` is not a UTC offset (expected like \"+02:00\", \"-05:30\" or \"Z\")");
        let t = s.trim();
        if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
            return Ok(UtcOffset(0));
        }
        let (sign, rest) = match t.as_bytes().first() {
            Some(b'+') => (1, &t[1..]),
            Some(b'-') => (-1, &t[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = match rest.len() {
            2 => (rest, "00"),
            4 => (&rest[..2], &rest[2..]),
            5 if rest.as_bytes()[2] == b':' => (&rest[..2], &rest[3..]),
            _ => return Err(bad()),
        };
        let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || !digits(m) {
            return Err(bad());
        }
        let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m > 59 || h * 60 + m > 18 * 60 {
            return Err(bad());
        }
        Ok(UtcOffset(sign * (h * 3600 + m * 60)))
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
    }
}

/// A local time of day, in seconds after midnight (`HH:MM` or `HH:MM:SS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime(pub u32);

impl FromStr for LocalTime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not a time of day (expected \"HH:MM\" or \"HH:MM:SS\", 00:00 to 23:59:59)"
            )
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        if !(2..=3).contains(&parts.len())
            || parts
                .iter()
                .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let n: Vec<u32> = parts.iter().map(|p| p.parse().unwrap_or(99)).collect();
        let (h, m, sec) = (n[0], n[1], n.get(2).copied().unwrap_or(0));
        if h > 23 || m > 59 || sec > 59 {
            return Err(bad());
        }
        Ok(LocalTime(h * 3600 + m * 60 + sec))
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        write!(f, "{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    }
}

/// A daily window `[start, end)` in the rule's time zone. When `end` is
/// before `start` the window crosses midnight (22:00–06:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: LocalTime,
    pub end: LocalTime,
}

impl TimeWindow {
    /// Whether the local time of day `t` (seconds after midnight) is inside.
    pub fn contains(&self, t: u32) -> bool {
        let (s, e) = (self.start.0, self.end.0);
        if s < e {
            s <= t && t < e
        } else {
            t >= s || t < e
        }
    }
}

/// Which side of the detection an address must be on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressDirection {
    Source,
    Destination,
    /// Either side (the reference's "both source and destination").
    #[default]
    #[serde(alias = "both")]
    Any,
}

/// An address condition: one IP, one MAC or one subnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    Ip(IpAddr),
    Mac(MacAddr),
    /// Network address (host bits zero) and prefix length.
    Subnet(IpAddr, u8),
}

impl FromStr for Address {
    type Err = String;

    /// `10.0.0.5`, `fe80::1`, `00:11:22:33:44:55` (or with `-`),
    /// `10.0.0.0/24`, `fd00::/8`. A subnet must have its host bits zero.
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if let Some((net, len)) = t.split_once('/') {
            let ip: IpAddr = net
                .parse()
                .map_err(|_| format!("`{s}`: `{net}` is not an IP address"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len: u8 = len
                .parse()
                .ok()
                .filter(|&l| l <= max)
                .ok_or_else(|| format!("`{s}`: prefix length must be 0 to {max}"))?;
            let masked = mask(ip, len);
            if masked != ip {
                return Err(format!(
                    "`{s}`: host bits are set (the network is {masked}/{len})"
                ));
            }
            return Ok(Address::Subnet(ip, len));
        }
        if let Ok(ip) = t.parse::<IpAddr>() {
            return Ok(Address::Ip(ip));
        }
        parse_mac(t).map(Address::Mac).ok_or_else(|| {
            format!("`{s}` is not an IP address, a MAC address or a subnet (a.b.c.d/len)")
        })
    }
}

fn parse_mac(s: &str) -> Option<MacAddr> {
    let sep = if s.contains('-') { '-' } else { ':' };
    let mut m = [0u8; 6];
    let mut n = 0;
    for part in s.split(sep) {
        if n == 6 || part.len() != 2 {
            return None;
        }
        m[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(MacAddr(m))
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v) => {
            let bits = u32::from(v);
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v) => {
            let bits = u128::from(v);
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

impl Address {
    /// Whether the endpoint has this address (an IPv4 subnet never matches
    /// an IPv6 address and the other way round).
    pub fn matches(&self, e: &Endpoint) -> bool {
        match *self {
            Address::Ip(ip) => e.ip == Some(ip),
            Address::Mac(mac) => e.mac == Some(mac),
            Address::Subnet(net, len) => {
                e.ip.is_some_and(|ip| ip.is_ipv4() == net.is_ipv4() && mask(ip, len) == net)
            }
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(ip) => write!(f, "{ip}"),
            Address::Mac(m) => write!(f, "{m}"),
            Address::Subnet(ip, l) => write!(f, "{ip}/{l}"),
        }
    }
}

/// One device condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceMatch {
    pub address: Address,
    pub direction: AddressDirection,
}

impl DeviceMatch {
    pub fn matches(&self, src: &Endpoint, dst: &Endpoint) -> bool {
        match self.direction {
            AddressDirection::Source => self.address.matches(src),
            AddressDirection::Destination => self.address.matches(dst),
            AddressDirection::Any => self.address.matches(src) || self.address.matches(dst),
        }
    }
}

/// A validated exclusion rule.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawRule")]
pub struct ExclusionRule {
    pub name: String,
    pub time_zone: UtcOffset,
    pub windows: Vec<TimeWindow>,
    pub devices: Vec<DeviceMatch>,
    pub titles: Vec<String>,
    pub sensors: Vec<String>,
}

/// What a rule is checked against: one detection about to become an alert.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    pub ts: Timestamp,
    pub title: &'a str,
    pub sensor: &'a str,
    pub src: &'a Endpoint,
    pub dst: &'a Endpoint,
}

impl ExclusionRule {
    /// Whether the rule excludes the candidate: every non-empty field has a
    /// matching value.
    pub fn matches(&self, c: &Candidate<'_>) -> bool {
        let local = (c.ts.secs() + i64::from(self.time_zone.0)).rem_euclid(86_400) as u32;
        (self.windows.is_empty() || self.windows.iter().any(|w| w.contains(local)))
            && (self.devices.is_empty() || self.devices.iter().any(|d| d.matches(c.src, c.dst)))
            && (self.titles.is_empty() || self.titles.iter().any(|t| t == c.title))
            && (self.sensors.is_empty() || self.sensors.iter().any(|s| s == c.sensor))
    }

    /// Checks the titles against a catalog (a title that names no alert type
    /// would never match).
    pub fn check_titles(&self, catalog: &Catalog) -> Result<(), ExclusionError> {
        match self.titles.iter().find(|t| catalog.by_title(t).is_none()) {
            Some(t) => Err(invalid(
                &self.name,
                "titles",
                format!("`{t}` is not the title of any alert type"),
            )),
            None => Ok(()),
        }
    }
}

/// A rule that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExclusionError {
    #[error("exclusion rules: {0}")]
    Parse(String),
    #[error("exclusion rule \"{rule}\": {field}: {problem}")]
    Invalid {
        rule: String,
        field: &'static str,
        problem: String,
    },
    #[error("exclusion rule \"{0}\": name used by more than one rule")]
    DuplicateName(String),
}

fn invalid(rule: &str, field: &'static str, problem: impl Into<String>) -> ExclusionError {
    ExclusionError::Invalid {
        rule: rule.to_string(),
        field,
        problem: problem.into(),
    }
}

/// The TOML form of a daily window (`{ start = "08:00", end = "17:00" }`),
/// shared by exclusion and custom rules.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    start: String,
    end: String,
}

/// The TOML form of a device condition (`{ address, direction }`), shared
/// by exclusion and custom rules.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    address: String,
    #[serde(default)]
    direction: AddressDirection,
}

/// Checks a rule name: not empty, no double quotes.
pub fn check_rule_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if name.contains('"') {
        return Err("must not contain double quotes".into());
    }
    Ok(())
}

/// Validates daily windows (a window may cross midnight, not be empty).
pub fn parse_windows(raw: &[RawWindow]) -> Result<Vec<TimeWindow>, String> {
    let mut windows = Vec::with_capacity(raw.len());
    for w in raw {
        let start: LocalTime = w.start.parse()?;
        let end: LocalTime = w.end.parse()?;
        if start == end {
            return Err(format!(
                "start and end are both {start}: the window is empty"
            ));
        }
        windows.push(TimeWindow { start, end });
    }
    Ok(windows)
}

/// Validates device conditions (IP, MAC or subnet, with a direction).
pub fn parse_devices(raw: &[RawDevice]) -> Result<Vec<DeviceMatch>, String> {
    raw.iter()
        .map(|d| {
            Ok(DeviceMatch {
                address: d.address.parse()?,
                direction: d.direction,
            })
        })
        .collect()
}

/// The TOML form of a rule, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    windows: Vec<RawWindow>,
    #[serde(default)]
    devices: Vec<RawDevice>,
    #[serde(default)]
    titles: Vec<String>,
    #[serde(default)]
    sensors: Vec<String>,
}

impl TryFrom<RawRule> for ExclusionRule {
    type Error = ExclusionError;

    fn try_from(r: RawRule) -> Result<Self, ExclusionError> {
        let name = r.name;
        check_rule_name(&name).map_err(|e| invalid(&name, "name", e))?;
        let time_zone = match &r.time_zone {
            Some(tz) => tz.parse().map_err(|e| invalid(&name, "time_zone", e))?,
            None if r.windows.is_empty() => UtcOffset(0),
            None => {
                return Err(invalid(
                    &name,
                    "time_zone",
                    "required with windows (a UTC offset like \"+02:00\")",
                ));
            }
        };
        let windows = parse_windows(&r.windows).map_err(|e| invalid(&name, "windows", e))?;
        let devices = parse_devices(&r.devices).map_err(|e| invalid(&name, "devices", e))?;
        for (field, list) in [("titles", &r.titles), ("sensors", &r.sensors)] {
            if list.iter().any(|v| v.trim().is_empty()) {
                return Err(invalid(&name, field, "empty value"));
            }
        }
        Ok(ExclusionRule {
            name,
            time_zone,
            windows,
            devices,
            titles: r.titles,
            sensors: r.sensors,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    exclusion: Vec<RawRule>,
}

/// Parses a file of `[[exclusion]]` tables and validates every rule (names
/// are unique).
pub fn parse_rules(s: &str) -> Result<Vec<ExclusionRule>, ExclusionError> {
    let file: RawFile = toml::from_str(s).map_err(|e| ExclusionError::Parse(e.to_string()))?;
    let mut names = BTreeSet::new();
    let mut rules = Vec::with_capacity(file.exclusion.len());
    for raw in file.exclusion {
        let rule = ExclusionRule::try_from(raw)?;
        if !names.insert(rule.name.clone()) {
            return Err(ExclusionError::DuplicateName(rule.name));
        }
        rules.push(rule);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ip: &str) -> Endpoint {
        Endpoint::ip(ip.parse().unwrap())
    }

    fn one(body: &str) -> Result<ExclusionRule, ExclusionError> {
        parse_rules(&format!("[[exclusion]]\nname = \"r\"\n{body}")).map(|mut v| v.remove(0))
    }

    /// 2024-01-01T00:00:00Z (a Monday) + seconds.
    fn at(secs: i64) -> Timestamp {
        Timestamp::from_secs(1_704_067_200 + secs)
    }

    fn cand<'a>(
        ts: Timestamp,
        title: &'a str,
        src: &'a Endpoint,
        dst: &'a Endpoint,
    ) -> Candidate<'a> {
        Candidate {
            ts,
            title,
            sensor: "s1",
            src,
            dst,
        }
    }

    #[test]
    fn parses_offsets_times_and_addresses() {
        assert_eq!("+02:00".parse::<UtcOffset>(), Ok(UtcOffset(7200)));
        assert_eq!("-05:30".parse::<UtcOffset>(), Ok(UtcOffset(-19_800)));
        assert_eq!("Z".parse::<UtcOffset>(), Ok(UtcOffset(0)));
        assert_eq!("+0545".parse::<UtcOffset>(), Ok(UtcOffset(20_700)));
        assert!("02:00".parse::<UtcOffset>().is_err());
        assert!("+19:00".parse::<UtcOffset>().is_err());
        assert!("+02:60".parse::<UtcOffset>().is_err());
        assert_eq!(UtcOffset(-19_800).to_string(), "-05:30");
        assert_eq!("06:30".parse::<LocalTime>(), Ok(LocalTime(23_400)));
        assert_eq!("23:59:59".parse::<LocalTime>(), Ok(LocalTime(86_399)));
        assert!("24:00".parse::<LocalTime>().is_err());
        assert!("6:30".parse::<LocalTime>().is_err());
        assert_eq!(
            "00-11-22-AA-bb-cc".parse::<Address>(),
            Ok(Address::Mac(MacAddr([0, 0x11, 0x22, 0xaa, 0xbb, 0xcc])))
        );
        assert!(matches!(
            "fd00::/8".parse::<Address>(),
            Ok(Address::Subnet(_, 8))
        ));
        let e = "10.0.0.1/24".parse::<Address>().unwrap_err();
        assert!(e.contains("10.0.0.0/24"), "{e}");
        assert!("10.0.0.0/33".parse::<Address>().is_err());
        assert!("plc-1".parse::<Address>().is_err());
    }

    #[test]
    fn validation_names_rule_and_field() {
        let e = parse_rules("[[exclusion]]\nname = 'say \"hi\"'\n").unwrap_err();
        assert!(
            matches!(&e, ExclusionError::Invalid { field: "name", .. }),
            "{e}"
        );
        let e = one("windows = [{ start = \"22:00\", end = \"06:00\" }]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "exclusion rule \"r\": time_zone: required with windows (a UTC offset like \"+02:00\")"
        );
        let e = one("time_zone = \"+2\"").unwrap_err().to_string();
        assert!(e.contains("\"r\": time_zone:"), "{e}");
        let e = one("time_zone = \"Z\"\nwindows = [{ start = \"25:00\", end = \"06:00\" }]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"r\": windows:") && e.contains("25:00"), "{e}");
        let e = one("time_zone = \"Z\"\nwindows = [{ start = \"06:00\", end = \"06:00\" }]");
        assert!(matches!(
            e,
            Err(ExclusionError::Invalid {
                field: "windows",
                ..
            })
        ));
        let e = one("devices = [{ address = \"10.0.0.300\" }]")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"r\": devices:") && e.contains("10.0.0.300"),
            "{e}"
        );
        let e = one("devices = [{ address = \"10.0.0.3\", direction = \"up\" }]");
        assert!(matches!(e, Err(ExclusionError::Parse(_))));
        let e = one("titles = [\"\"]").unwrap_err();
        assert!(matches!(
            e,
            ExclusionError::Invalid {
                field: "titles",
                ..
            }
        ));
        let e = one("colour = 1");
        assert!(matches!(e, Err(ExclusionError::Parse(_))));
        let twice = "[[exclusion]]\nname = \"a\"\n[[exclusion]]\nname = \"a\"\n";
        assert_eq!(
            parse_rules(twice),
            Err(ExclusionError::DuplicateName("a".into()))
        );
        let r = one("titles = [\"No Such Alert\"]").unwrap();
        let e = r.check_titles(Catalog::builtin()).unwrap_err().to_string();
        assert!(
            e.contains("\"r\": titles:") && e.contains("No Such Alert"),
            "{e}"
        );
        // Also deserializable on its own (embedded in a configuration).
        let r: ExclusionRule = toml::from_str("name = \"x\"\nsensors = [\"s1\"]").unwrap();
        assert_eq!(r.sensors, ["s1"]);
        assert!(toml::from_str::<ExclusionRule>("name = 'a\"b'").is_err());
    }

    #[test]
    fn empty_rule_matches_everything() {
        let r = one("").unwrap();
        let (a, b) = (ep("10.0.0.1"), Endpoint::default());
        assert!(r.matches(&cand(at(0), "Anything", &a, &b)));
    }

    #[test]
    fn each_field_matches_and_fields_are_anded() {
        let r = one(r#"titles = ["Port Scan Detected", "Address Scan Detected"]
sensors = ["s1", "s2"]
devices = [{ address = "10.0.0.0/24", direction = "source" }]"#)
        .unwrap();
        let (inside, outside, dst) = (ep("10.0.0.77"), ep("10.0.1.77"), ep("10.9.9.9"));
        let c = cand(at(0), "Port Scan Detected", &inside, &dst);
        assert!(r.matches(&c));
        // OR within titles.
        assert!(r.matches(&Candidate {
            title: "Address Scan Detected",
            ..c
        }));
        // Each field alone can fail the AND.
        assert!(!r.matches(&Candidate {
            title: "ARP Spoofing",
            ..c
        }));
        assert!(!r.matches(&Candidate { sensor: "s3", ..c }));
        assert!(r.matches(&Candidate { sensor: "s2", ..c }));
        assert!(!r.matches(&Candidate { src: &outside, ..c }));
        // Direction: the subnet is a source condition only.
        assert!(!r.matches(&Candidate {
            src: &dst,
            dst: &inside,
            ..c
        }));
    }

    #[test]
    fn directions_macs_and_ips() {
        let r = one(r#"devices = [
  { address = "00:11:22:33:44:55", direction = "destination" },
  { address = "192.168.1.10", direction = "both" },
  { address = "fd00::/16" },
]"#)
        .unwrap();
        let mac = Endpoint {
            mac: Some(MacAddr([0, 0x11, 0x22, 0x33, 0x44, 0x55])),
            ..Endpoint::default()
        };
        let (other, ip, v6, v4_in_v6_prefix) = (
            ep("10.0.0.1"),
            ep("192.168.1.10"),
            ep("fd00::5"),
            ep("253.0.0.1"),
        );
        let t = "X";
        assert!(r.matches(&cand(at(0), t, &other, &mac)));
        assert!(
            !r.matches(&cand(at(0), t, &mac, &other)),
            "MAC only as destination"
        );
        assert!(r.matches(&cand(at(0), t, &ip, &other)));
        assert!(r.matches(&cand(at(0), t, &other, &ip)));
        assert!(r.matches(&cand(at(0), t, &other, &v6)));
        assert!(r.matches(&cand(at(0), t, &v6, &other)));
        assert!(!r.matches(&cand(at(0), t, &other, &v4_in_v6_prefix)));
        assert!(!r.matches(&cand(at(0), t, &other, &Endpoint::default())));
        let all = one("devices = [{ address = \"0.0.0.0/0\" }]").unwrap();
        assert!(all.matches(&cand(at(0), t, &other, &Endpoint::default())));
        assert!(!all.matches(&cand(at(0), t, &v6, &Endpoint::default())));
    }

    #[test]
    fn time_windows_in_the_rule_time_zone() {
        // 22:00–06:00 at +02:00 is 20:00–04:00 UTC.
        let r = one(r#"time_zone = "+02:00"
windows = [{ start = "22:00", end = "06:00" }, { start = "12:00", end = "12:30" }]"#)
        .unwrap();
        let (a, b) = (ep("10.0.0.1"), ep("10.0.0.2"));
        let m = |secs| r.matches(&cand(at(secs), "X", &a, &b));
        let h = 3600;
        assert!(!m(20 * h - 1));
        assert!(m(20 * h));
        assert!(m(23 * h + 59 * 60));
        assert!(m(24 * h)); // midnight UTC = 02:00 local
        assert!(m(28 * h - 1)); // 03:59:59 UTC = 05:59:59 local
        assert!(!m(28 * h)); // 06:00 local: end is exclusive
        assert!(!m(10 * h - 1));
        assert!(m(10 * h)); // 12:00 local
        assert!(!m(10 * h + 30 * 60));
        // Before the epoch day boundary too (negative offset).
        let r = one("time_zone = \"-05:30\"\nwindows = [{ start = \"00:00\", end = \"01:00\" }]")
            .unwrap();
        assert!(r.matches(&cand(at(5 * h + 30 * 60), "X", &a, &b)));
        assert!(!r.matches(&cand(at(5 * h + 30 * 60 - 1), "X", &a, &b)));
        assert!(!r.matches(&cand(at(6 * h + 30 * 60), "X", &a, &b)));
    }
}
