//! The training tracks of a retrain as weighted samples, the head fitted on
//! them, and the cross-validation that serves both the guard and the
//! threshold calibration (each track judged by a head trained without it).

use crate::ml::head::{HeadOptions, LinearHead};
use crate::ml::look::Voting;
use crate::ml::transfer::group_by_source;
use crate::ml::vote;
use crate::proposal::Thresholds;
use crate::store::DecisionSource;
use rayon::prelude::*;

use super::RetrainOptions;

/// One training track: its patches' embeddings, class and weight, and the
/// library track it comes from (`None` for base-set tracks).
pub(crate) struct Sample {
    pub embeddings: Vec<f32>,
    pub class: usize,
    pub weight: f32,
    pub track: Option<(i64, DecisionSource)>,
    /// The base-set source it comes from; empty for a library track (and
    /// in base sets that kept no sources): never left out whole.
    pub source: String,
    /// The backbone's embedding width.
    pub dim: usize,
}

impl Sample {
    pub fn patches(&self) -> usize {
        self.embeddings.len() / self.dim
    }
}

/// A head on `samples`, each track weighing its weight however many
/// patches it has.
pub(crate) fn fit(
    samples: &[&Sample],
    classes: usize,
    opts: &HeadOptions,
) -> anyhow::Result<LinearHead> {
    let dim = samples.first().map_or(1, |s| s.dim);
    Ok(LinearHead::train_on_tracks(
        samples
            .iter()
            .map(|s| (s.embeddings.as_slice(), s.class, s.weight)),
        dim,
        classes,
        opts,
    )?)
}

/// The patch probabilities of a sample's voting patches, chosen as
/// `classify` chooses them ([`Voting::SecondLook`]).
pub(crate) fn voting_probabilities(head: &LinearHead, s: &Sample) -> Vec<f32> {
    let d = s.dim;
    Voting::SecondLook.probabilities(s.patches(), head.classes, |picks| {
        let picked: Vec<f32> = picks
            .iter()
            .flat_map(|&k| s.embeddings[k * d..(k + 1) * d].iter().copied())
            .collect();
        head.probabilities(&picked)
    })
}

pub(crate) const PLURALITY: Thresholds = Thresholds {
    slice: 0.0,
    track: 0.0,
};

/// Every sample's voting-patch probabilities from a head trained without
/// it: what the thresholds are calibrated on and what the guard judges the
/// user's decided tracks by. One cross-validation serves both. As in
/// training, each base source that can be left out whole is
/// ([`group_by_source`]); the user's tracks and the rest go into
/// `opts.folds` folds, stratified by class. `fold_done` hears of each fold
/// as it ends (from any thread), with the number of folds.
pub(crate) fn out_of_fold_votes(
    samples: &[Sample],
    classes: usize,
    opts: &RetrainOptions,
    cv_opts: &HeadOptions,
    fold_done: &(dyn Fn(usize) + Sync),
) -> anyhow::Result<OutOfFold> {
    let grouping = group_by_source(
        &samples.iter().map(|s| s.class).collect::<Vec<_>>(),
        &samples.iter().map(|s| s.source.clone()).collect::<Vec<_>>(),
        opts.folds,
        opts.seed,
    );
    let mut votes = vec![Vec::new(); samples.len()];
    for (i, p) in out_of_fold(
        samples,
        &grouping.group_of,
        grouping.groups,
        classes,
        cv_opts,
        voting_probabilities,
        fold_done,
    )? {
        votes[i] = p;
    }
    Ok(OutOfFold {
        votes,
        unseen: grouping.unseen,
    })
}

/// [`out_of_fold_votes`]: each sample's votes, and whether its source was
/// left out whole.
pub(crate) struct OutOfFold {
    pub votes: Vec<Vec<f32>>,
    pub unseen: Vec<bool>,
}

impl OutOfFold {
    /// Each sample's votes with its class, as the calibration and the
    /// scores read them, and whether its source was left out whole.
    pub fn into_judged(self, samples: &[Sample]) -> (Vec<vote::LabelledTrack>, Vec<bool>) {
        let judged = self
            .votes
            .into_iter()
            .zip(samples)
            .map(|(v, s)| (v, s.class))
            .collect();
        (judged, self.unseen)
    }
}

/// What `thresholds` get out of fold on each base source left out whole
/// (by name, sorted), and on the user's decided tracks: the figures a
/// retrained model's card gives, as a trained one's does.
pub(crate) fn out_of_fold_scores(
    samples: &[Sample],
    judged: &[vote::LabelledTrack],
    unseen: &[bool],
    classes: usize,
    thresholds: Thresholds,
) -> (Vec<(String, vote::Score)>, vote::Score) {
    let mut names: Vec<&str> = samples
        .iter()
        .zip(unseen)
        .filter(|(_, u)| **u)
        .map(|(s, _)| s.source.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let per_source = names
        .into_iter()
        .map(|name| {
            let score = vote::score_with_leading(judged, classes, thresholds, |i| {
                unseen[i] && samples[i].source == name
            });
            (name.to_string(), score)
        })
        .collect();
    let decided = vote::score_with_leading(
        judged,
        classes,
        thresholds,
        |i| matches!(samples[i].track, Some((_, s)) if s != DecisionSource::Tag),
    );
    (per_source, decided)
}

/// Cross-validation: for each fold `f` a head trained on every sample not
/// in it (`fold_of[i] == f`; samples of no fold always train), and
/// `judge`'s verdict on each sample of the fold, with the sample's index.
/// Folds train in parallel: each head is small, so one per core beats one
/// at a time with its matrix products split.
fn out_of_fold<T: Send>(
    samples: &[Sample],
    fold_of: &[usize],
    folds: usize,
    classes: usize,
    cv_opts: &HeadOptions,
    judge: impl Fn(&LinearHead, &Sample) -> T + Sync,
    fold_done: &(dyn Fn(usize) + Sync),
) -> anyhow::Result<Vec<(usize, T)>> {
    let per_fold: Vec<anyhow::Result<Vec<(usize, T)>>> = (0..folds)
        .into_par_iter()
        .map(|f| {
            let train: Vec<&Sample> = samples
                .iter()
                .zip(fold_of)
                .filter(|(_, k)| **k != f)
                .map(|(s, _)| s)
                .collect();
            let head = fit(&train, classes, cv_opts)?;
            let judged = (0..samples.len())
                .filter(|&i| fold_of[i] == f)
                .map(|i| (i, judge(&head, &samples[i])))
                .collect();
            fold_done(folds);
            Ok(judged)
        })
        .collect();
    let mut out = Vec::with_capacity(samples.len());
    for fold in per_fold {
        out.extend(fold?);
    }
    Ok(out)
}

/// The cross-validation heads (guard and thresholds) judge a recipe, not
/// the shipped head: a third of the steps keeps a retrain within seconds.
pub(crate) fn cv_options(head: &HeadOptions) -> HeadOptions {
    HeadOptions {
        steps: (head.steps / 3).max(1),
        ..*head
    }
}

impl Sample {
    /// Whether this is one of the user's decided tracks (not a base-set
    /// track, nor a genre tag).
    pub fn is_decision(&self) -> bool {
        matches!(self.track, Some((_, s)) if s != DecisionSource::Tag)
    }
}

/// The thresholds for this library ([`crate::ml::on_library`]): the
/// out-of-fold votes of every sample (`judged`, with `unseen` marking the
/// sources left out whole), the user's decided samples among them as the
/// reviews, and `library`, the voting probabilities of the undecided
/// library tracks under the new head.
pub(crate) fn choose_for_library(
    samples: &[Sample],
    judged: &[vote::LabelledTrack],
    unseen: &[bool],
    library: &[Vec<f32>],
    classes: usize,
    opts: &RetrainOptions,
    current: Thresholds,
) -> crate::ml::on_library::LibraryChoice {
    let reviewed: Vec<bool> = samples.iter().map(Sample::is_decision).collect();
    let evidence = crate::ml::on_library::Evidence {
        judged,
        reviewed: &reviewed,
        left_out: unseen,
        library,
        classes,
        prior_tracks: opts.prior_tracks,
    };
    crate::ml::on_library::choose(&evidence, opts.target_precision, current)
}

/// The guard ([`super::Check`]) over the decided samples: for each, its
/// index into `judged` (its out-of-fold votes) and the reference model's
/// verdict on it, where the reference analysed it: its leading genre (as a
/// class of the new head's) and whether it was proposed. The new head's
/// votes are judged with the chosen `thresholds`.
pub(crate) fn guard(
    judged: &[vote::LabelledTrack],
    reference: &[(usize, Option<(Option<usize>, bool)>)],
    reference_name: &str,
    classes: usize,
    thresholds: Thresholds,
) -> super::Check {
    if reference.len() < super::CHECK_MIN {
        return super::Check::TooFew {
            decided: reference.len(),
            needed: super::CHECK_MIN,
        };
    }
    let (mut tracks, mut new_right, mut reference_right) = (0, 0, 0);
    let (mut new_proposed_right, mut reference_proposed_right) = (0, 0);
    for &(i, verdict) in reference {
        let Some((leading, proposed)) = verdict else {
            continue;
        };
        let (votes, truth) = &judged[i];
        tracks += 1;
        new_right += usize::from(vote::vote(votes, classes, PLURALITY).winner == Some(*truth));
        new_proposed_right +=
            usize::from(vote::vote(votes, classes, thresholds).proposed() == Some(*truth));
        reference_right += usize::from(leading == Some(*truth));
        reference_proposed_right += usize::from(proposed && leading == Some(*truth));
    }
    super::Check::Compared {
        tracks,
        new_right,
        reference: reference_name.to_string(),
        reference_right,
        new_proposed_right,
        reference_proposed_right,
    }
}
