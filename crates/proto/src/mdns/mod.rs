//! Multicast DNS (RFC 6762): DNS wire format, dissected by [`crate::dns`]; messages are
//! reported as `crate::Message::Mdns(dns::Message)`. Responses name the
//! answering host (identity).

use otwatch_core::Transport;

use crate::dissector::{Ctx, Dissector};
use crate::dns::{Core, Flavor};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 5353)];

/// No content probe: the DNS format is claimed by port only.
pub fn probe(_transport: Transport, _data: &[u8]) -> bool {
    false
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    core: Core,
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        self.core.on_data(Flavor::Mdns, data, datagram, cx)
    }
    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        self.core.on_gap(cx)
    }
}
