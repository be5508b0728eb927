//! Classifying the library: analyses, proposals and model versions in SQLite.
//!
//! Every scanned track not yet analysed with the active model (and this
//! feature version) is decoded, turned into slices, run through the network
//! in batches, and stored: per-slice probabilities (u8, p×255) and
//! embeddings (f16) — compact blobs, not JSON — plus the proposal. Each
//! track's rows are written in one transaction with the others of its batch,
//! keyed by (track, model), so a killed run loses at most one batch and a
//! rerun neither repeats nor duplicates work. Decoding runs on a dedicated
//! thread pool feeding a bounded channel, so inference overlaps decoding and
//! memory stays bounded whatever the library size.

use crate::audio;
use crate::cancel::Cancel;
use crate::features::Patches;
use crate::features::spectrogram;
use crate::ml::model::Model;
use crate::ml::model::ModelCard;
use crate::ml::vote;
use crate::proposal::Proposal;
use crate::proposal::Thresholds;
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

/// Patches per track analysed by default when classifying a library; opening
/// a track in the window analyses it fully. Chosen from measurements: see
/// the README ("How many patches").
pub const DEFAULT_SAMPLE_SLICES: usize = 6;

/// Classifies every pending track with the model. `force` redoes tracks
/// already analysed with it; `sample` analyses at most that many slices per
/// track (see [`crate::features::FeatureKind::analyse_for_classification`]).
#[allow(clippy::too_many_arguments)]
pub fn classify(
    lib: &mut Library,
    model_id: i64,
    model: &Model,
    thresholds: Thresholds,
    force: bool,
    sample: Option<usize>,
    cancel: &Cancel,
    progress: &mut dyn FnMut(&ClassifyProgress),
) -> anyhow::Result<ClassifySummary> {
    if force {
        lib.clear_analyses(model_id)?;
    }
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

    // Decoding pool → bounded channel → inference + database on this thread.
    let (tx_spec, rx_spec) = crossbeam_channel::bounded(8);
    let decoders = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(decoders)
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
                    .for_each_with(tx_spec, |tx, (id, path, duration)| {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let r = kind.analyse_for_classification(path, *duration, sample);
                        let _ = tx.send((*id, path.clone(), r));
                    });
            });
        });
        let mut batch: Vec<Outcome> = Vec::new();
        let mut last_commit = std::time::Instant::now();
        for (done, (id, path, result)) in (1..).zip(rx_spec.iter()) {
            let result: Result<Patches, audio::AudioError> = result;
            if cancel.is_cancelled() {
                stop.store(true, Ordering::Relaxed);
                summary.cancelled = true;
                break;
            }
            let stored = match result {
                Ok(patches) => {
                    let stored = analysed(id, &patches, model, thresholds)?;
                    if let Outcome::Analysed { proposal, .. } = &stored
                        && proposal.unsure.is_some()
                    {
                        summary.unsure += 1;
                    }
                    summary.classified += 1;
                    stored
                }
                Err(e) => {
                    summary.errors += 1;
                    Outcome::Failed {
                        track_id: id,
                        message: e.to_string(),
                    }
                }
            };
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
        // Drain so the decoding threads can finish.
        for _ in rx_spec.iter() {}
        lib.store_outcomes(model_id, version, &classes, &batch)?;
        Ok(())
    })?;
    Ok(summary)
}

/// Analyses every slice of one track (decoding it whole) and stores the
/// result for the model, replacing a sampled analysis: what the track view
/// shows once the user opens a track. Returns the spectrogram it computed,
/// and hands it to `on_picture` as soon as it is there, before the
/// analysis ends (the window shows it while the votes are computed).
pub fn analyse_track_fully(
    lib: &mut Library,
    track_id: i64,
    model_id: i64,
    model: &Model,
    thresholds: Thresholds,
    on_picture: &(dyn Fn(&crate::features::spectrogram::Spectrogram) + Sync),
) -> anyhow::Result<crate::features::spectrogram::Spectrogram> {
    let track = lib
        .track(track_id)?
        .ok_or_else(|| anyhow::anyhow!("no track with id {track_id}"))?;
    let kind = model.card.features.kind;
    let (spec, outcome) = match kind {
        crate::features::FeatureKind::DisplayMel => {
            let (spec, report) = spectrogram::analyse_file(&track.path)?;
            on_picture(&spec);
            let patches = kind.from_spectrogram(&spec, report.corrupt_packets);
            (spec, analysed(track_id, &patches, model, thresholds)?)
        }
        // musicnn reads its own 16 kHz front end: a second decode, on the
        // other core while the first makes the picture.
        crate::features::FeatureKind::MusicnnMel => {
            let (picture, outcome) = rayon::join(
                || {
                    let picture = spectrogram::analyse_file(&track.path);
                    if let Ok((spec, _)) = &picture {
                        on_picture(spec);
                    }
                    picture
                },
                || -> anyhow::Result<Outcome> {
                    let patches = kind.analyse_file(&track.path)?;
                    Ok(analysed(track_id, &patches, model, thresholds)?)
                },
            );
            (picture?.0, outcome?)
        }
    };
    lib.store_outcomes(
        model_id,
        model.card.features.version,
        &model.card.classes,
        &[outcome],
    )?;
    Ok(spec)
}

/// Runs the model on a track's patches and votes.
fn analysed(
    track_id: i64,
    patches: &Patches,
    model: &Model,
    thresholds: Thresholds,
) -> candle_core::Result<Outcome> {
    let (probabilities, embeddings) = model.net.infer(&patches.data)?;
    let proposal = vote::vote(&probabilities, model.card.classes.len(), thresholds);
    Ok(Outcome::Analysed {
        analysis: Analysis {
            track_id,
            slices: patches.starts.len(),
            slice_starts: patches.starts.clone(),
            probabilities,
            embeddings,
            decode_errors: patches.corrupt_packets,
        },
        proposal,
    })
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
    let classes = model.card.classes.clone();
    let mut outcomes = Vec::new();
    for mut analysis in lib.analyses(from)? {
        analysis.probabilities = model
            .net
            .probabilities_from_embeddings(&analysis.embeddings)?;
        let proposal = vote::vote(&analysis.probabilities, classes.len(), thresholds);
        outcomes.push(Outcome::Analysed { analysis, proposal });
    }
    lib.store_outcomes(to, model.card.features.version, &classes, &outcomes)?;
    Ok(outcomes.len())
}

/// Recomputes proposals of `model_id` from stored probabilities with new
/// thresholds (when the user changes them).
pub fn revote(
    lib: &mut Library,
    model_id: i64,
    classes: &[String],
    thresholds: Thresholds,
) -> anyhow::Result<usize> {
    let proposals: Vec<(i64, Proposal)> = lib
        .analyses(model_id)?
        .into_iter()
        .map(|a| {
            let p = vote::vote(&a.probabilities, classes.len(), thresholds);
            (a.track_id, p)
        })
        .collect();
    lib.store_proposals(model_id, classes, &proposals)?;
    Ok(proposals.len())
}
