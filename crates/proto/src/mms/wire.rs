//! Pure, zero-copy parsing of one MMS PDU (ISO 9506-2 `MMSpdu`, BER).
//!
//! [`parse_pdu`] reads the PDU choice, the invoke id and the service choice,
//! then the specifics of the services otwatch decodes. Everything borrows
//! from the input; lists (variables, identifiers, file name components) are
//! kept as the raw contents of their `SEQUENCE OF` and walked only when the
//! JSON form is written.

use crate::ber::{BerError, Class, Tlv, Tlvs};

/// MMS PDU choice tags (`MMSpdu`).
pub mod pdu {
    pub const CONFIRMED_REQUEST: u8 = 0;
    pub const CONFIRMED_RESPONSE: u8 = 1;
    pub const CONFIRMED_ERROR: u8 = 2;
    pub const UNCONFIRMED: u8 = 3;
    pub const REJECT: u8 = 4;
    pub const CANCEL_REQUEST: u8 = 5;
    pub const CANCEL_RESPONSE: u8 = 6;
    pub const CANCEL_ERROR: u8 = 7;
    pub const INITIATE_REQUEST: u8 = 8;
    pub const INITIATE_RESPONSE: u8 = 9;
    pub const INITIATE_ERROR: u8 = 10;
    pub const CONCLUDE_REQUEST: u8 = 11;
    pub const CONCLUDE_RESPONSE: u8 = 12;
    pub const CONCLUDE_ERROR: u8 = 13;
}

/// Confirmed service choice tags (`ConfirmedServiceRequest/Response`).
pub mod svc {
    pub const STATUS: u8 = 0;
    pub const GET_NAME_LIST: u8 = 1;
    pub const IDENTIFY: u8 = 2;
    pub const RENAME: u8 = 3;
    pub const READ: u8 = 4;
    pub const WRITE: u8 = 5;
    pub const GET_VARIABLE_ACCESS_ATTRIBUTES: u8 = 6;
    pub const DEFINE_NAMED_VARIABLE_LIST: u8 = 11;
    pub const GET_NAMED_VARIABLE_LIST_ATTRIBUTES: u8 = 12;
    pub const DELETE_NAMED_VARIABLE_LIST: u8 = 13;
    pub const TAKE_CONTROL: u8 = 19;
    pub const RELINQUISH_CONTROL: u8 = 20;
    pub const INITIATE_DOWNLOAD_SEQUENCE: u8 = 26;
    pub const DOWNLOAD_SEGMENT: u8 = 27;
    pub const TERMINATE_DOWNLOAD_SEQUENCE: u8 = 28;
    pub const INITIATE_UPLOAD_SEQUENCE: u8 = 29;
    pub const UPLOAD_SEGMENT: u8 = 30;
    pub const TERMINATE_UPLOAD_SEQUENCE: u8 = 31;
    pub const REQUEST_DOMAIN_DOWNLOAD: u8 = 32;
    pub const REQUEST_DOMAIN_UPLOAD: u8 = 33;
    pub const LOAD_DOMAIN_CONTENT: u8 = 34;
    pub const STORE_DOMAIN_CONTENT: u8 = 35;
    pub const DELETE_DOMAIN: u8 = 36;
    pub const GET_DOMAIN_ATTRIBUTES: u8 = 37;
    pub const CREATE_PROGRAM_INVOCATION: u8 = 38;
    pub const DELETE_PROGRAM_INVOCATION: u8 = 39;
    pub const START: u8 = 40;
    pub const STOP: u8 = 41;
    pub const RESUME: u8 = 42;
    pub const RESET: u8 = 43;
    pub const KILL: u8 = 44;
    pub const GET_PROGRAM_INVOCATION_ATTRIBUTES: u8 = 45;
    pub const OBTAIN_FILE: u8 = 46;
    pub const FILE_OPEN: u8 = 72;
    pub const FILE_READ: u8 = 73;
    pub const FILE_CLOSE: u8 = 74;
    pub const FILE_RENAME: u8 = 75;
    pub const FILE_DELETE: u8 = 76;
    pub const FILE_DIRECTORY: u8 = 77;
    /// Unconfirmed service: information report.
    pub const INFORMATION_REPORT: u8 = 0;
}

/// Name of an MMS PDU choice.
pub fn pdu_name(p: u8) -> &'static str {
    match p {
        0 => "confirmed_request",
        1 => "confirmed_response",
        2 => "confirmed_error",
        3 => "unconfirmed",
        4 => "reject",
        5 => "cancel_request",
        6 => "cancel_response",
        7 => "cancel_error",
        8 => "initiate_request",
        9 => "initiate_response",
        10 => "initiate_error",
        11 => "conclude_request",
        12 => "conclude_response",
        13 => "conclude_error",
        _ => "unknown",
    }
}

/// Name of a confirmed service choice (ISO 9506-2 `ConfirmedServiceRequest`).
pub fn confirmed_service_name(s: u8) -> &'static str {
    const NAMES: [&str; 80] = [
        "status",
        "getNameList",
        "identify",
        "rename",
        "read",
        "write",
        "getVariableAccessAttributes",
        "defineNamedVariable",
        "defineScatteredAccess",
        "getScatteredAccessAttributes",
        "deleteVariableAccess",
        "defineNamedVariableList",
        "getNamedVariableListAttributes",
        "deleteNamedVariableList",
        "defineNamedType",
        "getNamedTypeAttributes",
        "deleteNamedType",
        "input",
        "output",
        "takeControl",
        "relinquishControl",
        "defineSemaphore",
        "deleteSemaphore",
        "reportSemaphoreStatus",
        "reportPoolSemaphoreStatus",
        "reportSemaphoreEntryStatus",
        "initiateDownloadSequence",
        "downloadSegment",
        "terminateDownloadSequence",
        "initiateUploadSequence",
        "uploadSegment",
        "terminateUploadSequence",
        "requestDomainDownload",
        "requestDomainUpload",
        "loadDomainContent",
        "storeDomainContent",
        "deleteDomain",
        "getDomainAttributes",
        "createProgramInvocation",
        "deleteProgramInvocation",
        "start",
        "stop",
        "resume",
        "reset",
        "kill",
        "getProgramInvocationAttributes",
        "obtainFile",
        "defineEventCondition",
        "deleteEventCondition",
        "getEventConditionAttributes",
        "reportEventConditionStatus",
        "alterEventConditionMonitoring",
        "triggerEvent",
        "defineEventAction",
        "deleteEventAction",
        "getEventActionAttributes",
        "reportEventActionStatus",
        "defineEventEnrollment",
        "deleteEventEnrollment",
        "alterEventEnrollment",
        "reportEventEnrollmentStatus",
        "getEventEnrollmentAttributes",
        "acknowledgeEventNotification",
        "getAlarmSummary",
        "getAlarmEnrollmentSummary",
        "readJournal",
        "writeJournal",
        "initializeJournal",
        "reportJournalStatus",
        "createJournal",
        "deleteJournal",
        "getCapabilityList",
        "fileOpen",
        "fileRead",
        "fileClose",
        "fileRename",
        "fileDelete",
        "fileDirectory",
        "additionalService",
        "serviceExtension",
    ];
    NAMES.get(s as usize).copied().unwrap_or("unknown")
}

/// Name of an unconfirmed service choice.
pub fn unconfirmed_service_name(s: u8) -> &'static str {
    match s {
        0 => "informationReport",
        1 => "unsolicitedStatus",
        2 => "eventNotification",
        _ => "unknown",
    }
}

/// Why an MMS PDU could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A BER element of the PDU could not be read (`what` names it).
    Ber { what: &'static str, err: BerError },
    /// The outer tag is not an MMS PDU choice (context-specific 0–13).
    UnknownPdu { class: Class, tag: u32 },
    /// An element has another tag than the one required.
    UnexpectedTag {
        what: &'static str,
        expected: u32,
        seen: u32,
    },
    /// A mandatory element is absent.
    Missing(&'static str),
    /// The service choice of a confirmed or unconfirmed PDU is unknown.
    UnknownService { pdu: u8, service: u32 },
    /// The contents of a known service could not be read.
    BadService {
        pdu: u8,
        service: u8,
        what: &'static str,
    },
    /// Bytes after the end of the MMS PDU.
    Trailing(usize),
}

impl Error {
    /// Stable snake_case code of the malformed event.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Ber { .. } => "mms_ber_error",
            Error::UnknownPdu { .. } => "unknown_mms_pdu",
            Error::UnexpectedTag { .. } => "mms_unexpected_tag",
            Error::Missing(_) => "mms_missing_field",
            Error::UnknownService { .. } => "unknown_mms_service",
            Error::BadService { .. } => "bad_mms_service",
            Error::Trailing(_) => "mms_trailing_bytes",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Ber { what, err } => write!(f, "MMS {what}: {err}"),
            Error::UnknownPdu { class, tag } => write!(
                f,
                "not an MMS PDU: tag {tag} of class {class:?} (expected context-specific 0-13)"
            ),
            Error::UnexpectedTag {
                what,
                expected,
                seen,
            } => write!(f, "MMS {what}: expected tag {expected}, seen {seen}"),
            Error::Missing(what) => write!(f, "MMS PDU lacks its {what}"),
            Error::UnknownService { pdu, service } => write!(
                f,
                "MMS {} with unknown service choice {service}",
                pdu_name(*pdu)
            ),
            Error::BadService { pdu, service, what } => write!(
                f,
                "MMS {} {}: {what}",
                pdu_name(*pdu),
                if *pdu == pdu::UNCONFIRMED {
                    unconfirmed_service_name(*service)
                } else {
                    confirmed_service_name(*service)
                }
            ),
            Error::Trailing(n) => write!(f, "{n} bytes after the end of the MMS PDU"),
        }
    }
}

/// An MMS object name (`ObjectName`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectName<'a> {
    /// 0 vmd-specific, 1 domain-specific, 2 aa-specific.
    pub scope: u8,
    /// Domain id (domain-specific names only, else empty).
    pub domain: &'a [u8],
    /// Item id (or the identifier of a vmd/aa-specific name).
    pub item: &'a [u8],
}

/// A variable access specification: a named list or a list of variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarAccess<'a> {
    ListName(ObjectName<'a>),
    /// The contents of `listOfVariable` (walk with [`variables`]) and their count.
    Variables {
        count: u32,
        list: &'a [u8],
    },
}

/// A file name (`SEQUENCE OF GraphicString`): its contents, walk with [`file_name_parts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileName<'a>(pub &'a [u8]);

/// Initiate request/response parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Initiate<'a> {
    pub local_detail: Option<i64>,
    pub max_serv_outstanding_calling: Option<i64>,
    pub max_serv_outstanding_called: Option<i64>,
    pub data_structure_nesting_level: Option<i64>,
    pub version: Option<i64>,
    /// Parameter CBB bit string (with its unused-bits octet).
    pub parameter_cbb: &'a [u8],
    /// Services supported bit string (with its unused-bits octet).
    pub services_supported: &'a [u8],
}

/// Service-specific contents otwatch decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    None,
    Status {
        extended: bool,
    },
    StatusResponse {
        logical: Option<i64>,
        physical: Option<i64>,
    },
    GetNameList {
        object_class: Option<i64>,
        /// 0 vmd-specific, 1 domain-specific, 2 aa-specific.
        scope: u8,
        domain: Option<&'a [u8]>,
        continue_after: Option<&'a [u8]>,
    },
    NameList {
        count: u32,
        /// Contents of `listOfIdentifier` (walk with [`identifiers`]).
        list: &'a [u8],
        more_follows: bool,
    },
    Identify {
        vendor: &'a [u8],
        model: &'a [u8],
        revision: &'a [u8],
    },
    /// read / write / information report / defineNamedVariableList.
    Access {
        spec: VarAccess<'a>,
        /// Number of data values (write) or access results (information report).
        values: Option<u32>,
        /// defineNamedVariableList: the name of the list being defined.
        list_name: Option<ObjectName<'a>>,
    },
    ReadResponse {
        results: u32,
        failures: u32,
    },
    WriteResponse {
        successes: u32,
        failures: u32,
    },
    /// getVariableAccessAttributes / getNamedVariableListAttributes /
    /// deleteNamedVariableList (first name).
    Name(ObjectName<'a>),
    Files {
        file: Option<FileName<'a>>,
        /// fileRename: the new name; obtainFile: the destination.
        other: Option<FileName<'a>>,
    },
    /// fileRead / fileClose request, fileOpen response.
    Frsm {
        frsm_id: i64,
    },
    ProgramInvocation {
        name: &'a [u8],
    },
    Domain {
        name: &'a [u8],
        file: Option<FileName<'a>>,
    },
    /// uploadSegment / terminateUploadSequence request, initiateUploadSequence response.
    Ulsm {
        ulsm_id: i64,
    },
    Control {
        semaphore: ObjectName<'a>,
        named_token: Option<&'a [u8]>,
    },
    Initiate(Initiate<'a>),
    Error {
        class: Option<u8>,
        code: Option<i64>,
    },
    Reject {
        original_invoke_id: Option<u32>,
        reason: Option<u8>,
        code: Option<i64>,
    },
}

/// One MMS PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// The `MMSpdu` choice tag (see [`pdu`]).
    pub pdu: u8,
    /// The service choice tag of confirmed requests/responses and unconfirmed PDUs.
    pub service: Option<u8>,
    pub invoke_id: Option<u32>,
    pub body: Body<'a>,
}

impl Pdu<'_> {
    /// `pdu * 256 + service`, with 255 when the PDU has no service choice.
    #[inline]
    pub fn function_code(&self) -> u16 {
        (self.pdu as u16) << 8 | self.service.map_or(255, u16::from)
    }

    pub fn service_name(&self) -> Option<&'static str> {
        let s = self.service?;
        Some(if self.pdu == pdu::UNCONFIRMED {
            unconfirmed_service_name(s)
        } else {
            confirmed_service_name(s)
        })
    }
}

fn tlv<'a>(b: &'a [u8], what: &'static str) -> Result<Tlv<'a>, Error> {
    Tlv::parse(b).map_err(|err| Error::Ber { what, err })
}

/// Element `i` of an iterator that must read cleanly.
fn next_tlv<'a>(it: &mut Tlvs<'a>, what: &'static str) -> Result<Option<Tlv<'a>>, Error> {
    match it.next() {
        None => Ok(None),
        Some(Ok(t)) => Ok(Some(t)),
        Some(Err(err)) => Err(Error::Ber { what, err }),
    }
}

/// Counts the elements of a constructed value, failing on unreadable ones.
fn count(b: &[u8], what: &'static str) -> Result<u32, Error> {
    let mut n = 0u32;
    for t in Tlvs::new(b) {
        t.map_err(|err| Error::Ber { what, err })?;
        n += 1;
    }
    Ok(n)
}

fn u32_of(t: &Tlv<'_>) -> Option<u32> {
    t.uint().and_then(|v| u32::try_from(v).ok())
}

/// Parses one MMS PDU that must fill `b`.
pub fn parse_pdu(b: &[u8]) -> Result<Pdu<'_>, Error> {
    let t = tlv(b, "PDU")?;
    if t.len < b.len() {
        return Err(Error::Trailing(b.len() - t.len));
    }
    parse_pdu_tlv(&t)
}

/// The PDU choice, invoke id and service choice of a PDU that does not
/// parse completely (missing or bad fields, trailing bytes), so that it can
/// still be reported as a message, as tshark does. `None` when even the
/// outer element is not an MMS PDU.
pub fn pdu_header(b: &[u8]) -> Option<Pdu<'_>> {
    let t = Tlv::parse(b).ok()?;
    if t.class != Class::Context || t.tag > 13 {
        return None;
    }
    let p = t.tag as u8;
    let mut out = Pdu {
        pdu: p,
        service: None,
        invoke_id: None,
        body: Body::None,
    };
    let service = |s: Tlv<'_>| (s.class == Class::Context && s.tag <= 254).then_some(s.tag as u8);
    if matches!(p, pdu::CONFIRMED_REQUEST | pdu::CONFIRMED_RESPONSE) && t.constructed {
        let mut it = t.children().map_while(Result::ok);
        let Some(id) = it.next() else {
            return Some(out);
        };
        if !id.is_universal(2) {
            return Some(out);
        }
        out.invoke_id = u32_of(&id);
        let mut s = it.next();
        if p == pdu::CONFIRMED_REQUEST && s.is_some_and(|s| s.is_universal(16)) {
            // listOfModifier
            s = it.next();
        }
        out.service = s.and_then(service);
    } else if p == pdu::UNCONFIRMED && t.constructed {
        out.service = t.children().next().and_then(Result::ok).and_then(service);
    }
    Some(out)
}

/// Parses an MMS PDU already read as one element.
pub fn parse_pdu_tlv<'a>(t: &Tlv<'a>) -> Result<Pdu<'a>, Error> {
    if t.class != Class::Context || t.tag > 13 {
        return Err(Error::UnknownPdu {
            class: t.class,
            tag: t.tag,
        });
    }
    let p = t.tag as u8;
    let mut out = Pdu {
        pdu: p,
        service: None,
        invoke_id: None,
        body: Body::None,
    };
    match p {
        pdu::CONFIRMED_REQUEST | pdu::CONFIRMED_RESPONSE => {
            let mut it = t.children();
            let id = next_tlv(&mut it, "invoke id")?.ok_or(Error::Missing("invoke id"))?;
            if !id.is_universal(2) {
                return Err(Error::UnexpectedTag {
                    what: "invoke id",
                    expected: 2,
                    seen: id.tag,
                });
            }
            out.invoke_id = Some(u32_of(&id).ok_or(Error::Missing("invoke id"))?);
            let mut s = next_tlv(&mut it, "service")?.ok_or(Error::Missing("service"))?;
            if p == pdu::CONFIRMED_REQUEST && s.is_universal(16) {
                s = next_tlv(&mut it, "service")?.ok_or(Error::Missing("service"))?;
            }
            if s.class != Class::Context || s.tag > 79 {
                return Err(Error::UnknownService {
                    pdu: p,
                    service: s.tag,
                });
            }
            let tag = s.tag as u8;
            out.service = Some(tag);
            out.body = if p == pdu::CONFIRMED_REQUEST {
                confirmed_request(&s)
            } else {
                confirmed_response(&s)
            }
            .map_err(|what| Error::BadService {
                pdu: p,
                service: tag,
                what,
            })?;
        }
        pdu::CONFIRMED_ERROR => {
            let mut it = t.children();
            let mut class = None;
            let mut code = None;
            while let Some(e) = next_tlv(&mut it, "error PDU")? {
                match (e.class, e.tag) {
                    (Class::Context, 0) => out.invoke_id = u32_of(&e),
                    (Class::Context, 2) => (class, code) = service_error(&e),
                    _ => {}
                }
            }
            if out.invoke_id.is_none() {
                return Err(Error::Missing("invoke id"));
            }
            out.body = Body::Error { class, code };
        }
        pdu::UNCONFIRMED => {
            let mut it = t.children();
            let s = next_tlv(&mut it, "service")?.ok_or(Error::Missing("service"))?;
            if s.class != Class::Context || s.tag > 2 {
                return Err(Error::UnknownService {
                    pdu: p,
                    service: s.tag,
                });
            }
            out.service = Some(s.tag as u8);
            if s.tag == UNSOLICITED_STATUS as u32 {
                out.body = status_response(&s);
            } else if s.tag == svc::INFORMATION_REPORT as u32 {
                out.body = access_with_values(&s, 0).map_err(|what| Error::BadService {
                    pdu: p,
                    service: 0,
                    what,
                })?;
            }
        }
        pdu::REJECT => {
            let mut original = None;
            let mut reason = None;
            let mut code = None;
            let mut it = t.children();
            while let Some(e) = next_tlv(&mut it, "reject PDU")? {
                if e.is_context(0) {
                    original = u32_of(&e);
                } else if e.class == Class::Context && e.tag <= 10 {
                    reason = Some(e.tag as u8);
                    code = e.int();
                }
            }
            out.invoke_id = original;
            out.body = Body::Reject {
                original_invoke_id: original,
                reason,
                code,
            };
        }
        pdu::CANCEL_REQUEST | pdu::CANCEL_RESPONSE => {
            out.invoke_id = Some(u32_of(t).ok_or(Error::Missing("invoke id"))?);
        }
        pdu::CANCEL_ERROR => {
            let mut it = t.children();
            let mut class = None;
            let mut code = None;
            while let Some(e) = next_tlv(&mut it, "cancel error")? {
                if e.is_context(0) {
                    out.invoke_id = u32_of(&e);
                } else if e.is_context(1) {
                    (class, code) = service_error(&e);
                }
            }
            out.body = Body::Error { class, code };
        }
        pdu::INITIATE_REQUEST | pdu::INITIATE_RESPONSE => {
            out.body = Body::Initiate(initiate(t)?);
        }
        pdu::INITIATE_ERROR | pdu::CONCLUDE_ERROR => {
            let (class, code) = service_error(t);
            out.body = Body::Error { class, code };
        }
        _ => {} // conclude request/response: NULL
    }
    Ok(out)
}

/// `ServiceError ::= SEQUENCE { errorClass [0] CHOICE {...}, ... }`: the class choice and code.
fn service_error(t: &Tlv<'_>) -> (Option<u8>, Option<i64>) {
    let Some(Ok(c)) = t.children().next() else {
        return (None, None);
    };
    if !c.is_context(0) {
        return (None, None);
    }
    match c.children().next() {
        Some(Ok(e)) if e.class == Class::Context && e.tag < 256 => (Some(e.tag as u8), e.int()),
        _ => (None, None),
    }
}

fn initiate<'a>(t: &Tlv<'a>) -> Result<Initiate<'a>, Error> {
    let mut i = Initiate::default();
    let mut it = t.children();
    while let Some(e) = next_tlv(&mut it, "initiate PDU")? {
        match (e.class, e.tag) {
            (Class::Context, 0) => i.local_detail = e.int(),
            (Class::Context, 1) => i.max_serv_outstanding_calling = e.int(),
            (Class::Context, 2) => i.max_serv_outstanding_called = e.int(),
            (Class::Context, 3) => i.data_structure_nesting_level = e.int(),
            (Class::Context, 4) => {
                let mut d = e.children();
                while let Some(x) = next_tlv(&mut d, "initiate detail")? {
                    match (x.class, x.tag) {
                        (Class::Context, 0) => i.version = x.int(),
                        (Class::Context, 1) => i.parameter_cbb = x.value,
                        (Class::Context, 2) => i.services_supported = x.value,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(i)
}

type R<T> = Result<T, &'static str>;

fn child<'a>(it: &mut Tlvs<'a>, what: &'static str) -> R<Tlv<'a>> {
    match it.next() {
        Some(Ok(t)) => Ok(t),
        Some(Err(_)) => Err(what),
        None => Err(what),
    }
}

fn first_child<'a>(t: &Tlv<'a>, what: &'static str) -> R<Tlv<'a>> {
    child(&mut t.children(), what)
}

/// `ObjectName` from its CHOICE element.
pub fn object_name<'a>(t: &Tlv<'a>) -> R<ObjectName<'a>> {
    match (t.class, t.tag) {
        (Class::Context, 0) | (Class::Context, 2) => Ok(ObjectName {
            scope: t.tag as u8,
            domain: &[],
            item: t.value,
        }),
        (Class::Context, 1) => {
            let mut it = t.children();
            let d = child(&mut it, "domain-specific name without domain id")?;
            let i = child(&mut it, "domain-specific name without item id")?;
            Ok(ObjectName {
                scope: 1,
                domain: d.value,
                item: i.value,
            })
        }
        _ => Err("object name is not vmd-, domain- or aa-specific"),
    }
}

/// `VariableAccessSpecification` from its CHOICE element.
fn var_access<'a>(t: &Tlv<'a>) -> R<VarAccess<'a>> {
    match (t.class, t.tag) {
        (Class::Context, 0) => Ok(VarAccess::Variables {
            count: count(t.value, "").map_err(|_| "unreadable list of variables")?,
            list: t.value,
        }),
        (Class::Context, 1) => Ok(VarAccess::ListName(object_name(&first_child(
            t,
            "empty variable list name",
        )?)?)),
        _ => Err("variable access specification is neither a list nor a list name"),
    }
}

/// Variable names of a `listOfVariable`: yields the object name of each
/// variable specified by name (other specifications are skipped).
pub fn variables(list: &[u8]) -> impl Iterator<Item = ObjectName<'_>> {
    Tlvs::new(list).filter_map(|v| {
        let v = v.ok()?;
        let spec = v.children().next()?.ok()?;
        if !spec.is_context(0) {
            return None;
        }
        object_name(&spec.children().next()?.ok()?).ok()
    })
}

/// Identifiers of a `SEQUENCE OF Identifier`.
pub fn identifiers(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    Tlvs::new(list).map_while(|t| t.ok().map(|t| t.value))
}

/// Components of a file name.
pub fn file_name_parts(f: FileName<'_>) -> impl Iterator<Item = &[u8]> {
    identifiers(f.0)
}

/// read request, information report: spec then values `[values_tag]`.
fn access_with_values<'a>(s: &Tlv<'a>, values_tag: u32) -> R<Body<'a>> {
    let mut spec = None;
    let mut values = None;
    for e in s.children() {
        let e = e.map_err(|_| "unreadable element")?;
        if spec.is_none() {
            spec = Some(var_access(&e)?);
        } else if e.is_context(values_tag) {
            values = Some(count(e.value, "").map_err(|_| "unreadable list of values")?);
        }
    }
    Ok(Body::Access {
        spec: spec.ok_or("no variable access specification")?,
        values,
        list_name: None,
    })
}

fn file_name<'a>(t: &Tlv<'a>) -> R<FileName<'a>> {
    count(t.value, "").map_err(|_| "unreadable file name")?;
    Ok(FileName(t.value))
}

fn identifier_field<'a>(s: &Tlv<'a>, tag: u32, what: &'static str) -> R<&'a [u8]> {
    for e in s.children() {
        let e = e.map_err(|_| "unreadable element")?;
        if e.is_context(tag) {
            return Ok(e.value);
        }
    }
    Err(what)
}

fn confirmed_request<'a>(s: &Tlv<'a>) -> R<Body<'a>> {
    let tag = s.tag as u8;
    Ok(match tag {
        svc::STATUS => Body::Status {
            extended: s.value.first().is_some_and(|&b| b != 0),
        },
        svc::GET_NAME_LIST => {
            let mut object_class = None;
            let mut scope = None;
            let mut domain = None;
            let mut continue_after = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                match (e.class, e.tag) {
                    (Class::Context, 0) => {
                        object_class = first_child(&e, "empty object class")?.int();
                    }
                    (Class::Context, 1) => {
                        let c = first_child(&e, "empty object scope")?;
                        if c.class != Class::Context || c.tag > 2 {
                            return Err("object scope is not vmd, domain or aa");
                        }
                        scope = Some(c.tag as u8);
                        if c.tag == 1 {
                            domain = Some(c.value);
                        }
                    }
                    (Class::Context, 2) => continue_after = Some(e.value),
                    _ => {}
                }
            }
            Body::GetNameList {
                object_class,
                scope: scope.ok_or("no object scope")?,
                domain,
                continue_after,
            }
        }
        svc::READ => {
            let mut spec = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(1) {
                    spec = Some(var_access(&first_child(&e, "empty access specification")?)?);
                }
            }
            Body::Access {
                spec: spec.ok_or("no variable access specification")?,
                values: None,
                list_name: None,
            }
        }
        svc::WRITE => access_with_values(s, 0)?,
        svc::GET_VARIABLE_ACCESS_ATTRIBUTES => {
            let c = first_child(s, "empty request")?;
            if !c.is_context(0) {
                return Err("only names are decoded (not addresses)");
            }
            Body::Name(object_name(&first_child(&c, "empty name")?)?)
        }
        svc::DEFINE_NAMED_VARIABLE_LIST => {
            let mut it = s.children();
            let name = object_name(&child(&mut it, "no list name")?)?;
            let list = child(&mut it, "no list of variables")?;
            let spec = var_access(&Tlv { tag: 0, ..list })?;
            Body::Access {
                spec,
                values: None,
                list_name: Some(name),
            }
        }
        svc::GET_NAMED_VARIABLE_LIST_ATTRIBUTES => {
            Body::Name(object_name(&first_child(s, "empty request")?)?)
        }
        svc::DELETE_NAMED_VARIABLE_LIST => {
            // { scopeOfDelete [0], listOfVariableListName [1] SEQUENCE OF ObjectName, domainName [2] }
            let mut name = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(1)
                    && let Some(Ok(n)) = e.children().next()
                {
                    name = Some(object_name(&n)?);
                }
            }
            match name {
                Some(n) => Body::Name(n),
                None => Body::None,
            }
        }
        svc::TAKE_CONTROL | svc::RELINQUISH_CONTROL => {
            let mut sem = None;
            let mut token = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(0) {
                    sem = Some(object_name(&first_child(&e, "empty semaphore name")?)?);
                } else if e.is_context(1) {
                    token = Some(e.value);
                }
            }
            Body::Control {
                semaphore: sem.ok_or("no semaphore name")?,
                named_token: token,
            }
        }
        svc::INITIATE_DOWNLOAD_SEQUENCE
        | svc::TERMINATE_DOWNLOAD_SEQUENCE
        | svc::LOAD_DOMAIN_CONTENT
        | svc::STORE_DOMAIN_CONTENT => {
            let mut name = None;
            let mut file = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(0) {
                    name = Some(e.value);
                } else if e.is_context(4) && tag != svc::TERMINATE_DOWNLOAD_SEQUENCE {
                    file = Some(file_name(&e)?);
                }
            }
            Body::Domain {
                name: name.ok_or("no domain name")?,
                file,
            }
        }
        svc::REQUEST_DOMAIN_DOWNLOAD | svc::REQUEST_DOMAIN_UPLOAD => {
            let name = identifier_field(s, 0, "no domain name")?;
            let ftag = if tag == svc::REQUEST_DOMAIN_DOWNLOAD {
                4
            } else {
                1
            };
            let mut file = None;
            for e in s.children().flatten() {
                if e.is_context(ftag) {
                    file = Some(file_name(&e)?);
                }
            }
            Body::Domain { name, file }
        }
        svc::DOWNLOAD_SEGMENT
        | svc::INITIATE_UPLOAD_SEQUENCE
        | svc::DELETE_DOMAIN
        | svc::GET_DOMAIN_ATTRIBUTES => Body::Domain {
            name: s.value,
            file: None,
        },
        svc::UPLOAD_SEGMENT | svc::TERMINATE_UPLOAD_SEQUENCE => Body::Ulsm {
            ulsm_id: s.int().ok_or("bad upload state machine id")?,
        },
        svc::CREATE_PROGRAM_INVOCATION
        | svc::START
        | svc::STOP
        | svc::RESUME
        | svc::RESET
        | svc::KILL => Body::ProgramInvocation {
            name: identifier_field(s, 0, "no program invocation name")?,
        },
        svc::DELETE_PROGRAM_INVOCATION | svc::GET_PROGRAM_INVOCATION_ATTRIBUTES => {
            Body::ProgramInvocation { name: s.value }
        }
        svc::OBTAIN_FILE => {
            let mut src = None;
            let mut dst = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(1) {
                    src = Some(file_name(&e)?);
                } else if e.is_context(2) {
                    dst = Some(file_name(&e)?);
                }
            }
            Body::Files {
                file: Some(src.ok_or("no source file")?),
                other: dst,
            }
        }
        svc::FILE_OPEN => {
            let mut f = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(0) {
                    f = Some(file_name(&e)?);
                }
            }
            Body::Files {
                file: Some(f.ok_or("no file name")?),
                other: None,
            }
        }
        svc::FILE_READ | svc::FILE_CLOSE => Body::Frsm {
            frsm_id: s.int().ok_or("bad file read state machine id")?,
        },
        svc::FILE_RENAME => {
            let mut cur = None;
            let mut new = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(0) {
                    cur = Some(file_name(&e)?);
                } else if e.is_context(1) {
                    new = Some(file_name(&e)?);
                }
            }
            Body::Files {
                file: Some(cur.ok_or("no current file name")?),
                other: Some(new.ok_or("no new file name")?),
            }
        }
        svc::FILE_DELETE => Body::Files {
            file: Some(file_name(s)?),
            other: None,
        },
        svc::FILE_DIRECTORY => {
            let mut spec = None;
            let mut after = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(0) {
                    spec = Some(file_name(&e)?);
                } else if e.is_context(1) {
                    after = Some(file_name(&e)?);
                }
            }
            Body::Files {
                file: spec,
                other: after,
            }
        }
        _ => Body::None,
    })
}

/// The unconfirmed service choice of `unsolicitedStatus`.
pub const UNSOLICITED_STATUS: u8 = 1;

/// `StatusResponse ::= SEQUENCE { vmdLogicalStatus [0], vmdPhysicalStatus [1], ... }`
/// (a status response, or the body of an unsolicited status).
fn status_response<'a>(s: &Tlv<'a>) -> Body<'a> {
    let mut it = s.children();
    let l = it.next().and_then(|x| x.ok());
    let p = it.next().and_then(|x| x.ok());
    Body::StatusResponse {
        logical: l.and_then(|x| x.int()),
        physical: p.and_then(|x| x.int()),
    }
}

fn confirmed_response<'a>(s: &Tlv<'a>) -> R<Body<'a>> {
    let tag = s.tag as u8;
    Ok(match tag {
        svc::STATUS => status_response(s),
        svc::GET_NAME_LIST => {
            let mut list = None;
            let mut more = true;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(0) {
                    list = Some(e.value);
                } else if e.is_context(1) {
                    more = e.value.first().is_some_and(|&b| b != 0);
                }
            }
            let list = list.ok_or("no list of identifiers")?;
            Body::NameList {
                count: count(list, "").map_err(|_| "unreadable identifiers")?,
                list,
                more_follows: more,
            }
        }
        svc::IDENTIFY => {
            let mut v = None;
            let mut m = None;
            let mut r = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                match (e.class, e.tag) {
                    (Class::Context, 0) => v = Some(e.value),
                    (Class::Context, 1) => m = Some(e.value),
                    (Class::Context, 2) => r = Some(e.value),
                    _ => {}
                }
            }
            Body::Identify {
                vendor: v.ok_or("no vendor name")?,
                model: m.ok_or("no model name")?,
                revision: r.ok_or("no revision")?,
            }
        }
        svc::READ => {
            let mut results = 0;
            let mut failures = 0;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(1) {
                    for r in e.children() {
                        let r = r.map_err(|_| "unreadable access result")?;
                        results += 1;
                        if r.is_context(0) {
                            failures += 1;
                        }
                    }
                }
            }
            Body::ReadResponse { results, failures }
        }
        svc::WRITE => {
            let mut successes = 0;
            let mut failures = 0;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable write result")?;
                if e.is_context(0) {
                    failures += 1;
                } else {
                    successes += 1;
                }
            }
            Body::WriteResponse {
                successes,
                failures,
            }
        }
        svc::FILE_OPEN => {
            let mut frsm = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(0) {
                    frsm = e.int();
                }
            }
            Body::Frsm {
                frsm_id: frsm.ok_or("no file read state machine id")?,
            }
        }
        svc::INITIATE_UPLOAD_SEQUENCE => {
            let mut id = None;
            for e in s.children() {
                let e = e.map_err(|_| "unreadable element")?;
                if e.is_context(0) {
                    id = e.int();
                }
            }
            Body::Ulsm {
                ulsm_id: id.ok_or("no upload state machine id")?,
            }
        }
        _ => Body::None,
    })
}
