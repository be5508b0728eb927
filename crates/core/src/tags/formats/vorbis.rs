//! The `GENRE` entries of a Vorbis comment block (FLAC, Ogg Vorbis, Opus,
//! Speex, Ogg FLAC).
//!
//! The vendor string and every other entry keep their bytes, case,
//! duplicates and order; the new genre takes the place of the first old
//! `GENRE` entry, with that entry's spelling of the key. Whatever follows
//! the entries (Vorbis's framing bit, Opus's padding) is kept.

use super::{Refusal, u32_le};

struct Block {
    /// Vendor length and vendor string.
    vendor_end: usize,
    entries: Vec<std::ops::Range<usize>>,
    end: usize,
}

fn parse(block: &[u8]) -> Result<Block, Refusal> {
    let damaged = || "damaged Vorbis comment block; the file was not changed".to_string();
    let vendor_len = u32_le(block, 0).ok_or_else(damaged)? as usize;
    let vendor_end = 4usize.checked_add(vendor_len).ok_or_else(damaged)?;
    let count = u32_le(block, vendor_end).ok_or_else(damaged)? as usize;
    let mut off = vendor_end + 4;
    let mut entries = Vec::with_capacity(count.min(4096));
    for _ in 0..count {
        let len = u32_le(block, off).ok_or_else(damaged)? as usize;
        let end = (off + 4).checked_add(len).ok_or_else(damaged)?;
        if end > block.len() {
            return Err(damaged());
        }
        entries.push(off + 4..end);
        off = end;
    }
    Ok(Block {
        vendor_end,
        entries,
        end: off,
    })
}

/// The key of an entry (before `=`) when it is `GENRE` in any case.
fn genre_key(entry: &[u8]) -> Option<&[u8]> {
    let eq = entry.iter().position(|&b| b == b'=')?;
    entry[..eq]
        .eq_ignore_ascii_case(b"GENRE")
        .then(|| &entry[..eq])
}

/// The genre values of the block.
pub fn genres(block: &[u8]) -> Result<Vec<String>, Refusal> {
    let b = parse(block)?;
    Ok(b.entries
        .iter()
        .map(|r| &block[r.clone()])
        .filter_map(|e| genre_key(e).map(|k| &e[k.len() + 1..]))
        .flat_map(|v| super::split_values(&String::from_utf8_lossy(v)))
        .collect())
}

/// The block with `genres` as its `GENRE` entries.
pub fn with_genres(block: &[u8], genres: &[String]) -> Result<Vec<u8>, Refusal> {
    let b = parse(block)?;
    let mut entries: Vec<Vec<u8>> = Vec::with_capacity(b.entries.len() + genres.len());
    let mut placed = false;
    let new_entries = |key: &[u8]| -> Vec<Vec<u8>> {
        genres
            .iter()
            .map(|g| [key, b"=", g.as_bytes()].concat())
            .collect()
    };
    for r in &b.entries {
        let entry = &block[r.clone()];
        match genre_key(entry) {
            Some(key) => {
                if !placed {
                    entries.extend(new_entries(key));
                    placed = true;
                }
            }
            None => entries.push(entry.to_vec()),
        }
    }
    if !placed {
        entries.extend(new_entries(b"GENRE"));
    }
    let mut out = Vec::with_capacity(block.len() + 64);
    out.extend_from_slice(&block[..b.vendor_end]);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&(e.len() as u32).to_le_bytes());
        out.extend_from_slice(&e);
    }
    out.extend_from_slice(&block[b.end..]);
    Ok(out)
}

/// A new block holding only `genres`.
pub fn new_block(genres: &[String]) -> Vec<u8> {
    let vendor = b"Sonotag";
    let mut empty = Vec::new();
    empty.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    empty.extend_from_slice(vendor);
    empty.extend_from_slice(&0u32.to_le_bytes());
    with_genres(&empty, genres).expect("well-formed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(entries: &[&str], trailer: &[u8]) -> Vec<u8> {
        let mut b = vec![3, 0, 0, 0, b'v', b'e', b'n'];
        b.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for e in entries {
            b.extend_from_slice(&(e.len() as u32).to_le_bytes());
            b.extend_from_slice(e.as_bytes());
        }
        b.extend_from_slice(trailer);
        b
    }

    #[test]
    fn only_genre_entries_change() {
        let old = block(
            &[
                "TITLE=a",
                "genre=Rock",
                "UNUSUALTAG=x",
                "GENRE=Pop",
                "TRACKNUMBER=01",
                "日本=語",
            ],
            &[1],
        );
        assert_eq!(genres(&old).unwrap(), ["Rock", "Pop"]);
        let new = with_genres(&old, &["Jazz".into()]).unwrap();
        assert_eq!(
            new,
            block(
                &[
                    "TITLE=a",
                    "genre=Jazz",
                    "UNUSUALTAG=x",
                    "TRACKNUMBER=01",
                    "日本=語"
                ],
                &[1]
            )
        );
        let added = with_genres(&block(&["TITLE=a"], &[]), &["Jazz".into()]).unwrap();
        assert_eq!(added, block(&["TITLE=a", "GENRE=Jazz"], &[]));
        assert!(with_genres(&old[..old.len() - 5], &[]).is_err());
    }
}
