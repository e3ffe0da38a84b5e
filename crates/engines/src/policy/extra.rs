//! New-activity types on fields beyond the function code: ADS index
//! offsets, S7comm-plus objects and blocks, SRTP system memory, HTTP SOAP
//! actions and request targets, OPC UA request/response pairs, DNP3 internal
//! indications and class 0 polls, and exceptions per function code.
//!
//! Each is one channel entry ([`Policy::entry`]): learned while learning,
//! reported after it. Entries share the channel's kinds with the older
//! types, so their values carry a tag in the high bits where a kind is
//! already used on the same protocol (see the `*_TAG` constants); old
//! baseline files hold none of these tags and load unchanged.

use otwatch_core::{Direction, MsgKind};
use otwatch_proto::event::{AppEvent, Message};
use otwatch_proto::{ads, dnp3, s7comm_plus, srtp};

use super::{Policy, ids, text};
use crate::baseline::{Baseline, ChanKey, Kind, hash_parts, hash_text};
use otwatch_alerts::Detection;

/// [`Kind::Service`] tag of "function code raised exception" entries:
/// `EXCEPTION_TAG | function << 16 | exception code`.
pub const EXCEPTION_TAG: u64 = 8 << 48;
/// [`Kind::Object`] tag of SRTP system memory entries:
/// `SRTP_MEMORY_TAG | service << 8 | segment selector`.
pub const SRTP_MEMORY_TAG: u64 = 16 << 48;
/// [`Kind::Object`] tag of DNP3 internal-indication entries (`| bit`).
pub const DNP3_IIN_TAG: u64 = 32 << 48;
/// [`Kind::Object`] entry of a DNP3 class 0 (integrity) poll.
pub const DNP3_CLASS0: u64 = (64 << 48) | (60 << 8) | 1;
/// [`Kind::Object`] tag of S7comm-plus object ids (`| object id`).
pub const S7PLUS_OBJECT_TAG: u64 = 128 << 48;
/// S7comm-plus object ids in this area (high 16 bits) are data blocks;
/// the low 16 bits are the block number.
pub const S7PLUS_DB_AREA: u32 = 0x8a0e;
/// OPC UA ServiceFault (binary encoding id).
pub const OPCUA_SERVICE_FAULT: u32 = 397;
/// SRTP services that work on program / file storage (reported as
/// `srtp_file_access` instead of `srtp_protocol_command`).
pub const SRTP_FILE_SERVICES: [u8; 5] = [0x03, 0x06, 0x09, 0x3f, 0x40];

/// SRTP: whether `service` is a file / program storage service.
pub fn srtp_file_service(service: u8) -> bool {
    SRTP_FILE_SERVICES.contains(&service)
}

/// S7comm-plus functions whose request starts with the addressed object
/// id (a big-endian u32 after the request header).
fn s7plus_addresses_object(function: u16) -> bool {
    matches!(
        function,
        0x04bb // Explore
            | 0x04d4 // DeleteObject
            | 0x04f2 // SetVariable
            | 0x04fc // GetVariable
            | 0x0506 // AddLink
            | 0x051a // RemoveLink
            | 0x056b // Invoke
            | 0x057c // SetVarSubStreamed
            | 0x0586 // GetVarSubStreamed
    )
}

/// The object a S7comm-plus request addresses, if any.
pub fn s7plus_object(m: &s7comm_plus::Message<'_>) -> Option<u32> {
    let f = &m.frame;
    if f.opcode != Some(s7comm_plus::wire::OP_REQUEST) || !s7plus_addresses_object(f.function) {
        return None;
    }
    let b = f.data.get(..4)?;
    let id = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    // Ids with a zero high half are assigned by the PLC per connection
    // (sessions, subscriptions, objects made by CreateObject and deleted
    // at the end): not stable across sessions, so not baseline objects.
    (id >> 16 != 0).then_some(id)
}

/// The (function, exception) of a response that reports a failure: Modbus
/// exception responses, S7comm ack-data with an error class, CIP replies
/// with a non-zero general status, SRTP responses with a non-zero major
/// status, DNP3 responses with IIN2 "function not supported", "object
/// unknown" or "parameter error".
pub fn exception(a: &AppEvent<'_>) -> Option<(u16, u16, &'static str)> {
    if a.dir != Direction::ToClient {
        return None;
    }
    match &a.msg {
        Message::Modbus(m) => {
            let c = m.exception_code()?;
            Some((
                u16::from(m.function_code() & 0x7f),
                u16::from(c),
                "exception code",
            ))
        }
        Message::S7comm(m) => {
            let class = m.pdu.header.error_class.filter(|&c| c != 0)?;
            let code = m.pdu.header.error_code.unwrap_or(0);
            let fc = m.pdu.function_code();
            Some((
                fc,
                (u16::from(class) << 8) | u16::from(code),
                "error class/code",
            ))
        }
        Message::Enip(m) => {
            let c = m.cip()?;
            let st = c.status.filter(|&s| s != 0)?;
            if !c.is_response() {
                return None;
            }
            Some((u16::from(c.code()), u16::from(st), "general status"))
        }
        Message::Srtp(m) => {
            let (major, minor) = m.frame.status?;
            if major == 0 {
                return None;
            }
            let svc = m.service()?;
            Some((
                u16::from(svc),
                (u16::from(major) << 8) | u16::from(minor),
                "status",
            ))
        }
        Message::Dnp3(m) if m.is_response() => {
            let bits = m.iin? & 0x0007;
            let req = m.request?;
            (bits != 0).then_some((u16::from(req.function_code), bits, "IIN2"))
        }
        _ => None,
    }
}

/// The path of an HTTP request target (up to `?` or `#`).
fn uri_path(uri: &[u8]) -> &[u8] {
    let end = uri
        .iter()
        .position(|&c| c == b'?' || c == b'#')
        .unwrap_or(uri.len());
    &uri[..end]
}

/// Index of `id` in [`ids::ALL`] (compile time).
const fn idx(id: &str) -> usize {
    let mut i = 0;
    while i < ids::ALL.len() {
        let (a, b) = (ids::ALL[i].as_bytes(), id.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a policy type id")
}

impl Policy {
    /// Whether type `I` (an index of [`ids::ALL`]) is enabled. The types
    /// of this module are neither learned nor reported while disabled
    /// (several are off by default; this keeps their entries out of the
    /// baseline's budget and their work off the packet path).
    fn on_idx<const I: usize>(&self) -> bool {
        self.enabled[I]
    }

    /// The types of this module for one TCP/UDP application message.
    pub(super) fn extra(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        k: &ChanKey,
        request: bool,
        out: &mut Vec<Detection>,
    ) {
        let (c, s) = (a.flow.client.ip, a.flow.server.ip);
        if let Some((fc, code, what)) = exception(a)
            && self.on_idx::<{ idx(ids::EXCEPTION) }>()
        {
            let v = EXCEPTION_TAG | (u64::from(fc) << 16) | u64::from(code);
            let proto = k.proto;
            self.entry(
                b,
                a,
                k,
                ids::EXCEPTION,
                Kind::Service,
                v,
                out,
                |_| {
                    (
                        ("function_code", fc.to_string()),
                        format!(
                            "{s} answered {c}'s {} function {fc} with {what} {code:#x}, an exception not in the baseline",
                            proto.title()
                        ),
                        String::new(),
                    )
                },
            );
        }
        match &a.msg {
            Message::Ads(ads::Message::Ams {
                header,
                body:
                    ads::wire::Body::Access {
                        index_group,
                        index_offset,
                        ..
                    },
                ..
            }) if request && !header.is_response() && self.on_idx::<{ idx(ids::AMS_OFFSET) }>() => {
                let (g, o) = (*index_group, *index_offset);
                let v = (u64::from(g) << 32) | u64::from(o);
                self.entry(b, a, k, ids::AMS_OFFSET, Kind::Service, v, out, |_| {
                    (
                        ("object", format!("{g:#x}:{o:#x}")),
                        format!(
                            "new ADS read/write target: index group {g:#x}, index offset {o:#x}, accessed by {c} on {s}"
                        ),
                        String::new(),
                    )
                });
            }
            Message::S7commPlus(m) if request => {
                let Some(id) = s7plus_object(m) else { return };
                let fname = s7comm_plus::wire::function_name(m.frame.function);
                let v = S7PLUS_OBJECT_TAG | u64::from(id);
                let on = if id >> 16 == S7PLUS_DB_AREA {
                    self.on_idx::<{ idx(ids::S7PLUS_BLOCK) }>()
                } else {
                    self.on_idx::<{ idx(ids::S7PLUS_OBJECT) }>()
                };
                if !on {
                    return;
                }
                if id >> 16 == S7PLUS_DB_AREA {
                    let db = id & 0xffff;
                    self.entry(b, a, k, ids::S7PLUS_BLOCK, Kind::Object, v, out, |_| {
                        (
                            ("object", format!("DB{db}")),
                            format!(
                                "{c} used S7comm-plus {fname} on data block DB{db} (object {id:#010x}) of {s}, not in the baseline"
                            ),
                            String::new(),
                        )
                    });
                } else {
                    self.entry(b, a, k, ids::S7PLUS_OBJECT, Kind::Object, v, out, |_| {
                        (
                            ("object", format!("{id:#010x}")),
                            format!(
                                "{c} used S7comm-plus {fname} on object {id:#010x} of {s}, not in the baseline"
                            ),
                            String::new(),
                        )
                    });
                }
            }
            Message::Srtp(m) if request => {
                let (Some(svc), Some(seg)) = (m.frame.service, m.frame.segment) else {
                    return;
                };
                // Read / write system memory: per (service, segment).
                if !matches!(svc, 0x04 | 0x07) || !self.on_idx::<{ idx(ids::SRTP_MEMORY) }>() {
                    return;
                }
                let v = SRTP_MEMORY_TAG | (u64::from(svc) << 8) | u64::from(seg);
                let op = if svc == 0x07 { "write" } else { "read" };
                let area = srtp::wire::segment_name(seg);
                let addr = m.frame.address.unwrap_or(0);
                self.entry(
                    b,
                    a,
                    k,
                    ids::SRTP_MEMORY,
                    Kind::Object,
                    v,
                    out,
                    |_| {
                        (
                            ("object", format!("{op} {area} ({seg:#04x})")),
                            format!(
                                "{c} sent an SRTP {op} of system memory {area} (selector {seg:#04x}, address {addr}) to {s}, not in the baseline"
                            ),
                            String::new(),
                        )
                    },
                );
            }
            // HTTP only where an OT device is involved: IT browsing would
            // fill the baseline's entry budget with page paths.
            Message::Http(m) if request && (b.is_ot(c) || b.is_ot(s)) => {
                let h = &m.head;
                if let Some(act) = h.soap_action
                    && self.on_idx::<{ idx(ids::SOAP_ACTION) }>()
                {
                    let hv = hash_text(act);
                    self.entry(b, a, k, ids::SOAP_ACTION, Kind::Symbol, hv, out, |_| {
                        let t = text(act);
                        (
                            ("value", t.clone()),
                            format!("{c} invoked SOAP action {t} on {s}, not in the baseline"),
                            t,
                        )
                    });
                }
                if !h.method.is_empty() && self.on_idx::<{ idx(ids::ILLEGAL_HTTP) }>() {
                    let path = uri_path(h.uri);
                    // Stored as "METHOD path"; hashed as stored.
                    let hv = match (std::str::from_utf8(h.method), std::str::from_utf8(path)) {
                        (Ok(_), Ok(_)) => hash_parts(&[h.method, b" ", path]),
                        _ => crate::baseline::hash_bytes(
                            format!("{} {}", text(h.method), text(path)).as_bytes(),
                        ),
                    };
                    let method = h.method;
                    self.entry(b, a, k, ids::ILLEGAL_HTTP, Kind::Text, hv, out, |_| {
                        let t = format!("{} {}", text(method), text(path));
                        (
                            ("value", t.clone()),
                            format!("HTTP request {t} from {c} to {s}, not in the baseline"),
                            t,
                        )
                    });
                }
            }
            Message::Opcua(m)
                if a.dir == Direction::ToClient && self.on_idx::<{ idx(ids::OPCUA_PAIR) }>() =>
            {
                let (Some(resp), Some(req)) = (m.service_id(), m.request) else {
                    return;
                };
                // A request answered normally is the request's business
                // (`opcua_activity`): only failed answers (a ServiceFault,
                // or a Bad service result) make pairs here.
                let status = m.service.and_then(|x| x.status).unwrap_or(0);
                if req.service_id == 0 || (resp != OPCUA_SERVICE_FAULT && status >> 31 == 0) {
                    return;
                }
                let rq = req.service_id;
                let v = (u64::from(rq) << 32) | u64::from(resp);
                self.entry(
                    b,
                    a,
                    k,
                    ids::OPCUA_PAIR,
                    Kind::Service,
                    v,
                    out,
                    |_| {
                        (
                            ("function_code", rq.to_string()),
                            format!(
                                "{s} answered {c}'s OPC UA service {rq} with service {resp} (status {status:#010x}), a request/response pair not in the baseline"
                            ),
                            String::new(),
                        )
                    },
                );
            }
            Message::Dnp3(m) => self.dnp3(b, a, k, m, out),
            _ => {}
        }
    }

    /// DNP3: internal indications of the outstation's responses (per bit),
    /// and class 0 polls (integrity scans) of the master.
    fn dnp3(
        &mut self,
        b: &mut Baseline,
        a: &AppEvent<'_>,
        k: &ChanKey,
        m: &dnp3::Message<'_>,
        out: &mut Vec<Detection>,
    ) {
        let (c, s) = (a.flow.client.ip, a.flow.server.ip);
        if m.is_response() {
            let iin = m.iin.unwrap_or(0);
            if iin == 0 || !self.on_idx::<{ idx(ids::DNP3_IIN) }>() {
                return;
            }
            for &(bit, name) in dnp3::wire::IIN_FLAGS.iter() {
                if iin & bit == 0 {
                    continue;
                }
                let v = DNP3_IIN_TAG | u64::from(bit);
                let (src, dst) = (m.src_addr, m.dst_addr);
                self.entry(b, a, k, ids::DNP3_IIN, Kind::Object, v, out, |_| {
                    (
                        ("value", name.to_string()),
                        format!(
                            "outstation {s} (DNP3 address {src}) reported internal indication {name} to {c} (address {dst}), not in the baseline"
                        ),
                        String::new(),
                    )
                });
            }
            return;
        }
        // A read (FC 1) of class 0 data (group 60 variation 1).
        if a.kind != MsgKind::Request
            || a.dir != Direction::ToServer
            || m.function_code != 1
            || !self.on_idx::<{ idx(ids::DNP3_INTEGRITY) }>()
        {
            return;
        }
        let class0 = m
            .object_headers()
            .take(dnp3::wire::MAX_OBJECT_HEADERS)
            .any(|h| h.group == 60 && h.variation == 1);
        if !class0 {
            return;
        }
        let (src, dst) = (m.src_addr, m.dst_addr);
        self.entry(b, a, k, ids::DNP3_INTEGRITY, Kind::Object, DNP3_CLASS0, out, |_| {
            (
                // The type aggregates per (src, dst): no key field.
                ("", String::new()),
                format!(
                    "{c} (DNP3 address {src}) requested a class 0 integrity poll from outstation {s} (address {dst}); no such poll between them is in the baseline"
                ),
                String::new(),
            )
        });
    }
}
