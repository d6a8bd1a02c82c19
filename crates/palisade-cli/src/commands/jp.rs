//! `palisade jp`: JMESPath with Kyverno's functions.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use serde_json::Value;

use crate::files;

/// `palisade jp` subcommands.
#[derive(Subcommand, Debug)]
pub enum JpCommand {
    /// Evaluate an expression against JSON or YAML input.
    Query {
        /// The expression.
        expression: String,
        /// Input file (default stdin).
        #[arg(short = 'i', long = "input")]
        input: Option<PathBuf>,
    },
    /// Parse an expression and print its syntax tree.
    Parse {
        /// The expression.
        expression: String,
    },
    /// List functions, or describe one.
    Function {
        /// Function name.
        name: Option<String>,
    },
}

/// Runs a `jp` subcommand.
pub fn run(command: JpCommand) -> Result<ExitCode> {
    match command {
        JpCommand::Query { expression, input } => query(&expression, input),
        JpCommand::Parse { expression } => match palisade_jmespath::compile(&expression) {
            Ok(e) => {
                println!("{}", e.ast());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(2))
            }
        },
        JpCommand::Function { name } => {
            for f in palisade_jmespath::functions() {
                if name.as_deref().is_none_or(|n| n == f.name()) {
                    println!(
                        "Name: {}\n  Signature: {}\n  Description: {}\n",
                        f.name(),
                        f.signature(),
                        f.doc()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn query(expression: &str, input: Option<PathBuf>) -> Result<ExitCode> {
    let text = files::read(input.as_deref().unwrap_or(std::path::Path::new("-")))?;
    let data = palisade_api::load::parse_values("input", &text).map_err(anyhow::Error::msg)?;
    let doc = data
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null);
    let expr = match palisade_jmespath::compile(expression) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    match expr.search(&doc, &palisade_jmespath::Context::default()) {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
