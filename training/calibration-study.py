#!/usr/bin/env python3
"""How reliable are the calibrated voting thresholds? (models/README.md, "How stable
the thresholds are".)

Nested cross-validation on the training tracks only: the tracks are split
into 5 outer folds; for each, thresholds are calibrated on the other four
folds exactly as `sonotag train` does (10-fold out-of-fold votes of up to 6
patches, the slice x track grid, the most coverage at >= 95 % precision),
a head is trained on those four folds, and the outer fold is voted on with
those thresholds. --target sets the precision the out-of-fold votes must
reach (0.95, as `sonotag train --target-precision`). The pooled outer votes say what precision and coverage
the calibration really delivers on tracks it never saw, and the chosen
thresholds show how much they move with the sample.

Variants: --repeats R pools the out-of-fold votes of R different fold
assignments; --track-only fixes the slice threshold at 0.

The head is scikit-learn's logistic regression with the recipe of
crates/core/src/head.rs (standardised embeddings, C = 0.01, each track and
each genre weighing the same); its fold assignment differs from the Rust
one, so single thresholds can differ, not the behaviour.

Input: `sonotag embed --labels ... --out EMB.jsonl` (rows of split `eval`
are left out). Needs numpy and scikit-learn.
    training/calibration-study.py EMB.jsonl [--repeats R] [--track-only] [--target P]
"""
import argparse
import json
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")

SLICE_GRID = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
TRACK_GRID = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]
VOTING_PATCHES = 6


def evenly(e, n=VOTING_PATCHES):
    m = len(e)
    return e if m <= n else e[[(2 * i + 1) * m // (2 * n) for i in range(n)]]


class Study:
    def __init__(self, rows):
        genres = sorted({r["genre"] for r in rows})
        self.k = len(genres)
        self.x = [np.array(r["embeddings"], dtype=np.float32) for r in rows]
        self.y = np.array([genres.index(r["genre"]) for r in rows])

    def fit(self, idx):
        xs = np.concatenate([self.x[i] for i in idx])
        ys = np.concatenate([[self.y[i]] * len(self.x[i]) for i in idx])
        w = np.concatenate([[1 / len(self.x[i])] * len(self.x[i]) for i in idx])
        per_class = np.bincount(ys, weights=w, minlength=self.k)
        w = w * len(ys) / ((per_class > 0).sum() * per_class[ys])
        mean, std = xs.mean(0), xs.std(0) + 1e-3
        model = LogisticRegression(C=0.01, max_iter=100, tol=1e-3)
        model.fit((xs - mean) / std, ys, sample_weight=w)

        def probabilities(e):
            p = np.zeros((len(e), self.k))
            p[:, model.classes_] = model.predict_proba((e - mean) / std)
            return p

        return probabilities

    def vote(self, p, slice_th, track_th):
        confident = p.argmax(1)[p.max(1) >= slice_th]
        if len(confident) == 0:
            return None
        votes = np.bincount(confident, minlength=self.k)
        best = votes.max()
        if (votes == best).sum() > 1 or best / len(confident) < track_th:
            return None
        return votes.argmax()

    def folds(self, idx, k, seed):
        """Stratified by genre, round-robin across genres as transfer.rs does."""
        rng = np.random.default_rng(seed)
        fold, offset = {}, 0
        for c in range(self.k):
            members = [i for i in idx if self.y[i] == c]
            rng.shuffle(members)
            for j, i in enumerate(members):
                fold[i] = (offset + j) % k
            offset += len(members)
        return fold

    def out_of_fold(self, idx, k, seed):
        fold = self.folds(idx, k, seed)
        out = []
        for q in range(k):
            probabilities = self.fit([i for i in idx if fold[i] != q])
            out += [(probabilities(evenly(self.x[i])), self.y[i]) for i in idx if fold[i] == q]
        return out

    def calibrate(self, votes, track_only, target):
        best = None
        for s in [0.0] if track_only else SLICE_GRID:
            for t in TRACK_GRID:
                labelled = right = 0
                for p, truth in votes:
                    w = self.vote(p, s, t)
                    if w is not None:
                        labelled += 1
                        right += w == truth
                if labelled == 0 or right / labelled + 1e-6 < target:
                    continue
                key = (labelled / len(votes), right / labelled)
                if best is None or key > best[0]:
                    best = (key, (s, t))
        return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("embeddings")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--track-only", action="store_true")
    ap.add_argument("--target", type=float, default=0.95, help="precision the out-of-fold votes must reach")
    ap.add_argument("--outer-seeds", default="7,11")
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.embeddings)]
    rows = [r for r in rows if r["split"] != "eval"]
    study = Study(rows)
    everything = list(range(len(rows)))
    for outer_seed in map(int, args.outer_seeds.split(",")):
        outer = study.folds(everything, 5, outer_seed)
        labelled = right = 0
        chosen = []
        for q in range(5):
            train = [i for i in everything if outer[i] != q]
            votes = []
            for r in range(args.repeats):
                votes += study.out_of_fold(train, 10, 1000 * outer_seed + 100 * q + r)
            c = study.calibrate(votes, args.track_only, args.target)
            s, t = c[1] if c else (1.0, 1.0)
            chosen.append(f"{s:.1f}/{t:.2f} ({c[0][0]:.0%} covered)" if c else "none reaches the target")
            probabilities = study.fit(train)
            for i in everything:
                if outer[i] == q:
                    w = study.vote(probabilities(evenly(study.x[i])), s, t)
                    if w is not None:
                        labelled += 1
                        right += w == study.y[i]
        print(
            f"outer seed {outer_seed}: {len(rows)} tracks, precision {right / max(labelled, 1):.1%}, "
            f"coverage {labelled / len(rows):.1%}, accuracy {right / len(rows):.1%}; "
            f"thresholds chosen per outer fold: {', '.join(chosen)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
