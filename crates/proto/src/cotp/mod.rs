//! TPKT/COTP (ISO 8073 over TCP, RFC 1006) carrying S7comm, S7comm-plus and MMS.

use otwatch_core::Transport;

use crate::dissector::{Ctx, Dissector};

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
