//! NDJSON form of an NBNS message (the `nbns` object).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{Message, opcode_name, unit_mac};
use crate::dns::wire::{rcode_name, type_name};

#[derive(serde::Serialize)]
struct Entry {
    name: String,
    suffix: u8,
    group: bool,
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = self.msg.header;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("id", &h.id)?;
        m.serialize_entry("opcode", &self.opcode())?;
        m.serialize_entry("opcode_name", opcode_name(self.opcode()))?;
        m.serialize_entry("response", &h.response())?;
        m.serialize_entry("rcode", &h.rcode())?;
        m.serialize_entry("rcode_name", rcode_name(h.rcode()))?;
        m.serialize_entry("broadcast", &(h.flags & 0x0010 != 0))?;
        match self.nb_name() {
            Some(n) => {
                m.serialize_entry("name", &String::from_utf8_lossy(n.trimmed()))?;
                m.serialize_entry("suffix", &n.suffix)?;
            }
            None => {
                if let Some(n) = self.name() {
                    m.serialize_entry("name", &n.to_dotted())?;
                }
            }
        }
        if let Some(q) = self.msg.question {
            m.serialize_entry("qtype", &q.qtype)?;
            m.serialize_entry(
                "qtype_name",
                match q.qtype {
                    0x20 => "NB",
                    0x21 => "NBSTAT",
                    t => type_name(t),
                },
            )?;
        }
        let a: Vec<_> = self.addresses().collect();
        m.serialize_entry("addresses", &a)?;
        if let Some(ns) = self.node_status() {
            let e: Vec<Entry> = ns
                .entries()
                .map(|(n, suffix, group)| Entry {
                    name: String::from_utf8_lossy(n).into_owned(),
                    suffix,
                    group,
                })
                .collect();
            m.serialize_entry("node_names", &e)?;
            if let Some(mac) = unit_mac(self) {
                m.serialize_entry("unit_id", &mac)?;
            }
        }
        m.end()
    }
}
