//! Conversations: a TCP connection helper (handshake, data with correct
//! sequence and acknowledgement numbers, close, and the pieces needed to
//! split, coalesce, drop, reorder or retransmit segments) and a UDP flow.

use etherparse::{TcpHeader, TcpOptionElement};
use otwatch_core::Timestamp;

use crate::builder::{Cap, us};
use crate::net::{self, Host, IpOpts, Link};

/// Which side sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Client (master, HMI) to server (PLC, outstation).
    ToServer,
    /// Server to client.
    ToClient,
}

impl Dir {
    fn idx(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }

    fn other(self) -> usize {
        1 - self.idx()
    }
}

/// Something application messages travel over.
pub(crate) trait Channel {
    /// Sends `payload` from the `dir` side at `t`, as one TCP segment or one
    /// UDP datagram.
    fn send(&mut self, cap: &mut Cap, t: Timestamp, dir: Dir, payload: &[u8]);

    /// The side receiving in `dir` acknowledges what it got (a TCP delayed
    /// ACK); nothing on UDP.
    fn ack(&mut self, _cap: &mut Cap, _t: Timestamp, _dir: Dir) {}
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// A TCP segment already built, kept so that it can be sent later, twice, or never.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub dir: Dir,
    pub seq: u32,
    pub flags: u8,
    pub payload: Vec<u8>,
    pub frame: Vec<u8>,
}

/// One TCP connection between a client and a server.
///
/// Each side's next sequence number advances with what it sends; every
/// segment acknowledges everything the other side has sent so far (the
/// endpoints received it, even if the capture did not).
#[derive(Clone, Debug)]
pub(crate) struct TcpConn {
    pub client: Host,
    pub server: Host,
    pub client_port: u16,
    pub server_port: u16,
    pub link: Link,
    next_seq: [u32; 2],
    ip_id: [u16; 2],
    window: [u16; 2],
    flow_label: [u32; 2],
    /// Per direction: the capture was taken on the sending host with TCP
    /// checksum offload, so that side's checksums are left unfinished.
    pub offload: [bool; 2],
}

impl TcpConn {
    /// A connection from an ephemeral port of `client` to `server_port`,
    /// with random initial sequence numbers and IP ids.
    pub fn new(cap: &mut Cap, client: Host, server: Host, server_port: u16) -> TcpConn {
        let client_port = cap.rng.ephemeral_port();
        TcpConn {
            client,
            server,
            client_port,
            server_port,
            link: Link::Plain,
            next_seq: [cap.rng.next_u32(), cap.rng.next_u32()],
            ip_id: [cap.rng.next_u16(), cap.rng.next_u16()],
            // Windows/Linux client; embedded TCP stacks announce small windows.
            window: [64_240, 8_192],
            flow_label: [cap.rng.next_u32() & 0xf_ffff, cap.rng.next_u32() & 0xf_ffff],
            offload: [false; 2],
        }
    }

    pub fn with_link(mut self, link: Link) -> TcpConn {
        self.link = link;
        self
    }

    fn hosts(&self, dir: Dir) -> (Host, Host, u16, u16) {
        match dir {
            Dir::ToServer => (self.client, self.server, self.client_port, self.server_port),
            Dir::ToClient => (self.server, self.client, self.server_port, self.client_port),
        }
    }

    /// Builds a frame from `dir`'s side with explicit sequence number and flags.
    fn build(&mut self, dir: Dir, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (src, dst, sport, dport) = self.hosts(dir);
        let d = dir.idx();
        let mut h = TcpHeader::new(sport, dport, seq, self.window[d]);
        h.syn = flags & SYN != 0;
        h.fin = flags & FIN != 0;
        h.psh = flags & PSH != 0;
        if flags & ACK != 0 {
            h.ack = true;
            h.acknowledgment_number = self.next_seq[dir.other()];
        }
        if h.syn {
            h.set_options(&[TcpOptionElement::MaximumSegmentSize(1460)])
                .expect("a single MSS option fits the TCP header");
        }
        let o = IpOpts {
            id: self.ip_id[d],
            df: true,
            flow_label: self.flow_label[d],
        };
        self.ip_id[d] = self.ip_id[d].wrapping_add(1);
        let mut f = net::tcp_frame(&src, &dst, self.link, &o, h, payload);
        if self.offload[d] {
            net::offload_tcp_checksum(&mut f, self.link, &src, &dst);
        }
        f
    }

    /// Records a built frame at `t`, counting deliberately bad checksums.
    fn push(&mut self, cap: &mut Cap, t: Timestamp, dir: Dir, frame: Vec<u8>) {
        if self.offload[dir.idx()] {
            cap.note("bad_tcp_checksums", 1);
        }
        cap.push(t, frame);
    }

    /// SYN at `t`, SYN/ACK one round trip later, ACK; returns the time of the ACK.
    pub fn handshake(&mut self, cap: &mut Cap, t: Timestamp) -> Timestamp {
        let syn = self.build(Dir::ToServer, self.next_seq[0], SYN, &[]);
        self.push(cap, t, Dir::ToServer, syn);
        self.next_seq[0] = self.next_seq[0].wrapping_add(1);
        let t1 = t.add_nanos(cap.rng.micros(150, 600));
        let syn_ack = self.build(Dir::ToClient, self.next_seq[1], SYN | ACK, &[]);
        self.push(cap, t1, Dir::ToClient, syn_ack);
        self.next_seq[1] = self.next_seq[1].wrapping_add(1);
        let t2 = t1.add_nanos(cap.rng.micros(40, 120));
        let ack = self.build(Dir::ToServer, self.next_seq[0], ACK, &[]);
        self.push(cap, t2, Dir::ToServer, ack);
        t2
    }

    /// Builds the next data segment from `dir`'s side and advances its
    /// sequence number; nothing is captured until [`TcpConn::emit`].
    pub fn segment(&mut self, dir: Dir, payload: &[u8], push: bool) -> Segment {
        let seq = self.next_seq[dir.idx()];
        let flags = if push { PSH | ACK } else { ACK };
        let frame = self.build(dir, seq, flags, payload);
        self.next_seq[dir.idx()] = seq.wrapping_add(payload.len() as u32);
        Segment {
            dir,
            seq,
            flags,
            payload: payload.to_vec(),
            frame,
        }
    }

    /// The same segment sent again (a retransmission: new IP id, same data).
    pub fn resend(&mut self, s: &Segment) -> Segment {
        let frame = self.build(s.dir, s.seq, s.flags, &s.payload);
        Segment { frame, ..s.clone() }
    }

    /// Captures a built segment at `t`.
    pub fn emit(&mut self, cap: &mut Cap, t: Timestamp, s: &Segment) {
        self.push(cap, t, s.dir, s.frame.clone());
    }

    /// Sends `payload` cut into segments of the given sizes (the rest goes in
    /// a last segment), spaced by `gap_ns`; PSH is set on the last one.
    /// Returns the time of the last segment.
    pub fn send_split(
        &mut self,
        cap: &mut Cap,
        t: Timestamp,
        dir: Dir,
        payload: &[u8],
        sizes: &[usize],
        gap_ns: i64,
    ) -> Timestamp {
        let mut pieces = Vec::new();
        let mut rest = payload;
        for &n in sizes {
            let (a, b) = rest.split_at(n.min(rest.len()));
            pieces.push(a);
            rest = b;
        }
        if !rest.is_empty() {
            pieces.push(rest);
        }
        let mut at = t;
        let last = pieces.len().saturating_sub(1);
        for (i, p) in pieces.into_iter().enumerate() {
            if i > 0 {
                at = at.add_nanos(gap_ns);
            }
            let s = self.segment(dir, p, i == last);
            self.emit(cap, at, &s);
        }
        at
    }

    /// Advances `dir`'s sequence number by `n` bytes that the capture never shows.
    pub fn skip(&mut self, dir: Dir, n: usize) {
        let d = dir.idx();
        self.next_seq[d] = self.next_seq[d].wrapping_add(n as u32);
    }

    /// FIN/ACK from the client at `t`, FIN/ACK from the server, last ACK.
    /// Returns the time of the last ACK.
    pub fn close(&mut self, cap: &mut Cap, t: Timestamp) -> Timestamp {
        let fin = self.build(Dir::ToServer, self.next_seq[0], FIN | ACK, &[]);
        self.push(cap, t, Dir::ToServer, fin);
        self.next_seq[0] = self.next_seq[0].wrapping_add(1);
        let t1 = t.add_nanos(cap.rng.micros(200, 900));
        let fin2 = self.build(Dir::ToClient, self.next_seq[1], FIN | ACK, &[]);
        self.push(cap, t1, Dir::ToClient, fin2);
        self.next_seq[1] = self.next_seq[1].wrapping_add(1);
        let t2 = t1.add_nanos(cap.rng.micros(40, 150));
        let ack = self.build(Dir::ToServer, self.next_seq[0], ACK, &[]);
        self.push(cap, t2, Dir::ToServer, ack);
        t2
    }
}

impl Channel for TcpConn {
    fn send(&mut self, cap: &mut Cap, t: Timestamp, dir: Dir, payload: &[u8]) {
        let s = self.segment(dir, payload, true);
        self.emit(cap, t, &s);
    }

    fn ack(&mut self, cap: &mut Cap, t: Timestamp, dir: Dir) {
        // The receiver of `dir` sends the ACK.
        let from = match dir {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        };
        let seq = self.next_seq[from.idx()];
        let f = self.build(from, seq, ACK, &[]);
        self.push(cap, t, from, f);
    }
}

/// A UDP conversation. Datagrams larger than the path MTU are sent as IPv4
/// fragments.
#[derive(Clone, Debug)]
pub(crate) struct UdpFlow {
    pub client: Host,
    pub server: Host,
    pub client_port: u16,
    pub server_port: u16,
    pub link: Link,
    ip_id: [u16; 2],
    /// Largest IP payload sent unfragmented (MTU minus the IPv4 header).
    pub max_ip_payload: usize,
    /// Send the fragments of the next fragmented datagram last-first.
    pub reverse_next_fragments: bool,
}

impl UdpFlow {
    pub fn new(
        cap: &mut Cap,
        client: Host,
        server: Host,
        client_port: u16,
        server_port: u16,
    ) -> UdpFlow {
        UdpFlow {
            client,
            server,
            client_port,
            server_port,
            link: Link::Plain,
            ip_id: [cap.rng.next_u16(), cap.rng.next_u16()],
            max_ip_payload: 1480,
            reverse_next_fragments: false,
        }
    }
}

impl Channel for UdpFlow {
    fn send(&mut self, cap: &mut Cap, t: Timestamp, dir: Dir, payload: &[u8]) {
        let (src, dst, ports) = match dir {
            Dir::ToServer => (
                self.client,
                self.server,
                (self.client_port, self.server_port),
            ),
            Dir::ToClient => (
                self.server,
                self.client,
                (self.server_port, self.client_port),
            ),
        };
        let d = dir.idx();
        let id = self.ip_id[d];
        self.ip_id[d] = id.wrapping_add(1);
        if payload.len() + 8 > self.max_ip_payload && src.ip.is_ipv4() {
            let mut frags = net::udp_fragments(&src, &dst, id, ports, payload, self.max_ip_payload);
            cap.note("ip_fragments", frags.len() as u64);
            if std::mem::take(&mut self.reverse_next_fragments) {
                frags.reverse();
            }
            let mut at = t;
            for f in frags {
                cap.push(at, f);
                // Back-to-back frames on a 100 Mbit/s link.
                at = at.add_nanos(us(125));
            }
            return;
        }
        let o = IpOpts {
            id,
            df: false,
            flow_label: 0,
        };
        let f = net::udp_frame(&src, &dst, self.link, &o, ports, payload);
        cap.push(t, f);
    }
}
