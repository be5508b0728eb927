//! The `tracks` and `scan_errors` tables: what a scan found on disk, each
//! file's stamp for incremental rescans, and the per-file errors.

use super::*;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where a track stands on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackStatus {
    Ok,
    Missing,
    Error,
}

impl TrackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackStatus::Ok => "ok",
            TrackStatus::Missing => "missing",
            TrackStatus::Error => "error",
        }
    }
    pub(super) fn parse(s: &str) -> Self {
        match s {
            "missing" => TrackStatus::Missing,
            "error" => TrackStatus::Error,
            _ => TrackStatus::Ok,
        }
    }
}

/// What the scanner read from one file (tags and audio properties).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrackInfo {
    pub format: Option<String>,
    pub duration_s: Option<f64>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u8>,
    pub bitrate_kbps: Option<u32>,
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub album_artist: Option<String>,
    pub track_no: Option<u32>,
    pub year: Option<i32>,
    pub genres: Vec<String>,
}

/// A track row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Track {
    pub id: i64,
    #[serde(serialize_with = "serialize_path_str")]
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub status: TrackStatus,
    #[serde(flatten)]
    pub info: TrackInfo,
}

/// Size and mtime of a known file, for incremental scans.
#[derive(Clone, Debug, PartialEq)]
pub struct FileStamp {
    pub id: i64,
    pub size: u64,
    pub mtime_ns: i64,
    pub status: TrackStatus,
    /// `device:inode:ctime_ns`; `None` in libraries from before it was kept.
    pub identity: Option<String>,
    /// The recording's key ([`crate::audio::content_key`]); `None` until a
    /// scan of this version has read it.
    pub audio_key: Option<String>,
    /// Length the tags stated when last read, to check a key's match.
    pub duration_s: Option<f64>,
}

/// A per-file scan error.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScanError {
    #[serde(serialize_with = "serialize_path_str")]
    pub path: PathBuf,
    pub message: String,
    pub at: i64,
}

/// A file that failed at some stage: reading its tags (scan) or decoding it
/// for a model (analysis).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileError {
    #[serde(serialize_with = "serialize_path_str")]
    pub path: PathBuf,
    /// "scan", "analysis" or "skipped" (audio this build cannot decode).
    pub stage: &'static str,
    pub message: String,
    pub at: i64,
}

/// Filters for [`Library::tracks`].
#[derive(Clone, Debug, Default)]
pub struct TrackFilter {
    /// Only tracks carrying this genre tag (case-insensitive).
    pub genre: Option<String>,
    /// Only missing tracks (otherwise only present ones).
    pub missing: bool,
}

impl Library {
    /// Size/mtime/status of every known path, for incremental scanning.
    pub fn file_stamps(&self) -> Result<std::collections::HashMap<PathBuf, FileStamp>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, id, size, mtime_ns, status, identity, audio_key, duration_s
                 FROM tracks",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    path_from_bytes(r.get(0)?),
                    FileStamp {
                        id: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        mtime_ns: r.get(3)?,
                        status: TrackStatus::parse(&r.get::<_, String>(4)?),
                        identity: r.get(5)?,
                        audio_key: r.get(6)?,
                        duration_s: r.get(7)?,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Tracks matching `filter`, ordered by path.
    pub fn tracks(&self, filter: &TrackFilter) -> Result<Vec<Track>> {
        let mut sql = format!("SELECT {TRACK_COLUMNS} FROM tracks WHERE status = ?1");
        if filter.genre.is_some() {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM json_each(tracks.genres) WHERE lower(value) = lower(?2))",
            );
        }
        sql.push_str(" ORDER BY path_text");
        let status = if filter.missing { "missing" } else { "ok" };
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = match &filter.genre {
            Some(g) => stmt.query_map(params![status, g], track_from_row),
            None => stmt.query_map(params![status], track_from_row),
        }
        .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// One track by id.
    pub fn track(&self, id: i64) -> Result<Option<Track>> {
        self.conn
            .query_row(
                &format!("SELECT {TRACK_COLUMNS} FROM tracks WHERE id = ?1"),
                [id],
                track_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// One track by path.
    pub fn track_by_path(&self, path: &Path) -> Result<Option<Track>> {
        self.conn
            .query_row(
                &format!("SELECT {TRACK_COLUMNS} FROM tracks WHERE path = ?1"),
                [path_bytes(path)],
                track_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every file that failed, at any stage, newest first, with the audio
    /// files a scan skipped because this build cannot decode them (see
    /// [`crate::audio::formats::skipped_audio`]); a track that
    /// failed for several models is listed once (its latest message).
    pub fn file_errors(&self) -> Result<Vec<FileError>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, 'scan', message, at FROM scan_errors
                 UNION ALL
                 SELECT t.path, 'analysis', e.message, max(e.at) FROM analysis_errors e
                   JOIN tracks t ON t.id = e.track_id GROUP BY e.track_id
                 UNION ALL
                 SELECT path, 'skipped', reason, at FROM scan_skips
                   WHERE reason LIKE '%not decoded by this build'
                      OR reason LIKE '%needs ffmpeg, which is not installed'
                 ORDER BY 4 DESC, 1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let path = path_from_bytes(r.get(0)?);
                let message: String = r.get(2)?;
                // Decoder messages start with the path; it is a field here.
                let prefix = format!("{}: ", path.display());
                let message = message
                    .strip_prefix(&prefix)
                    .map(str::to_string)
                    .unwrap_or(message);
                Ok(FileError {
                    path,
                    stage: match r.get::<_, String>(1)?.as_str() {
                        "scan" => "scan",
                        "skipped" => "skipped",
                        _ => "analysis",
                    },
                    message,
                    at: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Files whose tags could not be read during a scan, newest first.
    pub fn scan_errors(&self) -> Result<Vec<ScanError>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, message, at FROM scan_errors ORDER BY at DESC, path_text")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ScanError {
                    path: path_from_bytes(r.get(0)?),
                    message: r.get(1)?,
                    at: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }
}

const TRACK_COLUMNS: &str = "id, path, size, mtime_ns, status, format, duration_s, sample_rate, \
     channels, bitrate_kbps, title, artist, album, album_artist, track_no, year, genres";

fn track_from_row(r: &rusqlite::Row) -> rusqlite::Result<Track> {
    let genres: String = r.get(16)?;
    Ok(Track {
        id: r.get(0)?,
        path: path_from_bytes(r.get(1)?),
        size: r.get::<_, i64>(2)? as u64,
        mtime_ns: r.get(3)?,
        status: TrackStatus::parse(&r.get::<_, String>(4)?),
        info: TrackInfo {
            format: r.get(5)?,
            duration_s: r.get(6)?,
            sample_rate: r.get(7)?,
            channels: r.get(8)?,
            bitrate_kbps: r.get(9)?,
            title: r.get(10)?,
            artist: r.get(11)?,
            album: r.get(12)?,
            album_artist: r.get(13)?,
            track_no: r.get(14)?,
            year: r.get(15)?,
            genres: serde_json::from_str(&genres).unwrap_or_default(),
        },
    })
}

/// A file the scan read: its stamp and its tags, or why they could not be read.
pub struct ScannedFile<'a> {
    pub path: &'a Path,
    pub size: u64,
    pub mtime_ns: i64,
    pub identity: Option<&'a str>,
    /// The recording's key, when it could be read.
    pub audio_key: Option<&'a str>,
    pub info: std::result::Result<&'a TrackInfo, &'a str>,
}

/// A known track found at a new path: moved or renamed, perhaps re-tagged.
pub struct Relink<'a> {
    pub id: i64,
    pub path: &'a Path,
    pub size: u64,
    pub mtime_ns: i64,
    pub identity: &'a str,
    /// The tags read at the new path; `None` when the bytes are the same as
    /// before (same size and mtime), so the stored tags still hold.
    pub info: Option<&'a TrackInfo>,
    pub audio_key: Option<&'a str>,
}

/// A file under a scanned folder that is not a candidate, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SkippedFile {
    #[serde(serialize_with = "serialize_path_str")]
    pub path: PathBuf,
    pub reason: String,
}

impl Library {
    /// Stores one batch of scanned files in one transaction: tracks added
    /// or updated, unreadable files recorded as scan errors. A known track
    /// whose recording changed (its key differs, not only its tags) loses
    /// its analyses and proposals, to be analysed again; its decision stays.
    /// Returns how many tracks that happened to.
    pub fn store_scanned(&mut self, files: &[ScannedFile]) -> Result<usize> {
        self.transaction(|tx| {
            let mut changed = 0;
            for f in files {
                match f.info {
                    Ok(info) => {
                        let before: Option<String> = tx
                            .query_row(
                                "SELECT audio_key FROM tracks WHERE path = ?1",
                                [path_bytes(f.path)],
                                |r| r.get(0),
                            )
                            .optional()?
                            .flatten();
                        let id = upsert_track(tx, f.path, f.size, f.mtime_ns, info)?;
                        tx.execute(
                            "UPDATE tracks SET identity = ?1, audio_key = coalesce(?2, audio_key)
                             WHERE id = ?3",
                            params![f.identity, f.audio_key, id],
                        )?;
                        if let (Some(old), Some(new)) = (before.as_deref(), f.audio_key)
                            && old != new
                        {
                            forget_analyses(tx, id)?;
                            changed += 1;
                        }
                    }
                    Err(message) => record_scan_error(tx, f.path, message)?,
                }
            }
            Ok(changed)
        })
    }

    /// Moves known tracks to the paths they were found at, in one
    /// transaction: id, analyses, proposals, decisions and write history
    /// stay with the track.
    pub fn relink(&mut self, moves: &[Relink]) -> Result<()> {
        self.transaction(|tx| {
            for m in moves {
                let bytes = path_bytes(m.path);
                tx.execute(
                    "UPDATE tracks SET path = ?1, path_text = ?2, size = ?3, mtime_ns = ?4,
                         identity = ?5, audio_key = coalesce(?6, audio_key), status = 'ok',
                         scanned_at = ?7
                     WHERE id = ?8",
                    params![
                        bytes,
                        m.path.to_string_lossy(),
                        m.size as i64,
                        m.mtime_ns,
                        m.identity,
                        m.audio_key,
                        now(),
                        m.id
                    ],
                )?;
                if let Some(info) = m.info {
                    upsert_track(tx, m.path, m.size, m.mtime_ns, info)?;
                }
                tx.execute("DELETE FROM scan_errors WHERE path = ?1", [&bytes])?;
            }
            Ok(())
        })
    }

    /// Stores the recording keys of tracks read before keys were kept.
    pub fn store_audio_keys(&mut self, keys: &[(i64, String)]) -> Result<()> {
        self.transaction(|tx| {
            for (id, key) in keys {
                tx.execute(
                    "UPDATE tracks SET audio_key = ?1 WHERE id = ?2",
                    params![key, id],
                )?;
            }
            Ok(())
        })
    }

    /// Replaces the skipped files recorded under `roots` with `skipped`.
    pub fn record_skips(&mut self, roots: &[PathBuf], skipped: &[SkippedFile]) -> Result<()> {
        let old: Vec<PathBuf> = self
            .scan_skips()?
            .into_iter()
            .map(|s| s.path)
            .filter(|p| roots.iter().any(|r| p.starts_with(r)))
            .collect();
        self.transaction(|tx| {
            for p in &old {
                tx.execute("DELETE FROM scan_skips WHERE path = ?1", [path_bytes(p)])?;
            }
            for s in skipped {
                tx.execute(
                    "INSERT INTO scan_skips (path, path_text, reason, at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(path) DO UPDATE SET reason = excluded.reason, at = excluded.at",
                    params![
                        path_bytes(&s.path),
                        s.path.to_string_lossy(),
                        s.reason,
                        now()
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Files the scans skipped, by path.
    pub fn scan_skips(&self) -> Result<Vec<SkippedFile>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, reason FROM scan_skips ORDER BY path_text")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SkippedFile {
                    path: path_from_bytes(r.get(0)?),
                    reason: r.get(1)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Forgets every missing track: the row, its analyses, proposals,
    /// decision and write history. Only on the user's request (`forget`,
    /// the window's Forget missing): a missing file may come back.
    /// Returns how many were forgotten.
    pub fn forget_missing(&mut self) -> Result<usize> {
        self.transaction(|tx| {
            tx.execute(
                "DELETE FROM tag_writes WHERE track_id IN
                   (SELECT id FROM tracks WHERE status = 'missing')",
                [],
            )?;
            tx.execute(
                "DELETE FROM tag_batches WHERE NOT EXISTS
                   (SELECT 1 FROM tag_writes w WHERE w.batch_id = tag_batches.id)",
                [],
            )?;
            tx.execute("DELETE FROM tracks WHERE status = 'missing'", [])
        })
    }

    /// Records scan errors met before any tags were read (walking folders).
    pub fn record_scan_errors(&mut self, errors: &[(&Path, &str)]) -> Result<()> {
        self.transaction(|tx| {
            for (path, message) in errors {
                record_scan_error(tx, path, message)?;
            }
            Ok(())
        })
    }

    /// Marks vanished tracks missing (their history is kept) and forgets
    /// scan errors of paths that no longer exist.
    pub fn forget_vanished(&mut self, missing: &[i64], stale_errors: &[PathBuf]) -> Result<()> {
        self.transaction(|tx| {
            for id in missing {
                tx.execute("UPDATE tracks SET status = 'missing' WHERE id = ?1", [id])?;
            }
            for p in stale_errors {
                tx.execute("DELETE FROM scan_errors WHERE path = ?1", [path_bytes(p)])?;
            }
            Ok(())
        })
    }
}

/// Inserts or updates a track row for a scanned file (status `ok`) and clears
/// its scan error. Returns the track id.
pub(super) fn upsert_track(
    tx: &rusqlite::Transaction,
    path: &Path,
    size: u64,
    mtime_ns: i64,
    info: &TrackInfo,
) -> rusqlite::Result<i64> {
    let bytes = path_bytes(path);
    let genres = serde_json::to_string(&info.genres).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO tracks (path, path_text, size, mtime_ns, format, duration_s, sample_rate,
             channels, bitrate_kbps, title, artist, album, album_artist, track_no, year, genres,
             status, scanned_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 'ok', ?17)
         ON CONFLICT(path) DO UPDATE SET
             size = excluded.size, mtime_ns = excluded.mtime_ns, format = excluded.format,
             duration_s = excluded.duration_s, sample_rate = excluded.sample_rate,
             channels = excluded.channels, bitrate_kbps = excluded.bitrate_kbps,
             title = excluded.title, artist = excluded.artist, album = excluded.album,
             album_artist = excluded.album_artist, track_no = excluded.track_no,
             year = excluded.year, genres = excluded.genres, status = 'ok',
             scanned_at = excluded.scanned_at",
        params![
            bytes,
            path.to_string_lossy(),
            size as i64,
            mtime_ns,
            info.format,
            info.duration_s,
            info.sample_rate,
            info.channels,
            info.bitrate_kbps,
            info.title,
            info.artist,
            info.album,
            info.album_artist,
            info.track_no,
            info.year,
            genres,
            now()
        ],
    )?;
    tx.execute("DELETE FROM scan_errors WHERE path = ?1", [&bytes])?;
    tx.query_row("SELECT id FROM tracks WHERE path = ?1", [&bytes], |r| {
        r.get(0)
    })
}

/// Drops what was computed from a track's audio (it changed).
fn forget_analyses(tx: &rusqlite::Transaction, id: i64) -> rusqlite::Result<()> {
    for table in ["analyses", "analysis_errors", "proposals"] {
        tx.execute(&format!("DELETE FROM {table} WHERE track_id = ?1"), [id])?;
    }
    Ok(())
}

/// Records a per-file scan error; a known track at that path is marked `error`.
fn record_scan_error(
    tx: &rusqlite::Transaction,
    path: &Path,
    message: &str,
) -> rusqlite::Result<()> {
    let bytes = path_bytes(path);
    tx.execute(
        "INSERT INTO scan_errors (path, path_text, message, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(path) DO UPDATE SET message = excluded.message, at = excluded.at",
        params![bytes, path.to_string_lossy(), message, now()],
    )?;
    tx.execute(
        "UPDATE tracks SET status = 'error' WHERE path = ?1",
        [&bytes],
    )?;
    Ok(())
}
