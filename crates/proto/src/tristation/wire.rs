//! Triconex TriStation (UDP 1502) frames: the TCM envelope (opcode, channel,
//! data length, data, CRC16) and the TriStation command header inside it.
//! Layout and command names from Nozomi Networks' public TriStation
//! dissector (tricotools, 2018), written after the TRITON/TRISIS analyses.

use crate::wire::Cursor;

/// TCM envelope: opcode, channel, data length (LE).
pub const TCM_HDR: usize = 4;
/// TriStation command header inside the TCM data.
pub const TS_HDR: usize = 10;

pub fn opcode_name(o: u8) -> &'static str {
    match o {
        1 => "connect_request",
        2 => "connect_reply",
        3 => "disconnect_reply",
        4 => "disconnect_request",
        5 => "command",
        6 => "ping",
        7 => "connection_limit_reached",
        8 => "not_connected",
        9 => "mps_are_dead",
        10 => "access_denied",
        11 => "connection_failed",
        _ => "unknown",
    }
}

/// TriStation command / reply codes (requests below 100, replies 100-199,
/// rejections 200 and above).
pub fn command_name(c: u8) -> &'static str {
    match c {
        0 => "start_download_all",
        1 => "start_download_change",
        2 => "update_configuration",
        3 => "upload_configuration",
        4 => "set_io_addresses",
        5 => "allocate_network",
        6 => "load_vector_table",
        7 => "set_calendar",
        8 => "get_calendar",
        9 => "set_scan_time",
        10 => "end_download_all",
        11 => "end_download_change",
        12 => "cancel_download_change",
        13 => "attach_tricon",
        14 => "set_io_address_limits",
        15 => "configure_module",
        16 => "set_multiple_point_values",
        17 => "enable_all_points",
        18 => "upload_vector_table",
        19 => "get_cp_status",
        20 => "run_program",
        21 => "halt_program",
        22 => "pause_program",
        23 => "do_single_scan",
        24 => "get_chassis_status",
        25 => "get_minimum_scan_time",
        26 => "set_node_number",
        27 => "set_io_point_values",
        28 => "get_io_point_values",
        29 => "get_mp_status",
        30 => "set_retentive_values",
        31 => "adjust_clock_calendar",
        32 => "clear_module_alarms",
        33 => "get_event_log",
        34 => "set_soe_block",
        35 => "record_event_log",
        36 => "get_soe_data",
        37 => "enable_ovd",
        38 => "disable_ovd",
        39 => "enable_all_ovds",
        40 => "disable_all_ovds",
        41 => "process_modbus",
        42 => "upload_network",
        43 => "set_label",
        44 => "configure_system_variables",
        45 => "deconfigure_module",
        46 => "get_system_variables",
        47 => "get_module_types",
        48..=50 => "conversion_table_download",
        51 => "get_conversion_table",
        52 => "set_icm_status",
        53 => "broadcast_soe_data_available",
        54 => "get_module_versions",
        55 => "allocate_program",
        56 => "allocate_function",
        57 => "clear_retentives",
        58 => "set_initial_values",
        59 => "start_ts2_program_download",
        60 => "set_ts2_data_area",
        61 => "get_ts2_data",
        62 => "set_ts2_data",
        63 => "set_program_information",
        64 => "get_program_information",
        65 => "upload_program",
        66 => "upload_function",
        67 => "get_point_groups",
        68 => "allocate_symbol_table",
        69 => "get_io_address",
        70 => "resend_io_address",
        71 => "get_program_timing",
        72 => "allocate_multiple_functions",
        73 => "get_node_number",
        74 => "get_symbol_table",
        80 => "go_to_download_mode",
        100 => "command_rejected",
        101 => "download_all_permitted",
        102 => "download_change_permitted",
        103 => "modification_accepted",
        104 => "download_cancelled",
        105 => "program_accepted",
        106 => "tricon_attached",
        107 => "io_addresses_set",
        108 => "get_cp_status_response",
        109 => "program_is_running",
        110 => "program_is_halted",
        111 => "program_is_paused",
        112 => "end_of_single_scan",
        119 => "get_chassis_status_response",
        127 => "get_mp_status_response",
        151 => "get_module_versions_response",
        153 => "allocate_program_response",
        154 => "allocate_function_response",
        162 => "upload_program_response",
        163 => "upload_function_response",
        113..=199 => "reply",
        200..=255 => "rejected",
        _ => "unknown",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes than the TCM header and CRC.
    Short { len: usize },
    /// TCM opcode outside 1-11.
    BadOpcode(u8),
    /// TCM data length disagrees with the datagram.
    BadLength { announced: u16, actual: usize },
    /// TriStation data shorter than its 10-byte command header.
    ShortCommand { len: usize },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::Short { .. } => "short",
            Error::BadOpcode(_) => "bad_opcode",
            Error::BadLength { .. } => "bad_length",
            Error::ShortCommand { .. } => "short_command",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::Short { len } => write!(
                f,
                "{len}-byte datagram, a TCM frame needs at least {} bytes",
                TCM_HDR + 2
            ),
            Error::BadOpcode(o) => write!(f, "TCM opcode is {o}, defined opcodes are 1 to 11"),
            Error::BadLength { announced, actual } => write!(
                f,
                "TCM data length is {announced}, the datagram holds {actual} data bytes (after header, before CRC)"
            ),
            Error::ShortCommand { len } => write!(
                f,
                "TriStation command data is {len} bytes, shorter than its {TS_HDR}-byte header"
            ),
        }
    }
}

/// The TriStation command header and data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command<'a> {
    /// Direction/path byte.
    pub path: u8,
    pub cid: u8,
    pub command: u8,
    pub sequence: u8,
    pub length: u16,
    pub data: &'a [u8],
}

/// One TCM frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub opcode: u8,
    pub channel: u8,
    pub data_length: u16,
    pub crc: u16,
    pub command: Option<Command<'a>>,
}

/// Parses one datagram.
pub fn parse(b: &[u8]) -> Result<Frame<'_>, Error> {
    if b.len() < TCM_HDR + 2 {
        return Err(Error::Short { len: b.len() });
    }
    let mut c = Cursor::new(b);
    let opcode = c.u8().unwrap_or(0);
    let channel = c.u8().unwrap_or(0);
    let data_length = c.le16().unwrap_or(0);
    if !(1..=11).contains(&opcode) {
        return Err(Error::BadOpcode(opcode));
    }
    let actual = b.len() - TCM_HDR - 2;
    if data_length as usize != actual {
        return Err(Error::BadLength {
            announced: data_length,
            actual,
        });
    }
    let data = &b[TCM_HDR..TCM_HDR + actual];
    let crc = u16::from_le_bytes([b[b.len() - 2], b[b.len() - 1]]);
    let command = if data.is_empty() || !matches!(opcode, 5 | 6) {
        None
    } else {
        if data.len() < TS_HDR {
            return Err(Error::ShortCommand { len: data.len() });
        }
        Some(Command {
            path: data[0],
            cid: data[1],
            command: data[2],
            sequence: data[3],
            length: u16::from_le_bytes([data[8], data[9]]),
            data: &data[TS_HDR..],
        })
    };
    Ok(Frame {
        opcode,
        channel,
        data_length,
        crc,
        command,
    })
}

/// Text field of a reply, offset counted from the datagram start as the
/// public dissector does (command data starts at datagram offset 14).
pub fn field<'a>(cmd: &Command<'a>, datagram_off: usize, len: usize) -> Option<&'a [u8]> {
    let off = datagram_off.checked_sub(TCM_HDR + TS_HDR)?;
    cmd.data.get(off..off + len)
}
