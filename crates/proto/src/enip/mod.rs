//! EtherNet/IP (encapsulation over TCP/UDP 44818, class 0/1 I/O over UDP
//! 2222) and the CIP messages it carries.
//!
//! - `wire`: the encapsulation header, commands, Common Packet Format items,
//!   ListIdentity/ListServices replies and I/O datagrams.
//! - `cip`: CIP explicit messages: service, EPATH, status, Multiple Service
//!   Packet, Unconnected Send, Forward Open/Close, Logix tag services.
//! - `pccc`: PCCC (DF1 commands) inside Execute PCCC.
//! - this file: the per-flow [`Session`]: framing over a byte stream (several
//!   PDUs per segment, PDUs across segments), resynchronisation after garbage
//!   or gaps, and request/response matching (sender context for unconnected
//!   messages, connection id + CIP sequence count for connected ones).
//! - `json`: the NDJSON form of a message.

pub mod cip;
mod json;
pub mod pccc;
pub mod wire;

use std::borrow::Cow;

use otwatch_core::{Direction, MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{self, Identity, Subject};
use crate::protocols::ProtoMessage;
pub use cip::Cip;
pub use wire::{Address, Body, Cpf, Error, Header, IdentityItem, Io};
use wire::{HEADER_LEN, cmd, parse_header, plausible_header};

/// Requests remembered per flow while waiting for their response.
pub const MAX_PENDING: usize = 32;
/// Connection id pairs (O->T, T->O) remembered from Forward Open replies.
pub const MAX_CONNECTIONS: usize = 8;
/// Longest tag name kept with a pending request.
pub const MAX_SYMBOL: usize = 40;
/// Longest command data of a command otwatch does not know that it waits for.
const MAX_UNKNOWN_LEN: u16 = 4096;
/// UDP port of class 0/1 I/O.
pub const IO_PORT: u16 = 2222;

/// How a response is matched with its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Unconnected messages and session commands: the sender context.
    Context(u64),
    /// Connected messages: O->T connection id and CIP sequence count.
    Connected { connection_id: u32, sequence: u16 },
}

/// A request remembered until its response arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub key: Key,
    pub command: u16,
    /// CIP service (for an Unconnected Send: the embedded request's).
    pub service: Option<u8>,
    pub class: Option<u32>,
    pub instance: Option<u32>,
    pub attribute: Option<u32>,
    symbol: [u8; MAX_SYMBOL],
    symbol_len: u8,
    /// The request was an Unconnected Send; `service`/path are the embedded ones.
    pub unconnected_send: bool,
    pub ts: Timestamp,
}

impl RequestInfo {
    /// The request's first tag name, if symbolic.
    pub fn symbol(&self) -> Option<&[u8]> {
        (self.symbol_len > 0).then(|| &self.symbol[..self.symbol_len as usize])
    }
}

/// A dissected EtherNet/IP message as reported in events. The parsed body
/// and the matched request live on the dissector's stack for the duration of
/// the event (the message stays small and nothing is allocated).
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// The encapsulation header (`None` for UDP 2222 I/O).
    pub header: Option<Header>,
    pub body: &'a Body<'a>,
    /// On a response: the request it answers.
    pub request: Option<&'a RequestInfo>,
    /// On a matched response: time since the request, in ns.
    pub latency_ns: Option<i64>,
}

impl<'a> Message<'a> {
    /// Encapsulation command, or [`wire::cmd::IO`] for I/O datagrams.
    #[inline]
    pub fn command(&self) -> u16 {
        self.header.map_or(cmd::IO, |h| h.command)
    }

    /// The CIP message carried, if any.
    pub fn cip(&self) -> Option<&'a Cip<'a>> {
        match self.body {
            Body::Cpf(c) => c.cip.as_ref(),
            _ => None,
        }
    }

    /// The ListIdentity identity item, if any.
    pub fn identity_item(&self) -> Option<&'a IdentityItem<'a>> {
        match self.body {
            Body::ListIdentity { identity, .. } => identity.as_ref(),
            _ => None,
        }
    }

    /// The Identity object attributes of a successful Get Attributes All
    /// reply to the sender's own Identity instance 1 (not a routed request).
    pub fn identity_reply(&self) -> Option<IdentityItem<'a>> {
        let c = self.cip()?;
        let r = self.request?;
        if c.service != (cip::svc::GET_ATTRIBUTES_ALL | cip::RESPONSE)
            || c.status != Some(0)
            || r.unconnected_send
            || r.class != Some(cip::class::IDENTITY)
            || r.instance != Some(1)
        {
            return None;
        }
        wire::identity_attributes(c.data)
    }

    /// Class of the CIP request (from the matched request for replies).
    pub fn cip_class(&self) -> Option<u32> {
        let c = self.cip()?;
        if c.is_response() {
            self.request.and_then(|r| r.class)
        } else {
            c.path.class
        }
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.command()
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let (id, source) = match self.identity_item() {
            Some(id) => (*id, "cip ListIdentity"),
            None => (self.identity_reply()?, "cip Identity Get Attributes All"),
        };
        let mut i = Identity::new(Subject::Sender, source);
        i.vendor = wire::vendor_name(id.vendor_id).map(Cow::Borrowed);
        i.vendor_id = Some(id.vendor_id as u32);
        i.model = ident::text(id.product_name);
        i.product_code = Some(Cow::Owned(id.product_code.to_string()));
        i.firmware = Some(Cow::Owned(format!(
            "{}.{}",
            id.revision_major, id.revision_minor
        )));
        i.serial = Some(Cow::Owned(format!("0x{:08x}", id.serial)));
        i.device_class = Some(match wire::device_type_name(id.device_type) {
            Some(n) => Cow::Borrowed(n),
            None => Cow::Owned(format!("device type 0x{:04x}", id.device_type)),
        });
        if id.socket.family == 2 && id.socket.addr != [0; 4] {
            i.ip = Some(std::net::IpAddr::from(id.socket.addr));
        }
        Some(i)
    }
}

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[
    (Transport::Tcp, 44818),
    (Transport::Udp, 44818),
    (Transport::Udp, IO_PORT),
];

/// Per-flow EtherNet/IP state.
#[derive(Debug, Default)]
pub struct Session {
    resync: [bool; 2],
    reported: [bool; 2],
    started: [bool; 2],
    after_gap: [bool; 2],
    pending: [Option<RequestInfo>; MAX_PENDING],
    /// (O->T, T->O) connection ids from Forward Open replies.
    connections: [Option<(u32, u32)>; MAX_CONNECTIONS],
    next_connection: usize,
    /// Requests dropped from `pending` without an answer.
    pub unanswered: u64,
    /// Responses that matched no pending request.
    pub unmatched_responses: u64,
}

/// True when `b` starts with a header that looks real; when the whole PDU is
/// present its item structure must be sound, and a following header too.
fn plausible(b: &[u8]) -> bool {
    let Some(h) = parse_header(b) else {
        return false;
    };
    if !plausible_header(&h) {
        return false;
    }
    if matches!(h.command, cmd::SEND_RR_DATA | cmd::SEND_UNIT_DATA)
        && crate::wire::le16_at(b, HEADER_LEN + 6).is_some_and(|n| !(2..=4).contains(&n))
    {
        return false;
    }
    let n = h.pdu_len();
    match b.get(n..).and_then(parse_header) {
        Some(next) => plausible_header(&next),
        None => true,
    }
}

/// True when `b` begins with a sound header whose PDU ends where the bytes
/// end or where another sound header starts (a segment boundary).
fn at_boundary(b: &[u8]) -> bool {
    let Some(h) = parse_header(b) else {
        return false;
    };
    if !plausible_header(&h) {
        return false;
    }
    let n = h.pdu_len();
    match b.len().cmp(&n) {
        std::cmp::Ordering::Equal => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => b
            .get(n..)
            .and_then(parse_header)
            .is_some_and(|next| plausible_header(&next)),
    }
}

fn find_header(b: &[u8]) -> Option<usize> {
    (0..b.len().saturating_sub(HEADER_LEN - 1)).find(|&i| plausible(&b[i..]))
}

/// Request or response, from the content where the protocol says it.
fn kind_of(h: &Header, body: &Body<'_>, dir: Direction) -> MsgKind {
    if let Body::Cpf(Cpf { cip: Some(c), .. }) = body {
        return if c.is_response() {
            MsgKind::Response
        } else {
            MsgKind::Request
        };
    }
    match h.command {
        cmd::LIST_TARGETS | cmd::LIST_IDENTITY | cmd::LIST_SERVICES | cmd::LIST_INTERFACES => {
            if h.length == 0 {
                MsgKind::Request
            } else {
                MsgKind::Response
            }
        }
        _ => by_direction(dir),
    }
}

fn by_direction(dir: Direction) -> MsgKind {
    match dir {
        Direction::ToServer => MsgKind::Request,
        Direction::ToClient => MsgKind::Response,
    }
}

impl Session {
    fn remember(&mut self, info: RequestInfo) {
        // A retransmitted or reused key replaces the older entry.
        if let Some(slot) = self
            .pending
            .iter_mut()
            .find(|p| p.is_some_and(|r| r.key == info.key && r.command == info.command))
        {
            *slot = Some(info);
            return;
        }
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

    fn request_info(h: &Header, body: &Body<'_>, ts: Timestamp) -> Option<RequestInfo> {
        let mut info = RequestInfo {
            key: Key::Context(h.context()),
            command: h.command,
            service: None,
            class: None,
            instance: None,
            attribute: None,
            symbol: [0; MAX_SYMBOL],
            symbol_len: 0,
            unconnected_send: false,
            ts,
        };
        match h.command {
            cmd::NOP | cmd::UNREGISTER_SESSION | cmd::INDICATE_STATUS | cmd::CANCEL => {
                return None;
            }
            _ => {}
        }
        if let Body::Cpf(cpf) = body {
            if h.command == cmd::SEND_UNIT_DATA {
                info.key = Key::Connected {
                    connection_id: cpf.address.connection_id()?,
                    sequence: cpf.sequence_count?,
                };
            }
            if let Some(c) = &cpf.cip {
                let (service, path) = match c.embedded() {
                    Some(e) => {
                        info.unconnected_send = true;
                        (e.service, e.path)
                    }
                    None => (c.service, c.path),
                };
                info.service = Some(service);
                info.class = path.class;
                info.instance = path.instance;
                info.attribute = path.attribute;
                if let Some(s) = path.symbol {
                    let n = s.len().min(MAX_SYMBOL);
                    info.symbol[..n].copy_from_slice(&s[..n]);
                    info.symbol_len = n as u8;
                }
            }
        } else if h.command == cmd::SEND_UNIT_DATA {
            return None;
        }
        Some(info)
    }

    fn take_request(&mut self, h: &Header, body: &Body<'_>) -> Option<RequestInfo> {
        let want = match body {
            Body::Cpf(cpf) if h.command == cmd::SEND_UNIT_DATA => {
                let to = cpf.address.connection_id()?;
                let seq = cpf.sequence_count?;
                let ot = self
                    .connections
                    .iter()
                    .flatten()
                    .find(|(_, t)| *t == to)
                    .map(|(o, _)| *o);
                let i = self.pending.iter().position(|p| {
                    p.is_some_and(|r| match r.key {
                        Key::Connected {
                            connection_id,
                            sequence,
                        } => sequence == seq && ot.is_none_or(|o| o == connection_id),
                        _ => false,
                    })
                })?;
                return self.pending[i].take();
            }
            _ => Key::Context(h.context()),
        };
        let i = self
            .pending
            .iter()
            .position(|p| p.is_some_and(|r| r.key == want && r.command == h.command))?;
        self.pending[i].take()
    }

    /// Learns the connection ids of a successful Forward Open reply.
    fn learn_connection(&mut self, req: &RequestInfo, body: &Body<'_>) {
        let Body::Cpf(Cpf { cip: Some(c), .. }) = body else {
            return;
        };
        if req.class != Some(cip::class::CONNECTION_MANAGER)
            || !matches!(
                req.service,
                Some(cip::svc::FORWARD_OPEN | cip::svc::LARGE_FORWARD_OPEN)
            )
            || c.status != Some(0)
        {
            return;
        }
        if let Some(r) = cip::forward_open_reply(c.data) {
            self.connections[self.next_connection] = Some((r.ot_connection_id, r.to_connection_id));
            self.next_connection = (self.next_connection + 1) % MAX_CONNECTIONS;
        }
    }

    fn report(&mut self, h: Header, body: Body<'_>, cx: &mut Ctx<'_>) {
        let kind = kind_of(&h, &body, cx.dir);
        let mut request = None;
        match kind {
            MsgKind::Response => {
                request = self.take_request(&h, &body);
                match &request {
                    Some(r) => self.learn_connection(r, &body),
                    None => self.unmatched_responses += 1,
                }
            }
            _ => {
                if let Some(info) = Self::request_info(&h, &body, cx.ts) {
                    self.remember(info);
                }
            }
        }
        let latency_ns = request.map(|r| cx.ts.nanos_since(r.ts));
        cx.message(
            kind,
            crate::Message::Enip(Message {
                header: Some(h),
                body: &body,
                request: request.as_ref(),
                latency_ns,
            }),
        );
    }

    fn malformed(e: &Error, data: &[u8], cx: &mut Ctx<'_>) {
        let shown = &data[..data.len().min(512)];
        cx.malformed(Proto::Enip, e.code(), e, e.command(), shown);
    }

    /// One whole PDU whose header is sound.
    fn pdu(&mut self, h: Header, pdu: &[u8], cx: &mut Ctx<'_>) {
        let data = pdu.get(HEADER_LEN..).unwrap_or(&[]);
        match wire::parse_body(&h, data, None) {
            Ok(body) => self.report(h, body, cx),
            Err(e) => {
                self.report(h, Body::Invalid(data), cx);
                Self::malformed(&e, pdu, cx);
            }
        }
    }

    fn io(&mut self, data: &[u8], cx: &mut Ctx<'_>) {
        match wire::parse_io(data) {
            Ok(io) => cx.message(
                by_direction(cx.dir),
                crate::Message::Enip(Message {
                    header: None,
                    body: &Body::Io(io),
                    request: None,
                    latency_ns: None,
                }),
            ),
            Err(e) => Self::malformed(&e, data, cx),
        }
    }

    fn datagram(&mut self, data: &[u8], cx: &mut Ctx<'_>) {
        let io_port = cx.flow.server.port == IO_PORT || cx.flow.client.port == IO_PORT;
        let h = parse_header(data);
        if (io_port && !h.is_some_and(|h| plausible_header(&h) && h.pdu_len() == data.len()))
            || (h.is_none() && wire::looks_like_io(data))
        {
            self.io(data, cx);
            return;
        }
        let Some(h) = h else {
            let e = Error::Truncated {
                command: crate::wire::le16_at(data, 0).unwrap_or(0),
                what: "encapsulation header",
            };
            Self::malformed(&e, data, cx);
            return;
        };
        if !wire::is_known(h.command) {
            Self::malformed(&Error::UnknownCommand(h.command), data, cx);
            return;
        }
        let n = h.pdu_len();
        if data.len() < n {
            let e = Error::BadLength {
                command: h.command,
                length: h.length,
                expected: "no more than the datagram holds",
            };
            Self::malformed(&e, data, cx);
            return;
        }
        self.pdu(h, &data[..n], cx);
        if data.len() > n {
            let e = Error::TrailingBytes {
                command: h.command,
                extra: data.len() - n,
            };
            Self::malformed(&e, data, cx);
        }
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        if datagram {
            self.datagram(data, cx);
            return data.len();
        }
        let d = cx.dir.idx();
        if !self.started[d] {
            self.started[d] = true;
            if !cx.flow.handshake_seen() && !at_boundary(data) {
                self.resync[d] = true;
                self.reported[d] = true;
            }
        } else if self.after_gap[d] {
            self.after_gap[d] = false;
            if at_boundary(data) {
                self.resync[d] = false;
            }
        }
        let mut off = 0;
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
            let Some(h) = parse_header(rest) else { break };
            let n = h.pdu_len();
            if !wire::is_known(h.command) {
                // A sound frame around an undefined command is skipped whole;
                // anything else is garbage to resynchronise over.
                if h.options == 0 && h.length <= MAX_UNKNOWN_LEN {
                    if rest.len() < n {
                        break;
                    }
                    if rest.len() == n || rest.get(n..).is_some_and(plausible) {
                        Self::malformed(&Error::UnknownCommand(h.command), &rest[..n], cx);
                        self.resync[d] = false;
                        self.reported[d] = false;
                        off += n;
                        continue;
                    }
                }
                if !self.reported[d] {
                    let e = Error::BadHeader {
                        command: h.command,
                        length: h.length,
                    };
                    Self::malformed(&e, rest, cx);
                    self.reported[d] = true;
                }
                self.resync[d] = true;
                off += 1;
                continue;
            }
            if rest.len() < n {
                break;
            }
            self.resync[d] = false;
            self.reported[d] = false;
            self.pdu(h, &rest[..n], cx);
            off += n;
        }
        off
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.resync[d] = true;
        self.after_gap[d] = true;
        self.reported[d] = true;
    }
}

/// Content probe for flows on other ports: a whole, plausible encapsulation
/// PDU of a session-level command (TCP), or a ListIdentity request (UDP).
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    let Some(h) = parse_header(data) else {
        return false;
    };
    if !plausible_header(&h) || h.pdu_len() != data.len() || h.status != 0 {
        return false;
    }
    match transport {
        Transport::Tcp => match h.command {
            cmd::REGISTER_SESSION => {
                h.session_handle == 0 && crate::wire::le16_at(data, HEADER_LEN) == Some(1)
            }
            cmd::LIST_IDENTITY | cmd::LIST_SERVICES | cmd::LIST_INTERFACES => h.length == 0,
            _ => false,
        },
        Transport::Udp => h.command == cmd::LIST_IDENTITY && h.length == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
