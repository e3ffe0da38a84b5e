//! Siemens S7 scenarios: TPKT/COTP on TCP 102 carrying S7comm (S7-300/400/1200
//! classic) and S7comm-plus (S7-1200/1500).
//!
//! Counted keys (see `docs/protocols/{cotp,s7comm,s7comm_plus}.md`):
//! `cotp`: the TPDU type (0xE0 CR, 0xD0 CC); `s7comm`: the function byte
//! (job, ack-data; 0 for an ack without parameter) or, for userdata,
//! 0x1000 | group << 8 | subfunction; `s7comm_plus`: the function code (0 for
//! notifications and keep-alives).

use otwatch_core::Timestamp;

use super::Group;
use super::hosts::*;
use crate::builder::{Cap, ms, secs};
use crate::net::Host;
use crate::transport::{Channel, Dir, TcpConn};
use crate::{Scenario, Truth};

/// Siemens SIMATIC S7-300 (CPU 315-2 PN/DP), Siemens OUI.
const PLC_S7_300: Host = Host::v4([0x00, 0x1b, 0x1b, 0x2e, 0x41, 0x0c], [10, 10, 1, 40], 30);
/// Siemens SIMATIC S7-1500 (CPU 1511-1 PN), Siemens OUI.
const PLC_S7_1500: Host = Host::v4([0x28, 0x63, 0x36, 0x85, 0x19, 0x3e], [10, 10, 1, 41], 30);

const PORT: u16 = 102;

pub(crate) const SCENARIOS: Group = &[
    (
        Scenario {
            name: "s7comm_normal",
            description: NORMAL,
        },
        normal,
    ),
    (
        Scenario {
            name: "s7comm_engineering",
            description: ENGINEERING,
        },
        engineering,
    ),
    (
        Scenario {
            name: "s7comm_malformed",
            description: MALFORMED,
        },
        malformed,
    ),
    (
        Scenario {
            name: "s7comm_plus_session",
            description: PLUS,
        },
        plus_session,
    ),
    (
        Scenario {
            name: "s7comm_plus_abnormal",
            description: PLUS_ABNORMAL,
        },
        plus_abnormal,
    ),
];

const NORMAL: &str = "The HMI (10.10.1.10) connects over ISO-on-TCP (port 102) to a Siemens S7-300 \
CPU 315-2 PN/DP (10.10.1.40, rack 0 slot 2) and an S7-1200 (10.10.1.22, rack 0 slot 1): COTP connection \
request/confirm with TSAPs 0x0100 -> 0x0102 / 0x0101, S7comm setup communication (PDU size 240), then on \
the S7-300 a Read SZL 0x0011 (module identification: 6ES7 315-2EH14-0AB0, firmware V3.2.6) and 0x001C \
(component identification: system name, module name, plant id, serial number). The HMI then reads two \
variables (DB1.DBB0 10 bytes, MB100 2 bytes) from each PLC once a second for ten cycles.";

const ENGINEERING: &str = "An engineering workstation (192.168.10.50, routed through the OT firewall) \
works on the S7-300 (10.10.1.40): COTP connect with the PG TSAP, setup communication, the protection \
password (userdata security, PLC password), list blocks, read of the module identification, upload of \
OB1 (start upload, upload, end upload), download of FC10 (request download; the PLC then sends download \
block and download ended jobs the workstation answers), activation of the block (PLC control _INSE), \
PLC stop, a mode-transition push (STOP) from the PLC, a cold start (PLC control P_PROGRAM \"C \"), a \
hot start (P_PROGRAM), a RUN push, read clock and set clock.";

const MALFORMED: &str = "On one HMI-to-S7-300 connection (10.10.1.10 -> 10.10.1.40) cyclic reads are \
interleaved with five malformed PDUs: a TPKT header with version 4 (followed in the same segment by a \
valid read), a TPKT announcing 5 bytes (followed by a valid read), a COTP TPDU with the undefined code \
0x30, an S7comm setup communication whose parameter is cut after 4 bytes, and an S7comm PDU with the \
unknown ROSCTR 5. The PLC answers only the valid reads. Three malformed COTP PDUs and two malformed \
S7comm PDUs; the reads after the bad TPKT headers are still found, and the cut setup communication \
also counts as a request (function 0xF0) since its header is sound.";

const PLUS: &str = "The HMI (10.10.1.10) opens an S7comm-plus session to an S7-1500 CPU 1511-1 PN \
(10.10.1.41): COTP connect with the TSAPs \"SIMATIC-ROOT-HMI\", a V1 CreateObject (session setup), then \
V3 PDUs with their 32-byte integrity part: SetMultiVariables (session key), an Explore whose response is \
fragmented over two S7comm-plus frames (counted once) and a GetMultiVariables response split over two \
COTP DT TPDUs, five cyclic GetMultiVariables, a SetVariable, an extended keep-alive from the HMI, and a \
DeleteObject at the end.";

const PLUS_ABNORMAL: &str = "An engineering workstation (192.168.10.50, routed through the OT \
firewall) opens an S7comm-plus session to the S7-1500 CPU 1511-1 PN (10.10.1.41) with the \
engineering TSAPs \"SIMATIC-ROOT-ES\": COTP connect, a V1 CreateObject (session setup) and a V3 \
SetMultiVariables (session key), then program-related writes: a SetVariable of the CPU's requested \
operating state (object 0x34, attribute 2167) to STOP, a DeleteObject of a program block, and a \
SetVariable of the operating state back to RUN, each answered by the PLC. The workstation then \
sends three PDUs the PLC does not answer: a V3 PDU with the unknown opcode 0x35, a V3 frame whose \
data length (1024) runs past the frame, and a V3 frame whose data header ends after the opcode. 10 \
S7comm-plus messages and 3 malformed S7comm-plus PDUs.";

// ---------------------------------------------------------------- framing

fn tpkt(cotp: &[u8]) -> Vec<u8> {
    let mut v = vec![3, 0];
    v.extend_from_slice(&((cotp.len() + 4) as u16).to_be_bytes());
    v.extend_from_slice(cotp);
    v
}

/// One class-0 DT TPDU.
fn dt(eot: bool, data: &[u8]) -> Vec<u8> {
    let mut c = vec![2, 0xf0, if eot { 0x80 } else { 0x00 }];
    c.extend_from_slice(data);
    tpkt(&c)
}

/// CR (0xE0) or CC (0xD0) with TPDU size 1024 and the two TSAPs.
fn connect_tpdu(code: u8, dst_ref: u16, src_ref: u16, calling: &[u8], called: &[u8]) -> Vec<u8> {
    let mut c = vec![0, code];
    c.extend_from_slice(&dst_ref.to_be_bytes());
    c.extend_from_slice(&src_ref.to_be_bytes());
    c.extend_from_slice(&[0x00, 0xc0, 0x01, 0x0a]);
    c.extend_from_slice(&[0xc1, calling.len() as u8]);
    c.extend_from_slice(calling);
    c.extend_from_slice(&[0xc2, called.len() as u8]);
    c.extend_from_slice(called);
    c[0] = (c.len() - 1) as u8;
    tpkt(&c)
}

// ---------------------------------------------------------------- S7comm PDUs

fn s7(rosctr: u8, pdu_ref: u16, param: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x32, rosctr, 0, 0];
    v.extend_from_slice(&pdu_ref.to_be_bytes());
    v.extend_from_slice(&(param.len() as u16).to_be_bytes());
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    if matches!(rosctr, 2 | 3) {
        v.extend_from_slice(&[0, 0]);
    }
    v.extend_from_slice(param);
    v.extend_from_slice(data);
    v
}

fn setup(pdu_size: u16) -> Vec<u8> {
    let mut p = vec![0xf0, 0, 0, 1, 0, 1];
    p.extend_from_slice(&pdu_size.to_be_bytes());
    p
}

/// S7ANY item: BYTE transport size, `len` bytes at `area`/`db`/`byte`.
fn any_item(area: u8, db: u16, byte: u32, len: u16) -> Vec<u8> {
    let mut v = vec![0x12, 0x0a, 0x10, 0x02];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&db.to_be_bytes());
    v.push(area);
    v.extend_from_slice(&(byte << 3).to_be_bytes()[1..]);
    v
}

fn read_var_param(items: &[(u8, u16, u32, u16)]) -> Vec<u8> {
    let mut p = vec![0x04, items.len() as u8];
    for &(a, db, b, l) in items {
        p.extend(any_item(a, db, b, l));
    }
    p
}

/// Read var ack-data data part: one BYTE item per value (lengths in bits).
fn read_var_data(values: &[Vec<u8>]) -> Vec<u8> {
    let mut d = Vec::new();
    for (i, v) in values.iter().enumerate() {
        d.extend_from_slice(&[0xff, 0x04]);
        d.extend_from_slice(&((v.len() * 8) as u16).to_be_bytes());
        d.extend_from_slice(v);
        if i + 1 < values.len() && v.len() % 2 == 1 {
            d.push(0);
        }
    }
    d
}

/// Userdata request (type 4) or push (type 0).
fn ud_request(pdu_ref: u16, kind: u8, group: u8, sub: u8, payload: &[u8]) -> Vec<u8> {
    let param = [0x00, 0x01, 0x12, 0x04, 0x11, (kind << 4) | group, sub, 0x00];
    let mut data = if payload.is_empty() {
        vec![0x0a, 0x00, 0x00, 0x00]
    } else {
        vec![0xff, 0x09]
    };
    if !payload.is_empty() {
        data.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        data.extend_from_slice(payload);
    }
    s7(7, pdu_ref, &param, &data)
}

/// Userdata response (type 8), last data unit.
fn ud_response(pdu_ref: u16, group: u8, sub: u8, seq: u8, payload: &[u8]) -> Vec<u8> {
    let param = [
        0x00,
        0x01,
        0x12,
        0x08,
        0x12,
        0x80 | group,
        sub,
        seq,
        0x00,
        0x00,
        0x00,
        0x00,
    ];
    let mut data = vec![0xff, 0x09];
    data.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    data.extend_from_slice(payload);
    s7(7, pdu_ref, &param, &data)
}

fn szl_0011() -> Vec<u8> {
    let mut p = vec![0x00, 0x11, 0x00, 0x00, 0x00, 28, 0x00, 0x03];
    for (idx, ausbg, ausbe) in [(1u16, 0u16, 1u16), (6, 0, 1), (7, 0x5603, 0x0206)] {
        p.extend_from_slice(&idx.to_be_bytes());
        if idx == 7 {
            p.extend_from_slice(&[b' '; 20]);
        } else {
            p.extend_from_slice(b"6ES7 315-2EH14-0AB0 ");
        }
        p.extend_from_slice(&[0xc0, 0x00]);
        p.extend_from_slice(&ausbg.to_be_bytes());
        p.extend_from_slice(&ausbe.to_be_bytes());
    }
    p
}

fn szl_001c() -> Vec<u8> {
    let recs: [(u16, &str); 5] = [
        (1, "SIMATIC 300(Water)"),
        (2, "CPU 315-2 PN/DP"),
        (3, "WTP-3 filtration"),
        (5, "S C-H7T412852014"),
        (7, "CPU 315-2 PN/DP"),
    ];
    let mut p = vec![0x00, 0x1c, 0x00, 0x00, 0x00, 34, 0x00, recs.len() as u8];
    for (idx, text) in recs {
        p.extend_from_slice(&idx.to_be_bytes());
        let mut t = text.as_bytes().to_vec();
        t.resize(32, 0);
        p.extend_from_slice(&t);
    }
    p
}

/// Block-function job parameter: function, status, session id, file name.
fn block_param(f: u8, session: u32, filename: Option<&[u8]>) -> Vec<u8> {
    let mut p = vec![f, 0x00, 0x00, 0x00];
    p.extend_from_slice(&session.to_be_bytes());
    if let Some(name) = filename {
        p.push(name.len() as u8);
        p.extend_from_slice(name);
    }
    p
}

fn pi_service(service: &[u8], block: &[u8]) -> Vec<u8> {
    let mut p = vec![0x28, 0, 0, 0, 0, 0, 0, 0xfd];
    p.extend_from_slice(&(block.len() as u16).to_be_bytes());
    p.extend_from_slice(block);
    p.push(service.len() as u8);
    p.extend_from_slice(service);
    p
}

// ---------------------------------------------------------------- conversation

/// An ISO-on-TCP connection that records the truth of what it sends.
struct Iso {
    ch: TcpConn,
    t: Timestamp,
    pdu_ref: u16,
}

impl Iso {
    fn open(cap: &mut Cap, client: Host, server: Host, at_ns: i64) -> Iso {
        let mut ch = TcpConn::new(cap, client, server, PORT);
        let t = ch.handshake(cap, cap.at(at_ns));
        Iso {
            ch,
            t,
            pdu_ref: cap.rng.range(1, 0x4000) as u16,
        }
    }

    fn next_ref(&mut self) -> u16 {
        self.pdu_ref = self.pdu_ref.wrapping_add(1);
        self.pdu_ref
    }

    /// Sends `payload` after a short delay; returns its time.
    fn send(&mut self, cap: &mut Cap, dir: Dir, payload: &[u8]) -> Timestamp {
        let lo = if dir == Dir::ToServer { 150 } else { 800 };
        self.t = self.t.add_nanos(cap.rng.micros(lo, lo * 4));
        self.ch.send(cap, self.t, dir, payload);
        self.t
    }

    fn connect(&mut self, cap: &mut Cap, calling: &[u8], called: &[u8]) {
        let src = cap.rng.range(1, 0xfff) as u16;
        let t = self.send(
            cap,
            Dir::ToServer,
            &connect_tpdu(0xe0, 0, src, calling, called),
        );
        cap.truth(t, Truth::msg("cotp", 0xe0, true));
        let t = self.send(
            cap,
            Dir::ToClient,
            &connect_tpdu(0xd0, src, 0x0044, calling, called),
        );
        cap.truth(t, Truth::msg("cotp", 0xd0, false));
    }

    /// One S7comm PDU in one DT TPDU, counted under `fc`.
    fn s7(&mut self, cap: &mut Cap, dir: Dir, pdu: &[u8], fc: u16, request: bool) {
        let t = self.send(cap, dir, &dt(true, pdu));
        cap.truth(t, Truth::msg("s7comm", fc, request));
    }

    /// A job from `dir` and its ack-data.
    fn job(
        &mut self,
        cap: &mut Cap,
        dir: Dir,
        param: &[u8],
        data: &[u8],
        ack_param: &[u8],
        ack_data: &[u8],
    ) {
        let r = self.next_ref();
        let fc = u16::from(param[0]);
        self.s7(cap, dir, &s7(1, r, param, data), fc, true);
        let back = if dir == Dir::ToServer {
            Dir::ToClient
        } else {
            Dir::ToServer
        };
        self.s7(cap, back, &s7(3, r, ack_param, ack_data), fc, false);
    }

    /// A userdata request from the client and the PLC's response.
    fn userdata(&mut self, cap: &mut Cap, group: u8, sub: u8, req: &[u8], resp: &[u8]) {
        let r = self.next_ref();
        let fc = 0x1000 | (u16::from(group) << 8) | u16::from(sub);
        self.s7(
            cap,
            Dir::ToServer,
            &ud_request(r, 4, group, sub, req),
            fc,
            true,
        );
        let seq = cap.rng.range(1, 200) as u8;
        self.s7(
            cap,
            Dir::ToClient,
            &ud_response(r, group, sub, seq, resp),
            fc,
            false,
        );
    }

    fn setup(&mut self, cap: &mut Cap, size: u16) {
        self.job(cap, Dir::ToServer, &setup(size), &[], &setup(size), &[]);
    }

    fn read_cycle(&mut self, cap: &mut Cap) {
        let items = [(0x84, 1, 0, 10), (0x83, 0, 100, 2)];
        let values: Vec<Vec<u8>> = items
            .iter()
            .map(|&(_, _, _, l)| (0..l).map(|_| cap.rng.range(0, 255) as u8).collect())
            .collect();
        let p = read_var_param(&items);
        self.job(
            cap,
            Dir::ToServer,
            &p,
            &[],
            &[0x04, 2],
            &read_var_data(&values),
        );
    }

    fn close(&mut self, cap: &mut Cap) {
        let t = self.t.add_nanos(ms(50));
        self.ch.close(cap, t);
    }
}

// ---------------------------------------------------------------- scenarios

fn normal(cap: &mut Cap) {
    let plcs = [(PLC_S7_300, 0x02u8, 0i64), (PLC_SIEMENS, 0x01, ms(230))];
    for (plc, slot, offset) in plcs {
        let mut c = Iso::open(cap, HMI, plc, ms(100) + offset);
        c.connect(cap, &[0x01, 0x00], &[0x01, slot]);
        c.setup(cap, 240);
        if slot == 2 {
            c.userdata(cap, 4, 1, &[0x00, 0x11, 0x00, 0x00], &szl_0011());
            c.userdata(cap, 4, 1, &[0x00, 0x1c, 0x00, 0x00], &szl_001c());
        }
        for n in 1..=10 {
            c.t = cap.at_jittered(secs(n) + offset, 2_000);
            c.read_cycle(cap);
        }
        c.close(cap);
    }
}

fn engineering(cap: &mut Cap) {
    let mut c = Iso::open(cap, EWS, PLC_S7_300, ms(100));
    c.connect(cap, &[0x01, 0x00], &[0x01, 0x02]);
    c.setup(cap, 480);
    // Protection level password (scrambled) and list blocks.
    c.userdata(
        cap,
        5,
        1,
        &[0x55, 0x32, 0x21, 0x4a, 0x1f, 0x6e, 0x46, 0x3a],
        &[],
    );
    c.userdata(
        cap,
        3,
        1,
        &[],
        &[0x30, 0x38, 0x00, 0x03, 0x30, 0x43, 0x00, 0x0c],
    );
    c.userdata(cap, 4, 1, &[0x00, 0x11, 0x00, 0x00], &szl_0011());
    // Upload OB1.
    let up = cap.rng.range(2, 40) as u32;
    c.job(
        cap,
        Dir::ToServer,
        &block_param(0x1d, 0, Some(b"_0800001A")),
        &[],
        &{
            let mut p = block_param(0x1d, up, None);
            p.push(7);
            p.extend_from_slice(b"0000146");
            p
        },
        &[],
    );
    let mut body = vec![0x00, 0x92, 0x00, 0xfb];
    body.extend((0..146).map(|i| (i * 7) as u8));
    c.job(
        cap,
        Dir::ToServer,
        &block_param(0x1e, up, None),
        &[],
        &[0x1e, 0x00],
        &body,
    );
    c.job(
        cap,
        Dir::ToServer,
        &block_param(0x1f, up, None),
        &[],
        &[0x1f],
        &[],
    );
    // Download FC10: the PLC pulls the block with jobs of its own.
    let mut rd = block_param(0x1a, 0, Some(b"_0C00010P"));
    rd.push(13);
    rd.push(b'1');
    rd.extend_from_slice(b"000226000114");
    c.job(cap, Dir::ToServer, &rd, &[], &[0x1a], &[]);
    let mut fc10 = vec![0x00, 0xe2, 0x00, 0xfb];
    fc10.extend((0..226).map(|i| (i * 13) as u8));
    c.job(
        cap,
        Dir::ToClient,
        &block_param(0x1b, 0, Some(b"_0C00010P")),
        &[],
        &[0x1b, 0x00],
        &fc10,
    );
    c.job(
        cap,
        Dir::ToClient,
        &block_param(0x1c, 0, Some(b"_0C00010P")),
        &[],
        &[0x1c],
        &[],
    );
    c.job(
        cap,
        Dir::ToServer,
        &pi_service(b"_INSE", b"\x00\x01\x43\x30\x30\x30\x31\x30"),
        &[],
        &[0x28],
        &[],
    );
    // Stop, cold start, hot start, with the PLC's mode-transition pushes.
    let mut stop = vec![0x29, 0, 0, 0, 0, 0, 9];
    stop.extend_from_slice(b"P_PROGRAM");
    c.job(cap, Dir::ToServer, &stop, &[], &[0x29], &[]);
    let push = |c: &mut Iso, cap: &mut Cap, mode: u8| {
        let p = s7(
            7,
            0,
            &[0x00, 0x01, 0x12, 0x04, 0x11, 0x00, mode, 0x00],
            &[0x0a, 0, 0, 0],
        );
        c.s7(cap, Dir::ToClient, &p, 0x1000 | u16::from(mode), true);
    };
    push(&mut c, cap, 0);
    c.job(
        cap,
        Dir::ToServer,
        &pi_service(b"P_PROGRAM", b"C "),
        &[],
        &[0x28],
        &[],
    );
    push(&mut c, cap, 2);
    c.job(
        cap,
        Dir::ToServer,
        &pi_service(b"P_PROGRAM", b""),
        &[],
        &[0x28],
        &[],
    );
    // Clock.
    c.userdata(
        cap,
        7,
        1,
        &[],
        &[0x00, 0x19, 0x24, 0x06, 0x10, 0x08, 0x12, 0x30, 0x00, 0x01],
    );
    c.userdata(
        cap,
        7,
        2,
        &[0x00, 0x19, 0x24, 0x06, 0x10, 0x08, 0x13, 0x00, 0x00, 0x01],
        &[],
    );
    c.close(cap);
}

fn malformed(cap: &mut Cap) {
    let mut c = Iso::open(cap, HMI, PLC_S7_300, ms(100));
    c.connect(cap, &[0x01, 0x00], &[0x01, 0x02]);
    c.setup(cap, 240);
    c.read_cycle(cap);
    let bad = |cap: &mut Cap, t, proto| cap.truth(t, Truth::msg(proto, 0, true).into_malformed());
    // 1. TPKT version 4, then a valid read in the same segment.
    let r = c.next_ref();
    let mut seg = vec![0x04, 0x00, 0x00, 0x1f, 0x02, 0xf0, 0x80, 0x32, 0x01];
    let p = read_var_param(&[(0x84, 1, 0, 10)]);
    seg.extend(dt(true, &s7(1, r, &p, &[])));
    let t = c.send(cap, Dir::ToServer, &seg);
    bad(cap, t, "cotp");
    cap.truth(t, Truth::msg("s7comm", 4, true));
    let v: Vec<u8> = (0..10).map(|_| cap.rng.range(0, 255) as u8).collect();
    c.s7(
        cap,
        Dir::ToClient,
        &s7(3, r, &[0x04, 1], &read_var_data(&[v])),
        4,
        false,
    );
    // 2. TPKT announcing 5 bytes, then a valid read.
    let r = c.next_ref();
    let mut seg = vec![0x03, 0x00, 0x00, 0x05, 0x02];
    seg.extend(dt(true, &s7(1, r, &p, &[])));
    let t = c.send(cap, Dir::ToServer, &seg);
    bad(cap, t, "cotp");
    cap.truth(t, Truth::msg("s7comm", 4, true));
    let v: Vec<u8> = (0..10).map(|_| cap.rng.range(0, 255) as u8).collect();
    c.s7(
        cap,
        Dir::ToClient,
        &s7(3, r, &[0x04, 1], &read_var_data(&[v])),
        4,
        false,
    );
    c.read_cycle(cap);
    // 3. COTP TPDU code 0x30 in a sound TPKT.
    let t = c.send(
        cap,
        Dir::ToServer,
        &tpkt(&[2, 0x30, 0x80, 0x32, 0x01, 0x00]),
    );
    bad(cap, t, "cotp");
    c.read_cycle(cap);
    // 4. Setup communication cut after 4 parameter bytes.
    let r = c.next_ref();
    let t = c.send(
        cap,
        Dir::ToServer,
        &dt(true, &s7(1, r, &[0xf0, 0x00, 0x00, 0x01], &[])),
    );
    // A sound header with a readable function: a message and a malformed PDU.
    cap.truth(t, Truth::msg("s7comm", 0xf0, true));
    cap.truth(t, Truth::msg("s7comm", 0xf0, true).into_malformed());
    c.read_cycle(cap);
    // 5. Unknown ROSCTR 5.
    let r = c.next_ref();
    let t = c.send(cap, Dir::ToServer, &dt(true, &s7(5, r, &[0x04, 0x00], &[])));
    bad(cap, t, "s7comm");
    c.read_cycle(cap);
    c.close(cap);
}

/// An S7comm-plus frame: header, data, trailer (when `trailer`).
fn plus_frame(version: u8, data: &[u8], trailer: bool) -> Vec<u8> {
    let mut v = vec![0x72, version];
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    if trailer {
        v.extend_from_slice(&[0x72, version, 0x00, 0x00]);
    }
    v
}

struct Plus {
    c: Iso,
    seq: u16,
    session: u32,
}

impl Plus {
    fn integrity(&self, cap: &mut Cap, version: u8) -> Vec<u8> {
        if version != 3 {
            return Vec::new();
        }
        let mut v = vec![0x20];
        v.extend((0..32).map(|_| cap.rng.range(0, 255) as u8));
        v
    }

    /// The data part of a request or response, with `body` after its header.
    fn data(
        &self,
        cap: &mut Cap,
        version: u8,
        opcode: u8,
        function: u16,
        seq: u16,
        body: &[u8],
    ) -> Vec<u8> {
        let mut d = self.integrity(cap, version);
        d.extend_from_slice(&[opcode, 0x00, 0x00]);
        d.extend_from_slice(&function.to_be_bytes());
        d.extend_from_slice(&[0x00, 0x00]);
        d.extend_from_slice(&seq.to_be_bytes());
        if opcode == 0x31 {
            d.extend_from_slice(&self.session.to_be_bytes());
            d.push(0x36);
        } else {
            d.push(0x00);
        }
        d.extend_from_slice(body);
        d
    }

    fn send(&mut self, cap: &mut Cap, dir: Dir, frame: &[u8], function: u16, request: bool) {
        let t = self.c.send(cap, dir, &dt(true, frame));
        cap.truth(t, Truth::msg("s7comm_plus", function, request));
    }

    /// A request and its response, each in one frame.
    fn exchange(&mut self, cap: &mut Cap, version: u8, function: u16, req: &[u8], resp: &[u8]) {
        self.seq = self.seq.wrapping_add(1);
        let d = self.data(cap, version, 0x31, function, self.seq, req);
        self.send(
            cap,
            Dir::ToServer,
            &plus_frame(version, &d, true),
            function,
            true,
        );
        let d = self.data(cap, version, 0x32, function, self.seq, resp);
        self.send(
            cap,
            Dir::ToClient,
            &plus_frame(version, &d, true),
            function,
            false,
        );
    }
}

fn plus_session(cap: &mut Cap) {
    let c = Iso::open(cap, HMI, PLC_S7_1500, ms(100));
    let mut p = Plus {
        c,
        seq: 0,
        session: 0x0000_0120,
    };
    p.c.connect(cap, b"SIMATIC-ROOT-HMI", b"SIMATIC-ROOT-HMI");
    // V1 CreateObject: the PLC answers with the session id.
    let mut create = vec![0x00, 0x00, 0x01, 0x20, 0x00, 0x00, 0x00, 0x00];
    create.extend_from_slice(
        b"\xa1\x00\x00\x01\x20\x82\x1f\x00\x00\xa3\x81\x69\x00\x15\x16ServerSessionVersion",
    );
    let mut created = vec![
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x87, 0xa0, 0x00, 0x00,
    ];
    created.extend_from_slice(b"\xa1\x70\x00\x03\x8a");
    p.exchange(cap, 1, 0x04ca, &create, &created);
    p.session = 0x7000_038a;
    // V3 from here on.
    p.exchange(
        cap,
        3,
        0x0542,
        &[
            0x00, 0x00, 0x03, 0x8a, 0x20, 0x01, 0x01, 0x82, 0x32, 0x01, 0x00, 0x17, 0x00,
        ],
        &[0x00, 0x00, 0x00],
    );
    // Explore: the response is fragmented over two S7comm-plus frames.
    p.seq = p.seq.wrapping_add(1);
    let d = p.data(
        cap,
        3,
        0x31,
        0x04bb,
        p.seq,
        &[0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00],
    );
    p.send(cap, Dir::ToServer, &plus_frame(3, &d, true), 0x04bb, true);
    let body: Vec<u8> = (0..600).map(|i| (i % 251) as u8).collect();
    let d = p.data(cap, 3, 0x32, 0x04bb, p.seq, &body[..300]);
    p.send(cap, Dir::ToClient, &plus_frame(3, &d, false), 0x04bb, false);
    let mut tail = p.integrity(cap, 3);
    tail.extend_from_slice(&body[300..]);
    let f = plus_frame(3, &tail, true);
    p.c.send(cap, Dir::ToClient, &dt(true, &f));
    // A GetMultiVariables response split over two COTP DT TPDUs.
    p.seq = p.seq.wrapping_add(1);
    let req = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x82, 0x41, 0x03,
    ];
    let d = p.data(cap, 3, 0x31, 0x054c, p.seq, &req);
    p.send(cap, Dir::ToServer, &plus_frame(3, &d, true), 0x054c, true);
    let vals: Vec<u8> = (0..120).map(|_| cap.rng.range(0, 255) as u8).collect();
    let d = p.data(cap, 3, 0x32, 0x054c, p.seq, &vals);
    let f = plus_frame(3, &d, true);
    p.c.send(cap, Dir::ToClient, &dt(false, &f[..80]));
    let t = p.c.send(cap, Dir::ToClient, &dt(true, &f[80..]));
    cap.truth(t, Truth::msg("s7comm_plus", 0x054c, false));
    // Cyclic reads.
    for n in 1..=5 {
        p.c.t = cap.at_jittered(secs(n), 3_000);
        let vals: Vec<u8> = (0..8).map(|_| cap.rng.range(0, 255) as u8).collect();
        p.exchange(cap, 3, 0x054c, &req, &vals);
    }
    p.exchange(
        cap,
        3,
        0x04f2,
        &[0x00, 0x00, 0x03, 0x8a, 0x01, 0x00, 0x00, 0x09, 0x01],
        &[0x00, 0x00],
    );
    // Extended keep-alive from the HMI (version 0xfe, no trailer).
    let ka = plus_frame(
        0xfe,
        &[0, 0, 0, 0, 0, 0, 0x01, 0x2c, 0, 0, 0, 0, 0, 0, 0, 0],
        false,
    );
    p.send(cap, Dir::ToServer, &ka, 0, true);
    p.exchange(
        cap,
        3,
        0x04d4,
        &[0x70, 0x00, 0x03, 0x8a, 0x00],
        &[0x00, 0x00],
    );
    p.c.close(cap);
}

fn plus_abnormal(cap: &mut Cap) {
    let c = Iso::open(cap, EWS, PLC_S7_1500, ms(100));
    let mut p = Plus {
        c,
        seq: 0,
        session: 0x0000_0120,
    };
    p.c.connect(cap, b"SIMATIC-ROOT-ES", b"SIMATIC-ROOT-ES");
    // V1 CreateObject: the PLC answers with the session id.
    let mut create = vec![0x00, 0x00, 0x01, 0x20, 0x00, 0x00, 0x00, 0x00];
    create.extend_from_slice(
        b"\xa1\x00\x00\x01\x20\x82\x1f\x00\x00\xa3\x81\x69\x00\x15\x16ServerSessionVersion",
    );
    let mut created = vec![
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x87, 0xa0, 0x00, 0x00,
    ];
    created.extend_from_slice(b"\xa1\x70\x00\x04\x1d");
    p.exchange(cap, 1, 0x04ca, &create, &created);
    p.session = 0x7000_041d;
    p.exchange(
        cap,
        3,
        0x0542,
        &[
            0x00, 0x00, 0x04, 0x1d, 0x20, 0x01, 0x01, 0x82, 0x32, 0x01, 0x00, 0x17, 0x00,
        ],
        &[0x00, 0x00, 0x00],
    );
    // SetVariable on the CPU execution unit (object 0x34), attribute
    // operatingStateREQ (2167, VLQ 0x90 0x77): 1 = STOP.
    p.c.t = cap.at_jittered(secs(1), 5_000);
    let state = |v: u8| {
        [
            0x00, 0x00, 0x00, 0x34, 0x01, 0x90, 0x77, 0x00, 0x04, v, 0x00,
        ]
    };
    p.exchange(cap, 3, 0x04f2, &state(1), &[0x00, 0x00]);
    // DeleteObject of a program block (relation id 0x8a0e0014).
    p.c.t = cap.at_jittered(secs(2), 5_000);
    p.exchange(
        cap,
        3,
        0x04d4,
        &[0x8a, 0x0e, 0x00, 0x14, 0x00],
        &[0x00, 0x00],
    );
    // Operating state back to RUN (3).
    p.c.t = cap.at_jittered(secs(3), 5_000);
    p.exchange(cap, 3, 0x04f2, &state(3), &[0x00, 0x00]);

    // Unknown opcode 0x35 after the integrity part: malformed only.
    p.c.t = cap.at_jittered(secs(4), 5_000);
    p.seq = p.seq.wrapping_add(1);
    let mut d = p.data(cap, 3, 0x31, 0x04fc, p.seq, &[0x00, 0x00, 0x00, 0x34, 0x00]);
    d[33] = 0x35;
    let t =
        p.c.send(cap, Dir::ToServer, &dt(true, &plus_frame(3, &d, true)));
    cap.truth(t, Truth::msg("s7comm_plus", 0x04fc, true).into_malformed());
    // Data length 1024 in a frame holding 58 bytes of data (62 with the trailer).
    p.seq = p.seq.wrapping_add(1);
    let d = p.data(cap, 3, 0x31, 0x04f2, p.seq, &state(1));
    let mut f = plus_frame(3, &d, true);
    f[2..4].copy_from_slice(&1024u16.to_be_bytes());
    let t = p.c.send(cap, Dir::ToServer, &dt(true, &f));
    cap.truth(t, Truth::msg("s7comm_plus", 0x04f2, true).into_malformed());
    // The data header ends after the opcode and its 2 reserved bytes.
    let mut d = p.integrity(cap, 3);
    d.extend_from_slice(&[0x31, 0x00, 0x00]);
    let t =
        p.c.send(cap, Dir::ToServer, &dt(true, &plus_frame(3, &d, true)));
    cap.truth(t, Truth::msg("s7comm_plus", 0, true).into_malformed());
    p.c.close(cap);
}
