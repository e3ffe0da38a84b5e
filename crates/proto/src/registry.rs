//! Which dissector runs on which flow, and dispatch to it.
//!
//! A flow gets a protocol by its server port (the [`Registry`] table), or, when
//! no port matches, by probing the first payloads against each protocol's
//! `probe` function. Adding a protocol means adding one line to `sessions!`
//! and its default ports to [`Registry::default`].

use otwatch_core::{Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::{dnp3, modbus};

macro_rules! sessions {
    ($($variant:ident => $module:ident),* $(,)?) => {
        /// The per-flow state of whichever dissector owns the flow.
        #[derive(Debug)]
        pub enum Session {
            $($variant(Box<$module::Session>)),*
        }

        impl Session {
            /// A fresh session for `proto`, if otwatch dissects it over TCP/UDP.
            pub fn new(proto: Proto) -> Option<Session> {
                match proto {
                    $(Proto::$variant => Some(Session::$variant(Box::default())),)*
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }

            pub fn proto(&self) -> Proto {
                match self { $(Session::$variant(_) => Proto::$variant),* }
            }
        }

        impl Dissector for Session {
            #[inline]
            fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
                match self { $(Session::$variant(s) => s.on_data(data, datagram, cx)),* }
            }
            fn on_gap(&mut self, len: u32, cx: &mut Ctx<'_>) {
                match self { $(Session::$variant(s) => s.on_gap(len, cx)),* }
            }
            fn on_end(&mut self, cx: &mut Ctx<'_>) {
                match self { $(Session::$variant(s) => s.on_end(cx)),* }
            }
        }

        /// Tries every protocol's content probe on the first payload of a flow
        /// that no port matched.
        pub fn probe(transport: Transport, data: &[u8]) -> Option<Proto> {
            $(if $module::probe(transport, data) { return Some(Proto::$variant); })*
            None
        }
    };
}

sessions! {
    Modbus => modbus,
    Dnp3 => dnp3,
}

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
        r.set(Transport::Tcp, 502, Proto::Modbus);
        r.set(Transport::Udp, 502, Proto::Modbus);
        r.set(Transport::Tcp, 20000, Proto::Dnp3);
        r.set(Transport::Udp, 20000, Proto::Dnp3);
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
        assert_eq!(r.lookup(Transport::Tcp, 80), None);
        assert_eq!(r.lookup(Transport::L2, 502), None);
    }
}
