//! NDJSON form of an HTTP message (the `http` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::basic_user;

fn s(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let h = &self.head;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        if h.is_response() {
            m.serialize_entry("status", &h.status)?;
            m.serialize_entry("reason", &s(h.reason))?;
        } else {
            m.serialize_entry("method", &s(h.method))?;
            m.serialize_entry("uri", &s(h.uri))?;
        }
        m.serialize_entry("version", &s(h.version))?;
        if let Some(v) = h.host {
            m.serialize_entry("host", &s(v))?;
        }
        if let Some(v) = h.user_agent {
            m.serialize_entry("user_agent", &s(v))?;
        }
        if let Some(v) = h.server {
            m.serialize_entry("server", &s(v))?;
        }
        if let Some(v) = h.content_type {
            m.serialize_entry("content_type", &s(v))?;
        }
        if let Some(v) = h.content_length {
            m.serialize_entry("content_length", &v)?;
        }
        if h.chunked {
            m.serialize_entry("transfer_encoding", "chunked")?;
        }
        m.serialize_entry("body_framing", self.framing)?;
        if let Some(v) = self.body_len {
            m.serialize_entry("body_len", &v)?;
        }
        if let Some(u) = h.basic_auth.and_then(basic_user) {
            m.serialize_entry("basic_auth_user", &u)?;
        }
        if h.cookie {
            m.serialize_entry("cookie", &true)?;
        }
        if let Some(v) = h.x_forwarded_for {
            m.serialize_entry("x_forwarded_for", &s(v))?;
        }
        if let Some(r) = self.request_method {
            m.serialize_entry("request_method_code", &r)?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_us", &(l as f64 / 1000.0))?;
        }
        m.end()
    }
}
