"""Train the `glow` template's flow in PyTorch from Patchbay's own export, with the template's
procedure, to choose its defaults quickly before confirming them with `patchbay train glow`.

The layers are the exported model.py's own (FlowSqueeze, ActNorm, InvertibleConv1x1,
AffineCouplingConv, FlowSplit, FlowPrior, and FlowLogit when the export has it), chained here as the
template chains them, so K (steps per level), the coupling width and the logit step can be changed
without regenerating the template. The procedure is the template's, written out:
- dequantise: x = (round(255 p) + u) / 256, u ~ U[0, 1), fresh every step;
- loss: the flow NLL in nats per example, 1/2 |z|^2 + D/2 ln 2 pi - log|det J| (splits' factored halves
  inside log|det J|), Adam (betas 0.9, 0.999, eps 1e-7 as tfjs), the rate cosine to 0 over every step
  after an optional linear warm-up, gradients clipped at global norm `--clip`;
- measure: bits per dimension on the 2,000 held-out digits, one dequantisation draw,
  (NLL + 784 ln 256) / (784 ln 2).
Samples: z and every split's half from N(0, T^2), inverted, clipped to [0, 1]; `--samples PATH`
writes PATH-T.json ({shape, data} as `patchbay sample` writes, for scripts/diffusion-digit-score.ts)
and PATH-T.png (an 8x8 grid).

    npx patchbay export glow --format pytorch --out glow-pt
    npx patchbay data mnist --out mnist.npz
    /usr/bin/python3 scripts/glow-torch.py --export glow-pt --data mnist.npz --samples out/glow

The defaults are the template's (K = 6, 32-channel couplings with an exp(tanh) scale, the logit step with
alpha 1e-6, Adam 3e-3, 4 epochs); the template before them: --logit 0 --steps 3 --scale sigmoid --lr 1e-3 --epochs 2.
"""

import argparse
import importlib.util
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Logit(nn.Module):
    """RealNVP's logit preprocessing as a flow step: y = logit(a + (1 - 2a) x)."""

    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha

    def forward_flow(self, x):
        p = self.alpha + (1 - 2 * self.alpha) * x
        y = torch.log(p) - torch.log1p(-p)
        logdet = (math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log1p(-p)).sum(dim=(1, 2, 3))
        return y, logdet

    def inverse(self, y):
        return (torch.sigmoid(y) - self.alpha) / (1 - 2 * self.alpha)


class Chain(nn.Module):
    def __init__(self, m, levels, steps, hidden, logit_alpha, scale):
        super().__init__()
        layers = []
        if logit_alpha > 0:
            layers.append(m.FlowLogit(logit_alpha) if hasattr(m, "FlowLogit") else Logit(logit_alpha))
        c = 1
        for level in range(1, levels + 1):
            layers.append(m.FlowSqueeze())
            c *= 4
            for k in range(1, steps + 1):
                layers.append(m.ActNorm(c, image=True))
                layers.append(m.InvertibleConv1x1(c, image=True))
                coupling = m.AffineCouplingConv(c, parity=(k + 1) % 2, hidden=hidden, mask="channel")
                coupling.scale_kind = scale
                if scale != "sigmoid":
                    coupling.conditioner = make_conditioner(coupling, scale)
                layers.append(coupling)
            if level < levels:
                layers.append(m.FlowSplit(c))
                c = c // 2
        layers.append(m.FlowPrior(c, image=True))
        self.steps = nn.ModuleList(layers)
        self.split_type = m.FlowSplit

    def forward_flow(self, x):
        logdet = x.new_zeros(x.shape[0])
        for step in self.steps:
            x, step_logdet, *_ = step.forward_flow(x)
            logdet = logdet + step_logdet
        return x, logdet

    def inverse(self, z, temperature):
        for step in reversed(self.steps):
            z = step.inverse(z, None, temperature) if isinstance(step, self.split_type) else step.inverse(z)
        return z


def make_conditioner(coupling, scale):
    def conditioner(kept):
        a = F.relu(coupling.conv1(kept))
        b = F.relu(coupling.mix(a.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
        out = coupling.conv2(b)
        shift, raw = out[:, : coupling.channels], out[:, coupling.channels :]
        if scale == "tanh":
            return shift, torch.tanh(raw)
        return shift, torch.zeros_like(raw)  # additive

    return conditioner


def dequantise(x, gen):
    return (torch.round(x * 255) + torch.rand(x.shape, generator=gen)) / 256


def bits_per_dim(model, x, gen, batch=500):
    total = 0.0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            xb = dequantise(x[i : i + batch], gen)
            z, logdet = model.forward_flow(xb)
            nll = 0.5 * z.flatten(1).square().sum(1) + 0.5 * z[0].numel() * math.log(2 * math.pi) - logdet
            total += nll.sum().item()
    nll = total / x.shape[0]
    return nll, (nll + 784 * math.log(256)) / (784 * math.log(2))


def write_samples(model, count, temperature, seed, path):
    torch.manual_seed(seed)
    with torch.no_grad():
        z = torch.randn(count, *model.top_shape) * temperature
        x = model.inverse(z, temperature)
    # A sample far in the tails can overflow (a coupling's inverse divides by its scale): counted, drawn black.
    bad = int((~torch.isfinite(x)).flatten(1).any(1).sum())
    images = torch.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    with open(f"{path}-{temperature}.json", "w") as f:
        json.dump({"shape": list(images.shape), "data": [round(float(v), 4) for v in images.flatten()]}, f)
    from PIL import Image

    side = int(math.ceil(math.sqrt(count)))
    grid = np.ones((side * 30, side * 30), dtype=np.float32)
    for i in range(count):
        r, c = divmod(i, side)
        grid[r * 30 + 1 : r * 30 + 29, c * 30 + 1 : c * 30 + 29] = images[i, :, :, 0]
    Image.fromarray((grid * 255).astype(np.uint8)).resize((side * 60, side * 60), Image.NEAREST).save(f"{path}-{temperature}.png")
    return bad


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--export", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=float, default=4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--clip", type=float, default=50)
    p.add_argument("--levels", type=int, default=2)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--logit", type=float, default=1e-6, help="alpha of a logit step first (0: none)")
    p.add_argument("--scale", choices=["sigmoid", "tanh", "additive"], default="tanh")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperatures", default="0.5,0.7,1.0")
    p.add_argument("--samples", help="path prefix for samples (json and png per temperature)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    m = load_module(os.path.join(args.export, "networks", "model", "model.py"), "exported_glow")
    model = Chain(m, args.levels, args.steps, args.hidden, args.logit, args.scale)
    params = sum(q.numel() for q in model.parameters())
    data = np.load(args.data)
    x_train = torch.tensor(data["x_train"]).permute(0, 3, 1, 2).contiguous()
    x_test = torch.tensor(data["x_test"]).permute(0, 3, 1, 2).contiguous()
    gen = torch.Generator().manual_seed(args.seed)
    n = x_train.shape[0]
    per_epoch = math.ceil(n / args.batch_size)
    total = max(1, int(round(per_epoch * args.epochs)))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-7)
    rng = np.random.default_rng(args.seed)
    started = time.time()
    step = 0
    losses = []
    while step < total:
        order = rng.permutation(n)
        for b in range(per_epoch):
            if step >= total:
                break
            idx = torch.tensor(order[b * args.batch_size : (b + 1) * args.batch_size])
            xb = dequantise(x_train[idx], gen)
            warm = min(1.0, (step + 1) / args.warmup) if args.warmup else 1.0
            rate = args.lr * warm * 0.5 * (1 + math.cos(math.pi * step / total))
            for group in opt.param_groups:
                group["lr"] = rate
            z, logdet = model.forward_flow(xb)
            loss = (0.5 * z.flatten(1).square().sum(1) + 0.5 * z[0].numel() * math.log(2 * math.pi) - logdet).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            losses.append(loss.item())
            step += 1
            if step % 100 == 0 or step == total:
                bpd = (np.mean(losses[-100:]) + 784 * math.log(256)) / (784 * math.log(2))
                print(json.dumps({"step": step, "trainBitsPerDim": round(bpd, 4), "seconds": round(time.time() - started, 1)}), flush=True)
    train_seconds = time.time() - started
    with torch.no_grad():
        z, _ = model.forward_flow(dequantise(x_test[:2], gen))
    model.top_shape = tuple(z.shape[1:])
    nll, bpd = bits_per_dim(model, x_test, torch.Generator().manual_seed(1))
    result = {"params": params, "steps": total, "seconds": round(train_seconds, 1), "testNll": round(nll, 2), "bitsPerDim": round(bpd, 4)}
    if args.samples:
        os.makedirs(os.path.dirname(args.samples) or ".", exist_ok=True)
        result["nonFiniteSamples"] = {t: write_samples(model, 64, float(t), 0, args.samples) for t in args.temperatures.split(",")}
    print(json.dumps({**result, "args": vars(args)}), flush=True)


if __name__ == "__main__":
    main()
