//! Where musicnn's time goes, layer by layer (`sonotag bench
//! --inference-only` prints it): each stage of a forward pass timed on its
//! own, the front end's convolutions on one core, patch after patch.

use super::*;
use std::time::Instant;

/// One stage of the forward pass: its work and time per patch.
pub struct LayerTime {
    pub name: String,
    pub mflop_per_patch: f64,
    pub ms_per_patch: f64,
}

impl MusicnnNet {
    /// Times each stage on `patches` (`n × 187 × 96` log-mel values).
    pub fn profile(&self, patches: &[f32]) -> candle_core::Result<Vec<LayerTime>> {
        let per = PATCH_FRAMES * MEL_BANDS;
        let n = patches.len() / per;
        let mut layers = Vec::new();
        let x = self.normalised(patches);
        for conv in self.front.iter().filter(|c| c.live() > 0) {
            let t0 = Instant::now();
            let mut out = vec![0f32; conv.live() * PATCH_FRAMES];
            for p in 0..n {
                conv.filters().forward(&x[p * per..(p + 1) * per], &mut out);
            }
            layers.push(LayerTime {
                name: format!("front {}×{} ({} live)", conv.kh, conv.kw, conv.live()),
                mflop_per_patch: conv.flops() as f64 / 1e6,
                ms_per_patch: t0.elapsed().as_secs_f64() * 1e3 / n as f64,
            });
        }
        let mut front = Vec::new();
        for chunk in patches.chunks(per * INFER_BATCH) {
            front.push((self.front_end(chunk, chunk.len() / per), chunk.len() / per));
        }
        let t0 = Instant::now();
        for (f, k) in front {
            self.back_end(self.mid_end(&f), k)?;
        }
        layers.push(LayerTime {
            name: "mid end (3 convolutions over time) and back end".into(),
            mflop_per_patch: self.mid_and_back_flops() as f64 / 1e6,
            ms_per_patch: t0.elapsed().as_secs_f64() * 1e3 / n as f64,
        });
        Ok(layers)
    }
}
