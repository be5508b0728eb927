//! Personal retraining: a new classifier head from what the model learnt
//! plus what the user taught.
//!
//! A person corrects a few tracks at a time, and each correction must make
//! the proposals better, never worse. So a retrain never learns from the
//! user's labels alone (a head trained on six corrections knows two
//! genres): it trains on the model's own training set, shipped as
//! embeddings ([`crate::ml::base_set`]), plus the user's trusted labels from
//! the library's stored embeddings (no decoding, seconds):
//!
//! - every genre the model knew stays a class; a genre of the user's own
//!   joins once it has [`RetrainOptions::min_tracks`] labels, and the report
//!   says how far each smaller one has come ("2 of 3 labels for Soundtrack");
//! - a decided track weighs [`USER_WEIGHT`] base tracks, so where the user
//!   disagrees with the training set the user wins nearby; existing genre
//!   tags count only when asked for, and weigh less than decisions;
//! - the voting thresholds are re-calibrated by cross-validation over the
//!   base set and the user's labels together, for the same precision target
//!   as the shipped model;
//! - a guard compares the new head with the model the library was first
//!   classified with, on the user's decided tracks, cross-validated (a head
//!   never judges tracks it was trained on). A new head that gets fewer of
//!   them right is kept but not made active, and the report says so.

mod samples;

pub(crate) use samples::{
    PLURALITY, Sample, calibrate_thresholds, cv_options, fit, out_of_fold_scores,
    out_of_fold_votes, voting_probabilities,
};

use crate::catalog::analyse;
use crate::config::genres::Vocabulary;
use crate::ml::head::HeadOptions;
use crate::ml::model::ModelCard;
use crate::ml::model::ModelRow;
use crate::ml::model::{Model, today};
use crate::ml::network::Network;
use crate::ml::transfer::TrackEmbeddings;
use crate::ml::vote;
use crate::proposal::Thresholds;
use crate::store::{DecisionSource, Library};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// How many base-set tracks one decided track weighs. Chosen by simulated
/// corrections (README, "Retraining"): 1 lets a handful of corrections
/// drown in the base set, much more lets one odd track pull a genre away.
pub const USER_WEIGHT: f32 = 10.0;

/// How many base-set tracks a genre tag weighs (tags are noisier than
/// decisions).
pub const TAG_WEIGHT: f32 = 1.0;

/// Settings for a head retrain.
#[derive(Clone, Debug)]
pub struct RetrainOptions {
    pub seed: u64,
    /// A genre the model does not know needs this many labelled tracks to
    /// become a class.
    pub min_tracks: usize,
    /// Patches per library track used for training (evenly spaced).
    pub max_slices_per_track: usize,
    /// Optimiser steps of each head.
    pub epochs: usize,
    /// Weight of a decided track, in base-set tracks.
    pub user_weight: f32,
    /// Also learn from genre tags of undecided tracks (mapped through the
    /// vocabulary).
    pub use_tags: bool,
    /// Cross-validation folds for the thresholds.
    pub folds: usize,
    /// Precision the re-calibrated thresholds must reach out of fold.
    pub target_precision: f32,
}

impl RetrainOptions {
    /// [`RetrainOptions::min_tracks`] by default.
    pub const DEFAULT_MIN_TRACKS: usize = 3;
}

impl Default for RetrainOptions {
    fn default() -> Self {
        Self {
            seed: 7,
            min_tracks: Self::DEFAULT_MIN_TRACKS,
            max_slices_per_track: 30,
            epochs: 300,
            user_weight: USER_WEIGHT,
            use_tags: false,
            folds: 6,
            target_precision: 0.95,
        }
    }
}

/// How the new head fared on the user's decided tracks.
#[derive(Clone, Debug, Serialize)]
pub enum Check {
    /// Fewer decided tracks than a check needs.
    TooFew { decided: usize, needed: usize },
    /// Cross-validated: right answers of the new head and of the reference
    /// model (the library's first) on the same decided tracks.
    Compared {
        tracks: usize,
        new_right: usize,
        reference: String,
        reference_right: usize,
    },
}

/// What a retrain did.
#[derive(Clone, Debug, Serialize)]
pub struct RetrainReport {
    pub model_id: i64,
    pub model_name: String,
    pub classes: Vec<String>,
    /// Tracks of the shipped training set the head started from.
    pub base_tracks: usize,
    /// The user's decided tracks and genre tags learnt from.
    pub decided_tracks: usize,
    pub tag_tracks: usize,
    pub check: Check,
    /// Whether the new model became the active one.
    pub activated: bool,
    /// The model that stays active when the new one does not.
    pub kept_active: Option<String>,
    pub thresholds: Thresholds,
    /// Calibrated for the precision target (else the parent's were kept).
    pub calibrated: bool,
    pub revoted: usize,
    pub seconds: f64,
    /// Labels per genre (those learnt from), including genres too small to
    /// become a class yet.
    pub labels_per_genre: BTreeMap<String, usize>,
    /// Labelled tracks a genre the model does not know needs to join.
    pub min_tracks: usize,
}

impl std::fmt::Display for RetrainReport {
    /// What both the window and the command line say.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "new model {} with {} genres ({}), from {} tracks it knew and {} of your decisions{} \
             in {:.1} s",
            self.model_name,
            self.classes.len(),
            self.classes.join(", "),
            self.base_tracks,
            self.decided_tracks,
            if self.tag_tracks > 0 {
                format!(" and {} genre tags", self.tag_tracks)
            } else {
                String::new()
            },
            self.seconds
        )?;
        match &self.check {
            Check::TooFew { decided, needed } => write!(
                f,
                ". Too few of your decisions to check it yet ({decided}; {needed} needed)"
            )?,
            Check::Compared {
                tracks,
                new_right,
                reference,
                reference_right,
            } => write!(
                f,
                ". Checked on your {tracks} decided tracks (each judged by a model trained \
                 without it): the new model gets {new_right} right, {reference} {reference_right}"
            )?,
        }
        if self.activated {
            write!(f, "; it is now active")?;
        } else {
            write!(
                f,
                "; that is worse, so it was kept but not made active ({} stays active; \
                 `sonotag models --use {}` switches to it)",
                self.kept_active.as_deref().unwrap_or("the current model"),
                self.model_name
            )?;
        }
        write!(
            f,
            "; thresholds {}: slice {:.2}, track {:.2}; {} tracks re-voted",
            if self.calibrated {
                "re-calibrated"
            } else {
                "kept (the precision target was out of reach)"
            },
            self.thresholds.slice,
            self.thresholds.track,
            self.revoted
        )?;
        let growing: Vec<String> = self
            .labels_per_genre
            .iter()
            .filter(|(g, _)| !self.classes.contains(g))
            .map(|(g, n)| format!("{n} of {} labels for {g}", self.min_tracks))
            .collect();
        if !growing.is_empty() {
            write!(f, "; not a genre yet: {}", growing.join(", "))?;
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

/// The model the library was first classified with: no user label went
/// into it, so it can be judged on all of them.
fn reference_model(lib: &Library, from: &ModelRow) -> anyhow::Result<ModelRow> {
    let models = lib.models::<ModelCard>()?;
    let mut at = from.clone();
    while let Some(parent) = at.parent.and_then(|p| models.iter().find(|m| m.id == p)) {
        at = parent.clone();
    }
    Ok(at)
}

/// Trains a new head on the base set and the library's labels, registers
/// it under `models_dir`, re-votes the library with it, and makes it active
/// unless it does worse on the user's decided tracks than the reference.
pub fn retrain_head(
    lib: &mut Library,
    vocab: &Vocabulary,
    models_dir: &Path,
    opts: &RetrainOptions,
) -> anyhow::Result<RetrainReport> {
    let started = std::time::Instant::now();
    let parent = lib.active_model::<ModelCard>()?.ok_or_else(|| {
        anyhow::anyhow!("no model in this library yet: run `sonotag classify` first")
    })?;
    let mut model = Model::load(&parent.path)?;
    anyhow::ensure!(
        matches!(model.net, Network::Pretrained { .. }),
        "model {} is the from-scratch network: run `sonotag retrain --full`",
        parent.name
    );
    // The knowledge the parent's line started from: the shipped model's
    // training set, in its class order.
    let root = reference_model(lib, &parent)?;
    let root_card = Model::load(&root.path)
        .map(|m| m.card)
        .unwrap_or(root.card.clone());
    let base = crate::ml::base_set::load(&root.path, root_card.classes.len()).map_err(|e| {
        anyhow::anyhow!(
            "{e}; without the training set the model started from, retraining would forget \
             every genre you did not label"
        )
    })?;

    let labels: Vec<TrustedLabel> = trusted_labels(lib, vocab)?
        .into_iter()
        .filter(|l| opts.use_tags || l.source != DecisionSource::Tag)
        .collect();
    let analysed: std::collections::HashSet<i64> =
        lib.analysed_track_ids(parent.id)?.into_iter().collect();
    let usable: Vec<&TrustedLabel> = labels
        .iter()
        .filter(|l| analysed.contains(&l.track_id))
        .collect();
    let mut labels_per_genre: BTreeMap<String, usize> = BTreeMap::new();
    for l in &usable {
        *labels_per_genre.entry(l.genre.clone()).or_default() += 1;
    }
    anyhow::ensure!(
        !usable.is_empty(),
        "nothing to learn from yet: accept or override some proposals first{}",
        if opts.use_tags {
            ""
        } else {
            " (or retrain with --use-tags)"
        }
    );
    let mut classes = root_card.classes.clone();
    for (g, n) in &labels_per_genre {
        if *n >= opts.min_tracks && !classes.contains(g) {
            classes.push(g.clone());
        }
    }
    classes.sort();
    let class_of = |g: &str| classes.iter().position(|c| c == g);
    let base_sources = base.source_of_each();
    let mut samples: Vec<Sample> = base
        .tracks
        .into_iter()
        .zip(base_sources)
        .filter_map(|(t, source): (TrackEmbeddings, String)| {
            Some(Sample {
                class: class_of(&root_card.classes[t.class])?,
                embeddings: t.embeddings,
                weight: t.weight,
                track: None,
                source,
                dim: t.dim,
            })
        })
        .collect();
    let base_tracks = samples.len();
    let dim = model.net.embedding_dim();
    for l in &usable {
        let Some(class) = class_of(&l.genre) else {
            continue;
        };
        let Some(a) = lib.analysis(l.track_id, parent.id)? else {
            continue;
        };
        let picks = crate::features::slice_plan(a.slices, Some(opts.max_slices_per_track));
        samples.push(Sample {
            embeddings: picks
                .into_iter()
                .flat_map(|k| a.embeddings[k * dim..(k + 1) * dim].iter().copied())
                .collect(),
            class,
            weight: if l.source == DecisionSource::Tag {
                TAG_WEIGHT
            } else {
                opts.user_weight
            },
            track: Some((l.track_id, l.source)),
            source: String::new(),
            dim,
        });
    }
    let head_opts = HeadOptions {
        seed: opts.seed,
        steps: opts.epochs,
        ..Default::default()
    };
    let cv_opts = cv_options(&head_opts);
    tracing::debug!(
        "retrain: samples ready after {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let out_of_fold = out_of_fold_votes(&samples, classes.len(), opts, &cv_opts)?;
    tracing::debug!(
        "retrain: cross-validation after {:.2} s",
        started.elapsed().as_secs_f64()
    );

    // The guard: each decided track judged by a head trained without it,
    // against the reference's stored votes.
    let decided: Vec<usize> = (0..samples.len())
        .filter(|&i| matches!(samples[i].track, Some((_, s)) if s != DecisionSource::Tag))
        .collect();
    const CHECK_MIN: usize = 3;
    let check = if decided.len() < CHECK_MIN {
        Check::TooFew {
            decided: decided.len(),
            needed: CHECK_MIN,
        }
    } else {
        let mut new_right = 0;
        let mut reference_right = 0;
        let mut judged = 0;
        for &i in &decided {
            let s = &samples[i];
            let (track, _) = s.track.expect("decided samples are library tracks");
            let Some(reference) = lib.analysis(track, root.id)? else {
                continue;
            };
            judged += 1;
            let new = vote::vote(&out_of_fold.votes[i], classes.len(), PLURALITY);
            new_right += usize::from(new.winner == Some(s.class));
            let old = vote::vote(&reference.probabilities, root.card.classes.len(), PLURALITY);
            reference_right += usize::from(
                old.winner.map(|w| root.card.classes[w].as_str())
                    == Some(classes[s.class].as_str()),
            );
        }
        Check::Compared {
            tracks: judged,
            new_right,
            reference: root.name.clone(),
            reference_right,
        }
    };
    let activate = match &check {
        Check::TooFew { .. } => true,
        Check::Compared {
            new_right,
            reference_right,
            ..
        } => new_right >= reference_right,
    };

    let (judged, unseen) = out_of_fold.into_judged(&samples);
    let (thresholds, calibrated) = match calibrate_thresholds(
        &judged,
        &unseen,
        classes.len(),
        opts,
        Some(parent.card.thresholds),
    ) {
        Some(t) => (t, true),
        None => (parent.card.thresholds, false),
    };
    let (left_out, on_decisions) =
        out_of_fold_scores(&samples, &judged, &unseen, classes.len(), thresholds);
    let all: Vec<&Sample> = samples.iter().collect();
    let head = fit(&all, classes.len(), &head_opts)?;
    tracing::debug!(
        "retrain: final head after {:.2} s",
        started.elapsed().as_secs_f64()
    );
    if let Network::Pretrained { head: h, .. } = &mut model.net {
        *h = head;
    }
    let version = lib.models::<ModelCard>()?.len() + 1;
    let name = format!("personal-{version}");
    let path = models_dir.join(&name);
    let decided_tracks = decided.len();
    let tag_tracks = samples.len() - base_tracks - decided_tracks;
    model.card.name = name.clone();
    model.card.classes = classes.clone();
    model.card.created = today();
    model.card.thresholds = thresholds;
    model.card.calibrated = calibrated;
    model.card.training.head_only = true;
    model.card.training.command = "sonotag retrain".into();
    model.card.training.seed = opts.seed;
    model.card.training.sources = vec![
        format!("the base set of {} ({base_tracks} tracks)", root.name),
        format!(
            "library: {decided_tracks} decided tracks (weight {}), {tag_tracks} genre tags",
            opts.user_weight
        ),
    ];
    model.card.training.per_class = classes
        .iter()
        .enumerate()
        .map(|(c, g)| {
            let tracks = samples.iter().filter(|s| s.class == c).count();
            (
                g.clone(),
                crate::ml::model::ClassCount { tracks, slices: 0 },
            )
        })
        .collect();
    model.card.parameters = model.net.parameters();
    model.card.metrics.clear();
    if let Check::Compared {
        tracks,
        new_right,
        reference,
        reference_right,
    } = &check
    {
        model.card.metrics.insert(
            "your decided tracks, cross-validated".into(),
            serde_json::json!({
                "tracks": tracks, "right": new_right,
                "reference": reference, "reference_right": reference_right,
            }),
        );
    }
    for (name, score) in &left_out {
        model.card.metrics.insert(
            format!("{name}{}", crate::ml::model::LEFT_OUT),
            crate::ml::model::score_entry(score, thresholds),
        );
    }
    if on_decisions.tracks > 0 {
        model.card.metrics.insert(
            crate::ml::model::ON_DECISIONS.into(),
            crate::ml::model::score_entry(&on_decisions, thresholds),
        );
    }
    model.base = path.clone();
    model.save(&path)?;
    let id = lib.register_model(&model.card.name, &model.base, &model.card, Some(parent.id))?;
    lib.set_model_parent(id, parent.id)?;
    let revoted = analyse::revote_from_embeddings(lib, parent.id, id, &model, thresholds)?;
    if activate {
        lib.set_active_model(id)?;
    }
    Ok(RetrainReport {
        model_id: id,
        model_name: name,
        classes,
        base_tracks,
        decided_tracks,
        tag_tracks,
        check,
        activated: activate,
        kept_active: (!activate).then(|| parent.name.clone()),
        thresholds,
        calibrated,
        revoted,
        seconds: started.elapsed().as_secs_f64(),
        labels_per_genre,
        min_tracks: opts.min_tracks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(check: Check, activated: bool) -> RetrainReport {
        RetrainReport {
            model_id: 3,
            model_name: "personal-3".into(),
            classes: vec!["Jazz".into(), "Rock".into()],
            base_tracks: 146,
            decided_tracks: 2,
            tag_tracks: 0,
            check,
            activated,
            kept_active: (!activated).then(|| "default".into()),
            thresholds: Thresholds::default(),
            calibrated: true,
            revoted: 11,
            seconds: 0.4,
            labels_per_genre: [("Jazz", 1), ("Soundtrack", 2)]
                .into_iter()
                .map(|(g, n)| (g.to_string(), n))
                .collect(),
            min_tracks: 3,
        }
    }

    #[test]
    fn the_report_never_shows_a_figure_it_does_not_have() {
        let said = report(
            Check::TooFew {
                decided: 2,
                needed: 3,
            },
            true,
        )
        .to_string();
        assert!(
            said.contains("Too few of your decisions to check it yet (2; 3 needed)"),
            "{said}"
        );
        assert!(!said.contains('%'), "{said}");
        assert!(said.contains("it is now active"), "{said}");
        assert!(
            said.ends_with("not a genre yet: 2 of 3 labels for Soundtrack"),
            "{said}"
        );
        let worse = Check::Compared {
            tracks: 6,
            new_right: 3,
            reference: "default".into(),
            reference_right: 5,
        };
        let said = report(worse, false).to_string();
        assert!(
            said.contains("the new model gets 3 right, default 5"),
            "{said}"
        );
        assert!(
            said.contains("kept but not made active (default stays active"),
            "{said}"
        );
        assert!(said.contains("sonotag models --use personal-3"), "{said}");
    }
}
