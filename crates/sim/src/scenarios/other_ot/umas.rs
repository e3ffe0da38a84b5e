//! Schneider UMAS (Modbus function 90) scenarios.

use otwatch_core::Timestamp;

use super::super::hosts::{EWS, HMI, PLC_SCHNEIDER};
use super::{after, send, send_invalid};
use crate::builder::{Cap, ms, secs};
use crate::transport::{Channel, Dir, TcpConn};

pub(super) const MONITORING: &str = "The HMI (10.10.1.10) supervises the Schneider Electric M340 \
(10.10.1.21) with UMAS over Modbus/TCP port 502: at connection it reads the PLC identification \
(READ_ID, answered with CPU BMX P34 2020, firmware 3.20) and the PLC information (READ_PLC_INFO); \
then, once a second for eight cycles, it checks the PLC state (CHECK_PLC), reads variables \
(READ_VARIABLES) and polls holding registers with plain Modbus function 3.";

pub(super) const ENGINEERING: &str = "An engineering workstation (192.168.10.50, routed) takes the M340 (10.10.1.21) over with UMAS: \
INIT_COMM, READ_ID, TAKE_PLC_RESERVATION (session key 0x3c), STOP_PLC, a program transfer to \
the PLC (INITIALIZE_UPLOAD, four UPLOAD_BLOCKs, END_STRATEGY_UPLOAD), WRITE_VARIABLES, \
START_PLC, a WRITE_COILS_REGISTERS refused with status 0xFD, and RELEASE_PLC_RESERVATION.";

pub(super) const MALFORMED: &str = "The engineering session of umas_engineering (192.168.10.50 -> 10.10.1.21) with two malformed \
UMAS requests interleaved: an UPLOAD_BLOCK whose length field announces 512 bytes but carries \
16 (the PLC answers 0xFD) and a function-90 PDU with only the session byte (no answer). Each is \
also a UMAS message (functions 0x31 and 0).";

const PORT: u16 = 502;

struct Client {
    ch: TcpConn,
    tid: u16,
}

fn adu(tid: u16, pdu: &[u8]) -> Vec<u8> {
    let mut v = tid.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
    v.push(0);
    v.extend_from_slice(pdu);
    v
}

impl Client {
    /// UMAS request `func` with `data` in session `key`, answered by `status`
    /// and `resp`; returns the response time.
    #[allow(clippy::too_many_arguments)]
    fn umas(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        key: u8,
        func: u8,
        data: &[u8],
        status: u8,
        resp: &[u8],
    ) -> Timestamp {
        self.tid = self.tid.wrapping_add(1);
        let mut req = vec![0x5a, key, func];
        req.extend_from_slice(data);
        send(
            cap,
            &mut self.ch,
            t,
            Dir::ToServer,
            &adu(self.tid, &req),
            ("umas", func as u16, true),
        );
        let t1 = after(cap, t, 800, 4_000);
        let mut r = vec![0x5a, key, status];
        r.extend_from_slice(resp);
        send(
            cap,
            &mut self.ch,
            t1,
            Dir::ToClient,
            &adu(self.tid, &r),
            ("umas", func as u16, false),
        );
        t1
    }

    fn modbus_read(&mut self, cap: &mut Cap, t: Timestamp) -> Timestamp {
        self.tid = self.tid.wrapping_add(1);
        let req = [3, 0, 0, 0, 4];
        send(
            cap,
            &mut self.ch,
            t,
            Dir::ToServer,
            &adu(self.tid, &req),
            ("modbus", 3, true),
        );
        let t1 = after(cap, t, 600, 2_000);
        let resp = [3, 8, 0, 1, 0, 2, 0, 3, 0, 4];
        send(
            cap,
            &mut self.ch,
            t1,
            Dir::ToClient,
            &adu(self.tid, &resp),
            ("modbus", 3, false),
        );
        t1
    }
}

/// READ_ID answer data (after the 0xFE status).
fn read_id_data() -> Vec<u8> {
    let name = b"BMX P34 2020";
    let mut v = 0x0001u16.to_le_bytes().to_vec();
    v.extend_from_slice(&0x0803_1c52u32.to_le_bytes());
    v.extend_from_slice(&0x0320u16.to_le_bytes());
    v.extend_from_slice(&[0, 0, name.len() as u8]);
    v.extend_from_slice(name);
    v
}

pub(super) fn monitoring(cap: &mut Cap) {
    let ch = TcpConn::new(cap, HMI, PLC_SCHNEIDER, PORT);
    let mut c = Client { ch, tid: 0 };
    let t = c.ch.handshake(cap, cap.at(ms(50)));
    let at = after(cap, t, 300, 900);
    let t = c.umas(cap, at, 0, 0x02, &[], 0xfe, &read_id_data());
    let plc_info = [0x01, 0x00, 0x24, 0x03, 0x11, 0x00, 0x00, 0x00, 0x02, 0x00];
    let at = after(cap, t, 300, 900);
    let t = c.umas(cap, at, 0, 0x04, &[], 0xfe, &plc_info);
    let at = after(cap, t, 40_000, 41_000);
    c.ch.ack(cap, at, Dir::ToClient);
    for n in 1..=8 {
        let t = cap.at_jittered(secs(n), 3_000);
        let t = c.umas(cap, t, 0, 0x58, &[0x02, 0x00], 0xfe, &[0x00, 0x01]);
        let vars = [0x02, 0x0e, 0x00, 0x00, 0x03, 0x04, 0x00, 0x10, 0x00];
        let at = after(cap, t, 200, 600);
        let t = c.umas(
            cap,
            at,
            0,
            0x22,
            &vars,
            0xfe,
            &[0x00, 0x12, 0x34, 0x56, 0x78],
        );
        let at = after(cap, t, 200, 600);
        let t = c.modbus_read(cap, at);
        let at = after(cap, t, 40_000, 41_000);
        c.ch.ack(cap, at, Dir::ToClient);
    }
    c.ch.close(cap, cap.at(secs(9)));
}

pub(super) fn engineering(cap: &mut Cap) {
    engineering_session(cap, false);
}

pub(super) fn malformed(cap: &mut Cap) {
    engineering_session(cap, true);
}

/// The engineering session; with `bad`, the malformed requests are interleaved.
fn engineering_session(cap: &mut Cap, bad: bool) {
    let ch = TcpConn::new(cap, EWS, PLC_SCHNEIDER, PORT);
    let mut c = Client { ch, tid: 0x100 };
    let mut t = c.ch.handshake(cap, cap.at(ms(100)));
    let step = |cap: &mut Cap, t: Timestamp| after(cap, t, 2_000, 20_000);
    let at = step(cap, t);
    t = c.umas(cap, at, 0, 0x01, &[0x00], 0xfe, &[0xfe, 0x03, 0x00, 0x00]);
    let at = step(cap, t);
    t = c.umas(cap, at, 0, 0x02, &[], 0xfe, &read_id_data());
    let mut take = vec![0x00, 0x00];
    take.extend_from_slice(b"EWS-ENG01");
    let at = step(cap, t);
    t = c.umas(cap, at, 0, 0x10, &take, 0xfe, &[0x3c]);
    let key = 0x3c;
    let at = step(cap, t);
    t = c.umas(cap, at, key, 0x41, &[0xff, 0x00], 0xfe, &[]);
    let at = step(cap, t);
    t = c.umas(
        cap,
        at,
        key,
        0x30,
        &[0x00, 0x01, 0x00, 0x00],
        0xfe,
        &[0xf2, 0x03],
    );
    for block in 1..=4u16 {
        let mut b = vec![0x00, 0x01];
        b.extend_from_slice(&block.to_le_bytes());
        let len: u16 = if block == 4 { 100 } else { 200 };
        b.extend_from_slice(&len.to_le_bytes());
        b.extend((0..len).map(|i| (i as u8).wrapping_mul(block as u8)));
        let at = after(cap, t, 500, 2_000);
        t = c.umas(cap, at, key, 0x31, &b, 0xfe, &[]);
    }
    if bad {
        // Malformed: the length field announces 512 bytes, 16 follow.
        c.tid = c.tid.wrapping_add(1);
        let mut bad = vec![0x5a, key, 0x31, 0x00, 0x01, 0x05, 0x00, 0x00, 0x02];
        bad.extend_from_slice(&[0xee; 16]);
        t = step(cap, t);
        send_invalid(
            cap,
            &mut c.ch,
            t,
            Dir::ToServer,
            &adu(c.tid, &bad),
            ("umas", 0x31, true),
        );
        t = after(cap, t, 800, 3_000);
        send(
            cap,
            &mut c.ch,
            t,
            Dir::ToClient,
            &adu(c.tid, &[0x5a, key, 0xfd, 0x02]),
            ("umas", 0x31, false),
        );
    }
    let at = step(cap, t);
    t = c.umas(cap, at, key, 0x32, &[0x00, 0x01], 0xfe, &[]);
    let write = [
        0x01, 0x01, 0x0e, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00, 0x01, 0x00,
    ];
    let at = step(cap, t);
    t = c.umas(cap, at, key, 0x23, &write, 0xfe, &[]);
    let at = step(cap, t);
    t = c.umas(cap, at, key, 0x40, &[0xff, 0x00], 0xfe, &[]);
    let at = step(cap, t);
    t = c.umas(
        cap,
        at,
        key,
        0x25,
        &[0x01, 0x00, 0x00, 0x01, 0x00, 0x01],
        0xfd,
        &[0x81],
    );
    if bad {
        // Malformed: only the session byte after the function code (no answer).
        c.tid = c.tid.wrapping_add(1);
        t = step(cap, t);
        send_invalid(
            cap,
            &mut c.ch,
            t,
            Dir::ToServer,
            &adu(c.tid, &[0x5a, key]),
            ("umas", 0, true),
        );
    }
    let at = after(cap, t, 50_000, 60_000);
    t = c.umas(cap, at, key, 0x11, &[], 0xfe, &[]);
    let at = after(cap, t, 100_000, 200_000);
    c.ch.close(cap, at);
}
