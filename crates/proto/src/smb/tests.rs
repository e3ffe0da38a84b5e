//! SMB session tests.

use otwatch_core::{Direction, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

pub(crate) fn nbss(p: &[u8]) -> Vec<u8> {
    let mut v = (p.len() as u32).to_be_bytes().to_vec();
    v[0] = 0;
    v.extend_from_slice(p);
    v
}

pub(crate) fn smb2(cmd: u16, resp: bool, status: u32, next: u32, body: &[u8]) -> Vec<u8> {
    let mut h = vec![0xfe, b'S', b'M', b'B', 64, 0, 0, 0];
    h.extend(status.to_le_bytes());
    h.extend(cmd.to_le_bytes());
    h.extend(1u16.to_le_bytes());
    h.extend((resp as u32).to_le_bytes());
    h.extend(next.to_le_bytes());
    h.extend(7u64.to_le_bytes());
    h.extend(0u32.to_le_bytes());
    h.extend(5u32.to_le_bytes());
    h.extend(0x1234u64.to_le_bytes());
    h.extend([0u8; 16]);
    h.extend_from_slice(body);
    h
}

fn u16s(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect()
}

pub(crate) fn ntlm_auth(user: &str, domain: &str, ws: &str) -> Vec<u8> {
    let (u, d, w) = (u16s(user), u16s(domain), u16s(ws));
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(3u32.to_le_bytes());
    let mut off = 72u32;
    let mut payload = Vec::new();
    let mut sb = |m: &mut Vec<u8>, v: &[u8]| {
        m.extend((v.len() as u16).to_le_bytes());
        m.extend((v.len() as u16).to_le_bytes());
        m.extend(off.to_le_bytes());
        off += v.len() as u32;
        payload.extend_from_slice(v);
    };
    sb(&mut m, &[]);
    sb(&mut m, &[]);
    sb(&mut m, &d);
    sb(&mut m, &u);
    sb(&mut m, &w);
    sb(&mut m, &[]);
    m.extend(0x0200_0001u32.to_le_bytes());
    m.extend([10, 0, 0x61, 0x4a, 0, 0, 0, 15]);
    m.extend(payload);
    m
}

/// SPNEGO NegTokenResp [1] { SEQUENCE { [2] OCTET STRING token } }.
pub(crate) fn spnego(tok: &[u8]) -> Vec<u8> {
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
    tlv(0xa1, &tlv(0x30, &tlv(0xa2, &tlv(0x04, tok))))
}

fn session_setup_req(blob: &[u8]) -> Vec<u8> {
    let mut b = vec![25, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend(((64 + 24) as u16).to_le_bytes());
    b.extend((blob.len() as u16).to_le_bytes());
    b.extend([0u8; 8]);
    b.extend_from_slice(blob);
    smb2(1, false, 0, 0, &b)
}

fn run(dir: Direction, chunks: &[&[u8]]) -> (Session, Recorder) {
    let f = flow(Transport::Tcp, 445, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_stream(&mut s, &f, dir, chunks, &mut rec);
    (s, rec)
}

#[test]
fn negotiate_and_dialect_version() {
    let f = flow(Transport::Tcp, 445, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut nb = vec![36, 0, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    nb.extend([0u8; 24]);
    nb.extend([0x02, 0x02, 0x10, 0x02, 0x11, 0x03]);
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&nbss(&smb2(0, false, 0, 0, &nb))],
        &mut rec,
    );
    let mut r = vec![65, 0, 1, 0, 0x11, 0x03];
    r.extend([0u8; 60]);
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&nbss(&smb2(0, true, 0, 0, &r))],
        &mut rec,
    );
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&nbss(&smb2(13, false, 0, 0, &[4, 0, 0, 0]))],
        &mut rec,
    );
    let m = rec.of("message");
    assert_eq!(
        m[0]["smb"]["dialects"],
        serde_json::json!(["0x0202", "0x0210", "0x0311"])
    );
    assert_eq!(m[1]["smb"]["dialect"], "0x0311");
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(m[2]["smb"]["version"], 3);
    assert_eq!(m[2]["smb"]["command_name"], "echo");
}

#[test]
fn ntlmssp_in_spnego_split_segments() {
    let p = nbss(&session_setup_req(&spnego(&ntlm_auth(
        "operator", "PLANT", "EWS01",
    ))));
    let (_, rec) = run(Direction::ToServer, &[&p[..3], &p[3..70], &p[70..]]);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    let s = &m[0]["smb"];
    assert_eq!(s["user"], "operator");
    assert_eq!(s["domain"], "PLANT");
    assert_eq!(s["workstation"], "EWS01");
    assert_eq!(s["ntlm_version"], "10.0.19041");
}

#[test]
fn logon_failure_status() {
    let mut b = vec![9, 0, 0, 0];
    b.extend([0u8; 4]);
    let (_, rec) = run(
        Direction::ToClient,
        &[&nbss(&smb2(1, true, 0xc000_006d, 0, &b))],
    );
    let s = &rec.of("message")[0]["smb"];
    assert_eq!(s["status"], 0xc000_006du32);
    assert_eq!(s["status_name"], "STATUS_LOGON_FAILURE");
}

#[test]
fn compound_tree_connect_create_ioctl() {
    let path = u16s("\\\\10.10.1.22\\ADMIN$");
    let mut tc = vec![9, 0, 0, 0];
    tc.extend(((64 + 8) as u16).to_le_bytes());
    tc.extend((path.len() as u16).to_le_bytes());
    tc.extend(&path);
    let mut first = smb2(3, false, 0, 0, &tc);
    while !first.len().is_multiple_of(8) {
        first.push(0);
    }
    let n1 = first.len() as u32;
    first[20..24].copy_from_slice(&n1.to_le_bytes());
    let name = u16s("update.exe");
    let mut cr = vec![57, 0];
    cr.extend([0u8; 42]);
    cr.extend(((64 + 56) as u16).to_le_bytes());
    cr.extend((name.len() as u16).to_le_bytes());
    cr.extend([0u8; 8]);
    cr.extend(&name);
    let mut second = smb2(5, false, 0, 0, &cr);
    while !second.len().is_multiple_of(8) {
        second.push(0);
    }
    let n2 = second.len() as u32;
    second[20..24].copy_from_slice(&n2.to_le_bytes());
    let mut io = vec![57, 0, 0, 0];
    io.extend(0x0014_0204u32.to_le_bytes());
    io.extend([0u8; 48]);
    let third = smb2(11, false, 0, 0, &io);
    let frame = [first, second, third].concat();
    let (_, rec) = run(Direction::ToServer, &[&nbss(&frame)]);
    let m = rec.of("message");
    assert_eq!(m.len(), 3, "{:?}", rec.events);
    assert_eq!(m[0]["smb"]["path"], "\\\\10.10.1.22\\ADMIN$");
    assert_eq!(m[1]["smb"]["file"], "update.exe");
    assert_eq!(m[2]["smb"]["ioctl_name"], "FSCTL_VALIDATE_NEGOTIATE_INFO");
}

#[test]
fn large_write_is_skipped_without_buffering() {
    let mut w = vec![49, 0, 112, 0];
    w.extend(200_000u32.to_le_bytes());
    w.extend([0u8; 40]);
    w.extend(vec![0x4d; 200_000]);
    let mut stream = nbss(&smb2(9, false, 0, 0, &w));
    stream.extend(nbss(&smb2(13, false, 0, 0, &[4, 0, 0, 0])));
    let chunks: Vec<&[u8]> = stream.chunks(1460).collect();
    let (_, rec) = run(Direction::ToServer, &chunks);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["smb"]["length"], 200_000);
    assert_eq!(m[0]["smb"]["truncated"], true);
    assert_eq!(m[1]["smb"]["command_name"], "echo");
}

#[test]
fn bad_header_transform_and_nbss_control() {
    let mut stream = vec![0x81, 0, 0, 4, 1, 2, 3, 4]; // NBSS session request
    stream.extend(nbss(b"\xfeSMBxxxxxxxx")); // short SMB2 header
    stream.extend(nbss(b"XXXXyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy")); // bad protocol id
    let mut tf = vec![0xfd, b'S', b'M', b'B'];
    tf.extend([0u8; 60]);
    stream.extend(nbss(&tf));
    stream.extend(nbss(&smb2(13, false, 0, 0, &[4, 0, 0, 0])));
    let (s, rec) = run(Direction::ToServer, &[&stream]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|m| m["error"]["code"].clone())
        .collect();
    assert_eq!(codes, vec!["short_header", "bad_protocol_id"]);
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(s.encrypted_frames, 1);
    assert_eq!(s.nbss_control, 1);
}

#[test]
fn smb1_andx_chain_and_trans2() {
    let mut h = vec![0xff, b'S', b'M', b'B', 0x73, 0, 0, 0, 0, 0x18, 0x01, 0x00];
    h.extend([0u8; 20]);
    // Session Setup AndX (wc 13, plain) chained to Tree Connect AndX.
    let mut words = vec![0x75, 0, 0, 0];
    words.extend([0u8; 10]);
    words.extend(0u16.to_le_bytes()); // oem pw len
    words.extend(0u16.to_le_bytes()); // unicode pw len
    words.extend([0u8; 8]);
    let bytes = b"admin\0WORKGROUP\0Unix\0".to_vec();
    let mut p = h.clone();
    p.push(13);
    p.extend(&words);
    p.extend((bytes.len() as u16).to_le_bytes());
    p.extend(&bytes);
    let tc_at = p.len() as u16;
    p[SMB1_AT + 3..SMB1_AT + 5].copy_from_slice(&tc_at.to_le_bytes());
    p.push(4);
    p.extend([0xff, 0, 0, 0, 0, 0, 1, 0]);
    let tb = b"\0\\\\PLC\\IPC$\0?????\0";
    p.extend((tb.len() as u16).to_le_bytes());
    p.extend(tb);
    let mut t2 = h.clone();
    t2[4] = 0x32;
    t2.push(15);
    let mut w = vec![0u8; 26];
    w.extend([1, 0]);
    w.extend(0x0eu16.to_le_bytes());
    t2.extend(w);
    t2.extend([0, 0]);
    let mut stream = nbss(&p);
    stream.extend(nbss(&t2));
    let (_, rec) = run(Direction::ToServer, &[&stream]);
    let m = rec.of("message");
    assert_eq!(m.len(), 3, "{:?}", rec.events);
    assert_eq!(m[0]["smb"]["user"], "admin");
    assert_eq!(m[0]["smb"]["domain"], "WORKGROUP");
    assert_eq!(m[1]["smb"]["command"], 0x75);
    assert_eq!(m[1]["smb"]["path"], "\\\\PLC\\IPC$");
    assert_eq!(m[2]["smb"]["trans2_name"], "SESSION_SETUP");
}
const SMB1_AT: usize = 32;

#[test]
fn midstream_resync_and_probe() {
    let f = flow(Transport::Tcp, 445, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut stream = vec![9u8; 33];
    stream.extend(nbss(&smb2(13, false, 0, 0, &[4, 0, 0, 0])));
    feed_stream(&mut s, &f, Direction::ToServer, &[&stream], &mut rec);
    assert_eq!(rec.of("message").len(), 1);
    assert!(rec.of("malformed").is_empty());
    assert!(probe(
        Transport::Tcp,
        &nbss(&smb2(0, false, 0, 0, &[36, 0]))
    ));
    assert!(!probe(
        Transport::Tcp,
        b"\0\0\0\x10GET / HTTP/1.1\r\n\r\n........................"
    ));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 445, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let mut v = nbss(&smb2(1, false, 0, 0, &[25]));
        v.truncate(70);
        v.extend(chunks.concat());
        let left = feed_stream(&mut s, &f, Direction::ToServer, &[&v], &mut rec);
        proptest::prop_assert!(left <= PREFIX + 4);
    }
}

#[test]
fn identity_from_ntlm_authenticate() {
    use crate::protocols::ProtoMessage;
    let blob = spnego(&ntlm_auth("operator", "PLANT", "EWS01"));
    let frame = session_setup_req(&blob);
    let (c, _) = wire::parse_smb2(&frame).unwrap();
    let m = Message {
        cmd: c,
        flow_dialect: 0x0311,
        truncated: false,
    };
    assert_eq!(m.function_code(), 0x101);
    assert_eq!(m.version(), 3);
    let id = m.identity().unwrap();
    assert_eq!(id.hostname.as_deref(), Some("EWS01"));
    assert_eq!(id.domain.as_deref(), Some("PLANT"));
    assert_eq!(id.user.as_deref(), Some("operator"));
    assert!(id.os.as_deref().unwrap().contains("19041"));
}

/// Records File events: (file id, name, offset, bytes, end).
#[derive(Default)]
struct FileRec(Vec<Piece>);

/// (file id, name, offset, bytes, end).
type Piece = (u64, Option<Vec<u8>>, u64, Vec<u8>, bool);

impl crate::event::EventSink for FileRec {
    fn on_event(&mut self, ev: &crate::event::Event<'_>) {
        if let crate::event::Event::File(f) = ev {
            self.0.push((
                f.file_id,
                f.name.map(<[u8]>::to_vec),
                f.offset,
                f.data.to_vec(),
                f.end,
            ));
        }
    }
}

#[test]
fn smb2_write_is_reported_as_file_pieces() {
    let f = flow(Transport::Tcp, 445, true);
    let mut s = Session::default();
    let mut rec = FileRec::default();
    let feed = |s: &mut Session, rec: &mut FileRec, dir: Direction, bytes: &[u8]| {
        let mut buf: Vec<u8> = Vec::new();
        for c in bytes.chunks(1460) {
            buf.extend_from_slice(c);
            let mut cx = Ctx::new(otwatch_core::Timestamp(1), &f, dir, rec);
            let n = s.on_data(&buf, false, &mut cx);
            buf.drain(..n);
        }
    };
    let name = u16s("dir\\a.bin");
    let mut create = vec![0u8; 56];
    create[0] = 57;
    create[44..46].copy_from_slice(&120u16.to_le_bytes());
    create[46..48].copy_from_slice(&(name.len() as u16).to_le_bytes());
    create.extend(&name);
    feed(
        &mut s,
        &mut rec,
        Direction::ToServer,
        &nbss(&smb2(5, false, 0, 0, &create)),
    );
    let mut resp = vec![0u8; 88];
    resp[0] = 89;
    resp[64..72].copy_from_slice(&0x11u64.to_le_bytes());
    resp[72..80].copy_from_slice(&0x22u64.to_le_bytes());
    feed(
        &mut s,
        &mut rec,
        Direction::ToClient,
        &nbss(&smb2(5, true, 0, 0, &resp)),
    );
    // A 40,000-byte write: most of it beyond the parsed prefix.
    let data: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut w = vec![0u8; 48];
    w[0] = 49;
    w[2..4].copy_from_slice(&112u16.to_le_bytes());
    w[4..8].copy_from_slice(&(data.len() as u32).to_le_bytes());
    w[8..16].copy_from_slice(&4096u64.to_le_bytes());
    w[16..24].copy_from_slice(&0x11u64.to_le_bytes());
    w[24..32].copy_from_slice(&0x22u64.to_le_bytes());
    w.extend(&data);
    feed(
        &mut s,
        &mut rec,
        Direction::ToServer,
        &nbss(&smb2(9, false, 0, 0, &w)),
    );
    let mut close = vec![0u8; 24];
    close[0] = 24;
    close[8..16].copy_from_slice(&0x11u64.to_le_bytes());
    close[16..24].copy_from_slice(&0x22u64.to_le_bytes());
    feed(
        &mut s,
        &mut rec,
        Direction::ToServer,
        &nbss(&smb2(6, false, 0, 0, &close)),
    );
    let pieces = &rec.0;
    assert!(pieces.len() >= 3, "{}", pieces.len());
    let id = pieces[0].0;
    assert!(pieces.iter().all(|p| p.0 == id));
    assert!(
        pieces
            .iter()
            .all(|p| p.1.as_deref() == Some(&b"dir\\a.bin"[..]))
    );
    let mut got = Vec::new();
    let mut at = 4096;
    for p in &pieces[..pieces.len() - 1] {
        assert_eq!(p.2, at, "contiguous offsets");
        at += p.3.len() as u64;
        got.extend_from_slice(&p.3);
        assert!(!p.4);
    }
    assert_eq!(got, data);
    let last = pieces.last().unwrap();
    assert!(last.4 && last.3.is_empty());
}

#[test]
fn smb1_trans_setup_and_nt_trans_function() {
    let mut h = vec![0xff, b'S', b'M', b'B', 0x25, 0, 0, 0, 0, 0x18, 0x01, 0x00];
    h.extend([0u8; 20]);
    // TRANSACTION (wc 16): setup count 2 at byte 26, PeekNamedPipe, FID 0.
    let mut t = h.clone();
    t.push(16);
    let mut w = vec![0u8; 26];
    w.extend([2, 0]);
    w.extend(0x23u16.to_le_bytes());
    w.extend(0u16.to_le_bytes());
    t.extend(&w);
    t.extend(7u16.to_le_bytes());
    t.extend(b"\\PIPE\\\0");
    let mut cmds = Vec::new();
    wire::parse_smb1(&t, |c| cmds.push(c)).unwrap();
    assert!(matches!(
        cmds[0].body,
        Body::Trans {
            setup: Some((0x23, 0)),
            ..
        }
    ));
    // NT_TRANSACT (wc 19): total data 66512, data count 976, function 0.
    let mut n = h.clone();
    n[4] = 0xa0;
    n.push(19);
    let mut w = vec![0u8; 38];
    w[7..11].copy_from_slice(&66512u32.to_le_bytes());
    w[27..31].copy_from_slice(&976u32.to_le_bytes());
    w[36..38].copy_from_slice(&0u16.to_le_bytes());
    n.extend(&w);
    n.extend(0u16.to_le_bytes());
    let mut cmds = Vec::new();
    wire::parse_smb1(&n, |c| cmds.push(c)).unwrap();
    assert_eq!(
        cmds[0].body,
        Body::NtTrans {
            function: 0,
            total_data: 66512,
            data_count: 976
        }
    );
}
