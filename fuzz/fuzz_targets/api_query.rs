//! Query parameters and path ids: any text after `?` of any GET operation, signed in or not.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proofup_fuzz::{api, call, encode, Target};

fuzz_target!(|input: (Target, String)| {
    let (t, query) = input;
    let api = api();
    if let Some((method, path)) = api.resolve(&t, true) {
        let uri = format!("{path}?{}", encode(&query, b"!$&'()*+,;=:@/?"));
        api.check(call(method, uri, Vec::new(), "application/json", t.anonymous));
    }
});
