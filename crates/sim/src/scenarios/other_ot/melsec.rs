//! Mitsubishi MELSEC scenarios: SLMP 3E/4E binary frames and MELSOFT.

use otwatch_core::Timestamp;

use super::super::hosts::{EWS, HMI};
use super::hosts::MELSEC_PLC;
use super::{after, send, send_malformed};
use crate::builder::{Cap, ms, secs};
use crate::transport::{Channel, Dir, TcpConn, UdpFlow};

pub(super) const NORMAL: &str = "The HMI (10.10.1.10) polls a Mitsubishi MELSEC iQ-R PLC \
(10.10.2.41) with SLMP 3E binary frames over TCP port 5007: Read CPU model (0x0101, answered \
R04CPU, model code 0x4800) at connection, then ten one-second cycles of batch read of 10 words \
from D100 (0x0401/0000), batch read of 16 bits from M0 (0x0401/0001) and a batch write of 2 words \
to D200 (0x1401/0000).";

pub(super) const REMOTE_STOP: &str = "An engineering workstation (192.168.10.50, routed) operates the MELSEC PLC (10.10.2.41) \
remotely with SLMP 4E frames over UDP 5006: remote STOP (0x1002), a batch write of 4 words to \
D0, remote latch clear (0x1005), remote RESET (0x1006, refused with end code 0x4013) and remote \
RUN (0x1001). Then GX Works on the same workstation talks MELSOFT to the PLC over TCP 5562: two \
device access exchanges (0x0410, 0x0411) and a MELSOFT remote STOP (0x1002).";

pub(super) const MALFORMED: &str = "The session of melsec_remote_stop (192.168.10.50 -> 10.10.2.41) with, after the remote RUN, an \
SLMP 4E batch write of 3 words that carries 2 data bytes (malformed only, the PLC does not \
answer).";

fn slmp3e(req: bool, body: &[u8]) -> Vec<u8> {
    let mut v = if req {
        vec![0x50, 0x00]
    } else {
        vec![0xd0, 0x00]
    };
    v.extend_from_slice(&[0x00, 0xff, 0xff, 0x03, 0x00]);
    v.extend_from_slice(&(body.len() as u16).to_le_bytes());
    v.extend_from_slice(body);
    v
}

fn slmp4e(req: bool, serial: u16, body: &[u8]) -> Vec<u8> {
    let mut v = if req {
        vec![0x54, 0x00]
    } else {
        vec![0xd4, 0x00]
    };
    v.extend_from_slice(&serial.to_le_bytes());
    v.extend_from_slice(&[0, 0, 0x00, 0xff, 0xff, 0x03, 0x00]);
    v.extend_from_slice(&(body.len() as u16).to_le_bytes());
    v.extend_from_slice(body);
    v
}

/// Request body: monitoring timer, command, subcommand, data.
fn req_body(cmd: u16, sub: u16, data: &[u8]) -> Vec<u8> {
    let mut v = 0x0010u16.to_le_bytes().to_vec();
    v.extend_from_slice(&cmd.to_le_bytes());
    v.extend_from_slice(&sub.to_le_bytes());
    v.extend_from_slice(data);
    v
}

/// Response body: end code and data.
fn resp_body(end: u16, data: &[u8]) -> Vec<u8> {
    let mut v = end.to_le_bytes().to_vec();
    v.extend_from_slice(data);
    v
}

/// Q/L device specification: head device (3 bytes), device code, points.
fn device(head: u32, code: u8, points: u16) -> Vec<u8> {
    let mut v = head.to_le_bytes()[..3].to_vec();
    v.push(code);
    v.extend_from_slice(&points.to_le_bytes());
    v
}

fn exchange(
    cap: &mut Cap,
    ch: &mut dyn Channel,
    t: Timestamp,
    cmd: u16,
    req: Vec<u8>,
    resp: Vec<u8>,
) -> Timestamp {
    send(cap, ch, t, Dir::ToServer, &req, ("melsec", cmd, true));
    let t1 = after(cap, t, 1_000, 6_000);
    send(cap, ch, t1, Dir::ToClient, &resp, ("melsec", cmd, false));
    t1
}

pub(super) fn normal(cap: &mut Cap) {
    let mut c = TcpConn::new(cap, HMI, MELSEC_PLC, 5007);
    let t = c.handshake(cap, cap.at(ms(80)));
    let mut model = b"R04CPU          ".to_vec();
    model.extend_from_slice(&0x4800u16.to_le_bytes());
    let q = slmp3e(true, &req_body(0x0101, 0, &[]));
    let r = slmp3e(false, &resp_body(0, &model));
    let at = after(cap, t, 300, 900);
    let t = exchange(cap, &mut c, at, 0x0101, q, r);
    let at = after(cap, t, 40_000, 41_000);
    c.ack(cap, at, Dir::ToClient);
    for n in 1..=10 {
        let t = cap.at_jittered(secs(n), 2_000);
        let q = slmp3e(true, &req_body(0x0401, 0, &device(100, 0xa8, 10)));
        let words: Vec<u8> = (0..10u16)
            .flat_map(|i| (i * 7 + n as u16).to_le_bytes())
            .collect();
        let r = slmp3e(false, &resp_body(0, &words));
        let t = exchange(cap, &mut c, t, 0x0401, q, r);
        let q = slmp3e(true, &req_body(0x0401, 1, &device(0, 0x90, 16)));
        let r = slmp3e(
            false,
            &resp_body(0, &[0x10, 0x01, 0x00, 0x11, 0x10, 0x00, 0x01, 0x00]),
        );
        let at = after(cap, t, 200, 600);
        let t = exchange(cap, &mut c, at, 0x0401, q, r);
        let mut w = device(200, 0xa8, 2);
        w.extend_from_slice(&[n as u8, 0, 0x2c, 0x01]);
        let q = slmp3e(true, &req_body(0x1401, 0, &w));
        let r = slmp3e(false, &resp_body(0, &[]));
        let at = after(cap, t, 200, 600);
        let t = exchange(cap, &mut c, at, 0x1401, q, r);
        let at = after(cap, t, 40_000, 41_000);
        c.ack(cap, at, Dir::ToClient);
    }
    c.close(cap, cap.at(secs(11)));
}

fn melsoft(response: bool, cmd: u16, reference: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![
        if response { 0xd7 } else { 0x57 },
        0x00,
        0,
        0,
        0,
        0x11,
        0x11,
        0x07,
        0,
        0,
    ];
    v.extend_from_slice(&[0xff, 0xff, 0x03, 0, 0, 0, 0, 0, 0]);
    let chdr = if response { 0x1a } else { 0x18 };
    v.extend_from_slice(&((chdr + 6 + payload.len()) as u16).to_le_bytes());
    let mut h = vec![0u8; chdr];
    h[0] = if response { 0x9c } else { 0x1c };
    h[1] = 0x02;
    h[2] = (chdr - 2) as u8;
    h[3] = 0x14;
    v.extend_from_slice(&h);
    v.extend_from_slice(&cmd.to_be_bytes());
    v.extend_from_slice(&reference.to_le_bytes());
    v.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

pub(super) fn remote_stop(cap: &mut Cap) {
    remote_stop_session(cap, false);
}

pub(super) fn malformed(cap: &mut Cap) {
    remote_stop_session(cap, true);
}

/// The remote_stop session; with `bad`, the malformed batch write are interleaved.
fn remote_stop_session(cap: &mut Cap, bad: bool) {
    let mut u = UdpFlow::new(cap, EWS, MELSEC_PLC, 49_321, 5006);
    let mut t = cap.at(ms(100));
    let mut serial = 0x0100u16;
    let mut step =
        |cap: &mut Cap, u: &mut UdpFlow, t: Timestamp, cmd: u16, data: &[u8], end: u16| {
            serial += 1;
            let q = slmp4e(true, serial, &req_body(cmd, 0, data));
            let r = slmp4e(false, serial, &resp_body(end, &[]));
            let t = after(cap, t, 20_000, 200_000);
            exchange(cap, u, t, cmd, q, r)
        };
    t = step(cap, &mut u, t, 0x1002, &[0x01, 0x00], 0);
    let mut w = device(0, 0xa8, 4);
    w.extend_from_slice(&[0xff, 0xff, 0, 0, 0x34, 0x12, 0, 0]);
    t = step(cap, &mut u, t, 0x1401, &w, 0);
    t = step(cap, &mut u, t, 0x1005, &[0x01, 0x00], 0);
    t = step(cap, &mut u, t, 0x1006, &[0x01, 0x00], 0x4013);
    t = step(cap, &mut u, t, 0x1001, &[0x01, 0x00, 0x00, 0x00], 0);
    if bad {
        // Batch write of 3 words carrying 2 bytes: malformed only, no answer.
        let mut bad = device(10, 0xa8, 3);
        bad.extend_from_slice(&[0xaa, 0xbb]);
        let q = slmp4e(true, 0x0200, &req_body(0x1401, 0, &bad));
        t = after(cap, t, 20_000, 200_000);
        send_malformed(cap, &mut u, t, Dir::ToServer, &q, "melsec");
    }

    let mut c = TcpConn::new(cap, EWS, MELSEC_PLC, 5562);
    let at = after(cap, t, 500_000, 900_000);
    let mut t = c.handshake(cap, at);
    let mut reference = 0x3ff0u16;
    for cmd in [0x0410u16, 0x0411, 0x1002] {
        reference += 1;
        t = after(cap, t, 2_000, 9_000);
        let q = melsoft(false, cmd, reference, &[0u8; 36]);
        let r = melsoft(true, cmd, reference, &[0u8; 12]);
        t = exchange(cap, &mut c, t, cmd, q, r);
    }
    let at = after(cap, t, 100_000, 200_000);
    c.close(cap, at);
}
