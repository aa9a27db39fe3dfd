//! `cargo fuzz run sync_message`: see docs/FUZZING.md and `greenledger_fuzz::sync_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenledger_fuzz::sync_message(data));
