//! Classifying the library: analyses, proposals and model versions in SQLite.
//!
//! Every scanned track not yet analysed with the active model (and this
//! feature version) is decoded, turned into slices, run through the network
//! in batches, and stored: per-slice probabilities (u8, p×255) and
//! embeddings (f16) — compact blobs, not JSON — plus the proposal. Each
//! track's rows are written in one transaction with the others of its batch,
//! keyed by (track, model), so a killed run loses at most one batch and a
//! rerun neither repeats nor duplicates work. Decoding and inference run on
//! a dedicated thread pool, one track per worker, feeding a bounded channel
//! to the database, so memory stays bounded whatever the library size.

use crate::cancel::Cancel;
use crate::features::Patches;
use crate::features::{spectrogram, whole_track};
use crate::ml::look::{self, Voting};
use crate::ml::model::Model;
use crate::ml::model::ModelCard;
use crate::ml::vote;
use crate::proposal::Proposal;
use crate::proposal::{SeveralGenres, Thresholds};
use crate::store::{Analysis, Library, Outcome};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Loads the model to use: `explicit` if given, else the library's active
/// model, else the shipped default; registers it and makes it active.
pub fn resolve_model(lib: &mut Library, explicit: Option<&Path>) -> anyhow::Result<(i64, Model)> {
    let base = match explicit {
        Some(p) => p.to_path_buf(),
        None => match lib.active_model::<ModelCard>()? {
            Some(row) => row.path,
            None => crate::ml::model::default_model_path(),
        },
    };
    let model = Model::load(&base)?;
    let parent = lib.active_model::<ModelCard>()?.and_then(|m| m.parent);
    let id = lib.register_model(&model.card.name, &model.base, &model.card, parent)?;
    lib.set_active_model(id)?;
    Ok((id, model))
}

/// What a classification run did.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ClassifySummary {
    pub classified: usize,
    pub unsure: usize,
    pub errors: usize,
    pub already_done: usize,
    pub cancelled: bool,
}

/// Progress of a classification run.
#[derive(Clone, Debug)]
pub struct ClassifyProgress {
    pub done: usize,
    pub total: usize,
    pub current: PathBuf,
}

/// Classifies every pending track with the model. `force` redoes tracks
/// already analysed with it; `voting` says which patches are analysed and
/// vote ([`Voting::SecondLook`] by default: opening a track in the window
/// analyses it fully).
#[allow(clippy::too_many_arguments)]
pub fn classify(
    lib: &mut Library,
    model_id: i64,
    model: &Model,
    thresholds: Thresholds,
    force: bool,
    voting: Voting,
    cancel: &Cancel,
    progress: &mut dyn FnMut(&ClassifyProgress),
) -> anyhow::Result<ClassifySummary> {
    if force {
        lib.clear_analyses(model_id)?;
    }
    let several = lib.several_genres()?;
    let pending: Vec<(i64, PathBuf, Option<f64>)> = lib
        .tracks_to_analyse(model_id, model.card.features.version)?
        .into_iter()
        .map(|t| (t.track_id, t.path, t.duration_s))
        .collect();
    let total_ok = lib.count_present_tracks()?;
    let mut summary = ClassifySummary {
        already_done: total_ok - pending.len(),
        ..Default::default()
    };
    let total = pending.len();
    let classes = model.card.classes.clone();
    let kind = model.card.features.kind;
    let version = model.card.features.version;
    let sample = match voting {
        Voting::All => None,
        Voting::Evenly(n) => Some(n),
        Voting::SecondLook => Some(look::FIRST_LOOK),
    };

    // Decoding and inference on a pool → bounded channel → database on this
    // thread. Each worker runs the model on the track it decoded, so that a
    // second look decodes there too instead of holding up the others.
    let (tx_outcome, rx_outcome) = crossbeam_channel::bounded(8);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("sonotag-decode-{i}"))
        .build()?;
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let stop = &stop;
        let pending = &pending;
        scope.spawn(move || {
            use rayon::prelude::*;
            pool.install(|| {
                pending
                    .par_iter()
                    .for_each_with(tx_outcome, |tx, (id, path, duration)| {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let outcome = match kind.analyse_for_classification(path, *duration, sample)
                        {
                            Ok(patches) => {
                                let second_look = (voting == Voting::SecondLook)
                                    .then(|| duration.map(|d| kind.patches_in(d)))
                                    .flatten();
                                analysed(
                                    *id,
                                    patches,
                                    model,
                                    (thresholds, several),
                                    second_look,
                                    path,
                                )
                            }
                            Err(e) => Ok(Outcome::Failed {
                                track_id: *id,
                                message: e.to_string(),
                            }),
                        };
                        let _ = tx.send((path.clone(), outcome));
                    });
            });
        });
        let mut batch: Vec<Outcome> = Vec::new();
        let mut last_commit = std::time::Instant::now();
        for (done, (path, outcome)) in (1..).zip(rx_outcome.iter()) {
            if cancel.is_cancelled() {
                stop.store(true, Ordering::Relaxed);
                summary.cancelled = true;
                break;
            }
            let stored = match outcome {
                Ok(stored) => stored,
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    for _ in rx_outcome.iter() {}
                    return Err(e.into());
                }
            };
            match &stored {
                Outcome::Analysed { proposal, .. } => {
                    summary.classified += 1;
                    summary.unsure += usize::from(proposal.unsure.is_some());
                }
                Outcome::Failed { .. } => summary.errors += 1,
            }
            batch.push(stored);
            progress(&ClassifyProgress {
                done,
                total,
                current: path,
            });
            if batch.len() >= 32 || last_commit.elapsed().as_secs() >= 2 {
                lib.store_outcomes(model_id, version, &classes, &batch)?;
                batch.clear();
                last_commit = std::time::Instant::now();
            }
        }
        stop.store(true, Ordering::Relaxed);
        // Drain so the workers can finish.
        for _ in rx_outcome.iter() {}
        lib.store_outcomes(model_id, version, &classes, &batch)?;
        Ok(())
    })?;
    Ok(summary)
}

/// What the window hears while it opens a track, and where it looks.
pub struct Watch<'a> {
    /// Votes come first from the patches nearest this column.
    pub focus_column: u32,
    /// The spectrogram, as soon as it is drawn.
    pub on_picture: &'a (dyn Fn(&spectrogram::Spectrogram) + Sync),
    /// The patches analysed so far, after each round.
    pub on_votes: &'a (dyn Fn(&Analysis) + Sync),
    /// Stops between rounds when the user has moved on.
    pub cancel: &'a Cancel,
}

/// Analyses every patch of one track (decoding it whole) and stores the
/// result for the model, replacing a sampled analysis: what the track view
/// shows once the user opens a track. Returns the spectrogram it computed.
/// The window sees the picture as soon as it is there and the votes as they
/// are computed, nearest its focus first; a cancelled analysis stores
/// nothing and says so.
pub fn analyse_track_fully(
    lib: &mut Library,
    track_id: i64,
    model_id: i64,
    model: &Model,
    thresholds: Thresholds,
    watch: &Watch,
) -> anyhow::Result<spectrogram::Spectrogram> {
    let rule = (thresholds, lib.several_genres()?);
    let track = lib
        .track(track_id)?
        .ok_or_else(|| anyhow::anyhow!("no track with id {track_id}"))?;
    let kind = model.card.features.kind;
    // One decode, split across the cores, gives both the picture and the
    // patches.
    let track_view = whole_track::analyse(&track.path, Some(kind), watch.on_picture)?;
    let patches = track_view
        .patches
        .expect("the analysis of a pipeline yields its patches");
    let outcome = analysed_nearest_first(track_id, &patches, model, rule, watch)?;
    lib.store_outcomes(
        model_id,
        model.card.features.version,
        &model.card.classes,
        &[outcome],
    )?;
    Ok(track_view.picture)
}

/// Patches per round when votes are shown as they come: about 20 ms of
/// both cores' work, so the strip fills in a few steps.
const PATCHES_PER_ROUND: usize = 16;

/// [`analysed`] in rounds, the patches nearest the focus first, handing
/// each round's partial analysis to the watcher. The patches' results do
/// not depend on the rounds: each is computed on its own.
fn analysed_nearest_first(
    track_id: i64,
    patches: &Patches,
    model: &Model,
    rule: (Thresholds, SeveralGenres),
    watch: &Watch,
) -> anyhow::Result<Outcome> {
    let count = patches.starts.len();
    let classes = model.card.classes.len();
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&k| patches.starts[k].abs_diff(watch.focus_column));
    let mut probabilities = vec![0f32; count * classes];
    let mut embeddings = Vec::new();
    let mut done = vec![false; count];
    for (round, indices) in order.chunks(PATCHES_PER_ROUND).enumerate() {
        if watch.cancel.is_cancelled() {
            anyhow::bail!("not analysed: another track was selected");
        }
        let (p, e) = model.net.infer(&patches.data.subset(indices))?;
        let dim = e.len() / indices.len();
        embeddings.resize(count * dim, 0.0);
        for (j, &k) in indices.iter().enumerate() {
            probabilities[k * classes..(k + 1) * classes]
                .copy_from_slice(&p[j * classes..(j + 1) * classes]);
            embeddings[k * dim..(k + 1) * dim].copy_from_slice(&e[j * dim..(j + 1) * dim]);
            done[k] = true;
        }
        if (round + 1) * PATCHES_PER_ROUND < count {
            let so_far: Vec<usize> = (0..count).filter(|&k| done[k]).collect();
            (watch.on_votes)(&Analysis {
                track_id,
                slices: so_far.len(),
                slice_starts: so_far.iter().map(|&k| patches.starts[k]).collect(),
                probabilities: so_far
                    .iter()
                    .flat_map(|&k| &probabilities[k * classes..(k + 1) * classes])
                    .copied()
                    .collect(),
                embeddings: Vec::new(),
                decode_errors: patches.corrupt_packets,
            });
        }
    }
    Ok(voted(
        track_id,
        patches,
        probabilities,
        embeddings,
        classes,
        rule,
    ))
}

/// Runs the model on a track's patches and votes. With `second_look` (the
/// track's patch count, when classifying with [`Voting::SecondLook`]), a
/// sampled first look whose patches disagree is joined by the patches
/// between them, decoded from `path` here, and all of them vote; where
/// they leave the track unsure, every patch of it votes (the third look,
/// [`look::escalates`]). A look that cannot be decoded leaves the vote
/// before it.
fn analysed(
    track_id: i64,
    patches: Patches,
    model: &Model,
    rule: (Thresholds, SeveralGenres),
    second_look: Option<usize>,
    path: &Path,
) -> candle_core::Result<Outcome> {
    let thresholds = rule.0;
    let (probabilities, embeddings) = model.net.infer(&patches.data)?;
    let classes = model.card.classes.len();
    let mut heard = Heard {
        patches,
        probabilities,
        embeddings,
    };
    // A sampled first look has at most six patches (fewer where the last
    // ends past what the file holds); a track of more patches than six
    // was analysed whole.
    if let Some(total) = second_look {
        if heard.patches.starts.len() <= look::FIRST_LOOK
            && total > look::FIRST_LOOK
            && look::disagree(&heard.probabilities, classes)
        {
            heard = heard.with(&look::second_look_extra(total), model, path)?;
        }
        let unsure = vote::vote(&heard.probabilities, classes, thresholds)
            .unsure
            .is_some();
        // As `eval` and the track view analyse it (issue 35: the sampled
        // path was right less often than every patch on music from
        // elsewhere).
        if unsure && look::escalates(heard.patches.starts.len(), total) {
            let kind = model.card.features.kind;
            // Undecodable on a second pass, or no more patches: the looks'
            // vote stands.
            if let Ok(whole) = kind.analyse_for_classification(path, None, None)
                && whole.starts.len() > heard.patches.starts.len()
            {
                let (probabilities, embeddings) = model.net.infer(&whole.data)?;
                heard = Heard {
                    patches: whole,
                    probabilities,
                    embeddings,
                };
            }
        }
    }
    Ok(voted(
        track_id,
        &heard.patches,
        heard.probabilities,
        heard.embeddings,
        classes,
        rule,
    ))
}

/// The patches a track's looks have heard so far, with the network's
/// results for each, in time order.
struct Heard {
    patches: Patches,
    probabilities: Vec<f32>,
    embeddings: Vec<f32>,
}

impl Heard {
    /// These and the patches at `extra` (indices among the track's), decoded
    /// from `path` and run through the model. Patches already heard are not
    /// decoded again; where none of the rest can be decoded, these stand.
    fn with(self, extra: &[usize], model: &Model, path: &Path) -> candle_core::Result<Self> {
        let kind = model.card.features.kind;
        let extra: Vec<usize> = extra
            .iter()
            .copied()
            .filter(|&k| !self.patches.starts.contains(&kind.patch_start_column(k)))
            .collect();
        let more = (!extra.is_empty())
            .then(|| kind.patches_at(path, &extra).ok())
            .flatten()
            .filter(|m| m.data.count() > 0);
        let Some(more) = more else {
            return Ok(self);
        };
        let (more_probabilities, more_embeddings) = model.net.infer(&more.data)?;
        let classes = model.card.classes.len();
        let width = self.embeddings.len() / self.patches.starts.len().max(1);
        let (patches, order) = self.patches.merged(more);
        Ok(Self {
            patches,
            probabilities: in_order(&self.probabilities, &more_probabilities, &order, classes),
            embeddings: in_order(&self.embeddings, &more_embeddings, &order, width),
        })
    }
}

/// Per-patch rows (`width` values each) of a first look and of a second,
/// in the merged order [`Patches::merged`] gives.
fn in_order(first: &[f32], later: &[f32], order: &[(bool, usize)], width: usize) -> Vec<f32> {
    order
        .iter()
        .flat_map(|&(is_later, k)| {
            let from = if is_later { later } else { first };
            from[k * width..(k + 1) * width].iter().copied()
        })
        .collect()
}

/// A track's analysis from its every patch's results, and their vote.
fn voted(
    track_id: i64,
    patches: &Patches,
    probabilities: Vec<f32>,
    embeddings: Vec<f32>,
    classes: usize,
    (thresholds, several): (Thresholds, SeveralGenres),
) -> Outcome {
    let proposal = vote::vote_several(&probabilities, classes, thresholds, several);
    Outcome::Analysed {
        analysis: Analysis {
            track_id,
            slices: patches.starts.len(),
            slice_starts: patches.starts.clone(),
            probabilities,
            embeddings,
            decode_errors: patches.corrupt_packets,
        },
        proposal,
    }
}

/// Copies every analysis of `from` to `to` with probabilities recomputed by
/// `model`'s head from the stored embeddings, and re-votes: no decoding.
pub fn revote_from_embeddings(
    lib: &mut Library,
    from: i64,
    to: i64,
    model: &Model,
    thresholds: Thresholds,
) -> anyhow::Result<usize> {
    let several = lib.several_genres()?;
    let classes = model.card.classes.clone();
    let mut outcomes = Vec::new();
    for mut analysis in lib.analyses(from)? {
        analysis.probabilities = model
            .net
            .probabilities_from_embeddings(&analysis.embeddings)?;
        let proposal =
            vote::vote_several(&analysis.probabilities, classes.len(), thresholds, several);
        outcomes.push(Outcome::Analysed { analysis, proposal });
    }
    lib.store_outcomes(to, model.card.features.version, &classes, &outcomes)?;
    Ok(outcomes.len())
}

/// Recomputes proposals of `model_id` from stored probabilities with new
/// thresholds, or the library's several-genre setting (when the user
/// changes them).
pub fn revote(
    lib: &mut Library,
    model_id: i64,
    classes: &[String],
    thresholds: Thresholds,
) -> anyhow::Result<usize> {
    let several = lib.several_genres()?;
    let proposals: Vec<(i64, Proposal)> = lib
        .analyses(model_id)?
        .into_iter()
        .map(|a| {
            let p = vote::vote_several(&a.probabilities, classes.len(), thresholds, several);
            (a.track_id, p)
        })
        .collect();
    lib.store_proposals(model_id, classes, &proposals)?;
    Ok(proposals.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_looks_rows_follow_the_merged_order() {
        let first = [0.0, 0.1, 4.0, 4.1];
        let later = [2.0, 2.1];
        let order = [(false, 0), (true, 0), (false, 1)];
        assert_eq!(
            in_order(&first, &later, &order, 2),
            vec![0.0, 0.1, 2.0, 2.1, 4.0, 4.1]
        );
    }
}
