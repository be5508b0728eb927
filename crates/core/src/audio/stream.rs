//! [`AudioStream`]: a file decoded chunk by chunk to mono `f32`, with a
//! watchdog, caps on damage (consecutive bad packets, empty packets, length)
//! and seeking.

use super::external::{self, ExternalDecoder};
use super::resample::Resampler;
use super::{
    AudioError, DecodeReport, MAX_CHANNELS, MAX_DECODED_SECONDS, PLAUSIBLE_RATES, SAMPLE_RATE,
    open_regular,
};
use std::path::{Path, PathBuf};
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatReader, SeekMode, SeekTo, TrackType};
use symphonia::core::packet::Packet;
use symphonia::core::units::Time;

/// The packet decoder: Symphonia's, or libopus for Opus.
enum PacketDecoder {
    Symphonia(Box<dyn AudioDecoder>),
    Opus {
        decoder: opus::Decoder,
        channels: usize,
        buffer: Vec<f32>,
    },
}

/// Why [`AudioStream::next_packet`] gave no samples.
enum PacketOutcome {
    /// A packet of another track, or one that failed (counted).
    Skipped,
    /// The end of the file.
    End,
}

/// Stops a file whose every packet fails from spinning forever.
const MAX_CONSECUTIVE_ERRORS: usize = 200;

/// Packets in a row that yield no samples before a file counts as damaged
/// (real streams have a few: priming, metadata).
const MAX_EMPTY_PACKETS: usize = 10_000;

/// The per-file watchdog: decoding may take this long plus
/// [`DECODE_SECONDS_PER_MIB`] per MiB of file (a normal file needs well
/// under a second per MiB on one slow core).
const DECODE_BASE_SECONDS: u64 = 30;
const DECODE_SECONDS_PER_MIB: u64 = 4;

/// Where the source samples come from.
enum Source {
    /// Symphonia's demuxer, and its decoder or libopus.
    Demuxed {
        format: Box<dyn FormatReader + 'static>,
        decoder: PacketDecoder,
        track_id: u32,
    },
    /// The system's ffmpeg ([`super::external`]), started on the first
    /// read from `start_s` (a seek restarts it, so an open and a seek cost
    /// one process, not two).
    External {
        running: Option<Box<ExternalDecoder>>,
        start_s: f64,
        /// Stretches decoded ahead ([`AudioStream::prefetch`]), by start.
        prefetched: Vec<(f64, Vec<f32>)>,
        /// The stretch being read after a seek to its start, and how far.
        serving: Option<(Vec<f32>, usize)>,
    },
}

/// A decoder that yields mono chunks at [`SAMPLE_RATE`].
pub struct AudioStream {
    path: PathBuf,
    source: Source,
    resampler: Option<Resampler>,
    /// The container's count of playable source frames, when it states one.
    source_frames: Option<u64>,
    interleaved: Vec<f32>,
    mono: Vec<f32>,
    report: DecodeReport,
    finished: bool,
    /// The source frame a seek asked for, until a packet reaches it: the
    /// samples before it are dropped, so a seek is sample-exact where the
    /// demuxer lands earlier.
    seek_target: Option<i64>,
    /// Source frames between the seek target and the first sample decoded
    /// after it (a decoder that needs a packet of warm-up after a seek, as
    /// Vorbis does, starts late).
    late_after_seek: usize,
    /// Timestamp the next packet should carry; a later one means the demuxer
    /// skipped damaged data (counted as corrupt).
    next_ts: Option<i64>,
    /// When decoding must give up (the watchdog).
    deadline: std::time::Instant,
    budget_seconds: u64,
}

/// Refuses a header whose rate or channel count no recording has: a damaged
/// header declaring 11 Hz or 4×10⁸ Hz would make the resampler allocate
/// gigabytes or run for minutes.
fn check_plausible(path: &Path, rate: u32, channels: usize) -> Result<(), AudioError> {
    let unsupported = |reason: String| {
        Err(AudioError::Unsupported {
            path: path.to_path_buf(),
            reason,
        })
    };
    if rate == 0 {
        return unsupported("unknown sample rate".into());
    }
    if !PLAUSIBLE_RATES.contains(&rate) {
        return unsupported(format!(
            "the header declares {rate} Hz, not a real sample rate (damaged file?)"
        ));
    }
    if channels == 0 || channels > MAX_CHANNELS {
        return unsupported(format!(
            "the header declares {channels} channels (damaged file?)"
        ));
    }
    Ok(())
}

impl AudioStream {
    /// Opens `path` and prepares its first audio track, to be read at the
    /// spectrogram's [`SAMPLE_RATE`].
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        Self::open_at(path, SAMPLE_RATE)
    }

    /// Opens `path` to be read as mono at `rate` Hz (musicnn reads 16 kHz).
    pub fn open_at(path: &Path, rate: u32) -> Result<Self, AudioError> {
        Self::open_with(path, Some(rate))
    }

    /// Opens `path` to be read as mono at its own rate, for a reader that
    /// resamples to more than one rate itself.
    pub fn open_native(path: &Path) -> Result<Self, AudioError> {
        Self::open_with(path, None)
    }

    fn open_with(path: &Path, rate: Option<u32>) -> Result<Self, AudioError> {
        let file = open_regular(path)?;
        let budget_seconds = file
            .metadata()
            .map(|m| DECODE_BASE_SECONDS + DECODE_SECONDS_PER_MIB * (m.len() >> 20))
            .unwrap_or(DECODE_BASE_SECONDS);
        let unsupported = |reason: String| AudioError::Unsupported {
            path: path.to_path_buf(),
            reason,
        };
        if external::external_format(path).is_some() {
            drop(file);
            let probed = external::probe(path)?;
            check_plausible(path, probed.sample_rate, probed.channels)?;
            let source_frames = probed
                .duration_s
                .map(|s| (s * probed.sample_rate as f64).round() as u64);
            return Self::with_source(
                path,
                Source::External {
                    running: None,
                    start_s: 0.0,
                    prefetched: Vec::new(),
                    serving: None,
                },
                (probed.sample_rate, probed.channels, source_frames),
                rate,
                budget_seconds,
            );
        }
        let format = super::demuxer(path, file)?;
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
        let source_frames = track.num_frames;
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
        check_plausible(path, source_rate, channels.max(1))?;
        Self::with_source(
            path,
            Source::Demuxed {
                format,
                decoder,
                track_id,
            },
            (source_rate, channels, source_frames),
            rate,
            budget_seconds,
        )
    }

    /// The stream over `source`, whose samples are at `source_rate` with
    /// `channels`, read out at `rate` (the source's own when `None`).
    fn with_source(
        path: &Path,
        source: Source,
        (source_rate, channels, source_frames): (u32, usize, Option<u64>),
        rate: Option<u32>,
        budget_seconds: u64,
    ) -> Result<Self, AudioError> {
        let rate = rate.unwrap_or(source_rate);
        let resampler = (source_rate != rate)
            .then(|| Resampler::new(source_rate, rate))
            .transpose()
            .map_err(|e| AudioError::Unsupported {
                path: path.to_path_buf(),
                reason: format!("resampler: {e}"),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            source,
            resampler,
            source_frames,
            interleaved: Vec::new(),
            mono: Vec::new(),
            report: DecodeReport {
                source_rate,
                source_channels: channels,
                rate,
                ..Default::default()
            },
            finished: false,
            seek_target: None,
            late_after_seek: 0,
            next_ts: None,
            deadline: std::time::Instant::now() + std::time::Duration::from_secs(budget_seconds),
            budget_seconds,
        })
    }

    /// Says which stretches `(start_s, seconds)` will be read next, each
    /// after a seek to its start. A file read through ffmpeg decodes them
    /// all in one run then (a process start costs more than decoding a few
    /// seconds); a seek elsewhere, or reading past a stretch, goes on as
    /// usual, so a wrong guess costs time, never samples. Native decoders
    /// ignore it.
    pub fn prefetch(&mut self, stretches: &[(f64, f64)]) {
        let Source::External { prefetched, .. } = &mut self.source else {
            return;
        };
        let (rate, channels) = (self.report.source_rate, self.report.source_channels);
        let bytes: f64 = stretches
            .iter()
            .map(|(_, s)| s * rate as f64 * channels as f64 * 4.0)
            .sum();
        if stretches.len() < 2 || bytes > 256e6 {
            return;
        }
        // On failure (a damaged file, a stretch ffmpeg cannot seek to),
        // each read starts ffmpeg itself and reports what it finds.
        if let Ok(decoded) =
            external::decode_stretches(&self.path, stretches, rate, channels, self.deadline)
        {
            *prefetched = stretches
                .iter()
                .map(|(start, _)| start.max(0.0))
                .zip(decoded)
                .collect();
        }
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

    /// The length the container states, in seconds (an estimate for a
    /// stream without an index, such as an MP3 without a Xing header).
    pub fn stated_seconds(&self) -> Option<f64> {
        self.source_frames
            .map(|frames| frames as f64 / self.report.source_rate.max(1) as f64)
    }

    /// How many source frames past the last seek's target the samples
    /// returned since begin (0 for a seek that landed exactly).
    pub fn late_after_seek(&self) -> usize {
        self.late_after_seek
    }

    /// Counters so far.
    pub fn report(&self) -> &DecodeReport {
        &self.report
    }

    /// Seeks to `seconds` from the start; following chunks start there
    /// (accurate to the source sample where the demuxer allows).
    pub fn seek(&mut self, seconds: f64) -> Result<(), AudioError> {
        match &mut self.source {
            Source::Demuxed {
                format,
                decoder,
                track_id,
            } => {
                let time = Time::try_from_secs_f64(seconds.max(0.0)).unwrap_or_default();
                let seeked = format
                    .seek(
                        SeekMode::Accurate,
                        SeekTo::Time {
                            time,
                            track_id: Some(*track_id),
                        },
                    )
                    .map_err(|e| AudioError::Unsupported {
                        path: self.path.clone(),
                        reason: format!("cannot seek to {seconds:.2} s: {e}"),
                    })?;
                // Timestamps are in source frames for every format we read.
                self.seek_target = Some(seeked.required_ts.get());
                if let PacketDecoder::Symphonia(d) = decoder {
                    d.reset();
                }
            }
            Source::External {
                running,
                start_s,
                prefetched,
                serving,
            } => {
                // ffmpeg seeks sample-exactly itself (it decodes from the
                // previous key frame and drops what precedes the target).
                *running = None;
                *start_s = seconds.max(0.0);
                *serving = prefetched
                    .iter()
                    .position(|(at, _)| *at == *start_s)
                    .map(|n| (prefetched.swap_remove(n).1, 0));
                self.seek_target = None;
            }
        }
        self.late_after_seek = 0;
        self.next_ts = None;
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
            let decoded = match &mut self.source {
                Source::External { .. } => self.next_external()?,
                Source::Demuxed { .. } => self.next_packet(&mut consecutive_errors),
            };
            match decoded {
                Ok(()) => {}
                Err(PacketOutcome::End) => {
                    self.finished = true;
                    break;
                }
                Err(PacketOutcome::Skipped) => continue,
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

    /// Reads and decodes the demuxer's next packet of our track into
    /// `self.mono`: `Skipped` for a packet of another track or one that
    /// failed (counted), `End` at the end of the file.
    fn next_packet(&mut self, consecutive_errors: &mut usize) -> Result<(), PacketOutcome> {
        let Source::Demuxed {
            format, track_id, ..
        } = &mut self.source
        else {
            return Err(PacketOutcome::End);
        };
        let track_id = *track_id;
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => return Err(PacketOutcome::End),
            // A truncated file: keep what we have.
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(PacketOutcome::End);
            }
            Err(SymError::ResetRequired) => return Err(PacketOutcome::End),
            Err(_) => {
                self.count_bad_packet(consecutive_errors);
                return Err(PacketOutcome::Skipped);
            }
        };
        if packet.track_id != track_id {
            return Err(PacketOutcome::Skipped);
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
            Ok(()) => {
                *consecutive_errors = 0;
                Ok(())
            }
            Err(()) => {
                self.count_bad_packet(consecutive_errors);
                Err(PacketOutcome::Skipped)
            }
        }
    }

    /// Reads ffmpeg's next samples into `self.mono`: from a stretch decoded
    /// ahead while one is being read, else from a run of ffmpeg (started
    /// here, at the last seek's place). `End` at the end of the file.
    fn next_external(&mut self) -> Result<Result<(), PacketOutcome>, AudioError> {
        let channels = self.report.source_channels.max(1);
        let Source::External {
            running,
            start_s,
            serving,
            ..
        } = &mut self.source
        else {
            return Ok(Err(PacketOutcome::End));
        };
        if let Some((stretch, at)) = serving {
            // Whole frames of what was decoded ahead; past its end, ffmpeg
            // goes on from there.
            let take = (stretch.len() - *at).min(16_384 / channels * channels);
            if take == 0 {
                *start_s += (*at / channels) as f64 / self.report.source_rate as f64;
                *serving = None;
                return Ok(Err(PacketOutcome::Skipped));
            }
            self.interleaved.clear();
            self.interleaved
                .extend_from_slice(&stretch[*at..*at + take]);
            *at += take;
            self.mix_to_mono(channels, None);
            return Ok(Ok(()));
        }
        let running = match running {
            Some(running) => running,
            None => running.insert(Box::new(ExternalDecoder::start(
                &self.path,
                *start_s,
                self.report.source_rate,
                channels,
            )?)),
        };
        match running.next(self.deadline, self.budget_seconds)? {
            Some(samples) => {
                self.interleaved = samples;
                self.mix_to_mono(channels, None);
                Ok(Ok(()))
            }
            None => {
                self.report.corrupt_packets += running.errors().0;
                Ok(Err(PacketOutcome::End))
            }
        }
    }

    /// Counts a packet that failed; too many in a row end the file.
    fn count_bad_packet(&mut self, consecutive_errors: &mut usize) {
        self.report.corrupt_packets += 1;
        *consecutive_errors += 1;
        if *consecutive_errors > MAX_CONSECUTIVE_ERRORS {
            self.finished = true;
        }
    }

    /// Decodes one packet, appending mono source-rate samples to `self.mono`.
    fn decode_packet(&mut self, packet: &Packet) -> Result<(), ()> {
        let channels;
        let Source::Demuxed { decoder, .. } = &mut self.source else {
            return Err(());
        };
        match decoder {
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
        self.mix_to_mono(channels, Some(packet.pts.get()));
        Ok(())
    }

    /// Appends `self.interleaved` (frames of `channels`, the first at source
    /// frame `first` when known) to `self.mono` as their average, dropping
    /// the frames before a pending seek's target.
    fn mix_to_mono(&mut self, channels: usize, first: Option<i64>) {
        let whole_frames = self.interleaved.len() / channels;
        let mut skip = 0;
        if let Some(target) = self.seek_target
            && let Some(first) = first
            && whole_frames > 0
        {
            if first + (whole_frames as i64) <= target {
                skip = whole_frames;
            } else {
                skip = (target - first).max(0) as usize;
                self.late_after_seek = (first - target).max(0) as usize;
                self.seek_target = None;
            }
        }
        let samples = &self.interleaved[skip * channels..whole_frames * channels];
        let scale = 1.0 / channels as f32;
        match channels {
            // Stereo, nearly every file: fixed-width frames the compiler
            // vectorises; the same sums as the general case.
            2 => {
                let (pairs, _) = samples.as_chunks::<2>();
                self.mono
                    .extend(pairs.iter().map(|[left, right]| (left + right) * scale));
            }
            _ => self.mono.extend(
                samples
                    .chunks_exact(channels)
                    .map(|f| f.iter().sum::<f32>() * scale),
            ),
        }
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
