//! Simulated corrections: how retraining learns from a user, measured.
//!
//! A simulated user owns a labelled "library" of tracks the model never
//! trained on (GTZAN's eval clips, or one source held out of the base
//! set). They review tracks in one of several orders ([`Order`]: the
//! window's "review next", a seeded random one, the wrong proposals first,
//! or one genre at a time), each review giving the track's true genre as a
//! decision, and retrain every few reviews the way `sonotag retrain` does
//! it (base set plus decisions at a weight, thresholds judged on the
//! library, the guard against the first model), after which the orders
//! that depend on the model take what is left by the model now active.
//! After `k` reviews the untouched tracks measure accuracy (proposed and
//! right), coverage and precision, beside what the first model got right
//! on the same tracks. This is how [`crate::ml::corrections`]'s weight of a
//! decision and [`crate::ml::on_library`]'s prior were chosen, and it gives
//! the learning curves. [`super::user`] plays the same user on a real
//! library through the workflows.

use crate::ml::corrections::{
    Check, RetrainOptions, Sample, choose_for_library, cv_options, fit, guard, out_of_fold_votes,
    voting_probabilities,
};
use crate::ml::head::HeadOptions;
use crate::ml::vote;
use crate::proposal::{Proposal, Thresholds};
use crate::rng::Rng;
use crate::store::DecisionSource;
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
    /// [`crate::catalog::review::review_next_order`] by the model active
    /// now: unsure first, then the least certain, spread over genres.
    ReviewNext,
    /// Shuffled with this seed.
    Random(u64),
    /// A user who fixes the wrong proposals they notice: the active
    /// model's wrong proposals first, then the unsure tracks leaning to a
    /// wrong genre, then the rest as "review next" offers them.
    WrongFirst,
    /// One true genre after another (alphabetical), each in library order.
    ByGenre,
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Order::ReviewNext => write!(f, "review-next"),
            Order::Random(seed) => write!(f, "random-{seed}"),
            Order::WrongFirst => write!(f, "wrong-first"),
            Order::ByGenre => write!(f, "by-genre"),
        }
    }
}

impl Order {
    /// The orders named on a command line (`review-next`, `random`,
    /// `wrong-first`, `by-genre`); `random` stands for one per seed.
    pub fn parse(names: &[String], seeds: &[u64]) -> anyhow::Result<Vec<Order>> {
        let mut out = Vec::new();
        for name in names {
            match name.as_str() {
                "review-next" => out.push(Order::ReviewNext),
                "random" => out.extend(seeds.iter().map(|&s| Order::Random(s))),
                "wrong-first" => out.push(Order::WrongFirst),
                "by-genre" => out.push(Order::ByGenre),
                other => anyhow::bail!(
                    "unknown order {other}: review-next, random, wrong-first or by-genre"
                ),
            }
        }
        Ok(out)
    }

    /// The order in which the user takes the tracks `left` (indices into
    /// it); `position` is each track's place in the library.
    pub fn arrange(self, left: &[Left]) -> Vec<usize> {
        let next = || {
            let keys: Vec<crate::catalog::review::ReviewKey> = left
                .iter()
                .map(|t| crate::catalog::review::ReviewKey {
                    leaning: t.leaning,
                    unsure: t.unsure,
                    share: t.share,
                })
                .collect();
            crate::catalog::review::review_next_order(&keys)
        };
        match self {
            Order::ReviewNext => next(),
            Order::Random(seed) => {
                // One shuffle of the whole library, whatever is left of it:
                // each track's place drawn from the seed and its position.
                let mut order: Vec<usize> = (0..left.len()).collect();
                order.sort_by_key(|&i| random_rank(seed, left[i].position));
                order
            }
            Order::WrongFirst => {
                let wrong = |t: &Left| t.leaning.is_some_and(|g| g != t.truth);
                let mut order = next();
                order.sort_by_key(|&i| {
                    let t = &left[i];
                    match (wrong(t), t.unsure) {
                        (true, false) => 0,
                        (true, true) => 1,
                        _ => 2,
                    }
                });
                order
            }
            Order::ByGenre => {
                let mut order: Vec<usize> = (0..left.len()).collect();
                order.sort_by(|&a, &b| {
                    (left[a].truth, left[a].position).cmp(&(left[b].truth, left[b].position))
                });
                order
            }
        }
    }
}

/// What an [`Order`] knows of a track left to review.
#[derive(Clone, Copy, Debug)]
pub struct Left<'a> {
    /// The genre the active model proposes or leans to.
    pub leaning: Option<&'a str>,
    pub unsure: bool,
    pub share: f32,
    /// Its true genre (what the user will say).
    pub truth: &'a str,
    /// Its place in the library.
    pub position: usize,
}

/// Where a random order puts the track at `position`.
fn random_rank(seed: u64, position: usize) -> u64 {
    let mut rng = Rng::new(seed ^ (position as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    rng.next_u64();
    rng.next_u64()
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
    /// What the model before any correction got right on the same
    /// untouched tracks: the figure "never worse" is judged against.
    pub before_right: usize,
    /// Untouched tracks whose proposed or leaning genre (unsure ones
    /// included) is right: the most right proposals thresholds could give.
    pub leaning_right: usize,
    pub classes: usize,
    pub thresholds: Thresholds,
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

fn classes_of(base: &[SimTrack]) -> Vec<String> {
    let mut c: Vec<String> = base.iter().map(|t| t.genre.clone()).collect();
    c.sort();
    c.dedup();
    c
}

/// A model of the simulation: its classes, head and thresholds.
#[derive(Clone)]
struct SimModel {
    classes: Vec<String>,
    head: crate::ml::head::LinearHead,
    thresholds: Thresholds,
}

impl SimModel {
    fn proposals(&self, tracks: &[&SimTrack]) -> Vec<Proposal> {
        tracks
            .iter()
            .map(|t| vote::vote(&self.probabilities(t), self.classes.len(), self.thresholds))
            .collect()
    }

    fn probabilities(&self, t: &SimTrack) -> Vec<f32> {
        voting_probabilities(&self.head, &sample_of(t, 0, 1.0, String::new(), None))
    }
}

fn sample_of(
    t: &SimTrack,
    class: usize,
    weight: f32,
    source: String,
    track: Option<(i64, DecisionSource)>,
) -> Sample {
    Sample {
        embeddings: t.embeddings.clone(),
        class,
        weight,
        track,
        source,
        dim: t.dim,
    }
}

/// What a retrain of the simulation starts from: the base set, the model
/// active now and the first one (the guard's reference).
struct Retrain<'a> {
    base: &'a [SimTrack],
    library: &'a [SimTrack],
    weight: f32,
    opts: &'a RetrainOptions,
}

impl Retrain<'_> {
    /// A head on the base set plus the `decided` library tracks, with
    /// thresholds judged on the library's undecided tracks as a retrain
    /// judges them, and the guard's verdict against `first` (`None` for
    /// the first model itself).
    fn run(
        &self,
        decided: &[usize],
        current: Option<Thresholds>,
        first: Option<&SimModel>,
    ) -> anyhow::Result<(SimModel, Option<Check>)> {
        let (base, opts) = (self.base, self.opts);
        let mut classes = classes_of(base);
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for &i in decided {
            *counts.entry(self.library[i].genre.as_str()).or_default() += 1;
        }
        for (g, n) in counts {
            if n >= opts.min_tracks && !classes.iter().any(|c| c == g) {
                classes.push(g.to_string());
            }
        }
        classes.sort();
        let class_of = |g: &str| classes.iter().position(|c| c == g);
        // The base set as training weighs it: each source of a genre alike.
        let base_weights = crate::ml::transfer::source_weights(
            &base
                .iter()
                .map(|t| class_of(&t.genre).expect("every base genre is a class"))
                .collect::<Vec<_>>(),
            &base.iter().map(|t| t.source.clone()).collect::<Vec<_>>(),
        );
        let mut samples: Vec<Sample> = base
            .iter()
            .zip(base_weights)
            .filter_map(|(t, w)| Some(sample_of(t, class_of(&t.genre)?, w, t.source.clone(), None)))
            .collect();
        for &i in decided {
            let t = &self.library[i];
            let Some(class) = class_of(&t.genre) else {
                continue;
            };
            let decision = Some((i as i64, DecisionSource::Overridden));
            samples.push(sample_of(t, class, self.weight, String::new(), decision));
        }
        let head_opts = HeadOptions {
            seed: opts.seed,
            steps: opts.epochs,
            ..Default::default()
        };
        let (judged, unseen) = out_of_fold_votes(
            &samples,
            classes.len(),
            opts,
            &cv_options(&head_opts),
            &|_| {},
        )?
        .into_judged(&samples);
        let all: Vec<&Sample> = samples.iter().collect();
        let head = fit(&all, classes.len(), &head_opts)?;
        let mut model = SimModel {
            classes,
            head,
            thresholds: current.unwrap_or_default(),
        };
        let Some((current, first)) = current.zip(first) else {
            // The first model: thresholds as training chooses them.
            model.thresholds = match vote::choose_thresholds(
                &judged,
                &unseen,
                model.classes.len(),
                opts.target_precision,
                None,
            ) {
                vote::Choice::Reached(c) | vote::Choice::MostPrecise(c) => c.thresholds,
                vote::Choice::None => Thresholds::default(),
            };
            return Ok((model, None));
        };
        let undecided: Vec<Vec<f32>> = (0..self.library.len())
            .filter(|i| !decided.contains(i))
            .map(|i| model.probabilities(&self.library[i]))
            .collect();
        let choice = choose_for_library(
            &samples,
            &judged,
            &unseen,
            &undecided,
            model.classes.len(),
            opts,
            current,
        );
        model.thresholds = choice.chosen.thresholds;
        tracing::debug!("simulation retrain: {choice:?} (was {current:?})");
        // The guard: each decided track against the first model's verdict.
        let verdicts: Vec<(usize, Option<(Option<usize>, bool)>)> = samples
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let (track, _) = s.track?;
                let p = &first.proposals(&[&self.library[track as usize]])[0];
                let leading = p
                    .winner
                    .and_then(|w| model.classes.iter().position(|c| *c == first.classes[w]));
                Some((i, Some((leading, p.unsure.is_none()))))
            })
            .collect();
        let check = guard(
            &judged,
            &verdicts,
            "first",
            model.classes.len(),
            model.thresholds,
        );
        Ok((model, Some(check)))
    }
}

/// What a simulation plays.
#[derive(Clone, Debug)]
pub struct Plan<'a> {
    /// Numbers of reviewed tracks at which the untouched tracks are measured.
    pub ks: &'a [usize],
    /// Weights of a decision, in base tracks.
    pub weights: &'a [f32],
    pub orders: &'a [Order],
    /// The user retrains after every this many reviews, and the orders
    /// that follow the model then take what is left by the new one.
    pub retrain_every: usize,
    /// How many genres a track of the folder library gets ([`crate::dev::user::play`]).
    pub several: crate::proposal::SeveralGenres,
}

/// Where the user stops to retrain: every `retrain_every` reviews, and at
/// each k (none past the library's size).
pub fn stops(plan: &Plan, library: usize) -> Vec<usize> {
    let last = plan.ks.iter().copied().max().unwrap_or(0).min(library);
    let mut stops: Vec<usize> = plan
        .ks
        .iter()
        .map(|&k| k.min(library))
        .chain(
            (1..)
                .map(|n| n * plan.retrain_every.max(1))
                .take_while(|&k| k < last),
        )
        .collect();
    stops.sort_unstable();
    stops.dedup();
    stops
}

/// The learning curves of `library` on top of `base`: one point per order,
/// weight and number of reviewed tracks `k`.
pub fn curves(
    base: &[SimTrack],
    library: &[SimTrack],
    plan: &Plan,
    opts: &RetrainOptions,
) -> anyhow::Result<Vec<CurvePoint>> {
    let start = Retrain {
        base,
        library,
        weight: 1.0,
        opts,
    };
    let (first, _) = start.run(&[], None, None)?;
    let all: Vec<&SimTrack> = library.iter().collect();
    let first_proposals = first.proposals(&all);
    let first_right: Vec<bool> = first_proposals
        .iter()
        .zip(library)
        .map(|(p, t)| p.proposed().map(|w| first.classes[w].as_str()) == Some(t.genre.as_str()))
        .collect();
    let stops = stops(plan, library.len());
    let mut out = Vec::new();
    for &order in plan.orders {
        for &weight in plan.weights {
            let retrain = Retrain { weight, ..start };
            let mut reviewed: Vec<usize> = Vec::new();
            let mut active = first.clone();
            for &stop in &stops {
                if stop > reviewed.len() {
                    let left: Vec<usize> = (0..library.len())
                        .filter(|i| !reviewed.contains(i))
                        .collect();
                    let tracks: Vec<&SimTrack> = left.iter().map(|&i| &library[i]).collect();
                    let props = active.proposals(&tracks);
                    let seen: Vec<Left> = left
                        .iter()
                        .zip(&props)
                        .map(|(&i, p)| Left {
                            leaning: p.winner.map(|w| active.classes[w].as_str()),
                            unsure: p.unsure.is_some(),
                            share: p.share,
                            truth: library[i].genre.as_str(),
                            position: i,
                        })
                        .collect();
                    let next: Vec<usize> =
                        order.arrange(&seen).into_iter().map(|j| left[j]).collect();
                    reviewed.extend(next.into_iter().take(stop - reviewed.len()));
                    let (model, check) =
                        retrain.run(&reviewed, Some(active.thresholds), Some(&first))?;
                    if check.is_none_or(|c| c.activates()) {
                        active = model;
                    } else {
                        tracing::debug!("{order} k={stop}: the guard kept the model active");
                    }
                }
                if plan.ks.iter().any(|&k| k.min(library.len()) == stop) {
                    out.push(measure(
                        library,
                        &reviewed,
                        &active,
                        &first_right,
                        order,
                        weight,
                    ));
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
    model: &SimModel,
    first_right: &[bool],
    order: Order,
    weight: f32,
) -> CurvePoint {
    let untouched: Vec<usize> = (0..library.len())
        .filter(|i| !reviewed.contains(i))
        .collect();
    let k = reviewed.len();
    let mut point = CurvePoint {
        order,
        weight,
        k,
        untouched: untouched.len(),
        right: 0,
        proposed: 0,
        before_right: untouched.iter().filter(|&&i| first_right[i]).count(),
        leaning_right: 0,
        classes: model.classes.len(),
        thresholds: model.thresholds,
    };
    let tracks: Vec<&SimTrack> = untouched.iter().map(|&i| &library[i]).collect();
    for (p, t) in model.proposals(&tracks).iter().zip(&tracks) {
        point.leaning_right +=
            usize::from(p.winner.map(|w| model.classes[w].as_str()) == Some(t.genre.as_str()));
        if p.unsure.is_none() {
            point.proposed += 1;
            let proposed = p.winner.map(|w| model.classes[w].as_str());
            if proposed == Some(t.genre.as_str()) {
                point.right += 1;
            } else {
                tracing::debug!(
                    "{order} k={k}: {} ({}) proposed as {proposed:?} at {:.2}",
                    t.name,
                    t.genre,
                    p.share
                );
            }
        }
    }
    point
}

/// The worst and the mean over `points` of one k (random orders, say):
/// what the summary lines give.
pub fn worst_and_mean(points: &[&CurvePoint]) -> Option<(f32, f32)> {
    let worst = points
        .iter()
        .map(|p| p.accuracy())
        .fold(None, |w: Option<f32>, a| Some(w.map_or(a, |w| w.min(a))))?;
    let mean = points.iter().map(|p| p.accuracy()).sum::<f32>() / points.len() as f32;
    Some((worst, mean))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left<'a>(
        leaning: &'a str,
        unsure: bool,
        share: f32,
        truth: &'a str,
        position: usize,
    ) -> Left<'a> {
        Left {
            leaning: Some(leaning),
            unsure,
            share,
            truth,
            position,
        }
    }

    #[test]
    fn each_order_takes_the_tracks_as_its_user_would() {
        let tracks = [
            left("Jazz", false, 1.0, "Jazz", 0),
            left("Jazz", false, 0.6, "Rock", 1),
            left("Jazz", true, 0.4, "Jazz", 2),
            left("Rock", false, 0.9, "Rock", 3),
            left("Rock", true, 0.5, "Blues", 4),
        ];
        // Round 1: each genre's least certain (0.4 unsure, 0.5 unsure);
        // round 2: 0.6, 0.9; round 3: 1.0.
        assert_eq!(Order::ReviewNext.arrange(&tracks), vec![2, 4, 1, 3, 0]);
        // The wrong proposal, then the unsure track leaning wrong, then the
        // rest in review-next order.
        assert_eq!(Order::WrongFirst.arrange(&tracks), vec![1, 4, 2, 3, 0]);
        assert_eq!(Order::ByGenre.arrange(&tracks), vec![4, 0, 2, 1, 3]);
        let a = Order::Random(1).arrange(&tracks);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
        assert_ne!(
            a,
            Order::Random(2).arrange(&tracks),
            "seeds give other orders"
        );
        // A random order is one shuffle of the library: what is left keeps
        // its relative order.
        let rest: Vec<usize> = a.iter().copied().filter(|&i| i != a[0]).collect();
        let fewer: Vec<Left> = tracks
            .iter()
            .copied()
            .filter(|t| t.position != a[0])
            .collect();
        let again: Vec<usize> = Order::Random(1)
            .arrange(&fewer)
            .into_iter()
            .map(|j| fewer[j].position)
            .collect();
        assert_eq!(again, rest);
        assert_eq!(
            Order::parse(&["random".into(), "by-genre".into()], &[3, 4]).unwrap(),
            vec![Order::Random(3), Order::Random(4), Order::ByGenre]
        );
    }
}
