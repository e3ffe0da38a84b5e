//! MELSEC frames: SLMP / MC protocol 3E and 4E binary frames (Mitsubishi
//! "SLMP Reference Manual", SH-080956ENG) and the MELSOFT engineering frames
//! of GX Works (layout from Nozomi Networks' public MELSOFT dissector, Black
//! Hat MEA 2023). SLMP integers are little-endian; MELSOFT command codes are
//! big-endian.

use crate::wire::{Cursor, le16_at};

/// Largest frame waited for on a stream.
pub const MAX_FRAME: usize = 8192;

/// MELSOFT header length (magic to the size field).
pub const MELSOFT_HDR: usize = 0x15;

/// Which framing a frame uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// SLMP / MC protocol 3E binary frame.
    Slmp3e,
    /// SLMP / MC protocol 4E binary frame (with serial number).
    Slmp4e,
    /// MELSOFT engineering protocol (GX Works).
    Melsoft,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Slmp3e => "3e",
            Format::Slmp4e => "4e",
            Format::Melsoft => "melsoft",
        }
    }
}

pub fn command_name(c: u16) -> &'static str {
    match c {
        0x0101 => "read_cpu_model",
        0x0401 => "batch_read",
        0x1401 => "batch_write",
        0x0403 => "random_read",
        0x1402 => "random_write",
        0x0406 => "block_read",
        0x1406 => "block_write",
        0x0801 => "monitor_register",
        0x0802 => "monitor",
        0x1001 => "remote_run",
        0x1002 => "remote_stop",
        0x1003 => "remote_pause",
        0x1005 => "remote_latch_clear",
        0x1006 => "remote_reset",
        0x1630 => "remote_password_unlock",
        0x1631 => "remote_password_lock",
        0x0619 => "self_test",
        0x1617 => "clear_error",
        0x1801..=0x18ff => "file",
        _ => "other",
    }
}

/// MELSOFT command names (public MELSOFT dissector).
pub fn melsoft_command_name(c: u16) -> &'static str {
    match c {
        0x0121 => "open_initial",
        0x0131 => "username_login",
        0x0132 => "password_login",
        0x0133 | 0x0134 => "read_user_information",
        0x0150 => "safety_run_mode_read",
        0x0410 | 0x0411 | 0x0413 => "device_access",
        0x1001 => "remote_run",
        0x1002 => "remote_stop",
        0x1003 => "remote_pause",
        0x1006 => "remote_reset",
        0x1120 => "safety_run_mode_change",
        0x1133 => "user_information_registration",
        0x1859 => "file_list_read",
        0x1868 => "file_read",
        0x1869 => "file_write",
        _ => "other",
    }
}

pub fn device_name(code: u16) -> &'static str {
    match code {
        0x9c => "X",
        0x9d => "Y",
        0x90 => "M",
        0x92 => "L",
        0x93 => "F",
        0x94 => "V",
        0xa0 => "B",
        0xa8 => "D",
        0xb4 => "W",
        0xc2 => "TN",
        0xc1 => "TS",
        0xc0 => "TC",
        0xc5 => "CN",
        0xc4 => "CS",
        0xc3 => "CC",
        0xaf => "R",
        0xb0 => "ZR",
        0x91 => "SM",
        0xa9 => "SD",
        0xcc => "Z",
        _ => "other",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The first bytes are no known subheader.
    BadSubheader(u16),
    /// Data length outside what a frame can carry.
    BadLength { format: Format, length: u16 },
    /// A request shorter than its command needs.
    ShortRequest {
        command: u16,
        len: usize,
        need: usize,
    },
    /// Device access whose data disagrees with the number of points.
    PointsMismatch {
        command: u16,
        points: u16,
        bytes: usize,
    },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadSubheader(_) => "bad_subheader",
            Error::BadLength { .. } => "bad_length",
            Error::ShortRequest { .. } => "short_request",
            Error::PointsMismatch { .. } => "points_mismatch",
        }
    }
    pub fn command(&self) -> Option<u16> {
        match *self {
            Error::ShortRequest { command, .. } | Error::PointsMismatch { command, .. } => {
                Some(command)
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::BadSubheader(s) => write!(
                f,
                "subheader 0x{s:04x} is none of 5000/d000 (3E), 5400/d400 (4E), 57xx/d7xx (MELSOFT)"
            ),
            Error::BadLength { format, length } => write!(
                f,
                "{} frame data length {length} is outside 2..={MAX_FRAME}",
                format.name()
            ),
            Error::ShortRequest { command, len, need } => write!(
                f,
                "command 0x{command:04x} request data is {len} bytes, at least {need} expected"
            ),
            Error::PointsMismatch {
                command,
                points,
                bytes,
            } => write!(
                f,
                "command 0x{command:04x} writes {points} points but carries {bytes} data bytes"
            ),
        }
    }
}

/// The frame kind and total length at `b`, once enough bytes are present.
/// Returns `(format, is_response, header_len, total_len)`.
pub fn frame_len(b: &[u8]) -> Result<Option<(Format, bool, usize, usize)>, Error> {
    let (Some(&s0), Some(&s1)) = (b.first(), b.get(1)) else {
        return Ok(None);
    };
    let (format, resp, len_off) = match (s0, s1) {
        (0x50, 0x00) => (Format::Slmp3e, false, 7),
        (0xd0, 0x00) => (Format::Slmp3e, true, 7),
        (0x54, 0x00) => (Format::Slmp4e, false, 11),
        (0xd4, 0x00) => (Format::Slmp4e, true, 11),
        (0x57, _) => (Format::Melsoft, false, 0x13),
        (0xd7, _) => (Format::Melsoft, true, 0x13),
        _ => return Err(Error::BadSubheader(u16::from_be_bytes([s0, s1]))),
    };
    if format == Format::Slmp4e && b.len() >= 6 && (b[4] != 0 || b[5] != 0) {
        return Err(Error::BadSubheader(u16::from_be_bytes([s0, s1])));
    }
    let Some(length) = le16_at(b, len_off) else {
        return Ok(None);
    };
    let hdr = len_off + 2;
    let min = match format {
        Format::Melsoft if resp => 0x1a + 6,
        Format::Melsoft => 0x18 + 6,
        _ => 2,
    };
    if (length as usize) < min || hdr + length as usize > MAX_FRAME {
        return Err(Error::BadLength { format, length });
    }
    Ok(Some((format, resp, hdr, hdr + length as usize)))
}

/// Routing fields of an SLMP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Route {
    pub network: u8,
    pub station: u8,
    pub module_io: u16,
    pub multidrop: u8,
}

/// Device access (batch read/write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    pub code: u16,
    pub head: u32,
    pub points: u16,
}

/// A parsed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub format: Format,
    pub response: bool,
    /// 4E serial number.
    pub serial: Option<u16>,
    pub route: Route,
    /// SLMP monitoring timer (requests).
    pub timer: Option<u16>,
    /// Command (requests; MELSOFT responses too).
    pub command: Option<u16>,
    pub subcommand: Option<u16>,
    /// SLMP end code / MELSOFT status (responses).
    pub end_code: Option<u16>,
    pub device: Option<Device>,
    /// MELSOFT packet reference.
    pub reference: Option<u16>,
    pub data: &'a [u8],
}

/// Parses one whole frame (`b` holds exactly `total_len` bytes).
pub fn parse(b: &[u8]) -> Result<Frame<'_>, Error> {
    let (format, response, _, _) = frame_len(b)?.ok_or(Error::BadSubheader(0))?;
    if format == Format::Melsoft {
        return parse_melsoft(b, response);
    }
    let mut c = Cursor::new(b);
    let _ = c.skip(2);
    let serial = if format == Format::Slmp4e {
        let s = c.le16();
        let _ = c.skip(2);
        s
    } else {
        None
    };
    let route = Route {
        network: c.u8().unwrap_or(0),
        station: c.u8().unwrap_or(0),
        module_io: c.le16().unwrap_or(0),
        multidrop: c.u8().unwrap_or(0),
    };
    let _len = c.le16();
    let mut f = Frame {
        format,
        response,
        serial,
        route,
        timer: None,
        command: None,
        subcommand: None,
        end_code: None,
        device: None,
        reference: None,
        data: &[],
    };
    if response {
        f.end_code = c.le16();
        f.data = c.rest();
        return Ok(f);
    }
    f.timer = c.le16();
    let command = c.le16().ok_or(Error::ShortRequest {
        command: 0,
        len: 2,
        need: 6,
    })?;
    f.command = Some(command);
    let sub = c.le16().ok_or(Error::ShortRequest {
        command,
        len: 4,
        need: 6,
    })?;
    f.subcommand = Some(sub);
    let d = c.rest();
    f.data = d;
    if command == 0x0401 || command == 0x1401 {
        // Q/L device spec: head (3) + code (1); iQ-R (subcommand 2/3): head (4) + code (2).
        let iqr = sub & 0x0002 != 0;
        let need = if iqr { 8 } else { 6 };
        if d.len() < need {
            return Err(Error::ShortRequest {
                command,
                len: d.len(),
                need,
            });
        }
        let dev = if iqr {
            Device {
                head: u32::from_le_bytes([d[0], d[1], d[2], d[3]]),
                code: u16::from_le_bytes([d[4], d[5]]),
                points: u16::from_le_bytes([d[6], d[7]]),
            }
        } else {
            Device {
                head: u32::from_le_bytes([d[0], d[1], d[2], 0]),
                code: d[3] as u16,
                points: u16::from_le_bytes([d[4], d[5]]),
            }
        };
        f.device = Some(dev);
        if command == 0x1401 {
            let bytes = d.len() - need;
            let words = sub & 0x0001 == 0;
            let expected = if words {
                2 * dev.points as usize
            } else {
                (dev.points as usize).div_ceil(2)
            };
            if bytes != expected {
                return Err(Error::PointsMismatch {
                    command,
                    points: dev.points,
                    bytes,
                });
            }
        }
    }
    Ok(f)
}

fn parse_melsoft(b: &[u8], response: bool) -> Result<Frame<'_>, Error> {
    // Command header: 0x18 bytes (requests) or 0x1a bytes (responses, status at +4).
    let cmd_off = MELSOFT_HDR + if response { 0x1a } else { 0x18 };
    let short = Error::ShortRequest {
        command: 0,
        len: b.len(),
        need: cmd_off + 6,
    };
    let command = crate::wire::be16_at(b, cmd_off).ok_or(short)?;
    let reference = le16_at(b, cmd_off + 2).ok_or(short)?;
    let end_code = if response {
        crate::wire::be16_at(b, MELSOFT_HDR + 4)
    } else {
        None
    };
    Ok(Frame {
        format: Format::Melsoft,
        response,
        serial: None,
        route: Route {
            network: b.get(9).copied().unwrap_or(0),
            station: b.get(10).copied().unwrap_or(0),
            module_io: crate::wire::be16_at(b, 11).unwrap_or(0),
            multidrop: 0,
        },
        timer: None,
        command: Some(command),
        subcommand: None,
        end_code,
        device: None,
        reference: Some(reference),
        data: b.get(cmd_off + 6..).unwrap_or(&[]),
    })
}

/// Read CPU model (0x0101) response data: model name (16 ASCII) and code.
pub fn cpu_model(d: &[u8]) -> Option<(&[u8], u16)> {
    Some((d.get(..16)?, le16_at(d, 16)?))
}
