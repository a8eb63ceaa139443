//! The cold-start floor of `benches/cold_start.rs`: the smallest `lambda_runtime` function
//! (cargo-lambda's template, an echo handler), built with the same profile and target as
//! `bootstrap`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
