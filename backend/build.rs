//! Copies the built portal (`frontend/dist`, from `trunk build --release`) into
//! OUT_DIR with gzip and brotli variants, for rust-embed to put in the binary.
//! Without a built portal the binary still builds and says how to build it.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let dist =
        std::env::var("PROOFUP_UI_DIST").map(PathBuf::from).unwrap_or_else(|_| manifest.join("../frontend/dist"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("ui");
    println!("cargo:rerun-if-env-changed=PROOFUP_UI_DIST");
    println!("cargo:rerun-if-changed={}", dist.display());
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).expect("create OUT_DIR/ui");
    if dist.join("index.html").is_file() {
        copy_tree(&dist, &out);
        println!("cargo:rustc-cfg=proofup_ui");
    } else {
        println!("cargo:warning=frontend/dist has no index.html: the binary will serve a page saying how to build the portal (run `make run`)");
    }
    println!("cargo:rustc-check-cfg=cfg(proofup_ui)");
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).expect("read dist") {
        let entry = entry.expect("dist entry");
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&path, &target);
            continue;
        }
        let bytes = fs::read(&path).expect("read asset");
        fs::write(&target, &bytes).expect("write asset");
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if matches!(ext, "html" | "js" | "wasm" | "css" | "svg" | "json" | "txt" | "ico") && bytes.len() > 512 {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&bytes).expect("gzip");
            fs::write(with_suffix(&target, "gz"), gz.finish().expect("gzip")).expect("write gz");
            let mut br = Vec::new();
            let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
            brotli::BrotliCompress(&mut &bytes[..], &mut br, &params).expect("brotli");
            fs::write(with_suffix(&target, "br"), br).expect("write br");
        }
    }
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}
