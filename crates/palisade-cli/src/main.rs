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
mod serve;
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
    /// Serve policies as an admission webhook (runs palisade-serve; `palisade serve --help`).
    #[command(disable_help_flag = true)]
    Serve {
        /// Arguments passed to palisade-serve.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Scan existing resources and write PolicyReports (runs palisade-controller;
    /// `palisade controller --help`).
    #[command(disable_help_flag = true)]
    Controller {
        /// Arguments passed to palisade-controller.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
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
        Command::Serve { args } => serve::run(&args),
        Command::Controller { args } => serve::run_tool(serve::CONTROLLER, &args),
    }
}
