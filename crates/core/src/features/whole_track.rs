//! A track's picture and its every patch from one decode, split across the
//! cores: what selecting a track in the window waits for.
//!
//! Decoding dominates both (a 3-minute MP3 takes about 135 ms on one core,
//! resampling and drawing its picture 40 ms more), so the file is decoded once, in two halves side
//! by side. Each half is resampled to the display rate and drawn, and kept
//! at its own rate; once the picture is out, the kept samples are resampled
//! to the model's rate and framed, again one half per core.
//!
//! The later half starts [`MARGIN_SECONDS`] before the middle, so the
//! decoder (an MP3 frame right after a seek lacks its bit reservoir) and the
//! resampler have settled before the first sample that counts, and the
//! earlier half is decoded as far past it. The middle lies on a grid where
//! both the display columns (20 ms) and musicnn's frames (16 ms) start, so
//! the two halves' columns and frames are those a single pass computes,
//! but for rounding where the resampler's blocks fall differently.
//!
//! Short tracks, long ones (whose kept samples would weigh), and files whose
//! length is not stated or cannot be sought are analysed in one pass per
//! pipeline, the two pipelines side by side.

use super::musicnn_mel::{self, CentredFrames, MelFrontEnd};
use super::spectrogram::{self, COLUMNS_PER_SECOND, Spectrogram, SpectrogramBuilder};
use super::{FeatureKind, Patches};
use crate::audio::{self, AudioError, AudioStream, Resampler};
use std::path::Path;

/// Seconds decoded on both sides of the middle.
const MARGIN_SECONDS: f64 = 0.24;
/// The middle and the margin are multiples of this: 4 display columns and
/// 5 musicnn frames, a whole number of samples at every common rate.
const GRID_SECONDS: f64 = 0.08;
/// Tracks shorter than this are decoded in one pass.
const MIN_SPLIT_SECONDS: f64 = 20.0;
/// Tracks longer than this are not kept in memory (20 minutes at 48 kHz
/// is 230 MB of samples): each pipeline decodes them itself.
const MAX_KEPT_SECONDS: f64 = 20.0 * 60.0;

/// What [`analyse`] finds.
pub struct WholeTrack {
    /// The display spectrogram.
    pub picture: Spectrogram,
    /// Every patch, for the pipeline asked for.
    pub patches: Option<Patches>,
    /// Corrupt packets skipped while decoding.
    pub corrupt_packets: usize,
}

/// Decodes `path` for its picture and, with `kind`, every patch of that
/// pipeline. `on_picture` gets the picture as soon as it is drawn, before
/// the patches are computed.
pub fn analyse(
    path: &Path,
    kind: Option<FeatureKind>,
    on_picture: &(dyn Fn(&Spectrogram) + Sync),
) -> Result<WholeTrack, AudioError> {
    audio::guarded(path, || {
        let stream = AudioStream::open_native(path)?;
        let middle = stream.stated_seconds().and_then(split_point);
        let keeps = kind == Some(FeatureKind::MusicnnMel);
        match middle {
            Some(middle) if !keeps || middle * 2.0 <= MAX_KEPT_SECONDS => {
                match in_halves(stream, middle, kind, on_picture)? {
                    Some(track) => Ok(track),
                    None => in_one_pass(path, kind, on_picture),
                }
            }
            _ => in_one_pass(path, kind, on_picture),
        }
    })
}

/// Where a track of `seconds` is split: its middle, on the grid; `None`
/// for a track too short to split.
fn split_point(seconds: f64) -> Option<f64> {
    (seconds >= MIN_SPLIT_SECONDS).then(|| (seconds / 2.0 / GRID_SECONDS).floor() * GRID_SECONDS)
}

/// Each pipeline decoding the whole file, side by side.
fn in_one_pass(
    path: &Path,
    kind: Option<FeatureKind>,
    on_picture: &(dyn Fn(&Spectrogram) + Sync),
) -> Result<WholeTrack, AudioError> {
    let (picture, patches) = rayon::join(
        || {
            let picture = spectrogram::analyse_file(path);
            if let Ok((spec, _)) = &picture {
                on_picture(spec);
            }
            picture
        },
        || match kind {
            Some(FeatureKind::MusicnnMel) => FeatureKind::MusicnnMel.analyse_file(path).map(Some),
            _ => Ok(None),
        },
    );
    let (picture, report) = picture?;
    let patches = match (kind, patches?) {
        (Some(FeatureKind::DisplayMel), _) => {
            Some(FeatureKind::DisplayMel.from_spectrogram(&picture, report.corrupt_packets))
        }
        (_, patches) => patches,
    };
    Ok(WholeTrack {
        picture,
        patches,
        corrupt_packets: report.corrupt_packets,
    })
}

/// One half's decode: its share of the picture's columns, and its samples
/// at the source rate when the model's frames are still to be computed.
struct Half {
    columns: Vec<u8>,
    kept: Vec<f32>,
    source_rate: u32,
    corrupt_packets: usize,
    /// The earlier half reached the end of the file before the middle (its
    /// stated length was wrong): it is the whole track.
    whole: bool,
}

/// The two halves side by side; `Ok(None)` when the later half cannot be
/// read from the middle on (the caller then decodes in one pass).
fn in_halves(
    stream: AudioStream,
    middle: f64,
    kind: Option<FeatureKind>,
    on_picture: &(dyn Fn(&Spectrogram) + Sync),
) -> Result<Option<WholeTrack>, AudioError> {
    let keep = kind == Some(FeatureKind::MusicnnMel);
    let path = stream.path().to_path_buf();
    let (earlier, later) = rayon::join(
        || earlier_half(stream, middle, keep),
        || later_half(&path, middle, keep),
    );
    let earlier = earlier?;
    let later = match (earlier.whole, later) {
        (true, _) => None,
        (false, Ok(later)) => Some(later),
        (false, Err(_)) => return Ok(None),
    };
    let mut columns = earlier.columns;
    if let Some(later) = &later {
        columns.extend_from_slice(&later.columns);
    }
    let picture = Spectrogram { data: columns };
    on_picture(&picture);
    let corrupt_packets = earlier.corrupt_packets + later.as_ref().map_or(0, |l| l.corrupt_packets);
    let patches = match kind {
        None => None,
        Some(FeatureKind::DisplayMel) => {
            Some(FeatureKind::DisplayMel.from_spectrogram(&picture, corrupt_packets))
        }
        Some(FeatureKind::MusicnnMel) => {
            let frames = model_frames(&earlier.kept, later.as_ref(), earlier.source_rate, middle);
            Some(FeatureKind::MusicnnMel.from_log_mel(frames, corrupt_packets))
        }
    };
    SpareSamples::give_back(earlier.kept);
    if let Some(later) = later {
        SpareSamples::give_back(later.kept);
    }
    Ok(Some(WholeTrack {
        picture,
        patches,
        corrupt_packets,
    }))
}

/// Decodes from the start to [`MARGIN_SECONDS`] past the middle (or the
/// end), drawing the columns before the middle.
fn earlier_half(mut stream: AudioStream, middle: f64, keep: bool) -> Result<Half, AudioError> {
    let source_rate = stream.report().source_rate;
    let until = ((middle + MARGIN_SECONDS) * source_rate as f64).round() as usize;
    let mut display = Resampled::new(source_rate, spectrogram::SAMPLE_RATE, 0);
    let mut builder = SpectrogramBuilder::new();
    // Reserved whole: growing it would copy and fault in every page twice.
    let mut kept = SpareSamples::take(if keep {
        until + source_rate as usize
    } else {
        0
    });
    let mut ended = true;
    while let Some(chunk) = stream.next_chunk()? {
        builder.push(&display.resample(&chunk, false));
        if keep {
            kept.extend_from_slice(&chunk);
        }
        if stream.report().samples >= until {
            ended = false;
            break;
        }
    }
    let middle_column = (middle * COLUMNS_PER_SECOND as f64).round() as usize;
    let columns = if ended {
        builder.push(&display.resample(&[], true));
        builder.finish().data
    } else {
        builder
            .into_first_columns(middle_column)
            .expect("samples decoded past the middle draw every column before it")
    };
    Ok(Half {
        columns,
        kept,
        source_rate,
        corrupt_packets: stream.report().corrupt_packets,
        whole: ended,
    })
}

/// Decodes from [`MARGIN_SECONDS`] before the middle to the end, drawing
/// the columns from the middle on.
fn later_half(path: &Path, middle: f64, keep: bool) -> Result<Half, AudioError> {
    let mut stream = AudioStream::open_native(path)?;
    let source_rate = stream.report().source_rate;
    let from = middle - MARGIN_SECONDS;
    // A hair past the grid point, so that rounding in the conversion to a
    // timestamp cannot land one sample early.
    stream.seek(from + 0.25 / source_rate as f64)?;
    let middle_column = (middle * COLUMNS_PER_SECOND as f64).round() as usize;
    let first = SpectrogramBuilder::first_sample_of(middle_column);
    let skip = first - (from * spectrogram::SAMPLE_RATE as f64).round() as usize;
    let mut display = Resampled::new(source_rate, spectrogram::SAMPLE_RATE, skip);
    let mut builder = SpectrogramBuilder::resuming_at(middle_column);
    let stated = stream.stated_seconds().unwrap_or(middle * 2.0);
    let mut kept = SpareSamples::take(if keep {
        ((stated - from + 1.0) * source_rate as f64) as usize
    } else {
        0
    });
    let mut decoded = 0;
    while let Some(mut chunk) = stream.next_chunk()? {
        if decoded == 0 {
            // A decoder that starts late after the seek (Vorbis needs a
            // packet to warm up) is put back on the grid with silence,
            // inside the margin that is thrown away.
            let late = stream.late_after_seek();
            if late as f64 > MARGIN_SECONDS / 2.0 * source_rate as f64 {
                return Err(AudioError::Unsupported {
                    path: path.to_path_buf(),
                    reason: format!("a seek landed {late} samples late"),
                });
            }
            chunk.splice(0..0, std::iter::repeat_n(0.0, late));
        }
        decoded += chunk.len();
        builder.push(&display.resample(&chunk, false));
        if keep {
            kept.extend_from_slice(&chunk);
        }
    }
    if decoded == 0 {
        return Err(AudioError::NoAudio {
            path: path.to_path_buf(),
            errors: stream.report().corrupt_packets,
        });
    }
    builder.push(&display.resample(&[], true));
    Ok(Half {
        columns: builder.finish().data,
        kept,
        source_rate,
        corrupt_packets: stream.report().corrupt_packets,
        whole: false,
    })
}

/// The halves' sample buffers, kept between selections: fresh ones cost a
/// page fault per 4 KB (4,000 for 90 s at 44.1 kHz), a tenth of the time
/// to the picture. Two at most are kept, each of a half up to
/// [`SpareSamples::MAX_SECONDS`] at 48 kHz: at most 70 MB held for quick
/// paging, 32 MB after 3-minute tracks at 44.1 kHz.
struct SpareSamples;

impl SpareSamples {
    const MAX_SECONDS: usize = 3 * 60;
    const MAX_SAMPLES: usize = Self::MAX_SECONDS * 48_000;

    fn pool() -> std::sync::MutexGuard<'static, Vec<Vec<f32>>> {
        static POOL: std::sync::Mutex<Vec<Vec<f32>>> = std::sync::Mutex::new(Vec::new());
        POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An empty buffer for `capacity` samples, a kept one when it fits.
    fn take(capacity: usize) -> Vec<f32> {
        if capacity == 0 {
            return Vec::new();
        }
        let mut pool = Self::pool();
        match pool.iter().position(|b| b.capacity() >= capacity) {
            Some(i) => pool.swap_remove(i),
            None => Vec::with_capacity(capacity),
        }
    }

    /// Keeps `buffer` for the next selection, when it is small enough.
    fn give_back(mut buffer: Vec<f32>) {
        if buffer.capacity() == 0 || buffer.capacity() > Self::MAX_SAMPLES {
            return;
        }
        buffer.clear();
        let mut pool = Self::pool();
        if pool.len() < 2 {
            pool.push(buffer);
        }
    }
}

/// musicnn's frames of the whole track from the two halves' kept samples,
/// one half per core.
fn model_frames(earlier: &[f32], later: Option<&Half>, source_rate: u32, middle: f64) -> Vec<f32> {
    let front_end = MelFrontEnd::new();
    let middle_frame =
        (middle * musicnn_mel::SAMPLE_RATE as f64 / musicnn_mel::HOP as f64).round() as usize;
    let Some(later) = later else {
        return framed(earlier, source_rate, 0, CentredFrames::new(&front_end)).finish();
    };
    let (mut first, second) = rayon::join(
        || {
            framed(earlier, source_rate, 0, CentredFrames::new(&front_end))
                .into_first_frames(middle_frame)
                .expect("samples kept past the middle frame every frame before it")
        },
        || {
            let from = middle - MARGIN_SECONDS;
            let first = CentredFrames::first_sample_of(middle_frame);
            let skip = first - (from * musicnn_mel::SAMPLE_RATE as f64).round() as usize;
            framed(
                &later.kept,
                source_rate,
                skip,
                CentredFrames::resuming(&front_end),
            )
            .finish()
        },
    );
    first.extend_from_slice(&second);
    first
}

/// `samples` resampled to musicnn's rate, the first `skip` dropped, and
/// pushed into `frames` a piece at a time (a copy of the whole would cost
/// as much in page faults as the resampling).
fn framed<'a>(
    samples: &[f32],
    source_rate: u32,
    skip: usize,
    mut frames: CentredFrames<'a>,
) -> CentredFrames<'a> {
    let mut resampled = Resampled::new(source_rate, musicnn_mel::SAMPLE_RATE, skip);
    let pieces = samples.len().div_ceil(PIECE).max(1);
    for (i, piece) in samples.chunks(PIECE).enumerate() {
        frames.push(&resampled.resample(piece, i + 1 == pieces));
    }
    frames
}

/// Samples resampled and framed at a time.
const PIECE: usize = 1 << 15;

/// Source-rate samples resampled, chunk by chunk, the first few dropped.
struct Resampled {
    resampler: Option<Resampler>,
    pending: Vec<f32>,
    skip: usize,
}

impl Resampled {
    fn new(source_rate: u32, rate: u32, skip: usize) -> Self {
        let resampler = (source_rate != rate)
            .then(|| Resampler::new(source_rate, rate).expect("the stream opened at this rate"));
        Self {
            resampler,
            pending: Vec::new(),
            skip,
        }
    }

    fn resample(&mut self, chunk: &[f32], flush: bool) -> Vec<f32> {
        let mut out = match &mut self.resampler {
            None => chunk.to_vec(),
            Some(resampler) => {
                self.pending.extend_from_slice(chunk);
                resampler.process(&mut self.pending, flush)
            }
        };
        let dropped = self.skip.min(out.len());
        self.skip -= dropped;
        out.drain(..dropped);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::synth;

    /// How far the halves' analysis is from the pipelines' own single
    /// passes.
    struct Difference {
        /// Picture bytes off by more than one.
        bytes: usize,
        /// The largest and the mean difference of a log-mel value.
        worst: f32,
        mean: f32,
    }

    fn compare(path: &Path) -> Difference {
        let track = analyse(path, Some(FeatureKind::MusicnnMel), &|_| {}).unwrap();
        let (whole, _) = spectrogram::analyse_file(path).unwrap();
        assert_eq!(
            track.picture.columns(),
            whole.columns(),
            "{}",
            path.display()
        );
        let bytes = track
            .picture
            .data
            .iter()
            .zip(&whole.data)
            .filter(|(a, b)| a.abs_diff(**b) > 1)
            .count();
        if crate::audio::AudioStream::open_native(path)
            .unwrap()
            .report()
            .source_rate
            == spectrogram::SAMPLE_RATE
        {
            // Not resampled: drawn exactly.
            assert!(track.picture == whole, "{}", path.display());
        }
        let patches = track.patches.unwrap();
        let expected = FeatureKind::MusicnnMel.analyse_file(path).unwrap();
        assert_eq!(patches.starts, expected.starts);
        let (super::super::PatchData::LogMel(got), super::super::PatchData::LogMel(want)) =
            (&patches.data, &expected.data)
        else {
            unreachable!()
        };
        let differences: Vec<f32> = got.iter().zip(want).map(|(a, b)| (a - b).abs()).collect();
        Difference {
            bytes,
            worst: differences.iter().copied().fold(0f32, f32::max),
            mean: differences.iter().sum::<f32>() / differences.len() as f32,
        }
    }

    #[test]
    fn a_track_decoded_in_halves_is_the_track_decoded_whole() {
        let dir = tempfile::tempdir().unwrap();
        for rate in [22_050, 16_000, 44_100] {
            let path = dir.path().join(format!("music-{rate}.wav"));
            synth::write_wav(&path, &synth::music_like(47.3, rate, 7), rate, 2).unwrap();
            let difference = compare(&path);
            assert_eq!(
                difference.bytes, 0,
                "{rate} Hz: picture bytes off by more than one"
            );
            // A source at the model's own rate is not resampled: exact.
            let bound = if rate == musicnn_mel::SAMPLE_RATE {
                0.0
            } else {
                1e-3
            };
            let worst = difference.worst;
            assert!(worst <= bound, "{rate} Hz: a frame value is off by {worst}");
        }
    }

    #[test]
    fn compressed_tracks_decoded_in_halves_are_the_tracks_decoded_whole() {
        // Seeking into an MP3 lands where its bit reservoir is missing, and
        // Vorbis and FLAC seek by their own indexes: the margin covers all.
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("music.wav");
        synth::write_wav(&wav, &synth::music_like(41.7, 44_100, 3), 44_100, 2).unwrap();
        for (ext, args) in crate::dev::bench::FORMATS
            .iter()
            .filter(|(ext, _)| *ext != "wav")
        {
            let path = dir.path().join(format!("music.{ext}"));
            assert!(
                crate::dev::bench::ffmpeg_encode(&wav, &path, args),
                "this test needs ffmpeg (packaging/deps.sh installs it)"
            );
            let Difference { bytes, worst, mean } = compare(&path);
            if *ext == "m4a" {
                // AAC fills some bands with noise from a generator whose
                // state a seek resets: the later half's noise differs, as it
                // does when a player seeks. Everything else lines up.
                let columns = 41.7 * COLUMNS_PER_SECOND as f64;
                assert!(
                    (bytes as f64) < 0.03 * columns * 128.0,
                    "{ext}: {bytes} picture bytes off by more than one"
                );
                assert!(
                    mean < 0.005,
                    "{ext}: log-mel values off by {mean} on average"
                );
            } else {
                assert_eq!(bytes, 0, "{ext}: picture bytes off by more than one");
                assert!(worst <= 1e-3, "{ext}: a frame value is off by {worst}");
            }
        }
    }
}
