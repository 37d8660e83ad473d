//! Crash safety and backups with the real binary: SIGKILL at random moments while
//! writes stream in, then a restart on the same data directory must hold every
//! acknowledged write, whole; `proofup backup` (running and stopped) and
//! `proofup restore` round-trip the store.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::server::*;
use serde_json::json;

const ADMIN_PW: &str = "quartz meadow lantern 9";

/// What the server acknowledged (2xx) before it died.
#[derive(Default, Clone)]
struct Acked {
    users: Vec<(String, String)>,   // (id, username)
    groups: Vec<(String, String)>,  // (id, name)
    members: Vec<(String, String)>, // (group id, user id)
    policies: Vec<(u64, u32)>,      // (version, grace days)
    deleted_users: Vec<String>,     // ids
    /// Deletions sent: one whose answer was lost to the kill may or may not have happened.
    deleting: Vec<String>,
}

/// Streams writes until the server stops answering. Every acknowledged write is recorded.
fn write_stream(server_port: u16, cookie: String, tag: String, acked: Arc<Mutex<Acked>>, stop: Arc<AtomicBool>) {
    let send = |method: &str, path: &str, body: &str| {
        http(server_port, method, path, &[("Content-Type", "application/json"), ("Cookie", &cookie)], body)
    };
    let mut i = 0u32;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let name = format!("{tag}-u{i}");
        let Ok((s, resp)) = send("POST", "/api/users", &json!({"username": name, "display_name": name}).to_string())
        else {
            return;
        };
        if s != 201 {
            return;
        }
        let uid = body_of(&resp)["user"]["id"].as_str().unwrap().to_owned();
        acked.lock().unwrap().users.push((uid.clone(), name));
        if i.is_multiple_of(3) {
            let gname = format!("{tag}-g{i}");
            let Ok((s, resp)) = send("POST", "/api/groups", &json!({"name": gname, "description": ""}).to_string())
            else {
                return;
            };
            if s != 201 {
                return;
            }
            let gid = body_of(&resp)["id"].as_str().unwrap().to_owned();
            acked.lock().unwrap().groups.push((gid.clone(), gname));
            let Ok((s, _)) =
                send("POST", &format!("/api/groups/{gid}/members"), &json!({"kind": "user", "id": uid}).to_string())
            else {
                return;
            };
            if s != 201 {
                return;
            }
            acked.lock().unwrap().members.push((gid, uid.clone()));
        }
        if i.is_multiple_of(4) {
            let Ok((_, resp)) = send("GET", "/api/policy", "") else { return };
            let version = body_of(&resp)["version"].as_u64().unwrap_or(0);
            let grace = (version as u32 * 7 + i) % 90;
            let body = json!({"based_on_version": version, "policy": {"enforcement": "report_only", "include_all": true,
                "include_users": [], "include_groups": [], "exclude_users": [], "exclude_groups": [],
                "require_registration": true, "grace_days": grace}});
            let Ok((s, _)) = send("PUT", "/api/policy", &body.to_string()) else { return };
            if s == 200 {
                acked.lock().unwrap().policies.push((version + 1, grace));
            }
        }
        if i.is_multiple_of(5) {
            acked.lock().unwrap().deleting.push(uid.clone());
            let Ok((s, _)) = send("DELETE", &format!("/api/users/{uid}"), "{}") else { return };
            if s == 204 {
                let mut a = acked.lock().unwrap();
                a.deleted_users.push(uid.clone());
                a.members.retain(|(_, u)| *u != uid);
            }
        }
    }
}

/// Every acknowledged write is there and whole; the store is self-consistent.
fn check(server: &Server, cookie: &str, acked: &Acked) {
    for (id, name) in &acked.users {
        let (s, resp) = server.get(&format!("/api/users/{id}"), cookie);
        if acked.deleted_users.contains(id) {
            assert_eq!(s, 404, "deleted user {name} came back");
            continue;
        }
        if acked.deleting.contains(id) {
            assert!(s == 200 || s == 404, "{name}: {resp}");
            continue;
        }
        assert_eq!(s, 200, "acknowledged user {name} lost: {resp}");
        assert_eq!(body_of(&resp)["username"], name.as_str());
        // The username index agrees with the record.
        let (_, resp) = server.get(&format!("/api/users?q={name}&limit=5"), cookie);
        assert!(
            body_of(&resp)["items"].as_array().unwrap().iter().any(|u| u["id"] == id.as_str()),
            "{name} not found by name"
        );
    }
    for (gid, name) in &acked.groups {
        let (s, resp) = server.get(&format!("/api/groups/{gid}"), cookie);
        assert_eq!(s, 200, "acknowledged group {name} lost: {resp}");
    }
    for (gid, uid) in &acked.members {
        if acked.deleting.contains(uid) {
            continue;
        }
        let (_, resp) = server.get(&format!("/api/groups/{gid}"), cookie);
        let detail = body_of(&resp);
        assert!(detail["members"].as_array().unwrap().iter().any(|m| m["id"] == uid.as_str()), "membership lost");
        // Both directions of the edge are there.
        let (_, resp) = server.get(&format!("/api/users/{uid}/groups"), cookie);
        assert!(body_of(&resp).as_array().unwrap().iter().any(|g| g["id"] == gid.as_str()), "reverse edge lost");
    }
    if let Some(&(last, _)) = acked.policies.last() {
        let (_, resp) = server.get("/api/policy", cookie);
        assert!(body_of(&resp)["version"].as_u64().unwrap() >= last, "policy version went back");
        let (_, resp) = server.get("/api/policy/versions", cookie);
        let versions: HashMap<u64, u64> = body_of(&resp)
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["version"].as_u64().unwrap(), v["policy"]["grace_days"].as_u64().unwrap()))
            .collect();
        for (v, grace) in &acked.policies {
            if let Some(g) = versions.get(v) {
                assert_eq!(*g, u64::from(*grace), "version {v} holds another policy");
            }
        }
        assert!(versions.contains_key(&last), "acknowledged policy version {last} lost");
    }
}

#[test]
fn acknowledged_writes_survive_sigkill_at_random_moments() {
    let mut server = Server::start(&[]);
    let mut cookie = server.set_up_admin("admin", ADMIN_PW);
    let acked = Arc::new(Mutex::new(Acked::default()));
    // A fixed seed: the same kill moments on every run.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for cycle in 0..20 {
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (port, cookie, acked, stop) = (server.port, cookie.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || write_stream(port, cookie, format!("c{cycle}"), acked, stop))
        };
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(150 + seed % 450));
        let dir = server.kill9();
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        server = Server::start_in(dir);
        cookie = server.sign_in("admin", ADMIN_PW);
        check(&server, &cookie, &acked.lock().unwrap());
    }
    let a = acked.lock().unwrap().clone();
    assert!(a.users.len() >= 40 && a.policies.len() >= 5, "too few writes to mean much: {} users", a.users.len());
    eprintln!(
        "20 SIGKILLs: {} users, {} groups, {} memberships, {} policy versions, {} deletions acknowledged and intact",
        a.users.len(),
        a.groups.len(),
        a.members.len(),
        a.policies.len(),
        a.deleted_users.len()
    );
    let (status, _) = server.terminate();
    assert!(status.success());
}

fn proofup(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_proofup")).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn digest(dir: &std::path::Path) -> [u8; 32] {
    let store = proofup::store::sled::SledStore::open(dir, 16 << 20).unwrap();
    store.digest(proofup::store::sled::backup::NOT_BACKED_UP).unwrap()
}

#[test]
fn backups_are_consistent_while_running_and_restore_round_trips() {
    let server = Server::start(&[]);
    let cookie = server.set_up_admin("admin", ADMIN_PW);
    let acked = Arc::new(Mutex::new(Acked::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (port, cookie, acked, stop) = (server.port, cookie.clone(), acked.clone(), stop.clone());
        std::thread::spawn(move || write_stream(port, cookie, "live".into(), acked, stop))
    };
    std::thread::sleep(Duration::from_millis(700));
    let before = acked.lock().unwrap().clone();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("proofup.backup");
    let data = server.dir.path().to_str().unwrap().to_owned();
    // While the server runs and writes stream in: the server makes the snapshot.
    let (ok, out) = proofup(&["backup", "--data-dir", &data, "--to", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("by the running server"), "{out}");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let (status, _, data_dir) = server.stop();
    assert!(status.success());
    // A deletion in flight when `before` was read may be in the snapshot: judge only users never deleted.
    let mut before = before;
    let deleted = acked.lock().unwrap().deleted_users.clone();
    before.users.retain(|(id, _)| !deleted.contains(id));
    before.members.retain(|(_, u)| !deleted.contains(u));

    // Restore into a new directory and run on it: every write acknowledged before the backup is there, whole.
    let restored = work.path().join("restored");
    let (ok, out) = proofup(&["restore", "--data-dir", restored.to_str().unwrap(), "--from", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    std::fs::copy(data_dir.path().join("secret.key"), restored.join("secret.key")).unwrap();
    let restored_dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&restored).unwrap() {
        let e = e.unwrap();
        std::fs::rename(e.path(), restored_dir.path().join(e.file_name())).unwrap();
    }
    let again = Server::start_in(restored_dir);
    let (s, _) = again.get("/api/overview", &cookie);
    assert_eq!(s, 401, "sessions are not restored");
    let c = again.sign_in("admin", ADMIN_PW);
    check(&again, &c, &before);
    let (status, _) = again.terminate();
    assert!(status.success());

    // Stopped: the CLI reads the store itself; the restored copy is byte-for-byte the same data.
    let file2 = work.path().join("offline.backup");
    let (ok, out) = proofup(&["backup", "--data-dir", &data, "--to", file2.to_str().unwrap()]);
    assert!(ok, "{out}");
    let copy = work.path().join("copy");
    let (ok, out) = proofup(&["restore", "--data-dir", copy.to_str().unwrap(), "--from", file2.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(digest(data_dir.path()), digest(&copy));

    // A damaged file is refused before anything is written; a used directory is refused.
    let mut bytes = std::fs::read(&file2).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let bad = work.path().join("damaged.backup");
    std::fs::write(&bad, &bytes).unwrap();
    let target = work.path().join("from-damaged");
    let (ok, out) = proofup(&["restore", "--data-dir", target.to_str().unwrap(), "--from", bad.to_str().unwrap()]);
    assert!(!ok && out.contains("not a valid Proofup backup"), "{out}");
    assert!(!target.exists(), "nothing written from a damaged backup");
    std::fs::write(&bad, &bytes[..mid]).unwrap();
    let (ok, out) = proofup(&["restore", "--data-dir", target.to_str().unwrap(), "--from", bad.to_str().unwrap()]);
    assert!(!ok && out.contains("not a valid Proofup backup"), "{out}");
    let (ok, out) = proofup(&["restore", "--data-dir", &data, "--from", file2.to_str().unwrap()]);
    assert!(!ok && out.contains("is not empty"), "{out}");
}
