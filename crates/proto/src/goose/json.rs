//! NDJSON form of a GOOSE publication (the `goose` object of an event record).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::wire::{self, Value};
use crate::json::Hex;

/// Most `allData` entries written for one publication.
pub const MAX_ENTRIES: usize = 32;

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// The `allData` entries: `{type, value}` each.
pub(crate) struct Entries<'a>(pub &'a [u8]);

struct Entry<'a>(crate::ber::Tlv<'a>);

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", wire::data_type_name(self.0.tag))?;
        match wire::data_value(&self.0) {
            Value::Bool(b) => m.serialize_entry("value", &b)?,
            Value::Int(i) => m.serialize_entry("value", &i)?,
            Value::Uint(u) => m.serialize_entry("value", &u)?,
            Value::Float(f) => m.serialize_entry("value", &f)?,
            Value::Bits(u, b) => {
                m.serialize_entry("value", &Hex(b))?;
                m.serialize_entry("unused_bits", &u)?;
            }
            Value::Octets(b) | Value::Raw(b) => m.serialize_entry("value", &Hex(b))?,
            Value::Text(t) => m.serialize_entry("value", &lossy(t))?,
            Value::Time(t, q) => {
                m.serialize_entry("value", &t)?;
                m.serialize_entry("quality", &q)?;
            }
            Value::Elements(n) => m.serialize_entry("elements", &n)?,
        }
        m.end()
    }
}

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(None)?;
        for d in wire::data_entries(self.0).take(MAX_ENTRIES) {
            q.serialize_element(&Entry(d))?;
        }
        q.end()
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let g = &self.goose;
        let h = &g.header;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &0)?;
        m.serialize_entry("appid", &h.appid)?;
        m.serialize_entry("length", &h.length)?;
        m.serialize_entry("simulated", &h.simulated())?;
        m.serialize_entry("reserved1", &h.reserved1)?;
        m.serialize_entry("reserved2", &h.reserved2)?;
        m.serialize_entry("gocb_ref", &lossy(g.gocb_ref.unwrap_or_default()))?;
        m.serialize_entry("time_allowed_to_live", &g.time_allowed_to_live)?;
        m.serialize_entry("dat_set", &g.dat_set.map(lossy))?;
        m.serialize_entry("go_id", &g.go_id.map(lossy))?;
        match g.t.and_then(wire::utc_time) {
            Some((t, q)) => {
                m.serialize_entry("t", &t)?;
                m.serialize_entry("t_quality", &q)?;
            }
            None => m.serialize_entry("t", &None::<f64>)?,
        }
        m.serialize_entry("st_num", &g.st_num)?;
        m.serialize_entry("sq_num", &g.sq_num)?;
        m.serialize_entry("test", &g.test.unwrap_or(false))?;
        m.serialize_entry("conf_rev", &g.conf_rev)?;
        m.serialize_entry("nds_com", &g.nds_com)?;
        m.serialize_entry("num_dat_set_entries", &g.num_dat_set_entries)?;
        m.serialize_entry("data_count", &g.all_data_count)?;
        if let Some(d) = g.all_data {
            m.serialize_entry("data", &Entries(d))?;
        }
        if g.unknown_fields > 0 {
            m.serialize_entry("unknown_fields", &g.unknown_fields)?;
        }
        m.end()
    }
}
