//! Builders for the IEC 61850 frames: BER, TPKT/COTP, ISO session,
//! presentation and ACSE around MMS PDUs, and the MMS PDUs themselves.

/// A BER element with identifier octets `id`.
pub(crate) fn tlv(id: &[u8], c: &[u8]) -> Vec<u8> {
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
pub(crate) fn cc(n: u8, c: &[u8]) -> Vec<u8> {
    if n < 31 {
        tlv(&[0xa0 | n], c)
    } else {
        tlv(&[0xbf, n], c)
    }
}

/// Context-specific primitive `[n]`.
pub(crate) fn cp(n: u8, c: &[u8]) -> Vec<u8> {
    if n < 31 {
        tlv(&[0x80 | n], c)
    } else {
        tlv(&[0x9f, n], c)
    }
}

/// Minimal two's-complement contents of an INTEGER.
pub(crate) fn int_bytes(v: i64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let mut i = 0;
    while i < 7 && ((b[i] == 0 && b[i + 1] & 0x80 == 0) || (b[i] == 0xff && b[i + 1] & 0x80 != 0)) {
        i += 1;
    }
    b[i..].to_vec()
}

pub(crate) fn int(v: i64) -> Vec<u8> {
    tlv(&[0x02], &int_bytes(v))
}

pub(crate) fn vis(s: &str) -> Vec<u8> {
    tlv(&[0x1a], s.as_bytes())
}

pub(crate) fn seq(c: &[u8]) -> Vec<u8> {
    tlv(&[0x30], c)
}

pub(crate) fn oid(c: &[u8]) -> Vec<u8> {
    tlv(&[0x06], c)
}

// ---- TPKT / COTP ----

fn tpkt(cotp: &[u8]) -> Vec<u8> {
    let mut v = vec![3, 0];
    v.extend(((cotp.len() + 4) as u16).to_be_bytes());
    v.extend_from_slice(cotp);
    v
}

/// COTP connection request (class 0, TPDU size 1024, TSAPs 0001/0001).
pub(crate) fn cotp_cr(src_ref: u16) -> Vec<u8> {
    let r = src_ref.to_be_bytes();
    tpkt(&[
        0x11, 0xe0, 0, 0, r[0], r[1], 0, 0xc1, 2, 0, 1, 0xc2, 2, 0, 1, 0xc0, 1, 0x0a,
    ])
}

/// COTP connection confirm.
pub(crate) fn cotp_cc(src_ref: u16, dst_ref: u16) -> Vec<u8> {
    let (s, d) = (src_ref.to_be_bytes(), dst_ref.to_be_bytes());
    tpkt(&[
        0x11, 0xd0, d[0], d[1], s[0], s[1], 0, 0xc0, 1, 0x0a, 0xc1, 2, 0, 1, 0xc2, 2, 0, 1,
    ])
}

/// One TSDU in one COTP DT TPDU (EOT set).
pub(crate) fn cotp_dt(tsdu: &[u8]) -> Vec<u8> {
    let mut c = vec![0x02, 0xf0, 0x80];
    c.extend_from_slice(tsdu);
    tpkt(&c)
}

/// One TSDU in two COTP DT TPDUs (the first without EOT), in one buffer.
pub(crate) fn cotp_dt_split(tsdu: &[u8], at: usize) -> Vec<u8> {
    let (a, b) = tsdu.split_at(at.min(tsdu.len()));
    let mut c1 = vec![0x02, 0xf0, 0x00];
    c1.extend_from_slice(a);
    let mut c2 = vec![0x02, 0xf0, 0x80];
    c2.extend_from_slice(b);
    [tpkt(&c1), tpkt(&c2)].concat()
}

// ---- ISO session / presentation / ACSE ----

/// An SPDU: SI, LI and parameters.
pub(crate) fn spdu(si: u8, params: &[u8]) -> Vec<u8> {
    let mut v = vec![si];
    if params.len() < 255 {
        v.push(params.len() as u8);
    } else {
        v.extend([0xff, (params.len() >> 8) as u8, params.len() as u8]);
    }
    v.extend_from_slice(params);
    v
}

/// Connect/accept item and session requirements, then User Data (PGI 193).
fn session_params(user: &[u8]) -> Vec<u8> {
    let mut v = vec![
        0x05, 0x06, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02, 0x14, 0x02, 0x00, 0x02,
    ];
    v.push(0xc1);
    if user.len() < 255 {
        v.push(user.len() as u8);
    } else {
        v.extend([0xff, (user.len() >> 8) as u8, user.len() as u8]);
    }
    v.extend_from_slice(user);
    v
}

pub(crate) const SI_FN: u8 = 9;
pub(crate) const SI_DN: u8 = 10;
pub(crate) const SI_CN: u8 = 13;
pub(crate) const SI_AC: u8 = 14;

/// Presentation context id of ACSE and of MMS.
const ACSE_PCI: i64 = 1;
const MMS_PCI: i64 = 3;
const ACSE_AS: &[u8] = &[0x52, 0x01, 0x00, 0x01];
const MMS_AS: &[u8] = &[0x28, 0xca, 0x22, 0x02, 0x01];
const BER_TS: &[u8] = &[0x51, 0x01];
/// MMS application context 1.0.9506.2.3.
const MMS_APP_CTX: &[u8] = &[0x28, 0xca, 0x22, 0x02, 0x03];

/// Fully-encoded user data with one PDV of context `pci`.
fn fully_encoded(pci: i64, value: &[u8]) -> Vec<u8> {
    tlv(&[0x61], &seq(&[int(pci), cc(0, value)].concat()))
}

/// Give Tokens + Data Transfer SPDUs carrying one MMS PDU.
pub(crate) fn data(mms: &[u8]) -> Vec<u8> {
    [&[0x01, 0x00, 0x01, 0x00][..], &fully_encoded(MMS_PCI, mms)].concat()
}

/// An AP title (form 2) for `1.3.9999.n`.
fn ap_title(n: u8) -> Vec<u8> {
    oid(&[0x2b, 0xce, 0x0f, n])
}

fn external(mms: &[u8]) -> Vec<u8> {
    cc(
        30,
        &tlv(&[0x28], &[oid(BER_TS), int(MMS_PCI), cc(0, mms)].concat()),
    )
}

/// Session CN with a presentation CP carrying an AARQ with an MMS initiate-Request.
pub(crate) fn connect(initiate: &[u8]) -> Vec<u8> {
    let aarq = tlv(
        &[0x60],
        &[
            cp(0, &[0x07, 0x80]),
            cc(1, &oid(MMS_APP_CTX)),
            cc(2, &ap_title(1)),
            cc(3, &int(12)),
            cc(6, &ap_title(2)),
            cc(7, &int(12)),
            external(initiate),
        ]
        .concat(),
    );
    let def = |id: i64, syn: &[u8]| seq(&[int(id), oid(syn), seq(&oid(BER_TS))].concat());
    let contexts = cc(4, &[def(ACSE_PCI, ACSE_AS), def(MMS_PCI, MMS_AS)].concat());
    let cp_ppdu = tlv(
        &[0x31],
        &[
            cc(0, &cp(0, &[1])),
            cc(
                2,
                &[
                    cp(1, &[0, 0, 0, 1]),
                    cp(2, &[0, 0, 0, 1]),
                    contexts,
                    fully_encoded(ACSE_PCI, &aarq),
                ]
                .concat(),
            ),
        ]
        .concat(),
    );
    spdu(SI_CN, &session_params(&cp_ppdu))
}

/// Session AC with a CPA carrying an AARE (accepted) with an MMS initiate-Response.
pub(crate) fn accept(initiate: &[u8]) -> Vec<u8> {
    let aare = tlv(
        &[0x61],
        &[
            cp(0, &[0x07, 0x80]),
            cc(1, &oid(MMS_APP_CTX)),
            cc(2, &int(0)),
            cc(3, &cc(1, &int(0))),
            cc(4, &ap_title(1)),
            cc(5, &int(12)),
            external(initiate),
        ]
        .concat(),
    );
    let result = |r: i64| seq(&[cp(0, &int_bytes(r)), cp(1, BER_TS)].concat());
    let cpa = tlv(
        &[0x31],
        &[
            cc(0, &cp(0, &[1])),
            cc(
                2,
                &[
                    cp(3, &[0, 0, 0, 1]),
                    cc(5, &[result(0), result(0)].concat()),
                    fully_encoded(ACSE_PCI, &aare),
                ]
                .concat(),
            ),
        ]
        .concat(),
    );
    spdu(SI_AC, &session_params(&cpa))
}

/// Session FN with an ACSE release request (no MMS).
pub(crate) fn finish() -> Vec<u8> {
    let rlrq = tlv(&[0x62], &cp(0, &[0]));
    spdu(
        SI_FN,
        &session_params(&fully_encoded(ACSE_PCI, &rlrq))[12..],
    )
}

/// Session DN with an ACSE release response (no MMS).
pub(crate) fn disconnect() -> Vec<u8> {
    let rlre = tlv(&[0x63], &cp(0, &[0]));
    spdu(
        SI_DN,
        &session_params(&fully_encoded(ACSE_PCI, &rlre))[12..],
    )
}

// ---- MMS ----

pub(crate) fn initiate_request() -> Vec<u8> {
    cc(
        8,
        &[
            cp(0, &int_bytes(32000)),
            cp(1, &[10]),
            cp(2, &[10]),
            cp(3, &[6]),
            cc(
                4,
                &[
                    cp(0, &[1]),
                    cp(1, &[5, 0xf1, 0x00]),
                    cp(
                        2,
                        &[
                            3, 0xee, 0x1c, 0x00, 0x00, 0x04, 0x08, 0x00, 0x00, 0x79, 0xef, 0x18,
                        ],
                    ),
                ]
                .concat(),
            ),
        ]
        .concat(),
    )
}

pub(crate) fn initiate_response() -> Vec<u8> {
    cc(
        9,
        &[
            cp(0, &int_bytes(32000)),
            cp(1, &[10]),
            cp(2, &[10]),
            cp(3, &[6]),
            cc(
                4,
                &[
                    cp(0, &[1]),
                    cp(1, &[5, 0xf1, 0x00]),
                    cp(
                        2,
                        &[
                            3, 0xee, 0x1c, 0x00, 0x00, 0x04, 0x08, 0x00, 0x00, 0x79, 0xef, 0x18,
                        ],
                    ),
                ]
                .concat(),
            ),
        ]
        .concat(),
    )
}

pub(crate) fn conf_req(id: u32, service: &[u8]) -> Vec<u8> {
    cc(0, &[int(id as i64), service.to_vec()].concat())
}

pub(crate) fn conf_resp(id: u32, service: &[u8]) -> Vec<u8> {
    cc(1, &[int(id as i64), service.to_vec()].concat())
}

/// confirmed-Error with a service error class and code.
pub(crate) fn conf_error(id: u32, class: u8, code: u8) -> Vec<u8> {
    cc(
        2,
        &[
            cp(0, &int_bytes(id as i64)),
            cc(2, &cc(0, &cp(class, &[code]))),
        ]
        .concat(),
    )
}

/// Domain-specific object name.
pub(crate) fn dom_name(domain: &str, item: &str) -> Vec<u8> {
    cc(1, &[vis(domain), vis(item)].concat())
}

/// `listOfVariable` of domain-specific names.
pub(crate) fn var_list(domain: &str, items: &[&str]) -> Vec<u8> {
    let v: Vec<u8> = items
        .iter()
        .flat_map(|i| seq(&cc(0, &dom_name(domain, i))))
        .collect();
    cc(0, &v)
}

pub(crate) fn file_name(name: &str) -> Vec<u8> {
    tlv(&[0x19], name.as_bytes())
}
