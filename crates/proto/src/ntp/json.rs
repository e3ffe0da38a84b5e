//! NDJSON form of an NTP packet (the `ntp` object).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{Message, mode_name};

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("version", &self.version)?;
        m.serialize_entry("mode", &self.mode)?;
        m.serialize_entry("mode_name", mode_name(self.mode))?;
        if let Some(c) = self.control {
            m.serialize_entry("response", &c.response)?;
            if self.mode == 7 {
                m.serialize_entry("request_code", &c.code)?;
                m.serialize_entry("implementation", &c.implementation)?;
                m.serialize_entry("monlist", &self.is_monlist())?;
            } else {
                m.serialize_entry("opcode", &c.code)?;
            }
            m.serialize_entry("sequence", &c.sequence)?;
            m.serialize_entry("status", &c.status)?;
            m.serialize_entry("data_len", &self.rest.len())?;
            return m.end();
        }
        m.serialize_entry("leap", &self.li)?;
        m.serialize_entry("stratum", &self.stratum)?;
        m.serialize_entry("poll", &self.poll)?;
        m.serialize_entry("precision", &self.precision)?;
        m.serialize_entry("root_delay", &self.root_delay)?;
        m.serialize_entry("root_dispersion", &self.root_dispersion)?;
        // Stratum 0/1: a 4-character source code; above: an IPv4 address.
        let r = self.ref_id;
        if self.stratum <= 1 {
            let t: String = r
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| if c.is_ascii_graphic() { c as char } else { '.' })
                .collect();
            m.serialize_entry("reference_id", &t)?;
        } else {
            m.serialize_entry("reference_id", &std::net::Ipv4Addr::from(r))?;
        }
        m.serialize_entry("ref_ts", &self.ref_ts)?;
        m.serialize_entry("orig_ts", &self.orig_ts)?;
        m.serialize_entry("recv_ts", &self.recv_ts)?;
        m.serialize_entry("xmit_ts", &self.xmit_ts)?;
        m.end()
    }
}
