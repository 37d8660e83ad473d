//! The real `proofup` binary on a free port and a temporary data directory, and a minimal HTTP client.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A minimal HTTP/1.1 request; returns (status, headers+body as text).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    // Read the head, then exactly Content-Length bytes (not to EOF: a server may linger before closing).
    let mut reader = BufReader::new(s);
    let mut out = String::new();
    let mut len: Option<usize> = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok();
        }
        out.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let no_body = out.starts_with("HTTP/1.1 204") || out.starts_with("HTTP/1.1 304");
    match len {
        _ if no_body => {}
        Some(n) => {
            let mut body = vec![0; n];
            reader.read_exact(&mut body)?;
            out.push_str(&String::from_utf8_lossy(&body));
        }
        None => {
            let mut rest = String::new();
            reader.read_to_string(&mut rest)?;
            out.push_str(&rest);
        }
    }
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((status, out))
}

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub output: Arc<Mutex<String>>,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_proofup"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir.path())
            .args(extra)
            .env("PROOFUP_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for pipe in
            [Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>, Box::new(child.stderr.take().unwrap())]
        {
            let out = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut o = out.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        let server = Self { child, port, output, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, body)) = http(port, "GET", "/readyz", &[], "") {
                assert!(body.contains("\"status\":\"ready\""), "{body}");
                break;
            }
            assert!(Instant::now() < deadline, "not ready in 30 s:\n{}", server.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub fn log(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub fn json_post(&self, path: &str, body: &str, cookie: Option<&str>) -> (u16, String) {
        let mut h = vec![("Content-Type", "application/json")];
        if let Some(c) = cookie {
            h.push(("Cookie", c));
        }
        http(self.port, "POST", path, &h, body).unwrap()
    }

    pub fn terminate(self) -> (std::process::ExitStatus, String) {
        let (status, log, _dir) = self.stop();
        (status, log)
    }

    /// SIGTERM, wait, and hand back the data directory.
    pub fn stop(mut self) -> (std::process::ExitStatus, String, tempfile::TempDir) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                let log = self.log();
                let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
                return (status, log, dir);
            }
            assert!(Instant::now() < deadline, "did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A test that ends (or fails) without stopping its server does not leave it running: the
/// process is killed with the test's handle on it.
impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    /// Restart on an existing data directory.
    pub fn start_in(dir: tempfile::TempDir) -> Self {
        let path = dir.path().to_owned();
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_proofup"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(http(port, "GET", "/readyz", &[], ""), Ok((200, _))) {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("restart not ready");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, port, output: Arc::new(Mutex::new(String::new())), dir }
    }
}

impl Server {
    pub fn get(&self, path: &str, cookie: &str) -> (u16, String) {
        http(self.port, "GET", path, &[("Cookie", cookie)], "").unwrap()
    }

    pub fn send(&self, method: &str, path: &str, body: &str, cookie: &str) -> std::io::Result<(u16, String)> {
        http(self.port, method, path, &[("Content-Type", "application/json"), ("Cookie", cookie)], body)
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(mut self) -> tempfile::TempDir {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Creates the first administrator through the setup link and returns a session cookie.
    pub fn set_up_admin(&self, username: &str, password: &str) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_proofup"))
            .args(["setup-url", "--listen", &format!("127.0.0.1:{}", self.port), "--data-dir"])
            .arg(self.dir.path())
            .output()
            .unwrap();
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let token = url.split("token=").nth(1).expect("a setup link").to_owned();
        let body =
            format!(r#"{{"token":"{token}","username":"{username}","display_name":"Admin","password":"{password}"}}"#);
        let (s, resp) = self.json_post("/api/setup", &body, None);
        assert_eq!(s, 201, "{resp}");
        self.sign_in(username, password)
    }

    pub fn sign_in(&self, username: &str, password: &str) -> String {
        let (s, resp) = self.json_post(
            "/api/auth/sign-in",
            &format!(r#"{{"username":"{username}","password":"{password}"}}"#),
            None,
        );
        assert_eq!(s, 200, "{resp}");
        cookie_of(&resp).expect("a session cookie")
    }
}

/// The `name=value` of the session cookie in a raw response.
pub fn cookie_of(resp: &str) -> Option<String> {
    resp.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie: proofup_session="))
        .and_then(|l| l.split(": ").nth(1))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// The JSON body of a raw response (Null when there is none).
pub fn body_of(resp: &str) -> serde_json::Value {
    resp.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(serde_json::Value::Null)
}

/// Starts `proofup serve` on `dir` with `extra` and expects it to refuse: it must exit (not serve)
/// within 30 s with a failure status. Returns what it printed.
pub fn start_refused(dir: &std::path::Path, extra: &[&str]) -> String {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_proofup"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline || matches!(http(port, "GET", "/readyz", &[], ""), Ok((200, _))) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("proofup served instead of refusing to start");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(!status.success(), "exited successfully: {out}");
    out
}
