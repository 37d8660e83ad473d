//! JSON bodies: any bytes, as the body of any operation that takes one, signed in or not.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proofup_fuzz::{api, call, Target};

fuzz_target!(|input: (Target, Vec<u8>)| {
    let (t, body) = input;
    let api = api();
    if let Some((method, path)) = api.resolve(&t, false) {
        api.check(call(method, path, body, "application/json", t.anonymous));
    }
});
