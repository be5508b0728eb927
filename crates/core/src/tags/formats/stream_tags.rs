//! Bare streams with tags at their ends: an optional ID3v2 tag at the front,
//! and at the end an optional APE tag, Lyrics3v2 block and ID3v1 tag.
//!
//! In MPEG audio and ADTS AAC the ID3v2 tag is the main one (created when
//! missing); in WavPack, Monkey's Audio and Musepack the APEv2 tag is
//! (created when missing, before an ID3v1 tag). Whichever tags exist get the
//! same genre, so no player shows the old one. Everything between and after
//! them is copied as it was.

use super::{EditOptions, Edited, Refusal, Splices, ape, id3v1, id3v2};

/// Which kind of stream: it decides the main tag.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stream {
    /// MPEG audio: ID3v2 is the main tag.
    Mpeg,
    /// Raw ADTS AAC: ID3v2 where it exists, never a new one.
    RawAac,
    /// WavPack, Monkey's Audio, Musepack: APEv2 is the main tag.
    ApeTagged,
}

/// The start of a Lyrics3v2 block that ends at `end`, if any.
fn lyrics3_start(bytes: &[u8], end: usize) -> Option<usize> {
    let marker = end.checked_sub(9)?;
    if &bytes[marker..end] != b"LYRICS200" {
        return None;
    }
    let size: usize = std::str::from_utf8(bytes.get(marker.checked_sub(6)?..marker)?)
        .ok()?
        .parse()
        .ok()?;
    marker.checked_sub(6)?.checked_sub(size)
}

pub fn set_genres(
    bytes: &[u8],
    genres: Option<&[String]>,
    options: EditOptions,
    stream: Stream,
) -> Result<Edited, Refusal> {
    let front = id3v2::tag_len(bytes);
    if let Some(len) = front {
        if len > bytes.len() {
            return Err(
                "the ID3v2 tag runs past the end of the file; the file was not changed".into(),
            );
        }
        if id3v2::tag_len(&bytes[len..]).is_some() {
            return Err(
                "the file has two ID3v2 tags; players disagree on which counts, so Sonotag \
                 leaves it alone"
                    .into(),
            );
        }
    }
    let audio_start = front.unwrap_or(0);
    let v1 = id3v1::locate(bytes).filter(|&at| at >= audio_start);
    let mut end = v1.unwrap_or(bytes.len());
    if let Some(start) = lyrics3_start(bytes, end).filter(|&s| s >= audio_start) {
        end = start;
    }
    let ape = ape::locate(bytes, end)?.filter(|t| t.range.start >= audio_start);
    let before_ape = ape.as_ref().map_or(end, |t| t.range.start);
    if before_ape >= audio_start + 10 && &bytes[before_ape - 10..before_ape - 7] == b"3DI" {
        return Err(
            "the file has an ID3v2 tag at its end as well; players disagree on which counts, \
             so Sonotag leaves it alone"
                .into(),
        );
    }

    let before = match (front, &ape, v1) {
        (_, Some(t), _) if stream == Stream::ApeTagged => ape::genres(bytes, t)?,
        (Some(len), _, _) => id3v2::genres(&bytes[..len])?,
        (None, Some(t), _) => ape::genres(bytes, t)?,
        (None, None, Some(at)) => id3v1::genre(bytes, at).into_iter().collect(),
        _ => Vec::new(),
    };
    let had_tag = front.is_some() || ape.is_some() || v1.is_some();
    let Some(genres) = genres else {
        return Ok(Edited::read_only(before, had_tag, bytes));
    };
    let mut splices = Splices::default();
    match front {
        Some(len) => splices.replace(
            0..len,
            id3v2::with_genres(
                &bytes[..len],
                genres,
                id3v2::GROW_PADDING,
                options.v23_join.separator(),
            )?,
        ),
        None if stream == Stream::ApeTagged => {}
        None if stream == Stream::RawAac && !genres.is_empty() => {
            // An ID3v2 tag before raw AAC makes some readers (mutagen) take
            // the file for an MP3 and fail on it.
            return Err(
                "a raw AAC stream without an ID3v2 tag: a new one would make some players \
                 misread the file; the file was not changed"
                    .into(),
            );
        }
        None if !genres.is_empty() => splices.insert(
            0,
            id3v2::new_tag(
                genres,
                options.id3v23,
                id3v2::GROW_PADDING,
                options.v23_join.separator(),
            ),
        ),
        None => {}
    }
    match &ape {
        Some(t) => splices.replace(t.range.clone(), ape::with_genres(bytes, t, genres)?),
        None if stream == Stream::ApeTagged && !genres.is_empty() => {
            // Where the tag goes: after the audio, before Lyrics3 and ID3v1.
            splices.insert(before_ape, ape::new_tag(genres))
        }
        None => {}
    }
    if let Some(at) = v1 {
        splices.replace(at + 127..at + 128, vec![id3v1::genre_byte(genres)]);
    }
    Ok(Edited {
        before,
        had_tag,
        splices,
    })
}
