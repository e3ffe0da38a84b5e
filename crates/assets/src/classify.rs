//! Device type, Purdue level and operating system: a documented rule set
//! (`docs/devices.md`) applied to what the inventory learned about a device.
//!
//! Every rule that matches adds points to one device type and says why; the
//! type with the most points wins, and its points (capped at 95) are the
//! confidence. A device no rule matches is `Unknown` with confidence 0. The
//! Purdue level follows from the type, and from the peers when the type says
//! nothing. Types are the names of the reference's device type list.

use serde::Serialize;

use crate::{AddressKind, Device, Role};
use otwatch_core::Proto;

/// The outcome for one device.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Classification {
    /// One of the reference's device types (`PLC`, `HMI`, `Engineering Station`...).
    pub device_type: &'static str,
    /// 0–95: how strongly the evidence supports the type.
    pub confidence: u8,
    /// The rules that matched, strongest first, e.g. `"s7comm server (+40)"`.
    pub evidence: Vec<String>,
    /// Purdue level guess: 0 (process), 1 (basic control), 2 (supervisory),
    /// 3 (site operations), 4 (enterprise), 5 (internet / external).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purdue_level: Option<u8>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub purdue_evidence: String,
    /// Operating system, from identity (SNMP sysDescr, SSH/HTTP banners, SMB, DHCP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
}

/// The engineering operation a request stands for (program download or
/// upload, controller start/stop, firmware or configuration change), by
/// protocol and the `function_code` of its messages (`docs/events.md`).
pub fn engineering_op(proto: Proto, fc: u16) -> Option<&'static str> {
    Some(match (proto, fc) {
        (Proto::S7comm, 0x1a) => "s7comm request download",
        (Proto::S7comm, 0x1b) => "s7comm download block",
        (Proto::S7comm, 0x1c) => "s7comm download ended",
        (Proto::S7comm, 0x1d) => "s7comm start upload",
        (Proto::S7comm, 0x1e) => "s7comm upload",
        (Proto::S7comm, 0x1f) => "s7comm end upload",
        (Proto::S7comm, 0x28) => "s7comm PLC control",
        (Proto::S7comm, 0x29) => "s7comm PLC stop",
        (Proto::Umas, 0x30..=0x35) => "umas program transfer",
        (Proto::Umas, 0x40) => "umas start PLC",
        (Proto::Umas, 0x41) => "umas stop PLC",
        // MMS confirmed requests (pdu 0): domain download/upload and program invocations.
        (Proto::Mms, 26..=36) => "mms domain transfer",
        (Proto::Mms, 38..=44) => "mms program invocation control",
        (Proto::Fins, 0x0307 | 0x0308) => "fins program area write",
        (Proto::Fins, 0x0401) => "fins run",
        (Proto::Fins, 0x0402) => "fins stop",
        (Proto::Ads, 5) => "ads write control",
        (Proto::Melsec, 0x1001..=0x1006) => "melsec remote run/stop/reset",
        _ => return None,
    })
}

/// Protocols whose server is a controller in the field.
fn controller_proto(p: Proto) -> bool {
    matches!(
        p,
        Proto::Modbus
            | Proto::Umas
            | Proto::Cotp
            | Proto::S7comm
            | Proto::S7commPlus
            | Proto::Enip
            | Proto::Fins
            | Proto::Ads
            | Proto::Melsec
            | Proto::Srtp
            | Proto::Tristation
    )
}

/// Industrial protocols (OT traffic), for the Purdue level of unknown types.
pub fn ot_proto(p: Proto) -> bool {
    controller_proto(p)
        || matches!(
            p,
            Proto::Dnp3
                | Proto::Iec104
                | Proto::Mms
                | Proto::Goose
                | Proto::Sv
                | Proto::Bacnet
                | Proto::Opcua
                | Proto::ProfinetDcp
                | Proto::ProfinetRt
                | Proto::ProfinetIo
                | Proto::HartIp
                | Proto::C37118
                | Proto::Fox
        )
}

struct Scores {
    cands: Vec<(&'static str, u32, String)>,
}

impl Scores {
    fn add(&mut self, ty: &'static str, pts: u32, why: impl Into<String>) {
        self.cands.push((ty, pts, why.into()));
    }
}

fn contains_any(s: &str, needles: &[&str]) -> bool {
    let l = s.to_ascii_lowercase();
    needles.iter().any(|n| l.contains(n))
}

/// Applies the rule set to one device.
pub fn classify(d: &Device) -> Classification {
    let mut s = Scores { cands: Vec::new() };
    match d.kind {
        AddressKind::Multicast | AddressKind::Broadcast => {
            return Classification {
                device_type: "Multicast/Broadcast",
                confidence: 95,
                evidence: vec!["group address".into()],
                ..Default::default()
            };
        }
        AddressKind::Gateway => s.add("Router", 60, "one MAC forwards for several IPs"),
        AddressKind::Unicast => {}
    }
    if let Some(ip) = d.ip
        && is_public(ip)
    {
        s.add("Internet", 50, "public IP address");
    }
    // A subnet-directed broadcast (x.x.x.255) that never sends anything.
    if let Some(std::net::IpAddr::V4(v4)) = d.ip
        && v4.octets()[3] == 255
        && d.packets_sent == 0
        && d.protocols.values().all(|u| u.messages_sent == 0)
    {
        return Classification {
            device_type: "Multicast/Broadcast",
            confidence: 80,
            evidence: vec!["x.x.x.255 address that only receives (subnet broadcast)".into()],
            ..Default::default()
        };
    }

    // Industrial roles.
    for (p, u) in &d.protocols {
        let server = u.roles.contains(&Role::Server);
        let client = u.roles.contains(&Role::Client);
        if controller_proto(*p) && server {
            s.add("PLC", 40, format!("{} server", p.name()));
        }
        if controller_proto(*p) && client && u.peer_count >= 2 {
            s.add(
                "HMI",
                25,
                format!("{} client of {} devices", p.name(), u.peer_count),
            );
        }
        match p {
            Proto::Dnp3 if u.roles.contains(&Role::Outstation) => {
                s.add("RTU", 45, "dnp3 outstation")
            }
            Proto::Dnp3 if u.roles.contains(&Role::Master) => s.add("HMI", 25, "dnp3 master"),
            Proto::Iec104 if server => s.add("RTU", 45, "iec104 controlled station"),
            Proto::Iec104 if client => s.add("HMI", 25, "iec104 controlling station"),
            Proto::Mms if server => s.add("IED", 40, "mms server"),
            Proto::Goose | Proto::Sv if u.messages_sent > 0 => {
                s.add("IED", 45, format!("{} publisher", p.name()))
            }
            Proto::C37118 if u.messages_sent > 0 && server => s.add("IED", 35, "synchrophasor PMU"),
            Proto::Bacnet if server => s.add("HVAC", 35, "bacnet device"),
            Proto::Opcua if server => s.add("Server", 25, "opc ua server"),
            Proto::Opcua if client => s.add("HMI", 15, "opc ua client"),
            Proto::ProfinetRt | Proto::ProfinetDcp if u.messages_sent > 0 => {
                s.add("PLC", 10, format!("{} frames", p.name()))
            }
            Proto::HartIp if server => s.add("Protocol Converter", 35, "hart-ip server"),
            Proto::Fox if server => s.add("DCS Controller", 30, "niagara fox station"),
            Proto::Tristation if server => s.add("PLC", 20, "triconex safety controller"),
            Proto::Ntp if server && u.messages_sent > 0 => s.add("NTP Server", 30, "answers NTP"),
            Proto::Dns if server && u.messages_sent > 0 => s.add("Server", 25, "DNS server"),
            Proto::Dhcp if server && u.messages_sent > 0 => s.add("Server", 25, "DHCP server"),
            Proto::Smb if server => s.add("Server", 20, "SMB server"),
            Proto::Http | Proto::Tls if server => {
                s.add("Server", 10, format!("{} server", p.name()))
            }
            Proto::Ssh | Proto::Rdp | Proto::Vnc if server => {
                s.add("Server", 10, format!("{} server", p.name()))
            }
            Proto::Smb | Proto::Rdp if client => {
                s.add("Workstation", 15, format!("{} client", p.name()))
            }
            _ => {}
        }
    }
    let eng: u64 = d.engineering.values().sum();
    if eng > 0 {
        let ops: Vec<&str> = d.engineering.keys().copied().collect();
        s.add(
            "Engineering Station",
            60,
            format!("sent engineering operations: {}", ops.join(", ")),
        );
    }
    // Well-known server ports.
    for &port in &d.server_ports {
        match port {
            88 | 389 | 636 | 3268 => s.add("Domain Controller", 30, format!("serves port {port}")),
            1433 | 1521 | 3306 | 5432 | 27017 => {
                s.add("DB Server", 35, format!("serves database port {port}"))
            }
            9100 | 515 | 631 => s.add("Printer", 35, format!("serves printing port {port}")),
            554 => s.add("IP Camera", 35, "serves RTSP"),
            _ => {}
        }
    }
    // What the device says about itself.
    if let Some(id) = &d.identity {
        let class = id.device_class.as_deref().unwrap_or("");
        let text = [
            class,
            id.model.as_deref().unwrap_or(""),
            id.product_code.as_deref().unwrap_or(""),
            id.hostname.as_deref().unwrap_or(""),
            id.os.as_deref().unwrap_or(""),
        ]
        .join(" ");
        let rules: &[(&[&str], &'static str, u32)] = &[
            (
                &["programmable logic controller", "cpu ", "cpu-", "plc"],
                "PLC",
                35,
            ),
            (
                &[
                    "communications adapter",
                    "i/o adapter",
                    "et 200",
                    "et200",
                    "adapter",
                ],
                "I/O Adapter",
                35,
            ),
            (
                &["ac drive", "dc drive", "frequency", "powerflex", "sinamics"],
                "Variable Frequency Drive",
                40,
            ),
            (&["servo"], "Servo Drive", 40),
            (&["robot"], "Robot Controller", 40),
            (
                &["relay", "protection", "sel-", "reyrolle", "siprotec", "ied"],
                "IED",
                35,
            ),
            (&["rtu", "remote terminal"], "RTU", 35),
            (&["hmi", "panel", "wincc", "operator"], "HMI", 30),
            (&["historian", "pi server", "osisoft"], "Historian", 40),
            (&["router"], "Router", 35),
            (
                &["switch", "bridge", "scalance", "stratix", "hirschmann"],
                "Switch",
                30,
            ),
            (
                &["access point", "wlan", "wireless"],
                "Wireless Access Point",
                30,
            ),
            (
                &["firewall", "fortigate", "palo alto", "asa"],
                "Firewall",
                35,
            ),
            (&["camera", "axis", "hikvision", "dahua"], "IP Camera", 35),
            (&["printer", "laserjet", "jetdirect"], "Printer", 40),
            (
                &["ups", "uninterruptible"],
                "Uninterruptable Power Supply",
                35,
            ),
            (&["telephone", "ip phone"], "IP Telephone", 35),
            (&["windows server", "server 20"], "Server", 25),
            (&["msft", "windows"], "Workstation", 15),
        ];
        for (needles, ty, pts) in rules {
            if contains_any(&text, needles) {
                s.add(ty, *pts, format!("identity says \"{}\"", text.trim()));
            }
        }
    }
    if s.cands.is_empty()
        && let Some(v) = d.mac_vendor
        && contains_any(
            v,
            &[
                "siemens",
                "schneider",
                "telemecanique",
                "rockwell",
                "allen-bradley",
                "omron",
                "mitsubishi",
                "beckhoff",
                "wago",
                "phoenix contact",
                "b&r",
                "ge intelligent",
                "yokogawa",
                "emerson",
                "abb",
                "honeywell",
                "schweitzer",
            ],
        )
    {
        s.add(
            "Embedded Device",
            15,
            format!("industrial vendor MAC prefix ({v})"),
        );
    }

    // Sum points per type, keep the evidence, pick the best.
    type Total = (&'static str, u32, Vec<(u32, String)>);
    let mut totals: Vec<Total> = Vec::new();
    for (ty, pts, why) in s.cands {
        match totals.iter_mut().find(|t| t.0 == ty) {
            Some(t) => {
                t.1 += pts;
                t.2.push((pts, why));
            }
            None => totals.push((ty, pts, vec![(pts, why)])),
        }
    }
    // An engineering station is also a client of controllers: it wins over HMI.
    // Ties go to the type whose evidence came first (the stronger rules run first).
    let best = totals
        .iter()
        .enumerate()
        .max_by_key(|(i, t)| (t.1, std::cmp::Reverse(*i)))
        .map(|(_, t)| t);
    let mut out = match best {
        Some((ty, pts, why)) => {
            let mut why = why.clone();
            why.sort_by_key(|w| std::cmp::Reverse(w.0));
            Classification {
                device_type: ty,
                confidence: (*pts).min(95) as u8,
                evidence: why
                    .into_iter()
                    .map(|(p, w)| format!("{w} (+{p})"))
                    .collect(),
                ..Default::default()
            }
        }
        None => Classification {
            device_type: "Unknown",
            ..Default::default()
        },
    };
    let (level, why) = purdue(out.device_type, d);
    out.purdue_level = level;
    out.purdue_evidence = why;
    out.os = d.identity.as_ref().and_then(|i| os_name(i.os.as_deref()?));
    out
}

fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v) => {
            !(v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_multicast()
                || v.is_broadcast()
                || v.is_unspecified()
                || v.octets()[0] == 100 && (v.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v) => {
            let s = v.segments()[0];
            (s & 0xe000) == 0x2000
        }
    }
}

/// Purdue level from the device type, else from the protocols it speaks.
fn purdue(ty: &str, d: &Device) -> (Option<u8>, String) {
    let by_type = match ty {
        "I/O Adapter" | "Variable Frequency Drive" | "Servo Drive" | "Pneumatic Device" => Some(0),
        "PLC" | "RTU" | "IED" | "DCS Controller" | "Robot Controller" | "Protocol Converter"
        | "HVAC" | "Embedded Device" => Some(1),
        "HMI" | "Engineering Station" => Some(2),
        "Historian" | "NTP Server" | "Domain Controller" | "DB Server" => Some(3),
        "Workstation" | "Server" | "Printer" | "IP Camera" | "IP Telephone" => Some(4),
        "Internet" => Some(5),
        _ => None,
    };
    if let Some(l) = by_type {
        return (Some(l), format!("device type {ty}"));
    }
    if d.protocols.keys().any(|p| ot_proto(*p)) {
        return (Some(2), "speaks industrial protocols".into());
    }
    (None, String::new())
}

/// Normalizes an OS string to the reference's names where recognisable.
fn os_name(raw: &str) -> Option<String> {
    let l = raw.to_ascii_lowercase();
    let named = [
        ("windows nt 10.0", "Windows 10"),
        ("windows 11", "Windows 11"),
        ("windows 10", "Windows 10"),
        ("server 2019", "Windows Server 2019"),
        ("server 2016", "Windows Server 2016"),
        ("server 2012 r2", "Windows Server 2012 R2"),
        ("server 2012", "Windows Server 2012"),
        ("server 2008 r2", "Windows Server 2008 R2"),
        ("server 2008", "Windows Server 2008"),
        ("server 2003", "Windows Server 2003"),
        ("windows nt 6.3", "Windows 8.1"),
        ("windows nt 6.2", "Windows 8"),
        ("windows nt 6.1", "Windows 7"),
        ("windows 7", "Windows 7"),
        ("windows nt 6.0", "Windows Vista"),
        ("windows nt 5.1", "Windows XP"),
        ("windows xp", "Windows XP"),
        ("windows 2000", "Windows 2000"),
        ("mac os x", "Mac OS X"),
        ("macintosh", "Mac OS X"),
        ("hp-ux", "HP UX"),
        ("linux", "Linux"),
        ("ubuntu", "Linux"),
        ("debian", "Linux"),
        ("red hat", "Linux"),
    ];
    for (k, v) in named {
        if l.contains(k) {
            return Some(v.to_string());
        }
    }
    Some(raw.trim().to_string()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Identity;
    use otwatch_core::Timestamp;
    use std::net::{IpAddr, Ipv4Addr};

    fn dev() -> Device {
        Device::new(
            0,
            AddressKind::Unicast,
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5))),
            0,
            Timestamp(0),
        )
    }

    fn speaks(d: &mut Device, p: Proto, r: Role, peers: usize) {
        let u = d.protocols.entry(p).or_default();
        u.roles.push(r);
        u.peer_count = peers;
        u.messages_sent = 10;
    }

    #[test]
    fn plc_from_server_role_and_identity() {
        let mut d = dev();
        speaks(&mut d, Proto::S7comm, Role::Server, 1);
        d.identity = Some(Identity {
            model: Some("CPU 315-2 PN/DP".into()),
            ..Default::default()
        });
        let c = classify(&d);
        assert_eq!(c.device_type, "PLC");
        assert_eq!(c.confidence, 75);
        assert_eq!(c.purdue_level, Some(1));
        assert!(c.evidence[0].contains("s7comm server"), "{:?}", c.evidence);
    }

    #[test]
    fn engineering_station_beats_hmi() {
        let mut d = dev();
        speaks(&mut d, Proto::S7comm, Role::Client, 3);
        d.engineering.insert("s7comm PLC stop", 1);
        let c = classify(&d);
        assert_eq!(c.device_type, "Engineering Station");
        assert_eq!(c.purdue_level, Some(2));
        let mut h = dev();
        speaks(&mut h, Proto::Modbus, Role::Client, 3);
        assert_eq!(classify(&h).device_type, "HMI");
    }

    #[test]
    fn outstations_ieds_and_unknowns() {
        let mut d = dev();
        speaks(&mut d, Proto::Dnp3, Role::Outstation, 1);
        assert_eq!(classify(&d).device_type, "RTU");
        let mut g = dev();
        speaks(&mut g, Proto::Goose, Role::Client, 1);
        assert_eq!(classify(&g).device_type, "IED");
        let u = classify(&dev());
        assert_eq!(
            (u.device_type, u.confidence, u.purdue_level),
            ("Unknown", 0, None)
        );
    }

    #[test]
    fn lldp_bridge_does_not_make_an_hmi_a_switch() {
        let mut d = dev();
        d.identity = Some(Identity {
            os: Some("Siemens, SIMATIC HMI, KTP700 Basic".into()),
            device_class: Some("bridge,station".into()),
            ..Default::default()
        });
        assert_eq!(classify(&d).device_type, "HMI");
        let mut b = dev();
        b.ip = Some(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 255)));
        speaks(&mut b, Proto::Bacnet, Role::Server, 1);
        b.protocols.get_mut(&Proto::Bacnet).unwrap().messages_sent = 0;
        assert_eq!(classify(&b).device_type, "Multicast/Broadcast");
    }

    #[test]
    fn os_names() {
        assert_eq!(
            os_name("Mozilla/5.0 (Windows NT 10.0; Win64; x64)").as_deref(),
            Some("Windows 10")
        );
        assert_eq!(os_name("OpenSSH_8.9p1 Ubuntu-3").as_deref(), Some("Linux"));
        assert_eq!(os_name("VxWorks 6.9").as_deref(), Some("VxWorks 6.9"));
    }

    #[test]
    fn engineering_table() {
        assert!(engineering_op(Proto::S7comm, 0x29).is_some());
        assert!(engineering_op(Proto::S7comm, 0x04).is_none());
        assert!(engineering_op(Proto::Modbus, 0x29).is_none());
    }
}
