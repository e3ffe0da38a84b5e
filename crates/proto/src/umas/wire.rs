//! UMAS function codes and the few bodies with a known layout.

use crate::wire::Cursor;

/// Response status: success.
pub const STATUS_OK: u8 = 0xfe;
/// Response status: error.
pub const STATUS_ERROR: u8 = 0xfd;

/// UMAS function codes (public reverse-engineering notes).
pub mod fc {
    pub const INIT_COMM: u8 = 0x01;
    pub const READ_ID: u8 = 0x02;
    pub const READ_PROJECT_INFO: u8 = 0x03;
    pub const READ_PLC_INFO: u8 = 0x04;
    pub const READ_CARD_INFO: u8 = 0x06;
    pub const REPEAT: u8 = 0x0a;
    pub const TAKE_PLC_RESERVATION: u8 = 0x10;
    pub const RELEASE_PLC_RESERVATION: u8 = 0x11;
    pub const KEEP_ALIVE: u8 = 0x12;
    pub const READ_MEMORY_BLOCK: u8 = 0x20;
    pub const READ_VARIABLES: u8 = 0x22;
    pub const WRITE_VARIABLES: u8 = 0x23;
    pub const READ_COILS_REGISTERS: u8 = 0x24;
    pub const WRITE_COILS_REGISTERS: u8 = 0x25;
    pub const INITIALIZE_UPLOAD: u8 = 0x30;
    pub const UPLOAD_BLOCK: u8 = 0x31;
    pub const END_STRATEGY_UPLOAD: u8 = 0x32;
    pub const INITIALIZE_DOWNLOAD: u8 = 0x33;
    pub const DOWNLOAD_BLOCK: u8 = 0x34;
    pub const END_STRATEGY_DOWNLOAD: u8 = 0x35;
    pub const READ_ETH_MASTER_DATA: u8 = 0x39;
    pub const START_PLC: u8 = 0x40;
    pub const STOP_PLC: u8 = 0x41;
    pub const MONITOR_PLC: u8 = 0x50;
    pub const CHECK_PLC: u8 = 0x58;
    pub const READ_IO_OBJECT: u8 = 0x70;
    pub const WRITE_IO_OBJECT: u8 = 0x71;
    pub const GET_STATUS_MODULE: u8 = 0x73;
}

/// Name of a UMAS function code.
pub fn function_name(code: u8) -> &'static str {
    match code {
        0x01 => "init_comm",
        0x02 => "read_id",
        0x03 => "read_project_info",
        0x04 => "read_plc_info",
        0x06 => "read_card_info",
        0x0a => "repeat",
        0x10 => "take_plc_reservation",
        0x11 => "release_plc_reservation",
        0x12 => "keep_alive",
        0x20 => "read_memory_block",
        0x22 => "read_variables",
        0x23 => "write_variables",
        0x24 => "read_coils_registers",
        0x25 => "write_coils_registers",
        0x30 => "initialize_upload",
        0x31 => "upload_block",
        0x32 => "end_strategy_upload",
        0x33 => "initialize_download",
        0x34 => "download_block",
        0x35 => "end_strategy_download",
        0x39 => "read_eth_master_data",
        0x40 => "start_plc",
        0x41 => "stop_plc",
        0x50 => "monitor_plc",
        0x58 => "check_plc",
        0x70 => "read_io_object",
        0x71 => "write_io_object",
        0x73 => "get_status_module",
        0xfe => "response_ok",
        0xfd => "response_error",
        _ => "unknown",
    }
}

/// Why a UMAS PDU was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer than the two bytes (session, function/status) every UMAS PDU has.
    Short { len: usize },
    /// An upload/download block whose length field disagrees with its data.
    BlockLength {
        function: u8,
        announced: u16,
        actual: usize,
    },
    /// A READ_ID answer too short for its fixed fields or its name.
    ReadIdTruncated { len: usize },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::Short { .. } => "umas_short",
            Error::BlockLength { .. } => "umas_block_length",
            Error::ReadIdTruncated { .. } => "umas_read_id_truncated",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::Short { len } => write!(
                f,
                "UMAS PDU has {len} byte(s) after function 90, at least 2 (session, function) expected"
            ),
            Error::BlockLength {
                function,
                announced,
                actual,
            } => write!(
                f,
                "UMAS {} block announces {announced} data bytes, {actual} present",
                function_name(function)
            ),
            Error::ReadIdTruncated { len } => write!(
                f,
                "UMAS READ_ID answer has {len} data bytes, too short for its fields (11 + name)"
            ),
        }
    }
}

/// The READ_ID (0x02) answer: PLC identification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadId<'a> {
    pub range: u16,
    /// Hardware identifier of the CPU.
    pub hardware_id: u32,
    /// Firmware version, major in the high byte (0x0320 is 3.20).
    pub version: u16,
    pub reserved: u16,
    /// CPU name, e.g. `BMX P34 2020`.
    pub name: Option<&'a [u8]>,
}

/// Parses a READ_ID answer's data (after the 0xFE status): range (u16 LE),
/// hardware id (u32 LE), firmware version (u16 LE), 2 reserved bytes, name
/// length (u8) and name.
pub fn parse_read_id(d: &[u8]) -> Result<ReadId<'_>, Error> {
    let e = Error::ReadIdTruncated { len: d.len() };
    let mut c = Cursor::new(d);
    let range = c.le16().ok_or(e)?;
    let hardware_id = c.le32().ok_or(e)?;
    let version = c.le16().ok_or(e)?;
    let reserved = c.le16().ok_or(e)?;
    let n = c.u8().ok_or(e)?;
    let name = c.take(n as usize).ok_or(e)?;
    Ok(ReadId {
        range,
        hardware_id,
        version,
        reserved,
        name: if name.is_empty() { None } else { Some(name) },
    })
}

/// An upload/download block: `01 00 | block (u16 LE) | length (u16 LE) | data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block<'a> {
    pub kind: u16,
    pub block: u16,
    pub data: &'a [u8],
}

/// Parses the body of an UPLOAD_BLOCK / DOWNLOAD_BLOCK request. UMAS names
/// the transfer from the engineering station to the PLC "upload" (0x30-0x32,
/// blocks carry data) and from the PLC to the station "download" (0x33-0x35,
/// the request names only the block).
pub fn parse_block(function: u8, d: &[u8]) -> Result<Block<'_>, Error> {
    let mut c = Cursor::new(d);
    let short = Error::BlockLength {
        function,
        announced: 0,
        actual: 0,
    };
    let kind = c.be16().ok_or(short)?;
    let block = c.le16().ok_or(short)?;
    if c.is_empty() {
        return Ok(Block {
            kind,
            block,
            data: &[],
        });
    }
    let len = c.le16().ok_or(short)?;
    let data = c.rest();
    if data.len() != len as usize {
        return Err(Error::BlockLength {
            function,
            announced: len,
            actual: data.len(),
        });
    }
    Ok(Block { kind, block, data })
}

/// Structural checks of request bodies whose layout is known.
pub fn check_request(function: u8, d: &[u8]) -> Result<(), Error> {
    if function == fc::UPLOAD_BLOCK || function == fc::DOWNLOAD_BLOCK {
        parse_block(function, d)?;
    }
    Ok(())
}
