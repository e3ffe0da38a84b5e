//! The protocol-violation engine: messages whose structure or field values
//! break their protocol's specification (reference §3.6).
//!
//! Every alert type it raises, with its trigger, is described in
//! `docs/engines/protocol_violation.md`. In short:
//!
//! - Modbus: function code 0, the exception bit in a request, exception
//!   responses (and exceptions 1/2/3 as "Slave Device Received Illegal ..."),
//!   reserved function codes;
//! - DNP3: malformed fragments (from the master or from the outstation), the
//!   outstation's IIN2.0/2.1/2.2 (function not supported, object unknown,
//!   parameter error), reserved IIN2.6/2.7, CON set in a request, the
//!   obsolete functions 15 and 19, reserved function codes;
//! - IEC-104: negative confirmations with cause 44/45/46/47;
//! - BACnet: malformed messages;
//! - any protocol: a version or protocol identifier the protocol does not
//!   define, TCP/UDP flows to or from port 0, and too many malformed PDUs in
//!   one session.
//!
//! Types disabled in the catalog given to [`ProtocolViolation::new`] (after
//! the admin's overrides) are never raised. The only state is the malformed
//! PDU windows of [`MAX_SESSIONS`] sessions, dropped at the flow's end.

use hashbrown::HashMap;
use otwatch_alerts::{Catalog, Detection, Endpoint};
use otwatch_core::{Direction, FlowId, FlowInfo, FlowSide, Proto, Timestamp, Transport};
use otwatch_proto::event::{AppEvent, Event, MalformedEvent};
use otwatch_proto::{Message, dnp3, iec104, modbus};

use crate::Engine;

/// Sessions whose malformed PDUs are counted at once (oldest evicted).
pub const MAX_SESSIONS: usize = 4096;

/// Malformed-PDU timestamps kept per session for the exact sliding window;
/// a larger `count` threshold falls back to a fixed window.
const RING: usize = 32;

/// Default threshold of *Excessive Malformed Packets In a Single Session*
/// when the catalog has none.
const DEFAULT_MALFORMED_COUNT: u64 = 2;
const DEFAULT_MALFORMED_WINDOW_S: u64 = 600;

macro_rules! types {
    ($($v:ident => $id:literal),* $(,)?) => {
        /// The alert types this engine raises.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Type { $($v),* }

        impl Type {
            pub const ALL: &'static [Type] = &[$(Type::$v),*];

            /// The catalog id.
            pub fn id(self) -> &'static str {
                match self { $(Type::$v => $id),* }
            }
        }
    };
}

types! {
    ModbusFunctionCodeZero => "modbus_function_code_zero",
    ModbusExceptionByMaster => "modbus_exception_by_master",
    ModbusException => "modbus_exception",
    ModbusIllegalFunction => "modbus_illegal_function",
    ModbusIllegalDataAddress => "modbus_illegal_data_address",
    ModbusIllegalDataValue => "modbus_illegal_data_value",
    Dnp3IllegalOperation => "dnp3_illegal_operation",
    Dnp3ImproperFormatting => "dnp3_improper_formatting",
    Dnp3FunctionNotSupported => "dnp3_function_not_supported",
    Dnp3UnknownObject => "dnp3_unknown_object",
    Dnp3IncorrectParameter => "dnp3_incorrect_parameter",
    Dnp3ReservedIin => "dnp3_reserved_iin",
    Dnp3MasterConfirmRequest => "dnp3_master_confirm_request",
    Dnp3ObsoleteInitializeData => "dnp3_obsolete_initialize_data",
    Dnp3ObsoleteSaveConfig => "dnp3_obsolete_save_config",
    Iec104IllegalAsduType => "iec104_illegal_asdu_type",
    Iec104IllegalCause => "iec104_illegal_cause",
    Iec104IllegalCommonAddress => "iec104_illegal_common_address",
    Iec104IllegalIoa => "iec104_illegal_ioa",
    BacnetIllegalMessage => "bacnet_illegal_message",
    IllegalProtocolVersion => "illegal_protocol_version",
    PortZeroConnection => "port_zero_connection",
    ExcessiveMalformedPackets => "excessive_malformed_packets",
    ReservedFunctionCode => "reserved_function_code",
}

/// Malformed codes that mean "a version or protocol identifier the protocol
/// does not define", by protocol.
const VERSION_CODES: &[(Proto, &str)] = &[
    (Proto::Modbus, "bad_protocol_id"),
    (Proto::Bacnet, "bad_npdu_version"),
    (Proto::Cotp, "bad_tpkt_version"),
    (Proto::S7comm, "bad_protocol_id"),
    (Proto::S7commPlus, "bad_protocol_id"),
    (Proto::S7commPlus, "unknown_version"),
    (Proto::Smb, "bad_protocol_id"),
    (Proto::Mqtt, "bad_protocol_name"),
    (Proto::HartIp, "bad_version"),
    (Proto::ProfinetIo, "bad_rpc_version"),
    (Proto::Snmp, "bad_version"),
    (Proto::Ntp, "bad_version"),
    (Proto::Cdp, "bad_version"),
    (Proto::Tls, "bad_record_version"),
    (Proto::Vnc, "bad_version"),
];

/// Malformed PDUs of one session (both directions) within the window.
#[derive(Clone, Copy, Debug)]
struct Window {
    /// The last timestamps (ns), a ring, when `count <= RING`.
    ts: [i64; RING],
    len: u8,
    next: u8,
    /// Fixed-window fallback (`count > RING`): window start and count.
    start: i64,
    total: u64,
    last: i64,
}

impl Window {
    fn new() -> Self {
        Window {
            ts: [0; RING],
            len: 0,
            next: 0,
            start: 0,
            total: 0,
            last: 0,
        }
    }

    /// Adds one malformed PDU at `t`; true when `count` of them fall within
    /// `window` ns (the window is then cleared, so the next detection needs
    /// `count` new PDUs).
    fn add(&mut self, t: i64, count: u64, window: i64) -> bool {
        self.last = t;
        if count as usize <= RING {
            let n = count.max(1) as usize;
            self.ts[self.next as usize] = t;
            self.next = ((self.next as usize + 1) % n) as u8;
            if (self.len as usize) < n {
                self.len += 1;
            }
            if self.len as usize == n {
                // `next` now points at the oldest of the last `n`.
                let oldest = self.ts[self.next as usize];
                if t - oldest <= window {
                    self.len = 0;
                    self.next = 0;
                    return true;
                }
            }
            false
        } else {
            if self.total == 0 || t - self.start > window {
                self.start = t;
                self.total = 0;
            }
            self.total += 1;
            if self.total >= count {
                self.total = 0;
                return true;
            }
            false
        }
    }
}

/// The protocol-violation engine.
#[derive(Debug)]
pub struct ProtocolViolation {
    on: [bool; Type::ALL.len()],
    /// Fast path: any Modbus / DNP3 / IEC-104 type on.
    modbus: bool,
    dnp3: bool,
    iec104: bool,
    malformed: bool,
    malformed_count: u64,
    malformed_window_ns: i64,
    sessions: HashMap<FlowId, Window>,
}

impl ProtocolViolation {
    /// The engine with the types enabled in `catalog` (type and engine
    /// switches, after overrides) and its thresholds.
    pub fn new(catalog: &Catalog) -> Self {
        let mut on = [false; Type::ALL.len()];
        for &t in Type::ALL {
            on[t as usize] = catalog.is_enabled(t.id());
        }
        let th = |name: &str, default: u64| {
            catalog
                .get(Type::ExcessiveMalformedPackets.id())
                .and_then(|t| t.threshold(name))
                .unwrap_or(default)
        };
        let any = |ts: &[Type]| ts.iter().any(|&t| on[t as usize]);
        use Type::*;
        ProtocolViolation {
            modbus: any(&[
                ModbusExceptionByMaster,
                ModbusException,
                ModbusIllegalFunction,
                ModbusIllegalDataAddress,
                ModbusIllegalDataValue,
                ReservedFunctionCode,
            ]),
            dnp3: any(&[
                Dnp3FunctionNotSupported,
                Dnp3UnknownObject,
                Dnp3IncorrectParameter,
                Dnp3ReservedIin,
                Dnp3MasterConfirmRequest,
                Dnp3ObsoleteInitializeData,
                Dnp3ObsoleteSaveConfig,
                ReservedFunctionCode,
            ]),
            iec104: any(&[
                Iec104IllegalAsduType,
                Iec104IllegalCause,
                Iec104IllegalCommonAddress,
                Iec104IllegalIoa,
            ]),
            malformed: any(&[
                ModbusFunctionCodeZero,
                Dnp3IllegalOperation,
                Dnp3ImproperFormatting,
                BacnetIllegalMessage,
                IllegalProtocolVersion,
                ExcessiveMalformedPackets,
            ]),
            malformed_count: th("count", DEFAULT_MALFORMED_COUNT).max(1),
            malformed_window_ns: i64::try_from(th("window", DEFAULT_MALFORMED_WINDOW_S))
                .unwrap_or(i64::MAX / 1_000_000_000)
                .saturating_mul(1_000_000_000),
            on,
            sessions: HashMap::new(),
        }
    }

    /// Whether the engine raises `t`.
    pub fn is_on(&self, t: Type) -> bool {
        self.on[t as usize]
    }

    /// Sessions whose malformed PDUs are being counted.
    pub fn tracked_sessions(&self) -> usize {
        self.sessions.len()
    }

    fn modbus(&mut self, a: &AppEvent<'_>, m: &modbus::Message<'_>, out: &mut Vec<Detection>) {
        let fc = m.function_code();
        match (a.dir, m.exception_code()) {
            (Direction::ToServer, Some(code)) => {
                if self.is_on(Type::ModbusExceptionByMaster) {
                    let (s, d) = names(a.flow, a.dir);
                    out.push(
                        det(Type::ModbusExceptionByMaster, a.ts, a.flow, a.dir, "modbus")
                            .message(format!(
                                "Modbus request with the exception bit set (function code 0x{:02x}, exception code {code}) from {s} to {d}, unit {}",
                                fc | 0x80,
                                m.unit_id()
                            ))
                            .info("function_code", fc)
                            .info("exception_code", code)
                            .info("unit_id", m.unit_id()),
                    );
                }
            }
            (Direction::ToClient, Some(code)) => self.modbus_exception(a, m, fc, code, out),
            (Direction::ToServer, None) => {
                if modbus_reserved(fc) && self.is_on(Type::ReservedFunctionCode) {
                    let (s, d) = names(a.flow, a.dir);
                    out.push(
                        det(Type::ReservedFunctionCode, a.ts, a.flow, a.dir, "modbus")
                            .key("function_code", fc)
                            .message(format!(
                                "Modbus request with reserved function code {fc} from {s} to {d}, unit {}",
                                m.unit_id()
                            ))
                            .info("unit_id", m.unit_id()),
                    );
                }
            }
            (Direction::ToClient, None) => {}
        }
    }

    fn modbus_exception(
        &mut self,
        a: &AppEvent<'_>,
        m: &modbus::Message<'_>,
        fc: u8,
        code: u8,
        out: &mut Vec<Detection>,
    ) {
        let specific = match code {
            1 => Some(Type::ModbusIllegalFunction),
            2 => Some(Type::ModbusIllegalDataAddress),
            3 => Some(Type::ModbusIllegalDataValue),
            _ => None,
        }
        .filter(|&t| self.is_on(t));
        if !self.is_on(Type::ModbusException) && specific.is_none() {
            return;
        }
        let range = m.address_range();
        let at = match range {
            Some((addr, 0 | 1)) => format!(" at address {addr}"),
            Some((addr, q)) => format!(
                " at addresses {addr}-{}",
                u32::from(addr) + u32::from(q) - 1
            ),
            None => String::new(),
        };
        let add_info = |d: Detection| {
            let d = d
                .info("function_code", fc)
                .info("exception_code", code)
                .info("unit_id", m.unit_id());
            match range {
                Some((addr, q)) => d.info("address", addr).info("quantity", q),
                None => d,
            }
        };
        let (s, d) = names(a.flow, a.dir);
        let what = exception_name(code);
        if self.is_on(Type::ModbusException) {
            out.push(add_info(
                det(Type::ModbusException, a.ts, a.flow, a.dir, "modbus")
                    .key("function_code", fc)
                    .message(format!(
                        "Modbus exception {code} ({what}) from {s} to {d} for function {fc}{at}, unit {}",
                        m.unit_id()
                    )),
            ));
        }
        if let Some(t) = specific {
            // The slave received the illegal request: the master is the source.
            out.push(add_info(
                det(t, a.ts, a.flow, a.dir.reverse(), "modbus").message(format!(
                    "{s} answered {d}'s function {fc} request{at} with exception {code} ({what}), unit {}",
                    m.unit_id()
                )),
            ));
        }
    }

    fn dnp3(&mut self, a: &AppEvent<'_>, m: &dnp3::Message<'_>, out: &mut Vec<Detection>) {
        let fc = m.function_code();
        let reserved = dnp3::function_name(fc) == "reserved";
        if reserved && self.is_on(Type::ReservedFunctionCode) {
            let (s, d) = names(a.flow, a.dir);
            out.push(
                dnp3_info(
                    det(Type::ReservedFunctionCode, a.ts, a.flow, a.dir, "dnp3"),
                    m,
                )
                .key("function_code", fc)
                .message(format!(
                    "DNP3 fragment with reserved function code {fc} from {s} to {d} (link {} -> {})",
                    m.src_addr, m.dst_addr
                )),
            );
        }
        if m.is_response() {
            if let Some(iin) = m.iin {
                self.dnp3_iin(a, m, iin, out);
            }
            return;
        }
        if reserved || dnp3::msg_kind(fc) != otwatch_core::MsgKind::Request {
            return;
        }
        if m.app_control.con() && self.is_on(Type::Dnp3MasterConfirmRequest) {
            let (s, d) = names(a.flow, a.dir);
            out.push(
                dnp3_info(
                    det(Type::Dnp3MasterConfirmRequest, a.ts, a.flow, a.dir, "dnp3"),
                    m,
                )
                .message(format!(
                    "DNP3 {} request (function {fc}) from {s} to {d} asks for an application confirmation (CON set, control 0x{:02x}, link {} -> {})",
                    m.function_name(),
                    m.app_control.0,
                    m.src_addr,
                    m.dst_addr
                )),
            );
        }
        let obsolete = match fc {
            15 => Some(Type::Dnp3ObsoleteInitializeData),
            19 => Some(Type::Dnp3ObsoleteSaveConfig),
            _ => None,
        };
        if let Some(t) = obsolete.filter(|&t| self.is_on(t)) {
            let (s, d) = names(a.flow, a.dir);
            out.push(
                dnp3_info(det(t, a.ts, a.flow, a.dir, "dnp3"), m)
                    .info("function_code", fc)
                    .message(format!(
                        "DNP3 obsolete function {fc} ({}) from {s} to {d} (link {} -> {})",
                        m.function_name(),
                        m.src_addr,
                        m.dst_addr
                    )),
            );
        }
    }

    fn dnp3_iin(
        &mut self,
        a: &AppEvent<'_>,
        m: &dnp3::Message<'_>,
        iin: u16,
        out: &mut Vec<Detection>,
    ) {
        // IIN2 is the low byte: 2.0 function not supported, 2.1 object
        // unknown, 2.2 parameter error, 2.6 and 2.7 reserved.
        if iin & 0x00c7 == 0 {
            return;
        }
        let req_fc = m.request.map(|r| r.function_code);
        let req = match req_fc {
            Some(f) => format!("{} request (function {f})", dnp3::function_name(f)),
            None => "request".to_string(),
        };
        let (s, d) = names(a.flow, a.dir);
        let flagged: [(u16, Type, &str); 3] = [
            (
                0x0001,
                Type::Dnp3FunctionNotSupported,
                "does not support the function of",
            ),
            (
                0x0002,
                Type::Dnp3UnknownObject,
                "does not know an object in",
            ),
            (
                0x0004,
                Type::Dnp3IncorrectParameter,
                "found a parameter error in",
            ),
        ];
        for (bit, t, what) in flagged {
            if iin & bit == 0 || !self.is_on(t) {
                continue;
            }
            // The outstation received the bad request: the master is the source.
            let mut dt = dnp3_info(det(t, a.ts, a.flow, a.dir.reverse(), "dnp3"), m)
                .info("iin", format!("0x{iin:04x}"))
                .message(format!(
                    "DNP3 outstation {s} (link {}) {what} the {req} from {d} (link {}): IIN 0x{iin:04x}",
                    m.src_addr, m.dst_addr
                ));
            if t == Type::Dnp3FunctionNotSupported {
                dt = dt.key(
                    "function_code",
                    req_fc.map_or_else(|| "unknown".to_string(), |f| f.to_string()),
                );
            }
            if let Some(f) = req_fc {
                dt = dt.info("request_function_code", f);
            }
            out.push(dt);
        }
        if iin & 0x00c0 != 0 && self.is_on(Type::Dnp3ReservedIin) {
            let bits = match iin & 0x00c0 {
                0x0040 => "IIN2.6",
                0x0080 => "IIN2.7",
                _ => "IIN2.6 and IIN2.7",
            };
            out.push(
                dnp3_info(det(Type::Dnp3ReservedIin, a.ts, a.flow, a.dir, "dnp3"), m)
                    .info("iin", format!("0x{iin:04x}"))
                    .message(format!(
                        "DNP3 outstation {s} (link {}) set the reserved {bits} in a response to {d} (link {}): IIN 0x{iin:04x}",
                        m.src_addr, m.dst_addr
                    )),
            );
        }
    }

    fn iec104(&mut self, a: &AppEvent<'_>, m: &iec104::Message<'_>, out: &mut Vec<Detection>) {
        let Some(asdu) = m.asdu() else { return };
        let t = match asdu.cot {
            44 => Type::Iec104IllegalAsduType,
            45 => Type::Iec104IllegalCause,
            46 => Type::Iec104IllegalCommonAddress,
            47 => Type::Iec104IllegalIoa,
            _ => return,
        };
        if !self.is_on(t) {
            return;
        }
        let (s, d) = names(a.flow, a.dir);
        let what = match t {
            Type::Iec104IllegalAsduType => "unknown type identification",
            Type::Iec104IllegalCause => "unknown cause of transmission",
            Type::Iec104IllegalCommonAddress => "unknown common address of ASDU",
            _ => "unknown information object address",
        };
        let ioa = asdu.ioas().first().copied();
        let at = ioa.map_or_else(String::new, |i| format!(", IOA {i}"));
        // The station that rejected the ASDU is the destination of the alert.
        let mut dt = det(t, a.ts, a.flow, a.dir.reverse(), "iec104")
            .message(format!(
                "IEC-104 station {s} rejected an ASDU from {d} with cause {} ({what}): type {} ({}), common address {}{at}",
                asdu.cot,
                asdu.type_id,
                asdu.type_name(),
                asdu.common_address
            ))
            .info("type_id", asdu.type_id)
            .info("cause", asdu.cot)
            .info("negative", asdu.negative)
            .info("common_address", asdu.common_address);
        if let Some(i) = ioa {
            dt = dt.info("ioa", i);
        }
        if t == Type::Iec104IllegalAsduType {
            dt = dt.key("function_code", asdu.type_id);
        }
        out.push(dt);
    }

    fn malformed(&mut self, m: &MalformedEvent<'_>, out: &mut Vec<Detection>) {
        let proto = m.proto.name();
        if m.flow.transport != Transport::L2 && self.is_on(Type::ExcessiveMalformedPackets) {
            self.count_malformed(m, out);
        }
        let (s, d) = names(m.flow, m.dir);
        match m.proto {
            Proto::Modbus
                if m.code == "function_code_zero" && self.is_on(Type::ModbusFunctionCodeZero) =>
            {
                out.push(
                    malformed_info(
                        det(Type::ModbusFunctionCodeZero, m.ts, m.flow, m.dir, proto),
                        m,
                    )
                    .message(format!("Modbus PDU with function code 0 from {s} to {d}")),
                );
            }
            Proto::Dnp3 => {
                // Roles follow the function code when the fragment header was
                // readable, else the flow direction (the master is the client).
                let from_outstation = match m.function_code {
                    Some(f) => u8::try_from(f).is_ok_and(dnp3::wire::is_response),
                    None => m.dir == Direction::ToClient,
                };
                let (t, who) = if from_outstation {
                    (Type::Dnp3ImproperFormatting, "outstation")
                } else {
                    (Type::Dnp3IllegalOperation, "master")
                };
                if self.is_on(t) {
                    out.push(
                        malformed_info(det(t, m.ts, m.flow, m.dir, proto), m).message(format!(
                            "Malformed DNP3 from {who} {s} to {d}: {} ({})",
                            m.detail, m.code
                        )),
                    );
                }
            }
            Proto::Bacnet if self.is_on(Type::BacnetIllegalMessage) => {
                out.push(
                    malformed_info(
                        det(Type::BacnetIllegalMessage, m.ts, m.flow, m.dir, proto),
                        m,
                    )
                    .message(format!(
                        "Malformed BACnet message from {s} to {d}: {} ({})",
                        m.detail, m.code
                    )),
                );
            }
            _ => {}
        }
        if self.is_on(Type::IllegalProtocolVersion)
            && VERSION_CODES
                .iter()
                .any(|&(p, c)| p == m.proto && c == m.code)
        {
            out.push(
                malformed_info(
                    det(Type::IllegalProtocolVersion, m.ts, m.flow, m.dir, proto),
                    m,
                )
                .message(format!(
                    "Illegal {} protocol version or identifier from {s} to {d}: {}",
                    m.proto.title(),
                    m.detail
                )),
            );
        }
    }

    fn count_malformed(&mut self, m: &MalformedEvent<'_>, out: &mut Vec<Detection>) {
        let key = m.flow.id;
        let t = m.ts.0;
        if !self.sessions.contains_key(&key) && self.sessions.len() >= MAX_SESSIONS {
            let oldest = self
                .sessions
                .iter()
                .min_by_key(|(_, w)| w.last)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.sessions.remove(&k);
            }
        }
        let w = self.sessions.entry(key).or_insert_with(Window::new);
        if !w.add(t, self.malformed_count, self.malformed_window_ns) {
            return;
        }
        let (s, d) = names(m.flow, m.dir);
        let proto = m.proto.name();
        let window_s = self.malformed_window_ns / 1_000_000_000;
        out.push(
            malformed_info(
                det(Type::ExcessiveMalformedPackets, m.ts, m.flow, m.dir, proto),
                m,
            )
            .info("count", self.malformed_count)
            .info("window_s", window_s)
            .message(format!(
                "{} malformed {} PDUs from {s} to {d} in one session within {window_s} s, the last: {} ({})",
                self.malformed_count,
                m.proto.title(),
                m.detail,
                m.code
            )),
        );
    }

    fn flow_start(&mut self, f: &FlowInfo, out: &mut Vec<Detection>) {
        if !matches!(f.transport, Transport::Tcp | Transport::Udp)
            || (f.client.port != 0 && f.server.port != 0)
            || !self.is_on(Type::PortZeroConnection)
        {
            return;
        }
        let (s, d) = names(f, Direction::ToServer);
        let t = f.transport.as_str();
        out.push(
            det(
                Type::PortZeroConnection,
                f.first_seen,
                f,
                Direction::ToServer,
                t,
            )
            .info("src_port", f.client.port)
            .info("dst_port", f.server.port)
            .message(format!(
                "{} traffic with port 0 from {s}:{} to {d}:{}",
                t.to_uppercase(),
                f.client.port,
                f.server.port
            )),
        );
    }
}

impl Engine for ProtocolViolation {
    fn kind(&self) -> otwatch_alerts::Engine {
        otwatch_alerts::Engine::ProtocolViolation
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<Detection>) {
        match ev {
            Event::App(a) => match &a.msg {
                Message::Modbus(m) if self.modbus => self.modbus(a, m, out),
                Message::Dnp3(m) if self.dnp3 => self.dnp3(a, m, out),
                Message::Iec104(m) if self.iec104 => self.iec104(a, m, out),
                _ => {}
            },
            Event::Malformed(m) if self.malformed => self.malformed(m, out),
            Event::FlowStart(f) => self.flow_start(f, out),
            Event::FlowEnd(f) if !self.sessions.is_empty() => {
                self.sessions.remove(&f.id);
            }
            _ => {}
        }
    }
}

/// One side of a flow as an alert endpoint (no IP for link-layer frames, no
/// port outside TCP/UDP, no all-zero MAC).
fn endpoint(side: &FlowSide, transport: Transport) -> Endpoint {
    Endpoint {
        ip: (transport != Transport::L2).then_some(side.ip),
        mac: (!side.mac.is_zero()).then_some(side.mac),
        port: matches!(transport, Transport::Tcp | Transport::Udp).then_some(side.port),
    }
}

/// A detection of `t` whose source sends in direction `dir` of `flow`.
fn det(t: Type, ts: Timestamp, flow: &FlowInfo, dir: Direction, proto: &'static str) -> Detection {
    let e = flow.endpoints(dir);
    let mut d = Detection::new(
        t.id(),
        ts,
        endpoint(e.src, flow.transport),
        endpoint(e.dst, flow.transport),
    )
    .protocol(proto);
    if flow.transport != Transport::L2 {
        d = d.flow(flow.id);
    }
    d
}

/// Printable sender and receiver of direction `dir` (IP, or MAC on L2).
fn names(flow: &FlowInfo, dir: Direction) -> (String, String) {
    let e = flow.endpoints(dir);
    let name = |s: &FlowSide| {
        if flow.transport == Transport::L2 {
            s.mac.to_string()
        } else {
            s.ip.to_string()
        }
    };
    (name(e.src), name(e.dst))
}

fn malformed_info(d: Detection, m: &MalformedEvent<'_>) -> Detection {
    let d = d
        .info("error_code", m.code)
        .info("error", m.detail)
        .info("bytes", m.data.len());
    match m.function_code {
        Some(f) => d.info("function_code", f),
        None => d,
    }
}

fn dnp3_info(d: Detection, m: &dnp3::Message<'_>) -> Detection {
    d.info("link_src", m.src_addr)
        .info("link_dst", m.dst_addr)
        .info("function", m.function_name())
}

/// Modbus function codes the specification reserves: the legacy codes of
/// its Annex A (9, 10, 13, 14, 41, 42, 90, 91, 125–127) and the unassigned
/// public codes ("reserved for future use"). 90 is Schneider UMAS, reported
/// as its own protocol, so it never reaches this check.
fn modbus_reserved(fc: u8) -> bool {
    !matches!(
        fc,
        0 | 1..=8 | 11 | 12 | 15..=17 | 20..=24 | 43 | 65..=72 | 90 | 100..=110 | 128..
    )
}

fn exception_name(code: u8) -> &'static str {
    match code {
        1 => "illegal function",
        2 => "illegal data address",
        3 => "illegal data value",
        4 => "server device failure",
        5 => "acknowledge",
        6 => "server device busy",
        7 => "negative acknowledge",
        8 => "memory parity error",
        10 => "gateway path unavailable",
        11 => "gateway target device failed to respond",
        _ => "unassigned exception code",
    }
}
