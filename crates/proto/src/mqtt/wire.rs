//! MQTT 3.1, 3.1.1 and 5.0 control packets: pure, zero-copy parsing.
//!
//! References: MQTT Version 3.1.1 (OASIS, 2014) and MQTT Version 5.0 (OASIS,
//! 2019). Passwords are never kept: only whether one is present.

use crate::wire::Cursor;

/// Largest remaining length the protocol allows (four varint bytes).
pub const MAX_REMAINING: u32 = 268_435_455;

/// Packet type names (index = type).
pub fn type_name(t: u8) -> &'static str {
    match t {
        1 => "CONNECT",
        2 => "CONNACK",
        3 => "PUBLISH",
        4 => "PUBACK",
        5 => "PUBREC",
        6 => "PUBREL",
        7 => "PUBCOMP",
        8 => "SUBSCRIBE",
        9 => "SUBACK",
        10 => "UNSUBSCRIBE",
        11 => "UNSUBACK",
        12 => "PINGREQ",
        13 => "PINGRESP",
        14 => "DISCONNECT",
        15 => "AUTH",
        _ => "reserved",
    }
}

/// Fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixed {
    pub msg_type: u8,
    pub flags: u8,
    pub remaining: u32,
    /// Bytes of the fixed header (2..=5).
    pub header_len: usize,
}

impl Fixed {
    pub fn total(&self) -> usize {
        self.header_len + self.remaining as usize
    }
}

/// Why a packet did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Remaining length varint longer than 4 bytes.
    BadRemainingLength,
    /// Packet type 0 is reserved.
    ReservedType,
    /// Fixed-header flags that the packet type forbids.
    BadFlags { msg_type: u8, flags: u8 },
    /// A field runs past the end of the packet.
    Truncated { msg_type: u8, field: &'static str },
    /// CONNECT with a protocol name other than MQTT / MQIsdp.
    BadProtocolName,
    /// Bytes left over after the fields of a packet with a fixed size.
    TrailingBytes { msg_type: u8, extra: usize },
    /// A packet announced larger than otwatch waits for (reported from its head).
    TooLarge { msg_type: u8, len: u32 },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRemainingLength => "bad_remaining_length",
            Error::ReservedType => "reserved_type",
            Error::BadFlags { .. } => "bad_flags",
            Error::Truncated { .. } => "truncated",
            Error::BadProtocolName => "bad_protocol_name",
            Error::TrailingBytes { .. } => "trailing_bytes",
            Error::TooLarge { .. } => "too_large",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::BadRemainingLength => {
                write!(f, "remaining length varint longer than 4 bytes")
            }
            Error::ReservedType => write!(f, "packet type 0 is reserved"),
            Error::BadFlags { msg_type, flags } => write!(
                f,
                "{}: fixed header flags 0x{flags:x} not allowed (expected 0x{:x})",
                type_name(*msg_type),
                expected_flags(*msg_type)
            ),
            Error::Truncated { msg_type, field } => write!(
                f,
                "{}: {field} runs past the end of the packet",
                type_name(*msg_type)
            ),
            Error::BadProtocolName => {
                write!(f, "CONNECT: protocol name is not \"MQTT\" or \"MQIsdp\"")
            }
            Error::TrailingBytes { msg_type, extra } => write!(
                f,
                "{}: {extra} bytes after the last field",
                type_name(*msg_type)
            ),
            Error::TooLarge { msg_type, len } => write!(
                f,
                "{}: remaining length {len} beyond what otwatch buffers; decoded from its head",
                type_name(*msg_type)
            ),
        }
    }
}

fn expected_flags(t: u8) -> u8 {
    match t {
        6 | 8 | 10 => 2,
        _ => 0,
    }
}

/// Parses the fixed header; `Ok(None)` when more bytes are needed.
pub fn parse_fixed(b: &[u8]) -> Result<Option<Fixed>, Error> {
    let Some(&b0) = b.first() else {
        return Ok(None);
    };
    let mut rem: u32 = 0;
    for i in 0..4 {
        let Some(&c) = b.get(1 + i) else {
            return Ok(None);
        };
        rem |= ((c & 0x7f) as u32) << (7 * i);
        if c & 0x80 == 0 {
            return Ok(Some(Fixed {
                msg_type: b0 >> 4,
                flags: b0 & 15,
                remaining: rem,
                header_len: 2 + i,
            }));
        }
    }
    Err(Error::BadRemainingLength)
}

/// Checks the type and flags of a fixed header.
pub fn check_fixed(h: &Fixed) -> Result<(), Error> {
    match h.msg_type {
        0 => Err(Error::ReservedType),
        3 if h.flags & 6 == 6 => Err(Error::BadFlags {
            msg_type: 3,
            flags: h.flags,
        }),
        3 => Ok(()),
        t if h.flags != expected_flags(t) => Err(Error::BadFlags {
            msg_type: t,
            flags: h.flags,
        }),
        _ => Ok(()),
    }
}

/// The variable header and payload of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    Connect {
        protocol_name: &'a [u8],
        level: u8,
        flags: u8,
        keep_alive: u16,
        client_id: &'a [u8],
        will_topic: Option<&'a [u8]>,
        username: Option<&'a [u8]>,
    },
    Connack {
        session_present: bool,
        code: u8,
    },
    Publish {
        topic: &'a [u8],
        packet_id: Option<u16>,
        payload_len: u32,
    },
    /// PUBACK, PUBREC, PUBREL, PUBCOMP.
    Ack {
        packet_id: u16,
        reason: Option<u8>,
    },
    /// SUBSCRIBE: `list` holds `count` (topic filter, options) entries.
    Subscribe {
        packet_id: u16,
        count: u16,
        list: &'a [u8],
    },
    /// UNSUBSCRIBE: `list` holds `count` topic filters.
    Unsubscribe {
        packet_id: u16,
        count: u16,
        list: &'a [u8],
    },
    /// SUBACK / UNSUBACK (v5): one return/reason code per topic.
    Suback {
        packet_id: u16,
        codes: &'a [u8],
    },
    /// PINGREQ, PINGRESP, DISCONNECT, AUTH: optional reason code (v5).
    Simple {
        reason: Option<u8>,
    },
    /// A packet that did not parse (reported as malformed too).
    Invalid,
}

struct Rd<'a> {
    c: Cursor<'a>,
    t: u8,
}

impl<'a> Rd<'a> {
    fn tr(&self, field: &'static str) -> Error {
        Error::Truncated {
            msg_type: self.t,
            field,
        }
    }
    fn u8(&mut self, f: &'static str) -> Result<u8, Error> {
        self.c.u8().ok_or(self.tr(f))
    }
    fn u16(&mut self, f: &'static str) -> Result<u16, Error> {
        self.c.be16().ok_or(self.tr(f))
    }
    fn str(&mut self, f: &'static str) -> Result<&'a [u8], Error> {
        let n = self.u16(f)? as usize;
        self.c.take(n).ok_or(self.tr(f))
    }
    fn varint(&mut self, f: &'static str) -> Result<u32, Error> {
        let mut v = 0u32;
        for i in 0..4 {
            let c = self.u8(f)?;
            v |= ((c & 0x7f) as u32) << (7 * i);
            if c & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.tr(f))
    }
    /// Skips v5 properties.
    fn props(&mut self) -> Result<(), Error> {
        let n = self.varint("properties")? as usize;
        self.c.take(n).ok_or(self.tr("properties")).map(|_| ())
    }
}

/// Parses the body of a packet. `b` is the remaining-length bytes (possibly
/// only the head of a PUBLISH when `head_only`); `version` is the protocol
/// level of the connection (5 enables properties).
pub fn parse_body<'a>(
    h: &Fixed,
    b: &'a [u8],
    version: u8,
    head_only: bool,
) -> Result<Body<'a>, Error> {
    check_fixed(h)?;
    let v5 = version >= 5;
    let mut r = Rd {
        c: Cursor::new(b),
        t: h.msg_type,
    };
    let body = match h.msg_type {
        1 => {
            let protocol_name = r.str("protocol name")?;
            if protocol_name != b"MQTT" && protocol_name != b"MQIsdp" {
                return Err(Error::BadProtocolName);
            }
            let level = r.u8("protocol level")?;
            let flags = r.u8("connect flags")?;
            let keep_alive = r.u16("keep alive")?;
            if level >= 5 {
                r.props()?;
            }
            let client_id = r.str("client id")?;
            let mut will_topic = None;
            if flags & 0x04 != 0 {
                if level >= 5 {
                    r.props()?;
                }
                will_topic = Some(r.str("will topic")?);
                r.str("will message")?;
            }
            let username = if flags & 0x80 != 0 {
                Some(r.str("user name")?)
            } else {
                None
            };
            if flags & 0x40 != 0 {
                r.str("password")?;
            }
            Body::Connect {
                protocol_name,
                level,
                flags,
                keep_alive,
                client_id,
                will_topic,
                username,
            }
        }
        2 => {
            let a = r.u8("acknowledge flags")?;
            let code = r.u8("return code")?;
            if v5 && !r.c.is_empty() {
                r.props()?;
            }
            Body::Connack {
                session_present: a & 1 != 0,
                code,
            }
        }
        3 => {
            let topic = r.str("topic")?;
            let packet_id = if h.flags & 6 != 0 {
                Some(r.u16("packet id")?)
            } else {
                None
            };
            if v5 {
                r.props()?;
            }
            let used = r.c.pos() as u32;
            let _ = head_only;
            let payload_len = h.remaining.saturating_sub(used);
            r.c = Cursor::new(&[]);
            Body::Publish {
                topic,
                packet_id,
                payload_len,
            }
        }
        4..=7 => {
            let packet_id = r.u16("packet id")?;
            let reason = if v5 && !r.c.is_empty() {
                Some(r.u8("reason code")?)
            } else {
                None
            };
            if v5 && !r.c.is_empty() {
                r.props()?;
            }
            Body::Ack { packet_id, reason }
        }
        8 | 10 => {
            let packet_id = r.u16("packet id")?;
            if v5 {
                r.props()?;
            }
            let list = r.c.rest();
            let mut count = 0u16;
            while !r.c.is_empty() {
                r.str("topic filter")?;
                if h.msg_type == 8 {
                    r.u8("subscription options")?;
                }
                count = count.saturating_add(1);
            }
            if count == 0 {
                return Err(r.tr("topic filter"));
            }
            if h.msg_type == 8 {
                Body::Subscribe {
                    packet_id,
                    count,
                    list,
                }
            } else {
                Body::Unsubscribe {
                    packet_id,
                    count,
                    list,
                }
            }
        }
        9 | 11 => {
            let packet_id = r.u16("packet id")?;
            if v5 {
                r.props()?;
            }
            let codes = r.c.rest();
            r.c = Cursor::new(&[]);
            Body::Suback { packet_id, codes }
        }
        12 | 13 => Body::Simple { reason: None },
        _ => {
            // DISCONNECT, AUTH: v5 reason code and properties.
            let reason = if !r.c.is_empty() {
                Some(r.u8("reason code")?)
            } else {
                None
            };
            if !r.c.is_empty() {
                r.props()?;
            }
            Body::Simple { reason }
        }
    };
    if !r.c.is_empty() && !head_only {
        return Err(Error::TrailingBytes {
            msg_type: h.msg_type,
            extra: r.c.remaining(),
        });
    }
    Ok(body)
}

/// Iterates the topic filters of a SUBSCRIBE (with requested QoS) or
/// UNSUBSCRIBE (QoS `None`) list.
pub struct Topics<'a> {
    c: Cursor<'a>,
    subscribe: bool,
}

impl<'a> Topics<'a> {
    pub fn new(list: &'a [u8], subscribe: bool) -> Self {
        Topics {
            c: Cursor::new(list),
            subscribe,
        }
    }
}

impl<'a> Iterator for Topics<'a> {
    type Item = (&'a [u8], Option<u8>);
    fn next(&mut self) -> Option<Self::Item> {
        let n = self.c.be16()? as usize;
        let t = self.c.take(n)?;
        let q = if self.subscribe {
            Some(self.c.u8()? & 3)
        } else {
            None
        };
        Some((t, q))
    }
}
