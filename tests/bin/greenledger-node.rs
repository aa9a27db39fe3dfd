//! The `greenledger-node` command, built inside this package so that cargo compiles it before
//! the end-to-end tests run (see `greenledger.rs` beside this file). Same one line as
//! `node/src/main.rs`.

fn main() -> std::process::ExitCode {
    greenledger_node::cli::main()
}
