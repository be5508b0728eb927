//! Reading what a file says about itself: its properties (format, duration,
//! rate) and tags (title, artist, album, genres), through lofty, or through
//! ffprobe for a format lofty does not read (WMA, DSD, TTA…, see
//! [`crate::audio::external`]). A damaged header is this file's error, never
//! a crash.

use crate::audio::formats::format_name;
use crate::store::TrackInfo;
use lofty::prelude::*;
use lofty::probe::Probe;
use std::path::Path;

/// Reads properties and tags of one file. The error names the cause only; the
/// caller pairs it with the path.
pub fn read_info(path: &Path) -> Result<TrackInfo, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read file: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file (a folder, pipe or device)".into());
    }
    if meta.len() == 0 {
        return Err("empty file (0 bytes)".into());
    }
    // lofty panics on some damaged headers (e.g. an Opus header with 0
    // channels): that is this file's error, not the scan's end.
    let read =
        crate::audio::guarded(path, || Ok(read_info_unguarded(path))).unwrap_or_else(|e| match e {
            crate::audio::AudioError::Crashed { message, .. } => {
                Err(format!("the tag reader failed on damaged data ({message})"))
            }
            other => Err(other.to_string()),
        });
    match read {
        Err(_) if crate::audio::external::external_format(path).is_some() => read_info_probed(path),
        read => read,
    }
}

/// Properties and tags as ffprobe reports them, for the formats read
/// through ffmpeg that lofty does not know.
fn read_info_probed(path: &Path) -> Result<TrackInfo, String> {
    let probed = crate::audio::external::probe(path).map_err(|e| {
        // The error names the file first; the caller pairs it with the path.
        let text = e.to_string();
        let prefix = format!("{}: ", path.display());
        text.strip_prefix(&prefix)
            .map(str::to_string)
            .unwrap_or(text)
    })?;
    let text = |key: &str| probed.tag(key).map(str::to_string);
    let leading_number = |v: &str| -> Option<u32> {
        let digits: String = v
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    Ok(TrackInfo {
        format: crate::audio::external::external_format(path).map(str::to_string),
        duration_s: probed.duration_s,
        sample_rate: (probed.sample_rate > 0).then_some(probed.sample_rate),
        channels: u8::try_from(probed.channels).ok().filter(|&c| c > 0),
        bitrate_kbps: probed.bitrate_kbps,
        title: text("title"),
        artist: text("artist"),
        album: text("album"),
        album_artist: text("album_artist").or_else(|| text("albumartist")),
        track_no: probed.tag("track").and_then(leading_number),
        year: probed
            .tag("date")
            .or_else(|| probed.tag("year"))
            .and_then(|d| d.get(..4)?.parse().ok()),
        genres: split_genres(
            probed
                .tags
                .iter()
                .filter(|(k, _)| k == "genre")
                .map(|(_, v)| v.as_str()),
        ),
    })
}

fn read_info_unguarded(path: &Path) -> Result<TrackInfo, String> {
    let probe = Probe::open(path)
        .map_err(|e| format!("cannot open: {e}"))?
        .options(
            lofty::config::ParseOptions::new()
                .read_cover_art(false)
                .parsing_mode(lofty::config::ParsingMode::Relaxed),
        )
        .guess_file_type()
        .map_err(|e| format!("cannot read: {e}"))?;
    if probe.file_type().is_none() {
        return Err("not an audio file (content is not a known audio format)".into());
    }
    let tagged = probe
        .read()
        .map_err(|e| format!("unreadable audio file: {e}"))?;
    let props = tagged.properties();
    if let Some(rate) = props.sample_rate()
        && !crate::audio::PLAUSIBLE_RATES.contains(&rate)
    {
        return Err(format!(
            "the header declares {rate} Hz, not a real sample rate (damaged file?)"
        ));
    }
    let duration = props.duration().as_secs_f64();
    let mut info = TrackInfo {
        format: Some(format_name(tagged.file_type()).to_string()),
        duration_s: (duration > 0.0).then_some(duration),
        sample_rate: props.sample_rate(),
        channels: props.channels(),
        bitrate_kbps: props.audio_bitrate().or(props.overall_bitrate()),
        ..Default::default()
    };
    if let Some(tag) = tagged.primary_tag().or_else(|| tagged.first_tag()) {
        let text = |s: Option<std::borrow::Cow<'_, str>>| {
            s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
        };
        info.title = text(tag.title());
        info.artist = text(tag.artist());
        info.album = text(tag.album());
        info.album_artist = tag
            .get_string(ItemKey::AlbumArtist)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        info.track_no = tag.track();
        info.year = tag.date().map(|d| d.year as i32).or_else(|| {
            tag.get_string(ItemKey::Year)
                .and_then(|y| y.get(..4)?.parse().ok())
        });
        info.genres = split_genres(tag.get_strings(ItemKey::Genre));
    }
    Ok(info)
}

/// Splits and normalises genre values: multi-value separators (`;`, NUL,
/// and `" / "`, the ones [`crate::tags::formats::Id3v23Join`] writes),
/// ID3v1 numeric references like `(17)` or `17` resolved to names,
/// duplicates removed (order kept).
pub fn split_genres<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        for part in value.split(['\0', ';']).flat_map(|p| p.split(" / ")) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let name = resolve_id3_genre(part);
            if !out.iter().any(|g| g.eq_ignore_ascii_case(&name)) {
                out.push(name);
            }
        }
    }
    out
}

fn resolve_id3_genre(s: &str) -> String {
    let inner = s
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(s);
    match inner.parse::<usize>() {
        Ok(n) if n < lofty::id3::v1::GENRES.len() => lofty::id3::v1::GENRES[n].to_string(),
        _ => s.to_string(),
    }
}
