//! The `Genre` item of an APEv1/APEv2 tag at the end of a file.
//!
//! Every other item keeps its bytes, flags and order; the header and footer
//! keep their version and flags, with the new size and item count.

use super::{Refusal, split_values, u32_le};

const FOOTER: usize = 32;

/// An APE tag found before `end` (the start of an ID3v1 tag or Lyrics3
/// block, or the end of the file).
pub struct ApeTag {
    /// The whole tag, header included.
    pub range: std::ops::Range<usize>,
    items: std::ops::Range<usize>,
    count: u32,
    has_header: bool,
}

/// The APE tag that ends at `end`, if any.
pub fn locate(bytes: &[u8], end: usize) -> Result<Option<ApeTag>, Refusal> {
    let Some(footer) = end.checked_sub(FOOTER) else {
        return Ok(None);
    };
    if &bytes[footer..footer + 8] != b"APETAGEX" {
        return Ok(None);
    }
    let damaged = || "damaged APE tag; the file was not changed".to_string();
    let size = u32_le(bytes, footer + 12).ok_or_else(damaged)? as usize;
    let count = u32_le(bytes, footer + 16).ok_or_else(damaged)?;
    let flags = u32_le(bytes, footer + 20).ok_or_else(damaged)?;
    let has_header = flags & 0x8000_0000 != 0;
    let items_start = end.checked_sub(size).ok_or_else(damaged)?;
    let start = if has_header {
        items_start.checked_sub(FOOTER).ok_or_else(damaged)?
    } else {
        items_start
    };
    if size < FOOTER || (has_header && &bytes[start..start + 8] != b"APETAGEX") {
        return Err(damaged());
    }
    Ok(Some(ApeTag {
        range: start..end,
        items: items_start..footer,
        count,
        has_header,
    }))
}

struct Item {
    range: std::ops::Range<usize>,
    key: String,
    value: std::ops::Range<usize>,
    flags: u32,
}

fn items(bytes: &[u8], tag: &ApeTag) -> Result<Vec<Item>, Refusal> {
    let damaged = || "damaged APE tag items; the file was not changed".to_string();
    let mut out = Vec::new();
    let mut off = tag.items.start;
    for _ in 0..tag.count {
        let len = u32_le(bytes, off).ok_or_else(damaged)? as usize;
        let flags = u32_le(bytes, off + 4).ok_or_else(damaged)?;
        let key_start = off + 8;
        let nul = bytes[key_start..tag.items.end]
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(damaged)?;
        let value_start = key_start + nul + 1;
        let end = value_start.checked_add(len).ok_or_else(damaged)?;
        if end > tag.items.end {
            return Err(damaged());
        }
        out.push(Item {
            range: off..end,
            key: String::from_utf8_lossy(&bytes[key_start..key_start + nul]).into_owned(),
            value: value_start..end,
            flags,
        });
        off = end;
    }
    if off != tag.items.end {
        return Err(damaged());
    }
    Ok(out)
}

fn is_genre(item: &Item) -> bool {
    item.key.eq_ignore_ascii_case("genre")
}

/// The genres of the tag (text items only).
pub fn genres(bytes: &[u8], tag: &ApeTag) -> Result<Vec<String>, Refusal> {
    Ok(items(bytes, tag)?
        .iter()
        .filter(|i| is_genre(i) && i.flags & 0b110 == 0)
        .flat_map(|i| split_values(&String::from_utf8_lossy(&bytes[i.value.clone()])))
        .collect())
}

fn genre_item(key: &str, genres: &[String]) -> Vec<u8> {
    let value = genres.join("\0");
    let mut out = Vec::with_capacity(value.len() + key.len() + 9);
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.push(0);
    out.extend_from_slice(value.as_bytes());
    out
}

/// A new APEv2 tag, header and footer, holding only `genres`.
pub fn new_tag(genres: &[String]) -> Vec<u8> {
    let item = genre_item("Genre", genres);
    let size = (item.len() + FOOTER) as u32;
    let block = |flags: u32| {
        let mut b = Vec::with_capacity(FOOTER);
        b.extend_from_slice(b"APETAGEX");
        b.extend_from_slice(&2000u32.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b
    };
    // Flags: bit 31 "has a header", bit 29 "this is the header".
    let mut out = block(0xA000_0000);
    out.extend_from_slice(&item);
    out.extend_from_slice(&block(0x8000_0000));
    out
}

/// The tag's bytes with `genres` as its `Genre` item (none: removed).
pub fn with_genres(bytes: &[u8], tag: &ApeTag, genres: &[String]) -> Result<Vec<u8>, Refusal> {
    let list = items(bytes, tag)?;
    let mut body = Vec::with_capacity(tag.items.len() + 64);
    let mut count = 0u32;
    let mut placed = genres.is_empty();
    for item in &list {
        if is_genre(item) {
            if !placed {
                body.extend_from_slice(&genre_item(&item.key, genres));
                count += 1;
                placed = true;
            }
        } else {
            body.extend_from_slice(&bytes[item.range.clone()]);
            count += 1;
        }
    }
    if !placed {
        body.extend_from_slice(&genre_item("Genre", genres));
        count += 1;
    }
    let size = u32::try_from(body.len() + FOOTER)
        .map_err(|_| "the APE tag would be too large; the file was not changed".to_string())?;
    let footer_at = tag.items.end;
    let with_counts = |at: usize| {
        let mut h = bytes[at..at + FOOTER].to_vec();
        h[12..16].copy_from_slice(&size.to_le_bytes());
        h[16..20].copy_from_slice(&count.to_le_bytes());
        h
    };
    let mut out = Vec::with_capacity(body.len() + 2 * FOOTER);
    if tag.has_header {
        out.extend_from_slice(&with_counts(tag.range.start));
    }
    out.extend_from_slice(&body);
    out.extend_from_slice(&with_counts(footer_at));
    Ok(out)
}
