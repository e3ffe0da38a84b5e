//! NDJSON form of an ICMP message (the `icmp` object).

use otwatch_core::MacAddr;
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{Message, Orig, type_name};

impl Serialize for Orig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("proto", &self.proto)?;
        m.serialize_entry("src", &self.src)?;
        m.serialize_entry("dst", &self.dst)?;
        if let Some(p) = self.sport {
            m.serialize_entry("sport", &p)?;
        }
        if let Some(p) = self.dport {
            m.serialize_entry("dport", &p)?;
        }
        m.end()
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("version", &self.version)?;
        m.serialize_entry("type", &self.icmp_type)?;
        m.serialize_entry("code", &self.code)?;
        m.serialize_entry("type_name", type_name(self.version, self.icmp_type))?;
        if let Some(v) = self.id {
            m.serialize_entry("id", &v)?;
        }
        if let Some(v) = self.seq {
            m.serialize_entry("seq", &v)?;
        }
        if let Some(o) = &self.orig {
            m.serialize_entry("orig", o)?;
        }
        if let Some(t) = self.target {
            m.serialize_entry("target", &t)?;
        }
        if let Some(l) = self.lladdr {
            m.serialize_entry("lladdr", &MacAddr(l))?;
        }
        m.serialize_entry("payload_len", &self.body.len())?;
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_ns", &l)?;
        }
        m.end()
    }
}
