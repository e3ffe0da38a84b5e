//! NDJSON form of a Modbus message (the `modbus` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{Body, DeviceIdObjects, device_id_object_name, function_name};
use crate::json::Hex;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &self.pdu;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("transaction_id", &p.mbap.transaction_id)?;
        m.serialize_entry("unit_id", &p.mbap.unit_id)?;
        m.serialize_entry("function_code", &p.function_code)?;
        m.serialize_entry("function", function_name(p.function_code))?;
        if let Some(e) = p.exception_code {
            m.serialize_entry("exception_code", &e)?;
        }
        if let Some(t) = p.mei_type {
            m.serialize_entry("mei_type", &t)?;
        }
        match p.body {
            Body::Read { address, quantity } => {
                m.serialize_entry("address", &address)?;
                if quantity > 0 {
                    m.serialize_entry("quantity", &quantity)?;
                }
            }
            Body::Data { byte_count, data } => {
                m.serialize_entry("byte_count", &byte_count)?;
                m.serialize_entry("data", &Hex(data))?;
            }
            Body::WriteSingle { address, value } => {
                m.serialize_entry("address", &address)?;
                m.serialize_entry("quantity", &1)?;
                m.serialize_entry("value", &value)?;
            }
            Body::WriteMultiple {
                address,
                quantity,
                byte_count,
                data,
            } => {
                m.serialize_entry("address", &address)?;
                m.serialize_entry("quantity", &quantity)?;
                m.serialize_entry("byte_count", &byte_count)?;
                m.serialize_entry("data", &Hex(data))?;
            }
            Body::WriteMultipleAck { address, quantity } => {
                m.serialize_entry("address", &address)?;
                m.serialize_entry("quantity", &quantity)?;
            }
            Body::MaskWrite {
                address,
                and_mask,
                or_mask,
            } => {
                m.serialize_entry("address", &address)?;
                m.serialize_entry("quantity", &1)?;
                m.serialize_entry("and_mask", &and_mask)?;
                m.serialize_entry("or_mask", &or_mask)?;
            }
            Body::ReadWrite {
                read_address,
                read_quantity,
                write_address,
                write_quantity,
                byte_count,
                data,
            } => {
                m.serialize_entry("address", &read_address)?;
                m.serialize_entry("quantity", &read_quantity)?;
                m.serialize_entry("write_address", &write_address)?;
                m.serialize_entry("write_quantity", &write_quantity)?;
                m.serialize_entry("byte_count", &byte_count)?;
                m.serialize_entry("data", &Hex(data))?;
            }
            Body::Fifo { fifo_count, data } => {
                m.serialize_entry("fifo_count", &fifo_count)?;
                m.serialize_entry("data", &Hex(data))?;
            }
            Body::Diagnostics { sub_function, data } => {
                m.serialize_entry("sub_function", &sub_function)?;
                m.serialize_entry("data", &Hex(data))?;
            }
            Body::ExceptionStatus { status } => m.serialize_entry("status", &status)?,
            Body::CommEventCounter {
                status,
                event_count,
            } => {
                m.serialize_entry("status", &status)?;
                m.serialize_entry("event_count", &event_count)?;
            }
            Body::CommEventLog {
                status,
                event_count,
                message_count,
                events,
            } => {
                m.serialize_entry("status", &status)?;
                m.serialize_entry("event_count", &event_count)?;
                m.serialize_entry("message_count", &message_count)?;
                m.serialize_entry("events", &Hex(events))?;
            }
            Body::FileRecord {
                byte_count,
                records,
            } => {
                m.serialize_entry("byte_count", &byte_count)?;
                m.serialize_entry("records", &Hex(records))?;
            }
            Body::DeviceIdRequest {
                read_code,
                object_id,
            } => {
                m.serialize_entry("read_device_id_code", &read_code)?;
                m.serialize_entry("object_id", &object_id)?;
            }
            Body::DeviceId {
                read_code,
                conformity,
                more_follows,
                next_object_id,
                object_count,
                objects,
            } => {
                m.serialize_entry("read_device_id_code", &read_code)?;
                m.serialize_entry("conformity_level", &conformity)?;
                m.serialize_entry("more_follows", &more_follows)?;
                m.serialize_entry("next_object_id", &next_object_id)?;
                m.serialize_entry("object_count", &object_count)?;
                m.serialize_entry("objects", &DeviceIdJson(objects))?;
            }
            Body::Mei { data, .. } | Body::Raw { data } => {
                m.serialize_entry("data", &Hex(data))?;
            }
            Body::Invalid { data } => {
                m.serialize_entry("invalid", &true)?;
                m.serialize_entry("data", &Hex(data))?;
            }
            Body::Empty | Body::Exception => {}
        }
        if let Some(r) = self.request {
            if let (Some(a), None) = (r.address, self.pdu.body.address_hint()) {
                m.serialize_entry("address", &a)?;
                if let Some(q) = r.quantity {
                    m.serialize_entry("quantity", &q)?;
                }
            }
            m.serialize_entry("request_function_code", &r.function_code)?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_us", &(l as f64 / 1000.0))?;
        }
        m.end()
    }
}

impl Body<'_> {
    /// Whether the body itself carries an address (responses often do not).
    fn address_hint(&self) -> Option<()> {
        match self {
            Body::Read { .. }
            | Body::WriteSingle { .. }
            | Body::WriteMultiple { .. }
            | Body::WriteMultipleAck { .. }
            | Body::MaskWrite { .. }
            | Body::ReadWrite { .. } => Some(()),
            _ => None,
        }
    }
}

struct DeviceIdJson<'a>(&'a [u8]);

impl Serialize for DeviceIdJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for o in DeviceIdObjects::new(self.0) {
            let v = String::from_utf8_lossy(o.value);
            match device_id_object_name(o.id) {
                "private" | "reserved" => m.serialize_entry(&format!("object_{}", o.id), &v)?,
                name => m.serialize_entry(name, &v)?,
            }
        }
        m.end()
    }
}
