//! What the listener says about a track, in the words every layer shares:
//! a [`Proposal`] (a genre, or unsure and why) and the [`Thresholds`] that
//! decide between the two. [`crate::ml::vote`] makes proposals; the store
//! keeps them; the screens show them.

use serde::{Deserialize, Serialize};

/// Voting thresholds: when a slice abstains and when a track is unsure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// A slice whose top probability is below this abstains.
    pub slice: f32,
    /// A track whose winner has less than this share of the votes is unsure.
    pub track: f32,
}

impl Thresholds {
    /// The thresholds in force, the one rule everywhere: the user's own
    /// setting, else the model's calibrated ones, else the article's.
    pub fn in_force(user: Option<Thresholds>, model: Option<Thresholds>) -> Thresholds {
        user.or(model).unwrap_or_default()
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            slice: 0.5,
            track: 0.7,
        }
    }
}

/// How many genres a track may be given, and when a second one is named:
/// Picard's "maximum genres" and "minimal weight", beets' `count`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeveralGenres {
    /// The most genres one proposal names (1: one genre, as before).
    pub most: usize,
    /// The least share of the votes cast a further genre needs.
    pub least_share: f32,
}

impl SeveralGenres {
    /// One genre a track.
    pub const ONE: SeveralGenres = SeveralGenres {
        most: 1,
        least_share: 1.0,
    };
}

impl SeveralGenres {
    /// "one genre a track", "up to 2 genres a track, a further one with
    /// ≥ 34% of the votes".
    pub fn in_words(&self) -> String {
        if self.most <= 1 {
            "one genre a track".into()
        } else {
            format!(
                "up to {} genres a track, a further one with ≥ {:.0}% of the votes",
                self.most,
                self.least_share * 100.0
            )
        }
    }
}

impl Default for SeveralGenres {
    /// Chosen by measurement (`sonotag eval --as-classify` scores every
    /// setting of `eval::several_grid`; figures in models/README.md): on
    /// the Debian soundtracks, a second genre under a third of the votes
    /// put more wrong genres first; at a third, the true genre is among
    /// those proposed for 27 of GTZAN's 30 eval clips, the first right in
    /// all 27 (one genre: 22).
    fn default() -> Self {
        Self {
            most: 2,
            least_share: 0.34,
        }
    }
}

/// Why a track is unsure, in words for the user.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Unsure {
    /// The track is shorter than one patch (2.56 s or 2.99 s by backbone).
    NoSlices,
    /// Every slice's confidence was under the slice threshold.
    AllAbstained,
    /// This many genres (two or more) share the most votes.
    Tie(usize),
    /// The winner's share is under the track threshold.
    LowShare,
}

impl Unsure {
    /// A sentence for the user.
    pub fn explain(&self, share: f32, threshold: f32) -> String {
        match self {
            Unsure::NoSlices => {
                "the track is shorter than one patch the model listens to (2.6–3 s)".into()
            }
            Unsure::AllAbstained => "no slice was confident enough to vote".into(),
            Unsure::Tie(2) => "two genres got the same, highest number of votes".into(),
            Unsure::Tie(n) => format!("{n} genres got the same, highest number of votes"),
            Unsure::LowShare => format!(
                "the leading genre has {:.0}% of the votes, under the {:.0}% needed",
                share * 100.0,
                threshold * 100.0
            ),
        }
    }
}

/// The result of voting on one track.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Proposal {
    /// The leading class, even when unsure: most votes, a tie (or slices
    /// that all abstained) broken by summed confidence (`None` only without
    /// slices, or when that too is equal).
    pub winner: Option<usize>,
    /// Winner's votes / votes cast (0 when no vote).
    pub share: f32,
    /// Votes per class.
    pub votes: Vec<usize>,
    /// Slices in the track.
    pub slices: usize,
    /// `None` when proposed; the reason when unsure.
    pub unsure: Option<Unsure>,
    /// Further genres the proposal names beside the winner, by votes: only
    /// where [`SeveralGenres`] allows them and the votes split between
    /// genres (see [`crate::ml::vote::vote_several`]).
    pub also: Vec<usize>,
}

impl Proposal {
    /// Votes cast (slices that did not abstain).
    pub fn cast(&self) -> usize {
        self.votes.iter().sum()
    }

    /// The proposed class, only when not unsure.
    pub fn proposed(&self) -> Option<usize> {
        if self.unsure.is_none() {
            self.winner
        } else {
            None
        }
    }

    /// Every genre proposed, the winner first; empty when unsure.
    pub fn proposed_all(&self) -> Vec<usize> {
        self.proposed()
            .into_iter()
            .chain(self.also.iter().copied())
            .collect()
    }

    /// Whether the track has a proposal or is unsure.
    pub fn state(&self) -> ProposalState {
        if self.unsure.is_none() {
            ProposalState::Proposed
        } else {
            ProposalState::Unsure
        }
    }
}

/// A track's verdict: a proposed genre, or unsure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProposalState {
    Proposed,
    Unsure,
}

impl ProposalState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Unsure => "unsure",
        }
    }
}

impl std::fmt::Display for ProposalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for ProposalState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "proposed" => Ok(Self::Proposed),
            "unsure" => Ok(Self::Unsure),
            other => Err(format!("unknown state {other:?}: proposed or unsure")),
        }
    }
}
