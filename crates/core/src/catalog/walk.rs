//! Walking music folders and recording what each audio file says about itself.
//!
//! A file is a candidate by extension ([`crate::audio::formats`]) and is
//! accepted only when lofty recognises its content ([`crate::tags::read`]); a text file named `.mp3` becomes a
//! per-file error, not a track. Scans are incremental: a file whose size and
//! mtime match the library is not opened again, vanished files are marked
//! `missing` (their history stays), and changed files are re-read. Tags are
//! read in parallel (rayon) and committed in batches, so an interrupted scan
//! keeps everything already committed and a rerun resumes.

use crate::audio::formats::is_audio_candidate;
use crate::cancel::Cancel;
use crate::store::{FileStamp, Library, LibraryError, ScannedFile, TrackInfo, TrackStatus};
use crate::tags::read::read_info;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Files per committed batch.
const BATCH: usize = 256;

/// Where a scan is, for progress bars.
#[derive(Clone, Debug)]
pub enum ScanProgress {
    /// Still walking folders; `found` candidates so far.
    Walking { found: usize },
    /// Reading tags of new or changed files.
    Reading {
        done: usize,
        total: usize,
        current: PathBuf,
    },
}

/// Counts reported at the end of a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScanSummary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub missing: usize,
    pub errors: usize,
    /// True when the scan was cancelled before the end (nothing marked missing).
    pub cancelled: bool,
}

/// A per-file problem met during a scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileProblem {
    #[serde(serialize_with = "crate::store::serialize_path_str")]
    pub path: PathBuf,
    pub message: String,
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// A file found by the walk that needs reading.
struct Pending {
    path: PathBuf,
    size: u64,
    mtime_ns: i64,
    identity: String,
    known: Option<FileStamp>,
}

/// Scans `roots` into `lib`. `progress` is called from this thread; `cancel`
/// stops between batches. Per-file problems are recorded in the library and
/// returned; only library errors fail the scan.
pub fn scan(
    lib: &mut Library,
    roots: &[PathBuf],
    cancel: &Cancel,
    progress: &mut dyn FnMut(&ScanProgress),
) -> Result<(ScanSummary, Vec<FileProblem>), LibraryError> {
    let stamps = lib.file_stamps()?;
    let mut summary = ScanSummary::default();
    let mut problems = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut todo: Vec<Pending> = Vec::new();
    let roots: Vec<PathBuf> = roots
        .iter()
        .map(|r| std::path::absolute(r).unwrap_or_else(|_| r.clone()))
        .collect();

    let mut last_report = Instant::now();
    for root in &roots {
        if !root.exists() {
            problems.push(FileProblem {
                path: root.clone(),
                message: "folder does not exist".into(),
            });
            continue;
        }
        for entry in walkdir::WalkDir::new(root).follow_links(true) {
            if cancel.is_cancelled() {
                summary.cancelled = true;
                return Ok((summary, problems));
            }
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    let message = if e.loop_ancestor().is_some() {
                        "symbolic link loop (skipped)".to_string()
                    } else {
                        format!(
                            "cannot read: {}",
                            e.io_error().map_or(e.to_string(), |io| io.to_string())
                        )
                    };
                    problems.push(FileProblem { path, message });
                    continue;
                }
            };
            if !entry.file_type().is_file() || !is_audio_candidate(entry.path()) {
                continue;
            }
            let path = entry.into_path();
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(FileProblem {
                        message: format!("cannot read file: {e}"),
                        path,
                    });
                    continue;
                }
            };
            let (size, mtime) = (meta.len(), mtime_ns(&meta));
            let identity = crate::tags::identity_text(&meta);
            let known = stamps.get(&path).cloned();
            seen.insert(path.clone());
            match known {
                Some(k)
                    if k.size == size
                        && k.mtime_ns == mtime
                        && k.identity.as_deref() == Some(identity.as_str())
                        && k.status != TrackStatus::Missing =>
                {
                    summary.unchanged += 1
                }
                _ => todo.push(Pending {
                    path,
                    size,
                    mtime_ns: mtime,
                    identity,
                    known,
                }),
            }
            if last_report.elapsed() > Duration::from_millis(100) {
                progress(&ScanProgress::Walking { found: seen.len() });
                last_report = Instant::now();
            }
        }
    }
    progress(&ScanProgress::Walking { found: seen.len() });
    let walk_problems = problems.clone();
    let walk_errors: Vec<(&Path, &str)> = walk_problems
        .iter()
        .map(|p| (p.path.as_path(), p.message.as_str()))
        .collect();
    lib.record_scan_errors(&walk_errors)?;

    let total = todo.len();
    let mut done = 0;
    for batch in todo.chunks(BATCH) {
        if cancel.is_cancelled() {
            summary.cancelled = true;
            break;
        }
        let results: Vec<Result<TrackInfo, String>> =
            batch.par_iter().map(|p| read_info(&p.path)).collect();
        let scanned: Vec<ScannedFile> = batch
            .iter()
            .zip(&results)
            .map(|(p, result)| ScannedFile {
                path: &p.path,
                size: p.size,
                mtime_ns: p.mtime_ns,
                identity: Some(&p.identity),
                info: result.as_ref().map_err(String::as_str),
            })
            .collect();
        lib.store_scanned(&scanned)?;
        for (p, result) in batch.iter().zip(&results) {
            if result.is_ok() {
                if p.known.is_some() {
                    summary.updated += 1;
                } else {
                    summary.added += 1;
                }
            }
        }
        for (p, result) in batch.iter().zip(results) {
            if let Err(message) = result {
                problems.push(FileProblem {
                    path: p.path.clone(),
                    message,
                });
            }
        }
        done += batch.len();
        progress(&ScanProgress::Reading {
            done,
            total,
            current: batch.last().map(|p| p.path.clone()).unwrap_or_default(),
        });
    }

    if !summary.cancelled {
        let under_roots = |p: &Path| roots.iter().any(|r| p.starts_with(r));
        let vanished: Vec<(PathBuf, FileStamp)> = stamps
            .into_iter()
            .filter(|(p, s)| {
                s.status != TrackStatus::Missing && under_roots(p) && !seen.contains(p)
            })
            .collect();
        summary.missing = vanished.len();
        let stale_errors: Vec<PathBuf> = lib
            .scan_errors()?
            .into_iter()
            .map(|e| e.path)
            .filter(|p| under_roots(p) && !seen.contains(p) && !p.exists())
            .collect();
        let vanished_ids: Vec<i64> = vanished.iter().map(|(_, s)| s.id).collect();
        lib.forget_vanished(&vanished_ids, &stale_errors)?;
    }
    summary.errors = problems.len();
    Ok((summary, problems))
}
