//! A model on disk: `NAME.safetensors` (weights) and `NAME.json` (its card),
//! loaded into a [`Network`] and checked against this build's features.
//!
//! The card names the backbone and its feature pipeline; a model made for
//! other features than this build computes is refused.

use crate::features::FeatureParams;
use crate::ml::backbone::{self, BackboneSpec};
use crate::ml::head::LinearHead;
use crate::ml::network::Network;
use crate::ml::scratch_cnn::{Architecture, GenreNet};
use crate::ml::vote::Score;
use crate::proposal::Thresholds;
use crate::store::ModelRecord;
use candle_core::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Errors loading, saving or running a model; each names the model file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model {}: {source}", path.display())]
    Candle {
        path: PathBuf,
        source: candle_core::Error,
    },
    #[error("model {}: cannot read card: {reason}", path.display())]
    Card { path: PathBuf, reason: String },
    #[error(
        "model {}: made for features version {found}, this Sonotag computes version {expected} for its backbone; retrain it (sonotag train) or use a matching Sonotag",
        path.display()
    )]
    FeaturesVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("model {}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// Tracks and slices per class used in training.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassCount {
    pub tracks: usize,
    pub slices: usize,
}

/// How a model was made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// The exact command line.
    pub command: String,
    pub seed: u64,
    pub epochs: usize,
    pub best_epoch: usize,
    pub seconds: f64,
    /// Label sources (TSV files, or "library").
    pub sources: Vec<String>,
    pub per_class: BTreeMap<String, ClassCount>,
    /// What only the head was retrained on, when this is a head retrain.
    #[serde(default)]
    pub head_only: bool,
    /// Notes on what was tried.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The model card: everything needed to use and judge the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub name: String,
    pub format_version: u32,
    pub created: String,
    pub classes: Vec<String>,
    /// The network under the head (cards without one: the from-scratch CNN).
    #[serde(default)]
    pub backbone: BackboneSpec,
    pub features: FeatureParams,
    /// Layer sizes of the from-scratch CNN (absent for pretrained backbones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    pub parameters: usize,
    /// Per patch (slice), backbone and head together.
    pub mflops_per_slice: f64,
    pub thresholds: Thresholds,
    /// True when the thresholds were chosen on validation (out-of-fold)
    /// tracks; the training notes say whether they reached the precision
    /// target or are the most precise that could be found.
    pub calibrated: bool,
    pub training: TrainingSummary,
    /// Metrics per evaluation set (e.g. "gtzan-mini eval").
    pub metrics: BTreeMap<String, serde_json::Value>,
}

/// The suffix of a card's metrics measured on a source left out whole.
pub const LEFT_OUT: &str = " (left out)";

/// The metric of a retrained model's card measured on the user's decided
/// tracks, each judged by a head trained without it.
pub const ON_DECISIONS: &str = "your decided tracks, with these thresholds";

/// The metric of a retrained model's card that holds each reviewed
/// track's verdict ([`Reviewed`]), judged as [`ON_DECISIONS`] is.
pub const REVIEWED: &str = "your reviewed tracks, one by one";

/// How a head trained without it voted on one of the user's reviewed
/// tracks: what "Accept all with ≥ X % of votes" reports on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reviewed {
    /// The leading genre's share of the votes.
    pub share: f32,
    /// Whether it was a proposal (not unsure).
    pub proposed: bool,
    /// Whether the leading genre was the user's.
    pub right: bool,
}

/// The tracks, proposals and right ones of a card's entry.
pub fn score(entry: &serde_json::Value) -> Option<Score> {
    let n = |k: &str| entry.get(k).and_then(|x| x.as_u64()).map(|x| x as usize);
    Some(Score {
        tracks: n("tracks")?,
        labelled: n("labelled")?,
        right: n("right")?,
        leading_right: n("leading_right"),
    })
}

/// A card's entry for `score`, measured with `thresholds`.
pub fn score_entry(score: &Score, thresholds: Thresholds) -> serde_json::Value {
    let mut entry = serde_json::json!({
        "tracks": score.tracks,
        "labelled": score.labelled,
        "right": score.right,
        "accuracy": score.accuracy(),
        "coverage": score.coverage(),
        "precision": score.precision(),
        "thresholds": thresholds,
    });
    if let Some(n) = score.leading_right {
        entry["leading_right"] = n.into();
    }
    entry
}

impl ModelCard {
    /// Of the user's reviewed tracks that got a proposal with at least
    /// `min_share` of the votes (each judged by a head trained without
    /// it): how many were right, of how many. `None` on a card without
    /// reviews.
    pub fn reviewed_at(&self, min_share: f32) -> Option<(usize, usize)> {
        let all: Vec<Reviewed> =
            serde_json::from_value(self.metrics.get(REVIEWED)?.clone()).ok()?;
        let at: Vec<&Reviewed> = all
            .iter()
            .filter(|r| r.proposed && r.share + 1e-6 >= min_share)
            .collect();
        Some((at.iter().filter(|r| r.right).count(), at.len()))
    }

    /// What the card measured on each source left out of training whole
    /// (music the model had not heard), with its own thresholds.
    pub fn unseen_sources(&self) -> Vec<(String, Score)> {
        self.metrics
            .iter()
            .filter_map(|(key, v)| Some((key.strip_suffix(LEFT_OUT)?.to_string(), score(v)?)))
            .collect()
    }

    /// The figures of every source left out, summed (`None` when the card
    /// has none). The leading genre's count is summed only where every
    /// source measured it.
    pub fn unseen_total(&self) -> Option<Score> {
        let unseen = self.unseen_sources();
        (!unseen.is_empty()).then(|| {
            unseen.iter().fold(
                Score {
                    leading_right: Some(0),
                    ..Score::default()
                },
                |a, (_, s)| Score {
                    tracks: a.tracks + s.tracks,
                    labelled: a.labelled + s.labelled,
                    right: a.right + s.right,
                    leading_right: a.leading_right.zip(s.leading_right).map(|(x, y)| x + y),
                },
            )
        })
    }

    /// What a proposal without "?" is worth, in words: how often it was
    /// right on sources the model had not heard, and on each eval set.
    pub fn worth(&self) -> Option<String> {
        let unseen = self.unseen_sources();
        let mut parts = Vec::new();
        if let Some(yours) = self.metrics.get(ON_DECISIONS).and_then(score)
            && yours.labelled > 0
        {
            parts.push(format!(
                "right {} times in {} ({:.0}%) on your own decided tracks, each judged by a model \
                 trained without it, where {:.0}% of them got one",
                yours.right,
                yours.labelled,
                yours.precision() * 100.0,
                yours.coverage() * 100.0
            ));
        }
        if let Some(total) = self.unseen_total() {
            let mut sentence = format!(
                "right {} times in {} ({:.0}%) on music from {} sources it never heard in training, \
                 where {:.0}% of the tracks got one",
                total.right,
                total.labelled,
                total.precision() * 100.0,
                unseen.len(),
                total.coverage() * 100.0
            );
            if let Some((name, worst)) = worst_source(&unseen, &total) {
                sentence.push_str(&format!(
                    ", but only {} times in {} ({:.0}%) on the one it did worst on ({name})",
                    worst.right,
                    worst.labelled,
                    worst.precision() * 100.0
                ));
            }
            parts.push(sentence);
        }
        for (set, v) in self.metrics.iter().filter(|(k, _)| k.ends_with(" eval")) {
            let (Some(p), Some(c)) = (
                v.get("precision").and_then(|x| x.as_f64()),
                v.get("coverage").and_then(|x| x.as_f64()),
            ) else {
                continue;
            };
            parts.push(format!(
                "{:.0}% on {set} ({:.0}% got one)",
                p * 100.0,
                c * 100.0
            ));
        }
        (!parts.is_empty()).then(|| format!("A proposal without “?” was {}.", parts.join("; ")))
    }
}

/// Proposals a source left out must have had for its precision to be worth
/// naming as the worst (one wrong proposal of one says little).
const WORST_SOURCE_PROPOSALS: usize = 5;

/// The source left out whose proposals were right least often, where that
/// is less often than over all of them (`total`): an average over sources
/// can hide one on which the model was mostly wrong, and a user's library
/// may be like that one.
fn worst_source<'a>(unseen: &'a [(String, Score)], total: &Score) -> Option<(&'a str, Score)> {
    // Precisions compared exactly, as fractions: right/labelled.
    let by_precision = |a: &Score, b: &Score| (a.right * b.labelled).cmp(&(b.right * a.labelled));
    unseen
        .iter()
        .filter(|(_, s)| s.labelled >= WORST_SOURCE_PROPOSALS && by_precision(s, total).is_lt())
        .min_by(|(_, a), (_, b)| by_precision(a, b))
        .map(|(name, s)| (name.as_str(), *s))
}

/// A model registered in a library, with its card.
pub type ModelRow = ModelRecord<ModelCard>;

/// A model on disk: `NAME.safetensors` + `NAME.json`.
pub struct Model {
    pub card: ModelCard,
    pub net: Network,
    /// Path without extension.
    pub base: PathBuf,
}

/// `base` + extension (`models/default` → `models/default.json`).
pub fn with_ext(base: &Path, ext: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

impl Model {
    /// Loads `base.json` and `base.safetensors`, checking the feature version.
    pub fn load(base: &Path) -> Result<Self, ModelError> {
        let base = base
            .to_str()
            .and_then(|s| {
                s.strip_suffix(".json")
                    .or_else(|| s.strip_suffix(".safetensors"))
            })
            .map(PathBuf::from)
            .unwrap_or_else(|| base.to_path_buf());
        let card_path = with_ext(&base, "json");
        let text = std::fs::read_to_string(&card_path).map_err(|e| ModelError::Card {
            path: card_path.clone(),
            reason: e.to_string(),
        })?;
        let card: ModelCard = serde_json::from_str(&text).map_err(|e| ModelError::Card {
            path: card_path.clone(),
            reason: e.to_string(),
        })?;
        let kind = card
            .backbone
            .features()
            .ok_or_else(|| ModelError::Invalid {
                path: card_path.clone(),
                reason: format!(
                    "made for the backbone {:?}, which this Sonotag lacks (it has {})",
                    card.backbone.name,
                    BackboneSpec::names().join(", ")
                ),
            })?;
        if card.features.version != kind.version() || card.features.kind != kind {
            return Err(ModelError::FeaturesVersion {
                path: card_path,
                found: card.features.version,
                expected: kind.version(),
            });
        }
        let weights = with_ext(&base, "safetensors");
        let candle = |source| ModelError::Candle {
            path: weights.clone(),
            source,
        };
        let net = if card.backbone.is_scratch() {
            let arch = card.architecture.clone().unwrap_or_default();
            let mut net = GenreNet::new(&arch, card.classes.len(), 0).map_err(candle)?;
            net.load_weights(&weights).map_err(candle)?;
            Network::Scratch(net)
        } else {
            let backbone =
                backbone::open(&card.backbone, &base).map_err(|reason| ModelError::Invalid {
                    path: card_path.clone(),
                    reason,
                })?;
            let map = candle_core::safetensors::load(&weights, &Device::Cpu).map_err(candle)?;
            let head = LinearHead::from_tensors(&map).map_err(candle)?;
            if head.classes != card.classes.len() || head.dim != backbone.embedding_width() {
                return Err(ModelError::Invalid {
                    path: weights,
                    reason: format!(
                        "head has {} classes on {} inputs, the card lists {} classes on {}'s {} values",
                        head.classes,
                        head.dim,
                        card.classes.len(),
                        backbone.name(),
                        backbone.embedding_width()
                    ),
                });
            }
            Network::Pretrained { backbone, head }
        };
        Ok(Self { card, net, base })
    }

    /// Writes both files (creating the folder).
    pub fn save(&self, base: &Path) -> Result<(), ModelError> {
        if let Some(dir) = base.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| ModelError::Invalid {
                path: base.to_path_buf(),
                reason: format!("cannot create folder: {e}"),
            })?;
        }
        let weights = with_ext(base, "safetensors");
        let saved = match &self.net {
            Network::Scratch(net) => net.save_weights(&weights),
            Network::Pretrained { head, .. } => head
                .tensors()
                .and_then(|t| candle_core::safetensors::save(&t, &weights)),
        };
        saved.map_err(|source| ModelError::Candle {
            path: weights.clone(),
            source,
        })?;
        let card_path = with_ext(base, "json");
        let json = serde_json::to_string_pretty(&self.card).expect("card serialises");
        std::fs::write(&card_path, json + "\n").map_err(|e| ModelError::Card {
            path: card_path,
            reason: e.to_string(),
        })
    }

    /// Makes every class not in `genres` impossible (a forced choice among
    /// those, e.g. classical vs electronic). Unknown names are an error.
    pub fn restrict_to(&mut self, genres: &[String]) -> Result<(), ModelError> {
        for g in genres {
            if !self.card.classes.contains(g) {
                return Err(ModelError::Invalid {
                    path: self.base.clone(),
                    reason: format!("no genre {g} among {:?}", self.card.classes),
                });
            }
        }
        let keep: Vec<bool> = self
            .card
            .classes
            .iter()
            .map(|c| genres.contains(c))
            .collect();
        let result = match &mut self.net {
            Network::Scratch(net) => net.mask_classes(&keep),
            Network::Pretrained { head, .. } => {
                head.mask_classes(&keep);
                Ok(())
            }
        };
        result.map_err(|source| ModelError::Candle {
            path: self.base.clone(),
            source,
        })
    }

    /// Display name of class `i`.
    pub fn class(&self, i: usize) -> &str {
        &self.card.classes[i]
    }
}

/// `file` beside the shipped default model, when it exists.
pub(crate) fn shipped_file(file: &str) -> Option<PathBuf> {
    default_model_path()
        .parent()
        .map(|d| d.join(file))
        .filter(|p| p.is_file())
}

/// The shipped musicnn weights (`models/musicnn-msd.safetensors`), when present.
pub fn shipped_musicnn_weights() -> Option<PathBuf> {
    shipped_file(backbone::musicnn::REGISTRATION.weights)
}

/// Today's date as YYYY-MM-DD (UTC), for cards.
pub fn today() -> String {
    let (y, m, d) = crate::store::civil_date(crate::store::now() / 86_400);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The default model shipped in `models/`, looked up next to the executable,
/// in the system share folder and in the source tree.
pub fn default_model_path() -> PathBuf {
    let candidates = [
        std::env::current_exe()
            .ok()
            // target/release/sonotag → the tree's models/ (said without
            // "..", since the About box shows the path).
            .and_then(|e| Some(e.parent()?.parent()?.parent()?.join("models/default"))),
        Some(PathBuf::from("/usr/share/sonotag/models/default")),
        Some(crate::source_tree().join("models/default")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| with_ext(p, "json").exists())
        .unwrap_or_else(|| PathBuf::from("models/default"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_format() {
        assert_eq!(today().len(), 10);
    }

    /// A card keeps each source's leading-genre count, sums it over the
    /// sources, and reads cards written before it was measured without it.
    #[test]
    fn the_leading_genre_count_survives_the_card_and_older_cards_lack_it() {
        let mut card = Model::load(&default_model_path())
            .expect("shipped model")
            .card;
        card.metrics.clear();
        for (name, leading_right) in [("a", Some(15)), ("b", Some(4))] {
            let s = Score {
                tracks: 20,
                labelled: 10,
                right: 9,
                leading_right,
            };
            card.metrics.insert(
                format!("{name}{LEFT_OUT}"),
                score_entry(&s, card.thresholds),
            );
        }
        let total = card.unseen_total().unwrap();
        assert_eq!(
            (total.tracks, total.right, total.leading_right),
            (40, 18, Some(19))
        );
        let old = Score {
            leading_right: None,
            ..total
        };
        card.metrics
            .insert(format!("old{LEFT_OUT}"), score_entry(&old, card.thresholds));
        let unseen = card.unseen_sources();
        assert_eq!(
            unseen
                .iter()
                .find(|(n, _)| n == "old")
                .unwrap()
                .1
                .leading_right,
            None
        );
        assert_eq!(card.unseen_total().unwrap().leading_right, None);
        assert!(!old.to_string().contains("leading"));
    }

    /// "Accept all with ≥ X %" reads how often such proposals were right on
    /// the user's reviewed tracks; a card without reviews has no figure.
    #[test]
    fn reviewed_tracks_answer_for_the_batch_accept() {
        let mut card = Model::load(&default_model_path())
            .expect("shipped model")
            .card;
        card.metrics.remove(REVIEWED);
        assert_eq!(card.reviewed_at(0.9), None);
        let reviewed = [
            (1.0, true, true),
            (0.95, true, false),
            (0.8, true, true),
            (0.9, false, true),
        ]
        .map(|(share, proposed, right)| Reviewed {
            share,
            proposed,
            right,
        });
        card.metrics
            .insert(REVIEWED.into(), serde_json::to_value(reviewed).unwrap());
        // Unsure tracks are never accepted in a batch, whatever their share.
        assert_eq!(card.reviewed_at(0.9), Some((1, 2)));
        assert_eq!(card.reviewed_at(0.5), Some((2, 3)));
        assert_eq!(card.reviewed_at(1.0), Some((1, 1)));
    }

    /// The worst source is named only where it did worse than the whole and
    /// proposed enough for its precision to mean something.
    #[test]
    fn worth_names_the_worst_source_only_where_it_says_something() {
        let mut card = Model::load(&default_model_path())
            .expect("shipped model")
            .card;
        let set = |card: &mut ModelCard, figures: &[(&str, usize, usize)]| {
            card.metrics.clear();
            for (name, labelled, right) in figures {
                let s = Score {
                    tracks: 20,
                    labelled: *labelled,
                    right: *right,
                    leading_right: None,
                };
                card.metrics.insert(
                    format!("{name}{LEFT_OUT}"),
                    score_entry(&s, card.thresholds),
                );
            }
            card.worth().unwrap()
        };
        let even = set(&mut card, &[("a", 10, 9), ("b", 10, 9)]);
        assert!(!even.contains("worst"), "{even}");
        let few = set(&mut card, &[("a", 10, 10), ("b", 4, 0)]);
        assert!(!few.contains("worst"), "{few}");
        let one_bad = set(&mut card, &[("a", 10, 10), ("b", 5, 2), ("c", 6, 3)]);
        assert!(
            one_bad.contains("right 15 times in 21 (71%)")
                && one_bad.ends_with("but only 2 times in 5 (40%) on the one it did worst on (b)."),
            "{one_bad}"
        );
    }

    /// The sentence of what a proposal is worth gives the sources left out
    /// (the shipped card's eleven since Widelands joined) and, on a
    /// retrained card, the user's own decided tracks first.
    #[test]
    fn worth_tells_unseen_sources_and_your_own_decisions() {
        let mut card = Model::load(&default_model_path())
            .expect("shipped model")
            .card;
        let unseen = card.unseen_sources();
        let names: Vec<&str> = unseen.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            unseen.len() >= 10 && names.contains(&"ufoai") && names.contains(&"widelands"),
            "{unseen:?}"
        );
        let total: usize = unseen.iter().map(|(_, s)| s.labelled).sum();
        let worth = card.worth().expect("the shipped card has figures");
        assert!(
            worth.contains(&format!("in {total} "))
                && worth.contains(&format!("{} sources it never heard", unseen.len())),
            "{worth}"
        );
        // UFO:AI's orchestral pieces, heard as electronic, are its worst.
        let ufoai = unseen.iter().find(|(n, _)| n == "ufoai").unwrap().1;
        assert!(
            worth.contains(&format!(
                "but only {} times in {} ({:.0}%) on the one it did worst on (ufoai)",
                ufoai.right,
                ufoai.labelled,
                ufoai.precision() * 100.0
            )),
            "{worth}"
        );
        assert!(!worth.contains("your own"), "{worth}");
        let yours = Score {
            tracks: 10,
            labelled: 8,
            right: 7,
            leading_right: None,
        };
        card.metrics
            .insert(ON_DECISIONS.into(), score_entry(&yours, card.thresholds));
        let worth = card.worth().unwrap();
        assert!(
            worth.contains("on the one it did worst on (ufoai)"),
            "{worth}"
        );
        assert!(
            worth.starts_with(
                "A proposal without “?” was right 7 times in 8 (88%) on your own decided tracks"
            ) && worth.contains("where 80% of them got one"),
            "{worth}"
        );
    }
}
