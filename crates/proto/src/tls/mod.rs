//! TLS dissector (record layer and the plaintext handshake).
//!
//! - `wire`: record headers, ClientHello/ServerHello/Certificate parsing.
//! - `x509`: the leaf certificate fields (subject, issuer, serial, validity, SAN).
//! - `fingerprint`: JA3, JA3S and JA4 (computed only when asked: JSON).
//! - this file: the per-flow [`Session`]: record framing, reassembly of
//!   handshake messages spanning records (bounded, 64 KiB), one message per
//!   handshake message, ChangeCipherSpec and plaintext alert; after
//!   ChangeCipherSpec a direction's records are only counted.

pub mod fingerprint;
mod json;
pub mod wire;
pub mod x509;

use otwatch_core::{MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
use wire::{CT_ALERT, CT_CCS, CT_HANDSHAKE, MAX_HANDSHAKE, RECORD_HEADER};
pub use wire::{ClientHello, Error, RecordHeader, ServerHello};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[
    (Transport::Tcp, 443),
    (Transport::Tcp, 8443),
    (Transport::Tcp, 4843),
    (Transport::Tcp, 8883),
    (Transport::Tcp, 636),
    (Transport::Tcp, 993),
    (Transport::Tcp, 995),
    (Transport::Tcp, 465),
];

/// Strict content check: a handshake record (0x16 0x03 0x00..0x04) holding a
/// ClientHello (handshake type 1) whose length fits the record.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if transport != Transport::Tcp || data.len() < 9 {
        return false;
    }
    let Some(h) = wire::record_header(data) else {
        return false;
    };
    let hs_len = u32::from_be_bytes([0, data[6], data[7], data[8]]);
    h.content_type == CT_HANDSHAKE
        && data[1] == 3
        && data[2] <= 4
        && wire::check_header(&h).is_ok()
        && data[5] == 1
        && hs_len >= 38
        && hs_len <= MAX_HANDSHAKE as u32
}

/// What a TLS message carries.
#[derive(Clone, Copy, Debug)]
pub enum Body<'a> {
    ClientHello(ClientHello<'a>),
    ServerHello(ServerHello<'a>),
    /// TLS ≤ 1.2 Certificate: the leaf certificate (DER) and the chain length.
    Certificate {
        leaf: Option<&'a [u8]>,
        count: u16,
    },
    /// Any other plaintext handshake message.
    Handshake {
        handshake_type: u8,
        len: u32,
    },
    Alert {
        level: u8,
        description: u8,
    },
    ChangeCipherSpec,
}

/// A dissected TLS message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub record_version: u16,
    pub content_type: u8,
    pub body: Body<'a>,
}

impl Message<'_> {
    pub fn handshake_type(&self) -> Option<u8> {
        Some(match self.body {
            Body::ClientHello(_) => 1,
            Body::ServerHello(_) => 2,
            Body::Certificate { .. } => 11,
            Body::Handshake { handshake_type, .. } => handshake_type,
            _ => return None,
        })
    }
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        self.content_type as u16 * 256 + self.handshake_type().unwrap_or(0) as u16
    }

    fn identity(&self) -> Option<Identity<'_>> {
        match self.body {
            Body::Certificate {
                leaf: Some(der), ..
            } => {
                let c = x509::parse(der)?;
                let mut id = Identity::new(Subject::Sender, "tls certificate");
                id.hostname = x509::common_name(c.subject).and_then(text);
                id.serial = None;
                Some(id)
            }
            Body::ClientHello(h) => {
                let sni = h.sni?;
                let mut id = Identity::new(Subject::Receiver, "tls sni");
                id.hostname = text(sni);
                Some(id)
            }
            _ => None,
        }
    }
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    /// Per direction: after ChangeCipherSpec, records are only counted.
    encrypted: [bool; 2],
    resync: [bool; 2],
    reported: [bool; 2],
    started: [bool; 2],
    /// Per direction: handshake bytes of a message spanning records.
    hs_buf: [Vec<u8>; 2],
    /// Per direction: handshake reassembly gave up (oversized message).
    hs_broken: [bool; 2],
    /// Records seen per direction (including encrypted ones).
    pub records: [u64; 2],
    /// Encrypted records (application data and post-CCS records).
    pub encrypted_records: [u64; 2],
}

fn plausible(b: &[u8]) -> bool {
    let Some(h) = wire::record_header(b) else {
        return false;
    };
    if wire::check_header(&h).is_err() {
        return false;
    }
    let n = RECORD_HEADER + h.length as usize;
    match b.get(n..).and_then(wire::record_header) {
        Some(next) => wire::check_header(&next).is_ok() && next.version >> 8 == 3,
        None => true,
    }
}

fn find_record(b: &[u8]) -> Option<usize> {
    (0..b.len().saturating_sub(RECORD_HEADER - 1))
        .find(|&i| b[i + 1] == 3 && (20..=23).contains(&b[i]) && plausible(&b[i..]))
}

fn kind(cx: &Ctx<'_>) -> MsgKind {
    match cx.dir {
        otwatch_core::Direction::ToServer => MsgKind::Request,
        otwatch_core::Direction::ToClient => MsgKind::Response,
    }
}

/// Parses the handshake messages at the start of `b`; returns bytes consumed
/// (complete messages only).
fn handshake_messages(rv: u16, b: &[u8], cx: &mut Ctx<'_>) -> usize {
    let mut off = 0;
    while b.len() - off >= 4 {
        let t = b[off];
        let l = u32::from_be_bytes([0, b[off + 1], b[off + 2], b[off + 3]]) as usize;
        let Some(body) = b.get(off + 4..off + 4 + l) else {
            break;
        };
        let parsed = match t {
            1 => wire::parse_client_hello(body).map(Body::ClientHello),
            2 => wire::parse_server_hello(body).map(Body::ServerHello),
            11 => match wire::parse_certificate(body) {
                Some((leaf, count)) => Some(Body::Certificate { leaf, count }),
                // TLS 1.3 certificates are encrypted; a plaintext one that
                // does not parse is reported as a bare handshake message.
                None => Some(Body::Handshake {
                    handshake_type: 11,
                    len: l as u32,
                }),
            },
            _ => Some(Body::Handshake {
                handshake_type: t,
                len: l as u32,
            }),
        };
        let k = kind(cx);
        match parsed {
            Some(body) => cx.message(
                k,
                crate::Message::Tls(Message {
                    record_version: rv,
                    content_type: CT_HANDSHAKE,
                    body,
                }),
            ),
            None => {
                let e = Error::BadHandshake(t, 0);
                cx.message(
                    k,
                    crate::Message::Tls(Message {
                        record_version: rv,
                        content_type: CT_HANDSHAKE,
                        body: Body::Handshake {
                            handshake_type: t,
                            len: l as u32,
                        },
                    }),
                );
                cx.malformed(
                    Proto::Tls,
                    e.code(),
                    &e,
                    Some(CT_HANDSHAKE as u16 * 256 + t as u16),
                    &b[off..(off + 4 + l).min(off + 256)],
                );
            }
        }
        off += 4 + l;
    }
    off
}

impl Session {
    fn on_record(&mut self, d: usize, h: RecordHeader, frag: &[u8], cx: &mut Ctx<'_>) {
        self.records[d] += 1;
        if self.encrypted[d] || h.content_type == wire::CT_APP || h.content_type == 24 {
            self.encrypted_records[d] += 1;
            return;
        }
        match h.content_type {
            CT_CCS => {
                self.encrypted[d] = true;
                cx.message(
                    kind(cx),
                    crate::Message::Tls(Message {
                        record_version: h.version,
                        content_type: CT_CCS,
                        body: Body::ChangeCipherSpec,
                    }),
                );
            }
            CT_ALERT => {
                if frag.len() != 2 {
                    // Unencrypted alerts are 2 bytes; anything else is an
                    // encrypted alert (after a TLS 1.3 handshake): count it.
                    self.encrypted_records[d] += 1;
                    return;
                }
                cx.message(
                    kind(cx),
                    crate::Message::Tls(Message {
                        record_version: h.version,
                        content_type: CT_ALERT,
                        body: Body::Alert {
                            level: frag[0],
                            description: frag[1],
                        },
                    }),
                );
            }
            _ => {
                if self.hs_broken[d] {
                    return;
                }
                if self.hs_buf[d].is_empty() {
                    let n = handshake_messages(h.version, frag, cx);
                    let rest = &frag[n..];
                    if !rest.is_empty() {
                        self.buffer(d, rest, cx);
                    }
                } else {
                    self.buffer(d, frag, cx);
                    if self.hs_broken[d] {
                        return;
                    }
                    let buf = std::mem::take(&mut self.hs_buf[d]);
                    let n = handshake_messages(h.version, &buf, cx);
                    self.hs_buf[d] = buf;
                    self.hs_buf[d].drain(..n);
                }
            }
        }
    }

    fn buffer(&mut self, d: usize, b: &[u8], cx: &mut Ctx<'_>) {
        let buf = &mut self.hs_buf[d];
        buf.extend_from_slice(b);
        let declared = if buf.len() >= 4 {
            u32::from_be_bytes([0, buf[1], buf[2], buf[3]])
        } else {
            0
        };
        if declared as usize > MAX_HANDSHAKE || buf.len() > MAX_HANDSHAKE + 4 {
            let e = Error::HandshakeTooLong(declared);
            let fc = CT_HANDSHAKE as u16 * 256 + buf[0] as u16;
            cx.malformed(
                Proto::Tls,
                e.code(),
                &e,
                Some(fc),
                &buf[..buf.len().min(64)],
            );
            buf.clear();
            buf.shrink_to_fit();
            self.hs_broken[d] = true;
        }
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        let mut off = 0;
        if !self.started[d] {
            // SSLv2-compatible ClientHello: skipped (not a TLS record), the
            // TLS records that follow are dissected.
            if data.len() >= 3 && data[0] & 0x80 != 0 && data[2] == 1 {
                let n = (((data[0] & 0x7f) as usize) << 8 | data[1] as usize) + 2;
                if data.len() < n {
                    return 0;
                }
                off = n;
            }
            self.started[d] = true;
            if !cx.flow.handshake_seen() && !plausible(&data[off..]) {
                self.resync[d] = true;
                self.reported[d] = true;
            }
        }
        while data.len() - off >= RECORD_HEADER {
            let rest = &data[off..];
            if self.resync[d] && !plausible(rest) {
                match find_record(&rest[1..]) {
                    Some(k) => {
                        off += 1 + k;
                        continue;
                    }
                    None => {
                        off = data.len() - (RECORD_HEADER - 1);
                        break;
                    }
                }
            }
            let Some(h) = wire::record_header(rest) else {
                break;
            };
            if let Err(e) = wire::check_header(&h) {
                if !self.reported[d] {
                    cx.malformed(Proto::Tls, e.code(), &e, None, &rest[..rest.len().min(64)]);
                    self.reported[d] = true;
                }
                self.resync[d] = true;
                self.hs_buf[d].clear();
                off += 1;
                continue;
            }
            let n = RECORD_HEADER + h.length as usize;
            if rest.len() < n {
                break;
            }
            self.resync[d] = false;
            self.reported[d] = false;
            self.on_record(d, h, &rest[RECORD_HEADER..n], cx);
            off += n;
        }
        off
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.resync[d] = true;
        self.reported[d] = true;
        self.hs_buf[d].clear();
    }
}

#[cfg(test)]
mod tests;
