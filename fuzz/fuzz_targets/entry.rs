//! `cargo fuzz run entry`: see docs/FUZZING.md and `greenledger_fuzz::entry`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenledger_fuzz::entry(data));
