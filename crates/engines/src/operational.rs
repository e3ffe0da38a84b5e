//! The operational engine: PLC stop / start / reset / mode change commands,
//! program transfers, unresponsive devices and sensor-traffic gaps.
//!
//! Every rule is documented in `docs/engines/operational.md`. The engine
//! looks only at the events it needs (fast path: a `match` on the message
//! type, then a few byte comparisons); it keeps three bounded tables (request
//! channels, Modbus channels, recent transfers) and allocates only when it
//! reports a detection.

use std::borrow::Cow;
use std::net::IpAddr;

use hashbrown::HashMap;
use otwatch_alerts::{Catalog, Detection, Endpoint};
use otwatch_core::{Direction, FlowId, FlowInfo, FlowSide, MsgKind, Proto, Timestamp};
use otwatch_proto::event::{AppEvent, Event, Message};
use otwatch_proto::{ads, enip, mms, s7comm};

use crate::ring::{RING, Ring};
use crate::{Engine, event_ts};

/// Alert type ids used by this engine (all in `crates/alerts/catalog.toml`).
pub mod ids {
    pub const S7_PLC_STOP: &str = "s7_plc_stop";
    pub const CONTROLLER_STOP: &str = "controller_stop";
    pub const CONTROLLER_RESET: &str = "controller_reset";
    pub const MODE_CHANGED: &str = "plc_operating_mode_changed";
    /// Policy-violation type: classified here, reported by [`crate::policy`]
    /// (only from sources that are not programming devices).
    pub const PROGRAMMING: &str = "plc_programming";
    /// Policy-violation type: classified here, reported by [`crate::policy`].
    pub const PROGRAM_UPLOAD: &str = "plc_program_upload";
    pub const DEVICE_UNRESPONSIVE: &str = "device_unresponsive";
    pub const MODBUS_UNRESPONSIVE: &str = "modbus_unresponsive";
    pub const NO_TRAFFIC: &str = "sensor_interface_no_traffic";
    pub const TRAFFIC_RESUMED: &str = "sensor_interface_traffic";
    /// Protocol-violation type in the catalog; reported here with the other
    /// controller commands (see the docs).
    pub const FIRMWARE_UPDATE: &str = "firmware_update";
    pub const SRTP_PLC_STOP: &str = "srtp_plc_stop";

    /// The types this engine reports.
    pub const ALL: [&str; 10] = [
        FIRMWARE_UPDATE,
        S7_PLC_STOP,
        CONTROLLER_STOP,
        CONTROLLER_RESET,
        MODE_CHANGED,
        DEVICE_UNRESPONSIVE,
        MODBUS_UNRESPONSIVE,
        NO_TRAFFIC,
        TRAFFIC_RESUMED,
        SRTP_PLC_STOP,
    ];
}

const NS: i64 = 1_000_000_000;
/// A request is counted as unanswered only once it is this old.
pub const REPLY_TIMEOUT_NS: i64 = 5 * NS;
/// Default silence before "No Traffic Detected on Sensor Interface" (the
/// catalog has no threshold for it; a `silence` threshold overrides).
pub const DEFAULT_SILENCE_S: u64 = 600;
/// Repeated transfer messages (download blocks...) of one flow within this
/// time are one program transfer.
pub const TRANSFER_QUIET_NS: i64 = 60 * NS;
/// The SRTP service request code that sets the PLC run/stop state.
pub const SRTP_SET_PLC_STATE: u8 = 0x23;
/// Most channels tracked per table.
pub const MAX_CHANNELS: usize = 4096;
/// Recent transfers remembered for de-duplication.
const RECENT: usize = 64;
/// COTP connections whose rack/slot is remembered.
const RACKS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct ChanKey {
    client: IpAddr,
    server: IpAddr,
    proto: Proto,
}

/// One request/response channel.
#[derive(Clone, Copy, Debug)]
struct Chan {
    client: FlowSide,
    server: FlowSide,
    flow: FlowId,
    last_seen: i64,
    /// A response was seen on the channel (the device was answering).
    answered: bool,
    last_response: i64,
    /// Requests since the last response (generic) / all requests (Modbus).
    requests: Ring,
    /// Valid (matched) responses (Modbus only).
    responses: Ring,
    alerted: bool,
    /// Requests since the last (valid) response.
    unanswered: u32,
    /// The channel's key is in its table's `suspects` list.
    suspect: bool,
}

impl Chan {
    fn new(f: &FlowInfo, ts: i64) -> Chan {
        Chan {
            client: f.client,
            server: f.server,
            flow: f.id,
            last_seen: ts,
            answered: false,
            last_response: 0,
            requests: Ring::default(),
            responses: Ring::default(),
            alerted: false,
            unanswered: 0,
            suspect: false,
        }
    }
}

/// A bounded channel table: when full, channels idle for longer than
/// `keep_ns` are dropped, and if that is not enough, everything is.
#[derive(Debug, Default)]
struct Channels {
    map: HashMap<ChanKey, Chan>,
    evictions: u64,
    /// Channels with enough unanswered requests to be checked for silence
    /// (the silence scan visits only these, not the whole table).
    suspects: Vec<ChanKey>,
}

impl Channels {
    fn entry(&mut self, k: ChanKey, f: &FlowInfo, ts: i64, keep_ns: i64) -> &mut Chan {
        if self.map.len() >= MAX_CHANNELS && !self.map.contains_key(&k) {
            let before = self.map.len();
            self.map.retain(|_, c| ts - c.last_seen <= keep_ns);
            if self.map.len() >= MAX_CHANNELS {
                self.map.clear();
            }
            self.evictions += (before - self.map.len()) as u64;
        }
        let c = self.map.entry(k).or_insert_with(|| Chan::new(f, ts));
        c.last_seen = ts;
        c.flow = f.id;
        c
    }

    /// Counts a request on `k`; the channel becomes a suspect once
    /// `threshold` requests are unanswered.
    fn request(&mut self, k: ChanKey, threshold: usize) {
        let Some(c) = self.map.get_mut(&k) else {
            return;
        };
        c.unanswered = c.unanswered.saturating_add(1);
        if !c.suspect && c.unanswered as usize >= threshold {
            c.suspect = true;
            if self.suspects.len() >= 2 * MAX_CHANNELS {
                // Stale keys of evicted channels: rebuild from the table.
                self.suspects = self
                    .map
                    .iter()
                    .filter(|(_, c)| c.suspect)
                    .map(|(k, _)| *k)
                    .collect();
            }
            self.suspects.push(k);
        }
    }

    /// The suspects still worth checking (drops the others from the list).
    fn take_suspects(&mut self, threshold: usize) -> Vec<ChanKey> {
        let map = &mut self.map;
        self.suspects.retain(|k| match map.get_mut(k) {
            Some(c) if c.unanswered as usize >= threshold => true,
            Some(c) => {
                c.suspect = false;
                false
            }
            None => false,
        });
        self.suspects.clone()
    }
}

/// Enabled types and thresholds, read once from the catalog.
#[derive(Clone, Debug)]
struct Config {
    enabled: [bool; ids::ALL.len()],
    unresp_count: usize,
    unresp_window: i64,
    mb_min_requests: usize,
    mb_min_responses: usize,
    mb_window: i64,
    silence: i64,
}

impl Config {
    fn from_catalog(cat: &Catalog) -> Config {
        let mut enabled = [false; ids::ALL.len()];
        for (i, id) in ids::ALL.iter().enumerate() {
            enabled[i] = !id.is_empty() && cat.get(id).is_some() && cat.is_enabled(id);
        }
        let th = |id: &str, name: &str, dflt: u64| {
            cat.get(id).and_then(|t| t.threshold(name)).unwrap_or(dflt)
        };
        let clamp = |v: u64| (v.max(1) as usize).min(RING);
        Config {
            enabled,
            unresp_count: clamp(th(ids::DEVICE_UNRESPONSIVE, "count", 8)),
            unresp_window: th(ids::DEVICE_UNRESPONSIVE, "window", 300) as i64 * NS,
            mb_min_requests: clamp(th(ids::MODBUS_UNRESPONSIVE, "min_requests", 3)),
            mb_min_responses: clamp(th(ids::MODBUS_UNRESPONSIVE, "min_responses", 1)),
            mb_window: th(ids::MODBUS_UNRESPONSIVE, "window", 300) as i64 * NS,
            silence: th(ids::NO_TRAFFIC, "silence", DEFAULT_SILENCE_S).max(1) as i64 * NS,
        }
    }

    fn on(&self, id: &str) -> bool {
        ids::ALL
            .iter()
            .position(|x| *x == id)
            .is_some_and(|i| self.enabled[i])
    }
}

/// Counters of the engine's own bounded state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Channels dropped because a table was full.
    pub channel_evictions: u64,
    /// Transfer messages not reported because the same flow reported one recently.
    pub transfers_merged: u64,
}

/// The operational engine.
#[derive(Debug)]
pub struct Operational {
    cfg: Config,
    chans: Channels,
    modbus: Channels,
    /// (flow, type, time) of recent transfer detections.
    recent: [(FlowId, &'static str, i64); RECENT],
    recent_next: usize,
    /// (flow, rack, slot) from COTP connection requests.
    racks: [(FlowId, u8, u8); RACKS],
    racks_next: usize,
    /// Capture time of the newest event, 0 before the first.
    last_ts: i64,
    transfers_merged: u64,
    /// Capture time of the last silence scan (scans walk every channel, so
    /// they run every [`SILENCE_SCAN_NS`], not every capture second).
    last_scan: i64,
}

/// Interval between two scans for unanswered channels: the detection is
/// about minutes of silence, a 5-second granularity costs nothing in
/// accuracy and keeps the scan off the profile.
const SILENCE_SCAN_NS: i64 = 5_000_000_000;

/// What one command message means.
pub(crate) struct Hit {
    pub(crate) ty: &'static str,
    /// What was sent ("PLC STOP", "cold restart"...).
    pub(crate) action: Cow<'static, str>,
    /// Operating mode (mode changes: the key `value`).
    value: Option<Cow<'static, str>>,
    /// Transfers are de-duplicated per flow.
    transfer: bool,
    /// The controller is the sender (S7 mode-transition pushes).
    plc_sends: bool,
    pub(crate) info: Option<(&'static str, String)>,
}

impl Hit {
    fn new(ty: &'static str, action: impl Into<Cow<'static, str>>) -> Hit {
        Hit {
            ty,
            action: action.into(),
            value: None,
            transfer: matches!(
                ty,
                ids::PROGRAMMING | ids::PROGRAM_UPLOAD | ids::FIRMWARE_UPDATE
            ),
            plc_sends: false,
            info: None,
        }
    }
    fn mode(action: impl Into<Cow<'static, str>>, value: impl Into<Cow<'static, str>>) -> Hit {
        let mut h = Hit::new(ids::MODE_CHANGED, action);
        h.value = Some(value.into());
        h
    }
    fn info(mut self, k: &'static str, v: impl ToString) -> Hit {
        self.info = Some((k, v.to_string()));
        self
    }
}

fn endpoint(s: &FlowSide) -> Endpoint {
    Endpoint {
        ip: Some(s.ip),
        mac: Some(s.mac),
        port: Some(s.port),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string()
}

/// Protocols whose request/response channels are watched for silence
/// (Modbus has its own rule).
fn watched(p: Proto) -> bool {
    matches!(
        p,
        Proto::S7comm
            | Proto::S7commPlus
            | Proto::Enip
            | Proto::Dnp3
            | Proto::Mms
            | Proto::Fins
            | Proto::Ads
            | Proto::Melsec
            | Proto::Srtp
            | Proto::Iec104
            | Proto::Opcua
            | Proto::HartIp
            | Proto::Tristation
    )
}

fn group_addr(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_broadcast() || v.is_multicast() || v.octets()[3] == 255,
        IpAddr::V6(v) => v.is_multicast(),
    }
}

impl Operational {
    pub fn new(cat: &Catalog) -> Operational {
        Operational {
            cfg: Config::from_catalog(cat),
            chans: Channels::default(),
            modbus: Channels::default(),
            recent: [(FlowId(u64::MAX), "", 0); RECENT],
            recent_next: 0,
            racks: [(FlowId(u64::MAX), 0, 0); RACKS],
            racks_next: 0,
            last_ts: 0,
            transfers_merged: 0,
            last_scan: i64::MIN / 2,
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            channel_evictions: self.chans.evictions + self.modbus.evictions,
            transfers_merged: self.transfers_merged,
        }
    }

    fn traffic_gap(&mut self, ts: i64, out: &mut Vec<Detection>) {
        if ts <= self.last_ts {
            return;
        }
        let last = self.last_ts;
        self.last_ts = ts;
        if last == 0 || ts - last <= self.cfg.silence {
            return;
        }
        let gap_s = (ts - last) / NS;
        if self.cfg.on(ids::NO_TRAFFIC) {
            out.push(
                Detection::new(
                    ids::NO_TRAFFIC,
                    Timestamp(last + self.cfg.silence),
                    Endpoint::default(),
                    Endpoint::default(),
                )
                .key("interface", "capture")
                .message(format!(
                    "no traffic seen for {gap_s} s (silence threshold {} s) after {}",
                    self.cfg.silence / NS,
                    Timestamp(last)
                ))
                .info("silence_s", gap_s),
            );
        }
        if self.cfg.on(ids::TRAFFIC_RESUMED) {
            out.push(
                Detection::new(
                    ids::TRAFFIC_RESUMED,
                    Timestamp(ts),
                    Endpoint::default(),
                    Endpoint::default(),
                )
                .key("interface", "capture")
                .message(format!(
                    "traffic resumed after {gap_s} s without any packet"
                ))
                .info("silence_s", gap_s),
            );
        }
    }

    /// The command a request stands for.
    fn command(&mut self, a: &AppEvent<'_>) -> Option<Hit> {
        match &a.msg {
            Message::Cotp(m) => {
                if m.tpdu.tpdu_type == otwatch_proto::cotp::wire::CR
                    && let Some((r, s)) = m
                        .tpdu
                        .called_tsap
                        .and_then(otwatch_proto::cotp::wire::rack_slot)
                {
                    self.racks[self.racks_next] = (a.flow.id, r, s);
                    self.racks_next = (self.racks_next + 1) % RACKS;
                }
                None
            }
            _ => classify(a),
        }
    }

    fn report(&mut self, a: &AppEvent<'_>, h: Hit, out: &mut Vec<Detection>) {
        if !self.cfg.on(h.ty) {
            return;
        }
        let f = a.flow;
        let ts = a.ts.0;
        if h.transfer {
            let dup = self
                .recent
                .iter()
                .any(|&(fl, ty, t)| fl == f.id && ty == h.ty && ts - t <= TRANSFER_QUIET_NS);
            if dup {
                self.transfers_merged += 1;
                return;
            }
            self.recent[self.recent_next] = (f.id, h.ty, ts);
            self.recent_next = (self.recent_next + 1) % RECENT;
        }
        // The commanding device is the source; transfers and commands go
        // from the flow's client to the controller (its server) whatever the
        // direction of the message (S7 download blocks are PLC jobs).
        let (src, dst) = if h.plc_sends {
            let e = f.endpoints(a.dir);
            (e.src, e.dst)
        } else if h.transfer {
            (&f.client, &f.server)
        } else {
            let e = f.endpoints(a.dir);
            (e.src, e.dst)
        };
        let proto = a.msg.proto();
        let pname = proto.name();
        let label = proto_label(proto);
        let mut where_ = String::new();
        if matches!(proto, Proto::S7comm)
            && let Some(&(_, r, s)) = self.racks.iter().find(|x| x.0 == f.id)
        {
            where_ = format!(" (rack {r} slot {s})");
        }
        let mut d = Detection::new(h.ty, a.ts, endpoint(src), endpoint(dst))
            .protocol(pname)
            .flow(f.id)
            .info("command", &h.action);
        let message = match (&h.value, h.plc_sends) {
            (Some(v), true) => format!(
                "{label} PLC {}{where_} reported operating mode {v} to {}",
                src.ip, dst.ip
            ),
            (Some(v), false) => format!(
                "{label} {} sent by {} to {}{where_}: operating mode {v} requested",
                h.action, src.ip, dst.ip
            ),
            (None, _) => format!(
                "{label} {} sent by {} to {}{where_}",
                h.action, src.ip, dst.ip
            ),
        };
        if let Some(v) = &h.value {
            d = d.key("value", v);
        }
        if let Some((k, v)) = h.info {
            d = d.info(k, v);
        }
        out.push(d.message(message));
    }

    /// Request/response bookkeeping for the unresponsive rules.
    fn track(&mut self, a: &AppEvent<'_>) {
        let p = a.msg.proto();
        let modbus = matches!(p, Proto::Modbus | Proto::Umas);
        if !modbus && !watched(p) {
            return;
        }
        let f = a.flow;
        if group_addr(f.server.ip) {
            return;
        }
        let ts = a.ts.0;
        let request = match (a.kind, a.dir) {
            (MsgKind::Request, Direction::ToServer) => true,
            (MsgKind::Response, Direction::ToClient) => false,
            _ => return,
        };
        let key = ChanKey {
            client: f.client.ip,
            server: f.server.ip,
            proto: if modbus { Proto::Modbus } else { p },
        };
        if modbus {
            if !self.cfg.on(ids::MODBUS_UNRESPONSIVE) {
                return;
            }
            let valid = !request
                && match &a.msg {
                    Message::Modbus(m) => m.request.is_some(),
                    Message::Umas(m) => m.request_function.is_some(),
                    _ => false,
                };
            let c = self.modbus.entry(key, f, ts, self.cfg.mb_window);
            if request {
                c.requests.push(ts);
                self.modbus.request(key, self.cfg.mb_min_requests);
            } else if valid {
                c.responses.push(ts);
                c.answered = true;
                c.alerted = false;
                c.unanswered = 0;
            }
        } else {
            if !self.cfg.on(ids::DEVICE_UNRESPONSIVE) {
                return;
            }
            let c = self.chans.entry(key, f, ts, self.cfg.unresp_window);
            if request {
                c.requests.push(ts);
                self.chans.request(key, self.cfg.unresp_count);
            } else {
                c.answered = true;
                c.last_response = ts;
                c.requests.clear();
                c.alerted = false;
                c.unanswered = 0;
            }
        }
    }

    fn check_silence(&mut self, now: i64, out: &mut Vec<Detection>) {
        let cfg = &self.cfg;
        // Only channels with enough unanswered requests can be silent
        // (`Channels::request`); the others are not visited.
        let suspects = self.chans.take_suspects(cfg.unresp_count);
        for k in &suspects {
            let Some(c) = self.chans.map.get_mut(k) else {
                continue;
            };
            if c.alerted || !c.answered || (c.requests.len as usize) < cfg.unresp_count {
                continue;
            }
            let (Some(newest), Some(kth)) = (
                c.requests.newest(0),
                c.requests.newest(cfg.unresp_count - 1),
            ) else {
                continue;
            };
            if newest - kth > cfg.unresp_window || now - kth < REPLY_TIMEOUT_NS {
                continue;
            }
            c.alerted = true;
            let n = c.requests.len;
            let quiet = (now - c.last_response) / NS;
            out.push(
                Detection::new(
                    ids::DEVICE_UNRESPONSIVE,
                    Timestamp(now),
                    endpoint(&c.client),
                    endpoint(&c.server),
                )
                .protocol(k.proto.name())
                .flow(c.flow)
                .message(format!(
                    "{} device {} is suspected to be disconnected: {n} {} requests from {} unanswered, last response {quiet} s ago",
                    proto_label(k.proto),
                    k.server,
                    proto_label(k.proto),
                    k.client
                ))
                .info("unanswered_requests", n)
                .info("seconds_since_last_response", quiet),
            );
        }
        // With `min_responses` above 1 a channel that was answered recently
        // can still qualify: then every channel is visited.
        let modbus_keys = if cfg.mb_min_responses > 1 {
            self.modbus.map.keys().copied().collect()
        } else {
            self.modbus.take_suspects(cfg.mb_min_requests)
        };
        for k in &modbus_keys {
            let Some(c) = self.modbus.map.get_mut(k) else {
                continue;
            };
            if c.alerted || (c.requests.len as usize) < cfg.mb_min_requests {
                continue;
            }
            let lo = now - cfg.mb_window;
            let reqs = c.requests.count_in(lo, now - REPLY_TIMEOUT_NS);
            if reqs < cfg.mb_min_requests {
                continue;
            }
            let resps = c.responses.count_in(lo, now);
            if resps >= cfg.mb_min_responses {
                continue;
            }
            c.alerted = true;
            out.push(
                Detection::new(
                    ids::MODBUS_UNRESPONSIVE,
                    Timestamp(now),
                    endpoint(&c.client),
                    endpoint(&c.server),
                )
                .protocol("modbus")
                .flow(c.flow)
                .message(format!(
                    "Modbus device {} gave {resps} valid responses to {reqs} requests from {} in the last {} s",
                    k.server,
                    k.client,
                    cfg.mb_window / NS
                ))
                .info("requests", reqs)
                .info("valid_responses", resps)
                .info("answered_before", c.answered),
            );
        }
    }
}

fn proto_label(p: Proto) -> &'static str {
    match p {
        Proto::S7comm => "S7comm",
        Proto::S7commPlus => "S7comm-plus",
        Proto::Umas => "UMAS",
        Proto::Dnp3 => "DNP3",
        Proto::Fins => "FINS",
        Proto::Ads => "ADS",
        Proto::Melsec => "MELSEC",
        Proto::Mms => "MMS",
        Proto::Enip => "CIP",
        Proto::Tristation => "TriStation",
        Proto::Modbus => "Modbus",
        Proto::Iec104 => "IEC-104",
        Proto::Opcua => "OPC UA",
        Proto::Srtp => "SRTP",
        p => p.name(),
    }
}

/// The command a request stands for (every protocol but COTP, whose
/// connection requests only tell the rack and slot). Shared with the policy
/// engine, which reports the program transfers ([`ids::PROGRAMMING`],
/// [`ids::PROGRAM_UPLOAD`]); this engine reports the rest.
pub(crate) fn classify(a: &AppEvent<'_>) -> Option<Hit> {
    match &a.msg {
        Message::S7comm(m) => s7(m),
        Message::Umas(m) if !m.response => {
            let f = m.function();
            Some(match f {
                0x40 => Hit::mode("START_PLC", "RUN"),
                0x41 => Hit::new(ids::CONTROLLER_STOP, "STOP_PLC"),
                0x33..=0x35 => Hit::new(
                    ids::PROGRAMMING,
                    otwatch_proto::umas::wire::function_name(f),
                ),
                0x30..=0x32 => Hit::new(
                    ids::PROGRAM_UPLOAD,
                    otwatch_proto::umas::wire::function_name(f),
                ),
                _ => return None,
            })
        }
        Message::Dnp3(m) if a.kind == MsgKind::Request => {
            let h = match m.function_code {
                13 => Hit::new(ids::CONTROLLER_RESET, "cold restart (FC 13)"),
                14 => Hit::new(ids::CONTROLLER_RESET, "warm restart (FC 14)"),
                18 => Hit::new(ids::CONTROLLER_STOP, "stop application (FC 18)"),
                _ => return None,
            };
            Some(h.info(
                "dnp3_addresses",
                format!("{} -> {}", m.src_addr, m.dst_addr),
            ))
        }
        Message::Fins(m) => {
            let f = m.frame?;
            if f.header.is_response() {
                return None;
            }
            let d = f.detail();
            let h = match f.command() {
                0x0401 => Hit::mode(
                    "Run (0401)",
                    match d.mode {
                        Some(2) => "MONITOR",
                        _ => "RUN",
                    },
                ),
                0x0402 => Hit::new(ids::CONTROLLER_STOP, "Stop (0402)"),
                0x0307 => Hit::new(ids::PROGRAMMING, "Program Area Write (0307)"),
                0x0308 => Hit::new(ids::PROGRAMMING, "Program Area Clear (0308)"),
                0x0306 => Hit::new(ids::PROGRAM_UPLOAD, "Program Area Read (0306)"),
                _ => return None,
            };
            Some(match d.program_number {
                Some(p) => h.info("program_number", p),
                None => h,
            })
        }
        Message::Ads(ads::Message::Ams { header, body, .. }) if !header.is_response() => {
            let ads::wire::Body::WriteControl { ads_state, .. } = *body else {
                return None;
            };
            let name = ads::wire::state_name(ads_state);
            let action = format!("WriteControl ADS state {ads_state} ({name})");
            let h = match ads_state {
                2 => Hit::new(ids::CONTROLLER_RESET, action),
                6 | 12 => Hit::new(ids::CONTROLLER_STOP, action),
                _ => Hit::mode(action, name),
            };
            Some(h.info(
                "ams_target",
                format!("{}:{}", header.target, header.target_port),
            ))
        }
        Message::Melsec(m) if !m.frame.response => {
            let c = m.frame.command?;
            let h = match c {
                0x1001 => Hit::mode("remote RUN (1001)", "RUN"),
                0x1002 => Hit::new(ids::CONTROLLER_STOP, "remote STOP (1002)"),
                0x1003 => Hit::mode("remote PAUSE (1003)", "PAUSE"),
                0x1006 => Hit::new(ids::CONTROLLER_RESET, "remote RESET (1006)"),
                _ => return None,
            };
            Some(h.info("frame", m.frame.format.name()))
        }
        Message::Mms(m) if m.pdu.pdu == mms::wire::pdu::CONFIRMED_REQUEST => {
            use mms::wire::svc;
            let s = m.pdu.service?;
            let name = m.pdu.service_name().unwrap_or("?");
            let h = match s {
                svc::STOP | svc::KILL => Hit::new(ids::CONTROLLER_STOP, name),
                svc::RESET => Hit::new(ids::CONTROLLER_RESET, name),
                svc::INITIATE_DOWNLOAD_SEQUENCE
                | svc::REQUEST_DOMAIN_DOWNLOAD
                | svc::LOAD_DOMAIN_CONTENT => Hit::new(ids::PROGRAMMING, name),
                svc::INITIATE_UPLOAD_SEQUENCE
                | svc::REQUEST_DOMAIN_UPLOAD
                | svc::STORE_DOMAIN_CONTENT => Hit::new(ids::PROGRAM_UPLOAD, name),
                _ => return None,
            };
            Some(match m.pdu.body {
                mms::Body::ProgramInvocation { name } => h.info("program_invocation", text(name)),
                mms::Body::Domain { name, .. } => h.info("domain", text(name)),
                _ => h,
            })
        }
        Message::Enip(m) => cip(m),
        // GE SRTP "set PLC state" (service 0x23). The encoding of the
        // requested state is not publicly documented, so every such request
        // is reported, with the raw state selector (header byte 43).
        Message::Srtp(m)
            if a.kind == MsgKind::Request && m.frame.service == Some(SRTP_SET_PLC_STATE) =>
        {
            let sel = m.frame.segment.unwrap_or(0);
            Some(
                Hit::new(ids::SRTP_PLC_STOP, "set_plc_state (0x23)")
                    .info("state_selector", format!("{sel:#04x}")),
            )
        }
        Message::Tristation(m) if a.kind == MsgKind::Request => {
            let c = m.frame.command?;
            let name = otwatch_proto::tristation::wire::command_name(c.command);
            Some(match c.command {
                20 => Hit::mode(name, "RUN"),
                21 => Hit::mode(name, "HALT"),
                22 => Hit::mode(name, "PAUSE"),
                0 | 1 | 55 | 56 | 59 | 72 => Hit::new(ids::PROGRAMMING, name),
                65 | 66 => Hit::new(ids::PROGRAM_UPLOAD, name),
                _ => return None,
            })
        }
        _ => None,
    }
}

fn s7(m: &s7comm::Message<'_>) -> Option<Hit> {
    use s7comm::wire::*;
    let p = &m.pdu;
    match p.header.rosctr {
        ROSCTR_JOB => {}
        ROSCTR_USERDATA => {
            let Body::Userdata(u) = p.body else {
                return None;
            };
            if u.group != GRP_MODE || u.kind != 0 {
                return None;
            }
            let mut h = Hit::mode(
                "mode-transition notification",
                subfunction_name(GRP_MODE, u.subfunction),
            );
            h.plc_sends = true;
            return Some(h);
        }
        _ => return None,
    }
    let f = p.function?;
    let block = |h: Hit| match p.body {
        Body::Block {
            filename: Some(n), ..
        } => match block_name(n) {
            Some(b) => h.info(
                "block",
                format!(
                    "{} {}",
                    block_type_name(b.block_type),
                    match text(b.number).trim_start_matches('0') {
                        "" => "0".to_string(),
                        n => n.to_string(),
                    }
                ),
            ),
            None => h.info("file", text(n)),
        },
        _ => h,
    };
    Some(match f {
        FN_PLC_STOP => Hit::new(ids::S7_PLC_STOP, "PLC STOP"),
        FN_PLC_CONTROL => {
            let Body::PiService {
                param_block,
                service,
            } = p.body
            else {
                return None;
            };
            match service {
                b"P_PROGRAM" if param_block.contains(&b'C') => Hit::new(
                    ids::CONTROLLER_RESET,
                    "PLC control P_PROGRAM (cold restart)",
                ),
                b"P_PROGRAM" => Hit::mode("PLC control P_PROGRAM (warm/hot restart)", "RUN"),
                b"_INSE" | b"_DELE" | b"_MODU" => {
                    Hit::new(ids::PROGRAMMING, format!("PLC control {}", text(service)))
                        .info("param_block", text(param_block))
                }
                _ => return None,
            }
        }
        FN_REQUEST_DOWNLOAD | FN_DOWNLOAD_BLOCK | FN_DOWNLOAD_ENDED => {
            block(Hit::new(ids::PROGRAMMING, "block download"))
        }
        FN_START_UPLOAD | FN_UPLOAD | FN_END_UPLOAD => {
            block(Hit::new(ids::PROGRAM_UPLOAD, "block upload"))
        }
        _ => return None,
    })
}

/// The Rockwell vendor object that receives firmware images (ControlFLASH).
const FLASH_CLASS: u32 = 0xa1;

fn cip(m: &enip::Message<'_>) -> Option<Hit> {
    use enip::cip::{class, svc};
    let c = m.cip()?;
    if c.is_response() {
        return None;
    }
    let (service, path_class, data) = match c.embedded() {
        Some(e) => (e.service, e.path.class, e.data),
        None => (c.code(), c.path.class, c.data),
    };
    let cls = match path_class {
        Some(c) => format!("class 0x{c:02x} ({})", enip::cip::class_name(c)),
        None => "no class".to_string(),
    };
    Some(match service {
        svc::RESET if path_class == Some(class::IDENTITY) => Hit::new(
            ids::CONTROLLER_RESET,
            format!(
                "Identity Reset (type {})",
                data.first().copied().unwrap_or(0)
            ),
        ),
        // Rockwell firmware updates (ControlFLASH) write the image through
        // the vendor-specific object class 0xA1 with class-specific
        // services: a start (0x4B), thousands of transfer blocks (0x4D) and
        // a finish/status service (0x51), as the openics ControlLogix
        // firmware-change capture shows.
        0x4b..=0x51 if path_class == Some(FLASH_CLASS) => Hit::new(
            ids::FIRMWARE_UPDATE,
            format!(
                "firmware transfer service 0x{service:02x} to the vendor flash object (class 0xa1)"
            ),
        ),
        svc::START => Hit::mode(format!("Start service to {cls}"), "RUN"),
        svc::STOP => Hit::new(ids::CONTROLLER_STOP, format!("Stop service to {cls}")),
        svc::EXECUTE_PCCC => {
            let p = enip::pccc::parse_request(data)?;
            if p.command & 0x0f != 0x0f {
                return None;
            }
            let name = enip::pccc::function_name(p.command, p.function);
            match p.function? {
                0x80 | 0x3a | 0x11 => Hit::mode(
                    format!("PCCC {name}"),
                    format!("mode 0x{:02x}", p.data.first().copied().unwrap_or(0)),
                ),
                0x55..=0x57 | 0x8f => Hit::new(ids::PROGRAMMING, format!("PCCC {name}")),
                0x50 | 0x52 | 0x53 => Hit::new(ids::PROGRAM_UPLOAD, format!("PCCC {name}")),
                _ => return None,
            }
        }
        _ => return None,
    })
}

impl Engine for Operational {
    fn kind(&self) -> otwatch_alerts::Engine {
        otwatch_alerts::Engine::Operational
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<Detection>) {
        self.traffic_gap(event_ts(ev).0, out);
        let Event::App(a) = ev else {
            return;
        };
        if let Some(h) = self.command(a) {
            self.report(a, h, out);
        }
        self.track(a);
    }

    fn on_time(&mut self, now: Timestamp, out: &mut Vec<Detection>) {
        if now.0.saturating_sub(self.last_scan) >= SILENCE_SCAN_NS {
            self.last_scan = now.0;
            self.check_silence(now.0, out);
        }
    }

    fn finish(&mut self, now: Timestamp, out: &mut Vec<Detection>) {
        let now = now.0.max(self.last_ts);
        self.check_silence(now, out);
    }
}
