//! The `specmock` command line: flags parsed, then serve, check or verify
//! (each in `cli/`).

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A mock and contract-testing server driven by an OpenAPI 3.0 or 3.1 document.
#[derive(Parser)]
#[command(name = "specmock", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: cli::serve::ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the spec (what `specmock` does with no subcommand).
    Serve(Box<cli::serve::ServeArgs>),
    /// Check that the spec, fixtures and scenarios are consistent, and which statuses scenarios reach.
    Check(cli::check::CheckArgs),
    /// Test a real server against the spec (provider contract test).
    Verify(cli::verify::VerifyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => cli::serve::run(*args),
        Some(Command::Check(args)) => cli::check::run(args),
        Some(Command::Verify(args)) => cli::verify::run(args),
        None => cli::serve::run(cli.serve),
    }
}
