//! Modbus/TCP and Modbus/UDP scenarios.

use otwatch_core::Timestamp;

use super::hosts::*;
use crate::Truth;
use crate::builder::{Cap, ms, secs};
use crate::modbus::{self as mb, Client, PORT, read};
use crate::transport::{Channel, Dir, TcpConn, UdpFlow};

pub(super) const POLLING: &str = "The HMI (10.10.1.10) polls two PLCs once a second over Modbus/TCP: \
a Schneider Electric M340 (10.10.1.21) and a Siemens S7-1200 (10.10.1.22). Each cycle reads holding \
registers (FC3), input registers (FC4), coils (FC1) and discrete inputs (FC2). When it connects, the \
HMI reads each PLC's identity with Read Device Identification (FC43/14): Schneider Electric \
BMX P34 2020 v3.20 and Siemens AG 6ES7 214-1AG40-0XB0 V4.5. Ten cycles, then both connections close.";

pub(super) const WRITES: &str = "An engineering workstation (192.168.10.50, routed through the OT \
firewall) changes setpoints and runs maintenance functions on the Schneider M340 (10.10.1.21): write \
single coil (FC5), single register (FC6), multiple coils (FC15), multiple registers (FC16), mask write \
(FC22), read/write multiple registers (FC23), diagnostics echo (FC8/00), read exception status (FC7), \
comm event counter (FC11) and log (FC12), report server id (FC17), read and write file record \
(FC20/FC21) and read FIFO queue (FC24). Every request gets its normal response.";

pub(super) const EXCEPTIONS: &str = "The HMI (10.10.1.10) polls the Siemens S7-1200 (10.10.1.22), \
which refuses five requests with exception responses: read file record is not supported (FC20 -> \
01 illegal function), a holding register read beyond the configured area (FC3 -> 02 illegal data \
address), a setpoint outside its range (FC6 -> 03 illegal data value), an input read from a failed I/O \
module (FC4 -> 04 server device failure) and a recipe download while the PLC is busy (FC16 -> 06 server \
device busy). Normal reads continue in between.";

pub(super) const MALFORMED: &str = "On one HMI-to-PLC connection (10.10.1.10 -> 10.10.1.21), normal \
polling is interleaved with five malformed requests: an MBAP header with protocol id 0x1234, an MBAP \
header announcing 1024 bytes, a PDU with function code 0, a holding register read (FC3) of 0 registers \
and a write multiple registers (FC16) whose byte count disagrees with its quantity. The first two are \
each followed, in the same TCP segment, by a valid request; the PLC ignores the first three and answers \
the last two with exception 03 (illegal data value). Five malformed PDUs in total; the last three \
sit in sound MBAP frames, so they also count as requests (function codes 0, 3 and 16).";

pub(super) const SEGMENTED: &str = "Modbus/TCP framing stress between the HMI (10.10.1.10) and the \
Schneider M340 (10.10.1.21), as produced by serial gateways and pipelining clients: a write multiple \
registers request split over 3 TCP segments (the first cut inside the MBAP header), three read \
requests in one TCP segment answered one by one, and a 100-register read response split over 2 \
segments.";

pub(super) const MIDSTREAM: &str = "The capture starts in the middle of an established HMI-to-PLC \
connection (10.10.1.10 -> 10.10.1.21): no handshake, and the first captured segment is the tail of a \
holding register read response. That partial ADU is neither a message nor malformed; the five polling \
cycles that follow are normal.";

pub(super) const UDP: &str = "The HMI (10.10.1.10) polls a Schneider Momentum I/O station \
(10.10.1.24) with Modbus over UDP port 502: holding and input register reads (FC3, FC4), a single \
register write (FC6) and a multiple register write (FC16), four cycles one second apart.";

/// The standard polling cycle: FC3, FC4, FC1, FC2.
fn poll_cycle(cap: &mut Cap) -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        read(cap, 3, 0, 10),
        read(cap, 4, 0, 8),
        read(cap, 1, 0, 16),
        read(cap, 2, 0, 16),
    ]
}

/// Start of polling cycle `n` of a connection whose timer is offset by `offset_ns`.
fn cycle_time(cap: &mut Cap, n: i64, offset_ns: i64) -> Timestamp {
    cap.at_jittered(secs(n) + offset_ns, 2_500)
}

pub(super) fn polling(cap: &mut Cap) {
    let plcs = [
        (PLC_SCHNEIDER, ID_SCHNEIDER, 1, ms(0)),
        (PLC_SIEMENS, ID_SIEMENS, 255, ms(137)),
    ];
    for (plc, id, unit, offset) in plcs {
        let conn = TcpConn::new(cap, HMI, plc, PORT);
        let mut c = Client::new(cap, conn, unit);
        let t = c.ch.handshake(cap, cap.at(ms(200) + offset));
        let t = t.add_nanos(cap.rng.micros(500, 1_500));
        c.burst(cap, t, &[(mb::device_id_req(1, 0), id.response())]);
        for n in 1..=10 {
            let pairs = poll_cycle(cap);
            let t = cycle_time(cap, n, offset);
            c.burst(cap, t, &pairs);
        }
        c.ch.close(cap, cap.at(secs(11) + offset));
    }
}

pub(super) fn writes(cap: &mut Cap) {
    let conn = TcpConn::new(cap, EWS, PLC_SCHNEIDER, PORT);
    let mut c = Client::new(cap, conn, 1);
    let mut t = c.ch.handshake(cap, cap.at(ms(100)));
    let regs = |cap: &mut Cap, n| mb::values(&mut cap.rng, n, 500, 200);
    let wregs = regs(cap, 10);
    let rw_write = regs(cap, 3);
    let rw_read = regs(cap, 4);
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = vec![
        // FC5: start the feed pump (coil 0x00ac on).
        (
            mb::addr_value(5, 0x00ac, 0xff00),
            mb::addr_value(5, 0x00ac, 0xff00),
        ),
        // FC6: tank level setpoint.
        (
            mb::addr_value(6, 0x0001, 0x0258),
            mb::addr_value(6, 0x0001, 0x0258),
        ),
        // FC15: ten valve commands.
        (
            mb::write_coils_req(
                0x0013,
                &[
                    true, false, true, true, false, false, true, true, true, false,
                ],
            ),
            vec![15, 0x00, 0x13, 0x00, 0x0a],
        ),
        // FC16: recipe parameters.
        (
            mb::write_regs_req(0x0064, &wregs),
            vec![16, 0x00, 0x64, 0x00, 0x0a],
        ),
        // FC22: set alarm enable bits.
        (
            mb::mask_write(0x0004, 0x00f2, 0x0025),
            mb::mask_write(0x0004, 0x00f2, 0x0025),
        ),
        // FC23: write three PID gains, read back four status registers.
        (
            mb::read_write_req(0x0003, 4, 0x000e, &rw_write),
            mb::regs_resp(23, &rw_read),
        ),
        // FC8 / 0x0000: return query data.
        (
            mb::addr_value(8, 0x0000, 0xa537),
            mb::addr_value(8, 0x0000, 0xa537),
        ),
        // FC7: read exception status.
        (vec![7], vec![7, 0x6d]),
        // FC11: comm event counter (status ready, 264 events).
        (vec![11], vec![11, 0x00, 0x00, 0x01, 0x08]),
        // FC12: comm event log with two events.
        (
            vec![12],
            vec![12, 0x08, 0x00, 0x00, 0x01, 0x08, 0x01, 0x21, 0x20, 0x00],
        ),
        // FC17: report server id (id 0x0e, running, "M340").
        (vec![17], vec![17, 0x06, 0x0e, 0xff, b'M', b'3', b'4', b'0']),
        // FC20: read 2 registers of file 4, record 1.
        (
            vec![20, 0x07, 0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02],
            vec![20, 0x06, 0x05, 0x06, 0x0d, 0xfe, 0x00, 0x20],
        ),
        // FC21: write 1 register of file 4, record 7 (echoed).
        (
            vec![
                21, 0x09, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x01, 0x06, 0xaf,
            ],
            vec![
                21, 0x09, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x01, 0x06, 0xaf,
            ],
        ),
        // FC24: FIFO queue at 0x04de with two values.
        (
            vec![24, 0x04, 0xde],
            vec![24, 0x00, 0x06, 0x00, 0x02, 0x01, 0xb8, 0x12, 0x84],
        ),
    ];
    for (req, resp) in &pairs {
        // The engineer works at human pace: one function every 1-3 seconds.
        t = t.add_nanos(cap.rng.micros(1_000_000, 3_000_000));
        let t1 = c.exchange(cap, t, req, resp);
        c.idle_ack(cap, t1);
    }
    c.ch.close(cap, t.add_nanos(secs(2)));
}

pub(super) fn exceptions(cap: &mut Cap) {
    let conn = TcpConn::new(cap, HMI, PLC_SIEMENS, PORT);
    let mut c = Client::new(cap, conn, 255);
    c.ch.handshake(cap, cap.at(ms(100)));
    let refused: [(Vec<u8>, u8); 5] = [
        (vec![20, 0x07, 0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02], 1),
        (mb::read_req(3, 0x9c40, 10), 2),
        (mb::addr_value(6, 0x0010, 0x7fff), 3),
        (mb::read_req(4, 0x0100, 8), 4),
        (mb::write_regs_req(0x0200, &[1, 2, 3, 4]), 6),
    ];
    for (n, (req, code)) in refused.iter().enumerate() {
        let t = cycle_time(cap, n as i64 + 1, 0);
        let normal = read(cap, 3, 0, 10);
        let resp = mb::exception(req[0], *code);
        c.burst(cap, t, &[normal, (req.clone(), resp)]);
    }
    c.ch.close(cap, cap.at(secs(6)));
}

pub(super) fn malformed(cap: &mut Cap) {
    let conn = TcpConn::new(cap, HMI, PLC_SCHNEIDER, PORT);
    let mut c = Client::new(cap, conn, 1);
    c.ch.handshake(cap, cap.at(ms(100)));
    let unit = c.unit;
    // A bad MBAP header is only malformed; a bad PDU in a sound frame is
    // both a message and malformed.
    let bad_header =
        |cap: &mut Cap, t, fc: u8| cap.truth(t, Truth::modbus(fc, true).into_malformed());
    // Each step: a normal read, then one bad request.
    for step in 0..5 {
        let normal = read(cap, 3, 0, 10);
        let t = cycle_time(cap, step + 1, 0);
        let t = c.burst(cap, t, &[normal]);
        let t = t.add_nanos(ms(200));
        match step {
            0 | 1 => {
                // A bad MBAP header, then a valid request in the same segment.
                let (proto, len) = if step == 0 { (0x1234, 6) } else { (0, 0x0400) };
                let mut seg = mb::mbap(c.next_tid(), proto, len, unit).to_vec();
                seg.extend_from_slice(&mb::read_req(3, 0x0064, 10));
                bad_header(cap, t, 3);
                let (req, resp) = read(cap, 3, 0x0064, 10);
                let (tid, valid) = c.request_adu(cap, t, &req);
                seg.extend_from_slice(&valid);
                c.ch.send(cap, t, Dir::ToServer, &seg);
                let t1 = t.add_nanos(c.latency(cap));
                c.respond(cap, t1, tid, &resp);
                c.idle_ack(cap, t1);
            }
            2 => {
                // Function code 0: the PLC drops it; the server's stack ACKs it.
                let tid = c.next_tid();
                c.ch.send(
                    cap,
                    t,
                    Dir::ToServer,
                    &mb::adu(tid, unit, &[0x00, 0x00, 0x00, 0x00, 0x01]),
                );
                cap.modbus_invalid(t, 0, true);
                c.ch.ack(cap, t.add_nanos(ms(20)), Dir::ToServer);
            }
            _ => {
                let req = if step == 3 {
                    mb::read_req(3, 0x0064, 0)
                } else {
                    // Quantity 2 needs 4 bytes; the byte count says 6.
                    vec![
                        16, 0x00, 0xc8, 0x00, 0x02, 0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03,
                    ]
                };
                let tid = c.next_tid();
                c.ch.send(cap, t, Dir::ToServer, &mb::adu(tid, unit, &req));
                cap.modbus_invalid(t, req[0], true);
                let t1 = t.add_nanos(c.latency(cap));
                c.respond(cap, t1, tid, &mb::exception(req[0], 3));
                c.idle_ack(cap, t1);
            }
        }
    }
    let normal = read(cap, 3, 0, 10);
    let t = cycle_time(cap, 6, 0);
    c.burst(cap, t, &[normal]);
    c.ch.close(cap, cap.at(secs(7)));
}

pub(super) fn segmented(cap: &mut Cap) {
    let conn = TcpConn::new(cap, HMI, PLC_SCHNEIDER, PORT);
    let mut c = Client::new(cap, conn, 1);
    c.ch.handshake(cap, cap.at(ms(100)));
    let normal = read(cap, 3, 0, 10);
    let t = cycle_time(cap, 1, 0);
    c.burst(cap, t, &[normal]);

    // A request split over 3 segments, the first inside the MBAP header.
    let t = cycle_time(cap, 2, 0);
    let regs = mb::values(&mut cap.rng, 10, 800, 100);
    let (tid, a) = c.request_adu(cap, t.add_nanos(ms(6)), &mb::write_regs_req(0x0064, &regs));
    let t = c.ch.send_split(cap, t, Dir::ToServer, &a, &[5, 14], ms(3));
    let t1 = t.add_nanos(c.latency(cap));
    c.respond(cap, t1, tid, &[16, 0x00, 0x64, 0x00, 0x0a]);
    c.idle_ack(cap, t1);

    // Three pipelined requests in one segment, answered one by one.
    let t = cycle_time(cap, 3, 0);
    let mut seg = Vec::new();
    let mut pending = Vec::new();
    for (addr, qty) in [(0, 10), (100, 20), (200, 4)] {
        let (req, resp) = read(cap, 3, addr, qty);
        let (tid, a) = c.request_adu(cap, t, &req);
        seg.extend_from_slice(&a);
        pending.push((tid, resp));
    }
    c.ch.send(cap, t, Dir::ToServer, &seg);
    let mut at = t;
    for (tid, resp) in pending {
        at = at.add_nanos(c.latency(cap));
        c.respond(cap, at, tid, &resp);
    }
    c.idle_ack(cap, at);

    // A 100-register response split over 2 segments.
    let t = cycle_time(cap, 4, 0);
    let (req, resp) = read(cap, 3, 0x0100, 100);
    let tid = c.request(cap, t, &req);
    let t1 = t.add_nanos(c.latency(cap));
    let a = c.response_adu(cap, t1.add_nanos(ms(1)), tid, &resp);
    let t2 = c.ch.send_split(cap, t1, Dir::ToClient, &a, &[120], ms(1));
    c.idle_ack(cap, t2);

    let normal = read(cap, 3, 0, 10);
    let t = cycle_time(cap, 5, 0);
    c.burst(cap, t, &[normal]);
    c.ch.close(cap, cap.at(secs(6)));
}

pub(super) fn midstream(cap: &mut Cap) {
    let mut conn = TcpConn::new(cap, HMI, PLC_SCHNEIDER, PORT);
    cap.note("tcp_midstream_flows", 1);
    // The request before the capture started, and the head of its response.
    let (req, resp) = read(cap, 3, 0, 12);
    let tid = cap.rng.range(1, 2000) as u16;
    conn.skip(Dir::ToServer, mb::adu(tid, 1, &req).len());
    let head = 13;
    let full = mb::adu(tid, 1, &resp);
    conn.skip(Dir::ToClient, head);
    conn.send(cap, cap.at(0), Dir::ToClient, &full[head..]);
    let mut c = Client::new(cap, conn, 1);
    c.idle_ack(cap, cap.at(0));
    for n in 1..=5 {
        let pairs = poll_cycle(cap);
        let t = cycle_time(cap, n, 0);
        c.burst(cap, t, &pairs);
    }
}

pub(super) fn udp(cap: &mut Cap) {
    let port = cap.rng.ephemeral_port();
    let flow = UdpFlow::new(cap, HMI, PLC_MOMENTUM, port, PORT);
    let mut c = Client::new(cap, flow, 1);
    for n in 1..=4 {
        let setpoint = cap.rng.range(400, 600) as u16;
        let regs = mb::values(&mut cap.rng, 4, 300, 50);
        let pairs = vec![
            read(cap, 3, 0, 10),
            read(cap, 4, 0, 6),
            (
                mb::addr_value(6, 0x0010, setpoint),
                mb::addr_value(6, 0x0010, setpoint),
            ),
            (
                mb::write_regs_req(0x0020, &regs),
                vec![16, 0x00, 0x20, 0x00, 0x04],
            ),
        ];
        let t = cycle_time(cap, n, 0);
        c.burst(cap, t, &pairs);
    }
}
