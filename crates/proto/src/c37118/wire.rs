//! IEEE C37.118.2-2011 frames: common header, command, configuration 1/2/3,
//! header and data frames, CRC-CCITT check. All integers are big-endian.

use crate::wire::Cursor;

/// SYNC, FRAMESIZE, IDCODE, SOC, FRACSEC.
pub const HDR_LEN: usize = 14;
/// Smallest frame: header and CHK (a data frame always has more, a command 18).
pub const MIN_FRAME: usize = HDR_LEN + 2;

pub mod frame_type {
    pub const DATA: u8 = 0;
    pub const HEADER: u8 = 1;
    pub const CFG1: u8 = 2;
    pub const CFG2: u8 = 3;
    pub const COMMAND: u8 = 4;
    pub const CFG3: u8 = 5;
}

pub fn frame_type_name(t: u8) -> &'static str {
    match t {
        0 => "data",
        1 => "header",
        2 => "config1",
        3 => "config2",
        4 => "command",
        5 => "config3",
        _ => "reserved",
    }
}

pub fn command_name(c: u16) -> &'static str {
    match c {
        1 => "turn_off_transmission",
        2 => "turn_on_transmission",
        3 => "send_header",
        4 => "send_config1",
        5 => "send_config2",
        6 => "send_config3",
        8 => "extended_frame",
        _ => "reserved",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// First byte is not 0xAA.
    BadSync(u8),
    /// Frame type 6 or 7 (reserved).
    BadFrameType(u8),
    /// FRAMESIZE below the minimum for the frame type.
    BadFrameSize { frame_type: u8, size: u16 },
    /// CHK does not match the CRC-CCITT of the frame.
    BadChecksum { expected: u16, seen: u16 },
    /// A configuration frame whose PMU blocks run past the frame.
    ConfigTruncated { pmu: u16, num_pmu: u16 },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadSync(_) => "bad_sync",
            Error::BadFrameType(_) => "bad_frame_type",
            Error::BadFrameSize { .. } => "bad_frame_size",
            Error::BadChecksum { .. } => "bad_checksum",
            Error::ConfigTruncated { .. } => "config_truncated",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::BadSync(b) => write!(f, "SYNC byte is 0x{b:02x}, expected 0xaa"),
            Error::BadFrameType(t) => write!(f, "frame type {t} is reserved (0-5 defined)"),
            Error::BadFrameSize { frame_type, size } => write!(
                f,
                "{} frame announces FRAMESIZE {size}, below its minimum",
                frame_type_name(frame_type)
            ),
            Error::BadChecksum { expected, seen } => write!(
                f,
                "CHK is 0x{seen:04x}, CRC-CCITT of the frame is 0x{expected:04x}"
            ),
            Error::ConfigTruncated { pmu, num_pmu } => write!(
                f,
                "configuration announces {num_pmu} PMUs, PMU {pmu} runs past the frame"
            ),
        }
    }
}

/// The common header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub frame_type: u8,
    pub version: u8,
    pub frame_size: u16,
    pub idcode: u16,
    pub soc: u32,
    pub fracsec: u32,
}

pub fn parse_header(b: &[u8]) -> Option<Header> {
    let mut c = Cursor::new(b);
    let _sync = c.u8()?;
    let t = c.u8()?;
    Some(Header {
        frame_type: (t >> 4) & 7,
        version: t & 0x0f,
        frame_size: c.be16()?,
        idcode: c.be16()?,
        soc: c.be32()?,
        fracsec: c.be32()?,
    })
}

fn min_size(frame_type: u8) -> u16 {
    match frame_type {
        frame_type::COMMAND => 18,
        frame_type::CFG1 | frame_type::CFG2 => 24,
        frame_type::DATA => 18,
        _ => MIN_FRAME as u16,
    }
}

/// Frame length announced by the 4 first bytes, checked for sanity.
pub fn frame_len(b: &[u8]) -> Result<Option<usize>, Error> {
    let (Some(&s), Some(&t)) = (b.first(), b.get(1)) else {
        return Ok(None);
    };
    if s != 0xaa {
        return Err(Error::BadSync(s));
    }
    if t & 0x80 != 0 || (t >> 4) & 7 > 5 {
        return Err(Error::BadFrameType((t >> 4) & 7));
    }
    let Some(size) = crate::wire::be16_at(b, 2) else {
        return Ok(None);
    };
    let ft = (t >> 4) & 7;
    if size < min_size(ft) {
        return Err(Error::BadFrameSize {
            frame_type: ft,
            size,
        });
    }
    Ok(Some(size as usize))
}

/// CRC-CCITT (polynomial 0x1021, initial 0xFFFF), as C37.118 CHK.
pub fn crc_ccitt(b: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &x in b {
        crc ^= (x as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Checks CHK of a whole frame.
pub fn check_crc(frame: &[u8]) -> Result<(), Error> {
    let n = frame.len();
    let seen = crate::wire::be16_at(frame, n.wrapping_sub(2)).unwrap_or(0);
    let expected = crc_ccitt(frame.get(..n.saturating_sub(2)).unwrap_or(&[]));
    if seen != expected {
        return Err(Error::BadChecksum { expected, seen });
    }
    Ok(())
}

/// Frame body by type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    Command {
        command: u16,
        extended: &'a [u8],
    },
    Config {
        time_base: u32,
        num_pmu: u16,
        /// Station name of the first PMU.
        station: Option<&'a [u8]>,
        /// IDCODE of the first PMU's data source.
        pmu_idcode: Option<u16>,
        phasors: u32,
        analogs: u32,
        digitals: u32,
        /// Rate of data transmission (frames per second, or negative: seconds per frame).
        data_rate: Option<i16>,
    },
    /// Configuration 3: only its header fields are decoded.
    Config3 {
        cont_idx: u16,
    },
    Header {
        text: &'a [u8],
    },
    /// Data frame: STAT of the first PMU.
    Data {
        stat: u16,
    },
    /// A sound frame whose body did not parse (a malformed event accompanies it).
    Invalid,
}

/// Parses a whole frame (CHK included, length already checked).
pub fn parse_body<'a>(h: &Header, frame: &'a [u8]) -> Result<Body<'a>, Error> {
    let end = frame.len().saturating_sub(2);
    let d = frame.get(HDR_LEN..end).unwrap_or(&[]);
    let mut c = Cursor::new(d);
    let trunc = |pmu, num_pmu| Error::ConfigTruncated { pmu, num_pmu };
    Ok(match h.frame_type {
        frame_type::COMMAND => Body::Command {
            command: c.be16().unwrap_or(0),
            extended: c.rest(),
        },
        frame_type::CFG1 | frame_type::CFG2 => {
            let time_base = c.be32().ok_or(trunc(0, 0))?;
            let num_pmu = c.be16().ok_or(trunc(0, 0))?;
            let (mut station, mut pmu_idcode) = (None, None);
            let (mut ph, mut an, mut dg) = (0u32, 0u32, 0u32);
            for i in 0..num_pmu {
                let stn = c.take(16).ok_or(trunc(i + 1, num_pmu))?;
                let id = c.be16().ok_or(trunc(i + 1, num_pmu))?;
                let _format = c.be16().ok_or(trunc(i + 1, num_pmu))?;
                let p = c.be16().ok_or(trunc(i + 1, num_pmu))? as usize;
                let a = c.be16().ok_or(trunc(i + 1, num_pmu))? as usize;
                let g = c.be16().ok_or(trunc(i + 1, num_pmu))? as usize;
                if i == 0 {
                    station = Some(stn);
                    pmu_idcode = Some(id);
                }
                ph += p as u32;
                an += a as u32;
                dg += g as u32;
                let names = 16 * (p + a + 16 * g);
                let units = 4 * (p + a + g);
                c.skip(names + units + 4).ok_or(trunc(i + 1, num_pmu))?;
            }
            let data_rate = c.be16().map(|r| r as i16);
            Body::Config {
                time_base,
                num_pmu,
                station,
                pmu_idcode,
                phasors: ph,
                analogs: an,
                digitals: dg,
                data_rate,
            }
        }
        frame_type::CFG3 => Body::Config3 {
            cont_idx: c.be16().unwrap_or(0),
        },
        frame_type::HEADER => Body::Header { text: d },
        _ => Body::Data {
            stat: c.be16().unwrap_or(0),
        },
    })
}
