//! SSH session tests.

use otwatch_core::{Direction, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

pub(crate) fn packet(payload: &[u8]) -> Vec<u8> {
    let pad = 8 - (payload.len() + 5) % 8 + 4;
    let mut v = ((payload.len() + pad + 1) as u32).to_be_bytes().to_vec();
    v.push(pad as u8);
    v.extend_from_slice(payload);
    v.extend(vec![0u8; pad]);
    v
}

pub(crate) fn kexinit(lists: [&str; 10]) -> Vec<u8> {
    let mut p = vec![20];
    p.extend([0x11; 16]);
    for l in lists {
        p.extend((l.len() as u32).to_be_bytes());
        p.extend(l.as_bytes());
    }
    p.extend([0, 0, 0, 0, 0]);
    packet(&p)
}

#[test]
fn banner_kexinit_newkeys_then_encrypted() {
    let f = flow(Transport::Tcp, 22, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut st = b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n".to_vec();
    st.extend(kexinit([
        "curve25519-sha256",
        "ssh-ed25519",
        "aes128-ctr",
        "aes128-ctr",
        "hmac-sha2-256",
        "hmac-sha2-256",
        "none",
        "none",
        "",
        "",
    ]));
    st.extend(packet(&[30, 0, 0, 0, 0]));
    st.extend(packet(&[21]));
    st.extend([0xde; 77]);
    let chunks: Vec<&[u8]> = st.chunks(9).collect();
    feed_stream(&mut s, &f, Direction::ToServer, &chunks, &mut rec);
    let m = rec.of("message");
    assert_eq!(m.len(), 4);
    assert_eq!(m[0]["ssh"]["software"], "OpenSSH_8.9p1");
    assert_eq!(m[0]["ssh"]["proto_version"], "2.0");
    assert_eq!(m[1]["ssh"]["kex_algorithms"], "curve25519-sha256");
    assert_eq!(
        m[1]["ssh"]["hassh_string"],
        "curve25519-sha256;aes128-ctr;hmac-sha2-256;none"
    );
    assert_eq!(m[2]["ssh"]["msg_code"], 30);
    assert_eq!(m[3]["ssh"]["msg_code"], 21);
    assert_eq!(s.encrypted_bytes[0], 77);
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn server_pre_banner_lines_and_bad_packet() {
    let f = flow(Transport::Tcp, 22, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut st = b"Welcome\r\nSSH-1.99-Cisco-1.25\n".to_vec();
    st.extend([0xff, 0xff, 0xff, 0xff, 4, 1, 2]);
    feed_stream(&mut s, &f, Direction::ToClient, &[&st], &mut rec);
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(rec.of("message")[0]["kind"], "response");
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_packet_length");
    use crate::protocols::ProtoMessage;
    let id = Message::Banner {
        line: b"SSH-2.0-OpenSSH_7.4 Debian-10",
        client: false,
    }
    .identity()
    .unwrap();
    assert_eq!(id.model.as_deref(), Some("OpenSSH_7.4"));
    assert_eq!(id.os.as_deref(), Some("Debian"));
}

#[test]
fn probe_strict() {
    assert!(probe(Transport::Tcp, b"SSH-2.0-dropbear\r\n"));
    assert!(!probe(Transport::Tcp, b"SSH-2.0-dropbear"));
    assert!(!probe(Transport::Tcp, b"HTTP/1.1 200 OK\r\n"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 22, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let mut v = b"SSH-2.0-x\r\n".to_vec();
        v.extend(chunks.concat());
        let left = feed_stream(&mut s, &f, Direction::ToServer, &[&v], &mut rec);
        proptest::prop_assert!(left <= MAX_PACKET + 4);
    }
}
