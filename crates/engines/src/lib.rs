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
pub mod malware;
pub mod operational;
pub mod protocol_violation;
pub mod ti;

use otwatch_alerts::Detection;
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
}

/// Every engine otwatch has, configured from the catalog (thresholds and
/// switches). Engines whose kind the catalog disables are left out.
pub fn builtin(catalog: &otwatch_alerts::Catalog) -> Vec<Box<dyn Engine>> {
    use otwatch_alerts::Engine as Kind;
    let mut all: Vec<Box<dyn Engine>> = Vec::new();
    if catalog.engine_enabled(Kind::ProtocolViolation) {
        all.push(Box::new(protocol_violation::ProtocolViolation::new(
            catalog,
        )));
    }
    if catalog.engine_enabled(Kind::Operational) {
        all.push(Box::new(operational::Operational::new(catalog)));
    }
    if catalog.engine_enabled(Kind::Anomaly) {
        all.push(Box::new(anomaly::Anomaly::new(catalog)));
    }
    if catalog.engine_enabled(Kind::Malware) {
        all.push(Box::new(malware::Malware::new(
            catalog,
            ti::global().clone(),
        )));
    }
    all
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
/// [`Engines::drain`].
#[derive(Default)]
pub struct Engines {
    engines: Vec<Box<dyn Engine>>,
    out: Vec<Detection>,
    last_tick: Timestamp,
}

/// Nanoseconds between two `on_time` calls.
const TICK_NS: i64 = 1_000_000_000;

impl Engines {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an engine.
    pub fn push(&mut self, e: Box<dyn Engine>) {
        self.engines.push(e);
    }

    pub fn len(&self) -> usize {
        self.engines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }

    /// Takes the detections reported so far.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Detection> {
        self.out.drain(..)
    }

    /// End of input.
    pub fn finish(&mut self) {
        let now = self.last_tick;
        for e in self.engines.iter_mut() {
            e.finish(now, &mut self.out);
        }
    }
}

impl EventSink for Engines {
    fn on_event(&mut self, ev: &Event<'_>) {
        let ts = event_ts(ev);
        if ts.0 >= self.last_tick.0 + TICK_NS {
            self.last_tick = ts;
            for e in self.engines.iter_mut() {
                e.on_time(ts, &mut self.out);
            }
        }
        for e in self.engines.iter_mut() {
            e.on_event(ev, &mut self.out);
        }
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
