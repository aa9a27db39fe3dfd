//! End-to-end tests.
#[test]
fn smoke() {}
