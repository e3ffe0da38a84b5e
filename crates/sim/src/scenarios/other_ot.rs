//! Scenarios of the other OT protocols: Schneider UMAS, Beckhoff ADS,
//! Mitsubishi MELSEC (SLMP and MELSOFT), GE SRTP, HART-IP, IEEE C37.118,
//! Niagara Fox and Triconex TriStation. Each protocol has a normal session
//! and an abnormal one (risky engineering operations, malformed PDUs).

mod ads;
mod c37118;
mod fox;
mod hart_ip;
mod melsec;
mod srtp;
mod tristation;
mod umas;

use otwatch_core::Timestamp;

use super::{Entry, Group};
use crate::builder::Cap;
use crate::transport::{Channel, Dir};
use crate::{Scenario, Truth};

/// Stations of this group (vendor OUIs on the MACs).
pub(crate) mod hosts {
    use crate::net::Host;

    /// Beckhoff CX9020 embedded PC running TwinCAT (ADS server).
    pub const BECKHOFF_CX: Host =
        Host::v4([0x00, 0x01, 0x05, 0x1d, 0x42, 0x10], [10, 10, 2, 40], 128);
    /// Mitsubishi MELSEC iQ-R / Q PLC.
    pub const MELSEC_PLC: Host =
        Host::v4([0x00, 0x26, 0x92, 0x4a, 0x10, 0x07], [10, 10, 2, 41], 64);
    /// HART-IP gateway (multiplexer in front of 4-20 mA HART transmitters).
    pub const HART_GW: Host = Host::v4([0x00, 0xa0, 0x45, 0x7e, 0x21, 0x09], [10, 10, 2, 42], 64);
    /// Phasor measurement unit (SEL-487E) at the substation.
    pub const PMU: Host = Host::v4([0x00, 0x30, 0xa7, 0x1c, 0x55, 0x01], [10, 10, 3, 50], 64);
    /// Phasor data concentrator in the control centre.
    pub const PDC: Host = Host::v4([0x00, 0x14, 0x22, 0x3a, 0x7c, 0x33], [10, 10, 3, 10], 128);
    /// Niagara JACE building controller (Tridium).
    pub const JACE: Host = Host::v4([0x00, 0x01, 0xf0, 0x8b, 0x33, 0x61], [10, 10, 4, 60], 64);
    /// Niagara supervisor / Workbench station.
    pub const SUPERVISOR: Host =
        Host::v4([0x00, 0x14, 0x22, 0x3a, 0x7c, 0x44], [10, 10, 4, 10], 128);
    /// Triconex Tricon safety controller (TCM module).
    pub const TRICON: Host = Host::v4([0x00, 0x00, 0xa8, 0x15, 0x03, 0x70], [10, 10, 5, 70], 64);
    /// TriStation 1131 engineering workstation of the safety network.
    pub const TRISTATION_EWS: Host =
        Host::v4([0x00, 0x14, 0x22, 0x3a, 0x7c, 0x55], [10, 10, 5, 10], 128);
}

/// Sends `payload` from `dir`'s side at `t` and records one message of
/// `proto` with `fc` (a request when `request`).
pub(super) fn send(
    cap: &mut Cap,
    ch: &mut dyn Channel,
    t: Timestamp,
    dir: Dir,
    payload: &[u8],
    m: (&'static str, u16, bool),
) {
    cap.truth(t, Truth::msg(m.0, m.1, m.2));
    ch.send(cap, t, dir, payload);
}

/// Sends a PDU that otwatch reports as a message and as malformed.
pub(super) fn send_invalid(
    cap: &mut Cap,
    ch: &mut dyn Channel,
    t: Timestamp,
    dir: Dir,
    payload: &[u8],
    m: (&'static str, u16, bool),
) {
    let tr = Truth::msg(m.0, m.1, m.2);
    cap.truth(t, tr);
    cap.truth(t, tr.into_malformed());
    ch.send(cap, t, dir, payload);
}

/// Sends bytes that otwatch reports only as malformed.
pub(super) fn send_malformed(
    cap: &mut Cap,
    ch: &mut dyn Channel,
    t: Timestamp,
    dir: Dir,
    payload: &[u8],
    proto: &'static str,
) {
    cap.truth(
        t,
        Truth::msg(proto, 0, dir == Dir::ToServer).into_malformed(),
    );
    ch.send(cap, t, dir, payload);
}

/// `t` plus a random delay between `lo` and `hi` microseconds.
pub(super) fn after(cap: &mut Cap, t: Timestamp, lo: u64, hi: u64) -> Timestamp {
    t.add_nanos(cap.rng.micros(lo, hi))
}

const fn sc(name: &'static str, description: &'static str, f: fn(&mut Cap)) -> Entry {
    (Scenario { name, description }, f)
}

pub(crate) const SCENARIOS: Group = &[
    sc("umas_monitoring", umas::MONITORING, umas::monitoring),
    sc("umas_engineering", umas::ENGINEERING, umas::engineering),
    sc("umas_malformed", umas::MALFORMED, umas::malformed),
    sc("ads_normal", ads::NORMAL, ads::normal),
    sc("ads_stop", ads::STOP, ads::stop),
    sc("ads_malformed", ads::MALFORMED, ads::malformed),
    sc("melsec_normal", melsec::NORMAL, melsec::normal),
    sc(
        "melsec_remote_stop",
        melsec::REMOTE_STOP,
        melsec::remote_stop,
    ),
    sc("melsec_malformed", melsec::MALFORMED, melsec::malformed),
    sc("srtp_normal", srtp::NORMAL, srtp::normal),
    sc("srtp_stop", srtp::STOP, srtp::stop),
    sc("srtp_malformed", srtp::MALFORMED, srtp::malformed),
    sc("hart_ip_normal", hart_ip::NORMAL, hart_ip::normal),
    sc("hart_ip_malformed", hart_ip::MALFORMED, hart_ip::malformed),
    sc("c37118_stream", c37118::STREAM, c37118::stream),
    sc("c37118_malformed", c37118::MALFORMED, c37118::malformed),
    sc("fox_hello", fox::HELLO, fox::hello),
    sc("fox_bruteforce", fox::BRUTEFORCE, fox::bruteforce),
    sc("fox_malformed", fox::MALFORMED, fox::malformed),
    sc("tristation_normal", tristation::NORMAL, tristation::normal),
    sc(
        "tristation_download",
        tristation::DOWNLOAD,
        tristation::download,
    ),
    sc(
        "tristation_malformed",
        tristation::MALFORMED,
        tristation::malformed,
    ),
];
