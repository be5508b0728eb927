//! Background jobs for the GUI: scan → classify, retrain, apply, undo.
//!
//! A job runs on its own thread with its own library connection (WAL lets
//! the window keep reading), reports [`Event`]s through a callback, and
//! stops between files when its cancel flag is set. Everything a job
//! finishes is committed as it goes, so quitting mid-job loses nothing and
//! the next run resumes.

use crate::classify;
use crate::genres::Vocabulary;
use crate::paths::Paths;
use crate::retrain::{self, RetrainOptions};
use crate::scan::{self, ScanProgress};
use crate::store::Library;
use crate::tags::{self, PlannedWrite, WriteSettings};
use crate::vote::Thresholds;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A job to run in the background.
#[derive(Clone, Debug)]
pub enum Job {
    /// Scan folders, then classify what is new.
    ScanAndClassify(Vec<PathBuf>),
    /// Classify what is not analysed yet.
    Classify,
    /// Train a new head from trusted labels.
    Retrain,
    /// Write planned genres.
    Apply(Vec<PlannedWrite>, WriteSettings),
    /// Undo the latest batch.
    Undo(WriteSettings),
}

/// What a job reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A new phase started ("Scanning", "Classifying", …).
    Phase(String),
    /// Progress within the phase.
    Progress {
        done: usize,
        total: usize,
        current: String,
        /// Items per second so far in this phase.
        rate: f64,
    },
    /// A per-file problem (the job goes on).
    FileError { path: String, message: String },
    /// Results landed in the library: views should reload.
    Landed,
    /// The job ended; the text summarises it.
    Finished(String),
    /// The job could not go on.
    Failed(String),
}

/// Starts `job` on a thread; returns its cancel flag.
pub fn start(
    paths: Paths,
    job: Job,
    thresholds: Option<Thresholds>,
    send: impl Fn(Event) + Send + 'static,
) -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    std::thread::Builder::new()
        .name("sonotag-worker".into())
        .spawn(move || {
            let result = run(&paths, job, thresholds, &flag, &send);
            send(match result {
                Ok(summary) => Event::Finished(summary),
                Err(e) => Event::Failed(format!("{e:#}")),
            });
        })
        .expect("spawn worker thread");
    cancel
}

fn run(
    paths: &Paths,
    job: Job,
    thresholds: Option<Thresholds>,
    cancel: &AtomicBool,
    send: &dyn Fn(Event),
) -> anyhow::Result<String> {
    let mut lib = Library::open(&paths.database)?;
    match job {
        Job::ScanAndClassify(roots) => {
            send(Event::Phase("Scanning".into()));
            let started = Instant::now();
            let (summary, problems) = scan::scan(&mut lib, &roots, cancel, &mut |p| match p {
                ScanProgress::Walking { found } => send(Event::Progress {
                    done: 0,
                    total: 0,
                    current: format!("{found} audio files found"),
                    rate: 0.0,
                }),
                ScanProgress::Reading {
                    done,
                    total,
                    current,
                } => {
                    send(Event::Progress {
                        done: *done,
                        total: *total,
                        current: current.display().to_string(),
                        rate: *done as f64 / started.elapsed().as_secs_f64().max(1e-3),
                    });
                    send(Event::Landed);
                }
            })?;
            for p in problems {
                send(Event::FileError {
                    path: p.path.display().to_string(),
                    message: p.message,
                });
            }
            send(Event::Landed);
            if summary.cancelled || cancel.load(Ordering::Relaxed) {
                return Ok("Scan cancelled; what was scanned is kept".into());
            }
            let scanned = format!(
                "{} added, {} updated, {} unchanged, {} missing, {} errors",
                summary.added, summary.updated, summary.unchanged, summary.missing, summary.errors
            );
            let classified = classify_all(&mut lib, thresholds, cancel, send)?;
            Ok(format!("Scan: {scanned}. {classified}"))
        }
        Job::Classify => classify_all(&mut lib, thresholds, cancel, send),
        Job::Retrain => {
            send(Event::Phase("Retraining".into()));
            let vocab = Vocabulary::load(&paths.vocabulary)?;
            let r =
                retrain::retrain_head(&mut lib, &vocab, &paths.models, &RetrainOptions::default())?;
            send(Event::Landed);
            Ok(r.to_string())
        }
        Job::Apply(plan, settings) => {
            send(Event::Phase("Writing tags".into()));
            let report = tags::apply(&mut lib, &plan, settings)?;
            for o in &report.outcomes {
                if let Some(e) = &o.error {
                    send(Event::FileError {
                        path: o.path.display().to_string(),
                        message: e.clone(),
                    });
                }
            }
            send(Event::Landed);
            Ok(report.to_string())
        }
        Job::Undo(settings) => {
            send(Event::Phase("Undoing".into()));
            let (batch, outcomes) = tags::undo(&mut lib, None, settings)?;
            for o in &outcomes {
                if let Some(e) = &o.error {
                    send(Event::FileError {
                        path: o.path.display().to_string(),
                        message: e.clone(),
                    });
                }
            }
            send(Event::Landed);
            Ok(tags::undo_summary(batch, &outcomes))
        }
    }
}

fn classify_all(
    lib: &mut Library,
    thresholds: Option<Thresholds>,
    cancel: &AtomicBool,
    send: &dyn Fn(Event),
) -> anyhow::Result<String> {
    send(Event::Phase("Classifying".into()));
    let (model_id, model) = classify::resolve_model(lib, None)?;
    let th = thresholds.unwrap_or(model.card.thresholds);
    let started = Instant::now();
    let mut last_landed = Instant::now();
    let summary = classify::classify(
        lib,
        model_id,
        &model,
        th,
        false,
        Some(classify::DEFAULT_SAMPLE_SLICES),
        cancel,
        &mut |p| {
            send(Event::Progress {
                done: p.done,
                total: p.total,
                current: p.current.display().to_string(),
                rate: p.done as f64 / started.elapsed().as_secs_f64().max(1e-3),
            });
            // Batches are committed every 32 tracks or 2 s.
            if last_landed.elapsed().as_millis() > 1000 {
                send(Event::Landed);
                last_landed = Instant::now();
            }
        },
    )?;
    send(Event::Landed);
    Ok(format!(
        "Classified {} ({} unsure), {} errors{}",
        summary.classified,
        summary.unsure,
        summary.errors,
        if summary.cancelled {
            " — cancelled, resumes next time"
        } else {
            ""
        }
    ))
}
