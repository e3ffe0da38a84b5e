//! Beckhoff ADS/AMS (TwinCAT): AMS/TCP on TCP 48898 and the UDP 48899
//! discovery ("broadcast search") service.
//!
//! - `wire`: pure parsing of AMS/TCP framing, the AMS header, the ADS command
//!   bodies and discovery frames.
//! - this file: the per-flow [`Session`]: framing over a byte stream (several
//!   packets per segment, packets across segments, resync after garbage or
//!   a gap) and request/response matching by invoke id.
//! - `json`: the NDJSON form.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
use wire::{AMS_HDR, TCP_HDR};
pub use wire::{AmsHeader, Body, Discovery, Error, NetId};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 48898), (Transport::Udp, 48899)];

/// Requests remembered per flow while waiting for their response.
pub const MAX_PENDING: usize = 32;

/// A request remembered until its response arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub invoke_id: u32,
    pub command: u16,
    pub index_group: Option<u32>,
    pub index_offset: Option<u32>,
    pub ts: Timestamp,
}

/// A dissected ADS message.
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    /// An AMS packet (TCP, or UDP with the AMS/TCP header).
    Ams {
        header: AmsHeader,
        body: Body<'a>,
        request: Option<RequestInfo>,
        latency_ns: Option<i64>,
    },
    /// A discovery frame on UDP 48899.
    Discovery(Discovery<'a>),
}

/// `function_code` of discovery frames: 0x100 + the low byte of the service id.
pub const DISCOVERY_BASE: u16 = 0x100;

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        match self {
            Message::Ams { header, .. } => header.command,
            Message::Discovery(d) => DISCOVERY_BASE + (d.service & 0xff) as u16,
        }
    }

    fn identity(&self) -> Option<Identity<'_>> {
        match self {
            Message::Ams {
                body:
                    Body::DeviceInfo {
                        result: 0,
                        major,
                        minor,
                        build,
                        name,
                    },
                ..
            } => {
                let mut id = Identity::new(Subject::Sender, "ads ReadDeviceInfo");
                id.vendor = Some("Beckhoff Automation".into());
                id.model = text(name);
                id.firmware = Some(format!("{major}.{minor}.{build}").into());
                Some(id)
            }
            Message::Discovery(d) if d.is_response() => {
                let mut id = Identity::new(Subject::Sender, "ads discovery");
                id.vendor = Some("Beckhoff Automation".into());
                id.hostname = d.hostname.and_then(text);
                if let Some((ma, mi, b)) = d.twincat {
                    id.firmware = Some(format!("TwinCAT {ma}.{mi}.{b}").into());
                }
                if let Some((ma, mi, b, p)) = d.os {
                    let os = if p == 3 { "Windows CE" } else { "Windows" };
                    id.os = Some(format!("{os} {ma}.{mi} build {b}").into());
                }
                id.module = Some(format!("AMS NetId {}", d.net_id).into());
                Some(id)
            }
            _ => None,
        }
    }
}

/// Per-flow ADS state.
#[derive(Debug, Default)]
pub struct Session {
    resync: [bool; 2],
    reported: [bool; 2],
    started: [bool; 2],
    pending: [Option<RequestInfo>; MAX_PENDING],
    /// Requests dropped from `pending` without an answer.
    pub unanswered: u64,
    /// Responses that matched no pending request.
    pub unmatched_responses: u64,
}

/// A sound AMS/TCP frame starts at `b` (header valid, AMS header consistent
/// when present).
fn plausible(b: &[u8]) -> bool {
    matches!(wire::frame_len(b), Ok(Some(_))) && b.len() >= TCP_HDR + AMS_HDR
}

fn find_header(b: &[u8]) -> Option<usize> {
    (0..b.len().saturating_sub(TCP_HDR + AMS_HDR - 1))
        .find(|&i| b[i] == 0 && b[i + 1] == 0 && plausible(&b[i..]))
}

impl Session {
    fn remember(&mut self, h: &AmsHeader, body: &Body<'_>, ts: Timestamp) {
        let (g, o) = match *body {
            Body::Access {
                index_group,
                index_offset,
                ..
            } => (Some(index_group), Some(index_offset)),
            _ => (None, None),
        };
        let info = RequestInfo {
            invoke_id: h.invoke_id,
            command: h.command,
            index_group: g,
            index_offset: o,
            ts,
        };
        let slot = match self.pending.iter().position(|p| p.is_none()) {
            Some(i) => i,
            None => {
                self.unanswered += 1;
                (0..MAX_PENDING)
                    .min_by_key(|&i| self.pending[i].map_or(Timestamp::ZERO, |p| p.ts))
                    .unwrap_or(0)
            }
        };
        self.pending[slot] = Some(info);
    }

    fn take(&mut self, h: &AmsHeader) -> Option<RequestInfo> {
        let r = self
            .pending
            .iter_mut()
            .find(|p| p.is_some_and(|r| r.invoke_id == h.invoke_id && r.command == h.command))
            .and_then(|p| p.take());
        if r.is_none() {
            self.unmatched_responses += 1;
        }
        r
    }

    /// One whole AMS packet (AMS header and data).
    fn packet(&mut self, ams: &[u8], cx: &mut Ctx<'_>) {
        let Some(h) = wire::parse_header(ams) else {
            return;
        };
        let data = &ams[AMS_HDR..];
        let body = match wire::parse_body(&h, data) {
            Ok(b) => b,
            Err(e) => {
                self.malformed(e, ams, cx);
                Body::Raw { data }
            }
        };
        // Device notifications are sent by the server unsolicited, as requests.
        let (kind, request) = if h.is_response() {
            (MsgKind::Response, self.take(&h))
        } else {
            if h.command != wire::cmd::NOTIFICATION {
                self.remember(&h, &body, cx.ts);
            }
            (MsgKind::Request, None)
        };
        let latency_ns = request.map(|r| cx.ts.nanos_since(r.ts));
        cx.message(
            kind,
            crate::Message::Ads(Message::Ams {
                header: h,
                body,
                request,
                latency_ns,
            }),
        );
    }

    fn malformed(&mut self, e: Error, data: &[u8], cx: &mut Ctx<'_>) {
        let shown = &data[..data.len().min(256)];
        cx.malformed(Proto::Ads, e.code(), &e, e.command(), shown);
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        if datagram {
            match wire::parse_discovery(data) {
                Some(Ok(disc)) => {
                    let kind = if disc.is_response() {
                        MsgKind::Response
                    } else {
                        MsgKind::Request
                    };
                    cx.message(kind, crate::Message::Ads(Message::Discovery(disc)));
                }
                Some(Err(e)) => self.malformed(e, data, cx),
                None => match wire::frame_len(data) {
                    Ok(Some(n)) if n == data.len() && n >= TCP_HDR + AMS_HDR => {
                        self.packet(&data[TCP_HDR..], cx)
                    }
                    Err(e) => self.malformed(e, data, cx),
                    _ => self.malformed(Error::BadDiscovery { len: data.len() }, data, cx),
                },
            }
            return data.len();
        }
        if !self.started[d] {
            self.started[d] = true;
            if !cx.flow.handshake_seen() && !plausible(data) {
                self.resync[d] = true;
                self.reported[d] = true;
            }
        }
        let mut off = 0;
        while data.len() - off >= TCP_HDR {
            let rest = &data[off..];
            if self.resync[d] {
                if rest.len() < TCP_HDR + AMS_HDR {
                    break;
                }
                if !plausible(rest) {
                    match find_header(&rest[1..]) {
                        Some(k) => {
                            off += 1 + k;
                            continue;
                        }
                        None => {
                            // Keep a possible header prefix for the next bytes.
                            off = data.len() - (TCP_HDR + AMS_HDR - 1);
                            break;
                        }
                    }
                }
            }
            match wire::frame_len(rest) {
                Ok(None) => break,
                Ok(Some(n)) => {
                    if rest.len() < n {
                        break;
                    }
                    self.resync[d] = false;
                    self.reported[d] = false;
                    self.packet(&rest[TCP_HDR..n], cx);
                    off += n;
                }
                Err(e) => {
                    if !self.reported[d] {
                        self.malformed(e, rest, cx);
                        self.reported[d] = true;
                    }
                    self.resync[d] = true;
                    off += 1;
                }
            }
        }
        off
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.resync[d] = true;
        self.reported[d] = true;
    }
}

/// Content probe: a whole AMS/TCP packet with a consistent AMS header and a
/// known command, or a discovery frame on UDP.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    match transport {
        Transport::Udp => matches!(wire::parse_discovery(data), Some(Ok(_))),
        Transport::Tcp => {
            matches!(wire::frame_len(data), Ok(Some(n)) if n == data.len() && n >= TCP_HDR + AMS_HDR)
                && wire::parse_header(&data[TCP_HDR..])
                    .is_some_and(|h| (1..=9).contains(&h.command) && h.state_flags & 0x0004 != 0)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
