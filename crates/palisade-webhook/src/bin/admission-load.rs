//! `admission-load`: a loopback load generator for the webhook (see
//! `palisade_webhook::loadgen`).

use clap::Parser;
use palisade_webhook::loadgen::{Cli, Command, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Certs { out } => write_certs(&out),
        Command::Run(args) => runtime(args.threads)
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(run(args))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("admission-load: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// One thread: a current-thread runtime (no wake-ups across threads); more: a pool.
fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

fn write_certs(out: &std::path::Path) -> anyhow::Result<()> {
    let pki = palisade_webhook::certs::self_signed(&["localhost", "127.0.0.1"])?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("ca.pem"), pki.ca_pem)?;
    std::fs::write(out.join("tls.crt"), pki.cert_pem)?;
    std::fs::write(out.join("tls.key"), pki.key_pem)?;
    println!("wrote ca.pem, tls.crt and tls.key to {}", out.display());
    Ok(())
}
