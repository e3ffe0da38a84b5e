//! Anomaly engine, learned and content types: bandwidth, periodic
//! behaviour, inactive channels, message lengths, HTTP heads, standard
//! ports and stop commands — hand-built events on each side of every
//! threshold, the alert manager (learned / muted), and the two real
//! captures (with `OTWATCH_CORPUS`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use otwatch_alerts::{AlertManager, Catalog, Detection, ManagerConfig, Outcome, Overrides};
use otwatch_core::{
    ClientBy, Direction, FlowId, FlowInfo, FlowSide, MacAddr, MsgKind, Proto, Timestamp, Transport,
};
use otwatch_engines::Engine;
use otwatch_engines::anomaly::{Anomaly, ids};
use otwatch_proto::event::{AppEvent, Event, MalformedEvent};
use otwatch_proto::{Message, dnp3, http, modbus, umas};

const NS: i64 = 1_000_000_000;
/// A capture minute boundary.
const T0: i64 = 1_700_000_040 * NS;

fn catalog(extra: &str) -> Catalog {
    let mut t = String::new();
    for id in ids::ALL {
        t.push_str(&format!("[types.{id}]\nenabled = true\n"));
    }
    t.push_str(extra);
    Catalog::builtin()
        .with_overrides(&Overrides::from_toml_str(&t).unwrap())
        .unwrap()
}

fn v4(d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, d))
}

fn flow(id: u64, client: IpAddr, server: IpAddr, port: u16, proto: Option<Proto>) -> FlowInfo {
    FlowInfo {
        id: FlowId(id),
        transport: Transport::Tcp,
        ip_proto: 6,
        vlan: 0,
        client: FlowSide {
            ip: client,
            port: 40000u16.wrapping_add(id as u16),
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
        },
        server: FlowSide {
            ip: server,
            port,
            mac: MacAddr([2, 0, 0, 0, 0, 2]),
        },
        client_by: ClientBy::Handshake,
        proto,
        first_seen: Timestamp(T0),
        last_seen: Timestamp(T0),
        pkts: [1, 1],
        bytes: [40, 40],
        end_reason: None,
    }
}

fn count(d: &[Detection], ty: &str) -> usize {
    d.iter().filter(|x| x.type_id == ty).count()
}

fn by_type(d: &[Detection]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for x in d {
        *m.entry(x.type_id).or_default() += 1;
    }
    m
}

/// The engine with capture-time ticks, as `Engines` drives it.
struct T {
    e: Anomaly,
    out: Vec<Detection>,
    tick: i64,
}

impl T {
    fn new(cat: &Catalog) -> T {
        T {
            e: Anomaly::new(cat),
            out: Vec::new(),
            tick: 0,
        }
    }
    fn time(&mut self, ns: i64) {
        if ns >= self.tick + NS {
            self.tick = ns;
            self.e.on_time(Timestamp(ns), &mut self.out);
        }
    }
    fn app(&mut self, f: &FlowInfo, dir: Direction, msg: Message<'_>, ns: i64) {
        self.time(ns);
        let a = AppEvent {
            ts: Timestamp(ns),
            flow: f,
            dir,
            kind: if dir == Direction::ToServer {
                MsgKind::Request
            } else {
                MsgKind::Response
            },
            msg,
        };
        self.e.on_event(&Event::App(&a), &mut self.out);
    }
}

const READ: [u8; 12] = [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10];

fn mb(adu: &[u8]) -> Message<'_> {
    Message::Modbus(modbus::Message {
        pdu: modbus::wire::parse_adu(adu, modbus::Side::Request).unwrap(),
        request: None,
        latency_ns: None,
    })
}

// ---------------------------------------------------------------- bandwidth

/// `warm` minutes of `base` bytes per minute between two devices, then one
/// minute of `spike` bytes (at minute `warm`), then one more quiet minute.
fn bandwidth(warm: i64, base: u64, spike: u64, cat: &Catalog) -> Vec<Detection> {
    let mut t = T::new(cat);
    let mut f = flow(1, v4(10), v4(21), 502, Some(Proto::Modbus));
    for m in 0..=warm + 1 {
        let bytes = if m == warm { spike } else { base };
        // Six messages per minute.
        for k in 0..6 {
            f.bytes[0] += bytes / 6;
            let ns = T0 + m * 60 * NS + k * 10 * NS;
            f.last_seen = Timestamp(ns);
            t.app(&f, Direction::ToServer, mb(&READ), ns);
        }
    }
    t.time(T0 + (warm + 3) * 60 * NS);
    t.out
}

#[test]
fn bandwidth_between_devices_threshold() {
    let cat = catalog("");
    // 200 kB/min learned, 2.4 MB minute: 12×, above 1 MB.
    let d = bandwidth(12, 200_000, 2_400_000, &cat);
    assert_eq!(count(&d, ids::BANDWIDTH_PAIR), 1, "{d:?}");
    let x = d.iter().find(|x| x.type_id == ids::BANDWIDTH_PAIR).unwrap();
    assert_eq!(x.src.ip, Some(v4(10)));
    assert_eq!(x.dst.ip, Some(v4(21)));
    assert_eq!(x.protocol, Some("modbus"));
    // 9×: below the factor of 10.
    assert_eq!(
        count(
            &bandwidth(12, 200_000, 1_800_000, &cat),
            ids::BANDWIDTH_PAIR
        ),
        0
    );
    // 20× but below 1 MB in the minute.
    assert_eq!(
        count(&bandwidth(12, 30_000, 600_000, &cat), ids::BANDWIDTH_PAIR),
        0
    );
    // Still warming up (minute 5 of 10).
    assert_eq!(
        count(&bandwidth(5, 200_000, 2_400_000, &cat), ids::BANDWIDTH_PAIR),
        0
    );
    // The overall level: 2.4 MB is below its 10 MB floor...
    assert_eq!(count(&d, ids::BANDWIDTH), 0);
    // ...12 MB after 1.2 MB/min is not.
    let d = bandwidth(12, 1_200_000, 14_400_000, &cat);
    assert_eq!(count(&d, ids::BANDWIDTH), 1, "{d:?}");
    assert_eq!(count(&d, ids::BANDWIDTH_PAIR), 1);
    // An admin's factor applies.
    let cat =
        catalog("[types.abnormal_traffic_bandwidth_between_devices.thresholds]\nfactor = 20\n");
    assert_eq!(
        count(
            &bandwidth(12, 200_000, 2_400_000, &cat),
            ids::BANDWIDTH_PAIR
        ),
        0
    );
}

// ---------------------------------------------------------------- periodic

/// Requests every `period` ms for `n` polls, then every `after` ms for
/// `m` polls; then capture time runs on to `tail` s after the last one.
fn polls(period: i64, n: i64, after: i64, m: i64, tail: i64, cat: &Catalog) -> Vec<Detection> {
    let mut t = T::new(cat);
    let f = flow(1, v4(10), v4(21), 502, Some(Proto::Modbus));
    let mut ns = T0;
    let mut last = T0;
    for i in 0..n + m {
        t.app(&f, Direction::ToServer, mb(&READ), ns);
        last = ns;
        ns += if i < n { period } else { after } * 1_000_000;
    }
    let end = last + tail * NS;
    ns = last;
    while ns < end {
        ns += NS;
        t.time(ns);
    }
    t.out
}

#[test]
fn abnormal_periodic_behavior_threshold() {
    let cat = catalog("");
    // Polled every 2 s, then every 5 s: three changed intervals.
    let d = polls(2000, 320, 5000, 4, 0, &cat);
    assert_eq!(count(&d, ids::PERIODIC), 1, "{d:?}");
    let x = d.iter().find(|x| x.type_id == ids::PERIODIC).unwrap();
    assert_eq!(x.src.ip, Some(v4(10)));
    assert_eq!(x.dst.port, Some(502));
    // Only two changed intervals (threshold 3 in a row).
    assert_eq!(count(&polls(2000, 320, 5000, 2, 0, &cat), ids::PERIODIC), 0);
    // Jitter within the deviation (2 s -> 2.8 s is 40% < 50%).
    assert_eq!(
        count(&polls(2000, 320, 2800, 10, 0, &cat), ids::PERIODIC),
        0
    );
    // Steady, but for less than the 600 s of learning.
    assert_eq!(count(&polls(2000, 250, 5000, 4, 0, &cat), ids::PERIODIC), 0);
    // An admin's shorter learning applies.
    let short = catalog("[types.abnormal_periodic_behavior.thresholds]\nlearn = 60\n");
    assert_eq!(
        count(&polls(2000, 40, 5000, 4, 0, &short), ids::PERIODIC),
        1
    );
    // Not periodic yet (5 steady intervals < 8).
    assert_eq!(count(&polls(2000, 6, 5000, 6, 0, &cat), ids::PERIODIC), 0);
    // Too fast to count as periodic (100 ms).
    assert_eq!(count(&polls(100, 7000, 400, 10, 0, &cat), ids::PERIODIC), 0);
}

#[test]
fn inactive_communication_channel_threshold() {
    let cat = catalog("");
    // Polled every 2 s, then silent for 70 s (> 60 s and > 5 periods).
    let d = polls(2000, 320, 2000, 0, 70, &cat);
    assert_eq!(count(&d, ids::INACTIVE), 1, "{d:?}");
    assert_eq!(count(&d, ids::PERIODIC), 0);
    // Silent for 50 s: below the 60 s inactivity.
    assert_eq!(
        count(&polls(2000, 320, 2000, 0, 50, &cat), ids::INACTIVE),
        0
    );
    // Every 20 s, silent 90 s: above 60 s but below 5 periods (100 s)...
    assert_eq!(
        count(&polls(20_000, 40, 20_000, 0, 90, &cat), ids::INACTIVE),
        0
    );
    // ...silent 110 s: above both.
    assert_eq!(
        count(&polls(20_000, 40, 20_000, 0, 110, &cat), ids::INACTIVE),
        1
    );
    // Never periodic (3 requests): no learned period, no alert.
    assert_eq!(count(&polls(2000, 3, 2000, 0, 300, &cat), ids::INACTIVE), 0);
    // Reported once per silence.
    assert_eq!(
        count(&polls(2000, 320, 2000, 0, 600, &cat), ids::INACTIVE),
        1
    );
}

// ---------------------------------------------------------------- lengths

/// `warm` messages of `base` wire bytes each, then one of `big` bytes,
/// then `shared` messages in the same segment (no new bytes) and the end
/// of the flow.
fn lengths_shared(warm: u64, base: u64, big: u64, shared: u32, cat: &Catalog) -> Vec<Detection> {
    let mut t = T::new(cat);
    let mut f = flow(1, v4(10), v4(21), 502, Some(Proto::Modbus));
    let mut ns = T0;
    // The first message of a direction is not measured.
    for i in 0..=warm + 1 {
        f.bytes[0] += if i == warm + 1 { big } else { base };
        ns += NS;
        t.app(&f, Direction::ToServer, mb(&READ), ns);
    }
    for _ in 0..shared {
        t.app(&f, Direction::ToServer, mb(&READ), ns);
    }
    t.e.on_event(&Event::FlowEnd(&f), &mut t.out);
    t.out
}

fn lengths(warm: u64, base: u64, big: u64, cat: &Catalog) -> Vec<Detection> {
    lengths_shared(warm, base, big, 0, cat)
}

#[test]
fn unexpected_message_length_threshold() {
    let cat = catalog("");
    let d = lengths(20, 64, 300, &cat);
    assert_eq!(count(&d, ids::MESSAGE_LENGTH), 1, "{d:?}");
    assert_eq!(d[0].info.get("learned_max").map(String::as_str), Some("64"));
    // 4× exactly (256): not above the factor.
    assert_eq!(count(&lengths(20, 64, 256, &cat), ids::MESSAGE_LENGTH), 0);
    // Above 4× but below 256 bytes.
    assert_eq!(count(&lengths(20, 40, 200, &cat), ids::MESSAGE_LENGTH), 0);
    // During the warm-up (19 learned).
    assert_eq!(count(&lengths(18, 64, 300, &cat), ids::MESSAGE_LENGTH), 0);
    // Several messages in one segment: the length of each is unknown.
    assert_eq!(
        count(&lengths_shared(20, 64, 300, 1, &cat), ids::MESSAGE_LENGTH),
        0
    );
    // Above the catalog's max_length, even while learning.
    assert_eq!(count(&lengths(2, 64, 40_000, &cat), ids::MESSAGE_LENGTH), 1);
}

// ---------------------------------------------------------------- HTTP

fn http_req(head: http::Head<'_>) -> Vec<Detection> {
    let mut t = T::new(&catalog(""));
    let f = flow(1, v4(10), v4(80), 80, Some(Proto::Http));
    t.app(
        &f,
        Direction::ToServer,
        Message::Http(http::Message {
            head,
            body_len: Some(0),
            framing: "none",
            request_method: None,
            latency_ns: None,
        }),
        T0,
    );
    t.out
}

fn get() -> http::Head<'static> {
    http::Head {
        method: b"GET",
        uri: b"/",
        version: b"HTTP/1.1",
        header_count: 5,
        longest_line: 60,
        ..Default::default()
    }
}

#[test]
fn http_head_thresholds() {
    assert!(http_req(get()).is_empty());
    let d = http_req(http::Head {
        longest_line: 8191,
        ..get()
    });
    assert_eq!(by_type(&d), BTreeMap::from([(ids::HTTP_HEADER_LENGTH, 1)]));
    assert!(
        http_req(http::Head {
            longest_line: 8190,
            ..get()
        })
        .is_empty()
    );
    for (h, want) in [(101, 1), (100, 0)] {
        let d = http_req(http::Head {
            header_count: h,
            ..get()
        });
        assert_eq!(count(&d, ids::HTTP_HEADER_PARAMS), want, "{h}");
        let d = http_req(http::Head {
            query_params: h,
            ..get()
        });
        assert_eq!(count(&d, ids::HTTP_HEADER_PARAMS), want, "{h}");
    }
    for h in [
        http::Head {
            ctl_bytes: 1,
            ..get()
        },
        http::Head {
            bad_name: true,
            ..get()
        },
        http::Head {
            content_length_count: 2,
            ..get()
        },
        http::Head {
            transfer_encoding_count: 2,
            chunked: true,
            ..get()
        },
        http::Head {
            chunked: true,
            transfer_encoding_count: 1,
            content_length_count: 1,
            ..get()
        },
        http::Head {
            nested_message: true,
            ..get()
        },
    ] {
        assert_eq!(
            by_type(&http_req(h)),
            BTreeMap::from([(ids::HTTP_HEADER_CONTENT, 1)]),
            "{h:?}"
        );
    }
    // One of each is legal.
    assert!(
        http_req(http::Head {
            chunked: true,
            transfer_encoding_count: 1,
            ..get()
        })
        .is_empty()
    );
    assert!(
        http_req(http::Head {
            content_length_count: 1,
            content_length: Some(3),
            ..get()
        })
        .is_empty()
    );
}

// ---------------------------------------------------------------- ports

fn malformed(port: u16, proto: Proto, data: &[u8]) -> Vec<Detection> {
    let mut t = T::new(&catalog(""));
    let f = flow(1, v4(10), v4(80), port, Some(proto));
    let m = MalformedEvent {
        ts: Timestamp(T0),
        flow: &f,
        dir: Direction::ToClient,
        proto,
        code: "bad_start_line",
        detail: &"test",
        function_code: None,
        data,
    };
    t.e.on_event(&Event::Malformed(&m), &mut t.out);
    t.e.on_event(&Event::Malformed(&m), &mut t.out);
    t.out
}

#[test]
fn unexpected_traffic_standard_port() {
    let ssh = b"SSH-2.0-OpenSSH_9.6\r\n";
    let d = malformed(80, Proto::Http, ssh);
    assert_eq!(count(&d, ids::STANDARD_PORT), 1, "once per channel: {d:?}");
    assert_eq!(d[0].protocol, Some("ssh"));
    // Garbage that is no protocol: a malformed message, not another protocol.
    assert!(malformed(80, Proto::Http, b"\x00\x01garbage\r\n").is_empty());
    // SSH on its own port.
    assert!(malformed(22, Proto::Ssh, ssh).is_empty());
}

// ---------------------------------------------------------------- stops

fn stop() -> Message<'static> {
    Message::Dnp3(dnp3::Message {
        src_addr: 1,
        dst_addr: 10,
        link_control: 0xc4,
        transport_seq: 0,
        segments: 1,
        app_control: dnp3::AppControl(0xc0),
        function_code: 18,
        iin: None,
        objects: &[],
        objects_complete: true,
        object_count: 0,
        request: None,
        latency_ns: None,
    })
}

fn stops(n: i64, step_s: i64, cat: &Catalog) -> Vec<Detection> {
    let mut t = T::new(cat);
    let f = flow(1, v4(10), v4(21), 20000, Some(Proto::Dnp3));
    for i in 0..n {
        t.app(&f, Direction::ToServer, stop(), T0 + i * step_s * NS);
    }
    t.out
}

#[test]
fn abnormal_application_termination_threshold() {
    let cat = catalog("");
    let d = stops(20, 60, &cat);
    assert_eq!(count(&d, ids::APP_TERMINATION), 1);
    assert_eq!(d[0].src.ip, Some(v4(10)));
    assert_eq!(count(&stops(19, 60, &cat), ids::APP_TERMINATION), 0);
    // Responses and other commands are not stops.
    let umas = |response: bool, code: u8| {
        Message::Umas(umas::Message {
            transaction_id: 1,
            unit_id: 0,
            response,
            session: Some(0),
            code: Some(code),
            request_function: None,
            exception_code: None,
            data: &[],
            latency_ns: None,
        })
    };
    let f = flow(2, v4(10), v4(21), 502, Some(Proto::Umas));
    for (resp, code, want) in [(false, 0x41, 1), (true, 0x41, 0), (false, 0x40, 0)] {
        let mut t = T::new(&cat);
        for i in 0..20 {
            let dir = if resp {
                Direction::ToClient
            } else {
                Direction::ToServer
            };
            t.app(&f, dir, umas(resp, code), T0 + i * NS);
        }
        assert_eq!(count(&t.out, ids::APP_TERMINATION), want, "{resp} {code}");
    }
    // 20 stops over more than 3 hours (one every 12 minutes).
    assert_eq!(count(&stops(20, 720, &cat), ids::APP_TERMINATION), 0);
}

// ---------------------------------------------------------------- manager

#[test]
fn learned_and_muted_through_the_manager() {
    let cat = catalog("");
    let mut m = AlertManager::new(cat.clone(), "s1".into(), ManagerConfig::default());
    let d = polls(2000, 320, 2000, 0, 70, &cat);
    assert_eq!(d.len(), 1);
    let Outcome::Created(id) = m.ingest(d[0].clone()) else {
        panic!("not created");
    };
    m.learn(&id, Timestamp(T0 + 100 * NS)).unwrap();
    let again = polls(2000, 320, 2000, 0, 70, &cat);
    assert!(matches!(m.ingest(again[0].clone()), Outcome::Suppressed(_)));
    // Muted: a bandwidth alert of the same pair.
    let d = bandwidth(12, 200_000, 2_400_000, &cat);
    let x = d.iter().find(|x| x.type_id == ids::BANDWIDTH_PAIR).unwrap();
    let Outcome::Created(id) = m.ingest(x.clone()) else {
        panic!("not created");
    };
    m.mute(&id, Timestamp(T0 + 100 * NS)).unwrap();
    assert!(matches!(m.ingest(x.clone()), Outcome::Suppressed(_)));
}

#[test]
fn requests_of_one_poll_cycle_are_one_arrival() {
    // Every 2 s, three reads of the same function in a burst: periodic,
    // neither a change nor a silence.
    let cat = catalog("");
    let mut t = T::new(&cat);
    let f = flow(1, v4(10), v4(21), 502, Some(Proto::Modbus));
    for i in 0..320 {
        for k in 0..3 {
            t.app(
                &f,
                Direction::ToServer,
                mb(&READ),
                T0 + i * 2 * NS + k * 20_000_000,
            );
        }
    }
    assert!(t.out.is_empty(), "{:?}", t.out);
    // Then silent for 2 minutes: the channel was learned as periodic.
    for s in 0..120 {
        t.time(T0 + 640 * NS + s * NS);
    }
    assert_eq!(count(&t.out, ids::INACTIVE), 1);
}

// ---------------------------------------------------------------- scenario

fn run_scenario(name: &str, cat: &Catalog) -> Vec<Detection> {
    use otwatch_capture::{LinkType, Packet};
    use otwatch_engines::Engines;
    use otwatch_pipeline::{Config, Pipeline};
    let cap = otwatch_sim::generate(name, 3).unwrap();
    let mut engines = Engines::new();
    engines.push(Box::new(Anomaly::new(cat)));
    let mut p = Pipeline::new(Config::default(), engines);
    for (i, (ts, data)) in cap.packets.iter().enumerate() {
        p.process(&Packet {
            ts: *ts,
            link: LinkType::from_linktype(cap.linktype as i32).unwrap(),
            data,
            orig_len: data.len() as u32,
            input: 0,
            record: i as u64 + 1,
        });
    }
    p.finish();
    let mut e = p.into_sink();
    e.finish();
    e.drain().collect()
}

#[test]
fn learned_scenario_through_the_pipeline() {
    let d = run_scenario("anomaly_learned", &catalog(""));
    let hmi = Some("10.10.1.10".to_string());
    let ip = |x: &Detection| x.src.ip.map(|i| i.to_string());
    assert_eq!(
        by_type(&d),
        BTreeMap::from([
            (ids::PERIODIC, 1),
            (ids::INACTIVE, 1),
            (ids::MESSAGE_LENGTH, 1),
            (ids::BANDWIDTH_PAIR, 1),
        ]),
        "{:#?}",
        d.iter().map(|x| &x.message).collect::<Vec<_>>()
    );
    for x in &d {
        let dst = x.dst.ip.map(|i| i.to_string());
        match x.type_id {
            ids::PERIODIC => assert_eq!(dst.as_deref(), Some("10.10.1.21")),
            ids::INACTIVE => assert_eq!(dst.as_deref(), Some("10.10.1.23")),
            // The PLC sent the long response.
            ids::MESSAGE_LENGTH => assert_eq!(ip(x).as_deref(), Some("10.10.1.22")),
            _ => assert_eq!(dst.as_deref(), Some("10.10.1.23")),
        }
        if x.type_id != ids::MESSAGE_LENGTH {
            assert_eq!(ip(x), hmi);
        }
    }
    // With the default catalog (bandwidth and inactivity off), only the
    // types enabled by default remain.
    let d = run_scenario("anomaly_learned", Catalog::builtin());
    assert_eq!(
        by_type(&d),
        BTreeMap::from([(ids::PERIODIC, 1), (ids::MESSAGE_LENGTH, 1)])
    );
}

#[test]
fn learned_state_is_bounded() {
    use otwatch_engines::anomaly::MAX_FLOWS;
    let mut t = T::new(&catalog(""));
    for i in 0..40_000u32 {
        let server = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let mut f = flow(u64::from(i) + 1, v4(10), server, 502, Some(Proto::Modbus));
        f.bytes[0] += 100;
        t.app(
            &f,
            Direction::ToServer,
            mb(&READ),
            T0 + i64::from(i) * 1_000_000,
        );
        f.bytes[0] += 100;
        t.app(
            &f,
            Direction::ToServer,
            mb(&READ),
            T0 + i64::from(i) * 1_000_000 + 1000,
        );
    }
    let s = t.e.stats();
    assert!(s.max_table_len <= MAX_FLOWS, "{s:?}");
    assert!(s.evictions > 0);
    assert!(s.total_keys <= MAX_FLOWS + 10 * otwatch_engines::anomaly::MAX_KEYS);
}
