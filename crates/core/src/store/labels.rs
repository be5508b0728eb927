//! The `labels` table: the user's decisions (accepted proposals, their own
//! genres), which are what gets written into files and what retraining
//! learns from.

use super::{Library, Result, genres_from_json, genres_json, now, path_from_bytes};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where a trusted label comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionSource {
    /// The user accepted the model's proposal.
    Accepted,
    /// The user chose the genre.
    Overridden,
    /// The file's own genre tag, known to the vocabulary (never stored as a
    /// decision; retraining uses it for undecided tracks).
    Tag,
}

impl DecisionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Overridden => "overridden",
            Self::Tag => "tag",
        }
    }
}

impl ToSql for DecisionSource {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for DecisionSource {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "accepted" => Ok(Self::Accepted),
            "overridden" => Ok(Self::Overridden),
            "tag" => Ok(Self::Tag),
            other => Err(FromSqlError::Other(
                format!("unknown decision source {other:?}").into(),
            )),
        }
    }
}

/// True when the file's genres are exactly the decided genres, in order:
/// the decision is written (the one rule for "already written").
pub fn is_written(file_genres: &[String], decided: &[String]) -> bool {
    file_genres == decided
}

/// A decided track as the apply plan needs it.
#[derive(Clone, Debug)]
pub struct LabelledFile {
    pub track_id: i64,
    pub path: PathBuf,
    /// Genres the file has now (as last scanned or written).
    pub file_genres: Vec<String>,
    /// The decided genres, the first one first.
    pub genres: Vec<String>,
    /// What the user typed when they asked for its super-genre instead.
    pub mapped_from: Option<String>,
    /// The user allowed replacing a genre the file already has.
    pub replace: bool,
}

/// A decision as stored: what an undo of a decision puts back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    /// The first genre: the one retraining learns from.
    pub genre: String,
    /// Further genres the track was given beside it.
    pub also: Vec<String>,
    pub source: DecisionSource,
    /// What the user typed when they asked for its super-genre instead.
    pub mapped_from: Option<String>,
    /// The user allowed replacing a genre the file already has.
    pub replace: bool,
}

/// A present track with its decision, if any, and its file's genres.
#[derive(Clone, Debug)]
pub struct TrackLabel {
    pub track_id: i64,
    pub decision: Option<(String, DecisionSource)>,
    pub file_genres: Vec<String>,
}

impl Label {
    /// Every decided genre, the first one first: what is written.
    pub fn genres(&self) -> Vec<String> {
        std::iter::once(self.genre.clone())
            .chain(self.also.iter().cloned())
            .collect()
    }
}

impl Library {
    /// The genres `model_id` proposes for a track (its leading genre
    /// first, where unsure its leaning alone), if it names any.
    pub fn proposed_genres(&self, track_id: i64, model_id: i64) -> Result<Option<Vec<String>>> {
        self.read(|c| {
            c.query_row(
                "SELECT genre, also_genres FROM proposals WHERE track_id = ?1 AND model_id = ?2",
                params![track_id, model_id],
                |r| {
                    let first: Option<String> = r.get(0)?;
                    let also = genres_from_json(&r.get::<_, String>(1)?);
                    Ok(first.map(|g| std::iter::once(g).chain(also).collect()))
                },
            )
            .optional()
            .map(Option::flatten)
        })
    }

    /// Records (or replaces) the decision on a track.
    pub fn set_label(
        &mut self,
        track_id: i64,
        genre: &str,
        source: DecisionSource,
        mapped_from: Option<&str>,
        replace: bool,
    ) -> Result<()> {
        let label = Label {
            genre: genre.to_string(),
            also: Vec::new(),
            source,
            mapped_from: mapped_from.map(str::to_string),
            replace,
        };
        self.put_labels(&[(track_id, Some(label))])
    }

    /// Forgets the decision on a track.
    pub fn clear_label(&mut self, track_id: i64) -> Result<()> {
        self.put_labels(&[(track_id, None)])
    }

    /// The decision on each of `track_ids` (`None`: undecided), in order.
    pub fn labels_of(&self, track_ids: &[i64]) -> Result<Vec<(i64, Option<Label>)>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT genre, source, mapped_from, replace_existing, also_genres FROM labels
                 WHERE track_id = ?1",
            )?;
            track_ids
                .iter()
                .map(|&id| {
                    let label = stmt
                        .query_row([id], |r| {
                            Ok(Label {
                                genre: r.get(0)?,
                                also: genres_from_json(&r.get::<_, String>(4)?),
                                source: r.get(1)?,
                                mapped_from: r.get(2)?,
                                replace: r.get(3)?,
                            })
                        })
                        .optional()?;
                    Ok((id, label))
                })
                .collect()
        })
    }

    /// Sets (`Some`) or forgets (`None`) the decision on each track, all in
    /// one transaction: thousands of decisions take milliseconds.
    pub fn put_labels(&mut self, changes: &[(i64, Option<Label>)]) -> Result<()> {
        let at = now();
        self.transaction(|tx| {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO labels (track_id, genre, source, at, replace_existing, mapped_from,
                     also_genres)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(track_id) DO UPDATE SET genre = excluded.genre,
                     source = excluded.source, at = excluded.at,
                     replace_existing = excluded.replace_existing,
                     mapped_from = excluded.mapped_from, also_genres = excluded.also_genres",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM labels WHERE track_id = ?1")?;
            for (track_id, label) in changes {
                match label {
                    Some(l) => {
                        upsert.execute(params![
                            track_id,
                            l.genre,
                            l.source,
                            at,
                            l.replace,
                            l.mapped_from,
                            genres_json(&l.also)
                        ])?;
                    }
                    None => {
                        delete.execute([track_id])?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Present tracks with a decision, by path: the candidates for writing.
    pub fn labelled_files(&self) -> Result<Vec<LabelledFile>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT t.id, t.path, t.genres, l.genre, l.replace_existing, l.mapped_from,
                        l.also_genres
                 FROM labels l JOIN tracks t ON t.id = l.track_id
                 WHERE t.status = 'ok' AND l.source IN (?1, ?2)
                 ORDER BY t.path_text",
            )?;
            let rows = stmt.query_map(
                params![DecisionSource::Accepted, DecisionSource::Overridden],
                |r| {
                    Ok(LabelledFile {
                        track_id: r.get(0)?,
                        path: path_from_bytes(r.get(1)?),
                        file_genres: genres_from_json(&r.get::<_, String>(2)?),
                        genres: std::iter::once(r.get::<_, String>(3)?)
                            .chain(genres_from_json(&r.get::<_, String>(6)?))
                            .collect(),
                        replace: r.get(4)?,
                        mapped_from: r.get(5)?,
                    })
                },
            )?;
            rows.collect()
        })
    }

    /// Every present track with its decision and its file's genres.
    pub fn track_labels(&self) -> Result<Vec<TrackLabel>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT t.id, l.genre, l.source, t.genres FROM tracks t
                 LEFT JOIN labels l ON l.track_id = t.id WHERE t.status = 'ok'",
            )?;
            let rows = stmt.query_map([], |r| {
                let genre: Option<String> = r.get(1)?;
                let source: Option<DecisionSource> = r.get(2)?;
                Ok(TrackLabel {
                    track_id: r.get(0)?,
                    decision: genre.zip(source),
                    file_genres: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                })
            })?;
            rows.collect()
        })
    }

    /// Every decision, with its track's path and when it was made, newest
    /// first.
    pub fn decisions(&self) -> Result<Vec<DecisionRow>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT t.id, t.path, l.genre, l.source, l.mapped_from, l.at, l.also_genres
                 FROM labels l
                 JOIN tracks t ON t.id = l.track_id
                 WHERE l.source != 'tag' ORDER BY l.at DESC, t.id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(DecisionRow {
                    track_id: r.get(0)?,
                    path: path_from_bytes(r.get(1)?),
                    genre: r.get(2)?,
                    also: genres_from_json(&r.get::<_, String>(6)?),
                    source: r.get(3)?,
                    mapped_from: r.get(4)?,
                    at: r.get(5)?,
                })
            })?;
            rows.collect()
        })
    }
}

/// One decision, as `sonotag decisions` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct DecisionRow {
    pub track_id: i64,
    #[serde(serialize_with = "super::serialize_path_str")]
    pub path: std::path::PathBuf,
    pub genre: String,
    /// Further genres beside `genre`.
    pub also: Vec<String>,
    pub source: DecisionSource,
    /// What the user typed when they asked for its super-genre.
    pub mapped_from: Option<String>,
    /// When (seconds since 1970).
    pub at: i64,
}
