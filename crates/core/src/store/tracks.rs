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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStamp {
    pub id: i64,
    pub size: u64,
    pub mtime_ns: i64,
    pub status: TrackStatus,
    /// `device:inode:ctime_ns`; `None` in libraries from before it was kept.
    pub identity: Option<String>,
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
    /// "scan" or "analysis".
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
            .prepare("SELECT path, id, size, mtime_ns, status, identity FROM tracks")
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

    /// Scan errors, newest first.
    /// Every file that failed, at any stage, newest first; a track that
    /// failed for several models is listed once (its latest message).
    pub fn file_errors(&self) -> Result<Vec<FileError>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, 'scan', message, at FROM scan_errors
                 UNION ALL
                 SELECT t.path, 'analysis', e.message, max(e.at) FROM analysis_errors e
                   JOIN tracks t ON t.id = e.track_id GROUP BY e.track_id
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
                    stage: if r.get::<_, String>(1)? == "scan" {
                        "scan"
                    } else {
                        "analysis"
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
    pub info: std::result::Result<&'a TrackInfo, &'a str>,
}

impl Library {
    /// Stores one batch of scanned files in one transaction: tracks added
    /// or updated, unreadable files recorded as scan errors.
    pub fn store_scanned(&mut self, files: &[ScannedFile]) -> Result<()> {
        self.transaction(|tx| {
            for f in files {
                match f.info {
                    Ok(info) => {
                        let id = upsert_track(tx, f.path, f.size, f.mtime_ns, info)?;
                        tx.execute(
                            "UPDATE tracks SET identity = ?1 WHERE id = ?2",
                            params![f.identity, id],
                        )?;
                    }
                    Err(message) => record_scan_error(tx, f.path, message)?,
                }
            }
            Ok(())
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
