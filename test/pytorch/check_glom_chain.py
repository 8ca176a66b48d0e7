"""Checks GLOM's shared iterations in PyTorch, for test/pytorch-export.test.ts. Arguments: the chain
folder (image.bin, trail0..3.bin, gradients.bin written by tfjs), the exported columns, update and
decoder folders (each with model.py, weights.py and tfjs/model.json), and the trail's four tfjs shapes
as JSON. Runs columns -> the one update module three times -> decoder on tfjs's image, compares every
iteration's levels and the reconstruction with tfjs's, and the gradient of the mean squared
reconstruction error with respect to the update's weights (summed by autograd over the three calls)
with tfjs's gradient. Prints one JSON line."""
import importlib.util
import json
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)


def load(folder, tag):
    """The folder's model with its tfjs weights, and its weights module (each folder's files under their own module names)."""
    modules = {}
    for part in ("model", "weights"):
        spec = importlib.util.spec_from_file_location(f"{tag}_{part}", os.path.join(folder, f"{part}.py"))
        modules[part] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules[part])
    net = modules["model"].create_model()
    modules["weights"].load_tfjs_weights(net, os.path.join(folder, "tfjs", "model.json"))
    return net.eval(), modules["weights"]


def to_torch_layout(a):
    return a.transpose(0, 3, 1, 2) if a.ndim == 4 else a


chain, columns_dir, update_dir, decoder_dir = sys.argv[1:5]
shapes = [json.loads(s) for s in sys.argv[5:9]]
columns, _ = load(columns_dir, "columns")
update, update_weights = load(update_dir, "update")
decoder, _ = load(decoder_dir, "decoder")

image = torch.from_numpy(np.ascontiguousarray(to_torch_layout(np.fromfile(os.path.join(chain, "image.bin"), "<f4").reshape(2, 28, 28, 1))))
patches, levels = columns(image)
trail = []
for _ in range(3):
    levels = update(levels, patches)
    trail.append(levels)
reconstruction = decoder(levels)
trail.append(reconstruction)
loss = (reconstruction - image).square().mean()
loss.backward()

trail_diffs = []
for i, (got, shape) in enumerate(zip(trail, shapes)):
    expected = to_torch_layout(np.fromfile(os.path.join(chain, f"trail{i}.bin"), "<f4").reshape(shape))
    trail_diffs.append(float(np.abs(got.detach().numpy() - expected).max()))

parameters = dict(update.named_parameters())
expected_grads = np.fromfile(os.path.join(chain, "gradients.bin"), "<f4")
offset, worst, largest = 0, 0.0, 0.0
for _, key, layout, shape in update_weights.WEIGHTS:
    count = int(np.prod(shape))
    expected = expected_grads[offset : offset + count].reshape(shape)
    offset += count
    got = update_weights.torch_to_tfjs(parameters[key].grad.numpy(), layout, shape)
    worst = max(worst, float(np.abs(got - expected).max()))
    largest = max(largest, float(np.abs(expected).max()))

print(
    json.dumps(
        {
            "trailDiffs": trail_diffs,
            "gradientRelDiff": worst / max(largest, 1e-12),
            "gradientLargest": largest,
            "updateModules": sum(1 for m in update.modules() if type(m).__name__ == "GlomUpdate"),
            "gradientValues": offset,
            "expectedValues": int(expected_grads.size),
        }
    )
)
