use std::net::Ipv4Addr;

use super::*;

const S: i64 = 1_000_000_000;

/// An Ethernet/IPv4/UDP frame from `src` to `dst` whose payload carries `tag`.
fn frame(src: u8, dst: u8, tag: u32) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&[10, 0, 0, src]);
    f.extend_from_slice(&[10, 0, 0, dst]);
    f.extend_from_slice(&[0x30, 0x39, 0x01, 0xf6, 0, 12, 0, 0]);
    f.extend_from_slice(&tag.to_be_bytes());
    f
}

fn ip(n: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)))
}

fn packet<'a>(ts: i64, link: LinkType, data: &'a [u8]) -> Packet<'a> {
    Packet {
        ts: Timestamp(ts),
        link,
        data,
        orig_len: data.len() as u32,
        input: 0,
        record: 0,
    }
}

/// Reads a file written by the recorder: (link type, [(ts, frame)]).
fn read(path: &Path) -> (u32, Vec<(i64, Vec<u8>)>) {
    let b = fs::read(path).unwrap();
    assert_eq!(&b[0..4], &0xa1b2_3c4du32.to_le_bytes());
    let u = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let link = u(20);
    let mut at = 24;
    let mut v = Vec::new();
    while at < b.len() {
        let ts = u(at) as i64 * S + u(at + 4) as i64;
        let n = u(at + 8) as usize;
        assert!(u(at + 12) as usize >= n);
        v.push((ts, b[at + 16..at + 16 + n].to_vec()));
        at += 16 + n;
    }
    assert_eq!(at, b.len(), "no trailing bytes");
    (link, v)
}

fn tag(f: &[u8]) -> u32 {
    u32::from_be_bytes(f[f.len() - 4..].try_into().unwrap())
}

fn cfg() -> EvidenceConfig {
    EvidenceConfig {
        pre_secs: 5.0,
        post_secs: 2.0,
        ring_bytes: 65_536,
        ring_packets: 1000,
        ..Default::default()
    }
}

/// Two flows, one packet each per 100 ms: flow 1 is 10.0.0.1 <-> .2 (tags
/// even), flow 2 is 10.0.0.3 <-> .4 (tags odd). Packet `i` is at `i * 50 ms`.
fn feed(r: &mut Recorder, range: std::ops::Range<u32>) {
    for i in range {
        let (flow, f) = if i % 2 == 0 {
            (
                FlowId(1),
                frame(1 + (i / 2 % 2) as u8, 2 - (i / 2 % 2) as u8, i),
            )
        } else {
            (FlowId(2), frame(3, 4, i))
        };
        r.on_packet(
            &packet(i as i64 * S / 20, LinkType::Ethernet, &f),
            Some(flow),
        );
    }
}

#[test]
fn capture_holds_the_flow_from_pre_to_post() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Recorder::new(dir.path(), cfg()).unwrap();
    // 20 s of traffic, the detection at 10 s (packet 200).
    feed(&mut r, 0..201);
    r.request("s1-1", &[FlowId(1)], (ip(1), ip(2)), Timestamp(10 * S))
        .unwrap();
    assert!(r.is_pending("s1-1"));
    feed(&mut r, 201..400);
    // Nothing is written before the window ends...
    assert!(r.poll(Timestamp(12 * S)).is_empty());
    let rep = r.poll(Timestamp(12 * S + 1));
    assert_eq!(rep.written.len(), 1, "{rep:?}");
    let w = &rep.written[0];
    assert_eq!(w.path, dir.path().join("s1-1.pcap"));
    let (link, pkts) = read(&w.path);
    assert_eq!(link, 1);
    assert_eq!(w.packets, pkts.len() as u64);
    assert_eq!(w.bytes, fs::metadata(&w.path).unwrap().len());
    // Flow 1 only (even tags), from 5 s to 12 s inclusive.
    let tags: Vec<u32> = pkts.iter().map(|(_, f)| tag(f)).collect();
    let want: Vec<u32> = (100..=240).filter(|i| i % 2 == 0).collect();
    assert_eq!(tags, want);
    for (ts, f) in &pkts {
        assert_eq!(*ts, tag(f) as i64 * S / 20);
    }
    assert!(!r.is_pending("s1-1"));
    assert_eq!(r.stored("s1-1"), Some(w.path.clone()));
    let st = r.stats();
    assert_eq!((st.written, st.pending, st.dir_files), (1, 0, 1));
    assert_eq!(st.dir_bytes, w.bytes);
    // No temporary file is left behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn several_flows_merge_in_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Recorder::new(dir.path(), cfg()).unwrap();
    feed(&mut r, 0..100);
    r.request("a", &[FlowId(2), FlowId(1)], (None, None), Timestamp(4 * S))
        .unwrap();
    feed(&mut r, 100..200);
    let rep = r.finish_all();
    let (_, pkts) = read(&rep.written[0].path);
    let tags: Vec<u32> = pkts.iter().map(|(_, f)| tag(f)).collect();
    // 4 s - 5 s is before the capture start: everything from 0 to 6 s.
    assert_eq!(tags, (0..=120).collect::<Vec<_>>());
}

#[test]
fn without_a_flow_the_ip_pair_decides() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Recorder::new(dir.path(), cfg()).unwrap();
    feed(&mut r, 0..100);
    // The flows are unknown: packets between 10.0.0.4 and 10.0.0.3.
    r.request("pair", &[], (ip(4), ip(3)), Timestamp(4 * S))
        .unwrap();
    // One address: every packet to or from 10.0.0.1.
    r.request("one", &[], (ip(1), None), Timestamp(4 * S))
        .unwrap();
    feed(&mut r, 100..200);
    let rep = r.finish_all();
    assert_eq!(rep.written.len(), 2);
    let (_, pkts) = read(&r.file_path("pair"));
    let tags: Vec<u32> = pkts.iter().map(|(_, f)| tag(f)).collect();
    assert_eq!(tags, (0..=120).filter(|i| i % 2 == 1).collect::<Vec<_>>());
    let (_, pkts) = read(&r.file_path("one"));
    let tags: Vec<u32> = pkts.iter().map(|(_, f)| tag(f)).collect();
    assert_eq!(tags, (0..=120).filter(|i| i % 2 == 0).collect::<Vec<_>>());
    for flows in [&[][..], &[FlowId(0)]] {
        assert!(matches!(
            r.request("x", flows, (None, None), Timestamp(0)),
            Err(EvidenceError::NothingToCapture(_))
        ));
    }
    // The link-layer flow 0 with addresses: the addresses decide. A late
    // request takes no buffered packet past its window (0 to 6 s).
    r.request("l2", &[FlowId(0)], (ip(3), ip(4)), Timestamp(4 * S))
        .unwrap();
    let (_, pkts) = read(&r.finish_all().written[0].path);
    let tags: Vec<u32> = pkts.iter().map(|(_, f)| tag(f)).collect();
    assert_eq!(tags, (0..120).filter(|i| i % 2 == 1).collect::<Vec<_>>());
}

#[test]
fn packet_cap_leaves_room_after_the_detection() {
    let dir = tempfile::tempdir().unwrap();
    let c = EvidenceConfig {
        capture_packets: 20,
        ..cfg()
    };
    let mut r = Recorder::new(dir.path(), c).unwrap();
    feed(&mut r, 0..201);
    r.request("cap", &[FlowId(1)], (None, None), Timestamp(10 * S))
        .unwrap();
    feed(&mut r, 201..300);
    // The cap is reached before the window ends: finished at the next poll.
    let rep = r.poll(Timestamp(10 * S));
    assert_eq!(rep.written.len(), 1);
    let (_, pkts) = read(&rep.written[0].path);
    let tags: Vec<u32> = pkts.iter().map(|(_, f)| tag(f)).collect();
    // 15 newest before (up to 200), then 5 after.
    let mut want: Vec<u32> = (172..=200).step_by(2).collect();
    want.extend((202..=210).step_by(2));
    assert_eq!(tags, want);
    assert!(r.stats().skipped_cap > 0);
}

#[test]
fn byte_cap_holds() {
    let dir = tempfile::tempdir().unwrap();
    let c = EvidenceConfig {
        capture_bytes: 1024,
        ..cfg()
    };
    let mut r = Recorder::new(dir.path(), c).unwrap();
    feed(&mut r, 0..201);
    r.request("b", &[FlowId(1)], (None, None), Timestamp(10 * S))
        .unwrap();
    feed(&mut r, 201..300);
    let w = &r.finish_all().written[0];
    assert!(w.bytes <= 1024, "{}", w.bytes);
    // 24 + n * (16 + 46): 16 packets fit, 12 of them from before.
    assert_eq!(w.packets, 16);
    let (_, pkts) = read(&w.path);
    assert_eq!(tag(&pkts[11].1), 200);
}

#[test]
fn too_many_pending_finishes_the_oldest_early() {
    let dir = tempfile::tempdir().unwrap();
    let c = EvidenceConfig {
        max_pending: 2,
        ..cfg()
    };
    let mut r = Recorder::new(dir.path(), c).unwrap();
    feed(&mut r, 0..10);
    for id in ["p1", "p2", "p3"] {
        r.request(id, &[FlowId(1)], (None, None), Timestamp(S / 2))
            .unwrap();
    }
    assert!(!r.is_pending("p1") && r.is_pending("p2") && r.is_pending("p3"));
    assert_eq!(r.stats().finished_early, 1);
    // The early file is reported by the next poll.
    let rep = r.poll(Timestamp(0));
    assert_eq!(rep.written.len(), 1);
    assert_eq!(rep.written[0].alert_id, "p1");
    assert_eq!(rep.written[0].packets, 5);
    // A repeated request extends the pending capture instead of adding one.
    r.request("p2", &[FlowId(2)], (None, None), Timestamp(S))
        .unwrap();
    assert_eq!(r.stats().pending, 2);
    feed(&mut r, 10..80);
    let rep = r.poll(Timestamp(S / 2 + 2 * S + 1));
    assert_eq!(rep.written.len(), 1, "p3 is done, p2 was extended");
    assert_eq!(rep.written[0].alert_id, "p3");
    let rep = r.poll(Timestamp(3 * S + 1));
    assert_eq!(rep.written[0].alert_id, "p2");
    let (_, pkts) = read(&rep.written[0].path);
    // Flow 1 from 0 to 3 s (31 packets), flow 2 from its request on (25).
    assert_eq!(pkts.len(), 56);
}

#[test]
fn directory_cap_removes_the_oldest_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let c = EvidenceConfig {
        capture_bytes: 2048,
        dir_bytes: 4096,
        ..cfg()
    };
    let mut r = Recorder::new(dir.path(), c).unwrap();
    feed(&mut r, 0..200);
    let mut removed = Vec::new();
    for n in 0..6 {
        let id = format!("d{n}");
        r.request(&id, &[FlowId(1)], (None, None), Timestamp(9 * S))
            .unwrap();
        let rep = r.finish_all();
        assert_eq!(rep.written.len(), 1);
        removed.extend(rep.removed);
        assert!(r.stats().dir_bytes <= 4096);
    }
    // Each file holds 24 packets (three quarters of the byte cap) of 62
    // bytes + 24: 1512 bytes, two fit.
    assert_eq!(removed, ["d0", "d1", "d2", "d3"]);
    assert_eq!(r.stored_ids().collect::<Vec<_>>(), ["d4", "d5"]);
    for id in &removed {
        assert!(!r.file_path(id).exists());
    }
    assert_eq!(r.stats().evicted, 4);
    // An alert deleted: its file goes, and a pending capture too.
    assert!(r.remove("d4").unwrap());
    assert!(!r.file_path("d4").exists());
    assert!(!r.remove("d4").unwrap());
    r.request("gone", &[FlowId(1)], (None, None), Timestamp(9 * S))
        .unwrap();
    assert!(r.remove("gone").is_ok());
    assert!(r.finish_all().is_empty());
}

#[test]
fn restart_scan_keeps_the_cap_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now();
    for (n, age) in [("old", 300u64), ("mid", 200), ("new", 100)] {
        let p = dir.path().join(format!("{n}.pcap"));
        fs::write(&p, vec![0u8; 1500]).unwrap();
        let f = fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(now - std::time::Duration::from_secs(age))
            .unwrap();
    }
    fs::write(dir.path().join(".half.pcap.tmp"), b"x").unwrap();
    fs::write(dir.path().join("notes.txt"), b"kept").unwrap();
    let c = EvidenceConfig {
        capture_bytes: 1024,
        dir_bytes: 3200,
        ..cfg()
    };
    let mut r = Recorder::new(dir.path(), c.clone()).unwrap();
    assert!(!dir.path().join(".half.pcap.tmp").exists());
    assert!(dir.path().join("notes.txt").exists());
    // 4500 bytes found, over the cap: the oldest went at start, reported
    // by the first poll.
    assert_eq!(r.stored_ids().collect::<Vec<_>>(), ["mid", "new"]);
    assert!(!dir.path().join("old.pcap").exists());
    assert_eq!(r.stats().dir_bytes, 3000);
    let rep = r.poll(Timestamp(0));
    assert_eq!(rep.removed, ["old"]);
    assert!(r.poll(Timestamp(0)).is_empty());
    // A new file pushes out the next oldest, also after another restart.
    feed(&mut r, 0..20);
    r.request("fresh", &[FlowId(2)], (None, None), Timestamp(0))
        .unwrap();
    let rep = r.finish_all();
    assert_eq!(rep.removed, ["mid"]);
    drop(r);
    let r = Recorder::new(dir.path(), c).unwrap();
    let mut ids: Vec<&str> = r.stored_ids().collect();
    ids.sort();
    assert_eq!(ids, ["fresh", "new"]);
}

#[test]
fn other_link_types_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Recorder::new(dir.path(), cfg()).unwrap();
    let eth = frame(1, 2, 7);
    let raw = eth[14..].to_vec();
    r.on_packet(&packet(0, LinkType::Ethernet, &eth), Some(FlowId(1)));
    r.request("l", &[FlowId(1)], (None, None), Timestamp(0))
        .unwrap();
    r.on_packet(&packet(1, LinkType::RawIp, &raw), Some(FlowId(1)));
    r.on_packet(&packet(2, LinkType::Ethernet, &eth), Some(FlowId(1)));
    let w = &r.finish_all().written[0];
    assert_eq!(w.packets, 2);
    assert_eq!(read(&w.path).0, 1);
    assert_eq!(r.stats().skipped_link, 1);
}

#[test]
fn nothing_found_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Recorder::new(dir.path(), cfg()).unwrap();
    r.request("none", &[FlowId(9)], (None, None), Timestamp(0))
        .unwrap();
    let rep = r.finish_all();
    assert_eq!(rep.empty, ["none"]);
    assert!(rep.written.is_empty());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn alert_ids_must_name_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Recorder::new(dir.path(), cfg()).unwrap();
    for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(129)] {
        let e = r
            .request(bad, &[FlowId(1)], (None, None), Timestamp(0))
            .unwrap_err();
        assert!(matches!(e, EvidenceError::BadAlertId(_)), "{bad:?}");
        assert!(r.remove(bad).is_err());
    }
    for good in ["s1-7", "offline-12", "A_b.c"] {
        check_alert_id(good).unwrap();
    }
}

#[test]
fn write_failure_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Recorder::new(dir.path(), cfg()).unwrap();
    feed(&mut r, 0..4);
    r.request("w", &[FlowId(1)], (None, None), Timestamp(0))
        .unwrap();
    // The directory disappears under the recorder.
    fs::remove_dir_all(dir.path()).unwrap();
    let rep = r.finish_all();
    assert_eq!(rep.failed.len(), 1);
    let msg = rep.failed[0].1.to_string();
    assert!(msg.contains(".w.pcap.tmp"), "{msg}");
    assert_eq!(r.stats().io_errors, 1);
    assert!(r.stored("w").is_none());
}

#[test]
fn window_start_lost_to_the_ring_starts_the_capture_later() {
    let dir = tempfile::tempdir().unwrap();
    let c = EvidenceConfig {
        ring_packets: 100,
        ..cfg()
    };
    let mut r = Recorder::new(dir.path(), c).unwrap();
    // Packets 0..=300; the ring keeps 201..=300; the window starts at 200.
    feed(&mut r, 0..301);
    assert_eq!(r.stats().ring_overwritten, 201);
    r.request("late", &[FlowId(1)], (None, None), Timestamp(15 * S))
        .unwrap();
    let (_, pkts) = read(&r.finish_all().written[0].path);
    let tags: Vec<u32> = pkts.iter().map(|(_, f)| tag(f)).collect();
    assert_eq!(tags, (202..=300).step_by(2).collect::<Vec<_>>());
}
