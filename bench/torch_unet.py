"""The `ddpm` template's `mnist` UNet in PyTorch on the CPU, for comparison with bench/diffusion.bench.ts.

The same model as Patchbay's PatchbayUNet (src/runtime/layers/unet.ts) with the UNet params the tfjs
bench reads from the template and passes here (--channels, --mult, --res-blocks, --attn, --emb-dim),
so that both count the same parameters: 28x28x1 images pixel-unshuffled 2x2 to 14x14x4; sinusoidal
timestep embedding (cos then sin); time MLP emb -> 4ch -> swish -> 4ch; conv3x3 in; per level
`res-blocks` residual blocks (+ attention at the listed resolutions), a stride-2 conv between levels;
middle: residual, attention, residual; per level on the way up `res-blocks + 1` residual blocks over
the skip concatenations, nearest x2 + conv between levels; GN, swish, conv out; pixel shuffle back.
Residual blocks: GN swish conv3x3, AdaGN scale-shift from dense(swish(temb)), swish, conv3x3, 1x1
shortcut when the channels change. Attention: one head, GN, qkv, proj.

Times one training step (eps-prediction MSE at random timesteps of a cosine T = 1000 schedule,
Adam, batch 32, random data) and a 50-step DDIM sample of 16 images.

Usage: python3 bench/torch_unet.py [--batch 32] [--warmup 2] [--steps 6] [--samples 16] [--threads 2]
  [--channels 16] [--mult 1,2] [--res-blocks 1] [--attn ""] [--emb-dim 32] [--lr 4e-3]
Prints `median_ms_per_step=<float>` and `ddim50_ms=<float>` lines, which the tfjs bench parses.
"""

import argparse
import math
import os
import statistics
import sys
import time


def _threads_from_argv() -> str:
    argv = sys.argv[1:]
    return argv[argv.index("--threads") + 1] if "--threads" in argv[:-1] else "2"


os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_from_argv())
os.environ.setdefault("OMP_NUM_THREADS", _threads_from_argv())

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    def __init__(self, c: int, o: int, temb: int, groups: int = 8) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, c), nn.Conv2d(c, o, 3, padding=1)
        self.emb = nn.Linear(temb, 2 * o)
        self.norm2, self.conv2 = nn.GroupNorm(groups, o), nn.Conv2d(o, o, 3, padding=1)
        self.skip = nn.Conv2d(c, o, 1) if c != o else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(temb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(F.silu(h))


class Attention(nn.Module):
    def __init__(self, c: int, groups: int = 8) -> None:
        super().__init__()
        self.norm, self.qkv, self.proj = nn.GroupNorm(groups, c), nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)
        weights = torch.softmax(torch.einsum("bci,bcj->bij", q, k) / math.sqrt(c), dim=-1)
        return x + self.proj(torch.einsum("bij,bcj->bci", weights, v).reshape(b, c, h, w))


class UNet(nn.Module):
    def __init__(self, ch: int, mult: list, res_blocks: int, attn: list, emb_dim: int, groups: int = 8, patch: int = 2) -> None:
        super().__init__()
        temb, in_c = 4 * ch, patch * patch
        self.emb_dim, self.patch = emb_dim, patch
        self.time = nn.Sequential(nn.Linear(emb_dim, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.conv_in = nn.Conv2d(in_c, ch, 3, padding=1)
        self.down = nn.ModuleList()
        skips, c, size = [ch], ch, 28 // patch
        for level, m in enumerate(mult):
            for _ in range(res_blocks):
                o = ch * m
                self.down.append(nn.ModuleList([ResBlock(c, o, temb, groups), Attention(o, groups) if size in attn else nn.Identity()]))
                c = o
                skips.append(c)
            if level != len(mult) - 1:
                self.down.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
                size = (size + 1) // 2
        self.mid0, self.mid_attn, self.mid1 = ResBlock(c, c, temb, groups), Attention(c, groups), ResBlock(c, c, temb, groups)
        self.up = nn.ModuleList()
        for level in reversed(range(len(mult))):
            for _ in range(res_blocks + 1):
                o = ch * mult[level]
                self.up.append(nn.ModuleList([ResBlock(c + skips.pop(), o, temb, groups), Attention(o, groups) if size in attn else nn.Identity()]))
                c = o
            if level != 0:
                self.up.append(nn.Conv2d(c, c, 3, padding=1))
                size *= 2
        self.norm_out, self.conv_out = nn.GroupNorm(groups, c), nn.Conv2d(c, in_c, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time(timestep_embedding(t, self.emb_dim))
        h = self.conv_in(F.pixel_unshuffle(x, self.patch))
        skips = [h]
        for stage in self.down:
            h = stage(h) if isinstance(stage, nn.Conv2d) else stage[1](stage[0](h, temb))
            skips.append(h)
        h = self.mid1(self.mid_attn(self.mid0(h, temb)), temb)
        for stage in self.up:
            if isinstance(stage, nn.Conv2d):
                h = stage(F.interpolate(h, scale_factor=2, mode="nearest"))
            else:
                h = stage[1](stage[0](torch.cat([h, skips.pop()], 1), temb))
        return F.pixel_shuffle(self.conv_out(F.silu(self.norm_out(h))), self.patch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--mult", default="1,2")
    parser.add_argument("--res-blocks", type=int, default=1)
    parser.add_argument("--attn", default="", help="resolutions with attention, comma-separated")
    parser.add_argument("--emb-dim", type=int, default=32)
    parser.add_argument("--lr", type=float, default=4e-3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ints = lambda text: [int(v) for v in text.split(",") if v]  # noqa: E731
    model = UNet(args.channels, ints(args.mult), args.res_blocks, ints(args.attn), args.emb_dim)
    params = sum(p.numel() for p in model.parameters())
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
        loss = F.mse_loss(model(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t), eps)
        optimizer.zero_grad()
        loss.backward()
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
            eps = model(x, torch.full((args.samples,), visit[i]))
            x0_hat = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
            eps = (x - ab.sqrt() * x0_hat) / (1 - ab).sqrt()
            x = prev.sqrt() * x0_hat + (1 - prev).sqrt() * eps
    ddim = (time.perf_counter() - start) * 1000
    print(f"PyTorch {torch.__version__}, {args.threads} thread(s), {params:,} params: training step batch {args.batch} {statistics.median(times):.0f} ms, 50-step DDIM of {args.samples} images {ddim:.0f} ms")
    print(f"params={params}")
    print(f"median_ms_per_step={statistics.median(times):.3f}")
    print(f"ddim50_ms={ddim:.3f}")


if __name__ == "__main__":
    main()
