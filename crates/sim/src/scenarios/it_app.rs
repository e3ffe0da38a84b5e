//! IT application protocols seen on plant networks: HTTP, TLS, SSH, Telnet,
//! RDP, VNC, FTP and SMB.

use otwatch_core::Timestamp;

use super::Group;
use super::hosts::*;
use crate::Scenario;
use crate::Truth;
use crate::builder::{Cap, ms, secs};
use crate::net::Host;
use crate::transport::{Channel, Dir, TcpConn};

pub(crate) const SCENARIOS: Group = &[
    (
        Scenario {
            name: "it_http",
            description: HTTP,
        },
        http,
    ),
    (
        Scenario {
            name: "it_tls",
            description: TLS,
        },
        tls,
    ),
    (
        Scenario {
            name: "it_remote_access",
            description: REMOTE,
        },
        remote_access,
    ),
    (
        Scenario {
            name: "it_ftp_smb",
            description: FTP_SMB,
        },
        ftp_smb,
    ),
    (
        Scenario {
            name: "it_app_malformed",
            description: MALFORMED,
        },
        malformed,
    ),
];

const HTTP: &str = "The HMI (10.10.1.10) uses the web interface of the Siemens S7-1200 \
(10.10.1.22, TCP 80): it loads the start page (GET, 200 with a Server header), is refused by \
the login page (401), logs in with HTTP basic authentication as 'admin', fetches a diagnostic \
buffer served with chunked transfer encoding, checks a resource with HEAD, then the engineering \
workstation (192.168.10.50) uploads a 6000-byte firmware image with a POST split over 5 TCP \
segments; two requests are pipelined in one segment and answered in order.";

const TLS: &str = "TLS on the plant network: the engineering workstation (192.168.10.50) opens \
a TLS 1.2 session to the historian (192.168.10.20, TCP 443) with SNI historian.plant.local and \
ALPN h2/http1.1; the historian answers with a self-signed certificate (CN=historian.plant.local) \
in a full handshake (ServerHello, Certificate, ServerHelloDone, ClientKeyExchange, \
ChangeCipherSpec both ways, encrypted Finished and application data). The HMI (10.10.1.10) then \
opens a TLS 1.3 session (supported_versions 1.3) to the OPC UA server of the S7-1200 on TCP 4843; \
the certificate is encrypted there, only the hellos and the compatibility ChangeCipherSpec are \
seen.";

const REMOTE: &str = "Remote access to the plant: the engineering workstation (192.168.10.50) \
opens SSH to the historian (OpenSSH banners, KEXINIT both ways, ECDH key exchange, NEWKEYS, then \
encrypted traffic), a Telnet session to the GE RX3i (10.10.1.23) with option negotiation, a \
failed login as 'admin' (Login incorrect) then a successful login as 'operator' (shell prompt), \
an RDP connection to the HMI (10.10.1.10, cookie mstshash=engineer, TLS+CredSSP requested, TLS \
selected), and a VNC session to the HMI panel (RFB 3.8, security type None, desktop name \
'HMI-Line1').";

const FTP_SMB: &str = "File transfers to the HMI (10.10.1.10) from the engineering workstation \
(192.168.10.50): an FTP login fails (530) then succeeds (230) as 'plcadmin', a project file is \
uploaded with STOR after PASV; then SMB2 over TCP 445: NEGOTIATE (SMB 3.1.1 selected), an \
NTLMSSP session setup that fails with STATUS_LOGON_FAILURE, a second that succeeds as \
PLANT\\engineer from workstation EWS01, TREE_CONNECT to \\\\10.10.1.10\\ADMIN$, CREATE of \
update.exe, a 3000-byte WRITE, an IOCTL (FSCTL_VALIDATE_NEGOTIATE_INFO) compounded with an ECHO, \
and CLOSE.";

const MALFORMED: &str = "Broken IT application traffic: an HTTP request with a header line \
without colon (a request and a malformed bad_header_line), a garbage line before a valid \
request (malformed bad_start_line), a TLS record with a length above 18432 (malformed \
bad_record_length) followed by a valid ClientHello, and an SMB frame whose header is not \
\\xffSMB/\\xfeSMB (malformed bad_protocol_id) followed by a valid SMB2 ECHO.";

/// One scripted exchange: direction, payload, messages it completes.
type Step = (Dir, &'static [u8], &'static [(&'static str, u16)]);

/// Sends `payload` and records the messages it completes.
fn tx(
    cap: &mut Cap,
    c: &mut TcpConn,
    t: Timestamp,
    dir: Dir,
    payload: &[u8],
    truth: &[(&'static str, u16)],
) -> Timestamp {
    c.send(cap, t, dir, payload);
    for (p, fc) in truth {
        cap.truth(t, Truth::msg(p, *fc, dir == Dir::ToServer));
    }
    let t2 = t.add_nanos(cap.rng.micros(300, 2_000));
    c.ack(cap, t2, dir);
    t2.add_nanos(cap.rng.micros(500, 5_000))
}

fn open(cap: &mut Cap, client: Host, server: Host, port: u16, at: i64) -> (TcpConn, Timestamp) {
    let mut c = TcpConn::new(cap, client, server, port);
    let t = c.handshake(cap, cap.at(at));
    (c, t.add_nanos(cap.rng.micros(200, 900)))
}

// ---------------------------------------------------------------- HTTP

fn http(cap: &mut Cap) {
    let (mut c, mut t) = open(cap, HMI, PLC_SIEMENS, 80, ms(100));
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0";
    let get = format!("GET / HTTP/1.1\r\nHost: 10.10.1.22\r\nUser-Agent: {ua}\r\n\r\n");
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        get.as_bytes(),
        &[("http", 1)],
    );
    let page = "<html>S7-1200</html>";
    let resp = format!(
        "HTTP/1.1 200 OK\r\nServer: Siemens/V4.5 S7-1200\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{page}",
        page.len()
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        resp.as_bytes(),
        &[("http", 200)],
    );
    let login =
        format!("GET /Portal/Login HTTP/1.1\r\nHost: 10.10.1.22\r\nUser-Agent: {ua}\r\n\r\n");
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        login.as_bytes(),
        &[("http", 1)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"S7\"\r\nContent-Length: 0\r\n\r\n",
        &[("http", 401)],
    );
    // admin:Siemens1200
    let auth = format!(
        "GET /Portal/Login HTTP/1.1\r\nHost: 10.10.1.22\r\nUser-Agent: {ua}\r\nAuthorization: Basic YWRtaW46U2llbWVuczEyMDA=\r\n\r\n"
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        auth.as_bytes(),
        &[("http", 1)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nSet-Cookie: siemens_ad_session=ab12\r\nContent-Length: 2\r\n\r\nok",
        &[("http", 200)],
    );
    let diag = "GET /Portal/Diag.mwsl HTTP/1.1\r\nHost: 10.10.1.22\r\nCookie: siemens_ad_session=ab12\r\n\r\n";
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        diag.as_bytes(),
        &[("http", 1)],
    );
    let head = b"HTTP/1.1 200 OK\r\nServer: Siemens/V4.5 S7-1200\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n";
    t = tx(cap, &mut c, t, Dir::ToClient, head, &[("http", 200)]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"18\r\nEvent 1: CPU to RUN mode\r\n",
        &[],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"12\r\nEvent 2: Power on.\r\n0\r\n\r\n",
        &[],
    );
    // Two pipelined requests in one segment, answered in order.
    let two = "HEAD /Portal/Logo.png HTTP/1.1\r\nHost: 10.10.1.22\r\n\r\nGET /api/status HTTP/1.1\r\nHost: 10.10.1.22\r\n\r\n";
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        two.as_bytes(),
        &[("http", 3), ("http", 1)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 5120\r\n\r\n",
        &[("http", 200)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"mode\":\"RUN\"}",
        &[("http", 200)],
    );
    c.close(cap, t);

    // Firmware upload from the engineering workstation.
    let (mut c, mut t) = open(cap, EWS, PLC_SIEMENS, 80, secs(3));
    let body: Vec<u8> = (0..6000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut req = format!(
        "POST /Portal/FirmwareUpdate HTTP/1.1\r\nHost: 10.10.1.22\r\nUser-Agent: TIA Portal V17\r\nAuthorization: Basic YWRtaW46U2llbWVuczEyMDA=\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend(&body);
    let end = c.send_split(
        cap,
        t,
        Dir::ToServer,
        &req,
        &[1460, 1460, 1460, 1460],
        300_000,
    );
    cap.truth(end, Truth::msg("http", 2, true));
    t = end.add_nanos(ms(40));
    tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nServer: Siemens/V4.5 S7-1200\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        &[("http", 200)],
    );
    c.close(cap, t.add_nanos(ms(10)));
}

// ---------------------------------------------------------------- TLS

fn rec(ct: u8, ver: u16, frag: &[u8]) -> Vec<u8> {
    let mut v = vec![ct];
    v.extend(ver.to_be_bytes());
    v.extend((frag.len() as u16).to_be_bytes());
    v.extend_from_slice(frag);
    v
}

fn hs(t: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![t];
    v.extend(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

fn ext(t: u16, d: &[u8]) -> Vec<u8> {
    let mut v = t.to_be_bytes().to_vec();
    v.extend((d.len() as u16).to_be_bytes());
    v.extend_from_slice(d);
    v
}

fn u16_list(v: &[u16]) -> Vec<u8> {
    let mut o = ((v.len() * 2) as u16).to_be_bytes().to_vec();
    for x in v {
        o.extend(x.to_be_bytes());
    }
    o
}

fn client_hello(cap: &mut Cap, sni: &str, alpn: &[&str], tls13: bool) -> Vec<u8> {
    let mut b = vec![3, 3];
    for _ in 0..8 {
        b.extend(cap.rng.next_u32().to_be_bytes());
    }
    b.push(0);
    b.extend(u16_list(&[
        0x1301, 0x1302, 0xc02b, 0xc02f, 0xc030, 0x009c, 0x002f,
    ]));
    b.extend([1, 0]);
    let mut e = Vec::new();
    let mut sn = vec![0];
    sn.extend((sni.len() as u16).to_be_bytes());
    sn.extend(sni.as_bytes());
    let mut l = (sn.len() as u16).to_be_bytes().to_vec();
    l.extend(sn);
    e.extend(ext(0, &l));
    e.extend(ext(10, &u16_list(&[0x001d, 0x0017, 0x0018])));
    e.extend(ext(11, &[1, 0]));
    e.extend(ext(13, &u16_list(&[0x0403, 0x0804, 0x0401])));
    let mut a = Vec::new();
    for p in alpn {
        a.push(p.len() as u8);
        a.extend(p.as_bytes());
    }
    let mut al = (a.len() as u16).to_be_bytes().to_vec();
    al.extend(a);
    e.extend(ext(16, &al));
    if tls13 {
        e.extend(ext(43, &[4, 3, 4, 3, 3]));
        let mut ks = 0x001du16.to_be_bytes().to_vec();
        ks.extend(32u16.to_be_bytes());
        ks.extend([0x42; 32]);
        let mut ksl = (ks.len() as u16).to_be_bytes().to_vec();
        ksl.extend(ks);
        e.extend(ext(51, &ksl));
    }
    b.extend((e.len() as u16).to_be_bytes());
    b.extend(e);
    hs(1, &b)
}

fn server_hello(cipher: u16, tls13: bool) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([0x5a; 32]);
    b.push(0);
    b.extend(cipher.to_be_bytes());
    b.push(0);
    let mut e = ext(0xff01, &[0]);
    if tls13 {
        e = ext(43, &[3, 4]);
    } else {
        e.extend(ext(16, &[0, 3, 2, b'h', b'2']));
    }
    b.extend((e.len() as u16).to_be_bytes());
    b.extend(e);
    hs(2, &b)
}

fn der(t: u8, v: &[u8]) -> Vec<u8> {
    let mut o = vec![t];
    match v.len() {
        n if n < 128 => o.push(n as u8),
        n if n < 256 => o.extend([0x81, n as u8]),
        n => o.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    o.extend_from_slice(v);
    o
}

/// A self-signed certificate for `cn` (structure only; signature bytes are filler).
fn certificate(cn: &str) -> Vec<u8> {
    let name = der(
        0x30,
        &[
            der(
                0x31,
                &der(0x30, &[der(0x06, &[0x55, 4, 6]), der(0x13, b"DE")].concat()),
            ),
            der(
                0x31,
                &der(
                    0x30,
                    &[der(0x06, &[0x55, 4, 10]), der(0x0c, b"Plant OT")].concat(),
                ),
            ),
            der(
                0x31,
                &der(
                    0x30,
                    &[der(0x06, &[0x55, 4, 3]), der(0x0c, cn.as_bytes())].concat(),
                ),
            ),
        ]
        .concat(),
    );
    let alg = der(
        0x30,
        &[
            der(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 11]),
            vec![5, 0],
        ]
        .concat(),
    );
    let validity = der(
        0x30,
        &[der(0x17, b"240101000000Z"), der(0x17, b"340101000000Z")].concat(),
    );
    let spki = der(0x30, &[alg.clone(), der(0x03, &[0; 65])].concat());
    let san = der(
        0x30,
        &der(
            0x30,
            &[
                der(0x06, &[0x55, 0x1d, 0x11]),
                der(0x04, &der(0x30, &der(0x82, cn.as_bytes()))),
            ]
            .concat(),
        ),
    );
    let tbs = der(
        0x30,
        &[
            der(0xa0, &der(0x02, &[2])),
            der(0x02, &[0x3c, 0x91, 0x07, 0x11]),
            alg.clone(),
            name.clone(),
            validity,
            name,
            spki,
            der(0xa3, &san),
        ]
        .concat(),
    );
    der(0x30, &[tbs, alg, der(0x03, &[0; 129])].concat())
}

fn cert_msg(cert: &[u8]) -> Vec<u8> {
    let mut list = (cert.len() as u32).to_be_bytes()[1..].to_vec();
    list.extend(cert);
    let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
    body.extend(list);
    hs(11, &body)
}

const CH: u16 = 22 * 256 + 1;
const SH: u16 = 22 * 256 + 2;
const CERT: u16 = 22 * 256 + 11;
const SHD: u16 = 22 * 256 + 14;
const CKE: u16 = 22 * 256 + 16;
const CCS: u16 = 20 * 256;

fn tls(cap: &mut Cap) {
    let (mut c, mut t) = open(cap, EWS, HISTORIAN, 443, ms(100));
    let ch = client_hello(cap, "historian.plant.local", &["h2", "http/1.1"], false);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &rec(22, 0x0301, &ch),
        &[("tls", CH)],
    );
    // ServerHello + Certificate + ServerHelloDone in one record, split over 2 segments.
    let mut flight = server_hello(0xc02f, false);
    flight.extend(cert_msg(&certificate("historian.plant.local")));
    flight.extend(hs(14, &[]));
    let r = rec(22, 0x0303, &flight);
    let end = c.send_split(cap, t, Dir::ToClient, &r, &[700], 200_000);
    for fc in [SH, CERT, SHD] {
        cap.truth(end, Truth::msg("tls", fc, false));
    }
    t = end.add_nanos(ms(2));
    let mut cke = vec![65];
    cke.extend([0x04; 65]);
    let mut fl = rec(22, 0x0303, &hs(16, &cke));
    fl.extend(rec(20, 0x0303, &[1]));
    fl.extend(rec(22, 0x0303, &[0x9e; 40]));
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &fl,
        &[("tls", CKE), ("tls", CCS)],
    );
    let mut fl = rec(20, 0x0303, &[1]);
    fl.extend(rec(22, 0x0303, &[0x7f; 40]));
    t = tx(cap, &mut c, t, Dir::ToClient, &fl, &[("tls", CCS)]);
    for i in 0..3 {
        let n = 200 + i * 100;
        t = tx(
            cap,
            &mut c,
            t,
            Dir::ToServer,
            &rec(23, 0x0303, &vec![0x33; n]),
            &[],
        );
        t = tx(
            cap,
            &mut c,
            t,
            Dir::ToClient,
            &rec(23, 0x0303, &vec![0x44; n * 3]),
            &[],
        );
    }
    c.close(cap, t);

    // TLS 1.3 to the PLC's OPC UA server.
    let (mut c, mut t) = open(cap, HMI, PLC_SIEMENS, 4843, secs(2));
    let ch = client_hello(cap, "plc-s7-1200.plant.local", &["opcua"], true);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &rec(22, 0x0301, &ch),
        &[("tls", CH)],
    );
    let mut fl = rec(22, 0x0303, &server_hello(0x1301, true));
    fl.extend(rec(20, 0x0303, &[1]));
    fl.extend(rec(23, 0x0303, &[0x17; 900]));
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &fl,
        &[("tls", SH), ("tls", CCS)],
    );
    let mut fl = rec(20, 0x0303, &[1]);
    fl.extend(rec(23, 0x0303, &[0x18; 60]));
    t = tx(cap, &mut c, t, Dir::ToServer, &fl, &[("tls", CCS)]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &rec(23, 0x0303, &[0x19; 120]),
        &[],
    );
    c.close(cap, t);
}

// ---------------------------------------------------------------- remote access

fn ssh_packet(payload: &[u8]) -> Vec<u8> {
    let pad = 8 - (payload.len() + 5) % 8 + 4;
    let mut v = ((payload.len() + pad + 1) as u32).to_be_bytes().to_vec();
    v.push(pad as u8);
    v.extend_from_slice(payload);
    v.extend(vec![0u8; pad]);
    v
}

fn kexinit(lists: [&str; 10]) -> Vec<u8> {
    let mut p = vec![20];
    p.extend([0x2c; 16]);
    for l in lists {
        p.extend((l.len() as u32).to_be_bytes());
        p.extend(l.as_bytes());
    }
    p.extend([0, 0, 0, 0, 0]);
    ssh_packet(&p)
}

fn remote_access(cap: &mut Cap) {
    // SSH
    let (mut c, mut t) = open(cap, EWS, HISTORIAN, 22, ms(100));
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n",
        &[("ssh", 0)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        b"SSH-2.0-PuTTY_Release_0.79\r\n",
        &[("ssh", 0)],
    );
    let lists = [
        "curve25519-sha256,ecdh-sha2-nistp256",
        "ssh-ed25519,rsa-sha2-512",
        "aes256-gcm@openssh.com,aes128-ctr",
        "aes256-gcm@openssh.com,aes128-ctr",
        "hmac-sha2-256",
        "hmac-sha2-256",
        "none",
        "none",
        "",
        "",
    ];
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &kexinit(lists),
        &[("ssh", 20)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &kexinit(lists),
        &[("ssh", 20)],
    );
    let mut init = vec![30, 0, 0, 0, 32];
    init.extend([0x61; 32]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &ssh_packet(&init),
        &[("ssh", 30)],
    );
    let mut reply = vec![31, 0, 0, 0, 51];
    reply.extend([0x62; 51]);
    let mut fl = ssh_packet(&reply);
    fl.extend(ssh_packet(&[21]));
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &fl,
        &[("ssh", 31), ("ssh", 21)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &ssh_packet(&[21]),
        &[("ssh", 21)],
    );
    for _ in 0..3 {
        t = tx(cap, &mut c, t, Dir::ToServer, &[0xa5; 64], &[]);
        t = tx(cap, &mut c, t, Dir::ToClient, &[0x5a; 96], &[]);
    }
    c.close(cap, t);

    // Telnet to the GE PLC.
    let (mut c, mut t) = open(cap, EWS, PLC_GE, 23, secs(2));
    const IAC: u8 = 255;
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &[IAC, 253, 24, IAC, 251, 1, IAC, 251, 3],
        &[("telnet", 1)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &[
            IAC, 251, 24, IAC, 253, 1, IAC, 253, 3, IAC, 250, 24, 0, b'V', b'T', b'1', b'0', b'0',
            IAC, 240,
        ],
        &[("telnet", 1)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"\r\nGE RX3i\r\n\r\nlogin: ",
        &[("telnet", 2)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        b"admin\r\n",
        &[("telnet", 4)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"Password: ",
        &[("telnet", 3)],
    );
    t = tx(cap, &mut c, t, Dir::ToServer, b"admin123\r\n", &[]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"\r\nLogin incorrect\r\n\r\nlogin: ",
        &[("telnet", 5), ("telnet", 2)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        b"operator\r\n",
        &[("telnet", 4)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"Password: ",
        &[("telnet", 3)],
    );
    t = tx(cap, &mut c, t, Dir::ToServer, b"Op3rator!\r\n", &[]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"\r\nLast login: Mon\r\nrx3i# ",
        &[("telnet", 6)],
    );
    t = tx(cap, &mut c, t, Dir::ToServer, b"show version\r\n", &[]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"IC695CPE305 9.40\r\nrx3i# ",
        &[],
    );
    c.close(cap, t);

    // RDP to the HMI.
    let (mut c, mut t) = open(cap, EWS, HMI, 3389, secs(4));
    let mut var = b"Cookie: mstshash=engineer\r\n".to_vec();
    var.extend([1, 0, 8, 0, 3, 0, 0, 0]);
    let mut x = vec![(6 + var.len()) as u8, 0xe0, 0, 0, 0, 0, 0];
    x.extend(var);
    let mut cr = vec![3, 0];
    cr.extend(((x.len() + 4) as u16).to_be_bytes());
    cr.extend(x);
    t = tx(cap, &mut c, t, Dir::ToServer, &cr, &[("rdp", 0xe0)]);
    let cc = [
        3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0x1f, 8, 0, 1, 0, 0, 0,
    ];
    t = tx(cap, &mut c, t, Dir::ToClient, &cc, &[("rdp", 0xd0)]);
    let tls_hello = rec(22, 0x0301, &client_hello(cap, "HMI", &[], false));
    t = tx(cap, &mut c, t, Dir::ToServer, &tls_hello, &[]);
    c.close(cap, t);

    // VNC to the HMI panel.
    let (mut c, mut t) = open(cap, EWS, HMI, 5900, secs(6));
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"RFB 003.008\n",
        &[("vnc", 1)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        b"RFB 003.008\n",
        &[("vnc", 1)],
    );
    t = tx(cap, &mut c, t, Dir::ToClient, &[1, 1], &[("vnc", 2)]);
    t = tx(cap, &mut c, t, Dir::ToServer, &[1], &[("vnc", 2)]);
    t = tx(cap, &mut c, t, Dir::ToClient, &[0, 0, 0, 0], &[("vnc", 3)]);
    t = tx(cap, &mut c, t, Dir::ToServer, &[1], &[]);
    let mut si = vec![
        0x05, 0x00, 0x03, 0x00, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0,
    ];
    si.extend(9u32.to_be_bytes());
    si.extend(b"HMI-Line1");
    t = tx(cap, &mut c, t, Dir::ToClient, &si, &[("vnc", 4)]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &[3, 0, 0, 0, 0, 0, 5, 0, 3, 0],
        &[],
    );
    c.close(cap, t);
}

// ---------------------------------------------------------------- FTP and SMB

fn nbss(p: &[u8]) -> Vec<u8> {
    let mut v = (p.len() as u32).to_be_bytes().to_vec();
    v[0] = 0;
    v.extend_from_slice(p);
    v
}

fn smb2(cmd: u16, resp: bool, status: u32, mid: u64, sid: u64, tid: u32, body: &[u8]) -> Vec<u8> {
    let mut h = vec![0xfe, b'S', b'M', b'B', 64, 0, 1, 0];
    h.extend(status.to_le_bytes());
    h.extend(cmd.to_le_bytes());
    h.extend(if resp { 32u16 } else { 1 }.to_le_bytes());
    h.extend((resp as u32).to_le_bytes());
    h.extend(0u32.to_le_bytes());
    h.extend(mid.to_le_bytes());
    h.extend(0xfeffu32.to_le_bytes());
    h.extend(tid.to_le_bytes());
    h.extend(sid.to_le_bytes());
    h.extend([0u8; 16]);
    h.extend_from_slice(body);
    h
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect()
}

fn spnego(tok: &[u8], init: bool) -> Vec<u8> {
    if init {
        let mech = der(
            0xa0,
            &der(0x30, &der(0x06, &[0x2b, 6, 1, 4, 1, 0x82, 0x37, 2, 2, 10])),
        );
        let inner = der(0x30, &[mech, der(0xa2, &der(0x04, tok))].concat());
        der(
            0x60,
            &[der(0x06, &[0x2b, 6, 1, 5, 5, 2]), der(0xa0, &inner)].concat(),
        )
    } else {
        der(0xa1, &der(0x30, &der(0xa2, &der(0x04, tok))))
    }
}

fn ntlm_negotiate() -> Vec<u8> {
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(1u32.to_le_bytes());
    m.extend(0xe208_8297u32.to_le_bytes());
    m.extend([0u8; 16]);
    m.extend([10, 0, 0x61, 0x4a, 0, 0, 0, 15]);
    m
}

fn ntlm_challenge() -> Vec<u8> {
    let mut info = Vec::new();
    for (id, v) in [
        (2u16, "PLANT"),
        (1, "HMI01"),
        (4, "plant.local"),
        (3, "hmi01.plant.local"),
    ] {
        let b = utf16(v);
        info.extend(id.to_le_bytes());
        info.extend((b.len() as u16).to_le_bytes());
        info.extend(b);
    }
    info.extend([0, 0, 0, 0]);
    let target = utf16("PLANT");
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(2u32.to_le_bytes());
    let toff = 56u32;
    m.extend((target.len() as u16).to_le_bytes());
    m.extend((target.len() as u16).to_le_bytes());
    m.extend(toff.to_le_bytes());
    m.extend(0xe289_8215u32.to_le_bytes());
    m.extend([0x11; 8]);
    m.extend([0u8; 8]);
    m.extend((info.len() as u16).to_le_bytes());
    m.extend((info.len() as u16).to_le_bytes());
    m.extend((toff + target.len() as u32).to_le_bytes());
    m.extend([10, 0, 0x7c, 0x4f, 0, 0, 0, 15]);
    m.extend(target);
    m.extend(info);
    m
}

fn ntlm_auth(user: &str, domain: &str, ws: &str) -> Vec<u8> {
    let (u, d, w) = (utf16(user), utf16(domain), utf16(ws));
    let nt = vec![0x5c; 24];
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(3u32.to_le_bytes());
    let mut off = 72u32;
    let mut payload = Vec::new();
    for v in [&[][..], &nt, &d, &u, &w, &[]] {
        m.extend((v.len() as u16).to_le_bytes());
        m.extend((v.len() as u16).to_le_bytes());
        m.extend(off.to_le_bytes());
        off += v.len() as u32;
        payload.extend_from_slice(v);
    }
    m.extend(0xe288_8215u32.to_le_bytes());
    m.extend([10, 0, 0x61, 0x4a, 0, 0, 0, 15]);
    m.extend(payload);
    m
}

fn session_setup(blob: &[u8], mid: u64, sid: u64) -> Vec<u8> {
    let mut b = vec![25, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    b.extend(88u16.to_le_bytes());
    b.extend((blob.len() as u16).to_le_bytes());
    b.extend([0u8; 8]);
    b.extend_from_slice(blob);
    nbss(&smb2(1, false, 0, mid, sid, 0, &b))
}

fn session_setup_resp(status: u32, blob: &[u8], mid: u64, sid: u64) -> Vec<u8> {
    let mut b = vec![9, 0, 0, 0];
    b.extend(72u16.to_le_bytes());
    b.extend((blob.len() as u16).to_le_bytes());
    b.extend_from_slice(blob);
    nbss(&smb2(1, true, status, mid, sid, 0, &b))
}

const SMB: &str = "smb";
const LOGON_FAILURE: u32 = 0xc000_006d;
const MORE_PROCESSING: u32 = 0xc000_0016;

fn ftp_smb(cap: &mut Cap) {
    let (mut c, mut t) = open(cap, EWS, HMI, 21, ms(100));
    let steps: &[Step] = &[
        (
            Dir::ToClient,
            b"220 Microsoft FTP Service\r\n",
            &[("ftp", 220)],
        ),
        (Dir::ToServer, b"USER plcadmin\r\n", &[("ftp", 1)]),
        (Dir::ToClient, b"331 Password required\r\n", &[("ftp", 331)]),
        (Dir::ToServer, b"PASS wrong-one\r\n", &[("ftp", 2)]),
        (
            Dir::ToClient,
            b"530 User cannot log in.\r\n",
            &[("ftp", 530)],
        ),
        (Dir::ToServer, b"USER plcadmin\r\n", &[("ftp", 1)]),
        (Dir::ToClient, b"331 Password required\r\n", &[("ftp", 331)]),
        (Dir::ToServer, b"PASS Plc!2024\r\n", &[("ftp", 2)]),
        (
            Dir::ToClient,
            b"230-Welcome to HMI01\r\n230 User logged in.\r\n",
            &[("ftp", 230)],
        ),
        (Dir::ToServer, b"TYPE I\r\n", &[("ftp", 11)]),
        (Dir::ToClient, b"200 Type set to I.\r\n", &[("ftp", 200)]),
        (Dir::ToServer, b"PASV\r\n", &[("ftp", 10)]),
        (
            Dir::ToClient,
            b"227 Entering Passive Mode (10,10,1,10,195,81).\r\n",
            &[("ftp", 227)],
        ),
        (
            Dir::ToServer,
            b"STOR Line1_Project.ap17\r\n",
            &[("ftp", 15)],
        ),
        (
            Dir::ToClient,
            b"125 Data connection already open; Transfer starting.\r\n",
            &[("ftp", 125)],
        ),
        (
            Dir::ToClient,
            b"226 Transfer complete.\r\n",
            &[("ftp", 226)],
        ),
        (Dir::ToServer, b"QUIT\r\n", &[("ftp", 7)]),
        (Dir::ToClient, b"221 Goodbye.\r\n", &[("ftp", 221)]),
    ];
    for (d, p, tr) in steps {
        t = tx(cap, &mut c, t, *d, p, tr);
    }
    c.close(cap, t);

    let (mut c, mut t) = open(cap, EWS, HMI, 445, secs(3));
    let sid = 0x0000_4400_0000_0019u64;
    let mut neg = vec![36, 0, 4, 0, 1, 0, 0, 0, 0x7f, 0, 0, 0];
    neg.extend([0x3e; 16]);
    neg.extend([0u8; 8]);
    for d in [0x0202u16, 0x0210, 0x0300, 0x0311] {
        neg.extend(d.to_le_bytes());
    }
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &nbss(&smb2(0, false, 0, 0, 0, 0, &neg)),
        &[(SMB, 0x100)],
    );
    let mut nr = vec![65, 0, 1, 0, 0x11, 0x03, 0, 0];
    nr.extend([0x4d; 16]);
    nr.extend([0x2f, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 0]);
    nr.extend([0u8; 16]);
    nr.extend([0x80, 0, 0, 0, 0, 0, 0, 0]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &nbss(&smb2(0, true, 0, 0, 0, 0, &nr)),
        &[(SMB, 0x100)],
    );
    // First attempt: wrong password.
    let mut mid = 1;
    for (user, ok) in [("engineer", false), ("engineer", true)] {
        let s = if ok { sid } else { sid - 1 };
        t = tx(
            cap,
            &mut c,
            t,
            Dir::ToServer,
            &session_setup(&spnego(&ntlm_negotiate(), true), mid, 0),
            &[(SMB, 0x101)],
        );
        t = tx(
            cap,
            &mut c,
            t,
            Dir::ToClient,
            &session_setup_resp(MORE_PROCESSING, &spnego(&ntlm_challenge(), false), mid, s),
            &[(SMB, 0x101)],
        );
        mid += 1;
        t = tx(
            cap,
            &mut c,
            t,
            Dir::ToServer,
            &session_setup(&spnego(&ntlm_auth(user, "PLANT", "EWS01"), false), mid, s),
            &[(SMB, 0x101)],
        );
        let status = if ok { 0 } else { LOGON_FAILURE };
        t = tx(
            cap,
            &mut c,
            t,
            Dir::ToClient,
            &session_setup_resp(status, &[], mid, s),
            &[(SMB, 0x101)],
        );
        mid += 1;
    }
    let path = utf16("\\\\10.10.1.10\\ADMIN$");
    let mut tc = vec![9, 0, 0, 0, 72, 0];
    tc.extend((path.len() as u16).to_le_bytes());
    tc.extend(&path);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &nbss(&smb2(3, false, 0, mid, sid, 0, &tc)),
        &[(SMB, 0x103)],
    );
    let tcr = [
        16, 0, 1, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x01, 0x1f, 0x00,
    ];
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &nbss(&smb2(3, true, 0, mid, sid, 1, &tcr)),
        &[(SMB, 0x103)],
    );
    mid += 1;
    let name = utf16("Temp\\update.exe");
    let mut cr = vec![57, 0, 0, 2];
    cr.extend([0u8; 20]);
    cr.extend(0x0012_019fu32.to_le_bytes());
    cr.extend(0x80u32.to_le_bytes());
    cr.extend(7u32.to_le_bytes());
    cr.extend(5u32.to_le_bytes());
    cr.extend(0x40u32.to_le_bytes());
    cr.extend(120u16.to_le_bytes());
    cr.extend((name.len() as u16).to_le_bytes());
    cr.extend([0u8; 8]);
    cr.extend(&name);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &nbss(&smb2(5, false, 0, mid, sid, 1, &cr)),
        &[(SMB, 0x105)],
    );
    let mut crr = vec![89, 0, 0, 0, 2, 0, 0, 0];
    crr.extend([0u8; 80]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &nbss(&smb2(5, true, 0, mid, sid, 1, &crr)),
        &[(SMB, 0x105)],
    );
    mid += 1;
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 253) as u8).collect();
    let mut w = vec![49, 0, 112, 0];
    w.extend((data.len() as u32).to_le_bytes());
    w.extend(0u64.to_le_bytes());
    w.extend([0x77; 16]);
    w.extend([0u8; 16]);
    w.extend(data);
    let frame = nbss(&smb2(9, false, 0, mid, sid, 1, &w));
    let end = c.send_split(cap, t, Dir::ToServer, &frame, &[1460, 1460], 100_000);
    cap.truth(end, Truth::msg(SMB, 0x109, true));
    t = end.add_nanos(ms(3));
    let mut wr = vec![17, 0, 0, 0];
    wr.extend(3000u32.to_le_bytes());
    wr.extend([0u8; 8]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &nbss(&smb2(9, true, 0, mid, sid, 1, &wr)),
        &[(SMB, 0x109)],
    );
    mid += 1;
    // IOCTL compounded with an ECHO.
    let mut io = vec![57, 0, 0, 0];
    io.extend(0x0014_0204u32.to_le_bytes());
    io.extend([0xff; 16]);
    io.extend([0u8; 36]);
    let mut first = smb2(11, false, 0, mid, sid, 1, &io);
    while !first.len().is_multiple_of(8) {
        first.push(0);
    }
    let n = first.len() as u32;
    first[20..24].copy_from_slice(&n.to_le_bytes());
    first.extend(smb2(13, false, 0, mid + 1, sid, 1, &[4, 0, 0, 0]));
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &nbss(&first),
        &[(SMB, 0x10b), (SMB, 0x10d)],
    );
    let mut ior = vec![49, 0, 0, 0];
    ior.extend(0x0014_0204u32.to_le_bytes());
    ior.extend([0u8; 40]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &nbss(&smb2(11, true, 0, mid, sid, 1, &ior)),
        &[(SMB, 0x10b)],
    );
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &nbss(&smb2(13, true, 0, mid + 1, sid, 1, &[4, 0, 0, 0])),
        &[(SMB, 0x10d)],
    );
    mid += 2;
    let mut cl = vec![24, 0, 0, 0, 0, 0, 0, 0];
    cl.extend([0u8; 16]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        &nbss(&smb2(6, false, 0, mid, sid, 1, &cl)),
        &[(SMB, 0x106)],
    );
    let mut clr = vec![60, 0, 0, 0];
    clr.extend([0u8; 56]);
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &nbss(&smb2(6, true, 0, mid, sid, 1, &clr)),
        &[(SMB, 0x106)],
    );
    c.close(cap, t);
}

// ---------------------------------------------------------------- malformed

fn malformed(cap: &mut Cap) {
    let (mut c, mut t) = open(cap, HMI, PLC_SIEMENS, 80, ms(100));
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToServer,
        b"GET /Portal/Main HTTP/1.1\r\nHost: 10.10.1.22\r\nX-Broken header without colon\r\n\r\n",
        &[("http", 1)],
    );
    cap.truth(t, Truth::msg("http", 1, true).into_malformed());
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        &[("http", 400)],
    );
    c.send(
        cap,
        t,
        Dir::ToServer,
        b"\x16\x03garbage-line\r\nGET /ok HTTP/1.1\r\nHost: 10.10.1.22\r\n\r\n",
    );
    cap.truth(t, Truth::msg("http", 0, true).into_malformed());
    cap.truth(t, Truth::msg("http", 1, true));
    t = t.add_nanos(ms(2));
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        &[("http", 200)],
    );
    c.close(cap, t);

    let (mut c, mut t) = open(cap, EWS, HISTORIAN, 443, secs(1));
    let mut bad = vec![0x16, 0x03, 0x03, 0x50, 0x00];
    bad.extend([0xab; 30]);
    bad.extend(rec(
        22,
        0x0301,
        &client_hello(cap, "historian.plant.local", &["http/1.1"], false),
    ));
    c.send(cap, t, Dir::ToServer, &bad);
    cap.truth(t, Truth::msg("tls", 0, true).into_malformed());
    cap.truth(t, Truth::msg("tls", CH, true));
    t = t.add_nanos(ms(2));
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &rec(21, 0x0303, &[2, 40]),
        &[("tls", 21 * 256)],
    );
    c.close(cap, t);

    let (mut c, mut t) = open(cap, EWS, HMI, 445, secs(2));
    let mut bad = nbss(
        b"\xfeSMX\x40\x00\x00\x00garbage-header-bytes-here-and-more-padding-to-64-bytes..........",
    );
    bad.extend(nbss(&smb2(13, false, 0, 1, 0, 0, &[4, 0, 0, 0])));
    c.send(cap, t, Dir::ToServer, &bad);
    cap.truth(t, Truth::msg(SMB, 0, true).into_malformed());
    cap.truth(t, Truth::msg(SMB, 0x10d, true));
    t = t.add_nanos(ms(2));
    t = tx(
        cap,
        &mut c,
        t,
        Dir::ToClient,
        &nbss(&smb2(13, true, 0, 1, 0, 0, &[4, 0, 0, 0])),
        &[(SMB, 0x10d)],
    );
    c.close(cap, t);
}
