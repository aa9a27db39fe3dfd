fn main() -> std::process::ExitCode {
    greenledger_node::cli::main()
}
