//! Scanning folders into the library, for `sonotag scan` and the window's
//! Open.

use super::{Landing, Phase, Progress};
use crate::cancel::Cancel;
use crate::catalog::walk::{self, FileProblem, ScanProgress, ScanSummary};
use crate::store::Library;
use serde::Serialize;
use std::path::PathBuf;

/// What a scan found.
#[derive(Clone, Debug, Serialize)]
pub struct ScanReport {
    #[serde(flatten)]
    pub summary: ScanSummary,
    /// The files that could not be read, each with its cause.
    pub problems: Vec<FileProblem>,
}

impl std::fmt::Display for ScanReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.summary;
        write!(
            f,
            "{} added, {} updated, {} unchanged, {} moved, {} missing, {}, {} skipped",
            s.added,
            s.updated,
            s.unchanged,
            s.moved,
            s.missing,
            crate::words::counted(s.errors, "error", "errors"),
            s.skipped,
        )?;
        if s.skipped_audio > 0 {
            write!(
                f,
                " ({} of them audio this build cannot decode)",
                s.skipped_audio
            )?;
        }
        if s.audio_changed > 0 {
            write!(
                f,
                "; {} changed recording in place, to be analysed again",
                s.audio_changed
            )?;
        }
        for root in &s.gone {
            write!(
                f,
                "; {root} is not there (its tracks are kept as they were)"
            )?;
        }
        if s.cancelled {
            write!(f, " (cancelled: what was scanned is kept)")?;
        }
        Ok(())
    }
}

/// Scans `roots` into `lib`: new and changed files are read, vanished ones
/// marked missing, unreadable ones recorded with their cause.
pub fn scan_folders(
    lib: &mut Library,
    roots: &[PathBuf],
    cancel: &Cancel,
    on: &mut dyn FnMut(Progress),
) -> anyhow::Result<ScanReport> {
    on(Progress::Phase(Phase::Walking));
    let mut reading = false;
    let mut landing = Landing::new();
    let (summary, problems) = walk::scan(lib, roots, cancel, &mut |p| match p {
        ScanProgress::Walking { found } => on(Progress::Step {
            done: *found,
            total: 0,
            current: String::new(),
        }),
        ScanProgress::Reading {
            done,
            total,
            current,
        } => {
            if !reading {
                reading = true;
                on(Progress::Phase(Phase::Scanning));
            }
            on(Progress::Step {
                done: *done,
                total: *total,
                current: current.display().to_string(),
            });
            landing.maybe(on);
        }
    })?;
    for p in &problems {
        on(Progress::FileError {
            path: p.path.display().to_string(),
            message: p.message.clone(),
        });
    }
    on(Progress::Landed);
    Ok(ScanReport { summary, problems })
}
