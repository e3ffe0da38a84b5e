//! Pure, zero-copy parsing of GOOSE frames (IEC 61850-8-1, EtherType 0x88B8)
//! and of the header shared with Sampled Values.

use crate::ber::{BerError, Class, Tlv, Tlvs};

/// APPID, Length, Reserved 1, Reserved 2.
pub const HEADER_LEN: usize = 8;

/// The 8-byte header of GOOSE and SV frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub appid: u16,
    /// Octets from APPID to the end of the APDU.
    pub length: u16,
    pub reserved1: u16,
    pub reserved2: u16,
}

impl Header {
    /// The "simulated" bit (IEC 61850-8-1 Ed. 2: bit 15 of Reserved 1).
    pub fn simulated(&self) -> bool {
        self.reserved1 & 0x8000 != 0
    }
}

/// Why a GOOSE or SV frame could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer than 8 octets for the header.
    TooShort(usize),
    /// The Length field is below 8 or beyond the frame.
    BadLength { length: u16, available: usize },
    /// The APDU is not the expected `[APPLICATION n]` element.
    NotApdu {
        expected: u32,
        class: Class,
        tag: u32,
    },
    /// A BER element could not be read (`what` names it).
    Ber { what: &'static str, err: BerError },
    /// A mandatory field is absent.
    Missing(&'static str),
    /// A field has an impossible size or value.
    BadField { what: &'static str, len: usize },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::TooShort(_) => "too_short",
            Error::BadLength { .. } => "bad_length",
            Error::NotApdu { .. } => "bad_apdu_tag",
            Error::Ber { .. } => "ber_error",
            Error::Missing(_) => "missing_field",
            Error::BadField { .. } => "bad_field",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::TooShort(n) => write!(f, "{n} octets, the header needs {HEADER_LEN}"),
            Error::BadLength { length, available } => write!(
                f,
                "Length field {length}, the frame has {available} octets from APPID (at least 8 needed)"
            ),
            Error::NotApdu {
                expected,
                class,
                tag,
            } => write!(
                f,
                "expected the [APPLICATION {expected}] PDU, seen tag {tag} of class {class:?}"
            ),
            Error::Ber { what, err } => write!(f, "{what}: {err}"),
            Error::Missing(w) => write!(f, "mandatory field {w} is missing"),
            Error::BadField { what, len } => write!(f, "{what} has {len} octets"),
        }
    }
}

/// Reads the header and returns it with the APDU octets (bounded by Length).
/// A Length beyond the frame is an error but the rest is still returned,
/// so the caller can decode what is there.
pub fn header(b: &[u8]) -> Result<(Header, &[u8], Option<Error>), Error> {
    if b.len() < HEADER_LEN {
        return Err(Error::TooShort(b.len()));
    }
    let h = Header {
        appid: u16::from_be_bytes([b[0], b[1]]),
        length: u16::from_be_bytes([b[2], b[3]]),
        reserved1: u16::from_be_bytes([b[4], b[5]]),
        reserved2: u16::from_be_bytes([b[6], b[7]]),
    };
    let l = h.length as usize;
    let bad = Error::BadLength {
        length: h.length,
        available: b.len(),
    };
    if l < HEADER_LEN {
        return Err(bad);
    }
    if l > b.len() {
        return Ok((h, &b[HEADER_LEN..], Some(bad)));
    }
    Ok((h, &b[HEADER_LEN..l], None))
}

/// One GOOSE publication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Goose<'a> {
    pub header: Header,
    pub gocb_ref: Option<&'a [u8]>,
    pub time_allowed_to_live: Option<u64>,
    pub dat_set: Option<&'a [u8]>,
    pub go_id: Option<&'a [u8]>,
    /// UtcTime: 4 octets seconds, 3 octets fraction, 1 octet quality.
    pub t: Option<&'a [u8]>,
    pub st_num: Option<u32>,
    pub sq_num: Option<u32>,
    /// `simulation` (Ed. 2) / `test` (Ed. 1); absent means false.
    pub test: Option<bool>,
    pub conf_rev: Option<u32>,
    pub nds_com: Option<bool>,
    pub num_dat_set_entries: Option<u32>,
    /// Contents of `allData` (walk with [`data_entries`]).
    pub all_data: Option<&'a [u8]>,
    pub all_data_count: u32,
    /// Elements of the goosePdu with an unknown tag.
    pub unknown_fields: u32,
}

fn ber(what: &'static str) -> impl Fn(BerError) -> Error {
    move |err| Error::Ber { what, err }
}

fn uint32(t: &Tlv<'_>, what: &'static str) -> Result<u32, Error> {
    t.uint()
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(Error::BadField {
            what,
            len: t.value.len(),
        })
}

fn boolean(t: &Tlv<'_>, what: &'static str) -> Result<bool, Error> {
    match t.value {
        [b] => Ok(*b != 0),
        v => Err(Error::BadField { what, len: v.len() }),
    }
}

/// Parses a GOOSE frame (from APPID). On success the second value is a
/// problem found in a frame that could still be decoded (bad Length, a
/// missing mandatory field, a bad field): the publication is reported and
/// the problem too.
pub fn parse(b: &[u8]) -> Result<(Goose<'_>, Option<Error>), Error> {
    let (header, apdu, mut problem) = header(b)?;
    let t = Tlv::parse(apdu).map_err(ber("goosePdu"))?;
    if t.class != Class::Application || t.tag != 1 || !t.constructed {
        return Err(Error::NotApdu {
            expected: 1,
            class: t.class,
            tag: t.tag,
        });
    }
    let mut g = Goose {
        header,
        gocb_ref: None,
        time_allowed_to_live: None,
        dat_set: None,
        go_id: None,
        t: None,
        st_num: None,
        sq_num: None,
        test: None,
        conf_rev: None,
        nds_com: None,
        num_dat_set_entries: None,
        all_data: None,
        all_data_count: 0,
        unknown_fields: 0,
    };
    let mut note = |e: Error| {
        if problem.is_none() {
            problem = Some(e);
        }
    };
    for e in t.children() {
        let e = match e {
            Ok(e) => e,
            Err(err) => {
                note(Error::Ber {
                    what: "goosePdu field",
                    err,
                });
                break;
            }
        };
        if e.class != Class::Context {
            g.unknown_fields += 1;
            continue;
        }
        let r: Result<(), Error> = (|| {
            match e.tag {
                0 => g.gocb_ref = Some(e.value),
                1 => {
                    g.time_allowed_to_live = Some(e.uint().ok_or(Error::BadField {
                        what: "timeAllowedtoLive",
                        len: e.value.len(),
                    })?)
                }
                2 => g.dat_set = Some(e.value),
                3 => g.go_id = Some(e.value),
                4 => {
                    if e.value.len() != 8 {
                        return Err(Error::BadField {
                            what: "t",
                            len: e.value.len(),
                        });
                    }
                    g.t = Some(e.value)
                }
                5 => g.st_num = Some(uint32(&e, "stNum")?),
                6 => g.sq_num = Some(uint32(&e, "sqNum")?),
                7 => g.test = Some(boolean(&e, "simulation")?),
                8 => g.conf_rev = Some(uint32(&e, "confRev")?),
                9 => g.nds_com = Some(boolean(&e, "ndsCom")?),
                10 => g.num_dat_set_entries = Some(uint32(&e, "numDatSetEntries")?),
                11 => {
                    g.all_data = Some(e.value);
                    for d in e.children() {
                        d.map_err(ber("allData entry"))?;
                        g.all_data_count += 1;
                    }
                }
                12 => {} // security
                _ => g.unknown_fields += 1,
            }
            Ok(())
        })();
        if let Err(e) = r {
            note(e);
        }
    }
    let required: [(bool, &'static str); 10] = [
        (g.gocb_ref.is_some(), "gocbRef"),
        (g.time_allowed_to_live.is_some(), "timeAllowedtoLive"),
        (g.dat_set.is_some(), "datSet"),
        (g.t.is_some(), "t"),
        (g.st_num.is_some(), "stNum"),
        (g.sq_num.is_some(), "sqNum"),
        (g.conf_rev.is_some(), "confRev"),
        (g.nds_com.is_some(), "ndsCom"),
        (g.num_dat_set_entries.is_some(), "numDatSetEntries"),
        (g.all_data.is_some(), "allData"),
    ];
    if let Some((_, name)) = required.iter().find(|(ok, _)| !ok) {
        note(Error::Missing(name));
    }
    Ok((g, problem))
}

/// A UtcTime as seconds since 1970 (with the fraction) and its quality octet.
pub fn utc_time(t: &[u8]) -> Option<(f64, u8)> {
    let [a, b, c, d, f1, f2, f3, q] = *t else {
        return None;
    };
    let secs = u32::from_be_bytes([a, b, c, d]) as f64;
    let frac = u32::from_be_bytes([0, f1, f2, f3]) as f64 / 16_777_216.0;
    Some((secs + frac, q))
}

/// One `Data` value of `allData`, summarised.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// Bit string: unused bits and the octets.
    Bits(u8, &'a [u8]),
    Octets(&'a [u8]),
    Text(&'a [u8]),
    /// UtcTime seconds and quality.
    Time(f64, u8),
    /// array / structure: number of elements.
    Elements(u32),
    /// A type otwatch does not summarise, or a bad value: its raw octets.
    Raw(&'a [u8]),
}

/// Name of a `Data` choice tag.
pub fn data_type_name(tag: u32) -> &'static str {
    match tag {
        1 => "array",
        2 => "structure",
        3 => "boolean",
        4 => "bit-string",
        5 => "integer",
        6 => "unsigned",
        7 => "floating-point",
        9 => "octet-string",
        10 => "visible-string",
        11 => "generalized-time",
        12 => "binary-time",
        13 => "bcd",
        14 => "boolean-array",
        15 => "obj-id",
        16 => "mms-string",
        17 => "utc-time",
        _ => "unknown",
    }
}

/// Summarises one `Data` element.
pub fn data_value<'a>(d: &Tlv<'a>) -> Value<'a> {
    let v = d.value;
    match d.tag {
        1 | 2 => Value::Elements(Tlvs::new(v).map_while(Result::ok).count() as u32),
        3 => match v {
            [b] => Value::Bool(*b != 0),
            _ => Value::Raw(v),
        },
        4 | 14 => match v.split_first() {
            Some((&u, bits)) => Value::Bits(u, bits),
            None => Value::Raw(v),
        },
        5 => d.int().map_or(Value::Raw(v), Value::Int),
        6 | 13 => d.uint().map_or(Value::Raw(v), Value::Uint),
        7 => match v {
            [8, a, b, c, e] => Value::Float(f32::from_be_bytes([*a, *b, *c, *e]) as f64),
            [11, x @ ..] if x.len() == 8 => {
                let mut o = [0u8; 8];
                o.copy_from_slice(x);
                Value::Float(f64::from_be_bytes(o))
            }
            _ => Value::Raw(v),
        },
        9 => Value::Octets(v),
        10 | 16 | 11 => Value::Text(v),
        17 => utc_time(v).map_or(Value::Raw(v), |(s, q)| Value::Time(s, q)),
        _ => Value::Raw(v),
    }
}

/// The entries of `allData` (context-specific `Data` choices), in order.
pub fn data_entries(all: &[u8]) -> impl Iterator<Item = Tlv<'_>> {
    Tlvs::new(all).map_while(Result::ok)
}
