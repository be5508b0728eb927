//! The `sonotag` binary: command line (clap) and GUI launch only; all work is
//! done by the library crate.

mod cli;
mod ui;

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // Symphonia warns about every damaged MP3 frame, which Sonotag
                // already counts per file.
                .unwrap_or_else(|_| "warn,symphonia_bundle_mp3=error,symphonia_core=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    sonotag::audio::install_panic_hook();
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
