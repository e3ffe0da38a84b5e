//! Pure parsing of Omron FINS frames (and the FINS/TCP header), zero-copy.

use std::fmt;

use crate::wire::Cursor;

/// FINS header (ICF .. SID) plus MRC/SRC.
pub const HEADER_LEN: usize = 12;
/// FINS/TCP header: "FINS", length, command, error code.
pub const TCP_HEADER_LEN: usize = 16;
/// FINS/TCP magic.
pub const TCP_MAGIC: &[u8; 4] = b"FINS";
/// Largest FINS/TCP frame accepted (length field value).
pub const MAX_TCP_LEN: u32 = 8 + 4096;

/// FINS/TCP header commands.
pub mod tcp {
    /// Node address data send, client to server.
    pub const NODE_ADDRESS_CLIENT: u32 = 0;
    /// Node address data send, server to client.
    pub const NODE_ADDRESS_SERVER: u32 = 1;
    /// FINS frame send.
    pub const FRAME: u32 = 2;
    /// FINS frame send error notification.
    pub const ERROR_NOTIFICATION: u32 = 3;
    /// Connection confirmation.
    pub const CONNECTION_CONFIRMATION: u32 = 6;
}

/// Name of a FINS/TCP header command.
pub fn tcp_command_name(c: u32) -> &'static str {
    match c {
        0 => "Node Address Data Send (Client to Server)",
        1 => "Node Address Data Send (Server to Client)",
        2 => "FINS Frame Send",
        3 => "FINS Frame Send Error Notification",
        6 => "Connection Confirmation",
        _ => "unknown",
    }
}

/// A FINS/TCP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpHeader {
    /// Bytes after the length field.
    pub length: u32,
    pub command: u32,
    pub error_code: u32,
    /// Node address data send: client node; server-to-client also the server node.
    pub client_node: Option<u32>,
    pub server_node: Option<u32>,
}

/// FINS header fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub icf: u8,
    pub rsv: u8,
    pub gct: u8,
    pub dna: u8,
    pub da1: u8,
    pub da2: u8,
    pub sna: u8,
    pub sa1: u8,
    pub sa2: u8,
    pub sid: u8,
    pub mrc: u8,
    pub src: u8,
}

impl Header {
    pub fn command(&self) -> u16 {
        u16::from_be_bytes([self.mrc, self.src])
    }
    /// ICF bit 6: this frame is a response.
    pub fn is_response(&self) -> bool {
        self.icf & 0x40 != 0
    }
    /// ICF bit 7: a gateway (bridge) is used.
    pub fn gateway(&self) -> bool {
        self.icf & 0x80 != 0
    }
    /// ICF bit 0: no response is required.
    pub fn no_response(&self) -> bool {
        self.icf & 0x01 != 0
    }
}

/// Command-specific fields (which are set depends on the command).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Detail<'a> {
    /// Memory area code, start word address, bit, item count.
    pub memory_area: Option<u8>,
    pub address: Option<u32>,
    pub bit: Option<u8>,
    pub count: Option<u32>,
    /// Multiple memory area read: number of items.
    pub items: Option<u16>,
    /// Memory area transfer: destination area and address.
    pub dest_area: Option<u8>,
    pub dest_address: Option<u32>,
    /// Parameter area code.
    pub parameter_area: Option<u16>,
    /// Program number (program area, run, access right).
    pub program_number: Option<u16>,
    /// Run mode code (0x02 monitor, 0x04 run).
    pub mode: Option<u8>,
    /// Error clear: error code to clear; error log read: first record.
    pub error_code: Option<u16>,
    /// Error log read: number of records.
    pub records: Option<u16>,
    /// File memory: disk number and file name.
    pub disk: Option<u16>,
    pub file_name: Option<&'a [u8]>,
    /// Forced set/reset: number of bits.
    pub bits: Option<u16>,
    /// Bytes of data written/read.
    pub data_len: Option<u32>,
    /// Controller data read response: model and version.
    pub model: Option<&'a [u8]>,
    pub version: Option<&'a [u8]>,
    /// Controller status read response: status and mode.
    pub status: Option<u8>,
    pub run_mode: Option<u8>,
}

/// A parsed FINS frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub header: Header,
    /// Responses: end code (MRES, SRES) with the relay/fatal/non-fatal bits.
    pub end_code: Option<u16>,
    /// Command or response data after MRC/SRC (and the end code).
    pub data: &'a [u8],
}

impl<'a> Frame<'a> {
    pub fn command(&self) -> u16 {
        self.header.command()
    }

    /// Command-specific fields, decoded from `data` on each call (pure, no
    /// allocation; empty when the command data is short).
    pub fn detail(&self) -> Detail<'a> {
        let mut d = Detail::default();
        if self.header.is_response() {
            if self.end_code.is_some() {
                response_detail(self.command(), self.data, &mut d);
            }
        } else if command_detail(self.command(), self.data, &mut d).is_err() {
            d = Detail::default();
        }
        d
    }
}

/// Why a frame did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer octets than a FINS header (seen).
    ShortHeader(usize),
    /// A response without its 2-octet end code: (command).
    ShortResponse(u16),
    /// Command data shorter than the command needs: (command, needed, seen).
    ShortCommandData(u16, usize, usize),
    /// FINS/TCP frame without the "FINS" magic.
    BadMagic([u8; 4]),
    /// FINS/TCP length field out of range.
    BadTcpLength(u32),
    /// FINS/TCP node address frame cut short: (command, seen).
    ShortTcpFrame(u32, usize),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::ShortHeader(_) => "short_header",
            Error::ShortResponse(_) => "short_response",
            Error::ShortCommandData(..) => "short_command_data",
            Error::BadMagic(_) => "bad_magic",
            Error::BadTcpLength(_) => "bad_tcp_length",
            Error::ShortTcpFrame(..) => "short_tcp_frame",
        }
    }
    pub fn function(&self) -> Option<u16> {
        match *self {
            Error::ShortResponse(c) | Error::ShortCommandData(c, ..) => Some(c),
            Error::ShortTcpFrame(c, _) => Some(0xF000 | (c as u16 & 0xff)),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::ShortHeader(n) => write!(f, "FINS frame of {n} octets, header needs 12"),
            Error::ShortResponse(c) => {
                write!(
                    f,
                    "response to command 0x{c:04x} without its 2-octet end code"
                )
            }
            Error::ShortCommandData(c, n, s) => write!(
                f,
                "command 0x{c:04x} needs {n} octets of command data, has {s}"
            ),
            Error::BadMagic(m) => write!(f, "FINS/TCP magic {m:02x?}, expected \"FINS\""),
            Error::BadTcpLength(l) => {
                write!(f, "FINS/TCP length {l}, expected 8..={MAX_TCP_LEN}")
            }
            Error::ShortTcpFrame(c, s) => write!(
                f,
                "FINS/TCP command {c} frame cut short ({s} octets after the header)"
            ),
        }
    }
}

/// Parses the FINS/TCP header at the start of `b` (16 octets needed).
/// Returns the header and the total frame length (8 + length field).
pub fn parse_tcp_header(b: &[u8]) -> Result<Option<(TcpHeader, usize)>, Error> {
    if b.len() < 8 {
        return Ok(None);
    }
    if &b[..4] != TCP_MAGIC {
        return Err(Error::BadMagic([b[0], b[1], b[2], b[3]]));
    }
    let length = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    if !(8..=MAX_TCP_LEN).contains(&length) {
        return Err(Error::BadTcpLength(length));
    }
    let Some(h) = b.get(8..16) else {
        return Ok(None);
    };
    Ok(Some((
        TcpHeader {
            length,
            command: u32::from_be_bytes([h[0], h[1], h[2], h[3]]),
            error_code: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
            client_node: None,
            server_node: None,
        },
        8 + length as usize,
    )))
}

/// Fills the node addresses of a node address data send frame (`body` after
/// the 16-octet header).
pub fn tcp_nodes(h: &mut TcpHeader, body: &[u8]) -> Result<(), Error> {
    let mut c = Cursor::new(body);
    match h.command {
        tcp::NODE_ADDRESS_CLIENT => {
            h.client_node = Some(
                c.be32()
                    .ok_or(Error::ShortTcpFrame(h.command, body.len()))?,
            );
        }
        tcp::NODE_ADDRESS_SERVER => {
            h.client_node = Some(
                c.be32()
                    .ok_or(Error::ShortTcpFrame(h.command, body.len()))?,
            );
            h.server_node = Some(
                c.be32()
                    .ok_or(Error::ShortTcpFrame(h.command, body.len()))?,
            );
        }
        _ => {}
    }
    Ok(())
}

/// Parses one FINS frame (header, end code on responses, command fields).
///
/// When the header is sound but the command data is short, returns the frame
/// (without details) together with the error.
pub fn parse_frame(b: &[u8]) -> (Option<Frame<'_>>, Option<Error>) {
    let Some(h) = b.get(..HEADER_LEN) else {
        return (None, Some(Error::ShortHeader(b.len())));
    };
    let header = Header {
        icf: h[0],
        rsv: h[1],
        gct: h[2],
        dna: h[3],
        da1: h[4],
        da2: h[5],
        sna: h[6],
        sa1: h[7],
        sa2: h[8],
        sid: h[9],
        mrc: h[10],
        src: h[11],
    };
    let mut data = &b[HEADER_LEN..];
    let cmd = header.command();
    let mut end_code = None;
    if header.is_response() {
        let Some(ec) = data.get(..2) else {
            let f = Frame {
                header,
                end_code: None,
                data,
            };
            return (Some(f), Some(Error::ShortResponse(cmd)));
        };
        end_code = Some(u16::from_be_bytes([ec[0], ec[1]]));
        data = &data[2..];
    }
    let f = Frame {
        header,
        end_code,
        data,
    };
    let res = if header.is_response() {
        Ok(())
    } else {
        command_detail(cmd, data, &mut Detail::default())
    };
    (Some(f), res.err())
}

fn need(cmd: u16, d: &[u8], n: usize) -> Result<(), Error> {
    if d.len() < n {
        Err(Error::ShortCommandData(cmd, n, d.len()))
    } else {
        Ok(())
    }
}

fn command_detail<'a>(cmd: u16, d: &'a [u8], x: &mut Detail<'a>) -> Result<(), Error> {
    match cmd {
        // Memory area read / write: area, address, bit, count [, data].
        0x0101 | 0x0102 => {
            need(cmd, d, 6)?;
            x.memory_area = Some(d[0]);
            x.address = Some(u16::from_be_bytes([d[1], d[2]]) as u32);
            x.bit = Some(d[3]);
            x.count = Some(u16::from_be_bytes([d[4], d[5]]) as u32);
            if cmd == 0x0102 {
                x.data_len = Some((d.len() - 6) as u32);
            }
        }
        // Memory area fill: area, address, bit, count, data (2).
        0x0103 => {
            need(cmd, d, 8)?;
            x.memory_area = Some(d[0]);
            x.address = Some(u16::from_be_bytes([d[1], d[2]]) as u32);
            x.bit = Some(d[3]);
            x.count = Some(u16::from_be_bytes([d[4], d[5]]) as u32);
        }
        // Multiple memory area read: (area, address, bit) × n.
        0x0104 => {
            need(cmd, d, 4)?;
            x.memory_area = Some(d[0]);
            x.address = Some(u16::from_be_bytes([d[1], d[2]]) as u32);
            x.bit = Some(d[3]);
            x.items = Some((d.len() / 4) as u16);
        }
        // Memory area transfer: source, destination, count.
        0x0105 => {
            need(cmd, d, 10)?;
            x.memory_area = Some(d[0]);
            x.address = Some(u16::from_be_bytes([d[1], d[2]]) as u32);
            x.bit = Some(d[3]);
            x.dest_area = Some(d[4]);
            x.dest_address = Some(u16::from_be_bytes([d[5], d[6]]) as u32);
            x.count = Some(u16::from_be_bytes([d[8], d[9]]) as u32);
        }
        // Parameter area read/write/clear: area code, begin word, words.
        0x0201..=0x0203 => {
            need(cmd, d, 6)?;
            x.parameter_area = Some(u16::from_be_bytes([d[0], d[1]]));
            x.address = Some(u16::from_be_bytes([d[2], d[3]]) as u32);
            x.count = Some((u16::from_be_bytes([d[4], d[5]]) & 0x7fff) as u32);
            if cmd == 0x0202 {
                x.data_len = Some((d.len() - 6) as u32);
            }
        }
        // Program area protect / protect clear: program number, ...
        0x0304 | 0x0305 => {
            need(cmd, d, 2)?;
            x.program_number = Some(u16::from_be_bytes([d[0], d[1]]));
        }
        // Program area read/write: program number, begin word (4), bytes (2) [, data].
        0x0306 | 0x0307 => {
            need(cmd, d, 8)?;
            x.program_number = Some(u16::from_be_bytes([d[0], d[1]]));
            x.address = Some(u32::from_be_bytes([d[2], d[3], d[4], d[5]]));
            x.count = Some((u16::from_be_bytes([d[6], d[7]]) & 0x7fff) as u32);
            if cmd == 0x0307 {
                x.data_len = Some((d.len() - 8) as u32);
            }
        }
        // Program area clear: program number, clear code.
        0x0308 => {
            need(cmd, d, 2)?;
            x.program_number = Some(u16::from_be_bytes([d[0], d[1]]));
        }
        // Run: optional program number and mode.
        0x0401 => {
            if d.len() >= 2 {
                x.program_number = Some(u16::from_be_bytes([d[0], d[1]]));
            }
            x.mode = d.get(2).copied();
        }
        0x0402 if d.len() >= 2 => {
            x.program_number = Some(u16::from_be_bytes([d[0], d[1]]));
        }
        // Access right acquire / forced acquire / release: program number.
        0x0c01..=0x0c03 => {
            need(cmd, d, 2)?;
            x.program_number = Some(u16::from_be_bytes([d[0], d[1]]));
        }
        // Error clear: error code.
        0x2101 => {
            need(cmd, d, 2)?;
            x.error_code = Some(u16::from_be_bytes([d[0], d[1]]));
        }
        // Error log read: beginning record, number of records.
        0x2102 => {
            need(cmd, d, 4)?;
            x.error_code = Some(u16::from_be_bytes([d[0], d[1]]));
            x.records = Some(u16::from_be_bytes([d[2], d[3]]));
        }
        // File name read: disk, beginning file position, number of files.
        0x2201 => {
            need(cmd, d, 2)?;
            x.disk = Some(u16::from_be_bytes([d[0], d[1]]));
        }
        // Single file read / delete...: disk, file name.
        0x2202 | 0x2205 | 0x2209 => {
            need(cmd, d, 2)?;
            x.disk = Some(u16::from_be_bytes([d[0], d[1]]));
            x.file_name = d.get(2..14).or(d.get(2..));
            if cmd == 0x2205 {
                // File delete: number of files, then names.
                x.file_name = d.get(4..16);
            }
        }
        // Single file write: disk, parameter code, file name, position, length, data.
        0x2203 => {
            need(cmd, d, 16)?;
            x.disk = Some(u16::from_be_bytes([d[0], d[1]]));
            x.file_name = d.get(4..16);
            if let Some(l) = d.get(20..22) {
                x.data_len = Some(u16::from_be_bytes([l[0], l[1]]) as u32);
            }
        }
        0x2204 | 0x2206..=0x2208 | 0x220a..=0x220c | 0x220f..=0x2211 if d.len() >= 2 => {
            x.disk = Some(u16::from_be_bytes([d[0], d[1]]));
        }
        // Forced set/reset: number of bits, then (spec, area, address, bit).
        0x2301 => {
            need(cmd, d, 2)?;
            x.bits = Some(u16::from_be_bytes([d[0], d[1]]));
            if let Some(e) = d.get(2..8) {
                x.memory_area = Some(e[2]);
                x.address = Some(u16::from_be_bytes([e[3], e[4]]) as u32);
                x.bit = Some(e[5]);
            }
        }
        _ => {}
    }
    Ok(())
}

fn response_detail<'a>(cmd: u16, d: &'a [u8], x: &mut Detail<'a>) {
    match cmd {
        0x0101 | 0x0104 | 0x0306 | 0x0201 => x.data_len = Some(d.len() as u32),
        // Controller data read: model (20), version (20), ...
        0x0501 => {
            x.model = d.get(..20).or(if d.is_empty() { None } else { Some(d) });
            x.version = d.get(20..40);
        }
        // Connection data read: number of units, then (unit address, model 20).
        0x0502 => {
            x.model = d.get(2..22);
        }
        // Controller status read: status, mode, ...
        0x0601 => {
            x.status = d.first().copied();
            x.run_mode = d.get(1).copied();
        }
        0x2102 if d.len() >= 6 => {
            x.records = Some(u16::from_be_bytes([d[4], d[5]]));
        }
        _ => {}
    }
}

/// True when `b` looks like a FINS frame header (UDP probe and resync).
pub fn plausible_header(b: &[u8]) -> bool {
    let Some(h) = b.get(..HEADER_LEN) else {
        return false;
    };
    // ICF: bits 1..5 reserved (0); RSV 0; GCT 0..7; a known command.
    h[0] & 0x3e == 0
        && h[1] == 0
        && h[2] <= 7
        && super::names::command_name(u16::from_be_bytes([h[10], h[11]])) != "unknown"
}
