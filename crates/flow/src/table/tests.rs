use super::*;
use etherparse::PacketBuilder;
use otwatch_capture::LinkType;
use otwatch_decode::Decoder;

#[derive(Default)]
struct H {
    started: Vec<(u64, FlowSide, FlowSide, ClientBy)>,
    ended: Vec<(u64, EndReason, [u64; 2])>,
    data: Vec<(Direction, Vec<u8>)>,
    gaps: Vec<(Direction, u32)>,
    datagrams: usize,
}

impl FlowHandler<()> for H {
    fn is_service_port(&self, _t: Transport, port: u16) -> bool {
        port == 502
    }
    fn flow_start(&mut self, _ts: Timestamp, info: &mut FlowInfo) {
        self.started
            .push((info.id.0, info.client, info.server, info.client_by));
    }
    fn wants_data(&self, _app: &()) -> bool {
        true
    }
    fn stream_data(
        &mut self,
        _ts: Timestamp,
        _i: &mut FlowInfo,
        _a: &mut (),
        dir: Direction,
        data: &[u8],
    ) -> usize {
        self.data.push((dir, data.to_vec()));
        data.len()
    }
    fn stream_gap(
        &mut self,
        _ts: Timestamp,
        _i: &mut FlowInfo,
        _a: &mut (),
        dir: Direction,
        len: u32,
    ) {
        self.gaps.push((dir, len));
    }
    fn datagram(
        &mut self,
        _ts: Timestamp,
        _i: &mut FlowInfo,
        _a: &mut (),
        _d: Direction,
        _data: &[u8],
    ) {
        self.datagrams += 1;
    }
    fn flow_end(&mut self, _ts: Timestamp, info: &FlowInfo, _a: &mut ()) {
        self.ended
            .push((info.id.0, info.end_reason.unwrap(), info.pkts));
    }
}

const C: [u8; 4] = [10, 0, 0, 1];
const S: [u8; 4] = [10, 0, 0, 2];

#[allow(clippy::too_many_arguments)]
fn tcp(
    from_client: bool,
    sp: u16,
    dp: u16,
    seq: u32,
    ack: u32,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let (src, dst) = if from_client { (C, S) } else { (S, C) };
    let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sp, dp, seq, 1000);
    if flags.contains('S') {
        b = b.syn();
    }
    if flags.contains('A') {
        b = b.ack(ack);
    }
    if flags.contains('F') {
        b = b.fin();
    }
    if flags.contains('R') {
        b = b.rst();
    }
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn run(t: &mut FlowTable<()>, h: &mut H, frames: &[(i64, Vec<u8>)]) {
    let mut dec = Decoder::default();
    for (ts, f) in frames {
        let d = dec.decode(Timestamp(*ts), LinkType::Ethernet, f, f.len() as u32);
        t.process(&d, h);
    }
}

#[test]
fn handshake_decides_client_and_stream_is_delivered() {
    let mut t = FlowTable::new(FlowConfig::default());
    let mut h = H::default();
    // Server on a high port, client on a low one: only the SYN tells.
    run(
        &mut t,
        &mut h,
        &[
            (1, tcp(true, 80, 30000, 100, 0, "S", b"")),
            (2, tcp(false, 30000, 80, 500, 101, "SA", b"")),
            (3, tcp(true, 80, 30000, 101, 501, "A", b"hello")),
            (4, tcp(false, 30000, 80, 501, 106, "A", b"world")),
            (5, tcp(true, 80, 30000, 106, 506, "FA", b"")),
            (6, tcp(false, 30000, 80, 506, 107, "FA", b"")),
        ],
    );
    assert_eq!(h.started.len(), 1);
    let (_, client, server, by) = h.started[0];
    assert_eq!(
        (client.port, server.port, by),
        (80, 30000, ClientBy::Handshake)
    );
    assert_eq!(
        h.data,
        vec![
            (Direction::ToServer, b"hello".to_vec()),
            (Direction::ToClient, b"world".to_vec())
        ]
    );
    assert_eq!(t.len(), 1);
    t.flush(&mut h);
    assert_eq!(h.ended, vec![(1, EndReason::Closed, [3, 3])]);
}

#[test]
fn midstream_uses_service_port() {
    let mut t = FlowTable::new(FlowConfig::default());
    let mut h = H::default();
    // First packet seen is a response from the Modbus server.
    run(
        &mut t,
        &mut h,
        &[
            (1, tcp(false, 502, 40000, 9, 9, "A", b"resp")),
            (2, tcp(true, 40000, 502, 9, 13, "A", b"req")),
        ],
    );
    let (_, client, server, by) = h.started[0];
    assert_eq!(
        (client.port, server.port, by),
        (40000, 502, ClientBy::PortHeuristic)
    );
    assert_eq!(h.data[0].0, Direction::ToClient);
    assert_eq!(h.data[1].0, Direction::ToServer);
    assert_eq!(t.stats.midstream, 1);
}

#[test]
fn idle_timeout_and_cap() {
    let cfg = FlowConfig {
        max_flows: 4,
        tcp_idle_ns: 1000,
        ..Default::default()
    };
    let mut t = FlowTable::new(cfg);
    let mut h = H::default();
    let frames: Vec<_> = (0..10)
        .map(|i| (i as i64, tcp(true, 40000 + i, 502, 1, 1, "A", b"x")))
        .collect();
    run(&mut t, &mut h, &frames);
    assert_eq!(t.len(), 4);
    assert_eq!(t.stats.evicted, 6);
    assert!(h.ended.iter().all(|e| e.1 == EndReason::Evicted));
    // Oldest went first.
    assert_eq!(h.ended[0].0, 1);
    // Much later, a packet on a new flow expires the idle ones.
    run(
        &mut t,
        &mut h,
        &[(100_000, tcp(true, 1, 502, 1, 1, "A", b"x"))],
    );
    assert_eq!(t.len(), 1);
    assert_eq!(t.stats.ended_idle, 4);
}

#[test]
fn port_reuse_after_close_starts_new_flow() {
    let mut t = FlowTable::new(FlowConfig::default());
    let mut h = H::default();
    run(
        &mut t,
        &mut h,
        &[
            (1, tcp(true, 40000, 502, 1, 0, "S", b"")),
            (2, tcp(false, 502, 40000, 1, 2, "RA", b"")),
            (3, tcp(true, 40000, 502, 77, 0, "S", b"")),
        ],
    );
    assert_eq!(h.started.len(), 2);
    assert_eq!(h.ended.len(), 1);
}

#[test]
fn lost_segment_is_a_gap_once_acked() {
    let mut t = FlowTable::new(FlowConfig::default());
    let mut h = H::default();
    run(
        &mut t,
        &mut h,
        &[
            (1, tcp(true, 40000, 502, 1, 0, "S", b"")),
            (2, tcp(false, 502, 40000, 1, 2, "SA", b"")),
            (3, tcp(true, 40000, 502, 2, 2, "A", b"aaaa")),
            // bytes 6..10 never captured
            (4, tcp(true, 40000, 502, 10, 2, "A", b"cccc")),
            (5, tcp(false, 502, 40000, 2, 14, "A", b"")),
        ],
    );
    assert_eq!(h.gaps, vec![(Direction::ToServer, 4)]);
    assert_eq!(h.data.last().unwrap().1, b"cccc");
}

#[test]
fn syn_payload_starts_after_the_syn() {
    // A SYN carrying data (hping3 -S -d, TCP Fast Open): the SYN takes sequence
    // number ISN, its payload starts at ISN+1 and must be delivered whole.
    let mut t = FlowTable::new(FlowConfig::default());
    let mut h = H::default();
    run(
        &mut t,
        &mut h,
        &[
            (1, tcp(true, 2791, 502, 1000, 0, "S", b"XXXX")),
            (2, tcp(false, 502, 2791, 7, 1001, "SA", b"")),
            (3, tcp(true, 2791, 502, 1005, 8, "A", b"tail")),
        ],
    );
    assert_eq!(
        h.data,
        vec![
            (Direction::ToServer, b"XXXX".to_vec()),
            (Direction::ToServer, b"tail".to_vec())
        ]
    );
    assert!(h.gaps.is_empty());
}

#[test]
fn udp_and_vlan_are_separate_flows() {
    let mut t = FlowTable::new(FlowConfig::default());
    let mut h = H::default();
    let mut a = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(C, S, 64)
        .udp(5000, 20000)
        .write(&mut a, b"1")
        .unwrap();
    let mut b = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .single_vlan(etherparse::VlanId::try_new(3).unwrap())
        .ipv4(C, S, 64)
        .udp(5000, 20000)
        .write(&mut b, b"2")
        .unwrap();
    run(&mut t, &mut h, &[(1, a.clone()), (2, b), (3, a)]);
    assert_eq!(t.len(), 2);
    assert_eq!(h.datagrams, 3);
}
