//! The system's ffmpeg as the decoder for formats no Rust crate decodes:
//! WMA, Monkey's Audio, WavPack, Musepack, DSD, True Audio, TAK, AC-3/DTS,
//! Speex and MPEG layer II, all common in real collections.
//!
//! Why a separate program rather than bindings: ffmpeg's libraries change
//! their ABI every major release, so linking them would tie the build to one
//! Debian release; the `ffmpeg` command is stable, optional (the .deb only
//! recommends it) and, as a child process, cannot take the application down
//! with it. Its limits are Sonotag's own: a watchdog on the read, a memory
//! ceiling on the process, one thread, and the same cap on decoded length as
//! the native decoders ([`super::AudioStream`] applies them alike).
//!
//! ffmpeg hands over interleaved `f32` at the source's rate and channel
//! count; averaging to mono and resampling stay Sonotag's, so a file sounds
//! the same to the model whichever decoder read it.

use super::AudioError;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

/// Extensions read through ffmpeg, with the format's name as the library
/// records it and as a skip reason names it when ffmpeg is missing.
pub const EXTERNAL_FORMATS: &[(&str, &str)] = &[
    ("wma", "WMA"),
    ("asf", "WMA"),
    ("ape", "Monkey's Audio"),
    ("wv", "WavPack"),
    ("mpc", "Musepack"),
    ("mp+", "Musepack"),
    ("mpp", "Musepack"),
    ("dsf", "DSD"),
    ("dff", "DSD"),
    ("tta", "True Audio"),
    ("tak", "TAK"),
    ("ac3", "AC-3"),
    ("eac3", "E-AC-3"),
    ("dts", "DTS"),
    ("spx", "Speex"),
    ("mp2", "MPEG layer II"),
    ("mpa", "MPEG layer II"),
    ("mka", "Matroska audio"),
];

/// The format name of an extension read through ffmpeg, if it is one.
pub fn external_format(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?;
    EXTERNAL_FORMATS
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map(|&(_, name)| name)
}

/// Whether `ffmpeg` and `ffprobe` can be run (checked once a process).
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        ["ffmpeg", "ffprobe"].iter().all(|tool| {
            Command::new(tool)
                .arg("-version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    })
}

/// ffprobe may take this long on one file (a real file needs milliseconds).
const PROBE_TIME: Duration = Duration::from_secs(10);

/// The child's address space is capped here: a damaged header cannot make
/// ffmpeg take the machine's memory.
const MEMORY_LIMIT_BYTES: u64 = 1 << 30;

/// What ffprobe says about a file's first audio stream and its tags.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Probed {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub duration_s: Option<f64>,
    pub bitrate_kbps: Option<u32>,
    /// Tags as ffprobe names them (keys lower-cased), container's first,
    /// then the stream's.
    pub tags: Vec<(String, String)>,
}

impl Probed {
    /// The first value of tag `key` (lower case).
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// Runs ffprobe on `path`, or gives what it said about this file (same
/// size and modification time) a moment ago: a classification opens each
/// file once per feature pipeline, and a probe costs a process start.
/// Errors name the file and ffprobe's reason.
pub fn probe(path: &Path) -> Result<Probed, AudioError> {
    type Key = (PathBuf, u64, Option<std::time::SystemTime>);
    static RECENT: std::sync::Mutex<Vec<(Key, Probed)>> = std::sync::Mutex::new(Vec::new());
    const KEPT: usize = 64;
    let key = std::fs::metadata(path)
        .ok()
        .map(|m| (path.to_path_buf(), m.len(), m.modified().ok()));
    let recent = |k: &Key| {
        let list = RECENT.lock().unwrap_or_else(|e| e.into_inner());
        list.iter()
            .find(|(seen, _)| seen == k)
            .map(|(_, p)| p.clone())
    };
    if let Some(found) = key.as_ref().and_then(recent) {
        return Ok(found);
    }
    let probed = probe_now(path)?;
    if let Some(key) = key {
        let mut list = RECENT.lock().unwrap_or_else(|e| e.into_inner());
        if list.len() >= KEPT {
            list.remove(0);
        }
        list.push((key, probed.clone()));
    }
    Ok(probed)
}

fn probe_now(path: &Path) -> Result<Probed, AudioError> {
    let unrecognised = |reason: String| AudioError::Unrecognised {
        path: path.to_path_buf(),
        reason,
    };
    if !available() {
        return Err(AudioError::Unsupported {
            path: path.to_path_buf(),
            reason: format!(
                "{} needs ffmpeg, which is not installed",
                external_format(path).unwrap_or("this format")
            ),
        });
    }
    let mut command = Command::new("ffprobe");
    command
        .args(["-v", "error", "-hide_banner", "-select_streams", "a:0"])
        .args([
            "-show_entries",
            "stream=codec_name,sample_rate,channels,duration,bit_rate:stream_tags\
             :format=duration,bit_rate:format_tags",
        ])
        .args(["-of", "json", "--"])
        .arg(input_arg(path));
    let output = run_bounded(command, PROBE_TIME).map_err(|e| AudioError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let Some(output) = output else {
        return Err(AudioError::TooSlow {
            path: path.to_path_buf(),
            seconds: PROBE_TIME.as_secs(),
        });
    };
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|_| unrecognised(first_line(&output.stderr, "ffprobe gave no answer")))?;
    let Some(stream) = json["streams"].get(0) else {
        return Err(unrecognised(first_line(
            &output.stderr,
            "ffprobe found no audio stream",
        )));
    };
    let number = |v: &serde_json::Value| -> Option<f64> {
        v.as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .or_else(|| v.as_f64())
            .filter(|x| x.is_finite() && *x > 0.0)
    };
    let mut tags = Vec::new();
    for source in [&json["format"]["tags"], &stream["tags"]] {
        if let Some(map) = source.as_object() {
            for (k, v) in map {
                if let Some(v) = v.as_str() {
                    tags.push((k.to_ascii_lowercase(), v.to_string()));
                }
            }
        }
    }
    Ok(Probed {
        codec: stream["codec_name"].as_str().unwrap_or("").to_string(),
        sample_rate: number(&stream["sample_rate"]).map_or(0, |r| r as u32),
        channels: stream["channels"].as_u64().unwrap_or(0) as usize,
        duration_s: number(&stream["duration"]).or_else(|| number(&json["format"]["duration"])),
        bitrate_kbps: number(&stream["bit_rate"])
            .or_else(|| number(&json["format"]["bit_rate"]))
            .map(|b| (b / 1000.0).round() as u32),
        tags,
    })
}

/// A running ffmpeg that streams one file's audio as interleaved `f32`.
pub struct ExternalDecoder {
    path: PathBuf,
    child: Child,
    chunks: Receiver<Vec<f32>>,
    /// ffmpeg's error lines: how many, and the first (its reason).
    errors: std::sync::Arc<std::sync::Mutex<(usize, Option<String>)>>,
}

impl ExternalDecoder {
    /// Starts decoding `path` from `start_s` seconds as `channels` channels at
    /// `rate` Hz (the rates and counts [`probe`] found, so nothing is mixed
    /// or resampled by ffmpeg).
    pub fn start(
        path: &Path,
        start_s: f64,
        rate: u32,
        channels: usize,
    ) -> Result<Self, AudioError> {
        let mut command = Command::new("ffmpeg");
        command.args(["-nostdin", "-hide_banner", "-v", "error", "-threads", "1"]);
        if start_s > 0.0 {
            command.args(["-ss", &format!("{start_s:.6}")]);
        }
        command
            .arg("-i")
            .arg(input_arg(path))
            .args(["-map", "0:a:0", "-vn", "-sn", "-dn"])
            .args(["-f", "f32le", "-acodec", "pcm_f32le"])
            .args(["-ac", &channels.to_string(), "-ar", &rate.to_string()])
            .arg("pipe:1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        limit_memory(&mut command);
        let mut child = command.spawn().map_err(|e| AudioError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let mut stdout = child.stdout.take().expect("stdout was piped");
        let mut stderr = child.stderr.take().expect("stderr was piped");
        let (send, chunks) = sync_channel::<Vec<f32>>(8);
        // Chunks end on whole frames, whatever the pipe hands over a read.
        let frame_bytes = 4 * channels.max(1);
        std::thread::spawn(move || {
            let mut bytes = vec![0u8; 64 * 1024];
            let mut carry: Vec<u8> = Vec::with_capacity(4);
            loop {
                let n = match stdout.read(&mut bytes) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                carry.extend_from_slice(&bytes[..n]);
                let whole = carry.len() / frame_bytes * frame_bytes;
                let chunk = whole_frames(&carry[..whole], channels);
                carry.drain(..whole);
                if send.send(chunk).is_err() {
                    break;
                }
            }
        });
        let errors = std::sync::Arc::new(std::sync::Mutex::new((0usize, None)));
        let seen = errors.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut buf = [0u8; 4096];
            // Kept to a few KiB: a damaged file can make ffmpeg print a line
            // per packet.
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
                while let Some(end) = text.find('\n') {
                    let line: String = text.drain(..=end).collect();
                    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                    seen.0 += 1;
                    if seen.1.is_none() {
                        seen.1 = Some(clean_line(&line));
                    }
                }
                if text.len() > 4096 {
                    text.clear();
                }
            }
        });
        Ok(Self {
            path: path.to_path_buf(),
            child,
            chunks,
            errors,
        })
    }

    /// The next interleaved samples, `Ok(None)` at the end; waits no later
    /// than `deadline` (then [`AudioError::TooSlow`] with `budget_seconds`).
    pub fn next(
        &mut self,
        deadline: Instant,
        budget_seconds: u64,
    ) -> Result<Option<Vec<f32>>, AudioError> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.chunks.recv_timeout(wait) {
            Ok(chunk) => Ok(Some(chunk)),
            Err(RecvTimeoutError::Disconnected) => {
                let _ = self.child.wait();
                Ok(None)
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                Err(AudioError::TooSlow {
                    path: self.path.clone(),
                    seconds: budget_seconds,
                })
            }
        }
    }

    /// How many error lines ffmpeg printed, and the first of them.
    pub fn errors(&self) -> (usize, Option<String>) {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for ExternalDecoder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes stretches of `path` in one ffmpeg run, each `(start_s, seconds)`
/// as interleaved `f32` at `rate` with `channels`: a classification reads
/// a few seconds at a dozen places, and a process start costs more than
/// decoding them. A stretch past the end comes back shorter or empty.
/// Waits no later than `deadline`.
pub fn decode_stretches(
    path: &Path,
    stretches: &[(f64, f64)],
    rate: u32,
    channels: usize,
    deadline: Instant,
) -> Result<Vec<Vec<f32>>, AudioError> {
    let io = |source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    };
    let scratch = tempfile::tempdir().map_err(io)?;
    let mut command = Command::new("ffmpeg");
    command.args(["-nostdin", "-hide_banner", "-v", "error", "-threads", "1"]);
    for &(start_s, seconds) in stretches {
        command
            .args(["-ss", &format!("{:.6}", start_s.max(0.0))])
            .args(["-t", &format!("{seconds:.6}")])
            .arg("-i")
            .arg(input_arg(path));
    }
    for n in 0..stretches.len() {
        command
            .args(["-map", &format!("{n}:a:0")])
            .args(["-f", "f32le", "-acodec", "pcm_f32le"])
            .args(["-ac", &channels.to_string(), "-ar", &rate.to_string()])
            .arg(scratch.path().join(format!("{n}.raw")));
    }
    let limit = deadline.saturating_duration_since(Instant::now());
    let output = run_bounded(command, limit).map_err(io)?;
    let Some(output) = output else {
        return Err(AudioError::TooSlow {
            path: path.to_path_buf(),
            seconds: limit.as_secs(),
        });
    };
    if !output.status.success() {
        return Err(AudioError::Unsupported {
            path: path.to_path_buf(),
            reason: first_line(&output.stderr, "ffmpeg failed"),
        });
    }
    (0..stretches.len())
        .map(|n| {
            let bytes = std::fs::read(scratch.path().join(format!("{n}.raw"))).unwrap_or_default();
            Ok(whole_frames(&bytes, channels))
        })
        .collect()
}

/// The `f32le` samples of the whole frames (of `channels`) in `bytes`.
fn whole_frames(bytes: &[u8], channels: usize) -> Vec<f32> {
    let frame = 4 * channels.max(1);
    let (samples, _) = bytes[..bytes.len() / frame * frame].as_chunks::<4>();
    samples.iter().map(|b| f32::from_le_bytes(*b)).collect()
}

/// `path` as an input argument ffmpeg takes literally: a name such as
/// `-x.wv` or `http:x.wv` must not read as an option or a protocol.
fn input_arg(path: &Path) -> std::ffi::OsString {
    let mut arg = std::ffi::OsString::from("file:");
    arg.push(path.as_os_str());
    arg
}

/// Runs `command` to its end or until `limit`, collecting its output;
/// `Ok(None)` when it ran past the limit (it is then killed).
fn run_bounded(
    mut command: Command,
    limit: Duration,
) -> std::io::Result<Option<std::process::Output>> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    limit_memory(&mut command);
    let mut child = command.spawn()?;
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let mut stderr = child.stderr.take().expect("stderr was piped");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.by_ref().take(16 << 20).read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.by_ref().take(64 << 10).read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ok(Some(std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }))
}

/// Caps the child's address space ([`MEMORY_LIMIT_BYTES`]).
#[cfg(unix)]
fn limit_memory(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT_BYTES as libc::rlim_t,
                rlim_max: MEMORY_LIMIT_BYTES as libc::rlim_t,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit_memory(_command: &mut Command) {}

/// ffmpeg's line without its `[codec @ 0x…]` prefix.
fn clean_line(line: &str) -> String {
    let line = line.trim();
    match line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
    {
        Some((_, message)) => message.trim().to_string(),
        None => line.to_string(),
    }
}

fn first_line(stderr: &[u8], otherwise: &str) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(clean_line)
        .find(|l| !l.is_empty())
        .map(|l| format!("ffmpeg: {l}"))
        .unwrap_or_else(|| otherwise.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_prefixes_are_dropped_from_reasons() {
        assert_eq!(
            clean_line("[mpc @ 0x5582e9ad4980] Not a Musepack file\n"),
            "Not a Musepack file"
        );
        assert_eq!(clean_line("End of file"), "End of file");
        assert_eq!(
            first_line(b"\n[ape @ 0x1] Too many frames: 7\n", "x"),
            "ffmpeg: Too many frames: 7"
        );
    }

    #[test]
    fn the_formats_are_named_by_extension_in_any_case() {
        assert_eq!(external_format(Path::new("a/b.WV")), Some("WavPack"));
        assert_eq!(external_format(Path::new("x.mp3")), None);
        assert_eq!(external_format(Path::new("noext")), None);
    }
}
