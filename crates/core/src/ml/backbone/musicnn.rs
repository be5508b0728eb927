//! musicnn, a music CNN pretrained on 200k songs, as a genre backbone.
//!
//! musicnn (Pons & Serra, MTG-UPF 2019, ISC licence) learned 50 Million Song
//! Dataset tags from audio. Its penultimate layer (200 values per 3-second
//! patch) describes music far better than a network we could train on a few
//! hundred tracks, so Sonotag puts a small linear head on it
//! ([`crate::ml::head::LinearHead`]). The weights come from musicnn's PyPI wheel,
//! converted by `training/musicnn/convert.py` into `models/musicnn-msd.safetensors`.
//!
//! This module is that network, exactly: [`MelFrontEnd`] computes musicnn's
//! input (16 kHz mono, STFT n_fft 512 / hop 256 / periodic Hann /
//! reflect-centred, 96 Slaney mel bands 0–8 kHz with Slaney normalisation, a
//! float16 rounding, `log10(10000·x + 1)`), [`MusicnnNet`] runs the model on
//! 187-frame patches (≈ 3 s): a batch-norm on the input, timbral 7×38 and
//! 7×67 convolutions and temporal 128/64/32×1 convolutions, each max-pooled
//! over frequency; three 7-wide convolutions over time with two residual
//! adds; max and mean over time; a dense layer of 200 → the embedding.
//!
//! Most front-end filters of the MSD model are dead (their kernels decayed to
//! ~0 in training), so their output is the constant `bn(relu(bias))`. Only the
//! live ones are computed (64 of 561); the dead ones enter the next layer as
//! a precomputed per-frame offset and the pooling as constants. A filter is
//! dead when the bound on what its kernel can add, `Σ|w| × max|input|`, is
//! below 1e-5 after its batch-norm, or cannot lift `bias` above zero (then
//! ReLU makes it exactly constant). The golden test checks the result
//! against the numpy reference (`tests/musicnn_golden.rs`).

use super::{Backbone, Registration};
use crate::features::musicnn_mel::{LOG_MEL_MAX, MEL_BANDS, PATCH_FRAMES};
use crate::features::{FeatureKind, PatchData};
use candle_core::{Device, Tensor};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Width of the embedding (the penultimate layer).
pub const EMBEDDING: usize = 200;
/// Patches per inference batch: the front end runs them in parallel, one a
/// core, and larger batches only hold more intermediate values at once.
pub const INFER_BATCH: usize = 8;

/// Batch-norm epsilon of `tf.layers.batch_normalization`.
const BN_EPS: f32 = 1e-3;
/// A front-end filter whose kernel can move its normalised output by less
/// than this is computed as a constant.
const DEAD_FILTER_BOUND: f32 = 1e-5;

/// Errors loading the musicnn weights; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum MusicnnError {
    #[error("musicnn weights {}: {source}", path.display())]
    Candle {
        path: PathBuf,
        source: candle_core::Error,
    },
    #[error("musicnn weights {}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// Per-channel batch-norm folded into `x * scale + shift`.
#[derive(Clone)]
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl Affine {
    fn apply(&self, c: usize, x: f32) -> f32 {
        x * self.scale[c] + self.shift[c]
    }

    /// As tensors shaped to broadcast over `[n, c, ...]` with `trailing` unit dims.
    fn tensors(&self, trailing: usize, device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
        let mut shape = vec![1, self.scale.len()];
        shape.extend(std::iter::repeat_n(1, trailing));
        Ok((
            Tensor::from_slice(&self.scale, shape.as_slice(), device)?,
            Tensor::from_slice(&self.shift, shape.as_slice(), device)?,
        ))
    }
}

/// One front-end convolution, live filters only.
struct FrontConv {
    /// `[live, 1, time, freq]` (the candle reference path of the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    kernel: Tensor,
    /// The same as plain values, `[live][time][freq]`, for the kernels.
    taps: Vec<f32>,
    /// `[1, live, 1, 1]` each (the candle reference path of the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    bias: Tensor,
    #[cfg_attr(not(test), allow(dead_code))]
    scale: Tensor,
    #[cfg_attr(not(test), allow(dead_code))]
    shift: Tensor,
    /// Per live filter, as plain values for the fast path.
    bias_values: Vec<f32>,
    affine: Affine,
    kh: usize,
    kw: usize,
    pad_before: usize,
    /// (The candle reference path of the tests pads with it.)
    #[cfg_attr(not(test), allow(dead_code))]
    pad_after: usize,
}

impl FrontConv {
    fn live(&self) -> usize {
        self.bias_values.len()
    }

    /// Multiply-adds ×2 per patch.
    fn flops(&self) -> u64 {
        let offsets = (MEL_BANDS - self.kw + 1) as u64;
        2 * self.live() as u64 * (self.kh * self.kw) as u64 * offsets * PATCH_FRAMES as u64
    }

    /// The live filters, for the kernels.
    fn filters(&self) -> kernels::Filters<'_> {
        kernels::Filters {
            taps: &self.taps,
            bias: &self.bias_values,
            affine: &self.affine,
            kh: self.kh,
            kw: self.kw,
            pad_before: self.pad_before,
        }
    }
}

/// A 7-wide convolution over time with its batch-norm.
struct TimeConv {
    /// `[64][in][7]`.
    taps: Vec<f32>,
    inputs: usize,
    bias: Vec<f32>,
    affine: Affine,
}

impl TimeConv {
    /// `bn(relu(conv(x) + bias + offset))` for one patch: `x` is `in ×
    /// 187`, `out` is `64 × 187`, `offset` (if any) the same shape.
    fn forward(&self, x: &[f32], offset: Option<&[f32]>, out: &mut [f32]) {
        kernels::time_conv(&self.taps, self.inputs, x, out);
        for (o, row) in out.chunks_exact_mut(PATCH_FRAMES).enumerate() {
            let shift = offset.map(|off| &off[o * PATCH_FRAMES..(o + 1) * PATCH_FRAMES]);
            for (t, v) in row.iter_mut().enumerate() {
                let z = *v + self.bias[o] + shift.map_or(0.0, |s| s[t]);
                *v = self.affine.apply(o, z.max(0.0));
            }
        }
    }
}

/// The musicnn MSD network with pruned front end.
pub struct MusicnnNet {
    device: Device,
    /// Scalar input batch-norm.
    input: (f32, f32),
    front: Vec<FrontConv>,
    /// Front channel (0..561) of each computed channel, in computed order.
    live: Vec<usize>,
    /// Value of every front channel that is not computed.
    constants: Vec<f32>,
    /// First mid-end convolution on the live channels only.
    mid1: TimeConv,
    /// What the dead channels add to `mid1` at each frame, `64 × 187`.
    mid1_offset: Vec<f32>,
    mid2: TimeConv,
    mid3: TimeConv,
    pool_norm: Affine,
    /// `[200, 1506]` and `[200]`.
    dense: (Tensor, Tensor),
    dense_norm: Affine,
    /// `[50, 200]` and `[50]`: musicnn's own tag layer (for checks and the
    /// golden test; genres use their own head).
    tag_layer: (Tensor, Tensor),
    tags: Vec<String>,
    front_channels: usize,
    mid_channels: usize,
}

/// Embeddings (and musicnn's tag probabilities) of a batch of patches.
pub struct Forward {
    /// `n × 200`.
    pub embeddings: Vec<f32>,
    /// `n × 50`, sigmoid.
    pub tags: Vec<f32>,
}

fn safetensors_tags(path: &Path) -> Vec<String> {
    // The converter puts the tag names in the header's metadata.
    let read = || -> Option<Vec<String>> {
        use std::io::Read;
        let mut f = std::fs::File::open(path).ok()?;
        let mut len = [0u8; 8];
        f.read_exact(&mut len).ok()?;
        let len = u64::from_le_bytes(len).min(1 << 20) as usize;
        let mut header = vec![0u8; len];
        f.read_exact(&mut header).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&header).ok()?;
        serde_json::from_str(v["__metadata__"]["tags"].as_str()?).ok()
    };
    read().unwrap_or_default()
}

impl MusicnnNet {
    /// Loads the converted weights, finds the dead filters and precomputes
    /// their contribution.
    pub fn load(path: &Path) -> Result<Self, MusicnnError> {
        let candle = |source| MusicnnError::Candle {
            path: path.to_path_buf(),
            source,
        };
        let device = Device::Cpu;
        let map = candle_core::safetensors::load(path, &device).map_err(candle)?;
        let get = |name: &str| -> Result<Tensor, MusicnnError> {
            map.get(name).cloned().ok_or_else(|| MusicnnError::Invalid {
                path: path.to_path_buf(),
                reason: format!(
                    "tensor {name} is missing (convert the checkpoint with training/musicnn/convert.py)"
                ),
            })
        };
        let vec = |name: &str| -> Result<Vec<f32>, MusicnnError> {
            get(name)?
                .flatten_all()
                .and_then(|t| t.to_vec1())
                .map_err(candle)
        };
        let bn = |name: &str| -> Result<Affine, MusicnnError> {
            let gamma = vec(&format!("{name}/gamma"))?;
            let beta = vec(&format!("{name}/beta"))?;
            let mean = vec(&format!("{name}/moving_mean"))?;
            let var = vec(&format!("{name}/moving_variance"))?;
            let scale: Vec<f32> = gamma
                .iter()
                .zip(&var)
                .map(|(g, v)| g / (v + BN_EPS).sqrt())
                .collect();
            let shift = beta
                .iter()
                .zip(&mean)
                .zip(&scale)
                .map(|((b, m), s)| b - m * s)
                .collect();
            Ok(Affine { scale, shift })
        };
        let input_bn = bn("batch_normalization")?;
        let input = (input_bn.scale[0], input_bn.shift[0]);
        let input_max = input.1.abs().max((LOG_MEL_MAX * input.0 + input.1).abs());

        let mut front = Vec::new();
        let mut live = Vec::new();
        let mut constants = Vec::new();
        let specs = [
            ("conv2d", "batch_normalization_1"),
            ("conv2d_1", "batch_normalization_2"),
            ("conv2d_2", "batch_normalization_3"),
            ("conv2d_3", "batch_normalization_4"),
            ("conv2d_4", "batch_normalization_5"),
        ];
        for (conv, norm) in specs {
            let kernel = get(&format!("{conv}/kernel"))?;
            let (out, _, kh, kw) = kernel.dims4().map_err(candle)?;
            let bias = vec(&format!("{conv}/bias"))?;
            let affine = bn(norm)?;
            let weights: Vec<f32> = kernel
                .flatten_all()
                .and_then(|t| t.to_vec1())
                .map_err(candle)?;
            let mut keep = Vec::new();
            for o in 0..out {
                let reach: f32 = weights[o * kh * kw..(o + 1) * kh * kw]
                    .iter()
                    .map(|w| w.abs())
                    .sum::<f32>()
                    * input_max;
                let never_positive = bias[o] + reach <= 0.0;
                let negligible = reach * affine.scale[o].abs() < DEAD_FILTER_BOUND;
                let channel = constants.len();
                if never_positive || negligible {
                    constants.push(affine.apply(o, bias[o].max(0.0)));
                } else {
                    constants.push(0.0);
                    live.push(channel);
                    keep.push(o as u32);
                }
            }
            let idx = Tensor::from_slice(&keep, keep.len(), &device).map_err(candle)?;
            let pick = |v: &[f32]| -> Vec<f32> { keep.iter().map(|&o| v[o as usize]).collect() };
            let shape = (1, keep.len(), 1, 1);
            let live_kernel = kernel.index_select(&idx, 0).map_err(candle)?;
            let taps = live_kernel
                .flatten_all()
                .and_then(|k| k.to_vec1())
                .map_err(candle)?;
            front.push(FrontConv {
                kernel: live_kernel,
                taps,
                bias_values: pick(&bias),
                affine: Affine {
                    scale: pick(&affine.scale),
                    shift: pick(&affine.shift),
                },
                kh,
                kw,
                bias: Tensor::from_vec(pick(&bias), shape, &device).map_err(candle)?,
                scale: Tensor::from_vec(pick(&affine.scale), shape, &device).map_err(candle)?,
                shift: Tensor::from_vec(pick(&affine.shift), shape, &device).map_err(candle)?,
                // 'same' padding in time; TensorFlow puts the odd one at the end.
                pad_before: (kh - 1) / 2,
                pad_after: kh - 1 - (kh - 1) / 2,
            });
        }
        let front_channels = constants.len();

        let time_conv = |conv: &str,
                         norm: &str,
                         channels: Option<&[usize]>|
         -> Result<TimeConv, MusicnnError> {
            let mut kernel = get(&format!("{conv}/kernel"))?;
            if let Some(ch) = channels {
                let idx: Vec<u32> = ch.iter().map(|&c| c as u32).collect();
                let idx = Tensor::from_slice(&idx, idx.len(), &device).map_err(candle)?;
                kernel = kernel.index_select(&idx, 1).map_err(candle)?;
            }
            let (outputs, inputs, width) = kernel.dims3().map_err(candle)?;
            if width != kernels::TIME_TAPS || outputs == 0 {
                return Err(MusicnnError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!("{conv}: a kernel {outputs}×{inputs}×{width}"),
                });
            }
            Ok(TimeConv {
                taps: kernel
                    .flatten_all()
                    .and_then(|k| k.to_vec1())
                    .map_err(candle)?,
                inputs,
                bias: vec(&format!("{conv}/bias"))?,
                affine: bn(norm)?,
            })
        };
        let mid1 = time_conv("conv2d_5", "batch_normalization_6", Some(&live))?;
        // The dead channels' constant input through the full first mid-end
        // kernel, zero-padded like the real input: an offset per frame.
        let full = get("conv2d_5/kernel")?;
        let mid_channels = full.dim(0).map_err(candle)?;
        let mut dead_input = vec![0f32; front_channels * PATCH_FRAMES];
        for (c, &v) in constants.iter().enumerate() {
            if !live.contains(&c) {
                dead_input[c * PATCH_FRAMES..(c + 1) * PATCH_FRAMES].fill(v);
            }
        }
        let mid1_offset = Tensor::from_vec(dead_input, (1, front_channels, PATCH_FRAMES), &device)
            .and_then(|x| x.conv1d(&full, 3, 1, 1, 1))
            .and_then(|x| x.flatten_all())
            .and_then(|x| x.to_vec1())
            .map_err(candle)?;
        let mid2 = time_conv("conv2d_6", "batch_normalization_7", None)?;
        let mid3 = time_conv("conv2d_7", "batch_normalization_8", None)?;
        let pool_norm = bn("batch_normalization_9")?;
        let dense = (get("dense/kernel")?, get("dense/bias")?);
        let dense_norm = bn("batch_normalization_10")?;
        let tag_layer = (get("dense_1/kernel")?, get("dense_1/bias")?);
        let pooled = 2 * (front_channels + 3 * mid_channels);
        if pool_norm.scale.len() != pooled || dense.0.dims() != [EMBEDDING, pooled] {
            return Err(MusicnnError::Invalid {
                path: path.to_path_buf(),
                reason: format!(
                    "unexpected layer sizes (pooled {} vs {pooled}, dense {:?})",
                    pool_norm.scale.len(),
                    dense.0.dims()
                ),
            });
        }
        Ok(Self {
            device,
            input,
            front,
            live,
            constants,
            mid1,
            mid1_offset,
            mid2,
            mid3,
            pool_norm,
            dense,
            dense_norm,
            tag_layer,
            tags: safetensors_tags(path),
            front_channels,
            mid_channels,
        })
    }

    /// Front-end filters computed, out of all of them.
    pub fn live_filters(&self) -> (usize, usize) {
        (self.live.len(), self.front_channels)
    }

    /// musicnn's tag probabilities (`n × 50`, sigmoid) of `n` embeddings
    /// this network made: its own last layer, run on stored embeddings.
    pub fn tags_of(&self, embeddings: &[f32]) -> candle_core::Result<Vec<f32>> {
        let n = embeddings.len() / EMBEDDING;
        let e = Tensor::from_slice(&embeddings[..n * EMBEDDING], (n, EMBEDDING), &self.device)?;
        candle_nn::ops::sigmoid(
            &e.matmul(&self.tag_layer.0.t()?)?
                .broadcast_add(&self.tag_layer.1)?,
        )?
        .flatten_all()?
        .to_vec1()
    }

    /// musicnn's 50 MSD tag names, in output order.
    pub fn tag_names(&self) -> &[String] {
        &self.tags
    }

    /// Multiply-adds ×2 per patch actually computed.
    pub fn flops_per_patch(&self) -> u64 {
        self.front.iter().map(FrontConv::flops).sum::<u64>() + self.mid_and_back_flops()
    }

    /// Multiply-adds ×2 per patch of the mid end and the dense layer.
    fn mid_and_back_flops(&self) -> u64 {
        let (t, m) = (PATCH_FRAMES as u64, self.mid_channels as u64);
        let taps = kernels::TIME_TAPS as u64;
        2 * m * self.live.len() as u64 * taps * t
            + 2 * 2 * m * m * taps * t
            + 2 * (EMBEDDING * self.pool_norm.scale.len()) as u64
    }

    /// Embeddings and tags of `n` patches (`n × 187 × 96` log-mel values,
    /// frame-major), in batches of [`INFER_BATCH`].
    pub fn forward(&self, patches: &[f32]) -> candle_core::Result<Forward> {
        let per = PATCH_FRAMES * MEL_BANDS;
        let mut out = Forward {
            embeddings: Vec::with_capacity(patches.len() / per * EMBEDDING),
            tags: Vec::new(),
        };
        for chunk in patches.chunks(per * INFER_BATCH) {
            let (e, t) = self.forward_batch(chunk, chunk.len() / per)?;
            out.embeddings.extend(e);
            out.tags.extend(t);
        }
        Ok(out)
    }

    fn forward_batch(
        &self,
        patches: &[f32],
        n: usize,
    ) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        let front = self.front_end(patches, n); // n × live × 187
        let pooled = self.mid_end(&front);
        self.back_end(pooled, n)
    }

    /// `patches` through musicnn's input batch-norm (a scale and a shift).
    fn normalised(&self, patches: &[f32]) -> Vec<f32> {
        let (s, b) = self.input;
        patches.iter().map(|v| v * s + b).collect()
    }

    /// The live front-end channels of `n` patches, `n × live × 187`.
    fn front_end(&self, patches: &[f32], n: usize) -> Vec<f32> {
        let x = self.normalised(patches);
        let per = PATCH_FRAMES * MEL_BANDS;
        let width = self.live.len() * PATCH_FRAMES;
        let mut out = vec![0f32; n * width];
        // Patches in parallel: each runs every kernel on one core.
        out.par_chunks_mut(width)
            .zip(x.par_chunks(per))
            .for_each(|(patch_out, patch)| {
                let mut start = 0;
                for conv in self.front.iter().filter(|c| c.live() > 0) {
                    let len = conv.live() * PATCH_FRAMES;
                    conv.filters()
                        .forward(patch, &mut patch_out[start..start + len]);
                    start += len;
                }
            });
        out
    }

    /// The mid end of each patch (`front`: `n × live × 187`) and the max
    /// and mean over time of every channel, batch-normed: `n × pooled`.
    fn mid_end(&self, front: &[f32]) -> Vec<f32> {
        let m = self.mid_channels * PATCH_FRAMES;
        let live = self.live.len();
        let pooled_len = self.pool_norm.scale.len();
        let mut pooled = vec![0f32; front.len() / (live * PATCH_FRAMES) * pooled_len];
        pooled
            .par_chunks_mut(pooled_len)
            .zip(front.par_chunks(live * PATCH_FRAMES))
            .for_each(|(row, front)| {
                let mut mid = vec![0f32; 3 * m];
                let (c1, rest) = mid.split_at_mut(m);
                let (r2, r3) = rest.split_at_mut(m);
                self.mid1.forward(front, Some(&self.mid1_offset), c1);
                self.mid2.forward(c1, None, r2);
                r2.iter_mut().zip(c1.iter()).for_each(|(r, c)| *r += c);
                self.mid3.forward(r2, None, r3);
                r3.iter_mut().zip(r2.iter()).for_each(|(r, c)| *r += c);
                // Max and mean interleaved per channel as musicnn lays them
                // out; dead front channels are their constant.
                for (c, &v) in self.constants.iter().enumerate() {
                    row[2 * c] = v;
                    row[2 * c + 1] = v;
                }
                let channels = front
                    .chunks_exact(PATCH_FRAMES)
                    .chain(mid.chunks_exact(PATCH_FRAMES));
                for (k, values) in channels.enumerate() {
                    let channel = if k < live {
                        self.live[k]
                    } else {
                        self.front_channels + k - live
                    };
                    row[2 * channel] = values.iter().copied().fold(f32::MIN, f32::max);
                    row[2 * channel + 1] = values.iter().sum::<f32>() / PATCH_FRAMES as f32;
                }
                for (c, v) in row.iter_mut().enumerate() {
                    *v = self.pool_norm.apply(c, *v);
                }
            });
        pooled
    }

    /// The embedding (and musicnn's tags) of `n` pooled rows.
    fn back_end(&self, pooled: Vec<f32>, n: usize) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        let pooled_len = self.pool_norm.scale.len();
        let pooled = Tensor::from_vec(pooled, (n, pooled_len), &self.device)?;
        let (ds, dt) = self.dense_norm.tensors(0, &self.device)?;
        let embedding = pooled
            .matmul(&self.dense.0.t()?)?
            .broadcast_add(&self.dense.1)?
            .relu()?
            .broadcast_mul(&ds)?
            .broadcast_add(&dt)?;
        let tags = candle_nn::ops::sigmoid(
            &embedding
                .matmul(&self.tag_layer.0.t()?)?
                .broadcast_add(&self.tag_layer.1)?,
        )?;
        Ok((
            embedding.flatten_all()?.to_vec1()?,
            tags.flatten_all()?.to_vec1()?,
        ))
    }
}

/// musicnn's MSD model as a [`Backbone`].
pub const REGISTRATION: Registration = Registration {
    name: "musicnn-msd",
    features: FeatureKind::MusicnnMel,
    weights: "musicnn-msd.safetensors",
    sha256: WEIGHTS_SHA256,
    load: |path| Ok(shared(path).map_err(|e| e.to_string())? as Arc<dyn Backbone>),
};

/// SHA-256 of `models/musicnn-msd.safetensors` as
/// `training/musicnn/fetch-weights.sh` makes it.
pub const WEIGHTS_SHA256: &str = "1875ddb7cac339926feba6dfa26b41ccdc9c65bb0e571e7d44f3aa99f43e2cd3";

impl Backbone for MusicnnNet {
    fn name(&self) -> &'static str {
        REGISTRATION.name
    }

    fn features(&self) -> FeatureKind {
        FeatureKind::MusicnnMel
    }

    fn embedding_width(&self) -> usize {
        EMBEDDING
    }

    fn flops_per_patch(&self) -> u64 {
        MusicnnNet::flops_per_patch(self)
    }

    fn embed(&self, patches: &PatchData) -> candle_core::Result<Vec<f32>> {
        match patches {
            PatchData::LogMel(p) => Ok(self.forward(p)?.embeddings),
            PatchData::Slices(_) => Err(candle_core::Error::Msg(
                "musicnn reads log-mel patches, not display slices".into(),
            )),
        }
    }

    fn tags_from_embeddings(&self, embeddings: &[f32]) -> Option<(Vec<String>, Vec<f32>)> {
        let tags = self.tags_of(embeddings).ok()?;
        (!self.tags.is_empty()).then(|| (self.tags.clone(), tags))
    }
}

/// Loads `path` once per process: models sharing the backbone share it.
pub fn shared(path: &Path) -> Result<Arc<MusicnnNet>, MusicnnError> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<MusicnnNet>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(net) = cache.lock().expect("cache lock").get(&key) {
        return Ok(net.clone());
    }
    let net = Arc::new(MusicnnNet::load(path)?);
    cache.lock().expect("cache lock").insert(key, net.clone());
    Ok(net)
}

#[path = "musicnn_kernels.rs"]
mod kernels;

#[cfg(test)]
#[path = "musicnn_tests.rs"]
mod tests;

#[cfg(any(test, feature = "dev-tools"))]
#[path = "musicnn_profile.rs"]
mod profile;
#[cfg(any(test, feature = "dev-tools"))]
pub use profile::LayerTime;
