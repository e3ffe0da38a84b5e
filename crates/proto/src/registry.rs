//! Which dissector runs on which flow, and dispatch to it.
//!
//! A flow gets a protocol by its server port (the [`Registry`] table), or, when
//! no port matches, by probing the first payloads against each protocol's
//! `probe` function (see [`crate::protocols`]). Each protocol module declares
//! its default ports in `PORTS`; the table can be changed per deployment.

use otwatch_core::{Proto, Transport};

/// Port table: which protocol a TCP or UDP server port carries.
#[derive(Clone)]
pub struct Registry {
    tcp: Box<[u8; 65536]>,
    udp: Box<[u8; 65536]>,
}

const NONE: u8 = u8::MAX;

impl Default for Registry {
    /// The IANA-registered ports of every dissector.
    fn default() -> Self {
        let mut r = Registry::empty();
        for (t, port, p) in crate::protocols::default_ports() {
            r.set(t, port, p);
        }
        r
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self
            .tcp
            .iter()
            .chain(self.udp.iter())
            .filter(|&&b| b != NONE)
            .count();
        write!(f, "Registry({n} ports)")
    }
}

impl Registry {
    /// A table with no ports (only probing assigns protocols).
    pub fn empty() -> Self {
        Registry {
            tcp: Box::new([NONE; 65536]),
            udp: Box::new([NONE; 65536]),
        }
    }

    /// Assigns `port` on `transport` to `proto` (TCP and UDP only).
    pub fn set(&mut self, transport: Transport, port: u16, proto: Proto) {
        let idx = Proto::ALL
            .iter()
            .position(|p| *p == proto)
            .unwrap_or(NONE as usize) as u8;
        match transport {
            Transport::Tcp => self.tcp[port as usize] = idx,
            Transport::Udp => self.udp[port as usize] = idx,
            _ => {}
        }
    }

    /// The protocol registered on `port`, if any.
    #[inline]
    pub fn lookup(&self, transport: Transport, port: u16) -> Option<Proto> {
        let idx = match transport {
            Transport::Tcp => self.tcp[port as usize],
            Transport::Udp => self.udp[port as usize],
            _ => NONE,
        };
        Proto::ALL.get(idx as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn default_ports() {
        let r = Registry::default();
        assert_eq!(r.lookup(Transport::Tcp, 502), Some(Proto::Modbus));
        assert_eq!(r.lookup(Transport::Udp, 20000), Some(Proto::Dnp3));
        assert_eq!(r.lookup(Transport::Tcp, 102), Some(Proto::Cotp));
        assert_eq!(r.lookup(Transport::Tcp, 9), None);
        // Every declared port lands in the table, and no port is claimed twice.
        let mut seen = std::collections::HashSet::new();
        for (t, port, p) in crate::protocols::default_ports() {
            assert!(seen.insert((t, port)), "{t:?}/{port} claimed twice");
            assert_eq!(r.lookup(t, port), Some(p));
        }
        assert_eq!(r.lookup(Transport::L2, 502), None);
    }
}
