#!/usr/bin/env python3
"""Would one of musicnn's VGG models (MTT_vgg, MSD_vgg) be a better listener
than the shipped MSD musicnn? (models/README.md, "Why no thresholds reach issue 19's
target"; the rule, written before the run: training/notes/vgg-rule.md.)

The VGG checkpoints of musicnn's wheel are five 3x3 convolutions of 128
filters over the same 3-s log-mel patch, trained on MagnaTagATune's or the
Million Song Dataset's 50 tags. The pool5 output (256 values) is the
embedding. This script runs one in numpy on the patches `sonotag embed` used (at most 30 evenly spaced per
track; the log-mel front end is musicnn's, from the reference tool), then
compares three views with the scikit-learn copy of the shipped head of
training/confidence-study.py, each non-GTZAN source and GTZAN's classical
and metal folders left out whole: MSD (shipped), the VGG, and the two side
by side. Each view's thresholds are chosen by Sonotag's rule (the most coverage
at 95 % precision overall and on the sources left out for at least a
quarter of the tracks, else the pair most precise on the sources left out
that still proposes for a quarter).

    python3 ../shared/tools/musicnn-reference/convert.py WHEEL_DIR/musicnn/MTT_vgg VGG.safetensors
    (or .../MSD_vgg; WHEEL_DIR: musicnn==0.1.0's wheel, unzipped)
    training/musicnn/vgg-study.py EMB.jsonl VGG.safetensors ../shared/tools/musicnn-reference [NAME]

NAME (MTT_vgg unless given) labels the VGG's rows.

EMB.jsonl: `sonotag embed` with the training command's three label files,
run from the repository root (its paths are relative to it). The VGG's
embeddings are kept beside it (EMB.jsonl.NAME) and reused. Needs numpy,
scikit-learn and ffmpeg; about 4 minutes on two cores.
"""
import importlib.util
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view as windows

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("study", HERE.parent / "confidence-study.py")
study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(study)

SLICE_GRID = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
TRACK_GRID = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]
reference = None
weights = None


def load(weights_path, reference_dir):
    global reference, weights
    sys.path.insert(0, reference_dir)
    import reference as ref  # noqa: E402

    reference = ref
    weights = ref.load_safetensors(weights_path)


def conv3x3(x, name):
    """'same' 3x3 convolution and ReLU on [batch, time, frequency, channels]."""
    k = weights[name + "/kernel"]
    b, h, w, c = x.shape
    patches = windows(np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), (3, 3), axis=(1, 2))
    y = np.ascontiguousarray(patches.transpose(0, 1, 2, 4, 5, 3)).reshape(b * h * w, 9 * c) @ k.reshape(9 * c, -1)
    return np.maximum(y.reshape(b, h, w, -1) + weights[name + "/bias"], 0)


def max_pool(x, size, stride):
    return windows(x, size, axis=(1, 2))[:, :: stride[0], :: stride[1]].max(axis=(4, 5))


def pool5(patches):
    """The VGG's forward pass up to its 256-value pool5, for [batch, 187, 96] log-mel patches."""
    bn = reference.batch_norm
    x = bn(patches[..., None], weights, "batch_normalization")
    pools = [((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4))]
    for layer, (size, stride) in enumerate(pools, start=1):
        x = max_pool(bn(conv3x3(x, f"{layer}CNN"), weights, f"batch_normalization_{layer}"), size, stride)
    return x.reshape(len(x), -1)


def embed(args):
    path, count = args
    patches = reference.to_patches(reference.log_mel(reference.decode(path)))
    chosen = study.plan(len(patches), 30)
    if len(chosen) != count:
        raise SystemExit(f"{path}: {len(chosen)} patches here, {count} in sonotag embed")
    return path, pool5(patches[chosen].astype(np.float32)).tolist()


def vgg_embeddings(rows, cache, weights_path, reference_dir):
    if os.path.exists(cache):
        return {r["path"]: np.array(r["pool5"], dtype=np.float32) for r in map(json.loads, open(cache))}
    jobs = [(r["path"], len(r["embeddings"])) for r in rows]
    out = {}
    with ProcessPoolExecutor(2, initializer=load, initargs=(weights_path, reference_dir)) as pool, open(
        cache, "w"
    ) as f:
        for path, emb in pool.map(embed, jobs):
            f.write(json.dumps({"path": path, "pool5": emb}) + "\n")
            out[path] = np.array(emb, dtype=np.float32)
    return out


def propose(probs, slice_threshold, track_threshold):
    """Sonotag's vote: (leading genre, whether it is proposed)."""
    p = study.voting_patches(probs)
    cast = np.bincount(p.argmax(1)[p.max(1) >= slice_threshold], minlength=p.shape[1])
    everyone = np.bincount(p.argmax(1), minlength=p.shape[1])
    leaders = np.flatnonzero(cast == cast.max()) if cast.sum() else np.arange(p.shape[1])
    leader = leaders[np.argmax(p.sum(0)[leaders])]
    proposed = cast.sum() > 0 and len(leaders) == 1 and cast.max() >= track_threshold * cast.sum()
    all_leaders = np.flatnonzero(everyone == everyone.max())
    return all_leaders[np.argmax(p.sum(0)[all_leaders])], leader, proposed


def compare(rows, genre_index, name):
    train = [r for r in rows if r["split"] != "eval"]
    evals = [r for r in rows if r["split"] == "eval"]
    whole = sorted(
        {r["source"] for r in train if not r["source"].startswith("gtzan") or r["source"] in study.WHOLE_GTZAN}
    )
    rest = [i for i, r in enumerate(train) if r["source"] not in whole]
    fold = {i: r["source"] for i, r in enumerate(train) if r["source"] in whole}
    fold.update({i: f"k{k % 10}" for k, i in enumerate(rest)})
    probs = {}
    for f in sorted(set(fold.values())):
        head = study.fit([r for i, r in enumerate(train) if fold[i] != f], genre_index)
        probs.update({r["path"]: head(r["x"]) for i, r in enumerate(train) if fold[i] == f})
    head = study.fit(train, genre_index)
    probs.update({r["path"]: head(r["x"]) for r in evals})
    unseen = [fold[i] in whole for i in range(len(train))]

    def tally(rows_, s, t):
        right = proposed = 0
        for r in rows_:
            _, leader, sure = propose(probs[r["path"]], s, t)
            proposed += sure
            right += sure and leader == genre_index[r["genre"]]
        return right, proposed

    candidates = []
    for s in SLICE_GRID:
        for t in TRACK_GRID:
            all_right, all_proposed = tally(train, s, t)
            u_right, u_proposed = tally([r for r, u in zip(train, unseen) if u], s, t)
            candidates.append((s, t, all_right, all_proposed, u_right, u_proposed))
    n_all, n_unseen = len(train), sum(unseen)
    reached = [
        c
        for c in candidates
        if c[3] and c[2] >= 0.95 * c[3] and c[5] and c[4] >= 0.95 * c[5] and c[3] >= 0.25 * n_all
    ]
    if reached:
        s, t = max(reached, key=lambda c: (c[3], c[2] / c[3]))[:2]
    else:
        s, t = max(
            (c for c in candidates if c[5] >= 0.25 * n_unseen),
            key=lambda c: (c[4] / c[5], c[3]),
        )[:2]
    others = [r for r in train if not r["source"].startswith("gtzan")]
    right, proposed = tally(others, s, t)
    leading = sum(propose(probs[r["path"]], 0, 0)[0] == genre_index[r["genre"]] for r in others)
    e_right, e_proposed = tally(evals, s, t)
    print(
        f"{name:15s} thresholds {s}/{t}: non-GTZAN {right} right of {proposed} proposed "
        f"({100 * right / max(proposed, 1):.1f}%), leading genre right {leading} of {len(others)}; "
        f"GTZAN eval {e_right} of {e_proposed} proposed, of {len(evals)}"
    )


def main():
    emb, weights_path, reference_dir = sys.argv[1:4]
    vgg_name = sys.argv[4] if len(sys.argv) > 4 else "MTT_vgg"
    rows = [json.loads(line) for line in open(emb)]
    load(weights_path, reference_dir)
    vgg = vgg_embeddings(rows, f"{emb}.{vgg_name}", weights_path, reference_dir)
    genre_index = {g: i for i, g in enumerate(sorted({r["genre"] for r in rows}))}
    views = {
        "MSD": lambda msd, v: msd,
        vgg_name: lambda msd, v: v,
        f"MSD+{vgg_name}": lambda msd, v: np.hstack([msd, v]),
    }
    for name, view in views.items():
        for r in rows:
            r["x"] = view(np.array(r["embeddings"], dtype=np.float32), vgg[r["path"]])
        compare(rows, genre_index, name)


if __name__ == "__main__":
    main()
