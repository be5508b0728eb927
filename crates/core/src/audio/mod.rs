//! Decoding any supported file to mono `f32` at the analysis rate, streaming.
//!
//! Symphonia 0.6 demuxes every container (MP3, FLAC, Ogg, MP4, WAV, AIFF,
//! Matroska) and decodes MP3, FLAC, Vorbis, AAC, ALAC and PCM. It has no Opus
//! decoder, so Ogg Opus packets go to libopus through the `opus` crate
//! (linked against the system's `libopus`). Channels are averaged to mono and
//! resampled to [`SAMPLE_RATE`] with rubato's FFT resampler (band-limited, not
//! nearest-sample).
//!
//! [`AudioStream`] hands out chunks of a few thousand samples, so memory does
//! not grow with the length of the file; [`analyse_file`] streams straight
//! into the spectrogram builder. Corrupt packets are skipped and counted; a
//! file that yields no audio at all is an error naming the file.

pub mod formats;

use crate::features::spectrogram::{SAMPLE_RATE, Spectrogram, SpectrogramBuilder};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};
use std::fs::File;
use std::path::{Path, PathBuf};
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::packet::Packet;
use symphonia::core::units::Time;

/// Why a file could not be decoded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened or read.
    #[error("{}: cannot read file: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// No demuxer recognised the content.
    #[error("{}: not a recognised audio file ({reason})", path.display())]
    Unrecognised { path: PathBuf, reason: String },
    /// The container has no audio track, or its codec is not supported.
    #[error("{}: unsupported audio: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    /// Nothing could be decoded.
    #[error("{}: no audio could be decoded ({errors} corrupt packets)", path.display())]
    NoAudio { path: PathBuf, errors: usize },
    /// A third-party decoder or tag reader panicked on this file.
    #[error("{}: the decoder failed on damaged data ({message})", path.display())]
    Crashed { path: PathBuf, message: String },
    /// Decoding ran past the time a file of this size can need.
    #[error("{}: decoding was stopped after {seconds} s, far longer than a file of this size needs (damaged file?)", path.display())]
    TooSlow { path: PathBuf, seconds: u64 },
}

thread_local! {
    /// Set while a [`guarded`] call runs, so the panic hook stays quiet
    /// about a panic that becomes one file's error.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs a panic hook that is silent inside [`guarded`] (the panic is
/// reported as that file's error) and otherwise prints as usual.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !GUARDED.with(|g| g.get()) {
            default(info);
        }
    }));
}

/// Runs `f` on one file, turning a panic inside a third-party decoder or tag
/// reader into that file's error: one damaged file must never take down a
/// scan or a classification of thousands.
pub fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, AudioError>) -> Result<T, AudioError> {
    catch_panic(f).unwrap_or_else(|message| {
        Err(AudioError::Crashed {
            path: path.to_path_buf(),
            message,
        })
    })
}

/// Runs `f`, turning a panic into `Err(its message)`, quietly: the caller
/// reports it as one file's error.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let was = GUARDED.with(|g| g.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.map_err(|payload| panic_message(payload.as_ref()))
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// What happened while decoding a file, besides the samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecodeReport {
    /// Packets that failed to decode and were skipped.
    pub corrupt_packets: usize,
    /// Sample rate of the source in Hz.
    pub source_rate: u32,
    /// Channels in the source.
    pub source_channels: usize,
    /// Mono samples produced at `rate`.
    pub samples: usize,
    /// Output sample rate in Hz ([`SAMPLE_RATE`] unless opened with
    /// [`AudioStream::open_at`]).
    pub rate: u32,
    /// Decoding stopped at [`MAX_DECODED_SECONDS`]; the rest was not read.
    pub truncated: bool,
}

impl DecodeReport {
    /// Seconds of audio decoded.
    pub fn seconds(&self) -> f64 {
        self.samples as f64 / self.rate.max(1) as f64
    }
}

/// The packet decoder: Symphonia's, or libopus for Opus.
enum PacketDecoder {
    Symphonia(Box<dyn AudioDecoder>),
    Opus {
        decoder: opus::Decoder,
        channels: usize,
        buffer: Vec<f32>,
    },
}

/// Stops a file whose every packet fails from spinning forever.
const MAX_CONSECUTIVE_ERRORS: usize = 200;

/// Packets in a row that yield no samples before a file counts as damaged
/// (real streams have a few: priming, metadata).
const MAX_EMPTY_PACKETS: usize = 10_000;

/// Audio beyond this is not decoded (a damaged header can make a small
/// file expand into days of samples); the report says it was cut.
pub const MAX_DECODED_SECONDS: f64 = 4.0 * 3600.0;

/// The per-file watchdog: decoding may take this long plus
/// [`DECODE_SECONDS_PER_MIB`] per MiB of file (a normal file needs well
/// under a second per MiB on one slow core).
const DECODE_BASE_SECONDS: u64 = 30;
const DECODE_SECONDS_PER_MIB: u64 = 4;

/// Sample rates a real recording can have. A damaged header declaring 11 Hz
/// or 4×10⁸ Hz would otherwise make the resampler allocate gigabytes or run
/// for minutes.
pub const PLAUSIBLE_RATES: std::ops::RangeInclusive<u32> = 4_000..=768_000;

/// Channels a real recording can have (symphonia's layouts stop at 32).
pub const MAX_CHANNELS: usize = 32;

/// Opens `path` for reading only when it is a regular file (following
/// symlinks): a FIFO or device would block or never end.
pub fn open_regular(path: &Path) -> Result<File, AudioError> {
    let io = |source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(AudioError::Unsupported {
            path: path.to_path_buf(),
            reason: "not a regular file (a folder, pipe or device)".into(),
        });
    }
    File::open(path).map_err(io)
}

/// A decoder that yields mono chunks at [`SAMPLE_RATE`].
pub struct AudioStream {
    path: PathBuf,
    format: Box<dyn FormatReader + 'static>,
    decoder: PacketDecoder,
    track_id: u32,
    resampler: Option<MonoResampler>,
    interleaved: Vec<f32>,
    mono: Vec<f32>,
    report: DecodeReport,
    finished: bool,
    /// Samples to drop at the start of the stream, to honour a sample-exact
    /// seek when the demuxer landed earlier.
    skip_source_frames: usize,
    /// Timestamp the next packet should carry; a later one means the demuxer
    /// skipped damaged data (counted as corrupt).
    next_ts: Option<i64>,
    /// When decoding must give up (the watchdog).
    deadline: std::time::Instant,
    budget_seconds: u64,
}

impl AudioStream {
    /// Opens `path` and prepares its first audio track, to be read at the
    /// spectrogram's [`SAMPLE_RATE`].
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        Self::open_at(path, SAMPLE_RATE)
    }

    /// Opens `path` to be read as mono at `rate` Hz (musicnn reads 16 kHz).
    pub fn open_at(path: &Path, rate: u32) -> Result<Self, AudioError> {
        let file = open_regular(path)?;
        let budget_seconds = file
            .metadata()
            .map(|m| DECODE_BASE_SECONDS + DECODE_SECONDS_PER_MIB * (m.len() >> 20))
            .unwrap_or(DECODE_BASE_SECONDS);
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(&ext.to_ascii_lowercase());
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| AudioError::Unrecognised {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let unsupported = |reason: String| AudioError::Unsupported {
            path: path.to_path_buf(),
            reason,
        };
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| unsupported("no audio track".into()))?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| unsupported("no audio codec parameters".into()))?
            .clone();
        let track_id = track.id;
        let channels = params.channels.as_ref().map_or(0, |c| c.count());
        let source_rate = params.sample_rate.unwrap_or(0);
        let decoder = if params.codec == CODEC_ID_OPUS {
            let layout = match channels {
                1 => opus::Channels::Mono,
                2 => opus::Channels::Stereo,
                n => return Err(unsupported(format!("Opus with {n} channels"))),
            };
            let decoder = opus::Decoder::new(48_000, layout)
                .map_err(|e| unsupported(format!("libopus: {e}")))?;
            PacketDecoder::Opus {
                decoder,
                channels,
                buffer: vec![0.0; 5760 * channels],
            }
        } else {
            let decoder = symphonia::default::get_codecs()
                .make_audio_decoder(&params, &AudioDecoderOptions::default())
                .map_err(|e| unsupported(e.to_string()))?;
            PacketDecoder::Symphonia(decoder)
        };
        let source_rate = if params.codec == CODEC_ID_OPUS {
            48_000
        } else {
            source_rate
        };
        if source_rate == 0 {
            return Err(unsupported("unknown sample rate".into()));
        }
        if !PLAUSIBLE_RATES.contains(&source_rate) {
            return Err(unsupported(format!(
                "the header declares {source_rate} Hz, not a real sample rate (damaged file?)"
            )));
        }
        if channels > MAX_CHANNELS {
            return Err(unsupported(format!(
                "the header declares {channels} channels (damaged file?)"
            )));
        }
        let resampler = (source_rate != rate)
            .then(|| MonoResampler::new(source_rate, rate))
            .transpose()
            .map_err(|e| unsupported(format!("resampler: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            resampler,
            interleaved: Vec::new(),
            mono: Vec::new(),
            report: DecodeReport {
                source_rate,
                source_channels: channels,
                rate,
                ..Default::default()
            },
            finished: false,
            skip_source_frames: 0,
            next_ts: None,
            deadline: std::time::Instant::now() + std::time::Duration::from_secs(budget_seconds),
            budget_seconds,
        })
    }

    /// Replaces the watchdog's time limit (counted from now).
    pub fn set_time_limit(&mut self, limit: std::time::Duration) {
        self.deadline = std::time::Instant::now() + limit;
        self.budget_seconds = limit.as_secs();
    }

    /// The file being decoded.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counters so far.
    pub fn report(&self) -> &DecodeReport {
        &self.report
    }

    /// Seeks to `seconds` from the start; following chunks start there
    /// (accurate to the source sample where the demuxer allows).
    pub fn seek(&mut self, seconds: f64) -> Result<(), AudioError> {
        let time = Time::try_from_secs_f64(seconds.max(0.0)).unwrap_or_default();
        let seeked = self
            .format
            .seek(
                SeekMode::Accurate,
                SeekTo::Time {
                    time,
                    track_id: Some(self.track_id),
                },
            )
            .map_err(|e| AudioError::Unsupported {
                path: self.path.clone(),
                reason: format!("cannot seek to {seconds:.2} s: {e}"),
            })?;
        let ahead = seeked.required_ts.get() - seeked.actual_ts.get();
        // Timestamps are in source frames for every format we read.
        self.skip_source_frames = ahead.max(0) as usize;
        self.next_ts = None;
        if let PacketDecoder::Symphonia(d) = &mut self.decoder {
            d.reset();
        }
        self.mono.clear();
        self.interleaved.clear();
        if let Some(r) = &mut self.resampler {
            r.reset();
        }
        self.finished = false;
        Ok(())
    }

    /// Next chunk of mono samples at [`SAMPLE_RATE`]; `Ok(None)` at the end.
    /// The error is returned only when the file yielded no audio at all.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        let mut consecutive_errors = 0;
        let mut empty_packets = 0;
        let max_samples = (MAX_DECODED_SECONDS * self.report.rate as f64) as usize;
        while !self.finished {
            // A clock read per packet costs nanoseconds against a decode's
            // microseconds.
            if std::time::Instant::now() > self.deadline {
                return Err(AudioError::TooSlow {
                    path: self.path.clone(),
                    seconds: self.budget_seconds,
                });
            }
            if self.report.samples >= max_samples {
                self.report.truncated = true;
                self.finished = true;
                break;
            }
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => {
                    self.finished = true;
                    break;
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    // A truncated file: keep what we have.
                    self.finished = true;
                    break;
                }
                Err(SymError::ResetRequired) => {
                    self.finished = true;
                    break;
                }
                Err(_) => {
                    self.report.corrupt_packets += 1;
                    consecutive_errors += 1;
                    if consecutive_errors > MAX_CONSECUTIVE_ERRORS {
                        self.finished = true;
                    }
                    continue;
                }
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let ts = packet.pts.get();
            if let Some(expected) = self.next_ts {
                // A jump forward of more than one packet: audio was lost.
                if ts > expected + packet.dur.get() as i64 {
                    self.report.corrupt_packets += 1;
                }
            }
            self.next_ts = Some(ts + packet.dur.get() as i64);
            match self.decode_packet(&packet) {
                Ok(()) => consecutive_errors = 0,
                Err(()) => {
                    self.report.corrupt_packets += 1;
                    consecutive_errors += 1;
                    if consecutive_errors > MAX_CONSECUTIVE_ERRORS {
                        self.finished = true;
                    }
                    continue;
                }
            }
            if self.mono.is_empty() {
                empty_packets += 1;
                if empty_packets > MAX_EMPTY_PACKETS {
                    self.report.corrupt_packets += 1;
                    self.finished = true;
                }
                continue;
            }
            empty_packets = 0;
            let out = self.resample_pending(false);
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
        let tail = self.resample_pending(true);
        if !tail.is_empty() {
            return Ok(Some(tail));
        }
        if self.report.samples == 0 {
            return Err(AudioError::NoAudio {
                path: self.path.clone(),
                errors: self.report.corrupt_packets,
            });
        }
        Ok(None)
    }

    /// The next `want` samples (fewer at the end of the file).
    pub fn read_samples(&mut self, want: usize) -> Result<Vec<f32>, AudioError> {
        let mut samples = Vec::with_capacity(want + 4096);
        while samples.len() < want {
            match self.next_chunk()? {
                Some(chunk) => samples.extend_from_slice(&chunk),
                None => break,
            }
        }
        samples.truncate(want);
        Ok(samples)
    }

    /// Decodes one packet, appending mono source-rate samples to `self.mono`.
    fn decode_packet(&mut self, packet: &Packet) -> Result<(), ()> {
        let channels;
        match &mut self.decoder {
            PacketDecoder::Symphonia(decoder) => {
                let buf = decoder.decode(packet).map_err(|_| ())?;
                channels = buf.spec().channels().count().max(1);
                buf.copy_to_vec_interleaved(&mut self.interleaved);
            }
            PacketDecoder::Opus {
                decoder,
                channels: ch,
                buffer,
            } => {
                let frames = decoder
                    .decode_float(&packet.data, buffer, false)
                    .map_err(|_| ())?;
                channels = *ch;
                let start = (packet.trim_start.get() as usize).min(frames);
                let end = frames
                    .saturating_sub(packet.trim_end.get() as usize)
                    .max(start);
                self.interleaved.clear();
                self.interleaved
                    .extend_from_slice(&buffer[start * channels..end * channels]);
            }
        }
        let mut frames = self.interleaved.chunks_exact(channels);
        let skip = self.skip_source_frames.min(frames.len());
        self.skip_source_frames -= skip;
        for _ in 0..skip {
            frames.next();
        }
        let scale = 1.0 / channels as f32;
        self.mono
            .extend(frames.map(|f| f.iter().sum::<f32>() * scale));
        Ok(())
    }

    fn resample_pending(&mut self, flush: bool) -> Vec<f32> {
        let out = match &mut self.resampler {
            None => std::mem::take(&mut self.mono),
            Some(r) => r.process(&mut self.mono, flush),
        };
        self.report.samples += out.len();
        out
    }
}

/// Streaming mono resampler to [`SAMPLE_RATE`] that hides rubato's delay.
struct MonoResampler {
    inner: Fft<f32>,
    ratio: f64,
    /// Output frames still to drop (the filter delay).
    delay_left: usize,
    /// Input frames consumed so far, to know how much output is owed at the end.
    input_total: usize,
    output_total: usize,
    out_buf: Vec<f32>,
}

impl MonoResampler {
    const CHUNK: usize = 4096;

    fn new(source_rate: u32, rate: u32) -> Result<Self, rubato::ResamplerConstructionError> {
        let inner = Fft::<f32>::new(
            source_rate as usize,
            rate as usize,
            Self::CHUNK,
            1,
            FixedSync::Input,
        )?;
        let delay_left = inner.output_delay();
        let out_buf = vec![0.0; inner.output_frames_max()];
        Ok(Self {
            ratio: rate as f64 / source_rate as f64,
            inner,
            delay_left,
            input_total: 0,
            output_total: 0,
            out_buf,
        })
    }

    fn reset(&mut self) {
        self.inner.reset();
        self.delay_left = self.inner.output_delay();
        self.input_total = 0;
        self.output_total = 0;
    }

    /// Consumes whole chunks of `input` (all of it when `flush`), returning
    /// the resampled output with the filter delay removed.
    fn process(&mut self, input: &mut Vec<f32>, flush: bool) -> Vec<f32> {
        let mut out = Vec::new();
        let mut consumed = 0;
        loop {
            let need = self.inner.input_frames_next();
            let left = input.len() - consumed;
            let partial = if left >= need {
                None
            } else if flush && left > 0 {
                Some(left)
            } else {
                break;
            };
            let chunk = &input[consumed..consumed + partial.unwrap_or(need)];
            let frames = self.run(chunk, partial, &mut out);
            consumed += chunk.len();
            self.input_total += chunk.len();
            if frames == 0 {
                break;
            }
        }
        input.drain(..consumed);
        if flush {
            // Push silence until the output owed for every input frame is out.
            let owed = (self.input_total as f64 * self.ratio).round() as usize;
            let mut guard = 0;
            while self.output_total < owed && guard < 16 {
                self.run(&[], Some(0), &mut out);
                guard += 1;
            }
            if self.output_total > owed {
                out.truncate(out.len() - (self.output_total - owed));
                self.output_total = owed;
            }
        }
        out
    }

    fn run(&mut self, chunk: &[f32], partial: Option<usize>, out: &mut Vec<f32>) -> usize {
        let need = self.inner.input_frames_next();
        let padded;
        let input: &[f32] = if chunk.len() < need {
            let mut p = chunk.to_vec();
            p.resize(need, 0.0);
            padded = p;
            &padded
        } else {
            chunk
        };
        let Ok(adapter_in) = InterleavedSlice::new(input, 1, need) else {
            return 0;
        };
        let frames_max = self.out_buf.len();
        let Ok(mut adapter_out) = InterleavedSlice::new_mut(&mut self.out_buf, 1, frames_max)
        else {
            return 0;
        };
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let Ok((_, produced)) =
            self.inner
                .process_into_buffer(&adapter_in, &mut adapter_out, indexing.as_ref())
        else {
            return 0;
        };
        let drop = self.delay_left.min(produced);
        self.delay_left -= drop;
        out.extend_from_slice(&self.out_buf[drop..produced]);
        self.output_total += produced - drop;
        produced
    }
}

/// Decodes a whole file into memory (mono, [`SAMPLE_RATE`]). For short files
/// and tests; analysis streams through [`analyse_file`] instead.
pub fn decode_file(path: &Path) -> Result<(Vec<f32>, DecodeReport), AudioError> {
    let mut stream = AudioStream::open(path)?;
    let mut samples = Vec::new();
    while let Some(chunk) = stream.next_chunk()? {
        samples.extend_from_slice(&chunk);
    }
    Ok((samples, stream.report().clone()))
}

/// Decodes `seconds` of audio starting at `start` seconds.
pub fn decode_range(path: &Path, start: f64, seconds: f64) -> Result<Vec<f32>, AudioError> {
    let mut stream = AudioStream::open(path)?;
    if start > 0.0 {
        stream.seek(start)?;
    }
    stream.read_samples((seconds * SAMPLE_RATE as f64).round() as usize)
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
    for &k in indices {
        let start = k as f64 * SLICE_SECONDS;
        let from = start - margin;
        let want = ((SLICE_SECONDS + 2.0 * margin + 0.1) * SAMPLE_RATE as f64) as usize;
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

    #[test]
    fn the_watchdog_stops_a_decode_that_runs_too_long() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.wav");
        crate::dev::synth::write_wav(
            &path,
            &crate::dev::synth::tone(440.0, 30.0, 8_000, 0.3),
            8_000,
            1,
        )
        .unwrap();
        let mut stream = AudioStream::open(&path).unwrap();
        assert!(stream.next_chunk().unwrap().is_some());
        stream.set_time_limit(std::time::Duration::ZERO);
        let err = loop {
            match stream.next_chunk() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("decoded to the end despite the watchdog"),
                Err(e) => break e,
            }
        };
        assert!(matches!(err, AudioError::TooSlow { .. }), "{err}");
        assert!(err.to_string().contains("long.wav"), "{err}");
    }
}
