//! SNMP v1/v2c (RFC 1157, RFC 3416) and v3 (RFC 3412/3414) messages: pure,
//! zero-copy BER parsing with [`crate::ber`]. Variable bindings are validated
//! once and kept as the raw bytes of the list; [`VarBinds`] walks them again.

use crate::ber::{BerError, Class, Tlv, Tlvs};

/// `pdu_type` of a v3 message whose scoped PDU is encrypted.
pub const ENCRYPTED: u8 = 0xff;

/// Why a message could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A BER element could not be read: where (which part) and why.
    Ber(&'static str, BerError),
    /// An element other than the one the grammar wants here.
    Unexpected { what: &'static str, tag: u32 },
    /// A version number otwatch does not know (0, 1 and 3 are SNMP).
    BadVersion(i64),
    /// A PDU tag outside 0–8.
    BadPduType(u32),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::Ber(_, BerError::Truncated) => "ber_truncated",
            Error::Ber(..) => "bad_ber",
            Error::Unexpected { .. } => "unexpected_element",
            Error::BadVersion(_) => "bad_version",
            Error::BadPduType(_) => "bad_pdu_type",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::Ber(w, e) => write!(f, "{w}: {e}"),
            Error::Unexpected { what, tag } => write!(f, "expected {what}, found tag {tag}"),
            Error::BadVersion(v) => write!(f, "version {v}, expected 0 (v1), 1 (v2c) or 3 (v3)"),
            Error::BadPduType(t) => write!(f, "PDU tag {t}, expected 0–8"),
        }
    }
}

/// A parsed SNMP message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snmp<'a> {
    /// 0 = v1, 1 = v2c, 3 = v3.
    pub version: u8,
    pub community: &'a [u8],
    /// PDU context tag 0–8, or [`ENCRYPTED`].
    pub pdu_type: u8,
    pub request_id: i64,
    /// Error status / index; for GetBulk: non-repeaters / max-repetitions.
    pub error_status: i64,
    pub error_index: i64,
    /// Contents of the variable-bindings SEQUENCE.
    pub varbinds: &'a [u8],
    pub varbind_count: u16,
    /// Trap v1.
    pub enterprise: &'a [u8],
    pub agent_addr: Option<[u8; 4]>,
    pub generic_trap: i64,
    pub specific_trap: i64,
    /// v3 header.
    pub msg_id: i64,
    pub msg_flags: u8,
    pub security_model: i64,
    pub engine_id: &'a [u8],
    pub user: &'a [u8],
    pub context_name: &'a [u8],
}

impl Snmp<'_> {
    pub fn varbinds(&self) -> VarBinds<'_> {
        VarBinds(Tlvs::new(self.varbinds))
    }
}

/// One variable binding: raw OID bytes and the value element.
#[derive(Clone, Copy, Debug)]
pub struct VarBind<'a> {
    pub oid: &'a [u8],
    pub value: Tlv<'a>,
}

/// Iterator over validated variable bindings.
#[derive(Clone, Copy, Debug)]
pub struct VarBinds<'a>(Tlvs<'a>);

impl<'a> Iterator for VarBinds<'a> {
    type Item = VarBind<'a>;
    fn next(&mut self) -> Option<VarBind<'a>> {
        let vb = self.0.next()?.ok()?;
        let mut it = vb.children();
        let oid = it.next()?.ok()?;
        let value = it.next()?.ok()?;
        Some(VarBind {
            oid: oid.value,
            value,
        })
    }
}

fn tlv<'a>(b: &'a [u8], what: &'static str) -> Result<Tlv<'a>, Error> {
    Tlv::parse(b).map_err(|e| Error::Ber(what, e))
}

fn next<'a>(it: &mut Tlvs<'a>, what: &'static str) -> Result<Tlv<'a>, Error> {
    match it.next() {
        Some(Ok(t)) => Ok(t),
        Some(Err(e)) => Err(Error::Ber(what, e)),
        None => Err(Error::Ber(what, BerError::Truncated)),
    }
}

fn int(t: Tlv<'_>, what: &'static str) -> Result<i64, Error> {
    if !t.is_universal(2) {
        return Err(Error::Unexpected { what, tag: t.tag });
    }
    t.int().ok_or(Error::Unexpected { what, tag: t.tag })
}

fn octets<'a>(t: Tlv<'a>, what: &'static str) -> Result<&'a [u8], Error> {
    if !t.is_universal(4) {
        return Err(Error::Unexpected { what, tag: t.tag });
    }
    Ok(t.value)
}

/// Parses the PDU element into `m`.
fn parse_pdu<'a>(pdu: Tlv<'a>, m: &mut Snmp<'a>) -> Result<(), Error> {
    if pdu.class != Class::Context || pdu.tag > 8 || !pdu.constructed {
        return Err(Error::BadPduType(pdu.tag));
    }
    m.pdu_type = pdu.tag as u8;
    let mut it = pdu.children();
    if pdu.tag == 4 {
        let e = next(&mut it, "trap enterprise")?;
        if !e.is_universal(6) {
            return Err(Error::Unexpected {
                what: "trap enterprise OID",
                tag: e.tag,
            });
        }
        m.enterprise = e.value;
        let a = next(&mut it, "trap agent address")?;
        m.agent_addr = a.value.try_into().ok();
        m.generic_trap = int(next(&mut it, "generic trap")?, "generic trap")?;
        m.specific_trap = int(next(&mut it, "specific trap")?, "specific trap")?;
        next(&mut it, "trap timestamp")?;
    } else {
        m.request_id = int(next(&mut it, "request id")?, "request id")?;
        m.error_status = int(next(&mut it, "error status")?, "error status")?;
        m.error_index = int(next(&mut it, "error index")?, "error index")?;
    }
    let vbl = next(&mut it, "variable bindings")?;
    if !vbl.is_universal(16) {
        return Err(Error::Unexpected {
            what: "variable bindings SEQUENCE",
            tag: vbl.tag,
        });
    }
    m.varbinds = vbl.value;
    let mut n = 0u16;
    for vb in vbl.children() {
        let vb = vb.map_err(|e| Error::Ber("variable binding", e))?;
        let mut c = vb.children();
        let oid = next(&mut c, "variable binding name")?;
        if !oid.is_universal(6) {
            return Err(Error::Unexpected {
                what: "variable binding OID",
                tag: oid.tag,
            });
        }
        next(&mut c, "variable binding value")?;
        n = n.saturating_add(1);
    }
    m.varbind_count = n;
    Ok(())
}

/// Parses one message. When the header is readable but the PDU is not, the
/// partial message (version, community, PDU type if known) comes with the error.
pub fn parse(b: &[u8]) -> (Option<Snmp<'_>>, Option<Error>) {
    let mut m = Snmp::default();
    let top = match tlv(b, "message") {
        Ok(t) if t.is_universal(16) => t,
        Ok(t) => {
            return (
                None,
                Some(Error::Unexpected {
                    what: "message SEQUENCE",
                    tag: t.tag,
                }),
            );
        }
        Err(e) => return (None, Some(e)),
    };
    let mut it = top.children();
    let v = match next(&mut it, "version").and_then(|t| int(t, "version")) {
        Ok(v) => v,
        Err(e) => return (None, Some(e)),
    };
    match v {
        0 | 1 => {
            m.version = v as u8;
            match next(&mut it, "community").and_then(|t| octets(t, "community")) {
                Ok(c) => m.community = c,
                Err(e) => return (None, Some(e)),
            }
            let pdu = match next(&mut it, "PDU") {
                Ok(p) => p,
                Err(e) => return (None, Some(e)),
            };
            if pdu.class != Class::Context || pdu.tag > 8 {
                return (None, Some(Error::BadPduType(pdu.tag)));
            }
            m.pdu_type = pdu.tag as u8;
            match parse_pdu(pdu, &mut m) {
                Ok(()) => (Some(m), None),
                Err(e) => (Some(m), Some(e)),
            }
        }
        3 => {
            m.version = 3;
            match parse_v3(&mut it, &mut m) {
                Ok(()) => (Some(m), None),
                Err(e) if m.pdu_type != 0 || e.code() != "bad_pdu_type" => (Some(m), Some(e)),
                Err(e) => (None, Some(e)),
            }
        }
        v => (None, Some(Error::BadVersion(v))),
    }
}

fn parse_v3<'a>(it: &mut Tlvs<'a>, m: &mut Snmp<'a>) -> Result<(), Error> {
    let g = next(it, "msgGlobalData")?;
    let mut gi = g.children();
    m.msg_id = int(next(&mut gi, "msgID")?, "msgID")?;
    int(next(&mut gi, "msgMaxSize")?, "msgMaxSize")?;
    m.msg_flags = octets(next(&mut gi, "msgFlags")?, "msgFlags")?
        .first()
        .copied()
        .unwrap_or(0);
    m.security_model = int(next(&mut gi, "msgSecurityModel")?, "msgSecurityModel")?;
    let sp = octets(next(it, "msgSecurityParameters")?, "msgSecurityParameters")?;
    if m.security_model == 3 && !sp.is_empty() {
        let usm = tlv(sp, "USM parameters")?;
        let mut u = usm.children();
        m.engine_id = octets(next(&mut u, "msgAuthoritativeEngineID")?, "engine id")?;
        next(&mut u, "engine boots")?;
        next(&mut u, "engine time")?;
        m.user = octets(next(&mut u, "msgUserName")?, "user name")?;
    }
    let data = next(it, "msgData")?;
    if data.is_universal(4) {
        m.pdu_type = ENCRYPTED;
        return Ok(());
    }
    let mut si = data.children();
    octets(next(&mut si, "contextEngineID")?, "contextEngineID")?;
    m.context_name = octets(next(&mut si, "contextName")?, "contextName")?;
    let pdu = next(&mut si, "PDU")?;
    if pdu.class != Class::Context || pdu.tag > 8 {
        return Err(Error::BadPduType(pdu.tag));
    }
    m.pdu_type = pdu.tag as u8;
    // A known PDU type: the message is reported even if its body is bad.
    parse_pdu(pdu, m)
}

/// PDU names.
pub fn pdu_name(t: u8) -> &'static str {
    match t {
        0 => "get_request",
        1 => "get_next_request",
        2 => "response",
        3 => "set_request",
        4 => "trap",
        5 => "get_bulk_request",
        6 => "inform_request",
        7 => "snmpv2_trap",
        8 => "report",
        ENCRYPTED => "encrypted",
        _ => "unknown",
    }
}

/// Short type name of a varbind value.
pub fn value_type(t: &Tlv<'_>) -> &'static str {
    match (t.class, t.tag) {
        (Class::Universal, 2) => "integer",
        (Class::Universal, 4) => "octet_string",
        (Class::Universal, 5) => "null",
        (Class::Universal, 6) => "oid",
        (Class::Application, 0) => "ip_address",
        (Class::Application, 1) => "counter32",
        (Class::Application, 2) => "gauge32",
        (Class::Application, 3) => "timeticks",
        (Class::Application, 4) => "opaque",
        (Class::Application, 6) => "counter64",
        (Class::Context, 0) => "no_such_object",
        (Class::Context, 1) => "no_such_instance",
        (Class::Context, 2) => "end_of_mib_view",
        _ => "unknown",
    }
}

/// sysDescr.0, sysObjectID.0, sysName.0 (raw OID bytes).
pub const SYS_DESCR: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 1, 0];
pub const SYS_OBJECT_ID: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 2, 0];
pub const SYS_NAME: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 5, 0];
