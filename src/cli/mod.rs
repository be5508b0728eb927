//! Command-line interface: argument parsing and printing. Each subcommand is
//! a thin wrapper over a library function.

mod model_cmds;
mod progress;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sonotag_core::cancel::Cancel;
use sonotag_core::paths::Paths;
use sonotag_core::store::{Library, TrackFilter};
use sonotag_core::{audio, bench, scan, spectrogram, workflow};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Sonotag: puts genres on a music library by listening to it.
#[derive(Parser, Debug)]
#[command(name = "sonotag", version, about, long_about = None)]
pub struct Cli {
    /// Library database file [default: ~/.local/share/sonotag/library.sqlite]
    #[arg(long, global = true, value_name = "PATH", env = "SONOTAG_DB")]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the window (the default when no command is given)
    Gui {
        /// A music folder to scan and classify at once
        folder: Option<PathBuf>,
    },
    /// Scan folders for audio files and record their tags in the library
    Scan {
        /// Folders to scan (recursively)
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// List tracks in the library
    Tracks {
        /// Only tracks tagged with this genre (case-insensitive)
        #[arg(long)]
        genre: Option<String>,
        /// List tracks whose files have vanished instead
        #[arg(long)]
        missing: bool,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// List files that could not be scanned or decoded, and why
    Errors {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Show what Sonotag reads from one file: properties, tags, slices
    Info {
        file: PathBuf,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Write a file's mel spectrogram as a greyscale PNG
    Spectrogram {
        file: PathBuf,
        /// Output image (PNG)
        #[arg(short, long)]
        output: PathBuf,
        /// Mark slice boundaries (every 2.56 s)
        #[arg(long)]
        grid: bool,
    },
    /// Train a model from labelled files (TSV: genre, path[, split])
    Train {
        /// Labels TSV files (header with `genre` and `path`, optional `split`)
        #[arg(
            long = "labels",
            value_name = "TSV",
            required_unless_present = "from_library"
        )]
        labels: Vec<PathBuf>,
        /// Use the library's trusted labels (accepted, overridden, known tags)
        #[arg(long)]
        from_library: bool,
        /// Output path without extension (writes OUT.safetensors and OUT.json)
        #[arg(long, default_value = "models/model")]
        out: PathBuf,
        /// Random seed (same seed, same data → same model)
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Maximum epochs (early stopping on validation track accuracy)
        #[arg(long, default_value_t = 60)]
        epochs: usize,
        /// Evenly spaced slices taken per track at most
        #[arg(long, default_value_t = 30)]
        max_slices: usize,
        /// Output channels of the four convolution blocks
        #[arg(long, value_delimiter = ',', default_value = "8,16,32,64")]
        channels: Vec<usize>,
        /// Average-pool factor on the 128×128 input
        #[arg(long, default_value_t = 4)]
        input_pool: usize,
        /// Map u8 to [-1, 1] instead of standardising each slice
        #[arg(long)]
        no_standardise: bool,
        /// Train without augmentation
        #[arg(long)]
        no_augment: bool,
        /// Precision the calibrated thresholds must reach on validation tracks
        #[arg(long, default_value_t = 0.95)]
        target_precision: f32,
        /// The network under the genre head: musicnn-msd (pretrained, frozen;
        /// a linear head is trained) or scratch-cnn (trained whole)
        #[arg(long, default_value = "musicnn-msd", value_parser = ["musicnn-msd", "scratch-cnn"])]
        backbone: String,
        /// Cross-validation folds for calibrating a pretrained backbone's thresholds
        #[arg(long, default_value_t = 10)]
        folds: usize,
        /// Leave out rows whose path has this folder (a source-disjoint check)
        #[arg(long)]
        exclude_folder: Vec<String>,
    },
    /// Write musicnn embeddings of labelled files as JSON lines (genre, path,
    /// split, patches × 200 values), for analysis outside Sonotag
    Embed {
        /// Labels TSV files (genre, path[, split])
        #[arg(long = "labels", value_name = "TSV", required = true)]
        labels: Vec<PathBuf>,
        /// Evenly spaced patches per track at most
        #[arg(long, default_value_t = 30)]
        max_patches: usize,
        /// Output file
        #[arg(long)]
        out: PathBuf,
    },
    /// Classify labelled files and report accuracy, coverage and precision
    Eval {
        /// Labels TSV (genre, path[, split])
        #[arg(long = "labels", value_name = "TSV")]
        labels: PathBuf,
        /// Only rows of this split (train or eval)
        #[arg(long)]
        split: Option<String>,
        /// Model path without extension [default: the shipped default model]
        #[arg(long)]
        model: Option<PathBuf>,
        /// Override the model's slice threshold
        #[arg(long)]
        slice_threshold: Option<f32>,
        /// Override the model's track threshold
        #[arg(long)]
        track_threshold: Option<f32>,
        /// Only rows whose path has this folder (e.g. one game's soundtrack)
        #[arg(long)]
        folder: Option<String>,
        /// Let only this many evenly spaced patches per track vote, as `classify` samples
        #[arg(long)]
        sample: Option<usize>,
        /// Restrict the choice to these genres (comma-separated), e.g. classical,electronic
        #[arg(long, value_delimiter = ',')]
        among: Vec<String>,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Play a user who reviews K tracks of a labelled library and retrains:
    /// accuracy, coverage and precision on the tracks left untouched
    SimulateCorrections {
        /// Labels TSVs (genre, path[, split]); train rows form the base set
        #[arg(long = "labels", value_name = "TSV", required = true)]
        labels: Vec<PathBuf>,
        /// The user's library: `eval` (the eval rows), or a source folder
        /// (e.g. wesnoth) held out of the base set; repeatable
        #[arg(long, default_value = "eval")]
        library: Vec<String>,
        /// Numbers of reviewed tracks
        #[arg(long, value_delimiter = ',', default_value = "0,5,10,20")]
        k: Vec<usize>,
        /// Weights of a decision, in base tracks
        #[arg(long, value_delimiter = ',', default_value = "10")]
        weights: Vec<f32>,
        /// Review orders: review-next, random
        #[arg(long, value_delimiter = ',', default_value = "review-next,random")]
        orders: Vec<String>,
        /// The user retrains after every N reviews ("review next" then
        /// orders what is left by the new model)
        #[arg(long, default_value_t = 5)]
        retrain_every: usize,
    },
    /// Classify every scanned track not yet analysed with the model
    Classify {
        /// Model path without extension [default: the library's active model, else the shipped one]
        #[arg(long)]
        model: Option<PathBuf>,
        /// Redo tracks already analysed with this model
        #[arg(long)]
        force: bool,
        /// Slices analysed per long track, evenly spaced (seeking)
        #[arg(long, default_value_t = sonotag_core::classify::DEFAULT_SAMPLE_SLICES, conflicts_with = "full")]
        sample: usize,
        /// Analyse every slice of every track (slower)
        #[arg(long)]
        full: bool,
    },
    /// List genre proposals of the active model
    Proposals {
        /// Only proposals in this state (proposed or unsure)
        #[arg(long)]
        state: Option<sonotag_core::vote::ProposalState>,
        /// Only undecided tracks, those whose decision would teach the
        /// model most first (least certain, spread over genres)
        #[arg(long)]
        review_next: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Retrain on your corrections and tags (a new head in seconds; --full fine-tunes all)
    Retrain {
        /// Fine-tune the whole network (decodes the labelled tracks; slow)
        #[arg(long)]
        full: bool,
        /// Random seed
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Also learn from the genre tags of tracks you have not decided
        /// (through the vocabulary's map; they weigh less than decisions)
        #[arg(long, conflicts_with = "full")]
        use_tags: bool,
    },
    /// List the models registered in the library, or switch to one
    Models {
        /// Make this model (by name) the active one and re-vote with it
        #[arg(long = "use", value_name = "NAME")]
        use_model: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Accept the proposed genre of tracks (by id or path), or of every
    /// undecided proposal with --min-share
    Accept {
        #[arg(required_unless_present = "min_share")]
        tracks: Vec<String>,
        /// Accept every undecided proposal with at least this share of the
        /// votes (0.5–1.0, e.g. 0.9)
        #[arg(long, value_name = "SHARE", conflicts_with = "tracks")]
        min_share: Option<f32>,
    },
    /// Set your own genre for a track (by id or path)
    Override {
        track: String,
        /// The genre to write, as typed (a vocabulary genre is spelled as the vocabulary spells it)
        genre: String,
        /// Allow replacing a genre the file already has
        #[arg(long)]
        replace: bool,
        /// Write the genre's super-genre from the vocabulary's map instead (e.g. Soul → Pop)
        #[arg(long)]
        super_genre: bool,
    },
    /// Take decisions back (the tracks return to the model's proposal)
    Clear {
        /// Track ids or paths
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        tracks: Vec<String>,
        /// Every decision
        #[arg(long)]
        all: bool,
    },
    /// List what you decided: track, genre, accepted or overridden, when
    Decisions {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Write accepted/overridden genres into the files' tags, after confirmation
    Apply {
        /// Only show what would be written
        #[arg(long)]
        dry_run: bool,
        /// Replace genres files already have (default: fill only empty ones)
        #[arg(long)]
        replace_existing: bool,
        /// Write ID3v2.3 instead of ID3v2.4
        #[arg(long)]
        id3v23: bool,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
    /// Undo a batch of tag writes (default: the latest)
    Undo { batch: Option<i64> },
    /// List batches of tag writes
    History,
    /// Feed damaged copies of good files to every stage (tags, decoding for
    /// both backbones, tag writing) and report panics, hangs and peak memory
    Fuzz {
        /// Cases to run
        #[arg(long, default_value_t = 10_000)]
        cases: u64,
        /// Seed of the mutations (a case is reproduced by seed and number)
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First case number
        #[arg(long, default_value_t = 0)]
        first: u64,
        /// Seconds after which a case counts as hung
        #[arg(long, default_value_t = 60)]
        limit_s: u64,
        /// Good files to mutate [default: the test fixtures, one per format]
        sources: Vec<PathBuf>,
        /// Folder for the cases; failing ones stay there [default: a temporary folder]
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Measure analysis, classification, scanning and window speed on
    /// generated audio and made-up libraries (figures, not pass/fail)
    Bench {
        /// Seconds of generated audio per track
        #[arg(long, default_value_t = 180.0)]
        seconds: f32,
        /// Tracks analysed in parallel for the tracks/s figure
        #[arg(long, default_value_t = 12)]
        tracks: usize,
        /// Files for the scan benchmark (0 skips it)
        #[arg(long, default_value_t = 10_000)]
        scan_files: usize,
        /// Only compare the inference speed of candidate network shapes, and time a head retrain
        #[arg(long)]
        inference_only: bool,
        /// Only time `classify` end to end on generated MP3s (both backbones)
        #[arg(long, conflicts_with = "inference_only")]
        classify_only: bool,
        /// Patches sampled per track in the classify figures [default: classify's]
        #[arg(long)]
        sample: Option<usize>,
        /// Only classify this many short tracks (hard links to one 10-s MP3)
        /// with the default model, printing resident memory as it goes
        #[arg(long, conflicts_with_all = ["inference_only", "classify_only"])]
        memory_tracks: Option<usize>,
        /// Only measure the window on a made-up library of this many tracks:
        /// how long it takes to open, and how long each action holds the
        /// UI thread
        #[arg(long, conflicts_with_all = ["inference_only", "classify_only", "memory_tracks"])]
        window_tracks: Option<usize>,
        /// Only time writing a genre into this many small files of every
        /// format (and undoing it), journal and syncs included
        #[arg(long, conflicts_with_all = ["inference_only", "classify_only", "memory_tracks", "window_tracks"])]
        apply_files: Option<usize>,
        /// Only time `retrain` end to end on a made-up library of this many
        /// analysed tracks, all decided, and on one ten times larger with one
        /// in ten decided
        #[arg(long, conflicts_with_all = ["inference_only", "classify_only", "memory_tracks", "window_tracks", "apply_files"])]
        retrain_tracks: Option<usize>,
        /// Only time writing a genre into one MP3 of this many MiB whose tag
        /// must grow, and its undo, with peak memory
        #[arg(long, conflicts_with_all = ["inference_only", "classify_only", "memory_tracks", "window_tracks", "apply_files", "retrain_tracks"])]
        apply_large_mib: Option<usize>,
    },
}

fn open_library(paths: &Paths) -> anyhow::Result<Library> {
    let mut lib = Library::open(&paths.database)?;
    // Interrupted tag writes of an earlier run are resolved before any
    // command looks at the library.
    print_recovered(&sonotag_core::tags::recover(&mut lib)?);
    Ok(lib)
}

fn print_recovered(recovered: &[sonotag_core::tags::Recovered]) {
    for r in recovered {
        eprintln!("{}: {}", r.path.display(), r.message);
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let paths = Paths::for_user(cli.db.clone());
    let Some(command) = cli.command else {
        return gui(&paths, None);
    };
    match command {
        Command::Gui { folder } => gui(&paths, folder),
        Command::Scan { dirs } => {
            let mut lib = open_library(&paths)?;
            run_scan(&mut lib, &dirs)
        }
        Command::Tracks {
            genre,
            missing,
            json,
        } => {
            let lib = open_library(&paths)?;
            let tracks = lib.tracks(&TrackFilter { genre, missing })?;
            print_list(json, &tracks, "tracks", |t| {
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    t.info.artist.as_deref().unwrap_or("-"),
                    t.info.title.as_deref().unwrap_or("-"),
                    t.info.album.as_deref().unwrap_or("-"),
                    if t.info.genres.is_empty() {
                        "-".to_string()
                    } else {
                        t.info.genres.join("; ")
                    },
                    t.info.duration_s.map_or("-".into(), format_duration),
                    t.path.display()
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Errors { json } => {
            let lib = open_library(&paths)?;
            let errors = lib.file_errors()?;
            print_list(json, &errors, "errors", |e| {
                format!("{}: {} ({} failed)", e.path.display(), e.message, e.stage)
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Info { file, json } => info(&file, json),
        Command::Spectrogram { file, output, grid } => {
            let (spec, report) = audio::analyse_file(&file)?;
            spec.to_image(grid)
                .save(&output)
                .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!(
                "{}: {} columns ({:.1} s), {} slices{} → {}",
                file.display(),
                spec.columns(),
                report.seconds(),
                spec.slice_count(),
                if report.corrupt_packets > 0 {
                    format!(", {} corrupt packets skipped", report.corrupt_packets)
                } else {
                    String::new()
                },
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Train {
            labels,
            from_library,
            out,
            seed,
            epochs,
            max_slices,
            channels,
            input_pool,
            no_standardise,
            no_augment,
            target_precision,
            backbone,
            folds,
            exclude_folder,
        } => {
            let (mut rows, sources) = if from_library {
                let lib = open_library(&paths)?;
                (
                    model_cmds::library_rows(&paths, &lib)?,
                    vec!["library".to_string()],
                )
            } else {
                model_cmds::read_all_labels(&paths, &labels)?
            };
            rows.retain(|r| {
                !exclude_folder
                    .iter()
                    .any(|f| model_cmds::in_folder(&r.path, f))
            });
            let command_line = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
            model_cmds::train_cmd(
                &sonotag_core::workflow::train::TrainRequest {
                    out,
                    seed,
                    epochs,
                    max_slices,
                    channels,
                    input_pool,
                    standardise: !no_standardise,
                    no_augment,
                    target_precision,
                    backbone: sonotag_core::model::Backbone::parse(&backbone)
                        .expect("clap checked the value"),
                    folds,
                    command_line: format!("sonotag {command_line}"),
                },
                &rows,
                sources,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Embed {
            labels,
            max_patches,
            out,
        } => {
            let (rows, _) = model_cmds::read_all_labels(&paths, &labels)?;
            model_cmds::embed_cmd(&rows, max_patches, &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SimulateCorrections {
            labels,
            library,
            k,
            weights,
            orders,
            retrain_every,
        } => {
            model_cmds::simulate_cmd(
                &paths,
                &labels,
                &library,
                &k,
                &weights,
                &orders,
                retrain_every,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            labels,
            split,
            model,
            slice_threshold,
            track_threshold,
            folder,
            sample,
            among,
            json,
        } => {
            model_cmds::eval_cmd(
                &paths,
                &labels,
                model_cmds::EvalChoice {
                    split,
                    folder,
                    sample,
                    among,
                },
                model,
                (slice_threshold, track_threshold),
                json,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Classify {
            model,
            force,
            sample,
            full,
        } => {
            let mut lib = open_library(&paths)?;
            model_cmds::classify_cmd(&mut lib, model, force, (!full).then_some(sample))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Proposals {
            state,
            review_next,
            json,
        } => {
            let lib = open_library(&paths)?;
            model_cmds::proposals_cmd(&lib, state, review_next, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Retrain {
            full,
            seed,
            use_tags,
        } => {
            let mut lib = open_library(&paths)?;
            model_cmds::retrain_cmd(&paths, &mut lib, full, seed, use_tags)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Models { use_model, json } => {
            let mut lib = open_library(&paths)?;
            if let Some(name) = use_model {
                let report = sonotag_core::workflow::retrain::use_model(&mut lib, &name)?;
                println!("{report}");
            }
            let models = lib.models()?;
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
        Command::Accept { tracks, min_share } => {
            let mut lib = open_library(&paths)?;
            let active = lib
                .active_model()?
                .context("no proposals yet: run `sonotag classify` first")?;
            accept_cmd(&mut lib, active.id, &tracks, min_share)
        }
        Command::Clear { tracks, all } => {
            let mut lib = open_library(&paths)?;
            let ids: Vec<i64> = if all {
                lib.decisions()?.iter().map(|d| d.track_id).collect()
            } else {
                tracks
                    .iter()
                    .map(|t| track_ref(&lib, t))
                    .collect::<anyhow::Result<_>>()?
            };
            let report =
                workflow::decide::decide(&mut lib, None, &workflow::decide::Decision::Clear(ids))?;
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Decisions { json } => {
            let lib = open_library(&paths)?;
            let rows = lib.decisions()?;
            print_list(json, &rows, "decisions", |d| {
                let genre = match &d.mapped_from {
                    Some(typed) => format!("{} (super-genre of {typed})", d.genre),
                    None => d.genre.clone(),
                };
                format!(
                    "{:>6}  {:<10} {genre:<24} {}  {}",
                    d.track_id,
                    d.source.as_str(),
                    sonotag_core::store::utc_text(d.at),
                    d.path.display()
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Override {
            track,
            genre: typed,
            replace,
            super_genre,
        } => {
            if ["", "none", "-", "null"].contains(&typed.trim().to_lowercase().as_str()) {
                anyhow::bail!(
                    "\"{typed}\" is not a genre: to take a decision back, run `sonotag clear {track}`"
                );
            }
            let mut lib = open_library(&paths)?;
            let id = track_ref(&lib, &track)?;
            let vocab = sonotag_core::genres::Vocabulary::load(&paths.vocabulary)?;
            let spelled = vocab.spelling(&typed);
            let genre = if super_genre {
                vocab.display(&typed)
            } else {
                spelled.clone()
            };
            // The plan and the window show what the user typed beside a
            // mapped genre.
            let mapped_from = (genre != spelled).then_some(spelled.as_str());
            workflow::decide::set_genre(&mut lib, id, &genre, mapped_from, replace)?;
            if mapped_from.is_some() {
                println!("{track}: {} → {genre} (super-genre)", typed.trim());
            }
            println!(
                "{track}: {genre}{}",
                if replace {
                    " (may replace the file's genre)"
                } else {
                    ""
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply {
            dry_run,
            replace_existing,
            id3v23,
            yes,
        } => {
            let mut lib = open_library(&paths)?;
            apply_cmd(&mut lib, dry_run, replace_existing, id3v23, yes)
        }
        Command::Undo { batch } => {
            let mut lib = open_library(&paths)?;
            let mut terminal = progress::Terminal::new();
            let report = workflow::apply::undo_tags(
                &mut lib,
                batch,
                Default::default(),
                &Cancel::new(),
                &mut |p| terminal.on(p),
            )?;
            terminal.finish();
            for o in report.outcomes.iter().filter(|o| o.error.is_none()) {
                println!("restored {}", o.path.display());
            }
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::History => {
            let lib = open_library(&paths)?;
            let batches = sonotag_core::tags::batches(&lib)?;
            if batches.is_empty() {
                println!("no tag writes yet: `sonotag apply` writes accepted genres");
            }
            for b in batches {
                println!(
                    "batch {:>4}  {:>5} files  {}{}",
                    b.id,
                    b.files,
                    sonotag_core::store::utc_text(b.at),
                    if b.undone { "  (undone)" } else { "" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fuzz {
            cases,
            seed,
            first,
            limit_s,
            sources,
            keep,
        } => fuzz_cmd(cases, seed, first, limit_s, sources, keep),
        Command::Bench {
            seconds,
            tracks,
            scan_files,
            inference_only,
            classify_only,
            sample,
            memory_tracks,
            window_tracks,
            apply_files,
            retrain_tracks,
            apply_large_mib,
        } => {
            if let Some(n) = apply_large_mib {
                bench::bench_apply_large(n)?;
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(n) = retrain_tracks {
                bench::bench_retrain_library(n, 1)?;
                bench::bench_retrain_library(10 * n, 10)?;
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(n) = apply_files {
                bench::bench_apply(n)?;
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(n) = window_tracks {
                crate::ui::bench::run(n)?;
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(n) = memory_tracks {
                bench::bench_memory(n)?;
                return Ok(ExitCode::SUCCESS);
            }
            if inference_only {
                let archs: Vec<sonotag_core::model::Architecture> = [
                    (vec![16, 32, 64, 64], 2),
                    (vec![8, 16, 32, 64], 2),
                    (vec![16, 32, 64], 4),
                    (vec![8, 16, 32, 64], 4),
                ]
                .into_iter()
                .map(|(channels, input_pool)| sonotag_core::model::Architecture {
                    channels,
                    input_pool,
                    ..Default::default()
                })
                .collect();
                bench::bench_inference(&archs)?;
                bench::bench_musicnn_inference()?;
                bench::bench_retrain_head(5_000)?;
                bench::bench_retrain_musicnn_head(5_000)?;
                bench::bench_retrain_library(50_000, 10)?;
                return Ok(ExitCode::SUCCESS);
            }
            bench::run(&bench::BenchOptions {
                seconds,
                parallel_tracks: tracks,
                scan_files,
                classify_only,
                sample: sample.unwrap_or(sonotag_core::classify::DEFAULT_SAMPLE_SLICES),
                ..Default::default()
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn gui(paths: &Paths, folder: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    // winit panics without a display; say it in one line instead.
    #[cfg(all(unix, not(target_os = "macos")))]
    if ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
        .iter()
        .all(|v| std::env::var_os(v).is_none_or(|s| s.is_empty()))
    {
        anyhow::bail!(
            "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); \
             run Sonotag in a desktop session, or use the command line (sonotag --help)"
        );
    }
    // A local X display whose server is not there makes winit panic too.
    #[cfg(all(unix, not(target_os = "macos")))]
    if std::env::var_os("WAYLAND_DISPLAY").is_none_or(|s| s.is_empty())
        && let Some(display) = std::env::var("DISPLAY").ok().filter(|d| d.starts_with(':'))
        && let Some(number) = display[1..].split('.').next().filter(|n| !n.is_empty())
        && !Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
    {
        anyhow::bail!(
            "cannot open the display {display}: no X server is running there; check DISPLAY, \
             or use the command line (sonotag --help)"
        );
    }
    crate::ui::run(paths.clone(), folder)
        .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// `sonotag accept`: the tracks named (unknown ones are reported and the
/// rest accepted), or every confident proposal.
fn accept_cmd(
    lib: &mut Library,
    model_id: i64,
    refs: &[String],
    min_share: Option<f32>,
) -> anyhow::Result<ExitCode> {
    use workflow::decide::{Decision, decide};
    let mut failed = false;
    let mut named = Vec::new();
    for r in refs {
        match track_ref(lib, r) {
            Ok(id) => named.push((id, r.as_str())),
            Err(e) => {
                eprintln!("{e:#}");
                failed = true;
            }
        }
    }
    let decision = match min_share {
        Some(share) => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&share),
                "--min-share is a share of the votes between 0 and 1, e.g. 0.9"
            );
            Decision::AcceptAbove { min_share: share }
        }
        None => Decision::Accept(named.iter().map(|(id, _)| *id).collect()),
    };
    let report = decide(lib, Some(model_id), &decision)?;
    let name_of = |id: i64| {
        named
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| r.to_string())
            .unwrap_or_else(|| format!("track {id}"))
    };
    for c in &report.changes {
        if let Some(l) = &c.after {
            println!("accepted {} for {}", l.genre, name_of(c.track_id));
        }
    }
    for (id, why) in &report.refused {
        eprintln!("{}: {why}", name_of(*id));
        failed = true;
    }
    eprintln!("{report}");
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A track by numeric id or by path.
fn track_ref(lib: &Library, s: &str) -> anyhow::Result<i64> {
    if let Ok(id) = s.parse::<i64>()
        && lib.track(id)?.is_some()
    {
        return Ok(id);
    }
    let path = std::path::absolute(s).unwrap_or_else(|_| PathBuf::from(s));
    Ok(lib
        .track_by_path(&path)?
        .with_context(|| format!("{s}: no such track in the library (use an id from `sonotag proposals --json` or a scanned path)"))?
        .id)
}

fn fuzz_cmd(
    cases: u64,
    seed: u64,
    first: u64,
    limit_s: u64,
    sources: Vec<PathBuf>,
    keep: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    use sonotag_core::fuzz::{self, Verdict};
    let sources = if sources.is_empty() {
        fuzz::default_sources()
    } else {
        sources
    };
    anyhow::ensure!(
        !sources.is_empty(),
        "no good files to mutate: name some audio files"
    );
    let scratch = tempfile::tempdir()?;
    let work = match keep {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            dir
        }
        None => scratch.path().to_path_buf(),
    };
    let mut done = 0u64;
    let campaign = fuzz::Campaign {
        sources,
        seed,
        first,
        cases,
        limit: std::time::Duration::from_secs(limit_s),
    };
    let summary = fuzz::campaign(&campaign, &work, &mut |r| {
        done += 1;
        match &r.verdict {
            Verdict::Handled => {}
            Verdict::Panicked(m) => {
                eprintln!(
                    "case {} ({}, {:?}): panic: {m}",
                    r.case, r.source, r.mutation
                )
            }
            Verdict::Hung => eprintln!(
                "case {} ({}, {:?}): still running after {limit_s} s",
                r.case, r.source, r.mutation
            ),
        }
        if done.is_multiple_of(500) {
            eprintln!(
                "{done}/{cases} cases, peak memory {:.0} MB",
                fuzz::peak_rss_mb()
            );
        }
    })?;
    println!(
        "{} cases (seed {seed}) in {:.0} s: {} handled, {} panics, {} hangs; \
         {} stage errors reported clearly; slowest case {} ms; peak memory {:.0} MB",
        summary.cases,
        summary.seconds,
        summary.handled,
        summary.panics,
        summary.hangs,
        summary.clear_errors,
        summary.slowest_ms,
        summary.peak_rss_mb
    );
    if summary.panics + summary.hangs > 0 {
        println!("failing cases are kept in {}", work.display());
        if work == scratch.path() {
            let _ = scratch.keep();
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn apply_cmd(
    lib: &mut Library,
    dry_run: bool,
    replace_existing: bool,
    id3v23: bool,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    use sonotag_core::tags::{self, Action, WritePolicy, WriteSettings};
    let settings = WriteSettings {
        policy: if replace_existing {
            WritePolicy::ReplaceAll
        } else {
            WritePolicy::FillEmpty
        },
        id3v23,
    };
    let plan = tags::plan(lib, settings)?;
    if plan.is_empty() {
        println!("nothing to write: accept or override some proposals first");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &plan {
        println!("{p}");
    }
    let writes = plan
        .iter()
        .filter(|p| p.action != Action::KeepExisting)
        .count();
    if writes < plan.len() {
        println!(
            "({} files keep their genre: use --replace-existing or `override --replace`)",
            plan.len() - writes
        );
    }
    if dry_run || writes == 0 {
        println!("{writes} files would be written (dry run)");
        return Ok(ExitCode::SUCCESS);
    }
    if !yes {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            anyhow::bail!("not a terminal: pass --yes to write {writes} files without asking");
        }
        print!("Write the genre into {writes} files? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !answer.trim().eq_ignore_ascii_case("y") {
            println!("nothing written");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let mut terminal = progress::Terminal::new();
    let report = workflow::apply::write_tags(lib, &plan, settings, &Cancel::new(), &mut |p| {
        terminal.on(p)
    })?;
    terminal.finish();
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// Prints `items` as pretty JSON, or one line each with a count on stderr.
fn print_list<T: serde::Serialize>(
    json: bool,
    items: &[T],
    what: &str,
    line: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(items)?);
    } else {
        for item in items {
            println!("{}", line(item));
        }
        eprintln!("{} {what}", items.len());
    }
    Ok(())
}

fn format_duration(s: f64) -> String {
    let s = s.round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

fn run_scan(lib: &mut Library, dirs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut terminal = progress::Terminal::new();
    let report = workflow::scan::scan_folders(lib, dirs, &Cancel::new(), &mut |p| terminal.on(p))?;
    terminal.finish();
    println!("{report}");
    if !report.problems.is_empty() {
        eprintln!("(`sonotag errors` lists the files that could not be read)");
    }
    Ok(ExitCode::SUCCESS)
}

fn info(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    if !file.exists() {
        anyhow::bail!("{}: no such file", file.display());
    }
    let tags = scan::read_info(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let analysis = audio::analyse_file(file);
    let (columns, slices, decoded_s, corrupt, decode_error) = match &analysis {
        Ok((spec, report)) => (
            spec.columns(),
            spec.slice_count(),
            report.seconds(),
            report.corrupt_packets,
            None,
        ),
        Err(e) => (0, 0, 0.0, 0, Some(e.to_string())),
    };
    if json {
        let value = serde_json::json!({
            "path": file.to_string_lossy(),
            "tags": tags,
            "decoded_seconds": decoded_s,
            "columns": columns,
            "slices": slices,
            "corrupt_packets": corrupt,
            "decode_error": decode_error,
            "features_version": spectrogram::FEATURES_VERSION,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    println!("file:         {}", file.display());
    println!("format:       {}", opt(&tags.format));
    println!(
        "duration:     {}",
        tags.duration_s
            .map_or("-".into(), |d| format!("{d:.2} s ({})", format_duration(d)))
    );
    println!(
        "audio:        {} Hz, {} channels, {} kbit/s",
        tags.sample_rate.map_or("-".into(), |v| v.to_string()),
        tags.channels.map_or("-".into(), |v| v.to_string()),
        tags.bitrate_kbps.map_or("-".into(), |v| v.to_string())
    );
    println!("title:        {}", opt(&tags.title));
    println!("artist:       {}", opt(&tags.artist));
    println!("album:        {}", opt(&tags.album));
    println!("album artist: {}", opt(&tags.album_artist));
    println!(
        "track:        {}",
        tags.track_no.map_or("-".into(), |v| v.to_string())
    );
    println!(
        "year:         {}",
        tags.year.map_or("-".into(), |v| v.to_string())
    );
    println!(
        "genres:       {}",
        if tags.genres.is_empty() {
            "-".into()
        } else {
            tags.genres.join("; ")
        }
    );
    match decode_error {
        None => println!(
            "analysis:     {decoded_s:.2} s decoded, {columns} columns, {slices} slices of 2.56 s{}",
            if corrupt > 0 {
                format!(", {corrupt} corrupt packets skipped")
            } else {
                String::new()
            }
        ),
        Some(e) => println!("analysis:     failed: {e}"),
    }
    Ok(ExitCode::SUCCESS)
}
