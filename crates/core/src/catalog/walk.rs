//! Walking music folders and recording what each audio file says about itself.
//!
//! A file is a candidate by extension ([`AUDIO_EXTENSIONS`]) and is accepted
//! only when lofty recognises its content; a text file named `.mp3` becomes a
//! per-file error, not a track. Scans are incremental: a file whose size and
//! mtime match the library is not opened again, vanished files are marked
//! `missing` (their history stays), and changed files are re-read. Tags are
//! read in parallel (rayon) and committed in batches, so an interrupted scan
//! keeps everything already committed and a rerun resumes.

use crate::cancel::Cancel;
use crate::store::{FileStamp, Library, LibraryError, ScannedFile, TrackInfo, TrackStatus};
use lofty::prelude::*;
use lofty::probe::Probe;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Extensions that make a file a candidate (compared case-insensitively).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "mp3", "flac", "ogg", "oga", "opus", "m4a", "mp4", "aac", "alac", "wav", "wave", "aif", "aiff",
    "aifc",
];

/// Files per committed batch.
const BATCH: usize = 256;

/// True when `path` has an audio extension and is not a temporary file
/// that Sonotag before 0.2 left beside a track when killed mid-write
/// (`.<stem>.sonotag-tmp.<ext>`; writes are now made in place).
pub fn is_audio_candidate(path: &Path) -> bool {
    let leftover = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n.contains(".sonotag-tmp"));
    !leftover
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

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

/// Reads properties and tags of one file. The error names the cause only; the
/// caller pairs it with the path.
pub fn read_info(path: &Path) -> Result<TrackInfo, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read file: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file (a folder, pipe or device)".into());
    }
    if meta.len() == 0 {
        return Err("empty file (0 bytes)".into());
    }
    // lofty panics on some damaged headers (e.g. an Opus header with 0
    // channels): that is this file's error, not the scan's end.
    crate::audio::guarded(path, || Ok(read_info_unguarded(path))).unwrap_or_else(|e| match e {
        crate::audio::AudioError::Crashed { message, .. } => {
            Err(format!("the tag reader failed on damaged data ({message})"))
        }
        other => Err(other.to_string()),
    })
}

fn read_info_unguarded(path: &Path) -> Result<TrackInfo, String> {
    let probe = Probe::open(path)
        .map_err(|e| format!("cannot open: {e}"))?
        .options(
            lofty::config::ParseOptions::new()
                .read_cover_art(false)
                .parsing_mode(lofty::config::ParsingMode::Relaxed),
        )
        .guess_file_type()
        .map_err(|e| format!("cannot read: {e}"))?;
    if probe.file_type().is_none() {
        return Err("not an audio file (content is not a known audio format)".into());
    }
    let tagged = probe
        .read()
        .map_err(|e| format!("unreadable audio file: {e}"))?;
    let props = tagged.properties();
    if let Some(rate) = props.sample_rate()
        && !crate::audio::PLAUSIBLE_RATES.contains(&rate)
    {
        return Err(format!(
            "the header declares {rate} Hz, not a real sample rate (damaged file?)"
        ));
    }
    let duration = props.duration().as_secs_f64();
    let mut info = TrackInfo {
        format: Some(format_name(tagged.file_type()).to_string()),
        duration_s: (duration > 0.0).then_some(duration),
        sample_rate: props.sample_rate(),
        channels: props.channels(),
        bitrate_kbps: props.audio_bitrate().or(props.overall_bitrate()),
        ..Default::default()
    };
    if let Some(tag) = tagged.primary_tag().or_else(|| tagged.first_tag()) {
        let text = |s: Option<std::borrow::Cow<'_, str>>| {
            s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
        };
        info.title = text(tag.title());
        info.artist = text(tag.artist());
        info.album = text(tag.album());
        info.album_artist = tag
            .get_string(ItemKey::AlbumArtist)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        info.track_no = tag.track();
        info.year = tag.date().map(|d| d.year as i32).or_else(|| {
            tag.get_string(ItemKey::Year)
                .and_then(|y| y.get(..4)?.parse().ok())
        });
        info.genres = split_genres(tag.get_strings(ItemKey::Genre));
    }
    Ok(info)
}

/// Splits and normalises genre values: multi-value separators (`;`, NUL,
/// `/` between ID3 references), ID3v1 numeric references like `(17)` or `17`
/// resolved to names, duplicates removed (order kept).
pub fn split_genres<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        for part in value.split(['\0', ';']) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let name = resolve_id3_genre(part);
            if !out.iter().any(|g| g.eq_ignore_ascii_case(&name)) {
                out.push(name);
            }
        }
    }
    out
}

fn resolve_id3_genre(s: &str) -> String {
    let inner = s
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(s);
    match inner.parse::<usize>() {
        Ok(n) if n < lofty::id3::v1::GENRES.len() => lofty::id3::v1::GENRES[n].to_string(),
        _ => s.to_string(),
    }
}

fn format_name(t: lofty::file::FileType) -> &'static str {
    use lofty::file::FileType::*;
    match t {
        Aac => "AAC",
        Aiff => "AIFF",
        Ape => "APE",
        Flac => "FLAC",
        Mpeg => "MP3",
        Mp4 => "MP4",
        Mpc => "Musepack",
        Opus => "Opus",
        Vorbis => "Vorbis",
        Speex => "Speex",
        Wav => "WAV",
        WavPack => "WavPack",
        _ => "other",
    }
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
