//! DNP3 link frames, transport segments and application fragments, and a
//! master/outstation pair that exchanges them over a [`Channel`], recording
//! the ground truth as it goes.

use otwatch_core::Timestamp;

use crate::Truth;
use crate::builder::{Cap, ms};
use crate::transport::{Channel, Dir};

/// The DNP3 TCP and UDP port.
pub(crate) const PORT: u16 = 20_000;

/// Application data bytes per transport segment (250 user-data bytes minus
/// the transport header).
const SEGMENT_APP_BYTES: usize = 249;

/// Link control: master to outstation, primary, unconfirmed user data.
pub(crate) const CTRL_MASTER_DATA: u8 = 0xc4;
/// Link control: outstation to master, primary, unconfirmed user data.
pub(crate) const CTRL_OUTSTATION_DATA: u8 = 0x44;
/// Link control: master, primary, request link status.
const CTRL_REQUEST_LINK_STATUS: u8 = 0xc9;
/// Link control: outstation, secondary, link status.
const CTRL_LINK_STATUS: u8 = 0x0b;

/// Application control bits.
const FIR: u8 = 0x80;
const FIN: u8 = 0x40;
const CON: u8 = 0x20;
const UNS: u8 = 0x10;

/// Function codes used by the scenarios.
pub(crate) mod fc {
    pub const CONFIRM: u8 = 0;
    pub const READ: u8 = 1;
    pub const WRITE: u8 = 2;
    pub const SELECT: u8 = 3;
    pub const OPERATE: u8 = 4;
    pub const DIRECT_OPERATE: u8 = 5;
    pub const COLD_RESTART: u8 = 13;
    pub const WARM_RESTART: u8 = 14;
    pub const ENABLE_UNSOLICITED: u8 = 20;
    pub const DISABLE_UNSOLICITED: u8 = 21;
    pub const RESPONSE: u8 = 129;
    pub const UNSOLICITED_RESPONSE: u8 = 130;
}

/// IIN1 bit 7: device restart.
pub(crate) const IIN_DEVICE_RESTART: u16 = 0x8000;
/// IIN1 bit 1: class 1 events available.
pub(crate) const IIN_CLASS1_EVENTS: u16 = 0x0200;

/// A link frame: header with CRC, then user data in 16-byte blocks each
/// followed by its CRC (the encoder of otwatch's own DNP3 module).
pub(crate) fn link_frame(ctrl: u8, dst: u16, src: u16, user_data: &[u8]) -> Vec<u8> {
    otwatch_proto::dnp3::wire::encode_frame(ctrl, dst, src, user_data)
        .expect("link frames carry at most 250 bytes")
}

/// Object headers and data.
pub(crate) mod obj {
    /// Class data reads: g60 with the given variations, qualifier 0x06 (all).
    pub fn classes(variations: &[u8]) -> Vec<u8> {
        variations.iter().flat_map(|&v| [60, v, 0x06]).collect()
    }

    /// Binary inputs with flags (g1v2), qualifier 0x00 (1-byte start/stop).
    pub fn g1v2(start: u8, flags: &[u8]) -> Vec<u8> {
        let mut v = vec![1, 2, 0x00, start, start + flags.len() as u8 - 1];
        v.extend_from_slice(flags);
        v
    }

    /// 32-bit analog inputs with flags (g30v1), qualifier 0x01 (2-byte start/stop).
    pub fn g30v1(start: u16, values: &[i32]) -> Vec<u8> {
        let stop = start + values.len() as u16 - 1;
        let mut v = vec![30, 1, 0x01];
        v.extend_from_slice(&start.to_le_bytes());
        v.extend_from_slice(&stop.to_le_bytes());
        for x in values {
            v.push(0x01); // ONLINE
            v.extend_from_slice(&x.to_le_bytes());
        }
        v
    }

    /// 32-bit counters with flags (g20v1), qualifier 0x00.
    pub fn g20v1(start: u8, values: &[u32]) -> Vec<u8> {
        let mut v = vec![20, 1, 0x00, start, start + values.len() as u8 - 1];
        for x in values {
            v.push(0x01);
            v.extend_from_slice(&x.to_le_bytes());
        }
        v
    }

    /// Binary input events with absolute time (g2v2), qualifier 0x28
    /// (2-byte count, 2-byte index prefix): `(index, flags, time in ms since 1970)`.
    pub fn g2v2(events: &[(u16, u8, u64)]) -> Vec<u8> {
        let mut v = vec![2, 2, 0x28];
        v.extend_from_slice(&(events.len() as u16).to_le_bytes());
        for (idx, flags, t) in events {
            v.extend_from_slice(&idx.to_le_bytes());
            v.push(*flags);
            v.extend_from_slice(&t.to_le_bytes()[..6]);
        }
        v
    }

    /// One control relay output block (g12v1), qualifier 0x28, count 1.
    pub fn g12v1(index: u16, code: u8, on_ms: u32, off_ms: u32, status: u8) -> Vec<u8> {
        let mut v = vec![12, 1, 0x28, 1, 0];
        v.extend_from_slice(&index.to_le_bytes());
        v.push(code);
        v.push(1); // count
        v.extend_from_slice(&on_ms.to_le_bytes());
        v.extend_from_slice(&off_ms.to_le_bytes());
        v.push(status);
        v
    }

    /// One 16-bit analog output block (g41v2), qualifier 0x28, count 1.
    pub fn g41v2(index: u16, value: i16, status: u8) -> Vec<u8> {
        let mut v = vec![41, 2, 0x28, 1, 0];
        v.extend_from_slice(&index.to_le_bytes());
        v.extend_from_slice(&value.to_le_bytes());
        v.push(status);
        v
    }

    /// Fine time delay (g52v2), qualifier 0x07, count 1.
    pub fn g52v2(delay_ms: u16) -> Vec<u8> {
        let mut v = vec![52, 2, 0x07, 1];
        v.extend_from_slice(&delay_ms.to_le_bytes());
        v
    }

    /// Internal indications (g80v1) index 7 (device restart) written to 0.
    pub fn g80v1_clear_restart() -> Vec<u8> {
        vec![80, 1, 0x00, 7, 7, 0x00]
    }
}

/// A DNP3 master and one outstation exchanging fragments over `ch`; the
/// master is the TCP/UDP client.
pub(crate) struct Session<C> {
    pub ch: C,
    pub master: u16,
    pub outstation: u16,
    /// Transport sequence number per direction.
    tseq: [u8; 2],
    app_seq: u8,
    unsol_seq: u8,
    /// Outstation response time range in microseconds.
    pub latency_us: (u64, u64),
    /// Send each link frame of a multi-frame fragment in its own TCP segment
    /// or datagram (otherwise all frames go in one).
    pub frame_per_send: bool,
}

impl<C: Channel> Session<C> {
    pub fn new(cap: &mut Cap, ch: C, master: u16, outstation: u16) -> Session<C> {
        Session {
            ch,
            master,
            outstation,
            tseq: [cap.rng.range(0, 63) as u8, cap.rng.range(0, 63) as u8],
            app_seq: cap.rng.range(0, 15) as u8,
            unsol_seq: cap.rng.range(0, 15) as u8,
            latency_us: (8_000, 40_000),
            frame_per_send: true,
        }
    }

    fn addresses(&self, dir: Dir) -> (u8, u16, u16) {
        match dir {
            Dir::ToServer => (CTRL_MASTER_DATA, self.outstation, self.master),
            Dir::ToClient => (CTRL_OUTSTATION_DATA, self.master, self.outstation),
        }
    }

    /// The link frames carrying application fragment `apdu` from `dir`'s side.
    pub fn frames(&mut self, dir: Dir, apdu: &[u8]) -> Vec<Vec<u8>> {
        let (ctrl, dst, src) = self.addresses(dir);
        let d = match dir {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        };
        let chunks: Vec<&[u8]> = apdu.chunks(SEGMENT_APP_BYTES).collect();
        let last = chunks.len() - 1;
        let mut out = Vec::new();
        for (i, c) in chunks.into_iter().enumerate() {
            let mut th = self.tseq[d] & 0x3f;
            if i == 0 {
                th |= 0x40;
            }
            if i == last {
                th |= 0x80;
            }
            self.tseq[d] = (self.tseq[d] + 1) & 0x3f;
            let mut ud = vec![th];
            ud.extend_from_slice(c);
            out.push(link_frame(ctrl, dst, src, &ud));
        }
        out
    }

    /// Sends link frames from `dir`'s side starting at `t`; returns the time of the last.
    pub fn send_frames(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        dir: Dir,
        frames: &[Vec<u8>],
    ) -> Timestamp {
        if !self.frame_per_send {
            self.ch.send(cap, t, dir, &frames.concat());
            return t;
        }
        let mut at = t;
        for (i, f) in frames.iter().enumerate() {
            if i > 0 {
                at = at.add_nanos(cap.rng.micros(200, 600));
            }
            self.ch.send(cap, at, dir, f);
        }
        at
    }

    /// Sends one application fragment and records it; returns the time of its last frame.
    pub fn fragment(&mut self, cap: &mut Cap, t: Timestamp, dir: Dir, apdu: &[u8]) -> Timestamp {
        let frames = self.frames(dir, apdu);
        let at = self.send_frames(cap, t, dir, &frames);
        cap.truth(at, Truth::dnp3(apdu[1]));
        at
    }

    /// A request fragment (next application sequence number).
    pub fn request_apdu(&mut self, function: u8, objects: &[u8]) -> Vec<u8> {
        self.app_seq = (self.app_seq + 1) & 0x0f;
        let mut a = vec![FIR | FIN | self.app_seq, function];
        a.extend_from_slice(objects);
        a
    }

    /// The response fragment to the last request.
    pub fn response_apdu(&self, iin: u16, objects: &[u8], confirm: bool) -> Vec<u8> {
        let con = if confirm { CON } else { 0 };
        let mut a = vec![FIR | FIN | con | self.app_seq, fc::RESPONSE];
        a.extend_from_slice(&iin.to_be_bytes());
        a.extend_from_slice(objects);
        a
    }

    /// A response time drawn from `latency_us`.
    pub fn latency(&self, cap: &mut Cap) -> i64 {
        cap.rng.micros(self.latency_us.0, self.latency_us.1)
    }

    /// Request at `t`, response one outstation latency later, then the
    /// master's delayed TCP ACK; returns the time of the response's last frame.
    pub fn exchange(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        function: u8,
        req_objects: &[u8],
        iin: u16,
        resp_objects: &[u8],
    ) -> Timestamp {
        let req = self.request_apdu(function, req_objects);
        let t = self.fragment(cap, t, Dir::ToServer, &req);
        let resp = self.response_apdu(iin, resp_objects, false);
        let t1 = t.add_nanos(self.latency(cap));
        let t1 = self.fragment(cap, t1, Dir::ToClient, &resp);
        self.idle_ack(cap, t1);
        t1
    }

    /// The master's delayed ACK of the last outstation data (TCP only).
    pub fn idle_ack(&mut self, cap: &mut Cap, t: Timestamp) {
        let at = t.add_nanos(ms(40) + cap.rng.micros(0, 900));
        self.ch.ack(cap, at, Dir::ToClient);
    }

    /// An unsolicited response from the outstation at `t` that asks for a
    /// confirmation, and the master's CONFIRM; returns the CONFIRM's time.
    pub fn unsolicited(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        iin: u16,
        objects: &[u8],
    ) -> Timestamp {
        self.unsol_seq = (self.unsol_seq + 1) & 0x0f;
        let mut a = vec![
            FIR | FIN | CON | UNS | self.unsol_seq,
            fc::UNSOLICITED_RESPONSE,
        ];
        a.extend_from_slice(&iin.to_be_bytes());
        a.extend_from_slice(objects);
        let t = self.fragment(cap, t, Dir::ToClient, &a);
        let c = [FIR | FIN | UNS | self.unsol_seq, fc::CONFIRM];
        let t1 = t.add_nanos(cap.rng.micros(1_000, 4_000));
        self.fragment(cap, t1, Dir::ToServer, &c)
    }

    /// Request Link Status from the master and the outstation's Link Status
    /// (link-layer keep-alive, no application data); returns the reply's time.
    pub fn link_status(&mut self, cap: &mut Cap, t: Timestamp) -> Timestamp {
        let req = link_frame(CTRL_REQUEST_LINK_STATUS, self.outstation, self.master, &[]);
        self.ch.send(cap, t, Dir::ToServer, &req);
        let t1 = t.add_nanos(cap.rng.micros(2_000, 6_000));
        let resp = link_frame(CTRL_LINK_STATUS, self.master, self.outstation, &[]);
        self.ch.send(cap, t1, Dir::ToClient, &resp);
        cap.note("dnp3_link_only_frames", 2);
        t1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otwatch_proto::dnp3::wire;

    #[test]
    fn link_frames_parse_with_valid_crcs() {
        for n in [0usize, 1, 15, 16, 17, 250] {
            let ud: Vec<u8> = (0..n as u8).collect();
            let f = link_frame(CTRL_MASTER_DATA, 10, 1, &ud);
            let h = wire::parse_header(&f).expect("valid header");
            assert_eq!((h.dst, h.src, h.control), (10, 1, CTRL_MASTER_DATA));
            assert_eq!(h.frame_len(), f.len());
            assert!(wire::check_blocks(&f[10..]).is_ok());
            let back: Vec<u8> = wire::user_data_blocks(&f[10..])
                .flatten()
                .copied()
                .collect();
            assert_eq!(back, ud);
        }
    }

    /// Every object encoding parses completely with otwatch's object parser.
    #[test]
    fn objects_parse_completely() {
        let cases: Vec<(u8, Vec<u8>)> = vec![
            (fc::READ, obj::classes(&[2, 3, 4, 1])),
            (fc::RESPONSE, obj::g1v2(0, &[0x81, 0x01, 0x01])),
            (fc::RESPONSE, obj::g30v1(0, &[1, -2, 300])),
            (fc::RESPONSE, obj::g20v1(0, &[7, 8])),
            (
                fc::UNSOLICITED_RESPONSE,
                obj::g2v2(&[(2, 0x01, 1_718_006_400_000)]),
            ),
            (fc::SELECT, obj::g12v1(3, 0x03, 0, 0, 0)),
            (fc::DIRECT_OPERATE, obj::g41v2(0, 1380, 0)),
            (fc::RESPONSE, obj::g52v2(4000)),
            (fc::WRITE, obj::g80v1_clear_restart()),
        ];
        for (f, objects) in cases {
            let mut a = vec![FIR | FIN, f];
            if f >= 129 {
                a.extend_from_slice(&[0, 0]);
            }
            a.extend_from_slice(&objects);
            let apdu = wire::parse_apdu(&a).expect("application header");
            let (count, complete, err) = apdu.object_headers().summary();
            assert!(
                count >= 1 && complete && err.is_none(),
                "{f}: {objects:?} {err:?}"
            );
        }
    }
}
