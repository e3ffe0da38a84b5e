//! Siemens S7comm-plus.

use serde::Serialize;

use crate::protocols::ProtoMessage;

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
