//! The baseline: what the network normally does, learned in learning mode
//! (and by *Learn* on policy alerts) and checked by the policy engine
//! ([`crate::policy`]). Documented in `docs/baseline.md`.
//!
//! It holds devices, channels (client × server × protocol × server port)
//! with the function codes / objects / commands used on each, Modbus
//! address ranges, subnets (OT or IT, learned or configured), the DNS FQDN
//! allowlist and the learning state. It is saved as JSON ([`Baseline::to_json`],
//! sorted, versioned) and loaded with [`Baseline::from_json`].
//!
//! At run time every check is a hash lookup on fixed-size keys: strings
//! (CIP symbols, MMS domains, user agents...) are looked up by a 64-bit hash
//! of their bytes ([`hash_bytes`]); the text is stored only when the entry is
//! new. Every table has a cap ([`Caps`]); what a full table refuses is
//! counted in [`Refused`] and shown in [`BaselineStats`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use hashbrown::{HashMap, HashSet};
use ipnet::IpNet;
use otwatch_core::{Proto, Timestamp};
use serde::{Deserialize, Serialize};

/// Format version written in `version`; [`Baseline::from_json`] refuses others.
pub const VERSION: u32 = 1;

const NS: i64 = 1_000_000_000;
const HOUR_NS: i64 = 3600 * NS;
const DAY_NS: i64 = 24 * HOUR_NS;
/// Smart IT learning window (reference §3.2): 7 days.
pub const SMART_IT_WINDOW_NS: i64 = 7 * DAY_NS;
/// Longest time an IP resolved from an allowlisted FQDN stays allowed,
/// whatever the TTL says.
pub const MAX_ALLOW_TTL_S: u32 = 86_400;
/// Most learned address ranges per channel and Modbus function code.
pub const MAX_RANGES: usize = 64;
/// Most IPs allowed through the FQDN allowlist at once.
pub const MAX_ALLOWED_IPS: usize = 4096;

/// Is `p` an industrial (OT) protocol? Re-exported from `otwatch_core`.
pub fn proto_is_ot(p: Proto) -> bool {
    p.is_ot()
}

/// What kind of activity a channel entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A function code / command / service / message type (numeric).
    FunctionCode,
    /// An object: CIP class, S7 DB, BACnet object, AMS index group (numeric).
    Object,
    /// A named object: CIP symbol, MMS domain or program (text, hashed).
    Symbol,
    /// A text value: HTTP user agent, DNS name (text, hashed).
    Text,
    /// A second-level code: CIP class service, PCCC command... (numeric).
    Service,
}

impl Kind {
    /// Numeric kinds keep their value as-is; text kinds are hashed.
    pub fn numeric(self) -> bool {
        !matches!(self, Kind::Symbol | Kind::Text)
    }
}

/// The channel address of a link-layer device (GOOSE, Sampled Values,
/// Profinet DCP / RT have no IP): the modified EUI-64 IPv6 link-local
/// address of its MAC (RFC 4291 appendix A), `fe80::` + MAC with the
/// universal/local bit flipped and `ff:fe` in the middle. Reversible with
/// [`mac_of_key`], so link-layer channels are saved and loaded like the rest.
pub fn mac_key(mac: otwatch_core::MacAddr) -> IpAddr {
    let m = mac.0;
    IpAddr::V6(std::net::Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ]))
}

/// The MAC of a [`mac_key`] address (`None` for any other address).
pub fn mac_of_key(ip: IpAddr) -> Option<otwatch_core::MacAddr> {
    let IpAddr::V6(v) = ip else { return None };
    let o = v.octets();
    (o[..8] == [0xfe, 0x80, 0, 0, 0, 0, 0, 0] && o[11] == 0xff && o[12] == 0xfe)
        .then(|| otwatch_core::MacAddr([o[8] ^ 0x02, o[9], o[10], o[13], o[14], o[15]]))
}

/// One learned device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Device {
    pub ip: Option<IpAddr>,
    pub mac: Option<String>,
    /// Seen during learning (or learned later); new devices after learning are not.
    pub authorized: bool,
    /// Capture time first seen, ns since the epoch.
    pub first_seen: i64,
    /// Allowed to program / upload / reconfigure controllers.
    pub programming: bool,
    /// Allowed to scan.
    pub scanner: bool,
    /// Allowed to talk to the Internet.
    pub internet_allowed: bool,
    /// Identified as a field device (controller, RTU, IED...).
    pub field_device: bool,
    pub vendor: Option<String>,
    pub model: Option<String>,
    /// The firmware reported last (learned).
    pub firmware: Option<String>,
    /// Every firmware string learned for the device (several identity
    /// sources may report different strings), at most [`MAX_FIRMWARES`].
    pub firmwares: Vec<String>,
}

/// Most firmware strings remembered per device.
pub const MAX_FIRMWARES: usize = 8;

impl Device {
    /// Whether `fw` is a learned firmware string of the device.
    pub fn knows_firmware(&self, fw: &str) -> bool {
        self.firmware.as_deref() == Some(fw) || self.firmwares.iter().any(|f| f == fw)
    }

    /// Records the version of one component (`tagged` = component prefix +
    /// version, see the policy engine); other versions of the same component
    /// are replaced; `plain` becomes the device's shown firmware.
    pub fn learn_component_firmware(&mut self, comp: &str, tagged: &str, plain: &str) {
        self.firmwares.retain(|f| !f.starts_with(comp));
        if self.firmwares.len() >= MAX_FIRMWARES {
            self.firmwares.remove(0);
        }
        self.firmwares.push(tagged.to_string());
        self.firmware = Some(plain.to_string());
    }

    /// Records `fw` as the device's current (learned) firmware.
    pub fn learn_firmware(&mut self, fw: &str) {
        if !self.firmwares.iter().any(|f| f == fw) {
            if self.firmwares.len() >= MAX_FIRMWARES {
                self.firmwares.remove(0);
            }
            self.firmwares.push(fw.to_string());
        }
        self.firmware = Some(fw.to_string());
    }
}

/// Identity of a channel: client × server × protocol × server port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChanKey {
    pub client: IpAddr,
    pub server: IpAddr,
    pub proto: Proto,
    pub port: u16,
}

/// One entry of a channel (a function code, an object...).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub kind: Kind,
    /// The number (numeric kinds) or the text (text kinds).
    pub value: String,
}

/// A learned inclusive address range of one Modbus function code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Range {
    pub function_code: u8,
    pub start: u16,
    pub end: u16,
}

/// One learned channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub client: IpAddr,
    pub server: IpAddr,
    pub proto: String,
    pub port: u16,
    pub first_seen: i64,
    #[serde(default)]
    pub entries: Vec<Entry>,
    #[serde(default)]
    pub ranges: Vec<Range>,
}

/// OT or IT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetKind {
    Ot,
    It,
}

/// Where a subnet came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Learned,
    Configured,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subnet {
    pub net: IpNet,
    pub kind: NetKind,
    pub origin: Origin,
}

/// Learning mode and its automatic end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Learning {
    pub on: bool,
    /// Capture time learning started / ended (ns), 0 = unknown.
    pub started: i64,
    pub ended: i64,
    /// End learning automatically (see `docs/baseline.md`).
    pub auto_end: bool,
    /// Least capture time learning lasts before it may end by itself (seconds).
    pub min_duration_s: u64,
    /// Learning ends once fewer new entries than this were added in the last 24 h.
    pub max_new_per_day: u64,
    /// New baseline entries per capture hour `(hour, count)`, last 24 hours.
    pub new_per_hour: Vec<(i64, u64)>,
    /// Capture time of the last check (ns), 0 = none yet.
    pub last_seen: i64,
}

impl Default for Learning {
    fn default() -> Self {
        Learning {
            on: true,
            started: 0,
            ended: 0,
            auto_end: true,
            min_duration_s: 7 * 24 * 3600,
            max_new_per_day: 10,
            new_per_hour: Vec::new(),
            last_seen: 0,
        }
    }
}

/// Table caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Caps {
    pub devices: usize,
    pub channels: usize,
    /// Channel entries and address ranges, all channels together.
    pub entries: usize,
    /// Smart IT scenarios.
    pub scenarios: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            devices: 65_536,
            channels: 262_144,
            entries: 1_048_576,
            scenarios: 65_536,
        }
    }
}

/// What full tables refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Refused {
    pub devices: u64,
    pub channels: u64,
    pub entries: u64,
    pub scenarios: u64,
}

/// A Smart IT learning scenario: a source device using an IT protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScenarioId {
    pub src: IpAddr,
    pub proto: Proto,
}

/// The JSON form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    version: u32,
    learning: Learning,
    #[serde(default)]
    all_ot: bool,
    #[serde(default)]
    resolve_internal: bool,
    #[serde(default = "yes")]
    smart_it: bool,
    #[serde(default = "yes")]
    auto_subnets: bool,
    #[serde(default)]
    fqdn_allowlist: Vec<String>,
    #[serde(default)]
    caps: Caps,
    #[serde(default)]
    refused: Refused,
    #[serde(default)]
    subnets: Vec<Subnet>,
    #[serde(default)]
    devices: Vec<Device>,
    #[serde(default)]
    channels: Vec<Channel>,
    /// Learned connections `(client, server, server port)`; port 0 = any
    /// (Internet peers).
    #[serde(default)]
    connections: Vec<(IpAddr, IpAddr, u16)>,
    /// `(source, protocol, last seen ns)`.
    #[serde(default)]
    smart_it_scenarios: Vec<(IpAddr, String, i64)>,
}

/// The baseline's JSON layout: the top-level fields, their small objects'
/// fields and every element of the top-level lists (one device, channel,
/// connection...) each on a line of its own, a record itself without
/// spaces. It diffs as cleanly as indented JSON at about half the size, and
/// a large baseline loads faster for it.
#[derive(Default)]
struct RecordLines {
    /// Containers open around the current position.
    depth: usize,
    /// Whether the innermost open container has a value yet.
    has_value: bool,
}

impl RecordLines {
    /// Containers up to this deep put each value on its own line.
    const LINES: usize = 2;

    fn newline<W: ?Sized + std::io::Write>(&self, w: &mut W, depth: usize) -> std::io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn begin<W: ?Sized + std::io::Write>(&mut self, w: &mut W, open: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(open)
    }

    fn end<W: ?Sized + std::io::Write>(&mut self, w: &mut W, close: &[u8]) -> std::io::Result<()> {
        let lines = self.depth <= Self::LINES;
        self.depth -= 1;
        if lines && self.has_value {
            self.newline(w, self.depth)?;
        }
        w.write_all(close)
    }

    fn item<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        if self.depth <= Self::LINES {
            self.newline(w, self.depth)?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for RecordLines {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.begin(w, b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.end(w, b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.begin(w, b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.end(w, b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(if self.depth <= Self::LINES {
            b": "
        } else {
            b":"
        })
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

fn yes() -> bool {
    true
}

/// Why a baseline file was refused.
#[derive(Debug)]
pub enum BaselineError {
    /// Not valid JSON or not the baseline format (serde's message names the
    /// line, column and field).
    Json(serde_json::Error),
    /// The file's `version` is not [`VERSION`].
    Version(u32),
    /// A value is out of range (what and where).
    Invalid(String),
}

impl fmt::Display for BaselineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaselineError::Json(e) => write!(f, "not a valid baseline: {e}"),
            BaselineError::Version(v) => write!(
                f,
                "baseline version {v} is not supported (this otwatch reads version {VERSION})"
            ),
            BaselineError::Invalid(s) => write!(f, "invalid baseline: {s}"),
        }
    }
}

impl std::error::Error for BaselineError {}

/// Counts for reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BaselineStats {
    pub learning: bool,
    pub learning_started: Option<String>,
    pub learning_ended: Option<String>,
    pub devices: usize,
    pub authorized_devices: usize,
    pub programming_devices: usize,
    pub channels: usize,
    /// Channel entries plus address ranges.
    pub entries: usize,
    pub subnets: usize,
    pub ot_subnets: usize,
    pub smart_it_scenarios: usize,
    pub refused: Refused,
}

/// What an `observe` call changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Already in the baseline.
    Known,
    /// New and added (learning, or silently learned).
    Learned,
    /// New and not added (a deviation).
    New,
    /// New but the table is full (counted in [`Refused`]).
    Refused,
}

/// Fast, fixed hash for text values (FNV-1a, 64 bit): the same value
/// always gives the same key, across runs and builds.
pub fn hash_bytes(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// [`hash_bytes`] of the concatenation of `parts`, without building it.
pub fn hash_parts(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &x in *p {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Hash of text as stored in the JSON (lossy UTF-8 of the bytes; valid
/// UTF-8, the usual case, hashes its bytes without allocating).
pub fn hash_text(b: &[u8]) -> u64 {
    match String::from_utf8_lossy(b) {
        std::borrow::Cow::Borrowed(s) => hash_bytes(s.as_bytes()),
        std::borrow::Cow::Owned(s) => hash_bytes(s.as_bytes()),
    }
}

/// The baseline.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub learning: Learning,
    all_ot: bool,
    /// "Resolve all Internet traffic as internal": no Internet alerts.
    pub resolve_internal: bool,
    /// Smart IT learning on (default).
    pub smart_it: bool,
    /// Auto subnet learning on (default).
    pub auto_subnets: bool,
    fqdn_allowlist: Vec<String>,
    pub caps: Caps,
    refused: Refused,
    subnets: Vec<Subnet>,
    /// Learned OT /24s and /64s (fast lookup; mirrors learned subnets).
    ot24: HashSet<u32>,
    ot64: HashSet<u64>,
    devices: HashMap<IpAddr, Device>,
    chans: HashMap<ChanKey, (u32, i64)>,
    chan_list: Vec<Channel>,
    entries: HashSet<(u32, Kind, u64)>,
    /// Address ranges by (channel, function code).
    ranges: HashMap<(u32, u8), Vec<(u16, u16)>>,
    n_entries: usize,
    scenarios: HashMap<ScenarioId, i64>,
    conns: HashSet<(IpAddr, IpAddr, u16)>,
    allowed_ips: HashMap<IpAddr, i64>,
}

impl Default for Baseline {
    fn default() -> Self {
        Self::new()
    }
}

fn proto_by_name(s: &str) -> Option<Proto> {
    Proto::from_name(s)
}

impl Baseline {
    /// An empty baseline, learning on.
    pub fn new() -> Baseline {
        Baseline {
            learning: Learning::default(),
            all_ot: false,
            resolve_internal: false,
            smart_it: true,
            auto_subnets: true,
            fqdn_allowlist: Vec::new(),
            caps: Caps::default(),
            refused: Refused::default(),
            subnets: Vec::new(),
            ot24: HashSet::new(),
            ot64: HashSet::new(),
            devices: HashMap::new(),
            chans: HashMap::new(),
            chan_list: Vec::new(),
            entries: HashSet::new(),
            ranges: HashMap::new(),
            n_entries: 0,
            scenarios: HashMap::new(),
            conns: HashSet::new(),
            allowed_ips: HashMap::new(),
        }
    }

    /// Reads a baseline written by [`Baseline::to_json`] (or by hand).
    pub fn from_json(bytes: &[u8]) -> Result<Baseline, BaselineError> {
        // One pass over the (large) file; only when it does not parse is it
        // read again for its version, so a future format says so clearly.
        let r: Repr = match serde_json::from_slice(bytes) {
            Ok(r) => r,
            Err(e) => {
                #[derive(Deserialize)]
                struct V {
                    version: Option<u32>,
                }
                return Err(match serde_json::from_slice::<V>(bytes) {
                    Ok(V { version: Some(n) }) if n != VERSION => BaselineError::Version(n),
                    Ok(V { version: None }) => {
                        BaselineError::Invalid("missing field `version` at the top level".into())
                    }
                    _ => BaselineError::Json(e),
                });
            }
        };
        if r.version != VERSION {
            return Err(BaselineError::Version(r.version));
        }
        let mut b = Baseline::new();
        b.devices.reserve(r.devices.len());
        b.chans.reserve(r.channels.len());
        b.chan_list.reserve(r.channels.len());
        b.entries
            .reserve(r.channels.iter().map(|c| c.entries.len()).sum::<usize>());
        b.conns.reserve(r.connections.len());
        b.learning = r.learning;
        b.all_ot = r.all_ot;
        b.resolve_internal = r.resolve_internal;
        b.smart_it = r.smart_it;
        b.auto_subnets = r.auto_subnets;
        b.fqdn_allowlist = r
            .fqdn_allowlist
            .iter()
            .map(|s| s.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        b.caps = r.caps;
        b.refused = r.refused;
        for s in r.subnets {
            b.add_subnet(s);
        }
        for (i, d) in r.devices.into_iter().enumerate() {
            let Some(ip) = d.ip else {
                return Err(BaselineError::Invalid(format!(
                    "devices[{i}]: missing `ip`"
                )));
            };
            b.devices.insert(ip, d);
        }
        for (i, c) in r.channels.into_iter().enumerate() {
            let Some(proto) = proto_by_name(&c.proto) else {
                return Err(BaselineError::Invalid(format!(
                    "channels[{i}]: unknown protocol {:?}",
                    c.proto
                )));
            };
            let k = ChanKey {
                client: c.client,
                server: c.server,
                proto,
                port: c.port,
            };
            let idx = b.chan_list.len() as u32;
            for (j, e) in c.entries.iter().enumerate() {
                let v = if e.kind.numeric() {
                    e.value.parse::<u64>().map_err(|_| {
                        BaselineError::Invalid(format!(
                            "channels[{i}].entries[{j}]: {:?} is not a number",
                            e.value
                        ))
                    })?
                } else {
                    hash_bytes(e.value.as_bytes())
                };
                if b.entries.insert((idx, e.kind, v)) {
                    b.n_entries += 1;
                }
            }
            for (j, r) in c.ranges.iter().enumerate() {
                if r.start > r.end {
                    return Err(BaselineError::Invalid(format!(
                        "channels[{i}].ranges[{j}]: start {} > end {}",
                        r.start, r.end
                    )));
                }
                b.ranges
                    .entry((idx, r.function_code))
                    .or_default()
                    .push((r.start, r.end));
                b.n_entries += 1;
            }
            b.chans.insert(k, (idx, c.first_seen));
            let mut c = c;
            c.entries.retain(|e| !e.kind.numeric());
            c.ranges.clear();
            b.chan_list.push(c);
        }
        for c in r.connections {
            if b.conns.insert(c) {
                b.n_entries += 1;
            }
        }
        for (i, (src, p, t)) in r.smart_it_scenarios.into_iter().enumerate() {
            let Some(proto) = proto_by_name(&p) else {
                return Err(BaselineError::Invalid(format!(
                    "smart_it_scenarios[{i}]: unknown protocol {p:?}"
                )));
            };
            b.scenarios.insert(ScenarioId { src, proto }, t);
        }
        Ok(b)
    }

    /// The baseline as pretty JSON, in a stable order.
    pub fn to_json(&self) -> Vec<u8> {
        let mut devices: Vec<Device> = self.devices.values().cloned().collect();
        devices.sort_by_key(|d| d.ip);
        let mut channels = self.full_channels();
        channels.sort_by(|a, b| {
            (a.client, a.server, &a.proto, a.port).cmp(&(b.client, b.server, &b.proto, b.port))
        });
        let mut scen: Vec<(IpAddr, String, i64)> = self
            .scenarios
            .iter()
            .map(|(k, t)| (k.src, k.proto.name().to_string(), *t))
            .collect();
        scen.sort();
        let mut subnets = self.subnets.clone();
        subnets.sort();
        let mut connections: Vec<_> = self.conns.iter().copied().collect();
        connections.sort();
        let mut learning = self.learning.clone();
        learning.new_per_hour.sort();
        let r = Repr {
            version: VERSION,
            learning,
            all_ot: self.all_ot,
            resolve_internal: self.resolve_internal,
            smart_it: self.smart_it,
            auto_subnets: self.auto_subnets,
            fqdn_allowlist: self.fqdn_allowlist.clone(),
            caps: self.caps,
            refused: self.refused,
            subnets,
            devices,
            channels,
            connections,
            smart_it_scenarios: scen,
        };
        let mut v = Vec::with_capacity(1 << 16);
        let mut ser = serde_json::Serializer::with_formatter(&mut v, RecordLines::default());
        if r.serialize(&mut ser).is_err() {
            v.clear();
        }
        v.push(b'\n');
        v
    }

    pub fn learning(&self) -> bool {
        self.learning.on
    }

    /// Turns learning on or off at capture time `now`.
    pub fn set_learning(&mut self, on: bool, now: Timestamp) {
        if on && !self.learning.on {
            self.learning.started = now.0;
            self.learning.ended = 0;
            self.learning.new_per_hour.clear();
        } else if !on && self.learning.on {
            self.learning.ended = now.0;
        }
        self.learning.on = on;
    }

    /// Configured OT subnets (replace the configured ones; learned stay).
    pub fn set_ot_subnets(&mut self, nets: &[IpNet]) {
        self.subnets.retain(|s| s.origin != Origin::Configured);
        for n in nets {
            self.subnets.push(Subnet {
                net: n.trunc(),
                kind: NetKind::Ot,
                origin: Origin::Configured,
            });
        }
    }

    /// `--ot-subnets all`: every address is OT.
    pub fn set_all_ot(&mut self, on: bool) {
        self.all_ot = on;
    }

    /// Sets the FQDN allowlist (names, lower-cased; `example.com` also allows
    /// its subdomains).
    pub fn set_fqdn_allowlist(&mut self, names: &[String]) {
        self.fqdn_allowlist = names
            .iter()
            .map(|s| s.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
    }

    pub fn fqdn_allowlist(&self) -> &[String] {
        &self.fqdn_allowlist
    }

    fn add_subnet(&mut self, s: Subnet) {
        if s.origin == Origin::Learned && s.kind == NetKind::Ot {
            match s.net {
                IpNet::V4(n) if n.prefix_len() == 24 => {
                    self.ot24.insert(u32::from(n.network()) >> 8);
                }
                IpNet::V6(n) if n.prefix_len() == 64 => {
                    self.ot64.insert((u128::from(n.network()) >> 64) as u64);
                }
                _ => {}
            }
        }
        if !self.subnets.contains(&s) {
            self.subnets.push(s);
        }
    }

    pub fn subnets(&self) -> &[Subnet] {
        &self.subnets
    }

    /// Whether `ip` is in an OT subnet (configured or learned) or all is OT.
    pub fn is_ot(&self, ip: IpAddr) -> bool {
        if self.all_ot {
            return true;
        }
        let hit = match ip {
            IpAddr::V4(v) => self.ot24.contains(&(u32::from(v) >> 8)),
            IpAddr::V6(v) => self.ot64.contains(&((u128::from(v) >> 64) as u64)),
        };
        hit || self
            .subnets
            .iter()
            .any(|s| s.kind == NetKind::Ot && s.origin == Origin::Configured && s.net.contains(&ip))
    }

    /// Auto subnet learning: a private `/24` (IPv4) or `/64` (IPv6, unique
    /// local or link local) becomes an OT subnet when a device in it speaks
    /// an OT protocol.
    pub fn note_ot_device(&mut self, ip: IpAddr) {
        if !self.auto_subnets || self.all_ot {
            return;
        }
        let (net, private) = match ip {
            IpAddr::V4(v) => {
                if self.ot24.contains(&(u32::from(v) >> 8)) {
                    return;
                }
                (
                    IpNet::V4(
                        ipnet::Ipv4Net::new(v, 24)
                            .map(|n| n.trunc())
                            .ok()
                            .unwrap_or_default(),
                    ),
                    v.is_private(),
                )
            }
            IpAddr::V6(v) => {
                if self.ot64.contains(&((u128::from(v) >> 64) as u64)) {
                    return;
                }
                let seg0 = v.segments()[0];
                (
                    IpNet::V6(
                        ipnet::Ipv6Net::new(v, 64)
                            .map(|n| n.trunc())
                            .ok()
                            .unwrap_or_default(),
                    ),
                    (seg0 & 0xfe00) == 0xfc00 || (seg0 & 0xffc0) == 0xfe80,
                )
            }
        };
        if private {
            self.add_subnet(Subnet {
                net,
                kind: NetKind::Ot,
                origin: Origin::Learned,
            });
        }
    }

    fn count_new(&mut self, now: i64) {
        let hour = now.div_euclid(HOUR_NS);
        let v = &mut self.learning.new_per_hour;
        match v.iter_mut().find(|(h, _)| *h == hour) {
            Some(x) => x.1 += 1,
            None => {
                v.retain(|(h, _)| hour - *h < 24);
                v.push((hour, 1));
            }
        }
    }

    /// The auto-end rule, evaluated at capture time `now`: learning ends when
    /// `auto_end` is on, it has lasted `min_duration_s` of capture time, and
    /// fewer than `max_new_per_day` new entries were added in the last 24 h.
    /// Returns true when it ended learning.
    pub fn check_auto_end(&mut self, now: Timestamp) -> bool {
        self.learning.last_seen = self.learning.last_seen.max(now.0);
        let l = &self.learning;
        if !l.on || !l.auto_end {
            return false;
        }
        if l.started == 0 {
            self.learning.started = now.0;
            return false;
        }
        if now.0 - l.started < l.min_duration_s as i64 * NS {
            return false;
        }
        let hour = now.0.div_euclid(HOUR_NS);
        let recent: u64 = l
            .new_per_hour
            .iter()
            .filter(|(h, _)| hour - *h < 24)
            .map(|(_, n)| n)
            .sum();
        if recent < l.max_new_per_day {
            self.set_learning(false, now);
            return true;
        }
        false
    }

    /// Starts the learning clock at the first event of a run.
    pub fn start_clock(&mut self, now: Timestamp) {
        if self.learning.on && self.learning.started == 0 {
            self.learning.started = now.0;
        }
    }

    // ---- devices ----

    pub fn device(&self, ip: IpAddr) -> Option<&Device> {
        self.devices.get(&ip)
    }

    pub fn device_mut(&mut self, ip: IpAddr) -> Option<&mut Device> {
        self.devices.get_mut(&ip)
    }

    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.devices.values()
    }

    /// Records `ip`; new devices are authorized while learning.
    pub fn see_device(&mut self, ip: IpAddr, mac: Option<otwatch_core::MacAddr>, now: i64) -> Seen {
        if self.devices.contains_key(&ip) {
            return Seen::Known;
        }
        if self.devices.len() >= self.caps.devices {
            self.refused.devices += 1;
            return Seen::Refused;
        }
        let learning = self.learning.on;
        self.devices.insert(
            ip,
            Device {
                ip: Some(ip),
                mac: mac.map(|m| m.to_string()),
                authorized: learning,
                first_seen: now,
                ..Device::default()
            },
        );
        if learning {
            self.count_new(now);
            Seen::Learned
        } else {
            Seen::New
        }
    }

    pub fn remove_device(&mut self, ip: IpAddr) -> bool {
        self.devices.remove(&ip).is_some()
    }

    // ---- channels ----

    /// The index of channel `k`, created if `create` (and there is room).
    fn chan(&mut self, k: &ChanKey, now: i64, create: bool) -> Option<u32> {
        if let Some(&(i, _)) = self.chans.get(k) {
            return Some(i);
        }
        if !create {
            return None;
        }
        if self.chans.len() >= self.caps.channels {
            self.refused.channels += 1;
            return None;
        }
        let i = self.chan_list.len() as u32;
        self.chan_list.push(Channel {
            client: k.client,
            server: k.server,
            proto: k.proto.name().to_string(),
            port: k.port,
            first_seen: now,
            entries: Vec::new(),
            ranges: Vec::new(),
        });
        self.chans.insert(*k, (i, now));
        if self.learning.on {
            self.count_new(now);
        }
        Some(i)
    }

    pub fn has_channel(&self, k: &ChanKey) -> bool {
        self.chans.contains_key(k)
    }

    /// Adds channel `k` (learning or Learn).
    pub fn add_channel(&mut self, k: &ChanKey, now: i64) -> bool {
        self.chan(k, now, true).is_some()
    }

    pub fn remove_channel(&mut self, k: &ChanKey) -> bool {
        if self.chans.remove(k).is_none() {
            return false;
        }
        // Rebuild the run-time index from the saved form (rare: Unlearn).
        let allowed = std::mem::take(&mut self.allowed_ips);
        if let Ok(mut b) = Baseline::from_json(&self.to_json()) {
            b.allowed_ips = allowed;
            *self = b;
        }
        true
    }

    /// Every live channel with all its entries and ranges (saved form).
    fn full_channels(&self) -> Vec<Channel> {
        let mut live: Vec<Option<Channel>> = vec![None; self.chan_list.len()];
        for &(i, _) in self.chans.values() {
            live[i as usize] = Some(self.chan_list[i as usize].clone());
        }
        for &(i, kind, v) in &self.entries {
            if kind.numeric()
                && let Some(Some(c)) = live.get_mut(i as usize)
            {
                c.entries.push(Entry {
                    kind,
                    value: v.to_string(),
                });
            }
        }
        for (&(i, fc), rs) in &self.ranges {
            if let Some(Some(c)) = live.get_mut(i as usize) {
                for &(start, end) in rs {
                    c.ranges.push(Range {
                        function_code: fc,
                        start,
                        end,
                    });
                }
            }
        }
        let mut out: Vec<Channel> = live.into_iter().flatten().collect();
        for c in out.iter_mut() {
            c.entries.sort();
            c.entries.dedup();
            c.ranges.sort();
        }
        out
    }

    /// Checks entry `(kind, value)` of channel `k`; adds it when `learn`.
    /// `text` gives the stored text of text kinds (called only when new).
    pub fn observe(
        &mut self,
        k: &ChanKey,
        kind: Kind,
        value: u64,
        learn: bool,
        now: i64,
        text: impl FnOnce() -> String,
    ) -> Seen {
        let idx = match self.chans.get(k) {
            Some(&(i, _)) => i,
            None if !learn => return Seen::New,
            None => match self.chan(k, now, true) {
                Some(i) => i,
                None => return Seen::Refused,
            },
        };
        if self.entries.contains(&(idx, kind, value)) {
            return Seen::Known;
        }
        if !learn {
            return Seen::New;
        }
        if self.n_entries >= self.caps.entries {
            self.refused.entries += 1;
            return Seen::Refused;
        }
        self.entries.insert((idx, kind, value));
        self.n_entries += 1;
        // Numeric entries are written from the index (no string per entry).
        if !kind.numeric() {
            self.chan_list[idx as usize].entries.push(Entry {
                kind,
                value: text(),
            });
        }
        if self.learning.on {
            self.count_new(now);
        }
        Seen::Learned
    }

    /// Whether entry `(kind, value)` of channel `k` is known.
    pub fn knows(&self, k: &ChanKey, kind: Kind, value: u64) -> bool {
        self.chans
            .get(k)
            .is_some_and(|&(i, _)| self.entries.contains(&(i, kind, value)))
    }

    /// Removes one entry (Unlearn).
    pub fn forget(&mut self, k: &ChanKey, kind: Kind, value: u64) -> bool {
        let Some(&(i, _)) = self.chans.get(k) else {
            return false;
        };
        if !self.entries.remove(&(i, kind, value)) {
            return false;
        }
        self.n_entries -= 1;
        let c = &mut self.chan_list[i as usize];
        c.entries.retain(|e| {
            let v = if e.kind.numeric() {
                e.value.parse().unwrap_or(0)
            } else {
                hash_bytes(e.value.as_bytes())
            };
            !(e.kind == kind && v == value)
        });
        true
    }

    /// Whether the Modbus range `[start, end]` of function code `fc` on
    /// channel `k` lies inside the learned ranges. `None`: no ranges for it.
    pub fn range_known(&self, k: &ChanKey, fc: u8, start: u16, end: u16) -> Option<bool> {
        let &(i, _) = self.chans.get(k)?;
        let v = self.ranges.get(&(i, fc))?;
        Some(v.iter().any(|&(s, e)| s <= start && end <= e))
    }

    /// Learns the Modbus range `[start, end]` of `fc` on channel `k`,
    /// merging it with overlapping or adjacent learned ranges.
    pub fn learn_range(&mut self, k: &ChanKey, fc: u8, start: u16, end: u16, now: i64) -> Seen {
        let Some(i) = self.chan(k, now, true) else {
            return Seen::Refused;
        };
        let v = self.ranges.entry((i, fc)).or_default();
        if v.iter().any(|&(s, e)| s <= start && end <= e) {
            return Seen::Known;
        }
        if v.is_empty() && self.n_entries >= self.caps.entries {
            self.refused.entries += 1;
            return Seen::Refused;
        }
        let before = v.len();
        let (mut s, mut e) = (start, end);
        v.retain(|&(a, b)| {
            let touches = a as u32 <= e as u32 + 1 && s as u32 <= b as u32 + 1;
            if touches {
                s = s.min(a);
                e = e.max(b);
            }
            !touches
        });
        v.push((s, e));
        v.sort_unstable();
        // Bounded: beyond MAX_RANGES the two closest ranges are joined
        // (the baseline gets a little wider, never narrower).
        while v.len() > MAX_RANGES {
            let j = (0..v.len() - 1)
                .min_by_key(|&j| v[j + 1].0.saturating_sub(v[j].1))
                .unwrap_or(0);
            v[j].1 = v[j].1.max(v[j + 1].1);
            v.remove(j + 1);
        }
        let after = v.len();
        self.n_entries = (self.n_entries + after).saturating_sub(before);
        if self.learning.on {
            self.count_new(now);
        }
        Seen::Learned
    }

    /// Removes one learned range (Unlearn): the part `[start, end]` of the
    /// learned ranges of `fc` is cut out.
    pub fn forget_range(&mut self, k: &ChanKey, fc: u8, start: u16, end: u16) -> bool {
        let Some(&(i, _)) = self.chans.get(k) else {
            return false;
        };
        let Some(v) = self.ranges.get_mut(&(i, fc)) else {
            return false;
        };
        let before = v.len();
        let mut next = Vec::with_capacity(v.len() + 1);
        for &(s, e) in v.iter() {
            if e < start || s > end {
                next.push((s, e));
                continue;
            }
            if s < start {
                next.push((s, start - 1));
            }
            if e > end {
                next.push((end + 1, e));
            }
        }
        *v = next;
        let after = v.len();
        self.n_entries = (self.n_entries + after).saturating_sub(before);
        true
    }

    // ---- connections ----

    /// Whether `client` → `server:port` is learned (port 0: any port).
    pub fn knows_conn(&self, client: IpAddr, server: IpAddr, port: u16) -> bool {
        self.conns.contains(&(client, server, port))
    }

    /// Learns `client` → `server:port`.
    pub fn learn_conn(&mut self, client: IpAddr, server: IpAddr, port: u16, now: i64) -> Seen {
        if self.conns.contains(&(client, server, port)) {
            return Seen::Known;
        }
        if self.n_entries >= self.caps.entries {
            self.refused.entries += 1;
            return Seen::Refused;
        }
        self.conns.insert((client, server, port));
        self.n_entries += 1;
        if self.learning.on {
            self.count_new(now);
        }
        Seen::Learned
    }

    pub fn forget_conn(&mut self, client: IpAddr, server: IpAddr, port: u16) -> bool {
        let r = self.conns.remove(&(client, server, port));
        if r {
            self.n_entries -= 1;
        }
        r
    }

    // ---- smart IT ----

    /// Smart IT learning: whether scenario `id` was seen within the 7-day
    /// window before `now` (then new specifics in it are learned silently).
    /// Every sighting extends the window.
    pub fn smart_it_active(&mut self, id: ScenarioId, now: i64) -> bool {
        let active = self.smart_it
            && self
                .scenarios
                .get(&id)
                .is_some_and(|&t| now - t < SMART_IT_WINDOW_NS);
        self.note_scenario(id, now);
        active
    }

    /// Records a sighting of scenario `id`.
    pub fn note_scenario(&mut self, id: ScenarioId, now: i64) {
        let full = self.scenarios.len() >= self.caps.scenarios;
        match self.scenarios.get_mut(&id) {
            Some(t) => *t = (*t).max(now),
            None if !full => {
                self.scenarios.insert(id, now);
            }
            None => self.refused.scenarios += 1,
        }
    }

    // ---- DNS allowlist ----

    /// Whether a DNS name (labels, in order) is on the FQDN allowlist
    /// (exact or a subdomain of an entry).
    pub fn fqdn_allowed<'a>(&self, labels: impl Iterator<Item = &'a [u8]> + Clone) -> bool {
        if self.fqdn_allowlist.is_empty() {
            return false;
        }
        self.fqdn_allowlist.iter().any(|entry| {
            // Compare from the right, label by label.
            let want: Vec<&str> = entry.split('.').collect();
            let got: Vec<&[u8]> = labels.clone().collect();
            got.len() >= want.len()
                && want
                    .iter()
                    .rev()
                    .zip(got.iter().rev())
                    .all(|(w, g)| w.as_bytes().eq_ignore_ascii_case(g))
        })
    }

    /// An allowlisted name resolved to `ip` with `ttl`: allowed until then.
    pub fn allow_ip(&mut self, ip: IpAddr, ttl: u32, now: i64) {
        let until = now + i64::from(ttl.min(MAX_ALLOW_TTL_S)) * NS;
        if self.allowed_ips.len() >= MAX_ALLOWED_IPS && !self.allowed_ips.contains_key(&ip) {
            self.allowed_ips.retain(|_, &mut t| t > now);
            if self.allowed_ips.len() >= MAX_ALLOWED_IPS {
                return;
            }
        }
        let t = self.allowed_ips.entry(ip).or_insert(until);
        *t = (*t).max(until);
    }

    /// Whether `ip` was resolved from an allowlisted name and its TTL runs.
    pub fn ip_allowed(&self, ip: IpAddr, now: i64) -> bool {
        self.allowed_ips.get(&ip).is_some_and(|&t| now <= t)
    }

    pub fn stats(&self) -> BaselineStats {
        let ts = |t: i64| (t != 0).then(|| Timestamp(t).to_string());
        BaselineStats {
            learning: self.learning.on,
            learning_started: ts(self.learning.started),
            learning_ended: ts(self.learning.ended),
            devices: self.devices.len(),
            authorized_devices: self.devices.values().filter(|d| d.authorized).count(),
            programming_devices: self.devices.values().filter(|d| d.programming).count(),
            channels: self.chans.len(),
            entries: self.n_entries,
            subnets: self.subnets.len(),
            ot_subnets: self
                .subnets
                .iter()
                .filter(|s| s.kind == NetKind::Ot)
                .count(),
            smart_it_scenarios: self.scenarios.len(),
            refused: self.refused,
        }
    }

    /// One channel with its entries and ranges (saved form).
    pub fn channel(&self, k: &ChanKey) -> Option<Channel> {
        self.chans.get(k)?;
        self.full_channels().into_iter().find(|c| {
            c.client == k.client
                && c.server == k.server
                && c.port == k.port
                && c.proto == k.proto.name()
        })
    }

    /// Every channel (saved form).
    pub fn channels(&self) -> Vec<Channel> {
        self.full_channels()
    }
}

/// Sorted map helper for reports.
pub fn by_proto(b: &Baseline) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for k in b.chans.keys() {
        *m.entry(k.proto.name().to_string()).or_default() += 1;
    }
    m
}

#[cfg(test)]
mod tests;
