//! WAV and AIFF: the ID3 chunk's `TCON` frame and WAV's `LIST`/`INFO`
//! `IGNR` text.
//!
//! Other chunks keep their bytes and order; the container's size and the
//! edited chunk's size (with its pad byte) follow the change. A file with
//! neither gets an ID3 chunk at the end of the container, where ffprobe,
//! mutagen and TagLib all read it. Two ID3 chunks are refused.

use super::{EditOptions, Edited, Refusal, Splices, id3v2};

#[derive(Clone, Copy)]
struct Chunk {
    start: usize,
    id: [u8; 4],
    /// The data, without the pad byte.
    data: (usize, usize),
    /// The end, pad byte included.
    end: usize,
}

#[derive(Clone, Copy)]
struct Form {
    little: bool,
}

impl Form {
    fn read(self, b: &[u8], at: usize) -> Option<u32> {
        if self.little {
            super::u32_le(b, at)
        } else {
            super::u32_be(b, at)
        }
    }

    fn write(self, n: u32) -> [u8; 4] {
        if self.little {
            n.to_le_bytes()
        } else {
            n.to_be_bytes()
        }
    }

    fn chunk(self, id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 9);
        out.extend_from_slice(id);
        out.extend_from_slice(&self.write(data.len() as u32));
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
        out
    }
}

fn damaged() -> Refusal {
    "damaged chunk layout; the file was not changed".into()
}

fn chunks(b: &[u8], form: Form, range: std::ops::Range<usize>) -> Result<Vec<Chunk>, Refusal> {
    let mut out = Vec::new();
    let mut off = range.start;
    while off + 8 <= range.end {
        let size = form.read(b, off + 4).ok_or_else(damaged)? as usize;
        let data_end = (off + 8).checked_add(size).ok_or_else(damaged)?;
        if data_end > range.end {
            return Err(damaged());
        }
        let end = (data_end + size % 2).min(range.end);
        out.push(Chunk {
            start: off,
            id: b[off..off + 4].try_into().expect("4 bytes"),
            data: (off + 8, data_end),
            end,
        });
        off = end;
    }
    Ok(out)
}

fn is_id3(id: &[u8; 4]) -> bool {
    id == b"ID3 " || id == b"id3 "
}

/// The `INFO` list's `IGNR` texts.
fn info_genres(b: &[u8], list: &Chunk) -> Result<Vec<String>, Refusal> {
    Ok(
        chunks(b, Form { little: true }, list.data.0 + 4..list.data.1)?
            .iter()
            .filter(|c| &c.id == b"IGNR")
            .map(|c| {
                let text = &b[c.data.0..c.data.1];
                let text = text.split(|&x| x == 0).next().unwrap_or_default();
                String::from_utf8_lossy(text).trim().to_string()
            })
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// The `INFO` list's data with `genres` as its `IGNR`.
fn info_with_genres(b: &[u8], list: &Chunk, genres: &[String]) -> Result<Vec<u8>, Refusal> {
    let form = Form { little: true };
    let mut data = b[list.data.0..list.data.0 + 4].to_vec();
    let ignr = || {
        let mut text = genres.join("; ").into_bytes();
        text.push(0);
        form.chunk(b"IGNR", &text)
    };
    let mut placed = genres.is_empty();
    for c in chunks(b, form, list.data.0 + 4..list.data.1)? {
        if &c.id == b"IGNR" {
            if !placed {
                data.extend_from_slice(&ignr());
                placed = true;
            }
        } else {
            data.extend_from_slice(&b[c.start..c.end]);
        }
    }
    if !placed {
        data.extend_from_slice(&ignr());
    }
    Ok(data)
}

pub fn set_genres(
    b: &[u8],
    genres: Option<&[String]>,
    options: EditOptions,
) -> Result<Edited, Refusal> {
    let form = match (b.get(..4), b.get(8..12)) {
        (Some(b"RIFF"), Some(b"WAVE")) => Form { little: true },
        (Some(b"FORM"), Some(b"AIFF" | b"AIFC")) => Form { little: false },
        _ => {
            return Err(
                "a WAV or AIFF variant Sonotag does not write tags into (RF64, or a damaged \
                 header); the file was not changed"
                    .into(),
            );
        }
    };
    let declared = form.read(b, 4).ok_or_else(damaged)? as usize;
    let container_end = 8usize.checked_add(declared).ok_or_else(damaged)?;
    if container_end > b.len() {
        return Err(
            "the file is shorter than its header says (truncated?); the file was not changed"
                .into(),
        );
    }
    let top = chunks(b, form, 12..container_end)?;
    let id3: Vec<&Chunk> = top.iter().filter(|c| is_id3(&c.id)).collect();
    if id3.len() > 1 {
        return Err(
            "the file has two ID3 chunks; readers disagree on which counts, so Sonotag leaves \
             it alone"
                .into(),
        );
    }
    let id3 = id3.first().copied().copied();
    let infos: Vec<&Chunk> = top
        .iter()
        .filter(|c| {
            form.little && &c.id == b"LIST" && b.get(c.data.0..c.data.0 + 4) == Some(b"INFO")
        })
        .collect();
    if infos.len() > 1 {
        return Err("the file has two INFO lists; the file was not changed".into());
    }
    let info = infos.first().copied().copied();
    let id3_tag = |c: &Chunk| {
        let data = &b[c.data.0..c.data.1];
        id3v2::tag_len(data)
            .filter(|&l| l <= data.len())
            .map(|l| (c.data.0, l))
    };
    if let Some(c) = &id3
        && id3_tag(c).is_none()
    {
        return Err(
            "the ID3 chunk does not hold a readable ID3v2 tag; the file was not changed".into(),
        );
    }
    let before = match (&id3, &info) {
        (Some(c), _) => {
            let (at, len) = id3_tag(c).expect("checked");
            id3v2::genres(&b[at..at + len])?
        }
        (None, Some(l)) => info_genres(b, l)?,
        _ => Vec::new(),
    };
    let had_tag = id3.is_some() || info.is_some();
    let Some(genres) = genres else {
        return Ok(Edited::read_only(before, had_tag, b));
    };
    let mut splices = Splices::default();
    let mut grow = 0isize;
    let mut rewrite = |c: &Chunk, data: Vec<u8>, splices: &mut Splices| {
        let new = form.chunk(&c.id, &data);
        grow += new.len() as isize - (c.end - c.start) as isize;
        splices.replace(c.start..c.end, new);
    };
    if let Some(c) = &id3 {
        let (at, len) = id3_tag(c).expect("checked");
        let tag = id3v2::with_genres(&b[at..at + len], genres, 0, options.v23_join.separator())?;
        let data = [tag.as_slice(), &b[at + len..c.data.1]].concat();
        rewrite(c, data, &mut splices);
    }
    if let Some(l) = &info {
        let data = info_with_genres(b, l, genres)?;
        rewrite(l, data, &mut splices);
    }
    // mutagen reads only the ID3 chunk, ffprobe and TagLib both: a file
    // without one gets one, at the end of the container.
    if id3.is_none() && !genres.is_empty() {
        let mut new = Vec::new();
        match top.last() {
            Some(c) if c.end != container_end => {
                return Err(
                    "the file has bytes after its last chunk; the file was not changed".into(),
                );
            }
            // An odd-sized last chunk whose pad byte is missing gets it.
            Some(c) if (c.data.1 - c.data.0) % 2 == 1 && c.end == c.data.1 => new.push(0),
            _ => {}
        }
        let id = if form.little { b"id3 " } else { b"ID3 " };
        new.extend(form.chunk(
            id,
            &id3v2::new_tag(genres, options.id3v23, 0, options.v23_join.separator()),
        ));
        grow += new.len() as isize;
        splices.insert(container_end, new);
    }
    let size = u32::try_from(declared as isize + grow)
        .map_err(|_| "the file would be too large; the file was not changed".to_string())?;
    splices.replace(4..8, form.write(size).to_vec());
    Ok(Edited {
        before,
        had_tag,
        splices,
    })
}
