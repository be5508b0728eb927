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
use crate::features::Patches;
use crate::model::{Model, ModelCard};
use crate::store::{Library, LibraryError, now, path_from_bytes};
use crate::vote::Thresholds;
use crate::vote::{self, Proposal};
use half::f16;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Registers a model (by name) and returns its id; the card is refreshed.
pub fn register_model(
    lib: &mut Library,
    model: &Model,
    parent: Option<i64>,
) -> Result<i64, LibraryError> {
    let card = serde_json::to_string(&model.card).expect("card serialises");
    let path = model.base.to_string_lossy().into_owned();
    let name = model.card.name.clone();
    lib.transaction(|tx| {
        tx.execute(
            "INSERT INTO models (name, path, parent, card, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(name) DO UPDATE SET path = excluded.path, card = excluded.card",
            params![name, path, parent, card, now()],
        )?;
        tx.query_row("SELECT id FROM models WHERE name = ?1", [&name], |r| {
            r.get(0)
        })
    })
}

/// Makes `model_id` the active model.
pub fn set_active(lib: &mut Library, model_id: i64) -> Result<(), LibraryError> {
    lib.transaction(|tx| {
        tx.execute("UPDATE models SET active = (id = ?1)", [model_id])?;
        Ok(())
    })
}

/// A registered model row.
#[derive(Clone, Debug, Serialize)]
pub struct ModelRow {
    pub id: i64,
    pub name: String,
    pub path: PathBuf,
    pub parent: Option<i64>,
    pub active: bool,
    pub card: ModelCard,
}

/// Registered models, newest first.
pub fn models(lib: &Library) -> Result<Vec<ModelRow>, LibraryError> {
    let mut stmt = lib
        .conn()
        .prepare("SELECT id, name, path, parent, active, card FROM models ORDER BY id DESC")
        .map_err(|e| lib.err(e))?;
    let rows = stmt
        .query_map([], |r| {
            let card: String = r.get(5)?;
            Ok(ModelRow {
                id: r.get(0)?,
                name: r.get(1)?,
                path: PathBuf::from(r.get::<_, String>(2)?),
                parent: r.get(3)?,
                active: r.get(4)?,
                card: serde_json::from_str(&card).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        5,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
            })
        })
        .map_err(|e| lib.err(e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| lib.err(e))
}

/// The active model row, if any.
pub fn active_model(lib: &Library) -> Result<Option<ModelRow>, LibraryError> {
    Ok(models(lib)?.into_iter().find(|m| m.active))
}

/// Loads the model to use: `explicit` if given, else the library's active
/// model, else the shipped default; registers it and makes it active.
pub fn resolve_model(lib: &mut Library, explicit: Option<&Path>) -> anyhow::Result<(i64, Model)> {
    let base = match explicit {
        Some(p) => p.to_path_buf(),
        None => match active_model(lib)? {
            Some(row) => row.path,
            None => crate::model::default_model_path(),
        },
    };
    let model = Model::load(&base)?;
    let parent = active_model(lib)?.and_then(|m| m.parent);
    let id = register_model(lib, &model, parent)?;
    set_active(lib, id)?;
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

fn encode_probs(p: &[f32]) -> Vec<u8> {
    p.iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}

/// Probabilities stored as u8 back to f32.
pub fn decode_probs(b: &[u8]) -> Vec<f32> {
    b.iter().map(|&v| v as f32 / 255.0).collect()
}

fn encode_f16(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|x| f16::from_f32(*x).to_le_bytes())
        .collect()
}

/// f16 LE blob back to f32.
pub fn decode_f16(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(2)
        .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect()
}

fn u32_blob(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Stores a proposal for (track, model).
fn store_proposal(
    tx: &rusqlite::Transaction,
    track_id: i64,
    model_id: i64,
    classes: &[String],
    p: &Proposal,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO proposals (track_id, model_id, genre, share, votes, state, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            track_id,
            model_id,
            p.winner.map(|c| classes[c].clone()),
            p.share,
            p.cast() as i64,
            p.state(),
            now()
        ],
    )?;
    Ok(())
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
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&ClassifyProgress),
) -> anyhow::Result<ClassifySummary> {
    if force {
        lib.transaction(|tx| {
            tx.execute("DELETE FROM analyses WHERE model_id = ?1", [model_id])?;
            tx.execute(
                "DELETE FROM analysis_errors WHERE model_id = ?1",
                [model_id],
            )?;
            tx.execute("DELETE FROM proposals WHERE model_id = ?1", [model_id])?;
            Ok(())
        })?;
    }
    let pending: Vec<(i64, PathBuf, Option<f64>)> = {
        let mut stmt = lib
            .conn()
            .prepare(
                "SELECT id, path, duration_s FROM tracks t WHERE status = 'ok'
                 AND NOT EXISTS (SELECT 1 FROM analyses a WHERE a.track_id = t.id
                                 AND a.model_id = ?1 AND a.features_version = ?2)
                 AND NOT EXISTS (SELECT 1 FROM analysis_errors e WHERE e.track_id = t.id AND e.model_id = ?1)
                 ORDER BY path_text",
            )
            .map_err(|e| lib.err(e))?;
        let rows = stmt
            .query_map(params![model_id, model.card.features.version], |r| {
                Ok((r.get(0)?, path_from_bytes(r.get(1)?), r.get(2)?))
            })
            .map_err(|e| lib.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| lib.err(e))?
    };
    let total_ok: i64 = lib
        .conn()
        .query_row("SELECT count(*) FROM tracks WHERE status = 'ok'", [], |r| {
            r.get(0)
        })
        .map_err(|e| lib.err(e))?;
    let mut summary = ClassifySummary {
        already_done: total_ok as usize - pending.len(),
        ..Default::default()
    };
    let total = pending.len();
    let classes = model.card.classes.clone();
    let kind = model.card.backbone.features();
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
        let mut batch: Vec<Stored> = Vec::new();
        let mut done = 0;
        let mut last_commit = std::time::Instant::now();
        for (id, path, result) in rx_spec.iter() {
            let result: Result<Patches, audio::AudioError> = result;
            if cancel.load(Ordering::Relaxed) {
                stop.store(true, Ordering::Relaxed);
                summary.cancelled = true;
                break;
            }
            let stored = match result {
                Ok(patches) => {
                    let stored = analysed(id, &patches, model, thresholds)?;
                    if let Stored::Analysis { proposal, .. } = &stored
                        && proposal.unsure.is_some()
                    {
                        summary.unsure += 1;
                    }
                    summary.classified += 1;
                    stored
                }
                Err(e) => {
                    summary.errors += 1;
                    Stored::Error {
                        id,
                        message: e.to_string(),
                    }
                }
            };
            batch.push(stored);
            done += 1;
            progress(&ClassifyProgress {
                done,
                total,
                current: path,
            });
            if batch.len() >= 32 || last_commit.elapsed().as_secs() >= 2 {
                write_batch(lib, model_id, version, &classes, &mut batch)?;
                last_commit = std::time::Instant::now();
            }
        }
        stop.store(true, Ordering::Relaxed);
        // Drain so the decoding threads can finish.
        for _ in rx_spec.iter() {}
        write_batch(lib, model_id, version, &classes, &mut batch)?;
        Ok(())
    })?;
    Ok(summary)
}

/// Analyses every slice of one track (decoding it whole) and stores the
/// result for the model, replacing a sampled analysis: what the track view
/// shows once the user opens a track. Returns the spectrogram it computed.
pub fn analyse_track_fully(
    lib: &mut Library,
    track_id: i64,
    model_id: i64,
    model: &Model,
    thresholds: Thresholds,
) -> anyhow::Result<crate::spectrogram::Spectrogram> {
    let track = lib
        .track(track_id)?
        .ok_or_else(|| anyhow::anyhow!("no track with id {track_id}"))?;
    let (spec, report) = audio::analyse_file(&track.path)?;
    let kind = model.card.backbone.features();
    let patches = match kind {
        crate::features::FeatureKind::DisplayMel => {
            kind.from_spectrogram(&spec, report.corrupt_packets)
        }
        // musicnn reads its own 16 kHz front end: a second decode.
        crate::features::FeatureKind::MusicnnMel => kind.analyse_file(&track.path)?,
    };
    let mut batch = vec![analysed(track_id, &patches, model, thresholds)?];
    write_batch(
        lib,
        model_id,
        model.card.features.version,
        &model.card.classes,
        &mut batch,
    )?;
    Ok(spec)
}

/// Runs the model on a track's patches and votes.
fn analysed(
    id: i64,
    patches: &Patches,
    model: &Model,
    thresholds: Thresholds,
) -> candle_core::Result<Stored> {
    let (probs, embs) = model.net.infer(&patches.data)?;
    let proposal = vote::vote(&probs, model.card.classes.len(), thresholds);
    Ok(Stored::Analysis {
        id,
        slices: patches.starts.len(),
        starts: u32_blob(&patches.starts),
        probs: encode_probs(&probs),
        embs: encode_f16(&embs),
        decode_errors: patches.corrupt_packets,
        proposal,
    })
}

enum Stored {
    Analysis {
        id: i64,
        slices: usize,
        starts: Vec<u8>,
        probs: Vec<u8>,
        embs: Vec<u8>,
        decode_errors: usize,
        proposal: Proposal,
    },
    Error {
        id: i64,
        message: String,
    },
}

fn write_batch(
    lib: &mut Library,
    model_id: i64,
    features_version: u32,
    classes: &[String],
    batch: &mut Vec<Stored>,
) -> Result<(), LibraryError> {
    if batch.is_empty() {
        return Ok(());
    }
    lib.transaction(|tx| {
        for s in batch.iter() {
            match s {
                Stored::Analysis {
                    id,
                    slices,
                    starts,
                    probs,
                    embs,
                    decode_errors,
                    proposal,
                } => {
                    tx.execute(
                        "INSERT OR REPLACE INTO analyses (track_id, model_id, features_version, slices,
                             slice_starts, probabilities, embeddings, decode_errors, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        params![id, model_id, features_version, *slices as i64, starts, probs, embs, *decode_errors as i64, now()],
                    )?;
                    tx.execute(
                        "DELETE FROM analysis_errors WHERE track_id = ?1 AND model_id = ?2",
                        params![id, model_id],
                    )?;
                    store_proposal(tx, *id, model_id, classes, proposal)?;
                }
                Stored::Error { id, message } => {
                    tx.execute(
                        "INSERT OR REPLACE INTO analysis_errors (track_id, model_id, message, at)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![id, model_id, message, now()],
                    )?;
                }
            }
        }
        Ok(())
    })?;
    batch.clear();
    Ok(())
}

/// A stored analysis of one track.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub track_id: i64,
    pub slices: usize,
    pub slice_starts: Vec<u32>,
    /// `slices × classes`.
    pub probabilities: Vec<f32>,
    /// `slices × dim`.
    pub embeddings: Vec<f32>,
}

/// The analysis of `track_id` by `model_id`, if any.
pub fn analysis(
    lib: &Library,
    track_id: i64,
    model_id: i64,
) -> Result<Option<Analysis>, LibraryError> {
    lib.conn()
        .query_row(
            "SELECT slices, slice_starts, probabilities, embeddings FROM analyses
             WHERE track_id = ?1 AND model_id = ?2",
            params![track_id, model_id],
            |r| {
                let starts: Vec<u8> = r.get(1)?;
                Ok(Analysis {
                    track_id,
                    slices: r.get::<_, i64>(0)? as usize,
                    slice_starts: starts
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                    probabilities: decode_probs(&r.get::<_, Vec<u8>>(2)?),
                    embeddings: decode_f16(&r.get::<_, Vec<u8>>(3)?),
                })
            },
        )
        .optional()
        .map_err(|e| lib.err(e))
}

/// A proposal row joined with its track, for listings.
#[derive(Clone, Debug, Serialize)]
pub struct ProposalRow {
    pub track_id: i64,
    pub path: String,
    pub artist: Option<String>,
    pub title: Option<String>,
    pub genre: Option<String>,
    pub share: f32,
    pub votes: i64,
    pub state: String,
    pub label: Option<String>,
}

/// Proposals of `model_id`, optionally only those in `state`.
pub fn proposals(
    lib: &Library,
    model_id: i64,
    state: Option<&str>,
) -> Result<Vec<ProposalRow>, LibraryError> {
    let mut stmt = lib
        .conn()
        .prepare(
            "SELECT p.track_id, t.path_text, t.artist, t.title, p.genre, p.share, p.votes, p.state, l.genre
             FROM proposals p JOIN tracks t ON t.id = p.track_id
             LEFT JOIN labels l ON l.track_id = p.track_id
             WHERE p.model_id = ?1 AND (?2 IS NULL OR p.state = ?2)
             ORDER BY t.path_text",
        )
        .map_err(|e| lib.err(e))?;
    let rows = stmt
        .query_map(params![model_id, state], |r| {
            Ok(ProposalRow {
                track_id: r.get(0)?,
                path: r.get(1)?,
                artist: r.get(2)?,
                title: r.get(3)?,
                genre: r.get(4)?,
                share: r.get(5)?,
                votes: r.get(6)?,
                state: r.get(7)?,
                label: r.get(8)?,
            })
        })
        .map_err(|e| lib.err(e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| lib.err(e))
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
    let rows: Vec<(i64, i64, Vec<u8>, Vec<u8>, i64)> = {
        let mut stmt = lib
            .conn()
            .prepare(
                "SELECT track_id, slices, slice_starts, embeddings, decode_errors FROM analyses WHERE model_id = ?1",
            )
            .map_err(|e| lib.err(e))?;
        let r = stmt
            .query_map([from], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(|e| lib.err(e))?;
        r.collect::<rusqlite::Result<_>>().map_err(|e| lib.err(e))?
    };
    let classes = model.card.classes.clone();
    let mut computed = Vec::with_capacity(rows.len());
    for (track_id, slices, starts, embs, errors) in rows {
        let probs = model
            .net
            .probabilities_from_embeddings(&decode_f16(&embs))?;
        let proposal = vote::vote(&probs, classes.len(), thresholds);
        computed.push((
            track_id,
            slices,
            starts,
            encode_probs(&probs),
            embs,
            errors,
            proposal,
        ));
    }
    let n = computed.len();
    lib.transaction(|tx| {
        for (track_id, slices, starts, probs, embs, errors, proposal) in &computed {
            tx.execute(
                "INSERT OR REPLACE INTO analyses (track_id, model_id, features_version, slices,
                     slice_starts, probabilities, embeddings, decode_errors, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    track_id,
                    to,
                    model.card.features.version,
                    slices,
                    starts,
                    probs,
                    embs,
                    errors,
                    now()
                ],
            )?;
            store_proposal(tx, *track_id, to, &classes, proposal)?;
        }
        Ok(())
    })?;
    Ok(n)
}

/// Recomputes proposals of `model_id` from stored probabilities with new
/// thresholds (when the user changes them).
pub fn revote(
    lib: &mut Library,
    model_id: i64,
    classes: &[String],
    thresholds: Thresholds,
) -> anyhow::Result<usize> {
    let rows: Vec<(i64, Vec<u8>)> = {
        let mut stmt = lib
            .conn()
            .prepare("SELECT track_id, probabilities FROM analyses WHERE model_id = ?1")
            .map_err(|e| lib.err(e))?;
        let r = stmt
            .query_map([model_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| lib.err(e))?;
        r.collect::<rusqlite::Result<_>>().map_err(|e| lib.err(e))?
    };
    let n = rows.len();
    lib.transaction(|tx| {
        for (track_id, probs) in &rows {
            let p = vote::vote(&decode_probs(probs), classes.len(), thresholds);
            store_proposal(tx, *track_id, model_id, classes, &p)?;
        }
        Ok(())
    })?;
    Ok(n)
}
