//! The `TCON` frame of an ID3v2.2, 2.3 or 2.4 tag, and nothing else.
//!
//! Every other frame is copied byte for byte, in its order, with its flags,
//! text encoding and frame-level unsynchronisation; the extended header is
//! kept (its padding size updated in v2.3). The new tag keeps its version
//! and its size when the new frame fits in the padding. A tag whose frames
//! cannot be walked exactly, or whose CRC would go stale, is refused.

use super::{Refusal, split_values};

const HEADER: usize = 10;

/// How much padding a tag that must grow gets, so the next edit fits.
pub const GROW_PADDING: usize = 1024;

fn syncsafe(b: &[u8]) -> Option<usize> {
    if b.len() != 4 || b.iter().any(|&x| x & 0x80 != 0) {
        return None;
    }
    Some(b.iter().fold(0usize, |acc, &x| (acc << 7) | x as usize))
}

fn to_syncsafe(n: usize) -> Result<[u8; 4], Refusal> {
    if n >= 1 << 28 {
        return Err("the ID3v2 tag would be too large; the file was not changed".into());
    }
    Ok([
        (n >> 21) as u8 & 0x7f,
        (n >> 14) as u8 & 0x7f,
        (n >> 7) as u8 & 0x7f,
        n as u8 & 0x7f,
    ])
}

/// The length of the ID3v2 tag at the start of `bytes` (header, body and
/// footer), or `None` when `bytes` does not start with one.
pub fn tag_len(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < HEADER || &bytes[..3] != b"ID3" || bytes[3] == 0xff || bytes[4] == 0xff {
        return None;
    }
    let size = syncsafe(&bytes[6..10])?;
    let footer = if bytes[3] == 4 && bytes[5] & 0x10 != 0 {
        HEADER
    } else {
        0
    };
    Some(HEADER + size + footer)
}

/// Removes unsynchronisation (every `FF 00` becomes `FF`).
fn deunsync(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        out.push(b[i]);
        if b[i] == 0xff && b.get(i + 1) == Some(&0) {
            i += 1;
        }
        i += 1;
    }
    out
}

/// Applies unsynchronisation: a zero after every `FF` that precedes a zero,
/// a byte of `111xxxxx`, or the end.
fn unsync(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + b.len() / 64);
    for (i, &x) in b.iter().enumerate() {
        out.push(x);
        if x == 0xff && b.get(i + 1).is_none_or(|&n| n == 0 || n >= 0xe0) {
            out.push(0);
        }
    }
    out
}

struct Frame {
    id: Vec<u8>,
    range: std::ops::Range<usize>,
    /// Where the frame's content starts (after its header).
    data_start: usize,
    flags: u16,
}

/// A parsed tag; offsets are into `body` (the tag after its header, with
/// tag-level unsynchronisation removed).
struct Parsed {
    major: u8,
    header: [u8; HEADER],
    body: Vec<u8>,
    ext_len: usize,
    frames: Vec<Frame>,
    frames_end: usize,
    unsynced: bool,
    footer: bool,
}

fn frame_header_len(major: u8) -> usize {
    if major == 2 { 6 } else { 10 }
}

fn valid_id(id: &[u8]) -> bool {
    id.iter()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Walks the frames from `start`; `Err` when a frame runs past the tag.
/// The bool says whether the walk ended cleanly (at the end or in zeros).
fn walk(
    body: &[u8],
    start: usize,
    major: u8,
    syncsafe_sizes: bool,
) -> Option<(Vec<Frame>, usize, bool)> {
    let hl = frame_header_len(major);
    let idl = if major == 2 { 3 } else { 4 };
    let mut frames = Vec::new();
    let mut off = start;
    while off + hl <= body.len() {
        let id = &body[off..off + idl];
        if id[0] == 0 {
            break;
        }
        if !valid_id(id) {
            let clean = body[off..].iter().all(|&b| b == 0);
            return Some((frames, off, clean));
        }
        let size = match major {
            2 => u32::from_be_bytes([0, body[off + 3], body[off + 4], body[off + 5]]) as usize,
            3 => super::u32_be(body, off + 4)? as usize,
            _ if syncsafe_sizes => syncsafe(&body[off + 4..off + 8])?,
            _ => super::u32_be(body, off + 4)? as usize,
        };
        let end = off.checked_add(hl)?.checked_add(size)?;
        if end > body.len() {
            return None;
        }
        let flags = if major == 2 {
            0
        } else {
            u16::from_be_bytes([body[off + 8], body[off + 9]])
        };
        frames.push(Frame {
            id: id.to_vec(),
            range: off..end,
            data_start: off + hl,
            flags,
        });
        off = end;
    }
    let clean = body[off..].iter().all(|&b| b == 0);
    Some((frames, off, clean))
}

fn parse(tag: &[u8]) -> Result<Parsed, Refusal> {
    let damaged = |what: &str| format!("{what}; the file was not changed");
    let len = tag_len(tag).ok_or_else(|| damaged("damaged ID3v2 header"))?;
    if len > tag.len() {
        return Err(damaged("the ID3v2 tag runs past the end of the file"));
    }
    let major = tag[3];
    let flags = tag[5];
    if !(2..=4).contains(&major) {
        return Err(damaged(&format!("unknown ID3v2 version 2.{major}")));
    }
    let known = match major {
        2 => 0x80,
        3 => 0xe0,
        _ => 0xf0,
    };
    if flags & !known != 0 || (major == 2 && flags & 0x40 != 0) {
        return Err(damaged("an ID3v2 header with flags Sonotag does not know"));
    }
    let footer = major == 4 && flags & 0x10 != 0;
    let raw_body = &tag[HEADER..len - if footer { HEADER } else { 0 }];
    let unsynced = major < 4 && flags & 0x80 != 0;
    let body = if unsynced {
        let plain = deunsync(raw_body);
        let mut again = unsync(&plain);
        // Trailing zeros of padding after an FF may or may not carry the
        // inserted zero; both re-encode to the same length check below.
        if again != raw_body {
            again.truncate(raw_body.len());
            if again != raw_body {
                return Err(damaged(
                    "an unsynchronised ID3v2 tag in a form Sonotag cannot rebuild exactly",
                ));
            }
        }
        plain
    } else {
        raw_body.to_vec()
    };
    let mut ext_len = 0;
    if major >= 3 && flags & 0x40 != 0 {
        if major == 3 {
            let size =
                super::u32_be(&body, 0).ok_or_else(|| damaged("damaged ID3v2 extended header"))?;
            ext_len = 4 + size as usize;
            if body.get(4).is_some_and(|f| f & 0x80 != 0) {
                return Err(damaged(
                    "the ID3v2 tag carries a CRC, which a new genre would break",
                ));
            }
        } else {
            ext_len = body
                .get(0..4)
                .and_then(syncsafe)
                .ok_or_else(|| damaged("damaged ID3v2 extended header"))?;
            if body.get(5).is_some_and(|f| f & 0x20 != 0) {
                return Err(damaged(
                    "the ID3v2 tag carries a CRC, which a new genre would break",
                ));
            }
        }
        if ext_len > body.len() || ext_len < 6 {
            return Err(damaged("damaged ID3v2 extended header"));
        }
    }
    let walked = match major {
        4 => {
            // iTunes once wrote v2.4 frame sizes as plain integers: take
            // whichever reading walks the frames exactly.
            let safe = walk(&body, ext_len, 4, true);
            match safe {
                Some(w) if w.2 => Some(w),
                _ => walk(&body, ext_len, 4, false).filter(|w| w.2).or(safe),
            }
        }
        m => walk(&body, ext_len, m, false),
    };
    let (frames, frames_end, _) =
        walked.ok_or_else(|| damaged("an ID3v2 frame runs past the end of its tag"))?;
    let mut header = [0u8; HEADER];
    header.copy_from_slice(&tag[..HEADER]);
    Ok(Parsed {
        major,
        header,
        body,
        ext_len,
        frames,
        frames_end,
        unsynced,
        footer,
    })
}

fn is_genre(id: &[u8]) -> bool {
    id == b"TCON" || id == b"TCO"
}

/// Decodes an ID3v2 text frame's content (encoding byte, then text).
fn decode_text(data: &[u8]) -> String {
    let Some((&enc, text)) = data.split_first() else {
        return String::new();
    };
    match enc {
        1 | 2 => {
            let mut units: Vec<u16> = Vec::with_capacity(text.len() / 2);
            let mut big_endian = enc == 2;
            for pair in text.chunks_exact(2) {
                match (pair[0], pair[1]) {
                    (0xff, 0xfe) => big_endian = false,
                    (0xfe, 0xff) => big_endian = true,
                    (a, b) => units.push(if big_endian {
                        u16::from_be_bytes([a, b])
                    } else {
                        u16::from_le_bytes([a, b])
                    }),
                }
            }
            String::from_utf16_lossy(&units)
        }
        3 => String::from_utf8_lossy(text).into_owned(),
        _ => text.iter().map(|&b| b as char).collect(),
    }
}

impl Parsed {
    fn genres(&self) -> Vec<String> {
        self.frames
            .iter()
            .filter(|f| is_genre(&f.id))
            // A compressed or encrypted frame cannot be read as text.
            .filter(|f| {
                let sealed = match self.major {
                    3 => 0x00c0,
                    4 => 0x000c,
                    _ => 0,
                };
                f.flags & sealed == 0
            })
            .flat_map(|f| {
                // v2.4's data length indicator precedes the content.
                let skip = if self.major == 4 && f.flags & 0x0001 != 0 {
                    4
                } else {
                    0
                };
                let data = self
                    .body
                    .get(f.data_start + skip..f.range.end)
                    .unwrap_or_default();
                let data = if self.major == 4 && f.flags & 0x0002 != 0 {
                    deunsync(data)
                } else {
                    data.to_vec()
                };
                split_values(&decode_text(&data))
            })
            .collect()
    }
}

/// A `TCON` frame for a tag of version 2.`major`: several genres as v2.4's
/// NUL-separated values, joined by `v23_join` in older tags, whose
/// specification has one value a frame.
fn genre_frame(major: u8, genres: &[String], tag_unsynced_v24: bool, v23_join: &str) -> Vec<u8> {
    let text = genres.join(if major == 4 { "\0" } else { v23_join });
    let mut data = Vec::with_capacity(text.len() + 3);
    if text.is_ascii() {
        data.push(0);
        data.extend_from_slice(text.as_bytes());
    } else if major == 4 {
        data.push(3);
        data.extend_from_slice(text.as_bytes());
    } else {
        data.push(1);
        data.extend_from_slice(&[0xff, 0xfe]);
        for unit in text.encode_utf16() {
            data.extend_from_slice(&unit.to_le_bytes());
        }
    }
    let mut frame = Vec::with_capacity(data.len() + 10);
    match major {
        2 => {
            frame.extend_from_slice(b"TCO");
            frame.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
        }
        3 => {
            frame.extend_from_slice(b"TCON");
            frame.extend_from_slice(&(data.len() as u32).to_be_bytes());
            frame.extend_from_slice(&[0, 0]);
        }
        _ => {
            frame.extend_from_slice(b"TCON");
            frame.extend_from_slice(&to_syncsafe(data.len()).unwrap_or([0x7f; 4]));
            // UTF-8 and ASCII never hold an FF byte, so the frame is its own
            // unsynchronised form; the flag keeps the tag consistent.
            frame.extend_from_slice(&[0, if tag_unsynced_v24 { 0x02 } else { 0 }]);
        }
    }
    frame.extend_from_slice(&data);
    frame
}

/// The genres of the tag at the start of `tag`.
pub fn genres(tag: &[u8]) -> Result<Vec<String>, Refusal> {
    Ok(parse(tag)?.genres())
}

/// The tag at the start of `tag` with `genres` as its only `TCON` content
/// (none: the frame removed); `grow_padding` is the padding a tag that must
/// grow gets. Returns the new tag's bytes.
pub fn with_genres(
    tag: &[u8],
    genres: &[String],
    grow_padding: usize,
    v23_join: &str,
) -> Result<Vec<u8>, Refusal> {
    let p = parse(tag)?;
    let tag_unsynced_v24 = p.major == 4 && p.header[5] & 0x80 != 0;
    let mut frames = Vec::with_capacity(p.frames_end);
    let has_genre = p.frames.iter().any(|f| is_genre(&f.id));
    if !has_genre && !genres.is_empty() {
        // First, so that a reader that gives up on an odd frame later in
        // the tag still finds it.
        frames.extend_from_slice(&genre_frame(p.major, genres, tag_unsynced_v24, v23_join));
    }
    let mut placed = genres.is_empty() || !has_genre;
    for f in &p.frames {
        if is_genre(&f.id) {
            if !placed {
                frames.extend_from_slice(&genre_frame(p.major, genres, tag_unsynced_v24, v23_join));
                placed = true;
            }
        } else {
            frames.extend_from_slice(&p.body[f.range.clone()]);
        }
    }
    let tail = &p.body[p.frames_end..];
    let tail_is_padding = tail.iter().all(|&b| b == 0);
    let mut ext = p.body[..p.ext_len].to_vec();
    if p.unsynced && !tail_is_padding {
        return Err(
            "an unsynchronised ID3v2 tag with data after its frames; the file was not changed"
                .into(),
        );
    }
    let old_body_len = tag_len(tag).expect("parsed") - HEADER - if p.footer { HEADER } else { 0 };
    // The v2.3 extended header states the padding size.
    let set_padding = |ext: &mut Vec<u8>, padding: usize| {
        if p.major == 3 && ext.len() >= 10 {
            ext[6..10].copy_from_slice(&(padding as u32).to_be_bytes());
        }
    };
    let body = if !tail_is_padding {
        [ext.as_slice(), &frames, tail].concat()
    } else if p.footer {
        // A tag with a footer has no padding.
        [ext.as_slice(), &frames].concat()
    } else {
        let encode = |ext: &[u8], padding: usize| {
            let plain = [ext, &frames, &vec![0u8; padding]].concat();
            if p.unsynced { unsync(&plain) } else { plain }
        };
        let content = ext.len() + frames.len();
        let mut padding = old_body_len.checked_sub(content).unwrap_or(grow_padding);
        let mut body;
        loop {
            set_padding(&mut ext, padding);
            body = encode(&ext, padding);
            if body.len() <= old_body_len || padding == grow_padding {
                break;
            }
            // Unsynchronisation made the content longer than the room.
            let over = body.len() - old_body_len;
            padding = padding.checked_sub(over).unwrap_or(grow_padding);
        }
        if p.unsynced && body.len() < old_body_len && padding != grow_padding {
            // Rounding of inserted zeros: fill the rest with padding.
            body.resize(old_body_len, 0);
        }
        body
    };
    let mut out = Vec::with_capacity(body.len() + 2 * HEADER);
    out.extend_from_slice(&p.header[..6]);
    out.extend_from_slice(&to_syncsafe(body.len())?);
    out.extend_from_slice(&body);
    if p.footer {
        out.extend_from_slice(b"3DI");
        out.extend_from_slice(&p.header[3..6]);
        out.extend_from_slice(&to_syncsafe(body.len())?);
    }
    Ok(out)
}

/// A new tag holding only `genres`, v2.3 or v2.4, with `padding`.
pub fn new_tag(genres: &[String], v23: bool, padding: usize, v23_join: &str) -> Vec<u8> {
    let major = if v23 { 3 } else { 4 };
    let frame = genre_frame(major, genres, false, v23_join);
    let size = frame.len() + padding;
    let mut out = Vec::with_capacity(size + HEADER);
    out.extend_from_slice(&[b'I', b'D', b'3', major, 0, 0]);
    out.extend_from_slice(&to_syncsafe(size).expect("small"));
    out.extend_from_slice(&frame);
    out.resize(size + HEADER, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(major: u8, id: &[u8], text: &[u8]) -> Vec<u8> {
        let mut f = id.to_vec();
        let len = text.len() + 1;
        match major {
            2 => f.extend_from_slice(&(len as u32).to_be_bytes()[1..]),
            3 => f.extend_from_slice(&(len as u32).to_be_bytes()),
            _ => f.extend_from_slice(&to_syncsafe(len).unwrap()),
        }
        if major > 2 {
            f.extend_from_slice(&[0, 0]);
        }
        f.push(0);
        f.extend_from_slice(text);
        f
    }

    fn tag(major: u8, flags: u8, frames: &[Vec<u8>], padding: usize) -> Vec<u8> {
        let body: Vec<u8> = [frames.concat(), vec![0; padding]].concat();
        let body = if flags & 0x80 != 0 && major < 4 {
            unsync(&body)
        } else {
            body
        };
        let mut t = vec![b'I', b'D', b'3', major, 0, flags];
        t.extend_from_slice(&to_syncsafe(body.len()).unwrap());
        t.extend_from_slice(&body);
        t
    }

    #[test]
    fn only_tcon_changes_and_padding_absorbs_it() {
        for major in [3u8, 4] {
            let title = frame(major, b"TIT2", b"Title");
            let artist = frame(major, b"TPE1", b"piman\0jzig");
            let old = tag(
                major,
                0,
                &[
                    title.clone(),
                    frame(major, b"TCON", b"Rock"),
                    artist.clone(),
                ],
                100,
            );
            let new = with_genres(&old, &["Jazz Fusion".into()], GROW_PADDING, "; ").unwrap();
            assert_eq!(new.len(), old.len(), "v2.{major}: fits in the padding");
            assert_eq!(genres(&new).unwrap(), ["Jazz Fusion"]);
            let p = parse(&new).unwrap();
            assert_eq!(&p.body[p.frames[0].range.clone()], title.as_slice());
            assert_eq!(&p.body[p.frames[2].range.clone()], artist.as_slice());
        }
    }

    #[test]
    fn v22_and_references_read_and_write() {
        let old = tag(
            2,
            0,
            &[frame(2, b"TT2", b"T"), frame(2, b"TCO", b"(17)")],
            0,
        );
        assert_eq!(genres(&old).unwrap(), ["Rock"]);
        let new = with_genres(&old, &["Blues".into()], 0, "; ").unwrap();
        assert_eq!(new[3], 2);
        assert_eq!(genres(&new).unwrap(), ["Blues"]);
    }

    #[test]
    fn unsynchronised_tags_are_rebuilt_exactly() {
        let pic = frame(3, b"APIC", &[0xff, 0xe0, 0xff, 0x00, 0xff, 1, 2]);
        let old = tag(3, 0x80, &[pic.clone(), frame(3, b"TCON", b"Pop")], 64);
        let new = with_genres(&old, &["Électronique".into()], GROW_PADDING, "; ").unwrap();
        assert_eq!(new.len(), old.len());
        assert_eq!(genres(&new).unwrap(), ["Électronique"]);
        let p = parse(&new).unwrap();
        assert_eq!(&p.body[p.frames[0].range.clone()], pic.as_slice());
        // Writing the old genre back gives the old bytes.
        assert_eq!(
            with_genres(&new, &["Pop".into()], GROW_PADDING, "; ").unwrap(),
            old
        );
    }

    #[test]
    fn a_tag_without_room_grows_and_crc_is_refused() {
        let old = tag(4, 0, &[frame(4, b"TIT2", b"T")], 0);
        let new = with_genres(&old, &["Rock".into()], GROW_PADDING, "; ").unwrap();
        assert_eq!(new.len(), old.len() + 15 + GROW_PADDING);
        let mut crc = vec![b'I', b'D', b'3', 4, 0, 0x40];
        let body = [
            vec![0, 0, 0, 12, 1, 0x20, 0, 0, 0, 0, 0, 0],
            frame(4, b"TIT2", b"T"),
        ]
        .concat();
        crc.extend_from_slice(&to_syncsafe(body.len()).unwrap());
        crc.extend_from_slice(&body);
        assert!(
            with_genres(&crc, &["Rock".into()], 0, "; ")
                .unwrap_err()
                .contains("CRC")
        );
    }

    #[test]
    fn several_genres_are_values_in_v24_and_joined_in_v23() {
        let two = ["Blues".to_string(), "Rock".to_string()];
        let v24 = with_genres(&tag(4, 0, &[frame(4, b"TIT2", b"a")], 64), &two, 0, "; ").unwrap();
        assert!(v24.windows(10).any(|w| w == b"Blues\0Rock"));
        assert_eq!(genres(&v24).unwrap(), two);
        for (join, text) in [("; ", &b"Blues; Rock"[..]), (" / ", b"Blues / Rock")] {
            let v23 =
                with_genres(&tag(3, 0, &[frame(3, b"TIT2", b"a")], 64), &two, 0, join).unwrap();
            assert!(v23.windows(text.len()).any(|w| w == text), "{join:?}");
            // Read back apart, as the scan reads it.
            assert_eq!(genres(&v23).unwrap(), two, "{join:?}");
        }
        let new = new_tag(&two, true, 0, "\0");
        assert!(new.windows(10).any(|w| w == b"Blues\0Rock"));
    }
}
