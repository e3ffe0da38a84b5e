//! Properties every generated capture must have: determinism, a readable
//! pcap, valid checksums, consistent TCP sequence numbers, and ground truth
//! that matches what the frames carry.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use otwatch_sim::{Capture, generate, scenarios};

const SEEDS: [u64; 3] = [1, 7, 0xdead_beef];

fn all(seed: u64) -> Vec<(&'static str, Capture)> {
    scenarios()
        .iter()
        .map(|s| {
            (
                s.name,
                generate(s.name, seed).expect("listed scenario generates"),
            )
        })
        .collect()
}

fn pcap_bytes(c: &Capture) -> Vec<u8> {
    let mut v = Vec::new();
    c.write_pcap(&mut v).expect("writing to memory");
    v
}

// ---------------------------------------------------------------- parsing

/// A decoded frame: what the tests need of L2-L4.
#[derive(Debug)]
struct Pkt<'a> {
    src_mac: [u8; 6],
    ethertype: u16,
    vlans: Vec<u16>,
    ip: Option<Ip<'a>>,
}

#[derive(Debug)]
struct Ip<'a> {
    src: Vec<u8>,
    dst: Vec<u8>,
    proto: u8,
    /// IPv4 only: header checksum correct.
    header_ok: bool,
    id: u16,
    frag_offset: usize,
    more_fragments: bool,
    payload: &'a [u8],
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn sum(b: &[u8], mut acc: u32) -> u32 {
    for w in b.chunks(2) {
        acc += u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) as u32;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

fn parse(f: &[u8]) -> Pkt<'_> {
    assert!(f.len() >= 60, "frames are padded to the Ethernet minimum");
    let mut src_mac = [0u8; 6];
    src_mac.copy_from_slice(&f[6..12]);
    let mut off = 12;
    let mut vlans = Vec::new();
    let mut et = be16(f, off);
    while et == 0x8100 || et == 0x88a8 {
        vlans.push(be16(f, off + 2) & 0x0fff);
        off += 4;
        et = be16(f, off);
    }
    let l3 = &f[off + 2..];
    let ip = match et {
        0x0800 => {
            let ihl = (l3[0] & 0x0f) as usize * 4;
            let total = be16(l3, 2) as usize;
            let frag = be16(l3, 6);
            Some(Ip {
                src: l3[12..16].to_vec(),
                dst: l3[16..20].to_vec(),
                proto: l3[9],
                header_ok: fold(sum(&l3[..ihl], 0)) == 0xffff,
                id: be16(l3, 4),
                frag_offset: (frag & 0x1fff) as usize * 8,
                more_fragments: frag & 0x2000 != 0,
                payload: &l3[ihl..total],
            })
        }
        0x86dd => Some(Ip {
            src: l3[8..24].to_vec(),
            dst: l3[24..40].to_vec(),
            proto: l3[6],
            header_ok: true,
            id: 0,
            frag_offset: 0,
            more_fragments: false,
            payload: &l3[40..40 + be16(l3, 4) as usize],
        }),
        _ => None,
    };
    Pkt {
        src_mac,
        ethertype: et,
        vlans,
        ip,
    }
}

/// TCP or UDP checksum of `l4` with its pseudo-header is correct.
fn l4_checksum_ok(src: &[u8], dst: &[u8], proto: u8, l4: &[u8]) -> bool {
    let mut acc = sum(src, 0);
    acc = sum(dst, acc);
    acc = sum(&(l4.len() as u32).to_be_bytes(), acc);
    acc = sum(&[0, proto], acc);
    acc = sum(l4, acc);
    fold(acc) == 0xffff
}

/// A transport segment or datagram: source and destination IP, IP protocol, L4 bytes.
type L4 = (Vec<u8>, Vec<u8>, u8, Vec<u8>);
/// IPv4 fragments waiting by (source, id): (offset, more fragments, bytes).
type Fragments = HashMap<(Vec<u8>, u16), Vec<(usize, bool, Vec<u8>)>>;

/// Transport segments, IPv4 fragments reassembled.
fn transport(c: &Capture) -> Vec<L4> {
    let mut out = Vec::new();
    let mut frags: Fragments = HashMap::new();
    for (_, f) in &c.packets {
        let Some(ip) = parse(f).ip else { continue };
        assert!(ip.header_ok, "IPv4 header checksum");
        if ip.frag_offset == 0 && !ip.more_fragments {
            out.push((
                ip.src.clone(),
                ip.dst.clone(),
                ip.proto,
                ip.payload.to_vec(),
            ));
            continue;
        }
        let set = frags.entry((ip.src.clone(), ip.id)).or_default();
        set.push((ip.frag_offset, ip.more_fragments, ip.payload.to_vec()));
        set.sort_by_key(|p| p.0);
        let complete = set.last().is_some_and(|l| !l.1)
            && set.windows(2).all(|w| w[0].0 + w[0].2.len() == w[1].0)
            && set[0].0 == 0;
        if complete {
            let data: Vec<u8> = set.iter().flat_map(|p| p.2.clone()).collect();
            out.push((ip.src.clone(), ip.dst.clone(), ip.proto, data));
            frags.remove(&(ip.src, ip.id));
        }
    }
    assert!(frags.is_empty(), "incomplete fragment sets");
    out
}

struct Seg {
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: Vec<u8>,
}

fn tcp(l4: &[u8]) -> Seg {
    let off = (l4[12] >> 4) as usize * 4;
    Seg {
        sport: be16(l4, 0),
        dport: be16(l4, 2),
        seq: be32(l4, 4),
        ack: be32(l4, 8),
        flags: l4[13],
        payload: l4[off..].to_vec(),
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn catalogue() {
    let list = scenarios();
    assert_eq!(list[0].name, "demo");
    let names: BTreeSet<_> = list.iter().map(|s| s.name).collect();
    assert_eq!(names.len(), list.len(), "unique names");
    for want in [
        "modbus_polling",
        "modbus_writes",
        "modbus_exceptions",
        "modbus_malformed",
        "modbus_segmented",
        "modbus_midstream",
        "modbus_udp",
        "dnp3_polling",
        "dnp3_control",
        "dnp3_malformed",
        "dnp3_udp",
        "net_vlan",
        "net_ipv6",
        "net_fragments",
        "net_tcp_anomalies",
        "net_bad_checksums",
    ] {
        assert!(names.contains(want), "{want} missing");
    }
    for s in list {
        assert!(
            s.description.len() > 80,
            "{} has a real description",
            s.name
        );
    }
    let err = generate("no_such_scenario", 1).unwrap_err();
    assert!(err.to_string().contains("modbus_polling"), "{err}");
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = all(42);
    let b = all(42);
    let c = all(43);
    for ((name, x), ((_, y), (_, z))) in a.iter().zip(b.iter().zip(c.iter())) {
        assert_eq!(pcap_bytes(x), pcap_bytes(y), "{name}: same seed");
        assert_eq!(x.truth, y.truth, "{name}: same truth");
        assert_ne!(pcap_bytes(x), pcap_bytes(z), "{name}: other seed");
        // The seed changes values and timing, never the messages.
        assert_eq!(
            x.counts(),
            z.counts(),
            "{name}: truth independent of the seed"
        );
        assert_eq!(
            x.packets.len(),
            z.packets.len(),
            "{name}: same packet count"
        );
    }
}

#[test]
fn pcap_reads_back() {
    use pcap_parser::traits::PcapReaderIterator;
    use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};
    for nanos in [false, true] {
        for (name, c) in all(1) {
            let mut bytes = Vec::new();
            if nanos {
                c.write_pcap_nanos(&mut bytes).expect("to memory");
            } else {
                c.write_pcap(&mut bytes).expect("to memory");
            }
            let magic = if nanos {
                [0x4d, 0x3c, 0xb2, 0xa1]
            } else {
                [0xd4, 0xc3, 0xb2, 0xa1]
            };
            assert_eq!(bytes[..4], magic);
            let mut r = LegacyPcapReader::new(65536, &bytes[..]).expect("pcap header");
            let mut n = 0;
            loop {
                match r.next() {
                    Ok((off, block)) => {
                        match block {
                            PcapBlockOwned::LegacyHeader(h) => {
                                assert_eq!(h.network.0, 1, "{name}: Ethernet");
                                assert_eq!(h.snaplen, 65535);
                            }
                            PcapBlockOwned::Legacy(b) => {
                                let (ts, data) = &c.packets[n];
                                assert_eq!(b.data, &data[..], "{name}: frame {n}");
                                assert_eq!(b.ts_sec as i64, ts.secs());
                                let frac = if nanos {
                                    ts.subsec_nanos()
                                } else {
                                    ts.subsec_nanos() / 1000
                                };
                                assert_eq!(b.ts_usec, frac);
                                assert_eq!(b.caplen, b.origlen);
                                n += 1;
                            }
                            PcapBlockOwned::NG(_) => panic!("legacy pcap only"),
                        }
                        r.consume(off);
                    }
                    Err(PcapError::Eof) => break,
                    Err(PcapError::Incomplete(_)) => r.refill().expect("refill"),
                    Err(e) => panic!("{name}: {e:?}"),
                }
            }
            assert_eq!(n, c.packets.len(), "{name}: packet count");
        }
    }
}

#[test]
fn timestamps_are_ordered_microsecond_values() {
    for (name, c) in all(3) {
        assert_eq!(c.linktype, 1);
        assert!(!c.packets.is_empty());
        assert!(
            c.packets.windows(2).all(|w| w[0].0 <= w[1].0),
            "{name}: time order"
        );
        assert!(
            c.packets.iter().all(|(t, _)| t.0 % 1_000 == 0),
            "{name}: whole microseconds, so microsecond pcaps are exact"
        );
    }
}

#[test]
fn checksums_are_valid_except_offloaded() {
    for seed in SEEDS {
        for (name, c) in all(seed) {
            let mut bad_tcp = 0;
            for (src, dst, proto, l4) in transport(&c) {
                match proto {
                    6 => {
                        if !l4_checksum_ok(&src, &dst, 6, &l4) {
                            bad_tcp += 1;
                        }
                    }
                    17 => assert!(l4_checksum_ok(&src, &dst, 17, &l4), "{name}: UDP checksum"),
                    // ICMPv4: over the message only; ICMPv6: with the pseudo-header.
                    1 => assert_eq!(fold(sum(&l4, 0)), 0xffff, "{name}: ICMP checksum"),
                    58 => assert!(
                        l4_checksum_ok(&src, &dst, 58, &l4),
                        "{name}: ICMPv6 checksum"
                    ),
                    p => panic!("{name}: unexpected IP protocol {p}"),
                }
            }
            assert_eq!(bad_tcp, c.note("bad_tcp_checksums"), "{name} seed {seed}");
            if name == "net_bad_checksums" {
                assert!(bad_tcp > 10, "offloaded checksums present");
            }
        }
    }
}

/// Per TCP direction: data segments continue where the previous ended,
/// except for the retransmissions, reordering and losses the notes announce;
/// handshakes are consistent; ACKs never acknowledge unsent data.
#[test]
fn tcp_sequence_numbers_are_consistent() {
    for seed in SEEDS {
        for (name, c) in all(seed) {
            // Per (src, sport, dst, dport): next expected seq.
            let mut next: BTreeMap<(Vec<u8>, u16, Vec<u8>, u16), u32> = BTreeMap::new();
            let mut syn_seq: BTreeMap<(Vec<u8>, u16, Vec<u8>, u16), u32> = BTreeMap::new();
            let (mut behind, mut ahead, mut ack_beyond) = (0u64, 0u64, 0u64);
            for (src, dst, proto, l4) in transport(&c) {
                if proto != 6 {
                    continue;
                }
                let s = tcp(&l4);
                let key = (src.clone(), s.sport, dst.clone(), s.dport);
                let rev = (dst, s.dport, src, s.sport);
                let syn = s.flags & 0x02 != 0;
                let fin = s.flags & 0x01 != 0;
                if syn {
                    syn_seq.insert(key.clone(), s.seq);
                    if s.flags & 0x10 != 0 {
                        assert_eq!(
                            Some(&s.ack),
                            syn_seq.get(&rev).map(|x| x.wrapping_add(1)).as_ref(),
                            "{name}: SYN/ACK acks the SYN"
                        );
                    }
                    next.insert(key, s.seq.wrapping_add(1));
                    continue;
                }
                let len = s.payload.len() as u32 + fin as u32;
                match next.get(&key).copied() {
                    // Mid-stream: the first segment sets the sequence.
                    None => {
                        next.insert(key.clone(), s.seq.wrapping_add(len));
                    }
                    Some(n) => {
                        let d = s.seq.wrapping_sub(n) as i32;
                        if len > 0 && d < 0 {
                            behind += 1;
                        }
                        if d > 0 {
                            ahead += 1;
                        }
                        let end = s.seq.wrapping_add(len);
                        if end.wrapping_sub(n) as i32 > 0 {
                            next.insert(key.clone(), end);
                        }
                    }
                }
                if s.flags & 0x10 != 0
                    && let Some(&peer) = next.get(&rev)
                    && s.ack.wrapping_sub(peer) as i32 > 0
                {
                    ack_beyond += 1;
                }
            }
            let ooo = c.note("tcp_out_of_order");
            assert_eq!(
                behind,
                c.note("tcp_retransmissions") + ooo,
                "{name}: segments behind"
            );
            assert_eq!(
                ahead,
                c.note("tcp_lost_segments") + ooo,
                "{name}: segments ahead"
            );
            if c.note("tcp_lost_segments") == 0 {
                assert_eq!(ack_beyond, 0, "{name}: ACK of unsent data");
            } else {
                assert!(
                    ack_beyond > 0,
                    "{name}: the server ACKs past the lost segment"
                );
            }
        }
    }
}

/// Modbus ADUs of a scenario whose ADUs start at segment boundaries:
/// (from server, function code byte, data) for every complete ADU.
fn modbus_adus(c: &Capture) -> Vec<(bool, u8, Vec<u8>)> {
    let mut out = Vec::new();
    for (_, _, proto, l4) in transport(c) {
        let (sport, payload) = match proto {
            6 => {
                let s = tcp(&l4);
                (s.sport, s.payload)
            }
            _ => (be16(&l4, 0), l4[8..].to_vec()),
        };
        let mut b = &payload[..];
        while b.len() >= 8 {
            let n = 6 + be16(b, 4) as usize;
            if be16(b, 2) != 0 || n > b.len() {
                break;
            }
            out.push((sport == 502, b[7], b[8..n].to_vec()));
            b = &b[n..];
        }
    }
    out
}

#[test]
fn modbus_content_matches_the_truth() {
    let c = generate("modbus_polling", 5).unwrap();
    let adus = modbus_adus(&c);
    assert_eq!(adus.len() as u64, c.message_count("modbus"));
    let all: Vec<u8> = adus.iter().flat_map(|a| a.2.clone()).collect();
    let text = String::from_utf8_lossy(&all);
    for s in ["Schneider Electric", "BMX P34 2020", "v3.20", "Siemens AG"] {
        assert!(text.contains(s), "identity {s}");
    }
    for (name, seed) in [
        ("modbus_writes", 1),
        ("modbus_exceptions", 2),
        ("modbus_udp", 3),
        ("net_vlan", 4),
        ("net_ipv6", 5),
    ] {
        let c = generate(name, seed).unwrap();
        let mut got: BTreeMap<(String, u16, String), u64> = BTreeMap::new();
        for (resp, f, _) in modbus_adus(&c) {
            let kind = if resp { "response" } else { "request" };
            *got.entry(("modbus".into(), (f & 0x7f) as u16, kind.into()))
                .or_default() += 1;
        }
        assert_eq!(got, c.counts(), "{name}");
    }
    let c = generate("modbus_writes", 1).unwrap();
    for f in [5u16, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24] {
        for k in ["request", "response"] {
            assert_eq!(c.counts()[&("modbus".into(), f, k.into())], 1, "FC{f} {k}");
        }
    }
    let c = generate("modbus_exceptions", 1).unwrap();
    let codes: BTreeSet<u8> = modbus_adus(&c)
        .iter()
        .filter(|a| a.0 && a.1 & 0x80 != 0)
        .map(|a| a.2[0])
        .collect();
    assert_eq!(codes, BTreeSet::from([1, 2, 3, 4, 6]));
    assert!(
        modbus_adus(&c).iter().any(|a| a.1 == 0x83 && a.2 == [2]),
        "FC3 -> 0x83/02"
    );
}

#[test]
fn malformed_counts() {
    let c = generate("modbus_malformed", 1).unwrap();
    assert_eq!(c.malformed_count("modbus"), 5);
    assert_eq!(c.malformed_count("dnp3"), 0);
    // The three PDUs framed by a sound MBAP header are also messages.
    assert_eq!(c.counts()[&("modbus".into(), 0, "request".into())], 1);
    let c = generate("dnp3_malformed", 1).unwrap();
    assert_eq!(c.malformed_count("dnp3"), 2);
    let c = generate("demo", 1).unwrap();
    assert_eq!(c.malformed_count("modbus"), 1);
    for (name, c) in all(1) {
        // Normal-traffic scenarios carry no malformed PDU.
        if name.ends_with("_normal") || name.ends_with("_polling") {
            assert!(c.truth.iter().all(|t| !t.malformed), "{name}");
        }
        for t in &c.truth {
            assert!(
                otwatch_core::Proto::from_name(t.proto).is_some(),
                "{name}: unknown proto {}",
                t.proto
            );
            assert!(matches!(t.kind, "request" | "response" | "other"), "{name}");
            if t.proto == "dnp3" {
                assert_eq!(t.kind == "response", t.function_code >= 129);
            }
        }
    }
}

/// DNP3 link frames in TCP/UDP payloads (frames start at segment boundaries
/// in these scenarios): (valid header CRC, valid block CRCs, user data).
fn dnp3_frames(c: &Capture) -> Vec<(bool, bool, Vec<u8>)> {
    let crc = otwatch_proto::dnp3::wire::crc;
    let mut out = Vec::new();
    for (_, _, proto, l4) in transport(c) {
        if be16(&l4, 0) != 20000 && be16(&l4, 2) != 20000 {
            continue;
        }
        let payload = if proto == 6 {
            tcp(&l4).payload
        } else {
            l4[8..].to_vec()
        };
        let mut b = &payload[..];
        while b.len() >= 10 && b[0] == 0x05 && b[1] == 0x64 {
            let ud = b[2] as usize - 5;
            let n = 10 + ud + 2 * ud.div_ceil(16);
            let head_ok = crc(&b[..8]).to_le_bytes() == b[8..10];
            let mut blocks_ok = true;
            let mut data = Vec::new();
            for blk in b[10..n].chunks(18) {
                let (d, c) = blk.split_at(blk.len() - 2);
                blocks_ok &= crc(d).to_le_bytes() == c;
                data.extend_from_slice(d);
            }
            out.push((head_ok, blocks_ok, data));
            b = &b[n..];
        }
    }
    out
}

#[test]
fn dnp3_frames_and_fragments_match_the_truth() {
    for (name, c) in all(9) {
        let frames = dnp3_frames(&c);
        let bad = frames.iter().filter(|f| !f.0 || !f.1).count() as u64;
        assert_eq!(bad, c.malformed_count("dnp3"), "{name}: bad CRCs");
        // Reassemble fragments from the transport FIN bits of good frames.
        let good: Vec<_> = frames.iter().filter(|f| f.0 && f.1).collect();
        let link_only = good.iter().filter(|f| f.2.is_empty()).count() as u64;
        assert_eq!(link_only, c.note("dnp3_link_only_frames"), "{name}");
        let fins = good
            .iter()
            .filter(|f| f.2.first().is_some_and(|t| t & 0x80 != 0))
            .count() as u64;
        assert_eq!(
            fins,
            c.message_count("dnp3"),
            "{name}: one fragment per message"
        );
    }
    let c = generate("dnp3_polling", 1).unwrap();
    let frames = dnp3_frames(&c);
    // The integrity response spans several transport segments.
    assert!(
        frames
            .iter()
            .any(|f| f.2.first().is_some_and(|t| t & 0xc0 == 0x40)),
        "FIR without FIN"
    );
    assert_eq!(c.counts()[&("dnp3".into(), 130, "response".into())], 1);
    assert_eq!(c.counts()[&("dnp3".into(), 0, "request".into())], 1);
    let c = generate("dnp3_control", 1).unwrap();
    for f in [3u16, 4, 5, 13, 14, 2, 20, 21] {
        assert!(
            c.counts()
                .contains_key(&("dnp3".into(), f, "request".into())),
            "FC{f}"
        );
    }
}

#[test]
fn network_features() {
    let c = generate("net_vlan", 1).unwrap();
    let tags: BTreeSet<Vec<u16>> = c.packets.iter().map(|(_, f)| parse(f).vlans).collect();
    assert_eq!(tags, BTreeSet::from([vec![10], vec![100, 20]]));
    assert!(
        c.packets.iter().any(|(_, f)| f[12..14] == [0x88, 0xa8]),
        "QinQ outer TPID"
    );
    let c = generate("net_ipv6", 1).unwrap();
    assert!(c.packets.iter().all(|(_, f)| parse(f).ethertype == 0x86dd));
    let c = generate("net_fragments", 1).unwrap();
    assert_eq!(c.note("ip_fragments"), 5);
    let firsts: Vec<bool> = c
        .packets
        .iter()
        .filter_map(|(_, f)| parse(f).ip)
        .filter(|ip| ip.more_fragments || ip.frag_offset > 0)
        .map(|ip| ip.frag_offset == 0)
        .collect();
    assert_eq!(
        firsts.iter().filter(|x| **x).count(),
        2,
        "two fragmented datagrams"
    );
    assert!(
        !firsts[2],
        "the second set starts with a non-first fragment"
    );
    let c = generate("modbus_midstream", 1).unwrap();
    assert_eq!(c.note("tcp_midstream_flows"), 1);
    assert!(
        c.packets.iter().all(|(_, f)| parse(f)
            .ip
            .is_some_and(|ip| tcp(ip.payload).flags & 0x02 == 0)),
        "no SYN"
    );
}

#[test]
fn vendor_ouis_and_demo_size() {
    let mut ouis = BTreeSet::new();
    for (_, c) in all(1) {
        for (_, f) in &c.packets {
            let m = parse(f).src_mac;
            ouis.insert([m[0], m[1], m[2]]);
        }
    }
    for oui in [
        [0x00, 0x80, 0xf4],
        [0x00, 0x0e, 0x8c],
        [0x00, 0x00, 0xbc],
        [0x00, 0x30, 0xa7],
        [0x00, 0x09, 0x91],
    ] {
        assert!(ouis.contains(&oui), "OUI {oui:02x?}");
    }
    let c = generate("demo", 1).unwrap();
    let n = c.packets.len();
    assert!((300..=5_000).contains(&n), "{n} packets");
    let span = c.packets[n - 1].0.nanos_since(c.packets[0].0);
    assert!(
        (55_000_000_000..=65_000_000_000).contains(&span),
        "{span} ns"
    );
    assert!(c.note("arp") >= 6 && c.note("other_traffic") > 0);
    assert!(c.packets.iter().any(|(_, f)| parse(f).ethertype == 0x0806));
    assert!(c.message_count("dnp3") > 10 && c.message_count("modbus") > 300);
    assert_eq!(c.counts()[&("modbus".into(), 43, "response".into())], 3);
}
