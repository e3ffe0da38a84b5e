//! NDJSON form of an ADS message (the `ads` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{Body, command_name, state_name};
use crate::json::Hex;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        match self {
            Message::Ams {
                header: h,
                body,
                request,
                latency_ns,
            } => {
                m.serialize_entry("target_net_id", &h.target.to_string())?;
                m.serialize_entry("target_port", &h.target_port)?;
                m.serialize_entry("source_net_id", &h.source.to_string())?;
                m.serialize_entry("source_port", &h.source_port)?;
                m.serialize_entry("command_id", &h.command)?;
                m.serialize_entry("command", command_name(h.command))?;
                m.serialize_entry("state_flags", &h.state_flags)?;
                m.serialize_entry("response", &h.is_response())?;
                m.serialize_entry("length", &h.length)?;
                m.serialize_entry("error_code", &h.error_code)?;
                m.serialize_entry("invoke_id", &h.invoke_id)?;
                match *body {
                    Body::Empty => {}
                    Body::Access {
                        index_group,
                        index_offset,
                        length,
                        write_length,
                        data,
                    } => {
                        m.serialize_entry("index_group", &index_group)?;
                        m.serialize_entry("index_offset", &index_offset)?;
                        m.serialize_entry("data_length", &length)?;
                        if let Some(w) = write_length {
                            m.serialize_entry("write_length", &w)?;
                        }
                        if !data.is_empty() {
                            m.serialize_entry("data", &Hex(&data[..data.len().min(64)]))?;
                        }
                    }
                    Body::WriteControl {
                        ads_state,
                        device_state,
                        ..
                    } => {
                        m.serialize_entry("ads_state", &ads_state)?;
                        m.serialize_entry("ads_state_name", state_name(ads_state))?;
                        m.serialize_entry("device_state", &device_state)?;
                    }
                    Body::Handle { handle } => m.serialize_entry("handle", &handle)?,
                    Body::Notification { length, stamps } => {
                        m.serialize_entry("data_length", &length)?;
                        m.serialize_entry("stamps", &stamps)?;
                    }
                    Body::Result { result } => m.serialize_entry("result", &result)?,
                    Body::DeviceInfo {
                        result,
                        major,
                        minor,
                        build,
                        name,
                    } => {
                        m.serialize_entry("result", &result)?;
                        m.serialize_entry("version", &format!("{major}.{minor}.{build}"))?;
                        m.serialize_entry(
                            "device_name",
                            &crate::ident::text(name).unwrap_or_default(),
                        )?;
                    }
                    Body::Data { result, data } => {
                        m.serialize_entry("result", &result)?;
                        m.serialize_entry("data_length", &data.len())?;
                        m.serialize_entry("data", &Hex(&data[..data.len().min(64)]))?;
                    }
                    Body::State {
                        result,
                        ads_state,
                        device_state,
                    } => {
                        m.serialize_entry("result", &result)?;
                        m.serialize_entry("ads_state", &ads_state)?;
                        m.serialize_entry("ads_state_name", state_name(ads_state))?;
                        m.serialize_entry("device_state", &device_state)?;
                    }
                    Body::NewHandle { result, handle } => {
                        m.serialize_entry("result", &result)?;
                        m.serialize_entry("handle", &handle)?;
                    }
                    Body::Raw { data } => {
                        m.serialize_entry("data", &Hex(&data[..data.len().min(64)]))?
                    }
                }
                if let Some(r) = request
                    && let (Some(g), Some(o)) = (r.index_group, r.index_offset)
                {
                    m.serialize_entry("index_group", &g)?;
                    m.serialize_entry("index_offset", &o)?;
                }
                if let Some(l) = latency_ns {
                    m.serialize_entry("latency_us", &(*l as f64 / 1000.0))?;
                }
            }
            Message::Discovery(d) => {
                m.serialize_entry("discovery", &true)?;
                m.serialize_entry("service", &d.service)?;
                m.serialize_entry("response", &d.is_response())?;
                m.serialize_entry("invoke_id", &d.invoke_id)?;
                m.serialize_entry("net_id", &d.net_id.to_string())?;
                m.serialize_entry("port", &d.port)?;
                if let Some(h) = d.hostname {
                    m.serialize_entry("hostname", &crate::ident::text(h).unwrap_or_default())?;
                }
                if let Some((a, b, c)) = d.twincat {
                    m.serialize_entry("twincat_version", &format!("{a}.{b}.{c}"))?;
                }
                if let Some((a, b, c, p)) = d.os {
                    m.serialize_entry("os_version", &format!("{a}.{b}.{c}"))?;
                    m.serialize_entry("os_platform", &p)?;
                }
            }
        }
        m.end()
    }
}
