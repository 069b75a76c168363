#!/usr/bin/python3
"""Writes the large generated models of the scaling benchmarks (BENCHMARKS.md):
transformer-shaped weight sets of about 10M, 100M and 1B parameters as a
float32 safetensors parent, a derived child (parent plus 2% noise) as GGUF
Q8_0, the 1B parent also as float32 GGUF (a 4 GB GGUF for `inspect`), and a
1 GB ONNX file with external data. Values are seeded Gaussians, not trained
weights: the benchmarks time reading and comparing, not accuracy.
    /usr/bin/python3 scripts/gen_large_models.py OUT_DIR [10m 100m 1b onnx]
Needs Debian's python3-numpy (and python3-onnx for the ONNX file)."""
import json
import os
import struct
import sys

import numpy as np

out = sys.argv[1]
which = sys.argv[2:] or ["10m", "100m", "1b", "onnx", "resnet18"]
os.makedirs(out, exist_ok=True)
SIZES = {"10m": (256, 12), "100m": (768, 14), "1b": (2048, 20)}  # (d, layers): 12 d^2 parameters per layer


def layer_shapes(d, layers):
    for i in range(layers):
        for name in ("q", "k", "v", "o"):
            yield "blk.%d.attn_%s.weight" % (i, name), (d, d)
        yield "blk.%d.ffn_up.weight" % i, (4 * d, d)
        yield "blk.%d.ffn_down.weight" % i, (d, 4 * d)


def tensors(d, layers, seed, noise_of=None):
    rng = np.random.default_rng(seed)
    for name, shape in layer_shapes(d, layers):
        w = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
        yield name, shape, w


def write_safetensors(path, d, layers, seed):
    header, offset = {}, 0
    for name, shape in layer_shapes(d, layers):
        size = 4 * shape[0] * shape[1]
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for _, _, w in tensors(d, layers, seed):
            f.write(w.tobytes())


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def q8_0(w):
    blocks = w.reshape(-1, 32)
    d = (np.abs(blocks).max(axis=1) / 127).astype(np.float16)
    d[d == 0] = 1
    q = np.clip(np.round(blocks / d.astype(np.float32)[:, None]), -128, 127).astype(np.int8)
    rec = np.empty(len(blocks), dtype=[("d", "<f2"), ("q", "i1", (32,))])
    rec["d"], rec["q"] = d, q
    return rec.tobytes()


def write_gguf(path, d, layers, seed, quantize, noise):
    type_id, per_elem = (8, 34 / 32) if quantize else (0, 4)
    infos, offset = b"", 0
    for name, shape in layer_shapes(d, layers):
        ne = list(reversed(shape))
        infos += gguf_string(name) + struct.pack("<I", 2) + b"".join(struct.pack("<Q", n) for n in ne)
        infos += struct.pack("<IQ", type_id, offset)
        size = int(shape[0] * shape[1] * per_elem)
        offset += size + (32 - size % 32) % 32
    head = b"GGUF" + struct.pack("<IQQ", 3, len(list(layer_shapes(d, layers))), 1) + gguf_string("general.architecture") + \
        struct.pack("<I", 8) + gguf_string("llama")
    body = head + infos
    body += b"\0" * ((32 - len(body) % 32) % 32)
    rng = np.random.default_rng(seed + 1000)
    with open(path, "wb") as f:
        f.write(body)
        for _, _, w in tensors(d, layers, seed):
            if noise:
                w = w + rng.standard_normal(w.shape, dtype=np.float32) * np.float32(noise * 0.02)
            raw = q8_0(w) if quantize else w.tobytes()
            f.write(raw + b"\0" * ((32 - len(raw) % 32) % 32))


for key in which:
    if key in SIZES:
        d, layers = SIZES[key]
        write_safetensors(os.path.join(out, "parent-%s.safetensors" % key), d, layers, seed=1)
        write_gguf(os.path.join(out, "child-%s-q8_0.gguf" % key), d, layers, seed=1, quantize=True, noise=0.02)
        if key == "1b":
            write_gguf(os.path.join(out, "parent-1b-f32.gguf"), d, layers, seed=1, quantize=False, noise=0)
        print("wrote", key, flush=True)
    elif key == "resnet18":
        # torchvision's ResNet-18 layout (11.7M parameters), written by
        # torch.save: a parent, a fine-tune (SGD steps on random data) and an
        # independent initialisation.
        import torch

        def block(cin, cout, stride):
            return torch.nn.ModuleDict({"conv1": torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                                        "bn1": torch.nn.BatchNorm2d(cout),
                                        "conv2": torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                        "bn2": torch.nn.BatchNorm2d(cout)})

        def resnet18(seed):
            torch.manual_seed(seed)
            m = torch.nn.ModuleDict({"conv1": torch.nn.Conv2d(3, 64, 7, 2, 3, bias=False), "bn1": torch.nn.BatchNorm2d(64)})
            cin = 64
            for i, cout in enumerate([64, 128, 256, 512]):
                m["layer%d" % (i + 1)] = torch.nn.ModuleList([block(cin, cout, 1 if i == 0 else 2), block(cout, cout, 1)])
                cin = cout
            m["fc"] = torch.nn.Linear(512, 1000)
            return m

        parent = resnet18(0)
        torch.save(parent.state_dict(), os.path.join(out, "resnet18.pt"))
        child = resnet18(0)
        with torch.no_grad():
            for p in child.parameters():
                p.add_(torch.randn_like(p) * p.std().clamp_min(1e-3) * 0.3)
        torch.save(child.state_dict(), os.path.join(out, "resnet18-ft.pt"))
        torch.save(resnet18(1).state_dict(), os.path.join(out, "resnet18-independent.pt"))
        print("wrote resnet18", flush=True)
    elif key == "onnx":
        import onnx
        from onnx import helper, numpy_helper, TensorProto
        rng = np.random.default_rng(5)
        inits, nodes, prev = [], [], "x"
        for i in range(16):  # 16 x 4096 x 4096 floats = 1.07 GB
            w = rng.standard_normal((4096, 4096), dtype=np.float32) * np.float32(0.02)
            inits.append(numpy_helper.from_array(w, "layer%d.weight" % i))
            nodes.append(helper.make_node("MatMul", [prev, "layer%d.weight" % i], ["h%d" % i]))
            prev = "h%d" % i
        graph = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4096])],
                                  [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], inits)
        os.makedirs(os.path.join(out, "onnx-1gb"), exist_ok=True)
        onnx.save_model(helper.make_model(graph), os.path.join(out, "onnx-1gb", "model.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="weights.data", size_threshold=0)
        print("wrote onnx", flush=True)
