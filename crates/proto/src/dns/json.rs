//! NDJSON form of a DNS-format message (the `dns`, `mdns` or `llmnr` object).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::wire::{Msg, rcode_name, rdata_text, type_name};

/// Answers written per record.
pub const MAX_JSON_ANSWERS: usize = 16;

#[derive(serde::Serialize)]
struct Answer {
    name: String,
    r#type: &'static str,
    type_code: u16,
    ttl: u32,
    data: String,
}

struct Answers<'a>(Msg<'a>);

impl Serialize for Answers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for (_, r) in self
            .0
            .records()
            .filter(|(sec, _)| *sec == 1)
            .take(MAX_JSON_ANSWERS)
        {
            seq.serialize_element(&Answer {
                name: r.name.to_dotted(),
                r#type: type_name(r.rtype),
                type_code: r.rtype,
                ttl: r.ttl,
                data: rdata_text(self.0.buf, &r),
            })?;
        }
        seq.end()
    }
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
        m.serialize_entry("response", &h.response())?;
        m.serialize_entry("opcode", &h.opcode())?;
        // The type of the first question (0 without one): the function code.
        m.serialize_entry("qtype", &self.qtype())?;
        m.serialize_entry("qtype_name", type_name(self.qtype()))?;
        if let Some(q) = self.msg.question {
            m.serialize_entry("query", &q.name.to_dotted())?;
            // mDNS uses the top bit of the class as "unicast response wanted".
            m.serialize_entry("qclass", &q.qclass)?;
        }
        m.serialize_entry("rcode", &h.rcode())?;
        m.serialize_entry("rcode_name", rcode_name(h.rcode()))?;
        m.serialize_entry("aa", &h.aa())?;
        m.serialize_entry("tc", &h.tc())?;
        m.serialize_entry("rd", &h.rd())?;
        m.serialize_entry("ra", &h.ra())?;
        m.serialize_entry("qdcount", &h.qdcount)?;
        m.serialize_entry("ancount", &h.ancount)?;
        m.serialize_entry("nscount", &h.nscount)?;
        m.serialize_entry("arcount", &h.arcount)?;
        if h.ancount > 0 {
            m.serialize_entry("answers", &Answers(self.msg))?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_ns", &l)?;
        }
        m.end()
    }
}
