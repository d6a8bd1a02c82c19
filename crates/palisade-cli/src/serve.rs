//! `palisade serve ARGS...` and `palisade controller ARGS...`: the admission webhook and the
//! background controller live in their own binaries, `palisade-serve` and
//! `palisade-controller` (async, with the HTTP, TLS and Kubernetes stack this tool does
//! without), run git-style: next to this executable first, else from PATH.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Result;

const SERVER: &str = "palisade-serve";

/// An external subcommand: the subcommand, its binary and the package that builds it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    subcommand: &'static str,
    binary: &'static str,
    package: &'static str,
}

/// `palisade serve`.
pub const SERVE: Tool = Tool {
    subcommand: "serve",
    binary: SERVER,
    package: "palisade-webhook",
};

/// `palisade controller`.
pub const CONTROLLER: Tool = Tool {
    subcommand: "controller",
    binary: "palisade-controller",
    package: "palisade-controller",
};

/// Runs `palisade-serve` with `args`; on Unix it replaces this process, so signals (SIGTERM
/// for a graceful stop) reach the server directly.
pub fn run(args: &[OsString]) -> Result<ExitCode> {
    run_tool(SERVE, args)
}

/// Runs `tool`'s binary with `args`, as [`run`] does.
pub fn run_tool(tool: Tool, args: &[OsString]) -> Result<ExitCode> {
    let program = beside_current_exe(tool.binary).unwrap_or_else(|| PathBuf::from(tool.binary));
    let mut command = Command::new(&program);
    command.args(args);
    exec(command, &program, tool)
}

/// `binary` in the directory of the running executable, if it is there.
fn beside_current_exe(binary: &str) -> Option<PathBuf> {
    let dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    let candidate = dir.join(format!("{binary}{}", std::env::consts::EXE_SUFFIX));
    candidate.is_file().then_some(candidate)
}

fn missing(program: &Path, err: &std::io::Error, tool: Tool) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!(
            "`palisade {}` runs the {} binary, which is neither next to palisade nor on \
             PATH; build it with `cargo build --release -p {}` and put it beside \
             palisade",
            tool.subcommand,
            tool.binary,
            tool.package
        )
    } else {
        anyhow::anyhow!("cannot run {}: {err}", program.display())
    }
}

#[cfg(unix)]
fn exec(mut command: Command, program: &Path, tool: Tool) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt as _;
    // exec returns only on failure.
    let err = command.exec();
    Err(missing(program, &err, tool))
}

#[cfg(not(unix))]
fn exec(mut command: Command, program: &Path, tool: Tool) -> Result<ExitCode> {
    let status = command.status().map_err(|e| missing(program, &e, tool))?;
    match status.code() {
        Some(0) => Ok(ExitCode::SUCCESS),
        Some(code) => Ok(ExitCode::from(u8::try_from(code).unwrap_or(1))),
        None => anyhow::bail!("{} was stopped by a signal", tool.binary),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_missing_server_is_a_clear_error() {
        for (tool, hint) in [
            (SERVE, "cargo build --release -p palisade-webhook"),
            (CONTROLLER, "cargo build --release -p palisade-controller"),
        ] {
            let program = PathBuf::from("/nonexistent/palisade-tool");
            let err = exec(Command::new(&program), &program, tool).expect_err("no such program");
            let text = err.to_string();
            assert!(text.contains(hint), "{text}");
            assert!(text.contains(tool.binary), "{text}");
        }
    }
}
