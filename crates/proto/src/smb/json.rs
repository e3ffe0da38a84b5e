//! NDJSON form of an SMB command (the `smb` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::ntlm::{self, Str};
use super::wire::{
    Body, fsctl_name, smb1_command_name, smb2_command_name, status_name, trans2_name,
};

struct Dialects<'a>(u8, &'a [u8]);

impl Serialize for Dialects<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 1 {
            // (0x02 "name" NUL)*
            let v: Vec<String> = self
                .1
                .split(|&c| c == 0)
                .filter(|p| p.first() == Some(&2))
                .map(|p| String::from_utf8_lossy(&p[1..]).into_owned())
                .collect();
            s.collect_seq(v)
        } else {
            s.collect_seq(
                self.1
                    .chunks_exact(2)
                    .map(|c| format!("0x{:04x}", u16::from_le_bytes([c[0], c[1]]))),
            )
        }
    }
}

fn st(x: Str<'_>) -> String {
    x.to_string_lossy()
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let c = &self.cmd;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("version", &self.version())?;
        m.serialize_entry("command", &c.command)?;
        let name = if c.version == 1 {
            smb1_command_name(c.command as u8)
        } else {
            smb2_command_name(c.command)
        };
        m.serialize_entry("command_name", name)?;
        m.serialize_entry("status", &c.status)?;
        if let Some(n) = status_name(c.status) {
            m.serialize_entry("status_name", n)?;
        }
        m.serialize_entry("flags", &c.flags)?;
        m.serialize_entry("message_id", &c.message_id)?;
        m.serialize_entry("session_id", &c.session_id)?;
        m.serialize_entry("tree_id", &c.tree_id)?;
        if c.version == 1 {
            m.serialize_entry("process_id", &c.process_id)?;
        } else {
            m.serialize_entry("credits", &c.credits)?;
        }
        if c.chained {
            m.serialize_entry("andx_chained", &true)?;
        }
        if self.flow_dialect != 0 {
            m.serialize_entry("dialect", &format!("0x{:04x}", self.flow_dialect))?;
        }
        if self.truncated {
            m.serialize_entry("truncated", &true)?;
        }
        match c.body {
            Body::None => {}
            Body::Negotiate { dialects } => {
                m.serialize_entry("dialects", &Dialects(c.version, dialects))?
            }
            Body::NegotiateResponse { dialect } => {
                if c.version == 1 {
                    m.serialize_entry("dialect_index", &dialect)?;
                } else {
                    m.serialize_entry("dialect", &format!("0x{dialect:04x}"))?;
                }
            }
            Body::SessionSetup {
                ntlm: n,
                user,
                domain,
                native_os,
            } => {
                if let Some(n) = n {
                    m.serialize_entry("ntlmssp_type", &n.msg_type)?;
                    if n.msg_type == 3 {
                        m.serialize_entry("user", &st(n.user))?;
                        m.serialize_entry("domain", &st(n.domain))?;
                        m.serialize_entry("workstation", &st(n.workstation))?;
                    }
                    if n.msg_type == 2 {
                        if let Some(v) = ntlm::av(n.target_info, ntlm::AV_NB_COMPUTER) {
                            m.serialize_entry("server_nb_computer_name", &st(v))?;
                        }
                        if let Some(v) = ntlm::av(n.target_info, ntlm::AV_NB_DOMAIN) {
                            m.serialize_entry("server_nb_domain_name", &st(v))?;
                        }
                        if let Some(v) = ntlm::av(n.target_info, ntlm::AV_DNS_COMPUTER) {
                            m.serialize_entry("server_dns_computer_name", &st(v))?;
                        }
                        if let Some(v) = ntlm::av(n.target_info, ntlm::AV_DNS_DOMAIN) {
                            m.serialize_entry("server_dns_domain_name", &st(v))?;
                        }
                    }
                    if let Some(v) = n.version.and_then(ntlm::version_string) {
                        m.serialize_entry("ntlm_version", &v)?;
                    }
                } else {
                    if !user.is_empty() {
                        m.serialize_entry("user", &st(user))?;
                    }
                    if !domain.is_empty() {
                        m.serialize_entry("domain", &st(domain))?;
                    }
                    if !native_os.is_empty() {
                        m.serialize_entry("native_os", &st(native_os))?;
                    }
                }
            }
            Body::TreeConnect { path } => m.serialize_entry("path", &st(path))?,
            Body::Create { name } => m.serialize_entry("file", &st(name))?,
            Body::CreateResponse { .. } | Body::Close { .. } => {}
            Body::Read { len, offset, .. } | Body::Write { len, offset, .. } => {
                m.serialize_entry("length", &len)?;
                if !c.response {
                    m.serialize_entry("offset", &offset)?;
                }
            }
            Body::Ioctl { ctl_code } => {
                m.serialize_entry("ioctl", &ctl_code)?;
                m.serialize_entry("ioctl_name", fsctl_name(ctl_code))?;
            }
            Body::Trans2 { subcommand } => {
                m.serialize_entry("trans2_subcommand", &subcommand)?;
                m.serialize_entry("trans2_name", trans2_name(subcommand))?;
            }
            Body::Trans { name, .. } => m.serialize_entry("file", &st(name))?,
            Body::NtTrans { function, .. } => {
                m.serialize_entry("nt_trans_function", &function)?;
            }
        }
        m.end()
    }
}
