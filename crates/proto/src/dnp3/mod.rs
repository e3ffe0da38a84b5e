//! DNP3 dissector (placeholder interface; the full dissector replaces this file).

use otwatch_core::Transport;

use crate::dissector::{Ctx, Dissector};

#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub function_code: u8,
    pub objects: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    BadStart,
}

impl Error {
    pub fn code(&self) -> &'static str {
        "bad_start"
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad start bytes")
    }
}

impl serde::Serialize for Message<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &self.function_code)?;
        m.end()
    }
}

#[derive(Debug, Default)]
pub struct Session;

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, _cx: &mut Ctx<'_>) -> usize {
        data.len()
    }
    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

pub fn probe(_transport: Transport, _data: &[u8]) -> bool {
    false
}
