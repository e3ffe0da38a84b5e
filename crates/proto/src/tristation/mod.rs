//! Triconex TriStation (UDP 1502): the engineering protocol of Triconex
//! safety controllers, abused by the TRITON/TRISIS malware.
//!
//! - `wire`: pure parsing of one datagram (TCM envelope, TriStation command).
//! - this file: the per-flow [`Session`]: one frame per datagram. Requests
//!   are what the client (engineering station) sends, replies what the
//!   controller sends; replies carry their own code (100 and above), so no
//!   matching is needed to name them.
//! - `json`: the NDJSON form.

mod json;
pub mod wire;

use otwatch_core::{Direction, MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
pub use wire::{Command, Error, Frame};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 1502)];

/// A dissected TriStation frame.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub frame: Frame<'a>,
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        let base = (self.frame.opcode as u16) << 8;
        match self.frame.command {
            Some(c) => base | c.command as u16,
            None => base,
        }
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let c = self.frame.command?;
        match c.command {
            // Get module versions response: controller assembly, revision, serial.
            151 => {
                let mut id = Identity::new(Subject::Sender, "tristation module versions");
                id.vendor = Some("Schneider Electric (Triconex)".into());
                id.model = Some("Tricon".into());
                id.product_code = wire::field(&c, 464, 6).and_then(text);
                id.hardware = wire::field(&c, 470, 3).and_then(text);
                id.serial = wire::field(&c, 473, 8).and_then(text);
                id.serial.as_ref()?;
                Some(id)
            }
            // TRICON attached: main processor generation.
            106 => {
                let v = wire::field(&c, 17, 2)?;
                let mut id = Identity::new(Subject::Sender, "tristation attach");
                id.vendor = Some("Schneider Electric (Triconex)".into());
                id.model = Some("Tricon 3008 main processor".into());
                id.firmware = Some(match v[0] {
                    0 => "9".into(),
                    major => format!("{major}.{}", v[1]).into(),
                });
                Some(id)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct Session {}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let kind = match cx.dir {
            Direction::ToServer => MsgKind::Request,
            Direction::ToClient => MsgKind::Response,
        };
        match wire::parse(data) {
            Ok(frame) => cx.message(kind, crate::Message::Tristation(Message { frame })),
            Err(e) => {
                let fc = data.first().map(|&o| (o as u16) << 8);
                let fc = if matches!(e, Error::BadOpcode(_) | Error::Short { .. }) {
                    None
                } else {
                    fc
                };
                cx.malformed(
                    Proto::Tristation,
                    e.code(),
                    &e,
                    fc,
                    &data[..data.len().min(256)],
                );
            }
        }
        data.len()
    }

    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

/// Content probe: a connect request (opcode 1) whose length fields agree.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Udp
        && data.first() == Some(&1)
        && matches!(wire::parse(data), Ok(f) if f.opcode == 1)
}

#[cfg(test)]
mod tests;
