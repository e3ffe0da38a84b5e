//! NDJSON form of a BACnet/IP message (the `bacnet` object of a record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::names::{
    abort_reason_name, error_class_name, error_code_name, object_type_name, property_name,
    reject_reason_name, vendor_name,
};
use super::wire::{
    self, DeviceProps, Value, bvlc_function_name, dcc_state_name, max_apdu_len,
    network_message_name, pdu_name, reinit_state_name, segmentation_name,
};
use super::{Message, ObjectId};
use crate::json::Hex;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &self.code())?;
        if let Some(b) = &self.bvlc {
            m.serialize_entry("bvlc_function", &b.function)?;
            m.serialize_entry("bvlc_function_name", bvlc_function_name(b.function))?;
            if let Some((ip, port)) = b.origin {
                m.serialize_entry(
                    "origin",
                    &format!("{}:{}", std::net::Ipv4Addr::from(ip), port),
                )?;
            }
            if let Some(r) = b.result_code {
                m.serialize_entry("result_code", &r)?;
            }
            if let Some(t) = b.ttl {
                m.serialize_entry("ttl", &t)?;
            }
            if let Some(n) = b.entries {
                m.serialize_entry("entries", &n)?;
            }
        } else {
            m.serialize_entry("link", "ethernet-llc")?;
        }
        if let Some(n) = &self.npdu {
            m.serialize_entry("npdu", &NpduJson(n))?;
            if let Some(t) = n.message_type {
                m.serialize_entry("network_message", &t)?;
                m.serialize_entry("network_message_name", network_message_name(t))?;
                if let Some(v) = n.vendor_id {
                    m.serialize_entry("network_vendor_id", &v)?;
                }
            }
        }
        if let Some(h) = &self.apdu {
            m.serialize_entry("pdu_type", &h.pdu_type)?;
            m.serialize_entry("pdu_name", pdu_name(h.pdu_type))?;
            if let Some(sv) = h.service {
                m.serialize_entry("service", &sv)?;
                m.serialize_entry("service_name", self.service_name().unwrap_or("unknown"))?;
            }
            if let Some(i) = h.invoke_id {
                m.serialize_entry("invoke_id", &i)?;
            }
            if h.pdu_type == wire::pdu::CONFIRMED_REQUEST {
                m.serialize_entry(
                    "segmented_response_accepted",
                    &h.segmented_response_accepted(),
                )?;
                if let Some(x) = h.max_segs {
                    m.serialize_entry("max_segments_code", &x)?;
                }
                if let Some(x) = h.max_apdu {
                    m.serialize_entry("max_apdu", &max_apdu_len(x))?;
                }
            }
            if self.segments > 0 {
                m.serialize_entry("segments", &self.segments)?;
            }
            if h.pdu_type == wire::pdu::SEGMENT_ACK {
                m.serialize_entry("sequence", &h.sequence)?;
                m.serialize_entry("window", &h.window)?;
                m.serialize_entry("nak", &h.nak())?;
            }
            if matches!(h.pdu_type, 4 | 7) {
                m.serialize_entry("server", &h.server())?;
            }
            if let Some(r) = h.reason {
                m.serialize_entry("reason", &r)?;
                let n = if h.pdu_type == wire::pdu::REJECT {
                    reject_reason_name(r)
                } else {
                    abort_reason_name(r)
                };
                m.serialize_entry("reason_name", n)?;
            }
            let d = &self.detail();
            if let Some(o) = d.object {
                obj(&mut m, "", o)?;
            }
            if let Some(p) = d.property {
                m.serialize_entry("property", &p)?;
                m.serialize_entry("property_name", property_name(p))?;
            }
            if let Some(x) = d.array_index {
                m.serialize_entry("array_index", &x)?;
            }
            if let Some(x) = d.priority {
                m.serialize_entry("priority", &x)?;
            }
            if d.objects > 0 {
                m.serialize_entry("objects", &d.objects)?;
            }
            if d.properties > 0 {
                m.serialize_entry("properties", &d.properties)?;
            }
            if let Some(v) = &d.value {
                m.serialize_entry("value", &ValueJson(v))?;
            }
            if let Some(x) = d.range_low {
                m.serialize_entry("range_low", &x)?;
            }
            if let Some(x) = d.range_high {
                m.serialize_entry("range_high", &x)?;
            }
            if let Some(o) = d.device {
                m.serialize_entry("device_instance", &o.instance)?;
            }
            if let Some(x) = d.max_apdu {
                m.serialize_entry("max_apdu_accepted", &x)?;
            }
            if let Some(x) = d.segmentation {
                m.serialize_entry("segmentation", segmentation_name(x))?;
            }
            if let Some(v) = d.vendor_id {
                m.serialize_entry("vendor_id", &v)?;
                if let Ok(v16) = u16::try_from(v) {
                    m.serialize_entry("vendor_name", vendor_name(v16))?;
                }
            }
            if let Some(n) = d.object_name {
                m.serialize_entry("object_name", &text(n))?;
            }
            if let Some(x) = d.state {
                let n = if h.service == Some(17) {
                    dcc_state_name(x)
                } else {
                    reinit_state_name(x)
                };
                m.serialize_entry("state", &x)?;
                m.serialize_entry("state_name", n)?;
            }
            if let Some(x) = d.duration {
                m.serialize_entry("duration_minutes", &x)?;
            }
            if let Some(x) = d.password {
                m.serialize_entry("password", &x)?;
            }
            if let Some(x) = d.process_id {
                m.serialize_entry("process_id", &x)?;
            }
            if let Some(x) = d.lifetime {
                m.serialize_entry("lifetime", &x)?;
            }
            if let Some(x) = d.confirmed {
                m.serialize_entry("confirmed_notifications", &x)?;
            }
            if d.cancel && matches!(h.service, Some(5) | Some(28)) && h.is_request() {
                m.serialize_entry("cancel", &true)?;
            }
            if let Some(x) = d.file_start {
                m.serialize_entry("file_start", &x)?;
            }
            if let Some(x) = d.file_count {
                m.serialize_entry("file_count", &x)?;
            }
            if let Some(x) = d.file_record_access {
                m.serialize_entry("file_access", if x { "record" } else { "stream" })?;
            }
            if let Some(x) = d.end_of_file {
                m.serialize_entry("end_of_file", &x)?;
            }
            if let Some(x) = d.file_data_len {
                m.serialize_entry("file_data_len", &x)?;
            }
            if let Some(c) = d.error_class {
                m.serialize_entry("error_class", &c)?;
                m.serialize_entry("error_class_name", error_class_name(c))?;
            }
            if let Some(c) = d.error_code {
                m.serialize_entry("error_code", &c)?;
                m.serialize_entry("error_code_name", error_code_name(c))?;
            }
            if let Some(x) = d.date {
                m.serialize_entry(
                    "date",
                    &format!("{:04}-{:02}-{:02}", 1900 + x[0] as u32, x[1], x[2]),
                )?;
            }
            if let Some(x) = d.time {
                m.serialize_entry(
                    "time",
                    &format!("{:02}:{:02}:{:02}.{:02}", x[0], x[1], x[2], x[3]),
                )?;
            }
            if let Some(x) = d.private_service {
                m.serialize_entry("private_service", &x)?;
            }
            if !d.device_props.is_empty() {
                m.serialize_entry("device_properties", &PropsJson(&d.device_props))?;
            }
        }
        m.end()
    }
}

fn obj<M: SerializeMap>(m: &mut M, prefix: &str, o: ObjectId) -> Result<(), M::Error> {
    let _ = prefix;
    m.serialize_entry("object_type", &o.object_type)?;
    m.serialize_entry("object_type_name", object_type_name(o.object_type))?;
    m.serialize_entry("instance", &o.instance)
}

struct NpduJson<'a>(&'a wire::Npdu<'a>);

impl Serialize for NpduJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("control", &n.control)?;
        m.serialize_entry("priority", &n.priority())?;
        m.serialize_entry("expecting_reply", &n.expecting_reply())?;
        if let Some(x) = n.dnet {
            m.serialize_entry("dnet", &x)?;
            m.serialize_entry("dadr", &Hex(n.dadr))?;
        }
        if let Some(x) = n.snet {
            m.serialize_entry("snet", &x)?;
            m.serialize_entry("sadr", &Hex(n.sadr))?;
        }
        if let Some(x) = n.hop_count {
            m.serialize_entry("hop_count", &x)?;
        }
        m.end()
    }
}

struct ValueJson<'a>(&'a Value<'a>);

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self.0 {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(b),
            Value::Unsigned(v) => s.serialize_u64(v),
            Value::Signed(v) => s.serialize_i64(v),
            Value::Real(v) if v.is_finite() => s.serialize_f64(v as f64),
            Value::Double(v) if v.is_finite() => s.serialize_f64(v),
            Value::Real(_) | Value::Double(_) => s.serialize_none(),
            Value::OctetString(b) | Value::BitString(b) => Hex(b).serialize(s),
            Value::CharString(_, b) => s.serialize_str(&text(b)),
            Value::Enumerated(v) => s.serialize_u32(v),
            Value::Date(x) => s.serialize_str(&format!(
                "{:04}-{:02}-{:02}",
                1900 + x[0] as u32,
                x[1],
                x[2]
            )),
            Value::Time(x) => {
                s.serialize_str(&format!("{:02}:{:02}:{:02}.{:02}", x[0], x[1], x[2], x[3]))
            }
            Value::ObjectId(o) => s.serialize_str(&format!(
                "{}:{}",
                object_type_name(o.object_type),
                o.instance
            )),
        }
    }
}

struct PropsJson<'a>(&'a DeviceProps<'a>);

impl Serialize for PropsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        for (k, v) in [
            ("object_name", p.object_name),
            ("vendor_name", p.vendor_name),
            ("model_name", p.model_name),
            ("firmware_revision", p.firmware_revision),
            (
                "application_software_version",
                p.application_software_version,
            ),
            ("serial_number", p.serial_number),
        ] {
            if let Some(v) = v {
                m.serialize_entry(k, &text(v))?;
            }
        }
        if let Some(v) = p.vendor_identifier {
            m.serialize_entry("vendor_identifier", &v)?;
        }
        m.end()
    }
}
