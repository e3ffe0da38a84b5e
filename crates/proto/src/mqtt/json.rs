//! NDJSON form of an MQTT packet (the `mqtt` object of an event record).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::wire::{Body, Topics, type_name};
use crate::protocols::ProtoMessage;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let f = &self.fixed;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("function_code", &ProtoMessage::function_code(self))?;
        m.serialize_entry("msg_type", &f.msg_type)?;
        m.serialize_entry("msg_name", type_name(f.msg_type))?;
        m.serialize_entry("remaining_len", &f.remaining)?;
        if let Some(v) = self.version {
            m.serialize_entry("version", &v)?;
        }
        match self.body {
            Body::Connect {
                protocol_name,
                level,
                flags,
                keep_alive,
                client_id,
                will_topic,
                username,
            } => {
                m.serialize_entry("protocol_name", &s(protocol_name))?;
                m.serialize_entry("version", &level)?;
                m.serialize_entry("client_id", &s(client_id))?;
                m.serialize_entry("clean_session", &(flags & 2 != 0))?;
                m.serialize_entry("keep_alive", &keep_alive)?;
                if let Some(t) = will_topic {
                    m.serialize_entry("will_topic", &s(t))?;
                    m.serialize_entry("will_qos", &((flags >> 3) & 3))?;
                    m.serialize_entry("will_retain", &(flags & 0x20 != 0))?;
                }
                if let Some(u) = username {
                    m.serialize_entry("username", &s(u))?;
                }
                m.serialize_entry("password_present", &(flags & 0x40 != 0))?;
            }
            Body::Connack {
                session_present,
                code,
            } => {
                m.serialize_entry("session_present", &session_present)?;
                m.serialize_entry("return_code", &code)?;
            }
            Body::Publish {
                topic,
                packet_id,
                payload_len,
            } => {
                m.serialize_entry("topic", &s(topic))?;
                m.serialize_entry("qos", &((f.flags >> 1) & 3))?;
                m.serialize_entry("retain", &(f.flags & 1 != 0))?;
                m.serialize_entry("dup", &(f.flags & 8 != 0))?;
                if let Some(p) = packet_id {
                    m.serialize_entry("packet_id", &p)?;
                }
                m.serialize_entry("payload_len", &payload_len)?;
            }
            Body::Ack { packet_id, reason } => {
                m.serialize_entry("packet_id", &packet_id)?;
                if let Some(r) = reason {
                    m.serialize_entry("return_code", &r)?;
                }
            }
            Body::Subscribe {
                packet_id, list, ..
            } => {
                m.serialize_entry("packet_id", &packet_id)?;
                m.serialize_entry("topics", &TopicsJson(list, true))?;
            }
            Body::Unsubscribe {
                packet_id, list, ..
            } => {
                m.serialize_entry("packet_id", &packet_id)?;
                m.serialize_entry("topics", &TopicsJson(list, false))?;
            }
            Body::Suback { packet_id, codes } => {
                m.serialize_entry("packet_id", &packet_id)?;
                m.serialize_entry("return_codes", codes)?;
            }
            Body::Simple { reason } => {
                if let Some(r) = reason {
                    m.serialize_entry("return_code", &r)?;
                }
            }
            Body::Invalid => m.serialize_entry("invalid", &true)?,
        }
        m.end()
    }
}

struct TopicsJson<'a>(&'a [u8], bool);

impl Serialize for TopicsJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut q = ser.serialize_seq(None)?;
        for (t, qos) in Topics::new(self.0, self.1) {
            match qos {
                Some(qos) => q.serialize_element(&TopicQos(t, qos))?,
                None => q.serialize_element(&s(t))?,
            }
        }
        q.end()
    }
}

struct TopicQos<'a>(&'a [u8], u8);

impl Serialize for TopicQos<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(2))?;
        m.serialize_entry("topic", &s(self.0))?;
        m.serialize_entry("qos", &self.1)?;
        m.end()
    }
}
