//! Health engine: hand-built events on each side of every rule (positive,
//! below threshold / benign status), aggregation of repeated failures, the
//! alert manager's learned / excluded / muted handling, and (with
//! `OTWATCH_CORPUS`) a report over the benign real captures.

use std::collections::BTreeMap;
use std::net::IpAddr;

use otwatch_alerts::{AlertManager, Catalog, Detection, Outcome, Overrides};
use otwatch_core::{
    ClientBy, Direction, FlowId, FlowInfo, FlowSide, MacAddr, MsgKind, Timestamp, Transport,
};
use otwatch_engines::Engine;
use otwatch_engines::health::{Health, ids};
use otwatch_proto::event::{AppEvent, Event};
use otwatch_proto::{
    Message, bacnet, dhcp, dnp3, enip, ftp, goose, http, mms, modbus, opcua, profinet_dcp, srtp, sv,
};

const NS: i64 = 1_000_000_000;

/// The built-in catalog with every type of this engine switched on.
fn all_on() -> Catalog {
    let mut t = String::new();
    for id in ids::ALL {
        t.push_str(&format!("[types.{id}]\nenabled = true\n"));
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

fn flow_of(client: FlowSide, server: FlowSide, proto: u8) -> FlowInfo {
    FlowInfo {
        id: FlowId(1),
        transport: if proto == 17 {
            Transport::Udp
        } else {
            Transport::Tcp
        },
        ip_proto: proto,
        vlan: 0,
        client,
        server,
        client_by: ClientBy::Handshake,
        proto: None,
        first_seen: Timestamp(NS),
        last_seen: Timestamp(NS),
        pkts: [1, 1],
        bytes: [0, 0],
        end_reason: None,
    }
}

fn flow(port: u16) -> FlowInfo {
    flow_of(side(CLIENT, 1, 50000), side(SERVER, 2, port), 6)
}

/// Runs `msgs` (time in seconds, direction, kind, message) through a fresh
/// engine with every type on.
fn run<'a>(f: &'a FlowInfo, msgs: &[(i64, Direction, MsgKind, Message<'a>)]) -> Vec<Detection> {
    run_with(&all_on(), f, msgs)
}

fn run_with<'a>(
    cat: &Catalog,
    f: &'a FlowInfo,
    msgs: &[(i64, Direction, MsgKind, Message<'a>)],
) -> Vec<Detection> {
    let mut e = Health::new(cat);
    let mut out = Vec::new();
    for &(t, dir, kind, msg) in msgs {
        let a = AppEvent {
            ts: Timestamp(t * NS),
            flow: f,
            dir,
            kind,
            msg,
        };
        e.on_event(&Event::App(&a), &mut out);
    }
    let end = msgs.last().map_or(0, |m| m.0);
    e.finish(Timestamp(end * NS), &mut out);
    out
}

fn types(d: &[Detection]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for x in d {
        *m.entry(x.type_id).or_default() += 1;
    }
    m
}

fn of<'a>(d: &'a [Detection], ty: &str) -> Vec<&'a Detection> {
    d.iter().filter(|x| x.type_id == ty).collect()
}

use Direction::{ToClient as S2C, ToServer as C2S};
use MsgKind::{Other, Request as Req, Response as Resp};

// ---------------------------------------------------------------- BACnet

fn bacnet_error(service: u8, data: &'static [u8]) -> Message<'static> {
    Message::Bacnet(bacnet::Message {
        bvlc: None,
        npdu: None,
        apdu: Some(bacnet::ApduHeader {
            pdu_type: bacnet::wire::pdu::ERROR,
            flags: 0,
            invoke_id: Some(1),
            service: Some(service),
            max_segs: None,
            max_apdu: None,
            sequence: None,
            window: None,
            reason: None,
        }),
        segments: 0,
        service_data: data,
    })
}

#[test]
fn bacnet_error_alerts_but_read_lookups_do_not() {
    let f = flow(47808);
    // reinitializeDevice (20): services / password-failure (26).
    let d = run(
        &f,
        &[(1, S2C, Resp, bacnet_error(20, &[0x91, 0x05, 0x91, 0x1a]))],
    );
    let b = of(&d, ids::BACNET_FAILED);
    assert_eq!(b.len(), 1, "{d:?}");
    assert!(
        b[0].message.contains("password-failure"),
        "{}",
        b[0].message
    );
    assert!(
        b[0].message.contains("reinitializeDevice"),
        "{}",
        b[0].message
    );
    assert_eq!(b[0].src.ip, Some(IpAddr::from(SERVER)));
    // readProperty (12): property / unknown-property (32): an answer.
    let d = run(
        &f,
        &[(1, S2C, Resp, bacnet_error(12, &[0x91, 0x02, 0x91, 0x20]))],
    );
    assert!(d.is_empty(), "{d:?}");
    // The same failure repeated: one report, then one per repeat period.
    let mut msgs = Vec::new();
    for t in 0..50 {
        msgs.push((t, S2C, Resp, bacnet_error(20, &[0x91, 0x05, 0x91, 0x1a])));
    }
    msgs.push((700, S2C, Resp, bacnet_error(20, &[0x91, 0x05, 0x91, 0x1a])));
    let d = run(&f, &msgs);
    let b = of(&d, ids::BACNET_FAILED);
    assert_eq!(b.len(), 2, "{d:?}");
    assert_eq!(b[1].info["failures"], "50");
    assert_eq!(b[1].info["failures_total"], "51");
}

// ---------------------------------------------------------------- MMS

fn mms_msg(pdu: u8, body: mms::Body<'static>, req: Option<u8>) -> Message<'static> {
    Message::Mms(mms::Message {
        pdu: mms::Pdu {
            pdu,
            service: None,
            invoke_id: Some(1),
            body,
        },
        acse: None,
        context_id: None,
        request_service: req,
        latency_ns: None,
    })
}

#[test]
fn mms_errors_and_device_state() {
    use mms::wire::pdu;
    let f = flow(102);
    let denied = mms::Body::Error {
        class: Some(7),
        code: Some(3),
    };
    let d = run(
        &f,
        &[(1, S2C, Resp, mms_msg(pdu::CONFIRMED_ERROR, denied, Some(5)))],
    );
    let m = of(&d, ids::MMS_FAILED);
    assert_eq!(m.len(), 1);
    assert!(
        m[0].message.contains("object-access-denied"),
        "{}",
        m[0].message
    );
    assert!(m[0].message.contains("write"), "{}", m[0].message);
    // Lookup errors (access / object-non-existent) need 3 in 300 s.
    let missing = mms::Body::Error {
        class: Some(7),
        code: Some(2),
    };
    let e = |t| {
        (
            t,
            S2C,
            Resp,
            mms_msg(pdu::CONFIRMED_ERROR, missing, Some(6)),
        )
    };
    assert!(run(&f, &[e(1), e(2)]).is_empty());
    assert!(run(&f, &[e(1), e(2), e(400)]).is_empty());
    assert_eq!(of(&run(&f, &[e(1), e(2), e(3)]), ids::MMS_FAILED).len(), 1);

    // Status: physical inoperable (2) is bad, operational (0) is not.
    let st = |p| mms::Body::StatusResponse {
        logical: Some(0),
        physical: Some(p),
    };
    let s = |t, p| {
        (
            t,
            S2C,
            Resp,
            mms_msg(pdu::CONFIRMED_RESPONSE, st(p), Some(0)),
        )
    };
    assert!(run(&f, &[s(1, 0), s(2, 0)]).is_empty());
    let d = run(&f, &[s(1, 0), s(2, 2), s(3, 2), s(4, 0), s(5, 3)]);
    let b = of(&d, ids::MMS_BAD_STATE);
    assert_eq!(b.len(), 2, "{d:?}");
    assert!(b[0].message.contains("inoperable"), "{}", b[0].message);
    assert!(
        b[1].message.contains("needs-commissioning"),
        "{}",
        b[1].message
    );
    // Unsolicited status too.
    let d = run(
        &f,
        &[(1, S2C, Other, mms_msg(pdu::UNCONFIRMED, st(1), None))],
    );
    assert_eq!(of(&d, ids::MMS_BAD_STATE).len(), 1);
}

// ---------------------------------------------------------------- EtherNet/IP

fn enip_header(command: u16, status: u32) -> enip::Header {
    enip::Header {
        command,
        length: 0,
        session_handle: 1,
        status,
        sender_context: [0; 8],
        options: 0,
    }
}

fn cpf(c: enip::Cip<'static>) -> &'static enip::Body<'static> {
    Box::leak(Box::new(enip::Body::Cpf(enip::Cpf {
        interface_handle: 0,
        timeout: 0,
        item_count: 2,
        address: enip::Address::Null,
        data_item: Some(0xb2),
        sequence_count: None,
        cip: Some(c),
        sockaddr_ot: None,
        sockaddr_to: None,
    })))
}

fn cip_reply(service: u8, status: u8) -> Message<'static> {
    let bytes: &'static [u8] = Box::leak(vec![service | 0x80, 0, status, 0].into_boxed_slice());
    let c = enip::cip::parse(bytes, None).unwrap();
    Message::Enip(enip::Message {
        header: Some(enip_header(0x6f, 0)),
        body: cpf(c),
        request: None,
        latency_ns: None,
    })
}

#[test]
fn cip_failures_and_browse_threshold() {
    let f = flow(44818);
    // Privilege violation (0x0f): at once.
    let d = run(&f, &[(1, S2C, Resp, cip_reply(0x10, 0x0f))]);
    let c = of(&d, ids::CIP_FAILED);
    assert_eq!(c.len(), 1);
    assert!(c[0].message.contains("0x0f"), "{}", c[0].message);
    assert_eq!(c[0].key["function_code"], "0x10:0x0f");
    // Success and partial transfer: nothing.
    assert!(
        run(
            &f,
            &[
                (1, S2C, Resp, cip_reply(0x4c, 0)),
                (2, S2C, Resp, cip_reply(0x52, 6))
            ]
        )
        .is_empty()
    );
    // Path destination unknown (0x05): a lookup, 3 in 300 s.
    let p = |t| (t, S2C, Resp, cip_reply(0x0e, 0x05));
    assert!(run(&f, &[p(1), p(2)]).is_empty());
    assert!(run(&f, &[p(1), p(2), p(500)]).is_empty());
    assert_eq!(of(&run(&f, &[p(1), p(2), p(3)]), ids::CIP_FAILED).len(), 1);
    // A request (client to server) is never a failure.
    assert!(run(&f, &[(1, C2S, Req, cip_reply(0x10, 0x0f))]).is_empty());
}

#[test]
fn enip_encapsulation_status() {
    let f = flow(44818);
    let m = |status| {
        Message::Enip(enip::Message {
            header: Some(enip_header(0x65, status)),
            body: &enip::Body::Empty,
            request: None,
            latency_ns: None,
        })
    };
    let d = run(&f, &[(1, S2C, Resp, m(0x69))]);
    let e = of(&d, ids::ENIP_FAILED);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message.contains("unsupported_protocol_version"),
        "{}",
        e[0].message
    );
    assert!(run(&f, &[(1, S2C, Resp, m(0))]).is_empty());
}

// ---------------------------------------------------------------- SRTP

fn srtp_reply(mailbox: u8, status: (u8, u8)) -> Message<'static> {
    Message::Srtp(srtp::Message {
        frame: srtp::Frame {
            packet_type: srtp::wire::packet_type::RESPONSE,
            sequence: 1,
            data_length: 0,
            message_type: mailbox,
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
            service: 0x04,
            segment: 0,
            address: 0,
            ts: Timestamp(0),
        }),
        latency_ns: None,
    })
}

#[test]
fn srtp_error_mailbox() {
    let f = flow(18245);
    let d = run(
        &f,
        &[(
            1,
            S2C,
            Resp,
            srtp_reply(srtp::wire::mailbox::ERROR, (5, 0x8f)),
        )],
    );
    let s = of(&d, ids::SRTP_FAILED);
    assert_eq!(s.len(), 1);
    assert!(s[0].message.contains("0x8f"), "{}", s[0].message);
    assert!(
        run(
            &f,
            &[(1, S2C, Resp, srtp_reply(srtp::wire::mailbox::ACK, (0, 0)))]
        )
        .is_empty()
    );
}

// ---------------------------------------------------------------- OPC UA

fn ua(service: Option<opcua::Service<'static>>, chunk: opcua::Chunk<'static>) -> Message<'static> {
    Message::Opcua(opcua::Message {
        header: opcua::Header {
            msg_type: opcua::MsgType::Msg,
            chunk: b'F',
            size: 0,
        },
        chunk,
        chunks: 1,
        service,
        policy: None,
        security_mode: None,
        encrypted: false,
        request: None,
        latency_ns: None,
    })
}

const SECURE: opcua::Chunk<'static> = opcua::Chunk::Secure {
    channel_id: 1,
    asym: None,
    token_id: Some(1),
    seq: Some(1),
    request_id: Some(1),
    body: &[],
};

fn ua_resp(id: u32, status: u32, detail: opcua::Detail<'static>) -> Message<'static> {
    ua(
        Some(opcua::Service {
            id,
            request_handle: Some(1),
            status: Some(status),
            detail,
        }),
        SECURE,
    )
}

#[test]
fn opcua_bad_status_and_events() {
    let f = flow(4840);
    // ReadResponse with BadUserAccessDenied.
    let d = run(
        &f,
        &[(1, S2C, Resp, ua_resp(634, 0x801f_0000, opcua::Detail::None))],
    );
    let o = of(&d, ids::OPCUA_FAILED);
    assert_eq!(o.len(), 1);
    assert!(
        o[0].message.contains("ReadResponse") || o[0].message.contains("Read"),
        "{}",
        o[0].message
    );
    // Good, Uncertain, and a Publish with no subscription: nothing.
    assert!(
        run(
            &f,
            &[
                (1, S2C, Resp, ua_resp(634, 0, opcua::Detail::None)),
                (2, S2C, Resp, ua_resp(634, 0x4000_0000, opcua::Detail::None)),
                (3, S2C, Resp, ua_resp(829, 0x8079_0000, opcua::Detail::None)),
            ]
        )
        .is_empty()
    );
    // ERR message.
    let err = ua(
        None,
        opcua::Chunk::Error {
            error: 0x8013_0000,
            reason: None,
        },
    );
    assert_eq!(
        of(&run(&f, &[(1, S2C, Other, err)]), ids::OPCUA_FAILED).len(),
        1
    );
    // Event notifications in a PublishResponse.
    let publish = |events| {
        ua_resp(
            829,
            0,
            opcua::Detail::PublishResponse {
                subscription_id: 7,
                events,
            },
        )
    };
    let d = run(&f, &[(1, S2C, Resp, publish(3))]);
    let e = of(&d, ids::OPCUA_EVENT);
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("3 event"), "{}", e[0].message);
    assert!(run(&f, &[(1, S2C, Resp, publish(0))]).is_empty());
}

// ---------------------------------------------------------------- DNP3

fn dnp3_msg(
    fc: u8,
    iin: Option<u16>,
    objects: &'static [u8],
    req_fc: Option<u8>,
) -> Message<'static> {
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
        object_count: 0,
        request: req_fc.map(|f| dnp3::RequestInfo {
            app_seq: 0,
            src_addr: 3,
            dst_addr: 4,
            function_code: f,
            ts: Timestamp(0),
        }),
        latency_ns: None,
    })
}

fn resp(t: i64, iin: u16) -> (i64, Direction, MsgKind, Message<'static>) {
    (t, S2C, Resp, dnp3_msg(129, Some(iin), &[], None))
}

#[test]
fn dnp3_restart_transitions() {
    let f = flow(20000);
    // Restart bit already set in the first response: it restarted before
    // monitoring began.
    assert!(run(&f, &[resp(1, 0x8000), resp(2, 0x8000)]).is_empty());
    // Cleared, then set again: one restart.
    let d = run(&f, &[resp(1, 0), resp(2, 0x8000), resp(3, 0x8000)]);
    assert_eq!(types(&d), BTreeMap::from([(ids::DNP3_RESTARTED, 1)]));
    assert!(d[0].message.contains("IIN1.7"), "{}", d[0].message);
    // Two restarts in 10 minutes: frequently.
    let d = run(
        &f,
        &[resp(1, 0), resp(2, 0x8000), resp(3, 0), resp(100, 0x8000)],
    );
    assert_eq!(of(&d, ids::DNP3_RESTARTED).len(), 2);
    assert_eq!(of(&d, ids::DNP3_RESTARTS).len(), 1);
    // Two restarts 20 minutes apart: not frequent.
    let d = run(
        &f,
        &[resp(1, 0), resp(2, 0x8000), resp(3, 0), resp(1300, 0x8000)],
    );
    assert_eq!(of(&d, ids::DNP3_RESTARTS).len(), 0);
}

#[test]
fn dnp3_conditions() {
    let f = flow(20000);
    let d = run(&f, &[resp(1, 0x4000), resp(2, 0x4000)]);
    assert_eq!(types(&d), BTreeMap::from([(ids::DNP3_HARDWARE, 1)]));
    let d = run(&f, &[resp(1, 0x0020)]);
    assert_eq!(types(&d), BTreeMap::from([(ids::DNP3_CONFIG_CORRUPT, 1)]));
    // Overflow: each rising edge; 3 within 600 s is continuous.
    let d = run(
        &f,
        &[resp(1, 0x0008), resp(2, 0), resp(3, 0x0008), resp(4, 0)],
    );
    assert_eq!(types(&d), BTreeMap::from([(ids::DNP3_OVERFLOW, 2)]));
    let d = run(
        &f,
        &[resp(1, 8), resp(2, 0), resp(3, 8), resp(4, 0), resp(5, 8)],
    );
    assert_eq!(of(&d, ids::DNP3_CONT_OVERFLOW).len(), 1);
    // Continuous overflow is off by default.
    let mut e = Health::new(Catalog::builtin());
    let mut out = Vec::new();
    for (t, iin) in [(1, 8u16), (2, 0), (3, 8), (4, 0), (5, 8)] {
        let m = dnp3_msg(129, Some(iin), &[], None);
        let a = AppEvent {
            ts: Timestamp(t * NS),
            flow: &f,
            dir: S2C,
            kind: Resp,
            msg: m,
        };
        e.on_event(&Event::App(&a), &mut out);
    }
    assert!(of(&out, ids::DNP3_CONT_OVERFLOW).is_empty());
    assert_eq!(of(&out, ids::DNP3_OVERFLOW).len(), 3);
    // Normal class-event flags: nothing.
    assert!(run(&f, &[resp(1, 0x0200), resp(2, 0x0100)]).is_empty());
}

#[test]
fn dnp3_activate_config_and_authentication_error() {
    let f = flow(20000);
    let ok = (1, S2C, Resp, dnp3_msg(129, Some(0), &[], Some(31)));
    assert_eq!(of(&run(&f, &[ok]), ids::DNP3_CONFIG_CHANGED).len(), 1);
    // Rejected (parameter error) or another function: nothing.
    let bad = (1, S2C, Resp, dnp3_msg(129, Some(0x0004), &[], Some(31)));
    assert!(run(&f, &[bad]).is_empty());
    assert!(run(&f, &[(1, S2C, Resp, dnp3_msg(129, Some(0), &[], Some(1)))]).is_empty());
    // g120v7 (authentication error), free-format qualifier 0x5b, one object.
    const G120V7: &[u8] = &[120, 7, 0x5b, 1, 4, 0, 1, 0, 0, 0];
    let d = run(&f, &[(1, S2C, Resp, dnp3_msg(131, Some(0), G120V7, None))]);
    let a = of(&d, ids::DNP3_AUTH_ERROR);
    assert_eq!(a.len(), 1, "{d:?}");
    // g120v1 (challenge): nothing.
    const G120V1: &[u8] = &[120, 1, 0x5b, 1, 4, 0, 1, 0, 0, 0];
    assert!(run(&f, &[(1, S2C, Resp, dnp3_msg(131, Some(0), G120V1, None))]).is_empty());
}

// ---------------------------------------------------------------- GOOSE / SV

fn goose_msg(nds: bool, dataset: &'static [u8], conf_rev: u32) -> Message<'static> {
    Message::Goose(goose::Message {
        goose: goose::Goose {
            header: goose::Header {
                appid: 1,
                length: 0,
                reserved1: 0,
                reserved2: 0,
            },
            gocb_ref: Some(b"IED1LD0/LLN0$GO$gcb01"),
            time_allowed_to_live: Some(2000),
            dat_set: Some(dataset),
            go_id: None,
            t: None,
            st_num: Some(1),
            sq_num: Some(1),
            test: None,
            conf_rev: Some(conf_rev),
            nds_com: Some(nds),
            num_dat_set_entries: Some(4),
            all_data: None,
            all_data_count: 0,
            unknown_fields: 0,
        },
    })
}

fn l2_flow() -> FlowInfo {
    let mut f = flow_of(side([0; 4], 1, 0), side([0; 4], 0xff, 0), 0);
    f.transport = Transport::L2;
    f
}

#[test]
fn goose_commissioning_dataset_and_revision() {
    let f = l2_flow();
    let g = |t, nds, ds, rev| (t, S2C, Other, goose_msg(nds, ds, rev));
    assert!(run(&f, &[g(1, false, b"DS1", 1), g(2, false, b"DS1", 1)]).is_empty());
    let d = run(&f, &[g(1, true, b"DS1", 1), g(2, true, b"DS1", 1)]);
    let c = of(&d, ids::GOOSE_COMMISSIONING);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].key["object"], "IED1LD0/LLN0$GO$gcb01");
    assert_eq!(c[0].src.ip, None);
    assert_eq!(c[0].flow, None, "link-layer frames have no flow");
    let d = run(&f, &[g(1, false, b"DS1", 1), g(2, false, b"DS2", 2)]);
    assert_eq!(
        types(&d),
        BTreeMap::from([(ids::GOOSE_DATASET, 1), (ids::CONFIG_CHANGE, 1)])
    );
    // Off by default.
    assert!(
        run_with(
            Catalog::builtin(),
            &f,
            &[g(1, false, b"DS1", 1), g(2, false, b"DS2", 2)]
        )
        .is_empty()
    );
}

fn sv_msg(dataset: &'static [u8], conf_rev: u32) -> Message<'static> {
    Message::Sv(sv::Message {
        header: goose::Header {
            appid: 0x4000,
            length: 0,
            reserved1: 0,
            reserved2: 0,
        },
        no_asdu: Some(1),
        index: 0,
        asdu: sv::Asdu {
            sv_id: Some(b"MU01"),
            dat_set: Some(dataset),
            smp_cnt: Some(1),
            conf_rev: Some(conf_rev),
            refr_tm: None,
            smp_synch: Some(2),
            smp_rate: None,
            seq_data: None,
            smp_mod: None,
        },
    })
}

#[test]
fn sv_dataset_and_revision() {
    let f = l2_flow();
    let s = |t, ds, rev| (t, S2C, Other, sv_msg(ds, rev));
    assert!(run(&f, &[s(1, b"PhsMeas1", 1), s(2, b"PhsMeas1", 1)]).is_empty());
    let d = run(&f, &[s(1, b"PhsMeas1", 1), s(2, b"PhsMeas2", 1)]);
    assert_eq!(types(&d), BTreeMap::from([(ids::SV_DATASET, 1)]));
    let d = run(&f, &[s(1, b"PhsMeas1", 1), s(2, b"PhsMeas1", 2)]);
    assert_eq!(types(&d), BTreeMap::from([(ids::CONFIG_CHANGE, 1)]));
}

// ---------------------------------------------------------------- Profinet DCP

fn dcp(
    service_id: u8,
    service_type: u8,
    blocks: &'static [u8],
    control: Option<u8>,
) -> Message<'static> {
    Message::ProfinetDcp(profinet_dcp::Message {
        frame: profinet_dcp::Frame {
            frame_id: 0xfefd,
            service_id,
            service_type,
            xid: 1,
            response_delay: 0,
            blocks,
            facts: profinet_dcp::wire::Facts {
                control,
                ..Default::default()
            },
        },
    })
}

#[test]
fn dcp_factory_reset_and_failures() {
    let f = l2_flow();
    let d = run(&f, &[(1, C2S, Req, dcp(4, 0, &[], Some(6)))]);
    let r = of(&d, ids::DCP_FACTORY_RESET);
    assert_eq!(r.len(), 1);
    assert!(
        r[0].message.contains("reset_to_factory"),
        "{}",
        r[0].message
    );
    // A Set of the station name is no reset.
    assert!(run(&f, &[(1, C2S, Req, dcp(4, 0, &[], None))]).is_empty());
    // Set response: control/response block with BlockError 3 for option 2/2.
    const ERR: &[u8] = &[5, 4, 0, 3, 2, 2, 3, 0];
    let d = run(&f, &[(1, S2C, Resp, dcp(4, 1, ERR, None))]);
    let e = of(&d, ids::DCP_FAILED);
    assert_eq!(e.len(), 1, "{d:?}");
    assert!(
        e[0].message.contains("suboption not set"),
        "{}",
        e[0].message
    );
    const OK: &[u8] = &[5, 4, 0, 3, 2, 2, 0, 0];
    assert!(run(&f, &[(1, S2C, Resp, dcp(4, 1, OK, None))]).is_empty());
    // "Request not supported" response.
    assert_eq!(
        of(
            &run(&f, &[(1, S2C, Resp, dcp(3, 5, &[], None))]),
            ids::DCP_FAILED
        )
        .len(),
        1
    );
}

// ---------------------------------------------------------------- DHCP

fn dhcp_msg(msg_type: u8, mac: u8) -> Message<'static> {
    let mut chaddr = [0u8; 16];
    chaddr[..6].copy_from_slice(&[0, 0x0e, 0x8c, 1, 2, mac]);
    Message::Dhcp(dhcp::Message {
        dhcp: dhcp::Dhcp {
            op: if matches!(msg_type, 2 | 5 | 6) { 2 } else { 1 },
            htype: 1,
            hlen: 6,
            xid: 7,
            chaddr,
            cookie: true,
            msg_type,
            ..Default::default()
        },
    })
}

#[test]
fn dhcp_unanswered_discovers_and_nak() {
    let f = flow_of(side([0; 4], 1, 68), side([255; 4], 0xff, 67), 17);
    let disc = |t| (t, C2S, Req, dhcp_msg(1, 5));
    let d = run(&f, &[disc(0), disc(4), disc(12), disc(28)]);
    let x = of(&d, ids::DHCP_FAILURE);
    assert_eq!(x.len(), 1, "{d:?}");
    assert_eq!(x[0].src.ip, None);
    assert!(x[0].message.contains("4 DISCOVERs"), "{}", x[0].message);
    // Three are not enough; an OFFER resets the count; slow retries fall
    // out of the window.
    assert!(run(&f, &[disc(0), disc(4), disc(12)]).is_empty());
    let offer = (13, S2C, Resp, dhcp_msg(2, 5));
    assert!(run(&f, &[disc(0), disc(4), disc(12), offer, disc(20)]).is_empty());
    assert!(run(&f, &[disc(0), disc(200), disc(400), disc(600)]).is_empty());
    // NAK.
    let d = run(&f, &[(1, S2C, Resp, dhcp_msg(6, 5))]);
    assert_eq!(of(&d, ids::DHCP_FAILURE).len(), 1);
    assert!(run(&f, &[(1, S2C, Resp, dhcp_msg(5, 5))]).is_empty());
}

// ---------------------------------------------------------------- HTTP / Modbus

#[test]
fn http_client_errors_are_off_by_default() {
    let f = flow(80);
    let m = |status| {
        Message::Http(http::Message {
            head: http::Head {
                status,
                reason: b"Forbidden",
                version: b"HTTP/1.1",
                ..Default::default()
            },
            body_len: Some(0),
            framing: "length",
            request_method: Some(1),
            latency_ns: None,
        })
    };
    let d = run(&f, &[(1, S2C, Resp, m(403))]);
    let h = of(&d, ids::HTTP_CLIENT_ERROR);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].key["function_code"], "403");
    assert!(run(&f, &[(1, S2C, Resp, m(200)), (2, S2C, Resp, m(500))]).is_empty());
    assert!(run_with(Catalog::builtin(), &f, &[(1, S2C, Resp, m(403))]).is_empty());
}

#[test]
fn modbus_server_device_failure() {
    let f = flow(502);
    let m = |exc| {
        Message::Modbus(modbus::Message {
            pdu: modbus::Pdu {
                mbap: modbus::Mbap {
                    transaction_id: 1,
                    protocol_id: 0,
                    length: 3,
                    unit_id: 1,
                },
                function_code: 3,
                exception_code: Some(exc),
                mei_type: None,
                body: modbus::Body::Exception,
            },
            request: None,
            latency_ns: None,
        })
    };
    let d = run(&f, &[(1, S2C, Resp, m(4))]);
    assert_eq!(of(&d, ids::MODBUS_FAILURE).len(), 1);
    assert!(run(&f, &[(1, S2C, Resp, m(2))]).is_empty());
    assert!(run_with(Catalog::builtin(), &f, &[(1, S2C, Resp, m(4))]).is_empty());
}

// ---------------------------------------------------------------- illegal IP

fn flow_end(f: &FlowInfo) -> Vec<Detection> {
    let mut e = Health::new(&all_on());
    let mut out = Vec::new();
    e.on_event(&Event::FlowEnd(f), &mut out);
    out
}

#[test]
fn illegal_addresses() {
    let lo = flow_of(side([127, 0, 0, 1], 1, 5000), side(SERVER, 2, 502), 6);
    assert_eq!(of(&flow_end(&lo), ids::ILLEGAL_IP).len(), 1);
    let mcast_src = flow_of(side([224, 0, 0, 9], 1, 520), side(SERVER, 2, 520), 17);
    assert_eq!(of(&flow_end(&mcast_src), ids::ILLEGAL_IP).len(), 1);
    // Multicast destination, DHCP from 0.0.0.0: legal.
    let mut to_group = flow_of(side(CLIENT, 1, 5000), side([224, 0, 0, 9], 2, 520), 17);
    to_group.pkts = [1, 0];
    assert!(flow_end(&to_group).is_empty());
    let mut dhcp = flow_of(side([0; 4], 1, 68), side([255; 4], 2, 67), 17);
    dhcp.pkts = [3, 0];
    assert!(flow_end(&dhcp).is_empty());
    assert!(flow_end(&flow(502)).is_empty());
    // Captured on a host's loopback interface (no MAC addresses).
    let mut host_lo = lo;
    host_lo.client.mac = MacAddr([0; 6]);
    host_lo.server.mac = MacAddr([0; 6]);
    host_lo.server.ip = IpAddr::from([127, 0, 0, 1]);
    assert!(flow_end(&host_lo).is_empty());
}

#[test]
fn forged_sources_fold_per_sender() {
    let mut e = Health::new(&all_on());
    let mut out = Vec::new();
    for i in 0..50u8 {
        let f = flow_of(side([240, 1, 2, i], 1, 5000), side(SERVER, 2, 20000), 6);
        e.on_event(&Event::FlowEnd(&f), &mut out);
    }
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].src.ip, None);
    assert!(e.stats().failures_folded >= 49);
}

// ---------------------------------------------------------------- backups

fn stor() -> Message<'static> {
    Message::Ftp(ftp::Message::Command {
        verb: b"STOR",
        arg: Some(b"backup.tar"),
    })
}

fn backups(times: &[i64], until: i64) -> Vec<Detection> {
    let f = flow(21);
    let mut e = Health::new(&all_on());
    let mut out = Vec::new();
    for &t in times {
        let a = AppEvent {
            ts: Timestamp(t * NS),
            flow: &f,
            dir: C2S,
            kind: Req,
            msg: stor(),
        };
        e.on_event(&Event::App(&a), &mut out);
        // Several files in one run.
        let a = AppEvent {
            ts: Timestamp((t + 30) * NS),
            ..a
        };
        e.on_event(&Event::App(&a), &mut out);
    }
    let mut t = times.last().copied().unwrap_or(0);
    while t <= until {
        e.on_time(Timestamp(t * NS), &mut out);
        t += 10;
    }
    out
}

#[test]
fn backup_missed_after_a_regular_schedule() {
    let h = 3600;
    let d = backups(&[0, h, 2 * h], 3 * h + 200);
    let b = of(&d, ids::BACKUP_MISSED);
    assert_eq!(b.len(), 1, "{d:?}");
    assert!(b[0].message.contains("3600 s"), "{}", b[0].message);
    // Within the grace (100 s): nothing yet.
    assert!(backups(&[0, h, 2 * h], 3 * h + 90).is_empty());
    // The backup happened on time.
    assert!(backups(&[0, h, 2 * h, 3 * h], 3 * h + 200).is_empty());
    // Irregular transfers teach no schedule; two runs are not enough.
    assert!(backups(&[0, h, 3 * h], 6 * h).is_empty());
    assert!(backups(&[0, h], 3 * h).is_empty());
}

// ---------------------------------------------------------------- manager

#[test]
fn manager_folds_excludes_and_mutes() {
    let cat = all_on();
    let f = flow(44818);
    let mut msgs = Vec::new();
    for t in 0..3 {
        msgs.push((t * 700, S2C, Resp, cip_reply(0x10, 0x0f)));
    }
    let d = run_with(&cat, &f, &msgs);
    assert_eq!(d.len(), 3);
    // One alert, three violations.
    let mk = || {
        AlertManager::new(
            cat.clone(),
            "s1".into(),
            otwatch_alerts::ManagerConfig::default(),
        )
    };
    let mut m = mk();
    let outcomes: Vec<_> = d.iter().cloned().map(|x| m.ingest(x)).collect();
    let Outcome::Created(id) = outcomes[0].clone() else {
        panic!("{outcomes:?}")
    };
    assert!(matches!(outcomes[2], Outcome::Updated(_)), "{outcomes:?}");
    // Not learnable (operational failures are not baseline), but mutable.
    assert!(m.learn(&id, Timestamp(0)).is_err());
    m.mute(&id, Timestamp(0)).unwrap();
    assert!(matches!(
        m.ingest(d[0].clone()),
        Outcome::Suppressed(otwatch_alerts::Suppression::Muted)
    ));
    // Excluded by a rule on the failing device.
    let mut m = mk();
    let rules = otwatch_alerts::parse_rules(
        r#"
[[exclusion]]
name = "lab plc"
devices = [{ address = "10.0.0.20", direction = "source" }]
"#,
    )
    .unwrap();
    m.set_exclusions(rules).unwrap();
    assert_eq!(m.ingest(d[0].clone()), Outcome::Excluded("lab plc".into()));
}

// ---------------------------------------------------------------- corpus

/// With `OTWATCH_CORPUS`: every benign capture of the index through the
/// pipeline with every type on; prints what fires and checks that no type
/// floods a capture (detections are already aggregated per key).
#[test]
fn benign_corpus_is_not_flooded() {
    use otwatch_capture::{FileSource, PacketSource};
    use otwatch_engines::Engines;
    use otwatch_pipeline::{Config, Pipeline};
    let Ok(dir) = std::env::var("OTWATCH_CORPUS") else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    let Ok(idx) = std::fs::read_to_string(dir.join("captures_index.json")) else {
        return;
    };
    let idx: serde_json::Value = serde_json::from_str(&idx).unwrap();
    let cat = all_on();
    let mut total: BTreeMap<&'static str, usize> = BTreeMap::new();
    for c in idx.as_array().unwrap() {
        if c["attack_or_anomaly"].as_bool() != Some(false) {
            continue;
        }
        let p = dir.join(c["dest"].as_str().unwrap());
        let Ok(mut src) = FileSource::open(&p, 0) else {
            continue;
        };
        let mut e = Engines::new();
        e.push(Box::new(Health::new(&cat)));
        let mut pl = Pipeline::new(Config::default(), e);
        while let Ok(Some(pkt)) = src.next_packet() {
            pl.process(&pkt);
        }
        pl.finish();
        let mut e = pl.into_sink();
        e.finish();
        let d: Vec<_> = e.drain().collect();
        for (t, n) in types(&d) {
            eprintln!("{t:40} {n:4} {}", p.display());
            *total.entry(t).or_default() += n;
            assert!(n <= 60, "{t} floods {}: {n}", p.display());
        }
    }
    eprintln!("{total:?}");
}

// ---------------------------------------------------------------- generated

fn run_scenario(name: &str) -> Vec<Detection> {
    use otwatch_capture::{LinkType, Packet};
    use otwatch_engines::Engines;
    use otwatch_pipeline::{Config, Pipeline};
    let cap = otwatch_sim::generate(name, 7).expect("scenario");
    let mut e = Engines::new();
    e.push(Box::new(Health::new(&all_on())));
    let mut p = Pipeline::new(Config::default(), e);
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

/// Every generated scenario through the whole pipeline: the abnormal ones
/// raise exactly these types, the normal ones nothing.
#[test]
fn generated_scenarios() {
    let want: BTreeMap<&str, &[(&str, usize)]> = BTreeMap::from([
        ("modbus_exceptions", &[(ids::MODBUS_FAILURE, 1)][..]),
        (
            "dnp3_control",
            &[(ids::DNP3_RESTARTED, 2), (ids::DNP3_RESTARTS, 1)][..],
        ),
        ("mms_abnormal", &[(ids::MMS_FAILED, 1)][..]),
        ("goose_abnormal", &[(ids::CONFIG_CHANGE, 1)][..]),
        ("sv_abnormal", &[(ids::CONFIG_CHANGE, 1)][..]),
        (
            "enip_malformed",
            &[(ids::CIP_FAILED, 1), (ids::ENIP_FAILED, 1)][..],
        ),
        ("bacnet_abnormal", &[(ids::BACNET_FAILED, 1)][..]),
        ("opcua_abnormal", &[(ids::OPCUA_FAILED, 1)][..]),
        ("profinet_abnormal", &[(ids::DCP_FACTORY_RESET, 1)][..]),
        ("it_http", &[(ids::HTTP_CLIENT_ERROR, 1)][..]),
        ("it_app_malformed", &[(ids::HTTP_CLIENT_ERROR, 1)][..]),
    ]);
    for s in otwatch_sim::scenarios() {
        let d = run_scenario(s.name);
        let got = types(&d);
        let w: BTreeMap<&str, usize> = want
            .get(s.name)
            .map(|w| w.iter().copied().collect())
            .unwrap_or_default();
        assert_eq!(got, w, "{}: {d:#?}", s.name);
    }
    let d = run_scenario("bacnet_abnormal");
    assert!(
        d[0].message.contains("password-failure"),
        "{}",
        d[0].message
    );
    let d = run_scenario("profinet_abnormal");
    assert!(d[0].src.ip.is_none() && d[0].src.mac.is_some());
}
