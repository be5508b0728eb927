//! Workflows: what the user asks for, from start to report, used alike by
//! the command line and the window. Each takes typed options, reports
//! [`Progress`] through a callback, stops between files when its cancel flag
//! is set, and returns a typed report (`Display` for people, `Serialize`
//! for `--json`).

pub mod apply;
pub mod classify;
pub mod decide;
pub mod retrain;
pub mod scan;
pub mod train;

use std::time::{Duration, Instant};

/// A stage of a long workflow, named in progress bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Walking,
    Scanning,
    Classifying,
    Retraining,
    Writing,
    Undoing,
    /// Decoding or embedding labelled tracks to train on.
    Training,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Phase::Walking => "Looking for audio files",
            Phase::Scanning => "Reading tags",
            Phase::Classifying => "Classifying",
            Phase::Retraining => "Retraining",
            Phase::Writing => "Writing tags",
            Phase::Undoing => "Undoing tag writes",
            Phase::Training => "Reading the training tracks",
        })
    }
}

/// What a long workflow reports while it runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// A new phase started.
    Phase(Phase),
    /// `done` of `total` items (`total` 0: not known yet); `current` names
    /// the item being worked on.
    Step {
        done: usize,
        total: usize,
        current: String,
    },
    /// A per-file problem; the work goes on.
    FileError { path: String, message: String },
    /// Results were committed to the library: views may reload.
    Landed,
    /// A sentence for the user: a training epoch, how the thresholds were
    /// calibrated, an eval set's figures.
    Note(String),
}

/// Sends [`Progress::Landed`] at most once a second, however often a
/// workflow commits: each one makes the window reload its views.
struct Landing {
    last: Option<Instant>,
}

impl Landing {
    fn new() -> Self {
        Self { last: None }
    }

    fn maybe(&mut self, on: &mut dyn FnMut(Progress)) {
        if self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            self.last = Some(Instant::now());
            on(Progress::Landed);
        }
    }
}

/// Reports each failed file of a write or undo.
fn report_file_errors(outcomes: &[crate::tags::FileOutcome], on: &mut dyn FnMut(Progress)) {
    for o in outcomes {
        if let Some(e) = &o.error {
            on(Progress::FileError {
                path: o.path.display().to_string(),
                message: e.clone(),
            });
        }
    }
}
