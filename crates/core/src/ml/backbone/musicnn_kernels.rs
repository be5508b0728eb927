//! musicnn's front-end convolutions as direct kernels, fused with their
//! bias, ReLU, batch-norm and max over frequency.
//!
//! The live filters are few (3 to 23 a convolution), so a matrix product
//! over an im2col matrix spent its time building and reading that matrix
//! (up to 12 MB a convolution a patch), not multiplying. Here each output
//! block is a run of adjacent positions (frames for the temporal filters,
//! frequency offsets for the timbral ones) held in registers while every
//! tap of the kernel is added in: one broadcast weight, one load and one
//! fused multiply-add per 8 or 16 lanes, from rows that stay in L1. The
//! same code is compiled three times, for AVX-512, for AVX2 with FMA and
//! for any x86-64 or other CPU, and the best the CPU has is chosen at run
//! time. Nothing is allocated per patch: each thread keeps its scratch rows.

use super::{Affine, MEL_BANDS, PATCH_FRAMES};
use std::cell::RefCell;

/// Output frames computed together by the temporal kernel: three blocks
/// cover the 187 frames of a patch.
const TIME_BLOCK: usize = 64;
const TIME_PADDED: usize = 3 * TIME_BLOCK;

/// Which instructions the kernels run with, chosen once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Avx512,
    Avx2,
    Baseline,
}

/// The best the CPU has, or what `SONOTAG_KERNELS` (`avx512`, `avx2` or
/// `baseline`) asks for among those, to measure each.
fn isa() -> Isa {
    static CHOSEN: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let best = best_isa();
        match std::env::var("SONOTAG_KERNELS").as_deref() {
            Ok("baseline") => Isa::Baseline,
            Ok("avx2") if best != Isa::Baseline => Isa::Avx2,
            _ => best,
        }
    })
}

fn best_isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Isa::Avx2;
        }
    }
    Isa::Baseline
}

thread_local! {
    /// Padded input rows, reused patch after patch.
    static ROWS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// One front-end convolution's live filters and what follows them.
pub(super) struct Filters<'a> {
    /// `[live][kh][kw]`.
    pub taps: &'a [f32],
    pub bias: &'a [f32],
    pub affine: &'a Affine,
    pub kh: usize,
    pub kw: usize,
    pub pad_before: usize,
}

impl Filters<'_> {
    fn live(&self) -> usize {
        self.bias.len()
    }

    /// `out` (`live × 187`, each channel's frames) for one normalised patch
    /// `x` (`187 × 96`, frame-major): each filter's batch-normed ReLU,
    /// max-pooled over frequency.
    pub fn forward(&self, x: &[f32], out: &mut [f32]) {
        self.forward_with(isa(), x, out)
    }

    fn forward_with(&self, isa: Isa, x: &[f32], out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.live() * PATCH_FRAMES);
        out.fill(f32::MIN);
        ROWS.with_borrow_mut(|rows| match (isa, self.kw > 1) {
            // SAFETY (each arm): the CPU has the features the function is
            // compiled for, as detected at run time.
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, false) => unsafe { temporal_avx512(self, x, rows, out) },
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, true) => unsafe { timbral_avx512(self, x, rows, out) },
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2, false) => unsafe { temporal_avx2(self, x, rows, out) },
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2, true) => unsafe { timbral_avx2(self, x, rows, out) },
            (_, false) => temporal::<false>(self, x, rows, out),
            (_, true) => timbral(self, x, rows, out),
        });
    }

    /// Bias, ReLU, batch-norm, then the running max into `slot`.
    #[inline(always)]
    fn pool(&self, c: usize, value: f32, slot: &mut f32) {
        let z = self.affine.apply(c, (value + self.bias[c]).max(0.0));
        if z > *slot {
            *slot = z;
        }
    }
}

/// `a × b + c`: fused where the CPU has FMA (one rounding, one
/// instruction), two operations where it may not (a fused multiply-add
/// without the instruction is a slow library call).
#[inline(always)]
fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { a.mul_add(b, c) } else { a * b + c }
}

/// Temporal filters (`kh × 1`): one band at a time, its frames in a padded
/// row; 64 output frames accumulate in registers over the kernel's taps.
#[inline(always)]
fn temporal<const FUSED: bool>(f: &Filters, x: &[f32], rows: &mut Vec<f32>, out: &mut [f32]) {
    let kh = f.kh;
    let row_len = TIME_PADDED + kh - 1;
    rows.clear();
    rows.resize(MEL_BANDS * row_len, 0.0);
    for t in 0..PATCH_FRAMES {
        for band in 0..MEL_BANDS {
            rows[band * row_len + f.pad_before + t] = x[t * MEL_BANDS + band];
        }
    }
    for row in rows.chunks_exact(row_len) {
        for c in 0..f.live() {
            let taps = &f.taps[c * kh..(c + 1) * kh];
            let channel = &mut out[c * PATCH_FRAMES..(c + 1) * PATCH_FRAMES];
            for block in 0..TIME_PADDED / TIME_BLOCK {
                let start = block * TIME_BLOCK;
                let mut acc = [0f32; TIME_BLOCK];
                for (dt, &w) in taps.iter().enumerate() {
                    let src: &[f32; TIME_BLOCK] =
                        row[start + dt..start + dt + TIME_BLOCK].try_into().unwrap();
                    for i in 0..TIME_BLOCK {
                        acc[i] = madd::<FUSED>(src[i], w, acc[i]);
                    }
                }
                let valid = TIME_BLOCK.min(PATCH_FRAMES - start);
                for i in 0..valid {
                    f.pool(c, acc[i], &mut channel[start + i]);
                }
            }
        }
    }
}

/// Timbral filters (`kh × kw`): for each group of `FRAMES` output frames,
/// every frequency offset of a block accumulates in registers over the
/// kernel's taps. Several frames share each broadcast weight and give the
/// multiply-adds enough independent chains to keep both FMA units busy;
/// how many fit in the registers depends on their width.
#[inline(always)]
fn timbral_blocked<
    const BLOCK: usize,
    const FRAMES: usize,
    const PAIRS: bool,
    const FUSED: bool,
>(
    f: &Filters,
    x: &[f32],
    rows: &mut Vec<f32>,
    out: &mut [f32],
) {
    let (kh, kw) = (f.kh, f.kw);
    let offsets = MEL_BANDS - kw + 1;
    debug_assert!(offsets <= BLOCK);
    // Each frame's bands, padded in time ('same', and for the last group)
    // and on the right so a block may read past the last band.
    let row_len = kw + BLOCK;
    let frames = PATCH_FRAMES + kh - 1 + FRAMES;
    rows.clear();
    rows.resize(frames * row_len, 0.0);
    for t in 0..PATCH_FRAMES {
        let row = (t + f.pad_before) * row_len;
        rows[row..row + MEL_BANDS].copy_from_slice(&x[t * MEL_BANDS..(t + 1) * MEL_BANDS]);
    }
    let taps_of = |c: usize| &f.taps[c * kh * kw..(c + 1) * kh * kw];
    let mut c = 0;
    // Two filters at a time, where the registers allow: each load feeds
    // two independent chains.
    while PAIRS && c + 1 < f.live() {
        let (taps_a, taps_b) = (taps_of(c), taps_of(c + 1));
        for t in (0..PATCH_FRAMES).step_by(FRAMES) {
            let mut acc_a = [[0f32; BLOCK]; FRAMES];
            let mut acc_b = [[0f32; BLOCK]; FRAMES];
            for dt in 0..kh {
                let (wa, wb) = (
                    &taps_a[dt * kw..(dt + 1) * kw],
                    &taps_b[dt * kw..(dt + 1) * kw],
                );
                for df in 0..kw {
                    for j in 0..FRAMES {
                        let at = (t + j + dt) * row_len + df;
                        let src: &[f32; BLOCK] = rows[at..at + BLOCK].try_into().unwrap();
                        for i in 0..BLOCK {
                            acc_a[j][i] = madd::<FUSED>(src[i], wa[df], acc_a[j][i]);
                            acc_b[j][i] = madd::<FUSED>(src[i], wb[df], acc_b[j][i]);
                        }
                    }
                }
            }
            for j in 0..FRAMES.min(PATCH_FRAMES - t) {
                for &v in &acc_a[j][..offsets] {
                    f.pool(c, v, &mut out[c * PATCH_FRAMES + t + j]);
                }
                for &v in &acc_b[j][..offsets] {
                    f.pool(c + 1, v, &mut out[(c + 1) * PATCH_FRAMES + t + j]);
                }
            }
        }
        c += 2;
    }
    for c in c..f.live() {
        let taps = taps_of(c);
        for t in (0..PATCH_FRAMES).step_by(FRAMES) {
            let mut acc = [[0f32; BLOCK]; FRAMES];
            for dt in 0..kh {
                for (df, &w) in taps[dt * kw..(dt + 1) * kw].iter().enumerate() {
                    for (j, acc) in acc.iter_mut().enumerate() {
                        let at = (t + j + dt) * row_len + df;
                        let src: &[f32; BLOCK] = rows[at..at + BLOCK].try_into().unwrap();
                        for i in 0..BLOCK {
                            acc[i] = madd::<FUSED>(src[i], w, acc[i]);
                        }
                    }
                }
            }
            for (j, acc) in acc.iter().enumerate().take(PATCH_FRAMES - t) {
                let slot = &mut out[c * PATCH_FRAMES + t + j];
                for &v in &acc[..offsets] {
                    f.pool(c, v, slot);
                }
            }
        }
    }
}

/// Width of the mid end's convolutions over time.
pub(super) const TIME_TAPS: usize = 7;

/// The mid end's 7-wide 'same' convolution over time: `out` (`outputs ×
/// 187`, overwritten) from `x` (`inputs × 187`), taps `[out][in][7]`. Two
/// outputs at a time, 64 frames a block in registers over every input and tap.
pub(super) fn time_conv(taps: &[f32], inputs: usize, x: &[f32], out: &mut [f32]) {
    time_conv_on(isa(), taps, inputs, x, out)
}

fn time_conv_on(isa: Isa, taps: &[f32], inputs: usize, x: &[f32], out: &mut [f32]) {
    ROWS.with_borrow_mut(|rows| match isa {
        // SAFETY (each arm): the CPU has the features, detected at run time.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { time_conv_avx512(taps, inputs, x, rows, out) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { time_conv_avx2(taps, inputs, x, rows, out) },
        _ => time_conv_with::<false>(taps, inputs, x, rows, out),
    })
}

#[inline(always)]
fn time_conv_with<const FUSED: bool>(
    taps: &[f32],
    inputs: usize,
    x: &[f32],
    rows: &mut Vec<f32>,
    out: &mut [f32],
) {
    let pad = TIME_TAPS / 2;
    let row_len = TIME_PADDED + TIME_TAPS - 1;
    rows.clear();
    rows.resize(inputs * row_len, 0.0);
    for (row, channel) in rows
        .chunks_exact_mut(row_len)
        .zip(x.chunks_exact(PATCH_FRAMES))
    {
        row[pad..pad + PATCH_FRAMES].copy_from_slice(channel);
    }
    let outputs = out.len() / PATCH_FRAMES;
    let per_output = inputs * TIME_TAPS;
    for o in (0..outputs).step_by(2) {
        let pair = o + 1 < outputs;
        let taps_a = &taps[o * per_output..(o + 1) * per_output];
        let taps_b = if pair {
            &taps[(o + 1) * per_output..(o + 2) * per_output]
        } else {
            taps_a
        };
        for block in 0..TIME_PADDED / TIME_BLOCK {
            let start = block * TIME_BLOCK;
            let mut acc_a = [0f32; TIME_BLOCK];
            let mut acc_b = [0f32; TIME_BLOCK];
            for (i, row) in rows.chunks_exact(row_len).enumerate() {
                for k in 0..TIME_TAPS {
                    let (wa, wb) = (taps_a[i * TIME_TAPS + k], taps_b[i * TIME_TAPS + k]);
                    let src: &[f32; TIME_BLOCK] =
                        row[start + k..start + k + TIME_BLOCK].try_into().unwrap();
                    for l in 0..TIME_BLOCK {
                        acc_a[l] = madd::<FUSED>(src[l], wa, acc_a[l]);
                        acc_b[l] = madd::<FUSED>(src[l], wb, acc_b[l]);
                    }
                }
            }
            let valid = TIME_BLOCK.min(PATCH_FRAMES - start);
            let at = o * PATCH_FRAMES + start;
            out[at..at + valid].copy_from_slice(&acc_a[..valid]);
            if pair {
                let at = (o + 1) * PATCH_FRAMES + start;
                out[at..at + valid].copy_from_slice(&acc_b[..valid]);
            }
        }
    }
}

/// The kernels compiled for one instruction set: for the timbral ones,
/// how many output frames a group and whether filters go in pairs, for
/// blocks of 64 and of 32 frequency offsets.
macro_rules! compiled_for {
    ($temporal:ident, $timbral:ident, $time_conv:ident, $features:literal,
     wide: $wf:literal frames $wp:literal pairs, narrow: $nf:literal frames $np:literal pairs) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $time_conv(
            taps: &[f32],
            inputs: usize,
            x: &[f32],
            rows: &mut Vec<f32>,
            out: &mut [f32],
        ) {
            time_conv_with::<true>(taps, inputs, x, rows, out)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $temporal(f: &Filters, x: &[f32], rows: &mut Vec<f32>, out: &mut [f32]) {
            temporal::<true>(f, x, rows, out)
        }

        #[cfg(target_arch = "x86_64")]
        unsafe fn $timbral(f: &Filters, x: &[f32], rows: &mut Vec<f32>, out: &mut [f32]) {
            #[target_feature(enable = $features)]
            unsafe fn wide(f: &Filters, x: &[f32], rows: &mut Vec<f32>, out: &mut [f32]) {
                timbral_blocked::<64, $wf, $wp, true>(f, x, rows, out)
            }
            #[target_feature(enable = $features)]
            unsafe fn narrow(f: &Filters, x: &[f32], rows: &mut Vec<f32>, out: &mut [f32]) {
                timbral_blocked::<32, $nf, $np, true>(f, x, rows, out)
            }
            // SAFETY: the caller checked the features.
            unsafe {
                if MEL_BANDS - f.kw + 1 > 32 {
                    wide(f, x, rows, out)
                } else {
                    narrow(f, x, rows, out)
                }
            }
        }
    };
}

// Frames a group and whether filters go in pairs, for blocks of 64 and of
// 32 offsets: as many accumulators as the registers hold (32 of 16 lanes
// with AVX-512, 16 of 8 with AVX2), leaving room for the loads.
compiled_for!(temporal_avx512, timbral_avx512, time_conv_avx512, "avx512f",
    wide: 2 frames true pairs, narrow: 1 frames true pairs);
compiled_for!(temporal_avx2, timbral_avx2, time_conv_avx2, "avx2,fma",
    wide: 1 frames false pairs, narrow: 1 frames true pairs);

/// Timbral filters without a vector extension known at compile time.
fn timbral(f: &Filters, x: &[f32], rows: &mut Vec<f32>, out: &mut [f32]) {
    if MEL_BANDS - f.kw + 1 > 32 {
        timbral_blocked::<64, 1, false, false>(f, x, rows, out)
    } else {
        timbral_blocked::<32, 1, false, false>(f, x, rows, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition: 'same' padding in time, valid in frequency.
    fn reference(f: &Filters, x: &[f32]) -> Vec<f32> {
        let offsets = MEL_BANDS - f.kw + 1;
        let mut out = vec![f32::MIN; f.live() * PATCH_FRAMES];
        for c in 0..f.live() {
            for t in 0..PATCH_FRAMES {
                for o in 0..offsets {
                    let mut sum = 0f64;
                    for dt in 0..f.kh {
                        let Some(frame) = (t + dt).checked_sub(f.pad_before) else {
                            continue;
                        };
                        if frame >= PATCH_FRAMES {
                            continue;
                        }
                        for df in 0..f.kw {
                            sum += f.taps[(c * f.kh + dt) * f.kw + df] as f64
                                * x[frame * MEL_BANDS + o + df] as f64;
                        }
                    }
                    f.pool(c, sum as f32, &mut out[c * PATCH_FRAMES + t]);
                }
            }
        }
        out
    }

    /// The instruction sets this CPU can run.
    fn usable() -> Vec<Isa> {
        [Isa::Avx512, Isa::Avx2, Isa::Baseline]
            .into_iter()
            .filter(|&i| match (best_isa(), i) {
                (Isa::Baseline, Isa::Baseline) => true,
                (Isa::Baseline, _) => false,
                (Isa::Avx2, Isa::Avx512) => false,
                _ => true,
            })
            .collect()
    }

    #[test]
    fn the_time_convolution_equals_its_definition_on_every_instruction_set() {
        let mut rng = crate::rng::Rng::new(6);
        // Odd output count: the last output has no pair.
        let (inputs, outputs) = (5, 3);
        let x: Vec<f32> = (0..inputs * PATCH_FRAMES).map(|_| rng.signed()).collect();
        let taps: Vec<f32> = (0..outputs * inputs * TIME_TAPS)
            .map(|_| rng.signed())
            .collect();
        for isa in usable() {
            let mut out = vec![0f32; outputs * PATCH_FRAMES];
            time_conv_on(isa, &taps, inputs, &x, &mut out);
            for o in 0..outputs {
                for t in 0..PATCH_FRAMES {
                    let mut sum = 0f64;
                    for i in 0..inputs {
                        for k in 0..TIME_TAPS {
                            let Some(s) = (t + k).checked_sub(TIME_TAPS / 2) else {
                                continue;
                            };
                            if s < PATCH_FRAMES {
                                sum += taps[(o * inputs + i) * TIME_TAPS + k] as f64
                                    * x[i * PATCH_FRAMES + s] as f64;
                            }
                        }
                    }
                    let got = out[o * PATCH_FRAMES + t];
                    assert!(
                        (got as f64 - sum).abs() < 1e-4,
                        "{isa:?} ({o}, {t}): {got} vs {sum}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_kernel_equals_the_plain_convolution_on_every_instruction_set() {
        let mut rng = crate::rng::Rng::new(5);
        let x: Vec<f32> = (0..PATCH_FRAMES * MEL_BANDS)
            .map(|_| rng.signed())
            .collect();
        let usable = usable();
        // The musicnn shapes, with odd and even numbers of live filters.
        for (kh, kw, live) in [(7, 38, 3), (7, 67, 4), (1, 86, 1), (128, 1, 3), (32, 1, 2)] {
            let taps: Vec<f32> = (0..live * kh * kw).map(|_| rng.signed() * 0.1).collect();
            let bias: Vec<f32> = (0..live).map(|_| rng.signed() * 0.5).collect();
            let affine = Affine {
                scale: (0..live)
                    .map(|c| if c % 2 == 0 { 1.5 } else { -0.7 })
                    .collect(),
                shift: (0..live).map(|_| rng.unit()).collect(),
            };
            let f = Filters {
                taps: &taps,
                bias: &bias,
                affine: &affine,
                kh,
                kw,
                pad_before: (kh - 1) / 2,
            };
            let expected = reference(&f, &x);
            for &isa in &usable {
                let mut out = vec![0f32; live * PATCH_FRAMES];
                f.forward_with(isa, &x, &mut out);
                for (i, (a, b)) in out.iter().zip(&expected).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-4 * (1.0 + b.abs()),
                        "{kh}×{kw} on {isa:?}, value {i}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
