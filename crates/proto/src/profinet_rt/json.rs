//! NDJSON form of an RT frame (the `profinet_rt` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{Message, class_name};
use crate::protocols::ProtoMessage;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("function_code", &ProtoMessage::function_code(self))?;
        m.serialize_entry("frame_id", &self.frame_id)?;
        m.serialize_entry("class", class_name(self.class))?;
        if let Some((cc, ds, ts)) = self.status {
            m.serialize_entry("cycle_counter", &cc)?;
            m.serialize_entry("data_status", &ds)?;
            m.serialize_entry("transfer_status", &ts)?;
        }
        m.serialize_entry("data_len", &self.data.len())?;
        m.end()
    }
}
