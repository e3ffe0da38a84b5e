//! The anomaly types that compare traffic with what the engine itself
//! learned (bandwidth, periodic behaviour, inactive channels, message
//! lengths), plus content checks that need no learning (HTTP head shape,
//! traffic that is not the protocol of its standard port, stop commands).
//!
//! Learning is the engine's own, over capture time: a key's statistics
//! start when it is first seen and it is judged only after its warm-up.
//! Rules are documented in `docs/engines/anomaly.md`.

use std::net::IpAddr;

use hashbrown::HashMap;
use otwatch_alerts::{Catalog, Detection, Endpoint};
use otwatch_core::{Direction, FlowId, FlowInfo, FlowSide, MsgKind, Proto, Timestamp, Transport};
use otwatch_proto::event::{AppEvent, MalformedEvent, Message};
use otwatch_proto::{ads, enip, mms, s7comm};

use super::{Entry, Limit, NS, Table, endpoint, host, ids};

/// Flows whose byte counts are followed at once (more: the table is
/// cleared and the flows' earlier bytes are not counted again).
pub const MAX_FLOWS: usize = 16384;
/// A key alerts at most once per this many seconds (per type).
pub const REARM: u32 = 3600;
/// Shortest period (ms) that counts as periodic behaviour.
pub const MIN_PERIOD_MS: f64 = 500.0;
/// Requests closer than this fraction of the period belong to one poll
/// cycle.
pub const BURST: f64 = 0.1;
/// Seconds of capture time between two inactivity scans.
const SCAN_EVERY: u32 = 5;
/// Zero minutes learned at most for a gap in the traffic.
const MAX_ZERO_MINUTES: u32 = 10;

/// Bandwidth thresholds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bw {
    on: bool,
    factor: f64,
    warmup: u32,
    min_bytes: u64,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Cfg {
    bw: Bw,
    bw_pair: Bw,
    periodic: bool,
    intervals: u32,
    tolerance: f64,
    deviation: f64,
    consecutive: u32,
    learn_ms: i64,
    inactive: bool,
    inactivity: u32,
    periods: u32,
    std_port: bool,
    length: bool,
    len_warmup: u32,
    len_factor: u32,
    len_min: u32,
    max_length: u32,
    http_len: bool,
    http_max_line: u32,
    http_params: bool,
    http_max_headers: u32,
    http_max_query: u32,
    http_content: bool,
    term: Limit,
}

impl Cfg {
    pub(super) fn from_catalog(cat: &Catalog) -> Cfg {
        let th = |id: &str, name: &str, dflt: u64| {
            cat.get(id).and_then(|t| t.threshold(name)).unwrap_or(dflt)
        };
        let on = |id: &str| cat.get(id).is_some() && cat.is_enabled(id);
        let u = |v: u64| v.clamp(1, u32::MAX as u64) as u32;
        let bw = |id: &str, min: u64| Bw {
            on: on(id),
            factor: th(id, "factor", 10).max(1) as f64,
            warmup: u(th(id, "warmup", 10)),
            min_bytes: th(id, "min_bytes", min),
        };
        let p = ids::PERIODIC;
        let l = ids::MESSAGE_LENGTH;
        Cfg {
            bw: bw(ids::BANDWIDTH, 10_000_000),
            bw_pair: bw(ids::BANDWIDTH_PAIR, 1_000_000),
            periodic: on(p),
            intervals: u(th(p, "intervals", 8)),
            tolerance: th(p, "tolerance", 25).min(1000) as f64 / 100.0,
            deviation: th(p, "deviation", 50).min(1000) as f64 / 100.0,
            consecutive: u(th(p, "consecutive", 3)),
            learn_ms: th(p, "learn", 600).min(u32::MAX as u64) as i64 * 1000,
            inactive: on(ids::INACTIVE),
            inactivity: u(th(ids::INACTIVE, "inactivity", 60)),
            periods: u(th(ids::INACTIVE, "periods", 5)),
            std_port: on(ids::STANDARD_PORT),
            length: on(l),
            len_warmup: u(th(l, "warmup", 20)),
            len_factor: u(th(l, "factor", 4)),
            len_min: u(th(l, "min_bytes", 256)),
            max_length: u(th(l, "max_length", 32768)),
            http_len: on(ids::HTTP_HEADER_LENGTH),
            http_max_line: u(th(ids::HTTP_HEADER_LENGTH, "max_line", 8190)),
            http_params: on(ids::HTTP_HEADER_PARAMS),
            http_max_headers: u(th(ids::HTTP_HEADER_PARAMS, "max_headers", 100)),
            http_max_query: u(th(ids::HTTP_HEADER_PARAMS, "max_query", 100)),
            http_content: on(ids::HTTP_HEADER_CONTENT),
            term: Limit {
                on: on(ids::APP_TERMINATION),
                count: u(th(ids::APP_TERMINATION, "count", 20)),
                window: u(th(ids::APP_TERMINATION, "window", 10800)),
            },
        }
    }
}

/// A learned per-minute byte level (EWMA mean and variance, α = 1/8).
#[derive(Clone, Copy, Debug, Default)]
struct Level {
    /// Bytes of the current minute.
    cur: u64,
    mean: f64,
    var: f64,
    /// Minutes learned.
    minutes: u32,
}

impl Level {
    fn learn(&mut self, x: f64) {
        if self.minutes == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let d = x - self.mean;
            self.mean += d / 8.0;
            self.var = 7.0 / 8.0 * (self.var + d * d / 8.0);
        }
        self.minutes = self.minutes.saturating_add(1);
    }

    /// Closes the current minute (plus `zeros` empty minutes before the
    /// next one): `Some((bytes, mean, sd))` when it was above the level.
    fn close(&mut self, c: &Bw, zeros: u32) -> Option<(u64, f64, f64)> {
        let x = self.cur;
        self.cur = 0;
        let (m, sd) = (self.mean, self.var.sqrt());
        let xf = x as f64;
        let hit =
            self.minutes >= c.warmup && x >= c.min_bytes && xf > c.factor * m && xf > m + 4.0 * sd;
        self.learn(xf);
        for _ in 0..zeros.min(MAX_ZERO_MINUTES) {
            self.learn(0.0);
        }
        hit.then_some((x, m, sd))
    }
}

/// Bytes already counted of one flow, and where each direction's last
/// message ended.
#[derive(Clone, Copy, Debug, Default)]
struct FlowAcct {
    counted: u64,
    last: [u64; 2],
    /// Per direction, the last message's length, judged when the next
    /// message shows it had its segment(s) to itself.
    pending: [Option<Pending>; 2],
}

/// A measured message not judged yet.
#[derive(Clone, Copy, Debug)]
struct Pending {
    len: u32,
    fc: u16,
    proto: Proto,
    ts: Timestamp,
}

/// Inter-arrival of one request type on one channel.
#[derive(Clone, Copy, Debug)]
struct Period {
    client: FlowSide,
    server: FlowSide,
    proto: Proto,
    fc: u16,
    flow: FlowId,
    /// Capture time of the last request, ms.
    last_ms: i64,
    /// Learned period, ms (0: one request seen).
    period: f64,
    /// Capture time (ms) the current steady run started.
    run_start: i64,
    stable: u32,
    periodic: bool,
    off: u32,
    silent: bool,
}

impl Default for Period {
    fn default() -> Self {
        let s = FlowSide {
            ip: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            port: 0,
            mac: otwatch_core::MacAddr::BROADCAST,
        };
        Period {
            client: s,
            server: s,
            proto: Proto::Modbus,
            fc: 0,
            flow: FlowId(0),
            last_ms: -1,
            period: 0.0,
            run_start: 0,
            stable: 0,
            periodic: false,
            off: 0,
            silent: false,
        }
    }
}

/// Learned message lengths of one (source, destination, protocol, code).
#[derive(Clone, Copy, Debug, Default)]
struct Lengths {
    n: u32,
    min: u32,
    max: u32,
}

/// Stop commands of one source.
#[derive(Clone, Copy, Debug, Default)]
struct Stops(super::Rate);

/// The learned and content anomaly state.
#[derive(Debug)]
pub(super) struct Learned {
    cfg: Cfg,
    flows: HashMap<FlowId, FlowAcct>,
    flow_evictions: u64,
    /// Current capture minute (None before the first byte).
    minute: Option<u32>,
    total: Level,
    total_alerted: Option<u32>,
    pairs: Table<(IpAddr, IpAddr, Option<Proto>), Level>,
    periods: Table<(IpAddr, IpAddr, Proto, u16), Period>,
    lengths: Table<(IpAddr, IpAddr, Proto, u16), Lengths>,
    /// Alert state of the per-message checks (HTTP, standard port).
    seen: Table<(IpAddr, IpAddr, u16), ()>,
    stops: Table<IpAddr, Stops>,
    last_scan: u32,
}

fn ms(ts: Timestamp) -> i64 {
    ts.0 / 1_000_000
}

fn secs(ts: Timestamp) -> u32 {
    super::secs(ts)
}

/// Protocols whose messages have a stable length per function code.
fn ot(p: Proto) -> bool {
    matches!(
        p,
        Proto::Modbus
            | Proto::S7comm
            | Proto::S7commPlus
            | Proto::Enip
            | Proto::Dnp3
            | Proto::Mms
            | Proto::Fins
            | Proto::Ads
            | Proto::Melsec
            | Proto::Srtp
            | Proto::Iec104
            | Proto::HartIp
            | Proto::Umas
            | Proto::Bacnet
    )
}

fn proto_name(p: Option<Proto>, t: Transport) -> &'static str {
    p.map_or(t.as_str(), Proto::name)
}

impl Learned {
    pub(super) fn new(cat: &Catalog) -> Learned {
        Learned {
            cfg: Cfg::from_catalog(cat),
            flows: HashMap::new(),
            flow_evictions: 0,
            minute: None,
            total: Level::default(),
            total_alerted: None,
            pairs: Table::new(),
            periods: Table::new(),
            lengths: Table::new(),
            seen: Table::new(),
            stops: Table::new(),
            last_scan: 0,
        }
    }

    /// (keys, evictions) of each table.
    pub(super) fn tables(&self) -> [(usize, u64); 6] {
        [
            (self.flows.len(), self.flow_evictions),
            (self.pairs.map.len(), self.pairs.evictions),
            (self.periods.map.len(), self.periods.evictions),
            (self.lengths.map.len(), self.lengths.evictions),
            (self.seen.map.len(), self.seen.evictions),
            (self.stops.map.len(), self.stops.evictions),
        ]
    }

    fn bandwidth_on(&self) -> bool {
        self.cfg.bw.on || self.cfg.bw_pair.on
    }

    // ------------------------------------------------------------ bytes

    /// Counts the flow's bytes not counted yet.
    fn count_bytes(&mut self, f: &FlowInfo, end: bool) -> Option<FlowAcct> {
        let need = self.bandwidth_on() || (self.cfg.length && f.proto.is_some_and(ot));
        if !need {
            return None;
        }
        let total = f.bytes[0].saturating_add(f.bytes[1]);
        let before = if end {
            self.flows.remove(&f.id)
        } else {
            if self.flows.len() >= MAX_FLOWS && !self.flows.contains_key(&f.id) {
                self.flow_evictions += self.flows.len() as u64;
                self.flows.clear();
            }
            let a = self.flows.entry(f.id).or_default();
            let b = *a;
            a.counted = total;
            Some(b)
        };
        let prev = before.unwrap_or_default();
        let mut delta = total.saturating_sub(prev.counted);
        if end && before.is_none() {
            // Only seen at its end: its bytes belong to its whole life.
            let life = (f.last_seen.0 - f.first_seen.0).max(0) / NS;
            if life > 120 {
                delta = delta.saturating_mul(60) / life as u64;
            }
        }
        if delta > 0 && self.bandwidth_on() {
            self.total.cur = self.total.cur.saturating_add(delta);
            if self.cfg.bw_pair.on {
                let now = secs(f.last_seen);
                let e = self
                    .pairs
                    .entry((f.client.ip, f.server.ip, f.proto), now, REARM);
                e.v.cur = e.v.cur.saturating_add(delta);
            }
        }
        Some(prev)
    }

    /// Capture time moved on: closes finished minutes, looks for silent
    /// channels.
    pub(super) fn tick(&mut self, now: Timestamp, out: &mut Vec<Detection>) {
        let s = secs(now);
        let m = s / 60;
        match self.minute {
            None => self.minute = Some(m),
            Some(cur) if m > cur => {
                self.close_minute(now, m - cur - 1, out);
                self.minute = Some(m);
            }
            _ => {}
        }
        if self.cfg.inactive && s >= self.last_scan.saturating_add(SCAN_EVERY) {
            self.last_scan = s;
            self.inactive_scan(now, out);
        }
    }

    fn close_minute(&mut self, now: Timestamp, zeros: u32, out: &mut Vec<Detection>) {
        let s = secs(now);
        let c = self.cfg;
        if c.bw.on
            && let Some((x, m, sd)) = self.total.close(&c.bw, zeros)
            && self
                .total_alerted
                .is_none_or(|t| s.saturating_sub(t) >= REARM)
        {
            self.total_alerted = Some(s);
            out.push(
                Detection::new(ids::BANDWIDTH, now, Endpoint::default(), Endpoint::default())
                    .protocol("all")
                    .message(format!(
                        "all traffic carried {x} bytes in the last minute, learned level {:.0} ± {:.0} bytes per minute (threshold {}× the level, at least {} bytes)",
                        m, sd, c.bw.factor, c.bw.min_bytes
                    ))
                    .info("bytes", x)
                    .info("learned_mean", m.round() as u64)
                    .info("learned_sd", sd.round() as u64),
            );
        }
        if !c.bw_pair.on {
            return;
        }
        for (k, e) in self.pairs.map.iter_mut() {
            if let Some((x, m, sd)) = e.v.close(&c.bw_pair, zeros)
                && arm(e, 0, s)
            {
                let ep = |ip| Endpoint {
                    ip: Some(ip),
                    mac: None,
                    port: None,
                };
                out.push(
                    Detection::new(ids::BANDWIDTH_PAIR, now, ep(k.0), ep(k.1))
                        .protocol(k.2.map_or("ip", Proto::name))
                        .message(format!(
                            "{} and {} exchanged {x} bytes in the last minute, learned level {:.0} ± {:.0} bytes per minute (threshold {}× the level, at least {} bytes)",
                            k.0, k.1, m, sd, c.bw_pair.factor, c.bw_pair.min_bytes
                        ))
                        .info("bytes", x)
                        .info("learned_mean", m.round() as u64)
                        .info("learned_sd", sd.round() as u64),
                );
            }
        }
    }

    pub(super) fn flow_end(&mut self, f: &FlowInfo, out: &mut Vec<Detection>) {
        if let Some(prev) = self.count_bytes(f, true) {
            for dir in [Direction::ToServer, Direction::ToClient] {
                if let Some(p) = prev.pending[dir.idx()] {
                    self.length(f, dir, p, out);
                }
            }
        }
    }

    // ------------------------------------------------------------ messages

    pub(super) fn app(&mut self, a: &AppEvent<'_>, out: &mut Vec<Detection>) {
        let f = a.flow;
        self.tick_in_event(a.ts, out);
        let acct = self.count_bytes(f, false);
        let proto = a.msg.proto();
        let fc = a.msg.function_code();
        let c = self.cfg;
        if c.length
            && ot(proto)
            && let Some(prev) = acct
        {
            let d = a.dir.idx();
            // Bytes of this direction since its previous message (L4
            // headers included); the first message of a direction also
            // holds the handshake and is not measured. No new bytes: this
            // message shared a segment with the previous one, whose length
            // is then unknown.
            let grew = f.bytes[d] > prev.last[d];
            let next = (prev.last[d] > 0 && grew).then(|| Pending {
                len: (f.bytes[d] - prev.last[d]).min(u32::MAX as u64) as u32,
                fc,
                proto,
                ts: a.ts,
            });
            if let Some(a2) = self.flows.get_mut(&f.id) {
                a2.last[d] = f.bytes[d];
                a2.pending[d] = next;
            }
            if grew && let Some(p) = prev.pending[d] {
                self.length(f, a.dir, p, out);
            }
        }
        if (c.periodic || c.inactive) && a.dir == Direction::ToServer && a.kind != MsgKind::Response
        {
            self.period(a, proto, fc, out);
        }
        if let Message::Http(m) = &a.msg
            && (c.http_len || c.http_params || c.http_content)
        {
            self.http(a, &m.head, out);
        }
        if c.term.on
            && let Some(what) = stop_command(a)
        {
            self.stop(a, what, out);
        }
    }

    fn tick_in_event(&mut self, ts: Timestamp, out: &mut Vec<Detection>) {
        if let Some(cur) = self.minute
            && secs(ts) / 60 > cur
        {
            self.tick(ts, out);
        }
    }

    fn length(&mut self, f: &FlowInfo, dir: Direction, p: Pending, out: &mut Vec<Detection>) {
        let c = self.cfg;
        let (proto, fc, len) = (p.proto, p.fc, p.len);
        let now = secs(p.ts);
        let ep = f.endpoints(dir);
        let e = self
            .lengths
            .entry((ep.src.ip, ep.dst.ip, proto, fc), now, REARM);
        let l = &mut e.v;
        let over_max = len > c.max_length;
        if l.n < c.len_warmup && !over_max {
            l.min = if l.n == 0 { len } else { l.min.min(len) };
            l.max = l.max.max(len);
            l.n += 1;
            return;
        }
        let limit = l.max.saturating_mul(c.len_factor);
        if over_max || (len > limit && len >= c.len_min) {
            let (lo, hi, n) = (l.min, l.max, l.n);
            if arm(e, 0, now) {
                out.push(
                    Detection::new(ids::MESSAGE_LENGTH, p.ts, host(ep.src), endpoint(ep.dst))
                        .protocol(proto.name())
                        .message(format!(
                            "{} sent a {} message (function {fc}) of {len} bytes to {}; {n} earlier ones were {lo}–{hi} bytes (threshold {}× the longest, at least {} bytes; any above {})",
                            ep.src.ip,
                            proto.title(),
                            ep.dst.ip,
                            c.len_factor,
                            c.len_min,
                            c.max_length
                        ))
                        .info("length", len)
                        .info("learned_min", lo)
                        .info("learned_max", hi)
                        .info("function_code", fc)
                        .flow(f.id),
                );
            }
        } else {
            l.min = l.min.min(len);
            l.max = l.max.max(len);
            l.n = l.n.saturating_add(1);
        }
    }

    fn period(&mut self, a: &AppEvent<'_>, proto: Proto, fc: u16, out: &mut Vec<Detection>) {
        let c = self.cfg;
        let f = a.flow;
        let now = secs(a.ts);
        let t = ms(a.ts);
        let keep = c.inactivity.max(REARM);
        let e = self
            .periods
            .entry((f.client.ip, f.server.ip, proto, fc), now, keep);
        let p = &mut e.v;
        p.client = f.client;
        p.server = f.server;
        p.proto = proto;
        p.fc = fc;
        p.flow = f.id;
        p.silent = false;
        if p.last_ms < 0 {
            p.last_ms = t;
            p.run_start = t;
            return;
        }
        let iv = (t - p.last_ms).max(0) as f64;
        if iv < p.period * BURST {
            // Another request of the same poll cycle: the cycle is timed
            // from its first request.
            return;
        }
        p.last_ms = t;
        if p.period <= 0.0 {
            p.period = iv;
            p.run_start = t;
            return;
        }
        let dev = (iv - p.period).abs();
        if dev <= p.period * c.tolerance {
            p.period += (iv - p.period) / 8.0;
            p.stable = p.stable.saturating_add(1);
            p.off = 0;
            if p.stable >= c.intervals && p.period >= MIN_PERIOD_MS && t - p.run_start >= c.learn_ms
            {
                p.periodic = true;
            }
            return;
        }
        if !p.periodic {
            p.period = iv;
            p.stable = 0;
            p.run_start = t;
            return;
        }
        if dev < p.period * c.deviation {
            return; // jitter: neither the period nor a change
        }
        p.off += 1;
        if p.off < c.consecutive {
            return;
        }
        let (old, client, server) = (p.period, p.client, p.server);
        p.periodic = false;
        p.period = iv;
        p.stable = 0;
        p.off = 0;
        p.run_start = t;
        if c.periodic && arm(e, 0, now) {
            out.push(
                Detection::new(ids::PERIODIC, a.ts, host(&client), endpoint(&server))
                    .protocol(proto.name())
                    .message(format!(
                        "{} polled {} ({} function {fc}) every {:.1} s; the last {} intervals deviated by at least {:.0}% (last {:.1} s)",
                        client.ip,
                        server.ip,
                        proto.title(),
                        old / 1000.0,
                        c.consecutive,
                        c.deviation * 100.0,
                        iv / 1000.0
                    ))
                    .info("learned_period_ms", old.round() as u64)
                    .info("last_interval_ms", iv.round() as u64)
                    .info("function_code", fc)
                    .flow(f.id),
            );
        }
    }

    fn inactive_scan(&mut self, now: Timestamp, out: &mut Vec<Detection>) {
        let c = self.cfg;
        let t = ms(now);
        let s = secs(now);
        for e in self.periods.map.values_mut() {
            let p = e.v;
            if !p.periodic || p.silent {
                continue;
            }
            let limit = (c.inactivity as f64 * 1000.0).max(c.periods as f64 * p.period);
            let quiet = (t - p.last_ms) as f64;
            if quiet <= limit {
                continue;
            }
            e.v.silent = true;
            if arm(e, 1, s) {
                out.push(
                    Detection::new(ids::INACTIVE, now, host(&p.client), endpoint(&p.server))
                        .protocol(p.proto.name())
                        .message(format!(
                            "{} stopped polling {} ({} function {}): silent for {:.0} s, usual period {:.1} s (threshold {} periods, at least {} s)",
                            p.client.ip,
                            p.server.ip,
                            p.proto.title(),
                            p.fc,
                            quiet / 1000.0,
                            p.period / 1000.0,
                            c.periods,
                            c.inactivity
                        ))
                        .info("silent_s", (quiet / 1000.0).round() as u64)
                        .info("learned_period_ms", p.period.round() as u64)
                        .info("function_code", p.fc)
                        .flow(p.flow),
                );
            }
        }
    }

    fn http(
        &mut self,
        a: &AppEvent<'_>,
        h: &otwatch_proto::http::Head<'_>,
        out: &mut Vec<Detection>,
    ) {
        let c = self.cfg;
        let req = !h.is_response();
        let long = c.http_len && h.longest_line as u32 > c.http_max_line;
        let params = c.http_params
            && (h.header_count as u32 > c.http_max_headers
                || h.query_params as u32 > c.http_max_query);
        let mut illegal: Option<&str> = None;
        if c.http_content {
            illegal = if h.ctl_bytes > 0 {
                Some("control characters in the head")
            } else if h.bad_name {
                Some("a header name with spaces or separators")
            } else if h.content_length_count > 1 {
                Some("more than one Content-Length")
            } else if h.transfer_encoding_count > 1 {
                Some("more than one Transfer-Encoding")
            } else if h.chunked && h.content_length_count > 0 {
                Some("both Transfer-Encoding: chunked and Content-Length")
            } else if req && h.nested_message {
                Some("a request body declared as a nested message (Content-Type: message/*)")
            } else {
                None
            };
        }
        if !(long || params || illegal.is_some()) {
            return;
        }
        let now = secs(a.ts);
        let ep = a.flow.endpoints(a.dir);
        let e = self.seen.entry((ep.src.ip, ep.dst.ip, 0), now, REARM);
        let what = if req { "request" } else { "response" };
        let d = |ty| {
            Detection::new(ty, a.ts, host(ep.src), endpoint(ep.dst))
                .protocol("http")
                .flow(a.flow.id)
        };
        if long && arm(e, 0, now) {
            out.push(
                d(ids::HTTP_HEADER_LENGTH)
                    .message(format!(
                        "HTTP {what} from {} to {} has a {}-byte line in its head (threshold {})",
                        ep.src.ip, ep.dst.ip, h.longest_line, c.http_max_line
                    ))
                    .info("longest_line", h.longest_line),
            );
        }
        if params && arm(e, 1, now) {
            out.push(
                d(ids::HTTP_HEADER_PARAMS)
                    .message(format!(
                        "HTTP {what} from {} to {} has {} header fields and {} query parameters (thresholds {} and {})",
                        ep.src.ip,
                        ep.dst.ip,
                        h.header_count,
                        h.query_params,
                        c.http_max_headers,
                        c.http_max_query
                    ))
                    .info("header_count", h.header_count)
                    .info("query_params", h.query_params),
            );
        }
        if let Some(why) = illegal
            && arm(e, 2, now)
        {
            out.push(
                d(ids::HTTP_HEADER_CONTENT)
                    .message(format!(
                        "HTTP {what} from {} to {} carries {why}",
                        ep.src.ip, ep.dst.ip
                    ))
                    .info("reason", why),
            );
        }
    }

    fn stop(&mut self, a: &AppEvent<'_>, what: &'static str, out: &mut Vec<Detection>) {
        let c = self.cfg.term;
        let now = secs(a.ts);
        let ep = a.flow.endpoints(a.dir);
        let e = self.stops.entry(ep.src.ip, now, c.window);
        let n = e.v.0.add(now, c.window);
        if n >= c.count && e.arm(0, now, c.window) {
            out.push(
                Detection::new(ids::APP_TERMINATION, a.ts, host(ep.src), endpoint(ep.dst))
                    .protocol(a.msg.proto().name())
                    .message(format!(
                        "{} sent {n} stop commands in {} s (threshold {}; last: {what} to {})",
                        ep.src.ip, c.window, c.count, ep.dst.ip
                    ))
                    .info("stop_commands", n)
                    .flow(a.flow.id),
            );
        }
    }

    /// A parse failure on a flow assigned by its port: when the bytes are
    /// another protocol's, the port carries traffic that is not its own.
    pub(super) fn malformed(&mut self, m: &MalformedEvent<'_>, out: &mut Vec<Detection>) {
        if !self.cfg.std_port {
            return;
        }
        let f = m.flow;
        let registered = otwatch_proto::protocols::default_ports()
            .find(|&(t, port, _)| t == f.transport && port == f.server.port)
            .map(|x| x.2);
        let Some(reg) = registered else {
            return;
        };
        if f.proto != Some(reg) && f.proto.is_some_and(|p| p != m.proto) {
            return;
        }
        let Some(found) = otwatch_proto::protocols::probe(f.transport, m.data) else {
            return;
        };
        if found == reg {
            return;
        }
        let now = secs(m.ts);
        let e = self
            .seen
            .entry((f.client.ip, f.server.ip, f.server.port), now, REARM);
        if arm(e, 0, now) {
            out.push(
                Detection::new(
                    ids::STANDARD_PORT,
                    m.ts,
                    host(&f.client),
                    endpoint(&f.server),
                )
                .protocol(found.name())
                .key("port", f.server.port)
                .message(format!(
                    "{} port {} (registered for {}) between {} and {} carries {}",
                    proto_name(None, f.transport).to_uppercase(),
                    f.server.port,
                    reg.title(),
                    f.client.ip,
                    f.server.ip,
                    found.title()
                ))
                .info("registered_protocol", reg.name())
                .info("detected_protocol", found.name())
                .flow(f.id),
            );
        }
    }
}

/// Marks slot `i` of `e` as alerted at `now` unless it alerted within [`REARM`].
fn arm<V>(e: &mut Entry<V>, i: usize, now: u32) -> bool {
    e.arm(i, now, REARM)
}

/// Whether the message is a command that stops a controller's program.
pub(super) fn stop_command(a: &AppEvent<'_>) -> Option<&'static str> {
    match &a.msg {
        Message::S7comm(m) => {
            let p = &m.pdu;
            (p.header.rosctr == s7comm::wire::ROSCTR_JOB
                && p.function == Some(s7comm::wire::FN_PLC_STOP))
            .then_some("S7 PLC STOP")
        }
        Message::Umas(m) => (!m.response && m.function() == 0x41).then_some("UMAS STOP_PLC"),
        Message::Dnp3(m) => {
            (a.kind == MsgKind::Request && m.function_code == 18).then_some("DNP3 stop application")
        }
        Message::Fins(m) => {
            let f = m.frame?;
            (!f.header.is_response() && f.command() == 0x0402).then_some("FINS Stop")
        }
        Message::Melsec(m) => {
            (!m.frame.response && m.frame.command == Some(0x1002)).then_some("MELSEC remote STOP")
        }
        Message::Mms(m) => (m.pdu.pdu == mms::wire::pdu::CONFIRMED_REQUEST
            && matches!(
                m.pdu.service,
                Some(mms::wire::svc::STOP | mms::wire::svc::KILL)
            ))
        .then_some("MMS Stop/Kill"),
        Message::Enip(m) => {
            let c = m.cip()?;
            if c.is_response() {
                return None;
            }
            let s = c.embedded().map_or(c.code(), |e| e.service);
            (s == enip::cip::svc::STOP).then_some("CIP Stop")
        }
        Message::Ads(ads::Message::Ams {
            header,
            body:
                ads::wire::Body::WriteControl {
                    ads_state: 6 | 12, ..
                },
            ..
        }) if !header.is_response() => Some("ADS WriteControl stop"),
        _ => None,
    }
}
