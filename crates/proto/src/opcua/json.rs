//! NDJSON form of an OPC UA message (the `opcua` object of an event record).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Message;
use super::wire::{
    Chunk, Detail, Item, Items, attribute_name, mode_name, policy_short, service_name, status_name,
    token_name,
};
use crate::protocols::ProtoMessage;

struct Text<'a>(Option<&'a [u8]>);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(b) => s.serialize_str(&String::from_utf8_lossy(b)),
            None => s.serialize_none(),
        }
    }
}

fn hex32(v: u32) -> String {
    format!("0x{v:08x}")
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("function_code", &ProtoMessage::function_code(self))?;
        m.serialize_entry("msg_type", self.header.msg_type.name())?;
        m.serialize_entry("chunk", &(self.header.chunk as char).to_string())?;
        m.serialize_entry("size", &self.header.size)?;
        if self.chunks > 1 {
            m.serialize_entry("chunks", &self.chunks)?;
        }
        match self.chunk {
            Chunk::Hello {
                version,
                receive_buffer,
                send_buffer,
                max_message,
                max_chunks,
                endpoint_url,
            } => {
                m.serialize_entry("version", &version)?;
                m.serialize_entry("receive_buffer", &receive_buffer)?;
                m.serialize_entry("send_buffer", &send_buffer)?;
                m.serialize_entry("max_message_size", &max_message)?;
                m.serialize_entry("max_chunk_count", &max_chunks)?;
                m.serialize_entry("endpoint_url", &Text(endpoint_url))?;
            }
            Chunk::Ack {
                version,
                receive_buffer,
                send_buffer,
                max_message,
                max_chunks,
            } => {
                m.serialize_entry("version", &version)?;
                m.serialize_entry("receive_buffer", &receive_buffer)?;
                m.serialize_entry("send_buffer", &send_buffer)?;
                m.serialize_entry("max_message_size", &max_message)?;
                m.serialize_entry("max_chunk_count", &max_chunks)?;
            }
            Chunk::Error { error, reason } => {
                m.serialize_entry("status", &hex32(error))?;
                m.serialize_entry("status_name", status_name(error))?;
                m.serialize_entry("reason", &Text(reason))?;
            }
            Chunk::ReverseHello {
                server_uri,
                endpoint_url,
            } => {
                m.serialize_entry("server_uri", &Text(server_uri))?;
                m.serialize_entry("endpoint_url", &Text(endpoint_url))?;
            }
            Chunk::Secure {
                channel_id,
                asym,
                token_id,
                seq,
                request_id,
                ..
            } => {
                m.serialize_entry("secure_channel_id", &channel_id)?;
                if let Some(a) = asym {
                    m.serialize_entry("security_policy_uri", &Text(a.policy_uri))?;
                    m.serialize_entry("security_policy", policy_short(a.policy_uri))?;
                    m.serialize_entry("sender_certificate_len", &a.sender_cert_len)?;
                    m.serialize_entry("receiver_thumbprint_len", &a.receiver_thumbprint_len)?;
                } else if let Some(p) = self.policy {
                    m.serialize_entry("security_policy", p.as_str())?;
                }
                if let Some(mode) = self.security_mode {
                    m.serialize_entry("security_mode", mode_name(mode))?;
                }
                if let Some(t) = token_id {
                    m.serialize_entry("token_id", &t)?;
                }
                // The sequence header is encrypted with the body on secured channels.
                if !self.encrypted {
                    if let Some(v) = seq {
                        m.serialize_entry("sequence_number", &v)?;
                    }
                    if let Some(v) = request_id {
                        m.serialize_entry("request_id", &v)?;
                    }
                }
                if self.encrypted {
                    m.serialize_entry("encrypted", &true)?;
                    m.serialize_entry("service_name", "unknown")?;
                }
            }
        }
        if let Some(sv) = self.service {
            if sv.id != u32::MAX {
                m.serialize_entry("service_id", &sv.id)?;
                let n = service_name(sv.id);
                m.serialize_entry("service_name", if n.is_empty() { "unknown" } else { n })?;
            }
            if let Some(h) = sv.request_handle {
                m.serialize_entry("request_handle", &h)?;
            }
            if let Some(st) = sv.status {
                m.serialize_entry("status", &hex32(st))?;
                m.serialize_entry("status_name", status_name(st))?;
            }
            detail(&mut m, sv.id, sv.detail)?;
        }
        if let Some(r) = self.request {
            if r.service_id != 0 && r.service_id != u32::MAX {
                m.serialize_entry("request_service_id", &r.service_id)?;
            }
            if let Some(l) = self.latency_ns {
                m.serialize_entry("latency_us", &(l as f64 / 1000.0))?;
            }
        }
        m.end()
    }
}

fn detail<M: SerializeMap>(m: &mut M, id: u32, d: Detail<'_>) -> Result<(), M::Error> {
    match d {
        Detail::None => {}
        Detail::Read { count, items }
        | Detail::Write { count, items }
        | Detail::Browse { count, items }
        | Detail::Call { count, items } => {
            m.serialize_entry("count", &count)?;
            let key = match id {
                631 => "nodes_to_read",
                673 => "nodes_to_write",
                527 => "nodes_to_browse",
                _ => "methods_to_call",
            };
            m.serialize_entry(key, &ItemsJson { id, count, items })?;
        }
        Detail::Results { count } => m.serialize_entry("count", &count)?,
        Detail::CreateSession {
            client,
            endpoint_url,
            session_name,
        } => {
            m.serialize_entry("client_application_uri", &Text(client.uri))?;
            m.serialize_entry("client_product_uri", &Text(client.product_uri))?;
            m.serialize_entry("client_application_name", &Text(client.name))?;
            m.serialize_entry("endpoint_url", &Text(endpoint_url))?;
            m.serialize_entry("session_name", &Text(session_name))?;
        }
        Detail::Endpoints {
            count,
            endpoint_url,
            server,
            security_mode,
            security_policy,
        } => {
            m.serialize_entry("endpoints", &count)?;
            if let Some(sv) = server {
                m.serialize_entry("endpoint_url", &Text(endpoint_url))?;
                m.serialize_entry("server_application_uri", &Text(sv.uri))?;
                m.serialize_entry("server_product_uri", &Text(sv.product_uri))?;
                m.serialize_entry("server_application_name", &Text(sv.name))?;
            }
            if let Some(md) = security_mode {
                m.serialize_entry("endpoint_security_mode", mode_name(md))?;
            }
            if security_policy.is_some() {
                m.serialize_entry("endpoint_security_policy", policy_short(security_policy))?;
            }
        }
        Detail::ActivateSession { token, user } => {
            m.serialize_entry("identity_token", token_name(token))?;
            if user.is_some() {
                m.serialize_entry("user", &Text(user))?;
            }
        }
        Detail::CreateSubscription { interval } => {
            m.serialize_entry("publishing_interval", &interval)?;
        }
        Detail::CreateSubscriptionResponse {
            subscription_id,
            interval,
        } => {
            m.serialize_entry("subscription_id", &subscription_id)?;
            m.serialize_entry("publishing_interval", &interval)?;
        }
        Detail::Publish { acks } => m.serialize_entry("acknowledgements", &acks)?,
        Detail::PublishResponse {
            subscription_id,
            events,
        } => {
            m.serialize_entry("subscription_id", &subscription_id)?;
            if events > 0 {
                m.serialize_entry("events", &events)?;
            }
        }
        Detail::OpenSecureChannel {
            request_type,
            mode,
            lifetime,
        } => {
            m.serialize_entry(
                "request_type",
                if request_type == 0 { "issue" } else { "renew" },
            )?;
            m.serialize_entry("security_mode", mode_name(mode))?;
            m.serialize_entry("lifetime", &lifetime)?;
        }
        Detail::OpenSecureChannelResponse {
            channel_id,
            token_id,
            lifetime,
        } => {
            m.serialize_entry("channel_id", &channel_id)?;
            m.serialize_entry("token_id", &token_id)?;
            m.serialize_entry("lifetime", &lifetime)?;
        }
    }
    Ok(())
}

struct ItemsJson<'a> {
    id: u32,
    count: u32,
    items: &'a [u8],
}

impl Serialize for ItemsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for it in Items::new(self.id, self.count.min(1000), self.items) {
            match it {
                Item::Attr { node, attribute } => seq.serialize_element(&serde_json_like(
                    &[("node_id", node.to_string())],
                    Some(("attribute", attribute_name(attribute))),
                ))?,
                Item::Node(node) => seq.serialize_element(&node.to_string())?,
                Item::Call { object, method } => seq.serialize_element(&serde_json_like(
                    &[
                        ("object_id", object.to_string()),
                        ("method_id", method.to_string()),
                    ],
                    None,
                ))?,
            }
        }
        seq.end()
    }
}

struct Obj<'a> {
    fields: &'a [(&'static str, String)],
    extra: Option<(&'static str, &'static str)>,
}

fn serde_json_like<'a>(
    fields: &'a [(&'static str, String)],
    extra: Option<(&'static str, &'static str)>,
) -> Obj<'a> {
    Obj { fields, extra }
}

impl Serialize for Obj<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.fields {
            m.serialize_entry(k, v)?;
        }
        if let Some((k, v)) = self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}
