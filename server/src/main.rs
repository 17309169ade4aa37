//! `portcullis`: parse the command line, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use server::config::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into()),
        )
        .with_writer(std::io::stderr);
    // One JSON object per line for log collectors, with the request's id
    // (the `request` span) in each line written while answering it.
    match std::env::var("PORTCULLIS_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().init(),
        Ok("text") | Err(_) => logs.init(),
        Ok(other) => {
            logs.init();
            tracing::warn!(format = other, "PORTCULLIS_LOG_FORMAT is text or json; writing text");
        }
    }
    match server::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("portcullis: {error}");
            ExitCode::FAILURE
        }
    }
}
