//! What the review screens show: one row per track with its proposal and
//! the user's decision, and the evidence behind a proposal.
//!
//! The GUI renders these values and never queries SQLite itself.

use crate::catalog::analyse;
use crate::features::spectrogram::Spectrogram;
use crate::ml::model::ModelCard;
use crate::ml::vote;
use crate::proposal::Thresholds;
use crate::proposal::{Proposal, ProposalState};
use crate::store::Analysis;
use crate::store::{DecisionSource, Library, TrackStatus, is_written};
use serde::Serialize;
use std::path::PathBuf;

/// Where a track stands in the review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ReviewState {
    /// Not classified yet.
    Pending,
    Proposed,
    Unsure,
    Accepted,
    Overridden,
    /// The decided genre is in the file's tag.
    Written,
    /// Could not be read or decoded.
    Error,
    /// The file is gone from where it was; its decision and history are
    /// kept until the user forgets it, or it comes back.
    Missing,
}

impl ReviewState {
    /// Lower-case name for display and filters.
    pub fn label(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Proposed => "proposed",
            ReviewState::Unsure => "unsure",
            ReviewState::Accepted => "accepted",
            ReviewState::Overridden => "overridden",
            ReviewState::Written => "written",
            ReviewState::Error => "error",
            ReviewState::Missing => "missing",
        }
    }
}

/// One line of the library table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewRow {
    pub track_id: i64,
    pub path: PathBuf,
    pub title: String,
    pub artist: String,
    pub album: String,
    /// Genre tag(s) in the file, joined.
    pub tag_genre: String,
    /// The model's leading genre (even when unsure).
    pub proposed: Option<String>,
    /// Further genres proposed beside it.
    pub proposed_also: Vec<String>,
    pub share: f32,
    /// The user's decided genre (the first, where several).
    pub decided: Option<String>,
    /// Further decided genres beside it.
    pub decided_also: Vec<String>,
    pub state: ReviewState,
    pub error: Option<String>,
}

/// Every track with its proposal under `model_id` (if any); missing ones
/// too, marked [`ReviewState::Missing`].
pub fn rows(lib: &Library, model_id: Option<i64>) -> anyhow::Result<Vec<ReviewRow>> {
    Ok(lib
        .track_rows(model_id)?
        .into_iter()
        .map(|r| {
            let state = if r.status == TrackStatus::Missing {
                ReviewState::Missing
            } else if r.analysis_error.is_some() || r.status == TrackStatus::Error {
                ReviewState::Error
            } else if let Some((_, source)) = &r.decision {
                if is_written(&r.file_genres, &r.decided_genres()) {
                    ReviewState::Written
                } else if *source == DecisionSource::Overridden {
                    ReviewState::Overridden
                } else {
                    ReviewState::Accepted
                }
            } else {
                match r.proposal_state {
                    Some(ProposalState::Proposed) => ReviewState::Proposed,
                    Some(ProposalState::Unsure) => ReviewState::Unsure,
                    None => ReviewState::Pending,
                }
            };
            let file_name = r.path.file_name().map(|n| n.to_string_lossy().into_owned());
            ReviewRow {
                track_id: r.track_id,
                title: r.title.or(file_name).unwrap_or(r.path_text),
                path: r.path,
                artist: r.artist.unwrap_or_default(),
                album: r.album.unwrap_or_default(),
                tag_genre: r.file_genres.join("; "),
                proposed: r.proposed,
                proposed_also: r.proposed_also,
                share: r.share.unwrap_or(0.0),
                decided: r.decision.map(|(g, _)| g),
                decided_also: r.decided_also,
                state,
                error: r.analysis_error,
            }
        })
        .collect())
}

impl ReviewRow {
    /// The proposed genres as the table shows them: "Blues; Rock".
    pub fn proposed_text(&self) -> String {
        joined(self.proposed.as_deref(), &self.proposed_also)
    }

    /// The decided genres as the table shows them.
    pub fn decided_text(&self) -> String {
        joined(self.decided.as_deref(), &self.decided_also)
    }

    /// Whether `genre` is among the genres proposed or decided.
    pub fn names(&self, genre: &str) -> bool {
        let is = |g: &String| g == genre;
        self.proposed.iter().chain(&self.proposed_also).any(is)
            || self.decided.iter().chain(&self.decided_also).any(is)
    }
}

fn joined(first: Option<&str>, also: &[String]) -> String {
    first
        .into_iter()
        .chain(also.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything the track view draws: the analysis, the vote and the classes.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub track_id: i64,
    pub classes: Vec<String>,
    pub analysis: Analysis,
    pub proposal: Proposal,
    pub thresholds: Thresholds,
    /// Seconds of audio each patch (slice) of the model covers.
    pub patch_seconds: f64,
    /// What else the listener hears, where the library has descriptors on
    /// (empty otherwise, and while a track opens).
    pub descriptors: Vec<crate::ml::descriptors::Suggestion>,
    /// The user's decisions on descriptors.
    pub decided_descriptors: Vec<crate::store::DescriptorLabel>,
}

impl Evidence {
    /// Top class and confidence of slice `i`.
    pub fn slice_top(&self, i: usize) -> (usize, f32) {
        let n = self.classes.len();
        vote::top(&self.analysis.probabilities[i * n..(i + 1) * n])
    }

    /// The `k` most probable classes of slice `i`, best first.
    pub fn slice_ranking(&self, i: usize, k: usize) -> Vec<(String, f32)> {
        let n = self.classes.len();
        let mut ranked: Vec<(usize, f32)> = self.analysis.probabilities[i * n..(i + 1) * n]
            .iter()
            .copied()
            .enumerate()
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked
            .into_iter()
            .take(k)
            .map(|(c, p)| (self.classes[c].clone(), p))
            .collect()
    }

    /// Start of slice `i` in seconds.
    pub fn slice_start_seconds(&self, i: usize) -> f64 {
        self.analysis.slice_starts.get(i).copied().unwrap_or(0) as f64
            / crate::features::spectrogram::COLUMNS_PER_SECOND as f64
    }
}

/// The evidence for `track_id` under the active model, if analysed.
pub fn evidence(
    lib: &Library,
    track_id: i64,
    thresholds: Option<Thresholds>,
) -> anyhow::Result<Option<Evidence>> {
    let Some(model) = lib.active_model::<ModelCard>()? else {
        return Ok(None);
    };
    let Some(analysis) = lib.analysis(track_id, model.id)? else {
        return Ok(None);
    };
    let thresholds = Thresholds::in_force(thresholds, Some(model.card.thresholds));
    let proposal = vote::vote_several(
        &analysis.probabilities,
        model.card.classes.len(),
        thresholds,
        lib.several_genres()?,
    );
    let (descriptors, decided_descriptors) = if lib.describes()? {
        (
            descriptors_of(&model.path, &analysis, &model.card.classes),
            lib.descriptor_labels(track_id)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Some(Evidence {
        track_id,
        classes: model.card.classes,
        analysis,
        proposal,
        thresholds,
        patch_seconds: model.card.features.kind.patch_seconds(),
        descriptors,
        decided_descriptors,
    }))
}

/// The descriptors of a stored analysis, from the model's backbone tags
/// (none where the model cannot be loaded or its backbone has no tags).
fn descriptors_of(
    model: &std::path::Path,
    analysis: &Analysis,
    classes: &[String],
) -> Vec<crate::ml::descriptors::Suggestion> {
    let Ok(model) = crate::ml::model::Model::load(model) else {
        return Vec::new();
    };
    match model.net.listener_tags(&analysis.embeddings) {
        Some((names, tags)) => crate::ml::descriptors::suggest_all(&names, &tags, classes),
        None => Vec::new(),
    }
}

/// A track opened in the window: its display spectrogram and where the
/// active model's patches begin and end on it (display columns).
pub struct OpenedTrack {
    pub spectrogram: Spectrogram,
    pub boundaries: Vec<usize>,
}

/// Start and end columns of every patch, sorted, without repeats.
pub fn patch_boundaries(starts: &[u32], patch_seconds: f64) -> Vec<usize> {
    let width =
        (patch_seconds * crate::features::spectrogram::COLUMNS_PER_SECOND as f64).round() as usize;
    let mut out: Vec<usize> = starts
        .iter()
        .flat_map(|&s| [s as usize, s as usize + width])
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// What the window hears while a track opens, and where it looks.
pub struct Opening<'a> {
    /// Votes come first from the patches nearest this point of the track.
    pub focus_seconds: f64,
    /// The spectrogram as soon as it is decoded, before the votes.
    pub on_picture: &'a (dyn Fn(&Spectrogram) + Sync),
    /// The evidence of the patches analysed so far, after each round.
    pub on_votes: &'a (dyn Fn(Evidence) + Sync),
}

impl Opening<'_> {
    /// Hears nothing, looks at the start.
    pub const QUIET: Opening<'static> = Opening {
        focus_seconds: 0.0,
        on_picture: &|_| {},
        on_votes: &|_| {},
    };
}

/// What opening a track does, off the UI thread: decode it whole, compute
/// its spectrogram (not stored: 2 MB per 3-minute track would bloat the
/// library) and, when the active model has only a sampled analysis of it,
/// replace that with the analysis of every slice, telling `opening` of the
/// picture and the votes as they come. Uses its own connection.
pub fn open_track(
    db: &std::path::Path,
    track_id: i64,
    thresholds: Option<Thresholds>,
    cancel: &crate::cancel::Cancel,
    opening: &Opening,
) -> Result<OpenedTrack, String> {
    // The user may have moved on before this started (paging with j/k
    // queues one opening per track passed): then it does nothing.
    let moved_on = || anyhow::anyhow!("not opened: another track was selected");
    let run = || -> anyhow::Result<OpenedTrack> {
        if cancel.is_cancelled() {
            return Err(moved_on());
        }
        let mut lib = Library::open(db)?;
        let track = lib
            .track(track_id)?
            .ok_or_else(|| anyhow::anyhow!("track {track_id} is no longer in the library"))?;
        let Some(row) = lib.active_model::<ModelCard>()? else {
            return Ok(OpenedTrack {
                spectrogram: picture_of(&track.path)?,
                boundaries: Vec::new(),
            });
        };
        let kind = row.card.features.kind;
        let stored = lib.analysis(track_id, row.id)?;
        let spectrogram = match &stored {
            Some(a) if !kind.is_sampled(&a.slice_starts) => picture_of(&track.path)?,
            _ => {
                if cancel.is_cancelled() {
                    return Err(moved_on());
                }
                let model = crate::ml::model::Model::load(&row.path)?;
                let th = Thresholds::in_force(thresholds, Some(model.card.thresholds));
                let card = &model.card;
                let several = lib.several_genres()?;
                let on_votes = |analysis: &Analysis| {
                    (opening.on_votes)(Evidence {
                        track_id,
                        classes: card.classes.clone(),
                        proposal: vote::vote_several(
                            &analysis.probabilities,
                            card.classes.len(),
                            th,
                            several,
                        ),
                        analysis: analysis.clone(),
                        thresholds: th,
                        patch_seconds: kind.patch_seconds(),
                        descriptors: Vec::new(),
                        decided_descriptors: Vec::new(),
                    })
                };
                let watch = analyse::Watch {
                    focus_column: (opening.focus_seconds
                        * crate::features::spectrogram::COLUMNS_PER_SECOND as f64)
                        as u32,
                    on_picture: opening.on_picture,
                    on_votes: &on_votes,
                    cancel,
                };
                analyse::analyse_track_fully(&mut lib, track_id, row.id, &model, th, &watch)?
            }
        };
        let starts = lib
            .analysis(track_id, row.id)?
            .map(|a| a.slice_starts)
            .unwrap_or_default();
        Ok(OpenedTrack {
            spectrogram,
            boundaries: patch_boundaries(&starts, kind.patch_seconds()),
        })
    };
    run().map_err(|e| format!("{e:#}"))
}

/// A track's display spectrogram alone, decoded on every core.
fn picture_of(path: &std::path::Path) -> Result<Spectrogram, crate::audio::AudioError> {
    Ok(crate::features::whole_track::analyse(path, None, &|_| {})?.picture)
}

/// What "review next" needs to know of a proposal.
#[derive(Clone, Copy, Debug)]
pub struct ReviewKey<'a> {
    /// The genre it proposes or leans to.
    pub leaning: Option<&'a str>,
    pub unsure: bool,
    /// The leading genre's share of the votes.
    pub share: f32,
}

/// "Review next": the order in which a decision teaches the model most.
/// Unsure tracks come first, then proposals by rising share of the vote;
/// each round takes the least certain track of every leaning genre, so
/// similar tracks are not all shown together. Returns indices into `keys`.
pub fn review_next_order(keys: &[ReviewKey]) -> Vec<usize> {
    let certainty = |k: &ReviewKey| (!k.unsure, k.share);
    let cmp = |a: &usize, b: &usize| {
        certainty(&keys[*a])
            .partial_cmp(&certainty(&keys[*b]))
            .unwrap_or(std::cmp::Ordering::Equal)
    };
    let mut by_genre: std::collections::BTreeMap<Option<&str>, Vec<usize>> = Default::default();
    for (i, k) in keys.iter().enumerate() {
        by_genre.entry(k.leaning).or_default().push(i);
    }
    for list in by_genre.values_mut() {
        list.sort_by(cmp);
        list.reverse(); // pop() takes the least certain
    }
    let mut out = Vec::with_capacity(keys.len());
    loop {
        let mut round: Vec<usize> = by_genre.values_mut().filter_map(|l| l.pop()).collect();
        if round.is_empty() {
            break;
        }
        round.sort_by(cmp);
        out.extend(round);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_track_left_behind_is_not_opened() {
        let cancel = crate::cancel::Cancel::new();
        cancel.cancel();
        // Not even the library is opened (this path does not exist).
        let err = super::open_track(
            std::path::Path::new("/nonexistent/lib.sqlite"),
            1,
            None,
            &cancel,
            &super::Opening::QUIET,
        )
        .err()
        .unwrap();
        assert!(err.contains("another track was selected"), "{err}");
    }
}
