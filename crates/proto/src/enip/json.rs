//! NDJSON form of an EtherNet/IP message (the `enip` object of an event record).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::cip::{self, Cip, Path};
use super::pccc;
use super::wire::{self, Address, Body, IdentityItem, SockAddr};
use super::{Message, RequestInfo};
use crate::json::Hex;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let command = self.command();
        m.serialize_entry("function_code", &command)?;
        m.serialize_entry("command", &command)?;
        m.serialize_entry("command_name", wire::command_name(command))?;
        if let Some(h) = &self.header {
            m.serialize_entry("length", &h.length)?;
            m.serialize_entry("session_handle", &h.session_handle)?;
            m.serialize_entry("status", &h.status)?;
            if h.status != 0 {
                m.serialize_entry("status_name", wire::status_name(h.status))?;
            }
            m.serialize_entry("sender_context", &Hex(&h.sender_context))?;
            if h.options != 0 {
                m.serialize_entry("options", &h.options)?;
            }
        }
        match self.body {
            Body::Empty => {}
            Body::Raw(d) => m.serialize_entry("data", &Hex(d))?,
            Body::Invalid(d) => {
                m.serialize_entry("invalid", &true)?;
                m.serialize_entry("data", &Hex(d))?;
            }
            Body::RegisterSession { version, options } => {
                m.serialize_entry("protocol_version", version)?;
                m.serialize_entry("option_flags", options)?;
            }
            Body::ListIdentity {
                item_count,
                identity,
            } => {
                m.serialize_entry("item_count", item_count)?;
                if let Some(id) = identity {
                    m.serialize_entry("identity", &IdentityJson(id))?;
                }
            }
            Body::ListServices {
                item_count,
                service,
            } => {
                m.serialize_entry("item_count", item_count)?;
                if let Some(sv) = service {
                    m.serialize_entry("service_type", &sv.item_type)?;
                    m.serialize_entry("service_version", &sv.version)?;
                    m.serialize_entry("service_flags", &sv.flags)?;
                    if let Some(n) = crate::ident::text(sv.name) {
                        m.serialize_entry("service_name", &n)?;
                    }
                }
            }
            Body::ListInterfaces { item_count, data } => {
                m.serialize_entry("item_count", item_count)?;
                if !data.is_empty() {
                    m.serialize_entry("data", &Hex(data))?;
                }
            }
            Body::Cpf(c) => {
                m.serialize_entry("interface_handle", &c.interface_handle)?;
                m.serialize_entry("timeout", &c.timeout)?;
                m.serialize_entry("item_count", &c.item_count)?;
                match c.address {
                    Address::Null => {}
                    Address::Connected(id) => m.serialize_entry("connection_id", &id)?,
                    Address::Sequenced {
                        connection_id,
                        sequence,
                    } => {
                        m.serialize_entry("connection_id", &connection_id)?;
                        m.serialize_entry("sequence_number", &sequence)?;
                    }
                    Address::Other(t) => m.serialize_entry("address_item", &t)?,
                }
                if let Some(t) = c.data_item {
                    m.serialize_entry("data_item", &t)?;
                }
                if let Some(sq) = c.sequence_count {
                    m.serialize_entry("cip_sequence_count", &sq)?;
                }
                if let Some(a) = &c.sockaddr_ot {
                    m.serialize_entry("sockaddr_ot", &SockJson(a))?;
                }
                if let Some(a) = &c.sockaddr_to {
                    m.serialize_entry("sockaddr_to", &SockJson(a))?;
                }
                if let Some(cip) = &c.cip {
                    m.serialize_entry(
                        "cip",
                        &CipJson {
                            c: cip,
                            class: self.cip_class(),
                            request: self.request,
                        },
                    )?;
                }
            }
            Body::Io(io) => {
                m.serialize_entry("item_count", &io.item_count)?;
                m.serialize_entry("connection_id", &io.connection_id)?;
                m.serialize_entry("sequence_number", &io.sequence)?;
                m.serialize_entry("data_length", &io.data.len())?;
                m.serialize_entry("data", &Hex(io.data))?;
            }
        }
        if let Some(r) = self.request {
            m.serialize_entry("request", &RequestJson(r))?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_us", &(l as f64 / 1000.0))?;
        }
        m.end()
    }
}

struct SockJson<'a>(&'a SockAddr);

impl Serialize for SockJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("family", &a.family)?;
        m.serialize_entry("address", &std::net::Ipv4Addr::from(a.addr).to_string())?;
        m.serialize_entry("port", &a.port)?;
        m.end()
    }
}

struct IdentityJson<'a>(&'a IdentityItem<'a>);

impl Serialize for IdentityJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("encapsulation_version", &i.encapsulation_version)?;
        m.serialize_entry(
            "socket_address",
            &std::net::Ipv4Addr::from(i.socket.addr).to_string(),
        )?;
        m.serialize_entry("socket_port", &i.socket.port)?;
        m.serialize_entry("vendor_id", &i.vendor_id)?;
        if let Some(n) = wire::vendor_name(i.vendor_id) {
            m.serialize_entry("vendor_name", n)?;
        }
        m.serialize_entry("device_type", &i.device_type)?;
        if let Some(n) = wire::device_type_name(i.device_type) {
            m.serialize_entry("device_type_name", n)?;
        }
        m.serialize_entry("product_code", &i.product_code)?;
        m.serialize_entry(
            "revision",
            &format!("{}.{}", i.revision_major, i.revision_minor),
        )?;
        m.serialize_entry("status", &i.status)?;
        m.serialize_entry("serial_number", &format!("0x{:08x}", i.serial))?;
        m.serialize_entry("product_name", &String::from_utf8_lossy(i.product_name))?;
        if let Some(st) = i.state {
            m.serialize_entry("state", &st)?;
        }
        m.end()
    }
}

struct RequestJson<'a>(&'a RequestInfo);

impl Serialize for RequestJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("command", &r.command)?;
        if let Some(sv) = r.service {
            m.serialize_entry("service", &sv)?;
            m.serialize_entry("service_name", cip::service_name(sv, r.class))?;
        }
        if r.unconnected_send {
            m.serialize_entry("unconnected_send", &true)?;
        }
        if let Some(v) = r.class {
            m.serialize_entry("class", &v)?;
        }
        if let Some(v) = r.instance {
            m.serialize_entry("instance", &v)?;
        }
        if let Some(v) = r.attribute {
            m.serialize_entry("attribute", &v)?;
        }
        if let Some(sym) = r.symbol() {
            m.serialize_entry("symbol", &String::from_utf8_lossy(sym))?;
        }
        m.end()
    }
}

fn path_entries<M: SerializeMap>(m: &mut M, p: &Path<'_>) -> Result<(), M::Error> {
    if let Some(v) = p.class {
        m.serialize_entry("class", &v)?;
        m.serialize_entry("class_name", cip::class_name(v))?;
    }
    if let Some(v) = p.instance {
        m.serialize_entry("instance", &v)?;
    }
    if let Some(v) = p.attribute {
        m.serialize_entry("attribute", &v)?;
    }
    if let Some(v) = p.member {
        m.serialize_entry("member", &v)?;
    }
    if let Some(v) = p.connection_point {
        m.serialize_entry("connection_point", &v)?;
    }
    if let Some(t) = p.symbol_text() {
        m.serialize_entry("symbol", &t)?;
    }
    if let Some((port, link)) = p.port {
        m.serialize_entry("port", &port)?;
        m.serialize_entry("link_address", &Hex(link))?;
    }
    Ok(())
}

struct CipJson<'a> {
    c: &'a Cip<'a>,
    /// Class of the request (the reply's own path is empty).
    class: Option<u32>,
    request: Option<&'a RequestInfo>,
}

impl Serialize for CipJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.c;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("service", &c.service)?;
        m.serialize_entry("service_name", cip::service_name(c.service, self.class))?;
        m.serialize_entry("response", &c.is_response())?;
        path_entries(&mut m, &c.path)?;
        if !c.path.is_empty() {
            m.serialize_entry("path", &Hex(c.path.raw))?;
        }
        if let Some(st) = c.status {
            m.serialize_entry("status", &st)?;
            m.serialize_entry("status_name", cip::status_name(st))?;
        }
        if let Some(e) = c.extended_status() {
            m.serialize_entry("extended_status", &e)?;
        }
        if c.additional_status.len() > 2 {
            m.serialize_entry("additional_status", &Hex(c.additional_status))?;
        }
        m.serialize_entry("data_length", &c.data.len())?;
        let code = c.code();
        let cm = self.class == Some(cip::class::CONNECTION_MANAGER);
        if let Some(n) = c.services {
            m.serialize_entry("service_count", &n)?;
            m.serialize_entry("services", &Services(c.data))?;
        }
        if let Some(e) = c.embedded() {
            m.serialize_entry("embedded", &EmbeddedJson(&e))?;
        }
        if !c.is_response() {
            match code {
                cip::svc::FORWARD_OPEN | cip::svc::LARGE_FORWARD_OPEN if cm => {
                    if let Some(f) = cip::forward_open(c.data, code == cip::svc::LARGE_FORWARD_OPEN)
                    {
                        m.serialize_entry("forward_open", &ForwardOpenJson(&f))?;
                    }
                }
                cip::svc::FORWARD_CLOSE if cm => {
                    if let Some(f) = cip::forward_close(c.data) {
                        m.serialize_entry("forward_close", &TriadJson(&f))?;
                    }
                }
                cip::svc::READ_TAG
                | cip::svc::WRITE_TAG
                | cip::svc::UNCONNECTED_SEND
                | cip::svc::WRITE_TAG_FRAGMENTED
                    if matches!(self.class, None | Some(cip::class::SYMBOL)) =>
                {
                    if let Some(t) = cip::tag_args(code, c.data) {
                        tag_entries(&mut m, &t)?;
                    }
                }
                cip::svc::EXECUTE_PCCC if self.class == Some(cip::class::PCCC) => {
                    if let Some(p) = pccc::parse_request(c.data) {
                        m.serialize_entry("pccc", &PcccJson(&p, true))?;
                    }
                }
                _ => {}
            }
        } else {
            let req_svc = self.request.and_then(|r| r.service).map(|s| s & 0x7f);
            match code {
                cip::svc::FORWARD_OPEN | cip::svc::LARGE_FORWARD_OPEN
                    if cm || req_svc == Some(code) =>
                {
                    if c.status == Some(0) {
                        if let Some(r) = cip::forward_open_reply(c.data) {
                            m.serialize_entry("forward_open", &ForwardOpenReplyJson(&r))?;
                        }
                    } else if let Some(t) = cip::connection_triad(c.data) {
                        m.serialize_entry("forward_open", &TriadJson(&t))?;
                    }
                }
                cip::svc::FORWARD_CLOSE if cm => {
                    if let Some(t) = cip::connection_triad(c.data) {
                        m.serialize_entry("forward_close", &TriadJson(&t))?;
                    }
                }
                cip::svc::EXECUTE_PCCC if self.class == Some(cip::class::PCCC) => {
                    if let Some(p) = pccc::parse_reply(c.data) {
                        m.serialize_entry("pccc", &PcccJson(&p, false))?;
                    }
                }
                _ => {}
            }
        }
        m.end()
    }
}

fn tag_entries<M: SerializeMap>(m: &mut M, t: &cip::TagArgs) -> Result<(), M::Error> {
    if let Some(v) = t.data_type {
        m.serialize_entry("data_type", &v)?;
    }
    if let Some(v) = t.elements {
        m.serialize_entry("elements", &v)?;
    }
    if let Some(v) = t.offset {
        m.serialize_entry("offset", &v)?;
    }
    Ok(())
}

struct Services<'a>(&'a [u8]);

impl Serialize for Services<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for r in cip::multiple(self.0) {
            match r {
                Ok(c) => seq.serialize_element(&InnerJson(&c))?,
                Err(e) => seq.serialize_element(&ErrJson(e.code()))?,
            }
        }
        seq.end()
    }
}

struct InnerJson<'a>(&'a Cip<'a>);

impl Serialize for InnerJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("service", &c.service)?;
        m.serialize_entry("service_name", cip::service_name(c.service, c.path.class))?;
        path_entries(&mut m, &c.path)?;
        if let Some(st) = c.status {
            m.serialize_entry("status", &st)?;
            m.serialize_entry("status_name", cip::status_name(st))?;
        }
        if let Some(e) = c.extended_status() {
            m.serialize_entry("extended_status", &e)?;
        }
        if !c.is_response()
            && c.path.class.is_none()
            && let Some(t) = cip::tag_args(c.code(), c.data)
        {
            tag_entries(&mut m, &t)?;
        }
        m.end()
    }
}

struct EmbeddedJson<'a>(&'a cip::Embedded<'a>);

impl Serialize for EmbeddedJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("service", &e.service)?;
        m.serialize_entry("service_name", cip::service_name(e.service, e.path.class))?;
        path_entries(&mut m, &e.path)?;
        m.serialize_entry("data_length", &e.data.len())?;
        if let Some((port, link)) = e.route.port {
            m.serialize_entry("route_port", &port)?;
            m.serialize_entry("route_link", &Hex(link))?;
        }
        m.serialize_entry("priority_tick", &e.priority_tick)?;
        m.serialize_entry("timeout_ticks", &e.timeout_ticks)?;
        match e.service {
            cip::svc::EXECUTE_PCCC if e.path.class == Some(cip::class::PCCC) => {
                if let Some(p) = pccc::parse_request(e.data) {
                    m.serialize_entry("pccc", &PcccJson(&p, true))?;
                }
            }
            cip::svc::MULTIPLE_SERVICE_PACKET => {
                m.serialize_entry("services", &Services(e.data))?;
            }
            _ => {}
        }
        m.end()
    }
}

struct ForwardOpenJson<'a>(&'a cip::ForwardOpen<'a>);

impl Serialize for ForwardOpenJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("ot_connection_id", &f.ot_connection_id)?;
        m.serialize_entry("to_connection_id", &f.to_connection_id)?;
        m.serialize_entry("connection_serial", &f.connection_serial)?;
        m.serialize_entry("vendor_id", &f.vendor_id)?;
        m.serialize_entry("originator_serial", &f.originator_serial)?;
        m.serialize_entry("timeout_multiplier", &f.timeout_multiplier)?;
        m.serialize_entry("ot_rpi_us", &f.ot_rpi_us)?;
        m.serialize_entry("ot_params", &f.ot_params)?;
        m.serialize_entry("to_rpi_us", &f.to_rpi_us)?;
        m.serialize_entry("to_params", &f.to_params)?;
        m.serialize_entry("transport_class", &(f.transport & 0x0f))?;
        m.serialize_entry("transport_trigger", &f.transport)?;
        m.serialize_entry("connection_path", &Hex(f.connection_path))?;
        if let Ok(p) = Path::parse(f.connection_path, cip::svc::FORWARD_OPEN) {
            if let Some(v) = p.class {
                m.serialize_entry("class", &v)?;
            }
            if let Some(v) = p.instance {
                m.serialize_entry("instance", &v)?;
            }
            if let Some(v) = p.connection_point {
                m.serialize_entry("connection_point", &v)?;
            }
        }
        m.end()
    }
}

struct ForwardOpenReplyJson<'a>(&'a cip::ForwardOpenReply);

impl Serialize for ForwardOpenReplyJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("ot_connection_id", &f.ot_connection_id)?;
        m.serialize_entry("to_connection_id", &f.to_connection_id)?;
        m.serialize_entry("connection_serial", &f.connection_serial)?;
        m.serialize_entry("vendor_id", &f.vendor_id)?;
        m.serialize_entry("originator_serial", &f.originator_serial)?;
        m.serialize_entry("ot_api_us", &f.ot_api_us)?;
        m.serialize_entry("to_api_us", &f.to_api_us)?;
        m.end()
    }
}

struct TriadJson<'a>(&'a cip::ForwardClose);

impl Serialize for TriadJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("connection_serial", &f.connection_serial)?;
        m.serialize_entry("vendor_id", &f.vendor_id)?;
        m.serialize_entry("originator_serial", &f.originator_serial)?;
        m.end()
    }
}

struct PcccJson<'a>(&'a pccc::Pccc<'a>, bool);

impl Serialize for PcccJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("command", &p.command)?;
        m.serialize_entry("status", &p.status)?;
        m.serialize_entry("tns", &p.tns)?;
        if let Some(f) = p.function {
            m.serialize_entry("function", &f)?;
        }
        if self.1 {
            m.serialize_entry("function_name", pccc::function_name(p.command, p.function))?;
        }
        if let Some(e) = p.ext_status {
            m.serialize_entry("ext_status", &e)?;
        }
        m.serialize_entry("requestor_vendor_id", &p.vendor_id)?;
        m.serialize_entry("requestor_serial", &p.serial)?;
        m.serialize_entry("data_length", &p.data.len())?;
        m.end()
    }
}

struct ErrJson(&'static str);

impl Serialize for ErrJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("error", self.0)?;
        m.end()
    }
}
