//! The health engine: operational alerts about devices that report trouble
//! or fail requests — error responses of industrial protocols, DNP3
//! internal indications, GOOSE / Sampled Values configuration changes,
//! Profinet DCP failures and factory resets, DHCP failures, illegal IP
//! addresses and missed scheduled backups.
//!
//! Every rule is documented in `docs/engines/health.md`. The engine only
//! looks at responses and status fields: a `match` on the message type, a
//! comparison of a status with zero, and only then a table lookup. Repeated
//! failures are aggregated per (device, peer, protocol, code) in one bounded
//! table: a key reports when it reaches its `count` within its `window`
//! (catalog thresholds), then at most once per window with the number of
//! failures since, so a flapping device gives one alert whose violations
//! grow instead of a detection per packet. Strings are built only when a
//! detection is reported.

use std::hash::Hash;
use std::net::IpAddr;

use hashbrown::HashMap;
use otwatch_alerts::{Catalog, Detection, Endpoint};
use otwatch_core::{Direction, FlowId, FlowInfo, FlowSide, MacAddr, MsgKind, Proto, Timestamp};
use otwatch_proto::event::{AppEvent, Event, Message};
use otwatch_proto::{bacnet, dhcp, dnp3, enip, goose, mms, opcua, profinet_dcp, srtp, sv};

use crate::Engine;
use crate::ring::{RING, Ring};

/// Alert type ids used by this engine (all in `crates/alerts/catalog.toml`).
pub mod ids {
    pub const BACNET_FAILED: &str = "bacnet_operation_failed";
    pub const MMS_BAD_STATE: &str = "mms_bad_device_state";
    pub const MMS_FAILED: &str = "mms_service_failed";
    pub const DHCP_FAILURE: &str = "dhcp_failure";
    pub const CIP_FAILED: &str = "cip_service_failed";
    pub const ENIP_FAILED: &str = "enip_command_failed";
    pub const SRTP_FAILED: &str = "srtp_command_failed";
    pub const OPCUA_FAILED: &str = "opcua_service_failed";
    pub const OPCUA_EVENT: &str = "opcua_server_event";
    pub const DNP3_OVERFLOW: &str = "dnp3_buffer_overflow";
    pub const DNP3_CONT_OVERFLOW: &str = "dnp3_continuous_buffer_overflow";
    pub const DNP3_AUTH_ERROR: &str = "dnp3_authentication_error";
    pub const DNP3_RESTARTED: &str = "dnp3_outstation_restarted";
    pub const DNP3_RESTARTS: &str = "dnp3_outstation_restarts_frequently";
    pub const DNP3_CONFIG_CHANGED: &str = "dnp3_configuration_changed";
    pub const DNP3_CONFIG_CORRUPT: &str = "dnp3_corrupted_configuration";
    pub const DNP3_HARDWARE: &str = "dnp3_hardware_problem";
    pub const GOOSE_COMMISSIONING: &str = "goose_needs_commissioning";
    pub const GOOSE_DATASET: &str = "goose_dataset_changed";
    pub const SV_DATASET: &str = "sv_dataset_changed";
    pub const CONFIG_CHANGE: &str = "device_configuration_change";
    pub const DCP_FAILED: &str = "profinet_dcp_failed";
    pub const DCP_FACTORY_RESET: &str = "profinet_factory_reset";
    pub const ILLEGAL_IP: &str = "illegal_ip_address";
    pub const HTTP_CLIENT_ERROR: &str = "http_client_error";
    pub const MODBUS_FAILURE: &str = "modbus_device_failure";
    pub const BACKUP_MISSED: &str = "backup_missed";

    pub const ALL: [&str; 27] = [
        BACNET_FAILED,
        MMS_BAD_STATE,
        MMS_FAILED,
        DHCP_FAILURE,
        CIP_FAILED,
        ENIP_FAILED,
        SRTP_FAILED,
        OPCUA_FAILED,
        OPCUA_EVENT,
        DNP3_OVERFLOW,
        DNP3_CONT_OVERFLOW,
        DNP3_AUTH_ERROR,
        DNP3_RESTARTED,
        DNP3_RESTARTS,
        DNP3_CONFIG_CHANGED,
        DNP3_CONFIG_CORRUPT,
        DNP3_HARDWARE,
        GOOSE_COMMISSIONING,
        GOOSE_DATASET,
        SV_DATASET,
        CONFIG_CHANGE,
        DCP_FAILED,
        DCP_FACTORY_RESET,
        ILLEGAL_IP,
        HTTP_CLIENT_ERROR,
        MODBUS_FAILURE,
        BACKUP_MISSED,
    ];
}

const NS: i64 = 1_000_000_000;
/// Most keys per table (failures, devices, control blocks, DHCP clients,
/// backup pairs); see [`Table`] for the eviction.
pub const MAX_KEYS: usize = 4096;
/// Entries idle for longer than this are the first to go when a table is full.
const IDLE_NS: i64 = 3600 * NS;
/// A reported failure key reports again at most this often (or once per
/// its window when that is longer), with the failures seen since.
pub const REPEAT_NS: i64 = 600 * NS;
/// File transfers between two devices closer than this are one backup run.
pub const BACKUP_RUN_NS: i64 = 600 * NS;
/// Shortest backup period otwatch learns.
pub const BACKUP_MIN_PERIOD_NS: i64 = 900 * NS;
/// Backup runs needed before the period is trusted (2 equal intervals).
const BACKUP_RUNS: usize = 3;

/// A bounded map: when full, entries idle for [`IDLE_NS`] are dropped, and
/// if that is not enough, everything is (counted in `evictions`).
#[derive(Debug)]
struct Table<K, V> {
    map: HashMap<K, (i64, V)>,
    evictions: u64,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table {
            map: HashMap::new(),
            evictions: 0,
        }
    }
}

impl<K: Hash + Eq + Copy, V> Table<K, V> {
    /// The entry of `k` (created with `new`), marked seen at `ts`; the bool
    /// is true when it was just created.
    fn entry(&mut self, k: K, ts: i64, new: impl FnOnce() -> V) -> (&mut V, bool) {
        let mut created = false;
        if !self.map.contains_key(&k) {
            if self.map.len() >= MAX_KEYS {
                let before = self.map.len();
                self.map.retain(|_, (t, _)| ts - *t <= IDLE_NS);
                if self.map.len() >= MAX_KEYS {
                    self.map.clear();
                }
                self.evictions += (before - self.map.len()) as u64;
            }
            created = true;
        }
        let e = self.map.entry(k).or_insert_with(|| (ts, new()));
        e.0 = ts;
        (&mut e.1, created)
    }
}

/// Enabled switch and thresholds of one type.
#[derive(Clone, Copy, Debug)]
struct TypeCfg {
    on: bool,
    count: usize,
    /// Failures that are answers to lookups (browsing) need this many.
    lookup_count: usize,
    window: i64,
    /// DHCP: DISCOVERs without an offer.
    discovers: usize,
}

#[derive(Clone, Debug)]
struct Config {
    types: [TypeCfg; ids::ALL.len()],
    backup_grace: i64,
}

fn idx(id: &str) -> usize {
    ids::ALL.iter().position(|x| *x == id).unwrap_or(0)
}

impl Config {
    fn from_catalog(cat: &Catalog) -> Config {
        let mut types = [TypeCfg {
            on: false,
            count: 1,
            lookup_count: 1,
            window: 600 * NS,
            discovers: 4,
        }; ids::ALL.len()];
        for (i, id) in ids::ALL.iter().enumerate() {
            let t = cat.get(id);
            let th = |name: &str, dflt: u64| t.and_then(|t| t.threshold(name)).unwrap_or(dflt);
            types[i] = TypeCfg {
                on: t.is_some() && cat.is_enabled(id),
                count: (th("count", 1).max(1) as usize).min(RING),
                lookup_count: (th("lookup_count", 1).max(1) as usize).min(RING),
                window: th("window", 600).max(1) as i64 * NS,
                discovers: (th("discovers", 4).max(2) as usize).min(RING),
            };
        }
        let grace = cat
            .get(ids::BACKUP_MISSED)
            .and_then(|t| t.threshold("grace"))
            .unwrap_or(100) as i64
            * NS;
        Config {
            types,
            backup_grace: grace,
        }
    }

    fn get(&self, id: &str) -> TypeCfg {
        self.types[idx(id)]
    }

    fn on(&self, id: &str) -> bool {
        self.get(id).on
    }
}

/// Identity of one aggregated failure: type, reporting device, peer, code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FailKey {
    ty: u8,
    src_ip: IpAddr,
    src_mac: MacAddr,
    dst_ip: IpAddr,
    code: u64,
}

#[derive(Clone, Copy, Debug)]
struct Fail {
    ring: Ring,
    total: u64,
    /// Failures not yet part of a report.
    pending: u64,
    last_report: Option<i64>,
}

/// Per-device state of a DNP3 outstation (by IP and link address).
#[derive(Clone, Copy, Debug, Default)]
struct Outstation {
    iin: u16,
    restarts: Ring,
    overflows: Ring,
    restarts_alerted: Option<i64>,
    overflows_alerted: Option<i64>,
}

/// Last configuration seen of a GOOSE / SV control block.
#[derive(Clone, Copy, Debug, Default)]
struct Block {
    conf_rev: Option<u32>,
    dataset: u64,
    entries: Option<u32>,
    nds_com: bool,
}

/// DHCP client state (by MAC).
#[derive(Clone, Copy, Debug, Default)]
struct DhcpClient {
    /// DISCOVERs since the last OFFER/ACK.
    discovers: Ring,
    xid: u32,
}

/// Backup (scheduled transfer) state of a client/server pair.
#[derive(Clone, Copy, Debug)]
struct Backup {
    client: FlowSide,
    server: FlowSide,
    flow: FlowId,
    /// Starts of the last runs, newest last.
    runs: Ring,
    /// Time of the last transfer of the current run.
    last: i64,
    /// Learned period and whether the current expectation was reported.
    period: Option<i64>,
    alerted: bool,
    proto: &'static str,
}

/// Counters of the engine's own bounded state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Keys dropped because a table was full.
    pub evictions: u64,
    /// Failures folded into an earlier report of the same key.
    pub failures_folded: u64,
}

/// What is reported about one failure (built only when reporting).
struct Report {
    message: String,
    key: Option<String>,
    info: Vec<(&'static str, String)>,
}

/// The health engine.
#[derive(Debug)]
pub struct Health {
    cfg: Config,
    fails: Table<FailKey, Fail>,
    outstations: Table<(IpAddr, u16), Outstation>,
    blocks: Table<(MacAddr, u16, u64), Block>,
    mms_state: Table<IpAddr, (i64, i64)>,
    dhcp: Table<MacAddr, DhcpClient>,
    backups: Table<(IpAddr, IpAddr), Backup>,
    folded: u64,
    last_scan: i64,
}

fn endpoint(s: &FlowSide) -> Endpoint {
    Endpoint {
        ip: if s.ip.is_unspecified() {
            None
        } else {
            Some(s.ip)
        },
        mac: Some(s.mac),
        port: Some(s.port),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string()
}

/// The IP address of a side, or its MAC address for link-layer traffic.
fn who(s: &FlowSide) -> String {
    if s.ip.is_unspecified() {
        s.mac.to_string()
    } else {
        s.ip.to_string()
    }
}

/// FNV-1a: a stable, allocation-free hash of a short byte string.
fn fnv(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The flow of a detection; link-layer frames have no flow of their own.
fn flow_id(f: &FlowInfo) -> Option<FlowId> {
    (f.transport != otwatch_core::Transport::L2).then_some(f.id)
}

/// The sender and receiver of a message.
fn ends<'a>(a: &'a AppEvent<'_>) -> (&'a FlowSide, &'a FlowSide) {
    let e = a.flow.endpoints(a.dir);
    (e.src, e.dst)
}

fn dir_idx(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

impl Health {
    pub fn new(cat: &Catalog) -> Health {
        Health {
            cfg: Config::from_catalog(cat),
            fails: Table::default(),
            outstations: Table::default(),
            blocks: Table::default(),
            mms_state: Table::default(),
            dhcp: Table::default(),
            backups: Table::default(),
            folded: 0,
            last_scan: i64::MIN / 2,
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            evictions: self.fails.evictions
                + self.outstations.evictions
                + self.blocks.evictions
                + self.mms_state.evictions
                + self.dhcp.evictions
                + self.backups.evictions,
            failures_folded: self.folded,
        }
    }

    /// Counts one failure of `ty` reported by `src` to `dst`; reports when
    /// the key reaches its threshold, then at most once per repeat period.
    #[allow(clippy::too_many_arguments)]
    fn fail(
        &mut self,
        ty: &'static str,
        ts: Timestamp,
        proto: &'static str,
        flow: Option<FlowId>,
        src: &FlowSide,
        dst: &FlowSide,
        code: u64,
        lookup: bool,
        out: &mut Vec<Detection>,
        report: impl FnOnce() -> Report,
    ) {
        let c = self.cfg.get(ty);
        let need = if lookup { c.lookup_count } else { c.count };
        if !c.on {
            return;
        }
        let t = ts.0;
        let k = FailKey {
            ty: idx(ty) as u8,
            src_ip: src.ip,
            src_mac: src.mac,
            dst_ip: dst.ip,
            code,
        };
        let (f, _) = self.fails.entry(k, t, || Fail {
            ring: Ring::default(),
            total: 0,
            pending: 0,
            last_report: None,
        });
        f.ring.push(t);
        f.total += 1;
        f.pending += 1;
        let repeat = c.window.max(REPEAT_NS);
        match f.last_report {
            Some(r) if t - r < repeat => {
                self.folded += 1;
                return;
            }
            Some(_) => {}
            None => {
                if f.ring.count_since(t - c.window) < need {
                    return;
                }
            }
        }
        let (n, total, first) = (f.pending, f.total, f.last_report.is_none());
        f.pending = 0;
        f.last_report = Some(t);
        let r = report();
        let mut d = Detection::new(ty, ts, endpoint(src), endpoint(dst))
            .protocol(proto)
            .info("failures", n)
            .info("failures_total", total);
        if let Some(fl) = flow {
            d = d.flow(fl);
        }
        if let Some(k) = r.key {
            d = d.key("function_code", k);
        }
        for (k, v) in r.info {
            d = d.info(k, v);
        }
        let msg = match (n, first) {
            (1, _) => r.message,
            (_, true) => format!("{} ({n} times within {} s)", r.message, c.window / NS),
            (_, false) => format!("{} ({n} times since the last report)", r.message),
        };
        out.push(d.message(msg));
    }

    /// A one-off detection (state changes: restarts, configuration changes).
    fn state(
        &self,
        ty: &'static str,
        a: &AppEvent<'_>,
        src: &FlowSide,
        dst: &FlowSide,
        message: String,
    ) -> Option<Detection> {
        if !self.cfg.on(ty) {
            return None;
        }
        let mut d = Detection::new(ty, a.ts, endpoint(src), endpoint(dst))
            .protocol(a.msg.proto().name())
            .message(message);
        d.flow = flow_id(a.flow);
        Some(d)
    }

    fn app(&mut self, a: &AppEvent<'_>, out: &mut Vec<Detection>) {
        match &a.msg {
            Message::Bacnet(m) => self.bacnet(a, m, out),
            Message::Mms(m) => self.mms(a, m, out),
            Message::Enip(m) => self.enip(a, m, out),
            Message::Srtp(m) => self.srtp(a, m, out),
            Message::Opcua(m) => self.opcua(a, m, out),
            Message::Dnp3(m) => self.dnp3(a, m, out),
            Message::Goose(m) => self.goose(a, &m.goose, out),
            Message::Sv(m) => self.sv(a, m, out),
            Message::ProfinetDcp(m) => self.dcp(a, &m.frame, out),
            Message::Dhcp(m) => self.dhcp(a, &m.dhcp, out),
            Message::Http(m) => {
                let s = m.head.status;
                if m.head.is_response() && (400..500).contains(&s) {
                    let (src, dst) = ends(a);
                    let reason = m.head.reason;
                    let uri_method = m.request_method;
                    self.fail(
                        ids::HTTP_CLIENT_ERROR,
                        a.ts,
                        Proto::Http.name(),
                        flow_id(a.flow),
                        src,
                        dst,
                        s as u64,
                        false,
                        out,
                        || Report {
                            message: format!(
                                "HTTP server {} answered {} with {s} {}",
                                src.ip,
                                dst.ip,
                                text(reason)
                            ),
                            key: Some(s.to_string()),
                            info: uri_method
                                .map(|c| ("request_method_code", c.to_string()))
                                .into_iter()
                                .collect(),
                        },
                    );
                }
            }
            Message::Modbus(m) if m.exception_code() == Some(4) => {
                let (src, dst) = ends(a);
                let f = m.function_code() & 0x7f;
                let unit = m.unit_id();
                self.fail(
                    ids::MODBUS_FAILURE,
                    a.ts,
                    Proto::Modbus.name(),
                    flow_id(a.flow),
                    src,
                    dst,
                    ((unit as u64) << 8) | f as u64,
                    false,
                    out,
                    || Report {
                        message: format!(
                            "Modbus server {} (unit {unit}) answered function {f} from {} with exception 4 (server device failure)",
                            src.ip, dst.ip
                        ),
                        key: None,
                        info: vec![("function_code", f.to_string())],
                    },
                );
            }
            Message::Ftp(otwatch_proto::ftp::Message::Command { verb, .. })
                if self.cfg.on(ids::BACKUP_MISSED)
                    && a.dir == Direction::ToServer
                    && (verb.eq_ignore_ascii_case(b"STOR")
                        || verb.eq_ignore_ascii_case(b"STOU")
                        || verb.eq_ignore_ascii_case(b"APPE")) =>
            {
                self.transfer(a, "ftp");
            }
            Message::Smb(m) if self.cfg.on(ids::BACKUP_MISSED) => {
                let c = &m.cmd;
                let write = !c.response
                    && match c.version {
                        1 => matches!(c.command, 0x0b | 0x2f),
                        _ => c.command == 0x0009,
                    };
                if write {
                    self.transfer(a, "smb");
                }
            }
            _ => {}
        }
    }

    fn bacnet(&mut self, a: &AppEvent<'_>, m: &bacnet::Message<'_>, out: &mut Vec<Detection>) {
        use bacnet::wire::pdu;
        let Some(h) = m.apdu else {
            return;
        };
        if !matches!(h.pdu_type, pdu::ERROR | pdu::REJECT | pdu::ABORT) {
            return;
        }
        let (src, dst) = ends(a);
        let svc = h.service;
        let (class, code) = if h.pdu_type == pdu::ERROR {
            let d = m.detail();
            (d.error_class, d.error_code)
        } else {
            (None, h.reason.map(u32::from))
        };
        // A read of an object or property the device does not have is an
        // answer, not a failure: tools enumerating optional properties get
        // many (object/unknown-object, property/unknown-property,
        // property/invalid-array-index).
        if h.pdu_type == pdu::ERROR
            && matches!(svc, Some(12 | 14 | 26))
            && matches!(
                (class, code),
                (Some(1), Some(31)) | (Some(2), Some(32 | 42))
            )
        {
            return;
        }
        let key = (h.pdu_type as u64) << 48
            | (svc.unwrap_or(0xff) as u64) << 40
            | (class.unwrap_or(0xffff) as u64 & 0xffff) << 16
            | (code.unwrap_or(0xffff) as u64 & 0xffff);
        let service = m.service_name();
        self.fail(
            ids::BACNET_FAILED,
            a.ts,
            Proto::Bacnet.name(),
            flow_id(a.flow),
            src,
            dst,
            key,
            false,
            out,
            || {
                let what = match h.pdu_type {
                    pdu::ERROR => format!(
                        "an Error (class {} / code {})",
                        class.map_or("?", bacnet::names::error_class_name),
                        code.map_or("?", bacnet::names::error_code_name)
                    ),
                    pdu::REJECT => format!(
                        "a Reject ({})",
                        h.reason.map_or("?", bacnet::names::reject_reason_name)
                    ),
                    _ => format!(
                        "an Abort ({})",
                        h.reason.map_or("?", bacnet::names::abort_reason_name)
                    ),
                };
                let svc_text = match (h.pdu_type, service) {
                    (pdu::ERROR, Some(s)) => format!("{s} request"),
                    _ => "request".to_string(),
                };
                Report {
                    message: format!(
                        "BACnet device {} answered a {svc_text} of {} with {what}",
                        who(src),
                        who(dst)
                    ),
                    key: Some(format!(
                        "{}:{}:{}:{}",
                        bacnet::wire::pdu_name(h.pdu_type),
                        svc.map_or(-1, i32::from),
                        class.map_or(-1, |c| c as i64),
                        code.map_or(-1, |c| c as i64)
                    )),
                    info: Vec::new(),
                }
            },
        );
    }

    fn mms(&mut self, a: &AppEvent<'_>, m: &mms::Message<'_>, out: &mut Vec<Detection>) {
        use mms::wire::pdu;
        match m.pdu.body {
            mms::Body::StatusResponse { logical, physical } => {
                if !self.cfg.on(ids::MMS_BAD_STATE) {
                    return;
                }
                let (src, dst) = ends(a);
                let st = (logical.unwrap_or(-1), physical.unwrap_or(-1));
                let bad = matches!(physical, Some(1..=3));
                let (prev, created) = self.mms_state.entry(src.ip, a.ts.0, || (-1, 0));
                let changed = created || *prev != st;
                *prev = st;
                if bad
                    && changed
                    && let Some(d) = self.state(
                        ids::MMS_BAD_STATE,
                        a,
                        src,
                        dst,
                        format!(
                            "MMS server {} reported physical status {} and logical status {} ({})",
                            src.ip,
                            physical_status_name(st.1),
                            logical_status_name(st.0),
                            if m.pdu.pdu == pdu::UNCONFIRMED {
                                "unsolicited status"
                            } else {
                                "status response"
                            }
                        ),
                    )
                {
                    out.push(d.info("physical_status", st.1).info("logical_status", st.0));
                }
            }
            mms::Body::Error { class, code }
                if matches!(m.pdu.pdu, pdu::CONFIRMED_ERROR | pdu::INITIATE_ERROR) =>
            {
                let (src, dst) = ends(a);
                let svc = if m.pdu.pdu == pdu::INITIATE_ERROR {
                    Some(0xfe)
                } else {
                    m.request_service
                };
                let key = (svc.unwrap_or(0xff) as u64) << 40
                    | (class.unwrap_or(0xff) as u64) << 32
                    | (code.unwrap_or(-1) as u64 & 0xffff_ffff);
                // definition/object-undefined, access/object-non-existent:
                // the answer to a lookup of a name the server does not have.
                let lookup = matches!((class, code), (Some(2), Some(1)) | (Some(7), Some(2)));
                self.fail(
                    ids::MMS_FAILED,
                    a.ts,
                    Proto::Mms.name(),
                    flow_id(a.flow),
                    src,
                    dst,
                    key,
                    lookup,
                    out,
                    || {
                        let service = match svc {
                            Some(0xfe) => "initiate",
                            Some(s) => mms::wire::confirmed_service_name(s),
                            None => "(unmatched request)",
                        };
                        let cl = class.map_or(-1, i32::from);
                        let co = code.unwrap_or(-1);
                        Report {
                            message: format!(
                                "MMS server {} answered a {service} request of {} with error class {} code {co} ({})",
                                src.ip,
                                dst.ip,
                                mms_class_name(cl),
                                mms_error_name(cl, co)
                            ),
                            key: Some(format!("{service}:{cl}:{co}")),
                            info: Vec::new(),
                        }
                    },
                );
            }
            _ => {}
        }
    }

    fn enip(&mut self, a: &AppEvent<'_>, m: &enip::Message<'_>, out: &mut Vec<Detection>) {
        if a.dir != Direction::ToClient {
            return;
        }
        if let Some(h) = m.header
            && h.status != 0
        {
            let (src, dst) = ends(a);
            let cmd = h.command;
            let st = h.status;
            self.fail(
                ids::ENIP_FAILED,
                a.ts,
                Proto::Enip.name(),
                flow_id(a.flow),
                src,
                dst,
                (cmd as u64) << 32 | st as u64,
                false,
                out,
                || Report {
                    message: format!(
                        "EtherNet/IP device {} answered {} (0x{cmd:04x}) from {} with encapsulation status 0x{st:04x} ({})",
                        src.ip,
                        enip::wire::command_name(cmd),
                        dst.ip,
                        enip::wire::status_name(st)
                    ),
                    key: Some(format!("0x{cmd:04x}:0x{st:04x}")),
                    info: Vec::new(),
                },
            );
            return;
        }
        let Some(c) = m.cip() else {
            return;
        };
        let Some(st) = c.status else {
            return;
        };
        // 0x00 success; 0x06 partial transfer (more data follows, normal
        // for large reads).
        if !c.is_response() || st == 0 || st == 0x06 {
            return;
        }
        let (src, dst) = ends(a);
        let svc = c.code();
        let class = m.cip_class();
        let ext = c.extended_status();
        self.fail(
            ids::CIP_FAILED,
            a.ts,
            Proto::Enip.name(),
            flow_id(a.flow),
            src,
            dst,
            (svc as u64) << 40 | (class.unwrap_or(0xffff) as u64 & 0xffff) << 8 | st as u64,
            // Path destination unknown, service / attribute not supported,
            // object does not exist: what browsing a device gets back.
            matches!(st, 0x05 | 0x08 | 0x14 | 0x16),
            out,
            || {
                let cls = match class {
                    Some(c) => format!(" to class 0x{c:02x} ({})", enip::cip::class_name(c)),
                    None => String::new(),
                };
                let mut info = Vec::new();
                if let Some(e) = ext {
                    info.push(("extended_status", format!("0x{e:04x}")));
                }
                Report {
                    message: format!(
                        "CIP device {} answered service 0x{svc:02x} ({}){cls} from {} with general status 0x{st:02x} ({})",
                        src.ip,
                        enip::cip::service_name(svc, class),
                        dst.ip,
                        enip::cip::status_name(st)
                    ),
                    key: Some(format!("0x{svc:02x}:0x{st:02x}")),
                    info,
                }
            },
        );
    }

    fn srtp(&mut self, a: &AppEvent<'_>, m: &srtp::Message<'_>, out: &mut Vec<Detection>) {
        let f = &m.frame;
        if f.packet_type != srtp::wire::packet_type::RESPONSE
            || f.message_type != srtp::wire::mailbox::ERROR
        {
            return;
        }
        let (src, dst) = ends(a);
        let (major, minor) = f.status.unwrap_or((0, 0));
        let svc = m.service();
        self.fail(
            ids::SRTP_FAILED,
            a.ts,
            Proto::Srtp.name(),
            flow_id(a.flow),
            src,
            dst,
            (svc.unwrap_or(0xff) as u64) << 16 | (major as u64) << 8 | minor as u64,
            false,
            out,
            || Report {
                message: format!(
                    "GE controller {} rejected the SRTP {} request of {} (error mailbox, major status 0x{major:02x}, minor status 0x{minor:02x})",
                    src.ip,
                    svc.map_or("unmatched", srtp::wire::service_name),
                    dst.ip
                ),
                key: Some(format!(
                    "{}:0x{major:02x}:0x{minor:02x}",
                    svc.map_or(-1, i32::from)
                )),
                info: Vec::new(),
            },
        );
    }

    fn opcua(&mut self, a: &AppEvent<'_>, m: &opcua::Message<'_>, out: &mut Vec<Detection>) {
        if a.dir != Direction::ToClient {
            return;
        }
        let (status, resp_id) = match (m.chunk, m.service) {
            (opcua::Chunk::Error { error, .. }, _) => (error, 0),
            (_, Some(s)) => {
                if let opcua::Detail::PublishResponse {
                    subscription_id,
                    events,
                } = s.detail
                    && events > 0
                {
                    let (src, dst) = ends(a);
                    self.fail(
                        ids::OPCUA_EVENT,
                        a.ts,
                        Proto::Opcua.name(),
                        flow_id(a.flow),
                        src,
                        dst,
                        subscription_id as u64,
                        false,
                        out,
                        || Report {
                            message: format!(
                                "OPC UA server {} sent {events} event notification(s) to client {} (subscription {subscription_id})",
                                src.ip, dst.ip
                            ),
                            key: None,
                            info: vec![
                                ("subscription_id", subscription_id.to_string()),
                                ("events", events.to_string()),
                            ],
                        },
                    );
                }
                match s.status {
                    Some(st) => (st, s.id),
                    None => return,
                }
            }
            _ => return,
        };
        // Severity bits 11 = Bad; Good (00) and Uncertain (01) are answers.
        if status >> 30 != 0b10 || benign_opcua(resp_id, status) {
            return;
        }
        let (src, dst) = ends(a);
        let req = m
            .request
            .map(|r| r.service_id)
            .filter(|&r| r != 0 && r != u32::MAX);
        self.fail(
            ids::OPCUA_FAILED,
            a.ts,
            Proto::Opcua.name(),
            flow_id(a.flow),
            src,
            dst,
            (resp_id as u64) << 32 | status as u64,
            false,
            out,
            || {
                let service = match (resp_id, req) {
                    (0, _) => "transport (ERR message)".to_string(),
                    (_, Some(r)) if !opcua::wire::service_name(r).is_empty() => {
                        opcua::wire::service_name(r).to_string()
                    }
                    (id, _) => match opcua::wire::service_name(id) {
                        "" => format!("service {id}"),
                        n => n.to_string(),
                    },
                };
                Report {
                    message: format!(
                        "OPC UA server {} answered {service} of {} with status 0x{status:08x} ({})",
                        src.ip,
                        dst.ip,
                        opcua::wire::status_name(status)
                    ),
                    key: Some(format!("{resp_id}:0x{status:08x}")),
                    info: Vec::new(),
                }
            },
        );
    }

    fn dnp3(&mut self, a: &AppEvent<'_>, m: &dnp3::Message<'_>, out: &mut Vec<Detection>) {
        // Authentication error objects (g120v7) from either side.
        if self.cfg.on(ids::DNP3_AUTH_ERROR)
            && m.objects.len() >= 2
            && m.object_headers()
                .any(|h| h.group == 120 && h.variation == 7)
        {
            let (src, dst) = ends(a);
            let (sa, da) = (m.src_addr, m.dst_addr);
            self.fail(
                ids::DNP3_AUTH_ERROR,
                a.ts,
                Proto::Dnp3.name(),
                flow_id(a.flow),
                src,
                dst,
                (sa as u64) << 16 | da as u64,
                false,
                out,
                || Report {
                    message: format!(
                        "DNP3 Secure Authentication error (g120v7) sent by {} (address {sa}) to {} (address {da}) in {}",
                        src.ip,
                        dst.ip,
                        m.function_name()
                    ),
                    key: None,
                    info: Vec::new(),
                },
            );
        }
        let Some(iin) = m.iin else {
            return;
        };
        if !m.is_response() {
            return;
        }
        let (src, dst) = ends(a);
        let ts = a.ts.0;
        // Activate Configuration (FC 31) accepted: the outstation now runs a
        // new configuration.
        if m.request.is_some_and(|r| r.function_code == 31)
            && iin & 0x0007 == 0
            && let Some(d) = self.state(
                ids::DNP3_CONFIG_CHANGED,
                a,
                src,
                dst,
                format!(
                    "DNP3 outstation {} (address {}) accepted an Activate Configuration request from {}",
                    src.ip, m.src_addr, dst.ip
                ),
            )
        {
            out.push(d);
        }
        const RESTART: u16 = 0x8000;
        const TROUBLE: u16 = 0x4000;
        const OVERFLOW: u16 = 0x0008;
        const CORRUPT: u16 = 0x0020;
        const WATCHED: u16 = RESTART | TROUBLE | OVERFLOW | CORRUPT;
        let key = (src.ip, m.src_addr);
        let (o, created) = self.outstations.entry(key, ts, Outstation::default);
        let prev = if created { 0 } else { o.iin };
        o.iin = iin;
        // A restart is a transition otwatch sees: an outstation whose
        // restart bit is already set in the first response seen restarted
        // before monitoring began (the other bits are conditions, reported
        // when first seen).
        let prev = if created {
            prev | (iin & RESTART)
        } else {
            prev
        };
        let rising = iin & WATCHED & !prev;
        if rising == 0 {
            return;
        }
        let cfg = &self.cfg;
        let mut restarts_now = None;
        let mut overflows_now = None;
        if rising & RESTART != 0 {
            o.restarts.push(ts);
            let c = cfg.get(ids::DNP3_RESTARTS);
            let n = o.restarts.count_since(ts - c.window);
            if c.on && n >= c.count && o.restarts_alerted.is_none_or(|t| ts - t >= c.window) {
                o.restarts_alerted = Some(ts);
                restarts_now = Some(n);
            }
        }
        if rising & OVERFLOW != 0 {
            o.overflows.push(ts);
            let c = cfg.get(ids::DNP3_CONT_OVERFLOW);
            let n = o.overflows.count_since(ts - c.window);
            if c.on && n >= c.count && o.overflows_alerted.is_none_or(|t| ts - t >= c.window) {
                o.overflows_alerted = Some(ts);
                overflows_now = Some(n);
            }
        }
        let who = format!("DNP3 outstation {} (address {})", src.ip, m.src_addr);
        let push = |ty: &'static str, msg: String, out: &mut Vec<Detection>| {
            if let Some(d) = self.state(ty, a, src, dst, msg) {
                out.push(d.info("iin", format!("0x{iin:04x}")));
            }
        };
        if rising & RESTART != 0 {
            push(
                ids::DNP3_RESTARTED,
                format!(
                    "{who} reports a restart (IIN1.7 device restart) to {}",
                    dst.ip
                ),
                out,
            );
        }
        if let Some(n) = restarts_now {
            let w = cfg.get(ids::DNP3_RESTARTS).window / NS;
            push(
                ids::DNP3_RESTARTS,
                format!("{who} reported {n} restarts within {w} s"),
                out,
            );
        }
        if rising & TROUBLE != 0 {
            push(
                ids::DNP3_HARDWARE,
                format!("{who} reports device trouble (IIN1.6) to {}", dst.ip),
                out,
            );
        }
        if rising & OVERFLOW != 0 {
            push(
                ids::DNP3_OVERFLOW,
                format!(
                    "{who} reports an event buffer overflow (IIN2.3) to {}: events were lost",
                    dst.ip
                ),
                out,
            );
        }
        if let Some(n) = overflows_now {
            let w = cfg.get(ids::DNP3_CONT_OVERFLOW).window / NS;
            push(
                ids::DNP3_CONT_OVERFLOW,
                format!("{who} reported {n} event buffer overflows within {w} s"),
                out,
            );
        }
        if rising & CORRUPT != 0 {
            push(
                ids::DNP3_CONFIG_CORRUPT,
                format!(
                    "{who} reports a corrupt configuration (IIN2.5) to {}",
                    dst.ip
                ),
                out,
            );
        }
    }

    /// Configuration of one GOOSE / SV control block: reports
    /// needs-commissioning, dataset and configuration-revision changes.
    #[allow(clippy::too_many_arguments)]
    fn control_block(
        &mut self,
        a: &AppEvent<'_>,
        appid: u16,
        name: &[u8],
        dataset: Option<&[u8]>,
        entries: Option<u32>,
        conf_rev: Option<u32>,
        nds_com: bool,
        dataset_ty: &'static str,
        out: &mut Vec<Detection>,
    ) {
        let (src, dst) = ends(a);
        let ds = dataset.map_or(0, fnv);
        let key = (src.mac, appid, fnv(name));
        let (b, created) = self.blocks.entry(key, a.ts.0, Block::default);
        let old = *b;
        *b = Block {
            conf_rev,
            dataset: ds,
            entries,
            nds_com,
        };
        let proto = if dataset_ty == ids::GOOSE_DATASET {
            "GOOSE control block"
        } else {
            "Sampled Values stream"
        };
        if nds_com && (created || !old.nds_com) && self.cfg.on(ids::GOOSE_COMMISSIONING) {
            let n = text(name);
            if let Some(d) = self.state(
                ids::GOOSE_COMMISSIONING,
                a,
                src,
                dst,
                format!(
                    "GOOSE publisher {} sets needsCommissioning on {proto} {n} (appid 0x{appid:04x})",
                    src.mac
                ),
            ) {
                out.push(d.key("object", n));
            }
        }
        if created {
            return;
        }
        if (old.dataset != ds || old.entries != entries) && self.cfg.on(dataset_ty) {
            let n = text(name);
            if let Some(d) = self.state(
                dataset_ty,
                a,
                src,
                dst,
                format!(
                    "{proto} {n} of {} now publishes dataset {} with {} entries",
                    src.mac,
                    dataset.map(text).unwrap_or_default(),
                    entries.map_or("?".to_string(), |e| e.to_string())
                ),
            ) {
                out.push(
                    d.key("object", n)
                        .info("previous_entries", old.entries.map_or(-1, i64::from)),
                );
            }
        }
        if old.conf_rev != conf_rev && self.cfg.on(ids::CONFIG_CHANGE) {
            let n = text(name);
            if let Some(d) = self.state(
                ids::CONFIG_CHANGE,
                a,
                src,
                dst,
                format!(
                    "{proto} {n} of {} changed its configuration revision from {} to {}",
                    src.mac,
                    old.conf_rev.map_or(-1, i64::from),
                    conf_rev.map_or(-1, i64::from)
                ),
            ) {
                out.push(d.key("object", n));
            }
        }
    }

    fn goose(&mut self, a: &AppEvent<'_>, g: &goose::Goose<'_>, out: &mut Vec<Detection>) {
        if !(self.cfg.on(ids::GOOSE_COMMISSIONING)
            || self.cfg.on(ids::GOOSE_DATASET)
            || self.cfg.on(ids::CONFIG_CHANGE))
        {
            return;
        }
        let name = g.gocb_ref.or(g.go_id).unwrap_or_default();
        self.control_block(
            a,
            g.header.appid,
            name,
            g.dat_set,
            g.num_dat_set_entries,
            g.conf_rev,
            g.nds_com == Some(true),
            ids::GOOSE_DATASET,
            out,
        );
    }

    fn sv(&mut self, a: &AppEvent<'_>, m: &sv::Message<'_>, out: &mut Vec<Detection>) {
        if !(self.cfg.on(ids::SV_DATASET) || self.cfg.on(ids::CONFIG_CHANGE)) {
            return;
        }
        let s = &m.asdu;
        self.control_block(
            a,
            m.header.appid,
            s.sv_id.unwrap_or_default(),
            s.dat_set,
            None,
            s.conf_rev,
            false,
            ids::SV_DATASET,
            out,
        );
    }

    fn dcp(&mut self, a: &AppEvent<'_>, f: &profinet_dcp::Frame<'_>, out: &mut Vec<Detection>) {
        let (src, dst) = ends(a);
        // Set request with Control / ResetFactorySettings or FactoryReset.
        if f.service_id == 4 && f.service_type == 0 && matches!(f.facts.control, Some(5 | 6)) {
            let sub = f.facts.control.unwrap_or(0);
            self.fail(
                ids::DCP_FACTORY_RESET,
                a.ts,
                Proto::ProfinetDcp.name(),
                flow_id(a.flow),
                src,
                dst,
                sub as u64,
                false,
                out,
                || Report {
                    message: format!(
                        "{} sent a Profinet DCP Set {} to {}",
                        src.mac,
                        profinet_dcp::wire::block_name(5, sub),
                        dst.mac
                    ),
                    key: None,
                    info: Vec::new(),
                },
            );
            return;
        }
        if f.service_type == 0 || !self.cfg.on(ids::DCP_FAILED) {
            return;
        }
        // Response: "request not supported", or a Set response whose
        // control/response block carries a non-zero BlockError.
        let mut err = None;
        if f.service_type == 5 {
            err = Some((0u8, 0u8, 0xffu8));
        } else if f.service_id == 4 {
            for b in profinet_dcp::wire::Blocks::new(f).flatten() {
                if b.option == 5 && b.suboption == 4 && b.data.len() >= 3 && b.data[2] != 0 {
                    err = Some((b.data[0], b.data[1], b.data[2]));
                    break;
                }
            }
        }
        let Some((opt, sub, code)) = err else {
            return;
        };
        let sid = f.service_id;
        self.fail(
            ids::DCP_FAILED,
            a.ts,
            Proto::ProfinetDcp.name(),
            flow_id(a.flow),
            src,
            dst,
            (sid as u64) << 24 | (opt as u64) << 16 | (sub as u64) << 8 | code as u64,
            false,
            out,
            || {
                let what = if code == 0xff {
                    "request not supported".to_string()
                } else {
                    format!(
                        "block {} error {code} ({})",
                        profinet_dcp::wire::block_name(opt, sub),
                        dcp_error_name(code)
                    )
                };
                Report {
                    message: format!(
                        "Profinet device {} answered the DCP {} request of {}: {what}",
                        src.mac,
                        profinet_dcp::wire::service_name(sid),
                        dst.mac
                    ),
                    key: Some(format!("{sid}:{opt}/{sub}:{code}")),
                    info: Vec::new(),
                }
            },
        );
    }

    fn dhcp(&mut self, a: &AppEvent<'_>, d: &dhcp::Dhcp<'_>, out: &mut Vec<Detection>) {
        if !self.cfg.on(ids::DHCP_FAILURE) {
            return;
        }
        let Some(mac) = d.client_mac().map(MacAddr) else {
            return;
        };
        let ts = a.ts.0;
        let (from, _) = ends(a);
        let client = FlowSide {
            ip: d
                .requested_ip
                .map_or(IpAddr::from([0, 0, 0, 0]), IpAddr::from),
            mac,
            port: 68,
        };
        match d.msg_type {
            // DISCOVER
            1 => {
                let c = self.cfg.get(ids::DHCP_FAILURE);
                let need = c.discovers;
                let (st, _) = self.dhcp.entry(mac, ts, DhcpClient::default);
                st.discovers.push(ts);
                st.xid = d.xid;
                let n = st.discovers.count_since(ts - c.window);
                if n < need {
                    return;
                }
                st.discovers.clear();
                let server = FlowSide {
                    ip: IpAddr::from([255, 255, 255, 255]),
                    mac: MacAddr::BROADCAST,
                    port: 67,
                };
                let w = c.window / NS;
                self.fail(
                    ids::DHCP_FAILURE,
                    a.ts,
                    Proto::Dhcp.name(),
                    flow_id(a.flow),
                    &client,
                    &server,
                    1,
                    false,
                    out,
                    || Report {
                        message: format!(
                            "DHCP client {mac} sent {n} DISCOVERs within {w} s without any OFFER"
                        ),
                        key: None,
                        info: vec![("discovers", n.to_string())],
                    },
                );
            }
            // OFFER / ACK: the client is being served.
            2 | 5 => {
                if let Some((_, st)) = self.dhcp.map.get_mut(&mac) {
                    st.discovers.clear();
                }
            }
            // NAK
            6 => {
                let server = *from;
                let sid = d.server_id.map(IpAddr::from).unwrap_or(server.ip);
                self.fail(
                    ids::DHCP_FAILURE,
                    a.ts,
                    Proto::Dhcp.name(),
                    flow_id(a.flow),
                    &client,
                    &server,
                    6,
                    false,
                    out,
                    || Report {
                        message: format!(
                            "DHCP server {sid} refused (DHCPNAK) the address request of client {mac}"
                        ),
                        key: None,
                        info: Vec::new(),
                    },
                );
            }
            _ => {}
        }
    }

    /// A flow's addresses: sources that cannot send, addresses that cannot
    /// appear on the wire.
    fn flow_end(&mut self, f: &FlowInfo, out: &mut Vec<Detection>) {
        if !self.cfg.on(ids::ILLEGAL_IP) {
            return;
        }
        // Frames without Ethernet addresses were captured on a host's own
        // loopback interface, where 127.0.0.1 is legitimate.
        if f.client.mac == f.server.mac && f.client.mac.0 == [0; 6] {
            return;
        }
        for dir in [Direction::ToServer, Direction::ToClient] {
            if f.pkts[dir_idx(dir)] == 0 {
                continue;
            }
            let e = f.endpoints(dir);
            let Some(why) = illegal(e.src.ip, e.dst.ip, f) else {
                continue;
            };
            let (src, dst) = (*e.src, *e.dst);
            // Forged sources (random multicast / reserved addresses) are
            // aggregated per sending MAC, not per address.
            let by_mac = why.contains("used as source");
            let key_src = if by_mac {
                FlowSide {
                    ip: IpAddr::from([0, 0, 0, 0]),
                    mac: src.mac,
                    port: 0,
                }
            } else {
                src
            };
            let first = f.first_seen;
            self.fail(
                ids::ILLEGAL_IP,
                first,
                flow_proto(f),
                Some(f.id),
                &key_src,
                &dst,
                fnv(why.as_bytes()),
                false,
                out,
                || Report {
                    message: format!(
                        "traffic from {} ({}) to {} ({}): {why}",
                        src.ip, src.mac, dst.ip, dst.mac
                    ),
                    key: None,
                    info: vec![("ip_proto", f.ip_proto.to_string())],
                },
            );
            // One report per flow.
            break;
        }
    }

    /// One file write between a client and a server (a backup run starts
    /// or continues).
    fn transfer(&mut self, a: &AppEvent<'_>, proto: &'static str) {
        let f = a.flow;
        let ts = a.ts.0;
        let (b, created) = self
            .backups
            .entry((f.client.ip, f.server.ip), ts, || Backup {
                client: f.client,
                server: f.server,
                flow: f.id,
                runs: Ring::default(),
                last: ts,
                period: None,
                alerted: false,
                proto,
            });
        if !created && ts - b.last < BACKUP_RUN_NS {
            b.last = ts;
            return;
        }
        b.last = ts;
        b.flow = f.id;
        b.runs.push(ts);
        b.alerted = false;
        b.period = None;
        if (b.runs.len as usize) < BACKUP_RUNS {
            return;
        }
        // The last BACKUP_RUNS starts must be evenly spaced (within 10 %).
        let mut iv = [0i64; BACKUP_RUNS - 1];
        for (k, x) in iv.iter_mut().enumerate() {
            let (Some(n), Some(o)) = (b.runs.newest(k), b.runs.newest(k + 1)) else {
                return;
            };
            *x = n - o;
        }
        let mean = iv.iter().sum::<i64>() / iv.len() as i64;
        if mean >= BACKUP_MIN_PERIOD_NS && iv.iter().all(|&x| (x - mean).abs() * 10 <= mean) {
            b.period = Some(mean);
        }
    }

    fn check_backups(&mut self, now: i64, out: &mut Vec<Detection>) {
        if !self.cfg.on(ids::BACKUP_MISSED) {
            return;
        }
        let grace = self.cfg.backup_grace;
        for (_, (_, b)) in self.backups.map.iter_mut() {
            let (Some(p), Some(last)) = (b.period, b.runs.newest(0)) else {
                continue;
            };
            let due = last + p;
            if b.alerted || now < due + grace {
                continue;
            }
            b.alerted = true;
            out.push(
                Detection::new(
                    ids::BACKUP_MISSED,
                    Timestamp(due + grace),
                    endpoint(&b.client),
                    endpoint(&b.server),
                )
                .protocol(b.proto)
                .flow(b.flow)
                .message(format!(
                    "the {} file transfer from {} to {} that ran every {} s did not happen: expected at {}, nothing by {}",
                    b.proto,
                    b.client.ip,
                    b.server.ip,
                    p / NS,
                    Timestamp(due),
                    Timestamp(due + grace)
                ))
                .info("period_s", p / NS)
                .info("grace_s", grace / NS),
            );
        }
    }
}

/// The application protocol of the flow, or its transport.
fn flow_proto(f: &FlowInfo) -> &'static str {
    match (f.proto, f.ip_proto) {
        (Some(p), _) => p.name(),
        (None, 6) => "tcp",
        (None, 17) => "udp",
        _ => "ip",
    }
}

/// Why an IPv4/IPv6 source/destination pair cannot appear on the wire, if it
/// cannot.
fn illegal(src: IpAddr, dst: IpAddr, f: &FlowInfo) -> Option<&'static str> {
    let udp = f.ip_proto == 17;
    let (sp, dp) = if f.client.ip == src {
        (f.client.port, f.server.port)
    } else {
        (f.server.port, f.client.port)
    };
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            if s.is_loopback() || d.is_loopback() {
                return Some("a loopback address (127.0.0.0/8) on the network");
            }
            if s.is_multicast() {
                return Some("a multicast address used as source");
            }
            if s.is_broadcast() {
                return Some("the broadcast address used as source");
            }
            if s.octets()[0] >= 240 {
                return Some("a reserved (240.0.0.0/4) address used as source");
            }
            if d.is_unspecified() {
                return Some("0.0.0.0 used as destination");
            }
            if s.is_unspecified() {
                // DHCP clients and IGMP reports before an address is known.
                let dhcp = udp && sp == 68 && dp == 67;
                if dhcp || f.ip_proto == 2 {
                    return None;
                }
                return Some("0.0.0.0 used as source outside DHCP");
            }
            if s.octets()[0] == 0 || d.octets()[0] == 0 {
                return Some("an address of 0.0.0.0/8 (this network) on the wire");
            }
            None
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            if s.is_loopback() || d.is_loopback() {
                return Some("the IPv6 loopback address ::1 on the network");
            }
            if s.is_multicast() {
                return Some("an IPv6 multicast address used as source");
            }
            if d.is_unspecified() {
                return Some(":: used as destination");
            }
            // Duplicate address detection and MLD use :: as source.
            if s.is_unspecified() && f.ip_proto != 58 && f.ip_proto != 0 {
                return Some(":: used as source outside ICMPv6");
            }
            None
        }
        _ => None,
    }
}

/// OPC UA bad codes that are part of normal operation: a Publish with no
/// subscription left, nothing to report before the timeout or too many
/// queued, and sessions / channels closed at disconnect.
fn benign_opcua(resp_id: u32, status: u32) -> bool {
    const PUBLISH_RESPONSE: u32 = 829;
    match status & 0xffff_0000 {
        // BadNoSubscription, BadTimeout, BadTooManyPublishRequests
        0x8079_0000 | 0x800a_0000 | 0x8078_0000 => resp_id == PUBLISH_RESPONSE,
        // BadSessionClosed, BadSecureChannelClosed
        0x8026_0000 | 0x8086_0000 => true,
        _ => false,
    }
}

fn physical_status_name(v: i64) -> &'static str {
    match v {
        0 => "operational",
        1 => "partially-operational",
        2 => "inoperable",
        3 => "needs-commissioning",
        _ => "unknown",
    }
}

fn logical_status_name(v: i64) -> &'static str {
    match v {
        0 => "state-changes-allowed",
        1 => "no-state-changes-allowed",
        2 => "limited-services-permitted",
        3 => "support-services-allowed",
        _ => "unknown",
    }
}

fn mms_class_name(c: i32) -> &'static str {
    match c {
        0 => "vmd-state",
        1 => "application-reference",
        2 => "definition",
        3 => "resource",
        4 => "service",
        5 => "service-preempt",
        6 => "time-resolution",
        7 => "access",
        8 => "initiate",
        9 => "conclude",
        10 => "cancel",
        11 => "file",
        12 => "others",
        _ => "unknown",
    }
}

fn mms_error_name(class: i32, code: i64) -> &'static str {
    match (class, code) {
        (_, 0) => "other",
        (0, 1) => "vmd-state-conflict",
        (0, 2) => "vmd-operational-problem",
        (0, 3) => "domain-transfer-problem",
        (0, 4) => "state-machine-id-invalid",
        (2, 1) => "object-undefined",
        (2, 2) => "invalid-address",
        (2, 3) => "type-unsupported",
        (2, 4) => "type-inconsistent",
        (2, 5) => "object-exists",
        (2, 6) => "object-attribute-inconsistent",
        (3, 1) => "memory-unavailable",
        (3, 2) => "processor-resource-unavailable",
        (3, 3) => "mass-storage-unavailable",
        (3, 4) => "capability-unavailable",
        (3, 5) => "capability-unknown",
        (4, 1) => "primitives-out-of-sequence",
        (4, 2) => "object-state-conflict",
        (4, 3) => "pdu-size",
        (4, 4) => "continuation-invalid",
        (4, 5) => "object-constraint-conflict",
        (7, 1) => "object-access-unsupported",
        (7, 2) => "object-non-existent",
        (7, 3) => "object-access-denied",
        (7, 4) => "object-invalidated",
        (11, 1) => "filename-ambiguous",
        (11, 2) => "file-busy",
        (11, 3) => "filename-syntax-error",
        (11, 4) => "content-type-invalid",
        (11, 5) => "position-invalid",
        (11, 6) => "file-access-denied",
        (11, 7) => "file-non-existent",
        (11, 8) => "duplicate-filename",
        (11, 9) => "insufficient-space-in-filestore",
        _ => "unknown",
    }
}

fn dcp_error_name(code: u8) -> &'static str {
    match code {
        1 => "option not supported",
        2 => "suboption not supported or no dataset available",
        3 => "suboption not set",
        4 => "resource error",
        5 => "set not possible by local reasons",
        6 => "in operation, set not possible",
        _ => "unknown",
    }
}

impl Engine for Health {
    fn kind(&self) -> otwatch_alerts::Engine {
        otwatch_alerts::Engine::Operational
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<Detection>) {
        match ev {
            Event::App(a) => {
                // Requests matter only where the request is the signal.
                if a.kind == MsgKind::Request
                    && !matches!(
                        a.msg,
                        Message::Ftp(_)
                            | Message::Smb(_)
                            | Message::Dnp3(_)
                            | Message::ProfinetDcp(_)
                            | Message::Dhcp(_)
                    )
                {
                    return;
                }
                self.app(a, out)
            }
            Event::FlowEnd(f) => self.flow_end(f, out),
            _ => {}
        }
    }

    fn on_time(&mut self, now: Timestamp, out: &mut Vec<Detection>) {
        if now.0 - self.last_scan >= 10 * NS {
            self.last_scan = now.0;
            self.check_backups(now.0, out);
        }
    }

    fn finish(&mut self, now: Timestamp, out: &mut Vec<Detection>) {
        self.check_backups(now.0, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_counts_recent_entries() {
        let mut r = Ring::default();
        for t in 0..20 {
            r.push(t * NS);
        }
        assert_eq!(r.len as usize, RING);
        assert_eq!(r.newest(0), Some(19 * NS));
        assert_eq!(r.count_since(15 * NS), 5);
        r.clear();
        assert_eq!(r.count_since(0), 0);
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv(b"ds1"), fnv(b"ds2"));
    }

    #[test]
    fn illegal_addresses() {
        let f = |c: [u8; 4], s: [u8; 4], cp: u16, sp: u16, proto: u8| FlowInfo {
            id: FlowId(1),
            transport: otwatch_core::Transport::Udp,
            ip_proto: proto,
            vlan: 0,
            client: FlowSide {
                ip: IpAddr::from(c),
                mac: MacAddr::BROADCAST,
                port: cp,
            },
            server: FlowSide {
                ip: IpAddr::from(s),
                mac: MacAddr::BROADCAST,
                port: sp,
            },
            client_by: otwatch_core::ClientBy::ServicePort,
            proto: None,
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
            pkts: [1, 0],
            bytes: [0, 0],
            end_reason: None,
        };
        let chk = |c, s, cp, sp, p| {
            let fl = f(c, s, cp, sp, p);
            illegal(fl.client.ip, fl.server.ip, &fl)
        };
        assert!(chk([0, 0, 0, 0], [255, 255, 255, 255], 68, 67, 17).is_none());
        assert!(chk([0, 0, 0, 0], [224, 0, 0, 22], 0, 0, 2).is_none());
        assert!(chk([0, 0, 0, 0], [10, 0, 0, 1], 5000, 502, 6).is_some());
        assert!(chk([127, 0, 0, 1], [10, 0, 0, 1], 5000, 502, 6).is_some());
        assert!(chk([10, 0, 0, 1], [127, 0, 0, 1], 5000, 502, 6).is_some());
        assert!(chk([224, 0, 0, 5], [10, 0, 0, 1], 5000, 502, 17).is_some());
        assert!(chk([10, 0, 0, 2], [10, 0, 0, 1], 5000, 502, 6).is_none());
        assert!(chk([10, 0, 0, 2], [255, 255, 255, 255], 5000, 502, 17).is_none());
    }
}
