//! NDJSON form of a COTP message (the `cotp` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{self, rack_slot, tpdu_name};
use crate::json::Hex;

fn dr_reason_name(r: u8) -> &'static str {
    match r {
        0x00 => "reason not specified",
        0x01 => "congestion at TSAP",
        0x02 => "session entity not attached to TSAP",
        0x03 => "address unknown",
        0x80 => "normal disconnect",
        0x81 => "remote transport entity congestion",
        0x82 => "connection negotiation failed",
        0x83 => "duplicate source reference",
        0x84 => "mismatched references",
        0x85 => "protocol error",
        0x87 => "reference overflow",
        0x88 => "connection request refused",
        0x8a => "header or parameter length invalid",
        _ => "unknown",
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = &self.tpdu;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &t.tpdu_type)?;
        m.serialize_entry("tpdu", tpdu_name(t.tpdu_type))?;
        m.serialize_entry("dst_ref", &t.dst_ref)?;
        if let Some(r) = t.src_ref {
            m.serialize_entry("src_ref", &r)?;
        }
        if matches!(t.tpdu_type, wire::CR | wire::CC) {
            m.serialize_entry("credit", &t.credit)?;
        }
        if let Some(c) = t.class {
            m.serialize_entry("class", &c)?;
        }
        if let Some(o) = t.options {
            m.serialize_entry("options", &o)?;
        }
        if let Some(r) = t.reason {
            if t.tpdu_type == wire::DR {
                m.serialize_entry("reason", &r)?;
                m.serialize_entry("reason_name", dr_reason_name(r))?;
            } else {
                m.serialize_entry("reject_cause", &r)?;
            }
        }
        if let Some(v) = t.calling_tsap {
            m.serialize_entry("calling_tsap", &Hex(v))?;
            if let Some((rack, slot)) = rack_slot(v) {
                m.serialize_entry("calling_rack", &rack)?;
                m.serialize_entry("calling_slot", &slot)?;
            }
        }
        if let Some(v) = t.called_tsap {
            m.serialize_entry("called_tsap", &Hex(v))?;
            if let Some((rack, slot)) = rack_slot(v) {
                m.serialize_entry("rack", &rack)?;
                m.serialize_entry("slot", &slot)?;
            }
        }
        if let Some(n) = t.tpdu_size {
            m.serialize_entry("tpdu_size", &n)?;
        }
        if !t.user_data.is_empty() {
            m.serialize_entry("user_data", &Hex(t.user_data))?;
        }
        m.end()
    }
}
