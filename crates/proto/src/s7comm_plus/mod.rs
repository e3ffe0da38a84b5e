//! Siemens S7comm-plus (S7-1200/1500), carried in COTP TSDUs.
//!
//! - `wire`: pure parsing of the frame header, the V3 integrity part and the
//!   data header (opcode, function, sequence number, session id).
//! - this file: [`State`], held by the TPKT/COTP session (`crate::cotp`):
//!   it follows PDUs fragmented over several frames (a frame without trailer
//!   starts or continues one) so that each PDU is reported once.
//! - `json`: the NDJSON form of a message.

mod json;
pub mod wire;

use otwatch_core::{Direction, MsgKind, Proto};

use crate::dissector::Ctx;
use crate::protocols::ProtoMessage;
pub use wire::{Error, Frame, Integrity};

/// A dissected S7comm-plus PDU (its first frame).
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub frame: Frame<'a>,
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.frame.function
    }
}

/// Per-flow S7comm-plus state.
#[derive(Debug, Default)]
pub struct State {
    /// Per direction: inside a fragmented PDU (its first frame had no trailer).
    in_fragment: [bool; 2],
    /// Continuation frames seen (not reported as messages).
    pub fragments: u64,
}

impl State {
    /// One TSDU whose first byte is 0x72.
    pub fn on_tsdu(&mut self, data: &[u8], cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        if self.in_fragment[d] {
            match wire::parse_frame(data) {
                Ok(f) => {
                    self.fragments += 1;
                    if f.has_trailer {
                        self.in_fragment[d] = false;
                    }
                    return;
                }
                Err(_) => self.in_fragment[d] = false,
            }
        }
        match wire::parse(data) {
            Ok(frame) => {
                if !frame.has_trailer && frame.opcode.is_some() {
                    self.in_fragment[d] = true;
                }
                let kind = match frame.opcode {
                    Some(wire::OP_REQUEST) => MsgKind::Request,
                    Some(_) => MsgKind::Response,
                    None => match cx.dir {
                        Direction::ToServer => MsgKind::Request,
                        Direction::ToClient => MsgKind::Response,
                    },
                };
                cx.message(kind, crate::Message::S7commPlus(Message { frame }));
            }
            Err(e) => {
                let shown = &data[..data.len().min(256)];
                cx.malformed(Proto::S7commPlus, e.code(), &e, None, shown);
            }
        }
    }

    /// Bytes of the stream in `cx.dir` were lost.
    pub fn on_gap(&mut self, cx: &mut Ctx<'_>) {
        self.in_fragment[cx.dir.idx()] = false;
    }
}

#[cfg(test)]
pub(crate) mod tests;
