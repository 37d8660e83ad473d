//! A relying party's side of the tests: the `openidconnect` crate's HTTP client wired to the real
//! App in this process, and the helpers every OpenID test reads its answers with.
#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;
use std::pin::Pin;

use actix_web::test::{call_service, read_body, TestRequest};

pub const ISSUER: &str = "http://localhost:8080";
pub const CALLBACK: &str = "http://localhost:9000/callback";

#[derive(Debug)]
pub struct Unreachable(String);
impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Unreachable {}

pub type Resp = Result<openidconnect::HttpResponse, Unreachable>;

/// The relying party's HTTP client: every request goes to the real App in this process.
pub fn client_for<'a, S, B>(
    app: &'a S,
) -> impl Fn(openidconnect::HttpRequest) -> Pin<Box<dyn Future<Output = Resp> + 'a>> + 'a
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody + 'a,
{
    move |req: openidconnect::HttpRequest| {
        Box::pin(async move {
            let uri = req.uri().clone();
            let path = uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
            let method = actix_web::http::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
            let mut t = TestRequest::default().method(method).uri(&path).peer_addr("192.0.2.20:40000".parse().unwrap());
            for (k, v) in req.headers() {
                t = t.insert_header((k.as_str(), v.to_str().unwrap()));
            }
            let resp = call_service(app, t.set_payload(req.body().clone()).to_request()).await;
            let mut out = openidconnect::http::Response::builder().status(resp.status().as_u16());
            for (k, v) in resp.headers() {
                out = out.header(k.as_str(), v.as_bytes());
            }
            let body = read_body(resp).await.to_vec();
            out.body(body).map_err(|e| Unreachable(e.to_string()))
        })
    }
}

pub fn location(headers: &actix_web::http::header::HeaderMap) -> String {
    headers.get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default()
}

pub fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap().into_iter().collect()
}

pub fn cookie_named(headers: &actix_web::http::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// A full authorization request for `client_id` with these extra or replaced parameters.
pub fn authorize_path(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), client_id.into()),
        ("redirect_uri".into(), CALLBACK.into()),
        ("scope".into(), "openid".into()),
        ("state".into(), "s-123".into()),
        ("code_challenge".into(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        ("code_challenge_method".into(), "S256".into()),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push(((*k).into(), (*v).into()));
        }
    }
    format!("/oauth2/authorize?{}", serde_urlencoded::to_string(&params).unwrap())
}

/// From an authorize answer that sends the browser to sign in (`/sign-in?flow=…`): the resume
/// path (where the server sends the browser once signed in) and the flow id.
pub fn resume_and_flow(headers: &actix_web::http::header::HeaderMap) -> (String, String) {
    let to = location(headers);
    let query = serde_urlencoded::from_str::<Vec<(String, String)>>(to.split_once('?').unwrap().1).unwrap();
    let flow = query.iter().find(|(k, _)| k == "flow").unwrap().1.clone();
    (format!("/oauth2/authorize/resume?flow={flow}"), flow)
}
