//! BACnet/IP, IEC 60870-5-104 and Omron FINS scenarios.

use otwatch_core::Timestamp;

use super::Group;
use super::hosts::*;
use crate::builder::{Cap, ms, secs};
use crate::net::Host;
use crate::transport::{Channel, Dir, TcpConn, UdpFlow};
use crate::{Scenario, Truth};

// ------------------------------------------------------------------ hosts

/// BMS front end (building management workstation, BACnet client).
const BMS: Host = Host::v4([0x02, 0x42, 0x4d, 0x53, 0x00, 0x10], [10, 10, 2, 10], 128);
/// BACnet AHU controller, device 2101, vendor 5 (Johnson Controls).
const AHU: Host = Host::v4([0x02, 0x42, 0x4d, 0x53, 0x00, 0x21], [10, 10, 2, 21], 64);
/// BACnet VAV controller, device 2201, vendor 7 (Siemens).
const VAV: Host = Host::v4([0x00, 0x0e, 0x8c, 0x42, 0x22, 0x01], [10, 10, 2, 22], 64);
/// The BMS subnet broadcast.
const BCAST: Host = Host::v4([0xff; 6], [10, 10, 2, 255], 64);
/// Substation RTU (IEC 60870-5-104 controlled station).
const RTU104: Host = Host::v4([0x00, 0x0e, 0x8c, 0x10, 0x44, 0x40], [10, 10, 3, 40], 64);
/// Omron CJ2M PLC (FINS).
const PLC_OMRON: Host = Host::v4([0x00, 0x00, 0x0a, 0x51, 0x20, 0x50], [10, 10, 1, 50], 64);

const BACNET_PORT: u16 = 47808;
const IEC104_PORT: u16 = 2404;
const FINS_PORT: u16 = 9600;

// ------------------------------------------------------------------ BACnet encoding

mod bac {
    pub fn bvlc(function: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![0x81, function];
        v.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }
    /// Original-Unicast-NPDU (expecting reply for confirmed requests).
    pub fn unicast(apdu: &[u8]) -> Vec<u8> {
        let ctl = if apdu.first().is_some_and(|b| b >> 4 == 0) {
            0x04
        } else {
            0x00
        };
        let mut n = vec![0x01, ctl];
        n.extend_from_slice(apdu);
        bvlc(0x0a, &n)
    }
    pub fn broadcast(apdu: &[u8]) -> Vec<u8> {
        let mut n = vec![0x01, 0x00];
        n.extend_from_slice(apdu);
        bvlc(0x0b, &n)
    }
    fn uint_bytes(x: u32) -> Vec<u8> {
        let b = x.to_be_bytes();
        let skip = b.iter().position(|&c| c != 0).unwrap_or(3);
        b[skip..].to_vec()
    }
    pub fn ctx_uint(n: u8, x: u32) -> Vec<u8> {
        let d = uint_bytes(x);
        let mut v = vec![(n << 4) | 0x08 | d.len() as u8];
        v.extend(d);
        v
    }
    pub fn ctx_obj(n: u8, t: u16, inst: u32) -> Vec<u8> {
        let mut v = vec![(n << 4) | 0x08 | 4];
        v.extend((((t as u32) << 22) | inst).to_be_bytes());
        v
    }
    pub fn open(n: u8) -> u8 {
        (n << 4) | 0x0e
    }
    pub fn close(n: u8) -> u8 {
        (n << 4) | 0x0f
    }
    pub fn app_obj(t: u16, inst: u32) -> Vec<u8> {
        let mut v = vec![0xc4];
        v.extend((((t as u32) << 22) | inst).to_be_bytes());
        v
    }
    pub fn app_uint(x: u32) -> Vec<u8> {
        let d = uint_bytes(x);
        let mut v = vec![0x20 | d.len() as u8];
        v.extend(d);
        v
    }
    pub fn app_enum(x: u8) -> Vec<u8> {
        vec![0x91, x]
    }
    pub fn app_real(x: f32) -> Vec<u8> {
        let mut v = vec![0x44];
        v.extend(x.to_be_bytes());
        v
    }
    pub fn app_str(s: &str) -> Vec<u8> {
        let mut v = vec![0x75, (s.len() + 1) as u8, 0];
        v.extend_from_slice(s.as_bytes());
        v
    }
    pub fn confirmed(invoke: u8, service: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![0x02, 0x05, invoke, service];
        v.extend_from_slice(data);
        v
    }
    pub fn unconfirmed(service: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![0x10, service];
        v.extend_from_slice(data);
        v
    }
    pub fn complex_ack(invoke: u8, service: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![0x30, invoke, service];
        v.extend_from_slice(data);
        v
    }
    pub fn simple_ack(invoke: u8, service: u8) -> Vec<u8> {
        vec![0x20, invoke, service]
    }
    /// ReadProperty request data.
    pub fn rp(t: u16, inst: u32, prop: u32) -> Vec<u8> {
        let mut v = ctx_obj(0, t, inst);
        v.extend(ctx_uint(1, prop));
        v
    }
    /// ReadProperty ack data with one application-tagged value.
    pub fn rp_ack(t: u16, inst: u32, prop: u32, value: &[u8]) -> Vec<u8> {
        let mut v = rp(t, inst, prop);
        v.push(open(3));
        v.extend_from_slice(value);
        v.push(close(3));
        v
    }
}

/// BACnet message truth: `code` = pdu type × 256 + service.
fn bt(cap: &mut Cap, t: Timestamp, code: u16) {
    let request = code >> 8 <= 1;
    cap.truth(t, Truth::msg("bacnet", code, request));
}

/// Sends one BACnet/IP datagram carrying `apdu` and records its truth.
fn bsend(cap: &mut Cap, ch: &mut UdpFlow, t: Timestamp, dir: Dir, dgram: &[u8], code: u16) {
    ch.send(cap, t, dir, dgram);
    bt(cap, t, code);
}

/// A confirmed request answered by `answer` (complete APDU) after a few ms.
#[allow(clippy::too_many_arguments)]
fn exchange(
    cap: &mut Cap,
    ch: &mut UdpFlow,
    t: Timestamp,
    req: Vec<u8>,
    req_code: u16,
    answer: Vec<u8>,
    ans_code: u16,
) -> Timestamp {
    bsend(cap, ch, t, Dir::ToServer, &bac::unicast(&req), req_code);
    let t2 = t.add_nanos(ms(3) + cap.rng.micros(100, 900));
    bsend(cap, ch, t2, Dir::ToClient, &bac::unicast(&answer), ans_code);
    t2
}

fn i_am(device: u32, vendor: u32) -> Vec<u8> {
    let mut d = bac::app_obj(8, device);
    d.extend(bac::app_uint(1476));
    d.extend(bac::app_enum(0));
    d.extend(bac::app_uint(vendor));
    bac::unconfirmed(0, &d)
}

const BACNET_NORMAL: &str = "The building management front end (10.10.2.10) discovers the BACnet/IP \
controllers on 10.10.2.0/24 with a broadcast Who-Is; the AHU controller (10.10.2.21, device 2101, \
vendor 5 Johnson Controls) and the VAV controller (10.10.2.22, device 2201, vendor 7 Siemens) answer \
with broadcast I-Am. The front end reads each device's identity with ReadPropertyMultiple (object-name, \
vendor-name, model-name, firmware-revision, application-software-version), subscribes to COV on the \
supply air temperature (SubscribeCOV, answered by SimpleACK), then polls present values with \
ReadProperty every 5 seconds; the AHU sends unconfirmed COV notifications when the temperature \
changes, and the front end synchronises the controllers' clocks with a broadcast TimeSynchronization.";

fn bacnet_normal(cap: &mut Cap) {
    let mut who = UdpFlow::new(cap, BMS, BCAST, BACNET_PORT, BACNET_PORT);
    let t = cap.at(ms(100));
    let mut wd = bac::ctx_uint(0, 0);
    wd.extend(bac::ctx_uint(1, 4_194_303));
    bsend(
        cap,
        &mut who,
        t,
        Dir::ToServer,
        &bac::broadcast(&bac::unconfirmed(8, &wd)),
        256 + 8,
    );
    let devices = [
        (
            AHU,
            2101u32,
            5u32,
            "AHU-1 Controller",
            "Johnson Controls",
            "FX-PCG2611",
            "5.2.1",
            "AHU-App 3.0",
        ),
        (
            VAV,
            2201,
            7,
            "VAV-3-12",
            "Siemens Building Technologies",
            "PXC Compact 16",
            "3.3.14",
            "VAV-App 2.1",
        ),
    ];
    let mut flows = Vec::new();
    for (k, (host, dev, vendor, name, vname, model, fw, app)) in devices.into_iter().enumerate() {
        let mut b = UdpFlow::new(cap, host, BCAST, BACNET_PORT, BACNET_PORT);
        let t = cap.at(ms(110 + 7 * k as i64));
        bsend(
            cap,
            &mut b,
            t,
            Dir::ToServer,
            &bac::broadcast(&i_am(dev, vendor)),
            256,
        );
        let mut ch = UdpFlow::new(cap, BMS, host, BACNET_PORT, BACNET_PORT);
        // Identity via ReadPropertyMultiple.
        let props = [77u32, 121, 70, 44, 12];
        let mut req = bac::ctx_obj(0, 8, dev);
        req.push(bac::open(1));
        for p in props {
            req.extend(bac::ctx_uint(0, p));
        }
        req.push(bac::close(1));
        let mut ack = bac::ctx_obj(0, 8, dev);
        ack.push(bac::open(1));
        for (p, v) in props.iter().zip([name, vname, model, fw, app]) {
            ack.extend(bac::ctx_uint(2, *p));
            ack.push(bac::open(4));
            ack.extend(bac::app_str(v));
            ack.push(bac::close(4));
        }
        ack.push(bac::close(1));
        let t = cap.at(ms(400 + 50 * k as i64));
        let t = exchange(
            cap,
            &mut ch,
            t,
            bac::confirmed(1, 14, &req),
            14,
            bac::complex_ack(1, 14, &ack),
            3 * 256 + 14,
        );
        // SubscribeCOV on analog-input 1 (supply air temperature), 10 minutes.
        let mut sub = bac::ctx_uint(0, 40 + k as u32);
        sub.extend(bac::ctx_obj(1, 0, 1));
        sub.extend([0x29, 0x00]);
        sub.extend(bac::ctx_uint(3, 600));
        let t = t.add_nanos(ms(20));
        exchange(
            cap,
            &mut ch,
            t,
            bac::confirmed(2, 5, &sub),
            5,
            bac::simple_ack(2, 5),
            2 * 256 + 5,
        );
        flows.push((ch, b, dev, 3u8));
    }
    for n in 1..=6i64 {
        for (k, (ch, b, dev, invoke)) in flows.iter_mut().enumerate() {
            let t = cap.at_jittered(secs(5 * n) + ms(30 * k as i64), 2_000);
            for (obj, prop, val) in [
                (0u16, 85u32, 21.5f32 + n as f32 * 0.1),
                (1, 85, 35.0),
                (2, 85, 22.0),
            ] {
                let id = *invoke;
                *invoke = invoke.wrapping_add(1);
                let req = bac::confirmed(id, 12, &bac::rp(obj, 1, prop));
                let ack = bac::complex_ack(id, 12, &bac::rp_ack(obj, 1, prop, &bac::app_real(val)));
                let at = t.add_nanos(ms(10) * obj as i64);
                exchange(cap, ch, at, req, 12, ack, 3 * 256 + 12);
            }
            if n % 2 == 0 && k == 0 {
                // COV notification from the AHU (unconfirmed, to the subscriber).
                let mut d = bac::ctx_uint(0, 40);
                d.extend(bac::ctx_obj(1, 8, *dev));
                d.extend(bac::ctx_obj(2, 0, 1));
                d.extend(bac::ctx_uint(3, 600 - 5 * n as u32));
                d.push(bac::open(4));
                d.extend(bac::ctx_uint(0, 85));
                d.push(bac::open(2));
                d.extend(bac::app_real(21.5 + n as f32 * 0.1));
                d.push(bac::close(2));
                d.extend(bac::ctx_uint(0, 111));
                d.push(bac::open(2));
                d.extend([0x82, 0x04, 0x00]);
                d.push(bac::close(2));
                d.push(bac::close(4));
                let at = t.add_nanos(ms(200));
                bsend(
                    cap,
                    ch,
                    at,
                    Dir::ToClient,
                    &bac::unicast(&bac::unconfirmed(2, &d)),
                    256 + 2,
                );
            }
            let _ = b;
        }
    }
    // Time synchronization broadcast: 2024-06-10 (Monday) 08:00:00.00.
    let t = cap.at(secs(31));
    let ts = [0xa4, 124, 6, 10, 1, 0xb4, 8, 0, 0, 0];
    bsend(
        cap,
        &mut who,
        t,
        Dir::ToServer,
        &bac::broadcast(&bac::unconfirmed(6, &ts)),
        256 + 6,
    );
}

const BACNET_ABNORMAL: &str = "An engineering laptop on the BMS network (10.10.2.10) takes control of \
the AHU controller (10.10.2.21, device 2101): it overrides the supply fan and the heating valve with \
WriteProperty to binary-output 1 and analog-output 2 at priority 1 (manual life safety), writes two \
outputs at once with WritePropertyMultiple, reads the object list with a segmented ReadPropertyMultiple \
(the controller answers in 3 segments, each acknowledged with a SegmentACK), disables the controller's \
communication for 60 minutes with DeviceCommunicationControl (with a password) and cold-starts it with \
ReinitializeDevice, which the controller first refuses with an Error (security / password-failure) and \
accepts on the second try. It also sends one datagram with a truncated APDU header and one with a BVLC \
type of 0x82, which the controller ignores (2 malformed PDUs).";

fn bacnet_abnormal(cap: &mut Cap) {
    let mut ch = UdpFlow::new(cap, BMS, AHU, BACNET_PORT, BACNET_PORT);
    let mut t = cap.at(ms(200));
    // WriteProperty: binary-output 1 present-value active, priority 1.
    let mut wp = bac::ctx_obj(0, 4, 1);
    wp.extend(bac::ctx_uint(1, 85));
    wp.push(bac::open(3));
    wp.extend(bac::app_enum(1));
    wp.push(bac::close(3));
    wp.extend(bac::ctx_uint(4, 1));
    t = exchange(
        cap,
        &mut ch,
        t,
        bac::confirmed(10, 15, &wp),
        15,
        bac::simple_ack(10, 15),
        2 * 256 + 15,
    );
    // WriteProperty: analog-output 2 = 100.0 %, priority 1.
    let mut wp = bac::ctx_obj(0, 1, 2);
    wp.extend(bac::ctx_uint(1, 85));
    wp.push(bac::open(3));
    wp.extend(bac::app_real(100.0));
    wp.push(bac::close(3));
    wp.extend(bac::ctx_uint(4, 1));
    t = t.add_nanos(ms(500));
    t = exchange(
        cap,
        &mut ch,
        t,
        bac::confirmed(11, 15, &wp),
        15,
        bac::simple_ack(11, 15),
        2 * 256 + 15,
    );
    // WritePropertyMultiple: binary-output 3 and 4.
    let mut wpm = Vec::new();
    for inst in [3u32, 4] {
        wpm.extend(bac::ctx_obj(0, 4, inst));
        wpm.push(bac::open(1));
        wpm.extend(bac::ctx_uint(0, 85));
        wpm.push(bac::open(2));
        wpm.extend(bac::app_enum(0));
        wpm.push(bac::close(2));
        wpm.extend(bac::ctx_uint(3, 1));
        wpm.push(bac::close(1));
    }
    t = t.add_nanos(ms(500));
    t = exchange(
        cap,
        &mut ch,
        t,
        bac::confirmed(12, 16, &wpm),
        16,
        bac::simple_ack(12, 16),
        2 * 256 + 16,
    );
    // Segmented ReadPropertyMultiple of the object list.
    let mut req = bac::ctx_obj(0, 8, 2101);
    req.push(bac::open(1));
    req.extend(bac::ctx_uint(0, 76));
    req.push(bac::close(1));
    t = t.add_nanos(ms(800));
    bsend(
        cap,
        &mut ch,
        t,
        Dir::ToServer,
        &bac::unicast(&bac::confirmed(13, 14, &req)),
        14,
    );
    let mut ack = bac::ctx_obj(0, 8, 2101);
    ack.push(bac::open(1));
    ack.extend(bac::ctx_uint(2, 76));
    ack.push(bac::open(4));
    for i in 0..300u32 {
        ack.extend(bac::app_obj((i % 5) as u16, i));
    }
    ack.push(bac::close(4));
    ack.push(bac::close(1));
    let chunks: Vec<&[u8]> = ack.chunks(600).collect();
    let last = chunks.len() - 1;
    for (seq, part) in chunks.iter().enumerate() {
        let more = if seq < last { 0x04 } else { 0 };
        let mut a = vec![0x38 | more, 13, seq as u8, 4, 14];
        a.extend_from_slice(part);
        t = t.add_nanos(ms(4));
        ch.send(cap, t, Dir::ToClient, &bac::unicast(&a));
        if seq == last {
            bt(cap, t, 3 * 256 + 14);
        }
        // The client acknowledges every segment.
        t = t.add_nanos(ms(1));
        let sa = bac::unicast(&[0x40, 13, seq as u8, 4]);
        bsend(cap, &mut ch, t, Dir::ToServer, &sa, 4 * 256);
    }
    // DeviceCommunicationControl: disable for 60 minutes, with a password.
    let mut dcc = bac::ctx_uint(0, 60);
    dcc.extend(bac::ctx_uint(1, 1));
    dcc.extend([0x2d, 0x09, 0x00]);
    dcc.extend(b"admin123");
    t = t.add_nanos(secs(2));
    t = exchange(
        cap,
        &mut ch,
        t,
        bac::confirmed(14, 17, &dcc),
        17,
        bac::simple_ack(14, 17),
        2 * 256 + 17,
    );
    // ReinitializeDevice coldstart: wrong password first (Error), then accepted.
    for (invoke, pw, ok) in [(15u8, &b"guess"[..], false), (16, &b"admin123"[..], true)] {
        let mut r = bac::ctx_uint(0, 0);
        r.extend([0x1d, (pw.len() + 1) as u8, 0x00]);
        r.extend_from_slice(pw);
        let answer = if ok {
            bac::simple_ack(invoke, 20)
        } else {
            vec![0x50, invoke, 20, 0x91, 0x04, 0x91, 0x1a]
        };
        let code = if ok { 2 * 256 + 20 } else { 5 * 256 + 20 };
        t = t.add_nanos(secs(1));
        t = exchange(
            cap,
            &mut ch,
            t,
            bac::confirmed(invoke, 20, &r),
            20,
            answer,
            code,
        );
    }
    // Malformed: truncated confirmed request header, and a BVLC type 0x82.
    t = t.add_nanos(secs(1));
    ch.send(cap, t, Dir::ToServer, &bac::unicast(&[0x02, 0x05]));
    cap.truth(t, Truth::msg("bacnet", 0, true).into_malformed());
    t = t.add_nanos(ms(300));
    let mut bad = bac::unicast(&bac::confirmed(17, 12, &bac::rp(8, 2101, 77)));
    bad[0] = 0x82;
    ch.send(cap, t, Dir::ToServer, &bad);
    cap.truth(t, Truth::msg("bacnet", 0, true).into_malformed());
}

// ------------------------------------------------------------------ IEC 60870-5-104

/// An IEC-104 connection with its send/receive sequence numbers per side.
struct Link104 {
    conn: TcpConn,
    /// [client, server] next send sequence numbers.
    ns: [u16; 2],
}

impl Link104 {
    fn idx(dir: Dir) -> usize {
        match dir {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }

    fn u(&mut self, cap: &mut Cap, t: Timestamp, dir: Dir, c: u8) {
        self.conn.send(cap, t, dir, &[0x68, 4, c, 0, 0, 0]);
        cap.truth(
            t,
            Truth::msg("iec104", 512 + c as u16, dir == Dir::ToServer),
        );
    }

    fn s(&mut self, cap: &mut Cap, t: Timestamp, dir: Dir) {
        let rx = (self.ns[1 - Self::idx(dir)] << 1).to_le_bytes();
        self.conn.send(cap, t, dir, &[0x68, 4, 1, 0, rx[0], rx[1]]);
        cap.truth(t, Truth::msg("iec104", 256, dir == Dir::ToServer));
    }

    /// I-format APDU bytes for `asdu` (advances the sequence number).
    fn i_bytes(&mut self, dir: Dir, asdu: &[u8]) -> Vec<u8> {
        let d = Self::idx(dir);
        let tx = (self.ns[d] << 1).to_le_bytes();
        let rx = (self.ns[1 - d] << 1).to_le_bytes();
        self.ns[d] = (self.ns[d] + 1) & 0x7fff;
        let mut v = vec![0x68, (4 + asdu.len()) as u8, tx[0], tx[1], rx[0], rx[1]];
        v.extend_from_slice(asdu);
        v
    }

    fn i(&mut self, cap: &mut Cap, t: Timestamp, dir: Dir, asdu: &[u8]) {
        let b = self.i_bytes(dir, asdu);
        self.conn.send(cap, t, dir, &b);
        cap.truth(
            t,
            Truth::msg("iec104", asdu[0] as u16, dir == Dir::ToServer),
        );
    }
}

/// ASDU: type, VSQ, COT, originator 0, common address 1, objects.
fn asdu(t: u8, vsq: u8, cot: u8, objects: &[u8]) -> Vec<u8> {
    let mut v = vec![t, vsq, cot, 0, 1, 0];
    v.extend_from_slice(objects);
    v
}

fn ioa(a: u32) -> [u8; 3] {
    let b = a.to_le_bytes();
    [b[0], b[1], b[2]]
}

fn cp56(cap: &Cap, t: Timestamp) -> [u8; 7] {
    let ms_total = (t.0 - cap.t0.0) / 1_000_000;
    let msec = (ms_total % 60_000) as u16;
    let min = ((ms_total / 60_000) % 60) as u8;
    let b = msec.to_le_bytes();
    [b[0], b[1], min, 8, 10 | (1 << 5), 6, 24]
}

fn start_104(cap: &mut Cap, at: i64) -> (Link104, Timestamp) {
    let conn = TcpConn::new(cap, HMI, RTU104, IEC104_PORT);
    let mut l = Link104 { conn, ns: [0, 0] };
    let t = l.conn.handshake(cap, cap.at(at));
    let t = t.add_nanos(ms(1));
    l.u(cap, t, Dir::ToServer, 0x07);
    let t = t.add_nanos(ms(2));
    l.u(cap, t, Dir::ToClient, 0x0B);
    (l, t)
}

const IEC104_NORMAL: &str = "The SCADA server (10.10.1.10) connects to the substation RTU \
(10.10.3.40, common address 1) over IEC 60870-5-104: STARTDT act/con, then a station general \
interrogation (C_IC_NA_1, QOI 20) answered by actcon, 8 breaker positions (M_DP_NA_1, SQ), 4 single \
point alarms (M_SP_NA_1), 6 measured values as short floats (M_ME_NC_1) and actterm. For 30 seconds \
the RTU reports spontaneous measurements with CP56Time2a time tags (M_ME_TF_1) and an integrated \
total (M_IT_NA_1); the SCADA acknowledges with S-frames every 4 I-frames, and the idle link is \
checked with TESTFR act/con.";

fn iec104_normal(cap: &mut Cap) {
    let (mut l, mut t) = start_104(cap, ms(100));
    t = t.add_nanos(ms(10));
    l.i(cap, t, Dir::ToServer, &asdu(100, 1, 6, &[0, 0, 0, 20]));
    t = t.add_nanos(ms(5));
    l.i(cap, t, Dir::ToClient, &asdu(100, 1, 7, &[0, 0, 0, 20]));
    // Double points, sequence of 8 from IOA 1001.
    let mut o = ioa(1001).to_vec();
    o.extend([2, 2, 1, 2, 2, 2, 1, 2]);
    t = t.add_nanos(ms(2));
    l.i(cap, t, Dir::ToClient, &asdu(3, 0x80 | 8, 20, &o));
    let mut o = Vec::new();
    for a in 2001..2005u32 {
        o.extend(ioa(a));
        o.push(if a == 2003 { 1 } else { 0 });
    }
    t = t.add_nanos(ms(2));
    l.i(cap, t, Dir::ToClient, &asdu(1, 4, 20, &o));
    let mut o = Vec::new();
    for (k, v) in [110.2f32, 110.5, 109.9, 352.0, 351.2, 49.98]
        .iter()
        .enumerate()
    {
        o.extend(ioa(3001 + k as u32));
        o.extend(v.to_le_bytes());
        o.push(0);
    }
    t = t.add_nanos(ms(2));
    l.i(cap, t, Dir::ToClient, &asdu(13, 6, 20, &o));
    t = t.add_nanos(ms(2));
    l.i(cap, t, Dir::ToClient, &asdu(100, 1, 10, &[0, 0, 0, 20]));
    t = t.add_nanos(ms(20));
    l.s(cap, t, Dir::ToServer);
    let mut unacked = 0;
    for n in 1..=30i64 {
        let at = cap.at_jittered(secs(n), 50_000);
        let mut o = ioa(3001 + (n % 6) as u32).to_vec();
        o.extend((110.0f32 + (n % 7) as f32 * 0.1).to_le_bytes());
        o.push(0);
        o.extend(cp56(cap, at));
        l.i(cap, at, Dir::ToClient, &asdu(36, 1, 3, &o));
        unacked += 1;
        if n % 10 == 0 {
            let mut o = ioa(4001).to_vec();
            o.extend((1_000_000 + n as i32 * 37).to_le_bytes());
            o.push(n as u8 & 0x1f);
            let at2 = at.add_nanos(ms(3));
            l.i(cap, at2, Dir::ToClient, &asdu(15, 1, 3, &o));
            unacked += 1;
        }
        if unacked >= 4 {
            l.s(cap, at.add_nanos(ms(15)), Dir::ToServer);
            unacked = 0;
        }
        if n % 15 == 0 {
            let at3 = at.add_nanos(ms(500));
            l.u(cap, at3, Dir::ToServer, 0x43);
            l.u(cap, at3.add_nanos(ms(2)), Dir::ToClient, 0x83);
        }
    }
    let t = cap.at(secs(31));
    l.u(cap, t, Dir::ToServer, 0x13);
    l.u(cap, t.add_nanos(ms(2)), Dir::ToClient, 0x23);
    l.conn.close(cap, t.add_nanos(ms(10)));
}

const IEC104_CONTROL: &str = "The SCADA server (10.10.1.10) operates the substation RTU (10.10.3.40) \
over IEC 60870-5-104: after STARTDT it synchronises the RTU clock (C_CS_NA_1), opens circuit breaker \
IOA 5001 with a double command select then execute (C_DC_NA_1, act/actcon/actterm), switches a \
capacitor bank with a single command select + execute (C_SC_NA_1), sends a time-tagged set-point \
(C_SE_TC_1), and resets the RTU process (C_RP_NA_1); the RTU reports the breaker's new position \
spontaneously (M_DP_TB_1). Two frames are malformed: a U-frame with the invalid control octet 0x0F, \
and an M_SP_NA_1 ASDU announcing 3 objects but carrying 2 (still counted as a message).";

fn iec104_control(cap: &mut Cap) {
    let (mut l, mut t) = start_104(cap, ms(100));
    // Clock synchronisation.
    t = t.add_nanos(ms(20));
    let mut o = ioa(0).to_vec();
    o.extend(cp56(cap, t));
    l.i(cap, t, Dir::ToServer, &asdu(103, 1, 6, &o));
    t = t.add_nanos(ms(4));
    l.i(cap, t, Dir::ToClient, &asdu(103, 1, 7, &o));
    // Double command: select then execute, breaker open (DCS 1).
    for (sel, qual) in [(true, 0x81u8), (false, 0x01u8)] {
        let o: Vec<u8> = ioa(5001).into_iter().chain([qual]).collect();
        t = t.add_nanos(ms(500));
        l.i(cap, t, Dir::ToServer, &asdu(46, 1, 6, &o));
        t = t.add_nanos(ms(30));
        l.i(cap, t, Dir::ToClient, &asdu(46, 1, 7, &o));
        if !sel {
            t = t.add_nanos(ms(200));
            l.i(cap, t, Dir::ToClient, &asdu(46, 1, 10, &o));
            let mut sp = ioa(1005).to_vec();
            sp.push(1);
            sp.extend(cp56(cap, t));
            t = t.add_nanos(ms(5));
            l.i(cap, t, Dir::ToClient, &asdu(31, 1, 3, &sp));
        }
    }
    // Single command select + execute.
    for qual in [0x81u8, 0x01] {
        let o: Vec<u8> = ioa(5101).into_iter().chain([qual]).collect();
        t = t.add_nanos(ms(400));
        l.i(cap, t, Dir::ToServer, &asdu(45, 1, 6, &o));
        t = t.add_nanos(ms(25));
        l.i(cap, t, Dir::ToClient, &asdu(45, 1, 7, &o));
    }
    // Set-point, short float with time tag.
    let mut o = ioa(6001).to_vec();
    o.extend(115.0f32.to_le_bytes());
    o.push(0);
    o.extend(cp56(cap, t));
    t = t.add_nanos(ms(400));
    l.i(cap, t, Dir::ToServer, &asdu(63, 1, 6, &o));
    t = t.add_nanos(ms(25));
    l.i(cap, t, Dir::ToClient, &asdu(63, 1, 7, &o));
    t = t.add_nanos(ms(30));
    l.s(cap, t, Dir::ToServer);
    // Malformed U-frame (control 0x0F), then a short ASDU.
    t = t.add_nanos(ms(300));
    l.conn
        .send(cap, t, Dir::ToServer, &[0x68, 4, 0x0F, 0, 0, 0]);
    cap.truth(t, Truth::msg("iec104", 512 + 0x0F, true).into_malformed());
    let mut o = Vec::new();
    for a in [2001u32, 2002] {
        o.extend(ioa(a));
        o.push(1);
    }
    let b = l.i_bytes(Dir::ToClient, &asdu(1, 3, 3, &o));
    t = t.add_nanos(ms(100));
    l.conn.send(cap, t, Dir::ToClient, &b);
    cap.truth(t, Truth::msg("iec104", 1, false));
    cap.truth(t, Truth::msg("iec104", 1, false).into_malformed());
    // Reset process command.
    t = t.add_nanos(secs(1));
    let o: Vec<u8> = ioa(0).into_iter().chain([1]).collect();
    l.i(cap, t, Dir::ToServer, &asdu(105, 1, 6, &o));
    t = t.add_nanos(ms(40));
    l.i(cap, t, Dir::ToClient, &asdu(105, 1, 7, &o));
    l.conn.close(cap, t.add_nanos(ms(500)));
}

// ------------------------------------------------------------------ FINS

mod fins {
    /// A FINS frame: ICF, RSV, GCT 2, DNA 0, DA1 `da1`, DA2 0, SNA 0, SA1 `sa1`, SA2 0, SID.
    pub fn frame(icf: u8, da1: u8, sa1: u8, sid: u8, cmd: u16, data: &[u8]) -> Vec<u8> {
        let mut v = vec![icf, 0, 2, 0, da1, 0, 0, sa1, 0, sid];
        v.extend_from_slice(&cmd.to_be_bytes());
        v.extend_from_slice(data);
        v
    }
    pub fn tcp(command: u32, body: &[u8]) -> Vec<u8> {
        let mut v = b"FINS".to_vec();
        v.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
        v.extend_from_slice(&command.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(body);
        v
    }
}

/// A FINS client: node numbers, SID counter, channel.
struct FinsClient<C: Channel> {
    ch: C,
    tcp: bool,
    plc_node: u8,
    my_node: u8,
    sid: u8,
}

impl<C: Channel> FinsClient<C> {
    fn wrap(&self, f: Vec<u8>) -> Vec<u8> {
        if self.tcp { fins::tcp(2, &f) } else { f }
    }

    /// Sends a command and its response (end code, response data).
    fn exchange(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        cmd: u16,
        data: &[u8],
        end: u16,
        resp: &[u8],
    ) -> Timestamp {
        self.sid = self.sid.wrapping_add(1);
        let c = fins::frame(0x80, self.plc_node, self.my_node, self.sid, cmd, data);
        let c = self.wrap(c);
        self.ch.send(cap, t, Dir::ToServer, &c);
        cap.truth(t, Truth::msg("fins", cmd, true));
        let mut r = end.to_be_bytes().to_vec();
        r.extend_from_slice(resp);
        let f = fins::frame(0xc0, self.my_node, self.plc_node, self.sid, cmd, &r);
        let f = self.wrap(f);
        let t2 = t.add_nanos(ms(2) + cap.rng.micros(100, 3_000));
        self.ch.send(cap, t2, Dir::ToClient, &f);
        cap.truth(t2, Truth::msg("fins", cmd, false));
        t2
    }
}

fn controller_data() -> Vec<u8> {
    let mut d = b"CJ2M-CPU31".to_vec();
    d.resize(20, b' ');
    d.extend(b"02.01");
    d.resize(40, b' ');
    d.resize(92, 0);
    d
}

const FINS_NORMAL: &str = "The HMI (10.10.1.10, FINS node 10) polls an Omron CJ2M PLC (10.10.1.50, \
node 50) with FINS over UDP port 9600. At start it reads the controller data (model CJ2M-CPU31, \
version 02.01) and status; then once a second it reads DM words D100-D119, CIO words 0-9 and the \
holding relay HR 0-3 with Memory Area Read, and every fifth second the clock. Ten cycles.";

fn fins_normal(cap: &mut Cap) {
    let ch = UdpFlow::new(cap, HMI, PLC_OMRON, FINS_PORT, FINS_PORT);
    let mut c = FinsClient {
        ch,
        tcp: false,
        plc_node: 50,
        my_node: 10,
        sid: 0,
    };
    let t = cap.at(ms(100));
    let t = c.exchange(cap, t, 0x0501, &[], 0, &controller_data());
    let status = [0x01, 0x04, 0, 0, 0, 0, 0, 0, 0, 0];
    c.exchange(cap, t.add_nanos(ms(10)), 0x0601, &[], 0, &status);
    for n in 1..=10i64 {
        let t = cap.at_jittered(secs(n), 3_000);
        let dm = [0x82, 0x00, 0x64, 0x00, 0x00, 0x14];
        let words: Vec<u8> = (0..40u8)
            .map(|i| i.wrapping_mul(7).wrapping_add(n as u8))
            .collect();
        let t = c.exchange(cap, t, 0x0101, &dm, 0, &words);
        let cio = [0xb0, 0x00, 0x00, 0x00, 0x00, 0x0a];
        let t = c.exchange(cap, t.add_nanos(ms(5)), 0x0101, &cio, 0, &[0u8; 20]);
        let hr = [0xb2, 0x00, 0x00, 0x00, 0x00, 0x04];
        let t = c.exchange(cap, t.add_nanos(ms(5)), 0x0101, &hr, 0, &[0u8; 8]);
        if n % 5 == 0 {
            c.exchange(
                cap,
                t.add_nanos(ms(5)),
                0x0701,
                &[],
                0,
                &[0x24, 0x06, 0x10, 0x08, 0x00, n as u8, 0x01],
            );
        }
    }
}

const FINS_ABNORMAL: &str = "An engineering workstation (192.168.10.50, through the OT firewall) \
connects to the Omron CJ2M (10.10.1.50) with FINS/TCP port 9600: node address handshake (client node \
0 -> assigned node 239, server node 50), forced access right acquire, STOP (0x0402), a program area \
write of 4 blocks (0x0307), program area clear attempted while the PLC is in RUN mode (end code 0x2201 \
on the first try, before STOP), RUN (0x0401), error log read (0x2102) and error log clear (0x2103), \
error clear (0x2101), forced set of output bit CIO 100.05 (0x2301) and access right release. Two PDUs \
are malformed: a memory area read with 2 octets of command data (counted as a command too, 0x0101) \
and 6 stray octets before a FINS/TCP header (bad magic).";

fn fins_abnormal(cap: &mut Cap) {
    let mut conn = TcpConn::new(cap, EWS, PLC_OMRON, FINS_PORT);
    let mut t = conn.handshake(cap, cap.at(ms(100)));
    t = t.add_nanos(ms(1));
    conn.send(cap, t, Dir::ToServer, &fins::tcp(0, &[0, 0, 0, 0]));
    cap.truth(t, Truth::msg("fins", 0xF000, true));
    t = t.add_nanos(ms(3));
    conn.send(
        cap,
        t,
        Dir::ToClient,
        &fins::tcp(1, &[0, 0, 0, 239, 0, 0, 0, 50]),
    );
    cap.truth(t, Truth::msg("fins", 0xF001, false));
    let mut c = FinsClient {
        ch: conn,
        tcp: true,
        plc_node: 50,
        my_node: 239,
        sid: 0,
    };
    let steps: &[(u16, Vec<u8>, u16)] = &[
        (0x0c02, vec![0xff, 0xff], 0),
        // Program area clear refused in RUN mode.
        (0x0308, vec![0xff, 0xff, 0x00], 0x2201),
        (0x0402, vec![0xff, 0xff], 0),
        (0x0308, vec![0xff, 0xff, 0x00], 0),
    ];
    for (cmd, data, end) in steps {
        t = c.exchange(cap, t.add_nanos(ms(200)), *cmd, data, *end, &[]);
    }
    for blk in 0..4u32 {
        let mut d = vec![0xff, 0xff];
        d.extend((blk * 512).to_be_bytes());
        d.extend([0x02, 0x00]);
        d.extend((0..512).map(|i| (i as u8) ^ (blk as u8)));
        let last = if blk == 3 { 0x80 } else { 0 };
        d[6] |= last;
        t = c.exchange(cap, t.add_nanos(ms(50)), 0x0307, &d, 0, &[]);
    }
    let steps: &[(u16, Vec<u8>, u16, Vec<u8>)] = &[
        (0x0401, vec![0xff, 0xff, 0x04], 0, vec![]),
        (
            0x2102,
            vec![0x00, 0x00, 0x00, 0x0a],
            0,
            vec![0, 0x14, 0, 2, 0, 2],
        ),
        (0x2103, vec![], 0, vec![]),
        (0x2101, vec![0xff, 0xff], 0, vec![]),
        (
            0x2301,
            vec![0x00, 0x01, 0x00, 0x01, 0x30, 0x00, 0x64, 0x05],
            0,
            vec![],
        ),
        (0x0c03, vec![0xff, 0xff], 0, vec![]),
    ];
    for (cmd, data, end, resp) in steps {
        t = c.exchange(cap, t.add_nanos(ms(300)), *cmd, data, *end, resp);
    }
    // Malformed: memory area read with 2 octets of command data (no response).
    c.sid = c.sid.wrapping_add(1);
    let f = fins::tcp(2, &fins::frame(0x80, 50, 239, c.sid, 0x0101, &[0x82, 0x00]));
    t = t.add_nanos(ms(300));
    c.ch.send(cap, t, Dir::ToServer, &f);
    cap.truth(t, Truth::msg("fins", 0x0101, true));
    cap.truth(t, Truth::msg("fins", 0x0101, true).into_malformed());
    // Stray octets before a controller status read in the same segment.
    c.sid = c.sid.wrapping_add(1);
    let mut seg = vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x01];
    seg.extend(fins::tcp(
        2,
        &fins::frame(0x80, 50, 239, c.sid, 0x0601, &[]),
    ));
    t = t.add_nanos(ms(300));
    c.ch.send(cap, t, Dir::ToServer, &seg);
    cap.truth(t, Truth::msg("fins", 0, true).into_malformed());
    cap.truth(t, Truth::msg("fins", 0x0601, true));
    let r = fins::tcp(
        2,
        &fins::frame(
            0xc0,
            239,
            50,
            c.sid,
            0x0601,
            &[0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    );
    t = t.add_nanos(ms(3));
    c.ch.send(cap, t, Dir::ToClient, &r);
    cap.truth(t, Truth::msg("fins", 0x0601, false));
    c.ch.close(cap, t.add_nanos(ms(200)));
}

pub(crate) const SCENARIOS: Group = &[
    (
        Scenario {
            name: "bacnet_normal",
            description: BACNET_NORMAL,
        },
        bacnet_normal,
    ),
    (
        Scenario {
            name: "bacnet_abnormal",
            description: BACNET_ABNORMAL,
        },
        bacnet_abnormal,
    ),
    (
        Scenario {
            name: "iec104_normal",
            description: IEC104_NORMAL,
        },
        iec104_normal,
    ),
    (
        Scenario {
            name: "iec104_control",
            description: IEC104_CONTROL,
        },
        iec104_control,
    ),
    (
        Scenario {
            name: "fins_normal",
            description: FINS_NORMAL,
        },
        fins_normal,
    ),
    (
        Scenario {
            name: "fins_abnormal",
            description: FINS_ABNORMAL,
        },
        fins_abnormal,
    ),
];
