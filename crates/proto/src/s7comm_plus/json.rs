//! NDJSON form of an S7comm-plus message (the `s7comm_plus` object).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire;
use crate::json::Hex;

struct IntegrityJson<'a>(wire::Integrity<'a>);

impl Serialize for IntegrityJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("digest_length", &self.0.digest_len)?;
        m.serialize_entry("digest", &Hex(self.0.digest))?;
        m.end()
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.frame;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &f.function)?;
        m.serialize_entry("version", &f.version)?;
        m.serialize_entry("version_name", wire::version_name(f.version))?;
        if let Some(l) = f.data_length {
            m.serialize_entry("data_length", &l)?;
        }
        if let Some(o) = f.opcode {
            m.serialize_entry("opcode", &o)?;
            m.serialize_entry("opcode_name", wire::opcode_name(o))?;
        }
        if f.sequence.is_some() {
            m.serialize_entry("function", &f.function)?;
            m.serialize_entry("function_name", wire::function_name(f.function))?;
        }
        if let Some(q) = f.sequence {
            m.serialize_entry("sequence", &q)?;
        }
        if let Some(id) = f.session_id {
            m.serialize_entry("session_id", &id)?;
        }
        if let Some(t) = f.transport_flags {
            m.serialize_entry("transport_flags", &t)?;
        }
        if let Some(id) = f.subscription_id {
            m.serialize_entry("subscription_id", &id)?;
        }
        if let Some(k) = f.keepalive_seq {
            m.serialize_entry("keepalive_seq", &k)?;
        }
        if let Some(i) = f.integrity {
            m.serialize_entry("integrity", &IntegrityJson(i))?;
        }
        if !f.has_trailer {
            m.serialize_entry("fragmented", &true)?;
        }
        m.end()
    }
}
