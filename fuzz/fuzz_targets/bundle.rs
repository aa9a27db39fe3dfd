//! `cargo fuzz run bundle`: see docs/FUZZING.md and `greenledger_fuzz::bundle`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenledger_fuzz::bundle(data));
