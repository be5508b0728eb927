//! [`Rewrite`]: a file's new contents described as kept ranges of the old
//! file plus new bytes, so a large file's audio is never held in memory.

use super::*;

/// A file's new contents as its original with byte ranges replaced: how a
/// large file is rewritten without being held whole.
#[derive(Clone, Debug)]
pub struct Rewrite {
    pub(super) len: u64,
    /// Sorted, non-overlapping ranges of the original and what replaces them.
    pub(super) splices: Vec<crate::tags::formats::Splice>,
}

/// A piece of the rewritten file: original bytes kept (moved from `from`
/// to `to`), or a splice's new bytes at `to`.
pub(super) enum Segment {
    Kept { from: u64, len: u64, to: u64 },
    New { splice: usize, to: u64 },
}

impl Rewrite {
    /// `splices` must be sorted and apart (as `Splices::sorted` gives them).
    pub fn new(len: u64, splices: Vec<crate::tags::formats::Splice>) -> Self {
        Self { len, splices }
    }

    /// The rewrite a patch makes of a file of `len` bytes; `None` when the
    /// patch does not fit it.
    pub fn from_patch(len: u64, patch: &Patch) -> Option<Self> {
        let mut at = 0u64;
        let mut splices = Vec::with_capacity(patch.hunks.len());
        for h in &patch.hunks {
            let end = h.offset.checked_add(h.remove)?;
            if h.offset < at || end > len {
                return None;
            }
            splices.push((h.offset as usize..end as usize, h.insert.clone()));
            at = end;
        }
        Some(Self { len, splices })
    }

    /// The rewritten file's length.
    pub fn len_after(&self) -> u64 {
        let grown: i64 = self
            .splices
            .iter()
            .map(|(r, b)| b.len() as i64 - r.len() as i64)
            .sum();
        (self.len as i64 + grown) as u64
    }

    pub(super) fn segments(&self) -> Vec<Segment> {
        let mut out = Vec::with_capacity(2 * self.splices.len() + 1);
        let (mut from, mut to) = (0u64, 0u64);
        for (i, (r, bytes)) in self.splices.iter().enumerate() {
            let kept = r.start as u64 - from;
            if kept > 0 {
                out.push(Segment::Kept {
                    from,
                    len: kept,
                    to,
                });
            }
            to += kept;
            if !bytes.is_empty() {
                out.push(Segment::New { splice: i, to });
            }
            to += bytes.len() as u64;
            from = r.end as u64;
        }
        if from < self.len {
            out.push(Segment::Kept {
                from,
                len: self.len - from,
                to,
            });
        }
        out
    }

    /// Moves the kept spans to their new places (those moving towards the
    /// start first, in order, then those moving towards the end, from the
    /// last: no span overwrites one not yet moved), writes the new bytes,
    /// sets the length and syncs.
    pub(super) fn apply_in_place(&self, file: &File, stop_midway: bool) -> std::io::Result<()> {
        self.apply_in_chunks(file, stop_midway, CHUNK)
    }

    pub(super) fn apply_in_chunks(
        &self,
        file: &File,
        stop_midway: bool,
        chunk: usize,
    ) -> std::io::Result<()> {
        let new_len = self.len_after();
        if new_len > self.len {
            file.set_len(new_len)?;
        }
        let segments = self.segments();
        let mut buf = vec![0u8; chunk];
        let mut move_span = |from: u64, len: u64, to: u64| -> std::io::Result<bool> {
            let chunks = len.div_ceil(chunk as u64);
            for k in 0..chunks {
                // Towards the end: copy from the last chunk back.
                let k = if to > from { chunks - 1 - k } else { k };
                let off = k * chunk as u64;
                let n = (chunk as u64).min(len - off) as usize;
                file.read_exact_at(&mut buf[..n], from + off)?;
                file.write_all_at(&buf[..n], to + off)?;
                if stop_midway {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        for seg in &segments {
            if let Segment::Kept { from, len, to } = *seg
                && to < from
                && move_span(from, len, to)?
            {
                return file.sync_all();
            }
        }
        for seg in segments.iter().rev() {
            if let Segment::Kept { from, len, to } = *seg
                && to > from
                && move_span(from, len, to)?
            {
                return file.sync_all();
            }
        }
        for seg in &segments {
            if let Segment::New { splice, to } = *seg {
                file.write_all_at(&self.splices[splice].1, to)?;
                if stop_midway {
                    return file.sync_all();
                }
            }
        }
        file.set_len(new_len)?;
        file.sync_all()
    }
}
