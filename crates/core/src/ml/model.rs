//! The genre CNN (candle): architecture, deterministic init, batched
//! inference with embeddings, and model files (safetensors + JSON card).
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
//!
//! A model is a backbone and a head ([`Backbone`], [`Network`]): the
//! from-scratch CNN above, trained whole, or musicnn ([`crate::ml::musicnn`])
//! frozen, with a [`LinearHead`] on its embeddings. The card names the
//! backbone and its feature pipeline; a model made for other features than
//! this build computes is refused.

use crate::features::spectrogram::{self, MEL_BANDS, SLICE_COLUMNS};
use crate::features::{FeatureKind, PatchData};
use crate::ml::head::LinearHead;
use crate::ml::musicnn::{self, MusicnnNet};
use crate::ml::vote::Thresholds;
use crate::rng::Rng;
use candle_core::{D, DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors loading, saving or running a model; each names the model file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model {}: {source}", path.display())]
    Candle {
        path: PathBuf,
        source: candle_core::Error,
    },
    #[error("model {}: cannot read card: {reason}", path.display())]
    Card { path: PathBuf, reason: String },
    #[error(
        "model {}: made for features version {found}, this Sonotag computes version {expected} for its backbone; retrain it (sonotag train) or use a matching Sonotag",
        path.display()
    )]
    FeaturesVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("model {}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

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
                version: musicnn::FEATURES_VERSION,
                sample_rate: musicnn::SAMPLE_RATE,
                hop: musicnn::HOP,
                fft_size: musicnn::N_FFT,
                mel_bands: musicnn::MEL_BANDS,
                slice_columns: musicnn::PATCH_FRAMES,
                f_min: 0.0,
                f_max: musicnn::SAMPLE_RATE as f32 / 2.0,
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

/// Tracks and slices per class used in training.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassCount {
    pub tracks: usize,
    pub slices: usize,
}

/// How a model was made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// The exact command line.
    pub command: String,
    pub seed: u64,
    pub epochs: usize,
    pub best_epoch: usize,
    pub seconds: f64,
    /// Label sources (TSV files, or "library").
    pub sources: Vec<String>,
    pub per_class: BTreeMap<String, ClassCount>,
    /// What only the head was retrained on, when this is a head retrain.
    #[serde(default)]
    pub head_only: bool,
    /// Notes on what was tried.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The model card: everything needed to use and judge the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub name: String,
    pub format_version: u32,
    pub created: String,
    pub classes: Vec<String>,
    /// The network under the head (cards without one: the from-scratch CNN).
    #[serde(default)]
    pub backbone: Backbone,
    pub features: FeatureParams,
    /// Layer sizes of the from-scratch CNN (absent for pretrained backbones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    pub parameters: usize,
    /// Per patch (slice), backbone and head together.
    pub mflops_per_slice: f64,
    pub thresholds: Thresholds,
    /// True when the thresholds were calibrated on validation tracks.
    pub calibrated: bool,
    pub training: TrainingSummary,
    /// Metrics per evaluation set (e.g. "gtzan-mini eval").
    pub metrics: BTreeMap<String, serde_json::Value>,
}

/// The network a model's head sits on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Backbone {
    /// This project's CNN ([`GenreNet`]), trained whole on the user's genres.
    #[default]
    ScratchCnn,
    /// musicnn's MSD model, frozen. `weights` is a file name looked up next
    /// to the card, then among the shipped models; `sha256` records which
    /// conversion the head was trained on.
    MusicnnMsd { weights: String, sha256: String },
}

impl Backbone {
    /// The shipped musicnn backbone.
    pub fn musicnn_msd() -> Self {
        Backbone::MusicnnMsd {
            weights: "musicnn-msd.safetensors".into(),
            sha256: MUSICNN_SHA256.into(),
        }
    }

    /// The feature pipeline it reads.
    pub fn features(&self) -> FeatureKind {
        match self {
            Backbone::ScratchCnn => FeatureKind::DisplayMel,
            Backbone::MusicnnMsd { .. } => FeatureKind::MusicnnMel,
        }
    }

    /// Its name on the command line and in cards.
    pub fn name(&self) -> &'static str {
        match self {
            Backbone::ScratchCnn => "scratch-cnn",
            Backbone::MusicnnMsd { .. } => "musicnn-msd",
        }
    }

    /// Parses a `--backbone` value.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "scratch-cnn" => Some(Backbone::ScratchCnn),
            "musicnn-msd" => Some(Self::musicnn_msd()),
            _ => None,
        }
    }
}

/// SHA-256 of `models/musicnn-msd.safetensors` as
/// `training/musicnn/fetch-weights.sh` makes it.
pub const MUSICNN_SHA256: &str = "1875ddb7cac339926feba6dfa26b41ccdc9c65bb0e571e7d44f3aa99f43e2cd3";

/// A backbone with its head, ready to run.
pub enum Network {
    /// The from-scratch CNN (its head is part of it).
    Scratch(GenreNet),
    /// A frozen pretrained backbone and a linear head.
    Pretrained {
        backbone: Arc<MusicnnNet>,
        head: LinearHead,
    },
}

impl Network {
    /// Probabilities (`n × classes`) and embeddings (`n × dim`) of patches.
    pub fn infer(&self, data: &PatchData) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        match (self, data) {
            (Network::Scratch(net), PatchData::Slices(s)) => net.infer(s, INFER_BATCH),
            (Network::Pretrained { backbone, head }, PatchData::LogMel(p)) => {
                let e = backbone.forward(p)?.embeddings;
                Ok((head.probabilities(&e), e))
            }
            _ => Err(candle_core::Error::Msg(
                "patches of another feature pipeline than the model's".into(),
            )),
        }
    }

    /// Probabilities from stored embeddings (the head only).
    pub fn probabilities_from_embeddings(
        &self,
        embeddings: &[f32],
    ) -> candle_core::Result<Vec<f32>> {
        match self {
            Network::Scratch(net) => net.probabilities_from_embeddings(embeddings),
            Network::Pretrained { head, .. } => Ok(head.probabilities(embeddings)),
        }
    }

    /// Width of an embedding.
    pub fn embedding_dim(&self) -> usize {
        match self {
            Network::Scratch(net) => net.architecture().embedding,
            Network::Pretrained { .. } => musicnn::EMBEDDING,
        }
    }

    /// Output classes.
    pub fn classes(&self) -> usize {
        match self {
            Network::Scratch(net) => net.classes(),
            Network::Pretrained { head, .. } => head.classes,
        }
    }

    /// Trainable parameters (the head only, for a frozen backbone).
    pub fn parameters(&self) -> usize {
        match self {
            Network::Scratch(net) => net.parameters(),
            Network::Pretrained { head, .. } => head.parameters(),
        }
    }

    /// Multiply-adds ×2 per patch, in millions.
    pub fn mflops_per_patch(&self) -> f64 {
        match self {
            Network::Scratch(net) => net.architecture().flops(net.classes()) as f64 / 1e6,
            Network::Pretrained { backbone, head } => {
                (backbone.flops_per_patch() + 2 * (head.dim * head.classes) as u64) as f64 / 1e6
            }
        }
    }

    /// Trains a new head on stored embeddings (`n × dim`): what retraining
    /// from the user's corrections does. `weights` (one per embedding) let
    /// every track weigh the same; the from-scratch head balances classes
    /// by count instead.
    pub fn retrain_head(
        &mut self,
        embeddings: &[f32],
        labels: &[u32],
        weights: &[f32],
        classes: usize,
        seed: u64,
        steps: usize,
    ) -> candle_core::Result<()> {
        match self {
            Network::Scratch(net) => {
                crate::ml::scratch_training::train_head(
                    net, embeddings, labels, classes, seed, steps,
                )?;
            }
            Network::Pretrained { head, .. } => {
                let opts = crate::ml::head::HeadOptions {
                    seed,
                    steps,
                    ..Default::default()
                };
                *head = LinearHead::train(
                    embeddings,
                    labels,
                    weights,
                    musicnn::EMBEDDING,
                    classes,
                    &opts,
                )?;
            }
        }
        Ok(())
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

/// A model on disk: `NAME.safetensors` + `NAME.json`.
pub struct Model {
    pub card: ModelCard,
    pub net: Network,
    /// Path without extension.
    pub base: PathBuf,
}

/// `base` + extension (`models/default` → `models/default.json`).
pub fn with_ext(base: &Path, ext: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

impl Model {
    /// Loads `base.json` and `base.safetensors`, checking the feature version.
    pub fn load(base: &Path) -> Result<Self, ModelError> {
        let base = base
            .to_str()
            .and_then(|s| {
                s.strip_suffix(".json")
                    .or_else(|| s.strip_suffix(".safetensors"))
            })
            .map(PathBuf::from)
            .unwrap_or_else(|| base.to_path_buf());
        let card_path = with_ext(&base, "json");
        let text = std::fs::read_to_string(&card_path).map_err(|e| ModelError::Card {
            path: card_path.clone(),
            reason: e.to_string(),
        })?;
        let card: ModelCard = serde_json::from_str(&text).map_err(|e| ModelError::Card {
            path: card_path.clone(),
            reason: e.to_string(),
        })?;
        let kind = card.backbone.features();
        if card.features.version != kind.version() || card.features.kind != kind {
            return Err(ModelError::FeaturesVersion {
                path: card_path,
                found: card.features.version,
                expected: kind.version(),
            });
        }
        let weights = with_ext(&base, "safetensors");
        let candle = |source| ModelError::Candle {
            path: weights.clone(),
            source,
        };
        let net = match &card.backbone {
            Backbone::ScratchCnn => {
                let arch = card.architecture.clone().unwrap_or_default();
                let mut net = GenreNet::new(&arch, card.classes.len(), 0).map_err(candle)?;
                net.load_weights(&weights).map_err(candle)?;
                Network::Scratch(net)
            }
            Backbone::MusicnnMsd { weights: file, .. } => {
                let found = backbone_file(&base, file).ok_or_else(|| ModelError::Invalid {
                    path: card_path.clone(),
                    reason: format!(
                        "backbone weights {file} not found next to the model nor among the shipped models; \
                         training/musicnn/fetch-weights.sh rebuilds them"
                    ),
                })?;
                let backbone = musicnn::shared(&found).map_err(|e| ModelError::Invalid {
                    path: found.clone(),
                    reason: e.to_string(),
                })?;
                let map = candle_core::safetensors::load(&weights, &Device::Cpu).map_err(candle)?;
                let head = LinearHead::from_tensors(&map).map_err(candle)?;
                if head.classes != card.classes.len() || head.dim != musicnn::EMBEDDING {
                    return Err(ModelError::Invalid {
                        path: weights,
                        reason: format!(
                            "head has {} classes on {} inputs, the card lists {} classes",
                            head.classes,
                            head.dim,
                            card.classes.len()
                        ),
                    });
                }
                Network::Pretrained { backbone, head }
            }
        };
        Ok(Self { card, net, base })
    }

    /// Writes both files (creating the folder).
    pub fn save(&self, base: &Path) -> Result<(), ModelError> {
        if let Some(dir) = base.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| ModelError::Invalid {
                path: base.to_path_buf(),
                reason: format!("cannot create folder: {e}"),
            })?;
        }
        let weights = with_ext(base, "safetensors");
        let saved = match &self.net {
            Network::Scratch(net) => net.save_weights(&weights),
            Network::Pretrained { head, .. } => head
                .tensors()
                .and_then(|t| candle_core::safetensors::save(&t, &weights)),
        };
        saved.map_err(|source| ModelError::Candle {
            path: weights.clone(),
            source,
        })?;
        let card_path = with_ext(base, "json");
        let json = serde_json::to_string_pretty(&self.card).expect("card serialises");
        std::fs::write(&card_path, json + "\n").map_err(|e| ModelError::Card {
            path: card_path,
            reason: e.to_string(),
        })
    }

    /// Makes every class not in `genres` impossible (a forced choice among
    /// those, e.g. classical vs electronic). Unknown names are an error.
    pub fn restrict_to(&mut self, genres: &[String]) -> Result<(), ModelError> {
        for g in genres {
            if !self.card.classes.contains(g) {
                return Err(ModelError::Invalid {
                    path: self.base.clone(),
                    reason: format!("no genre {g} among {:?}", self.card.classes),
                });
            }
        }
        let keep: Vec<bool> = self
            .card
            .classes
            .iter()
            .map(|c| genres.contains(c))
            .collect();
        let result = match &mut self.net {
            Network::Scratch(net) => net.mask_classes(&keep),
            Network::Pretrained { head, .. } => {
                head.mask_classes(&keep);
                Ok(())
            }
        };
        result.map_err(|source| ModelError::Candle {
            path: self.base.clone(),
            source,
        })
    }

    /// Display name of class `i`.
    pub fn class(&self, i: usize) -> &str {
        &self.card.classes[i]
    }
}

/// Where a backbone's weights file lives: next to the model, else beside
/// the shipped default model.
fn backbone_file(model_base: &Path, file: &str) -> Option<PathBuf> {
    let beside = model_base.parent().map(|d| d.join(file));
    beside
        .filter(|p| p.is_file())
        .or_else(|| shipped_file(file))
}

/// `file` beside the shipped default model, when it exists.
fn shipped_file(file: &str) -> Option<PathBuf> {
    default_model_path()
        .parent()
        .map(|d| d.join(file))
        .filter(|p| p.is_file())
}

/// The shipped musicnn weights (`models/musicnn-msd.safetensors`), when present.
pub fn shipped_musicnn_weights() -> Option<PathBuf> {
    shipped_file("musicnn-msd.safetensors")
}

/// Today's date as YYYY-MM-DD (UTC), for cards.
pub fn today() -> String {
    let (y, m, d) = crate::store::civil_date(crate::store::now() / 86_400);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The default model shipped in `models/`, looked up next to the executable,
/// in the system share folder and in the source tree.
pub fn default_model_path() -> PathBuf {
    let candidates = [
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|p| p.join("../../models/default"))),
        Some(PathBuf::from("/usr/share/sonotag/models/default")),
        Some(crate::source_tree().join("models/default")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| with_ext(p, "json").exists())
        .unwrap_or_else(|| PathBuf::from("models/default"))
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

    #[test]
    fn date_format() {
        assert_eq!(today().len(), 10);
    }
}
