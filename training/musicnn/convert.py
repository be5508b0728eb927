#!/usr/bin/env python3
"""Converts musicnn's MSD checkpoint (TensorFlow 1) to safetensors in candle's layouts.

Usage: convert.py WHEEL OUT.safetensors

WHEEL is `musicnn-0.1.0-py3-none-any.whl` (pip download --no-deps musicnn==0.1.0).
The checkpoint inside it (musicnn/MSD_musicnn/) is read without TensorFlow: its
`.index` is a LevelDB-style sorted table whose values are BundleEntryProto
messages (dtype, shape, offset, size into `.data-00000-of-00001`). Only float
variables are kept; Adam slots and optimiser scalars are dropped.

Layouts written (what src/musicnn.rs loads):
  timbral / temporal convs   TF [time, freq, 1, out]  ->  candle conv2d [out, 1, time, freq]
  mid-end 1-D convs          TF [7, in, 1, out]       ->  candle conv1d [out, in, 7]
  dense kernels              TF [in, out]             ->  [out, in]
  batch-norm vectors         unchanged
The 50 MSD tag names go into the safetensors metadata ("tags", JSON). Pure Python
(struct only): the output is byte-for-byte reproducible."""
import ast
import json
import struct
import sys
import zipfile

CHECKPOINT = "musicnn/MSD_musicnn/"


def varint(buf, i):
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def block_entries(block):
    """(key, value) pairs of one table block; keys share prefixes with the previous key."""
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * n_restarts
    i, key = 0, b""
    while i < limit:
        shared, i = varint(block, i)
        fresh, i = varint(block, i)
        size, i = varint(block, i)
        key = key[:shared] + block[i:i + fresh]
        i += fresh
        yield key, block[i:i + size]
        i += size


def fields(msg):
    """(field number, value) of a protobuf message; varints as ints, the rest as bytes."""
    i = 0
    while i < len(msg):
        tag, i = varint(msg, i)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = varint(msg, i)
        elif wire == 1:
            value, i = msg[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(msg, i)
            value, i = msg[i:i + n], i + n
        elif wire == 5:
            value, i = msg[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wire} not expected in a checkpoint index")
        yield number, value


def read_checkpoint(index, data):
    """{name: (shape, f32 values)} of every float variable but optimiser state."""
    footer = index[-48:]
    _, j = varint(footer, 0)  # metaindex handle (unused)
    _, j = varint(footer, j)
    top_off, j = varint(footer, j)
    top_size, _ = varint(footer, j)
    tensors = {}
    for _, handle in block_entries(index[top_off:top_off + top_size]):
        off, j = varint(handle, 0)
        size, _ = varint(handle, j)
        for name, entry in block_entries(index[off:off + size]):
            name = name.decode()
            if not name or "Adam" in name or "power" in name:
                continue
            dtype, shape, offset, nbytes = None, [], 0, 0
            for number, value in fields(entry):
                if number == 1:
                    dtype = value
                elif number == 2:
                    for dim_number, dim in fields(value):
                        if dim_number == 2:
                            shape.append(dict(fields(dim)).get(1, 0))
                elif number == 4:
                    offset = value
                elif number == 5:
                    nbytes = value
            if dtype != 1:  # DT_FLOAT
                continue
            values = struct.unpack_from(f"<{nbytes // 4}f", data, offset)
            tensors[name] = (shape, values)
    return tensors


def transpose(values, shape, order):
    """values (row-major in `shape`) permuted so axis k of the result is axis order[k]."""
    out_shape = [shape[a] for a in order]
    strides = [1] * len(shape)
    for a in range(len(shape) - 2, -1, -1):
        strides[a] = strides[a + 1] * shape[a + 1]
    out = []

    def walk(axis, base):
        if axis == len(order):
            out.append(values[base])
            return
        step = strides[order[axis]]
        for k in range(out_shape[axis]):
            walk(axis + 1, base + k * step)

    walk(0, 0)
    return out_shape, out


def to_candle(name, shape, values):
    if name.endswith("/kernel") and len(shape) == 4:
        if shape[2] != 1:
            raise ValueError(f"{name}: unexpected kernel shape {shape}")
        if name.startswith(("conv2d/", "conv2d_1/", "conv2d_2/", "conv2d_3/", "conv2d_4/")):
            # [time, freq, 1, out] -> [out, 1, time, freq]
            shape, values = transpose(values, shape, [3, 2, 0, 1])
            return shape, values
        # [7, in, 1, out] -> [out, in, 7]
        shape, values = transpose(values, [shape[0], shape[1], shape[3]], [2, 1, 0])
        return shape, values
    if name.endswith("/kernel") and len(shape) == 2:
        return transpose(values, shape, [1, 0])
    return shape, values


def model_tags(wheel, model):
    source = wheel.read("musicnn/configuration.py").decode()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == model + "_LABELS":
            return ast.literal_eval(node.value)
    raise ValueError(model + "_LABELS not found in musicnn/configuration.py")


def main():
    wheel_path, dest = sys.argv[1], sys.argv[2]
    # Which of the wheel's models: MSD (the default backbone) or MTT.
    model = sys.argv[3] if len(sys.argv) > 3 else "MSD"
    checkpoint = CHECKPOINT.replace("MSD", model)
    with zipfile.ZipFile(wheel_path) as wheel:
        index = wheel.read(checkpoint + ".index")
        data = wheel.read(checkpoint + ".data-00000-of-00001")
        tags = model_tags(wheel, model)
    tensors = read_checkpoint(index, data)
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        shape, values = to_candle(name, *tensors[name])
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {
        "source": "musicnn 0.1.0 (PyPI wheel), " + checkpoint + ", ISC licence, MTG-UPF",
        "layout": "candle: conv2d [out,in,h,w], conv1d [out,in,k], dense [out,in]",
        "tags": json.dumps(tags),
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(dest, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for blob in blobs:
            out.write(blob)
    print(f"{len(tensors)} tensors, {offset} bytes of weights -> {dest}")


if __name__ == "__main__":
    main()
