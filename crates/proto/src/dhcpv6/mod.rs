//! DHCPv6 (RFC 8415) over UDP 546/547.
//!
//! - this file: zero-copy parsing of one message and its options, the
//!   session (one message per datagram), identity.
//! - `json`: the `dhcpv6` object of NDJSON records.

mod json;

use std::net::{IpAddr, Ipv6Addr};

use otwatch_core::{MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;
use crate::wire::Cursor;

/// Why a message could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the header of its type (4, or 34 for relay messages).
    ShortHeader { msg_type: u8, len: usize },
    /// An option's length runs past the end of the message.
    OptionTruncated { code: u16, len: u16, left: usize },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::ShortHeader { .. } => "short_header",
            Error::OptionTruncated { .. } => "option_truncated",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::ShortHeader { msg_type, len } => {
                write!(
                    f,
                    "message type {msg_type} of {len} bytes is shorter than its header"
                )
            }
            Error::OptionTruncated { code, len, left } => {
                write!(f, "option {code} announces {len} bytes, {left} left")
            }
        }
    }
}

/// A dissected DHCPv6 message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Message<'a> {
    pub msg_type: u8,
    /// Transaction id (0 for relay messages).
    pub xid: u32,
    pub client_id: Option<&'a [u8]>,
    pub server_id: Option<&'a [u8]>,
    /// Option 39: flags and the wire-encoded name.
    pub fqdn: Option<&'a [u8]>,
    /// Option 16: enterprise number and the first class datum.
    pub vendor_enterprise: Option<u32>,
    pub vendor_class: Option<&'a [u8]>,
    /// First IA_NA address.
    pub ia_addr: Option<[u8; 16]>,
    /// Option 6 contents (pairs of option codes).
    pub oro: Option<&'a [u8]>,
    /// Relay messages: link and peer addresses.
    pub link_addr: Option<[u8; 16]>,
    pub peer_addr: Option<[u8; 16]>,
    pub option_count: u16,
}

/// Message type names.
pub fn msg_type_name(t: u8) -> &'static str {
    match t {
        1 => "SOLICIT",
        2 => "ADVERTISE",
        3 => "REQUEST",
        4 => "CONFIRM",
        5 => "RENEW",
        6 => "REBIND",
        7 => "REPLY",
        8 => "RELEASE",
        9 => "DECLINE",
        10 => "RECONFIGURE",
        11 => "INFORMATION-REQUEST",
        12 => "RELAY-FORW",
        13 => "RELAY-REPL",
        _ => "unknown",
    }
}

/// The FQDN option's name in dotted form (allocates).
pub fn fqdn_text(v: &[u8]) -> String {
    let mut out = String::new();
    let mut c = Cursor::new(v.get(1..).unwrap_or(&[]));
    while let Some(l) = c.u8() {
        if l == 0 || l & 0xc0 != 0 {
            break;
        }
        let Some(s) = c.take(l as usize) else { break };
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&String::from_utf8_lossy(s));
    }
    out
}

/// Parses one message; on a bad option the message so far comes with the error.
pub fn parse(b: &[u8]) -> (Option<Message<'_>>, Option<Error>) {
    let Some(&t) = b.first() else {
        return (
            None,
            Some(Error::ShortHeader {
                msg_type: 0,
                len: 0,
            }),
        );
    };
    let mut m = Message {
        msg_type: t,
        ..Message::default()
    };
    let opts = if matches!(t, 12 | 13) {
        if b.len() < 34 {
            return (
                None,
                Some(Error::ShortHeader {
                    msg_type: t,
                    len: b.len(),
                }),
            );
        }
        m.link_addr = b[2..18].try_into().ok();
        m.peer_addr = b[18..34].try_into().ok();
        &b[34..]
    } else {
        if b.len() < 4 {
            return (
                None,
                Some(Error::ShortHeader {
                    msg_type: t,
                    len: b.len(),
                }),
            );
        }
        m.xid = u32::from_be_bytes([0, b[1], b[2], b[3]]);
        &b[4..]
    };
    let mut c = Cursor::new(opts);
    while c.remaining() > 0 {
        let left = c.remaining();
        let (Some(code), Some(len)) = (c.be16(), c.be16()) else {
            return (
                Some(m),
                Some(Error::OptionTruncated {
                    code: 0,
                    len: 0,
                    left,
                }),
            );
        };
        let Some(v) = c.take(len as usize) else {
            return (
                Some(m),
                Some(Error::OptionTruncated {
                    code,
                    len,
                    left: left - 4,
                }),
            );
        };
        m.option_count = m.option_count.saturating_add(1);
        match code {
            1 => m.client_id = Some(v),
            2 => m.server_id = Some(v),
            6 => m.oro = Some(v),
            39 => m.fqdn = Some(v),
            16 => {
                m.vendor_enterprise = v
                    .get(..4)
                    .map(|e| u32::from_be_bytes([e[0], e[1], e[2], e[3]]));
                let mut vc = Cursor::new(v.get(4..).unwrap_or(&[]));
                m.vendor_class = vc.be16().and_then(|l| vc.take(l as usize));
            }
            3 => {
                // IAID, T1, T2, then sub-options: 5 = IAADDR.
                let mut ic = Cursor::new(v.get(12..).unwrap_or(&[]));
                while let (Some(sc), Some(sl)) = (ic.be16(), ic.be16()) {
                    let Some(sv) = ic.take(sl as usize) else {
                        break;
                    };
                    if sc == 5 && m.ia_addr.is_none() {
                        m.ia_addr = sv.get(..16).and_then(|a| a.try_into().ok());
                    }
                }
            }
            _ => {}
        }
    }
    (Some(m), None)
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.msg_type as u16
    }

    /// Client messages carrying an FQDN or a vendor class describe the client.
    fn identity(&self) -> Option<Identity<'_>> {
        if !matches!(self.msg_type, 1 | 3 | 4 | 5 | 6 | 11) {
            return None;
        }
        let mut id = Identity::new(Subject::Sender, "dhcpv6");
        id.hostname = self.fqdn.map(fqdn_text).and_then(|s| {
            let h = s.split('.').next().unwrap_or("").to_string();
            (!h.is_empty()).then(|| h.into())
        });
        id.device_class = self.vendor_class.and_then(crate::ident::text);
        (id.hostname.is_some() || id.device_class.is_some()).then_some(id)
    }
}

/// The first IA_NA address as an IP.
pub fn ia_ip(m: &Message<'_>) -> Option<IpAddr> {
    m.ia_addr.map(|a| IpAddr::V6(Ipv6Addr::from(a)))
}

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 546), (Transport::Udp, 547)];

/// No content probe: the 4-byte header is too weak a signature.
pub fn probe(_transport: Transport, _data: &[u8]) -> bool {
    false
}

/// Per-flow state (none needed).
#[derive(Debug, Default)]
pub struct Session {}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let (m, err) = parse(data);
        if let Some(m) = m {
            let kind = match m.msg_type {
                2 | 7 | 10 | 13 => MsgKind::Response,
                _ => MsgKind::Request,
            };
            cx.message(kind, crate::Message::Dhcpv6(m));
        }
        if let Some(e) = err {
            cx.malformed(
                Proto::Dhcpv6,
                e.code(),
                &e,
                m.map(|m| m.msg_type as u16),
                data,
            );
        }
        data.len()
    }
    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

#[cfg(test)]
mod tests;
