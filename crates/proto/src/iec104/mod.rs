//! IEC 60870-5-104 dissector.
//!
//! - `wire`: pure parsing of one APDU (APCI I/S/U + ASDU) into
//!   [`wire::Apdu`] or [`wire::Error`].
//! - this file: the per-flow [`Session`]: APDU framing over the TCP stream
//!   (several APDUs per segment, one APDU across segments), resynchronisation
//!   on the 0x68 start octet after garbage or gaps.
//! - `json`: the NDJSON form of a message.
//!
//! One message per APDU (as Wireshark counts `iec60870_104.type`). The kind
//! follows the TCP direction (to the server port: request); whether an ASDU
//! travels in the control or the monitor direction is in the JSON
//! (`control_direction`, from the type id).

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::protocols::ProtoMessage;
pub use wire::{Apci, Apdu, Asdu, Cp56, Element, Error, type_name};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 2404)];

/// Longest APDU (start, length 253).
const MAX_APDU: usize = 2 + wire::MAX_LEN as usize;

/// A dissected APDU as reported in events.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub apdu: Apdu<'a>,
}

impl Message<'_> {
    pub fn asdu(&self) -> Option<&Asdu<'_>> {
        self.apdu.asdu.as_ref()
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.apdu.function_code()
    }
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    /// Per direction: looking for the next plausible APCI after garbage or a gap.
    resync: [bool; 2],
    /// Per direction: the malformed event for the current garbage run was reported.
    reported: [bool; 2],
    started: [bool; 2],
    after_gap: [bool; 2],
}

/// True when `b` starts with a header that looks like a real APCI; when the
/// whole APDU is present, the next octet after it must be a start octet too.
fn plausible(b: &[u8]) -> bool {
    let Ok(n) = wire::check_header(b) else {
        return false;
    };
    let len = n - 2;
    if let Some(ctl) = b.get(2..6) {
        let c0 = ctl[0];
        let ok = if c0 & 1 == 0 {
            // An I-format APDU: its ASDU type must be known, with objects.
            len >= 10
                && b.get(6).is_none_or(|&t| wire::type_name(t) != "unknown")
                && b.get(7).is_none_or(|&v| v & 0x7f != 0)
        } else if c0 & 3 == 1 {
            len == 4 && ctl[1] == 0
        } else {
            len == 4
                && matches!(c0, 0x07 | 0x0B | 0x13 | 0x23 | 0x43 | 0x83)
                && ctl[1..] == [0, 0, 0]
        };
        if !ok {
            return false;
        }
    }
    match b.get(n) {
        Some(&next) => next == wire::START,
        None => true,
    }
}

/// The first bytes after a stream start or gap begin on an APDU boundary:
/// a sound header whose APDU ends where the bytes end or where another starts.
fn at_boundary(b: &[u8]) -> bool {
    let Ok(n) = wire::check_header(b) else {
        return false;
    };
    match b.len().cmp(&n) {
        std::cmp::Ordering::Equal => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => b.get(n..).is_some_and(|r| wire::check_header(r).is_ok()),
    }
}

impl Session {
    fn report(&mut self, apdu: Apdu<'_>, cx: &mut Ctx<'_>) {
        let kind = match cx.dir {
            otwatch_core::Direction::ToServer => MsgKind::Request,
            otwatch_core::Direction::ToClient => MsgKind::Response,
        };
        cx.message(kind, crate::Message::Iec104(Message { apdu }));
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        if !self.started[d] {
            self.started[d] = true;
            if !datagram && !cx.flow.handshake_seen() && !at_boundary(data) {
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
        while data.len() - off >= 2 {
            let rest = &data[off..];
            if self.resync[d] && !plausible(rest) {
                match rest[1..].iter().position(|&b| b == wire::START) {
                    Some(k) => {
                        off += 1 + k;
                        continue;
                    }
                    None => {
                        off = data.len();
                        break;
                    }
                }
            }
            let n = match wire::check_header(rest) {
                Ok(n) => n,
                Err(e) => {
                    if !self.reported[d] {
                        cx.malformed(
                            Proto::Iec104,
                            e.code(),
                            &e,
                            e.function(),
                            &rest[..rest.len().min(MAX_APDU)],
                        );
                        self.reported[d] = true;
                    }
                    self.resync[d] = true;
                    off += 1;
                    continue;
                }
            };
            if rest.len() < n {
                break;
            }
            self.resync[d] = false;
            self.reported[d] = false;
            let bytes = &rest[..n];
            let (apdu, err) = wire::parse_apdu_lenient(bytes);
            if let Some(a) = apdu {
                self.report(a, cx);
            }
            if let Some(e) = err {
                cx.malformed(Proto::Iec104, e.code(), &e, e.function(), bytes);
            }
            off += n;
        }
        if datagram {
            if off < data.len() && !self.reported[d] {
                let e = Error::BadLength(data.get(off + 1).copied().unwrap_or(0));
                cx.malformed(Proto::Iec104, e.code(), &e, None, &data[off..]);
            }
            self.resync[d] = false;
            self.reported[d] = false;
            data.len()
        } else {
            off
        }
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.resync[d] = true;
        self.after_gap[d] = true;
        self.reported[d] = true;
    }
}

/// Content probe: a whole STARTDT act / TESTFR act U-frame, or a complete
/// I-format APDU with a known type whose objects fill it exactly.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if transport != Transport::Tcp {
        return false;
    }
    match wire::parse_apdu(data) {
        Ok(a) => {
            (2 + a.length as usize) == data.len()
                && match a.apci {
                    Apci::U { control } => matches!(control, 0x07 | 0x43),
                    Apci::I { .. } => a
                        .asdu
                        .is_some_and(|s| wire::element_size(s.type_id).is_some() && s.cot > 0),
                    Apci::S { .. } => false,
                }
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests;
