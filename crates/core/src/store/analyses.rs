//! Analyses, proposals and analysis errors, keyed by (track, model).
//!
//! Per-patch probabilities are stored as u8 (p × 255) and embeddings as f16,
//! compact blobs rather than JSON; this module alone knows the encodings.

use super::{Library, Result, genres_from_json, genres_json, now, path_from_bytes};
use crate::proposal::{Proposal, ProposalState};
use half::f16;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::path::PathBuf;

fn encode_probs(p: &[f32]) -> Vec<u8> {
    p.iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}

fn decode_probs(b: &[u8]) -> Vec<f32> {
    b.iter().map(|&v| v as f32 / 255.0).collect()
}

fn encode_f16(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|x| f16::from_f32(*x).to_le_bytes())
        .collect()
}

fn decode_f16(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(2)
        .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect()
}

fn encode_u32(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn decode_u32(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A stored analysis of one track (as read back: probabilities at u8 and
/// embeddings at f16 precision).
#[derive(Clone, Debug)]
pub struct Analysis {
    pub track_id: i64,
    pub slices: usize,
    /// Where each patch starts, in display-spectrogram columns.
    pub slice_starts: Vec<u32>,
    /// `slices × classes`.
    pub probabilities: Vec<f32>,
    /// `slices × dim`.
    pub embeddings: Vec<f32>,
    /// Damaged packets met while decoding.
    pub decode_errors: usize,
}

/// What classifying one track gave: its analysis and vote, or an error.
pub enum Outcome {
    Analysed {
        analysis: Analysis,
        proposal: Proposal,
    },
    Failed {
        track_id: i64,
        message: String,
    },
}

/// A track waiting for analysis.
#[derive(Clone, Debug)]
pub struct PendingTrack {
    pub track_id: i64,
    pub path: PathBuf,
    pub duration_s: Option<f64>,
}

/// A proposal joined with its track, for listings.
#[derive(Clone, Debug, Serialize)]
pub struct ProposalRow {
    pub track_id: i64,
    pub path: String,
    pub artist: Option<String>,
    pub title: Option<String>,
    pub genre: Option<String>,
    /// Further genres proposed beside `genre`.
    pub also: Vec<String>,
    pub share: f32,
    pub votes: i64,
    pub state: ProposalState,
    pub label: Option<String>,
}

fn store_proposal(
    tx: &rusqlite::Transaction,
    track_id: i64,
    model_id: i64,
    classes: &[String],
    p: &Proposal,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO proposals (track_id, model_id, genre, share, votes, state,
             created_at, also_genres)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            track_id,
            model_id,
            p.winner.map(|c| classes[c].clone()),
            p.share,
            p.cast() as i64,
            p.state(),
            now(),
            genres_json(
                &p.also
                    .iter()
                    .map(|&c| classes[c].clone())
                    .collect::<Vec<_>>()
            ),
        ],
    )?;
    Ok(())
}

fn store_analysis(
    tx: &rusqlite::Transaction,
    model_id: i64,
    features_version: u32,
    a: &Analysis,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO analyses (track_id, model_id, features_version, slices,
             slice_starts, probabilities, embeddings, decode_errors, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            a.track_id,
            model_id,
            features_version,
            a.slices as i64,
            encode_u32(&a.slice_starts),
            encode_probs(&a.probabilities),
            encode_f16(&a.embeddings),
            a.decode_errors as i64,
            now()
        ],
    )?;
    Ok(())
}

const ANALYSIS_COLUMNS: &str =
    "track_id, slices, slice_starts, probabilities, embeddings, decode_errors";

fn analysis_from_row(r: &rusqlite::Row) -> rusqlite::Result<Analysis> {
    Ok(Analysis {
        track_id: r.get(0)?,
        slices: r.get::<_, i64>(1)? as usize,
        slice_starts: decode_u32(&r.get::<_, Vec<u8>>(2)?),
        probabilities: decode_probs(&r.get::<_, Vec<u8>>(3)?),
        embeddings: decode_f16(&r.get::<_, Vec<u8>>(4)?),
        decode_errors: r.get::<_, i64>(5)? as usize,
    })
}

impl Library {
    /// Forgets every analysis, error and proposal of a model (to redo them).
    pub fn clear_analyses(&mut self, model_id: i64) -> Result<()> {
        self.transaction(|tx| {
            tx.execute("DELETE FROM analyses WHERE model_id = ?1", [model_id])?;
            tx.execute(
                "DELETE FROM analysis_errors WHERE model_id = ?1",
                [model_id],
            )?;
            tx.execute("DELETE FROM proposals WHERE model_id = ?1", [model_id])?;
            Ok(())
        })
    }

    /// Present tracks without an analysis by `model_id` at this feature
    /// version and without a recorded error, by path.
    pub fn tracks_to_analyse(
        &self,
        model_id: i64,
        features_version: u32,
    ) -> Result<Vec<PendingTrack>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, path, duration_s FROM tracks t WHERE status = 'ok'
                 AND NOT EXISTS (SELECT 1 FROM analyses a WHERE a.track_id = t.id
                                 AND a.model_id = ?1 AND a.features_version = ?2)
                 AND NOT EXISTS (SELECT 1 FROM analysis_errors e
                                 WHERE e.track_id = t.id AND e.model_id = ?1)
                 ORDER BY path_text",
            )?;
            let rows = stmt.query_map(params![model_id, features_version], |r| {
                Ok(PendingTrack {
                    track_id: r.get(0)?,
                    path: path_from_bytes(r.get(1)?),
                    duration_s: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Present tracks.
    pub fn count_present_tracks(&self) -> Result<usize> {
        self.read(|c| {
            c.query_row("SELECT count(*) FROM tracks WHERE status = 'ok'", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .map(|n| n as usize)
    }

    /// Stores the outcomes of classifying tracks with a model, in one
    /// transaction.
    pub fn store_outcomes(
        &mut self,
        model_id: i64,
        features_version: u32,
        classes: &[String],
        outcomes: &[Outcome],
    ) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        self.transaction(|tx| {
            for o in outcomes {
                match o {
                    Outcome::Analysed { analysis, proposal } => {
                        store_analysis(tx, model_id, features_version, analysis)?;
                        tx.execute(
                            "DELETE FROM analysis_errors WHERE track_id = ?1 AND model_id = ?2",
                            params![analysis.track_id, model_id],
                        )?;
                        store_proposal(tx, analysis.track_id, model_id, classes, proposal)?;
                    }
                    Outcome::Failed { track_id, message } => {
                        tx.execute(
                            "INSERT OR REPLACE INTO analysis_errors (track_id, model_id, message, at)
                             VALUES (?1, ?2, ?3, ?4)",
                            params![track_id, model_id, message, now()],
                        )?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Replaces the proposals of a model (after a re-vote).
    pub fn store_proposals(
        &mut self,
        model_id: i64,
        classes: &[String],
        proposals: &[(i64, Proposal)],
    ) -> Result<()> {
        self.transaction(|tx| {
            for (track_id, p) in proposals {
                store_proposal(tx, *track_id, model_id, classes, p)?;
            }
            Ok(())
        })
    }

    /// The analysis of `track_id` by `model_id`, if any.
    pub fn analysis(&self, track_id: i64, model_id: i64) -> Result<Option<Analysis>> {
        self.read(|c| {
            c.query_row(
                &format!(
                    "SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE track_id = ?1 AND model_id = ?2"
                ),
                params![track_id, model_id],
                analysis_from_row,
            )
            .optional()
        })
    }

    /// Every analysis by `model_id`.
    pub fn analyses(&self, model_id: i64) -> Result<Vec<Analysis>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE model_id = ?1"
            ))?;
            let rows = stmt.query_map([model_id], analysis_from_row)?;
            rows.collect()
        })
    }

    /// Ids of the tracks analysed by `model_id`.
    pub fn analysed_track_ids(&self, model_id: i64) -> Result<Vec<i64>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT track_id FROM analyses WHERE model_id = ?1")?;
            let ids = stmt.query_map([model_id], |r| r.get(0))?;
            ids.collect()
        })
    }

    /// Analysis errors of `model_id`: (path, message).
    pub fn analysis_errors(&self, model_id: i64) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT t.path_text, e.message FROM analysis_errors e
                 JOIN tracks t ON t.id = e.track_id WHERE e.model_id = ?1",
            )?;
            let rows = stmt.query_map([model_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Analysed tracks whose proposal under `model_id` names no genre at
    /// all: libraries classified before an unsure track kept its leaning.
    pub fn proposals_without_leaning(&self, model_id: i64) -> Result<usize> {
        self.read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM proposals p
                 JOIN analyses a ON a.track_id = p.track_id AND a.model_id = p.model_id
                 WHERE p.model_id = ?1 AND p.genre IS NULL AND a.slices > 0",
                [model_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
        })
    }

    /// Proposals of `model_id`, optionally only those in `state`.
    pub fn proposals(
        &self,
        model_id: i64,
        state: Option<ProposalState>,
    ) -> Result<Vec<ProposalRow>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT p.track_id, t.path_text, t.artist, t.title, p.genre, p.share, p.votes,
                        p.state, l.genre, p.also_genres
                 FROM proposals p JOIN tracks t ON t.id = p.track_id
                 LEFT JOIN labels l ON l.track_id = p.track_id
                 WHERE p.model_id = ?1 AND (?2 IS NULL OR p.state = ?2)
                 ORDER BY t.path_text",
            )?;
            let rows = stmt.query_map(params![model_id, state], |r| {
                Ok(ProposalRow {
                    track_id: r.get(0)?,
                    path: r.get(1)?,
                    artist: r.get(2)?,
                    title: r.get(3)?,
                    genre: r.get(4)?,
                    also: genres_from_json(&r.get::<_, String>(9)?),
                    share: r.get(5)?,
                    votes: r.get(6)?,
                    state: r.get(7)?,
                    label: r.get(8)?,
                })
            })?;
            rows.collect()
        })
    }
}
