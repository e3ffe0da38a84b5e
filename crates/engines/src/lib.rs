//! The detection engines: independent consumers of the typed event stream
//! (`otwatch_proto::event::Event`) that report [`Detection`]s.
//!
//! ```text
//! Pipeline ─► Event ─► Engines (EventSink) ─► each Engine ─► Vec<Detection> ─► alert manager
//! ```
//!
//! Every engine implements [`Engine`]: it sees each event in packet order,
//! keeps bounded state (fixed-size tables, sliding windows with caps), and
//! pushes a detection only when it finds something — never allocating per
//! packet. Thresholds come from the alert catalog
//! (`otwatch_alerts::Catalog`), so admins' overrides apply. Time is the
//! capture's: [`Engine::on_time`] is called when capture time moves on (at
//! most once per capture second), for detections that are about silence
//! (unresponsive devices, inactive channels, traffic stopped).

pub mod anomaly;
pub mod baseline;
pub mod custom;
pub mod health;
pub mod malware;
pub mod operational;
pub mod policy;
pub mod protocol_violation;
mod ring;
pub mod timeline;

pub use baseline::{Baseline, BaselineError, BaselineStats};
pub use ipnet;
pub use policy::Policy;
pub mod ti;

/// Parses a list of OT subnets as the command line (`--ot-subnets`) and the
/// sensor's config (`[learning] ot_subnets`) take it: comma-separated CIDR
/// subnets or single addresses, or `all` (`None`: every address is OT).
pub fn parse_subnets(s: &str) -> Result<Option<Vec<ipnet::IpNet>>, String> {
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse::<ipnet::IpNet>()
                .or_else(|_| x.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{x:?} is not a CIDR subnet (e.g. 10.1.2.0/24)"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[cfg(test)]
mod subnet_tests {
    #[test]
    fn subnet_lists() {
        assert_eq!(super::parse_subnets(" ALL ").unwrap(), None);
        let v = super::parse_subnets("10.1.0.0/16, 192.168.5.7,,fd00::/8")
            .unwrap()
            .unwrap();
        let shown: Vec<String> = v.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["10.1.0.0/16", "192.168.5.7/32", "fd00::/8"]);
        let e = super::parse_subnets("10.1.0.0/16,10.2.x.0/24").unwrap_err();
        assert!(e.contains("\"10.2.x.0/24\""), "{e}");
    }
}

use otwatch_alerts::Detection;
use otwatch_alerts::manager::ScenarioKey;
use otwatch_core::Timestamp;
use otwatch_proto::event::{Event, EventSink};

/// One detection engine.
pub trait Engine {
    /// Which of the five engines this is (for enable/disable and reports).
    fn kind(&self) -> otwatch_alerts::Engine;

    /// Sees one event; pushes what it detects to `out`.
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<Detection>);

    /// Capture time reached `now` (called at most once per capture second).
    fn on_time(&mut self, _now: Timestamp, _out: &mut Vec<Detection>) {}

    /// End of input: report what is pending.
    fn finish(&mut self, _now: Timestamp, _out: &mut Vec<Detection>) {}

    /// Whether the engine looks at stream bytes ([`Event::Payload`] and
    /// [`Event::File`]); the others are not called for them, which keeps
    /// the per-segment cost to the engines that need it.
    fn wants_payload(&self) -> bool {
        false
    }
}

/// Every engine otwatch has, configured from the catalog (thresholds and
/// switches), with the policy engine checking (or learning into) `baseline`.
/// Engines whose kind the catalog disables are left out. The OT/IT focus
/// rule is on.
pub fn builtin(catalog: &otwatch_alerts::Catalog, baseline: Baseline) -> Engines {
    use otwatch_alerts::Engine as Kind;
    let mut e = Engines::with_baseline(baseline);
    if catalog.engine_enabled(Kind::ProtocolViolation) {
        e.push(Box::new(protocol_violation::ProtocolViolation::new(
            catalog,
        )));
    }
    if catalog.engine_enabled(Kind::Operational) {
        e.push(Box::new(operational::Operational::new(catalog)));
        e.push(Box::new(health::Health::new(catalog)));
    }
    if catalog.engine_enabled(Kind::Anomaly) {
        e.push(Box::new(anomaly::Anomaly::new(catalog)));
    }
    if catalog.engine_enabled(Kind::Malware) {
        e.push(Box::new(malware::Malware::new(
            catalog,
            ti::global().clone(),
        )));
    }
    if catalog.engine_enabled(Kind::PolicyViolation) {
        e.policy = Some(Policy::new(catalog));
    }
    e.focus = Some(Focus::from_catalog(catalog));
    e
}

/// The OT/IT focus rule (reference §3.1): detections of every engine but
/// malware are kept only when an OT protocol or an address in an OT subnet
/// is involved; sensor-traffic alerts are always kept.
#[derive(Clone, Debug, Default)]
pub struct Focus {
    /// Type ids exempt from the rule (malware engine, sensor traffic).
    exempt: hashbrown::HashSet<String>,
}

impl Focus {
    pub fn from_catalog(cat: &otwatch_alerts::Catalog) -> Focus {
        let mut exempt: hashbrown::HashSet<String> = cat
            .iter()
            .filter(|t| t.engine == otwatch_alerts::Engine::Malware)
            .map(|t| t.id.clone())
            .collect();
        exempt.insert(operational::ids::NO_TRAFFIC.to_string());
        exempt.insert(operational::ids::TRAFFIC_RESUMED.to_string());
        // Custom rules: the user asked for exactly this traffic.
        exempt.insert(custom::TYPE_ID.to_string());
        // LLDP has no IP to place in a subnet; switches and OT devices use it
        // alike, and the alert fires only after learning.
        exempt.insert(policy::ids::LLDP_CONFIG.to_string());
        Focus { exempt }
    }

    /// Whether the rule keeps `d`.
    pub fn keeps(&self, d: &Detection, b: &Baseline) -> bool {
        if self.exempt.contains(d.type_id) {
            return true;
        }
        if d.protocol
            .and_then(otwatch_core::Proto::from_name)
            .is_some_and(|p| p.is_ot())
        {
            return true;
        }
        d.src.ip.is_some_and(|ip| b.is_ot(ip)) || d.dst.ip.is_some_and(|ip| b.is_ot(ip))
    }
}

/// The capture time of an event.
pub fn event_ts(ev: &Event<'_>) -> Timestamp {
    match ev {
        Event::FlowStart(f) => f.first_seen,
        Event::FlowEnd(f) => f.last_seen,
        Event::App(a) => a.ts,
        Event::Malformed(m) => m.ts,
        Event::Gap(g) => g.ts,
        Event::Arp(a) => a.ts,
        Event::Payload(p) => p.ts,
        Event::File(f) => f.ts,
    }
}

/// All enabled engines as one event consumer; detections accumulate until
/// [`Engines::drain`]. Owns the baseline, which the policy engine checks
/// and learns into.
#[derive(Default)]
pub struct Engines {
    engines: Vec<Box<dyn Engine>>,
    /// Indexes in `engines` of those that want payload events.
    payload: Vec<usize>,
    baseline: Baseline,
    policy: Option<Policy>,
    focus: Option<Focus>,
    out: Vec<Detection>,
    last_tick: Timestamp,
    /// Detections dropped by the OT/IT focus rule.
    focus_dropped: u64,
    /// Capture time before which the run learns (`--learn-first`).
    learn_until: Option<Timestamp>,
    started: bool,
}

/// Nanoseconds between two `on_time` calls.
const TICK_NS: i64 = 1_000_000_000;

/// Counters of [`Engines`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct EnginesStats {
    /// Detections dropped by the OT/IT focus rule.
    pub focus_dropped: u64,
    pub policy: policy::Stats,
}

impl Engines {
    /// No engines, a fresh (learning) baseline, no focus rule.
    pub fn new() -> Self {
        Self::default()
    }

    /// No engines yet, the given baseline.
    pub fn with_baseline(baseline: Baseline) -> Self {
        Engines {
            baseline,
            ..Self::default()
        }
    }

    /// Adds an engine.
    pub fn push(&mut self, e: Box<dyn Engine>) {
        if e.wants_payload() {
            self.payload.push(self.engines.len());
        }
        self.engines.push(e);
    }

    /// Adds (or replaces) the policy engine.
    pub fn set_policy(&mut self, p: Option<Policy>) {
        self.policy = p;
    }

    /// Turns the OT/IT focus rule on (with the catalog's exemptions) or off.
    pub fn set_focus(&mut self, f: Option<Focus>) {
        self.focus = f;
    }

    /// Learn until capture time `first + d` (`--learn-first`), then turn
    /// learning off. The clock starts at the first event.
    pub fn learn_first(&mut self, d: std::time::Duration) {
        self.learn_until = Some(Timestamp(d.as_nanos().min(i64::MAX as u128) as i64));
        self.baseline.learning.on = true;
        self.baseline.learning.auto_end = false;
    }

    /// Engines in the vec (the policy engine is counted when present).
    pub fn len(&self) -> usize {
        self.engines.len() + usize::from(self.policy.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    pub fn baseline_mut(&mut self) -> &mut Baseline {
        &mut self.baseline
    }

    pub fn into_baseline(self) -> Baseline {
        self.baseline
    }

    pub fn stats(&self) -> EnginesStats {
        EnginesStats {
            focus_dropped: self.focus_dropped,
            policy: self.policy.as_ref().map(|p| p.stats()).unwrap_or_default(),
        }
    }

    /// *Learn* on an alert: adds its traffic to the baseline, so the same
    /// traffic no longer raises a policy alert. Returns whether anything was
    /// added. Policy alerts reported in this run are mapped back exactly
    /// (every deviation listed under the alert, e.g. all new Modbus codes);
    /// others by type: device alerts authorize the source, programming and
    /// configuration alerts mark it as a programming device, Internet alerts
    /// allow it on the Internet, firmware alerts record the new version.
    pub fn learn(&mut self, key: &ScenarioKey, now: Timestamp) -> bool {
        let rk = report_key_of(key);
        if let Some(p) = self.policy.as_mut()
            && let Some(ls) = p.take_learnables(&rk)
        {
            for l in &ls {
                l.apply(&mut self.baseline, now.0);
            }
            // Keep them for Unlearn.
            p.restore_learnables(rk, ls);
            return true;
        }
        match fallback(key) {
            Some(l) => {
                l.apply(&mut self.baseline, now.0);
                true
            }
            None => false,
        }
    }

    /// *Unlearn*: removes what [`Engines::learn`] added for the alert.
    pub fn unlearn(&mut self, key: &ScenarioKey) -> bool {
        let rk = report_key_of(key);
        if let Some(p) = self.policy.as_mut() {
            // The traffic alerts again at once (no repeat suppression).
            p.clear_repeats();
            if let Some(ls) = p.learnables(&rk) {
                for l in ls {
                    l.revert(&mut self.baseline);
                }
                return true;
            }
        }
        match fallback(key) {
            Some(l) => {
                l.revert(&mut self.baseline);
                true
            }
            None => false,
        }
    }

    /// Takes the detections reported so far.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Detection> {
        self.out.drain(..)
    }

    /// End of input.
    pub fn finish(&mut self) {
        let now = self.last_tick;
        let start = self.out.len();
        for e in self.engines.iter_mut() {
            e.finish(now, &mut self.out);
        }
        self.apply_focus(start);
    }

    /// Drops the detections from `start` on that the focus rule rejects.
    fn apply_focus(&mut self, start: usize) {
        let Some(f) = &self.focus else {
            return;
        };
        if self.out.len() == start {
            return;
        }
        let b = &self.baseline;
        let mut i = start;
        while i < self.out.len() {
            if f.keeps(&self.out[i], b) {
                i += 1;
            } else {
                self.out.remove(i);
                self.focus_dropped += 1;
            }
        }
    }
}

/// A `ScenarioKey` as the policy engine's [`policy::ReportKey`].
fn report_key_of(key: &ScenarioKey) -> policy::ReportKey {
    let ty = policy::ids::ALL
        .iter()
        .copied()
        .find(|t| *t == key.type_id)
        .unwrap_or("");
    let mut src = String::new();
    let mut dst = String::new();
    let mut other = String::new();
    for (f, v) in &key.fields {
        match f.as_str() {
            "src" => src = v.clone(),
            "dst" => dst = v.clone(),
            "protocol" => {}
            _ => other = v.clone(),
        }
    }
    (ty, src, dst, other)
}

/// What Learn means for a policy alert not reported in this run.
fn fallback(key: &ScenarioKey) -> Option<policy::Learnable> {
    use policy::{Learnable, ids};
    let field = |n: &str| {
        key.fields
            .iter()
            .find(|(f, _)| f == n)
            .map(|(_, v)| v.as_str())
    };
    let src: std::net::IpAddr = field("src")?.parse().ok()?;
    Some(match key.type_id.as_str() {
        ids::NEW_ASSET | ids::FIELD_DEVICE => Learnable::Device(src),
        ids::PROGRAMMING | ids::PROGRAM_UPLOAD | ids::CONFIG_READ | ids::CONFIG_WRITE => {
            Learnable::Programming(src)
        }
        ids::INTERNET_UNAUTHORIZED => Learnable::Internet(src),
        ids::INTERNET | ids::PUBLIC_INTERNAL => {
            Learnable::Conn(src, field("dst")?.parse().ok()?, 0)
        }
        ids::FIRMWARE
        | ids::FIRMWARE_BECKHOFF
        | ids::FIRMWARE_MODBUS
        | ids::FIRMWARE_MITSUBISHI
        | ids::FIRMWARE_S7PLUS
        | ids::FIRMWARE_CHANGE => Learnable::Firmware(src, field("value")?.to_string()),
        ids::SSH | ids::SMB => Learnable::Conn(src, field("dst")?.parse().ok()?, 0),
        ids::NEW_PORT | ids::DATABASE => Learnable::Conn(
            src,
            field("dst")?.parse().ok()?,
            field("port")?.parse().ok()?,
        ),
        _ => return None,
    })
}

impl EventSink for Engines {
    fn on_event(&mut self, ev: &Event<'_>) {
        if matches!(ev, Event::Payload(_) | Event::File(_)) {
            // Stream bytes: only the engines that inspect them (no tick,
            // no policy, no focus work per segment).
            let start = self.out.len();
            for &i in &self.payload {
                self.engines[i].on_event(ev, &mut self.out);
            }
            if self.out.len() > start {
                self.apply_focus(start);
            }
            return;
        }
        let ts = event_ts(ev);
        if !self.started {
            self.started = true;
            if let Some(d) = self.learn_until {
                self.learn_until = Some(Timestamp(ts.0.saturating_add(d.0)));
                self.baseline.set_learning(true, ts);
            }
            self.baseline.start_clock(ts);
        }
        let start = self.out.len();
        if ts.0 >= self.last_tick.0 + TICK_NS {
            self.last_tick = ts;
            if let Some(until) = self.learn_until
                && ts.0 >= until.0
                && self.baseline.learning()
            {
                self.baseline.set_learning(false, ts);
                self.learn_until = None;
            }
            self.baseline.check_auto_end(ts);
            for e in self.engines.iter_mut() {
                e.on_time(ts, &mut self.out);
            }
        }
        for e in self.engines.iter_mut() {
            e.on_event(ev, &mut self.out);
        }
        if let Some(p) = self.policy.as_mut() {
            p.on_event(&mut self.baseline, ev, &mut self.out);
        }
        self.apply_focus(start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otwatch_alerts::{Detection, Endpoint};

    /// Counts events, and reports one detection per capture second it is told about.
    struct Probe(u32);

    impl Engine for Probe {
        fn kind(&self) -> otwatch_alerts::Engine {
            otwatch_alerts::Engine::Operational
        }
        fn on_event(&mut self, _ev: &Event<'_>, _out: &mut Vec<Detection>) {
            self.0 += 1;
        }
        fn on_time(&mut self, now: Timestamp, out: &mut Vec<Detection>) {
            out.push(Detection::new(
                "probe",
                now,
                Endpoint::default(),
                Endpoint::default(),
            ));
        }
    }

    #[test]
    fn ticks_follow_capture_time() {
        let mut e = Engines::new();
        e.push(Box::new(Probe(0)));
        let arp = |t: i64| otwatch_proto::event::ArpEvent {
            ts: Timestamp(t),
            src_mac: otwatch_core::MacAddr::BROADCAST,
            dst_mac: otwatch_core::MacAddr::BROADCAST,
            vlan: 0,
            operation: 1,
            sender_mac: otwatch_core::MacAddr::BROADCAST,
            sender_ip: None,
            target_mac: otwatch_core::MacAddr::BROADCAST,
            target_ip: None,
        };
        for t in [1_000_000_000, 1_500_000_000, 2_100_000_000, 9_000_000_000] {
            e.on_event(&Event::Arp(&arp(t)));
        }
        let d: Vec<_> = e.drain().map(|d| d.ts.0).collect();
        assert_eq!(d, vec![1_000_000_000, 2_100_000_000, 9_000_000_000]);
        assert!(e.drain().next().is_none());
    }
}
