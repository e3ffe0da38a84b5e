//! Pure, zero-copy reading of the ISO upper layers that carry MMS: ISO 8327
//! session SPDUs, ISO 8823 presentation PPDUs and ISO 8650 ACSE APDUs.

use crate::ber::{BerError, Class, Tlv, Tlvs};

/// Session SPDU identifiers (SI) otwatch names.
pub mod si {
    /// Data transfer; also Give Tokens (category 0) when followed by another SPDU.
    pub const DT: u8 = 1;
    /// Please Tokens (category 0).
    pub const PT: u8 = 2;
    pub const EX: u8 = 5;
    pub const NF: u8 = 8;
    pub const FN: u8 = 9;
    pub const DN: u8 = 10;
    pub const RF: u8 = 12;
    pub const CN: u8 = 13;
    pub const AC: u8 = 14;
    pub const CDO: u8 = 15;
    pub const OA: u8 = 16;
    pub const AB: u8 = 25;
    pub const AA: u8 = 26;
    pub const TD: u8 = 33;
}

/// Name of a session SPDU.
pub fn spdu_name(s: u8) -> &'static str {
    match s {
        si::DT => "DT",
        si::PT => "PT",
        si::EX => "EX",
        si::NF => "NF",
        si::FN => "FN",
        si::DN => "DN",
        si::RF => "RF",
        si::CN => "CN",
        si::AC => "AC",
        si::CDO => "CDO",
        si::OA => "OA",
        si::AB => "AB",
        si::AA => "AA",
        si::TD => "TD",
        0 => "ER",
        21 => "GTC",
        22 => "GTA",
        34 => "RA",
        41 => "MAP",
        42 => "MAA",
        45 => "AS",
        46 => "ASA",
        48 => "ED",
        49 => "MIP",
        50 => "MIA",
        53 => "RS",
        57 => "AD",
        58 => "ADA",
        61 => "CD",
        62 => "CDA",
        _ => "unknown",
    }
}

fn known_si(s: u8) -> bool {
    spdu_name(s) != "unknown"
}

/// Why the ISO session, presentation or ACSE layer could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsoError {
    /// The SPDU (or one of its parameters) claims more bytes than the TSDU has.
    SpduTruncated { si: u8, need: usize, have: usize },
    /// The SPDU identifier is not an ISO 8327 SPDU.
    UnknownSpdu(u8),
    /// The TSDU is empty.
    EmptyTsdu,
    /// A presentation PPDU could not be read.
    Presentation {
        what: &'static str,
        ber: Option<BerError>,
    },
    /// An ACSE APDU could not be read.
    Acse {
        what: &'static str,
        ber: Option<BerError>,
    },
}

impl IsoError {
    pub fn code(&self) -> &'static str {
        match self {
            IsoError::SpduTruncated { .. } => "session_spdu_truncated",
            IsoError::UnknownSpdu(_) => "unknown_session_spdu",
            IsoError::EmptyTsdu => "empty_tsdu",
            IsoError::Presentation { .. } => "bad_presentation_ppdu",
            IsoError::Acse { .. } => "bad_acse_apdu",
        }
    }
}

impl std::fmt::Display for IsoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IsoError::SpduTruncated { si, need, have } => write!(
                f,
                "session {} SPDU (SI {si}) needs {need} bytes, the TSDU has {have}",
                spdu_name(*si)
            ),
            IsoError::UnknownSpdu(s) => write!(f, "unknown session SPDU identifier {s}"),
            IsoError::EmptyTsdu => f.write_str("empty TSDU"),
            IsoError::Presentation { what, ber } => match ber {
                Some(e) => write!(f, "presentation {what}: {e}"),
                None => write!(f, "presentation {what}"),
            },
            IsoError::Acse { what, ber } => match ber {
                Some(e) => write!(f, "ACSE {what}: {e}"),
                None => write!(f, "ACSE {what}"),
            },
        }
    }
}

/// One SPDU: identifier, parameter field and the user information that follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spdu<'a> {
    pub si: u8,
    pub params: &'a [u8],
    /// Bytes after the parameter field (user information of DT, or the next SPDU).
    pub rest: &'a [u8],
}

/// Reads an SPDU header (SI, LI, parameters).
pub fn spdu(b: &[u8]) -> Result<Spdu<'_>, IsoError> {
    let s = *b.first().ok_or(IsoError::EmptyTsdu)?;
    if !known_si(s) {
        return Err(IsoError::UnknownSpdu(s));
    }
    let (li, hdr) = length(b, 1).ok_or(IsoError::SpduTruncated {
        si: s,
        need: 2,
        have: b.len(),
    })?;
    let end = hdr + li;
    let params = b.get(hdr..end).ok_or(IsoError::SpduTruncated {
        si: s,
        need: end,
        have: b.len(),
    })?;
    Ok(Spdu {
        si: s,
        params,
        rest: &b[end..],
    })
}

/// An ISO 8327 length at `off`: one octet, or 0xFF and two octets. Returns
/// the length and the offset after it.
fn length(b: &[u8], off: usize) -> Option<(usize, usize)> {
    match *b.get(off)? {
        0xff => Some((
            u16::from_be_bytes([*b.get(off + 1)?, *b.get(off + 2)?]) as usize,
            off + 3,
        )),
        l => Some((l as usize, off + 1)),
    }
}

/// The session user data of a connection-management SPDU: the value of
/// PGI 193 (User Data) or 194 (Extended User Data) among the parameters.
pub fn user_data<'a>(sp: &Spdu<'a>) -> Result<Option<&'a [u8]>, IsoError> {
    let p = sp.params;
    let mut off = 0;
    while off < p.len() {
        let code = p[off];
        let (len, vo) = length(p, off + 1).ok_or(IsoError::SpduTruncated {
            si: sp.si,
            need: off + 2,
            have: p.len(),
        })?;
        let v = p.get(vo..vo + len).ok_or(IsoError::SpduTruncated {
            si: sp.si,
            need: vo + len,
            have: p.len(),
        })?;
        if code == 193 || code == 194 {
            return Ok(Some(v));
        }
        off = vo + len;
    }
    Ok(None)
}

/// The refusal reason of an RF SPDU (PI 50), if present.
pub fn refuse_reason(sp: &Spdu<'_>) -> Option<u8> {
    let p = sp.params;
    let mut off = 0;
    while off < p.len() {
        let code = p[off];
        let (len, vo) = length(p, off + 1)?;
        let v = p.get(vo..vo + len)?;
        if code == 50 {
            return v.first().copied();
        }
        off = vo + len;
    }
    None
}

fn perr(what: &'static str) -> IsoError {
    IsoError::Presentation { what, ber: None }
}

fn pber(what: &'static str) -> impl Fn(BerError) -> IsoError {
    move |e| IsoError::Presentation { what, ber: Some(e) }
}

fn aerr(what: &'static str) -> IsoError {
    IsoError::Acse { what, ber: None }
}

fn aber(what: &'static str) -> impl Fn(BerError) -> IsoError {
    move |e| IsoError::Acse { what, ber: Some(e) }
}

/// One presentation data value: its context id and the encoded value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdv<'a> {
    pub context_id: Option<i64>,
    /// The single ASN.1 value (or the octet-aligned octets).
    pub data: &'a [u8],
}

/// Presentation context definitions of a CP PPDU: `(id, abstract syntax OID contents)`.
pub type ContextDef<'a> = (i64, &'a [u8]);

/// What a presentation PPDU holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ppdu<'a> {
    /// The `presentation-context-definition-list` contents of a CP PPDU.
    pub contexts: Option<&'a [u8]>,
    /// Contents of the user data (fully-encoded: a `SEQUENCE OF PDV-list`;
    /// simply-encoded: the values).
    pub user_data: Option<UserData<'a>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserData<'a> {
    Simple(&'a [u8]),
    Full(&'a [u8]),
}

fn user_data_of<'a>(t: &Tlv<'a>) -> Option<UserData<'a>> {
    match (t.class, t.tag) {
        (Class::Application, 0) => Some(UserData::Simple(t.value)),
        (Class::Application, 1) => Some(UserData::Full(t.value)),
        _ => None,
    }
}

/// CP, CPA or CPR PPDU (session CN, AC, RF user data).
pub fn connect_ppdu(b: &[u8]) -> Result<Ppdu<'_>, IsoError> {
    let t = Tlv::parse(b).map_err(pber("connect PPDU"))?;
    if t.class != Class::Universal || !t.constructed || !(t.tag == 17 || t.tag == 16) {
        return Err(perr("connect PPDU is not a SET or SEQUENCE"));
    }
    let mut out = Ppdu {
        contexts: None,
        user_data: None,
    };
    for e in t.children() {
        let e = e.map_err(pber("connect PPDU element"))?;
        if let Some(u) = user_data_of(&e) {
            out.user_data = Some(u);
        } else if t.tag == 17 && e.is_context(2) && e.constructed {
            // normal-mode-parameters of CP/CPA (CPR normal mode is a SEQUENCE
            // with its fields, and the user data, inline).
            for p in e.children() {
                let p = p.map_err(pber("normal-mode parameters"))?;
                if p.is_context(4) {
                    out.contexts = Some(p.value);
                } else if let Some(u) = user_data_of(&p) {
                    out.user_data = Some(u);
                }
            }
        }
    }
    Ok(out)
}

/// Data-transfer user data, release (FN/DN) or abort (AB) PPDU.
pub fn data_ppdu(b: &[u8]) -> Result<Ppdu<'_>, IsoError> {
    let t = Tlv::parse(b).map_err(pber("PPDU"))?;
    let mut out = Ppdu {
        contexts: None,
        user_data: user_data_of(&t),
    };
    if out.user_data.is_none() {
        // ARU-PPDU normal mode [0] { [0] contexts, user data } or ARP-PPDU.
        if t.is_context(0) && t.constructed || t.is_universal(16) {
            for e in t.children() {
                let e = e.map_err(pber("abort PPDU element"))?;
                if let Some(u) = user_data_of(&e) {
                    out.user_data = Some(u);
                }
            }
            out.contexts = None;
        } else {
            return Err(perr("user data is neither simply- nor fully-encoded"));
        }
    }
    Ok(out)
}

/// Walks the presentation data values of user data.
pub fn pdvs<'a>(u: UserData<'a>, mut f: impl FnMut(Pdv<'a>)) -> Result<(), IsoError> {
    match u {
        UserData::Simple(v) => {
            if !v.is_empty() {
                f(Pdv {
                    context_id: None,
                    data: v,
                });
            }
        }
        UserData::Full(v) => {
            for l in Tlvs::new(v) {
                let l = l.map_err(pber("PDV-list"))?;
                if !l.is_universal(16) {
                    return Err(perr("PDV-list is not a SEQUENCE"));
                }
                let mut ctx = None;
                let mut data = None;
                for e in l.children() {
                    let e = e.map_err(pber("PDV-list element"))?;
                    match (e.class, e.tag) {
                        (Class::Universal, 2) => ctx = e.int(),
                        (Class::Context, 0..=2) => data = Some(e.value),
                        _ => {}
                    }
                }
                let data = data.ok_or(perr("PDV-list without presentation data values"))?;
                f(Pdv {
                    context_id: ctx,
                    data,
                });
            }
        }
    }
    Ok(())
}

/// Context definitions of a CP PPDU: `(id, abstract syntax)` pairs.
pub fn contexts(list: &[u8]) -> impl Iterator<Item = ContextDef<'_>> {
    Tlvs::new(list).filter_map(|d| {
        let d = d.ok()?;
        let mut it = d.children();
        let id = it.next()?.ok()?;
        let syn = it.next()?.ok()?;
        if !id.is_universal(2) || !syn.is_universal(6) {
            return None;
        }
        Some((id.int()?, syn.value))
    })
}

/// OID contents of the ACSE abstract syntax (2.2.1.0.1).
pub const ACSE_OID: &[u8] = &[0x52, 0x01, 0x00, 0x01];
/// OID contents of the MMS abstract syntax (1.0.9506.2.1).
pub const MMS_OID: &[u8] = &[0x28, 0xca, 0x22, 0x02, 0x01];

/// An ACSE APDU's facts and the MMS PDU in its user information.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Acse<'a> {
    /// 0 AARQ, 1 AARE, 2 RLRQ, 3 RLRE, 4 ABRT.
    pub apdu: u8,
    /// Application context name (OID contents).
    pub application_context: Option<&'a [u8]>,
    pub called_ap_title: Option<&'a [u8]>,
    pub called_ae_qualifier: Option<i64>,
    pub calling_ap_title: Option<&'a [u8]>,
    pub calling_ae_qualifier: Option<i64>,
    pub responding_ap_title: Option<&'a [u8]>,
    pub responding_ae_qualifier: Option<i64>,
    /// AARE result (0 accepted, 1 rejected permanent, 2 rejected transient);
    /// RLRQ/RLRE reason; ABRT source.
    pub result: Option<i64>,
    /// The encoded MMS PDU of the user information, if any.
    pub user_information: Option<&'a [u8]>,
}

impl Acse<'_> {
    pub fn name(&self) -> &'static str {
        match self.apdu {
            0 => "aarq",
            1 => "aare",
            2 => "rlrq",
            3 => "rlre",
            _ => "abrt",
        }
    }
}

/// True for an element that starts an ACSE APDU (application tags 0–4).
pub fn is_acse(b: &[u8]) -> bool {
    matches!(b.first(), Some(0x60..=0x64))
}

fn ap_title<'a>(t: &Tlv<'a>) -> Option<&'a [u8]> {
    match t.children().next() {
        Some(Ok(o)) if o.is_universal(6) => Some(o.value),
        _ => None,
    }
}

fn inner_int(t: &Tlv<'_>) -> Option<i64> {
    match t.children().next() {
        Some(Ok(i)) if i.is_universal(2) => i.int(),
        _ => None,
    }
}

/// Reads an ACSE APDU.
pub fn acse(b: &[u8]) -> Result<Acse<'_>, IsoError> {
    let t = Tlv::parse(b).map_err(aber("APDU"))?;
    if t.class != Class::Application || t.tag > 4 || !t.constructed {
        return Err(aerr("APDU is not AARQ, AARE, RLRQ, RLRE or ABRT"));
    }
    let mut a = Acse {
        apdu: t.tag as u8,
        ..Acse::default()
    };
    for e in t.children() {
        let e = e.map_err(aber("APDU element"))?;
        if e.class != Class::Context {
            continue;
        }
        match (a.apdu, e.tag) {
            (0 | 1, 1) => {
                a.application_context = match e.children().next() {
                    Some(Ok(o)) if o.is_universal(6) => Some(o.value),
                    _ => return Err(aerr("application context name is not an OID")),
                }
            }
            (0, 2) => a.called_ap_title = ap_title(&e),
            (0, 3) => a.called_ae_qualifier = inner_int(&e),
            (0, 6) => a.calling_ap_title = ap_title(&e),
            (0, 7) => a.calling_ae_qualifier = inner_int(&e),
            (1, 2) => a.result = inner_int(&e),
            (1, 4) => a.responding_ap_title = ap_title(&e),
            (1, 5) => a.responding_ae_qualifier = inner_int(&e),
            (2..=4, 0) => a.result = e.int(),
            (_, 30) => {
                // Association-information: SEQUENCE OF EXTERNAL.
                for x in e.children() {
                    let x = x.map_err(aber("user information"))?;
                    if !x.is_universal(8) {
                        return Err(aerr("user information is not an EXTERNAL"));
                    }
                    for enc in x.children() {
                        let enc = enc.map_err(aber("EXTERNAL"))?;
                        if enc.class == Class::Context && enc.tag <= 2 {
                            a.user_information = Some(enc.value);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(a)
}
