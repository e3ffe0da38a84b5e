//! TLS session tests.

use otwatch_core::{Direction, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn ext(t: u16, d: &[u8]) -> Vec<u8> {
    let mut v = t.to_be_bytes().to_vec();
    v.extend((d.len() as u16).to_be_bytes());
    v.extend_from_slice(d);
    v
}

fn hs(t: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![t];
    v.extend(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

fn record(ct: u8, ver: u16, frag: &[u8]) -> Vec<u8> {
    let mut v = vec![ct];
    v.extend(ver.to_be_bytes());
    v.extend((frag.len() as u16).to_be_bytes());
    v.extend_from_slice(frag);
    v
}

pub(crate) fn client_hello(sni: &str, tls13: bool) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([7u8; 32]);
    b.push(0);
    let ciphers: &[u16] = &[0x0a0a, 0x1301, 0xc02f, 0x009c];
    b.extend(((ciphers.len() * 2) as u16).to_be_bytes());
    for c in ciphers {
        b.extend(c.to_be_bytes());
    }
    b.extend([1, 0]);
    let mut e = Vec::new();
    e.extend(ext(0x1a1a, &[]));
    let mut sn = vec![0];
    sn.extend((sni.len() as u16).to_be_bytes());
    sn.extend(sni.as_bytes());
    let mut l = (sn.len() as u16).to_be_bytes().to_vec();
    l.extend(sn);
    e.extend(ext(0, &l));
    e.extend(ext(10, &[0, 4, 0, 0x1d, 0, 0x17]));
    e.extend(ext(11, &[1, 0]));
    e.extend(ext(13, &[0, 4, 4, 3, 8, 4]));
    e.extend(ext(16, &[0, 3, 2, b'h', b'2']));
    if tls13 {
        e.extend(ext(43, &[4, 0x3a, 0x3a, 3, 4]));
    }
    b.extend((e.len() as u16).to_be_bytes());
    b.extend(e);
    hs(1, &b)
}

pub(crate) fn server_hello(cipher: u16) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([9u8; 32]);
    b.push(0);
    b.extend(cipher.to_be_bytes());
    b.push(0);
    let e = ext(0xff01, &[0]);
    b.extend((e.len() as u16).to_be_bytes());
    b.extend(e);
    hs(2, &b)
}

#[test]
fn client_hello_fields_and_fingerprints() {
    let f = flow(Transport::Tcp, 443, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let r = record(22, 0x0301, &client_hello("hmi.plant.local", true));
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&r[..3], &r[3..20], &r[20..]],
        &mut rec,
    );
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    let t = &m[0]["tls"];
    assert_eq!(t["sni"], "hmi.plant.local");
    assert_eq!(t["alpn"][0], "h2");
    assert_eq!(t["version"], 0x0304);
    assert_eq!(t["record_version"], 0x0301);
    assert_eq!(
        t["ja3_string"],
        "771,4865-49199-156,0-10-11-13-16-43,29-23,0"
    );
    assert_eq!(
        t["ja3"],
        fingerprint::md5_hex("771,4865-49199-156,0-10-11-13-16-43,29-23,0")
    );
    let ja4 = t["ja4"].as_str().unwrap();
    assert!(ja4.starts_with("t13d0306h2_"), "{ja4}");
    assert_eq!(ja4.len(), 36);
    assert_eq!(m[0]["kind"], "request");
}

#[test]
fn handshake_spanning_records_and_several_per_record() {
    let f = flow(Transport::Tcp, 443, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut msgs = server_hello(0xc02f);
    msgs.extend(hs(11, &[0, 0, 0]));
    msgs.extend(hs(14, &[]));
    // Split the three handshake messages over three records at odd places.
    let mut stream = record(22, 0x0303, &msgs[..10]);
    stream.extend(record(22, 0x0303, &msgs[10..msgs.len() - 2]));
    stream.extend(record(22, 0x0303, &msgs[msgs.len() - 2..]));
    stream.extend(record(20, 0x0303, &[1]));
    stream.extend(record(22, 0x0303, &[0xaa; 40])); // encrypted Finished
    stream.extend(record(23, 0x0303, &[0xbb; 100]));
    feed_stream(&mut s, &f, Direction::ToClient, &[&stream], &mut rec);
    let fcs: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["tls"]["handshake_type"].clone())
        .collect();
    assert_eq!(
        fcs,
        vec![
            serde_json::json!(2),
            11.into(),
            14.into(),
            serde_json::Value::Null
        ]
    );
    assert_eq!(s.encrypted_records[1], 2);
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn alert_and_bad_record_resync() {
    let f = flow(Transport::Tcp, 443, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut stream = record(21, 0x0303, &[2, 40]);
    stream.extend([0x16, 0x03, 0x03, 0xff, 0xff, 1, 2, 3]); // bad length
    stream.extend(record(21, 0x0303, &[1, 0]));
    feed_stream(&mut s, &f, Direction::ToClient, &[&stream], &mut rec);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["tls"]["alert_description"], 40);
    assert_eq!(rec.of("malformed").len(), 1);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_record_length");
}

#[test]
fn oversized_handshake_is_malformed() {
    let f = flow(Transport::Tcp, 443, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let r = record(22, 0x0303, &[11, 0x10, 0, 0, 1, 2]);
    feed_stream(&mut s, &f, Direction::ToClient, &[&r], &mut rec);
    assert_eq!(
        rec.of("malformed")[0]["error"]["code"],
        "handshake_too_long"
    );
}

#[test]
fn certificate_fields() {
    // A minimal self-signed certificate structure (signature not checked).
    fn tlv(t: u8, v: &[u8]) -> Vec<u8> {
        let mut o = vec![t];
        if v.len() < 128 {
            o.push(v.len() as u8)
        } else {
            o.extend([0x82, (v.len() >> 8) as u8, v.len() as u8])
        }
        o.extend_from_slice(v);
        o
    }
    let cn = tlv(
        0x30,
        &tlv(
            0x31,
            &tlv(
                0x30,
                &[tlv(0x06, &[0x55, 4, 3]), tlv(0x0c, b"plc1")].concat(),
            ),
        ),
    );
    let validity = tlv(
        0x30,
        &[tlv(0x17, b"240101000000Z"), tlv(0x17, b"340101000000Z")].concat(),
    );
    let tbs = tlv(
        0x30,
        &[
            tlv(0xa0, &tlv(2, &[2])),
            tlv(2, &[0x12, 0x34]),
            tlv(0x30, &[]),
            cn.clone(),
            validity,
            cn,
            tlv(0x30, &[]),
        ]
        .concat(),
    );
    let cert = tlv(0x30, &[tbs, tlv(0x30, &[]), tlv(3, &[0])].concat());
    let mut list = (cert.len() as u32).to_be_bytes()[1..].to_vec();
    list.extend(&cert);
    let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
    body.extend(list);
    let f = flow(Transport::Tcp, 443, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&record(22, 0x0303, &hs(11, &body))],
        &mut rec,
    );
    let t = &rec.of("message")[0]["tls"];
    assert_eq!(t["cert_subject"], "CN=plc1");
    assert_eq!(t["cert_self_signed"], true);
    assert_eq!(t["cert_not_after"], "2034-01-01T00:00:00Z");
    assert_eq!(t["cert_serial"], "1234");
}

#[test]
fn probe_and_midstream() {
    let r = record(22, 0x0301, &client_hello("a", false));
    assert!(probe(Transport::Tcp, &r));
    assert!(!probe(Transport::Tcp, &record(23, 0x0303, &[1; 50])));
    assert!(!probe(Transport::Udp, &r));
    let f = flow(Transport::Tcp, 443, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut stream = vec![1, 2, 3, 4, 5, 6, 7];
    stream.extend(record(23, 0x0303, &[0; 20]));
    stream.extend(record(21, 0x0303, &[1, 0]));
    feed_stream(&mut s, &f, Direction::ToServer, &[&stream], &mut rec);
    assert!(rec.of("malformed").is_empty());
    assert_eq!(rec.of("message").len(), 1);
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 443, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let mut v = vec![22u8, 3, 3, 0, 40];
        v.extend(chunks.concat());
        let refs: Vec<&[u8]> = vec![&v[..]];
        let left = feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        proptest::prop_assert!(left <= wire::MAX_RECORD + 5);
    }
}

/// A Chrome 143 ClientHello rebuilt from a published fingerprint record
/// (ja4_ro / ja3_text with their hashes): checks JA3 and JA4 end to end.
#[test]
fn ja3_ja4_reference_vector() {
    let ciphers: &[u16] = &[
        0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
        0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    ];
    let exts: &[u16] = &[
        0x0a0a, 0x002d, 0x0033, 0x0010, 0xfe0d, 0x0017, 0x44cd, 0x0000, 0x000b, 0x000a, 0x002b,
        0xff01, 0x0023, 0x0012, 0x0005, 0x000d, 0x001b, 0x1a1a,
    ];
    let mut b = vec![3, 3];
    b.extend([1u8; 32]);
    b.push(0);
    b.extend(((ciphers.len() * 2) as u16).to_be_bytes());
    for c in ciphers {
        b.extend(c.to_be_bytes());
    }
    b.extend([1, 0]);
    let mut e = Vec::new();
    for &t in exts {
        let d: Vec<u8> = match t {
            0x0000 => {
                let n = b"tls.browserleaks.com";
                let mut v = ((n.len() + 3) as u16).to_be_bytes().to_vec();
                v.push(0);
                v.extend((n.len() as u16).to_be_bytes());
                v.extend(n);
                v
            }
            0x0010 => vec![
                0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
            ],
            0x000a => vec![0, 10, 0xaa, 0xaa, 0x11, 0xec, 0, 0x1d, 0, 0x17, 0, 0x18],
            0x000b => vec![1, 0],
            0x002b => vec![6, 0xba, 0xba, 3, 4, 3, 3],
            0x000d => {
                let s: &[u16] = &[
                    0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
                ];
                let mut v = ((s.len() * 2) as u16).to_be_bytes().to_vec();
                for x in s {
                    v.extend(x.to_be_bytes());
                }
                v
            }
            _ => vec![],
        };
        e.extend(ext(t, &d));
    }
    b.extend((e.len() as u16).to_be_bytes());
    b.extend(e);
    let h = wire::parse_client_hello(&b).unwrap();
    assert_eq!(
        fingerprint::ja3_string(&h),
        "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0"
    );
    assert_eq!(fingerprint::ja3(&h), "98487aa16281980e7d1120d399efb6a4");
    assert_eq!(fingerprint::ja4(&h), "t13d1516h2_8daaf6152771_d8a2da3f94cd");
}

#[test]
fn identity_from_sni() {
    use crate::protocols::ProtoMessage;
    let ch = client_hello("plc.plant.local", false);
    let h = wire::parse_client_hello(&ch[4..]).unwrap();
    let m = Message {
        record_version: 0x0301,
        content_type: 22,
        body: Body::ClientHello(h),
    };
    assert_eq!(m.function_code(), 5633);
    let id = m.identity().unwrap();
    assert_eq!(id.subject, crate::ident::Subject::Receiver);
    assert_eq!(id.hostname.as_deref(), Some("plc.plant.local"));
}
