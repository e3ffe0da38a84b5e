//! Beckhoff ADS/AMS scenarios.

use otwatch_core::Timestamp;

use super::super::hosts::{EWS, HMI};
use super::hosts::BECKHOFF_CX;
use super::{after, send, send_invalid, send_malformed};
use crate::builder::{Cap, ms, secs};
use crate::transport::{Channel, Dir, TcpConn, UdpFlow};

pub(super) const NORMAL: &str = "The HMI (10.10.1.10) finds the Beckhoff CX9020 (10.10.2.40) with \
the ADS discovery service (UDP 48899; the CX answers with host name CX-1D4210, TwinCAT 3.1.4024 on \
Windows CE 7.0), then connects to AMS/TCP port 48898: ReadDeviceInfo (TwinCAT PLC 3.1.4024), \
ReadState (RUN), AddDeviceNotification on the PLC process image, and six cycles of Read (index \
group 0x4020), ReadWrite (symbol value by handle, group 0xF005), Write (group 0x4020) and one \
DeviceNotification pushed by the PLC; DeleteDeviceNotification at the end.";

pub(super) const STOP: &str = "An engineering workstation (192.168.10.50, routed) connects to the Beckhoff CX9020 (10.10.2.40) \
over AMS/TCP 48898 and stops the runtime: ReadState (RUN), WriteControl STOP, ReadState (STOP), \
WriteControl CONFIG (config mode) and WriteControl RUN.";

pub(super) const MALFORMED: &str = "The session of ads_stop (192.168.10.50 -> 10.10.2.40) with two malformed packets before the \
final WriteControl RUN: a Write whose length field announces 64 bytes but carries 4 (malformed, \
also a Write message; the CX answers error 0x706) and an AMS/TCP packet whose length disagrees \
with its AMS header (malformed only, not answered).";

const NET_PLC: [u8; 6] = [5, 29, 66, 16, 1, 1];
const NET_HMI: [u8; 6] = [10, 10, 1, 10, 1, 1];

fn ams(cmd: u16, response: bool, invoke: u32, data: &[u8], error: u32) -> Vec<u8> {
    let mut v = vec![0, 0];
    v.extend_from_slice(&((32 + data.len()) as u32).to_le_bytes());
    let (t, tp, s, sp) = if response {
        (NET_HMI, 32_905u16, NET_PLC, 851u16)
    } else {
        (NET_PLC, 851, NET_HMI, 32_905)
    };
    v.extend_from_slice(&t);
    v.extend_from_slice(&tp.to_le_bytes());
    v.extend_from_slice(&s);
    v.extend_from_slice(&sp.to_le_bytes());
    v.extend_from_slice(&cmd.to_le_bytes());
    v.extend_from_slice(&(if response { 5u16 } else { 4 }).to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&error.to_le_bytes());
    v.extend_from_slice(&invoke.to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn le(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

struct Client {
    ch: TcpConn,
    invoke: u32,
}

impl Client {
    fn exchange(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        cmd: u16,
        req: &[u8],
        resp: &[u8],
    ) -> Timestamp {
        self.invoke += 1;
        let r = ams(cmd, false, self.invoke, req, 0);
        send(cap, &mut self.ch, t, Dir::ToServer, &r, ("ads", cmd, true));
        let t1 = after(cap, t, 300, 1_500);
        let a = ams(cmd, true, self.invoke, resp, 0);
        send(
            cap,
            &mut self.ch,
            t1,
            Dir::ToClient,
            &a,
            ("ads", cmd, false),
        );
        t1
    }
}

fn device_info() -> Vec<u8> {
    let mut v = le(&[0]);
    v.extend_from_slice(&[3, 1]);
    v.extend_from_slice(&4024u16.to_le_bytes());
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"TwinCAT PLC");
    v.extend_from_slice(&name);
    v
}

fn state(ads: u16) -> Vec<u8> {
    let mut v = le(&[0]);
    v.extend_from_slice(&ads.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    v
}

fn discovery(cap: &mut Cap, t: Timestamp) {
    let mut u = UdpFlow::new(cap, HMI, BECKHOFF_CX, 48899, 48899);
    let mut req = vec![0x03, 0x66, 0x14, 0x71, 0, 0, 0, 0, 1, 0, 0, 0];
    req.extend_from_slice(&NET_HMI);
    req.extend_from_slice(&10000u16.to_le_bytes());
    req.extend_from_slice(&[0, 0, 0, 0]);
    send(cap, &mut u, t, Dir::ToServer, &req, ("ads", 0x101, true));
    let mut resp = vec![0x03, 0x66, 0x14, 0x71, 0, 0, 0, 0, 1, 0, 0, 0x80];
    resp.extend_from_slice(&NET_PLC);
    resp.extend_from_slice(&10000u16.to_le_bytes());
    resp.extend_from_slice(&[3, 0, 0, 0]);
    resp.extend_from_slice(&[5, 0, 10, 0]);
    resp.extend_from_slice(b"CX-1D4210\0");
    resp.extend_from_slice(&[4, 0, 20, 0]);
    resp.extend_from_slice(&le(&[0x114, 7, 0, 0, 3]));
    resp.extend_from_slice(&[3, 0, 4, 0, 3, 1]);
    resp.extend_from_slice(&4024u16.to_le_bytes());
    let t1 = after(cap, t, 500, 2_000);
    send(cap, &mut u, t1, Dir::ToClient, &resp, ("ads", 0x101, false));
}

pub(super) fn normal(cap: &mut Cap) {
    discovery(cap, cap.at(ms(20)));
    let ch = TcpConn::new(cap, HMI, BECKHOFF_CX, 48898);
    let mut c = Client { ch, invoke: 0 };
    let t = c.ch.handshake(cap, cap.at(ms(200)));
    let at = after(cap, t, 200, 800);
    let t = c.exchange(cap, at, 1, &[], &device_info());
    let at = after(cap, t, 200, 800);
    let t = c.exchange(cap, at, 4, &[], &state(5));
    let mut add = le(&[0x4020, 0, 8, 4, 0, 100_000]);
    add.extend_from_slice(&[0; 16]);
    let at = after(cap, t, 200, 800);
    let t = c.exchange(cap, at, 6, &add, &le(&[0, 0x2a]));
    let at = after(cap, t, 40_000, 41_000);
    c.ch.ack(cap, at, Dir::ToClient);
    for n in 1..=6 {
        let t = cap.at_jittered(secs(n), 2_000);
        let mut data = le(&[0, 8]);
        data.extend_from_slice(&[1, 0, 2, 0, 3, 0, 4, 0]);
        let t = c.exchange(cap, t, 2, &le(&[0x4020, 0, 8]), &data);
        let mut rw = le(&[0xf005, 0x0000_0a2c, 4, 0]);
        rw.truncate(16);
        let mut rw_resp = le(&[0, 4]);
        rw_resp.extend_from_slice(&(n as u32 * 10).to_le_bytes());
        let at = after(cap, t, 200, 600);
        let t = c.exchange(cap, at, 9, &rw, &rw_resp);
        let mut w = le(&[0x4020, 16, 2]);
        w.extend_from_slice(&[n as u8, 0]);
        let at = after(cap, t, 200, 600);
        let t = c.exchange(cap, at, 3, &w, &le(&[0]));
        // The PLC pushes the subscribed value (a request without answer).
        let mut notif = le(&[28, 1]);
        notif.extend_from_slice(&[0; 8]);
        notif.extend_from_slice(&le(&[1, 0x2a, 4]));
        notif.extend_from_slice(&[n as u8, 0, 0, 0]);
        let t2 = after(cap, t, 20_000, 60_000);
        c.invoke += 1;
        let p = ams(8, false, c.invoke, &notif, 0);
        send(cap, &mut c.ch, t2, Dir::ToClient, &p, ("ads", 8, true));
        let at = after(cap, t2, 40_000, 41_000);
        c.ch.ack(cap, at, Dir::ToClient);
    }
    let t = c.exchange(cap, cap.at(secs(7)), 7, &le(&[0x2a]), &le(&[0]));
    let at = after(cap, t, 50_000, 90_000);
    c.ch.close(cap, at);
}

pub(super) fn stop(cap: &mut Cap) {
    stop_session(cap, false);
}

pub(super) fn malformed(cap: &mut Cap) {
    stop_session(cap, true);
}

/// The stop session; with `bad`, the malformed packets are interleaved.
fn stop_session(cap: &mut Cap, bad: bool) {
    let ch = TcpConn::new(cap, EWS, BECKHOFF_CX, 48898);
    let mut c = Client { ch, invoke: 0x4000 };
    let step = |cap: &mut Cap, t: Timestamp| after(cap, t, 5_000, 50_000);
    let mut t = c.ch.handshake(cap, cap.at(ms(100)));
    let at = step(cap, t);
    t = c.exchange(cap, at, 4, &[], &state(5));
    let at = step(cap, t);
    t = c.exchange(cap, at, 5, &[6, 0, 0, 0, 0, 0, 0, 0], &le(&[0]));
    let at = step(cap, t);
    t = c.exchange(cap, at, 4, &[], &state(6));
    let at = step(cap, t);
    t = c.exchange(cap, at, 5, &[15, 0, 0, 0, 0, 0, 0, 0], &le(&[0]));
    if bad {
        // A Write whose length field disagrees with its data.
        c.invoke += 1;
        let mut w = le(&[0x4020, 0, 64]);
        w.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        t = step(cap, t);
        send_invalid(
            cap,
            &mut c.ch,
            t,
            Dir::ToServer,
            &ams(3, false, c.invoke, &w, 0),
            ("ads", 3, true),
        );
        t = after(cap, t, 300, 1_500);
        let e = ams(3, true, c.invoke, &le(&[0x706]), 0x706);
        send(cap, &mut c.ch, t, Dir::ToClient, &e, ("ads", 3, false));
        // An AMS/TCP length that disagrees with the AMS header: malformed only.
        c.invoke += 1;
        let mut bad = ams(4, false, c.invoke, &[], 0);
        bad[2] = 0x30;
        t = step(cap, t);
        send_malformed(cap, &mut c.ch, t, Dir::ToServer, &bad, "ads");
    }
    let at = step(cap, t);
    t = c.exchange(cap, at, 5, &[5, 0, 0, 0, 0, 0, 0, 0], &le(&[0]));
    let at = after(cap, t, 50_000, 90_000);
    c.ch.close(cap, at);
}
