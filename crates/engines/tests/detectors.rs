//! The detectors added for issue 4's remaining catalog types: policy
//! new-activity types on fields beyond the function code (learned while
//! learning, reported after, learnable through `Engines::learn` and the
//! alert manager), the SRTP stop rule, and the malware rules (PsExec,
//! svcctl, NotPetya SMB, executables, name queries, low-confidence
//! indicators). Hand-built events through the real `Engines`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use otwatch_alerts::{
    AlertManager, Catalog, Detection, ExclusionRule, ManagerConfig, Outcome, Overrides,
    ScenarioKey, Suppression, UtcOffset,
};
use otwatch_core::{
    ClientBy, Direction, FlowId, FlowInfo, FlowSide, MacAddr, MsgKind, Proto, Timestamp, Transport,
};
use otwatch_engines::{Baseline, Engines};
use otwatch_proto::event::{AppEvent, Event, EventSink, FileEvent, PayloadEvent};
use otwatch_proto::{Message, ads, dnp3, dns, http, modbus, opcua, s7comm_plus, smb, srtp};

const NS: i64 = 1_000_000_000;

use Direction::{ToClient as S2C, ToServer as C2S};
use MsgKind::{Request as Req, Response as Resp};

/// The built-in catalog with every type switched on.
fn all_on() -> Catalog {
    let mut t = String::new();
    for a in Catalog::builtin().iter() {
        t.push_str(&format!("[types.{}]\nenabled = true\n", a.id));
    }
    Catalog::builtin()
        .with_overrides(&Overrides::from_toml_str(&t).unwrap())
        .unwrap()
}

fn side(ip: [u8; 4], mac: u8, port: u16) -> FlowSide {
    FlowSide {
        ip: IpAddr::from(ip),
        mac: MacAddr([0, 0x0e, 0x8c, 0, 0, mac]),
        port,
    }
}

const CLIENT: [u8; 4] = [10, 0, 0, 10];
const SERVER: [u8; 4] = [10, 0, 0, 20];

fn flow(id: u64, port: u16, proto: Option<Proto>) -> FlowInfo {
    FlowInfo {
        id: FlowId(id),
        transport: Transport::Tcp,
        ip_proto: 6,
        vlan: 0,
        client: side(CLIENT, 1, 50000),
        server: side(SERVER, 2, port),
        client_by: ClientBy::Handshake,
        proto,
        first_seen: Timestamp(NS),
        last_seen: Timestamp(NS),
        pkts: [1, 1],
        bytes: [0, 0],
        end_reason: None,
    }
}

/// Engines of the all-on catalog over a baseline (10.0.0.0/8 is OT).
struct T {
    e: Engines,
    t: i64,
}

impl T {
    fn new() -> T {
        let mut b = Baseline::new();
        b.learning.auto_end = false;
        b.set_ot_subnets(&["10.0.0.0/8".parse().unwrap()]);
        T {
            e: otwatch_engines::builtin(&all_on(), b),
            t: 10,
        }
    }
    fn stop_learning(&mut self) {
        self.e
            .baseline_mut()
            .set_learning(false, Timestamp(self.t * NS));
    }
    fn ev(&mut self, ev: &Event<'_>) -> Vec<Detection> {
        self.e.on_event(ev);
        self.e.drain().collect()
    }
    fn app(
        &mut self,
        f: &FlowInfo,
        dir: Direction,
        kind: MsgKind,
        msg: Message<'_>,
    ) -> Vec<Detection> {
        self.t += 1;
        let a = AppEvent {
            ts: Timestamp(self.t * NS),
            flow: f,
            dir,
            kind,
            msg,
        };
        self.ev(&Event::App(&a))
    }
}

fn of<'a>(d: &'a [Detection], ty: &str) -> Vec<&'a Detection> {
    d.iter().filter(|x| x.type_id == ty).collect()
}

fn types(d: &[Detection]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for x in d {
        *m.entry(x.type_id).or_default() += 1;
    }
    m
}

/// Learn `learned` then, after learning: `learned` is silent, `new` raises
/// exactly one `ty` (and a repeat within the minute does not); Learn on
/// the alert makes `new` silent, Unlearn brings it back.
fn policy_case(
    ty: &str,
    f: &FlowInfo,
    learned: &[(Direction, MsgKind, Message<'_>)],
    new: &[(Direction, MsgKind, Message<'_>)],
) -> Detection {
    let mut t = T::new();
    for &(d, k, m) in learned {
        let got = t.app(f, d, k, m);
        assert!(of(&got, ty).is_empty(), "learning reported {ty}: {got:?}");
    }
    t.stop_learning();
    for &(d, k, m) in learned {
        let got = t.app(f, d, k, m);
        assert!(
            of(&got, ty).is_empty(),
            "learned traffic reported {ty}: {got:?}"
        );
    }
    let mut hits = Vec::new();
    for &(d, k, m) in new {
        hits.extend(t.app(f, d, k, m));
    }
    let h: Vec<Detection> = of(&hits, ty).into_iter().cloned().collect();
    assert_eq!(h.len(), 1, "{ty}: {:?}", types(&hits));
    for &(d, k, m) in new {
        assert!(
            of(&t.app(f, d, k, m), ty).is_empty(),
            "repeat within the minute"
        );
    }
    // Learn maps the alert back to the baseline entry.
    let cat = all_on();
    let key = ScenarioKey::of(cat.get(ty).unwrap(), &h[0]);
    assert!(t.e.learn(&key, Timestamp(t.t * NS)));
    t.t += 120;
    for &(d, k, m) in new {
        assert!(of(&t.app(f, d, k, m), ty).is_empty(), "{ty} after Learn");
    }
    assert!(t.e.unlearn(&key));
    let mut again = Vec::new();
    for &(d, k, m) in new {
        again.extend(t.app(f, d, k, m));
    }
    assert_eq!(of(&again, ty).len(), 1, "{ty} after Unlearn");
    // The learned baseline survives a JSON round trip.
    let b = Baseline::from_json(&t.e.baseline().to_json()).unwrap();
    assert_eq!(b.to_json(), t.e.baseline().to_json());
    h[0].clone()
}

// ---------------------------------------------------------------- ADS

fn ads_access(group: u32, offset: u32) -> Message<'static> {
    Message::Ads(ads::Message::Ams {
        header: ads::AmsHeader {
            target: ads::NetId([5, 1, 2, 3, 1, 1]),
            target_port: 851,
            source: ads::NetId([5, 1, 2, 4, 1, 1]),
            source_port: 32905,
            command: 2,
            state_flags: 4,
            length: 12,
            error_code: 0,
            invoke_id: 1,
        },
        body: ads::Body::Access {
            index_group: group,
            index_offset: offset,
            length: 4,
            write_length: None,
            data: &[],
        },
        request: None,
        latency_ns: None,
    })
}

#[test]
fn ams_index_offset() {
    let f = flow(1, 48898, Some(Proto::Ads));
    let d = policy_case(
        "new_ams_index_offset",
        &f,
        &[(C2S, Req, ads_access(0x4020, 0x10))],
        &[(C2S, Req, ads_access(0x4020, 0x20))],
    );
    assert_eq!(d.key.get("object").map(String::as_str), Some("0x4020:0x20"));
    assert!(d.message.contains("index offset 0x20"), "{}", d.message);
}

// ---------------------------------------------------------------- S7comm-plus

/// A V2 S7comm-plus request frame addressing object `obj` with `function`.
fn s7p_frame(function: u16, obj: u32) -> Vec<u8> {
    let mut data = vec![0x31, 0, 0];
    data.extend_from_slice(&function.to_be_bytes());
    data.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 0x70, 0x34]);
    data.extend_from_slice(&obj.to_be_bytes());
    data.extend_from_slice(&[0, 0, 0, 0]);
    let mut b = vec![0x72, 0x02];
    b.extend_from_slice(&(data.len() as u16).to_be_bytes());
    b.extend_from_slice(&data);
    b.extend_from_slice(&[0x72, 0x02, 0, 0]);
    b
}

fn s7p(b: &[u8]) -> Message<'_> {
    Message::S7commPlus(s7comm_plus::Message {
        frame: s7comm_plus::wire::parse(b).unwrap(),
    })
}

#[test]
fn s7plus_objects_and_blocks() {
    let f = flow(2, 102, Some(Proto::S7commPlus));
    let (a, b) = (
        s7p_frame(0x04fc, 0x9f00_0101),
        s7p_frame(0x04fc, 0x9f00_0102),
    );
    let d = policy_case(
        "s7plus_object_access",
        &f,
        &[(C2S, Req, s7p(&a))],
        &[(C2S, Req, s7p(&b))],
    );
    assert_eq!(d.key.get("object").map(String::as_str), Some("0x9f000102"));
    let (a, b) = (
        s7p_frame(0x04f2, 0x8a0e_0001),
        s7p_frame(0x04f2, 0x8a0e_0005),
    );
    let d = policy_case(
        "s7plus_block_access",
        &f,
        &[(C2S, Req, s7p(&a))],
        &[(C2S, Req, s7p(&b))],
    );
    assert_eq!(d.key.get("object").map(String::as_str), Some("DB5"));
    // Functions that address no object (GetMultiVariables) are not objects.
    let g = s7p_frame(0x054c, 0x0000_0999);
    let Message::S7commPlus(m) = s7p(&g) else {
        unreachable!()
    };
    assert_eq!(otwatch_engines::policy::s7plus_object(&m), None);
    // Per-connection object ids (high half zero) are not baseline objects.
    let g = s7p_frame(0x04d4, 0x0000_0388);
    let Message::S7commPlus(m) = s7p(&g) else {
        unreachable!()
    };
    assert_eq!(otwatch_engines::policy::s7plus_object(&m), None);
}

// ---------------------------------------------------------------- SRTP

fn srtp_req(service: u8, segment: u8, address: u16) -> Message<'static> {
    Message::Srtp(srtp::Message {
        frame: srtp::Frame {
            packet_type: srtp::wire::packet_type::REQUEST,
            sequence: 1,
            data_length: 0,
            message_type: srtp::wire::mailbox::REQUEST,
            service: Some(service),
            segment: Some(segment),
            address: Some(address),
            length: Some(1),
            status: None,
            inline: &[],
            data: &[],
        },
        request: None,
        latency_ns: None,
    })
}

fn srtp_resp(status: (u8, u8), service: u8) -> Message<'static> {
    Message::Srtp(srtp::Message {
        frame: srtp::Frame {
            packet_type: srtp::wire::packet_type::RESPONSE,
            sequence: 1,
            data_length: 0,
            message_type: srtp::wire::mailbox::ERROR,
            service: None,
            segment: None,
            address: None,
            length: None,
            status: Some(status),
            inline: &[],
            data: &[],
        },
        request: Some(srtp::RequestInfo {
            sequence: 1,
            service,
            segment: 0,
            address: 0,
            ts: Timestamp(0),
        }),
        latency_ns: None,
    })
}

#[test]
fn srtp_file_access_and_system_memory() {
    let f = flow(3, 18245, Some(Proto::Srtp));
    // Program store (0x3f) after only return-program-names (0x03) was learned.
    let d = policy_case(
        "srtp_file_access",
        &f,
        &[(C2S, Req, srtp_req(0x03, 0, 0))],
        &[(C2S, Req, srtp_req(0x3f, 0, 0))],
    );
    assert_eq!(d.key.get("function_code").map(String::as_str), Some("63"));
    // A file service is not also a new SRTP command.
    let mut t = T::new();
    t.stop_learning();
    let got = t.app(&f, C2S, Req, srtp_req(0x40, 0, 0));
    assert_eq!(of(&got, "srtp_file_access").len(), 1);
    assert!(of(&got, "srtp_protocol_command").is_empty(), "{got:?}");
    // Writes to %R were learned; a write to %Q is new.
    let d = policy_case(
        "srtp_system_memory_operation",
        &f,
        &[
            (C2S, Req, srtp_req(0x07, 0x08, 0)),
            (C2S, Req, srtp_req(0x04, 0x12, 0)),
        ],
        &[(C2S, Req, srtp_req(0x07, 0x12, 4))],
    );
    assert_eq!(
        d.key.get("object").map(String::as_str),
        Some("write %Q (0x12)")
    );
}

#[test]
fn srtp_set_plc_state_is_reported_in_learning_too() {
    let f = flow(4, 18245, Some(Proto::Srtp));
    let mut t = T::new();
    let d = t.app(&f, C2S, Req, srtp_req(0x23, 0x01, 0));
    let s = of(&d, "srtp_plc_stop");
    assert_eq!(s.len(), 1, "{d:?}");
    assert_eq!(s[0].src.ip, Some(IpAddr::from(CLIENT)));
    assert!(s[0].message.contains("set_plc_state"), "{}", s[0].message);
    // Other services and responses are not stops.
    assert!(
        of(
            &t.app(&f, C2S, Req, srtp_req(0x04, 0x08, 0)),
            "srtp_plc_stop"
        )
        .is_empty()
    );
    assert!(
        of(
            &t.app(&f, S2C, Resp, srtp_resp((0, 0), 0x23)),
            "srtp_plc_stop"
        )
        .is_empty()
    );
    // Muted through the alert manager: operational types are mutable.
    let mut m = AlertManager::new(all_on(), "t".into(), ManagerConfig::default());
    let Outcome::Created(id) = m.ingest(s[0].clone()) else {
        panic!("not created")
    };
    m.mute(&id, s[0].ts).unwrap();
    assert_eq!(
        m.ingest(s[0].clone()),
        Outcome::Suppressed(Suppression::Muted)
    );
    // Disabled (the default catalog keeps it on): silent.
    let o = Overrides::from_toml_str("[types.srtp_plc_stop]\nenabled = false\n").unwrap();
    let mut e = otwatch_engines::builtin(&all_on().with_overrides(&o).unwrap(), Baseline::new());
    let a = AppEvent {
        ts: Timestamp(NS),
        flow: &f,
        dir: C2S,
        kind: Req,
        msg: srtp_req(0x23, 0x01, 0),
    };
    e.on_event(&Event::App(&a));
    assert!(e.drain().all(|d| d.type_id != "srtp_plc_stop"));
}

// ---------------------------------------------------------------- exceptions

fn mb_exc(adu: &[u8]) -> Message<'_> {
    Message::Modbus(modbus::Message {
        pdu: modbus::wire::parse_adu(adu, modbus::Side::Response).unwrap(),
        request: None,
        latency_ns: None,
    })
}

#[test]
fn function_code_exceptions() {
    let f = flow(5, 502, Some(Proto::Modbus));
    // FC 3 exception 2 was learned; FC 6 exception 2 is new.
    let d = policy_case(
        "function_code_unauthorized_exception",
        &f,
        &[(S2C, Resp, mb_exc(&[0, 1, 0, 0, 0, 3, 1, 0x83, 0x02]))],
        &[(S2C, Resp, mb_exc(&[0, 1, 0, 0, 0, 3, 1, 0x86, 0x02]))],
    );
    assert_eq!(d.key.get("function_code").map(String::as_str), Some("6"));
    assert_eq!(d.src.ip, Some(IpAddr::from(CLIENT)));
    // SRTP error status.
    let f = flow(6, 18245, Some(Proto::Srtp));
    policy_case(
        "function_code_unauthorized_exception",
        &f,
        &[(S2C, Resp, srtp_resp((0x05, 0x01), 0x04))],
        &[(S2C, Resp, srtp_resp((0x05, 0x01), 0x07))],
    );
    // A success is no exception.
    let mut t = T::new();
    t.stop_learning();
    let ok = t.app(&f, S2C, Resp, srtp_resp((0, 0), 0x07));
    assert!(of(&ok, "function_code_unauthorized_exception").is_empty());
    // DNP3 IIN2 "function not supported".
    let f = flow(7, 20000, Some(Proto::Dnp3));
    let d = policy_case(
        "function_code_unauthorized_exception",
        &f,
        &[(S2C, Resp, dnp3_resp(0, Some(1)))],
        &[(S2C, Resp, dnp3_resp(0x0001, Some(18)))],
    );
    assert_eq!(d.key.get("function_code").map(String::as_str), Some("18"));
}

// ---------------------------------------------------------------- DNP3

fn dnp3_msg(fc: u8, iin: Option<u16>, objects: &'static [u8], req: Option<u8>) -> Message<'static> {
    Message::Dnp3(dnp3::Message {
        src_addr: 4,
        dst_addr: 3,
        link_control: 0x44,
        transport_seq: 0,
        segments: 1,
        app_control: dnp3::wire::AppControl(0xc0),
        function_code: fc,
        iin,
        objects,
        objects_complete: true,
        object_count: 1,
        request: req.map(|f| dnp3::RequestInfo {
            app_seq: 0,
            src_addr: 3,
            dst_addr: 4,
            function_code: f,
            ts: Timestamp(0),
        }),
        latency_ns: None,
    })
}

fn dnp3_resp(iin: u16, req: Option<u8>) -> Message<'static> {
    dnp3_msg(129, Some(iin), &[], req)
}

/// Read of class 1, 2, 3 events (g60v2-4, all objects).
const EVENT_POLL: &[u8] = &[60, 2, 6, 60, 3, 6, 60, 4, 6];
/// Integrity poll: classes 1, 2, 3 and 0.
const INTEGRITY_POLL: &[u8] = &[60, 2, 6, 60, 3, 6, 60, 4, 6, 60, 1, 6];

#[test]
fn dnp3_internal_indications() {
    let f = flow(8, 20000, Some(Proto::Dnp3));
    // Class 1 events available was learned; device restart is new.
    let d = policy_case(
        "dnp3_internal_indication",
        &f,
        &[(S2C, Resp, dnp3_resp(0x0200, Some(1)))],
        &[(S2C, Resp, dnp3_resp(0x8200, Some(1)))],
    );
    assert_eq!(
        d.key.get("value").map(String::as_str),
        Some("device_restart")
    );
    assert_eq!(d.dst.ip, Some(IpAddr::from(SERVER)));
}

#[test]
fn dnp3_integrity_scan() {
    let f = flow(9, 20000, Some(Proto::Dnp3));
    let d = policy_case(
        "dnp3_illegal_integrity_scan",
        &f,
        &[(C2S, Req, dnp3_msg(1, None, EVENT_POLL, None))],
        &[(C2S, Req, dnp3_msg(1, None, INTEGRITY_POLL, None))],
    );
    // Aggregated per (src, dst): no other key field.
    assert!(d.key.is_empty(), "{:?}", d.key);
    // A master learned polling class 0 on this channel is not reported;
    // another master is.
    let mut t = T::new();
    t.app(&f, C2S, Req, dnp3_msg(1, None, INTEGRITY_POLL, None));
    t.stop_learning();
    assert!(
        of(
            &t.app(&f, C2S, Req, dnp3_msg(1, None, INTEGRITY_POLL, None)),
            "dnp3_illegal_integrity_scan"
        )
        .is_empty()
    );
    let mut g = flow(10, 20000, Some(Proto::Dnp3));
    g.client = side([10, 0, 0, 66], 9, 50001);
    let got = t.app(&g, C2S, Req, dnp3_msg(1, None, INTEGRITY_POLL, None));
    assert_eq!(of(&got, "dnp3_illegal_integrity_scan").len(), 1);
}

// ---------------------------------------------------------------- OPC UA

fn ua(service: opcua::Service<'static>, request: Option<u32>) -> Message<'static> {
    Message::Opcua(opcua::Message {
        header: opcua::Header {
            msg_type: opcua::MsgType::Msg,
            chunk: b'F',
            size: 0,
        },
        chunk: opcua::Chunk::Secure {
            channel_id: 1,
            asym: None,
            token_id: Some(1),
            seq: Some(1),
            request_id: Some(1),
            body: &[],
        },
        chunks: 1,
        service: Some(service),
        policy: None,
        security_mode: None,
        encrypted: false,
        request: request.map(|s| opcua::RequestInfo {
            request_id: 1,
            service_id: s,
            request_handle: Some(1),
            ts: Timestamp(0),
        }),
        latency_ns: None,
    })
}

fn ua_resp(id: u32, status: u32, req: u32) -> Message<'static> {
    ua(
        opcua::Service {
            id,
            request_handle: Some(1),
            status: Some(status),
            detail: opcua::Detail::None,
        },
        Some(req),
    )
}

#[test]
fn opcua_request_response_pairs() {
    let f = flow(11, 4840, Some(Proto::Opcua));
    // Read answered by a ServiceFault learned; Write answered by a
    // ServiceFault is new.
    let d = policy_case(
        "opcua_request_response",
        &f,
        &[(S2C, Resp, ua_resp(397, 0x801f_0000, 631))],
        &[(S2C, Resp, ua_resp(397, 0x801f_0000, 673))],
    );
    assert_eq!(d.key.get("function_code").map(String::as_str), Some("673"));
    assert!(d.message.contains("397"), "{}", d.message);
    // A request answered normally is never a pair here (new services are
    // `opcua_activity`), whatever the response's encoding id; a Bad result
    // in the regular response is.
    let mut t = T::new();
    t.stop_learning();
    let got = t.app(&f, S2C, Resp, ua_resp(676, 0, 673));
    assert!(of(&got, "opcua_request_response").is_empty(), "{got:?}");
    let got = t.app(&f, S2C, Resp, ua_resp(12209, 0, 12208));
    assert!(of(&got, "opcua_request_response").is_empty(), "{got:?}");
    let got = t.app(&f, S2C, Resp, ua_resp(676, 0x8034_0000, 673));
    assert_eq!(of(&got, "opcua_request_response").len(), 1, "{got:?}");
}

// ---------------------------------------------------------------- HTTP

fn http_req(
    method: &'static [u8],
    uri: &'static [u8],
    soap: Option<&'static [u8]>,
) -> Message<'static> {
    Message::Http(http::Message {
        head: http::Head {
            method,
            uri,
            version: b"HTTP/1.1",
            soap_action: soap,
            ..Default::default()
        },
        body_len: Some(0),
        framing: "length",
        request_method: None,
        latency_ns: None,
    })
}

#[test]
fn http_soap_actions_and_request_targets() {
    let f = flow(12, 80, Some(Proto::Http));
    let d = policy_case(
        "http_soap_action",
        &f,
        &[(
            C2S,
            Req,
            http_req(b"POST", b"/ws", Some(b"\"urn:GetStatus\"")),
        )],
        &[(
            C2S,
            Req,
            http_req(b"POST", b"/ws", Some(b"\"urn:SetOutput\"")),
        )],
    );
    assert_eq!(
        d.key.get("value").map(String::as_str),
        Some("\"urn:SetOutput\"")
    );
    let d = policy_case(
        "illegal_http_communication",
        &f,
        &[(C2S, Req, http_req(b"GET", b"/status?x=1", None))],
        &[(C2S, Req, http_req(b"GET", b"/admin/config?x=1", None))],
    );
    assert_eq!(
        d.key.get("value").map(String::as_str),
        Some("GET /admin/config")
    );
    // The query does not make a request new.
    let mut t = T::new();
    t.app(&f, C2S, Req, http_req(b"GET", b"/status?x=1", None));
    t.stop_learning();
    assert!(
        of(
            &t.app(&f, C2S, Req, http_req(b"GET", b"/status?x=2", None)),
            "illegal_http_communication"
        )
        .is_empty()
    );
    // IT traffic (no OT device) is left alone.
    let mut it = flow(13, 80, Some(Proto::Http));
    it.client = side([192, 168, 1, 5], 3, 50002);
    it.server = side([192, 168, 1, 6], 4, 80);
    let mut t = T::new();
    t.stop_learning();
    let got = t.app(&it, C2S, Req, http_req(b"GET", b"/x", Some(b"urn:A")));
    assert!(of(&got, "illegal_http_communication").is_empty());
    assert!(of(&got, "http_soap_action").is_empty());
}

#[test]
fn soap_action_header_is_parsed() {
    let raw = b"POST /ws HTTP/1.1\r\nHost: plc\r\nSOAPAction: \"urn:SetOutput\"\r\nContent-Length: 0\r\n\r\n";
    let h = http::wire::parse_head(raw).0.unwrap();
    assert_eq!(h.soap_action, Some(&b"\"urn:SetOutput\""[..]));
}

// ---------------------------------------------------------------- manager

#[test]
fn manager_learns_and_excludes_new_types() {
    let f = flow(14, 48898, Some(Proto::Ads));
    let mut t = T::new();
    t.app(&f, C2S, Req, ads_access(0x4020, 0x10));
    t.stop_learning();
    let d = t.app(&f, C2S, Req, ads_access(0x4020, 0x99));
    let d: Vec<Detection> = of(&d, "new_ams_index_offset")
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(d.len(), 1);
    let mut m = AlertManager::new(all_on(), "t".into(), ManagerConfig::default());
    let Outcome::Created(id) = m.ingest(d[0].clone()) else {
        panic!("not created")
    };
    m.learn(&id, d[0].ts).unwrap();
    assert_eq!(
        m.ingest(d[0].clone()),
        Outcome::Suppressed(Suppression::Learned)
    );
    let mut m = AlertManager::new(all_on(), "t".into(), ManagerConfig::default());
    m.set_exclusions(vec![ExclusionRule {
        name: "ads maintenance".into(),
        time_zone: UtcOffset(0),
        windows: vec![],
        devices: vec![],
        titles: vec!["New Activity Detected - Read/Write Command (AMS Index Offset)".into()],
        sensors: vec![],
    }])
    .unwrap();
    assert!(matches!(m.ingest(d[0].clone()), Outcome::Excluded(_)));
}

#[test]
fn old_baseline_files_load() {
    // A baseline written before these types (no tagged entries) loads and
    // is extended.
    let mut t = T::new();
    let f = flow(15, 48898, Some(Proto::Ads));
    let before = t.e.baseline().to_json();
    let b = Baseline::from_json(&before).unwrap();
    assert_eq!(b.to_json(), before);
    t.app(&f, C2S, Req, ads_access(1, 2));
    assert!(t.e.baseline().to_json().len() > before.len());
}

// ---------------------------------------------------------------- malware

fn smb1(command: u16, body: smb::Body<'_>) -> Message<'_> {
    Message::Smb(smb::Message {
        cmd: smb::Command {
            version: 1,
            command,
            body,
            ..Default::default()
        },
        flow_dialect: 0,
        truncated: false,
    })
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect()
}

fn create(name: &[u8], utf: bool, version: u8) -> Message<'_> {
    Message::Smb(smb::Message {
        cmd: smb::Command {
            version,
            command: if version == 1 { 0xa2 } else { 5 },
            body: smb::Body::Create {
                name: smb::ntlm::Str {
                    bytes: name,
                    utf16: utf,
                },
            },
            ..Default::default()
        },
        flow_dialect: 0,
        truncated: false,
    })
}

#[test]
fn psexec_and_service_control() {
    let f = flow(20, 445, Some(Proto::Smb));
    let mut t = T::new();
    let n = utf16("PSEXESVC.exe");
    let d = t.app(&f, C2S, Req, create(&n, true, 2));
    assert_eq!(of(&d, "psexec_execution").len(), 1, "{d:?}");
    // Once per pair per minute.
    let p = utf16("\\PSEXESVC-HOST-1234-stdin");
    assert!(
        of(
            &t.app(&f, C2S, Req, create(&p, true, 2)),
            "psexec_execution"
        )
        .is_empty()
    );
    // Other files are not PsExec; svcctl is service management.
    let d = t.app(&f, C2S, Req, create(b"\\srvsvc", false, 1));
    assert!(of(&d, "psexec_execution").is_empty());
    assert!(of(&d, "remote_service_management").is_empty());
    let d = t.app(&f, C2S, Req, create(b"\\svcctl", false, 1));
    assert_eq!(of(&d, "remote_service_management").len(), 1);
    // Responses never match.
    let mut resp = flow(21, 445, Some(Proto::Smb));
    resp.client = side([10, 0, 0, 77], 7, 50003);
    let Message::Smb(mut m) = create(&n, true, 2) else {
        unreachable!()
    };
    m.cmd.response = true;
    assert!(t.app(&resp, S2C, Resp, Message::Smb(m)).is_empty());
    // The malware engine ignores learning: alerts while learning and
    // outside OT subnets alike.
    let mut it = flow(22, 445, Some(Proto::Smb));
    it.client = side([192, 168, 1, 5], 3, 50002);
    it.server = side([192, 168, 1, 6], 4, 445);
    assert_eq!(
        of(
            &t.app(&it, C2S, Req, create(&n, true, 2)),
            "psexec_execution"
        )
        .len(),
        1
    );
}

#[test]
fn svcctl_bind_over_tcp() {
    let f = flow(23, 49668, None);
    let mut t = T::new();
    let mut bind = vec![5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0];
    bind.extend_from_slice(&[0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0]);
    bind.extend_from_slice(&otwatch_engines::malware::SVCCTL_UUID);
    bind.extend_from_slice(&[2, 0, 0, 0]);
    bind.extend_from_slice(&[
        0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0, 0x2b, 0x10, 0x48,
        0x60, 2, 0, 0, 0,
    ]);
    let p = PayloadEvent {
        ts: Timestamp(20 * NS),
        flow: &f,
        dir: C2S,
        data: &bind,
    };
    let d = t.ev(&Event::Payload(&p));
    assert_eq!(of(&d, "remote_service_management").len(), 1, "{d:?}");
    // Another interface (srvsvc) is not service management.
    let mut other = bind.clone();
    other[32] ^= 0xff;
    let g = flow(24, 49669, None);
    let p = PayloadEvent {
        ts: Timestamp(21 * NS),
        flow: &g,
        dir: C2S,
        data: &other,
    };
    assert!(t.ev(&Event::Payload(&p)).is_empty());
}

#[test]
fn notpetya_smb_parameters() {
    let f = flow(25, 445, Some(Proto::Smb));
    let mut t = T::new();
    let peek = smb1(
        0x25,
        smb::Body::Trans {
            name: smb::ntlm::Str {
                bytes: b"\\PIPE\\",
                utf16: false,
            },
            setup: Some((0x23, 0)),
        },
    );
    let d = t.app(&f, C2S, Req, peek);
    assert_eq!(of(&d, "notpetya_smb_parameters").len(), 1, "{d:?}");
    // PeekNamedPipe on a real FID is normal.
    let mut g = flow(26, 445, Some(Proto::Smb));
    g.client = side([10, 0, 0, 11], 5, 50004);
    let ok = smb1(
        0x25,
        smb::Body::Trans {
            name: smb::ntlm::Str::default(),
            setup: Some((0x23, 0x4001)),
        },
    );
    assert!(of(&t.app(&g, C2S, Req, ok), "notpetya_smb_parameters").is_empty());
    // NT_TRANSACT function 0 (EternalBlue) vs a real function (NOTIFY_CHANGE = 4).
    let nt = |function| {
        smb1(
            0xa0,
            smb::Body::NtTrans {
                function,
                total_data: 66512,
                data_count: 976,
            },
        )
    };
    let mut h = flow(27, 445, Some(Proto::Smb));
    h.client = side([10, 0, 0, 12], 6, 50005);
    assert!(of(&t.app(&h, C2S, Req, nt(4)), "notpetya_smb_parameters").is_empty());
    assert_eq!(
        of(&t.app(&h, C2S, Req, nt(0)), "notpetya_smb_parameters").len(),
        1
    );
}

#[test]
fn notpetya_smb_transaction() {
    let trans = || {
        smb1(
            0x25,
            smb::Body::Trans {
                name: smb::ntlm::Str::default(),
                setup: None,
            },
        )
    };
    let write = || smb1(0x2f, smb::Body::None);
    let second = || smb1(0x26, smb::Body::None);
    // Trans, WriteAndX, Trans secondary: reported once.
    let f = flow(28, 445, Some(Proto::Smb));
    let mut t = T::new();
    let mut d = Vec::new();
    for m in [trans(), write(), second(), write(), second()] {
        d.extend(t.app(&f, C2S, Req, m));
    }
    assert_eq!(of(&d, "notpetya_smb_transaction").len(), 1, "{d:?}");
    // Trans then its secondary, writes elsewhere: normal.
    let g = flow(29, 445, Some(Proto::Smb));
    let mut t = T::new();
    let mut d = Vec::new();
    for m in [write(), trans(), second(), write()] {
        d.extend(t.app(&g, C2S, Req, m));
    }
    assert!(of(&d, "notpetya_smb_transaction").is_empty());
}

fn pe_image() -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[0] = b'M';
    b[1] = b'Z';
    b[60..64].copy_from_slice(&0x80u32.to_le_bytes());
    b[0x80..0x84].copy_from_slice(b"PE\0\0");
    b
}

#[test]
fn executables_in_files() {
    let f = flow(30, 80, Some(Proto::Http));
    let mut t = T::new();
    let exe = pe_image();
    let file = |data: &[u8], offset: u64| -> Vec<Detection> {
        let mut t2 = T::new();
        let fe = FileEvent {
            ts: Timestamp(5 * NS),
            flow: &f,
            dir: S2C,
            proto: Proto::Http,
            file_id: 1,
            name: Some(b"/update.exe"),
            offset,
            data,
            end: true,
        };
        t2.ev(&Event::File(&fe))
    };
    let d = file(&exe, 0);
    let x = of(&d, "suspicious_executable");
    assert_eq!(x.len(), 1, "{d:?}");
    assert_eq!(x[0].src.ip, Some(IpAddr::from(SERVER)));
    assert!(x[0].message.contains("/update.exe"), "{}", x[0].message);
    // Not at the start of the file, not a PE, or a bad PE offset.
    assert!(file(&exe, 4096).is_empty());
    assert!(file(b"MZ but too short", 0).is_empty());
    let mut bad = exe.clone();
    bad[0x80] = b'X';
    assert!(file(&bad, 0).is_empty());
    let _ = t.ev(&Event::FlowEnd(&f));
    assert!(otwatch_engines::malware::is_pe(&exe[..64]));
}

fn dns_query(name: &str) -> Vec<u8> {
    let mut b = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in name.split('.') {
        b.push(l.len() as u8);
        b.extend_from_slice(l.as_bytes());
    }
    b.extend_from_slice(&[0, 0, 1, 0, 1]);
    b
}

fn dns(buf: &[u8]) -> Message<'_> {
    Message::Dns(dns::Message {
        flavor: dns::Flavor::Dns,
        msg: dns::wire::parse(buf).0.unwrap(),
        latency_ns: None,
    })
}

/// `n` distinct DGA-like names.
fn dga_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "xk{}qzv{}wtrpl.com",
                i * 7 + 3,
                (b'a' + (i % 26) as u8) as char
            )
        })
        .collect()
}

#[test]
fn malicious_name_queries_threshold() {
    let f = flow(31, 53, Some(Proto::Dns));
    for (n, want) in [(25, 1), (24, 0)] {
        let mut t = T::new();
        let mut d = Vec::new();
        for name in dga_names(n) {
            let q = dns_query(&name);
            d.extend(t.app(&f, C2S, Req, dns(&q)));
        }
        assert_eq!(
            of(&d, "malicious_name_queries").len(),
            want,
            "{n}: {:?}",
            types(&d)
        );
    }
    // Ordinary names never count.
    let mut t = T::new();
    let mut d = Vec::new();
    for i in 0..40 {
        let q = dns_query(&format!("host{i}.windowsupdate.com"));
        d.extend(t.app(&f, C2S, Req, dns(&q)));
    }
    assert!(of(&d, "malicious_name_queries").is_empty());
    // Outside the window: the count starts again.
    let mut t = T::new();
    let mut d = Vec::new();
    for (i, name) in dga_names(30).into_iter().enumerate() {
        t.t += if i % 2 == 0 { 5 } else { 0 };
        let q = dns_query(&name);
        d.extend(t.app(&f, C2S, Req, dns(&q)));
    }
    assert!(
        of(&d, "malicious_name_queries").is_empty(),
        "{:?}",
        types(&d)
    );
}

#[test]
fn dga_heuristic() {
    use otwatch_engines::malware::dga_label;
    for l in ["qxvbnrtkplmz", "x7k2q9z4w1m8", "kjhgfdsapoiu"] {
        assert!(dga_label(l.as_bytes()), "{l}");
    }
    for l in [
        "windowsupdate",
        "google",
        "ec2-54-123-45-67",
        "fileserver01",
        "engineering",
        "mail",
    ] {
        assert!(!dga_label(l.as_bytes()), "{l}");
    }
}

#[test]
fn low_confidence_indicators_are_suspicious_traffic() {
    use otwatch_engines::ti::{Package, ThreatIntel, TiHandle};
    let text = "@name watch\nip,10.0.0.20,suspicious\ndomain,evil.example,Havex\n";
    let p = Package::parse(text, std::path::Path::new("watch.txt")).unwrap();
    let ti = TiHandle::new(ThreatIntel::new(vec![p]));
    let cat = all_on();
    let mut e = Engines::new();
    e.push(Box::new(otwatch_engines::malware::Malware::new(
        &cat,
        ti.clone(),
    )));
    let f = flow(32, 502, Some(Proto::Modbus));
    e.on_event(&Event::FlowStart(&f));
    let d: Vec<Detection> = e.drain().collect();
    let s = of(&d, "suspicious_traffic");
    assert_eq!(s.len(), 1, "{d:?}");
    assert_eq!(
        s[0].key.get("indicator").map(String::as_str),
        Some("ip:10.0.0.20")
    );
    assert!(of(&d, "known_malicious_ip").is_empty());
    // Off by default: a low-confidence hit is then silent.
    let mut e = Engines::new();
    e.push(Box::new(otwatch_engines::malware::Malware::new(
        Catalog::builtin(),
        ti,
    )));
    e.on_event(&Event::FlowStart(&f));
    assert!(e.drain().next().is_none());
}

#[test]
fn disabled_types_are_neither_learned_nor_reported() {
    // Learned with the default catalog (exceptions off): not learned, so
    // with the type on the exception is new after learning.
    let f = flow(40, 502, Some(Proto::Modbus));
    let exc = [0, 1, 0, 0, 0, 3, 1, 0x83, 0x02];
    let mut b = Baseline::new();
    b.learning.auto_end = false;
    let mut e = otwatch_engines::builtin(Catalog::builtin(), b);
    let a = AppEvent {
        ts: Timestamp(2 * NS),
        flow: &f,
        dir: S2C,
        kind: Resp,
        msg: mb_exc(&exc),
    };
    e.on_event(&Event::App(&a));
    e.baseline_mut().set_learning(false, Timestamp(3 * NS));
    let a = AppEvent {
        ts: Timestamp(4 * NS),
        ..a
    };
    e.on_event(&Event::App(&a));
    assert!(
        e.drain()
            .all(|d| d.type_id != "function_code_unauthorized_exception")
    );
    let mut t = T {
        e: otwatch_engines::builtin(&all_on(), e.into_baseline()),
        t: 10,
    };
    let got = t.app(&f, S2C, Resp, mb_exc(&exc));
    assert_eq!(of(&got, "function_code_unauthorized_exception").len(), 1);
}
