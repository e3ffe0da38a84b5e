//! Pure parsing of one S7comm PDU (header, parameter, data).
//!
//! No state, no allocation, no panic: every read is bounds-checked. Item
//! lists and SZL records stay borrowed slices, decoded on demand by the
//! iterators below.

use std::fmt;

use crate::wire::{Cursor, be16_at};

/// First byte of every S7comm PDU.
pub const PROTOCOL_ID: u8 = 0x32;

pub const ROSCTR_JOB: u8 = 1;
pub const ROSCTR_ACK: u8 = 2;
pub const ROSCTR_ACK_DATA: u8 = 3;
pub const ROSCTR_USERDATA: u8 = 7;

pub const FN_CPU_SERVICES: u8 = 0x00;
pub const FN_SETUP: u8 = 0xf0;
pub const FN_READ_VAR: u8 = 0x04;
pub const FN_WRITE_VAR: u8 = 0x05;
pub const FN_REQUEST_DOWNLOAD: u8 = 0x1a;
pub const FN_DOWNLOAD_BLOCK: u8 = 0x1b;
pub const FN_DOWNLOAD_ENDED: u8 = 0x1c;
pub const FN_START_UPLOAD: u8 = 0x1d;
pub const FN_UPLOAD: u8 = 0x1e;
pub const FN_END_UPLOAD: u8 = 0x1f;
pub const FN_PLC_CONTROL: u8 = 0x28;
pub const FN_PLC_STOP: u8 = 0x29;

/// Userdata function groups.
pub const GRP_MODE: u8 = 0;
pub const GRP_PROGRAMMER: u8 = 1;
pub const GRP_CYCLIC: u8 = 2;
pub const GRP_BLOCK: u8 = 3;
pub const GRP_CPU: u8 = 4;
pub const GRP_SECURITY: u8 = 5;
pub const GRP_TIME: u8 = 7;

/// Why an S7comm PDU was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The first byte is not 0x32.
    BadProtocolId(u8),
    /// Fewer bytes than the header of this ROSCTR.
    TruncatedHeader { rosctr: u8, len: usize },
    /// A ROSCTR other than 1, 2, 3 and 7.
    UnknownRosctr(u8),
    /// Header, parameter and data lengths exceed the TSDU.
    LengthMismatch {
        header: usize,
        param: u16,
        data: u16,
        available: usize,
    },
    /// The parameter of a function is shorter than its fields.
    TruncatedParameter { function: u8, len: usize },
    /// A userdata parameter shorter than its 8-byte fixed part.
    BadUserdataHeader { len: usize },
    /// A job or ack-data without a parameter (no function code).
    MissingFunction { rosctr: u8 },
}

impl Error {
    /// Stable snake_case code for malformed events.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadProtocolId(_) => "bad_protocol_id",
            Error::TruncatedHeader { .. } => "truncated_header",
            Error::UnknownRosctr(_) => "unknown_rosctr",
            Error::LengthMismatch { .. } => "length_mismatch",
            Error::TruncatedParameter { .. } => "truncated_parameter",
            Error::BadUserdataHeader { .. } => "bad_userdata_header",
            Error::MissingFunction { .. } => "missing_function",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::BadProtocolId(b) => write!(f, "protocol id {b:#04x} (expected 0x32)"),
            Error::TruncatedHeader { rosctr, len } => write!(
                f,
                "{len} bytes, shorter than the {}-byte header of ROSCTR {rosctr}",
                header_len(rosctr)
            ),
            Error::UnknownRosctr(r) => {
                write!(f, "unknown ROSCTR {r} (expected 1, 2, 3 or 7)")
            }
            Error::LengthMismatch {
                header,
                param,
                data,
                available,
            } => write!(
                f,
                "header {header} + parameter {param} + data {data} bytes exceed the {available} bytes of the PDU"
            ),
            Error::TruncatedParameter { function, len } => write!(
                f,
                "parameter of function {function:#04x} ({}) truncated at {len} bytes",
                function_name(function)
            ),
            Error::BadUserdataHeader { len } => write!(
                f,
                "userdata parameter of {len} bytes, shorter than its 8-byte fixed part"
            ),
            Error::MissingFunction { rosctr } => write!(
                f,
                "{} without a parameter (no function code)",
                rosctr_name(rosctr)
            ),
        }
    }
}

/// Header length of a ROSCTR (ack and ack-data carry error class/code).
pub fn header_len(rosctr: u8) -> usize {
    if matches!(rosctr, ROSCTR_ACK | ROSCTR_ACK_DATA) {
        12
    } else {
        10
    }
}

/// The S7comm header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub rosctr: u8,
    pub redundancy_id: u16,
    pub pdu_ref: u16,
    pub param_len: u16,
    pub data_len: u16,
    pub error_class: Option<u8>,
    pub error_code: Option<u8>,
}

/// A decoded S7comm PDU.
#[derive(Clone, Copy, Debug)]
pub struct Pdu<'a> {
    pub header: Header,
    /// The function byte (job, ack-data; ack when it has a parameter).
    pub function: Option<u8>,
    pub param: &'a [u8],
    pub data: &'a [u8],
    pub body: Body<'a>,
}

impl Pdu<'_> {
    /// The counted key: the function byte (0 for an ack without parameter);
    /// userdata 0x1000 | group << 8 | subfunction.
    pub fn function_code(&self) -> u16 {
        match self.body {
            Body::Userdata(u) => 0x1000 | (u16::from(u.group) << 8) | u16::from(u.subfunction),
            _ => self.function.map_or(0, u16::from),
        }
    }
}

/// Function-specific fields.
#[derive(Clone, Copy, Debug)]
pub enum Body<'a> {
    /// Nothing decoded beyond the function byte.
    None,
    Setup {
        amq_calling: u16,
        amq_called: u16,
        pdu_size: u16,
    },
    /// Read/write var: the item count and the raw item list (parameter) and
    /// data items (data part), iterated by [`VarItems`] and [`DataItems`].
    Var {
        item_count: u8,
        items: &'a [u8],
        data: &'a [u8],
    },
    /// Request download, download block, download ended, start upload,
    /// upload, end upload.
    Block {
        status: Option<u8>,
        session_id: Option<u32>,
        filename: Option<&'a [u8]>,
        /// Start upload ack-data / request download: announced length (ASCII).
        block_length: Option<&'a [u8]>,
    },
    /// PLC control (PI service) or PLC stop.
    PiService {
        param_block: &'a [u8],
        service: &'a [u8],
    },
    Userdata(Userdata<'a>),
}

/// Userdata parameter and data header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Userdata<'a> {
    /// 0x11 request, 0x12 response.
    pub method: u8,
    /// Type nibble: 0 push, 4 request, 8 response (3/7/0xb NC variants).
    pub kind: u8,
    pub group: u8,
    pub subfunction: u8,
    pub sequence: u8,
    pub data_unit_ref: Option<u8>,
    /// 0x00 = this is the last data unit, 0x01 = more follow.
    pub last_data_unit: Option<u8>,
    pub error_code: Option<u16>,
    pub return_code: Option<u8>,
    pub transport_size: Option<u8>,
    /// Data after the 4-byte data header.
    pub payload: &'a [u8],
    /// SZL id/index (and records on responses) of a Read SZL.
    pub szl: Option<Szl<'a>>,
}

impl Userdata<'_> {
    /// Request or push (true) versus response (false).
    pub fn is_request(&self) -> bool {
        !matches!(self.kind, 0x8 | 0xb)
    }
}

/// A Read SZL request or (first) response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Szl<'a> {
    pub id: u16,
    pub index: u16,
    /// Response: length of one record in bytes.
    pub record_len: Option<u16>,
    /// Response: number of records.
    pub record_count: Option<u16>,
    /// Response: the records as present in this PDU.
    pub records: &'a [u8],
}

/// Header, parameter and data of a PDU whose lengths are sound.
fn split(b: &[u8]) -> Result<(Header, &[u8], &[u8]), Error> {
    let Some(&id) = b.first() else {
        return Err(Error::TruncatedHeader { rosctr: 0, len: 0 });
    };
    if id != PROTOCOL_ID {
        return Err(Error::BadProtocolId(id));
    }
    let rosctr = b.get(1).copied().unwrap_or(0);
    if b.len() < 10 {
        return Err(Error::TruncatedHeader {
            rosctr,
            len: b.len(),
        });
    }
    if !matches!(
        rosctr,
        ROSCTR_JOB | ROSCTR_ACK | ROSCTR_ACK_DATA | ROSCTR_USERDATA
    ) {
        return Err(Error::UnknownRosctr(rosctr));
    }
    let hl = header_len(rosctr);
    let mut c = Cursor::new(b);
    c.skip(2);
    let redundancy_id = c.be16().unwrap_or(0);
    let pdu_ref = c.be16().unwrap_or(0);
    let param_len = c.be16().unwrap_or(0);
    let data_len = c.be16().unwrap_or(0);
    let (error_class, error_code) = if hl == 12 {
        match (c.u8(), c.u8()) {
            (Some(a), Some(b2)) => (Some(a), Some(b2)),
            _ => {
                return Err(Error::TruncatedHeader {
                    rosctr,
                    len: b.len(),
                });
            }
        }
    } else {
        (None, None)
    };
    let header = Header {
        rosctr,
        redundancy_id,
        pdu_ref,
        param_len,
        data_len,
        error_class,
        error_code,
    };
    let param = c.take(param_len as usize);
    let data = param.and_then(|_| c.take(data_len as usize));
    let (Some(param), Some(data)) = (param, data) else {
        return Err(Error::LengthMismatch {
            header: hl,
            param: param_len,
            data: data_len,
            available: b.len(),
        });
    };
    Ok((header, param, data))
}

/// Parses one S7comm PDU. `szl_continuation`: a CPU-functions Read SZL
/// response in this direction announced more data units, so this one (if it
/// is a Read SZL response) continues the record list without an SZL header.
pub fn parse(b: &[u8], szl_continuation: bool) -> Result<Pdu<'_>, Error> {
    let (header, param, data) = split(b)?;
    let rosctr = header.rosctr;
    let mut pdu = Pdu {
        header,
        function: param.first().copied(),
        param,
        data,
        body: Body::None,
    };
    if rosctr == ROSCTR_USERDATA {
        pdu.function = None;
        pdu.body = Body::Userdata(parse_userdata(param, data, szl_continuation)?);
        return Ok(pdu);
    }
    let Some(function) = pdu.function else {
        if rosctr == ROSCTR_ACK {
            return Ok(pdu);
        }
        return Err(Error::MissingFunction { rosctr });
    };
    pdu.body = parse_function(rosctr, function, param, data)?;
    Ok(pdu)
}

/// A job / ack / ack-data whose header and lengths are sound and whose
/// function byte is readable, but whose parameter did not parse: still a
/// message with its function code (as tshark counts it), without a body.
pub fn invalid_pdu(b: &[u8]) -> Option<Pdu<'_>> {
    let (header, param, data) = split(b).ok()?;
    if header.rosctr == ROSCTR_USERDATA {
        return None;
    }
    Some(Pdu {
        header,
        function: Some(*param.first()?),
        param,
        data,
        body: Body::None,
    })
}

fn parse_function<'a>(
    rosctr: u8,
    f: u8,
    param: &'a [u8],
    data: &'a [u8],
) -> Result<Body<'a>, Error> {
    let short = || Error::TruncatedParameter {
        function: f,
        len: param.len(),
    };
    let mut c = Cursor::new(param);
    c.skip(1);
    let job = rosctr == ROSCTR_JOB;
    Ok(match f {
        FN_SETUP => {
            c.skip(1).ok_or_else(short)?;
            Body::Setup {
                amq_calling: c.be16().ok_or_else(short)?,
                amq_called: c.be16().ok_or_else(short)?,
                pdu_size: c.be16().ok_or_else(short)?,
            }
        }
        FN_READ_VAR | FN_WRITE_VAR => {
            let item_count = c.u8().ok_or_else(short)?;
            let items = c.rest();
            if job {
                // Every item header must be present.
                let mut it = VarItems {
                    c: Cursor::new(items),
                    left: item_count,
                };
                for _ in 0..item_count {
                    it.next().ok_or_else(short)?;
                }
            }
            Body::Var {
                item_count,
                items,
                data,
            }
        }
        FN_REQUEST_DOWNLOAD | FN_DOWNLOAD_BLOCK | FN_DOWNLOAD_ENDED | FN_START_UPLOAD
        | FN_UPLOAD | FN_END_UPLOAD => {
            let status = c.u8();
            let mut session_id = None;
            let mut filename = None;
            let mut block_length = None;
            if status.is_some() {
                c.skip(2);
                session_id = c.be32();
            }
            let has_name = job
                && matches!(
                    f,
                    FN_REQUEST_DOWNLOAD | FN_DOWNLOAD_BLOCK | FN_DOWNLOAD_ENDED | FN_START_UPLOAD
                );
            if job && status.is_none() {
                return Err(short());
            }
            if has_name && session_id.is_some() && !c.is_empty() {
                let n = c.u8().ok_or_else(short)?;
                filename = Some(c.take(n as usize).ok_or_else(short)?);
                if f == FN_REQUEST_DOWNLOAD && !c.is_empty() {
                    // Part 2: length, an unknown char, load memory and MC7 lengths.
                    let n = c.u8().ok_or_else(short)?;
                    let part = c.take(n as usize).ok_or_else(short)?;
                    block_length = part.get(1..7);
                }
            } else if !job && f == FN_START_UPLOAD && session_id.is_some() {
                let n = c.u8().ok_or_else(short)?;
                block_length = Some(c.take(n as usize).ok_or_else(short)?);
            }
            Body::Block {
                status,
                session_id,
                filename,
                block_length,
            }
        }
        FN_PLC_CONTROL if job => {
            c.skip(7).ok_or_else(short)?;
            let n = c.be16().ok_or_else(short)?;
            let param_block = c.take(n as usize).ok_or_else(short)?;
            let n = c.u8().ok_or_else(short)?;
            let service = c.take(n as usize).ok_or_else(short)?;
            Body::PiService {
                param_block,
                service,
            }
        }
        FN_PLC_STOP if job => {
            c.skip(5).ok_or_else(short)?;
            let n = c.u8().ok_or_else(short)?;
            let service = c.take(n as usize).ok_or_else(short)?;
            Body::PiService {
                param_block: &[],
                service,
            }
        }
        _ => Body::None,
    })
}

fn parse_userdata<'a>(
    param: &'a [u8],
    data: &'a [u8],
    szl_continuation: bool,
) -> Result<Userdata<'a>, Error> {
    // The head is normally 00 01 12 with length 4 or 8, but mode-transition
    // pushes of some CPUs carry 01 00 10 and length 16: like Wireshark,
    // only the size of the fixed part is checked.
    let bad = Error::BadUserdataHeader { len: param.len() };
    if param.len() < 8 {
        return Err(bad);
    }
    let mut c = Cursor::new(param);
    c.skip(3);
    let plen = c.u8().unwrap_or(0);
    let method = c.u8().unwrap_or(0);
    let tg = c.u8().unwrap_or(0);
    let subfunction = c.u8().unwrap_or(0);
    let sequence = c.u8().unwrap_or(0);
    let (data_unit_ref, last_data_unit, error_code) = if plen == 8 {
        (c.u8(), c.u8(), c.be16())
    } else {
        (None, None, None)
    };
    let mut d = Cursor::new(data);
    let (return_code, transport_size, payload) = if data.len() >= 4 {
        let rc = d.u8();
        let ts = d.u8();
        let n = d.be16().unwrap_or(0) as usize;
        let rest = d.rest();
        (rc, ts, rest.get(..n).unwrap_or(rest))
    } else {
        (None, None, &[][..])
    };
    let kind = tg >> 4;
    let group = tg & 0x0f;
    let mut u = Userdata {
        method,
        kind,
        group,
        subfunction,
        sequence,
        data_unit_ref,
        last_data_unit,
        error_code,
        return_code,
        transport_size,
        payload,
        szl: None,
    };
    if group == GRP_CPU && subfunction == 1 && return_code == Some(0xff) {
        let response = !u.is_request();
        if response && szl_continuation {
            // A continuation carries records only.
        } else if let (Some(id), Some(index)) = (be16_at(payload, 0), be16_at(payload, 2)) {
            let mut szl = Szl {
                id,
                index,
                record_len: None,
                record_count: None,
                records: &[],
            };
            if response {
                szl.record_len = be16_at(payload, 4);
                szl.record_count = be16_at(payload, 6);
                szl.records = payload.get(8..).unwrap_or(&[]);
            }
            u.szl = Some(szl);
        }
    }
    Ok(u)
}

/// One item of a read/write var request parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VarItem<'a> {
    pub syntax_id: u8,
    /// S7ANY addressing (syntax id 0x10).
    pub any: Option<AnyAddr>,
    /// The item specification after its length byte.
    pub raw: &'a [u8],
}

/// S7ANY address of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnyAddr {
    pub transport_size: u8,
    pub length: u16,
    pub db: u16,
    pub area: u8,
    pub byte: u32,
    pub bit: u8,
}

/// Iterates the items of a read/write var parameter.
#[derive(Clone, Copy, Debug)]
pub struct VarItems<'a> {
    c: Cursor<'a>,
    left: u8,
}

impl<'a> VarItems<'a> {
    pub fn new(items: &'a [u8], count: u8) -> Self {
        VarItems {
            c: Cursor::new(items),
            left: count,
        }
    }
}

impl<'a> Iterator for VarItems<'a> {
    type Item = VarItem<'a>;
    fn next(&mut self) -> Option<VarItem<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let _spec = self.c.u8()?;
        let n = self.c.u8()?;
        let raw = self.c.take(n as usize)?;
        let syntax_id = *raw.first()?;
        let any = if syntax_id == 0x10 && raw.len() >= 10 {
            let addr = u32::from_be_bytes([0, raw[7], raw[8], raw[9]]);
            Some(AnyAddr {
                transport_size: raw[1],
                length: u16::from_be_bytes([raw[2], raw[3]]),
                db: u16::from_be_bytes([raw[4], raw[5]]),
                area: raw[6],
                byte: addr >> 3,
                bit: (addr & 7) as u8,
            })
        } else {
            None
        };
        Some(VarItem {
            syntax_id,
            any,
            raw,
        })
    }
}

/// One data item (read var response, write var request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataItem<'a> {
    pub return_code: u8,
    pub transport_size: u8,
    /// Length in bytes.
    pub length: usize,
    pub data: &'a [u8],
}

/// Iterates data items: return code, transport size, length (bits for
/// transport sizes 3, 4 and 5), data padded to an even length between items.
#[derive(Clone, Copy, Debug)]
pub struct DataItems<'a> {
    c: Cursor<'a>,
    left: u8,
}

impl<'a> DataItems<'a> {
    pub fn new(data: &'a [u8], count: u8) -> Self {
        DataItems {
            c: Cursor::new(data),
            left: count,
        }
    }
}

impl<'a> Iterator for DataItems<'a> {
    type Item = DataItem<'a>;
    fn next(&mut self) -> Option<DataItem<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let return_code = self.c.u8()?;
        let transport_size = self.c.u8()?;
        let raw_len = self.c.be16()? as usize;
        let length = if matches!(transport_size, 3..=5) {
            raw_len.div_ceil(8)
        } else {
            raw_len
        };
        let rest = self.c.rest();
        let data = rest.get(..length).unwrap_or(rest);
        self.c.skip(data.len());
        if self.left > 0 && length % 2 == 1 {
            self.c.skip(1);
        }
        Some(DataItem {
            return_code,
            transport_size,
            length,
            data,
        })
    }
}

/// Block file name `_TTNNNNNF`: block type, number and destination file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockName<'a> {
    pub block_type: &'a [u8],
    pub number: &'a [u8],
    pub filesystem: Option<u8>,
}

pub fn block_name(f: &[u8]) -> Option<BlockName<'_>> {
    if f.first() != Some(&b'_') || f.len() < 8 {
        return None;
    }
    Some(BlockName {
        block_type: &f[1..3],
        number: &f[3..8],
        filesystem: f.get(8).copied(),
    })
}

pub fn block_type_name(t: &[u8]) -> &'static str {
    match t {
        b"08" => "OB",
        b"09" => "CMod",
        b"0A" => "DB",
        b"0B" => "SDB",
        b"0C" => "FC",
        b"0D" => "SFC",
        b"0E" => "FB",
        b"0F" => "SFB",
        _ => "unknown",
    }
}

pub fn filesystem_name(c: u8) -> &'static str {
    match c {
        b'P' => "passive",
        b'A' => "active",
        b'B' => "active (both)",
        _ => "unknown",
    }
}

/// Identification facts from SZL 0x0011 / 0x001C records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModuleFacts<'a> {
    pub order_number: Option<&'a [u8]>,
    /// Hardware version (SZL 0x0011 index 1/6, Ausbe).
    pub hardware: Option<u16>,
    /// Firmware version (SZL 0x0011 index 7): major, minor, patch.
    pub firmware: Option<(u8, u8, u8)>,
    pub system_name: Option<&'a [u8]>,
    pub module_name: Option<&'a [u8]>,
    pub plant_id: Option<&'a [u8]>,
    pub copyright: Option<&'a [u8]>,
    pub serial: Option<&'a [u8]>,
    pub module_type: Option<&'a [u8]>,
    pub location: Option<&'a [u8]>,
}

impl ModuleFacts<'_> {
    pub fn is_empty(&self) -> bool {
        *self == ModuleFacts::default()
    }
}

/// Decodes module identification (SZL id low byte 0x11) and component
/// identification (low byte 0x1C) records.
pub fn module_facts<'a>(szl: &Szl<'a>) -> ModuleFacts<'a> {
    let mut f = ModuleFacts::default();
    let Some(rl) = szl.record_len.map(usize::from) else {
        return f;
    };
    if rl < 2 {
        return f;
    }
    for r in szl.records.chunks_exact(rl) {
        let idx = u16::from_be_bytes([r[0], r[1]]);
        match szl.id & 0xff {
            0x11 if rl >= 28 => {
                let ausbg = u16::from_be_bytes([r[24], r[25]]);
                let ausbe = u16::from_be_bytes([r[26], r[27]]);
                match idx {
                    1 => {
                        f.order_number = Some(&r[2..22]);
                        f.hardware.get_or_insert(ausbe);
                    }
                    6 => f.hardware = Some(ausbe),
                    7 if ausbg >> 8 == u16::from(b'V') => {
                        f.firmware = Some(((ausbg & 0xff) as u8, (ausbe >> 8) as u8, ausbe as u8))
                    }
                    _ => {}
                }
            }
            0x1c if rl >= 34 => {
                let text = &r[2..34];
                match idx {
                    1 => f.system_name = Some(text),
                    2 => f.module_name = Some(text),
                    3 => f.plant_id = Some(text),
                    4 => f.copyright = Some(&text[..26]),
                    5 => f.serial = Some(&text[..24]),
                    7 => f.module_type = Some(text),
                    0x0b => f.location = Some(text),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    f
}

pub fn rosctr_name(r: u8) -> &'static str {
    match r {
        ROSCTR_JOB => "Job",
        ROSCTR_ACK => "Ack",
        ROSCTR_ACK_DATA => "Ack_Data",
        ROSCTR_USERDATA => "Userdata",
        _ => "unknown",
    }
}

pub fn function_name(f: u8) -> &'static str {
    match f {
        FN_CPU_SERVICES => "CPU services",
        FN_SETUP => "Setup communication",
        FN_READ_VAR => "Read Var",
        FN_WRITE_VAR => "Write Var",
        FN_REQUEST_DOWNLOAD => "Request download",
        FN_DOWNLOAD_BLOCK => "Download block",
        FN_DOWNLOAD_ENDED => "Download ended",
        FN_START_UPLOAD => "Start upload",
        FN_UPLOAD => "Upload",
        FN_END_UPLOAD => "End upload",
        FN_PLC_CONTROL => "PLC Control",
        FN_PLC_STOP => "PLC Stop",
        _ => "unknown",
    }
}

pub fn userdata_type_name(t: u8) -> &'static str {
    match t {
        0x0 => "push",
        0x4 => "request",
        0x8 => "response",
        0x3 => "nc_push",
        0x7 => "nc_request",
        0xb => "nc_response",
        _ => "unknown",
    }
}

pub fn group_name(g: u8) -> &'static str {
    match g {
        GRP_MODE => "Mode-transition",
        GRP_PROGRAMMER => "Programmer commands",
        GRP_CYCLIC => "Cyclic data",
        GRP_BLOCK => "Block functions",
        GRP_CPU => "CPU functions",
        GRP_SECURITY => "Security",
        6 => "PBC BSEND/BRECV",
        GRP_TIME => "Time functions",
        0xf => "NC programming",
        _ => "unknown",
    }
}

pub fn subfunction_name(group: u8, sub: u8) -> &'static str {
    match (group, sub) {
        (GRP_MODE, 0) => "STOP",
        (GRP_MODE, 1) => "Warm Restart",
        (GRP_MODE, 2) => "RUN",
        (GRP_MODE, 3) => "Hot Restart",
        (GRP_MODE, 4) => "HOLD",
        (GRP_MODE, 6) => "Cold Restart",
        (GRP_MODE, 9) => "RUN_R (H-System redundant)",
        (GRP_MODE, 11) => "LINK-UP",
        (GRP_MODE, 12) => "UPDATE",
        (GRP_PROGRAMMER, 0x01) => "Request diag data (Type 1)",
        (GRP_PROGRAMMER, 0x02) => "VarTab",
        (GRP_PROGRAMMER, 0x0c) => "Erase",
        (GRP_PROGRAMMER, 0x0e) => "Read diag data",
        (GRP_PROGRAMMER, 0x0f) => "Remove diag data",
        (GRP_PROGRAMMER, 0x10) => "Forces",
        (GRP_PROGRAMMER, 0x13) => "Request diag data (Type 2)",
        (GRP_CYCLIC, 0x01) => "Memory",
        (GRP_CYCLIC, 0x04) => "Unsubscribe",
        (GRP_CYCLIC, 0x05) => "Memory2",
        (GRP_BLOCK, 0x01) => "List blocks",
        (GRP_BLOCK, 0x02) => "List blocks of type",
        (GRP_BLOCK, 0x03) => "Get block info",
        (GRP_CPU, 0x01) => "Read SZL",
        (GRP_CPU, 0x02) => "Message service",
        (GRP_CPU, 0x03) => "Diagnostic message",
        (GRP_CPU, 0x05) => "ALARM_8 indication",
        (GRP_CPU, 0x06) => "NOTIFY indication",
        (GRP_CPU, 0x07) => "ALARM_8 lock",
        (GRP_CPU, 0x08) => "ALARM_8 unlock",
        (GRP_CPU, 0x09) => "SCAN indication",
        (GRP_CPU, 0x0b) => "ALARM ack",
        (GRP_CPU, 0x0c) => "ALARM ack indication",
        (GRP_CPU, 0x0d) => "ALARM lock indication",
        (GRP_CPU, 0x0e) => "ALARM unlock indication",
        (GRP_CPU, 0x11) => "ALARM_SQ indication",
        (GRP_CPU, 0x12) => "ALARM_S indication",
        (GRP_CPU, 0x13) => "ALARM query",
        (GRP_CPU, 0x16) => "NOTIFY_8 indication",
        (GRP_SECURITY, 0x01) => "PLC password",
        (GRP_SECURITY, 0x02) => "Clean session",
        (GRP_TIME, 0x01) => "Read clock",
        (GRP_TIME, 0x02) => "Set clock",
        (GRP_TIME, 0x03) => "Read clock (following)",
        (GRP_TIME, 0x04) => "Set clock",
        _ => "unknown",
    }
}

pub fn area_name(a: u8) -> &'static str {
    match a {
        0x03 => "System info of 200 family",
        0x05 => "System flags of 200 family",
        0x06 => "Analog inputs of 200 family",
        0x07 => "Analog outputs of 200 family",
        0x80 => "Direct peripheral access (P)",
        0x81 => "Inputs (I)",
        0x82 => "Outputs (Q)",
        0x83 => "Flags (M)",
        0x84 => "Data blocks (DB)",
        0x85 => "Instance data blocks (DI)",
        0x86 => "Local data (L)",
        0x87 => "Unknown yet (V)",
        0x1c => "S7 counters (C)",
        0x1d => "S7 timers (T)",
        0x1e => "IEC counters (200 family)",
        0x1f => "IEC timers (200 family)",
        _ => "unknown",
    }
}

pub fn return_code_name(r: u8) -> &'static str {
    match r {
        0x00 => "Reserved",
        0x01 => "Hardware error",
        0x03 => "Accessing the object not allowed",
        0x05 => "Invalid address",
        0x06 => "Data type not supported",
        0x07 => "Data type inconsistent",
        0x0a => "Object does not exist",
        0xff => "Success",
        _ => "unknown",
    }
}

pub fn error_class_name(c: u8) -> &'static str {
    match c {
        0x00 => "No error",
        0x81 => "Application relationship",
        0x82 => "Object definition",
        0x83 => "No resources available",
        0x84 => "Error on service processing",
        0x85 => "Error on supplies",
        0x87 => "Access error",
        _ => "unknown",
    }
}

pub fn szl_id_name(id: u16) -> &'static str {
    match id & 0xff {
        0x00 => "List of all the SZL-IDs of a module",
        0x11 => "Module identification",
        0x12 => "CPU characteristics",
        0x13 => "User memory areas",
        0x14 => "System areas",
        0x15 => "Block types",
        0x19 => "Status of the module LEDs",
        0x1c => "Component Identification",
        0x22 => "Interrupt status",
        0x24 => "Modes",
        0x25 => "Assignment between process image partitions and OBs",
        0x31 => "Communication capability parameters",
        0x32 => "Communication status data",
        0x33 => "Diagnostics: device logon list",
        0x37 => "Ethernet details of the module",
        0x71 => "H CPU group information",
        0x74 => "Status of the module LEDs",
        0x75 => "Switched DP slaves in the H-system",
        0x90 => "DP master system information",
        0x91 => "Module status information",
        0x92 => "Rack / station status information",
        0x94 => "Rack / station status information",
        0x95 => "Extended DP master system information",
        0x96 => "Module status information, PROFINET IO and PROFIBUS DP",
        0xa0 => "Diagnostic buffer of the CPU",
        0xb1 => "Module diagnostic information (record set 0)",
        0xb2 => "Module diagnostic information (record set 1) via physical address",
        0xb3 => "Module diagnostic information (record set 1) via logical address",
        0xb4 => "Diagnostic data of a DP slave",
        _ => "unknown",
    }
}
