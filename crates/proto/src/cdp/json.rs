//! NDJSON form of a CDP packet (the `cdp` object).

use std::net::IpAddr;

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{addresses, caps_text};

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = &self.cdp;
        let txt = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("version", &c.version)?;
        m.serialize_entry("ttl", &c.ttl)?;
        m.serialize_entry("checksum", &c.checksum)?;
        if let Some(v) = c.device_id {
            m.serialize_entry("device_id", &txt(v))?;
        }
        if let Some(v) = c.addresses {
            let a: Vec<IpAddr> = addresses(v, 16).collect();
            m.serialize_entry("addresses", &a)?;
        }
        if let Some(v) = c.mgmt_addresses {
            let a: Vec<IpAddr> = addresses(v, 16).collect();
            m.serialize_entry("management_addresses", &a)?;
        }
        if let Some(v) = c.port_id {
            m.serialize_entry("port_id", &txt(v))?;
        }
        if let Some(v) = c.capabilities {
            m.serialize_entry("capabilities", &caps_text(v))?;
        }
        if let Some(v) = c.software {
            m.serialize_entry("software_version", &txt(&v[..v.len().min(512)]))?;
        }
        if let Some(v) = c.platform {
            m.serialize_entry("platform", &txt(v))?;
        }
        if let Some(v) = c.vtp_domain {
            m.serialize_entry("vtp_domain", &txt(v))?;
        }
        if let Some(v) = c.native_vlan {
            m.serialize_entry("native_vlan", &v)?;
        }
        if let Some(v) = c.duplex {
            m.serialize_entry("duplex", if v == 1 { "full" } else { "half" })?;
        }
        m.serialize_entry("tlv_count", &c.tlv_count)?;
        m.end()
    }
}
