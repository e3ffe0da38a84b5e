//! MQTT 3.1, 3.1.1 and 5 dissector.
//!
//! - `wire`: pure parsing of one control packet.
//! - this file: the per-flow [`Session`]: fixed-header framing over the
//!   stream (several packets per segment, packets across segments), the
//!   protocol level remembered from CONNECT, large PUBLISH packets reported
//!   from their head and skipped, and resynchronisation after garbage or gaps.
//! - `json`: the `mqtt` object of NDJSON records.

mod json;
pub mod wire;

use otwatch_core::{Direction, MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::protocols::ProtoMessage;
pub use wire::{Body, Error, Fixed};
use wire::{check_fixed, parse_body, parse_fixed};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 1883)];

/// Largest packet otwatch waits for whole; a larger PUBLISH is decoded from
/// its head and the rest skipped.
pub const MAX_WAIT: usize = 60 * 1024;

/// A dissected MQTT control packet.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub fixed: Fixed,
    pub body: Body<'a>,
    /// Protocol level of the connection (from CONNECT), if seen.
    pub version: Option<u8>,
}

impl Message<'_> {
    pub fn msg_type(&self) -> u8 {
        self.fixed.msg_type
    }
    pub fn qos(&self) -> Option<u8> {
        (self.fixed.msg_type == 3).then_some((self.fixed.flags >> 1) & 3)
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.fixed.msg_type as u16
    }
}

/// Per-flow MQTT state.
#[derive(Debug, Default)]
pub struct Session {
    resync: [bool; 2],
    reported: [bool; 2],
    started: [bool; 2],
    skip: [usize; 2],
    version: Option<u8>,
}

/// True when `b` starts with a fixed header that looks real: known type,
/// allowed flags, and a packet that parses when whole (and is followed by
/// another plausible header when more bytes are present).
fn plausible(b: &[u8], version: Option<u8>, depth: u8) -> bool {
    let Ok(Some(h)) = parse_fixed(b) else {
        return false;
    };
    if check_fixed(&h).is_err() {
        return false;
    }
    let ok_len = match h.msg_type {
        12 | 13 => h.remaining == 0,
        2 | 4..=7 => h.remaining >= 2,
        1 => h.remaining >= 10,
        3 | 8..=11 => h.remaining >= 2,
        _ => true,
    };
    if !ok_len || h.total() > 1 << 20 {
        return false;
    }
    let n = h.total();
    // Bodies are parsed only when small, so that scanning garbage stays linear.
    let Some(body) = b.get(h.header_len..n).filter(|_| n <= 4096) else {
        return true;
    };
    if parse_auto(&h, body, version, false).is_err() {
        return false;
    }
    match b.get(n..) {
        Some(next) if !next.is_empty() && depth < 1 => plausible(next, version, depth + 1),
        _ => true,
    }
}

/// The first bytes of a direction start a packet: a sound fixed header (the
/// packet may still be incomplete).
fn at_boundary(b: &[u8], version: Option<u8>) -> bool {
    match parse_fixed(b) {
        Ok(Some(h)) => check_fixed(&h).is_ok() && plausible(b, version, 0),
        Ok(None) => b.first().is_some_and(|&c| {
            let h = Fixed {
                msg_type: c >> 4,
                flags: c & 15,
                remaining: 0,
                header_len: 2,
            };
            check_fixed(&h).is_ok()
        }),
        Err(_) => false,
    }
}

/// Parses a body at the connection's protocol level; when CONNECT was not
/// seen, MQTT 3.1.1 first and then 5 (properties).
fn parse_auto<'a>(
    h: &Fixed,
    b: &'a [u8],
    version: Option<u8>,
    head_only: bool,
) -> Result<(Body<'a>, Option<u8>), Error> {
    match version {
        Some(v) => parse_body(h, b, v, head_only).map(|x| (x, None)),
        None => match parse_body(h, b, 4, head_only) {
            Ok(x) => Ok((x, None)),
            Err(e) => parse_body(h, b, 5, head_only)
                .map(|x| (x, Some(5)))
                .map_err(|_| e),
        },
    }
}

/// Where to resume after garbage: the first offset holding a whole plausible
/// packet, else the first offset where a plausible packet may be starting
/// (`Err`: keep the bytes from there and wait), else `None`.
fn find_header(b: &[u8], version: Option<u8>) -> Option<Result<usize, usize>> {
    let mut partial = None;
    for i in 0..b.len() {
        let r = &b[i..];
        if !plausible(r, version, 0) {
            continue;
        }
        match parse_fixed(r) {
            Ok(Some(h)) if h.total() <= r.len() && h.total() <= 4096 => return Some(Ok(i)),
            _ => {
                partial.get_or_insert(i);
            }
        }
    }
    partial.map(Err)
}

impl Session {
    fn level(&self) -> Option<u8> {
        self.version
    }

    fn report(&mut self, fixed: Fixed, body: Body<'_>, cx: &mut Ctx<'_>) {
        if let Body::Connect { level, .. } = body {
            self.version = Some(level);
        }
        let kind = match cx.dir {
            Direction::ToServer => MsgKind::Request,
            Direction::ToClient => MsgKind::Response,
        };
        cx.message(
            kind,
            crate::Message::Mqtt(Message {
                fixed,
                body,
                version: self.version,
            }),
        );
    }

    fn malformed(&mut self, e: Error, fc: Option<u16>, data: &[u8], cx: &mut Ctx<'_>) {
        cx.malformed(Proto::Mqtt, e.code(), &e, fc, &data[..data.len().min(256)]);
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        let lvl = self.level();
        if !self.started[d] {
            self.started[d] = true;
            if !cx.flow.handshake_seen() && !at_boundary(data, lvl) {
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
        while off < data.len() {
            let rest = &data[off..];
            let lvl = self.level();
            if self.resync[d] && !plausible(rest, lvl, 0) {
                match find_header(&rest[1..], lvl) {
                    Some(Ok(k)) => {
                        off += 1 + k;
                        continue;
                    }
                    Some(Err(k)) => {
                        off += 1 + k;
                        break;
                    }
                    None => {
                        // Keep a short tail: it may start a header.
                        off = data.len().saturating_sub(4).max(off);
                        break;
                    }
                }
            }
            let h = match parse_fixed(rest) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => {
                    if !self.reported[d] {
                        self.malformed(e, Some((rest[0] >> 4) as u16), rest, cx);
                        self.reported[d] = true;
                    }
                    self.resync[d] = true;
                    off += 1;
                    continue;
                }
            };
            if self.resync[d] && check_fixed(&h).is_err() {
                off += 1;
                continue;
            }
            let n = h.total();
            if rest.len() < n {
                if n > MAX_WAIT && rest.len() >= 1024.min(n) {
                    let fc = Some(h.msg_type as u16);
                    self.resync[d] = false;
                    self.reported[d] = false;
                    match parse_auto(&h, &rest[h.header_len..], lvl, true) {
                        Ok((b @ Body::Publish { .. }, _)) => self.report(h, b, cx),
                        Ok(_) | Err(_) => {
                            self.report(h, Body::Invalid, cx);
                            let e = Error::TooLarge {
                                msg_type: h.msg_type,
                                len: h.remaining,
                            };
                            self.malformed(e, fc, rest, cx);
                        }
                    }
                    self.skip[d] = n - rest.len();
                    return data.len();
                }
                break;
            }
            self.resync[d] = false;
            self.reported[d] = false;
            match parse_auto(&h, &rest[h.header_len..n], lvl, false) {
                Ok((b, inferred)) => {
                    if inferred.is_some() && self.version.is_none() {
                        self.version = inferred;
                    }
                    self.report(h, b, cx)
                }
                Err(e) => {
                    self.report(h, Body::Invalid, cx);
                    self.malformed(e, Some(h.msg_type as u16), &rest[..n], cx);
                }
            }
            off += n;
        }
        off
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.resync[d] = true;
        self.reported[d] = true;
        self.skip[d] = 0;
    }
}

/// Content probe: a whole CONNECT packet with the MQTT/MQIsdp protocol name.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if transport != Transport::Tcp || data.first().map(|b| b >> 4) != Some(1) {
        return false;
    }
    let Ok(Some(h)) = parse_fixed(data) else {
        return false;
    };
    data.len() >= h.total()
        && matches!(
            parse_body(&h, &data[h.header_len..h.total()], 4, false),
            Ok(Body::Connect { .. })
        )
}

#[cfg(test)]
mod tests;
