//! Decisions from the command line: accept proposals, override a genre,
//! take decisions back, list them. Each is one transaction through
//! `workflow::decide`.

use super::*;
use sonotag_core::ml::model::ModelCard;

/// `sonotag accept`.
pub fn accept(
    paths: &Paths,
    tracks: Vec<String>,
    min_share: Option<f32>,
) -> anyhow::Result<ExitCode> {
    let mut lib = open_library(paths)?;
    let active = lib
        .active_model::<ModelCard>()?
        .context("no proposals yet: run `sonotag classify` first")?;
    accept_cmd(&mut lib, active.id, &tracks, min_share)
}

/// `sonotag clear`.
pub fn clear(paths: &Paths, tracks: Vec<String>, all: bool) -> anyhow::Result<ExitCode> {
    let mut lib = open_library(paths)?;
    let ids: Vec<i64> = if all {
        lib.decisions()?.iter().map(|d| d.track_id).collect()
    } else {
        tracks
            .iter()
            .map(|t| track_ref(&lib, t))
            .collect::<anyhow::Result<_>>()?
    };
    let report = workflow::decide::decide(&mut lib, None, &workflow::decide::Decision::Clear(ids))?;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// `sonotag decisions`.
pub fn decisions(paths: &Paths, json: bool) -> anyhow::Result<ExitCode> {
    let lib = open_library(paths)?;
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

/// `sonotag override`.
pub fn override_genre(
    paths: &Paths,
    track: String,
    typed: String,
    replace: bool,
    super_genre: bool,
) -> anyhow::Result<ExitCode> {
    if ["", "none", "-", "null"].contains(&typed.trim().to_lowercase().as_str()) {
        anyhow::bail!(
            "\"{typed}\" is not a genre: to take a decision back, run `sonotag clear {track}`"
        );
    }
    let mut lib = open_library(paths)?;
    let id = track_ref(&lib, &track)?;
    let vocab = sonotag_core::config::genres::Vocabulary::load(&paths.vocabulary)?;
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

/// `sonotag accept`: the tracks named (unknown ones are reported and the
/// rest accepted), or every confident proposal.
pub fn accept_cmd(
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
pub fn track_ref(lib: &Library, s: &str) -> anyhow::Result<i64> {
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
