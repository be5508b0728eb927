//! A key for a file's recording that no tag edit changes, so the library
//! can follow a file that was moved, renamed or re-tagged by another tool.
//!
//! The key is the SHA-256 of the first compressed packets of the file's
//! audio track as the demuxer hands them out (never decoded), with the
//! track's codec, rate, channels and stated length. Tag writers rewrite tag
//! blocks, padding, Ogg page headers and MP4 chunk offsets, never the
//! packets themselves, so every tool's edit keeps the key; a re-encode or a
//! cut changes it. Reading stops after [`KEY_BYTES`] of packets (about half
//! a minute of a 128 kbit/s MP3, a few seconds of FLAC), so the key costs a
//! small read, not a decode. Two bit-identical copies share a key: the scan
//! tells them apart by where they are ([`crate::catalog::walk`]).
//!
//! A format Symphonia cannot demux (those read through ffmpeg: WavPack,
//! Monkey's Audio, Musepack, WMA, DSD…) is keyed by its bytes between its
//! tag blocks instead: a leading ID3v2 tag, trailing APE and ID3v1 tags,
//! ASF's header object and DSD's metadata chunk are left out, which is all
//! a tag editor rewrites in those formats.

use super::{AudioError, open_regular};
use sha2::{Digest, Sha256};
use std::path::Path;
use symphonia::core::formats::TrackType;

/// Packet bytes hashed: enough that tracks of one album with the same
/// silent start still differ.
pub const KEY_BYTES: usize = 512 * 1024;

/// Packets read at most (a file of tiny damaged packets stops here).
const KEY_PACKETS: usize = 4000;

/// Time after which a demuxer that crawls through a damaged file is
/// stopped, the key made of what it gave (it may then differ from scan to
/// scan: such a file only loses being followed when moved): a scan never
/// waits on one file.
const KEY_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Demuxer errors in a row after which the file is judged by what it gave.
const MAX_ERRORS: usize = 50;

/// The key of the recording in `path` (64 hex digits). Errors name the file.
pub fn audio_key(path: &Path) -> Result<String, AudioError> {
    super::guarded(path, || {
        let packets = key_of(path);
        match packets {
            Err(_) if super::external::external_format(path).is_some() => region_key(path),
            key => key,
        }
    })
}

/// The key of the bytes between a file's tag blocks (for formats no
/// demuxer here reads).
fn region_key(path: &Path) -> Result<String, AudioError> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = open_regular(path)?;
    let len = file.metadata().map_err(io)?.len();
    let mut read_at = |at: u64, n: usize| -> Result<Vec<u8>, AudioError> {
        let mut buf = vec![0u8; n.min(len.saturating_sub(at) as usize)];
        file.seek(SeekFrom::Start(at)).map_err(io)?;
        file.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    };
    let (start, end) = audio_region(len, &mut read_at)?;
    if start >= end {
        return Err(AudioError::NoAudio {
            path: path.to_path_buf(),
            errors: 0,
        });
    }
    let mut hash = Sha256::new();
    hash.update(b"region");
    hash.update((end - start).to_le_bytes());
    hash.update(read_at(start, KEY_BYTES.min((end - start) as usize))?);
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Where the audio lies in a file of `len` bytes, past its tag blocks;
/// `read_at(offset, n)` gives up to `n` bytes from `offset`.
fn audio_region(
    len: u64,
    read_at: &mut impl FnMut(u64, usize) -> Result<Vec<u8>, AudioError>,
) -> Result<(u64, u64), AudioError> {
    let le64 = |b: &[u8], at: usize| {
        b.get(at..at + 8)
            .map(|x| u64::from_le_bytes(x.try_into().unwrap()))
    };
    let be64 = |b: &[u8], at: usize| {
        b.get(at..at + 8)
            .map(|x| u64::from_be_bytes(x.try_into().unwrap()))
    };
    let le32 = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map(|x| u32::from_le_bytes(x.try_into().unwrap()) as u64)
    };
    let mut start = 0u64;
    let head = read_at(0, 10)?;
    if head.len() == 10 && head.starts_with(b"ID3") {
        let size = head[6..10]
            .iter()
            .fold(0u64, |n, b| (n << 7) | u64::from(b & 0x7f));
        start = 10 + size + if head[5] & 0x10 != 0 { 10 } else { 0 };
    }
    let head = read_at(start, 64)?;
    const ASF_HEADER: [u8; 16] = [
        0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE,
        0x6C,
    ];
    if head.starts_with(&ASF_HEADER) {
        // The header object holds every tag; the data object follows.
        let data = start.saturating_add(le64(&head, 16).unwrap_or(len));
        let size = le64(&read_at(data, 24)?, 16).unwrap_or(0);
        return Ok((data.saturating_add(50), data.saturating_add(size).min(len)));
    }
    if head.starts_with(b"DSD ") {
        // DSF: the DSD chunk, the fmt chunk, then the data chunk; the tag
        // is an ID3v2 block after the data.
        let data = 28u64.saturating_add(le64(&head, 32).unwrap_or(len));
        let size = le64(&read_at(data, 12)?, 4).unwrap_or(0);
        return Ok((data.saturating_add(12), data.saturating_add(size).min(len)));
    }
    if head.starts_with(b"FRM8") {
        // DSDIFF: the sound chunk among chunks that may carry tags.
        let mut at = 16u64;
        while at.saturating_add(12) <= len {
            let chunk = read_at(at, 12)?;
            let size = be64(&chunk, 4).unwrap_or(len);
            if chunk.starts_with(b"DSD ") || chunk.starts_with(b"DST ") {
                return Ok((at + 12, (at + 12).saturating_add(size).min(len)));
            }
            at = at
                .saturating_add(12)
                .saturating_add(size)
                .saturating_add(size & 1);
        }
        return Ok((0, 0));
    }
    let mut end = len;
    if end >= 128 && read_at(end - 128, 3)? == b"TAG" {
        end -= 128;
    }
    if end >= 32 {
        let footer = read_at(end - 32, 32)?;
        if footer.starts_with(b"APETAGEX") {
            let size = le32(&footer, 12).unwrap_or(0);
            let header = if le32(&footer, 20).unwrap_or(0) & 0x8000_0000 != 0 {
                32
            } else {
                0
            };
            end = end.saturating_sub(size + header);
        }
    }
    Ok((start.min(len), end.max(start.min(len))))
}

fn key_of(path: &Path) -> Result<String, AudioError> {
    let mut format = super::demuxer(path, open_regular(path)?)?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| AudioError::Unsupported {
            path: path.to_path_buf(),
            reason: "no audio track".into(),
        })?;
    let track_id = track.id;
    let mut hash = Sha256::new();
    if let Some(params) = track.codec_params.as_ref().and_then(|p| p.audio()) {
        hash.update(format!("{:?}", params.codec).as_bytes());
        hash.update(params.sample_rate.unwrap_or(0).to_le_bytes());
        hash.update((params.channels.as_ref().map_or(0, |c| c.count()) as u32).to_le_bytes());
    }
    hash.update(track.num_frames.unwrap_or(0).to_le_bytes());
    let (mut bytes, mut packets, mut errors) = (0usize, 0usize, 0usize);
    let deadline = std::time::Instant::now() + KEY_TIME;
    while bytes < KEY_BYTES
        && packets < KEY_PACKETS
        && errors < MAX_ERRORS
        && std::time::Instant::now() < deadline
    {
        match format.next_packet() {
            Ok(Some(p)) if p.track_id == track_id => {
                let take = p.data.len().min(KEY_BYTES - bytes);
                hash.update(&p.data[..take]);
                bytes += take;
                packets += 1;
                errors = 0;
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => errors += 1,
        }
    }
    if packets == 0 {
        return Err(AudioError::NoAudio {
            path: path.to_path_buf(),
            errors,
        });
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retag_keeps_the_key_and_other_audio_changes_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.wav");
        let b = dir.path().join("b.wav");
        use crate::dev::synth::{tone, write_wav};
        write_wav(&a, &tone(440.0, 1.0, 44_100, 0.3), 44_100, 1).unwrap();
        write_wav(&b, &tone(660.0, 1.0, 44_100, 0.3), 44_100, 1).unwrap();
        let key_a = audio_key(&a).unwrap();
        assert_eq!(key_a.len(), 64);
        assert_ne!(key_a, audio_key(&b).unwrap());
        // A LIST chunk appended (what a tagger adds to a WAV) leaves the
        // packets, and so the key, as they were.
        let mut bytes = std::fs::read(&a).unwrap();
        let list = b"LIST\x0c\x00\x00\x00INFOIGNR\x00\x00\x00\x00";
        bytes.extend_from_slice(list);
        let riff = (bytes.len() - 8) as u32;
        bytes[4..8].copy_from_slice(&riff.to_le_bytes());
        let c = dir.path().join("moved and renamed.wav");
        std::fs::write(&c, &bytes).unwrap();
        assert_eq!(audio_key(&c).unwrap(), key_a);
        let text = dir.path().join("text.wav");
        std::fs::write(&text, b"not audio at all").unwrap();
        assert!(
            audio_key(&text)
                .unwrap_err()
                .to_string()
                .contains("text.wav")
        );
    }
}
