//! Helpers for the browser tests: start the real binary and chromedriver on free
//! ports, drive Chromium at http://localhost (not an IP: WebAuthn needs it), and
//! save a screenshot of each page under `target/e2e-screenshots/`.
#![allow(clippy::unwrap_used)]

pub mod apache;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use thirtyfour::prelude::*;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The server binary: `PROOFUP_BIN`, or the workspace's debug build.
pub fn proofup_bin() -> PathBuf {
    std::env::var_os("PROOFUP_BIN").map(PathBuf::from).unwrap_or_else(|| workspace().join("target/debug/proofup"))
}

pub fn screenshot_dir() -> PathBuf {
    let d = workspace().join("target/e2e-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some((out.split(' ').nth(1)?.parse().ok()?, out))
}

/// A child process that is killed when the test ends, however it ends.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Portal {
    pub port: u16,
    pub setup_url: String,
    _proc: Proc,
    _dir: tempfile::TempDir,
    pub log: Arc<Mutex<String>>,
}

impl Portal {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// The server with these extra command-line arguments (e.g. the mail settings).
    pub fn start_with(extra: &[String]) -> Self {
        let bin = proofup_bin();
        assert!(
            bin.exists(),
            "{} not found: run `make test` (it builds the portal and the server first)",
            bin.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = Command::new(&bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        for pipe in
            [Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>, Box::new(child.stderr.take().unwrap())]
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    log.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        let proc = Proc(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(http_get(port, "/readyz"), Some((200, _))) {
            assert!(Instant::now() < deadline, "proofup not ready:\n{}", log.lock().unwrap());
            std::thread::sleep(Duration::from_millis(100));
        }
        let (_, index) = http_get(port, "/").unwrap();
        assert!(index.contains("_bg.wasm"), "{} was built without the portal UI: run `make test`", bin.display());
        let out = Command::new(&bin)
            .args(["setup-url", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        let setup_url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(setup_url.starts_with(&format!("http://localhost:{port}/setup?token=")), "{setup_url}");
        Self { port, setup_url, _proc: proc, _dir: dir, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }
}

pub struct Browser {
    pub driver: WebDriver,
    _chromedriver: Proc,
}

impl Browser {
    pub async fn start(width: u32, height: u32) -> Self {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver not found: run `make test` (installs Debian's chromium-driver)");
        let proc = Proc(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary("/usr/bin/chromium").unwrap();
        for arg in [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            &format!("--window-size={width},{height}"),
        ] {
            caps.add_arg(arg).unwrap();
        }
        let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await.unwrap();
        // Record Content-Security-Policy violations on every page, before its own scripts run.
        driver
            .cdp()
            .send_raw(
                "Page.addScriptToEvaluateOnNewDocument",
                serde_json::json!({"source": "window.__csp = []; document.addEventListener('securitypolicyviolation', \
                    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"}),
            )
            .await
            .unwrap();
        // Headless Chromium will not make a window narrower than ~500 px: a phone's width is
        // emulated (as DevTools' device mode does), so media queries see the real 390 px.
        if width < 500 {
            driver
                .cdp()
                .send_raw(
                    "Emulation.setDeviceMetricsOverride",
                    serde_json::json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": true}),
                )
                .await
                .unwrap();
        }
        Self { driver, _chromedriver: proc }
    }

    /// Fails unless every element matching `css` (and everything inside it) lies within the
    /// window's width and scrolls nothing sideways: nothing cut off, no horizontal scrollbar.
    pub async fn assert_fits(&self, css: &str) {
        let r = self
            .driver
            .execute(
                "const w = document.documentElement.clientWidth; const bad = [];\
                 const all = document.querySelectorAll(arguments[0]);\
                 if (all.length === 0) bad.push('nothing matches');\
                 for (const root of all) {\
                   if (root.scrollWidth > root.clientWidth + 1) bad.push(root.className + ' scrolls ' + root.scrollWidth + ' > ' + root.clientWidth);\
                   for (const el of [root, ...root.querySelectorAll('*')]) {\
                     const r = el.getBoundingClientRect();\
                     if (r.width > 0 && (r.right > w + 1 || r.left < -1)) bad.push(el.tagName + '.' + el.className + ' ' + (el.textContent || '').trim().slice(0, 30) + ' at ' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + w);\
                   }\
                 }\
                 if (document.documentElement.scrollWidth > w + 1) bad.push('page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + w);\
                 return bad;",
                vec![serde_json::json!(css)],
            )
            .await
            .unwrap();
        let bad = r.json().as_array().cloned().unwrap_or_default();
        assert!(bad.is_empty(), "`{css}` does not fit the window: {bad:?}");
    }

    /// The `/api/` requests this page made, as (status, path), from the Resource Timing entries
    /// (status 0 when the browser did not record one).
    pub async fn api_requests(&self) -> Vec<(u64, String)> {
        let r = self
            .driver
            .execute(
                "return performance.getEntriesByType('resource')\
                   .filter(e => e.name.includes('/api/'))\
                   .map(e => [e.responseStatus || 0, new URL(e.name).pathname]);",
                vec![],
            )
            .await
            .unwrap();
        r.json()
            .as_array()
            .map(|a| {
                a.iter().map(|v| (v[0].as_u64().unwrap_or(0), v[1].as_str().unwrap_or_default().to_owned())).collect()
            })
            .unwrap_or_default()
    }

    /// Fails if the page reported any Content-Security-Policy violation.
    pub async fn assert_no_csp_violations(&self) {
        let v = self.driver.execute("return window.__csp || ['no recorder on this page'];", vec![]).await.unwrap();
        let list = v.json().as_array().cloned().unwrap_or_default();
        assert!(list.is_empty(), "CSP violations: {list:?}");
    }

    pub async fn shot(&self, name: &str) {
        let path = screenshot_dir().join(format!("{name}.png"));
        self.driver.screenshot(&path).await.unwrap();
    }

    /// Waits (up to 15 s) for an element matching `css` whose text contains `text`.
    pub async fn wait_text(&self, css: &str, text: &str) -> WebElement {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(all) = self.driver.find_all(By::Css(css)).await {
                for el in all {
                    if el.text().await.map(|t| t.contains(text)).unwrap_or(false) {
                        return el;
                    }
                }
            }
            if Instant::now() > deadline {
                let body = self.driver.find(By::Css("body")).await.unwrap().text().await.unwrap_or_default();
                panic!("no `{css}` containing {text:?} within 15 s; page text:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 15 s) until nothing matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.driver.find_all(By::Css(css)).await.unwrap().is_empty() {
            assert!(Instant::now() < deadline, "`{css}` still there after 15 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_path(&self, path_and_query: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let u = self.driver.current_url().await.unwrap();
            let got = match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            };
            if got == path_and_query {
                return;
            }
            assert!(Instant::now() < deadline, "expected {path_and_query}, at {got}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn fill(&self, id: &str, value: &str) {
        let el = self.driver.find(By::Id(id)).await.unwrap();
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    pub async fn click_button(&self, text: &str) {
        let el = self.wait_text("button", text).await;
        self.click(&el).await;
    }

    /// Scrolls the element to the middle of the window (clear of sticky bars), then clicks it.
    pub async fn click(&self, el: &WebElement) {
        self.driver
            .execute("arguments[0].scrollIntoView({block: 'center'});", vec![el.to_json().unwrap()])
            .await
            .unwrap();
        el.click().await.unwrap();
    }

    /// Chooses `value` in the `<select>` with this id (its change handler runs, as for a person).
    pub async fn select(&self, id: &str, value: &str) {
        let el = self.driver.find(By::Id(id)).await.unwrap();
        thirtyfour::components::SelectElement::new(&el).await.unwrap().select_by_value(value).await.unwrap();
    }

    /// Waits for `css` containing `text` and clicks it.
    pub async fn click_text(&self, css: &str, text: &str) {
        let el = self.wait_text(css, text).await;
        self.click(&el).await;
    }
}

/// A code from `oathtool`, a real TOTP client, for the key as the page shows it.
pub fn oathtool(key: &str, offset: &str) -> String {
    let out = Command::new("oathtool")
        .args(["--totp", "-b", "-N", offset, &key.replace(' ', "")])
        .output()
        .expect("oathtool installed (make test installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl Browser {
    /// A JSON call to Proofup's API from this browser's signed-in page (its cookies, its
    /// origin); asserts a 2xx answer and returns its body.
    pub async fn api(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let r = self
            .driver
            .execute_async(
                "const [m, p, b, done] = arguments;\
                 fetch(p, {method: m, headers: {'content-type': 'application/json'}, body: m === 'GET' ? undefined : JSON.stringify(b)})\
                   .then(async r => done({status: r.status, body: await r.text()}));",
                vec![serde_json::json!(method), serde_json::json!(path), body],
            )
            .await
            .unwrap();
        let v = r.json().clone();
        let status = v["status"].as_u64().unwrap();
        assert!(status < 300, "{method} {path}: {v}");
        serde_json::from_str(v["body"].as_str().unwrap()).unwrap_or(serde_json::Value::Null)
    }

    /// Waits until this browser is on the relying party's protected page, signed in as `user`.
    pub async fn at_intranet(&self, rp: &apache::Apache, user: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let url = self.driver.current_url().await.unwrap().to_string();
            if url.starts_with(&rp.url("/protected/")) && !url.contains("redirect_uri") {
                if let Ok(p) = self.driver.find(By::Id("user")).await {
                    assert_eq!(p.text().await.unwrap(), format!("Signed in as {user}"), "{url}");
                    return;
                }
            }
            assert!(Instant::now() < deadline, "not back at the intranet: {url}\n{}", rp.error_log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Creates the first Global administrator through the setup link and signs in.
    pub async fn set_up_admin(&self, portal: &Portal, username: &str, password: &str) {
        self.driver.goto(&portal.setup_url).await.unwrap();
        self.wait_text("h1", "Create the first administrator").await;
        self.fill("username", username).await;
        self.fill("display_name", "Admin").await;
        self.fill("password", password).await;
        self.fill("confirm", password).await;
        self.click_button("Create administrator").await;
        self.wait_text("h1", "Sign in").await;
        self.fill("password", password).await;
        self.click_button("Sign in").await;
        self.wait_text("h1", "Overview").await;
    }

    /// Creates a user on "New user" and returns their temporary access pass.
    pub async fn create_user(&self, portal: &Portal, username: &str, display_name: &str) -> String {
        self.driver.goto(&portal.url("/users/new")).await.unwrap();
        self.wait_text("h1", "New user").await;
        self.fill("username", username).await;
        self.fill("display_name", display_name).await;
        self.click_button("Create user").await;
        self.wait_text("[data-testid=pass-code]", "-").await.text().await.unwrap()
    }

    pub async fn sign_in(&self, portal: &Portal, user: &str, password: &str) {
        self.driver.goto(&portal.url("/sign-in")).await.unwrap();
        self.wait_text("h1", "Sign in").await;
        self.fill("username", user).await;
        self.fill("password", password).await;
        self.click_button("Sign in").await;
    }

    pub async fn sign_out(&self) {
        self.click_button("Sign out").await;
        self.wait_text("h1", "Sign in").await;
    }

    /// Gives this browser a passkey device: Chromium's virtual authenticator (CDP
    /// `WebAuthn.addVirtualAuthenticator`), a CTAP2 platform authenticator with user
    /// verification that answers at once. Returns its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        let cdp = self.driver.cdp();
        cdp.send_raw("WebAuthn.enable", serde_json::json!({})).await.unwrap();
        let r = cdp
            .send_raw(
                "WebAuthn.addVirtualAuthenticator",
                serde_json::json!({"options": {
                    "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                    "hasUserVerification": true, "isUserVerified": true, "automaticPresenceSimulation": true
                }}),
            )
            .await
            .unwrap();
        r["authenticatorId"].as_str().unwrap().to_owned()
    }

    /// The credentials the virtual authenticator holds.
    pub async fn authenticator_credentials(&self, id: &str) -> Vec<serde_json::Value> {
        let r = self
            .driver
            .cdp()
            .send_raw("WebAuthn.getCredentials", serde_json::json!({"authenticatorId": id}))
            .await
            .unwrap();
        r["credentials"].as_array().cloned().unwrap_or_default()
    }
}

/// A static web site on its own origin (`http://127.0.0.1:<port>`, not Proofup's
/// `http://localhost:<port>`): serves `files` by path, 404 otherwise, until the test ends. For a
/// browser application that signs in through Proofup from another origin.
pub struct StaticSite {
    pub port: u16,
}

impl StaticSite {
    pub fn start_on(port: u16, files: Vec<(&'static str, &'static str, Vec<u8>)>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let files = Arc::new(files);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let files = files.clone();
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    // Skip the headers.
                    let mut h = String::new();
                    while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                        h.clear();
                    }
                    let path = line.split(' ').nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_owned();
                    let reply = match files.iter().find(|(p, _, _)| *p == path) {
                        Some((_, ctype, body)) => {
                            let mut r = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                                body.len()
                            )
                            .into_bytes();
                            r.extend_from_slice(body);
                            r
                        }
                        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                    };
                    let _ = stream.write_all(&reply);
                });
            }
        });
        Self { port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// A file of the npm packages `make test` installs under `.tools/node_modules`.
pub fn npm_file(package_path: &str) -> Vec<u8> {
    let p = workspace().join(".tools/node_modules").join(package_path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (make test installs it)", p.display()))
}
