//! The one list of protocol modules. Adding a protocol means adding its module
//! to `lib.rs`, its name to `otwatch_core::Proto`, and one line here:
//!
//! - `messages`: every protocol that reports messages, with its message type
//!   (a type implementing [`ProtoMessage`]). This generates the event
//!   [`Message`] enum and its dispatch.
//! - `sessions`: the protocols that own a TCP/UDP flow, with their module. The
//!   module provides `Session` (`Default + Dissector`), `probe(transport,
//!   data) -> bool` (a strict content check for flows on unregistered ports)
//!   and `PORTS` (the default server ports). This generates the per-flow
//!   [`Session`] enum, the content probe and the default port table.
//!
//! Link-layer protocols (GOOSE, SV, Profinet, LLDP, CDP) have no session: the
//! pipeline hands their frames to [`crate::l2::dispatch`].

use std::fmt::Debug;

use otwatch_core::{Proto, Transport};
use serde::Serialize;

use crate::dissector::{Ctx, Dissector};
use crate::ident::Identity;
use crate::*;

/// What every protocol's message type provides to the generic layers.
pub trait ProtoMessage: Serialize + Copy + Debug {
    /// The code counted per message in summaries and compared with tshark:
    /// the protocol's function, command, service or message type (documented
    /// per protocol in `docs/events.md`).
    fn function_code(&self) -> u16;

    /// Identity facts this message carries about a device (vendor, model,
    /// firmware, name...), for the inventory. Called only by consumers that
    /// want it, so it may allocate.
    fn identity(&self) -> Option<Identity<'_>> {
        None
    }
}

macro_rules! protocols {
    (
        messages { $($mv:ident => $($mp:ident)::+),* $(,)? }
        sessions { $($sv:ident => $sm:ident),* $(,)? }
    ) => {
        /// Application messages, one variant per protocol.
        #[derive(Clone, Copy, Debug)]
        pub enum Message<'a> {
            $($mv($($mp)::+<'a>)),*
        }

        impl<'a> Message<'a> {
            #[inline]
            pub fn proto(&self) -> Proto {
                match self { $(Message::$mv(_) => Proto::$mv),* }
            }

            /// The protocol's function/command code, as counted in reports.
            #[inline]
            pub fn function_code(&self) -> u16 {
                match self { $(Message::$mv(m) => ProtoMessage::function_code(m)),* }
            }

            /// Identity facts carried by the message, if any.
            pub fn identity(&self) -> Option<Identity<'_>> {
                match self { $(Message::$mv(m) => ProtoMessage::identity(m)),* }
            }

            /// Writes the protocol object of the NDJSON record.
            pub(crate) fn serialize_into<M: serde::ser::SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
                let name = self.proto().name();
                match self { $(Message::$mv(x) => m.serialize_entry(name, x)),* }
            }
        }

        /// The per-flow state of whichever dissector owns the flow.
        #[derive(Debug)]
        pub enum Session {
            $($sv(Box<$sm::Session>)),*
        }

        impl Session {
            /// A fresh session for `proto`, if otwatch dissects it over TCP/UDP.
            pub fn new(proto: Proto) -> Option<Session> {
                match proto {
                    $(Proto::$sv => Some(Session::$sv(Box::default())),)*
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }

            /// The flow's protocol: the session's own, or the one it found
            /// inside (a TPKT/COTP session may carry S7comm, S7comm-plus or MMS).
            #[inline]
            pub fn proto(&self) -> Proto {
                match self { $(Session::$sv(s) => s.proto_hint().unwrap_or(Proto::$sv)),* }
            }
        }

        impl Dissector for Session {
            #[inline]
            fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
                match self { $(Session::$sv(s) => s.on_data(data, datagram, cx)),* }
            }
            fn on_gap(&mut self, len: u32, cx: &mut Ctx<'_>) {
                match self { $(Session::$sv(s) => s.on_gap(len, cx)),* }
            }
            fn on_end(&mut self, cx: &mut Ctx<'_>) {
                match self { $(Session::$sv(s) => s.on_end(cx)),* }
            }
            fn proto_hint(&self) -> Option<Proto> {
                Some(self.proto())
            }
        }

        /// Tries every protocol's content probe on the first payload of a flow
        /// that no port matched. Probes run in list order.
        pub fn probe(transport: Transport, data: &[u8]) -> Option<Proto> {
            $(if $sm::probe(transport, data) { return Some(Proto::$sv); })*
            None
        }

        /// Every `(transport, port, protocol)` of the default port table.
        pub fn default_ports() -> impl Iterator<Item = (Transport, u16, Proto)> {
            let all: &[(Proto, &[(Transport, u16)])] = &[$((Proto::$sv, $sm::PORTS)),*];
            all.iter().flat_map(|(p, ports)| ports.iter().map(move |(t, port)| (*t, *port, *p)))
        }
    };
}

protocols! {
    messages {
        Modbus => modbus::Message,
        Umas => umas::Message,
        Dnp3 => dnp3::Message,
        Cotp => cotp::Message,
        S7comm => s7comm::Message,
        S7commPlus => s7comm_plus::Message,
        Enip => enip::Message,
        Bacnet => bacnet::Message,
        Iec104 => iec104::Message,
        Mms => mms::Message,
        Goose => goose::Message,
        Sv => sv::Message,
        Opcua => opcua::Message,
        Mqtt => mqtt::Message,
        Fins => fins::Message,
        ProfinetDcp => profinet_dcp::Message,
        ProfinetRt => profinet_rt::Message,
        ProfinetIo => profinet_io::Message,
        Ads => ads::Message,
        Melsec => melsec::Message,
        Srtp => srtp::Message,
        HartIp => hart_ip::Message,
        C37118 => c37118::Message,
        Fox => fox::Message,
        Tristation => tristation::Message,
        Dhcp => dhcp::Message,
        Dhcpv6 => dhcpv6::Message,
        Dns => dns::Message,
        Nbns => nbns::Message,
        Mdns => dns::Message,
        Llmnr => dns::Message,
        Http => http::Message,
        Tls => tls::Message,
        Ssh => ssh::Message,
        Telnet => telnet::Message,
        Ftp => ftp::Message,
        Smb => smb::Message,
        Snmp => snmp::Message,
        Lldp => lldp::Message,
        Cdp => cdp::Message,
        Ntp => ntp::Message,
        Syslog => syslog::Message,
        Rdp => rdp::Message,
        Vnc => vnc::Message,
        Icmp => icmp::Message,
    }
    sessions {
        Modbus => modbus,
        Dnp3 => dnp3,
        Cotp => cotp,
        Enip => enip,
        Bacnet => bacnet,
        Iec104 => iec104,
        Opcua => opcua,
        Mqtt => mqtt,
        Fins => fins,
        ProfinetIo => profinet_io,
        Ads => ads,
        Melsec => melsec,
        Srtp => srtp,
        HartIp => hart_ip,
        C37118 => c37118,
        Fox => fox,
        Tristation => tristation,
        Dhcp => dhcp,
        Dhcpv6 => dhcpv6,
        Dns => dns,
        Nbns => nbns,
        Mdns => mdns,
        Llmnr => llmnr,
        Http => http,
        Tls => tls,
        Ssh => ssh,
        Telnet => telnet,
        Ftp => ftp,
        Smb => smb,
        Snmp => snmp,
        Ntp => ntp,
        Syslog => syslog,
        Rdp => rdp,
        Vnc => vnc,
        Icmp => icmp,
    }
}
