//! Retraining from the user's decisions, the door every front end uses:
//! [`retrain_head`] (`sonotag retrain`, Retrain in the window; the method
//! lives in [`crate::ml::corrections`]), [`retrain_full`] (the from-scratch network
//! fine-tuned whole), [`use_model`] (switching models), and the library's
//! trusted labels as training rows for `sonotag train --from-library`.

use crate::cancel::Cancel;
use crate::config::genres::Vocabulary;
use crate::ml::corrections;
use crate::ml::model::ModelCard;
use crate::ml::model::{self, Model};
use crate::ml::network::Network;
use crate::ml::scratch_training::{self, LabelRow, TrainOptions};
use crate::store::Library;
use crate::workflow::Progress;
use crate::workflow::train::{classes_and_inputs, reading, report_skipped};
use anyhow::Context;
use std::path::Path;

/// The library's trusted labels (decisions, then known tags) as rows.
pub fn library_rows(lib: &Library, vocab: &Vocabulary) -> anyhow::Result<Vec<LabelRow>> {
    let mut rows = Vec::new();
    for l in corrections::trusted_labels(lib, vocab)? {
        if let Some(t) = lib.track(l.track_id)? {
            rows.push(LabelRow {
                genre: l.genre,
                path: t.path,
                split: None,
                source: "library".into(),
            });
        }
    }
    Ok(rows)
}

/// A new head from the base set and the user's labels (see
/// [`crate::ml::corrections`]), reporting its phase and when it landed.
pub fn retrain_head(
    lib: &mut Library,
    vocab: &Vocabulary,
    models_dir: &Path,
    options: &corrections::RetrainOptions,
    on: &mut dyn FnMut(super::Progress),
) -> anyhow::Result<corrections::RetrainReport> {
    on(super::Progress::Phase(super::Phase::Retraining));
    let report = corrections::retrain_head(lib, vocab, models_dir, options)?;
    on(super::Progress::Landed);
    Ok(report)
}

/// What a full retrain made.
#[derive(Clone, Debug)]
pub struct FullRetrainReport {
    pub model_name: String,
    pub classes: Vec<String>,
    pub tracks: usize,
}

impl std::fmt::Display for FullRetrainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "new model {} with {} genres from {} tracks; classify the library to analyse it with the new model",
            self.model_name,
            self.classes.len(),
            self.tracks
        )
    }
}

/// Fine-tunes the active from-scratch model on the library's trusted
/// labels, registers the result under `models_dir` and makes it active.
/// Models on a frozen backbone are refused: only their head can learn.
pub fn retrain_full(
    lib: &mut Library,
    vocab: &Vocabulary,
    models_dir: &Path,
    seed: u64,
    events: &(dyn Fn(Progress) + Sync),
) -> anyhow::Result<FullRetrainReport> {
    events(Progress::Phase(super::Phase::Training));
    let parent = lib
        .active_model::<ModelCard>()?
        .context("no model in this library yet: run `sonotag classify` first")?;
    let base_model = Model::load(&parent.path)?;
    let Network::Scratch(base_net) = base_model.net else {
        anyhow::bail!(
            "model {} sits on the frozen {} backbone, so only its head can learn: run `sonotag retrain` (without --full)",
            parent.name,
            base_model.card.backbone.name
        );
    };
    let rows = library_rows(lib, vocab)?;
    let row_refs: Vec<&LabelRow> = rows.iter().collect();
    let (classes, inputs) = classes_and_inputs(&row_refs, "the library's decided tracks")?;
    let (examples, skipped) =
        scratch_training::load_examples(&inputs, &|done, total| events(reading(done, total)));
    report_skipped(&skipped, events);
    let arch = base_model.card.architecture.clone().unwrap_or_default();
    let cancel = Cancel::new();
    let opts = TrainOptions {
        seed,
        learning_rate: 3e-4,
        ..Default::default()
    };
    let trained = scratch_training::train(
        &examples,
        &classes,
        &arch,
        Some(base_net),
        &opts,
        &cancel,
        &mut |e| events(Progress::Note(e.to_string())),
    )?;
    let name = format!("personal-full-{}", lib.models::<ModelCard>()?.len() + 1);
    let mut card = base_model.card.clone();
    card.name = name.clone();
    card.classes = classes.clone();
    card.created = model::today();
    card.training.command = "sonotag retrain --full".into();
    card.training.per_class = trained.per_class.clone();
    card.metrics.clear();
    let base = models_dir.join(&name);
    let model = Model {
        card,
        net: Network::Scratch(trained.net),
        base: base.clone(),
    };
    model.save(&base)?;
    let id = lib.register_model(&model.card.name, &model.base, &model.card, Some(parent.id))?;
    lib.set_active_model(id)?;
    Ok(FullRetrainReport {
        model_name: name,
        classes,
        tracks: examples.len(),
    })
}

/// What switching models did.
#[derive(Clone, Debug)]
pub struct UseModelReport {
    pub name: String,
    pub revoted: usize,
}

impl std::fmt::Display for UseModelReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is now the active model; {} tracks re-voted with it",
            self.name, self.revoted
        )
    }
}

/// Makes the registered model `name` active and re-votes the library's
/// proposals with its stored analyses (a model registered by a retrain has
/// them; one never used here needs `sonotag classify`).
pub fn use_model(lib: &mut Library, name: &str) -> anyhow::Result<UseModelReport> {
    let models = lib.models::<ModelCard>()?;
    let row = models.iter().find(|m| m.name == name).with_context(|| {
        format!(
            "no model {name} in this library; registered: {}",
            models
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    lib.set_active_model(row.id)?;
    let revoted =
        crate::catalog::analyse::revote(lib, row.id, &row.card.classes, row.card.thresholds)?;
    Ok(UseModelReport {
        name: name.to_string(),
        revoted,
    })
}
