//! Command-line front ends for training, evaluation, classification and
//! retraining.

use super::progress::Terminal;
use super::{open_library, print_list};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sonotag_core::cancel::Cancel;
use sonotag_core::config::genres::Vocabulary;
use sonotag_core::config::paths::Paths;
use sonotag_core::ml::backbone::musicnn;
use sonotag_core::ml::backbone::{Backbone, BackboneSpec};
use sonotag_core::ml::corrections::RetrainOptions;
use sonotag_core::ml::eval::{self, EvalReport};
use sonotag_core::ml::look::Voting;
use sonotag_core::ml::model::ModelCard;
use sonotag_core::ml::model::{self, Model};
use sonotag_core::ml::scratch_training::{self, LabelRow, Split};
use sonotag_core::ml::transfer;
use sonotag_core::proposal::{ProposalState, Thresholds};
use sonotag_core::store::Library;
use sonotag_core::workflow::{self, train::TrainRequest};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

/// `sonotag train --labels TSV...`: the training workflow with a progress
/// bar and its events printed.
pub fn train_cmd(
    args: &TrainRequest,
    rows: &[LabelRow],
    sources: Vec<String>,
) -> anyhow::Result<()> {
    let reading = if args.backbone.is_scratch() {
        "decoding".to_string()
    } else {
        format!("embedding with {}", args.backbone.name)
    };
    let train_rows = rows.iter().filter(|r| r.split != Some(Split::Eval)).count();
    eprintln!("{reading} {train_rows} training tracks…");
    let terminal = std::sync::Mutex::new(Terminal::new());
    let report = workflow::train::train_model(args, rows, sources, &|p| {
        terminal.lock().expect("progress lock").on(p)
    })?;
    terminal.lock().expect("progress lock").finish();
    eprintln!("{report}");
    Ok(())
}

/// `sonotag embed`: a backbone's embeddings of labelled files as JSON lines.
pub fn embed_cmd(
    backbone: &dyn Backbone,
    rows: &[LabelRow],
    max_patches: usize,
    out: &Path,
) -> anyhow::Result<()> {
    use std::io::Write;
    let inputs: Vec<(PathBuf, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.path.clone(), i))
        .collect();
    let pb = bar(inputs.len(), "tracks");
    let cache = transfer::default_cache_dir();
    let (tracks, skipped) = transfer::embed_tracks(
        backbone,
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
            "source": row.source,
            "embeddings": t.embeddings.chunks(t.dim).collect::<Vec<_>>(),
        });
        writeln!(file, "{line}")?;
    }
    file.flush()?;
    eprintln!("wrote {} tracks to {}", tracks.len(), out.display());
    Ok(())
}

/// The shipped musicnn weights.
fn shipped_musicnn() -> anyhow::Result<PathBuf> {
    sonotag_core::workflow::train::shipped_musicnn()
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
        rows.extend(scratch_training::read_labels(p, &vocab)?);
        sources.push(p.to_string_lossy().into_owned());
    }
    Ok((rows, sources))
}

/// `sonotag train --from-library`: trusted labels of the library as rows.
pub fn library_rows(dirs: &Paths, lib: &Library) -> anyhow::Result<Vec<LabelRow>> {
    workflow::retrain::library_rows(lib, &vocabulary(dirs)?)
}

/// Which rows `sonotag eval` scores and how.
pub struct EvalChoice {
    pub split: Option<String>,
    pub folder: Option<String>,
    pub voting: Voting,
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
    let mut rows = scratch_training::read_labels(labels, &vocab)?;
    if let Some(f) = &choice.folder {
        rows.retain(|r| in_folder(&r.path, f));
    }
    keep_split(&mut rows, choice.split.as_deref())?;
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
    let report = eval::evaluate(
        &model,
        &rows,
        th,
        choice.voting,
        sonotag_core::proposal::SeveralGenres::default(),
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_eval(&report);
        print_unseen(&model.card);
    }
    Ok(())
}

/// Keeps the rows of `split` (`train` or `eval`), all where none is named.
fn keep_split(rows: &mut Vec<LabelRow>, split: Option<&str>) -> anyhow::Result<()> {
    if let Some(s) = split {
        let want = match s {
            "eval" => Split::Eval,
            "train" => Split::Train,
            other => anyhow::bail!("--split must be `train` or `eval`, not `{other}`"),
        };
        rows.retain(|r| r.split == Some(want));
    }
    Ok(())
}

/// `sonotag describe`: each file's descriptors, then per true genre how
/// many tracks got each vocals suggestion and the mean ratings.
pub fn describe(
    dirs: &Paths,
    labels: &Path,
    split: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let vocab = vocabulary(dirs)?;
    let mut rows = scratch_training::read_labels(labels, &vocab)?;
    keep_split(&mut rows, split)?;
    let model = Model::load(&model::default_model_path())?;
    let tracks = eval::describe(&model, &rows);
    if json {
        println!("{}", serde_json::to_string_pretty(&tracks)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut by_genre: std::collections::BTreeMap<
        &str,
        (usize, std::collections::BTreeMap<String, usize>, Vec<f32>),
    > = Default::default();
    for t in &tracks {
        let said = t
            .suggestions
            .iter()
            .map(|s| format!("{} {s}", s.aspect.label()))
            .collect::<Vec<_>>()
            .join("; ");
        match &t.error {
            Some(e) => println!("{:<11} ERROR {e}  {}", t.truth, t.path),
            None => println!("{:<11} {said}  {}", t.truth, t.path),
        }
        let entry = by_genre.entry(&t.truth).or_default();
        entry.0 += 1;
        let vocals = t
            .suggestions
            .iter()
            .find(|s| s.aspect == sonotag_core::ml::descriptors::Aspect::Vocals)
            .map_or("no suggestion".to_string(), |s| s.value.clone());
        *entry.1.entry(vocals).or_default() += 1;
        if entry.2.is_empty() {
            entry.2 = vec![0.0; t.vocals_ratings.len()];
        }
        for (sum, (_, r)) in entry.2.iter_mut().zip(&t.vocals_ratings) {
            *sum += r.iter().sum::<f32>() / r.len().max(1) as f32;
        }
    }
    let names: Vec<String> = tracks
        .iter()
        .find(|t| !t.vocals_ratings.is_empty())
        .map(|t| t.vocals_ratings.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    println!(
        "\nvocals by true genre (tracks; suggestions; mean rating of {}):",
        names.join(" / ")
    );
    for (genre, (n, counts, sums)) in &by_genre {
        let counts = counts
            .iter()
            .map(|(v, c)| format!("{v} {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let means = sums
            .iter()
            .map(|s| format!("{:.2}", s / *n as f32))
            .collect::<Vec<_>>()
            .join(" / ");
        println!("  {genre:<11} {n:>3}; {counts}; {means}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The model's own figures on sources left out of its training whole,
/// measured when it was trained (with its own thresholds), next to this
/// evaluation.
fn print_unseen(card: &ModelCard) {
    let unseen = card.unseen_sources();
    if unseen.is_empty() {
        return;
    }
    println!("\nmeasured at training, each source left out whole (thresholds of the card):");
    for (name, s) in &unseen {
        println!("  {name:<28} {s}");
    }
    if let Some(total) = card.unseen_total() {
        println!("  {:<28} {total}", format!("all {}", unseen.len()));
        if let Some(leading) = total.leading_right {
            println!(
                "  (the leading genre, every patch voting, was right for {leading} of {} ({:.1}%): the most right any track threshold can give)",
                total.tracks,
                leading as f32 * 100.0 / total.tracks.max(1) as f32
            );
        }
    }
    if let Some(w) = card.worth() {
        println!("{w}");
    }
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
            "{mark:<6} {:<11} → {:<11} {:>4.0}%  {}{}{}",
            t.truth,
            t.proposed
                .as_deref()
                .or(t.leading.as_deref().map(|_| "?"))
                .unwrap_or("-"),
            t.share * 100.0,
            match t.several.as_slice() {
                [_, more @ ..] if !more.is_empty() => format!("[{}] ", t.several.join("; ")),
                _ => String::new(),
            },
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
    println!("several genres (true genre among those proposed; precision of the first):");
    for (s, score) in &r.several {
        let setting = if s.most <= 1 {
            "one genre".to_string()
        } else {
            format!(
                "up to {}, each ≥ {:.0}% of the votes",
                s.most,
                s.least_share * 100.0
            )
        };
        let default = if *s == sonotag_core::proposal::SeveralGenres::default() {
            " (default)"
        } else {
            ""
        };
        println!("  {setting}{default}: {score}");
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

/// `sonotag genres-per-track`: shows the library's setting, or sets it
/// and re-votes the active model's proposals from their stored analyses.
pub fn genres_per_track(
    paths: &Paths,
    most: Option<usize>,
    least_share: Option<f32>,
) -> anyhow::Result<ExitCode> {
    use sonotag_core::proposal::SeveralGenres;
    let mut lib = open_library(paths)?;
    let mut several = lib.several_genres()?;
    if most.is_some() || least_share.is_some() {
        if let Some(n) = most {
            anyhow::ensure!((1..=3).contains(&n), "a track gets 1 to 3 genres, not {n}");
            several.most = n;
        }
        if let Some(share) = least_share {
            anyhow::ensure!(
                (0.05..=0.5).contains(&share),
                "--least-share is a share of the votes between 0.05 and 0.5, e.g. 0.34"
            );
            several.least_share = share;
        }
        lib.set_several_genres(several)?;
        if let Some(active) = lib.active_model::<ModelCard>()? {
            let n = sonotag_core::catalog::analyse::revote(
                &mut lib,
                active.id,
                &active.card.classes,
                active.card.thresholds,
            )?;
            println!("re-voted {n} tracks");
        }
    }
    match several {
        SeveralGenres { most: 0 | 1, .. } => println!("one genre a track"),
        s => println!(
            "up to {} genres a track; a further genre needs {:.0}% of the votes{}",
            s.most,
            s.least_share * 100.0,
            if s == SeveralGenres::default() {
                " (the default)"
            } else {
                ""
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// `sonotag classify`.
pub fn classify_cmd(
    lib: &mut Library,
    model: Option<PathBuf>,
    force: bool,
    voting: Voting,
) -> anyhow::Result<()> {
    let mut terminal = Terminal::new();
    let report = sonotag_core::workflow::classify::classify_library(
        lib,
        &sonotag_core::workflow::classify::ClassifyRequest {
            model,
            force,
            voting,
            thresholds: None,
        },
        &Cancel::new(),
        &mut |p| terminal.on(p),
    )?;
    terminal.finish();
    println!("{report}");
    Ok(())
}

/// `sonotag proposals`.
pub fn proposals_cmd(
    lib: &Library,
    state: Option<ProposalState>,
    review_next: bool,
    json: bool,
) -> anyhow::Result<()> {
    let active = lib
        .active_model::<ModelCard>()?
        .context("no model has classified this library yet: run `sonotag classify`")?;
    let mut rows = lib.proposals(active.id, state)?;
    if review_next {
        rows.retain(|r| r.label.is_none());
        let keys: Vec<sonotag_core::catalog::review::ReviewKey> = rows
            .iter()
            .map(|r| sonotag_core::catalog::review::ReviewKey {
                leaning: r.genre.as_deref(),
                unsure: r.state == ProposalState::Unsure,
                share: r.share,
            })
            .collect();
        let order = sonotag_core::catalog::review::review_next_order(&keys);
        let mut taken: Vec<Option<_>> = rows.into_iter().map(Some).collect();
        rows = order.into_iter().filter_map(|i| taken[i].take()).collect();
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    // The genre column as wide as its widest entry ("Hip-Hop; Electronic").
    let width = rows
        .iter()
        .map(|r| {
            r.genre.as_ref().map_or(1, |g| g.chars().count() + 1)
                + r.also.iter().map(|a| a.chars().count() + 2).sum::<usize>()
        })
        .max()
        .unwrap_or(0)
        .max(11);
    for r in &rows {
        // An unsure track's genre is only the way it leans.
        let genre = match (&r.genre, r.state) {
            (Some(g), ProposalState::Unsure) => format!("{g}?"),
            (Some(g), _) => std::iter::once(g.as_str())
                .chain(r.also.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("; "),
            (None, _) => "-".to_string(),
        };
        // Untagged files are named by their file name, not "? – ?".
        let name = match (&r.artist, &r.title) {
            (Some(a), Some(t)) => format!("{a} – {t}"),
            (None, Some(t)) => t.clone(),
            (_, None) => Path::new(&r.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        // No vote cast (every slice abstained): no share to show.
        let share = if r.votes > 0 {
            format!("{:.0}%", r.share * 100.0)
        } else {
            "-".to_string()
        };
        // What the user decided, beside what the model says; in review
        // order, why the track is worth a look.
        let decided = match (&r.label, review_next) {
            (Some(l), _) => format!("  [decided: {l}]"),
            (None, true) => match torn_between(lib, r.track_id, &active)? {
                Some((a, b)) => format!("  [between {a} and {b}]"),
                None => String::new(),
            },
            (None, false) => String::new(),
        };
        println!(
            "{:>6}  {:<8} {genre:<width$} {share:>5}  {name}  {}{decided}",
            r.track_id, r.state, r.path
        );
    }
    if review_next {
        eprintln!(
            "review next: unsure tracks first, then the least certain proposals, one genre after \
             another; deciding these teaches the next retrain most"
        );
    }
    eprintln!(
        "{} proposals (model {}); the first column is the track id `accept` and `override` take",
        rows.len(),
        active.name
    );
    Ok(())
}

/// The two genres a track's patches voted for most (the leader first),
/// from its stored analysis: what "review next" shows as the reason.
fn torn_between(
    lib: &Library,
    track_id: i64,
    model: &sonotag_core::ml::model::ModelRow,
) -> anyhow::Result<Option<(String, String)>> {
    let Some(a) = lib.analysis(track_id, model.id)? else {
        return Ok(None);
    };
    let classes = &model.card.classes;
    let p = sonotag_core::ml::vote::vote(
        &a.probabilities,
        classes.len(),
        sonotag_core::proposal::Thresholds {
            slice: 0.0,
            track: 0.0,
        },
    );
    let Some(first) = p.winner else {
        return Ok(None);
    };
    let second = (0..classes.len())
        .filter(|&c| c != first && p.votes[c] > 0)
        .max_by_key(|&c| (p.votes[c], std::cmp::Reverse(c)));
    Ok(second.map(|second| (classes[first].clone(), classes[second].clone())))
}

/// `sonotag retrain` (head) and `sonotag retrain --full`.
pub fn retrain_cmd(
    dirs: &Paths,
    lib: &mut Library,
    full: bool,
    seed: u64,
    use_tags: bool,
) -> anyhow::Result<()> {
    let vocab = vocabulary(dirs)?;
    let models_dir = dirs.models.clone();
    if full {
        let terminal = std::sync::Mutex::new(Terminal::new());
        let report = workflow::retrain::retrain_full(lib, &vocab, &models_dir, seed, &|p| {
            terminal.lock().expect("progress lock").on(p)
        })?;
        terminal.lock().expect("progress lock").finish();
        println!("{report}");
        return Ok(());
    }
    let options = RetrainOptions {
        seed,
        use_tags,
        ..Default::default()
    };
    let report = workflow::retrain::retrain_head(lib, &vocab, &models_dir, &options, &mut |_| {})?;
    println!("{report}");
    let worth = lib
        .models::<ModelCard>()?
        .into_iter()
        .find(|m| m.id == report.model_id)
        .and_then(|m| m.card.worth());
    if let Some(w) = worth {
        println!("{w}");
    }
    Ok(())
}

/// The folder a labelled file sits in under its labels file (its source:
/// a game's soundtrack, or a GTZAN genre folder).
fn source_of(tsv: &Path, path: &Path) -> String {
    tsv.parent()
        .and_then(|d| path.strip_prefix(d).ok())
        .and_then(|rel| rel.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `sonotag simulate-corrections`: learning curves of retraining, in
/// memory on held-out sources, or through a real library on a folder.
pub fn simulate_cmd(dirs: &Paths, args: &super::args::SimulateArgs) -> anyhow::Result<()> {
    use sonotag_core::dev::simulate::{self, Order, Plan, SimTrack};
    let seeds: Vec<u64> = (1..=args.seeds).collect();
    let orders = Order::parse(&args.orders, &seeds)?;
    let vocab = vocabulary(dirs)?;
    let mut rows: Vec<(LabelRow, String)> = Vec::new();
    for tsv in &args.labels {
        for r in scratch_training::read_labels(tsv, &vocab)? {
            let source = source_of(tsv, &r.path);
            rows.push((r, source));
        }
    }
    let opts = sonotag_core::ml::corrections::RetrainOptions {
        prior_tracks: args.prior_tracks,
        ..Default::default()
    };
    let plan = Plan {
        ks: &args.k,
        weights: &args.weights,
        orders: &orders,
        retrain_every: args.retrain_every,
        several: sonotag_core::proposal::SeveralGenres {
            most: args.most_genres,
            ..Default::default()
        },
    };
    if let Some(folder) = &args.folder {
        let truth: std::collections::HashMap<PathBuf, String> = rows
            .iter()
            .filter_map(|(r, _)| Some((std::fs::canonicalize(&r.path).ok()?, r.genre.clone())))
            .collect();
        let work = tempfile::tempdir()?;
        let points =
            sonotag_core::dev::user::play(folder, &truth, &vocab, &plan, &opts, work.path())?;
        print_curves(&folder.display().to_string(), &points);
        return Ok(());
    }
    let backbone = musicnn::shared(&shipped_musicnn()?)?;
    let inputs: Vec<(PathBuf, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, (r, _))| (r.path.clone(), i))
        .collect();
    let pb = bar(inputs.len(), "tracks embedded");
    let cache = transfer::default_cache_dir();
    let (tracks, skipped) = transfer::embed_tracks(
        backbone.as_ref(),
        &inputs,
        30,
        cache.as_deref(),
        &|done, _| pb.set_position(done as u64),
    );
    pb.finish_and_clear();
    for s in &skipped {
        eprintln!("  skipped {}: {}", s.path.display(), s.reason);
    }
    for library in &args.library {
        let (mut base, mut lib) = (Vec::new(), Vec::new());
        for t in &tracks {
            let (row, source) = &rows[t.class];
            let sim = SimTrack {
                name: row.path.display().to_string(),
                embeddings: t.embeddings.clone(),
                dim: t.dim,
                genre: row.genre.clone(),
                source: row.source.clone(),
            };
            let is_eval = row.split == Some(scratch_training::Split::Eval);
            if library == "eval" {
                if is_eval {
                    lib.push(sim)
                } else {
                    base.push(sim)
                }
            } else if source == library {
                lib.push(sim);
            } else if !is_eval {
                base.push(sim);
            }
        }
        anyhow::ensure!(
            !lib.is_empty(),
            "no labelled track is in the library {library}"
        );
        print_curves(library, &simulate::curves(&base, &lib, &plan, &opts)?);
    }
    Ok(())
}

/// The learning curves' table, then per k the mean over orders, the worst
/// and mean of the random ones, and the most any order fell below the
/// first model on the same untouched tracks.
fn print_curves(library: &str, points: &[sonotag_core::dev::simulate::CurvePoint]) {
    use sonotag_core::dev::simulate::{Order, worst_and_mean};
    // No figure where nothing was measured.
    let pct = |v: f32, of: usize| {
        if of == 0 {
            "–".to_string()
        } else {
            format!("{:.1}%", v * 100.0)
        }
    };
    let short: String = {
        let chars: Vec<char> = library.chars().collect();
        chars[chars.len().saturating_sub(14)..].iter().collect()
    };
    println!(
        "{:<14} {:<12} {:>6} {:>3} {:>9} {:>9} {:>9} {:>10} {:>7} {:>7} {:>7} {:>11}",
        "library",
        "order",
        "weight",
        "k",
        "untouched",
        "accuracy",
        "coverage",
        "precision",
        "before",
        "leaning",
        "genres",
        "thresholds"
    );
    for p in points {
        println!(
            "{:<14} {:<12} {:>6} {:>3} {:>9} {:>9} {:>9} {:>10} {:>7} {:>7} {:>7} {:>6.2}/{:.2}",
            short,
            p.order.to_string(),
            p.weight,
            p.k,
            p.untouched,
            pct(p.accuracy(), p.untouched),
            pct(p.coverage(), p.untouched),
            pct(p.precision(), p.proposed),
            format!("{}/{}", p.before_right, p.untouched),
            p.leaning_right,
            p.classes,
            p.thresholds.slice,
            p.thresholds.track,
        );
    }
    let mut ks: Vec<(f32, usize)> = points.iter().map(|p| (p.weight, p.k)).collect();
    ks.sort_by(|a, b| a.partial_cmp(b).expect("weights are numbers"));
    ks.dedup();
    for (weight, k) in ks {
        let at: Vec<&_> = points
            .iter()
            .filter(|p| p.k == k && p.weight == weight && p.untouched > 0)
            .collect();
        if at.is_empty() {
            continue;
        }
        let random: Vec<&_> = at
            .iter()
            .copied()
            .filter(|p| matches!(p.order, Order::Random(_)))
            .collect();
        let mean_all = at.iter().map(|p| p.accuracy()).sum::<f32>() / at.len().max(1) as f32;
        let (right, proposed) = at
            .iter()
            .fold((0, 0), |(r, n), p| (r + p.right, n + p.proposed));
        let fall = at
            .iter()
            .map(|p| p.before_right as i64 - p.right as i64)
            .max()
            .unwrap_or(0);
        let mut line = format!(
            "{short} weight {weight} k={k}: mean over {} orders {:.1}% right, precision {}; the \
             most any order fell below the first model on its untouched tracks: {fall}",
            at.len(),
            mean_all * 100.0,
            pct(right as f32 / proposed.max(1) as f32, proposed),
        );
        if let Some((worst, mean)) = worst_and_mean(&random) {
            line.push_str(&format!(
                "; random orders: worst {:.1}%, mean {:.1}%",
                worst * 100.0,
                mean * 100.0
            ));
        }
        println!("{line}");
    }
}

/// `sonotag train`.
pub fn train(paths: &Paths, args: super::args::TrainArgs) -> anyhow::Result<ExitCode> {
    let (mut rows, sources) = if args.from_library {
        let lib = open_library(paths)?;
        (library_rows(paths, &lib)?, vec!["library".to_string()])
    } else {
        read_all_labels(paths, &args.labels)?
    };
    rows.retain(|r| !args.exclude_folder.iter().any(|f| in_folder(&r.path, f)));
    let command_line = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    train_cmd(
        &sonotag_core::workflow::train::TrainRequest {
            out: args.out,
            seed: args.seed,
            epochs: args.epochs,
            max_slices: args.max_slices,
            channels: args.channels,
            input_pool: args.input_pool,
            standardise: !args.no_standardise,
            no_augment: args.no_augment,
            target_precision: args.target_precision,
            backbone: BackboneSpec::parse(&args.backbone).expect("clap checked the value"),
            folds: args.folds,
            head_c: args.head_c,
            command_line: format!("sonotag {command_line}"),
        },
        &rows,
        sources,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `sonotag embed`.
pub fn embed(
    paths: &Paths,
    labels: Vec<PathBuf>,
    backbone: &str,
    max_patches: usize,
    out: PathBuf,
) -> anyhow::Result<ExitCode> {
    let (rows, _) = read_all_labels(paths, &labels)?;
    let spec = BackboneSpec::parse(backbone).expect("clap checked the value");
    // Its weights are looked up among the shipped models.
    let backbone = sonotag_core::ml::backbone::open(&spec, &model::default_model_path())
        .map_err(|e| anyhow::anyhow!(e))?;
    embed_cmd(backbone.as_ref(), &rows, max_patches, &out)?;
    Ok(ExitCode::SUCCESS)
}

/// `sonotag simulate-corrections`.
pub fn simulate_corrections(
    paths: &Paths,
    args: super::args::SimulateArgs,
) -> anyhow::Result<ExitCode> {
    simulate_cmd(paths, &args)?;
    Ok(ExitCode::SUCCESS)
}

/// `sonotag eval`.
pub fn eval(paths: &Paths, args: super::args::EvalArgs) -> anyhow::Result<ExitCode> {
    let super::args::EvalArgs {
        labels,
        split,
        model,
        slice_threshold,
        track_threshold,
        folder,
        sample,
        as_classify,
        among,
        json,
    } = args;
    let voting = match (as_classify, sample) {
        (true, _) => Voting::SecondLook,
        (false, Some(n)) => Voting::Evenly(n),
        (false, None) => Voting::All,
    };
    eval_cmd(
        paths,
        &labels,
        EvalChoice {
            split,
            folder,
            voting,
            among,
        },
        model,
        (slice_threshold, track_threshold),
        json,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `sonotag classify`.
pub fn classify(
    paths: &Paths,
    model: Option<PathBuf>,
    force: bool,
    sample: Option<usize>,
    full: bool,
) -> anyhow::Result<ExitCode> {
    let mut lib = open_library(paths)?;
    let voting = match (full, sample) {
        (true, _) => Voting::All,
        (false, Some(n)) => Voting::Evenly(n),
        (false, None) => Voting::SecondLook,
    };
    classify_cmd(&mut lib, model, force, voting)?;
    Ok(ExitCode::SUCCESS)
}

/// `sonotag proposals`.
pub fn proposals(
    paths: &Paths,
    state: Option<sonotag_core::proposal::ProposalState>,
    review_next: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let lib = open_library(paths)?;
    proposals_cmd(&lib, state, review_next, json)?;
    Ok(ExitCode::SUCCESS)
}

/// `sonotag retrain`.
pub fn retrain(paths: &Paths, full: bool, seed: u64, use_tags: bool) -> anyhow::Result<ExitCode> {
    let mut lib = open_library(paths)?;
    retrain_cmd(paths, &mut lib, full, seed, use_tags)?;
    Ok(ExitCode::SUCCESS)
}

/// `sonotag models`.
pub fn models(paths: &Paths, use_model: Option<String>, json: bool) -> anyhow::Result<ExitCode> {
    let mut lib = open_library(paths)?;
    if let Some(name) = use_model {
        let report = sonotag_core::workflow::retrain::use_model(&mut lib, &name)?;
        println!("{report}");
    }
    let models = lib.models::<ModelCard>()?;
    print_list(json, &models, "models", |m| {
        format!(
            "{} {:<20} {} genres  {}",
            if m.active { "*" } else { " " },
            m.name,
            m.card.classes.len(),
            m.path.display()
        )
    })?;
    Ok(ExitCode::SUCCESS)
}
