//! Tridium Niagara Fox (TCP 1911): text messages between Workbench /
//! supervisors and Niagara stations.
//!
//! - `wire`: pure parsing of one message (header line, parameter block).
//! - this file: the per-flow [`Session`]: messages framed by their `;;`
//!   terminator over a byte stream, resync on the next `fox ` after garbage
//!   or a gap. Fox has no request ids: messages from the client are requests,
//!   messages from the station are responses.
//! - `json`: the NDJSON form.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
pub use wire::{Error, Frame};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 1911)];

/// A dissected Fox message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub frame: Frame<'a>,
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        self.frame.function() as u16
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let f = &self.frame;
        if f.function() != wire::function::HELLO {
            return None;
        }
        let p = |k| f.param(k).and_then(text);
        let mut id = Identity::new(Subject::Sender, "fox hello");
        id.hostname = p("hostName");
        id.os = match (p("os.name"), p("os.version")) {
            (Some(n), Some(v)) => Some(format!("{n} {v}").into()),
            (n, _) => n,
        };
        id.firmware = p("app.version");
        id.vendor = p("brandId");
        id.model = p("app.name");
        id.module = p("station.name");
        id.hardware = p("hostId");
        if id.hostname.is_none() && id.model.is_none() && id.os.is_none() {
            return None;
        }
        Some(id)
    }
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    resync: [bool; 2],
    reported: [bool; 2],
    started: [bool; 2],
}

fn find_start(b: &[u8]) -> Option<usize> {
    b.windows(5).position(|w| w == b"\nfox ").map(|i| i + 1)
}

impl Session {
    fn malformed(&mut self, e: Error, data: &[u8], cx: &mut Ctx<'_>) {
        let shown = &data[..data.len().min(256)];
        cx.malformed(Proto::Fox, e.code(), &e, None, shown);
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        let kind = match cx.dir {
            otwatch_core::Direction::ToServer => MsgKind::Request,
            otwatch_core::Direction::ToClient => MsgKind::Response,
        };
        if !self.started[d] {
            self.started[d] = true;
            if !datagram && !cx.flow.handshake_seen() && !data.starts_with(b"fox ") {
                self.resync[d] = true;
                self.reported[d] = true;
            }
        }
        let mut off = 0;
        while data.len() - off >= 4 {
            let rest = &data[off..];
            if self.resync[d] && !rest.starts_with(b"fox ") {
                match find_start(rest) {
                    Some(k) => {
                        off += k;
                        continue;
                    }
                    None => {
                        off = data.len() - 4;
                        break;
                    }
                }
            }
            match wire::message_len(rest) {
                Ok(None) => break,
                Ok(Some(n)) => {
                    self.resync[d] = false;
                    self.reported[d] = false;
                    match wire::parse(&rest[..n]) {
                        Ok(frame) => cx.message(kind, crate::Message::Fox(Message { frame })),
                        Err(e) => self.malformed(e, &rest[..n], cx),
                    }
                    off += n;
                }
                Err(e) => {
                    if !self.reported[d] {
                        self.malformed(e, rest, cx);
                        self.reported[d] = true;
                    }
                    self.resync[d] = true;
                    off += 1;
                }
            }
        }
        if datagram { data.len() } else { off }
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.resync[d] = true;
        self.reported[d] = true;
    }
}

/// Content probe: the payload starts with `fox a ` or `fox r `... and a
/// parsable header line.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Tcp
        && data.len() > 6
        && data.starts_with(b"fox ")
        && data[5] == b' '
        && data[4].is_ascii_lowercase()
        && data.contains(&b'\n')
        && wire::parse(data).is_ok()
}

#[cfg(test)]
mod tests;
