//! The README demo: one minute of a small plant.

use super::hosts::*;
use crate::builder::{Cap, ms, secs};
use crate::dnp3::{self as d3, Session, fc, obj};
use crate::modbus::{self as mb, Client, PORT, read};
use crate::net::{self, Host};
use crate::transport::{Channel, Dir, TcpConn, UdpFlow};

pub(super) const DESCRIPTION: &str = "One minute of a small plant. The HMI/SCADA server \
(10.10.1.10) polls three PLCs over Modbus/TCP every second — Schneider M340 (10.10.1.21), Siemens \
S7-1200 (10.10.1.22) and GE RX3i (10.10.1.23), reading each one's identity (FC43/14) first — and the \
SEL RTU of the substation (10.10.1.30) over DNP3/TCP (integrity poll, event polls every 5 s, one \
unsolicited breaker trip report). At 20 s an engineering workstation (192.168.10.50, through the OT \
firewall 10.10.1.1) connects to the Siemens PLC, reads, writes a setpoint, a coil and a block of \
registers, gets one exception (write to an unmapped register: illegal data address) and sends one \
malformed write (byte count disagrees with quantity). Also ARP request/reply pairs, a DNS lookup of \
the historian and one HTTP GET to it (192.168.10.20).";

/// Length of the demo capture in seconds.
const SECONDS: i64 = 60;

fn arp_pair(cap: &mut Cap, t: otwatch_core::Timestamp, asker: &Host, target: &Host) {
    cap.push(t, net::arp_request(asker, target));
    let t1 = t.add_nanos(cap.rng.micros(150, 900));
    cap.push(t1, net::arp_reply(target, asker));
    cap.note("arp", 2);
}

pub(super) fn demo(cap: &mut Cap) {
    // ARP cache refresh of the HMI when the capture starts.
    for (i, h) in [PLC_SCHNEIDER, PLC_SIEMENS, PLC_GE, RTU_SEL]
        .iter()
        .enumerate()
    {
        arp_pair(cap, cap.at(ms(20 + 30 * i as i64)), &HMI, h);
    }
    modbus_polling(cap);
    dnp3_polling(cap);
    engineering(cap);
    it_traffic(cap);
}

fn modbus_polling(cap: &mut Cap) {
    let plcs = [
        (PLC_SCHNEIDER, ID_SCHNEIDER, 1u8, ms(210)),
        (PLC_SIEMENS, ID_SIEMENS, 255, ms(470)),
        (PLC_GE, ID_GE, 1, ms(730)),
    ];
    for (plc, id, unit, offset) in plcs {
        let conn = TcpConn::new(cap, HMI, plc, PORT);
        let mut c = Client::new(cap, conn, unit);
        let t = c.ch.handshake(cap, cap.at(offset));
        c.burst(
            cap,
            t.add_nanos(ms(1)),
            &[(mb::device_id_req(1, 0), id.response())],
        );
        for n in 1..SECONDS {
            let mut pairs = vec![read(cap, 3, 0, 10), read(cap, 1, 0, 16)];
            if n % 5 == 0 {
                pairs.push(read(cap, 4, 0, 8));
            }
            let t = cap.at_jittered(secs(n) + offset, 2_500);
            c.burst(cap, t, &pairs);
        }
    }
}

fn dnp3_polling(cap: &mut Cap) {
    let conn = TcpConn::new(cap, HMI, RTU_SEL, d3::PORT);
    let mut s = Session::new(cap, conn, DNP3_MASTER, DNP3_OUTSTATION);
    let t = s.ch.handshake(cap, cap.at(ms(900)));
    let t = s.link_status(cap, t.add_nanos(ms(2)));
    let mut o = obj::g1v2(0, &[0x81, 0x81, 0x81, 0x81, 0x01, 0x01, 0x01, 0x01]);
    let analogs: Vec<i32> = (0..12).map(|_| cap.rng.around(13_800, 60) as i32).collect();
    o.extend(obj::g30v1(0, &analogs));
    o.extend(obj::g20v1(0, &[1_204_331, 88_410]));
    let t = s.exchange(
        cap,
        t.add_nanos(ms(10)),
        fc::READ,
        &obj::classes(&[2, 3, 4, 1]),
        0,
        &o,
    );
    let classes = obj::classes(&[2, 3, 4]);
    s.exchange(
        cap,
        t.add_nanos(ms(50)),
        fc::ENABLE_UNSOLICITED,
        &classes,
        0,
        &[],
    );
    for n in 1..SECONDS / 5 {
        let t = cap.at_jittered(secs(5 * n) + ms(900), 3_000);
        s.exchange(cap, t, fc::READ, &classes, 0, &[]);
        if n == 4 {
            // Breaker 2 trips.
            let t = cap.at(secs(23) + ms(412));
            let ev = obj::g2v2(&[(2, 0x01, (t.0 / 1_000_000) as u64 - 18)]);
            let t = s.unsolicited(cap, t, d3::IIN_CLASS1_EVENTS, &ev);
            s.ch.ack(cap, t.add_nanos(ms(1)), Dir::ToServer);
        }
        if n == 6 {
            s.link_status(cap, cap.at(secs(5 * n) + ms(2_400)));
        }
    }
}

fn engineering(cap: &mut Cap) {
    // The firewall resolves the PLC before forwarding the first packet.
    arp_pair(cap, cap.at(secs(20)), &ROUTER, &PLC_SIEMENS);
    let conn = TcpConn::new(cap, EWS, PLC_SIEMENS, PORT);
    let mut c = Client::new(cap, conn, 255);
    let t = c.ch.handshake(cap, cap.at(secs(20) + ms(1)));
    let setpoint = cap.rng.range(700, 760) as u16;
    let block = mb::values(&mut cap.rng, 6, 250, 30);
    let steps: Vec<(Vec<u8>, Vec<u8>)> = vec![
        read(cap, 3, 0x0010, 20),
        (
            mb::addr_value(6, 0x0012, setpoint),
            mb::addr_value(6, 0x0012, setpoint),
        ),
        (
            mb::addr_value(5, 0x0020, 0xff00),
            mb::addr_value(5, 0x0020, 0xff00),
        ),
        (
            mb::write_regs_req(0x0030, &block),
            vec![16, 0x00, 0x30, 0x00, 0x06],
        ),
        // Register 0x2710 is not mapped on this PLC.
        (mb::addr_value(6, 0x2710, 1), mb::exception(6, 2)),
    ];
    let mut t = t;
    for (req, resp) in &steps {
        t = t.add_nanos(cap.rng.micros(1_200_000, 2_500_000));
        let t1 = c.exchange(cap, t, req, resp);
        c.idle_ack(cap, t1);
    }
    // A write whose byte count (4) disagrees with its quantity (3): malformed;
    // the PLC answers illegal data value.
    t = t.add_nanos(cap.rng.micros(1_200_000, 2_500_000));
    let req = [16, 0x00, 0x30, 0x00, 0x03, 0x04, 0x00, 0x01, 0x00, 0x02];
    let tid = c.next_tid();
    c.ch.send(cap, t, Dir::ToServer, &mb::adu(tid, 255, &req));
    cap.modbus_invalid(t, 16, true);
    let t1 = t.add_nanos(c.latency(cap));
    c.respond(cap, t1, tid, &mb::exception(16, 3));
    c.idle_ack(cap, t1);
    let t = t1.add_nanos(cap.rng.micros(1_200_000, 2_500_000));
    let (req, resp) = read(cap, 3, 0x0010, 20);
    let t1 = c.exchange(cap, t, &req, &resp);
    c.idle_ack(cap, t1);
    c.ch.close(cap, t1.add_nanos(secs(2)));
}

/// A DNS A query and its answer.
fn dns(id: u16, name: &str, answer: Option<[u8; 4]>) -> Vec<u8> {
    let flags: u16 = if answer.is_some() { 0x8180 } else { 0x0100 };
    let mut v = Vec::new();
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&flags.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&(answer.is_some() as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    for label in name.split('.') {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.extend_from_slice(&[0, 0, 1, 0, 1]);
    if let Some(ip) = answer {
        v.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        v.extend_from_slice(&300u32.to_be_bytes());
        v.extend_from_slice(&4u16.to_be_bytes());
        v.extend_from_slice(&ip);
    }
    v
}

fn it_traffic(cap: &mut Cap) {
    let t = cap.at(secs(41) + ms(118));
    arp_pair(cap, t, &HMI, &ROUTER);
    let port = cap.rng.ephemeral_port();
    let mut q = UdpFlow::new(cap, HMI, DNS, port, 53);
    let id = cap.rng.next_u16();
    let name = "historian.plant.local";
    let t = t.add_nanos(ms(2));
    q.send(cap, t, Dir::ToServer, &dns(id, name, None));
    cap.truth(t, crate::Truth::msg("dns", 1, true));
    let t = t.add_nanos(cap.rng.micros(600, 2_000));
    q.send(
        cap,
        t,
        Dir::ToClient,
        &dns(id, name, Some([192, 168, 10, 20])),
    );
    cap.truth(t, crate::Truth::msg("dns", 1, false));

    let mut h = TcpConn::new(cap, HMI, HISTORIAN, 80);
    let t = h.handshake(cap, t.add_nanos(ms(1)));
    let get = "GET /api/v1/status HTTP/1.1\r\nHost: historian.plant.local\r\n\
User-Agent: PlantHMI/7.2\r\nAccept: application/json\r\nConnection: close\r\n\r\n";
    h.send(cap, t.add_nanos(ms(1)), Dir::ToServer, get.as_bytes());
    cap.truth(t.add_nanos(ms(1)), crate::Truth::msg("http", 1, true));
    let body = "{\"status\":\"ok\",\"tags\":1842,\"lag_ms\":120}";
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
Connection: close\r\n\r\n{body}",
        body.len()
    );
    let t = t.add_nanos(ms(1) + cap.rng.micros(2_000, 9_000));
    h.send(cap, t, Dir::ToClient, resp.as_bytes());
    cap.truth(t, crate::Truth::msg("http", 200, false));
    h.close(cap, t.add_nanos(ms(3)));
    // DNS pair, handshake, GET, response, close.
    cap.note("other_traffic", 2 + 3 + 2 + 3);
}
