//! The command line (`cli/`): `invoke`, `encode`, `scan`. In Lambda (`AWS_LAMBDA_RUNTIME_API`
//! set) it runs the function, as `bootstrap` does, so one documented local command also runs
//! the function; the deployed artifact is the smaller `bootstrap` (`src/bin/bootstrap.rs`).

use std::io::IsTerminal;
use std::process::ExitCode;

mod cli;

use clap::Parser;
use cli::Cli;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Lambda sets AWS_LAMBDA_RUNTIME_API; anywhere else this is a command-line tool.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        // Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org).
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        tracing_subscriber::fmt()
            .with_ansi(colour)
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_writer(std::io::stderr)
            .init();
        return cli::run(Cli::parse()).await;
    }
    secret_deletion_alerts::function::run_in_lambda().await
}
