//! The deployment files in `deploy/`, checked against the real binary: the systemd unit passes
//! `systemd-analyze verify`, and the unit's and the container file's command, user and
//! environment serve the portal with everything but their data directory read-only (a mount
//! namespace remounts every file system read-only, as ProtectSystem=strict and `docker run
//! --read-only` do) and as an unprivileged user. No Docker engine runs on these machines, so the
//! image itself is not built here; what runs inside it is.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_proofup");

fn deploy_file(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(name)).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `proofup probe` against `listen`: (exit success, what it printed).
fn probe(listen: &str) -> (bool, String) {
    let out = Command::new(BIN).args(["probe", "--listen", listen, "--timeout-seconds", "2"]).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// How the deployment file says to run the server.
struct Launch {
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    uid: u32,
    /// The one writable directory (the state directory or the volume), here a temp dir.
    data_dir: PathBuf,
}

/// A server started as `Launch` says, inside a mount namespace where every file system but the
/// data directory is read-only, as the unprivileged user; killed when dropped.
struct Running {
    child: std::process::Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(l: &Launch) -> Running {
    let data = l.data_dir.display().to_string();
    // Everything read-only but the data directory (its own bind mount); proved by a failed write
    // as root before the server starts; then the server as the file's user, without privileges.
    let script = format!(
        r#"set -e
mount --bind "{data}" "{data}"
mount -o remount,bind,ro /
for m in $(findmnt -rno TARGET); do
  case "$m" in /|/proc*|/sys*|/dev*|"{data}") ;; *) mount -o remount,bind,ro "$m" 2>/dev/null || true ;; esac
done
if touch /tmp/.proofup-rw-probe 2>/dev/null || touch /.proofup-rw-probe 2>/dev/null; then echo "root is writable" >&2; exit 97; fi
exec setpriv --reuid {uid} --regid {uid} --clear-groups --no-new-privs -- "$@""#,
        uid = l.uid
    );
    let child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script, "sh"])
        .args(&l.argv)
        .env_clear()
        .envs(&l.env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Running { child }
}

/// Waits until `proofup probe` says ready (the health check the container file names).
fn wait_ready(listen: &str, r: &mut Running) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = r.child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(r.child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("the server exited ({status}): {err}");
        }
        if probe(listen).0 {
            return;
        }
        assert!(Instant::now() < deadline, "not ready within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The server runs as the file's user, wrote only its data directory (the store and a private
/// secret key), logs JSON with the setup link, and stops cleanly on SIGTERM.
fn check_running(l: &Launch, listen: &str, mut r: Running) {
    wait_ready(listen, &mut r);
    let (ok, said) = probe(listen);
    assert!(ok && said.starts_with("ready"), "{said}");
    let pid = r.child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids: Vec<&str> = status.lines().find(|l| l.starts_with("Uid:")).unwrap().split_whitespace().skip(1).collect();
    let u = l.uid.to_string();
    assert_eq!(uids, [u.as_str(); 4], "real, effective, saved and filesystem uid");
    let key = std::fs::metadata(l.data_dir.join("secret.key")).unwrap();
    assert_eq!((key.uid(), key.mode() & 0o777), (l.uid, 0o600));
    assert!(l.data_dir.join("db").exists() || std::fs::read_dir(&l.data_dir).unwrap().count() > 2);
    // SIGTERM: a graceful stop, exit 0.
    Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = r.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(r.child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(status.success(), "{status}: {out}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("JSON log line")).collect();
    assert!(lines.iter().any(|l| l["message"].as_str().is_some_and(|m| m.contains("/setup?token="))), "{out}");
    assert!(lines.iter().any(|l| l["message"] == "stopped; store flushed"), "{out}");
    assert!(probe(listen).1.contains("not ready"));
}

/// A data directory the unprivileged user owns, in a temp dir it can reach.
fn data_dir(tmp: &Path, uid: u32) -> PathBuf {
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = tmp.join("data");
    std::fs::create_dir(&d).unwrap();
    std::os::unix::fs::chown(&d, Some(uid), Some(uid)).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

#[test]
fn the_systemd_unit_verifies_and_serves_with_only_its_state_directory_writable() {
    let unit = deploy_file("proofup.service");
    // systemd's own check, with ExecStart pointed at this build (verify wants the file to exist).
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("proofup.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/proofup", BIN)).unwrap();
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&copy).output().unwrap();
    let complaints = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success() && complaints.trim().is_empty(), "systemd-analyze verify: {complaints}");

    // What the unit says.
    let service: Vec<(&str, &str)> = unit
        .lines()
        .skip_while(|l| l.trim() != "[Service]")
        .take_while(|l| l.trim() != "[Install]")
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split_once('=').unwrap())
        .collect();
    let value = |k: &str| service.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    for (k, v) in [
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("StateDirectory", "proofup"),
        ("UMask", "0077"),
    ] {
        assert_eq!(value(k), Some(v), "{k}");
    }
    let mut env: BTreeMap<String, String> = service
        .iter()
        .filter(|(k, _)| *k == "Environment")
        .map(|(_, v)| v.split_once('=').unwrap())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    // The state directory the unit names is where the data goes.
    assert_eq!(env.get("PROOFUP_DATA_DIR").map(String::as_str), Some("/var/lib/proofup"));
    let listen = env["PROOFUP_LISTEN"].clone();
    assert!(listen.starts_with("127.0.0.1:"), "behind a proxy, on loopback: {listen}");

    // Run its command as an unprivileged user, with only the state directory writable. Here the
    // state directory is a temp dir and the port a free one.
    let uid = 65534;
    let data = data_dir(tmp.path(), uid);
    let listen = format!("127.0.0.1:{}", free_port());
    assert!(!probe(&listen).0, "probe fails while nothing listens");
    env.insert("PROOFUP_DATA_DIR".into(), data.display().to_string());
    env.insert("PROOFUP_LISTEN".into(), listen.clone());
    let mut argv: Vec<String> = value("ExecStart").unwrap().split_whitespace().map(str::to_owned).collect();
    assert_eq!(argv[0], "/usr/local/bin/proofup");
    argv[0] = BIN.into();
    let launch = Launch { argv, env, uid, data_dir: data };
    let running = start(&launch);
    check_running(&launch, &listen, running);
}

/// The container file's last stage: ENV, USER, VOLUME, HEALTHCHECK, ENTRYPOINT and CMD.
#[test]
fn the_container_image_runs_as_non_root_on_a_read_only_root_with_a_data_volume() {
    let file = deploy_file("Containerfile");
    // Continuation lines joined; only the final stage (what the image runs).
    let joined = file.replace("\\\n", " ");
    let last: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect::<Vec<_>>()
        .rsplit(|l| l.starts_with("FROM "))
        .next()
        .unwrap()
        .to_vec();
    let from = joined.lines().rfind(|l| l.starts_with("FROM ")).unwrap();
    assert!(from.contains(":nonroot"), "{from}");
    let directive =
        |name: &str| last.iter().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' '))).map(str::trim);
    let json_array = |s: &str| -> Vec<String> { serde_json::from_str(s).unwrap() };
    let user = directive("USER").unwrap();
    let uid: u32 = user.split(':').next().unwrap().parse().expect("a numeric user (Kubernetes runAsNonRoot)");
    assert_ne!(uid, 0);
    let volumes = json_array(directive("VOLUME").unwrap());
    assert_eq!(volumes, ["/data"]);
    let mut env = BTreeMap::new();
    let mut rest = directive("ENV").unwrap();
    while let Some((k, after)) = rest.split_once('=') {
        let (v, more) = after.split_once(char::is_whitespace).unwrap_or((after, ""));
        env.insert(k.trim().to_owned(), v.to_owned());
        rest = more.trim();
    }
    assert_eq!(env.get("PROOFUP_DATA_DIR").map(String::as_str), Some("/data"), "the data is in the volume");
    let entrypoint = json_array(directive("ENTRYPOINT").unwrap());
    let cmd = json_array(directive("CMD").unwrap());
    let health = directive("HEALTHCHECK").unwrap();
    let health = json_array(&health[health.find("CMD [").unwrap() + 4..]);
    assert_eq!(health, ["/usr/local/bin/proofup", "probe"]);

    // Run it as the image would: its user, its environment, its entrypoint and command, the
    // volume (here a temp dir) the one writable place, on a free port.
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path(), uid);
    let port = free_port();
    env.insert("PROOFUP_DATA_DIR".into(), data.display().to_string());
    let listen = env["PROOFUP_LISTEN"].replace(":8080", &format!(":{port}"));
    assert!(listen.starts_with("0.0.0.0:"), "a container listens on every address: {listen}");
    env.insert("PROOFUP_LISTEN".into(), listen.clone());
    let mut argv: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    assert_eq!(argv[0], "/usr/local/bin/proofup");
    argv[0] = BIN.into();
    let launch = Launch { argv, env: env.clone(), uid, data_dir: data };
    let mut running = start(&launch);
    wait_ready(&format!("127.0.0.1:{port}"), &mut running);
    // The health check as Docker runs it: the image's environment, its command.
    let out = Command::new(BIN).args(&health[1..]).env_clear().envs(&env).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_running(&launch, &listen, running);
}

/// The README's Apache example keeps mod_auth_openidc's state (the user's place in the sign-in)
/// at least as long as a Proofup flow lives: at the module's default of 300 s, a user who
/// installs an authenticator app at the interrupt comes back to "Invalid Authentication Response".
#[test]
fn the_readme_apache_example_waits_for_a_whole_proofup_flow() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let apache = readme.split("```apache").nth(1).unwrap().split("```").next().unwrap();
    let timeout: i64 = apache
        .lines()
        .find_map(|l| l.trim().strip_prefix("OIDCStateTimeout"))
        .expect("OIDCStateTimeout in the README's Apache example")
        .trim()
        .parse()
        .unwrap();
    assert!(timeout >= proofup::domain::oidc::grant::FLOW_LIFETIME.whole_seconds(), "{timeout} s");
}
