//! Native FLAC: the Vorbis comment metadata block.
//!
//! Other metadata blocks (pictures, cue sheets, application data, seek
//! tables) keep their bytes and order. A padding block absorbs the change
//! in size when it can, so the audio does not move; a file with two
//! comment blocks is refused (readers disagree on which one counts). An
//! ID3v2 tag some programs put before `fLaC` is kept as it is.

use super::{Edited, Refusal, Splices, id3v2, vorbis};

const VORBIS_COMMENT: u8 = 4;
const PADDING: u8 = 1;
const MAX_BLOCK: usize = (1 << 24) - 1;

struct MetaBlock {
    /// The 4-byte header's offset.
    at: usize,
    kind: u8,
    last: bool,
    len: usize,
}

fn header(kind: u8, last: bool, len: usize) -> [u8; 4] {
    let l = (len as u32).to_be_bytes();
    [kind | if last { 0x80 } else { 0 }, l[1], l[2], l[3]]
}

pub fn set_genres(bytes: &[u8], genres: Option<&[String]>) -> Result<Edited, Refusal> {
    let damaged = || "damaged FLAC metadata; the file was not changed".to_string();
    let mut start = 0;
    while let Some(len) = id3v2::tag_len(&bytes[start..]) {
        start += len;
    }
    if bytes.get(start..start + 4) != Some(b"fLaC") {
        return Err(damaged());
    }
    let mut blocks = Vec::new();
    let mut off = start + 4;
    loop {
        let h = bytes.get(off..off + 4).ok_or_else(damaged)?;
        let block = MetaBlock {
            at: off,
            kind: h[0] & 0x7f,
            last: h[0] & 0x80 != 0,
            len: u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize,
        };
        if block.kind == 127 || off + 4 + block.len > bytes.len() {
            return Err(damaged());
        }
        off += 4 + block.len;
        let last = block.last;
        blocks.push(block);
        if last {
            break;
        }
    }
    let comments: Vec<&MetaBlock> = blocks.iter().filter(|b| b.kind == VORBIS_COMMENT).collect();
    if comments.len() > 1 {
        return Err(
            "the file has two Vorbis comment blocks; readers disagree on which counts, so \
             Sonotag leaves it alone"
                .into(),
        );
    }
    let comment = comments.first();
    let body = |b: &MetaBlock| &bytes[b.at + 4..b.at + 4 + b.len];
    let before = match comment {
        Some(b) => vorbis::genres(body(b))?,
        None => Vec::new(),
    };
    let Some(genres) = genres else {
        return Ok(Edited::read_only(before, comment.is_some(), bytes));
    };
    let mut splices = Splices::default();
    let grow: isize = match comment {
        Some(b) => {
            let new = vorbis::with_genres(body(b), genres)?;
            if new.len() > MAX_BLOCK {
                return Err(
                    "the comment block would be too large; the file was not changed".into(),
                );
            }
            let grow = new.len() as isize - b.len as isize;
            splices.replace(
                b.at..b.at + 4 + b.len,
                [header(VORBIS_COMMENT, b.last, new.len()).as_slice(), &new].concat(),
            );
            grow
        }
        None => {
            // A new block goes right after STREAMINFO, which stays first.
            let first = &blocks[0];
            let new = vorbis::new_block(genres);
            if first.last {
                splices.replace(first.at..first.at + 1, vec![first.kind]);
            }
            splices.insert(
                first.at + 4 + first.len,
                [
                    header(VORBIS_COMMENT, first.last, new.len()).as_slice(),
                    &new,
                ]
                .concat(),
            );
            4 + new.len() as isize
        }
    };
    // Padding absorbs the change, so the audio frames stay where they are.
    if let Some(p) = blocks.iter().find(|b| b.kind == PADDING) {
        let new_len = p.len as isize - grow;
        if (0..=MAX_BLOCK as isize).contains(&new_len) {
            let new_len = new_len as usize;
            let mut padded = header(PADDING, p.last, new_len).to_vec();
            padded.resize(4 + new_len, 0);
            splices.replace(p.at..p.at + 4 + p.len, padded);
        }
    }
    Ok(Edited {
        before,
        had_tag: comment.is_some(),
        splices,
    })
}
