//! NDJSON form of a MELSEC message (the `melsec` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{Format, command_name, cpu_model, device_name, melsoft_command_name};
use crate::json::Hex;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.frame;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("frame", f.format.name())?;
        m.serialize_entry("response", &f.response)?;
        if let Some(sn) = f.serial {
            m.serialize_entry("serial", &sn)?;
        }
        m.serialize_entry("network", &f.route.network)?;
        m.serialize_entry("station", &f.route.station)?;
        m.serialize_entry("module_io", &f.route.module_io)?;
        if f.format != Format::Melsoft {
            m.serialize_entry("multidrop", &f.route.multidrop)?;
        }
        if let Some(t) = f.timer {
            m.serialize_entry("monitoring_timer", &t)?;
        }
        if let Some(c) = self.command() {
            m.serialize_entry("command", &c)?;
            let name = if f.format == Format::Melsoft {
                melsoft_command_name(c)
            } else {
                command_name(c)
            };
            m.serialize_entry("command_name", name)?;
        }
        if let Some(sc) = f.subcommand.or(self.request.and_then(|r| r.subcommand)) {
            m.serialize_entry("subcommand", &sc)?;
        }
        if let Some(r) = f.reference {
            m.serialize_entry("reference", &r)?;
        }
        if let Some(e) = f.end_code {
            m.serialize_entry("end_code", &e)?;
        }
        if let Some(dev) = f.device {
            m.serialize_entry("device", device_name(dev.code))?;
            m.serialize_entry("device_code", &dev.code)?;
            m.serialize_entry("head_device", &dev.head)?;
            m.serialize_entry("points", &dev.points)?;
        }
        if f.response
            && f.end_code == Some(0)
            && self.command() == Some(0x0101)
            && let Some((model, code)) = cpu_model(f.data)
        {
            m.serialize_entry("cpu_model", &crate::ident::text(model).unwrap_or_default())?;
            m.serialize_entry("cpu_model_code", &code)?;
        }
        if !f.data.is_empty() {
            m.serialize_entry("data", &Hex(&f.data[..f.data.len().min(64)]))?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_us", &(l as f64 / 1000.0))?;
        }
        m.end()
    }
}
