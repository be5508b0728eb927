//! The genre byte of an ID3v1 tag (the last 128 bytes, starting `TAG`).

/// Where the ID3v1 tag of `bytes` starts, if it has one.
pub fn locate(bytes: &[u8]) -> Option<usize> {
    let start = bytes.len().checked_sub(128)?;
    (&bytes[start..start + 3] == b"TAG").then_some(start)
}

/// The genre of the tag at `bytes[start..]`.
pub fn genre(bytes: &[u8], start: usize) -> Option<String> {
    super::id3v1_genre_name(bytes[start + 127] as usize)
}

/// The genre byte for `genres`: the first value's number in the ID3v1
/// list, or 255 ("none") when it has none there.
pub fn genre_byte(genres: &[String]) -> u8 {
    genres
        .first()
        .and_then(|g| {
            lofty::id3::v1::GENRES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(g))
        })
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(255)
}
