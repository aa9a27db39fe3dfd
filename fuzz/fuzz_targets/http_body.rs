//! `cargo fuzz run http_body`: see docs/FUZZING.md and `greenledger_fuzz::http_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenledger_fuzz::http_body(data));
