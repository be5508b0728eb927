//! The user's review decisions: accept a proposal, choose a genre, accept
//! every confident proposal at once, forget a decision. Each one is applied
//! in one transaction and returns what it changed, before and after, so the
//! window can undo and redo it step by step.

use crate::proposal::ProposalState;
use crate::store::{DecisionSource, Label, Library};
use serde::Serialize;

/// A decision the user made.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Accept the active model's proposal for these tracks.
    Accept(Vec<i64>),
    /// Accept every undecided proposal with at least this share of votes.
    AcceptAbove { min_share: f32 },
    /// Accept one of the genres proposed for these tracks (where a proposal
    /// names several): the track gets that genre alone.
    AcceptOne { tracks: Vec<i64>, genre: String },
    /// The user's own genre for these tracks; several are separated by `;`
    /// ("Blues; Rock"). `mapped_from` is what they typed when they asked for
    /// its super-genre; `replace` allows replacing a genre the file already
    /// has.
    Override {
        tracks: Vec<i64>,
        genre: String,
        mapped_from: Option<String>,
        replace: bool,
    },
    /// Forget the decision on these tracks.
    Clear(Vec<i64>),
}

/// One track's decision before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub track_id: i64,
    pub before: Option<Label>,
    pub after: Option<Label>,
}

/// What a decision changed, and what it could not do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecisionReport {
    /// What was asked, for the status line and the undo history.
    pub what: String,
    /// Tracks whose decision changed (unchanged ones are left out).
    pub changes: Vec<Change>,
    /// Tracks that could not be decided: (track id, why).
    pub refused: Vec<(i64, String)>,
}

impl DecisionReport {
    /// The decisions to put back to undo this one.
    pub fn undo_steps(&self) -> RestoreSteps {
        self.changes
            .iter()
            .map(|c| (c.track_id, c.before.clone()))
            .collect()
    }

    /// The decisions to put back to redo this one.
    pub fn redo_steps(&self) -> RestoreSteps {
        self.changes
            .iter()
            .map(|c| (c.track_id, c.after.clone()))
            .collect()
    }
}

/// Library states to put back: (track id, the decision it had then).
pub type RestoreSteps = Vec<(i64, Option<Label>)>;

/// Which way a step through the [`History`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Undo,
    Redo,
}

/// The decisions of a session, for undo and redo: those made (newest
/// last) and those undone. A step is taken out, restored in the library
/// (off the UI thread, with [`restore`]), and handed back with
/// [`History::finish`], which files it on the other side when it worked
/// and puts it back when it did not.
#[derive(Clone, Debug, Default)]
pub struct History {
    done: Vec<DecisionReport>,
    undone: Vec<DecisionReport>,
}

impl History {
    /// A new decision: it can be undone, and nothing undone can be redone
    /// any more. One that changed nothing is not kept.
    pub fn record(&mut self, report: DecisionReport) {
        if !report.changes.is_empty() {
            self.done.push(report);
            self.undone.clear();
        }
    }

    pub fn can(&self, step: Step) -> bool {
        match step {
            Step::Undo => !self.done.is_empty(),
            Step::Redo => !self.undone.is_empty(),
        }
    }

    /// The decision the next `step` restores, with the library states to
    /// put back; `None` when there is none.
    pub fn take(&mut self, step: Step) -> Option<(DecisionReport, RestoreSteps)> {
        let report = match step {
            Step::Undo => self.done.pop()?,
            Step::Redo => self.undone.pop()?,
        };
        let steps = match step {
            Step::Undo => report.undo_steps(),
            Step::Redo => report.redo_steps(),
        };
        Some((report, steps))
    }

    /// Hands back what [`History::take`] took, once restored (`worked`) or not.
    pub fn finish(&mut self, step: Step, report: DecisionReport, worked: bool) {
        let undone = (step == Step::Undo) == worked;
        if undone {
            self.undone.push(report);
        } else {
            self.done.push(report);
        }
    }
}

impl std::fmt::Display for DecisionReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.changes.len() {
            0 => write!(f, "{}: nothing changed", self.what)?,
            1 => write!(f, "{}", self.what)?,
            n => write!(f, "{} ({n} tracks)", self.what)?,
        }
        match self.refused.as_slice() {
            [] => Ok(()),
            [(_, why)] => write!(f, "; {why}"),
            many => write!(f, "; {} tracks refused: {}", many.len(), many[0].1),
        }
    }
}

/// The undecided tracks that [`Decision::AcceptAbove`] would accept: shown
/// as a count before the user confirms.
pub fn accept_above_candidates(
    lib: &Library,
    model_id: i64,
    min_share: f32,
) -> anyhow::Result<Vec<(i64, Vec<String>)>> {
    Ok(lib
        .proposals(model_id, Some(ProposalState::Proposed))?
        .into_iter()
        .filter(|p| p.label.is_none() && p.share >= min_share)
        .filter_map(|p| {
            Some((
                p.track_id,
                std::iter::once(p.genre?).chain(p.also).collect(),
            ))
        })
        .collect())
}

/// The genres a user's text names: several separated by `;`, blanks and
/// repeats left out.
pub fn typed_genres(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in text.split(';').map(str::trim).filter(|g| !g.is_empty()) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(g)) {
            out.push(g.to_string());
        }
    }
    out
}

/// Applies `decision` (`model_id`: the model whose proposals are accepted).
pub fn decide(
    lib: &mut Library,
    model_id: Option<i64>,
    decision: &Decision,
) -> anyhow::Result<DecisionReport> {
    let mut refused = Vec::new();
    let (what, wanted): (String, Vec<(i64, Option<Label>)>) = match decision {
        Decision::Accept(tracks) => {
            let model_id = model_id
                .ok_or_else(|| anyhow::anyhow!("no proposals yet: classify the library first"))?;
            let mut wanted = Vec::new();
            let mut genres = Vec::new();
            for &id in tracks {
                match lib.proposed_genres(id, model_id)? {
                    Some(proposed) => {
                        genres.push(proposed.join("; "));
                        wanted.push((id, Some(accepted(proposed))));
                    }
                    None => refused.push((
                        id,
                        "no proposal to accept: choose a genre instead".to_string(),
                    )),
                }
            }
            let what = match genres.as_slice() {
                [one] => format!("Accepted {one}"),
                _ => format!("Accepted {} proposals", genres.len()),
            };
            (what, wanted)
        }
        Decision::AcceptAbove { min_share } => {
            let model_id = model_id
                .ok_or_else(|| anyhow::anyhow!("no proposals yet: classify the library first"))?;
            let wanted = accept_above_candidates(lib, model_id, *min_share)?
                .into_iter()
                .map(|(id, genres)| (id, Some(accepted(genres))))
                .collect();
            (
                format!(
                    "Accepted the proposals with ≥ {:.0}% of the votes",
                    min_share * 100.0
                ),
                wanted,
            )
        }
        Decision::AcceptOne { tracks, genre } => {
            let model_id = model_id
                .ok_or_else(|| anyhow::anyhow!("no proposals yet: classify the library first"))?;
            let mut wanted = Vec::new();
            for &id in tracks {
                let proposed = lib.proposed_genres(id, model_id)?.unwrap_or_default();
                match proposed.iter().position(|g| g == genre) {
                    // The model's first genre was right: an accepted
                    // proposal. A further one: the first was not, which is
                    // what the precision on this library counts.
                    Some(at) => wanted.push((
                        id,
                        Some(Label {
                            source: if at == 0 {
                                DecisionSource::Accepted
                            } else {
                                DecisionSource::Overridden
                            },
                            ..accepted(vec![genre.clone()])
                        }),
                    )),
                    None => refused.push((
                        id,
                        format!("{genre} is not among the genres proposed: choose it instead"),
                    )),
                }
            }
            (format!("Accepted {genre}"), wanted)
        }
        Decision::Override {
            tracks,
            genre,
            mapped_from,
            replace,
        } => {
            let genres = typed_genres(genre);
            anyhow::ensure!(!genres.is_empty(), "the genre is empty");
            let label = Label {
                genre: genres[0].clone(),
                also: genres[1..].to_vec(),
                source: DecisionSource::Overridden,
                mapped_from: mapped_from.clone(),
                replace: *replace,
            };
            (
                format!("Set {}", genres.join("; ")),
                tracks.iter().map(|&id| (id, Some(label.clone()))).collect(),
            )
        }
        Decision::Clear(tracks) => (
            "Decision cleared".to_string(),
            tracks.iter().map(|&id| (id, None)).collect(),
        ),
    };
    let mut known = Vec::new();
    for (id, label) in wanted {
        if lib.track(id)?.is_some() {
            known.push((id, label));
        } else {
            refused.push((id, format!("no track with id {id}")));
        }
    }
    let ids: Vec<i64> = known.iter().map(|(id, _)| *id).collect();
    let before = lib.labels_of(&ids)?;
    let changes: Vec<Change> = before
        .into_iter()
        .zip(known)
        .filter(|((_, old), (_, new))| old != new)
        .map(|((track_id, before), (_, after))| Change {
            track_id,
            before,
            after,
        })
        .collect();
    if matches!(decision, Decision::Clear(_)) && changes.is_empty() && refused.is_empty() {
        refused.push((0, "the track had no decision".into()));
    }
    let report = DecisionReport {
        what,
        changes,
        refused,
    };
    lib.put_labels(&report.redo_steps())?;
    Ok(report)
}

/// Sets one track's own genre (the common case of [`Decision::Override`]).
pub fn set_genre(
    lib: &mut Library,
    track_id: i64,
    genre: &str,
    mapped_from: Option<&str>,
    replace: bool,
) -> anyhow::Result<DecisionReport> {
    let report = decide(
        lib,
        None,
        &Decision::Override {
            tracks: vec![track_id],
            genre: genre.to_string(),
            mapped_from: mapped_from.map(str::to_string),
            replace,
        },
    )?;
    match report.refused.first() {
        Some((_, why)) => anyhow::bail!("{why}"),
        None => Ok(report),
    }
}

/// Puts decisions back (an undo or redo of a [`DecisionReport`]).
pub fn restore(lib: &mut Library, steps: &[(i64, Option<Label>)]) -> anyhow::Result<()> {
    lib.put_labels(steps)?;
    Ok(())
}

/// An accepted proposal of `genres` (the first one first; never empty).
fn accepted(mut genres: Vec<String>) -> Label {
    let genre = genres.remove(0);
    Label {
        genre,
        also: genres,
        source: DecisionSource::Accepted,
        mapped_from: None,
        replace: false,
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_steps_back_and_forth_and_keeps_what_failed() {
        let report = |what: &str| DecisionReport {
            what: what.into(),
            changes: vec![Change {
                track_id: 1,
                before: None,
                after: None,
            }],
            refused: vec![],
        };
        let mut h = History::default();
        h.record(DecisionReport {
            changes: vec![],
            ..report("nothing")
        });
        assert!(
            !h.can(Step::Undo),
            "a decision that changed nothing is not kept"
        );
        h.record(report("a"));
        h.record(report("b"));
        let (b, _) = h.take(Step::Undo).unwrap();
        assert_eq!(b.what, "b");
        h.finish(Step::Undo, b, true);
        assert!(h.can(Step::Redo));
        let (b, _) = h.take(Step::Redo).unwrap();
        h.finish(Step::Redo, b, false);
        assert!(h.can(Step::Redo), "a failed redo stays redoable");
        h.record(report("c"));
        assert!(!h.can(Step::Redo), "a new decision ends the redo line");
        assert_eq!(h.take(Step::Undo).unwrap().0.what, "c");
    }
}
