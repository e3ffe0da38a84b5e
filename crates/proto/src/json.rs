//! NDJSON records for the `--events` output (never used on the hot path).
//!
//! One record per application message, malformed PDU or ARP packet. The common
//! envelope is documented in `docs/events.md`; the object named after the
//! protocol comes from that protocol's own `json.rs`.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::event::{AppEvent, ArpEvent, Event, MalformedEvent};
use otwatch_core::{Direction, FlowInfo, MsgKind, Proto, Timestamp, Transport};

/// Bytes as a lower-case hex string.
pub struct Hex<'a>(pub &'a [u8]);

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const D: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(self.0.len() * 2);
        for b in self.0 {
            out.push(D[(b >> 4) as usize] as char);
            out.push(D[(b & 15) as usize] as char);
        }
        s.serialize_str(&out)
    }
}

/// Serializable view of an event, or `None` for events that have no record.
pub fn record<'e>(ev: &'e Event<'e>) -> Option<Record<'e>> {
    match *ev {
        Event::App(a) => Some(Record::App(a)),
        Event::Malformed(m) => Some(Record::Malformed(m)),
        Event::Arp(a) => Some(Record::Arp(a)),
        _ => None,
    }
}

/// A record of the `--events` file.
pub enum Record<'e> {
    App(&'e AppEvent<'e>),
    Malformed(&'e MalformedEvent<'e>),
    Arp(&'e ArpEvent),
}

fn envelope<M: SerializeMap>(
    m: &mut M,
    ts: Timestamp,
    event: &str,
    proto: Proto,
    flow: &FlowInfo,
    dir: Direction,
    kind: MsgKind,
) -> Result<(), M::Error> {
    let ep = flow.endpoints(dir);
    m.serialize_entry("ts", &ts)?;
    m.serialize_entry("event", event)?;
    m.serialize_entry("proto", proto.name())?;
    m.serialize_entry("transport", flow.transport.as_str())?;
    m.serialize_entry("kind", kind.as_str())?;
    // Link-layer frames (GOOSE, SV, Profinet, LLDP, CDP) have no flow and no IP.
    if flow.transport != Transport::L2 {
        m.serialize_entry("flow_id", &flow.id.0)?;
        m.serialize_entry("direction", &dir)?;
        m.serialize_entry("src_ip", &ep.src.ip)?;
        m.serialize_entry("dst_ip", &ep.dst.ip)?;
    }
    if matches!(flow.transport, Transport::Tcp | Transport::Udp) {
        m.serialize_entry("src_port", &ep.src.port)?;
        m.serialize_entry("dst_port", &ep.dst.port)?;
    }
    m.serialize_entry("src_mac", &ep.src.mac)?;
    m.serialize_entry("dst_mac", &ep.dst.mac)?;
    if flow.vlan != 0 {
        m.serialize_entry("vlan", &vlan_list(flow.vlan))?;
    }
    Ok(())
}

/// VLAN ids outermost first (the key packs outer<<16 | inner).
fn vlan_list(v: u32) -> Vec<u16> {
    let (outer, inner) = ((v >> 16) as u16, (v & 0xffff) as u16);
    match (outer, inner) {
        (0, i) => vec![i],
        (o, i) => vec![o, i],
    }
}

fn kind_for(dir: Direction) -> MsgKind {
    match dir {
        Direction::ToServer => MsgKind::Request,
        Direction::ToClient => MsgKind::Response,
    }
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Record::App(a) => {
                let proto = a.msg.proto();
                envelope(&mut m, a.ts, "message", proto, a.flow, a.dir, a.kind)?;
                // The protocol's function/command/service code as otwatch counts it.
                m.serialize_entry("code", &a.msg.function_code())?;
                a.msg.serialize_into(&mut m)?;
            }
            Record::Malformed(e) => {
                envelope(
                    &mut m,
                    e.ts,
                    "malformed",
                    e.proto,
                    e.flow,
                    e.dir,
                    kind_for(e.dir),
                )?;
                m.serialize_entry("error", &ErrorJson(e))?;
            }
            Record::Arp(a) => {
                m.serialize_entry("ts", &a.ts)?;
                m.serialize_entry("event", "message")?;
                m.serialize_entry("proto", Proto::Arp.name())?;
                m.serialize_entry("transport", Transport::L2.as_str())?;
                let kind = match a.operation {
                    1 => MsgKind::Request,
                    2 => MsgKind::Response,
                    _ => MsgKind::Other,
                };
                m.serialize_entry("kind", kind.as_str())?;
                m.serialize_entry("src_mac", &a.src_mac)?;
                m.serialize_entry("dst_mac", &a.dst_mac)?;
                if a.vlan != 0 {
                    m.serialize_entry("vlan", &vlan_list(a.vlan))?;
                }
                m.serialize_entry("arp", &ArpJson(a))?;
            }
        }
        m.end()
    }
}

struct ErrorJson<'a>(&'a MalformedEvent<'a>);

impl Serialize for ErrorJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("code", e.code)?;
        m.serialize_entry("detail", &e.detail.to_string())?;
        if let Some(f) = e.function_code {
            m.serialize_entry("function_code", &f)?;
        }
        m.serialize_entry("data", &Hex(e.data))?;
        m.end()
    }
}

struct ArpJson<'a>(&'a ArpEvent);

impl Serialize for ArpJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("operation", &a.operation)?;
        m.serialize_entry("sender_mac", &a.sender_mac)?;
        m.serialize_entry("sender_ip", &a.sender_ip)?;
        m.serialize_entry("target_mac", &a.target_mac)?;
        m.serialize_entry("target_ip", &a.target_ip)?;
        m.serialize_entry("gratuitous", &a.is_gratuitous())?;
        m.end()
    }
}
