//! NDJSON form of a FINS message (the `fins` object of a record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::names::{command_name, end_code_name, memory_area_name};
use super::wire::tcp_command_name;

fn text(b: &[u8]) -> Option<String> {
    crate::ident::text(b).map(|s| s.into_owned())
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(t) = &self.tcp {
            m.serialize_entry("tcp_command", &t.command)?;
            m.serialize_entry("tcp_command_name", tcp_command_name(t.command))?;
            m.serialize_entry("tcp_error_code", &t.error_code)?;
            if let Some(n) = t.client_node {
                m.serialize_entry("client_node", &n)?;
            }
            if let Some(n) = t.server_node {
                m.serialize_entry("server_node", &n)?;
            }
        }
        m.serialize_entry("function_code", &self.code())?;
        m.serialize_entry("command", &self.code())?;
        let Some(f) = &self.frame else {
            m.serialize_entry("command_name", "FINS/TCP")?;
            return m.end();
        };
        let h = &f.header;
        m.serialize_entry("command_name", command_name(f.command()))?;
        m.serialize_entry("icf", &h.icf)?;
        m.serialize_entry("response", &h.is_response())?;
        m.serialize_entry("gateway", &h.gateway())?;
        m.serialize_entry("response_required", &!h.no_response())?;
        m.serialize_entry("gct", &h.gct)?;
        m.serialize_entry("dna", &h.dna)?;
        m.serialize_entry("da1", &h.da1)?;
        m.serialize_entry("da2", &h.da2)?;
        m.serialize_entry("sna", &h.sna)?;
        m.serialize_entry("sa1", &h.sa1)?;
        m.serialize_entry("sa2", &h.sa2)?;
        m.serialize_entry("sid", &h.sid)?;
        if let Some(e) = f.end_code {
            m.serialize_entry("end_code", &e)?;
            m.serialize_entry("end_code_name", end_code_name(e & 0x7f3f))?;
            m.serialize_entry("relay_error", &(e & 0x8000 != 0))?;
            m.serialize_entry("fatal_cpu_error", &(e & 0x0080 != 0))?;
            m.serialize_entry("non_fatal_cpu_error", &(e & 0x0040 != 0))?;
        }
        let d = &f.detail();
        if let Some(a) = d.memory_area {
            m.serialize_entry("memory_area", &a)?;
            m.serialize_entry("memory_area_name", memory_area_name(a))?;
        }
        if let Some(x) = d.address {
            m.serialize_entry("address", &x)?;
        }
        if let Some(x) = d.bit {
            m.serialize_entry("bit", &x)?;
        }
        if let Some(x) = d.count {
            m.serialize_entry("count", &x)?;
        }
        if let Some(x) = d.items {
            m.serialize_entry("items", &x)?;
        }
        if let Some(x) = d.dest_area {
            m.serialize_entry("dest_memory_area", &x)?;
        }
        if let Some(x) = d.dest_address {
            m.serialize_entry("dest_address", &x)?;
        }
        if let Some(x) = d.parameter_area {
            m.serialize_entry("parameter_area", &x)?;
        }
        if let Some(x) = d.program_number {
            m.serialize_entry("program_number", &x)?;
        }
        if let Some(x) = d.mode {
            m.serialize_entry("mode", &x)?;
        }
        if let Some(x) = d.error_code {
            m.serialize_entry(
                if f.command() == 0x2102 {
                    "first_record"
                } else {
                    "error_code"
                },
                &x,
            )?;
        }
        if let Some(x) = d.records {
            m.serialize_entry("records", &x)?;
        }
        if let Some(x) = d.disk {
            m.serialize_entry("disk", &x)?;
        }
        if let Some(x) = d.file_name.and_then(text) {
            m.serialize_entry("file_name", &x)?;
        }
        if let Some(x) = d.bits {
            m.serialize_entry("bits", &x)?;
        }
        if let Some(x) = d.data_len {
            m.serialize_entry("data_len", &x)?;
        }
        if let Some(x) = d.model.and_then(text) {
            m.serialize_entry("model", &x)?;
        }
        if let Some(x) = d.version.and_then(text) {
            m.serialize_entry("version", &x)?;
        }
        if let Some(x) = d.status {
            m.serialize_entry("status", &x)?;
        }
        if let Some(x) = d.run_mode {
            m.serialize_entry("run_mode", &x)?;
        }
        if let Some(r) = &self.request {
            m.serialize_entry("request_sid", &r.sid)?;
            if let Some(a) = r.memory_area {
                m.serialize_entry("request_memory_area", &a)?;
            }
            if let Some(a) = r.address {
                m.serialize_entry("request_address", &a)?;
            }
            if let Some(c) = r.count {
                m.serialize_entry("request_count", &c)?;
            }
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_ns", &l)?;
        }
        m.end()
    }
}
