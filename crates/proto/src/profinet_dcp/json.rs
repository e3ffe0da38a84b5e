//! NDJSON form of a DCP frame (the `profinet_dcp` object of an event record).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::wire::{Blocks, block_name, service_name, service_type_name};
use crate::protocols::ProtoMessage;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let f = &self.frame;
        let x = &f.facts;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("function_code", &ProtoMessage::function_code(self))?;
        m.serialize_entry("frame_id", &f.frame_id)?;
        m.serialize_entry("service_id", &f.service_id)?;
        m.serialize_entry("service", service_name(f.service_id))?;
        m.serialize_entry("service_type", &f.service_type)?;
        m.serialize_entry("service_type_name", service_type_name(f.service_type))?;
        m.serialize_entry("xid", &f.xid)?;
        if f.frame_id == super::wire::IDENTIFY_REQ {
            m.serialize_entry("response_delay", &f.response_delay)?;
        }
        if let Some(v) = x.name_of_station {
            m.serialize_entry("name_of_station", &s(v))?;
        }
        if let Some(v) = x.type_of_station {
            m.serialize_entry("type_of_station", &s(v))?;
        }
        if let Some(v) = x.ip {
            m.serialize_entry("ip", &v)?;
        }
        if let Some(v) = x.netmask {
            m.serialize_entry("netmask", &v)?;
        }
        if let Some(v) = x.gateway {
            m.serialize_entry("gateway", &v)?;
        }
        if let Some(v) = x.vendor_id {
            m.serialize_entry("vendor_id", &v)?;
        }
        if let Some(v) = x.device_id {
            m.serialize_entry("device_id", &v)?;
        }
        if let Some(v) = x.role {
            m.serialize_entry("device_role", &v)?;
        }
        if let Some(v) = x.control {
            m.serialize_entry("control", block_name(5, v))?;
        }
        m.serialize_entry("blocks", &BlocksJson(self))?;
        m.end()
    }
}

struct BlocksJson<'a>(&'a Message<'a>);

impl Serialize for BlocksJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut q = ser.serialize_seq(None)?;
        for b in Blocks::new(&self.0.frame).flatten() {
            q.serialize_element(block_name(b.option, b.suboption))?;
        }
        q.end()
    }
}
