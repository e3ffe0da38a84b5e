//! Cisco Discovery Protocol: pure, zero-copy parsing of one CDP packet (the
//! bytes after the LLC/SNAP header, OUI 00000c PID 0x2000).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::Cursor;

/// Why a packet could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer than the 4 header bytes.
    ShortHeader(usize),
    /// Version other than 1 or 2.
    BadVersion(u8),
    /// A TLV whose length is below 4 or runs past the end.
    BadTlv {
        tlv_type: u16,
        len: u16,
        left: usize,
    },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::ShortHeader(_) => "short_header",
            Error::BadVersion(_) => "bad_version",
            Error::BadTlv { .. } => "bad_tlv",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::ShortHeader(n) => write!(f, "packet of {n} bytes, the header needs 4"),
            Error::BadVersion(v) => write!(f, "version {v}, expected 1 or 2"),
            Error::BadTlv {
                tlv_type,
                len,
                left,
            } => write!(
                f,
                "TLV type 0x{tlv_type:04x} with length {len} ({left} bytes left, minimum 4)"
            ),
        }
    }
}

/// A parsed CDP packet.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cdp<'a> {
    pub version: u8,
    pub ttl: u8,
    pub checksum: u16,
    pub device_id: Option<&'a [u8]>,
    /// Contents of the Addresses TLV (count + entries).
    pub addresses: Option<&'a [u8]>,
    pub port_id: Option<&'a [u8]>,
    pub capabilities: Option<u32>,
    pub software: Option<&'a [u8]>,
    pub platform: Option<&'a [u8]>,
    pub vtp_domain: Option<&'a [u8]>,
    pub native_vlan: Option<u16>,
    pub duplex: Option<u8>,
    pub mgmt_addresses: Option<&'a [u8]>,
    pub tlv_count: u16,
}

/// Parses one packet; when the header is sound but a TLV is not, the packet
/// (with the TLVs before) comes with the error.
pub fn parse(b: &[u8]) -> (Option<Cdp<'_>>, Option<Error>) {
    let mut c = Cursor::new(b);
    let (Some(version), Some(ttl), Some(checksum)) = (c.u8(), c.u8(), c.be16()) else {
        return (None, Some(Error::ShortHeader(b.len())));
    };
    if !(1..=2).contains(&version) {
        return (None, Some(Error::BadVersion(version)));
    }
    let mut p = Cdp {
        version,
        ttl,
        checksum,
        ..Cdp::default()
    };
    while c.remaining() > 0 {
        let left = c.remaining();
        let (Some(t), Some(len)) = (c.be16(), c.be16()) else {
            return (
                Some(p),
                Some(Error::BadTlv {
                    tlv_type: 0,
                    len: 0,
                    left,
                }),
            );
        };
        let Some(v) = (len as usize).checked_sub(4).and_then(|n| c.take(n)) else {
            return (
                Some(p),
                Some(Error::BadTlv {
                    tlv_type: t,
                    len,
                    left,
                }),
            );
        };
        p.tlv_count = p.tlv_count.saturating_add(1);
        match t {
            1 => p.device_id = Some(v),
            2 => p.addresses = Some(v),
            3 => p.port_id = Some(v),
            4 => p.capabilities = v.try_into().ok().map(u32::from_be_bytes),
            5 => p.software = Some(v),
            6 => p.platform = Some(v),
            9 => p.vtp_domain = Some(v),
            0x0a => p.native_vlan = v.try_into().ok().map(u16::from_be_bytes),
            0x0b => p.duplex = v.first().copied(),
            0x16 => p.mgmt_addresses = Some(v),
            _ => {}
        }
    }
    (Some(p), None)
}

/// The IP addresses of an Addresses TLV value (at most `max`).
pub fn addresses(v: &[u8], max: usize) -> impl Iterator<Item = IpAddr> + '_ {
    let mut c = Cursor::new(v);
    let n = c.be32().unwrap_or(0).min(max as u32);
    (0..n)
        .map_while(move |_| {
            let _pt = c.u8()?;
            let pl = c.u8()?;
            let proto = c.take(pl as usize)?;
            let al = c.be16()?;
            let a = c.take(al as usize)?;
            Some((proto, a))
        })
        .filter_map(|(proto, a)| match (proto, a.len()) {
            ([0xcc], 4) => Some(IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))),
            ([.., 0x86, 0xdd], 16) => {
                let mut x = [0u8; 16];
                x.copy_from_slice(a);
                Some(IpAddr::V6(Ipv6Addr::from(x)))
            }
            _ => None,
        })
}

/// Capability bit names.
pub fn caps_text(bits: u32) -> String {
    const N: [&str; 10] = [
        "router",
        "transparent_bridge",
        "source_route_bridge",
        "switch",
        "host",
        "igmp",
        "repeater",
        "voip_phone",
        "remotely_managed",
        "cvta",
    ];
    let mut s = String::new();
    for (i, n) in N.iter().enumerate() {
        if bits & (1 << i) != 0 {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(n);
        }
    }
    s
}
