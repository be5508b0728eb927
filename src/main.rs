//! The `sonotag` binary: command line (clap) and GUI launch only; all work is
//! done by the library crate.

mod cli;
mod playback;
mod ui;

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // The decoders and lofty log every damaged frame or odd atom
                // they meet; Sonotag reports those per file in its own words
                // (`sonotag errors`), so their own logs stay quiet
                // (`RUST_LOG=symphonia=warn` shows them).
                .unwrap_or_else(|_| "warn,symphonia=off,lofty=off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    sonotag_core::audio::install_panic_hook();
    // Like any Unix filter: a closed pipe (`sonotag tracks | head`) ends the
    // program quietly instead of a panic on the next write.
    // SAFETY: called once at start, before any other thread exists.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
