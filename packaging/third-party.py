#!/usr/bin/env python3
"""Writes assets/THIRD-PARTY.md: every crate built into the Linux binary
(normal and build dependencies of the application, from `cargo metadata`)
with its version and licence, and what is bundled besides crates. The
window's About shows its summary and the .deb installs it. Run it after a
dependency changes; tests/third_party.rs fails until it has been.

    python3 packaging/third-party.py
"""
import collections
import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUNDLED = [
    ("musicnn MSD weights", "ISC", "Jordi Pons and Xavier Serra, Music Technology Group, Universitat Pompeu Fabra; models/musicnn-msd.LICENSE"),
    ("libopus", "BSD-3-Clause", "Xiph.Org and contributors; built from source by the opus crate"),
    ("SQLite", "public domain", "built from source by rusqlite"),
    ("Fira Sans", "OFL-1.1", "the window's font, bundled by iced"),
]


def crates():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked",
         "--filter-platform", "x86_64-unknown-linux-gnu"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    packages = {p["id"]: p for p in meta["packages"]}
    workspace = set(meta["workspace_members"])
    root = next(i for i in workspace if packages[i]["name"] == "sonotag")
    seen, todo = set(), [root]
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        for d in nodes[i]["deps"]:
            if any(k["kind"] in (None, "build") for k in d["dep_kinds"]):
                todo.append(d["pkg"])
    return sorted(
        ((packages[i]["name"], packages[i]["version"], packages[i].get("license") or "see its files")
         for i in seen - workspace),
        key=lambda c: (c[0].lower(), c[1]))


def main():
    listed = crates()
    by_licence = collections.Counter(l for _, _, l in listed)
    out = ["# Third-party components", "",
           "Sonotag is MIT-licensed (`LICENSE`). It is built from the crates below and "
           "ships what the first table names. Made by `packaging/third-party.py`.", "",
           "## Bundled besides the crates", "", "| component | licence | from |", "|---|---|---|"]
    out += [f"| {n} | {l} | {f} |" for n, l, f in BUNDLED]
    out += ["", f"## Crates ({len(listed)})", "",
            "By licence: " + "; ".join(f"{l}: {c}" for l, c in by_licence.most_common()) + ".", "",
            "| crate | version | licence |", "|---|---|---|"]
    out += [f"| {n} | {v} | {l} |" for n, v, l in listed]
    (ROOT / "assets" / "THIRD-PARTY.md").write_text("\n".join(out) + "\n")
    print(f"assets/THIRD-PARTY.md: {len(listed)} crates")


if __name__ == "__main__":
    main()
