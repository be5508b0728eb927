//! Safe genre writing and undo.
//!
//! The user's files are precious, so every write follows the same rules:
//!
//! - only tracks with a trusted label (accepted or overridden) are written,
//!   and by default only where the file has **no** genre yet; replacing an
//!   existing genre needs the per-track `replace` flag or the global policy;
//! - a file whose size or mtime differ from the library's (changed since the
//!   scan) is refused, as is a read-only or vanished file — per-file errors;
//! - the old genre values and the file's stamp are stored before writing;
//! - the new tag is written into a temporary copy next to the file, which is
//!   then renamed over it, so a crash never leaves a half-written file;
//! - lofty rewrites only the tag (ID3v2.4 TCON by default or v2.3, Vorbis
//!   GENRE for FLAC/Ogg/Opus, MP4 ©gen, ID3 chunks in WAV/AIFF): audio bytes
//!   are untouched;
//! - every apply is a batch, and [`undo`] restores each file's previous genre
//!   values exactly (removing the tag again where Sonotag had to create it).

use crate::library::{Library, LibraryError, now, path_from_bytes};
use lofty::config::{ParseOptions, WriteOptions};
use lofty::prelude::*;
use lofty::tag::{ItemValue, Tag, TagItem};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Whether existing genres may be replaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WritePolicy {
    /// Fill only files without a genre (default); per-track `replace` flags
    /// still allow replacing.
    #[default]
    FillEmpty,
    /// Replace existing genres everywhere.
    ReplaceAll,
}

/// Options for writing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteSettings {
    pub policy: WritePolicy,
    /// Write ID3v2.3 instead of v2.4 (for old players).
    pub id3v23: bool,
}

/// Records the user's acceptance of the active proposal as a trusted label.
pub fn accept(lib: &mut Library, track_id: i64, model_id: i64) -> anyhow::Result<String> {
    let genre: Option<String> = lib
        .conn()
        .query_row(
            "SELECT genre FROM proposals WHERE track_id = ?1 AND model_id = ?2",
            params![track_id, model_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let genre = genre.ok_or_else(|| {
        anyhow::anyhow!(
            "track {track_id} has no proposal to accept: override it with a genre instead"
        )
    })?;
    set_label(lib, track_id, &genre, "accepted", false)?;
    Ok(genre)
}

/// Records the user's own genre for a track. `replace` allows replacing a
/// genre the file already has.
pub fn override_genre(
    lib: &mut Library,
    track_id: i64,
    genre: &str,
    replace: bool,
) -> anyhow::Result<()> {
    let genre = genre.trim();
    anyhow::ensure!(!genre.is_empty(), "the genre is empty");
    set_label(lib, track_id, genre, "overridden", replace)
}

fn set_label(
    lib: &mut Library,
    track_id: i64,
    genre: &str,
    source: &str,
    replace: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        lib.track(track_id)?.is_some(),
        "no track with id {track_id}"
    );
    lib.transaction(|tx| {
        tx.execute(
            "INSERT INTO labels (track_id, genre, source, at, replace_existing) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(track_id) DO UPDATE SET genre = excluded.genre, source = excluded.source,
                 at = excluded.at, replace_existing = excluded.replace_existing",
            params![track_id, genre, source, now(), replace],
        )?;
        Ok(())
    })?;
    Ok(())
}

/// Forgets the user's decision on a track (the review's undo).
pub fn clear_label(lib: &mut Library, track_id: i64) -> Result<(), LibraryError> {
    lib.transaction(|tx| {
        tx.execute("DELETE FROM labels WHERE track_id = ?1", [track_id])?;
        Ok(())
    })
}

/// What an apply would do to one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    /// The file has no genre: it gets one.
    Fill,
    /// The file's genre is replaced (allowed by policy or per track).
    Replace,
    /// The file has another genre and replacing was not allowed.
    KeepExisting,
}

/// One line of the confirmation: original → new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedWrite {
    pub track_id: i64,
    #[serde(serialize_with = "crate::library::serialize_path_str")]
    pub path: PathBuf,
    pub old_genres: Vec<String>,
    pub new_genre: String,
    pub action: Action,
}

/// Lists labelled tracks whose file genre differs from the label.
pub fn plan(lib: &Library, settings: WriteSettings) -> anyhow::Result<Vec<PlannedWrite>> {
    let mut stmt = lib.conn().prepare(
        "SELECT t.id, t.path, t.genres, l.genre, l.replace_existing FROM labels l
         JOIN tracks t ON t.id = l.track_id
         WHERE t.status = 'ok' AND l.source IN ('accepted', 'overridden')
         ORDER BY t.path_text",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            path_from_bytes(r.get(1)?),
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (track_id, path, genres, label, replace) = row?;
        let old: Vec<String> = serde_json::from_str(&genres).unwrap_or_default();
        if old.len() == 1 && old[0] == label {
            continue;
        }
        let action = if old.is_empty() {
            Action::Fill
        } else if replace || settings.policy == WritePolicy::ReplaceAll {
            Action::Replace
        } else {
            Action::KeepExisting
        };
        out.push(PlannedWrite {
            track_id,
            path,
            old_genres: old,
            new_genre: label,
            action,
        });
    }
    Ok(out)
}

/// What happened to one file in an apply or undo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileOutcome {
    #[serde(serialize_with = "crate::library::serialize_path_str")]
    pub path: PathBuf,
    /// `None` when written; the reason otherwise.
    pub error: Option<String>,
}

/// The result of an apply.
#[derive(Clone, Debug, Serialize)]
pub struct ApplyReport {
    pub batch_id: Option<i64>,
    pub written: usize,
    pub kept_existing: usize,
    pub outcomes: Vec<FileOutcome>,
}

/// Genre values as stored for undo (`tag` = the tag existed before).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct GenreState {
    genres: Vec<String>,
    tag: bool,
}

fn stamp(path: &Path) -> Result<(u64, i64), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read file: {e}"))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    Ok((meta.len(), mtime))
}

/// Reads the current genre state of the file's primary tag.
fn read_state(path: &Path) -> Result<GenreState, String> {
    let tagged = lofty::probe::Probe::open(path)
        .map_err(|e| format!("cannot open: {e}"))?
        .options(ParseOptions::new().read_cover_art(false))
        .read()
        .map_err(|e| format!("cannot read tags: {e}"))?;
    let tag = tagged.tag(tagged.primary_tag_type());
    Ok(GenreState {
        genres: tag
            .map(|t| t.get_strings(ItemKey::Genre).map(str::to_string).collect())
            .unwrap_or_default(),
        tag: tag.is_some(),
    })
}

/// Writes `state` into the file's primary tag through a temporary copy
/// renamed over the original.
fn write_state(path: &Path, state: &GenreState, settings: WriteSettings) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read file: {e}"))?;
    if meta.permissions().readonly() {
        return Err("file is read-only".into());
    }
    let tagged = lofty::probe::Probe::open(path)
        .map_err(|e| format!("cannot open: {e}"))?
        .options(ParseOptions::new())
        .read()
        .map_err(|e| format!("cannot read tags: {e}"))?;
    let tag_type = tagged.primary_tag_type();
    let mut tag = tagged
        .tag(tag_type)
        .cloned()
        .unwrap_or_else(|| Tag::new(tag_type));
    tag.remove_key(ItemKey::Genre);
    for g in &state.genres {
        tag.push(TagItem::new(ItemKey::Genre, ItemValue::Text(g.clone())));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    // Keep the extension: lofty may use it to recognise the format.
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tmp = dir.join(format!(".{stem}.sonotag-tmp{ext}"));
    let result = (|| {
        std::fs::copy(path, &tmp).map_err(|e| format!("cannot copy to {}: {e}", tmp.display()))?;
        let opts = WriteOptions::default().use_id3v23(settings.id3v23);
        if !state.tag && tag.item_count() == 0 && tag.picture_count() == 0 {
            tag_type
                .remove_from_path(&tmp, opts)
                .map_err(|e| format!("cannot remove tag: {e}"))?;
        } else {
            tag.save_to_path(&tmp, opts)
                .map_err(|e| format!("cannot write tag: {e}"))?;
        }
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("cannot sync: {e}"))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace the file: {e}"))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes the planned genres (`Fill` and `Replace` lines) as one batch.
pub fn apply(
    lib: &mut Library,
    planned: &[PlannedWrite],
    settings: WriteSettings,
) -> anyhow::Result<ApplyReport> {
    let todo: Vec<&PlannedWrite> = planned
        .iter()
        .filter(|p| p.action != Action::KeepExisting)
        .collect();
    let mut report = ApplyReport {
        batch_id: None,
        written: 0,
        kept_existing: planned.len() - todo.len(),
        outcomes: Vec::new(),
    };
    if todo.is_empty() {
        return Ok(report);
    }
    let batch_id = lib.transaction(|tx| {
        tx.execute("INSERT INTO tag_batches (at) VALUES (?1)", [now()])?;
        Ok(tx.last_insert_rowid())
    })?;
    report.batch_id = Some(batch_id);
    for p in todo {
        let outcome = write_one(lib, batch_id, p, settings);
        if outcome.is_ok() {
            report.written += 1;
        }
        report.outcomes.push(FileOutcome {
            path: p.path.clone(),
            error: outcome.err(),
        });
    }
    Ok(report)
}

fn write_one(
    lib: &mut Library,
    batch_id: i64,
    p: &PlannedWrite,
    settings: WriteSettings,
) -> Result<(), String> {
    let track = lib
        .track(p.track_id)
        .map_err(|e| e.to_string())?
        .ok_or("track vanished from the library")?;
    let (size, mtime) = stamp(&p.path).map_err(|e| {
        if !p.path.exists() {
            "file no longer exists".to_string()
        } else {
            e
        }
    })?;
    if size != track.size || mtime != track.mtime_ns {
        return Err("file changed since it was scanned: rescan, review, then apply again".into());
    }
    let old = read_state(&p.path)?;
    let new = GenreState {
        genres: vec![p.new_genre.clone()],
        tag: true,
    };
    // Record the old state before touching the file.
    let write_id = lib
        .transaction(|tx| {
            tx.execute(
                "INSERT INTO tag_writes (batch_id, track_id, old_genres, new_genres, size_before, mtime_before)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    batch_id,
                    p.track_id,
                    serde_json::to_string(&old).expect("serialises"),
                    serde_json::to_string(&new).expect("serialises"),
                    size as i64,
                    mtime
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
        .map_err(|e| e.to_string())?;
    let result = write_state(&p.path, &new, settings);
    let after = stamp(&p.path).ok();
    lib.transaction(|tx| {
        match &result {
            Ok(()) => {
                let (s, m) = after.unwrap_or((size, mtime));
                tx.execute(
                    "UPDATE tag_writes SET size_after = ?1, mtime_after = ?2 WHERE id = ?3",
                    params![s as i64, m, write_id],
                )?;
                tx.execute(
                    "UPDATE tracks SET genres = ?1, size = ?2, mtime_ns = ?3 WHERE id = ?4",
                    params![
                        serde_json::to_string(&new.genres).expect("serialises"),
                        s as i64,
                        m,
                        p.track_id
                    ],
                )?;
            }
            Err(e) => {
                tx.execute(
                    "UPDATE tag_writes SET error = ?1 WHERE id = ?2",
                    params![e, write_id],
                )?;
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    result
}

/// A batch of writes, for the history.
#[derive(Clone, Debug, Serialize)]
pub struct Batch {
    pub id: i64,
    pub at: i64,
    pub files: usize,
    pub undone: bool,
}

/// Tag-write batches, newest first.
pub fn batches(lib: &Library) -> anyhow::Result<Vec<Batch>> {
    let mut stmt = lib.conn().prepare(
        "SELECT b.id, b.at, b.undone_at IS NOT NULL,
                (SELECT count(*) FROM tag_writes w WHERE w.batch_id = b.id AND w.error IS NULL)
         FROM tag_batches b ORDER BY b.id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Batch {
            id: r.get(0)?,
            at: r.get(1)?,
            undone: r.get(2)?,
            files: r.get::<_, i64>(3)? as usize,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Restores every file of `batch_id` (default: the latest batch not undone)
/// to its genre state before the batch. A file changed since Sonotag wrote it
/// is refused.
pub fn undo(
    lib: &mut Library,
    batch_id: Option<i64>,
    settings: WriteSettings,
) -> anyhow::Result<(i64, Vec<FileOutcome>)> {
    let batch_id = match batch_id {
        Some(b) => b,
        None => lib
            .conn()
            .query_row(
                "SELECT id FROM tag_batches WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| anyhow::anyhow!("nothing to undo: no tag writes yet"))?,
    };
    let writes: Vec<(i64, i64, PathBuf, String, i64, i64)> = {
        let mut stmt = lib.conn().prepare(
            "SELECT w.id, w.track_id, t.path, w.old_genres, w.size_after, w.mtime_after
             FROM tag_writes w JOIN tracks t ON t.id = w.track_id
             WHERE w.batch_id = ?1 AND w.error IS NULL AND w.size_after IS NOT NULL ORDER BY w.id DESC",
        )?;
        let rows = stmt.query_map([batch_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                path_from_bytes(r.get(2)?),
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut outcomes = Vec::new();
    for (_, track_id, path, old, size_after, mtime_after) in writes {
        let old: GenreState = serde_json::from_str(&old)?;
        let result = match stamp(&path) {
            Err(_) if !path.exists() => Err("file no longer exists".to_string()),
            Err(e) => Err(e),
            Ok((s, m)) if s as i64 != size_after || m != mtime_after => {
                Err("file changed since Sonotag wrote it: not restored".into())
            }
            Ok(_) => write_state(&path, &old, settings),
        };
        if result.is_ok() {
            let (s, m) = stamp(&path).unwrap_or((0, 0));
            lib.transaction(|tx| {
                tx.execute(
                    "UPDATE tracks SET genres = ?1, size = ?2, mtime_ns = ?3 WHERE id = ?4",
                    params![
                        serde_json::to_string(&old.genres).expect("serialises"),
                        s as i64,
                        m,
                        track_id
                    ],
                )?;
                Ok(())
            })?;
        }
        outcomes.push(FileOutcome {
            path,
            error: result.err(),
        });
    }
    lib.transaction(|tx| {
        tx.execute(
            "UPDATE tag_batches SET undone_at = ?1 WHERE id = ?2",
            params![now(), batch_id],
        )?;
        Ok(())
    })?;
    Ok((batch_id, outcomes))
}
