//! Streaming mono resampling with rubato's FFT resampler (band-limited, not
//! nearest-sample), its filter delay hidden so output sample `n` is input
//! time `n / rate`.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler as _};

/// Streaming mono resampler to a target rate that hides rubato's delay.
pub struct Resampler {
    inner: Fft<f32>,
    ratio: f64,
    /// Output frames still to drop (the filter delay).
    delay_left: usize,
    /// Input frames consumed so far, to know how much output is owed at the end.
    input_total: usize,
    output_total: usize,
    out_buf: Vec<f32>,
}

impl Resampler {
    const CHUNK: usize = 4096;

    /// A resampler from `source_rate` to `rate` Hz.
    pub fn new(source_rate: u32, rate: u32) -> Result<Self, rubato::ResamplerConstructionError> {
        let inner = Fft::<f32>::new(
            source_rate as usize,
            rate as usize,
            Self::CHUNK,
            1,
            FixedSync::Input,
        )?;
        let delay_left = inner.output_delay();
        let out_buf = vec![0.0; inner.output_frames_max()];
        Ok(Self {
            ratio: rate as f64 / source_rate as f64,
            inner,
            delay_left,
            input_total: 0,
            output_total: 0,
            out_buf,
        })
    }

    /// Forgets the signal so far (after a seek).
    pub fn reset(&mut self) {
        self.inner.reset();
        self.delay_left = self.inner.output_delay();
        self.input_total = 0;
        self.output_total = 0;
    }

    /// Consumes whole chunks of `input` (all of it when `flush`), returning
    /// the resampled output with the filter delay removed.
    pub fn process(&mut self, input: &mut Vec<f32>, flush: bool) -> Vec<f32> {
        let mut out = Vec::new();
        let mut consumed = 0;
        loop {
            let need = self.inner.input_frames_next();
            let left = input.len() - consumed;
            let partial = if left >= need {
                None
            } else if flush && left > 0 {
                Some(left)
            } else {
                break;
            };
            let chunk = &input[consumed..consumed + partial.unwrap_or(need)];
            let frames = self.run(chunk, partial, &mut out);
            consumed += chunk.len();
            self.input_total += chunk.len();
            if frames == 0 {
                break;
            }
        }
        input.drain(..consumed);
        if flush {
            // Push silence until the output owed for every input frame is out.
            let owed = (self.input_total as f64 * self.ratio).round() as usize;
            let mut guard = 0;
            while self.output_total < owed && guard < 16 {
                self.run(&[], Some(0), &mut out);
                guard += 1;
            }
            if self.output_total > owed {
                out.truncate(out.len() - (self.output_total - owed));
                self.output_total = owed;
            }
        }
        out
    }

    fn run(&mut self, chunk: &[f32], partial: Option<usize>, out: &mut Vec<f32>) -> usize {
        let need = self.inner.input_frames_next();
        let padded;
        let input: &[f32] = if chunk.len() < need {
            let mut p = chunk.to_vec();
            p.resize(need, 0.0);
            padded = p;
            &padded
        } else {
            chunk
        };
        let Ok(adapter_in) = InterleavedSlice::new(input, 1, need) else {
            return 0;
        };
        let frames_max = self.out_buf.len();
        let Ok(mut adapter_out) = InterleavedSlice::new_mut(&mut self.out_buf, 1, frames_max)
        else {
            return 0;
        };
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let Ok((_, produced)) =
            self.inner
                .process_into_buffer(&adapter_in, &mut adapter_out, indexing.as_ref())
        else {
            return 0;
        };
        let drop = self.delay_left.min(produced);
        self.delay_left -= drop;
        out.extend_from_slice(&self.out_buf[drop..produced]);
        self.output_total += produced - drop;
        produced
    }
}
