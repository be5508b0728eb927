#!/usr/bin/env python3
"""Prints, as JSON, every tag item of each file given, as mutagen parses it
raw: ID3 frames with their text encodings, Vorbis comments in order with
their keys' case, MP4 atoms, APE items, FLAC blocks and pictures.

The tag corpus test compares these before and after a genre write: an
independent reader, not the writer's own parser and not a generic view.
Genre fields are reported apart, under "genre"."""

import hashlib
import json
import sys

import mutagen
from mutagen.apev2 import APEv2
from mutagen.id3 import ID3

GENRE = {"tcon", "genre", "\xa9gen", "gnre"}


def digest(data):
    return "sha256:" + hashlib.sha256(bytes(data)).hexdigest()[:16]


def show(value):
    if isinstance(value, (bytes, bytearray)):
        return digest(value)
    if isinstance(value, (list, tuple)):
        return [show(v) for v in value]
    text = repr(value)
    return text if len(text) < 300 else digest(text.encode())


def dump(path):
    # "genre_values": each genre field as mutagen splits it into values,
    # [reader, [value, ...]], to check that several genres read back apart.
    out = {"items": [], "genre": [], "genre_values": []}
    try:
        f = mutagen.File(path)
    except Exception as e:  # noqa: BLE001 - any failure is the file's
        return {"error": f"{type(e).__name__}: {e}"}
    if f is None:
        return {"error": "not recognised"}
    out["type"] = type(f).__name__
    info = getattr(f, "info", None)
    out["info"] = {
        k: repr(getattr(info, k))
        for k in ("length", "sample_rate", "channels", "bits_per_sample")
        if hasattr(info, k)
    }

    def add(key, value):
        target = out["genre"] if str(key).split(":")[0].lower() in GENRE else out["items"]
        target.append([str(key), show(value)])

    tags = f.tags
    if isinstance(tags, ID3):
        out["id3_version"] = list(tags.version)
        for frame in tags.values():
            add(frame.HashKey, repr(frame))
        for frame in tags.getall("TCON"):
            out["genre_values"].append(["id3", [str(t) for t in frame.text]])
    elif tags is not None and hasattr(tags, "vendor"):
        out["vendor"] = tags.vendor
        for key, value in tags:
            add(key, value)
        values = [v for k, v in tags if k.lower() == "genre"]
        if values:
            out["genre_values"].append(["vorbis", values])
    elif tags is not None:
        for key in tags.keys():
            add(key, tags[key])
            if key == "\xa9gen":
                out["genre_values"].append(["mp4", [str(v) for v in tags[key]]])
    for picture in getattr(f, "pictures", []) or []:
        add("picture", [picture.type, picture.mime, digest(picture.data)])
    blocks = getattr(f, "metadata_blocks", None)
    if blocks is not None:
        out["blocks"] = [
            type(b).__name__
            for b in blocks
            if type(b).__name__ not in ("VCFLACDict", "Padding")
        ]
    chapters = getattr(f, "chapters", None)
    if chapters is not None:
        out["chapters"] = [[repr(c.start), c.title] for c in chapters]
    try:
        ape = APEv2(path)
        out["ape"] = []
        for key, value in ape.items():
            target = out["genre"] if key.lower() in GENRE else out["ape"]
            target.append([key, show(repr(value))])
            if key.lower() == "genre":
                out["genre_values"].append(["ape", list(value)])
    except Exception:  # noqa: BLE001 - no APE tag
        pass
    return out


if __name__ == "__main__":
    json.dump({p: dump(p) for p in sys.argv[1:]}, sys.stdout, indent=1)
