#!/usr/bin/env python3
"""Sums `sonotag simulate-corrections` tables for the rule of
training/notes/library-thresholds-rule.md: points more than one track below
the first model on the same untouched tracks, mean accuracy at each k, and
the summed precision, over every library but `eval` (reported apart).

Usage: training/corrections-summary.py OUTPUT.txt [...]"""
import sys
from collections import defaultdict

def rows(path):
    for line in open(path):
        f = line.split()
        if len(f) not in (11, 12) or f[0] == "library" or not f[3].isdigit():
            continue
        right_before, untouched = map(int, f[8].split("/"))
        acc = 0.0 if f[5] == "–" else float(f[5].rstrip("%"))
        cov = 0.0 if f[6] == "–" else float(f[6].rstrip("%"))
        proposed = round(cov / 100 * untouched)
        right = round(acc / 100 * untouched)
        yield dict(lib=f[0], order=f[1], weight=f[2], k=int(f[3]), untouched=untouched,
                   right=right, proposed=proposed, before=right_before)

for path in sys.argv[1:]:
    groups = {"held-out sources": lambda r: r["lib"] != "eval", "GTZAN eval": lambda r: r["lib"] == "eval"}
    for name, keep in groups.items():
        rs = [r for r in rows(path) if keep(r) and r["untouched"] > 0]
        if not rs:
            continue
        falls = [r for r in rs if r["before"] - r["right"] > 1]
        by_k = defaultdict(list)
        for r in rs:
            by_k[r["k"]].append(r)
        means = ", ".join(
            f"k={k}: {100 * sum(r['right'] / max(r['untouched'], 1) for r in v) / len(v):.1f}%"
            for k, v in sorted(by_k.items()))
        right = sum(r["right"] for r in rs if r["k"] > 0)
        proposed = sum(r["proposed"] for r in rs if r["k"] > 0)
        print(f"{path} [{name}]: {len(falls)} of {len(rs)} points more than one track below "
              f"the first model; mean accuracy {means}; precision after corrections "
              f"{right}/{proposed} ({100 * right / max(proposed, 1):.1f}%)")
        for r in falls:
            print(f"    {r['lib']} {r['order']} k={r['k']}: {r['right']} right, first model {r['before']}")
