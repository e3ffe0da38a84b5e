//! Entry points for the fuzz targets (`fuzz/`): drive one protocol's
//! dissector with arbitrary bytes the way the pipeline would, and serialize
//! every resulting record (so that the NDJSON code is fuzzed too).
//!
//! The first input byte chooses how the rest is cut: as a stream (TCP, with
//! unconsumed bytes presented again like the flow layer does, occasional
//! gaps, both directions) or as datagrams. Protocols that live inside another
//! one are wrapped in their carrier (S7comm, S7comm-plus and MMS in
//! TPKT/COTP data TPDUs, UMAS in Modbus/TCP function 90).

use std::net::{IpAddr, Ipv4Addr};

use otwatch_core::{
    ClientBy, Direction, FlowId, FlowInfo, FlowSide, MacAddr, Proto, Timestamp, Transport,
};

use crate::dissector::{Ctx, Dissector};
use crate::event::{Event, EventSink};
use crate::protocols::Session;

/// Bytes kept unconsumed before the harness drops them (the flow layer caps
/// its per-direction buffer the same way).
const MAX_PENDING: usize = 256 * 1024;

/// Serializes every record and asks every message for its identity.
struct Exercise;

impl EventSink for Exercise {
    fn on_event(&mut self, ev: &Event<'_>) {
        if let Event::App(a) = ev {
            let _ = a.msg.function_code();
            let _ = a.msg.identity();
        }
        if let Some(r) = crate::json::record(ev) {
            let _ = serde_json::to_vec(&r);
        }
    }
}

fn flow(transport: Transport, port: u16, proto: Proto) -> FlowInfo {
    let side = |ip: [u8; 4], port, m| FlowSide {
        ip: IpAddr::V4(Ipv4Addr::from(ip)),
        port,
        mac: MacAddr([2, 0, 0, 0, 0, m]),
    };
    FlowInfo {
        id: FlowId(1),
        transport,
        ip_proto: match transport {
            Transport::Tcp => 6,
            Transport::Udp => 17,
            _ => 1,
        },
        vlan: 0,
        client: side([10, 0, 0, 1], 40000, 1),
        server: side([10, 0, 0, 2], port, 2),
        client_by: ClientBy::Handshake,
        proto: Some(proto),
        first_seen: Timestamp(0),
        last_seen: Timestamp(0),
        pkts: [0; 2],
        bytes: [0; 2],
        end_reason: None,
    }
}

/// Cuts `data` into chunks whose lengths come from the data itself.
fn chunks(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (&ctl, tail) = rest.split_first()?;
        let len = (ctl as usize & 0x3f) * 8 + 1;
        let (c, r) = tail.split_at(len.min(tail.len()));
        rest = r;
        Some((ctl, c))
    })
}

/// Wraps a carried PDU in its carrier's framing.
fn wrap(proto: Proto, pdu: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match proto {
        Proto::S7comm | Proto::S7commPlus | Proto::Mms => {
            let len = (pdu.len() + 7).min(u16::MAX as usize) as u16;
            out.extend_from_slice(&[3, 0]);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&[2, 0xf0, 0x80]);
        }
        Proto::Umas => {
            let len = (pdu.len() + 2).min(u16::MAX as usize) as u16;
            out.extend_from_slice(&[0, 1, 0, 0]);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&[1, 0x5a]);
        }
        _ => {}
    }
    out.extend_from_slice(pdu);
}

/// Runs `proto`'s dissector over `data` (see the module doc).
pub fn run(proto: Proto, data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let mut sink = Exercise;
    if is_l2(proto) {
        let mut framed = Vec::new();
        let data = if proto == Proto::Cdp {
            framed.extend_from_slice(&[0xaa, 0xaa, 3, 0, 0, 0x0c, 0x20, 0]);
            framed.extend_from_slice(data);
            &framed[..]
        } else {
            data
        };
        let f = crate::l2::frame_flow(
            Timestamp(0),
            MacAddr([2, 0, 0, 0, 0, 1]),
            MacAddr([1, 0x0c, 0xcd, 1, 0, 1]),
            0,
            proto,
            data.len(),
        );
        let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut sink);
        crate::l2::dispatch(proto, data, &mut cx);
        return;
    }
    let carrier = match proto {
        Proto::S7comm | Proto::S7commPlus | Proto::Mms => Proto::Cotp,
        Proto::Umas => Proto::Modbus,
        p => p,
    };
    let Some(mut session) = Session::new(carrier) else {
        return;
    };
    let wrapped = carrier != proto;
    let datagram = mode & 1 == 1 && !wrapped;
    let transport = match (carrier, datagram) {
        (Proto::Icmp, _) => Transport::OtherIp,
        (_, true) => Transport::Udp,
        _ => Transport::Tcp,
    };
    let port = crate::protocols::default_ports()
        .find(|(t, _, p)| *p == carrier && (*t == transport || transport == Transport::OtherIp))
        .map_or(9, |(_, port, _)| port);
    let f = flow(transport, port, carrier);
    let mut pending: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut framed = Vec::new();
    for (i, (ctl, c)) in chunks(data).enumerate() {
        let dir = if ctl & 0x40 != 0 {
            Direction::ToClient
        } else {
            Direction::ToServer
        };
        let mut cx = Ctx::new(Timestamp(i as i64 * 1000), &f, dir, &mut sink);
        let c = if wrapped {
            wrap(proto, c, &mut framed);
            &framed[..]
        } else {
            c
        };
        if datagram {
            session.on_data(c, true, &mut cx);
            continue;
        }
        if ctl & 0x80 != 0 && mode & 2 != 0 {
            pending[dir.idx()].clear();
            session.on_gap(c.len() as u32, &mut cx);
            continue;
        }
        let buf = &mut pending[dir.idx()];
        buf.extend_from_slice(c);
        let n = session.on_data(buf, false, &mut cx);
        assert!(
            n <= buf.len(),
            "{proto}: consumed {n} of {} bytes",
            buf.len()
        );
        buf.drain(..n);
        if buf.len() > MAX_PENDING {
            let len = buf.len() as u32;
            buf.clear();
            session.on_gap(len, &mut cx);
        }
    }
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut sink);
    session.on_end(&mut cx);
}

fn is_l2(p: Proto) -> bool {
    matches!(
        p,
        Proto::Goose
            | Proto::Sv
            | Proto::Lldp
            | Proto::ProfinetDcp
            | Proto::ProfinetRt
            | Proto::Cdp
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every protocol's harness runs on a few fixed inputs (the fuzz targets
    /// run it on generated ones).
    #[test]
    fn every_protocol_survives_sample_inputs() {
        let inputs: [&[u8]; 5] = [
            &[],
            &[0, 5, 1, 2, 3, 4, 5],
            &[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[2, 0x80, 0x41, 0x00, 0x40, 0x10, 0x20, 0x30],
            &[0; 300],
        ];
        for p in Proto::ALL {
            for i in inputs {
                run(*p, i);
            }
        }
    }
}
