//! NDJSON form of an SNMP message (the `snmp` object).

use std::net::Ipv4Addr;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::wire::{Snmp, pdu_name, value_type};
use crate::ber::{Class, oid_to_string};
use crate::json::Hex;

/// Variable bindings written per record.
pub const MAX_JSON_VARBINDS: usize = 32;

struct VarBinds<'a>(&'a Snmp<'a>);

#[derive(serde::Serialize)]
struct Vb {
    oid: String,
    r#type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<serde_value::V>,
}

mod serde_value {
    #[derive(serde::Serialize)]
    #[serde(untagged)]
    pub enum V {
        I(i64),
        U(u64),
        S(String),
    }
}

impl Serialize for VarBinds<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde_value::V;
        let mut seq = s.serialize_seq(None)?;
        for vb in self.0.varbinds().take(MAX_JSON_VARBINDS) {
            let t = vb.value;
            let v = t.value;
            let value = match (t.class, t.tag) {
                (Class::Universal, 2) => t.int().map(V::I),
                (Class::Universal, 4) => Some(V::S(
                    if v.iter().all(|c| {
                        c.is_ascii_graphic()
                            || *c == b' '
                            || *c == b'\r'
                            || *c == b'\n'
                            || *c == b'\t'
                    }) {
                        String::from_utf8_lossy(&v[..v.len().min(256)]).into_owned()
                    } else {
                        let mut h = String::new();
                        for b in v.iter().take(128) {
                            h.push_str(&format!("{b:02x}"));
                        }
                        h
                    },
                )),
                (Class::Universal, 6) => oid_to_string(v).map(V::S),
                (Class::Application, 0) if v.len() == 4 => {
                    Some(V::S(Ipv4Addr::new(v[0], v[1], v[2], v[3]).to_string()))
                }
                (Class::Application, 1 | 2 | 3 | 6) => t.uint().map(V::U),
                _ => None,
            };
            seq.serialize_element(&Vb {
                oid: oid_to_string(vb.oid).unwrap_or_default(),
                r#type: value_type(&t),
                value,
            })?;
        }
        seq.end()
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &self.snmp;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("version", &p.version)?;
        if p.version != 3 {
            m.serialize_entry("community", &String::from_utf8_lossy(p.community))?;
        } else {
            m.serialize_entry("msg_id", &p.msg_id)?;
            m.serialize_entry("msg_flags", &p.msg_flags)?;
            m.serialize_entry("security_model", &p.security_model)?;
            m.serialize_entry("user", &String::from_utf8_lossy(p.user))?;
            m.serialize_entry("engine_id", &Hex(p.engine_id))?;
        }
        m.serialize_entry("pdu_type", &p.pdu_type)?;
        m.serialize_entry("pdu_name", pdu_name(p.pdu_type))?;
        if p.pdu_type == super::wire::ENCRYPTED {
            return m.end();
        }
        if p.pdu_type == 4 {
            m.serialize_entry("enterprise", &oid_to_string(p.enterprise))?;
            if let Some(a) = p.agent_addr {
                m.serialize_entry("agent_addr", &Ipv4Addr::from(a))?;
            }
            m.serialize_entry("generic_trap", &p.generic_trap)?;
            m.serialize_entry("specific_trap", &p.specific_trap)?;
        } else {
            m.serialize_entry("request_id", &p.request_id)?;
            if p.pdu_type == 5 {
                m.serialize_entry("non_repeaters", &p.error_status)?;
                m.serialize_entry("max_repetitions", &p.error_index)?;
            } else {
                m.serialize_entry("error_status", &p.error_status)?;
                m.serialize_entry("error_index", &p.error_index)?;
            }
        }
        m.serialize_entry("varbind_count", &p.varbind_count)?;
        m.serialize_entry("varbinds", &VarBinds(p))?;
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_ns", &l)?;
        }
        m.end()
    }
}
