//! Baseline / policy-violation scenarios: a plant's normal day and the same
//! plant with deviations from it (new device, new Modbus code and address
//! range, SSH to a PLC, a PLC reaching the Internet).

use otwatch_core::Timestamp;

use super::Group;
use super::hosts::*;
use crate::Truth;
use crate::builder::{Cap, ms, secs};
use crate::modbus::{self as mb, Client, PORT, read};
use crate::net::Host;
use crate::transport::{Channel, Dir, TcpConn};

pub(crate) const SCENARIOS: Group = &[
    (
        crate::Scenario {
            name: "policy_normal",
            description: NORMAL,
        },
        normal,
    ),
    (
        crate::Scenario {
            name: "policy_abnormal",
            description: ABNORMAL,
        },
        abnormal,
    ),
];

const NORMAL: &str = "A plant's normal traffic for a policy baseline: the HMI (10.10.1.10) polls \
the Schneider M340 (10.10.1.21, unit 1) over Modbus/TCP once a second for ten cycles, reading \
holding registers 0-9 (FC3) and coils 0-15 (FC1).";

const ABNORMAL: &str = "The plant of policy_normal with deviations from its baseline: the same \
HMI polling, plus at 3 s a holding register read of 500-509 (FC3, an address range never read) and \
a write of registers 100-101 (FC16, a new function code); at 5 s an unknown laptop \
(10.10.1.99) connects to the M340 and reads holding registers 0-9; at 6 s the HMI opens an SSH \
session to the M340 (TCP 22, banners exchanged); at 7 s the M340 opens a TCP connection to the \
Internet address 93.184.216.34 port 9999 and sends 16 bytes, answered with 16 bytes.";

const ROGUE: Host = Host::v4([0x3c, 0x52, 0x82, 0x4d, 0x19, 0x99], [10, 10, 1, 99], 128);
const INTERNET_PEER: Host = Host::v4([0x00, 0x00, 0x0c, 0x5a, 0x21, 0x01], [93, 184, 216, 34], 50);

fn tx(
    cap: &mut Cap,
    c: &mut TcpConn,
    t: Timestamp,
    dir: Dir,
    payload: &[u8],
    truth: Option<(&'static str, u16)>,
) -> Timestamp {
    c.send(cap, t, dir, payload);
    if let Some((p, fc)) = truth {
        cap.truth(t, Truth::msg(p, fc, dir == Dir::ToServer));
    }
    let t2 = t.add_nanos(cap.rng.micros(300, 2_000));
    c.ack(cap, t2, dir);
    t2.add_nanos(cap.rng.micros(500, 5_000))
}

fn polling(cap: &mut Cap) -> Client<TcpConn> {
    let conn = TcpConn::new(cap, HMI, PLC_SCHNEIDER, PORT);
    let mut c = Client::new(cap, conn, 1);
    c.ch.handshake(cap, cap.at(ms(200)));
    c
}

fn cycle(cap: &mut Cap, c: &mut Client<TcpConn>, n: i64) {
    let pairs = vec![read(cap, 3, 0, 10), read(cap, 1, 0, 16)];
    let t = cap.at_jittered(secs(n), 2_500);
    c.burst(cap, t, &pairs);
}

fn normal(cap: &mut Cap) {
    let mut c = polling(cap);
    for n in 1..=10 {
        cycle(cap, &mut c, n);
    }
    c.ch.close(cap, cap.at(secs(11)));
}

fn abnormal(cap: &mut Cap) {
    let mut c = polling(cap);
    for n in 1..=10 {
        cycle(cap, &mut c, n);
        if n == 3 {
            let regs = mb::values(&mut cap.rng, 2, 500, 200);
            let pairs = vec![
                read(cap, 3, 500, 10),
                (
                    mb::write_regs_req(100, &regs),
                    vec![16, 0x00, 100, 0x00, 0x02],
                ),
            ];
            let t = cap.at(secs(3) + ms(400));
            c.burst(cap, t, &pairs);
        }
    }
    c.ch.close(cap, cap.at(secs(11)));

    // An unknown laptop reads the PLC.
    let conn = TcpConn::new(cap, ROGUE, PLC_SCHNEIDER, PORT);
    let mut r = Client::new(cap, conn, 1);
    let t = r.ch.handshake(cap, cap.at(secs(5)));
    let pairs = vec![read(cap, 3, 0, 10)];
    let t = t.add_nanos(cap.rng.micros(500, 1_500));
    r.burst(cap, t, &pairs);
    r.ch.close(cap, cap.at(secs(5) + ms(500)));

    // SSH from the HMI to the PLC.
    let mut s = TcpConn::new(cap, HMI, PLC_SCHNEIDER, 22);
    let mut t = s.handshake(cap, cap.at(secs(6)));
    t = tx(
        cap,
        &mut s,
        t,
        Dir::ToClient,
        b"SSH-2.0-dropbear_2019.78\r\n",
        Some(("ssh", 0)),
    );
    t = tx(
        cap,
        &mut s,
        t,
        Dir::ToServer,
        b"SSH-2.0-OpenSSH_8.9\r\n",
        Some(("ssh", 0)),
    );
    s.close(cap, t.add_nanos(ms(10)));

    // The PLC reaches out to the Internet (through the router).
    let mut i = TcpConn::new(cap, PLC_SCHNEIDER, INTERNET_PEER, 9999);
    let mut t = i.handshake(cap, cap.at(secs(7)));
    t = tx(cap, &mut i, t, Dir::ToServer, &[0x5a; 16], None);
    t = tx(cap, &mut i, t, Dir::ToClient, &[0xa5; 16], None);
    i.close(cap, t.add_nanos(ms(10)));
}
