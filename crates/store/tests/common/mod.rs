//! Shared test data: deterministic alerts with varied filter fields.
#![allow(dead_code)]

use std::net::IpAddr;

use otwatch_alerts::{Alert, Catalog, DeviceRef, ScenarioKey, SensorSeverity, Status};
use otwatch_core::{MacAddr, Timestamp};

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub const SENSOR: &str = "s1";

pub fn ip(n: u64) -> IpAddr {
    format!("10.0.{}.{}", n / 250, n % 250 + 1).parse().unwrap()
}

pub fn mac(n: u64) -> MacAddr {
    MacAddr([0x00, 0x0e, 0x8c, 0, (n >> 8) as u8, n as u8])
}

/// Alert `seq` with fields drawn from `rng`: 24 hosts, every catalog
/// type in turn, statuses, severities, a few titles with LIKE wildcards.
pub fn alert(rng: &mut Rng, seq: u64) -> (Alert, ScenarioKey) {
    let cat = Catalog::builtin();
    let types: Vec<_> = cat.iter().collect();
    let t = types[rng.below(types.len() as u64) as usize];
    let src = rng.below(24);
    let dst = rng.below(24);
    let ts = Timestamp(1_700_000_000_000_000_000 + rng.below(10_000) as i64 * 1_000_000_000);
    let message = match rng.below(5) {
        0 => format!("{} wrote 50% of the coils", ip(src)),
        1 => format!("{} used function_16 on {}", ip(src), ip(dst)),
        2 => format!("Host {} scanned PORT 502", ip(src)),
        _ => format!("{} talked to {}", ip(src), ip(dst)),
    };
    let protocol = ["modbus", "s7comm", "dnp3", "tcp"][rng.below(4) as usize];
    let mut a = Alert::new(
        SENSOR,
        seq,
        t,
        ts,
        message,
        Some(protocol.to_string()),
        DeviceRef {
            id: Some(src + 1),
            ip: Some(ip(src)),
            mac: Some(mac(src)),
            name: None,
        },
        DeviceRef {
            id: if rng.below(3) == 0 {
                None
            } else {
                Some(dst + 1)
            },
            ip: Some(ip(dst)),
            mac: if rng.below(2) == 0 {
                None
            } else {
                Some(mac(dst))
            },
            name: Some(format!("dev-{dst}")),
        },
    );
    for i in 0..rng.below(3) {
        a.record_violation(
            Timestamp(ts.0 + (i as i64 + 1) * rng.below(5_000) as i64 * 1_000_000_000),
            format!("again {i}"),
        );
    }
    match rng.below(4) {
        0 => a.set_status(Status::Active, a.last_detection),
        1 => a.set_learned(true, a.last_detection),
        _ => {}
    }
    if rng.below(5) == 0 {
        let s = [
            SensorSeverity::Critical,
            SensorSeverity::Major,
            SensorSeverity::Minor,
            SensorSeverity::Warning,
        ][rng.below(4) as usize];
        a.set_severity(s, a.last_detection);
    }
    let key = ScenarioKey {
        type_id: a.type_id.clone(),
        fields: vec![
            ("src_ip".into(), ip(src).to_string()),
            ("seq".into(), seq.to_string()),
        ],
    };
    (a, key)
}

pub fn alerts(seed: u64, n: u64) -> Vec<(Alert, ScenarioKey)> {
    let mut rng = Rng::new(seed);
    (1..=n).map(|seq| alert(&mut rng, seq)).collect()
}
