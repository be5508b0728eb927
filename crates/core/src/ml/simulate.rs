//! Simulated corrections: how retraining learns from a user, measured.
//!
//! A simulated user owns a labelled "library" of tracks the model never
//! trained on (GTZAN's eval clips, or one soundtrack held out of the base
//! set). They review tracks in the order the window offers ("review next",
//! or at random), each review giving the track's true genre as a decision,
//! and retrain every few reviews the way `sonotag retrain` does it (base set
//! plus decisions at a weight, thresholds re-calibrated by
//! cross-validation), after which "review next" orders what is left by the
//! new model. After `k` reviews the untouched tracks measure accuracy
//! (proposed and right), coverage and precision. This is how [`crate::ml::corrections`]'s
//! weight of a decision was chosen, and it gives the README's learning
//! curves.

use crate::ml::corrections::{
    RetrainOptions, Sample, calibrate_thresholds, cv_options, fit, out_of_fold_votes,
    voting_probabilities,
};
use crate::ml::head::HeadOptions;
use crate::ml::vote;
use crate::proposal::{Proposal, Thresholds};
use crate::rng::Rng;
use serde::Serialize;

/// A labelled track's embeddings.
#[derive(Clone, Debug)]
pub struct SimTrack {
    /// The file, for the wrong proposals listed at debug level.
    pub name: String,
    pub embeddings: Vec<f32>,
    /// The backbone's embedding width.
    pub dim: usize,
    pub genre: String,
    /// Where it comes from (a labels row's source), for the base set's
    /// weights and cross-validation as training gives them.
    pub source: String,
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
    let keys: Vec<crate::catalog::review::ReviewKey> = proposals
        .iter()
        .zip(&names)
        .map(|(p, n)| crate::catalog::review::ReviewKey {
            leaning: n.as_deref(),
            unsure: p.unsure.is_some(),
            share: p.share,
        })
        .collect();
    crate::catalog::review::review_next_order(&keys)
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
    current: Option<Thresholds>,
) -> anyhow::Result<(Vec<String>, crate::ml::head::LinearHead, Thresholds)> {
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
    // The base set as training weighs it: each source of a genre alike.
    let base_weights = crate::ml::transfer::source_weights(
        &base
            .iter()
            .map(|t| {
                classes
                    .iter()
                    .position(|c| *c == t.genre)
                    .expect("every base genre is a class")
            })
            .collect::<Vec<_>>(),
        &base.iter().map(|t| t.source.clone()).collect::<Vec<_>>(),
    );
    let samples: Vec<Sample> = base
        .iter()
        .zip(base_weights)
        .map(|(t, w)| (t, w, t.source.clone()))
        .chain(decided.iter().map(|t| (*t, weight, String::new())))
        .filter_map(|(t, w, source)| {
            Some(Sample {
                class: classes.iter().position(|c| *c == t.genre)?,
                embeddings: t.embeddings.clone(),
                weight: w,
                track: None,
                source,
                dim: t.dim,
            })
        })
        .collect();
    let head_opts = HeadOptions {
        seed: opts.seed,
        steps: opts.epochs,
        ..Default::default()
    };
    let (judged, unseen) =
        out_of_fold_votes(&samples, classes.len(), opts, &cv_options(&head_opts))?
            .into_judged(&samples);
    let thresholds =
        calibrate_thresholds(&judged, &unseen, classes.len(), opts, current).unwrap_or_default();
    tracing::debug!("simulation retrain: thresholds {thresholds:?} (were {current:?})");
    let all: Vec<&Sample> = samples.iter().collect();
    let head = fit(&all, classes.len(), &head_opts)?;
    Ok((classes, head, thresholds))
}

fn proposals(
    head: &crate::ml::head::LinearHead,
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
                source: String::new(),
                dim: t.dim,
            };
            vote::vote(&voting_probabilities(head, &s), classes, thresholds)
        })
        .collect()
}

/// What a simulation plays.
#[derive(Clone, Debug)]
pub struct Plan<'a> {
    /// Numbers of reviewed tracks at which the untouched tracks are measured.
    pub ks: &'a [usize],
    /// Weights of a decision, in base tracks.
    pub weights: &'a [f32],
    pub orders: &'a [Order],
    /// The user retrains after every this many reviews, and "review next"
    /// then orders what is left by the new model, as the window does.
    pub retrain_every: usize,
}

/// The learning curves of `library` on top of `base`: one point per order,
/// weight and number of reviewed tracks `k`.
pub fn curves(
    base: &[SimTrack],
    library: &[SimTrack],
    plan: &Plan,
    opts: &RetrainOptions,
) -> anyhow::Result<Vec<CurvePoint>> {
    let first = retrained(base, &[], 1.0, opts, None)?;
    let mut shuffled: Vec<usize> = (0..library.len()).collect();
    let mut rng = Rng::new(opts.seed);
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    // Where the user retrains: every `retrain_every` reviews, and at each k.
    let last = plan
        .ks
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .min(library.len());
    let mut stops: Vec<usize> = plan
        .ks
        .iter()
        .map(|&k| k.min(library.len()))
        .chain(
            (1..)
                .map(|n| n * plan.retrain_every.max(1))
                .take_while(|&k| k < last),
        )
        .collect();
    stops.sort_unstable();
    stops.dedup();
    let mut out = Vec::new();
    for &order in plan.orders {
        for &weight in plan.weights {
            let mut reviewed: Vec<usize> = Vec::new();
            let mut model = first.clone();
            for &stop in &stops {
                if stop > reviewed.len() {
                    let next: Vec<usize> = match order {
                        Order::ReviewNext => {
                            let left: Vec<usize> = (0..library.len())
                                .filter(|i| !reviewed.contains(i))
                                .collect();
                            let tracks: Vec<SimTrack> =
                                left.iter().map(|&i| library[i].clone()).collect();
                            let (classes, head, th) = &model;
                            let props = proposals(head, &tracks, classes.len(), *th);
                            review_order(&props.iter().collect::<Vec<_>>())
                                .into_iter()
                                .map(|j| left[j])
                                .collect()
                        }
                        Order::Random => shuffled
                            .iter()
                            .copied()
                            .filter(|i| !reviewed.contains(i))
                            .collect(),
                    };
                    reviewed.extend(next.into_iter().take(stop - reviewed.len()));
                    let decided: Vec<&SimTrack> = reviewed.iter().map(|&i| &library[i]).collect();
                    model = retrained(base, &decided, weight, opts, Some(model.2))?;
                }
                if plan.ks.iter().any(|&k| k.min(library.len()) == stop) {
                    out.push(measure(library, &reviewed, &model, order, weight));
                }
            }
        }
    }
    Ok(out)
}

/// The figures of `model` on the tracks of `library` not in `reviewed`.
fn measure(
    library: &[SimTrack],
    reviewed: &[usize],
    (classes, head, th): &(Vec<String>, crate::ml::head::LinearHead, Thresholds),
    order: Order,
    weight: f32,
) -> CurvePoint {
    let untouched: Vec<SimTrack> = (0..library.len())
        .filter(|i| !reviewed.contains(i))
        .map(|i| library[i].clone())
        .collect();
    let k = reviewed.len();
    let mut point = CurvePoint {
        order,
        weight,
        k,
        untouched: untouched.len(),
        right: 0,
        proposed: 0,
        classes: classes.len(),
    };
    for (p, t) in proposals(head, &untouched, classes.len(), *th)
        .iter()
        .zip(&untouched)
    {
        if p.unsure.is_none() {
            point.proposed += 1;
            let proposed = p.winner.map(|w| classes[w].as_str());
            if proposed == Some(t.genre.as_str()) {
                point.right += 1;
            } else {
                tracing::debug!(
                    "{order:?} k={k}: {} ({}) proposed as {proposed:?} at {:.2}",
                    t.name,
                    t.genre,
                    p.share
                );
            }
        }
    }
    point
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proposal::Unsure;

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
