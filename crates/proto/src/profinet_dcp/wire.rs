//! Profinet DCP (IEC 61158-6-10, Discovery and basic Configuration Protocol):
//! pure, zero-copy parsing of one DCP frame (after the EtherType).

use std::net::Ipv4Addr;

use crate::wire::Cursor;

/// Frame ids.
pub const HELLO: u16 = 0xfefc;
pub const GET_SET: u16 = 0xfefd;
pub const IDENTIFY_REQ: u16 = 0xfefe;
pub const IDENTIFY_RESP: u16 = 0xfeff;

/// Service ids.
pub fn service_name(id: u8) -> &'static str {
    match id {
        3 => "get",
        4 => "set",
        5 => "identify",
        6 => "hello",
        _ => "reserved",
    }
}

/// Service types.
pub fn service_type_name(t: u8) -> &'static str {
    match t {
        0 => "request",
        1 => "response_success",
        5 => "response_unsupported",
        _ => "reserved",
    }
}

/// Why a frame did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the 12-byte DCP header (frame id included).
    Short(usize),
    /// The DCP data length runs past the frame.
    BadDataLength { len: u16, available: usize },
    /// A block runs past the DCP data.
    BlockOverrun { option: u8, suboption: u8, len: u16 },
    /// Service id outside get/set/identify/hello.
    BadServiceId(u8),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::Short(_) => "short_frame",
            Error::BadDataLength { .. } => "bad_data_length",
            Error::BlockOverrun { .. } => "block_overrun",
            Error::BadServiceId(_) => "bad_service_id",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Short(n) => write!(
                f,
                "frame of {n} bytes is shorter than the 12-byte DCP header"
            ),
            Error::BadDataLength { len, available } => write!(
                f,
                "DCP data length {len} but only {available} bytes follow the header"
            ),
            Error::BlockOverrun {
                option,
                suboption,
                len,
            } => write!(
                f,
                "block {option}/{suboption} of length {len} runs past the DCP data"
            ),
            Error::BadServiceId(s) => {
                write!(
                    f,
                    "service id {s} is not get(3)/set(4)/identify(5)/hello(6)"
                )
            }
        }
    }
}

/// A DCP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub frame_id: u16,
    pub service_id: u8,
    pub service_type: u8,
    pub xid: u32,
    /// Response delay factor (identify request) or reserved.
    pub response_delay: u16,
    /// The blocks (walk them with [`Blocks`]).
    pub blocks: &'a [u8],
    pub facts: Facts<'a>,
}

/// Identity facts collected from the blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Facts<'a> {
    pub name_of_station: Option<&'a [u8]>,
    pub type_of_station: Option<&'a [u8]>,
    pub ip: Option<Ipv4Addr>,
    pub netmask: Option<Ipv4Addr>,
    pub gateway: Option<Ipv4Addr>,
    pub vendor_id: Option<u16>,
    pub device_id: Option<u16>,
    pub role: Option<u8>,
    pub control: Option<u8>,
    pub block_count: u16,
}

/// One block: option, suboption and its data (after the block info /
/// qualifier, when the frame kind has one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block<'a> {
    pub option: u8,
    pub suboption: u8,
    /// BlockInfo (responses) or BlockQualifier (set requests).
    pub info: Option<u16>,
    pub data: &'a [u8],
}

/// Whether blocks of this frame carry a 2-byte info/qualifier before the data.
fn has_info(service_id: u8, service_type: u8, option: u8, suboption: u8) -> bool {
    match (service_id, service_type) {
        // Identify/get responses and hello: BlockInfo, except the set-response
        // control block (option 5/4) which is its own format.
        (5 | 3 | 6, t) if t != 0 || service_id == 6 => true,
        // Set requests: BlockQualifier before the value.
        (4, 0) => true,
        (4, _) => !(option == 5 && suboption == 4),
        _ => false,
    }
}

/// Walks the blocks of a frame. Get requests list option/suboption pairs
/// without lengths; every other frame has TLV blocks padded to even lengths.
#[derive(Clone, Debug)]
pub struct Blocks<'a> {
    c: Cursor<'a>,
    service_id: u8,
    service_type: u8,
}

impl<'a> Blocks<'a> {
    pub fn new(f: &Frame<'a>) -> Self {
        Blocks {
            c: Cursor::new(f.blocks),
            service_id: f.service_id,
            service_type: f.service_type,
        }
    }
    fn one(&mut self) -> Result<Option<Block<'a>>, Error> {
        if self.c.remaining() < 2 {
            return Ok(None);
        }
        let option = self.c.u8().unwrap_or(0);
        let suboption = self.c.u8().unwrap_or(0);
        if self.service_id == 3 && self.service_type == 0 {
            return Ok(Some(Block {
                option,
                suboption,
                info: None,
                data: &[],
            }));
        }
        let Some(len) = self.c.be16() else {
            return Err(Error::BlockOverrun {
                option,
                suboption,
                len: 0,
            });
        };
        let Some(data) = self.c.take(len as usize) else {
            return Err(Error::BlockOverrun {
                option,
                suboption,
                len,
            });
        };
        if len % 2 == 1 {
            let _ = self.c.skip(1);
        }
        let (info, data) =
            if has_info(self.service_id, self.service_type, option, suboption) && data.len() >= 2 {
                (Some(u16::from_be_bytes([data[0], data[1]])), &data[2..])
            } else {
                (None, data)
            };
        Ok(Some(Block {
            option,
            suboption,
            info,
            data,
        }))
    }
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Result<Block<'a>, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.one() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => None,
            Err(e) => {
                self.c = Cursor::new(&[]);
                Some(Err(e))
            }
        }
    }
}

fn ip4(b: &[u8]) -> Option<Ipv4Addr> {
    Some(Ipv4Addr::new(
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ))
}

/// Parses one DCP frame (starting at the frame id).
pub fn parse(b: &[u8]) -> Result<Frame<'_>, Error> {
    let mut c = Cursor::new(b);
    let (Some(frame_id), Some(service_id), Some(service_type), Some(xid), Some(rd), Some(len)) =
        (c.be16(), c.u8(), c.u8(), c.be32(), c.be16(), c.be16())
    else {
        return Err(Error::Short(b.len()));
    };
    if !(3..=6).contains(&service_id) {
        return Err(Error::BadServiceId(service_id));
    }
    let blocks = c.take(len as usize).ok_or(Error::BadDataLength {
        len,
        available: c.remaining(),
    })?;
    let mut f = Frame {
        frame_id,
        service_id,
        service_type,
        xid,
        response_delay: rd,
        blocks,
        facts: Facts::default(),
    };
    let mut facts = Facts::default();
    for blk in Blocks::new(&f) {
        let blk = blk?;
        facts.block_count = facts.block_count.saturating_add(1);
        let d = blk.data;
        match (blk.option, blk.suboption) {
            (1, 2) | (1, 3) if d.len() >= 12 => {
                facts.ip = ip4(d);
                facts.netmask = ip4(&d[4..]);
                facts.gateway = ip4(&d[8..]);
            }
            (2, 1) if !d.is_empty() => facts.type_of_station = Some(d),
            (2, 2) if !d.is_empty() => facts.name_of_station = Some(d),
            (2, 3) if d.len() >= 4 => {
                facts.vendor_id = Some(u16::from_be_bytes([d[0], d[1]]));
                facts.device_id = Some(u16::from_be_bytes([d[2], d[3]]));
            }
            (2, 4) if !d.is_empty() => facts.role = Some(d[0]),
            (5, s @ (1..=3 | 5 | 6)) if blk.info.is_some() || service_id == 4 => {
                facts.control = Some(s)
            }
            _ => {}
        }
    }
    f.facts = facts;
    Ok(f)
}

/// Name of an option/suboption pair.
pub fn block_name(option: u8, suboption: u8) -> &'static str {
    match (option, suboption) {
        (1, 1) => "ip_mac",
        (1, 2) => "ip_parameter",
        (1, 3) => "ip_full_suite",
        (2, 1) => "type_of_station",
        (2, 2) => "name_of_station",
        (2, 3) => "device_id",
        (2, 4) => "device_role",
        (2, 5) => "device_options",
        (2, 6) => "alias_name",
        (2, 7) => "device_instance",
        (2, 8) => "oem_device_id",
        (3, _) => "dhcp",
        (5, 1) => "control_start",
        (5, 2) => "control_stop",
        (5, 3) => "control_signal",
        (5, 4) => "control_response",
        (5, 5) => "control_factory_reset",
        (5, 6) => "control_reset_to_factory",
        (6, 1) => "device_initiative",
        (0xff, 0xff) => "all_selector",
        _ => "other",
    }
}
