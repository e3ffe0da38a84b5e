//! The scenario catalogue.

mod anomaly;
mod bacnet_iec104_fins;
mod demo;
mod dnp3;
mod enip;
mod iso;
mod it_app;
mod it_net;
mod malware;
mod modbus;
mod network;
mod opcua_mqtt_profinet;
mod other_ot;
mod policy;
mod s7;

use std::sync::LazyLock;

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

/// A scenario and the function that builds it.
pub(crate) type Entry = (Scenario, fn(&mut Cap));
/// The scenarios of one protocol family.
pub(crate) type Group = &'static [Entry];

/// The core scenarios (demo, Modbus, DNP3, network irregularities).
const CORE: Group = &[
    (
        Scenario {
            name: "demo",
            description: demo::DESCRIPTION,
        },
        demo::demo,
    ),
    (
        Scenario {
            name: "modbus_polling",
            description: modbus::POLLING,
        },
        modbus::polling,
    ),
    (
        Scenario {
            name: "modbus_writes",
            description: modbus::WRITES,
        },
        modbus::writes,
    ),
    (
        Scenario {
            name: "modbus_exceptions",
            description: modbus::EXCEPTIONS,
        },
        modbus::exceptions,
    ),
    (
        Scenario {
            name: "modbus_malformed",
            description: modbus::MALFORMED,
        },
        modbus::malformed,
    ),
    (
        Scenario {
            name: "modbus_segmented",
            description: modbus::SEGMENTED,
        },
        modbus::segmented,
    ),
    (
        Scenario {
            name: "modbus_midstream",
            description: modbus::MIDSTREAM,
        },
        modbus::midstream,
    ),
    (
        Scenario {
            name: "modbus_udp",
            description: modbus::UDP,
        },
        modbus::udp,
    ),
    (
        Scenario {
            name: "dnp3_polling",
            description: dnp3::POLLING,
        },
        dnp3::polling,
    ),
    (
        Scenario {
            name: "dnp3_control",
            description: dnp3::CONTROL,
        },
        dnp3::control,
    ),
    (
        Scenario {
            name: "dnp3_malformed",
            description: dnp3::MALFORMED,
        },
        dnp3::malformed,
    ),
    (
        Scenario {
            name: "dnp3_udp",
            description: dnp3::UDP,
        },
        dnp3::udp,
    ),
    (
        Scenario {
            name: "net_vlan",
            description: network::VLAN,
        },
        network::vlan,
    ),
    (
        Scenario {
            name: "net_ipv6",
            description: network::IPV6,
        },
        network::ipv6,
    ),
    (
        Scenario {
            name: "net_fragments",
            description: network::FRAGMENTS,
        },
        network::fragments,
    ),
    (
        Scenario {
            name: "net_tcp_anomalies",
            description: network::TCP_ANOMALIES,
        },
        network::tcp_anomalies,
    ),
    (
        Scenario {
            name: "net_bad_checksums",
            description: network::BAD_CHECKSUMS,
        },
        network::bad_checksums,
    ),
];

/// Every group, `CORE` (with `demo`) first. Each protocol family keeps its
/// scenarios in its own module.
const GROUPS: &[Group] = &[
    CORE,
    s7::SCENARIOS,
    iso::SCENARIOS,
    enip::SCENARIOS,
    bacnet_iec104_fins::SCENARIOS,
    opcua_mqtt_profinet::SCENARIOS,
    it_net::SCENARIOS,
    it_app::SCENARIOS,
    other_ot::SCENARIOS,
    anomaly::SCENARIOS,
    policy::SCENARIOS,
    malware::SCENARIOS,
];

/// Every scenario, `demo` first.
pub(crate) static LIST: LazyLock<Vec<Scenario>> =
    LazyLock::new(|| GROUPS.iter().flat_map(|g| g.iter().map(|e| e.0)).collect());

pub(crate) fn generate(name: &str, seed: u64) -> Option<Capture> {
    let build = GROUPS
        .iter()
        .flat_map(|g| g.iter())
        .find(|(s, _)| s.name == name)?
        .1;
    let mut cap = Cap::new(seed, name);
    build(&mut cap);
    Some(cap.finish())
}
