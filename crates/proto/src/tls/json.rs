//! NDJSON form of a TLS message (the `tls` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::wire::{alert_description_name, alpn_names, handshake_name};
use super::{Body, Message, fingerprint as fp, x509};
use crate::json::Hex;

fn s(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

struct Alpn<'a>(&'a [u8]);

impl Serialize for Alpn<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(alpn_names(self.0).map(s))
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("record_version", &self.record_version)?;
        m.serialize_entry("content_type", &self.content_type)?;
        if let Some(t) = self.handshake_type() {
            m.serialize_entry("handshake_type", &t)?;
            m.serialize_entry("handshake", handshake_name(t))?;
        }
        match self.body {
            Body::ClientHello(h) => {
                m.serialize_entry("version", &h.max_version())?;
                m.serialize_entry("legacy_version", &h.legacy_version)?;
                if let Some(n) = h.sni {
                    m.serialize_entry("sni", &s(n))?;
                }
                if let Some(a) = h.alpn {
                    m.serialize_entry("alpn", &Alpn(a))?;
                }
                m.serialize_entry("cipher_count", &(h.ciphers.len() / 2))?;
                let js = fp::ja3_string(&h);
                m.serialize_entry("ja3", &fp::md5_hex(&js))?;
                m.serialize_entry("ja3_string", &js)?;
                m.serialize_entry("ja4", &fp::ja4(&h))?;
            }
            Body::ServerHello(h) => {
                m.serialize_entry("version", &h.version())?;
                m.serialize_entry("legacy_version", &h.legacy_version)?;
                m.serialize_entry("cipher", &h.cipher)?;
                if let Some(a) = h.alpn {
                    m.serialize_entry("alpn", &Alpn(a))?;
                }
                let js = fp::ja3s_string(&h);
                m.serialize_entry("ja3s", &fp::md5_hex(&js))?;
                m.serialize_entry("ja3s_string", &js)?;
            }
            Body::Certificate { leaf, count } => {
                m.serialize_entry("cert_count", &count)?;
                if let Some(c) = leaf.and_then(x509::parse) {
                    m.serialize_entry("cert_subject", &x509::name_string(c.subject))?;
                    m.serialize_entry("cert_issuer", &x509::name_string(c.issuer))?;
                    m.serialize_entry("cert_serial", &Hex(c.serial))?;
                    m.serialize_entry("cert_not_before", &x509::time_string(c.not_before))?;
                    m.serialize_entry("cert_not_after", &x509::time_string(c.not_after))?;
                    if let Some(san) = c.san {
                        let v: Vec<_> = x509::san_dns(san).map(s).collect();
                        m.serialize_entry("cert_san_dns", &v)?;
                    }
                    m.serialize_entry("cert_self_signed", &c.self_signed())?;
                }
            }
            Body::Handshake { len, .. } => m.serialize_entry("length", &len)?,
            Body::Alert { level, description } => {
                m.serialize_entry("alert_level", &level)?;
                m.serialize_entry("alert_description", &description)?;
                m.serialize_entry("alert", alert_description_name(description))?;
            }
            Body::ChangeCipherSpec => {}
        }
        m.end()
    }
}
