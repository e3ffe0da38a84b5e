//! NDJSON form of an S7comm message (the `s7comm` object of an event record).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::wire::{self, Body, DataItems, VarItems};
use crate::ident;
use crate::json::Hex;

/// Wire text as a JSON string (lossy, trimmed), or null.
struct Text<'a>(Option<&'a [u8]>);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.and_then(ident::text) {
            Some(t) => s.serialize_str(&t),
            None => s.serialize_none(),
        }
    }
}

struct Items<'a>(VarItems<'a>);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for it in self.0 {
            seq.serialize_element(&Item(it))?;
        }
        seq.end()
    }
}

struct Item<'a>(wire::VarItem<'a>);

impl Serialize for Item<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("syntax_id", &self.0.syntax_id)?;
        match self.0.any {
            Some(a) => {
                m.serialize_entry("transport_size", &a.transport_size)?;
                m.serialize_entry("length", &a.length)?;
                m.serialize_entry("db", &a.db)?;
                m.serialize_entry("area", &a.area)?;
                m.serialize_entry("area_name", wire::area_name(a.area))?;
                m.serialize_entry("byte", &a.byte)?;
                m.serialize_entry("bit", &a.bit)?;
            }
            None => m.serialize_entry("spec", &Hex(self.0.raw))?,
        }
        m.end()
    }
}

struct Datas<'a>(DataItems<'a>, bool);

impl Serialize for Datas<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for it in self.0 {
            seq.serialize_element(&DataJson(it, self.1))?;
        }
        seq.end()
    }
}

struct DataJson<'a>(wire::DataItem<'a>, bool);

impl Serialize for DataJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("return_code", &self.0.return_code)?;
        m.serialize_entry(
            "return_code_name",
            wire::return_code_name(self.0.return_code),
        )?;
        m.serialize_entry("transport_size", &self.0.transport_size)?;
        m.serialize_entry("length", &self.0.length)?;
        if self.1 {
            m.serialize_entry("data", &Hex(self.0.data))?;
        }
        m.end()
    }
}

/// Write var ack-data: one return code per item.
struct ReturnCodes<'a>(&'a [u8]);

impl Serialize for ReturnCodes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(r)?;
        }
        seq.end()
    }
}

struct Module<'a>(wire::ModuleFacts<'a>);

impl Serialize for Module<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.0;
        let mut m = s.serialize_map(None)?;
        let texts = [
            ("order_number", f.order_number),
            ("system_name", f.system_name),
            ("module_name", f.module_name),
            ("plant_id", f.plant_id),
            ("copyright", f.copyright),
            ("serial_number", f.serial),
            ("module_type", f.module_type),
            ("location", f.location),
        ];
        for (k, v) in texts {
            if v.is_some() {
                m.serialize_entry(k, &Text(v))?;
            }
        }
        if let Some(h) = f.hardware {
            m.serialize_entry("hardware_version", &h)?;
        }
        if let Some((a, b, c)) = f.firmware {
            m.serialize_entry("firmware_version", &format!("V{a}.{b}.{c}"))?;
        }
        m.end()
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &self.pdu;
        let h = &p.header;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &p.function_code())?;
        m.serialize_entry("rosctr", &h.rosctr)?;
        m.serialize_entry("rosctr_name", wire::rosctr_name(h.rosctr))?;
        m.serialize_entry("pdu_ref", &h.pdu_ref)?;
        if let (Some(c), Some(e)) = (h.error_class, h.error_code) {
            m.serialize_entry("error_class", &c)?;
            m.serialize_entry("error_class_name", wire::error_class_name(c))?;
            m.serialize_entry("error_code", &e)?;
        }
        if let Some(f) = p.function {
            m.serialize_entry("function", &f)?;
            m.serialize_entry("function_name", wire::function_name(f))?;
        }
        if let Some(r) = self.request {
            m.serialize_entry("request_function", &r.function)?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_ns", &l)?;
        }
        if self.invalid {
            m.serialize_entry("invalid", &true)?;
        }
        let job = h.rosctr == wire::ROSCTR_JOB;
        match p.body {
            Body::None => {}
            Body::Setup {
                amq_calling,
                amq_called,
                pdu_size,
            } => {
                m.serialize_entry("max_amq_calling", &amq_calling)?;
                m.serialize_entry("max_amq_called", &amq_called)?;
                m.serialize_entry("pdu_size", &pdu_size)?;
            }
            Body::Var {
                item_count,
                items,
                data,
            } => {
                m.serialize_entry("item_count", &item_count)?;
                let read = p.function == Some(wire::FN_READ_VAR);
                if job {
                    m.serialize_entry("items", &Items(VarItems::new(items, item_count)))?;
                    if !read {
                        m.serialize_entry(
                            "data_items",
                            &Datas(DataItems::new(data, item_count), true),
                        )?;
                    }
                } else if read {
                    m.serialize_entry(
                        "data_items",
                        &Datas(DataItems::new(data, item_count), true),
                    )?;
                } else {
                    m.serialize_entry(
                        "return_codes",
                        &ReturnCodes(data.get(..item_count as usize).unwrap_or(data)),
                    )?;
                }
            }
            Body::Block {
                status,
                session_id,
                filename,
                block_length,
            } => {
                if let Some(st) = status {
                    m.serialize_entry("function_status", &st)?;
                }
                if let Some(id) = session_id {
                    m.serialize_entry("session_id", &id)?;
                }
                if let Some(f) = filename {
                    m.serialize_entry("filename", &Text(Some(f)))?;
                    if let Some(b) = wire::block_name(f) {
                        m.serialize_entry("block_type", &Text(Some(b.block_type)))?;
                        m.serialize_entry("block_type_name", wire::block_type_name(b.block_type))?;
                        m.serialize_entry("block_number", &Text(Some(b.number)))?;
                        if let Some(fs) = b.filesystem {
                            m.serialize_entry("filesystem", wire::filesystem_name(fs))?;
                        }
                    }
                }
                if let Some(l) = block_length {
                    m.serialize_entry("block_length", &Text(Some(l)))?;
                }
                if !job && p.function == Some(wire::FN_UPLOAD) && p.data.len() >= 4 {
                    m.serialize_entry("data_length", &(p.data.len() - 4))?;
                }
            }
            Body::PiService {
                param_block,
                service,
            } => {
                m.serialize_entry("pi_service", &Text(Some(service)))?;
                if !param_block.is_empty() {
                    m.serialize_entry("param_block", &Text(Some(param_block)))?;
                }
                if p.function == Some(wire::FN_PLC_CONTROL) && service == b"P_PROGRAM" {
                    let cold = param_block.windows(1).any(|w| w == b"C");
                    m.serialize_entry("start", if cold { "cold" } else { "hot" })?;
                }
            }
            Body::Userdata(u) => {
                m.serialize_entry("userdata_type", &u.kind)?;
                m.serialize_entry("userdata_type_name", wire::userdata_type_name(u.kind))?;
                m.serialize_entry("userdata_group", &u.group)?;
                m.serialize_entry("userdata_group_name", wire::group_name(u.group))?;
                m.serialize_entry("userdata_subfunction", &u.subfunction)?;
                m.serialize_entry(
                    "userdata_subfunction_name",
                    wire::subfunction_name(u.group, u.subfunction),
                )?;
                m.serialize_entry("sequence", &u.sequence)?;
                if let Some(r) = u.data_unit_ref {
                    m.serialize_entry("data_unit_ref", &r)?;
                }
                if let Some(l) = u.last_data_unit {
                    m.serialize_entry("last_data_unit", &(l == 0))?;
                }
                if let Some(e) = u.error_code {
                    m.serialize_entry("userdata_error_code", &e)?;
                }
                if let Some(r) = u.return_code {
                    m.serialize_entry("return_code", &r)?;
                    m.serialize_entry("return_code_name", wire::return_code_name(r))?;
                }
                if let Some(szl) = u.szl {
                    m.serialize_entry("szl_id", &szl.id)?;
                    m.serialize_entry("szl_id_name", wire::szl_id_name(szl.id))?;
                    m.serialize_entry("szl_index", &szl.index)?;
                    if let Some(n) = szl.record_count {
                        m.serialize_entry("szl_record_count", &n)?;
                    }
                    let f = wire::module_facts(&szl);
                    if !f.is_empty() {
                        m.serialize_entry("module", &Module(f))?;
                    }
                }
            }
        }
        m.end()
    }
}
