//! `sonotag bench`: figures for decoding, spectrograms and scanning.
//!
//! Generates its own 3-minute 44.1 kHz stereo signal, writes it as WAV and,
//! when `ffmpeg` is on the PATH, encodes it to MP3, FLAC, Ogg Vorbis, Ogg
//! Opus and AAC in MP4 (formats ffmpeg cannot make are reported and
//! skipped). Prints per format: decode seconds, spectrogram seconds, × real
//! time on one core, then tracks/s with all cores, then scan figures on
//! many small files. Prints figures only; it asserts nothing.

use crate::audio;
use crate::cancel::Cancel;
use crate::catalog::walk;
use crate::dev::synth;
use crate::features::spectrogram;
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
    /// Patches sampled per track in the sampled `classify` figure.
    pub sample: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            seconds: 180.0,
            parallel_tracks: 12,
            scan_files: 10_000,
            architectures: vec![Architecture::default()],
            classify_only: false,
            sample: crate::catalog::analyse::DEFAULT_SAMPLE_SLICES,
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
    if opts.classify_only {
        let mp3 = dir.path().join("bench.mp3");
        anyhow::ensure!(
            ffmpeg_encode(&wav, &mp3, FORMATS[1].1),
            "the classify benchmark needs ffmpeg with libmp3lame"
        );
        return bench_classify(dir.path(), &mp3, "mp3", opts.parallel_tracks, opts.sample);
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
        bench_classify(dir.path(), path, ext, opts.parallel_tracks, opts.sample)?;
    }
    if opts.scan_files > 0 {
        bench_scan(dir.path(), opts.scan_files, &encoded)?;
    }
    Ok(())
}

/// Slices per second through the network, batch 64, all cores.
pub fn bench_inference(architectures: &[Architecture]) -> anyhow::Result<()> {
    let n = 1024;
    let mut rng = crate::rng::Rng::new(1);
    let slices: Vec<u8> = (0..n * 128 * 128)
        .map(|_| (rng.next_u64() % 256) as u8)
        .collect();
    for arch in architectures {
        let net = GenreNet::new(arch, 11, 1)?;
        net.infer(
            &slices[..64 * 128 * 128],
            crate::ml::scratch_cnn::INFER_BATCH,
        )?; // warm-up
        for batch in [32, 64, 128, 256] {
            let t0 = Instant::now();
            net.infer(&slices, batch)?;
            let secs = t0.elapsed().as_secs_f64();
            println!(
                "inference {:?} pool {} batch {batch}: {:.1} MFLOP/slice, {:.0} slices/s",
                arch.channels,
                arch.input_pool,
                arch.flops(11) as f64 / 1e6,
                n as f64 / secs
            );
        }
    }
    Ok(())
}

/// musicnn patches per second (backbone and head), batches of
/// [`crate::ml::backbone::musicnn::INFER_BATCH`], all cores.
pub fn bench_musicnn_inference() -> anyhow::Result<()> {
    let Some(weights) = crate::ml::model::shipped_musicnn_weights() else {
        println!("musicnn inference: skipped (models/musicnn-msd.safetensors not found)");
        return Ok(());
    };
    let net = crate::ml::backbone::musicnn::MusicnnNet::load(&weights)?;
    let per = crate::features::musicnn_mel::PATCH_FRAMES * crate::features::musicnn_mel::MEL_BANDS;
    let front_end = crate::features::musicnn_mel::MelFrontEnd::new();
    let audio = synth::music_like(64.0 * 3.0, crate::features::musicnn_mel::SAMPLE_RATE, 9);
    let frames = front_end.frames_centred(&audio);
    let n = frames.len() / per;
    net.forward(&frames[..per * 8])?; // warm-up
    let t0 = Instant::now();
    net.forward(&frames[..n * per])?;
    let secs = t0.elapsed().as_secs_f64();
    let (live, all) = net.live_filters();
    println!(
        "musicnn inference: {n} patches in {secs:.2} s = {:.1} patches/s ({:.0} MFLOP/patch, {live} of {all} front-end filters live)",
        n as f64 / secs,
        net.flops_per_patch() as f64 / 1e6
    );
    let t0 = Instant::now();
    front_end.frames_centred(&audio);
    println!(
        "musicnn front end: {:.0} s of audio in {:.3} s",
        audio.len() as f64 / crate::features::musicnn_mel::SAMPLE_RATE as f64,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Head retraining on `tracks` tracks' stored embeddings (30 slices each,
/// synthetic values, 11 genres), as `sonotag retrain` does it.
pub fn bench_retrain_head(tracks: usize) -> anyhow::Result<()> {
    let mut net = GenreNet::new(&Architecture::default(), 11, 1)?;
    let dim = net.architecture().embedding;
    let mut rng = crate::rng::Rng::new(2);
    let n = tracks * 30;
    let labels: Vec<u32> = (0..n).map(|i| ((i / 30) % 11) as u32).collect();
    let embeddings: Vec<f32> = (0..n * dim)
        .map(|i| {
            rng.unit()
                + if (i % dim) == labels[i / dim] as usize {
                    1.0
                } else {
                    0.0
                }
        })
        .collect();
    let t0 = Instant::now();
    let opts = crate::ml::corrections::RetrainOptions::default();
    net.train_head(&embeddings, &labels, 11, opts.seed, opts.epochs)?;
    println!(
        "retrain head: {tracks} tracks × 30 slices of embeddings, {} steps in {:.2} s",
        opts.epochs,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Head retraining on musicnn embeddings of `tracks` tracks (6 patches
/// each, synthetic values, 11 genres), as `sonotag retrain` does it for the
/// default model.
pub fn bench_retrain_musicnn_head(tracks: usize) -> anyhow::Result<()> {
    let dim = crate::ml::backbone::musicnn::EMBEDDING;
    let per = crate::catalog::analyse::DEFAULT_SAMPLE_SLICES;
    let n = tracks * per;
    let mut rng = crate::rng::Rng::new(3);
    let labels: Vec<u32> = (0..n).map(|i| ((i / per) % 11) as u32).collect();
    let embeddings: Vec<f32> = (0..n * dim)
        .map(|i| rng.unit() + f32::from(u8::from((i % dim) == labels[i / dim] as usize)))
        .collect();
    let weights = vec![1.0 / per as f32; n];
    let opts = crate::ml::head::HeadOptions::default();
    let t0 = Instant::now();
    crate::ml::head::LinearHead::train(&embeddings, &labels, &weights, dim, 11, &opts)?;
    println!(
        "retrain musicnn head: {tracks} tracks × {per} patches of embeddings, {} steps in {:.2} s",
        opts.steps,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `classify` end to end (decode + spectrogram + inference + database) on
/// `n` copies of the generated track, with the shipped default model.
fn bench_classify(
    dir: &Path,
    track: &Path,
    ext: &str,
    n: usize,
    sample: usize,
) -> anyhow::Result<()> {
    let folder = dir.join("classify");
    std::fs::create_dir_all(&folder)?;
    for i in 0..n {
        std::fs::copy(track, folder.join(format!("track{i:03}.{ext}")))?;
    }
    let mut lib = scanned_library(&dir.join("classify.sqlite"), &folder)?;
    let cancel = Cancel::new();
    let default = crate::ml::model::default_model_path();
    let scratch = default.with_file_name("scratch-cnn");
    for model_path in [default, scratch] {
        let (model_id, model) =
            match crate::catalog::analyse::resolve_model(&mut lib, Some(&model_path)) {
                Ok(m) => m,
                Err(e) => {
                    println!("classify: skipped ({e})");
                    continue;
                }
            };
        let sampled = format!("{sample} sampled patches");
        for (label, sample) in [("every patch", None), (sampled.as_str(), Some(sample))] {
            let t0 = Instant::now();
            let summary = crate::catalog::analyse::classify(
                &mut lib,
                model_id,
                &model,
                model.card.thresholds,
                true,
                sample,
                &cancel,
                &mut |_| {},
            )?;
            let secs = t0.elapsed().as_secs_f64();
            println!(
                "classify end to end, {} ({label}): {} {ext} tracks of {:.0} s in {secs:.2} s = {:.2} tracks/s",
                model.card.backbone.name,
                summary.classified,
                seconds_of(track),
                summary.classified as f64 / secs
            );
        }
    }
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
        Some(crate::catalog::analyse::DEFAULT_SAMPLE_SLICES),
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

/// Scans `count` small tagged files into a fresh library, then rescans them.
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
    Ok(())
}

/// Fills the library at `db` with `n` made-up tracks (paths that do not
/// exist), each analysed by the shipped model with random slice
/// probabilities and voted, and one in ten decided: what the window's
/// benchmark opens. Seeded, so every run builds the same library.
pub fn synthetic_library(db: &Path, n: usize, seed: u64) -> anyhow::Result<()> {
    synthetic_library_with(db, n, seed, false, 10)
}

/// [`synthetic_library`], with made-up musicnn embeddings (near the leaning
/// genre's direction) when `embeddings` is set, so a retrain can run on it.
fn synthetic_library_with(
    db: &Path,
    n: usize,
    seed: u64,
    embeddings: bool,
    decided_every: usize,
) -> anyhow::Result<()> {
    use crate::store::{Analysis, Outcome, ScannedFile, TrackFilter, TrackInfo};
    let mut lib = Library::open(db)?;
    let mut rng = crate::rng::Rng::new(seed);
    let infos: Vec<(PathBuf, TrackInfo)> = (0..n)
        .map(|i| {
            let (artist, album) = (i / 120, i / 12);
            let info = TrackInfo {
                format: Some("MP3".into()),
                duration_s: Some(180.0),
                title: Some(format!("Track {}", i % 12 + 1)),
                artist: Some(format!("Artist {artist}")),
                album: Some(format!("Album {album}")),
                genres: if i % 3 == 0 {
                    vec!["Rock".into()]
                } else {
                    Vec::new()
                },
                ..Default::default()
            };
            let path = PathBuf::from(format!(
                "/nonexistent/Artist {artist}/Album {album}/{:02} Track.mp3",
                i % 12 + 1
            ));
            (path, info)
        })
        .collect();
    for chunk in infos.chunks(2000) {
        let files: Vec<ScannedFile> = chunk
            .iter()
            .map(|(path, info)| ScannedFile {
                path,
                size: 4_000_000,
                mtime_ns: 0,
                identity: None,
                info: Ok(info),
            })
            .collect();
        lib.store_scanned(&files)?;
    }
    let model = crate::ml::model::Model::load(&crate::ml::model::default_model_path())?;
    let model_id = lib.register_model(&model.card.name, &model.base, &model.card, None)?;
    lib.set_active_model(model_id)?;
    let classes = model.card.classes.clone();
    let tracks = lib.tracks(&TrackFilter::default())?;
    let slices = crate::catalog::analyse::DEFAULT_SAMPLE_SLICES;
    let outcomes: Vec<Outcome> = tracks
        .iter()
        .map(|t| {
            // A leaning genre per track, so votes look like real ones.
            let lean = (rng.next_u64() % classes.len() as u64) as usize;
            let mut probabilities = Vec::with_capacity(slices * classes.len());
            for _ in 0..slices {
                let raw: Vec<f32> = (0..classes.len())
                    .map(|c| rng.unit() + if c == lean { 12.0 } else { 0.0 })
                    .collect();
                let sum: f32 = raw.iter().sum();
                probabilities.extend(raw.iter().map(|p| p / sum));
            }
            let proposal =
                crate::ml::vote::vote(&probabilities, classes.len(), model.card.thresholds);
            Outcome::Analysed {
                analysis: Analysis {
                    track_id: t.id,
                    slices,
                    slice_starts: (0..slices as u32).map(|s| s * 1500).collect(),
                    probabilities,
                    embeddings: if embeddings {
                        let dim = crate::ml::backbone::musicnn::EMBEDDING;
                        (0..slices * dim)
                            .map(|i| rng.unit() + f32::from(u8::from(i % dim == lean)))
                            .collect()
                    } else {
                        Vec::new()
                    },
                    decode_errors: 0,
                },
                proposal,
            }
        })
        .collect();
    for chunk in outcomes.chunks(5000) {
        lib.store_outcomes(model_id, model.card.features.version, &classes, chunk)?;
    }
    let decided: Vec<(i64, Option<crate::store::Label>)> = tracks
        .iter()
        .step_by(decided_every)
        .map(|t| {
            (
                t.id,
                Some(crate::store::Label {
                    genre: classes[t.id as usize % classes.len()].clone(),
                    source: crate::store::DecisionSource::Accepted,
                    mapped_from: None,
                    replace: false,
                }),
            )
        })
        .collect();
    lib.put_labels(&decided)?;
    Ok(())
}

/// A library of `music` with every track decided "Reggae", the write
/// settings that replace genres, and the plan: what the write benchmarks
/// time.
fn library_planned_to_replace(
    dir: &Path,
    music: &Path,
) -> anyhow::Result<(
    Library,
    crate::tags::WriteSettings,
    Vec<crate::tags::PlannedWrite>,
)> {
    let mut lib = scanned_library(&dir.join("lib.sqlite"), music)?;
    for t in lib.tracks(&Default::default())? {
        crate::workflow::decide::set_genre(&mut lib, t.id, "Reggae", None, true)?;
    }
    let settings = crate::tags::WriteSettings {
        policy: crate::tags::WritePolicy::ReplaceAll,
        ..Default::default()
    };
    let plan = crate::tags::plan(&lib, settings)?;
    Ok((lib, settings, plan))
}

/// Writes a genre into `n` small files (copies of the committed fixtures, one
/// of each format in turn) through the real apply, then undoes the batch:
/// milliseconds per file for each, journal and fsyncs included.
pub fn bench_apply(n: usize) -> anyhow::Result<()> {
    use crate::tags;
    let dir = tempfile::tempdir()?;
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music)?;
    let fixtures: Vec<PathBuf> = ["mp3", "flac", "ogg", "opus", "m4a", "wav", "aiff"]
        .iter()
        .map(|ext| crate::source_tree().join(format!("tests/fixtures/tone.{ext}")))
        .collect();
    for i in 0..n {
        let source = &fixtures[i % fixtures.len()];
        let name = source.file_name().unwrap_or_default().to_string_lossy();
        std::fs::copy(source, music.join(format!("{i:05}-{name}")))?;
    }
    let (mut lib, settings, plan) = library_planned_to_replace(dir.path(), &music)?;
    let t0 = Instant::now();
    let report = tags::apply(&mut lib, &plan, settings)?;
    let apply_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let undo = tags::undo(&mut lib, None, settings)?;
    let undo_s = t1.elapsed().as_secs_f64();
    println!(
        "apply: {} of {} files written in {apply_s:.2} s = {:.2} ms per file; \
         undo: {} files in {undo_s:.2} s = {:.2} ms per file",
        report.written,
        plan.len(),
        1000.0 * apply_s / plan.len().max(1) as f64,
        undo.outcomes.len(),
        1000.0 * undo_s / undo.outcomes.len().max(1) as f64
    );
    Ok(())
}

/// `sonotag retrain` end to end on a made-up library of `tracks` analysed
/// tracks, one in `decided_every` decided: the base set, the guard,
/// re-calibration, the final head and the re-vote of every track.
pub fn bench_retrain_library(tracks: usize, decided_every: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lib.sqlite");
    synthetic_library_with(&db, tracks, 7, true, decided_every.max(1))?;
    let mut lib = Library::open(&db)?;
    let vocab = crate::config::genres::Vocabulary::default();
    let t0 = Instant::now();
    let report = crate::ml::corrections::retrain_head(
        &mut lib,
        &vocab,
        dir.path(),
        &crate::ml::corrections::RetrainOptions::default(),
    )?;
    println!(
        "retrain on a library of {tracks} tracks ({} decided): {:.2} s end to end",
        report.decided_tracks,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes a genre into one MP3 of `mib` MiB whose tag must grow (so all its
/// audio moves), then undoes it: seconds and peak resident memory of each.
/// Files over [`crate::tags::large_file_bytes`] are never held whole; run
/// with `SONOTAG_LARGE_FILE_BYTES` above the size to measure the in-memory
/// path on the same file.
pub fn bench_apply_large(mib: usize) -> anyhow::Result<()> {
    use crate::tags;
    use std::io::Write;
    let dir = tempfile::tempdir()?;
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music)?;
    let fixture = std::fs::read(crate::source_tree().join("tests/fixtures/tone.mp3"))?;
    let start = 10
        + fixture[6..10]
            .iter()
            .fold(0usize, |a, &b| (a << 7) | b as usize);
    let frames = &fixture[start..fixture.len() - 128];
    let path = music.join("large.mp3");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    out.write_all(b"ID3\x04\x00\x00\x00\x00\x00\x10TIT2\x00\x00\x00\x06\x00\x00\x03Large")?;
    let mut written = 0;
    while written < mib << 20 {
        out.write_all(frames)?;
        written += frames.len();
    }
    out.flush()?;
    drop(out);
    let (mut lib, settings, plan) = library_planned_to_replace(dir.path(), &music)?;
    let reset_peak = || std::fs::write("/proc/self/clear_refs", "5");
    let _ = reset_peak();
    let t0 = Instant::now();
    let report = tags::apply(&mut lib, &plan, settings)?;
    let apply_s = t0.elapsed().as_secs_f64();
    let (_, apply_peak) = memory_mb();
    let _ = reset_peak();
    let t1 = Instant::now();
    let undo = tags::undo(&mut lib, None, settings)?;
    let undo_s = t1.elapsed().as_secs_f64();
    let (_, undo_peak) = memory_mb();
    anyhow::ensure!(
        report.written == 1 && undo.outcomes.iter().all(|o| o.error.is_none()),
        "the write or its undo failed: {report} / {undo}"
    );
    println!(
        "a {mib} MiB MP3 whose tag grows: apply {apply_s:.1} s, peak {apply_peak:.0} MB resident; \
         undo {undo_s:.1} s, peak {undo_peak:.0} MB (files over {} MiB are not held whole)",
        crate::tags::large_file_bytes() >> 20
    );
    Ok(())
}
