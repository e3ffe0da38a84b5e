//! Passive asset discovery: the device inventory built from the event stream.
//!
//! [`Inventory`] is an [`EventSink`]. It learns devices from flows (both ends),
//! ARP (MAC↔IP bindings), and application messages (which protocols a device
//! speaks and in which role), and takes identity from identity-bearing
//! messages (Modbus 43/14 Read Device Identification for now). Vendors come
//! from the IEEE registries (MA-L, MA-M, MA-S, IAB, CID) via the `oui-data`
//! crate, looked up when the inventory is reported, not per packet.
//!
//! Consolidation: a unicast IP address is one device. The MAC seen with it is
//! attached unless the same MAC fronts many IPs (a router or firewall seen
//! from the capture point): such a MAC becomes its own "gateway" device and is
//! not attributed to the remote IPs. Multicast and broadcast destinations are
//! pseudo-devices so that they can be reasoned about like any peer.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hashbrown::HashMap;
use otwatch_core::{Direction, FlowInfo, MacAddr, MsgKind, Proto, Timestamp, Transport};
use otwatch_proto::event::{AppEvent, ArpEvent, Event, EventSink};
use otwatch_proto::ident::{Identity as ProtoIdentity, Subject};
use serde::Serialize;

pub mod classify;

/// A MAC used by more IPs than this is treated as a gateway's.
const GATEWAY_IPS: usize = 3;
/// Identity changes remembered per device.
const MAX_HISTORY: usize = 32;
/// Peers remembered per device and protocol.
const MAX_PEERS: usize = 64;
/// Entries of the small per-device lists (modules, sources, users).
const MAX_LIST: usize = 16;

/// What kind of address a device record stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    Unicast,
    Multicast,
    Broadcast,
    /// A MAC that forwards traffic for several IPs (router, firewall, L3 switch).
    Gateway,
}

/// Role of a device in one protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    Server,
    Master,
    Outstation,
}

fn roles_for(proto: Proto) -> (Role, Role) {
    match proto {
        Proto::Dnp3 => (Role::Master, Role::Outstation),
        _ => (Role::Client, Role::Server),
    }
}

/// Identity read from the device itself, merged from every message that
/// carried some (see `otwatch_proto::Identity`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    /// Firmware / software version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// What the device says it is (CIP device type, LLDP capabilities, DHCP vendor class...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_class: Option<String>,
    /// Modules (rack/slot, module type) reported by the device or its peers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
    /// Every message kind that contributed, e.g. `modbus 43/14 device identification`.
    pub sources: Vec<&'static str>,
}

/// One identity change.
#[derive(Clone, Debug, Serialize)]
pub struct IdentityChange {
    pub ts: Timestamp,
    pub identity: Identity,
}

/// Per-protocol facts about a device.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProtoUse {
    pub roles: Vec<Role>,
    /// Distinct peers (device ids) talked to with this protocol (capped at 64).
    #[serde(skip)]
    pub peers: Vec<u32>,
    /// Number of distinct peers (capped at 64).
    pub peer_count: usize,
    pub messages_sent: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// A device of the inventory.
#[derive(Clone, Debug, Serialize)]
pub struct Device {
    pub id: u32,
    pub kind: AddressKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// Organization the MAC's prefix is registered to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_vendor: Option<&'static str>,
    pub vlan: u32,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub protocols: BTreeMap<Proto, ProtoUse>,
    /// TCP/UDP ports this device answered on.
    pub server_ports: Vec<u16>,
    pub flows: u64,
    pub packets_sent: u64,
    pub bytes_sent: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identity_history: Vec<IdentityChange>,
    /// Accounts seen logging in from or to the device (NTLMSSP, FTP, HTTP basic...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Engineering operations sent by this device (program download/upload,
    /// start/stop...), per protocol function name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub engineering: BTreeMap<&'static str, u64>,
    /// Device type, Purdue level and OS, with the evidence (filled by [`Inventory::devices`]).
    pub class: classify::Classification,
    /// MACs seen with this IP, when more than one (failover, spoofing, NIC swap).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_macs: Vec<MacAddr>,
}

impl Device {
    fn new(id: u32, kind: AddressKind, ip: Option<IpAddr>, vlan: u32, ts: Timestamp) -> Self {
        Device {
            id,
            kind,
            ip,
            mac: None,
            mac_vendor: None,
            vlan,
            first_seen: ts,
            last_seen: ts,
            protocols: BTreeMap::new(),
            server_ports: Vec::new(),
            flows: 0,
            packets_sent: 0,
            bytes_sent: 0,
            identity: None,
            identity_history: Vec::new(),
            users: Vec::new(),
            engineering: BTreeMap::new(),
            class: classify::Classification::default(),
            other_macs: Vec::new(),
        }
    }

    /// Takes over what `other` (the same device seen by MAC only) learned.
    fn absorb(&mut self, other: Device) {
        self.seen(other.first_seen);
        self.seen(other.last_seen);
        for (p, u) in other.protocols {
            let e = self.protocols.entry(p).or_insert_with(|| ProtoUse {
                first_seen: u.first_seen,
                last_seen: u.last_seen,
                ..Default::default()
            });
            for r in u.roles {
                if !e.roles.contains(&r) {
                    e.roles.push(r);
                }
            }
            e.roles.sort();
            for peer in u.peers {
                if e.peers.len() < MAX_PEERS && !e.peers.contains(&peer) {
                    e.peers.push(peer);
                }
            }
            e.peer_count = e.peers.len();
            e.messages_sent += u.messages_sent;
            e.first_seen = e.first_seen.min(u.first_seen);
            e.last_seen = e.last_seen.max(u.last_seen);
        }
        match (&mut self.identity, other.identity) {
            (None, o) => self.identity = o,
            (Some(mine), Some(o)) => {
                let fill = |a: &mut Option<String>, b: Option<String>| {
                    if a.is_none() {
                        *a = b;
                    }
                };
                fill(&mut mine.vendor, o.vendor);
                fill(&mut mine.model, o.model);
                fill(&mut mine.product_code, o.product_code);
                fill(&mut mine.firmware, o.firmware);
                fill(&mut mine.hardware, o.hardware);
                fill(&mut mine.serial, o.serial);
                fill(&mut mine.hostname, o.hostname);
                fill(&mut mine.os, o.os);
                fill(&mut mine.device_class, o.device_class);
                mine.vendor_id = mine.vendor_id.or(o.vendor_id);
                for m in o.modules {
                    if mine.modules.len() < MAX_LIST && !mine.modules.contains(&m) {
                        mine.modules.push(m);
                    }
                }
                for s in o.sources {
                    if mine.sources.len() < MAX_LIST && !mine.sources.contains(&s) {
                        mine.sources.push(s);
                    }
                }
            }
            (Some(_), None) => {}
        }
        self.identity_history.extend(other.identity_history);
        self.identity_history.sort_by_key(|h| h.ts);
        if self.identity_history.len() > MAX_HISTORY {
            let extra = self.identity_history.len() - MAX_HISTORY;
            self.identity_history.drain(..extra);
        }
        for u in other.users {
            if self.users.len() < MAX_LIST && !self.users.contains(&u) {
                self.users.push(u);
            }
        }
        for (k, v) in other.engineering {
            *self.engineering.entry(k).or_default() += v;
        }
    }

    fn seen(&mut self, ts: Timestamp) {
        if ts < self.first_seen {
            self.first_seen = ts;
        }
        if ts > self.last_seen {
            self.last_seen = ts;
        }
    }
}

fn ip_kind(ip: IpAddr) -> AddressKind {
    match ip {
        IpAddr::V4(v4) if v4.is_broadcast() => AddressKind::Broadcast,
        IpAddr::V4(v4) if v4.is_multicast() => AddressKind::Multicast,
        IpAddr::V6(v6) if v6.is_multicast() => AddressKind::Multicast,
        _ => AddressKind::Unicast,
    }
}

/// The device inventory.
#[derive(Debug, Default)]
pub struct Inventory {
    devices: Vec<Device>,
    by_ip: HashMap<IpAddr, u32>,
    /// Per MAC, the unicast IPs it was the link-layer source for (capped).
    mac_ips: HashMap<MacAddr, Vec<IpAddr>>,
    /// Devices known only by MAC (link-layer protocols), until an IP binds.
    by_mac: HashMap<MacAddr, u32>,
}

impl Inventory {
    pub fn new() -> Self {
        Self::default()
    }

    fn device_for_ip(&mut self, ip: IpAddr, vlan: u32, ts: Timestamp) -> u32 {
        if let Some(&id) = self.by_ip.get(&ip) {
            return id;
        }
        let id = self.devices.len() as u32;
        self.devices
            .push(Device::new(id, ip_kind(ip), Some(ip), vlan, ts));
        self.by_ip.insert(ip, id);
        id
    }

    fn bind_mac(&mut self, id: u32, mac: MacAddr) {
        if mac.is_zero() || mac.is_group() {
            return;
        }
        let d = &mut self.devices[id as usize];
        if d.kind != AddressKind::Unicast {
            return;
        }
        match d.mac {
            None => d.mac = Some(mac),
            Some(m) if m != mac && !d.other_macs.contains(&mac) && d.other_macs.len() < 8 => {
                d.other_macs.push(mac);
            }
            _ => {}
        }
        if let Some(ip) = d.ip {
            let ips = self.mac_ips.entry(mac).or_default();
            if !ips.contains(&ip) && ips.len() <= GATEWAY_IPS {
                ips.push(ip);
            }
        }
    }

    fn flow_start(&mut self, f: &FlowInfo) {
        let ts = f.first_seen;
        let c = self.device_for_ip(f.client.ip, f.vlan, ts);
        let s = self.device_for_ip(f.server.ip, f.vlan, ts);
        self.devices[c as usize].seen(ts);
        self.devices[s as usize].seen(ts);
        self.bind_mac(c, f.client.mac);
        self.bind_mac(s, f.server.mac);
    }

    fn flow_end(&mut self, f: &FlowInfo) {
        let c = self.device_for_ip(f.client.ip, f.vlan, f.first_seen);
        let s = self.device_for_ip(f.server.ip, f.vlan, f.first_seen);
        for (id, dir) in [(c, Direction::ToServer), (s, Direction::ToClient)] {
            let d = &mut self.devices[id as usize];
            d.seen(f.last_seen);
            d.flows += 1;
            d.packets_sent += f.pkts[dir.idx()];
            d.bytes_sent += f.bytes[dir.idx()];
        }
        // The server answered on its port: a listening service.
        if f.pkts[Direction::ToClient.idx()] > 0 && f.server.port != 0 {
            let d = &mut self.devices[s as usize];
            if !d.server_ports.contains(&f.server.port) && d.server_ports.len() < 64 {
                d.server_ports.push(f.server.port);
            }
        }
    }

    fn arp(&mut self, a: &ArpEvent) {
        if let Some(ip) = a.sender_ip {
            if ip.is_unspecified() {
                return;
            }
            let id = self.device_for_ip(ip, a.vlan, a.ts);
            self.devices[id as usize].seen(a.ts);
            self.bind_mac(id, a.sender_mac);
        }
    }

    /// The device of a link-layer address: the IP device it is bound to when
    /// it fronts exactly one IP, else a MAC-only device (merged into the IP
    /// device at report time if the binding appears later).
    fn device_for_mac(&mut self, mac: MacAddr, vlan: u32, ts: Timestamp) -> u32 {
        if let Some(ips) = self.mac_ips.get(&mac)
            && ips.len() == 1
            && let Some(&id) = self.by_ip.get(&ips[0])
        {
            return id;
        }
        if let Some(&id) = self.by_mac.get(&mac) {
            return id;
        }
        let id = self.devices.len() as u32;
        let kind = if mac == MacAddr::BROADCAST {
            AddressKind::Broadcast
        } else if mac.is_group() {
            AddressKind::Multicast
        } else {
            AddressKind::Unicast
        };
        let mut d = Device::new(id, kind, None, vlan, ts);
        d.mac = Some(mac);
        self.devices.push(d);
        self.by_mac.insert(mac, id);
        id
    }

    fn app(&mut self, a: &AppEvent<'_>) {
        let proto = a.msg.proto();
        let ep = a.flow.endpoints(a.dir);
        let (asker, answerer) = roles_for(proto);
        let (src_role, dst_role) = match a.kind {
            // DNP3 roles follow the function code, whichever TCP side sends it.
            MsgKind::Response => (answerer, asker),
            _ => (asker, answerer),
        };
        let (src, dst) = if a.flow.transport == Transport::L2 {
            (
                self.device_for_mac(ep.src.mac, a.flow.vlan, a.ts),
                self.device_for_mac(ep.dst.mac, a.flow.vlan, a.ts),
            )
        } else {
            (
                self.device_for_ip(ep.src.ip, a.flow.vlan, a.ts),
                self.device_for_ip(ep.dst.ip, a.flow.vlan, a.ts),
            )
        };
        for (id, peer, role, sent) in [(src, dst, src_role, 1), (dst, src, dst_role, 0)] {
            let d = &mut self.devices[id as usize];
            d.seen(a.ts);
            let u = d.protocols.entry(proto).or_insert_with(|| ProtoUse {
                first_seen: a.ts,
                last_seen: a.ts,
                ..Default::default()
            });
            if !u.roles.contains(&role) {
                u.roles.push(role);
                u.roles.sort();
            }
            if u.peers.len() < MAX_PEERS && !u.peers.contains(&peer) {
                u.peers.push(peer);
                u.peer_count = u.peers.len();
            }
            u.messages_sent += sent;
            if a.ts > u.last_seen {
                u.last_seen = a.ts;
            }
        }
        if a.kind == MsgKind::Request
            && let Some(op) = classify::engineering_op(proto, a.msg.function_code())
        {
            *self.devices[src as usize]
                .engineering
                .entry(op)
                .or_default() += 1;
        }
        if let Some(x) = a.msg.identity() {
            let id = match x.subject {
                Subject::Sender => src,
                Subject::Receiver => dst,
                Subject::Mac(m) if !m.is_group() && !m.is_zero() => {
                    self.device_for_mac(m, a.flow.vlan, a.ts)
                }
                Subject::Ip(ip) if !ip.is_unspecified() => {
                    self.device_for_ip(ip, a.flow.vlan, a.ts)
                }
                _ => return,
            };
            self.apply_identity(id, &x, a.ts);
        }
    }

    /// Merges identity facts into a device; a change of a stable field
    /// (vendor, model, firmware, serial...) is kept in its history.
    fn apply_identity(&mut self, id: u32, x: &ProtoIdentity<'_>, ts: Timestamp) {
        let d = &mut self.devices[id as usize];
        if d.kind != AddressKind::Unicast {
            return;
        }
        let first = d.identity.is_none();
        let ident = d.identity.get_or_insert_with(Identity::default);
        // In place, without allocating when nothing changes (the common case:
        // the same banner or user agent again).
        let set = |slot: &mut Option<String>, v: &Option<std::borrow::Cow<'_, str>>| -> bool {
            match v {
                Some(v) if slot.as_deref() != Some(v.as_ref()) => {
                    *slot = Some(v.to_string());
                    true
                }
                _ => false,
            }
        };
        let mut changed = first;
        changed |= set(&mut ident.vendor, &x.vendor);
        changed |= set(&mut ident.model, &x.model);
        changed |= set(&mut ident.product_code, &x.product_code);
        changed |= set(&mut ident.firmware, &x.firmware);
        changed |= set(&mut ident.hardware, &x.hardware);
        changed |= set(&mut ident.serial, &x.serial);
        changed |= set(&mut ident.hostname, &x.hostname);
        changed |= set(&mut ident.os, &x.os);
        set(&mut ident.device_class, &x.device_class);
        if x.vendor_id.is_some() {
            ident.vendor_id = x.vendor_id;
        }
        if let Some(m) = &x.module
            && ident.modules.len() < MAX_LIST
            && !ident.modules.iter().any(|s| s == m.as_ref())
        {
            ident.modules.push(m.to_string());
        }
        if !ident.sources.contains(&x.source) && ident.sources.len() < MAX_LIST {
            ident.sources.push(x.source);
        }
        if changed {
            let snapshot = ident.clone();
            if d.identity_history.len() >= MAX_HISTORY {
                d.identity_history.remove(0);
            }
            d.identity_history.push(IdentityChange {
                ts,
                identity: snapshot,
            });
        }
        if let Some(u) = &x.user {
            let u = match &x.domain {
                Some(dom) if !dom.is_empty() => format!("{dom}\\{u}"),
                _ => u.to_string(),
            };
            if d.users.len() < MAX_LIST && !d.users.contains(&u) {
                d.users.push(u);
            }
        }
    }

    /// The consolidated device list (gateways separated, vendors looked up).
    /// Linear in the number of devices; gateways come last, ordered by MAC.
    pub fn devices(&self) -> Vec<Device> {
        self.build(self.devices.clone())
    }

    /// [`Inventory::devices`] without copying the device records (the
    /// inventory is consumed).
    pub fn into_devices(mut self) -> Vec<Device> {
        let d = std::mem::take(&mut self.devices);
        self.build(d)
    }

    fn build(&self, devices: Vec<Device>) -> Vec<Device> {
        let gateways: hashbrown::HashSet<MacAddr> = self
            .mac_ips
            .iter()
            .filter(|(_, ips)| ips.len() > GATEWAY_IPS)
            .map(|(m, _)| *m)
            .collect();
        let mut out: Vec<Device> = devices;
        let mut absorbed = vec![false; out.len()];
        // MAC-only devices (LLDP, GOOSE, DCP...) whose MAC later showed with
        // exactly one IP are that IP's device: same MAC + IP in one zone.
        let mut mac_only: Vec<(u32, MacAddr)> = self.by_mac.iter().map(|(m, i)| (*i, *m)).collect();
        mac_only.sort_unstable();
        for &(mid, mac) in &mac_only {
            if gateways.contains(&mac) {
                continue;
            }
            if let Some(ips) = self.mac_ips.get(&mac)
                && ips.len() == 1
                && let Some(&ipid) = self.by_ip.get(&ips[0])
                && ipid != mid
            {
                let src = out[mid as usize].clone();
                out[ipid as usize].absorb(src);
                absorbed[mid as usize] = true;
            }
        }
        // First and last seen of the devices each gateway fronts.
        let mut spans: BTreeMap<MacAddr, (Timestamp, Timestamp)> = BTreeMap::new();
        for d in out.iter_mut() {
            if gateways.is_empty() {
                break;
            }
            if d.ip.is_none() {
                continue;
            }
            let macs: Vec<MacAddr> = d.mac.iter().chain(d.other_macs.iter()).copied().collect();
            for m in macs.iter().filter(|m| gateways.contains(*m)) {
                let span = spans.entry(*m).or_insert((d.first_seen, d.last_seen));
                span.0 = span.0.min(d.first_seen);
                span.1 = span.1.max(d.last_seen);
            }
            let mut own = macs.into_iter().filter(|m| !gateways.contains(m));
            d.mac = own.next();
            d.other_macs = own.collect();
        }
        for (mac, (first, last)) in spans {
            // A gateway that also spoke for itself (LLDP, CDP) keeps that device.
            if let Some(&mid) = self.by_mac.get(&mac) {
                let g = &mut out[mid as usize];
                g.kind = AddressKind::Gateway;
                g.seen(first);
                g.seen(last);
                continue;
            }
            let mut g = Device::new(out.len() as u32, AddressKind::Gateway, None, 0, first);
            g.mac = Some(mac);
            g.last_seen = last;
            out.push(g);
            absorbed.push(false);
        }
        let mut out: Vec<Device> = out
            .into_iter()
            .zip(absorbed)
            .filter(|(_, a)| !a)
            .map(|(d, _)| d)
            .collect();
        for d in out.iter_mut() {
            d.mac_vendor = d.mac.and_then(mac_vendor);
        }
        for d in out.iter_mut() {
            d.class = classify::classify(d);
        }
        out
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }
}

/// The registered organization of a MAC's prefix (none for locally administered MACs).
pub fn mac_vendor(mac: MacAddr) -> Option<&'static str> {
    if mac.is_local() || mac.is_group() || mac.is_zero() {
        return None;
    }
    oui_data::lookup(&mac.to_string()).map(|r| r.organization())
}

impl EventSink for Inventory {
    fn on_event(&mut self, ev: &Event<'_>) {
        match *ev {
            Event::FlowStart(f) => self.flow_start(f),
            Event::FlowEnd(f) => self.flow_end(f),
            Event::App(a) => self.app(a),
            Event::Arp(a) => self.arp(a),
            Event::Malformed(_) | Event::Gap(_) | Event::Payload(_) | Event::File(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otwatch_core::flow::ClientBy;
    use otwatch_core::{FlowId, FlowSide, Transport};
    use otwatch_proto::modbus;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    fn flow(id: u64, c: (u8, MacAddr), s: (u8, MacAddr), port: u16, t: i64) -> FlowInfo {
        FlowInfo {
            id: FlowId(id),
            transport: Transport::Tcp,
            ip_proto: 6,
            vlan: 0,
            client: FlowSide {
                ip: ip(c.0),
                port: 40000,
                mac: c.1,
            },
            server: FlowSide {
                ip: ip(s.0),
                port,
                mac: s.1,
            },
            client_by: ClientBy::Handshake,
            proto: Some(Proto::Modbus),
            first_seen: Timestamp(t),
            last_seen: Timestamp(t + 10),
            pkts: [3, 2],
            bytes: [100, 80],
            end_reason: None,
        }
    }

    const HMI: MacAddr = MacAddr([0x00, 0x14, 0x22, 1, 1, 1]);
    const PLC: MacAddr = MacAddr([0x00, 0x80, 0xf4, 2, 2, 2]);
    const ROUTER: MacAddr = MacAddr([0x00, 0x00, 0x0c, 3, 3, 3]);

    #[test]
    fn roles_identity_and_counters() {
        let mut inv = Inventory::new();
        let f = flow(1, (1, HMI), (2, PLC), 502, 100);
        inv.on_event(&Event::FlowStart(&f));
        // A 43/14 response from the PLC: vendor, product code, revision.
        let objects = [
            0, 4, b'A', b'c', b'm', b'e', 1, 2, b'P', b'1', 2, 3, b'1', b'.', b'0',
        ];
        let pdu = modbus::Pdu {
            mbap: modbus::Mbap {
                transaction_id: 1,
                protocol_id: 0,
                length: 0,
                unit_id: 1,
            },
            function_code: 43,
            exception_code: None,
            mei_type: Some(14),
            body: modbus::Body::DeviceId {
                read_code: 1,
                conformity: 1,
                more_follows: false,
                next_object_id: 0,
                object_count: 3,
                objects: &objects,
            },
        };
        let ev = AppEvent {
            ts: Timestamp(105),
            flow: &f,
            dir: Direction::ToClient,
            kind: MsgKind::Response,
            msg: otwatch_proto::Message::Modbus(modbus::Message {
                pdu,
                request: None,
                latency_ns: None,
            }),
        };
        inv.on_event(&Event::App(&ev));
        inv.on_event(&Event::FlowEnd(&f));
        let d = inv.devices();
        let plc = d.iter().find(|d| d.ip == Some(ip(2))).unwrap();
        assert_eq!(plc.protocols[&Proto::Modbus].roles, vec![Role::Server]);
        assert_eq!(plc.server_ports, vec![502]);
        let id = plc.identity.as_ref().unwrap();
        assert_eq!(
            (
                id.vendor.as_deref(),
                id.product_code.as_deref(),
                id.firmware.as_deref()
            ),
            (Some("Acme"), Some("P1"), Some("1.0"))
        );
        assert_eq!(plc.class.device_type, "PLC");
        assert_eq!(plc.identity_history.len(), 1);
        assert_eq!(plc.mac, Some(PLC));
        let hmi = d.iter().find(|d| d.ip == Some(ip(1))).unwrap();
        assert_eq!(hmi.protocols[&Proto::Modbus].roles, vec![Role::Client]);
        assert_eq!((hmi.packets_sent, hmi.bytes_sent), (3, 100));
        assert_eq!(
            (hmi.first_seen, hmi.last_seen),
            (Timestamp(100), Timestamp(110))
        );
    }

    #[test]
    fn messages_land_on_their_own_flows_devices() {
        // Two flows with the same id (as from two flow tables) but other
        // addresses, interleaved, messages in both directions: each message
        // lands on its own flow's devices.
        let mut inv = Inventory::new();
        let a = flow(1, (1, HMI), (2, PLC), 502, 100);
        let b = flow(1, (3, HMI), (4, ROUTER), 502, 100);
        let acme = [0, 4, b'A', b'c', b'm', b'e', 1, 1, b'P', 2, 1, b'1'];
        let zeta = [0, 4, b'Z', b'e', b't', b'a', 1, 1, b'Q', 2, 1, b'2'];
        for (f, objects) in [(&a, &acme[..]), (&b, &zeta[..]), (&a, &acme[..])] {
            let rsp = device_id_response(f, objects, 105);
            inv.on_event(&Event::App(&rsp));
            let req = AppEvent {
                dir: Direction::ToServer,
                kind: MsgKind::Request,
                ..device_id_response(f, objects, 106)
            };
            inv.on_event(&Event::App(&req));
        }
        let d = inv.devices();
        let by = |last: u8| d.iter().find(|d| d.ip == Some(ip(last))).unwrap();
        let vendor = |last: u8| by(last).identity.as_ref().and_then(|i| i.vendor.clone());
        assert_eq!(vendor(2).as_deref(), Some("Acme"));
        assert_eq!(vendor(4).as_deref(), Some("Zeta"));
        // The requests carry the same objects: credited to their senders,
        // the clients.
        assert_eq!(vendor(1).as_deref(), Some("Acme"));
        assert_eq!(vendor(3).as_deref(), Some("Zeta"));
        for (client, server) in [(1, 2), (3, 4)] {
            let c = &by(client).protocols[&Proto::Modbus];
            let s = &by(server).protocols[&Proto::Modbus];
            assert_eq!(
                (c.roles.clone(), s.roles.clone()),
                (vec![Role::Client], vec![Role::Server])
            );
            assert_eq!(c.peer_count, 1);
        }
        assert_eq!(by(2).protocols[&Proto::Modbus].messages_sent, 2);
        assert_eq!(by(4).protocols[&Proto::Modbus].messages_sent, 1);
    }

    fn device_id_response<'a>(f: &'a FlowInfo, objects: &'a [u8], ts: i64) -> AppEvent<'a> {
        AppEvent {
            ts: Timestamp(ts),
            flow: f,
            dir: Direction::ToClient,
            kind: MsgKind::Response,
            msg: otwatch_proto::Message::Modbus(modbus::Message {
                pdu: modbus::Pdu {
                    mbap: modbus::Mbap {
                        transaction_id: 1,
                        protocol_id: 0,
                        length: 0,
                        unit_id: 1,
                    },
                    function_code: 43,
                    exception_code: None,
                    mei_type: Some(14),
                    body: modbus::Body::DeviceId {
                        read_code: 1,
                        conformity: 1,
                        more_follows: false,
                        next_object_id: 0,
                        object_count: 3,
                        objects,
                    },
                },
                request: None,
                latency_ns: None,
            }),
        }
    }

    #[test]
    fn firmware_change_is_kept_in_history() {
        let mut inv = Inventory::new();
        let f = flow(1, (1, HMI), (2, PLC), 502, 100);
        inv.on_event(&Event::FlowStart(&f));
        let v1 = [0, 4, b'A', b'c', b'm', b'e', 2, 3, b'1', b'.', b'0'];
        let v2 = [0, 4, b'A', b'c', b'm', b'e', 2, 3, b'2', b'.', b'1'];
        for (objs, t) in [(&v1, 200), (&v1, 300), (&v2, 400)] {
            inv.on_event(&Event::App(&device_id_response(&f, objs, t)));
        }
        let d = inv.devices();
        let plc = d.iter().find(|d| d.ip == Some(ip(2))).unwrap();
        let fw: Vec<_> = plc
            .identity_history
            .iter()
            .map(|h| (h.ts, h.identity.firmware.clone().unwrap()))
            .collect();
        assert_eq!(
            fw,
            vec![
                (Timestamp(200), "1.0".into()),
                (Timestamp(400), "2.1".into())
            ]
        );
    }

    #[test]
    fn link_layer_identity_joins_the_ip_device() {
        let mut inv = Inventory::new();
        // A frame with no IP (as GOOSE, LLDP or DCP are) carrying identity.
        // (The response direction: the frame's "server" side, PLC, sends it.)
        let l2 = otwatch_proto::l2::frame_flow(
            Timestamp(10),
            MacAddr::BROADCAST,
            PLC,
            0,
            Proto::Modbus,
            60,
        );
        let objs = [0, 4, b'A', b'c', b'm', b'e'];
        inv.on_event(&Event::App(&device_id_response(&l2, &objs, 10)));
        assert_eq!(inv.devices().iter().filter(|d| d.ip.is_none()).count(), 2);
        // Later the same MAC shows with an IP: one device, with the identity.
        let f = flow(1, (1, HMI), (2, PLC), 502, 100);
        inv.on_event(&Event::FlowStart(&f));
        let d = inv.devices();
        let plc: Vec<_> = d.iter().filter(|d| d.mac == Some(PLC)).collect();
        assert_eq!(plc.len(), 1);
        assert_eq!(plc[0].ip, Some(ip(2)));
        assert_eq!(
            plc[0].identity.as_ref().unwrap().vendor.as_deref(),
            Some("Acme")
        );
        assert!(d.iter().any(|d| d.kind == AddressKind::Broadcast));
    }

    #[test]
    fn a_mac_fronting_many_ips_is_a_gateway() {
        let mut inv = Inventory::new();
        // Remote clients all arrive with the router's MAC.
        for i in 0..6u8 {
            let f = flow(i as u64, (100 + i, ROUTER), (2, PLC), 502, i as i64);
            inv.on_event(&Event::FlowStart(&f));
            inv.on_event(&Event::FlowEnd(&f));
        }
        let d = inv.devices();
        let gws: Vec<_> = d
            .iter()
            .filter(|d| d.kind == AddressKind::Gateway)
            .collect();
        assert_eq!(gws.len(), 1);
        assert_eq!(gws[0].mac, Some(ROUTER));
        assert_eq!(gws[0].mac_vendor.map(|v| v.contains("Cisco")), Some(true));
        assert_eq!(
            (gws[0].first_seen, gws[0].last_seen),
            (Timestamp(0), Timestamp(15))
        );
        for remote in d.iter().filter(|d| d.ip.is_some_and(|i| i != ip(2))) {
            assert_eq!(remote.mac, None, "remote IPs do not get the router's MAC");
        }
        assert_eq!(
            d.iter().find(|d| d.ip == Some(ip(2))).unwrap().mac,
            Some(PLC)
        );
    }

    #[test]
    fn arp_binds_and_group_addresses_are_pseudo_devices() {
        let mut inv = Inventory::new();
        inv.on_event(&Event::Arp(&ArpEvent {
            ts: Timestamp(1),
            src_mac: PLC,
            dst_mac: MacAddr::BROADCAST,
            vlan: 0,
            operation: 2,
            sender_mac: PLC,
            sender_ip: Some(ip(9)),
            target_mac: HMI,
            target_ip: Some(ip(1)),
        }));
        let mut f = flow(1, (1, HMI), (1, MacAddr::BROADCAST), 47808, 5);
        f.server.ip = IpAddr::V4(Ipv4Addr::BROADCAST);
        inv.on_event(&Event::FlowStart(&f));
        let d = inv.devices();
        assert_eq!(
            d.iter().find(|d| d.ip == Some(ip(9))).unwrap().mac,
            Some(PLC)
        );
        let b = d.iter().find(|d| d.kind == AddressKind::Broadcast).unwrap();
        assert_eq!(b.mac, None);
    }

    #[test]
    fn vendor_lookup() {
        // 00:80:F4 is Telemecanique (Schneider Electric).
        let v = mac_vendor(MacAddr([0x00, 0x80, 0xf4, 1, 2, 3])).unwrap();
        assert!(v.to_lowercase().contains("telemecanique"), "{v}");
        assert!(mac_vendor(MacAddr([0x02, 0, 0, 0, 0, 1])).is_none());
        assert!(mac_vendor(MacAddr([0x01, 0, 0x5e, 0, 0, 1])).is_none());
    }
}
