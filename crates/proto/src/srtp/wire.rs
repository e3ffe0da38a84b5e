//! GE SRTP (Service Request Transport Protocol) messages: a 56-byte header
//! and optional data whose length is in header bytes 4-5 (little-endian).
//!
//! Layout from public reverse engineering: Denton et al., "Leveraging the
//! SRTP protocol for over-the-network memory acquisition of a GE Fanuc Series
//! 90-30" (DFRWS 2017), and the service request codes of GE's SNP/SRTP
//! documentation as collected by the `gesrtp-py` driver.

pub const HDR_LEN: usize = 56;

pub mod packet_type {
    pub const INIT_REQUEST: u8 = 0x00;
    pub const INIT_RESPONSE: u8 = 0x01;
    pub const REQUEST: u8 = 0x02;
    pub const RESPONSE: u8 = 0x03;
}

pub mod mailbox {
    pub const REQUEST: u8 = 0xc0;
    pub const ACK: u8 = 0xd4;
    pub const ACK_WITH_DATA: u8 = 0x94;
    pub const ERROR: u8 = 0xd1;
}

pub fn service_name(c: u8) -> &'static str {
    match c {
        0x00 => "plc_short_status",
        0x03 => "return_control_program_names",
        0x04 => "read_system_memory",
        0x05 => "read_task_memory",
        0x06 => "read_program_block_memory",
        0x07 => "write_system_memory",
        0x08 => "write_task_memory",
        0x09 => "write_program_block_memory",
        0x20 => "programmer_logon",
        0x21 => "change_privilege_level",
        0x22 => "set_control_id",
        0x23 => "set_plc_state",
        0x24 => "set_plc_time_date",
        0x25 => "return_plc_time_date",
        0x38 => "return_fault_table",
        0x39 => "clear_fault_table",
        0x3f => "program_store",
        0x40 => "program_load",
        0x43 => "return_controller_type_and_id",
        0x44 => "toggle_force_system_memory",
        _ => "unknown",
    }
}

pub fn segment_name(s: u8) -> &'static str {
    match s {
        0x08 => "%R",
        0x0a => "%AI",
        0x0c => "%AQ",
        0x10 | 0x46 => "%I",
        0x12 | 0x48 => "%Q",
        0x14 | 0x4a => "%T",
        0x16 | 0x4c => "%M",
        0x18 | 0x4e => "%SA",
        0x1a | 0x50 => "%SB",
        0x1c | 0x52 => "%SC",
        0x1e | 0x54 => "%S",
        0x38 | 0x56 => "%G",
        _ => "other",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Packet type other than 0-3.
    BadPacketType(u8),
    /// Mailbox message type not one SRTP uses for this packet type.
    BadMessageType { packet_type: u8, message_type: u8 },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadPacketType(_) => "bad_packet_type",
            Error::BadMessageType { .. } => "bad_message_type",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::BadPacketType(t) => {
                write!(f, "SRTP packet type is 0x{t:02x}, expected 0x00-0x03")
            }
            Error::BadMessageType {
                packet_type,
                message_type,
            } => write!(
                f,
                "SRTP packet type 0x{packet_type:02x} with mailbox message type 0x{message_type:02x} (expected c0 for requests; d4, 94 or d1 for responses)"
            ),
        }
    }
}

/// Total length of the message at `b` (header + data) once the header is present.
pub fn message_len(b: &[u8]) -> Result<Option<usize>, Error> {
    let Some(&t) = b.first() else {
        return Ok(None);
    };
    if t > 3 {
        return Err(Error::BadPacketType(t));
    }
    if b.len() < HDR_LEN {
        return Ok(None);
    }
    let mt = b[31];
    let ok = match t {
        packet_type::REQUEST => mt == mailbox::REQUEST,
        packet_type::RESPONSE => {
            matches!(mt, mailbox::ACK | mailbox::ACK_WITH_DATA | mailbox::ERROR)
        }
        _ => true,
    };
    if !ok {
        return Err(Error::BadMessageType {
            packet_type: t,
            message_type: mt,
        });
    }
    Ok(Some(HDR_LEN + u16::from_le_bytes([b[4], b[5]]) as usize))
}

/// One SRTP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub packet_type: u8,
    pub sequence: u8,
    pub data_length: u16,
    pub message_type: u8,
    /// Request: service request code, segment selector, address, length.
    pub service: Option<u8>,
    pub segment: Option<u8>,
    pub address: Option<u16>,
    pub length: Option<u16>,
    /// Response: major and minor status.
    pub status: Option<(u8, u8)>,
    /// Response: the 6 inline data bytes (bytes 44-49).
    pub inline: &'a [u8],
    /// Data after the header.
    pub data: &'a [u8],
}

/// Parses one whole message (`b` holds exactly `message_len` bytes).
pub fn parse(b: &[u8]) -> Result<Frame<'_>, Error> {
    message_len(b)?;
    let h = b.get(..HDR_LEN).ok_or(Error::BadPacketType(0xff))?;
    let t = h[0];
    let le = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]);
    let mut f = Frame {
        packet_type: t,
        sequence: h[2],
        data_length: le(4),
        message_type: h[31],
        service: None,
        segment: None,
        address: None,
        length: None,
        status: None,
        inline: &[],
        data: &b[HDR_LEN..],
    };
    match t {
        packet_type::REQUEST => {
            f.service = Some(h[42]);
            f.segment = Some(h[43]);
            f.address = Some(le(44));
            f.length = Some(le(46));
        }
        packet_type::RESPONSE => {
            f.status = Some((h[42], h[43]));
            f.inline = &h[44..50];
        }
        _ => {}
    }
    Ok(f)
}
