//! The webhook through the real API and a real HTTP receiver on loopback: events for
//! emergency-access sign-ins and policy saves, retried with backoff (injected clock),
//! failures on the Overview, the URL never in the audit log.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use proofup::adapters::webhook_http::HttpSender;
use proofup::service::notify::Transport;
use serde_json::{json, Value};
use time::Duration;

/// A tiny HTTP server: answers each request with the next queued status (200 when none), records what came.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<(String, Value)>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(VecDeque::new()));
        let (g, a) = (got.clone(), answers.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                let mut event_id = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if let Some(v) = lower.strip_prefix("x-proofup-event-id:") {
                        event_id = v.trim().to_owned();
                    }
                }
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let status = a.lock().unwrap().pop_front().unwrap_or(200);
                g.lock().unwrap().push((event_id, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                let _ = write!(stream, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Self { port, got, answers }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/secret-token-123", self.port)
    }
}

fn now(h: &Harness) -> time::OffsetDateTime {
    proofup::domain::clock::Clock::now(h.clock.as_ref())
}

/// The service's notification job, run at `at` (the injected clock set there) with the real
/// HTTP adapter.
fn deliver_at(
    h: &Harness,
    sender: &dyn Transport,
    at: time::OffsetDateTime,
) -> Result<u32, proofup::service::ServiceError> {
    h.clock.set(at);
    h.state.core.deliver_due(&[sender])
}

#[actix_web::test]
async fn emergency_sign_ins_and_policy_saves_are_posted_and_retried() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let rx = Receiver::start();
    let sender = HttpSender::new();

    // Validation: a clear field error, nothing stored.
    let (s, _, body, _) = call!(app, with(&admin, put("/api/settings/webhook", json!({"url": "ftp://x"}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "url");
    let (s, _, body, _) = call!(app, with(&admin, put("/api/settings/webhook", json!({"url": rx.url()}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["url"], rx.url());
    assert_eq!(body["status"]["destination"], format!("http://127.0.0.1:{}/…", rx.port));
    // The audit log names the host, not the token in the path.
    let audit = h.store.list_audit(None, 5).unwrap().items;
    let entry = audit.iter().find(|e| e.action == "settings.webhook").unwrap();
    assert!(!serde_json::to_string(entry).unwrap().contains("secret-token-123"));

    // An emergency-access account signs in: one event, delivered with its id.
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post("/api/users", json!({"username": "glass", "display_name": "Break glass", "emergency_access": true}))
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let pass = body["temporary_access_pass"]["code"].as_str().unwrap().to_owned();
    sign_in!(app, "glass", &pass);
    assert_eq!(deliver_at(&h, &sender, now(&h)).unwrap(), 1);
    {
        let got = rx.got.lock().unwrap();
        assert_eq!(got.len(), 1);
        let (id, ev) = &got[0];
        assert_eq!(ev["type"], "emergency_access.sign_in");
        assert_eq!(ev["data"]["user"], "glass");
        assert_eq!(&ev["id"], id.as_str());
    }

    // A policy save while the receiver fails: retried after 10 s, then 20 s; the Overview shows it.
    rx.answers.lock().unwrap().extend([500, 503]);
    save_policy!(
        app,
        admin,
        json!({"enforcement": "report_only", "include_all": true, "include_users": [], "include_groups": [],
               "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 14})
    );
    let t0 = now(&h);
    assert_eq!(deliver_at(&h, &sender, t0).unwrap(), 0);
    let (_, _, ov, _) = call!(app, with(&admin, get("/api/overview")));
    assert_eq!(ov["webhook"]["failing"], 1, "{ov}");
    assert_eq!(ov["webhook"]["last_error"], "HTTP 500");
    assert!(!ov.to_string().contains("secret-token-123"), "the Overview shows the host only");
    assert_eq!(deliver_at(&h, &sender, t0 + Duration::seconds(9)).unwrap(), 0);
    assert_eq!(rx.got.lock().unwrap().len(), 2, "not retried before its backoff");
    assert_eq!(deliver_at(&h, &sender, t0 + Duration::seconds(10)).unwrap(), 0);
    assert_eq!(deliver_at(&h, &sender, t0 + Duration::seconds(29)).unwrap(), 0);
    assert_eq!(deliver_at(&h, &sender, t0 + Duration::seconds(30)).unwrap(), 1);
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 4);
    assert!(
        got[1..].iter().all(|(id, ev)| ev["type"] == "policy.saved" && *id == got[1].0),
        "same event id on every try"
    );
    assert_eq!(got[3].1["data"]["version"], 1);
    assert_eq!(got[3].1["data"]["enforcement"], "report_only");
    let (_, _, ov, _) = call!(app, with(&admin, get("/api/overview")));
    assert_eq!(ov["webhook"]["pending"], 0);
    assert!(ov["webhook"]["last_delivered_at"].is_string());

    // A receiver that is down: a transport error without the URL in it.
    let (s, _, _, _) = call!(app, with(&admin, post("/api/settings/webhook/test", json!({}))));
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _, _, _) =
        call!(app, with(&admin, put("/api/settings/webhook", json!({"url": "http://127.0.0.1:9/closed"}))));
    assert_eq!(s, StatusCode::OK);
    deliver_at(&h, &sender, now(&h)).unwrap();
    let (_, _, ws, _) = call!(app, with(&admin, get("/api/settings/webhook")));
    let err = ws["status"]["last_error"].as_str().unwrap();
    assert!(err.starts_with("could not deliver"), "{err}");
    assert!(!err.contains("127.0.0.1"), "{err}");

    // Turned off: nothing more is queued.
    let (s, _, body, _) = call!(app, with(&admin, put("/api/settings/webhook", json!({"url": null}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"]["configured"], false);
    let (s, _, _, _) = call!(app, with(&admin, post("/api/settings/webhook/test", json!({}))));
    assert_eq!(s, StatusCode::CONFLICT);
}
