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
    super::guarded(path, || key_of(path))
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
