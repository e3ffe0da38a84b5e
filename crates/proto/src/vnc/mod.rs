//! VNC (RFB) handshake: ProtocolVersion of both sides, security types offered
//! and chosen, the security result (with the failure reason), and the
//! ServerInit desktop name. After the handshake the flow is only counted.

use otwatch_core::{Direction, MsgKind, Proto, Transport};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
use crate::wire::Cursor;

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 5900), (Transport::Tcp, 5901)];

/// Longest reason / desktop name accepted.
pub const MAX_STRING: usize = 4096;

fn is_version(b: &[u8]) -> bool {
    b.len() >= 12
        && b.starts_with(b"RFB ")
        && b[4..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'.'
        && b[8..11].iter().all(u8::is_ascii_digit)
        && b[11] == b'\n'
}

/// Strict content check: exactly a ProtocolVersion message `RFB xxx.yyy\n`.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Tcp && data.len() == 12 && is_version(data)
}

/// A dissected RFB handshake message.
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    Version {
        version: &'a [u8],
    },
    /// Server: the offered types (3.7+) or the imposed type (3.3); empty
    /// with a reason when the server refuses the connection.
    SecurityTypes {
        types: &'a [u8],
        reason: Option<&'a [u8]>,
    },
    /// Client: the chosen type (3.7+).
    SecurityType {
        security_type: u8,
    },
    SecurityResult {
        ok: bool,
        code: u32,
        reason: Option<&'a [u8]>,
    },
    ServerInit {
        width: u16,
        height: u16,
        name: &'a [u8],
    },
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        match self {
            Message::Version { .. } => 1,
            Message::SecurityTypes { .. } | Message::SecurityType { .. } => 2,
            Message::SecurityResult { .. } => 3,
            Message::ServerInit { .. } => 4,
        }
    }
    fn identity(&self) -> Option<Identity<'_>> {
        let Message::ServerInit { name, .. } = self else {
            return None;
        };
        let mut id = Identity::new(Subject::Sender, "vnc desktop name");
        id.hostname = text(name);
        Some(id)
    }
}

pub fn security_type_name(t: u8) -> &'static str {
    match t {
        0 => "invalid",
        1 => "none",
        2 => "vnc_auth",
        5 => "ra2",
        6 => "ra2ne",
        16 => "tight",
        17 => "ultra",
        18 => "tls",
        19 => "vencrypt",
        30 => "apple_ard",
        _ => "other",
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        match *self {
            Message::Version { version } => {
                m.serialize_entry("message", "protocol_version")?;
                m.serialize_entry("version", s(version).trim_end())?;
            }
            Message::SecurityTypes { types, reason } => {
                m.serialize_entry("message", "security_types")?;
                let v: Vec<_> = types.iter().map(|&t| security_type_name(t)).collect();
                m.serialize_entry("security_types", &v)?;
                if let Some(r) = reason {
                    m.serialize_entry("auth_result", "failed")?;
                    m.serialize_entry("reason", &s(r))?;
                }
            }
            Message::SecurityType { security_type } => {
                m.serialize_entry("message", "security_type")?;
                m.serialize_entry("security_type", security_type_name(security_type))?;
            }
            Message::SecurityResult { ok, code, reason } => {
                m.serialize_entry("message", "security_result")?;
                m.serialize_entry("auth_result", if ok { "ok" } else { "failed" })?;
                m.serialize_entry("code", &code)?;
                if let Some(r) = reason {
                    m.serialize_entry("reason", &s(r))?;
                }
            }
            Message::ServerInit {
                width,
                height,
                name,
            } => {
                m.serialize_entry("message", "server_init")?;
                m.serialize_entry("width", &width)?;
                m.serialize_entry("height", &height)?;
                m.serialize_entry("desktop_name", &s(name))?;
            }
        }
        m.end()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    BadVersion,
    StringTooLong(u32),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::BadVersion => write!(f, "expected ProtocolVersion 'RFB xxx.yyy\\n'"),
            Error::StringTooLong(n) => write!(f, "string length {n} above {MAX_STRING}"),
        }
    }
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadVersion => "bad_version",
            Error::StringTooLong(_) => "string_too_long",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum S {
    #[default]
    Version,
    /// Server: security types (3.7+) / type (3.3).
    Security,
    /// Server: waiting for the client's choice.
    WaitChoice,
    Challenge,
    Result,
    Init,
    /// Client: the chosen security type.
    Choice,
    Done,
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    st: [S; 2],
    /// Minor version the client answered (3, 7, 8...).
    minor: u16,
    chosen: Option<u8>,
    /// Bytes after the handshake, per direction.
    pub later_bytes: [u64; 2],
}

fn minor(v: &[u8]) -> u16 {
    v[8..11]
        .iter()
        .fold(0u16, |a, &c| a * 10 + (c - b'0') as u16)
}

/// A u32-length-prefixed string at the start of `b`: (string, bytes used).
fn lstring(b: &[u8]) -> Result<Option<(&[u8], usize)>, Error> {
    let mut c = Cursor::new(b);
    let Some(n) = c.be32() else { return Ok(None) };
    if n as usize > MAX_STRING {
        return Err(Error::StringTooLong(n));
    }
    Ok(c.take(n as usize).map(|s| (s, 4 + n as usize)))
}

impl Session {
    /// Parses one step; returns bytes used (0 = need more), or None when done.
    fn step(&mut self, d: usize, b: &[u8], cx: &mut Ctx<'_>) -> Result<usize, Error> {
        let server = d == Direction::ToClient.idx();
        let kind = if server {
            MsgKind::Response
        } else {
            MsgKind::Request
        };
        let report = |m: Message<'_>, cx: &mut Ctx<'_>| cx.message(kind, crate::Message::Vnc(m));
        match self.st[d] {
            S::Version => {
                if b.len() < 12 {
                    return Ok(0);
                }
                if !is_version(b) {
                    return Err(Error::BadVersion);
                }
                report(Message::Version { version: &b[..12] }, cx);
                if !server {
                    self.minor = minor(b);
                    self.st[d] = if self.minor >= 7 { S::Choice } else { S::Done };
                } else {
                    if self.minor == 0 {
                        self.minor = minor(b);
                    }
                    self.st[d] = S::Security;
                }
                Ok(12)
            }
            S::Security if self.minor < 7 => {
                let Some(t) = Cursor::new(b).be32() else {
                    return Ok(0);
                };
                if t == 0 {
                    let Some((r, n)) = lstring(&b[4..])? else {
                        return Ok(0);
                    };
                    report(
                        Message::SecurityTypes {
                            types: &[],
                            reason: Some(r),
                        },
                        cx,
                    );
                    self.st[d] = S::Done;
                    return Ok(4 + n);
                }
                report(
                    Message::SecurityTypes {
                        types: &b[3..4],
                        reason: None,
                    },
                    cx,
                );
                self.chosen = Some(t as u8);
                self.st[d] = match t {
                    2 => S::Challenge,
                    1 => S::Init,
                    _ => S::Done,
                };
                Ok(4)
            }
            S::Security => {
                let Some(&n) = b.first() else { return Ok(0) };
                if n == 0 {
                    let Some((r, k)) = lstring(&b[1..])? else {
                        return Ok(0);
                    };
                    report(
                        Message::SecurityTypes {
                            types: &[],
                            reason: Some(r),
                        },
                        cx,
                    );
                    self.st[d] = S::Done;
                    return Ok(1 + k);
                }
                let Some(types) = b.get(1..1 + n as usize) else {
                    return Ok(0);
                };
                report(
                    Message::SecurityTypes {
                        types,
                        reason: None,
                    },
                    cx,
                );
                self.st[d] = S::WaitChoice;
                Ok(1 + n as usize)
            }
            S::WaitChoice => {
                let Some(t) = self.chosen else {
                    // The server does not talk before the client chose; give
                    // up if it does (or if the choice was never captured).
                    if b.len() > 64 {
                        self.st[d] = S::Done;
                    }
                    return Ok(0);
                };
                self.st[d] = match t {
                    2 => S::Challenge,
                    1 if self.minor >= 8 => S::Result,
                    1 => S::Init,
                    _ => S::Done,
                };
                Ok(usize::MAX)
            }
            S::Challenge => {
                if b.len() < 16 {
                    return Ok(0);
                }
                self.st[d] = S::Result;
                Ok(16)
            }
            S::Result => {
                let Some(code) = Cursor::new(b).be32() else {
                    return Ok(0);
                };
                if code != 0 && self.minor >= 8 {
                    let Some((r, n)) = lstring(&b[4..])? else {
                        return Ok(0);
                    };
                    report(
                        Message::SecurityResult {
                            ok: false,
                            code,
                            reason: Some(r),
                        },
                        cx,
                    );
                    self.st[d] = S::Done;
                    return Ok(4 + n);
                }
                report(
                    Message::SecurityResult {
                        ok: code == 0,
                        code,
                        reason: None,
                    },
                    cx,
                );
                self.st[d] = if code == 0 { S::Init } else { S::Done };
                Ok(4)
            }
            S::Init => {
                if b.len() < 24 {
                    return Ok(0);
                }
                let mut c = Cursor::new(b);
                let width = c.be16().unwrap_or(0);
                let height = c.be16().unwrap_or(0);
                let Some((name, n)) = lstring(&b[20..])? else {
                    return Ok(0);
                };
                report(
                    Message::ServerInit {
                        width,
                        height,
                        name,
                    },
                    cx,
                );
                self.st[d] = S::Done;
                Ok(20 + n)
            }
            S::Choice => {
                let Some(&t) = b.first() else { return Ok(0) };
                report(Message::SecurityType { security_type: t }, cx);
                self.chosen = Some(t);
                self.st[d] = S::Done;
                Ok(1)
            }
            S::Done => Ok(usize::MAX),
        }
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        let mut off = 0;
        loop {
            if self.st[d] == S::Done {
                self.later_bytes[d] += (data.len() - off) as u64;
                return data.len();
            }
            if off >= data.len() {
                return off;
            }
            match self.step(d, &data[off..], cx) {
                Ok(0) => return off,
                Ok(usize::MAX) => continue,
                Ok(n) => off += n,
                Err(e) => {
                    if cx.flow.handshake_seen() || e != Error::BadVersion {
                        let fc = match self.st[d] {
                            S::Version => 1,
                            S::Init => 4,
                            _ => 3,
                        };
                        cx.malformed(
                            Proto::Vnc,
                            e.code(),
                            &e,
                            Some(fc),
                            &data[off..data.len().min(off + 32)],
                        );
                    }
                    self.st[d] = S::Done;
                }
            }
        }
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        self.st[cx.dir.idx()] = S::Done;
    }
}

#[cfg(test)]
mod tests {
    use otwatch_core::{Direction, Transport};

    use super::*;
    use crate::testutil::{Recorder, feed_stream, flow};

    #[test]
    fn no_auth_handshake_38() {
        let f = flow(Transport::Tcp, 5900, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        feed_stream(
            &mut s,
            &f,
            Direction::ToClient,
            &[b"RFB 003.008\n"],
            &mut rec,
        );
        feed_stream(
            &mut s,
            &f,
            Direction::ToServer,
            &[b"RFB 003.008\n"],
            &mut rec,
        );
        feed_stream(&mut s, &f, Direction::ToClient, &[&[2, 1, 2]], &mut rec);
        feed_stream(&mut s, &f, Direction::ToServer, &[&[1]], &mut rec);
        let mut init = vec![0, 0, 0, 0, 4, 0, 3, 0];
        init.extend([0u8; 16]);
        init.extend(7u32.to_be_bytes());
        init.extend(b"HMI-OPS");
        feed_stream(
            &mut s,
            &f,
            Direction::ToClient,
            &[&init[..6], &init[6..]],
            &mut rec,
        );
        feed_stream(
            &mut s,
            &f,
            Direction::ToServer,
            &[&[1, 0, 0, 0, 0, 0]],
            &mut rec,
        );
        let m = rec.of("message");
        let fcs: Vec<_> = m
            .iter()
            .map(|m| m["vnc"]["message"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            fcs,
            vec![
                "protocol_version",
                "protocol_version",
                "security_types",
                "security_type",
                "security_result",
                "server_init"
            ]
        );
        assert_eq!(
            m[2]["vnc"]["security_types"],
            serde_json::json!(["none", "vnc_auth"])
        );
        assert_eq!(m[4]["vnc"]["auth_result"], "ok");
        assert_eq!(m[5]["vnc"]["desktop_name"], "HMI-OPS");
        assert_eq!(m[5]["kind"], "response");
    }

    #[test]
    fn vnc_auth_failure_and_33() {
        let f = flow(Transport::Tcp, 5900, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        feed_stream(
            &mut s,
            &f,
            Direction::ToClient,
            &[b"RFB 003.008\n"],
            &mut rec,
        );
        feed_stream(
            &mut s,
            &f,
            Direction::ToServer,
            &[b"RFB 003.008\n"],
            &mut rec,
        );
        feed_stream(&mut s, &f, Direction::ToClient, &[&[1, 2]], &mut rec);
        feed_stream(&mut s, &f, Direction::ToServer, &[&[2]], &mut rec);
        let mut resp = vec![7u8; 16];
        resp.extend([0, 0, 0, 1, 0, 0, 0, 4]);
        resp.extend(b"nope");
        feed_stream(&mut s, &f, Direction::ToClient, &[&resp], &mut rec);
        let m = rec.of("message");
        assert_eq!(m[4]["vnc"]["auth_result"], "failed");
        assert_eq!(m[4]["vnc"]["reason"], "nope");
        let mut s = Session::default();
        let mut rec = Recorder::default();
        feed_stream(
            &mut s,
            &f,
            Direction::ToClient,
            &[b"RFB 003.003\n"],
            &mut rec,
        );
        feed_stream(
            &mut s,
            &f,
            Direction::ToServer,
            &[b"RFB 003.003\n"],
            &mut rec,
        );
        feed_stream(&mut s, &f, Direction::ToClient, &[&[0, 0, 0, 1]], &mut rec);
        assert_eq!(
            rec.of("message")[2]["vnc"]["security_types"],
            serde_json::json!(["none"])
        );
        feed_stream(
            &mut s,
            &f,
            Direction::ToClient,
            &[b"XFB 003.003\n"],
            &mut rec,
        );
        assert!(probe(Transport::Tcp, b"RFB 003.008\n"));
        assert!(!probe(Transport::Tcp, b"RFB 003.008"));
    }

    #[test]
    fn bad_version_is_malformed() {
        let f = flow(Transport::Tcp, 5900, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        feed_stream(
            &mut s,
            &f,
            Direction::ToClient,
            &[b"HELLO WORLD!\n"],
            &mut rec,
        );
        assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_version");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_streams_never_panic(
            chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
        ) {
            let f = flow(Transport::Tcp, 5900, true);
            let mut s = Session::default();
            let mut rec = Recorder::default();
            let mut v = b"RFB 003.008\n".to_vec();
            v.extend(chunks.concat());
            let left = feed_stream(&mut s, &f, Direction::ToClient, &[&v], &mut rec);
            proptest::prop_assert!(left <= MAX_STRING + 64);
        }
    }
}
