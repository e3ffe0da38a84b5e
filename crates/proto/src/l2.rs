//! Link-layer dissection: frames that carry no IP (GOOSE, Sampled Values,
//! Profinet DCP and RT, LLDP, CDP, BACnet over 802.3) go straight from the decoder to the module
//! for their EtherType or LLC/SNAP header, one frame at a time.
//!
//! Each L2 module provides `on_frame(payload, cx)`. The frame's "flow" is a
//! transient [`FlowInfo`] built by [`frame_flow`]: transport `l2`, the source
//! MAC as client and the destination MAC as server, no IP addresses. Engines
//! key their per-publisher state by MAC and protocol identifiers (appid,
//! frame id), never by flow id.

use std::net::{IpAddr, Ipv4Addr};

use otwatch_core::{ClientBy, FlowId, FlowInfo, FlowSide, MacAddr, Proto, Timestamp, Transport};

use crate::dissector::Ctx;
use crate::{bacnet, cdp, goose, lldp, profinet_dcp, profinet_rt, sv};

/// EtherTypes handled here.
pub mod ethertype {
    pub const PROFINET: u16 = 0x8892;
    pub const GOOSE: u16 = 0x88b8;
    pub const GSE_MGMT: u16 = 0x88b9;
    pub const SV: u16 = 0x88ba;
    pub const LLDP: u16 = 0x88cc;
}

/// Which protocol an L2 frame belongs to, if otwatch dissects it. For IEEE
/// 802.3 frames (`ether_type` ≤ 1500 is a length) the LLC/SNAP header of
/// `payload` decides.
#[inline]
pub fn classify(ether_type: u16, payload: &[u8]) -> Option<Proto> {
    match ether_type {
        ethertype::GOOSE => Some(Proto::Goose),
        ethertype::SV => Some(Proto::Sv),
        ethertype::LLDP => Some(Proto::Lldp),
        ethertype::PROFINET => Some(profinet_kind(payload)),
        0..=1500 => match (snap(payload), payload) {
            (Some((0x00000c, 0x2000, _)), _) => Some(Proto::Cdp),
            // BACnet over IEEE 802.3 (LLC DSAP/SSAP 0x82, UI).
            (None, [0x82, 0x82, 0x03, ..]) => Some(Proto::Bacnet),
            _ => None,
        },
        _ => None,
    }
}

/// Profinet frame ids 0xFEFC–0xFEFF are DCP; everything else is RT/IRT/alarm/PTCP.
fn profinet_kind(payload: &[u8]) -> Proto {
    match payload {
        [a, b, ..] if (0xfefc..=0xfeff).contains(&u16::from_be_bytes([*a, *b])) => {
            Proto::ProfinetDcp
        }
        _ => Proto::ProfinetRt,
    }
}

/// An LLC/SNAP header (`AA AA 03` + OUI + PID): `(oui, pid, data)`.
pub fn snap(payload: &[u8]) -> Option<(u32, u16, &[u8])> {
    match payload {
        [0xaa, 0xaa, 0x03, o1, o2, o3, p1, p2, rest @ ..] => Some((
            u32::from_be_bytes([0, *o1, *o2, *o3]),
            u16::from_be_bytes([*p1, *p2]),
            rest,
        )),
        _ => None,
    }
}

/// The transient flow of one L2 frame (see the module doc).
pub fn frame_flow(
    ts: Timestamp,
    src: MacAddr,
    dst: MacAddr,
    vlan: u32,
    proto: Proto,
    len: usize,
) -> FlowInfo {
    let side = |mac| FlowSide {
        ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        port: 0,
        mac,
    };
    FlowInfo {
        id: FlowId(0),
        transport: Transport::L2,
        ip_proto: 0,
        vlan,
        client: side(src),
        server: side(dst),
        client_by: ClientBy::PortHeuristic,
        proto: Some(proto),
        first_seen: ts,
        last_seen: ts,
        pkts: [1, 0],
        bytes: [len as u64, 0],
        end_reason: None,
    }
}

/// Dissects one L2 frame of protocol `proto` (from [`classify`]).
pub fn dispatch(proto: Proto, payload: &[u8], cx: &mut Ctx<'_>) {
    match proto {
        Proto::Goose => goose::on_frame(payload, cx),
        Proto::Sv => sv::on_frame(payload, cx),
        Proto::Lldp => lldp::on_frame(payload, cx),
        Proto::ProfinetDcp => profinet_dcp::on_frame(payload, cx),
        Proto::ProfinetRt => profinet_rt::on_frame(payload, cx),
        Proto::Bacnet => bacnet::on_frame(payload, cx),
        Proto::Cdp => {
            if let Some((_, _, data)) = snap(payload) {
                cdp::on_frame(data, cx)
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn classify_frames() {
        assert_eq!(classify(0x88b8, &[]), Some(Proto::Goose));
        assert_eq!(classify(0x8892, &[0xfe, 0xfe, 5]), Some(Proto::ProfinetDcp));
        assert_eq!(classify(0x8892, &[0x80, 0x00]), Some(Proto::ProfinetRt));
        let cdp = [0xaa, 0xaa, 3, 0, 0, 0x0c, 0x20, 0x00, 2];
        assert_eq!(classify(40, &cdp), Some(Proto::Cdp));
        assert_eq!(classify(40, &[0x42, 0x42, 3]), None);
        assert_eq!(classify(40, &[0x82, 0x82, 3, 1]), Some(Proto::Bacnet));
        assert_eq!(classify(0x0800, &[]), None);
    }
}
