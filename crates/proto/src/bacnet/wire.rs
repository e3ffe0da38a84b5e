//! Pure parsing of BACnet/IP datagrams: BVLC, NPDU, APDU header and the
//! service data of the common services. Zero-copy, no allocation, no panic.

use std::fmt;

use crate::wire::Cursor;

/// BVLC type octet of BACnet/IP (Annex J).
pub const BVLC_TYPE: u8 = 0x81;
/// NPDU protocol version.
pub const NPDU_VERSION: u8 = 1;

/// BVLC functions.
pub mod bvlc {
    pub const RESULT: u8 = 0x00;
    pub const WRITE_BDT: u8 = 0x01;
    pub const READ_BDT: u8 = 0x02;
    pub const READ_BDT_ACK: u8 = 0x03;
    pub const FORWARDED_NPDU: u8 = 0x04;
    pub const REGISTER_FD: u8 = 0x05;
    pub const READ_FDT: u8 = 0x06;
    pub const READ_FDT_ACK: u8 = 0x07;
    pub const DELETE_FDT_ENTRY: u8 = 0x08;
    pub const DISTRIBUTE_BROADCAST: u8 = 0x09;
    pub const ORIGINAL_UNICAST: u8 = 0x0A;
    pub const ORIGINAL_BROADCAST: u8 = 0x0B;
    pub const SECURE_BVLL: u8 = 0x0C;
}

/// APDU types.
pub mod pdu {
    pub const CONFIRMED_REQUEST: u8 = 0;
    pub const UNCONFIRMED_REQUEST: u8 = 1;
    pub const SIMPLE_ACK: u8 = 2;
    pub const COMPLEX_ACK: u8 = 3;
    pub const SEGMENT_ACK: u8 = 4;
    pub const ERROR: u8 = 5;
    pub const REJECT: u8 = 6;
    pub const ABORT: u8 = 7;
}

/// Name of a BVLC function.
pub fn bvlc_function_name(f: u8) -> &'static str {
    match f {
        0x00 => "BVLC-Result",
        0x01 => "Write-Broadcast-Distribution-Table",
        0x02 => "Read-Broadcast-Distribution-Table",
        0x03 => "Read-Broadcast-Distribution-Table-Ack",
        0x04 => "Forwarded-NPDU",
        0x05 => "Register-Foreign-Device",
        0x06 => "Read-Foreign-Device-Table",
        0x07 => "Read-Foreign-Device-Table-Ack",
        0x08 => "Delete-Foreign-Device-Table-Entry",
        0x09 => "Distribute-Broadcast-To-Network",
        0x0A => "Original-Unicast-NPDU",
        0x0B => "Original-Broadcast-NPDU",
        0x0C => "Secure-BVLL",
        _ => "unknown",
    }
}

/// Name of an APDU type.
pub fn pdu_name(t: u8) -> &'static str {
    match t {
        0 => "Confirmed-REQ",
        1 => "Unconfirmed-REQ",
        2 => "SimpleACK",
        3 => "ComplexACK",
        4 => "SegmentACK",
        5 => "Error",
        6 => "Reject",
        7 => "Abort",
        _ => "unknown",
    }
}

/// Name of a network layer message type.
pub fn network_message_name(t: u8) -> &'static str {
    match t {
        0x00 => "Who-Is-Router-To-Network",
        0x01 => "I-Am-Router-To-Network",
        0x02 => "I-Could-Be-Router-To-Network",
        0x03 => "Reject-Message-To-Network",
        0x04 => "Router-Busy-To-Network",
        0x05 => "Router-Available-To-Network",
        0x06 => "Initialize-Routing-Table",
        0x07 => "Initialize-Routing-Table-Ack",
        0x08 => "Establish-Connection-To-Network",
        0x09 => "Disconnect-Connection-To-Network",
        0x0A => "Challenge-Request",
        0x0B => "Security-Payload",
        0x0C => "Security-Response",
        0x0D => "Request-Key-Update",
        0x0E => "Update-Key-Set",
        0x0F => "Update-Distribution-Key",
        0x10 => "Request-Master-Key",
        0x11 => "Set-Master-Key",
        0x12 => "What-Is-Network-Number",
        0x13 => "Network-Number-Is",
        0x80..=0xFF => "vendor-proprietary",
        _ => "reserved",
    }
}

/// Max APDU length accepted, from its 4-bit code.
pub fn max_apdu_len(code: u8) -> u16 {
    match code {
        0 => 50,
        1 => 128,
        2 => 206,
        3 => 480,
        4 => 1024,
        5 => 1476,
        _ => 0,
    }
}

/// BVLC header (and what the function carries besides an NPDU).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bvlc {
    pub function: u8,
    pub length: u16,
    /// Forwarded-NPDU: the original source address and port.
    pub origin: Option<([u8; 4], u16)>,
    /// BVLC-Result: the result code.
    pub result_code: Option<u16>,
    /// Register-Foreign-Device: time-to-live in seconds.
    pub ttl: Option<u16>,
    /// Write-BDT / Read-BDT-Ack / Read-FDT-Ack: number of entries.
    pub entries: Option<u16>,
}

/// NPDU header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Npdu<'a> {
    pub version: u8,
    pub control: u8,
    pub dnet: Option<u16>,
    pub dadr: &'a [u8],
    pub snet: Option<u16>,
    pub sadr: &'a [u8],
    pub hop_count: Option<u8>,
    /// Network layer message type, when the NPDU carries one instead of an APDU.
    pub message_type: Option<u8>,
    /// Vendor id of a proprietary network message (types 0x80..).
    pub vendor_id: Option<u16>,
}

impl Npdu<'_> {
    pub fn priority(&self) -> u8 {
        self.control & 3
    }
    pub fn expecting_reply(&self) -> bool {
        self.control & 0x04 != 0
    }
}

/// APDU header fields (which are present depends on the type).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApduHeader {
    pub pdu_type: u8,
    /// Low nibble of the first octet.
    pub flags: u8,
    pub invoke_id: Option<u8>,
    pub service: Option<u8>,
    /// Confirmed request: max segments accepted (3-bit code) and max APDU (4-bit code).
    pub max_segs: Option<u8>,
    pub max_apdu: Option<u8>,
    pub sequence: Option<u8>,
    pub window: Option<u8>,
    /// Reject / abort reason.
    pub reason: Option<u8>,
}

impl ApduHeader {
    /// Confirmed request / complex ack: segmented message.
    pub fn segmented(&self) -> bool {
        matches!(self.pdu_type, 0 | 3) && self.flags & 0x08 != 0
    }
    /// More segments follow.
    pub fn more_follows(&self) -> bool {
        matches!(self.pdu_type, 0 | 3) && self.flags & 0x04 != 0
    }
    /// Confirmed request: segmented response accepted.
    pub fn segmented_response_accepted(&self) -> bool {
        self.pdu_type == 0 && self.flags & 0x02 != 0
    }
    /// Segment ack: negative ack; segment ack / abort: sent by server.
    pub fn nak(&self) -> bool {
        self.pdu_type == 4 && self.flags & 0x02 != 0
    }
    pub fn server(&self) -> bool {
        matches!(self.pdu_type, 4 | 7) && self.flags & 0x01 != 0
    }
    pub fn is_request(&self) -> bool {
        self.pdu_type <= 1
    }
}

/// A BACnet object identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectId {
    pub object_type: u16,
    pub instance: u32,
}

impl ObjectId {
    pub fn from_u32(v: u32) -> ObjectId {
        ObjectId {
            object_type: (v >> 22) as u16,
            instance: v & 0x3f_ffff,
        }
    }
    fn from_bytes(b: &[u8]) -> Option<ObjectId> {
        let b: [u8; 4] = b.try_into().ok()?;
        Some(ObjectId::from_u32(u32::from_be_bytes(b)))
    }
}

/// An application-tagged value (the first one of a property value).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Real(f32),
    Double(f64),
    OctetString(&'a [u8]),
    /// Character set and the string bytes.
    CharString(u8, &'a [u8]),
    BitString(&'a [u8]),
    Enumerated(u32),
    Date([u8; 4]),
    Time([u8; 4]),
    ObjectId(ObjectId),
}

/// Identity-bearing device properties seen in a read response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceProps<'a> {
    pub object_name: Option<&'a [u8]>,
    pub vendor_name: Option<&'a [u8]>,
    pub model_name: Option<&'a [u8]>,
    pub firmware_revision: Option<&'a [u8]>,
    pub application_software_version: Option<&'a [u8]>,
    pub serial_number: Option<&'a [u8]>,
    pub vendor_identifier: Option<u32>,
}

impl DeviceProps<'_> {
    pub fn is_empty(&self) -> bool {
        *self == DeviceProps::default()
    }
}

/// Property identifiers used for identity.
pub mod prop {
    pub const APPLICATION_SOFTWARE_VERSION: u32 = 12;
    pub const FIRMWARE_REVISION: u32 = 44;
    pub const MODEL_NAME: u32 = 70;
    pub const OBJECT_NAME: u32 = 77;
    pub const VENDOR_IDENTIFIER: u32 = 120;
    pub const VENDOR_NAME: u32 = 121;
    pub const SERIAL_NUMBER: u32 = 372;
}

/// Object type of the device object.
pub const DEVICE: u16 = 8;

/// What the service data says (fields filled per service).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Detail<'a> {
    /// The (first) object addressed.
    pub object: Option<ObjectId>,
    /// The (first) property addressed.
    pub property: Option<u32>,
    pub array_index: Option<u32>,
    /// Write priority (1..16).
    pub priority: Option<u8>,
    /// First value of a read response / write request / notification.
    pub value: Option<Value<'a>>,
    /// Who-Is / Who-Has device instance range.
    pub range_low: Option<u32>,
    pub range_high: Option<u32>,
    /// I-Am / I-Have device, COV initiating device.
    pub device: Option<ObjectId>,
    /// I-Am.
    pub max_apdu: Option<u32>,
    pub segmentation: Option<u32>,
    pub vendor_id: Option<u32>,
    /// Who-Has / I-Have object name.
    pub object_name: Option<&'a [u8]>,
    /// ReinitializeDevice state / DeviceCommunicationControl enable-disable.
    pub state: Option<u32>,
    /// DeviceCommunicationControl duration (minutes).
    pub duration: Option<u32>,
    /// A password is present (ReinitializeDevice, DeviceCommunicationControl).
    pub password: Option<bool>,
    /// COV subscriber process id.
    pub process_id: Option<u32>,
    /// COV lifetime / time remaining (seconds).
    pub lifetime: Option<u32>,
    /// COV: issue confirmed notifications.
    pub confirmed: Option<bool>,
    /// SubscribeCOV without lifetime/confirmed is a cancellation.
    pub cancel: bool,
    /// Atomic file access: start position/record, count, record access.
    pub file_start: Option<i32>,
    pub file_count: Option<u32>,
    pub file_record_access: Option<bool>,
    pub end_of_file: Option<bool>,
    /// Bytes of file data carried.
    pub file_data_len: Option<u32>,
    /// RPM/WPM/COV list: objects and properties named.
    pub objects: u16,
    pub properties: u16,
    /// Error PDU.
    pub error_class: Option<u32>,
    pub error_code: Option<u32>,
    /// Time synchronization: date (year-1900, month, day, weekday) and time (h, m, s, 1/100).
    pub date: Option<[u8; 4]>,
    pub time: Option<[u8; 4]>,
    /// Private transfer vendor id and service number.
    pub private_service: Option<u32>,
    /// Identity properties read from a device object (read acks).
    pub device_props: DeviceProps<'a>,
}

/// Why a datagram did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// First octet is not 0x81.
    BadBvlcType(u8),
    /// BVLC length field disagrees with the datagram length: (field, seen).
    BadBvlcLength(u16, usize),
    /// BVLC function code unknown.
    UnknownBvlcFunction(u8),
    /// BVLC function body shorter than required: (function, needed, seen).
    TruncatedBvlc(u8, usize, usize),
    /// NPDU version other than 1.
    BadNpduVersion(u8),
    /// NPDU header cut short.
    TruncatedNpdu(usize),
    /// APDU header cut short: (pdu type, octets seen).
    TruncatedApdu(u8, usize),
    /// APDU type 8..15.
    BadPduType(u8),
    /// Service data with a tag running past the end: (function code, offset).
    BadTag(u16, usize),
    /// A segment arrived out of order: (invoke id, expected, seen).
    SegmentOutOfOrder(u8, u8, u8),
    /// A segmented message grew beyond the reassembly limit: (invoke id, bytes).
    SegmentedTooLarge(u8, usize),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadBvlcType(_) => "bad_bvlc_type",
            Error::BadBvlcLength(..) => "bad_bvlc_length",
            Error::UnknownBvlcFunction(_) => "unknown_bvlc_function",
            Error::TruncatedBvlc(..) => "truncated_bvlc",
            Error::BadNpduVersion(_) => "bad_npdu_version",
            Error::TruncatedNpdu(_) => "truncated_npdu",
            Error::TruncatedApdu(..) => "truncated_apdu",
            Error::BadPduType(_) => "bad_pdu_type",
            Error::BadTag(..) => "bad_tag",
            Error::SegmentOutOfOrder(..) => "segment_out_of_order",
            Error::SegmentedTooLarge(..) => "segmented_message_too_large",
        }
    }
    pub fn function(&self) -> Option<u16> {
        match *self {
            Error::UnknownBvlcFunction(f) | Error::TruncatedBvlc(f, ..) => Some(0xE000 | f as u16),
            Error::BadPduType(t) | Error::TruncatedApdu(t, _) => Some((t as u16) << 8),
            Error::BadTag(fc, _) => Some(fc),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::BadBvlcType(t) => write!(f, "BVLC type 0x{t:02x}, expected 0x81"),
            Error::BadBvlcLength(l, s) => {
                write!(f, "BVLC length {l}, datagram carries {s} octets")
            }
            Error::UnknownBvlcFunction(x) => write!(f, "unknown BVLC function 0x{x:02x}"),
            Error::TruncatedBvlc(x, n, s) => write!(
                f,
                "BVLC function 0x{x:02x} needs {n} octets after the header, has {s}"
            ),
            Error::BadNpduVersion(v) => write!(f, "NPDU version {v}, expected 1"),
            Error::TruncatedNpdu(n) => write!(f, "NPDU header cut short after {n} octets"),
            Error::TruncatedApdu(t, n) => {
                write!(f, "APDU type {t} header cut short ({n} octets)")
            }
            Error::BadPduType(t) => write!(f, "APDU type {t}, expected 0..=7"),
            Error::BadTag(fc, o) => write!(
                f,
                "service data of function 0x{fc:04x}: tag at offset {o} runs past the end"
            ),
            Error::SegmentOutOfOrder(i, e, s) => write!(
                f,
                "segmented message invoke id {i}: expected segment {e}, got {s}"
            ),
            Error::SegmentedTooLarge(i, n) => write!(
                f,
                "segmented message invoke id {i} exceeds the reassembly limit ({n} octets)"
            ),
        }
    }
}

/// Parses the BVLC header; returns it and the NPDU bytes when the function carries one.
pub fn parse_bvlc(b: &[u8]) -> Result<(Bvlc, Option<&[u8]>), Error> {
    let mut c = Cursor::new(b);
    let (Some(t), Some(function), Some(length)) = (c.u8(), c.u8(), c.be16()) else {
        return Err(Error::BadBvlcLength(0, b.len()));
    };
    if t != BVLC_TYPE {
        return Err(Error::BadBvlcType(t));
    }
    // A length that disagrees with the datagram is checked by the caller:
    // the rest of the datagram is still dissected (as Wireshark does).
    let mut h = Bvlc {
        function,
        length,
        origin: None,
        result_code: None,
        ttl: None,
        entries: None,
    };
    let body = c.rest();
    let need = |n: usize| {
        if body.len() < n {
            Err(Error::TruncatedBvlc(function, n, body.len()))
        } else {
            Ok(())
        }
    };
    match function {
        bvlc::RESULT => {
            need(2)?;
            h.result_code = Some(u16::from_be_bytes([body[0], body[1]]));
            Ok((h, None))
        }
        bvlc::WRITE_BDT | bvlc::READ_BDT_ACK => {
            h.entries = Some((body.len() / 10) as u16);
            Ok((h, None))
        }
        bvlc::READ_FDT_ACK => {
            h.entries = Some((body.len() / 10) as u16);
            Ok((h, None))
        }
        bvlc::READ_BDT | bvlc::READ_FDT => Ok((h, None)),
        bvlc::REGISTER_FD => {
            need(2)?;
            h.ttl = Some(u16::from_be_bytes([body[0], body[1]]));
            Ok((h, None))
        }
        bvlc::DELETE_FDT_ENTRY => {
            need(6)?;
            h.origin = Some((
                [body[0], body[1], body[2], body[3]],
                u16::from_be_bytes([body[4], body[5]]),
            ));
            Ok((h, None))
        }
        bvlc::FORWARDED_NPDU => {
            need(6)?;
            h.origin = Some((
                [body[0], body[1], body[2], body[3]],
                u16::from_be_bytes([body[4], body[5]]),
            ));
            Ok((h, Some(&body[6..])))
        }
        bvlc::DISTRIBUTE_BROADCAST | bvlc::ORIGINAL_UNICAST | bvlc::ORIGINAL_BROADCAST => {
            Ok((h, Some(body)))
        }
        bvlc::SECURE_BVLL => Ok((h, None)),
        _ => Err(Error::UnknownBvlcFunction(function)),
    }
}

/// Parses the NPDU header; returns it and the APDU (or network message body).
pub fn parse_npdu(b: &[u8]) -> Result<(Npdu<'_>, &[u8]), Error> {
    let mut c = Cursor::new(b);
    let short = |c: &Cursor<'_>| Error::TruncatedNpdu(c.pos());
    let version = c.u8().ok_or(Error::TruncatedNpdu(0))?;
    if version != NPDU_VERSION {
        return Err(Error::BadNpduVersion(version));
    }
    let control = c.u8().ok_or_else(|| short(&c))?;
    let mut n = Npdu {
        version,
        control,
        dnet: None,
        dadr: &[],
        snet: None,
        sadr: &[],
        hop_count: None,
        message_type: None,
        vendor_id: None,
    };
    if control & 0x20 != 0 {
        n.dnet = Some(c.be16().ok_or_else(|| short(&c))?);
        let l = c.u8().ok_or_else(|| short(&c))?;
        n.dadr = c.take(l as usize).ok_or_else(|| short(&c))?;
    }
    if control & 0x08 != 0 {
        n.snet = Some(c.be16().ok_or_else(|| short(&c))?);
        let l = c.u8().ok_or_else(|| short(&c))?;
        n.sadr = c.take(l as usize).ok_or_else(|| short(&c))?;
    }
    if control & 0x20 != 0 {
        n.hop_count = Some(c.u8().ok_or_else(|| short(&c))?);
    }
    if control & 0x80 != 0 {
        let t = c.u8().ok_or_else(|| short(&c))?;
        n.message_type = Some(t);
        if t >= 0x80 {
            n.vendor_id = Some(c.be16().ok_or_else(|| short(&c))?);
        }
    }
    Ok((n, c.rest()))
}

/// Parses the APDU header; returns it and the service data.
pub fn parse_apdu_header(b: &[u8]) -> Result<(ApduHeader, &[u8]), Error> {
    let mut c = Cursor::new(b);
    let b0 = c.u8().ok_or(Error::TruncatedApdu(0, 0))?;
    let t = b0 >> 4;
    let mut h = ApduHeader {
        pdu_type: t,
        flags: b0 & 0x0f,
        ..ApduHeader::default()
    };
    let short = Error::TruncatedApdu(t, b.len());
    match t {
        pdu::CONFIRMED_REQUEST => {
            let ms = c.u8().ok_or(short)?;
            h.max_segs = Some((ms >> 4) & 7);
            h.max_apdu = Some(ms & 0x0f);
            h.invoke_id = Some(c.u8().ok_or(short)?);
            if h.segmented() {
                h.sequence = Some(c.u8().ok_or(short)?);
                h.window = Some(c.u8().ok_or(short)?);
            }
            h.service = Some(c.u8().ok_or(short)?);
        }
        pdu::UNCONFIRMED_REQUEST => h.service = Some(c.u8().ok_or(short)?),
        pdu::SIMPLE_ACK => {
            h.invoke_id = Some(c.u8().ok_or(short)?);
            h.service = Some(c.u8().ok_or(short)?);
        }
        pdu::COMPLEX_ACK => {
            h.invoke_id = Some(c.u8().ok_or(short)?);
            if h.segmented() {
                h.sequence = Some(c.u8().ok_or(short)?);
                h.window = Some(c.u8().ok_or(short)?);
            }
            h.service = Some(c.u8().ok_or(short)?);
        }
        pdu::SEGMENT_ACK => {
            h.invoke_id = Some(c.u8().ok_or(short)?);
            h.sequence = Some(c.u8().ok_or(short)?);
            h.window = Some(c.u8().ok_or(short)?);
        }
        pdu::ERROR => {
            h.invoke_id = Some(c.u8().ok_or(short)?);
            h.service = Some(c.u8().ok_or(short)?);
        }
        pdu::REJECT | pdu::ABORT => {
            h.invoke_id = Some(c.u8().ok_or(short)?);
            h.reason = Some(c.u8().ok_or(short)?);
        }
        _ => return Err(Error::BadPduType(t)),
    }
    Ok((h, c.rest()))
}

/// The counted key of an APDU: type × 256 + service choice.
pub fn apdu_function_code(h: &ApduHeader) -> u16 {
    ((h.pdu_type as u16) << 8) | h.service.unwrap_or(0) as u16
}

// ---------------------------------------------------------------- tags

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TagKind {
    Data,
    Open,
    Close,
}

/// One tag of the service data.
#[derive(Clone, Copy, Debug)]
struct Tag<'a> {
    number: u8,
    context: bool,
    kind: TagKind,
    /// Length/value/type field (boolean application tags carry the value here).
    lvt: u32,
    data: &'a [u8],
}

/// Reads the next tag; `Err(offset)` when it runs past the end.
fn next_tag<'a>(c: &mut Cursor<'a>) -> Result<Option<Tag<'a>>, usize> {
    let at = c.pos();
    let Some(b0) = c.u8() else { return Ok(None) };
    let mut number = b0 >> 4;
    if number == 15 {
        number = c.u8().ok_or(at)?;
    }
    let context = b0 & 0x08 != 0;
    let lvt = b0 & 7;
    if context && lvt == 6 {
        return Ok(Some(Tag {
            number,
            context,
            kind: TagKind::Open,
            lvt: 0,
            data: &[],
        }));
    }
    if context && lvt == 7 {
        return Ok(Some(Tag {
            number,
            context,
            kind: TagKind::Close,
            lvt: 0,
            data: &[],
        }));
    }
    if !context && number == 1 {
        // Application boolean: the value is in the tag.
        return Ok(Some(Tag {
            number,
            context,
            kind: TagKind::Data,
            lvt: lvt as u32,
            data: &[],
        }));
    }
    let len = if lvt == 5 {
        match c.u8().ok_or(at)? {
            254 => c.be16().ok_or(at)? as u32,
            255 => c.be32().ok_or(at)?,
            n => n as u32,
        }
    } else {
        lvt as u32
    };
    let data = c.take(len as usize).ok_or(at)?;
    Ok(Some(Tag {
        number,
        context,
        kind: TagKind::Data,
        lvt: len,
        data,
    }))
}

fn unsigned(d: &[u8]) -> Option<u64> {
    if d.is_empty() || d.len() > 8 {
        return None;
    }
    Some(d.iter().fold(0u64, |a, &b| (a << 8) | b as u64))
}

fn unsigned32(d: &[u8]) -> Option<u32> {
    unsigned(d).and_then(|v| u32::try_from(v).ok())
}

fn signed(d: &[u8]) -> Option<i64> {
    let u = unsigned(d)?;
    let bits = d.len() as u32 * 8;
    Some(if bits < 64 && u >> (bits - 1) & 1 == 1 {
        (u as i64) - (1i64 << bits)
    } else {
        u as i64
    })
}

/// The value of an application tag.
fn app_value<'a>(t: &Tag<'a>) -> Option<Value<'a>> {
    if t.context || t.kind != TagKind::Data {
        return None;
    }
    let d = t.data;
    Some(match t.number {
        0 => Value::Null,
        1 => Value::Bool(t.lvt != 0),
        2 => Value::Unsigned(unsigned(d)?),
        3 => Value::Signed(signed(d)?),
        4 => Value::Real(f32::from_be_bytes(d.try_into().ok()?)),
        5 => Value::Double(f64::from_be_bytes(d.try_into().ok()?)),
        6 => Value::OctetString(d),
        7 => Value::CharString(*d.first()?, &d[1..]),
        8 => Value::BitString(d),
        9 => Value::Enumerated(unsigned32(d)?),
        10 => Value::Date(d.try_into().ok()?),
        11 => Value::Time(d.try_into().ok()?),
        12 => Value::ObjectId(ObjectId::from_bytes(d)?),
        _ => return None,
    })
}

/// Walks every tag of the service data, with the nesting depth (0 at top
/// level) and the context number of the enclosing opening tag at depth 1.
/// `Err(offset)` on a tag running past the end.
fn walk<'a>(data: &'a [u8], mut f: impl FnMut(&Tag<'a>, u8, Option<u8>)) -> Result<(), usize> {
    let mut c = Cursor::new(data);
    let mut depth: u8 = 0;
    let mut outer: Option<u8> = None;
    // Bounded: every tag consumes at least one octet.
    while let Some(t) = next_tag(&mut c)? {
        match t.kind {
            TagKind::Open => {
                f(&t, depth, outer);
                depth = depth.saturating_add(1);
                if depth == 1 {
                    outer = Some(t.number);
                }
            }
            TagKind::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    outer = None;
                }
                f(&t, depth, outer);
            }
            TagKind::Data => f(&t, depth, outer),
        }
    }
    Ok(())
}

fn char_string<'a>(t: &Tag<'a>) -> Option<&'a [u8]> {
    match app_value(t) {
        Some(Value::CharString(_, s)) => Some(s),
        _ => None,
    }
}

fn record_device_prop<'a>(d: &mut Detail<'a>, obj: Option<ObjectId>, prop: u32, t: &Tag<'a>) {
    if obj.is_none_or(|o| o.object_type != DEVICE) {
        return;
    }
    let p = &mut d.device_props;
    let slot = match prop {
        prop::OBJECT_NAME => &mut p.object_name,
        prop::VENDOR_NAME => &mut p.vendor_name,
        prop::MODEL_NAME => &mut p.model_name,
        prop::FIRMWARE_REVISION => &mut p.firmware_revision,
        prop::APPLICATION_SOFTWARE_VERSION => &mut p.application_software_version,
        prop::SERIAL_NUMBER => &mut p.serial_number,
        prop::VENDOR_IDENTIFIER => {
            if let Some(Value::Unsigned(v)) = app_value(t) {
                p.vendor_identifier = u32::try_from(v).ok();
            }
            return;
        }
        _ => return,
    };
    if slot.is_none() {
        *slot = char_string(t);
    }
}

/// Decodes the service data of an APDU (complete, i.e. reassembled).
pub fn parse_service<'a>(h: &ApduHeader, data: &'a [u8]) -> Result<Detail<'a>, Error> {
    let mut d = Detail::default();
    let fc = apdu_function_code(h);
    let Some(svc) = h.service else {
        return Ok(d);
    };
    let res = match (h.pdu_type, svc) {
        (pdu::UNCONFIRMED_REQUEST, 0) => i_am(&mut d, data),
        (pdu::UNCONFIRMED_REQUEST, 1) => i_have(&mut d, data),
        (pdu::UNCONFIRMED_REQUEST, 8) | (pdu::UNCONFIRMED_REQUEST, 7) => who(&mut d, data),
        (pdu::UNCONFIRMED_REQUEST, 6) | (pdu::UNCONFIRMED_REQUEST, 9) => time_sync(&mut d, data),
        (pdu::UNCONFIRMED_REQUEST, 2) | (pdu::CONFIRMED_REQUEST, 1) => {
            cov_notification(&mut d, data)
        }
        (pdu::UNCONFIRMED_REQUEST, 4) | (pdu::CONFIRMED_REQUEST, 18) => private(&mut d, data),
        (pdu::CONFIRMED_REQUEST, 5) | (pdu::CONFIRMED_REQUEST, 28) => subscribe_cov(&mut d, data),
        (pdu::CONFIRMED_REQUEST, 6) => file_request(&mut d, data, false),
        (pdu::CONFIRMED_REQUEST, 7) => file_request(&mut d, data, true),
        (pdu::COMPLEX_ACK, 6) => file_read_ack(&mut d, data),
        (pdu::COMPLEX_ACK, 7) => file_write_ack(&mut d, data),
        (pdu::CONFIRMED_REQUEST, 14) | (pdu::CONFIRMED_REQUEST, 16) => {
            property_list(&mut d, data, svc == 16)
        }
        (pdu::COMPLEX_ACK, 14) => rpm_ack(&mut d, data),
        (pdu::CONFIRMED_REQUEST, 12)
        | (pdu::CONFIRMED_REQUEST, 15)
        | (pdu::COMPLEX_ACK, 12)
        | (pdu::CONFIRMED_REQUEST, 26)
        | (pdu::COMPLEX_ACK, 26) => read_write_property(&mut d, data),
        (pdu::CONFIRMED_REQUEST, 20) => reinitialize(&mut d, data),
        (pdu::CONFIRMED_REQUEST, 17) => dcc(&mut d, data),
        (pdu::ERROR, _) => error(&mut d, data),
        (pdu::CONFIRMED_REQUEST, _) | (pdu::UNCONFIRMED_REQUEST, _) | (pdu::COMPLEX_ACK, _) => {
            // Other services: the first object identifier, wherever it is.
            walk(data, |t, depth, _| {
                if depth == 0 && d.object.is_none() && t.kind == TagKind::Data {
                    if t.context && t.number == 0 && t.data.len() == 4 {
                        d.object = ObjectId::from_bytes(t.data);
                    } else if let Some(Value::ObjectId(o)) = app_value(t) {
                        d.object = Some(o);
                    }
                }
            })
        }
        _ => Ok(()),
    };
    res.map_err(|o| Error::BadTag(fc, o))?;
    Ok(d)
}

fn ctx_obj(t: &Tag<'_>) -> Option<ObjectId> {
    ObjectId::from_bytes(t.data)
}

fn i_am<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    let mut i = 0;
    walk(data, |t, _, _| {
        match (i, app_value(t)) {
            (0, Some(Value::ObjectId(o))) => {
                d.device = Some(o);
                d.object = Some(o);
            }
            (1, Some(Value::Unsigned(v))) => d.max_apdu = u32::try_from(v).ok(),
            (2, Some(Value::Enumerated(v))) => d.segmentation = Some(v),
            (3, Some(Value::Unsigned(v))) => d.vendor_id = u32::try_from(v).ok(),
            _ => {}
        }
        i += 1;
    })
}

fn i_have<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    let mut i = 0;
    walk(data, |t, _, _| {
        match (i, app_value(t)) {
            (0, Some(Value::ObjectId(o))) => d.device = Some(o),
            (1, Some(Value::ObjectId(o))) => d.object = Some(o),
            (2, Some(Value::CharString(_, s))) => d.object_name = Some(s),
            _ => {}
        }
        i += 1;
    })
}

fn who<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    walk(data, |t, depth, _| {
        if depth != 0 || !t.context || t.kind != TagKind::Data {
            return;
        }
        match t.number {
            0 => d.range_low = unsigned32(t.data),
            1 => d.range_high = unsigned32(t.data),
            2 => d.object = ctx_obj(t),
            3 => {
                d.object_name = t.data.get(1..);
            }
            _ => {}
        }
    })
}

fn time_sync<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    walk(data, |t, _, _| match app_value(t) {
        Some(Value::Date(v)) => d.date = Some(v),
        Some(Value::Time(v)) => d.time = Some(v),
        _ => {}
    })
}

fn cov_notification<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    walk(data, |t, depth, outer| {
        if t.kind != TagKind::Data {
            return;
        }
        match (depth, outer, t.context, t.number) {
            (0, _, true, 0) => d.process_id = unsigned32(t.data),
            (0, _, true, 1) => d.device = ctx_obj(t),
            (0, _, true, 2) => d.object = ctx_obj(t),
            (0, _, true, 3) => d.lifetime = unsigned32(t.data),
            (1, Some(4), true, 0) => {
                d.properties += 1;
                if d.property.is_none() {
                    d.property = unsigned32(t.data);
                }
            }
            (2, Some(4), false, _) if d.value.is_none() && d.properties == 1 => {
                d.value = app_value(t);
            }
            _ => {}
        }
    })
}

fn private<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    walk(data, |t, depth, _| {
        if depth == 0 && t.context && t.kind == TagKind::Data {
            match t.number {
                0 => d.vendor_id = unsigned32(t.data),
                1 => d.private_service = unsigned32(t.data),
                _ => {}
            }
        }
    })
}

fn subscribe_cov<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    walk(data, |t, depth, outer| {
        if t.kind != TagKind::Data || !t.context {
            return;
        }
        match (depth, outer, t.number) {
            (0, _, 0) => d.process_id = unsigned32(t.data),
            (0, _, 1) => d.object = ctx_obj(t),
            (0, _, 2) => d.confirmed = Some(t.data.first().is_some_and(|&b| b != 0)),
            (0, _, 3) => d.lifetime = unsigned32(t.data),
            (1, Some(4), 0) => d.property = unsigned32(t.data),
            (1, Some(4), 1) => d.array_index = unsigned32(t.data),
            _ => {}
        }
    })?;
    d.cancel = d.confirmed.is_none() && d.lifetime.is_none();
    Ok(())
}

fn file_request<'a>(d: &mut Detail<'a>, data: &'a [u8], write: bool) -> Result<(), usize> {
    let mut i = 0;
    walk(data, |t, depth, outer| match (depth, t.kind) {
        (0, TagKind::Data) => {
            if let Some(Value::ObjectId(o)) = app_value(t) {
                d.object = Some(o);
            }
        }
        (0, TagKind::Open) => d.file_record_access = Some(t.number == 1),
        (1, TagKind::Data) => {
            let record = outer == Some(1);
            match (i, app_value(t)) {
                (0, Some(Value::Signed(v))) => d.file_start = i32::try_from(v).ok(),
                (1, Some(Value::Unsigned(v))) if !write || record => {
                    d.file_count = u32::try_from(v).ok()
                }
                (_, Some(Value::OctetString(s))) if write => {
                    d.file_data_len = Some(d.file_data_len.unwrap_or(0) + s.len() as u32)
                }
                _ => {}
            }
            i += 1;
        }
        _ => {}
    })
}

fn file_read_ack<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    let mut i = 0;
    walk(data, |t, depth, _| match (depth, t.kind) {
        (0, TagKind::Data) => {
            if let Some(Value::Bool(b)) = app_value(t) {
                d.end_of_file = Some(b);
            }
        }
        (0, TagKind::Open) => d.file_record_access = Some(t.number == 1),
        (1, TagKind::Data) => {
            match (i, app_value(t)) {
                (0, Some(Value::Signed(v))) => d.file_start = i32::try_from(v).ok(),
                (1, Some(Value::Unsigned(v))) => d.file_count = u32::try_from(v).ok(),
                (_, Some(Value::OctetString(s))) => {
                    d.file_data_len = Some(d.file_data_len.unwrap_or(0) + s.len() as u32)
                }
                _ => {}
            }
            i += 1;
        }
        _ => {}
    })
}

fn file_write_ack<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    walk(data, |t, depth, _| {
        if depth == 0 && t.context && t.kind == TagKind::Data {
            d.file_record_access = Some(t.number == 1);
            d.file_start = signed(t.data).and_then(|v| i32::try_from(v).ok());
        }
    })
}

/// ReadPropertyMultiple / WritePropertyMultiple requests.
fn property_list<'a>(d: &mut Detail<'a>, data: &'a [u8], write: bool) -> Result<(), usize> {
    walk(data, |t, depth, outer| match (depth, t.kind, t.context) {
        (0, TagKind::Data, true) if t.number == 0 => {
            d.objects += 1;
            if d.object.is_none() {
                d.object = ctx_obj(t);
            }
        }
        (1, TagKind::Data, true) if outer == Some(1) => match t.number {
            0 => {
                d.properties += 1;
                if d.property.is_none() {
                    d.property = unsigned32(t.data);
                }
            }
            1 if d.properties == 1 && d.objects == 1 => d.array_index = unsigned32(t.data),
            3 if write && d.properties == 1 && d.objects == 1 => {
                d.priority = t.data.first().copied()
            }
            _ => {}
        },
        (2, TagKind::Data, false) if write && d.value.is_none() => d.value = app_value(t),
        _ => {}
    })
}

fn rpm_ack<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    let mut cur_obj: Option<ObjectId> = None;
    let mut cur_prop: Option<u32> = None;
    let mut in_value = false;
    let mut first_value_done = false;
    let mut depth2_open: Option<u8> = None;
    walk(data, |t, depth, _| match (depth, t.kind, t.context) {
        (0, TagKind::Data, true) if t.number == 0 => {
            d.objects += 1;
            cur_obj = ctx_obj(t);
            if d.object.is_none() {
                d.object = cur_obj;
            }
        }
        (1, TagKind::Data, true) if t.number == 2 => {
            d.properties += 1;
            cur_prop = unsigned32(t.data);
            if d.property.is_none() {
                d.property = cur_prop;
            }
        }
        (1, TagKind::Data, true) if t.number == 3 && d.properties == 1 => {
            d.array_index = unsigned32(t.data)
        }
        (1, TagKind::Open, true) => {
            depth2_open = Some(t.number);
            in_value = t.number == 4;
        }
        (1, TagKind::Close, true) => {
            if in_value {
                first_value_done = true;
            }
            in_value = false;
            depth2_open = None;
        }
        (2, TagKind::Data, false) if in_value => {
            if !first_value_done && d.value.is_none() {
                d.value = app_value(t);
            }
            if let Some(p) = cur_prop {
                record_device_prop(d, cur_obj, p, t);
            }
        }
        (2, TagKind::Data, false) if depth2_open == Some(5) => {
            // Property access error: class, code.
            if let Some(Value::Enumerated(v)) = app_value(t) {
                if d.error_class.is_none() {
                    d.error_class = Some(v);
                } else if d.error_code.is_none() {
                    d.error_code = Some(v);
                }
            }
        }
        _ => {}
    })
}

/// ReadProperty request/ack, WriteProperty, ReadRange.
fn read_write_property<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    let mut values = 0u32;
    walk(data, |t, depth, outer| match (depth, t.kind, t.context) {
        (0, TagKind::Data, true) => match t.number {
            0 => d.object = ctx_obj(t),
            1 => d.property = unsigned32(t.data),
            2 => d.array_index = unsigned32(t.data),
            4 => d.priority = t.data.first().copied(),
            _ => {}
        },
        (1, TagKind::Data, false) if outer == Some(3) || outer == Some(5) => {
            if values == 0 {
                d.value = app_value(t);
            }
            values += 1;
            if let Some(p) = d.property {
                record_device_prop(d, d.object, p, t);
            }
        }
        _ => {}
    })
}

fn reinitialize<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    d.password = Some(false);
    walk(data, |t, depth, _| {
        if depth == 0 && t.context && t.kind == TagKind::Data {
            match t.number {
                0 => d.state = unsigned32(t.data),
                1 => d.password = Some(true),
                _ => {}
            }
        }
    })
}

fn dcc<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    d.password = Some(false);
    walk(data, |t, depth, _| {
        if depth == 0 && t.context && t.kind == TagKind::Data {
            match t.number {
                0 => d.duration = unsigned32(t.data),
                1 => d.state = unsigned32(t.data),
                2 => d.password = Some(true),
                _ => {}
            }
        }
    })
}

fn error<'a>(d: &mut Detail<'a>, data: &'a [u8]) -> Result<(), usize> {
    walk(data, |t, _, _| {
        if let Some(Value::Enumerated(v)) = app_value(t) {
            if d.error_class.is_none() {
                d.error_class = Some(v);
            } else if d.error_code.is_none() {
                d.error_code = Some(v);
            }
        }
    })
}

/// Name of a ReinitializeDevice state.
pub fn reinit_state_name(s: u32) -> &'static str {
    match s {
        0 => "coldstart",
        1 => "warmstart",
        2 => "start-backup",
        3 => "end-backup",
        4 => "start-restore",
        5 => "end-restore",
        6 => "abort-restore",
        7 => "activate-changes",
        _ => "unknown",
    }
}

/// Name of a DeviceCommunicationControl enable-disable value.
pub fn dcc_state_name(s: u32) -> &'static str {
    match s {
        0 => "enable",
        1 => "disable",
        2 => "disable-initiation",
        _ => "unknown",
    }
}

/// Name of a segmentation-supported value (I-Am).
pub fn segmentation_name(s: u32) -> &'static str {
    match s {
        0 => "segmented-both",
        1 => "segmented-transmit",
        2 => "segmented-receive",
        3 => "no-segmentation",
        _ => "unknown",
    }
}
