//! CIP (Common Industrial Protocol) messages as carried by EtherNet/IP:
//! pure, zero-copy parsing of one explicit message (request or reply).
//!
//! References: *The CIP Networks Library*, Vol. 1 (CIP Common Specification,
//! chapters 2-5 and appendix C for EPATH) and Vol. 2 (EtherNet/IP adaptation);
//! Rockwell Automation 1756-PM020 (Logix tag services); Allen-Bradley DF1
//! protocol manual 1770-6.5.16 (PCCC commands).
//!
//! Everything the hot path needs (service, path, status, embedded request of
//! an Unconnected Send, number of services of a Multiple Service Packet) is
//! parsed once; the rest (Forward Open fields, tag service arguments, PCCC,
//! the list of embedded services) is parsed on demand from the borrowed data.

use crate::wire::Cursor;

/// Response flag of the service byte.
pub const RESPONSE: u8 = 0x80;

/// Service codes.
pub mod svc {
    pub const GET_ATTRIBUTES_ALL: u8 = 0x01;
    pub const SET_ATTRIBUTES_ALL: u8 = 0x02;
    pub const GET_ATTRIBUTE_LIST: u8 = 0x03;
    pub const SET_ATTRIBUTE_LIST: u8 = 0x04;
    pub const RESET: u8 = 0x05;
    pub const START: u8 = 0x06;
    pub const STOP: u8 = 0x07;
    pub const MULTIPLE_SERVICE_PACKET: u8 = 0x0a;
    pub const GET_ATTRIBUTE_SINGLE: u8 = 0x0e;
    pub const SET_ATTRIBUTE_SINGLE: u8 = 0x10;
    pub const EXECUTE_PCCC: u8 = 0x4b;
    pub const READ_TAG: u8 = 0x4c;
    pub const WRITE_TAG: u8 = 0x4d;
    /// Forward Close on the Connection Manager, Read Modify Write Tag elsewhere.
    pub const FORWARD_CLOSE: u8 = 0x4e;
    /// Unconnected Send on the Connection Manager, Read Tag Fragmented elsewhere.
    pub const UNCONNECTED_SEND: u8 = 0x52;
    pub const WRITE_TAG_FRAGMENTED: u8 = 0x53;
    pub const FORWARD_OPEN: u8 = 0x54;
    pub const LARGE_FORWARD_OPEN: u8 = 0x5b;
}

/// Class ids used to tell class-specific services apart.
pub mod class {
    pub const IDENTITY: u32 = 0x01;
    pub const MESSAGE_ROUTER: u32 = 0x02;
    pub const CONNECTION_MANAGER: u32 = 0x06;
    pub const PCCC: u32 = 0x67;
    /// Logix Symbol object (symbol instance addressing of tags).
    pub const SYMBOL: u32 = 0x6b;
}

/// Name of a service (response bit ignored). Services 0x4B-0x63 are class
/// specific: `class` (of the request path) decides between, e.g., Unconnected
/// Send (Connection Manager) and Read Tag Fragmented (Logix tags).
pub fn service_name(service: u8, class: Option<u32>) -> &'static str {
    let s = service & 0x7f;
    if class == Some(class::CONNECTION_MANAGER) {
        match s {
            0x4e => return "forward_close",
            0x52 => return "unconnected_send",
            0x54 => return "forward_open",
            0x56 => return "get_connection_data",
            0x57 => return "search_connection_data",
            0x5a => return "get_connection_owner",
            0x5b => return "large_forward_open",
            _ => {}
        }
    }
    if class == Some(class::PCCC) {
        match s {
            0x4b => return "execute_pccc",
            0x4c => return "execute_dh_plus",
            0x4d => return "execute_local_pccc",
            _ => {}
        }
    }
    if (0x4b..=0x63).contains(&s) {
        // Logix tag services address tags by name (no class) or through the
        // Symbol object (0x6B); on other classes these codes mean something else.
        let logix = matches!(class, None | Some(class::SYMBOL));
        return match s {
            0x4b if class.is_none() => "execute_pccc",
            0x4c if logix => "read_tag",
            0x4d if logix => "write_tag",
            0x4e if logix => "read_modify_write_tag",
            0x52 if logix => "read_tag_fragmented",
            0x53 if logix => "write_tag_fragmented",
            0x54 if class.is_none() => "forward_open",
            0x55 if logix => "get_instance_attribute_list",
            0x5b if class.is_none() => "large_forward_open",
            _ => "class_specific",
        };
    }
    match s {
        0x01 => "get_attributes_all",
        0x02 => "set_attributes_all",
        0x03 => "get_attribute_list",
        0x04 => "set_attribute_list",
        0x05 => "reset",
        0x06 => "start",
        0x07 => "stop",
        0x08 => "create",
        0x09 => "delete",
        0x0a => "multiple_service_packet",
        0x0d => "apply_attributes",
        0x0e => "get_attribute_single",
        0x10 => "set_attribute_single",
        0x11 => "find_next_object_instance",
        0x14 => "error_response",
        0x15 => "restore",
        0x16 => "save",
        0x17 => "nop",
        0x18 => "get_member",
        0x19 => "set_member",
        0x1a => "insert_member",
        0x1b => "remove_member",
        0x1c => "group_sync",
        0x00 | 0x0b | 0x0c | 0x0f | 0x12 | 0x13 | 0x1d..=0x31 | 0x64..=0x7f => "reserved",
        _ => "vendor_specific",
    }
}

/// Name of a CIP general status code.
pub fn status_name(status: u8) -> &'static str {
    match status {
        0x00 => "success",
        0x01 => "connection_failure",
        0x02 => "resource_unavailable",
        0x03 => "invalid_parameter_value",
        0x04 => "path_segment_error",
        0x05 => "path_destination_unknown",
        0x06 => "partial_transfer",
        0x07 => "connection_lost",
        0x08 => "service_not_supported",
        0x09 => "invalid_attribute_value",
        0x0a => "attribute_list_error",
        0x0b => "already_in_requested_mode",
        0x0c => "object_state_conflict",
        0x0d => "object_already_exists",
        0x0e => "attribute_not_settable",
        0x0f => "privilege_violation",
        0x10 => "device_state_conflict",
        0x11 => "reply_data_too_large",
        0x12 => "fragmentation_of_a_primitive_value",
        0x13 => "not_enough_data",
        0x14 => "attribute_not_supported",
        0x15 => "too_much_data",
        0x16 => "object_does_not_exist",
        0x17 => "service_fragmentation_sequence_not_in_progress",
        0x18 => "no_stored_attribute_data",
        0x19 => "store_operation_failure",
        0x1a => "routing_failure_request_too_large",
        0x1b => "routing_failure_response_too_large",
        0x1c => "missing_attribute_list_entry_data",
        0x1d => "invalid_attribute_value_list",
        0x1e => "embedded_service_error",
        0x1f => "vendor_specific_error",
        0x20 => "invalid_parameter",
        0x21 => "write_once_value_or_medium_already_written",
        0x22 => "invalid_reply_received",
        0x23 => "buffer_overflow",
        0x24 => "message_format_error",
        0x25 => "key_failure_in_path",
        0x26 => "path_size_invalid",
        0x27 => "unexpected_attribute_in_list",
        0x28 => "invalid_member_id",
        0x29 => "member_not_settable",
        0x2a => "group_2_only_server_general_failure",
        0x2b => "unknown_modbus_error",
        0x2c => "attribute_not_gettable",
        _ => "reserved",
    }
}

/// Name of a class id, for the common objects.
pub fn class_name(class: u32) -> &'static str {
    match class {
        0x01 => "identity",
        0x02 => "message_router",
        0x03 => "devicenet",
        0x04 => "assembly",
        0x05 => "connection",
        0x06 => "connection_manager",
        0x07 => "register",
        0x08 => "discrete_input_point",
        0x09 => "discrete_output_point",
        0x0a => "analog_input_point",
        0x0b => "analog_output_point",
        0x0e => "presence_sensing",
        0x0f => "parameter",
        0x10 => "parameter_group",
        0x12 => "group",
        0x1d => "discrete_input_group",
        0x1e => "discrete_output_group",
        0x1f => "discrete_group",
        0x23 => "position_sensor",
        0x28 => "motor_data",
        0x29 => "control_supervisor",
        0x2a => "ac_dc_drive",
        0x2b => "acknowledge_handler",
        0x37 => "file",
        0x43 => "time_sync",
        0x47 => "device_level_ring",
        0x48 => "qos",
        0x4d => "port",
        0x64 => "ab_dhplus",
        0x67 => "pccc",
        0x68 => "logix_program",
        0x69 => "logix_routine",
        0x6a => "logix_task",
        0x6b => "logix_symbol",
        0x6c => "logix_template",
        0x70 => "logix_controller",
        0x72 => "logix_data_table",
        0x8b => "logix_time",
        0xa1 => "logix_io",
        0xac => "logix_controller_info",
        0xf4 => "port",
        0xf5 => "tcpip_interface",
        0xf6 => "ethernet_link",
        0xf7 => "componet_link",
        0xf8 => "componet_repeater",
        _ => "unknown",
    }
}

/// Why a CIP message was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The message is shorter than its fixed header.
    Short { service: Option<u8>, len: usize },
    /// The request path size (in 16-bit words) runs past the message.
    TruncatedPath {
        service: u8,
        words: u8,
        available: usize,
    },
    /// A path segment is cut short or its type is reserved.
    BadSegment {
        service: u8,
        offset: usize,
        byte: u8,
    },
    /// The additional status size runs past the reply.
    TruncatedStatus { service: u8, words: u8 },
    /// A service's fixed arguments run past the message.
    TruncatedData {
        service: u8,
        needed: usize,
        available: usize,
    },
    /// A Multiple Service Packet offset points outside the packet or backwards.
    BadServiceOffset { index: u16, offset: u16, len: usize },
    /// A Multiple Service Packet announces more services than fit.
    BadServiceCount { count: u16, len: usize },
    /// The embedded message of an Unconnected Send is larger than the data.
    BadEmbeddedSize { size: u16, available: usize },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::Short { .. } => "cip_short",
            Error::TruncatedPath { .. } => "cip_truncated_path",
            Error::BadSegment { .. } => "cip_bad_path_segment",
            Error::TruncatedStatus { .. } => "cip_truncated_status",
            Error::TruncatedData { .. } => "cip_truncated_data",
            Error::BadServiceOffset { .. } => "cip_bad_service_offset",
            Error::BadServiceCount { .. } => "cip_bad_service_count",
            Error::BadEmbeddedSize { .. } => "cip_bad_embedded_size",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::Short { service, len } => match service {
                Some(s) => write!(
                    f,
                    "CIP service 0x{s:02x}: message is {len} bytes, shorter than its header"
                ),
                None => write!(f, "CIP message is {len} bytes, shorter than its header"),
            },
            Error::TruncatedPath {
                service,
                words,
                available,
            } => write!(
                f,
                "CIP service 0x{service:02x}: request path of {words} words ({} bytes) but only {available} bytes follow",
                2 * words as usize
            ),
            Error::BadSegment {
                service,
                offset,
                byte,
            } => write!(
                f,
                "CIP service 0x{service:02x}: path segment 0x{byte:02x} at path offset {offset} is reserved or cut short"
            ),
            Error::TruncatedStatus { service, words } => write!(
                f,
                "CIP reply 0x{service:02x}: additional status of {words} words runs past the message"
            ),
            Error::TruncatedData {
                service,
                needed,
                available,
            } => write!(
                f,
                "CIP service 0x{service:02x}: needs {needed} bytes of arguments, {available} present"
            ),
            Error::BadServiceOffset { index, offset, len } => write!(
                f,
                "multiple service packet: offset {offset} of service {index} is outside the {len}-byte packet or not increasing"
            ),
            Error::BadServiceCount { count, len } => write!(
                f,
                "multiple service packet announces {count} services, the offset table does not fit in {len} bytes"
            ),
            Error::BadEmbeddedSize { size, available } => write!(
                f,
                "unconnected send: embedded message of {size} bytes, only {available} present"
            ),
        }
    }
}

/// A decoded EPATH (request path, route path or connection path).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Path<'a> {
    pub class: Option<u32>,
    pub instance: Option<u32>,
    pub attribute: Option<u32>,
    pub member: Option<u32>,
    pub connection_point: Option<u32>,
    /// The first ANSI extended symbol (tag name), raw.
    pub symbol: Option<&'a [u8]>,
    /// Number of symbolic segments (`Program:Main.Tag` has two).
    pub symbols: u8,
    /// The first port segment: port number and link address.
    pub port: Option<(u16, &'a [u8])>,
    /// The whole path as on the wire.
    pub raw: &'a [u8],
}

impl<'a> Path<'a> {
    /// Parses a whole EPATH; `service` only labels errors.
    pub fn parse(raw: &'a [u8], service: u8) -> Result<Path<'a>, Error> {
        let mut p = Path {
            raw,
            ..Path::default()
        };
        let mut c = Cursor::new(raw);
        while !c.is_empty() {
            let at = c.pos();
            let bad = || Error::BadSegment {
                service,
                offset: at,
                byte: raw.get(at).copied().unwrap_or(0),
            };
            let seg = c.u8().ok_or_else(bad)?;
            match seg >> 5 {
                // Port segment.
                0 => {
                    let extended_link = seg & 0x10 != 0;
                    let mut port = (seg & 0x0f) as u16;
                    let link: &[u8];
                    if extended_link {
                        let n = c.u8().ok_or_else(bad)? as usize;
                        if port == 0x0f {
                            port = c.le16().ok_or_else(bad)?;
                        }
                        link = c.take(n).ok_or_else(bad)?;
                    } else {
                        if port == 0x0f {
                            port = c.le16().ok_or_else(bad)?;
                        }
                        link = c.take(1).ok_or_else(bad)?;
                    }
                    // Pad to an even length.
                    if (c.pos() - at) % 2 == 1 {
                        c.skip(1).ok_or_else(bad)?;
                    }
                    if p.port.is_none() {
                        p.port = Some((port, link));
                    }
                }
                // Logical segment.
                1 => {
                    let kind = (seg >> 2) & 0x07;
                    let format = seg & 0x03;
                    if kind == 5 {
                        // Special: electronic key (format 0, key format 4, 8 bytes).
                        if seg != 0x34 {
                            return Err(bad());
                        }
                        let key_format = c.u8().ok_or_else(bad)?;
                        let n = if key_format == 4 {
                            8
                        } else {
                            return Err(bad());
                        };
                        c.skip(n).ok_or_else(bad)?;
                        continue;
                    }
                    if kind == 6 {
                        // Service id: 8-bit only.
                        c.skip(1).ok_or_else(bad)?;
                        continue;
                    }
                    let v = match format {
                        0 => c.u8().ok_or_else(bad)? as u32,
                        1 => {
                            c.skip(1).ok_or_else(bad)?;
                            c.le16().ok_or_else(bad)? as u32
                        }
                        2 => {
                            c.skip(1).ok_or_else(bad)?;
                            c.le32().ok_or_else(bad)?
                        }
                        _ => return Err(bad()),
                    };
                    let slot = match kind {
                        0 => &mut p.class,
                        1 => &mut p.instance,
                        2 => &mut p.member,
                        3 => &mut p.connection_point,
                        4 => &mut p.attribute,
                        _ => return Err(bad()),
                    };
                    // Later segments (e.g. a second instance) keep the first value.
                    if slot.is_none() {
                        *slot = Some(v);
                    }
                }
                // Network segment.
                2 => {
                    if seg & 0x10 != 0 {
                        let words = c.u8().ok_or_else(bad)? as usize;
                        c.skip(2 * words).ok_or_else(bad)?;
                    } else {
                        c.skip(1).ok_or_else(bad)?;
                    }
                }
                // Symbolic segment (size in the low bits).
                3 => {
                    let n = (seg & 0x1f) as usize;
                    if n == 0 {
                        // Extended format.
                        let fmt = c.u8().ok_or_else(bad)?;
                        let len = match fmt >> 5 {
                            1 => 2 * (fmt & 0x1f) as usize,
                            2 => 3 * (fmt & 0x1f) as usize,
                            6 => match fmt & 0x1f {
                                6 => 1,
                                7 => 2,
                                8 => 4,
                                _ => return Err(bad()),
                            },
                            _ => return Err(bad()),
                        };
                        c.skip(len).ok_or_else(bad)?;
                    } else {
                        c.skip(n).ok_or_else(bad)?;
                    }
                }
                // Data segment.
                4 => match seg {
                    0x80 => {
                        let words = c.u8().ok_or_else(bad)? as usize;
                        c.skip(2 * words).ok_or_else(bad)?;
                    }
                    0x91 => {
                        let n = c.u8().ok_or_else(bad)? as usize;
                        let s = c.take(n).ok_or_else(bad)?;
                        if n % 2 == 1 {
                            c.skip(1).ok_or_else(bad)?;
                        }
                        if p.symbol.is_none() {
                            p.symbol = Some(s);
                        }
                        p.symbols = p.symbols.saturating_add(1);
                    }
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            }
        }
        Ok(p)
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The symbolic segments joined with `.` (JSON only; allocates).
    pub fn symbol_text(&self) -> Option<String> {
        self.symbol?;
        let mut out = String::new();
        let mut c = Cursor::new(self.raw);
        // Re-walk: only 0x91 segments matter; the path was validated.
        while let Some(seg) = c.u8() {
            if seg == 0x91 {
                let n = c.u8().unwrap_or(0) as usize;
                let s = c.take(n).unwrap_or(&[]);
                if n % 2 == 1 {
                    c.skip(1);
                }
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&String::from_utf8_lossy(s));
            } else if seg >> 5 == 1 && seg & 0x1c != 0x14 && seg & 0x1c != 0x18 {
                // Logical segments: member indexes inside a symbolic path.
                let skip = match seg & 3 {
                    0 => 1,
                    1 => 3,
                    _ => 5,
                };
                if seg & 0x1c == 0x08 {
                    let v = match seg & 3 {
                        0 => c.u8().map(u32::from),
                        1 => c.skip(1).and_then(|_| c.le16()).map(u32::from),
                        _ => c.skip(1).and_then(|_| c.le32()),
                    };
                    if let Some(v) = v {
                        out.push_str(&format!("[{v}]"));
                    }
                } else if c.skip(skip).is_none() {
                    break;
                }
            } else {
                // Anything else cannot be part of a tag path walk; stop.
                break;
            }
        }
        Some(out)
    }
}

/// An Unconnected Send (Connection Manager service 0x52): the message it
/// carries and the route to its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Embedded<'a> {
    pub priority_tick: u8,
    pub timeout_ticks: u8,
    pub service: u8,
    pub path: Path<'a>,
    pub data: &'a [u8],
    /// Route path (port segments), raw.
    pub route: Path<'a>,
}

/// One CIP explicit message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cip<'a> {
    /// The service byte as on the wire (0x80 set on replies).
    pub service: u8,
    /// Request path (empty on replies).
    pub path: Path<'a>,
    /// General status (replies).
    pub status: Option<u8>,
    /// Additional status words, raw little-endian (replies).
    pub additional_status: &'a [u8],
    /// Service data after the path or status.
    pub data: &'a [u8],
    /// Unconnected Send: the embedded request (see [`Cip::embedded`]).
    pub unconnected_send: bool,
    /// Multiple Service Packet: number of embedded services.
    pub services: Option<u16>,
}

impl<'a> Cip<'a> {
    #[inline]
    pub fn is_response(&self) -> bool {
        self.service & RESPONSE != 0
    }

    /// The service code without the response bit.
    #[inline]
    pub fn code(&self) -> u8 {
        self.service & 0x7f
    }

    /// The request an Unconnected Send carries (validated when parsed).
    pub fn embedded(&self) -> Option<Embedded<'a>> {
        if self.unconnected_send {
            parse_unconnected_send(self.data).ok()
        } else {
            None
        }
    }

    /// First additional status word (the extended status).
    pub fn extended_status(&self) -> Option<u16> {
        crate::wire::le16_at(self.additional_status, 0)
    }
}

/// Parses one CIP message. `class_hint` is the class of the request a reply
/// answers (replies carry no path), used for class-specific services.
pub fn parse(b: &[u8], class_hint: Option<u32>) -> Result<Cip<'_>, Error> {
    parse_inner(b, class_hint, true)
}

fn parse_inner(b: &[u8], class_hint: Option<u32>, nest: bool) -> Result<Cip<'_>, Error> {
    let mut c = Cursor::new(b);
    let service = c.u8().ok_or(Error::Short {
        service: None,
        len: b.len(),
    })?;
    let short = Error::Short {
        service: Some(service),
        len: b.len(),
    };
    if service & RESPONSE != 0 {
        c.skip(1).ok_or(short)?;
        let status = c.u8().ok_or(short)?;
        let words = c.u8().ok_or(short)?;
        let add = c
            .take(2 * words as usize)
            .ok_or(Error::TruncatedStatus { service, words })?;
        let data = c.rest();
        let mut m = Cip {
            service,
            path: Path::default(),
            status: Some(status),
            additional_status: add,
            data,
            unconnected_send: false,
            services: None,
        };
        if service & 0x7f == svc::MULTIPLE_SERVICE_PACKET && (status == 0 || status == 0x1e) {
            // A reply with an error status may carry no packet at all.
            if !data.is_empty() {
                m.services = Some(check_multiple(data)?);
            }
        }
        let _ = class_hint;
        return Ok(m);
    }
    let words = c.u8().ok_or(short)?;
    let raw = c.take(2 * words as usize).ok_or(Error::TruncatedPath {
        service,
        words,
        available: c.remaining(),
    })?;
    let path = Path::parse(raw, service)?;
    let data = c.rest();
    let mut m = Cip {
        service,
        path,
        status: None,
        additional_status: &[],
        data,
        unconnected_send: false,
        services: None,
    };
    match service {
        svc::MULTIPLE_SERVICE_PACKET => m.services = Some(check_multiple(data)?),
        svc::UNCONNECTED_SEND if path.class == Some(class::CONNECTION_MANAGER) && nest => {
            parse_unconnected_send(data)?;
            m.unconnected_send = true;
        }
        svc::FORWARD_OPEN | svc::LARGE_FORWARD_OPEN
            if path.class == Some(class::CONNECTION_MANAGER) =>
        {
            forward_open(data, service == svc::LARGE_FORWARD_OPEN).ok_or(truncated(
                service,
                36,
                data.len(),
            ))?;
        }
        svc::FORWARD_CLOSE if path.class == Some(class::CONNECTION_MANAGER) => {
            forward_close(data).ok_or(truncated(service, 12, data.len()))?;
        }
        svc::EXECUTE_PCCC if path.class == Some(class::PCCC) => {
            super::pccc::parse_request(data).ok_or(truncated(service, 7, data.len()))?;
        }
        _ => {}
    }
    Ok(m)
}

fn truncated(service: u8, needed: usize, available: usize) -> Error {
    Error::TruncatedData {
        service,
        needed,
        available,
    }
}

fn parse_unconnected_send(data: &[u8]) -> Result<Embedded<'_>, Error> {
    let mut c = Cursor::new(data);
    let t = truncated(svc::UNCONNECTED_SEND, 4, data.len());
    let priority_tick = c.u8().ok_or(t)?;
    let timeout_ticks = c.u8().ok_or(t)?;
    let size = c.le16().ok_or(t)?;
    let msg = c.take(size as usize).ok_or(Error::BadEmbeddedSize {
        size,
        available: c.remaining(),
    })?;
    if size % 2 == 1 {
        c.skip(1);
    }
    let inner = parse_inner(msg, None, false)?;
    // The route path is absent when the send targets the local chassis.
    let route = match c.u8() {
        Some(words) => {
            c.skip(1);
            let raw = c.take(2 * words as usize).ok_or(Error::TruncatedPath {
                service: svc::UNCONNECTED_SEND,
                words,
                available: c.remaining(),
            })?;
            Path::parse(raw, svc::UNCONNECTED_SEND)?
        }
        None => Path::default(),
    };
    Ok(Embedded {
        priority_tick,
        timeout_ticks,
        service: inner.service,
        path: inner.path,
        data: inner.data,
        route,
    })
}

/// Validates a Multiple Service Packet and returns its service count.
fn check_multiple(data: &[u8]) -> Result<u16, Error> {
    let count = crate::wire::le16_at(data, 0).ok_or(truncated(
        svc::MULTIPLE_SERVICE_PACKET,
        2,
        data.len(),
    ))?;
    if 2 + 2 * count as usize > data.len() {
        return Err(Error::BadServiceCount {
            count,
            len: data.len(),
        });
    }
    let mut prev = 0usize;
    for i in 0..count {
        let off = crate::wire::le16_at(data, 2 + 2 * i as usize).unwrap_or(0);
        let o = off as usize;
        if o < 2 + 2 * count as usize || o >= data.len() || o < prev {
            return Err(Error::BadServiceOffset {
                index: i,
                offset: off,
                len: data.len(),
            });
        }
        prev = o;
    }
    Ok(count)
}

/// The embedded messages of a Multiple Service Packet (request or reply
/// data), each parsed as a CIP message (`Err` for one that does not parse).
pub fn multiple(data: &[u8]) -> impl Iterator<Item = Result<Cip<'_>, Error>> {
    let count = crate::wire::le16_at(data, 0).unwrap_or(0);
    (0..count).map_while(move |i| {
        let off = crate::wire::le16_at(data, 2 + 2 * i as usize)? as usize;
        let end = if i + 1 < count {
            crate::wire::le16_at(data, 2 + 2 * (i as usize + 1)).map_or(data.len(), usize::from)
        } else {
            data.len()
        };
        let b = data.get(off..end.max(off).min(data.len()))?;
        Some(parse_inner(b, None, false))
    })
}

/// Forward Open / Large Forward Open request arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardOpen<'a> {
    pub priority_tick: u8,
    pub timeout_ticks: u8,
    pub ot_connection_id: u32,
    pub to_connection_id: u32,
    pub connection_serial: u16,
    pub vendor_id: u16,
    pub originator_serial: u32,
    pub timeout_multiplier: u8,
    pub ot_rpi_us: u32,
    /// O->T network connection parameters (16 bits, or 32 for Large Forward Open).
    pub ot_params: u32,
    pub to_rpi_us: u32,
    pub to_params: u32,
    /// Transport class and trigger byte.
    pub transport: u8,
    pub connection_path: &'a [u8],
}

/// Parses Forward Open (`large` = 0x5B) request data.
pub fn forward_open(data: &[u8], large: bool) -> Option<ForwardOpen<'_>> {
    let mut c = Cursor::new(data);
    let priority_tick = c.u8()?;
    let timeout_ticks = c.u8()?;
    let ot_connection_id = c.le32()?;
    let to_connection_id = c.le32()?;
    let connection_serial = c.le16()?;
    let vendor_id = c.le16()?;
    let originator_serial = c.le32()?;
    let timeout_multiplier = c.u8()?;
    c.skip(3)?;
    let ot_rpi_us = c.le32()?;
    let ot_params = if large { c.le32()? } else { c.le16()? as u32 };
    let to_rpi_us = c.le32()?;
    let to_params = if large { c.le32()? } else { c.le16()? as u32 };
    let transport = c.u8()?;
    let words = c.u8()?;
    let connection_path = c.take(2 * words as usize)?;
    Some(ForwardOpen {
        priority_tick,
        timeout_ticks,
        ot_connection_id,
        to_connection_id,
        connection_serial,
        vendor_id,
        originator_serial,
        timeout_multiplier,
        ot_rpi_us,
        ot_params,
        to_rpi_us,
        to_params,
        transport,
        connection_path,
    })
}

/// Successful Forward Open reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardOpenReply {
    pub ot_connection_id: u32,
    pub to_connection_id: u32,
    pub connection_serial: u16,
    pub vendor_id: u16,
    pub originator_serial: u32,
    pub ot_api_us: u32,
    pub to_api_us: u32,
}

pub fn forward_open_reply(data: &[u8]) -> Option<ForwardOpenReply> {
    let mut c = Cursor::new(data);
    Some(ForwardOpenReply {
        ot_connection_id: c.le32()?,
        to_connection_id: c.le32()?,
        connection_serial: c.le16()?,
        vendor_id: c.le16()?,
        originator_serial: c.le32()?,
        ot_api_us: c.le32()?,
        to_api_us: c.le32()?,
    })
}

/// Forward Close request, or the identification part of a Forward Close
/// reply / failed Forward Open reply (`request` = false: no tick bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardClose {
    pub connection_serial: u16,
    pub vendor_id: u16,
    pub originator_serial: u32,
}

pub fn forward_close(data: &[u8]) -> Option<ForwardClose> {
    let mut c = Cursor::new(data);
    c.skip(2)?;
    Some(ForwardClose {
        connection_serial: c.le16()?,
        vendor_id: c.le16()?,
        originator_serial: c.le32()?,
    })
}

pub fn connection_triad(data: &[u8]) -> Option<ForwardClose> {
    let mut c = Cursor::new(data);
    Some(ForwardClose {
        connection_serial: c.le16()?,
        vendor_id: c.le16()?,
        originator_serial: c.le32()?,
    })
}

/// Arguments of the Logix tag services, when present.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TagArgs {
    pub data_type: Option<u16>,
    pub elements: Option<u16>,
    pub offset: Option<u32>,
}

/// Read Tag (0x4C), Write Tag (0x4D), Read/Write Tag Fragmented (0x52/0x53)
/// request arguments.
pub fn tag_args(service: u8, data: &[u8]) -> Option<TagArgs> {
    let mut c = Cursor::new(data);
    let mut a = TagArgs::default();
    match service {
        svc::READ_TAG => a.elements = Some(c.le16()?),
        svc::UNCONNECTED_SEND => {
            a.elements = Some(c.le16()?);
            a.offset = Some(c.le32()?);
        }
        svc::WRITE_TAG | svc::WRITE_TAG_FRAGMENTED => {
            let t = c.le16()?;
            if t == 0x02a0 {
                c.skip(2)?; // structure handle
            }
            a.data_type = Some(t);
            a.elements = Some(c.le16()?);
            if service == svc::WRITE_TAG_FRAGMENTED {
                a.offset = Some(c.le32()?);
            }
        }
        _ => return None,
    }
    Some(a)
}
