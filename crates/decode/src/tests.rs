use super::*;
use etherparse::PacketBuilder;

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];
const MA: [u8; 6] = [0x00, 0x0e, 0x8c, 1, 2, 3];
const MB: [u8; 6] = [0x00, 0x80, 0xf4, 4, 5, 6];

fn tcp_frame(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MA, MB)
        .ipv4(A, B, 64)
        .tcp(40000, 502, 1000, 64000)
        .psh()
        .ack(77);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

/// (vlan, ethertype, (sport, dport, payload) of TCP/UDP).
type Dec = (u32, u16, Option<(u16, u16, Vec<u8>)>);

fn dec(d: &mut Decoder, link: LinkType, f: &[u8]) -> Dec {
    let x = d.decode(Timestamp(1), link, f, f.len() as u32);
    let l4 = match x.net {
        Net::Ip(ip) => match ip.l4 {
            L4::Tcp(t) => Some((t.sport, t.dport, t.payload.to_vec())),
            L4::Udp {
                sport,
                dport,
                payload,
            } => Some((sport, dport, payload.to_vec())),
            _ => None,
        },
        _ => None,
    };
    (x.vlan, x.ether_type, l4)
}

#[test]
fn ethernet_ipv4_tcp() {
    let mut d = Decoder::default();
    let f = tcp_frame(b"hello");
    let x = d.decode(Timestamp(5), LinkType::Ethernet, &f, f.len() as u32);
    assert_eq!(x.src_mac, MacAddr(MA));
    assert_eq!(x.dst_mac, MacAddr(MB));
    let Net::Ip(ip) = x.net else { panic!() };
    assert_eq!(ip.src, IpAddr::V4(Ipv4Addr::from(A)));
    let L4::Tcp(t) = ip.l4 else { panic!() };
    assert_eq!((t.sport, t.dport, t.seq, t.ack), (40000, 502, 1000, 77));
    assert!(t.has(tcp_flags::PSH) && t.has(tcp_flags::ACK) && !t.has(tcp_flags::SYN));
    assert_eq!(t.payload, b"hello");
    assert_eq!(d.stats.bad_tcp_checksum, 0);
    assert_eq!(d.stats.bad_ip_checksum, 0);
}

#[test]
fn bad_checksums_are_counted_not_dropped() {
    let mut d = Decoder::default();
    let mut f = tcp_frame(b"hello");
    let n = f.len();
    f[n - 1] ^= 0xff; // corrupt payload: TCP checksum now wrong
    f[14 + 10] ^= 0x01; // corrupt IP header checksum
    let (_, _, l4) = dec(&mut d, LinkType::Ethernet, &f);
    assert!(l4.is_some(), "packet still decoded");
    assert_eq!(d.stats.bad_tcp_checksum, 1);
    assert_eq!(d.stats.bad_ip_checksum, 1);
}

#[test]
fn vlan_and_qinq() {
    let mut d = Decoder::default();
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MA, MB)
        .single_vlan(etherparse::VlanId::try_new(42).unwrap())
        .ipv4(A, B, 64)
        .udp(5000, 20000)
        .write(&mut v, b"x")
        .unwrap();
    let (vlan, et, l4) = dec(&mut d, LinkType::Ethernet, &v);
    assert_eq!((vlan, et), (42, ethertype::IPV4));
    assert_eq!(l4.unwrap().1, 20000);
    let mut q = Vec::new();
    PacketBuilder::ethernet2(MA, MB)
        .double_vlan(
            etherparse::VlanId::try_new(100).unwrap(),
            etherparse::VlanId::try_new(7).unwrap(),
        )
        .ipv4(A, B, 64)
        .udp(5000, 502)
        .write(&mut q, b"y")
        .unwrap();
    let (vlan, _, l4) = dec(&mut d, LinkType::Ethernet, &q);
    assert_eq!(vlan, (100 << 16) | 7);
    assert_eq!(l4.unwrap().2, b"y");
}

#[test]
fn ipv6_with_extension_header() {
    let mut d = Decoder::default();
    let src = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let dst = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    // Hop-by-hop options header (8 bytes, padding) before UDP.
    let mut ip6 = vec![0x60, 0, 0, 0, 0, 0, 0, 64];
    ip6.extend_from_slice(&src);
    ip6.extend_from_slice(&dst);
    let mut payload = vec![17, 0, 1, 4, 0, 0, 0, 0]; // next=UDP, len 0, PadN
    let mut udp = Vec::new();
    etherparse::UdpHeader::with_ipv6_checksum(
        1234,
        20000,
        &etherparse::Ipv6Header {
            source: src,
            destination: dst,
            next_header: etherparse::IpNumber::UDP,
            payload_length: 10,
            hop_limit: 64,
            ..Default::default()
        },
        b"hi",
    )
    .unwrap()
    .write(&mut udp)
    .unwrap();
    udp.extend_from_slice(b"hi");
    payload.extend_from_slice(&udp);
    let plen = payload.len() as u16;
    ip6[4..6].copy_from_slice(&plen.to_be_bytes());
    ip6[6] = 0; // next header: hop-by-hop
    ip6.extend_from_slice(&payload);
    let mut f = Vec::new();
    f.extend_from_slice(&MB);
    f.extend_from_slice(&MA);
    f.extend_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(&ip6);
    let (_, et, l4) = dec(&mut d, LinkType::Ethernet, &f);
    assert_eq!(et, ethertype::IPV6);
    let (sp, dp, pl) = l4.expect("udp under the extension header");
    assert_eq!((sp, dp, pl.as_slice()), (1234, 20000, &b"hi"[..]));
}

#[test]
fn ipv4_fragments_are_reassembled() {
    let mut d = Decoder::default();
    // UDP datagram of 8 + 40 bytes split into 24 + 24 bytes of IP payload.
    let payload: Vec<u8> = (0..40u8).collect();
    let mut whole = Vec::new();
    PacketBuilder::ipv4(A, B, 64)
        .udp(1000, 20000)
        .write(&mut whole, &payload)
        .unwrap();
    let ip_payload = whole[20..].to_vec();
    let frag = |off: usize, more: bool, data: &[u8]| {
        let mut h =
            etherparse::Ipv4Header::new(data.len() as u16, 64, etherparse::IpNumber::UDP, A, B)
                .unwrap();
        h.identification = 0x1234;
        h.more_fragments = more;
        h.fragment_offset = etherparse::IpFragOffset::try_new((off / 8) as u16).unwrap();
        h.header_checksum = h.calc_header_checksum();
        let mut v = Vec::new();
        h.write(&mut v).unwrap();
        v.extend_from_slice(data);
        v
    };
    let f1 = frag(0, true, &ip_payload[..24]);
    let f2 = frag(24, false, &ip_payload[24..]);
    // Second fragment first: order must not matter.
    let (_, _, l4) = dec(&mut d, LinkType::RawIp, &f2);
    assert!(l4.is_none());
    assert_eq!(d.pending_fragments(), 1);
    let (_, _, l4) = dec(&mut d, LinkType::RawIp, &f1);
    let (sp, dp, pl) = l4.expect("reassembled datagram");
    assert_eq!((sp, dp), (1000, 20000));
    assert_eq!(pl, payload);
    assert_eq!(d.stats.reassembled, 1);
    assert_eq!(d.stats.bad_udp_checksum, 0);
    assert_eq!(d.pending_fragments(), 0);
}

#[test]
fn fragment_pool_is_bounded() {
    let mut d = Decoder::new(DefragConfig {
        max_datagrams: 8,
        timeout_ns: 1_000_000_000,
    });
    for id in 0..100u16 {
        let mut h = etherparse::Ipv4Header::new(16, 64, etherparse::IpNumber::UDP, A, B).unwrap();
        h.identification = id;
        h.more_fragments = true;
        let mut v = Vec::new();
        h.write(&mut v).unwrap();
        v.extend_from_slice(&[0; 16]);
        d.decode(Timestamp(id as i64), LinkType::RawIp, &v, v.len() as u32);
        assert!(d.pending_fragments() <= 8);
    }
}

#[test]
fn other_link_types() {
    let mut d = Decoder::default();
    let eth = tcp_frame(b"abc");
    let ip = &eth[14..];
    // Null (BSD loopback), host order little-endian AF_INET.
    let mut null = vec![2, 0, 0, 0];
    null.extend_from_slice(ip);
    assert_eq!(dec(&mut d, LinkType::Null, &null).2.unwrap().2, b"abc");
    let mut lo = vec![0, 0, 0, 2];
    lo.extend_from_slice(ip);
    assert_eq!(dec(&mut d, LinkType::Loop, &lo).2.unwrap().2, b"abc");
    assert_eq!(dec(&mut d, LinkType::RawIp, ip).2.unwrap().2, b"abc");
    // Linux SLL: packet type, ARPHRD_ETHER, addr len 6, addr, protocol.
    let mut sll = vec![0, 0, 0, 1, 0, 6];
    sll.extend_from_slice(&MA);
    sll.extend_from_slice(&[0, 0, 0x08, 0x00]);
    sll.extend_from_slice(ip);
    let x = d.decode(Timestamp(0), LinkType::LinuxSll, &sll, sll.len() as u32);
    assert_eq!(x.src_mac, MacAddr(MA));
    assert!(matches!(x.net, Net::Ip(_)));
    // SLL2: protocol, reserved, ifindex, ARPHRD, pkttype, addrlen, addr.
    let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6];
    sll2.extend_from_slice(&MA);
    sll2.extend_from_slice(&[0, 0]);
    sll2.extend_from_slice(ip);
    assert_eq!(dec(&mut d, LinkType::LinuxSll2, &sll2).2.unwrap().2, b"abc");
}

#[test]
fn arp_and_l2_and_garbage() {
    let mut d = Decoder::default();
    let mut f = Vec::new();
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&MA);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&MA);
    f.extend_from_slice(&A);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&B);
    let x = d.decode(Timestamp(0), LinkType::Ethernet, &f, f.len() as u32);
    let Net::Arp(a) = x.net else {
        panic!("{:?}", x.net)
    };
    assert_eq!(a.operation, 1);
    assert_eq!(a.sender_ip, Some(IpAddr::V4(Ipv4Addr::from(A))));
    assert_eq!(a.target_ip, Some(IpAddr::V4(Ipv4Addr::from(B))));
    let mut goose = Vec::new();
    goose.extend_from_slice(&[0x01, 0x0c, 0xcd, 1, 0, 1]);
    goose.extend_from_slice(&MA);
    goose.extend_from_slice(&[0x88, 0xb8, 0, 1, 0, 8]);
    let x = d.decode(Timestamp(0), LinkType::Ethernet, &goose, goose.len() as u32);
    assert_eq!(x.ether_type, ethertype::GOOSE);
    assert!(matches!(x.net, Net::L2 { payload } if payload == [0, 1, 0, 8]));
    for junk in [&[][..], &[1, 2, 3], &[0u8; 14][..], &[0x45, 0, 0]] {
        for link in [
            LinkType::Ethernet,
            LinkType::RawIp,
            LinkType::Null,
            LinkType::LinuxSll2,
        ] {
            let _ = d.decode(Timestamp(0), link, junk, junk.len() as u32);
        }
    }
    assert!(d.stats.invalid > 0);
}

#[test]
fn snaplen_truncated_packet_still_decodes() {
    let mut d = Decoder::default();
    let f = tcp_frame(&[7u8; 100]);
    let cut = &f[..f.len() - 60];
    let x = d.decode(Timestamp(0), LinkType::Ethernet, cut, f.len() as u32);
    let Net::Ip(ip) = x.net else { panic!() };
    let L4::Tcp(t) = ip.l4 else {
        panic!("{:?}", ip.l4)
    };
    assert_eq!(t.payload.len(), 40);
    assert_eq!(ip.payload_len, 120, "byte counters use the announced size");
    assert_eq!(d.stats.truncated, 1);
    assert_eq!(
        d.stats.bad_tcp_checksum, 0,
        "cannot verify what was not captured"
    );
}

/// The direct IPv4 path gives what the general (etherparse) path gives,
/// counters included, on well-formed packets and on many damaged ones.
#[test]
fn plain_ipv4_path_matches_the_general_path() {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for payload in [
        &b""[..],
        b"x",
        b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a",
    ] {
        let mut v = Vec::new();
        PacketBuilder::ipv4(A, B, 64)
            .tcp(40000, 502, 1000, 64000)
            .psh()
            .ack(77)
            .write(&mut v, payload)
            .unwrap();
        seeds.push(v);
        let mut v = Vec::new();
        PacketBuilder::ipv4(A, B, 3)
            .udp(5353, 53)
            .write(&mut v, payload)
            .unwrap();
        seeds.push(v);
        let mut v = Vec::new();
        PacketBuilder::ipv4(A, B, 3)
            .icmpv4_echo_request(1, 2)
            .write(&mut v, payload)
            .unwrap();
        seeds.push(v);
    }
    // IPv4 options (IHL 6) and TCP options (data offset 6).
    let mut opt = seeds[0].clone();
    opt.insert(20, 0);
    opt.splice(20..20, [1, 1, 1, 1]);
    opt.remove(24);
    opt[0] = 0x46;
    let total = opt.len() as u16;
    opt[2..4].copy_from_slice(&total.to_be_bytes());
    seeds.push(opt);
    let mut topt = seeds[3].clone();
    topt.extend_from_slice(&[1, 1, 1, 1]);
    topt[32] = 0x60;
    let total = topt.len() as u16;
    topt[2..4].copy_from_slice(&total.to_be_bytes());
    seeds.push(topt);
    // Ethernet padding after the IP packet, and a cut (snap length) one.
    let mut padded = seeds[1].clone();
    padded.extend_from_slice(&[0; 6]);
    seeds.push(padded);
    let cut = seeds[3][..seeds[3].len() - 3].to_vec();
    seeds.push(cut);

    let run = |general: bool, p: &[u8]| {
        let mut d = Decoder::new(DefragConfig::default());
        let net = if general {
            format!("{:?}", d.decode_ip_general(Timestamp(1), 0, p))
        } else {
            format!("{:?}", d.decode_ip(Timestamp(1), 0, p))
        };
        format!("{net} {:?}", d.stats)
    };
    // Deterministic byte damage: every seed with one to three bytes
    // replaced, at the header positions the direct path reads.
    let mut x: u32 = 0x9e37_79b9;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    // The direct path takes the well-formed TCP and UDP ones (options and
    // padding included), not ICMP or a cut packet.
    let takes = |p: &[u8]| {
        Decoder::new(DefragConfig::default())
            .plain_ipv4(p)
            .is_some()
    };
    for i in [0, 1, 3, 4, 6, 7, 9, 10, 11] {
        assert!(takes(&seeds[i]), "seed {i}");
    }
    assert!(!takes(&seeds[2]) && !takes(&seeds[12]));
    let mut checked = 0;
    for seed in &seeds {
        assert_eq!(run(true, seed), run(false, seed), "{seed:02x?}");
        for _ in 0..3000 {
            let mut p = seed.clone();
            for _ in 0..1 + next() % 3 {
                let i = (next() as usize) % p.len().min(40);
                p[i] = match next() % 4 {
                    0 => 0,
                    1 => 0xff,
                    _ => next() as u8,
                };
            }
            if next() % 8 == 0 {
                p.truncate((next() as usize) % (p.len() + 1));
            }
            assert_eq!(run(true, &p), run(false, &p), "{p:02x?}");
            checked += 1;
        }
    }
    assert!(checked > 30_000);
}
