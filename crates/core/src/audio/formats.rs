//! The audio formats Sonotag handles: which files a scan considers, and the
//! names the library gives their containers. Adding a format starts here
//! (its extension and name), then its decoder in [`crate::audio`] and its
//! in-place tag writer in [`crate::tags::formats`].

use super::external::external_format;
use std::path::Path;

/// Extensions that make a file a candidate (compared case-insensitively).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "mp3", "flac", "ogg", "oga", "opus", "m4a", "mp4", "aac", "alac", "wav", "wave", "aif", "aiff",
    "aifc",
];

/// True when `path` has an audio extension (one read through ffmpeg counts
/// only while ffmpeg is installed) and is not a temporary file
/// that Sonotag before 0.2 left beside a track when killed mid-write
/// (`.<stem>.sonotag-tmp.<ext>`; writes are now made in place).
pub fn is_audio_candidate(path: &Path) -> bool {
    let leftover = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n.contains(".sonotag-tmp"));
    let native = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)));
    !leftover && (native || (external_format(path).is_some() && super::external::available()))
}

/// The words a skip reason ends with when ffmpeg would read the file.
const NEEDS_FFMPEG: &str = "needs ffmpeg, which is not installed";
/// The words a skip reason ends with when nothing here reads the format.
const NOT_DECODED: &str = "not decoded by this build";

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

/// Why a file under a scanned folder is not a candidate, in the words the
/// scan reports: every file is a track, an error or skipped with a reason.
pub fn skip_reason(path: &Path) -> String {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let not_decoded = |name: &str| format!("{name}: {NOT_DECODED}");
    if path.to_string_lossy().contains(".sonotag-tmp") && !is_audio_candidate(path) {
        return "a temporary file an older Sonotag left mid-write".into();
    }
    if let Some(name) = external_format(path) {
        return format!("{name}: {NEEDS_FFMPEG}");
    }
    match ext.as_str() {
        "ofr" | "ofs" => not_decoded("OptimFROG"),
        "webm" => not_decoded("WebM audio"),
        "mid" | "midi" | "mod" | "xm" | "it" | "s3m" => {
            "notes for a synthesiser, not recorded audio".into()
        }
        "jpg" | "jpeg" | "png" | "gif" | "bmp" | "webp" | "tif" | "tiff" => "an image".into(),
        "m3u" | "m3u8" | "pls" | "xspf" | "cue" => "a playlist or cue sheet".into(),
        "txt" | "nfo" | "log" | "md" | "pdf" | "sfv" | "md5" | "accurip" => "a text file".into(),
        "" => "not audio (no extension)".into(),
        other => format!("not audio (.{other})"),
    }
}

/// True when a skipped file holds audio Sonotag cannot read yet (the scan
/// lists these one by one; images and text are only counted).
pub fn skipped_audio(reason: &str) -> bool {
    reason.ends_with(NOT_DECODED) || reason.ends_with(NEEDS_FFMPEG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_skipped_audio_file_says_what_would_read_it() {
        let wv = skip_reason(Path::new("music/a.WV"));
        assert_eq!(wv, "WavPack: needs ffmpeg, which is not installed");
        assert!(skipped_audio(&wv));
        let ofr = skip_reason(Path::new("b.ofr"));
        assert_eq!(ofr, "OptimFROG: not decoded by this build");
        assert!(skipped_audio(&ofr));
        let cover = skip_reason(Path::new("cover.jpg"));
        assert_eq!(cover, "an image");
        assert!(!skipped_audio(&cover));
        assert!(is_audio_candidate(Path::new("x.FLAC")));
        assert_eq!(
            is_audio_candidate(Path::new("x.wma")),
            crate::audio::external::available()
        );
    }
}
