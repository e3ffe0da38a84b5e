//! The contract between the flow layer and every protocol dissector.
//!
//! A dissector module (see `modbus/` for the pattern) has:
//! - `wire.rs`: pure, zero-copy parsing of one PDU into a typed message or a
//!   typed error; no state, no I/O, no panics;
//! - `mod.rs`: the per-flow `Session` that frames PDUs out of a stream or
//!   datagram, matches requests with responses, resynchronises after garbage or
//!   gaps, and reports through [`Ctx`];
//! - `json.rs`: how its messages appear in NDJSON (off the hot path).
//!
//! The flow layer owns TCP reassembly: it hands a session in-order bytes, keeps
//! what the session did not consume, and presents it again with the next bytes.

use otwatch_core::{Direction, FlowInfo, MsgKind, Proto, Timestamp};

use crate::event::{AppEvent, Event, EventSink, FileEvent, GapEvent, MalformedEvent, Message};

/// A parse error as carried by a malformed event: its `Display` is the
/// human-readable detail. Every protocol's typed error qualifies.
pub trait Detail: std::fmt::Display + std::fmt::Debug {}
impl<T: std::fmt::Display + std::fmt::Debug> Detail for T {}

/// Everything a dissector needs to report: time, flow, direction and the sink.
pub struct Ctx<'a> {
    pub ts: Timestamp,
    pub flow: &'a FlowInfo,
    pub dir: Direction,
    sink: &'a mut dyn EventSink,
}

impl<'a> Ctx<'a> {
    pub fn new(
        ts: Timestamp,
        flow: &'a FlowInfo,
        dir: Direction,
        sink: &'a mut dyn EventSink,
    ) -> Self {
        Ctx {
            ts,
            flow,
            dir,
            sink,
        }
    }

    /// Reports a dissected message.
    #[inline]
    pub fn message<'m>(&mut self, kind: MsgKind, msg: impl Into<Message<'m>>) {
        let msg = msg.into();
        let ev = AppEvent {
            ts: self.ts,
            flow: self.flow,
            dir: self.dir,
            kind,
            msg,
        };
        self.sink.on_event(&Event::App(&ev));
    }

    /// Reports a PDU that failed to parse.
    pub fn malformed(
        &mut self,
        proto: Proto,
        code: &'static str,
        detail: &dyn Detail,
        function_code: Option<u16>,
        data: &[u8],
    ) {
        let ev = MalformedEvent {
            ts: self.ts,
            flow: self.flow,
            dir: self.dir,
            proto,
            code,
            detail,
            function_code,
            data,
        };
        self.sink.on_event(&Event::Malformed(&ev));
    }

    /// Reports a piece of a file carried by `proto` (see [`FileEvent`]).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn file(
        &mut self,
        proto: Proto,
        file_id: u64,
        name: Option<&[u8]>,
        offset: u64,
        data: &[u8],
        end: bool,
    ) {
        let ev = FileEvent {
            ts: self.ts,
            flow: self.flow,
            dir: self.dir,
            proto,
            file_id,
            name,
            offset,
            data,
            end,
        };
        self.sink.on_event(&Event::File(&ev));
    }

    /// Reports missing stream bytes.
    pub fn gap(&mut self, len: u32) {
        let ev = GapEvent {
            ts: self.ts,
            flow: self.flow,
            dir: self.dir,
            len,
        };
        self.sink.on_event(&Event::Gap(&ev));
    }
}

/// A per-flow dissector session.
pub trait Dissector {
    /// Parses as many complete PDUs as `data` holds and returns how many bytes
    /// were consumed. For a stream the unconsumed tail is presented again, with
    /// the next bytes appended; for a datagram it is dropped.
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize;

    /// `len` bytes of the `cx.dir` stream are lost. The session drops partial
    /// state for that direction and resynchronises on the bytes that follow.
    fn on_gap(&mut self, len: u32, cx: &mut Ctx<'_>);

    /// The flow ended; report anything still pending (for example requests
    /// that never got an answer are simply dropped).
    fn on_end(&mut self, _cx: &mut Ctx<'_>) {}

    /// The protocol found inside the flow when it differs from the one the
    /// session was created for (a TPKT/COTP session on TCP 102 may carry
    /// S7comm, S7comm-plus or MMS). `None` keeps the session's own.
    fn proto_hint(&self) -> Option<Proto> {
        None
    }
}
