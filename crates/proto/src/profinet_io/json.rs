//! NDJSON form of a PNIO RPC (the `profinet_io` object of an event record).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::wire::{block_name, block_types, control_name, op_name, packet_type_name};
use crate::protocols::ProtoMessage;

fn uuid(u: &[u8; 16]) -> String {
    let h = |r: std::ops::Range<usize>| u[r].iter().map(|b| format!("{b:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        h(0..4),
        h(4..6),
        h(6..8),
        h(8..10),
        h(10..16)
    )
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let r = &self.rpc;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("function_code", &ProtoMessage::function_code(self))?;
        m.serialize_entry("packet_type", packet_type_name(r.packet_type))?;
        m.serialize_entry("interface", self.interface)?;
        m.serialize_entry("opnum", &r.opnum)?;
        m.serialize_entry("op_name", op_name(r.opnum))?;
        m.serialize_entry("activity", &uuid(&r.activity))?;
        m.serialize_entry("seq", &r.seq)?;
        m.serialize_entry("body_len", &r.body_len)?;
        if r.fragment != 0 {
            m.serialize_entry("fragment", &r.fragment)?;
        }
        if let Some(p) = self.pnio {
            if let Some(s) = p.status {
                m.serialize_entry("status", &format!("0x{s:08x}"))?;
            }
            if let Some(v) = p.ar_type {
                m.serialize_entry("ar_type", &v)?;
            }
            if let Some(v) = p.ar_uuid {
                m.serialize_entry("ar_uuid", &uuid(&v))?;
            }
            if let Some(v) = p.station_name {
                m.serialize_entry("station_name", &String::from_utf8_lossy(v))?;
            }
            if let Some(v) = p.api {
                m.serialize_entry("api", &v)?;
            }
            if let Some(v) = p.slot {
                m.serialize_entry("slot", &v)?;
            }
            if let Some(v) = p.subslot {
                m.serialize_entry("subslot", &v)?;
            }
            if let Some(v) = p.index {
                m.serialize_entry("index", &v)?;
            }
            if let Some(v) = p.record_len {
                m.serialize_entry("record_data_length", &v)?;
            }
            if let Some(v) = p.control_command {
                m.serialize_entry("control_command", control_name(v))?;
            }
            m.serialize_entry("blocks", &Blocks(p.blocks))?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_us", &(l as f64 / 1000.0))?;
        }
        m.end()
    }
}

struct Blocks<'a>(&'a [u8]);

impl Serialize for Blocks<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut q = ser.serialize_seq(None)?;
        for bt in block_types(self.0).take(64) {
            q.serialize_element(block_name(bt))?;
        }
        q.end()
    }
}
