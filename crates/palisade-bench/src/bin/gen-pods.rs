//! Writes N typical Pods as one YAML stream (JSON documents, which YAML accepts) to stdout:
//! `cargo run --release -p palisade-bench --bin gen-pods -- 10000 > pods.yaml`.

use std::io::Write;

fn main() -> std::process::ExitCode {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 10_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("usage: gen-pods [COUNT]: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for i in 0..n {
        let pod = palisade_bench::typical_pod(i);
        if writeln!(out, "---\n{pod}").is_err() {
            return std::process::ExitCode::from(1);
        }
    }
    if out.flush().is_err() {
        return std::process::ExitCode::from(1);
    }
    std::process::ExitCode::SUCCESS
}
