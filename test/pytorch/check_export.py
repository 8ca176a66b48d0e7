"""Checks PyTorch exports against tfjs, for test/pytorch-export.test.ts. For each case folder (argv):
imports its model.py and weights.py, counts parameters, loads tfjs's weights (tfjs/model.json),
runs the tfjs inputs and compares with tfjs's outputs, then saves the weights back in tfjs format and
compares them with the originals. Prints one JSON line per case."""
import importlib
import json
import inspect
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)


def read(folder, name, shape, dtype="<f4"):
    return np.fromfile(os.path.join(folder, name), dtype=dtype).reshape(shape)


def to_torch_layout(a):
    return a.transpose(0, 3, 1, 2) if a.ndim == 4 else a


def check(folder):
    meta = json.load(open(os.path.join(folder, "case.json")))
    sys.path.insert(0, folder)
    for name in ("model", "weights"):
        sys.modules.pop(name, None)
    try:
        model_py = importlib.import_module("model")
        weights_py = importlib.import_module("weights")
    finally:
        sys.path.pop(0)
    model = model_py.create_model()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    buffers = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    unused = weights_py.load_tfjs_weights(model, os.path.join(folder, "tfjs", "model.json"))
    # The way back first: a forward may change weights (ActNorm's data-dependent initialisation, as tfjs's does).
    weights_py.save_tfjs_weights(model, os.path.join(folder, "roundtrip"))
    model.eval()
    inputs = []
    for i, spec in enumerate(meta["inputs"]):
        a = read(folder, f"input{i}.bin", spec["shape"], "<i4" if spec["dtype"] == "int32" else "<f4")
        inputs.append(torch.from_numpy(np.ascontiguousarray(to_torch_layout(a))))
    with torch.no_grad():
        outs = model(*inputs)
    if not isinstance(outs, tuple):
        outs = (outs,)
    diff = 0.0
    largest = 0.0  # the largest |output|, to read maxDiff against
    for i, spec in enumerate(meta["outputs"]):
        expected = to_torch_layout(read(folder, f"output{i}.bin", spec["shape"]))
        got = outs[i].numpy()
        if got.shape != expected.shape:
            return {"case": meta["id"], "error": f"output {i} has shape {got.shape}, tfjs {expected.shape}"}
        diff = max(diff, float(np.abs(got - expected).max()) if got.size else 0.0)
        largest = max(largest, float(np.abs(expected).max()) if expected.size else 0.0)
    flow = {}
    if meta.get("flow"):
        # A flow network: forward_flow's z and log-determinant against tfjs's forwardFlow, and inverse(z)
        # against the input (relative to the largest |logdet| and |x|). The round trip runs in float64, so
        # that a wrong inverse shows and float32 rounding through many steps does not.
        # A flow with splits (Glow's multi-scale) factors halves out on the way: forward_flow hands them
        # back in a list and inverse takes them, so that x comes back exactly.
        splits = "factored" in inspect.signature(model.forward_flow).parameters
        with torch.no_grad():
            z, logdet = model.forward_flow(inputs[0])
            model64 = model.double()
            factored = [] if splits else None
            z64 = model64.forward_flow(inputs[0].double(), **({"factored": factored} if splits else {}))[0]
            back = (model64.inverse(z64, factored) if splits else model64.inverse(z64)).float()
        expected_logdet = read(folder, "logdet.bin", [inputs[0].shape[0]])
        flow = {
            "flowDiff": float(np.abs(z.numpy() - to_torch_layout(read(folder, "output0.bin", meta["outputs"][0]["shape"]))).max()),
            "logdetRelDiff": float(np.abs(logdet.numpy() - expected_logdet).max() / max(1.0, np.abs(expected_logdet).max())),
            "inverseRelDiff": float((back - inputs[0]).abs().max() / max(1.0, float(inputs[0].abs().max()))),
        }
    original = weights_py.read_tfjs_weights(os.path.join(folder, "tfjs", "model.json"))
    back = weights_py.read_tfjs_weights(os.path.join(folder, "roundtrip", "model.json"))
    exact = set(original) == set(back) and all(original[k].shape == back[k].shape and original[k].tobytes() == back[k].tobytes() for k in original)
    return {"case": meta["id"], "trainable": trainable, "buffers": buffers, "maxDiff": diff, "largestOutput": largest, "roundTrip": exact, "unused": unused, **flow}


for folder in sys.argv[1:]:
    try:
        result = check(folder)
    except Exception as err:  # a failing case is reported, the others still run
        result = {"case": folder, "error": f"{type(err).__name__}: {err}"}
    print(json.dumps(result), flush=True)
