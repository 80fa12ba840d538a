fn main() -> std::process::ExitCode {
    crt_gateway::cli::main()
}
