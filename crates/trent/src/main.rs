//! The `trent` binary: `trent serve` runs the KMS; more subcommands come with later work.

mod admin;
mod admin_socket;
mod audit;
mod backup;
mod bench;
mod byok;
mod config;
mod datadir;
mod health;
mod lock;
mod logging;
mod place;
mod progress;
mod root_key;
mod seed_file;
mod serve;
mod storage;
mod webhook;

use clap::{Parser, Subcommand};

// mimalloc: the request path allocates many small buffers (JSON, base64, headers); measured
// against glibc malloc with scripts/bench (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "trent",
    version,
    about = "A self-hosted key management service that speaks the AWS KMS API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the KMS server (creates the data directory on first start).
    Serve(Box<config::ServeArgs>),
    /// Import your own key material: wrap it locally, or run the whole ceremony.
    #[command(subcommand)]
    Byok(byok::Byok),
    /// Manage accounts, users, access keys and identity policies in a data directory.
    Admin(admin::AdminArgs),
    /// Check the audit trail: `trent audit verify`.
    Audit(audit::AuditArgs),
    /// Ask the server run with this environment's settings whether it answers (a container's
    /// health check).
    Health(health::HealthArgs),
    /// The plain-HTTP baseline server for benchmarks (no KMS work).
    #[command(hide = true)]
    BenchBaseline(bench::baseline::BaselineArgs),
    /// Load-test an AWS-KMS endpoint on this machine (SigV4-signed requests).
    Bench(bench::BenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => config::ServeConfig::resolve(*args).and_then(serve::run),
        Command::Byok(cmd) => byok::run(cmd),
        Command::Bench(args) => bench::run(args),
        Command::BenchBaseline(args) => bench::baseline::run(args),
        Command::Admin(args) => admin::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Health(args) => health::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trent: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
