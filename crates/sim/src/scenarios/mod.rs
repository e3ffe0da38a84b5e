//! The scenario catalogue.

mod demo;
mod dnp3;
mod modbus;
mod network;

use crate::builder::Cap;
use crate::{Capture, Scenario};

/// Stations of the simulated plant. OT devices carry their vendor's OUI.
pub(crate) mod hosts {
    use crate::modbus::Identity;
    use crate::net::Host;

    /// Cisco router / OT firewall interface 10.10.1.1 (gateway to the plant IT network).
    pub const ROUTER_MAC: [u8; 6] = [0x00, 0x00, 0x0c, 0x5a, 0x21, 0x01];
    pub const ROUTER: Host = Host::v4(ROUTER_MAC, [10, 10, 1, 1], 255);
    /// HMI / SCADA server (Windows, Dell OUI).
    pub const HMI: Host = Host::v4([0x00, 0x14, 0x22, 0x3a, 0x7c, 0x10], [10, 10, 1, 10], 128);
    /// Schneider Electric Modicon M340.
    pub const PLC_SCHNEIDER: Host =
        Host::v4([0x00, 0x80, 0xf4, 0x1c, 0x52, 0xa1], [10, 10, 1, 21], 64);
    /// Siemens S7-1200 with a Modbus/TCP server block.
    pub const PLC_SIEMENS: Host =
        Host::v4([0x00, 0x0e, 0x8c, 0x8a, 0x31, 0x07], [10, 10, 1, 22], 64);
    /// GE PACSystems RX3i.
    pub const PLC_GE: Host = Host::v4([0x00, 0x09, 0x91, 0x4e, 0x20, 0x33], [10, 10, 1, 23], 64);
    /// Schneider Electric Modicon Momentum (Modbus/UDP).
    pub const PLC_MOMENTUM: Host =
        Host::v4([0x00, 0x80, 0xf4, 0x0a, 0x11, 0x5c], [10, 10, 1, 24], 64);
    /// SEL RTAC, the substation RTU (DNP3 outstation).
    pub const RTU_SEL: Host = Host::v4([0x00, 0x30, 0xa7, 0x0b, 0x6e, 0x42], [10, 10, 1, 30], 64);
    /// Engineering workstation on the plant IT network, seen through the router.
    pub const EWS: Host = Host::v4(
        [0x00, 0x14, 0x22, 0x91, 0x05, 0x50],
        [192, 168, 10, 50],
        128,
    )
    .via_router(ROUTER_MAC);
    /// DNS server on the plant IT network, seen through the router.
    pub const DNS: Host = Host::v4([0x00, 0x14, 0x22, 0x91, 0x05, 0x02], [192, 168, 10, 2], 128)
        .via_router(ROUTER_MAC);
    /// Process historian (Linux) on the plant IT network, seen through the router.
    pub const HISTORIAN: Host =
        Host::v4([0x00, 0x14, 0x22, 0x91, 0x05, 0x20], [192, 168, 10, 20], 64)
            .via_router(ROUTER_MAC);
    /// Rockwell Automation Micro850 (Modbus/TCP server).
    pub const PLC_ROCKWELL: Host =
        Host::v4([0x00, 0x00, 0xbc, 0x3e, 0x8d, 0x19], [10, 10, 10, 31], 64);

    pub const ID_SCHNEIDER: Identity = Identity {
        vendor: "Schneider Electric",
        product_code: "BMX P34 2020",
        revision: "v3.20",
    };
    pub const ID_SIEMENS: Identity = Identity {
        vendor: "Siemens AG",
        product_code: "6ES7 214-1AG40-0XB0",
        revision: "V4.5",
    };
    pub const ID_GE: Identity = Identity {
        vendor: "GE Intelligent Platforms",
        product_code: "IC695CPE305",
        revision: "9.40",
    };
    pub const ID_ROCKWELL: Identity = Identity {
        vendor: "Rockwell Automation",
        product_code: "2080-LC50-24QWB",
        revision: "21.011",
    };

    /// DNP3 link addresses.
    pub const DNP3_MASTER: u16 = 1;
    pub const DNP3_OUTSTATION: u16 = 10;
}

/// Every scenario, `demo` first.
pub(crate) static LIST: &[Scenario] = &[
    Scenario {
        name: "demo",
        description: demo::DESCRIPTION,
    },
    Scenario {
        name: "modbus_polling",
        description: modbus::POLLING,
    },
    Scenario {
        name: "modbus_writes",
        description: modbus::WRITES,
    },
    Scenario {
        name: "modbus_exceptions",
        description: modbus::EXCEPTIONS,
    },
    Scenario {
        name: "modbus_malformed",
        description: modbus::MALFORMED,
    },
    Scenario {
        name: "modbus_segmented",
        description: modbus::SEGMENTED,
    },
    Scenario {
        name: "modbus_midstream",
        description: modbus::MIDSTREAM,
    },
    Scenario {
        name: "modbus_udp",
        description: modbus::UDP,
    },
    Scenario {
        name: "dnp3_polling",
        description: dnp3::POLLING,
    },
    Scenario {
        name: "dnp3_control",
        description: dnp3::CONTROL,
    },
    Scenario {
        name: "dnp3_malformed",
        description: dnp3::MALFORMED,
    },
    Scenario {
        name: "dnp3_udp",
        description: dnp3::UDP,
    },
    Scenario {
        name: "net_vlan",
        description: network::VLAN,
    },
    Scenario {
        name: "net_ipv6",
        description: network::IPV6,
    },
    Scenario {
        name: "net_fragments",
        description: network::FRAGMENTS,
    },
    Scenario {
        name: "net_tcp_anomalies",
        description: network::TCP_ANOMALIES,
    },
    Scenario {
        name: "net_bad_checksums",
        description: network::BAD_CHECKSUMS,
    },
];

pub(crate) fn generate(name: &str, seed: u64) -> Option<Capture> {
    let build: fn(&mut Cap) = match name {
        "demo" => demo::demo,
        "modbus_polling" => modbus::polling,
        "modbus_writes" => modbus::writes,
        "modbus_exceptions" => modbus::exceptions,
        "modbus_malformed" => modbus::malformed,
        "modbus_segmented" => modbus::segmented,
        "modbus_midstream" => modbus::midstream,
        "modbus_udp" => modbus::udp,
        "dnp3_polling" => dnp3::polling,
        "dnp3_control" => dnp3::control,
        "dnp3_malformed" => dnp3::malformed,
        "dnp3_udp" => dnp3::udp,
        "net_vlan" => network::vlan,
        "net_ipv6" => network::ipv6,
        "net_fragments" => network::fragments,
        "net_tcp_anomalies" => network::tcp_anomalies,
        "net_bad_checksums" => network::bad_checksums,
        _ => return None,
    };
    let mut cap = Cap::new(seed, name);
    build(&mut cap);
    Some(cap.finish())
}
