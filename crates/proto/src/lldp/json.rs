//! NDJSON form of an LLDPDU (the `lldp` object).

use otwatch_core::MacAddr;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::wire::{Tlvs, caps_text, org_name};
use super::{Message, mgmt_ip};
use crate::json::Hex;

/// An id by subtype: MAC (chassis 4 / port 3), network address, or text.
struct Id<'a>(u8, &'a [u8], bool);

impl Serialize for Id<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mac_sub = if self.2 { 4 } else { 3 };
        let v = self.1;
        if self.0 == mac_sub && v.len() == 6 {
            let mut m = [0u8; 6];
            m.copy_from_slice(v);
            return MacAddr(m).serialize(s);
        }
        if self.0 == if self.2 { 5 } else { 4 } && v.len() == 5 && v[0] == 1 {
            return std::net::Ipv4Addr::new(v[1], v[2], v[3], v[4]).serialize(s);
        }
        if v.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            s.serialize_str(&String::from_utf8_lossy(v))
        } else {
            Hex(v).serialize(s)
        }
    }
}

#[derive(serde::Serialize)]
struct Org {
    oui: String,
    subtype: u8,
    name: &'static str,
    len: usize,
}

struct Orgs<'a>(&'a [u8]);

impl Serialize for Orgs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for (t, v) in Tlvs::new(self.0).flatten().take(32) {
            if let (127, [a, b, c, sub, ..]) = (t, v) {
                seq.serialize_element(&Org {
                    oui: format!("{a:02x}:{b:02x}:{c:02x}"),
                    subtype: *sub,
                    name: org_name([*a, *b, *c], *sub),
                    len: v.len() - 4,
                })?;
            }
        }
        seq.end()
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let l = &self.lldp;
        let txt = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("chassis_id_subtype", &l.chassis_subtype)?;
        m.serialize_entry("chassis_id", &Id(l.chassis_subtype, l.chassis_id, true))?;
        m.serialize_entry("port_id_subtype", &l.port_subtype)?;
        m.serialize_entry("port_id", &Id(l.port_subtype, l.port_id, false))?;
        m.serialize_entry("ttl", &l.ttl)?;
        if let Some(v) = l.port_desc {
            m.serialize_entry("port_description", &txt(v))?;
        }
        if let Some(v) = l.sys_name {
            m.serialize_entry("system_name", &txt(v))?;
        }
        if let Some(v) = l.sys_desc {
            m.serialize_entry("system_description", &txt(v))?;
        }
        if l.caps_supported != 0 || l.caps_enabled != 0 {
            m.serialize_entry("capabilities_supported", &caps_text(l.caps_supported))?;
            m.serialize_entry("capabilities_enabled", &caps_text(l.caps_enabled))?;
        }
        if let Some((fam, a)) = l.mgmt_addr {
            match mgmt_ip(l) {
                Some(ip) => m.serialize_entry("management_address", &ip)?,
                None => m.serialize_entry("management_address", &Hex(a))?,
            }
            m.serialize_entry("management_address_family", &fam)?;
            m.serialize_entry("management_interface", &l.mgmt_if)?;
        }
        if l.org_count > 0 {
            m.serialize_entry("org_specific", &Orgs(l.tlvs))?;
        }
        m.serialize_entry("tlv_count", &l.tlv_count)?;
        m.end()
    }
}
