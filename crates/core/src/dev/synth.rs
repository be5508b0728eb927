//! Generated test signals and a minimal WAV writer.
//!
//! Benchmarks and tests make their own audio instead of shipping recordings:
//! tones, seeded noise, click rhythms and a "music-like" mix. Everything is
//! deterministic for a given seed.

use std::io::Write;
use std::path::Path;

use crate::rng::Rng;

/// A sine of `hz` at `amp`, `seconds` long at `rate`.
pub fn tone(hz: f32, seconds: f32, rate: u32, amp: f32) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    (0..n)
        .map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
        .collect()
}

/// White noise in [-amp, amp).
pub fn noise(seconds: f32, rate: u32, amp: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..(seconds * rate as f32) as usize)
        .map(|_| amp * rng.signed())
        .collect()
}

/// Band-limited noise: white noise through a one-pole low-pass at `cutoff_hz`.
pub fn low_noise(seconds: f32, rate: u32, cutoff_hz: f32, amp: f32, seed: u64) -> Vec<f32> {
    let a = (-2.0 * std::f32::consts::PI * cutoff_hz / rate as f32).exp();
    let mut y = 0.0;
    noise(seconds, rate, 1.0, seed)
        .into_iter()
        .map(|x| {
            y = a * y + (1.0 - a) * x;
            y * amp * 4.0
        })
        .collect()
}

/// Short decaying clicks every `period_s` seconds.
pub fn clicks(seconds: f32, rate: u32, period_s: f32, amp: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let n = (seconds * rate as f32) as usize;
    let period = (period_s * rate as f32) as usize;
    let decay = (rate as f32 * 0.01) as usize;
    (0..n)
        .map(|i| {
            let k = i % period.max(1);
            if k < decay {
                amp * rng.signed() * (1.0 - k as f32 / decay as f32)
            } else {
                0.0
            }
        })
        .collect()
}

/// A music-like stereo signal: a chord that changes every second, a bass,
/// a click rhythm and a little noise. Interleaved L/R.
pub fn music_like(seconds: f32, rate: u32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let n = (seconds * rate as f32) as usize;
    let beat = clicks(seconds, rate, 0.5, 0.3, seed);
    let mut out = Vec::with_capacity(n * 2);
    let mut chord = [220.0f32, 277.2, 329.6];
    for (i, click) in beat.iter().enumerate().take(n) {
        if i % rate as usize == 0 {
            let root = 110.0 * 2f32.powf((rng.unit() * 12.0).floor() / 12.0);
            chord = [root * 2.0, root * 2.52, root * 3.0];
        }
        let t = i as f32 / rate as f32;
        let pad: f32 = chord
            .iter()
            .map(|f| (2.0 * std::f32::consts::PI * f * t).sin())
            .sum::<f32>()
            * 0.12;
        let bass = (2.0 * std::f32::consts::PI * chord[0] / 4.0 * t).sin() * 0.2;
        let hiss = rng.signed() * 0.02;
        let l = pad + bass + click + hiss;
        let r = pad * 0.8 + bass + click * 0.9 + hiss;
        out.push(l);
        out.push(r);
    }
    out
}

/// Writes interleaved `samples` as a 16-bit PCM WAV file.
pub fn write_wav(path: &Path, samples: &[f32], rate: u32, channels: u16) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let data_len = (samples.len() * 2) as u32;
    f.write_all(b"RIFF")?;
    f.write_all(&(36 + data_len).to_le_bytes())?;
    f.write_all(b"WAVEfmt ")?;
    f.write_all(&16u32.to_le_bytes())?;
    f.write_all(&1u16.to_le_bytes())?;
    f.write_all(&channels.to_le_bytes())?;
    f.write_all(&rate.to_le_bytes())?;
    f.write_all(&(rate * channels as u32 * 2).to_le_bytes())?;
    f.write_all(&(channels * 2).to_le_bytes())?;
    f.write_all(&16u16.to_le_bytes())?;
    f.write_all(b"data")?;
    f.write_all(&data_len.to_le_bytes())?;
    for s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()
}
