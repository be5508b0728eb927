//! The window's background jobs as iced tasks: scan → classify, classify,
//! retrain, write tags, undo a write.
//!
//! A job runs one workflow (`sonotag_core::workflow`) on its own thread
//! with its own library connection (WAL lets the window keep reading) and
//! streams [`Update`]s back as a task. Steps are thinned to at most 20 a
//! second, so a fast job never floods the window with redraws. Cancel sets
//! a flag the workflow checks between files: what is finished stays
//! committed, and the next run resumes.

use iced::Task;
use iced::futures::channel::mpsc;
use sonotag_core::cancel::Cancel;
use sonotag_core::config::genres::Vocabulary;
use sonotag_core::config::paths::Paths;
use sonotag_core::ml::corrections::RetrainOptions;
use sonotag_core::proposal::Thresholds;
use sonotag_core::store::Library;
use sonotag_core::tags::{PlannedWrite, WriteSettings};
use sonotag_core::workflow::{self, Phase, Progress};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A job to run in the background.
#[derive(Clone, Debug)]
pub enum Job {
    /// Scan folders, then classify what is new.
    ScanAndClassify(Vec<PathBuf>),
    /// Classify what is not analysed yet.
    Classify,
    /// Train a new head from trusted labels (genre tags too when asked).
    Retrain { use_tags: bool },
    /// Write planned genres.
    Apply(Vec<PlannedWrite>, WriteSettings),
    /// Undo the latest batch.
    Undo(WriteSettings),
}

/// What a running job tells the window.
#[derive(Clone, Debug)]
pub enum Update {
    Progress(Progress),
    /// The job ended: its typed report, or why it could not go on.
    Finished(Result<Report, String>),
}

/// What a finished job did, as the workflow reported it (the window says
/// it in words, and hands it to the screen it concerns).
#[derive(Clone, Debug)]
pub enum Report {
    /// A folder scanned, then classified unless the scan was cancelled.
    Scanned(
        workflow::scan::ScanReport,
        Option<workflow::classify::ClassifyReport>,
    ),
    Classified(workflow::classify::ClassifyReport),
    Retrained(sonotag_core::ml::corrections::RetrainReport),
    Wrote(sonotag_core::tags::ApplyReport),
    Undid(sonotag_core::tags::UndoReport),
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Report::Scanned(scan, None) => write!(f, "Scan: {scan}"),
            Report::Scanned(scan, Some(classified)) => {
                write!(f, "Scan: {scan}. Classify: {classified}")
            }
            Report::Classified(r) => r.fmt(f),
            Report::Retrained(r) => r.fmt(f),
            Report::Wrote(r) => r.fmt(f),
            Report::Undid(r) => r.fmt(f),
        }
    }
}

/// A job in flight, as the progress line shows it.
pub struct Running {
    cancel: Cancel,
    pub phase: Option<Phase>,
    pub done: usize,
    pub total: usize,
    pub current: String,
    phase_started: Instant,
}

impl Running {
    /// Items per second in the current phase.
    pub fn rate(&self) -> f64 {
        self.done as f64 / self.phase_started.elapsed().as_secs_f64().max(1e-3)
    }

    /// Asks the job to stop after the file it is working on.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    pub fn cancelling(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Takes one progress event.
    pub fn on(&mut self, p: &Progress) {
        match p {
            Progress::Phase(phase) => {
                self.phase = Some(*phase);
                self.done = 0;
                self.total = 0;
                self.current.clear();
                self.phase_started = Instant::now();
            }
            Progress::Step {
                done,
                total,
                current,
            } => {
                self.done = *done;
                self.total = *total;
                self.current.clone_from(current);
            }
            Progress::FileError { .. } | Progress::Landed | Progress::Note(_) => {}
        }
    }
}

/// Starts `job`; the task yields its updates, the last one `Finished`.
pub fn start(paths: Paths, job: Job, thresholds: Option<Thresholds>) -> (Running, Task<Update>) {
    let cancel = Cancel::new();
    let flag = cancel.clone();
    let (tx, rx) = mpsc::unbounded();
    std::thread::Builder::new()
        .name("sonotag-job".into())
        .spawn(move || {
            let mut last_step = Instant::now() - STEP_EVERY;
            let mut send = |p: Progress| {
                // Steps are thinned; the last one of a phase always goes.
                if let Progress::Step { done, total, .. } = &p
                    && done < total
                    && last_step.elapsed() < STEP_EVERY
                {
                    return;
                }
                if matches!(p, Progress::Step { .. }) {
                    last_step = Instant::now();
                }
                let _ = tx.unbounded_send(Update::Progress(p));
            };
            let result = run(&paths, job, thresholds, &flag, &mut send);
            let _ = tx.unbounded_send(Update::Finished(result.map_err(|e| format!("{e:#}"))));
        })
        .expect("spawn a job thread");
    let running = Running {
        cancel,
        phase: None,
        done: 0,
        total: 0,
        current: String::new(),
        phase_started: Instant::now(),
    };
    (running, Task::run(rx, |u| u))
}

const STEP_EVERY: Duration = Duration::from_millis(50);

fn run(
    paths: &Paths,
    job: Job,
    thresholds: Option<Thresholds>,
    cancel: &Cancel,
    on: &mut dyn FnMut(Progress),
) -> anyhow::Result<Report> {
    let mut lib = Library::open(&paths.database)?;
    let classify = |lib: &mut Library, on: &mut dyn FnMut(Progress)| {
        workflow::classify::classify_library(
            lib,
            &workflow::classify::ClassifyRequest {
                voting: sonotag_core::ml::look::Voting::SecondLook,
                thresholds,
                ..Default::default()
            },
            cancel,
            on,
        )
    };
    match job {
        Job::ScanAndClassify(roots) => {
            let scan = workflow::scan::scan_folders(&mut lib, &roots, cancel, on)?;
            if scan.summary.cancelled || cancel.is_cancelled() {
                return Ok(Report::Scanned(scan, None));
            }
            let classified = classify(&mut lib, on)?;
            Ok(Report::Scanned(scan, Some(classified)))
        }
        Job::Classify => Ok(Report::Classified(classify(&mut lib, on)?)),
        Job::Retrain { use_tags } => {
            let vocab = Vocabulary::load(&paths.vocabulary)?;
            let options = RetrainOptions {
                use_tags,
                ..Default::default()
            };
            let r = workflow::retrain::retrain_head(&mut lib, &vocab, &paths.models, &options, on)?;
            Ok(Report::Retrained(r))
        }
        Job::Apply(plan, settings) => Ok(Report::Wrote(workflow::apply::write_tags(
            &mut lib, &plan, settings, cancel, on,
        )?)),
        Job::Undo(settings) => Ok(Report::Undid(workflow::apply::undo_tags(
            &mut lib, None, settings, cancel, on,
        )?)),
    }
}
