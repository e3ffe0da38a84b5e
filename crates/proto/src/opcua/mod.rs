//! OPC UA binary (UA TCP, OPC 10000-6) dissector.
//!
//! - `wire`: pure parsing of one chunk ([`wire::parse_chunk`]) and of service
//!   bodies ([`wire::parse_service`]).
//! - this file: the per-flow [`Session`]: chunk framing over the stream,
//!   resynchronisation, the secure channel's security policy (from OPN),
//!   multi-chunk reassembly per request id (bounded), and request/response
//!   matching by request id.
//! - `json`: the `opcua` object of NDJSON records.

mod json;
pub mod wire;

use otwatch_core::{Direction, MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
pub use wire::{Chunk, Detail, Error, Header, MsgType, Service};
use wire::{HEADER_LEN, MAX_WAIT, parse_chunk, parse_header};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 4840)];

/// Requests remembered per flow while waiting for their response.
pub const MAX_PENDING: usize = 32;
/// Multi-chunk messages being reassembled per direction.
pub const MAX_PARTIAL: usize = 2;
/// Most chunks of one reassembled message.
pub const MAX_CHUNKS: u32 = 64;
/// Most bytes of one reassembled message body.
pub const MAX_REASSEMBLY: usize = 256 * 1024;

/// A request remembered until its response arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub request_id: u32,
    /// Encoding id of the request's service (0 when not decoded).
    pub service_id: u32,
    pub request_handle: Option<u32>,
    pub ts: Timestamp,
}

/// Short name of a security policy, kept inline (no allocation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    buf: [u8; 32],
    len: u8,
}

impl Policy {
    fn new(s: &str) -> Policy {
        let mut p = Policy::default();
        let n = s.len().min(32);
        p.buf[..n].copy_from_slice(&s.as_bytes()[..n]);
        p.len = n as u8;
        p
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("?")
    }
    pub fn is_none(&self) -> bool {
        self.as_str() == "None"
    }
}

/// A dissected OPC UA message (one chunk, or a reassembled multi-chunk message).
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub header: Header,
    pub chunk: Chunk<'a>,
    /// Chunks reassembled into this message (1 for a single chunk).
    pub chunks: u32,
    /// The decoded service (OPN/CLO/MSG with policy None).
    pub service: Option<Service<'a>>,
    /// Security policy of the secure channel, when known (from OPN).
    pub policy: Option<Policy>,
    /// Message security mode of the channel, when known (from an OPN request).
    pub security_mode: Option<u32>,
    /// The body is signed/encrypted (or of unknown security): no service decoded.
    pub encrypted: bool,
    /// On a response: the request it answers, matched by request id.
    pub request: Option<RequestInfo>,
    pub latency_ns: Option<i64>,
}

impl Message<'_> {
    pub fn msg_type(&self) -> MsgType {
        self.header.msg_type
    }
    /// The decoded service's encoding id on MSG chunks, if any.
    pub fn service_id(&self) -> Option<u32> {
        self.service.map(|s| s.id).filter(|&i| i != u32::MAX)
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        match (self.header.msg_type, self.service_id()) {
            (MsgType::Msg, Some(id)) if id <= 0xffff => id as u16,
            (t, _) => t.code(),
        }
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let s = self.service?;
        let server = match s.detail {
            Detail::Endpoints {
                server: Some(srv), ..
            } => srv,
            _ => return None,
        };
        let mut id = Identity::new(Subject::Sender, "opcua endpoints");
        id.model = server.name.and_then(text);
        id.product_code = server.product_uri.and_then(text);
        id.hostname = server.uri.and_then(text);
        id.device_class = Some(
            match server.app_type {
                0 => "opcua server",
                1 => "opcua client",
                2 => "opcua client and server",
                3 => "opcua discovery server",
                _ => "opcua application",
            }
            .into(),
        );
        Some(id)
    }
}

#[derive(Debug, Default)]
struct Partial {
    request_id: u32,
    chunks: u32,
    /// Bodies (after the sequence header) of the chunks so far.
    buf: Vec<u8>,
    active: bool,
}

/// Per-flow OPC UA state.
#[derive(Debug, Default)]
pub struct Session {
    resync: [bool; 2],
    reported: [bool; 2],
    started: [bool; 2],
    /// Bytes of an oversized chunk still to skip, per direction.
    skip: [usize; 2],
    /// Security policy of the channel (from the last OPN).
    policy: Option<Policy>,
    mode: Option<u32>,
    pending: [Option<RequestInfo>; MAX_PENDING],
    partial: [[Partial; MAX_PARTIAL]; 2],
    /// Requests dropped from `pending` without an answer.
    pub unanswered: u64,
    /// Responses that matched no pending request.
    pub unmatched_responses: u64,
}

/// True when `b` starts with a sound chunk header.
fn plausible(b: &[u8]) -> bool {
    parse_header(b).is_ok()
}

fn find_header(b: &[u8]) -> Option<usize> {
    (0..b.len().saturating_sub(HEADER_LEN - 1)).find(|&i| {
        matches!(b[i], b'H' | b'A' | b'O' | b'M' | b'C' | b'E' | b'R') && plausible(&b[i..])
    })
}

impl Session {
    fn remember(&mut self, info: RequestInfo) {
        if let Some(slot) = self.pending.iter_mut().find(|p| p.is_none()) {
            *slot = Some(info);
            return;
        }
        let oldest = (0..MAX_PENDING)
            .min_by_key(|&i| self.pending[i].map_or(Timestamp::ZERO, |p| p.ts))
            .unwrap_or(0);
        self.pending[oldest] = Some(info);
        self.unanswered += 1;
    }

    fn take_request(&mut self, request_id: u32) -> Option<RequestInfo> {
        self.pending
            .iter_mut()
            .find(|p| p.is_some_and(|r| r.request_id == request_id))?
            .take()
    }

    fn malformed(&mut self, e: Error, fc: Option<u16>, data: &[u8], cx: &mut Ctx<'_>) {
        let shown = &data[..data.len().min(256)];
        cx.malformed(Proto::Opcua, e.code(), &e, fc, shown);
    }

    /// Whether MSG bodies on this channel can be decoded.
    fn decodable(&self) -> Option<bool> {
        self.policy.map(|p| p.is_none())
    }

    /// Handles one whole chunk `b` (or the head of an oversized one).
    fn chunk(&mut self, h: Header, b: &[u8], truncated: bool, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        let chunk = match parse_chunk(&h, b) {
            Ok(c) => c,
            Err(e) => {
                self.malformed(e, Some(h.msg_type.code()), b, cx);
                return;
            }
        };
        let Chunk::Secure {
            asym,
            request_id,
            body,
            ..
        } = chunk
        else {
            self.report(h, chunk, 1, None, false, cx);
            return;
        };
        if let Some(a) = asym {
            self.policy = Some(Policy::new(wire::policy_short(a.policy_uri)));
            if !self.policy.is_some_and(|p| p.is_none()) {
                self.mode = None;
            }
        }
        let plain = match h.msg_type {
            MsgType::Opn => asym.is_some_and(|a| wire::policy_short(a.policy_uri) == "None"),
            _ => self.decodable().unwrap_or(true),
        };
        let rid = request_id.unwrap_or(0);
        // Multi-chunk messages: collect C chunks, report at F, drop at A.
        let slot = self.partial[d]
            .iter()
            .position(|p| p.active && p.request_id == rid);
        match h.chunk {
            b'C' if plain && !truncated => {
                let i = match slot {
                    Some(i) => i,
                    None => {
                        let i = self.partial[d]
                            .iter()
                            .position(|p| !p.active)
                            .unwrap_or_else(|| {
                                // Evict the one with the most chunks (the stalest).
                                (0..MAX_PARTIAL)
                                    .max_by_key(|&i| self.partial[d][i].chunks)
                                    .unwrap_or(0)
                            });
                        let p = &mut self.partial[d][i];
                        p.active = true;
                        p.request_id = rid;
                        p.chunks = 0;
                        p.buf.clear();
                        i
                    }
                };
                let p = &mut self.partial[d][i];
                p.chunks += 1;
                if p.chunks > MAX_CHUNKS || p.buf.len() + body.len() > MAX_REASSEMBLY {
                    let e = Error::TooManyChunks {
                        request_id: rid,
                        chunks: p.chunks,
                        bytes: p.buf.len() + body.len(),
                    };
                    p.active = false;
                    p.buf = Vec::new();
                    self.malformed(e, Some(h.msg_type.code()), &b[..b.len().min(64)], cx);
                    return;
                }
                p.buf.extend_from_slice(body);
                return;
            }
            b'A' => {
                if let Some(i) = slot {
                    self.partial[d][i].active = false;
                    self.partial[d][i].buf.clear();
                }
                self.report(h, chunk, 1, None, false, cx);
                return;
            }
            _ => {}
        }
        if h.chunk == b'F'
            && let Some(i) = slot
            && plain
        {
            let mut buf = std::mem::take(&mut self.partial[d][i].buf);
            let chunks = self.partial[d][i].chunks + 1;
            self.partial[d][i].active = false;
            if buf.len() + body.len() <= MAX_REASSEMBLY {
                buf.extend_from_slice(body);
                self.service_chunk(h, chunk, &buf, chunks, truncated, cx);
            } else {
                let e = Error::TooManyChunks {
                    request_id: rid,
                    chunks,
                    bytes: buf.len() + body.len(),
                };
                self.malformed(e, Some(h.msg_type.code()), &b[..b.len().min(64)], cx);
            }
            buf.clear();
            self.partial[d][i].buf = buf;
            return;
        }
        if !plain || h.chunk == b'C' {
            self.report(h, chunk, 1, None, true, cx);
            return;
        }
        self.service_chunk(h, chunk, body, 1, truncated, cx);
    }

    /// Decodes the service of a plain OPN/MSG/CLO body and reports it.
    fn service_chunk(
        &mut self,
        h: Header,
        chunk: Chunk<'_>,
        body: &[u8],
        chunks: u32,
        truncated: bool,
        cx: &mut Ctx<'_>,
    ) {
        let known = self.policy.is_some();
        match wire::parse_service(body) {
            Ok(s) => {
                if !known && wire::service_name(s.id).is_empty() {
                    // No OPN seen and no known service: likely encrypted.
                    self.report(h, chunk, chunks, None, true, cx);
                    return;
                }
                if let Detail::OpenSecureChannel { mode, .. } = s.detail {
                    self.mode = Some(mode);
                }
                self.report(h, chunk, chunks, Some(s), false, cx);
            }
            Err(e) => {
                let id = wire::service_id(body).ok().filter(|&i| i != u32::MAX);
                let named = id.is_some_and(|i| !wire::service_name(i).is_empty());
                if !known && !named {
                    self.report(h, chunk, chunks, None, true, cx);
                    return;
                }
                let s = id.map(|id| Service {
                    id,
                    request_handle: None,
                    status: None,
                    detail: Detail::None,
                });
                self.report(h, chunk, chunks, s, false, cx);
                if !truncated {
                    let fc = match (h.msg_type, id) {
                        (MsgType::Msg, Some(i)) if i <= 0xffff => i as u16,
                        _ => h.msg_type.code(),
                    };
                    self.malformed(e, Some(fc), &body[..body.len().min(256)], cx);
                }
            }
        }
    }

    fn report(
        &mut self,
        header: Header,
        chunk: Chunk<'_>,
        chunks: u32,
        service: Option<Service<'_>>,
        encrypted: bool,
        cx: &mut Ctx<'_>,
    ) {
        let request_id = match chunk {
            Chunk::Secure { request_id, .. } if !encrypted => request_id,
            _ => None,
        };
        let (kind, request) = match cx.dir {
            Direction::ToServer => {
                if let Some(rid) = request_id
                    && header.msg_type != MsgType::Clo
                {
                    self.remember(RequestInfo {
                        request_id: rid,
                        service_id: service.map_or(0, |s| s.id),
                        request_handle: service.and_then(|s| s.request_handle),
                        ts: cx.ts,
                    });
                }
                (MsgKind::Request, None)
            }
            Direction::ToClient => {
                let r = request_id.and_then(|rid| self.take_request(rid));
                if r.is_none() && request_id.is_some() {
                    self.unmatched_responses += 1;
                }
                (MsgKind::Response, r)
            }
        };
        let latency_ns = request.map(|r| cx.ts.nanos_since(r.ts));
        let policy = match chunk {
            Chunk::Secure { .. } => self.policy,
            _ => None,
        };
        let security_mode = match chunk {
            Chunk::Secure { .. } => self.mode,
            _ => None,
        };
        cx.message(
            kind,
            crate::Message::Opcua(Message {
                header,
                chunk,
                chunks,
                service,
                policy,
                security_mode,
                encrypted,
                request,
                latency_ns,
            }),
        );
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        if !self.started[d] {
            self.started[d] = true;
            if !cx.flow.handshake_seen() && !plausible(data) {
                self.resync[d] = true;
                self.reported[d] = true;
            }
        }
        let mut off = 0;
        if self.skip[d] > 0 {
            let n = self.skip[d].min(data.len());
            self.skip[d] -= n;
            off = n;
        }
        while data.len() - off >= HEADER_LEN {
            let rest = &data[off..];
            if self.resync[d] && !plausible(rest) {
                match find_header(&rest[1..]) {
                    Some(k) => {
                        off += 1 + k;
                        continue;
                    }
                    None => {
                        off = data.len() - (HEADER_LEN - 1);
                        break;
                    }
                }
            }
            let h = match parse_header(rest) {
                Ok(h) => h,
                Err(e) => {
                    if !self.reported[d] {
                        let fc = wire::MsgType::from_bytes(rest).map(|t| t.code());
                        self.malformed(e, fc, rest, cx);
                        self.reported[d] = true;
                    }
                    self.resync[d] = true;
                    off += 1;
                    continue;
                }
            };
            let n = h.size as usize;
            if rest.len() < n {
                if n > MAX_WAIT && rest.len() >= 4096.min(n) {
                    // Too large to wait for: report from the head, skip the rest.
                    self.resync[d] = false;
                    self.reported[d] = false;
                    self.chunk(h, rest, true, cx);
                    self.skip[d] = n - rest.len();
                    return data.len();
                }
                break;
            }
            self.resync[d] = false;
            self.reported[d] = false;
            self.chunk(h, &rest[..n], false, cx);
            off += n;
        }
        off
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.resync[d] = true;
        self.reported[d] = true;
        self.skip[d] = 0;
        for p in self.partial[d].iter_mut() {
            p.active = false;
            p.buf.clear();
        }
    }
}

/// Content probe: a whole HEL (or another sound chunk header) at the start.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if transport != Transport::Tcp {
        return false;
    }
    let Ok(h) = parse_header(data) else {
        return false;
    };
    match h.msg_type {
        MsgType::Hel | MsgType::Rhe => {
            (h.size as usize) <= data.len() && parse_chunk(&h, &data[..h.size as usize]).is_ok()
        }
        _ => (h.size as usize) == data.len() && h.size >= 24,
    }
}

#[cfg(test)]
mod tests;
