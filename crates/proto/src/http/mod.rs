//! HTTP/1.x dissector.
//!
//! - `wire`: pure parsing of a message head (start line, the header fields we
//!   keep) and chunk-size lines.
//! - this file: the per-flow [`Session`]: one message per request head and per
//!   response head, body framing (Content-Length, chunked, until close) so that
//!   pipelined messages are found, FIFO request/response pairing (HEAD, 1xx,
//!   204 and 304 responses have no body), resynchronisation after garbage/gaps.
//! - `json`: the `http` object of NDJSON records.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
pub use wire::{Error, Head};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[
    (Transport::Tcp, 80),
    (Transport::Tcp, 8080),
    (Transport::Tcp, 8000),
    (Transport::Tcp, 8008),
];

/// Requests remembered per flow while waiting for their response.
pub const MAX_PENDING: usize = 32;

/// Strict content check for flows on other ports: a complete request line or
/// status line.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if transport != Transport::Tcp {
        return false;
    }
    let Some(n) = data.iter().take(4096).position(|&c| c == b'\n') else {
        return false;
    };
    let line = wire::trim_cr(&data[..n]);
    wire::is_request_line(line) || wire::is_status_line(line)
}

/// A dissected HTTP message head.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub head: Head<'a>,
    /// Body length when known from the head (Content-Length, or 0 for
    /// messages that have no body); `None` for chunked / until-close bodies.
    pub body_len: Option<u64>,
    /// Body framing: "none", "length", "chunked", "until_close".
    pub framing: &'static str,
    /// On a response: the method code of the request it answers (FIFO).
    pub request_method: Option<u16>,
    /// On a response: time since its request, ns.
    pub latency_ns: Option<i64>,
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        if self.head.is_response() {
            self.head.status
        } else {
            wire::method_code(self.head.method)
        }
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let h = &self.head;
        if h.is_response() {
            let s = h.server?;
            let mut id = Identity::new(Subject::Sender, "http Server");
            let first = s.split(|&c| c == b' ').next().unwrap_or(s);
            match first.iter().position(|&c| c == b'/') {
                Some(p) => {
                    id.model = text(&first[..p]);
                    id.firmware = text(&first[p + 1..]);
                }
                None => id.model = text(s),
            }
            id.device_class = text(s);
            Some(id)
        } else {
            let ua = h.user_agent;
            let user = h.basic_auth.and_then(wire::basic_user);
            if ua.is_none() && user.is_none() {
                return None;
            }
            let mut id = Identity::new(Subject::Sender, "http User-Agent");
            if let Some(ua) = ua {
                id.device_class = text(ua);
                id.os = os_hint(ua).map(Into::into);
            }
            id.user = user.map(Into::into);
            Some(id)
        }
    }
}

fn os_hint(ua: &[u8]) -> Option<&'static str> {
    let has = |s: &[u8]| ua.windows(s.len()).any(|w| w == s);
    if has(b"Windows") {
        Some("Windows")
    } else if has(b"Android") {
        Some("Android")
    } else if has(b"iPhone") || has(b"iPad") {
        Some("iOS")
    } else if has(b"Mac OS X") || has(b"Macintosh") {
        Some("macOS")
    } else if has(b"Linux") {
        Some("Linux")
    } else {
        None
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    #[default]
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkCrlf,
    Trailer,
    UntilClose,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    method: u16,
    ts: Timestamp,
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    mode: [Mode; 2],
    resync: [bool; 2],
    reported: [bool; 2],
    started: [bool; 2],
    pending: [Option<Pending>; MAX_PENDING],
    head: usize,
    len: usize,
    /// Requests dropped from the FIFO without an answer.
    pub unanswered: u64,
    /// Responses that matched no request.
    pub unmatched_responses: u64,
    /// Bodies seen on the flow (file ids of `File` events).
    files: u64,
    /// Per direction: file id and offset of the body being read.
    file: [(u64, u64); 2],
    /// URI of the latest request (the name of request and response bodies),
    /// at most [`MAX_NAME`] bytes.
    uri: Vec<u8>,
}

/// Longest file name (request URI) kept for `File` events.
pub const MAX_NAME: usize = 1024;

impl Session {
    fn push(&mut self, p: Pending) {
        if self.len == MAX_PENDING {
            self.head = (self.head + 1) % MAX_PENDING;
            self.len -= 1;
            self.unanswered += 1;
        }
        self.pending[(self.head + self.len) % MAX_PENDING] = Some(p);
        self.len += 1;
    }

    fn front(&self) -> Option<Pending> {
        if self.len == 0 {
            None
        } else {
            self.pending[self.head]
        }
    }

    fn pop(&mut self) -> Option<Pending> {
        if self.len == 0 {
            return None;
        }
        let p = self.pending[self.head].take();
        self.head = (self.head + 1) % MAX_PENDING;
        self.len -= 1;
        p
    }

    /// Reports a piece of the body being read in direction `d`.
    #[inline]
    fn file_data(&mut self, d: usize, b: &[u8], end: bool, cx: &mut Ctx<'_>) {
        let (id, at) = self.file[d];
        let name = (!self.uri.is_empty()).then_some(&self.uri[..]);
        cx.file(Proto::Http, id, name, at, b, end);
        self.file[d].1 = at + b.len() as u64;
    }

    fn malformed(&mut self, d: usize, e: Error, fc: Option<u16>, data: &[u8], cx: &mut Ctx<'_>) {
        if !self.reported[d] {
            cx.malformed(Proto::Http, e.code(), &e, fc, &data[..data.len().min(256)]);
            self.reported[d] = true;
        }
    }

    /// Parses one complete head and sets the body mode. Returns nothing; the
    /// message (and any malformed event) is reported.
    fn on_head(&mut self, d: usize, b: &[u8], cx: &mut Ctx<'_>) {
        let (head, err) = wire::parse_head(b);
        let Some(h) = head else {
            let e = err.unwrap_or(Error::BadStartLine);
            self.malformed(d, e, None, b, cx);
            self.mode[d] = Mode::Head;
            return;
        };
        self.reported[d] = false;
        let (mode, framing, body_len, req, lat) = if h.is_response() {
            let req = if h.status >= 200 || h.status == 101 {
                let p = self.pop();
                if p.is_none() {
                    self.unmatched_responses += 1;
                }
                p
            } else {
                self.front()
            };
            let method = req.map(|p| p.method);
            let no_body = matches!(h.status, 100..=199 | 204 | 304) || method == Some(3);
            let tunnel = h.status == 101 || (method == Some(7) && (200..300).contains(&h.status));
            let (mode, framing, len) = if tunnel {
                (Mode::UntilClose, "until_close", None)
            } else if no_body {
                (Mode::Head, "none", Some(0))
            } else if h.chunked {
                (Mode::ChunkSize, "chunked", None)
            } else if let Some(n) = h.content_length {
                (body_mode(n), "length", Some(n))
            } else {
                (Mode::UntilClose, "until_close", None)
            };
            (
                mode,
                framing,
                len,
                method,
                req.map(|p| cx.ts.nanos_since(p.ts)),
            )
        } else {
            self.push(Pending {
                method: wire::method_code(h.method),
                ts: cx.ts,
            });
            let (mode, framing, len) = if h.chunked {
                (Mode::ChunkSize, "chunked", None)
            } else if let Some(n) = h.content_length {
                (body_mode(n), "length", Some(n))
            } else {
                (Mode::Head, "none", Some(0))
            };
            (mode, framing, len, None, None)
        };
        self.mode[d] = mode;
        if !h.is_response() {
            self.uri.clear();
            self.uri
                .extend_from_slice(&h.uri[..h.uri.len().min(MAX_NAME)]);
        }
        if mode != Mode::Head {
            self.files += 1;
            self.file[d] = (self.files, 0);
        }
        let msg = Message {
            head: h,
            body_len,
            framing,
            request_method: req,
            latency_ns: lat,
        };
        let kind = if h.is_response() {
            MsgKind::Response
        } else {
            MsgKind::Request
        };
        let fc = msg.function_code();
        cx.message(kind, crate::Message::Http(msg));
        if let Some(e) = err {
            cx.malformed(Proto::Http, e.code(), &e, Some(fc), &b[..b.len().min(256)]);
        }
    }
}

fn body_mode(n: u64) -> Mode {
    if n == 0 { Mode::Head } else { Mode::Body(n) }
}

/// Offset of the next line start after `from` whose line looks like a start line
/// (complete and valid, or an incomplete plausible prefix).
fn find_start(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'\n')) {
        let s = i + p + 1;
        if s < b.len() && wire::starts_like_message(&b[s..]) {
            return Some(s);
        }
        i = s;
    }
    None
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        if !self.started[d] {
            self.started[d] = true;
            if !cx.flow.handshake_seen() && !wire::starts_like_message(data) {
                self.resync[d] = true;
                self.reported[d] = true;
            }
        }
        let mut off = 0;
        while off < data.len() {
            let rest = &data[off..];
            match self.mode[d] {
                Mode::Body(n) => {
                    let k = (rest.len() as u64).min(n);
                    self.file_data(d, &rest[..k as usize], n == k, cx);
                    off += k as usize;
                    self.mode[d] = body_mode(n - k);
                }
                Mode::UntilClose => {
                    self.file_data(d, rest, false, cx);
                    off = data.len();
                }
                Mode::ChunkData(n) => {
                    let k = (rest.len() as u64).min(n);
                    self.file_data(d, &rest[..k as usize], false, cx);
                    off += k as usize;
                    self.mode[d] = if n == k {
                        Mode::ChunkCrlf
                    } else {
                        Mode::ChunkData(n - k)
                    };
                }
                Mode::ChunkCrlf => {
                    if rest.starts_with(b"\r\n") {
                        off += 2;
                    } else if rest.starts_with(b"\n") {
                        off += 1;
                    } else if rest == b"\r" {
                        break;
                    }
                    self.mode[d] = Mode::ChunkSize;
                }
                Mode::ChunkSize | Mode::Trailer => {
                    let Some(nl) = rest.iter().position(|&c| c == b'\n') else {
                        if rest.len() > wire::MAX_CHUNK_LINE {
                            self.malformed(d, Error::BadChunkSize, None, rest, cx);
                            self.mode[d] = Mode::Head;
                            self.resync[d] = true;
                            continue;
                        }
                        break;
                    };
                    let line = wire::trim_cr(&rest[..nl]);
                    off += nl + 1;
                    if self.mode[d] == Mode::Trailer {
                        if line.is_empty() {
                            self.mode[d] = Mode::Head;
                        }
                        continue;
                    }
                    match wire::parse_chunk_size(line) {
                        Some(0) => {
                            self.file_data(d, &[], true, cx);
                            self.mode[d] = Mode::Trailer
                        }
                        Some(n) => self.mode[d] = Mode::ChunkData(n),
                        None => {
                            self.malformed(d, Error::BadChunkSize, None, line, cx);
                            self.mode[d] = Mode::Head;
                            self.resync[d] = true;
                        }
                    }
                }
                Mode::Head => {
                    // Blank lines between messages are tolerated.
                    if rest[0] == b'\n' || rest[0] == b'\r' && rest.get(1) == Some(&b'\n') {
                        off += if rest[0] == b'\n' { 1 } else { 2 };
                        continue;
                    }
                    if rest == b"\r" {
                        break;
                    }
                    if self.resync[d] {
                        let ok = match rest.iter().position(|&c| c == b'\n') {
                            Some(n) => {
                                let l = wire::trim_cr(&rest[..n]);
                                wire::is_request_line(l) || wire::is_status_line(l)
                            }
                            None => wire::starts_like_message(rest) && rest.len() < 8192,
                        };
                        if !ok {
                            match find_start(rest) {
                                Some(k) => off += k,
                                None => {
                                    // Skip to the last line start; keep its bytes.
                                    let keep = rest.iter().rposition(|&c| c == b'\n');
                                    match keep {
                                        Some(k) if rest.len() - k - 1 < 8192 => off += k + 1,
                                        _ => off = data.len(),
                                    }
                                    break;
                                }
                            }
                            continue;
                        }
                        self.resync[d] = false;
                    }
                    if !wire::starts_like_message(rest) {
                        // The rejected line with its line end (content
                        // probes of other protocols look for it).
                        let k = rest
                            .iter()
                            .position(|&c| c == b'\n')
                            .map_or(rest.len(), |n| n + 1);
                        self.malformed(d, Error::BadStartLine, None, &rest[..k], cx);
                        self.resync[d] = true;
                        continue;
                    }
                    match wire::head_end(rest) {
                        Some(n) => {
                            self.on_head(d, &rest[..n], cx);
                            off += n;
                        }
                        None => {
                            if rest.len() > wire::MAX_HEAD {
                                self.malformed(d, Error::HeadTooLong(rest.len()), None, rest, cx);
                                self.resync[d] = true;
                                off += 1;
                                continue;
                            }
                            break;
                        }
                    }
                }
            }
        }
        off
    }

    fn on_end(&mut self, cx: &mut Ctx<'_>) {
        // Bodies delimited by the end of the connection are complete now.
        for dir in [
            otwatch_core::Direction::ToServer,
            otwatch_core::Direction::ToClient,
        ] {
            let d = dir.idx();
            if self.mode[d] == Mode::UntilClose {
                let (id, at) = self.file[d];
                let name = (!self.uri.is_empty()).then_some(&self.uri[..]);
                let saved = cx.dir;
                cx.dir = dir;
                cx.file(Proto::Http, id, name, at, &[], true);
                cx.dir = saved;
                self.mode[d] = Mode::Head;
            }
        }
    }

    fn on_gap(&mut self, len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        // Lost body bytes: the file continues at a later offset (consumers
        // see the hole).
        if matches!(
            self.mode[d],
            Mode::Body(_) | Mode::ChunkData(_) | Mode::UntilClose
        ) {
            self.file[d].1 += len as u64;
        }
        match self.mode[d] {
            Mode::Body(n) if n > len as u64 => self.mode[d] = Mode::Body(n - len as u64),
            Mode::ChunkData(n) if n > len as u64 => self.mode[d] = Mode::ChunkData(n - len as u64),
            Mode::UntilClose => {}
            _ => {
                self.mode[d] = Mode::Head;
                self.resync[d] = true;
                self.reported[d] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests;
