fn main() -> std::process::ExitCode {
    greenledger_cli::run()
}
