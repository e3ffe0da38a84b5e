//! IEEE C37.118.2 synchrophasor transfer (TCP 4712, UDP 4713).
//!
//! - `wire`: pure parsing of one frame (common header, command, configuration,
//!   header and data frames) and the CRC-CCITT check.
//! - this file: the per-flow [`Session`]: framing over a byte stream by
//!   FRAMESIZE (several frames per segment, a frame across segments, resync
//!   on the SYNC byte after garbage or a gap); UDP datagrams carry whole frames.
//! - `json`: the NDJSON form.
//!
//! Commands go from the PDC (client) to the PMU and are requests; every other
//! frame comes from the PMU and is a response. Frames have no transaction id,
//! so there is no matching.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::framing::{Framer, StreamSync, frame_stream};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
pub use wire::{Body, Error, Header};
use wire::{HDR_LEN, MIN_FRAME};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 4712), (Transport::Udp, 4713)];

/// A dissected frame.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub header: Header,
    pub body: Body<'a>,
    /// CHK matched the frame's CRC.
    pub crc_ok: bool,
}

impl Message<'_> {
    pub fn is_command(&self) -> bool {
        self.header.frame_type == wire::frame_type::COMMAND
    }
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        let t = (self.header.frame_type as u16) << 8;
        match self.body {
            Body::Command { command, .. } => t | (command & 0xff),
            _ => t,
        }
    }

    fn identity(&self) -> Option<Identity<'_>> {
        match self.body {
            Body::Config {
                station: Some(s), ..
            } => {
                let mut id = Identity::new(Subject::Sender, "c37118 configuration");
                id.hostname = text(s);
                id.device_class = Some("PMU".into());
                id.hostname.as_ref()?;
                Some(id)
            }
            _ => None,
        }
    }
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    /// Framing state per direction.
    sync: [StreamSync; 2],
}

/// A frame that looks real starts at `b`: sound header and, when the whole
/// frame is present, a matching CRC.
fn plausible(b: &[u8]) -> bool {
    match wire::frame_len(b) {
        Ok(Some(n)) => match b.get(..n) {
            Some(f) => wire::check_crc(f).is_ok(),
            None => b.len() >= HDR_LEN,
        },
        _ => false,
    }
}

fn find_sync(b: &[u8]) -> Option<usize> {
    (0..b.len()).find(|&i| b[i] == 0xaa && plausible(&b[i..]))
}

impl Session {
    fn frame(&mut self, f: &[u8], cx: &mut Ctx<'_>) {
        let Some(h) = wire::parse_header(f) else {
            return;
        };
        let crc = wire::check_crc(f);
        let (body, err) = match wire::parse_body(&h, f) {
            Ok(b) => (b, None),
            Err(e) => (Body::Invalid, Some(e)),
        };
        let msg = Message {
            header: h,
            body,
            crc_ok: crc.is_ok(),
        };
        let kind = if msg.is_command() {
            MsgKind::Request
        } else {
            MsgKind::Response
        };
        cx.message(kind, crate::Message::C37118(msg));
        if let Some(e) = err {
            self.malformed(e, f, cx, Some(h.frame_type));
        }
        if let Err(e) = crc {
            let fc = msg.function_code();
            cx.malformed(
                Proto::C37118,
                e.code(),
                &e,
                Some(fc),
                &f[..f.len().min(256)],
            );
        }
    }

    fn malformed(&mut self, e: Error, data: &[u8], cx: &mut Ctx<'_>, ft: Option<u8>) {
        let shown = &data[..data.len().min(256)];
        cx.malformed(
            Proto::C37118,
            e.code(),
            &e,
            ft.map(|t| (t as u16) << 8),
            shown,
        );
    }
}

/// Stream framing: header pattern, resync and PDU length.
const FRAMER: Framer<Error> = Framer {
    min_len: MIN_FRAME,
    plausible,
    find: find_sync,
    len: wire::frame_len,
};

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        if datagram {
            match wire::frame_len(data) {
                Ok(Some(n)) if n <= data.len() => self.frame(&data[..n], cx),
                Ok(_) => self.malformed(
                    Error::BadFrameSize {
                        frame_type: data.get(1).map_or(0, |t| (t >> 4) & 7),
                        size: crate::wire::be16_at(data, 2).unwrap_or(0),
                    },
                    data,
                    cx,
                    None,
                ),
                Err(e) => self.malformed(e, data, cx, None),
            }
            return data.len();
        }
        let mut sync = self.sync[d];
        let off = frame_stream(
            &mut sync,
            data,
            !cx.flow.handshake_seen(),
            &FRAMER,
            |r| match r {
                Ok(pdu) => self.frame(pdu, cx),
                Err((e, rest)) => self.malformed(e, rest, cx, None),
            },
        );
        self.sync[d] = sync;
        off
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        self.sync[cx.dir.idx()].lost();
    }
}

/// Content probe: one or more whole frames with valid CRC.
pub fn probe(_transport: Transport, data: &[u8]) -> bool {
    matches!(wire::frame_len(data), Ok(Some(n)) if n <= data.len() && data.get(..n).is_some_and(|f| wire::check_crc(f).is_ok()))
}

#[cfg(test)]
mod tests;
