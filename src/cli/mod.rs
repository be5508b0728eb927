//! Command-line interface. Parsing (`args`: every subcommand and flag) stays
//! apart from running: `run` hands each parsed command to the module that
//! carries it out — `library_cmds` (window, scan, tracks, errors, info,
//! spectrogram), `decision_cmds`, `tag_cmds` (apply, undo, history),
//! `model_cmds` (train, eval, classify, proposals, retrain, models,
//! simulated corrections), `dev_cmds` (fuzz, bench), `help_files` (man pages and completions) — each a thin wrapper
//! over the core's workflows that prints their reports.

mod args;
mod decision_cmds;
mod dev_cmds;
mod help_files;
mod library_cmds;
mod model_cmds;
mod progress;
mod tag_cmds;

pub use args::{Cli, Command};

use anyhow::Context;
use sonotag_core::cancel::Cancel;
use sonotag_core::config::paths::Paths;
use sonotag_core::dev::bench;
use sonotag_core::store::{Library, TrackFilter};
use sonotag_core::workflow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(super) fn open_library(paths: &Paths) -> anyhow::Result<Library> {
    let mut lib = Library::open(&paths.database)?;
    // Interrupted tag writes of an earlier run are resolved before any
    // command looks at the library.
    print_recovered(&sonotag_core::tags::recover(&mut lib)?);
    Ok(lib)
}

pub(super) fn print_recovered(recovered: &[sonotag_core::tags::Recovered]) {
    for r in recovered {
        eprintln!("{}: {}", r.path.display(), r.message);
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let paths = Paths::for_user(cli.db.clone());
    let Some(command) = cli.command else {
        return library_cmds::gui(&paths, None);
    };
    match command {
        Command::Gui { folder } => library_cmds::gui(&paths, folder),
        Command::Scan { dirs } => library_cmds::scan(&paths, dirs),
        Command::Tracks {
            genre,
            missing,
            json,
        } => library_cmds::tracks(&paths, genre, missing, json),
        Command::Errors { skipped, json } => library_cmds::errors(&paths, skipped, json),
        Command::Forget => library_cmds::forget(&paths),
        Command::Info { file, json } => library_cmds::info(&file, json),
        Command::Spectrogram { file, output, grid } => {
            library_cmds::spectrogram(file, output, grid)
        }
        Command::Train(args) => model_cmds::train(&paths, args),
        Command::Embed {
            labels,
            backbone,
            max_patches,
            out,
        } => model_cmds::embed(&paths, labels, &backbone, max_patches, out),
        Command::SimulateCorrections(args) => model_cmds::simulate_corrections(&paths, args),
        Command::Eval(args) => model_cmds::eval(&paths, args),
        Command::Describe {
            labels,
            split,
            json,
        } => model_cmds::describe(&paths, &labels, split.as_deref(), json),
        Command::Classify {
            model,
            force,
            sample,
            full,
        } => model_cmds::classify(&paths, model, force, sample, full),
        Command::Proposals {
            state,
            review_next,
            json,
        } => model_cmds::proposals(&paths, state, review_next, json),
        Command::Retrain {
            full,
            seed,
            use_tags,
        } => model_cmds::retrain(&paths, full, seed, use_tags),
        Command::Models { use_model, json } => model_cmds::models(&paths, use_model, json),
        Command::Accept {
            tracks,
            min_share,
            only,
        } => decision_cmds::accept(&paths, tracks, min_share, only),
        Command::GenresPerTrack { most, least_share } => {
            model_cmds::genres_per_track(&paths, most, least_share)
        }
        Command::Clear { tracks, all } => decision_cmds::clear(&paths, tracks, all),
        Command::Decisions { json } => decision_cmds::decisions(&paths, json),
        Command::Override {
            track,
            genre,
            replace,
            super_genre,
        } => decision_cmds::override_genre(&paths, track, genre, replace, super_genre),
        Command::Apply {
            dry_run,
            replace_existing,
            id3v23,
            v23_join,
            yes,
        } => {
            let mut lib = open_library(&paths)?;
            let settings = sonotag_core::tags::WriteSettings {
                policy: if replace_existing {
                    sonotag_core::tags::WritePolicy::ReplaceAll
                } else {
                    sonotag_core::tags::WritePolicy::FillEmpty
                },
                id3v23,
                v23_join: v23_join.into(),
            };
            tag_cmds::apply_cmd(&mut lib, dry_run, settings, yes)
        }
        Command::Undo { batch, yes: _ } => tag_cmds::undo(&paths, batch),
        Command::History => tag_cmds::history(&paths),
        Command::Fuzz {
            cases,
            seed,
            first,
            limit_s,
            sources,
            keep,
        } => dev_cmds::fuzz_cmd(cases, seed, first, limit_s, sources, keep),
        Command::Bench(args) => dev_cmds::bench(args),
        Command::HelpFiles { out } => {
            for written in help_files::write(&out)? {
                println!("{}", written.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints `items` as pretty JSON, or one line each with a count on stderr.
pub(super) fn print_list<T: serde::Serialize>(
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
        // `what` is a plural noun ("tracks"): singular for one.
        let one = what.strip_suffix('s').unwrap_or(what);
        eprintln!("{}", sonotag_core::words::counted(items.len(), one, what));
    }
    Ok(())
}
