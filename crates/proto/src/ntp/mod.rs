//! NTP (RFC 5905) over UDP 123, including mode 6 (control) and mode 7
//! (private, e.g. the `monlist` request abused for amplification).
//!
//! - this file: zero-copy parsing, the session (one packet per datagram).
//! - `json`: the `ntp` object of NDJSON records.

mod json;

use otwatch_core::{MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::protocols::ProtoMessage;
use crate::wire::Cursor;

/// Header length of modes 1–5.
pub const HEADER_LEN: usize = 48;
/// Mode 7 request codes of the monitor list (`monlist`).
pub const MON_GETLIST: u8 = 20;
pub const MON_GETLIST_1: u8 = 42;

/// Why a packet could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the fixed header of its mode.
    Short { mode: u8, len: usize, need: usize },
    /// Version 0 or above 4.
    BadVersion(u8),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::Short { .. } => "short_packet",
            Error::BadVersion(_) => "bad_version",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::Short { mode, len, need } => {
                write!(f, "mode {mode} packet of {len} bytes, needs {need}")
            }
            Error::BadVersion(v) => write!(f, "version {v}, expected 1–4"),
        }
    }
}

/// Mode 6/7 fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control {
    /// Response bit.
    pub response: bool,
    /// Mode 6: opcode; mode 7: request code.
    pub code: u8,
    /// Mode 7: implementation number; mode 6: association id low byte.
    pub implementation: u8,
    pub sequence: u16,
    /// Mode 6 status word / mode 7 error + item count.
    pub status: u16,
}

/// A dissected NTP packet.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub li: u8,
    pub version: u8,
    pub mode: u8,
    pub stratum: u8,
    pub poll: i8,
    pub precision: i8,
    pub root_delay: u32,
    pub root_dispersion: u32,
    pub ref_id: [u8; 4],
    pub ref_ts: u64,
    pub orig_ts: u64,
    pub recv_ts: u64,
    pub xmit_ts: u64,
    /// Modes 6 and 7.
    pub control: Option<Control>,
    /// Bytes after the fixed header (extensions, MAC, control data).
    pub rest: &'a [u8],
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.mode as u16
    }
}

impl Message<'_> {
    /// A mode 7 monlist request (amplification probe).
    pub fn is_monlist(&self) -> bool {
        self.mode == 7
            && self
                .control
                .is_some_and(|c| matches!(c.code, MON_GETLIST | MON_GETLIST_1))
    }
}

/// Parses one packet.
pub fn parse(b: &[u8]) -> Result<Message<'_>, Error> {
    let first = *b.first().ok_or(Error::Short {
        mode: 0,
        len: 0,
        need: 1,
    })?;
    let (li, version, mode) = (first >> 6, (first >> 3) & 7, first & 7);
    if version == 0 || version > 4 {
        return Err(Error::BadVersion(version));
    }
    let need = match mode {
        6 => 12,
        7 => 8,
        _ => HEADER_LEN,
    };
    if b.len() < need {
        return Err(Error::Short {
            mode,
            len: b.len(),
            need,
        });
    }
    let mut m = Message {
        li,
        version,
        mode,
        stratum: 0,
        poll: 0,
        precision: 0,
        root_delay: 0,
        root_dispersion: 0,
        ref_id: [0; 4],
        ref_ts: 0,
        orig_ts: 0,
        recv_ts: 0,
        xmit_ts: 0,
        control: None,
        rest: &b[need..],
    };
    match mode {
        6 => {
            m.control = Some(Control {
                response: b[1] & 0x80 != 0,
                code: b[1] & 0x1f,
                implementation: b[7],
                sequence: u16::from_be_bytes([b[2], b[3]]),
                status: u16::from_be_bytes([b[4], b[5]]),
            });
        }
        7 => {
            m.control = Some(Control {
                response: first & 0x80 != 0,
                code: b[3],
                implementation: b[2],
                sequence: (b[1] & 0x7f) as u16,
                status: u16::from_be_bytes([b[4], b[5]]),
            });
            // In mode 7 the top bits are R/M, not the leap indicator.
            m.li = 0;
        }
        _ => {
            let mut c = Cursor::new(&b[1..]);
            let be64 = |c: &mut Cursor| -> u64 {
                let h = c.be32().unwrap_or(0) as u64;
                (h << 32) | c.be32().unwrap_or(0) as u64
            };
            m.stratum = c.u8().unwrap_or(0);
            m.poll = c.u8().unwrap_or(0) as i8;
            m.precision = c.u8().unwrap_or(0) as i8;
            m.root_delay = c.be32().unwrap_or(0);
            m.root_dispersion = c.be32().unwrap_or(0);
            m.ref_id = c.take(4).and_then(|r| r.try_into().ok()).unwrap_or([0; 4]);
            m.ref_ts = be64(&mut c);
            m.orig_ts = be64(&mut c);
            m.recv_ts = be64(&mut c);
            m.xmit_ts = be64(&mut c);
        }
    }
    Ok(m)
}

/// Mode names.
pub fn mode_name(m: u8) -> &'static str {
    match m {
        0 => "reserved",
        1 => "symmetric_active",
        2 => "symmetric_passive",
        3 => "client",
        4 => "server",
        5 => "broadcast",
        6 => "control",
        _ => "private",
    }
}

/// Request for client/symmetric active/control or private requests, response
/// for server/broadcast/symmetric passive and control/private responses.
pub fn kind(m: &Message<'_>) -> MsgKind {
    match m.mode {
        1 | 3 => MsgKind::Request,
        2 | 4 | 5 => MsgKind::Response,
        6 | 7 if m.control.is_some_and(|c| c.response) => MsgKind::Response,
        6 | 7 => MsgKind::Request,
        _ => MsgKind::Other,
    }
}

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 123)];

/// No content probe: 48 bytes with a version nibble are too weak a signature.
pub fn probe(_transport: Transport, _data: &[u8]) -> bool {
    false
}

/// Per-flow state (none needed).
#[derive(Debug, Default)]
pub struct Session {}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        match parse(data) {
            Ok(m) => cx.message(kind(&m), crate::Message::Ntp(m)),
            Err(e) => {
                let fc = data.first().map(|b| (b & 7) as u16);
                cx.malformed(Proto::Ntp, e.code(), &e, fc, data)
            }
        }
        data.len()
    }
    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

#[cfg(test)]
mod tests;
