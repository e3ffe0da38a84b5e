//! The anomaly engine: scans (address, long-duration address, port, PLC,
//! ARP), ARP spoofing, ICMP flooding, brute force (failed logins, SMB logon
//! failures, password guessing), excessive sessions, and the rates of Modbus
//! exceptions and DNP3 restarts. The types that compare traffic with what
//! the engine learned (bandwidth, periodic behaviour, inactive channels,
//! message lengths) and the content checks (HTTP heads, standard ports,
//! stop commands) are in [`learned`].
//!
//! Every rule is documented in `docs/engines/anomaly.md`. All thresholds and
//! windows come from the catalog (`crates/alerts/catalog.toml`), with the
//! catalog's values as defaults. Windows slide over capture time.
//!
//! State is bounded: each table holds at most [`MAX_KEYS`] keys (idle keys
//! are dropped first when a table is full, then the whole table; evictions
//! are counted in [`Stats`]), a distinct-target set holds at most [`SLOTS`]
//! targets (the oldest is replaced), and a rate counter is 16 buckets. A
//! detection is reported once per (type, key) per window, then the key
//! re-arms. Nothing is allocated per packet: strings are built only when a
//! detection is reported, and table growth happens only for new keys.

use std::net::{IpAddr, Ipv4Addr};

use hashbrown::HashMap;
use otwatch_alerts::{Catalog, Detection, Endpoint};
use otwatch_core::{Direction, FlowInfo, FlowSide, MacAddr, Proto, Timestamp, Transport};
use otwatch_proto::event::{AppEvent, ArpEvent, Event, Message};
use otwatch_proto::{ftp, telnet};

use crate::Engine;

/// Alert type ids used by this engine (all in `crates/alerts/catalog.toml`).
pub mod ids {
    pub const ADDRESS_SCAN: &str = "address_scan";
    pub const LONG_ADDRESS_SCAN: &str = "long_duration_address_scan";
    pub const PORT_SCAN: &str = "port_scan";
    pub const PLC_SCAN: &str = "plc_scan";
    pub const ARP_SCAN: &str = "arp_address_scan";
    pub const ARP_SPOOFING: &str = "arp_spoofing";
    pub const ICMP_FLOODING: &str = "icmp_flooding";
    pub const EXCESSIVE_LOGINS: &str = "excessive_login_attempts";
    pub const PASSWORD_GUESSING: &str = "password_guessing";
    pub const EXCESSIVE_SMB_LOGINS: &str = "excessive_smb_login_attempts";
    pub const EXCESSIVE_SESSIONS: &str = "excessive_sessions";
    pub const RESTART_RATE: &str = "excessive_restart_rate";
    pub const EXCEPTION_PATTERN: &str = "abnormal_exception_pattern";
    pub const BANDWIDTH: &str = "abnormal_traffic_bandwidth";
    pub const BANDWIDTH_PAIR: &str = "abnormal_traffic_bandwidth_between_devices";
    pub const PERIODIC: &str = "abnormal_periodic_behavior";
    pub const INACTIVE: &str = "inactive_communication_channel";
    pub const STANDARD_PORT: &str = "unexpected_traffic_standard_port";
    pub const MESSAGE_LENGTH: &str = "unexpected_message_length";
    pub const HTTP_HEADER_LENGTH: &str = "abnormal_http_header_length";
    pub const HTTP_HEADER_PARAMS: &str = "abnormal_http_header_parameters";
    pub const HTTP_HEADER_CONTENT: &str = "illegal_http_header_content";
    pub const APP_TERMINATION: &str = "abnormal_application_termination";

    pub const ALL: [&str; 23] = [
        ADDRESS_SCAN,
        LONG_ADDRESS_SCAN,
        PORT_SCAN,
        PLC_SCAN,
        ARP_SCAN,
        ARP_SPOOFING,
        ICMP_FLOODING,
        EXCESSIVE_LOGINS,
        PASSWORD_GUESSING,
        EXCESSIVE_SMB_LOGINS,
        EXCESSIVE_SESSIONS,
        RESTART_RATE,
        EXCEPTION_PATTERN,
        BANDWIDTH,
        BANDWIDTH_PAIR,
        PERIODIC,
        INACTIVE,
        STANDARD_PORT,
        MESSAGE_LENGTH,
        HTTP_HEADER_LENGTH,
        HTTP_HEADER_PARAMS,
        HTTP_HEADER_CONTENT,
        APP_TERMINATION,
    ];
}

pub mod learned;
pub use learned::{MAX_FLOWS, MIN_PERIOD_MS, REARM};

const NS: i64 = 1_000_000_000;
/// Most keys (sources, source/destination pairs...) per table.
pub const MAX_KEYS: usize = 4096;
/// Distinct targets remembered per key; distinct-count thresholds above
/// this act as this value.
pub const SLOTS: usize = 64;
/// Initial capacity of each table (tables grow, only on new keys, up to
/// [`MAX_KEYS`]).
const INITIAL_KEYS: usize = 256;
/// Buckets of a rate counter (the window's resolution is window / 16).
const BUCKETS: usize = 16;
/// Targets listed in a detection's `sample_targets`.
const SAMPLES: usize = 5;

/// Industrial service ports watched by `plc_scan`, with the protocol they
/// are reported as (`None`: the flow's transport).
pub const ICS_PORTS: [(u16, Option<&str>); 13] = [
    (102, Some("s7comm")),
    (502, Some("modbus")),
    (20000, Some("dnp3")),
    (44818, Some("enip")),
    (2404, Some("iec104")),
    (47808, Some("bacnet")),
    (4840, Some("opcua")),
    (9600, Some("fins")),
    (1911, Some("fox")),
    (18245, Some("srtp")),
    (5094, Some("hart_ip")),
    (48898, Some("ads")),
    (4712, None),
];

/// NT status of a failed logon (wrong user name or password).
pub const STATUS_LOGON_FAILURE: u32 = 0xC000_006D;

fn secs(ts: Timestamp) -> u32 {
    (ts.0 / NS).clamp(0, u32::MAX as i64) as u32
}

/// A 32-bit target: the IPv4 address, or the folded IPv6 address.
fn ip32(ip: IpAddr) -> u32 {
    match ip {
        IpAddr::V4(v) => u32::from(v),
        IpAddr::V6(v) => {
            let o = v.octets();
            (0..4).fold(0u32, |h, i| {
                h ^ u32::from_be_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]])
                    .rotate_left(8 * i as u32)
            })
        }
    }
}

/// The network of `ip` (IPv4: `prefix` bits; IPv6: the /64), as a number
/// and as text.
fn subnet(ip: IpAddr, prefix: u32) -> u32 {
    match ip {
        IpAddr::V4(v) => {
            let p = prefix.min(32);
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            u32::from(v) & mask
        }
        IpAddr::V6(v) => {
            let o = v.octets();
            u32::from_be_bytes([o[0], o[1], o[2], o[3]])
                ^ u32::from_be_bytes([o[4], o[5], o[6], o[7]]).rotate_left(16)
        }
    }
}

fn subnet_text(ip: IpAddr, prefix: u32) -> String {
    match ip {
        IpAddr::V4(_) => format!("{}/{}", Ipv4Addr::from(subnet(ip, prefix)), prefix.min(32)),
        IpAddr::V6(v) => {
            let s = v.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn group_addr(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            v.is_broadcast() || v.is_multicast() || v.is_unspecified() || v.octets()[3] == 255
        }
        IpAddr::V6(v) => v.is_multicast() || v.is_unspecified(),
    }
}

fn endpoint(s: &FlowSide) -> Endpoint {
    Endpoint {
        ip: Some(s.ip),
        mac: Some(s.mac),
        port: Some(s.port),
    }
}

fn host(s: &FlowSide) -> Endpoint {
    Endpoint {
        ip: Some(s.ip),
        mac: Some(s.mac),
        port: None,
    }
}

/// The distinct targets of one key, with the capture second each was first
/// seen; when full, the oldest is replaced. A target contacted again is not
/// counted again: a poller that keeps talking to the same hosts is reported
/// at most once, a scan's new targets are.
#[derive(Clone, Copy, Debug)]
struct Distinct {
    target: [u32; SLOTS],
    at: [u32; SLOTS],
    len: u8,
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct {
            target: [0; SLOTS],
            at: [0; SLOTS],
            len: 0,
        }
    }
}

impl Distinct {
    fn add(&mut self, t: u32, now: u32) {
        let n = self.len as usize;
        if self.target[..n].contains(&t) {
            return;
        }
        if n < SLOTS {
            self.target[n] = t;
            self.at[n] = now;
            self.len += 1;
            return;
        }
        let oldest = (0..SLOTS).min_by_key(|&i| self.at[i]).unwrap_or(0);
        self.target[oldest] = t;
        self.at[oldest] = now;
    }

    /// Targets seen at or after `since`: (count, earliest second).
    fn count_since(&self, since: u32) -> (usize, u32) {
        let mut c = 0;
        let mut first = u32::MAX;
        for i in 0..self.len as usize {
            if self.at[i] >= since {
                c += 1;
                first = first.min(self.at[i]);
            }
        }
        (c, first)
    }

    /// Up to [`SAMPLES`] of the most recent targets seen at or after `since`.
    fn samples(&self, since: u32) -> Vec<u32> {
        let mut v: Vec<(u32, usize)> = (0..self.len as usize)
            .filter(|&i| self.at[i] >= since)
            .map(|i| (self.at[i], i))
            .collect();
        // Newest first; within a second, the latest slot first.
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.into_iter()
            .take(SAMPLES)
            .map(|x| self.target[x.1])
            .collect()
    }
}

/// Events per capture second in a sliding window of 16 buckets.
#[derive(Clone, Copy, Debug, Default)]
struct Rate {
    b: [u32; BUCKETS],
    /// Absolute index of the newest bucket.
    head: u32,
}

impl Rate {
    fn width(window: u32) -> u32 {
        window.div_ceil(BUCKETS as u32).max(1)
    }

    fn advance(&mut self, now: u32, window: u32) -> u32 {
        let idx = now / Rate::width(window);
        if idx > self.head {
            let gap = (idx - self.head).min(BUCKETS as u32);
            for k in 1..=gap {
                self.b[((self.head + k) as usize) % BUCKETS] = 0;
            }
            self.head = idx;
        }
        idx
    }

    /// Counts one event at `now`; returns the count in the window.
    fn add(&mut self, now: u32, window: u32) -> u32 {
        let idx = self.advance(now, window);
        if idx + (BUCKETS as u32) > self.head {
            let s = &mut self.b[(idx as usize) % BUCKETS];
            *s = s.saturating_add(1);
        }
        self.b.iter().fold(0u32, |a, &x| a.saturating_add(x))
    }
}

/// A table entry: the value, the last activity and, per detection slot,
/// when it last alerted.
#[derive(Clone, Copy, Debug)]
struct Entry<V> {
    v: V,
    last: u32,
    alerted: [Option<u32>; 3],
}

impl<V> Entry<V> {
    /// Whether slot `i` may alert at `now` (never alerted, or the window has
    /// passed since); if so, marks it.
    fn arm(&mut self, i: usize, now: u32, window: u32) -> bool {
        match self.alerted[i] {
            Some(t) if now.saturating_sub(t) < window => false,
            _ => {
                self.alerted[i] = Some(now);
                true
            }
        }
    }
}

/// A bounded table: when full, keys idle for longer than `keep` seconds are
/// dropped, and if that frees less than an eighth of it, everything is.
#[derive(Debug)]
struct Table<K, V> {
    map: HashMap<K, Entry<V>>,
    evictions: u64,
}

impl<K: std::hash::Hash + Eq, V: Default> Table<K, V> {
    fn new() -> Self {
        Table {
            map: HashMap::with_capacity(INITIAL_KEYS),
            evictions: 0,
        }
    }

    fn entry(&mut self, k: K, now: u32, keep: u32) -> &mut Entry<V> {
        if self.map.len() >= MAX_KEYS && !self.map.contains_key(&k) {
            let before = self.map.len();
            self.map.retain(|_, e| now.saturating_sub(e.last) <= keep);
            // Free at least an eighth of the table, so that the scan above
            // runs at most once per MAX_KEYS / 8 new keys.
            if self.map.len() > MAX_KEYS - MAX_KEYS / 8 {
                self.map.clear();
            }
            self.evictions += (before - self.map.len()) as u64;
        }
        let e = self.map.entry(k).or_insert_with(|| Entry {
            v: V::default(),
            last: now,
            alerted: [None; 3],
        });
        e.last = now;
        e
    }
}

/// Count and window (seconds) of one type.
#[derive(Clone, Copy, Debug)]
struct Limit {
    on: bool,
    count: u32,
    window: u32,
}

/// Enabled types and thresholds, read once from the catalog.
#[derive(Clone, Copy, Debug)]
struct Config {
    addr: Limit,
    long_addr: Limit,
    prefix: u32,
    long_prefix: u32,
    port: Limit,
    plc: Limit,
    arp_scan: Limit,
    arp_spoof: Limit,
    icmp: Limit,
    logins: Limit,
    guessing: Limit,
    smb: Limit,
    sessions: Limit,
    restarts: Limit,
    exceptions: Limit,
}

impl Config {
    fn from_catalog(cat: &Catalog) -> Config {
        let th = |id: &str, name: &str, dflt: u64| {
            cat.get(id).and_then(|t| t.threshold(name)).unwrap_or(dflt)
        };
        let lim = |id: &str, count: u64, window: u64, distinct: bool| {
            let c = th(id, "count", count).clamp(1, u32::MAX as u64) as u32;
            Limit {
                on: cat.get(id).is_some() && cat.is_enabled(id),
                count: if distinct { c.min(SLOTS as u32) } else { c },
                window: th(id, "window", window).clamp(1, u32::MAX as u64) as u32,
            }
        };
        Config {
            addr: lim(ids::ADDRESS_SCAN, 50, 120, true),
            long_addr: lim(ids::LONG_ADDRESS_SCAN, 50, 600, true),
            prefix: th(ids::ADDRESS_SCAN, "subnet_prefix", 16).min(32) as u32,
            long_prefix: th(ids::LONG_ADDRESS_SCAN, "subnet_prefix", 16).min(32) as u32,
            port: lim(ids::PORT_SCAN, 25, 120, true),
            plc: lim(ids::PLC_SCAN, 10, 120, true),
            arp_scan: lim(ids::ARP_SCAN, 40, 360, true),
            arp_spoof: lim(ids::ARP_SPOOFING, 60, 60, false),
            icmp: lim(ids::ICMP_FLOODING, 60, 60, false),
            logins: lim(ids::EXCESSIVE_LOGINS, 20, 60, false),
            guessing: lim(ids::PASSWORD_GUESSING, 100, 60, false),
            smb: lim(ids::EXCESSIVE_SMB_LOGINS, 10, 600, false),
            sessions: lim(ids::EXCESSIVE_SESSIONS, 50, 60, false),
            restarts: lim(ids::RESTART_RATE, 10, 3600, false),
            exceptions: lim(ids::EXCEPTION_PATTERN, 20, 3600, false),
        }
    }
}

/// Counters of the engine's own bounded state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Keys dropped because a table was full.
    pub evictions: u64,
    /// Keys held by the largest table.
    pub max_table_len: usize,
    /// Keys held by all tables.
    pub total_keys: usize,
}

/// Failed logins of one client/server/protocol.
#[derive(Clone, Copy, Debug, Default)]
struct Logins {
    short: Rate,
    guess: Rate,
    smb: Rate,
}

/// The IP/MAC binding announced by ARP.
#[derive(Clone, Copy, Debug)]
struct Binding {
    mac: MacAddr,
    /// Capture second of the last claim.
    at: u32,
}

impl Default for Binding {
    fn default() -> Self {
        Binding {
            mac: MacAddr::BROADCAST,
            at: 0,
        }
    }
}

/// The anomaly engine.
#[derive(Debug)]
pub struct Anomaly {
    cfg: Config,
    /// (scanner, destination network) → destination addresses.
    addr: Table<(IpAddr, u32), Distinct>,
    /// Same, for the long window (its own prefix).
    long_addr: Table<(IpAddr, u32), Distinct>,
    /// (scanner, host) → destination ports.
    ports: Table<(IpAddr, IpAddr), Distinct>,
    /// (scanner, protocol) → controllers.
    plcs: Table<(IpAddr, &'static str), Distinct>,
    /// Sender MAC → requested addresses.
    arp_scan: Table<MacAddr, Distinct>,
    /// IP → the MAC that last claimed it.
    arp_bind: Table<IpAddr, Binding>,
    /// Sender MAC → ARP replies and announcements (alert state of `arp_spoofing`).
    arp_rate: Table<MacAddr, Rate>,
    /// (source, destination) → ICMP queries.
    icmp: Table<(IpAddr, IpAddr), Rate>,
    /// (client, server, protocol) → failed logins.
    logins: Table<(IpAddr, IpAddr, Proto), Logins>,
    /// (client, server, server port) → new TCP sessions.
    sessions: Table<(IpAddr, IpAddr, u16), Rate>,
    /// (master, outstation) → restart requests.
    restarts: Table<(IpAddr, IpAddr), Rate>,
    /// (server, client) → exception responses.
    exceptions: Table<(IpAddr, IpAddr), Rate>,
    /// Bandwidth, periods, lengths, HTTP heads, standard ports, stops.
    learned: learned::Learned,
}

impl Anomaly {
    pub fn new(cat: &Catalog) -> Anomaly {
        Anomaly {
            cfg: Config::from_catalog(cat),
            addr: Table::new(),
            long_addr: Table::new(),
            ports: Table::new(),
            plcs: Table::new(),
            arp_scan: Table::new(),
            arp_bind: Table::new(),
            arp_rate: Table::new(),
            icmp: Table::new(),
            logins: Table::new(),
            sessions: Table::new(),
            restarts: Table::new(),
            exceptions: Table::new(),
            learned: learned::Learned::new(cat),
        }
    }

    /// The state of the engine's tables.
    pub fn stats(&self) -> Stats {
        let l = self.learned.tables();
        let lens = [
            l[0],
            l[1],
            l[2],
            l[3],
            l[4],
            l[5],
            (self.addr.map.len(), self.addr.evictions),
            (self.long_addr.map.len(), self.long_addr.evictions),
            (self.ports.map.len(), self.ports.evictions),
            (self.plcs.map.len(), self.plcs.evictions),
            (self.arp_scan.map.len(), self.arp_scan.evictions),
            (self.arp_bind.map.len(), self.arp_bind.evictions),
            (self.arp_rate.map.len(), self.arp_rate.evictions),
            (self.icmp.map.len(), self.icmp.evictions),
            (self.logins.map.len(), self.logins.evictions),
            (self.sessions.map.len(), self.sessions.evictions),
            (self.restarts.map.len(), self.restarts.evictions),
            (self.exceptions.map.len(), self.exceptions.evictions),
        ];
        Stats {
            evictions: lens.iter().map(|x| x.1).sum(),
            max_table_len: lens.iter().map(|x| x.0).max().unwrap_or(0),
            total_keys: lens.iter().map(|x| x.0).sum(),
        }
    }

    // ------------------------------------------------------------ flows

    fn flow_start(&mut self, f: &FlowInfo, out: &mut Vec<Detection>) {
        let tcp = match f.transport {
            Transport::Tcp => true,
            Transport::Udp => false,
            _ => return,
        };
        // A TCP connection picked up mid-stream is not a new contact; UDP
        // between two equal service ports (BACnet 47808 <-> 47808) is peer
        // traffic, not a probe.
        if (tcp && !f.handshake_seen()) || (!tcp && f.client.port == f.server.port) {
            return;
        }
        let (src, dst) = (&f.client, &f.server);
        if group_addr(dst.ip) || group_addr(src.ip) || src.ip == dst.ip {
            return;
        }
        let now = secs(f.first_seen);
        let what = if tcp { "TCP" } else { "UDP" };
        self.address_scan(f, src, dst.ip, now, what, out);
        let c = self.cfg;
        if c.port.on {
            let e = self.ports.entry((src.ip, dst.ip), now, c.port.window);
            e.v.add(dst.port as u32, now);
            let since = now.saturating_sub(c.port.window - 1);
            let (n, first) = e.v.count_since(since);
            if n >= c.port.count as usize && e.arm(0, now, c.port.window) {
                let sample: Vec<String> =
                    e.v.samples(since).iter().map(|p| p.to_string()).collect();
                out.push(
                    Detection::new(ids::PORT_SCAN, f.first_seen, host(src), host(dst))
                        .protocol(if tcp { "tcp" } else { "udp" })
                        .message(format!(
                            "{} probed {n} ports of {} on {what} within {} s (threshold {} in {} s)",
                            src.ip,
                            dst.ip,
                            now - first,
                            c.port.count,
                            c.port.window
                        ))
                        .info("ports", n)
                        .info("sample_ports", sample.join(", "))
                        .flow(f.id),
                );
            }
        }
        if c.plc.on
            && let Some(&(_, name)) = ICS_PORTS.iter().find(|p| p.0 == dst.port)
        {
            let name = name.unwrap_or(f.transport.as_str());
            self.plc_probe(f, name, "connection", f.first_seen, out);
        }
        if tcp && c.sessions.on {
            let e = self
                .sessions
                .entry((src.ip, dst.ip, dst.port), now, c.sessions.window);
            let n = e.v.add(now, c.sessions.window);
            if n >= c.sessions.count && e.arm(0, now, c.sessions.window) {
                let proto = f.proto.map_or("tcp", Proto::name);
                out.push(
                    Detection::new(
                        ids::EXCESSIVE_SESSIONS,
                        f.first_seen,
                        host(src),
                        endpoint(dst),
                    )
                    .protocol(proto)
                    .message(format!(
                        "{} opened {n} TCP sessions to {}:{} in {} s (threshold {})",
                        src.ip, dst.ip, dst.port, c.sessions.window, c.sessions.count
                    ))
                    .info("sessions", n)
                    .flow(f.id),
                );
            }
        }
    }

    /// Counts `dst` as contacted by `src` (a new flow, or an ICMP echo request).
    fn address_scan(
        &mut self,
        f: &FlowInfo,
        src: &FlowSide,
        dst: IpAddr,
        now: u32,
        what: &str,
        out: &mut Vec<Detection>,
    ) {
        let c = self.cfg;
        let mut short_fired = false;
        if c.addr.on {
            let e = self
                .addr
                .entry((src.ip, subnet(dst, c.prefix)), now, c.addr.window);
            e.v.add(ip32(dst), now);
            let since = now.saturating_sub(c.addr.window - 1);
            let (n, first) = e.v.count_since(since);
            if n >= c.addr.count as usize && e.arm(0, now, c.addr.window) {
                short_fired = true;
                let net = subnet_text(dst, c.prefix);
                out.push(scan_detection(
                    ids::ADDRESS_SCAN,
                    f,
                    src,
                    &net,
                    n,
                    now - first,
                    c.addr,
                    what,
                    dst,
                    &e.v.samples(since),
                ));
            }
        }
        if c.long_addr.on {
            let e = self.long_addr.entry(
                (src.ip, subnet(dst, c.long_prefix)),
                now,
                c.long_addr.window,
            );
            e.v.add(ip32(dst), now);
            if short_fired {
                // The fast scan was reported: the slow variant would repeat it.
                e.alerted[0] = Some(now);
                return;
            }
            let since = now.saturating_sub(c.long_addr.window - 1);
            let (n, first) = e.v.count_since(since);
            if n >= c.long_addr.count as usize && e.arm(0, now, c.long_addr.window) {
                let net = subnet_text(dst, c.long_prefix);
                out.push(scan_detection(
                    ids::LONG_ADDRESS_SCAN,
                    f,
                    src,
                    &net,
                    n,
                    now - first,
                    c.long_addr,
                    what,
                    dst,
                    &e.v.samples(since),
                ));
            }
        }
    }

    /// Counts the server of `f` as a controller probed by its client.
    fn plc_probe(
        &mut self,
        f: &FlowInfo,
        proto: &'static str,
        how: &str,
        ts: Timestamp,
        out: &mut Vec<Detection>,
    ) {
        let c = self.cfg.plc;
        let now = secs(ts);
        let (src, dst) = (&f.client, &f.server);
        if group_addr(dst.ip) || src.ip == dst.ip {
            return;
        }
        let e = self.plcs.entry((src.ip, proto), now, c.window);
        e.v.add(ip32(dst.ip), now);
        let since = now.saturating_sub(c.window - 1);
        let (n, first) = e.v.count_since(since);
        if n >= c.count as usize && e.arm(0, now, c.window) {
            let sample = ip_samples(&e.v.samples(since), dst.ip);
            out.push(
                Detection::new(ids::PLC_SCAN, ts, host(src), Endpoint::default())
                    .protocol(proto)
                    .message(format!(
                        "{} probed {n} controllers on {proto} within {} s (threshold {} in {} s; last: {how} to {})",
                        src.ip,
                        now - first,
                        c.count,
                        c.window,
                        dst.ip
                    ))
                    .info("controllers", n)
                    .info("sample_targets", sample)
                    .flow(f.id),
            );
        }
    }

    // ------------------------------------------------------------ app

    fn app(&mut self, a: &AppEvent<'_>, out: &mut Vec<Detection>) {
        let now = secs(a.ts);
        let f = a.flow;
        match &a.msg {
            Message::Icmp(m) => {
                let q = matches!((m.version, m.icmp_type), (4, 8 | 13 | 15 | 17) | (6, 128));
                if !q {
                    return;
                }
                let ep = f.endpoints(a.dir);
                let (src, dst) = (*ep.src, *ep.dst);
                let echo = matches!((m.version, m.icmp_type), (4, 8) | (6, 128));
                if echo && !group_addr(dst.ip) && !group_addr(src.ip) && src.ip != dst.ip {
                    self.address_scan(f, &src, dst.ip, now, "ICMP echo", out);
                }
                let c = self.cfg.icmp;
                if c.on {
                    let e = self.icmp.entry((src.ip, dst.ip), now, c.window);
                    let n = e.v.add(now, c.window);
                    if n > c.count && e.arm(0, now, c.window) {
                        out.push(
                            Detection::new(ids::ICMP_FLOODING, a.ts, host(&src), host(&dst))
                                .protocol("icmp")
                                .message(format!(
                                    "{} sent {n} ICMP queries to {} in {} s (threshold {})",
                                    src.ip, dst.ip, c.window, c.count
                                ))
                                .info("packets", n)
                                .info("icmp_type", m.icmp_type)
                                .flow(f.id),
                        );
                    }
                }
            }
            Message::Ftp(ftp::Message::Reply {
                login: Some(ftp::Login::Failure),
                code,
                ..
            }) => self.login_failed(a, Proto::Ftp, format!("FTP reply {code}"), false, out),
            Message::Telnet(telnet::Message::LoginFailed { .. }) => {
                self.login_failed(a, Proto::Telnet, "Telnet login failed".into(), false, out)
            }
            Message::Smb(m)
                if m.cmd.response
                    && m.cmd.status == STATUS_LOGON_FAILURE
                    && matches!((m.cmd.version, m.cmd.command), (1, 0x73) | (2, 0x01)) =>
            {
                self.login_failed(
                    a,
                    Proto::Smb,
                    "SMB SESSION_SETUP STATUS_LOGON_FAILURE".into(),
                    true,
                    out,
                )
            }
            Message::Http(m) if m.head.is_response() && m.head.status == 401 => {
                self.login_failed(a, Proto::Http, "HTTP 401".into(), false, out)
            }
            Message::Vnc(otwatch_proto::vnc::Message::SecurityResult { ok: false, .. }) => self
                .login_failed(
                    a,
                    Proto::Vnc,
                    "VNC authentication failed".into(),
                    false,
                    out,
                ),
            Message::Modbus(m) => {
                let p = &m.pdu;
                if a.dir == Direction::ToServer
                    && p.exception_code.is_none()
                    && p.function_code == 43
                    && p.mei_type == Some(14)
                    && self.cfg.plc.on
                {
                    self.plc_probe(f, "modbus", "Read Device Identification", a.ts, out);
                }
                if a.dir == Direction::ToClient
                    && let Some(x) = p.exception_code
                {
                    self.exception(a, x, p.function_code, out);
                }
            }
            Message::Enip(m) if m.command() == 0x63 && self.cfg.plc.on => {
                self.plc_probe(f, "enip", "ListIdentity", a.ts, out)
            }
            Message::S7comm(m)
                if a.dir == Direction::ToServer && m.szl().is_some() && self.cfg.plc.on =>
            {
                self.plc_probe(f, "s7comm", "Read SZL", a.ts, out)
            }
            Message::Dnp3(m) if matches!(m.function_code, 13 | 14) => {
                let c = self.cfg.restarts;
                if !c.on {
                    return;
                }
                let ep = f.endpoints(a.dir);
                let e = self.restarts.entry((ep.src.ip, ep.dst.ip), now, c.window);
                let n = e.v.add(now, c.window);
                if n >= c.count && e.arm(0, now, c.window) {
                    let what = if m.function_code == 13 {
                        "cold"
                    } else {
                        "warm"
                    };
                    out.push(
                        Detection::new(ids::RESTART_RATE, a.ts, host(ep.src), host(ep.dst))
                            .protocol("dnp3")
                            .message(format!(
                                "{} sent {n} DNP3 restart requests to outstation {} (address {}) in {} s (threshold {}; last: {what} restart)",
                                ep.src.ip, ep.dst.ip, m.dst_addr, c.window, c.count
                            ))
                            .info("restarts", n)
                            .info("outstation_address", m.dst_addr)
                            .flow(f.id),
                    );
                }
            }
            _ => {}
        }
    }

    fn exception(&mut self, a: &AppEvent<'_>, code: u8, fc: u8, out: &mut Vec<Detection>) {
        let c = self.cfg.exceptions;
        if !c.on {
            return;
        }
        let now = secs(a.ts);
        let ep = a.flow.endpoints(a.dir);
        let e = self.exceptions.entry((ep.src.ip, ep.dst.ip), now, c.window);
        let n = e.v.add(now, c.window);
        if n >= c.count && e.arm(0, now, c.window) {
            out.push(
                Detection::new(ids::EXCEPTION_PATTERN, a.ts, host(ep.src), host(ep.dst))
                    .protocol("modbus")
                    .message(format!(
                        "{} returned {n} Modbus exceptions to {} in {} s (threshold {}; last: exception {code} to function {fc})",
                        ep.src.ip, ep.dst.ip, c.window, c.count
                    ))
                    .info("exceptions", n)
                    .info("last_exception_code", code)
                    .info("last_function_code", fc)
                    .flow(a.flow.id),
            );
        }
    }

    /// One failed login of the flow's client to its server.
    fn login_failed(
        &mut self,
        a: &AppEvent<'_>,
        proto: Proto,
        what: String,
        smb: bool,
        out: &mut Vec<Detection>,
    ) {
        let c = self.cfg;
        if !(c.logins.on || c.guessing.on || (smb && c.smb.on)) {
            return;
        }
        let now = secs(a.ts);
        let f = a.flow;
        let keep = c.logins.window.max(c.guessing.window).max(c.smb.window);
        let e = self
            .logins
            .entry((f.client.ip, f.server.ip, proto), now, keep);
        let n_short = e.v.short.add(now, c.logins.window);
        let n_guess = e.v.guess.add(now, c.guessing.window);
        let n_smb = if smb {
            e.v.smb.add(now, c.smb.window)
        } else {
            0
        };
        let mut fire = |ty: &'static str, n: u32, l: Limit, slot: usize, e: &mut Entry<Logins>| {
            if l.on && n >= l.count && e.arm(slot, now, l.window) {
                out.push(
                    Detection::new(ty, a.ts, host(&f.client), endpoint(&f.server))
                        .protocol(proto.name())
                        .message(format!(
                            "{} failed {n} {} logins to {} in {} s (threshold {}; last: {what})",
                            f.client.ip,
                            proto.title(),
                            f.server.ip,
                            l.window,
                            l.count
                        ))
                        .info("failures", n)
                        .flow(f.id),
                );
            }
        };
        fire(ids::EXCESSIVE_LOGINS, n_short, c.logins, 0, e);
        fire(ids::PASSWORD_GUESSING, n_guess, c.guessing, 1, e);
        if smb {
            fire(ids::EXCESSIVE_SMB_LOGINS, n_smb, c.smb, 2, e);
        }
    }

    // ------------------------------------------------------------ ARP

    fn arp(&mut self, a: &ArpEvent, out: &mut Vec<Detection>) {
        let now = secs(a.ts);
        let c = self.cfg;
        let sender = a.sender_ip.filter(|ip| !ip.is_unspecified());
        if c.arp_scan.on
            && a.operation == 1
            && !a.is_gratuitous()
            && let Some(t) = a.target_ip
        {
            let e = self.arp_scan.entry(a.sender_mac, now, c.arp_scan.window);
            e.v.add(ip32(t), now);
            let since = now.saturating_sub(c.arp_scan.window - 1);
            let (n, first) = e.v.count_since(since);
            if n >= c.arp_scan.count as usize && e.arm(0, now, c.arp_scan.window) {
                let src = Endpoint {
                    ip: sender,
                    mac: Some(a.sender_mac),
                    port: None,
                };
                out.push(
                    Detection::new(ids::ARP_SCAN, a.ts, src, Endpoint::default())
                        .protocol("arp")
                        .message(format!(
                            "{} ({}) ARP-requested {n} addresses within {} s (threshold {} in {} s)",
                            a.sender_mac,
                            sender.map_or("no IP".to_string(), |i| i.to_string()),
                            now - first,
                            c.arp_scan.count,
                            c.arp_scan.window
                        ))
                        .info("addresses", n)
                        .info("sample_targets", ip_samples(&e.v.samples(since), t)),
                );
            }
        }
        if !c.arp_spoof.on {
            return;
        }
        let Some(ip) = sender else {
            return;
        };
        let w = c.arp_spoof.window;
        // The binding this packet announces, against the one announced before.
        let b = self.arp_bind.entry(ip, now, w);
        let (previous, previous_at) = (b.v.mac, b.v.at);
        b.v = Binding {
            mac: a.sender_mac,
            at: now,
        };
        let conflict = previous != MacAddr::BROADCAST
            && previous != a.sender_mac
            && now.saturating_sub(previous_at) < w;
        let r = self.arp_rate.entry(a.sender_mac, now, w);
        let n = if a.operation == 2 || a.is_gratuitous() {
            r.v.add(now, w)
        } else {
            0
        };
        let flood = n >= c.arp_spoof.count;
        if (conflict || flood) && r.arm(0, now, w) {
            let src = Endpoint {
                ip: Some(ip),
                mac: Some(a.sender_mac),
                port: None,
            };
            let msg = if conflict {
                format!(
                    "{} claimed {ip}, which {previous} claimed {} s before (window {w} s)",
                    a.sender_mac,
                    now - previous_at
                )
            } else {
                format!(
                    "{} ({ip}) sent {n} ARP replies/announcements in {w} s (threshold {})",
                    a.sender_mac, c.arp_spoof.count
                )
            };
            let mut d = Detection::new(ids::ARP_SPOOFING, a.ts, src, Endpoint::default())
                .protocol("arp")
                .message(msg)
                .info("arp_packets", n.max(1));
            if conflict {
                d = d
                    .info("claimed_ip", ip)
                    .info("previous_mac", previous)
                    .info("gratuitous", a.is_gratuitous());
            }
            out.push(d);
        }
    }
}

fn ip_samples(v: &[u32], like: IpAddr) -> String {
    match like {
        IpAddr::V4(_) => v
            .iter()
            .map(|&x| Ipv4Addr::from(x).to_string())
            .collect::<Vec<_>>()
            .join(", "),
        IpAddr::V6(_) => format!("{like} (IPv6: only the last target is kept)"),
    }
}

#[allow(clippy::too_many_arguments)]
fn scan_detection(
    ty: &'static str,
    f: &FlowInfo,
    src: &FlowSide,
    net: &str,
    n: usize,
    span: u32,
    l: Limit,
    what: &str,
    last: IpAddr,
    samples: &[u32],
) -> Detection {
    Detection::new(ty, f.first_seen, host(src), Endpoint::default())
        .protocol(match f.transport {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            _ => "icmp",
        })
        .key("subnet", net)
        .message(format!(
            "{} contacted {n} hosts of {net} on {what} within {span} s (threshold {} in {} s)",
            src.ip, l.count, l.window
        ))
        .info("hosts", n)
        .info("sample_targets", ip_samples(samples, last))
        .flow(f.id)
}

impl Engine for Anomaly {
    fn kind(&self) -> otwatch_alerts::Engine {
        otwatch_alerts::Engine::Anomaly
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<Detection>) {
        match ev {
            Event::FlowStart(f) => self.flow_start(f, out),
            Event::App(a) => {
                self.app(a, out);
                self.learned.app(a, out);
            }
            Event::Arp(a) => self.arp(a, out),
            Event::FlowEnd(f) => self.learned.flow_end(f, out),
            Event::Malformed(m) => self.learned.malformed(m, out),
            _ => {}
        }
    }

    fn on_time(&mut self, now: Timestamp, out: &mut Vec<Detection>) {
        self.learned.tick(now, out);
    }
}
