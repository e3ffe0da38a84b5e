//! IEC 61850 / ISO 9506 MMS over the ISO upper layers.
//!
//! The TPKT/COTP session of the flow (`crate::cotp`) reassembles COTP TSDUs
//! and hands those that are not S7comm to [`State::on_tsdu`]. From there:
//!
//! - `iso`: ISO 8327 session SPDUs (CN, AC, RF, DT with Give Tokens, FN, DN,
//!   AB...), ISO 8823 presentation PPDUs (CP/CPA/CPR with the context list,
//!   fully- or simply-encoded user data) and ISO 8650 ACSE APDUs (AARQ, AARE,
//!   RLRQ, RLRE, ABRT);
//! - `wire`: the MMS PDU and the services otwatch decodes;
//! - this file: the per-connection [`State`] (presentation contexts, counters,
//!   invoke id matching) and the reported [`Message`];
//! - `json`: the NDJSON form of a message.
//!
//! Every MMS PDU is one message (an initiate carried in an AARQ/AARE too, with
//! the ACSE facts attached). Session, presentation and ACSE PDUs without MMS
//! contents are counted in [`Stats`], not reported; when they cannot be read
//! they are reported as malformed.

pub mod iso;
pub(crate) mod json;
pub mod wire;

use otwatch_core::{Direction, MsgKind, Proto, Timestamp};

use crate::dissector::Ctx;
use crate::ident::{self, Identity, Subject};
use crate::protocols::ProtoMessage;
pub use iso::{Acse, IsoError};
pub use wire::{Body, Error, ObjectName, Pdu, VarAccess};

/// Confirmed requests remembered per connection while waiting for their answer.
pub const MAX_PENDING: usize = 32;

/// Bytes of a rejected PDU shown in a malformed event.
const MAX_SHOWN: usize = 512;

/// A dissected MMS PDU as reported in events.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub pdu: Pdu<'a>,
    /// The ACSE APDU that carried the PDU (initiate in AARQ/AARE), if any.
    pub acse: Option<Acse<'a>>,
    /// The presentation context id of the PDV that carried the PDU.
    pub context_id: Option<i64>,
    /// On a response, error or cancel: the service of the matched request.
    pub request_service: Option<u8>,
    /// On a matched answer: time since the request, in ns.
    pub latency_ns: Option<i64>,
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.pdu.function_code()
    }

    fn identity(&self) -> Option<Identity<'_>> {
        match self.pdu.body {
            Body::Identify {
                vendor,
                model,
                revision,
            } => {
                let mut id = Identity::new(Subject::Sender, "mms identify");
                id.vendor = ident::text(vendor);
                id.model = ident::text(model);
                id.firmware = ident::text(revision);
                Some(id)
            }
            _ => None,
        }
    }
}

/// Message kind of an MMS PDU choice: requests and answers; unconfirmed
/// services and rejects have no direction of their own.
pub fn kind_of(pdu: u8) -> MsgKind {
    match pdu {
        0 | 5 | 8 | 11 => MsgKind::Request,
        3 | 4 => MsgKind::Other,
        _ => MsgKind::Response,
    }
}

/// Counters of the ISO upper layers of one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// TSDUs received.
    pub tsdus: u64,
    /// Session CN, AC, RF, FN, DN, AB (and AA) SPDUs.
    pub connects: u64,
    pub accepts: u64,
    pub refuses: u64,
    pub finishes: u64,
    pub disconnects: u64,
    pub aborts: u64,
    /// DT SPDUs (data transfer).
    pub data: u64,
    /// Other SPDUs (tokens, expedited, activity management...).
    pub other_spdus: u64,
    /// ACSE APDUs seen (with or without MMS inside).
    pub acse: u64,
    /// MMS PDUs reported.
    pub mms: u64,
    /// Requests dropped from the table without an answer.
    pub unanswered: u64,
    /// Answers that matched no pending request.
    pub unmatched_answers: u64,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    invoke_id: u32,
    service: u8,
    dir: Direction,
    ts: Timestamp,
}

/// Per-connection state of the ISO upper layers (session, presentation
/// contexts, ACSE) held by the TPKT/COTP session of the flow.
#[derive(Debug, Default)]
pub struct State {
    pub stats: Stats,
    /// Presentation context ids of ACSE and MMS from the CP PPDU.
    pub acse_context: Option<i64>,
    pub mms_context: Option<i64>,
    pending: [Option<Pending>; MAX_PENDING],
}

impl State {
    /// One complete COTP TSDU (DT TPDUs reassembled up to EOT) that is not
    /// S7comm or S7comm-plus: ISO session, presentation, ACSE and MMS.
    pub fn on_tsdu(&mut self, data: &[u8], cx: &mut Ctx<'_>) {
        self.stats.tsdus += 1;
        if let Err(e) = self.session(data, cx) {
            self.iso_malformed(e, data, cx);
        }
    }

    /// Bytes of the stream in this direction were lost. TSDUs are
    /// self-contained, so nothing partial is kept; pending requests stay
    /// (their answers may still come).
    pub fn on_gap(&mut self, _cx: &mut Ctx<'_>) {}

    fn session(&mut self, data: &[u8], cx: &mut Ctx<'_>) -> Result<(), IsoError> {
        use iso::si;
        if matches!(data.first(), Some(0x80..=0x8d) | Some(0xa0..=0xad)) {
            // An MMS PDU straight on COTP, without session and presentation
            // (test tools; tshark decodes it too).
            self.mms(data, None, None, cx);
            return Ok(());
        }
        let sp = iso::spdu(data)?;
        match sp.si {
            si::DT | si::PT | si::TD => {
                // Category 0 (Give/Please Tokens) followed by a category 2 SPDU
                // (DT, TD), whose user information runs to the end of the TSDU.
                let user = if matches!(sp.rest.first(), Some(&si::DT) | Some(&si::TD)) {
                    iso::spdu(sp.rest)?.rest
                } else {
                    sp.rest
                };
                self.stats.data += 1;
                if !user.is_empty() {
                    let p = iso::data_ppdu(user)?;
                    self.user_data(p, cx)?;
                }
            }
            si::CN | si::AC | si::RF => {
                match sp.si {
                    si::CN => self.stats.connects += 1,
                    si::AC => self.stats.accepts += 1,
                    _ => self.stats.refuses += 1,
                }
                if let Some(u) = iso::user_data(&sp)? {
                    let p = iso::connect_ppdu(u)?;
                    if let Some(list) = p.contexts {
                        for (id, syntax) in iso::contexts(list) {
                            if syntax == iso::ACSE_OID {
                                self.acse_context = Some(id);
                            } else if syntax == iso::MMS_OID {
                                self.mms_context = Some(id);
                            }
                        }
                    }
                    self.user_data(p, cx)?;
                }
            }
            si::FN | si::DN | si::AB | si::AA => {
                match sp.si {
                    si::FN => self.stats.finishes += 1,
                    si::DN => self.stats.disconnects += 1,
                    _ => self.stats.aborts += 1,
                }
                if let Some(u) = iso::user_data(&sp)?
                    && !u.is_empty()
                {
                    let p = iso::data_ppdu(u)?;
                    self.user_data(p, cx)?;
                }
            }
            _ => self.stats.other_spdus += 1,
        }
        Ok(())
    }

    fn user_data(&mut self, p: iso::Ppdu<'_>, cx: &mut Ctx<'_>) -> Result<(), IsoError> {
        let Some(u) = p.user_data else {
            return Ok(());
        };
        let mut err = Ok(());
        iso::pdvs(u, |pdv| {
            if err.is_err() {
                return;
            }
            if iso::is_acse(pdv.data) {
                self.stats.acse += 1;
                match iso::acse(pdv.data) {
                    Ok(a) => {
                        if let Some(m) = a.user_information {
                            self.mms(m, Some(a), pdv.context_id, cx);
                        }
                    }
                    Err(e) => err = Err(e),
                }
            } else {
                self.mms(pdv.data, None, pdv.context_id, cx);
            }
        })?;
        err
    }

    fn mms(&mut self, b: &[u8], acse: Option<Acse<'_>>, context_id: Option<i64>, cx: &mut Ctx<'_>) {
        match wire::parse_pdu(b) {
            Ok(pdu) => self.report(pdu, acse, context_id, cx),
            Err(e) => {
                let head = wire::pdu_header(b);
                // A PDU whose choice is readable is a message too (as in tshark).
                if let Some(h) = head {
                    self.report(h, acse, context_id, cx);
                }
                let shown = &b[..b.len().min(MAX_SHOWN)];
                cx.malformed(
                    Proto::Mms,
                    e.code(),
                    &e,
                    head.map(|h| h.function_code()),
                    shown,
                );
            }
        }
    }

    fn report(
        &mut self,
        pdu: Pdu<'_>,
        acse: Option<Acse<'_>>,
        context_id: Option<i64>,
        cx: &mut Ctx<'_>,
    ) {
        self.stats.mms += 1;
        let mut msg = Message {
            pdu,
            acse,
            context_id,
            request_service: None,
            latency_ns: None,
        };
        match pdu.pdu {
            wire::pdu::CONFIRMED_REQUEST => {
                if let (Some(id), Some(s)) = (pdu.invoke_id, pdu.service) {
                    self.remember(id, s, cx.dir, cx.ts);
                }
            }
            wire::pdu::CONFIRMED_RESPONSE
            | wire::pdu::CONFIRMED_ERROR
            | wire::pdu::CANCEL_RESPONSE
            | wire::pdu::CANCEL_ERROR => {
                if let Some(id) = pdu.invoke_id {
                    match self.take(id, cx.dir) {
                        Some(p) => {
                            msg.request_service = Some(p.service);
                            msg.latency_ns = Some(cx.ts.nanos_since(p.ts));
                        }
                        None => self.stats.unmatched_answers += 1,
                    }
                }
            }
            _ => {}
        }
        cx.message(kind_of(pdu.pdu), crate::Message::Mms(msg));
    }

    fn remember(&mut self, invoke_id: u32, service: u8, dir: Direction, ts: Timestamp) {
        let p = Some(Pending {
            invoke_id,
            service,
            dir,
            ts,
        });
        if let Some(slot) = self.pending.iter_mut().find(|s| s.is_none()) {
            *slot = p;
            return;
        }
        // Full: replace the oldest.
        if let Some(slot) = self
            .pending
            .iter_mut()
            .min_by_key(|s| s.map_or(Timestamp::ZERO, |p| p.ts))
        {
            *slot = p;
        }
        self.stats.unanswered += 1;
    }

    fn take(&mut self, invoke_id: u32, dir: Direction) -> Option<Pending> {
        self.pending
            .iter_mut()
            .find(|s| s.is_some_and(|p| p.invoke_id == invoke_id && p.dir != dir))?
            .take()
    }

    fn iso_malformed(&mut self, e: IsoError, data: &[u8], cx: &mut Ctx<'_>) {
        cx.malformed(
            Proto::Mms,
            e.code(),
            &e,
            None,
            &data[..data.len().min(MAX_SHOWN)],
        );
    }
}

#[cfg(test)]
mod tests;
