//! Draws a workflow's [`Progress`] on the terminal: a spinner while the
//! total is unknown, then a bar with rate and ETA; per-file errors are
//! printed above it as they come.

use indicatif::{ProgressBar, ProgressStyle};
use sonotag_core::workflow::{Phase, Progress};

/// A progress display for one workflow run.
pub struct Terminal {
    bar: ProgressBar,
    phase: Option<Phase>,
    counting: bool,
}

impl Terminal {
    pub fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        Self {
            bar,
            phase: None,
            counting: false,
        }
    }

    /// Takes one event of the workflow.
    pub fn on(&mut self, p: Progress) {
        match p {
            Progress::Phase(phase) => {
                self.phase = Some(phase);
                self.counting = false;
                self.bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix}: {msg}")
                        .expect("valid template"),
                );
                self.bar.set_prefix(phase.to_string());
                self.bar.set_position(0);
                self.bar.reset_eta();
            }
            Progress::Step {
                done,
                total: 0,
                current: _,
            } => {
                self.bar.set_message(format!("{done} found"));
                self.bar.tick();
            }
            Progress::Step {
                done,
                total,
                current,
            } => {
                if !self.counting {
                    self.counting = true;
                    self.bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix} {bar:30} {pos}/{len}  {per_sec}  ETA {eta}  {wide_msg}",
                        )
                        .expect("valid template"),
                    );
                }
                self.bar.set_length(total as u64);
                self.bar.set_position(done as u64);
                self.bar.set_message(current);
            }
            Progress::FileError { path, message } => {
                self.bar.suspend(|| eprintln!("  {path}: {message}"))
            }
            Progress::Landed => {}
            Progress::Note(n) => self.bar.suspend(|| eprintln!("{n}")),
        }
    }

    /// Removes the bar before the report is printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
