//! What a model listens to: the patches of a track, for either backbone.
//!
//! A model votes with its own patches. The from-scratch CNN reads 128×128
//! slices (2.56 s) of the display spectrogram ([`crate::features::spectrogram`]);
//! musicnn reads 187-frame log-mel patches (≈ 2.99 s) of its own front end
//! ([`crate::ml::backbone::musicnn`]). [`FeatureKind`] names the pipeline, gives its
//! version (stamped on analyses and cards) and its patch length, and decodes
//! a file into [`Patches`]. Patch starts are kept in display columns (50 per
//! second), the unit the window draws and the library stores.

pub mod musicnn_mel;
pub mod spectrogram;
pub mod whole_track;

use crate::audio::{self, AudioError};
use serde::{Deserialize, Serialize};
use spectrogram::{COLUMNS_PER_SECOND, MEL_BANDS, SLICE_COLUMNS, Spectrogram};
use std::path::Path;

/// A feature pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureKind {
    /// 22,050 Hz, 128 HTK mel bands in dB mapped to u8, 128-column slices.
    DisplayMel,
    /// musicnn's 16 kHz log-mel, 96 Slaney bands, 187-frame patches.
    MusicnnMel,
}

/// The patches' values.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchData {
    /// 128×128 u8 slices, row-major, low band first.
    Slices(Vec<u8>),
    /// 187×96 f32 log-mel patches, frame-major.
    LogMel(Vec<f32>),
}

impl PatchData {
    /// Number of patches.
    pub fn count(&self) -> usize {
        match self {
            PatchData::Slices(v) => v.len() / (MEL_BANDS * SLICE_COLUMNS),
            PatchData::LogMel(v) => v.len() / (musicnn_mel::PATCH_FRAMES * musicnn_mel::MEL_BANDS),
        }
    }

    /// The patches at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> PatchData {
        match self {
            PatchData::Slices(v) => {
                let per = MEL_BANDS * SLICE_COLUMNS;
                PatchData::Slices(
                    indices
                        .iter()
                        .flat_map(|&k| &v[k * per..(k + 1) * per])
                        .copied()
                        .collect(),
                )
            }
            PatchData::LogMel(v) => {
                let per = musicnn_mel::PATCH_FRAMES * musicnn_mel::MEL_BANDS;
                PatchData::LogMel(
                    indices
                        .iter()
                        .flat_map(|&k| &v[k * per..(k + 1) * per])
                        .copied()
                        .collect(),
                )
            }
        }
    }
}

/// A track's patches ready for a model.
#[derive(Clone, Debug)]
pub struct Patches {
    pub data: PatchData,
    /// Start of each patch in display columns (20 ms).
    pub starts: Vec<u32>,
    /// Corrupt packets skipped while decoding.
    pub corrupt_packets: usize,
}

impl Patches {
    /// These patches and `more` of the same track, in time order, with
    /// where each came from: `(false, k)` is this set's `k`-th patch,
    /// `(true, k)` the `k`-th of `more`.
    pub fn merged(self, more: Patches) -> (Patches, Vec<(bool, usize)>) {
        let mut order: Vec<(u32, bool, usize)> = self
            .starts
            .iter()
            .enumerate()
            .map(|(k, &s)| (s, false, k))
            .chain(more.starts.iter().enumerate().map(|(k, &s)| (s, true, k)))
            .collect();
        order.sort_unstable();
        let first = self.data.count();
        let indices: Vec<usize> = order
            .iter()
            .map(|&(_, later, k)| if later { first + k } else { k })
            .collect();
        let data = match (self.data, more.data) {
            (PatchData::Slices(mut a), PatchData::Slices(b)) => {
                a.extend(b);
                PatchData::Slices(a)
            }
            (PatchData::LogMel(mut a), PatchData::LogMel(b)) => {
                a.extend(b);
                PatchData::LogMel(a)
            }
            _ => unreachable!("one track's patches come from one pipeline"),
        };
        (
            Patches {
                data: data.subset(&indices),
                starts: order.iter().map(|&(s, _, _)| s).collect(),
                corrupt_packets: self.corrupt_packets + more.corrupt_packets,
            },
            order.into_iter().map(|(_, later, k)| (later, k)).collect(),
        )
    }
}

impl FeatureKind {
    /// Version stamped on everything computed with this pipeline.
    pub fn version(self) -> u32 {
        match self {
            FeatureKind::DisplayMel => spectrogram::FEATURES_VERSION,
            FeatureKind::MusicnnMel => musicnn_mel::FEATURES_VERSION,
        }
    }

    /// Seconds of audio one patch covers.
    pub fn patch_seconds(self) -> f64 {
        match self {
            FeatureKind::DisplayMel => spectrogram::SLICE_SECONDS,
            FeatureKind::MusicnnMel => musicnn_mel::PATCH_SECONDS,
        }
    }

    /// Start of patch `k` in display columns.
    pub fn patch_start_column(self, k: usize) -> u32 {
        (k as f64 * self.patch_seconds() * COLUMNS_PER_SECOND as f64).round() as u32
    }

    /// Whole patches in `seconds` of audio.
    pub fn patches_in(self, seconds: f64) -> usize {
        match self {
            FeatureKind::DisplayMel => spectrogram::slice_count((seconds * 50.0) as usize),
            FeatureKind::MusicnnMel => musicnn_mel::patch_count(
                (seconds * musicnn_mel::SAMPLE_RATE as f64) as usize / musicnn_mel::HOP + 1,
            ),
        }
    }

    /// True when `starts` are not the consecutive patches from the start,
    /// i.e. the analysis was sampled.
    pub fn is_sampled(self, starts: &[u32]) -> bool {
        starts
            .iter()
            .enumerate()
            .any(|(k, &s)| s != self.patch_start_column(k))
    }

    /// Every patch of the file.
    pub fn analyse_file(self, path: &Path) -> Result<Patches, AudioError> {
        audio::guarded(path, || self.analyse_file_unguarded(path))
    }

    fn analyse_file_unguarded(self, path: &Path) -> Result<Patches, AudioError> {
        self.analyse_file_measured(path).map(|(patches, _)| patches)
    }

    /// The whole patches of a track's musicnn log-mel frames (the tail
    /// shorter than a patch is dropped).
    pub fn from_log_mel(self, mut frames: Vec<f32>, corrupt_packets: usize) -> Patches {
        debug_assert_eq!(self, FeatureKind::MusicnnMel);
        let per = musicnn_mel::PATCH_FRAMES * musicnn_mel::MEL_BANDS;
        let count = frames.len() / per;
        frames.truncate(count * per);
        Patches {
            data: PatchData::LogMel(frames),
            starts: (0..count).map(|k| self.patch_start_column(k)).collect(),
            corrupt_packets,
        }
    }

    /// The slices of an already computed display spectrogram (the window
    /// computes it anyway to draw it).
    pub fn from_spectrogram(self, spec: &Spectrogram, corrupt_packets: usize) -> Patches {
        debug_assert_eq!(self, FeatureKind::DisplayMel);
        Patches {
            data: PatchData::Slices(all_slices(spec)),
            starts: (0..spec.slice_count())
                .map(|k| self.patch_start_column(k))
                .collect(),
            corrupt_packets,
        }
    }

    /// The patches to classify a track with: with `sample`, a track longer
    /// than `sample` patches is analysed at that many evenly spaced patches
    /// by seeking (several times faster); otherwise, and when the duration
    /// is unknown or seeking fails, every patch.
    pub fn analyse_for_classification(
        self,
        path: &Path,
        duration_s: Option<f64>,
        sample: Option<usize>,
    ) -> Result<Patches, AudioError> {
        audio::guarded(path, || {
            self.analyse_for_classification_unguarded(path, duration_s, sample)
        })
    }

    fn analyse_for_classification_unguarded(
        self,
        path: &Path,
        duration_s: Option<f64>,
        sample: Option<usize>,
    ) -> Result<Patches, AudioError> {
        let planned = duration_s.map(|d| self.patches_in(d));
        if let (Some(total), Some(n)) = (planned, sample)
            && total > n
            && let Ok(patches) = self.patches_at_unguarded(path, &slice_plan(total, sample))
            // Seeks past the end of what decodes: analysed whole, below,
            // where a file cut short is found out.
            && patches.data.count() * 2 > n
        {
            return Ok(patches);
        }
        // A file that cannot seek falls back to the full analysis.
        let (patches, decoded_s) = self.analyse_file_measured(path)?;
        match duration_s {
            Some(stated_s) if cut_short(stated_s, decoded_s) => Err(AudioError::Truncated {
                path: path.to_path_buf(),
                stated_s,
                decoded_s,
            }),
            _ => Ok(patches),
        }
    }

    /// [`Self::analyse_file`] with the seconds of audio decoded.
    fn analyse_file_measured(self, path: &Path) -> Result<(Patches, f64), AudioError> {
        match self {
            FeatureKind::DisplayMel => {
                let (spec, report) = spectrogram::analyse_file(path)?;
                Ok((
                    self.from_spectrogram(&spec, report.corrupt_packets),
                    report.seconds(),
                ))
            }
            FeatureKind::MusicnnMel => {
                let (frames, report) = musicnn_mel::analyse_file(path)?;
                Ok((
                    self.from_log_mel(frames, report.corrupt_packets),
                    report.seconds(),
                ))
            }
        }
    }

    /// The patches of `path` at `indices` (ascending), each decoded after a
    /// seek to it: a second look at a track adds these to the first.
    pub fn patches_at(self, path: &Path, indices: &[usize]) -> Result<Patches, AudioError> {
        audio::guarded(path, || self.patches_at_unguarded(path, indices))
    }

    fn patches_at_unguarded(self, path: &Path, indices: &[usize]) -> Result<Patches, AudioError> {
        let (data, corrupt_packets) = match self {
            FeatureKind::DisplayMel => spectrogram::analyse_slices(path, indices)
                .map(|(s, r)| (PatchData::Slices(s), r.corrupt_packets))?,
            FeatureKind::MusicnnMel => musicnn_mel::analyse_patches(path, indices)
                .map(|(p, r)| (PatchData::LogMel(p), r.corrupt_packets))?,
        };
        let got = data.count();
        Ok(Patches {
            data,
            starts: indices[..got]
                .iter()
                .map(|&k| self.patch_start_column(k))
                .collect(),
            corrupt_packets,
        })
    }
}

/// Whether a file that states `stated_s` seconds and decodes `decoded_s` was
/// cut short: less than half of it, and more than 5 s missing (a length
/// estimated from a VBR file's bit rate is off by far less).
pub fn cut_short(stated_s: f64, decoded_s: f64) -> bool {
    decoded_s < stated_s / 2.0 && stated_s - decoded_s > 5.0
}

/// Patches to analyse for a track of `total` patches: all of them, or `n`
/// evenly spaced when sampling.
pub fn slice_plan(total: usize, sample: Option<usize>) -> Vec<usize> {
    match sample {
        Some(n) if n > 0 && total > n => (0..n)
            .map(|i| {
                if n > 1 {
                    i * (total - 1) / (n - 1)
                } else {
                    total / 2
                }
            })
            .collect(),
        _ => (0..total).collect(),
    }
}

/// All whole slices of a spectrogram, concatenated.
pub fn all_slices(spec: &Spectrogram) -> Vec<u8> {
    (0..spec.slice_count())
        .flat_map(|i| spec.slice(i))
        .collect()
}

/// Spectrogram parameters a model was trained on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureParams {
    /// The pipeline (cards written before backbones existed lack it: the
    /// display spectrogram).
    #[serde(default = "display_mel")]
    pub kind: FeatureKind,
    pub version: u32,
    pub sample_rate: u32,
    pub hop: usize,
    pub fft_size: usize,
    pub mel_bands: usize,
    pub slice_columns: usize,
    pub f_min: f32,
    pub f_max: f32,
    pub db_floor: f32,
}

fn display_mel() -> FeatureKind {
    FeatureKind::DisplayMel
}

impl FeatureParams {
    /// The parameters of this build for `kind`.
    pub fn of(kind: FeatureKind) -> Self {
        match kind {
            FeatureKind::DisplayMel => Self::current(),
            FeatureKind::MusicnnMel => Self {
                kind,
                version: musicnn_mel::FEATURES_VERSION,
                sample_rate: musicnn_mel::SAMPLE_RATE,
                hop: musicnn_mel::HOP,
                fft_size: musicnn_mel::N_FFT,
                mel_bands: musicnn_mel::MEL_BANDS,
                slice_columns: musicnn_mel::PATCH_FRAMES,
                f_min: 0.0,
                f_max: musicnn_mel::SAMPLE_RATE as f32 / 2.0,
                db_floor: 0.0,
            },
        }
    }

    /// The display spectrogram's parameters (the from-scratch CNN's input).
    pub fn current() -> Self {
        Self {
            kind: FeatureKind::DisplayMel,
            version: spectrogram::FEATURES_VERSION,
            sample_rate: spectrogram::SAMPLE_RATE,
            hop: spectrogram::HOP,
            fft_size: spectrogram::FFT_SIZE,
            mel_bands: MEL_BANDS,
            slice_columns: SLICE_COLUMNS,
            f_min: spectrogram::F_MIN,
            f_max: spectrogram::F_MAX,
            db_floor: spectrogram::DB_FLOOR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second look's patches join the first look's in time order, each
    /// with its own data, and the order says where each came from.
    #[test]
    fn merged_patches_are_in_time_order_with_their_data() {
        let per = musicnn_mel::PATCH_FRAMES * musicnn_mel::MEL_BANDS;
        // Every value of a patch is its index in the track.
        let patches = |indices: &[usize]| Patches {
            data: PatchData::LogMel(
                indices
                    .iter()
                    .flat_map(|&k| std::iter::repeat_n(k as f32, per))
                    .collect(),
            ),
            starts: indices
                .iter()
                .map(|&k| FeatureKind::MusicnnMel.patch_start_column(k))
                .collect(),
            corrupt_packets: 1,
        };
        let (all, order) = patches(&[0, 4, 8]).merged(patches(&[2, 6]));
        let PatchData::LogMel(data) = &all.data else {
            panic!("one pipeline in, the same out");
        };
        let firsts: Vec<f32> = data.chunks_exact(per).map(|p| p[0]).collect();
        assert_eq!(firsts, vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert!(data.chunks_exact(per).all(|p| p.iter().all(|&v| v == p[0])));
        assert!(all.starts.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            order,
            vec![(false, 0), (true, 0), (false, 1), (true, 1), (false, 2)]
        );
        assert_eq!(all.corrupt_packets, 2);
    }

    #[test]
    fn patch_starts_in_display_columns() {
        assert_eq!(FeatureKind::DisplayMel.patch_start_column(3), 384);
        // 2.992 s per musicnn patch = 149.6 columns.
        assert_eq!(FeatureKind::MusicnnMel.patch_start_column(1), 150);
        assert_eq!(FeatureKind::MusicnnMel.patch_start_column(5), 748);
        assert!(!FeatureKind::MusicnnMel.is_sampled(&[0, 150, 299]));
        assert!(FeatureKind::MusicnnMel.is_sampled(&[0, 299]));
    }

    #[test]
    fn patches_in_a_duration() {
        assert_eq!(FeatureKind::DisplayMel.patches_in(30.0), 11);
        assert_eq!(FeatureKind::MusicnnMel.patches_in(30.0), 10);
        assert_eq!(FeatureKind::MusicnnMel.patches_in(2.0), 0);
    }
}
