//! Retraining from the user's decisions, the door every front end uses:
//! [`retrain_head`] (`sonotag retrain`, Retrain in the window; the method
//! lives in [`crate::ml::corrections`]), [`retrain_full`] (the from-scratch network
//! fine-tuned whole), [`use_model`] (switching models), and the library's
//! trusted labels as training rows for `sonotag train --from-library`.

use crate::cancel::Cancel;
use crate::catalog::analyse;
use crate::config::genres::Vocabulary;
use crate::ml::corrections::{
    self, Check, RetrainOptions, RetrainReport, Sample, TAG_WEIGHT, TrustedLabel,
    choose_for_library, cv_options, fit, guard, out_of_fold_scores, out_of_fold_votes,
    trusted_labels,
};
use crate::ml::head::HeadOptions;
use crate::ml::model::ModelCard;
use crate::ml::model::{self, Model};
use crate::ml::model::{ModelRow, today};
use crate::ml::network::Network;
use crate::ml::scratch_training::{self, LabelRow, TrainOptions};
use crate::ml::transfer::TrackEmbeddings;
use crate::ml::vote;
use crate::store::DecisionSource;
use crate::store::Library;
use crate::workflow::Progress;
use crate::workflow::train::{classes_and_inputs, reading, report_skipped};
use anyhow::Context;
use std::collections::BTreeMap;
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
    let report = retrain_head_inner(lib, vocab, models_dir, options, on)?;
    on(super::Progress::Landed);
    Ok(report)
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

/// [`retrain_head`]'s work: trains a new head on the base set and the library's labels, registers
/// it under `models_dir`, re-votes the library with it, and makes it active
/// unless it does worse on the user's decided tracks than the reference.
fn retrain_head_inner(
    lib: &mut Library,
    vocab: &Vocabulary,
    models_dir: &Path,
    opts: &RetrainOptions,
    on: &mut dyn FnMut(super::Progress),
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

    // Most of a retrain is the cross-validation: its folds are the steps
    // (then the final head, then the thresholds and the guard), told from
    // this thread while the folds train on the others.
    let mut step = |done: usize, total: usize, current: &str| {
        on(super::Progress::Step {
            done,
            total,
            current: current.into(),
        })
    };
    let (fold_tx, fold_rx) = crossbeam_channel::unbounded::<usize>();
    let mut steps = 2;
    let out_of_fold = std::thread::scope(|scope| {
        let (samples, cv_opts, n_classes) = (&samples, &cv_opts, classes.len());
        let folds = scope.spawn(move || {
            out_of_fold_votes(samples, n_classes, opts, cv_opts, &|total| {
                let _ = fold_tx.send(total);
            })
        });
        for (done, total) in fold_rx.iter().enumerate() {
            steps = total + 2;
            step(
                done + 1,
                total + 2,
                &format!(
                    "judging each track by a head trained without it: {} of {total}",
                    done + 1
                ),
            );
        }
        folds
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    tracing::debug!(
        "retrain: cross-validation after {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let (judged, unseen) = out_of_fold.into_judged(&samples);
    let all: Vec<&Sample> = samples.iter().collect();
    step(steps - 1, steps, "the new head, on everything");
    let head = fit(&all, classes.len(), &head_opts)?;
    // The library's undecided tracks as the new head votes on them: what
    // the thresholds' coverage is counted on.
    let decided_ids: std::collections::HashSet<i64> = samples
        .iter()
        .filter(|s| s.is_decision())
        .filter_map(|s| s.track.map(|(id, _)| id))
        .collect();
    let library: Vec<Vec<f32>> = lib
        .analyses(parent.id)?
        .into_iter()
        .filter(|a| !decided_ids.contains(&a.track_id))
        .map(|a| head.probabilities(&a.embeddings))
        .collect();
    step(
        steps,
        steps,
        "the thresholds for your library, and the guard",
    );
    let choice = choose_for_library(
        &samples,
        &judged,
        &unseen,
        &library,
        classes.len(),
        opts,
        parent.card.thresholds,
    );
    let thresholds = choice.chosen.thresholds;
    tracing::debug!("retrain: thresholds {choice:?}");

    // The guard: each decided track judged by a head trained without it,
    // against the reference's stored votes with its own thresholds.
    let decided: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].is_decision())
        .collect();
    let mut verdicts = Vec::with_capacity(decided.len());
    for &i in &decided {
        let (track, _) = samples[i]
            .track
            .expect("decided samples are library tracks");
        let verdict = lib.analysis(track, root.id)?.map(|reference| {
            let old = vote::vote(
                &reference.probabilities,
                root.card.classes.len(),
                root.card.thresholds,
            );
            let leading = old.winner.and_then(|w| class_of(&root.card.classes[w]));
            (leading, old.unsure.is_none())
        });
        verdicts.push((i, verdict));
    }
    let check = guard(&judged, &verdicts, &root.name, classes.len(), thresholds);
    let activate = check.activates();
    let (left_out, on_decisions) =
        out_of_fold_scores(&samples, &judged, &unseen, classes.len(), thresholds);
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
    model.card.calibrated = true;
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
        new_proposed_right,
        reference_proposed_right,
    } = &check
    {
        model.card.metrics.insert(
            "your decided tracks, cross-validated".into(),
            serde_json::json!({
                "tracks": tracks, "right": new_right,
                "reference": reference, "reference_right": reference_right,
                "proposed_right": new_proposed_right,
                "reference_proposed_right": reference_proposed_right,
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
        // Each reviewed track's out-of-fold verdict, for "Accept all with
        // ≥ X % of votes" to say how often such proposals were right here.
        let verdicts: Vec<crate::ml::model::Reviewed> = decided
            .iter()
            .map(|&i| {
                let (votes, truth) = &judged[i];
                let p = vote::vote(votes, classes.len(), thresholds);
                crate::ml::model::Reviewed {
                    share: p.share,
                    proposed: p.unsure.is_none(),
                    right: p.winner == Some(*truth),
                }
            })
            .collect();
        model.card.metrics.insert(
            crate::ml::model::REVIEWED.into(),
            serde_json::to_value(verdicts)?,
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
        library: choice,
        revoted,
        seconds: started.elapsed().as_secs_f64(),
        labels_per_genre,
        min_tracks: opts.min_tracks,
    })
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
