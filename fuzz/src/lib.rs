//! The fuzzing harness: one real Proofup app per fuzzing process — the actix `App` over a sled
//! store in a temporary directory, a signed-in Global administrator, a user and a group to aim
//! at — and the operations of its own OpenAPI document. Each fuzz input becomes one HTTP request
//! to that app; every answer must be a success or a typed 4xx JSON error, never a 5xx or a panic
//! (libfuzzer-sys aborts on a panic in any thread, which libFuzzer reports as a crash).
//!
//! The app runs on its own thread (its service type cannot be named, so it cannot be kept in a
//! static); calls go to it over a channel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::http::Method;
use actix_web::test::{call_service, init_service, read_body, TestRequest};
use arbitrary::Arbitrary;
use proofup::config::HttpConfig;
use proofup::domain::clock::SystemClock;
use proofup::http::AppState;
use proofup::store::sled::SledStore;

/// Unlikely to be guessed by the fuzzer (wrong passwords would lock a guessed account).
const ADMIN: &str = "fuzz.admin.q7x3";
const ADMIN_PASSWORD: &str = "orchid lantern fuzz 7731 quay";
/// The fuzzer's calls come from one address, the harness's own sign-ins from another, so the
/// per-address sign-in limit never keeps the harness out.
const FUZZ_PEER: &str = "192.0.2.10:50000";
const HARNESS_PEER: &str = "198.51.100.7:50000";

/// An operation of the OpenAPI document: method and path template.
#[derive(Clone, Debug)]
pub struct Operation {
    pub method: String,
    pub path: String,
}

/// What fills a path's `{id}` / `{member}` / `{kind}`.
#[derive(Arbitrary, Debug, Clone)]
pub enum Id {
    TheUser,
    TheGroup,
    TheAdmin,
    Raw(String),
}

/// Which operation, with which ids, signed in or not.
#[derive(Arbitrary, Debug, Clone)]
pub struct Target {
    pub op: u16,
    pub id: Id,
    pub member: Id,
    pub kind_is_group: bool,
    pub anonymous: bool,
}

pub struct Call {
    pub method: Method,
    pub uri: String,
    pub body: Vec<u8>,
    pub content_type: String,
    pub anonymous: bool,
}

pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

struct Known {
    ops: Vec<Operation>,
    user: String,
    group: String,
    admin: String,
}

type Job = (Call, std_mpsc::SyncSender<Answer>);

pub struct Api {
    jobs: Mutex<std_mpsc::Sender<Job>>,
    known: Known,
}

static API: OnceLock<Api> = OnceLock::new();

/// The shared app of this fuzzing process (started on first use).
pub fn api() -> &'static Api {
    API.get_or_init(start)
}

fn request(call: &Call, peer: &str, cookie: Option<&str>) -> TestRequest {
    let mut r = TestRequest::default()
        .method(call.method.clone())
        .uri(&call.uri)
        .peer_addr(peer.parse().unwrap())
        .insert_header(("content-type", call.content_type.clone()))
        .insert_header(("origin", "http://localhost:8080"))
        .insert_header(("sec-fetch-site", "same-origin"))
        .set_payload(call.body.clone());
    if let Some(c) = cookie {
        r = r.insert_header(("cookie", c.to_owned()));
    }
    r
}

fn json_call(method: Method, uri: &str, body: serde_json::Value) -> Call {
    Call {
        method,
        uri: uri.into(),
        body: body.to_string().into_bytes(),
        content_type: "application/json".into(),
        anonymous: false,
    }
}

fn cookie_of(headers: &actix_web::http::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("proofup_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

fn start() -> Api {
    let (jobs_tx, jobs_rx) = std_mpsc::channel::<Job>();
    let (known_tx, known_rx) = std_mpsc::channel::<Known>();
    std::thread::Builder::new()
        .name("fuzzed-app".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let store = Arc::new(SledStore::temporary().expect("a temporary store"));
                let clock = Arc::new(SystemClock);
                let config = HttpConfig::for_tests();
                let options = proofup::service::CoreOptions::from_config(&config);
                let secrets = proofup::domain::secretbox::SecretBox::random();
                let core = proofup::service::Core::new(store.clone(), clock.clone(), secrets, &options);
                let state = AppState::new(Arc::new(core), config);
                let app = init_service(proofup::http::app(state)).await;

                macro_rules! send {
                    ($call:expr, $peer:expr, $cookie:expr) => {{
                        let resp = call_service(&app, request(&$call, $peer, $cookie).to_request()).await;
                        let status = resp.status().as_u16();
                        let headers = resp.headers().clone();
                        let body = read_body(resp).await.to_vec();
                        (status, headers, body)
                    }};
                }
                let token = proofup::service::setup::Bootstrap::new(store.as_ref(), clock.as_ref()).issue_setup_token().unwrap();
                let setup = json_call(
                    Method::POST,
                    "/api/setup",
                    serde_json::json!({"token": token, "username": ADMIN, "display_name": "Fuzz", "password": ADMIN_PASSWORD}),
                );
                let (s, _, b) = send!(setup, HARNESS_PEER, None);
                assert_eq!(s, 201, "setup: {}", String::from_utf8_lossy(&b));
                let sign_in = json_call(
                    Method::POST,
                    "/api/auth/sign-in",
                    serde_json::json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
                );
                let (s, h, b) = send!(sign_in, HARNESS_PEER, None);
                assert_eq!(s, 200, "sign-in: {}", String::from_utf8_lossy(&b));
                let mut cookie = cookie_of(&h).expect("a session cookie");
                let id_of = |b: &[u8], path: &[&str]| {
                    let mut v: serde_json::Value = serde_json::from_slice(b).unwrap();
                    for p in path {
                        v = v[*p].take();
                    }
                    v.as_str().unwrap().to_owned()
                };
                let (_, _, me) = send!(json_call(Method::GET, "/api/auth/me", serde_json::json!({})), HARNESS_PEER, Some(&cookie));
                let admin = id_of(&me, &["id"]);
                let (s, _, b) = send!(
                    json_call(Method::POST, "/api/users", serde_json::json!({"username": "eve", "display_name": "Eve"})),
                    HARNESS_PEER,
                    Some(&cookie)
                );
                assert_eq!(s, 201, "user: {}", String::from_utf8_lossy(&b));
                let user = id_of(&b, &["user", "id"]);
                let (s, _, b) = send!(
                    json_call(Method::POST, "/api/groups", serde_json::json!({"name": "Staff", "description": ""})),
                    HARNESS_PEER,
                    Some(&cookie)
                );
                assert_eq!(s, 201, "group: {}", String::from_utf8_lossy(&b));
                let group = id_of(&b, &["id"]);
                let (_, _, doc) =
                    send!(json_call(Method::GET, "/api/openapi.json", serde_json::json!({})), HARNESS_PEER, None);
                let doc: serde_json::Value = serde_json::from_slice(&doc).unwrap();
                let mut ops = Vec::new();
                for (path, item) in doc["paths"].as_object().unwrap() {
                    // Sign-out ends the harness's session whatever the body says (on purpose).
                    if !path.starts_with("/api/") || path == "/api/auth/sign-out" {
                        continue;
                    }
                    for method in item.as_object().unwrap().keys() {
                        ops.push(Operation { method: method.to_uppercase(), path: path.clone() });
                    }
                }
                known_tx.send(Known { ops, user, group, admin }).unwrap();

                while let Ok((call, reply)) = jobs_rx.recv() {
                    let c = (!call.anonymous).then_some(cookie.as_str());
                    let (status, _, body) = send!(call, FUZZ_PEER, c);
                    if status == 401 && !call.anonymous {
                        // A fuzzed call may end the session (a password change, say): sign in again.
                        let (s, h, _) = send!(sign_in, HARNESS_PEER, None);
                        if s == 200 {
                            cookie = cookie_of(&h).unwrap_or(cookie);
                        }
                    }
                    let _ = reply.send(Answer { status, body });
                }
            });
        })
        .expect("the app thread");
    let known = known_rx.recv().expect("the app started");
    Api { jobs: Mutex::new(jobs_tx), known }
}

/// Percent-encodes what may not stand in a URI as it is (keeps `%`, so broken escapes get through).
pub fn encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~%".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Api {
    pub fn operations(&self) -> &[Operation] {
        &self.known.ops
    }

    /// The operation and path a target names, among operations with (`get`) or without a body.
    pub fn resolve(&self, t: &Target, get: bool) -> Option<(Method, String)> {
        let ops: Vec<&Operation> = self.known.ops.iter().filter(|o| (o.method == "GET") == get).collect();
        if ops.is_empty() {
            return None;
        }
        let op = ops[t.op as usize % ops.len()];
        let fill = |id: &Id| match id {
            Id::TheUser => self.known.user.clone(),
            Id::TheGroup => self.known.group.clone(),
            Id::TheAdmin => self.known.admin.clone(),
            Id::Raw(s) => encode(s, b"!$&'()*+,;=:@"),
        };
        let path = op
            .path
            .replace("{id}", &fill(&t.id))
            .replace("{member}", &fill(&t.member))
            .replace("{kind}", if t.kind_is_group { "group" } else { "user" });
        Some((Method::from_bytes(op.method.as_bytes()).ok()?, path))
    }

    /// Sends one call and checks the answer: never a 5xx; a refusal is a typed JSON error.
    pub fn check(&self, call: Call) {
        if actix_web::http::Uri::try_from(call.uri.as_str()).is_err() {
            return; // an HTTP parser would refuse it before the app sees it
        }
        let label = format!("{} {}", call.method, call.uri);
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.jobs.lock().unwrap().send((call, tx)).expect("the app is running");
        let a = rx.recv().expect("the app answered (it panicked if not)");
        let body = String::from_utf8_lossy(&a.body);
        assert!(a.status < 500, "{label} → {}: {body}", a.status);
        if a.status >= 400 {
            let v: serde_json::Value = serde_json::from_slice(&a.body)
                .unwrap_or_else(|_| panic!("{label} → {} with a body that is not JSON: {body}", a.status));
            assert!(v["error"].is_string() && v["message"].is_string(), "{label} → {} untyped: {body}", a.status);
        }
    }
}

pub fn call(method: Method, uri: String, body: Vec<u8>, content_type: &str, anonymous: bool) -> Call {
    Call { method, uri, body, content_type: content_type.into(), anonymous }
}
