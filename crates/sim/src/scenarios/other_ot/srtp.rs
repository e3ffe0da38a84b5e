//! GE SRTP scenarios.

use otwatch_core::Timestamp;

use super::super::hosts::{EWS, HMI, PLC_GE};
use super::{after, send, send_malformed};
use crate::builder::{Cap, ms, secs};
use crate::transport::{Channel, Dir, TcpConn};

pub(super) const NORMAL: &str = "The HMI (10.10.1.10) connects to the GE PACSystems RX3i \
(10.10.1.23) on SRTP port 18245: the all-zero initialisation exchange, Return Controller Type and \
ID (0x43), then ten one-second cycles of Read System Memory of 10 registers %R1-%R10 (0x04, \
segment 0x08, answered with data after the header), Read System Memory of 2 bytes of %I (segment \
0x10, answered inline) and PLC Short Status (0x00).";

pub(super) const STOP: &str = "An engineering workstation (192.168.10.50, routed) takes control of the RX3i (10.10.1.23) over \
SRTP: initialisation, Programmer Logon (0x20), Change Privilege Level (0x21), Set PLC State to \
STOP (0x23), Write System Memory to %R100 (0x07), Program Load (0x40, program block download), \
Clear Fault Table (0x39) and Set PLC State to RUN.";

pub(super) const MALFORMED: &str = "The session of srtp_stop (192.168.10.50 -> 10.10.1.23) with a request carrying the mailbox \
message type 0x55 (malformed only, not answered) before the final Set PLC State.";

const PORT: u16 = 18245;
const HDR: usize = 56;

fn req(seq: u8, service: u8, seg: u8, addr: u16, len: u16, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; HDR];
    v[0] = 2;
    v[2] = seq;
    v[4..6].copy_from_slice(&(data.len() as u16).to_le_bytes());
    v[9] = 1;
    v[17] = 1;
    v[30] = seq;
    v[31] = 0xc0;
    v[36] = 0x10;
    v[37] = 0x0e;
    v[40] = 1;
    v[41] = 1;
    v[42] = service;
    v[43] = seg;
    v[44..46].copy_from_slice(&addr.to_le_bytes());
    v[46..48].copy_from_slice(&len.to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn resp(seq: u8, inline: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; HDR];
    v[0] = 3;
    v[2] = seq;
    v[4..6].copy_from_slice(&(data.len() as u16).to_le_bytes());
    v[30] = seq;
    v[31] = if data.is_empty() { 0xd4 } else { 0x94 };
    let n = inline.len().min(6);
    v[44..44 + n].copy_from_slice(&inline[..n]);
    v.extend_from_slice(data);
    v
}

struct Client {
    ch: TcpConn,
    seq: u8,
}

impl Client {
    fn init(&mut self, cap: &mut Cap, t: Timestamp) -> Timestamp {
        send(
            cap,
            &mut self.ch,
            t,
            Dir::ToServer,
            &[0u8; HDR],
            ("srtp", 0x100, true),
        );
        let mut r = vec![0u8; HDR];
        r[0] = 1;
        r[8] = 0x0f;
        let t1 = after(cap, t, 500, 2_000);
        send(
            cap,
            &mut self.ch,
            t1,
            Dir::ToClient,
            &r,
            ("srtp", 0x100, false),
        );
        t1
    }

    #[allow(clippy::too_many_arguments)]
    fn exchange(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        service: u8,
        seg: u8,
        addr: u16,
        len: u16,
        data: &[u8],
        answer: (&[u8], &[u8]),
    ) -> Timestamp {
        self.seq = self.seq.wrapping_add(1);
        let q = req(self.seq, service, seg, addr, len, data);
        send(
            cap,
            &mut self.ch,
            t,
            Dir::ToServer,
            &q,
            ("srtp", service as u16, true),
        );
        let t1 = after(cap, t, 1_000, 5_000);
        let r = resp(self.seq, answer.0, answer.1);
        send(
            cap,
            &mut self.ch,
            t1,
            Dir::ToClient,
            &r,
            ("srtp", service as u16, false),
        );
        t1
    }
}

pub(super) fn normal(cap: &mut Cap) {
    let ch = TcpConn::new(cap, HMI, PLC_GE, PORT);
    let mut c = Client { ch, seq: 0 };
    let t = c.ch.handshake(cap, cap.at(ms(60)));
    let at = after(cap, t, 200, 600);
    let t = c.init(cap, at);
    let mut id = b"IC695CPE305\0\0\0\0\0".to_vec();
    id.extend_from_slice(&[0x09, 0x40, 0, 0]);
    let at = after(cap, t, 200, 600);
    let t = c.exchange(cap, at, 0x43, 0, 0, 0, &[], (&[], &id));
    let at = after(cap, t, 40_000, 41_000);
    c.ch.ack(cap, at, Dir::ToClient);
    for n in 1..=10 {
        let t = cap.at_jittered(secs(n), 2_000);
        let regs: Vec<u8> = (0..10u16)
            .flat_map(|i| (i * 3 + n as u16).to_le_bytes())
            .collect();
        let t = c.exchange(cap, t, 0x04, 0x08, 0, 10, &[], (&[], &regs));
        let at = after(cap, t, 200, 600);
        let t = c.exchange(cap, at, 0x04, 0x10, 0, 2, &[], (&[0x81, 0x04], &[]));
        let at = after(cap, t, 200, 600);
        let t = c.exchange(
            cap,
            at,
            0x00,
            0,
            0,
            0,
            &[],
            (&[0x00, 0x00, 0x34, 0x02], &[]),
        );
        let at = after(cap, t, 40_000, 41_000);
        c.ch.ack(cap, at, Dir::ToClient);
    }
    c.ch.close(cap, cap.at(secs(11)));
}

pub(super) fn stop(cap: &mut Cap) {
    stop_session(cap, false);
}

pub(super) fn malformed(cap: &mut Cap) {
    stop_session(cap, true);
}

/// The stop session; with `bad`, the malformed request are interleaved.
fn stop_session(cap: &mut Cap, bad: bool) {
    let ch = TcpConn::new(cap, EWS, PLC_GE, PORT);
    let mut c = Client { ch, seq: 0x40 };
    let step = |cap: &mut Cap, t: Timestamp| after(cap, t, 10_000, 80_000);
    let mut t = c.ch.handshake(cap, cap.at(ms(100)));
    let at = step(cap, t);
    t = c.init(cap, at);
    let at = step(cap, t);
    t = c.exchange(cap, at, 0x20, 0, 0, 8, b"PASSWORD", (&[], &[]));
    let at = step(cap, t);
    t = c.exchange(cap, at, 0x21, 0, 0, 0, &[0x04], (&[], &[]));
    let at = step(cap, t);
    t = c.exchange(cap, at, 0x23, 0, 0, 0, &[0x00], (&[], &[]));
    let w: Vec<u8> = (0..8u16).flat_map(|i| (1000 + i).to_le_bytes()).collect();
    let at = step(cap, t);
    t = c.exchange(cap, at, 0x07, 0x08, 99, 8, &w, (&[], &[]));
    let prog: Vec<u8> = (0..400u32).map(|i| (i * 31 % 251) as u8).collect();
    let at = step(cap, t);
    t = c.exchange(cap, at, 0x40, 0, 0, 400, &prog, (&[], &[]));
    let at = step(cap, t);
    t = c.exchange(cap, at, 0x39, 0, 0, 0, &[], (&[], &[]));
    if bad {
        let mut bad = req(0x7f, 0x23, 0, 0, 0, &[]);
        bad[31] = 0x55;
        t = step(cap, t);
        send_malformed(cap, &mut c.ch, t, Dir::ToServer, &bad, "srtp");
    }
    let at = step(cap, t);
    t = c.exchange(cap, at, 0x23, 0, 0, 0, &[0x01], (&[], &[]));
    let at = after(cap, t, 100_000, 200_000);
    c.ch.close(cap, at);
}
