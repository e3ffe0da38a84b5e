//! EtherNet/IP and CIP scenarios: HMI polling of a ControlLogix, class 1
//! I/O, engineering operations (writes, PLC mode changes, connection
//! management) and malformed PDUs.

use otwatch_core::Timestamp;

use super::Group;
use super::hosts::*;
use crate::builder::{Cap, ms, secs, us};
use crate::net::{BROADCAST, Host};
use crate::transport::{Channel, Dir, TcpConn, UdpFlow};
use crate::{Scenario, Truth};

pub(crate) const SCENARIOS: Group = &[
    (
        Scenario {
            name: "enip_normal",
            description: NORMAL,
        },
        normal,
    ),
    (
        Scenario {
            name: "enip_engineering",
            description: ENGINEERING,
        },
        engineering,
    ),
    (
        Scenario {
            name: "enip_malformed",
            description: MALFORMED,
        },
        malformed,
    ),
];

const NORMAL: &str = "The HMI (10.10.1.10) discovers the EtherNet/IP devices with a ListIdentity \
broadcast on UDP 44818; a Rockwell ControlLogix 1756-L71 (10.10.1.40, firmware 32.11) and a POINT \
I/O adapter 1734-AENT (10.10.1.41) answer. The HMI then opens a TCP session to the ControlLogix: \
RegisterSession, Get Attributes All of the Identity object (SendRRData), a class 3 Forward Open, and \
ten cycles of connected Read Tag requests (SendUnitData) for Tank_Level and \
Program:MainProgram.Pump_Speed, one second apart, before UnRegisterSession. Meanwhile the ControlLogix \
exchanges class 1 I/O with the POINT I/O adapter on UDP 2222 every 100 ms (O->T first, then T->O), \
twenty cycles. I/O datagrams carry function code 0x8002 (no encapsulation header).";

const ENGINEERING: &str = "An engineering workstation (192.168.10.50, routed through the OT \
firewall) works on the ControlLogix (10.10.1.40): RegisterSession, a Large Forward Open, a Set \
Attribute Single on the TCP/IP Interface object (SendRRData), a connected Write Tag of Setpoint, a \
Multiple Service Packet with three embedded tag services (two Write Tag, one Read Tag), an Unconnected \
Send routed to the module in slot 2 wrapping Get Attributes All, an Execute PCCC word range read, the \
PLC mode changes Stop and Start on the controller object and an Identity Reset (service 0x05, the \
controller restarts), then Forward Close and UnRegisterSession. Every request gets its reply.";

const MALFORMED: &str = "The HMI (10.10.1.10) talks to the ControlLogix (10.10.1.40) with five \
malformed PDUs among normal traffic: a RegisterSession whose length field is 2 instead of 4 (a \
message and malformed; the PLC answers with encapsulation status 0x65 invalid length), an undefined \
encapsulation command 0x00AB followed in the same segment by a valid SendRRData (malformed only), a \
Get Attribute Single whose request path announces 5 words but carries 3 bytes (a message and \
malformed; the PLC answers path segment error 0x04), and a SendRRData whose CPF announces 5 items but \
carries 2 (a message and malformed, unanswered). On UDP 44818 a ListIdentity datagram announces 64 \
bytes of data it does not carry (malformed only).";

pub(crate) const PORT: u16 = 44818;
pub(crate) const IO_PORT: u16 = 2222;

/// Rockwell ControlLogix 1756-L71 (Rockwell OUI 00:00:bc).
pub const PLC_LOGIX: Host = Host::v4([0x00, 0x00, 0xbc, 0x5e, 0x31, 0x40], [10, 10, 1, 40], 64);
/// Rockwell POINT I/O 1734-AENT adapter.
pub const IO_POINT: Host = Host::v4([0x00, 0x00, 0xbc, 0x62, 0x08, 0x41], [10, 10, 1, 41], 64);
/// The plant subnet's broadcast address.
const SUBNET_BROADCAST: Host = Host::v4(BROADCAST, [10, 10, 1, 255], 64);

const SESSION: u32 = 0x1102_0100;

// ---- PDU builders ---------------------------------------------------------

fn encap_st(command: u16, session: u32, status: u32, ctx: u64, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(24 + data.len());
    v.extend_from_slice(&command.to_le_bytes());
    v.extend_from_slice(&(data.len() as u16).to_le_bytes());
    v.extend_from_slice(&session.to_le_bytes());
    v.extend_from_slice(&status.to_le_bytes());
    v.extend_from_slice(&ctx.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn encap(command: u16, session: u32, ctx: u64, data: &[u8]) -> Vec<u8> {
    encap_st(command, session, 0, ctx, data)
}

fn items(list: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = (list.len() as u16).to_le_bytes().to_vec();
    for (t, d) in list {
        v.extend_from_slice(&t.to_le_bytes());
        v.extend_from_slice(&(d.len() as u16).to_le_bytes());
        v.extend_from_slice(d);
    }
    v
}

fn rr(cip: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0, 0x0a, 0];
    v.extend(items(&[(0, &[]), (0xb2, cip)]));
    v
}

fn unit(conn: u32, seq: u16, cip: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0, 0, 0];
    let mut d = seq.to_le_bytes().to_vec();
    d.extend_from_slice(cip);
    v.extend(items(&[(0xa1, &conn.to_le_bytes()), (0xb1, &d)]));
    v
}

fn req(service: u8, path: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = vec![service, (path.len() / 2) as u8];
    v.extend_from_slice(path);
    v.extend_from_slice(data);
    v
}

fn resp(service: u8, status: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![service | 0x80, 0, status, 0];
    v.extend_from_slice(data);
    v
}

fn symbol(path: &mut Vec<u8>, name: &str) {
    path.push(0x91);
    path.push(name.len() as u8);
    path.extend_from_slice(name.as_bytes());
    if name.len() % 2 == 1 {
        path.push(0);
    }
}

fn tag(names: &[&str]) -> Vec<u8> {
    let mut p = Vec::new();
    for n in names {
        symbol(&mut p, n);
    }
    p
}

const CM: &[u8] = &[0x20, 0x06, 0x24, 0x01];
const IDENTITY: &[u8] = &[0x20, 0x01, 0x24, 0x01];
const ROUTER: &[u8] = &[0x20, 0x02, 0x24, 0x01];
const CONTROLLER: &[u8] = &[0x20, 0x8e, 0x24, 0x01];

fn forward_open(large: bool, to_id: u32, serial: u16) -> Vec<u8> {
    let mut v = vec![0x0a, 0x0e];
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&to_id.to_le_bytes());
    v.extend_from_slice(&serial.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&0x5a3c_0001u32.to_le_bytes());
    v.extend_from_slice(&[1, 0, 0, 0]);
    // O->T RPI and parameters, then T->O RPI and parameters.
    for _ in 0..2 {
        v.extend_from_slice(&2_000_000u32.to_le_bytes());
        if large {
            v.extend_from_slice(&0x4200_0fa0u32.to_le_bytes());
        } else {
            v.extend_from_slice(&0x43f4u16.to_le_bytes());
        }
    }
    v.push(0xa3);
    v.push(3);
    v.extend_from_slice(&[0x01, 0x00, 0x20, 0x02, 0x24, 0x01]);
    v
}

fn forward_open_reply(ot: u32, to: u32, serial: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&ot.to_le_bytes());
    v.extend_from_slice(&to.to_le_bytes());
    v.extend_from_slice(&serial.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&0x5a3c_0001u32.to_le_bytes());
    v.extend_from_slice(&2_000_000u32.to_le_bytes());
    v.extend_from_slice(&2_000_000u32.to_le_bytes());
    v.extend_from_slice(&[0, 0]);
    v
}

fn identity_attrs(
    vendor: u16,
    dtype: u16,
    code: u16,
    rev: (u8, u8),
    serial: u32,
    name: &str,
) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&vendor.to_le_bytes());
    v.extend_from_slice(&dtype.to_le_bytes());
    v.extend_from_slice(&code.to_le_bytes());
    v.extend_from_slice(&[rev.0, rev.1]);
    v.extend_from_slice(&0x0060u16.to_le_bytes());
    v.extend_from_slice(&serial.to_le_bytes());
    v.push(name.len() as u8);
    v.extend_from_slice(name.as_bytes());
    v
}

fn list_identity_reply(h: &Host, attrs: &[u8]) -> Vec<u8> {
    let ip = match h.ip {
        std::net::IpAddr::V4(a) => a.octets(),
        std::net::IpAddr::V6(_) => [0; 4],
    };
    let mut item = vec![1, 0, 0x00, 0x02, 0xaf, 0x12];
    item.extend_from_slice(&ip);
    item.extend_from_slice(&[0; 8]);
    item.extend_from_slice(attrs);
    item.push(3); // state: operational
    encap(0x63, 0, 0, &items(&[(0x0c, &item)]))
}

fn logix_identity() -> Vec<u8> {
    identity_attrs(
        1,
        0x0e,
        0x00a6,
        (32, 11),
        0x60c2_1a7f,
        "1756-L71/B LOGIX5571",
    )
}

fn point_identity() -> Vec<u8> {
    identity_attrs(1, 0x0c, 0x00a8, (5, 12), 0x40e3_0912, "1734-AENT/B")
}

fn dint(v: i32) -> Vec<u8> {
    let mut d = vec![0xc4, 0x00];
    d.extend_from_slice(&v.to_le_bytes());
    d
}

fn real(v: f32) -> Vec<u8> {
    let mut d = vec![0xca, 0x00];
    d.extend_from_slice(&v.to_le_bytes());
    d
}

fn msp(reqs: &[Vec<u8>]) -> Vec<u8> {
    let mut v = (reqs.len() as u16).to_le_bytes().to_vec();
    let mut off = 2 + 2 * reqs.len();
    for r in reqs {
        v.extend_from_slice(&(off as u16).to_le_bytes());
        off += r.len();
    }
    for r in reqs {
        v.extend_from_slice(r);
    }
    v
}

// ---- conversation helpers --------------------------------------------------

const REQ: Truth = Truth {
    proto: "enip",
    function_code: 0,
    kind: "request",
    malformed: false,
};

fn truth(cap: &mut Cap, t: Timestamp, command: u16, request: bool) {
    cap.truth(t, Truth::msg("enip", command, request));
}

/// An explicit-messaging client on one TCP connection.
struct Client {
    ch: TcpConn,
    ctx: u64,
}

impl Client {
    fn latency(cap: &mut Cap) -> i64 {
        cap.rng.micros(400, 2_500)
    }

    /// Sends a request and its reply; returns the reply time.
    fn exchange(&mut self, cap: &mut Cap, t: Timestamp, req: &[u8], resp: &[u8]) -> Timestamp {
        let cmd = u16::from_le_bytes([req[0], req[1]]);
        self.ch.send(cap, t, Dir::ToServer, req);
        truth(cap, t, cmd, true);
        let t1 = t.add_nanos(Self::latency(cap));
        self.ch.send(cap, t1, Dir::ToClient, resp);
        truth(cap, t1, u16::from_le_bytes([resp[0], resp[1]]), false);
        self.ch.ack(cap, t1.add_nanos(ms(40)), Dir::ToClient);
        t1
    }

    fn next_ctx(&mut self) -> u64 {
        self.ctx += 1;
        self.ctx
    }

    /// SendRRData request/reply with a fresh sender context.
    fn rr(&mut self, cap: &mut Cap, t: Timestamp, req_cip: &[u8], resp_cip: &[u8]) -> Timestamp {
        let c = self.next_ctx();
        let a = encap(0x6f, SESSION, c, &rr(req_cip));
        let b = encap(0x6f, SESSION, c, &rr(resp_cip));
        self.exchange(cap, t, &a, &b)
    }

    fn register(&mut self, cap: &mut Cap, t: Timestamp) -> Timestamp {
        let c = self.next_ctx();
        let a = encap(0x65, 0, c, &[1, 0, 0, 0]);
        let b = encap(0x65, SESSION, c, &[1, 0, 0, 0]);
        self.exchange(cap, t, &a, &b)
    }

    fn unregister(&mut self, cap: &mut Cap, t: Timestamp) {
        self.ch
            .send(cap, t, Dir::ToServer, &encap(0x66, SESSION, 0, &[]));
        truth(cap, t, 0x66, true);
    }
}

/// A class 3 connection: SendUnitData with the O->T id one way and the T->O id back.
struct Connected {
    ot: u32,
    to: u32,
    seq: u16,
}

impl Connected {
    fn exchange(
        &mut self,
        c: &mut Client,
        cap: &mut Cap,
        t: Timestamp,
        req_cip: &[u8],
        resp_cip: &[u8],
    ) -> Timestamp {
        self.seq = self.seq.wrapping_add(1);
        let a = encap(0x70, SESSION, 0, &unit(self.ot, self.seq, req_cip));
        let b = encap(0x70, SESSION, 0, &unit(self.to, self.seq, resp_cip));
        c.exchange(cap, t, &a, &b)
    }
}

// ---- scenarios --------------------------------------------------------------

fn normal(cap: &mut Cap) {
    // Discovery: ListIdentity broadcast, two unicast replies.
    let port = cap.rng.ephemeral_port();
    let mut bcast = UdpFlow::new(cap, HMI, SUBNET_BROADCAST, port, PORT);
    let t = cap.at(ms(50));
    bcast.send(cap, t, Dir::ToServer, &encap(0x63, 0, 0, &[]));
    truth(cap, t, 0x63, true);
    for (i, (dev, attrs)) in [(PLC_LOGIX, logix_identity()), (IO_POINT, point_identity())]
        .into_iter()
        .enumerate()
    {
        let mut f = UdpFlow::new(cap, HMI, dev, port, PORT);
        let t1 = t.add_nanos(ms(2 + 3 * i as i64) + cap.rng.micros(0, 900));
        f.send(cap, t1, Dir::ToClient, &list_identity_reply(&dev, &attrs));
        truth(cap, t1, 0x63, false);
    }

    // Explicit messaging session with the ControlLogix.
    let conn = TcpConn::new(cap, HMI, PLC_LOGIX, PORT);
    let mut c = Client {
        ch: conn,
        ctx: 0x4854_4d49_0000_0000,
    };
    let t = c.ch.handshake(cap, cap.at(ms(300)));
    let t = c.register(cap, t.add_nanos(us(300)));
    let t = c.rr(
        cap,
        t.add_nanos(ms(5)),
        &req(0x01, IDENTITY, &[]),
        &resp(0x01, 0, &logix_identity()),
    );
    let to_id = 0x2000_0000 | cap.rng.next_u16() as u32;
    let ot_id = 0xff80_0000 | cap.rng.next_u16() as u32;
    let serial = cap.rng.next_u16();
    c.rr(
        cap,
        t.add_nanos(ms(5)),
        &req(0x54, CM, &forward_open(false, to_id, serial)),
        &resp(0x54, 0, &forward_open_reply(ot_id, to_id, serial)),
    );
    let mut k = Connected {
        ot: ot_id,
        to: to_id,
        seq: 0,
    };
    let level_tag = tag(&["Tank_Level"]);
    let pump_tag = tag(&["Program:MainProgram", "Pump_Speed"]);
    for n in 1..=10 {
        let t = cap.at_jittered(secs(n), 2_000);
        let level = 5_000 + cap.rng.range(0, 400) as i32;
        let t = k.exchange(
            &mut c,
            cap,
            t,
            &req(0x4c, &level_tag, &[1, 0]),
            &resp(0x4c, 0, &dint(level)),
        );
        let speed = 1_450.0 + cap.rng.range(0, 30) as f32;
        k.exchange(
            &mut c,
            cap,
            t.add_nanos(us(400)),
            &req(0x4c, &pump_tag, &[1, 0]),
            &resp(0x4c, 0, &real(speed)),
        );
    }
    let t = cap.at(secs(11));
    c.unregister(cap, t);
    c.ch.close(cap, t.add_nanos(ms(1)));

    // Class 1 I/O between the ControlLogix (originator) and the POINT I/O adapter.
    let mut io = UdpFlow::new(cap, PLC_LOGIX, IO_POINT, IO_PORT, IO_PORT);
    let (ot, to) = (0x0047_1a01u32, 0x0047_1a02u32);
    let (mut seq_ot, mut seq_to) = (cap.rng.next_u16() as u32, cap.rng.next_u16() as u32);
    for n in 0..20i64 {
        let t = cap.at(ms(400) + ms(100) * n);
        seq_ot += 1;
        // O->T: CIP sequence count, run/idle header (run), 4 output bytes.
        let mut d = (seq_ot as u16).to_le_bytes().to_vec();
        d.extend_from_slice(&[1, 0, 0, 0]);
        d.extend_from_slice(&[(n as u8) & 0x0f, 0, 0, 0]);
        let mut s = Vec::new();
        s.extend_from_slice(&ot.to_le_bytes());
        s.extend_from_slice(&seq_ot.to_le_bytes());
        io.send(cap, t, Dir::ToServer, &items(&[(0x8002, &s), (0x00b1, &d)]));
        truth(cap, t, 0x8002, true);
        let t1 = t.add_nanos(cap.rng.micros(800, 3_000));
        seq_to += 1;
        let mut d = (seq_to as u16).to_le_bytes().to_vec();
        d.extend_from_slice(&[cap.rng.next_u16() as u8 & 0x3f, 0, 0, 0]);
        let mut s = Vec::new();
        s.extend_from_slice(&to.to_le_bytes());
        s.extend_from_slice(&seq_to.to_le_bytes());
        io.send(
            cap,
            t1,
            Dir::ToClient,
            &items(&[(0x8002, &s), (0x00b1, &d)]),
        );
        truth(cap, t1, 0x8002, false);
    }
}

fn engineering(cap: &mut Cap) {
    let conn = TcpConn::new(cap, EWS, PLC_LOGIX, PORT);
    let mut c = Client {
        ch: conn,
        ctx: 0x5354_5544_494f_0000,
    };
    let mut t = c.ch.handshake(cap, cap.at(ms(100)));
    let step = |cap: &mut Cap, t: Timestamp| t.add_nanos(cap.rng.micros(500_000, 2_000_000));
    t = c.register(cap, t.add_nanos(us(300)));
    let to_id = 0x3000_0000 | cap.rng.next_u16() as u32;
    let ot_id = 0xfe00_0000 | cap.rng.next_u16() as u32;
    let serial = cap.rng.next_u16();
    t = step(cap, t);
    t = c.rr(
        cap,
        t,
        &req(0x5b, CM, &forward_open(true, to_id, serial)),
        &resp(0x5b, 0, &forward_open_reply(ot_id, to_id, serial)),
    );
    let mut k = Connected {
        ot: ot_id,
        to: to_id,
        seq: 0x100,
    };
    // Set Attribute Single: TCP/IP Interface, host name (attribute 6).
    t = step(cap, t);
    let mut name = vec![8, 0];
    name.extend_from_slice(b"PLC-LINE");
    t = c.rr(
        cap,
        t,
        &req(0x10, &[0x20, 0xf5, 0x24, 0x01, 0x30, 0x06], &name),
        &resp(0x10, 0, &[]),
    );
    // Write Tag: Setpoint := 72.5.
    t = step(cap, t);
    let mut w = vec![0xca, 0x00, 0x01, 0x00];
    w.extend_from_slice(&72.5f32.to_le_bytes());
    t = k.exchange(
        &mut c,
        cap,
        t,
        &req(0x4d, &tag(&["Setpoint"]), &w),
        &resp(0x4d, 0, &[]),
    );
    // Multiple Service Packet: two writes and a read.
    t = step(cap, t);
    let mut w1 = vec![0xc1, 0x00, 0x01, 0x00, 0x01];
    w1.push(0);
    let mut w2 = vec![0xc4, 0x00, 0x01, 0x00];
    w2.extend_from_slice(&1200i32.to_le_bytes());
    let inner = [
        req(0x4d, &tag(&["Pump_Enable"]), &w1),
        req(0x4d, &tag(&["Batch_Size"]), &w2),
        req(0x4c, &tag(&["Batch_State"]), &[1, 0]),
    ];
    let replies = [
        resp(0x4d, 0, &[]),
        resp(0x4d, 0, &[]),
        resp(0x4c, 0, &dint(2)),
    ];
    t = k.exchange(
        &mut c,
        cap,
        t,
        &req(0x0a, ROUTER, &msp(&inner)),
        &resp(0x0a, 0, &msp(&replies)),
    );
    // Unconnected Send to the module in slot 2: Get Attributes All of its identity.
    t = step(cap, t);
    let inner = req(0x01, IDENTITY, &[]);
    let mut us_data = vec![0x07, 0xe9];
    us_data.extend_from_slice(&(inner.len() as u16).to_le_bytes());
    us_data.extend_from_slice(&inner);
    us_data.extend_from_slice(&[1, 0, 0x01, 0x02]);
    let module = identity_attrs(1, 0x0c, 0x00c8, (11, 2), 0x00d1_77e3, "1756-EN2T/D");
    t = c.rr(cap, t, &req(0x52, CM, &us_data), &resp(0x01, 0, &module));
    // Execute PCCC: protected typed logical read of N7:0, 4 bytes.
    t = step(cap, t);
    let mut pccc = vec![7, 1, 0, 0x01, 0x00, 0x3c, 0x5a];
    pccc.extend_from_slice(&[0x0f, 0x00, 0x2a, 0x00, 0xa2, 0x04, 0x07, 0x89, 0x00, 0x00]);
    let mut pr = vec![7, 1, 0, 0x01, 0x00, 0x3c, 0x5a];
    pr.extend_from_slice(&[0x4f, 0x00, 0x2a, 0x00, 0x10, 0x00, 0x20, 0x00]);
    t = c.rr(
        cap,
        t,
        &req(0x4b, &[0x20, 0x67, 0x24, 0x01], &pccc),
        &resp(0x4b, 0, &pr),
    );
    // PLC mode changes: Stop, Start, then an Identity Reset (restart).
    t = step(cap, t);
    t = c.rr(cap, t, &req(0x07, CONTROLLER, &[]), &resp(0x07, 0, &[]));
    t = step(cap, t);
    t = c.rr(cap, t, &req(0x06, CONTROLLER, &[]), &resp(0x06, 0, &[]));
    t = step(cap, t);
    t = c.rr(cap, t, &req(0x05, IDENTITY, &[0]), &resp(0x05, 0, &[]));
    // Forward Close.
    t = step(cap, t);
    let mut fc = vec![0x0a, 0x0e];
    fc.extend_from_slice(&serial.to_le_bytes());
    fc.extend_from_slice(&1u16.to_le_bytes());
    fc.extend_from_slice(&0x5a3c_0001u32.to_le_bytes());
    fc.extend_from_slice(&[3, 0, 0x01, 0x00, 0x20, 0x02, 0x24, 0x01]);
    let mut fcr = Vec::new();
    fcr.extend_from_slice(&serial.to_le_bytes());
    fcr.extend_from_slice(&1u16.to_le_bytes());
    fcr.extend_from_slice(&0x5a3c_0001u32.to_le_bytes());
    fcr.extend_from_slice(&[0, 0]);
    t = c.rr(cap, t, &req(0x4e, CM, &fc), &resp(0x4e, 0, &fcr));
    t = step(cap, t);
    c.unregister(cap, t);
    c.ch.close(cap, t.add_nanos(ms(1)));
}

fn malformed(cap: &mut Cap) {
    let conn = TcpConn::new(cap, HMI, PLC_LOGIX, PORT);
    let mut c = Client {
        ch: conn,
        ctx: 0x4d41_4c46_0000_0000,
    };
    let t = c.ch.handshake(cap, cap.at(ms(100)));
    // RegisterSession with a length of 2: the PLC answers "invalid length".
    let ctx = c.next_ctx();
    let t = t.add_nanos(us(300));
    c.ch.send(cap, t, Dir::ToServer, &encap(0x65, 0, ctx, &[1, 0]));
    truth(cap, t, 0x65, true);
    cap.truth(t, Truth::msg("enip", 0x65, true).into_malformed());
    let t = t.add_nanos(Client::latency(cap));
    c.ch.send(
        cap,
        t,
        Dir::ToClient,
        &encap_st(0x65, 0, 0x65, ctx, &[1, 0, 0, 0]),
    );
    truth(cap, t, 0x65, false);
    // A proper RegisterSession.
    let t = c.register(cap, t.add_nanos(ms(10)));
    // An undefined command, then a valid request in the same segment.
    let t = t.add_nanos(ms(500));
    let ctx = c.next_ctx();
    let mut seg = encap(0x00ab, SESSION, 0, &[0xde, 0xad, 0xbe, 0xef]);
    let name_attr = [0x20, 0x01, 0x24, 0x01, 0x30, 0x07];
    seg.extend(encap(0x6f, SESSION, ctx, &rr(&req(0x0e, &name_attr, &[]))));
    c.ch.send(cap, t, Dir::ToServer, &seg);
    cap.truth(
        t,
        Truth {
            function_code: 0xab,
            ..REQ
        }
        .into_malformed(),
    );
    truth(cap, t, 0x6f, true);
    let t = t.add_nanos(Client::latency(cap));
    let mut name = vec![20];
    name.extend_from_slice(b"1756-L71/B LOGIX5571");
    c.ch.send(
        cap,
        t,
        Dir::ToClient,
        &encap(0x6f, SESSION, ctx, &rr(&resp(0x0e, 0, &name))),
    );
    truth(cap, t, 0x6f, false);
    // A request path of 5 words carrying 3 bytes.
    let t = t.add_nanos(ms(500));
    let bad = [0x0e, 0x05, 0x20, 0x01, 0x24];
    cap.truth(t, Truth::msg("enip", 0x6f, true).into_malformed());
    let t = c.rr(cap, t, &bad, &resp(0x0e, 0x04, &[]));
    // A CPF announcing 5 items, carrying 2: unanswered.
    let t = t.add_nanos(ms(500));
    let ctx = c.next_ctx();
    let mut d = rr(&req(0x01, IDENTITY, &[]));
    d[6] = 5;
    c.ch.send(cap, t, Dir::ToServer, &encap(0x6f, SESSION, ctx, &d));
    truth(cap, t, 0x6f, true);
    cap.truth(t, Truth::msg("enip", 0x6f, true).into_malformed());
    c.ch.ack(cap, t.add_nanos(ms(40)), Dir::ToServer);
    let t = t.add_nanos(ms(500));
    c.unregister(cap, t);
    c.ch.close(cap, t.add_nanos(ms(1)));
    // UDP ListIdentity whose length field claims 64 bytes of data.
    let port = cap.rng.ephemeral_port();
    let mut f = UdpFlow::new(cap, HMI, PLC_LOGIX, port, PORT);
    let mut p = encap(0x63, 0, 0, &[]);
    p[2] = 64;
    let t = cap.at(secs(3));
    f.send(cap, t, Dir::ToServer, &p);
    cap.truth(t, Truth::msg("enip", 0x63, true).into_malformed());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_are_deterministic_and_have_truth() {
        for (s, _) in SCENARIOS {
            let a = crate::generate(s.name, 7).unwrap();
            let b = crate::generate(s.name, 7).unwrap();
            assert_eq!(a.packets, b.packets, "{}", s.name);
            assert!(a.message_count("enip") > 5, "{}", s.name);
        }
        let m = crate::generate("enip_malformed", 1).unwrap();
        assert_eq!(m.malformed_count("enip"), 5);
    }
}
