//! Niagara Fox scenarios.

use otwatch_core::Timestamp;

use super::super::hosts::EWS;
use super::hosts::{JACE, SUPERVISOR};
use super::{after, send, send_malformed};
use crate::builder::{Cap, ms};
use crate::transport::{Dir, TcpConn};

pub(super) const HELLO: &str = "The Niagara supervisor (10.10.4.10) connects to a JACE building \
controller (10.10.4.60) on Fox TCP 1911: its hello, the station's hello answer (host 10.10.4.60, \
Niagara Station 4.10.1.36 on QNX 6.5.0, station AHU_Building_7, brand vykon), a challenge exchange \
and an authentication exchange, then three other Fox messages (a session setup and two BSS \
subscriptions) each answered by the station.";

pub(super) const BRUTEFORCE: &str = "A workstation (192.168.10.50, routed) tries to log on to the JACE (10.10.4.60) over Fox: hello, \
five challenge/authenticate rounds that the station refuses, and a last hello.";

pub(super) const MALFORMED: &str = "The session of fox_bruteforce (192.168.10.50 -> 10.10.4.60) with, before the last hello, a \
message with a truncated header line (\"fox a 9\", malformed only) and 36 bytes of non-Fox \
garbage (malformed only).";

const PORT: u16 = 1911;

fn client_hello() -> Vec<u8> {
    b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\nhostName=s:SUPERVISOR-01\nhostAddress=s:10.10.4.10\napp.name=s:Workbench\napp.version=s:4.10.1.36\nvm.name=s:OpenJDK 64-Bit Server VM\nvm.version=s:25.292-b10\nos.name=s:Windows Server 2019\nos.version=s:10.0\nlang=s:en\n};;\n".to_vec()
}

fn station_hello() -> Vec<u8> {
    b"fox a 0 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\nhostName=s:10.10.4.60\nhostAddress=s:10.10.4.60\napp.name=s:Station\napp.version=s:4.10.1.36\nvm.name=s:Java HotSpot(TM) Embedded Client VM\nvm.version=s:25.241-b07\nos.name=s:QNX\nos.version=s:6.5.0\nstation.name=s:AHU_Building_7\nlang=s:en\ntimeZone=s:America/New_York;-18000000;3600000\nhostId=s:Qnx-NPM6-0000-1F2B-9C41\nvmUuid=s:4b0e6c42-0d1f-4e6b-a8b1-7a0c55e2f3d1\nbrandId=s:vykon\nsysInfo=o:bog 61[<bog version=\"1.0\">]\nauthAgentTypeSpecs=s:fox:DigestScram256\n};;\n".to_vec()
}

fn fox(id: u32, cmd: &str, body: &str) -> Vec<u8> {
    format!("fox a {id} -1 fox {cmd}\n{{\n{body}}};;\n").into_bytes()
}

fn exchange(
    cap: &mut Cap,
    c: &mut TcpConn,
    t: Timestamp,
    fc: u16,
    q: &[u8],
    r: &[u8],
) -> Timestamp {
    send(cap, c, t, Dir::ToServer, q, ("fox", fc, true));
    let t1 = after(cap, t, 2_000, 20_000);
    send(cap, c, t1, Dir::ToClient, r, ("fox", fc, false));
    t1
}

pub(super) fn hello(cap: &mut Cap) {
    let mut c = TcpConn::new(cap, SUPERVISOR, JACE, PORT);
    let mut t = c.handshake(cap, cap.at(ms(70)));
    let at = after(cap, t, 300, 900);
    t = exchange(cap, &mut c, at, 1, &client_hello(), &station_hello());
    let ch = fox(
        2,
        "challenge",
        "user=s:supervisor\nauthAgentType=s:fox:DigestScram256\n",
    );
    let chr = fox(
        0,
        "challenge",
        "nonce=s:3f9a1c7e55b0d2a4\nsalt=s:9c1d\niterations=i:4096\n",
    );
    let at = after(cap, t, 1_000, 5_000);
    t = exchange(cap, &mut c, at, 2, &ch, &chr);
    let au = fox(3, "authenticate", "proof=s:0a4f7bd2e1c9\n");
    let aur = fox(
        0,
        "authenticate",
        "result=b:true\nserverSignature=s:77ee01\n",
    );
    let at = after(cap, t, 1_000, 5_000);
    t = exchange(cap, &mut c, at, 3, &au, &aur);
    for (i, (q, r)) in [
        ("sessionId", "sessionId=s:8f2c\n"),
        ("subscribe", "ord=o:station:|slot:/Drivers\n"),
        ("subscribe", "ord=o:station:|slot:/AHU1/SupplyTemp\n"),
    ]
    .iter()
    .enumerate()
    {
        let q = fox(4 + i as u32, q, r);
        let a = fox(0, "ok", "");
        let at = after(cap, t, 5_000, 50_000);
        t = exchange(cap, &mut c, at, 0, &q, &a);
    }
    let at = after(cap, t, 200_000, 400_000);
    c.close(cap, at);
}

pub(super) fn bruteforce(cap: &mut Cap) {
    bruteforce_session(cap, false);
}

pub(super) fn malformed(cap: &mut Cap) {
    bruteforce_session(cap, true);
}

/// The bruteforce session; with `bad`, the malformed messages are interleaved.
fn bruteforce_session(cap: &mut Cap, bad: bool) {
    let mut c = TcpConn::new(cap, EWS, JACE, PORT);
    let mut t = c.handshake(cap, cap.at(ms(70)));
    let at = after(cap, t, 300, 900);
    t = exchange(
        cap,
        &mut c,
        at,
        1,
        &fox(1, "hello", "fox.version=s:1.0\nid=i:1\n"),
        &station_hello(),
    );
    for (i, user) in ["admin", "tridium", "niagara", "operator", "admin"]
        .iter()
        .enumerate()
    {
        let q = fox(2 + i as u32, "challenge", &format!("user=s:{user}\n"));
        let r = fox(0, "challenge", "nonce=s:1b2c3d4e\n");
        let at = after(cap, t, 20_000, 60_000);
        t = exchange(cap, &mut c, at, 2, &q, &r);
        let q = fox(3 + i as u32, "authenticate", "proof=s:deadbeef\n");
        let r = fox(
            0,
            "authenticate",
            "result=b:false\nerror=s:invalid credentials\n",
        );
        let at = after(cap, t, 20_000, 60_000);
        t = exchange(cap, &mut c, at, 3, &q, &r);
    }
    if bad {
        t = after(cap, t, 20_000, 60_000);
        send_malformed(cap, &mut c, t, Dir::ToServer, b"fox a 9\n{\n};;\n", "fox");
        t = after(cap, t, 20_000, 60_000);
        let junk = b"\x16\x03\x01\x00\x20GET / HTTP/1.0 not fox at all\r\n";
        send_malformed(cap, &mut c, t, Dir::ToServer, junk, "fox");
    }
    t = after(cap, t, 20_000, 60_000);
    t = exchange(
        cap,
        &mut c,
        t,
        1,
        &fox(9, "hello", "fox.version=s:1.0\n"),
        &station_hello(),
    );
    let at = after(cap, t, 200_000, 400_000);
    c.close(cap, at);
}
