//! NDJSON form of an SRTP message (the `srtp` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{segment_name, service_name};
use crate::json::Hex;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.frame;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("packet_type", &f.packet_type)?;
        m.serialize_entry("sequence", &f.sequence)?;
        m.serialize_entry("message_type", &f.message_type)?;
        m.serialize_entry("data_length", &f.data_length)?;
        if let Some(sv) = self.service() {
            m.serialize_entry("service", &sv)?;
            m.serialize_entry("service_name", service_name(sv))?;
        }
        if let Some(sg) = f.segment.or(self.request.map(|r| r.segment)) {
            m.serialize_entry("segment_selector", &sg)?;
            m.serialize_entry("memory", segment_name(sg))?;
        }
        if let Some(a) = f.address.or(self.request.map(|r| r.address)) {
            m.serialize_entry("address", &a)?;
        }
        if let Some(l) = f.length {
            m.serialize_entry("length", &l)?;
        }
        if let Some((major, minor)) = f.status {
            m.serialize_entry("status", &major)?;
            m.serialize_entry("minor_status", &minor)?;
        }
        if !f.data.is_empty() {
            m.serialize_entry("data", &Hex(&f.data[..f.data.len().min(64)]))?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_us", &(l as f64 / 1000.0))?;
        }
        m.end()
    }
}
