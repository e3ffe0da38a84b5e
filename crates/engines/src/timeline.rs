//! Network events for the event timeline (reference §4.4, types §6.3): a
//! consumer of the typed event stream that records what an analyst wants to
//! see in time order even when nothing is wrong — remote-access sessions,
//! logins and their failures, cleartext credentials, file transfers, SNMP
//! traps, syslog messages, DHCP address assignments and the first
//! connection between two devices on a port.
//!
//! Entries are built only for those messages (never per packet), kept in a
//! bounded queue (oldest out first, counted), and taken with
//! [`NetworkEvents::drain`]. The alert-related entries come from the alert
//! manager and from detections (`otwatch_alerts::timeline`); device created
//! and updated from the inventory ([`device_entries`]).

use std::collections::VecDeque;
use std::net::IpAddr;

use hashbrown::HashSet;
use otwatch_alerts::timeline::{EventSeverity, TimelineEntry};
use otwatch_core::{FlowInfo, MsgKind, Transport};
use otwatch_proto::event::{AppEvent, Event, EventSink, Message};
use otwatch_proto::{ftp, http, telnet};

/// Entries kept before the oldest are dropped.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;
/// Device connections remembered for DEVICE_CONNECTION_CREATED; beyond it,
/// new connections are counted but not recorded.
pub const MAX_CONNECTIONS: usize = 65_536;

/// Counters of what was recorded and dropped.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct NetworkEventStats {
    pub recorded: u64,
    /// Entries pushed out of the full queue.
    pub dropped: u64,
    /// New connections not recorded because the connection table was full.
    pub connections_untracked: u64,
}

/// The network-event recorder.
pub struct NetworkEvents {
    entries: VecDeque<TimelineEntry>,
    max: usize,
    connections: HashSet<(IpAddr, IpAddr, u16, u8)>,
    pub stats: NetworkEventStats,
}

impl Default for NetworkEvents {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_ENTRIES)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string()
}

impl NetworkEvents {
    pub fn new(max_entries: usize) -> Self {
        NetworkEvents {
            entries: VecDeque::new(),
            max: max_entries.max(1),
            connections: HashSet::new(),
            stats: NetworkEventStats::default(),
        }
    }

    /// Takes the entries recorded so far, oldest first.
    pub fn drain(&mut self) -> impl Iterator<Item = TimelineEntry> + '_ {
        self.entries.drain(..)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn push(&mut self, e: TimelineEntry) {
        if self.entries.len() >= self.max {
            self.entries.pop_front();
            self.stats.dropped += 1;
        }
        self.stats.recorded += 1;
        self.entries.push_back(e);
    }

    /// An entry about the sender of `a`, with the receiver as peer.
    fn about_sender(
        &mut self,
        a: &AppEvent<'_>,
        sev: EventSeverity,
        kind: &'static str,
        content: String,
    ) {
        let ep = a.flow.endpoints(a.dir);
        let l2 = a.flow.transport == Transport::L2;
        let e = TimelineEntry::new(a.ts, sev, kind, content)
            .device((!l2).then_some(ep.src.ip), Some(ep.src.mac))
            .peer((!l2).then_some(ep.dst.ip));
        self.push(e);
    }

    /// An entry about the flow's client (the one who logs in, connects...).
    fn about_client(
        &mut self,
        a: &AppEvent<'_>,
        sev: EventSeverity,
        kind: &'static str,
        content: String,
    ) {
        let f = a.flow;
        let e = TimelineEntry::new(a.ts, sev, kind, content)
            .device(Some(f.client.ip), Some(f.client.mac))
            .peer(Some(f.server.ip));
        self.push(e);
    }

    fn connection(&mut self, f: &FlowInfo) {
        if !matches!(f.transport, Transport::Tcp | Transport::Udp) {
            return;
        }
        let key = (f.client.ip, f.server.ip, f.server.port, f.ip_proto);
        if self.connections.contains(&key) {
            return;
        }
        if self.connections.len() >= MAX_CONNECTIONS {
            self.stats.connections_untracked += 1;
            return;
        }
        self.connections.insert(key);
        let proto = f.proto.map(|p| p.name()).unwrap_or("unknown protocol");
        let e = TimelineEntry::new(
            f.first_seen,
            EventSeverity::Info,
            "DEVICE_CONNECTION_CREATED",
            format!(
                "{} connected to {} on {}/{} ({proto})",
                f.client.ip,
                f.server.ip,
                f.transport.as_str(),
                f.server.port
            ),
        )
        .device(Some(f.client.ip), Some(f.client.mac))
        .peer(Some(f.server.ip));
        self.push(e);
    }

    fn app(&mut self, a: &AppEvent<'_>) {
        let f = a.flow;
        let (c, s) = (f.client.ip, f.server.ip);
        match &a.msg {
            Message::Ftp(m) => match *m {
                ftp::Message::Command { verb, arg } => {
                    let v = text(verb).to_ascii_uppercase();
                    match v.as_str() {
                        "RETR" | "STOR" | "STOU" | "APPE" => {
                            let name = arg.map(text).unwrap_or_default();
                            let what = if v == "RETR" { "download" } else { "upload" };
                            self.about_client(
                                a,
                                EventSeverity::Info,
                                "FILE_TRANSFER",
                                format!("FTP {what} ({v} {name}) between {c} and {s}"),
                            );
                        }
                        "PASS" => self.about_client(
                            a,
                            EventSeverity::Notice,
                            "CLEARTEXT_AUTHENTICATION",
                            format!("FTP password sent in clear text from {c} to {s}"),
                        ),
                        _ => {}
                    }
                }
                ftp::Message::Reply { login, user, .. } => {
                    let u = user.map(text).unwrap_or_else(|| "?".into());
                    match login {
                        Some(ftp::Login::Success) => self.about_client(
                            a,
                            EventSeverity::Info,
                            "USER_LOGIN",
                            format!("FTP login of user {u} from {c} to {s} succeeded"),
                        ),
                        Some(ftp::Login::Failure) => self.about_client(
                            a,
                            EventSeverity::Notice,
                            "FTP_AUTHENTICATION_FAILURE",
                            format!("FTP login of user {u} from {c} to {s} failed"),
                        ),
                        None => {}
                    }
                }
            },
            Message::Telnet(m) => match *m {
                telnet::Message::LoginPrompt { .. } => self.about_client(
                    a,
                    EventSeverity::Info,
                    "REMOTE_ACCESS",
                    format!("Telnet session from {c} to {s}"),
                ),
                telnet::Message::LoginFailed { user, .. } => self.about_client(
                    a,
                    EventSeverity::Notice,
                    "TELNET_AUTHENTICATION_FAILURE",
                    format!(
                        "Telnet login of user {} from {c} to {s} failed",
                        user.map(text).unwrap_or_else(|| "?".into())
                    ),
                ),
                telnet::Message::LoginSuccess { user, .. } => {
                    let u = user.map(text).unwrap_or_else(|| "?".into());
                    self.about_client(
                        a,
                        EventSeverity::Info,
                        "USER_LOGIN",
                        format!("Telnet login of user {u} from {c} to {s} succeeded"),
                    );
                    self.about_client(
                        a,
                        EventSeverity::Notice,
                        "CLEARTEXT_AUTHENTICATION",
                        format!(
                            "Telnet credentials of user {u} sent in clear text from {c} to {s}"
                        ),
                    );
                }
                _ => {}
            },
            Message::Http(m) if a.kind == MsgKind::Request => {
                if let Some(b) = m.head.basic_auth {
                    let u = http::wire::basic_user(b).unwrap_or_else(|| "?".into());
                    self.about_sender(
                        a,
                        EventSeverity::Notice,
                        "HTTP_BASIC_AUTHENTICATION",
                        format!(
                            "HTTP basic authentication of user {u} from {c} to {s} ({} {})",
                            text(m.head.method),
                            text(m.head.uri)
                        ),
                    );
                }
            }
            Message::Ssh(otwatch_proto::ssh::Message::Banner { line, client: true }) => self
                .about_client(
                    a,
                    EventSeverity::Info,
                    "REMOTE_ACCESS",
                    format!("SSH session from {c} to {s} ({})", text(line)),
                ),
            Message::Rdp(m) if m.code == 0xe0 => self.about_client(
                a,
                EventSeverity::Info,
                "REMOTE_ACCESS",
                format!(
                    "RDP connection request from {c} to {s}{}",
                    m.cookie
                        .map(|k| format!(" ({})", text(k)))
                        .unwrap_or_default()
                ),
            ),
            Message::Vnc(otwatch_proto::vnc::Message::Version { version })
                if a.kind == MsgKind::Response =>
            {
                self.about_client(
                    a,
                    EventSeverity::Info,
                    "REMOTE_ACCESS",
                    format!("VNC session from {c} to {s} ({})", text(version)),
                )
            }
            Message::Snmp(m) if matches!(m.snmp.pdu_type, 4 | 6 | 7) => {
                let kind = match m.snmp.pdu_type {
                    4 => "SNMPv1 trap",
                    6 => "SNMP inform",
                    _ => "SNMPv2 trap",
                };
                self.about_sender(
                    a,
                    EventSeverity::Notice,
                    "SNMP_TRAP",
                    format!(
                        "{kind} from {} to {} ({} variable bindings)",
                        a.flow.endpoints(a.dir).src.ip,
                        a.flow.endpoints(a.dir).dst.ip,
                        m.snmp.varbind_count
                    ),
                )
            }
            Message::Syslog(m) => {
                let mut msg = text(m.msg);
                if msg.len() > 200 {
                    let mut cut = 200;
                    while !msg.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    msg.truncate(cut);
                    msg.push('…');
                }
                self.about_sender(
                    a,
                    EventSeverity::Info,
                    "SYSLOG_MSG",
                    format!(
                        "syslog facility {} severity {} from {}: {msg}",
                        m.pri >> 3,
                        m.pri & 7,
                        a.flow.endpoints(a.dir).src.ip
                    ),
                )
            }
            Message::Dhcp(m) if m.dhcp.msg_type == 5 && m.dhcp.yiaddr != [0; 4] => {
                let ip = std::net::Ipv4Addr::from(m.dhcp.yiaddr);
                let mac = otwatch_core::MacAddr([
                    m.dhcp.chaddr[0],
                    m.dhcp.chaddr[1],
                    m.dhcp.chaddr[2],
                    m.dhcp.chaddr[3],
                    m.dhcp.chaddr[4],
                    m.dhcp.chaddr[5],
                ]);
                let host = m
                    .dhcp
                    .hostname
                    .map(|h| format!(" ({})", text(h)))
                    .unwrap_or_default();
                let e = TimelineEntry::new(
                    a.ts,
                    EventSeverity::Info,
                    "DHCP_UPDATE",
                    format!(
                        "DHCP server {} assigned {ip} to {mac}{host}",
                        a.flow.endpoints(a.dir).src.ip
                    ),
                )
                .device(Some(IpAddr::V4(ip)), Some(mac));
                self.push(e);
            }
            Message::Smb(m) => {
                if let Some(id) = otwatch_proto::protocols::ProtoMessage::identity(m)
                    && id.source == "ntlmssp authenticate"
                    && let Some(u) = &id.user
                {
                    let dom = id
                        .domain
                        .as_deref()
                        .map(|d| format!("{d}\\"))
                        .unwrap_or_default();
                    self.about_client(
                        a,
                        EventSeverity::Info,
                        "USER_LOGIN",
                        format!("SMB (NTLM) login of {dom}{u} from {c} to {s}"),
                    );
                }
            }
            _ => {}
        }
    }
}

impl EventSink for NetworkEvents {
    fn on_event(&mut self, ev: &Event<'_>) {
        match ev {
            Event::FlowStart(f) => self.connection(f),
            Event::App(a) => self.app(a),
            _ => {}
        }
    }
}

/// DEVICE_CREATE at each device's first sighting and DEVICE_UPDATE at each
/// identity change (firmware, name, model...), from the inventory.
pub fn device_entries(devices: &[otwatch_assets::Device]) -> Vec<TimelineEntry> {
    let mut out = Vec::new();
    for d in devices {
        let name =
            d.ip.map(|ip| ip.to_string())
                .or_else(|| d.mac.map(|m| m.to_string()))
                .unwrap_or_else(|| format!("device {}", d.id));
        out.push(
            TimelineEntry::new(
                d.first_seen,
                EventSeverity::Info,
                "DEVICE_CREATE",
                format!("new device {name} ({})", d.class.device_type),
            )
            .device(d.ip, d.mac),
        );
        for (i, ch) in d.identity_history.iter().enumerate() {
            if i == 0 {
                continue;
            }
            let id = &ch.identity;
            let mut parts = Vec::new();
            for (k, v) in [
                ("vendor", &id.vendor),
                ("model", &id.model),
                ("firmware", &id.firmware),
                ("hostname", &id.hostname),
            ] {
                if let Some(v) = v {
                    parts.push(format!("{k} {v}"));
                }
            }
            out.push(
                TimelineEntry::new(
                    ch.ts,
                    EventSeverity::Info,
                    "DEVICE_UPDATE",
                    format!("device {name} identity changed: {}", parts.join(", ")),
                )
                .device(d.ip, d.mac),
            );
        }
    }
    out
}
