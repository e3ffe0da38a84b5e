//! IEC 61850-9-2 Sampled Values (EtherType 0x88BA).
//!
//! One message per ASDU (a frame with 8 ASDUs gives 8 messages), of kind
//! `other` and function code 0. `wire` decodes the header, the savPdu and the
//! ASDUs; `json` writes the `sv` object (with the 8 currents and voltages of
//! a 9-2LE dataset). A frame whose savPdu cannot be read is malformed; an
//! ASDU that is cut short or lacks a mandatory field is reported and is
//! malformed too.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto};

use crate::dissector::Ctx;
use crate::protocols::ProtoMessage;
pub use wire::{Asdu, Error, Header};

/// ASDUs reported per frame at most (9-2LE uses 1 or 8).
pub const MAX_ASDUS: usize = 64;

const MAX_SHOWN: usize = 256;

/// One ASDU as reported in events.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub header: Header,
    pub no_asdu: Option<u32>,
    /// Position of the ASDU in the frame, from 0.
    pub index: u32,
    pub asdu: Asdu<'a>,
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        0
    }
}

/// Dissects one frame (the payload after the EtherType or SNAP header).
pub fn on_frame(data: &[u8], cx: &mut Ctx<'_>) {
    let shown = &data[..data.len().min(MAX_SHOWN)];
    let (pdu, mut problem) = match wire::parse(data) {
        Ok(x) => x,
        Err(e) => {
            cx.malformed(Proto::Sv, e.code(), &e, None, shown);
            return;
        }
    };
    let mut n = 0u32;
    for b in wire::asdus(pdu.seq_asdu).take(MAX_ASDUS) {
        let (asdu, p) = wire::asdu(b);
        if problem.is_none() {
            problem = p;
        }
        cx.message(
            MsgKind::Other,
            crate::Message::Sv(Message {
                header: pdu.header,
                no_asdu: pdu.no_asdu,
                index: n,
                asdu,
            }),
        );
        n += 1;
    }
    if n == 0 && problem.is_none() {
        problem = Some(Error::Missing("ASDU"));
    }
    if let Some(e) = problem {
        cx.malformed(Proto::Sv, e.code(), &e, Some(0), shown);
    }
}

#[cfg(test)]
mod tests;
