//! Identity facts that messages carry about devices, for the inventory.
//!
//! A dissector's message type returns an [`Identity`] from
//! [`crate::protocols::ProtoMessage::identity`] when it carries one (Modbus
//! 43/14, S7 SZL, CIP ListIdentity, BACnet I-Am, DCP, LLDP/CDP, SNMP sysDescr,
//! DHCP, HTTP, SMB/NTLMSSP, TLS certificates...). Only the inventory asks, so
//! building one may allocate; the hot path never does.

use std::borrow::Cow;
use std::net::IpAddr;

use otwatch_core::MacAddr;

/// Which device the facts describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The sender of the message (a response, an announcement, a hello).
    Sender,
    /// The receiver of the message (e.g. the server named in a TLS SNI).
    Receiver,
    /// A device named by its MAC address inside the message (DHCP `chaddr`, DCP).
    Mac(MacAddr),
    /// A device named by its IP address inside the message.
    Ip(IpAddr),
}

/// Identity facts about one device. Every field is optional; `source` names
/// the message kind they came from (shown as evidence in the inventory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity<'a> {
    pub subject: Subject,
    /// Evidence label, e.g. `"s7comm SZL 0x0011"`, `"cip ListIdentity"`.
    pub source: &'static str,
    pub vendor: Option<Cow<'a, str>>,
    /// Numeric vendor id of the protocol (CIP, BACnet, Profinet), if any.
    pub vendor_id: Option<u32>,
    /// Product name / model.
    pub model: Option<Cow<'a, str>>,
    /// Order number / product code.
    pub product_code: Option<Cow<'a, str>>,
    pub firmware: Option<Cow<'a, str>>,
    pub hardware: Option<Cow<'a, str>>,
    pub serial: Option<Cow<'a, str>>,
    /// Host / station / system name.
    pub hostname: Option<Cow<'a, str>>,
    pub os: Option<Cow<'a, str>>,
    /// A device-class hint given by the protocol itself (CIP device type,
    /// DHCP vendor class, LLDP capabilities...), free text.
    pub device_class: Option<Cow<'a, str>>,
    /// Rack/slot or module description.
    pub module: Option<Cow<'a, str>>,
    /// An address the device announces for itself (DCP IP suite, LLDP
    /// management address, DHCP assigned address).
    pub ip: Option<IpAddr>,
    /// A user or account name seen with the device (NTLMSSP, FTP, HTTP basic).
    pub user: Option<Cow<'a, str>>,
    pub domain: Option<Cow<'a, str>>,
}

impl<'a> Identity<'a> {
    /// Empty facts about `subject` from `source`; fill the fields that apply.
    pub fn new(subject: Subject, source: &'static str) -> Self {
        Identity {
            subject,
            source,
            vendor: None,
            vendor_id: None,
            model: None,
            product_code: None,
            firmware: None,
            hardware: None,
            serial: None,
            hostname: None,
            os: None,
            device_class: None,
            module: None,
            ip: None,
            user: None,
            domain: None,
        }
    }
}

/// Text from wire bytes: trimmed of NULs and spaces, lossily decoded; `None`
/// when nothing printable is left.
pub fn text(b: &[u8]) -> Option<Cow<'_, str>> {
    let end = b
        .iter()
        .rposition(|&c| c != 0 && c != b' ')
        .map_or(0, |i| i + 1);
    let start = b[..end]
        .iter()
        .position(|&c| c != b' ' && c != 0)
        .unwrap_or(end);
    let b = &b[start..end];
    // Stop at an embedded NUL (fixed-size C strings).
    let b = &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())];
    if b.is_empty() {
        None
    } else {
        Some(String::from_utf8_lossy(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn text_trims() {
        assert_eq!(text(b"  CPU 315\0\0\0").as_deref(), Some("CPU 315"));
        assert_eq!(text(b"\0\0"), None);
        assert_eq!(text(b"ab\0cd").as_deref(), Some("ab"));
    }
}
