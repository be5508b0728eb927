//! Figures at library scale on made-up libraries: writing and undoing tags
//! (small and very large files) and retraining from many decisions.

use super::*;

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
                audio_key: None,
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
    let slices = crate::ml::look::FIRST_LOOK;
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
                    also: Vec::new(),
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
    let report = crate::workflow::retrain::retrain_head(
        &mut lib,
        &vocab,
        dir.path(),
        &crate::ml::corrections::RetrainOptions::default(),
        &mut |_| {},
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
