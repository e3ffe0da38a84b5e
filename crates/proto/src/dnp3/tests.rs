//! Session-level tests: link framing, transport reassembly, resync and matching.

use otwatch_core::{Direction, FlowInfo, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

const MASTER: u16 = 1;
const OUTSTATION: u16 = 10;
/// DIR | PRM | unconfirmed user data.
const FROM_MASTER: u8 = 0xc4;
/// PRM | unconfirmed user data.
const FROM_OUTSTATION: u8 = 0x44;

/// A link frame with correct header and block CRCs.
fn frame(control: u8, dst: u16, src: u16, user: &[u8]) -> Vec<u8> {
    super::wire::encode_frame(control, dst, src, user).expect("at most 250 bytes of user data")
}

/// Link frames carrying the fragment `app` in transport segments of at most
/// `seg` application bytes, transport sequence numbers from `tseq`.
fn segments(control: u8, dst: u16, src: u16, app: &[u8], seg: usize, tseq: u8) -> Vec<Vec<u8>> {
    let parts: Vec<&[u8]> = app.chunks(seg).collect();
    let n = parts.len();
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut th = (tseq.wrapping_add(i as u8)) & 0x3f;
            if i == 0 {
                th |= 0x40;
            }
            if i + 1 == n {
                th |= 0x80;
            }
            let mut user = vec![th];
            user.extend_from_slice(p);
            frame(control, dst, src, &user)
        })
        .collect()
}

/// Application request fragment (FIR, FIN).
fn request(seq: u8, fc: u8, objects: &[u8]) -> Vec<u8> {
    let mut v = vec![0xc0 | (seq & 0x0f), fc];
    v.extend_from_slice(objects);
    v
}

/// Application response fragment with IIN.
fn response(control: u8, fc: u8, iin: u16, objects: &[u8]) -> Vec<u8> {
    let mut v = vec![control, fc];
    v.extend_from_slice(&iin.to_be_bytes());
    v.extend_from_slice(objects);
    v
}

fn master_frame(app: &[u8]) -> Vec<u8> {
    segments(FROM_MASTER, OUTSTATION, MASTER, app, 249, 0).remove(0)
}

fn outstation_frame(app: &[u8]) -> Vec<u8> {
    segments(FROM_OUTSTATION, MASTER, OUTSTATION, app, 249, 0).remove(0)
}

const READ_CLASS0: [u8; 3] = [60, 1, 0x06];

/// Feeds one datagram or stream chunk at time `ts` (ns); returns bytes consumed.
fn feed_at(
    s: &mut Session,
    f: &FlowInfo,
    dir: Direction,
    ts: i64,
    data: &[u8],
    datagram: bool,
    rec: &mut Recorder,
) -> usize {
    let mut cx = crate::Ctx::new(Timestamp(ts), f, dir, rec);
    s.on_data(data, datagram, &mut cx)
}

fn codes(rec: &Recorder) -> Vec<String> {
    rec.of("malformed")
        .iter()
        .map(|m| m["error"]["code"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn read_class0_request() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let fr = master_frame(&request(3, 1, &READ_CLASS0));
    assert_eq!(fr.len(), 10 + 6 + 2);
    let left = feed_stream(&mut s, &f, Direction::ToServer, &[&fr], &mut rec);
    assert_eq!(left, 0);
    assert!(codes(&rec).is_empty());
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[0]["proto"], "dnp3");
    let d = &m[0]["dnp3"];
    assert_eq!(d["function_code"], 1);
    assert_eq!(d["function"], "read");
    assert_eq!(d["src_addr"], MASTER);
    assert_eq!(d["dst_addr"], OUTSTATION);
    assert_eq!(d["link_function"], 4);
    assert_eq!(d["link_function_name"], "unconfirmed_user_data");
    assert_eq!(d["link_dir"], true);
    assert_eq!(d["transport_seq"], 0);
    assert_eq!(d["app_seq"], 3);
    assert_eq!(d["fir"], true);
    assert_eq!(d["fin"], true);
    assert_eq!(d["con"], false);
    assert_eq!(d["uns"], false);
    assert!(d.get("iin").is_none());
    assert_eq!(
        d["objects"],
        serde_json::json!([{"group": 60, "variation": 1, "qualifier": 6, "prefix": "none",
            "range": "all", "count": 0}])
    );
    assert_eq!(d["objects_complete"], true);
    assert_eq!(s.link_frames, 1);
    assert_eq!(s.link_only_frames, 0);
}

/// g30v1 (32-bit analog with flag) indices 0..=1, 2-byte range; g1v2 0..=2.
fn analog_and_binary_objects() -> Vec<u8> {
    let mut o = vec![30, 1, 0x01, 0, 0, 1, 0];
    o.extend_from_slice(&[0x01, 0x2c, 0x01, 0, 0, 0x01, 0xff, 0xff, 0xff, 0xff]);
    o.extend_from_slice(&[1, 2, 0x00, 0, 2, 0x81, 0x01, 0x01]);
    o
}

#[test]
fn response_with_analog_inputs_and_binary_inputs() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let app = response(0xc3, 129, 0x8000, &analog_and_binary_objects());
    assert!(app.len() + 1 > 16, "exercises the multi-block copy path");
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&outstation_frame(&app)],
        &mut rec,
    );
    assert!(codes(&rec).is_empty(), "{:?}", rec.events);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["kind"], "response");
    let d = &m[0]["dnp3"];
    assert_eq!(d["function"], "response");
    assert_eq!(d["iin"], 0x8000);
    assert_eq!(d["iin_flags"], serde_json::json!(["device_restart"]));
    assert_eq!(d["src_addr"], OUTSTATION);
    assert_eq!(d["objects_complete"], true);
    let o = d["objects"].as_array().unwrap();
    assert_eq!(o.len(), 2);
    assert_eq!(o[0]["group"], 30);
    assert_eq!(o[0]["range"], "start_stop_2");
    assert_eq!(o[0]["start"], 0);
    assert_eq!(o[0]["stop"], 1);
    assert_eq!(o[0]["count"], 2);
    assert_eq!(o[1]["group"], 1);
    assert_eq!(o[1]["variation"], 2);
    assert_eq!(o[1]["range"], "start_stop_1");
    assert_eq!(o[1]["count"], 3);
    // Unmatched: no request was seen.
    assert!(d.get("request_function_code").is_none());
    assert_eq!(s.unmatched_responses, 1);
}

/// (group, variation, count, data length) of one object header.
type Obj = (u8, u8, u32, usize);

/// Captures the typed message (not its JSON) of every app event:
/// (function, segments, object count, complete, objects).
#[derive(Default)]
struct Typed {
    msgs: Vec<(u8, u16, u16, bool, Vec<Obj>)>,
}

impl crate::EventSink for Typed {
    fn on_event(&mut self, ev: &crate::Event<'_>) {
        if let crate::Event::App(a) = ev
            && let crate::Message::Dnp3(m) = a.msg
        {
            let objs = m
                .object_headers()
                .map(|h| (h.group, h.variation, h.count, h.data.len()))
                .collect();
            self.msgs.push((
                m.function_code,
                m.segments,
                m.object_count,
                m.objects_complete,
                objs,
            ));
        }
    }
}

#[test]
fn response_reassembled_from_three_frames() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    // 60 analog inputs (300 bytes) in one fragment, three segments; the
    // transport sequence wraps from 63 to 0.
    let mut objs = vec![30, 1, 0x01, 0, 0, 59, 0];
    for i in 0..60u8 {
        objs.extend_from_slice(&[1, i, 0, 0, 0]);
    }
    let app = response(0xc0, 129, 0, &objs);
    let frames = segments(FROM_OUTSTATION, MASTER, OUTSTATION, &app, 110, 62);
    assert_eq!(frames.len(), 3);
    for fr in &frames[..2] {
        feed_stream(&mut s, &f, Direction::ToClient, &[fr], &mut rec);
    }
    assert!(rec.events.is_empty());
    feed_stream(&mut s, &f, Direction::ToClient, &[&frames[2]], &mut rec);
    assert!(codes(&rec).is_empty(), "{:?}", rec.events);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    let d = &m[0]["dnp3"];
    assert_eq!(d["segments"], 3);
    assert_eq!(d["transport_seq"], 0);
    assert_eq!(d["objects"][0]["count"], 60);
    assert_eq!(d["objects_complete"], true);
    assert_eq!(s.link_frames, 3);

    // The typed view, and the reassembly buffer is reused without growing.
    let cap = s.dirs[Direction::ToClient.idx()].frag.capacity();
    assert!(cap >= app.len() - 1);
    let mut typed = Typed::default();
    for fr in &frames {
        let mut cx = crate::Ctx::new(Timestamp(0), &f, Direction::ToClient, &mut typed);
        assert_eq!(s.on_data(fr, false, &mut cx), fr.len());
    }
    assert_eq!(typed.msgs, vec![(129, 3, 1, true, vec![(30, 1, 60, 300)])]);
    assert_eq!(s.dirs[Direction::ToClient.idx()].frag.capacity(), cap);
}

#[test]
fn frame_split_across_tcp_segments() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let fr = outstation_frame(&response(0xc1, 129, 0, &analog_and_binary_objects()));
    // Cuts inside the header, inside a block and inside a block CRC.
    let left = feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&fr[..3], &fr[3..9], &fr[9..20], &fr[20..27], &fr[27..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    assert!(codes(&rec).is_empty());
    assert_eq!(rec.of("message").len(), 1);
}

#[test]
fn two_frames_in_one_segment() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = master_frame(&request(1, 1, &READ_CLASS0));
    seg.extend(master_frame(&request(
        2,
        20,
        &[60, 2, 6, 60, 3, 6, 60, 4, 6],
    )));
    let left = feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(left, 0);
    let fcs: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["dnp3"]["function"].clone())
        .collect();
    assert_eq!(fcs, ["read", "enable_unsolicited"]);
}

#[test]
fn bad_header_crc_is_malformed_and_next_frame_parses() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = master_frame(&request(1, 1, &READ_CLASS0));
    seg[8] ^= 0x55;
    seg.extend(master_frame(&request(2, 1, &READ_CLASS0)));
    let left = feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(left, 0);
    assert_eq!(codes(&rec), ["bad_header_crc"]);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["dnp3"]["app_seq"], 2);
}

#[test]
fn bad_block_crc_drops_the_frame_only() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = outstation_frame(&response(0xc1, 129, 0, &analog_and_binary_objects()));
    seg[12] ^= 0xff; // inside the first data block
    let first_len = seg.len();
    seg.extend(outstation_frame(&response(0xc2, 129, 0, &[])));
    feed_stream(&mut s, &f, Direction::ToClient, &[&seg], &mut rec);
    assert_eq!(codes(&rec), ["bad_block_crc"]);
    assert_eq!(
        rec.of("malformed")[0]["error"]["data"]
            .as_str()
            .unwrap()
            .len(),
        2 * first_len
    );
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["dnp3"]["app_seq"], 2);
}

#[test]
fn bad_block_crc_in_a_segment_drops_the_fragment_quietly() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut app = response(0xc0, 129, 0, &[1, 2, 0x00, 0, 199]);
    app.extend(std::iter::repeat_n(1u8, 200));
    let mut frames = segments(FROM_OUTSTATION, MASTER, OUTSTATION, &app, 80, 0);
    assert_eq!(frames.len(), 3);
    frames[0][12] ^= 1;
    for fr in &frames {
        feed_stream(&mut s, &f, Direction::ToClient, &[fr], &mut rec);
    }
    // The broken first segment is reported; its continuation is dropped silently.
    assert_eq!(codes(&rec), ["bad_block_crc"]);
    assert!(rec.of("message").is_empty());
}

#[test]
fn link_only_frames_are_counted_not_reported() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let status_req = frame(0xc9, OUTSTATION, MASTER, &[]);
    // Reset Link States to 1 from 1024: the specification's example frame.
    let reset = frame(0xc0, 1, 1024, &[]);
    assert_eq!(
        reset,
        [0x05, 0x64, 0x05, 0xc0, 0x01, 0x00, 0x00, 0x04, 0xe9, 0x21]
    );
    let status = frame(0x0b, MASTER, OUTSTATION, &[]);
    let ack = frame(0x00, MASTER, OUTSTATION, &[]);
    let mut seg = status_req.clone();
    seg.extend(&reset);
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    let mut seg = status.clone();
    seg.extend(&ack);
    feed_stream(&mut s, &f, Direction::ToClient, &[&seg], &mut rec);
    assert!(rec.events.is_empty(), "{:?}", rec.events);
    assert_eq!(s.link_frames, 4);
    assert_eq!(s.link_only_frames, 4);
}

#[test]
fn responses_match_requests_with_latency() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let (up, down) = (Direction::ToServer, Direction::ToClient);
    feed_at(
        &mut s,
        &f,
        up,
        1_000_000,
        &master_frame(&request(5, 1, &READ_CLASS0)),
        false,
        &mut rec,
    );
    feed_at(
        &mut s,
        &f,
        up,
        1_100_000,
        &master_frame(&request(6, 2, &[80, 1, 0, 7, 7, 0])),
        false,
        &mut rec,
    );
    // Out of order: the write is answered first.
    feed_at(
        &mut s,
        &f,
        down,
        2_000_000,
        &outstation_frame(&response(0xc6, 129, 0, &[])),
        false,
        &mut rec,
    );
    // A multi-fragment answer to the read: seq 5 then 6.
    let first = response(0x85, 129, 0, &analog_and_binary_objects());
    let last = response(0x46, 129, 0, &[1, 2, 0x00, 3, 3, 0x01]);
    feed_at(
        &mut s,
        &f,
        down,
        3_500_000,
        &outstation_frame(&first),
        false,
        &mut rec,
    );
    feed_at(
        &mut s,
        &f,
        down,
        3_600_000,
        &outstation_frame(&last),
        false,
        &mut rec,
    );
    // Unsolicited responses are not matched (and not counted as unmatched).
    feed_at(
        &mut s,
        &f,
        down,
        4_000_000,
        &outstation_frame(&response(0xf0, 130, 0, &[])),
        false,
        &mut rec,
    );
    // A confirm is a request, but no answer is expected.
    feed_at(
        &mut s,
        &f,
        up,
        4_100_000,
        &master_frame(&[0xc0, 0]),
        false,
        &mut rec,
    );
    // An answer to nothing.
    feed_at(
        &mut s,
        &f,
        down,
        5_000_000,
        &outstation_frame(&response(0xc9, 129, 0, &[])),
        false,
        &mut rec,
    );
    assert!(codes(&rec).is_empty(), "{:?}", rec.events);
    let m = rec.of("message");
    assert_eq!(m.len(), 8);
    assert_eq!(m[2]["dnp3"]["request_function_code"], 2);
    assert_eq!(m[2]["dnp3"]["latency_us"], 900.0);
    assert_eq!(m[3]["dnp3"]["request_function_code"], 1);
    assert_eq!(m[3]["dnp3"]["latency_us"], 2500.0);
    assert_eq!(m[4]["dnp3"]["request_function_code"], 1);
    assert_eq!(m[4]["dnp3"]["latency_us"], 2600.0);
    assert!(m[5]["dnp3"].get("request_function_code").is_none());
    assert_eq!(m[5]["kind"], "response");
    assert_eq!(m[6]["kind"], "request");
    assert_eq!(m[6]["dnp3"]["function"], "confirm");
    assert!(m[7]["dnp3"].get("latency_us").is_none());
    assert_eq!(s.unmatched_responses, 1);
    assert!(s.pending.iter().all(|p| p.is_none()));
}

#[test]
fn master_on_the_server_side_still_matches() {
    // Roles follow function codes, not TCP direction.
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_at(
        &mut s,
        &f,
        Direction::ToClient,
        0,
        &master_frame(&request(1, 1, &READ_CLASS0)),
        false,
        &mut rec,
    );
    feed_at(
        &mut s,
        &f,
        Direction::ToServer,
        10_000,
        &outstation_frame(&response(0xc1, 129, 0, &[])),
        false,
        &mut rec,
    );
    let m = rec.of("message");
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(m[1]["dnp3"]["latency_us"], 10.0);
}

#[test]
fn pending_table_is_bounded() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for i in 0..(MAX_PENDING as u16 + 4) {
        let fr = segments(
            FROM_MASTER,
            100 + i,
            MASTER,
            &request(0, 1, &READ_CLASS0),
            249,
            0,
        );
        feed_at(
            &mut s,
            &f,
            Direction::ToServer,
            i as i64,
            &fr[0],
            false,
            &mut rec,
        );
    }
    assert_eq!(s.unanswered, 4);
    assert_eq!(
        s.pending.iter().filter(|p| p.is_some()).count(),
        MAX_PENDING
    );
    // The oldest were evicted.
    assert!(s.pending.iter().flatten().all(|r| r.dst_addr >= 104));
}

#[test]
fn gap_resynchronises_silently() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let fr = outstation_frame(&response(0xc1, 129, 0, &analog_and_binary_objects()));
    let mut cx = crate::Ctx::new(Timestamp(0), &f, Direction::ToClient, &mut rec);
    assert_eq!(s.on_data(&fr[..14], false, &mut cx), 0);
    s.on_gap(10, &mut cx);
    let mut seg = fr[24..].to_vec();
    seg.extend(outstation_frame(&response(0xc2, 129, 0, &[])));
    let left = feed_stream(&mut s, &f, Direction::ToClient, &[&seg], &mut rec);
    assert_eq!(left, 0);
    assert!(codes(&rec).is_empty(), "{:?}", rec.events);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["dnp3"]["app_seq"], 2);
}

#[test]
fn gap_inside_a_fragment_drops_it_silently() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut objs = vec![30, 1, 0x01, 0, 0, 59, 0];
    objs.extend(std::iter::repeat_n(0u8, 300));
    let frames = segments(
        FROM_OUTSTATION,
        MASTER,
        OUTSTATION,
        &response(0xc0, 129, 0, &objs),
        110,
        0,
    );
    feed_stream(&mut s, &f, Direction::ToClient, &[&frames[0]], &mut rec);
    let mut cx = crate::Ctx::new(Timestamp(0), &f, Direction::ToClient, &mut rec);
    s.on_gap(frames[1].len() as u32, &mut cx);
    feed_stream(&mut s, &f, Direction::ToClient, &[&frames[2]], &mut rec);
    assert!(rec.events.is_empty(), "{:?}", rec.events);
}

#[test]
fn mid_stream_pickup_skips_partial_frame_and_fragment_silently() {
    let f = flow(Transport::Tcp, 20000, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut objs = vec![30, 1, 0x01, 0, 0, 59, 0];
    objs.extend(std::iter::repeat_n(0u8, 300));
    let frames = segments(
        FROM_OUTSTATION,
        MASTER,
        OUTSTATION,
        &response(0xc0, 129, 0, &objs),
        110,
        0,
    );
    let mut seg = frames[0][40..].to_vec();
    seg.extend(&frames[1]);
    seg.extend(&frames[2]);
    seg.extend(outstation_frame(&response(0xc1, 129, 0, &[])));
    feed_stream(&mut s, &f, Direction::ToClient, &[&seg], &mut rec);
    assert!(codes(&rec).is_empty(), "{:?}", rec.events);
    assert_eq!(rec.of("message").len(), 1);
}

#[test]
fn garbage_is_reported_once() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = master_frame(&request(1, 1, &READ_CLASS0));
    seg.extend_from_slice(b"\x00\x05\x64garbage\x05\x64 and more garbage bytes");
    seg.extend(master_frame(&request(2, 1, &READ_CLASS0)));
    let left = feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&seg[..40], &seg[40..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    assert_eq!(codes(&rec), ["bad_start"]);
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn transport_sequence_errors() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut objs = vec![30, 1, 0x01, 0, 0, 59, 0];
    objs.extend(std::iter::repeat_n(0u8, 300));
    let app = response(0xc0, 129, 0, &objs);
    let frames = segments(FROM_OUTSTATION, MASTER, OUTSTATION, &app, 110, 0);
    // Segments 0 and 2: 2 is out of sequence.
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&frames[0], &frames[2]],
        &mut rec,
    );
    assert_eq!(codes(&rec), ["transport_sequence"]);
    // A continuation with nothing in progress is not reported twice in a row.
    feed_stream(&mut s, &f, Direction::ToClient, &[&frames[1]], &mut rec);
    assert_eq!(codes(&rec).len(), 1);
    // A fresh fragment works, and after it a stray continuation is reported.
    for fr in &frames {
        feed_stream(&mut s, &f, Direction::ToClient, &[fr], &mut rec);
    }
    assert_eq!(rec.of("message").len(), 1);
    feed_stream(&mut s, &f, Direction::ToClient, &[&frames[1]], &mut rec);
    assert_eq!(codes(&rec), ["transport_sequence", "transport_sequence"]);
    assert_eq!(
        rec.of("malformed")[1]["error"]["detail"],
        "transport segment 1 continues a fragment that was not started"
    );
}

#[test]
fn oversized_fragment_is_dropped() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let app = response(0xc0, 129, 0, &vec![0u8; wire::MAX_FRAGMENT_LEN + 100]);
    let frames = segments(FROM_OUTSTATION, MASTER, OUTSTATION, &app, 249, 0);
    for fr in &frames {
        feed_stream(&mut s, &f, Direction::ToClient, &[fr], &mut rec);
    }
    assert_eq!(codes(&rec), ["fragment_too_long"]);
    assert!(rec.of("message").is_empty());
    assert!(s.dirs[1].frag.capacity() <= 2 * wire::MAX_FRAGMENT_LEN);
}

#[test]
fn malformed_objects_still_report_the_message() {
    // Direct operate of two CROBs with only one present (captured traffic).
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let real: &[u8] = &[
        0x05, 0x64, 0x1a, 0xc4, 0x04, 0x00, 0x03, 0x00, 0xc2, 0xe6, 0xe2, 0xca, 0x05, 0x0c, 0x01,
        0x28, 0x02, 0x00, 0x01, 0x00, 0x02, 0x01, 0x64, 0x00, 0x00, 0x00, 0x57, 0xab, 0x64, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x5b,
    ];
    feed_stream(&mut s, &f, Direction::ToServer, &[real], &mut rec);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["dnp3"]["function"], "direct_operate");
    assert_eq!(m[0]["dnp3"]["objects_complete"], false);
    assert_eq!(m[0]["dnp3"]["objects"], serde_json::json!([]));
    let bad = rec.of("malformed");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["error"]["code"], "object_data_truncated");
    assert_eq!(bad[0]["error"]["function_code"], 5);
}

#[test]
fn unknown_objects_mark_the_message_incomplete() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    // g1v2 then a device attribute (g0, variable format), then more.
    let objs = [
        1, 2, 0, 0, 0, 0x01, 0, 252, 0x00, 0, 0, 7, 3, b'a', b'b', b'c',
    ];
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&outstation_frame(&response(0xc0, 129, 0, &objs))],
        &mut rec,
    );
    assert!(codes(&rec).is_empty());
    let d = &rec.of("message")[0]["dnp3"];
    assert_eq!(d["objects_complete"], false);
    assert_eq!(d["objects"].as_array().unwrap().len(), 2);
    assert_eq!(d["objects"][1]["group"], 0);
}

#[test]
fn empty_fragment_is_malformed() {
    let f = flow(Transport::Tcp, 20000, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = frame(FROM_MASTER, OUTSTATION, MASTER, &[0xc0]);
    seg.extend(frame(
        FROM_OUTSTATION,
        MASTER,
        OUTSTATION,
        &[0xc0, 0xc0, 0x81, 0],
    ));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(codes(&rec), ["app_too_short", "app_too_short"]);
    assert_eq!(rec.of("malformed")[1]["error"]["function_code"], 129);
}

#[test]
fn udp_datagram_with_two_frames_and_a_truncated_one() {
    let f = flow(Transport::Udp, 20000, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut dg = master_frame(&request(1, 1, &READ_CLASS0));
    dg.extend(master_frame(&request(2, 1, &READ_CLASS0)));
    assert_eq!(
        feed_at(&mut s, &f, Direction::ToServer, 0, &dg, true, &mut rec),
        dg.len()
    );
    assert!(codes(&rec).is_empty());
    assert_eq!(rec.of("message").len(), 2);
    let third = master_frame(&request(3, 1, &READ_CLASS0));
    dg.extend_from_slice(&third[..third.len() - 1]);
    assert_eq!(
        feed_at(&mut s, &f, Direction::ToServer, 0, &dg, true, &mut rec),
        dg.len()
    );
    assert_eq!(codes(&rec), ["truncated"]);
    assert_eq!(rec.of("message").len(), 4);
    // The next datagram starts clean.
    let one = master_frame(&request(4, 1, &READ_CLASS0));
    feed_at(&mut s, &f, Direction::ToServer, 0, &one, true, &mut rec);
    assert_eq!(codes(&rec).len(), 1);
    assert_eq!(rec.of("message").len(), 5);
    // Garbage in a datagram: one bad_start; a trailing partial header is truncated.
    let mut junk = b"xx".to_vec();
    junk.extend(&one);
    junk.extend_from_slice(b"\x05");
    feed_at(&mut s, &f, Direction::ToServer, 0, &junk, true, &mut rec);
    assert_eq!(codes(&rec), ["truncated", "bad_start", "truncated"]);
    assert_eq!(rec.of("message").len(), 6);
}

#[test]
fn probe_recognises_link_headers() {
    let fr = master_frame(&request(1, 1, &READ_CLASS0));
    assert!(probe(Transport::Tcp, &fr));
    assert!(probe(Transport::Udp, &fr[..10]));
    assert!(!probe(Transport::Tcp, &fr[..9]));
    assert!(!probe(Transport::L2, &fr));
    let mut bad = fr.clone();
    bad[9] ^= 1;
    assert!(!probe(Transport::Tcp, &bad));
    assert!(!probe(Transport::Tcp, b"GET / HTTP/1.1\r\n\r\n"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic_and_always_progress(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..400), 0..20),
        handshake in proptest::bool::ANY,
    ) {
        let f = flow(Transport::Tcp, 20000, handshake);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        // Never more than one maximal frame is held back.
        proptest::prop_assert!(left < wire::MAX_FRAME_LEN);
        for c in &chunks {
            let mut cx = crate::Ctx::new(Timestamp(0), &f, Direction::ToClient, &mut rec);
            proptest::prop_assert_eq!(s.on_data(c, true, &mut cx), c.len());
        }
    }

    #[test]
    fn valid_frames_survive_any_segmentation(
        cuts in proptest::collection::vec(0usize..2000, 0..12),
        noise in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
    ) {
        // Frames with arbitrary (CRC-valid) payloads, as a stream cut anywhere.
        let f = flow(Transport::Tcp, 20000, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let mut stream = master_frame(&request(1, 1, &READ_CLASS0));
        let mut objs = analog_and_binary_objects();
        objs.extend(&noise);
        let app = response(0xc0, 130, 0, &objs);
        for fr in segments(FROM_OUTSTATION, MASTER, OUTSTATION, &app, 20, 7) {
            stream.extend(fr);
        }
        stream.extend(frame(0xc9, OUTSTATION, MASTER, &[]));
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for c in cuts.into_iter().chain([stream.len()]) {
            chunks.push(&stream[prev..c]);
            prev = c;
        }
        let left = feed_stream(&mut s, &f, Direction::ToServer, &chunks, &mut rec);
        proptest::prop_assert_eq!(left, 0);
        proptest::prop_assert_eq!(rec.of("message").len(), 2);
        proptest::prop_assert_eq!(s.link_only_frames, 1);
    }
}
