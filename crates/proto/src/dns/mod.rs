//! DNS over UDP and TCP, and the session shared with mDNS and LLMNR.
//!
//! - `wire`: zero-copy parsing of one message (names are views over the message).
//! - this file: the per-flow session: one message per datagram, or 2-byte
//!   length-prefixed messages over TCP (several per segment, split across
//!   segments); query/response matching by id.
//! - `json`: the `dns` (or `mdns`/`llmnr`) object of NDJSON records.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;
pub use wire::{Error, Header, Msg, Name, Question, Record};

/// Queries remembered per flow while waiting for their response.
pub const MAX_PENDING: usize = 32;

/// Which protocol uses the DNS wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Flavor {
    #[default]
    Dns,
    Mdns,
    Llmnr,
}

impl Flavor {
    pub fn proto(self) -> Proto {
        match self {
            Flavor::Dns => Proto::Dns,
            Flavor::Mdns => Proto::Mdns,
            Flavor::Llmnr => Proto::Llmnr,
        }
    }
}

/// A dissected DNS-format message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub flavor: Flavor,
    pub msg: Msg<'a>,
    /// On a response matched to its query (same id): time since the query, ns.
    pub latency_ns: Option<i64>,
}

impl<'a> Message<'a> {
    pub fn header(&self) -> &Header {
        &self.msg.header
    }
    pub fn qtype(&self) -> u16 {
        self.msg.qtype()
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.qtype()
    }

    /// mDNS and LLMNR responses name the answering host: the first label of
    /// an A/AAAA owner name, or of an SRV target (`host.local`).
    fn identity(&self) -> Option<Identity<'_>> {
        if self.flavor == Flavor::Dns || !self.msg.header.response() {
            return None;
        }
        let mut host = None;
        let mut ip = None;
        for (_, r) in self.msg.records().take(64) {
            match (r.rtype, r.rdata) {
                (1, [a, b, c, d]) => {
                    host = host.or(r.name.first_label());
                    ip = ip.or(Some(std::net::IpAddr::from([*a, *b, *c, *d])));
                }
                (28, d) if d.len() == 16 => {
                    host = host.or(r.name.first_label());
                }
                (33, d) if d.len() > 6 => {
                    if let Ok((n, _)) = wire::parse_name(self.msg.buf, r.rdata_off + 6) {
                        host = host.or(n.first_label());
                    }
                }
                _ => {}
            }
        }
        let host = host?;
        let mut id = Identity::new(
            Subject::Sender,
            match self.flavor {
                Flavor::Mdns => "mdns response",
                _ => "llmnr response",
            },
        );
        id.hostname = crate::ident::text(host);
        id.ip = ip;
        Some(id)
    }
}

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 53), (Transport::Udp, 53)];

/// Strict content check: a whole UDP datagram that is a plain standard query
/// (one question, no answers, sane name and class IN).
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    let body = match transport {
        Transport::Udp => data,
        Transport::Tcp => match data {
            [a, b, rest @ ..] if u16::from_be_bytes([*a, *b]) as usize == rest.len() => rest,
            _ => return false,
        },
        _ => return false,
    };
    let Some(h) = wire::parse_header(body) else {
        return false;
    };
    if h.flags & 0xf80f != 0 || h.qdcount != 1 || h.ancount != 0 || h.nscount != 0 || h.arcount > 1
    {
        return false;
    }
    matches!(wire::parse(body), (Some(m), Ok(())) if m.question.is_some_and(|q| q.qclass == 1 && !q.name.is_root()))
}

/// The session core, shared with mDNS and LLMNR.
#[derive(Debug, Default)]
pub struct Core {
    pending: [Option<(u16, Timestamp)>; MAX_PENDING],
    next: usize,
    /// Per direction (TCP): skipping to the next segment after garbage or a gap.
    resync: [bool; 2],
    /// Responses that matched no query.
    pub unmatched_responses: u64,
}

impl Core {
    fn report(&mut self, flavor: Flavor, buf: &[u8], cx: &mut Ctx<'_>) {
        let (m, res) = wire::parse(buf);
        if let Some(msg) = m {
            let response = msg.header.response();
            let latency_ns = if response {
                let id = msg.header.id;
                match self
                    .pending
                    .iter_mut()
                    .find(|p| p.is_some_and(|p| p.0 == id))
                {
                    Some(slot) => slot.take().map(|(_, t)| cx.ts.nanos_since(t)),
                    None => {
                        self.unmatched_responses += 1;
                        None
                    }
                }
            } else {
                if flavor != Flavor::Mdns {
                    self.pending[self.next] = Some((msg.header.id, cx.ts));
                    self.next = (self.next + 1) % MAX_PENDING;
                }
                None
            };
            let kind = if response {
                MsgKind::Response
            } else {
                MsgKind::Request
            };
            let message = Message {
                flavor,
                msg,
                latency_ns,
            };
            let fc = message.qtype();
            cx.message(
                kind,
                match flavor {
                    Flavor::Dns => crate::Message::Dns(message),
                    Flavor::Mdns => crate::Message::Mdns(message),
                    Flavor::Llmnr => crate::Message::Llmnr(message),
                },
            );
            if let Err(e) = res {
                cx.malformed(flavor.proto(), e.code(), &e, Some(fc), buf);
            }
        } else if let Err(e) = res {
            cx.malformed(flavor.proto(), e.code(), &e, None, buf);
        }
    }

    pub fn on_data(
        &mut self,
        flavor: Flavor,
        data: &[u8],
        datagram: bool,
        cx: &mut Ctx<'_>,
    ) -> usize {
        if datagram {
            self.report(flavor, data, cx);
            return data.len();
        }
        let d = cx.dir.idx();
        if self.resync[d] {
            // Resume only where a segment starts with a sound length + header.
            match data {
                [a, b, rest @ ..]
                    if u16::from_be_bytes([*a, *b]) as usize >= wire::HEADER_LEN
                        && wire::parse_header(rest).is_some_and(|h| h.qdcount <= 1) =>
                {
                    self.resync[d] = false
                }
                _ => return data.len(),
            }
        }
        let mut off = 0;
        while let Some(len) = wire::be16_at_opt(data, off) {
            let len = len as usize;
            if len < wire::HEADER_LEN {
                let e = Error::BadLength(len as u16);
                cx.malformed(flavor.proto(), e.code(), &e, None, &data[off..]);
                self.resync[d] = true;
                return data.len();
            }
            let Some(pdu) = data.get(off + 2..off + 2 + len) else {
                break;
            };
            self.report(flavor, pdu, cx);
            off += 2 + len;
        }
        off
    }

    pub fn on_gap(&mut self, cx: &mut Ctx<'_>) {
        self.resync[cx.dir.idx()] = true;
    }
}

/// Per-flow DNS state.
#[derive(Debug, Default)]
pub struct Session {
    core: Core,
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        self.core.on_data(Flavor::Dns, data, datagram, cx)
    }
    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        self.core.on_gap(cx)
    }
}

#[cfg(test)]
mod tests;
