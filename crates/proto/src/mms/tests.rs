//! ISO upper layers and MMS: every PDU kind, matching, errors, no panics.

use otwatch_core::{Direction, Timestamp, Transport};
use proptest::prelude::*;

use super::*;
use crate::dissector::Ctx;
use crate::testutil::{Recorder, flow};

// ---- BER builders ----

fn tlv(id: &[u8], c: &[u8]) -> Vec<u8> {
    let mut v = id.to_vec();
    match c.len() {
        n if n < 128 => v.push(n as u8),
        n if n < 256 => v.extend([0x81, n as u8]),
        n => v.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(c);
    v
}
/// Context-specific constructed `[n]`.
fn cc(n: u8, c: &[u8]) -> Vec<u8> {
    if n < 31 {
        tlv(&[0xa0 | n], c)
    } else {
        tlv(&[0xbf, n], c)
    }
}
/// Context-specific primitive `[n]`.
fn cp(n: u8, c: &[u8]) -> Vec<u8> {
    if n < 31 {
        tlv(&[0x80 | n], c)
    } else {
        tlv(&[0x9f, n], c)
    }
}
fn int(v: u8) -> Vec<u8> {
    tlv(&[0x02], &[v])
}
fn vis(s: &str) -> Vec<u8> {
    tlv(&[0x1a], s.as_bytes())
}
fn seq(c: &[u8]) -> Vec<u8> {
    tlv(&[0x30], c)
}
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}
/// Domain-specific object name `[1] { domain, item }`.
fn dom_name(d: &str, i: &str) -> Vec<u8> {
    cc(1, &cat(&[&vis(d), &vis(i)]))
}
/// `listOfVariable` with named variables.
fn var_list(names: &[(&str, &str)]) -> Vec<u8> {
    let mut c = Vec::new();
    for (d, i) in names {
        c.extend(seq(&cc(0, &dom_name(d, i))));
    }
    cc(0, &c)
}
fn conf_req(id: u8, service: &[u8]) -> Vec<u8> {
    cc(0, &cat(&[&int(id), service]))
}
fn conf_resp(id: u8, service: &[u8]) -> Vec<u8> {
    cc(1, &cat(&[&int(id), service]))
}
fn file(name: &str) -> Vec<u8> {
    tlv(&[0x19], name.as_bytes())
}

// ---- ISO wrappers ----

/// GT + DT SPDUs and fully-encoded presentation user data, context 3.
fn dt(mms: &[u8]) -> Vec<u8> {
    let pdv = seq(&cat(&[&int(3), &cc(0, mms)]));
    cat(&[&[0x01, 0x00, 0x01, 0x00], &tlv(&[0x61], &pdv)])
}

fn spdu(si: u8, params: &[u8]) -> Vec<u8> {
    let mut v = vec![si];
    if params.len() < 255 {
        v.push(params.len() as u8);
    } else {
        v.extend([0xff, (params.len() >> 8) as u8, params.len() as u8]);
    }
    v.extend_from_slice(params);
    v
}

/// Session user data PGI 193.
fn pgi_user_data(ud: &[u8]) -> Vec<u8> {
    let mut v = vec![0x05, 0x06, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02, 0xc1];
    if ud.len() < 255 {
        v.push(ud.len() as u8);
    } else {
        v.extend([0xff, (ud.len() >> 8) as u8, ud.len() as u8]);
    }
    v.extend_from_slice(ud);
    v
}

const MMS_CTX: &[u8] = &[0x28, 0xca, 0x22, 0x02, 0x01];
const ACSE_CTX: &[u8] = &[0x52, 0x01, 0x00, 0x01];
const MMS_APP_CTX: &[u8] = &[0x28, 0xca, 0x22, 0x02, 0x03];

fn external(mms: &[u8]) -> Vec<u8> {
    cc(
        30,
        &tlv(
            &[0x28],
            &cat(&[&tlv(&[0x06], &[0x51, 0x01]), &int(3), &cc(0, mms)]),
        ),
    )
}

fn initiate_request() -> Vec<u8> {
    cc(
        8,
        &cat(&[
            &cp(0, &[0x7d, 0x00]),
            &cp(1, &[0x05]),
            &cp(2, &[0x05]),
            &cp(3, &[0x0a]),
            &cc(
                4,
                &cat(&[
                    &cp(0, &[1]),
                    &cp(1, &[5, 0xf1, 0x00]),
                    &cp(2, &[3, 0xee, 0x1c]),
                ]),
            ),
        ]),
    )
}

fn cn_with_aarq() -> Vec<u8> {
    let aarq = tlv(
        &[0x60],
        &cat(&[
            &cc(1, &tlv(&[0x06], MMS_APP_CTX)),
            &cc(2, &tlv(&[0x06], &[0x29, 0x01, 0x87, 0x67, 0x01])),
            &cc(3, &int(12)),
            &cc(6, &tlv(&[0x06], &[0x29, 0x01, 0x87, 0x67, 0x02])),
            &cc(7, &int(33)),
            &external(&initiate_request()),
        ]),
    );
    let contexts = cc(
        4,
        &cat(&[
            &seq(&cat(&[
                &int(1),
                &tlv(&[0x06], ACSE_CTX),
                &seq(&tlv(&[0x06], &[0x51, 0x01])),
            ])),
            &seq(&cat(&[
                &int(3),
                &tlv(&[0x06], MMS_CTX),
                &seq(&tlv(&[0x06], &[0x51, 0x01])),
            ])),
        ]),
    );
    let user = tlv(&[0x61], &seq(&cat(&[&int(1), &cc(0, &aarq)])));
    let cp_ppdu = tlv(
        &[0x31],
        &cat(&[
            &cc(0, &cp(0, &[1])),
            &cc(
                2,
                &cat(&[
                    &cp(1, &[0, 0, 0, 1]),
                    &cp(2, &[0, 0, 0, 1]),
                    &contexts,
                    &user,
                ]),
            ),
        ]),
    );
    spdu(iso::si::CN, &pgi_user_data(&cp_ppdu))
}

fn ac_with_aare(result: u8) -> Vec<u8> {
    let resp = cc(
        9,
        &cat(&[
            &cp(0, &[0x7d, 0x00]),
            &cp(1, &[0x05]),
            &cp(2, &[0x05]),
            &cc(4, &cat(&[&cp(0, &[1]), &cp(1, &[5, 0xf1, 0x00])])),
        ]),
    );
    let aare = tlv(
        &[0x61],
        &cat(&[
            &cc(1, &tlv(&[0x06], MMS_APP_CTX)),
            &cc(2, &int(result)),
            &cc(3, &cc(1, &int(0))),
            &external(&resp),
        ]),
    );
    let user = tlv(&[0x61], &seq(&cat(&[&int(1), &cc(0, &aare)])));
    let cpa = tlv(
        &[0x31],
        &cat(&[
            &cc(0, &cp(0, &[1])),
            &cc(2, &cat(&[&cp(3, &[0, 0, 0, 1]), &user])),
        ]),
    );
    spdu(iso::si::AC, &pgi_user_data(&cpa))
}

// ---- harness ----

struct H {
    s: State,
    f: otwatch_core::FlowInfo,
    rec: Recorder,
    t: i64,
}

impl H {
    fn new() -> H {
        H {
            s: State::default(),
            f: flow(Transport::Tcp, 102, true),
            rec: Recorder::default(),
            t: 0,
        }
    }
    fn send(&mut self, dir: Direction, tsdu: &[u8]) {
        self.t += 1_000_000;
        let mut cx = Ctx::new(Timestamp(self.t), &self.f, dir, &mut self.rec);
        self.s.on_tsdu(tsdu, &mut cx);
    }
    fn req(&mut self, tsdu: &[u8]) {
        self.send(Direction::ToServer, tsdu)
    }
    fn resp(&mut self, tsdu: &[u8]) {
        self.send(Direction::ToClient, tsdu)
    }
    fn msgs(&self) -> Vec<&serde_json::Value> {
        self.rec.of("message")
    }
    fn last(&self) -> serde_json::Value {
        self.msgs().last().expect("a message")["mms"].clone()
    }
    fn bad(&self) -> Vec<String> {
        self.rec
            .of("malformed")
            .iter()
            .map(|m| m["error"]["code"].as_str().unwrap().to_string())
            .collect()
    }
}

// ---- association ----

#[test]
fn initiate_in_aarq_and_aare() {
    let mut h = H::new();
    h.req(&cn_with_aarq());
    let m = h.last();
    assert_eq!(m["function_code"], 2303);
    assert_eq!(m["pdu"], "initiate_request");
    assert_eq!(m["max_serv_outstanding_calling"], 5);
    assert_eq!(m["data_structure_nesting_level"], 10);
    assert_eq!(m["version"], 1);
    assert_eq!(m["acse"]["apdu"], "aarq");
    assert_eq!(m["acse"]["application_context"], "1.0.9506.2.3");
    assert_eq!(m["acse"]["called_ap_title"], "1.1.1.999.1");
    assert_eq!(m["acse"]["calling_ae_qualifier"], 33);
    assert_eq!(h.msgs()[0]["kind"], "request");
    assert_eq!((h.s.acse_context, h.s.mms_context), (Some(1), Some(3)));
    h.resp(&ac_with_aare(0));
    let m = h.last();
    assert_eq!(m["function_code"], 2559);
    assert_eq!(m["acse"]["apdu"], "aare");
    assert_eq!(m["acse"]["result"], 0);
    assert_eq!(h.msgs()[1]["kind"], "response");
    assert_eq!((h.s.stats.connects, h.s.stats.accepts), (1, 1));
    assert!(h.bad().is_empty());
}

#[test]
fn refuse_with_cpr_and_initiate_error() {
    let mut h = H::new();
    let aare = tlv(
        &[0x61],
        &cat(&[
            &cc(1, &tlv(&[0x06], MMS_APP_CTX)),
            &cc(2, &int(1)),
            &external(&cc(10, &cc(0, &cp(8, &[2])))),
        ]),
    );
    let user = tlv(&[0x61], &seq(&cat(&[&int(1), &cc(0, &aare)])));
    let cpr = seq(&cat(&[
        &cp(0, &[0x07, 0x80]),
        &cp(7, &[1]),
        &cp(10, &[2]),
        &user,
    ]));
    h.resp(&spdu(
        iso::si::RF,
        &cat(&[&[0x32, 0x01, 0x02], &pgi_user_data(&cpr)[8..]]),
    ));
    assert!(h.bad().is_empty(), "{:?}", h.bad());
    let m = h.last();
    assert_eq!(m["function_code"], 10 * 256 + 255);
    assert_eq!(m["acse"]["result"], 1);
    assert_eq!(m["error_class"], 8);
    assert_eq!(h.s.stats.refuses, 1);
}

#[test]
fn release_without_mms_is_not_a_message() {
    let mut h = H::new();
    let rlrq = tlv(&[0x62], &cp(0, &[0]));
    let user = tlv(&[0x61], &seq(&cat(&[&int(1), &cc(0, &rlrq)])));
    h.req(&spdu(iso::si::FN, &pgi_user_data(&user)));
    h.resp(&spdu(iso::si::DN, &[]));
    h.req(&spdu(iso::si::AB, &[0x11, 0x01, 0x03]));
    assert!(h.msgs().is_empty());
    assert!(h.bad().is_empty());
    assert_eq!(
        (
            h.s.stats.finishes,
            h.s.stats.disconnects,
            h.s.stats.aborts,
            h.s.stats.acse
        ),
        (1, 1, 1, 1)
    );
}

#[test]
fn conclude_request_and_response() {
    let mut h = H::new();
    h.req(&dt(&cp(11, &[])));
    assert_eq!(h.last()["function_code"], 11 * 256 + 255);
    assert_eq!(h.last()["pdu"], "conclude_request");
    h.resp(&dt(&cp(12, &[])));
    assert_eq!(h.last()["function_code"], 12 * 256 + 255);
}

// ---- confirmed services ----

#[test]
fn read_request_and_response_are_matched() {
    let mut h = H::new();
    let read = cc(
        4,
        &cc(
            1,
            &var_list(&[
                ("IED1LD0", "LLN0$ST$Mod$stVal"),
                ("IED1LD0", "XCBR1$ST$Pos"),
            ]),
        ),
    );
    h.req(&dt(&conf_req(7, &read)));
    let m = h.last();
    assert_eq!(m["function_code"], 4);
    assert_eq!(m["service_name"], "read");
    assert_eq!(m["invoke_id"], 7);
    assert_eq!(m["variable_count"], 2);
    assert_eq!(m["variables"][1], "IED1LD0/XCBR1$ST$Pos");
    assert_eq!(m["presentation_context"], 3);
    let resp = cc(4, &cc(1, &cat(&[&cp(3, &[1]), &cp(0, &[10])])));
    h.resp(&dt(&conf_resp(7, &resp)));
    let m = h.last();
    assert_eq!(m["function_code"], 260);
    assert_eq!(m["request_service"], 4);
    assert_eq!(m["latency_ns"], 1_000_000);
    assert_eq!(
        (m["result_count"].clone(), m["failure_count"].clone()),
        (2.into(), 1.into())
    );
    // An answer nobody asked for.
    h.resp(&dt(&conf_resp(99, &resp)));
    assert!(h.last().get("request_service").is_none());
    assert_eq!(h.s.stats.unmatched_answers, 1);
}

#[test]
fn read_of_a_named_variable_list() {
    let mut h = H::new();
    h.req(&dt(&conf_req(
        1,
        &cc(4, &cc(1, &cc(1, &dom_name("LD0", "LLN0$DataSet1")))),
    )));
    assert_eq!(h.last()["variable_list_name"], "LD0/LLN0$DataSet1");
}

#[test]
fn write_request_and_response() {
    let mut h = H::new();
    let w = cc(
        5,
        &cat(&[
            &var_list(&[("LD0", "CSWI1$CO$Pos$Oper")]),
            &cc(0, &cp(3, &[1])),
        ]),
    );
    h.req(&dt(&conf_req(2, &w)));
    let m = h.last();
    assert_eq!(m["function_code"], 5);
    assert_eq!(m["variables"][0], "LD0/CSWI1$CO$Pos$Oper");
    assert_eq!(m["value_count"], 1);
    h.resp(&dt(&conf_resp(2, &cc(5, &cp(1, &[])))));
    assert_eq!(h.last()["success_count"], 1);
    assert_eq!(h.last()["function_code"], 261);
}

#[test]
fn get_name_list_and_identify() {
    let mut h = H::new();
    let gnl = cc(
        1,
        &cat(&[
            &cc(0, &cp(0, &[9])),
            &cc(1, &cp(1, b"LD0")),
            &cp(2, b"LLN0$ST"),
        ]),
    );
    h.req(&dt(&conf_req(3, &gnl)));
    let m = h.last();
    assert_eq!(m["function_code"], 1);
    assert_eq!(m["object_class"], 9);
    assert_eq!(m["scope"], "domain");
    assert_eq!(m["domain"], "LD0");
    assert_eq!(m["continue_after"], "LLN0$ST");
    let ids = cc(0, &cat(&[&vis("LLN0"), &vis("XCBR1"), &vis("CSWI1")]));
    h.resp(&dt(&conf_resp(3, &cc(1, &cat(&[&ids, &cp(1, &[0])])))));
    let m = h.last();
    assert_eq!(m["identifier_count"], 3);
    assert_eq!(m["identifiers"][2], "CSWI1");
    assert_eq!(m["more_follows"], false);

    h.req(&dt(&conf_req(4, &cp(2, &[]))));
    assert_eq!(h.last()["function_code"], 2);
    let idr = cc(
        2,
        &cat(&[&cp(0, b"ABB"), &cp(1, b"REF615"), &cp(2, b"5.0 FP1")]),
    );
    h.resp(&dt(&conf_resp(4, &idr)));
    assert_eq!(h.last()["vendor"], "ABB");
    assert_eq!(h.last()["revision"], "5.0 FP1");
}

#[test]
fn identify_response_gives_identity() {
    let idr = cc(
        2,
        &cat(&[&cp(0, b"Siemens"), &cp(1, b"SIPROTEC 5"), &cp(2, b"V8.30")]),
    );
    let b = conf_resp(4, &idr);
    let pdu = wire::parse_pdu(&b).unwrap();
    let m = Message {
        pdu,
        acse: None,
        context_id: None,
        request_service: None,
        latency_ns: None,
    };
    let id = m.identity().expect("identity");
    assert_eq!(id.subject, Subject::Sender);
    assert_eq!(id.vendor.as_deref(), Some("Siemens"));
    assert_eq!(id.model.as_deref(), Some("SIPROTEC 5"));
    assert_eq!(id.firmware.as_deref(), Some("V8.30"));
}

#[test]
fn variable_access_and_list_services() {
    let mut h = H::new();
    h.req(&dt(&conf_req(
        1,
        &cc(6, &cc(0, &dom_name("LD0", "XCBR1$ST"))),
    )));
    assert_eq!(h.last()["function_code"], 6);
    assert_eq!(h.last()["name"], "LD0/XCBR1$ST");
    let d = cc(
        11,
        &cat(&[
            &dom_name("LD0", "LLN0$DS1"),
            &var_list(&[("LD0", "A"), ("LD0", "B")]),
        ]),
    );
    h.req(&dt(&conf_req(2, &d)));
    assert_eq!(h.last()["list_name"], "LD0/LLN0$DS1");
    assert_eq!(h.last()["variable_count"], 2);
    h.req(&dt(&conf_req(3, &cc(12, &dom_name("LD0", "LLN0$DS1")))));
    assert_eq!(h.last()["function_code"], 12);
    assert_eq!(h.last()["item"], "LLN0$DS1");
    h.req(&dt(&conf_req(4, &cp(0, &[0]))));
    assert_eq!(h.last()["function_code"], 0);
    assert_eq!(h.last()["extended_derivation"], false);
    assert!(h.bad().is_empty());
}

#[test]
fn file_services() {
    let mut h = H::new();
    h.req(&dt(&conf_req(
        1,
        &cc(
            72,
            &cat(&[&cc(0, &file("COMTRADE/fault1.cfg")), &cp(1, &[0])]),
        ),
    )));
    assert_eq!(h.last()["function_code"], 72);
    assert_eq!(h.last()["service_name"], "fileOpen");
    assert_eq!(h.last()["file_name"], "COMTRADE/fault1.cfg");
    h.resp(&dt(&conf_resp(
        1,
        &cc(72, &cat(&[&cp(0, &[5]), &cc(1, &cp(0, &[0, 0, 1, 0]))])),
    )));
    assert_eq!(h.last()["frsm_id"], 5);
    h.req(&dt(&conf_req(2, &cp(73, &[5]))));
    assert_eq!(h.last()["frsm_id"], 5);
    h.req(&dt(&conf_req(3, &cp(74, &[5]))));
    assert_eq!(h.last()["function_code"], 74);
    h.req(&dt(&conf_req(4, &cc(76, &file("old.log")))));
    assert_eq!(h.last()["file_name"], "old.log");
    h.req(&dt(&conf_req(
        5,
        &cc(75, &cat(&[&cc(0, &file("a.cfg")), &cc(1, &file("b.cfg"))])),
    )));
    assert_eq!(h.last()["new_file_name"], "b.cfg");
    h.req(&dt(&conf_req(6, &cc(77, &cc(0, &file("/"))))));
    assert_eq!(h.last()["file_name"], "/");
    h.req(&dt(&conf_req(
        7,
        &cc(
            46,
            &cat(&[&cc(1, &file("fw.bin")), &cc(2, &file("/flash/fw.bin"))]),
        ),
    )));
    assert_eq!(h.last()["function_code"], 46);
    assert_eq!(h.last()["destination_file_name"], "/flash/fw.bin");
    assert!(h.bad().is_empty());
}

#[test]
fn program_invocation_domain_and_control_services() {
    let mut h = H::new();
    for (tag, name) in [
        (40u8, "start"),
        (41, "stop"),
        (42, "resume"),
        (43, "reset"),
        (44, "kill"),
    ] {
        h.req(&dt(&conf_req(tag, &cc(tag, &cp(0, b"PI_MAIN")))));
        assert_eq!(h.last()["function_code"], tag as u64);
        assert_eq!(h.last()["service_name"], name);
        assert_eq!(h.last()["program_invocation"], "PI_MAIN");
    }
    h.req(&dt(&conf_req(
        1,
        &cc(38, &cat(&[&cp(0, b"PI2"), &cc(1, &vis("D1"))])),
    )));
    assert_eq!(h.last()["program_invocation"], "PI2");
    h.req(&dt(&conf_req(2, &cp(39, b"PI2"))));
    assert_eq!(h.last()["program_invocation"], "PI2");
    h.req(&dt(&conf_req(
        3,
        &cc(26, &cat(&[&cp(0, b"LD0"), &cc(1, &[]), &cp(2, &[0])])),
    )));
    assert_eq!(h.last()["domain"], "LD0");
    h.req(&dt(&conf_req(4, &cp(27, b"LD0"))));
    assert_eq!(h.last()["function_code"], 27);
    h.req(&dt(&conf_req(5, &cp(29, b"LD0"))));
    h.resp(&dt(&conf_resp(
        5,
        &cc(29, &cat(&[&cp(0, &[9]), &cc(1, &[])])),
    )));
    assert_eq!(h.last()["ulsm_id"], 9);
    h.req(&dt(&conf_req(6, &cp(30, &[9]))));
    assert_eq!(h.last()["ulsm_id"], 9);
    h.req(&dt(&conf_req(7, &cp(36, b"LD0"))));
    assert_eq!(h.last()["service_name"], "deleteDomain");
    assert_eq!(h.last()["domain"], "LD0");
    h.req(&dt(&conf_req(8, &cp(37, b"LD0"))));
    assert_eq!(h.last()["function_code"], 37);
    h.req(&dt(&conf_req(9, &cc(19, &cc(0, &cp(0, b"SEM1"))))));
    assert_eq!(h.last()["semaphore"], "SEM1");
    h.req(&dt(&conf_req(
        10,
        &cc(20, &cat(&[&cc(0, &cp(0, b"SEM1")), &cp(1, b"T1")])),
    )));
    assert_eq!(h.last()["named_token"], "T1");
    assert!(h.bad().is_empty());
}

// ---- other PDUs ----

#[test]
fn information_report_is_other() {
    let mut h = H::new();
    let rpt = cc(
        3,
        &cc(
            0,
            &cat(&[
                &cc(1, &cp(0, b"RPT")),
                &cc(0, &cat(&[&cp(10, b"brcb"), &cp(3, &[1])])),
            ]),
        ),
    );
    h.resp(&dt(&rpt));
    let m = h.last();
    assert_eq!(m["function_code"], 768);
    assert_eq!(m["service_name"], "informationReport");
    assert_eq!(m["variable_list_name"], "RPT");
    assert_eq!(m["value_count"], 2);
    assert_eq!(h.msgs()[0]["kind"], "other");
}

#[test]
fn unsolicited_status_carries_the_vmd_state() {
    let mut h = H::new();
    // unconfirmed-PDU [3] { unsolicitedStatus [1] { logical [0] 0, physical [1] 2 } }
    h.resp(&dt(&cc(3, &cc(1, &cat(&[&cp(0, &[0]), &cp(1, &[2])])))));
    let m = h.last();
    assert_eq!(m["service_name"], "unsolicitedStatus");
    assert_eq!(m["logical_status"], 0);
    assert_eq!(m["physical_status"], 2);
    assert!(h.bad().is_empty());
}

#[test]
fn errors_reject_and_cancel() {
    let mut h = H::new();
    h.req(&dt(&conf_req(5, &cp(36, b"LD0"))));
    // confirmed-Error: invokeID [0], serviceError [2] { errorClass [0] { access [7] 2 } }
    h.resp(&dt(&cc(
        2,
        &cat(&[&cp(0, &[5]), &cc(2, &cc(0, &cp(7, &[2])))]),
    )));
    let m = h.last();
    assert_eq!(m["function_code"], 2 * 256 + 255);
    assert_eq!(m["request_service"], 36);
    assert_eq!(
        (m["error_class"].clone(), m["error_code"].clone()),
        (7.into(), 2.into())
    );
    h.resp(&dt(&cc(4, &cat(&[&cp(0, &[6]), &cp(1, &[3])]))));
    assert_eq!(h.last()["function_code"], 4 * 256 + 255);
    assert_eq!(h.last()["reject_reason"], 1);
    h.req(&dt(&cp(5, &[8])));
    assert_eq!(h.last()["function_code"], 5 * 256 + 255);
    assert_eq!(h.last()["invoke_id"], 8);
    h.resp(&dt(&cp(6, &[8])));
    assert_eq!(h.last()["function_code"], 6 * 256 + 255);
    h.resp(&dt(&cc(10, &cc(0, &cp(8, &[1])))));
    assert_eq!(h.last()["pdu"], "initiate_error");
    assert_eq!(h.last()["error_class"], 8);
    let kinds: Vec<_> = h.msgs().iter().map(|m| m["kind"].clone()).collect();
    assert_eq!(
        kinds,
        [
            "request", "response", "other", "request", "response", "response"
        ]
    );
}

#[test]
fn bare_mms_on_cotp() {
    let mut h = H::new();
    h.req(&conf_req(1, &cp(37, b"LD0")));
    assert_eq!(h.last()["function_code"], 37);
    assert!(h.last().get("presentation_context").is_none());
}

#[test]
fn modifier_list_before_service() {
    let mut h = H::new();
    h.req(&dt(&conf_req(1, &cat(&[&seq(&[]), &cp(2, &[])]))));
    assert_eq!(h.last()["function_code"], 2);
}

// ---- malformed ----

#[test]
fn session_errors_are_malformed() {
    let mut h = H::new();
    h.req(&[0x42, 0x00]);
    h.req(&[0x0d, 0x20, 0x05]);
    h.req(&[]);
    h.req(&spdu(iso::si::CN, &[0x05, 0x10, 0x01]));
    assert_eq!(
        h.bad(),
        [
            "unknown_session_spdu",
            "session_spdu_truncated",
            "empty_tsdu",
            "session_spdu_truncated"
        ]
    );
    assert!(h.msgs().is_empty());
    let d = &h.rec.of("malformed")[0]["error"]["detail"];
    assert_eq!(d, "unknown session SPDU identifier 66");
}

#[test]
fn presentation_and_acse_errors_are_malformed() {
    let mut h = H::new();
    // DT whose user data is neither simply- nor fully-encoded.
    h.req(&[0x01, 0x00, 0x01, 0x00, 0x04, 0x01, 0x00]);
    // PDV-list that is not a SEQUENCE.
    h.req(&cat(&[&[0x01, 0x00, 0x01, 0x00], &tlv(&[0x61], &int(3))]));
    // CP that is not a SET.
    h.req(&spdu(iso::si::CN, &pgi_user_data(&int(1))));
    // AARQ whose application context name is not an OID.
    let aarq = tlv(&[0x60], &cc(1, &int(1)));
    let user = tlv(&[0x61], &seq(&cat(&[&int(1), &cc(0, &aarq)])));
    h.req(&cat(&[&[0x01, 0x00, 0x01, 0x00], &user]));
    assert_eq!(
        h.bad(),
        [
            "bad_presentation_ppdu",
            "bad_presentation_ppdu",
            "bad_presentation_ppdu",
            "bad_acse_apdu"
        ]
    );
}

#[test]
fn bad_mms_pdus() {
    let mut h = H::new();
    // Unknown PDU choice: malformed only.
    h.req(&dt(&cc(20, &[])));
    assert_eq!(h.bad(), ["unknown_mms_pdu"]);
    assert!(h.msgs().is_empty());
    // Truncated BER inside the PDU: the choice is unreadable, malformed only.
    h.req(&dt(&[0xa0, 0x05, 0x02, 0x01]));
    assert_eq!(h.bad().len(), 2);
    assert!(h.msgs().is_empty());
    // A read without its variable specification: a message and malformed.
    h.req(&dt(&conf_req(1, &cc(4, &cp(0, &[0])))));
    assert_eq!(h.last()["function_code"], 4);
    assert_eq!(h.bad().last().unwrap(), "bad_mms_service");
    let e = h.rec.of("malformed").last().unwrap()["error"].clone();
    assert_eq!(e["function_code"], 4);
    assert_eq!(
        e["detail"],
        "MMS confirmed_request read: no variable access specification"
    );
    // A response without a service: a message with service 255 and malformed.
    h.resp(&dt(&cc(1, &int(1))));
    assert_eq!(h.last()["function_code"], 511);
    assert_eq!(h.bad().last().unwrap(), "mms_missing_field");
    // Unknown service tag.
    h.req(&dt(&conf_req(2, &cc(90, &[]))));
    assert_eq!(h.bad().last().unwrap(), "unknown_mms_service");
}

#[test]
fn pending_table_is_bounded() {
    let mut h = H::new();
    for i in 0..(MAX_PENDING as u8 + 8) {
        h.req(&dt(&conf_req(i, &cp(2, &[]))));
    }
    assert_eq!(h.s.stats.unanswered, 8);
    // The oldest were dropped, the newest still match.
    h.resp(&dt(&conf_resp(0, &cp(2, &[]))));
    assert!(h.last().get("request_service").is_none());
    h.resp(&dt(&conf_resp(39, &cp(2, &[]))));
    assert_eq!(h.last()["request_service"], 2);
}

#[test]
fn json_lists_are_capped() {
    let mut h = H::new();
    let names: Vec<(&str, &str)> = (0..40).map(|_| ("LD0", "X")).collect();
    h.req(&dt(&conf_req(1, &cc(4, &cc(1, &var_list(&names))))));
    assert_eq!(h.last()["variable_count"], 40);
    assert_eq!(
        h.last()["variables"].as_array().unwrap().len(),
        json::MAX_LISTED
    );
}

proptest! {
    #[test]
    fn arbitrary_tsdus_never_panic(
        prefix in prop::sample::select(vec![
            vec![], vec![0x01, 0x00, 0x01, 0x00], vec![0x01, 0x00, 0x01, 0x00, 0x61],
            vec![0x0d], vec![0xa0], vec![0xa1], vec![0xa3],
        ]),
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut h = H::new();
        let mut b = prefix.clone();
        b.extend(body);
        h.req(&b);
        h.resp(&b);
    }

    #[test]
    fn mutated_valid_pdus_never_panic(pos in 0usize..400, val in any::<u8>(), cut in 0usize..400) {
        let mut h = H::new();
        for mut b in [cn_with_aarq(), ac_with_aare(0), dt(&conf_req(1, &cc(4, &cc(1, &var_list(&[("A", "B")])))))] {
            let n = b.len();
            if let Some(x) = b.get_mut(pos % n) {
                *x = val;
            }
            b.truncate(cut.max(1));
            h.req(&b);
        }
    }
}
