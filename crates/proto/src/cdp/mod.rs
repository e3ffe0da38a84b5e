//! Cisco Discovery Protocol.

use serde::Serialize;

use crate::dissector::Ctx;
use crate::protocols::ProtoMessage;

/// Dissects one frame (the payload after the EtherType or SNAP header).
pub fn on_frame(_data: &[u8], _cx: &mut Ctx<'_>) {}

/// A dissected message (placeholder until the protocol lands).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Message<'a> {
    pub function_code: u16,
    #[serde(skip)]
    pub data: &'a [u8],
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        self.function_code
    }
}
