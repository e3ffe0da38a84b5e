//! Bidirectional flow identity and the per-flow summary that consumers see.

use std::net::IpAddr;

use serde::Serialize;

use crate::{MacAddr, Proto, Timestamp};

/// Direction of a packet or message relative to the flow's client/server roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ToServer = 0,
    ToClient = 1,
}

impl Direction {
    #[inline]
    pub fn idx(self) -> usize {
        self as usize
    }
    #[inline]
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// Transport of a flow or message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Tcp,
    Udp,
    /// Any other IP protocol (ICMP, ICMPv6, SCTP, ...), tracked as a flow without ports.
    OtherIp,
    /// Link-layer protocols carried directly on an EtherType (ARP, GOOSE, Profinet, LLDP ...).
    L2,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::OtherIp => "ip",
            Transport::L2 => "l2",
        }
    }
}

/// Process-unique flow number, in creation order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FlowId(pub u64);

/// Canonical (direction-independent) flow key: 5-tuple plus VLAN.
///
/// The lower `(ip, port)` endpoint is always stored first, so both directions of a
/// conversation hash to the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub lo_ip: IpAddr,
    pub hi_ip: IpAddr,
    pub lo_port: u16,
    pub hi_port: u16,
    pub ip_proto: u8,
    /// 802.1Q VLAN ids, outer in the high 16 bits, inner in the low 16 (0 = untagged).
    pub vlan: u32,
}

impl FlowKey {
    /// Returns the key and whether `src` is the `hi` endpoint.
    #[inline]
    pub fn new(
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        ip_proto: u8,
        vlan: u32,
    ) -> (FlowKey, bool) {
        let swapped = (src, sport) > (dst, dport);
        let (lo_ip, lo_port, hi_ip, hi_port) = if swapped {
            (dst, dport, src, sport)
        } else {
            (src, sport, dst, dport)
        };
        (
            FlowKey {
                lo_ip,
                hi_ip,
                lo_port,
                hi_port,
                ip_proto,
                vlan,
            },
            swapped,
        )
    }
}

/// One side of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FlowSide {
    pub ip: IpAddr,
    pub port: u16,
    pub mac: MacAddr,
}

/// Source and destination of one packet or message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoints<'a> {
    pub src: &'a FlowSide,
    pub dst: &'a FlowSide,
}

/// How the client side of a flow was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientBy {
    /// The TCP handshake (SYN / SYN-ACK) was seen.
    Handshake,
    /// The handshake was seen, but the side that opened the connection listens
    /// on a known service port (e.g. a Modbus device on 502 connecting out):
    /// the service port decides, as the application protocol defines roles.
    ServicePort,
    /// Mid-stream pickup: the side talking to a known service port, or the higher port.
    PortHeuristic,
}

/// Why a flow ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// FIN from both sides, or a RST, then the close timeout.
    Closed,
    /// No packet for the idle timeout.
    Idle,
    /// Evicted because the flow table was full.
    Evicted,
    /// Still open when the input ended.
    EndOfInput,
}

/// Summary of a flow, kept up to date by the flow table and shown to consumers.
#[derive(Clone, Debug, Serialize)]
pub struct FlowInfo {
    pub id: FlowId,
    pub transport: Transport,
    pub ip_proto: u8,
    pub vlan: u32,
    pub client: FlowSide,
    pub server: FlowSide,
    pub client_by: ClientBy,
    /// Application protocol assigned to the flow, if any.
    pub proto: Option<Proto>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Packets per direction, indexed by [`Direction::idx`].
    pub pkts: [u64; 2],
    /// IP payload bytes (L4 header and data) per direction.
    pub bytes: [u64; 2],
    pub end_reason: Option<EndReason>,
}

impl FlowInfo {
    /// Whether the stream starts were seen (SYN), so no byte precedes the first one.
    #[inline]
    pub fn handshake_seen(&self) -> bool {
        matches!(self.client_by, ClientBy::Handshake | ClientBy::ServicePort)
    }

    #[inline]
    pub fn endpoints(&self, dir: Direction) -> Endpoints<'_> {
        match dir {
            Direction::ToServer => Endpoints {
                src: &self.client,
                dst: &self.server,
            },
            Direction::ToClient => Endpoints {
                src: &self.server,
                dst: &self.client,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn key_is_direction_independent() {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let (k1, s1) = FlowKey::new(a, 40000, b, 502, 6, 0);
        let (k2, s2) = FlowKey::new(b, 502, a, 40000, 6, 0);
        assert_eq!(k1, k2);
        assert_ne!(s1, s2);
        let (k3, _) = FlowKey::new(a, 40000, b, 502, 6, 7);
        assert_ne!(k1, k3, "VLAN is part of the key");
    }
}
