//! `palisade-controller`: background scans and PolicyReports (also run as
//! `palisade controller`).

use clap::Parser;
use palisade_controller::ControllerArgs;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = ControllerArgs::parse();
    palisade_controller::init_logging(args.log_format);
    // Scans run on blocking threads, bounded by the worker count; async work is I/O only.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(args.workers() + 2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("palisade-controller: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(palisade_controller::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("palisade-controller: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
