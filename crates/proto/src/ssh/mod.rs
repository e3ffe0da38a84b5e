//! SSH dissector: version banners and the cleartext binary packets before
//! NEWKEYS (KEXINIT with its algorithm lists, key exchange messages); after
//! NEWKEYS a direction is encrypted and only counted.

mod json;

use otwatch_core::{Direction, MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
use crate::wire::Cursor;

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 22)];

/// Longest banner line (RFC 4253: 255) we accept, with some slack.
pub const MAX_LINE: usize = 1024;
/// Lines before the banner a server may send (RFC 4253 4.2).
pub const MAX_PRE_LINES: u8 = 16;
/// Largest cleartext binary packet (RFC 4253 6.1 requires 35000).
pub const MAX_PACKET: usize = 35000;

/// Strict content check: `SSH-1.99-` or `SSH-2.0-` at the start, line ended.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Tcp
        && (data.starts_with(b"SSH-2.0-") || data.starts_with(b"SSH-1.99-"))
        && data.iter().take(MAX_LINE).any(|&c| c == b'\n')
}

/// The algorithm name-lists of a KEXINIT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KexInit<'a> {
    pub kex: &'a [u8],
    pub host_key: &'a [u8],
    pub enc_c2s: &'a [u8],
    pub enc_s2c: &'a [u8],
    pub mac_c2s: &'a [u8],
    pub mac_s2c: &'a [u8],
    pub comp_c2s: &'a [u8],
    pub comp_s2c: &'a [u8],
    pub first_kex_follows: bool,
}

/// A dissected SSH message.
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    /// The identification string `SSH-protoversion-softwareversion SP comments`.
    Banner {
        line: &'a [u8],
        client: bool,
    },
    KexInit {
        kex: KexInit<'a>,
        client: bool,
    },
    /// Any other cleartext message (key exchange, NEWKEYS, ...).
    Packet {
        msg: u8,
        len: u32,
    },
}

impl<'a> Message<'a> {
    /// `(proto_version, software, comments)` of a banner line.
    pub fn banner_parts(line: &'a [u8]) -> (&'a [u8], &'a [u8], &'a [u8]) {
        let rest = line.strip_prefix(b"SSH-").unwrap_or(line);
        let dash = rest.iter().position(|&c| c == b'-').unwrap_or(rest.len());
        let proto = &rest[..dash];
        let sw = rest.get(dash + 1..).unwrap_or_default();
        match sw.iter().position(|&c| c == b' ') {
            Some(sp) => (proto, &sw[..sp], &sw[sp + 1..]),
            None => (proto, sw, &[]),
        }
    }
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        match self {
            Message::Banner { .. } => 0,
            Message::KexInit { .. } => 20,
            Message::Packet { msg, .. } => *msg as u16,
        }
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let Message::Banner { line, .. } = self else {
            return None;
        };
        let (_, sw, comments) = Message::banner_parts(line);
        let mut id = Identity::new(Subject::Sender, "ssh banner");
        id.model = text(sw);
        let os = [
            ("Ubuntu", "Ubuntu"),
            ("Debian", "Debian"),
            ("FreeBSD", "FreeBSD"),
            ("Raspbian", "Raspbian"),
            ("Windows", "Windows"),
        ]
        .into_iter()
        .find(|(k, _)| {
            comments.windows(k.len()).any(|w| w == k.as_bytes())
                || sw.windows(k.len()).any(|w| w == k.as_bytes())
        })
        .map(|(_, v)| v);
        id.os = os.map(Into::into);
        id.firmware = text(comments);
        Some(id)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Banner,
    Packets,
    Encrypted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    BadBanner,
    BadPacketLength(u32),
    BadKexInit,
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadBanner => "bad_banner",
            Error::BadPacketLength(_) => "bad_packet_length",
            Error::BadKexInit => "bad_kexinit",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::BadBanner => write!(
                f,
                "no 'SSH-' identification line within {MAX_PRE_LINES} lines / {MAX_LINE} bytes"
            ),
            Error::BadPacketLength(l) => write!(
                f,
                "binary packet length {l} outside 5..={MAX_PACKET} (or padding beyond it)"
            ),
            Error::BadKexInit => write!(f, "KEXINIT name-lists truncated"),
        }
    }
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    state: [State; 2],
    pre_lines: [u8; 2],
    /// Bytes seen after NEWKEYS (or after giving up), per direction.
    pub encrypted_bytes: [u64; 2],
}

pub fn parse_kexinit(p: &[u8]) -> Option<KexInit<'_>> {
    let mut c = Cursor::new(p);
    c.skip(16)?;
    let mut l = [&[][..]; 10];
    for x in l.iter_mut() {
        let n = c.be32()? as usize;
        *x = c.take(n)?;
    }
    Some(KexInit {
        kex: l[0],
        host_key: l[1],
        enc_c2s: l[2],
        enc_s2c: l[3],
        mac_c2s: l[4],
        mac_s2c: l[5],
        comp_c2s: l[6],
        comp_s2c: l[7],
        first_kex_follows: c.u8().unwrap_or(0) != 0,
    })
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        let client = cx.dir == Direction::ToServer;
        let kind = if client {
            MsgKind::Request
        } else {
            MsgKind::Response
        };
        let mut off = 0;
        while off < data.len() {
            let rest = &data[off..];
            match self.state[d] {
                State::Encrypted => {
                    self.encrypted_bytes[d] += rest.len() as u64;
                    return data.len();
                }
                State::Banner => {
                    let Some(nl) = rest.iter().take(MAX_LINE).position(|&c| c == b'\n') else {
                        if rest.len() >= MAX_LINE {
                            cx.malformed(
                                Proto::Ssh,
                                Error::BadBanner.code(),
                                &Error::BadBanner,
                                Some(0),
                                &rest[..64],
                            );
                            self.state[d] = State::Encrypted;
                            continue;
                        }
                        break;
                    };
                    let line = &rest[..nl];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    off += nl + 1;
                    if line.starts_with(b"SSH-") {
                        cx.message(kind, crate::Message::Ssh(Message::Banner { line, client }));
                        self.state[d] = State::Packets;
                    } else {
                        self.pre_lines[d] += 1;
                        if self.pre_lines[d] > MAX_PRE_LINES {
                            cx.malformed(
                                Proto::Ssh,
                                Error::BadBanner.code(),
                                &Error::BadBanner,
                                Some(0),
                                line,
                            );
                            self.state[d] = State::Encrypted;
                        }
                    }
                }
                State::Packets => {
                    if rest.len() < 6 {
                        break;
                    }
                    let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
                    let pad = rest[4] as u32;
                    if !(5..=MAX_PACKET as u32).contains(&len) || pad + 1 >= len {
                        let e = Error::BadPacketLength(len);
                        cx.malformed(Proto::Ssh, e.code(), &e, None, &rest[..rest.len().min(64)]);
                        self.state[d] = State::Encrypted;
                        continue;
                    }
                    let n = 4 + len as usize;
                    if rest.len() < n {
                        break;
                    }
                    let payload = &rest[5..n - pad as usize];
                    let msg = payload[0];
                    if msg == 20 {
                        match parse_kexinit(&payload[1..]) {
                            Some(kex) => cx.message(
                                kind,
                                crate::Message::Ssh(Message::KexInit { kex, client }),
                            ),
                            None => {
                                cx.message(kind, crate::Message::Ssh(Message::Packet { msg, len }));
                                cx.malformed(
                                    Proto::Ssh,
                                    Error::BadKexInit.code(),
                                    &Error::BadKexInit,
                                    Some(20),
                                    payload,
                                );
                            }
                        }
                    } else {
                        cx.message(kind, crate::Message::Ssh(Message::Packet { msg, len }));
                    }
                    off += n;
                    if msg == 21 {
                        self.state[d] = State::Encrypted;
                    }
                }
            }
        }
        off
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        // Binary packets cannot be re-framed reliably: stop dissecting.
        self.state[cx.dir.idx()] = State::Encrypted;
    }
}

#[cfg(test)]
mod tests;
