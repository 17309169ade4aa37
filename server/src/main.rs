//! `portcullis`: parse the command line, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use server::config::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match server::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("portcullis: {error}");
            ExitCode::FAILURE
        }
    }
}
