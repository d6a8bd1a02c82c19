//! `palisade`: Kyverno-compatible policy evaluation from the command line, offline.

mod apipath;
mod artifacts;
mod celpolicies;
mod commands;
mod compare;
mod files;
mod mutation;
mod output;
mod phases;
mod report;
mod run;
mod selector;
mod source;
mod test_cmd;
mod verdict;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use commands::apply::ApplyArgs;
use commands::jp::JpCommand;
use commands::test::TestArgs;
use output::style::Style;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "palisade",
    version,
    about = "Kyverno-compatible policy engine: apply and test policies offline"
)]
struct Cli {
    /// Disable colour (also NO_COLOR, or when stdout is not a terminal).
    #[arg(long, global = true)]
    remove_color: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply policies to resources and report the results.
    Apply(ApplyArgs),
    /// Run kyverno-test.yaml suites.
    Test(TestArgs),
    /// JMESPath with Kyverno's functions.
    Jp {
        #[command(subcommand)]
        command: JpCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    let style = Style::detect(cli.remove_color);
    match cli.command {
        Command::Apply(args) => {
            // Reports are for tools: never coloured.
            let report = args.policy_report || args.output_format.is_some();
            let style = if report { Style::plain() } else { style };
            commands::apply::run(&args, &style)
        }
        Command::Test(args) => {
            let human = args.output_format.is_none();
            let style = if human { style } else { Style::plain() };
            commands::test::run(&args, &style)
        }
        Command::Jp { command } => commands::jp::run(command),
    }
}
