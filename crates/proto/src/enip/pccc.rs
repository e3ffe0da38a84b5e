//! PCCC (DF1 application layer) carried by CIP Execute PCCC (service 0x4B on
//! class 0x67): requestor id, then the DF1 command header CMD, STS, TNS and,
//! for the commands that have one, the function code FNC.
//!
//! Reference: Allen-Bradley *DF1 Protocol and Command Set* (1770-6.5.16),
//! chapter 7 (application layer) and chapters 8-9 (commands).

use crate::wire::Cursor;

/// PCCC message inside Execute PCCC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pccc<'a> {
    /// Requestor id: vendor id and serial number of the requesting device.
    pub vendor_id: u16,
    pub serial: u32,
    /// DF1 command byte (0x40 set on replies).
    pub command: u8,
    pub status: u8,
    pub tns: u16,
    /// Function code (requests of commands 0x0F, 0x06, 0x07, 0x0E and replies have none).
    pub function: Option<u8>,
    /// Extended status (replies with STS 0xF0).
    pub ext_status: Option<u8>,
    pub data: &'a [u8],
}

/// Commands whose request carries a function code byte.
fn has_function(cmd: u8) -> bool {
    matches!(cmd & 0x0f, 0x06 | 0x07 | 0x0e | 0x0f)
}

fn requestor(c: &mut Cursor<'_>) -> Option<(u16, u32)> {
    let len = c.u8()? as usize;
    if len < 7 {
        return None;
    }
    let vendor = c.le16()?;
    let serial = c.le32()?;
    c.skip(len - 7)?;
    Some((vendor, serial))
}

/// Execute PCCC request data.
pub fn parse_request(data: &[u8]) -> Option<Pccc<'_>> {
    let mut c = Cursor::new(data);
    let (vendor_id, serial) = requestor(&mut c)?;
    let command = c.u8()?;
    let status = c.u8()?;
    let tns = c.le16()?;
    let function = if has_function(command) {
        Some(c.u8()?)
    } else {
        None
    };
    Some(Pccc {
        vendor_id,
        serial,
        command,
        status,
        tns,
        function,
        ext_status: None,
        data: c.rest(),
    })
}

/// Execute PCCC reply data.
pub fn parse_reply(data: &[u8]) -> Option<Pccc<'_>> {
    let mut c = Cursor::new(data);
    let (vendor_id, serial) = requestor(&mut c)?;
    let command = c.u8()?;
    let status = c.u8()?;
    let tns = c.le16()?;
    let ext_status = if status == 0xf0 { Some(c.u8()?) } else { None };
    Some(Pccc {
        vendor_id,
        serial,
        command,
        status,
        tns,
        function: None,
        ext_status,
        data: c.rest(),
    })
}

/// Name of a PCCC command/function pair (request side).
pub fn function_name(command: u8, function: Option<u8>) -> &'static str {
    match (command & 0x0f, function) {
        (0x0f, Some(0x00)) => "word_range_write",
        (0x0f, Some(0x01)) => "word_range_read",
        (0x0f, Some(0x02)) => "bit_write",
        (0x0f, Some(0x03)) => "get_edit_resource",
        (0x0f, Some(0x04)) => "return_edit_resource",
        (0x0f, Some(0x11)) => "modify_plc2_mode",
        (0x0f, Some(0x26)) => "read_modify_write",
        (0x0f, Some(0x29)) => "read_section_size",
        (0x0f, Some(0x3a)) => "set_cpu_mode",
        (0x0f, Some(0x41)) => "disable_forces",
        (0x0f, Some(0x50)) => "upload_all_request",
        (0x0f, Some(0x52)) => "upload_completed",
        (0x0f, Some(0x53)) => "upload",
        (0x0f, Some(0x55)) => "download_completed",
        (0x0f, Some(0x56)) => "download_all_request",
        (0x0f, Some(0x57)) => "download",
        (0x0f, Some(0x5e)) => "read_modify_write_n",
        (0x0f, Some(0x67)) => "typed_write",
        (0x0f, Some(0x68)) => "typed_read",
        (0x0f, Some(0x80)) => "change_mode",
        (0x0f, Some(0x8f)) => "clear_memory",
        (0x0f, Some(0xa1)) => "protected_typed_logical_read_2",
        (0x0f, Some(0xa2)) => "protected_typed_logical_read_3",
        (0x0f, Some(0xa9)) => "protected_typed_logical_write_2",
        (0x0f, Some(0xaa)) => "protected_typed_logical_write_3",
        (0x0f, Some(0xab)) => "protected_typed_logical_write_mask",
        (0x06, Some(0x00)) => "echo",
        (0x06, Some(0x03)) => "diagnostic_status",
        (0x06, Some(0x04)) => "set_timeout",
        (0x06, Some(0x07)) => "set_variables",
        (0x06, Some(0x08)) => "reset_diagnostic_counters",
        (0x06, Some(0x0a)) => "set_nak",
        (0x06, Some(0x0b)) => "set_enq",
        (0x01, _) => "unprotected_read",
        (0x08, _) => "unprotected_write",
        (0x02, _) => "protected_bit_write",
        (0x05, _) => "unprotected_bit_write",
        (0x00, _) => "protected_write",
        _ => "other",
    }
}
