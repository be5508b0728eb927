//! MP4/M4A: the `©gen` item of `moov/udta/meta/ilst`.
//!
//! Every other item (`covr`, `----` freeform atoms, chapters) and every
//! other atom keep their bytes; `gnre` (the old numeric genre) is dropped
//! when `©gen` replaces it. The enclosing atoms' sizes follow the change.
//! When `moov` lies before the media data, a `free` atom beside `ilst` or
//! after `moov` absorbs the change where it can; otherwise every chunk
//! offset (`stco`/`co64`) that points past the edit moves by exactly the
//! change. Fragmented files whose fragments would move are refused.

use super::{Edited, Refusal, Splices, u32_be, u64_be};

const GEN: [u8; 4] = [0xa9, b'g', b'e', b'n'];

#[derive(Clone, Copy, Debug)]
struct Atom {
    start: usize,
    header: usize,
    end: usize,
    kind: [u8; 4],
}

impl Atom {
    fn body(&self) -> std::ops::Range<usize> {
        self.start + self.header..self.end
    }
}

fn damaged() -> Refusal {
    "damaged MP4 atom layout; the file was not changed".into()
}

/// The atoms in `range`, in order.
fn children(bytes: &[u8], range: std::ops::Range<usize>, top: bool) -> Result<Vec<Atom>, Refusal> {
    let mut out = Vec::new();
    let mut off = range.start;
    while off + 8 <= range.end {
        let size32 = u32_be(bytes, off).ok_or_else(damaged)? as usize;
        let kind: [u8; 4] = bytes[off + 4..off + 8].try_into().expect("4 bytes");
        let (header, size) = match size32 {
            1 => (
                16,
                usize::try_from(u64_be(bytes, off + 8).ok_or_else(damaged)?)
                    .map_err(|_| damaged())?,
            ),
            0 if top => (8, range.end - off),
            _ => (8, size32),
        };
        let mut end = off.checked_add(size).ok_or_else(damaged)?;
        if top && end > range.end && &kind != b"moov" && size >= header {
            // A truncated last atom after the movie header (often `free`
            // or `mdat` cut short) is left as it is.
            end = range.end;
        }
        if size < header || end > range.end {
            return Err(damaged());
        }
        out.push(Atom {
            start: off,
            header,
            end,
            kind,
        });
        off = end;
    }
    if off != range.end && !top {
        return Err(damaged());
    }
    Ok(out)
}

fn find<'a>(atoms: &'a [Atom], kind: &[u8; 4]) -> Option<&'a Atom> {
    atoms.iter().find(|a| &a.kind == kind)
}

/// Where a `meta` atom's children start: it is a full box (4 bytes of
/// version and flags) in MP4, but not in some QuickTime files.
fn meta_children(bytes: &[u8], meta: &Atom) -> Result<std::ops::Range<usize>, Refusal> {
    let body = meta.body();
    if bytes.get(body.start + 4..body.start + 8) == Some(b"hdlr") {
        return Err(
            "an MP4 meta atom in QuickTime's layout, which readers disagree on; the file was \
             not changed"
                .into(),
        );
    }
    Ok((body.start + 4).min(body.end)..body.end)
}

fn gen_atom(genres: &[String]) -> Vec<u8> {
    let mut body = Vec::new();
    for g in genres {
        body.extend_from_slice(&(16 + g.len() as u32).to_be_bytes());
        body.extend_from_slice(b"data");
        body.extend_from_slice(&1u32.to_be_bytes()); // version 0, UTF-8
        body.extend_from_slice(&0u32.to_be_bytes()); // locale
        body.extend_from_slice(g.as_bytes());
    }
    wrap(&GEN, &body)
}

fn wrap(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&(8 + body.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// The text values of an item's `data` atoms.
fn item_texts(bytes: &[u8], item: &Atom) -> Vec<String> {
    children(bytes, item.body(), false)
        .unwrap_or_default()
        .iter()
        .filter(|d| &d.kind == b"data" && d.end - d.start >= 16)
        .map(|d| String::from_utf8_lossy(&bytes[d.start + 16..d.end]).into_owned())
        .collect()
}

fn item_gnre(bytes: &[u8], item: &Atom) -> Option<String> {
    let data = children(bytes, item.body(), false).ok()?;
    let d = find(&data, b"data")?;
    let n = u16::from_be_bytes(bytes.get(d.start + 16..d.start + 18)?.try_into().ok()?);
    super::id3v1_genre_name((n as usize).checked_sub(1)?)
}

/// Rewrites a size field of `atom` for a body change of `grow` bytes.
fn resized(bytes: &[u8], atom: &Atom, grow: isize, splices: &mut Splices) -> Result<(), Refusal> {
    let too_big = || "an MP4 atom would be too large; the file was not changed".to_string();
    if atom.header == 16 {
        let size =
            (u64_be(bytes, atom.start + 8).ok_or_else(damaged)? as i128 + grow as i128) as u64;
        splices.replace(atom.start + 8..atom.start + 16, size.to_be_bytes().to_vec());
    } else if u32_be(bytes, atom.start) == Some(0) {
        // "To the end of the file": stays true.
    } else {
        let size =
            u32::try_from(atom.end as isize - atom.start as isize + grow).map_err(|_| too_big())?;
        splices.replace(atom.start..atom.start + 4, size.to_be_bytes().to_vec());
    }
    Ok(())
}

/// Moves every chunk offset at or past `from` by `grow`: one splice per
/// offset that changes.
fn shift_chunk_offsets(
    bytes: &[u8],
    moov: &Atom,
    from: usize,
    grow: isize,
    splices: &mut Splices,
) -> Result<(), Refusal> {
    for trak in children(bytes, moov.body(), false)?
        .iter()
        .filter(|a| &a.kind == b"trak")
    {
        let path = [b"mdia", b"minf", b"stbl"];
        let mut level = children(bytes, trak.body(), false)?;
        for kind in path {
            let Some(next) = find(&level, kind) else {
                level.clear();
                break;
            };
            level = children(bytes, next.body(), false)?;
        }
        for table in level
            .iter()
            .filter(|a| &a.kind == b"stco" || &a.kind == b"co64")
        {
            let wide = &table.kind == b"co64";
            let count = u32_be(bytes, table.start + table.header + 4).ok_or_else(damaged)? as usize;
            let first = table.start + table.header + 8;
            let width = if wide { 8 } else { 4 };
            if first + count.checked_mul(width).ok_or_else(damaged)? > table.end {
                return Err(damaged());
            }
            for i in 0..count {
                let at = first + i * width;
                let old = if wide {
                    u64_be(bytes, at).expect("checked")
                } else {
                    u32_be(bytes, at).expect("checked") as u64
                };
                if old < from as u64 {
                    continue;
                }
                let new = old as i128 + grow as i128;
                let value = if wide {
                    (new as u64).to_be_bytes().to_vec()
                } else {
                    u32::try_from(new)
                        .map_err(|_| {
                            "a chunk offset would overflow; the file was not changed".to_string()
                        })?
                        .to_be_bytes()
                        .to_vec()
                };
                splices.replace(at..at + width, value);
            }
        }
    }
    Ok(())
}

pub fn set_genres(bytes: &[u8], genres: Option<&[String]>) -> Result<Edited, Refusal> {
    let top = children(bytes, 0..bytes.len(), true)?;
    let moovs: Vec<&Atom> = top.iter().filter(|a| &a.kind == b"moov").collect();
    let [moov] = moovs.as_slice() else {
        return Err(if moovs.is_empty() {
            "an MP4 file without a movie header; the file was not changed".into()
        } else {
            "an MP4 file with two movie headers; the file was not changed".into()
        });
    };
    let moov = **moov;
    let in_moov = children(bytes, moov.body(), false)?;
    if find(&in_moov, b"meta").is_some() {
        return Err(
            "the MP4 file keeps its tags directly in moov, a layout Sonotag does not write; \
             the file was not changed"
                .into(),
        );
    }
    let udta = find(&in_moov, b"udta").copied();
    let in_udta = match &udta {
        Some(u) => children(bytes, u.body(), false)?,
        None => Vec::new(),
    };
    let meta = find(&in_udta, b"meta").copied();
    let in_meta = match &meta {
        Some(m) => children(bytes, meta_children(bytes, m)?, false)?,
        None => Vec::new(),
    };
    let ilst = find(&in_meta, b"ilst").copied();
    let items = match &ilst {
        Some(i) => children(bytes, i.body(), false)?,
        None => Vec::new(),
    };
    let genre_item = find(&items, &GEN);
    let gnre = find(&items, b"gnre");
    let before = match (genre_item, gnre) {
        (Some(g), _) => item_texts(bytes, g)
            .iter()
            .flat_map(|t| super::split_values(t))
            .collect(),
        (None, Some(g)) => item_gnre(bytes, g).into_iter().collect(),
        _ => Vec::new(),
    };
    let had_tag = ilst.is_some();
    let Some(genres) = genres else {
        return Ok(Edited::read_only(before, had_tag, bytes));
    };

    // The new ilst body, or the new atoms to create where there is none.
    let mut splices = Splices::default();
    let (grow, ancestors): (isize, Vec<Atom>) = match (udta, meta, ilst) {
        (Some(u), Some(m), Some(i)) => {
            let mut body = Vec::with_capacity(i.end - i.start + 64);
            let has_genre = items.iter().any(|a| a.kind == GEN || &a.kind == b"gnre");
            if !has_genre {
                // First, so that a reader that gives up on an odd item
                // later in the list still finds it.
                body.extend_from_slice(&gen_atom(genres));
            }
            let mut placed = genres.is_empty() || !has_genre;
            for item in &items {
                if item.kind == GEN || &item.kind == b"gnre" {
                    if !placed {
                        body.extend_from_slice(&gen_atom(genres));
                        placed = true;
                    }
                } else {
                    body.extend_from_slice(&bytes[item.start..item.end]);
                }
            }
            let grow = body.len() as isize - (i.end - i.body().start) as isize;
            splices.replace(i.body(), body);
            (grow, vec![moov, u, m, i])
        }
        (Some(u), Some(m), None) => {
            let new = wrap(b"ilst", &gen_atom(genres));
            splices.insert(m.end, new.clone());
            (new.len() as isize, vec![moov, u, m])
        }
        (udta, _, _) => {
            let mut hdlr = vec![0u8; 8];
            hdlr.extend_from_slice(b"mdirappl");
            hdlr.extend_from_slice(&[0; 9]);
            let meta_body = [
                vec![0u8; 4],
                wrap(b"hdlr", &hdlr),
                wrap(b"ilst", &gen_atom(genres)),
            ]
            .concat();
            let meta = wrap(b"meta", &meta_body);
            match udta {
                Some(u) => {
                    splices.insert(u.end, meta.clone());
                    (meta.len() as isize, vec![moov, u])
                }
                None => {
                    let udta = wrap(b"udta", &meta);
                    splices.insert(moov.end, udta.clone());
                    (udta.len() as isize, vec![moov])
                }
            }
        }
    };
    if grow == 0 {
        return Ok(Edited {
            before,
            had_tag,
            splices,
        });
    }
    // Free space right after the edited ilst, inside meta, absorbs it all.
    let free_after = |siblings: &[Atom], after: usize| {
        siblings
            .iter()
            .find(|a| {
                a.start == after && (&a.kind == b"free" || &a.kind == b"skip") && a.header == 8
            })
            .copied()
    };
    if let Some(i) = ilst
        && let Some(f) = free_after(&in_meta, i.end)
        && (f.end - f.start) as isize - grow >= 8
    {
        resized(bytes, &f, -grow, &mut splices)?;
        let keep = (f.end as isize - grow) as usize;
        if grow > 0 {
            splices.replace(keep..f.end, Vec::new());
        } else {
            splices.insert(f.end, vec![0; (-grow) as usize]);
        }
        // Sizes above the ilst stay as they are.
        resized(bytes, &ancestors[ancestors.len() - 1], grow, &mut splices)?;
        return Ok(Edited {
            before,
            had_tag,
            splices,
        });
    }
    for a in &ancestors {
        resized(bytes, a, grow, &mut splices)?;
    }
    // Does anything after moov's edit point hold media data that moves?
    let moves_media = top
        .iter()
        .any(|a| a.start >= moov.end && &a.kind != b"free" && &a.kind != b"skip");
    if !moves_media {
        return Ok(Edited {
            before,
            had_tag,
            splices,
        });
    }
    if let Some(f) = free_after(&top, moov.end)
        && (f.end - f.start) as isize - grow >= 8
    {
        // A free atom after moov gives up (or takes) the space.
        resized(bytes, &f, -grow, &mut splices)?;
        if grow > 0 {
            splices.replace((f.end as isize - grow) as usize..f.end, Vec::new());
        } else {
            splices.insert(f.end, vec![0; (-grow) as usize]);
        }
        return Ok(Edited {
            before,
            had_tag,
            splices,
        });
    }
    if top.iter().any(|a| &a.kind == b"moof" || &a.kind == b"sidx") {
        return Err("a fragmented MP4 whose fragments would move; the file was not changed".into());
    }
    // The offset tables are inside moov, apart from the other splices.
    shift_chunk_offsets(bytes, &moov, moov.end, grow, &mut splices)?;
    Ok(Edited {
        before,
        had_tag,
        splices,
    })
}
