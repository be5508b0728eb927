//! musicnn's fast front end checked against candle's plain convolution.

use super::*;
use crate::features::musicnn_mel::{MelFrontEnd, SAMPLE_RATE};
use candle_core::D;

impl MusicnnNet {
    /// The same with candle's conv2d: the plain reference the fast front
    /// end is tested against.
    fn front_end_reference(&self, patches: &[f32], n: usize) -> candle_core::Result<Tensor> {
        let x = self.normalised(patches);
        let x = Tensor::from_vec(x, (n, 1, PATCH_FRAMES, MEL_BANDS), &self.device)?;
        let mut feats = Vec::with_capacity(self.front.len());
        for conv in self.front.iter().filter(|c| c.live() > 0) {
            let y = x
                .pad_with_zeros(2, conv.pad_before, conv.pad_after)?
                .conv2d(&conv.kernel, 0, 1, 1, 1)?
                .broadcast_add(&conv.bias)?
                .relu()?
                .broadcast_mul(&conv.scale)?
                .broadcast_add(&conv.shift)?
                .max(D::Minus1)?;
            feats.push(y);
        }
        Tensor::cat(&feats, 1)
    }
}

#[test]
fn fast_front_end_equals_candle_conv2d() {
    let path = crate::source_tree().join("models/musicnn-msd.safetensors");
    let net = MusicnnNet::load(&path).unwrap();
    let fe = MelFrontEnd::new();
    let audio = crate::dev::synth::music_like(7.0, SAMPLE_RATE, 11);
    let frames = fe.frames_centred(&audio);
    let per = PATCH_FRAMES * MEL_BANDS;
    let fast: Vec<f32> = net.front_end(&frames[..2 * per], 2);
    let reference: Vec<f32> = net
        .front_end_reference(&frames[..2 * per], 2)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(fast.len(), reference.len());
    for (a, b) in fast.iter().zip(&reference) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}
