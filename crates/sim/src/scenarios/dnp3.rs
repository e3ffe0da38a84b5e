//! DNP3 scenarios.

use super::hosts::*;
use crate::Truth;
use crate::builder::{Cap, ms, secs};
use crate::dnp3::{self as d3, Session, fc, obj};
use crate::transport::{Channel, Dir, TcpConn, UdpFlow};

pub(super) const POLLING: &str = "The SCADA master (10.10.1.10, DNP3 address 1) polls the SEL RTU \
(10.10.1.30, address 10) over DNP3/TCP port 20000. It checks the link with Request Link Status, reads \
all data with an integrity poll (class 1, 2, 3 and 0) answered by 16 breaker and alarm states (g1v2), \
100 analog measurements (g30v1) and 8 energy counters (g20v1) — a response large enough to need 3 \
transport segments — enables unsolicited reporting, then polls for events every 2 seconds (empty \
responses). Midway, the RTU reports two breaker status changes unsolicited (g2v2) and the master \
confirms. Link status frames are not application messages.";

pub(super) const CONTROL: &str = "The SCADA master (10.10.1.10) operates the SEL RTU (10.10.1.30) \
over DNP3/TCP: disables unsolicited reporting, closes breaker 3 with SELECT then OPERATE of a control \
relay output block (g12v1), changes a setpoint with DIRECT OPERATE of an analog output (g41v2), cold \
restarts the RTU (the response gives the restart delay, g52v2), reads events once the RTU is back (its \
IIN shows DEVICE RESTART), clears that bit by writing g80v1, warm restarts it and finally re-enables \
unsolicited reporting. Every request gets a response.";

pub(super) const MALFORMED: &str = "DNP3/TCP between the SCADA master (10.10.1.10) and the SEL RTU \
(10.10.1.30) through a noisy serial-to-Ethernet gateway: one event poll arrives with a corrupted link \
header CRC (the RTU ignores it and the master polls again after its timeout), and one RTU response has a \
corrupted user data block CRC (the master discards it and polls again). Normal polling before, between \
and after. Two malformed frames.";

pub(super) const UDP: &str = "The SCADA master (10.10.1.10) talks to the SEL RTU (10.10.1.30) with \
DNP3 over UDP port 20000: an integrity poll, event polls and a DIRECT OPERATE of an analog output \
setpoint, each request answered in one datagram.";

/// Flags of online binary inputs: breakers 0-3 closed, alarms off.
fn binary_flags(cap: &mut Cap, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| {
            let on = i < 4 || cap.rng.chance(1, 10);
            0x01 | if on { 0x80 } else { 0 }
        })
        .collect()
}

/// Analog measurements: voltages, currents, power.
fn analogs(cap: &mut Cap, n: usize) -> Vec<i32> {
    (0..n)
        .map(|i| match i % 4 {
            0 => cap.rng.around(13_800, 60) as i32,
            1 => cap.rng.around(420, 30) as i32,
            2 => cap.rng.around(9_500, 400) as i32,
            _ => cap.rng.around(60_000, 20) as i32,
        })
        .collect()
}

fn counters(cap: &mut Cap, n: usize) -> Vec<u32> {
    (0..n)
        .map(|_| cap.rng.range(100_000, 9_000_000) as u32)
        .collect()
}

/// Integrity poll objects: class 1, 2, 3, then 0.
fn integrity_request() -> Vec<u8> {
    obj::classes(&[2, 3, 4, 1])
}

/// Response to an integrity poll with `analog` analog inputs.
fn integrity_response(cap: &mut Cap, analog: usize) -> Vec<u8> {
    let mut o = obj::g1v2(0, &binary_flags(cap, 16));
    o.extend(obj::g30v1(0, &analogs(cap, analog)));
    o.extend(obj::g20v1(0, &counters(cap, 8)));
    o
}

/// Breaker status events timestamped `ms_since_epoch`.
fn breaker_events(ms_since_epoch: u64) -> Vec<u8> {
    obj::g2v2(&[(2, 0x01, ms_since_epoch), (3, 0x81, ms_since_epoch + 35)])
}

fn tcp_session(cap: &mut Cap) -> Session<TcpConn> {
    let conn = TcpConn::new(cap, HMI, RTU_SEL, d3::PORT);
    Session::new(cap, conn, DNP3_MASTER, DNP3_OUTSTATION)
}

pub(super) fn polling(cap: &mut Cap) {
    let mut s = tcp_session(cap);
    let t = s.ch.handshake(cap, cap.at(ms(100)));
    let t = s.link_status(cap, t.add_nanos(ms(2)));
    let resp = integrity_response(cap, 100);
    let t = s.exchange(
        cap,
        t.add_nanos(ms(10)),
        fc::READ,
        &integrity_request(),
        0,
        &resp,
    );
    s.exchange(
        cap,
        t.add_nanos(ms(100)),
        fc::ENABLE_UNSOLICITED,
        &obj::classes(&[2, 3, 4]),
        0,
        &[],
    );
    for n in 1..=10 {
        let t = cap.at_jittered(secs(2 * n), 3_000);
        s.exchange(cap, t, fc::READ, &obj::classes(&[2, 3, 4]), 0, &[]);
        if n == 5 {
            let t = cap.at(secs(2 * n) + ms(850));
            let events = breaker_events((t.0 / 1_000_000) as u64 - 120);
            let t = s.unsolicited(cap, t, d3::IIN_CLASS1_EVENTS, &events);
            s.ch.ack(cap, t.add_nanos(ms(1)), Dir::ToServer);
        }
        if n == 8 {
            s.link_status(cap, cap.at(secs(2 * n) + ms(1_000)));
        }
    }
    s.ch.close(cap, cap.at(secs(21) + ms(500)));
}

pub(super) fn control(cap: &mut Cap) {
    let mut s = tcp_session(cap);
    let t = s.ch.handshake(cap, cap.at(ms(100)));
    let classes = obj::classes(&[2, 3, 4]);
    let mut t = s.exchange(
        cap,
        t.add_nanos(ms(5)),
        fc::DISABLE_UNSOLICITED,
        &classes,
        0,
        &[],
    );
    let next = |cap: &mut Cap, t: otwatch_core::Timestamp| {
        t.add_nanos(cap.rng.micros(1_500_000, 3_000_000))
    };

    // Close breaker 3: latch on, select before operate.
    let crob = obj::g12v1(3, 0x03, 0, 0, 0);
    let at = next(cap, t);
    t = s.exchange(cap, at, fc::SELECT, &crob, 0, &crob);
    t = s.exchange(cap, t.add_nanos(ms(250)), fc::OPERATE, &crob, 0, &crob);

    // Voltage regulator setpoint.
    let ao = obj::g41v2(0, 1_380, 0);
    let at = next(cap, t);
    t = s.exchange(cap, at, fc::DIRECT_OPERATE, &ao, 0, &ao);

    // Cold restart: the RTU answers with the time it needs, 4 s.
    let at = next(cap, t);
    t = s.exchange(cap, at, fc::COLD_RESTART, &[], 0, &obj::g52v2(4_000));
    t = t.add_nanos(secs(5));
    t = s.exchange(cap, t, fc::READ, &classes, d3::IIN_DEVICE_RESTART, &[]);
    t = s.exchange(
        cap,
        t.add_nanos(ms(120)),
        fc::WRITE,
        &obj::g80v1_clear_restart(),
        0,
        &[],
    );

    let at = next(cap, t);
    t = s.exchange(cap, at, fc::WARM_RESTART, &[], 0, &obj::g52v2(1_000));
    t = t.add_nanos(secs(2));
    t = s.exchange(
        cap,
        t,
        fc::ENABLE_UNSOLICITED,
        &classes,
        d3::IIN_DEVICE_RESTART,
        &[],
    );
    s.ch.close(cap, t.add_nanos(secs(1)));
}

pub(super) fn malformed(cap: &mut Cap) {
    let mut s = tcp_session(cap);
    let t = s.ch.handshake(cap, cap.at(ms(100)));
    let classes = obj::classes(&[2, 3, 4]);
    let mut t = s.exchange(
        cap,
        t.add_nanos(ms(5)),
        fc::READ,
        &integrity_request(),
        0,
        &[],
    );

    // An event poll whose link header CRC was corrupted on the way.
    t = t.add_nanos(secs(2));
    let req = s.request_apdu(fc::READ, &classes);
    let mut frames = s.frames(Dir::ToServer, &req);
    frames[0][8] ^= 0x5a;
    s.send_frames(cap, t, Dir::ToServer, &frames);
    cap.truth(t, Truth::dnp3(fc::READ).into_malformed());
    s.ch.ack(cap, t.add_nanos(ms(30)), Dir::ToServer);
    // Master application timeout, then a new poll.
    t = s.exchange(cap, t.add_nanos(secs(3)), fc::READ, &classes, 0, &[]);

    // A response whose first user data block CRC was corrupted.
    t = t.add_nanos(secs(2));
    let req = s.request_apdu(fc::READ, &classes);
    let t0 = s.fragment(cap, t, Dir::ToServer, &req);
    let events = breaker_events((t.0 / 1_000_000) as u64 - 800);
    let resp = s.response_apdu(d3::IIN_CLASS1_EVENTS, &events, false);
    let mut frames = s.frames(Dir::ToClient, &resp);
    frames[0][10 + 16] ^= 0xff;
    let t1 = t0.add_nanos(s.latency(cap));
    s.send_frames(cap, t1, Dir::ToClient, &frames);
    cap.truth(t1, Truth::dnp3(fc::RESPONSE).into_malformed());
    s.idle_ack(cap, t1);
    t = s.exchange(cap, t1.add_nanos(secs(3)), fc::READ, &classes, 0, &events);

    for _ in 0..3 {
        t = s.exchange(cap, t.add_nanos(secs(2)), fc::READ, &classes, 0, &[]);
    }
    s.ch.close(cap, t.add_nanos(secs(1)));
}

pub(super) fn udp(cap: &mut Cap) {
    let flow = UdpFlow::new(cap, HMI, RTU_SEL, d3::PORT, d3::PORT);
    let mut s = Session::new(cap, flow, DNP3_MASTER, DNP3_OUTSTATION);
    s.frame_per_send = false;
    let resp = integrity_response(cap, 20);
    let mut t = s.exchange(
        cap,
        cap.at(ms(100)),
        fc::READ,
        &integrity_request(),
        0,
        &resp,
    );
    let classes = obj::classes(&[2, 3, 4]);
    for n in 1..=4 {
        t = s.exchange(cap, cap.at(secs(2 * n)), fc::READ, &classes, 0, &[]);
    }
    let ao = obj::g41v2(1, 640, 0);
    s.exchange(cap, t.add_nanos(ms(700)), fc::DIRECT_OPERATE, &ao, 0, &ao);
}
