//! The Lambda function's bootstrap, the artifact `sam build` ships: the function and nothing
//! else. The command line's crates (clap, rayon, indicatif, walkdir) stay out of it, and so
//! out of its size and its cold start (`scripts/bench` measures both binaries).

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!(
            "bootstrap runs only in Lambda (AWS_LAMBDA_RUNTIME_API is not set); \
             the command line is secret-deletion-alerts"
        );
        return ExitCode::FAILURE;
    }
    secret_deletion_alerts::function::run_in_lambda().await
}
