//! Triconex TriStation scenarios.

use otwatch_core::Timestamp;

use super::hosts::{TRICON, TRISTATION_EWS};
use super::{after, send, send_malformed};
use crate::builder::{Cap, ms, secs};
use crate::transport::{Dir, UdpFlow};

pub(super) const NORMAL: &str = "The TriStation 1131 workstation (10.10.5.10) monitors the Tricon \
safety controller (10.10.5.70) over UDP 1502: TCM connect request and reply, get module versions \
(reply with controller assembly 7400210, revision A03, serial 01234567), then five get CP status \
requests one second apart, a get chassis status, and a disconnect.";

pub(super) const DOWNLOAD: &str = "A TRITON-like attack from the safety engineering workstation (10.10.5.10) on the Tricon \
(10.10.5.70), UDP 1502: connect, get CP status, start download change (permitted), three \
allocate program commands carrying program code, end download change (modification accepted), \
run program, then halt program (the safety program stops), a run program that the controller \
rejects, and a disconnect.";

pub(super) const MALFORMED: &str = "The attack of tristation_download (10.10.5.10 -> 10.10.5.70) with two malformed frames \
(malformed only, not answered): a TCM header whose data length disagrees with the datagram, \
before end download change, and a frame with the undefined TCM opcode 42, before the rejected \
run program.";

const PORT: u16 = 1502;

fn tcm(opcode: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![opcode, 0];
    v.extend_from_slice(&(data.len() as u16).to_le_bytes());
    v.extend_from_slice(data);
    // CRC16 trailer (not verified by otwatch).
    let c = data
        .iter()
        .fold(0xffffu16, |a, &b| a.rotate_left(3) ^ b as u16);
    v.extend_from_slice(&c.to_le_bytes());
    v
}

fn command(code: u8, seq: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x00, 0x01, code, seq, 0, 0, 0, 0];
    v.extend_from_slice(&((data.len() + 10) as u16).to_le_bytes());
    v.extend_from_slice(data);
    tcm(5, &v)
}

struct Client {
    ch: UdpFlow,
    seq: u8,
}

impl Client {
    fn connect(&mut self, cap: &mut Cap, t: Timestamp) -> Timestamp {
        send(
            cap,
            &mut self.ch,
            t,
            Dir::ToServer,
            &tcm(1, &[]),
            ("tristation", 0x100, true),
        );
        let t1 = after(cap, t, 1_000, 4_000);
        send(
            cap,
            &mut self.ch,
            t1,
            Dir::ToClient,
            &tcm(2, &[]),
            ("tristation", 0x200, false),
        );
        t1
    }

    fn exchange(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        code: u8,
        data: &[u8],
        reply: u8,
        rdata: &[u8],
    ) -> Timestamp {
        self.seq = self.seq.wrapping_add(1);
        let q = command(code, self.seq, data);
        send(
            cap,
            &mut self.ch,
            t,
            Dir::ToServer,
            &q,
            ("tristation", 0x500 | code as u16, true),
        );
        let t1 = after(cap, t, 2_000, 12_000);
        let r = command(reply, self.seq, rdata);
        send(
            cap,
            &mut self.ch,
            t1,
            Dir::ToClient,
            &r,
            ("tristation", 0x500 | reply as u16, false),
        );
        t1
    }

    fn disconnect(&mut self, cap: &mut Cap, t: Timestamp) {
        send(
            cap,
            &mut self.ch,
            t,
            Dir::ToServer,
            &tcm(4, &[]),
            ("tristation", 0x400, true),
        );
        let t1 = after(cap, t, 1_000, 4_000);
        send(
            cap,
            &mut self.ch,
            t1,
            Dir::ToClient,
            &tcm(3, &[]),
            ("tristation", 0x300, false),
        );
    }
}

fn cp_status() -> Vec<u8> {
    let mut v = vec![0u8; 60];
    v[3] = 0; // running
    v[4] = 2; // key switch RUN
    v
}

fn module_versions() -> Vec<u8> {
    let mut v = vec![0u8; 481 - 14];
    v[0] = 1;
    v[1] = 0xff;
    v[464 - 14..470 - 14].copy_from_slice(b"740021");
    v[470 - 14..473 - 14].copy_from_slice(b"A03");
    v[473 - 14..481 - 14].copy_from_slice(b"01234567");
    v
}

pub(super) fn normal(cap: &mut Cap) {
    let ch = UdpFlow::new(cap, TRISTATION_EWS, TRICON, 50_402, PORT);
    let mut c = Client { ch, seq: 0 };
    let t = c.connect(cap, cap.at(ms(50)));
    let at = after(cap, t, 5_000, 20_000);
    c.exchange(cap, at, 54, &[], 151, &module_versions());
    for n in 1..=5 {
        let t = cap.at_jittered(secs(n), 3_000);
        c.exchange(cap, t, 19, &[], 108, &cp_status());
    }
    let t = c.exchange(cap, cap.at(secs(6)), 24, &[], 119, &[0u8; 80]);
    let at = after(cap, t, 50_000, 90_000);
    c.disconnect(cap, at);
}

pub(super) fn download(cap: &mut Cap) {
    download_session(cap, false);
}

pub(super) fn malformed(cap: &mut Cap) {
    download_session(cap, true);
}

/// The download session; with `bad`, the malformed frames are interleaved.
fn download_session(cap: &mut Cap, bad: bool) {
    let ch = UdpFlow::new(cap, TRISTATION_EWS, TRICON, 50_402, PORT);
    let mut c = Client { ch, seq: 0x20 };
    let step = |cap: &mut Cap, t: Timestamp| after(cap, t, 20_000, 150_000);
    let mut t = c.connect(cap, cap.at(ms(50)));
    let at = step(cap, t);
    t = c.exchange(cap, at, 19, &[], 108, &cp_status());
    let at = step(cap, t);
    t = c.exchange(cap, at, 1, &[0x00, 0x00, 0x01, 0x00], 102, &[]);
    for chunk in 0..3u8 {
        let mut prog = vec![chunk, 0x00, 0x10, 0x00];
        prog.extend((0..200u16).map(|i| (i as u8) ^ (0x5a + chunk)));
        let at = after(cap, t, 5_000, 20_000);
        t = c.exchange(cap, at, 55, &prog, 153, &[chunk]);
    }
    if bad {
        // A TCM header announcing 200 data bytes in a 20-byte datagram.
        let mut bad = command(11, 0x7e, &[]);
        bad[2] = 200;
        t = step(cap, t);
        send_malformed(cap, &mut c.ch, t, Dir::ToServer, &bad, "tristation");
    }
    let at = step(cap, t);
    t = c.exchange(cap, at, 11, &[], 103, &[]);
    let at = step(cap, t);
    t = c.exchange(cap, at, 20, &[], 109, &[]);
    let at = step(cap, t);
    t = c.exchange(cap, at, 21, &[], 110, &[]);
    if bad {
        t = step(cap, t);
        send_malformed(
            cap,
            &mut c.ch,
            t,
            Dir::ToServer,
            &tcm(42, &[1, 2, 3]),
            "tristation",
        );
    }
    let at = step(cap, t);
    t = c.exchange(cap, at, 20, &[], 203, &[]);
    let at = step(cap, t);
    c.disconnect(cap, at);
}
