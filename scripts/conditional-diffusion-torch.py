"""Train the `sr3` or `palette` template's denoiser in PyTorch from Patchbay's own export, with the
template's procedure, and score it with the template's measure: a stand-in ~6x faster per step than
the app's WebAssembly on this CPU, for choosing the templates' defaults before confirming them with
`patchbay train`.

The network is the exported model.py's own UNet and timestep embedding (its channels can be
changed here to try a wider one); the procedure is the template's, written out:
- x0 = 2x - 1, a timestep t uniform over 0..T-1 per example, eps ~ N(0, 1), x_t = sqrt(abar) x0 + sqrt(1 - abar) eps
  on the cosine schedule (improved DDPM), T = 1000;
- SR3: the condition is x0 averaged down 4x4 to 7x7 and brought back bicubic (Keys a = -0.5, half-pixel
  centres, edges repeated: image-to-image.ts's resizeMatrix); loss mean (eps_hat - eps)^2;
- Palette: a random 14x14 square per example; the network sees x_t inside it and x0 outside, and a
  condition with the square filled with fresh noise; the loss averages over the square only;
- Adam (betas 0.9, 0.999, eps 1e-7 as tfjs), the rate cosine to 0 over every step, gradients clipped
  at global norm 1, a moving average of the weights updated after every step.
The measures are the app's: DDIM over `steps` timesteps (eta as given) from seeded noise, x0_hat clipped
to [-1, 1], on the first `examples` held-out digits; SR3: mean PSNR (dB, pixels in [0, 1]) of the
samples and of the bicubic upsampling; Palette: the squared error on the square's pixels of the
samples (known pixels put back every step) and of the mean training image put in the square.

    npx patchbay export sr3 --format pytorch --out sr3-pt
    npx patchbay data mnist --out mnist.npz
    /usr/bin/python3 scripts/conditional-diffusion-torch.py --task sr3 --prediction x0 --lr 4e-3 --ema 0.99 --eta 1 \
        --export sr3-pt --data mnist.npz --epochs 1

Prints one JSON line per measure (online and moving-average weights); --save/--load keep the weights
to try other samplers without training again, --png writes input | output | target rows.
Measured here (one thread, loaded machine, first 100 held-out digits, 250 steps, Adam 4e-3): SR3
predicting eps 12.2 dB (online weights, eta 1; EMA 0.99 11.1 dB), predicting x0 18.6 dB (EMA 17.9),
predicting v 16.0 dB, bicubic 14.7 dB; the templates then took x0. Palette predicting x0, 500
steps, 10x10 square, 200 digits: 0.0935 (EMA, eta 1) against mean fill 0.1195.
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
import torch.nn as nn


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resize_matrix(kind, src, dst):
    """image-to-image.ts's resizeMatrix: [dst, src], half-pixel centres, edges repeated."""
    m = np.zeros((dst, src), dtype=np.float64)

    def cubic(d, a=-0.5):
        x = abs(d)
        if x <= 1:
            return (a + 2) * x**3 - (a + 3) * x**2 + 1
        if x < 2:
            return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
        return 0.0

    for i in range(dst):
        x = (i + 0.5) * src / dst - 0.5
        lo = math.floor(x)
        if kind == "bilinear":
            f = x - lo
            m[i, min(src - 1, max(0, lo))] += 1 - f
            m[i, min(src - 1, max(0, lo + 1))] += f
        else:
            for j in range(lo - 1, lo + 3):
                m[i, min(src - 1, max(0, j))] += cubic(x - j)
    return torch.tensor(m, dtype=torch.float32)


def averaging_matrix(src, dst):
    f = src // dst
    m = torch.zeros(dst, src)
    for i in range(dst):
        m[i, i * f : (i + 1) * f] = 1 / f
    return m


class Conditional(nn.Module):
    """The template's denoiser (model.py's SR3Mnist / PaletteMnist forward) with the UNet's widths
    as arguments: (condition[, mask], x_t) joined on channels, 2x2 pixel unshuffle, UNet, shuffle back."""

    def __init__(self, module, channels=16, mult=(1, 2), res_blocks=1, extra_inputs=0, attention=()):
        super().__init__()
        self.inputs = 2 + extra_inputs
        self.embedding = module.TimestepEmbedding(32, max_period=10000)
        self.unet = module.UNet(
            4 * self.inputs, 32, 4, height=14, channels=channels, channel_mult=tuple(mult), res_blocks=res_blocks,
            attention_resolutions=tuple(attention), dropout=0, groups=8, heads=1, scale_shift=True,
        )

    def forward(self, image, timestep, condition, extra=()):
        n = image.shape[0]
        joined = torch.cat([condition, *extra, image], dim=1)  # N, k, 28, 28
        c = joined.shape[1]
        packed = joined.permute(0, 2, 3, 1).reshape(n, 14, 2, 14, 2, c).permute(0, 1, 3, 2, 4, 5).reshape(n, 14, 14, 4 * c).permute(0, 3, 1, 2)
        out = self.unet(packed, self.embedding(timestep))
        return out.permute(0, 2, 3, 1).reshape(n, 14, 14, 2, 2, 1).permute(0, 1, 3, 2, 4, 5).reshape(n, 28, 28, 1).permute(0, 3, 1, 2)


def cosine_alphas_cumprod(T):
    f = lambda s: math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    betas = np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)], dtype=np.float64)
    return np.cumprod(1 - betas)


def sampling_timesteps(T, steps):
    if steps >= T:
        return list(range(T))
    if steps == 1:
        return [T - 1]
    return sorted({round(j * (T - 1) / (steps - 1)) for j in range(steps)})


def square_masks(n, size, generator, placement="random"):
    mask = torch.zeros(n, 1, 28, 28)
    for i in range(n):
        if placement == "center":
            top = left = (28 - size) // 2
        else:
            top = int(torch.randint(0, 28 - size + 1, (1,), generator=generator))
            left = int(torch.randint(0, 28 - size + 1, (1,), generator=generator))
        mask[i, :, top : top + size, left : left + size] = 1
    return mask


@torch.no_grad()
def ddim(model, abar, cond, steps, eta, generator, known=None, extra=(), batch=100, x0_clip=True, prediction="eps"):
    """sampleDiffusion's DDIM (and known-pixel replacement) on [-1, 1] images; returns [0, 1] pixels."""
    visit = sampling_timesteps(len(abar), steps)
    outs = []
    for start in range(0, cond.shape[0], batch):
        c = cond[start : start + batch]
        n = c.shape[0]
        ex = tuple(e[start : start + batch] for e in extra)
        kn = None if known is None else (known[0][start : start + batch], known[1][start : start + batch])
        keep = (lambda y: kn[1] * y + (1 - kn[1]) * kn[0]) if kn else (lambda y: y)
        x = keep(torch.randn(n, 1, 28, 28, generator=generator))
        for i in range(len(visit) - 1, -1, -1):
            t = visit[i]
            a = float(abar[t])
            ap = float(abar[visit[i - 1]]) if i > 0 else 1.0
            out = model(x, torch.full((n, 1), float(t)), c, ex)
            if prediction == "eps":
                x0 = (x - math.sqrt(1 - a) * out) / math.sqrt(a)
            elif prediction == "x0":
                x0 = out
            else:
                x0 = math.sqrt(a) * x - math.sqrt(1 - a) * out
            if x0_clip:
                x0 = x0.clamp(-1, 1)
            eps_c = (x - math.sqrt(a) * x0) / math.sqrt(1 - a)
            sigma = eta * math.sqrt((1 - ap) / (1 - a)) * math.sqrt(1 - a / ap)
            x = math.sqrt(ap) * x0 + math.sqrt(max(0.0, 1 - ap - sigma * sigma)) * eps_c
            if i > 0 and sigma > 0:
                x = x + sigma * torch.randn(x.shape, generator=generator)
            x = keep(x)
        outs.append((x * 0.5 + 0.5).clamp(0, 1))
    return torch.cat(outs)


def mean_psnr(out, target):
    se = ((out - target) ** 2).flatten(1).sum(1)
    size = target[0].numel()
    return float(torch.clamp(10 * torch.log10(size / se.clamp_min(1e-300)), max=100).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=["sr3", "palette"], required=True)
    parser.add_argument("--export", required=True, help="a folder `patchbay export sr3|palette --format pytorch` wrote (its model.py supplies the layers)")
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--ema", type=float, default=0.995)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--mult", default="1,2")
    parser.add_argument("--res-blocks", type=int, default=1)
    parser.add_argument("--prediction", choices=["eps", "x0", "v"], default="eps", help="what the network predicts (the templates: eps)")
    parser.add_argument("--square", type=int, default=14)
    parser.add_argument("--mask-input", action="store_true", help="Palette: give the network the mask as a channel too")
    parser.add_argument("--steps", default="50", help="DDIM steps, comma-separated to try several")
    parser.add_argument("--eta", default="0", help="DDIM eta, comma-separated to try several")
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--save", help="write both weight sets (torch state dicts) here after training")
    parser.add_argument("--load", help="skip training: measure the weights --save wrote")
    parser.add_argument("--png", help="write input | output | target rows of the first 12 digits per measure (PATH-<weights>-<steps>-<eta>.png)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    folder = os.path.join(args.export, "networks", "model")
    module = load_module(os.path.join(folder, "model.py"), "exported_model")
    palette = args.task == "palette"
    extra_inputs = 1 if palette and args.mask_input else 0
    model = Conditional(module, args.channels, [int(m) for m in args.mult.split(",")], args.res_blocks, extra_inputs)
    ema = Conditional(module, args.channels, [int(m) for m in args.mult.split(",")], args.res_blocks, extra_inputs)
    ema.load_state_dict(model.state_dict())
    params = sum(p.numel() for p in model.parameters())

    data = np.load(args.data)
    x_train = torch.tensor(data["x_train"]).permute(0, 3, 1, 2).contiguous()
    x_test = torch.tensor(data["x_test"]).permute(0, 3, 1, 2).contiguous()
    if args.limit:
        x_train = x_train[: args.limit]
    down, up = averaging_matrix(28, 7), resize_matrix("bicubic", 7, 28)
    low_res = lambda x: up @ (down @ x @ down.T) @ up.T  # noqa: E731
    abar = cosine_alphas_cumprod(1000)
    sqrt_a = torch.tensor(np.sqrt(abar), dtype=torch.float32)
    sqrt_1a = torch.tensor(np.sqrt(1 - abar), dtype=torch.float32)

    def target_of(kind, x0, eps, t):
        a, b = sqrt_a[t].view(-1, 1, 1, 1), sqrt_1a[t].view(-1, 1, 1, 1)
        return eps if kind == "eps" else x0 if kind == "x0" else a * eps - b * x0

    opt = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-7)
    n = x_train.shape[0]
    steps_per_epoch = math.ceil(n / args.batch_size)
    total = max(1, int(round(steps_per_epoch * args.epochs)))
    rng = np.random.default_rng(args.seed)
    step = 0
    started = time.time()
    losses = []
    if args.load:
        saved = torch.load(args.load)
        model.load_state_dict(saved["online"])
        ema.load_state_dict(saved["ema"])
        total = saved["steps"]
        losses = saved["losses"]
    while step < total and not args.load:
        order = torch.tensor(rng.permutation(n))
        for s in range(0, n, args.batch_size):
            if step >= total:
                break
            x0 = x_train[order[s : s + args.batch_size]] * 2 - 1
            b = x0.shape[0]
            t = torch.randint(0, 1000, (b,), generator=gen)
            eps = torch.randn(x0.shape, generator=gen)
            xt = sqrt_a[t].view(-1, 1, 1, 1) * x0 + sqrt_1a[t].view(-1, 1, 1, 1) * eps
            if palette:
                mask = square_masks(b, args.square, gen)
                xin = mask * xt + (1 - mask) * x0
                cond = mask * torch.randn(x0.shape, generator=gen) + (1 - mask) * x0
                pred = model(xin, t.float().view(-1, 1), cond, (mask * 2 - 1,) if extra_inputs else ())
                goal = target_of(args.prediction, x0, eps, t)
                loss = (mask * (pred - goal) ** 2).sum() / mask.sum().clamp_min(1)
            else:
                pred = model(xt, t.float().view(-1, 1), low_res(x0))
                loss = ((pred - target_of(args.prediction, x0, eps, t)) ** 2).mean()
            lr = 0.5 * args.lr * (1 + math.cos(math.pi * min(1, step / max(1, total - 1))))
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            with torch.no_grad():
                for pe, p in zip(ema.parameters(), model.parameters()):
                    pe.mul_(args.ema).add_(p, alpha=1 - args.ema)
            losses.append(float(loss))
            step += 1
            if step % 100 == 0 or step == total:
                print(json.dumps({"step": step, "of": total, "loss100": round(float(np.mean(losses[-100:])), 4), "seconds": round(time.time() - started, 1)}), flush=True)
    train_seconds = time.time() - started
    if args.save:
        torch.save({"online": model.state_dict(), "ema": ema.state_dict(), "steps": total, "losses": losses}, args.save)

    # The measure: the first `examples` held-out digits.
    target = x_test[: args.examples]
    x0 = target * 2 - 1
    eval_gen = torch.Generator().manual_seed(1000 + args.seed)
    if palette:
        mask = square_masks(x0.shape[0], args.square, eval_gen)
        cond = mask * torch.randn(x0.shape, generator=eval_gen) + (1 - mask) * x0
        mean = x_train.mean(0, keepdim=True)
        fill = mask * mean + (1 - mask) * target
        baseline = float((mask * (fill - target) ** 2).sum() / mask.sum())
    else:
        cond = low_res(x0)
        baseline = mean_psnr((cond * 0.5 + 0.5).clamp(0, 1), target)
    model.eval()
    ema.eval()
    for steps in [int(s) for s in args.steps.split(",")]:
        for eta in [float(e) for e in args.eta.split(",")]:
            for name, net in (("online", model), ("ema", ema)):
                t0 = time.time()
                g = torch.Generator().manual_seed(7)
                extra = (mask * 2 - 1,) if extra_inputs else ()
                out = ddim(net, abar, cond, steps, eta, g, known=(x0, mask) if palette else None, extra=extra, prediction=args.prediction)
                if args.png:
                    from PIL import Image

                    shown = (mask * 0.5 + (1 - mask) * target) if palette else (cond * 0.5 + 0.5).clamp(0, 1)
                    rows = [torch.cat([shown[i, 0], out[i, 0], target[i, 0]], dim=1) for i in range(min(12, out.shape[0]))]
                    grid = (torch.cat(rows, dim=0).numpy() * 255).round().astype(np.uint8)
                    Image.fromarray(grid).resize((grid.shape[1] * 3, grid.shape[0] * 3), Image.NEAREST).save(f"{args.png}-{name}-{steps}-{eta:g}.png")
                if palette:
                    score = float((mask * (out - target) ** 2).sum() / mask.sum())
                    key = ("maskedMse", "meanFillMse")
                else:
                    score = mean_psnr(out, target)
                    key = ("psnr", "bicubicPsnr")
                print(
                    json.dumps(
                        {
                            "task": args.task, "weights": name, "steps": steps, "eta": eta, key[0]: round(score, 4), key[1]: round(baseline, 4),
                            "trainSteps": total, "trainSeconds": round(train_seconds, 1), "sampleSeconds": round(time.time() - t0, 1),
                            "finalLoss100": round(float(np.mean(losses[-100:])), 4), "params": params,
                            "settings": {k: v for k, v in vars(args).items() if k not in ("export", "data", "steps", "eta")},
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    sys.exit(main())
