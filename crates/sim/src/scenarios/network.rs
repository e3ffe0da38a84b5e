//! Network-level scenarios: VLAN tags, IPv6, IP fragments, TCP anomalies,
//! checksum offload. Payloads are Modbus or DNP3 so that messages can be counted.

use std::net::Ipv6Addr;

use super::hosts::*;
use crate::builder::{Cap, ms, secs};
use crate::dnp3::{self as d3, Session, fc, obj};
use crate::modbus::{self as mb, Client, PORT, read};
use crate::net::{Host, Link};
use crate::transport::{Dir, TcpConn, UdpFlow};

pub(super) const VLAN: &str = "Modbus/TCP polling on tagged links: an HMI (10.10.10.10) polls a \
Rockwell Micro850 (10.10.10.31) in 802.1Q VLAN 10, and a remote-site HMI (10.10.20.10) polls a \
Schneider M340 (10.10.20.21) across a provider bridge, double tagged (QinQ: outer VLAN 100, inner \
VLAN 20). Five cycles of FC3 and FC1 on each, plus one identification request (FC43/14).";

pub(super) const IPV6: &str = "Modbus/TCP over IPv6: the HMI (fd00:10:10:1::10) reads the Schneider \
M340 (fd00:10:10:1::21) identity (FC43/14), then polls it five times (FC3, FC4, FC1, FC2).";

pub(super) const FRAGMENTS: &str = "DNP3 over UDP to a remote RTU (10.10.1.30) across a cellular \
link with a 1280-byte MTU: two integrity poll responses are too large for one packet and arrive as IPv4 \
fragments, one datagram in 2 fragments and one in 3 fragments delivered last fragment first. Event \
polls with small responses in between.";

pub(super) const TCP_ANOMALIES: &str = "Modbus/TCP polling (HMI 10.10.1.10 -> Schneider M340 \
10.10.1.21) over a lossy link: one request is retransmitted 300 ms later because the first copy was \
lost beyond the capture point, two pipelined requests are captured in reverse order, and one request is \
lost before the capture point, so only its response (and the PLC's ACK moving past it) is seen. The \
lost request is not a message; its response is a response without a request.";

pub(super) const BAD_CHECKSUMS: &str = "Modbus/TCP polling captured on the HMI itself (10.10.1.10 -> \
Schneider M340 10.10.1.21) with TCP checksum offload enabled: every frame the HMI sends carries an \
unfinished TCP checksum (the NIC completes it after the capture point), while the PLC's frames are \
correct. The traffic is otherwise normal and every message must be counted; notes.bad_tcp_checksums \
gives the number of frames with a wrong checksum.";

fn at_cycle(cap: &mut Cap, n: i64, offset: i64) -> otwatch_core::Timestamp {
    cap.at_jittered(secs(n) + offset, 2_500)
}

/// Handshake, identification, `cycles` polling cycles of `fcs`, close.
fn poll(
    cap: &mut Cap,
    conn: TcpConn,
    unit: u8,
    id: Option<mb::Identity>,
    fcs: &[u8],
    cycles: i64,
    offset: i64,
) {
    let mut c = Client::new(cap, conn, unit);
    let t = c.ch.handshake(cap, cap.at(ms(100) + offset));
    if let Some(id) = id {
        c.burst(
            cap,
            t.add_nanos(ms(1)),
            &[(mb::device_id_req(1, 0), id.response())],
        );
    }
    for n in 1..=cycles {
        let pairs: Vec<_> = fcs
            .iter()
            .map(|&f| read(cap, f, 0, if f <= 2 { 16 } else { 10 }))
            .collect();
        let t = at_cycle(cap, n, offset);
        c.burst(cap, t, &pairs);
    }
    c.ch.close(cap, cap.at(secs(cycles + 1) + offset));
}

pub(super) fn vlan(cap: &mut Cap) {
    let hmi10 = Host::v4(HMI.mac, [10, 10, 10, 10], 128);
    let conn = TcpConn::new(cap, hmi10, PLC_ROCKWELL, PORT).with_link(Link::Vlan(10));
    poll(cap, conn, 1, Some(ID_ROCKWELL), &[3, 1], 5, 0);
    let hmi20 = Host::v4([0x00, 0x14, 0x22, 0x3a, 0x7c, 0x20], [10, 10, 20, 10], 128);
    let plc20 = Host::v4(PLC_SCHNEIDER.mac, [10, 10, 20, 21], 64);
    let conn = TcpConn::new(cap, hmi20, plc20, PORT).with_link(Link::QinQ(100, 20));
    poll(cap, conn, 1, Some(ID_SCHNEIDER), &[3, 1], 5, ms(310));
}

pub(super) fn ipv6(cap: &mut Cap) {
    let hmi = HMI.with_ipv6(Ipv6Addr::new(0xfd00, 0x10, 0x10, 1, 0, 0, 0, 0x10));
    let plc = PLC_SCHNEIDER.with_ipv6(Ipv6Addr::new(0xfd00, 0x10, 0x10, 1, 0, 0, 0, 0x21));
    let conn = TcpConn::new(cap, hmi, plc, PORT);
    poll(cap, conn, 1, Some(ID_SCHNEIDER), &[3, 4, 1, 2], 5, 0);
}

pub(super) fn fragments(cap: &mut Cap) {
    let mut flow = UdpFlow::new(cap, HMI, RTU_SEL, d3::PORT, d3::PORT);
    flow.max_ip_payload = 1260;
    let mut s = Session::new(cap, flow, DNP3_MASTER, DNP3_OUTSTATION);
    s.frame_per_send = false;
    s.latency_us = (150_000, 400_000);
    let integrity = obj::classes(&[2, 3, 4, 1]);
    let classes = obj::classes(&[2, 3, 4]);
    let mut t = cap.at(ms(100));
    for (n, analog) in [(0, 270usize), (1, 0), (2, 0), (3, 460), (4, 0)] {
        t = if n == 0 { t } else { cap.at(secs(5 * n)) };
        if analog == 0 {
            s.exchange(cap, t, fc::READ, &classes, 0, &[]);
            continue;
        }
        let mut o = obj::g1v2(0, &[0x81; 16]);
        let values: Vec<i32> = (0..analog)
            .map(|_| cap.rng.around(9_500, 500) as i32)
            .collect();
        o.extend(obj::g30v1(0, &values));
        if analog > 300 {
            s.ch.reverse_next_fragments = true;
        }
        s.exchange(cap, t, fc::READ, &integrity, 0, &o);
    }
}

pub(super) fn tcp_anomalies(cap: &mut Cap) {
    let conn = TcpConn::new(cap, HMI, PLC_SCHNEIDER, PORT);
    let mut c = Client::new(cap, conn, 1);
    c.ch.handshake(cap, cap.at(ms(100)));
    let normal = read(cap, 3, 0, 10);
    let t = at_cycle(cap, 1, 0);
    c.burst(cap, t, &[normal]);

    // Retransmission: the first copy never reached the PLC.
    let t = at_cycle(cap, 2, 0);
    let (req, resp) = read(cap, 3, 0, 10);
    let (tid, a) = c.request_adu(cap, t, &req);
    let first = c.ch.segment(Dir::ToServer, &a, true);
    c.ch.emit(cap, t, &first);
    let again = c.ch.resend(&first);
    let t = t.add_nanos(ms(300));
    c.ch.emit(cap, t, &again);
    cap.note("tcp_retransmissions", 1);
    let t1 = t.add_nanos(c.latency(cap));
    c.respond(cap, t1, tid, &resp);
    c.idle_ack(cap, t1);

    // Two pipelined requests, captured in reverse order.
    let t = at_cycle(cap, 3, 0);
    let (req1, resp1) = read(cap, 3, 0, 10);
    let (req2, resp2) = read(cap, 4, 0, 8);
    let (tid1, a1) = c.request_adu(cap, t, &req1);
    let (tid2, a2) = c.request_adu(cap, t, &req2);
    let s1 = c.ch.segment(Dir::ToServer, &a1, true);
    let s2 = c.ch.segment(Dir::ToServer, &a2, true);
    c.ch.emit(cap, t, &s2);
    c.ch.emit(cap, t.add_nanos(60_000), &s1);
    cap.note("tcp_out_of_order", 1);
    let t1 = t.add_nanos(c.latency(cap));
    c.respond(cap, t1, tid1, &resp1);
    let t2 = t1.add_nanos(c.latency(cap));
    c.respond(cap, t2, tid2, &resp2);
    c.idle_ack(cap, t2);

    // A request lost before the capture point: only the response is seen.
    let t = at_cycle(cap, 4, 0);
    let (req, resp) = read(cap, 3, 0, 10);
    let tid = c.next_tid();
    let lost = c.ch.segment(Dir::ToServer, &mb::adu(tid, 1, &req), true);
    drop(lost);
    cap.note("tcp_lost_segments", 1);
    cap.note("unmatched_responses", 1);
    let t1 = t.add_nanos(c.latency(cap));
    c.respond(cap, t1, tid, &resp);
    c.idle_ack(cap, t1);

    for n in 5..=6 {
        let pairs = vec![read(cap, 3, 0, 10), read(cap, 1, 0, 16)];
        let t = at_cycle(cap, n, 0);
        c.burst(cap, t, &pairs);
    }
    c.ch.close(cap, cap.at(secs(7)));
}

pub(super) fn bad_checksums(cap: &mut Cap) {
    let mut conn = TcpConn::new(cap, HMI, PLC_SCHNEIDER, PORT);
    conn.offload = [true, false];
    poll(cap, conn, 1, None, &[3, 4, 1], 5, 0);
}
