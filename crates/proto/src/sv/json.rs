//! NDJSON form of a Sampled Values ASDU (the `sv` object of an event record).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::wire;
use crate::json::Hex;

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// Names of the 9-2LE dataset members.
const LE_NAMES: [&str; 8] = ["ia", "ib", "ic", "in", "va", "vb", "vc", "vn"];

struct LeValues([(i32, u32); 8]);

impl Serialize for LeValues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(Some(8))?;
        for (i, (v, qual)) in self.0.iter().enumerate() {
            q.serialize_element(&LeValue(LE_NAMES[i], *v, *qual))?;
        }
        q.end()
    }
}

struct LeValue(&'static str, i32, u32);

impl Serialize for LeValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("name", self.0)?;
        m.serialize_entry("value", &self.1)?;
        m.serialize_entry("quality", &self.2)?;
        m.end()
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = &self.asdu;
        let h = &self.header;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &0)?;
        m.serialize_entry("appid", &h.appid)?;
        m.serialize_entry("length", &h.length)?;
        m.serialize_entry("simulated", &h.simulated())?;
        m.serialize_entry("no_asdu", &self.no_asdu)?;
        m.serialize_entry("asdu_index", &self.index)?;
        m.serialize_entry("sv_id", &lossy(a.sv_id.unwrap_or_default()))?;
        if let Some(d) = a.dat_set {
            m.serialize_entry("dat_set", &lossy(d))?;
        }
        m.serialize_entry("smp_cnt", &a.smp_cnt)?;
        m.serialize_entry("conf_rev", &a.conf_rev)?;
        if let Some(t) = a.refr_tm {
            match crate::goose::wire::utc_time(t) {
                Some((t, _)) => m.serialize_entry("refr_tm", &t)?,
                None => m.serialize_entry("refr_tm", &Hex(t))?,
            }
        }
        m.serialize_entry("smp_synch", &a.smp_synch)?;
        if let Some(r) = a.smp_rate {
            m.serialize_entry("smp_rate", &r)?;
        }
        if let Some(r) = a.smp_mod {
            m.serialize_entry("smp_mod", &r)?;
        }
        if let Some(d) = a.seq_data {
            m.serialize_entry("seq_data_len", &d.len())?;
            if let Some(v) = wire::le_values(d) {
                m.serialize_entry("values", &LeValues(v))?;
            }
        }
        m.end()
    }
}
