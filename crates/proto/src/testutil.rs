//! Test helpers: a flow to attach messages to, and a sink that records events as JSON.

use std::net::{IpAddr, Ipv4Addr};

use otwatch_core::flow::ClientBy;
use otwatch_core::{Direction, FlowId, FlowInfo, FlowSide, MacAddr, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::event::{Event, EventSink};

pub fn flow(transport: Transport, server_port: u16, handshake: bool) -> FlowInfo {
    FlowInfo {
        id: FlowId(1),
        transport,
        ip_proto: if transport == Transport::Tcp { 6 } else { 17 },
        vlan: 0,
        client: FlowSide {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port: 40000,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
        },
        server: FlowSide {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            port: server_port,
            mac: MacAddr([2, 0, 0, 0, 0, 2]),
        },
        client_by: if handshake {
            ClientBy::Handshake
        } else {
            ClientBy::PortHeuristic
        },
        proto: None,
        first_seen: Timestamp(0),
        last_seen: Timestamp(0),
        pkts: [0; 2],
        bytes: [0; 2],
        end_reason: None,
    }
}

/// Records every event as its NDJSON value (or a short tag for other events).
#[derive(Default)]
pub struct Recorder {
    pub events: Vec<serde_json::Value>,
}

impl EventSink for Recorder {
    fn on_event(&mut self, ev: &Event<'_>) {
        if matches!(ev, Event::Payload(_) | Event::File(_)) {
            return;
        }
        let v = match crate::json::record(ev) {
            Some(r) => serde_json::to_value(&r).expect("record serializes"),
            None => match ev {
                Event::Gap(g) => serde_json::json!({"event": "gap", "len": g.len}),
                _ => serde_json::json!({"event": "other"}),
            },
        };
        self.events.push(v);
    }
}

impl Recorder {
    pub fn of(&self, event: &str) -> Vec<&serde_json::Value> {
        self.events.iter().filter(|e| e["event"] == event).collect()
    }
}

/// Feeds `chunks` to `d` as a stream in direction `dir`, keeping unconsumed
/// bytes like the flow layer does. Returns the bytes left unconsumed.
pub fn feed_stream<D: Dissector>(
    d: &mut D,
    flow: &FlowInfo,
    dir: Direction,
    chunks: &[&[u8]],
    rec: &mut Recorder,
) -> usize {
    let mut buf: Vec<u8> = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        buf.extend_from_slice(c);
        let mut cx = Ctx::new(Timestamp(i as i64 * 1000), flow, dir, rec);
        let n = d.on_data(&buf, false, &mut cx);
        assert!(n <= buf.len(), "consumed more than given");
        buf.drain(..n);
    }
    buf.len()
}
