//! HART-IP (FieldComm Group HCF_SPEC-85): the 8-byte header and the
//! token-passing HART PDU carried by pass-through / direct PDU messages
//! (HCF_SPEC-081 frame layout; universal commands 0 and 13 per HCF_SPEC-127).
//! All integers are big-endian.

use crate::wire::Cursor;

pub const HDR_LEN: usize = 8;
/// Largest message waited for on a stream.
pub const MAX_MSG: usize = 8192;

pub fn message_type_name(t: u8) -> &'static str {
    match t {
        0 => "request",
        1 => "response",
        2 => "publish",
        3 => "error",
        15 => "nak",
        _ => "reserved",
    }
}

pub fn message_id_name(id: u8) -> &'static str {
    match id {
        0 => "session_initiate",
        1 => "session_close",
        2 => "keep_alive",
        3 => "pass_through",
        4 => "direct_pdu",
        5 => "read_audit_log",
        _ => "reserved",
    }
}

pub fn command_name(c: u8) -> &'static str {
    match c {
        0 => "read_unique_identifier",
        1 => "read_primary_variable",
        2 => "read_loop_current",
        3 => "read_dynamic_variables",
        6 => "write_polling_address",
        7 => "read_loop_configuration",
        8 => "read_dynamic_variable_classifications",
        9 => "read_device_variables_with_status",
        11 => "read_unique_identifier_by_tag",
        12 => "read_message",
        13 => "read_tag_descriptor_date",
        14 => "read_pv_transducer_information",
        15 => "read_device_information",
        16 => "read_final_assembly_number",
        17 => "write_message",
        18 => "write_tag_descriptor_date",
        19 => "write_final_assembly_number",
        20 => "read_long_tag",
        21 => "read_unique_identifier_by_long_tag",
        22 => "write_long_tag",
        38 => "reset_configuration_changed_flag",
        42 => "perform_device_reset",
        48 => "read_additional_device_status",
        _ => "other",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Version other than 1 or 2.
    BadVersion(u8),
    /// Byte count below the header or above the limit.
    BadByteCount(u16),
    /// A HART PDU shorter than its header or its byte count.
    PduTruncated { len: usize },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadVersion(_) => "bad_version",
            Error::BadByteCount(_) => "bad_byte_count",
            Error::PduTruncated { .. } => "pdu_truncated",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::BadVersion(v) => write!(f, "HART-IP version is {v}, expected 1 or 2"),
            Error::BadByteCount(n) => {
                write!(
                    f,
                    "HART-IP byte count is {n}, expected {HDR_LEN} to {MAX_MSG}"
                )
            }
            Error::PduTruncated { len } => write!(
                f,
                "HART PDU of {len} bytes is shorter than its delimiter, address, command and byte count say"
            ),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub message_type: u8,
    pub message_id: u8,
    pub status: u8,
    pub sequence: u16,
    pub byte_count: u16,
}

pub fn parse_header(b: &[u8]) -> Option<Header> {
    let mut c = Cursor::new(b);
    Some(Header {
        version: c.u8()?,
        message_type: c.u8()?,
        message_id: c.u8()?,
        status: c.u8()?,
        sequence: c.be16()?,
        byte_count: c.be16()?,
    })
}

/// Message length from the header; checks version and byte count.
pub fn message_len(b: &[u8]) -> Result<Option<usize>, Error> {
    let Some(h) = parse_header(b) else {
        return Ok(None);
    };
    if !(1..=2).contains(&h.version) {
        return Err(Error::BadVersion(h.version));
    }
    let n = h.byte_count as usize;
    if !(HDR_LEN..=MAX_MSG).contains(&n) {
        return Err(Error::BadByteCount(h.byte_count));
    }
    Ok(Some(n))
}

/// A token-passing HART PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    pub delimiter: u8,
    /// 1-byte polling address or 5-byte unique address.
    pub address: &'a [u8],
    pub command: u8,
    /// Slave-to-master frames: response code and field device status.
    pub response_code: Option<u8>,
    pub device_status: Option<u8>,
    pub data: &'a [u8],
}

impl Pdu<'_> {
    /// ACK (slave to master) or BACK (burst) frame.
    pub fn from_device(&self) -> bool {
        matches!(self.delimiter & 0x07, 1 | 6)
    }
}

pub fn parse_pdu(b: &[u8]) -> Result<Pdu<'_>, Error> {
    let e = Error::PduTruncated { len: b.len() };
    let mut c = Cursor::new(b);
    let delimiter = c.u8().ok_or(e)?;
    let addr_len = if delimiter & 0x80 != 0 { 5 } else { 1 };
    let address = c.take(addr_len).ok_or(e)?;
    c.skip(((delimiter >> 5) & 0x03) as usize).ok_or(e)?;
    let command = c.u8().ok_or(e)?;
    let count = c.u8().ok_or(e)? as usize;
    let body = c.take(count).ok_or(e)?;
    let from_device = matches!(delimiter & 0x07, 1 | 6);
    let (response_code, device_status, data) = if from_device && body.len() >= 2 {
        (Some(body[0]), Some(body[1]), &body[2..])
    } else {
        (None, None, body)
    };
    Ok(Pdu {
        delimiter,
        address,
        command,
        response_code,
        device_status,
        data,
    })
}

/// Command 0 response: the device's unique identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UniqueId {
    /// Expanded device type (HART 7) or manufacturer id << 8 | device type (HART 5/6).
    pub device_type: u16,
    pub universal_rev: u8,
    pub device_rev: u8,
    pub software_rev: u8,
    pub hardware_rev: u8,
    pub device_id: u32,
    /// HART 7 manufacturer identification code, else the HART 5 byte.
    pub manufacturer_id: u16,
}

pub fn parse_command0(d: &[u8]) -> Option<UniqueId> {
    if d.len() < 12 || d[0] != 254 {
        return None;
    }
    let device_type = u16::from_be_bytes([d[1], d[2]]);
    let manufacturer_id = match d.get(17..19) {
        Some(m) if d[4] >= 7 => u16::from_be_bytes([m[0], m[1]]),
        _ => d[1] as u16,
    };
    Some(UniqueId {
        device_type,
        universal_rev: d[4],
        device_rev: d[5],
        software_rev: d[6],
        hardware_rev: d[7] >> 3,
        device_id: u32::from_be_bytes([0, d[9], d[10], d[11]]),
        manufacturer_id,
    })
}

/// Unpacks HART packed ASCII (6-bit characters, 4 per 3 bytes) into `out`.
pub fn unpack_ascii(packed: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    for ch in packed.chunks_exact(3) {
        let v = u32::from_be_bytes([0, ch[0], ch[1], ch[2]]);
        for i in (0..4).rev() {
            let c = ((v >> (6 * i)) & 0x3f) as u8;
            let c = if c < 0x20 { c + 0x40 } else { c };
            if n < out.len() {
                out[n] = c;
                n += 1;
            }
        }
    }
    n
}
