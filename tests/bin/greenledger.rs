//! The `greenledger` command, built inside this package so that cargo compiles it (fresh)
//! before the end-to-end tests run: a dev-dependency's binaries are never built, and an
//! integration test only gets `CARGO_BIN_EXE_*` for its own package's binaries. Its `main` is
//! the same one line as `cli/src/main.rs`.

fn main() -> std::process::ExitCode {
    greenledger_cli::run()
}
