//! The SQLite library file: schema, migrations and typed access to tracks.
//!
//! One file (default `~/.local/share/sonotag/library.sqlite`) holds
//! everything Sonotag knows: scanned tracks and their tags, scan errors,
//! analyses stamped with the feature and model version, proposals, trusted
//! labels, tag-write history (for undo) and registered models. WAL mode lets
//! the GUI read while a background job writes; foreign keys are enforced.
//!
//! This module is the only one that speaks SQL: the connection is private,
//! and each table group has typed functions in its own file (`labels`,
//! `tag_history`, `analyses`, `models`, `track_rows`); migrations are below.
//!
//! Paths are stored as raw bytes (`path` BLOB) so non-UTF-8 file names survive
//! a round trip, with a lossy `path_text` beside them for display and search.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::{Path, PathBuf};

mod analyses;
mod labels;
mod models;
mod tag_history;
mod track_rows;

pub use analyses::{Analysis, Outcome, PendingTrack, ProposalRow};
pub use labels::{DecisionRow, DecisionSource, Label, LabelledFile, TrackLabel, is_written};
pub use models::ModelRecord;
pub use tag_history::{Batch, BatchState, NewWrite, TagWrite, WriteKind};
pub use track_rows::TrackRow;

/// Errors from the library file; each names the database path.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("library {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("library {}: cannot create folder: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "library {}: written by a newer Sonotag (schema {found}, this build knows {known}); upgrade Sonotag",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

pub type Result<T> = std::result::Result<T, LibraryError>;

/// Schema migrations; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // v1: the analysis core and room for the model, review and tag history.
    r#"
    CREATE TABLE tracks (
        id            INTEGER PRIMARY KEY,
        path          BLOB NOT NULL UNIQUE,
        path_text     TEXT NOT NULL,
        size          INTEGER NOT NULL,
        mtime_ns      INTEGER NOT NULL,
        format        TEXT,
        duration_s    REAL,
        sample_rate   INTEGER,
        channels      INTEGER,
        bitrate_kbps  INTEGER,
        title         TEXT,
        artist        TEXT,
        album         TEXT,
        album_artist  TEXT,
        track_no      INTEGER,
        year          INTEGER,
        genres        TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
        status        TEXT NOT NULL DEFAULT 'ok',   -- ok | missing | error
        scanned_at    INTEGER NOT NULL
    );
    CREATE INDEX tracks_status ON tracks(status);

    CREATE TABLE scan_errors (
        path       BLOB PRIMARY KEY,
        path_text  TEXT NOT NULL,
        message    TEXT NOT NULL,
        at         INTEGER NOT NULL
    );

    CREATE TABLE models (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        path        TEXT NOT NULL,
        parent      INTEGER REFERENCES models(id),
        card        TEXT NOT NULL,               -- the model card JSON
        created_at  INTEGER NOT NULL,
        active      INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE analyses (
        track_id          INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        model_id          INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        features_version  INTEGER NOT NULL,
        slices            INTEGER NOT NULL,
        slice_starts      BLOB NOT NULL,   -- u32 LE column index per slice
        probabilities     BLOB NOT NULL,   -- u8 (p*255) slices × classes
        embeddings        BLOB NOT NULL,   -- f16 LE slices × dim
        decode_errors     INTEGER NOT NULL DEFAULT 0,
        created_at        INTEGER NOT NULL,
        PRIMARY KEY (track_id, model_id)
    );

    CREATE TABLE analysis_errors (
        track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        message    TEXT NOT NULL,
        at         INTEGER NOT NULL,
        PRIMARY KEY (track_id, model_id)
    );

    CREATE TABLE proposals (
        track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        genre      TEXT,
        share      REAL NOT NULL,
        votes      INTEGER NOT NULL,
        state      TEXT NOT NULL,          -- proposed | unsure
        created_at INTEGER NOT NULL,
        PRIMARY KEY (track_id, model_id)
    );

    CREATE TABLE labels (
        track_id   INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
        genre      TEXT NOT NULL,
        source     TEXT NOT NULL,          -- accepted | overridden | tag
        at         INTEGER NOT NULL
    );

    CREATE TABLE tag_batches (
        id         INTEGER PRIMARY KEY,
        at         INTEGER NOT NULL,
        undone_at  INTEGER
    );

    CREATE TABLE tag_writes (
        id           INTEGER PRIMARY KEY,
        batch_id     INTEGER NOT NULL REFERENCES tag_batches(id),
        track_id     INTEGER NOT NULL REFERENCES tracks(id),
        old_genres   TEXT NOT NULL,
        new_genres   TEXT NOT NULL,
        size_before  INTEGER NOT NULL,
        mtime_before INTEGER NOT NULL,
        size_after   INTEGER,
        mtime_after  INTEGER,
        error        TEXT
    );
    "#,
    // v2: a per-track permission to replace a genre the file already has.
    r#"
    ALTER TABLE labels ADD COLUMN replace_existing INTEGER NOT NULL DEFAULT 0;
    "#,
    // v3: byte-exact undo (hash of what was written, reverse patch),
    // per-file undo (a batch undone in part can be finished later), and
    // the genre typed when the user asked for its super-genre.
    r#"
    ALTER TABLE tag_writes ADD COLUMN written_sha256 TEXT;
    ALTER TABLE tag_writes ADD COLUMN undo_patch BLOB;
    ALTER TABLE tag_writes ADD COLUMN undone_at INTEGER;
    ALTER TABLE labels ADD COLUMN mapped_from TEXT;
    "#,
    // The file's identity (device:inode:ctime_ns) beside size and mtime: a
    // file swapped for another of the same size and mtime is noticed.
    r#"
    ALTER TABLE tracks ADD COLUMN identity TEXT;
    "#,
];

/// Current schema version of this build.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

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
    fn parse(s: &str) -> Self {
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

/// Serialises a path as a (lossy) string, for JSON output.
pub fn serialize_path_str<S: serde::Serializer>(
    p: &Path,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
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

/// Raw bytes of a path (lossless on Unix).
pub fn path_bytes(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().as_bytes().to_vec()
    }
}

/// Path from raw bytes stored by [`path_bytes`].
pub fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 as a civil date (year, month, day), proleptic
/// Gregorian, after H. Hinnant's algorithm.
pub fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A time stored by the library (seconds since 1970) as people read it:
/// `2026-11-28 05:10 UTC`.
pub fn utc_text(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// An open library file.
pub struct Library {
    conn: Connection,
    path: PathBuf,
}

impl Library {
    /// Opens (creating if needed) the library at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LibraryError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| LibraryError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        let mut lib = Self {
            conn,
            path: path.to_path_buf(),
        };
        lib.configure()?;
        lib.migrate()?;
        Ok(lib)
    }

    /// The file this library lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A number that changes whenever another connection (another process,
    /// or another connection of this one) commits to the library: a cheap
    /// way for a view to know it is stale.
    pub fn data_version(&self) -> Result<i64> {
        self.read(|c| c.query_row("PRAGMA data_version", [], |r| r.get(0)))
    }

    /// Wraps a rusqlite error with the library path.
    pub fn err(&self, source: rusqlite::Error) -> LibraryError {
        LibraryError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn configure(&mut self) -> Result<()> {
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 10000;",
            )
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > SCHEMA_VERSION {
            return Err(LibraryError::TooNew {
                path: self.path.clone(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction().map_err(|e| LibraryError::Sqlite {
                path: self.path.clone(),
                source: e,
            })?;
            tx.execute_batch(sql)
                .and_then(|_| tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1)))
                .and_then(|_| tx.commit())
                .map_err(|source| LibraryError::Sqlite {
                    path: self.path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Schema version stored in the file.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Runs read-only queries `f` on the connection, naming the library in
    /// an error.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        f(&self.conn).map_err(|e| self.err(e))
    }

    /// Runs `f` inside one transaction (committed when `f` succeeds).
    fn transaction<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        let wrap = |source| LibraryError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        let out = f(&tx).map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        Ok(out)
    }

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
fn upsert_track(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_reads_like_a_calendar() {
        assert_eq!(utc_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_text(1_795_842_600), "2026-11-28 05:10 UTC");
    }

    #[test]
    fn migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sub/lib.sqlite");
        let mut lib = Library::open(&db).unwrap();
        assert_eq!(lib.schema_version().unwrap(), SCHEMA_VERSION);
        let info = TrackInfo {
            genres: vec!["Rock".into(), "Blues".into()],
            ..Default::default()
        };
        let id = lib
            .transaction(|tx| upsert_track(tx, Path::new("/m/a.mp3"), 10, 5, &info))
            .unwrap();
        drop(lib);
        let lib = Library::open(&db).unwrap();
        let t = lib.track(id).unwrap().unwrap();
        assert_eq!(t.info.genres, vec!["Rock", "Blues"]);
        let f = TrackFilter {
            genre: Some("blues".into()),
            ..Default::default()
        };
        assert_eq!(lib.tracks(&f).unwrap().len(), 1);
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lib.sqlite");
        drop(Library::open(&db).unwrap());
        let c = Connection::open(&db).unwrap();
        c.execute_batch("PRAGMA user_version = 999").unwrap();
        drop(c);
        let err = Library::open(&db).err().unwrap().to_string();
        assert!(err.contains("newer Sonotag"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_paths_round_trip() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"/m/caf\xe9.mp3"));
        assert_eq!(path_from_bytes(path_bytes(p)), p);
    }
}
