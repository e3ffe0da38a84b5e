//! DNP3 (IEEE 1815): pure, zero-copy parsing of link frames, transport
//! segments, application headers and object headers.
//!
//! Layout of a link frame: `05 64 LEN CTRL DST(le16) SRC(le16) CRC(le16)`, then
//! `LEN - 5` bytes of user data in blocks of up to 16 bytes, each followed by
//! its CRC. The first user-data byte is the transport header; the rest of the
//! transport segments of one fragment form the application fragment:
//! application control, function code, IIN (responses only), object headers.
//!
//! Field values are kept as numbers and never rejected for being unknown: an
//! IDS must see what is on the wire, including codes no standard assigns.

use crate::wire::Cursor;

/// The two start octets of every link frame.
pub const START: [u8; 2] = [0x05, 0x64];
/// Length of the link header including its CRC.
pub const HEADER_LEN: usize = 10;
/// User-data bytes per CRC block.
pub const BLOCK_LEN: usize = 16;
/// Most user data a frame carries (LEN 255).
pub const MAX_USER_DATA: usize = 250;
/// Largest link frame on the wire: 10 + 250 + 16 block CRCs.
pub const MAX_FRAME_LEN: usize = 292;
/// Largest reassembled application fragment accepted.
pub const MAX_FRAGMENT_LEN: usize = 4096;
/// Object headers iterated per fragment at most.
pub const MAX_OBJECT_HEADERS: usize = 256;

const CRC_TABLE: [u16; 256] = crc_table();

const fn crc_table() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u16;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xA6BC
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

/// DNP3 CRC-16 (polynomial 0x3D65 reflected, initial 0, complemented). It is
/// sent little-endian after the header and after each user-data block.
#[inline]
pub fn crc(data: &[u8]) -> u16 {
    let mut c: u16 = 0;
    for &b in data {
        c = (c >> 8) ^ CRC_TABLE[((c ^ b as u16) & 0xff) as usize];
    }
    !c
}

/// Encodes a link frame: header with its CRC, then `user_data` in 16-byte
/// blocks each followed by its CRC (CRCs little-endian). `None` when the user
/// data exceeds the 250 bytes a frame can carry. Used by the traffic generator
/// and the tests; the dissector only reads frames.
pub fn encode_frame(control: u8, dst: u16, src: u16, user_data: &[u8]) -> Option<Vec<u8>> {
    if user_data.len() > MAX_USER_DATA {
        return None;
    }
    let mut f = Vec::with_capacity(frame_len((user_data.len() + 5) as u8));
    f.extend_from_slice(&[START[0], START[1], (user_data.len() + 5) as u8, control]);
    f.extend_from_slice(&dst.to_le_bytes());
    f.extend_from_slice(&src.to_le_bytes());
    let c = crc(&f);
    f.extend_from_slice(&c.to_le_bytes());
    for block in user_data.chunks(BLOCK_LEN) {
        f.extend_from_slice(block);
        f.extend_from_slice(&crc(block).to_le_bytes());
    }
    Some(f)
}

/// Total length of a link frame whose LEN field is `len` (`len` >= 5).
#[inline]
pub fn frame_len(len: u8) -> usize {
    let ud = (len as usize).saturating_sub(5);
    HEADER_LEN + ud + 2 * ud.div_ceil(BLOCK_LEN)
}

#[inline]
fn len16(n: usize) -> u16 {
    n.min(u16::MAX as usize) as u16
}

/// Application function codes.
pub mod fc {
    pub const CONFIRM: u8 = 0;
    pub const READ: u8 = 1;
    pub const WRITE: u8 = 2;
    pub const SELECT: u8 = 3;
    pub const OPERATE: u8 = 4;
    pub const DIRECT_OPERATE: u8 = 5;
    pub const DIRECT_OPERATE_NR: u8 = 6;
    pub const FREEZE_AT_TIME: u8 = 11;
    pub const FREEZE_AT_TIME_NR: u8 = 12;
    pub const COLD_RESTART: u8 = 13;
    pub const WARM_RESTART: u8 = 14;
    pub const ENABLE_UNSOLICITED: u8 = 20;
    pub const DISABLE_UNSOLICITED: u8 = 21;
    pub const ASSIGN_CLASS: u8 = 22;
    pub const DELAY_MEASURE: u8 = 23;
    pub const RECORD_CURRENT_TIME: u8 = 24;
    pub const OPEN_FILE: u8 = 25;
    pub const ACTIVATE_CONFIG: u8 = 31;
    pub const AUTHENTICATE_REQ: u8 = 32;
    pub const AUTH_REQ_NO_ACK: u8 = 33;
    pub const RESPONSE: u8 = 129;
    pub const UNSOLICITED_RESPONSE: u8 = 130;
    pub const AUTHENTICATE_RESP: u8 = 131;
}

/// Name of an application function code, for reports.
pub fn function_name(code: u8) -> &'static str {
    match code {
        0 => "confirm",
        1 => "read",
        2 => "write",
        3 => "select",
        4 => "operate",
        5 => "direct_operate",
        6 => "direct_operate_nr",
        7 => "immed_freeze",
        8 => "immed_freeze_nr",
        9 => "freeze_clear",
        10 => "freeze_clear_nr",
        11 => "freeze_at_time",
        12 => "freeze_at_time_nr",
        13 => "cold_restart",
        14 => "warm_restart",
        15 => "initialize_data",
        16 => "initialize_appl",
        17 => "start_appl",
        18 => "stop_appl",
        19 => "save_config",
        20 => "enable_unsolicited",
        21 => "disable_unsolicited",
        22 => "assign_class",
        23 => "delay_measure",
        24 => "record_current_time",
        25 => "open_file",
        26 => "close_file",
        27 => "delete_file",
        28 => "get_file_info",
        29 => "authenticate_file",
        30 => "abort_file",
        31 => "activate_config",
        32 => "authenticate_req",
        33 => "auth_req_no_ack",
        129 => "response",
        130 => "unsolicited_response",
        131 => "authenticate_resp",
        _ => "reserved",
    }
}

/// True for the response function codes (129, 130, 131), which carry IIN.
#[inline]
pub fn is_response(function_code: u8) -> bool {
    matches!(function_code, 129..=131)
}

/// True when the object headers of `function_code` are followed by object
/// data (writes, controls, freeze-at-time, file and auth requests, responses);
/// other requests (read, freeze, assign class ...) carry headers only.
#[inline]
pub fn carries_object_data(function_code: u8) -> bool {
    matches!(function_code, 2..=6 | 11 | 12 | 25..=33 | 129..=131)
}

/// Name of a link-layer function code (`prm` selects the primary/secondary table).
pub fn link_function_name(prm: bool, code: u8) -> &'static str {
    match (prm, code) {
        (true, 0) => "reset_link_states",
        (true, 2) => "test_link_states",
        (true, 3) => "confirmed_user_data",
        (true, 4) => "unconfirmed_user_data",
        (true, 9) => "request_link_status",
        (false, 0) => "ack",
        (false, 1) => "nack",
        (false, 11) => "link_status",
        (false, 15) => "not_supported",
        _ => "reserved",
    }
}

/// Internal indication flag names: IIN1 bits 0–7, then IIN2 bits 0–5
/// (`iin` packs IIN1 in the high byte, as on the wire and in Wireshark).
pub const IIN_FLAGS: [(u16, &str); 14] = [
    (0x0100, "all_stations"),
    (0x0200, "class1_events"),
    (0x0400, "class2_events"),
    (0x0800, "class3_events"),
    (0x1000, "need_time"),
    (0x2000, "local_control"),
    (0x4000, "device_trouble"),
    (0x8000, "device_restart"),
    (0x0001, "func_not_supported"),
    (0x0002, "object_unknown"),
    (0x0004, "parameter_error"),
    (0x0008, "event_buffer_overflow"),
    (0x0010, "already_executing"),
    (0x0020, "config_corrupt"),
];

/// Names of the IIN flags set in `iin`.
pub fn iin_flags(iin: u16) -> impl Iterator<Item = &'static str> {
    IIN_FLAGS
        .iter()
        .filter(move |(bit, _)| iin & bit != 0)
        .map(|(_, n)| *n)
}

/// Why a frame, segment or fragment was rejected. `code()` is the stable
/// name used in events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Bytes where a frame should start are not `05 64`.
    BadStart,
    /// LEN below 5 (it counts CTRL, DST and SRC).
    BadLength(u8),
    /// The link header CRC does not match.
    BadHeaderCrc { expected: u16, actual: u16 },
    /// The CRC of a user-data block (numbered from 0) does not match.
    BadBlockCrc {
        block: u8,
        expected: u16,
        actual: u16,
    },
    /// Fewer bytes than the frame needs (end of a datagram).
    Truncated { needed: u16, available: u16 },
    /// A non-first transport segment with no fragment in progress
    /// (`expected` is `None`), or out of sequence.
    TransportSequence { expected: Option<u8>, actual: u8 },
    /// The reassembled fragment would exceed [`MAX_FRAGMENT_LEN`].
    FragmentTooLong { len: u32 },
    /// An application fragment shorter than its header.
    AppTooShort { function: Option<u8>, len: u16 },
    /// An object header (group, variation, qualifier, range) is cut short.
    ObjectHeaderTruncated {
        function: u8,
        group: u8,
        offset: u16,
    },
    /// The objects a header announces run past the end of the fragment.
    ObjectDataTruncated {
        function: u8,
        group: u8,
        variation: u8,
        needed: u32,
        available: u16,
    },
    /// Reserved qualifier bits, prefix code or range code.
    BadQualifier {
        function: u8,
        group: u8,
        variation: u8,
        qualifier: u8,
    },
    /// A start/stop range with stop below start.
    BadRange {
        function: u8,
        group: u8,
        variation: u8,
        start: u32,
        stop: u32,
    },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadStart => "bad_start",
            Error::BadLength(_) => "bad_length",
            Error::BadHeaderCrc { .. } => "bad_header_crc",
            Error::BadBlockCrc { .. } => "bad_block_crc",
            Error::Truncated { .. } => "truncated",
            Error::TransportSequence { .. } => "transport_sequence",
            Error::FragmentTooLong { .. } => "fragment_too_long",
            Error::AppTooShort { .. } => "app_too_short",
            Error::ObjectHeaderTruncated { .. } => "object_header_truncated",
            Error::ObjectDataTruncated { .. } => "object_data_truncated",
            Error::BadQualifier { .. } => "bad_qualifier",
            Error::BadRange { .. } => "bad_range",
        }
    }

    /// The application function code the error concerns, when known.
    pub fn function(&self) -> Option<u8> {
        match *self {
            Error::AppTooShort { function, .. } => function,
            Error::ObjectHeaderTruncated { function, .. }
            | Error::ObjectDataTruncated { function, .. }
            | Error::BadQualifier { function, .. }
            | Error::BadRange { function, .. } => Some(function),
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::BadStart => f.write_str("link frame does not start with 0x05 0x64"),
            Error::BadLength(l) => write!(f, "link length is {l}, the minimum is 5"),
            Error::BadHeaderCrc { expected, actual } => write!(
                f,
                "link header CRC is 0x{actual:04x}, expected 0x{expected:04x}"
            ),
            Error::BadBlockCrc {
                block,
                expected,
                actual,
            } => write!(
                f,
                "CRC of user data block {block} is 0x{actual:04x}, expected 0x{expected:04x}"
            ),
            Error::Truncated { needed, available } => write!(
                f,
                "link frame needs {needed} bytes, only {available} present"
            ),
            Error::TransportSequence {
                expected: None,
                actual,
            } => write!(
                f,
                "transport segment {actual} continues a fragment that was not started"
            ),
            Error::TransportSequence {
                expected: Some(e),
                actual,
            } => write!(f, "transport sequence is {actual}, expected {e}"),
            Error::FragmentTooLong { len } => write!(
                f,
                "application fragment reaches {len} bytes, the limit is {MAX_FRAGMENT_LEN}"
            ),
            Error::AppTooShort {
                function: Some(func),
                len,
            } => write!(
                f,
                "function {func} fragment is {len} bytes, shorter than its header"
            ),
            Error::AppTooShort {
                function: None,
                len,
            } => write!(
                f,
                "application fragment is {len} bytes, shorter than its header"
            ),
            Error::ObjectHeaderTruncated {
                function,
                group,
                offset,
            } => write!(
                f,
                "function {function}: object header (group {group}) at offset {offset} is cut short"
            ),
            Error::ObjectDataTruncated {
                function,
                group,
                variation,
                needed,
                available,
            } => write!(
                f,
                "function {function}: g{group}v{variation} objects need {needed} bytes, only {available} remain"
            ),
            Error::BadQualifier {
                function,
                group,
                variation,
                qualifier,
            } => write!(
                f,
                "function {function}: g{group}v{variation} has reserved qualifier 0x{qualifier:02x}"
            ),
            Error::BadRange {
                function,
                group,
                variation,
                start,
                stop,
            } => write!(
                f,
                "function {function}: g{group}v{variation} range stops at {stop} before its start {start}"
            ),
        }
    }
}

/// Link-layer header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkHeader {
    /// LEN: count of CTRL, DST, SRC and user data bytes (5..=255).
    pub length: u8,
    pub control: u8,
    pub dst: u16,
    pub src: u16,
}

impl LinkHeader {
    /// DIR: set on frames from the master.
    #[inline]
    pub fn dir(&self) -> bool {
        self.control & 0x80 != 0
    }
    /// PRM: set on frames from the primary (initiating) station.
    #[inline]
    pub fn prm(&self) -> bool {
        self.control & 0x40 != 0
    }
    /// FCB (primary frames).
    #[inline]
    pub fn fcb(&self) -> bool {
        self.control & 0x20 != 0
    }
    /// FCV on primary frames, DFC on secondary frames (same bit).
    #[inline]
    pub fn fcv_dfc(&self) -> bool {
        self.control & 0x10 != 0
    }
    /// Link function code (low 4 bits of CTRL).
    #[inline]
    pub fn function(&self) -> u8 {
        self.control & 0x0f
    }
    /// User-data bytes (transport header included), CRCs excluded.
    #[inline]
    pub fn user_data_len(&self) -> usize {
        (self.length as usize).saturating_sub(5)
    }
    /// Total frame length on the wire.
    #[inline]
    pub fn frame_len(&self) -> usize {
        frame_len(self.length)
    }
}

/// Parses and checks the link header at the start of `b`.
///
/// The start octets are checked on whatever is present, so
/// `Err(Truncated)` means `b` is a possible prefix of a valid header.
pub fn parse_header(b: &[u8]) -> Result<LinkHeader, Error> {
    if b.first().is_some_and(|&x| x != START[0]) || b.get(1).is_some_and(|&x| x != START[1]) {
        return Err(Error::BadStart);
    }
    let mut c = Cursor::new(b);
    let truncated = Error::Truncated {
        needed: HEADER_LEN as u16,
        available: len16(b.len()),
    };
    let h = c.take(8).ok_or(truncated)?;
    let actual = c.le16().ok_or(truncated)?;
    let expected = crc(h);
    if actual != expected {
        return Err(Error::BadHeaderCrc { expected, actual });
    }
    let [_, _, length, control, d0, d1, s0, s1] = <[u8; 8]>::try_from(h).map_err(|_| truncated)?;
    if length < 5 {
        return Err(Error::BadLength(length));
    }
    Ok(LinkHeader {
        length,
        control,
        dst: u16::from_le_bytes([d0, d1]),
        src: u16::from_le_bytes([s0, s1]),
    })
}

/// The user-data blocks of a frame body (bytes after the header), CRCs removed.
pub fn user_data_blocks(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    body.chunks(BLOCK_LEN + 2)
        .map(|b| b.split_last_chunk::<2>().map_or(&[][..], |(d, _)| d))
}

/// Checks the CRC of every user-data block of a frame body.
pub fn check_blocks(body: &[u8]) -> Result<(), Error> {
    for (i, block) in body.chunks(BLOCK_LEN + 2).enumerate() {
        let block_no = i.min(u8::MAX as usize) as u8;
        let Some((data, c)) = block.split_last_chunk::<2>() else {
            return Err(Error::BadBlockCrc {
                block: block_no,
                expected: 0,
                actual: 0,
            });
        };
        let expected = crc(data);
        let actual = u16::from_le_bytes(*c);
        if data.is_empty() || expected != actual {
            return Err(Error::BadBlockCrc {
                block: block_no,
                expected,
                actual,
            });
        }
    }
    Ok(())
}

/// One checked link frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub header: LinkHeader,
    /// User data with the block CRCs still interleaved (empty for link-only frames).
    pub body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The transport header, when the frame carries user data.
    pub fn transport(&self) -> Option<TransportHeader> {
        self.body.first().map(|&b| TransportHeader(b))
    }
    /// The user data as blocks without CRCs.
    pub fn user_data(&self) -> impl Iterator<Item = &'a [u8]> {
        user_data_blocks(self.body)
    }
}

/// Parses one link frame at the start of `b`, checking every CRC.
pub fn parse_frame(b: &[u8]) -> Result<Frame<'_>, Error> {
    let header = parse_header(b)?;
    let n = header.frame_len();
    let body = b.get(HEADER_LEN..n).ok_or(Error::Truncated {
        needed: len16(n),
        available: len16(b.len()),
    })?;
    check_blocks(body)?;
    Ok(Frame { header, body })
}

/// Transport header: FIN, FIR and a 6-bit sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportHeader(pub u8);

impl TransportHeader {
    #[inline]
    pub fn fin(self) -> bool {
        self.0 & 0x80 != 0
    }
    #[inline]
    pub fn fir(self) -> bool {
        self.0 & 0x40 != 0
    }
    #[inline]
    pub fn seq(self) -> u8 {
        self.0 & 0x3f
    }
}

/// Application control: FIR, FIN, CON, UNS and a 4-bit sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppControl(pub u8);

impl AppControl {
    #[inline]
    pub fn fir(self) -> bool {
        self.0 & 0x80 != 0
    }
    #[inline]
    pub fn fin(self) -> bool {
        self.0 & 0x40 != 0
    }
    #[inline]
    pub fn con(self) -> bool {
        self.0 & 0x20 != 0
    }
    #[inline]
    pub fn uns(self) -> bool {
        self.0 & 0x10 != 0
    }
    #[inline]
    pub fn seq(self) -> u8 {
        self.0 & 0x0f
    }
}

/// One application fragment (APDU).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Apdu<'a> {
    pub control: AppControl,
    pub function_code: u8,
    /// IIN1 (high byte) and IIN2, on responses.
    pub iin: Option<u16>,
    /// Object headers and data, raw; iterate with [`ObjectHeaders`].
    pub objects: &'a [u8],
}

impl<'a> Apdu<'a> {
    pub fn object_headers(&self) -> ObjectHeaders<'a> {
        ObjectHeaders::new(self.function_code, self.objects)
    }
}

/// Parses the application header of a reassembled fragment.
pub fn parse_apdu(b: &[u8]) -> Result<Apdu<'_>, Error> {
    let mut c = Cursor::new(b);
    let len = len16(b.len());
    let control = c.u8().ok_or(Error::AppTooShort {
        function: None,
        len,
    })?;
    let function_code = c.u8().ok_or(Error::AppTooShort {
        function: None,
        len,
    })?;
    let iin = if is_response(function_code) {
        Some(c.be16().ok_or(Error::AppTooShort {
            function: Some(function_code),
            len,
        })?)
    } else {
        None
    };
    Ok(Apdu {
        control: AppControl(control),
        function_code,
        iin,
        objects: c.rest(),
    })
}

/// Size of one object of a group/variation, as far as the table knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectSize {
    /// No object data (variation 0, class objects g60).
    Empty,
    /// Fixed number of bytes per object.
    Fixed(u8),
    /// Packed: this many bits per point, the range rounded up to whole bytes.
    PackedBits(u8),
    /// Variable or not in the table: the data cannot be skipped.
    Unknown,
}

fn pick(variation: u8, sizes: &[u8]) -> ObjectSize {
    usize::from(variation)
        .checked_sub(1)
        .and_then(|i| sizes.get(i))
        .map_or(ObjectSize::Unknown, |&s| ObjectSize::Fixed(s))
}

/// Size of one object with data, for the groups and variations in common use.
pub fn object_size(group: u8, variation: u8) -> ObjectSize {
    use ObjectSize::{Empty, Fixed, PackedBits, Unknown};
    match (group, variation) {
        (60, _) | (_, 0) => Empty,
        (1 | 10 | 80, 1) | (12, 3) => PackedBits(1),
        (3, 1) => PackedBits(2),
        (1 | 3 | 10, 2) => Fixed(1),
        (2 | 4, v) => pick(v, &[1, 7, 3]),
        (11 | 13, v) => pick(v, &[1, 7]),
        (12, 1 | 2) => Fixed(11),
        (20, v) => pick(v, &[5, 3, 5, 3, 4, 2, 4, 2]),
        (21, v) => pick(v, &[5, 3, 5, 3, 11, 9, 11, 9, 4, 2, 4, 2]),
        (22 | 23, v) => pick(v, &[5, 3, 5, 3, 11, 9, 11, 9]),
        (30, v) => pick(v, &[5, 3, 4, 2, 5, 9]),
        (31, v) => pick(v, &[5, 3, 11, 9, 4, 2, 5, 9]),
        (32 | 33 | 42 | 43, v) => pick(v, &[5, 3, 11, 9, 5, 9, 11, 15]),
        (34, v) => pick(v, &[2, 4, 4]),
        (40 | 41, v) => pick(v, &[5, 3, 5, 9]),
        (50, v) => pick(v, &[6, 10, 6, 11]),
        (51, 1 | 2) => Fixed(6),
        (52, 1 | 2) => Fixed(2),
        (110..=113, v) => Fixed(v),
        // Aggressive mode request (sequence, user), session key status request (user).
        (120, 3) => Fixed(6),
        (120, 4) => Fixed(2),
        _ => Unknown,
    }
}

/// Name of a qualifier's range specifier code, for reports.
pub fn range_name(range_code: u8) -> &'static str {
    match range_code {
        0x0 => "start_stop_1",
        0x1 => "start_stop_2",
        0x2 => "start_stop_4",
        0x3 => "virtual_start_stop_1",
        0x4 => "virtual_start_stop_2",
        0x5 => "virtual_start_stop_4",
        0x6 => "all",
        0x7 => "count_1",
        0x8 => "count_2",
        0x9 => "count_4",
        0xB => "free_format_1",
        _ => "reserved",
    }
}

/// Name of a qualifier's object prefix code, for reports.
pub fn prefix_name(prefix_code: u8) -> &'static str {
    match prefix_code {
        0 => "none",
        1 => "index_1",
        2 => "index_2",
        3 => "index_4",
        4 => "size_1",
        5 => "size_2",
        6 => "size_4",
        _ => "reserved",
    }
}

/// One object header and the data of the objects it announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectHeader<'a> {
    pub group: u8,
    pub variation: u8,
    pub qualifier: u8,
    /// Object prefix code: qualifier bits 4–6.
    pub prefix_code: u8,
    /// Range specifier code: qualifier bits 0–3.
    pub range_code: u8,
    /// Start index or virtual address (range codes 0–5).
    pub start: Option<u32>,
    /// Stop index or virtual address (range codes 0–5).
    pub stop: Option<u32>,
    /// Objects announced: stop − start + 1, or the count; 0 for "all".
    /// Saturates at `u32::MAX`.
    pub count: u32,
    /// The objects with their prefixes; empty when the header has none, or
    /// when their size is unknown (then iteration stops after this header).
    pub data: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Running,
    Complete,
    Incomplete,
    Failed(Error),
}

/// Iterator over the object headers of a fragment.
///
/// It stops at the end of the data, at the first header whose objects it
/// cannot size (yielding that header first), after [`MAX_OBJECT_HEADERS`]
/// headers, or at the first malformed header ([`ObjectHeaders::error`]).
#[derive(Clone, Debug)]
pub struct ObjectHeaders<'a> {
    buf: &'a [u8],
    pos: usize,
    function: u8,
    with_data: bool,
    yielded: usize,
    end: End,
}

impl<'a> ObjectHeaders<'a> {
    /// Headers of a fragment with function `function_code`; whether objects
    /// carry data follows from the function ([`carries_object_data`]).
    pub fn new(function_code: u8, objects: &'a [u8]) -> Self {
        ObjectHeaders {
            buf: objects,
            pos: 0,
            function: function_code,
            with_data: carries_object_data(function_code),
            yielded: 0,
            end: End::Running,
        }
    }

    /// After iteration: every byte was accounted for.
    pub fn is_complete(&self) -> bool {
        self.end == End::Complete
    }

    /// After iteration: the malformed header that stopped it, if any.
    pub fn error(&self) -> Option<Error> {
        match self.end {
            End::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Bytes not (yet) covered by a yielded header: after an unknown-size
    /// header, its object data and everything after it.
    pub fn unparsed_tail(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Runs to the end: `(headers, complete, error)`.
    pub fn summary(mut self) -> (usize, bool, Option<Error>) {
        let mut n = 0;
        while self.next().is_some() {
            n += 1;
        }
        (n, self.is_complete(), self.error())
    }

    fn fail(&mut self, e: Error) -> Option<ObjectHeader<'a>> {
        self.end = End::Failed(e);
        None
    }
}

impl<'a> Iterator for ObjectHeaders<'a> {
    type Item = ObjectHeader<'a>;

    fn next(&mut self) -> Option<ObjectHeader<'a>> {
        if self.end != End::Running {
            return None;
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            self.end = End::Complete;
            return None;
        }
        if self.yielded >= MAX_OBJECT_HEADERS {
            self.end = End::Incomplete;
            return None;
        }
        let function = self.function;
        let mut c = Cursor::new(rest);
        let group = c.u8().unwrap_or(0);
        let short = Error::ObjectHeaderTruncated {
            function,
            group,
            offset: len16(self.pos),
        };
        let (Some(variation), Some(qualifier)) = (c.u8(), c.u8()) else {
            return self.fail(short);
        };
        let prefix_code = (qualifier >> 4) & 0x07;
        let range_code = qualifier & 0x0f;
        let bad_qualifier = Error::BadQualifier {
            function,
            group,
            variation,
            qualifier,
        };
        if qualifier & 0x80 != 0 || prefix_code == 7 {
            return self.fail(bad_qualifier);
        }
        let range = match range_code {
            0 | 3 => c.u8().zip(c.u8()).map(|(a, b)| (a as u32, b as u32)),
            1 | 4 => c.le16().zip(c.le16()).map(|(a, b)| (a as u32, b as u32)),
            2 | 5 => c.le32().zip(c.le32()),
            _ => None,
        };
        let (start, stop, count): (Option<u32>, Option<u32>, u64) = match range_code {
            0..=5 => {
                let Some((a, b)) = range else {
                    return self.fail(short);
                };
                if b < a {
                    return self.fail(Error::BadRange {
                        function,
                        group,
                        variation,
                        start: a,
                        stop: b,
                    });
                }
                (Some(a), Some(b), u64::from(b - a) + 1)
            }
            6 => (None, None, 0),
            7 | 0xB => match c.u8() {
                Some(n) => (None, None, n.into()),
                None => return self.fail(short),
            },
            8 => match c.le16() {
                Some(n) => (None, None, n.into()),
                None => return self.fail(short),
            },
            9 => match c.le32() {
                Some(n) => (None, None, n.into()),
                None => return self.fail(short),
            },
            _ => return self.fail(bad_qualifier),
        };
        let data_start = self.pos.saturating_add(c.pos());
        let data = c.rest();
        let index_len: u64 = match prefix_code {
            1 => 1,
            2 => 2,
            3 => 4,
            _ => 0,
        };
        let size = if self.with_data {
            object_size(group, variation)
        } else {
            ObjectSize::Empty
        };
        let len: Option<u64> = match prefix_code {
            // Every object carries its own size.
            4..=6 => {
                let width = 1usize << (prefix_code - 4);
                let mut d = Cursor::new(data);
                let mut i = 0u64;
                while i < count {
                    let s = match width {
                        1 => d.u8().map(u32::from),
                        2 => d.le16().map(u32::from),
                        _ => d.le32(),
                    };
                    let missing = match s {
                        None => Some(width as u64),
                        Some(s) => d.skip(s as usize).is_none().then_some(u64::from(s)),
                    };
                    if let Some(m) = missing {
                        return self.fail(Error::ObjectDataTruncated {
                            function,
                            group,
                            variation,
                            needed: (d.pos() as u64 + m).min(u32::MAX as u64) as u32,
                            available: len16(data.len()),
                        });
                    }
                    i += 1;
                }
                Some(d.pos() as u64)
            }
            _ => match size {
                ObjectSize::Empty => Some(count * index_len),
                ObjectSize::Fixed(s) => Some(count * (index_len + u64::from(s))),
                ObjectSize::PackedBits(b) if index_len == 0 => {
                    Some((count * u64::from(b)).div_ceil(8))
                }
                ObjectSize::PackedBits(_) | ObjectSize::Unknown => None,
            },
        };
        let mut header = ObjectHeader {
            group,
            variation,
            qualifier,
            prefix_code,
            range_code,
            start,
            stop,
            count: count.min(u32::MAX as u64) as u32,
            data: &[],
        };
        match len {
            None => {
                self.pos = data_start;
                self.end = End::Incomplete;
            }
            Some(l) => {
                let Some(objects) = usize::try_from(l).ok().and_then(|l| data.get(..l)) else {
                    return self.fail(Error::ObjectDataTruncated {
                        function,
                        group,
                        variation,
                        needed: l.min(u32::MAX as u64) as u32,
                        available: len16(data.len()),
                    });
                };
                header.data = objects;
                self.pos = data_start.saturating_add(objects.len());
            }
        }
        self.yielded += 1;
        Some(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link frame with correct CRCs.
    pub(crate) fn frame(control: u8, dst: u16, src: u16, user: &[u8]) -> Vec<u8> {
        encode_frame(control, dst, src, user).expect("at most 250 bytes of user data")
    }

    #[test]
    fn crc_known_vectors() {
        // Request Link Status header from the DNP3 spec examples.
        assert_eq!(
            crc(&[0x05, 0x64, 0x05, 0xC0, 0x01, 0x00, 0x00, 0x04]).to_le_bytes(),
            [0xE9, 0x21]
        );
        // A real READ request (captured): 05 64 14 c4 0a 00 01 00 | 8f ed.
        let real = [
            0x05, 0x64, 0x14, 0xc4, 0x0a, 0x00, 0x01, 0x00, 0x8f, 0xed, 0xc0, 0xc0, 0x01, 0x3c,
            0x02, 0x06, 0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06, 0x3c, 0x01, 0x06, 0x8a, 0x51,
        ];
        let f = parse_frame(&real).unwrap();
        assert_eq!(f.header.length, 0x14);
        assert_eq!(f.header.dst, 10);
        assert_eq!(f.header.src, 1);
        assert!(f.header.dir() && f.header.prm());
        assert_eq!(f.header.function(), 4);
        assert_eq!(f.header.frame_len(), real.len());
        let t = f.transport().unwrap();
        assert!(t.fir() && t.fin());
        assert_eq!(t.seq(), 0);
        assert_eq!(frame(0xc4, 10, 1, &real[10..25]), real);
    }

    #[test]
    fn frame_lengths() {
        assert_eq!(frame_len(5), 10);
        assert_eq!(frame_len(6), 13);
        assert_eq!(frame_len(21), 28);
        assert_eq!(frame_len(22), 31);
        assert_eq!(frame_len(255), MAX_FRAME_LEN);
    }

    #[test]
    fn header_errors() {
        let f = frame(0xc0, 4, 1, &[]);
        assert!(parse_header(&f).is_ok());
        assert_eq!(parse_header(&f[..1]).unwrap_err().code(), "truncated");
        assert_eq!(parse_header(&[0x05, 0x65]), Err(Error::BadStart));
        assert_eq!(parse_header(&[0x06]), Err(Error::BadStart));
        let mut bad = f.clone();
        bad[4] ^= 1;
        assert_eq!(parse_header(&bad).unwrap_err().code(), "bad_header_crc");
        let mut short = f.clone();
        short[2] = 4;
        let c = crc(&short[..8]);
        short[8..10].copy_from_slice(&c.to_le_bytes());
        assert_eq!(parse_header(&short), Err(Error::BadLength(4)));
        let mut body = frame(0xc4, 4, 1, &[0xc0; 20]);
        assert!(parse_frame(&body).is_ok());
        assert_eq!(
            parse_frame(&body[..body.len() - 1]).unwrap_err().code(),
            "truncated"
        );
        let n = body.len();
        body[n - 3] ^= 0xff;
        assert!(matches!(
            parse_frame(&body),
            Err(Error::BadBlockCrc { block: 1, .. })
        ));
    }

    #[test]
    fn apdu_header() {
        let a = parse_apdu(&[0xc3, 0x81, 0x90, 0x02, 1, 2, 0, 0, 0]).unwrap();
        assert!(a.control.fir() && a.control.fin() && !a.control.con());
        assert_eq!(a.control.seq(), 3);
        assert_eq!(a.iin, Some(0x9002));
        let flags: Vec<_> = iin_flags(0x9002).collect();
        assert_eq!(flags, ["need_time", "device_restart", "object_unknown"]);
        assert_eq!(a.objects.len(), 5);
        assert_eq!(
            parse_apdu(&[0xc0, 0x81, 0]),
            Err(Error::AppTooShort {
                function: Some(129),
                len: 3
            })
        );
        assert!(parse_apdu(&[0xc0]).is_err());
        assert_eq!(parse_apdu(&[0xc0, 1]).unwrap().iin, None);
    }

    fn headers(fc: u8, objects: &[u8]) -> (Vec<ObjectHeader<'_>>, bool, Option<Error>) {
        let mut it = ObjectHeaders::new(fc, objects);
        let v: Vec<_> = it.by_ref().collect();
        (v, it.is_complete(), it.error())
    }

    #[test]
    fn read_headers_have_no_data() {
        // Class 2/3/1/0 read, then g30 indices 3..=7, then g1v2 indices 1 and 9.
        let objs = [
            60, 3, 0x06, 60, 4, 0x06, 60, 2, 0x06, 60, 1, 0x06, 30, 1, 0x00, 3, 7, 1, 2, 0x17, 2,
            1, 9,
        ];
        let (h, complete, err) = headers(fc::READ, &objs);
        assert!(complete && err.is_none());
        assert_eq!(h.len(), 6);
        assert_eq!(h[4].start, Some(3));
        assert_eq!(h[4].stop, Some(7));
        assert_eq!(h[4].count, 5);
        assert!(h[4].data.is_empty());
        assert_eq!(h[5].prefix_code, 1);
        assert_eq!(h[5].range_code, 7);
        assert_eq!(h[5].data, &[1, 9]);
    }

    #[test]
    fn response_objects_are_sized() {
        #[rustfmt::skip]
        let objs = [
            1, 1, 0x00, 0, 9, 0xff, 0x03, // g1v1 packed, 0..=9: 2 bytes
            3, 1, 0x00, 0, 4, 0xaa, 0x02, // g3v1 double-bit, 0..=4: 2 bytes
            30, 2, 0x01, 0, 0, 1, 0, 1, 1, 0, 1, 2, 0, // g30v2, 2-byte range 0..=1: 6 bytes
            2, 2, 0x28, 1, 0, 5, 0, 1, 2, 3, 4, 5, 6, 7, // g2v2, 2-byte index, count 1
            32, 7, 0x17, 1, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // g32v7 (11 bytes), 1-byte index
        ];
        let (h, complete, err) = headers(fc::RESPONSE, &objs);
        assert_eq!(err, None);
        assert!(complete);
        let gv: Vec<_> = h.iter().map(|h| (h.group, h.variation, h.count)).collect();
        assert_eq!(
            gv,
            [(1, 1, 10), (3, 1, 5), (30, 2, 2), (2, 2, 1), (32, 7, 1)]
        );
        assert_eq!(h[3].data.len(), 9);
    }

    #[test]
    fn size_prefixed_and_unknown_objects() {
        // g70v3 with 2-byte size prefix, 1 object of 3 bytes, then g12v1.
        let objs = [
            70, 3, 0x5b, 1, 3, 0, 0xaa, 0xbb, 0xcc, 12, 1, 0x17, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0,
        ];
        let (h, complete, err) = headers(fc::OPEN_FILE, &objs);
        assert!(complete && err.is_none());
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].data, &[3, 0, 0xaa, 0xbb, 0xcc]);
        // Unknown g0 attribute: header yielded, then the iteration stops.
        let objs = [0, 242, 0x00, 0, 0, 7, 4, b'a', b'b', b'c', b'd'];
        let mut it = ObjectHeaders::new(fc::RESPONSE, &objs);
        assert_eq!(it.next().map(|h| h.group), Some(0));
        assert_eq!(it.next(), None);
        assert!(!it.is_complete());
        assert_eq!(it.error(), None);
        assert_eq!(it.unparsed_tail(), &objs[5..]);
    }

    #[test]
    fn aggressive_mode_authentication() {
        // Direct operate with aggressive-mode g120v3, a CROB and the g120v9 MAC
        // (the objects of a captured fragment).
        #[rustfmt::skip]
        let mut objs = vec![
            120, 3, 0x07, 1, 9, 0, 0, 0, 1, 0,
            12, 1, 0x28, 1, 0, 1, 0, 3, 1, 0x64, 0, 0, 0, 0x64, 0, 0, 0, 0,
            120, 9, 0x5b, 1, 16, 0,
        ];
        objs.extend([0xaa; 16]);
        let (h, complete, err) = headers(fc::DIRECT_OPERATE, &objs);
        assert!(complete && err.is_none());
        let gv: Vec<_> = h
            .iter()
            .map(|h| (h.group, h.variation, h.data.len()))
            .collect();
        assert_eq!(gv, [(120, 3, 6), (12, 1, 13), (120, 9, 18)]);
    }

    #[test]
    fn malformed_object_headers() {
        // CROB count 2, only one present (a real capture).
        let objs = [
            12, 1, 0x28, 2, 0, 1, 0, 2, 1, 0x64, 0, 0, 0, 0x64, 0, 0, 0, 0,
        ];
        let (h, complete, err) = headers(fc::DIRECT_OPERATE, &objs);
        assert!(h.is_empty() && !complete);
        assert_eq!(err.unwrap().code(), "object_data_truncated");
        assert_eq!(err.unwrap().function(), Some(5));
        let (_, _, err) = headers(fc::READ, &[30, 1]);
        assert_eq!(err.unwrap().code(), "object_header_truncated");
        let (_, _, err) = headers(fc::READ, &[30, 1, 0x01, 0]);
        assert_eq!(err.unwrap().code(), "object_header_truncated");
        let (_, _, err) = headers(fc::READ, &[30, 1, 0x0a]);
        assert_eq!(err.unwrap().code(), "bad_qualifier");
        let (_, _, err) = headers(fc::READ, &[30, 1, 0x70, 1]);
        assert_eq!(err.unwrap().code(), "bad_qualifier");
        let (_, _, err) = headers(fc::READ, &[30, 1, 0x00, 5, 4]);
        assert_eq!(err.unwrap().code(), "bad_range");
        // Huge ranges cost nothing and do not overflow.
        let (h, _, err) = headers(fc::READ, &[30, 1, 0x02, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(err, None);
        assert_eq!(h[0].count, u32::MAX);
        let (_, _, err) = headers(
            fc::RESPONSE,
            &[30, 6, 0x39, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
        );
        assert_eq!(err.unwrap().code(), "object_data_truncated");
    }

    #[test]
    fn header_count_is_bounded() {
        let objs: Vec<u8> = std::iter::repeat_n([60u8, 1, 6], 300).flatten().collect();
        let mut it = ObjectHeaders::new(fc::READ, &objs);
        assert_eq!(it.by_ref().count(), MAX_OBJECT_HEADERS);
        assert!(!it.is_complete());
        assert_eq!(it.unparsed_tail().len(), 44 * 3);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(fcode in 0u8..=255, data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_frame(&data);
            let _ = parse_apdu(&data);
            let mut it = ObjectHeaders::new(fcode, &data);
            let mut consumed = 0usize;
            for h in it.by_ref() {
                consumed += h.data.len() + 3;
            }
            proptest::prop_assert!(consumed <= data.len());
            let _ = it.unparsed_tail();
        }
    }
}
