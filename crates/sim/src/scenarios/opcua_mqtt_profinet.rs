//! OPC UA, MQTT and Profinet (DCP, RT, IO-CM) scenarios.

use otwatch_core::Timestamp;

use super::Group;
use super::hosts::*;
use crate::builder::{Cap, ms, secs};
use crate::net::{Host, eth_frame};
use crate::transport::{Channel, Dir, TcpConn, UdpFlow};
use crate::{Scenario, Truth};

pub(crate) const SCENARIOS: Group = &[
    (
        Scenario {
            name: "opcua_normal",
            description: OPCUA_NORMAL,
        },
        opcua_normal,
    ),
    (
        Scenario {
            name: "opcua_abnormal",
            description: OPCUA_ABNORMAL,
        },
        opcua_abnormal,
    ),
    (
        Scenario {
            name: "mqtt_normal",
            description: MQTT_NORMAL,
        },
        mqtt_normal,
    ),
    (
        Scenario {
            name: "mqtt_abnormal",
            description: MQTT_ABNORMAL,
        },
        mqtt_abnormal,
    ),
    (
        Scenario {
            name: "profinet_dcp",
            description: PROFINET_DCP,
        },
        profinet_dcp,
    ),
    (
        Scenario {
            name: "profinet_io",
            description: PROFINET_IO,
        },
        profinet_io,
    ),
    (
        Scenario {
            name: "profinet_abnormal",
            description: PROFINET_ABNORMAL,
        },
        profinet_abnormal,
    ),
];

/// Siemens SIMATIC IOT2050 IIoT gateway.
const GATEWAY: Host = Host::v4([0x00, 0x1b, 0x1b, 0x6a, 0x10, 0x60], [10, 10, 2, 60], 64);
/// MQTT broker (Linux server, Dell OUI).
const BROKER: Host = Host::v4([0x00, 0x14, 0x22, 0x3a, 0x7c, 0x70], [10, 10, 2, 70], 64);
/// An unmanaged laptop on the plant network.
const ROGUE: Host = Host::v4([0x3c, 0x52, 0x82, 0x11, 0x22, 0x33], [10, 10, 2, 199], 128);
/// Siemens ET 200SP IO devices and a SINAMICS drive (Profinet devices).
const ET200_A: Host = Host::v4([0x00, 0x1b, 0x1b, 0x41, 0x00, 0x01], [10, 10, 1, 41], 64);
const ET200_B: Host = Host::v4([0x00, 0x1b, 0x1b, 0x41, 0x00, 0x02], [10, 10, 1, 42], 64);
const DRIVE: Host = Host::v4([0x00, 0x1b, 0x1b, 0x43, 0x00, 0x03], [10, 10, 1, 43], 64);

const OPCUA_NORMAL: &str = "The HMI (10.10.1.10) connects to the OPC UA server of the Siemens \
S7-1500 (10.10.1.22, TCP 4840) without security: HEL/ACK, OpenSecureChannel with policy None, \
GetEndpoints, CreateSession (server \"SIMATIC S7-1500 OPC UA Server\"), anonymous ActivateSession, \
a Browse of the Objects folder and CreateSubscription (1000 ms). Then ten cycles of a Read of four \
tank values and a Publish; the fifth Read response is sent in two chunks (C then F), one message. \
CloseSession and CloseSecureChannel end the connection.";

const OPCUA_ABNORMAL: &str = "An engineering workstation (192.168.10.50, through the OT firewall) \
opens an unsecured OPC UA session on the S7-1500 (10.10.1.22) and logs in with user name \
\"admin\", writes two setpoints (Write), and calls the method StopProduction (Call). A second \
connection sends a MSG chunk announcing 3 bytes (malformed) and the server answers ERR \
BadTcpMessageTypeInvalid; a third sends a HEL with chunk type 'C' (malformed) and gets ERR too. A \
fourth client uses Basic256Sha256: its OPN and MSG chunks are reported with the service unknown.";

const MQTT_NORMAL: &str = "An IIoT gateway (Siemens IOT2050, 10.10.2.60) connects to the plant \
MQTT broker (10.10.2.70, TCP 1883) with MQTT 3.1.1 (client id edge-gw-01, user gateway, will \
topic plant/status/edge-gw-01), subscribes to plant/cmd/edge-gw-01/#, and publishes telemetry \
every second for ten seconds: two QoS 0 PUBLISH in one segment and a QoS 1 PUBLISH acknowledged \
by PUBACK, with a PINGREQ/PINGRESP every five seconds; then DISCONNECT. The historian \
(192.168.10.20) connects with MQTT 5, subscribes to plant/+/telemetry and receives the broker's \
forwarded PUBLISH packets.";

const MQTT_ABNORMAL: &str = "An unmanaged laptop (10.10.2.199) probes the MQTT broker \
(10.10.2.70): a CONNECT refused with return code 5 (not authorized), one refused with code 4 (bad \
user name or password), then an accepted anonymous CONNECT followed by a wildcard SUBSCRIBE to \
'#', a PUBLISH of a valve command to plant/cmd/valve7, a packet of reserved type 0 (a message \
with code 0 and malformed) and a packet whose remaining length runs over 4 bytes (malformed).";

const PROFINET_DCP: &str = "The S7-1500 Profinet controller (00:0e:8c:8a:31:07) sends a DCP \
Identify All to the Profinet multicast address; two ET 200SP IO devices and a SINAMICS drive \
answer with their name of station, type of station, vendor id 0x002a (Siemens), device id and IP \
suite. The controller then Sets the name of station of the first device, Sets its IP suite and \
sends a Get of its device id; the drive later announces itself with a Hello.";

const PROFINET_IO: &str = "The S7-1500 controller (10.10.1.22) establishes an application \
relationship with the ET 200SP (10.10.1.41) over Profinet IO-CM (DCE/RPC on UDP 34964): Connect \
(ARBlockReq from station plc-line1), a parameter Write (slot 1, subslot 1, index 0x1f4), Control \
PrmEnd; the device answers ApplicationReady with its own Control request; the controller reads the \
I&M0 record and finally Releases the AR. In between, cyclic RT_CLASS_1 frames (frame ids \
0xC000/0xC001) flow both ways and the device sends one low-priority alarm (0xFE01).";

const PROFINET_ABNORMAL: &str = "While the S7-1500 controller (10.10.1.22) exchanges cyclic \
RT_CLASS_1 data with the ET 200SP (10.10.1.41), a laptop plugged into the Profinet cell \
(3c:52:82:4d:19:07, 10.10.1.199) sends a DCP Identify All, which the two ET 200SP and the drive \
answer; it then Sets the ET 200SP's name of station to rogue-io1 and its IP suite to 10.10.1.99, \
and Sets the Reset to Factory control block (reset communication parameters) of the SINAMICS drive \
(each answered with success). Over IO-CM (UDP 34964) it Releases the controller's application \
relationship (IODReleaseBlock, opnum 1), which the ET 200SP accepts, and the device raises a \
high-priority alarm (frame id 0xFC01) to the controller. Finally two malformed DCP frames from the \
laptop (a Set whose DCP data length of 256 runs past the frame, an Identify response whose \
name-of-station block runs past the DCP data) and one malformed IO-CM Write request whose \
IODWriteReqHeader block runs past the RPC body (a request and malformed).";

// ------------------------------------------------------------------ OPC UA

mod ua {
    pub fn s(v: &mut Vec<u8>, x: &str) {
        v.extend((x.len() as i32).to_le_bytes());
        v.extend(x.as_bytes());
    }
    pub fn null(v: &mut Vec<u8>) {
        v.extend((-1i32).to_le_bytes());
    }
    pub fn u32(v: &mut Vec<u8>, x: u32) {
        v.extend(x.to_le_bytes());
    }
    pub fn node(v: &mut Vec<u8>, id: u16) {
        v.push(1);
        v.push(0);
        v.extend(id.to_le_bytes());
    }
    pub fn chunk(t: &[u8; 3], c: u8, body: &[u8]) -> Vec<u8> {
        let mut v = t.to_vec();
        v.push(c);
        u32(&mut v, (body.len() + 8) as u32);
        v.extend(body);
        v
    }
    pub fn hel(url: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for x in [0, 65535, 65535, 0, 0] {
            u32(&mut b, x);
        }
        s(&mut b, url);
        chunk(b"HEL", b'F', &b)
    }
    pub fn ack() -> Vec<u8> {
        let mut b = Vec::new();
        for x in [0, 65535, 65535, 0, 0] {
            u32(&mut b, x);
        }
        chunk(b"ACK", b'F', &b)
    }
    pub fn err(code: u32, reason: &str) -> Vec<u8> {
        let mut b = Vec::new();
        u32(&mut b, code);
        s(&mut b, reason);
        chunk(b"ERR", b'F', &b)
    }
    pub fn req_header(v: &mut Vec<u8>, handle: u32) {
        v.extend([0, 0]);
        v.extend([0u8; 8]);
        u32(v, handle);
        u32(v, 0);
        null(v);
        u32(v, 10000);
        v.extend([0, 0, 0]);
    }
    pub fn resp_header(v: &mut Vec<u8>, handle: u32, status: u32) {
        v.extend([0u8; 8]);
        u32(v, handle);
        u32(v, status);
        v.push(0);
        null(v);
        v.extend([0, 0, 0]);
    }
    pub fn opn(policy: &str, channel: u32, request: bool, encrypted_len: usize) -> Vec<u8> {
        let mut b = Vec::new();
        u32(&mut b, channel);
        s(
            &mut b,
            &format!("http://opcfoundation.org/UA/SecurityPolicy#{policy}"),
        );
        if encrypted_len > 0 {
            b.extend((600i32).to_le_bytes());
            b.extend(vec![0x30; 600]);
            s(&mut b, "0123456789abcdef0123");
            b.extend(vec![0xa5; encrypted_len]);
            return chunk(b"OPN", b'F', &b);
        }
        null(&mut b);
        null(&mut b);
        u32(&mut b, 1);
        u32(&mut b, 1);
        if request {
            node(&mut b, 446);
            req_header(&mut b, 0);
            u32(&mut b, 0);
            u32(&mut b, 0);
            u32(&mut b, 1);
            null(&mut b);
            u32(&mut b, 3_600_000);
        } else {
            node(&mut b, 449);
            resp_header(&mut b, 0, 0);
            u32(&mut b, 0);
            u32(&mut b, channel);
            u32(&mut b, 1);
            b.extend([0u8; 8]);
            u32(&mut b, 3_600_000);
            null(&mut b);
        }
        chunk(b"OPN", b'F', &b)
    }
    /// A MSG (or CLO) chunk of a channel.
    pub fn msg(t: &[u8; 3], c: u8, channel: u32, seq: u32, rid: u32, svc: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        u32(&mut b, channel);
        u32(&mut b, 1);
        u32(&mut b, seq);
        u32(&mut b, rid);
        b.extend(svc);
        chunk(t, c, &b)
    }
    pub fn app_desc(v: &mut Vec<u8>, uri: &str, product: &str, name: &str, kind: u32) {
        s(v, uri);
        s(v, product);
        v.push(2);
        s(v, name);
        u32(v, kind);
        null(v);
        null(v);
        null(v);
    }
    pub fn endpoints(v: &mut Vec<u8>) {
        u32(v, 1);
        s(v, "opc.tcp://10.10.1.22:4840");
        app_desc(
            v,
            "urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1",
            "https://www.siemens.com/s7-1500",
            "SIMATIC S7-1500 OPC UA Server",
            0,
        );
        null(v);
        u32(v, 1);
        s(v, "http://opcfoundation.org/UA/SecurityPolicy#None");
        u32(v, 0);
        null(v);
        v.push(0);
    }
    /// Request body of `service` with its specific fields.
    pub fn request(service: u16, handle: u32, fields: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        node(&mut b, service);
        req_header(&mut b, handle);
        b.extend(fields);
        b
    }
    pub fn response(service: u16, handle: u32, status: u32, fields: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        node(&mut b, service);
        resp_header(&mut b, handle, status);
        b.extend(fields);
        b
    }
}

/// An OPC UA client connection with its secure channel counters.
struct UaConn {
    conn: TcpConn,
    channel: u32,
    seq: u32,
    rid: u32,
    handle: u32,
}

impl UaConn {
    fn new(cap: &mut Cap, client: Host, server: Host, channel: u32) -> UaConn {
        UaConn {
            conn: TcpConn::new(cap, client, server, 4840),
            channel,
            seq: 50,
            rid: 0,
            handle: 1_000_000,
        }
    }

    /// HEL/ACK and an unsecured OPN exchange.
    fn open(&mut self, cap: &mut Cap, t: Timestamp) -> Timestamp {
        let t = self.conn.handshake(cap, t);
        let t = self.pair(
            cap,
            t,
            &ua::hel("opc.tcp://10.10.1.22:4840"),
            (1, 1),
            &ua::ack(),
            (2, 0),
        );
        let t = self.pair(
            cap,
            t,
            &ua::opn("None", 0, true, 0),
            (3, 1),
            &ua::opn("None", self.channel, false, 0),
            (3, 0),
        );
        self.rid = 1;
        t
    }

    /// Sends a request and its response; `.1` of each code pair: 1 = request.
    fn pair(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        req: &[u8],
        rq: (u16, u8),
        resp: &[u8],
        rs: (u16, u8),
    ) -> Timestamp {
        let t = t.add_nanos(cap.rng.micros(300, 900));
        self.conn.send(cap, t, Dir::ToServer, req);
        cap.truth(t, Truth::msg("opcua", rq.0, rq.1 == 1));
        let t = t.add_nanos(cap.rng.micros(800, 3_000));
        self.conn.send(cap, t, Dir::ToClient, resp);
        cap.truth(t, Truth::msg("opcua", rs.0, rs.1 == 1));
        t
    }

    /// A service call: request `svc` with `fields`, response `svc + 3`.
    fn call(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        svc: u16,
        fields: &[u8],
        resp_fields: &[u8],
    ) -> Timestamp {
        self.rid += 1;
        self.handle += 1;
        self.seq += 1;
        let req = ua::msg(
            b"MSG",
            b'F',
            self.channel,
            self.seq,
            self.rid,
            &ua::request(svc, self.handle, fields),
        );
        let resp = ua::msg(
            b"MSG",
            b'F',
            self.channel,
            self.seq,
            self.rid,
            &ua::response(svc + 3, self.handle, 0, resp_fields),
        );
        self.pair(cap, t, &req, (svc, 1), &resp, (svc + 3, 0))
    }

    fn close(&mut self, cap: &mut Cap, t: Timestamp) -> Timestamp {
        self.seq += 1;
        self.rid += 1;
        let clo = ua::msg(
            b"CLO",
            b'F',
            self.channel,
            self.seq,
            self.rid,
            &ua::request(452, 0, &[]),
        );
        let t = t.add_nanos(cap.rng.micros(500, 900));
        self.conn.send(cap, t, Dir::ToServer, &clo);
        cap.truth(t, Truth::msg("opcua", 5, true));
        self.conn.close(cap, t.add_nanos(ms(1)))
    }
}

fn read_fields(nodes: &[&str]) -> Vec<u8> {
    let mut b = vec![0u8; 8];
    ua::u32(&mut b, 0);
    ua::u32(&mut b, nodes.len() as u32);
    for n in nodes {
        b.extend([3, 3, 0]);
        ua::s(&mut b, n);
        ua::u32(&mut b, 13);
        ua::null(&mut b);
        b.extend([0, 0]);
        ua::null(&mut b);
    }
    b
}

fn read_results(values: &[f64]) -> Vec<u8> {
    let mut b = Vec::new();
    ua::u32(&mut b, values.len() as u32);
    for v in values {
        b.extend([1, 11]);
        b.extend(v.to_le_bytes());
    }
    ua::null(&mut b);
    b
}

fn create_session_fields(name: &str) -> Vec<u8> {
    let mut b = Vec::new();
    ua::app_desc(
        &mut b,
        "urn:hmi-01:WinCC:OPCUAClient",
        "urn:siemens:wincc",
        "WinCC OPC UA Client",
        1,
    );
    ua::null(&mut b);
    ua::s(&mut b, "opc.tcp://10.10.1.22:4840");
    ua::s(&mut b, name);
    ua::null(&mut b);
    ua::null(&mut b);
    b.extend(1_200_000f64.to_le_bytes());
    ua::u32(&mut b, 0);
    b
}

fn create_session_result() -> Vec<u8> {
    let mut b = vec![1, 1, 0x10, 0x27, 2, 1, 0, 0x11, 0x27, 0, 0];
    b.extend(1_200_000f64.to_le_bytes());
    ua::null(&mut b);
    ua::null(&mut b);
    ua::endpoints(&mut b);
    ua::null(&mut b); // server software certificates
    ua::null(&mut b); // server signature
    ua::null(&mut b);
    ua::u32(&mut b, 0); // max request message size
    b
}

fn activate_fields(user: Option<(&str, &str)>) -> Vec<u8> {
    let mut b = Vec::new();
    ua::null(&mut b);
    ua::null(&mut b);
    ua::u32(&mut b, 0);
    ua::u32(&mut b, 0);
    let mut tok = Vec::new();
    match user {
        Some((u, p)) => {
            ua::node(&mut b, 324);
            ua::s(&mut tok, "username_basic256");
            ua::s(&mut tok, u);
            ua::s(&mut tok, p);
            ua::null(&mut tok);
        }
        None => {
            ua::node(&mut b, 321);
            ua::s(&mut tok, "anonymous");
        }
    }
    b.push(1);
    b.extend((tok.len() as i32).to_le_bytes());
    b.extend(tok);
    ua::null(&mut b); // user token signature
    ua::null(&mut b);
    b
}

/// ActivateSession response: no nonce, no results, no diagnostics.
const ACTIVATED: [u8; 12] = [0xff; 12];

fn opcua_normal(cap: &mut Cap) {
    let mut c = UaConn::new(cap, HMI, PLC_SIEMENS, 0x0a01);
    let mut t = c.open(cap, cap.at(ms(100)));
    let mut ge = Vec::new();
    ua::s(&mut ge, "opc.tcp://10.10.1.22:4840");
    ua::u32(&mut ge, 0);
    ua::u32(&mut ge, 0);
    let mut ger = Vec::new();
    ua::endpoints(&mut ger);
    t = c.call(cap, t, 428, &ge, &ger);
    t = c.call(
        cap,
        t,
        461,
        &create_session_fields("HMI-01 session"),
        &create_session_result(),
    );
    t = c.call(cap, t, 467, &activate_fields(None), &ACTIVATED);
    let mut br = vec![0, 0];
    br.extend([0u8; 12]);
    ua::u32(&mut br, 0);
    ua::u32(&mut br, 1);
    br.extend([0, 85, 0, 0, 0, 0, 0, 33, 1, 0, 0, 0, 0, 63, 0, 0, 0]);
    let mut brr = Vec::new();
    ua::u32(&mut brr, 1);
    ua::u32(&mut brr, 0);
    ua::null(&mut brr);
    ua::u32(&mut brr, 0);
    ua::null(&mut brr);
    t = c.call(cap, t, 527, &br, &brr);
    let mut sub = 1000f64.to_le_bytes().to_vec();
    sub.extend([0x2c, 1, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    let mut subr = 7u32.to_le_bytes().to_vec();
    subr.extend(1000f64.to_le_bytes());
    subr.extend([0x2c, 1, 0, 0, 10, 0, 0, 0]);
    c.call(cap, t, 787, &sub, &subr);
    let tags = ["Tank1.Level", "Tank1.Temp", "Tank2.Level", "Pump3.Speed"];
    for n in 1..=10 {
        let t0 = cap.at_jittered(secs(n), 2_000);
        let vals: Vec<f64> = (0..4)
            .map(|_| cap.rng.micros(1_000, 90_000) as f64 / 1e3)
            .collect();
        let t1 = if n == 5 {
            // The response in two chunks: reported once, at the final chunk.
            c.rid += 1;
            c.handle += 1;
            c.seq += 1;
            let req = ua::msg(
                b"MSG",
                b'F',
                c.channel,
                c.seq,
                c.rid,
                &ua::request(631, c.handle, &read_fields(&tags)),
            );
            c.conn.send(cap, t0, Dir::ToServer, &req);
            cap.truth(t0, Truth::msg("opcua", 631, true));
            let body = ua::response(634, c.handle, 0, &read_results(&vals));
            let (a, b) = body.split_at(body.len() / 2);
            let t1 = t0.add_nanos(ms(2));
            let c1 = ua::msg(b"MSG", b'C', c.channel, c.seq, c.rid, a);
            c.conn.send(cap, t1, Dir::ToClient, &c1);
            let t2 = t1.add_nanos(ms(1));
            let c2 = ua::msg(b"MSG", b'F', c.channel, c.seq + 1, c.rid, b);
            c.conn.send(cap, t2, Dir::ToClient, &c2);
            c.seq += 1;
            cap.truth(t2, Truth::msg("opcua", 634, false));
            t2
        } else {
            c.call(cap, t0, 631, &read_fields(&tags), &read_results(&vals))
        };
        let mut pubr = 7u32.to_le_bytes().to_vec();
        ua::u32(&mut pubr, 0);
        pubr.push(0);
        ua::u32(&mut pubr, n as u32);
        pubr.extend([0u8; 8]);
        ua::u32(&mut pubr, 0);
        ua::null(&mut pubr);
        ua::null(&mut pubr);
        c.call(cap, t1, 826, &[0, 0, 0, 0], &pubr);
    }
    let t = c.call(cap, cap.at(secs(11)), 473, &[1], &[]);
    c.close(cap, t);
}

fn opcua_abnormal(cap: &mut Cap) {
    let mut c = UaConn::new(cap, EWS, PLC_SIEMENS, 0x0b01);
    let mut t = c.open(cap, cap.at(ms(100)));
    t = c.call(
        cap,
        t,
        461,
        &create_session_fields("EWS maintenance"),
        &create_session_result(),
    );
    t = c.call(
        cap,
        t,
        467,
        &activate_fields(Some(("admin", "Siemens1!"))),
        &ACTIVATED,
    );
    // Write two setpoints.
    let mut w = Vec::new();
    ua::u32(&mut w, 2);
    for (tag, v) in [
        ("Tank1.SetpointHigh", 98.0f64),
        ("Pump3.SpeedLimit", 3600.0),
    ] {
        w.extend([3, 3, 0]);
        ua::s(&mut w, tag);
        ua::u32(&mut w, 13);
        ua::null(&mut w);
        w.extend([1, 11]);
        w.extend(v.to_le_bytes());
    }
    let mut wr = Vec::new();
    ua::u32(&mut wr, 2);
    wr.extend([0u8; 8]);
    ua::null(&mut wr);
    t = c.call(cap, t.add_nanos(secs(2)), 673, &w, &wr);
    // Call StopProduction on the Line1 object.
    let mut call = Vec::new();
    ua::u32(&mut call, 1);
    call.extend([3, 3, 0]);
    ua::s(&mut call, "Line1");
    call.extend([3, 3, 0]);
    ua::s(&mut call, "Line1.StopProduction");
    ua::u32(&mut call, 1);
    call.extend([1, 1]);
    let mut callr = Vec::new();
    ua::u32(&mut callr, 1);
    callr.extend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    t = c.call(cap, t.add_nanos(secs(1)), 712, &call, &callr);
    c.close(cap, t);

    // Malformed: a chunk announcing 3 bytes, answered by ERR.
    for (i, bad) in [
        b"MSGF\x03\x00\x00\x00".to_vec(),
        ua::chunk(b"HEL", b'C', &[0; 24]),
    ]
    .into_iter()
    .enumerate()
    {
        let mut conn = TcpConn::new(cap, EWS, PLC_SIEMENS, 4840);
        let t = conn.handshake(cap, cap.at(secs(6 + i as i64)));
        let t = t.add_nanos(ms(1));
        conn.send(cap, t, Dir::ToServer, &bad);
        cap.truth(t, Truth::msg("opcua", 0, true).into_malformed());
        let t = t.add_nanos(ms(1));
        conn.send(
            cap,
            t,
            Dir::ToClient,
            &ua::err(0x807c_0000, "BadTcpMessageTypeInvalid"),
        );
        cap.truth(t, Truth::msg("opcua", 6, false));
        conn.close(cap, t.add_nanos(ms(1)));
    }

    // An encrypted channel: OPN and MSG with the service unknown.
    let mut e = UaConn::new(cap, EWS, PLC_SIEMENS, 0x0c01);
    let t = e.conn.handshake(cap, cap.at(secs(9)));
    let t = e.pair(
        cap,
        t,
        &ua::hel("opc.tcp://10.10.1.22:4840"),
        (1, 1),
        &ua::ack(),
        (2, 0),
    );
    let t = e.pair(
        cap,
        t,
        &ua::opn("Basic256Sha256", 0, true, 256),
        (3, 1),
        &ua::opn("Basic256Sha256", 0x0c01, false, 256),
        (3, 0),
    );
    let enc = |seq| {
        let mut b = 0x0c01u32.to_le_bytes().to_vec();
        b.extend(1u32.to_le_bytes());
        b.extend(vec![0x5a ^ seq as u8; 240]);
        ua::chunk(b"MSG", b'F', &b)
    };
    let t = e.pair(cap, t, &enc(1), (4, 1), &enc(2), (4, 0));
    e.conn.close(cap, t.add_nanos(ms(5)));
}

// ------------------------------------------------------------------ MQTT

mod mq {
    pub fn pkt(b0: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![b0];
        let mut n = body.len();
        loop {
            let mut c = (n % 128) as u8;
            n /= 128;
            if n > 0 {
                c |= 0x80;
            }
            v.push(c);
            if n == 0 {
                break;
            }
        }
        v.extend(body);
        v
    }
    pub fn st(v: &mut Vec<u8>, s: &str) {
        v.extend((s.len() as u16).to_be_bytes());
        v.extend(s.as_bytes());
    }
    pub fn connect(level: u8, id: &str, user: Option<(&str, &str)>, will: Option<&str>) -> Vec<u8> {
        let mut b = Vec::new();
        st(&mut b, "MQTT");
        b.push(level);
        let mut f = 2;
        if will.is_some() {
            f |= 0x04 | 0x08 | 0x20;
        }
        if user.is_some() {
            f |= 0xc0;
        }
        b.push(f);
        b.extend(30u16.to_be_bytes());
        if level == 5 {
            b.extend([3, 0x21, 0, 20]);
        }
        st(&mut b, id);
        if let Some(w) = will {
            if level == 5 {
                b.push(0);
            }
            st(&mut b, w);
            st(&mut b, "offline");
        }
        if let Some((u, p)) = user {
            st(&mut b, u);
            st(&mut b, p);
        }
        pkt(0x10, &b)
    }
    pub fn connack(code: u8, v5: bool) -> Vec<u8> {
        let mut b = vec![0, code];
        if v5 {
            b.push(0);
        }
        pkt(0x20, &b)
    }
    pub fn publish(qos: u8, id: u16, topic: &str, payload: &[u8], v5: bool) -> Vec<u8> {
        let mut b = Vec::new();
        st(&mut b, topic);
        if qos > 0 {
            b.extend(id.to_be_bytes());
        }
        if v5 {
            b.push(0);
        }
        b.extend(payload);
        pkt(0x30 | (qos << 1), &b)
    }
    pub fn subscribe(id: u16, topics: &[(&str, u8)], v5: bool) -> Vec<u8> {
        let mut b = id.to_be_bytes().to_vec();
        if v5 {
            b.push(0);
        }
        for (t, q) in topics {
            st(&mut b, t);
            b.push(*q);
        }
        pkt(0x82, &b)
    }
    pub fn suback(id: u16, codes: &[u8], v5: bool) -> Vec<u8> {
        let mut b = id.to_be_bytes().to_vec();
        if v5 {
            b.push(0);
        }
        b.extend(codes);
        pkt(0x90, &b)
    }
}

/// Sends `payload` (one or more packets) and records their types.
fn mq_send(
    cap: &mut Cap,
    conn: &mut TcpConn,
    t: Timestamp,
    dir: Dir,
    payload: &[u8],
    types: &[u16],
) {
    conn.send(cap, t, dir, payload);
    for &ty in types {
        cap.truth(t, Truth::msg("mqtt", ty, dir == Dir::ToServer));
    }
}

fn mqtt_normal(cap: &mut Cap) {
    let mut g = TcpConn::new(cap, GATEWAY, BROKER, 1883);
    let t = g.handshake(cap, cap.at(ms(50)));
    let t = t.add_nanos(ms(1));
    let conn = mq::connect(
        4,
        "edge-gw-01",
        Some(("gateway", "g4tew@y")),
        Some("plant/status/edge-gw-01"),
    );
    mq_send(cap, &mut g, t, Dir::ToServer, &conn, &[1]);
    let t = t.add_nanos(ms(2));
    mq_send(cap, &mut g, t, Dir::ToClient, &mq::connack(0, false), &[2]);
    let t = t.add_nanos(ms(1));
    let sub = mq::subscribe(1, &[("plant/cmd/edge-gw-01/#", 1)], false);
    mq_send(cap, &mut g, t, Dir::ToServer, &sub, &[8]);
    let t = t.add_nanos(ms(2));
    mq_send(
        cap,
        &mut g,
        t,
        Dir::ToClient,
        &mq::suback(1, &[1], false),
        &[9],
    );

    let mut h = TcpConn::new(cap, HISTORIAN, BROKER, 1883);
    let th = h.handshake(cap, cap.at(ms(300)));
    let th = th.add_nanos(ms(1));
    mq_send(
        cap,
        &mut h,
        th,
        Dir::ToServer,
        &mq::connect(5, "historian-01", None, None),
        &[1],
    );
    let th = th.add_nanos(ms(2));
    mq_send(cap, &mut h, th, Dir::ToClient, &mq::connack(0, true), &[2]);
    let th = th.add_nanos(ms(1));
    let sub = mq::subscribe(1, &[("plant/+/telemetry", 0)], true);
    mq_send(cap, &mut h, th, Dir::ToServer, &sub, &[8]);
    mq_send(
        cap,
        &mut h,
        th.add_nanos(ms(2)),
        Dir::ToClient,
        &mq::suback(1, &[0], true),
        &[9],
    );

    for n in 1..=10u16 {
        let t = cap.at_jittered(secs(n as i64), 3_000);
        let temp = format!(
            "{{\"temp\":{:.1}}}",
            20.0 + (cap.rng.micros(0, 50) as f64) / 10.0
        );
        let mut seg = mq::publish(0, 0, "plant/line1/telemetry", temp.as_bytes(), false);
        seg.extend(mq::publish(
            0,
            0,
            "plant/line2/telemetry",
            b"{\"flow\":12.5}",
            false,
        ));
        mq_send(cap, &mut g, t, Dir::ToServer, &seg, &[3, 3]);
        let t1 = t.add_nanos(ms(1));
        let alarm = mq::publish(1, n, "plant/alarms/edge-gw-01", b"{\"active\":0}", false);
        mq_send(cap, &mut g, t1, Dir::ToServer, &alarm, &[3]);
        mq_send(
            cap,
            &mut g,
            t1.add_nanos(ms(2)),
            Dir::ToClient,
            &mq::pkt(0x40, &n.to_be_bytes()),
            &[4],
        );
        let fwd = mq::publish(0, 0, "plant/line1/telemetry", temp.as_bytes(), true);
        mq_send(cap, &mut h, t.add_nanos(ms(3)), Dir::ToClient, &fwd, &[3]);
        if n % 5 == 0 {
            let tp = t1.add_nanos(ms(200));
            mq_send(cap, &mut g, tp, Dir::ToServer, &mq::pkt(0xc0, &[]), &[12]);
            mq_send(
                cap,
                &mut g,
                tp.add_nanos(ms(1)),
                Dir::ToClient,
                &mq::pkt(0xd0, &[]),
                &[13],
            );
        }
    }
    let t = cap.at(secs(11));
    mq_send(cap, &mut g, t, Dir::ToServer, &mq::pkt(0xe0, &[]), &[14]);
    g.close(cap, t.add_nanos(ms(1)));
    let t = cap.at(secs(11) + ms(500));
    mq_send(cap, &mut h, t, Dir::ToServer, &mq::pkt(0xe0, &[0]), &[14]);
    h.close(cap, t.add_nanos(ms(1)));
}

fn mqtt_abnormal(cap: &mut Cap) {
    for (i, (user, code)) in [(None, 5u8), (Some(("admin", "admin")), 4)]
        .into_iter()
        .enumerate()
    {
        let mut c = TcpConn::new(cap, ROGUE, BROKER, 1883);
        let t = c.handshake(cap, cap.at(ms(100) + secs(i as i64)));
        let t = t.add_nanos(ms(1));
        mq_send(
            cap,
            &mut c,
            t,
            Dir::ToServer,
            &mq::connect(4, "mqtt-explorer-4f1c", user, None),
            &[1],
        );
        mq_send(
            cap,
            &mut c,
            t.add_nanos(ms(1)),
            Dir::ToClient,
            &mq::connack(code, false),
            &[2],
        );
        c.close(cap, t.add_nanos(ms(3)));
    }
    let mut c = TcpConn::new(cap, ROGUE, BROKER, 1883);
    let t = c.handshake(cap, cap.at(secs(3)));
    let t = t.add_nanos(ms(1));
    mq_send(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &mq::connect(4, "mqtt-explorer-4f1c", None, None),
        &[1],
    );
    let t = t.add_nanos(ms(1));
    mq_send(cap, &mut c, t, Dir::ToClient, &mq::connack(0, false), &[2]);
    let t = t.add_nanos(ms(5));
    mq_send(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &mq::subscribe(1, &[("#", 0)], false),
        &[8],
    );
    let t = t.add_nanos(ms(1));
    mq_send(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &mq::suback(1, &[0], false),
        &[9],
    );
    let t = t.add_nanos(secs(1));
    let cmd = mq::publish(1, 2, "plant/cmd/valve7", b"{\"position\":0}", false);
    mq_send(cap, &mut c, t, Dir::ToServer, &cmd, &[3]);
    mq_send(
        cap,
        &mut c,
        t.add_nanos(ms(1)),
        Dir::ToClient,
        &mq::pkt(0x40, &[0, 2]),
        &[4],
    );
    // Reserved type 0: a message with code 0 and a malformed PDU.
    let t = t.add_nanos(ms(100));
    c.send(cap, t, Dir::ToServer, &mq::pkt(0x00, &[]));
    cap.truth(t, Truth::msg("mqtt", 0, true));
    cap.truth(t, Truth::msg("mqtt", 0, true).into_malformed());
    // A remaining length of five varint bytes.
    let t = t.add_nanos(ms(100));
    c.send(cap, t, Dir::ToServer, &[0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    cap.truth(t, Truth::msg("mqtt", 3, true).into_malformed());
    c.close(cap, t.add_nanos(ms(5)));
}

// ------------------------------------------------------------------ Profinet

const PN_MCAST: [u8; 6] = [0x01, 0x0e, 0xcf, 0x00, 0x00, 0x00];

fn dcp_block(v: &mut Vec<u8>, opt: u8, sub: u8, data: &[u8]) {
    v.extend([opt, sub]);
    v.extend((data.len() as u16).to_be_bytes());
    v.extend(data);
    if data.len() % 2 == 1 {
        v.push(0);
    }
}

fn dcp(frame_id: u16, sid: u8, st: u8, xid: u32, delay: u16, blocks: &[u8]) -> Vec<u8> {
    let mut v = frame_id.to_be_bytes().to_vec();
    v.extend([sid, st]);
    v.extend(xid.to_be_bytes());
    v.extend(delay.to_be_bytes());
    v.extend((blocks.len() as u16).to_be_bytes());
    v.extend(blocks);
    v
}

fn ip_octets(h: &Host) -> [u8; 4] {
    match h.ip {
        std::net::IpAddr::V4(a) => a.octets(),
        std::net::IpAddr::V6(_) => [0; 4],
    }
}

fn identify_blocks(name: &str, kind: &str, device_id: u16, role: u8, ip: [u8; 4]) -> Vec<u8> {
    let mut b = Vec::new();
    let mut d = vec![0, 0];
    d.extend(name.as_bytes());
    dcp_block(&mut b, 2, 2, &d);
    let mut d = vec![0, 0];
    d.extend(kind.as_bytes());
    dcp_block(&mut b, 2, 1, &d);
    let mut d = vec![0, 0, 0x00, 0x2a];
    d.extend(device_id.to_be_bytes());
    dcp_block(&mut b, 2, 3, &d);
    dcp_block(&mut b, 2, 4, &[0, 0, role, 0]);
    let mut d = vec![0, 1];
    d.extend(ip);
    d.extend([255, 255, 255, 0, 10, 10, 1, 1]);
    dcp_block(&mut b, 1, 2, &d);
    b
}

fn l2(cap: &mut Cap, t: Timestamp, src: [u8; 6], dst: [u8; 6], payload: &[u8], truth: Truth) {
    cap.push(t, eth_frame(src, dst, None, 0x8892, payload));
    cap.truth(t, truth);
}

fn dcp_truth(sid: u8, st: u8) -> Truth {
    Truth::msg("profinet_dcp", sid as u16 * 256 + st as u16, st == 0)
}

fn profinet_dcp(cap: &mut Cap) {
    let ctl = PLC_SIEMENS.mac;
    let t = cap.at(ms(100));
    let mut all = Vec::new();
    dcp_block(&mut all, 0xff, 0xff, &[]);
    l2(
        cap,
        t,
        ctl,
        PN_MCAST,
        &dcp(0xfefe, 5, 0, 0x0100_0001, 1, &all),
        dcp_truth(5, 0),
    );
    let devices = [
        (ET200_A, "et200sp-tank1", "ET 200SP", 0x0313u16, 1u8),
        (ET200_B, "et200sp-tank2", "ET 200SP", 0x0313, 1),
        (DRIVE, "g120-pump3", "SINAMICS G120", 0x0505, 1),
    ];
    for (i, (h, name, kind, id, role)) in devices.iter().enumerate() {
        let t = t.add_nanos(ms(2 + i as i64 * 7));
        let b = identify_blocks(name, kind, *id, *role, ip_octets(h));
        l2(
            cap,
            t,
            h.mac,
            ctl,
            &dcp(0xfeff, 5, 1, 0x0100_0001, 0, &b),
            dcp_truth(5, 1),
        );
    }
    // Set the name of station of the first device, then its IP suite.
    let t = cap.at(secs(1));
    let mut b = Vec::new();
    let mut d = vec![0, 1];
    d.extend(b"et200sp-tank1-new");
    dcp_block(&mut b, 2, 2, &d);
    l2(
        cap,
        t,
        ctl,
        ET200_A.mac,
        &dcp(0xfefd, 4, 0, 0x0100_0002, 0, &b),
        dcp_truth(4, 0),
    );
    let mut r = Vec::new();
    dcp_block(&mut r, 5, 4, &[2, 2, 0]);
    let t = t.add_nanos(ms(3));
    l2(
        cap,
        t,
        ET200_A.mac,
        ctl,
        &dcp(0xfefd, 4, 1, 0x0100_0002, 0, &r),
        dcp_truth(4, 1),
    );
    let t = t.add_nanos(ms(200));
    let mut b = Vec::new();
    dcp_block(
        &mut b,
        1,
        2,
        &[0, 1, 10, 10, 1, 141, 255, 255, 255, 0, 10, 10, 1, 1],
    );
    l2(
        cap,
        t,
        ctl,
        ET200_A.mac,
        &dcp(0xfefd, 4, 0, 0x0100_0003, 0, &b),
        dcp_truth(4, 0),
    );
    let mut r = Vec::new();
    dcp_block(&mut r, 5, 4, &[1, 2, 0]);
    let t = t.add_nanos(ms(3));
    l2(
        cap,
        t,
        ET200_A.mac,
        ctl,
        &dcp(0xfefd, 4, 1, 0x0100_0003, 0, &r),
        dcp_truth(4, 1),
    );
    // Get the device id.
    let t = t.add_nanos(ms(200));
    l2(
        cap,
        t,
        ctl,
        ET200_A.mac,
        &dcp(0xfefd, 3, 0, 0x0100_0004, 0, &[2, 3]),
        dcp_truth(3, 0),
    );
    let mut r = Vec::new();
    dcp_block(&mut r, 2, 3, &[0, 0, 0x00, 0x2a, 0x03, 0x13]);
    let t = t.add_nanos(ms(3));
    l2(
        cap,
        t,
        ET200_A.mac,
        ctl,
        &dcp(0xfefd, 3, 1, 0x0100_0004, 0, &r),
        dcp_truth(3, 1),
    );
    // The drive announces itself.
    let t = cap.at(secs(2));
    let b = identify_blocks("g120-pump3", "SINAMICS G120", 0x0505, 1, ip_octets(&DRIVE));
    l2(
        cap,
        t,
        DRIVE.mac,
        PN_MCAST,
        &dcp(0xfefc, 6, 0, 0x0000_0001, 0, &b),
        dcp_truth(6, 0),
    );
}

mod pnio {
    const DEVICE_IF: [u8; 16] = [
        0xde, 0xa0, 0x00, 0x01, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf,
        0x7d,
    ];
    const CONTROLLER_IF: [u8; 16] = [
        0xde, 0xa0, 0x00, 0x02, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf,
        0x7d,
    ];
    /// A connectionless RPC, little-endian (as the Siemens stacks send).
    pub fn rpc(
        ptype: u8,
        to_controller: bool,
        act: [u8; 16],
        seq: u32,
        op: u16,
        body: &[u8],
    ) -> Vec<u8> {
        let le = |u: [u8; 16]| {
            let mut x = u;
            x[..4].reverse();
            x[4..6].reverse();
            x[6..8].reverse();
            x
        };
        let mut v = vec![4, ptype, 0x20, 0, 0x10, 0, 0, 0];
        v.extend(le([
            0xde, 0xa0, 0, 0, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71, 0, 1, 0, 3, 1, 0x5a,
        ]));
        v.extend(le(if to_controller {
            CONTROLLER_IF
        } else {
            DEVICE_IF
        }));
        v.extend(le(act));
        v.extend(0u32.to_le_bytes());
        v.extend(1u32.to_le_bytes());
        v.extend(seq.to_le_bytes());
        v.extend(op.to_le_bytes());
        v.extend([0xff, 0xff, 0xff, 0xff]);
        v.extend((body.len() as u16).to_le_bytes());
        v.extend([0, 0, 0, 0]);
        v.extend(body);
        v
    }
    pub fn ndr(blocks: &[u8], status: Option<u32>) -> Vec<u8> {
        let mut v = match status {
            Some(s) => s.to_be_bytes().to_vec(),
            None => 4096u32.to_le_bytes().to_vec(),
        };
        for x in [blocks.len() as u32, 4096, 0, blocks.len() as u32] {
            v.extend(x.to_le_bytes());
        }
        v.extend(blocks);
        v
    }
    pub fn block(bt: u16, content: &[u8]) -> Vec<u8> {
        let mut v = bt.to_be_bytes().to_vec();
        v.extend(((content.len() + 2) as u16).to_be_bytes());
        v.extend([1, 0]);
        v.extend(content);
        v
    }
    pub const AR: [u8; 16] = [0x5a; 16];
    pub fn ar_req(station: &str, mac: [u8; 6]) -> Vec<u8> {
        let mut c = 1u16.to_be_bytes().to_vec();
        c.extend(AR);
        c.extend([0, 1]);
        c.extend(mac);
        c.extend([0x33; 16]);
        c.extend([0, 0, 0, 0x11, 0, 100, 0x88, 0x92]);
        c.extend((station.len() as u16).to_be_bytes());
        c.extend(station.as_bytes());
        block(0x0101, &c)
    }
    pub fn ar_res(mac: [u8; 6]) -> Vec<u8> {
        let mut c = 1u16.to_be_bytes().to_vec();
        c.extend(AR);
        c.extend([0, 1]);
        c.extend(mac);
        c.extend([0x88, 0x92]);
        block(0x8101, &c)
    }
    pub fn rw(bt: u16, seq: u16, slot: u16, sub: u16, index: u16, len: u32) -> Vec<u8> {
        let mut c = seq.to_be_bytes().to_vec();
        c.extend(AR);
        c.extend(0u32.to_be_bytes());
        c.extend(slot.to_be_bytes());
        c.extend(sub.to_be_bytes());
        c.extend([0, 0]);
        c.extend(index.to_be_bytes());
        c.extend(len.to_be_bytes());
        c.extend([0; 24]);
        block(bt, &c)
    }
    pub fn control(bt: u16, cmd: u16) -> Vec<u8> {
        let mut c = vec![0, 0];
        c.extend(AR);
        c.extend([0, 1, 0, 0]);
        c.extend(cmd.to_be_bytes());
        c.extend([0, 0]);
        block(bt, &c)
    }
}

fn profinet_io(cap: &mut Cap) {
    let ctl = PLC_SIEMENS;
    let dev = ET200_A;
    let mut f = UdpFlow::new(cap, ctl, dev, 0xc001, 34964);
    let act = [
        0xd0, 0x1c, 0x2e, 0x11, 0, 0, 0x10, 0, 0x80, 0x00, 0x00, 0x0e, 0x8c, 0x8a, 0x31, 0x07,
    ];
    let mut t = cap.at(ms(100));
    let mut seq = 0;
    let mut rpc_pair =
        |cap: &mut Cap, f: &mut UdpFlow, t: Timestamp, op: u16, req: &[u8], resp: &[u8]| {
            f.send(
                cap,
                t,
                Dir::ToServer,
                &pnio::rpc(0, false, act, seq, op, req),
            );
            cap.truth(t, Truth::msg("profinet_io", op, true));
            let t1 = t.add_nanos(ms(2));
            f.send(
                cap,
                t1,
                Dir::ToClient,
                &pnio::rpc(2, false, act, seq, op, resp),
            );
            cap.truth(t1, Truth::msg("profinet_io", op, false));
            seq += 1;
            t1
        };
    let req = pnio::ndr(&pnio::ar_req("plc-line1", ctl.mac), None);
    let resp = pnio::ndr(&pnio::ar_res(dev.mac), Some(0));
    t = rpc_pair(cap, &mut f, t, 0, &req, &resp);
    let mut w = pnio::rw(0x0008, 1, 1, 1, 0x1f4, 4);
    w.extend([0, 0, 0x13, 0x88]);
    let wr = pnio::rw(0x8008, 1, 1, 1, 0x1f4, 4);
    t = rpc_pair(
        cap,
        &mut f,
        t.add_nanos(ms(20)),
        3,
        &pnio::ndr(&w, None),
        &pnio::ndr(&wr, Some(0)),
    );
    let c = pnio::ndr(&pnio::control(0x0110, 1), None);
    let cr = pnio::ndr(&pnio::control(0x8110, 8), Some(0));
    t = rpc_pair(cap, &mut f, t.add_nanos(ms(20)), 4, &c, &cr);
    // The device signals ApplicationReady to the controller's RPC server.
    let mut back = UdpFlow::new(cap, dev, ctl, 0xc002, 34964);
    let t2 = t.add_nanos(ms(30));
    let dact = [0x77; 16];
    let ar = pnio::ndr(&pnio::control(0x0112, 2), None);
    back.send(cap, t2, Dir::ToServer, &pnio::rpc(0, true, dact, 0, 4, &ar));
    cap.truth(t2, Truth::msg("profinet_io", 4, true));
    let t3 = t2.add_nanos(ms(1));
    let arr = pnio::ndr(&pnio::control(0x8112, 8), Some(0));
    back.send(
        cap,
        t3,
        Dir::ToClient,
        &pnio::rpc(2, true, dact, 0, 4, &arr),
    );
    cap.truth(t3, Truth::msg("profinet_io", 4, false));
    // Cyclic data both ways, every 32 ms, and one alarm.
    let other = |class: u16| Truth {
        proto: "profinet_rt",
        function_code: class,
        kind: "other",
        malformed: false,
    };
    for n in 0..10u16 {
        let tc = t3.add_nanos(ms(32) * (n as i64 + 1));
        for (src, dst, id) in [(ctl.mac, dev.mac, 0xc000u16), (dev.mac, ctl.mac, 0xc001)] {
            let mut fr = id.to_be_bytes().to_vec();
            fr.extend([0x80; 40]);
            fr.extend((n.wrapping_mul(1024)).to_be_bytes());
            fr.extend([0x35, 0x00]);
            cap.push(tc, eth_frame(src, dst, None, 0x8892, &fr));
            cap.truth(tc, other(3));
        }
        if n == 5 {
            let mut fr = 0xfe01u16.to_be_bytes().to_vec();
            fr.extend([
                0x00, 0x01, 0x00, 0x01, 0x11, 0x00, 0x00, 0x01, 0x00, 0x02, 0, 0,
            ]);
            let ta = tc.add_nanos(ms(3));
            cap.push(ta, eth_frame(dev.mac, ctl.mac, None, 0x8892, &fr));
            cap.truth(ta, other(6));
        }
    }
    // Read I&M0 and release the AR.
    let t = t3.add_nanos(secs(1));
    let rd = pnio::ndr(&pnio::rw(0x0009, 2, 0, 1, 0xaff0, 4096), None);
    let mut rdr = pnio::rw(0x8009, 2, 0, 1, 0xaff0, 8);
    rdr.extend([0x00, 0x2a, 0x03, 0x13, 0, 0, 0, 0]);
    let t = rpc_pair(cap, &mut f, t, 2, &rd, &pnio::ndr(&rdr, Some(0)));
    let rel = pnio::ndr(&pnio::control(0x0114, 4), None);
    let relr = pnio::ndr(&pnio::control(0x8114, 8), Some(0));
    rpc_pair(cap, &mut f, t.add_nanos(secs(1)), 1, &rel, &relr);
}

/// A laptop plugged into the Profinet cell (HP OUI).
const ROGUE_PN: Host = Host::v4([0x3c, 0x52, 0x82, 0x4d, 0x19, 0x07], [10, 10, 1, 199], 128);

/// Cyclic RT_CLASS_1 frames between the controller and the ET 200SP, every
/// 32 ms from `t`, `n` cycles from cycle counter `first`.
fn rt_cycles(cap: &mut Cap, t: Timestamp, first: u16, n: u16) {
    let (ctl, dev) = (PLC_SIEMENS.mac, ET200_A.mac);
    for i in 0..n {
        let tc = t.add_nanos(ms(32) * i as i64);
        let cycle = (first + i).wrapping_mul(1024);
        for (src, dst, id) in [(ctl, dev, 0xc000u16), (dev, ctl, 0xc001)] {
            let mut fr = id.to_be_bytes().to_vec();
            fr.extend([0x80; 40]);
            fr.extend(cycle.to_be_bytes());
            fr.extend([0x35, 0x00]);
            cap.push(tc, eth_frame(src, dst, None, 0x8892, &fr));
            cap.truth(tc, rt_truth(3));
        }
    }
}

fn rt_truth(class: u16) -> Truth {
    Truth {
        proto: "profinet_rt",
        function_code: class,
        kind: "other",
        malformed: false,
    }
}

fn profinet_abnormal(cap: &mut Cap) {
    let rogue = ROGUE_PN;
    let t = cap.at(ms(100));
    rt_cycles(cap, t, 0, 5);
    // Reconnaissance: Identify All from the laptop.
    let t = cap.at(ms(300));
    let mut all = Vec::new();
    dcp_block(&mut all, 0xff, 0xff, &[]);
    l2(
        cap,
        t,
        rogue.mac,
        PN_MCAST,
        &dcp(0xfefe, 5, 0, 0x0000_0101, 1, &all),
        dcp_truth(5, 0),
    );
    let devices = [
        (ET200_A, "et200sp-tank1", "ET 200SP", 0x0313u16),
        (ET200_B, "et200sp-tank2", "ET 200SP", 0x0313),
        (DRIVE, "g120-pump3", "SINAMICS G120", 0x0505),
    ];
    for (i, (h, name, kind, id)) in devices.iter().enumerate() {
        let tr = t.add_nanos(ms(3 + i as i64 * 9) + cap.rng.micros(0, 900));
        let b = identify_blocks(name, kind, *id, 1, ip_octets(h));
        l2(
            cap,
            tr,
            h.mac,
            rogue.mac,
            &dcp(0xfeff, 5, 1, 0x0000_0101, 0, &b),
            dcp_truth(5, 1),
        );
    }
    // A Set from the laptop and the device's success response.
    let set = |cap: &mut Cap, t: Timestamp, dst: [u8; 6], xid: u32, b: &[u8], resp: [u8; 2]| {
        l2(
            cap,
            t,
            rogue.mac,
            dst,
            &dcp(0xfefd, 4, 0, xid, 0, b),
            dcp_truth(4, 0),
        );
        let mut r = Vec::new();
        dcp_block(&mut r, 5, 4, &[resp[0], resp[1], 0]);
        let t1 = t.add_nanos(ms(2) + cap.rng.micros(0, 800));
        l2(
            cap,
            t1,
            dst,
            rogue.mac,
            &dcp(0xfefd, 4, 1, xid, 0, &r),
            dcp_truth(4, 1),
        );
    };
    // Rename the ET 200SP (temporary), then move it to another IP address.
    let t = cap.at(secs(1));
    let mut b = Vec::new();
    let mut d = vec![0, 0];
    d.extend(b"rogue-io1");
    dcp_block(&mut b, 2, 2, &d);
    set(cap, t, ET200_A.mac, 0x0000_0102, &b, [2, 2]);
    let mut b = Vec::new();
    dcp_block(
        &mut b,
        1,
        2,
        &[0, 0, 10, 10, 1, 99, 255, 255, 255, 0, 10, 10, 1, 1],
    );
    set(
        cap,
        t.add_nanos(ms(150)),
        ET200_A.mac,
        0x0000_0103,
        &b,
        [1, 2],
    );
    // Reset to Factory of the drive: BlockQualifier 0x0004, mode 2 (reset
    // communication parameters).
    let mut b = Vec::new();
    dcp_block(&mut b, 5, 6, &[0x00, 0x04]);
    set(
        cap,
        t.add_nanos(ms(400)),
        DRIVE.mac,
        0x0000_0104,
        &b,
        [5, 6],
    );

    // IO-CM: the laptop releases the controller's AR on the ET 200SP.
    let mut f = UdpFlow::new(cap, rogue, ET200_A, 0xc0a0, 34964);
    let act = [
        0x6b, 0x1f, 0x90, 0x3a, 0x42, 0x7e, 0x11, 0xef, 0x9a, 0x01, 0x3c, 0x52, 0x82, 0x4d, 0x19,
        0x07,
    ];
    let t = cap.at(secs(2));
    let rel = pnio::ndr(&pnio::control(0x0114, 4), None);
    f.send(cap, t, Dir::ToServer, &pnio::rpc(0, false, act, 0, 1, &rel));
    cap.truth(t, Truth::msg("profinet_io", 1, true));
    let t1 = t.add_nanos(ms(2) + cap.rng.micros(0, 600));
    let relr = pnio::ndr(&pnio::control(0x8114, 8), Some(0));
    f.send(
        cap,
        t1,
        Dir::ToClient,
        &pnio::rpc(2, false, act, 0, 1, &relr),
    );
    cap.truth(t1, Truth::msg("profinet_io", 1, false));
    // The device raises a high-priority alarm to the controller.
    let ta = t1.add_nanos(ms(4));
    let mut fr = 0xfc01u16.to_be_bytes().to_vec();
    fr.extend([
        0x00, 0x01, 0x00, 0x01, 0x11, 0x00, 0x00, 0x01, 0x00, 0x05, 0, 0,
    ]);
    cap.push(
        ta,
        eth_frame(ET200_A.mac, PLC_SIEMENS.mac, None, 0x8892, &fr),
    );
    cap.truth(ta, rt_truth(5));

    // Malformed DCP: a Set whose DCP data length (256) runs past the frame.
    let t = cap.at(secs(3));
    let mut b = Vec::new();
    let mut d = vec![0, 1];
    d.extend(b"plc-line1");
    dcp_block(&mut b, 2, 2, &d);
    let mut p = dcp(0xfefd, 4, 0, 0x0000_0105, 0, &b);
    p[10..12].copy_from_slice(&256u16.to_be_bytes());
    cap.push(t, eth_frame(rogue.mac, PLC_SIEMENS.mac, None, 0x8892, &p));
    cap.truth(t, dcp_truth(4, 0).into_malformed());
    // An Identify response whose name-of-station block announces 200 octets.
    let t = t.add_nanos(ms(500));
    let mut b = identify_blocks("rogue-io1", "ET 200SP", 0x0313, 1, [10, 10, 1, 99]);
    b[2..4].copy_from_slice(&200u16.to_be_bytes());
    cap.push(
        t,
        eth_frame(
            rogue.mac,
            PLC_SIEMENS.mac,
            None,
            0x8892,
            &dcp(0xfeff, 5, 1, 0x0000_0106, 0, &b),
        ),
    );
    cap.truth(t, dcp_truth(5, 1).into_malformed());
    // Malformed IO-CM: a Write request whose IODWriteReqHeader block claims
    // 0x0100 octets: reported as a request and malformed.
    let t = t.add_nanos(ms(500));
    let mut w = pnio::rw(0x0008, 1, 1, 1, 0x1f4, 4);
    w[2..4].copy_from_slice(&0x0100u16.to_be_bytes());
    w.extend([0, 0, 0, 0]);
    f.send(
        cap,
        t,
        Dir::ToServer,
        &pnio::rpc(0, false, act, 1, 3, &pnio::ndr(&w, None)),
    );
    cap.truth(t, Truth::msg("profinet_io", 3, true));
    cap.truth(t, Truth::msg("profinet_io", 3, true).into_malformed());
}
