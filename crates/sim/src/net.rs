//! Hosts and frame building: Ethernet (optionally 802.1Q / QinQ tagged),
//! IPv4 / IPv6, TCP / UDP, IPv4 fragments and ARP.
//!
//! Frames are built with `etherparse`, which computes lengths and the IP,
//! TCP and UDP checksums. Frames shorter than the Ethernet minimum are padded
//! to 60 bytes, as a switch mirror port or tap delivers them.

use std::net::IpAddr;

use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacket, EtherType, Ethernet2Header, IpFragOffset, IpHeaders,
    IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, PacketBuilder, PacketBuilderStep, TcpHeader,
    UdpHeader, VlanId,
};

/// Broadcast MAC address.
pub(crate) const BROADCAST: [u8; 6] = [0xff; 6];

/// A station as seen on the captured link.
///
/// For a host behind a router, `mac` is the router's MAC address and `ttl`
/// the TTL after the routing hop, since that is what the capture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Host {
    pub mac: [u8; 6],
    pub ip: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6) of frames sent by the host.
    pub ttl: u8,
}

impl Host {
    pub const fn v4(mac: [u8; 6], ip: [u8; 4], ttl: u8) -> Host {
        Host {
            mac,
            ip: IpAddr::V4(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])),
            ttl,
        }
    }

    /// The same station reached through a router: the router's MAC, one hop less.
    pub const fn via_router(self, router_mac: [u8; 6]) -> Host {
        Host {
            mac: router_mac,
            ttl: self.ttl - 1,
            ..self
        }
    }

    /// The same station with an IPv6 address.
    pub fn with_ipv6(self, ip: std::net::Ipv6Addr) -> Host {
        Host {
            ip: IpAddr::V6(ip),
            ..self
        }
    }

    fn ipv4(&self) -> [u8; 4] {
        match self.ip {
            IpAddr::V4(a) => a.octets(),
            IpAddr::V6(_) => [0; 4],
        }
    }
}

/// Layer 2 encapsulation of a conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Link {
    #[default]
    Plain,
    /// 802.1Q tag with this VLAN id.
    Vlan(u16),
    /// 802.1ad outer tag (TPID 0x88a8) and 802.1Q inner tag.
    QinQ(u16, u16),
}

impl Link {
    fn tag_len(self) -> usize {
        match self {
            Link::Plain => 0,
            Link::Vlan(_) => 4,
            Link::QinQ(..) => 8,
        }
    }
}

/// Per-packet IP header fields that vary.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IpOpts {
    /// IPv4 identification.
    pub id: u16,
    /// IPv4 Don't Fragment.
    pub df: bool,
    /// IPv6 flow label (20 bits).
    pub flow_label: u32,
}

fn vlan_id(id: u16) -> VlanId {
    VlanId::try_new(id).expect("VLAN ids used by scenarios are below 4095")
}

fn ip_headers(src: &Host, dst: &Host, o: &IpOpts) -> IpHeaders {
    match (src.ip, dst.ip) {
        (IpAddr::V6(s), IpAddr::V6(d)) => IpHeaders::Ipv6(
            Ipv6Header {
                traffic_class: 0,
                flow_label: Ipv6FlowLabel::try_new(o.flow_label & 0xf_ffff)
                    .expect("masked to 20 bits"),
                hop_limit: src.ttl,
                source: s.octets(),
                destination: d.octets(),
                ..Default::default()
            },
            Default::default(),
        ),
        _ => IpHeaders::Ipv4(
            Ipv4Header {
                identification: o.id,
                dont_fragment: o.df,
                time_to_live: src.ttl,
                source: src.ipv4(),
                destination: dst.ipv4(),
                ..Default::default()
            },
            Default::default(),
        ),
    }
}

fn eth_ip(src: &Host, dst: &Host, link: Link, o: &IpOpts) -> PacketBuilderStep<IpHeaders> {
    let eth = PacketBuilder::ethernet2(src.mac, dst.mac);
    let ip = ip_headers(src, dst, o);
    match link {
        Link::Plain => eth.ip(ip),
        Link::Vlan(v) => eth.single_vlan(vlan_id(v)).ip(ip),
        Link::QinQ(outer, inner) => eth.double_vlan(vlan_id(outer), vlan_id(inner)).ip(ip),
    }
}

/// Pads to the 60-byte Ethernet minimum (without FCS).
fn pad(mut f: Vec<u8>) -> Vec<u8> {
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

/// A TCP segment in an Ethernet frame, with a correct checksum.
pub(crate) fn tcp_frame(
    src: &Host,
    dst: &Host,
    link: Link,
    o: &IpOpts,
    tcp: TcpHeader,
    payload: &[u8],
) -> Vec<u8> {
    let b = eth_ip(src, dst, link, o).tcp_header(tcp);
    let mut f = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut f, payload)
        .expect("a TCP segment of at most a few KiB always serializes");
    pad(f)
}

/// A UDP datagram in an Ethernet frame, with a correct checksum.
pub(crate) fn udp_frame(
    src: &Host,
    dst: &Host,
    link: Link,
    o: &IpOpts,
    ports: (u16, u16),
    payload: &[u8],
) -> Vec<u8> {
    let b = eth_ip(src, dst, link, o).udp(ports.0, ports.1);
    let mut f = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut f, payload)
        .expect("a UDP datagram of at most a few KiB always serializes");
    pad(f)
}

/// A UDP datagram over IPv4 (untagged Ethernet) cut into fragments whose IP
/// payload is at most `max_ip_payload` bytes (rounded down to a multiple of 8).
pub(crate) fn udp_fragments(
    src: &Host,
    dst: &Host,
    id: u16,
    ports: (u16, u16),
    payload: &[u8],
    max_ip_payload: usize,
) -> Vec<Vec<u8>> {
    let mut ip = Ipv4Header {
        identification: id,
        dont_fragment: false,
        time_to_live: src.ttl,
        protocol: IpNumber::UDP,
        source: src.ipv4(),
        destination: dst.ipv4(),
        ..Default::default()
    };
    let udp = UdpHeader::with_ipv4_checksum(ports.0, ports.1, &ip, payload)
        .expect("datagram shorter than 64 KiB");
    let mut datagram = udp.to_bytes().to_vec();
    datagram.extend_from_slice(payload);
    let chunk = (max_ip_payload / 8).max(1) * 8;
    let eth = Ethernet2Header {
        source: src.mac,
        destination: dst.mac,
        ether_type: EtherType::IPV4,
    };
    let mut out = Vec::new();
    for (i, part) in datagram.chunks(chunk).enumerate() {
        let off = i * chunk;
        ip.more_fragments = off + part.len() < datagram.len();
        ip.fragment_offset =
            IpFragOffset::try_new((off / 8) as u16).expect("offsets of a datagram below 64 KiB");
        ip.set_payload_len(part.len())
            .expect("fragment shorter than 64 KiB");
        ip.header_checksum = ip.calc_header_checksum();
        let mut f = Vec::with_capacity(14 + 20 + part.len());
        f.extend_from_slice(&eth.to_bytes());
        f.extend_from_slice(&ip.to_bytes());
        f.extend_from_slice(part);
        out.push(pad(f));
    }
    out
}

/// An ARP request from `sender` for `target`'s IPv4 address (broadcast).
pub(crate) fn arp_request(sender: &Host, target: &Host) -> Vec<u8> {
    arp(ArpOperation::REQUEST, sender, target, BROADCAST, [0; 6])
}

/// `sender`'s ARP reply to `target`'s request.
pub(crate) fn arp_reply(sender: &Host, target: &Host) -> Vec<u8> {
    arp(ArpOperation::REPLY, sender, target, target.mac, target.mac)
}

fn arp(
    op: ArpOperation,
    sender: &Host,
    target: &Host,
    eth_dst: [u8; 6],
    target_hw: [u8; 6],
) -> Vec<u8> {
    let packet = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        op,
        &sender.mac,
        &sender.ipv4(),
        &target_hw,
        &target.ipv4(),
    )
    .expect("Ethernet/IPv4 address sizes are valid");
    let b = PacketBuilder::ethernet2(sender.mac, eth_dst).arp(packet);
    let mut f = Vec::with_capacity(b.size());
    b.write(&mut f).expect("an ARP packet always serializes");
    pad(f)
}

/// Replaces the TCP checksum of `frame` (built by [`tcp_frame`] with `link`)
/// by what a sending host with checksum offload hands to the capture: the
/// uncomplemented pseudo-header sum, to be completed by the NIC.
pub(crate) fn offload_tcp_checksum(frame: &mut [u8], link: Link, src: &Host, dst: &Host) {
    let l3 = 14 + link.tag_len();
    let (ip_len, tcp_len) = match src.ip {
        IpAddr::V4(_) => {
            let total = u16::from_be_bytes([frame[l3 + 2], frame[l3 + 3]]) as usize;
            (20, total - 20)
        }
        IpAddr::V6(_) => (
            40,
            u16::from_be_bytes([frame[l3 + 4], frame[l3 + 5]]) as usize,
        ),
    };
    let mut acc: u32 = 0;
    let mut add = |b: &[u8]| {
        for w in b.chunks(2) {
            acc += u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) as u32;
        }
    };
    match (src.ip, dst.ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            add(&s.octets());
            add(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            add(&s.octets());
            add(&d.octets());
        }
        _ => {}
    }
    add(&(tcp_len as u32).to_be_bytes());
    add(&[0, 6]);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    let at = l3 + ip_len + 16;
    let old = u16::from_be_bytes([frame[at], frame[at + 1]]);
    // In the rare case the partial sum happens to be the right checksum, the
    // frame must still count as one with a bad checksum.
    let bad = if acc as u16 == old {
        old.wrapping_add(1)
    } else {
        acc as u16
    };
    frame[at..at + 2].copy_from_slice(&bad.to_be_bytes());
}

/// A link-layer frame (GOOSE, SV, Profinet, LLDP...): Ethernet II with
/// `ether_type`, optionally 802.1Q-tagged with `vlan` (priority 4, as IEC
/// 61850 publishers send), padded to the Ethernet minimum.
#[allow(dead_code)] // used by the L2 protocol scenarios
pub(crate) fn eth_frame(
    src: [u8; 6],
    dst: [u8; 6],
    vlan: Option<u16>,
    ether_type: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(v) = vlan {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&((4u16 << 13) | (v & 0x0fff)).to_be_bytes());
    }
    f.extend_from_slice(&ether_type.to_be_bytes());
    f.extend_from_slice(payload);
    pad(f)
}

/// An IEEE 802.3 frame with an LLC/SNAP header (`AA AA 03`, `oui`, `pid`),
/// as CDP uses, padded to the Ethernet minimum.
#[allow(dead_code)] // used by the CDP scenario
pub(crate) fn snap_frame(
    src: [u8; 6],
    dst: [u8; 6],
    oui: u32,
    pid: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(22 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0xaa, 0xaa, 0x03]);
    f.extend_from_slice(&oui.to_be_bytes()[1..]);
    f.extend_from_slice(&pid.to_be_bytes());
    f.extend_from_slice(payload);
    pad(f)
}
