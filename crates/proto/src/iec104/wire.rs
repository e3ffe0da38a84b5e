//! Pure parsing of IEC 60870-5-104 APDUs (APCI + ASDU), zero-copy.
//!
//! The standard 104 profile is assumed: 2-octet cause of transmission
//! (cause + originator), 2-octet common address, 3-octet information object
//! addresses.

use std::fmt;

use crate::wire::Cursor;

/// Start octet of every APDU.
pub const START: u8 = 0x68;
/// Smallest APDU length field (control fields only).
pub const MIN_LEN: u8 = 4;
/// Largest APDU length field.
pub const MAX_LEN: u8 = 253;
/// ASDU header: type id, VSQ, COT (2), common address (2).
pub const ASDU_HEADER_LEN: usize = 6;
/// Information object addresses kept per message.
pub const MAX_IOAS: usize = 4;

/// Application protocol control information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apci {
    /// Numbered information transfer.
    I { tx_seq: u16, rx_seq: u16 },
    /// Numbered supervisory (acknowledgement).
    S { rx_seq: u16 },
    /// Unnumbered control function: the first control octet (0x07, 0x0B ...).
    U { control: u8 },
}

impl Apci {
    pub fn letter(&self) -> &'static str {
        match self {
            Apci::I { .. } => "I",
            Apci::S { .. } => "S",
            Apci::U { .. } => "U",
        }
    }
}

/// Name of a U-format function (first control octet).
pub fn u_function_name(control: u8) -> &'static str {
    match control {
        0x07 => "STARTDT act",
        0x0B => "STARTDT con",
        0x13 => "STOPDT act",
        0x23 => "STOPDT con",
        0x43 => "TESTFR act",
        0x83 => "TESTFR con",
        _ => "unknown",
    }
}

/// CP56Time2a time tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cp56 {
    /// Milliseconds within the minute (0..=59999).
    pub ms: u16,
    pub minute: u8,
    pub hour: u8,
    /// Day of month.
    pub day: u8,
    /// Day of week (1 = Monday, 0 = not used).
    pub weekday: u8,
    pub month: u8,
    /// Years since 2000 (0..=99).
    pub year: u8,
    pub invalid: bool,
    pub summer: bool,
}

impl Cp56 {
    fn parse(b: &[u8]) -> Option<Cp56> {
        let b: &[u8; 7] = b.get(..7)?.try_into().ok()?;
        Some(Cp56 {
            ms: u16::from_le_bytes([b[0], b[1]]),
            minute: b[2] & 0x3f,
            invalid: b[2] & 0x80 != 0,
            hour: b[3] & 0x1f,
            summer: b[3] & 0x80 != 0,
            day: b[4] & 0x1f,
            weekday: b[4] >> 5,
            month: b[5] & 0x0f,
            year: b[6] & 0x7f,
        })
    }
}

/// The value of the first information element, for the common types.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Element {
    /// Single point: SPI and quality bits.
    Single { on: bool, quality: u8 },
    /// Double point: DPI (0 indeterminate, 1 off, 2 on, 3 indeterminate).
    Double { dpi: u8, quality: u8 },
    /// Step position: value (-64..63) and transient flag.
    Step {
        value: i8,
        transient: bool,
        quality: u8,
    },
    /// Bitstring of 32 bits.
    Bitstring { value: u32, quality: u8 },
    /// Normalized value (raw; value = raw / 32768).
    Normalized { raw: i16, quality: u8 },
    /// Scaled value.
    Scaled { value: i16, quality: u8 },
    /// Short floating point.
    Float { value: f32, quality: u8 },
    /// Integrated total: counter reading and sequence/flags octet.
    Counter { value: i32, seq: u8 },
    /// Single command: state and qualifier (S/E bit = select).
    SingleCommand { on: bool, select: bool, qu: u8 },
    /// Double command: DCS (1 off, 2 on).
    DoubleCommand { dcs: u8, select: bool, qu: u8 },
    /// Regulating step command: RCS (1 lower, 2 higher).
    StepCommand { rcs: u8, select: bool, qu: u8 },
    /// Set-point command, normalized.
    SetNormalized { raw: i16, select: bool },
    /// Set-point command, scaled.
    SetScaled { value: i16, select: bool },
    /// Set-point command, short float.
    SetFloat { value: f32, select: bool },
    /// Bitstring command.
    BitstringCommand { value: u32 },
    /// Interrogation command: qualifier of interrogation (20 = station).
    Interrogation { qoi: u8 },
    /// Counter interrogation command: qualifier.
    CounterInterrogation { qcc: u8 },
    /// Reset process command: qualifier (1 = general reset).
    ResetProcess { qrp: u8 },
    /// End of initialization: cause of initialization.
    EndOfInit { coi: u8 },
    /// Parameter of measured value (normalized/scaled raw or float) and qualifier.
    Parameter { value: f32, qpm: u8 },
    /// Parameter activation qualifier.
    ParameterActivation { qpa: u8 },
    /// Clock synchronization / test command with time only.
    Time,
}

/// An application service data unit (header fields and the raw objects).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Asdu<'a> {
    pub type_id: u8,
    /// Structure qualifier: the objects follow one address (SQ=1).
    pub sq: bool,
    pub num_objects: u8,
    /// Cause of transmission (6 bits).
    pub cot: u8,
    /// P/N bit: negative confirmation.
    pub negative: bool,
    /// T bit: test.
    pub test: bool,
    pub originator: u8,
    pub common_address: u16,
    /// The first information object addresses (up to [`MAX_IOAS`]).
    pub ioas: [u32; MAX_IOAS],
    /// How many of `ioas` are filled.
    pub ioa_count: u8,
    /// First information element, for the common types.
    pub element: Option<Element>,
    /// Time tag of the first object, for time-tagged types.
    pub time: Option<Cp56>,
    /// Information objects, raw.
    pub objects: &'a [u8],
}

impl Asdu<'_> {
    pub fn type_name(&self) -> &'static str {
        type_name(self.type_id)
    }
    pub fn ioas(&self) -> &[u32] {
        &self.ioas[..self.ioa_count as usize]
    }
    /// True for a type sent in the control direction (commands, system and
    /// parameter commands): 45–69, 100–107, 110–113.
    pub fn is_control(&self) -> bool {
        is_control_type(self.type_id)
    }
}

/// One APDU: the control information and, for I-format, the ASDU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Apdu<'a> {
    /// The length octet (bytes after it).
    pub length: u8,
    pub apci: Apci,
    pub asdu: Option<Asdu<'a>>,
}

impl Apdu<'_> {
    /// The counted key: I → type id; S → 256; U → 512 + control octet.
    pub fn function_code(&self) -> u16 {
        match self.apci {
            Apci::I { .. } => self.asdu.map_or(0, |a| a.type_id as u16),
            Apci::S { .. } => 256,
            Apci::U { control } => 512 + control as u16,
        }
    }
}

/// Why an APDU did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The first octet is not 0x68.
    BadStart(u8),
    /// APDU length outside 4..=253.
    BadLength(u8),
    /// U-format control octet without exactly one function bit, or with
    /// non-zero other control octets.
    BadUFunction(u8),
    /// S-format with a non-zero second control octet, or S/U with an ASDU.
    BadControl(u8),
    /// I-format too short for the ASDU header (length field, needed 10).
    ShortAsdu(u8),
    /// ASDU with zero objects.
    NoObjects(u8),
    /// ASDU objects do not fill the APDU: (type id, expected bytes, seen bytes).
    ObjectLength(u8, usize, usize),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadStart(_) => "bad_start",
            Error::BadLength(_) => "bad_length",
            Error::BadUFunction(_) => "bad_u_function",
            Error::BadControl(_) => "bad_control",
            Error::ShortAsdu(_) => "short_asdu",
            Error::NoObjects(_) => "no_objects",
            Error::ObjectLength(..) => "object_length_mismatch",
        }
    }
    /// The function code of the PDU when known.
    pub fn function(&self) -> Option<u16> {
        match *self {
            Error::NoObjects(t) | Error::ObjectLength(t, ..) => Some(t as u16),
            Error::BadUFunction(c) => Some(512 + c as u16),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::BadStart(b) => write!(f, "start octet 0x{b:02x}, expected 0x68"),
            Error::BadLength(l) => write!(f, "APDU length {l}, expected 4..=253"),
            Error::BadUFunction(c) => write!(
                f,
                "U-format control octet 0x{c:02x}: expected one of 0x07, 0x0b, 0x13, 0x23, 0x43, 0x83 and zero octets 2-4"
            ),
            Error::BadControl(c) => write!(
                f,
                "control field 0x{c:02x}: S/U-format APDU must be 4 octets with zero reserved octets"
            ),
            Error::ShortAsdu(l) => {
                write!(
                    f,
                    "I-format APDU length {l}, expected at least 10 (APCI + ASDU header)"
                )
            }
            Error::NoObjects(t) => write!(f, "ASDU type {t} with 0 information objects"),
            Error::ObjectLength(t, e, s) => write!(
                f,
                "ASDU type {t}: information objects need {e} octets, APDU carries {s}"
            ),
        }
    }
}

/// Size of one information element (without its address), when fixed.
pub fn element_size(type_id: u8) -> Option<usize> {
    Some(match type_id {
        1 | 3 => 1,
        2 | 4 => 4,
        5 => 2,
        6 => 5,
        7 => 5,
        8 => 8,
        9 | 11 => 3,
        10 | 12 => 6,
        13 => 5,
        14 => 8,
        15 => 5,
        16 => 8,
        17 => 6,
        18 | 19 => 7,
        20 => 5,
        21 => 2,
        30 | 31 => 8,
        32 => 9,
        33 => 12,
        34 | 35 => 10,
        36 | 37 => 12,
        38 => 10,
        39 | 40 => 11,
        45..=47 => 1,
        48 | 49 => 3,
        50 => 5,
        51 => 4,
        58..=60 => 8,
        61 | 62 => 10,
        63 => 12,
        64 => 11,
        70 => 1,
        100 | 101 => 1,
        102 => 0,
        103 => 7,
        104 => 2,
        105 => 1,
        106 => 2,
        107 => 9,
        110 | 111 => 3,
        112 => 5,
        113 => 1,
        _ => return None,
    })
}

/// True for control-direction types (commands, system, parameter).
pub fn is_control_type(t: u8) -> bool {
    matches!(t, 45..=69 | 100..=107 | 110..=113)
}

/// Offset of the CP56Time2a tag within an element of a time-tagged type.
fn time_offset(type_id: u8) -> Option<usize> {
    Some(match type_id {
        30 | 31 | 58..=60 => 1,
        32 | 107 => 2,
        34 | 35 | 38 | 61 | 62 => 3,
        39 | 40 | 64 => 4,
        33 | 36 | 37 | 63 => 5,
        103 => 0,
        _ => return None,
    })
}

fn f32_at(b: &[u8], o: usize) -> Option<f32> {
    Some(f32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
fn i16_at(b: &[u8], o: usize) -> Option<i16> {
    Some(i16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

/// Decodes the first information element `e` of `type_id`.
fn element(type_id: u8, e: &[u8]) -> Option<Element> {
    let b0 = *e.first()?;
    let sel = b0 & 0x80 != 0;
    Some(match type_id {
        1 | 2 | 30 => Element::Single {
            on: b0 & 1 != 0,
            quality: b0 & 0xf0,
        },
        3 | 4 | 31 => Element::Double {
            dpi: b0 & 3,
            quality: b0 & 0xf0,
        },
        5 | 6 | 32 => Element::Step {
            value: ((b0 << 1) as i8) >> 1,
            transient: sel,
            quality: *e.get(1)?,
        },
        7 | 8 | 33 => Element::Bitstring {
            value: u32_at(e, 0)?,
            quality: *e.get(4)?,
        },
        9 | 10 | 34 => Element::Normalized {
            raw: i16_at(e, 0)?,
            quality: *e.get(2)?,
        },
        21 => Element::Normalized {
            raw: i16_at(e, 0)?,
            quality: 0,
        },
        11 | 12 | 35 => Element::Scaled {
            value: i16_at(e, 0)?,
            quality: *e.get(2)?,
        },
        13 | 14 | 36 => Element::Float {
            value: f32_at(e, 0)?,
            quality: *e.get(4)?,
        },
        15 | 16 | 37 => Element::Counter {
            value: u32_at(e, 0)? as i32,
            seq: *e.get(4)?,
        },
        45 | 58 => Element::SingleCommand {
            on: b0 & 1 != 0,
            select: sel,
            qu: (b0 >> 2) & 0x1f,
        },
        46 | 59 => Element::DoubleCommand {
            dcs: b0 & 3,
            select: sel,
            qu: (b0 >> 2) & 0x1f,
        },
        47 | 60 => Element::StepCommand {
            rcs: b0 & 3,
            select: sel,
            qu: (b0 >> 2) & 0x1f,
        },
        48 | 61 => Element::SetNormalized {
            raw: i16_at(e, 0)?,
            select: *e.get(2)? & 0x80 != 0,
        },
        49 | 62 => Element::SetScaled {
            value: i16_at(e, 0)?,
            select: *e.get(2)? & 0x80 != 0,
        },
        50 | 63 => Element::SetFloat {
            value: f32_at(e, 0)?,
            select: *e.get(4)? & 0x80 != 0,
        },
        51 | 64 => Element::BitstringCommand {
            value: u32_at(e, 0)?,
        },
        70 => Element::EndOfInit { coi: b0 },
        100 => Element::Interrogation { qoi: b0 },
        101 => Element::CounterInterrogation { qcc: b0 },
        105 => Element::ResetProcess { qrp: b0 },
        103 | 107 => Element::Time,
        110 => Element::Parameter {
            value: i16_at(e, 0)? as f32 / 32768.0,
            qpm: *e.get(2)?,
        },
        111 => Element::Parameter {
            value: i16_at(e, 0)? as f32,
            qpm: *e.get(2)?,
        },
        112 => Element::Parameter {
            value: f32_at(e, 0)?,
            qpm: *e.get(4)?,
        },
        113 => Element::ParameterActivation { qpa: b0 },
        _ => return None,
    })
}

/// Parses the ASDU after the APCI (`b` = the bytes after the 4 control octets).
pub fn parse_asdu(b: &[u8], length: u8) -> Result<Asdu<'_>, Error> {
    let mut c = Cursor::new(b);
    let (Some(type_id), Some(vsq), Some(cot), Some(originator), Some(ca)) =
        (c.u8(), c.u8(), c.u8(), c.u8(), c.le16())
    else {
        return Err(Error::ShortAsdu(length));
    };
    let objects = c.rest();
    let sq = vsq & 0x80 != 0;
    let num = vsq & 0x7f;
    let mut a = Asdu {
        type_id,
        sq,
        num_objects: num,
        cot: cot & 0x3f,
        negative: cot & 0x40 != 0,
        test: cot & 0x80 != 0,
        originator,
        common_address: ca,
        ioas: [0; MAX_IOAS],
        ioa_count: 0,
        element: None,
        time: None,
        objects,
    };
    if num == 0 {
        return Err(Error::NoObjects(type_id));
    }
    let ioa_at = |o: usize| -> Option<u32> {
        let s = objects.get(o..o + 3)?;
        Some(u32::from_le_bytes([s[0], s[1], s[2], 0]))
    };
    let Some(size) = element_size(type_id) else {
        // Unknown or variable-sized objects: only the first address.
        if let Some(ioa) = ioa_at(0) {
            a.ioas[0] = ioa;
            a.ioa_count = 1;
        }
        return Ok(a);
    };
    let n = num as usize;
    let expected = if sq { 3 + n * size } else { n * (3 + size) };
    // Fill what is present even when the length is wrong.
    let shown = n.min(MAX_IOAS);
    for i in 0..shown {
        let ioa = if sq {
            ioa_at(0).map(|v| v.wrapping_add(i as u32) & 0x00ff_ffff)
        } else {
            ioa_at(i * (3 + size))
        };
        match ioa {
            Some(v) => {
                a.ioas[i] = v;
                a.ioa_count += 1;
            }
            None => break,
        }
    }
    if let Some(e) = objects.get(3..3 + size) {
        a.element = element(type_id, e);
        if let Some(o) = time_offset(type_id) {
            a.time = e.get(o..).and_then(Cp56::parse);
        }
    }
    if expected != objects.len() {
        return Err(Error::ObjectLength(type_id, expected, objects.len()));
    }
    Ok(a)
}

/// Checks the APCI header at the start of `b` (at least 6 octets): start
/// octet, length and control field. Returns the total APDU length.
pub fn check_header(b: &[u8]) -> Result<usize, Error> {
    let (Some(&s), Some(&len)) = (b.first(), b.get(1)) else {
        return Err(Error::BadLength(0));
    };
    if s != START {
        return Err(Error::BadStart(s));
    }
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(Error::BadLength(len));
    }
    Ok(2 + len as usize)
}

/// Parses one whole APDU (`b` holds exactly the APDU).
///
/// On an ASDU error the APCI is sound: [`Error::NoObjects`] and
/// [`Error::ObjectLength`] come with the partially decoded APDU through
/// [`parse_apdu_lenient`].
pub fn parse_apdu(b: &[u8]) -> Result<Apdu<'_>, Error> {
    match parse_apdu_lenient(b) {
        (Some(a), None) => Ok(a),
        (_, Some(e)) => Err(e),
        (None, None) => Err(Error::BadLength(0)),
    }
}

/// Parses one APDU; returns the message when the APCI and ASDU header are
/// sound, and the error if anything is wrong (both for an I-format APDU whose
/// objects are malformed).
pub fn parse_apdu_lenient(b: &[u8]) -> (Option<Apdu<'_>>, Option<Error>) {
    let n = match check_header(b) {
        Ok(n) => n,
        Err(e) => return (None, Some(e)),
    };
    let Some(apdu) = b.get(..n) else {
        return (None, Some(Error::BadLength(b.get(1).copied().unwrap_or(0))));
    };
    let length = apdu[1];
    let ctl = &apdu[2..6];
    let c0 = ctl[0];
    if c0 & 1 == 0 {
        let apci = Apci::I {
            tx_seq: u16::from_le_bytes([ctl[0], ctl[1]]) >> 1,
            rx_seq: u16::from_le_bytes([ctl[2], ctl[3]]) >> 1,
        };
        if apdu.len() < 6 + ASDU_HEADER_LEN {
            return (None, Some(Error::ShortAsdu(length)));
        }
        return match parse_asdu(&apdu[6..], length) {
            Ok(a) => (
                Some(Apdu {
                    length,
                    apci,
                    asdu: Some(a),
                }),
                None,
            ),
            Err(e) => {
                // The header is sound: the message is still reported.
                let partial = lenient_asdu(&apdu[6..]);
                (
                    partial.map(|a| Apdu {
                        length,
                        apci,
                        asdu: Some(a),
                    }),
                    Some(e),
                )
            }
        };
    }
    if length != 4 {
        return (None, Some(Error::BadControl(c0)));
    }
    if c0 & 3 == 1 {
        if ctl[1] != 0 {
            return (None, Some(Error::BadControl(c0)));
        }
        let apci = Apci::S {
            rx_seq: u16::from_le_bytes([ctl[2], ctl[3]]) >> 1,
        };
        return (
            Some(Apdu {
                length,
                apci,
                asdu: None,
            }),
            None,
        );
    }
    if !matches!(c0, 0x07 | 0x0B | 0x13 | 0x23 | 0x43 | 0x83) || ctl[1..] != [0, 0, 0] {
        return (None, Some(Error::BadUFunction(c0)));
    }
    (
        Some(Apdu {
            length,
            apci: Apci::U { control: c0 },
            asdu: None,
        }),
        None,
    )
}

/// The ASDU header of a malformed ASDU, with what could be decoded.
fn lenient_asdu(b: &[u8]) -> Option<Asdu<'_>> {
    let b6: &[u8; 6] = b.get(..6)?.try_into().ok()?;
    let objects = &b[6..];
    let mut a = Asdu {
        type_id: b6[0],
        sq: b6[1] & 0x80 != 0,
        num_objects: b6[1] & 0x7f,
        cot: b6[2] & 0x3f,
        negative: b6[2] & 0x40 != 0,
        test: b6[2] & 0x80 != 0,
        originator: b6[3],
        common_address: u16::from_le_bytes([b6[4], b6[5]]),
        ioas: [0; MAX_IOAS],
        ioa_count: 0,
        element: None,
        time: None,
        objects,
    };
    if let Some(s) = objects.get(..3) {
        a.ioas[0] = u32::from_le_bytes([s[0], s[1], s[2], 0]);
        a.ioa_count = 1;
    }
    Some(a)
}

/// Name of an ASDU type identification.
pub fn type_name(t: u8) -> &'static str {
    match t {
        1 => "M_SP_NA_1",
        2 => "M_SP_TA_1",
        3 => "M_DP_NA_1",
        4 => "M_DP_TA_1",
        5 => "M_ST_NA_1",
        6 => "M_ST_TA_1",
        7 => "M_BO_NA_1",
        8 => "M_BO_TA_1",
        9 => "M_ME_NA_1",
        10 => "M_ME_TA_1",
        11 => "M_ME_NB_1",
        12 => "M_ME_TB_1",
        13 => "M_ME_NC_1",
        14 => "M_ME_TC_1",
        15 => "M_IT_NA_1",
        16 => "M_IT_TA_1",
        17 => "M_EP_TA_1",
        18 => "M_EP_TB_1",
        19 => "M_EP_TC_1",
        20 => "M_PS_NA_1",
        21 => "M_ME_ND_1",
        30 => "M_SP_TB_1",
        31 => "M_DP_TB_1",
        32 => "M_ST_TB_1",
        33 => "M_BO_TB_1",
        34 => "M_ME_TD_1",
        35 => "M_ME_TE_1",
        36 => "M_ME_TF_1",
        37 => "M_IT_TB_1",
        38 => "M_EP_TD_1",
        39 => "M_EP_TE_1",
        40 => "M_EP_TF_1",
        45 => "C_SC_NA_1",
        46 => "C_DC_NA_1",
        47 => "C_RC_NA_1",
        48 => "C_SE_NA_1",
        49 => "C_SE_NB_1",
        50 => "C_SE_NC_1",
        51 => "C_BO_NA_1",
        58 => "C_SC_TA_1",
        59 => "C_DC_TA_1",
        60 => "C_RC_TA_1",
        61 => "C_SE_TA_1",
        62 => "C_SE_TB_1",
        63 => "C_SE_TC_1",
        64 => "C_BO_TA_1",
        70 => "M_EI_NA_1",
        100 => "C_IC_NA_1",
        101 => "C_CI_NA_1",
        102 => "C_RD_NA_1",
        103 => "C_CS_NA_1",
        104 => "C_TS_NA_1",
        105 => "C_RP_NA_1",
        106 => "C_CD_NA_1",
        107 => "C_TS_TA_1",
        110 => "P_ME_NA_1",
        111 => "P_ME_NB_1",
        112 => "P_ME_NC_1",
        113 => "P_AC_NA_1",
        120 => "F_FR_NA_1",
        121 => "F_SR_NA_1",
        122 => "F_SC_NA_1",
        123 => "F_LS_NA_1",
        124 => "F_AF_NA_1",
        125 => "F_SG_NA_1",
        126 => "F_DR_TA_1",
        127 => "F_SC_NB_1",
        _ => "unknown",
    }
}

/// Name of a cause of transmission.
pub fn cot_name(c: u8) -> &'static str {
    match c {
        1 => "per/cyc",
        2 => "back",
        3 => "spont",
        4 => "init",
        5 => "req",
        6 => "act",
        7 => "actcon",
        8 => "deact",
        9 => "deactcon",
        10 => "actterm",
        11 => "retrem",
        12 => "retloc",
        13 => "file",
        20 => "inrogen",
        21..=36 => "inro",
        37 => "reqcogen",
        38..=41 => "reqco",
        44 => "unknown type",
        45 => "unknown cause",
        46 => "unknown common address",
        47 => "unknown object address",
        _ => "other",
    }
}
