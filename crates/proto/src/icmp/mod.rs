//! ICMP (RFC 792) and ICMPv6 (RFC 4443, RFC 4861 neighbour discovery, MLD):
//! the session gets each whole ICMP message (type, code, checksum, body) as
//! one datagram; `cx.flow.ip_proto` (1 or 58) tells the version.
//!
//! - this file: parsing (zero-copy), echo request/reply matching, the session.
//! - `json`: the `icmp` object of NDJSON records.

mod json;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::protocols::ProtoMessage;
use crate::wire::{Cursor, be16_at};

/// Echo requests remembered per flow while waiting for their reply.
pub const MAX_PENDING: usize = 32;

/// Why a message could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the fixed part its type needs.
    Short {
        icmp_type: u8,
        len: usize,
        need: usize,
    },
}

impl Error {
    pub fn code(&self) -> &'static str {
        "short_message"
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Error::Short {
            icmp_type,
            len,
            need,
        } = *self;
        write!(
            f,
            "type {icmp_type} message of {len} bytes, needs at least {need}"
        )
    }
}

/// The header of the packet quoted in an error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Orig {
    pub proto: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
}

/// A dissected ICMP / ICMPv6 message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// 4 or 6.
    pub version: u8,
    pub icmp_type: u8,
    pub code: u8,
    pub checksum: u16,
    /// Echo (and other query) identifier and sequence number.
    pub id: Option<u16>,
    pub seq: Option<u16>,
    /// The quoted packet of an error message.
    pub orig: Option<Orig>,
    /// ND target / redirect destination / MLD group; ICMPv4 redirect gateway.
    pub target: Option<IpAddr>,
    /// Source/target link-layer address option (ND).
    pub lladdr: Option<[u8; 6]>,
    /// The bytes after the 4-byte header.
    pub body: &'a [u8],
    /// On an echo reply matched to its request: time since the request, ns.
    pub latency_ns: Option<i64>,
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        (self.icmp_type as u16) << 8 | self.code as u16
    }
}

fn ip6(b: &[u8]) -> Option<IpAddr> {
    let a: [u8; 16] = b.get(..16)?.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(a)))
}

/// The quoted packet: IPv4 or IPv6 header and the first transport ports.
fn quoted(b: &[u8]) -> Option<Orig> {
    match b.first()? >> 4 {
        4 => {
            let ihl = ((b[0] & 0xf) as usize) * 4;
            let proto = *b.get(9)?;
            let src = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b.get(12..16)?).ok()?));
            let dst = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b.get(16..20)?).ok()?));
            let ports = matches!(proto, 6 | 17);
            Some(Orig {
                proto,
                src,
                dst,
                sport: be16_at(b, ihl).filter(|_| ports),
                dport: be16_at(b, ihl + 2).filter(|_| ports),
            })
        }
        6 => {
            let proto = *b.get(6)?;
            let ports = matches!(proto, 6 | 17);
            Some(Orig {
                proto,
                src: ip6(b.get(8..)?)?,
                dst: ip6(b.get(24..)?)?,
                sport: be16_at(b, 40).filter(|_| ports),
                dport: be16_at(b, 42).filter(|_| ports),
            })
        }
        _ => None,
    }
}

/// The first source/target link-layer address option of ND options.
fn nd_lladdr(mut opts: &[u8]) -> Option<[u8; 6]> {
    for _ in 0..16 {
        let (t, l) = (*opts.first()?, *opts.get(1)? as usize * 8);
        if l == 0 {
            return None;
        }
        if (t == 1 || t == 2) && l == 8 {
            return opts.get(2..8)?.try_into().ok();
        }
        opts = opts.get(l..)?;
    }
    None
}

/// Parses one ICMP (`v6` false) or ICMPv6 message.
pub fn parse(b: &[u8], v6: bool) -> Result<Message<'_>, Error> {
    let mut c = Cursor::new(b);
    let short = |t: u8, need| Error::Short {
        icmp_type: t,
        len: b.len(),
        need,
    };
    let (Some(t), Some(code), Some(checksum)) = (c.u8(), c.u8(), c.be16()) else {
        return Err(short(b.first().copied().unwrap_or(0), 4));
    };
    let body = c.rest();
    let mut m = Message {
        version: if v6 { 6 } else { 4 },
        icmp_type: t,
        code,
        checksum,
        id: None,
        seq: None,
        orig: None,
        target: None,
        lladdr: None,
        body,
        latency_ns: None,
    };
    let echo = if v6 {
        matches!(t, 128 | 129)
    } else {
        matches!(t, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)
    };
    if echo {
        if b.len() < 8 {
            return Err(short(t, 8));
        }
        m.id = be16_at(b, 4);
        m.seq = be16_at(b, 6);
        return Ok(m);
    }
    let error = if v6 {
        matches!(t, 1..=4)
    } else {
        matches!(t, 3 | 4 | 5 | 11 | 12)
    };
    if error {
        if b.len() < 8 {
            return Err(short(t, 8));
        }
        m.orig = quoted(&b[8..]);
        if !v6 && t == 5 {
            m.target = b
                .get(4..8)
                .map(|a| IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])));
        }
        return Ok(m);
    }
    if v6 {
        match t {
            // NS, NA: reserved(4) target(16) options; redirect: + destination.
            135 | 136 => {
                m.target = Some(b.get(8..).and_then(ip6).ok_or(short(t, 24))?);
                m.lladdr = b.get(24..).and_then(nd_lladdr);
            }
            137 => {
                m.target = Some(b.get(8..).and_then(ip6).ok_or(short(t, 40))?);
                m.lladdr = b.get(40..).and_then(nd_lladdr);
            }
            133 => m.lladdr = b.get(8..).and_then(nd_lladdr),
            134 => {
                if b.len() < 16 {
                    return Err(short(t, 16));
                }
                m.lladdr = b.get(16..).and_then(nd_lladdr);
            }
            // MLD query/report/done: max delay(2) reserved(2) group(16).
            130..=132 => m.target = b.get(8..).and_then(ip6),
            _ => {}
        }
    }
    Ok(m)
}

/// Type names.
pub fn type_name(version: u8, t: u8) -> &'static str {
    if version == 6 {
        return match t {
            1 => "destination_unreachable",
            2 => "packet_too_big",
            3 => "time_exceeded",
            4 => "parameter_problem",
            128 => "echo_request",
            129 => "echo_reply",
            130 => "mld_query",
            131 => "mld_report",
            132 => "mld_done",
            133 => "router_solicitation",
            134 => "router_advertisement",
            135 => "neighbor_solicitation",
            136 => "neighbor_advertisement",
            137 => "redirect",
            143 => "mldv2_report",
            _ => "unknown",
        };
    }
    match t {
        0 => "echo_reply",
        3 => "destination_unreachable",
        4 => "source_quench",
        5 => "redirect",
        8 => "echo_request",
        9 => "router_advertisement",
        10 => "router_solicitation",
        11 => "time_exceeded",
        12 => "parameter_problem",
        13 => "timestamp_request",
        14 => "timestamp_reply",
        15 => "information_request",
        16 => "information_reply",
        17 => "address_mask_request",
        18 => "address_mask_reply",
        _ => "unknown",
    }
}

/// Request, response or other (errors, redirects, unknown types).
pub fn kind(version: u8, t: u8) -> MsgKind {
    let (req, resp): (&[u8], &[u8]) = if version == 6 {
        (&[128, 130, 133, 135], &[129, 131, 134, 136, 143])
    } else {
        (&[8, 10, 13, 15, 17], &[0, 9, 14, 16, 18])
    };
    if req.contains(&t) {
        MsgKind::Request
    } else if resp.contains(&t) {
        MsgKind::Response
    } else {
        MsgKind::Other
    }
}

/// Default server ports: none (ICMP flows are keyed by protocol).
pub const PORTS: &[(Transport, u16)] = &[];

/// No content probe (ICMP reaches this session by IP protocol).
pub fn probe(_transport: Transport, _data: &[u8]) -> bool {
    false
}

/// Per-flow state: pending echo requests.
#[derive(Debug, Default)]
pub struct Session {
    pending: [Option<(u16, u16, Timestamp)>; MAX_PENDING],
    next: usize,
    /// Echo replies that matched no request.
    pub unmatched_replies: u64,
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let v6 = cx.flow.ip_proto == 58;
        match parse(data, v6) {
            Ok(mut m) => {
                let (req, rep) = if v6 { (128, 129) } else { (8, 0) };
                if let (Some(id), Some(seq)) = (m.id, m.seq) {
                    if m.icmp_type == req {
                        self.pending[self.next] = Some((id, seq, cx.ts));
                        self.next = (self.next + 1) % MAX_PENDING;
                    } else if m.icmp_type == rep {
                        match self
                            .pending
                            .iter_mut()
                            .find(|p| p.is_some_and(|p| p.0 == id && p.1 == seq))
                        {
                            Some(slot) => {
                                m.latency_ns = slot.take().map(|p| cx.ts.nanos_since(p.2))
                            }
                            None => self.unmatched_replies += 1,
                        }
                    }
                }
                cx.message(kind(m.version, m.icmp_type), crate::Message::Icmp(m));
            }
            Err(e) => {
                let fc = match data {
                    [t, c, ..] => Some((*t as u16) << 8 | *c as u16),
                    _ => None,
                };
                cx.malformed(Proto::Icmp, e.code(), &e, fc, data);
            }
        }
        data.len()
    }
    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

#[cfg(test)]
mod tests;
