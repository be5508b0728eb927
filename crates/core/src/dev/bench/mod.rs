//! `sonotag bench`: figures for decoding, spectrograms and scanning.
//!
//! Generates its own 3-minute 44.1 kHz stereo signal, writes it as WAV and,
//! when `ffmpeg` is on the PATH, encodes it to MP3, FLAC, Ogg Vorbis, Ogg
//! Opus and AAC in MP4 (formats ffmpeg cannot make are reported and
//! skipped). Prints per format: decode seconds, spectrogram seconds, × real
//! time on one core, then tracks/s with all cores, then scan figures on
//! many small files. Prints figures only; it asserts nothing.

mod library;
mod model;

pub use library::{bench_apply, bench_apply_large, bench_retrain_library, synthetic_library};
pub use model::{
    bench_inference, bench_musicnn_inference, bench_retrain_head, bench_retrain_musicnn_head,
};

use crate::audio;
use crate::cancel::Cancel;
use crate::catalog::walk;
use crate::dev::synth;
use crate::features::spectrogram;
use crate::ml::look::{self, Voting};
use crate::ml::scratch_cnn::{Architecture, GenreNet};
use crate::store::Library;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Benchmark settings.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Length of the generated track in seconds.
    pub seconds: f32,
    /// Tracks decoded in parallel for the tracks/s figure.
    pub parallel_tracks: usize,
    /// Files for the scan benchmark (0 skips it).
    pub scan_files: usize,
    /// Network shapes whose inference speed is measured.
    pub architectures: Vec<Architecture>,
    /// Only the end-to-end `classify` figures.
    pub classify_only: bool,
    /// Which patches vote in the sampled `classify` figure (a second look
    /// is timed beside 6 patches).
    pub voting: Voting,
    /// Real music to time `classify` on instead of the generated track.
    pub music: Option<PathBuf>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            seconds: 180.0,
            parallel_tracks: 12,
            scan_files: 10_000,
            architectures: vec![Architecture::default()],
            classify_only: false,
            voting: Voting::SecondLook,
            music: None,
        }
    }
}

/// Encodes `wav` to `out` with ffmpeg; false when ffmpeg is missing or fails.
pub fn ffmpeg_encode(wav: &Path, out: &Path, args: &[&str]) -> bool {
    Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error", "-i"])
        .arg(wav)
        .args(args)
        .arg(out)
        .status()
        .is_ok_and(|s| s.success())
}

/// ffmpeg arguments per benchmarked format (extension, codec arguments).
pub const FORMATS: &[(&str, &[&str])] = &[
    ("wav", &[]),
    ("mp3", &["-c:a", "libmp3lame", "-b:a", "192k"]),
    ("flac", &["-c:a", "flac"]),
    ("ogg", &["-c:a", "libvorbis", "-q:a", "5"]),
    ("opus", &["-c:a", "libopus", "-b:a", "128k"]),
    ("m4a", &["-c:a", "aac", "-b:a", "192k"]),
];

/// Runs the benchmark, printing figures to stdout.
pub fn run(opts: &BenchOptions) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let rate = 44_100;
    let wav = dir.path().join("bench.wav");
    synth::write_wav(&wav, &synth::music_like(opts.seconds, rate, 7), rate, 2)?;
    println!(
        "Sonotag bench: {:.0} s of 44.1 kHz stereo per track, {} rayon threads",
        opts.seconds,
        rayon::current_num_threads()
    );
    println!(
        "{:<6} {:>10} {:>12} {:>10} {:>12}",
        "format", "decode s", "spectro s", "total s", "x realtime"
    );
    let mut encoded: Vec<(String, PathBuf)> = Vec::new();
    if opts.classify_only
        && let Some(music) = &opts.music
    {
        let lib = scanned_library(&dir.path().join("classify.sqlite"), music)?;
        return bench_classify_library(lib, music, opts.voting);
    }
    if opts.classify_only {
        let mp3 = dir.path().join("bench.mp3");
        anyhow::ensure!(
            ffmpeg_encode(&wav, &mp3, FORMATS[1].1),
            "the classify benchmark needs ffmpeg with libmp3lame"
        );
        return bench_classify(dir.path(), &mp3, "mp3", opts.parallel_tracks, opts.voting);
    }
    for (ext, args) in FORMATS {
        let path = dir.path().join(format!("bench.{ext}"));
        if *ext != "wav" && !ffmpeg_encode(&wav, &path, args) {
            println!("{ext:<6} skipped (ffmpeg with this encoder not found)");
            continue;
        }
        let path = if *ext == "wav" { wav.clone() } else { path };
        let t0 = Instant::now();
        let (samples, _) = audio::decode_file(&path)?;
        let decode = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let spec = spectrogram::compute(&samples);
        let spectro = t1.elapsed().as_secs_f64();
        let total = decode + spectro;
        println!(
            "{ext:<6} {decode:>10.3} {spectro:>12.3} {total:>10.3} {:>12.0}   ({} slices)",
            opts.seconds as f64 / total,
            spec.slice_count()
        );
        encoded.push((ext.to_string(), path));
    }

    if let Some((ext, path)) = encoded.iter().find(|(e, _)| e == "mp3").or(encoded.first()) {
        let n = opts.parallel_tracks;
        let t0 = Instant::now();
        let slices: usize = (0..n)
            .into_par_iter()
            .map(|_| {
                spectrogram::analyse_file(path)
                    .map(|(s, _)| s.slice_count())
                    .unwrap_or(0)
            })
            .sum();
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "all cores: {n} {ext} tracks decoded + spectrograms in {secs:.2} s = {:.1} tracks/s ({slices} slices)",
            n as f64 / secs
        );
    }

    bench_inference(&opts.architectures)?;
    bench_musicnn_inference()?;
    bench_retrain_head(5_000)?;
    bench_retrain_musicnn_head(5_000)?;
    if let Some((ext, path)) = encoded.iter().find(|(e, _)| e == "mp3").or(encoded.first()) {
        bench_classify(dir.path(), path, ext, opts.parallel_tracks, opts.voting)?;
    }
    if opts.scan_files > 0 {
        bench_scan(dir.path(), opts.scan_files, &encoded)?;
    }
    Ok(())
}

/// `classify` end to end (decode + spectrogram + inference + database) on
/// `n` copies of the generated track, with the shipped default model.
fn bench_classify(
    dir: &Path,
    track: &Path,
    ext: &str,
    n: usize,
    voting: Voting,
) -> anyhow::Result<()> {
    let folder = dir.join("classify");
    std::fs::create_dir_all(&folder)?;
    for i in 0..n {
        std::fs::copy(track, folder.join(format!("track{i:03}.{ext}")))?;
    }
    let mut lib = scanned_library(&dir.join("classify.sqlite"), &folder)?;
    let default = crate::ml::model::default_model_path();
    let scratch = default.with_file_name("scratch-cnn");
    let what = format!("{ext} tracks of {:.0} s", seconds_of(track));
    for model_path in [default, scratch] {
        let (model_id, model) =
            match crate::catalog::analyse::resolve_model(&mut lib, Some(&model_path)) {
                Ok(m) => m,
                Err(e) => {
                    println!("classify: skipped ({e})");
                    continue;
                }
            };
        time_classify(&mut lib, model_id, &model, &what, voting)?;
        if model.card.backbone.name == crate::ml::backbone::musicnn::REGISTRATION.name {
            bench_open_track(&dir.join("classify.sqlite"), &lib)?;
        }
    }
    Ok(())
}

/// `classify` end to end on the real music of a folder, with the shipped
/// default model: what a second look costs depends on how often the first
/// six patches disagree, which generated audio cannot tell.
fn bench_classify_library(mut lib: Library, music: &Path, voting: Voting) -> anyhow::Result<()> {
    let (model_id, model) = crate::catalog::analyse::resolve_model(
        &mut lib,
        Some(&crate::ml::model::default_model_path()),
    )?;
    let what = format!("tracks of {}", music.display());
    time_classify(&mut lib, model_id, &model, &what, voting)
}

/// Classifies the library's tracks every way worth comparing (every patch,
/// 6 patches, `voting`) and prints the rate of each; for a second look,
/// how many tracks got one.
fn time_classify(
    lib: &mut Library,
    model_id: i64,
    model: &crate::ml::model::Model,
    what: &str,
    voting: Voting,
) -> anyhow::Result<()> {
    let mut ways = vec![Voting::All, Voting::Evenly(look::FIRST_LOOK)];
    if !ways.contains(&voting) {
        ways.push(voting);
    }
    for way in ways {
        let t0 = Instant::now();
        let summary = crate::catalog::analyse::classify(
            lib,
            model_id,
            model,
            model.card.thresholds,
            true,
            way,
            &Cancel::new(),
            &mut |_| {},
        )?;
        let secs = t0.elapsed().as_secs_f64();
        let looked_twice = if way == Voting::SecondLook {
            let analyses = lib.analyses(model_id)?;
            let more_than = |n: usize| analyses.iter().filter(|a| a.slices > n).count();
            format!(
                ", {} of them voting with more than {} patches, {} with more than {} (the third \
                 look: every patch)",
                more_than(look::FIRST_LOOK),
                look::FIRST_LOOK,
                more_than(look::SECOND_LOOK),
                look::SECOND_LOOK
            )
        } else {
            String::new()
        };
        println!(
            "classify end to end, {} ({}): {} {what} in {secs:.2} s = {:.2} tracks/s{looked_twice}",
            model.card.backbone.name,
            way.describe(),
            summary.classified,
            summary.classified as f64 / secs
        );
    }
    Ok(())
}

/// What selecting a track in the window waits for, on tracks classified
/// with sampled patches: its decoded spectrogram, and the analysis of its
/// every patch (`review::open_track`, as the window runs it). The first
/// selection after start, then the median of the next ones (the user paging
/// through the list).
fn bench_open_track(db: &Path, lib: &Library) -> anyhow::Result<()> {
    let tracks = lib.tracks(&Default::default())?;
    let mut times = Vec::new();
    for track in tracks.iter().rev().take(4) {
        let t0 = Instant::now();
        let picture = std::sync::Mutex::new(None);
        let first_votes = std::sync::Mutex::new(None);
        let opening = crate::catalog::review::Opening {
            on_picture: &|_| *picture.lock().expect("not poisoned") = Some(t0.elapsed()),
            on_votes: &|_| {
                first_votes
                    .lock()
                    .expect("not poisoned")
                    .get_or_insert(t0.elapsed());
            },
            ..crate::catalog::review::Opening::QUIET
        };
        crate::catalog::review::open_track(db, track.id, None, &Cancel::new(), &opening)
            .map_err(anyhow::Error::msg)?;
        let opened = t0.elapsed();
        let picture = picture
            .into_inner()
            .expect("not poisoned")
            .unwrap_or(opened);
        let first_votes = first_votes
            .into_inner()
            .expect("not poisoned")
            .unwrap_or(opened);
        times.push((
            picture.as_secs_f64() * 1e3,
            opened.as_secs_f64() * 1e3,
            first_votes.as_secs_f64() * 1e3,
        ));
    }
    let Some(&(first_picture, first_votes, first_round)) = times.first() else {
        return Ok(());
    };
    let median = |pick: fn(&(f64, f64, f64)) -> f64| {
        let mut next: Vec<f64> = times[1..].iter().map(pick).collect();
        next.sort_by(f64::total_cmp);
        next.get(next.len() / 2).copied().unwrap_or(f64::NAN)
    };
    println!(
        "selecting a {:.0}-s track in the window: its spectrogram is there after {first_picture:.0} ms, \
         the first round of votes after {first_round:.0} ms, every patch's vote after {first_votes:.0} ms; \
         selecting the next ones: {:.0}, {:.0} and {:.0} ms (median of {})",
        seconds_of(&tracks[tracks.len() - 1].path),
        median(|t| t.0),
        median(|t| t.2),
        median(|t| t.1),
        times.len() - 1,
    );
    Ok(())
}

/// A fresh library at `db` with `folder` scanned into it.
fn scanned_library(db: &Path, folder: &Path) -> anyhow::Result<Library> {
    let mut lib = Library::open(db)?;
    walk::scan(
        &mut lib,
        &[folder.to_path_buf()],
        &Cancel::new(),
        &mut |_| {},
    )?;
    Ok(lib)
}

/// Resident memory now and at its peak, in MB (Linux `/proc/self/status`).
fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Classifies `n` short tracks (hard links to one 10-second MP3, so the disk
/// holds one file) with the default model and prints resident memory every
/// tenth of the way: it must stay flat however many tracks there are.
pub fn bench_memory(n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let wav = dir.path().join("short.wav");
    synth::write_wav(&wav, &synth::music_like(10.0, 44_100, 3), 44_100, 2)?;
    let mp3 = dir.path().join("short.mp3");
    anyhow::ensure!(
        ffmpeg_encode(&wav, &mp3, FORMATS[1].1),
        "the memory benchmark needs ffmpeg with libmp3lame"
    );
    let folder = dir.path().join("music");
    for i in 0..n {
        let sub = folder.join(format!("{:03}", i / 1000));
        std::fs::create_dir_all(&sub)?;
        std::fs::hard_link(&mp3, sub.join(format!("track{i:05}.mp3")))?;
    }
    let mut lib = scanned_library(&dir.path().join("memory.sqlite"), &folder)?;
    let cancel = Cancel::new();
    let (model_id, model) = crate::catalog::analyse::resolve_model(
        &mut lib,
        Some(&crate::ml::model::default_model_path()),
    )?;
    let (rss, _) = memory_mb();
    println!("memory: {n} tracks scanned, model loaded: {rss:.0} MB resident");
    let t0 = Instant::now();
    let step = (n / 10).max(1);
    let summary = crate::catalog::analyse::classify(
        &mut lib,
        model_id,
        &model,
        model.card.thresholds,
        false,
        Voting::SecondLook,
        &cancel,
        &mut |p| {
            if p.done % step == 0 {
                let (rss, peak) = memory_mb();
                println!(
                    "memory: {:>6} tracks classified, {:>6.0} MB resident, peak {:>6.0} MB, {:.1} tracks/s",
                    p.done,
                    rss,
                    peak,
                    p.done as f64 / t0.elapsed().as_secs_f64()
                );
            }
        },
    )?;
    let (rss, peak) = memory_mb();
    println!(
        "memory: done, {} classified, {} errors: {rss:.0} MB resident, peak {peak:.0} MB",
        summary.classified, summary.errors
    );
    Ok(())
}

fn seconds_of(track: &Path) -> f64 {
    lofty::read_from_path(track)
        .map(|f| {
            lofty::file::AudioFile::properties(&f)
                .duration()
                .as_secs_f64()
        })
        .unwrap_or(0.0)
}

/// Only the scan figures, on MP3s when ffmpeg can make them.
pub fn bench_scan_only(count: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let wav = dir.path().join("bench.wav");
    synth::write_wav(&wav, &synth::tone(440.0, 1.0, 44_100, 0.3), 44_100, 1)?;
    let mp3 = dir.path().join("bench.mp3");
    let encoded = if ffmpeg_encode(&wav, &mp3, FORMATS[1].1) {
        vec![("mp3".to_string(), mp3)]
    } else {
        Vec::new()
    };
    bench_scan(dir.path(), count, &encoded)
}

/// Scans `count` small tagged files into a fresh library, rescans them,
/// then moves their root folder and rescans the new one: every track must
/// be re-linked, none added.
fn bench_scan(dir: &Path, count: usize, encoded: &[(String, PathBuf)]) -> anyhow::Result<()> {
    let short_wav = dir.join("short.wav");
    synth::write_wav(&short_wav, &synth::tone(440.0, 1.0, 44_100, 0.3), 44_100, 1)?;
    let mp3_available = encoded.iter().any(|(e, _)| e == "mp3");
    let (src, ext) = if mp3_available {
        let p = dir.join("short.mp3");
        ffmpeg_encode(
            &short_wav,
            &p,
            &[
                "-c:a",
                "libmp3lame",
                "-metadata",
                "genre=Rock",
                "-metadata",
                "title=Bench",
            ],
        );
        (p, "mp3")
    } else {
        (short_wav, "wav")
    };
    let music = dir.join("library");
    for i in 0..count {
        let sub = music.join(format!("artist{:03}", i / 100));
        std::fs::create_dir_all(&sub)?;
        std::fs::copy(&src, sub.join(format!("track{i:05}.{ext}")))?;
    }
    let mut lib = Library::open(&dir.join("bench.sqlite"))?;
    let cancel = Cancel::new();
    let t0 = Instant::now();
    let (first, _) = walk::scan(&mut lib, std::slice::from_ref(&music), &cancel, &mut |_| {})?;
    let new_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let (again, _) = walk::scan(&mut lib, std::slice::from_ref(&music), &cancel, &mut |_| {})?;
    let re_secs = t1.elapsed().as_secs_f64();
    println!(
        "scan: {count} new {ext} files in {new_secs:.2} s ({:.0} files/s, {} added); rescan unchanged in {re_secs:.2} s ({} unchanged)",
        count as f64 / new_secs,
        first.added,
        again.unchanged
    );
    let moved = dir.join("library, moved");
    std::fs::rename(&music, &moved)?;
    let t2 = Instant::now();
    let (after, _) = walk::scan(&mut lib, std::slice::from_ref(&moved), &cancel, &mut |_| {})?;
    let moved_secs = t2.elapsed().as_secs_f64();
    println!(
        "scan: root folder moved, {count} tracks rescanned in {moved_secs:.2} s ({} moved, {} \
         added, {} missing)",
        after.moved, after.added, after.missing
    );
    Ok(())
}
