"""The `ddpm` template's `mnist` UNet in PyTorch on the CPU, for comparison with bench/diffusion.bench.ts.

The model is Patchbay's own PyTorch export of the template (`patchbay export ddpm --preset mnist
--format pytorch`: networks/model/model.py, whose outputs test/pytorch-export.test.ts checks against
tfjs from the same weights); the tfjs bench writes that file and passes it with --module, so both
sides run the same network with the same parameter count, whatever the preset holds.

Times one training step (eps-prediction MSE at random timesteps of a cosine T = 1000 schedule,
Adam, batch 32, random data) and a 50-step DDIM sample (eta = 0) of 16 images.

Usage: python3 bench/torch_unet.py --module DIR/model.py [--batch 32] [--warmup 2] [--steps 6]
  [--samples 16] [--threads 1] [--lr 4e-3]
Prints `median_ms_per_step=<float>`, `ddim50_ms=<float>` and `params=<int>` lines, which the tfjs
bench parses.
"""

import argparse
import importlib.util
import math
import os
import statistics
import sys
import time


def _threads_from_argv() -> str:
    argv = sys.argv[1:]
    return argv[argv.index("--threads") + 1] if "--threads" in argv[:-1] else "1"


os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_from_argv())
os.environ.setdefault("OMP_NUM_THREADS", _threads_from_argv())

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def load_exported(path: str):
    spec = importlib.util.spec_from_file_location("patchbay_ddpm_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", required=True, help="the exported networks/model/model.py")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lr", type=float, default=4e-3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = load_exported(args.module).create_model()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    f = lambda s: math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    betas = torch.tensor([min(1 - f((i + 1) / 1000) / f(i / 1000), 0.999) for i in range(1000)], dtype=torch.float64)
    alpha_bar = torch.cumprod(1 - betas, 0).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    x0 = torch.rand(args.batch, 1, 28, 28) * 2 - 1
    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        t = torch.randint(0, 1000, (args.batch,))
        eps = torch.randn_like(x0)
        ab = alpha_bar[t][:, None, None, None]
        loss = F.mse_loss(model(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t.float()[:, None]), eps)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if i >= args.warmup:
            times.append((time.perf_counter() - start) * 1000)
    model.eval()
    visit = [round(j * 999 / 49) for j in range(50)]
    start = time.perf_counter()
    with torch.no_grad():
        x = torch.randn(args.samples, 1, 28, 28)
        for i in range(len(visit) - 1, -1, -1):
            ab, prev = alpha_bar[visit[i]], alpha_bar[visit[i - 1]] if i > 0 else torch.tensor(1.0)
            eps = model(x, torch.full((args.samples, 1), float(visit[i])))
            x0_hat = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
            eps = (x - ab.sqrt() * x0_hat) / (1 - ab).sqrt()
            x = prev.sqrt() * x0_hat + (1 - prev).sqrt() * eps
    ddim = (time.perf_counter() - start) * 1000
    print(f"PyTorch {torch.__version__}, {args.threads} thread(s), {params:,} params (Patchbay's export): training step batch {args.batch} {statistics.median(times):.0f} ms, 50-step DDIM of {args.samples} images {ddim:.0f} ms")
    print(f"params={params}")
    print(f"median_ms_per_step={statistics.median(times):.3f}")
    print(f"ddim50_ms={ddim:.3f}")


if __name__ == "__main__":
    main()
