//! The policy-violation engine: deviations from the learned baseline
//! ([`crate::baseline::Baseline`]). Documented in `docs/engines/policy.md`.
//!
//! While the baseline is learning, everything seen is added to it and
//! nothing is reported. After learning, what is not in the baseline is
//! reported once per [`REPEAT_NS`] of capture time per scenario (so a new
//! function code polled ten times a second costs one detection, not ten),
//! and is *not* learned: only *Learn* ([`Policy::learn`]) or a new learning
//! period adds it.
//!
//! Hot path: per event a `match` on the message, then hash lookups on
//! fixed-size keys (channel × kind × 64-bit value). Strings are built only
//! for a detection.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};

use hashbrown::HashMap;
use otwatch_alerts::{Catalog, Detection, Endpoint};
use otwatch_core::{Direction, FlowInfo, FlowSide, MsgKind, Proto, Timestamp, Transport};
use otwatch_proto::event::{AppEvent, Event, Message};
use otwatch_proto::ident::Subject;
use otwatch_proto::{ads, bacnet, enip, ftp, modbus, profinet_dcp, profinet_rt, s7comm};

use crate::baseline::{
    Baseline, ChanKey, Kind, ScenarioId, Seen, hash_bytes, hash_parts, hash_text, mac_key,
};

/// Alert type ids reported by this engine (all in `crates/alerts/catalog.toml`).
pub mod ids {
    pub const NEW_ASSET: &str = "new_asset_detected";
    pub const FIELD_DEVICE: &str = "field_device_discovered_unexpectedly";
    pub const MODBUS_FC: &str = "modbus_function_code";
    pub const MODBUS_RANGE: &str = "modbus_address_range_violation";
    pub const UMAS: &str = "modbus_schneider_extension";
    pub const DNP3_FC: &str = "dnp3_function_code";
    pub const S7_CONTROL: &str = "s7_control_function";
    pub const S7_USER: &str = "s7_user_defined_function";
    pub const S7_DB: &str = "s7_data_block_access";
    pub const S7PLUS_OP: &str = "s7plus_operation";
    pub const CIP_CLASS: &str = "new_cip_class";
    pub const CIP_SERVICE: &str = "new_cip_class_service";
    pub const CIP_SYMBOL: &str = "new_cip_symbol";
    pub const ENIP_COMMAND: &str = "new_enip_protocol_command";
    pub const ENIP_IO: &str = "new_enip_io_connection";
    pub const PCCC: &str = "new_cip_pccc_command";
    pub const IEC104_ASDU: &str = "iec104_asdu_type";
    pub const MMS_SERVICE: &str = "mms_service";
    pub const MMS_PROGRAM: &str = "mms_program_access";
    pub const OPCUA: &str = "opcua_activity";
    pub const FINS: &str = "omron_fins_unauthorized_command";
    pub const AMS_COMMAND: &str = "new_ams_command";
    pub const AMS_GROUP: &str = "new_ams_index_group";
    pub const MELSEC: &str = "melsec_command";
    pub const SRTP: &str = "srtp_protocol_command";
    pub const SNMP: &str = "snmp_operation";
    pub const PROGRAMMING: &str = crate::operational::ids::PROGRAMMING;
    pub const PROGRAM_UPLOAD: &str = crate::operational::ids::PROGRAM_UPLOAD;
    pub const CONFIG_READ: &str = "plc_configuration_read";
    pub const CONFIG_WRITE: &str = "plc_configuration_write";
    pub const FIRMWARE: &str = "firmware_version_changed";
    pub const FIRMWARE_BECKHOFF: &str = "beckhoff_software_changed";
    pub const FIRMWARE_MODBUS: &str = "modbus_firmware_version_changed";
    pub const FIRMWARE_MITSUBISHI: &str = "mitsubishi_firmware_version_changed";
    pub const FIRMWARE_S7PLUS: &str = "s7plus_firmware_changed";
    pub const INTERNET: &str = "internet_access_detected";
    pub const INTERNET_UNAUTHORIZED: &str = "unauthorized_internet_connectivity";
    pub const PUBLIC_INTERNAL: &str = "internal_public_address_internet";
    pub const SSH: &str = "ssh_access";
    pub const SMB: &str = "smb_login";
    pub const DATABASE: &str = "database_login";
    pub const FTP_FAILED: &str = "ftp_login_failed";
    pub const NEW_PORT: &str = "new_port_discovery";
    pub const MULTICAST: &str = "multicast_broadcast_connection";
    pub const HTTP_UA: &str = "http_user_agent";
    pub const HTTP_ACTIVITY: &str = "http_activity";
    pub const NAME_QUERY: &str = "name_query";
    pub const BACNET_OBJECT: &str = "bacnet_object_access";
    pub const BACNET_ROUTE: &str = "bacnet_route";
    pub const GOOSE_SETTINGS: &str = "goose_message_type_settings";
    pub const SV_SETTINGS: &str = "sv_message_type_settings";
    pub const PROFINET_FRAME: &str = "profinet_frame_type";
    pub const LLDP_CONFIG: &str = "new_lldp_device_configuration";
    pub const FIRMWARE_CHANGE: &str = "firmware_change_detected";
    pub const EXCEPTION: &str = "function_code_unauthorized_exception";
    pub const ILLEGAL_HTTP: &str = "illegal_http_communication";
    pub const AMS_OFFSET: &str = "new_ams_index_offset";
    pub const DNP3_INTEGRITY: &str = "dnp3_illegal_integrity_scan";
    pub const S7PLUS_OBJECT: &str = "s7plus_object_access";
    pub const S7PLUS_BLOCK: &str = "s7plus_block_access";
    pub const SRTP_FILE: &str = "srtp_file_access";
    pub const SRTP_MEMORY: &str = "srtp_system_memory_operation";
    pub const SOAP_ACTION: &str = "http_soap_action";
    pub const OPCUA_PAIR: &str = "opcua_request_response";
    pub const DNP3_IIN: &str = "dnp3_internal_indication";

    pub const ALL: [&str; 65] = [
        NEW_ASSET,
        FIELD_DEVICE,
        MODBUS_FC,
        MODBUS_RANGE,
        UMAS,
        DNP3_FC,
        S7_CONTROL,
        S7_USER,
        S7_DB,
        S7PLUS_OP,
        CIP_CLASS,
        CIP_SERVICE,
        CIP_SYMBOL,
        ENIP_COMMAND,
        ENIP_IO,
        PCCC,
        IEC104_ASDU,
        MMS_SERVICE,
        MMS_PROGRAM,
        OPCUA,
        FINS,
        AMS_COMMAND,
        AMS_GROUP,
        MELSEC,
        SRTP,
        SNMP,
        PROGRAMMING,
        PROGRAM_UPLOAD,
        CONFIG_READ,
        CONFIG_WRITE,
        FIRMWARE,
        FIRMWARE_BECKHOFF,
        FIRMWARE_MODBUS,
        FIRMWARE_MITSUBISHI,
        FIRMWARE_S7PLUS,
        INTERNET,
        INTERNET_UNAUTHORIZED,
        PUBLIC_INTERNAL,
        SSH,
        SMB,
        DATABASE,
        FTP_FAILED,
        NEW_PORT,
        MULTICAST,
        HTTP_UA,
        HTTP_ACTIVITY,
        NAME_QUERY,
        BACNET_OBJECT,
        BACNET_ROUTE,
        GOOSE_SETTINGS,
        SV_SETTINGS,
        PROFINET_FRAME,
        LLDP_CONFIG,
        FIRMWARE_CHANGE,
        EXCEPTION,
        ILLEGAL_HTTP,
        AMS_OFFSET,
        DNP3_INTEGRITY,
        S7PLUS_OBJECT,
        S7PLUS_BLOCK,
        SRTP_FILE,
        SRTP_MEMORY,
        SOAP_ACTION,
        OPCUA_PAIR,
        DNP3_IIN,
    ];
}

const NS: i64 = 1_000_000_000;
/// The same deviation is reported again at most this often (capture time).
pub const REPEAT_NS: i64 = 60 * NS;
/// Most deviations remembered for repeat suppression and for *Learn*.
pub const MAX_REPORTED: usize = 16_384;
/// Most new codes listed in one aggregated Modbus function-code alert.
pub const MAX_AGGREGATED: usize = 32;
/// Database server ports (connection-based `database_login`).
pub const DATABASE_PORTS: [u16; 6] = [1433, 1521, 3306, 5432, 27017, 6379];

/// One row of the new-activity table: a protocol's function codes.
struct CodeRow {
    proto: Proto,
    ty: &'static str,
    /// What the code is called in messages.
    what: &'static str,
}

/// New function codes / commands / services / message types, per protocol
/// (requests only; the code is [`Message::function_code`]). Modbus has its
/// own aggregated rule; CIP class / service / symbol and S7 data blocks are
/// objects (see [`Policy::objects`]).
const CODE_TABLE: &[CodeRow] = &[
    CodeRow {
        proto: Proto::Umas,
        ty: ids::UMAS,
        what: "UMAS function",
    },
    CodeRow {
        proto: Proto::Dnp3,
        ty: ids::DNP3_FC,
        what: "DNP3 function code",
    },
    CodeRow {
        proto: Proto::S7commPlus,
        ty: ids::S7PLUS_OP,
        what: "S7comm-plus function",
    },
    CodeRow {
        proto: Proto::Enip,
        ty: ids::ENIP_COMMAND,
        what: "EtherNet/IP command",
    },
    CodeRow {
        proto: Proto::Iec104,
        ty: ids::IEC104_ASDU,
        what: "IEC-104 ASDU type",
    },
    CodeRow {
        proto: Proto::Mms,
        ty: ids::MMS_SERVICE,
        what: "MMS service",
    },
    CodeRow {
        proto: Proto::Opcua,
        ty: ids::OPCUA,
        what: "OPC UA service",
    },
    CodeRow {
        proto: Proto::Fins,
        ty: ids::FINS,
        what: "FINS command",
    },
    CodeRow {
        proto: Proto::Ads,
        ty: ids::AMS_COMMAND,
        what: "AMS command",
    },
    CodeRow {
        proto: Proto::Melsec,
        ty: ids::MELSEC,
        what: "MELSEC command",
    },
    CodeRow {
        proto: Proto::Srtp,
        ty: ids::SRTP,
        what: "SRTP service",
    },
    CodeRow {
        proto: Proto::Snmp,
        ty: ids::SNMP,
        what: "SNMP PDU type",
    },
    CodeRow {
        proto: Proto::Http,
        ty: ids::HTTP_ACTIVITY,
        what: "HTTP method",
    },
];

fn code_row(p: Proto) -> Option<&'static CodeRow> {
    CODE_TABLE.iter().find(|r| r.proto == p)
}

/// What *Learn* on a detection adds to the baseline (and *Unlearn* removes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Learnable {
    Entry(ChanKey, Kind, u64, String),
    Range(ChanKey, u8, u16, u16),
    /// Authorize a device.
    Device(IpAddr),
    /// Mark a device as a programming device.
    Programming(IpAddr),
    /// Mark a device as allowed on the Internet.
    Internet(IpAddr),
    /// Record a device's firmware.
    Firmware(IpAddr, String),
    /// Record a connection (client, server, port; port 0 = any).
    Conn(IpAddr, IpAddr, u16),
}

impl Learnable {
    /// Adds the traffic to the baseline.
    pub fn apply(&self, b: &mut Baseline, now: i64) {
        match self {
            Learnable::Entry(k, kind, v, text) => {
                let t = text.clone();
                b.observe(k, *kind, *v, true, now, move || t);
            }
            Learnable::Range(k, fc, s, e) => {
                b.learn_range(k, *fc, *s, *e, now);
            }
            Learnable::Device(ip) => {
                b.see_device(*ip, None, now);
                if let Some(d) = b.device_mut(*ip) {
                    d.authorized = true;
                }
            }
            Learnable::Programming(ip) => {
                b.see_device(*ip, None, now);
                if let Some(d) = b.device_mut(*ip) {
                    d.programming = true;
                }
            }
            Learnable::Internet(ip) => {
                b.see_device(*ip, None, now);
                if let Some(d) = b.device_mut(*ip) {
                    d.internet_allowed = true;
                }
            }
            Learnable::Firmware(ip, fw) => {
                b.see_device(*ip, None, now);
                if let Some(d) = b.device_mut(*ip) {
                    // `source|model|version` (see `firmware_component`).
                    let cut = fw
                        .find('|')
                        .and_then(|i| fw[i + 1..].find('|').map(|j| i + j + 2));
                    match cut {
                        Some(c) => d.learn_component_firmware(&fw[..c], fw, &fw[c..]),
                        None => d.learn_firmware(fw),
                    }
                }
            }
            Learnable::Conn(c, s, p) => {
                b.learn_conn(*c, *s, *p, now);
            }
        }
    }

    /// Removes the traffic from the baseline.
    pub fn revert(&self, b: &mut Baseline) {
        match self {
            Learnable::Entry(k, kind, v, _) => {
                b.forget(k, *kind, *v);
            }
            Learnable::Range(k, fc, s, e) => {
                b.forget_range(k, *fc, *s, *e);
            }
            Learnable::Device(ip) => {
                if let Some(d) = b.device_mut(*ip) {
                    d.authorized = false;
                }
            }
            Learnable::Programming(ip) => {
                if let Some(d) = b.device_mut(*ip) {
                    d.programming = false;
                }
            }
            Learnable::Internet(ip) => {
                if let Some(d) = b.device_mut(*ip) {
                    d.internet_allowed = false;
                }
            }
            Learnable::Firmware(..) => {}
            Learnable::Conn(c, s, p) => {
                b.forget_conn(*c, *s, *p);
            }
        }
    }
}

/// Identity of a reported scenario: type, src, dst and the value of the
/// type's remaining aggregation-key field (as the alert manager's
/// `ScenarioKey` has them).
pub type ReportKey = (&'static str, String, String, String);

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub detections: u64,
    /// Repeats of a reported deviation within [`REPEAT_NS`], not reported.
    pub repeats: u64,
    /// Deviations learned silently by Smart IT learning.
    pub smart_it_learned: u64,
    /// Times the remembered-deviation table was full and was cleared.
    pub reported_evictions: u64,
}

/// The policy-violation engine.
pub struct Policy {
    enabled: [bool; ids::ALL.len()],
    /// Repeat suppression: hash of the deviation → last report time.
    recent: HashMap<u64, i64>,
    /// What each reported scenario would learn.
    learnables: HashMap<ReportKey, Vec<Learnable>>,
    hasher: hashbrown::DefaultHashBuilder,
    stats: Stats,
    /// The flow (and learning state) whose endpoints were last checked.
    last_flow: Option<(otwatch_core::FlowId, bool)>,
    /// The last flow whose server was seen answering.
    last_answer: Option<otwatch_core::FlowId>,
    /// BACnet instances learned per (channel, object type) in this run.
    bacnet_instances: HashMap<(ChanKey, u16), u32>,
}

fn endpoint(s: &FlowSide) -> Endpoint {
    Endpoint {
        ip: Some(s.ip),
        mac: Some(s.mac),
        port: Some(s.port),
    }
}

fn group(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_broadcast() || v.is_multicast() || v.octets()[3] == 255,
        IpAddr::V6(v) => v.is_multicast(),
    }
}

fn real_host(ip: IpAddr) -> bool {
    !(ip.is_unspecified() || ip.is_loopback() || group(ip))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A pending detection (built only when the deviation is new).
struct Report {
    ty: &'static str,
    ts: Timestamp,
    src: Endpoint,
    dst: Endpoint,
    proto: Option<Proto>,
    key: Option<(&'static str, String)>,
    message: String,
    info: Option<(&'static str, String)>,
    /// A second info field.
    info2: Option<(&'static str, String)>,
    flow: Option<otwatch_core::FlowId>,
    learn: Vec<Learnable>,
}

impl Policy {
    pub fn new(cat: &Catalog) -> Policy {
        let mut enabled = [false; ids::ALL.len()];
        for (i, id) in ids::ALL.iter().enumerate() {
            enabled[i] = cat.get(id).is_some() && cat.is_enabled(id);
        }
        Policy {
            enabled,
            recent: HashMap::new(),
            learnables: HashMap::new(),
            hasher: hashbrown::DefaultHashBuilder::default(),
            stats: Stats::default(),
            last_flow: None,
            last_answer: None,
            bacnet_instances: HashMap::new(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    fn on(&self, id: &str) -> bool {
        ids::ALL
            .iter()
            .position(|x| *x == id)
            .is_some_and(|i| self.enabled[i])
    }

    /// Whether deviation `sig` of type `ty` should be reported now (enabled,
    /// and not reported within [`REPEAT_NS`]).
    fn due(&mut self, ty: &'static str, sig: u64, now: i64) -> bool {
        if !self.on(ty) {
            return false;
        }
        let sig = sig ^ hash_bytes(ty.as_bytes());
        if let Some(t) = self.recent.get_mut(&sig) {
            if now - *t < REPEAT_NS && now >= *t {
                self.stats.repeats += 1;
                return false;
            }
            *t = now;
            return true;
        }
        if self.recent.len() >= MAX_REPORTED {
            self.recent.clear();
            self.stats.reported_evictions += 1;
        }
        self.recent.insert(sig, now);
        true
    }

    fn sig<T: std::hash::Hash>(&self, v: T) -> u64 {
        self.hasher.hash_one(v)
    }

    fn emit(&mut self, r: Report, out: &mut Vec<Detection>) {
        let mut d = Detection::new(r.ty, r.ts, r.src, r.dst).message(r.message);
        if let Some(p) = r.proto {
            d = d.protocol(p.name());
        }
        if let Some((k, v)) = r.key {
            d = d.key(k, v);
        }
        for (k, v) in r.info.into_iter().chain(r.info2) {
            d = d.info(k, v);
        }
        if let Some(f) = r.flow {
            d = d.flow(f);
        }
        let rk = report_key(&d);
        if self.learnables.len() >= MAX_REPORTED && !self.learnables.contains_key(&rk) {
            self.learnables.clear();
            self.stats.reported_evictions += 1;
        }
        let v = self.learnables.entry(rk).or_default();
        for l in r.learn {
            if !v.contains(&l) && v.len() < 4 * MAX_AGGREGATED {
                v.push(l);
            }
        }
        self.stats.detections += 1;
        out.push(d);
    }

    /// What *Learn* of the scenario `key` adds (the deviations reported under it).
    pub fn learnables(&self, key: &ReportKey) -> Option<&[Learnable]> {
        self.learnables.get(key).map(|v| v.as_slice())
    }

    /// Takes the deviations of a scenario (to apply them).
    pub fn take_learnables(&mut self, key: &ReportKey) -> Option<Vec<Learnable>> {
        self.learnables.remove(key)
    }

    /// Forgets which deviations were reported recently.
    pub fn clear_repeats(&mut self) {
        self.recent.clear();
    }

    /// Puts them back (kept for Unlearn).
    pub fn restore_learnables(&mut self, key: ReportKey, v: Vec<Learnable>) {
        self.learnables.insert(key, v);
    }

    /// Sees one event.
    pub fn on_event(&mut self, b: &mut Baseline, ev: &Event<'_>, out: &mut Vec<Detection>) {
        match ev {
            Event::FlowStart(f) => self.flow_start(b, f, out),
            Event::FlowEnd(f) => self.flow_end(b, f, out),
            Event::App(a) => self.app(b, a, out),
            Event::Arp(a) => {
                if let Some(ip) = a.sender_ip
                    && real_host(ip)
                {
                    self.device(b, ip, Some(a.sender_mac), a.ts, None, out);
                }
            }
            _ => {}
        }
    }

    /// A device sighting: learning authorizes it; after learning a device
    /// in an OT subnet raises New Asset Detected.
    fn device(
        &mut self,
        b: &mut Baseline,
        ip: IpAddr,
        mac: Option<otwatch_core::MacAddr>,
        ts: Timestamp,
        flow: Option<otwatch_core::FlowId>,
        out: &mut Vec<Detection>,
    ) {
        if b.see_device(ip, mac, ts.0) != Seen::New {
            return;
        }
        self.new_asset(b, ip, mac, ts, flow, out);
    }

    /// New Asset Detected for an unauthorized device in an OT subnet.
    fn new_asset(
        &mut self,
        b: &Baseline,
        ip: IpAddr,
        mac: Option<otwatch_core::MacAddr>,
        ts: Timestamp,
        flow: Option<otwatch_core::FlowId>,
        out: &mut Vec<Detection>,
    ) {
        if b.is_ot(ip) && self.due(ids::NEW_ASSET, self.sig(ip), ts.0) {
            let src = Endpoint {
                ip: Some(ip),
                mac,
                port: None,
            };
            self.emit(
                Report {
                    ty: ids::NEW_ASSET,
                    ts,
                    src,
                    dst: Endpoint::default(),
                    proto: None,
                    key: None,
                    message: format!(
                        "new device {ip} appeared in an OT subnet after learning ended"
                    ),
                    info: mac.map(|m| ("mac", m.to_string())),
                    info2: None,
                    flow,
                    learn: vec![Learnable::Device(ip)],
                },
                out,
            );
        }
    }

    fn flow_start(&mut self, b: &mut Baseline, f: &FlowInfo, out: &mut Vec<Detection>) {
        let ts = f.first_seen;
        // After learning a device is seen when it sends: the client now, the
        // server when it answers (`app`, `flow_end`) — the targets of a scan
        // that never answer are not new assets. While learning, the devices
        // addressed are authorized too (a server that is silent during
        // learning is still part of the plant).
        if real_host(f.client.ip) {
            self.device(b, f.client.ip, Some(f.client.mac), ts, Some(f.id), out);
        }
        if (b.learning() || f.pkts[Direction::ToClient.idx()] > 0) && real_host(f.server.ip) {
            self.device(b, f.server.ip, Some(f.server.mac), ts, Some(f.id), out);
        }
        if !matches!(f.transport, Transport::Tcp | Transport::Udp) {
            return;
        }
        let learning = b.learning();
        // Multicast / broadcast: per source, group and port (TCP cannot be
        // sent to a group: a TCP flow to an x.y.z.255 address is unicast).
        if f.transport == Transport::Udp && group(f.server.ip) {
            if b.knows_conn(f.client.ip, f.server.ip, f.server.port) {
                return;
            }
            if learning {
                b.learn_conn(f.client.ip, f.server.ip, f.server.port, ts.0);
                return;
            }
            let sig = self.sig((f.client.ip, f.server.ip, f.server.port));
            if self.due(ids::MULTICAST, sig, ts.0) {
                let proto = f.proto;
                self.emit(
                    Report {
                        ty: ids::MULTICAST,
                        ts,
                        src: endpoint(&f.client),
                        dst: endpoint(&f.server),
                        proto,
                        key: None,
                        message: format!(
                            "{} sent {} traffic to group {} port {} not in the baseline",
                            f.client.ip,
                            proto.map_or("udp", |p| p.name()),
                            f.server.ip,
                            f.server.port
                        ),
                        info: None,
                        info2: None,
                        flow: Some(f.id),
                        learn: vec![Learnable::Conn(f.client.ip, f.server.ip, f.server.port)],
                    },
                    out,
                );
            }
            return;
        }
        self.internet(b, f, out);
    }

    /// Internet rules (at flow start; port 0 records the device pair).
    fn internet(&mut self, b: &mut Baseline, f: &FlowInfo, out: &mut Vec<Detection>) {
        use otwatch_alerts::manager::is_internet;
        if b.resolve_internal {
            return;
        }
        let (inside, outside) = match (is_internet(f.client.ip), is_internet(f.server.ip)) {
            (false, true) => (&f.client, &f.server),
            (true, false) => (&f.server, &f.client),
            (true, true) => {
                // A public address inside the network: one of the two is
                // in a configured or learned OT subnet.
                if b.is_ot(f.client.ip) && !b.is_ot(f.server.ip) {
                    (&f.client, &f.server)
                } else if b.is_ot(f.server.ip) && !b.is_ot(f.client.ip) {
                    (&f.server, &f.client)
                } else {
                    return;
                }
            }
            (false, false) => return,
        };
        let ts = f.first_seen;
        let (i, o) = (inside.ip, outside.ip);
        if b.learning() {
            b.learn_conn(i, o, 0, ts.0);
            if let Some(d) = b.device_mut(i) {
                d.internet_allowed = true;
            }
            return;
        }
        if b.ip_allowed(o, ts.0) || b.knows_conn(i, o, 0) {
            return;
        }
        let allowed = b.device(i).is_some_and(|d| d.internet_allowed);
        let public_inside = is_internet(i);
        let (ty, learn) = if public_inside {
            (ids::PUBLIC_INTERNAL, Learnable::Conn(i, o, 0))
        } else if !allowed {
            (ids::INTERNET_UNAUTHORIZED, Learnable::Internet(i))
        } else {
            (ids::INTERNET, Learnable::Conn(i, o, 0))
        };
        let sig = self.sig((i, o));
        if self.due(ty, sig, ts.0) {
            let message = match ty {
                ids::PUBLIC_INTERNAL => format!(
                    "{i} uses a public address inside the network and exchanged {} traffic with Internet address {o}",
                    f.proto.map_or("ip", |p| p.name())
                ),
                ids::INTERNET_UNAUTHORIZED => format!(
                    "{i}, not allowed to reach the Internet, exchanged {} traffic with {o} port {}",
                    f.proto.map_or("ip", |p| p.name()),
                    f.server.port
                ),
                _ => format!(
                    "{i} exchanged {} traffic with Internet address {o} port {}",
                    f.proto.map_or("ip", |p| p.name()),
                    f.server.port
                ),
            };
            self.emit(
                Report {
                    ty,
                    ts,
                    src: endpoint(inside),
                    dst: endpoint(outside),
                    proto: f.proto,
                    key: None,
                    message,
                    info: None,
                    info2: None,
                    flow: Some(f.id),
                    learn: vec![learn],
                },
                out,
            );
        }
    }

    /// Connection-based rules, judged when the flow ends and the server
    /// answered (TCP): SSH, SMB, database, new port.
    fn flow_end(&mut self, b: &mut Baseline, f: &FlowInfo, out: &mut Vec<Detection>) {
        if f.pkts[Direction::ToClient.idx()] > 0 && real_host(f.server.ip) {
            self.device(
                b,
                f.server.ip,
                Some(f.server.mac),
                f.last_seen,
                Some(f.id),
                out,
            );
        }
        if f.transport != Transport::Tcp
            || f.pkts[Direction::ToClient.idx()] == 0
            || f.pkts[Direction::ToServer.idx()] == 0
            || !real_host(f.server.ip)
        {
            return;
        }
        let (c, s, port) = (f.client.ip, f.server.ip, f.server.port);
        if b.knows_conn(c, s, port) {
            return;
        }
        // Only devices that were in the baseline before (known servers).
        let known_server = b.device(s).is_some_and(|d| d.authorized);
        // A connection open while learning was on is part of the baseline
        // even when it ends after learning (long-lived polling sessions).
        if b.learning() || (b.learning.ended != 0 && f.first_seen.0 <= b.learning.ended) {
            b.learn_conn(c, s, port, f.last_seen.0);
            return;
        }
        let ty = match (f.proto, port) {
            (Some(Proto::Ssh), _) | (None, 22) => ids::SSH,
            (Some(Proto::Smb), _) | (None, 445 | 139) => ids::SMB,
            (_, p) if DATABASE_PORTS.contains(&p) => ids::DATABASE,
            // Internet peers are the Internet rules' business.
            _ if known_server
                && !otwatch_alerts::manager::is_internet(c)
                && !otwatch_alerts::manager::is_internet(s) =>
            {
                ids::NEW_PORT
            }
            _ => return,
        };
        let sig = self.sig((c, s, port));
        if !self.due(ty, sig, f.last_seen.0) {
            return;
        }
        let what = match ty {
            ids::SSH => "SSH session",
            ids::SMB => "SMB session",
            ids::DATABASE => "database session",
            _ => "connection",
        };
        self.emit(
            Report {
                ty,
                ts: f.last_seen,
                src: endpoint(&f.client),
                dst: endpoint(&f.server),
                proto: f.proto,
                key: (ty == ids::NEW_PORT || ty == ids::DATABASE)
                    .then(|| ("port", port.to_string())),
                message: format!(
                    "{what} from {c} to {s} port {port} ({}) not in the baseline",
                    f.proto.map_or("tcp", |p| p.name())
                ),
                info: None,
                info2: None,
                flow: Some(f.id),
                learn: vec![Learnable::Conn(c, s, port)],
            },
            out,
        );
    }

    fn app(&mut self, b: &mut Baseline, a: &AppEvent<'_>, out: &mut Vec<Detection>) {
        let f = a.flow;
        let proto = a.msg.proto();
        // The server answered: it is a device (once per flow).
        if a.dir == Direction::ToClient && self.last_answer != Some(f.id) {
            self.last_answer = Some(f.id);
            if f.transport != Transport::L2 && real_host(f.server.ip) {
                self.device(b, f.server.ip, Some(f.server.mac), a.ts, Some(f.id), out);
            }
        }
        // Subnet learning and the new-asset check once per flow and learning
        // state (not per message).
        let flow_key = (f.id, b.learning());
        if proto.is_ot() && self.last_flow != Some(flow_key) {
            self.last_flow = Some(flow_key);
            for s in [&f.server, &f.client] {
                if !real_host(s.ip) {
                    continue;
                }
                b.note_ot_device(s.ip);
                // A device first seen before its subnet was known as OT.
                if !b.learning() && b.device(s.ip).is_some_and(|d| !d.authorized) {
                    self.new_asset(b, s.ip, Some(s.mac), a.ts, Some(f.id), out);
                }
            }
        }
        // Identities, transfers and configuration operations of interest
        // are all OT (IT identities are the inventory's business).
        if proto.is_ot() {
            self.identity(b, a, out);
        }
        if f.transport == Transport::L2 {
            self.link_layer(b, a, out);
        }
        if !matches!(f.transport, Transport::Tcp | Transport::Udp) {
            return;
        }
        if proto.is_ot() {
            self.transfer(b, a, out);
        }
        let request = a.kind == MsgKind::Request && a.dir == Direction::ToServer;
        let k = ChanKey {
            client: f.client.ip,
            server: f.server.ip,
            proto,
            port: f.server.port,
        };
        if let Message::Bacnet(m) = &a.msg {
            self.bacnet(b, a, m, &k, out);
        }
        if request {
            if proto == Proto::Modbus {
                self.modbus(b, a, &k, out);
            } else if let Some(row) = code_row(proto) {
                let fc = a.msg.function_code();
                // SRTP program / file services have their own type.
                let ty = if proto == Proto::Srtp
                    && u8::try_from(fc).is_ok_and(extra::srtp_file_service)
                {
                    ids::SRTP_FILE
                } else {
                    row.ty
                };
                // While learning only the code is stored: no message text.
                let learning = b.learning();
                self.entry(
                    b,
                    a,
                    &k,
                    ty,
                    Kind::FunctionCode,
                    u64::from(fc),
                    out,
                    |_| {
                        (
                            ("function_code", fc.to_string()),
                            if learning {
                                String::new()
                            } else if ty == ids::SRTP_FILE {
                                format!(
                                    "{} used SRTP program/file service {fc:#04x} ({}) on {}, not in the baseline",
                                    f.client.ip,
                                    otwatch_proto::srtp::wire::service_name(fc as u8),
                                    f.server.ip
                                )
                            } else {
                                format!(
                                    "new {} {fc} from {} to {}",
                                    row.what, f.client.ip, f.server.ip
                                )
                            },
                            String::new(),
                        )
                    },
                );
            }
            self.objects(b, a, &k, out);
        }
        self.extra(b, a, &k, request, out);
        match &a.msg {
            Message::Http(m) if request => {
                if let Some(ua) = m.head.user_agent {
                    self.it_text(b, a, Proto::Http, ids::HTTP_UA, ua, "HTTP user agent", out);
                }
            }
            Message::Dns(m) | Message::Mdns(m) | Message::Llmnr(m) if !m.header().response() => {
                if let Some(q) = m.msg.question {
                    let h = dns_name_hash(&q.name);
                    self.it_hash(
                        b,
                        a,
                        proto,
                        ids::NAME_QUERY,
                        h,
                        || q.name.to_dotted().to_ascii_lowercase(),
                        "name",
                        out,
                    );
                }
            }
            Message::Nbns(m) if !m.msg.header.response() && m.opcode() == 0 => {
                if let Some(n) = m.nb_name() {
                    let name = n.trimmed();
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let sfx = [HEX[(n.suffix >> 4) as usize], HEX[(n.suffix & 15) as usize]];
                    let h = match std::str::from_utf8(name) {
                        Ok(_) => hash_parts(&[name, b"<", &sfx, b">"]),
                        Err(_) => {
                            hash_bytes(format!("{}<{:02x}>", text(name), n.suffix).as_bytes())
                        }
                    };
                    self.it_hash(
                        b,
                        a,
                        proto,
                        ids::NAME_QUERY,
                        h,
                        || format!("{}<{:02x}>", text(name), n.suffix),
                        "NetBIOS name",
                        out,
                    );
                }
            }
            Message::Dns(m) if m.header().response() && !b.fqdn_allowlist().is_empty() => {
                let allowed = m
                    .msg
                    .question
                    .is_some_and(|q| b.fqdn_allowed(q.name.labels()));
                if allowed {
                    for (_, r) in m.msg.records().take(64) {
                        let ip = match (r.rtype, r.rdata.len()) {
                            (1, 4) => IpAddr::V4(Ipv4Addr::new(
                                r.rdata[0], r.rdata[1], r.rdata[2], r.rdata[3],
                            )),
                            (28, 16) => {
                                let mut o = [0u8; 16];
                                o.copy_from_slice(r.rdata);
                                IpAddr::V6(o.into())
                            }
                            _ => continue,
                        };
                        b.allow_ip(ip, r.ttl, a.ts.0);
                    }
                }
            }
            Message::Enip(m) => {
                if let enip::wire::Body::Io(io) = m.body {
                    // One entry per channel: an I/O connection between the
                    // two devices (connection ids change with every Forward Open).
                    let id = io.connection_id;
                    let (c, sv) = (f.client.ip, f.server.ip);
                    self.entry(b, a, &k, ids::ENIP_IO, Kind::Object, 1 << 40, out, |_| {
                        (
                            ("object", "io".to_string()),
                            format!("new EtherNet/IP I/O connection between {c} and {sv} (connection id {id:#010x})"),
                            String::new(),
                        )
                    });
                }
            }
            Message::Ftp(ftp::Message::Reply {
                login: Some(ftp::Login::Failure),
                user,
                ..
            }) => {
                let sig = self.sig((f.client.ip, f.server.ip));
                if self.due(ids::FTP_FAILED, sig, a.ts.0) {
                    let u = user.map(text).unwrap_or_default();
                    self.emit(
                        Report {
                            ty: ids::FTP_FAILED,
                            ts: a.ts,
                            src: endpoint(&f.client),
                            dst: endpoint(&f.server),
                            proto: Some(Proto::Ftp),
                            key: None,
                            message: format!(
                                "FTP login{} from {} to {} failed",
                                if u.is_empty() {
                                    String::new()
                                } else {
                                    format!(" as {u:?}")
                                },
                                f.client.ip,
                                f.server.ip
                            ),
                            info: (!u.is_empty()).then_some(("user", u)),
                            info2: None,
                            flow: Some(f.id),
                            learn: Vec::new(),
                        },
                        out,
                    );
                }
            }
            _ => {}
        }
    }

    /// One channel entry: known → nothing; learning → learned; else reported.
    /// `describe` builds (key field, message, stored text) only for a report.
    #[allow(clippy::too_many_arguments)]
    fn entry(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        k: &ChanKey,
        ty: &'static str,
        kind: Kind,
        value: u64,
        out: &mut Vec<Detection>,
        describe: impl FnOnce(&mut Baseline) -> ((&'static str, String), String, String),
    ) {
        let learning = b.learning();
        if b.knows(k, kind, value) {
            return;
        }
        if learning {
            let ((_, v), _, t) = describe(b);
            let t = if kind.numeric() { v } else { t };
            b.observe(k, kind, value, true, a.ts.0, move || t);
            return;
        }
        let sig = self.sig((k, kind, value));
        if !self.due(ty, sig, a.ts.0) {
            return;
        }
        let (key, message, t) = describe(b);
        let stored = if kind.numeric() { key.1.clone() } else { t };
        let f = a.flow;
        self.emit(
            Report {
                ty,
                ts: a.ts,
                src: endpoint(&f.client),
                dst: endpoint(&f.server),
                proto: Some(k.proto),
                // An empty name: the type aggregates on src / dst only.
                key: (!key.0.is_empty()).then_some(key),
                message,
                info: None,
                info2: None,
                flow: Some(f.id),
                learn: vec![Learnable::Entry(*k, kind, value, stored)],
            },
            out,
        );
    }

    /// Modbus: new function codes aggregated per channel, and address ranges.
    fn modbus(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        k: &ChanKey,
        out: &mut Vec<Detection>,
    ) {
        let Message::Modbus(m) = &a.msg else {
            return;
        };
        let fc = m.function_code();
        let f = a.flow;
        let learning = b.learning();
        if !b.knows(k, Kind::FunctionCode, u64::from(fc)) {
            if learning {
                b.observe(
                    k,
                    Kind::FunctionCode,
                    u64::from(fc),
                    true,
                    a.ts.0,
                    String::new,
                );
            } else if self.due(ids::MODBUS_FC, self.sig((k, fc)), a.ts.0) {
                // One alert per channel lists every new code seen on it.
                let rk: ReportKey = (
                    ids::MODBUS_FC,
                    f.client.ip.to_string(),
                    f.server.ip.to_string(),
                    String::new(),
                );
                let mut codes: Vec<u8> = self
                    .learnables
                    .get(&rk)
                    .into_iter()
                    .flatten()
                    .filter_map(|l| match l {
                        Learnable::Entry(_, Kind::FunctionCode, v, _) => Some(*v as u8),
                        _ => None,
                    })
                    .collect();
                if !codes.contains(&fc) && codes.len() < MAX_AGGREGATED {
                    codes.push(fc);
                }
                codes.sort_unstable();
                let list: Vec<String> = codes
                    .iter()
                    .map(|c| format!("{c} ({})", modbus::wire::function_name(*c)))
                    .collect();
                let message = format!(
                    "new Modbus function code{} {} from {} to {} on unit {}",
                    if codes.len() > 1 { "s" } else { "" },
                    list.join(", "),
                    f.client.ip,
                    f.server.ip,
                    m.unit_id()
                );
                self.emit(
                    Report {
                        ty: ids::MODBUS_FC,
                        ts: a.ts,
                        src: endpoint(&f.client),
                        dst: endpoint(&f.server),
                        proto: Some(Proto::Modbus),
                        key: None,
                        message,
                        info: Some((
                            "function_codes",
                            codes
                                .iter()
                                .map(|c| c.to_string())
                                .collect::<Vec<_>>()
                                .join(","),
                        )),
                        info2: None,
                        flow: Some(f.id),
                        learn: vec![Learnable::Entry(
                            *k,
                            Kind::FunctionCode,
                            u64::from(fc),
                            fc.to_string(),
                        )],
                    },
                    out,
                );
            }
        }
        let Some((start, qty)) = m.address_range() else {
            return;
        };
        if qty == 0 {
            return;
        }
        let end = start.saturating_add(qty - 1);
        match b.range_known(k, fc, start, end) {
            Some(true) => {}
            _ if learning => {
                b.learn_range(k, fc, start, end, a.ts.0);
            }
            Some(false) if self.due(ids::MODBUS_RANGE, self.sig((k, fc, start, end)), a.ts.0) => {
                let object = format!("fc{fc}:{start}-{end}");
                self.emit(
                        Report {
                            ty: ids::MODBUS_RANGE,
                            ts: a.ts,
                            src: endpoint(&f.client),
                            dst: endpoint(&f.server),
                            proto: Some(Proto::Modbus),
                            key: Some(("object", object)),
                            message: format!(
                                "{} accessed addresses {start}-{end} with function code {fc} ({}) on {} unit {}, outside the learned ranges",
                                f.client.ip,
                                modbus::wire::function_name(fc),
                                f.server.ip,
                                m.unit_id()
                            ),
                            info: None,
                            info2: None,
                            flow: Some(f.id),
                            learn: vec![Learnable::Range(*k, fc, start, end)],
                        },
                        out,
                    );
            }
            // A code never seen with addresses is reported as a code, not a
            // range; a repeat within the minute is not reported again.
            None | Some(false) => {}
        }
    }

    /// Objects of a request: S7 data blocks and control functions, CIP
    /// class / class service / symbol, AMS index groups.
    fn objects(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        k: &ChanKey,
        out: &mut Vec<Detection>,
    ) {
        let (c, s) = (a.flow.client.ip, a.flow.server.ip);
        match &a.msg {
            Message::S7comm(m) => {
                let fc = m.pdu.function_code();
                match m.pdu.body {
                    s7comm::wire::Body::Var {
                        items, item_count, ..
                    } => {
                        for it in s7comm::wire::VarItems::new(items, item_count).take(32) {
                            let Some(any) = it.any else { continue };
                            if any.area != 0x84 {
                                continue;
                            }
                            let db = any.db;
                            self.entry(b, a, k, ids::S7_DB, Kind::Object, u64::from(db), out, |_| {
                                (
                                    ("object", format!("DB{db}")),
                                    format!("{c} accessed data block DB{db} on {s} (not in the baseline)"),
                                    String::new(),
                                )
                            });
                        }
                    }
                    s7comm::wire::Body::Userdata(u) if u.is_request() => {
                        self.entry(
                            b,
                            a,
                            k,
                            ids::S7_USER,
                            Kind::FunctionCode,
                            u64::from(fc),
                            out,
                            |_| {
                                (
                                    ("function_code", fc.to_string()),
                                    format!(
                                        "new S7 user-data function {} ({}) from {c} to {s}",
                                        fc,
                                        s7comm::wire::subfunction_name(u.group, u.subfunction)
                                    ),
                                    String::new(),
                                )
                            },
                        );
                    }
                    _ => {
                        if m.pdu.header.rosctr == 1 {
                            self.entry(
                                b,
                                a,
                                k,
                                ids::S7_CONTROL,
                                Kind::FunctionCode,
                                u64::from(fc),
                                out,
                                |_| {
                                    (
                                        ("function_code", fc.to_string()),
                                        format!(
                                            "new S7 function {fc:#04x} ({}) from {c} to {s}",
                                            s7comm::wire::function_name(fc as u8)
                                        ),
                                        String::new(),
                                    )
                                },
                            );
                        }
                    }
                }
            }
            Message::Enip(m) => {
                let Some(cip) = m.cip() else { return };
                if cip.is_response() {
                    return;
                }
                if let Some(class) = cip.path.class {
                    self.entry(
                        b,
                        a,
                        k,
                        ids::CIP_CLASS,
                        Kind::Object,
                        u64::from(class),
                        out,
                        |_| {
                            (
                                ("object", format!("{class:#x}")),
                                format!(
                                    "new CIP class {class:#x} ({}) accessed by {c} on {s}",
                                    enip::cip::class_name(class)
                                ),
                                String::new(),
                            )
                        },
                    );
                    let svc = cip.service;
                    let v = (u64::from(class) << 8) | u64::from(svc);
                    self.entry(b, a, k, ids::CIP_SERVICE, Kind::Service, v, out, |_| {
                        (
                            ("function_code", svc.to_string()),
                            format!(
                                "new CIP service {svc:#04x} ({}) on class {class:#x} from {c} to {s}",
                                enip::cip::service_name(svc, Some(class))
                            ),
                            String::new(),
                        )
                    });
                }
                if cip.service == enip::cip::svc::EXECUTE_PCCC
                    && let Some(p) = enip::pccc::parse_request(cip.data)
                {
                    let code = (u16::from(p.command) << 8) | u16::from(p.function.unwrap_or(0));
                    let name = enip::pccc::function_name(p.command, p.function);
                    self.entry(
                        b,
                        a,
                        k,
                        ids::PCCC,
                        Kind::Service,
                        (1 << 32) | u64::from(code),
                        out,
                        |_| {
                            (
                                ("function_code", code.to_string()),
                                format!("new PCCC command {code:#06x} ({name}) from {c} to {s}"),
                                String::new(),
                            )
                        },
                    );
                }
                if let Some(sym) = cip.path.symbol {
                    let h = hash_text(sym);
                    self.entry(b, a, k, ids::CIP_SYMBOL, Kind::Symbol, h, out, |_| {
                        let t = text(sym);
                        (
                            ("object", t.clone()),
                            format!("new CIP symbol {t:?} accessed by {c} on {s}"),
                            t,
                        )
                    });
                }
            }
            Message::Mms(m) if m.pdu.pdu == otwatch_proto::mms::wire::pdu::CONFIRMED_REQUEST => {
                let (name, what) = match m.pdu.body {
                    otwatch_proto::mms::Body::ProgramInvocation { name } => {
                        (name, "program invocation")
                    }
                    otwatch_proto::mms::Body::Domain { name, .. } => (name, "domain"),
                    _ => return,
                };
                let fc = m.pdu.function_code();
                let service = m.pdu.service_name().unwrap_or("?");
                // One entry per (service, name), stored as "service:name".
                let h = match std::str::from_utf8(name) {
                    Ok(n) => hash_parts(&[service.as_bytes(), b":", n.as_bytes()]),
                    Err(_) => hash_bytes(format!("{service}:{}", text(name)).as_bytes()),
                };
                self.entry(b, a, k, ids::MMS_PROGRAM, Kind::Symbol, h, out, |_| {
                    let t = text(name);
                    (
                        ("function_code", fc.to_string()),
                        format!(
                            "{c} used MMS {service} on {what} {t:?} of {s} (not in the baseline)"
                        ),
                        format!("{service}:{t}"),
                    )
                });
            }
            Message::Ads(ads::Message::Ams {
                header,
                body: ads::wire::Body::Access { index_group, .. },
                ..
            }) if !header.is_response() => {
                let g = *index_group;
                self.entry(
                    b,
                    a,
                    k,
                    ids::AMS_GROUP,
                    Kind::Object,
                    u64::from(g),
                    out,
                    |_| {
                        (
                            ("object", format!("{g:#x}")),
                            format!("new AMS index group {g:#x} accessed by {c} on {s}"),
                            String::new(),
                        )
                    },
                );
            }
            _ => {}
        }
    }

    /// Smart-IT-governed text values (HTTP user agent), per source.
    #[allow(clippy::too_many_arguments)]
    fn it_text(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        proto: Proto,
        ty: &'static str,
        v: &[u8],
        what: &'static str,
        out: &mut Vec<Detection>,
    ) {
        self.it_hash(b, a, proto, ty, hash_text(v), || text(v), what, out);
    }

    /// Per-source IT entries (stored on the source's channel to the
    /// unspecified address), governed by Smart IT learning.
    #[allow(clippy::too_many_arguments)]
    fn it_hash(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        proto: Proto,
        ty: &'static str,
        h: u64,
        text: impl FnOnce() -> String,
        what: &'static str,
        out: &mut Vec<Detection>,
    ) {
        let f = a.flow;
        let src = f.client.ip;
        let k = ChanKey {
            client: src,
            server: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            proto,
            port: 0,
        };
        let scen = ScenarioId { src, proto };
        if b.knows(&k, Kind::Text, h) {
            b.note_scenario(scen, a.ts.0);
            return;
        }
        if b.learning() {
            b.note_scenario(scen, a.ts.0);
            b.observe(&k, Kind::Text, h, true, a.ts.0, text);
            return;
        }
        if b.smart_it_active(scen, a.ts.0) {
            self.stats.smart_it_learned += 1;
            b.observe(&k, Kind::Text, h, true, a.ts.0, text);
            return;
        }
        if !self.due(ty, self.sig((src, proto, h)), a.ts.0) {
            return;
        }
        let t = text();
        self.emit(
            Report {
                ty,
                ts: a.ts,
                src: endpoint(&f.client),
                dst: endpoint(&f.server),
                proto: Some(proto),
                key: Some(("value", t.clone())),
                message: format!(
                    "{src} used {what} {t:?} ({}) not in the baseline",
                    proto.name()
                ),
                info: None,
                info2: None,
                flow: Some(f.id),
                learn: vec![Learnable::Entry(k, Kind::Text, h, t)],
            },
            out,
        );
    }

    /// Program download / upload and configuration reads / writes from
    /// sources that are not programming devices.
    fn transfer(&mut self, b: &mut Baseline, a: &AppEvent<'_>, out: &mut Vec<Detection>) {
        let (ty, action, extra): (&'static str, Cow<'static, str>, _) = match config_op(a) {
            Some((t, x)) => (t, x, None),
            None => match crate::operational::classify(a) {
                Some(h) if matches!(h.ty, ids::PROGRAMMING | ids::PROGRAM_UPLOAD) => {
                    (h.ty, h.action, h.info)
                }
                _ => return,
            },
        };
        let f = a.flow;
        let src = f.client.ip;
        let learning = b.learning();
        if learning {
            b.see_device(src, Some(f.client.mac), a.ts.0);
            if let Some(d) = b.device_mut(src) {
                d.programming = true;
            }
            // Program downloads and uploads are reported during learning
            // too (the reference: alerts still fire while learning; an
            // offline analysis must show them). Configuration reads and
            // writes are learned silently.
            if !matches!(ty, ids::PROGRAMMING | ids::PROGRAM_UPLOAD) {
                return;
            }
        } else if b.device(src).is_some_and(|d| d.programming) {
            return;
        }
        let proto = a.msg.proto();
        if !self.due(ty, self.sig((src, f.server.ip, proto)), a.ts.0) {
            return;
        }
        let verb = match ty {
            ids::PROGRAMMING => "programmed",
            ids::PROGRAM_UPLOAD => "uploaded the program of",
            ids::CONFIG_READ => "read the configuration of",
            _ => "wrote configuration to",
        };
        self.emit(
            Report {
                ty,
                ts: a.ts,
                src: endpoint(&f.client),
                dst: endpoint(&f.server),
                proto: Some(proto),
                key: None,
                message: if learning {
                    format!(
                        "{src} {verb} {} over {} ({action}); learning mode: {src} is now recorded as a programming device",
                        f.server.ip,
                        proto.title()
                    )
                } else {
                    format!(
                        "{src}, not a programming device, {verb} {} over {} ({action})",
                        f.server.ip,
                        proto.title()
                    )
                },
                info: Some(("command", action.into_owned())),
                info2: extra,
                flow: Some(f.id),
                learn: vec![Learnable::Programming(src)],
            },
            out,
        );
    }

    /// Firmware changes and field devices, from identity messages.
    fn identity(&mut self, b: &mut Baseline, a: &AppEvent<'_>, out: &mut Vec<Detection>) {
        let Some(id) = a.msg.identity() else {
            return;
        };
        let f = a.flow;
        let side = match id.subject {
            Subject::Sender => f.endpoints(a.dir).src,
            Subject::Receiver => f.endpoints(a.dir).dst,
            _ => return,
        };
        let ip = side.ip;
        if !real_host(ip) {
            return;
        }
        let proto = a.msg.proto();
        let learning = b.learning();
        b.see_device(ip, Some(side.mac), a.ts.0);
        let field = proto.is_ot() && id.subject == Subject::Sender;
        let Some(d) = b.device_mut(ip) else { return };
        let newly_field = field && !d.field_device;
        if newly_field {
            d.field_device = true;
        }
        if d.vendor.is_none() {
            d.vendor = id.vendor.as_deref().map(str::to_string);
        }
        if d.model.is_none() {
            d.model = id.model.as_deref().map(str::to_string);
        }
        let authorized = d.authorized;
        let fw = id
            .firmware
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty());
        // Versions are compared per component: one address can host several
        // (a Beckhoff IPC answers ReadDeviceInfo per AMS port with each
        // runtime's version, and its discovery reply with the TwinCAT
        // version). A component first seen is learned, not a change.
        let fw_change = match fw {
            None => None,
            Some(new) => {
                let comp = firmware_component(&id);
                let tagged = format!("{comp}{new}");
                // A plain (untagged) entry: learned from an alert of an
                // earlier run, or from a baseline of an older version.
                if d.knows_firmware(&tagged) || d.firmwares.iter().any(|f| f == new) {
                    None
                } else {
                    let old = d
                        .firmwares
                        .iter()
                        .find(|f| f.starts_with(comp.as_str()))
                        .map(|f| f[comp.len()..].to_string())
                        .or_else(|| {
                            // Only untagged versions (a baseline written
                            // before components, or set by hand): the device
                            // is one component.
                            d.firmwares
                                .iter()
                                .all(|f| !f.contains('|'))
                                .then(|| d.firmware.clone())
                                .flatten()
                        });
                    match old {
                        Some(old) if !learning => Some((old, new.to_string(), tagged)),
                        _ => {
                            d.learn_component_firmware(&comp, &tagged, new);
                            None
                        }
                    }
                }
            }
        };
        if learning {
            return;
        }
        if newly_field && !authorized && self.due(ids::FIELD_DEVICE, self.sig((ip, 1u8)), a.ts.0) {
            self.emit(
                Report {
                    ty: ids::FIELD_DEVICE,
                    ts: a.ts,
                    src: endpoint(side),
                    dst: Endpoint::default(),
                    proto: Some(proto),
                    key: None,
                    message: format!(
                        "field device {ip} ({}) identified over {} after learning ended",
                        id.model
                            .as_deref()
                            .or(id.vendor.as_deref())
                            .unwrap_or("unknown model"),
                        proto.title()
                    ),
                    info: Some(("evidence", id.source.to_string())),
                    info2: None,
                    flow: Some(f.id),
                    learn: vec![Learnable::Device(ip)],
                },
                out,
            );
        }
        if let Some((old, new, tagged)) = fw_change {
            let vendor = id.vendor.as_deref().unwrap_or("").to_ascii_lowercase();
            let ty = match proto {
                Proto::Ads => ids::FIRMWARE_BECKHOFF,
                Proto::Modbus | Proto::Umas => ids::FIRMWARE_MODBUS,
                Proto::Melsec => ids::FIRMWARE_MITSUBISHI,
                Proto::S7commPlus => ids::FIRMWARE_S7PLUS,
                _ if vendor.contains("beckhoff") => ids::FIRMWARE_BECKHOFF,
                _ if vendor.contains("mitsubishi") => ids::FIRMWARE_MITSUBISHI,
                // A module of the device (rack/slot module, station): the
                // device's component firmware changed.
                _ if id.module.is_some() => ids::FIRMWARE_CHANGE,
                _ => ids::FIRMWARE,
            };
            if self.due(ty, self.sig((ip, new.as_str())), a.ts.0) {
                self.emit(
                    Report {
                        ty,
                        ts: a.ts,
                        src: endpoint(side),
                        dst: Endpoint::default(),
                        proto: Some(proto),
                        key: Some(("value", new.clone())),
                        message: format!(
                            "{ip} reported firmware {new:?} over {} (baseline: {old:?})",
                            proto.title()
                        ),
                        info: Some(("previous", old)),
                        info2: None,
                        flow: Some(f.id),
                        learn: vec![Learnable::Firmware(ip, tagged)],
                    },
                    out,
                );
            }
        }
    }
}

/// Value tags of BACnet channel entries (kind [`Kind::Object`]): an object
/// `(type, instance)` and a routed network number.
const BACNET_OBJECT_TAG: u64 = 2 << 48;
const BACNET_ROUTE_TAG: u64 = 4 << 48;
/// The instance of a BACnet "every instance of this type" entry (beyond the
/// 22-bit instance range, so it never names a real object).
const BACNET_ANY_INSTANCE: u64 = 0xffff_ffff;
/// Once learning has seen this many instances of one object type on a
/// channel, the type as a whole is learned (a front end polling hundreds of
/// points of a type may poll more later).
pub const BACNET_TYPE_INSTANCES: u32 = 64;
/// Most (channel, object type) instance counters kept while learning.
const MAX_BACNET_COUNTERS: usize = 65_536;

/// A link-layer endpoint: the IP only when the frame has one.
fn l2_endpoint(s: &FlowSide) -> Endpoint {
    Endpoint {
        ip: (!s.ip.is_unspecified()).then_some(s.ip),
        mac: Some(s.mac),
        port: None,
    }
}

/// Decimal digits of `v`, written into `buf` (no allocation).
fn dec(mut v: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[i..];
        }
    }
}

/// The stored text of a GOOSE / SV publication setting:
/// `control block;dataset;confRev` (`-` for an absent confRev).
/// The announced LLDP configuration, as shown and stored.
fn lldp_text(l: &otwatch_proto::lldp::wire::Lldp<'_>) -> String {
    let opt = |v: Option<&[u8]>| v.map(text).unwrap_or_default();
    format!(
        "system {:?}, description {:?}, port {:?} ({:?}), capabilities {:#06x}",
        opt(l.sys_name),
        opt(l.sys_desc),
        text(l.port_id),
        opt(l.port_desc),
        l.caps_enabled
    )
}

fn settings_text(name: &[u8], dataset: &[u8], conf_rev: Option<u32>) -> String {
    format!(
        "{};{};{}",
        text(name),
        text(dataset),
        conf_rev.map_or_else(|| "-".to_string(), |r| r.to_string())
    )
}

/// A pending link-layer entry (built only when it is reported).
struct L2Report {
    src: Endpoint,
    dst: Endpoint,
    key: (&'static str, String),
    message: String,
    info: Option<(&'static str, String)>,
    /// The stored text (text kinds).
    stored: String,
}

/// The policy types of BACnet routing and objects and of link-layer OT
/// protocols (GOOSE, Sampled Values, Profinet DCP / RT).
impl Policy {
    /// BACnet: NPDU network numbers per device pair (every message), and the
    /// object of confirmed requests per channel.
    fn bacnet(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        m: &bacnet::Message<'_>,
        k: &ChanKey,
        out: &mut Vec<Detection>,
    ) {
        let (c, s) = (a.flow.client.ip, a.flow.server.ip);
        if let Some(n) = m.npdu {
            for (tag, net) in [(0u64, n.dnet), (1, n.snet)] {
                let Some(net) = net else { continue };
                let v = BACNET_ROUTE_TAG | (tag << 16) | u64::from(net);
                self.entry(b, a, k, ids::BACNET_ROUTE, Kind::Object, v, out, |_| {
                    let (label, what) = if tag == 0 {
                        ("dnet", "to destination")
                    } else {
                        ("snet", "from source")
                    };
                    (
                        ("object", format!("{label}:{net}")),
                        format!(
                            "BACnet traffic between {c} and {s} routed {what} network {net}{}, not in the baseline",
                            if net == 0xffff { " (global broadcast)" } else { "" }
                        ),
                        String::new(),
                    )
                });
            }
        }
        let Some(h) = m.apdu else { return };
        if h.pdu_type != bacnet::wire::pdu::CONFIRMED_REQUEST || a.dir != Direction::ToServer {
            return;
        }
        let Some(obj) = m.detail().object else {
            return;
        };
        let base = BACNET_OBJECT_TAG | (u64::from(obj.object_type) << 32);
        if b.knows(k, Kind::Object, base | BACNET_ANY_INSTANCE) {
            return;
        }
        let v = base | u64::from(obj.instance);
        if b.learning() && !b.knows(k, Kind::Object, v) {
            if self.bacnet_instances.len() >= MAX_BACNET_COUNTERS {
                self.bacnet_instances.clear();
            }
            let n = self
                .bacnet_instances
                .entry((*k, obj.object_type))
                .or_default();
            *n += 1;
            if *n >= BACNET_TYPE_INSTANCES {
                b.observe(
                    k,
                    Kind::Object,
                    base | BACNET_ANY_INSTANCE,
                    true,
                    a.ts.0,
                    String::new,
                );
            }
        }
        self.entry(b, a, k, ids::BACNET_OBJECT, Kind::Object, v, out, |_| {
            let ty = bacnet::names::object_type_name(obj.object_type);
            let inst = obj.instance;
            (
                ("object", format!("{ty}:{inst}")),
                format!(
                    "{c} used BACnet {} on object {ty} {inst} of {s}, not in the baseline",
                    m.service_name().unwrap_or("service")
                ),
                String::new(),
            )
        });
    }

    /// Link-layer OT frames, keyed by MAC ([`mac_key`] channels).
    fn link_layer(&mut self, b: &mut Baseline, a: &AppEvent<'_>, out: &mut Vec<Detection>) {
        let e = a.flow.endpoints(a.dir);
        let (src, dst) = (e.src, e.dst);
        match &a.msg {
            Message::Goose(m) => {
                let g = &m.goose;
                let name = g.gocb_ref.or(g.go_id).unwrap_or_default();
                let ds = g.dat_set.unwrap_or_default();
                self.settings(b, a, src, dst, g.header.appid, name, ds, g.conf_rev, out);
            }
            Message::Sv(m) => {
                let s = &m.asdu;
                let name = s.sv_id.unwrap_or_default();
                let ds = s.dat_set.unwrap_or_default();
                self.settings(b, a, src, dst, m.header.appid, name, ds, s.conf_rev, out);
            }
            Message::ProfinetRt(m) => {
                let (class, id) = (m.class, m.frame_id);
                self.profinet(b, a, src, dst, u64::from(class), out, || {
                    format!(
                        "Profinet RT {} frames (frame id {id:#06x})",
                        profinet_rt::class_name(class)
                    )
                });
            }
            Message::ProfinetDcp(m) => {
                let (sid, sty) = (m.frame.service_id, m.frame.service_type);
                let code = (u64::from(sid) << 8) | u64::from(sty);
                self.profinet(b, a, src, dst, code, out, || {
                    format!(
                        "Profinet DCP {} {} (service {sid}, type {sty})",
                        profinet_dcp::wire::service_name(sid),
                        profinet_dcp::wire::service_type_name(sty)
                    )
                });
            }
            Message::Lldp(m) => self.lldp(b, a, src, &m.lldp, out),
            _ => {}
        }
    }

    /// LLDP: the configuration a device announces (chassis and port ids,
    /// port description, system name and description, capabilities), one
    /// text entry per configuration on the sender's LLDP channel.
    fn lldp(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        src: &FlowSide,
        l: &otwatch_proto::lldp::wire::Lldp<'_>,
        out: &mut Vec<Detection>,
    ) {
        let k = ChanKey {
            client: mac_key(src.mac),
            server: mac_key(otwatch_core::MacAddr::BROADCAST),
            proto: Proto::Lldp,
            port: 0,
        };
        // LLDP frames are rare (one per port every 30 s): the configuration
        // text is built for each and hashed as it is stored, so a reloaded
        // baseline recognises it.
        let cfg = lldp_text(l);
        let h = hash_bytes(cfg.as_bytes());
        let smac = src.mac;
        self.link_entry(b, a, &k, ids::LLDP_CONFIG, Kind::Symbol, h, out, || {
            L2Report {
                src: l2_endpoint(src),
                dst: Endpoint::default(),
                message: format!(
                    "{smac} announced over LLDP a configuration not in the baseline: {cfg}"
                ),
                key: ("value", cfg.clone()),
                info: None,
                stored: cfg,
            }
        });
    }

    /// GOOSE / SV publication settings: publisher MAC × destination MAC ×
    /// appid channel, one text entry per `control block;dataset;confRev`.
    #[allow(clippy::too_many_arguments)]
    fn settings(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        src: &FlowSide,
        dst: &FlowSide,
        appid: u16,
        name: &[u8],
        ds: &[u8],
        conf_rev: Option<u32>,
        out: &mut Vec<Detection>,
    ) {
        let proto = a.msg.proto();
        let (ty, what) = match proto {
            Proto::Goose => (ids::GOOSE_SETTINGS, "GOOSE control block"),
            _ => (ids::SV_SETTINGS, "Sampled Values stream"),
        };
        let k = ChanKey {
            client: mac_key(src.mac),
            server: mac_key(dst.mac),
            proto,
            port: appid,
        };
        let mut buf = [0u8; 10];
        let rev: &[u8] = match conf_rev {
            Some(r) => dec(r, &mut buf),
            None => b"-",
        };
        let h = match (std::str::from_utf8(name), std::str::from_utf8(ds)) {
            (Ok(_), Ok(_)) => hash_parts(&[name, b";", ds, b";", rev]),
            _ => hash_bytes(settings_text(name, ds, conf_rev).as_bytes()),
        };
        let (smac, dmac) = (src.mac, dst.mac);
        self.link_entry(b, a, &k, ty, Kind::Symbol, h, out, || {
            let n = text(name);
            let rev = conf_rev.map_or_else(|| "none".to_string(), |r| r.to_string());
            L2Report {
                src: l2_endpoint(src),
                // The aggregation key is (src, object): the destination is
                // an info field.
                dst: Endpoint::default(),
                message: format!(
                    "{smac} published {what} {n:?} (dataset {:?}, appid {appid:#06x}, confRev {rev}) to {dmac}, a combination not in the baseline",
                    text(ds)
                ),
                key: ("object", n),
                info: Some(("destination", dmac.to_string())),
                stored: settings_text(name, ds, conf_rev),
            }
        });
    }

    /// Profinet RT frame classes and DCP services per source → destination MAC.
    #[allow(clippy::too_many_arguments)]
    fn profinet(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        src: &FlowSide,
        dst: &FlowSide,
        code: u64,
        out: &mut Vec<Detection>,
        what: impl FnOnce() -> String,
    ) {
        let k = ChanKey {
            client: mac_key(src.mac),
            server: mac_key(dst.mac),
            proto: a.msg.proto(),
            port: 0,
        };
        let (smac, dmac) = (src.mac, dst.mac);
        self.link_entry(
            b,
            a,
            &k,
            ids::PROFINET_FRAME,
            Kind::FunctionCode,
            code,
            out,
            || L2Report {
                src: l2_endpoint(src),
                dst: l2_endpoint(dst),
                key: ("function_code", code.to_string()),
                message: format!("{smac} sent {} to {dmac}, not in the baseline", what()),
                info: None,
                stored: String::new(),
            },
        );
    }

    /// One link-layer channel entry: known → nothing; learning → learned;
    /// else reported (as [`Policy::entry`], with MAC endpoints).
    #[allow(clippy::too_many_arguments)]
    fn link_entry(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        k: &ChanKey,
        ty: &'static str,
        kind: Kind,
        value: u64,
        out: &mut Vec<Detection>,
        describe: impl FnOnce() -> L2Report,
    ) {
        if b.knows(k, kind, value) {
            return;
        }
        if b.learning() {
            b.observe(k, kind, value, true, a.ts.0, || describe().stored);
            return;
        }
        if !self.due(ty, self.sig((k, kind, value)), a.ts.0) {
            return;
        }
        let r = describe();
        let stored = if kind.numeric() {
            value.to_string()
        } else {
            r.stored
        };
        self.emit(
            Report {
                ty,
                ts: a.ts,
                src: r.src,
                dst: r.dst,
                proto: Some(k.proto),
                key: Some(r.key),
                message: r.message,
                info: r.info,
                info2: None,
                flow: Some(a.flow.id),
                learn: vec![Learnable::Entry(*k, kind, value, stored)],
            },
            out,
        );
    }
}

/// [`hash_bytes`] of the lower-cased dotted form of a DNS name (as
/// `Name::to_dotted` writes it, escapes included), without building it.
fn dns_name_hash(n: &otwatch_proto::dns::wire::Name<'_>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |x: u8| {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for (i, l) in n.labels().enumerate() {
        if i > 0 {
            feed(b'.');
        }
        for &c in l {
            if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                feed(c.to_ascii_lowercase());
            } else {
                feed(b'\\');
                feed(b'0' + c / 100);
                feed(b'0' + (c / 10) % 10);
                feed(b'0' + c % 10);
            }
        }
    }
    h
}

/// Configuration reads and writes: CIP Get/Set Attributes on the Identity,
/// TCP/IP or Ethernet Link objects, S7 SZL reads, FINS controller data.
fn config_op(a: &AppEvent<'_>) -> Option<(&'static str, Cow<'static, str>)> {
    if a.kind != MsgKind::Request {
        return None;
    }
    match &a.msg {
        Message::Enip(m) => {
            let c = m.cip()?;
            if c.is_response() {
                return None;
            }
            let class = c.path.class?;
            // Identity (1), TCP/IP interface (0xf5), Ethernet link (0xf6).
            if !matches!(class, 0x01 | 0xf5 | 0xf6) {
                return None;
            }
            let name = enip::cip::class_name(class);
            match c.service {
                0x02 | 0x04 | 0x10 => Some((
                    ids::CONFIG_WRITE,
                    format!("CIP set attribute on {name}").into(),
                )),
                _ => None,
            }
        }
        Message::S7comm(m) => match m.pdu.body {
            s7comm::wire::Body::Userdata(u)
                if u.is_request() && u.group == 4 && u.subfunction == 1 =>
            {
                Some((ids::CONFIG_READ, "S7 read SZL".into()))
            }
            _ => None,
        },
        Message::Fins(m) => {
            let fr = m.frame?;
            if fr.header.is_response() {
                return None;
            }
            match fr.command() {
                0x0501 | 0x0502 => Some((ids::CONFIG_READ, "FINS controller data read".into())),
                0x0201 | 0x0202 => Some((ids::CONFIG_WRITE, "FINS parameter area write".into())),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The (type, src, dst, other key value) of a detection, as the alert
/// manager's `ScenarioKey` would hold it.
pub fn report_key(d: &Detection) -> ReportKey {
    // As the manager's endpoint id: the IP, else the MAC (link layer).
    let ip = |e: &Endpoint| match (e.ip, e.mac) {
        (Some(i), _) => i.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => String::new(),
    };
    let other = d.key.values().next().cloned().unwrap_or_default();
    (d.type_id, ip(&d.src), ip(&d.dst), other)
}

mod extra;
pub use extra::{exception, s7plus_object, srtp_file_service};

#[cfg(test)]
mod tests;

/// The component an identity's firmware belongs to, as a prefix of the
/// stored version (`source|model|`).
fn firmware_component(id: &otwatch_proto::ident::Identity<'_>) -> String {
    format!(
        "{}|{}|",
        id.source,
        id.model.as_deref().or(id.module.as_deref()).unwrap_or("")
    )
}
