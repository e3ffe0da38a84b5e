//! Scenarios of the anomaly engine's learned types: a polling rhythm that
//! changes, a channel that falls silent, a message far longer than its
//! channel's usual ones and a bandwidth burst between two devices.

use otwatch_core::Timestamp;

use super::Group;
use super::hosts::*;
use crate::Scenario;
use crate::builder::{Cap, ms, secs};
use crate::modbus::{Client, PORT, read};
use crate::transport::{Channel, TcpConn};

pub(super) const LEARNED: &str = "The HMI (10.10.1.10) polls three PLCs over Modbus/TCP with one \
holding register read (FC3, 10 registers) every 2 s, for 15 minutes. After 12 minutes the poll of \
the Schneider M340 (10.10.1.21) slows to one every 6 s (abnormal_periodic_behavior). The Siemens \
S7-1200 (10.10.1.22) answers one read of 125 registers (a 259-byte ADU where 29 bytes were usual: \
unexpected_message_length). At minute 11, the HMI reads 125 input registers (FC4) of the GE RX3i \
(10.10.1.23) 8000 times in 20 s, about 2.5 MB where a few kB per minute were usual \
(abnormal_traffic_bandwidth_between_devices); at minute 13:20 its poll of the GE stops while the \
others go on (inactive_communication_channel, 100 s of silence).";

pub(crate) const SCENARIOS: Group = &[(
    Scenario {
        name: "anomaly_learned",
        description: LEARNED,
    },
    learned as fn(&mut Cap),
)];

/// One FC3 read of `qty` registers at `t`.
fn poll<C: Channel>(cap: &mut Cap, c: &mut Client<C>, t: Timestamp, qty: u16) -> Timestamp {
    let pair = read(cap, 3, 0, qty);
    c.burst(cap, t, &[pair])
}

pub(super) fn learned(cap: &mut Cap) {
    let end = secs(900);
    // Schneider: every 2 s until 720 s, then every 6 s.
    let conn = TcpConn::new(cap, HMI, PLC_SCHNEIDER, PORT);
    let mut c = Client::new(cap, conn, 1);
    c.ch.handshake(cap, cap.at(ms(100)));
    let mut at = secs(1);
    while at < end {
        let t = cap.at_jittered(at, 20_000);
        poll(cap, &mut c, t, 10);
        at += if at < secs(720) { secs(2) } else { secs(6) };
    }
    c.ch.close(cap, cap.at(end + ms(500)));

    // Siemens: every 2 s; one long read at 800 s, 50 ms after a poll.
    let conn = TcpConn::new(cap, HMI, PLC_SIEMENS, PORT);
    let mut c = Client::new(cap, conn, 255);
    c.ch.handshake(cap, cap.at(ms(300)));
    let mut at = secs(1) + ms(300);
    while at < end {
        let t = cap.at_jittered(at, 20_000);
        poll(cap, &mut c, t, 10);
        if at == secs(801) + ms(300) {
            poll(cap, &mut c, t.add_nanos(ms(50)), 125);
        }
        at += secs(2);
    }
    c.ch.close(cap, cap.at(end + ms(600)));

    // GE: every 2 s until 800 s.
    let conn = TcpConn::new(cap, HMI, PLC_GE, PORT);
    let mut c = Client::new(cap, conn, 1);
    c.ch.handshake(cap, cap.at(ms(500)));
    let mut at = secs(1) + ms(500);
    while at < secs(800) {
        let t = cap.at_jittered(at, 20_000);
        poll(cap, &mut c, t, 10);
        at += secs(2);
    }
    c.ch.close(cap, cap.at(secs(800)));

    // The burst, on its own connection.
    let conn = TcpConn::new(cap, HMI, PLC_GE, PORT);
    let mut c = Client::new(cap, conn, 1);
    let mut b = c.ch.handshake(cap, cap.at(secs(661)));
    for _ in 0..8000 {
        let pair = read(cap, 4, 0, 125);
        b = c.exchange(cap, b, &pair.0, &pair.1);
        b = b.add_nanos(ms(1));
    }
    c.ch.close(cap, b.add_nanos(ms(100)));
}
