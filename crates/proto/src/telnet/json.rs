//! NDJSON form of a Telnet event (the `telnet` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{IAC, Message, SB, SE};

fn s(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

pub fn option_name(o: u8) -> &'static str {
    match o {
        0 => "binary",
        1 => "echo",
        3 => "suppress_go_ahead",
        5 => "status",
        6 => "timing_mark",
        24 => "terminal_type",
        31 => "window_size",
        32 => "terminal_speed",
        33 => "remote_flow_control",
        34 => "linemode",
        35 => "x_display_location",
        36 => "environment",
        37 => "authentication",
        38 => "encryption",
        39 => "new_environment",
        _ => "other",
    }
}

struct Options<'a>(&'a [u8]);

impl Serialize for Options<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let b = self.0;
        let mut v = Vec::new();
        let mut i = 0;
        while i + 1 < b.len() {
            if b[i] != IAC {
                i += 1;
                continue;
            }
            let cmd = b[i + 1];
            match cmd {
                251..=254 if i + 2 < b.len() => {
                    let verb = ["WILL", "WONT", "DO", "DONT"][(cmd - 251) as usize];
                    v.push(format!("{verb} {}", option_name(b[i + 2])));
                    i += 3;
                }
                SB => {
                    let end = b[i..]
                        .windows(2)
                        .position(|w| w == [IAC, SE])
                        .map_or(b.len(), |p| i + p);
                    let body = &b[(i + 2).min(end)..end];
                    if body.first() == Some(&24) && body.get(1) == Some(&0) {
                        v.push(format!("SB terminal_type IS {}", s(&body[2..])));
                    } else if let Some(&o) = body.first() {
                        v.push(format!("SB {}", option_name(o)));
                    }
                    i = end + 2;
                }
                _ => i += 2,
            }
        }
        ser.collect_seq(v)
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        match *self {
            Message::Negotiation { data } => {
                m.serialize_entry("event", "negotiation")?;
                m.serialize_entry("options", &Options(data))?;
            }
            Message::LoginPrompt { prompt } => {
                m.serialize_entry("event", "login_prompt")?;
                m.serialize_entry("prompt", &s(prompt))?;
            }
            Message::PasswordPrompt { prompt } => {
                m.serialize_entry("event", "password_prompt")?;
                m.serialize_entry("prompt", &s(prompt))?;
            }
            Message::UserSent { user } => {
                m.serialize_entry("event", "user_sent")?;
                m.serialize_entry("user", &s(user))?;
            }
            Message::LoginFailed { line, user } => {
                m.serialize_entry("event", "login_failed")?;
                m.serialize_entry("prompt", &s(line))?;
                if let Some(u) = user {
                    m.serialize_entry("user", &s(u))?;
                }
            }
            Message::LoginSuccess { prompt, user } => {
                m.serialize_entry("event", "login_success")?;
                m.serialize_entry("prompt", &s(prompt))?;
                m.serialize_entry("password_sent", &true)?;
                if let Some(u) = user {
                    m.serialize_entry("user", &s(u))?;
                }
            }
        }
        m.end()
    }
}
