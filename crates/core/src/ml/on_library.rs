//! Thresholds judged on the user's own library.
//!
//! The shipped pair was chosen on the training set's sources left out:
//! music from elsewhere in general, whose worst source sets how careful the
//! model is. A user's library is one particular elsewhere, and the tracks
//! the user reviewed say how the model fares on it. So a retrain judges
//! every pair of the grid by an estimate of its precision on this library:
//! the sources left out are a prior worth [`PRIOR_TRACKS`] tracks, and each
//! reviewed track, judged by a head trained without it, is one track of
//! evidence. With no reviews the estimate is what the sources left out say;
//! after a few dozen it is what the user's library says.
//!
//! The pair in force is kept unless that evidence says otherwise, so that
//! proposals do not change under the user's feet for a track or two:
//!
//! - **loosened** when another pair proposes for more of the library's
//!   undecided tracks and its estimate reaches the target;
//! - **tightened** when at least [`TIGHTEN_EVIDENCE`] reviewed tracks got a
//!   proposal under the pair in force and they show it missing the target
//!   (the upper end of the 90 % interval of its precision on them is below
//!   it): then, of the pairs still proposing for [`MIN_COVERAGE`] of the
//!   library, the one with the most coverage whose estimate reaches the
//!   target, else the one with the best estimate;
//! - else **kept**.
//!
//! Coverage is counted on the library's own undecided tracks (no label is
//! needed to see whether a track gets a proposal), not on the training set,
//! whose hardest source otherwise made every library as timid as itself.

use crate::ml::vote::{self, LabelledTrack, MIN_COVERAGE, Score, TRACK_GRID};
use crate::proposal::Thresholds;
use serde::Serialize;

/// How many tracks of the user's library the sources left out are worth
/// in the estimate of precision on it. Chosen from 5, 10 and 20 by
/// simulated corrections on the seven non-GTZAN training sources held out
/// (`training/notes/library-thresholds-rule.md`): the three fell below the
/// first model equally often, and 5 had the most right at k = 10 (82.6 %
/// against 80.2 % for both others).
pub const PRIOR_TRACKS: f32 = 5.0;

/// The z-score of the two-sided 90 % interval the reports give.
const Z90: f32 = 1.645;

/// How a count of right proposals among proposals reads with its
/// uncertainty: the Wilson score interval at 90 %.
pub fn interval(right: usize, proposed: usize) -> Option<(f32, f32)> {
    if proposed == 0 {
        return None;
    }
    let n = proposed as f32;
    let p = right as f32 / n;
    let z2 = Z90 * Z90;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z90 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// What the user's reviewed tracks say of a pair, in words: "right 19 of
/// the 20 you reviewed that got one (90 % sure: 79–99 %)".
pub fn in_words(reviewed: &Score) -> String {
    match interval(reviewed.right, reviewed.labelled) {
        None => format!(
            "none of the {} tracks you reviewed got a proposal",
            reviewed.tracks
        ),
        Some((lo, hi)) => format!(
            "right {} of the {} you reviewed that got one (90 % sure: {:.0}–{:.0} %)",
            reviewed.right,
            reviewed.labelled,
            lo * 100.0,
            hi * 100.0
        ),
    }
}

/// Which way the pair moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Movement {
    Kept,
    Loosened,
    Tightened,
}

/// One pair of thresholds as this library's evidence sees it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Judged {
    pub thresholds: Thresholds,
    /// The user's reviewed tracks, each voted by a head trained without it.
    #[serde(skip)]
    pub reviewed: Score,
    /// The training sources left out whole.
    #[serde(skip)]
    pub left_out: Score,
    /// Undecided library tracks that get a proposal, of how many.
    pub library_proposed: usize,
    pub library_tracks: usize,
    /// Estimated precision on this library.
    pub estimate: f32,
}

/// Reviewed tracks that must have got a proposal under the pair in force
/// before their verdict may tighten it. The tracks a user reviews first are
/// rarely a fair sample: "review next" offers the least certain, and a user
/// who fixes the wrong proposals they notice reviews only those. Five such
/// reviews tightened the pair for a whole library in the simulations
/// (Widelands, wrong first: 19 right proposals of 26 became none); ten
/// proposals under the pair in force are a body of evidence.
pub const TIGHTEN_EVIDENCE: usize = 10;

impl Judged {
    /// Whether the reviewed tracks show this pair missing `target`, on
    /// enough of them.
    fn contradicted(&self, target: f32) -> bool {
        self.reviewed.labelled >= TIGHTEN_EVIDENCE
            && interval(self.reviewed.right, self.reviewed.labelled)
                .is_some_and(|(_, hi)| hi < target)
    }

    /// Whether it still proposes for [`MIN_COVERAGE`] of the library.
    fn covers_enough(&self) -> bool {
        self.library_proposed as f32 + 1e-6 >= MIN_COVERAGE * self.library_tracks as f32
    }
}

/// The pair a retrain ships, and why.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LibraryChoice {
    pub chosen: Judged,
    pub movement: Movement,
}

/// What the library's evidence needs to judge a pair.
pub struct Evidence<'a> {
    /// Every training track's out-of-fold votes and class.
    pub judged: &'a [LabelledTrack],
    /// Which of them are the user's reviewed (decided) tracks.
    pub reviewed: &'a [bool],
    /// Which come from a training source left out whole.
    pub left_out: &'a [bool],
    /// The voting patches' probabilities of each undecided library track
    /// under the new head.
    pub library: &'a [Vec<f32>],
    pub classes: usize,
    /// What the sources left out weigh, in tracks ([`PRIOR_TRACKS`]).
    pub prior_tracks: f32,
}

impl Evidence<'_> {
    /// `th` as this evidence sees it.
    pub fn judge(&self, th: Thresholds) -> Judged {
        let reviewed = vote::score(self.judged, self.classes, th, |i| self.reviewed[i]);
        let left_out = vote::score(self.judged, self.classes, th, |i| self.left_out[i]);
        let library_proposed = self
            .library
            .iter()
            .filter(|p| vote::vote(p, self.classes, th).proposed().is_some())
            .count();
        let prior = if left_out.labelled > 0 {
            left_out.precision()
        } else {
            0.0
        };
        let estimate = (self.prior_tracks * prior + reviewed.right as f32)
            / (self.prior_tracks + reviewed.labelled as f32);
        Judged {
            thresholds: th,
            reviewed,
            left_out,
            library_proposed,
            library_tracks: self.library.len(),
            estimate,
        }
    }
}

/// The pair for this library (module doc): `current` kept, loosened or
/// tightened by the evidence, for `target` precision.
pub fn choose(evidence: &Evidence, target: f32, current: Thresholds) -> LibraryChoice {
    let now = evidence.judge(current);
    let grid: Vec<Judged> = vote::SLICE_GRID
        .iter()
        .flat_map(|&slice| {
            TRACK_GRID
                .iter()
                .map(move |&track| Thresholds { slice, track })
        })
        .map(|th| evidence.judge(th))
        .collect();
    // The most coverage, then the best estimate; the grid's order (lower
    // thresholds first) breaks what is left.
    let best_of = |pairs: &mut dyn Iterator<Item = &Judged>| -> Option<Judged> {
        pairs.fold(None, |best: Option<Judged>, j| match best {
            Some(b) if (b.library_proposed, b.estimate) >= (j.library_proposed, j.estimate) => {
                Some(b)
            }
            _ => Some(*j),
        })
    };
    let reaching = best_of(&mut grid.iter().filter(|j| j.estimate + 1e-6 >= target));
    let contradicted = now.contradicted(target);
    // A tightened pair must leave the user proposals to review.
    let safer = best_of(
        &mut grid
            .iter()
            .filter(|j| j.estimate + 1e-6 >= target && j.covers_enough()),
    );
    let moved = |to: Judged| LibraryChoice {
        chosen: to,
        movement: if to.library_proposed > now.library_proposed {
            Movement::Loosened
        } else {
            Movement::Tightened
        },
    };
    match (reaching, safer) {
        (Some(better), _) if better.library_proposed > now.library_proposed => moved(better),
        _ if !contradicted => kept(now),
        (_, Some(safer)) => moved(safer),
        (_, None) => {
            let most_precise =
                grid.iter()
                    .filter(|j| j.covers_enough())
                    .fold(None, |best: Option<Judged>, j| match best {
                        Some(b) if b.estimate >= j.estimate => Some(b),
                        _ => Some(*j),
                    });
            match most_precise {
                Some(m) if m.estimate > now.estimate => moved(m),
                _ => kept(now),
            }
        }
    }
}

fn kept(now: Judged) -> LibraryChoice {
    LibraryChoice {
        chosen: now,
        movement: Movement::Kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A track of two classes whose `n` patches all vote `c` at `p`.
    fn track(c: usize, p: f32, n: usize) -> Vec<f32> {
        (0..n)
            .flat_map(|_| if c == 0 { [p, 1.0 - p] } else { [1.0 - p, p] })
            .collect()
    }

    #[test]
    fn the_interval_reads_as_expected() {
        let (lo, hi) = interval(19, 20).unwrap();
        assert!(lo > 0.75 && lo < 0.85 && hi > 0.98, "{lo} {hi}");
        assert_eq!(interval(0, 0), None);
        let (lo, hi) = interval(5, 10).unwrap();
        assert!(lo < 0.5 && hi > 0.5);
        let said = in_words(&Score {
            tracks: 22,
            labelled: 20,
            right: 19,
            leading_right: None,
        });
        assert!(
            said.starts_with("right 19 of the 20 you reviewed"),
            "{said}"
        );
    }

    /// A library the training sources say little of, where the user's
    /// reviews show the loose pair right: with few reviews the pair in
    /// force stays, with many the pair proposing more is taken.
    #[test]
    fn reviews_loosen_the_pair_only_once_they_are_enough() {
        let strict = Thresholds {
            slice: 0.0,
            track: 1.0,
        };
        // Left-out training tracks: at 0.6 confidence right 8 times in 10.
        let mut judged: Vec<LabelledTrack> = (0..10)
            .map(|i| (track(0, 0.6, 3), usize::from(i >= 8)))
            .collect();
        let mut left_out = vec![true; 10];
        let mut reviewed = vec![false; 10];
        // The library: 40 tracks whose patches split 2 to 1: unsure at a
        // track threshold of 1, proposed at 0.6.
        let split = [track(0, 0.9, 2), track(1, 0.9, 1)].concat();
        let library: Vec<Vec<f32>> = (0..40).map(|_| split.clone()).collect();
        let choose_with = |judged: &[LabelledTrack], reviewed: &[bool], left_out: &[bool]| {
            let e = Evidence {
                judged,
                reviewed,
                left_out,
                library: &library,
                classes: 2,
                prior_tracks: PRIOR_TRACKS,
            };
            choose(&e, 0.95, strict)
        };
        let none = choose_with(&judged, &reviewed, &left_out);
        assert_eq!(none.movement, Movement::Kept);
        assert_eq!(none.chosen.thresholds, strict);
        // Three reviewed tracks, all right at the loose pair: not enough.
        for _ in 0..3 {
            judged.push((split.clone(), 0));
            reviewed.push(true);
            left_out.push(false);
        }
        assert_eq!(
            choose_with(&judged, &reviewed, &left_out).movement,
            Movement::Kept
        );
        // Forty: the library's evidence decides.
        for _ in 0..37 {
            judged.push((split.clone(), 0));
            reviewed.push(true);
            left_out.push(false);
        }
        let many = choose_with(&judged, &reviewed, &left_out);
        assert_eq!(many.movement, Movement::Loosened);
        assert!(many.chosen.thresholds.track <= 2.0 / 3.0 + 1e-6);
        assert_eq!(many.chosen.library_proposed, 40);
        assert!(many.chosen.estimate >= 0.95);
    }

    /// Enough reviews showing the pair in force wrong tighten it; a few
    /// do not (they may be the very tracks the user went looking for).
    #[test]
    fn reviews_showing_the_pair_wrong_tighten_it_once_they_are_enough() {
        let loose = Thresholds {
            slice: 0.0,
            track: 0.5,
        };
        for (reviews, movement) in [(6, Movement::Kept), (12, Movement::Tightened)] {
            // Left out: confident patches right, unconfident ones half wrong.
            let mut judged: Vec<LabelledTrack> = Vec::new();
            let (mut reviewed, mut left_out) = (Vec::new(), Vec::new());
            for i in 0..20 {
                judged.push((track(0, 0.95, 3), 0));
                judged.push((track(0, 0.6, 3), i % 2));
                reviewed.extend([false, false]);
                left_out.extend([true, true]);
            }
            // Reviewed: unconfident tracks, two in three wrong.
            for i in 0..reviews {
                judged.push((track(0, 0.6, 3), usize::from(i % 3 != 0)));
                reviewed.push(true);
                left_out.push(false);
            }
            let library: Vec<Vec<f32>> = (0..10)
                .map(|i| track(0, if i < 5 { 0.95 } else { 0.6 }, 3))
                .collect();
            let e = Evidence {
                judged: &judged,
                reviewed: &reviewed,
                left_out: &left_out,
                library: &library,
                classes: 2,
                prior_tracks: PRIOR_TRACKS,
            };
            let c = choose(&e, 0.95, loose);
            assert_eq!(c.movement, movement, "{reviews} reviews");
            if movement == Movement::Tightened {
                assert!(c.chosen.thresholds.slice > 0.6, "{:?}", c.chosen.thresholds);
                assert_eq!(c.chosen.library_proposed, 5);
            }
        }
    }
}
