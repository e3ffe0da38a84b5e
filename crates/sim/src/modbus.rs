//! Modbus ADU and PDU builders and a client that runs request/response
//! exchanges over a [`Channel`], recording the ground truth as it goes.

use otwatch_core::Timestamp;

use crate::Truth;
use crate::builder::{Cap, ms};
use crate::rng::Rng;
use crate::transport::{Channel, Dir};

/// The Modbus/TCP server port.
pub(crate) const PORT: u16 = 502;

/// MBAP header with explicit fields (`length` counts the unit id and PDU).
pub(crate) fn mbap(tid: u16, protocol: u16, length: u16, unit: u8) -> [u8; 7] {
    let mut h = [0u8; 7];
    h[0..2].copy_from_slice(&tid.to_be_bytes());
    h[2..4].copy_from_slice(&protocol.to_be_bytes());
    h[4..6].copy_from_slice(&length.to_be_bytes());
    h[6] = unit;
    h
}

/// A well-formed ADU: MBAP header (protocol 0, correct length) and PDU.
pub(crate) fn adu(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = mbap(tid, 0, (pdu.len() + 1) as u16, unit).to_vec();
    v.extend_from_slice(pdu);
    v
}

fn be(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

/// Functions 1–4 request (also used with quantity 0 to build a malformed one).
pub(crate) fn read_req(fc: u8, addr: u16, qty: u16) -> Vec<u8> {
    let mut v = vec![fc];
    be(&mut v, addr);
    be(&mut v, qty);
    v
}

fn pack_bits(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, &b) in bits.iter().enumerate() {
        if b {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

/// Functions 1 and 2 response.
pub(crate) fn bits_resp(fc: u8, bits: &[bool]) -> Vec<u8> {
    let packed = pack_bits(bits);
    let mut v = vec![fc, packed.len() as u8];
    v.extend_from_slice(&packed);
    v
}

/// Functions 3, 4 and 23 response.
pub(crate) fn regs_resp(fc: u8, regs: &[u16]) -> Vec<u8> {
    let mut v = vec![fc, (regs.len() * 2) as u8];
    for &r in regs {
        be(&mut v, r);
    }
    v
}

/// Functions 5 and 6 request and their echo response; function 8 (sub-function, data word).
pub(crate) fn addr_value(fc: u8, addr: u16, value: u16) -> Vec<u8> {
    let mut v = vec![fc];
    be(&mut v, addr);
    be(&mut v, value);
    v
}

/// Function 15 request.
pub(crate) fn write_coils_req(addr: u16, bits: &[bool]) -> Vec<u8> {
    let packed = pack_bits(bits);
    let mut v = vec![15];
    be(&mut v, addr);
    be(&mut v, bits.len() as u16);
    v.push(packed.len() as u8);
    v.extend_from_slice(&packed);
    v
}

/// Function 16 request.
pub(crate) fn write_regs_req(addr: u16, regs: &[u16]) -> Vec<u8> {
    let mut v = vec![16];
    be(&mut v, addr);
    be(&mut v, regs.len() as u16);
    v.push((regs.len() * 2) as u8);
    for &r in regs {
        be(&mut v, r);
    }
    v
}

/// Function 22 request and its echo response.
pub(crate) fn mask_write(addr: u16, and_mask: u16, or_mask: u16) -> Vec<u8> {
    let mut v = vec![22];
    be(&mut v, addr);
    be(&mut v, and_mask);
    be(&mut v, or_mask);
    v
}

/// Function 23 request.
pub(crate) fn read_write_req(
    read_addr: u16,
    read_qty: u16,
    write_addr: u16,
    regs: &[u16],
) -> Vec<u8> {
    let mut v = vec![23];
    be(&mut v, read_addr);
    be(&mut v, read_qty);
    be(&mut v, write_addr);
    be(&mut v, regs.len() as u16);
    v.push((regs.len() * 2) as u8);
    for &r in regs {
        be(&mut v, r);
    }
    v
}

/// Exception response to function `fc`.
pub(crate) fn exception(fc: u8, code: u8) -> Vec<u8> {
    vec![fc | 0x80, code]
}

/// Function 43 / MEI 14 Read Device Identification request.
pub(crate) fn device_id_req(read_code: u8, object_id: u8) -> Vec<u8> {
    vec![43, 14, read_code, object_id]
}

/// Function 43 / MEI 14 response with every object in one PDU.
pub(crate) fn device_id_resp(read_code: u8, objects: &[(u8, &str)]) -> Vec<u8> {
    // Conformity level 0x81: basic identification, stream and individual access.
    let mut v = vec![43, 14, read_code, 0x81, 0x00, 0x00, objects.len() as u8];
    for (id, value) in objects {
        v.push(*id);
        v.push(value.len() as u8);
        v.extend_from_slice(value.as_bytes());
    }
    v
}

/// Identity of a Modbus device, answered to Read Device Identification.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Identity {
    pub vendor: &'static str,
    pub product_code: &'static str,
    pub revision: &'static str,
}

impl Identity {
    /// The basic objects (vendor name, product code, revision) as a 43/14 response.
    pub fn response(&self) -> Vec<u8> {
        device_id_resp(
            1,
            &[(0, self.vendor), (1, self.product_code), (2, self.revision)],
        )
    }
}

/// `n` process values near `center` (e.g. a temperature in tenths of a degree).
pub(crate) fn values(rng: &mut Rng, n: usize, center: i64, spread: i64) -> Vec<u16> {
    (0..n).map(|_| rng.around(center, spread) as u16).collect()
}

/// `n` coil or input states, mostly steady.
pub(crate) fn states(rng: &mut Rng, n: usize) -> Vec<bool> {
    (0..n).map(|i| i % 3 == 0 || rng.chance(1, 8)).collect()
}

/// The normal response of a PLC to a read request built with [`read_req`].
pub(crate) fn read_resp(rng: &mut Rng, req: &[u8]) -> Vec<u8> {
    let fc = req[0];
    let qty = u16::from_be_bytes([req[3], req[4]]) as usize;
    match fc {
        1 | 2 => bits_resp(fc, &states(rng, qty)),
        _ => regs_resp(fc, &values(rng, qty, 1200, 40)),
    }
}

/// A read request (functions 1-4) and the PLC's normal answer with fresh values.
pub(crate) fn read(cap: &mut Cap, fc: u8, addr: u16, qty: u16) -> (Vec<u8>, Vec<u8>) {
    let req = read_req(fc, addr, qty);
    let resp = read_resp(&mut cap.rng, &req);
    (req, resp)
}

/// A Modbus client (HMI, SCADA, engineering station) talking to one unit.
pub(crate) struct Client<C> {
    pub ch: C,
    pub unit: u8,
    tid: u16,
    /// Server response time range in microseconds.
    pub latency_us: (u64, u64),
}

impl<C: Channel> Client<C> {
    pub fn new(cap: &mut Cap, ch: C, unit: u8) -> Client<C> {
        let tid = cap.rng.range(1, 2000) as u16;
        Client {
            ch,
            unit,
            tid,
            latency_us: (1_500, 12_000),
        }
    }

    /// The transaction id for the next request.
    pub fn next_tid(&mut self) -> u16 {
        self.tid = self.tid.wrapping_add(1);
        self.tid
    }

    /// The request ADU for `pdu` with a fresh transaction id, recorded as
    /// captured at `t` but not sent (to coalesce or split it).
    pub fn request_adu(&mut self, cap: &mut Cap, t: Timestamp, pdu: &[u8]) -> (u16, Vec<u8>) {
        let tid = self.next_tid();
        cap.truth(t, Truth::modbus(pdu[0], true));
        (tid, adu(tid, self.unit, pdu))
    }

    /// The response ADU for `pdu` in transaction `tid`, recorded as captured
    /// at `t` but not sent.
    pub fn response_adu(&mut self, cap: &mut Cap, t: Timestamp, tid: u16, pdu: &[u8]) -> Vec<u8> {
        cap.truth(t, Truth::modbus(pdu[0], false));
        adu(tid, self.unit, pdu)
    }

    /// Sends request `pdu` at `t` with a fresh transaction id; returns that id.
    pub fn request(&mut self, cap: &mut Cap, t: Timestamp, pdu: &[u8]) -> u16 {
        let (tid, a) = self.request_adu(cap, t, pdu);
        self.ch.send(cap, t, Dir::ToServer, &a);
        tid
    }

    /// Sends response `pdu` for transaction `tid` at `t`.
    pub fn respond(&mut self, cap: &mut Cap, t: Timestamp, tid: u16, pdu: &[u8]) {
        let a = self.response_adu(cap, t, tid, pdu);
        self.ch.send(cap, t, Dir::ToClient, &a);
    }

    /// A response time drawn from `latency_us`.
    pub fn latency(&self, cap: &mut Cap) -> i64 {
        cap.rng.micros(self.latency_us.0, self.latency_us.1)
    }

    /// Request at `t`, response one server latency later; returns the response time.
    pub fn exchange(&mut self, cap: &mut Cap, t: Timestamp, req: &[u8], resp: &[u8]) -> Timestamp {
        let tid = self.request(cap, t, req);
        let t1 = t.add_nanos(self.latency(cap));
        self.respond(cap, t1, tid, resp);
        t1
    }

    /// Several exchanges back to back (each request shortly after the previous
    /// response), then the client's delayed ACK; returns the last response time.
    pub fn burst(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        pairs: &[(Vec<u8>, Vec<u8>)],
    ) -> Timestamp {
        let mut at = t;
        for (i, (req, resp)) in pairs.iter().enumerate() {
            if i > 0 {
                at = at.add_nanos(cap.rng.micros(300, 900));
            }
            at = self.exchange(cap, at, req, resp);
        }
        self.idle_ack(cap, at);
        at
    }

    /// The client's delayed ACK of the last response (TCP only).
    pub fn idle_ack(&mut self, cap: &mut Cap, last_response: Timestamp) {
        let t = last_response.add_nanos(ms(40) + cap.rng.micros(0, 900));
        self.ch.ack(cap, t, Dir::ToClient);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otwatch_proto::modbus::wire::{Side, parse_adu};

    #[test]
    fn builders_produce_valid_adus() {
        let reqs = [
            read_req(3, 0, 10),
            addr_value(5, 0xac, 0xff00),
            write_coils_req(0x13, &[true; 10]),
            write_regs_req(0x64, &[1, 2, 3]),
            mask_write(4, 0xf2, 0x25),
            read_write_req(3, 4, 14, &[1, 2, 3]),
            device_id_req(1, 0),
        ];
        for r in &reqs {
            let a = adu(1, 1, r);
            let p = parse_adu(&a, Side::Request).expect("valid request");
            assert_eq!(p.function_code, r[0]);
        }
        let mut rng = Rng::new(1, "t");
        let resps = [
            read_resp(&mut rng, &read_req(1, 0, 13)),
            read_resp(&mut rng, &read_req(4, 0, 7)),
            regs_resp(23, &[1, 2]),
            exception(3, 2),
            Identity {
                vendor: "Schneider Electric",
                product_code: "BMX P34 2020",
                revision: "v3.20",
            }
            .response(),
        ];
        for r in &resps {
            let a = adu(1, 1, r);
            let p = parse_adu(&a, Side::Response).expect("valid response");
            assert_eq!(p.function_code, r[0] & 0x7f);
        }
        assert_eq!(mbap(7, 0x1234, 6, 1), [0, 7, 0x12, 0x34, 0, 6, 1]);
    }
}
