//! The audio formats Sonotag handles: which files a scan considers, and the
//! names the library gives their containers. Adding a format starts here
//! (its extension and name), then its decoder in [`crate::audio`] and its
//! in-place tag writer in [`crate::tags::formats`].

use std::path::Path;

/// Extensions that make a file a candidate (compared case-insensitively).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "mp3", "flac", "ogg", "oga", "opus", "m4a", "mp4", "aac", "alac", "wav", "wave", "aif", "aiff",
    "aifc",
];

/// True when `path` has an audio extension and is not a temporary file
/// that Sonotag before 0.2 left beside a track when killed mid-write
/// (`.<stem>.sonotag-tmp.<ext>`; writes are now made in place).
pub fn is_audio_candidate(path: &Path) -> bool {
    let leftover = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n.contains(".sonotag-tmp"));
    !leftover
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// The container's name as the library records it.
pub fn format_name(t: lofty::file::FileType) -> &'static str {
    use lofty::file::FileType::*;
    match t {
        Aac => "AAC",
        Aiff => "AIFF",
        Ape => "APE",
        Flac => "FLAC",
        Mpeg => "MP3",
        Mp4 => "MP4",
        Mpc => "Musepack",
        Opus => "Opus",
        Vorbis => "Vorbis",
        Speex => "Speex",
        Wav => "WAV",
        WavPack => "WavPack",
        _ => "other",
    }
}
