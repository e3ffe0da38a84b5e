//! DHCP / BOOTP (RFC 2131, RFC 2132): pure, zero-copy parsing of one message.
//! The options are walked once; the ones otwatch reports are kept as slices.

use std::net::Ipv4Addr;

use crate::wire::Cursor;

/// Fixed BOOTP header length (up to and including `file`).
pub const BOOTP_LEN: usize = 236;
/// The DHCP magic cookie.
pub const MAGIC: u32 = 0x6382_5363;

/// Why a message could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer than 236 bytes.
    ShortHeader(usize),
    /// `op` is neither 1 (BOOTREQUEST) nor 2 (BOOTREPLY).
    BadOp(u8),
    /// `hlen` larger than the 16-byte `chaddr` field.
    BadHlen(u8),
    /// An option's length runs past the end of the message.
    OptionTruncated { code: u8, len: u8, left: usize },
    /// An option with a length its definition does not allow.
    BadOptionLength { code: u8, len: u8 },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::ShortHeader(_) => "short_header",
            Error::BadOp(_) => "bad_op",
            Error::BadHlen(_) => "bad_hlen",
            Error::OptionTruncated { .. } => "option_truncated",
            Error::BadOptionLength { .. } => "bad_option_length",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::ShortHeader(n) => write!(f, "message of {n} bytes, BOOTP needs 236"),
            Error::BadOp(o) => write!(f, "op {o}, expected 1 (request) or 2 (reply)"),
            Error::BadHlen(h) => write!(f, "hardware address length {h} exceeds 16"),
            Error::OptionTruncated { code, len, left } => write!(
                f,
                "option {code} announces {len} bytes, only {left} left in the message"
            ),
            Error::BadOptionLength { code, len } => {
                write!(
                    f,
                    "option {code} has length {len}, which its definition does not allow"
                )
            }
        }
    }
}

/// A parsed DHCP/BOOTP message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dhcp<'a> {
    pub op: u8,
    pub htype: u8,
    pub hlen: u8,
    pub xid: u32,
    pub secs: u16,
    pub flags: u16,
    pub ciaddr: [u8; 4],
    pub yiaddr: [u8; 4],
    pub siaddr: [u8; 4],
    pub giaddr: [u8; 4],
    pub chaddr: [u8; 16],
    /// The magic cookie was present (DHCP rather than plain BOOTP).
    pub cookie: bool,
    /// Option 53 (0 = none: plain BOOTP).
    pub msg_type: u8,
    pub hostname: Option<&'a [u8]>,
    pub vendor_class: Option<&'a [u8]>,
    pub client_id: Option<&'a [u8]>,
    pub requested_ip: Option<[u8; 4]>,
    pub server_id: Option<[u8; 4]>,
    pub lease_time: Option<u32>,
    pub params: Option<&'a [u8]>,
    /// Option 81: the domain name part (after flags and rcodes).
    pub fqdn: Option<&'a [u8]>,
    pub fqdn_flags: u8,
    /// Option 43 length.
    pub vendor_specific_len: Option<u8>,
    pub subnet_mask: Option<[u8; 4]>,
    /// Option 3 (first router), option 6 (all DNS servers, raw).
    pub router: Option<[u8; 4]>,
    pub dns_servers: Option<&'a [u8]>,
    /// Number of options seen.
    pub option_count: u16,
}

impl Dhcp<'_> {
    pub fn client_mac(&self) -> Option<[u8; 6]> {
        (self.htype == 1 && self.hlen == 6).then(|| {
            let mut m = [0; 6];
            m.copy_from_slice(&self.chaddr[..6]);
            m
        })
    }
    pub fn ip(a: [u8; 4]) -> Ipv4Addr {
        Ipv4Addr::from(a)
    }
}

fn ip4(v: &[u8]) -> Option<[u8; 4]> {
    v.try_into().ok()
}

/// Parses one message. When the header is sound but an option is bad, the
/// message (with the options before the bad one) comes with the error.
pub fn parse(b: &[u8]) -> (Option<Dhcp<'_>>, Option<Error>) {
    if b.len() < BOOTP_LEN {
        return (None, Some(Error::ShortHeader(b.len())));
    }
    let mut c = Cursor::new(b);
    let mut d = Dhcp::default();
    let (Some(op), Some(htype), Some(hlen), Some(_hops), Some(xid), Some(secs), Some(flags)) =
        (c.u8(), c.u8(), c.u8(), c.u8(), c.be32(), c.be16(), c.be16())
    else {
        return (None, Some(Error::ShortHeader(b.len())));
    };
    if op != 1 && op != 2 {
        return (None, Some(Error::BadOp(op)));
    }
    if hlen > 16 {
        return (None, Some(Error::BadHlen(hlen)));
    }
    d.op = op;
    d.htype = htype;
    d.hlen = hlen;
    d.xid = xid;
    d.secs = secs;
    d.flags = flags;
    let mut addr = || c.take(4).and_then(ip4).unwrap_or_default();
    d.ciaddr = addr();
    d.yiaddr = addr();
    d.siaddr = addr();
    d.giaddr = addr();
    d.chaddr.copy_from_slice(&b[28..44]);
    let mut c = Cursor::new(&b[BOOTP_LEN..]);
    if c.be32() != Some(MAGIC) {
        return (Some(d), None);
    }
    d.cookie = true;
    while let Some(code) = c.u8() {
        match code {
            0 => continue,
            255 => break,
            _ => {}
        }
        let Some(len) = c.u8() else {
            return (
                Some(d),
                Some(Error::OptionTruncated {
                    code,
                    len: 0,
                    left: 0,
                }),
            );
        };
        let left = c.remaining();
        let Some(v) = c.take(len as usize) else {
            return (Some(d), Some(Error::OptionTruncated { code, len, left }));
        };
        d.option_count = d.option_count.saturating_add(1);
        let bad = Some(Error::BadOptionLength { code, len });
        match code {
            53 => match v {
                [t] => d.msg_type = *t,
                _ => return (Some(d), bad),
            },
            12 => d.hostname = Some(v),
            60 => d.vendor_class = Some(v),
            61 => d.client_id = Some(v),
            55 => d.params = Some(v),
            43 => d.vendor_specific_len = Some(len),
            6 => d.dns_servers = Some(v),
            81 => match v {
                [fl, _, _, rest @ ..] => {
                    d.fqdn_flags = *fl;
                    d.fqdn = Some(rest);
                }
                _ => return (Some(d), bad),
            },
            50 | 54 | 1 | 3 => {
                let Some(a) = v.get(..4).and_then(ip4) else {
                    return (Some(d), bad);
                };
                if code != 3 && len != 4 || len % 4 != 0 {
                    return (Some(d), bad);
                }
                match code {
                    50 => d.requested_ip = Some(a),
                    54 => d.server_id = Some(a),
                    1 => d.subnet_mask = Some(a),
                    _ => d.router = Some(a),
                }
            }
            51 => match ip4(v) {
                Some(t) => d.lease_time = Some(u32::from_be_bytes(t)),
                None => return (Some(d), bad),
            },
            _ => {}
        }
    }
    (Some(d), None)
}

/// DHCP message type names (option 53).
pub fn msg_type_name(t: u8) -> &'static str {
    match t {
        0 => "BOOTP",
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        9 => "FORCERENEW",
        10 => "LEASEQUERY",
        11 => "LEASEUNASSIGNED",
        12 => "LEASEUNKNOWN",
        13 => "LEASEACTIVE",
        _ => "unknown",
    }
}

/// The domain name of option 81: wire-encoded when flag E (0x04) is set, else ASCII.
pub fn fqdn_text(flags: u8, v: &[u8]) -> String {
    if flags & 0x04 == 0 {
        return String::from_utf8_lossy(v).into_owned();
    }
    let mut out = String::new();
    let mut c = Cursor::new(v);
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
