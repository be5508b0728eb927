//! Figures for the networks: inference speed of the from-scratch CNN and of
//! musicnn, and how long training a head takes.

use super::*;

/// Slices per second through the network, batch 64, all cores.
pub fn bench_inference(architectures: &[Architecture]) -> anyhow::Result<()> {
    let n = 1024;
    let mut rng = crate::rng::Rng::new(1);
    let slices: Vec<u8> = (0..n * 128 * 128)
        .map(|_| (rng.next_u64() % 256) as u8)
        .collect();
    for arch in architectures {
        let net = GenreNet::new(arch, 11, 1)?;
        net.infer(
            &slices[..64 * 128 * 128],
            crate::ml::scratch_cnn::INFER_BATCH,
        )?; // warm-up
        for batch in [32, 64, 128, 256] {
            let t0 = Instant::now();
            net.infer(&slices, batch)?;
            let secs = t0.elapsed().as_secs_f64();
            println!(
                "inference {:?} pool {} batch {batch}: {:.1} MFLOP/slice, {:.0} slices/s",
                arch.channels,
                arch.input_pool,
                arch.flops(11) as f64 / 1e6,
                n as f64 / secs
            );
        }
    }
    Ok(())
}

/// musicnn patches per second (backbone and head), batches of
/// [`crate::ml::backbone::musicnn::INFER_BATCH`], all cores.
pub fn bench_musicnn_inference() -> anyhow::Result<()> {
    let Some(weights) = crate::ml::model::shipped_musicnn_weights() else {
        println!("musicnn inference: skipped (models/musicnn-msd.safetensors not found)");
        return Ok(());
    };
    let net = crate::ml::backbone::musicnn::MusicnnNet::load(&weights)?;
    let per = crate::features::musicnn_mel::PATCH_FRAMES * crate::features::musicnn_mel::MEL_BANDS;
    let front_end = crate::features::musicnn_mel::MelFrontEnd::new();
    let audio = synth::music_like(64.0 * 3.0, crate::features::musicnn_mel::SAMPLE_RATE, 9);
    let frames = front_end.frames_centred(&audio);
    let n = frames.len() / per;
    net.forward(&frames[..per * 8])?; // warm-up
    let t0 = Instant::now();
    net.forward(&frames[..n * per])?;
    let secs = t0.elapsed().as_secs_f64();
    let (live, all) = net.live_filters();
    let gflops = n as f64 * net.flops_per_patch() as f64 / secs / 1e9;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let peak = fma_peak_gflops();
    println!(
        "musicnn inference: {n} patches in {secs:.2} s = {:.1} patches/s ({:.0} MFLOP/patch, {live} of {all} front-end filters live)",
        n as f64 / secs,
        net.flops_per_patch() as f64 / 1e6
    );
    println!(
        "  = {gflops:.1} GFLOP/s; a plain f32 FMA loop reaches {peak:.1} GFLOP/s a core × {cores} cores = {:.0} GFLOP/s, so the network runs at {:.0} % of that",
        peak * cores as f64,
        100.0 * gflops / (peak * cores as f64)
    );
    println!(
        "  where the time goes (front-end convolutions on one core; the rest as inference runs it):"
    );
    for layer in net.profile(&frames[..n.min(64) * per])? {
        println!(
            "    {:<52} {:>6.1} MFLOP {:>6.2} ms a patch = {:>5.1} GFLOP/s",
            layer.name,
            layer.mflop_per_patch,
            layer.ms_per_patch,
            layer.mflop_per_patch / layer.ms_per_patch
        );
    }
    let t0 = Instant::now();
    front_end.frames_centred(&audio);
    println!(
        "musicnn front end: {:.0} s of audio in {:.3} s",
        audio.len() as f64 / crate::features::musicnn_mel::SAMPLE_RATE as f64,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One core's f32 multiply-add rate, measured: many independent
/// accumulators, so the loop is bound by the FMA units, not by latency or
/// memory. With the widest vector extension the CPU has (AVX-512, else AVX2
/// with FMA, detected at run time, as the network's kernels choose) it is
/// what vectorised kernels can reach; otherwise the baseline SSE rate.
pub fn fma_peak_gflops() -> f64 {
    const ROUNDS: usize = 2_000_000;
    let t0 = Instant::now();
    #[cfg(target_arch = "x86_64")]
    let lanes = if is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has the features the function is compiled for.
        unsafe { fma_loop_avx512(ROUNDS) }
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: as above.
        unsafe { fma_loop_avx2(ROUNDS) }
    } else {
        fma_rounds::<96>(ROUNDS)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let lanes = fma_rounds::<96>(ROUNDS);
    let secs = t0.elapsed().as_secs_f64();
    (2 * lanes * ROUNDS) as f64 / secs / 1e9
}

/// `LANES` accumulators: twelve vector registers' worth, enough to hide the
/// FMA latency on both units.
#[inline(always)]
fn fma_rounds<const LANES: usize>(rounds: usize) -> usize {
    let mut acc = [0.0f32; LANES];
    let a = std::hint::black_box([1.000_001f32; LANES]);
    let b = std::hint::black_box([0.999_999f32; LANES]);
    for _ in 0..rounds {
        for k in 0..LANES {
            acc[k] = acc[k].mul_add(a[k], b[k]);
        }
    }
    std::hint::black_box(acc);
    LANES
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_loop_avx2(rounds: usize) -> usize {
    fma_rounds::<96>(rounds)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_loop_avx512(rounds: usize) -> usize {
    fma_rounds::<192>(rounds)
}

/// Head retraining on `tracks` tracks' stored embeddings (30 slices each,
/// synthetic values, 11 genres), as `sonotag retrain` does it.
pub fn bench_retrain_head(tracks: usize) -> anyhow::Result<()> {
    let mut net = GenreNet::new(&Architecture::default(), 11, 1)?;
    let dim = net.architecture().embedding;
    let mut rng = crate::rng::Rng::new(2);
    let n = tracks * 30;
    let labels: Vec<u32> = (0..n).map(|i| ((i / 30) % 11) as u32).collect();
    let embeddings: Vec<f32> = (0..n * dim)
        .map(|i| {
            rng.unit()
                + if (i % dim) == labels[i / dim] as usize {
                    1.0
                } else {
                    0.0
                }
        })
        .collect();
    let t0 = Instant::now();
    let opts = crate::ml::corrections::RetrainOptions::default();
    net.train_head(&embeddings, &labels, 11, opts.seed, opts.epochs)?;
    println!(
        "retrain head: {tracks} tracks × 30 slices of embeddings, {} steps in {:.2} s",
        opts.epochs,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Head retraining on musicnn embeddings of `tracks` tracks (6 patches
/// each, synthetic values, 11 genres), as `sonotag retrain` does it for the
/// default model.
pub fn bench_retrain_musicnn_head(tracks: usize) -> anyhow::Result<()> {
    let dim = crate::ml::backbone::musicnn::EMBEDDING;
    let per = crate::ml::look::FIRST_LOOK;
    let n = tracks * per;
    let mut rng = crate::rng::Rng::new(3);
    let labels: Vec<u32> = (0..n).map(|i| ((i / per) % 11) as u32).collect();
    let embeddings: Vec<f32> = (0..n * dim)
        .map(|i| rng.unit() + f32::from(u8::from((i % dim) == labels[i / dim] as usize)))
        .collect();
    let weights = vec![1.0 / per as f32; n];
    let opts = crate::ml::head::HeadOptions::default();
    let t0 = Instant::now();
    crate::ml::head::LinearHead::train(&embeddings, &labels, &weights, dim, 11, &opts)?;
    println!(
        "retrain musicnn head: {tracks} tracks × {per} patches of embeddings, {} steps in {:.2} s",
        opts.steps,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
