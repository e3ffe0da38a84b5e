//! NDJSON form of an FTP message (the `ftp` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{Login, Message, command_code};

fn s(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// Commands whose argument is a file name.
const FILE_CMDS: &[u16] = &[14, 15, 16, 17, 20, 21, 23, 41, 42];

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        match *self {
            Message::Command { verb, arg } => {
                m.serialize_entry("command", &s(verb).to_ascii_uppercase())?;
                let code = command_code(verb);
                if code == 2 {
                    m.serialize_entry("password_sent", &true)?;
                }
                if let Some(a) = arg {
                    m.serialize_entry("arg", &s(a))?;
                    if FILE_CMDS.contains(&code) {
                        m.serialize_entry("file", &s(a))?;
                    }
                    if code == 1 {
                        m.serialize_entry("user", &s(a))?;
                    }
                }
            }
            Message::Reply {
                code,
                text,
                multiline,
                login,
                user,
            } => {
                m.serialize_entry("reply_code", &code)?;
                m.serialize_entry("reply", &s(text))?;
                if multiline {
                    m.serialize_entry("multiline", &true)?;
                }
                if let Some(l) = login {
                    m.serialize_entry(
                        "login",
                        match l {
                            Login::Success => "success",
                            Login::Failure => "failure",
                        },
                    )?;
                    if let Some(u) = user {
                        m.serialize_entry("user", &s(u))?;
                    }
                }
            }
        }
        m.end()
    }
}
