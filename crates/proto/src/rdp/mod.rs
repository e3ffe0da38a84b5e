//! RDP connection setup: TPKT + X.224 Connection Request (cookie
//! `mstshash=USER`, RDP negotiation request with the requested protocols) and
//! Connection Confirm (selected protocol or negotiation failure). Everything
//! after the Connection Confirm (TLS/CredSSP or MCS) is only counted.

use otwatch_core::{Direction, MsgKind, Proto, Transport};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
use crate::wire::{Cursor, be16_at};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 3389)];

/// Largest TPKT waited for before the connection is set up.
pub const MAX_TPKT: usize = 4096;

/// Strict content check: a TPKT holding an X.224 Connection Request with an
/// RDP cookie or negotiation request.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if transport != Transport::Tcp || data.len() < 11 || data[0] != 3 || data[1] != 0 {
        return false;
    }
    let len = be16_at(data, 2).unwrap_or(0) as usize;
    len == data.len()
        && data[5] == 0xe0
        && data[4] as usize == len - 5
        && parse_x224(&data[4..]).is_some_and(|m| m.cookie.is_some() || m.protocols.is_some())
}

/// An X.224 connection PDU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Message<'a> {
    /// 0xE0 Connection Request, 0xD0 Connection Confirm.
    pub code: u8,
    /// The cookie value (`mstshash=` user name) or routing token line.
    pub cookie: Option<&'a [u8]>,
    /// Requested (CR) or selected (CC) protocols bitmask.
    pub protocols: Option<u32>,
    pub neg_flags: u8,
    /// CC: RDP_NEG_FAILURE code.
    pub failure_code: Option<u32>,
}

pub fn parse_x224(b: &[u8]) -> Option<Message<'_>> {
    let li = *b.first()? as usize;
    let code = *b.get(1)? & 0xf0;
    if !matches!(code, 0xe0 | 0xd0) || li < 6 {
        return None;
    }
    let var = b.get(7..1 + li)?;
    let mut m = Message {
        code,
        ..Default::default()
    };
    let mut rest = var;
    if code == 0xe0 && rest.starts_with(b"Cookie: ") {
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = &rest[8..end];
        m.cookie = Some(line.strip_prefix(b"mstshash=").unwrap_or(line));
        rest = &rest[end + 2..];
    }
    if rest.len() >= 8 {
        let mut c = Cursor::new(rest);
        let t = c.u8()?;
        m.neg_flags = c.u8()?;
        let _len = c.le16()?;
        let v = c.le32()?;
        match t {
            1 | 2 => m.protocols = Some(v),
            3 => m.failure_code = Some(v),
            _ => {}
        }
    }
    Some(m)
}

pub fn protocol_names(p: u32) -> Vec<&'static str> {
    if p == 0 {
        return vec!["rdp"];
    }
    let mut v = Vec::new();
    for (bit, n) in [
        (1, "tls"),
        (2, "credssp"),
        (4, "rdstls"),
        (8, "credssp_early_auth"),
    ] {
        if p & bit != 0 {
            v.push(n);
        }
    }
    v
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        self.code as u16
    }
    fn identity(&self) -> Option<Identity<'_>> {
        let c = self.cookie?;
        let mut id = Identity::new(Subject::Sender, "rdp cookie");
        id.user = text(c);
        Some(id)
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry(
            "pdu",
            if self.code == 0xe0 {
                "connection_request"
            } else {
                "connection_confirm"
            },
        )?;
        if let Some(c) = self.cookie {
            m.serialize_entry("cookie", &String::from_utf8_lossy(c))?;
        }
        if let Some(p) = self.protocols {
            let k = if self.code == 0xe0 {
                "requested_protocols"
            } else {
                "selected_protocol"
            };
            m.serialize_entry(k, &protocol_names(p))?;
        }
        if let Some(f) = self.failure_code {
            m.serialize_entry("failure_code", &f)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    BadTpkt(u8, u16),
    BadX224,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::BadTpkt(v, l) => write!(
                f,
                "TPKT version {v} (expected 3) or length {l} outside 7..={MAX_TPKT}"
            ),
            Error::BadX224 => write!(
                f,
                "X.224 connection PDU truncated (length indicator beyond the TPKT)"
            ),
        }
    }
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadTpkt(..) => "bad_tpkt",
            Error::BadX224 => "bad_x224",
        }
    }
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    /// Connection set up (or given up): the rest of the flow is counted only.
    done: bool,
    /// Bytes after setup, per direction.
    pub later_bytes: [u64; 2],
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        let mut off = 0;
        while !self.done && data.len() - off >= 4 {
            let rest = &data[off..];
            let len = be16_at(rest, 2).unwrap_or(0);
            if rest[0] != 3 || !(7..=MAX_TPKT as u16).contains(&len) {
                if cx.flow.handshake_seen() {
                    let e = Error::BadTpkt(rest[0], len);
                    cx.malformed(Proto::Rdp, e.code(), &e, None, &rest[..rest.len().min(32)]);
                }
                self.done = true;
                break;
            }
            let n = len as usize;
            if rest.len() < n {
                return off;
            }
            let x = &rest[4..n];
            match x.get(1).map(|c| c & 0xf0) {
                Some(0xe0 | 0xd0) => match parse_x224(x) {
                    Some(m) => {
                        let kind = if cx.dir == Direction::ToServer {
                            MsgKind::Request
                        } else {
                            MsgKind::Response
                        };
                        cx.message(kind, crate::Message::Rdp(m));
                        if m.code == 0xd0 {
                            self.done = true;
                        }
                    }
                    None => {
                        let fc = x.get(1).map(|c| (c & 0xf0) as u16);
                        cx.malformed(Proto::Rdp, Error::BadX224.code(), &Error::BadX224, fc, x);
                    }
                },
                _ => self.done = true,
            }
            off += n;
        }
        if self.done {
            self.later_bytes[d] += (data.len() - off) as u64;
            return data.len();
        }
        off
    }

    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {
        self.done = true;
    }
}

#[cfg(test)]
mod tests {
    use otwatch_core::{Direction, Transport};

    use super::*;
    use crate::testutil::{Recorder, feed_stream, flow};

    pub(crate) fn tpkt(x: &[u8]) -> Vec<u8> {
        let mut v = vec![3, 0];
        v.extend(((x.len() + 4) as u16).to_be_bytes());
        v.extend_from_slice(x);
        v
    }

    pub(crate) fn cr(cookie: &str, proto: u32) -> Vec<u8> {
        let mut var = format!("Cookie: mstshash={cookie}\r\n").into_bytes();
        var.extend([1, 0, 8, 0]);
        var.extend(proto.to_le_bytes());
        let mut x = vec![(6 + var.len()) as u8, 0xe0, 0, 0, 0, 0, 0];
        x.extend(var);
        tpkt(&x)
    }

    #[test]
    fn request_confirm_then_counted() {
        let f = flow(Transport::Tcp, 3389, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let req = cr("operator", 3);
        assert!(probe(Transport::Tcp, &req));
        feed_stream(
            &mut s,
            &f,
            Direction::ToServer,
            &[&req[..5], &req[5..]],
            &mut rec,
        );
        let cc = tpkt(&[14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 1, 0, 0, 0]);
        feed_stream(&mut s, &f, Direction::ToClient, &[&cc], &mut rec);
        feed_stream(
            &mut s,
            &f,
            Direction::ToServer,
            &[&[0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5]],
            &mut rec,
        );
        let m = rec.of("message");
        assert_eq!(m.len(), 2);
        assert_eq!(m[0]["rdp"]["cookie"], "operator");
        assert_eq!(
            m[0]["rdp"]["requested_protocols"],
            serde_json::json!(["tls", "credssp"])
        );
        assert_eq!(m[1]["rdp"]["selected_protocol"], serde_json::json!(["tls"]));
        assert_eq!(m[1]["kind"], "response");
        assert_eq!(s.later_bytes[0], 10);
    }

    #[test]
    fn failure_and_malformed() {
        let f = flow(Transport::Tcp, 3389, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let cc = tpkt(&[14, 0xd0, 0, 0, 0, 0, 0, 3, 0, 8, 0, 5, 0, 0, 0]);
        feed_stream(&mut s, &f, Direction::ToClient, &[&cc], &mut rec);
        assert_eq!(rec.of("message")[0]["rdp"]["failure_code"], 5);
        let mut s = Session::default();
        feed_stream(
            &mut s,
            &f,
            Direction::ToServer,
            &[&tpkt(&[40, 0xe0, 0, 0])],
            &mut rec,
        );
        feed_stream(
            &mut s,
            &f,
            Direction::ToServer,
            &[&[9, 9, 9, 9, 9]],
            &mut rec,
        );
        let codes: Vec<_> = rec
            .of("malformed")
            .iter()
            .map(|m| m["error"]["code"].clone())
            .collect();
        assert_eq!(codes, vec!["bad_x224", "bad_tpkt"]);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_streams_never_panic(
            chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
        ) {
            let f = flow(Transport::Tcp, 3389, true);
            let mut s = Session::default();
            let mut rec = Recorder::default();
            let mut v = vec![3, 0, 0, 40];
            v.extend(chunks.concat());
            let left = feed_stream(&mut s, &f, Direction::ToServer, &[&v], &mut rec);
            proptest::prop_assert!(left <= MAX_TPKT);
        }
    }
}
