//! Writing decided genres into files, and undoing a batch of writes, for
//! `sonotag apply` / `undo` and the window, with per-file progress and a
//! cancel that stops between files.

use super::{Phase, Progress, report_file_errors};
use crate::cancel::Cancel;
use crate::store::Library;
use crate::tags::{self, ApplyReport, PlannedWrite, UndoReport, Watch, WriteSettings};
use std::path::Path;

/// Writes the `Fill` and `Replace` lines of `plan` as one batch.
pub fn write_tags(
    lib: &mut Library,
    plan: &[PlannedWrite],
    settings: WriteSettings,
    cancel: &Cancel,
    on: &mut dyn FnMut(Progress),
) -> anyhow::Result<ApplyReport> {
    on(Progress::Phase(Phase::Writing));
    let report = tags::apply_watched(
        lib,
        plan,
        settings,
        Watch {
            cancel,
            progress: &mut step(on),
        },
        None,
    )?;
    for r in &report.recovered {
        on(Progress::FileError {
            path: r.path.display().to_string(),
            message: r.message.clone(),
        });
    }
    report_file_errors(&report.outcomes, on);
    on(Progress::Landed);
    Ok(report)
}

/// Restores the files of `batch` (default: the latest batch not undone).
pub fn undo_tags(
    lib: &mut Library,
    batch: Option<i64>,
    settings: WriteSettings,
    cancel: &Cancel,
    on: &mut dyn FnMut(Progress),
) -> anyhow::Result<UndoReport> {
    on(Progress::Phase(Phase::Undoing));
    let report = tags::undo_watched(
        lib,
        batch,
        settings,
        Watch {
            cancel,
            progress: &mut step(on),
        },
    )?;
    report_file_errors(&report.outcomes, on);
    on(Progress::Landed);
    Ok(report)
}

fn step(on: &mut dyn FnMut(Progress)) -> impl FnMut(usize, usize, &Path) + '_ {
    move |done, total, path| {
        on(Progress::Step {
            done,
            total,
            current: path.display().to_string(),
        })
    }
}
