//! Profinet IO context management over DCE/RPC connectionless (UDP 34964):
//! pure, zero-copy parsing of the RPC header and the PNIO blocks.
//!
//! References: DCE 1.1 RPC (connectionless PDU header), IEC 61158-6-10
//! (PNIO interface UUIDs, NDR arguments, block types).

use crate::wire::Cursor;

/// Length of the connectionless RPC header.
pub const RPC_HEADER_LEN: usize = 80;

/// Which PNIO interface an RPC targets (DEA0000x-6C97-11D1-8271-00A02442DF7D).
pub fn interface_name(uuid: &[u8; 16]) -> Option<&'static str> {
    const TAIL: [u8; 12] = [
        0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf, 0x7d,
    ];
    if uuid[..3] != [0xde, 0xa0, 0x00] || uuid[4..] != TAIL {
        return None;
    }
    match uuid[3] {
        1 => Some("device"),
        2 => Some("controller"),
        3 => Some("supervisor"),
        4 => Some("parameter_server"),
        _ => None,
    }
}

pub fn packet_type_name(t: u8) -> &'static str {
    match t {
        0 => "request",
        1 => "ping",
        2 => "response",
        3 => "fault",
        4 => "working",
        5 => "nocall",
        6 => "reject",
        7 => "ack",
        8 => "cl_cancel",
        9 => "fack",
        10 => "cancel_ack",
        _ => "unknown",
    }
}

pub fn op_name(op: u16) -> &'static str {
    match op {
        0 => "connect",
        1 => "release",
        2 => "read",
        3 => "write",
        4 => "control",
        5 => "read_implicit",
        _ => "unknown",
    }
}

/// Why a datagram did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the 80-byte RPC header.
    Short(usize),
    /// RPC version other than 4 (connectionless).
    BadVersion(u8),
    /// Body length field larger than the datagram.
    BadLength { len: u16, available: usize },
    /// A PNIO block runs past the body.
    BlockOverrun { block_type: u16, len: u16 },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::Short(_) => "short_datagram",
            Error::BadVersion(_) => "bad_rpc_version",
            Error::BadLength { .. } => "bad_length",
            Error::BlockOverrun { .. } => "block_overrun",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Short(n) => write!(
                f,
                "datagram of {n} bytes is shorter than the 80-byte RPC header"
            ),
            Error::BadVersion(v) => write!(f, "RPC version {v}, expected 4 (connectionless)"),
            Error::BadLength { len, available } => {
                write!(
                    f,
                    "RPC body length {len} but {available} bytes follow the header"
                )
            }
            Error::BlockOverrun { block_type, len } => write!(
                f,
                "PNIO block 0x{block_type:04x} of length {len} runs past the RPC body"
            ),
        }
    }
}

/// The connectionless RPC header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rpc {
    pub packet_type: u8,
    pub flags1: u8,
    pub little_endian: bool,
    /// UUIDs in canonical (big-endian) byte order.
    pub object: [u8; 16],
    pub interface: [u8; 16],
    pub activity: [u8; 16],
    pub seq: u32,
    pub opnum: u16,
    pub fragment: u16,
    pub body_len: u16,
}

fn uuid(b: &[u8], le: bool) -> [u8; 16] {
    let mut u = [0u8; 16];
    u.copy_from_slice(&b[..16]);
    if le {
        u[..4].reverse();
        u[4..6].reverse();
        u[6..8].reverse();
    }
    u
}

/// Parses the RPC header; returns it and the body.
pub fn parse_rpc(b: &[u8]) -> Result<(Rpc, &[u8]), Error> {
    if b.len() < RPC_HEADER_LEN {
        return Err(Error::Short(b.len()));
    }
    if b[0] != 4 {
        return Err(Error::BadVersion(b[0]));
    }
    let le = b[4] & 0x10 != 0;
    let u16_at = |o: usize| {
        let v = [b[o], b[o + 1]];
        if le {
            u16::from_le_bytes(v)
        } else {
            u16::from_be_bytes(v)
        }
    };
    let u32_at = |o: usize| {
        let v = [b[o], b[o + 1], b[o + 2], b[o + 3]];
        if le {
            u32::from_le_bytes(v)
        } else {
            u32::from_be_bytes(v)
        }
    };
    let rpc = Rpc {
        packet_type: b[1] & 0x1f,
        flags1: b[2],
        little_endian: le,
        object: uuid(&b[8..24], le),
        interface: uuid(&b[24..40], le),
        activity: uuid(&b[40..56], le),
        seq: u32_at(64),
        opnum: u16_at(68),
        body_len: u16_at(74),
        fragment: u16_at(76),
    };
    let body = b
        .get(RPC_HEADER_LEN..RPC_HEADER_LEN + rpc.body_len as usize)
        .ok_or(Error::BadLength {
            len: rpc.body_len,
            available: b.len() - RPC_HEADER_LEN,
        })?;
    Ok((rpc, body))
}

/// PNIO facts from the NDR arguments and blocks of a request/response body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pnio<'a> {
    /// PNIO status of a response (4 bytes: code, decode, code1, code2).
    pub status: Option<u32>,
    /// Type of the first block.
    pub first_block: Option<u16>,
    pub block_count: u16,
    pub ar_type: Option<u16>,
    pub ar_uuid: Option<[u8; 16]>,
    pub station_name: Option<&'a [u8]>,
    pub api: Option<u32>,
    pub slot: Option<u16>,
    pub subslot: Option<u16>,
    pub index: Option<u16>,
    pub record_len: Option<u32>,
    pub control_command: Option<u16>,
    /// The blocks (for the block type list).
    pub blocks: &'a [u8],
}

/// Parses the NDR header and blocks of a request (`response == false`) or
/// response body. The first fragment of a fragmented RPC (`partial`) may end
/// inside a block: that is not an error.
pub fn parse_pnio(body: &[u8], response: bool, partial: bool) -> Result<Pnio<'_>, Error> {
    let mut p = Pnio::default();
    let mut c = Cursor::new(body);
    if response {
        p.status = c.be32();
    } else {
        c.skip(4); // ArgsMaximum
    }
    // ArgsLength, MaximumCount, Offset, ActualCount (NDR order: skip).
    if c.skip(16).is_none() {
        return Ok(p);
    }
    p.blocks = c.rest();
    let mut blocks = Cursor::new(p.blocks);
    let mut multiple = false;
    while blocks.remaining() >= 6 {
        let (Some(bt), Some(bl)) = (blocks.be16(), blocks.be16()) else {
            break;
        };
        let Some(content) = blocks.take(bl as usize) else {
            if partial {
                break;
            }
            return Err(Error::BlockOverrun {
                block_type: bt,
                len: bl,
            });
        };
        p.block_count = p.block_count.saturating_add(1);
        if p.first_block.is_none() {
            p.first_block = Some(bt);
        }
        // Content after the 2 version bytes.
        let mut k = Cursor::new(content.get(2..).unwrap_or_default());
        match bt {
            0x0101 | 0x8101 => {
                p.ar_type = k.be16();
                p.ar_uuid = k.take(16).map(|u| {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(u);
                    a
                });
                if bt == 0x0101 {
                    k.skip(2 + 6 + 16 + 4 + 2 + 2);
                    if let Some(n) = k.be16() {
                        p.station_name = k.take(n as usize);
                    }
                }
            }
            0x0008 | 0x0009 | 0x8008 | 0x8009 if p.index.is_none() => {
                k.skip(2 + 16);
                p.api = k.be32();
                p.slot = k.be16();
                p.subslot = k.be16();
                k.skip(2);
                p.index = k.be16();
                p.record_len = k.be32();
                if bt & 0x8000 != 0 {
                    k.skip(4);
                    if let Some(s) = k.be32()
                        && p.status.is_none_or(|x| x == 0)
                    {
                        p.status = Some(s);
                    }
                }
            }
            0x0110..=0x0118 | 0x8110..=0x8118 => {
                k.skip(2 + 16 + 2 + 2);
                p.control_command = k.be16();
            }
            _ => {}
        }
        // Record data follows a write request header (except the outer
        // header of a multiple write, whose record data is further headers)
        // and a read response header; nested records are 4-byte aligned.
        let rec = match bt {
            0x0008 => {
                let mut k = Cursor::new(content.get(2..).unwrap_or_default());
                k.skip(2 + 16 + 4 + 2 + 2 + 2);
                match (k.be16(), k.be32()) {
                    (Some(0xe040), _) => {
                        multiple = true;
                        0
                    }
                    (_, Some(n)) => n as usize,
                    _ => 0,
                }
            }
            0x8009 => {
                let mut k = Cursor::new(content.get(2..).unwrap_or_default());
                k.skip(2 + 16 + 4 + 2 + 2 + 2 + 2);
                k.be32().unwrap_or(0) as usize
            }
            _ => 0,
        };
        if rec > 0 && blocks.skip(rec.min(blocks.remaining())).is_none() {
            break;
        }
        if multiple {
            while !blocks.pos().is_multiple_of(4) && blocks.rest().first() == Some(&0) {
                blocks.skip(1);
            }
        }
    }
    Ok(p)
}

/// Iterates block types of a block list.
pub fn block_types(blocks: &[u8]) -> impl Iterator<Item = u16> + '_ {
    let mut c = Cursor::new(blocks);
    let mut multiple = false;
    std::iter::from_fn(move || {
        if multiple {
            while !c.pos().is_multiple_of(4) && c.rest().first() == Some(&0) {
                c.skip(1);
            }
        }
        let bt = c.be16()?;
        let bl = c.be16()?;
        let content = c.take(bl as usize)?;
        let at = |o: usize, n: usize| content.get(o..o + n);
        let rec = match bt {
            0x0008 => match (at(30, 2), at(32, 4)) {
                (Some([0xe0, 0x40]), _) => {
                    multiple = true;
                    0
                }
                (_, Some(n)) => u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize,
                _ => 0,
            },
            0x8009 => {
                at(32, 4).map_or(0, |n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
            }
            _ => 0,
        };
        c.skip(rec.min(c.remaining()));
        Some(bt)
    })
}

pub fn block_name(bt: u16) -> &'static str {
    match bt {
        0x0008 => "IODWriteReqHeader",
        0x0009 => "IODReadReqHeader",
        0x8008 => "IODWriteResHeader",
        0x8009 => "IODReadResHeader",
        0x0101 => "ARBlockReq",
        0x8101 => "ARBlockRes",
        0x0102 => "IOCRBlockReq",
        0x8102 => "IOCRBlockRes",
        0x0103 => "AlarmCRBlockReq",
        0x8103 => "AlarmCRBlockRes",
        0x0104 => "ExpectedSubmoduleBlockReq",
        0x0105 => "PrmServerBlockReq",
        0x0106 => "MCRBlockReq",
        0x0107 => "ARRPCBlockReq",
        0x0108 => "ARVendorBlockReq",
        0x0110 => "IODControlReq(PrmEnd)",
        0x8110 => "IODControlRes(PrmEnd)",
        0x0111 => "IODControlReq(PlugPrmEnd)",
        0x8111 => "IODControlRes(PlugPrmEnd)",
        0x0112 => "IOXControlReq(ApplicationReady)",
        0x8112 => "IOXControlRes(ApplicationReady)",
        0x0113 => "IOXControlReq(PlugApplicationReady)",
        0x8113 => "IOXControlRes(PlugApplicationReady)",
        0x0114 => "IODReleaseReq",
        0x8114 => "IODReleaseRes",
        0x0116 => "IOXControlReq(ReadyForCompanion)",
        0x0117 => "IOXControlReq(ReadyForRT_CLASS_3)",
        0x0118 => "IODControlReq(PrmBegin)",
        0x8118 => "IODControlRes(PrmBegin)",
        0x8106 => "ARServerBlock",
        0x8104 => "ModuleDiffBlock",
        _ => "other",
    }
}

pub fn control_name(cmd: u16) -> &'static str {
    if cmd & 0x0001 != 0 {
        "PrmEnd"
    } else if cmd & 0x0002 != 0 {
        "ApplicationReady"
    } else if cmd & 0x0004 != 0 {
        "Release"
    } else if cmd & 0x0008 != 0 {
        "Done"
    } else if cmd & 0x0010 != 0 {
        "ReadyForCompanion"
    } else if cmd & 0x0020 != 0 {
        "ReadyForRT_CLASS_3"
    } else if cmd & 0x0040 != 0 {
        "PrmBegin"
    } else {
        "none"
    }
}
