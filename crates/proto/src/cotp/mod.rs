//! TPKT/COTP (ISO 8073 over TCP, RFC 1006) carrying S7comm, S7comm-plus and MMS.
//!
//! - `wire`: pure parsing of TPKT headers and COTP TPDUs.
//! - this file: the per-flow [`Session`] on TCP 102: TPKT framing over the
//!   stream (several per segment, one across segments), resynchronisation
//!   after garbage or gaps, COTP connection-management TPDUs reported as
//!   `cotp` messages, and DT TPDUs reassembled up to end-of-TSDU (at most
//!   [`wire::MAX_TSDU`] bytes) into TSDUs handed by their first byte to
//!   S7comm (0x32), S7comm-plus (0x72) or the ISO upper layers and MMS.
//! - `json`: the NDJSON form of a message.

mod json;
pub mod wire;

use otwatch_core::{Direction, MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::protocols::ProtoMessage;
use crate::{mms, s7comm, s7comm_plus};
pub use wire::{Control, Error, Tpdu};
use wire::{MAX_TSDU, TPKT_LEN, parse_tpdu, tpkt_header};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 102)];

/// A COTP connection-management TPDU (CR, CC, DR, DC, ER; ED, AK, EA, RJ).
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub tpdu: Control<'a>,
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.tpdu.tpdu_type as u16
    }
}

/// True when `b` begins with a TPKT header whose COTP TPDU looks real.
fn plausible_tpkt(b: &[u8]) -> bool {
    let Some(Ok(n)) = tpkt_header(b) else {
        return false;
    };
    if b.get(TPKT_LEN)
        .is_some_and(|&li| li == 0 || li as usize > n - TPKT_LEN - 1)
    {
        return false;
    }
    if b.get(TPKT_LEN + 1).is_some_and(|&code| {
        !matches!(
            code & 0xf0,
            wire::CR | wire::CC | wire::DR | wire::DC | wire::ER | wire::DT
        )
    }) {
        return false;
    }
    true
}

/// Strict check for resynchronisation: a plausible TPKT whose successor (when
/// present) starts a TPKT header too.
fn plausible(b: &[u8]) -> bool {
    if !plausible_tpkt(b) {
        return false;
    }
    let n = match tpkt_header(b) {
        Some(Ok(n)) => n,
        _ => return false,
    };
    match b.get(n..n + 2) {
        Some(next) => next == [3, 0],
        None => true,
    }
}

/// True when `b` begins exactly on a TPKT boundary: a sound header whose
/// TPKT ends where the bytes end or where another TPKT header starts.
fn at_boundary(b: &[u8]) -> bool {
    if !plausible_tpkt(b) {
        return false;
    }
    let Some(Ok(n)) = tpkt_header(b) else {
        return false;
    };
    match b.len().cmp(&n) {
        std::cmp::Ordering::Equal => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => b.get(n..n + 2).is_some_and(|x| x == [3, 0]),
    }
}

/// Per-direction stream state.
#[derive(Debug, Default)]
struct DirState {
    /// Looking for the next plausible TPKT header after garbage or a gap.
    resync: bool,
    /// The malformed event for the current garbage run was already reported.
    reported: bool,
    /// The first bytes were seen.
    started: bool,
    /// A gap was reported and no bytes have followed yet.
    after_gap: bool,
    /// DT payloads waiting for end-of-TSDU (allocated once, when first needed).
    tsdu: Vec<u8>,
    /// The current TSDU overflowed: drop DT TPDUs up to the next EOT.
    discarding: bool,
}

/// Per-flow TPKT/COTP state, with the state of the protocol it carries.
#[derive(Debug, Default)]
pub struct Session {
    dirs: [DirState; 2],
    /// What the TSDUs of this flow carry, once one was seen.
    content: Option<Proto>,
    s7: s7comm::State,
    s7p: s7comm_plus::State,
    mms: mms::State,
    /// TSDUs dropped because they exceeded [`MAX_TSDU`].
    pub oversized_tsdus: u64,
}

impl Session {
    fn malformed(&mut self, e: Error, data: &[u8], cx: &mut Ctx<'_>) {
        let shown = &data[..data.len().min(256)];
        cx.malformed(Proto::Cotp, e.code(), &e, None, shown);
    }

    /// Hands one complete TSDU to the protocol it carries.
    fn dispatch(
        content: &mut Option<Proto>,
        s7: &mut s7comm::State,
        s7p: &mut s7comm_plus::State,
        mms: &mut mms::State,
        tsdu: &[u8],
        cx: &mut Ctx<'_>,
    ) {
        let Some(&first) = tsdu.first() else {
            return;
        };
        match first {
            s7comm::wire::PROTOCOL_ID => {
                content.get_or_insert(Proto::S7comm);
                s7.on_tsdu(tsdu, cx);
            }
            s7comm_plus::wire::PROTOCOL_ID => {
                content.get_or_insert(Proto::S7commPlus);
                s7p.on_tsdu(tsdu, cx);
            }
            _ => {
                content.get_or_insert(Proto::Mms);
                mms.on_tsdu(tsdu, cx);
            }
        }
    }

    fn on_dt(&mut self, eot: bool, data: &[u8], cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        let st = &mut self.dirs[d];
        if st.discarding {
            st.discarding = !eot;
            return;
        }
        if eot && st.tsdu.is_empty() {
            // The common case: a TSDU in one DT, dispatched without a copy.
            Self::dispatch(
                &mut self.content,
                &mut self.s7,
                &mut self.s7p,
                &mut self.mms,
                data,
                cx,
            );
            return;
        }
        let total = st.tsdu.len() + data.len();
        if total > MAX_TSDU {
            st.tsdu.clear();
            st.discarding = !eot;
            self.oversized_tsdus += 1;
            let e = Error::TsduTooLong(total);
            self.malformed(e, data, cx);
            return;
        }
        st.tsdu.extend_from_slice(data);
        if eot {
            let buf = std::mem::take(&mut st.tsdu);
            Self::dispatch(
                &mut self.content,
                &mut self.s7,
                &mut self.s7p,
                &mut self.mms,
                &buf,
                cx,
            );
            let st = &mut self.dirs[d];
            st.tsdu = buf;
            st.tsdu.clear();
        }
    }

    fn on_tpkt(&mut self, tpkt: &[u8], cx: &mut Ctx<'_>) {
        match parse_tpdu(&tpkt[TPKT_LEN..]) {
            Ok(Tpdu::Data { eot, data, .. }) => self.on_dt(eot, data, cx),
            Ok(Tpdu::Control(tpdu)) => {
                if tpdu.tpdu_type == wire::CR {
                    // A new connection: nothing pending belongs to it.
                    for st in &mut self.dirs {
                        st.tsdu.clear();
                        st.discarding = false;
                    }
                }
                let kind = match tpdu.tpdu_type {
                    wire::CR | wire::DR => MsgKind::Request,
                    wire::CC | wire::DC | wire::ER => MsgKind::Response,
                    _ => match cx.dir {
                        Direction::ToServer => MsgKind::Request,
                        Direction::ToClient => MsgKind::Response,
                    },
                };
                cx.message(kind, crate::Message::Cotp(Message { tpdu }));
            }
            Err(e) => self.malformed(e, tpkt, cx),
        }
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        {
            let st = &mut self.dirs[d];
            if !st.started {
                st.started = true;
                if !datagram && !cx.flow.handshake_seen() && !at_boundary(data) {
                    st.resync = true;
                    st.reported = true;
                }
            } else if st.after_gap {
                st.after_gap = false;
                if at_boundary(data) {
                    st.resync = false;
                }
            }
        }
        let mut off = 0;
        while data.len() - off >= TPKT_LEN {
            let rest = &data[off..];
            if self.dirs[d].resync && !plausible(rest) {
                match (1..rest.len().saturating_sub(TPKT_LEN - 1))
                    .find(|&i| rest[i] == 3 && rest[i + 1] == 0 && plausible(&rest[i..]))
                {
                    Some(k) => {
                        off += k;
                        continue;
                    }
                    None => {
                        off = data.len() - (TPKT_LEN - 1);
                        break;
                    }
                }
            }
            let n = match tpkt_header(rest) {
                Some(Ok(n)) => n,
                Some(Err(e)) => {
                    if !self.dirs[d].reported {
                        self.malformed(e, rest, cx);
                        self.dirs[d].reported = true;
                    }
                    self.dirs[d].resync = true;
                    // A TSDU cut by garbage cannot be completed.
                    self.dirs[d].tsdu.clear();
                    off += 1;
                    continue;
                }
                None => break,
            };
            if rest.len() < n {
                break;
            }
            self.dirs[d].resync = false;
            self.dirs[d].reported = false;
            self.on_tpkt(&rest[..n], cx);
            off += n;
        }
        if datagram { data.len() } else { off }
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        let st = &mut self.dirs[d];
        st.resync = true;
        st.after_gap = true;
        st.reported = true;
        st.tsdu.clear();
        st.discarding = false;
        self.s7.on_gap(cx);
        self.s7p.on_gap(cx);
        self.mms.on_gap(cx);
    }

    fn proto_hint(&self) -> Option<Proto> {
        self.content
    }
}

/// Content probe for flows on other ports: one complete TPKT holding a COTP
/// connection request with a sound variable part, or a DT TPDU with EOT
/// carrying an S7comm/S7comm-plus header.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if transport != Transport::Tcp {
        return false;
    }
    let Some(Ok(n)) = tpkt_header(data) else {
        return false;
    };
    if n != data.len() {
        return false;
    }
    match parse_tpdu(&data[TPKT_LEN..]) {
        Ok(Tpdu::Control(c)) => {
            c.tpdu_type == wire::CR && c.credit == 0 && c.class.is_some_and(|k| k <= 4)
        }
        Ok(Tpdu::Data {
            eot: true, data, ..
        }) => match data.first() {
            Some(&s7comm::wire::PROTOCOL_ID) => s7comm::wire::parse(data, false).is_ok(),
            Some(&s7comm_plus::wire::PROTOCOL_ID) => {
                s7comm_plus::wire::parse(data).is_ok_and(|m| m.opcode.is_some())
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests;
