//! Which patches of a track vote when a library is classified.
//!
//! Six evenly spaced patches first (the first look). Where their most
//! probable genres are not all the same, the five patches halfway between
//! them vote too (the second look), so eleven evenly spaced patches decide
//! those tracks. A track the first six agree on costs six patches; a track
//! they argue over gets the closer listen it needs. Classifying, the
//! calibration of the thresholds, retraining and the simulations all vote
//! this way, so that the thresholds fit the votes users see. Where the
//! eleven still leave a track unsure, `classify` analyses it whole (the
//! third look, [`escalates`]).

use crate::features::slice_plan;
use crate::ml::vote;

/// Patches of the first look.
pub const FIRST_LOOK: usize = 6;
/// Whether a track whose looks analysed `analysed` of its `total` patches
/// and left it unsure gets the third look: every patch of it. `classify`
/// and `eval --as-classify` do this once the thresholds have spoken; the
/// calibration, which chooses the thresholds, votes with the first two
/// looks alone, so the third only ever turns an unsure track into a
/// proposal of every patch's vote (what those proposals were worth on the
/// training sources left out, and why not 21 patches, which is twice as
/// fast: models/README.md, "The third look").
pub fn escalates(analysed: usize, total: usize) -> bool {
    total > analysed
}

/// Patches of the second look: `slice_plan(total, 11)` holds every patch of
/// `slice_plan(total, 6)` (the 0th, 2nd, … 10th of eleven are the six),
/// so the second look adds the five between them.
pub const SECOND_LOOK: usize = 11;

/// Which patches vote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub enum Voting {
    /// Every patch at hand.
    All,
    /// `n` evenly spaced patches.
    Evenly(usize),
    /// The first look, and the second where the first disagrees: what
    /// `classify` does unless told otherwise.
    #[default]
    SecondLook,
}

/// Whether the patches (`patches × classes` probabilities) do not all put
/// the same genre first: what calls for a second look.
pub fn disagree(probs: &[f32], classes: usize) -> bool {
    let mut tops = probs.chunks_exact(classes.max(1)).map(|p| vote::top(p).0);
    match tops.next() {
        Some(first) => tops.any(|c| c != first),
        None => false,
    }
}

/// The patches (indices among `total`) a second look adds to the first.
pub fn second_look_extra(total: usize) -> Vec<usize> {
    let first = slice_plan(total, Some(FIRST_LOOK));
    slice_plan(total, Some(SECOND_LOOK))
        .into_iter()
        .filter(|k| !first.contains(k))
        .collect()
}

impl Voting {
    /// The probabilities of the voting patches of a track whose `total`
    /// patches are all at hand, in time order; `probs_of` gives the
    /// probabilities of the patches at some indices.
    pub fn probabilities(
        self,
        total: usize,
        classes: usize,
        probs_of: impl Fn(&[usize]) -> Vec<f32>,
    ) -> Vec<f32> {
        let infallible = |picks: &[usize]| Ok::<_, std::convert::Infallible>(probs_of(picks));
        match self.try_probabilities(total, classes, infallible) {
            Ok(probs) => probs,
        }
    }

    /// [`Voting::probabilities`] where working out the probabilities can
    /// fail (running a network): the first error is returned.
    pub fn try_probabilities<E>(
        self,
        total: usize,
        classes: usize,
        probs_of: impl Fn(&[usize]) -> Result<Vec<f32>, E>,
    ) -> Result<Vec<f32>, E> {
        match self {
            Voting::All => probs_of(&slice_plan(total, None)),
            Voting::Evenly(n) => probs_of(&slice_plan(total, Some(n))),
            Voting::SecondLook => {
                let first = probs_of(&slice_plan(total, Some(FIRST_LOOK)))?;
                if total > FIRST_LOOK && disagree(&first, classes) {
                    probs_of(&slice_plan(total, Some(SECOND_LOOK)))
                } else {
                    Ok(first)
                }
            }
        }
    }

    /// In words, for training notes.
    pub fn describe(self) -> String {
        match self {
            Voting::All => "every patch".into(),
            Voting::Evenly(n) => format!("up to {n} patches"),
            Voting::SecondLook => {
                format!("{FIRST_LOOK} patches, {SECOND_LOOK} where the {FIRST_LOOK} disagree")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_look_keeps_the_first_and_adds_the_five_between() {
        for total in 12..400 {
            let first = slice_plan(total, Some(FIRST_LOOK));
            let second = slice_plan(total, Some(SECOND_LOOK));
            assert!(first.iter().all(|k| second.contains(k)), "{total}");
            let extra = second_look_extra(total);
            assert_eq!(extra.len(), 5, "{total}");
            for (i, k) in extra.iter().enumerate() {
                assert!(first[i] < *k && *k < first[i + 1], "{total}: {extra:?}");
            }
        }
    }

    #[test]
    fn only_what_the_looks_left_out_calls_for_a_third() {
        assert!(escalates(11, 40) && escalates(6, 9));
        assert!(!escalates(9, 9) && !escalates(40, 40));
    }

    /// One patch's probabilities putting `c` first, of 3 classes.
    fn patch(c: usize) -> Vec<f32> {
        let mut p = vec![0.1; 3];
        p[c] = 0.8;
        p
    }

    #[test]
    fn only_a_first_look_that_disagrees_gets_a_second() {
        // Twenty patches: the ones the first look takes say genre 0; the
        // others say genre 1 or 2.
        let first = slice_plan(20, Some(FIRST_LOOK));
        let genre_of = |k: usize, odd: usize| {
            if first.contains(&k) { 0 } else { odd }
        };
        let probs_of = |odd: usize| {
            move |idx: &[usize]| -> Vec<f32> {
                idx.iter().flat_map(|&k| patch(genre_of(k, odd))).collect()
            }
        };
        let agreed = Voting::SecondLook.probabilities(20, 3, probs_of(1));
        assert_eq!(agreed.len(), FIRST_LOOK * 3);
        // Now the last of the first look says genre 2: a second look.
        let mixed = |idx: &[usize]| -> Vec<f32> {
            idx.iter()
                .flat_map(|&k| patch(if k == 19 { 2 } else { genre_of(k, 1) }))
                .collect()
        };
        let second = Voting::SecondLook.probabilities(20, 3, mixed);
        assert_eq!(second.len(), SECOND_LOOK * 3);
        assert!(!disagree(&patch(1), 3) && disagree(&[patch(0), patch(2)].concat(), 3));
        assert_eq!(
            Voting::Evenly(4).probabilities(20, 3, probs_of(1)).len(),
            12
        );
        assert_eq!(Voting::All.probabilities(20, 3, probs_of(1)).len(), 60);
    }
}
