//! LLDP (IEEE 802.1AB): pure, zero-copy parsing of one LLDPDU (the frame
//! payload after EtherType 0x88CC).

use crate::wire::Cursor;

/// Why an LLDPDU could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A TLV's length runs past the end of the frame.
    TlvTruncated { tlv_type: u8, len: u16, left: usize },
    /// One of the mandatory first TLVs (chassis id, port id, TTL) is missing
    /// or out of order: the type expected and the type seen.
    MissingMandatory { expected: u8, seen: u8 },
    /// A TLV with a length its definition does not allow.
    BadTlvLength { tlv_type: u8, len: u16 },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::TlvTruncated { .. } => "tlv_truncated",
            Error::MissingMandatory { .. } => "missing_mandatory_tlv",
            Error::BadTlvLength { .. } => "bad_tlv_length",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::TlvTruncated {
                tlv_type,
                len,
                left,
            } => write!(f, "TLV type {tlv_type} announces {len} bytes, {left} left"),
            Error::MissingMandatory { expected, seen } => {
                write!(
                    f,
                    "expected mandatory TLV type {expected}, found type {seen}"
                )
            }
            Error::BadTlvLength { tlv_type, len } => {
                write!(f, "TLV type {tlv_type} has invalid length {len}")
            }
        }
    }
}

/// A parsed LLDPDU.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lldp<'a> {
    pub chassis_subtype: u8,
    pub chassis_id: &'a [u8],
    pub port_subtype: u8,
    pub port_id: &'a [u8],
    pub ttl: u16,
    pub port_desc: Option<&'a [u8]>,
    pub sys_name: Option<&'a [u8]>,
    pub sys_desc: Option<&'a [u8]>,
    pub caps_supported: u16,
    pub caps_enabled: u16,
    /// Management address: IANA address family and bytes.
    pub mgmt_addr: Option<(u8, &'a [u8])>,
    pub mgmt_if: u32,
    /// All TLVs (for walking organisationally specific TLVs again).
    pub tlvs: &'a [u8],
    pub tlv_count: u16,
    pub org_count: u16,
}

/// Iterator over `(type, value)` TLVs; stops at End or at a bad TLV.
#[derive(Clone, Copy, Debug)]
pub struct Tlvs<'a>(Cursor<'a>);

impl<'a> Tlvs<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Tlvs(Cursor::new(b))
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<(u8, &'a [u8]), Error>;
    fn next(&mut self) -> Option<Self::Item> {
        let h = self.0.be16()?;
        let (t, len) = ((h >> 9) as u8, h & 0x1ff);
        if t == 0 {
            return None;
        }
        let left = self.0.remaining();
        match self.0.take(len as usize) {
            Some(v) => Some(Ok((t, v))),
            None => {
                self.0 = Cursor::new(&[]);
                Some(Err(Error::TlvTruncated {
                    tlv_type: t,
                    len,
                    left,
                }))
            }
        }
    }
}

/// Parses one LLDPDU. When the mandatory TLVs are sound but a later TLV is
/// not, the message comes with the error.
pub fn parse(b: &[u8]) -> (Option<Lldp<'_>>, Option<Error>) {
    let mut l = Lldp {
        tlvs: b,
        ..Lldp::default()
    };
    let mut it = Tlvs::new(b);
    for expected in 1..=3u8 {
        let (t, v) = match it.next() {
            Some(Ok(x)) => x,
            Some(Err(e)) => return (None, Some(e)),
            None => {
                return (None, Some(Error::MissingMandatory { expected, seen: 0 }));
            }
        };
        if t != expected {
            return (None, Some(Error::MissingMandatory { expected, seen: t }));
        }
        let bad = Some(Error::BadTlvLength {
            tlv_type: t,
            len: v.len() as u16,
        });
        match (t, v) {
            (1, [st, id @ ..]) if !id.is_empty() => {
                l.chassis_subtype = *st;
                l.chassis_id = id;
            }
            (2, [st, id @ ..]) if !id.is_empty() => {
                l.port_subtype = *st;
                l.port_id = id;
            }
            (3, [a, b, ..]) => l.ttl = u16::from_be_bytes([*a, *b]),
            _ => return (None, bad),
        }
    }
    l.tlv_count = 3;
    for r in it {
        let (t, v) = match r {
            Ok(x) => x,
            Err(e) => return (Some(l), Some(e)),
        };
        l.tlv_count = l.tlv_count.saturating_add(1);
        let bad = Some(Error::BadTlvLength {
            tlv_type: t,
            len: v.len() as u16,
        });
        match t {
            4 => l.port_desc = Some(v),
            5 => l.sys_name = Some(v),
            6 => l.sys_desc = Some(v),
            7 => match v {
                [a, b, c, d] => {
                    l.caps_supported = u16::from_be_bytes([*a, *b]);
                    l.caps_enabled = u16::from_be_bytes([*c, *d]);
                }
                _ => return (Some(l), bad),
            },
            8 => {
                let mut c = Cursor::new(v);
                let parsed = (|| {
                    let n = c.u8()? as usize;
                    let fam = c.u8()?;
                    let a = c.take(n.checked_sub(1)?)?;
                    let _if_sub = c.u8()?;
                    let ifn = c.be32()?;
                    Some((fam, a, ifn))
                })();
                match parsed {
                    Some((fam, a, ifn)) => {
                        if l.mgmt_addr.is_none() {
                            l.mgmt_addr = Some((fam, a));
                            l.mgmt_if = ifn;
                        }
                    }
                    None => return (Some(l), bad),
                }
            }
            127 => {
                if v.len() < 4 {
                    return (Some(l), bad);
                }
                l.org_count = l.org_count.saturating_add(1);
            }
            _ => {}
        }
    }
    (Some(l), None)
}

/// Names of the capability bits (IEEE 802.1AB table 8-4).
pub const CAPS: [&str; 11] = [
    "other",
    "repeater",
    "bridge",
    "wlan_ap",
    "router",
    "telephone",
    "docsis",
    "station",
    "cvlan",
    "svlan",
    "tpmr",
];

/// Comma-separated capability names of a bit set.
pub fn caps_text(bits: u16) -> String {
    let mut s = String::new();
    for (i, n) in CAPS.iter().enumerate() {
        if bits & (1 << i) != 0 {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(n);
        }
    }
    s
}

/// Name of an organisationally specific TLV.
pub fn org_name(oui: [u8; 3], sub: u8) -> &'static str {
    match (oui, sub) {
        ([0x00, 0x80, 0xc2], 1) => "ieee802.1 port vlan id",
        ([0x00, 0x80, 0xc2], 2) => "ieee802.1 port and protocol vlan id",
        ([0x00, 0x80, 0xc2], 3) => "ieee802.1 vlan name",
        ([0x00, 0x80, 0xc2], 4) => "ieee802.1 protocol identity",
        ([0x00, 0x80, 0xc2], _) => "ieee802.1",
        ([0x00, 0x12, 0x0f], 1) => "ieee802.3 mac/phy configuration",
        ([0x00, 0x12, 0x0f], 2) => "ieee802.3 power via mdi",
        ([0x00, 0x12, 0x0f], 3) => "ieee802.3 link aggregation",
        ([0x00, 0x12, 0x0f], 4) => "ieee802.3 maximum frame size",
        ([0x00, 0x12, 0x0f], _) => "ieee802.3",
        ([0x00, 0x0e, 0xcf], 1) => "profinet measured delay",
        ([0x00, 0x0e, 0xcf], 2) => "profinet port status",
        ([0x00, 0x0e, 0xcf], 3) => "profinet alias",
        ([0x00, 0x0e, 0xcf], 4) => "profinet mrp port status",
        ([0x00, 0x0e, 0xcf], 5) => "profinet chassis mac",
        ([0x00, 0x0e, 0xcf], 6) => "profinet ptcp status",
        ([0x00, 0x0e, 0xcf], _) => "profinet",
        ([0x00, 0x12, 0xbb], _) => "tia med",
        ([0x00, 0x01, 0x42], _) => "cisco",
        _ => "unknown",
    }
}
