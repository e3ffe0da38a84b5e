//! Link-layer addresses.

use serde::{Serialize, Serializer};

/// An IEEE 802 MAC address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const ZERO: MacAddr = MacAddr([0; 6]);
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    pub fn from_slice(b: &[u8]) -> Option<MacAddr> {
        b.get(..6).map(|s| {
            let mut m = [0u8; 6];
            m.copy_from_slice(s);
            MacAddr(m)
        })
    }

    /// Group (multicast or broadcast) address: the I/G bit is set.
    pub fn is_group(&self) -> bool {
        self.0[0] & 1 == 1
    }

    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Locally administered (U/L bit set): no vendor can be looked up for it.
    pub fn is_local(&self) -> bool {
        self.0[0] & 2 == 2
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }
}

impl std::fmt::Display for MacAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn display_and_flags() {
        let m = MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]);
        assert_eq!(m.to_string(), "01:00:5e:00:00:01");
        assert!(m.is_group());
        assert!(!MacAddr([0x00, 0x0e, 0x8c, 1, 2, 3]).is_group());
        assert!(MacAddr::BROADCAST.is_broadcast());
        assert!(MacAddr([0x02, 0, 0, 0, 0, 1]).is_local());
        assert_eq!(MacAddr::from_slice(&[1, 2, 3]), None);
    }
}
