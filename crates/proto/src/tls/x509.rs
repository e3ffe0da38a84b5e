//! The few X.509 fields otwatch reports, read with the shared BER reader.

use crate::ber::{Class, Tlv};

/// Maximum SAN DNS names reported.
pub const MAX_SAN: usize = 16;

/// Fields of a certificate (all slices borrow the DER).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cert<'a> {
    pub serial: &'a [u8],
    /// The Name values (RDNSequence contents).
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
    pub not_before: &'a [u8],
    pub not_after: &'a [u8],
    /// SubjectAltName GeneralNames contents, if present.
    pub san: Option<&'a [u8]>,
}

impl Cert<'_> {
    pub fn self_signed(&self) -> bool {
        !self.subject.is_empty() && self.subject == self.issuer
    }
}

pub fn parse(der: &[u8]) -> Option<Cert<'_>> {
    let cert = Tlv::parse(der).ok()?;
    let tbs = cert.children().next()?.ok()?;
    let mut it = tbs.children().filter_map(Result::ok).peekable();
    if it.peek()?.is_context(0) {
        it.next();
    }
    let serial = it.next()?;
    let _alg = it.next()?;
    let issuer = it.next()?;
    let validity = it.next()?;
    let subject = it.next()?;
    let _spki = it.next()?;
    let mut c = Cert {
        serial: serial.value,
        issuer: issuer.value,
        subject: subject.value,
        ..Default::default()
    };
    let mut v = validity.children().filter_map(Result::ok);
    c.not_before = v.next()?.value;
    c.not_after = v.next()?.value;
    for t in it {
        if t.is_context(3) {
            // Extensions ::= SEQUENCE OF Extension {extnID, critical?, extnValue}
            let exts = t.children().next()?.ok()?;
            for e in exts.children().filter_map(Result::ok) {
                let mut f = e.children().filter_map(Result::ok);
                let Some(id) = f.next() else { continue };
                if id.value != [0x55, 0x1d, 0x11] {
                    continue;
                }
                let val = f.find(|x| x.is_universal(4))?;
                c.san = Tlv::parse(val.value).ok().map(|g| g.value);
            }
        }
    }
    Some(c)
}

fn attr_name(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x55, 0x04, 3] => "CN",
        [0x55, 0x04, 6] => "C",
        [0x55, 0x04, 7] => "L",
        [0x55, 0x04, 8] => "ST",
        [0x55, 0x04, 10] => "O",
        [0x55, 0x04, 11] => "OU",
        [0x55, 0x04, 5] => "serialNumber",
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        _ => return None,
    })
}

/// `(attribute OID, value)` of every AttributeTypeAndValue, in DER order.
fn attributes(name: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    crate::ber::Tlvs::new(name)
        .filter_map(Result::ok)
        .flat_map(|rdn| rdn.children().filter_map(Result::ok))
        .filter_map(|atv| {
            let mut f = atv.children().filter_map(Result::ok);
            let oid = f.next()?;
            let val = f.next()?;
            Some((oid.value, val.value))
        })
}

/// The Common Name of a Name.
pub fn common_name(name: &[u8]) -> Option<&[u8]> {
    attributes(name)
        .filter(|(o, _)| *o == [0x55, 0x04, 3])
        .map(|(_, v)| v)
        .last()
}

/// A Name as an RFC 2253 string (last RDN first), like Zeek's x509.log.
pub fn name_string(name: &[u8]) -> String {
    let mut parts: Vec<String> = attributes(name)
        .map(|(o, v)| {
            let k = attr_name(o).map_or_else(
                || crate::ber::oid_to_string(o).unwrap_or_default(),
                str::to_string,
            );
            let v = String::from_utf8_lossy(v).replace(',', "\\,");
            format!("{k}={v}")
        })
        .collect();
    parts.reverse();
    parts.join(",")
}

/// UTCTime / GeneralizedTime as ISO 8601 (`2014-03-12T09:53:38Z`).
pub fn time_string(t: &[u8]) -> String {
    let s = String::from_utf8_lossy(t);
    let (y, rest) = if t.len() >= 13 && t.len() < 15 {
        let yy: u32 = s.get(0..2).and_then(|x| x.parse().ok()).unwrap_or(0);
        (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..))
    } else {
        (
            s.get(0..4).and_then(|x| x.parse().ok()).unwrap_or(0),
            s.get(4..),
        )
    };
    match rest {
        // Only ten ASCII digits can be cut into fields (the lossy string may
        // hold multi-byte replacement characters).
        Some(r) if r.len() >= 10 && r.as_bytes()[..10].iter().all(u8::is_ascii_digit) => format!(
            "{y:04}-{}-{}T{}:{}:{}Z",
            &r[0..2],
            &r[2..4],
            &r[4..6],
            &r[6..8],
            &r[8..10]
        ),
        _ => s.into_owned(),
    }
}

/// dNSName entries of a SubjectAltName (capped at [`MAX_SAN`]).
pub fn san_dns(san: &[u8]) -> impl Iterator<Item = &[u8]> {
    crate::ber::Tlvs::new(san)
        .filter_map(Result::ok)
        .filter(|g| g.class == Class::Context && g.tag == 2)
        .map(|g| g.value)
        .take(MAX_SAN)
}

#[cfg(test)]
mod tests {
    use super::time_string;

    #[test]
    fn times() {
        assert_eq!(time_string(b"140312095338Z"), "2014-03-12T09:53:38Z");
        assert_eq!(time_string(b"20500101000000Z"), "2050-01-01T00:00:00Z");
        // Fuzz finding: non-ASCII bytes where digits belong are kept as text.
        let odd = time_string(b"010 {N\xe3\x0e{\x80Z");
        assert!(odd.starts_with("010 {N"), "{odd}");
    }
}
