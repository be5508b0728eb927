//! One row per present track with everything the review lists: its tags,
//! the proposal of a model, the user's decision and any analysis error.

use super::{DecisionSource, Library, Result, TrackStatus, genres_from_json, path_from_bytes};
use crate::proposal::ProposalState;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use std::path::PathBuf;

impl ToSql for ProposalState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ProposalState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: String| FromSqlError::Other(e.into()))
    }
}

/// A present track as the review lists it.
#[derive(Clone, Debug)]
pub struct TrackRow {
    pub track_id: i64,
    pub path: PathBuf,
    /// The path as text (lossy), for display and sorting.
    pub path_text: String,
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub file_genres: Vec<String>,
    /// The model's leading genre (even when unsure), its vote share and verdict.
    pub proposed: Option<String>,
    /// Further genres proposed beside it.
    pub proposed_also: Vec<String>,
    pub share: Option<f32>,
    pub proposal_state: Option<ProposalState>,
    /// The decided first genre and where it came from.
    pub decision: Option<(String, DecisionSource)>,
    /// Further decided genres beside it.
    pub decided_also: Vec<String>,
    pub analysis_error: Option<String>,
    pub status: TrackStatus,
}

impl TrackRow {
    /// The decided genres, the first one first (empty when undecided).
    pub fn decided_genres(&self) -> Vec<String> {
        self.decision
            .iter()
            .map(|(g, _)| g.clone())
            .chain(self.decided_also.iter().cloned())
            .collect()
    }

    /// The leading genre and any further proposed ones, the leader first.
    pub fn proposed_genres(&self) -> Vec<String> {
        self.proposed
            .iter()
            .cloned()
            .chain(self.proposed_also.iter().cloned())
            .collect()
    }
}

impl Library {
    /// Every present track (not missing) with the proposal of `model_id`.
    pub fn track_rows(&self, model_id: Option<i64>) -> Result<Vec<TrackRow>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT t.id, t.path, t.path_text, t.title, t.artist, t.album, t.genres,
                        p.genre, p.share, p.state, l.genre, l.source, e.message, t.status,
                        p.also_genres, l.also_genres
                 FROM tracks t
                 LEFT JOIN proposals p ON p.track_id = t.id AND p.model_id = ?1
                 LEFT JOIN labels l ON l.track_id = t.id
                 LEFT JOIN analysis_errors e ON e.track_id = t.id AND e.model_id = ?1
                 ORDER BY t.path_text",
            )?;
            let rows = stmt.query_map([model_id.unwrap_or(-1)], |r| {
                let decided: Option<String> = r.get(10)?;
                let source: Option<DecisionSource> = r.get(11)?;
                Ok(TrackRow {
                    track_id: r.get(0)?,
                    path: path_from_bytes(r.get(1)?),
                    path_text: r.get(2)?,
                    title: r.get(3)?,
                    artist: r.get(4)?,
                    album: r.get(5)?,
                    file_genres: genres_from_json(&r.get::<_, String>(6)?),
                    proposed: r.get(7)?,
                    proposed_also: genres_from_json(
                        &r.get::<_, Option<String>>(14)?.unwrap_or_default(),
                    ),
                    share: r.get(8)?,
                    proposal_state: r.get(9)?,
                    decision: decided.zip(source),
                    decided_also: genres_from_json(
                        &r.get::<_, Option<String>>(15)?.unwrap_or_default(),
                    ),
                    analysis_error: r.get(12)?,
                    status: TrackStatus::parse(&r.get::<_, String>(13)?),
                })
            })?;
            rows.collect()
        })
    }
}
