//! NDJSON form of a DHCPv6 message (the `dhcpv6` object).

use std::net::Ipv6Addr;

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{Message, fqdn_text, ia_ip, msg_type_name};
use crate::json::Hex;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("msg_type", &self.msg_type)?;
        m.serialize_entry("msg_type_name", msg_type_name(self.msg_type))?;
        m.serialize_entry("xid", &self.xid)?;
        if let Some(v) = self.client_id {
            m.serialize_entry("client_duid", &Hex(v))?;
        }
        if let Some(v) = self.server_id {
            m.serialize_entry("server_duid", &Hex(v))?;
        }
        if let Some(v) = self.fqdn {
            m.serialize_entry("fqdn", &fqdn_text(v))?;
        }
        if let Some(e) = self.vendor_enterprise {
            m.serialize_entry("vendor_enterprise", &e)?;
        }
        if let Some(v) = self.vendor_class {
            m.serialize_entry("vendor_class", &String::from_utf8_lossy(v))?;
        }
        if let Some(ip) = ia_ip(self) {
            m.serialize_entry("ia_na_address", &ip)?;
        }
        if let Some(v) = self.oro {
            let codes: Vec<u16> = v
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            m.serialize_entry("oro", &codes)?;
        }
        if let Some(a) = self.link_addr {
            m.serialize_entry("link_address", &Ipv6Addr::from(a))?;
        }
        if let Some(a) = self.peer_addr {
            m.serialize_entry("peer_address", &Ipv6Addr::from(a))?;
        }
        m.end()
    }
}
