//! The sensor pipeline, wired end to end:
//!
//! ```text
//! PacketSource ─► Decoder ─► FlowTable ─► Session (per flow) ─► Event ─► EventSink(s)
//!   (capture)     (decode)    (flow)        (proto)                        (assets, stats,
//!                                                                           NDJSON, engines)
//! ```
//!
//! [`Pipeline::process`] takes one captured frame and runs it through every
//! stage synchronously; consumers see events in packet order. ARP is reported
//! straight from the decoder (it has no flow). The pipeline owns no policy: the
//! port table ([`Registry`]) and the limits ([`Config`]) come from the caller.

mod stats;

use otwatch_capture::Packet;
use otwatch_core::{Direction, FlowId, FlowInfo, Proto, Timestamp, Transport};
use otwatch_decode::{DecodeStats, Decoder, DefragConfig, Net};
use otwatch_flow::{FlowConfig, FlowHandler, FlowStats, FlowTable};
use otwatch_proto::event::{ArpEvent, Event, EventSink, PayloadEvent};
use otwatch_proto::{Ctx, Dissector, Registry, Session, ftp, l2, protocols};

pub use stats::{ProtoCounts, Summary};

/// Pipeline settings.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub flows: FlowConfig,
    pub defrag: DefragConfig,
    pub registry: Registry,
    /// Skip IP/TCP/UDP checksum verification (it is counted, never enforced).
    pub no_checksums: bool,
}

/// How many payload-carrying packets of an unassigned flow are probed.
const PROBE_PACKETS: u8 = 4;

/// Per-flow application state.
#[derive(Debug)]
pub enum AppState {
    /// No port matched: the first payloads are probed for a known protocol.
    Probing(u8),
    /// The session, and per direction the length of the stream tail it left
    /// unconsumed (presented again with the next bytes; not reported again
    /// as payload).
    Session(Session, [u32; 2]),
    /// Nothing to dissect (unknown protocol, or probing gave up).
    None,
}

/// FTP data connections announced on control channels and not yet seen.
const MAX_EXPECTED: usize = 64;
/// An announced data connection is forgotten after this long.
const EXPECT_NS: i64 = 120 * 1_000_000_000;

/// The part of the pipeline the flow table calls back into.
struct Handler<S> {
    registry: Registry,
    sink: S,
    /// FTP data connections to expect (bounded, oldest dropped).
    expected: Vec<ftp::Expect>,
}

impl<S: EventSink> Handler<S> {
    #[inline]
    fn dissect(
        &mut self,
        ts: Timestamp,
        info: &mut FlowInfo,
        app: &mut AppState,
        dir: Direction,
        data: &[u8],
        datagram: bool,
    ) -> usize {
        if let AppState::Probing(left) = app {
            match protocols::probe(info.transport, data).and_then(Session::new) {
                Some(s) => {
                    info.proto = Some(s.proto());
                    *app = AppState::Session(s, [0; 2]);
                }
                None => {
                    *left -= 1;
                    if *left == 0 {
                        *app = AppState::None;
                    }
                    return data.len();
                }
            }
        }
        match app {
            AppState::Session(s, tail) => {
                // Only the bytes not presented before: a stream's unconsumed
                // tail comes back with the new bytes appended.
                let d = dir.idx();
                let seen = if datagram {
                    0
                } else {
                    (tail[d] as usize).min(data.len())
                };
                if seen < data.len() {
                    let ev = PayloadEvent {
                        ts,
                        flow: info,
                        dir,
                        data: &data[seen..],
                    };
                    self.sink.on_event(&Event::Payload(&ev));
                }
                let mut cx = Ctx::new(ts, info, dir, &mut self.sink);
                let n = s.on_data(data, datagram, &mut cx);
                if let Session::Ftp(f) = s
                    && f.has_expects()
                {
                    for e in f.take_expects() {
                        if self.expected.len() >= MAX_EXPECTED {
                            self.expected.remove(0);
                        }
                        self.expected.push(e);
                    }
                }
                if !datagram {
                    tail[d] = data.len().saturating_sub(n).min(u32::MAX as usize) as u32;
                }
                // A session may find a more specific protocol inside (TPKT on 102).
                let p = s.proto();
                if info.proto != Some(p) {
                    info.proto = Some(p);
                }
                n
            }
            _ => data.len(),
        }
    }
}

impl<S: EventSink> FlowHandler<AppState> for Handler<S> {
    fn is_service_port(&self, transport: Transport, port: u16) -> bool {
        self.registry.lookup(transport, port).is_some()
    }

    fn flow_start(&mut self, ts: Timestamp, info: &mut FlowInfo) -> AppState {
        let by_port = match info.transport {
            Transport::OtherIp if matches!(info.ip_proto, 1 | 58) => Some(Proto::Icmp),
            t => self.registry.lookup(t, info.server.port),
        };
        if !self.expected.is_empty() {
            self.expected.retain(|e| ts.0 - e.ts.0 <= EXPECT_NS);
            let hit = self
                .expected
                .iter()
                .position(|e| e.ip == info.server.ip && e.port == info.server.port);
            if let Some(i) = hit
                && info.transport == Transport::Tcp
            {
                let e = self.expected.swap_remove(i);
                info.proto = Some(Proto::Ftp);
                self.sink.on_event(&Event::FlowStart(info));
                return AppState::Session(Session::Ftp(Box::new(ftp::Session::data(&e))), [0; 2]);
            }
        }
        let app = match by_port.and_then(Session::new) {
            Some(s) => {
                info.proto = by_port;
                AppState::Session(s, [0; 2])
            }
            None if matches!(info.transport, Transport::Tcp | Transport::Udp) => {
                AppState::Probing(PROBE_PACKETS)
            }
            None => AppState::None,
        };
        self.sink.on_event(&Event::FlowStart(info));
        app
    }

    #[inline]
    fn wants_data(&self, app: &AppState) -> bool {
        !matches!(app, AppState::None)
    }

    #[inline]
    fn stream_data(
        &mut self,
        ts: Timestamp,
        info: &mut FlowInfo,
        app: &mut AppState,
        dir: Direction,
        data: &[u8],
    ) -> usize {
        self.dissect(ts, info, app, dir, data, false)
    }

    fn stream_gap(
        &mut self,
        ts: Timestamp,
        info: &mut FlowInfo,
        app: &mut AppState,
        dir: Direction,
        len: u32,
    ) {
        let mut cx = Ctx::new(ts, info, dir, &mut self.sink);
        cx.gap(len);
        if let AppState::Session(s, tail) = app {
            // The flow layer drops its buffered tail on a gap.
            tail[dir.idx()] = 0;
            s.on_gap(len, &mut cx);
        }
    }

    #[inline]
    fn datagram(
        &mut self,
        ts: Timestamp,
        info: &mut FlowInfo,
        app: &mut AppState,
        dir: Direction,
        data: &[u8],
    ) {
        if !data.is_empty() {
            self.dissect(ts, info, app, dir, data, true);
        }
    }

    fn flow_end(&mut self, ts: Timestamp, info: &FlowInfo, app: &mut AppState) {
        if let AppState::Session(s, _) = app {
            let mut cx = Ctx::new(ts, info, Direction::ToServer, &mut self.sink);
            s.on_end(&mut cx);
        }
        self.sink.on_event(&Event::FlowEnd(info));
    }
}

/// The whole sensor path for one stream of packets.
pub struct Pipeline<S: EventSink> {
    decoder: Decoder,
    flows: FlowTable<AppState>,
    handler: Handler<S>,
    last_ts: Timestamp,
    /// Flow of the packet processed last (None: ARP, link layer, undecodable).
    last_flow: Option<FlowId>,
}

impl<S: EventSink> Pipeline<S> {
    pub fn new(cfg: Config, sink: S) -> Self {
        let mut decoder = Decoder::new(cfg.defrag);
        decoder.verify_checksums = !cfg.no_checksums;
        Pipeline {
            decoder,
            flows: FlowTable::new(cfg.flows),
            handler: Handler {
                registry: cfg.registry,
                sink,
                expected: Vec::new(),
            },
            last_ts: Timestamp::ZERO,
            last_flow: None,
        }
    }

    /// Runs one frame through every stage.
    #[inline]
    pub fn process(&mut self, pkt: &Packet<'_>) {
        if pkt.ts > self.last_ts {
            self.last_ts = pkt.ts;
        }
        let d = self
            .decoder
            .decode(pkt.ts, pkt.link, pkt.data, pkt.orig_len);
        self.last_flow = None;
        match d.net {
            Net::Ip(_) => self.last_flow = self.flows.process(&d, &mut self.handler),
            Net::Arp(a) => {
                let ev = ArpEvent {
                    ts: d.ts,
                    src_mac: d.src_mac,
                    dst_mac: d.dst_mac,
                    vlan: d.vlan,
                    operation: a.operation,
                    sender_mac: a.sender_mac,
                    sender_ip: a.sender_ip,
                    target_mac: a.target_mac,
                    target_ip: a.target_ip,
                };
                self.handler.sink.on_event(&Event::Arp(&ev));
            }
            Net::L2 { payload } => {
                if let Some(proto) = l2::classify(d.ether_type, payload) {
                    let flow = l2::frame_flow(
                        d.ts,
                        d.src_mac,
                        d.dst_mac,
                        d.vlan,
                        proto,
                        pkt.orig_len as usize,
                    );
                    let mut cx = Ctx::new(d.ts, &flow, Direction::ToServer, &mut self.handler.sink);
                    l2::dispatch(proto, payload, &mut cx);
                }
            }
            Net::Invalid => {}
        }
    }

    /// Ends every flow (end of input) so that consumers see final counters.
    pub fn finish(&mut self) {
        self.flows.flush(&mut self.handler);
    }

    pub fn decode_stats(&self) -> &DecodeStats {
        &self.decoder.stats
    }

    pub fn flow_stats(&self) -> &FlowStats {
        &self.flows.stats
    }

    pub fn sink(&self) -> &S {
        &self.handler.sink
    }

    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.handler.sink
    }

    pub fn into_sink(self) -> S {
        self.handler.sink
    }

    /// The flow the packet just processed belongs to: `None` for ARP,
    /// link-layer frames, IP fragments still held for reassembly and frames
    /// that did not decode. (A detection raised while processing the packet
    /// carries the same id in `Detection::flow`.)
    #[inline]
    pub fn last_flow(&self) -> Option<FlowId> {
        self.last_flow
    }

    /// Latest packet timestamp seen.
    pub fn now(&self) -> Timestamp {
        self.last_ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otwatch_capture::LinkType;

    /// Payload bytes per (flow, direction), and the File events' bytes.
    #[derive(Default)]
    struct Bytes {
        payload: std::collections::BTreeMap<(u64, usize), Vec<u8>>,
        flows: std::collections::BTreeMap<u64, [u64; 2]>,
    }

    impl EventSink for Bytes {
        fn on_event(&mut self, ev: &Event<'_>) {
            match ev {
                Event::Payload(p) => self
                    .payload
                    .entry((p.flow.id.0, p.dir.idx()))
                    .or_default()
                    .extend_from_slice(p.data),
                Event::FlowEnd(f) => {
                    self.flows.insert(f.id.0, f.bytes);
                }
                _ => {}
            }
        }
    }

    fn run(name: &str) -> Bytes {
        let cap = otwatch_sim::generate(name, 3).expect("scenario");
        let mut p = Pipeline::new(Config::default(), Bytes::default());
        for (i, (ts, data)) in cap.packets.iter().enumerate() {
            p.process(&Packet {
                ts: *ts,
                link: LinkType::Ethernet,
                data,
                orig_len: data.len() as u32,
                input: 0,
                record: i as u64 + 1,
            });
        }
        p.finish();
        p.into_sink()
    }

    /// The flow ids of the events one packet produced.
    #[derive(Default)]
    struct Ids(Vec<u64>);

    impl EventSink for Ids {
        fn on_event(&mut self, ev: &Event<'_>) {
            match ev {
                Event::App(a) => self.0.push(a.flow.id.0),
                Event::FlowStart(f) => self.0.push(f.id.0),
                _ => {}
            }
        }
    }

    #[test]
    fn last_flow_names_the_flow_of_each_packet() {
        let cap = otwatch_sim::generate("demo", 2).expect("scenario");
        let mut p = Pipeline::new(Config::default(), Ids::default());
        let (mut some, mut none) = (0, 0);
        for (i, (ts, data)) in cap.packets.iter().enumerate() {
            p.sink_mut().0.clear();
            p.process(&Packet {
                ts: *ts,
                link: LinkType::Ethernet,
                data,
                orig_len: data.len() as u32,
                input: 0,
                record: i as u64 + 1,
            });
            let ethertype = u16::from_be_bytes([data[12], data[13]]);
            match p.last_flow() {
                Some(f) => {
                    some += 1;
                    assert!(matches!(ethertype, 0x0800 | 0x86dd | 0x8100), "packet {i}");
                    // Every event the packet produced is about that flow (a
                    // flow ended by this packet's arrival aside: FlowEnd is not collected).
                    for id in &p.sink().0 {
                        assert_eq!(*id, f.0, "packet {i}");
                    }
                }
                None => {
                    none += 1;
                    assert!(!matches!(ethertype, 0x0800 | 0x86dd), "packet {i}");
                }
            }
        }
        assert!(some > 100 && none > 0, "{some} with a flow, {none} without");
    }

    #[test]
    fn payload_reports_each_stream_byte_once() {
        // Modbus frames split over segments: the dissector leaves partial
        // frames unconsumed and sees them again with the next bytes.
        let b = run("modbus_segmented");
        assert!(!b.payload.is_empty());
        for ((flow, d), bytes) in &b.payload {
            // IP payload bytes = TCP headers (20 bytes + options per
            // segment) + stream bytes: the stream is never larger.
            let total = b.flows[flow][*d];
            assert!((bytes.len() as u64) < total, "flow {flow} dir {d}");
            // Every reported chunk is a Modbus/TCP stream: MBAP frames back to back.
            let mut at = 0;
            while at + 6 <= bytes.len() {
                assert_eq!(&bytes[at + 2..at + 4], &[0, 0], "protocol id at {at}");
                at += 6 + u16::from_be_bytes([bytes[at + 4], bytes[at + 5]]) as usize;
            }
            assert_eq!(
                at,
                bytes.len(),
                "flow {flow} dir {d}: whole frames, nothing repeated"
            );
        }
        // The EICAR download: the body bytes once.
        let b = run("malware_eicar_http");
        let to_client: Vec<u8> = b
            .payload
            .iter()
            .filter(|((_, d), _)| *d == 1)
            .flat_map(|(_, v)| v.clone())
            .collect();
        let n = to_client
            .windows(10)
            .filter(|w| *w == b"X5O!P%@AP[")
            .count();
        assert_eq!(n, 1);
        assert!(to_client.ends_with(b"$H+H*"));
    }
}
