//! Siemens S7comm (S7-300/400/1200 classic protocol), carried in COTP TSDUs.
//!
//! - `wire`: pure parsing of one PDU into [`wire::Pdu`] or [`wire::Error`].
//! - this file: [`State`], the per-flow S7comm state held by the TPKT/COTP
//!   session (`crate::cotp`): job/ack matching by PDU reference and Read SZL
//!   continuation tracking; and the reported [`Message`].
//! - `json`: the NDJSON form of a message.

mod json;
pub mod wire;

use std::borrow::Cow;

use otwatch_core::{MsgKind, Proto, Timestamp};

use crate::dissector::Ctx;
use crate::ident::{self, Identity, Subject};
use crate::protocols::ProtoMessage;
pub use wire::{Body, Error, Pdu, Userdata};

/// Jobs remembered per flow while waiting for their ack.
pub const MAX_PENDING: usize = 32;

/// A job remembered until its ack / ack-data arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobInfo {
    pub pdu_ref: u16,
    pub function: u8,
    /// Direction index of the job (a PLC sends jobs too: download block).
    pub dir: usize,
    pub ts: Timestamp,
}

/// A dissected S7comm PDU as reported in events.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub pdu: Pdu<'a>,
    /// On an ack / ack-data: the job it answers, matched by PDU reference.
    pub request: Option<JobInfo>,
    /// On a matched ack: time since the job, in ns.
    pub latency_ns: Option<i64>,
    /// The parameter did not parse (the PDU is also reported as malformed).
    pub invalid: bool,
}

impl Message<'_> {
    /// The Read SZL of this message, if it is one.
    pub fn szl(&self) -> Option<wire::Szl<'_>> {
        match self.pdu.body {
            Body::Userdata(u) => u.szl,
            _ => None,
        }
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.pdu.function_code()
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let Body::Userdata(u) = self.pdu.body else {
            return None;
        };
        if u.is_request() {
            return None;
        }
        let szl = u.szl?;
        let source = match szl.id & 0xff {
            0x11 => "s7comm SZL 0x0011",
            0x1c => "s7comm SZL 0x001C",
            _ => return None,
        };
        let f = wire::module_facts(&szl);
        if f.is_empty() {
            return None;
        }
        let mut id = Identity::new(Subject::Sender, source);
        id.vendor = Some(Cow::Borrowed("Siemens"));
        id.product_code = f.order_number.and_then(ident::text);
        id.model = f.module_type.and_then(ident::text);
        id.firmware = f
            .firmware
            .map(|(a, b, c)| Cow::Owned(format!("V{a}.{b}.{c}")));
        id.hardware = f.hardware.map(|h| Cow::Owned(h.to_string()));
        id.serial = f.serial.and_then(ident::text);
        id.hostname = f.system_name.and_then(ident::text);
        id.module = f.module_name.and_then(ident::text);
        id.device_class = Some(Cow::Borrowed("PLC"));
        Some(id)
    }
}

/// Per-flow S7comm state.
#[derive(Debug, Default)]
pub struct State {
    pending: [Option<JobInfo>; MAX_PENDING],
    /// Per direction: the last Read SZL response announced more data units.
    szl_more: [bool; 2],
    /// Jobs dropped from the table without an ack.
    pub unanswered: u64,
    /// Acks that matched no pending job.
    pub unmatched_responses: u64,
}

impl State {
    fn remember(&mut self, job: JobInfo) {
        if let Some(slot) = self.pending.iter_mut().find(|p| p.is_none()) {
            *slot = Some(job);
            return;
        }
        let oldest = (0..MAX_PENDING)
            .min_by_key(|&i| self.pending[i].map_or(Timestamp::ZERO, |p| p.ts))
            .unwrap_or(0);
        self.pending[oldest] = Some(job);
        self.unanswered += 1;
    }

    fn take(&mut self, pdu_ref: u16, dir: usize) -> Option<JobInfo> {
        let slot = self
            .pending
            .iter_mut()
            .find(|p| p.is_some_and(|j| j.pdu_ref == pdu_ref && j.dir != dir))?;
        slot.take()
    }

    /// One TSDU whose first byte is 0x32.
    pub fn on_tsdu(&mut self, data: &[u8], cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        match wire::parse(data, self.szl_more[d]) {
            Ok(pdu) => self.report(pdu, false, cx),
            Err(e) => {
                // A sound header with a readable function byte is still a
                // message (flagged invalid) besides being malformed.
                let fc = match wire::invalid_pdu(data) {
                    Some(pdu) => {
                        let fc = pdu.function_code();
                        self.report(pdu, true, cx);
                        Some(fc)
                    }
                    None => None,
                };
                let shown = &data[..data.len().min(256)];
                cx.malformed(Proto::S7comm, e.code(), &e, fc, shown);
            }
        }
    }

    fn report(&mut self, pdu: Pdu<'_>, invalid: bool, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        let (kind, request) = match pdu.body {
            Body::Userdata(u) => {
                if u.group == wire::GRP_CPU && u.subfunction == 1 && !u.is_request() {
                    self.szl_more[d] = u.last_data_unit == Some(1);
                }
                let k = if u.is_request() {
                    MsgKind::Request
                } else {
                    MsgKind::Response
                };
                (k, None)
            }
            _ if pdu.header.rosctr == wire::ROSCTR_JOB => {
                self.remember(JobInfo {
                    pdu_ref: pdu.header.pdu_ref,
                    function: pdu.function.unwrap_or(0),
                    dir: d,
                    ts: cx.ts,
                });
                (MsgKind::Request, None)
            }
            _ => {
                let r = self.take(pdu.header.pdu_ref, d);
                if r.is_none() {
                    self.unmatched_responses += 1;
                }
                (MsgKind::Response, r)
            }
        };
        let latency_ns = request.map(|r| cx.ts.nanos_since(r.ts));
        cx.message(
            kind,
            crate::Message::S7comm(Message {
                pdu,
                request,
                latency_ns,
                invalid,
            }),
        );
    }

    /// Bytes of the stream in `cx.dir` were lost.
    pub fn on_gap(&mut self, cx: &mut Ctx<'_>) {
        self.szl_more[cx.dir.idx()] = false;
    }
}

#[cfg(test)]
mod tests;
