//! The `greenledger-node` command, built inside this package so that cargo compiles it before
//! the end-to-end tests run (see `greenledger.rs` beside this file). Same as
//! `node/src/main.rs`, with one test hook that the real binary does not have: when
//! `GREENLEDGER_E2E_FAULT` names a component of the node (`http`, `pact`, `checkpoints`,
//! `p2p`, `store-writer`), `SIGUSR1` makes that component panic, so that the tests can check
//! that the node notices, says so and exits non-zero.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(name) = std::env::var_os("GREENLEDGER_E2E_FAULT") else {
        return greenledger_node::cli::main();
    };
    let component: greenledger_node::supervisor::Component = match name.to_string_lossy().parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("GREENLEDGER_E2E_FAULT: {e}");
            return ExitCode::from(2);
        }
    };
    let hook: greenledger_node::cli::StartedHook = Box::new(move |node| {
        let faults = node.fault_injector();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::user_defined1()) {
                Ok(mut usr1) => {
                    tokio::spawn(async move {
                        if usr1.recv().await.is_some() {
                            faults.inject(component);
                        }
                    });
                }
                Err(e) => eprintln!("cannot listen for SIGUSR1: {e}"),
            }
        }
        #[cfg(not(unix))]
        faults.inject(component);
    });
    greenledger_node::cli::main_with_hook(std::env::args_os(), Some(hook))
}
