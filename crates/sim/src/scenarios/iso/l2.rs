//! GOOSE and Sampled Values scenarios: link-layer multicast publications.

use otwatch_core::Timestamp;

use super::other;
use super::wire::{cp, tlv};
use crate::builder::{Cap, ms, secs, us};
use crate::net::eth_frame;

const GOOSE_ETHERTYPE: u16 = 0x88b8;
const SV_ETHERTYPE: u16 = 0x88ba;

/// SEL-751 feeder relay (SEL OUI) publishing GOOSE.
const RELAY_SEL: [u8; 6] = [0x00, 0x30, 0xa7, 0x1d, 0x75, 0x11];
/// GE Multilin F650 bay controller publishing GOOSE.
const RELAY_GE: [u8; 6] = [0x00, 0xa0, 0xf4, 0x08, 0x2f, 0x77];
/// ABB SAM600 merging unit publishing Sampled Values.
const MERGING_UNIT: [u8; 6] = [0x00, 0x21, 0xc1, 0x60, 0x06, 0x01];
/// GOOSE and SV multicast destinations (IEC 61850-8-1 / 9-2 ranges).
const GOOSE_MC1: [u8; 6] = [0x01, 0x0c, 0xcd, 0x01, 0x00, 0x01];
const GOOSE_MC2: [u8; 6] = [0x01, 0x0c, 0xcd, 0x01, 0x00, 0x02];
const SV_MC: [u8; 6] = [0x01, 0x0c, 0xcd, 0x04, 0x00, 0x01];

pub(super) const GOOSE_NORMAL: &str = "Two protection IEDs publish GOOSE on VLAN 10: a SEL-751 feeder \
relay (appid 0x0001, gocbRef SEL751_1CFG/LLN0$GO$GooseDSet1, breaker status and trip) and a GE F650 \
bay controller (appid 0x0002, interlocking). In steady state each repeats its message every second \
(timeAllowedtoLive 2 s) with sqNum counting up. At 3.2 s the SEL relay trips: stNum goes to 2, sqNum \
restarts at 0, and the message is retransmitted after 2, 4, 8, 16, 32, 64, 128, 256 and 512 ms \
(timeAllowedtoLive shortened while the interval is short) before returning to the 1 s heartbeat; at \
6.5 s the breaker opens (stNum 3) with the same back-off. 10 s of traffic.";

pub(super) const GOOSE_ABNORMAL: &str = "GOOSE anomalies from the SEL-751 relay's appid (VLAN 10): \
normal heartbeats, then a publisher with the same gocbRef jumping stNum from 4 to 50 (a spoofed \
state change), frames with the test flag set and with the simulated bit of Reserved 1 set, a \
confRev change, and three malformed frames: a Length field of 4 (malformed only), a goosePdu without \
gocbRef (a publication and malformed) and a goosePdu whose BER is cut short (malformed only).";

pub(super) const SV_STREAM: &str = "An ABB SAM600 merging unit (VLAN 20, appid 0x4000, svID \
SAM600MU0101) streams IEC 61850-9-2LE sampled values at 4000 samples/s (80 samples per 50 Hz \
cycle, one ASDU per frame): 300 frames (75 ms) with smpCnt counting up and wrapping at 4000, \
globally synchronised (smpSynch 2), each carrying the 8 currents and voltages with quality. Then \
a second stream (appid 0x4001) packs 8 ASDUs per frame for 10 frames. 380 ASDUs in total.";

pub(super) const SV_ABNORMAL: &str = "Sampled Values anomalies from the ABB SAM600 merging unit \
(VLAN 20, appid 0x4000, svID SAM600MU0101, 4000 samples/s, one ASDU per frame, smpCnt from 1200): \
40 normal samples, then 24 samples lost (smpCnt jumps from 1239 to 1264), 20 samples with smpSynch \
0 after the unit loses its time source before it resynchronises (smpSynch 2), a confRev change from \
1 to 2, 10 frames with the simulation bit of Reserved 1 set, and two malformed frames: one cut 30 \
octets into seqData so that the ASDU's BER length runs past the frame (an ASDU and malformed), and \
one whose APDU carries tag 0x61 instead of the savPdu tag 0x60 (malformed only). 175 ASDUs, 2 \
malformed frames.";

struct Publisher {
    src: [u8; 6],
    dst: [u8; 6],
    appid: u16,
    gocb_ref: &'static str,
    dat_set: &'static str,
    go_id: &'static str,
    st_num: u32,
    sq_num: u32,
    conf_rev: u32,
    test: bool,
    reserved1: u16,
    values: Vec<u8>,
}

fn uint(v: u32) -> Vec<u8> {
    let b = v.to_be_bytes();
    let mut i = 0;
    while i < 3 && b[i] == 0 {
        i += 1;
    }
    // A leading zero keeps the value unsigned.
    if b[i] & 0x80 != 0 {
        [&[0u8][..], &b[i..]].concat()
    } else {
        b[i..].to_vec()
    }
}

fn utc(t: Timestamp) -> Vec<u8> {
    let secs = (t.0 / 1_000_000_000) as u32;
    let frac = (((t.0 % 1_000_000_000) as u64) << 24) / 1_000_000_000;
    let mut v = secs.to_be_bytes().to_vec();
    v.extend(&(frac as u32).to_be_bytes()[1..]);
    v.push(0x0a); // clock accuracy 10 bits
    v
}

/// APPID, Length, Reserved 1/2 and the APDU.
fn frame_payload(appid: u16, reserved1: u16, apdu: &[u8], length: Option<u16>) -> Vec<u8> {
    let mut v = appid.to_be_bytes().to_vec();
    v.extend(length.unwrap_or((apdu.len() + 8) as u16).to_be_bytes());
    v.extend(reserved1.to_be_bytes());
    v.extend([0, 0]);
    v.extend_from_slice(apdu);
    v
}

impl Publisher {
    fn pdu(&self, t: Timestamp, tal: u32, with_gocb: bool) -> Vec<u8> {
        let entries = self.values.len() / 3;
        let mut f = Vec::new();
        if with_gocb {
            f.extend(cp(0, self.gocb_ref.as_bytes()));
        }
        f.extend(cp(1, &uint(tal)));
        f.extend(cp(2, self.dat_set.as_bytes()));
        f.extend(cp(3, self.go_id.as_bytes()));
        f.extend(cp(4, &utc(t)));
        f.extend(cp(5, &uint(self.st_num)));
        f.extend(cp(6, &uint(self.sq_num)));
        f.extend(cp(7, &[self.test as u8]));
        f.extend(cp(8, &uint(self.conf_rev)));
        f.extend(cp(9, &[0]));
        f.extend(cp(10, &uint(entries as u32)));
        f.extend(tlv(&[0xab], &self.values));
        tlv(&[0x61], &f)
    }

    fn send_raw(&self, cap: &mut Cap, t: Timestamp, payload: &[u8]) {
        cap.push(
            t,
            eth_frame(self.src, self.dst, Some(10), GOOSE_ETHERTYPE, payload),
        );
    }

    /// Publishes the current state at `t` and advances sqNum.
    fn publish(&mut self, cap: &mut Cap, t: Timestamp, tal: u32) {
        let p = frame_payload(self.appid, self.reserved1, &self.pdu(t, tal, true), None);
        self.send_raw(cap, t, &p);
        cap.truth(t, other("goose", 0));
        self.sq_num = self.sq_num.wrapping_add(1);
    }

    /// A state change at `t`: new values, stNum + 1, retransmissions with back-off.
    /// Returns the time of the last retransmission.
    fn change(&mut self, cap: &mut Cap, t: Timestamp, values: Vec<u8>) -> Timestamp {
        self.values = values;
        self.st_num += 1;
        self.sq_num = 0;
        let mut at = t;
        let mut interval = ms(2);
        self.publish(cap, at, 20);
        while interval <= ms(512) {
            at = at.add_nanos(interval);
            let tal = (2 * interval / ms(1)).max(20) as u32;
            self.publish(cap, at, tal);
            interval *= 2;
        }
        at
    }
}

/// Breaker position (bit string), trip (boolean) and quality.
fn sel_values(closed: bool, trip: bool) -> Vec<u8> {
    [
        cp(4, &[6, if closed { 0x80 } else { 0x40 }]),
        cp(4, &[3, 0x00, 0x00]),
        cp(3, &[trip as u8]),
        cp(4, &[3, 0x00, 0x00]),
        cp(6, &[0x02]),
        cp(4, &[3, 0x00, 0x00]),
    ]
    .concat()
}

fn sel(closed: bool) -> Publisher {
    Publisher {
        src: RELAY_SEL,
        dst: GOOSE_MC1,
        appid: 0x0001,
        gocb_ref: "SEL751_1CFG/LLN0$GO$GooseDSet1",
        dat_set: "SEL751_1CFG/LLN0$DSet1",
        go_id: "SEL751_1",
        st_num: 1,
        sq_num: 0,
        conf_rev: 1,
        test: false,
        reserved1: 0,
        values: sel_values(closed, false),
    }
}

pub(super) fn goose_normal(cap: &mut Cap) {
    let mut s = sel(true);
    let mut g = Publisher {
        src: RELAY_GE,
        dst: GOOSE_MC2,
        appid: 0x0002,
        gocb_ref: "GEDeviceF650/LLN0$GO$gcb01",
        dat_set: "GEDeviceF650/LLN0$GOOSE1",
        go_id: "F650_GOOSE1",
        st_num: 1,
        sq_num: 0,
        conf_rev: 1,
        test: false,
        reserved1: 0,
        values: [
            cp(3, &[0]),
            cp(4, &[3, 0, 0]),
            cp(3, &[1]),
            cp(4, &[3, 0, 0]),
        ]
        .concat(),
    };
    // GE heartbeat every second, offset by 400 ms.
    for n in 0..10 {
        let at = cap.at_jittered(ms(400) + secs(n), 200);
        g.publish(cap, at, 2000);
    }
    // SEL: heartbeats, trip at 3.2 s, breaker open at 6.5 s.
    let mut next = cap.at(ms(100));
    let trip = cap.at(ms(3_200));
    let open = cap.at(ms(6_500));
    let end = cap.at(secs(10));
    let mut tripped = false;
    let mut opened = false;
    while next < end {
        if !tripped && next > trip {
            let t = s.change(cap, trip, sel_values(true, true));
            tripped = true;
            next = t.add_nanos(secs(1));
            continue;
        }
        if !opened && next > open {
            let t = s.change(cap, open, sel_values(false, true));
            opened = true;
            next = t.add_nanos(secs(1));
            continue;
        }
        s.publish(cap, next, 2000);
        next = next.add_nanos(secs(1) + cap.rng.micros(0, 300));
    }
}

pub(super) fn goose_abnormal(cap: &mut Cap) {
    let mut s = sel(true);
    let mut t = cap.at(ms(100));
    for _ in 0..3 {
        s.publish(cap, t, 2000);
        t = t.add_nanos(secs(1));
    }
    s.st_num = 4;
    s.publish(cap, t, 2000);
    // A second source with the same gocbRef jumps stNum.
    let mut spoof = sel(false);
    spoof.src = [0x02, 0x00, 0x00, 0x66, 0x66, 0x01];
    spoof.st_num = 50;
    spoof.values = sel_values(false, true);
    let ts = t.add_nanos(ms(300));
    for i in 0..3 {
        spoof.publish(cap, ts.add_nanos(ms(2) * (1 << i)), 20);
    }
    t = t.add_nanos(secs(1));
    // Test flag, then the simulated bit.
    s.test = true;
    s.publish(cap, t, 2000);
    s.test = false;
    s.reserved1 = 0x8000;
    t = t.add_nanos(secs(1));
    s.publish(cap, t, 2000);
    s.reserved1 = 0;
    // Configuration revision change.
    s.conf_rev = 2;
    t = t.add_nanos(secs(1));
    s.publish(cap, t, 2000);

    // Malformed: Length 4.
    t = t.add_nanos(ms(250));
    let p = frame_payload(s.appid, 0, &s.pdu(t, 2000, true), Some(4));
    s.send_raw(cap, t, &p);
    cap.truth(t, other("goose", 0).into_malformed());
    // No gocbRef: a publication and malformed.
    t = t.add_nanos(ms(250));
    let p = frame_payload(s.appid, 0, &s.pdu(t, 2000, false), None);
    s.send_raw(cap, t, &p);
    cap.truth(t, other("goose", 0));
    cap.truth(t, other("goose", 0).into_malformed());
    // BER cut short: the goosePdu claims 40 more octets than the frame holds.
    t = t.add_nanos(ms(250));
    let mut pdu = s.pdu(t, 2000, true);
    pdu.truncate(60);
    let p = frame_payload(s.appid, 0, &pdu, None);
    s.send_raw(cap, t, &p);
    cap.truth(t, other("goose", 0).into_malformed());
    t = t.add_nanos(ms(250));
    s.publish(cap, t, 2000);
}

/// One 9-2LE ASDU: 4 currents and 4 voltages with quality (confRev 1,
/// globally synchronised).
fn asdu(sv_id: &str, smp_cnt: u16, k: f64) -> Vec<u8> {
    asdu_with(sv_id, smp_cnt, 1, 2, k)
}

/// One 9-2LE ASDU with the given confRev and smpSynch.
fn asdu_with(sv_id: &str, smp_cnt: u16, conf_rev: u32, smp_synch: u8, k: f64) -> Vec<u8> {
    let w = 2.0 * std::f64::consts::PI * 50.0 * k / 4000.0;
    let mut data = Vec::with_capacity(64);
    for i in 0..8 {
        let phase = (i % 4) as f64 * 2.0 * std::f64::consts::PI / 3.0;
        let (amp, neutral) = if i < 4 {
            (350_000.0, i == 3)
        } else {
            (9_390_000.0, i == 7)
        };
        let v = if neutral {
            0.0
        } else {
            amp * (w - phase).sin()
        };
        data.extend((v.round() as i32).to_be_bytes());
        data.extend(0u32.to_be_bytes());
    }
    tlv(
        &[0x30],
        &[
            cp(0, sv_id.as_bytes()),
            cp(2, &smp_cnt.to_be_bytes()),
            cp(3, &conf_rev.to_be_bytes()),
            cp(5, &[smp_synch]),
            cp(7, &data),
        ]
        .concat(),
    )
}

fn sav(asdus: &[Vec<u8>]) -> Vec<u8> {
    tlv(
        &[0x60],
        &[cp(0, &[asdus.len() as u8]), tlv(&[0xa2], &asdus.concat())].concat(),
    )
}

pub(super) fn sv_stream(cap: &mut Cap) {
    let t0 = cap.at(ms(10));
    for k in 0..300u32 {
        let t = t0.add_nanos(us(250) * k as i64);
        let cnt = ((3_850 + k) % 4000) as u16;
        let p = frame_payload(
            0x4000,
            0,
            &sav(&[asdu("SAM600MU0101", cnt, k as f64)]),
            None,
        );
        cap.push(
            t,
            eth_frame(MERGING_UNIT, SV_MC, Some(20), SV_ETHERTYPE, &p),
        );
        cap.truth(t, other("sv", 0));
    }
    let t1 = cap.at(ms(100));
    for f in 0..10u32 {
        let t = t1.add_nanos(ms(2) * f as i64);
        let asdus: Vec<Vec<u8>> = (0..8)
            .map(|i| {
                let k = f * 8 + i;
                asdu("SAM600MU0102", k as u16, k as f64)
            })
            .collect();
        let p = frame_payload(0x4001, 0, &sav(&asdus), None);
        cap.push(
            t,
            eth_frame(MERGING_UNIT, SV_MC, Some(20), SV_ETHERTYPE, &p),
        );
        for _ in 0..8 {
            cap.truth(t, other("sv", 0));
        }
    }
}

/// The sample stream of the SAM600 merging unit in `sv_abnormal`.
struct MergingUnit {
    conf_rev: u32,
    smp_synch: u8,
    reserved1: u16,
}

impl MergingUnit {
    /// The frame payload of sample `k` (one ASDU, smpCnt from 1200, wrapping at 4000).
    fn payload(&self, k: u32) -> Vec<u8> {
        let cnt = ((1_200 + k) % 4000) as u16;
        let a = asdu_with("SAM600MU0101", cnt, self.conf_rev, self.smp_synch, k as f64);
        frame_payload(0x4000, self.reserved1, &sav(&[a]), None)
    }

    /// Sends `payload` at the nominal time of sample `k` (4000 samples/s).
    fn send_raw(cap: &mut Cap, t0: Timestamp, k: u32, payload: &[u8]) -> Timestamp {
        let t = t0.add_nanos(us(250) * k as i64);
        cap.push(
            t,
            eth_frame(MERGING_UNIT, SV_MC, Some(20), SV_ETHERTYPE, payload),
        );
        t
    }

    /// Publishes samples `ks`, one ASDU per frame.
    fn publish(&self, cap: &mut Cap, t0: Timestamp, ks: std::ops::Range<u32>) {
        for k in ks {
            let t = Self::send_raw(cap, t0, k, &self.payload(k));
            cap.truth(t, other("sv", 0));
        }
    }
}

pub(super) fn sv_abnormal(cap: &mut Cap) {
    let t0 = cap.at(ms(10));
    let mut mu = MergingUnit {
        conf_rev: 1,
        smp_synch: 2,
        reserved1: 0,
    };
    mu.publish(cap, t0, 0..40);
    // 24 samples lost: smpCnt jumps from 1239 to 1264.
    mu.publish(cap, t0, 64..104);
    // The merging unit loses its time source (smpSynch 0), then recovers.
    mu.smp_synch = 0;
    mu.publish(cap, t0, 104..124);
    mu.smp_synch = 2;
    mu.publish(cap, t0, 124..144);
    // Reconfiguration: confRev 1 -> 2.
    mu.conf_rev = 2;
    mu.publish(cap, t0, 144..164);
    // Simulation bit (Reserved 1, bit 15) set.
    mu.reserved1 = 0x8000;
    mu.publish(cap, t0, 164..174);
    mu.reserved1 = 0;
    // Malformed: the frame ends 30 octets into seqData while the savPdu,
    // seqASDU and ASDU lengths announce the whole ASDU (Length matches the
    // frame): the ASDU is reported and malformed.
    let mut p = mu.payload(174);
    p.truncate(p.len() - 30);
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    let t = MergingUnit::send_raw(cap, t0, 174, &p);
    cap.truth(t, other("sv", 0));
    cap.truth(t, other("sv", 0).into_malformed());
    mu.publish(cap, t0, 175..185);
    // Malformed: the APDU carries tag 0x61 (the goosePdu tag) instead of the
    // savPdu tag 0x60: malformed only.
    let mut p = mu.payload(185);
    p[8] = 0x61;
    let t = MergingUnit::send_raw(cap, t0, 185, &p);
    cap.truth(t, other("sv", 0).into_malformed());
    mu.publish(cap, t0, 186..200);
}
