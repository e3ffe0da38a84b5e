//! Writes a classic pcap in which `N` distinct sources each raise one alert:
//! every packet is a Modbus/UDP exception response (function 0x83) sent *to*
//! port 502, i.e. by the master, from its own source address. Used by
//! `scripts/load-test.sh` to fill a sensor store with 100k alerts the way a
//! sensor really stores them (the replay path), not by writing rows.
//!
//! ```text
//! cargo run --release -p otwatch --example many_alerts -- OUT.pcap [N] [FIRST_OCTET]
//! ```
//!
//! `N` defaults to 100000 (at most 16,777,213), `FIRST_OCTET` (the sources
//! are `FIRST_OCTET.x.y.z`) to 10. Timestamps advance 10 ms per packet from
//! 2023-11-14T22:13:20Z.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

fn usage(msg: &str) -> ExitCode {
    eprintln!("many_alerts: {msg}\nusage: many_alerts OUT.pcap [N] [FIRST_OCTET]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        return usage("give the output file");
    };
    let n: u32 = match args.get(1).map(|s| s.parse()) {
        None => 100_000,
        Some(Ok(n)) if (1..(1 << 24) - 2).contains(&n) => n,
        Some(_) => return usage("N must be a number from 1 to 16777213"),
    };
    let first: u8 = match args.get(2).map(|s| s.parse()) {
        None => 10,
        Some(Ok(o)) if (1..=223).contains(&o) && o != 127 => o,
        Some(_) => return usage("FIRST_OCTET must be 1-223, not 127"),
    };
    match write(out, n, first) {
        Ok(()) => {
            eprintln!("many_alerts: {n} packets from {n} sources written to {out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("many_alerts: cannot write {out}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(out: &str, n: u32, first: u8) -> std::io::Result<()> {
    let mut f = BufWriter::new(std::fs::File::create(out)?);
    // Classic pcap header: little endian, microseconds, v2.4, Ethernet.
    f.write_all(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0])?;
    f.write_all(&[0; 8])?;
    f.write_all(&65535u32.to_le_bytes())?;
    f.write_all(&1u32.to_le_bytes())?;
    // MBAP (transaction 1, protocol 0, length 3) + unit 1 + exception 0x83, code 2.
    let payload = [0u8, 1, 0, 0, 0, 3, 1, 0x83, 2];
    let server = [first, 255, 255, 254];
    let mut frame = Vec::with_capacity(64);
    for i in 0..n {
        // Host numbers from 1: `x.0.0.0` is no host address.
        let [_, b, c, d] = (i + 1).to_be_bytes();
        let src = [first, b, c, d];
        frame.clear();
        etherparse::PacketBuilder::ethernet2([0x02, 0, 0, b, c, d], [0x02, 0, 0, 0xff, 0xff, 0x01])
            .ipv4(src, server, 64)
            .udp(40000 + (i % 1000) as u16, 502)
            .write(&mut frame, &payload)
            .map_err(std::io::Error::other)?;
        let ts = 1_700_000_000u32 + i / 100;
        let us = (i % 100) * 10_000;
        f.write_all(&ts.to_le_bytes())?;
        f.write_all(&us.to_le_bytes())?;
        f.write_all(&(frame.len() as u32).to_le_bytes())?;
        f.write_all(&(frame.len() as u32).to_le_bytes())?;
        f.write_all(&frame)?;
    }
    f.flush()
}
