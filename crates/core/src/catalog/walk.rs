//! Walking music folders and recording what each audio file says about itself.
//!
//! A file is a candidate by extension ([`crate::audio::formats`]) and is
//! accepted only when lofty recognises its content ([`crate::tags::read`]); a
//! text file named `.mp3` becomes a per-file error, not a track. Every other
//! file is recorded as skipped with its reason, so each file under a folder is
//! a track, an error or a skip.
//!
//! Scans are incremental: a file whose size, mtime and identity match the
//! library is not opened again, and changed files are re-read. The library
//! follows files that other tools move, rename or re-tag: a file at a new
//! path is the known track whose file is gone when both have the same name,
//! size and mtime (moved untouched: nothing is read), or the same recording
//! ([`crate::audio::content_key`]) and length (renamed, re-tagged). Where
//! several share a recording (copies), the pair is the same file (device and
//! inode: renamed, not copied), else the same file name, else the longest
//! common path tail; a copy left over is a new track. Vanished files under a scanned folder are marked `missing`
//! (their history stays until the user forgets them); a folder that is gone
//! or empty where the library knows tracks (an unplugged drive) is reported,
//! and its tracks are left as they were. Tags are read in parallel (rayon)
//! and committed in batches, so an interrupted scan keeps everything already
//! committed and a rerun resumes.

use crate::audio::content_key::audio_key;
use crate::audio::formats::{is_audio_candidate, skip_reason, skipped_audio};
use crate::cancel::Cancel;
use crate::store::{
    FileStamp, Library, LibraryError, Relink, ScannedFile, SkippedFile, TrackInfo, TrackStatus,
};
use crate::tags::read::read_info;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
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
    /// Known tracks found at a new path (moved or renamed, perhaps
    /// re-tagged); their decisions, analyses and write history went along.
    pub moved: usize,
    pub missing: usize,
    pub errors: usize,
    /// Known tracks whose recording changed in place (not only their tags):
    /// analysed again at the next classify.
    pub audio_changed: usize,
    /// Files that are not candidates, each recorded with its reason.
    pub skipped: usize,
    /// Of those, audio files this build cannot decode.
    pub skipped_audio: usize,
    /// Scanned folders that are gone, or empty where the library knows
    /// tracks: their tracks were left as they were, not marked missing.
    pub gone: Vec<String>,
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

/// A pending file once read: its tags and its recording's key.
struct Read {
    info: Result<TrackInfo, String>,
    key: Option<String>,
}

/// Known tracks whose file is gone: what a file at a new path may be.
struct Lost {
    /// id → old path and stamp.
    tracks: HashMap<i64, (PathBuf, FileStamp)>,
    /// (file name, size, mtime) → ids: moved untouched.
    by_stamp: HashMap<(std::ffi::OsString, u64, i64), Vec<i64>>,
    /// recording key → ids: renamed or re-tagged.
    by_key: HashMap<String, Vec<i64>>,
    /// Ids already found again.
    found: HashSet<i64>,
}

impl Lost {
    fn new(tracks: HashMap<i64, (PathBuf, FileStamp)>) -> Self {
        let mut by_stamp: HashMap<_, Vec<i64>> = HashMap::new();
        let mut by_key: HashMap<_, Vec<i64>> = HashMap::new();
        for (id, (path, stamp)) in &tracks {
            if let Some(name) = path.file_name() {
                by_stamp
                    .entry((name.to_os_string(), stamp.size, stamp.mtime_ns))
                    .or_default()
                    .push(*id);
            }
            if let Some(key) = &stamp.audio_key {
                by_key.entry(key.clone()).or_default().push(*id);
            }
        }
        Self {
            tracks,
            by_stamp,
            by_key,
            found: HashSet::new(),
        }
    }

    /// The one lost track with this file's name, size and mtime.
    fn same_file(&mut self, p: &Pending) -> Option<i64> {
        let name = p.path.file_name()?.to_os_string();
        let ids = self.by_stamp.get(&(name, p.size, p.mtime_ns))?;
        let open: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !self.found.contains(id))
            .collect();
        let id = (open.len() == 1).then(|| open[0])?;
        self.found.insert(id);
        Some(id)
    }

    /// Whether some lost track has this recording.
    fn has_key(&self, key: &str) -> bool {
        self.by_key.contains_key(key)
    }

    /// Pairs files at new paths with lost tracks of the same recording and
    /// length: the same file (device and inode: renamed or re-tagged in
    /// place, not copied) first, then the same file name, then the longest
    /// common path tail, then walk order. Returns (index into `files`,
    /// track id).
    fn same_recording(&mut self, files: &[NewFile]) -> Vec<(usize, i64)> {
        let mut pairs = Vec::new();
        let mut claimed = vec![false; files.len()];
        for pass in [Pass::SameInode, Pass::SameName, Pass::Any] {
            for (i, f) in files.iter().enumerate() {
                let (path, key, duration) = (f.path, f.key, f.duration_s);
                if claimed[i] {
                    continue;
                }
                let Some(ids) = self.by_key.get(key) else {
                    continue;
                };
                let best = ids
                    .iter()
                    .filter(|id| !self.found.contains(id))
                    .filter_map(|id| self.tracks.get(id).map(|t| (*id, t)))
                    .filter(|(_, (_, s))| match (s.duration_s, duration) {
                        (Some(a), Some(b)) => (a - b).abs() <= 1.0,
                        _ => true,
                    })
                    .filter(|(_, (old, s))| match pass {
                        Pass::SameInode => {
                            s.identity.as_deref().map(inode_of) == Some(inode_of(f.identity))
                        }
                        Pass::SameName => old.file_name() == path.file_name(),
                        Pass::Any => true,
                    })
                    .max_by_key(|(id, (old, _))| (common_tail(old, path), std::cmp::Reverse(*id)));
                if let Some((id, _)) = best {
                    self.found.insert(id);
                    claimed[i] = true;
                    pairs.push((i, id));
                }
            }
        }
        pairs
    }
}

/// A file at a new path whose recording some lost track has.
struct NewFile<'a> {
    path: &'a Path,
    key: &'a str,
    duration_s: Option<f64>,
    identity: &'a str,
}

/// The rounds of [`Lost::same_recording`], surest first.
#[derive(Clone, Copy)]
enum Pass {
    SameInode,
    SameName,
    Any,
}

/// `device:inode` of an identity `device:inode:ctime_ns` (a rename changes
/// the ctime, not the inode).
fn inode_of(identity: &str) -> &str {
    identity.rsplit_once(':').map_or(identity, |(di, _)| di)
}

/// How many trailing path components two paths share.
fn common_tail(a: &Path, b: &Path) -> usize {
    a.components()
        .rev()
        .zip(b.components().rev())
        .take_while(|(x, y)| x == y)
        .count()
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
    let mut skipped: Vec<SkippedFile> = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut todo: Vec<Pending> = Vec::new();
    let mut unkeyed: Vec<(i64, PathBuf)> = Vec::new();
    let roots: Vec<PathBuf> = roots
        .iter()
        .map(|r| std::path::absolute(r).unwrap_or_else(|_| r.clone()))
        .collect();
    let mut walked: Vec<PathBuf> = Vec::new();

    let mut last_report = Instant::now();
    for root in &roots {
        let known_here = stamps
            .iter()
            .filter(|(p, s)| s.status != TrackStatus::Missing && p.starts_with(root))
            .count();
        if !root.exists() {
            if known_here > 0 {
                summary.gone.push(root.display().to_string());
            }
            problems.push(FileProblem {
                path: root.clone(),
                message: if known_here > 0 {
                    format!(
                        "folder not found (an unplugged drive?): its {known_here} tracks are kept \
                         as they were"
                    )
                } else {
                    "folder does not exist".into()
                },
            });
            continue;
        }
        let found_before = seen.len();
        let skipped_before = skipped.len();
        for entry in walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
        {
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
            if !entry.file_type().is_file() {
                continue;
            }
            if !is_audio_candidate(entry.path()) {
                let reason = skip_reason(entry.path());
                skipped.push(SkippedFile {
                    path: entry.into_path(),
                    reason,
                });
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
                    summary.unchanged += 1;
                    if k.audio_key.is_none() && k.status == TrackStatus::Ok {
                        unkeyed.push((k.id, path));
                    }
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
        if seen.len() == found_before && known_here > 0 {
            // An empty mount point where a drive's music was: not deletions.
            summary.gone.push(root.display().to_string());
            problems.push(FileProblem {
                path: root.clone(),
                message: format!(
                    "folder holds no audio where the library knows {known_here} tracks (an \
                     unplugged drive?): they are kept as they were"
                ),
            });
            skipped.truncate(skipped_before);
            continue;
        }
        walked.push(root.clone());
    }
    progress(&ScanProgress::Walking { found: seen.len() });
    let walk_problems = problems.clone();
    let walk_errors: Vec<(&Path, &str)> = walk_problems
        .iter()
        .map(|p| (p.path.as_path(), p.message.as_str()))
        .collect();
    lib.record_scan_errors(&walk_errors)?;
    summary.skipped = skipped.len();
    summary.skipped_audio = skipped.iter().filter(|s| skipped_audio(&s.reason)).count();
    lib.record_skips(&walked, &skipped)?;

    // Known tracks whose file is gone, wherever they were: a file at a new
    // path may be one of them.
    let under_walked = |p: &Path| walked.iter().any(|r| p.starts_with(r));
    let lost: HashMap<i64, (PathBuf, FileStamp)> = stamps
        .iter()
        .filter(|(p, s)| {
            !seen.contains(*p)
                && (s.status == TrackStatus::Missing || under_walked(p) || !p.exists())
        })
        .map(|(p, s)| (s.id, (p.clone(), s.clone())))
        .collect();
    let mut lost = Lost::new(lost);

    // Moved untouched: same name, size and mtime as a lost track.
    let mut moved_untouched = Vec::new();
    todo.retain(|p| {
        if p.known.is_some() {
            return true;
        }
        match lost.same_file(p) {
            Some(id) => {
                moved_untouched.push((id, p.path.clone(), p.size, p.mtime_ns, p.identity.clone()));
                false
            }
            None => true,
        }
    });
    let relinks: Vec<Relink> = moved_untouched
        .iter()
        .map(|(id, path, size, mtime_ns, identity)| Relink {
            id: *id,
            path,
            size: *size,
            mtime_ns: *mtime_ns,
            identity,
            info: None,
            audio_key: None,
        })
        .collect();
    lib.relink(&relinks)?;
    summary.moved += relinks.len();
    for (id, path, ..) in &moved_untouched {
        if lost.tracks[id].1.audio_key.is_none() {
            unkeyed.push((*id, path.clone()));
        }
    }

    // Everything else is read: tags and the recording's key. New paths whose
    // recording a lost track has wait until all are read, to be paired.
    let total = todo.len() + unkeyed.len();
    let mut done = 0;
    let mut waiting: Vec<(&Pending, Read)> = Vec::new();
    for batch in todo.chunks(BATCH) {
        if cancel.is_cancelled() {
            summary.cancelled = true;
            break;
        }
        let reads: Vec<Read> = batch.par_iter().map(|p| read_one(&p.path)).collect();
        let mut now: Vec<(&Pending, Read)> = Vec::new();
        for (p, read) in batch.iter().zip(reads) {
            let may_be_lost = p.known.is_none()
                && read.info.is_ok()
                && read.key.as_deref().is_some_and(|k| lost.has_key(k));
            if may_be_lost {
                waiting.push((p, read));
            } else {
                now.push((p, read));
            }
        }
        store(lib, &now, &mut summary, &mut problems)?;
        done += batch.len();
        progress(&ScanProgress::Reading {
            done,
            total,
            current: batch.last().map(|p| p.path.clone()).unwrap_or_default(),
        });
    }
    if !waiting.is_empty() {
        let files: Vec<NewFile> = waiting
            .iter()
            .map(|(p, r)| NewFile {
                path: &p.path,
                key: r.key.as_deref().unwrap_or_default(),
                duration_s: r.info.as_ref().ok().and_then(|i| i.duration_s),
                identity: &p.identity,
            })
            .collect();
        let pairs = lost.same_recording(&files);
        let paired: HashMap<usize, i64> = pairs.into_iter().collect();
        let relinks: Vec<Relink> = waiting
            .iter()
            .enumerate()
            .filter_map(|(i, (p, r))| {
                let id = *paired.get(&i)?;
                Some(Relink {
                    id,
                    path: &p.path,
                    size: p.size,
                    mtime_ns: p.mtime_ns,
                    identity: &p.identity,
                    info: r.info.as_ref().ok(),
                    audio_key: r.key.as_deref(),
                })
            })
            .collect();
        if !summary.cancelled {
            lib.relink(&relinks)?;
            summary.moved += relinks.len();
            let copies: Vec<(&Pending, Read)> = waiting
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !paired.contains_key(i))
                .map(|(_, w)| w)
                .collect();
            store(lib, &copies, &mut summary, &mut problems)?;
        }
    }

    // Tracks read before keys were kept get theirs, once.
    for batch in unkeyed.chunks(BATCH) {
        if cancel.is_cancelled() {
            summary.cancelled = true;
            break;
        }
        let keys: Vec<(i64, String)> = batch
            .par_iter()
            .filter_map(|(id, path)| audio_key(path).ok().map(|k| (*id, k)))
            .collect();
        lib.store_audio_keys(&keys)?;
        done += batch.len();
        progress(&ScanProgress::Reading {
            done,
            total,
            current: batch.last().map(|(_, p)| p.clone()).unwrap_or_default(),
        });
    }

    if !summary.cancelled {
        let vanished: Vec<i64> = lost
            .tracks
            .iter()
            .filter(|(id, (p, s))| {
                s.status != TrackStatus::Missing && under_walked(p) && !lost.found.contains(id)
            })
            .map(|(id, _)| *id)
            .collect();
        summary.missing = vanished.len();
        let stale_errors: Vec<PathBuf> = lib
            .scan_errors()?
            .into_iter()
            .map(|e| e.path)
            .filter(|p| under_walked(p) && !seen.contains(p) && !p.exists())
            .collect();
        lib.forget_vanished(&vanished, &stale_errors)?;
    }
    summary.errors = problems.len();
    Ok((summary, problems))
}

/// Reads one file's tags and, when they read, its recording's key.
fn read_one(path: &Path) -> Read {
    let info = read_info(path);
    let key = info.is_ok().then(|| audio_key(path).ok()).flatten();
    Read { info, key }
}

/// Stores read files as added or updated tracks, or as errors.
fn store(
    lib: &mut Library,
    files: &[(&Pending, Read)],
    summary: &mut ScanSummary,
    problems: &mut Vec<FileProblem>,
) -> Result<(), LibraryError> {
    let scanned: Vec<ScannedFile> = files
        .iter()
        .map(|(p, r)| ScannedFile {
            path: &p.path,
            size: p.size,
            mtime_ns: p.mtime_ns,
            identity: Some(&p.identity),
            audio_key: r.key.as_deref(),
            info: r.info.as_ref().map_err(String::as_str),
        })
        .collect();
    summary.audio_changed += lib.store_scanned(&scanned)?;
    for (p, r) in files {
        match &r.info {
            Ok(_) if p.known.is_some() => summary.updated += 1,
            Ok(_) => summary.added += 1,
            Err(message) => problems.push(FileProblem {
                path: p.path.clone(),
                message: message.clone(),
            }),
        }
    }
    Ok(())
}
