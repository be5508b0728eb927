//! Decoding every supported format from the committed fixtures (2 s of
//! generated tones), and damaged files.

use sonotag_core::audio::{self, AudioError};
use sonotag_core::features::spectrogram;
use sonotag_core::features::spectrogram::SAMPLE_RATE;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn every_format_decodes_to_the_expected_duration_and_rate() {
    let cases = [
        ("tone.mp3", 44_100, 2),
        ("tone.flac", 44_100, 2),
        ("tone.ogg", 44_100, 2),
        ("tone.opus", 48_000, 2),
        ("tone.m4a", 44_100, 2),
        ("tone-alac.m4a", 44_100, 2),
        ("tone.wav", 22_050, 1),
        ("tone.aiff", 22_050, 1),
    ];
    for (name, rate, channels) in cases {
        let (samples, report) = audio::decode_file(&fixture(name)).unwrap();
        let seconds = samples.len() as f64 / SAMPLE_RATE as f64;
        // MP3 and AAC carry encoder delay/padding of a few tens of ms.
        assert!(
            (seconds - 2.0).abs() < 0.08,
            "{name}: decoded {seconds:.3} s"
        );
        assert_eq!(report.source_rate, rate, "{name}");
        assert_eq!(report.source_channels, channels, "{name}");
        assert_eq!(report.corrupt_packets, 0, "{name}");
        let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt();
        assert!(rms > 0.05, "{name}: audio should not be silent (rms {rms})");
    }
}

#[test]
fn resampling_keeps_the_pitch() {
    // A 440 Hz tone from a 44.1 kHz stereo MP3 (440 + 660 Hz channels,
    // averaged) must still be strongest near 440/660 Hz at 22,050 Hz.
    let (samples, _) = audio::decode_file(&fixture("tone.flac")).unwrap();
    let spec = sonotag_core::features::spectrogram::compute(&samples);
    let c = spec.columns() / 2;
    let loudest = (0..128).max_by_key(|&b| spec.at(c, b)).unwrap();
    let hz = sonotag_core::features::spectrogram::band_centre_hz(loudest);
    assert!((380.0..760.0).contains(&hz), "loudest band at {hz} Hz");
}

#[test]
fn truncated_file_yields_its_good_audio() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("tone.flac")).unwrap();
    let cut = dir.path().join("cut.flac");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (samples, _) = audio::decode_file(&cut).unwrap();
    let seconds = samples.len() as f64 / SAMPLE_RATE as f64;
    assert!((0.5..1.6).contains(&seconds), "decoded {seconds:.2} s");
}

#[test]
fn garbage_in_the_middle_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["tone.flac", "tone.mp3"] {
        let mut bytes = std::fs::read(fixture(name)).unwrap();
        let mid = bytes.len() / 2;
        let mut rng = sonotag_core::rng::Rng::new(3);
        for b in &mut bytes[mid..mid + 1500] {
            *b = rng.next_u64() as u8;
        }
        let bad = dir.path().join(name);
        std::fs::write(&bad, &bytes).unwrap();
        let (samples, report) = audio::decode_file(&bad).unwrap();
        let seconds = samples.len() as f64 / SAMPLE_RATE as f64;
        assert!(seconds > 1.2, "{name}: decoded only {seconds:.2} s");
        assert!(report.corrupt_packets > 0, "{name}: corruption not counted");
    }
}

#[test]
fn non_audio_and_empty_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.mp3");
    std::fs::write(
        &text,
        "these are not the droids you are looking for\n".repeat(50),
    )
    .unwrap();
    let empty = dir.path().join("empty.flac");
    std::fs::write(&empty, b"").unwrap();
    for path in [&text, &empty] {
        let err = audio::decode_file(path).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            matches!(
                err,
                AudioError::Unrecognised { .. } | AudioError::NoAudio { .. }
            ),
            "{msg}"
        );
    }
    let missing = audio::decode_file(&dir.path().join("nope.mp3")).unwrap_err();
    assert!(matches!(missing, AudioError::Io { .. }));
}

#[test]
fn decode_range_seeks() {
    let (whole, _) = audio::decode_file(&fixture("tone.flac")).unwrap();
    let part = audio::decode_range(&fixture("tone.flac"), 1.0, 0.5).unwrap();
    assert_eq!(part.len(), SAMPLE_RATE as usize / 2);
    // Same audio as the matching stretch of the whole decode (resampler edge
    // effects aside): compare energy.
    let energy = |s: &[f32]| s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32;
    let start = SAMPLE_RATE as usize;
    let reference = &whole[start..start + part.len()];
    assert!((energy(&part) - energy(reference)).abs() < 0.05);
}

#[test]
fn sampled_slices_match_the_full_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("music.wav");
    sonotag_core::dev::synth::write_wav(
        &wav,
        &sonotag_core::dev::synth::music_like(30.0, 44_100, 4),
        44_100,
        2,
    )
    .unwrap();
    for path in [Some(wav.clone()), fixture_copy_as_flac(&wav, dir.path())]
        .into_iter()
        .flatten()
    {
        let (full, _) = spectrogram::analyse_file(&path).unwrap();
        let indices = [0usize, 4, 9];
        let (sampled, _) = spectrogram::analyse_slices(&path, &indices).unwrap();
        assert_eq!(sampled.len(), indices.len() * 128 * 128);
        for (n, &k) in indices.iter().enumerate() {
            let a = full.slice(k);
            let b = &sampled[n * 128 * 128..(n + 1) * 128 * 128];
            let diff: f64 = a
                .iter()
                .zip(b)
                .map(|(x, y)| (*x as f64 - *y as f64).abs())
                .sum::<f64>()
                / a.len() as f64;
            assert!(
                diff < 2.0,
                "{}: slice {k} differs by {diff:.2} on average",
                path.display()
            );
        }
    }
}

/// The committed FLAC fixture is too short to sample; WAV covers seeking in
/// PCM, and FLAC is exercised when ffmpeg is around to make a longer one.
fn fixture_copy_as_flac(wav: &Path, dir: &Path) -> Option<PathBuf> {
    let flac = dir.join("music.flac");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(wav)
        .arg(&flac)
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(flac)
}

/// Whether ffmpeg is there for the formats read through it (the test says
/// it skips otherwise).
fn ffmpeg_or_skip() -> bool {
    let there = audio::external::available();
    if !there {
        eprintln!("skipped: ffmpeg is not installed");
    }
    there
}

/// The largest difference between two runs of samples.
fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// WavPack and WMA go through the system's ffmpeg (issue 36): lossless
/// WavPack decodes to the same samples as the FLAC it was made from (the
/// mixing to mono and the resampling are Sonotag's in both), WMA to the
/// same length, and a seek lands where the native decoder's does.
#[test]
fn formats_read_through_ffmpeg_decode_like_the_native_ones() {
    if !ffmpeg_or_skip() {
        return;
    }
    let (flac, flac_report) = audio::decode_file(&fixture("tone.flac")).unwrap();
    let (wv, wv_report) = audio::decode_file(&fixture("tone.wv")).unwrap();
    assert_eq!(wv.len(), flac.len());
    assert_eq!(
        (wv_report.source_rate, wv_report.source_channels),
        (flac_report.source_rate, flac_report.source_channels)
    );
    let worst = largest_difference(&flac, &wv);
    assert!(worst < 1e-4, "WavPack differs from FLAC by up to {worst}");
    let (wma, wma_report) = audio::decode_file(&fixture("tone.wma")).unwrap();
    let seconds = wma.len() as f64 / SAMPLE_RATE as f64;
    assert!((seconds - 2.0).abs() < 0.1, "WMA: decoded {seconds:.3} s");
    assert_eq!(wma_report.corrupt_packets, 0);
    let rms = (wma.iter().map(|s| s * s).sum::<f32>() / wma.len() as f32).sqrt();
    assert!(rms > 0.05, "WMA should not be silent (rms {rms})");

    let native = audio::decode_range(&fixture("tone.flac"), 1.0, 0.5).unwrap();
    let through_ffmpeg = audio::decode_range(&fixture("tone.wv"), 1.0, 0.5).unwrap();
    assert_eq!(through_ffmpeg.len(), native.len());
    let worst = largest_difference(&native, &through_ffmpeg);
    // The resampler starts afresh at the seek in both; its edge differs by
    // where each decoder's first packet lands.
    assert!(worst < 0.05, "a seek in WavPack lands elsewhere ({worst})");
}

/// A file read through ffmpeg that is not what its name says is a clear
/// error naming the file and ffmpeg's reason, never a hang.
#[test]
fn a_damaged_file_for_ffmpeg_is_a_clear_error() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("-notes.wv");
    std::fs::write(&fake, "not audio at all\n".repeat(100)).unwrap();
    let err = audio::decode_file(&fake).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("-notes.wv"), "{msg}");
    assert!(
        matches!(err, AudioError::Unrecognised { .. }),
        "{msg}: {err:?}"
    );
}

/// The sampled reads of a classification, decoded ahead in one ffmpeg run
/// for WavPack, give the same slices and patches as FLAC of the same audio
/// through Symphonia.
#[test]
fn sampled_reads_through_ffmpeg_match_the_native_decoder() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("music.wav");
    let samples = sonotag_core::dev::synth::music_like(30.0, 44_100, 6);
    sonotag_core::dev::synth::write_wav(&wav, &samples, 44_100, 2).unwrap();
    let encode = |ext: &str| {
        let out = dir.path().join(format!("music.{ext}"));
        let ok = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
            .arg(&wav)
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ffmpeg could not make {}", out.display());
        out
    };
    let (flac, wv) = (encode("flac"), encode("wv"));
    let indices = [0usize, 3, 7, 10];
    let (native, _) = spectrogram::analyse_slices(&flac, &indices).unwrap();
    let (ffmpeg, _) = spectrogram::analyse_slices(&wv, &indices).unwrap();
    assert_eq!(native, ffmpeg, "display slices differ");
    use sonotag_core::features::musicnn_mel::analyse_patches;
    let (native, _) = analyse_patches(&flac, &indices[..3]).unwrap();
    let (ffmpeg, _) = analyse_patches(&wv, &indices[..3]).unwrap();
    assert_eq!(native.len(), ffmpeg.len());
    let diffs: Vec<f32> = native
        .iter()
        .zip(&ffmpeg)
        .map(|(a, b)| (a - b).abs())
        .collect();
    let worst = diffs.iter().fold(0.0f32, |m, &d| m.max(d));
    let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
    // ffmpeg rounds a seek's time to its own clock, Symphonia to the
    // sample: a patch may start a sample apart, which moves the quietest
    // log-mel bins a little (values span 0 to about 4).
    assert!(
        worst < 0.05 && mean < 1e-3,
        "musicnn patches differ: worst {worst}, mean {mean}"
    );
}
