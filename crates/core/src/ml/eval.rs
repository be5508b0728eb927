//! Evaluating a model on labelled files, without a library.
//!
//! Accuracy counts an unsure track as wrong; coverage is the fraction of
//! tracks labelled; precision is accuracy among labelled tracks. Per-genre
//! recall and a confusion matrix (with an "unsure" column) say where it errs.

use crate::ml::look::Voting;
use crate::ml::model::Model;
use crate::ml::scratch_training::LabelRow;
use crate::ml::vote;
use crate::proposal::{SeveralGenres, Thresholds};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// One evaluated track.
#[derive(Clone, Debug, Serialize)]
pub struct TrackResult {
    pub path: String,
    pub truth: String,
    /// The proposal, or null when unsure or undecodable.
    pub proposed: Option<String>,
    /// Further genres proposed beside it, with several genres allowed (the
    /// proposal then is the first of those named, where one genre alone
    /// would have been unsure).
    pub several: Vec<String>,
    /// The leading genre with every slice voting (thresholds ignored), even
    /// when unsure.
    pub leading: Option<String>,
    pub share: f32,
    pub slices: usize,
    pub state: String,
    pub error: Option<String>,
}

/// Recall for one genre.
#[derive(Clone, Debug, Serialize)]
pub struct GenreRecall {
    pub tracks: usize,
    pub right: usize,
    pub recall: f32,
}

/// The summary `sonotag eval --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub tracks: Vec<TrackResult>,
    pub accuracy: f32,
    /// Share of tracks whose leading genre (most votes, thresholds ignored)
    /// is right: the top-1 accuracy.
    pub top1: f32,
    pub coverage: f32,
    pub precision: f32,
    pub classes: Vec<String>,
    pub per_genre: BTreeMap<String, GenreRecall>,
    /// truth → (proposed genre or "unsure") → count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    pub thresholds: Thresholds,
    /// How proposals naming several genres fare, for each setting tried:
    /// what the default of [`SeveralGenres`] is chosen by.
    pub several: Vec<(SeveralGenres, vote::SeveralScore)>,
}

/// The several-genre settings [`evaluate`] scores: one genre, and two with
/// each least share for the second.
pub fn several_grid() -> Vec<SeveralGenres> {
    std::iter::once(SeveralGenres::ONE)
        .chain(
            [0.2, 0.25, 0.3, 0.34, 0.4, 0.45].map(|least_share| SeveralGenres {
                most: 2,
                least_share,
            }),
        )
        .chain(std::iter::once(SeveralGenres {
            most: 3,
            least_share: 0.2,
        }))
        .collect()
}

/// Classifies every row's file with `model` and scores it, the patches
/// `voting` chooses voting (all of them, or as `classify` samples them, to
/// measure what sampling costs in accuracy).
pub fn evaluate(
    model: &Model,
    rows: &[LabelRow],
    thresholds: Thresholds,
    voting: Voting,
    several: SeveralGenres,
) -> EvalReport {
    let classes = model.card.classes.clone();
    let kind = model.card.features.kind;
    let results: Vec<(TrackResult, Option<vote::LabelledTrack>)> = rows
        .par_iter()
        .map(|row| {
            let path = row.path.to_string_lossy().into_owned();
            let outcome = kind
                .analyse_file(&row.path)
                .map_err(|e| e.to_string())
                .and_then(|patches| {
                    // Only the voting patches go through the network.
                    let total = patches.data.count();
                    let probs_of = |picks: &[usize]| {
                        model
                            .net
                            .infer(&patches.data.subset(picks))
                            .map(|(probs, _)| probs)
                            .map_err(|e| format!("{path}: inference failed: {e}"))
                    };
                    let looked = voting.try_probabilities(total, classes.len(), probs_of)?;
                    // As `classify`: the third look where the others leave
                    // the track unsure.
                    let analysed = looked.len() / classes.len().max(1);
                    if voting == Voting::SecondLook
                        && crate::ml::look::escalates(analysed, total)
                        && vote::vote(&looked, classes.len(), thresholds)
                            .unsure
                            .is_some()
                    {
                        Voting::All.try_probabilities(total, classes.len(), probs_of)
                    } else {
                        Ok(looked)
                    }
                });
            match outcome {
                Ok(probs) => {
                    let p = vote::vote(&probs, classes.len(), thresholds);
                    let named = vote::vote_several(&probs, classes.len(), thresholds, several)
                        .proposed_all();
                    let truth = classes.iter().position(|c| *c == row.genre);
                    let result = TrackResult {
                        path,
                        truth: row.genre.clone(),
                        proposed: p.proposed().map(|c| classes[c].clone()),
                        several: named.iter().map(|&c| classes[c].clone()).collect(),
                        // Top-1 ignores the thresholds: every slice votes.
                        leading: vote::vote(
                            &probs,
                            classes.len(),
                            Thresholds {
                                slice: 0.0,
                                track: 0.0,
                            },
                        )
                        .winner
                        .map(|c| classes[c].clone()),
                        share: p.share,
                        slices: p.slices,
                        state: p.state().to_string(),
                        error: None,
                    };
                    // A genre the model has no class for is never named.
                    (result, Some((probs, truth.unwrap_or(usize::MAX))))
                }
                Err(e) => {
                    let result = TrackResult {
                        path,
                        truth: row.genre.clone(),
                        proposed: None,
                        several: Vec::new(),
                        leading: None,
                        share: 0.0,
                        slices: 0,
                        state: "error".into(),
                        error: Some(e),
                    };
                    (result, None)
                }
            }
        })
        .collect();
    // An undecodable track has no probabilities: it counts, never named.
    let heard: Vec<vote::LabelledTrack> = results
        .iter()
        .map(|(_, h)| h.clone().unwrap_or_else(|| (Vec::new(), usize::MAX)))
        .collect();
    let tracks = results.into_iter().map(|(t, _)| t).collect();
    let mut report = summarise(tracks, classes, thresholds);
    report.several = several_grid()
        .into_iter()
        .map(|s| {
            (
                s,
                vote::score_several(&heard, report.classes.len(), thresholds, s),
            )
        })
        .collect();
    report
}

/// Computes the scores from per-track results.
pub fn summarise(
    tracks: Vec<TrackResult>,
    classes: Vec<String>,
    thresholds: Thresholds,
) -> EvalReport {
    let n = tracks.len().max(1) as f32;
    let labelled = tracks.iter().filter(|t| t.proposed.is_some()).count();
    let right = tracks
        .iter()
        .filter(|t| t.proposed.as_deref() == Some(t.truth.as_str()))
        .count();
    let mut per_genre: BTreeMap<String, GenreRecall> = BTreeMap::new();
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for t in &tracks {
        let g = per_genre.entry(t.truth.clone()).or_insert(GenreRecall {
            tracks: 0,
            right: 0,
            recall: 0.0,
        });
        g.tracks += 1;
        g.right += usize::from(t.proposed.as_deref() == Some(t.truth.as_str()));
        let column = t.proposed.clone().unwrap_or_else(|| "unsure".into());
        *confusion
            .entry(t.truth.clone())
            .or_default()
            .entry(column)
            .or_default() += 1;
    }
    for g in per_genre.values_mut() {
        g.recall = g.right as f32 / g.tracks.max(1) as f32;
    }
    let leading_right = tracks
        .iter()
        .filter(|t| t.leading.as_deref() == Some(t.truth.as_str()))
        .count();
    EvalReport {
        accuracy: right as f32 / n,
        top1: leading_right as f32 / n,
        coverage: labelled as f32 / n,
        precision: if labelled > 0 {
            right as f32 / labelled as f32
        } else {
            0.0
        },
        tracks,
        classes,
        per_genre,
        confusion,
        thresholds,
        several: Vec::new(),
    }
}

impl EvalReport {
    /// Tracks right / total, for the card.
    pub fn right(&self) -> usize {
        self.tracks
            .iter()
            .filter(|t| t.proposed.as_deref() == Some(t.truth.as_str()))
            .count()
    }

    /// The summary stored in a model card (no per-track list).
    /// One line: "accuracy 76.7% (23/30), coverage 76.7%, precision 100.0%".
    pub fn summary(&self) -> String {
        format!(
            "accuracy {:.1}% ({}/{}), coverage {:.1}%, precision {:.1}%",
            self.accuracy * 100.0,
            self.right(),
            self.tracks.len(),
            self.coverage * 100.0,
            self.precision * 100.0
        )
    }

    pub fn card_entry(&self) -> serde_json::Value {
        serde_json::json!({
            "tracks": self.tracks.len(),
            "right": self.right(),
            "accuracy": self.accuracy,
            "coverage": self.coverage,
            "precision": self.precision,
            "top1": self.top1,
            "thresholds": self.thresholds,
            "per_genre_recall": self.per_genre.iter().map(|(g, r)| (g.clone(), r.recall)).collect::<BTreeMap<_, _>>(),
        })
    }
}

/// One labelled track's descriptors, every patch heard: what `sonotag
/// describe` prints and sums by true genre.
#[derive(Clone, Debug, Serialize)]
pub struct DescribedTrack {
    pub path: String,
    pub truth: String,
    pub suggestions: Vec<crate::ml::descriptors::Suggestion>,
    /// Each vocals value's rating per patch.
    pub vocals_ratings: Vec<(String, Vec<f32>)>,
    pub error: Option<String>,
}

/// The descriptors of every row's file with `model`'s backbone.
pub fn describe(model: &Model, rows: &[LabelRow]) -> Vec<DescribedTrack> {
    use crate::ml::descriptors::{Aspect, suggest_all};
    let kind = model.card.features.kind;
    rows.par_iter()
        .map(|row| {
            let path = row.path.to_string_lossy().into_owned();
            let heard = kind
                .analyse_file(&row.path)
                .map_err(|e| e.to_string())
                .and_then(|patches| {
                    let (_, embeddings) = model
                        .net
                        .infer(&patches.data)
                        .map_err(|e| format!("inference failed: {e}"))?;
                    model
                        .net
                        .listener_tags(&embeddings)
                        .ok_or_else(|| "this model's backbone has no tags".to_string())
                });
            match heard {
                Ok((names, tags)) => {
                    let vocals_ratings =
                        crate::ml::descriptors::ratings(Aspect::Vocals, &names, &tags)
                            .into_iter()
                            .map(|(v, r)| (v.to_string(), r))
                            .collect();
                    DescribedTrack {
                        path,
                        truth: row.genre.clone(),
                        suggestions: suggest_all(&names, &tags, &model.card.classes),
                        vocals_ratings,
                        error: None,
                    }
                }
                Err(e) => DescribedTrack {
                    path,
                    truth: row.genre.clone(),
                    suggestions: Vec::new(),
                    vocals_ratings: Vec::new(),
                    error: Some(e),
                },
            }
        })
        .collect()
}
