//! Classic pcap output (nanosecond magic) and the IP pair of a frame.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use otwatch_capture::LinkType;
use otwatch_core::Timestamp;

/// Bytes of the file header.
pub const FILE_HEADER: usize = 24;
/// Bytes of a record header.
pub const RECORD_HEADER: usize = 16;
/// Largest frame a record carries (and the header's snap length).
pub const SNAPLEN: u32 = 262_144;

/// The `LINKTYPE_*` number written for a link type.
pub fn linktype_number(l: LinkType) -> u32 {
    match l {
        LinkType::Ethernet => 1,
        LinkType::RawIp => 101,
        LinkType::Ipv4 => 228,
        LinkType::Ipv6 => 229,
        LinkType::Null => 0,
        LinkType::Loop => 108,
        LinkType::LinuxSll => 113,
        LinkType::LinuxSll2 => 276,
    }
}

/// The 24-byte header of a little-endian, nanosecond-resolution pcap file.
pub fn file_header(link: LinkType) -> [u8; FILE_HEADER] {
    let mut h = [0u8; FILE_HEADER];
    h[0..4].copy_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // thiszone and sigfigs stay 0.
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&linktype_number(link).to_le_bytes());
    h
}

/// Appends one record (header and bytes) to `out`. Times before 1970 or
/// after 2106 do not fit the format and are clamped to its range.
pub fn push_record(out: &mut Vec<u8>, ts: Timestamp, data: &[u8], orig_len: u32) {
    let data = &data[..data.len().min(SNAPLEN as usize)];
    let (secs, nanos) = if ts.0 < 0 {
        (0, 0)
    } else if ts.secs() > u32::MAX as i64 {
        (u32::MAX, 999_999_999)
    } else {
        (ts.secs() as u32, ts.subsec_nanos())
    };
    out.extend_from_slice(&secs.to_le_bytes());
    out.extend_from_slice(&nanos.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
}

/// Bytes a record takes in the file.
pub fn record_size(caplen: usize) -> u64 {
    (RECORD_HEADER + caplen.min(SNAPLEN as usize)) as u64
}

/// The network-layer bytes of a frame and whether they are IPv6 (`None`
/// for non-IP frames). Ethernet may carry up to two VLAN tags.
fn network(link: LinkType, f: &[u8]) -> Option<&[u8]> {
    let be16 = |at: usize| f.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let by_ethertype = |et: u16, at: usize| match et {
        0x0800 | 0x86dd => f.get(at..),
        _ => None,
    };
    match link {
        LinkType::Ethernet => {
            let mut at = 12;
            let mut et = be16(at)?;
            for _ in 0..2 {
                if matches!(et, 0x8100 | 0x88a8 | 0x9100) {
                    at += 4;
                    et = be16(at)?;
                }
            }
            by_ethertype(et, at + 2)
        }
        LinkType::RawIp | LinkType::Ipv4 | LinkType::Ipv6 => Some(f),
        // The address family is read in both byte orders (the capture's
        // host order is unknown); the IP version nibble decides anyway.
        LinkType::Null | LinkType::Loop => f.get(4..),
        LinkType::LinuxSll => by_ethertype(be16(14)?, 16),
        LinkType::LinuxSll2 => by_ethertype(be16(0)?, 20),
    }
}

/// Source and destination IP of a frame, if it carries IPv4 or IPv6.
pub fn ip_pair(link: LinkType, frame: &[u8]) -> Option<(IpAddr, IpAddr)> {
    let ip = network(link, frame)?;
    match ip.first()? >> 4 {
        4 if ip.len() >= 20 => {
            let a: [u8; 4] = ip[12..16].try_into().ok()?;
            let b: [u8; 4] = ip[16..20].try_into().ok()?;
            Some((Ipv4Addr::from(a).into(), Ipv4Addr::from(b).into()))
        }
        6 if ip.len() >= 40 => {
            let a: [u8; 16] = ip[8..24].try_into().ok()?;
            let b: [u8; 16] = ip[24..40].try_into().ok()?;
            Some((Ipv6Addr::from(a).into(), Ipv6Addr::from(b).into()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut v = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0];
        v.extend_from_slice(&src);
        v.extend_from_slice(&dst);
        v
    }

    #[test]
    fn ip_pair_over_every_link_type() {
        let ip = ipv4([10, 0, 0, 1], [10, 0, 0, 2]);
        let want = Some((IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2])));
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x81, 0, 0, 5, 0x08, 0]);
        eth.extend_from_slice(&ip);
        assert_eq!(ip_pair(LinkType::Ethernet, &eth), want);
        assert_eq!(ip_pair(LinkType::RawIp, &ip), want);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&ip);
        assert_eq!(ip_pair(LinkType::Null, &null), want);
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0]);
        sll.extend_from_slice(&ip);
        assert_eq!(ip_pair(LinkType::LinuxSll, &sll), want);
        let mut sll2 = vec![0x08, 0];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        assert_eq!(ip_pair(LinkType::LinuxSll2, &sll2), want);
        let mut v6 = vec![0x60, 0, 0, 0, 0, 0, 17, 64];
        v6.extend_from_slice(&[0x20; 16]);
        v6.extend_from_slice(&[0x30; 16]);
        let p = ip_pair(LinkType::Ipv6, &v6).unwrap();
        assert_eq!(p.0, IpAddr::from([0x20u8; 16]));
        // ARP, short and empty frames: no pair, no panic.
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        arp.extend_from_slice(&[0; 28]);
        assert_eq!(ip_pair(LinkType::Ethernet, &arp), None);
        for n in 0..eth.len() {
            let _ = ip_pair(LinkType::Ethernet, &eth[..n]);
            let _ = ip_pair(LinkType::LinuxSll2, &sll2[..n.min(sll2.len())]);
        }
        assert_eq!(ip_pair(LinkType::RawIp, &ip[..19]), None);
        assert_eq!(ip_pair(LinkType::RawIp, &[]), None);
    }

    #[test]
    fn record_layout() {
        let h = file_header(LinkType::Ethernet);
        assert_eq!(&h[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes(h[20..24].try_into().unwrap()), 1);
        let mut v = Vec::new();
        push_record(&mut v, Timestamp(1_700_000_000_123_456_789), &[1, 2, 3], 60);
        assert_eq!(v.len() as u64, record_size(3));
        assert_eq!(
            u32::from_le_bytes(v[0..4].try_into().unwrap()),
            1_700_000_000
        );
        assert_eq!(u32::from_le_bytes(v[4..8].try_into().unwrap()), 123_456_789);
        assert_eq!(u32::from_le_bytes(v[8..12].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(v[12..16].try_into().unwrap()), 60);
        let mut v = Vec::new();
        push_record(&mut v, Timestamp(-5), &[], 0);
        assert_eq!(&v[0..8], &[0; 8]);
    }
}
