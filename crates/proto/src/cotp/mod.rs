//! TPKT/COTP (ISO 8073 over TCP, RFC 1006) carrying S7comm, S7comm-plus and MMS.

use otwatch_core::Transport;

use serde::Serialize;

use crate::dissector::{Ctx, Dissector};
use crate::protocols::ProtoMessage;

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 102)];

/// Strict content check for flows on other ports.
pub fn probe(_transport: Transport, _data: &[u8]) -> bool {
    false
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, _cx: &mut Ctx<'_>) -> usize {
        data.len()
    }
    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

/// A COTP connection-management TPDU (CR, CC, DR, DC, ER), placeholder.
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
