//! Internet checksum (RFC 1071) over byte slices, for verification only.

use std::net::IpAddr;

/// Adds `b` to a running one's-complement sum (not yet folded).
///
/// The bulk is summed as little-endian 32-bit words into a 64-bit
/// accumulator (a loop the compiler vectorizes), folded, then byte-swapped:
/// the one's-complement sum does not depend on the byte order it is computed
/// in, except that the result comes out swapped (RFC 1071 §2 B).
#[inline]
pub fn sum(b: &[u8], mut acc: u64) -> u64 {
    let mut words = b.chunks_exact(4);
    let mut le: u64 = 0;
    for w in &mut words {
        le += u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as u64;
    }
    acc += fold(le).swap_bytes() as u64;
    let mut rest = words.remainder();
    while rest.len() >= 2 {
        acc += u16::from_be_bytes([rest[0], rest[1]]) as u64;
        rest = &rest[2..];
    }
    if let Some(&last) = rest.first() {
        acc += (last as u64) << 8;
    }
    acc
}

/// Folds a running sum to 16 bits.
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// True when the TCP/UDP segment `l4` (header and data) checks out with its pseudo-header.
#[inline]
pub fn transport_ok(src: IpAddr, dst: IpAddr, proto: u8, l4: &[u8]) -> bool {
    let mut acc = proto as u64 + l4.len() as u64;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc = sum(&s.octets(), acc);
            acc = sum(&d.octets(), acc);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            acc = sum(&s.octets(), acc);
            acc = sum(&d.octets(), acc);
        }
        _ => return false,
    }
    fold(sum(l4, acc)) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example words: 0001 f203 f4f5 f6f7 -> sum 0xddf2.
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&b, 0)), 0xddf2);
        // Odd length pads with a zero byte.
        assert_eq!(fold(sum(&[0x01], 0)), 0x0100);
        // Long input agrees with the simple word-by-word sum.
        let long: Vec<u8> = (0..1001u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut simple: u64 = 0;
        for c in long.chunks(2) {
            simple += (c[0] as u64) << 8 | c.get(1).copied().unwrap_or(0) as u64;
        }
        assert_eq!(fold(sum(&long, 0)), fold(simple));
        // Every length and a running sum carried in agree with it too.
        for n in 0..80 {
            let b = &long[..n];
            let mut simple: u64 = 0xfffe;
            for c in b.chunks(2) {
                simple += (c[0] as u64) << 8 | c.get(1).copied().unwrap_or(0) as u64;
            }
            assert_eq!(fold(sum(b, 0xfffe)), fold(simple), "length {n}");
        }
        // Words that carry out of 16 bits many times over.
        let ones = vec![0xffu8; 4096 + 3];
        let mut simple: u64 = 0;
        for c in ones.chunks(2) {
            simple += (c[0] as u64) << 8 | c.get(1).copied().unwrap_or(0) as u64;
        }
        assert_eq!(fold(sum(&ones, 0)), fold(simple));
    }
}
