//! Simulated corrections: how retraining learns from a user, measured.
//!
//! A simulated user owns a labelled "library" of tracks the model never
//! trained on (GTZAN's eval clips, or one soundtrack held out of the base
//! set). They review `k` tracks in the order the window offers ("review
//! next", or at random), each review giving the track's true genre as a
//! decision; the model is retrained the way `sonotag retrain` does it (base
//! set plus decisions at a weight, thresholds re-calibrated by
//! cross-validation); and the untouched tracks measure accuracy (proposed
//! and right), coverage and precision. This is how [`crate::retrain`]'s
//! weight of a decision was chosen, and it gives the README's learning
//! curves.

use crate::head::HeadOptions;
use crate::retrain::{
    RetrainOptions, Sample, calibrate_thresholds, cv_options, fit, voting_probabilities,
};
use crate::rng::Rng;
use crate::vote::{self, Proposal, Thresholds};
use serde::Serialize;

/// A labelled track's embeddings.
#[derive(Clone, Debug)]
pub struct SimTrack {
    pub embeddings: Vec<f32>,
    pub genre: String,
}

/// In what order the simulated user reviews tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// [`review_order`]: least certain first, spread over proposed genres.
    ReviewNext,
    /// Shuffled.
    Random,
}

/// One point of a learning curve.
#[derive(Clone, Debug, Serialize)]
pub struct CurvePoint {
    pub order: Order,
    pub weight: f32,
    pub k: usize,
    /// Tracks left untouched, on which the figures are measured.
    pub untouched: usize,
    pub right: usize,
    pub proposed: usize,
    pub classes: usize,
}

impl CurvePoint {
    pub fn accuracy(&self) -> f32 {
        self.right as f32 / self.untouched.max(1) as f32
    }
    pub fn coverage(&self) -> f32 {
        self.proposed as f32 / self.untouched.max(1) as f32
    }
    pub fn precision(&self) -> f32 {
        self.right as f32 / self.proposed.max(1) as f32
    }
}

/// The order in which "review next" offers `proposals` (indices).
pub fn review_order(proposals: &[&Proposal]) -> Vec<usize> {
    let names: Vec<Option<String>> = proposals
        .iter()
        .map(|p| p.winner.map(|w| w.to_string()))
        .collect();
    let keys: Vec<crate::review::ReviewKey> = proposals
        .iter()
        .zip(&names)
        .map(|(p, n)| crate::review::ReviewKey {
            leaning: n.as_deref(),
            unsure: p.unsure.is_some(),
            share: p.share,
        })
        .collect();
    crate::review::review_next_order(&keys)
}

fn classes_of(base: &[SimTrack]) -> Vec<String> {
    let mut c: Vec<String> = base.iter().map(|t| t.genre.clone()).collect();
    c.sort();
    c.dedup();
    c
}

/// A head on `base` plus `decided` (weight `weight`), with thresholds
/// calibrated as a retrain does; returns the classes too.
fn retrained(
    base: &[SimTrack],
    decided: &[&SimTrack],
    weight: f32,
    opts: &RetrainOptions,
) -> anyhow::Result<(Vec<String>, crate::head::LinearHead, Thresholds)> {
    let mut classes = classes_of(base);
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for t in decided {
        *counts.entry(t.genre.as_str()).or_default() += 1;
    }
    for (g, n) in counts {
        if n >= opts.min_tracks && !classes.iter().any(|c| c == g) {
            classes.push(g.to_string());
        }
    }
    classes.sort();
    let samples: Vec<Sample> = base
        .iter()
        .map(|t| (t, 1.0))
        .chain(decided.iter().map(|t| (*t, weight)))
        .filter_map(|(t, w)| {
            Some(Sample {
                class: classes.iter().position(|c| *c == t.genre)?,
                embeddings: t.embeddings.clone(),
                weight: w,
                track: None,
            })
        })
        .collect();
    let head_opts = HeadOptions {
        seed: opts.seed,
        steps: opts.epochs,
        ..Default::default()
    };
    let thresholds = calibrate_thresholds(&samples, classes.len(), opts, &cv_options(&head_opts))?
        .unwrap_or_default();
    let all: Vec<&Sample> = samples.iter().collect();
    let head = fit(&all, classes.len(), &head_opts)?;
    Ok((classes, head, thresholds))
}

fn proposals(
    head: &crate::head::LinearHead,
    tracks: &[SimTrack],
    classes: usize,
    thresholds: Thresholds,
) -> Vec<Proposal> {
    tracks
        .iter()
        .map(|t| {
            let s = Sample {
                embeddings: t.embeddings.clone(),
                class: 0,
                weight: 1.0,
                track: None,
            };
            vote::vote(&voting_probabilities(head, &s), classes, thresholds)
        })
        .collect()
}

/// The learning curves of `library` on top of `base`: one point per order,
/// weight and number of reviewed tracks `k`.
pub fn curves(
    base: &[SimTrack],
    library: &[SimTrack],
    ks: &[usize],
    weights: &[f32],
    orders: &[Order],
    opts: &RetrainOptions,
) -> anyhow::Result<Vec<CurvePoint>> {
    let (classes0, head0, th0) = retrained(base, &[], 1.0, opts)?;
    let first = proposals(&head0, library, classes0.len(), th0);
    let mut out = Vec::new();
    for &order in orders {
        let sequence = match order {
            Order::ReviewNext => review_order(&first.iter().collect::<Vec<_>>()),
            Order::Random => {
                let mut idx: Vec<usize> = (0..library.len()).collect();
                let mut rng = Rng::new(opts.seed);
                for i in (1..idx.len()).rev() {
                    idx.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
                }
                idx
            }
        };
        for &weight in weights {
            for &k in ks {
                let k = k.min(library.len());
                let reviewed = &sequence[..k];
                let decided: Vec<&SimTrack> = reviewed.iter().map(|&i| &library[i]).collect();
                let untouched: Vec<SimTrack> = (0..library.len())
                    .filter(|i| !reviewed.contains(i))
                    .map(|i| library[i].clone())
                    .collect();
                let (classes, head, th) = if k == 0 {
                    (classes0.clone(), head0.clone(), th0)
                } else {
                    retrained(base, &decided, weight, opts)?
                };
                let props = proposals(&head, &untouched, classes.len(), th);
                let mut point = CurvePoint {
                    order,
                    weight,
                    k,
                    untouched: untouched.len(),
                    right: 0,
                    proposed: 0,
                    classes: classes.len(),
                };
                for (p, t) in props.iter().zip(&untouched) {
                    if p.unsure.is_none() {
                        point.proposed += 1;
                        point.right += usize::from(p.winner.map(|w| &classes[w]) == Some(&t.genre));
                    }
                }
                out.push(point);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vote::Unsure;

    fn p(winner: usize, share: f32, unsure: bool) -> Proposal {
        Proposal {
            winner: Some(winner),
            share,
            votes: vec![],
            slices: 6,
            unsure: unsure.then_some(Unsure::LowShare),
        }
    }

    #[test]
    fn review_next_puts_the_least_certain_first_and_spreads_genres() {
        let props = [
            p(0, 1.0, false),
            p(0, 0.6, false),
            p(0, 0.4, true),
            p(1, 0.9, false),
            p(1, 0.5, true),
        ];
        let refs: Vec<&Proposal> = props.iter().collect();
        // Round 1: each genre's least certain (0.4 unsure, 0.5 unsure);
        // round 2: 0.6, 0.9; round 3: 1.0.
        assert_eq!(review_order(&refs), vec![2, 4, 1, 3, 0]);
    }
}
