//! NDJSON form of a DHCP message (the `dhcp` object).

use std::net::Ipv4Addr;

use otwatch_core::MacAddr;
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{fqdn_text, msg_type_name};
use crate::json::Hex;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.dhcp;
        let ip = |a: [u8; 4]| Ipv4Addr::from(a);
        let txt = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("op", &d.op)?;
        m.serialize_entry("msg_type", &d.msg_type)?;
        m.serialize_entry("msg_type_name", msg_type_name(d.msg_type))?;
        m.serialize_entry("xid", &d.xid)?;
        match d.client_mac() {
            Some(mac) => m.serialize_entry("client_mac", &MacAddr(mac))?,
            None => m.serialize_entry("client_hw", &Hex(&d.chaddr[..d.hlen.min(16) as usize]))?,
        }
        m.serialize_entry("ciaddr", &ip(d.ciaddr))?;
        m.serialize_entry("assigned_ip", &ip(d.yiaddr))?;
        m.serialize_entry("siaddr", &ip(d.siaddr))?;
        m.serialize_entry("giaddr", &ip(d.giaddr))?;
        if let Some(h) = d.hostname {
            m.serialize_entry("hostname", &txt(h))?;
        }
        if let Some(f) = d.fqdn {
            m.serialize_entry("fqdn", &fqdn_text(d.fqdn_flags, f))?;
        }
        if let Some(v) = d.vendor_class {
            m.serialize_entry("vendor_class", &txt(v))?;
        }
        if let Some(v) = d.client_id {
            m.serialize_entry("client_id", &Hex(v))?;
        }
        if let Some(a) = d.requested_ip {
            m.serialize_entry("requested_ip", &ip(a))?;
        }
        if let Some(a) = d.server_id {
            m.serialize_entry("server_id", &ip(a))?;
        }
        if let Some(t) = d.lease_time {
            m.serialize_entry("lease_time", &t)?;
        }
        if let Some(p) = d.params {
            m.serialize_entry("params", p)?;
        }
        if let Some(a) = d.subnet_mask {
            m.serialize_entry("subnet_mask", &ip(a))?;
        }
        if let Some(a) = d.router {
            m.serialize_entry("router", &ip(a))?;
        }
        if let Some(v) = d.dns_servers {
            let l: Vec<Ipv4Addr> = v
                .chunks_exact(4)
                .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                .collect();
            m.serialize_entry("dns_servers", &l)?;
        }
        if let Some(l) = d.vendor_specific_len {
            m.serialize_entry("vendor_specific_len", &l)?;
        }
        m.end()
    }
}
