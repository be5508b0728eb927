//! Mel spectrograms and 128×128 slices: the picture the CNN looks at.
//!
//! Audio arrives as mono `f32` at [`SAMPLE_RATE`] (22,050 Hz). A Hann-windowed
//! FFT of [`FFT_SIZE`] samples is taken every [`HOP`] samples (441 = 20 ms), so
//! the image has exactly [`COLUMNS_PER_SECOND`] (50) columns per second of
//! audio. Each column's power spectrum is folded into [`MEL_BANDS`] (128)
//! triangular mel bands from [`F_MIN`] to [`F_MAX`], converted to decibels
//! relative to a full-scale sine, clipped to [`DB_FLOOR`]..0 dB and mapped to
//! `u8` (0 = silence/black, 255 = full scale/white): the article's greyscale
//! image.
//!
//! Storage is column-major (`column * 128 + band`, band 0 = lowest frequency)
//! because audio grows in time; [`Spectrogram::to_image`] flips it so low
//! frequencies are drawn at the bottom.
//!
//! Slicing: non-overlapping 128-column slices starting at column 0. The tail
//! (the last `columns % 128` columns, under 2.56 s) is dropped, so a track
//! shorter than 2.56 s has no slice and cannot be classified.
//!
//! [`FEATURES_VERSION`] is stamped on everything derived from these numbers;
//! change it whenever any constant or formula here changes.

use crate::audio::{AudioError, AudioStream, DecodeReport, guarded};
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use std::path::Path;
use std::sync::Arc;

/// Version of the feature pipeline (decoding, resampling, STFT, mel, dB map).
pub const FEATURES_VERSION: u32 = 1;
/// Analysis sample rate in Hz.
pub const SAMPLE_RATE: u32 = crate::audio::SAMPLE_RATE;
/// Samples between two columns: 20 ms at 22,050 Hz.
pub const HOP: usize = 441;
/// Columns per second of audio.
pub const COLUMNS_PER_SECOND: usize = SAMPLE_RATE as usize / HOP;
/// FFT window length in samples (93 ms), long enough to resolve low mel bands.
pub const FFT_SIZE: usize = 2048;
/// Mel bands (image height).
pub const MEL_BANDS: usize = 128;
/// Slice width in columns (2.56 s).
pub const SLICE_COLUMNS: usize = 128;
/// Lowest mel band edge in Hz.
pub const F_MIN: f32 = 20.0;
/// Highest mel band edge in Hz (Nyquist at 22,050 Hz).
pub const F_MAX: f32 = 11_025.0;
/// Decibels mapped to black; 0 dB (full-scale sine) maps to white.
pub const DB_FLOOR: f32 = -80.0;

/// Seconds of audio covered by one slice.
pub const SLICE_SECONDS: f64 = SLICE_COLUMNS as f64 / COLUMNS_PER_SECOND as f64;

/// Number of slices a spectrogram of `columns` columns yields (tail dropped).
pub fn slice_count(columns: usize) -> usize {
    columns / SLICE_COLUMNS
}

/// Hz → mel (HTK formula).
pub fn hz_to_mel(hz: f32) -> f32 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// Mel → Hz (HTK formula).
pub fn mel_to_hz(mel: f32) -> f32 {
    700.0 * (10f32.powf(mel / 2595.0) - 1.0)
}

/// Centre frequency of mel band `band` (0 = lowest).
pub fn band_centre_hz(band: usize) -> f32 {
    let (lo, hi) = (hz_to_mel(F_MIN), hz_to_mel(F_MAX));
    mel_to_hz(lo + (hi - lo) * (band as f32 + 1.0) / (MEL_BANDS as f32 + 1.0))
}

/// A mel spectrogram as `u8`, column-major, [`MEL_BANDS`] values per column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spectrogram {
    /// `columns * MEL_BANDS` bytes; `data[c * MEL_BANDS + b]`, band 0 lowest.
    pub data: Vec<u8>,
}

impl Spectrogram {
    /// Number of columns (time steps of 20 ms).
    pub fn columns(&self) -> usize {
        self.data.len() / MEL_BANDS
    }

    /// Number of whole 128×128 slices.
    pub fn slice_count(&self) -> usize {
        slice_count(self.columns())
    }

    /// Value at column `c`, band `b` (band 0 = lowest frequency).
    pub fn at(&self, c: usize, b: usize) -> u8 {
        self.data[c * MEL_BANDS + b]
    }

    /// Slice `i` as 128×128 bytes in row-major image order (`row * 128 + col`)
    /// with row 0 = the **lowest** band, the layout the model consumes.
    pub fn slice(&self, i: usize) -> Vec<u8> {
        self.window(i * SLICE_COLUMNS)
    }

    /// A 128-column window starting at any column (used for random-offset
    /// training crops), same layout as [`Spectrogram::slice`].
    pub fn window(&self, start: usize) -> Vec<u8> {
        let mut out = vec![0u8; MEL_BANDS * SLICE_COLUMNS];
        for col in 0..SLICE_COLUMNS {
            let src = &self.data[(start + col) * MEL_BANDS..(start + col + 1) * MEL_BANDS];
            for (band, v) in src.iter().enumerate() {
                out[band * SLICE_COLUMNS + col] = *v;
            }
        }
        out
    }

    /// Greyscale image, time left→right, low frequencies at the bottom. With
    /// `grid`, slice boundaries are drawn as mid-grey vertical lines.
    pub fn to_image(&self, grid: bool) -> image::GrayImage {
        let width = self.columns().max(1) as u32;
        let mut img = image::GrayImage::new(width, MEL_BANDS as u32);
        for c in 0..self.columns() {
            for b in 0..MEL_BANDS {
                let y = (MEL_BANDS - 1 - b) as u32;
                img.put_pixel(c as u32, y, image::Luma([self.at(c, b)]));
            }
        }
        if grid {
            for s in 1..=self.slice_count() {
                let x = (s * SLICE_COLUMNS) as u32;
                if x < width {
                    for y in (0..MEL_BANDS as u32).step_by(2) {
                        img.put_pixel(x, y, image::Luma([128]));
                    }
                }
            }
        }
        img
    }
}

/// One triangular mel filter as a run of FFT-bin weights.
#[derive(Clone, Debug)]
struct MelFilter {
    first_bin: usize,
    weights: Vec<f32>,
}

/// Streaming STFT → mel → u8 converter. Feed samples with [`push`], take the
/// result with [`finish`]; memory is the output image plus one window.
///
/// [`push`]: SpectrogramBuilder::push
/// [`finish`]: SpectrogramBuilder::finish
pub struct SpectrogramBuilder {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    filters: Vec<MelFilter>,
    /// Samples not yet consumed; starts with FFT_SIZE/2 zeros so frame `i` is
    /// centred on sample `i * HOP`.
    pending: Vec<f32>,
    /// Total real samples pushed.
    samples_in: usize,
    /// Frames emitted so far.
    frames_out: usize,
    /// Power → dB scale so a full-scale sine reads 0 dB in its band.
    power_scale: f32,
    scratch: Vec<Complex32>,
    fft_scratch: Vec<Complex32>,
    /// The power spectra of up to [`BLOCK`] frames, bin-major
    /// (`bin * BLOCK + frame`), so the mel filters run on all of them at
    /// once in vector lanes.
    block: Vec<f32>,
    /// Frames in `block`.
    block_frames: usize,
    data: Vec<u8>,
}

/// Frames whose mel bands are summed together, one per vector lane. Each
/// lane adds in the same order as a single frame would: the same bytes.
const BLOCK: usize = 8;

impl Default for SpectrogramBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SpectrogramBuilder {
    /// A builder with the fixed parameters of this module.
    pub fn new() -> Self {
        let fft = FftPlanner::<f32>::new().plan_fft_forward(FFT_SIZE);
        let window: Vec<f32> = (0..FFT_SIZE)
            .map(|n| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * n as f32 / FFT_SIZE as f32).cos())
            .collect();
        let window_sum: f32 = window.iter().sum();
        // |X[k]|² of a full-scale sine is (A·Σw/2)²; scale so it reads 1.0.
        let power_scale = 4.0 / (window_sum * window_sum);
        let fft_scratch = vec![Complex32::default(); fft.get_inplace_scratch_len()];
        Self {
            fft,
            window,
            filters: mel_filters(),
            pending: vec![0.0; FFT_SIZE / 2],
            samples_in: 0,
            frames_out: 0,
            power_scale,
            scratch: vec![Complex32::default(); FFT_SIZE],
            fft_scratch,
            block: vec![0.0; (FFT_SIZE / 2 + 1) * BLOCK],
            block_frames: 0,
            data: Vec::new(),
        }
    }

    /// A builder for the columns from `first_column` on, to be fed the
    /// samples from [`SpectrogramBuilder::first_sample_of`]`(first_column)`
    /// on: how the later part of a track decoded in parts is drawn. Its
    /// columns are the same as a builder fed the whole track computes.
    pub fn resuming_at(first_column: usize) -> Self {
        let mut builder = Self::new();
        builder.pending.clear();
        builder.samples_in = Self::first_sample_of(first_column);
        builder.frames_out = first_column;
        builder
    }

    /// The first sample (at [`SAMPLE_RATE`]) that column `column`'s window
    /// reads; columns from 3 on start inside the track.
    pub fn first_sample_of(column: usize) -> usize {
        (column * HOP)
            .checked_sub(FFT_SIZE / 2)
            .expect("columns from 3 on start inside the track")
    }

    /// The first `columns` columns computed, or `None` when fewer are:
    /// the earlier part of a track decoded in parts, whose samples were fed
    /// a little past its end.
    pub fn into_first_columns(mut self, columns: usize) -> Option<Vec<u8>> {
        if self.block_frames > 0 {
            self.emit_block();
        }
        (self.data.len() >= columns * MEL_BANDS).then(|| {
            self.data.truncate(columns * MEL_BANDS);
            self.data
        })
    }

    /// Frames that the samples pushed so far entitle us to: one per HOP.
    fn frames_due(&self) -> usize {
        self.samples_in / HOP
    }

    /// Adds mono samples at [`SAMPLE_RATE`].
    pub fn push(&mut self, samples: &[f32]) {
        self.pending.extend_from_slice(samples);
        self.samples_in += samples.len();
        self.drain(false);
    }

    /// Computes every frame whose window is complete (or, at the end, every
    /// frame that is due, zero-padding the last windows).
    fn drain(&mut self, at_end: bool) {
        let due = self.frames_due();
        let available = |pending: usize| {
            if at_end {
                usize::MAX
            } else if pending >= FFT_SIZE {
                (pending - FFT_SIZE) / HOP + 1
            } else {
                0
            }
        };
        let mut todo = (due - self.frames_out).min(available(self.pending.len()));
        if at_end {
            let need = (todo.saturating_sub(1)) * HOP + FFT_SIZE;
            if self.pending.len() < need {
                self.pending.resize(need, 0.0);
            }
        }
        self.data.reserve(todo * MEL_BANDS);
        let mut offset = 0;
        // Two real frames per complex FFT: z = a + i·b.
        while todo >= 2 {
            self.frame_pair(offset, Some(offset + HOP));
            offset += 2 * HOP;
            todo -= 2;
        }
        if todo == 1 {
            self.frame_pair(offset, None);
            offset += HOP;
        }
        self.pending.drain(..offset.min(self.pending.len()));
    }

    fn frame_pair(&mut self, a: usize, b: Option<usize>) {
        // A lone frame (the last of a push) leaves its neighbour's lane to be
        // overwritten; a pair needs two free lanes.
        if self.block_frames + 2 > BLOCK {
            self.emit_block();
        }
        // Plain zipped loops without a branch or an index modulo inside, so
        // the compiler vectorises them; the arithmetic is the same, value for
        // value, as the textbook form (the picture does not change by a bit).
        let first = &self.pending[a..a + FFT_SIZE];
        match b {
            Some(b) => {
                let second = &self.pending[b..b + FFT_SIZE];
                for (((z, x), y), w) in self
                    .scratch
                    .iter_mut()
                    .zip(first)
                    .zip(second)
                    .zip(&self.window)
                {
                    *z = Complex32::new(x * w, y * w);
                }
            }
            None => {
                for ((z, x), w) in self.scratch.iter_mut().zip(first).zip(&self.window) {
                    *z = Complex32::new(x * w, 0.0);
                }
            }
        }
        self.fft
            .process_with_scratch(&mut self.scratch, &mut self.fft_scratch);
        // Frame a is the real part of z, frame b its imaginary part:
        // X_a[k] = (Z[k] + conj Z[N-k]) / 2 and X_b[k] = (Z[k] - conj Z[N-k]) / 2i.
        let z = &self.scratch;
        let scale = self.power_scale;
        let split = |zk: Complex32, znk: Complex32| {
            let (sum, diff) = (zk + znk, zk - znk);
            let (a_re, a_im) = (sum.re * 0.5, sum.im * 0.5);
            let (b_re, b_im) = (diff.im * 0.5, diff.re * -0.5);
            (
                (a_re * a_re + a_im * a_im) * scale,
                (b_re * b_re + b_im * b_im) * scale,
            )
        };
        let (lane_a, lane_b) = (self.block_frames, self.block_frames + 1);
        let mirrored = std::iter::once(&z[0]).chain(z[FFT_SIZE / 2..].iter().rev());
        for ((bin, zk), znk) in self
            .block
            .chunks_exact_mut(BLOCK)
            .zip(&z[..=FFT_SIZE / 2])
            .zip(mirrored)
        {
            (bin[lane_a], bin[lane_b]) = split(*zk, znk.conj());
        }
        self.block_frames += if b.is_some() { 2 } else { 1 };
        self.frames_out += if b.is_some() { 2 } else { 1 };
        if self.block_frames == BLOCK {
            self.emit_block();
        }
    }

    /// Sums the block's frames into mel bands and appends their columns.
    fn emit_block(&mut self) {
        let frames = self.block_frames;
        let start = self.data.len();
        self.data.resize(start + frames * MEL_BANDS, 0);
        for (band, f) in self.filters.iter().enumerate() {
            let mut energy = [0f32; BLOCK];
            for (w, bin) in f
                .weights
                .iter()
                .zip(self.block[f.first_bin * BLOCK..].chunks_exact(BLOCK))
            {
                for (e, p) in energy.iter_mut().zip(bin) {
                    *e += w * p;
                }
            }
            for (frame, e) in energy[..frames].iter().enumerate() {
                self.data[start + frame * MEL_BANDS + band] = energy_to_u8(*e);
            }
        }
        self.block_frames = 0;
    }

    /// Completes the last frames and returns the spectrogram: exactly
    /// `samples / HOP` columns.
    pub fn finish(mut self) -> Spectrogram {
        self.drain(true);
        if self.block_frames > 0 {
            self.emit_block();
        }
        Spectrogram { data: self.data }
    }
}

/// A band's energy as its `u8`: `db_to_u8(10·log10(energy + 10⁻¹²))`.
fn energy_to_u8_by_formula(energy: f32) -> u8 {
    db_to_u8(10.0 * (energy + 1e-12).log10())
}

/// [`energy_to_u8_by_formula`] by a search among the 255 energies where
/// the value steps up, instead of a logarithm per band and column (a fifth
/// of the spectrogram's time). The formula rises with the energy, so the
/// search gives the same byte.
fn energy_to_u8(energy: f32) -> u8 {
    energy_steps().partition_point(|step| *step <= energy) as u8
}

/// The least energy giving each byte from 1 to 255.
fn energy_steps() -> &'static [f32] {
    static STEPS: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    STEPS.get_or_init(|| {
        // The least non-negative float reaching each value, by bisection on
        // the bit patterns (which order non-negative floats).
        (1..=255u8)
            .map(|value| {
                let (mut below, mut reaches) = (0u32, f32::INFINITY.to_bits());
                while reaches - below > 1 {
                    let mid = below + (reaches - below) / 2;
                    if energy_to_u8_by_formula(f32::from_bits(mid)) >= value {
                        reaches = mid;
                    } else {
                        below = mid;
                    }
                }
                f32::from_bits(reaches)
            })
            .collect()
    })
}

/// Maps decibels to `u8`: [`DB_FLOOR`] and below → 0, 0 dB and above → 255.
pub fn db_to_u8(db: f32) -> u8 {
    let t = ((db - DB_FLOOR) / -DB_FLOOR).clamp(0.0, 1.0);
    round_non_negative(t * 255.0) as u8
}

/// `x.round()` for `0 <= x < 2³¹`, inline: without SSE4.1 in the baseline
/// target, `f32::round` is a call into libm, a tenth of the spectrogram's
/// time. `x + 0.5` can round up past the half (0.49999997 + 0.5 = 1.0 in
/// `f32`); the check puts such a value back.
fn round_non_negative(x: f32) -> f32 {
    let up = (x + 0.5) as u32 as f32;
    if x < up - 0.5 { up - 1.0 } else { up }
}

/// Triangular filters with peak 1, spaced evenly in mel between F_MIN and
/// F_MAX. Peak-1 (not area-normalised) filters keep a pure tone at 0 dB in its
/// band whatever the band's width. A filter narrower than one bin still gets
/// the nearest bin so no band is always black.
fn mel_filters() -> Vec<MelFilter> {
    let bin_hz = SAMPLE_RATE as f32 / FFT_SIZE as f32;
    let (lo, hi) = (hz_to_mel(F_MIN), hz_to_mel(F_MAX));
    let edges: Vec<f32> = (0..MEL_BANDS + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f32 / (MEL_BANDS as f32 + 1.0)))
        .collect();
    (0..MEL_BANDS)
        .map(|m| {
            let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2]);
            let first = (left / bin_hz).ceil() as usize;
            let last = ((right / bin_hz).floor() as usize).min(FFT_SIZE / 2);
            let mut weights: Vec<f32> = (first..=last)
                .map(|k| {
                    let f = k as f32 * bin_hz;
                    if f <= centre {
                        (f - left) / (centre - left)
                    } else {
                        (right - f) / (right - centre)
                    }
                    .max(0.0)
                })
                .collect();
            if first > last || weights.iter().all(|w| *w <= 0.0) {
                let nearest = ((centre / bin_hz).round() as usize).min(FFT_SIZE / 2);
                return MelFilter {
                    first_bin: nearest,
                    weights: vec![1.0],
                };
            }
            while weights.last() == Some(&0.0) {
                weights.pop();
            }
            MelFilter {
                first_bin: first,
                weights,
            }
        })
        .collect()
}

/// Spectrogram of a whole buffer of mono samples at [`SAMPLE_RATE`].
pub fn compute(samples: &[f32]) -> Spectrogram {
    let mut builder = SpectrogramBuilder::new();
    builder.push(samples);
    builder.finish()
}

/// Analyses only the slices `indices` (slice `k` covers columns
/// `k*128..(k+1)*128` of the full spectrogram) by seeking to each: the
/// fast path for classifying long tracks. Each window is decoded with a
/// small margin so its frames are centred where the full analysis centres
/// them. Returns the slices (row-major, as [`Spectrogram::slice`]) and the
/// counters.
pub fn analyse_slices(
    path: &Path,
    indices: &[usize],
) -> Result<(Vec<u8>, DecodeReport), AudioError> {
    use crate::features::spectrogram::{HOP, SLICE_COLUMNS, SLICE_SECONDS, compute};
    // Six columns (120 ms) of margin before the slice: the half window
    // (46 ms) plus an MP3 frame that cannot be decoded right after a seek
    // (its bit reservoir lies before the seek point).
    const MARGIN_COLUMNS: usize = 6;
    let margin = (MARGIN_COLUMNS * HOP) as f64 / SAMPLE_RATE as f64;
    let mut stream = AudioStream::open(path)?;
    let mut out =
        Vec::with_capacity(indices.len() * SLICE_COLUMNS * crate::features::spectrogram::MEL_BANDS);
    let mut report = DecodeReport::default();
    let want = ((SLICE_SECONDS + 2.0 * margin + 0.1) * SAMPLE_RATE as f64) as usize;
    // Where each slice is read from (the loop below seeks the same), with
    // half a second for the resampler.
    let stretches: Vec<(f64, f64)> = indices
        .iter()
        .map(|&k| {
            let from = k as f64 * SLICE_SECONDS - margin;
            let read = want as f64 / SAMPLE_RATE as f64 + from.min(0.0);
            (from.max(0.0), read + 0.5)
        })
        .collect();
    stream.prefetch(&stretches);
    for &k in indices {
        let start = k as f64 * SLICE_SECONDS;
        let from = start - margin;
        let mut samples = Vec::with_capacity(want);
        if from < 0.0 {
            // Before the start the full analysis sees zeros.
            samples.resize(((-from) * SAMPLE_RATE as f64).round() as usize, 0.0);
            stream.seek(0.0)?;
        } else {
            stream.seek(from)?;
        }
        while samples.len() < want {
            match stream.next_chunk()? {
                Some(chunk) => samples.extend_from_slice(&chunk),
                None => break,
            }
        }
        let spec = compute(&samples);
        if spec.columns() < MARGIN_COLUMNS + SLICE_COLUMNS {
            break;
        }
        out.extend(spec.window(MARGIN_COLUMNS));
        report.corrupt_packets = stream.report().corrupt_packets;
        report.source_rate = stream.report().source_rate;
        report.source_channels = stream.report().source_channels;
        report.samples += SLICE_COLUMNS * HOP;
    }
    if out.is_empty() {
        return Err(AudioError::NoAudio {
            path: path.to_path_buf(),
            errors: report.corrupt_packets,
        });
    }
    Ok((out, report))
}

/// Decodes a file and computes its spectrogram without holding its PCM.
pub fn analyse_file(path: &Path) -> Result<(Spectrogram, DecodeReport), AudioError> {
    guarded(path, || {
        let mut stream = AudioStream::open(path)?;
        let mut builder = SpectrogramBuilder::new();
        while let Some(chunk) = stream.next_chunk()? {
            builder.push(&chunk);
        }
        Ok((builder.finish(), stream.report().clone()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, seconds: f32, amp: f32) -> Vec<f32> {
        let n = (seconds * SAMPLE_RATE as f32) as usize;
        (0..n)
            .map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / SAMPLE_RATE as f32).sin())
            .collect()
    }

    #[test]
    fn the_energy_search_is_the_formula() {
        // Every 251st float from below the floor (10⁻⁸) to past full
        // scale, and every float near each step.
        let (floor, top) = (1e-9f32.to_bits(), 10f32.to_bits());
        for bits in (floor..top).step_by(251) {
            let e = f32::from_bits(bits);
            assert_eq!(energy_to_u8(e), energy_to_u8_by_formula(e), "{e:e}");
        }
        for step in energy_steps() {
            let step = step.to_bits();
            for bits in step - 64..step + 64 {
                let e = f32::from_bits(bits);
                assert_eq!(energy_to_u8(e), energy_to_u8_by_formula(e), "{e:e}");
            }
        }
        for e in [0.0, f32::MAX, f32::INFINITY, f32::NAN] {
            assert_eq!(energy_to_u8(e), energy_to_u8_by_formula(e), "{e:e}");
        }
    }

    #[test]
    fn the_inline_rounding_is_f32_round() {
        // Every float near each integer and half, and a sample between.
        for k in 0..=256u32 {
            for centre in [k as f32, k as f32 + 0.5] {
                for bits in centre.to_bits().saturating_sub(300)..centre.to_bits() + 300 {
                    let x = f32::from_bits(bits);
                    assert_eq!(round_non_negative(x), x.round(), "{x}");
                }
            }
        }
        for bits in (0..256f32.to_bits()).step_by(997) {
            let x = f32::from_bits(bits);
            assert_eq!(round_non_negative(x), x.round(), "{x}");
        }
    }

    #[test]
    fn fifty_columns_per_second() {
        for secs in [1.0f32, 3.3, 10.0] {
            let s = compute(&tone(440.0, secs, 0.5));
            assert_eq!(s.columns(), (secs * SAMPLE_RATE as f32) as usize / HOP);
        }
        assert_eq!(compute(&tone(440.0, 10.0, 0.5)).columns(), 500);
    }

    #[test]
    fn streaming_equals_one_shot() {
        let samples = tone(1000.0, 4.0, 0.3);
        let whole = compute(&samples);
        let mut b = SpectrogramBuilder::new();
        for chunk in samples.chunks(777) {
            b.push(chunk);
        }
        assert_eq!(b.finish(), whole);
    }

    #[test]
    fn tone_lands_in_its_mel_band() {
        for hz in [100.0f32, 440.0, 1000.0, 4000.0, 9000.0] {
            let s = compute(&tone(hz, 2.0, 1.0));
            let c = s.columns() / 2;
            let loudest = (0..MEL_BANDS).max_by_key(|&b| s.at(c, b)).unwrap();
            let expected = (0..MEL_BANDS)
                .min_by(|&a, &b| {
                    (band_centre_hz(a) - hz)
                        .abs()
                        .total_cmp(&(band_centre_hz(b) - hz).abs())
                })
                .unwrap();
            assert!(
                loudest.abs_diff(expected) <= 1,
                "{hz} Hz: loudest band {loudest}, expected {expected}"
            );
            assert!(
                s.at(c, loudest) > 240,
                "full-scale sine should be near white"
            );
        }
    }

    #[test]
    fn slice_count_for_known_duration() {
        // 60 s → 3000 columns → 23 slices (2944 columns), tail of 56 dropped.
        let s = compute(&vec![0.0; 60 * SAMPLE_RATE as usize]);
        assert_eq!(s.columns(), 3000);
        assert_eq!(s.slice_count(), 23);
        assert_eq!(slice_count(127), 0);
        assert_eq!(slice_count(128), 1);
    }

    #[test]
    fn silence_black_noise_bright() {
        let silent = compute(&vec![0.0; SAMPLE_RATE as usize * 3]);
        assert!(silent.data.iter().all(|&v| v == 0));
        let mut state = 12345u32;
        let noise: Vec<f32> = (0..SAMPLE_RATE as usize * 3)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
            })
            .collect();
        let s = compute(&noise);
        let mean: f64 = s.data.iter().map(|&v| v as f64).sum::<f64>() / s.data.len() as f64;
        assert!(mean > 150.0, "full-scale noise mean {mean}");
        assert_eq!(compute(&noise), s, "deterministic");
    }

    #[test]
    fn slice_layout_low_band_first_row() {
        let s = compute(&tone(100.0, 3.0, 1.0));
        let slice = s.slice(0);
        let row_sum = |r: usize| -> u32 {
            slice[r * 128..(r + 1) * 128]
                .iter()
                .map(|&v| v as u32)
                .sum()
        };
        assert!(row_sum(10) > row_sum(120));
        let img = s.to_image(true);
        assert_eq!(img.height(), 128);
        assert_eq!(img.width() as usize, s.columns());
    }
}
