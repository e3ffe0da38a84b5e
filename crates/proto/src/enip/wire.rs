//! EtherNet/IP encapsulation: pure, zero-copy parsing of one encapsulation
//! PDU (24-byte header plus command data), its Common Packet Format items,
//! ListIdentity/ListServices replies and class 0/1 I/O datagrams (UDP 2222).
//!
//! Reference: *The CIP Networks Library*, Vol. 2 (EtherNet/IP Adaptation of
//! CIP), chapter 2 (encapsulation) and chapter 3 (CPF, I/O).

use super::cip::{self, Cip};
use crate::wire::{Cursor, le16_at};

/// Encapsulation header length.
pub const HEADER_LEN: usize = 24;

/// Encapsulation commands.
pub mod cmd {
    pub const NOP: u16 = 0x0000;
    /// Legacy "List Targets" (reserved for legacy use; RSLinx still sends it).
    pub const LIST_TARGETS: u16 = 0x0001;
    pub const LIST_SERVICES: u16 = 0x0004;
    pub const LIST_IDENTITY: u16 = 0x0063;
    pub const LIST_INTERFACES: u16 = 0x0064;
    pub const REGISTER_SESSION: u16 = 0x0065;
    pub const UNREGISTER_SESSION: u16 = 0x0066;
    pub const SEND_RR_DATA: u16 = 0x006f;
    pub const SEND_UNIT_DATA: u16 = 0x0070;
    pub const INDICATE_STATUS: u16 = 0x0072;
    pub const CANCEL: u16 = 0x0073;
    /// Not an encapsulation command: the function code otwatch gives class
    /// 0/1 I/O datagrams (UDP 2222), which have no encapsulation header. The
    /// value is the CPF type id of their Sequenced Address item.
    pub const IO: u16 = 0x8002;
}

/// CPF item type ids.
pub mod item {
    pub const NULL_ADDRESS: u16 = 0x0000;
    pub const LIST_IDENTITY: u16 = 0x000c;
    pub const CONNECTED_ADDRESS: u16 = 0x00a1;
    pub const CONNECTED_DATA: u16 = 0x00b1;
    pub const UNCONNECTED_DATA: u16 = 0x00b2;
    pub const LIST_SERVICES: u16 = 0x0100;
    pub const SOCKADDR_OT: u16 = 0x8000;
    pub const SOCKADDR_TO: u16 = 0x8001;
    pub const SEQUENCED_ADDRESS: u16 = 0x8002;
}

/// Name of an encapsulation command.
pub fn command_name(c: u16) -> &'static str {
    match c {
        cmd::NOP => "nop",
        cmd::LIST_TARGETS => "list_targets",
        cmd::LIST_SERVICES => "list_services",
        cmd::LIST_IDENTITY => "list_identity",
        cmd::LIST_INTERFACES => "list_interfaces",
        cmd::REGISTER_SESSION => "register_session",
        cmd::UNREGISTER_SESSION => "unregister_session",
        cmd::SEND_RR_DATA => "send_rr_data",
        cmd::SEND_UNIT_DATA => "send_unit_data",
        cmd::INDICATE_STATUS => "indicate_status",
        cmd::CANCEL => "cancel",
        cmd::IO => "io",
        _ => "unknown",
    }
}

/// True for the commands the specification defines.
#[inline]
pub fn is_known(c: u16) -> bool {
    matches!(
        c,
        cmd::NOP
            | cmd::LIST_TARGETS
            | cmd::LIST_SERVICES
            | cmd::LIST_IDENTITY
            | cmd::LIST_INTERFACES
            | cmd::REGISTER_SESSION
            | cmd::UNREGISTER_SESSION
            | cmd::SEND_RR_DATA
            | cmd::SEND_UNIT_DATA
            | cmd::INDICATE_STATUS
            | cmd::CANCEL
    )
}

/// Name of an encapsulation status.
pub fn status_name(s: u32) -> &'static str {
    match s {
        0x0000 => "success",
        0x0001 => "invalid_or_unsupported_command",
        0x0002 => "insufficient_memory",
        0x0003 => "incorrect_data",
        0x0064 => "invalid_session_handle",
        0x0065 => "invalid_length",
        0x0069 => "unsupported_protocol_version",
        _ => "unknown",
    }
}

/// The encapsulation header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub command: u16,
    /// Bytes of command data after the header.
    pub length: u16,
    pub session_handle: u32,
    pub status: u32,
    pub sender_context: [u8; 8],
    pub options: u32,
}

impl Header {
    #[inline]
    pub fn pdu_len(&self) -> usize {
        HEADER_LEN + self.length as usize
    }
    /// Sender context as a number (matching key of unconnected requests).
    #[inline]
    pub fn context(&self) -> u64 {
        u64::from_le_bytes(self.sender_context)
    }
}

/// Reads the 24-byte header, if present.
#[inline]
pub fn parse_header(b: &[u8]) -> Option<Header> {
    let mut c = Cursor::new(b);
    let command = c.le16()?;
    let length = c.le16()?;
    let session_handle = c.le32()?;
    let status = c.le32()?;
    let ctx = c.take(8)?;
    let options = c.le32()?;
    let mut sender_context = [0u8; 8];
    sender_context.copy_from_slice(ctx);
    Some(Header {
        command,
        length,
        session_handle,
        status,
        sender_context,
        options,
    })
}

/// Why a PDU was rejected. `code()` is the stable name used in events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A command the specification does not define.
    UnknownCommand(u16),
    /// Garbage where a header should start (resynchronising).
    BadHeader { command: u16, length: u16 },
    /// The length field disagrees with the command or with the datagram.
    BadLength {
        command: u16,
        length: u16,
        expected: &'static str,
    },
    /// A structure runs past the command data.
    Truncated { command: u16, what: &'static str },
    /// The CPF item count disagrees with the items present.
    BadItemCount {
        command: u16,
        count: u16,
        found: u16,
    },
    /// A CPF item that does not belong in this command.
    UnexpectedItem { command: u16, item: u16 },
    /// Bytes after the last item.
    TrailingBytes { command: u16, extra: usize },
    /// The CIP message inside is malformed.
    Cip { command: u16, err: cip::Error },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownCommand(_) => "unknown_command",
            Error::BadHeader { .. } => "bad_header",
            Error::BadLength { .. } => "bad_length",
            Error::Truncated { .. } => "truncated",
            Error::BadItemCount { .. } => "bad_item_count",
            Error::UnexpectedItem { .. } => "unexpected_item",
            Error::TrailingBytes { .. } => "trailing_bytes",
            Error::Cip { err, .. } => err.code(),
        }
    }

    pub fn command(&self) -> Option<u16> {
        match *self {
            Error::UnknownCommand(c)
            | Error::BadLength { command: c, .. }
            | Error::Truncated { command: c, .. }
            | Error::BadItemCount { command: c, .. }
            | Error::UnexpectedItem { command: c, .. }
            | Error::TrailingBytes { command: c, .. }
            | Error::Cip { command: c, .. } => Some(c),
            Error::BadHeader { .. } => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::UnknownCommand(c) => write!(f, "encapsulation command 0x{c:04x} is not defined"),
            Error::BadHeader { command, length } => write!(
                f,
                "no encapsulation header: command 0x{command:04x} with length {length} is not plausible"
            ),
            Error::BadLength {
                command,
                length,
                expected,
            } => write!(
                f,
                "{} (0x{command:04x}) has length {length}, expected {expected}",
                command_name(command)
            ),
            Error::Truncated { command, what } => write!(
                f,
                "{} (0x{command:04x}): {what} runs past the command data",
                command_name(command)
            ),
            Error::BadItemCount {
                command,
                count,
                found,
            } => write!(
                f,
                "{} (0x{command:04x}): CPF item count is {count}, {found} items fit in the data",
                command_name(command)
            ),
            Error::UnexpectedItem { command, item } => write!(
                f,
                "{} (0x{command:04x}): CPF item type 0x{item:04x} is not expected here",
                command_name(command)
            ),
            Error::TrailingBytes { command, extra } => write!(
                f,
                "{} (0x{command:04x}): {extra} bytes after the last item",
                command_name(command)
            ),
            Error::Cip { command, err } => {
                write!(f, "{} (0x{command:04x}): {err}", command_name(command))
            }
        }
    }
}

/// A socket address item (ListIdentity, Sockaddr Info O->T / T->O).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockAddr {
    pub family: u16,
    pub port: u16,
    pub addr: [u8; 4],
}

fn sockaddr(c: &mut Cursor<'_>) -> Option<SockAddr> {
    let family = c.be16()?;
    let port = c.be16()?;
    let a = c.take(4)?;
    c.skip(8)?;
    Some(SockAddr {
        family,
        port,
        addr: [a[0], a[1], a[2], a[3]],
    })
}

/// The CIP Identity item of a ListIdentity reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdentityItem<'a> {
    pub encapsulation_version: u16,
    pub socket: SockAddr,
    pub vendor_id: u16,
    pub device_type: u16,
    pub product_code: u16,
    pub revision_major: u8,
    pub revision_minor: u8,
    pub status: u16,
    pub serial: u32,
    pub product_name: &'a [u8],
    pub state: Option<u8>,
}

fn identity_item(b: &[u8]) -> Option<IdentityItem<'_>> {
    let mut c = Cursor::new(b);
    let encapsulation_version = c.le16()?;
    let socket = sockaddr(&mut c)?;
    let vendor_id = c.le16()?;
    let device_type = c.le16()?;
    let product_code = c.le16()?;
    let revision_major = c.u8()?;
    let revision_minor = c.u8()?;
    let status = c.le16()?;
    let serial = c.le32()?;
    let n = c.u8()? as usize;
    let product_name = c.take(n)?;
    let state = c.u8();
    Some(IdentityItem {
        encapsulation_version,
        socket,
        vendor_id,
        device_type,
        product_code,
        revision_major,
        revision_minor,
        status,
        serial,
        product_name,
        state,
    })
}

/// The attributes 1-7 of an Identity object (Get Attributes All reply),
/// as an identity item without socket address or state.
pub fn identity_attributes(b: &[u8]) -> Option<IdentityItem<'_>> {
    let mut c = Cursor::new(b);
    let vendor_id = c.le16()?;
    let device_type = c.le16()?;
    let product_code = c.le16()?;
    let revision_major = c.u8()?;
    let revision_minor = c.u8()?;
    let status = c.le16()?;
    let serial = c.le32()?;
    let n = c.u8()? as usize;
    let product_name = c.take(n)?;
    Some(IdentityItem {
        encapsulation_version: 0,
        socket: SockAddr {
            family: 0,
            port: 0,
            addr: [0; 4],
        },
        vendor_id,
        device_type,
        product_code,
        revision_major,
        revision_minor,
        status,
        serial,
        product_name,
        state: c.u8(),
    })
}

/// The ListServices reply item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceItem<'a> {
    pub item_type: u16,
    pub version: u16,
    pub flags: u16,
    pub name: &'a [u8],
}

/// The address item of a SendRRData/SendUnitData CPF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address {
    Null,
    Connected(u32),
    Sequenced { connection_id: u32, sequence: u32 },
    Other(u16),
}

impl Address {
    pub fn connection_id(&self) -> Option<u32> {
        match *self {
            Address::Connected(c) => Some(c),
            Address::Sequenced { connection_id, .. } => Some(connection_id),
            _ => None,
        }
    }
}

/// SendRRData / SendUnitData command data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cpf<'a> {
    pub interface_handle: u32,
    pub timeout: u16,
    pub item_count: u16,
    pub address: Address,
    /// Type id of the data item (0x00B1 connected, 0x00B2 unconnected).
    pub data_item: Option<u16>,
    /// CIP sequence count of a connected data item.
    pub sequence_count: Option<u16>,
    /// The CIP message of the data item.
    pub cip: Option<Cip<'a>>,
    pub sockaddr_ot: Option<SockAddr>,
    pub sockaddr_to: Option<SockAddr>,
}

/// Class 0/1 I/O datagram (UDP 2222).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Io<'a> {
    pub item_count: u16,
    pub connection_id: u32,
    /// Encapsulation sequence number of the Sequenced Address item.
    pub sequence: u32,
    /// The connected data item (for class 1 it starts with a 16-bit CIP
    /// sequence count, which only the connection's Forward Open tells).
    pub data: &'a [u8],
}

/// The command data of a PDU. The CPF variant is the large one; it is kept
/// inline (no boxing: nothing allocates on the packet path).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// No command data (requests of List*, UnRegisterSession...).
    Empty,
    /// Data otwatch does not decode (NOP payload, IndicateStatus, Cancel).
    Raw(&'a [u8]),
    RegisterSession {
        version: u16,
        options: u16,
    },
    /// ListIdentity reply: item count and the first identity item.
    ListIdentity {
        item_count: u16,
        identity: Option<IdentityItem<'a>>,
    },
    ListServices {
        item_count: u16,
        service: Option<ServiceItem<'a>>,
    },
    ListInterfaces {
        item_count: u16,
        data: &'a [u8],
    },
    /// SendRRData / SendUnitData.
    Cpf(Cpf<'a>),
    /// UDP 2222 I/O.
    Io(Io<'a>),
    /// The command data did not parse (the PDU is also reported malformed).
    Invalid(&'a [u8]),
}

/// Parses the command data of a PDU whose header is `h`. `class_hint` is the
/// class of the request a CIP reply answers (for class-specific services).
pub fn parse_body<'a>(
    h: &Header,
    data: &'a [u8],
    class_hint: Option<u32>,
) -> Result<Body<'a>, Error> {
    let command = h.command;
    let trunc = |what| Error::Truncated { command, what };
    // Error replies (non-zero status) may carry no command data at all.
    if data.is_empty() && h.status != 0 && is_known(command) {
        return Ok(Body::Empty);
    }
    match command {
        cmd::NOP | cmd::LIST_TARGETS | cmd::INDICATE_STATUS | cmd::CANCEL => {
            Ok(if data.is_empty() {
                Body::Empty
            } else {
                Body::Raw(data)
            })
        }
        cmd::UNREGISTER_SESSION => {
            if data.is_empty() {
                Ok(Body::Empty)
            } else {
                Err(Error::BadLength {
                    command,
                    length: h.length,
                    expected: "0",
                })
            }
        }
        cmd::REGISTER_SESSION => {
            if data.len() != 4 {
                return Err(Error::BadLength {
                    command,
                    length: h.length,
                    expected: "4",
                });
            }
            Ok(Body::RegisterSession {
                version: le16_at(data, 0).unwrap_or(0),
                options: le16_at(data, 2).unwrap_or(0),
            })
        }
        cmd::LIST_IDENTITY | cmd::LIST_SERVICES | cmd::LIST_INTERFACES => {
            if data.is_empty() {
                return Ok(Body::Empty);
            }
            let mut c = Cursor::new(data);
            let item_count = c.le16().ok_or(trunc("item count"))?;
            let mut first: Option<(u16, &[u8])> = None;
            let mut found = 0u16;
            while found < item_count {
                let Some(t) = c.le16() else { break };
                let n = c.le16().ok_or(trunc("item header"))?;
                let v = c.take(n as usize).ok_or(trunc("item"))?;
                if first.is_none() {
                    first = Some((t, v));
                }
                found += 1;
            }
            if found != item_count {
                return Err(Error::BadItemCount {
                    command,
                    count: item_count,
                    found,
                });
            }
            if !c.is_empty() {
                return Err(Error::TrailingBytes {
                    command,
                    extra: c.remaining(),
                });
            }
            match command {
                cmd::LIST_IDENTITY => {
                    let identity = match first {
                        Some((item::LIST_IDENTITY, v)) => {
                            Some(identity_item(v).ok_or(trunc("identity item"))?)
                        }
                        Some((t, _)) => {
                            return Err(Error::UnexpectedItem { command, item: t });
                        }
                        None => None,
                    };
                    Ok(Body::ListIdentity {
                        item_count,
                        identity,
                    })
                }
                cmd::LIST_SERVICES => {
                    let service = match first {
                        Some((t, v)) => {
                            let mut c = Cursor::new(v);
                            let version = c.le16().ok_or(trunc("service item"))?;
                            let flags = c.le16().ok_or(trunc("service item"))?;
                            Some(ServiceItem {
                                item_type: t,
                                version,
                                flags,
                                name: c.rest(),
                            })
                        }
                        None => None,
                    };
                    Ok(Body::ListServices {
                        item_count,
                        service,
                    })
                }
                _ => Ok(Body::ListInterfaces {
                    item_count,
                    data: &data[2..],
                }),
            }
        }
        cmd::SEND_RR_DATA | cmd::SEND_UNIT_DATA => {
            parse_cpf(command, data, class_hint).map(Body::Cpf)
        }
        _ => Err(Error::UnknownCommand(command)),
    }
}

/// Most CPF items accepted in one PDU.
const MAX_ITEMS: u16 = 16;

fn parse_cpf<'a>(command: u16, data: &'a [u8], class_hint: Option<u32>) -> Result<Cpf<'a>, Error> {
    let trunc = |what| Error::Truncated { command, what };
    let mut c = Cursor::new(data);
    let interface_handle = c.le32().ok_or(trunc("interface handle"))?;
    let timeout = c.le16().ok_or(trunc("timeout"))?;
    let item_count = c.le16().ok_or(trunc("item count"))?;
    let mut cpf = Cpf {
        interface_handle,
        timeout,
        item_count,
        address: Address::Null,
        data_item: None,
        sequence_count: None,
        cip: None,
        sockaddr_ot: None,
        sockaddr_to: None,
    };
    // Count the items that fit before interpreting any.
    {
        let mut k = c;
        let mut found = 0u16;
        while found < item_count.min(MAX_ITEMS + 1) {
            let (Some(_), Some(n)) = (k.le16(), k.le16()) else {
                break;
            };
            if k.skip(n as usize).is_none() {
                break;
            }
            found += 1;
        }
        if found != item_count || !(2..=MAX_ITEMS).contains(&item_count) {
            return Err(Error::BadItemCount {
                command,
                count: item_count,
                found,
            });
        }
        if !k.is_empty() {
            return Err(Error::TrailingBytes {
                command,
                extra: k.remaining(),
            });
        }
    }
    let mut cip_bytes: Option<&[u8]> = None;
    for i in 0..item_count {
        let t = c.le16().unwrap_or(0);
        let n = c.le16().unwrap_or(0);
        let v = c.take(n as usize).unwrap_or(&[]);
        let mut ic = Cursor::new(v);
        match (i, t) {
            (0, item::NULL_ADDRESS) => cpf.address = Address::Null,
            (0, item::CONNECTED_ADDRESS) => {
                cpf.address = Address::Connected(ic.le32().ok_or(trunc("connected address item"))?)
            }
            (0, item::SEQUENCED_ADDRESS) => {
                let connection_id = ic.le32().ok_or(trunc("sequenced address item"))?;
                let sequence = ic.le32().ok_or(trunc("sequenced address item"))?;
                cpf.address = Address::Sequenced {
                    connection_id,
                    sequence,
                };
            }
            (0, t) => cpf.address = Address::Other(t),
            (1, item::UNCONNECTED_DATA) => {
                cpf.data_item = Some(t);
                cip_bytes = Some(v);
            }
            (1, item::CONNECTED_DATA) => {
                cpf.data_item = Some(t);
                cpf.sequence_count = Some(ic.le16().ok_or(trunc("connected data item"))?);
                cip_bytes = Some(ic.rest());
            }
            (1, t) => return Err(Error::UnexpectedItem { command, item: t }),
            (_, item::SOCKADDR_OT) => cpf.sockaddr_ot = sockaddr(&mut ic),
            (_, item::SOCKADDR_TO) => cpf.sockaddr_to = sockaddr(&mut ic),
            _ => {}
        }
    }
    if let Some(b) = cip_bytes {
        cpf.cip = Some(cip::parse(b, class_hint).map_err(|err| Error::Cip { command, err })?);
    }
    Ok(cpf)
}

/// Parses a UDP 2222 I/O datagram: CPF with a Sequenced Address item and a
/// Connected Data item.
pub fn parse_io(b: &[u8]) -> Result<Io<'_>, Error> {
    let command = cmd::IO;
    let trunc = |what| Error::Truncated { command, what };
    let mut c = Cursor::new(b);
    let item_count = c.le16().ok_or(trunc("item count"))?;
    let mut io = Io {
        item_count,
        connection_id: 0,
        sequence: 0,
        data: &[],
    };
    let mut found = 0u16;
    let mut addressed = false;
    while found < item_count.min(MAX_ITEMS) {
        let Some(t) = c.le16() else { break };
        let n = c.le16().ok_or(trunc("item header"))?;
        let v = c.take(n as usize).ok_or(trunc("item"))?;
        let mut ic = Cursor::new(v);
        match t {
            item::SEQUENCED_ADDRESS => {
                io.connection_id = ic.le32().ok_or(trunc("sequenced address item"))?;
                io.sequence = ic.le32().ok_or(trunc("sequenced address item"))?;
                addressed = true;
            }
            item::CONNECTED_DATA => io.data = v,
            item::SOCKADDR_OT | item::SOCKADDR_TO => {}
            t if found == 0 => return Err(Error::UnexpectedItem { command, item: t }),
            _ => {}
        }
        found += 1;
    }
    if found != item_count || item_count == 0 {
        return Err(Error::BadItemCount {
            command,
            count: item_count,
            found,
        });
    }
    if !addressed {
        return Err(trunc("sequenced address item"));
    }
    if !c.is_empty() {
        return Err(Error::TrailingBytes {
            command,
            extra: c.remaining(),
        });
    }
    Ok(io)
}

/// True when `b` starts like a UDP 2222 I/O datagram.
pub fn looks_like_io(b: &[u8]) -> bool {
    matches!(le16_at(b, 0), Some(1..=4)) && le16_at(b, 2) == Some(item::SEQUENCED_ADDRESS)
}

/// A plausible header: a defined command, zero options, and a length that
/// suits the command. Used to resynchronise and to probe, so it is strict.
pub fn plausible_header(h: &Header) -> bool {
    if !is_known(h.command) || h.options != 0 || h.status > 0xffff {
        return false;
    }
    match h.command {
        cmd::REGISTER_SESSION => h.length == 4,
        cmd::UNREGISTER_SESSION => h.length == 0,
        cmd::LIST_TARGETS | cmd::LIST_IDENTITY | cmd::LIST_SERVICES | cmd::LIST_INTERFACES => {
            h.length <= 1024
        }
        cmd::SEND_RR_DATA | cmd::SEND_UNIT_DATA => h.length >= 16,
        _ => true,
    }
}

/// Identity vendor names (ODVA vendor ids), for the common vendors.
pub fn vendor_name(id: u16) -> Option<&'static str> {
    Some(match id {
        1 => "Rockwell Automation/Allen-Bradley",
        2 => "Namco Controls Corp.",
        3 => "Honeywell Inc.",
        4 => "Parker Hannifin Corp.",
        5 => "Rockwell Automation/Reliance Electric",
        7 => "SMC Corporation",
        8 => "Molex Incorporated",
        12 => "Banner Engineering Corp.",
        13 => "Belden Wire & Cable Company",
        16 => "Woodhead Connectivity",
        26 => "Festo Corporation",
        37 => "Yaskawa Electric America",
        40 => "Wago Corporation",
        43 => "Balluff, Inc.",
        44 => "Yaskawa Electric America, Inc.",
        46 => "ABB Industrial Systems",
        47 => "Omron Corporation",
        48 => "Turck, Inc.",
        57 => "Pepperl + Fuchs",
        58 => "Spectrum Controls, Inc.",
        68 => "Eaton Electrical",
        90 => "HMS Industrial Networks AB",
        97 => "Danfoss",
        108 => "Beckhoff Automation GmbH",
        145 => "Siemens Energy & Automation/Drives",
        161 => "Mitsubishi Electric Corporation",
        176 => "Red Lion Controls",
        243 => "Schneider Automation, Inc.",
        250 => "Yokogawa Electric Corporation",
        255 => "Bosch Rexroth",
        283 => "Hilscher GmbH",
        309 => "Prosoft Technology",
        315 => "SEW Eurodrive GmbH",
        322 => "ifm efector, inc.",
        326 => "GE Fanuc Automation North America, Inc.",
        345 => "Endress + Hauser",
        367 => "Keyence Corporation",
        445 => "Lenze Drive Systems GmbH",
        562 => "Phoenix Contact",
        591 => "FANUC Ltd.",
        634 => "Hirschmann, Inc.",
        640 => "Murrelektronik GmbH",
        660 => "Automationdirect.com",
        678 => "Cognex Corporation",
        808 => "SICK AG",
        _ => return None,
    })
}

/// Identity device type names.
pub fn device_type_name(t: u16) -> Option<&'static str> {
    Some(match t {
        0x00 => "Generic Device (deprecated)",
        0x02 => "AC Drive",
        0x03 => "Motor Overload",
        0x04 => "Limit Switch",
        0x05 => "Inductive Proximity Switch",
        0x06 => "Photoelectric Sensor",
        0x07 => "General Purpose Discrete I/O",
        0x09 => "Resolver",
        0x0c => "Communications Adapter",
        0x0e => "Programmable Logic Controller",
        0x10 => "Position Controller",
        0x13 => "DC Drive",
        0x15 => "Contactor",
        0x16 => "Motor Starter",
        0x17 => "Soft Start",
        0x18 => "Human-Machine Interface",
        0x1a => "Mass Flow Controller",
        0x1b => "Pneumatic Valve",
        0x1c => "Vacuum Pressure Gauge",
        0x1d => "Process Control Value",
        0x1e => "Residual Gas Analyzer",
        0x1f => "DC Power Generator",
        0x20 => "RF Power Generator",
        0x21 => "Turbomolecular Vacuum Pump",
        0x22 => "Encoder",
        0x23 => "Safety Discrete I/O Device",
        0x24 => "Fluid Flow Controller",
        0x25 => "CIP Motion Drive",
        0x26 => "CompoNet Repeater",
        0x27 => "Mass Flow Controller, Enhanced",
        0x28 => "CIP Modbus Device",
        0x29 => "CIP Modbus Translator",
        0x2a => "Safety Analog I/O Device",
        0x2b => "Generic Device (keyable)",
        0x2c => "Managed Ethernet Switch",
        0x2d => "CIP Motion Safety Drive Device",
        0x2e => "Safety Drive Device",
        0x2f => "CIP Motion Encoder",
        0x30 => "CIP Motion Converter",
        0x31 => "CIP Motion I/O",
        0x32 => "ControlNet Physical Layer Component",
        0x33 => "Circuit Breaker",
        0x34 => "HART Device",
        0x35 => "CIP-HART Translator",
        0xc8 => "Embedded Component",
        _ => return None,
    })
}
