//! The capture under construction: frames and truth stamped with their time,
//! sorted into capture order at the end.

use std::collections::BTreeMap;

use otwatch_core::Timestamp;

use crate::rng::Rng;
use crate::{Capture, Truth};

/// Start of every capture: 2024-06-10 08:00:00 UTC.
pub(crate) const EPOCH_SECS: i64 = 1_718_006_400;

/// Nanoseconds in `n` milliseconds.
pub(crate) const fn ms(n: i64) -> i64 {
    n * 1_000_000
}

/// Nanoseconds in `n` microseconds.
pub(crate) const fn us(n: i64) -> i64 {
    n * 1_000
}

/// Nanoseconds in `n` seconds.
pub(crate) const fn secs(n: i64) -> i64 {
    n * 1_000_000_000
}

/// A capture being built. Frames may be pushed out of time order (several
/// conversations are generated one after the other); `finish` sorts them,
/// keeping push order among equal timestamps.
pub(crate) struct Cap {
    frames: Vec<(Timestamp, u64, Vec<u8>)>,
    truth: Vec<(Timestamp, u64, Truth)>,
    notes: BTreeMap<&'static str, u64>,
    order: u64,
    pub rng: Rng,
    /// Capture start.
    pub t0: Timestamp,
}

impl Cap {
    pub fn new(seed: u64, scenario: &str) -> Cap {
        let mut rng = Rng::new(seed, scenario);
        // A start time within the first second, so that seeds also move timestamps.
        let t0 = Timestamp::from_secs(EPOCH_SECS).add_nanos(rng.micros(0, 999_999));
        Cap {
            frames: Vec::new(),
            truth: Vec::new(),
            notes: BTreeMap::new(),
            order: 0,
            rng,
            t0,
        }
    }

    /// `t0 + ns`.
    pub fn at(&self, ns: i64) -> Timestamp {
        self.t0.add_nanos(ns)
    }

    /// `t0 + ns` plus a random delay of up to `max_us` microseconds (timer jitter).
    pub fn at_jittered(&mut self, ns: i64, max_us: u64) -> Timestamp {
        let j = self.rng.micros(0, max_us);
        self.t0.add_nanos(ns + j)
    }

    /// Records a frame captured at `t`.
    pub fn push(&mut self, t: Timestamp, frame: Vec<u8>) {
        self.order += 1;
        self.frames.push((t, self.order, frame));
    }

    /// Records a message (or malformed PDU) completed by a frame at `t`.
    pub fn truth(&mut self, t: Timestamp, truth: Truth) {
        self.order += 1;
        self.truth.push((t, self.order, truth));
    }

    /// Records a Modbus PDU that is malformed inside a sound MBAP frame:
    /// otwatch reports it both as a message (with its function code) and as
    /// a malformed PDU.
    pub fn modbus_invalid(&mut self, t: Timestamp, function_code: u8, request: bool) {
        let m = Truth::modbus(function_code, request);
        self.truth(t, m);
        self.truth(t, m.into_malformed());
    }

    /// Adds `n` to the note counter `key`.
    pub fn note(&mut self, key: &'static str, n: u64) {
        *self.notes.entry(key).or_insert(0) += n;
    }

    pub fn finish(mut self) -> Capture {
        self.frames.sort_by_key(|(t, o, _)| (*t, *o));
        self.truth.sort_by_key(|(t, o, _)| (*t, *o));
        Capture {
            packets: self.frames.into_iter().map(|(t, _, f)| (t, f)).collect(),
            linktype: 1,
            truth: self.truth.into_iter().map(|(_, _, t)| t).collect(),
            notes: self.notes,
        }
    }
}

impl Truth {
    pub(crate) fn modbus(function_code: u8, request: bool) -> Truth {
        Truth {
            proto: "modbus",
            function_code: (function_code & 0x7f) as u16,
            kind: if request { "request" } else { "response" },
            malformed: false,
        }
    }

    pub(crate) fn dnp3(function_code: u8) -> Truth {
        Truth {
            proto: "dnp3",
            function_code: function_code as u16,
            kind: if function_code >= 129 {
                "response"
            } else {
                "request"
            },
            malformed: false,
        }
    }

    /// A message of any protocol: `proto` is its `proto` name in events,
    /// `function_code` the code otwatch counts for it (see `docs/events.md`).
    pub(crate) fn msg(proto: &'static str, function_code: u16, request: bool) -> Truth {
        Truth {
            proto,
            function_code,
            kind: if request { "request" } else { "response" },
            malformed: false,
        }
    }

    pub(crate) fn into_malformed(self) -> Truth {
        Truth {
            malformed: true,
            ..self
        }
    }
}
