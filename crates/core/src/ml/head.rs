//! A linear genre head on a pretrained backbone's embeddings.
//!
//! Embeddings are standardised (per-dimension mean and deviation of the
//! training set, stored with the head so inference sees the same scale),
//! then one linear layer gives a logit per genre; softmax gives the slice's
//! probabilities. It is multinomial logistic regression with an L2 penalty:
//! with a few hundred labelled tracks that is what generalises, and it
//! trains in well under a second, so a user's corrections can retrain it at
//! once from stored embeddings (no decoding).

use crate::rng::Rng;
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use std::collections::HashMap;

/// Sets of up to this many embeddings train on all of them at every step
/// (every shipped model: 290 tracks of at most 30 patches are under
/// 8,700). Mini-batches add noise the optimiser does not average out: with
/// the default model's strong shrinkage they cost a third of the GTZAN eval
/// clips.
const FULL_BATCH_UP_TO: usize = 16384;
/// Embeddings per optimisation step in larger sets (see [`LinearHead::train`]).
const MAX_BATCH: usize = 4096;

/// Training settings of a head.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeadOptions {
    pub seed: u64,
    /// Full-batch optimisation steps.
    pub steps: usize,
    pub learning_rate: f64,
    /// Inverse regularisation strength, as scikit-learn's `C`: the loss is
    /// `½‖W‖² + C Σ weighted losses`, so more data means less shrinkage.
    /// 0.0001 got the most tracks right on training sources left out whole,
    /// of 0.01 down to 0.00001 (models/README.md, "Choosing the head"): a strongly
    /// shrunk head leans on what many sources share, not on one source's
    /// sound.
    pub c: f64,
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            steps: 300,
            learning_rate: 0.05,
            c: 0.0001,
        }
    }
}

/// Standardisation + linear layer.
#[derive(Clone, Debug)]
pub struct LinearHead {
    pub dim: usize,
    pub classes: usize,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// `classes × dim`, row-major.
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl LinearHead {
    /// Trains on whole tracks, each `(patch embeddings, class, weight)`:
    /// every patch is a sample, and a track's weight is shared by its
    /// patches, so a long track weighs no more than a short one.
    pub fn train_on_tracks<'a>(
        tracks: impl IntoIterator<Item = (&'a [f32], usize, f32)>,
        dim: usize,
        classes: usize,
        opts: &HeadOptions,
    ) -> candle_core::Result<Self> {
        let (mut x, mut y, mut w) = (Vec::new(), Vec::new(), Vec::new());
        for (embeddings, class, weight) in tracks {
            let patches = embeddings.len() / dim;
            x.extend_from_slice(embeddings);
            y.extend(std::iter::repeat_n(class as u32, patches));
            w.extend(std::iter::repeat_n(weight / patches.max(1) as f32, patches));
        }
        Self::train(&x, &y, &w, dim, classes, opts)
    }

    /// Trains a head on `labels.len()` embeddings (`n × dim`). `weights`
    /// (one per embedding, e.g. 1 / patches of its track so a long track
    /// counts as much as a short one) are rescaled per class so every genre
    /// weighs the same in total: a large genre cannot win by size.
    pub fn train(
        embeddings: &[f32],
        labels: &[u32],
        weights: &[f32],
        dim: usize,
        classes: usize,
        opts: &HeadOptions,
    ) -> candle_core::Result<Self> {
        let n = labels.len();
        assert_eq!(weights.len(), n, "one weight per label");
        assert_eq!(embeddings.len(), n * dim, "one embedding per label");
        let mut mean = vec![0f64; dim];
        for row in embeddings.chunks_exact(dim) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += *v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let mut var = vec![0f64; dim];
        for row in embeddings.chunks_exact(dim) {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (*v as f64 - m).powi(2);
            }
        }
        let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
        let inv_std: Vec<f32> = var
            .iter()
            .map(|s| 1.0 / ((s / n.max(1) as f64).sqrt() as f32 + 1e-3))
            .collect();
        let mut head = Self {
            dim,
            classes,
            mean,
            inv_std,
            weight: vec![0.0; classes * dim],
            bias: vec![0.0; classes],
        };
        if n == 0 {
            return Ok(head);
        }
        let device = Device::Cpu;
        let x = Tensor::from_vec(head.standardise(embeddings), (n, dim), &device)?;
        let mut per_class = vec![0f64; classes];
        for (&l, &w) in labels.iter().zip(weights) {
            per_class[l as usize] += w as f64;
        }
        let present = per_class.iter().filter(|&&t| t > 0.0).count().max(1) as f64;
        // Each present class sums to n / present: weights average 1.
        let balanced: Vec<f32> = labels
            .iter()
            .zip(weights)
            .map(|(&l, &w)| (w as f64 * n as f64 / (present * per_class[l as usize])) as f32)
            .collect();
        // Each row of `target` is the patch's one-hot class times its
        // weight: with it the loss's gradient needs no automatic
        // differentiation (below).
        let mut target = vec![0f32; n * classes];
        for (i, (&l, &sw)) in labels.iter().zip(&balanced).enumerate() {
            target[i * classes + l as usize] = sw;
        }
        let sample_weight = Tensor::from_vec(balanced, (n, 1), &device)?;
        let target = Tensor::from_vec(target, (n, classes), &device)?;
        // ½‖W‖² + C·Σ losses, divided by C·n to work on the mean loss.
        let l2 = 1.0 / (opts.c * n as f64);
        // Small random start so runs with different seeds can differ; the
        // problem is convex, so they end in the same place.
        let mut rng = Rng::new(opts.seed);
        let init: Vec<f32> = (0..classes * dim).map(|_| rng.signed() * 1e-3).collect();
        let w = Var::from_tensor(&Tensor::from_vec(init, (classes, dim), &device)?)?;
        let b = Var::zeros(classes, DType::F32, &device)?;
        let mut opt = AdamW::new(
            vec![w.clone(), b.clone()],
            ParamsAdamW {
                lr: opts.learning_rate,
                weight_decay: 0.0,
                ..Default::default()
            },
        )?;
        // Large libraries step on mini-batches so a retrain stays a matter
        // of seconds; small sets (every shipped model) use all. The rows
        // are put in a seeded random order once, and the batches are
        // consecutive runs of it, taken in turn: a step reads its batch in
        // place instead of gathering a copy.
        let (x, sample_weight, target, batches) = if n > FULL_BATCH_UP_TO {
            let mut order: Vec<u32> = (0..n as u32).collect();
            for i in (1..n).rev() {
                order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            let order = Tensor::from_vec(order, n, &device)?;
            let count = n.div_ceil(MAX_BATCH);
            (
                x.index_select(&order, 0)?,
                sample_weight.index_select(&order, 0)?,
                target.index_select(&order, 0)?,
                Some((n.div_ceil(count), count)),
            )
        } else {
            (x, sample_weight, target, None)
        };
        for step in 0..opts.steps {
            // The step size falls linearly to zero: with the strong
            // shrinkage of the default C the optimal weights are small, and
            // a constant step keeps circling them instead of settling.
            opt.set_learning_rate(opts.learning_rate * (1.0 - step as f64 / opts.steps as f64));
            let (xb, wb, tb) = match batches {
                Some((size, count)) => {
                    let start = (step % count) * size;
                    let len = size.min(n - start);
                    (
                        x.narrow(0, start, len)?,
                        sample_weight.narrow(0, start, len)?,
                        target.narrow(0, start, len)?,
                    )
                }
                None => (x.clone(), sample_weight.clone(), target.clone()),
            };
            let (grad_w, grad_b) = loss_gradient(&xb, w.as_tensor(), b.as_tensor(), &wb, &tb, l2)?;
            let mut grads = GradStore::default();
            grads.insert(w.as_tensor(), grad_w);
            grads.insert(b.as_tensor(), grad_b);
            opt.step(&grads)?;
        }
        head.weight = w.as_tensor().flatten_all()?.to_vec1()?;
        head.bias = b.as_tensor().to_vec1()?;
        Ok(head)
    }

    fn standardise(&self, embeddings: &[f32]) -> Vec<f32> {
        embeddings
            .chunks_exact(self.dim)
            .flat_map(|row| {
                row.iter()
                    .zip(&self.mean)
                    .zip(&self.inv_std)
                    .map(|((v, m), s)| (v - m) * s)
            })
            .collect()
    }

    /// Softmax probabilities (`n × classes`) of `n × dim` embeddings.
    pub fn probabilities(&self, embeddings: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(embeddings.len() / self.dim.max(1) * self.classes);
        let x = self.standardise(embeddings);
        for row in x.chunks_exact(self.dim) {
            let logits: Vec<f32> = (0..self.classes)
                .map(|c| {
                    self.weight[c * self.dim..(c + 1) * self.dim]
                        .iter()
                        .zip(row)
                        .map(|(w, v)| w * v)
                        .sum::<f32>()
                        + self.bias[c]
                })
                .collect();
            let max = logits.iter().copied().fold(f32::MIN, f32::max);
            let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
            let sum: f32 = exp.iter().sum();
            out.extend(exp.iter().map(|e| e / sum));
        }
        out
    }

    /// Pushes the logits of classes not kept to -1e9 (never chosen).
    pub fn mask_classes(&mut self, keep: &[bool]) {
        for (b, k) in self.bias.iter_mut().zip(keep) {
            if !k {
                *b = -1e9;
            }
        }
    }

    /// Parameter count (weights, biases and the standardisation).
    pub fn parameters(&self) -> usize {
        self.weight.len() + self.bias.len() + 2 * self.dim
    }

    /// The tensors to save, by name.
    pub fn tensors(&self) -> candle_core::Result<HashMap<String, Tensor>> {
        let d = Device::Cpu;
        Ok(HashMap::from([
            (
                "head.weight".to_string(),
                Tensor::from_slice(&self.weight, (self.classes, self.dim), &d)?,
            ),
            (
                "head.bias".to_string(),
                Tensor::from_slice(&self.bias, self.classes, &d)?,
            ),
            (
                "head.mean".to_string(),
                Tensor::from_slice(&self.mean, self.dim, &d)?,
            ),
            (
                "head.inv_std".to_string(),
                Tensor::from_slice(&self.inv_std, self.dim, &d)?,
            ),
        ]))
    }

    /// Rebuilds a head from [`LinearHead::tensors`].
    pub fn from_tensors(map: &HashMap<String, Tensor>) -> candle_core::Result<Self> {
        let get = |name: &str| -> candle_core::Result<&Tensor> {
            map.get(name)
                .ok_or_else(|| candle_core::Error::Msg(format!("missing tensor {name}")))
        };
        let (classes, dim) = get("head.weight")?.dims2()?;
        let vec = |name: &str, len: usize| -> candle_core::Result<Vec<f32>> {
            let v: Vec<f32> = get(name)?.flatten_all()?.to_vec1()?;
            if v.len() != len {
                return Err(candle_core::Error::Msg(format!(
                    "tensor {name} has {} values, expected {len}",
                    v.len()
                )));
            }
            Ok(v)
        };
        Ok(Self {
            dim,
            classes,
            weight: vec("head.weight", classes * dim)?,
            bias: vec("head.bias", classes)?,
            mean: vec("head.mean", dim)?,
            inv_std: vec("head.inv_std", dim)?,
        })
    }
}

/// The gradient of the head's loss — the weighted mean cross-entropy of a
/// batch `x` (`rows × dim`) plus `l2`/2 ‖W‖² — with respect to the weights
/// `w` (`classes × dim`) and the bias `b`. `weight` is each row's weight
/// (`rows × 1`), `target` its one-hot class times that weight.
///
/// With respect to the logits the gradient is (softmax − one-hot) ×
/// weight / rows, so the weights' is its product with the batch and the
/// bias' its sum. Written out because automatic differentiation also works
/// out the gradient with respect to the embeddings, a batch-sized product
/// no step uses: it was half of each step's time.
fn loss_gradient(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    weight: &Tensor,
    target: &Tensor,
    l2: f64,
) -> candle_core::Result<(Tensor, Tensor)> {
    let logits = x.matmul(&w.t()?)?.broadcast_add(b)?;
    let probs = candle_nn::ops::softmax_last_dim(&logits)?;
    let per_logit = ((probs.broadcast_mul(weight)? - target)? / x.dim(0)? as f64)?;
    let grad_w = (per_logit.t()?.matmul(x)? + (w * l2)?)?;
    Ok((grad_w, per_logit.sum(0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The written-out gradient is the one automatic differentiation finds
    /// for the same loss (weighted cross-entropy + L2 on the weights).
    #[test]
    fn the_written_out_gradient_matches_automatic_differentiation() -> candle_core::Result<()> {
        let mut rng = Rng::new(11);
        let (rows, dim, classes) = (37, 5, 4);
        let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.signed() * 2.0).collect() };
        let dev = Device::Cpu;
        let x = Tensor::from_vec(draw(rows * dim), (rows, dim), &dev)?;
        let w = Var::from_tensor(&Tensor::from_vec(
            draw(classes * dim),
            (classes, dim),
            &dev,
        )?)?;
        let b = Var::from_tensor(&Tensor::from_vec(draw(classes), classes, &dev)?)?;
        let labels: Vec<u32> = (0..rows as u32)
            .map(|i| (i * 7 + 3) % classes as u32)
            .collect();
        let weights: Vec<f32> = (0..rows).map(|i| 0.5 + (i % 3) as f32).collect();
        let mut target = vec![0f32; rows * classes];
        for (i, (&l, &sw)) in labels.iter().zip(&weights).enumerate() {
            target[i * classes + l as usize] = sw;
        }
        let l2 = 0.3;
        let weight = Tensor::from_vec(weights.clone(), (rows, 1), &dev)?;
        let target = Tensor::from_vec(target, (rows, classes), &dev)?;
        let (grad_w, grad_b) =
            loss_gradient(&x, w.as_tensor(), b.as_tensor(), &weight, &target, l2)?;

        let logits = x
            .matmul(&w.as_tensor().t()?)?
            .broadcast_add(b.as_tensor())?;
        let logp = candle_nn::ops::log_softmax(&logits, 1)?;
        let y = Tensor::from_vec(labels, rows, &dev)?;
        let picked = logp.gather(&y.unsqueeze(1)?, 1)?.squeeze(1)?;
        let nll = (picked * Tensor::from_vec(weights, rows, &dev)?)?
            .mean_all()?
            .neg()?;
        let loss = (nll + (w.as_tensor().sqr()?.sum_all()? * (l2 / 2.0))?)?;
        let grads = loss.backward()?;
        let close = |a: &Tensor, b: &Tensor| -> candle_core::Result<f32> {
            (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
        };
        assert!(close(&grad_w, grads.get(w.as_tensor()).expect("w's gradient"))? < 1e-5);
        assert!(close(&grad_b, grads.get(b.as_tensor()).expect("b's gradient"))? < 1e-5);
        Ok(())
    }

    #[test]
    fn separable_clusters_are_learned_and_survive_a_round_trip() {
        let mut rng = Rng::new(3);
        let (dim, per) = (8, 40);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for c in 0..3u32 {
            for _ in 0..per {
                for d in 0..dim {
                    let centre = if d == c as usize { 5.0 } else { 0.0 };
                    x.push(centre + rng.signed() + 100.0);
                }
                y.push(c);
            }
        }
        let weights = vec![1.0; y.len()];
        let opts = HeadOptions {
            c: 1.0,
            ..Default::default()
        };
        let head = LinearHead::train(&x, &y, &weights, dim, 3, &opts).unwrap();
        let p = head.probabilities(&x);
        let right = y
            .iter()
            .enumerate()
            .filter(|(i, c)| crate::ml::vote::top(&p[i * 3..i * 3 + 3]).0 == **c as usize)
            .count();
        assert_eq!(right, y.len());
        let again = LinearHead::from_tensors(&head.tensors().unwrap()).unwrap();
        assert_eq!(again.probabilities(&x), p);
    }
}
