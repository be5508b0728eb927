#!/usr/bin/env python3
"""Writes the musicnn golden fixture and the reference values the Rust test checks.

Usage: golden.py REFERENCE_DIR   (../shared/tools/musicnn-reference, with reference.py)
Run from the repository root. Writes:
  tests/fixtures/musicnn-golden.wav   7 s of synthetic music, 16 kHz mono 16-bit (seeded:
                                      chords with harmonics, a kick, noise hats, a bass line)
  tests/fixtures/musicnn-golden.json  from the numpy reference forward pass on that file:
                                      log-mel rows, per-frame sums, and per patch the 200-d
                                      embedding and the 50 tags.
The WAV is already at musicnn's rate, so no resampler stands between the two decoders."""
import json
import struct
import sys
import wave

import numpy as np

sys.path.insert(0, sys.argv[1])
import reference  # noqa: E402

SR, SECONDS = 16000, 7.0
WAV = "tests/fixtures/musicnn-golden.wav"
OUT = "tests/fixtures/musicnn-golden.json"
FRAMES = [0, 1, 2, 93, 186, 187, 250, 373, 437]


def synth():
    rng = np.random.default_rng(7)
    t = np.arange(int(SR * SECONDS)) / SR
    y = np.zeros_like(t)
    chords = [[220.0, 277.18, 329.63], [196.0, 246.94, 293.66], [174.61, 220.0, 261.63], [164.81, 207.65, 246.94]]
    for i, chord in enumerate(chords * 2):
        seg = (t >= i * 0.875) & (t < (i + 1) * 0.875)
        for f in chord:
            for h in range(1, 6):
                y[seg] += 0.04 / h * np.sin(2 * np.pi * f * h * t[seg])
    for beat in np.arange(0, SECONDS, 0.4375):
        k = (t >= beat) & (t < beat + 0.15)
        tt = t[k] - beat
        y[k] += 0.5 * np.sin(2 * np.pi * (50 + 80 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 20)
        h = (t >= beat + 0.21875) & (t < beat + 0.26875)
        y[h] += 0.08 * rng.standard_normal(h.sum()) * np.exp(-(t[h] - beat - 0.21875) * 60)
    bass = [55.0, 49.0, 43.65, 41.2]
    for i, f in enumerate(bass * 2):
        seg = (t >= i * 0.875) & (t < (i + 1) * 0.875)
        y[seg] += 0.15 * np.sign(np.sin(2 * np.pi * f * t[seg])) * 0.5
    y /= np.max(np.abs(y)) * 1.1
    return np.round(y * 32767).astype("<i2")


def main():
    pcm = synth()
    with wave.open(WAV, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())
    weights = reference.load_safetensors("models/musicnn-msd.safetensors")
    # reference.py reads TensorFlow layouts; undo the candle transposes for it.
    tf = {}
    for name, v in weights.items():
        if name.endswith("/kernel") and v.ndim == 4:
            v = v.transpose(2, 3, 1, 0)
        elif name.endswith("/kernel") and v.ndim == 3:
            v = v.transpose(2, 1, 0)[:, :, None, :]
        elif name.endswith("/kernel"):
            v = v.T
        tf[name] = np.ascontiguousarray(v)
    mel = reference.log_mel(reference.decode(WAV))
    patches = reference.to_patches(mel)
    out = reference.forward(tf, patches)
    json.dump({
        "file": WAV,
        "frames": int(mel.shape[0]),
        "patches": int(patches.shape[0]),
        "log_mel_rows": {str(f): mel[f].round(6).tolist() for f in FRAMES},
        "log_mel_frame_sums": mel.sum(axis=1).round(5).tolist(),
        "penultimate": out["penultimate"].round(6).tolist(),
        "tags": out["tags"].round(6).tolist(),
    }, open(OUT, "w"))
    print(f"{WAV}: {mel.shape[0]} frames, {patches.shape[0]} patches -> {OUT}")


if __name__ == "__main__":
    main()
