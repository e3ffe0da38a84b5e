//! L2–L4 decoding: link headers, VLAN tags, ARP, IPv4/IPv6 (with bounded
//! fragment reassembly), TCP, UDP, ICMP and ICMPv6.
//!
//! The link layer and VLAN tags are read here (a few fixed offsets); IP and
//! transport headers, including IPv6 extension headers and snap-length
//! truncation, are sliced with `etherparse`'s lax parser. Decoding never
//! allocates for unfragmented packets, and never fails: whatever cannot be
//! decoded is counted in [`DecodeStats`] and reported as [`Net::Invalid`].
//!
//! Checksums are verified and counted, but a bad checksum never drops the
//! packet: captures taken on the sending host carry offloaded (unfilled)
//! checksums, as do many real OT captures.

mod checksum;
mod defrag;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
use otwatch_capture::LinkType;
use otwatch_core::{MacAddr, Timestamp};
use serde::Serialize;

pub use defrag::{DefragConfig, Defragmenter};

/// EtherTypes the decoder looks at.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const QINQ_OLD: u16 = 0x9100;
    pub const IPV6: u16 = 0x86dd;
    pub const PROFINET: u16 = 0x8892;
    pub const GOOSE: u16 = 0x88b8;
    pub const SV: u16 = 0x88ba;
    pub const LLDP: u16 = 0x88cc;
}

/// TCP flag bits as on the wire.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// A decoded frame. Borrows from the captured bytes or, for a reassembled IP
/// datagram, from the decoder's reassembly buffer.
#[derive(Clone, Copy, Debug)]
pub struct Decoded<'a> {
    pub ts: Timestamp,
    /// Zero when the link type has no MAC addresses (raw IP, loopback).
    pub src_mac: MacAddr,
    pub dst_mac: MacAddr,
    /// VLAN ids: outer in the high 16 bits, inner in the low 16; 0 when untagged.
    pub vlan: u32,
    /// EtherType after any VLAN tags (0 when the link type has none).
    pub ether_type: u16,
    pub net: Net<'a>,
}

/// The network layer of a frame.
#[derive(Clone, Copy, Debug)]
pub enum Net<'a> {
    Ip(Ip<'a>),
    Arp(Arp),
    /// Another EtherType (GOOSE, SV, Profinet, LLDP, ...): its payload, for L2 dissectors.
    L2 {
        payload: &'a [u8],
    },
    /// Too short or malformed to decode (counted).
    Invalid,
}

/// An IP packet (or reassembled datagram).
#[derive(Clone, Copy, Debug)]
pub struct Ip<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub ttl: u8,
    /// IP payload length (transport header and data) as announced by the header.
    pub payload_len: u32,
    pub l4: L4<'a>,
}

/// The transport layer.
#[derive(Clone, Copy, Debug)]
pub enum L4<'a> {
    Tcp(Tcp<'a>),
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
    },
    Icmp {
        v6: bool,
        icmp_type: u8,
        code: u8,
        /// The message body after type, code and checksum.
        payload: &'a [u8],
        /// The whole ICMP message, header included (for the ICMP dissector).
        raw: &'a [u8],
    },
    /// Another IP protocol, or a transport header that could not be read.
    Other {
        payload: &'a [u8],
    },
    /// A fragment held for reassembly; the datagram appears when complete.
    Fragment,
}

/// A TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct Tcp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// FIN, SYN, RST, PSH, ACK ... (see [`tcp_flags`]).
    pub flags: u8,
    pub window: u16,
    pub payload: &'a [u8],
}

impl Tcp<'_> {
    #[inline]
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// An ARP packet for IPv4 over Ethernet (other hardware/protocol types keep
/// only the operation).
#[derive(Clone, Copy, Debug)]
pub struct Arp {
    pub operation: u16,
    pub sender_mac: MacAddr,
    pub sender_ip: Option<IpAddr>,
    pub target_mac: MacAddr,
    pub target_ip: Option<IpAddr>,
}

/// Counters of what the decoder saw.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DecodeStats {
    pub packets: u64,
    pub bytes: u64,
    pub ipv4: u64,
    pub ipv6: u64,
    pub arp: u64,
    pub other_l2: u64,
    pub tcp: u64,
    pub udp: u64,
    pub icmp: u64,
    pub other_ip: u64,
    /// Frames too short for their link header, or with an unreadable IP header.
    pub invalid: u64,
    /// Frames cut by the capture's snap length.
    pub truncated: u64,
    pub bad_ip_checksum: u64,
    pub bad_tcp_checksum: u64,
    pub bad_udp_checksum: u64,
    pub fragments: u64,
    pub reassembled: u64,
    /// Fragments dropped: overlapping/inconsistent, too large, or evicted.
    pub fragments_dropped: u64,
}

/// Stateful decoder (the state is the fragment reassembly pool).
#[derive(Debug)]
pub struct Decoder {
    pub stats: DecodeStats,
    pub verify_checksums: bool,
    defrag: Defragmenter,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DefragConfig::default())
    }
}

impl Decoder {
    pub fn new(defrag: DefragConfig) -> Self {
        Decoder {
            stats: DecodeStats::default(),
            verify_checksums: true,
            defrag: Defragmenter::new(defrag),
        }
    }

    /// Fragment sets currently waiting for their missing pieces.
    pub fn pending_fragments(&self) -> usize {
        self.defrag.len()
    }

    /// Decodes one frame captured with link type `link`.
    pub fn decode<'a>(
        &'a mut self,
        ts: Timestamp,
        link: LinkType,
        data: &'a [u8],
        orig_len: u32,
    ) -> Decoded<'a> {
        self.stats.packets += 1;
        self.stats.bytes += orig_len as u64;
        if (orig_len as usize) > data.len() {
            self.stats.truncated += 1;
        }
        let mut d = Decoded {
            ts,
            src_mac: MacAddr::ZERO,
            dst_mac: MacAddr::ZERO,
            vlan: 0,
            ether_type: 0,
            net: Net::Invalid,
        };
        let l3 = match link {
            LinkType::Ethernet => {
                if data.len() < 14 {
                    self.stats.invalid += 1;
                    return d;
                }
                d.dst_mac = MacAddr::from_slice(&data[0..6]).unwrap_or_default();
                d.src_mac = MacAddr::from_slice(&data[6..12]).unwrap_or_default();
                let et = u16::from_be_bytes([data[12], data[13]]);
                match self.untag(&mut d, et, &data[14..]) {
                    Some(rest) => rest,
                    None => return d,
                }
            }
            LinkType::LinuxSll | LinkType::LinuxSll2 => {
                let (hdr, proto_off, arphrd_off, alen_off, addr_off) = if link == LinkType::LinuxSll
                {
                    (16, 14, 2, 4, 6)
                } else {
                    (20, 0, 8, 11, 12)
                };
                if data.len() < hdr {
                    self.stats.invalid += 1;
                    return d;
                }
                let arphrd = u16::from_be_bytes([data[arphrd_off], data[arphrd_off + 1]]);
                let alen = if link == LinkType::LinuxSll {
                    u16::from_be_bytes([data[alen_off], data[alen_off + 1]]) as usize
                } else {
                    data[alen_off] as usize
                };
                if arphrd == 1 && alen == 6 {
                    d.src_mac =
                        MacAddr::from_slice(&data[addr_off..addr_off + 6]).unwrap_or_default();
                }
                let proto = u16::from_be_bytes([data[proto_off], data[proto_off + 1]]);
                match self.untag(&mut d, proto, &data[hdr..]) {
                    Some(rest) => rest,
                    None => return d,
                }
            }
            LinkType::Null | LinkType::Loop => {
                if data.len() < 4 {
                    self.stats.invalid += 1;
                    return d;
                }
                let fam = [data[0], data[1], data[2], data[3]];
                let af = if link == LinkType::Loop {
                    u32::from_be_bytes(fam)
                } else {
                    // Host byte order of the capturing machine: accept either.
                    let le = u32::from_le_bytes(fam);
                    if le < 256 {
                        le
                    } else {
                        u32::from_be_bytes(fam)
                    }
                };
                d.ether_type = match af {
                    2 => ethertype::IPV4,
                    10 | 23 | 24 | 28 | 30 => ethertype::IPV6,
                    _ => {
                        self.stats.invalid += 1;
                        return d;
                    }
                };
                &data[4..]
            }
            LinkType::RawIp | LinkType::Ipv4 | LinkType::Ipv6 => {
                d.ether_type = match data.first().map(|b| b >> 4) {
                    Some(4) => ethertype::IPV4,
                    Some(6) => ethertype::IPV6,
                    _ => {
                        self.stats.invalid += 1;
                        return d;
                    }
                };
                data
            }
        };
        d.net = match d.ether_type {
            ethertype::IPV4 | ethertype::IPV6 => self.decode_ip(ts, d.vlan, l3),
            ethertype::ARP => match decode_arp(l3) {
                Some(a) => {
                    self.stats.arp += 1;
                    Net::Arp(a)
                }
                None => {
                    self.stats.invalid += 1;
                    Net::Invalid
                }
            },
            _ => {
                self.stats.other_l2 += 1;
                Net::L2 { payload: l3 }
            }
        };
        d
    }

    /// Strips VLAN tags after a link header, recording the EtherType and VLAN
    /// ids in `d`; counts the frame invalid when a tag is cut short.
    fn untag<'a>(
        &mut self,
        d: &mut Decoded<'_>,
        ether_type: u16,
        rest: &'a [u8],
    ) -> Option<&'a [u8]> {
        match strip_vlans(ether_type, rest) {
            Some((et, vlan, payload)) => {
                d.ether_type = et;
                d.vlan = vlan;
                Some(payload)
            }
            None => {
                self.stats.invalid += 1;
                None
            }
        }
    }

    fn decode_ip<'a>(&'a mut self, ts: Timestamp, vlan: u32, l3: &'a [u8]) -> Net<'a> {
        if let Some(net) = self.plain_ipv4(l3) {
            return net;
        }
        self.decode_ip_general(ts, vlan, l3)
    }

    /// The common case read directly: a complete, unfragmented IPv4 packet
    /// carrying a well-formed TCP segment or a UDP datagram whose length
    /// field matches. Anything else (options are fine) returns `None`
    /// before touching the counters, and goes the general way; for what it
    /// accepts, the result and the counters are the general way's.
    #[inline]
    fn plain_ipv4<'a>(&mut self, l3: &'a [u8]) -> Option<Net<'a>> {
        let (&vihl, rest) = l3.split_first()?;
        let ihl = (vihl & 0x0f) as usize * 4;
        if vihl >> 4 != 4 || ihl < 20 || rest.len() < 19 {
            return None;
        }
        let total = u16::from_be_bytes([l3[2], l3[3]]) as usize;
        let flags_frag = u16::from_be_bytes([l3[6], l3[7]]);
        let proto = l3[9];
        // Complete (the snap length kept it all), header inside the total,
        // no fragment (MF clear, offset 0; DF may be set).
        if total > l3.len() || total < ihl || flags_frag & 0x3fff != 0 {
            return None;
        }
        let l4 = &l3[ihl..total];
        let src = IpAddr::V4(std::net::Ipv4Addr::new(l3[12], l3[13], l3[14], l3[15]));
        let dst = IpAddr::V4(std::net::Ipv4Addr::new(l3[16], l3[17], l3[18], l3[19]));
        let l4v = match proto {
            6 => {
                if l4.len() < 20 {
                    return None;
                }
                let doff = (l4[12] >> 4) as usize * 4;
                if doff < 20 || doff > l4.len() {
                    return None;
                }
                L4::Tcp(Tcp {
                    sport: u16::from_be_bytes([l4[0], l4[1]]),
                    dport: u16::from_be_bytes([l4[2], l4[3]]),
                    seq: u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]),
                    ack: u32::from_be_bytes([l4[8], l4[9], l4[10], l4[11]]),
                    flags: l4[13],
                    window: u16::from_be_bytes([l4[14], l4[15]]),
                    payload: &l4[doff..],
                })
            }
            17 => {
                if l4.len() < 8 || u16::from_be_bytes([l4[4], l4[5]]) as usize != l4.len() {
                    return None;
                }
                L4::Udp {
                    sport: u16::from_be_bytes([l4[0], l4[1]]),
                    dport: u16::from_be_bytes([l4[2], l4[3]]),
                    payload: &l4[8..],
                }
            }
            _ => return None,
        };
        self.stats.ipv4 += 1;
        if self.verify_checksums && checksum::fold(checksum::sum(&l3[..ihl], 0)) != 0xffff {
            self.stats.bad_ip_checksum += 1;
        }
        if let L4::Tcp(_) = l4v {
            self.stats.tcp += 1;
            if self.verify_checksums && !checksum::transport_ok(src, dst, 6, l4) {
                self.stats.bad_tcp_checksum += 1;
            }
        } else {
            self.stats.udp += 1;
            let zero = l4[6] == 0 && l4[7] == 0;
            if self.verify_checksums && !zero && !checksum::transport_ok(src, dst, 17, l4) {
                self.stats.bad_udp_checksum += 1;
            }
        }
        Some(Net::Ip(Ip {
            src,
            dst,
            proto,
            ttl: l3[8],
            payload_len: l4.len() as u32,
            l4: l4v,
        }))
    }

    fn decode_ip_general<'a>(&'a mut self, ts: Timestamp, vlan: u32, l3: &'a [u8]) -> Net<'a> {
        let Ok(p) = LaxSlicedPacket::from_ip(l3) else {
            self.stats.invalid += 1;
            return Net::Invalid;
        };
        let (src, dst, proto, ttl, payload, frag, announced) = match &p.net {
            Some(LaxNetSlice::Ipv4(v4)) => {
                self.stats.ipv4 += 1;
                let h = v4.header();
                if self.verify_checksums && checksum::fold(checksum::sum(h.slice(), 0)) != 0xffff {
                    self.stats.bad_ip_checksum += 1;
                }
                let pl = v4.payload();
                let frag = pl.fragmented.then(|| defrag::FragInfo {
                    id: h.identification() as u32,
                    offset: h.fragments_offset(),
                    more: h.more_fragments(),
                });
                (
                    IpAddr::V4(h.source_addr()),
                    IpAddr::V4(h.destination_addr()),
                    pl.ip_number.0,
                    h.ttl(),
                    pl,
                    frag,
                    h.total_len().saturating_sub(h.ihl() as u16 * 4) as u32,
                )
            }
            Some(LaxNetSlice::Ipv6(v6)) => {
                self.stats.ipv6 += 1;
                let h = v6.header();
                let pl = v6.payload();
                let frag = if pl.fragmented {
                    v6.extensions().clone().into_iter().find_map(|e| match e {
                        etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(defrag::FragInfo {
                            id: f.identification(),
                            offset: f.fragment_offset(),
                            more: f.more_fragments(),
                        }),
                        _ => None,
                    })
                } else {
                    None
                };
                (
                    IpAddr::V6(h.source_addr()),
                    IpAddr::V6(h.destination_addr()),
                    pl.ip_number.0,
                    h.hop_limit(),
                    pl,
                    frag,
                    h.payload_length() as u32,
                )
            }
            _ => {
                self.stats.invalid += 1;
                return Net::Invalid;
            }
        };
        // What the header announces: the wire size even when the snap length cut the capture.
        let payload_len = announced.max(payload.payload.len() as u32);
        if let Some(frag) = frag {
            self.stats.fragments += 1;
            let key = defrag::FragKey {
                src,
                dst,
                id: frag.id,
                proto,
                vlan,
            };
            return match self.defrag.add(ts, key, frag, payload.payload) {
                defrag::AddResult::Pending => Net::Ip(Ip {
                    src,
                    dst,
                    proto,
                    ttl,
                    payload_len,
                    l4: L4::Fragment,
                }),
                defrag::AddResult::Dropped => {
                    self.stats.fragments_dropped += 1;
                    Net::Ip(Ip {
                        src,
                        dst,
                        proto,
                        ttl,
                        payload_len,
                        l4: L4::Fragment,
                    })
                }
                defrag::AddResult::Complete => {
                    self.stats.reassembled += 1;
                    let whole = self.defrag.output();
                    let l4 = transport_from_bytes(
                        &mut self.stats,
                        self.verify_checksums,
                        src,
                        dst,
                        proto,
                        whole,
                    );
                    Net::Ip(Ip {
                        src,
                        dst,
                        proto,
                        ttl,
                        payload_len: whole.len() as u32,
                        l4,
                    })
                }
            };
        }
        let complete = !payload.incomplete;
        let l4 = match &p.transport {
            Some(TransportSlice::Tcp(t)) => {
                self.stats.tcp += 1;
                if self.verify_checksums
                    && complete
                    && !checksum::transport_ok(src, dst, 6, t.slice())
                {
                    self.stats.bad_tcp_checksum += 1;
                }
                L4::Tcp(tcp_of(t))
            }
            Some(TransportSlice::Udp(u)) => {
                self.stats.udp += 1;
                if self.verify_checksums
                    && complete
                    && !(u.checksum() == 0 && src.is_ipv4())
                    && !checksum::transport_ok(src, dst, 17, u.slice())
                {
                    self.stats.bad_udp_checksum += 1;
                }
                L4::Udp {
                    sport: u.source_port(),
                    dport: u.destination_port(),
                    payload: u.payload(),
                }
            }
            Some(TransportSlice::Icmpv4(_)) | Some(TransportSlice::Icmpv6(_)) => {
                self.stats.icmp += 1;
                icmp_of(proto == 58, payload.payload)
            }
            _ => {
                // Not TCP/UDP/ICMP, or a transport header that was cut short.
                transport_from_bytes(&mut self.stats, false, src, dst, proto, payload.payload)
            }
        };
        Net::Ip(Ip {
            src,
            dst,
            proto,
            ttl,
            payload_len,
            l4,
        })
    }
}

/// Reads VLAN tags (802.1Q, 802.1ad, legacy QinQ); returns the inner EtherType,
/// the packed VLAN ids and the payload.
#[inline]
fn strip_vlans(mut et: u16, mut rest: &[u8]) -> Option<(u16, u32, &[u8])> {
    let mut vlan: u32 = 0;
    let mut tags = 0;
    while matches!(et, ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD) {
        if rest.len() < 4 || tags == 4 {
            return None;
        }
        let id = u16::from_be_bytes([rest[0], rest[1]]) & 0x0fff;
        vlan = (vlan << 16) | id as u32;
        et = u16::from_be_bytes([rest[2], rest[3]]);
        rest = &rest[4..];
        tags += 1;
    }
    Some((et, vlan, rest))
}

fn tcp_of<'a>(t: &etherparse::TcpSlice<'a>) -> Tcp<'a> {
    let hdr = t.header_slice();
    Tcp {
        sport: t.source_port(),
        dport: t.destination_port(),
        seq: t.sequence_number(),
        ack: t.acknowledgment_number(),
        flags: hdr.get(13).copied().unwrap_or(0),
        window: t.window_size(),
        payload: t.payload(),
    }
}

fn icmp_of(v6: bool, b: &[u8]) -> L4<'_> {
    L4::Icmp {
        v6,
        icmp_type: b.first().copied().unwrap_or(0),
        code: b.get(1).copied().unwrap_or(0),
        payload: b.get(4..).unwrap_or(&[]),
        raw: b,
    }
}

/// Transport layer from raw IP payload bytes (reassembled datagrams, and
/// packets whose transport header etherparse did not slice).
fn transport_from_bytes<'a>(
    stats: &mut DecodeStats,
    verify: bool,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    b: &'a [u8],
) -> L4<'a> {
    match proto {
        6 => match etherparse::TcpSlice::from_slice(b) {
            Ok(t) => {
                stats.tcp += 1;
                if verify && !checksum::transport_ok(src, dst, 6, b) {
                    stats.bad_tcp_checksum += 1;
                }
                L4::Tcp(tcp_of(&t))
            }
            Err(_) => {
                stats.invalid += 1;
                L4::Other { payload: b }
            }
        },
        17 => match etherparse::UdpSlice::from_slice_lax(b) {
            Ok(u) => {
                stats.udp += 1;
                if verify
                    && !(u.checksum() == 0 && src.is_ipv4())
                    && !checksum::transport_ok(src, dst, 17, b)
                {
                    stats.bad_udp_checksum += 1;
                }
                L4::Udp {
                    sport: u.source_port(),
                    dport: u.destination_port(),
                    payload: u.payload(),
                }
            }
            Err(_) => {
                stats.invalid += 1;
                L4::Other { payload: b }
            }
        },
        1 | 58 => {
            stats.icmp += 1;
            icmp_of(proto == 58, b)
        }
        _ => {
            stats.other_ip += 1;
            L4::Other { payload: b }
        }
    }
}

fn decode_arp(b: &[u8]) -> Option<Arp> {
    let a = etherparse::ArpPacketSlice::from_slice(b).ok()?;
    let op = a.operation().0;
    let ipv4 = |s: &[u8]| -> Option<IpAddr> {
        (s.len() == 4).then(|| IpAddr::V4(Ipv4Addr::new(s[0], s[1], s[2], s[3])))
    };
    let ipv6 = |s: &[u8]| -> Option<IpAddr> {
        let arr: [u8; 16] = s.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(arr)))
    };
    let ip = |s: &[u8]| ipv4(s).or_else(|| ipv6(s));
    Some(Arp {
        operation: op,
        sender_mac: MacAddr::from_slice(a.sender_hw_addr()).unwrap_or_default(),
        sender_ip: ip(a.sender_protocol_addr()),
        target_mac: MacAddr::from_slice(a.target_hw_addr()).unwrap_or_default(),
        target_ip: ip(a.target_protocol_addr()),
    })
}

#[cfg(test)]
mod tests;
