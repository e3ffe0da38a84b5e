//! Concurrent API clients for `scripts/load-test.sh`: each client keeps one
//! HTTP/1.1 connection open and sends requests back to back, rotating through
//! a mix an alert UI and a SIEM integration produce (alert lists with filters
//! and sorts, one alert, the Defender-compatible lists polled with
//! `fromTime` (each client moving its own `fromTime` forward as an
//! integration does), the timeline, devices, status, comments added by PATCH). Each
//! request's latency (request written to last body byte read) is recorded;
//! at the end a table of p50/p90/p99/max per endpoint class and overall is
//! printed, and written as JSON when `--json` is given.
//!
//! Without `--rate` the clients run a closed loop (each sends its next
//! request when the last is answered): that measures the most the API
//! serves, and its latencies grow with the number of clients. With
//! `--rate R`, R requests per second are offered on a fixed schedule and
//! each latency counts from when its request was due (no coordinated
//! omission): the latency a given load sees.
//!
//! ```text
//! cargo run --release -p otwatch --example api_load -- \
//!     --addr 127.0.0.1:8443 --token otw_... [--clients 8] [--seconds 30] \
//!     [--rate R] [--json out.json]
//! ```
//!
//! Plain HTTP only (the load test runs the sensor with `tls = false`); std
//! only, so that the client itself costs little CPU beside the sensor.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Args {
    addr: String,
    token: String,
    clients: usize,
    seconds: f64,
    /// Requests per second offered by all clients together (0: each client
    /// sends its next request as soon as the last one is answered).
    rate: f64,
    json: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        addr: String::new(),
        token: String::new(),
        clients: 8,
        seconds: 30.0,
        json: None,
        rate: 0.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--addr" => a.addr = v()?,
            "--token" => a.token = v()?,
            "--clients" => {
                a.clients = v()?
                    .parse()
                    .ok()
                    .filter(|n| (1..=256).contains(n))
                    .ok_or("--clients: 1-256")?
            }
            "--seconds" => {
                a.seconds = v()?
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && *s <= 86_400.0)
                    .ok_or("--seconds: more than 0, at most 86400")?
            }
            "--json" => a.json = Some(v()?),
            "--rate" => {
                a.rate = v()?
                    .parse()
                    .ok()
                    .filter(|r: &f64| *r >= 0.0 && *r <= 100_000.0)
                    .ok_or("--rate: 0 (closed loop) to 100000 requests per second")?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.addr.is_empty() || a.token.is_empty() {
        return Err("--addr and --token are required".into());
    }
    Ok(a)
}

/// One keep-alive connection.
struct Conn {
    addr: String,
    auth: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: &str, token: &str) -> Conn {
        Conn {
            addr: addr.to_string(),
            auth: token.to_string(),
            stream: None,
        }
    }

    /// Sends one request, reads the whole answer: (status, body).
    fn request(&mut self, method: &str, path: &str, body: &str) -> Result<(u16, Vec<u8>), String> {
        // A connection closed by the server between requests is reopened once.
        for attempt in 0..2 {
            if self.stream.is_none() {
                let s = TcpStream::connect(&self.addr).map_err(|e| format!("connect: {e}"))?;
                s.set_nodelay(true).ok();
                s.set_read_timeout(Some(Duration::from_secs(30))).ok();
                self.stream = Some(BufReader::new(s));
            }
            match self.exchange(method, path, body) {
                Ok(r) => return Ok(r),
                Err(e) => {
                    self.stream = None;
                    if attempt == 1 {
                        return Err(e);
                    }
                }
            }
        }
        unreachable!("two attempts")
    }

    fn exchange(&mut self, method: &str, path: &str, body: &str) -> Result<(u16, Vec<u8>), String> {
        let s = self.stream.as_mut().ok_or("no connection")?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nAccept: application/json\r\n",
            self.addr, self.auth
        );
        if !body.is_empty() {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.get_mut()
            .write_all(req.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        let mut line = String::new();
        s.read_line(&mut line).map_err(|e| format!("read: {e}"))?;
        if line.is_empty() {
            return Err("connection closed".into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or(format!("bad status line {line:?}"))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            s.read_line(&mut line).map_err(|e| format!("read: {e}"))?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let Some((k, v)) = l.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => length = v.parse::<usize>().ok(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                line.clear();
                s.read_line(&mut line).map_err(|e| format!("read: {e}"))?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| format!("bad chunk size {line:?}"))?;
                let start = out.len();
                out.resize(start + size + 2, 0);
                s.read_exact(&mut out[start..])
                    .map_err(|e| format!("read: {e}"))?;
                out.truncate(start + size);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            out.resize(n, 0);
            s.read_exact(&mut out).map_err(|e| format!("read: {e}"))?;
        } else {
            s.read_to_end(&mut out).map_err(|e| format!("read: {e}"))?;
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok((status, out))
    }
}

/// What the clients rotate through, from a few alerts of the store.
struct Mix {
    /// (class, method, path, body), in rotation order.
    items: Vec<(&'static str, &'static str, String, String)>,
    /// Where the Defender-compatible polls start: the first detection
    /// (epoch ms) of the 100th newest alert.
    from: i64,
    /// Numeric ids of the 200 alerts detected last.
    ids: Vec<u64>,
}

/// A client's position in the Defender-compatible polls, one per path, as
/// an integration keeps it: the newest `time` (first detection, epoch ms)
/// of its last answer, asked again inclusively (alerts first detected in
/// that same millisecond later on are not missed; repeats are told apart
/// by id).
struct Poll(BTreeMap<String, i64>);

impl Poll {
    fn path(&self, template: &str, start: i64) -> String {
        let from = self.0.get(template).copied().unwrap_or(start);
        template.replace("{from}", &from.to_string())
    }

    fn answered(&mut self, template: &str, body: &[u8]) {
        let Ok(serde_json::Value::Array(items)) = serde_json::from_slice(body) else {
            return;
        };
        if let Some(newest) = items.iter().filter_map(|a| a["time"].as_i64()).max() {
            let e = self.0.entry(template.to_string()).or_insert(newest);
            *e = (*e).max(newest);
        }
    }
}

fn build_mix(conn: &mut Conn) -> Result<Mix, String> {
    let (code, body) = conn.request("GET", "/api/alerts?limit=200&sort=last_detection_desc", "")?;
    if code != 200 {
        return Err(format!(
            "GET /api/alerts: {code} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("GET /api/alerts: {e}"))?;
    let items = v["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return Err("the store has no alerts".into());
    }
    let ids: Vec<u64> = items
        .iter()
        .filter_map(|a| a["numeric_id"].as_u64())
        .collect();
    // The Defender-compatible polls ask for the newest 100 alerts (by first
    // detection), as an integration polling with fromTime does: from the
    // first detection of the 100th newest.
    let (code, body) =
        conn.request("GET", "/api/alerts?limit=100&sort=first_detection_desc", "")?;
    if code != 200 {
        return Err(format!("GET /api/alerts (first detection): {code}"));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("GET /api/alerts: {e}"))?;
    let from = v["items"]
        .as_array()
        .and_then(|a| a.last())
        .and_then(|a| a["first_detection"].as_str())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis())
        .ok_or("no first_detection in GET /api/alerts")?;
    let g = |class, path: String| (class, "GET", path, String::new());
    let mut mix = Vec::new();
    for (k, id) in ids.iter().cycle().take(4).enumerate() {
        mix.push(g("alerts_list", "/api/alerts?limit=50".into()));
        mix.push(g(
            "alerts_list",
            "/api/alerts?status=New,Active&sort=severity_desc&limit=50".into(),
        ));
        mix.push(g(
            "alerts_list",
            "/api/alerts?engine=protocol_violation&protocol=modbus&sort=first_detection_desc&limit=100"
                .into(),
        ));
        mix.push(g(
            "alerts_list",
            "/api/alerts?severity=High,Medium&limit=20".into(),
        ));
        mix.push(g(
            "alerts_list",
            "/api/alerts?text=exception&limit=20".into(),
        ));
        mix.push(g("alert_get", format!("/api/alerts/{id}")));
        mix.push(g(
            "alert_get",
            format!("/api/alerts/{}", ids[(k * 37) % ids.len()]),
        ));
        // `{from}`: each client's own poll position (see `Poll`).
        mix.push(g("v1_alerts", "/api/v1/alerts?fromTime={from}".into()));
        mix.push(g(
            "v2_alerts",
            "/api/v2/alerts?state=unhandled&fromTime={from}".into(),
        ));
        mix.push(g("timeline", "/api/timeline?limit=50".into()));
        mix.push(g(
            "timeline",
            "/api/timeline?severity=ALERT&limit=50".into(),
        ));
        mix.push(g("devices", "/api/devices?limit=50".into()));
        mix.push(g("status", "/api/status".into()));
        // `{alert}`: the client's next alert of `ids` in turn, so that the
        // comments spread over the newest alerts as a team's would (an
        // alert keeps at most 200).
        mix.push((
            "patch_comment",
            "PATCH",
            "/api/alerts/{alert}".into(),
            format!("{{\"comment\":\"load test note {k}\"}}"),
        ));
    }
    Ok(Mix {
        items: mix,
        from,
        ids,
    })
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("api_load: {e}");
            return ExitCode::from(2);
        }
    };
    let mix = match build_mix(&mut Conn::new(&args.addr, &args.token)) {
        Ok(m) => std::sync::Arc::new(m),
        Err(e) => {
            eprintln!("api_load: {e}");
            return ExitCode::FAILURE;
        }
    };
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let (rate, clients) = (args.rate, args.clients);
    let handles: Vec<_> = (0..args.clients)
        .map(|c| {
            let (mix, addr, token) = (mix.clone(), args.addr.clone(), args.token.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::new(&addr, &token);
                // class -> (latencies in µs, errors, first error)
                let mut rec: BTreeMap<&str, (Vec<u32>, u64, Option<String>)> = BTreeMap::new();
                let mut poll = Poll(BTreeMap::new());
                let mut patched = 0usize;
                let mut i = c * 5;
                // Open loop (`--rate`): request k of this client is due at
                // `started + (k * clients + c) / rate`, whatever the answers
                // before it took; its latency counts from when it was due,
                // so a slow answer that delays the next requests shows in
                // theirs too (no coordinated omission).
                let interval = (rate > 0.0).then(|| Duration::from_secs_f64(clients as f64 / rate));
                let mut due = started
                    + interval.map_or(Duration::ZERO, |iv| iv.mul_f64(c as f64 / clients as f64));
                while Instant::now() < deadline {
                    let (class, method, template, body) = &mix.items[i % mix.items.len()];
                    i += 1;
                    let polled = template.contains("{from}");
                    let path = if polled {
                        poll.path(template, mix.from)
                    } else if template.contains("{alert}") {
                        patched += 1;
                        let id = mix.ids[(c * 7919 + patched) % mix.ids.len()];
                        template.replace("{alert}", &id.to_string())
                    } else {
                        template.clone()
                    };
                    let t0 = match interval {
                        Some(iv) => {
                            let now = Instant::now();
                            if due > now {
                                std::thread::sleep(due - now);
                            }
                            let t = due;
                            due += iv;
                            if t >= deadline {
                                break;
                            }
                            t
                        }
                        None => Instant::now(),
                    };
                    let r = conn.request(method, &path, body);
                    let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    let e = rec.entry(class).or_default();
                    match r {
                        Ok((code, b)) if (200..300).contains(&code) => {
                            e.0.push(us);
                            if polled {
                                poll.answered(template, &b);
                            }
                        }
                        Ok((code, b)) => {
                            e.1 += 1;
                            e.2.get_or_insert_with(|| {
                                format!(
                                    "{method} {path}: {code} {}",
                                    String::from_utf8_lossy(&b[..b.len().min(200)])
                                )
                            });
                        }
                        Err(err) => {
                            e.1 += 1;
                            e.2.get_or_insert_with(|| format!("{method} {path}: {err}"));
                        }
                    }
                }
                rec
            })
        })
        .collect();
    let mut all: BTreeMap<&str, (Vec<u32>, u64, Option<String>)> = BTreeMap::new();
    for h in handles {
        let Ok(rec) = h.join() else {
            eprintln!("api_load: a client thread panicked");
            return ExitCode::FAILURE;
        };
        for (k, (l, n, e)) in rec {
            let a = all.entry(k).or_default();
            a.0.extend(l);
            a.1 += n;
            if a.2.is_none() {
                a.2 = e;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let mut overall: Vec<u32> = Vec::new();
    let mut errors = 0;
    let mut rows = Vec::new();
    println!(
        "{:<14} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "class", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let mut line = |name: &str, l: &mut Vec<u32>, n: u64| {
        l.sort_unstable();
        let r = serde_json::json!({
            "class": name, "requests": l.len() as u64 + n, "errors": n,
            "rps": l.len() as f64 / secs,
            "p50_ms": pct(l, 50.0), "p90_ms": pct(l, 90.0), "p99_ms": pct(l, 99.0),
            "max_ms": pct(l, 100.0),
        });
        println!(
            "{:<14} {:>8} {:>6} {:>8.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            name,
            l.len() as u64 + n,
            n,
            l.len() as f64 / secs,
            pct(l, 50.0),
            pct(l, 90.0),
            pct(l, 99.0),
            pct(l, 100.0)
        );
        rows.push(r);
    };
    for (k, (l, n, _)) in all.iter_mut() {
        overall.extend_from_slice(l);
        errors += *n;
        line(k, l, *n);
    }
    line("overall", &mut overall, errors);
    for (k, (_, _, e)) in &all {
        if let Some(e) = e {
            eprintln!("api_load: first error of {k}: {e}");
        }
    }
    if let Some(p) = &args.json {
        let doc = serde_json::json!({
            "clients": args.clients, "seconds": secs, "classes": rows,
        });
        if let Err(e) = std::fs::write(p, serde_json::to_vec_pretty(&doc).unwrap_or_default()) {
            eprintln!("api_load: cannot write {p}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if errors > 0 {
        eprintln!("api_load: {errors} requests failed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
