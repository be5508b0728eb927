//! The from-scratch genre CNN (candle): architecture, deterministic init,
//! batched inference with embeddings, and training its head alone.
//!
//! Shape, in the article's spirit but sized for a CPU: the 128×128 slice is
//! standardised (per-slice mean and deviation, so loudness does not decide),
//! average-pooled 2×2 to 64×64, then four blocks of 3×3 convolution + ELU +
//! 2×2 max-pool. The 4 remaining frequency rows keep *where* in the spectrum
//! energy sits; time is summarised by mean and max (genre is texture, not
//! position in the slice). A dense layer makes the 128-value **embedding**
//! (stored per slice so a new head can be trained without decoding again),
//! dropout 0.5, and a linear head gives one logit per genre. Weights use
//! Xavier-uniform init from a seeded generator, so training is reproducible.
//! The whole network is trained by [`crate::ml::scratch_training`].

use crate::features::spectrogram::{MEL_BANDS, SLICE_COLUMNS};
use crate::rng::Rng;
use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Slices per inference batch (fastest on the 2-core machine: see
/// `sonotag bench --inference-only`).
pub const INFER_BATCH: usize = 128;

/// Layer sizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Output channels of the four conv blocks.
    pub channels: Vec<usize>,
    /// Embedding width (penultimate layer).
    pub embedding: usize,
    /// Average-pool factor applied to the input slice.
    pub input_pool: usize,
    /// Input normalisation: `true` standardises each slice (mean 0, unit
    /// deviation: loudness does not decide); `false` maps u8 to [-1, 1].
    #[serde(default = "yes")]
    pub standardise: bool,
}

fn yes() -> bool {
    true
}

impl Default for Architecture {
    fn default() -> Self {
        Self {
            channels: vec![8, 16, 32, 64],
            embedding: 128,
            input_pool: 4,
            standardise: true,
        }
    }
}

impl Architecture {
    fn side(&self) -> usize {
        MEL_BANDS / self.input_pool
    }

    /// Frequency rows left after the conv blocks.
    fn rows_out(&self) -> usize {
        self.side() >> self.channels.len()
    }

    fn flat(&self) -> usize {
        self.channels.last().copied().unwrap_or(1) * self.rows_out() * 2
    }

    /// Multiply-adds ×2 per slice (convolutions and dense layers).
    pub fn flops(&self, classes: usize) -> u64 {
        let mut side = self.side() as u64;
        let mut cin = 1u64;
        let mut total = 0u64;
        for &c in &self.channels {
            total += side * side * c as u64 * cin * 9 * 2;
            cin = c as u64;
            side /= 2;
        }
        total += (self.flat() * self.embedding * 2) as u64;
        total + (self.embedding * classes * 2) as u64
    }
}

/// A dense or conv layer's weight and bias.
#[derive(Clone)]
struct Layer {
    weight: Var,
    bias: Var,
}

/// The network with its weights.
pub struct GenreNet {
    arch: Architecture,
    /// Pool the input in Rust ([`GenreNet::input`]); training turns this off
    /// and pools with candle, whose rounding the shipped model was trained
    /// with, so a seed keeps reproducing the same weights.
    pub fused_input: bool,
    classes: usize,
    convs: Vec<Layer>,
    dense: Layer,
    head: Layer,
    device: Device,
}

fn xavier(rng: &mut Rng, shape: &[usize], fan_in: usize, fan_out: usize) -> Vec<f32> {
    let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
    (0..shape.iter().product::<usize>())
        .map(|_| rng.signed() * limit)
        .collect()
}

impl GenreNet {
    /// A freshly initialised network (Xavier uniform, zero biases).
    pub fn new(arch: &Architecture, classes: usize, seed: u64) -> candle_core::Result<Self> {
        let device = Device::Cpu;
        let mut rng = Rng::new(seed);
        let mut var = |shape: &[usize], fan_in: usize, fan_out: usize| {
            Var::from_tensor(&Tensor::from_vec(
                xavier(&mut rng, shape, fan_in, fan_out),
                shape,
                &device,
            )?)
        };
        let zeros = |n: usize| Var::zeros(n, DType::F32, &device);
        let mut convs = Vec::new();
        let mut cin = 1;
        for &c in &arch.channels {
            convs.push(Layer {
                weight: var(&[c, cin, 3, 3], cin * 9, c * 9)?,
                bias: zeros(c)?,
            });
            cin = c;
        }
        let dense = Layer {
            weight: var(&[arch.embedding, arch.flat()], arch.flat(), arch.embedding)?,
            bias: zeros(arch.embedding)?,
        };
        let head = Layer {
            weight: var(&[classes, arch.embedding], arch.embedding, classes)?,
            bias: zeros(classes)?,
        };
        Ok(Self {
            arch: arch.clone(),
            fused_input: true,
            classes,
            convs,
            dense,
            head,
            device,
        })
    }

    /// Layer sizes.
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    /// Number of output classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The CPU device tensors live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Every trainable variable.
    pub fn vars(&self) -> Vec<Var> {
        self.body_vars()
            .into_iter()
            .chain(self.head_vars())
            .collect()
    }

    /// Variables before the head (convolutions and the embedding layer).
    pub fn body_vars(&self) -> Vec<Var> {
        self.convs
            .iter()
            .chain(std::iter::once(&self.dense))
            .flat_map(|l| [l.weight.clone(), l.bias.clone()])
            .collect()
    }

    /// The head's variables.
    pub fn head_vars(&self) -> Vec<Var> {
        vec![self.head.weight.clone(), self.head.bias.clone()]
    }

    /// Parameter count.
    pub fn parameters(&self) -> usize {
        self.vars().iter().map(|v| v.elem_count()).sum()
    }

    /// Turns `n` slices of u8 (row-major, low band first) into the
    /// standardised input tensor `[n, 1, 128, 128]`.
    ///
    /// The input average-pooling is done here, in the same pass (candle's
    /// CPU pooling is a slow generic loop); pooling and standardising commute
    /// because standardisation is affine per slice.
    pub fn input(&self, slices: &[u8], n: usize) -> candle_core::Result<Tensor> {
        if !self.fused_input {
            return self.input_unfused(slices, n);
        }
        let pool = self.arch.input_pool.max(1);
        let side = self.arch.side();
        let mut data = Vec::with_capacity(n * side * side);
        let mut sums = vec![0u32; side * side];
        for slice in slices.chunks_exact(MEL_BANDS * SLICE_COLUMNS).take(n) {
            sums.fill(0);
            for (row, values) in slice.chunks_exact(SLICE_COLUMNS).enumerate() {
                let out_row = &mut sums[(row / pool) * side..(row / pool + 1) * side];
                for (col, &v) in values.iter().enumerate() {
                    out_row[col / pool] += v as u32;
                }
            }
            let cell = (pool * pool) as f32;
            let (shift, scale) = if self.arch.standardise {
                standardisation(slice)
            } else {
                (127.5, 1.0 / 127.5)
            };
            data.extend(sums.iter().map(|&s| (s as f32 / cell - shift) * scale));
        }
        Tensor::from_vec(data, (n, 1, side, side), &self.device)
    }

    /// The same input computed at full resolution and pooled by candle.
    fn input_unfused(&self, slices: &[u8], n: usize) -> candle_core::Result<Tensor> {
        let mut data = Vec::with_capacity(n * MEL_BANDS * SLICE_COLUMNS);
        for slice in slices.chunks_exact(MEL_BANDS * SLICE_COLUMNS).take(n) {
            if !self.arch.standardise {
                data.extend(slice.iter().map(|&v| v as f32 / 127.5 - 1.0));
                continue;
            }
            let (mean, inv) = standardisation(slice);
            data.extend(slice.iter().map(|&v| (v as f32 - mean) * inv));
        }
        Tensor::from_vec(data, (n, 1, MEL_BANDS, SLICE_COLUMNS), &self.device)?
            .avg_pool2d(self.arch.input_pool)
    }

    /// Runs the body: input `[n,1,side,side]` (from [`GenreNet::input`]) →
    /// embedding `[n, embedding]`.
    pub fn embed(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = x.clone();
        for conv in &self.convs {
            x = x
                .conv2d(conv.weight.as_tensor(), 1, 1, 1, 1)?
                .broadcast_add(&conv.bias.as_tensor().reshape((1, (), 1, 1))?)?
                .elu(1.0)?
                .max_pool2d(2)?;
        }
        // x: [n, c, rows, cols]; summarise time by mean and max.
        let mean = x.mean(D::Minus1)?;
        let max = x.max(D::Minus1)?;
        let flat = Tensor::cat(&[mean, max], D::Minus1)?.flatten_from(1)?;
        linear(&flat, &self.dense)?.elu(1.0)
    }

    /// Logits from embeddings, with dropout when a generator is given.
    pub fn head(
        &self,
        embedding: &Tensor,
        dropout: Option<&mut Rng>,
    ) -> candle_core::Result<Tensor> {
        let e = match dropout {
            Some(rng) => {
                let (n, d) = embedding.dims2()?;
                let mask: Vec<f32> = (0..n * d)
                    .map(|_| if rng.unit() < 0.5 { 0.0 } else { 2.0 })
                    .collect();
                (embedding * Tensor::from_vec(mask, (n, d), &self.device)?)?
            }
            None => embedding.clone(),
        };
        linear(&e, &self.head)
    }

    /// Probabilities and embeddings for `n` slices, in batches of `batch`.
    pub fn infer(&self, slices: &[u8], batch: usize) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        let per = MEL_BANDS * SLICE_COLUMNS;
        let n = slices.len() / per;
        let mut probs = Vec::with_capacity(n * self.classes);
        let mut embs = Vec::with_capacity(n * self.arch.embedding);
        for chunk in slices.chunks(per * batch.max(1)) {
            let m = chunk.len() / per;
            let e = self.embed(&self.input(chunk, m)?)?;
            let p = candle_nn::ops::softmax_last_dim(&self.head(&e, None)?)?;
            probs.extend(p.flatten_all()?.to_vec1::<f32>()?);
            embs.extend(e.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok((probs, embs))
    }

    /// Probabilities from stored embeddings (the head only).
    pub fn probabilities_from_embeddings(
        &self,
        embeddings: &[f32],
    ) -> candle_core::Result<Vec<f32>> {
        let n = embeddings.len() / self.arch.embedding;
        if n == 0 {
            return Ok(Vec::new());
        }
        let e = Tensor::from_vec(embeddings.to_vec(), (n, self.arch.embedding), &self.device)?;
        candle_nn::ops::softmax_last_dim(&self.head(&e, None)?)?
            .flatten_all()?
            .to_vec1()
    }

    /// Pushes the logits of classes not kept to -1e9 (never chosen).
    pub fn mask_classes(&mut self, keep: &[bool]) -> candle_core::Result<()> {
        let mut bias: Vec<f32> = self.head.bias.as_tensor().to_vec1()?;
        for (b, k) in bias.iter_mut().zip(keep) {
            if !k {
                *b = -1e9;
            }
        }
        self.head
            .bias
            .set(&Tensor::from_vec(bias, keep.len(), &self.device)?)
    }

    /// Replaces the head with a fresh one for `classes` outputs.
    pub fn reset_head(&mut self, classes: usize, seed: u64) -> candle_core::Result<()> {
        let mut rng = Rng::new(seed);
        let e = self.arch.embedding;
        self.head = Layer {
            weight: Var::from_tensor(&Tensor::from_vec(
                xavier(&mut rng, &[classes, e], e, classes),
                (classes, e),
                &self.device,
            )?)?,
            bias: Var::zeros(classes, DType::F32, &self.device)?,
        };
        self.classes = classes;
        Ok(())
    }

    fn named(&self) -> Vec<(String, &Var)> {
        let mut out = Vec::new();
        for (i, c) in self.convs.iter().enumerate() {
            out.push((format!("conv{i}.weight"), &c.weight));
            out.push((format!("conv{i}.bias"), &c.bias));
        }
        out.push(("dense.weight".into(), &self.dense.weight));
        out.push(("dense.bias".into(), &self.dense.bias));
        out.push(("head.weight".into(), &self.head.weight));
        out.push(("head.bias".into(), &self.head.bias));
        out
    }

    /// Writes the weights as safetensors.
    pub fn save_weights(&self, path: &Path) -> candle_core::Result<()> {
        let map: HashMap<String, Tensor> = self
            .named()
            .into_iter()
            .map(|(n, v)| (n, v.as_tensor().clone()))
            .collect();
        candle_core::safetensors::save(&map, path)
    }

    /// Loads weights saved by [`GenreNet::save_weights`] into this shape.
    pub fn load_weights(&mut self, path: &Path) -> candle_core::Result<()> {
        let map = candle_core::safetensors::load(path, &self.device)?;
        for (name, var) in self.named() {
            let t = map
                .get(&name)
                .ok_or_else(|| candle_core::Error::Msg(format!("missing tensor {name}")))?;
            if t.dims() != var.dims() {
                return Err(candle_core::Error::Msg(format!(
                    "tensor {name} has shape {:?}, expected {:?}",
                    t.dims(),
                    var.dims()
                )));
            }
            var.set(t)?;
        }
        Ok(())
    }
}

/// Slices per step of head training: the whole set when smaller.
const HEAD_BATCH: usize = 2048;

impl GenreNet {
    /// Trains only the head on stored embeddings (`n × dim`, one label each):
    /// `steps` AdamW steps on seeded random mini-batches (the whole set when it
    /// is small), classes weighted inversely to their counts so a big class
    /// cannot win by size. Seconds even for thousands of tracks.
    pub fn train_head(
        &mut self,
        embeddings: &[f32],
        labels: &[u32],
        classes: usize,
        seed: u64,
        steps: usize,
    ) -> candle_core::Result<f32> {
        self.reset_head(classes, seed)?;
        let dim = self.architecture().embedding;
        let n = labels.len();
        let mut counts = vec![0f32; classes];
        for &l in labels {
            counts[l as usize] += 1.0;
        }
        let weight_of = |l: u32| n as f32 / (classes as f32 * counts[l as usize]);
        let mut opt = AdamW::new(
            self.head_vars(),
            ParamsAdamW {
                lr: 1e-2,
                weight_decay: 1e-3,
                ..Default::default()
            },
        )?;
        let mut rng = Rng::new(seed);
        let batch = n.min(HEAD_BATCH);
        let mut last = 0.0;
        let mut x = Vec::with_capacity(batch * dim);
        let mut y = Vec::with_capacity(batch);
        let mut w = Vec::with_capacity(batch);
        for _ in 0..steps {
            x.clear();
            y.clear();
            w.clear();
            for k in 0..batch {
                let i = if batch == n {
                    k
                } else {
                    (rng.next_u64() % n as u64) as usize
                };
                x.extend_from_slice(&embeddings[i * dim..(i + 1) * dim]);
                y.push(labels[i]);
                w.push(weight_of(labels[i]));
            }
            let xt = Tensor::from_slice(&x, (batch, dim), self.device())?;
            let yt = Tensor::from_slice(&y, batch, self.device())?;
            let wt = Tensor::from_slice(&w, batch, self.device())?;
            let logits = self.head(&xt, Some(&mut rng))?;
            let logp = candle_nn::ops::log_softmax(&logits, 1)?;
            let picked = logp.gather(&yt.unsqueeze(1)?, 1)?.squeeze(1)?;
            let loss = (picked * &wt)?.mean_all()?.neg()?;
            opt.backward_step(&loss)?;
            last = loss.to_scalar::<f32>()?;
        }
        Ok(last)
    }
}

/// Mean and inverse deviation of a slice; the +8 keeps near-silent slices
/// from being blown up into noise.
fn standardisation(slice: &[u8]) -> (f32, f32) {
    let mean = slice.iter().map(|&v| v as f32).sum::<f32>() / slice.len() as f32;
    let var = slice
        .iter()
        .map(|&v| (v as f32 - mean).powi(2))
        .sum::<f32>()
        / slice.len() as f32;
    (mean, 1.0 / (var.sqrt() + 8.0))
}

fn linear(x: &Tensor, l: &Layer) -> candle_core::Result<Tensor> {
    x.matmul(&l.weight.as_tensor().t()?)?
        .broadcast_add(l.bias.as_tensor())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_gives_identical_outputs() {
        let net = GenreNet::new(&Architecture::default(), 3, 1).unwrap();
        let mut rng = Rng::new(5);
        let slices: Vec<u8> = (0..2 * 128 * 128)
            .map(|_| (rng.next_u64() % 256) as u8)
            .collect();
        let (p1, e1) = net.infer(&slices, 8).unwrap();
        assert_eq!(p1.len(), 6);
        assert_eq!(e1.len(), 256);
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path().join("m.safetensors");
        net.save_weights(&w).unwrap();
        let mut other = GenreNet::new(&Architecture::default(), 3, 99).unwrap();
        assert_ne!(other.infer(&slices, 8).unwrap().0, p1);
        other.load_weights(&w).unwrap();
        let (p2, e2) = other.infer(&slices, 8).unwrap();
        assert_eq!(p1, p2);
        assert_eq!(e1, e2);
        let from_emb = other.probabilities_from_embeddings(&e2).unwrap();
        for (a, b) in from_emb.iter().zip(&p1) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn fused_pooling_matches_candle() {
        // `input` pools in Rust; it must equal standardising at full
        // resolution and pooling with candle.
        let net = GenreNet::new(&Architecture::default(), 3, 1).unwrap();
        let mut rng = Rng::new(8);
        let slices: Vec<u8> = (0..2 * 128 * 128)
            .map(|_| (rng.next_u64() % 256) as u8)
            .collect();
        let ours: Vec<f32> = net
            .input(&slices, 2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let candle: Vec<f32> = net
            .input_unfused(&slices, 2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(ours.len(), candle.len());
        for (a, b) in ours.iter().zip(&candle) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn same_seed_same_weights() {
        let a = GenreNet::new(&Architecture::default(), 4, 7).unwrap();
        let b = GenreNet::new(&Architecture::default(), 4, 7).unwrap();
        for (x, y) in a.vars().iter().zip(b.vars()) {
            let x: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
            let y: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(x, y);
        }
    }

    #[test]
    fn flops_within_budget() {
        let arch = Architecture::default();
        assert!(arch.flops(11) < 50_000_000, "{}", arch.flops(11));
    }
}
