//! DNP3 (IEEE 1815) over TCP and UDP.
//!
//! - `wire`: pure parsing of link frames, transport headers, application
//!   headers and object headers into typed values or [`wire::Error`].
//! - this file: the per-flow [`Session`]: link framing over a byte stream or
//!   datagrams (several frames per segment, one frame across segments),
//!   resynchronisation after garbage or gaps, transport reassembly of
//!   application fragments, and request/response matching by application
//!   sequence number and address pair.
//! - `json`: the NDJSON form of a message.
//!
//! One message is reported per application fragment (as Wireshark counts
//! `dnp3.al.func`); link-only frames (link status, reset, ACK ...) are only
//! counted. Whether a fragment is a request or a response follows from its
//! function code, never from the TCP direction: either side may be the master.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::protocols::ProtoMessage;
pub use wire::{
    Apdu, AppControl, Error, Frame, LinkHeader, ObjectHeader, ObjectHeaders, ObjectSize,
    TransportHeader, function_name,
};
use wire::{BLOCK_LEN, HEADER_LEN, MAX_FRAGMENT_LEN, MAX_FRAME_LEN, MAX_USER_DATA};

/// Requests remembered per flow while waiting for their response (a master
/// has one outstanding request per outstation; a gateway flow carries many).
pub const MAX_PENDING: usize = 32;

/// A request remembered until its response arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    /// Application sequence number the response must carry.
    pub app_seq: u8,
    /// Link source of the request (the master).
    pub src_addr: u16,
    /// Link destination of the request (the outstation).
    pub dst_addr: u16,
    pub function_code: u8,
    pub ts: Timestamp,
}

/// A dissected DNP3 application fragment as reported in events.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// Link source address.
    pub src_addr: u16,
    /// Link destination address.
    pub dst_addr: u16,
    /// Link control octet of the frame that completed the fragment.
    pub link_control: u8,
    /// Transport sequence number of the segment that completed the fragment.
    pub transport_seq: u8,
    /// Number of transport segments (link frames) reassembled.
    pub segments: u16,
    /// Application control octet.
    pub app_control: AppControl,
    pub function_code: u8,
    /// IIN1 (high byte) and IIN2, on responses.
    pub iin: Option<u16>,
    /// Object headers and data, raw; iterate with [`Message::object_headers`].
    pub objects: &'a [u8],
    /// Every object header was parsed and sized (false after an unknown
    /// object, a malformed header or too many headers).
    pub objects_complete: bool,
    /// Object headers parsed (bounded by [`wire::MAX_OBJECT_HEADERS`]).
    pub object_count: u16,
    /// On a response: the request it answers.
    pub request: Option<RequestInfo>,
    /// On a response matched to a request: time since the request, in ns.
    pub latency_ns: Option<i64>,
}

impl<'a> Message<'a> {
    #[inline]
    pub fn function_code(&self) -> u8 {
        self.function_code
    }
    pub fn function_name(&self) -> &'static str {
        function_name(self.function_code)
    }
    /// DIR bit of the link control (set when sent by the master).
    pub fn link_dir(&self) -> bool {
        self.link_control & 0x80 != 0
    }
    /// PRM bit of the link control.
    pub fn link_prm(&self) -> bool {
        self.link_control & 0x40 != 0
    }
    /// Link function code.
    pub fn link_function(&self) -> u8 {
        self.link_control & 0x0f
    }
    pub fn app_seq(&self) -> u8 {
        self.app_control.seq()
    }
    pub fn is_response(&self) -> bool {
        wire::is_response(self.function_code)
    }
    /// Object headers of the fragment (re-parsed on each call; no allocation).
    pub fn object_headers(&self) -> ObjectHeaders<'a> {
        ObjectHeaders::new(self.function_code, self.objects)
    }
    /// Names of the IIN flags set (empty for requests).
    pub fn iin_flags(&self) -> impl Iterator<Item = &'static str> {
        wire::iin_flags(self.iin.unwrap_or(0))
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.function_code() as u16
    }
}

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 20000), (Transport::Udp, 20000)];

/// Request, response or neither, from the application function code.
pub fn msg_kind(function_code: u8) -> MsgKind {
    match function_code {
        0..=128 => MsgKind::Request,
        129..=131 => MsgKind::Response,
        _ => MsgKind::Other,
    }
}

/// Per-direction framing and reassembly state.
#[derive(Debug, Default)]
struct DirState {
    /// Looking for the next valid link header after garbage or a gap.
    resync: bool,
    /// The malformed event for the current garbage run was already reported.
    reported: bool,
    /// The first bytes were seen (a stream may start mid-frame).
    started: bool,
    /// A fragment is being reassembled in `frag`.
    in_progress: bool,
    /// Continuation segments are dropped silently until the next FIR (after a
    /// gap, a mid-stream start or an error already reported).
    quiet: bool,
    next_seq: u8,
    src: u16,
    dst: u16,
    segments: u16,
    /// Reassembly buffer, cleared and reused (never shrunk).
    frag: Vec<u8>,
}

impl DirState {
    fn drop_fragment(&mut self) {
        self.in_progress = false;
        self.frag.clear();
    }
}

/// Per-flow DNP3 state.
#[derive(Debug, Default)]
pub struct Session {
    dirs: [DirState; 2],
    pending: [Option<RequestInfo>; MAX_PENDING],
    /// Valid link frames seen (both directions).
    pub link_frames: u64,
    /// Link frames without user data (link status, reset, ACK ...): no message.
    pub link_only_frames: u64,
    /// Requests dropped from `pending` without an answer.
    pub unanswered: u64,
    /// Solicited responses that matched no pending request.
    pub unmatched_responses: u64,
}

/// Offset of the first position in `b` that starts a valid link header or a
/// possible prefix of one too short to check; `b.len()` if there is none.
fn scan(b: &[u8]) -> usize {
    let mut i = 0;
    while let Some(k) = b.get(i..).and_then(|r| r.iter().position(|&x| x == 0x05)) {
        i += k;
        match wire::parse_header(b.get(i..).unwrap_or_default()) {
            Ok(_) | Err(Error::Truncated { .. }) => return i,
            Err(_) => i += 1,
        }
    }
    b.len()
}

impl Session {
    fn malformed(&mut self, e: Error, data: &[u8], cx: &mut Ctx<'_>) {
        let shown = data.get(..MAX_FRAME_LEN).unwrap_or(data);
        cx.malformed(
            Proto::Dnp3,
            e.code(),
            &e,
            e.function().map(u16::from),
            shown,
        );
    }

    fn remember(&mut self, info: RequestInfo) {
        let same = |r: &RequestInfo| {
            r.app_seq == info.app_seq && r.src_addr == info.src_addr && r.dst_addr == info.dst_addr
        };
        // A retry, or a new request reusing the sequence number: replaces.
        if let Some(slot) = self
            .pending
            .iter_mut()
            .find(|p| p.as_ref().is_some_and(same))
        {
            *slot = Some(info);
            self.unanswered += 1;
            return;
        }
        if let Some(slot) = self.pending.iter_mut().find(|p| p.is_none()) {
            *slot = Some(info);
            return;
        }
        let oldest = self
            .pending
            .iter_mut()
            .min_by_key(|p| p.map_or(Timestamp::ZERO, |r| r.ts));
        if let Some(slot) = oldest {
            *slot = Some(info);
            self.unanswered += 1;
        }
    }

    /// The pending request a response from `src` to `dst` with `seq` answers.
    fn take_request(&mut self, seq: u8, src: u16, dst: u16) -> Option<RequestInfo> {
        self.pending
            .iter_mut()
            .find(|p| {
                p.is_some_and(|r| r.app_seq == seq && r.dst_addr == src && r.src_addr == dst)
            })?
            .take()
    }

    /// Parses and reports one reassembled application fragment.
    fn application(
        &mut self,
        app: &[u8],
        h: &LinkHeader,
        th: TransportHeader,
        segments: u16,
        cx: &mut Ctx<'_>,
    ) {
        let apdu = match wire::parse_apdu(app) {
            Ok(a) => a,
            Err(e) => return self.malformed(e, app, cx),
        };
        let (count, objects_complete, error) = apdu.object_headers().summary();
        let f = apdu.function_code;
        let seq = apdu.control.seq();
        let kind = msg_kind(f);
        let mut request = None;
        match f {
            wire::fc::CONFIRM | wire::fc::DIRECT_OPERATE_NR | wire::fc::AUTH_REQ_NO_ACK => {}
            wire::fc::RESPONSE | wire::fc::AUTHENTICATE_RESP => {
                request = self.take_request(seq, h.src, h.dst);
                match request {
                    // More fragments of this response follow with the next sequence number.
                    Some(r) if !apdu.control.fin() => self.remember(RequestInfo {
                        app_seq: (seq + 1) & 0x0f,
                        ..r
                    }),
                    Some(_) => {}
                    None => self.unmatched_responses += 1,
                }
            }
            // No answer comes to broadcasts.
            _ if kind == MsgKind::Request && h.dst < 0xfffd => self.remember(RequestInfo {
                app_seq: seq,
                src_addr: h.src,
                dst_addr: h.dst,
                function_code: f,
                ts: cx.ts,
            }),
            _ => {}
        }
        let msg = Message {
            src_addr: h.src,
            dst_addr: h.dst,
            link_control: h.control,
            transport_seq: th.seq(),
            segments,
            app_control: apdu.control,
            function_code: f,
            iin: apdu.iin,
            objects: apdu.objects,
            objects_complete,
            object_count: count.min(u16::MAX as usize) as u16,
            request,
            latency_ns: request.map(|r| cx.ts.nanos_since(r.ts)),
        };
        cx.message(kind, crate::Message::Dnp3(msg));
        if let Some(e) = error {
            self.malformed(e, app, cx);
        }
    }

    /// Handles one complete link frame whose header is valid.
    fn on_frame(&mut self, h: LinkHeader, frame: &[u8], cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.link_frames += 1;
        let body = frame.get(HEADER_LEN..).unwrap_or_default();
        let Some(&tbyte) = body.first() else {
            self.link_only_frames += 1;
            return;
        };
        if let Err(e) = wire::check_blocks(body) {
            let st = &mut self.dirs[d];
            st.drop_fragment();
            st.quiet = true;
            return self.malformed(e, frame, cx);
        }
        let th = TransportHeader(tbyte);
        let ud_len = h.user_data_len();
        let st = &mut self.dirs[d];
        if th.fir() && th.fin() {
            // Single-segment fragment: no reassembly buffer.
            st.drop_fragment();
            st.quiet = false;
            if ud_len <= BLOCK_LEN {
                // One block: the application data is contiguous in the frame.
                let app = body.get(1..ud_len).unwrap_or_default();
                self.application(app, &h, th, 1, cx);
            } else {
                let mut scratch = [0u8; MAX_USER_DATA];
                let mut n = 0;
                for b in wire::user_data_blocks(body) {
                    let Some(dst) = scratch.get_mut(n..n + b.len()) else {
                        break;
                    };
                    dst.copy_from_slice(b);
                    n += b.len();
                }
                let app = scratch.get(1..n).unwrap_or_default();
                self.application(app, &h, th, 1, cx);
            }
            return;
        }
        if th.fir() {
            st.frag.clear();
            st.in_progress = true;
            st.quiet = false;
            st.src = h.src;
            st.dst = h.dst;
            st.segments = 0;
        } else if !st.in_progress || th.seq() != st.next_seq || (h.src, h.dst) != (st.src, st.dst) {
            let e = Error::TransportSequence {
                expected: st.in_progress.then_some(st.next_seq),
                actual: th.seq(),
            };
            let quiet = st.quiet;
            st.drop_fragment();
            st.quiet = true;
            if !quiet {
                self.malformed(e, frame, cx);
            }
            return;
        }
        let len = st.frag.len() + ud_len.saturating_sub(1);
        if len > MAX_FRAGMENT_LEN {
            st.drop_fragment();
            st.quiet = true;
            let e = Error::FragmentTooLong { len: len as u32 };
            return self.malformed(e, frame, cx);
        }
        let mut first = true;
        for b in wire::user_data_blocks(body) {
            let b = if first {
                b.get(1..).unwrap_or_default()
            } else {
                b
            };
            first = false;
            st.frag.extend_from_slice(b);
        }
        st.segments = st.segments.saturating_add(1);
        st.next_seq = (th.seq() + 1) & 0x3f;
        if th.fin() {
            let segments = st.segments;
            let frag = std::mem::take(&mut st.frag);
            st.in_progress = false;
            self.application(&frag, &h, th, segments, cx);
            let st = &mut self.dirs[d];
            st.frag = frag;
            st.frag.clear();
        }
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        let st = &mut self.dirs[d];
        if !st.started {
            st.started = true;
            // Without the handshake the first byte may be inside a frame: look
            // for a header instead of calling the first bytes malformed.
            if !datagram && !cx.flow.handshake_seen() {
                st.resync = true;
                st.reported = true;
                st.quiet = true;
            }
        }
        let mut off = 0;
        while let Some(rest) = data.get(off..).filter(|r| !r.is_empty()) {
            let parsed = wire::parse_header(rest);
            let st = &mut self.dirs[d];
            if st.resync {
                match parsed {
                    Ok(_) => {}
                    Err(Error::Truncated { .. }) => break,
                    Err(_) => {
                        off += 1 + scan(rest.get(1..).unwrap_or_default());
                        continue;
                    }
                }
            }
            let h = match parsed {
                Ok(h) => h,
                Err(Error::Truncated { .. }) => break,
                Err(e) => {
                    let reported = st.reported;
                    st.resync = true;
                    st.reported = true;
                    if !reported {
                        self.malformed(e, rest, cx);
                    }
                    off += 1;
                    continue;
                }
            };
            let n = h.frame_len();
            let Some(frame) = rest.get(..n) else { break };
            st.resync = false;
            st.reported = false;
            self.on_frame(h, frame, cx);
            off += n;
        }
        let st = &mut self.dirs[d];
        if datagram {
            // A datagram carries whole frames: leftover bytes are a truncated frame.
            let rest = data.get(off..).unwrap_or_default();
            if !rest.is_empty() && !st.reported {
                let e = match wire::parse_header(rest) {
                    Ok(h) => Error::Truncated {
                        needed: h.frame_len() as u16,
                        available: rest.len().min(u16::MAX as usize) as u16,
                    },
                    Err(e) => e,
                };
                self.malformed(e, rest, cx);
            }
            let st = &mut self.dirs[d];
            st.resync = false;
            st.reported = false;
            data.len()
        } else {
            off
        }
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let st = &mut self.dirs[cx.dir.idx()];
        st.resync = true;
        // The gap itself is reported by the flow layer; garbage after it is expected.
        st.reported = true;
        st.drop_fragment();
        st.quiet = true;
    }
}

/// Content probe for flows on non-standard ports: a valid link header.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    matches!(transport, Transport::Tcp | Transport::Udp) && wire::parse_header(data).is_ok()
}

#[cfg(test)]
mod tests;
