//! Training a model from labelled files: the workflow behind `sonotag
//! train`, for any front end. It picks the classes, trains the backbone's
//! network (the from-scratch CNN whole, or a head on frozen musicnn),
//! calibrates the voting thresholds, evaluates every eval set and writes the
//! model with its card, reporting [`Progress`] as it goes.

use crate::cancel::Cancel;
use crate::features::FeatureParams;
use crate::ml::backbone::BackboneSpec;
use crate::ml::eval;
use crate::ml::head::HeadOptions;
use crate::ml::look::Voting;
use crate::ml::model::{self, Model, ModelCard, TrainingSummary};
use crate::ml::network::Network;
use crate::ml::scratch_cnn::Architecture;
use crate::ml::scratch_training::{self, LabelRow, Split, TrainOptions};
use crate::ml::transfer::{self, TransferOptions};
use crate::ml::vote;
use crate::proposal::Thresholds;
use crate::workflow::Progress;
use anyhow::Context;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What to train.
#[derive(Clone, Debug)]
pub struct TrainRequest {
    /// Where the model goes (`<out>.safetensors` and `<out>.json`).
    pub out: PathBuf,
    pub seed: u64,
    pub epochs: usize,
    pub max_slices: usize,
    pub channels: Vec<usize>,
    pub input_pool: usize,
    pub standardise: bool,
    pub no_augment: bool,
    pub target_precision: f32,
    pub backbone: BackboneSpec,
    /// Cross-validation folds (pretrained backbones).
    pub folds: usize,
    /// The head's C (pretrained backbones; [`HeadOptions::c`]).
    pub head_c: f64,
    /// How it was asked for, recorded in the card.
    pub command_line: String,
}

/// What a training run made.
#[derive(Clone, Debug)]
pub struct TrainReport {
    pub model_base: PathBuf,
    pub parameters: usize,
    pub mflops_per_patch: f64,
    pub seconds: f64,
}

impl std::fmt::Display for TrainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wrote {} and {} ({} parameters, {:.1} MFLOP per patch) in {:.0} s",
            model::with_ext(&self.model_base, "safetensors").display(),
            model::with_ext(&self.model_base, "json").display(),
            self.parameters,
            self.mflops_per_patch,
            self.seconds
        )
    }
}

/// Trains a model on the chosen backbone from labelled rows (never on
/// `eval` rows), evaluates it on every `eval` split, and writes the model
/// and its card. `sources` name where the rows came from, for the card.
pub fn train_model(
    args: &TrainRequest,
    rows: &[LabelRow],
    sources: Vec<String>,
    events: &(dyn Fn(Progress) + Sync),
) -> anyhow::Result<TrainReport> {
    let started = std::time::Instant::now();
    events(Progress::Phase(super::Phase::Training));
    let train_rows: Vec<&LabelRow> = rows
        .iter()
        .filter(|r| r.split != Some(Split::Eval))
        .collect();
    let (classes, inputs) = classes_and_inputs(&train_rows, "the training rows")?;
    let trained = if args.backbone.is_scratch() {
        train_scratch(args, &inputs, &classes, events)?
    } else {
        let source_of: HashMap<&Path, &str> = train_rows
            .iter()
            .map(|r| (r.path.as_path(), r.source.as_str()))
            .collect();
        train_transfer(args, &inputs, &source_of, &classes, events)?
    };
    let name = args
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let mut model = Model {
        card: ModelCard {
            name,
            format_version: 1,
            created: model::today(),
            classes: classes.clone(),
            backbone: args.backbone.clone(),
            features: FeatureParams::of(
                args.backbone
                    .features()
                    .context("a backbone this Sonotag lacks")?,
            ),
            architecture: trained.architecture,
            parameters: trained.net.parameters(),
            mflops_per_slice: trained.net.mflops_per_patch(),
            thresholds: trained.thresholds,
            calibrated: trained.calibrated,
            training: TrainingSummary {
                command: args.command_line.clone(),
                seed: args.seed,
                epochs: trained.epochs,
                best_epoch: trained.best_epoch,
                seconds: 0.0,
                sources,
                per_class: trained.per_class,
                head_only: false,
                notes: trained.notes,
            },
            metrics: trained.metrics,
        },
        net: trained.net,
        base: args.out.clone(),
    };
    let thresholds = model.card.thresholds;
    model.card.training.seconds = started.elapsed().as_secs_f64();
    // Evaluate on each eval split, grouped by source folder.
    let mut eval_sets: BTreeMap<String, Vec<LabelRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.split == Some(Split::Eval)) {
        eval_sets
            .entry(eval_set_name(r))
            .or_default()
            .push(r.clone());
    }
    for (set, rows) in &eval_sets {
        let report = eval::evaluate(
            &model,
            rows,
            thresholds,
            Voting::All,
            crate::proposal::SeveralGenres::default(),
        );
        model.card.metrics.insert(set.clone(), report.card_entry());
        events(Progress::Note(format!("{set}: {}", report.summary())));
    }
    model.save(&args.out)?;
    Ok(TrainReport {
        model_base: args.out.clone(),
        parameters: model.card.parameters,
        mflops_per_patch: model.card.mflops_per_slice,
        seconds: model.card.training.seconds,
    })
}

/// What either training path hands to the card.
struct TrainedNet {
    net: Network,
    architecture: Option<Architecture>,
    thresholds: Thresholds,
    calibrated: bool,
    epochs: usize,
    best_epoch: usize,
    per_class: BTreeMap<String, model::ClassCount>,
    notes: Vec<String>,
    /// Figures measured while training (each source left out), for the card.
    metrics: BTreeMap<String, serde_json::Value>,
}

/// The from-scratch CNN, trained whole; thresholds calibrated on its
/// validation tracks.
fn train_scratch(
    args: &TrainRequest,
    inputs: &[Input],
    classes: &[String],
    events: &(dyn Fn(Progress) + Sync),
) -> anyhow::Result<TrainedNet> {
    let (examples, skipped) =
        scratch_training::load_examples(inputs, &|done, total| events(reading(done, total)));
    report_skipped(&skipped, events);
    let arch = Architecture {
        channels: args.channels.clone(),
        input_pool: args.input_pool,
        standardise: args.standardise,
        ..Default::default()
    };
    let opts = TrainOptions {
        seed: args.seed,
        max_epochs: args.epochs,
        max_slices_per_track: args.max_slices,
        augment: !args.no_augment,
        ..Default::default()
    };
    let cancel = Cancel::new();
    let trained =
        scratch_training::train(&examples, classes, &arch, None, &opts, &cancel, &mut |e| {
            events(Progress::Note(e.to_string()))
        })?;
    let calibration = vote::calibrate(&trained.validation, classes.len(), args.target_precision);
    let mut notes = vec![format!(
        "validation: {} tracks held out of training (stratified by genre)",
        trained.validation.len()
    )];
    let (thresholds, calibrated) = match &calibration {
        Some(c) if trained.validation.len() >= 20 => {
            notes.push(format!(
                "thresholds calibrated for {:.0}% precision: coverage {:.0}% on validation",
                c.precision * 100.0,
                c.coverage * 100.0
            ));
            (c.thresholds, true)
        }
        _ => {
            notes.push(format!(
                "thresholds not calibrated (fewer than 20 validation tracks or target {:.0}% unreachable): defaults kept",
                args.target_precision * 100.0
            ));
            (Thresholds::default(), false)
        }
    };
    Ok(TrainedNet {
        net: Network::Scratch(trained.net),
        architecture: Some(arch),
        thresholds,
        calibrated,
        epochs: trained.epochs.len(),
        best_epoch: trained.best_epoch,
        per_class: trained.per_class,
        notes,
        metrics: BTreeMap::new(),
    })
}

/// The shipped musicnn weights.
pub fn shipped_musicnn() -> anyhow::Result<PathBuf> {
    model::shipped_musicnn_weights().context(
        "models/musicnn-msd.safetensors not found; training/musicnn/fetch-weights.sh rebuilds it",
    )
}

/// A linear head on a frozen pretrained backbone; thresholds calibrated by
/// cross-validation on the training tracks.
fn train_transfer(
    args: &TrainRequest,
    inputs: &[Input],
    source_of: &HashMap<&Path, &str>,
    classes: &[String],
    events: &(dyn Fn(Progress) + Sync),
) -> anyhow::Result<TrainedNet> {
    let backbone =
        crate::ml::backbone::open(&args.backbone, &args.out).map_err(anyhow::Error::msg)?;
    let cache = transfer::default_cache_dir();
    let (mut tracks, skipped) = transfer::embed_tracks(
        backbone.as_ref(),
        inputs,
        args.max_slices,
        cache.as_deref(),
        &|done, total| events(reading(done, total)),
    );
    report_skipped(&skipped, events);
    let opts = TransferOptions {
        head: HeadOptions {
            seed: args.seed,
            c: args.head_c,
            ..Default::default()
        },
        folds: args.folds,
        target_precision: args.target_precision,
        ..Default::default()
    };
    let sources: Vec<String> = tracks
        .iter()
        .map(|t| {
            source_of
                .get(t.path.as_path())
                .unwrap_or(&"unknown")
                .to_string()
        })
        .collect();
    transfer::weigh_by_source(&mut tracks, &sources);
    let trained = transfer::train_head_model(&tracks, &sources, classes.len(), &opts)?;
    let metrics = trained
        .unseen_sources
        .iter()
        .map(|(name, f)| {
            (
                format!("{name}{}", crate::ml::model::LEFT_OUT),
                crate::ml::model::score_entry(f, trained.thresholds),
            )
        })
        .collect();
    // What every retrain of this model starts from.
    let base_set = crate::ml::base_set::save(&args.out, &tracks, &sources)?;
    events(Progress::Note(format!(
        "base set for retraining: {} ({} tracks)",
        base_set.display(),
        tracks.len()
    )));
    for n in &trained.notes {
        events(Progress::Note(n.clone()));
    }
    let mut per_class: BTreeMap<String, model::ClassCount> = BTreeMap::new();
    for t in &tracks {
        let c = per_class.entry(classes[t.class].clone()).or_default();
        c.tracks += 1;
        c.slices += t.patches();
    }
    let mut notes = trained.notes;
    notes.push(format!(
        "head: multinomial logistic regression on standardised {}-d {} embeddings, every patch a sample (at most {} per track), genres weighted equally and within a genre each source, C = {}, {} full-batch AdamW steps",
        backbone.embedding_width(),
        backbone.name(),
        args.max_slices,
        opts.head.c,
        opts.head.steps
    ));
    Ok(TrainedNet {
        net: Network::Pretrained {
            backbone,
            head: trained.head,
        },
        architecture: None,
        thresholds: trained.thresholds,
        calibrated: trained.calibrated,
        epochs: opts.head.steps,
        best_epoch: opts.head.steps,
        per_class,
        notes,
        metrics,
    })
}

/// "gtzan-mini eval" for a row of `.../gtzan-mini/labels.tsv`.
fn eval_set_name(row: &LabelRow) -> String {
    // Rows keep their path relative to the TSV folder joined; walk up to the
    // folder holding labels.tsv.
    let mut dir = row.path.parent();
    while let Some(d) = dir {
        if d.join("labels.tsv").exists() {
            return format!(
                "{} eval",
                d.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
        }
        dir = d.parent();
    }
    "eval".into()
}

/// A training file and its class index.
pub(crate) type Input = (PathBuf, usize);

/// The sorted genres of `rows` (at least two) and each row as (file, class).
pub(crate) fn classes_and_inputs(
    rows: &[&LabelRow],
    what: &str,
) -> anyhow::Result<(Vec<String>, Vec<Input>)> {
    let mut classes: Vec<String> = rows.iter().map(|r| r.genre.clone()).collect();
    classes.sort();
    classes.dedup();
    anyhow::ensure!(classes.len() >= 2, "need at least two genres in {what}");
    let inputs = rows
        .iter()
        .filter_map(|r| {
            let class = classes.iter().position(|c| *c == r.genre)?;
            Some((r.path.clone(), class))
        })
        .collect();
    Ok((classes, inputs))
}

/// A step of reading the training tracks.
pub(crate) fn reading(done: usize, total: usize) -> Progress {
    Progress::Step {
        done,
        total,
        current: String::new(),
    }
}

pub(crate) fn report_skipped(
    skipped: &[scratch_training::Skipped],
    events: &(dyn Fn(Progress) + Sync),
) {
    for s in skipped {
        events(Progress::FileError {
            path: s.path.display().to_string(),
            message: s.reason.clone(),
        });
    }
}
