//! Personal retraining: a new classifier head from the user's trusted labels.
//!
//! Trusted labels are the user's accepted or overridden proposals (table
//! `labels`) plus existing genre tags mapped through the vocabulary. Any
//! genre with at least `min_tracks` labelled tracks becomes a class — the
//! user's own genres, not only the default eleven. A new head is trained on
//! the slice embeddings already stored by `classify` (no decoding, seconds),
//! saved as a new model version whose parent is the current model, and every
//! track is re-voted from its stored embeddings. A stratified share of the
//! labelled tracks is held out to report accuracy before and after.

use crate::classify;
use crate::genres::Vocabulary;
use crate::model::{Model, today};
use crate::rng::Rng;
use crate::store::{DecisionSource, Library};

use crate::vote;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Settings for a head retrain.
#[derive(Clone, Debug)]
pub struct RetrainOptions {
    pub seed: u64,
    /// A genre needs this many labelled tracks to become a class.
    pub min_tracks: usize,
    /// Fraction of labelled tracks held out for before/after accuracy.
    pub holdout: f32,
    /// Slices per track used for training (evenly spaced).
    pub max_slices_per_track: usize,
    /// Optimiser steps (mini-batches of up to 2,048 slices).
    pub epochs: usize,
}

impl Default for RetrainOptions {
    fn default() -> Self {
        Self {
            seed: 7,
            min_tracks: 3,
            holdout: 0.2,
            max_slices_per_track: 30,
            epochs: 300,
        }
    }
}

/// What a retrain did.
#[derive(Clone, Debug, Serialize)]
pub struct RetrainReport {
    pub model_id: i64,
    pub model_name: String,
    pub classes: Vec<String>,
    pub train_tracks: usize,
    pub heldout_tracks: usize,
    /// Accuracy of the previous model's proposals on held-out tracks.
    pub before: f32,
    /// Accuracy of the new head on the same tracks.
    pub after: f32,
    pub revoted: usize,
    pub seconds: f64,
    /// Labels per genre (all sources), including genres too small to train.
    pub labels_per_genre: BTreeMap<String, usize>,
    /// Analysed, labelled tracks a genre needs to become a class.
    pub min_tracks: usize,
}

impl std::fmt::Display for RetrainReport {
    /// The one-line summary both the window and the command line show.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "new model {} with {} genres ({}) from {} tracks in {:.1} s; on {} labelled tracks \
             kept out of training to check it, the proposals were right {:.1}% of the time \
             before and {:.1}% after; {} tracks re-voted",
            self.model_name,
            self.classes.len(),
            self.classes.join(", "),
            self.train_tracks,
            self.seconds,
            self.heldout_tracks,
            self.before * 100.0,
            self.after * 100.0,
            self.revoted
        )?;
        let dropped: Vec<String> = self
            .labels_per_genre
            .iter()
            .filter(|(g, _)| !self.classes.contains(g))
            .map(|(g, n)| format!("{g} ({n})"))
            .collect();
        if !dropped.is_empty() {
            write!(
                f,
                "; left out, with fewer than {} analysed labelled tracks: {}",
                self.min_tracks,
                dropped.join(", ")
            )?;
        }
        Ok(())
    }
}

/// A trusted label with its source.
#[derive(Clone, Debug, Serialize)]
pub struct TrustedLabel {
    pub track_id: i64,
    pub genre: String,
    pub source: DecisionSource,
}

/// Trusted labels of present tracks: the user's decisions first, then tags
/// that the vocabulary knows.
pub fn trusted_labels(lib: &Library, vocab: &Vocabulary) -> anyhow::Result<Vec<TrustedLabel>> {
    Ok(lib
        .track_labels()?
        .into_iter()
        .filter_map(|t| match t.decision {
            Some((genre, source)) => Some(TrustedLabel {
                track_id: t.track_id,
                genre,
                source,
            }),
            None => t
                .file_genres
                .iter()
                .find_map(|g| vocab.canonical(g))
                .map(|genre| TrustedLabel {
                    track_id: t.track_id,
                    genre,
                    source: DecisionSource::Tag,
                }),
        })
        .collect())
}

/// Trains a new head, registers it as the active model under `models_dir`,
/// and re-votes the library.
pub fn retrain_head(
    lib: &mut Library,
    vocab: &Vocabulary,
    models_dir: &Path,
    opts: &RetrainOptions,
) -> anyhow::Result<RetrainReport> {
    let started = std::time::Instant::now();
    let parent = lib.active_model()?.ok_or_else(|| {
        anyhow::anyhow!("no model in this library yet: run `sonotag classify` first")
    })?;
    let mut model = Model::load(&parent.path)?;
    let labels = trusted_labels(lib, vocab)?;
    let mut labels_per_genre: BTreeMap<String, usize> = BTreeMap::new();
    for l in &labels {
        *labels_per_genre.entry(l.genre.clone()).or_default() += 1;
    }
    // Only tracks analysed by the parent can contribute embeddings.
    let analysed: std::collections::HashSet<i64> =
        lib.analysed_track_ids(parent.id)?.into_iter().collect();
    let usable: Vec<&TrustedLabel> = labels
        .iter()
        .filter(|l| analysed.contains(&l.track_id))
        .collect();
    let mut per_class: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for l in &usable {
        per_class
            .entry(l.genre.clone())
            .or_default()
            .push(l.track_id);
    }
    per_class.retain(|_, ids| ids.len() >= opts.min_tracks);
    anyhow::ensure!(
        per_class.len() >= 2,
        "retraining needs at least two genres with {} or more analysed, labelled tracks; labels per genre now: {:?}",
        opts.min_tracks,
        labels_per_genre
    );
    let classes: Vec<String> = per_class.keys().cloned().collect();
    let mut rng = Rng::new(opts.seed);
    let (mut train_tracks, mut held) = (Vec::new(), Vec::new());
    for (c, ids) in per_class.values().enumerate() {
        let mut ids = ids.clone();
        for i in (1..ids.len()).rev() {
            ids.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let n_held = if ids.len() >= 5 {
            ((ids.len() as f32 * opts.holdout).round() as usize).max(1)
        } else {
            0
        };
        held.extend(ids[..n_held].iter().map(|&t| (t, c)));
        train_tracks.extend(ids[n_held..].iter().map(|&t| (t, c)));
    }

    // Embeddings of the training tracks (capped, evenly spaced slices).
    let dim = model.net.embedding_dim();
    let (mut x, mut y, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for &(track, c) in &train_tracks {
        let a = lib.analysis(track, parent.id)?.expect("analysed");
        let take = a.slices.min(opts.max_slices_per_track);
        for k in 0..take {
            let s = if take > 1 {
                k * (a.slices - 1) / (take - 1)
            } else {
                0
            };
            x.extend_from_slice(&a.embeddings[s * dim..(s + 1) * dim]);
            y.push(c as u32);
            w.push(1.0 / take as f32);
        }
    }
    let before = heldout_accuracy(lib, parent.id, &held, &classes)?;
    model
        .net
        .retrain_head(&x, &y, &w, classes.len(), opts.seed, opts.epochs)?;

    // The new version.
    let version = lib.models()?.len() + 1;
    let name = format!("personal-{version}");
    let base = models_dir.join(&name);
    model.card.name = name.clone();
    model.card.classes = classes.clone();
    model.card.created = today();
    model.card.training.head_only = true;
    model.card.training.command = "sonotag retrain".into();
    model.card.training.seed = opts.seed;
    model.card.training.sources = vec![format!("library (parent model {})", parent.name)];
    model.card.training.per_class = per_class
        .iter()
        .map(|(g, ids)| {
            (
                g.clone(),
                crate::model::ClassCount {
                    tracks: ids.len(),
                    slices: 0,
                },
            )
        })
        .collect();
    model.card.parameters = model.net.parameters();
    model.card.mflops_per_slice = model.net.mflops_per_patch();
    model.card.metrics.clear();
    model.base = base.clone();
    model.save(&base)?;
    let id = lib.register_model(&model, Some(parent.id))?;
    let thresholds = model.card.thresholds;
    let revoted = classify::revote_from_embeddings(lib, parent.id, id, &model, thresholds)?;
    let after = heldout_accuracy(lib, id, &held, &classes)?;
    model.card.metrics.insert(
        "held-out library tracks".into(),
        serde_json::json!({ "tracks": held.len(), "before": before, "after": after }),
    );
    model.save(&base)?;
    lib.register_model(&model, Some(parent.id))?;
    lib.set_active_model(id)?;
    lib.set_model_parent(id, parent.id)?;
    Ok(RetrainReport {
        model_id: id,
        model_name: name,
        classes,
        train_tracks: train_tracks.len(),
        heldout_tracks: held.len(),
        before,
        after,
        revoted,
        seconds: started.elapsed().as_secs_f64(),
        labels_per_genre,
        min_tracks: opts.min_tracks,
    })
}

/// Share of held-out tracks whose plurality vote under `model_id` names
/// their label (proposals of models with other class sets compare by name).
fn heldout_accuracy(
    lib: &Library,
    model_id: i64,
    held: &[(i64, usize)],
    classes: &[String],
) -> anyhow::Result<f32> {
    if held.is_empty() {
        return Ok(0.0);
    }
    let row = lib
        .models()?
        .into_iter()
        .find(|m| m.id == model_id)
        .ok_or_else(|| anyhow::anyhow!("model {model_id} not registered"))?;
    let mut right = 0;
    for &(track, c) in held {
        if let Some(a) = lib.analysis(track, model_id)? {
            let p = vote::vote(
                &a.probabilities,
                row.card.classes.len(),
                row.card.thresholds,
            );
            if p.proposed().map(|w| &row.card.classes[w]) == Some(&classes[c]) {
                right += 1;
            }
        }
    }
    Ok(right as f32 / held.len() as f32)
}

#[cfg(test)]
mod tests {
    use super::RetrainReport;

    #[test]
    fn the_report_names_left_out_genres_and_explains_the_held_out_figure() {
        let report = RetrainReport {
            model_id: 3,
            model_name: "retrained-2".into(),
            classes: vec!["Jazz".into(), "Rock".into()],
            train_tracks: 9,
            heldout_tracks: 2,
            before: 0.5,
            after: 1.0,
            revoted: 11,
            seconds: 0.4,
            labels_per_genre: [("Jazz", 6), ("Rock", 5), ("Electronic", 2)]
                .into_iter()
                .map(|(g, n)| (g.to_string(), n))
                .collect(),
            min_tracks: 3,
        };
        let said = report.to_string();
        assert!(
            said.contains("on 2 labelled tracks kept out of training to check it"),
            "{said}"
        );
        assert!(
            said.contains("50.0% of the time before and 100.0% after"),
            "{said}"
        );
        assert!(
            said.ends_with("left out, with fewer than 3 analysed labelled tracks: Electronic (2)"),
            "{said}"
        );
        // Nothing left out: nothing said about it.
        let all_kept = RetrainReport {
            labels_per_genre: report
                .labels_per_genre
                .clone()
                .into_iter()
                .filter(|(g, _)| g != "Electronic")
                .collect(),
            ..report
        };
        assert!(!all_kept.to_string().contains("left out"));
    }
}
