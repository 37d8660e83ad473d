//! A throw-away PostgreSQL server for the tests: a new cluster in a temporary directory
//! (`initdb`, trust authentication on loopback), on a free port, stopped and removed when the
//! value drops. Sessions here run as root, and PostgreSQL refuses to: the cluster then belongs
//! to the `postgres` user and its tools run through `runuser`.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

pub struct PgServer {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

/// Where Debian keeps the server's tools (`make setup-test` installs `postgresql` if missing).
fn bin_dir() -> PathBuf {
    let root = PathBuf::from("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|_| panic!("{} not found: run `make test` (installs postgresql)", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("no PostgreSQL server binaries: run `make test` (installs postgresql)")
}

fn as_root() -> bool {
    rustix::process::geteuid().is_root()
}

static SHARED: std::sync::OnceLock<PgServer> = std::sync::OnceLock::new();
static DATABASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl PgServer {
    /// One server for the whole test process (each test takes a fresh database of it). A static
    /// is never dropped, so a watcher process stops the server and removes its directory once
    /// this process has exited, however it exits.
    pub fn shared() -> &'static PgServer {
        SHARED.get_or_init(|| {
            let server = PgServer::start();
            let data = server.dir.path().join("data");
            let stop = format!(
                "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {runuser}{pg_ctl} -D {data} -m immediate -w stop >/dev/null 2>&1; rm -rf {dir}",
                pid = std::process::id(),
                runuser = if as_root() { "runuser -u postgres -- " } else { "" },
                pg_ctl = server.bin.join("pg_ctl").display(),
                data = data.display(),
                dir = server.dir.path().display(),
            );
            // `setsid -f` forks the watcher off and returns at once.
            Command::new("setsid")
                .args(["-f", "sh", "-c", &stop])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            server
        })
    }

    /// A store over a new, empty database of this server (migrated by opening it).
    pub fn fresh_store(&self) -> std::sync::Arc<dyn proofup::store::Store> {
        let n = DATABASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = self.database(&format!("test_{n}"));
        let options = proofup::store::postgres::PgOptions { pool_size: 4, ..Default::default() };
        proofup::store::postgres::PgStore::open(&url, options).unwrap()
    }

    pub fn start() -> Self {
        let bin = bin_dir();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if as_root() {
            Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let me = Self { port, dir, bin };
        me.tool("initdb", &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
        me.start_again();
        me
    }

    /// Starts the server again after [`PgServer::stop`] (same port, same data).
    pub fn start_again(&self) {
        let data = self.dir.path().join("data");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.tool("pg_ctl", &["-D", data.to_str().unwrap(), "-o", &opts, "-l", log.to_str().unwrap(), "-w", "start"]);
    }

    /// Stops the server (fast shutdown: sessions are ended, as in a restart or failover).
    pub fn stop(&self) {
        let data = self.dir.path().join("data");
        self.tool("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"]);
    }

    fn tool(&self, name: &str, args: &[&str]) {
        let path = self.bin.join(name);
        let out = if as_root() {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&path).args(args).output().unwrap()
        } else {
            Command::new(&path).args(args).output().unwrap()
        };
        assert!(
            out.status.success(),
            "{name} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A new, empty database on this server; its URL.
    pub fn database(&self, name: &str) -> String {
        self.sql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(name)
    }

    /// Runs SQL as the superuser on `db`, on a thread of its own (the synchronous client must
    /// not run inside the test's tokio runtime); the first column of each row, as text.
    pub fn sql(&self, db: &str, sql: &str) -> Vec<String> {
        let (url, sql) = (self.url(db), sql.to_owned());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.simple_query(&sql)
                .unwrap()
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or_default().to_owned()),
                    _ => None,
                })
                .collect()
        })
        .join()
        .unwrap()
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let path = self.bin.join("pg_ctl");
        let args = ["-D", data.to_str().unwrap_or_default(), "-m", "immediate", "-w", "stop"];
        let _ = if as_root() {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&path).args(args).output()
        } else {
            Command::new(&path).args(args).output()
        };
    }
}
