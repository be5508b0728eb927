//! Personal retraining: a new classifier head from what the model learnt
//! plus what the user taught, as pure computation on embeddings (the
//! workflow that reads the library and registers the model is
//! [`crate::workflow::retrain::retrain_head`]).
//!
//! A person corrects a few tracks at a time, and each correction must make
//! the proposals better, never worse. So a retrain never learns from the
//! user's labels alone (a head trained on six corrections knows two
//! genres): it trains on the model's own training set, shipped as
//! embeddings ([`crate::ml::base_set`]), plus the user's trusted labels from
//! the library's stored embeddings (no decoding, seconds):
//!
//! - every genre the model knew stays a class; a genre of the user's own
//!   joins once it has [`RetrainOptions::min_tracks`] labels, and the report
//!   says how far each smaller one has come ("2 of 3 labels for Soundtrack");
//! - a decided track weighs [`USER_WEIGHT`] base tracks, so where the user
//!   disagrees with the training set the user wins nearby; existing genre
//!   tags count only when asked for, and weigh less than decisions;
//! - the voting thresholds are judged on the user's own library
//!   ([`crate::ml::on_library`]): the pair in force stays unless the user's
//!   reviewed tracks, each judged by a head trained without it, show that
//!   another pair keeps the precision target while proposing for more of
//!   the library, or that the pair in force misses it;
//! - a guard compares the new head with the model the library was first
//!   classified with, on the user's decided tracks, cross-validated (a head
//!   never judges tracks it was trained on), by leading genre and by right
//!   proposals (so that a head growing timid counts as worse). A new head
//!   that does worse on either is kept but not made active, and the report
//!   says so.

mod samples;

pub(crate) use samples::{
    Sample, choose_for_library, cv_options, fit, guard, out_of_fold_scores, out_of_fold_votes,
    voting_probabilities,
};

use crate::config::genres::Vocabulary;
use crate::ml::on_library::{self, LibraryChoice};
use crate::proposal::Thresholds;
use crate::store::{DecisionSource, Library};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many base-set tracks one decided track weighs. Chosen by simulated
/// corrections (docs/retraining.md): 1 lets a handful of corrections
/// drown in the base set, much more lets one odd track pull a genre away.
pub const USER_WEIGHT: f32 = 10.0;

/// How many base-set tracks a genre tag weighs (tags are noisier than
/// decisions).
pub const TAG_WEIGHT: f32 = 1.0;

/// Settings for a head retrain.
#[derive(Clone, Debug)]
pub struct RetrainOptions {
    pub seed: u64,
    /// A genre the model does not know needs this many labelled tracks to
    /// become a class.
    pub min_tracks: usize,
    /// Patches per library track used for training (evenly spaced).
    pub max_slices_per_track: usize,
    /// Optimiser steps of each head.
    pub epochs: usize,
    /// Weight of a decided track, in base-set tracks.
    pub user_weight: f32,
    /// Also learn from genre tags of undecided tracks (mapped through the
    /// vocabulary).
    pub use_tags: bool,
    /// Cross-validation folds for the thresholds.
    pub folds: usize,
    /// Precision the thresholds must reach on the library.
    pub target_precision: f32,
    /// What the training sources left out weigh against the user's
    /// reviews, in tracks ([`on_library::PRIOR_TRACKS`]).
    pub prior_tracks: f32,
}

impl RetrainOptions {
    /// [`RetrainOptions::min_tracks`] by default.
    pub const DEFAULT_MIN_TRACKS: usize = 3;
}

impl Default for RetrainOptions {
    fn default() -> Self {
        Self {
            seed: 7,
            min_tracks: Self::DEFAULT_MIN_TRACKS,
            max_slices_per_track: 30,
            epochs: 300,
            user_weight: USER_WEIGHT,
            use_tags: false,
            folds: 6,
            target_precision: 0.95,
            prior_tracks: on_library::PRIOR_TRACKS,
        }
    }
}

/// How the new head fared on the user's decided tracks.
#[derive(Clone, Debug, Serialize)]
pub enum Check {
    /// Fewer decided tracks than a check needs.
    TooFew { decided: usize, needed: usize },
    /// Cross-validated: right leading genres of the new head and of the
    /// reference model (the library's first) on the same decided tracks,
    /// and right proposals (not unsure) of each with its own thresholds.
    Compared {
        tracks: usize,
        new_right: usize,
        reference: String,
        reference_right: usize,
        new_proposed_right: usize,
        reference_proposed_right: usize,
    },
}

/// Decided tracks a check needs.
pub const CHECK_MIN: usize = 3;

impl Check {
    /// Whether the new head may become active: it names the right genre
    /// first as often as the reference, and gets as many right proposals
    /// (a head as right but more timid leaves the user more to do).
    pub fn activates(&self) -> bool {
        match self {
            Check::TooFew { .. } => true,
            Check::Compared {
                new_right,
                reference_right,
                new_proposed_right,
                reference_proposed_right,
                ..
            } => new_right >= reference_right && new_proposed_right >= reference_proposed_right,
        }
    }
}

/// What a retrain did.
#[derive(Clone, Debug, Serialize)]
pub struct RetrainReport {
    pub model_id: i64,
    pub model_name: String,
    pub classes: Vec<String>,
    /// Tracks of the shipped training set the head started from.
    pub base_tracks: usize,
    /// The user's decided tracks and genre tags learnt from.
    pub decided_tracks: usize,
    pub tag_tracks: usize,
    pub check: Check,
    /// Whether the new model became the active one.
    pub activated: bool,
    /// The model that stays active when the new one does not.
    pub kept_active: Option<String>,
    pub thresholds: Thresholds,
    /// How the thresholds were judged on this library, and what the user's
    /// reviewed tracks say of them.
    pub library: LibraryChoice,
    pub revoted: usize,
    pub seconds: f64,
    /// Labels per genre (those learnt from), including genres too small to
    /// become a class yet.
    pub labels_per_genre: BTreeMap<String, usize>,
    /// Labelled tracks a genre the model does not know needs to join.
    pub min_tracks: usize,
}

impl RetrainReport {
    /// The outcome in one line, for the window's status band (the whole
    /// report is in the Retrain panel).
    pub fn headline(&self) -> String {
        let chosen = &self.library.chosen;
        let outcome = if self.activated {
            "now active".to_string()
        } else {
            format!(
                "kept but not made active: it did worse on your decided tracks ({} stays active)",
                self.kept_active.as_deref().unwrap_or("the current model")
            )
        };
        format!(
            "Retrained in {:.0} s: {} is {outcome}; {} of {} undecided tracks get a proposal. \
             Everything it measured: the Retrain panel.",
            self.seconds, self.model_name, chosen.library_proposed, chosen.library_tracks
        )
    }
}

impl std::fmt::Display for RetrainReport {
    /// What the command line and the Retrain panel say.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "new model {} with {} genres ({}), from {} tracks it knew and {} of your decisions{} \
             in {:.1} s",
            self.model_name,
            self.classes.len(),
            self.classes.join(", "),
            self.base_tracks,
            self.decided_tracks,
            if self.tag_tracks > 0 {
                format!(" and {} genre tags", self.tag_tracks)
            } else {
                String::new()
            },
            self.seconds
        )?;
        match &self.check {
            Check::TooFew { decided, needed } => write!(
                f,
                ". Too few of your decisions to check it yet ({decided}; {needed} needed)"
            )?,
            Check::Compared {
                tracks,
                new_right,
                reference,
                reference_right,
                new_proposed_right,
                reference_proposed_right,
            } => write!(
                f,
                ". Checked on your {tracks} decided tracks (each judged by a model trained \
                 without it): the new model names the right genre first for {new_right}, \
                 {reference} for {reference_right}; right proposals {new_proposed_right} against \
                 {reference_proposed_right}"
            )?,
        }
        if self.activated {
            write!(f, "; it is now active")?;
        } else {
            write!(
                f,
                "; that is worse, so it was kept but not made active ({} stays active; \
                 `sonotag models --use {}` switches to it)",
                self.kept_active.as_deref().unwrap_or("the current model"),
                self.model_name
            )?;
        }
        let chosen = &self.library.chosen;
        write!(
            f,
            "; thresholds {} (slice {:.2}, track {:.2}): on your library {}, {} of {} undecided \
             tracks get a proposal; {} tracks re-voted",
            match self.library.movement {
                on_library::Movement::Kept => "kept",
                on_library::Movement::Loosened => "loosened, as your reviews allow",
                on_library::Movement::Tightened => "tightened, as your reviews ask",
            },
            self.thresholds.slice,
            self.thresholds.track,
            on_library::in_words(&chosen.reviewed),
            chosen.library_proposed,
            chosen.library_tracks,
            self.revoted
        )?;
        let growing: Vec<String> = self
            .labels_per_genre
            .iter()
            .filter(|(g, _)| !self.classes.contains(g))
            .map(|(g, n)| format!("{n} of {} labels for {g}", self.min_tracks))
            .collect();
        if !growing.is_empty() {
            write!(f, "; not a genre yet: {}", growing.join(", "))?;
        }
        Ok(())
    }
}

/// A trusted label with its source.
#[derive(Clone, Debug, Serialize)]
pub struct TrustedLabel {
    pub track_id: i64,
    pub genre: String,
    pub source: DecisionSource,
}

/// Trusted labels of present tracks: the user's decisions first, then tags
/// that the vocabulary knows.
pub fn trusted_labels(lib: &Library, vocab: &Vocabulary) -> anyhow::Result<Vec<TrustedLabel>> {
    Ok(lib
        .track_labels()?
        .into_iter()
        .filter_map(|t| match t.decision {
            Some((genre, source)) => Some(TrustedLabel {
                track_id: t.track_id,
                genre,
                source,
            }),
            None => t
                .file_genres
                .iter()
                .find_map(|g| vocab.canonical(g))
                .map(|genre| TrustedLabel {
                    track_id: t.track_id,
                    genre,
                    source: DecisionSource::Tag,
                }),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(check: Check, activated: bool) -> RetrainReport {
        RetrainReport {
            model_id: 3,
            model_name: "personal-3".into(),
            classes: vec!["Jazz".into(), "Rock".into()],
            base_tracks: 146,
            decided_tracks: 2,
            tag_tracks: 0,
            check,
            activated,
            kept_active: (!activated).then(|| "default".into()),
            thresholds: Thresholds::default(),
            library: LibraryChoice {
                chosen: on_library::Judged {
                    thresholds: Thresholds::default(),
                    reviewed: crate::ml::vote::Score {
                        tracks: 2,
                        labelled: 0,
                        right: 0,
                        leading_right: None,
                    },
                    left_out: Default::default(),
                    library_proposed: 9,
                    library_tracks: 11,
                    estimate: 0.9,
                },
                movement: on_library::Movement::Kept,
            },
            revoted: 11,
            seconds: 0.4,
            labels_per_genre: [("Jazz", 1), ("Soundtrack", 2)]
                .into_iter()
                .map(|(g, n)| (g.to_string(), n))
                .collect(),
            min_tracks: 3,
        }
    }

    #[test]
    fn the_report_never_shows_a_figure_it_does_not_have() {
        let said = report(
            Check::TooFew {
                decided: 2,
                needed: 3,
            },
            true,
        )
        .to_string();
        assert!(
            said.contains("Too few of your decisions to check it yet (2; 3 needed)"),
            "{said}"
        );
        assert!(!said.contains('%'), "{said}");
        assert!(said.contains("it is now active"), "{said}");
        assert!(
            said.ends_with("not a genre yet: 2 of 3 labels for Soundtrack"),
            "{said}"
        );
        let worse = Check::Compared {
            tracks: 6,
            new_right: 5,
            reference: "default".into(),
            reference_right: 5,
            new_proposed_right: 2,
            reference_proposed_right: 4,
        };
        assert!(!worse.activates(), "as right but more timid is worse");
        let said = report(worse, false).to_string();
        assert!(
            said.contains(
                "names the right genre first for 5, default for 5; right proposals 2 against 4"
            ),
            "{said}"
        );
        assert!(
            said.contains(
                "thresholds kept (slice 0.50, track 0.70): on your library none of the 2 \
                 tracks you reviewed got a proposal, 9 of 11 undecided tracks get a proposal"
            ),
            "{said}"
        );
        assert!(
            said.contains("kept but not made active (default stays active"),
            "{said}"
        );
        assert!(said.contains("sonotag models --use personal-3"), "{said}");
    }
}
