//! The typed event stream: what dissectors and the flow layer tell consumers.
//!
//! Events borrow from the packet being processed and from the flow table; a
//! consumer that needs to keep something copies the few fields it needs. No
//! event is serialized on the packet path: JSON is written only by the opt-in
//! NDJSON consumer.

use std::net::IpAddr;

use otwatch_core::{Direction, FlowInfo, MacAddr, MsgKind, Proto, Timestamp};

pub use crate::dissector::Detail;
pub use crate::protocols::Message;

/// One event of the stream.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A flow was created (first packet seen).
    FlowStart(&'a FlowInfo),
    /// A flow ended; its counters are final.
    FlowEnd(&'a FlowInfo),
    /// An application message was dissected.
    App(&'a AppEvent<'a>),
    /// A PDU could not be parsed; the dissector keeps going on the flow.
    Malformed(&'a MalformedEvent<'a>),
    /// Bytes of a TCP stream were never seen (capture loss or mid-stream start).
    Gap(&'a GapEvent<'a>),
    /// An ARP packet (a link-layer message, no flow).
    Arp(&'a ArpEvent),
    /// In-order bytes handed to a flow's dissector (TCP after reassembly,
    /// UDP datagram payload). Each byte is reported once.
    Payload(&'a PayloadEvent<'a>),
    /// A piece of a file carried by an application protocol (HTTP body, SMB
    /// read/write data, FTP data channel).
    File(&'a FileEvent<'a>),
}

/// New in-order application bytes of one direction of a flow.
#[derive(Clone, Copy, Debug)]
pub struct PayloadEvent<'a> {
    pub ts: Timestamp,
    pub flow: &'a FlowInfo,
    pub dir: Direction,
    pub data: &'a [u8],
}

/// A piece of a transferred file.
#[derive(Clone, Copy, Debug)]
pub struct FileEvent<'a> {
    pub ts: Timestamp,
    pub flow: &'a FlowInfo,
    /// Direction of the bytes on the flow.
    pub dir: Direction,
    /// The protocol that carried the file.
    pub proto: Proto,
    /// Identifies the file within the flow (HTTP: message number; SMB: FID or
    /// volatile FileId; FTP: transfer number).
    pub file_id: u64,
    /// File name when known (HTTP request URI, SMB create name, FTP path).
    pub name: Option<&'a [u8]>,
    /// Offset of `data` in the file.
    pub offset: u64,
    pub data: &'a [u8],
    /// The file is complete with this piece. An end marker may come with
    /// empty `data` and, when the protocol does not know the size (SMB
    /// close), offset 0.
    pub end: bool,
}

/// A dissected application message with its context.
#[derive(Clone, Copy, Debug)]
pub struct AppEvent<'a> {
    pub ts: Timestamp,
    pub flow: &'a FlowInfo,
    pub dir: Direction,
    pub kind: MsgKind,
    pub msg: Message<'a>,
}

/// A PDU that failed to parse.
#[derive(Clone, Copy, Debug)]
pub struct MalformedEvent<'a> {
    pub ts: Timestamp,
    pub flow: &'a FlowInfo,
    pub dir: Direction,
    pub proto: Proto,
    /// Stable snake_case error code, e.g. `bad_protocol_id`.
    pub code: &'static str,
    /// Human-readable explanation with the offending values.
    pub detail: &'a dyn Detail,
    /// Function code of the PDU when the header was readable.
    pub function_code: Option<u16>,
    /// The bytes that were rejected (possibly a prefix).
    pub data: &'a [u8],
}

/// Missing bytes in one direction of a TCP stream.
#[derive(Clone, Copy, Debug)]
pub struct GapEvent<'a> {
    pub ts: Timestamp,
    pub flow: &'a FlowInfo,
    pub dir: Direction,
    /// Number of sequence-space bytes skipped.
    pub len: u32,
}

/// An ARP request or reply.
#[derive(Clone, Copy, Debug)]
pub struct ArpEvent {
    pub ts: Timestamp,
    pub src_mac: MacAddr,
    pub dst_mac: MacAddr,
    pub vlan: u32,
    /// 1 = request, 2 = reply (other values are kept as seen).
    pub operation: u16,
    pub sender_mac: MacAddr,
    pub sender_ip: Option<IpAddr>,
    pub target_mac: MacAddr,
    pub target_ip: Option<IpAddr>,
}

impl ArpEvent {
    /// A gratuitous ARP announces the sender's own address.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip.is_some() && self.sender_ip == self.target_ip
    }
}

/// A consumer of the event stream (inventory, statistics, engines, writers).
pub trait EventSink {
    fn on_event(&mut self, ev: &Event<'_>);
}

/// Fans one stream out to several consumers, in order.
impl<A: EventSink, B: EventSink> EventSink for (A, B) {
    #[inline]
    fn on_event(&mut self, ev: &Event<'_>) {
        self.0.on_event(ev);
        self.1.on_event(ev);
    }
}

impl<S: EventSink + ?Sized> EventSink for &mut S {
    #[inline]
    fn on_event(&mut self, ev: &Event<'_>) {
        (**self).on_event(ev)
    }
}

impl<S: EventSink + ?Sized> EventSink for Box<S> {
    #[inline]
    fn on_event(&mut self, ev: &Event<'_>) {
        (**self).on_event(ev)
    }
}

impl<S: EventSink> EventSink for Vec<S> {
    fn on_event(&mut self, ev: &Event<'_>) {
        for s in self.iter_mut() {
            s.on_event(ev)
        }
    }
}

impl<S: EventSink> EventSink for Option<S> {
    #[inline]
    fn on_event(&mut self, ev: &Event<'_>) {
        if let Some(s) = self {
            s.on_event(ev)
        }
    }
}

/// A sink that drops everything (benchmarks, tests).
#[derive(Debug, Default)]
pub struct NullSink;

impl EventSink for NullSink {
    #[inline]
    fn on_event(&mut self, _ev: &Event<'_>) {}
}
