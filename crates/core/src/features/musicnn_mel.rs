//! musicnn's input: its log-mel front end, exactly.
//!
//! 16 kHz mono, STFT n_fft 512 / hop 256 / periodic Hann / reflect-centred,
//! 96 Slaney mel bands 0–8 kHz with Slaney normalisation, a float16
//! rounding, `log10(10000·x + 1)`; cut into 187-frame patches (≈ 3 s), the
//! network's input ([`crate::ml::musicnn::MusicnnNet`]). [`analyse_file`]
//! streams a whole file; [`analyse_patches`] seeks to chosen patches only.

use crate::audio::{AudioError, AudioStream, DecodeReport};
use half::f16;
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::path::Path;
use std::sync::Arc;

/// Input sample rate in Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// STFT window length in samples (32 ms).
pub const N_FFT: usize = 512;
/// Samples between two frames (16 ms).
pub const HOP: usize = 256;
/// Mel bands.
pub const MEL_BANDS: usize = 96;
/// Frames per patch (≈ 2.99 s), musicnn's input length.
pub const PATCH_FRAMES: usize = 187;
/// Seconds of audio one patch covers.
pub const PATCH_SECONDS: f64 = (PATCH_FRAMES * HOP) as f64 / SAMPLE_RATE as f64;
/// Version of this feature pipeline, stamped on analyses and model cards; the
/// from-scratch network's pipeline is [`crate::features::spectrogram::FEATURES_VERSION`].
pub const FEATURES_VERSION: u32 = 101;
/// Largest value the front end can produce: `log10(10000 × f16::MAX + 1)`.
pub(crate) const LOG_MEL_MAX: f32 = 8.8163;

/// musicnn's log-mel front end. Cheap to build; share one per thread.
pub struct MelFrontEnd {
    fft: Arc<dyn Fft<f64>>,
    /// Periodic Hann window, rounded to f32 as the reference does.
    window: Vec<f32>,
    /// Per band: first FFT bin and its weights (f32-rounded, used as f64).
    filters: Vec<(usize, Vec<f64>)>,
}

impl Default for MelFrontEnd {
    fn default() -> Self {
        Self::new()
    }
}

fn slaney_hz_to_mel(f: f64) -> f64 {
    if f >= 1000.0 {
        15.0 + (f / 1000.0).ln() / (6.4f64.ln() / 27.0)
    } else {
        f / (200.0 / 3.0)
    }
}

fn slaney_mel_to_hz(m: f64) -> f64 {
    if m >= 15.0 {
        1000.0 * ((6.4f64.ln() / 27.0) * (m - 15.0)).exp()
    } else {
        m * 200.0 / 3.0
    }
}

impl MelFrontEnd {
    /// Plans the FFT and builds librosa's default (Slaney) filterbank.
    pub fn new() -> Self {
        let window = (0..N_FFT)
            .map(|n| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()) as f32
            })
            .collect();
        let bins = N_FFT / 2 + 1;
        let nyquist = SAMPLE_RATE as f64 / 2.0;
        let fft_hz: Vec<f64> = (0..bins)
            .map(|k| k as f64 * nyquist / (bins - 1) as f64)
            .collect();
        let (lo, hi) = (slaney_hz_to_mel(0.0), slaney_hz_to_mel(nyquist));
        let mel_hz: Vec<f64> = (0..MEL_BANDS + 2)
            .map(|i| slaney_mel_to_hz(lo + (hi - lo) * i as f64 / (MEL_BANDS + 1) as f64))
            .collect();
        let filters = (0..MEL_BANDS)
            .map(|b| {
                let norm = 2.0 / (mel_hz[b + 2] - mel_hz[b]);
                let weights: Vec<f64> = fft_hz
                    .iter()
                    .map(|&f| {
                        let lower = (f - mel_hz[b]) / (mel_hz[b + 1] - mel_hz[b]);
                        let upper = (mel_hz[b + 2] - f) / (mel_hz[b + 2] - mel_hz[b + 1]);
                        ((lower.min(upper)).max(0.0) * norm) as f32 as f64
                    })
                    .collect();
                let first = weights.iter().position(|&w| w != 0.0).unwrap_or(0);
                let last = weights.iter().rposition(|&w| w != 0.0).unwrap_or(0);
                (first, weights[first..=last.max(first)].to_vec())
            })
            .collect();
        Self {
            fft: FftPlanner::new().plan_fft_forward(N_FFT),
            window,
            filters,
        }
    }

    /// Frames (row-major `frames × 96`) of a whole signal, centred the way
    /// librosa centres them: reflect-padded by half a window at both ends,
    /// one frame every [`HOP`] samples, `1 + len / HOP` frames.
    pub fn frames_centred(&self, samples: &[f32]) -> Vec<f32> {
        let half = N_FFT / 2;
        let n = samples.len();
        let mut padded = Vec::with_capacity(n + N_FFT);
        // numpy's "reflect" mirrors around the edge sample without repeating it.
        let mirror = |i: isize| -> f32 {
            if n < 2 {
                return 0.0;
            }
            let period = 2 * (n as isize - 1);
            let mut k = i.rem_euclid(period);
            if k >= n as isize {
                k = period - k;
            }
            samples[k as usize]
        };
        padded.extend((0..half).map(|i| mirror(i as isize - half as isize)));
        padded.extend_from_slice(samples);
        padded.extend((0..half).map(|i| mirror((n + i) as isize)));
        self.frames_uncentred(&padded)
    }

    /// Frames of a segment whose frame `j` covers samples
    /// `j*HOP .. j*HOP + N_FFT` (no padding): how a patch in the middle of a
    /// track is computed after seeking.
    pub fn frames_uncentred(&self, samples: &[f32]) -> Vec<f32> {
        let count = if samples.len() >= N_FFT {
            (samples.len() - N_FFT) / HOP + 1
        } else {
            0
        };
        let mut out = Vec::with_capacity(count * MEL_BANDS);
        let mut buf = vec![Complex64::default(); N_FFT];
        let mut scratch = vec![Complex64::default(); self.fft.get_inplace_scratch_len()];
        let mut power = vec![0f64; N_FFT / 2 + 1];
        // One frame per FFT (not two packed in one): a frame's value must not
        // depend on its neighbour, so streamed and whole-file analyses agree
        // bit for bit. The FFT is a few percent of the decoding cost.
        for j in 0..count {
            for (i, c) in buf.iter_mut().enumerate() {
                // The window product is rounded to f32, as the reference does.
                let a = samples[j * HOP + i] * self.window[i];
                *c = Complex64::new(a as f64, 0.0);
            }
            self.fft.process_with_scratch(&mut buf, &mut scratch);
            for (p, z) in power.iter_mut().zip(&buf) {
                *p = z.norm_sqr();
            }
            self.push_log_mel(&power, &mut out);
        }
        out
    }

    fn push_log_mel(&self, power: &[f64], out: &mut Vec<f32>) {
        for (first, weights) in &self.filters {
            let mel: f64 = weights
                .iter()
                .zip(&power[*first..])
                .map(|(w, p)| w * p)
                .sum();
            // musicnn stores its spectrograms as float16; the model was
            // trained on that rounding.
            let rounded = f16::from_f64(mel).to_f32();
            out.push((10_000.0 * rounded + 1.0).log10());
        }
    }
}

/// Streams samples into centred frames without holding the whole signal:
/// the reflect padding needs only the first and last 257 samples.
pub(crate) struct CentredFrames<'a> {
    front_end: &'a MelFrontEnd,
    /// Padded samples not yet consumed by a frame.
    pending: Vec<f32>,
    /// The last `N_FFT / 2 + 1` samples seen (for the end's reflection).
    tail: Vec<f32>,
    started: bool,
    frames: Vec<f32>,
}

impl<'a> CentredFrames<'a> {
    pub(crate) fn new(front_end: &'a MelFrontEnd) -> Self {
        Self {
            front_end,
            pending: Vec::new(),
            tail: Vec::new(),
            started: false,
            frames: Vec::new(),
        }
    }

    /// Frames from some frame `f` on, to be fed the samples from
    /// [`CentredFrames::first_sample_of`]`(f)` on: the later part of a track
    /// decoded in parts. Its frames are the same as those of the whole
    /// track's stream.
    pub(crate) fn resuming(front_end: &'a MelFrontEnd) -> Self {
        Self {
            started: true,
            ..Self::new(front_end)
        }
    }

    /// The first sample (at [`SAMPLE_RATE`]) that frame `frame` reads;
    /// frames from 1 on start inside the track.
    pub(crate) fn first_sample_of(frame: usize) -> usize {
        (frame * HOP)
            .checked_sub(N_FFT / 2)
            .expect("frames from 1 on start inside the track")
    }

    /// The first `frames` frames computed, or `None` when fewer are.
    pub(crate) fn into_first_frames(mut self, frames: usize) -> Option<Vec<f32>> {
        (self.frames.len() >= frames * MEL_BANDS).then(|| {
            self.frames.truncate(frames * MEL_BANDS);
            self.frames
        })
    }

    pub(crate) fn push(&mut self, samples: &[f32]) {
        let half = N_FFT / 2;
        self.tail.extend_from_slice(samples);
        if self.tail.len() > half + 1 {
            self.tail.drain(..self.tail.len() - (half + 1));
        }
        self.pending.extend_from_slice(samples);
        if !self.started {
            if self.pending.len() <= half {
                return;
            }
            let mut padded: Vec<f32> = self.pending[1..=half].iter().rev().copied().collect();
            padded.append(&mut self.pending);
            self.pending = padded;
            self.started = true;
        }
        self.drain_frames();
    }

    fn drain_frames(&mut self) {
        if self.pending.len() < N_FFT {
            return;
        }
        let count = (self.pending.len() - N_FFT) / HOP + 1;
        let used = (count - 1) * HOP + N_FFT;
        self.frames
            .extend(self.front_end.frames_uncentred(&self.pending[..used]));
        self.pending.drain(..count * HOP);
    }

    pub(crate) fn finish(mut self) -> Vec<f32> {
        if !self.started {
            // Shorter than half a window: numpy's reflection of the whole.
            return self.front_end.frames_centred(&self.pending);
        }
        let n = self.tail.len();
        let reflection: Vec<f32> = (0..N_FFT / 2).map(|i| self.tail[n - 2 - i]).collect();
        self.pending.extend(reflection);
        self.drain_frames();
        self.frames
    }
}

/// Decodes a file at 16 kHz and returns its log-mel frames (`frames × 96`)
/// exactly as [`MelFrontEnd::frames_centred`] would on the whole signal,
/// without holding the signal.
pub fn analyse_file(path: &Path) -> Result<(Vec<f32>, DecodeReport), AudioError> {
    let front_end = MelFrontEnd::new();
    let mut frames = CentredFrames::new(&front_end);
    let mut stream = AudioStream::open_at(path, SAMPLE_RATE)?;
    while let Some(chunk) = stream.next_chunk()? {
        frames.push(&chunk);
    }
    Ok((frames.finish(), stream.report().clone()))
}

/// Analyses only the patches `indices` (patch `k` is frames
/// `k*187..(k+1)*187` of [`analyse_file`]) by seeking to each: the fast path
/// for classifying long tracks. A patch is decoded from 0.1 s before the
/// first sample its frames read (an MP3 frame right after a seek cannot be
/// decoded: its bit reservoir lies before the seek point), and computed
/// without padding, so it matches the full analysis but for decoder and
/// resampler warm-up. Returns the patches found (a file shorter than its
/// duration claimed yields fewer) and the counters.
pub fn analyse_patches(
    path: &Path,
    indices: &[usize],
) -> Result<(Vec<f32>, DecodeReport), AudioError> {
    const MARGIN: usize = SAMPLE_RATE as usize / 10;
    let front_end = MelFrontEnd::new();
    let per = PATCH_FRAMES * MEL_BANDS;
    let span = (PATCH_FRAMES - 1) * HOP + N_FFT;
    let mut stream = AudioStream::open_at(path, SAMPLE_RATE)?;
    // Where each patch is read from, and how much (the loop below seeks
    // and reads the same), with half a second for the resampler.
    let stretches: Vec<(f64, f64)> = indices
        .iter()
        .map(|&k| {
            let first = (k * PATCH_FRAMES * HOP) as i64 - (N_FFT / 2) as i64;
            let from = if first < 0 {
                0
            } else {
                (first as usize).saturating_sub(MARGIN)
            };
            let read = if first < 0 {
                span
            } else {
                first as usize - from + span
            };
            let rate = SAMPLE_RATE as f64;
            (from as f64 / rate, read as f64 / rate + 0.5)
        })
        .collect();
    stream.prefetch(&stretches);
    let mut out = Vec::with_capacity(indices.len() * per);
    for &k in indices {
        // Frame f reads original samples f*HOP - N_FFT/2 .. f*HOP + N_FFT/2.
        let first = (k * PATCH_FRAMES * HOP) as i64 - (N_FFT / 2) as i64;
        let frames = if first < 0 {
            stream.seek(0.0)?;
            let samples = stream.read_samples(span)?;
            let frames = front_end.frames_centred(&samples);
            frames[..frames.len().min(per)].to_vec()
        } else {
            let from = (first as usize).saturating_sub(MARGIN);
            let skip = first as usize - from;
            stream.seek(from as f64 / SAMPLE_RATE as f64)?;
            let samples = stream.read_samples(skip + span)?;
            front_end.frames_uncentred(samples.get(skip..).unwrap_or_default())
        };
        if frames.len() < per {
            break;
        }
        out.extend_from_slice(&frames[..per]);
    }
    let mut report = stream.report().clone();
    report.samples = out.len() / MEL_BANDS * HOP;
    if out.is_empty() {
        return Err(AudioError::NoAudio {
            path: path.to_path_buf(),
            errors: report.corrupt_packets,
        });
    }
    Ok((out, report))
}

/// Number of whole patches in `frames` frames (the tail is dropped).
pub fn patch_count(frames: usize) -> usize {
    frames / PATCH_FRAMES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filterbank_is_slaney() {
        let fe = MelFrontEnd::new();
        assert_eq!(fe.filters.len(), MEL_BANDS);
        // Slaney area normalisation: a triangle of base W Hz has height 2/W,
        // so a band wide enough to span many bins sums to about 1/Δ (Δ =
        // 31.25 Hz per bin); every band covers at least one bin.
        let sums: Vec<f64> = fe.filters.iter().map(|(_, w)| w.iter().sum()).collect();
        assert!(sums.iter().all(|&s| s > 0.0));
        assert!((sums[95] * 31.25 - 1.0).abs() < 0.05, "{}", sums[95]);
        // Last band ends at 8 kHz (bin 256).
        let (first, w) = &fe.filters[95];
        assert!(first + w.len() <= 257);
    }

    #[test]
    fn centred_frames_count_and_silence() {
        let fe = MelFrontEnd::new();
        let frames = fe.frames_centred(&vec![0.0; 16_000]);
        assert_eq!(frames.len(), (1 + 16_000 / HOP) * MEL_BANDS);
        assert!(frames.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn streamed_frames_equal_whole_signal_frames() {
        let fe = MelFrontEnd::new();
        for len in [100, 257, 5_000, 48_000 + 77] {
            let signal = crate::dev::synth::music_like(len as f32 / 16_000.0, SAMPLE_RATE, 5);
            let signal = &signal[..len.min(signal.len())];
            let whole = fe.frames_centred(signal);
            let mut streamed = CentredFrames::new(&fe);
            for chunk in signal.chunks(1_000) {
                streamed.push(chunk);
            }
            assert_eq!(streamed.finish(), whole, "length {len}");
        }
    }
}
