//! The directory CSV import: any text as the file, imported by a Global administrator.
//! Bad files are refused whole with a typed error; good ones import.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proofup_fuzz::{api, call};

fuzz_target!(|csv: String| {
    let body = serde_json::json!({ "csv": csv }).to_string().into_bytes();
    api().check(call(actix_web::http::Method::POST, "/api/directory/import".into(), body, "application/json", false));
});
