//! Exact genre edits, one writer per tag format.
//!
//! Why not a general tag library's save: a generic tag model keeps only what
//! it can map to its own keys, so saving through it silently drops or
//! rewrites everything else (sort names, MusicBrainz IDs, ReplayGain in its
//! original case, multi-value frames, cover art in odd places). These
//! writers parse just enough of each container to find the genre field,
//! replace that field's bytes and the sizes that enclose it, and copy every
//! other byte as it was. A file whose layout they cannot edit exactly is
//! refused with the reason ("two ID3v2 tags", "damaged MP4 atom layout"),
//! never rewritten by guesswork.
//!
//! Per format, what changes:
//! - MP3/AAC: the ID3v2 `TCON` frame (created, v2.4 or v2.3, when the file
//!   has no ID3v2 tag), the ID3v1 genre byte and the APEv2 `Genre` item
//!   where those tags exist;
//! - FLAC: the `GENRE` entries of the Vorbis comment block (a padding block
//!   absorbs the change in size where it can);
//! - Ogg Vorbis, Opus, Speex and Ogg FLAC: the same in the comment packet,
//!   with the header pages rebuilt;
//! - MP4: the `©gen` item of `ilst` (`gnre` dropped), free space or the
//!   chunk offsets adjusted when `moov` changes size before the media data;
//! - WAV/AIFF: the ID3 chunk's `TCON`, and RIFF `INFO`'s `IGNR`;
//! - WavPack, Monkey's Audio and Musepack: the APEv2 `Genre` item (a tag
//!   made, before any ID3v1 tag, when the file has none), and an ID3v2 or
//!   ID3v1 tag's genre where one exists.
//!
//! WMA, DSD, True Audio, TAK, AC-3 and the other formats read through ffmpeg
//! are refused: no exact, minimal edit of their tags is written here.

mod ape;
mod id3v1;
mod id3v2;
mod mp4;
mod ogg;
mod riff;
mod stream_tags;
mod vorbis;
mod xflac;

use lofty::file::FileType;
use std::io::Cursor;
use std::path::Path;
use stream_tags::Stream;

/// How new tags are made (existing ones keep their version).
#[derive(Clone, Copy, Debug, Default)]
pub struct EditOptions {
    /// A new ID3v2 tag is v2.3 instead of v2.4.
    pub id3v23: bool,
    /// How several genres share an ID3v2.3 (or v2.2) frame.
    pub v23_join: Id3v23Join,
}

/// How several genres are joined in the one text an ID3v2.3 frame holds
/// (v2.4 separates values with NUL, Vorbis comments, APE and MP4 keep one
/// field each): Picard's "join multiple ID3v2.3 tags with".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Id3v23Join {
    /// "Blues; Rock", what Picard writes and most players show whole.
    #[default]
    Semicolon,
    /// "Blues / Rock".
    Slash,
    /// v2.4's NUL between values, which mutagen, foobar2000 and MusicBee
    /// read as several, and older players as the first alone.
    Nul,
}

impl std::fmt::Display for Id3v23Join {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Id3v23Join::Semicolon => "; ",
            Id3v23Join::Slash => " / ",
            Id3v23Join::Nul => "NUL",
        })
    }
}

impl Id3v23Join {
    pub fn separator(self) -> &'static str {
        match self {
            Id3v23Join::Semicolon => "; ",
            Id3v23Join::Slash => " / ",
            Id3v23Join::Nul => "\0",
        }
    }
}

/// The result of an edit: what the genre was, and the byte ranges of the
/// file that change (a large file is rewritten from these without ever
/// being held whole).
#[derive(Debug)]
pub struct Edited {
    /// The genre values of the file's main tag before the edit.
    pub before: Vec<String>,
    /// Whether the file had a tag that carries a genre before the edit.
    pub had_tag: bool,
    pub splices: Splices,
}

impl Edited {
    /// A read without an edit: the genres found, and nothing to change.
    fn read_only(before: Vec<String>, had_tag: bool, _bytes: &[u8]) -> Self {
        Self {
            before,
            had_tag,
            splices: Splices::default(),
        }
    }
}

/// Why a file was not written: shown to the user as the file's error.
pub type Refusal = String;

/// Extensions read through ffmpeg whose tags an editor here writes.
const WRITTEN_EXTERNAL: &[&str] = &["ape", "wv", "mpc", "mp+", "mpp", "spx"];

/// Why a file of this format gets no genre, known from its name alone (the
/// plan says so before anything is written): the formats read through
/// ffmpeg that no editor here writes.
pub fn refused_format(path: &Path) -> Option<String> {
    let name = crate::audio::external::external_format(path)?;
    let ext = path.extension()?.to_str()?;
    (!WRITTEN_EXTERNAL.iter().any(|e| e.eq_ignore_ascii_case(ext))).then(|| not_written_into(name))
}

fn not_written_into(format: &str) -> String {
    format!("Sonotag does not write genres into {format} files; the file was not changed")
}

/// The genres of the file held in `bytes`, read by the same parsers that
/// write them.
pub fn read_genres(bytes: &[u8], path: &Path) -> Result<Vec<String>, Refusal> {
    set_genres(bytes, path, None, EditOptions::default()).map(|e| e.before)
}

/// `bytes` with `genres` as the file's genres (an empty list removes the
/// genre), every other byte kept. `None` only reads.
pub fn set_genres(
    bytes: &[u8],
    path: &Path,
    genres: Option<&[String]>,
    options: EditOptions,
) -> Result<Edited, Refusal> {
    let kind = file_type(bytes, path);
    if let Some(name) = crate::audio::external::external_format(path)
        && !matches!(
            kind,
            Some(
                FileType::Ape
                    | FileType::WavPack
                    | FileType::Mpc
                    | FileType::Vorbis
                    | FileType::Opus
                    | FileType::Speex
            )
        )
    {
        // Read through ffmpeg, and no exact edit of its tags is made here
        // (WMA's ASF objects, DSD's ID3 block); a bare AC-3 stream would
        // even be taken for MPEG and get an ID3v2 tag.
        return Err(not_written_into(name));
    }
    let kind = kind.ok_or_else(|| {
        "not a format Sonotag can write genres into; the file was not changed".to_string()
    })?;
    match kind {
        FileType::Mpeg => stream_tags::set_genres(bytes, genres, options, Stream::Mpeg),
        FileType::Aac => stream_tags::set_genres(bytes, genres, options, Stream::RawAac),
        FileType::Ape | FileType::WavPack | FileType::Mpc => {
            stream_tags::set_genres(bytes, genres, options, Stream::ApeTagged)
        }
        FileType::Flac => xflac::set_genres(bytes, genres),
        FileType::Vorbis | FileType::Opus | FileType::Speex => ogg::set_genres(bytes, genres),
        FileType::Mp4 => mp4::set_genres(bytes, genres),
        FileType::Wav | FileType::Aiff => riff::set_genres(bytes, genres, options),
        other => Err(format!(
            "Sonotag does not write genres into {other:?} files; the file was not changed"
        )),
    }
}

/// The container format, by content (the extension only breaks a tie).
fn file_type(bytes: &[u8], path: &Path) -> Option<FileType> {
    if bytes.starts_with(b"OggS") {
        // Ogg FLAC, Vorbis, Opus and Speex share one container writer.
        return Some(FileType::Vorbis);
    }
    let probe = lofty::probe::Probe::new(Cursor::new(bytes))
        .guess_file_type()
        .ok()?;
    probe.file_type().or_else(|| FileType::from_path(path))
}

/// A range of the original and the bytes that replace it.
pub type Splice = (std::ops::Range<usize>, Vec<u8>);

/// Byte ranges of the original replaced by new bytes; ranges do not overlap.
#[derive(Debug, Default)]
pub struct Splices(Vec<Splice>);

impl Splices {
    /// The splices in order of their ranges, checked not to overlap nor to
    /// reach past `len`.
    pub fn sorted(mut self, len: usize) -> Result<Vec<Splice>, Refusal> {
        self.0.sort_by_key(|(r, _)| (r.start, r.end));
        let mut at = 0;
        for (r, _) in &self.0 {
            if r.start < at || r.end > len || r.start > r.end {
                return Err("internal error: overlapping edits; the file was not changed".into());
            }
            at = r.end;
        }
        Ok(self.0)
    }

    fn replace(&mut self, range: std::ops::Range<usize>, with: Vec<u8>) {
        self.0.push((range, with));
    }

    fn insert(&mut self, at: usize, with: Vec<u8>) {
        self.0.push((at..at, with));
    }

    /// The original with every splice made.
    pub fn apply(mut self, original: &[u8]) -> Result<Vec<u8>, Refusal> {
        self.0.sort_by_key(|(r, _)| (r.start, r.end));
        let grow: usize = self.0.iter().map(|(_, b)| b.len()).sum();
        let mut out = Vec::with_capacity(original.len() + grow);
        let mut at = 0;
        for (r, with) in self.0 {
            if r.start < at || r.end > original.len() {
                return Err("internal error: overlapping edits; the file was not changed".into());
            }
            out.extend_from_slice(&original[at..r.start]);
            out.extend_from_slice(&with);
            at = r.end;
        }
        out.extend_from_slice(&original[at..]);
        Ok(out)
    }
}

fn u32_be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_be(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// An ID3v1 genre number (as in "(17)" or a `gnre` atom) as its name.
fn id3v1_genre_name(index: usize) -> Option<String> {
    lofty::id3::v1::GENRES.get(index).map(|s| s.to_string())
}

/// Splits a stored multi-value genre field into its values, normalised as
/// the scan normalises them (ID3v1 numbers as names), so that what the
/// editors read agrees with what the plan showed.
fn split_values(text: &str) -> Vec<String> {
    crate::tags::read::split_genres(std::iter::once(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The editors meet damaged files: they must refuse, never panic (the
    /// tag layer's panic guard is a last resort, not a parser).
    #[test]
    fn damaged_files_are_refused_without_a_panic() {
        let fixtures = crate::source_tree().join("tests/fixtures");
        let mut cases = 0;
        for name in [
            "tone.mp3",
            "tone.flac",
            "tone.ogg",
            "tone.opus",
            "tone.m4a",
            "tone.wav",
            "tone.aiff",
        ] {
            let good = std::fs::read(fixtures.join(name)).unwrap();
            let path = Path::new(name);
            for case in 0..300 {
                let (_, bad) = crate::dev::fuzz::mutate(&good, 5, case);
                let genres = ["Jazz".to_string()];
                let outcome = std::panic::catch_unwind(|| {
                    if let Ok(e) = set_genres(&bad, path, Some(&genres), EditOptions::default()) {
                        let _ = e.splices.apply(&bad);
                    }
                });
                assert!(outcome.is_ok(), "{name}, case {case}: the editor panicked");
                cases += 1;
            }
        }
        assert_eq!(cases, 2100);
    }

    /// The damaged files that once hung, aborted or panicked Sonotag end in
    /// the editors as a refusal, at once. Skips without `../shared/data`.
    #[test]
    fn the_fuzz_regressions_are_refused_at_once() {
        let dir = crate::source_tree().join("../shared/data/fuzz-regressions");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("skipped: {} is absent", dir.display());
            return;
        };
        for e in entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x != "md"))
        {
            let bytes = std::fs::read(e.path()).unwrap();
            let started = std::time::Instant::now();
            let genres = ["Jazz".to_string()];
            let outcome = std::panic::catch_unwind(|| {
                set_genres(&bytes, &e.path(), Some(&genres), EditOptions::default()).map(|_| ())
            });
            assert!(
                outcome.is_ok(),
                "{}: the editor panicked",
                e.path().display()
            );
            assert!(
                started.elapsed().as_secs() < 2,
                "{}: too slow",
                e.path().display()
            );
        }
    }

    #[test]
    fn splices_apply_in_order() {
        let mut s = Splices::default();
        s.replace(4..6, b"XYZ".to_vec());
        s.insert(0, b"<".to_vec());
        s.insert(10, b">".to_vec());
        assert_eq!(s.apply(b"0123456789").unwrap(), b"<0123XYZ6789>");
        let mut s = Splices::default();
        s.replace(2..5, vec![]);
        s.replace(4..6, vec![]);
        assert!(s.apply(b"0123456789").is_err());
    }
}
