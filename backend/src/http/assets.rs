//! The portal's static files, embedded in the binary at build time.
//!
//! - any GET that is not an API path and not a file gets a page (deep links work): `admin.html`
//!   (the administrators' bundle) for the pages only administrators use, `index.html` (the
//!   everyday bundle) for every other (`proofup_shared::portal`);
//! - hashed assets are cached for a year, `index.html` is revalidated every time;
//! - brotli or gzip variants (made at build time) are served when accepted.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "$OUT_DIR/ui"]
struct Ui;

const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Proofup</title></head>\
<body style=\"font-family:sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5\">\
<h1>Proofup is running, but its portal was not built into this binary</h1>\
<p>The API works (see <a href=\"/api/openapi.json\">/api/openapi.json</a>). To get the portal, build it and then the server:</p>\
<pre>make run</pre><p>or by hand: <code>make ui</code> then <code>cargo build --release -p proofup</code>.</p></body></html>";

/// SHA-256 (base64) of each inline `<script>` in the HTML: what the CSP allows to run.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    use base64::Engine as _;
    use sha2::Digest;
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(open_end) = rest[start..].find('>') else { break };
        let tag = &rest[start..start + open_end];
        let body_start = start + open_end + 1;
        let Some(close) = rest[body_start..].find("</script>") else { break };
        if !tag.contains(" src=") {
            let body = &rest[body_start..body_start + close];
            out.push(base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body.as_bytes())));
        }
        rest = &rest[body_start + close..];
    }
    out
}

/// The Content-Security-Policy for every response: the portal's own files, its wasm
/// (`'wasm-unsafe-eval'`), trunk's inline loader by hash, and nothing else.
pub fn content_security_policy() -> &'static str {
    static CSP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        let hashes: String = ["index.html", "admin.html"]
            .iter()
            .filter_map(|page| Ui::get(page))
            .flat_map(|f| inline_script_hashes(&String::from_utf8_lossy(&f.data)))
            .map(|h| format!(" 'sha256-{h}'"))
            .collect();
        format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
             style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
             base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
    })
}

/// The portal's stylesheet (its hashed name in the built `index.html`), for the provider's own
/// pages (errors, sign-out), so they look like the rest of Proofup.
pub fn stylesheet_href() -> &'static str {
    static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HREF.get_or_init(|| {
        let html = Ui::get("index.html").map(|f| String::from_utf8_lossy(&f.data).into_owned()).unwrap_or_default();
        html.split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .find(|h| h.ends_with(".css"))
            .unwrap_or_default()
            .to_owned()
    })
}

pub fn ui_built() -> bool {
    Ui::get("index.html").is_some()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Trunk names built files `name-<hash>[_bg].ext`, the hash a 64-bit number in hex
/// without leading zeros (so usually 16 digits, sometimes fewer).
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split(['-', '_', '.'])
        .any(|part| (12..=16).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn accepts(req: &HttpRequest, coding: &str) -> bool {
    req.headers().get_all(header::ACCEPT_ENCODING).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|c| {
        let mut parts = c.trim().split(';');
        parts.next().is_some_and(|n| n.trim().eq_ignore_ascii_case(coding))
            && !parts.any(|p| p.trim().replace(' ', "") == "q=0")
    })
}

pub async fn serve(req: HttpRequest) -> HttpResponse {
    // A route's path under a method it does not have (`GET /oauth2/token`): 405, not the portal.
    if let Some(resp) = super::methods::not_allowed(&req) {
        return resp;
    }
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD {
        return HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, "GET, HEAD")).finish();
    }
    let path = req.path().trim_start_matches('/');
    let (path, is_file) = match path {
        "" => ("index.html", false),
        p if Ui::get(p).is_some() && !p.ends_with(".gz") && !p.ends_with(".br") && !p.ends_with(".html") => (p, true),
        p if proofup_shared::portal::is_admin_path(p) && Ui::get("admin.html").is_some() => ("admin.html", false),
        _ => ("index.html", false),
    };
    if !is_file && !ui_built() {
        return HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .content_type("text/html; charset=utf-8")
            .body(NOT_BUILT);
    }
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CONTENT_TYPE, content_type(path)));
    resp.insert_header((header::VARY, "Accept-Encoding"));
    let cache = if is_file && is_hashed(path) { "public, max-age=31536000, immutable" } else { "no-cache" };
    resp.insert_header((header::CACHE_CONTROL, cache));
    for (coding, suffix) in [("br", "br"), ("gzip", "gz")] {
        if accepts(&req, coding) {
            if let Some(f) = Ui::get(&format!("{path}.{suffix}")) {
                resp.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static(coding)));
                // Already compressed: keep actix from touching it.
                return resp.body(f.data.into_owned());
            }
        }
    }
    match Ui::get(path) {
        Some(f) => resp.body(f.data.into_owned()),
        None => HttpResponse::NotFound().finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_skipped() {
        let html = "<script type=\"module\">\nlet a = 1;\n</script><script src=\"/x.js\"></script><script>b()</script>";
        let h = inline_script_hashes(html);
        assert_eq!(h.len(), 2);
        // printf '\nlet a = 1;\n' | openssl dgst -sha256 -binary | base64
        assert_eq!(h[0], "wCpX6PRaV2tYabHPuD0EVrhGyeiYQpOhQOJ8OhOtDwA=");
    }

    #[test]
    fn hashed_names() {
        assert!(is_hashed("proofup-frontend-5c1f3e9a0b2d4e6f_bg.wasm"));
        assert!(is_hashed("style-0123456789abcdef.css"));
        assert!(is_hashed("proofup-frontend-22752df1e295aba_bg.wasm"), "a leading zero dropped by trunk");
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("favicon.svg"));
    }
}
