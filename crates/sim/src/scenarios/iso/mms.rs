//! MMS scenarios: an IEC 61850 client and a protection IED.

use otwatch_core::Timestamp;

use super::other;
use super::wire::*;
use crate::Truth;
use crate::builder::{Cap, ms, secs};
use crate::net::Host;
use crate::scenarios::hosts::{EWS, HMI};
use crate::transport::{Channel, Dir, TcpConn};

/// ABB Relion REF615 feeder protection IED (ABB OUI), MMS server on TCP 102.
pub(crate) const IED_ABB: Host =
    Host::v4([0x00, 0x21, 0xc1, 0x4a, 0x10, 0x41], [10, 10, 2, 41], 64);
/// Siemens SIPROTEC 5 line protection IED.
pub(crate) const IED_SIEMENS: Host =
    Host::v4([0x00, 0x0e, 0x8c, 0x6d, 0x21, 0x42], [10, 10, 2, 42], 64);

const PORT: u16 = 102;

pub(super) const NORMAL: &str = "The substation SCADA gateway (10.10.1.10) polls an ABB REF615 \
feeder protection IED (10.10.2.41) over IEC 61850 MMS: TPKT/COTP connection (CR/CC), ISO session \
connect with a presentation CP and an ACSE AARQ carrying the MMS initiate-Request (answered by AC / \
AARE / initiate-Response), identify (ABB, REF615, 5.0 FP1), getNameList of the logical devices and of \
the logical nodes of LD0 (the answer split across two COTP DT TPDUs), getVariableAccessAttributes of \
XCBR1, a write enabling a buffered report control block (RptEna), ten read polls of breaker position \
and measurements, five information reports (buffered reports) from the IED, then conclude and an \
ISO session release (FN/DN with ACSE RLRQ/RLRE, not messages). Every confirmed request is answered.";

pub(super) const ABNORMAL: &str = "An engineering workstation (192.168.10.50, routed) associates with \
a Siemens SIPROTEC 5 IED (10.10.2.42) over MMS and performs risky operations: lists the file system \
(fileDirectory), uploads a disturbance record (fileOpen, two fileRead, fileClose), pushes a firmware \
image with obtainFile, renames and deletes a file, stops, resets and restarts the program invocation \
\"PROT_APP\", downloads a new domain (initiateDownloadSequence, downloadSegment) and deletes domain \
\"CTRL\", which the IED refuses with a confirmed-Error. Malformed PDUs follow: a read request whose BER \
is truncated (malformed only), a TSDU with an unknown session SPDU (malformed only), a write without its \
data (a write request and malformed) and the IED's reject PDU for it; then conclude.";

/// `pdu * 256 + service`.
const fn fc(pdu: u16, service: u16) -> u16 {
    pdu * 256 + service
}

/// The TPKT/COTP connection management messages (reported by the `cotp` session).
fn cotp(code: u16, request: bool) -> Truth {
    Truth::msg("cotp", code, request)
}
/// COTP TPDU codes as counted by the `cotp` dissector: CR and CC.
const COTP_CR: u16 = 0xe0;
const COTP_CC: u16 = 0xd0;

struct Assoc {
    ch: TcpConn,
    invoke: u32,
}

impl Assoc {
    /// TCP handshake, COTP CR/CC, session CN/AC with the MMS initiate.
    fn open(cap: &mut Cap, client: Host, server: Host, t: Timestamp) -> (Assoc, Timestamp) {
        let mut ch = TcpConn::new(cap, client, server, PORT);
        let t = ch.handshake(cap, t);
        let t = t.add_nanos(ms(1));
        ch.send(cap, t, Dir::ToServer, &cotp_cr(0x0008));
        cap.truth(t, cotp(COTP_CR, true));
        let t = t.add_nanos(cap.rng.micros(400, 1_500));
        ch.send(cap, t, Dir::ToClient, &cotp_cc(0x4001, 0x0008));
        cap.truth(t, cotp(COTP_CC, false));
        let t = t.add_nanos(cap.rng.micros(300, 900));
        ch.send(
            cap,
            t,
            Dir::ToServer,
            &cotp_dt(&connect(&initiate_request())),
        );
        cap.truth(t, Truth::msg("mms", fc(8, 255), true));
        let t = t.add_nanos(cap.rng.micros(2_000, 8_000));
        ch.send(
            cap,
            t,
            Dir::ToClient,
            &cotp_dt(&accept(&initiate_response())),
        );
        cap.truth(t, Truth::msg("mms", fc(9, 255), false));
        (Assoc { ch, invoke: 0 }, t)
    }

    fn next_id(&mut self) -> u32 {
        self.invoke += 1;
        self.invoke
    }

    /// A confirmed request at `t` and its response; returns the response time.
    fn exchange(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        service: u16,
        req: &[u8],
        resp: &[u8],
    ) -> Timestamp {
        let id = self.next_id();
        self.request(cap, t, id, service, req);
        let t = t.add_nanos(cap.rng.micros(1_500, 12_000));
        self.ch
            .send(cap, t, Dir::ToClient, &cotp_dt(&data(&conf_resp(id, resp))));
        cap.truth(t, Truth::msg("mms", fc(1, service), false));
        t
    }

    fn request(&mut self, cap: &mut Cap, t: Timestamp, id: u32, service: u16, req: &[u8]) {
        self.ch
            .send(cap, t, Dir::ToServer, &cotp_dt(&data(&conf_req(id, req))));
        cap.truth(t, Truth::msg("mms", fc(0, service), true));
    }

    /// Conclude, session release, TCP close.
    fn close(mut self, cap: &mut Cap, t: Timestamp) {
        self.ch
            .send(cap, t, Dir::ToServer, &cotp_dt(&data(&cp(11, &[]))));
        cap.truth(t, Truth::msg("mms", fc(11, 255), true));
        let t = t.add_nanos(cap.rng.micros(1_000, 4_000));
        self.ch
            .send(cap, t, Dir::ToClient, &cotp_dt(&data(&cp(12, &[]))));
        cap.truth(t, Truth::msg("mms", fc(12, 255), false));
        let t = t.add_nanos(ms(2));
        self.ch.send(cap, t, Dir::ToServer, &cotp_dt(&finish()));
        let t = t.add_nanos(cap.rng.micros(800, 2_000));
        self.ch.send(cap, t, Dir::ToClient, &cotp_dt(&disconnect()));
        self.ch.close(cap, t.add_nanos(ms(3)));
    }
}

const LD: &str = "REF615LD0";

fn float(v: f32) -> Vec<u8> {
    cp(7, &[&[8u8][..], &v.to_be_bytes()].concat())
}

pub(super) fn normal(cap: &mut Cap) {
    let (mut a, t) = Assoc::open(cap, HMI, IED_ABB, cap.at(ms(50)));
    let ident = cc(
        2,
        &[cp(0, b"ABB"), cp(1, b"REF615"), cp(2, b"5.0 FP1")].concat(),
    );
    let t = a.exchange(cap, t.add_nanos(ms(5)), 2, &cp(2, &[]), &ident);

    // Logical devices (domains), then the logical nodes of LD0.
    let gnl_domains = cc(1, &[cc(0, &cp(0, &[9])), cc(1, &cp(0, &[]))].concat());
    let domains = cc(
        1,
        &[
            cc(0, &[vis(LD), vis("REF615CTRL"), vis("REF615DR")].concat()),
            cp(1, &[0]),
        ]
        .concat(),
    );
    let t = a.exchange(cap, t.add_nanos(ms(4)), 1, &gnl_domains, &domains);
    let gnl_vars = cc(
        1,
        &[cc(0, &cp(0, &[0])), cc(1, &cp(1, LD.as_bytes()))].concat(),
    );
    let names: Vec<u8> = [
        "LLN0",
        "LLN0$ST",
        "LLN0$ST$Mod",
        "LLN0$ST$Mod$stVal",
        "LLN0$BR",
        "LLN0$BR$brcbMeas01",
        "LPHD1",
        "XCBR1",
        "XCBR1$ST",
        "XCBR1$ST$Pos",
        "XCBR1$ST$Pos$stVal",
        "XCBR1$ST$Pos$q",
        "CSWI1",
        "CSWI1$CO$Pos$Oper",
        "MMXU1",
        "MMXU1$MX$TotW$mag$f",
        "MMXU1$MX$A$phsA$cVal$mag$f",
        "PTOC1",
        "PTOC1$ST$Op$general",
        "PTOC1$SP$StrVal$setMag$f",
    ]
    .iter()
    .flat_map(|n| vis(n))
    .collect();
    let resp = conf_resp(a.invoke + 1, &cc(1, &[cc(0, &names), cp(1, &[0])].concat()));
    let id = a.next_id();
    let t = t.add_nanos(ms(3));
    a.request(cap, t, id, 1, &gnl_vars);
    let t = t.add_nanos(cap.rng.micros(3_000, 9_000));
    let tsdu = data(&resp);
    a.ch.send(cap, t, Dir::ToClient, &cotp_dt_split(&tsdu, tsdu.len() / 2));
    cap.truth(t, Truth::msg("mms", fc(1, 1), false));

    let gvaa = cc(6, &cc(0, &dom_name(LD, "XCBR1")));
    let attrs = cc(6, &[cp(0, &[0]), cc(2, &cc(2, &cc(1, &[])))].concat());
    let t = a.exchange(cap, t.add_nanos(ms(4)), 6, &gvaa, &attrs);

    // Enable the buffered report control block.
    let write = cc(
        5,
        &[
            var_list(LD, &["LLN0$BR$brcbMeas01$RptEna"]),
            cc(0, &cp(3, &[1])),
        ]
        .concat(),
    );
    let mut t = a.exchange(cap, t.add_nanos(ms(4)), 5, &write, &cc(5, &cp(1, &[])));

    let read = cc(
        4,
        &cc(
            1,
            &var_list(
                LD,
                &[
                    "XCBR1$ST$Pos$stVal",
                    "XCBR1$ST$Pos$q",
                    "MMXU1$MX$TotW$mag$f",
                    "PTOC1$ST$Op$general",
                ],
            ),
        ),
    );
    let mut report_no = 0u8;
    for n in 0..10 {
        let at = cap.at_jittered(secs(1 + n), 5_000);
        let w = cap.rng.range(41_000, 43_500) as f32;
        let results = cc(
            1,
            &[
                cp(4, &[6, 0x80]),
                cp(4, &[3, 0x00, 0x00]),
                float(w),
                cp(3, &[0]),
            ]
            .concat(),
        );
        t = a.exchange(cap, at, 4, &read, &cc(4, &results));
        if n % 2 == 1 && report_no < 6 {
            report_no += 1;
            let at = t.add_nanos(cap.rng.micros(100_000, 400_000));
            let rpt = cc(
                3,
                &cc(
                    0,
                    &[
                        cc(1, &cp(0, b"RPT")),
                        cc(
                            0,
                            &[
                                cp(10, b"REF615LD0/LLN0$BR$brcbMeas01"),
                                cp(4, &[6, 0x7c, 0x00]),
                                cp(6, &[report_no]),
                                cp(4, &[4, 0x10]),
                                float(w),
                            ]
                            .concat(),
                        ),
                    ]
                    .concat(),
                ),
            );
            a.ch.send(cap, at, Dir::ToClient, &cotp_dt(&data(&rpt)));
            cap.truth(at, other("mms", fc(3, 0)));
        }
    }
    a.close(cap, t.add_nanos(ms(500)));
}

pub(super) fn abnormal(cap: &mut Cap) {
    let (mut a, t) = Assoc::open(cap, EWS, IED_SIEMENS, cap.at(ms(50)));
    let step = |cap: &mut Cap, t: Timestamp| t.add_nanos(cap.rng.micros(200_000, 900_000));

    // File system.
    let dir = cc(77, &cc(0, &file_name("/")));
    let entries = cc(
        77,
        &[
            cc(
                0,
                &[seq(&[
                    cc(0, &file_name("COMTRADE/DR_0042.cfg")),
                    cc(1, &cp(0, &[0, 0, 0x10, 0])),
                ]
                .concat())]
                .concat(),
            ),
            cp(1, &[0]),
        ]
        .concat(),
    );
    let t = step(cap, t);
    let t = a.exchange(cap, t, 77, &dir, &entries);
    let open = cc(
        72,
        &[cc(0, &file_name("COMTRADE/DR_0042.cfg")), cp(1, &[0])].concat(),
    );
    let t = step(cap, t);
    let t = a.exchange(
        cap,
        t,
        72,
        &open,
        &cc(72, &[cp(0, &[1]), cc(1, &cp(0, &[0, 0, 0x10, 0]))].concat()),
    );
    let mut t = t;
    for _ in 0..2 {
        let chunk = vec![0x41u8; 200];
        t = a.exchange(
            cap,
            t.add_nanos(ms(3)),
            73,
            &cp(73, &[1]),
            &cc(73, &[cp(0, &chunk), cp(1, &[0])].concat()),
        );
    }
    let t = a.exchange(cap, t.add_nanos(ms(3)), 74, &cp(74, &[1]), &cp(74, &[]));
    // Firmware push and file changes.
    let obtain = cc(
        46,
        &[
            cc(1, &file_name("C:/fw/SIP5_V0930.bin")),
            cc(2, &file_name("/firmware/SIP5.bin")),
        ]
        .concat(),
    );
    let t = step(cap, t);
    let t = a.exchange(cap, t, 46, &obtain, &cp(46, &[]));
    let rename = cc(
        75,
        &[
            cc(0, &file_name("/firmware/SIP5.bin")),
            cc(1, &file_name("/firmware/active.bin")),
        ]
        .concat(),
    );
    let t = a.exchange(cap, t.add_nanos(ms(20)), 75, &rename, &cp(75, &[]));
    let t = a.exchange(
        cap,
        t.add_nanos(ms(20)),
        76,
        &cc(76, &file_name("COMTRADE/DR_0042.cfg")),
        &cp(76, &[]),
    );
    // Program invocation control.
    let pi = |tag: u8| cc(tag, &cp(0, b"PROT_APP"));
    let t = step(cap, t);
    let t = a.exchange(cap, t, 41, &pi(41), &cp(41, &[]));
    let t = a.exchange(cap, t.add_nanos(ms(500)), 43, &pi(43), &cp(43, &[]));
    let start = cc(40, &[cp(0, b"PROT_APP"), cp(1, b"warm")].concat());
    let t = a.exchange(cap, t.add_nanos(ms(500)), 40, &start, &cp(40, &[]));
    // Domain download and deletion.
    let ids = cc(
        26,
        &[cp(0, b"CTRL2"), cc(1, &vis("cap1")), cp(2, &[0])].concat(),
    );
    let t = step(cap, t);
    let t = a.exchange(cap, t, 26, &ids, &cp(26, &[]));
    let t = a.exchange(
        cap,
        t.add_nanos(ms(5)),
        27,
        &cp(27, b"CTRL2"),
        &cc(27, &[cp(0, &[0x55; 64]), cp(1, &[0])].concat()),
    );
    let id = a.next_id();
    let t = step(cap, t);
    a.request(cap, t, id, 36, &cp(36, b"CTRL"));
    let t = t.add_nanos(ms(4));
    a.ch.send(
        cap,
        t,
        Dir::ToClient,
        &cotp_dt(&data(&conf_error(id, 7, 3))),
    );
    cap.truth(t, Truth::msg("mms", fc(2, 255), false));

    // Malformed: a read whose outer BER length runs past the end of the PDU.
    let t = step(cap, t);
    let inner = [
        int(99),
        cc(4, &cc(1, &var_list("CTRL", &["GGIO1$ST$Ind1$stVal"]))),
    ]
    .concat();
    let bad = [&[0xa0, (inner.len() + 16) as u8][..], &inner].concat();
    a.ch.send(cap, t, Dir::ToServer, &cotp_dt(&data(&bad)));
    cap.truth(t, Truth::msg("mms", fc(0, 4), true).into_malformed());
    // Unknown session SPDU.
    let t = t.add_nanos(ms(30));
    a.ch.send(
        cap,
        t,
        Dir::ToServer,
        &cotp_dt(&[0x42, 0x03, 0xde, 0xad, 0x00]),
    );
    cap.truth(t, Truth::msg("mms", 0, true).into_malformed());
    // A write without its data: a request and malformed; the IED rejects it.
    let t = t.add_nanos(ms(30));
    let id = a.next_id();
    let w = cc(5, &[0x30, 0x00]);
    a.ch.send(cap, t, Dir::ToServer, &cotp_dt(&data(&conf_req(id, &w))));
    cap.truth(t, Truth::msg("mms", fc(0, 5), true));
    cap.truth(t, Truth::msg("mms", fc(0, 5), true).into_malformed());
    let t = t.add_nanos(ms(3));
    let reject = cc(4, &[cp(0, &int_bytes(id as i64)), cp(1, &[1])].concat());
    a.ch.send(cap, t, Dir::ToClient, &cotp_dt(&data(&reject)));
    cap.truth(t, other("mms", fc(4, 255)));
    a.close(cap, t.add_nanos(ms(200)));
}
