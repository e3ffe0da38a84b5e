//! IEEE C37.118.2 synchrophasor scenarios.

use otwatch_core::Timestamp;

use super::hosts::{PDC, PMU};
use super::{after, send, send_invalid};
use crate::builder::{Cap, ms};
use crate::transport::{Channel, Dir, TcpConn};

pub(super) const STREAM: &str = "The phasor data concentrator (10.10.3.10) connects to the PMU \
SEL-487E (10.10.3.50, IDCODE 7) on TCP 4712: it turns transmission off (command 1), asks for the \
header frame (command 3, answered with a header frame) and the configuration (command 5, answered \
with CFG-2: station SUB-A FEEDER 1, 3 phasors, 1 analog, 1 digital word, 30 frames/s), turns \
transmission on (command 2) and receives 60 data frames (two seconds at 30 frames/s, some of them \
two per TCP segment); it finally sends command 1 again.";

pub(super) const MALFORMED: &str = "On a PDC-to-PMU connection (10.10.3.10 -> 10.10.3.50, TCP 4712) \
the PMU streams data after a configuration exchange, but three frames are damaged: a data frame \
with a wrong CRC (a data frame and malformed), garbage bytes before a data frame (malformed only), \
and a CFG-2 frame whose PMU block is cut short (a configuration frame and malformed). The PDC also \
sends a command frame asking for CFG-3 (command 6), answered with a CFG-3 frame.";

const PORT: u16 = 4712;
const SOC: u32 = 1_718_006_400;

fn crc(b: &[u8]) -> u16 {
    let mut c: u16 = 0xffff;
    for &x in b {
        c ^= (x as u16) << 8;
        for _ in 0..8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x1021
            } else {
                c << 1
            };
        }
    }
    c
}

fn frame(ft: u8, soc: u32, frac: u32, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xaa, (ft << 4) | 1];
    v.extend_from_slice(&((14 + body.len() + 2) as u16).to_be_bytes());
    v.extend_from_slice(&7u16.to_be_bytes());
    v.extend_from_slice(&soc.to_be_bytes());
    v.extend_from_slice(&frac.to_be_bytes());
    v.extend_from_slice(body);
    let c = crc(&v);
    v.extend_from_slice(&c.to_be_bytes());
    v
}

fn cfg2(full: bool) -> Vec<u8> {
    let mut b = 1_000_000u32.to_be_bytes().to_vec();
    b.extend_from_slice(&1u16.to_be_bytes());
    b.extend_from_slice(b"SUB-A FEEDER 1  ");
    b.extend_from_slice(&7u16.to_be_bytes());
    b.extend_from_slice(&0x000fu16.to_be_bytes());
    b.extend_from_slice(&[0, 3, 0, 1, 0, 1]);
    if !full {
        b.extend_from_slice(b"VA              ");
        return b;
    }
    for n in ["VA", "VB", "VC", "FREQ_DEV"] {
        let mut name = [b' '; 16];
        name[..n.len()].copy_from_slice(n.as_bytes());
        b.extend_from_slice(&name);
    }
    for i in 0..16 {
        let mut name = [b' '; 16];
        let s = format!("BRK{i}");
        name[..s.len()].copy_from_slice(s.as_bytes());
        b.extend_from_slice(&name);
    }
    for _ in 0..3 {
        b.extend_from_slice(&[0, 0, 0, 100]);
    }
    b.extend_from_slice(&[0, 0, 0, 1]);
    b.extend_from_slice(&[0xff, 0xff, 0, 0]);
    b.extend_from_slice(&[0, 0, 0, 1]); // FNOM 50 Hz, CFGCNT 1
    b.extend_from_slice(&30i16.to_be_bytes());
    b
}

fn data(n: u32) -> Vec<u8> {
    let mut b = vec![0x00, 0x00];
    for p in 0..3u32 {
        b.extend_from_slice(&((10_000 + p * 7 + n) as u16).to_be_bytes());
        b.extend_from_slice(&((p * 21_845) as u16).to_be_bytes());
    }
    b.extend_from_slice(&[0x00, 0x05, 0x00, 0x01]); // FREQ, DFREQ
    b.extend_from_slice(&[0x01, 0x2c]); // analog
    b.extend_from_slice(&[0x00, 0x0f]); // digital word
    b
}

fn command(cap: &mut Cap, c: &mut TcpConn, t: Timestamp, cmd: u16) {
    let f = frame(4, SOC, 0, &cmd.to_be_bytes());
    send(cap, c, t, Dir::ToServer, &f, ("c37118", 0x400 | cmd, true));
}

fn pmu(cap: &mut Cap, c: &mut TcpConn, t: Timestamp, ft: u8, body: &[u8]) {
    send(
        cap,
        c,
        t,
        Dir::ToClient,
        &frame(ft, SOC, 0, body),
        ("c37118", (ft as u16) << 8, false),
    );
}

pub(super) fn stream(cap: &mut Cap) {
    let mut c = TcpConn::new(cap, PDC, PMU, PORT);
    let mut t = c.handshake(cap, cap.at(ms(40)));
    t = after(cap, t, 300, 900);
    command(cap, &mut c, t, 1);
    t = after(cap, t, 5_000, 9_000);
    command(cap, &mut c, t, 3);
    t = after(cap, t, 2_000, 6_000);
    pmu(
        cap,
        &mut c,
        t,
        1,
        b"SEL-487E PMU, substation A feeder 1, firmware R312",
    );
    t = after(cap, t, 5_000, 9_000);
    command(cap, &mut c, t, 5);
    t = after(cap, t, 2_000, 6_000);
    pmu(cap, &mut c, t, 3, &cfg2(true));
    t = after(cap, t, 5_000, 9_000);
    command(cap, &mut c, t, 2);
    let start = t.add_nanos(ms(20));
    let mut n = 0u32;
    while n < 60 {
        let at = start.add_nanos(n as i64 * 33_333_000);
        // Every tenth segment carries two frames (Nagle).
        let count = if n % 10 == 9 { 2 } else { 1 };
        let mut seg = Vec::new();
        for k in 0..count {
            let f = frame(
                0,
                SOC + 1 + (n + k) / 30,
                ((n + k) % 30) * 33_333,
                &data(n + k),
            );
            cap.truth(at, crate::Truth::msg("c37118", 0, false));
            seg.extend_from_slice(&f);
        }
        crate::transport::Channel::send(&mut c, cap, at, Dir::ToClient, &seg);
        n += count;
        if n.is_multiple_of(6) {
            c.ack(cap, at.add_nanos(ms(1)), Dir::ToClient);
        }
    }
    let t = start.add_nanos(ms(2_100));
    command(cap, &mut c, t, 1);
    c.close(cap, t.add_nanos(ms(50)));
}

pub(super) fn malformed(cap: &mut Cap) {
    let mut c = TcpConn::new(cap, PDC, PMU, PORT);
    let mut t = c.handshake(cap, cap.at(ms(40)));
    t = after(cap, t, 300, 900);
    command(cap, &mut c, t, 5);
    t = after(cap, t, 2_000, 6_000);
    pmu(cap, &mut c, t, 3, &cfg2(true));
    t = after(cap, t, 5_000, 9_000);
    command(cap, &mut c, t, 6);
    t = after(cap, t, 2_000, 6_000);
    let mut cfg3 = vec![0, 0];
    cfg3.extend_from_slice(&1_000_000u32.to_be_bytes());
    cfg3.extend_from_slice(&1u16.to_be_bytes());
    pmu(cap, &mut c, t, 5, &cfg3);
    t = after(cap, t, 5_000, 9_000);
    command(cap, &mut c, t, 2);
    for n in 0..10u32 {
        t = t.add_nanos(33_333_000);
        let f = frame(0, SOC + 1, n * 33_333, &data(n));
        match n {
            3 => {
                let mut bad = f.clone();
                let k = bad.len() - 1;
                bad[k] ^= 0x5a;
                send_invalid(cap, &mut c, t, Dir::ToClient, &bad, ("c37118", 0, false));
            }
            6 => {
                let mut seg = vec![0x13, 0x37, 0x00, 0x42];
                seg.extend_from_slice(&f);
                cap.truth(t, crate::Truth::msg("c37118", 0, false).into_malformed());
                send(cap, &mut c, t, Dir::ToClient, &seg, ("c37118", 0, false));
            }
            _ => pmu(cap, &mut c, t, 0, &data(n)),
        }
    }
    t = t.add_nanos(ms(5));
    let cut = frame(3, SOC, 0, &cfg2(false));
    send_invalid(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &cut,
        ("c37118", 0x300, false),
    );
    c.close(cap, t.add_nanos(ms(50)));
}
