//! IT network scenarios: DNS/DHCP/mDNS/LLMNR/NBNS, SNMP, infrastructure
//! (NTP, syslog, ICMP, LLDP, CDP) and malformed PDUs of those protocols.

use std::net::Ipv6Addr;

use etherparse::PacketBuilder;
use otwatch_core::Timestamp;

use super::Group;
use super::hosts::*;
use crate::builder::{Cap, ms, secs};
use crate::net::{BROADCAST, Host, eth_frame, snap_frame};
use crate::transport::{Channel, Dir, TcpConn, UdpFlow};
use crate::{Scenario, Truth};

pub(crate) const SCENARIOS: Group = &[
    (
        Scenario {
            name: "it_dns_dhcp",
            description: DNS_DHCP,
        },
        dns_dhcp,
    ),
    (
        Scenario {
            name: "it_snmp",
            description: SNMP,
        },
        snmp,
    ),
    (
        Scenario {
            name: "it_infra",
            description: INFRA,
        },
        infra,
    ),
    (
        Scenario {
            name: "it_net_malformed",
            description: MALFORMED,
        },
        malformed,
    ),
];

const DNS_DHCP: &str = "A Windows engineering workstation (Dell, 00:14:22:4e:10:42) boots on the \
plant network: DHCP DISCOVER/OFFER/REQUEST/ACK with host name EWS-0042 and vendor class MSFT 5.0 \
(server 10.10.1.1 assigns 10.10.1.42), then NetBIOS registrations of EWS-0042<00> and the PLANT \
workgroup, an mDNS announcement of ews-0042.local, an LLMNR query for 'fileserver' answered by \
10.10.1.60, and DNS queries to 192.168.10.2: A historian.plant.local, AAAA historian.plant.local \
(no data), PTR 21.1.10.10.in-addr.arpa, A nosuch.plant.local (NXDOMAIN), and an SOA query over TCP.";

const SNMP: &str = "The network management station (10.10.1.5) polls the Siemens SCALANCE switch \
(10.10.1.2) with SNMPv2c community 'public': a get of sysDescr/sysObjectID/sysName, a getnext and a \
getbulk of the interface table, each answered; it sets sysLocation with the write community 'private'; \
the switch sends a v1 linkDown trap to port 162; and an SNMPv3 get (user 'nms', noAuthNoPriv) is \
answered by an encrypted response.";

const INFRA: &str = "Infrastructure traffic: the HMI (10.10.1.10) synchronises with the NTP server \
10.10.1.1 (mode 3/4, three times) while an outside scanner (192.168.10.66) sends an NTP mode 7 monlist \
request; the switch (10.10.1.2) logs to the syslog server 10.10.1.5 over UDP (RFC 3164) and over TCP 601 \
(RFC 5424, two messages in one segment); the HMI pings a PLC (two echo pairs), gets a port unreachable \
from 10.10.1.21 and a TTL exceeded from the router; an IPv6 neighbour solicitation/advertisement pair and a \
router solicitation/advertisement pair; the switch sends two LLDP frames and the Cisco router one CDP frame.";

const MALFORMED: &str = "Malformed IT protocol PDUs: a DNS query whose name is a compression pointer to \
itself (the header is sound: a message and a malformed event), a DHCP DISCOVER whose host name option \
runs past the end of the packet (message and malformed), an SNMP message whose outer SEQUENCE announces \
more bytes than the datagram holds (malformed only), and an LLDP frame whose system description TLV is \
truncated (message and malformed).";

/// Engineering workstation being set up (Dell OUI).
const WS_MAC: [u8; 6] = [0x00, 0x14, 0x22, 0x4e, 0x10, 0x42];
const WS: Host = Host::v4(WS_MAC, [10, 10, 1, 42], 128);
const WS_NOIP: Host = Host::v4(WS_MAC, [0, 0, 0, 0], 128);
const BCAST: Host = Host::v4(BROADCAST, [255, 255, 255, 255], 128);
/// File server answering LLMNR.
const FILESERVER: Host = Host::v4([0x00, 0x14, 0x22, 0x4e, 0x10, 0x60], [10, 10, 1, 60], 128);
/// Network management station / syslog server.
const NMS: Host = Host::v4([0x00, 0x14, 0x22, 0x4e, 0x10, 0x05], [10, 10, 1, 5], 64);
/// Siemens SCALANCE switch.
const SWITCH_MAC: [u8; 6] = [0x00, 0x0e, 0x8c, 0x9a, 0x20, 0x02];
const SWITCH: Host = Host::v4(SWITCH_MAC, [10, 10, 1, 2], 64);
/// Outside scanner seen through the router.
const SCANNER: Host =
    Host::v4([0, 0x14, 0x22, 0x99, 0, 0x66], [192, 168, 10, 66], 64).via_router(ROUTER_MAC);
const MDNS_GROUP: Host = Host::v4([0x01, 0x00, 0x5e, 0, 0, 0xfb], [224, 0, 0, 251], 255);
const LLMNR_GROUP: Host = Host::v4([0x01, 0x00, 0x5e, 0, 0, 0xfc], [224, 0, 0, 252], 1);

/// Query name, type, response flags, answers (type, data).
type DnsExchange = (&'static str, u16, u16, Vec<(u16, Vec<u8>)>);
/// Community, PDU tag, request varbinds, response varbinds, the two integers
/// after the request id.
type SnmpExchange = (&'static str, u8, Vec<Vec<u8>>, Vec<Vec<u8>>, u32, u32);

fn msg(cap: &mut Cap, t: Timestamp, proto: &'static str, fc: u16, request: bool) {
    cap.truth(t, Truth::msg(proto, fc, request));
}

fn other(cap: &mut Cap, t: Timestamp, proto: &'static str, fc: u16) {
    cap.truth(
        t,
        Truth {
            proto,
            function_code: fc,
            kind: "other",
            malformed: false,
        },
    );
}

// ---- DNS wire ----

fn dns_name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

/// A DNS-format message with one question and `answers` (rtype, rdata)
/// owned by the question name (compression pointer to offset 12).
fn dns_msg(id: u16, flags: u16, q: &str, qtype: u16, answers: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend(flags.to_be_bytes());
    v.extend([0, 1]);
    v.extend((answers.len() as u16).to_be_bytes());
    v.extend([0, 0, 0, 0]);
    v.extend(dns_name(q));
    v.extend(qtype.to_be_bytes());
    v.extend([0, 1]);
    for (t, d) in answers {
        v.extend([0xc0, 12]);
        v.extend(t.to_be_bytes());
        v.extend([0, 1, 0, 0, 0x0e, 0x10]);
        v.extend((d.len() as u16).to_be_bytes());
        v.extend(d);
    }
    v
}

fn nb_name(name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    raw[15] = suffix;
    let mut v = vec![32];
    for b in raw {
        v.push(b'A' + (b >> 4));
        v.push(b'A' + (b & 15));
    }
    v.push(0);
    v
}

fn nbns_registration(id: u16, name: &str, group: bool, ip: [u8; 4]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend([0x29, 0x10, 0, 1, 0, 0, 0, 0, 0, 1]);
    v.extend(nb_name(name, 0));
    v.extend([0, 0x20, 0, 1]);
    v.extend([0xc0, 12, 0, 0x20, 0, 1, 0, 3, 0xf4, 0x80, 0, 6]);
    v.extend([if group { 0x80 } else { 0 }, 0]);
    v.extend(ip);
    v
}

// ---- DHCP ----

fn dhcp(op: u8, t: u8, xid: u32, yiaddr: [u8; 4], opts: &[(u8, &[u8])]) -> Vec<u8> {
    let mut v = vec![op, 1, 6, 0];
    v.extend(xid.to_be_bytes());
    v.extend([0, 0, 0x80, 0]);
    v.extend([0; 4]);
    v.extend(yiaddr);
    v.extend(if op == 2 { [10, 10, 1, 1] } else { [0; 4] });
    v.extend([0; 4]);
    v.extend(WS_MAC);
    v.extend([0; 10 + 64 + 128]);
    v.extend([0x63, 0x82, 0x53, 0x63, 53, 1, t]);
    for (c, d) in opts {
        v.push(*c);
        v.push(d.len() as u8);
        v.extend(*d);
    }
    v.push(255);
    v
}

fn dns_dhcp(cap: &mut Cap) {
    let xid = cap.rng.next_u32();
    let mut t = cap.at(ms(100));
    let client_opts: &[(u8, &[u8])] = &[
        (61, &[1, 0x00, 0x14, 0x22, 0x4e, 0x10, 0x42]),
        (12, b"EWS-0042"),
        (60, b"MSFT 5.0"),
        (
            55,
            &[1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252],
        ),
    ];
    let server_opts: &[(u8, &[u8])] = &[
        (54, &[10, 10, 1, 1]),
        (51, &[0, 1, 0x51, 0x80]),
        (1, &[255, 255, 255, 0]),
        (3, &[10, 10, 1, 1]),
        (6, &[192, 168, 10, 2]),
    ];
    let mut up = UdpFlow::new(cap, WS_NOIP, BCAST, 68, 67);
    let mut down = UdpFlow::new(cap, ROUTER, BCAST, 67, 68);
    up.send(cap, t, Dir::ToServer, &dhcp(1, 1, xid, [0; 4], client_opts));
    msg(cap, t, "dhcp", 1, true);
    t = t.add_nanos(ms(3));
    down.send(
        cap,
        t,
        Dir::ToServer,
        &dhcp(2, 2, xid, [10, 10, 1, 42], server_opts),
    );
    msg(cap, t, "dhcp", 2, false);
    t = t.add_nanos(ms(2));
    let mut req_opts = client_opts.to_vec();
    req_opts.push((50, &[10, 10, 1, 42]));
    req_opts.push((54, &[10, 10, 1, 1]));
    up.send(cap, t, Dir::ToServer, &dhcp(1, 3, xid, [0; 4], &req_opts));
    msg(cap, t, "dhcp", 3, true);
    t = t.add_nanos(ms(3));
    down.send(
        cap,
        t,
        Dir::ToServer,
        &dhcp(2, 5, xid, [10, 10, 1, 42], server_opts),
    );
    msg(cap, t, "dhcp", 5, false);

    // NetBIOS registrations (broadcast, UDP 137 both sides).
    let nb_bcast = Host::v4(BROADCAST, [10, 10, 1, 255], 128);
    let mut nb = UdpFlow::new(cap, WS, nb_bcast, 137, 137);
    for (i, (name, group)) in [("EWS-0042", false), ("PLANT", true)].iter().enumerate() {
        t = t.add_nanos(ms(200));
        nb.send(
            cap,
            t,
            Dir::ToServer,
            &nbns_registration(0x8000 + i as u16, name, *group, [10, 10, 1, 42]),
        );
        msg(cap, t, "nbns", 5, true);
    }

    // mDNS announcement (response, no question) and a service query.
    let mut md = UdpFlow::new(cap, WS, MDNS_GROUP, 5353, 5353);
    t = t.add_nanos(ms(150));
    let mut ann = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    ann.extend(dns_name("ews-0042.local"));
    ann.extend([0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 10, 1, 42]);
    md.send(cap, t, Dir::ToServer, &ann);
    msg(cap, t, "mdns", 0, false);
    t = t.add_nanos(ms(20));
    md.send(
        cap,
        t,
        Dir::ToServer,
        &dns_msg(0, 0, "_workstation._tcp.local", 12, &[]),
    );
    msg(cap, t, "mdns", 12, true);

    // LLMNR query (multicast) and the unicast answer.
    let port = cap.rng.ephemeral_port();
    let mut ll = UdpFlow::new(cap, WS, LLMNR_GROUP, port, 5355);
    let id = cap.rng.next_u16();
    t = t.add_nanos(ms(300));
    ll.send(cap, t, Dir::ToServer, &dns_msg(id, 0, "fileserver", 1, &[]));
    msg(cap, t, "llmnr", 1, true);
    let mut ll_back = UdpFlow::new(cap, WS, FILESERVER, port, 5355);
    t = t.add_nanos(ms(1));
    ll_back.send(
        cap,
        t,
        Dir::ToClient,
        &dns_msg(id, 0x8000, "fileserver", 1, &[(1, vec![10, 10, 1, 60])]),
    );
    msg(cap, t, "llmnr", 1, false);

    // DNS over UDP to the plant DNS server.
    let ptr = dns_name("plc-m340.plant.local");
    let queries: [DnsExchange; 4] = [
        (
            "historian.plant.local",
            1,
            0x8180,
            vec![(1, vec![192, 168, 10, 20])],
        ),
        ("historian.plant.local", 28, 0x8180, vec![]),
        ("21.1.10.10.in-addr.arpa", 12, 0x8180, vec![(12, ptr)]),
        ("nosuch.plant.local", 1, 0x8183, vec![]),
    ];
    let port = cap.rng.ephemeral_port();
    let mut d = UdpFlow::new(cap, WS, DNS, port, 53);
    for (q, qt, flags, ans) in queries.iter() {
        let id = cap.rng.next_u16();
        t = t.add_nanos(ms(40));
        d.send(cap, t, Dir::ToServer, &dns_msg(id, 0x0100, q, *qt, &[]));
        msg(cap, t, "dns", *qt, true);
        t = t.add_nanos(cap.rng.micros(500, 3_000));
        d.send(cap, t, Dir::ToClient, &dns_msg(id, *flags, q, *qt, ans));
        msg(cap, t, "dns", *qt, false);
    }
    // SOA over TCP: 2-byte length prefix.
    let mut c = TcpConn::new(cap, WS, DNS, 53);
    t = c.handshake(cap, t.add_nanos(ms(30)));
    let id = cap.rng.next_u16();
    let q = dns_msg(id, 0x0100, "plant.local", 6, &[]);
    let mut soa = dns_name("ns1.plant.local");
    soa.extend(dns_name("hostmaster.plant.local"));
    soa.extend([
        0, 0, 0, 7, 0, 0, 0x0e, 0x10, 0, 0, 3, 0x84, 0, 9, 0x3a, 0x80, 0, 0, 1, 0x2c,
    ]);
    let r = dns_msg(id, 0x8580, "plant.local", 6, &[(6, soa)]);
    let framed = |m: &[u8]| {
        let mut v = (m.len() as u16).to_be_bytes().to_vec();
        v.extend(m);
        v
    };
    t = t.add_nanos(ms(1));
    c.send(cap, t, Dir::ToServer, &framed(&q));
    msg(cap, t, "dns", 6, true);
    t = t.add_nanos(ms(2));
    c.send(cap, t, Dir::ToClient, &framed(&r));
    msg(cap, t, "dns", 6, false);
    c.close(cap, t.add_nanos(ms(5)));
}

// ---- SNMP (BER) ----

fn tlv(tag: u8, v: &[u8]) -> Vec<u8> {
    let mut o = vec![tag];
    if v.len() < 128 {
        o.push(v.len() as u8);
    } else {
        o.extend([0x82, (v.len() >> 8) as u8, v.len() as u8]);
    }
    o.extend(v);
    o
}

fn int(n: u32) -> Vec<u8> {
    let b = n.to_be_bytes();
    let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
    let mut v = b[skip..].to_vec();
    if v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    tlv(2, &v)
}

fn varbind(oid: &[u8], val: Vec<u8>) -> Vec<u8> {
    tlv(0x30, &[tlv(6, oid), val].concat())
}

const SYS_DESCR: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 1, 0];
const SYS_OBJECT_ID: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 2, 0];
const SYS_NAME: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 5, 0];
const SYS_LOCATION: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 6, 0];
const IF_DESCR: &[u8] = &[0x2b, 6, 1, 2, 1, 2, 2, 1, 2];

fn pdu(tag: u8, rid: u32, a: u32, b: u32, vbs: &[Vec<u8>]) -> Vec<u8> {
    tlv(
        0xa0 | tag,
        &[int(rid), int(a), int(b), tlv(0x30, &vbs.concat())].concat(),
    )
}

fn v2c(community: &str, pdu: Vec<u8>) -> Vec<u8> {
    tlv(0x30, &[int(1), tlv(4, community.as_bytes()), pdu].concat())
}

fn v3(msg_id: u32, user: &str, flags: u8, data: Vec<u8>) -> Vec<u8> {
    let global = tlv(
        0x30,
        &[int(msg_id), int(1500), tlv(4, &[flags]), int(3)].concat(),
    );
    let engine = [0x80, 0, 0x10, 0x39, 3, 0x00, 0x0e, 0x8c, 0x9a, 0x20, 0x02];
    let usm = tlv(
        0x30,
        &[
            tlv(4, &engine),
            int(3),
            int(86400),
            tlv(4, user.as_bytes()),
            tlv(4, &[]),
            tlv(4, &[]),
        ]
        .concat(),
    );
    tlv(0x30, &[int(3), global, tlv(4, &usm), data].concat())
}

fn snmp(cap: &mut Cap) {
    let port = cap.rng.ephemeral_port();
    let mut f = UdpFlow::new(cap, NMS, SWITCH, port, 161);
    let mut t = cap.at(ms(50));
    let null = || tlv(5, &[]);
    let exchanges: Vec<SnmpExchange> = vec![
        (
            "public",
            0,
            vec![varbind(SYS_DESCR, null()), varbind(SYS_OBJECT_ID, null()), varbind(SYS_NAME, null())],
            vec![
                varbind(SYS_DESCR, tlv(4, b"Siemens, SIMATIC NET, SCALANCE XC208, 6GK5 208-0BA00-2AC2, HW: Version 1, FW: Version V04.03.01")),
                varbind(SYS_OBJECT_ID, tlv(6, &[0x2b, 6, 1, 4, 1, 0xa1, 0x49, 6, 2, 1])),
                varbind(SYS_NAME, tlv(4, b"sw-cell-1")),
            ],
            0,
            0,
        ),
        (
            "public",
            1,
            vec![varbind(IF_DESCR, null())],
            vec![varbind(&[IF_DESCR, &[1]].concat(), tlv(4, b"Port 1"))],
            0,
            0,
        ),
        (
            "public",
            5,
            vec![varbind(IF_DESCR, null())],
            (1..=8u8)
                .map(|i| varbind(&[IF_DESCR, &[i]].concat(), tlv(4, format!("Port {i}").as_bytes())))
                .collect(),
            0,
            8,
        ),
        (
            "private",
            3,
            vec![varbind(SYS_LOCATION, tlv(4, b"Cell 1 cabinet"))],
            vec![varbind(SYS_LOCATION, tlv(4, b"Cell 1 cabinet"))],
            0,
            0,
        ),
    ];
    for (community, tag, req, resp, a, b) in exchanges {
        let rid = cap.rng.next_u32() & 0x7fff_ffff;
        t = t.add_nanos(secs(1));
        f.send(
            cap,
            t,
            Dir::ToServer,
            &v2c(community, pdu(tag, rid, a, b, &req)),
        );
        msg(cap, t, "snmp", tag as u16, true);
        t = t.add_nanos(cap.rng.micros(800, 4_000));
        f.send(
            cap,
            t,
            Dir::ToClient,
            &v2c(community, pdu(2, rid, 0, 0, &resp)),
        );
        msg(cap, t, "snmp", 2, false);
    }
    // v1 linkDown trap from the switch to the manager.
    let trap_port = cap.rng.ephemeral_port();
    let mut trap = UdpFlow::new(cap, SWITCH, NMS, trap_port, 162);
    t = t.add_nanos(secs(2));
    let body = [
        tlv(6, &[0x2b, 6, 1, 4, 1, 0xa1, 0x49]),
        tlv(0x40, &[10, 10, 1, 2]),
        int(2),
        int(0),
        tlv(0x43, &[0x01, 0x2c, 0x4e, 0x20]),
        tlv(0x30, &varbind(&[0x2b, 6, 1, 2, 1, 2, 2, 1, 1, 3], int(3))),
    ]
    .concat();
    let m = tlv(
        0x30,
        &[int(0), tlv(4, b"public"), tlv(0xa4, &body)].concat(),
    );
    trap.send(cap, t, Dir::ToServer, &m);
    msg(cap, t, "snmp", 4, true);
    // SNMPv3: a plain get and an encrypted answer.
    let port = cap.rng.ephemeral_port();
    let mut f3 = UdpFlow::new(cap, NMS, SWITCH, port, 161);
    t = t.add_nanos(secs(1));
    let scoped = tlv(
        0x30,
        &[
            tlv(4, &[]),
            tlv(4, &[]),
            pdu(0, 4711, 0, 0, &[varbind(SYS_NAME, null())]),
        ]
        .concat(),
    );
    f3.send(cap, t, Dir::ToServer, &v3(91, "nms", 0x04, scoped));
    msg(cap, t, "snmp", 0, true);
    t = t.add_nanos(ms(3));
    let enc: Vec<u8> = (0..48).map(|_| cap.rng.next_u16() as u8).collect();
    f3.send(cap, t, Dir::ToClient, &v3(91, "nms", 0x03, tlv(4, &enc)));
    msg(cap, t, "snmp", 255, false);
}

// ---- infrastructure ----

fn ntp_packet(mode: u8, stratum: u8, xmit: u64) -> Vec<u8> {
    let mut v = vec![(4 << 3) | mode, stratum, 6, 0xe9];
    v.extend([0, 0, 0, 0x10, 0, 0, 0, 0x20]);
    v.extend(if stratum == 1 { *b"GPS\0" } else { [0; 4] });
    v.extend([0; 24]);
    v.extend(xmit.to_be_bytes());
    v
}

fn icmp4(src: &Host, dst: &Host, ty: u8, code: u8, rest: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let ip = |h: &Host| match h.ip {
        std::net::IpAddr::V4(a) => a.octets(),
        _ => [0; 4],
    };
    let b = PacketBuilder::ethernet2(src.mac, dst.mac)
        .ipv4(ip(src), ip(dst), src.ttl)
        .icmpv4_raw(ty, code, rest);
    let mut f = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut f, payload).expect("ICMP frame serializes");
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

fn icmp6(
    src: ([u8; 6], Ipv6Addr),
    dst: ([u8; 6], Ipv6Addr),
    ty: u8,
    rest: [u8; 4],
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src.0, dst.0)
        .ipv6(src.1.octets(), dst.1.octets(), 255)
        .icmpv6_raw(ty, 0, rest);
    let mut f = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut f, payload).expect("ICMPv6 frame serializes");
    f
}

fn lldp_tlv(t: u8, v: &[u8]) -> Vec<u8> {
    let h = ((t as u16) << 9) | v.len() as u16;
    let mut o = h.to_be_bytes().to_vec();
    o.extend(v);
    o
}

fn lldp_frame(port: u8, truncate_desc: bool) -> Vec<u8> {
    let mut v = [
        lldp_tlv(1, &[[4u8].as_slice(), &SWITCH_MAC].concat()),
        lldp_tlv(2, format!("\x05port-00{port}").as_bytes()),
        lldp_tlv(3, &[0, 120]),
        lldp_tlv(
            4,
            format!("Siemens, SIMATIC NET, Ethernet Port, X1 P{port}").as_bytes(),
        ),
        lldp_tlv(5, b"sw-cell-1"),
    ]
    .concat();
    let desc = b"Siemens, SIMATIC NET, SCALANCE XC208, 6GK5 208-0BA00-2AC2, HW: Version 1, FW: Version V04.03.01";
    if truncate_desc {
        // Announces the whole description, carries 20 bytes, no End TLV.
        v.extend(&lldp_tlv(6, desc)[..22]);
        return v;
    }
    v.extend(lldp_tlv(6, desc));
    v.extend(lldp_tlv(7, &[0, 0x04, 0, 0x04]));
    v.extend(lldp_tlv(8, &[5, 1, 10, 10, 1, 2, 2, 0, 0, 0, 1, 0]));
    v.extend(lldp_tlv(127, &[0x00, 0x0e, 0xcf, 2, 0, 0, 0, 0x10]));
    v.extend(lldp_tlv(127, &[0x00, 0x12, 0x0f, 1, 3, 0x6c, 0, 0x10]));
    v.extend(lldp_tlv(0, &[]));
    v
}

fn cdp_packet() -> Vec<u8> {
    let tlv = |t: u16, v: &[u8]| {
        let mut o = t.to_be_bytes().to_vec();
        o.extend(((v.len() + 4) as u16).to_be_bytes());
        o.extend(v);
        o
    };
    [
        vec![2, 180, 0, 0],
        tlv(1, b"rtr-ot-fw1.plant.local"),
        tlv(2, &[0, 0, 0, 1, 1, 1, 0xcc, 0, 4, 10, 10, 1, 1]),
        tlv(3, b"GigabitEthernet0/0/1"),
        tlv(4, &[0, 0, 0, 0x29]),
        tlv(5, b"Cisco IOS XE Software, Version 17.06.04, ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M)"),
        tlv(6, b"cisco ISR4331/K9"),
        tlv(9, b"PLANT"),
        tlv(0x0a, &[0, 10]),
        tlv(0x0b, &[1]),
    ]
    .concat()
}

fn infra(cap: &mut Cap) {
    let mut t = cap.at(ms(10));
    // NTP client/server.
    let port = cap.rng.ephemeral_port();
    let mut n = UdpFlow::new(cap, HMI, ROUTER, port, 123);
    for i in 0..3u64 {
        t = t.add_nanos(secs(16));
        n.send(
            cap,
            t,
            Dir::ToServer,
            &ntp_packet(3, 0, 0xe9a0_0000_0000_0000 + (i << 36)),
        );
        msg(cap, t, "ntp", 3, true);
        t = t.add_nanos(ms(1));
        n.send(
            cap,
            t,
            Dir::ToClient,
            &ntp_packet(4, 1, 0xe9a0_0000_0000_0000 + (i << 36) + 1),
        );
        msg(cap, t, "ntp", 4, false);
    }
    // monlist probe from outside (mode 7, request code 42).
    let mut m7 = UdpFlow::new(cap, SCANNER, ROUTER, 57915, 123);
    t = t.add_nanos(ms(500));
    let mut mon = vec![0x17, 0x00, 0x03, 0x2a];
    mon.extend([0; 44]);
    m7.send(cap, t, Dir::ToServer, &mon);
    msg(cap, t, "ntp", 7, true);

    // Syslog over UDP.
    let mut s = UdpFlow::new(cap, SWITCH, NMS, 514, 514);
    for (pri, text) in [
        (189u8, "sw-cell-1 LINK: Port X1 P3 link down"),
        (190, "sw-cell-1 LINK: Port X1 P3 link up"),
        (
            187,
            "sw-cell-1 AUTH: login failed for user admin from 192.168.10.66",
        ),
    ] {
        t = t.add_nanos(ms(700));
        let line = format!(
            "<{pri}>Nov 26 08:15:{:02} {text}",
            (t.0 / 1_000_000_000) % 60
        );
        s.send(cap, t, Dir::ToServer, line.as_bytes());
        msg(cap, t, "syslog", pri as u16, true);
    }
    // Syslog over TCP 601 (octet counting), two messages in one segment.
    let mut c = TcpConn::new(cap, SWITCH, NMS, 601);
    t = c.handshake(cap, t.add_nanos(ms(100)));
    let a = "<134>1 2026-11-26T08:16:00.120Z sw-cell-1 snmpd 412 CFG - Configuration saved";
    let b = "<131>1 2026-11-26T08:16:00.450Z sw-cell-1 sshd 917 AUTH [origin ip=\"192.168.10.66\"] Invalid user plc";
    let seg = format!("{} {a}{} {b}", a.len(), b.len());
    t = t.add_nanos(ms(1));
    c.send(cap, t, Dir::ToServer, seg.as_bytes());
    msg(cap, t, "syslog", 134, true);
    msg(cap, t, "syslog", 131, true);
    c.close(cap, t.add_nanos(ms(10)));

    // ICMP: two echo pairs, port unreachable, TTL exceeded.
    let payload: Vec<u8> = (0..32u8).map(|i| b'a' + (i % 23)).collect();
    for seq in 1..=2u16 {
        t = t.add_nanos(secs(1));
        let rest = [0, 1, (seq >> 8) as u8, seq as u8];
        cap.push(t, icmp4(&HMI, &PLC_SCHNEIDER, 8, 0, rest, &payload));
        msg(cap, t, "icmp", 0x0800, true);
        t = t.add_nanos(ms(1));
        cap.push(t, icmp4(&PLC_SCHNEIDER, &HMI, 0, 0, rest, &payload));
        msg(cap, t, "icmp", 0x0000, false);
    }
    let mut quoted = vec![
        0x45, 0, 0, 36, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 10, 1, 10, 10, 10, 1, 21,
    ];
    quoted.extend([0xc3, 0x51, 0x00, 0xa1, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    t = t.add_nanos(ms(200));
    cap.push(t, icmp4(&PLC_SCHNEIDER, &HMI, 3, 3, [0; 4], &quoted));
    other(cap, t, "icmp", 0x0303);
    let mut q2 = vec![
        0x45, 0, 0, 60, 0x22, 0x11, 0, 0, 1, 1, 0, 0, 10, 10, 1, 10, 192, 168, 10, 20,
    ];
    q2.extend([8, 0, 0, 0, 0, 2, 0, 1]);
    t = t.add_nanos(ms(200));
    cap.push(t, icmp4(&ROUTER, &HMI, 11, 0, [0; 4], &q2));
    other(cap, t, "icmp", 0x0b00);

    // ICMPv6 neighbour discovery.
    let hmi6: Ipv6Addr = "fe80::214:22ff:fe3a:7c10".parse().expect("address");
    let plc6: Ipv6Addr = "fe80::280:f4ff:fe1c:52a1".parse().expect("address");
    let rtr6: Ipv6Addr = "fe80::200:cff:fe5a:2101".parse().expect("address");
    let sn: Ipv6Addr = "ff02::1:ff1c:52a1".parse().expect("address");
    let all: Ipv6Addr = "ff02::1".parse().expect("address");
    let allr: Ipv6Addr = "ff02::2".parse().expect("address");
    let mut ns = plc6.octets().to_vec();
    ns.extend([1, 1]);
    ns.extend(HMI.mac);
    t = t.add_nanos(ms(300));
    cap.push(
        t,
        icmp6(
            (HMI.mac, hmi6),
            ([0x33, 0x33, 0xff, 0x1c, 0x52, 0xa1], sn),
            135,
            [0; 4],
            &ns,
        ),
    );
    msg(cap, t, "icmp", 135 << 8, true);
    let mut na = plc6.octets().to_vec();
    na.extend([2, 1]);
    na.extend(PLC_SCHNEIDER.mac);
    t = t.add_nanos(ms(1));
    cap.push(
        t,
        icmp6(
            (PLC_SCHNEIDER.mac, plc6),
            (HMI.mac, hmi6),
            136,
            [0x60, 0, 0, 0],
            &na,
        ),
    );
    msg(cap, t, "icmp", 136 << 8, false);
    let mut rs = vec![1, 1];
    rs.extend(HMI.mac);
    t = t.add_nanos(ms(50));
    cap.push(
        t,
        icmp6(
            (HMI.mac, hmi6),
            ([0x33, 0x33, 0, 0, 0, 2], allr),
            133,
            [0; 4],
            &rs,
        ),
    );
    msg(cap, t, "icmp", 133 << 8, true);
    let mut ra = vec![0, 0, 0, 0, 0, 0, 0, 0];
    ra.extend([1, 1]);
    ra.extend(ROUTER_MAC);
    t = t.add_nanos(ms(2));
    cap.push(
        t,
        icmp6(
            (ROUTER_MAC, rtr6),
            ([0x33, 0x33, 0, 0, 0, 1], all),
            134,
            [64, 0, 0x07, 0x08],
            &ra,
        ),
    );
    msg(cap, t, "icmp", 134 << 8, false);

    // LLDP from the switch, CDP from the router.
    let lldp_dst = [0x01, 0x80, 0xc2, 0, 0, 0x0e];
    for port in 1..=2u8 {
        t = t.add_nanos(secs(30));
        cap.push(
            t,
            eth_frame(SWITCH_MAC, lldp_dst, None, 0x88cc, &lldp_frame(port, false)),
        );
        other(cap, t, "lldp", 0);
    }
    t = t.add_nanos(secs(5));
    cap.push(
        t,
        snap_frame(
            ROUTER_MAC,
            [0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc],
            0x00000c,
            0x2000,
            &cdp_packet(),
        ),
    );
    other(cap, t, "cdp", 0);
}

fn malformed(cap: &mut Cap) {
    let mut t = cap.at(ms(20));
    // DNS: the question name is a pointer to itself, type A.
    let port = cap.rng.ephemeral_port();
    let mut d = UdpFlow::new(cap, HMI, DNS, port, 53);
    let mut q = vec![0x4a, 0x11, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend([0xc0, 12, 0, 1, 0, 1]);
    d.send(cap, t, Dir::ToServer, &q);
    msg(cap, t, "dns", 1, true);
    cap.truth(t, Truth::msg("dns", 1, true).into_malformed());
    // A normal query on the same flow still works.
    t = t.add_nanos(ms(5));
    d.send(
        cap,
        t,
        Dir::ToServer,
        &dns_msg(0x4a12, 0x0100, "historian.plant.local", 1, &[]),
    );
    msg(cap, t, "dns", 1, true);

    // DHCP DISCOVER whose host name option runs past the end.
    let mut up = UdpFlow::new(cap, WS_NOIP, BCAST, 68, 67);
    let mut p = dhcp(1, 1, cap.rng.next_u32(), [0; 4], &[(60, b"MSFT 5.0")]);
    p.pop();
    p.extend([12, 40]);
    p.extend(b"EWS-0042");
    t = t.add_nanos(ms(100));
    up.send(cap, t, Dir::ToServer, &p);
    msg(cap, t, "dhcp", 1, true);
    cap.truth(t, Truth::msg("dhcp", 1, true).into_malformed());

    // SNMP: the outer SEQUENCE announces 200 bytes, the datagram holds fewer.
    let port = cap.rng.ephemeral_port();
    let mut s = UdpFlow::new(cap, NMS, SWITCH, port, 161);
    let good = v2c(
        "public",
        pdu(0, 77, 0, 0, &[varbind(SYS_NAME, tlv(5, &[]))]),
    );
    let mut bad = good.clone();
    bad[1] = 0x81;
    bad.insert(2, 200);
    t = t.add_nanos(ms(100));
    s.send(cap, t, Dir::ToServer, &bad);
    cap.truth(t, Truth::msg("snmp", 0, true).into_malformed());
    t = t.add_nanos(ms(5));
    s.send(cap, t, Dir::ToServer, &good);
    msg(cap, t, "snmp", 0, true);

    // LLDP with a truncated system description TLV.
    t = t.add_nanos(ms(100));
    cap.push(
        t,
        eth_frame(
            SWITCH_MAC,
            [0x01, 0x80, 0xc2, 0, 0, 0x0e],
            None,
            0x88cc,
            &lldp_frame(3, true),
        ),
    );
    other(cap, t, "lldp", 0);
    cap.truth(
        t,
        Truth {
            proto: "lldp",
            function_code: 0,
            kind: "other",
            malformed: true,
        },
    );
}
