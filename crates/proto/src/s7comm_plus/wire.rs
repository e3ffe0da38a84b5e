//! Pure parsing of the S7comm-plus frame header, integrity part and data
//! header (opcode, function, sequence number, session id).

use std::fmt;

use crate::wire::Cursor;

/// First byte of every S7comm-plus frame.
pub const PROTOCOL_ID: u8 = 0x72;

pub const OP_REQUEST: u8 = 0x31;
pub const OP_RESPONSE: u8 = 0x32;
pub const OP_NOTIFICATION: u8 = 0x33;
pub const OP_RESPONSE2: u8 = 0x02;

/// Why an S7comm-plus frame was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    BadProtocolId(u8),
    /// Fewer than the 4 header bytes (or the data header is cut).
    Truncated {
        need: usize,
        have: usize,
    },
    UnknownVersion(u8),
    /// The data length runs past the frame.
    BadDataLength {
        length: u16,
        available: usize,
    },
    UnknownOpcode(u8),
    /// A V3 integrity part whose digest runs past the data.
    BadIntegrity {
        digest_len: u8,
        available: usize,
    },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadProtocolId(_) => "bad_protocol_id",
            Error::Truncated { .. } => "truncated",
            Error::UnknownVersion(_) => "unknown_version",
            Error::BadDataLength { .. } => "bad_data_length",
            Error::UnknownOpcode(_) => "unknown_opcode",
            Error::BadIntegrity { .. } => "bad_integrity",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::BadProtocolId(b) => write!(f, "protocol id {b:#04x} (expected 0x72)"),
            Error::Truncated { need, have } => {
                write!(f, "frame of {have} bytes, at least {need} needed")
            }
            Error::UnknownVersion(v) => write!(
                f,
                "unknown protocol version {v:#04x} (expected 0x01, 0x02, 0x03, 0xfe or 0xff)"
            ),
            Error::BadDataLength { length, available } => write!(
                f,
                "data length {length} exceeds the {available} bytes after the header"
            ),
            Error::UnknownOpcode(o) => write!(
                f,
                "unknown opcode {o:#04x} (expected 0x31, 0x32, 0x33 or 0x02)"
            ),
            Error::BadIntegrity {
                digest_len,
                available,
            } => write!(
                f,
                "integrity digest of {digest_len} bytes exceeds the {available} data bytes"
            ),
        }
    }
}

/// The integrity part of a V3 frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Integrity<'a> {
    pub digest_len: u8,
    pub digest: &'a [u8],
}

/// One S7comm-plus frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub version: u8,
    /// Data length of the header (absent on V 0xff keep-alives).
    pub data_length: Option<u16>,
    /// The frame ends with the 4-byte trailer (a frame without one starts or
    /// continues a fragmented PDU).
    pub has_trailer: bool,
    pub integrity: Option<Integrity<'a>>,
    /// `None` on keep-alives (versions 0xfe and 0xff).
    pub opcode: Option<u8>,
    /// Function code (0 on notifications and keep-alives).
    pub function: u16,
    pub sequence: Option<u16>,
    /// Requests: the session id.
    pub session_id: Option<u32>,
    pub transport_flags: Option<u8>,
    /// Notifications: the subscription object id.
    pub subscription_id: Option<u32>,
    /// Keep-alive sequence number (version 0xff).
    pub keepalive_seq: Option<u8>,
    /// The data part after the fields above.
    pub data: &'a [u8],
}

/// Header, integrity part and trailer only: enough to follow fragments.
pub fn parse_frame(b: &[u8]) -> Result<Frame<'_>, Error> {
    let mut c = Cursor::new(b);
    let id = c.u8().ok_or(Error::Truncated { need: 4, have: 0 })?;
    if id != PROTOCOL_ID {
        return Err(Error::BadProtocolId(id));
    }
    if b.len() < 4 {
        return Err(Error::Truncated {
            need: 4,
            have: b.len(),
        });
    }
    let version = c.u8().unwrap_or(0);
    let mut f = Frame {
        version,
        data_length: None,
        has_trailer: true,
        integrity: None,
        opcode: None,
        function: 0,
        sequence: None,
        session_id: None,
        transport_flags: None,
        subscription_id: None,
        keepalive_seq: None,
        data: &[],
    };
    match version {
        0xff => {
            f.keepalive_seq = c.u8();
            f.data = c.rest().get(1..).unwrap_or(&[]);
            return Ok(f);
        }
        0x01 | 0x02 | 0x03 | 0xfe => {}
        v => return Err(Error::UnknownVersion(v)),
    }
    let dlen = c.be16().unwrap_or(0);
    f.data_length = Some(dlen);
    let available = c.remaining();
    let data = c.take(dlen as usize).ok_or(Error::BadDataLength {
        length: dlen,
        available,
    })?;
    // Keep-alives (0xfe) have no trailer and are never fragmented.
    f.has_trailer = version == 0xfe || c.remaining() >= 4;
    f.data = data;
    if version == 0x03 {
        let mut d = Cursor::new(data);
        let n = d.u8().ok_or(Error::BadIntegrity {
            digest_len: 0,
            available: 0,
        })?;
        let digest = d.take(n as usize).ok_or(Error::BadIntegrity {
            digest_len: n,
            available: data.len().saturating_sub(1),
        })?;
        f.integrity = Some(Integrity {
            digest_len: n,
            digest,
        });
        f.data = d.rest();
    }
    Ok(f)
}

/// Parses one frame that starts a PDU: header, integrity part and the data
/// header.
pub fn parse(b: &[u8]) -> Result<Frame<'_>, Error> {
    let mut f = parse_frame(b)?;
    if f.version >= 0xfe {
        return Ok(f);
    }
    let data = f.data;
    let mut c = Cursor::new(data);
    let short = |need: usize| Error::Truncated {
        need,
        have: data.len(),
    };
    let op = c.u8().ok_or(short(1))?;
    match op {
        OP_NOTIFICATION => {
            f.opcode = Some(op);
            f.subscription_id = c.be32();
        }
        OP_REQUEST | OP_RESPONSE | OP_RESPONSE2 => {
            f.opcode = Some(op);
            c.skip(2).ok_or(short(3))?;
            f.function = c.be16().ok_or(short(5))?;
            c.skip(2).ok_or(short(7))?;
            f.sequence = Some(c.be16().ok_or(short(9))?);
            if op == OP_REQUEST {
                f.session_id = c.be32();
            }
            f.transport_flags = c.u8();
        }
        o => return Err(Error::UnknownOpcode(o)),
    }
    f.data = c.rest();
    Ok(f)
}

pub fn version_name(v: u8) -> &'static str {
    match v {
        0x01 => "V1",
        0x02 => "V2",
        0x03 => "V3",
        0xfe => "extended keep-alive",
        0xff => "keep-alive",
        _ => "unknown",
    }
}

pub fn opcode_name(o: u8) -> &'static str {
    match o {
        OP_REQUEST => "Request",
        OP_RESPONSE => "Response",
        OP_NOTIFICATION => "Notification",
        OP_RESPONSE2 => "Response2",
        _ => "unknown",
    }
}

pub fn function_name(f: u16) -> &'static str {
    match f {
        0x04b1 => "Error",
        0x04bb => "Explore",
        0x04ca => "CreateObject",
        0x04d4 => "DeleteObject",
        0x04f2 => "SetVariable",
        0x04fc => "GetVariable",
        0x0506 => "AddLink",
        0x051a => "RemoveLink",
        0x0524 => "GetLink",
        0x0542 => "SetMultiVariables",
        0x054c => "GetMultiVariables",
        0x0556 => "BeginSequence",
        0x0560 => "EndSequence",
        0x056b => "Invoke",
        0x057c => "SetVarSubStreamed",
        0x0586 => "GetVarSubStreamed",
        0x0590 => "GetVariablesAddress",
        0x059a => "Abort",
        _ => "unknown",
    }
}
