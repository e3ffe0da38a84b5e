//! NDJSON form of a DNP3 message (the `dnp3` object of an event record).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::wire::{
    ObjectHeader, ObjectHeaders, function_name, iin_flags, link_function_name, prefix_name,
    range_name,
};

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &self.function_code)?;
        m.serialize_entry("function", function_name(self.function_code))?;
        m.serialize_entry("src_addr", &self.src_addr)?;
        m.serialize_entry("dst_addr", &self.dst_addr)?;
        m.serialize_entry("link_function", &self.link_function())?;
        m.serialize_entry(
            "link_function_name",
            link_function_name(self.link_prm(), self.link_function()),
        )?;
        m.serialize_entry("link_dir", &self.link_dir())?;
        m.serialize_entry("link_prm", &self.link_prm())?;
        m.serialize_entry("transport_seq", &self.transport_seq)?;
        m.serialize_entry("segments", &self.segments)?;
        let c = self.app_control;
        m.serialize_entry("app_seq", &c.seq())?;
        m.serialize_entry("fir", &c.fir())?;
        m.serialize_entry("fin", &c.fin())?;
        m.serialize_entry("con", &c.con())?;
        m.serialize_entry("uns", &c.uns())?;
        if let Some(iin) = self.iin {
            m.serialize_entry("iin", &iin)?;
            m.serialize_entry("iin_flags", &IinJson(iin))?;
        }
        m.serialize_entry("objects", &ObjectsJson(self.object_headers()))?;
        m.serialize_entry("objects_complete", &self.objects_complete)?;
        if let Some(r) = self.request {
            m.serialize_entry("request_function_code", &r.function_code)?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_us", &(l as f64 / 1000.0))?;
        }
        m.end()
    }
}

struct IinJson(u16);

impl Serialize for IinJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(None)?;
        for f in iin_flags(self.0) {
            q.serialize_element(f)?;
        }
        q.end()
    }
}

struct ObjectsJson<'a>(ObjectHeaders<'a>);

impl Serialize for ObjectsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(None)?;
        for h in self.0.clone() {
            q.serialize_element(&ObjectJson(h))?;
        }
        q.end()
    }
}

struct ObjectJson<'a>(ObjectHeader<'a>);

impl Serialize for ObjectJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("group", &h.group)?;
        m.serialize_entry("variation", &h.variation)?;
        m.serialize_entry("qualifier", &h.qualifier)?;
        m.serialize_entry("prefix", prefix_name(h.prefix_code))?;
        m.serialize_entry("range", range_name(h.range_code))?;
        if let Some(v) = h.start {
            m.serialize_entry("start", &v)?;
        }
        if let Some(v) = h.stop {
            m.serialize_entry("stop", &v)?;
        }
        m.serialize_entry("count", &h.count)?;
        m.end()
    }
}
