//! The canonical list of application protocols and message kinds.
//!
//! `Proto::name()` is the `proto` value of every NDJSON event record; the list is
//! documented in `docs/events.md` and only grows.

use serde::{Serialize, Serializer};

macro_rules! protos {
    ($($variant:ident => $name:literal, $title:literal;)*) => {
        /// Application protocols that otwatch dissects.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Proto { $($variant),* }

        impl Proto {
            /// Every protocol, in declaration order.
            pub const ALL: &'static [Proto] = &[$(Proto::$variant),*];

            /// Lower-case wire name used in event records (`modbus`, `dnp3`, ...).
            pub fn name(self) -> &'static str {
                match self { $(Proto::$variant => $name),* }
            }

            /// Human-readable name for reports.
            pub fn title(self) -> &'static str {
                match self { $(Proto::$variant => $title),* }
            }

            pub fn from_name(s: &str) -> Option<Proto> {
                match s { $($name => Some(Proto::$variant),)* _ => None }
            }
        }
    };
}

protos! {
    Modbus => "modbus", "Modbus/TCP";
    Umas => "umas", "Schneider UMAS";
    Dnp3 => "dnp3", "DNP3";
    Cotp => "cotp", "ISO transport (TPKT/COTP)";
    S7comm => "s7comm", "Siemens S7comm";
    S7commPlus => "s7comm_plus", "Siemens S7comm-plus";
    Enip => "enip", "EtherNet/IP";
    Bacnet => "bacnet", "BACnet/IP";
    Iec104 => "iec104", "IEC 60870-5-104";
    Mms => "mms", "IEC 61850 MMS";
    Goose => "goose", "IEC 61850 GOOSE";
    Sv => "sv", "IEC 61850 Sampled Values";
    Opcua => "opcua", "OPC UA binary";
    Mqtt => "mqtt", "MQTT";
    Fins => "fins", "Omron FINS";
    ProfinetDcp => "profinet_dcp", "Profinet DCP";
    ProfinetRt => "profinet_rt", "Profinet RT";
    ProfinetIo => "profinet_io", "Profinet IO-CM (DCE/RPC)";
    Ads => "ads", "Beckhoff ADS/AMS";
    Melsec => "melsec", "Mitsubishi MELSEC (SLMP/MC)";
    Srtp => "srtp", "GE SRTP";
    HartIp => "hart_ip", "HART-IP";
    C37118 => "c37118", "IEEE C37.118 synchrophasor";
    Fox => "fox", "Niagara Fox";
    Tristation => "tristation", "Triconex TriStation";
    Arp => "arp", "ARP";
    Dhcp => "dhcp", "DHCP";
    Dhcpv6 => "dhcpv6", "DHCPv6";
    Dns => "dns", "DNS";
    Nbns => "nbns", "NetBIOS name service";
    Mdns => "mdns", "Multicast DNS";
    Llmnr => "llmnr", "LLMNR";
    Http => "http", "HTTP/1.x";
    Tls => "tls", "TLS";
    Ssh => "ssh", "SSH";
    Telnet => "telnet", "Telnet";
    Ftp => "ftp", "FTP";
    Smb => "smb", "SMB";
    Snmp => "snmp", "SNMP";
    Lldp => "lldp", "LLDP";
    Cdp => "cdp", "Cisco Discovery Protocol";
    Ntp => "ntp", "NTP";
    Syslog => "syslog", "Syslog";
    Rdp => "rdp", "RDP";
    Vnc => "vnc", "VNC (RFB)";
    Icmp => "icmp", "ICMP";
}

impl Proto {
    /// Industrial (OT) protocols: controllers, field devices, substation,
    /// building automation and plant-floor protocols. The OT/IT focus rule
    /// and auto subnet learning use it.
    pub fn is_ot(self) -> bool {
        matches!(
            self,
            Proto::Modbus
                | Proto::Umas
                | Proto::Dnp3
                | Proto::Cotp
                | Proto::S7comm
                | Proto::S7commPlus
                | Proto::Enip
                | Proto::Bacnet
                | Proto::Iec104
                | Proto::Mms
                | Proto::Goose
                | Proto::Sv
                | Proto::Opcua
                | Proto::Fins
                | Proto::ProfinetDcp
                | Proto::ProfinetRt
                | Proto::ProfinetIo
                | Proto::Ads
                | Proto::Melsec
                | Proto::Srtp
                | Proto::HartIp
                | Proto::C37118
                | Proto::Fox
                | Proto::Tristation
        )
    }
}

impl Serialize for Proto {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether an application message asks, answers, or does neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MsgKind {
    Request,
    Response,
    Other,
}

impl MsgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MsgKind::Request => "request",
            MsgKind::Response => "response",
            MsgKind::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn names_round_trip() {
        for p in Proto::ALL {
            assert_eq!(Proto::from_name(p.name()), Some(*p));
            assert_eq!(p.name(), p.name().to_ascii_lowercase());
        }
    }
}
