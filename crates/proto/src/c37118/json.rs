//! NDJSON form of a C37.118 frame (the `c37118` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{Body, command_name, frame_type_name};

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.header;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("frame_type", &h.frame_type)?;
        m.serialize_entry("frame_type_name", frame_type_name(h.frame_type))?;
        m.serialize_entry("version", &h.version)?;
        m.serialize_entry("frame_size", &h.frame_size)?;
        m.serialize_entry("idcode", &h.idcode)?;
        m.serialize_entry("soc", &h.soc)?;
        m.serialize_entry("fracsec", &(h.fracsec & 0x00ff_ffff))?;
        m.serialize_entry("time_quality", &(h.fracsec >> 24))?;
        m.serialize_entry("crc_ok", &self.crc_ok)?;
        match self.body {
            Body::Command { command, extended } => {
                m.serialize_entry("command", &command)?;
                m.serialize_entry("command_name", command_name(command))?;
                if !extended.is_empty() {
                    m.serialize_entry("extended_length", &extended.len())?;
                }
            }
            Body::Config {
                time_base,
                num_pmu,
                station,
                pmu_idcode,
                phasors,
                analogs,
                digitals,
                data_rate,
            } => {
                m.serialize_entry("time_base", &time_base)?;
                m.serialize_entry("num_pmu", &num_pmu)?;
                if let Some(st) = station.and_then(crate::ident::text) {
                    m.serialize_entry("station_name", &st)?;
                }
                if let Some(i) = pmu_idcode {
                    m.serialize_entry("pmu_idcode", &i)?;
                }
                m.serialize_entry("phasors", &phasors)?;
                m.serialize_entry("analogs", &analogs)?;
                m.serialize_entry("digitals", &digitals)?;
                if let Some(r) = data_rate {
                    m.serialize_entry("data_rate", &r)?;
                }
            }
            Body::Config3 { cont_idx } => m.serialize_entry("cont_idx", &cont_idx)?,
            Body::Header { text } => {
                m.serialize_entry("header_text", &String::from_utf8_lossy(text))?
            }
            Body::Data { stat } => m.serialize_entry("stat", &stat)?,
            Body::Invalid => m.serialize_entry("invalid", &true)?,
        }
        m.end()
    }
}
