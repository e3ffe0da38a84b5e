//! `otwatch sensor` as a process, driven only through HTTP (issue 5): a real
//! sensor on a generated capture, real tokens from `otwatch token create`,
//! the Defender-compatible shapes, the lifecycle, the PCAP of an alert read
//! by tshark, the role matrix, bad inputs, restart and kill -9.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn otwatch() -> &'static str {
    env!("CARGO_BIN_EXE_otwatch")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn simulate(scenario: &str, out: &Path) {
    let st = Command::new(otwatch())
        .args(["simulate", scenario, "-o"])
        .arg(out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "simulate {scenario}");
}

/// A sensor directory: config, store, captures.
struct Site {
    dir: tempfile::TempDir,
    port: u16,
    tls: bool,
}

impl Site {
    fn new(tls: bool, replay: &[&str], extra: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let list = replay
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let cfg = format!(
            "[sensor]\nname = \"s1\"\n[api]\nlisten = \"127.0.0.1:{port}\"\ntls = {tls}\n\
             [store]\npath = \"data\"\nbatch_delay_ms = 10\n[evidence]\npost_secs = 2.0\n\
             [capture]\nreplay = [{list}]\n{extra}"
        );
        std::fs::write(dir.path().join("sensor.toml"), cfg).unwrap();
        Site { dir, port, tls }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn config(&self) -> PathBuf {
        self.path("sensor.toml")
    }

    fn token(&self, role: &str, name: &str) -> String {
        let out = Command::new(otwatch())
            .args(["token", "create", "--config"])
            .arg(self.config())
            .args(["--role", role, "--name", name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let t = String::from_utf8(out.stdout).unwrap();
        let t = t.trim().to_string();
        assert!(
            t.starts_with("otw_") && !t.contains(' '),
            "only the token: {t:?}"
        );
        t
    }

    fn start(&self) -> Sensor {
        let child = Command::new(otwatch())
            .args(["sensor", "--config"])
            .arg(self.config())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(self.path("sensor.log")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let scheme = if self.tls { "https" } else { "http" };
        let s = Sensor {
            child: Some(child),
            base: format!("{scheme}://127.0.0.1:{}", self.port),
        };
        let t0 = Instant::now();
        loop {
            if let Ok((200, _)) = s.get_raw("/api/health", None) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "sensor did not come up: {}",
                std::fs::read_to_string(self.path("sensor.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }
}

struct Sensor {
    child: Option<Child>,
    base: String,
}

/// HTTP through curl: a real client, TLS included (-k: self-signed).
fn curl(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
    out: Option<&Path>,
) -> (u16, Vec<u8>) {
    let mut c = Command::new("curl");
    c.args([
        "-sS",
        "-k",
        "--max-time",
        "20",
        "-X",
        method,
        "-w",
        "\n%{http_code}",
    ]);
    if let Some(t) = token {
        c.args(["-H", &format!("Authorization: {t}")]);
    }
    if let Some(b) = body {
        c.args(["-H", "content-type: application/json", "--data-binary", b]);
    }
    if let Some(o) = out {
        c.arg("-o").arg(o);
    }
    c.arg(url);
    let o = c.output().expect("curl is needed by the sensor tests");
    let mut text = o.stdout;
    let nl = text.iter().rposition(|&b| b == b'\n').unwrap_or(0);
    let code = std::str::from_utf8(&text[nl + 1..])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    text.truncate(nl);
    (code, text)
}

impl Sensor {
    fn get_raw(&self, path: &str, token: Option<&str>) -> Result<(u16, Vec<u8>), ()> {
        let (c, b) = curl("GET", &format!("{}{path}", self.base), token, None, None);
        if c == 0 { Err(()) } else { Ok((c, b)) }
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, Value) {
        let (c, b) = curl(
            method,
            &format!("{}{path}", self.base),
            Some(token),
            body,
            None,
        );
        let v = serde_json::from_slice(&b).unwrap_or(Value::Null);
        (c, v)
    }

    fn get(&self, path: &str, token: &str) -> Value {
        let (c, v) = self.call("GET", path, token, None);
        assert_eq!(c, 200, "GET {path}: {v}");
        v
    }

    /// Waits until the replays are done and their alerts are stored.
    fn wait_replays(&self, token: &str, n: usize) -> Value {
        let t0 = Instant::now();
        loop {
            let s = self.get("/api/status", token);
            let done = s["replays"].as_array().map_or(0, |a| a.len());
            if done >= n && s["replays_pending"] == 0 {
                std::thread::sleep(Duration::from_millis(300));
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "replay did not finish: {s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn all_alerts(&self, token: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/alerts?limit=500&sort=id_asc&cursor={c}"),
                None => "/api/alerts?limit=500&sort=id_asc".to_string(),
            };
            let v = self.get(&path, token);
            out.extend(v["items"].as_array().unwrap().iter().cloned());
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }

    fn stop(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let t0 = Instant::now();
            loop {
                if let Ok(Some(st)) = c.try_wait() {
                    assert!(st.success(), "sensor exit status after SIGTERM: {st}");
                    return;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(30),
                    "sensor did not stop on SIGTERM"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn kill9(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The fields every alert carries (docs/api.md, §1.1).
const ALERT_FIELDS: &[&str] = &[
    "id",
    "numeric_id",
    "sensor_id",
    "type",
    "title",
    "message",
    "severity",
    "sensor_severity",
    "engine",
    "category",
    "protocol",
    "src_device_id",
    "src_ip",
    "src_mac",
    "src_name",
    "dst_device_id",
    "dst_ip",
    "dst_mac",
    "dst_name",
    "first_detection",
    "last_detection",
    "last_activity",
    "violations",
    "violation_count",
    "mitre_tactics",
    "mitre_techniques",
    "remediation",
    "additional_info",
    "pcap",
    "pcap_available",
    "status",
    "learned",
    "muted",
    "comments",
    "revision",
];

fn engineering_site(tls: bool) -> Site {
    let site = Site::new(tls, &["eng.pcap", "umas.pcap"], "");
    simulate("s7comm_engineering", &site.path("eng.pcap"));
    simulate("umas_engineering", &site.path("umas.pcap"));
    site
}

#[test]
fn alerts_defender_shapes_lifecycle_pcap_and_roles_over_https() {
    let site = engineering_site(true);
    let admin = site.token("admin", "ci-admin");
    let analyst = site.token("analyst", "ci-analyst");
    let ro = site.token("readonly", "ci-ro");
    let s = site.start();
    s.wait_replays(&admin, 1);

    // Alerts with every documented field.
    let alerts = s.all_alerts(&ro);
    assert!(alerts.len() >= 5, "{alerts:?}");
    for a in &alerts {
        for f in ALERT_FIELDS {
            assert!(a.get(*f).is_some(), "alert lacks {f}: {a}");
        }
        assert_eq!(a["sensor_id"], "s1");
        assert!(a["id"].as_str().unwrap().starts_with("s1-"));
        assert!(a["src_device_id"].is_u64(), "device ids resolved: {a}");
        assert!(!a["mitre_techniques"].as_array().unwrap().is_empty());
    }
    let titles: Vec<&str> = alerts
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Controller Stop"), "{titles:?}");

    // Defender-compatible shapes (reference §6.2).
    let v1 = s.get("/api/v1/alerts", &ro);
    let v1 = v1.as_array().unwrap();
    assert_eq!(v1.len(), alerts.len());
    for a in v1 {
        assert!(a["id"].is_u64() && a["time"].is_u64(), "{a}");
        assert!(a["title"].is_string() && a["message"].is_string());
        assert!(
            ["Warning", "Minor", "Major", "Critical"].contains(&a["severity"].as_str().unwrap())
        );
        assert!(
            [
                "Protocol Violation",
                "Policy Violation",
                "Malware",
                "Anomaly",
                "Operational"
            ]
            .contains(&a["engine"].as_str().unwrap())
        );
        assert!(a.get("sourceDevice").is_some() && a.get("destinationDevice").is_some());
        assert!(
            a.get("remediationSteps").is_none(),
            "v1 has no remediationSteps array"
        );
    }
    let v2 = s.get("/api/v2/alerts", &ro);
    for a in v2.as_array().unwrap() {
        assert!(a["remediationSteps"].is_array(), "{a}");
        assert!(
            a.get("sourceDeviceAddress").is_some() && a.get("destinationDeviceAddress").is_some()
        );
    }
    let first = &v1[0];
    let t = first["time"].as_u64().unwrap();
    let window = s.get(
        &format!("/api/v1/alerts?fromTime={t}&toTime={}", t + 1),
        &ro,
    );
    assert!(
        window
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == first["id"])
    );
    let events = s.get("/api/v1/events", &analyst);
    for e in events.as_array().unwrap() {
        for f in ["timestamp", "type", "title", "severity", "owner", "content"] {
            assert!(e.get(f).is_some(), "event lacks {f}: {e}");
        }
    }
    let devices = s.get("/api/v1/devices", &ro);
    assert!(devices.as_array().unwrap().len() >= 3, "{devices}");
    s.get("/api/v1/devices/connections", &ro);

    // The PCAP of an alert: tshark reads it, and it holds the alert's traffic.
    let stop = alerts
        .iter()
        .find(|a| a["title"] == "Controller Stop")
        .unwrap();
    assert_eq!(stop["pcap_available"], true, "{stop}");
    let n = stop["numeric_id"].as_u64().unwrap();
    let file = site.path("alert.pcap");
    let (code, _) = curl(
        "GET",
        &format!("{}/api/v2/alerts/pcap/{n}", s.base),
        Some(&analyst),
        None,
        Some(&file),
    );
    assert_eq!(code, 200);
    match Command::new("tshark")
        .args(["-r"])
        .arg(&file)
        .args(["-T", "fields", "-e", "ip.src", "-e", "ip.dst"])
        .output()
    {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let text = String::from_utf8_lossy(&o.stdout);
            let (src, dst) = (
                stop["src_ip"].as_str().unwrap(),
                stop["dst_ip"].as_str().unwrap(),
            );
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines.len() >= 3, "{text}");
            for l in lines {
                assert!(
                    l.contains(src) && l.contains(dst),
                    "packet of another pair: {l}"
                );
            }
        }
        Err(_) => eprintln!("tshark not installed: PCAP content not checked"),
    }

    // Lifecycle: comment, learn (closes), unlearn, close.
    let learnable = alerts
        .iter()
        .find(|a| a["engine"] == "policy_violation")
        .expect("a policy alert (learnable)");
    let (c, v) = s.call(
        "PATCH",
        &format!("/api/alerts/{}", stop["id"].as_str().unwrap()),
        &analyst,
        Some(r#"{"learn":true}"#),
    );
    assert_eq!(c, 409, "Controller Stop is not learnable: {v}");
    let stop = learnable;
    let id = stop["id"].as_str().unwrap();
    let (c, v) = s.call(
        "PATCH",
        &format!("/api/alerts/{id}"),
        &analyst,
        Some(r#"{"comment":"checked with the plant engineer"}"#),
    );
    assert_eq!(c, 200, "{v}");
    assert_eq!(v["comments"][0]["text"], "checked with the plant engineer");
    assert!(v["revision"].as_u64().unwrap() > stop["revision"].as_u64().unwrap());
    let (c, v) = s.call(
        "PATCH",
        &format!("/api/alerts/{id}"),
        &analyst,
        Some(r#"{"learn":true}"#),
    );
    assert_eq!(c, 200, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["learned"].as_bool()),
        (Some("Closed"), Some(true))
    );
    let (c, v) = s.call(
        "PATCH",
        &format!("/api/alerts/{id}"),
        &analyst,
        Some(r#"{"learn":true}"#),
    );
    assert_eq!(
        c, 200,
        "PATCH is idempotent: learning a learned alert changes nothing: {v}"
    );
    assert_eq!(v["learned"], true);
    let (c, v) = s.call(
        "PATCH",
        &format!("/api/alerts/{id}"),
        &analyst,
        Some(r#"{"learn":false}"#),
    );
    assert_eq!(c, 200, "{v}");
    assert_eq!(v["learned"], false);
    let other = alerts.iter().find(|a| a["id"] != stop["id"]).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (c, v) = s.call(
        "PATCH",
        &format!("/api/alerts/{other}"),
        &analyst,
        Some(r#"{"status":"Closed"}"#),
    );
    assert_eq!(c, 200, "{v}");
    assert_eq!(v["status"], "Closed");
    // Read-your-write: the list shows it at once.
    let a = s.get(&format!("/api/alerts/{other}"), &ro);
    assert_eq!(a["status"], "Closed");

    // The timeline records the actions, with their owner.
    let tl = s.get("/api/timeline?limit=200", &analyst);
    let items = tl["items"].as_array().unwrap();
    let learned = items
        .iter()
        .find(|e| e["type"] == "ALERT_LEARNED")
        .expect("ALERT_LEARNED event");
    assert_eq!(learned["owner"], "token:ci-analyst", "{learned}");
    assert!(items.iter().any(|e| e["type"] == "ALERT_UNLEARNED"));
    assert!(items.iter().any(|e| e["type"] == "ALERT_CLOSED"));

    // Roles: readonly may not triage, analyst may not manage tokens; no auth is 401.
    let (c, _) = s.call(
        "PATCH",
        &format!("/api/alerts/{id}"),
        &ro,
        Some(r#"{"status":"Closed"}"#),
    );
    assert_eq!(c, 403);
    let (c, _) = s.call("GET", "/api/tokens", &analyst, None);
    assert_eq!(c, 403);
    let (c, _) = s.call("GET", "/api/tokens", &admin, None);
    assert_eq!(c, 200);
    let (c, _) = curl("GET", &format!("{}/api/alerts", s.base), None, None, None);
    assert_eq!(c, 401);
    let (c, _) = curl(
        "GET",
        &format!("{}/api/alerts", s.base),
        Some("otw_not-a-real-token"),
        None,
        None,
    );
    assert_eq!(c, 401);

    // Bad inputs: a clear 4xx with a JSON body, never a 500.
    for (m, p, b) in [
        ("GET", "/api/alerts?limit=abc", None),
        ("GET", "/api/alerts?severity=urgent", None),
        ("GET", "/api/alerts?cursor=%%%", None),
        ("GET", "/api/alerts?from=yesterday", None),
        ("GET", "/api/v1/alerts?fromTime=-5x", None),
        ("GET", "/api/v1/events?minutesTimeFrame=lots", None),
        ("GET", "/api/v2/alerts/pcap/notanumber", None),
        ("GET", "/api/v2/alerts/pcap/999999", None),
        ("GET", "/api/alerts/s1-999999", None),
        ("PATCH", "/api/alerts/s1-1", Some("{not json")),
        ("PATCH", "/api/alerts/s1-1", Some(r#"{"status":"Solved"}"#)),
        ("PATCH", "/api/alerts/s1-1", Some(r#"{"comment":""}"#)),
        ("PATCH", "/api/alerts/s1-1", Some(r#"{"severity":12}"#)),
        ("POST", "/api/alerts/bulk", Some(r#"{"ids":"all"}"#)),
        ("PATCH", "/api/devices/999999", Some(r#"{"name":"x"}"#)),
        ("PUT", "/api/exclusions", Some(r#"[{"name":"bad\"name"}]"#)),
        ("PUT", "/api/custom-rules", Some(r#"[{"nonsense":true}]"#)),
        (
            "PUT",
            "/api/settings/alerts",
            Some(r#"{"types":{"no_such_type":{"enabled":false}}}"#),
        ),
        (
            "PUT",
            "/api/subnets",
            Some(r#"{"ot_subnets":["10.0.0.0/33"]}"#),
        ),
        ("PUT", "/api/learning", Some(r#"{"learning":"maybe"}"#)),
        (
            "POST",
            "/api/timeline",
            Some(r#"{"severity":"LOUD","description":"x"}"#),
        ),
        ("DELETE", "/api/tokens/abc", None),
    ] {
        let (c, v) = s.call(m, p, &admin, b);
        assert!((400..500).contains(&c), "{m} {p} {b:?}: {c} {v}");
        // Our shape names the problem; the PCAP endpoint keeps the
        // reference's `{"error": "PCAP file is not available"}`.
        assert!(
            v["error"]["message"].is_string() || v["error"].is_string(),
            "{m} {p}: JSON error body: {v}"
        );
    }
    let (c, _) = s.call("GET", "/api/status", &admin, None);
    assert_eq!(c, 200, "still serving after the bad inputs");
    let metrics = curl("GET", &format!("{}/metrics", s.base), Some(&ro), None, None);
    let text = String::from_utf8_lossy(&metrics.1);
    for m in [
        "otwatch_packets_total",
        "otwatch_alerts{engine=",
        "otwatch_messages_total{protocol=",
        "otwatch_store_commit_seconds_last",
    ] {
        assert!(text.contains(m), "metrics lack {m}");
    }
    s.stop();
}

#[test]
fn settings_and_alerts_survive_a_restart_and_watched_captures_are_replayed() {
    let site = Site::new(
        false,
        &["eng.pcap", "umas.pcap"],
        "watch = \"inbox\"\nwatch_interval_secs = 1\n",
    );
    simulate("s7comm_engineering", &site.path("eng.pcap"));
    simulate("umas_engineering", &site.path("umas.pcap"));
    std::fs::create_dir_all(site.path("inbox")).unwrap();
    let admin = site.token("admin", "admin");
    let s = site.start();
    s.wait_replays(&admin, 1);
    let before = s.all_alerts(&admin);
    let (c, v) = s.call(
        "PUT",
        "/api/exclusions",
        &admin,
        Some(r#"[{"name":"maintenance","titles":["Controller Stop"]}]"#),
    );
    assert!((200..300).contains(&c), "{v}");
    for a in &before {
        let id = a["id"].as_str().unwrap();
        let (c, v) = s.call(
            "PATCH",
            &format!("/api/alerts/{id}"),
            &admin,
            Some(r#"{"status":"Closed"}"#),
        );
        assert_eq!(c, 200, "{v}");
    }
    s.stop();

    // A capture file removed while the sensor is down.
    let gone = before[0]["id"].as_str().unwrap().to_string();
    assert_eq!(before[0]["pcap_available"], true);
    std::fs::remove_file(site.path(&format!("data/pcaps/{gone}.pcap"))).unwrap();

    // Restart: the same alerts with the same ids, the rule still in force.
    // The captures are from 2024: after the first clock ticks (1 s) their
    // alerts must still be there (retention runs on capture time).
    let s = site.start();
    std::thread::sleep(Duration::from_millis(2500));
    let after = s.all_alerts(&admin);
    for a in &after {
        let want = a["id"] != gone.as_str()
            && before
                .iter()
                .any(|b| b["id"] == a["id"] && b["pcap_available"] == true);
        assert_eq!(
            a["pcap_available"].as_bool(),
            Some(want),
            "pcap_available kept accurate: {a}"
        );
    }
    let ids = |v: &[Value]| {
        v.iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&after), ids(&before));
    assert!(after.iter().all(|a| a["status"] == "Closed"));
    let ex = s.get("/api/exclusions", &admin);
    assert_eq!(ex[0]["name"], "maintenance", "{ex}");

    // A capture dropped into the watched directory is replayed: the closed
    // alerts' traffic raises new alerts (ids above the old ones), except the
    // excluded type.
    std::fs::copy(site.path("umas.pcap"), site.path("inbox/again.pcap")).unwrap();
    s.wait_replays(&admin, 1);
    let t0 = Instant::now();
    let newer = loop {
        let all = s.all_alerts(&admin);
        if all.len() > before.len() || t0.elapsed() > Duration::from_secs(20) {
            break all;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let max_old = before
        .iter()
        .map(|a| a["numeric_id"].as_u64().unwrap())
        .max()
        .unwrap();
    let fresh: Vec<&Value> = newer
        .iter()
        .filter(|a| a["numeric_id"].as_u64().unwrap() > max_old)
        .collect();
    assert!(!fresh.is_empty(), "the watched capture raised no alert");
    assert!(
        fresh.iter().all(|a| a["title"] != "Controller Stop"),
        "{fresh:?}"
    );
    assert!(fresh.iter().all(|a| a["status"] == "New"));
    assert!(
        site.path("inbox/done/again.pcap").exists(),
        "replayed file moved to done/"
    );
    // An upload through the API is replayed too, then deleted.
    let body = format!("@{}", site.path("eng.pcap").display());
    let (c, out) = curl(
        "POST",
        &format!("{}/api/replay", s.base),
        Some(&admin),
        Some(&body),
        None,
    );
    assert_eq!(c, 202, "{}", String::from_utf8_lossy(&out));
    s.wait_replays(&admin, 2);
    let uploads = site.path("data/uploads");
    let left: Vec<_> = std::fs::read_dir(&uploads)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "uploads are deleted after replay: {left:?}"
    );
    let (c, out) = curl(
        "POST",
        &format!("{}/api/replay", s.base),
        Some(&admin),
        Some("not a capture"),
        None,
    );
    assert_eq!(c, 400, "{}", String::from_utf8_lossy(&out));
    let tl = s.get("/api/timeline?limit=500", &admin);
    assert!(
        tl["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "ALERT_EXCLUDED"),
        "the exclusion hit is on the timeline"
    );
    s.stop();
}

/// Writes a pcap of Modbus/UDP requests carrying an exception code (an
/// illegal Modbus operation by the master) from `n` different sources: `n`
/// distinct alerts.
fn many_alerts_pcap(path: &Path, n: u32, net: u8) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    // pcap header: microseconds, Ethernet.
    f.write_all(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]).unwrap();
    f.write_all(&[0; 8]).unwrap();
    f.write_all(&65535u32.to_le_bytes()).unwrap();
    f.write_all(&1u32.to_le_bytes()).unwrap();
    for i in 0..n {
        let src = [10, net, (i >> 8) as u8, (i & 0xff) as u8];
        let payload = [0u8, 1, 0, 0, 0, 3, 1, 0x83, 2]; // MBAP + unit 1 + an exception (0x83) sent by the master
        let builder = etherparse::PacketBuilder::ethernet2(
            [0x02, 0, 0, 0, (i >> 8) as u8, i as u8],
            [0x02, 0, 0, 0, 0xff, 0x01],
        )
        .ipv4(src, [10, 10, 1, 21], 64)
        .udp(40000 + (i % 1000) as u16, 502);
        let mut frame = Vec::new();
        builder.write(&mut frame, &payload).unwrap();
        let ts = 1_700_000_000u32 + i / 100;
        let us = (i % 100) * 10_000;
        f.write_all(&ts.to_le_bytes()).unwrap();
        f.write_all(&us.to_le_bytes()).unwrap();
        f.write_all(&(frame.len() as u32).to_le_bytes()).unwrap();
        f.write_all(&(frame.len() as u32).to_le_bytes()).unwrap();
        f.write_all(&frame).unwrap();
    }
}

#[test]
fn kill_9_loses_no_reported_alert_and_ids_are_not_reused() {
    let site = Site::new(false, &["many.pcap"], "");
    many_alerts_pcap(&site.path("many.pcap"), 20_000, 20);
    let admin = site.token("admin", "admin");
    let s = site.start();
    // Read what the API reports while alerts are being written, then kill.
    let t0 = Instant::now();
    let reported = loop {
        let v = s.get("/api/alerts?limit=1", &admin);
        if v["total"].as_u64().unwrap_or(0) >= 200 {
            break s.all_alerts(&admin);
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no alerts appeared");
        std::thread::sleep(Duration::from_millis(20));
    };
    s.kill9();
    assert!(reported.len() >= 200);

    // Restart without the replay: every reported alert is there, once, with
    // the same id and content.
    let cfg = std::fs::read_to_string(site.config()).unwrap();
    std::fs::write(
        site.config(),
        cfg.replace("replay = [\"many.pcap\"]", "replay = []"),
    )
    .unwrap();
    let s = site.start();
    let after = s.all_alerts(&admin);
    let mut seen = std::collections::BTreeSet::new();
    for a in &after {
        assert!(
            seen.insert(a["id"].as_str().unwrap().to_string()),
            "duplicate {}",
            a["id"]
        );
    }
    for r in &reported {
        let id = r["id"].as_str().unwrap();
        let a = after
            .iter()
            .find(|a| a["id"] == r["id"])
            .unwrap_or_else(|| panic!("alert {id} reported before the crash is gone"));
        assert_eq!(a["title"], r["title"]);
        assert_eq!(a["src_ip"], r["src_ip"]);
        assert_eq!(a["first_detection"], r["first_detection"]);
    }
    // New alerts get ids above every stored one.
    let max_before = after
        .iter()
        .map(|a| a["numeric_id"].as_u64().unwrap())
        .max()
        .unwrap();
    many_alerts_pcap(&site.path("more.pcap"), 50, 21);
    s.stop();
    let cfg = std::fs::read_to_string(site.config()).unwrap();
    std::fs::write(
        site.config(),
        cfg.replace("replay = []", "replay = [\"more.pcap\"]"),
    )
    .unwrap();
    let s = site.start();
    s.wait_replays(&admin, 1);
    let last = s.all_alerts(&admin);
    let fresh: Vec<u64> = last
        .iter()
        .map(|a| a["numeric_id"].as_u64().unwrap())
        .filter(|n| *n > max_before)
        .collect();
    let distinct: std::collections::BTreeSet<&str> =
        last.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), last.len(), "no duplicate ids");
    assert_eq!(
        fresh.len(),
        50,
        "50 new sources, 50 new alerts above {max_before}"
    );
    s.stop();
}

/// Live capture on the loopback interface (libpcap; needs the `live`
/// feature and root or CAP_NET_RAW): Modbus/UDP traffic sent through `lo`
/// while the sensor runs raises its alert, and the capture counters show.
#[cfg(feature = "live")]
#[test]
fn live_capture_on_loopback() {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if uid.ok().as_deref() != Some("0") {
        eprintln!("NOTICE: live capture test skipped: it needs root (or CAP_NET_RAW)");
        return;
    }
    let site = Site::new(
        false,
        &[],
        "interfaces = [\"lo\"]\nfilter = \"udp port 502\"\n",
    );
    let admin = site.token("admin", "admin");
    let s = site.start();
    // libpcap needs a moment to open the interface after the API is up.
    std::thread::sleep(Duration::from_millis(500));
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // An exception code sent by the master: Illegal MODBUS Operation.
    let pdu = [0u8, 7, 0, 0, 0, 3, 1, 0x83, 2];
    let t0 = Instant::now();
    let alert = loop {
        sock.send_to(&pdu, "127.0.0.1:502").unwrap();
        let v = s.get("/api/alerts?text=Exception%20Raised%20by%20Master", &admin);
        if let Some(a) = v["items"].as_array().and_then(|a| a.first()) {
            break a.clone();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no alert from live traffic: {}",
            s.get("/api/status", &admin)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(alert["src_ip"], "127.0.0.1");
    assert_eq!(alert["protocol"], "modbus");
    let st = s.get("/api/status", &admin);
    let lo = &st["interfaces"][0];
    assert_eq!(lo["interface"], "lo", "{st}");
    std::thread::sleep(Duration::from_millis(1200));
    let st = s.get("/api/status", &admin);
    let lo = &st["interfaces"][0];
    assert!(lo["received"].as_u64().unwrap() >= 1, "{st}");
    assert_eq!(lo["sensor_dropped"], 0, "{st}");
    let metrics = curl(
        "GET",
        &format!("{}/metrics", s.base),
        Some(&admin),
        None,
        None,
    );
    let text = String::from_utf8_lossy(&metrics.1);
    assert!(
        text.contains("otwatch_capture_received_total{interface=\"lo\"}"),
        "{text}"
    );
    s.stop();
}

#[test]
fn users_added_on_the_command_line_log_in_with_a_session_cookie() {
    let site = Site::new(false, &[], "");
    let add = |name: &str, role: &str, password: &str| {
        let mut c = Command::new(otwatch())
            .args(["user", "add", "--config"])
            .arg(site.config())
            .args(["--role", role, "--name", name])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The command may refuse (bad role) before it reads stdin.
        let _ = c
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes());
        c.wait_with_output().unwrap()
    };
    assert!(
        add("ops", "analyst", "correct horse battery")
            .status
            .success()
    );
    let short = add("weak", "analyst", "short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    let bad_role = add("x", "superuser", "long enough pw");
    assert!(!bad_role.status.success());
    let s = site.start();
    let jar = site.path("cookies");
    let login = |password: &str| {
        let o = Command::new("curl")
            .args(["-sS", "-k", "-c"])
            .arg(&jar)
            .args([
                "-H",
                "content-type: application/json",
                "-w",
                "\n%{http_code}",
                "--data-binary",
            ])
            .arg(format!(r#"{{"name":"ops","password":"{password}"}}"#))
            .arg(format!("{}/api/login", s.base))
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&o.stdout).to_string();
        t.rsplit('\n')
            .next()
            .unwrap()
            .trim()
            .parse::<u16>()
            .unwrap()
    };
    assert_eq!(login("wrong password"), 401);
    assert_eq!(login("correct horse battery"), 200);
    let me = Command::new("curl")
        .args(["-sS", "-k", "-b"])
        .arg(&jar)
        .arg(format!("{}/api/me", s.base))
        .output()
        .unwrap();
    let me: Value = serde_json::from_slice(&me.stdout).unwrap();
    assert_eq!(me["role"], "analyst", "{me}");
    let cookies = std::fs::read_to_string(&jar).unwrap();
    assert!(
        cookies.contains("#HttpOnly_"),
        "session cookie is HttpOnly: {cookies}"
    );
    s.stop();
}
