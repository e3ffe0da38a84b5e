//! HART-IP scenarios.

use otwatch_core::Timestamp;

use super::super::hosts::{EWS, HMI};
use super::hosts::HART_GW;
use super::{after, send, send_invalid, send_malformed};
use crate::builder::{Cap, ms, secs};
use crate::transport::{Channel, Dir, TcpConn, UdpFlow};

pub(super) const NORMAL: &str = "The asset management station on the HMI (10.10.1.10) talks HART-IP \
over UDP 5094 to a HART multiplexer (10.10.2.42): session initiate, then through pass-through \
messages it reads the unique identifier of the temperature transmitter at polling address 0 \
(command 0: manufacturer 0x26, device type 0x260a, device id 0x123456), its tag (command 13: \
TT-101), and five times its dynamic variables (command 3) one second apart, with a keep-alive, \
and closes the session.";

pub(super) const MALFORMED: &str = "An engineering workstation (192.168.10.50, routed) opens a HART-IP \
session over TCP 5094 with the multiplexer (10.10.2.42) and sends a message with HART-IP version 7 \
(malformed only, no answer), a pass-through message whose HART PDU is truncated (a pass-through \
message and malformed; the gateway answers NAK), a write of the tag (command 18, answered) and a \
device reset (command 42, answered), then closes the session.";

const PORT: u16 = 5094;

fn msg(ty: u8, id: u8, seq: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![1, ty, id, 0];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn pdu(delim: u8, addr: &[u8], cmd: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![delim];
    v.extend_from_slice(addr);
    v.push(cmd);
    v.push(body.len() as u8);
    v.extend_from_slice(body);
    v.push(0x5a); // check byte (not verified by otwatch)
    v
}

struct Client<C> {
    ch: C,
    seq: u16,
}

impl<C: Channel> Client<C> {
    /// HART-IP request `id` with `body`, answered with `resp` (message type 1).
    fn exchange(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        id: u8,
        fc: u16,
        body: &[u8],
        resp: &[u8],
    ) -> Timestamp {
        self.seq = self.seq.wrapping_add(1);
        send(
            cap,
            &mut self.ch,
            t,
            Dir::ToServer,
            &msg(0, id, self.seq, body),
            ("hart_ip", fc, true),
        );
        let t1 = after(cap, t, 2_000, 15_000);
        send(
            cap,
            &mut self.ch,
            t1,
            Dir::ToClient,
            &msg(1, id, self.seq, resp),
            ("hart_ip", fc, false),
        );
        t1
    }

    fn command(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        cmd: u8,
        req: &[u8],
        resp: &[u8],
    ) -> Timestamp {
        let addr = [0xa6, 0x0a, 0x12, 0x34, 0x56];
        let q = pdu(0x82, &addr, cmd, req);
        let mut rb = vec![0x00, 0x00];
        rb.extend_from_slice(resp);
        let r = pdu(0x86, &addr, cmd, &rb);
        self.exchange(cap, t, 3, 0x300 | cmd as u16, &q, &r)
    }
}

fn cmd0_resp() -> Vec<u8> {
    let mut d = vec![
        0x00,
        0x00,
        254,
        0x26,
        0x0a,
        5,
        7,
        3,
        2,
        0x08 | 1,
        0,
        0x12,
        0x34,
        0x56,
        5,
        4,
    ];
    d.extend_from_slice(&[0, 1, 0, 0x00, 0x26, 0, 0x26, 1]);
    d
}

pub(super) fn normal(cap: &mut Cap) {
    let ch = UdpFlow::new(cap, HMI, HART_GW, 50_514, PORT);
    let mut c = Client { ch, seq: 0 };
    let t = c.exchange(
        cap,
        cap.at(ms(30)),
        0,
        0,
        &[1, 0, 0, 0xea, 0x60],
        &[1, 0, 0, 0xea, 0x60],
    );
    // Command 0 by polling address 0 (short frame).
    c.seq += 1;
    let t = after(cap, t, 1_000, 3_000);
    let q = pdu(0x02, &[0x80], 0, &[]);
    send(
        cap,
        &mut c.ch,
        t,
        Dir::ToServer,
        &msg(0, 3, c.seq, &q),
        ("hart_ip", 0x300, true),
    );
    let t = after(cap, t, 20_000, 60_000);
    let r = pdu(0x06, &[0x80], 0, &cmd0_resp());
    send(
        cap,
        &mut c.ch,
        t,
        Dir::ToClient,
        &msg(1, 3, c.seq, &r),
        ("hart_ip", 0x300, false),
    );
    let tag = [0x51, 0x4b, 0x71, 0xc3, 0x18, 0x20];
    let mut d13 = tag.to_vec();
    d13.extend_from_slice(&[
        0x82, 0x08, 0x20, 0x82, 0x08, 0x20, 0x82, 0x08, 0x20, 0x82, 0x08, 0x20,
    ]);
    d13.extend_from_slice(&[10, 6, 124]);
    let at = after(cap, t, 1_000, 3_000);
    c.command(cap, at, 13, &[], &d13);
    for n in 1..=5 {
        let t = cap.at_jittered(secs(n), 3_000);
        let mut v = vec![0x41, 0x80, 0, 0];
        v.extend_from_slice(&[32, 0x42, 0x48, 0x00, n as u8]);
        let t = c.command(cap, t, 3, &[], &v);
        if n == 3 {
            let at = after(cap, t, 5_000, 9_000);
            c.exchange(cap, at, 2, 0x200, &[], &[]);
        }
    }
    c.exchange(cap, cap.at(secs(6)), 1, 0x100, &[], &[]);
}

pub(super) fn malformed(cap: &mut Cap) {
    let ch = TcpConn::new(cap, EWS, HART_GW, PORT);
    let mut c = Client { ch, seq: 0x10 };
    let step = |cap: &mut Cap, t: Timestamp| after(cap, t, 10_000, 90_000);
    let mut t = c.ch.handshake(cap, cap.at(ms(90)));
    let at = step(cap, t);
    t = c.exchange(
        cap,
        at,
        0,
        0,
        &[1, 0, 0, 0x75, 0x30],
        &[1, 0, 0, 0x75, 0x30],
    );
    let mut bad = msg(0, 2, 0x99, &[]);
    bad[0] = 7;
    t = step(cap, t);
    send_malformed(cap, &mut c.ch, t, Dir::ToServer, &bad, "hart_ip");
    c.seq += 1;
    t = step(cap, t);
    let trunc = msg(0, 3, c.seq, &[0x82, 0xa6, 0x0a]);
    send_invalid(
        cap,
        &mut c.ch,
        t,
        Dir::ToServer,
        &trunc,
        ("hart_ip", 0x300, true),
    );
    t = after(cap, t, 2_000, 9_000);
    send(
        cap,
        &mut c.ch,
        t,
        Dir::ToClient,
        &msg(15, 3, c.seq, &[]),
        ("hart_ip", 0x300, false),
    );
    let mut w18 = [0x51, 0x4b, 0x71, 0xc3, 0x18, 0x20].to_vec();
    for _ in 0..4 {
        w18.extend_from_slice(&[0x82, 0x08, 0x20]);
    }
    w18.extend_from_slice(&[1, 1, 126]);
    let at = step(cap, t);
    t = c.command(cap, at, 18, &w18, &w18);
    let at = step(cap, t);
    t = c.command(cap, at, 42, &[], &[]);
    let at = step(cap, t);
    t = c.exchange(cap, at, 1, 0x100, &[], &[]);
    let at = after(cap, t, 100_000, 200_000);
    c.ch.close(cap, at);
}
