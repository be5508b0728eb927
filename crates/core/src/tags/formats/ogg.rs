//! Ogg Vorbis, Opus, Speex and Ogg FLAC: the comment packet.
//!
//! The header packets after the first are rebuilt into pages with the new
//! comment; audio pages keep their bytes, except that when the number of
//! header pages changes their sequence numbers (and so their checksums)
//! follow. Chained or multiplexed streams, and headers sharing a page with
//! audio, are refused.

use super::{Edited, Refusal, u32_le, vorbis};

/// One page's header fields and where its data lies.
struct Page {
    start: usize,
    header_type: u8,
    serial: u32,
    seq: u32,
    lacing: Vec<u8>,
    data_start: usize,
    end: usize,
}

fn damaged() -> Refusal {
    "damaged Ogg stream; the file was not changed".into()
}

fn pages(bytes: &[u8]) -> Result<(Vec<Page>, usize), Refusal> {
    let mut out = Vec::new();
    let mut off = 0;
    while bytes.get(off..off + 4) == Some(b"OggS") {
        let h = bytes.get(off..off + 27).ok_or_else(damaged)?;
        if h[4] != 0 {
            return Err(damaged());
        }
        let n = h[26] as usize;
        let lacing = bytes
            .get(off + 27..off + 27 + n)
            .ok_or_else(damaged)?
            .to_vec();
        let data_start = off + 27 + n;
        let end = data_start + lacing.iter().map(|&l| l as usize).sum::<usize>();
        if end > bytes.len() {
            return Err(damaged());
        }
        out.push(Page {
            start: off,
            header_type: h[5],
            serial: u32_le(h, 14).ok_or_else(damaged)?,
            seq: u32_le(h, 18).ok_or_else(damaged)?,
            lacing,
            data_start,
            end,
        });
        off = end;
    }
    if out.is_empty() {
        return Err(damaged());
    }
    Ok((out, off))
}

/// A packet and the pages it spans (first, last).
struct Packet {
    data: Vec<u8>,
    first_page: usize,
    last_page: usize,
    /// Whether the packet ends with the last segment of its last page.
    ends_page: bool,
}

/// The first `count` packets of the stream.
fn packets(bytes: &[u8], pages: &[Page], count: usize) -> Result<Vec<Packet>, Refusal> {
    let mut out: Vec<Packet> = Vec::new();
    let mut current: Option<Packet> = None;
    for (i, page) in pages.iter().enumerate() {
        let continued = page.header_type & 1 != 0;
        if continued != current.is_some() {
            return Err(damaged());
        }
        let mut at = page.data_start;
        for (s, &l) in page.lacing.iter().enumerate() {
            let p = current.get_or_insert_with(|| Packet {
                data: Vec::new(),
                first_page: i,
                last_page: i,
                ends_page: false,
            });
            p.data.extend_from_slice(&bytes[at..at + l as usize]);
            p.last_page = i;
            at += l as usize;
            if l < 255 {
                let mut done = current.take().expect("set above");
                done.ends_page = s + 1 == page.lacing.len();
                out.push(done);
                if out.len() == count {
                    return Ok(out);
                }
            }
        }
    }
    Err(damaged())
}

/// Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, initial 0).
fn crc(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
            }
            *e = r;
        }
        t
    });
    data.iter().fold(0u32, |c, &b| {
        (c << 8) ^ table[((c >> 24) as u8 ^ b) as usize]
    })
}

fn with_crc(mut page: Vec<u8>) -> Vec<u8> {
    page[22..26].fill(0);
    let c = crc(&page);
    page[22..26].copy_from_slice(&c.to_le_bytes());
    page
}

/// Lays `packets` out in pages of at most 255 segments, numbered from `seq`.
fn paginate(packets: &[Vec<u8>], serial: u32, seq: u32) -> Vec<Vec<u8>> {
    let mut segments: Vec<(u8, usize, usize)> = Vec::new(); // (lacing, packet, offset)
    for (i, p) in packets.iter().enumerate() {
        let mut off = 0;
        loop {
            let l = (p.len() - off).min(255);
            segments.push((l as u8, i, off));
            off += l;
            if l < 255 {
                break;
            }
        }
    }
    let mut out = Vec::new();
    let mut continued = false;
    for (n, chunk) in segments.chunks(255).enumerate() {
        let ends_packet = chunk.iter().any(|s| s.0 < 255);
        let mut page = Vec::with_capacity(27 + chunk.len() + chunk.len() * 255);
        page.extend_from_slice(b"OggS\0");
        page.push(u8::from(continued));
        let granule: u64 = if ends_packet { 0 } else { u64::MAX };
        page.extend_from_slice(&granule.to_le_bytes());
        page.extend_from_slice(&serial.to_le_bytes());
        page.extend_from_slice(&(seq + n as u32).to_le_bytes());
        page.extend_from_slice(&[0; 4]);
        page.push(chunk.len() as u8);
        page.extend(chunk.iter().map(|s| s.0));
        for &(l, i, off) in chunk {
            page.extend_from_slice(&packets[i][off..off + l as usize]);
        }
        continued = chunk.last().is_some_and(|s| s.0 == 255);
        out.push(with_crc(page));
    }
    out
}

/// Which codec: how many header packets, and which one holds the comments
/// and at what offset within it.
fn layout(first: &[u8], bytes: &[u8], pages: &[Page]) -> Result<(usize, usize, usize), Refusal> {
    if first.starts_with(b"\x01vorbis") {
        Ok((3, 1, 7))
    } else if first.starts_with(b"OpusHead") {
        Ok((2, 1, 8))
    } else if first.starts_with(b"Speex   ") {
        let extra = u32_le(first, 72).ok_or_else(damaged)? as usize;
        Ok((2 + extra.min(16), 1, 0))
    } else if first.starts_with(b"\x7fFLAC") {
        let count = u16::from_be_bytes([first[7], first[8]]) as usize;
        if count == 0 || count > 64 {
            return Err(
                "an Ogg FLAC stream without a header count; the file was not changed".into(),
            );
        }
        let all = packets(bytes, pages, 1 + count)?;
        let at = all
            .iter()
            .position(|p| p.data.first().is_some_and(|b| b & 0x7f == 4))
            .ok_or("an Ogg FLAC stream without a comment block; the file was not changed")?;
        Ok((1 + count, at, 4))
    } else {
        Err(
            "an Ogg stream of a codec Sonotag does not write tags into; the file was not changed"
                .into(),
        )
    }
}

pub fn set_genres(bytes: &[u8], genres: Option<&[String]>) -> Result<Edited, Refusal> {
    let (pages, _) = pages(bytes)?;
    let serial = pages[0].serial;
    if pages[1..]
        .iter()
        .any(|p| p.header_type & 2 != 0 || p.serial != serial)
    {
        return Err(
            "a chained or multiplexed Ogg file (several streams); the file was not changed".into(),
        );
    }
    let first = packets(bytes, &pages, 1)?;
    let (count, comment_at, skip) = layout(&first[0].data, bytes, &pages)?;
    let headers = packets(bytes, &pages, count)?;
    let comment = &headers[comment_at].data;
    if comment.len() < skip {
        return Err(damaged());
    }
    let block = &comment[skip..];
    let before = vorbis::genres(block)?;
    let Some(genres) = genres else {
        return Ok(Edited::read_only(before, true, bytes));
    };
    if headers[0].last_page != 0 || !headers[0].ends_page || headers[1].first_page != 1 {
        return Err(
            "the first Ogg page holds more than the stream header; the file was not changed".into(),
        );
    }
    let last = headers.last().expect("count ≥ 2");
    if !last.ends_page {
        return Err("audio shares a page with the Ogg headers; the file was not changed".into());
    }
    let mut new_block = vorbis::with_genres(block, genres)?;
    if first[0].data.starts_with(b"\x7fFLAC") {
        // Ogg FLAC: the packet is a metadata block with a 24-bit length.
        if new_block.len() >= 1 << 24 {
            return Err("the comment block would be too large; the file was not changed".into());
        }
        let l = (new_block.len() as u32).to_be_bytes();
        let mut h = comment[..4].to_vec();
        h[1..4].copy_from_slice(&l[1..]);
        new_block = [h, new_block].concat();
    } else {
        new_block = [comment[..skip].to_vec(), new_block].concat();
    }
    let mut new_packets: Vec<Vec<u8>> = headers[1..].iter().map(|p| p.data.clone()).collect();
    new_packets[comment_at - 1] = new_block;
    let region = 1..last.last_page + 1;
    let new_pages = paginate(&new_packets, serial, pages[1].seq);
    let shift = new_pages.len() as i64 - region.len() as i64;
    let mut splices = super::Splices::default();
    splices.replace(
        pages[1].start..pages[region.end - 1].end,
        new_pages.concat(),
    );
    if shift != 0 {
        // Later pages keep their bytes but for the sequence number and the
        // checksum that covers it.
        for page in &pages[region.end..] {
            let mut p = bytes[page.start..page.end].to_vec();
            let seq = (page.seq as i64 + shift) as u32;
            p[18..22].copy_from_slice(&seq.to_le_bytes());
            let p = with_crc(p);
            splices.replace(page.start + 18..page.start + 26, p[18..26].to_vec());
        }
    }
    Ok(Edited {
        before,
        had_tag: true,
        splices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_a_known_page() {
        // The checksum of a page is computed with its CRC field zeroed; a
        // page rebuilt from its own parts must carry the same checksum.
        let page = paginate(&[b"hello".to_vec()], 7, 1).remove(0);
        let again = with_crc(page.clone());
        assert_eq!(page, again);
        assert_eq!(crc(b"123456789"), 0x89a1_897f);
    }

    #[test]
    fn long_packets_span_pages() {
        let big = vec![1u8; 255 * 300];
        let pages = paginate(&[big.clone(), b"x".to_vec()], 1, 5);
        assert_eq!(pages.len(), 2);
        let (parsed, _) = super::pages(&pages.concat()).unwrap();
        assert_eq!(parsed[1].seq, 6);
        assert_eq!(parsed[1].header_type & 1, 1);
    }
}
