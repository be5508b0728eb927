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
//! not grow with the length of the file (the feature pipelines in
//! [`crate::features`] stream straight from it). Corrupt packets are skipped and counted; a
//! file that yields no audio at all is an error naming the file.

pub mod content_key;
pub mod external;
pub mod formats;
mod resample;
mod stream;

pub use resample::Resampler;
pub use stream::AudioStream;

/// The rate [`AudioStream::open`] decodes at: the display spectrogram's
/// (and the from-scratch CNN's) 22,050 Hz. Other pipelines open at their own
/// rate with [`AudioStream::open_at`].
pub const SAMPLE_RATE: u32 = 22_050;

use std::fs::File;
use std::path::{Path, PathBuf};

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
    /// Far less audio could be decoded than the file states: cut short
    /// (an interrupted download or copy) or damaged.
    #[error("{}: damaged or cut short: only {decoded_s:.1} s of audio could be decoded where the file states {stated_s:.1} s", path.display())]
    Truncated {
        path: PathBuf,
        stated_s: f64,
        decoded_s: f64,
    },
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

/// Audio beyond this is not decoded (a damaged header can make a small
/// file expand into days of samples); the report says it was cut.
pub const MAX_DECODED_SECONDS: f64 = 4.0 * 3600.0;

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

/// The demuxer for `file` (opened from `path`), chosen by its content with
/// its extension as a hint.
fn demuxer(
    path: &Path,
    file: File,
) -> Result<Box<dyn symphonia::core::formats::FormatReader>, AudioError> {
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::formats::probe::Hint;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(&ext.to_ascii_lowercase());
    }
    symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| AudioError::Unrecognised {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Decodes a whole file into memory (mono, [`SAMPLE_RATE`]). For short files
/// and tests; analysis streams instead.
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
