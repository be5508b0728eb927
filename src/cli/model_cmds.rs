//! Command-line front ends for training, evaluation, classification and
//! retraining.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sonotag_core::classify::{self, ClassifyProgress};
use sonotag_core::eval::{self, EvalReport};
use sonotag_core::genres::Vocabulary;
use sonotag_core::head::HeadOptions;
use sonotag_core::model::{
    self, Architecture, Backbone, FeatureParams, Model, ModelCard, Network, TrainingSummary,
};
use sonotag_core::musicnn;
use sonotag_core::paths::Paths;
use sonotag_core::retrain::{self, RetrainOptions};
use sonotag_core::store::Library;
use sonotag_core::train::{self, LabelRow, Split, TrainOptions};
use sonotag_core::transfer::{self, TransferOptions};
use sonotag_core::vote;
use sonotag_core::vote::Thresholds;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// A bar for `total` items with rate and ETA (hidden when not a terminal).
pub fn bar(total: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:30}} {{pos}}/{{len}} {what}  {{per_sec}}  ETA {{eta}}  {{wide_msg}}"
        ))
        .expect("valid template"),
    );
    bar
}

fn vocabulary(dirs: &Paths) -> anyhow::Result<Vocabulary> {
    Ok(Vocabulary::load(&dirs.vocabulary)?)
}

/// Options of `sonotag train`.
pub struct TrainArgs {
    pub out: PathBuf,
    pub seed: u64,
    pub epochs: usize,
    pub max_slices: usize,
    pub channels: Vec<usize>,
    pub input_pool: usize,
    pub standardise: bool,
    pub no_augment: bool,
    pub target_precision: f32,
    pub backbone: Backbone,
    /// Cross-validation folds (pretrained backbones).
    pub folds: usize,
    pub command_line: String,
}

/// `sonotag train --labels TSV...`: trains a model on the chosen backbone
/// (never on `eval` rows), evaluates it on every `eval` split, writes the
/// model and its card.
pub fn train_cmd(args: TrainArgs, rows: Vec<LabelRow>, sources: Vec<String>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let train_rows: Vec<&LabelRow> = rows
        .iter()
        .filter(|r| r.split != Some(Split::Eval))
        .collect();
    let mut classes: Vec<String> = train_rows.iter().map(|r| r.genre.clone()).collect();
    classes.sort();
    classes.dedup();
    anyhow::ensure!(
        classes.len() >= 2,
        "need at least two genres in the training rows"
    );
    let class_of = |g: &str| classes.iter().position(|c| c == g);
    let inputs: Vec<(PathBuf, usize)> = train_rows
        .iter()
        .filter_map(|r| class_of(&r.genre).map(|c| (r.path.clone(), c)))
        .collect();
    let trained = match &args.backbone {
        Backbone::ScratchCnn => train_scratch(&args, &inputs, &classes)?,
        Backbone::MusicnnMsd { .. } => train_transfer(&args, &inputs, &classes)?,
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
            features: FeatureParams::of(args.backbone.features()),
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
            metrics: BTreeMap::new(),
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
        let report = eval::evaluate(&model, rows, thresholds, None);
        eprintln!(
            "{set}: accuracy {:.1}% ({}/{}), coverage {:.1}%, precision {:.1}%",
            report.accuracy * 100.0,
            report.right(),
            report.tracks.len(),
            report.coverage * 100.0,
            report.precision * 100.0
        );
        model.card.metrics.insert(set.clone(), report.card_entry());
    }
    model.save(&args.out)?;
    eprintln!(
        "wrote {} and {} ({} parameters, {:.1} MFLOP per slice) in {:.0} s",
        model::with_ext(&args.out, "safetensors").display(),
        model::with_ext(&args.out, "json").display(),
        model.card.parameters,
        model.card.mflops_per_slice,
        model.card.training.seconds
    );
    Ok(())
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
}

/// The from-scratch CNN, trained whole; thresholds calibrated on its
/// validation tracks.
fn train_scratch(
    args: &TrainArgs,
    inputs: &[(PathBuf, usize)],
    classes: &[String],
) -> anyhow::Result<TrainedNet> {
    eprintln!("decoding {} training tracks…", inputs.len());
    let pb = bar(inputs.len(), "tracks");
    let (examples, skipped) = train::load_examples(inputs, &|done, _| pb.set_position(done as u64));
    pb.finish_and_clear();
    for s in &skipped {
        eprintln!("  skipped {}: {}", s.path.display(), s.reason);
    }
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
    let cancel = AtomicBool::new(false);
    let trained = train::train(&examples, classes, &arch, None, &opts, &cancel, &mut |e| {
        eprintln!(
            "epoch {:>3}  loss {:.3}  slice acc {:>5.1}%  val track acc {:>5.1}%  ({:.1} s)",
            e.epoch,
            e.loss,
            e.slice_accuracy * 100.0,
            e.val_track_accuracy * 100.0,
            e.seconds
        );
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
    })
}

/// `sonotag embed`: musicnn embeddings of labelled files as JSON lines.
pub fn embed_cmd(rows: &[LabelRow], max_patches: usize, out: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let backbone = musicnn::shared(&shipped_musicnn()?)?;
    let inputs: Vec<(PathBuf, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.path.clone(), i))
        .collect();
    let pb = bar(inputs.len(), "tracks");
    let cache = transfer::default_cache_dir();
    let (tracks, skipped) = transfer::embed_tracks(
        &backbone,
        &inputs,
        max_patches,
        cache.as_deref(),
        &|done, _| pb.set_position(done as u64),
    );
    pb.finish_and_clear();
    for s in &skipped {
        eprintln!("  skipped {}: {}", s.path.display(), s.reason);
    }
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?,
    );
    for t in &tracks {
        let row = &rows[t.class];
        let line = serde_json::json!({
            "genre": row.genre,
            "path": row.path,
            "split": row.split,
            "embeddings": t.embeddings.chunks(musicnn::EMBEDDING).collect::<Vec<_>>(),
        });
        writeln!(file, "{line}")?;
    }
    file.flush()?;
    eprintln!("wrote {} tracks to {}", tracks.len(), out.display());
    Ok(())
}

/// The shipped musicnn weights.
fn shipped_musicnn() -> anyhow::Result<PathBuf> {
    model::shipped_musicnn_weights().context(
        "models/musicnn-msd.safetensors not found; packaging/musicnn/fetch-weights.sh rebuilds it",
    )
}

/// A linear head on the frozen musicnn backbone; thresholds calibrated by
/// cross-validation on the training tracks.
fn train_transfer(
    args: &TrainArgs,
    inputs: &[(PathBuf, usize)],
    classes: &[String],
) -> anyhow::Result<TrainedNet> {
    let backbone = musicnn::shared(&shipped_musicnn()?)?;
    eprintln!("embedding {} training tracks with musicnn…", inputs.len());
    let pb = bar(inputs.len(), "tracks");
    let cache = transfer::default_cache_dir();
    let (tracks, skipped) = transfer::embed_tracks(
        &backbone,
        inputs,
        args.max_slices,
        cache.as_deref(),
        &|done, _| pb.set_position(done as u64),
    );
    pb.finish_and_clear();
    for s in &skipped {
        eprintln!("  skipped {}: {}", s.path.display(), s.reason);
    }
    let opts = TransferOptions {
        head: HeadOptions {
            seed: args.seed,
            ..Default::default()
        },
        folds: args.folds,
        target_precision: args.target_precision,
        ..Default::default()
    };
    let trained = transfer::train_head_model(&tracks, classes.len(), &opts)?;
    for n in &trained.notes {
        eprintln!("{n}");
    }
    let mut per_class: BTreeMap<String, model::ClassCount> = BTreeMap::new();
    for t in &tracks {
        let c = per_class.entry(classes[t.class].clone()).or_default();
        c.tracks += 1;
        c.slices += t.patches();
    }
    let mut notes = trained.notes;
    notes.push(format!(
        "head: multinomial logistic regression on standardised 200-d musicnn embeddings, every patch a sample (at most {} per track), tracks and genres weighted equally, C = {}, {} full-batch AdamW steps",
        args.max_slices, opts.head.c, opts.head.steps
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

/// Reads every labels TSV.
pub fn read_all_labels(
    dirs: &Paths,
    paths: &[PathBuf],
) -> anyhow::Result<(Vec<LabelRow>, Vec<String>)> {
    let vocab = vocabulary(dirs)?;
    let mut rows = Vec::new();
    let mut sources = Vec::new();
    for p in paths {
        rows.extend(train::read_labels(p, &vocab)?);
        sources.push(p.to_string_lossy().into_owned());
    }
    Ok((rows, sources))
}

/// `sonotag train --from-library`: trusted labels of the library as rows.
pub fn library_rows(dirs: &Paths, lib: &Library) -> anyhow::Result<Vec<LabelRow>> {
    let vocab = vocabulary(dirs)?;
    let labels = retrain::trusted_labels(lib, &vocab)?;
    let mut rows = Vec::new();
    for l in labels {
        if let Some(t) = lib.track(l.track_id)? {
            rows.push(LabelRow {
                genre: l.genre,
                path: t.path,
                split: None,
            });
        }
    }
    Ok(rows)
}

/// Which rows `sonotag eval` scores and how.
pub struct EvalChoice {
    pub split: Option<String>,
    pub folder: Option<String>,
    pub sample: Option<usize>,
    pub among: Vec<String>,
}

/// True when `path` has a folder named `folder` (a game's soundtrack, say).
pub fn in_folder(path: &Path, folder: &str) -> bool {
    path.parent()
        .is_some_and(|p| p.components().any(|c| c.as_os_str() == folder))
}

/// `sonotag eval`.
pub fn eval_cmd(
    dirs: &Paths,
    labels: &Path,
    choice: EvalChoice,
    model_path: Option<PathBuf>,
    thresholds: (Option<f32>, Option<f32>),
    json: bool,
) -> anyhow::Result<()> {
    let vocab = vocabulary(dirs)?;
    let mut rows = train::read_labels(labels, &vocab)?;
    if let Some(f) = &choice.folder {
        rows.retain(|r| in_folder(&r.path, f));
    }
    if let Some(s) = choice.split.as_deref() {
        let want = match s {
            "eval" => Split::Eval,
            "train" => Split::Train,
            other => anyhow::bail!("--split must be `train` or `eval`, not `{other}`"),
        };
        rows.retain(|r| r.split == Some(want));
    }
    let base = model_path.unwrap_or_else(model::default_model_path);
    let mut model = Model::load(&base)?;
    if !choice.among.is_empty() {
        let among: Vec<String> = choice.among.iter().map(|g| vocab.display(g)).collect();
        model.restrict_to(&among)?;
    }
    let th = Thresholds {
        slice: thresholds.0.unwrap_or(model.card.thresholds.slice),
        track: thresholds.1.unwrap_or(model.card.thresholds.track),
    };
    let report = eval::evaluate(&model, &rows, th, choice.sample);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_eval(&report);
    }
    Ok(())
}

fn print_eval(r: &EvalReport) {
    for t in &r.tracks {
        let mark = match (&t.proposed, &t.error) {
            (_, Some(_)) => "ERR ",
            (Some(p), _) if *p == t.truth => "ok  ",
            (Some(_), _) => "WRONG",
            (None, _) => "unsure",
        };
        println!(
            "{mark:<6} {:<11} → {:<11} {:>4.0}%  {}{}",
            t.truth,
            t.proposed
                .as_deref()
                .or(t.leading.as_deref().map(|_| "?"))
                .unwrap_or("-"),
            t.share * 100.0,
            t.path,
            t.error
                .as_deref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        );
    }
    println!();
    println!(
        "tracks {}  accuracy {:.1}% ({}/{})  coverage {:.1}%  precision {:.1}%  top-1 {:.1}%  (slice threshold {:.2}, track threshold {:.2})",
        r.tracks.len(),
        r.accuracy * 100.0,
        r.right(),
        r.tracks.len(),
        r.coverage * 100.0,
        r.precision * 100.0,
        r.top1 * 100.0,
        r.thresholds.slice,
        r.thresholds.track
    );
    println!("per-genre recall:");
    for (g, rec) in &r.per_genre {
        println!(
            "  {g:<11} {:>5.1}% ({}/{})",
            rec.recall * 100.0,
            rec.right,
            rec.tracks
        );
    }
    let mut columns: Vec<String> = r.classes.clone();
    columns.push("unsure".into());
    println!("confusion (rows: truth, columns: proposed):");
    print!("  {:<11}", "");
    for c in &columns {
        print!(" {:>6}", c.chars().take(6).collect::<String>());
    }
    println!();
    for (truth, row) in &r.confusion {
        print!("  {truth:<11}");
        for c in &columns {
            print!(" {:>6}", row.get(c).copied().unwrap_or(0));
        }
        println!();
    }
}

/// `sonotag classify`.
pub fn classify_cmd(
    lib: &mut Library,
    model_path: Option<PathBuf>,
    force: bool,
    sample: Option<usize>,
) -> anyhow::Result<()> {
    let (model_id, model) = classify::resolve_model(lib, model_path.as_deref())?;
    let pb = bar(0, "tracks");
    let cancel = AtomicBool::new(false);
    let started = std::time::Instant::now();
    let summary = classify::classify(
        lib,
        model_id,
        &model,
        model.card.thresholds,
        force,
        sample,
        &cancel,
        &mut |p: &ClassifyProgress| {
            pb.set_length(p.total as u64);
            pb.set_position(p.done as u64);
            pb.set_message(p.current.display().to_string());
        },
    )?;
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "model {}: {} classified ({} unsure), {} errors, {} already done, in {:.1} s ({:.1} tracks/s)",
        model.card.name,
        summary.classified,
        summary.unsure,
        summary.errors,
        summary.already_done,
        secs,
        (summary.classified + summary.errors) as f64 / secs.max(1e-9)
    );
    if summary.errors > 0 {
        for (_, message) in lib.analysis_errors(model_id)? {
            eprintln!("  {message}");
        }
    }
    Ok(())
}

/// `sonotag proposals`.
pub fn proposals_cmd(
    lib: &Library,
    state: Option<sonotag_core::vote::ProposalState>,
    json: bool,
) -> anyhow::Result<()> {
    let active = classify::active_model(lib)?
        .context("no model has classified this library yet: run `sonotag classify`")?;
    let rows = classify::proposals(lib, active.id, state)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for r in &rows {
        println!(
            "{:<8} {:<11} {:>4.0}%  {} – {}  {}",
            r.state,
            r.genre.as_deref().unwrap_or("-"),
            r.share * 100.0,
            r.artist.as_deref().unwrap_or("?"),
            r.title.as_deref().unwrap_or("?"),
            r.path
        );
    }
    eprintln!("{} proposals (model {})", rows.len(), active.name);
    Ok(())
}

/// `sonotag retrain` (head) and `sonotag retrain --full`.
pub fn retrain_cmd(dirs: &Paths, lib: &mut Library, full: bool, seed: u64) -> anyhow::Result<()> {
    let vocab = vocabulary(dirs)?;
    let models_dir = dirs.models.clone();
    if full {
        return retrain_full(dirs, lib, seed);
    }
    let report = retrain::retrain_head(
        lib,
        &vocab,
        &models_dir,
        &RetrainOptions {
            seed,
            ..Default::default()
        },
    )?;
    println!(
        "new model {} with {} genres ({}) from {} tracks in {:.1} s; held-out accuracy {:.1}% → {:.1}% on {} tracks; {} tracks re-voted",
        report.model_name,
        report.classes.len(),
        report.classes.join(", "),
        report.train_tracks,
        report.seconds,
        report.before * 100.0,
        report.after * 100.0,
        report.heldout_tracks,
        report.revoted
    );
    Ok(())
}

fn retrain_full(dirs: &Paths, lib: &mut Library, seed: u64) -> anyhow::Result<()> {
    let models_dir = &dirs.models;
    let parent = classify::active_model(lib)?
        .context("no model in this library yet: run `sonotag classify` first")?;
    let base_model = Model::load(&parent.path)?;
    let Network::Scratch(base_net) = base_model.net else {
        anyhow::bail!(
            "model {} sits on the frozen {} backbone, so only its head can learn: run `sonotag retrain` (without --full)",
            parent.name,
            base_model.card.backbone.name()
        );
    };
    let rows = library_rows(dirs, lib)?;
    let mut classes: Vec<String> = rows.iter().map(|r| r.genre.clone()).collect();
    classes.sort();
    classes.dedup();
    anyhow::ensure!(
        classes.len() >= 2,
        "fine-tuning needs labelled tracks of at least two genres"
    );
    let inputs: Vec<(PathBuf, usize)> = rows
        .iter()
        .map(|r| {
            (
                r.path.clone(),
                classes.iter().position(|c| *c == r.genre).unwrap_or(0),
            )
        })
        .collect();
    let pb = bar(inputs.len(), "tracks decoded");
    let (examples, _) = train::load_examples(&inputs, &|d, _| pb.set_position(d as u64));
    pb.finish_and_clear();
    let arch = base_model.card.architecture.clone().unwrap_or_default();
    let cancel = AtomicBool::new(false);
    let opts = TrainOptions {
        seed,
        learning_rate: 3e-4,
        ..Default::default()
    };
    let trained = train::train(
        &examples,
        &classes,
        &arch,
        Some(base_net),
        &opts,
        &cancel,
        &mut |e| {
            eprintln!(
                "epoch {:>3}  loss {:.3}  slice acc {:>5.1}%  val track acc {:>5.1}%",
                e.epoch,
                e.loss,
                e.slice_accuracy * 100.0,
                e.val_track_accuracy * 100.0
            )
        },
    )?;
    let name = format!("personal-full-{}", classify::models(lib)?.len() + 1);
    let mut card = base_model.card.clone();
    card.name = name.clone();
    card.classes = classes;
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
    let id = classify::register_model(lib, &model, Some(parent.id))?;
    classify::set_active(lib, id)?;
    println!("new model {name}: run `sonotag classify` to analyse the library with it");
    Ok(())
}
