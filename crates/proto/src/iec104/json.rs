//! NDJSON form of an IEC 60870-5-104 APDU (the `iec104` object of a record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{Apci, Cp56, Element, cot_name, u_function_name};

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = &self.apdu;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &a.function_code())?;
        m.serialize_entry("apci", a.apci.letter())?;
        m.serialize_entry("length", &a.length)?;
        match a.apci {
            Apci::I { tx_seq, rx_seq } => {
                m.serialize_entry("tx_seq", &tx_seq)?;
                m.serialize_entry("rx_seq", &rx_seq)?;
            }
            Apci::S { rx_seq } => m.serialize_entry("rx_seq", &rx_seq)?,
            Apci::U { control } => {
                m.serialize_entry("u_control", &control)?;
                m.serialize_entry("u_function", u_function_name(control))?;
            }
        }
        if let Some(x) = &a.asdu {
            m.serialize_entry("type_id", &x.type_id)?;
            m.serialize_entry("type_name", x.type_name())?;
            m.serialize_entry("control_direction", &x.is_control())?;
            m.serialize_entry("sq", &x.sq)?;
            m.serialize_entry("num_objects", &x.num_objects)?;
            m.serialize_entry("cot", &x.cot)?;
            m.serialize_entry("cot_name", cot_name(x.cot))?;
            m.serialize_entry("negative", &x.negative)?;
            m.serialize_entry("test", &x.test)?;
            m.serialize_entry("originator", &x.originator)?;
            m.serialize_entry("common_address", &x.common_address)?;
            m.serialize_entry("ioas", x.ioas())?;
            if let Some(e) = &x.element {
                m.serialize_entry("element", &ElementJson(e))?;
            }
            if let Some(t) = &x.time {
                m.serialize_entry("time", &TimeJson(t))?;
            }
        }
        m.end()
    }
}

struct ElementJson<'a>(&'a Element);

impl Serialize for ElementJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match *self.0 {
            Element::Single { on, quality } => {
                m.serialize_entry("kind", "single_point")?;
                m.serialize_entry("value", &on)?;
                m.serialize_entry("quality", &quality)?;
            }
            Element::Double { dpi, quality } => {
                m.serialize_entry("kind", "double_point")?;
                m.serialize_entry("value", &dpi)?;
                m.serialize_entry("quality", &quality)?;
            }
            Element::Step {
                value,
                transient,
                quality,
            } => {
                m.serialize_entry("kind", "step_position")?;
                m.serialize_entry("value", &value)?;
                m.serialize_entry("transient", &transient)?;
                m.serialize_entry("quality", &quality)?;
            }
            Element::Bitstring { value, quality } => {
                m.serialize_entry("kind", "bitstring")?;
                m.serialize_entry("value", &value)?;
                m.serialize_entry("quality", &quality)?;
            }
            Element::Normalized { raw, quality } => {
                m.serialize_entry("kind", "normalized")?;
                m.serialize_entry("raw", &raw)?;
                m.serialize_entry("value", &(raw as f64 / 32768.0))?;
                m.serialize_entry("quality", &quality)?;
            }
            Element::Scaled { value, quality } => {
                m.serialize_entry("kind", "scaled")?;
                m.serialize_entry("value", &value)?;
                m.serialize_entry("quality", &quality)?;
            }
            Element::Float { value, quality } => {
                m.serialize_entry("kind", "float")?;
                m.serialize_entry("value", &finite(value))?;
                m.serialize_entry("quality", &quality)?;
            }
            Element::Counter { value, seq } => {
                m.serialize_entry("kind", "integrated_total")?;
                m.serialize_entry("value", &value)?;
                m.serialize_entry("sequence", &(seq & 0x1f))?;
                m.serialize_entry("flags", &(seq & 0xe0))?;
            }
            Element::SingleCommand { on, select, qu } => {
                m.serialize_entry("kind", "single_command")?;
                m.serialize_entry("value", &on)?;
                m.serialize_entry("select", &select)?;
                m.serialize_entry("qualifier", &qu)?;
            }
            Element::DoubleCommand { dcs, select, qu } => {
                m.serialize_entry("kind", "double_command")?;
                m.serialize_entry("value", &dcs)?;
                m.serialize_entry("select", &select)?;
                m.serialize_entry("qualifier", &qu)?;
            }
            Element::StepCommand { rcs, select, qu } => {
                m.serialize_entry("kind", "step_command")?;
                m.serialize_entry("value", &rcs)?;
                m.serialize_entry("select", &select)?;
                m.serialize_entry("qualifier", &qu)?;
            }
            Element::SetNormalized { raw, select } => {
                m.serialize_entry("kind", "setpoint_normalized")?;
                m.serialize_entry("raw", &raw)?;
                m.serialize_entry("value", &(raw as f64 / 32768.0))?;
                m.serialize_entry("select", &select)?;
            }
            Element::SetScaled { value, select } => {
                m.serialize_entry("kind", "setpoint_scaled")?;
                m.serialize_entry("value", &value)?;
                m.serialize_entry("select", &select)?;
            }
            Element::SetFloat { value, select } => {
                m.serialize_entry("kind", "setpoint_float")?;
                m.serialize_entry("value", &finite(value))?;
                m.serialize_entry("select", &select)?;
            }
            Element::BitstringCommand { value } => {
                m.serialize_entry("kind", "bitstring_command")?;
                m.serialize_entry("value", &value)?;
            }
            Element::Interrogation { qoi } => {
                m.serialize_entry("kind", "interrogation")?;
                m.serialize_entry("qoi", &qoi)?;
            }
            Element::CounterInterrogation { qcc } => {
                m.serialize_entry("kind", "counter_interrogation")?;
                m.serialize_entry("qcc", &qcc)?;
            }
            Element::ResetProcess { qrp } => {
                m.serialize_entry("kind", "reset_process")?;
                m.serialize_entry("qrp", &qrp)?;
            }
            Element::EndOfInit { coi } => {
                m.serialize_entry("kind", "end_of_init")?;
                m.serialize_entry("coi", &coi)?;
            }
            Element::Parameter { value, qpm } => {
                m.serialize_entry("kind", "parameter")?;
                m.serialize_entry("value", &finite(value))?;
                m.serialize_entry("qpm", &qpm)?;
            }
            Element::ParameterActivation { qpa } => {
                m.serialize_entry("kind", "parameter_activation")?;
                m.serialize_entry("qpa", &qpa)?;
            }
            Element::Time => m.serialize_entry("kind", "time")?,
        }
        m.end()
    }
}

/// JSON has no NaN/infinity: those become null.
fn finite(v: f32) -> Option<f64> {
    v.is_finite().then_some(v as f64)
}

struct TimeJson<'a>(&'a Cp56);

impl Serialize for TimeJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let text = format!(
            "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
            t.year,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.ms / 1000,
            t.ms % 1000
        );
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("cp56", &text)?;
        m.serialize_entry("invalid", &t.invalid)?;
        m.serialize_entry("summer", &t.summer)?;
        m.end()
    }
}
