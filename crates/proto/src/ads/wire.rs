//! AMS/TCP, AMS and ADS command bodies; the UDP discovery (port 48899) frame.
//!
//! Reference: Beckhoff Information System, "ADS specification" (TE1000):
//! AMS/TCP header, AMS header, ADS commands 1-9, ADS states. All integers are
//! little-endian.

use crate::wire::Cursor;

/// AMS/TCP header: 2 reserved bytes and the length of what follows.
pub const TCP_HDR: usize = 6;
/// AMS header.
pub const AMS_HDR: usize = 32;
/// Largest AMS packet waited for on a stream.
pub const MAX_AMS_LEN: u32 = 64 * 1024;
/// Discovery frame magic (`03 66 14 71`).
pub const DISCOVERY_MAGIC: u32 = 0x7114_6603;

/// ADS command ids.
pub mod cmd {
    pub const READ_DEVICE_INFO: u16 = 1;
    pub const READ: u16 = 2;
    pub const WRITE: u16 = 3;
    pub const READ_STATE: u16 = 4;
    pub const WRITE_CONTROL: u16 = 5;
    pub const ADD_NOTIFICATION: u16 = 6;
    pub const DELETE_NOTIFICATION: u16 = 7;
    pub const NOTIFICATION: u16 = 8;
    pub const READ_WRITE: u16 = 9;
}

pub fn command_name(c: u16) -> &'static str {
    match c {
        0 => "invalid",
        1 => "read_device_info",
        2 => "read",
        3 => "write",
        4 => "read_state",
        5 => "write_control",
        6 => "add_device_notification",
        7 => "delete_device_notification",
        8 => "device_notification",
        9 => "read_write",
        _ => "unknown",
    }
}

/// ADS state names (ADSSTATE).
pub fn state_name(s: u16) -> &'static str {
    match s {
        0 => "invalid",
        1 => "idle",
        2 => "reset",
        3 => "init",
        4 => "start",
        5 => "run",
        6 => "stop",
        7 => "savecfg",
        8 => "loadcfg",
        9 => "powerfailure",
        10 => "powergood",
        11 => "error",
        12 => "shutdown",
        13 => "suspend",
        14 => "resume",
        15 => "config",
        16 => "reconfig",
        _ => "unknown",
    }
}

/// Why a frame was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// AMS/TCP reserved field not zero.
    BadReserved(u16),
    /// AMS/TCP length below the AMS header or above the cap.
    BadLength(u32),
    /// AMS header data length disagrees with the AMS/TCP length.
    LengthMismatch { tcp: u32, ams: u32 },
    /// A command body shorter than its fixed fields.
    ShortBody {
        command: u16,
        len: usize,
        need: usize,
    },
    /// A length field inside a body disagrees with the bytes present.
    BodyLength {
        command: u16,
        announced: u32,
        actual: usize,
    },
    /// A datagram that is neither discovery nor a whole AMS packet.
    BadDiscovery { len: usize },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadReserved(_) => "bad_reserved",
            Error::BadLength(_) => "bad_length",
            Error::LengthMismatch { .. } => "length_mismatch",
            Error::ShortBody { .. } => "short_body",
            Error::BodyLength { .. } => "body_length",
            Error::BadDiscovery { .. } => "bad_discovery",
        }
    }
    pub fn command(&self) -> Option<u16> {
        match *self {
            Error::ShortBody { command, .. } | Error::BodyLength { command, .. } => Some(command),
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::BadReserved(r) => write!(f, "AMS/TCP reserved field is 0x{r:04x}, expected 0"),
            Error::BadLength(l) => write!(
                f,
                "AMS/TCP length is {l}, expected {AMS_HDR} to {MAX_AMS_LEN}"
            ),
            Error::LengthMismatch { tcp, ams } => write!(
                f,
                "AMS/TCP length {tcp} but AMS header announces {ams} data bytes (expected {})",
                tcp.saturating_sub(AMS_HDR as u32)
            ),
            Error::ShortBody { command, len, need } => write!(
                f,
                "ADS {} body is {len} bytes, at least {need} expected",
                command_name(command)
            ),
            Error::BodyLength {
                command,
                announced,
                actual,
            } => write!(
                f,
                "ADS {} announces {announced} data bytes, {actual} present",
                command_name(command)
            ),
            Error::BadDiscovery { len } => write!(
                f,
                "{len}-byte datagram is neither an ADS discovery frame (magic 03661471) nor an AMS packet"
            ),
        }
    }
}

/// AMS NetId (6 bytes, shown dotted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetId(pub [u8; 6]);

impl std::fmt::Display for NetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0;
        write!(f, "{}.{}.{}.{}.{}.{}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

fn netid(c: &mut Cursor<'_>) -> Option<NetId> {
    let b = c.take(6)?;
    Some(NetId([b[0], b[1], b[2], b[3], b[4], b[5]]))
}

/// AMS header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmsHeader {
    pub target: NetId,
    pub target_port: u16,
    pub source: NetId,
    pub source_port: u16,
    pub command: u16,
    pub state_flags: u16,
    pub length: u32,
    pub error_code: u32,
    pub invoke_id: u32,
}

impl AmsHeader {
    pub fn is_response(&self) -> bool {
        self.state_flags & 0x0001 != 0
    }
}

pub fn parse_header(b: &[u8]) -> Option<AmsHeader> {
    let mut c = Cursor::new(b);
    Some(AmsHeader {
        target: netid(&mut c)?,
        target_port: c.le16()?,
        source: netid(&mut c)?,
        source_port: c.le16()?,
        command: c.le16()?,
        state_flags: c.le16()?,
        length: c.le32()?,
        error_code: c.le32()?,
        invoke_id: c.le32()?,
    })
}

/// Length of the AMS/TCP frame starting at `b` (header included), once the
/// 6 header bytes are present; the AMS header is checked when present.
pub fn frame_len(b: &[u8]) -> Result<Option<usize>, Error> {
    let mut c = Cursor::new(b);
    let (Some(reserved), Some(len)) = (c.le16(), c.le32()) else {
        return Ok(None);
    };
    if reserved != 0 {
        return Err(Error::BadReserved(reserved));
    }
    if !(AMS_HDR as u32..=MAX_AMS_LEN).contains(&len) {
        return Err(Error::BadLength(len));
    }
    if let Some(h) = b.get(TCP_HDR..TCP_HDR + AMS_HDR).and_then(parse_header)
        && h.length != len - AMS_HDR as u32
    {
        return Err(Error::LengthMismatch {
            tcp: len,
            ams: h.length,
        });
    }
    Ok(Some(TCP_HDR + len as usize))
}

/// ADS command body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    Empty,
    /// Read / Write / ReadWrite / AddDeviceNotification request.
    Access {
        index_group: u32,
        index_offset: u32,
        /// Read length (Read, ReadWrite, notification) or write length (Write).
        length: u32,
        write_length: Option<u32>,
        data: &'a [u8],
    },
    /// WriteControl request.
    WriteControl {
        ads_state: u16,
        device_state: u16,
        data: &'a [u8],
    },
    /// DeleteDeviceNotification request.
    Handle {
        handle: u32,
    },
    /// DeviceNotification (stamps count).
    Notification {
        length: u32,
        stamps: u32,
    },
    /// Response carrying only a result.
    Result {
        result: u32,
    },
    /// ReadDeviceInfo response.
    DeviceInfo {
        result: u32,
        major: u8,
        minor: u8,
        build: u16,
        name: &'a [u8],
    },
    /// Read / ReadWrite response.
    Data {
        result: u32,
        data: &'a [u8],
    },
    /// ReadState response.
    State {
        result: u32,
        ads_state: u16,
        device_state: u16,
    },
    /// AddDeviceNotification response.
    NewHandle {
        result: u32,
        handle: u32,
    },
    /// Unknown command or an error response without body.
    Raw {
        data: &'a [u8],
    },
}

fn need(command: u16, d: &[u8], n: usize) -> Result<(), Error> {
    if d.len() < n {
        Err(Error::ShortBody {
            command,
            len: d.len(),
            need: n,
        })
    } else {
        Ok(())
    }
}

fn le32(d: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([d[off], d[off + 1], d[off + 2], d[off + 3]])
}
fn le16(d: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([d[off], d[off + 1]])
}

fn sized(command: u16, d: &[u8], announced: u32) -> Result<&[u8], Error> {
    if d.len() != announced as usize {
        return Err(Error::BodyLength {
            command,
            announced,
            actual: d.len(),
        });
    }
    Ok(d)
}

/// Parses the ADS body of a command (`d` = the AMS data).
pub fn parse_body<'a>(h: &AmsHeader, d: &'a [u8]) -> Result<Body<'a>, Error> {
    let c = h.command;
    if h.is_response() {
        if d.is_empty() && h.error_code != 0 {
            return Ok(Body::Raw { data: d });
        }
        return Ok(match c {
            cmd::READ_DEVICE_INFO => {
                need(c, d, 24)?;
                Body::DeviceInfo {
                    result: le32(d, 0),
                    major: d[4],
                    minor: d[5],
                    build: le16(d, 6),
                    name: &d[8..24],
                }
            }
            cmd::READ | cmd::READ_WRITE => {
                need(c, d, 4)?;
                if d.len() == 4 {
                    // An error result without data.
                    Body::Data {
                        result: le32(d, 0),
                        data: &[],
                    }
                } else {
                    need(c, d, 8)?;
                    let data = sized(c, &d[8..], le32(d, 4))?;
                    Body::Data {
                        result: le32(d, 0),
                        data,
                    }
                }
            }
            cmd::WRITE | cmd::WRITE_CONTROL | cmd::DELETE_NOTIFICATION => {
                need(c, d, 4)?;
                Body::Result { result: le32(d, 0) }
            }
            cmd::READ_STATE => {
                need(c, d, 8)?;
                Body::State {
                    result: le32(d, 0),
                    ads_state: le16(d, 4),
                    device_state: le16(d, 6),
                }
            }
            cmd::ADD_NOTIFICATION => {
                need(c, d, 8)?;
                Body::NewHandle {
                    result: le32(d, 0),
                    handle: le32(d, 4),
                }
            }
            _ => Body::Raw { data: d },
        });
    }
    Ok(match c {
        cmd::READ_DEVICE_INFO | cmd::READ_STATE => Body::Empty,
        cmd::READ => {
            need(c, d, 12)?;
            Body::Access {
                index_group: le32(d, 0),
                index_offset: le32(d, 4),
                length: le32(d, 8),
                write_length: None,
                data: &[],
            }
        }
        cmd::WRITE => {
            need(c, d, 12)?;
            let data = sized(c, &d[12..], le32(d, 8))?;
            Body::Access {
                index_group: le32(d, 0),
                index_offset: le32(d, 4),
                length: le32(d, 8),
                write_length: None,
                data,
            }
        }
        cmd::READ_WRITE => {
            need(c, d, 16)?;
            let data = sized(c, &d[16..], le32(d, 12))?;
            Body::Access {
                index_group: le32(d, 0),
                index_offset: le32(d, 4),
                length: le32(d, 8),
                write_length: Some(le32(d, 12)),
                data,
            }
        }
        cmd::WRITE_CONTROL => {
            need(c, d, 8)?;
            let data = sized(c, &d[8..], le32(d, 4))?;
            Body::WriteControl {
                ads_state: le16(d, 0),
                device_state: le16(d, 2),
                data,
            }
        }
        cmd::ADD_NOTIFICATION => {
            need(c, d, 24)?;
            Body::Access {
                index_group: le32(d, 0),
                index_offset: le32(d, 4),
                length: le32(d, 8),
                write_length: None,
                data: &[],
            }
        }
        cmd::DELETE_NOTIFICATION => {
            need(c, d, 4)?;
            Body::Handle { handle: le32(d, 0) }
        }
        cmd::NOTIFICATION => {
            need(c, d, 8)?;
            Body::Notification {
                length: le32(d, 0),
                stamps: le32(d, 4),
            }
        }
        _ => Body::Raw { data: d },
    })
}

/// A discovery (UDP 48899) frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Discovery<'a> {
    pub invoke_id: u32,
    pub service: u32,
    pub net_id: NetId,
    pub port: u16,
    pub hostname: Option<&'a [u8]>,
    /// TwinCAT version (major, minor, build).
    pub twincat: Option<(u8, u8, u16)>,
    /// OS version (major, minor, build, platform).
    pub os: Option<(u32, u32, u32, u32)>,
}

impl Discovery<'_> {
    pub fn is_response(&self) -> bool {
        self.service & 0x8000_0000 != 0
    }
}

/// Parses a discovery datagram; `None` if it does not start with the magic.
pub fn parse_discovery<'a>(b: &'a [u8]) -> Option<Result<Discovery<'a>, Error>> {
    let mut c = Cursor::new(b);
    if c.le32()? != DISCOVERY_MAGIC {
        return None;
    }
    let bad = Error::BadDiscovery { len: b.len() };
    let mut go = || -> Option<Discovery<'a>> {
        let mut d = Discovery {
            invoke_id: c.le32()?,
            service: c.le32()?,
            net_id: netid(&mut c)?,
            port: c.le16()?,
            hostname: None,
            twincat: None,
            os: None,
        };
        if c.is_empty() {
            return Some(d);
        }
        let n = c.le32()?;
        for _ in 0..n.min(64) {
            let tag = c.le16()?;
            let len = c.le16()?;
            let v = c.take(len as usize)?;
            match tag {
                5 => d.hostname = Some(v),
                3 if v.len() >= 4 => d.twincat = Some((v[0], v[1], le16(v, 2))),
                4 if v.len() >= 20 => {
                    d.os = Some((le32(v, 4), le32(v, 8), le32(v, 12), le32(v, 16)))
                }
                _ => {}
            }
        }
        Some(d)
    };
    Some(go().ok_or(bad))
}
