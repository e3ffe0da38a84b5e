//! Syslog: RFC 3164 (BSD) and RFC 5424 messages over UDP 514 (one per
//! datagram) and TCP 601 (RFC 6587: octet counting or newline framing).
//!
//! - this file: zero-copy parsing, framing, the session, identity.
//! - `json`: the `syslog` object of NDJSON records.

mod json;

use otwatch_core::{MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;

/// Longest message waited for on TCP.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Why a message could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No `<PRI>` at the start (the first byte seen).
    NoPri(u8),
    /// A PRI value above 191 or not a number.
    BadPri,
    /// TCP: an octet count or line longer than 64 KiB.
    TooLong(usize),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::NoPri(_) => "no_pri",
            Error::BadPri => "bad_pri",
            Error::TooLong(_) => "too_long",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::NoPri(b) => write!(f, "message starts with 0x{b:02x}, expected '<'"),
            Error::BadPri => f.write_str("PRI is not a number from 0 to 191"),
            Error::TooLong(n) => write!(f, "message of {n} bytes exceeds {MAX_MESSAGE}"),
        }
    }
}

/// A dissected syslog message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Message<'a> {
    pub pri: u8,
    /// 5424 when the version field `1` follows the PRI, else 3164.
    pub format: u16,
    pub timestamp: Option<&'a [u8]>,
    pub hostname: Option<&'a [u8]>,
    pub app_name: Option<&'a [u8]>,
    pub procid: Option<&'a [u8]>,
    pub msgid: Option<&'a [u8]>,
    pub msg: &'a [u8],
}

impl Message<'_> {
    pub fn facility(&self) -> u8 {
        self.pri >> 3
    }
    pub fn severity(&self) -> u8 {
        self.pri & 7
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.pri as u16
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let h = self.hostname.and_then(crate::ident::text)?;
        // An IP address in the host field names no host.
        if h.parse::<std::net::IpAddr>().is_ok() {
            return None;
        }
        let mut id = Identity::new(Subject::Sender, "syslog");
        id.hostname = Some(h);
        Some(id)
    }
}

fn split_word(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == b' ') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[]),
    }
}

fn nil(v: &[u8]) -> Option<&[u8]> {
    (v != b"-" && !v.is_empty()).then_some(v)
}

/// Parses one message (without framing; trailing CR/LF/NUL removed).
pub fn parse(b: &[u8]) -> Result<Message<'_>, Error> {
    let end = b
        .iter()
        .rposition(|&c| !matches!(c, b'\n' | b'\r' | 0))
        .map_or(0, |i| i + 1);
    let b = &b[..end];
    match b.first() {
        Some(b'<') => {}
        Some(&c) => return Err(Error::NoPri(c)),
        None => return Err(Error::NoPri(0)),
    }
    let close = b
        .iter()
        .take(5)
        .position(|&c| c == b'>')
        .ok_or(Error::BadPri)?;
    let digits = &b[1..close];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Error::BadPri);
    }
    let pri = digits.iter().fold(0u32, |a, &d| a * 10 + (d - b'0') as u32);
    if pri > 191 {
        return Err(Error::BadPri);
    }
    let rest = &b[close + 1..];
    let mut m = Message {
        pri: pri as u8,
        ..Message::default()
    };
    if let [b'1', b' ', r @ ..] = rest {
        m.format = 5424;
        let (ts, r) = split_word(r);
        let (host, r) = split_word(r);
        let (app, r) = split_word(r);
        let (proc_, r) = split_word(r);
        let (msgid, r) = split_word(r);
        m.timestamp = nil(ts);
        m.hostname = nil(host);
        m.app_name = nil(app);
        m.procid = nil(proc_);
        m.msgid = nil(msgid);
        // Structured data: "-" or [..]...; the message follows.
        let r = if let Some(r) = r.strip_prefix(b"-") {
            r
        } else {
            let mut depth = 0i32;
            let mut i = 0;
            while i < r.len() {
                match r[i] {
                    b'\\' => i += 1,
                    b'[' => depth += 1,
                    b']' => {
                        depth -= 1;
                        if depth == 0 && r.get(i + 1) != Some(&b'[') {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            &r[i.min(r.len())..]
        };
        m.msg = r.strip_prefix(b" ").unwrap_or(r);
        return Ok(m);
    }
    m.format = 3164;
    // "Mmm dd hh:mm:ss HOST TAG: msg" (the timestamp is 15 characters).
    let ts_ok = rest.len() >= 16
        && rest[3] == b' '
        && rest[6] == b' '
        && rest[9] == b':'
        && rest[12] == b':'
        && rest[15] == b' ';
    if ts_ok {
        m.timestamp = Some(&rest[..15]);
        let (host, r) = split_word(&rest[16..]);
        // A "host" ending in ':' is really the tag (no host field).
        if host.ends_with(b":") || host.contains(&b'[') {
            m.app_name = tag(host);
            m.msg = r;
        } else {
            m.hostname = nil(host);
            let (t, r2) = split_word(r);
            if t.ends_with(b":") || t.contains(&b'[') {
                m.app_name = tag(t);
                m.procid = procid(t);
                m.msg = r2;
            } else {
                m.msg = r;
            }
        }
    } else {
        m.msg = rest;
    }
    Ok(m)
}

fn tag(t: &[u8]) -> Option<&[u8]> {
    let end = t
        .iter()
        .position(|&c| c == b'[' || c == b':')
        .unwrap_or(t.len());
    nil(&t[..end])
}

fn procid(t: &[u8]) -> Option<&[u8]> {
    let s = t.iter().position(|&c| c == b'[')?;
    let e = t.iter().position(|&c| c == b']')?;
    (e > s).then(|| &t[s + 1..e])
}

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 514), (Transport::Tcp, 601)];

/// Strict content check: a UDP datagram `<PRI>` followed by an RFC 3164
/// timestamp or the RFC 5424 version.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Udp
        && matches!(parse(data), Ok(m) if m.format == 5424 && m.timestamp.is_some() || m.format == 3164 && m.timestamp.is_some())
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    /// Per direction: skipping to the next newline after garbage or a gap.
    resync: [bool; 2],
}

impl Session {
    fn report(data: &[u8], cx: &mut Ctx<'_>) {
        match parse(data) {
            Ok(m) => cx.message(MsgKind::Request, crate::Message::Syslog(m)),
            Err(e) => cx.malformed(
                Proto::Syslog,
                e.code(),
                &e,
                None,
                &data[..data.len().min(256)],
            ),
        }
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        if datagram {
            Self::report(data, cx);
            return data.len();
        }
        let d = cx.dir.idx();
        let mut off = 0;
        while off < data.len() {
            let rest = &data[off..];
            if self.resync[d] {
                match rest.iter().position(|&c| c == b'\n') {
                    Some(i) => {
                        off += i + 1;
                        self.resync[d] = false;
                        continue;
                    }
                    None => return data.len(),
                }
            }
            if rest[0].is_ascii_digit() {
                // Octet counting: "LEN SP MSG".
                let Some(sp) = rest.iter().take(7).position(|&c| c == b' ') else {
                    if rest.len() >= 7 {
                        let e = Error::TooLong(rest.len());
                        cx.malformed(Proto::Syslog, e.code(), &e, None, &rest[..7]);
                        self.resync[d] = true;
                        continue;
                    }
                    break;
                };
                let n = rest[..sp].iter().try_fold(0usize, |a, &c| {
                    c.is_ascii_digit().then(|| a * 10 + (c - b'0') as usize)
                });
                match n {
                    Some(n) if n <= MAX_MESSAGE => {
                        let Some(msg) = rest.get(sp + 1..sp + 1 + n) else {
                            break;
                        };
                        Self::report(msg, cx);
                        off += sp + 1 + n;
                    }
                    _ => {
                        let e = Error::TooLong(n.unwrap_or(usize::MAX));
                        cx.malformed(Proto::Syslog, e.code(), &e, None, &rest[..sp]);
                        self.resync[d] = true;
                    }
                }
                continue;
            }
            // Newline (or NUL) framing.
            match rest.iter().position(|&c| c == b'\n' || c == 0) {
                Some(i) => {
                    if i > 0 {
                        Self::report(&rest[..i], cx);
                    }
                    off += i + 1;
                }
                None => {
                    if rest.len() > MAX_MESSAGE {
                        let e = Error::TooLong(rest.len());
                        cx.malformed(Proto::Syslog, e.code(), &e, None, &rest[..256]);
                        self.resync[d] = true;
                        return data.len();
                    }
                    break;
                }
            }
        }
        off
    }
    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        self.resync[cx.dir.idx()] = true;
    }
}

#[cfg(test)]
mod tests;
