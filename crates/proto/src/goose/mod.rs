//! IEC 61850 GOOSE (EtherType 0x88B8).
//!
//! Each frame (from APPID) is one publication: `wire` decodes the header and
//! the goosePdu, this file reports it, `json` writes the `goose` object. A
//! publication is a message of kind `other` with function code 0. A frame
//! whose goosePdu can be read but lacks a mandatory field (or has a bad
//! Length or a bad field) is reported as a message and as malformed; a frame
//! without a readable goosePdu only as malformed.

pub(crate) mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto};

use crate::dissector::Ctx;
use crate::protocols::ProtoMessage;
pub use wire::{Error, Goose, Header};

/// Bytes of a rejected frame shown in a malformed event.
const MAX_SHOWN: usize = 256;

/// A GOOSE publication as reported in events.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub goose: Goose<'a>,
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
    match wire::parse(data) {
        Ok((goose, problem)) => {
            cx.message(MsgKind::Other, crate::Message::Goose(Message { goose }));
            if let Some(e) = problem {
                cx.malformed(Proto::Goose, e.code(), &e, Some(0), shown);
            }
        }
        Err(e) => cx.malformed(Proto::Goose, e.code(), &e, None, shown),
    }
}

#[cfg(test)]
pub(crate) mod tests;
