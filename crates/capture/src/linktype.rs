//! Link-layer header types (the `LINKTYPE_*` registry) that otwatch decodes.

/// Link types the decoder understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_RAW (101, and the historical DLT 12/14): a bare IPv4 or IPv6 packet.
    RawIp,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_NULL (0): 4-byte address family in host byte order.
    Null,
    /// LINKTYPE_LOOP (108): 4-byte address family in network byte order.
    Loop,
    /// LINKTYPE_LINUX_SLL (113).
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276).
    LinuxSll2,
}

impl LinkType {
    /// Maps a `LINKTYPE_*` number; `None` for types otwatch does not decode.
    pub fn from_linktype(v: i32) -> Option<LinkType> {
        Some(match v {
            1 => LinkType::Ethernet,
            101 | 12 | 14 => LinkType::RawIp,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// Name of a `LINKTYPE_*` number, for messages.
    pub fn name_of(v: i32) -> &'static str {
        match v {
            0 => "NULL",
            1 => "ETHERNET",
            6 => "IEEE802_5",
            9 => "PPP",
            101 => "RAW",
            105 => "IEEE802_11",
            108 => "LOOP",
            113 => "LINUX_SLL",
            127 => "IEEE802_11_RADIOTAP",
            147..=162 => "USER",
            187 => "BLUETOOTH_HCI_H4",
            192 => "PPI",
            220 => "USB_LINUX_MMAPPED",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => "unknown",
        }
    }
}
