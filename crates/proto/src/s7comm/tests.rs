//! S7comm parsing and state tests: every ROSCTR and function, userdata
//! groups, SZL identification, job/ack matching and the error paths.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::ident::Subject;
use crate::testutil::{Recorder, flow};

fn pdu(rosctr: u8, pdu_ref: u16, param: &[u8], data: &[u8], err: Option<(u8, u8)>) -> Vec<u8> {
    let mut v = vec![0x32, rosctr, 0, 0];
    v.extend_from_slice(&pdu_ref.to_be_bytes());
    v.extend_from_slice(&(param.len() as u16).to_be_bytes());
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    if let Some((c, e)) = err {
        v.extend_from_slice(&[c, e]);
    }
    v.extend_from_slice(param);
    v.extend_from_slice(data);
    v
}

fn job(pdu_ref: u16, param: &[u8], data: &[u8]) -> Vec<u8> {
    pdu(1, pdu_ref, param, data, None)
}

fn ack_data(pdu_ref: u16, param: &[u8], data: &[u8]) -> Vec<u8> {
    pdu(3, pdu_ref, param, data, Some((0, 0)))
}

/// Userdata with an 8-byte (response) or 4-byte (request) parameter extension.
fn userdata(tg: u8, sub: u8, response: bool, last: u8, rc: u8, payload: &[u8]) -> Vec<u8> {
    let mut param = vec![0x00, 0x01, 0x12];
    if response {
        param.extend_from_slice(&[8, 0x12, tg, sub, 1, 0, last, 0, 0]);
    } else {
        param.extend_from_slice(&[4, 0x11, tg, sub, 0]);
    }
    let mut data = vec![rc, 0x09];
    data.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    data.extend_from_slice(payload);
    pdu(7, 0x0100, &param, &data, None)
}

/// Feeds TSDUs in the given directions, one millisecond apart.
fn feed(state: &mut State, tsdus: &[(Direction, Vec<u8>)]) -> Recorder {
    let f = flow(Transport::Tcp, 102, true);
    let mut rec = Recorder::default();
    for (i, (dir, t)) in tsdus.iter().enumerate() {
        let mut cx = crate::Ctx::new(Timestamp(i as i64 * 1_000_000), &f, *dir, &mut rec);
        state.on_tsdu(t, &mut cx);
    }
    rec
}

const TS: Direction = Direction::ToServer;
const TC: Direction = Direction::ToClient;

fn any_item(ts: u8, len: u16, db: u16, area: u8, byte: u32, bit: u8) -> Vec<u8> {
    let addr = (byte << 3) | u32::from(bit);
    let mut v = vec![0x12, 0x0a, 0x10, ts];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&db.to_be_bytes());
    v.push(area);
    v.extend_from_slice(&addr.to_be_bytes()[1..]);
    v
}

#[test]
fn read_var_job_and_ack_data_are_matched() {
    let mut param = vec![0x04, 2];
    param.extend(any_item(0x02, 10, 1, 0x84, 4, 0));
    param.extend(any_item(0x01, 1, 0, 0x83, 16, 3));
    let req = job(7, &param, &[]);
    // Two data items: 3 bytes (padded) and one bit.
    let data = [
        0xff, 0x04, 0x00, 0x18, 1, 2, 3, 0, 0xff, 0x03, 0x00, 0x01, 0x01,
    ];
    let resp = ack_data(7, &[0x04, 2], &data);
    let mut st = State::default();
    let rec = feed(&mut st, &[(TS, req), (TC, resp)]);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    let j = &m[0]["s7comm"];
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(j["function_code"], 4);
    assert_eq!(j["rosctr"], 1);
    assert_eq!(j["function"], 4);
    assert_eq!(j["function_name"], "Read Var");
    assert_eq!(j["items"][0]["db"], 1);
    assert_eq!(j["items"][0]["area_name"], "Data blocks (DB)");
    assert_eq!(j["items"][0]["byte"], 4);
    assert_eq!(j["items"][1]["byte"], 16);
    assert_eq!(j["items"][1]["bit"], 3);
    let r = &m[1]["s7comm"];
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(r["request_function"], 4);
    assert_eq!(r["latency_ns"], 1_000_000);
    assert_eq!(r["error_class_name"], "No error");
    assert_eq!(r["data_items"][0]["length"], 3);
    assert_eq!(r["data_items"][0]["data"], "010203");
    assert_eq!(r["data_items"][1]["data"], "01");
    assert_eq!(st.unmatched_responses, 0);
}

#[test]
fn write_var_job_and_return_codes() {
    let mut param = vec![0x05, 1];
    param.extend(any_item(0x02, 2, 5, 0x84, 0, 0));
    let req = job(8, &param, &[0x00, 0x04, 0x00, 0x10, 0xab, 0xcd]);
    let resp = ack_data(8, &[0x05, 1], &[0x05]);
    let rec = feed(&mut State::default(), &[(TS, req), (TC, resp)]);
    let m = rec.of("message");
    assert_eq!(m[0]["s7comm"]["data_items"][0]["data"], "abcd");
    assert_eq!(m[1]["s7comm"]["return_codes"][0], 5);
}

#[test]
fn setup_communication() {
    let req = job(0, &[0xf0, 0, 0, 1, 0, 1, 0x03, 0xc0], &[]);
    let rec = feed(&mut State::default(), &[(TS, req)]);
    let s = &rec.of("message")[0]["s7comm"];
    assert_eq!(s["function_name"], "Setup communication");
    assert_eq!(s["max_amq_calling"], 1);
    assert_eq!(s["pdu_size"], 960);
}

#[test]
fn block_functions() {
    let mut rd = vec![0x1a, 0, 0, 0, 0, 0, 0, 0, 9];
    rd.extend_from_slice(b"_0800001P");
    rd.extend_from_slice(&[13, b'1']);
    rd.extend_from_slice(b"000256000128");
    let mut db = vec![0x1b, 0, 0, 0, 0, 0, 0, 0, 9];
    db.extend_from_slice(b"_0C00010P");
    let mut de = vec![0x1c, 0, 0, 0, 0, 0, 0, 0, 9];
    de.extend_from_slice(b"_0C00010P");
    let mut su = vec![0x1d, 0, 0, 0, 0, 0, 0, 0, 9];
    su.extend_from_slice(b"_0A00001A");
    let mut su_ack = vec![0x1d, 0, 0x01, 0, 0, 0, 0, 7, 7];
    su_ack.extend_from_slice(b"0000216");
    let tsdus = vec![
        (TS, job(1, &rd, &[])),
        (TC, ack_data(1, &[0x1a], &[])),
        (TC, job(2, &db, &[])),
        (TS, ack_data(2, &[0x1b, 0], &[0, 4, 0, 0, 1, 2, 3, 4])),
        (TC, job(3, &de, &[])),
        (TS, ack_data(3, &[0x1c], &[])),
        (TS, job(4, &su, &[])),
        (TC, ack_data(4, &su_ack, &[])),
        (TS, job(5, &[0x1e, 0, 0, 0, 0, 0, 0, 7], &[])),
        (TC, ack_data(5, &[0x1e, 0], &[0, 6, 0, 0, 1, 2, 3, 4, 5, 6])),
        (TS, job(6, &[0x1f, 0, 0, 0, 0, 0, 0, 7], &[])),
        (TC, ack_data(6, &[0x1f], &[])),
    ];
    let mut st = State::default();
    let rec = feed(&mut st, &tsdus);
    let m = rec.of("message");
    assert_eq!(m.len(), 12);
    let s = |i: usize| &m[i]["s7comm"];
    assert_eq!(s(0)["function_name"], "Request download");
    assert_eq!(s(0)["block_type_name"], "OB");
    assert_eq!(s(0)["block_number"], "00001");
    assert_eq!(s(0)["filesystem"], "passive");
    assert_eq!(s(0)["block_length"], "000256");
    // Download block: the PLC sends the job, the PG the ack-data.
    assert_eq!(m[2]["kind"], "request");
    assert_eq!(s(2)["block_type_name"], "FC");
    assert_eq!(m[3]["kind"], "response");
    assert_eq!(s(3)["request_function"], 0x1b);
    assert_eq!(s(4)["function_name"], "Download ended");
    assert_eq!(s(6)["filename"], "_0A00001A");
    assert_eq!(s(6)["filesystem"], "active");
    assert_eq!(s(7)["session_id"], 7);
    assert_eq!(s(7)["block_length"], "0000216");
    assert_eq!(s(9)["data_length"], 6);
    assert_eq!(s(11)["function_name"], "End upload");
    assert_eq!(st.unmatched_responses, 0);
}

fn pi(service: &[u8], block: &[u8]) -> Vec<u8> {
    let mut v = vec![0x28, 0, 0, 0, 0, 0, 0, 0xfd];
    v.extend_from_slice(&(block.len() as u16).to_be_bytes());
    v.extend_from_slice(block);
    v.push(service.len() as u8);
    v.extend_from_slice(service);
    v
}

#[test]
fn plc_control_and_stop() {
    let mut stop = vec![0x29, 0, 0, 0, 0, 0, 9];
    stop.extend_from_slice(b"P_PROGRAM");
    let tsdus = vec![
        (TS, job(1, &pi(b"P_PROGRAM", b""), &[])),
        (TS, job(2, &pi(b"P_PROGRAM", b"C "), &[])),
        (TS, job(3, &pi(b"_INSE", b"\x01080001P"), &[])),
        (TS, job(4, &stop, &[])),
        (TC, ack_data(4, &[0x29], &[])),
    ];
    let rec = feed(&mut State::default(), &tsdus);
    let m = rec.of("message");
    assert_eq!(m[0]["s7comm"]["pi_service"], "P_PROGRAM");
    assert_eq!(m[0]["s7comm"]["start"], "hot");
    assert_eq!(m[1]["s7comm"]["start"], "cold");
    assert_eq!(m[2]["s7comm"]["pi_service"], "_INSE");
    assert_eq!(m[3]["s7comm"]["function_code"], 0x29);
    assert_eq!(m[3]["s7comm"]["function_name"], "PLC Stop");
    assert_eq!(m[3]["s7comm"]["pi_service"], "P_PROGRAM");
    assert_eq!(m[4]["s7comm"]["request_function"], 0x29);
}

#[test]
fn ack_without_parameter_and_error() {
    let ack = pdu(2, 9, &[], &[], Some((0x81, 0x04)));
    let rec = feed(
        &mut State::default(),
        &[(TS, job(9, &[0x29, 0, 0, 0, 0, 0, 0], &[])), (TC, ack)],
    );
    let m = rec.of("message");
    assert_eq!(m[1]["s7comm"]["function_code"], 0);
    assert_eq!(m[1]["s7comm"]["error_class"], 0x81);
    assert_eq!(
        m[1]["s7comm"]["error_class_name"],
        "Application relationship"
    );
    assert_eq!(m[1]["s7comm"]["request_function"], 0x29);
    assert!(m[1]["s7comm"].get("function").is_none());
}

fn szl11_record(index: u16, order: &[u8; 20], ausbg: u16, ausbe: u16) -> Vec<u8> {
    let mut v = index.to_be_bytes().to_vec();
    v.extend_from_slice(order);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&ausbg.to_be_bytes());
    v.extend_from_slice(&ausbe.to_be_bytes());
    v
}

fn szl1c_record(index: u16, text: &str) -> Vec<u8> {
    let mut v = index.to_be_bytes().to_vec();
    let mut t = text.as_bytes().to_vec();
    t.resize(32, 0);
    v.extend_from_slice(&t);
    v
}

fn szl_response(id: u16, rl: u16, records: &[Vec<u8>], last: u8) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&rl.to_be_bytes());
    p.extend_from_slice(&(records.len() as u16).to_be_bytes());
    for r in records {
        p.extend_from_slice(r);
    }
    userdata(0x84, 1, true, last, 0xff, &p)
}

#[test]
fn szl_module_identification_gives_identity() {
    let req = userdata(0x44, 1, false, 0, 0xff, &[0x00, 0x11, 0x00, 0x00]);
    let resp = szl_response(
        0x0011,
        28,
        &[
            szl11_record(1, b"6ES7 315-2EH14-0AB0 ", 0, 1),
            szl11_record(6, b"6ES7 315-2EH14-0AB0 ", 0, 1),
            szl11_record(7, b"                    ", 0x5603, 0x0206),
        ],
        0,
    );
    let rec = feed(&mut State::default(), &[(TS, req), (TC, resp.clone())]);
    let m = rec.of("message");
    let q = &m[0]["s7comm"];
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(q["function_code"], 0x1401);
    assert_eq!(q["userdata_group"], 4);
    assert_eq!(q["userdata_subfunction"], 1);
    assert_eq!(q["userdata_subfunction_name"], "Read SZL");
    assert_eq!(q["szl_id"], 0x11);
    let r = &m[1]["s7comm"];
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(r["userdata_type_name"], "response");
    assert_eq!(r["module"]["order_number"], "6ES7 315-2EH14-0AB0");
    assert_eq!(r["module"]["firmware_version"], "V3.2.6");

    let p = wire::parse(&resp, false).unwrap();
    let msg = Message {
        pdu: p,
        request: None,
        latency_ns: None,
        invalid: false,
    };
    let id = msg.identity().expect("identity");
    assert_eq!(id.subject, Subject::Sender);
    assert_eq!(id.source, "s7comm SZL 0x0011");
    assert_eq!(id.product_code.as_deref(), Some("6ES7 315-2EH14-0AB0"));
    assert_eq!(id.firmware.as_deref(), Some("V3.2.6"));
    assert_eq!(id.vendor.as_deref(), Some("Siemens"));
}

#[test]
fn szl_component_identification_gives_identity() {
    let resp = szl_response(
        0x001c,
        34,
        &[
            szl1c_record(1, "SIMATIC 300(1)"),
            szl1c_record(2, "CPU 315-2 PN/DP"),
            szl1c_record(3, "Water plant 3"),
            szl1c_record(5, "S C-C2UR28922012"),
            szl1c_record(7, "CPU 315-2 PN/DP"),
        ],
        0,
    );
    let p = wire::parse(&resp, false).unwrap();
    let msg = Message {
        pdu: p,
        request: None,
        latency_ns: None,
        invalid: false,
    };
    let id = msg.identity().expect("identity");
    assert_eq!(id.source, "s7comm SZL 0x001C");
    assert_eq!(id.hostname.as_deref(), Some("SIMATIC 300(1)"));
    assert_eq!(id.serial.as_deref(), Some("S C-C2UR28922012"));
    assert_eq!(id.model.as_deref(), Some("CPU 315-2 PN/DP"));
    assert_eq!(id.module.as_deref(), Some("CPU 315-2 PN/DP"));
    let rec = feed(&mut State::default(), &[(TC, resp)]);
    assert_eq!(
        rec.of("message")[0]["s7comm"]["module"]["plant_id"],
        "Water plant 3"
    );
    // Requests carry no identity.
    let req = userdata(0x44, 1, false, 0, 0xff, &[0x00, 0x1c, 0x00, 0x00]);
    let p = wire::parse(&req, false).unwrap();
    let msg = Message {
        pdu: p,
        request: None,
        latency_ns: None,
        invalid: false,
    };
    assert!(msg.identity().is_none());
}

#[test]
fn szl_continuation_is_not_read_as_a_header() {
    let first = szl_response(
        0x0011,
        28,
        &[szl11_record(1, b"6ES7 315-2EH14-0AB0 ", 0, 1)],
        1,
    );
    // The continuation holds records only: its first bytes are no SZL header.
    let cont = userdata(
        0x84,
        1,
        true,
        0,
        0xff,
        &szl11_record(7, b"                    ", 0x5603, 0x0206),
    );
    let rec = feed(&mut State::default(), &[(TC, first), (TC, cont)]);
    let m = rec.of("message");
    assert_eq!(m[0]["s7comm"]["szl_id"], 0x11);
    assert_eq!(m[0]["s7comm"]["last_data_unit"], false);
    assert!(m[1]["s7comm"].get("szl_id").is_none());
}

#[test]
fn userdata_groups_and_types() {
    let tsdus = vec![
        // Security: PLC password request and response.
        (
            TS,
            userdata(0x45, 1, false, 0, 0xff, b"\x55\x44\x33\x22\x11\x00\x00\x00"),
        ),
        (TC, userdata(0x85, 1, true, 0, 0x0a, &[])),
        // Time: read clock.
        (TS, userdata(0x47, 1, false, 0, 0x0a, &[])),
        // Cyclic data push from the PLC.
        (TC, userdata(0x02, 1, false, 0, 0xff, &[1, 2])),
        // Block functions: list blocks.
        (TS, userdata(0x43, 1, false, 0, 0x0a, &[])),
        // Programmer commands: VarTab.
        (TS, userdata(0x41, 2, false, 0, 0xff, &[0; 6])),
    ];
    let rec = feed(&mut State::default(), &tsdus);
    let m = rec.of("message");
    let fc: Vec<_> = m
        .iter()
        .map(|m| m["s7comm"]["function_code"].clone())
        .collect();
    assert_eq!(fc, vec![0x1501, 0x1501, 0x1701, 0x1201, 0x1301, 0x1102]);
    let kinds: Vec<_> = m.iter().map(|m| m["kind"].clone()).collect();
    assert_eq!(
        kinds,
        vec![
            "request", "response", "request", "request", "request", "request"
        ]
    );
    assert_eq!(m[0]["s7comm"]["userdata_group_name"], "Security");
    assert_eq!(m[0]["s7comm"]["userdata_subfunction_name"], "PLC password");
    assert_eq!(m[2]["s7comm"]["userdata_subfunction_name"], "Read clock");
    assert_eq!(m[3]["s7comm"]["userdata_type_name"], "push");
}

#[test]
fn mode_transition_push_with_odd_head_is_accepted() {
    // As sent by a CPU 315 (tia_s300_downloadHwConfig.pcapng): head 01 00 10, length 16.
    let p = pdu(7, 0, &[0x01, 0x00, 0x10, 0x10, 0, 0, 2, 0], &[], None);
    let rec = feed(&mut State::default(), &[(TC, p)]);
    let m = rec.of("message");
    assert_eq!(m[0]["s7comm"]["function_code"], 0x1002);
    assert_eq!(m[0]["s7comm"]["userdata_subfunction_name"], "RUN");
}

#[test]
fn errors_are_malformed_with_codes() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0x32, 1, 0, 0, 0], "truncated_header"),
        (pdu(5, 1, &[0x04, 0], &[], None), "unknown_rosctr"),
        (
            {
                let mut v = job(1, &[0xf0, 0, 0, 1, 0, 1, 1, 0], &[]);
                v.truncate(v.len() - 2);
                v
            },
            "length_mismatch",
        ),
        (job(1, &[0xf0, 0, 0, 1], &[]), "truncated_parameter"),
        (
            job(1, &[0x04, 2, 0x12, 0x0a, 0x10], &[]),
            "truncated_parameter",
        ),
        (
            job(1, &pi(b"P_PROGRAM", b"")[..12], &[]),
            "truncated_parameter",
        ),
        (
            pdu(7, 1, &[0, 1, 0x12, 4], &[], None),
            "bad_userdata_header",
        ),
        (job(1, &[], &[]), "missing_function"),
        (vec![0x33, 1, 0, 0, 0, 0, 0, 0, 0, 0], "bad_protocol_id"),
    ];
    for (bytes, code) in &cases {
        let rec = feed(&mut State::default(), &[(TS, bytes.clone())]);
        let bad = rec.of("malformed");
        assert_eq!(bad.len(), 1, "{code}");
        assert_eq!(bad[0]["error"]["code"], *code);
        assert_eq!(bad[0]["proto"], "s7comm");
        // Truncated parameters in a sound header are messages too.
        let msgs = rec.of("message");
        if *code == "truncated_parameter" {
            assert_eq!(msgs.len(), 1, "{code}");
            assert_eq!(msgs[0]["s7comm"]["invalid"], true);
            assert_eq!(
                bad[0]["error"]["function_code"],
                msgs[0]["s7comm"]["function_code"]
            );
        } else {
            assert!(msgs.is_empty(), "{code}");
        }
    }
    // Display names the values.
    let e = wire::parse(&pdu(5, 1, &[], &[], None), false).unwrap_err();
    assert!(e.to_string().contains("ROSCTR 5"));
}

#[test]
fn pending_table_is_bounded() {
    let mut st = State::default();
    let tsdus: Vec<_> = (0..40u16).map(|r| (TS, job(r, &[0x04, 0], &[]))).collect();
    feed(&mut st, &tsdus);
    assert_eq!(st.unanswered, 8);
    assert!(st.pending.iter().all(|p| p.is_some()));
    // An ack for an evicted job is unmatched; one for a kept job matches.
    let rec = feed(
        &mut st,
        &[
            (TC, ack_data(0, &[0x04, 0], &[])),
            (TC, ack_data(39, &[0x04, 0], &[])),
        ],
    );
    assert_eq!(st.unmatched_responses, 1);
    assert_eq!(rec.of("message")[1]["s7comm"]["request_function"], 4);
}

proptest::proptest! {
    #[test]
    fn arbitrary_pdus_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300), cont in proptest::bool::ANY) {
        let mut b = vec![0x32];
        b.extend_from_slice(&body);
        if let Ok(p) = wire::parse(&b, cont) {
            let m = Message { pdu: p, request: None, latency_ns: None, invalid: false };
            let _ = serde_json::to_string(&m).unwrap();
            let _ = m.identity();
        }
    }
}
