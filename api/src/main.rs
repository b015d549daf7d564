//! `motcua`: the command line for process designers, civil servants, operators and auditors,
//! and `motcua serve`, the HTTP API.
//!
//! A thin binary over the library crates: it parses arguments (clap), opens the store, calls the
//! engine and prints a table for people or JSON for scripts. Errors are one clear sentence and a
//! non-zero exit status.

use clap::Parser;
use motcua_api::{cli, commands};

#[tokio::main]
async fn main() {
    let args = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOTCUA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.global.log_format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }
    if let Err(e) = commands::run(args).await {
        eprintln!("lỗi / error: {e:#}");
        std::process::exit(1);
    }
}
