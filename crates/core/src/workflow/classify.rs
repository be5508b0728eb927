//! Classifying the library's new tracks with the active model, for `sonotag
//! classify` and the window (after a scan, or on request).

use super::{Landing, Phase, Progress};
use crate::cancel::Cancel;
use crate::catalog::analyse::{self, ClassifySummary};
use crate::ml::look::Voting;
use crate::proposal::Thresholds;
use crate::store::Library;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// What to classify, and how.
#[derive(Clone, Debug, Default)]
pub struct ClassifyRequest {
    /// A model file to use and make active (default: the active model, else
    /// the shipped one).
    pub model: Option<PathBuf>,
    /// Redo tracks already analysed with the model.
    pub force: bool,
    /// Which patches are analysed and vote.
    pub voting: Voting,
    /// Voting thresholds (default: the model's own).
    pub thresholds: Option<Thresholds>,
}

/// What a classification run did.
#[derive(Clone, Debug, Serialize)]
pub struct ClassifyReport {
    pub model: String,
    #[serde(flatten)]
    pub summary: ClassifySummary,
    pub seconds: f64,
    /// Tracks that could not be analysed: (path, cause).
    pub errors: Vec<(String, String)>,
}

impl std::fmt::Display for ClassifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.summary;
        if s.classified + s.errors == 0 && !s.cancelled {
            // No rate to give for no work.
            return write!(
                f,
                "model {}: 0 classified, {} already done: nothing new",
                self.model, s.already_done
            );
        }
        write!(
            f,
            "model {}: {} classified ({} unsure), {}, {} already done, in {:.1} s ({:.1} tracks/s){}",
            self.model,
            s.classified,
            s.unsure,
            crate::words::counted(s.errors, "error", "errors"),
            s.already_done,
            self.seconds,
            (s.classified + s.errors) as f64 / self.seconds.max(1e-9),
            if s.cancelled {
                "; cancelled, the rest is classified next time"
            } else {
                ""
            }
        )
    }
}

/// Classifies every track the model has not analysed yet; results are
/// committed as they come, so a cancelled run resumes where it stopped.
pub fn classify_library(
    lib: &mut Library,
    request: &ClassifyRequest,
    cancel: &Cancel,
    on: &mut dyn FnMut(Progress),
) -> anyhow::Result<ClassifyReport> {
    on(Progress::Phase(Phase::Classifying));
    let (model_id, model) = analyse::resolve_model(lib, request.model.as_deref())?;
    let thresholds =
        crate::proposal::Thresholds::in_force(request.thresholds, Some(model.card.thresholds));
    // Proposals stored before unsure tracks kept their leaning genre get it
    // from the stored probabilities (no decoding, well under a second).
    if lib.proposals_without_leaning(model_id)? > 0 {
        analyse::revote(lib, model_id, &model.card.classes, thresholds)?;
    }
    let started = Instant::now();
    let mut landing = Landing::new();
    let summary = analyse::classify(
        lib,
        model_id,
        &model,
        thresholds,
        request.force,
        request.voting,
        cancel,
        &mut |p| {
            on(Progress::Step {
                done: p.done,
                total: p.total,
                current: p.current.display().to_string(),
            });
            landing.maybe(on);
        },
    )?;
    on(Progress::Landed);
    let errors = if summary.errors > 0 {
        lib.analysis_errors(model_id)?
    } else {
        Vec::new()
    };
    for (path, message) in &errors {
        on(Progress::FileError {
            path: path.clone(),
            message: message.clone(),
        });
    }
    Ok(ClassifyReport {
        model: model.card.name.clone(),
        summary,
        seconds: started.elapsed().as_secs_f64(),
        errors,
    })
}
