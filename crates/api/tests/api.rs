//! The API over real HTTP with the real SQLite store: the role matrix over
//! every route, sessions and tokens, the login rate limit, audit records,
//! settings, replay uploads, and bad input that must never give a 500.

mod common;

use common::{Server, start};
use otwatch_api::{ApiConfig, route_table};
use otwatch_store::{Role, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn cfg() -> ApiConfig {
    ApiConfig {
        max_body: 64 * 1024,
        max_upload: 100_000,
        secure_cookies: false,
        login_max_failures: 3,
        ..ApiConfig::default()
    }
}

fn is_json(r: &reqwest::Response) -> bool {
    r.headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("application/json"))
}

/// `/api/users/{name}` -> `/api/users/nobody`, ids -> 999999.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| match s {
            "{id}" => "999999",
            s if s.starts_with('{') => "nobody",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn send(s: &Server, method: &str, path: &str, auth: Option<&str>) -> reqwest::Response {
    let mut req = s
        .client
        .request(Method::from_bytes(method.as_bytes()).unwrap(), s.url(path));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if matches!(method, "POST" | "PUT" | "PATCH") {
        req = req.header("content-type", "application/json").body("{}");
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_over_every_route() {
    let s = start(cfg(), false).await;
    let tokens = [
        (Role::Readonly, s.add_token("ro", Role::Readonly)),
        (Role::Analyst, s.add_token("an", Role::Analyst)),
        (Role::Admin, s.add_token("ad", Role::Admin)),
    ];
    let table = route_table();
    assert!(table.len() >= 29, "{} routes", table.len());
    for r in &table {
        let path = concrete(r.path);
        let what = format!("{} {}", r.method, r.path);
        let resp = send(&s, r.method, &path, None).await;
        let status = resp.status();
        if r.min_role.is_some() {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} without auth");
            assert!(is_json(&resp), "{what}");
        } else {
            assert!(
                status.as_u16() < 500 && status != StatusCode::UNAUTHORIZED,
                "{what}: {status}"
            );
        }
        for (role, token) in &tokens {
            let resp = send(&s, r.method, &path, Some(token)).await;
            let status = resp.status();
            let allowed = r.min_role.is_none_or(|min| *role >= min);
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{what} as {role:?}: {status}"
                );
                assert!(status.as_u16() < 500, "{what} as {role:?}: {status}");
                // The Defender-compatible routes answer the reference's own
                // error shapes; ours answer `{"error": {"code", "message"}}`.
                let defender = r.path.starts_with("/api/v1/") || r.path.starts_with("/api/v2/");
                if status.is_client_error() && defender {
                    assert!(is_json(&resp), "{what} as {role:?}: {status} not JSON");
                } else if status.is_client_error() {
                    assert!(is_json(&resp), "{what} as {role:?}: {status} not JSON");
                    let e: Value = resp.json().await.unwrap();
                    // The route exists: a 404 may only be about the item.
                    let msg = e["error"]["message"].as_str().unwrap_or_else(|| {
                        panic!("{what} as {role:?}: {status}: no error message in {e}")
                    });
                    assert!(!msg.starts_with("route "), "{what}: {msg}");
                }
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what} as {role:?}");
                let e: Value = resp.json().await.unwrap();
                assert_eq!(e["error"]["role"], role.as_str(), "{what}");
                assert!(
                    e["error"]["action"].as_str().unwrap().contains(r.path),
                    "{e}"
                );
            }
        }
    }
    s.stop().await;
}

fn session_of(resp: &reqwest::Response) -> (String, String) {
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    let value = set
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("otwatch_session=")
        .unwrap()
        .to_string();
    (format!("otwatch_session={value}"), set)
}

async fn login(s: &Server, name: &str, password: &str) -> reqwest::Response {
    s.client
        .post(s.url("/api/login"))
        .json(&json!({ "name": name, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn call(
    s: &Server,
    method: Method,
    path: &str,
    auth: (&str, &str),
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = s.client.request(method, s.url(path)).header(auth.0, auth.1);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_sessions_tokens_and_audit() {
    let s = start(
        ApiConfig {
            secure_cookies: true,
            session_ttl_secs: 3600,
            ..cfg()
        },
        false,
    )
    .await;
    s.add_user("root", Role::Admin, "root-password");
    let r = login(&s, "root", "root-password").await;
    assert_eq!(r.status(), StatusCode::OK);
    let (root, set) = session_of(&r);
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Max-Age=3600",
        "Path=/",
    ] {
        assert!(set.contains(flag), "{set} lacks {flag}");
    }
    let root = ("cookie", root.as_str());

    // Create an analyst, who logs in.
    let r = call(
        &s,
        Method::POST,
        "/api/users",
        root,
        Some(json!({"name": "ana", "role": "analyst", "password": "ana-password"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["role"], "analyst");
    assert!(u.get("password_hash").is_none());
    let r = call(
        &s,
        Method::POST,
        "/api/users",
        root,
        Some(json!({"name": "ana", "role": "analyst", "password": "ana-password"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = call(
        &s,
        Method::POST,
        "/api/users",
        root,
        Some(json!({"name": "bad name", "role": "analyst", "password": "x"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "name");
    let r = call(
        &s,
        Method::POST,
        "/api/users",
        root,
        Some(json!({"name": "x", "role": "boss", "password": "long enough"})),
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "role");

    let r = login(&s, "ana", "ana-password").await;
    assert_eq!(r.status(), StatusCode::OK);
    let (ana, _) = session_of(&r);
    let ana = ("cookie", ana.as_str());
    let me: Value = call(&s, Method::GET, "/api/me", ana, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me, json!({"name": "ana", "role": "analyst"}));
    let r = call(&s, Method::PUT, "/api/exclusions", ana, Some(json!([]))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = call(&s, Method::GET, "/api/users", ana, None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Demotion takes effect on the open session.
    let r = call(
        &s,
        Method::PATCH,
        "/api/users/ana",
        root,
        Some(json!({"role": "readonly"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = call(&s, Method::PUT, "/api/exclusions", ana, Some(json!([]))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The last admin stays admin; another admin's password is theirs.
    let r = call(
        &s,
        Method::PATCH,
        "/api/users/root",
        root,
        Some(json!({"role": "analyst"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    s.add_user("root2", Role::Admin, "root2-password");
    let r = call(
        &s,
        Method::PATCH,
        "/api/users/root2",
        root,
        Some(json!({"password": "new-password"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = call(
        &s,
        Method::PATCH,
        "/api/users/ana",
        root,
        Some(json!({"password": "ana-new-password"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        login(&s, "ana", "ana-password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&s, "ana", "ana-new-password").await.status(),
        StatusCode::OK
    );

    // Logout ends the session.
    let r = call(&s, Method::POST, "/api/logout", ana, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        call(&s, Method::GET, "/api/me", ana, None).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Tokens: the secret once, hashed at rest, last_used at most once a minute.
    let r = call(
        &s,
        Method::POST,
        "/api/tokens",
        root,
        Some(json!({"name": "siem", "role": "readonly"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let t: Value = r.json().await.unwrap();
    let secret = t["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("otw_") && secret.len() == 47);
    let id = t["id"].as_u64().unwrap();
    let list: Value = call(&s, Method::GET, "/api/tokens", root, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(!list.to_string().contains(&secret[4..]));
    assert!(list.to_string().contains("siem"));
    assert!(s.store.tokens().unwrap()[0].last_used.is_none());
    let tok = ("authorization", secret.as_str());
    assert_eq!(
        call(&s, Method::GET, "/api/me", tok, None).await.status(),
        StatusCode::OK
    );
    let first = s
        .store
        .tokens()
        .unwrap()
        .into_iter()
        .find(|t| t.id == id)
        .unwrap()
        .last_used;
    assert!(first.is_some());
    assert_eq!(
        call(&s, Method::GET, "/api/status", tok, None)
            .await
            .status(),
        StatusCode::OK
    );
    let second = s
        .store
        .tokens()
        .unwrap()
        .into_iter()
        .find(|t| t.id == id)
        .unwrap()
        .last_used;
    assert_eq!(first, second);
    let r = call(
        &s,
        Method::POST,
        "/api/tokens",
        root,
        Some(json!({"name": "siem", "role": "readonly"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = call(&s, Method::DELETE, &format!("/api/tokens/{id}"), root, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        call(&s, Method::GET, "/api/me", tok, None).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let r = call(&s, Method::DELETE, "/api/users/ana", root, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = call(&s, Method::DELETE, "/api/users/root", root, None).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Every successful change is in the audit trail, with its actor.
    let log: Vec<Value> = call(&s, Method::GET, "/api/audit?limit=100", root, None)
        .await
        .json()
        .await
        .unwrap();
    let has = |actor: &str, action: &str, target: &str| {
        log.iter()
            .any(|r| r["actor"] == actor && r["action"] == action && r["target"] == target)
    };
    assert!(has("root", "session.login", "root"), "{log:#?}");
    assert!(has("root", "user.add", "ana"));
    assert!(has("root", "user.edit", "ana"));
    assert!(has("ana", "exclusions.set", "exclusions"));
    assert!(has("ana", "session.logout", "ana"));
    assert!(has("root", "token.create", "siem"));
    assert!(has("root", "token.delete", &id.to_string()));
    assert!(has("root", "user.delete", "ana"));
    // Refused requests are not audited.
    assert!(
        !log.iter()
            .any(|r| r["action"] == "user.edit" && r["target"] == "root2")
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire() {
    let s = start(
        ApiConfig {
            session_ttl_secs: 1,
            ..cfg()
        },
        false,
    )
    .await;
    s.add_user("bob", Role::Readonly, "bob-password");
    let r = login(&s, "bob", "bob-password").await;
    let (cookie, set) = session_of(&r);
    assert!(set.contains("Max-Age=1"));
    assert!(!set.contains("Secure"));
    let bob = ("cookie", cookie.as_str());
    assert_eq!(
        call(&s, Method::GET, "/api/me", bob, None).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        call(&s, Method::GET, "/api/me", bob, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The expired session was removed from the store.
    let hash = otwatch_api::auth::sha256_hex(cookie.trim_start_matches("otwatch_session="));
    assert!(s.store.session(&hash).unwrap().is_none());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited_per_user_and_address() {
    let s = start(cfg(), false).await;
    s.add_user("bob", Role::Analyst, "bob-password");
    s.add_user("eve", Role::Analyst, "eve-password");
    for _ in 0..3 {
        assert_eq!(
            login(&s, "bob", "wrong").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = login(&s, "bob", "bob-password").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 300);
    assert!(is_json(&r));
    // Another user from the same address is not blocked.
    assert_eq!(
        login(&s, "eve", "eve-password").await.status(),
        StatusCode::OK
    );
    // Unknown users answer like wrong passwords.
    assert_eq!(
        login(&s, "nobody", "whatever").await.status(),
        StatusCode::UNAUTHORIZED
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_pass_through_the_sensor() {
    let s = start(cfg(), false).await;
    let admin = s.add_token("ad", Role::Admin);
    let analyst = s.add_token("an", Role::Analyst);
    let ad = ("authorization", admin.as_str());
    let an = ("authorization", analyst.as_str());

    let rule = json!([{ "name": "maintenance", "titles": ["Unauthorized PLC Programming"] }]);
    let r = call(&s, Method::PUT, "/api/exclusions", an, Some(rule.clone())).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), rule);
    let r = call(
        &s,
        Method::PUT,
        "/api/exclusions",
        an,
        Some(json!([{ "name": "" }])),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "rules");
    let r = call(
        &s,
        Method::PUT,
        "/api/exclusions",
        an,
        Some(json!({"not": "a list"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = call(
        &s,
        Method::PUT,
        "/api/custom-rules",
        an,
        Some(json!([{ "name": "r1" }])),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = call(&s, Method::GET, "/api/custom-rules", an, None).await;
    assert_eq!(r.json::<Value>().await.unwrap()[0]["name"], "r1");

    let r = call(
        &s,
        Method::PUT,
        "/api/settings/alerts",
        ad,
        Some(json!({"engines": {"anomaly": false}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = call(
        &s,
        Method::PUT,
        "/api/settings/alerts",
        ad,
        Some(json!({"engines": {"nonsense": false}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = call(
        &s,
        Method::PUT,
        "/api/learning",
        ad,
        Some(json!({"learning": false})),
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["learning"], false);
    let r = call(&s, Method::GET, "/api/learning", an, None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["learning"], false);

    let r = call(
        &s,
        Method::PUT,
        "/api/subnets",
        ad,
        Some(json!({"subnets": ["10.0.0.0/8"]})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    let r = s
        .client
        .put(s.url("/api/ti/feed-1"))
        .header(ad.0, ad.1)
        .body("10.9.9.9\nevil.example\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = call(&s, Method::GET, "/api/ti", an, None).await;
    assert_eq!(r.json::<Value>().await.unwrap()[0]["indicators"], 2);
    let r = s
        .client
        .put(s.url("/api/ti/bad%20name"))
        .header(ad.0, ad.1)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = call(&s, Method::DELETE, "/api/ti/feed-1", ad, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = call(&s, Method::DELETE, "/api/ti/feed-1", ad, None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Replay: a capture is streamed to a file and handed to the sensor.
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1];
    pcap.resize(5000, 0);
    let r = s
        .client
        .post(s.url("/api/replay"))
        .header(ad.0, ad.1)
        .body(pcap.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let replays = s.sensor.replays();
    assert_eq!(replays.len(), 1);
    assert_eq!(std::fs::read(&replays[0]).unwrap(), pcap);
    std::fs::remove_file(&replays[0]).unwrap();
    let r = s
        .client
        .post(s.url("/api/replay"))
        .header(ad.0, ad.1)
        .body("GET / HTTP/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = s
        .client
        .post(s.url("/api/replay"))
        .header(ad.0, ad.1)
        .body(vec![0xd4u8; 200_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(is_json(&r));
    // Over the cap without a Content-Length (chunked).
    let chunks: Vec<Chunk> = (0..50)
        .map(|_| Ok(hyper::body::Frame::data(bytes_of(vec![0xd4u8; 4096]))))
        .collect();
    let body = reqwest::Body::wrap(http_body_util::StreamBody::new(futures_stream(chunks)));
    let r = s
        .client
        .post(s.url("/api/replay"))
        .header(ad.0, ad.1)
        .body(body)
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(s.sensor.replays().len(), 1);

    let log = s.store.audit_log(100).unwrap();
    for action in [
        "exclusions.set",
        "custom_rules.set",
        "settings.alerts",
        "learning.set",
        "subnets.set",
        "ti.put",
        "ti.delete",
        "replay.start",
    ] {
        assert!(
            log.iter().any(|r| r.action == action),
            "{action} not audited"
        );
    }
    s.stop().await;
}

type Chunk = Result<hyper::body::Frame<axum::body::Bytes>, std::io::Error>;

fn bytes_of(v: Vec<u8>) -> axum::body::Bytes {
    axum::body::Bytes::from(v)
}

/// A stream of body frames (sent chunked, without a Content-Length).
fn futures_stream(
    items: Vec<Chunk>,
) -> impl futures_core::Stream<Item = Chunk> + Send + Sync + 'static {
    struct It(std::vec::IntoIter<Chunk>);
    impl futures_core::Stream for It {
        type Item = Chunk;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    It(items.into_iter())
}

/// Method, path, JSON body, extra headers.
type Case<'a> = (Method, String, Option<&'a str>, Vec<(&'a str, Vec<u8>)>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_never_gives_a_500() {
    let s = start(cfg(), false).await;
    let admin = s.add_token("ad", Role::Admin);
    let long = format!("/api/users/{}", "a".repeat(5000));
    let cases: Vec<Case> = vec![
        (Method::DELETE, "/api/tokens/abc".into(), None, vec![]),
        (Method::DELETE, "/api/tokens/-1".into(), None, vec![]),
        (
            Method::DELETE,
            "/api/tokens/99999999999999999999999".into(),
            None,
            vec![],
        ),
        (Method::DELETE, "/api/users/%ff%fe".into(), None, vec![]),
        (Method::DELETE, long.clone(), None, vec![]),
        (Method::GET, "/api/audit?limit=x".into(), None, vec![]),
        (
            Method::GET,
            "/api/audit?limit=99999999999999999999999".into(),
            None,
            vec![],
        ),
        (Method::GET, "/api/audit?limit=0".into(), None, vec![]),
        (Method::GET, "/api/audit?nope=1".into(), None, vec![]),
        (Method::GET, "/api//users".into(), None, vec![]),
        (Method::GET, "/api/users/".into(), None, vec![]),
        (
            Method::PATCH,
            "/api/users/x".into(),
            Some("{\"role\": null}"),
            vec![],
        ),
        (
            Method::PATCH,
            "/api/users/x".into(),
            Some("{\"role\": [1]}"),
            vec![],
        ),
        (
            Method::POST,
            "/api/users".into(),
            Some("{\"name\": \"\\u0000\", \"role\": \"admin\", \"password\": \"12345678\"}"),
            vec![],
        ),
        (
            Method::POST,
            "/api/tokens".into(),
            Some("{\"name\": \"t\", \"role\": \"admin\", \"x\": {}}"),
            vec![],
        ),
        (
            Method::PUT,
            "/api/learning".into(),
            Some("{\"learning\": \"yes\"}"),
            vec![],
        ),
        (
            Method::PUT,
            "/api/settings/alerts".into(),
            Some("{\"types\": {\"x\": {\"enabled\": 3}}}"),
            vec![],
        ),
        (
            Method::PUT,
            "/api/settings/alerts".into(),
            Some(
                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
            ),
            vec![],
        ),
        (
            Method::PUT,
            "/api/exclusions".into(),
            Some("[{\"name\": \"r\", \"windows\": [{\"from\": \"25:00\"}]}]"),
            vec![],
        ),
        (
            Method::PUT,
            "/api/ti/x".into(),
            None,
            vec![("content-type", b"text/plain".to_vec())],
        ),
        (
            Method::GET,
            "/api/me".into(),
            None,
            vec![("authorization", b"Bearer".to_vec())],
        ),
        (
            Method::GET,
            "/api/me".into(),
            None,
            vec![("authorization", vec![0xff, 0xfe])],
        ),
        (
            Method::GET,
            "/api/me".into(),
            None,
            vec![("cookie", b"otwatch_session=; otwatch_session=\"".to_vec())],
        ),
        (
            Method::POST,
            "/api/login".into(),
            Some("{\"name\": \"x\", \"password\": \"\"}"),
            vec![],
        ),
        (
            Method::POST,
            "/api/logout".into(),
            None,
            vec![("cookie", vec![b'a'; 3000])],
        ),
        (Method::GET, "/api/openapi.json".into(), None, vec![]),
    ];
    for (method, path, body, headers) in cases {
        let mut req = s.client.request(method.clone(), s.url(&path));
        let has_auth = headers
            .iter()
            .any(|(h, _)| *h == "authorization" || *h == "cookie");
        if !has_auth {
            req = req.header("authorization", &admin);
        }
        for (h, v) in headers {
            req = req.header(h, reqwest::header::HeaderValue::from_bytes(&v).unwrap());
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        assert!(status.as_u16() < 500, "{method} {path}: {status}");
        if !status.is_success() {
            assert!(is_json(&r), "{method} {path}: {status} not JSON");
        }
    }
    let r = call(
        &s,
        Method::GET,
        "/api/audit?limit=x",
        ("authorization", &admin),
        None,
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "limit");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route() {
    let s = start(cfg(), false).await;
    let ro = s.add_token("ro", Role::Readonly);
    let r = call(
        &s,
        Method::GET,
        "/api/openapi.json",
        ("authorization", &ro),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for route in route_table() {
        let op = &doc["paths"][route.path][route.method.to_lowercase()];
        assert!(
            op["responses"].is_object(),
            "{} {}",
            route.method,
            route.path
        );
        let role = route.min_role.map_or("public", Role::as_str);
        assert_eq!(op["x-min-role"], role);
    }
    s.stop().await;
}
