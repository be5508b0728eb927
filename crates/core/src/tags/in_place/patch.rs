//! [`Patch`]: the changed byte ranges of a rewrite, which let undo restore
//! a file's exact previous bytes without keeping a copy of it.

use super::*;

/// Runs of differing bytes shorter than this apart are written as one.
pub(super) const MERGE_GAP: usize = 64;

/// Same-offset ranges where `a` and `b` differ, over their common length.
pub(super) fn differing_ranges(a: &[u8], b: &[u8]) -> Vec<std::ops::Range<usize>> {
    const CHUNK: usize = 4096;
    let common = a.len().min(b.len());
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < common {
        let end = (i + CHUNK).min(common);
        if a[i..end] == b[i..end] {
            i = end;
            continue;
        }
        for j in i..end {
            if a[j] != b[j] {
                match ranges.last_mut() {
                    Some(r) if j - r.end < MERGE_GAP => r.end = j + 1,
                    _ => ranges.push(j..j + 1),
                }
            }
        }
        i = end;
    }
    ranges
}

pub(super) fn write_in_place(
    file: &File,
    current: &[u8],
    target: &[u8],
    stop_midway: bool,
) -> std::io::Result<()> {
    let ranges = differing_ranges(current, target);
    if stop_midway {
        if let Some(r) = ranges.first() {
            let half = r.start + (r.len() / 2).max(1);
            file.write_all_at(&target[r.start..half], r.start as u64)?;
        } else if target.len() > current.len() {
            file.write_all_at(&target[current.len()..][..1], current.len() as u64)?;
        }
        return file.sync_all();
    }
    for r in ranges {
        file.write_all_at(&target[r.clone()], r.start as u64)?;
    }
    if target.len() > current.len() {
        file.write_all_at(&target[current.len()..], current.len() as u64)?;
    }
    file.set_len(target.len() as u64)?;
    file.sync_all()
}

/// One replaced range: `remove` bytes at `offset` give way to `insert`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Hunk {
    pub(super) offset: u64,
    pub(super) remove: u64,
    pub(super) insert: Vec<u8>,
}

/// The byte ranges that turn one version of a file into another. Tag
/// writes change a few ranges (the tag, a size field), so a patch that
/// restores the previous bytes is small enough to keep for undo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    pub(super) hunks: Vec<Hunk>,
}

impl Patch {
    /// The patch that turns `from` into `to`, or `None` when it would be
    /// too big to keep. Two shapes are tried and the smaller kept: one hunk
    /// between the common prefix and suffix (a tag that grew at the front
    /// shifts everything after it) and same-offset hunks plus the tail
    /// (a size field at the front and a tag at the end, as in WAV).
    pub fn between(from: &[u8], to: &[u8]) -> Option<Self> {
        let common = from.len().min(to.len());
        let prefix = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        let suffix = from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .take(common - prefix)
            .take_while(|(a, b)| a == b)
            .count();
        let single = Patch {
            hunks: if from == to {
                Vec::new()
            } else {
                vec![Hunk {
                    offset: prefix as u64,
                    remove: (from.len() - suffix - prefix) as u64,
                    insert: to[prefix..to.len() - suffix].to_vec(),
                }]
            },
        };
        let mut hunks: Vec<Hunk> = differing_ranges(from, to)
            .into_iter()
            .map(|r| Hunk {
                offset: r.start as u64,
                remove: r.len() as u64,
                insert: to[r].to_vec(),
            })
            .collect();
        if from.len() != to.len() {
            hunks.push(Hunk {
                offset: common as u64,
                remove: (from.len() - common) as u64,
                insert: to[common..].to_vec(),
            });
        }
        let same_offset = Patch { hunks };
        let best = if same_offset.payload() < single.payload() {
            same_offset
        } else {
            single
        };
        (best.payload() <= MAX_PATCH_BYTES && best.apply(from).as_deref() == Some(to))
            .then_some(best)
    }

    /// Whether the patch is small enough to keep for undo.
    pub fn keepable(&self) -> bool {
        self.payload() <= MAX_PATCH_BYTES
    }

    pub(super) fn payload(&self) -> usize {
        self.hunks.iter().map(|h| h.insert.len()).sum()
    }

    /// Applies the patch to `from`; `None` when it does not fit.
    pub fn apply(&self, from: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(from.len());
        let mut at = 0usize;
        for h in &self.hunks {
            let start = usize::try_from(h.offset).ok()?;
            let end = start.checked_add(usize::try_from(h.remove).ok()?)?;
            if start < at || end > from.len() {
                return None;
            }
            out.extend_from_slice(&from[at..start]);
            out.extend_from_slice(&h.insert);
            at = end;
        }
        out.extend_from_slice(&from[at..]);
        Some(out)
    }

    /// Serialises the patch for the library.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload() + 24 * self.hunks.len());
        for h in &self.hunks {
            out.extend_from_slice(&h.offset.to_le_bytes());
            out.extend_from_slice(&h.remove.to_le_bytes());
            out.extend_from_slice(&(h.insert.len() as u64).to_le_bytes());
            out.extend_from_slice(&h.insert);
        }
        out
    }

    /// Reads a patch written by [`Patch::to_bytes`]; `None` when damaged.
    pub fn from_bytes(mut bytes: &[u8]) -> Option<Self> {
        fn take_u64(b: &mut &[u8]) -> Option<u64> {
            let (head, rest) = b.split_first_chunk::<8>()?;
            *b = rest;
            Some(u64::from_le_bytes(*head))
        }
        let mut hunks = Vec::new();
        while !bytes.is_empty() {
            let offset = take_u64(&mut bytes)?;
            let remove = take_u64(&mut bytes)?;
            let len = usize::try_from(take_u64(&mut bytes)?).ok()?;
            if len > bytes.len() {
                return None;
            }
            let (insert, rest) = bytes.split_at(len);
            bytes = rest;
            hunks.push(Hunk {
                offset,
                remove,
                insert: insert.to_vec(),
            });
        }
        Some(Self { hunks })
    }
}
