//! Pure, zero-copy parsing of Sampled Values frames (IEC 61850-9-2,
//! EtherType 0x88BA): the header (shared with GOOSE), the savPdu and its ASDUs.

use crate::ber::{BerError, Class, Tlv, Tlvs};
pub use crate::goose::wire::{Error, Header, header};

/// One ASDU of a savPdu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asdu<'a> {
    pub sv_id: Option<&'a [u8]>,
    pub dat_set: Option<&'a [u8]>,
    pub smp_cnt: Option<u16>,
    pub conf_rev: Option<u32>,
    /// refrTm (UtcTime, 8 octets).
    pub refr_tm: Option<&'a [u8]>,
    /// 0 none, 1 local, 2 global.
    pub smp_synch: Option<u8>,
    pub smp_rate: Option<u16>,
    pub seq_data: Option<&'a [u8]>,
    pub smp_mod: Option<u16>,
}

/// The savPdu: the number of ASDUs announced and the `seqASDU` contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavPdu<'a> {
    pub header: Header,
    pub no_asdu: Option<u32>,
    /// Contents of `seqASDU` (walk with [`asdus`]).
    pub seq_asdu: &'a [u8],
}

fn ber(what: &'static str) -> impl Fn(BerError) -> Error {
    move |err| Error::Ber { what, err }
}

/// Reads the header and the savPdu. The second value is a problem found in
/// a frame that could still be decoded (a bad Length, a bad element).
pub fn parse(b: &[u8]) -> Result<(SavPdu<'_>, Option<Error>), Error> {
    let (header, apdu, mut problem) = header(b)?;
    // The savPdu may run past a Length that is too short: decode what the
    // Length covers, as tshark does.
    let t = match Tlv::parse(apdu) {
        Ok(t) => t,
        Err(BerError::Truncated) if apdu.len() >= 2 && apdu[0] == 0x60 => Tlv {
            class: Class::Application,
            constructed: true,
            tag: 0,
            value: apdu.get(2..).unwrap_or_default(),
            len: apdu.len(),
        },
        Err(e) => return Err(ber("savPdu")(e)),
    };
    if t.class != Class::Application || t.tag != 0 || !t.constructed {
        return Err(Error::NotApdu {
            expected: 0,
            class: t.class,
            tag: t.tag,
        });
    }
    let mut out = SavPdu {
        header,
        no_asdu: None,
        seq_asdu: &[],
    };
    let mut rest = t.value;
    while !rest.is_empty() {
        let e = match Tlv::parse(rest) {
            Ok(e) => e,
            Err(BerError::Truncated) if rest.first() == Some(&0xa2) => {
                // seqASDU cut by the Length: keep what is there.
                problem.get_or_insert(Error::Ber {
                    what: "seqASDU",
                    err: BerError::Truncated,
                });
                out.seq_asdu = skip_header(rest);
                break;
            }
            Err(err) => {
                problem.get_or_insert(Error::Ber {
                    what: "savPdu field",
                    err,
                });
                break;
            }
        };
        rest = &rest[e.len..];
        if e.is_context(0) {
            out.no_asdu = e.uint().and_then(|v| u32::try_from(v).ok());
        } else if e.is_context(2) {
            out.seq_asdu = e.value;
        }
    }
    if out.no_asdu.is_none() {
        problem.get_or_insert(Error::Missing("noASDU"));
    }
    Ok((out, problem))
}

/// The value octets after a tag and definite length (possibly cut short).
fn skip_header(b: &[u8]) -> &[u8] {
    let Some(&l0) = b.get(1) else { return &[] };
    let n = if l0 & 0x80 == 0 {
        2
    } else {
        2 + (l0 & 0x7f) as usize
    };
    b.get(n..).unwrap_or_default()
}

/// Decodes one ASDU (`SEQUENCE`), possibly cut short: returns the fields read
/// and the problem found, if any.
pub fn asdu(b: &[u8]) -> (Asdu<'_>, Option<Error>) {
    let mut a = Asdu {
        sv_id: None,
        dat_set: None,
        smp_cnt: None,
        conf_rev: None,
        refr_tm: None,
        smp_synch: None,
        smp_rate: None,
        seq_data: None,
        smp_mod: None,
    };
    let mut problem = None;
    for e in Tlvs::new(b) {
        let e = match e {
            Ok(e) => e,
            Err(err) => {
                problem = Some(Error::Ber {
                    what: "ASDU field",
                    err,
                });
                break;
            }
        };
        if e.class != Class::Context {
            continue;
        }
        let u = e.uint();
        match e.tag {
            0 => a.sv_id = Some(e.value),
            1 => a.dat_set = Some(e.value),
            2 => a.smp_cnt = u.and_then(|v| u16::try_from(v).ok()),
            3 => a.conf_rev = u.and_then(|v| u32::try_from(v).ok()),
            4 => a.refr_tm = Some(e.value),
            5 => a.smp_synch = u.and_then(|v| u8::try_from(v).ok()),
            6 => a.smp_rate = u.and_then(|v| u16::try_from(v).ok()),
            7 => a.seq_data = Some(e.value),
            8 => a.smp_mod = u.and_then(|v| u16::try_from(v).ok()),
            _ => {}
        }
    }
    if problem.is_none() {
        let req = [
            (a.sv_id.is_some(), "svID"),
            (a.smp_cnt.is_some(), "smpCnt"),
            (a.conf_rev.is_some(), "confRev"),
            (a.smp_synch.is_some(), "smpSynch"),
            (a.seq_data.is_some(), "seqData"),
        ];
        if let Some((_, n)) = req.iter().find(|(ok, _)| !ok) {
            problem = Some(Error::Missing(n));
        }
    }
    (a, problem)
}

/// The ASDUs of `seqASDU`: the contents of each `SEQUENCE` (the last one
/// possibly cut short by a too-small Length).
pub fn asdus(seq: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = seq;
    std::iter::from_fn(move || {
        if rest.first() != Some(&0x30) {
            return None;
        }
        match Tlv::parse(rest) {
            Ok(t) => {
                rest = &rest[t.len..];
                Some(t.value)
            }
            Err(_) => {
                let v = skip_header(rest);
                rest = &[];
                (!v.is_empty()).then_some(v)
            }
        }
    })
}

/// The 9-2LE values of a 64-octet seqData: 8 × (value i32, quality u32).
pub fn le_values(seq: &[u8]) -> Option<[(i32, u32); 8]> {
    if seq.len() != 64 {
        return None;
    }
    let mut out = [(0i32, 0u32); 8];
    for (i, c) in seq.chunks_exact(8).enumerate() {
        out[i] = (
            i32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
        );
    }
    Some(out)
}
