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
    only: Option<String>,
) -> anyhow::Result<ExitCode> {
    let mut lib = open_library(paths)?;
    let active = lib
        .active_model::<ModelCard>()?
        .context("no proposals yet: run `sonotag classify` first")?;
    let which = match (min_share, only) {
        (Some(share), _) => Accepting::Above(share),
        (None, Some(genre)) => {
            let vocab = sonotag_core::config::genres::Vocabulary::load(&paths.vocabulary)?;
            Accepting::One(vocab.spelling(&genre))
        }
        (None, None) => Accepting::Proposals,
    };
    accept_cmd(&mut lib, active.id, &tracks, which)
}

/// What `sonotag accept` accepts of the tracks it names.
pub enum Accepting {
    /// Their proposals, every genre named.
    Proposals,
    /// One of the genres their proposals name.
    One(String),
    /// Every undecided proposal with at least this share of the votes.
    Above(f32),
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
        let named = std::iter::once(d.genre.as_str())
            .chain(d.also.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("; ");
        let genre = match &d.mapped_from {
            Some(typed) => format!("{named} (super-genre of {typed})"),
            None => named,
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
    let typed_genres = workflow::decide::typed_genres(&typed);
    let spelled: Vec<String> = typed_genres.iter().map(|g| vocab.spelling(g)).collect();
    let genres: Vec<String> = if super_genre {
        typed_genres.iter().map(|g| vocab.display(g)).collect()
    } else {
        spelled.clone()
    };
    let genre = genres.join("; ");
    let spelled = spelled.join("; ");
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
    which: Accepting,
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
    let ids = || named.iter().map(|(id, _)| *id).collect();
    let decision = match which {
        Accepting::Above(share) => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&share),
                "--min-share is a share of the votes between 0 and 1, e.g. 0.9"
            );
            Decision::AcceptAbove { min_share: share }
        }
        Accepting::One(genre) => Decision::AcceptOne {
            tracks: ids(),
            genre,
        },
        Accepting::Proposals => Decision::Accept(ids()),
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
            println!(
                "accepted {} for {}",
                l.genres().join("; "),
                name_of(c.track_id)
            );
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
