//! The protocol-violation engine: generated scenarios through the pipeline,
//! hand-built events for what the generator does not write, and (with
//! `OTWATCH_CORPUS`) the real corpus without a panic.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use otwatch_alerts::{Catalog, Detection, Engine as EngineKind, Overrides};
use otwatch_capture::{LinkType, Packet};
use otwatch_core::{
    ClientBy, Direction, FlowId, FlowInfo, FlowSide, MacAddr, MsgKind, Proto, Timestamp, Transport,
};
use otwatch_engines::protocol_violation::{MAX_SESSIONS, ProtocolViolation, Type};
use otwatch_engines::{Engine, Engines};
use otwatch_pipeline::{Config, Pipeline};
use otwatch_proto::event::{AppEvent, Event, MalformedEvent};
use otwatch_proto::{Message, dnp3, iec104, modbus};

/// The built-in catalog with every protocol-violation type switched on.
fn all_on() -> Catalog {
    all_on_with("")
}

fn all_on_with(extra: &str) -> Catalog {
    let mut t = String::new();
    for ty in Type::ALL {
        t.push_str(&format!("[types.{}]\nenabled = true\n", ty.id()));
        if *ty == Type::ExcessiveMalformedPackets {
            t.push_str(extra);
        }
    }
    let o = Overrides::from_toml_str(&t).unwrap();
    Catalog::builtin().with_overrides(&o).unwrap()
}

fn run_scenario(name: &str, cat: &Catalog) -> Vec<Detection> {
    let cap = otwatch_sim::generate(name, 1).unwrap();
    let mut engines = Engines::new();
    engines.push(Box::new(ProtocolViolation::new(cat)));
    let mut p = Pipeline::new(Config::default(), engines);
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
    let mut e = p.into_sink();
    e.finish();
    e.drain().collect()
}

fn by_type(d: &[Detection]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for x in d {
        *m.entry(x.type_id).or_default() += 1;
    }
    m
}

fn of(d: &[Detection], t: Type) -> Vec<&Detection> {
    d.iter().filter(|x| x.type_id == t.id()).collect()
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

// ---------------------------------------------------------------- catalog

#[test]
fn every_type_is_a_protocol_violation_type_of_the_catalog() {
    let cat = Catalog::builtin();
    for t in Type::ALL {
        let a = cat
            .get(t.id())
            .unwrap_or_else(|| panic!("{} missing", t.id()));
        assert_eq!(a.engine, EngineKind::ProtocolViolation, "{}", t.id());
    }
    // Every protocol-violation type of the catalog is implemented, except
    // Firmware Update (no dissector reports a firmware-update command).
    let missing: Vec<_> = cat
        .by_engine(EngineKind::ProtocolViolation)
        .filter(|a| !Type::ALL.iter().any(|t| t.id() == a.id))
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(missing, vec!["firmware_update"]);
    let e = ProtocolViolation::new(cat);
    assert_eq!(e.kind(), EngineKind::ProtocolViolation);
}

#[test]
fn disabled_types_and_engine_raise_nothing() {
    // Built-in defaults: Modbus Exception on, the exception-code types off.
    let d = run_scenario("modbus_exceptions", Catalog::builtin());
    assert_eq!(by_type(&d), BTreeMap::from([("modbus_exception", 5)]));
    let o = Overrides::from_toml_str("[engines]\nprotocol_violation = false\n").unwrap();
    let off = Catalog::builtin().with_overrides(&o).unwrap();
    assert!(run_scenario("modbus_exceptions", &off).is_empty());
}

// ------------------------------------------------------ generated scenarios

#[test]
fn normal_traffic_raises_nothing() {
    let cat = all_on();
    for s in [
        "modbus_polling",
        "modbus_writes",
        "modbus_segmented",
        "modbus_midstream",
        "modbus_udp",
        "dnp3_polling",
        "dnp3_control",
        "dnp3_udp",
        "iec104_normal",
        "bacnet_normal",
        "net_vlan",
        "net_ipv6",
    ] {
        let d = run_scenario(s, &cat);
        assert!(d.is_empty(), "{s}: {d:#?}");
    }
}

#[test]
fn modbus_exceptions() {
    let d = run_scenario("modbus_exceptions", &all_on());
    assert_eq!(
        by_type(&d),
        BTreeMap::from([
            ("modbus_exception", 5),
            ("modbus_illegal_function", 1),
            ("modbus_illegal_data_address", 1),
            ("modbus_illegal_data_value", 1),
        ])
    );
    let exc = of(&d, Type::ModbusException);
    let fcs: Vec<_> = exc.iter().map(|x| x.key["function_code"].clone()).collect();
    assert_eq!(fcs, ["20", "3", "6", "4", "16"]);
    for x in &exc {
        // The server returned the exception.
        assert_eq!(x.src.ip, ip("10.10.1.22"));
        assert_eq!(x.dst.ip, ip("10.10.1.10"));
        assert_eq!(x.src.port, Some(502));
        assert!(x.src.mac.is_some() && x.flow.is_some());
        assert_eq!(x.protocol, Some("modbus"));
    }
    let m = &exc[1].message;
    assert!(
        m.starts_with(
            "Modbus exception 2 (illegal data address) from 10.10.1.22 to 10.10.1.10 for function 3 at address"
        ),
        "{m}"
    );
    assert_eq!(exc[1].info["exception_code"], "2");
    assert!(exc[1].info.contains_key("address"));
    // "Slave Device Received ...": the master is the source.
    for t in [
        Type::ModbusIllegalFunction,
        Type::ModbusIllegalDataAddress,
        Type::ModbusIllegalDataValue,
    ] {
        let x = of(&d, t)[0];
        assert_eq!(x.src.ip, ip("10.10.1.10"), "{}", t.id());
        assert_eq!(x.dst.ip, ip("10.10.1.22"), "{}", t.id());
        assert!(x.key.is_empty());
    }
}

#[test]
fn modbus_malformed() {
    let d = run_scenario("modbus_malformed", &all_on());
    let t = by_type(&d);
    assert_eq!(t["modbus_function_code_zero"], 1, "{d:#?}");
    assert_eq!(t["illegal_protocol_version"], 1, "{d:#?}");
    assert!(t["excessive_malformed_packets"] >= 1, "{d:#?}");
    let v = of(&d, Type::IllegalProtocolVersion)[0];
    assert_eq!(v.src.ip, ip("10.10.1.10"));
    assert!(v.message.contains("4660"), "{}", v.message); // 0x1234
    let z = of(&d, Type::ModbusFunctionCodeZero)[0];
    assert_eq!(z.src.ip, ip("10.10.1.10"));
    assert_eq!(z.dst.ip, ip("10.10.1.21"));
}

#[test]
fn dnp3_malformed() {
    let d = run_scenario("dnp3_malformed", &all_on());
    let t = by_type(&d);
    // A corrupted request header from the master, a corrupted response block
    // from the RTU: one of each, and two malformed frames in one session.
    assert_eq!(t["dnp3_illegal_operation"], 1, "{d:#?}");
    assert_eq!(t["dnp3_improper_formatting"], 1, "{d:#?}");
    assert_eq!(t["excessive_malformed_packets"], 1, "{d:#?}");
    let ill = of(&d, Type::Dnp3IllegalOperation);
    assert_eq!(ill[0].src.ip, ip("10.10.1.10"));
    let imp = of(&d, Type::Dnp3ImproperFormatting);
    assert_eq!(imp[0].src.ip, ip("10.10.1.30"));
}

#[test]
fn bacnet_malformed() {
    let d = run_scenario("bacnet_abnormal", &all_on());
    let t = by_type(&d);
    assert_eq!(t["bacnet_illegal_message"], 2, "{d:#?}");
    let b = of(&d, Type::BacnetIllegalMessage)[0];
    assert_eq!(b.src.ip, ip("10.10.2.10"));
    assert_eq!(b.protocol, Some("bacnet"));
    assert!(
        b.message
            .starts_with("Malformed BACnet message from 10.10.2.10 to 10.10.2.21: ")
    );
}

// ------------------------------------------------------- hand-built events

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);

fn flow(id: u64, transport: Transport, cport: u16, sport: u16, proto: Option<Proto>) -> FlowInfo {
    FlowInfo {
        id: FlowId(id),
        transport,
        ip_proto: if transport == Transport::Udp { 17 } else { 6 },
        vlan: 0,
        client: FlowSide {
            ip: IpAddr::V4(CLIENT),
            port: cport,
            mac: MacAddr([2, 0, 0, 0, 0, 5]),
        },
        server: FlowSide {
            ip: IpAddr::V4(SERVER),
            port: sport,
            mac: MacAddr([2, 0, 0, 0, 0, 9]),
        },
        client_by: ClientBy::Handshake,
        proto,
        first_seen: Timestamp::from_secs(100),
        last_seen: Timestamp::from_secs(100),
        pkts: [1, 1],
        bytes: [60, 60],
        end_reason: None,
    }
}

struct T {
    e: ProtocolViolation,
    out: Vec<Detection>,
}

impl T {
    fn new() -> Self {
        T::with(&all_on())
    }
    fn with(cat: &Catalog) -> Self {
        T {
            e: ProtocolViolation::new(cat),
            out: Vec::new(),
        }
    }
    fn ev(&mut self, ev: Event<'_>) -> Vec<Detection> {
        self.e.on_event(&ev, &mut self.out);
        std::mem::take(&mut self.out)
    }
    fn app(
        &mut self,
        f: &FlowInfo,
        dir: Direction,
        kind: MsgKind,
        msg: Message<'_>,
    ) -> Vec<Detection> {
        let a = AppEvent {
            ts: Timestamp::from_secs(101),
            flow: f,
            dir,
            kind,
            msg,
        };
        self.ev(Event::App(&a))
    }
    fn malformed(
        &mut self,
        f: &FlowInfo,
        dir: Direction,
        proto: Proto,
        code: &'static str,
        fc: Option<u16>,
        secs: i64,
    ) -> Vec<Detection> {
        let m = MalformedEvent {
            ts: Timestamp::from_secs(secs),
            flow: f,
            dir,
            proto,
            code,
            detail: &"test detail",
            function_code: fc,
            data: &[1, 2, 3],
        };
        self.ev(Event::Malformed(&m))
    }
}

fn ids(d: &[Detection]) -> Vec<&'static str> {
    d.iter().map(|x| x.type_id).collect()
}

fn mb(adu: &[u8], side: modbus::wire::Side) -> Message<'_> {
    Message::Modbus(modbus::Message {
        pdu: modbus::wire::parse_adu(adu, side).unwrap(),
        request: None,
        latency_ns: None,
    })
}

#[test]
fn modbus_exception_raised_by_master() {
    let f = flow(1, Transport::Tcp, 40000, 502, Some(Proto::Modbus));
    let mut t = T::new();
    use modbus::wire::Side;
    // Request 0x83 02: exception bit in a request.
    let d = t.app(
        &f,
        Direction::ToServer,
        MsgKind::Request,
        mb(&[0, 1, 0, 0, 0, 3, 1, 0x83, 2], Side::Request),
    );
    assert_eq!(ids(&d), ["modbus_exception_by_master"]);
    assert_eq!(d[0].src.ip, Some(IpAddr::V4(CLIENT)));
    assert_eq!(d[0].src.port, Some(40000));
    assert_eq!(d[0].dst.port, Some(502));
    assert_eq!(d[0].flow, Some(FlowId(1)));
    assert!(d[0].message.contains("0x83"), "{}", d[0].message);
    // A normal request: nothing.
    let d = t.app(
        &f,
        Direction::ToServer,
        MsgKind::Request,
        mb(&[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10], Side::Request),
    );
    assert!(d.is_empty());
    // The same exception from the server is an ordinary exception response.
    let d = t.app(
        &f,
        Direction::ToClient,
        MsgKind::Response,
        mb(&[0, 1, 0, 0, 0, 3, 1, 0x83, 2], Side::Response),
    );
    assert_eq!(ids(&d), ["modbus_exception", "modbus_illegal_data_address"]);
}

#[test]
fn modbus_reserved_function_codes() {
    let f = flow(1, Transport::Tcp, 40000, 502, Some(Proto::Modbus));
    let mut t = T::new();
    use modbus::wire::Side;
    for fc in [9u8, 10, 13, 14, 41, 42, 91, 125, 126, 127, 30, 50] {
        let adu = [0, 1, 0, 0, 0, 3, 1, fc, 0];
        let d = t.app(
            &f,
            Direction::ToServer,
            MsgKind::Request,
            mb(&adu, Side::Request),
        );
        assert_eq!(ids(&d), ["reserved_function_code"], "fc {fc}");
        assert_eq!(d[0].key["function_code"], fc.to_string());
        // The echo in the response does not alert again.
        let d = t.app(
            &f,
            Direction::ToClient,
            MsgKind::Response,
            mb(&adu, Side::Response),
        );
        assert!(d.is_empty(), "fc {fc}");
    }
    // Public and user-defined codes.
    for fc in [65u8, 72, 100, 110] {
        let adu = [0, 1, 0, 0, 0, 3, 1, fc, 0];
        let d = t.app(
            &f,
            Direction::ToServer,
            MsgKind::Request,
            mb(&adu, Side::Request),
        );
        assert!(d.is_empty(), "fc {fc}");
    }
}

fn dnp3_msg(fc: u8, control: u8, iin: Option<u16>, req: Option<u8>) -> Message<'static> {
    Message::Dnp3(dnp3::Message {
        src_addr: if iin.is_some() { 10 } else { 1 },
        dst_addr: if iin.is_some() { 1 } else { 10 },
        link_control: 0x44,
        transport_seq: 0,
        segments: 1,
        app_control: dnp3::AppControl(control),
        function_code: fc,
        iin,
        objects: &[],
        objects_complete: true,
        object_count: 0,
        request: req.map(|f| dnp3::RequestInfo {
            app_seq: 0,
            src_addr: 1,
            dst_addr: 10,
            function_code: f,
            ts: Timestamp::from_secs(100),
        }),
        latency_ns: None,
    })
}

#[test]
fn dnp3_iin() {
    let f = flow(2, Transport::Tcp, 40001, 20000, Some(Proto::Dnp3));
    let mut t = T::new();
    let resp = |t: &mut T, iin: u16, req: Option<u8>| {
        t.app(
            &f,
            Direction::ToClient,
            MsgKind::Response,
            dnp3_msg(129, 0xC0, Some(iin), req),
        )
    };
    let d = resp(&mut t, 0x0001, Some(24));
    assert_eq!(ids(&d), ["dnp3_function_not_supported"]);
    assert_eq!(d[0].key["function_code"], "24");
    // The outstation received the request: the master is the source.
    assert_eq!(d[0].src.ip, Some(IpAddr::V4(CLIENT)));
    assert_eq!(d[0].dst.ip, Some(IpAddr::V4(SERVER)));
    let d = resp(&mut t, 0x0001, None);
    assert_eq!(d[0].key["function_code"], "unknown");
    assert_eq!(ids(&resp(&mut t, 0x0002, Some(1))), ["dnp3_unknown_object"]);
    assert_eq!(
        ids(&resp(&mut t, 0x0004, Some(2))),
        ["dnp3_incorrect_parameter"]
    );
    let d = resp(&mut t, 0x0040, Some(1));
    assert_eq!(ids(&d), ["dnp3_reserved_iin"]);
    // Reserved IIN: the outstation is the source.
    assert_eq!(d[0].src.ip, Some(IpAddr::V4(SERVER)));
    assert!(d[0].message.contains("IIN2.6"));
    assert_eq!(ids(&resp(&mut t, 0x0080, None)), ["dnp3_reserved_iin"]);
    assert_eq!(
        ids(&resp(&mut t, 0x0043, Some(1))),
        [
            "dnp3_function_not_supported",
            "dnp3_unknown_object",
            "dnp3_reserved_iin"
        ]
    );
    // Ordinary indications (restart, events, need time, buffer overflow...): nothing.
    for iin in [
        0x0000, 0x8000, 0x1000, 0x0200, 0x0008, 0x0010, 0x0020, 0xff38,
    ] {
        assert!(resp(&mut t, iin, Some(1)).is_empty(), "iin {iin:04x}");
    }
}

#[test]
fn dnp3_requests() {
    let f = flow(2, Transport::Tcp, 40001, 20000, Some(Proto::Dnp3));
    let mut t = T::new();
    let req = |t: &mut T, fc: u8, control: u8| {
        t.app(
            &f,
            Direction::ToServer,
            MsgKind::Request,
            dnp3_msg(fc, control, None, None),
        )
    };
    // CON (0x20) set in a request.
    let d = req(&mut t, 1, 0xE0);
    assert_eq!(ids(&d), ["dnp3_master_confirm_request"]);
    assert_eq!(d[0].src.ip, Some(IpAddr::V4(CLIENT)));
    assert!(req(&mut t, 1, 0xC0).is_empty());
    // CON on a response is normal.
    let d = t.app(
        &f,
        Direction::ToClient,
        MsgKind::Response,
        dnp3_msg(129, 0xE0, Some(0), Some(1)),
    );
    assert!(d.is_empty());
    // Obsolete functions.
    assert_eq!(
        ids(&req(&mut t, 15, 0xC0)),
        ["dnp3_obsolete_initialize_data"]
    );
    assert_eq!(ids(&req(&mut t, 19, 0xC0)), ["dnp3_obsolete_save_config"]);
    for fc in [6u8, 13, 14, 16, 17, 18, 20] {
        assert!(req(&mut t, fc, 0xC0).is_empty(), "fc {fc}");
    }
    // Reserved function codes (34-128, 132-255).
    for fc in [34u8, 100, 128, 132, 255] {
        let d = req(&mut t, fc, 0xC0);
        assert_eq!(ids(&d), ["reserved_function_code"], "fc {fc}");
        assert_eq!(d[0].key["function_code"], fc.to_string());
        assert_eq!(d[0].protocol, Some("dnp3"));
    }
    assert!(req(&mut t, 33, 0xC0).is_empty());
}

fn i_frame(type_id: u8, cot: u8) -> Vec<u8> {
    // C_SC_NA_1-sized object (IOA + 1 octet) is enough for any type here:
    // unknown types are not sized.
    vec![
        0x68, 14, 0, 0, 0, 0, type_id, 1, cot, 0, 1, 0, 0x89, 0x13, 0, 0x01,
    ]
}

#[test]
fn iec104_negative_confirmations() {
    let f = flow(3, Transport::Tcp, 40002, 2404, Some(Proto::Iec104));
    let mut t = T::new();
    for (cot, ty) in [
        (44, Type::Iec104IllegalAsduType),
        (45, Type::Iec104IllegalCause),
        (46, Type::Iec104IllegalCommonAddress),
        (47, Type::Iec104IllegalIoa),
    ] {
        let b = i_frame(if cot == 44 { 200 } else { 45 }, cot | 0x40);
        let apdu = iec104::wire::parse_apdu(&b).unwrap();
        let d = t.app(
            &f,
            Direction::ToClient,
            MsgKind::Response,
            Message::Iec104(iec104::Message { apdu }),
        );
        assert_eq!(ids(&d), [ty.id()], "cot {cot}");
        // The controlled station received the ASDU: the controlling station is the source.
        assert_eq!(d[0].src.ip, Some(IpAddr::V4(CLIENT)));
        assert_eq!(d[0].dst.ip, Some(IpAddr::V4(SERVER)));
        assert_eq!(d[0].info["ioa"], "5001");
        if cot == 44 {
            assert_eq!(d[0].key["function_code"], "200");
        }
    }
    // Activation, confirmation, termination, spontaneous: nothing.
    for cot in [3u8, 6, 7, 10, 20, 48] {
        let b = i_frame(45, cot);
        let apdu = iec104::wire::parse_apdu(&b).unwrap();
        let d = t.app(
            &f,
            Direction::ToClient,
            MsgKind::Response,
            Message::Iec104(iec104::Message { apdu }),
        );
        assert!(d.is_empty(), "cot {cot}");
    }
}

#[test]
fn port_zero() {
    let mut t = T::new();
    let f = flow(4, Transport::Tcp, 40000, 0, None);
    let d = t.ev(Event::FlowStart(&f));
    assert_eq!(ids(&d), ["port_zero_connection"]);
    assert_eq!(d[0].protocol, Some("tcp"));
    assert_eq!(d[0].dst.port, Some(0));
    assert_eq!(d[0].src.ip, Some(IpAddr::V4(CLIENT)));
    let f = flow(5, Transport::Udp, 0, 53, None);
    assert_eq!(ids(&t.ev(Event::FlowStart(&f))), ["port_zero_connection"]);
    for f in [
        flow(6, Transport::Tcp, 40000, 502, None),
        flow(7, Transport::OtherIp, 0, 0, None),
    ] {
        assert!(t.ev(Event::FlowStart(&f)).is_empty());
    }
    // FlowEnd of a port-0 flow does not alert again.
    let f = flow(4, Transport::Tcp, 40000, 0, None);
    assert!(t.ev(Event::FlowEnd(&f)).is_empty());
}

#[test]
fn excessive_malformed_threshold_and_window() {
    let f = flow(8, Transport::Tcp, 40000, 4840, Some(Proto::Opcua));
    let g = flow(9, Transport::Tcp, 40001, 4840, Some(Proto::Opcua));
    let mut t = T::new();
    let mf = |t: &mut T, f: &FlowInfo, dir, secs| {
        t.malformed(f, dir, Proto::Opcua, "bad_message_size", None, secs)
    };
    // Default threshold: 2 in 600 s. One: nothing.
    assert!(mf(&mut t, &f, Direction::ToServer, 100).is_empty());
    // One on another flow: nothing (per session).
    assert!(mf(&mut t, &g, Direction::ToServer, 101).is_empty());
    // The second of the session, 600 s later (still inside), either direction.
    let d = mf(&mut t, &f, Direction::ToClient, 700);
    assert_eq!(ids(&d), ["excessive_malformed_packets"]);
    assert_eq!(d[0].src.ip, Some(IpAddr::V4(SERVER)));
    assert_eq!(d[0].protocol, Some("opcua"));
    assert_eq!(d[0].info["count"], "2");
    // Counting starts again after a detection.
    assert!(mf(&mut t, &f, Direction::ToServer, 701).is_empty());
    // 601 s apart: outside the window.
    assert!(mf(&mut t, &f, Direction::ToServer, 1302).is_empty());
    assert_eq!(
        ids(&mf(&mut t, &f, Direction::ToServer, 1303)),
        ["excessive_malformed_packets"]
    );
    // The flow's end drops its window.
    assert!(mf(&mut t, &g, Direction::ToServer, 102).len() == 1);
    assert!(mf(&mut t, &g, Direction::ToServer, 103).is_empty());
    t.ev(Event::FlowEnd(&g));
    assert!(mf(&mut t, &g, Direction::ToServer, 104).is_empty());
}

#[test]
fn excessive_malformed_overridden_thresholds() {
    let mut t = T::with(&all_on_with("thresholds = { count = 3, window = 10 }\n"));
    let f = flow(8, Transport::Udp, 40000, 47808, Some(Proto::Bacnet));
    let mf = |t: &mut T, secs| {
        let d = t.malformed(
            &f,
            Direction::ToServer,
            Proto::Bacnet,
            "bad_tag",
            None,
            secs,
        );
        d.iter()
            .filter(|x| x.type_id == "excessive_malformed_packets")
            .count()
    };
    assert_eq!(mf(&mut t, 0), 0);
    assert_eq!(mf(&mut t, 5), 0);
    assert_eq!(mf(&mut t, 11), 0); // the first is now 11 s old
    assert_eq!(mf(&mut t, 12), 1); // 5, 11, 12
    // Above the ring size: the fixed-window fallback.
    let mut t = T::with(&all_on_with("thresholds = { count = 40, window = 10 }\n"));
    for i in 0..39 {
        assert_eq!(mf(&mut t, i / 8), 0);
    }
    assert_eq!(mf(&mut t, 5), 1);
}

#[test]
fn malformed_session_table_is_bounded() {
    let mut t = T::new();
    for i in 0..(MAX_SESSIONS as u64 + 500) {
        let f = flow(100 + i, Transport::Tcp, 40000, 4840, Some(Proto::Opcua));
        t.malformed(&f, Direction::ToServer, Proto::Opcua, "truncated", None, 1);
    }
    assert_eq!(t.e.tracked_sessions(), MAX_SESSIONS);
}

#[test]
fn illegal_protocol_version_codes() {
    let mut t = T::new();
    let f = flow(10, Transport::Udp, 40000, 161, Some(Proto::Snmp));
    let d = t.malformed(&f, Direction::ToServer, Proto::Snmp, "bad_version", None, 1);
    assert_eq!(ids(&d), ["illegal_protocol_version"]);
    assert_eq!(d[0].protocol, Some("snmp"));
    let f = flow(11, Transport::Udp, 40000, 161, Some(Proto::Snmp));
    assert!(
        t.malformed(&f, Direction::ToServer, Proto::Snmp, "bad_ber", None, 1)
            .is_empty()
    );
    // BACnet NPDU version: an illegal BACnet message and an illegal version.
    let f = flow(12, Transport::Udp, 47808, 47808, Some(Proto::Bacnet));
    let d = t.malformed(
        &f,
        Direction::ToServer,
        Proto::Bacnet,
        "bad_npdu_version",
        None,
        1,
    );
    assert_eq!(
        ids(&d),
        ["bacnet_illegal_message", "illegal_protocol_version"]
    );
}

#[test]
fn dnp3_malformed_roles() {
    let mut t = T::new();
    let f = flow(13, Transport::Tcp, 40000, 20000, Some(Proto::Dnp3));
    let d = t.malformed(
        &f,
        Direction::ToServer,
        Proto::Dnp3,
        "bad_header_crc",
        None,
        1,
    );
    assert_eq!(ids(&d), ["dnp3_illegal_operation"]);
    let f = flow(14, Transport::Tcp, 40000, 20000, Some(Proto::Dnp3));
    let d = t.malformed(
        &f,
        Direction::ToClient,
        Proto::Dnp3,
        "bad_block_crc",
        None,
        1,
    );
    assert_eq!(ids(&d), ["dnp3_improper_formatting"]);
    // The function code decides when known (a response sent by the client side).
    let f = flow(15, Transport::Tcp, 40000, 20000, Some(Proto::Dnp3));
    let d = t.malformed(
        &f,
        Direction::ToServer,
        Proto::Dnp3,
        "bad_qualifier",
        Some(129),
        1,
    );
    assert_eq!(ids(&d), ["dnp3_improper_formatting"]);
    // Other protocols' malformed PDUs: only counted.
    let f = flow(16, Transport::Tcp, 40000, 502, Some(Proto::Modbus));
    let d = t.malformed(
        &f,
        Direction::ToServer,
        Proto::Modbus,
        "wrong_pdu_length",
        Some(3),
        1,
    );
    assert!(d.is_empty());
}

// ------------------------------------------------------------------ corpus

#[test]
fn corpus_runs_without_panic() {
    let Some(root) = std::env::var_os("OTWATCH_CORPUS").map(std::path::PathBuf::from) else {
        eprintln!("OTWATCH_CORPUS is not set: the corpus run DID NOT RUN");
        return;
    };
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("captures_index.json")).unwrap())
            .unwrap();
    let cat = all_on();
    let mut total: BTreeMap<&'static str, usize> = BTreeMap::new();
    for c in index.as_array().unwrap() {
        let dest = c["dest"].as_str().unwrap();
        let path = root.join(dest);
        let Ok(mut src) = otwatch_capture::FileSource::open(&path, 0) else {
            continue;
        };
        let mut engines = Engines::new();
        engines.push(Box::new(ProtocolViolation::new(&cat)));
        let mut p = Pipeline::new(Config::default(), engines);
        use otwatch_capture::PacketSource;
        while let Ok(Some(pkt)) = src.next_packet() {
            p.process(&pkt);
        }
        p.finish();
        let mut e = p.into_sink();
        e.finish();
        let d: Vec<_> = e.drain().collect();
        if !d.is_empty() {
            let t = by_type(&d);
            println!(
                "{dest} (attack/anomaly: {}): {t:?}",
                c["attack_or_anomaly"].as_bool().unwrap_or(false)
            );
            for (k, v) in t {
                *total.entry(k).or_default() += v;
            }
            if std::env::var_os("OTWATCH_PV_VERBOSE").is_some() {
                for x in d.iter().take(3) {
                    println!("    {}: {}", x.type_id, x.message);
                }
            }
        }
    }
    println!("total: {total:?}");
}
