//! IEC 61850 / ISO 9506 MMS.

use serde::Serialize;

use crate::dissector::Ctx;
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

/// Per-connection state of the ISO upper layers (session, presentation
/// contexts, ACSE) held by the TPKT/COTP session of the flow.
#[derive(Debug, Default)]
pub struct State {}

impl State {
    /// One complete COTP TSDU (DT TPDUs reassembled up to EOT) that is not
    /// S7comm or S7comm-plus: ISO session, presentation, ACSE and MMS.
    pub fn on_tsdu(&mut self, _data: &[u8], _cx: &mut Ctx<'_>) {}

    /// Bytes of the stream in this direction were lost.
    pub fn on_gap(&mut self, _cx: &mut Ctx<'_>) {}
}
