//! The flow table: a slab of flows, a hash index and three LRU lists.

use std::net::IpAddr;

use hashbrown::HashMap;
use otwatch_core::flow::{ClientBy, EndReason};
use otwatch_core::{Direction, FlowId, FlowInfo, FlowKey, FlowSide, Timestamp, Transport};
use otwatch_decode::{Decoded, L4, Net, tcp_flags};
use serde::Serialize;

use crate::reassembly::{Limits, Sink, StreamStats, TcpDir};

/// Limits and timeouts of the flow table.
#[derive(Clone, Copy, Debug)]
pub struct FlowConfig {
    /// Flows tracked at once; the least recently active flow is evicted beyond this.
    pub max_flows: usize,
    /// A TCP flow with no packet for this long ends.
    pub tcp_idle_ns: i64,
    /// A UDP or other IP flow with no packet for this long ends.
    pub udp_idle_ns: i64,
    /// A closed TCP flow (FIN both ways, or RST) lingers this long for stragglers.
    pub closed_ns: i64,
    /// Out-of-order bytes held per TCP direction.
    pub max_ooo_bytes: usize,
    /// Out-of-order segments held per TCP direction.
    pub max_ooo_segments: usize,
    /// Unparsed bytes (a partial PDU) held per TCP direction.
    pub max_pending_bytes: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 200_000,
            tcp_idle_ns: 600 * 1_000_000_000,
            udp_idle_ns: 120 * 1_000_000_000,
            closed_ns: 10 * 1_000_000_000,
            max_ooo_bytes: 64 * 1024,
            max_ooo_segments: 64,
            max_pending_bytes: 64 * 1024,
        }
    }
}

/// Table counters.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct FlowStats {
    pub created: u64,
    pub tcp: u64,
    pub udp: u64,
    pub other: u64,
    pub ended_closed: u64,
    pub ended_idle: u64,
    pub evicted: u64,
    pub ended_at_end_of_input: u64,
    /// Flows whose client side was decided by port because no handshake was seen.
    pub midstream: u64,
    pub peak_flows: u64,
    pub stream: StreamStats,
}

/// Callbacks from the flow table to the rest of the pipeline.
pub trait FlowHandler<A> {
    /// Whether `port` is a known server port on `transport` (client/server guess).
    fn is_service_port(&self, transport: Transport, port: u16) -> bool;
    /// A flow was created; returns its application state (and may set `info.proto`).
    fn flow_start(&mut self, ts: Timestamp, info: &mut FlowInfo) -> A;
    /// Whether the flow's TCP payload should be reassembled and delivered.
    fn wants_data(&self, app: &A) -> bool;
    /// In-order stream bytes; returns how many were consumed.
    fn stream_data(
        &mut self,
        ts: Timestamp,
        info: &mut FlowInfo,
        app: &mut A,
        dir: Direction,
        data: &[u8],
    ) -> usize;
    /// Bytes of a stream that will never be seen.
    fn stream_gap(
        &mut self,
        ts: Timestamp,
        info: &mut FlowInfo,
        app: &mut A,
        dir: Direction,
        len: u32,
    );
    /// A UDP datagram, or a whole ICMP message (other IP protocols: their payload).
    fn datagram(
        &mut self,
        ts: Timestamp,
        info: &mut FlowInfo,
        app: &mut A,
        dir: Direction,
        data: &[u8],
    );
    /// The flow ended (`info.end_reason` says why).
    fn flow_end(&mut self, ts: Timestamp, info: &FlowInfo, app: &mut A);
}

/// One tracked flow.
#[derive(Debug)]
pub struct Flow<A> {
    pub info: FlowInfo,
    pub app: A,
    key: FlowKey,
    /// Whether the key's `lo` endpoint is the client.
    lo_is_client: bool,
    tcp: [TcpDir; 2],
    rst: bool,
}

const NIL: u32 = u32::MAX;
const LIST_TCP: u8 = 0;
const LIST_OTHER: u8 = 1;
const LIST_CLOSED: u8 = 2;

#[derive(Debug)]
struct Slot<A> {
    flow: Option<Flow<A>>,
    prev: u32,
    next: u32,
    list: u8,
}

#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
}

/// The flow table.
#[derive(Debug)]
pub struct FlowTable<A> {
    cfg: FlowConfig,
    index: HashMap<FlowKey, u32>,
    slots: Vec<Slot<A>>,
    free: Vec<u32>,
    lists: [List; 3],
    next_id: u64,
    pub stats: FlowStats,
}

/// Adapts the handler to the reassembler for one flow direction.
struct StreamSink<'a, A, H: FlowHandler<A>> {
    h: &'a mut H,
    ts: Timestamp,
    info: &'a mut FlowInfo,
    app: &'a mut A,
    dir: Direction,
}

impl<A, H: FlowHandler<A>> Sink for StreamSink<'_, A, H> {
    #[inline]
    fn data(&mut self, data: &[u8]) -> usize {
        self.h
            .stream_data(self.ts, self.info, self.app, self.dir, data)
    }
    fn gap(&mut self, len: u32) {
        self.h
            .stream_gap(self.ts, self.info, self.app, self.dir, len)
    }
}

impl<A> FlowTable<A> {
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable {
            cfg,
            index: HashMap::with_capacity(cfg.max_flows.min(65_536)),
            slots: Vec::new(),
            free: Vec::new(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; 3],
            next_id: 1,
            stats: FlowStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn limits(&self) -> Limits {
        Limits {
            max_ooo_bytes: self.cfg.max_ooo_bytes,
            max_ooo_segments: self.cfg.max_ooo_segments,
            max_pending_bytes: self.cfg.max_pending_bytes,
        }
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next, list) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next, s.list as usize)
        };
        if prev != NIL {
            self.slots[prev as usize].next = next;
        } else {
            self.lists[list].head = next;
        }
        if next != NIL {
            self.slots[next as usize].prev = prev;
        } else {
            self.lists[list].tail = prev;
        }
    }

    fn push_front(&mut self, i: u32, list: u8) {
        let head = self.lists[list as usize].head;
        {
            let s = &mut self.slots[i as usize];
            s.prev = NIL;
            s.next = head;
            s.list = list;
        }
        if head != NIL {
            self.slots[head as usize].prev = i;
        } else {
            self.lists[list as usize].tail = i;
        }
        self.lists[list as usize].head = i;
    }

    #[inline]
    fn touch(&mut self, i: u32, list: u8) {
        if self.lists[list as usize].head == i && self.slots[i as usize].list == list {
            return;
        }
        self.unlink(i);
        self.push_front(i, list);
    }

    /// Ends flow `i` and frees its slot.
    fn end<H: FlowHandler<A>>(&mut self, i: u32, reason: EndReason, h: &mut H) {
        self.unlink(i);
        let Some(mut f) = self.slots[i as usize].flow.take() else {
            return;
        };
        self.index.remove(&f.key);
        self.free.push(i);
        let lim = self.limits();
        let ts = f.info.last_seen;
        if h.wants_data(&f.app) {
            for dir in [Direction::ToServer, Direction::ToClient] {
                let Flow { info, app, tcp, .. } = &mut f;
                let mut sink = StreamSink {
                    h,
                    ts,
                    info,
                    app,
                    dir,
                };
                tcp[dir.idx()].finish(&lim, &mut self.stats.stream, &mut sink);
            }
        }
        f.info.end_reason = Some(reason);
        match reason {
            EndReason::Closed => self.stats.ended_closed += 1,
            EndReason::Idle => self.stats.ended_idle += 1,
            EndReason::Evicted => self.stats.evicted += 1,
            EndReason::EndOfInput => self.stats.ended_at_end_of_input += 1,
        }
        h.flow_end(ts, &f.info, &mut f.app);
    }

    /// Ends flows idle past their timeout at packet time `now`.
    pub fn expire<H: FlowHandler<A>>(&mut self, now: Timestamp, h: &mut H) {
        for (list, timeout, reason) in [
            (LIST_CLOSED, self.cfg.closed_ns, EndReason::Closed),
            (LIST_TCP, self.cfg.tcp_idle_ns, EndReason::Idle),
            (LIST_OTHER, self.cfg.udp_idle_ns, EndReason::Idle),
        ] {
            loop {
                let tail = self.lists[list as usize].tail;
                if tail == NIL {
                    break;
                }
                let last = self.slots[tail as usize]
                    .flow
                    .as_ref()
                    .map_or(Timestamp::ZERO, |f| f.info.last_seen);
                if now.nanos_since(last) <= timeout {
                    break;
                }
                self.end(tail, reason, h);
            }
        }
    }

    /// Ends every flow (end of input).
    pub fn flush<H: FlowHandler<A>>(&mut self, h: &mut H) {
        for list in [LIST_CLOSED, LIST_TCP, LIST_OTHER] {
            while self.lists[list as usize].tail != NIL {
                let tail = self.lists[list as usize].tail;
                let closed = list == LIST_CLOSED;
                self.end(
                    tail,
                    if closed {
                        EndReason::Closed
                    } else {
                        EndReason::EndOfInput
                    },
                    h,
                );
            }
        }
    }

    /// Evicts the least recently active flow (closed flows first).
    fn evict_one<H: FlowHandler<A>>(&mut self, h: &mut H) {
        let closed = self.lists[LIST_CLOSED as usize].tail;
        let victim = if closed != NIL {
            closed
        } else {
            let t = self.lists[LIST_TCP as usize].tail;
            let o = self.lists[LIST_OTHER as usize].tail;
            let age = |i: u32| {
                self.slots[i as usize]
                    .flow
                    .as_ref()
                    .map_or(Timestamp::ZERO, |f| f.info.last_seen)
            };
            match (t, o) {
                (NIL, o) => o,
                (t, NIL) => t,
                (t, o) => {
                    if age(t) <= age(o) {
                        t
                    } else {
                        o
                    }
                }
            }
        };
        if victim != NIL {
            self.end(victim, EndReason::Evicted, h);
        }
    }

    /// Processes one decoded IP packet and returns the id of the flow it
    /// belongs to. Non-IP frames and fragments held for reassembly are
    /// ignored here (`None`).
    pub fn process<H: FlowHandler<A>>(&mut self, d: &Decoded<'_>, h: &mut H) -> Option<FlowId> {
        let Net::Ip(ip) = d.net else { return None };
        let (transport, sport, dport, tcp, payload) = match ip.l4 {
            L4::Tcp(t) => (Transport::Tcp, t.sport, t.dport, Some(t), t.payload),
            L4::Udp {
                sport,
                dport,
                payload,
            } => (Transport::Udp, sport, dport, None, payload),
            // ICMP messages go to the handler whole (type and code included).
            L4::Icmp { raw: payload, .. } | L4::Other { payload } => {
                (Transport::OtherIp, 0, 0, None, payload)
            }
            L4::Fragment => return None,
        };
        let ts = d.ts;
        self.expire(ts, h);
        let (key, src_is_hi) = FlowKey::new(ip.src, sport, ip.dst, dport, ip.proto, d.vlan);
        let syn_only = tcp.is_some_and(|t| t.has(tcp_flags::SYN) && !t.has(tcp_flags::ACK));

        let mut idx = self.index.get(&key).copied();
        // A new SYN on a closed flow starts a new connection (port reuse).
        if let (Some(i), true) = (idx, syn_only) {
            let f = self.slots[i as usize].flow.as_ref();
            if f.is_some_and(|f| f.rst || (f.tcp[0].fin && f.tcp[1].fin)) {
                self.end(i, EndReason::Closed, h);
                idx = None;
            }
        }
        let i = match idx {
            Some(i) => i,
            None => {
                if self.index.len() >= self.cfg.max_flows {
                    self.evict_one(h);
                }
                self.create(
                    d, ip.src, sport, ip.dst, dport, ip.proto, transport, tcp, key, src_is_hi, h,
                )
            }
        };
        let (list, id) = {
            let f = self.slots[i as usize].flow.as_mut()?;
            let id = f.info.id;
            // Direction: the sender is the client when it is the key side marked as client.
            let src_is_lo = !src_is_hi;
            let dir = if src_is_lo == f.lo_is_client {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            f.info.pkts[dir.idx()] += 1;
            f.info.bytes[dir.idx()] += ip.payload_len as u64;
            if ts > f.info.last_seen {
                f.info.last_seen = ts;
            }
            let lim = Limits {
                max_ooo_bytes: self.cfg.max_ooo_bytes,
                max_ooo_segments: self.cfg.max_ooo_segments,
                max_pending_bytes: self.cfg.max_pending_bytes,
            };
            match tcp {
                Some(t) => {
                    let Flow {
                        info,
                        app,
                        tcp: dirs,
                        rst,
                        ..
                    } = f;
                    if t.has(tcp_flags::SYN) {
                        dirs[dir.idx()].syn(t.seq);
                    }
                    if t.has(tcp_flags::RST) {
                        *rst = true;
                    }
                    if h.wants_data(app) {
                        if !payload.is_empty() {
                            let mut sink = StreamSink {
                                h: &mut *h,
                                ts,
                                info: &mut *info,
                                app: &mut *app,
                                dir,
                            };
                            // The SYN occupies the first sequence number: data
                            // carried by a SYN starts one past it.
                            let seq = if t.has(tcp_flags::SYN) {
                                t.seq.wrapping_add(1)
                            } else {
                                t.seq
                            };
                            dirs[dir.idx()].segment(
                                seq,
                                payload,
                                &lim,
                                &mut self.stats.stream,
                                &mut sink,
                            );
                        }
                        let peer = dir.reverse();
                        if t.has(tcp_flags::ACK) && dirs[peer.idx()].has_buffered() {
                            let mut sink = StreamSink {
                                h: &mut *h,
                                ts,
                                info: &mut *info,
                                app: &mut *app,
                                dir: peer,
                            };
                            dirs[peer.idx()].acked(t.ack, &lim, &mut self.stats.stream, &mut sink);
                        }
                    }
                    if t.has(tcp_flags::FIN) {
                        dirs[dir.idx()].fin = true;
                    }
                    if *rst || (dirs[0].fin && dirs[1].fin) {
                        (LIST_CLOSED, id)
                    } else {
                        (LIST_TCP, id)
                    }
                }
                None => {
                    if matches!(transport, Transport::Udp | Transport::OtherIp) {
                        h.datagram(ts, &mut f.info, &mut f.app, dir, payload);
                    }
                    (LIST_OTHER, id)
                }
            }
        };
        self.touch(i, list);
        Some(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn create<H: FlowHandler<A>>(
        &mut self,
        d: &Decoded<'_>,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        ip_proto: u8,
        transport: Transport,
        tcp: Option<otwatch_decode::Tcp<'_>>,
        key: FlowKey,
        src_is_hi: bool,
        h: &mut H,
    ) -> u32 {
        // Who is the client?
        let service = |h: &H, port| h.is_service_port(transport, port);
        let (src_is_client, by) = match tcp {
            Some(t) if t.has(tcp_flags::SYN) => {
                let syn_from_client = !t.has(tcp_flags::ACK);
                let (c_port, s_port) = if syn_from_client {
                    (sport, dport)
                } else {
                    (dport, sport)
                };
                if service(h, c_port) && !service(h, s_port) {
                    (!syn_from_client, ClientBy::ServicePort)
                } else {
                    (syn_from_client, ClientBy::Handshake)
                }
            }
            _ => {
                let ds = h.is_service_port(transport, dport);
                let ss = h.is_service_port(transport, sport);
                let c = match (ss, ds) {
                    (false, true) => true,
                    (true, false) => false,
                    // Ephemeral ports are high: the lower port is the server.
                    _ => sport >= dport,
                };
                (c, ClientBy::PortHeuristic)
            }
        };
        if by == ClientBy::PortHeuristic && transport == Transport::Tcp {
            self.stats.midstream += 1;
        }
        let src_side = FlowSide {
            ip: src,
            port: sport,
            mac: d.src_mac,
        };
        let dst_side = FlowSide {
            ip: dst,
            port: dport,
            mac: d.dst_mac,
        };
        let (client, server) = if src_is_client {
            (src_side, dst_side)
        } else {
            (dst_side, src_side)
        };
        let mut info = FlowInfo {
            id: FlowId(self.next_id),
            transport,
            ip_proto,
            vlan: d.vlan,
            client,
            server,
            client_by: by,
            proto: None,
            first_seen: d.ts,
            last_seen: d.ts,
            pkts: [0; 2],
            bytes: [0; 2],
            end_reason: None,
        };
        self.next_id += 1;
        self.stats.created += 1;
        match transport {
            Transport::Tcp => self.stats.tcp += 1,
            Transport::Udp => self.stats.udp += 1,
            _ => self.stats.other += 1,
        }
        let app = h.flow_start(d.ts, &mut info);
        let flow = Flow {
            info,
            app,
            key,
            lo_is_client: src_is_client != src_is_hi,
            tcp: [TcpDir::default(), TcpDir::default()],
            rst: false,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize].flow = Some(flow);
                i
            }
            None => {
                self.slots.push(Slot {
                    flow: Some(flow),
                    prev: NIL,
                    next: NIL,
                    list: LIST_OTHER,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let list = if transport == Transport::Tcp {
            LIST_TCP
        } else {
            LIST_OTHER
        };
        self.push_front(i, list);
        self.index.insert(key, i);
        self.stats.peak_flows = self.stats.peak_flows.max(self.index.len() as u64);
        i
    }

    /// Iterates live flows (for reports).
    pub fn flows(&self) -> impl Iterator<Item = &Flow<A>> {
        self.slots.iter().filter_map(|s| s.flow.as_ref())
    }
}

#[cfg(test)]
mod tests;
