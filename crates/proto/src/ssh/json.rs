//! NDJSON form of an SSH message (the `ssh` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{KexInit, Message};

fn s(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// HASSH (client) or HASSHServer string: `kex;enc;mac;comp`.
pub fn hassh_string(k: &KexInit<'_>, client: bool) -> String {
    let (e, m, c) = if client {
        (k.enc_c2s, k.mac_c2s, k.comp_c2s)
    } else {
        (k.enc_s2c, k.mac_s2c, k.comp_s2c)
    };
    format!("{};{};{};{}", s(k.kex), s(e), s(m), s(c))
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        match *self {
            Message::Banner { line, client } => {
                let (p, sw, c) = Message::banner_parts(line);
                m.serialize_entry("message", "banner")?;
                m.serialize_entry("side", if client { "client" } else { "server" })?;
                m.serialize_entry("banner", &s(line))?;
                m.serialize_entry("proto_version", &s(p))?;
                m.serialize_entry("software", &s(sw))?;
                if !c.is_empty() {
                    m.serialize_entry("comments", &s(c))?;
                }
            }
            Message::KexInit { kex, client } => {
                m.serialize_entry("message", "kexinit")?;
                m.serialize_entry("msg_code", &20)?;
                m.serialize_entry("kex_algorithms", &s(kex.kex))?;
                m.serialize_entry("host_key_algorithms", &s(kex.host_key))?;
                m.serialize_entry("encryption_c2s", &s(kex.enc_c2s))?;
                m.serialize_entry("encryption_s2c", &s(kex.enc_s2c))?;
                m.serialize_entry("mac_c2s", &s(kex.mac_c2s))?;
                m.serialize_entry("mac_s2c", &s(kex.mac_s2c))?;
                m.serialize_entry("compression_c2s", &s(kex.comp_c2s))?;
                m.serialize_entry("compression_s2c", &s(kex.comp_s2c))?;
                let h = hassh_string(&kex, client);
                m.serialize_entry(
                    if client { "hassh" } else { "hassh_server" },
                    &crate::tls::fingerprint::md5_hex(&h),
                )?;
                m.serialize_entry(
                    if client {
                        "hassh_string"
                    } else {
                        "hassh_server_string"
                    },
                    &h,
                )?;
            }
            Message::Packet { msg, len } => {
                m.serialize_entry("msg_code", &msg)?;
                m.serialize_entry("length", &len)?;
            }
        }
        m.end()
    }
}
