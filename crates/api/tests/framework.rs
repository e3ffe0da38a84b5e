//! The framework over real HTTP: public and authenticated routes, JSON
//! errors for everything axum would answer in text, body limit, TLS.

mod common;

use common::start;
use otwatch_api::ApiConfig;
use otwatch_store::Role;
use reqwest::StatusCode;
use serde_json::Value;

fn cfg() -> ApiConfig {
    ApiConfig {
        max_body: 4096,
        secure_cookies: false,
        ..ApiConfig::default()
    }
}

async fn error_of(resp: reqwest::Response) -> Value {
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    let v: Value = resp.json().await.unwrap();
    assert!(v["error"]["code"].is_string(), "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    v["error"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_authenticated_and_unknown_routes() {
    let s = start(cfg(), false).await;
    let r = s.client.get(s.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["cache-control"], "no-store");

    let r = s.client.get(s.url("/api/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(r).await["code"], "unauthorized");

    let token = s.add_token("ci", Role::Readonly);
    for header in [token.clone(), format!("Bearer {token}")] {
        let r = s
            .client
            .get(s.url("/api/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let me: Value = r.json().await.unwrap();
        assert_eq!(me["name"], "token:ci");
        assert_eq!(me["role"], "readonly");
    }
    let r = s
        .client
        .get(s.url("/api/me"))
        .header("authorization", "otw_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = s
        .client
        .get(s.url("/api/nothing/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_of(r).await["code"], "not_found");

    let r = s.client.delete(s.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers()["allow"].to_str().unwrap().contains("GET"));
    error_of(r).await;

    let r = s
        .client
        .get(s.url("/metrics"))
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(text.contains("otwatch_alerts_open 0"), "{text}");
    assert!(
        text.contains("otwatch_api_requests_total{class=\"4xx\"}"),
        "{text}"
    );
    assert!(
        text.contains("otwatch_api_request_duration_seconds_count"),
        "{text}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_json_errors_naming_the_field() {
    let s = start(cfg(), false).await;
    let login = s.url("/api/login");
    let cases: &[(&str, &str, StatusCode, Option<&str>)] = &[
        (
            "application/json",
            r#"{"name": "a"}"#,
            StatusCode::BAD_REQUEST,
            Some("password"),
        ),
        (
            "application/json",
            r#"{"name": 1, "password": "x"}"#,
            StatusCode::BAD_REQUEST,
            Some("name"),
        ),
        (
            "application/json",
            r#"{"name": "a", "password": "x", "extra": 1}"#,
            StatusCode::BAD_REQUEST,
            Some("extra"),
        ),
        (
            "application/json",
            r#"{"name": "a", "#,
            StatusCode::BAD_REQUEST,
            Some("body"),
        ),
        (
            "application/json",
            "",
            StatusCode::BAD_REQUEST,
            Some("body"),
        ),
        (
            "application/json",
            "\"text\"",
            StatusCode::BAD_REQUEST,
            Some("body"),
        ),
        (
            "text/plain",
            r#"{"name": "a", "password": "x"}"#,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
    ];
    for (ct, body, status, field) in cases {
        let r = s
            .client
            .post(&login)
            .header("content-type", *ct)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), *status, "{ct} {body}");
        let e = error_of(r).await;
        if let Some(f) = field {
            assert_eq!(e["field"], *f, "{body}: {e}");
        }
    }
    // No content type at all.
    let r = s.client.post(&login).body("{}").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    error_of(r).await;
    // Over the body limit.
    let big = format!(r#"{{"name": "a", "password": "{}"}}"#, "x".repeat(10_000));
    let r = s
        .client
        .post(&login)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(r).await["limit"], 4096);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_and_shuts_down() {
    let s = start(cfg(), true).await;
    assert!(s.base.starts_with("https://"));
    let r = s.client.get(s.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token = s.add_token("ci", Role::Admin);
    let r = s
        .client
        .get(s.url("/api/me"))
        .header("authorization", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Plain HTTP to the TLS port gets no answer.
    let plain = reqwest::Client::new();
    let url = s.base.replace("https://", "http://");
    assert!(plain.get(format!("{url}/api/health")).send().await.is_err());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_missing_from_the_table_is_refused() {
    use axum::routing::{get, post};
    use otwatch_api::{ApiState, RouteSpec, assemble};
    use std::sync::Arc;
    use tower::ServiceExt;

    common::install_provider();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(otwatch_store::SqliteStore::open(dir.path()).unwrap());
    let sensor = Arc::new(common::TestSensor::new(store.clone()));
    let state = ApiState {
        store,
        control: sensor,
        config: Arc::new(cfg()),
    };
    let table = [RouteSpec::new("GET", "/declared", None, "Declared")];
    let routes = axum::Router::new()
        .route(
            "/declared",
            get(|| async { "ok" }).post(|| async { "posted" }),
        )
        .route("/undeclared", post(|| async { "secret" }));
    let app = assemble(state, &table, vec![routes]);
    let status = |method: &str, uri: &str| {
        let app = app.clone();
        let req = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        async move { app.oneshot(req).await.unwrap().status() }
    };
    assert_eq!(status("GET", "/declared").await, StatusCode::OK);
    assert_eq!(status("HEAD", "/declared").await, StatusCode::OK);
    // Routed for POST, but the table only declares GET.
    assert_eq!(
        status("POST", "/declared").await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(status("POST", "/undeclared").await, StatusCode::NOT_FOUND);
}

/// Body frames from a channel, so the test decides when each arrives.
struct ChannelBody(tokio::sync::mpsc::Receiver<Vec<u8>>);

impl futures_core::Stream for ChannelBody {
    type Item = Result<hyper::body::Frame<axum::body::Bytes>, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0
            .poll_recv(cx)
            .map(|o| o.map(|v| Ok(hyper::body::Frame::data(axum::body::Bytes::from(v)))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_request_in_flight_finish() {
    for tls in [false, true] {
        let mut s = start(cfg(), tls).await;
        let token = s.add_token("ad", Role::Admin);
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let body = reqwest::Body::wrap(http_body_util::StreamBody::new(ChannelBody(rx)));
        let req = s
            .client
            .post(s.url("/api/replay"))
            .header("authorization", token)
            .body(body)
            .send();
        let pending = tokio::spawn(req);
        tx.send(vec![0xd4, 0xc3, 0xb2, 0xa1]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        s.begin_stop();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        tx.send(vec![0; 100]).await.unwrap();
        drop(tx);
        let r = pending.await.unwrap().unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED, "tls {tls}");
        let replays = s.sensor.replays();
        assert_eq!(std::fs::metadata(&replays[0]).unwrap().len(), 104);
        std::fs::remove_file(&replays[0]).unwrap();
        s.stop().await;
    }
}
