//! Pure parsing of TPKT headers (RFC 1006) and COTP TPDUs (ISO 8073).
//!
//! No state, no allocation, no panic: every read is bounds-checked.

use std::fmt;

use crate::wire::Cursor;

/// TPKT header length.
pub const TPKT_LEN: usize = 4;
/// Smallest TPKT that can hold a TPDU (header, LI, code, one more byte).
pub const MIN_TPKT_LEN: usize = 7;
/// Largest TSDU reassembled from DT TPDUs.
pub const MAX_TSDU: usize = 64 * 1024;

pub const CR: u8 = 0xe0;
pub const CC: u8 = 0xd0;
pub const DR: u8 = 0x80;
pub const DC: u8 = 0xc0;
pub const ER: u8 = 0x70;
pub const DT: u8 = 0xf0;
pub const ED: u8 = 0x10;
pub const AK: u8 = 0x60;
pub const EA: u8 = 0x20;
pub const RJ: u8 = 0x50;

/// Name of a TPDU type (the code byte with its low nibble cleared).
pub fn tpdu_name(t: u8) -> &'static str {
    match t {
        CR => "CR",
        CC => "CC",
        DR => "DR",
        DC => "DC",
        ER => "ER",
        DT => "DT",
        ED => "ED",
        AK => "AK",
        EA => "EA",
        RJ => "RJ",
        _ => "unknown",
    }
}

/// Why a TPKT or TPDU was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// TPKT version (expected 3) or reserved byte (expected 0) wrong.
    BadTpktVersion { version: u8, reserved: u8 },
    /// TPKT length below the minimum.
    BadTpktLength(u16),
    /// The COTP length indicator does not fit the TPKT payload.
    BadLengthIndicator { li: u8, available: usize },
    /// The fixed part of a TPDU is shorter than its type requires.
    TruncatedTpdu { tpdu: u8, li: u8, need: u8 },
    /// A TPDU code that ISO 8073 does not define.
    UnknownTpdu(u8),
    /// A variable-part parameter runs past the header.
    BadParameter { code: u8, len: u8, left: usize },
    /// DT TPDUs without EOT accumulated more than [`MAX_TSDU`] bytes.
    TsduTooLong(usize),
}

impl Error {
    /// Stable snake_case code for malformed events.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadTpktVersion { .. } => "bad_tpkt_version",
            Error::BadTpktLength(_) => "bad_tpkt_length",
            Error::BadLengthIndicator { .. } => "bad_length_indicator",
            Error::TruncatedTpdu { .. } => "truncated_tpdu",
            Error::UnknownTpdu(_) => "unknown_tpdu",
            Error::BadParameter { .. } => "bad_parameter",
            Error::TsduTooLong(_) => "tsdu_too_long",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::BadTpktVersion { version, reserved } => write!(
                f,
                "TPKT version {version} reserved {reserved:#04x} (expected version 3, reserved 0)"
            ),
            Error::BadTpktLength(n) => {
                write!(f, "TPKT length {n} below the minimum of {MIN_TPKT_LEN}")
            }
            Error::BadLengthIndicator { li, available } => write!(
                f,
                "COTP length indicator {li} does not fit the {available} bytes after it (or is 0/255)"
            ),
            Error::TruncatedTpdu { tpdu, li, need } => write!(
                f,
                "{} TPDU with length indicator {li}, its fixed part needs at least {need}",
                tpdu_name(tpdu)
            ),
            Error::UnknownTpdu(c) => write!(f, "unknown COTP TPDU code {c:#04x}"),
            Error::BadParameter { code, len, left } => write!(
                f,
                "COTP parameter {code:#04x} of length {len} runs past the header ({left} bytes left)"
            ),
            Error::TsduTooLong(n) => write!(
                f,
                "DT TPDUs without end-of-TSDU reached {n} bytes (limit {MAX_TSDU})"
            ),
        }
    }
}

/// The TPKT length field when `b` starts with a TPKT header (version 3,
/// reserved 0), whatever the length; `None` when fewer than 4 bytes.
#[inline]
pub fn tpkt_header(b: &[u8]) -> Option<Result<usize, Error>> {
    let h = b.get(..TPKT_LEN)?;
    if h[0] != 3 || h[1] != 0 {
        return Some(Err(Error::BadTpktVersion {
            version: h[0],
            reserved: h[1],
        }));
    }
    let n = u16::from_be_bytes([h[2], h[3]]);
    if (n as usize) < MIN_TPKT_LEN {
        return Some(Err(Error::BadTpktLength(n)));
    }
    Some(Ok(n as usize))
}

/// One COTP TPDU (the payload of one TPKT).
#[derive(Clone, Copy, Debug)]
pub enum Tpdu<'a> {
    /// Data: a piece of a TSDU; `eot` marks its last piece.
    Data { eot: bool, nr: u8, data: &'a [u8] },
    /// Any other TPDU: a connection-management message.
    Control(Control<'a>),
}

/// A connection-management TPDU (CR, CC, DR, DC, ER, and the class 1-4
/// TPDUs ED, AK, EA, RJ reported with their references only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control<'a> {
    /// TPDU type: the code byte with the low nibble cleared (0xE0 = CR).
    pub tpdu_type: u8,
    /// Low nibble of the code byte (credit on CR/CC/AK/RJ).
    pub credit: u8,
    pub dst_ref: u16,
    pub src_ref: Option<u16>,
    /// Protocol class (CR/CC).
    pub class: Option<u8>,
    /// Option bits of the class byte (CR/CC).
    pub options: Option<u8>,
    /// DR reason or ER reject cause.
    pub reason: Option<u8>,
    /// Calling TSAP (parameter 0xC1).
    pub calling_tsap: Option<&'a [u8]>,
    /// Called TSAP (parameter 0xC2).
    pub called_tsap: Option<&'a [u8]>,
    /// Maximum TPDU size in bytes (parameter 0xC0, 2^value).
    pub tpdu_size: Option<u32>,
    /// Raw variable part.
    pub params: &'a [u8],
    /// User data after the header (CR/CC/DR may carry some).
    pub user_data: &'a [u8],
}

/// Rack and slot of an S7 TSAP (2 bytes, second byte = rack << 5 | slot).
pub fn rack_slot(tsap: &[u8]) -> Option<(u8, u8)> {
    match *tsap {
        [_, b] => Some((b >> 5, b & 0x1f)),
        _ => None,
    }
}

/// Parses the payload of one TPKT (everything after the 4-byte header).
pub fn parse_tpdu(b: &[u8]) -> Result<Tpdu<'_>, Error> {
    let li = *b.first().ok_or(Error::BadLengthIndicator {
        li: 0,
        available: 0,
    })?;
    let available = b.len() - 1;
    if li == 0 || li == 255 || li as usize > available {
        return Err(Error::BadLengthIndicator { li, available });
    }
    let hdr = &b[1..=li as usize];
    let user_data = &b[1 + li as usize..];
    let code = hdr[0];
    let t = code & 0xf0;
    let need = |n: u8| {
        if li < n {
            Err(Error::TruncatedTpdu {
                tpdu: t,
                li,
                need: n,
            })
        } else {
            Ok(())
        }
    };
    let mut c = Cursor::new(&hdr[1..]);
    let mut ctl = Control {
        tpdu_type: t,
        credit: code & 0x0f,
        dst_ref: 0,
        src_ref: None,
        class: None,
        options: None,
        reason: None,
        calling_tsap: None,
        called_tsap: None,
        tpdu_size: None,
        params: &[],
        user_data,
    };
    match t {
        DT => {
            need(2)?;
            // Class 0/1 normal format: code, EOT|NR. Classes 2-4: code,
            // dst-ref (2), EOT|NR.
            let nr_byte = if li >= 4 { hdr[3] } else { hdr[1] };
            return Ok(Tpdu::Data {
                eot: nr_byte & 0x80 != 0,
                nr: nr_byte & 0x7f,
                data: user_data,
            });
        }
        CR | CC => {
            need(6)?;
            ctl.dst_ref = c.be16().unwrap_or(0);
            ctl.src_ref = c.be16();
            let co = c.u8().unwrap_or(0);
            ctl.class = Some(co >> 4);
            ctl.options = Some(co & 0x0f);
        }
        DR => {
            need(6)?;
            ctl.dst_ref = c.be16().unwrap_or(0);
            ctl.src_ref = c.be16();
            ctl.reason = c.u8();
        }
        DC => {
            need(5)?;
            ctl.dst_ref = c.be16().unwrap_or(0);
            ctl.src_ref = c.be16();
        }
        ER => {
            need(4)?;
            ctl.dst_ref = c.be16().unwrap_or(0);
            ctl.reason = c.u8();
        }
        ED | AK | EA | RJ => {
            need(3)?;
            ctl.dst_ref = c.be16().unwrap_or(0);
        }
        _ => return Err(Error::UnknownTpdu(code)),
    }
    let params = c.rest();
    ctl.params = params;
    let mut p = Cursor::new(params);
    while !p.is_empty() {
        let code = p.u8().unwrap_or(0);
        let Some(len) = p.u8() else {
            return Err(Error::BadParameter {
                code,
                len: 0,
                left: 0,
            });
        };
        let left = p.remaining();
        let v = p
            .take(len as usize)
            .ok_or(Error::BadParameter { code, len, left })?;
        match code {
            0xc0 => ctl.tpdu_size = v.first().filter(|&&e| e < 32).map(|&e| 1u32 << e),
            0xc1 => ctl.calling_tsap = Some(v),
            0xc2 => ctl.called_tsap = Some(v),
            _ => {}
        }
    }
    Ok(Tpdu::Control(ctl))
}
