//! NDJSON form of an MMS message (the `mms` object of an event record).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::iso::Acse;
use super::wire::{self, Body, FileName, ObjectName, VarAccess, confirmed_service_name, pdu_name};
use crate::json::Hex;

/// Longest list of names written for one message.
pub const MAX_LISTED: usize = 16;

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// `domain/item`, or the bare item of a vmd- or aa-specific name.
struct Name<'a>(ObjectName<'a>);

impl Serialize for Name<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        if n.scope == 1 {
            s.serialize_str(&format!("{}/{}", lossy(n.domain), lossy(n.item)))
        } else {
            s.serialize_str(&lossy(n.item))
        }
    }
}

fn scope_name(s: u8) -> &'static str {
    match s {
        0 => "vmd",
        1 => "domain",
        _ => "aa",
    }
}

/// A file name: its components joined with `/`.
struct File<'a>(FileName<'a>);

impl Serialize for File<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::new();
        for (i, p) in wire::file_name_parts(self.0).enumerate() {
            if i > 0 {
                out.push('/');
            }
            out.push_str(&lossy(p));
        }
        s.serialize_str(&out)
    }
}

/// The first names of a `listOfVariable`.
struct Vars<'a>(&'a [u8]);

impl Serialize for Vars<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(None)?;
        for n in wire::variables(self.0).take(MAX_LISTED) {
            q.serialize_element(&Name(n))?;
        }
        q.end()
    }
}

/// The first identifiers of a `SEQUENCE OF Identifier`.
struct Ids<'a>(&'a [u8]);

impl Serialize for Ids<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(None)?;
        for n in wire::identifiers(self.0).take(MAX_LISTED) {
            q.serialize_element(&lossy(n))?;
        }
        q.end()
    }
}

struct Oid<'a>(&'a [u8]);

impl Serialize for Oid<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match crate::ber::oid_to_string(self.0) {
            Some(o) => s.serialize_str(&o),
            None => Hex(self.0).serialize(s),
        }
    }
}

struct AcseJson<'a>(Acse<'a>);

impl Serialize for AcseJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = &self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("apdu", a.name())?;
        if let Some(o) = a.application_context {
            m.serialize_entry("application_context", &Oid(o))?;
        }
        if let Some(o) = a.called_ap_title {
            m.serialize_entry("called_ap_title", &Oid(o))?;
        }
        if let Some(q) = a.called_ae_qualifier {
            m.serialize_entry("called_ae_qualifier", &q)?;
        }
        if let Some(o) = a.calling_ap_title {
            m.serialize_entry("calling_ap_title", &Oid(o))?;
        }
        if let Some(q) = a.calling_ae_qualifier {
            m.serialize_entry("calling_ae_qualifier", &q)?;
        }
        if let Some(o) = a.responding_ap_title {
            m.serialize_entry("responding_ap_title", &Oid(o))?;
        }
        if let Some(q) = a.responding_ae_qualifier {
            m.serialize_entry("responding_ae_qualifier", &q)?;
        }
        if let Some(r) = a.result {
            m.serialize_entry(if a.apdu == 1 { "result" } else { "reason" }, &r)?;
        }
        m.end()
    }
}

fn access<M: SerializeMap>(m: &mut M, spec: &VarAccess<'_>) -> Result<(), M::Error> {
    match *spec {
        VarAccess::ListName(n) => {
            m.serialize_entry("variable_list_name", &Name(n))?;
        }
        VarAccess::Variables { count, list } => {
            m.serialize_entry("variable_count", &count)?;
            m.serialize_entry("variables", &Vars(list))?;
        }
    }
    Ok(())
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &self.pdu;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &p.function_code())?;
        m.serialize_entry("pdu", pdu_name(p.pdu))?;
        if let Some(sv) = p.service {
            m.serialize_entry("service", &sv)?;
        }
        if let Some(n) = p.service_name() {
            m.serialize_entry("service_name", n)?;
        }
        if let Some(id) = p.invoke_id {
            m.serialize_entry("invoke_id", &id)?;
        }
        if let Some(c) = self.context_id {
            m.serialize_entry("presentation_context", &c)?;
        }
        if let Some(r) = self.request_service {
            m.serialize_entry("request_service", &r)?;
            m.serialize_entry("request_service_name", confirmed_service_name(r))?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_ns", &l)?;
        }
        match p.body {
            Body::None => {}
            Body::Status { extended } => m.serialize_entry("extended_derivation", &extended)?,
            Body::StatusResponse { logical, physical } => {
                m.serialize_entry("logical_status", &logical)?;
                m.serialize_entry("physical_status", &physical)?;
            }
            Body::GetNameList {
                object_class,
                scope,
                domain,
                continue_after,
            } => {
                if let Some(c) = object_class {
                    m.serialize_entry("object_class", &c)?;
                }
                m.serialize_entry("scope", scope_name(scope))?;
                if let Some(d) = domain {
                    m.serialize_entry("domain", &lossy(d))?;
                }
                if let Some(c) = continue_after {
                    m.serialize_entry("continue_after", &lossy(c))?;
                }
            }
            Body::NameList {
                count,
                list,
                more_follows,
            } => {
                m.serialize_entry("identifier_count", &count)?;
                m.serialize_entry("identifiers", &Ids(list))?;
                m.serialize_entry("more_follows", &more_follows)?;
            }
            Body::Identify {
                vendor,
                model,
                revision,
            } => {
                m.serialize_entry("vendor", &lossy(vendor))?;
                m.serialize_entry("model", &lossy(model))?;
                m.serialize_entry("revision", &lossy(revision))?;
            }
            Body::Access {
                spec,
                values,
                list_name,
            } => {
                if let Some(n) = list_name {
                    m.serialize_entry("list_name", &Name(n))?;
                }
                access(&mut m, &spec)?;
                if let Some(v) = values {
                    m.serialize_entry("value_count", &v)?;
                }
            }
            Body::ReadResponse { results, failures } => {
                m.serialize_entry("result_count", &results)?;
                m.serialize_entry("failure_count", &failures)?;
            }
            Body::WriteResponse {
                successes,
                failures,
            } => {
                m.serialize_entry("success_count", &successes)?;
                m.serialize_entry("failure_count", &failures)?;
            }
            Body::Name(n) => {
                m.serialize_entry("scope", scope_name(n.scope))?;
                m.serialize_entry("name", &Name(n))?;
                if n.scope == 1 {
                    m.serialize_entry("domain", &lossy(n.domain))?;
                }
                m.serialize_entry("item", &lossy(n.item))?;
            }
            Body::Files { file, other } => {
                if let Some(f) = file {
                    m.serialize_entry("file_name", &File(f))?;
                }
                if let Some(f) = other {
                    let key = match p.service {
                        Some(wire::svc::FILE_RENAME) => "new_file_name",
                        Some(wire::svc::OBTAIN_FILE) => "destination_file_name",
                        _ => "continue_after",
                    };
                    m.serialize_entry(key, &File(f))?;
                }
            }
            Body::Frsm { frsm_id } => m.serialize_entry("frsm_id", &frsm_id)?,
            Body::ProgramInvocation { name } => {
                m.serialize_entry("program_invocation", &lossy(name))?
            }
            Body::Domain { name, file } => {
                m.serialize_entry("domain", &lossy(name))?;
                if let Some(f) = file {
                    m.serialize_entry("file_name", &File(f))?;
                }
            }
            Body::Ulsm { ulsm_id } => m.serialize_entry("ulsm_id", &ulsm_id)?,
            Body::Control {
                semaphore,
                named_token,
            } => {
                m.serialize_entry("semaphore", &Name(semaphore))?;
                if let Some(t) = named_token {
                    m.serialize_entry("named_token", &lossy(t))?;
                }
            }
            Body::Initiate(i) => {
                if let Some(v) = i.local_detail {
                    m.serialize_entry("local_detail", &v)?;
                }
                if let Some(v) = i.max_serv_outstanding_calling {
                    m.serialize_entry("max_serv_outstanding_calling", &v)?;
                }
                if let Some(v) = i.max_serv_outstanding_called {
                    m.serialize_entry("max_serv_outstanding_called", &v)?;
                }
                if let Some(v) = i.data_structure_nesting_level {
                    m.serialize_entry("data_structure_nesting_level", &v)?;
                }
                if let Some(v) = i.version {
                    m.serialize_entry("version", &v)?;
                }
                if !i.parameter_cbb.is_empty() {
                    m.serialize_entry("parameter_cbb", &Hex(i.parameter_cbb))?;
                }
                if !i.services_supported.is_empty() {
                    m.serialize_entry("services_supported", &Hex(i.services_supported))?;
                }
            }
            Body::Error { class, code } => {
                if let Some(c) = class {
                    m.serialize_entry("error_class", &c)?;
                }
                if let Some(c) = code {
                    m.serialize_entry("error_code", &c)?;
                }
            }
            Body::Reject {
                original_invoke_id: _,
                reason,
                code,
            } => {
                if let Some(r) = reason {
                    m.serialize_entry("reject_reason", &r)?;
                }
                if let Some(c) = code {
                    m.serialize_entry("reject_code", &c)?;
                }
            }
        }
        if let Some(a) = self.acse {
            m.serialize_entry("acse", &AcseJson(a))?;
        }
        m.end()
    }
}
