"""ViT training step in PyTorch on the CPU, for comparison with bench/vit.bench.ts.

The same model as Patchbay's `vit` template (the bench passes the preset's sizes and checks that the
parameter counts agree): patch embedding conv PxP/P (1 -> D) flattened to tokens, a learned class
token in front, learned position embeddings added, `depth` pre-norm blocks of [LayerNorm, multi-head
self-attention with a fused qkv Linear (D -> 3D) and an output Linear, skip] then [LayerNorm, MLP
D -> M -> D with exact GELU, skip], a final LayerNorm, a linear head on the class token. LayerNorm eps
1e-6. Adam 1e-3, cross-entropy on logits (= softmax + categorical cross-entropy), 28x28x1 random data.
Attention is written as timm's (reshape/permute, q @ k^T * scale, softmax, @ v), not
F.scaled_dot_product_attention, which torch 1.13 lacks.

Usage: python3 bench/torch_vit.py [--batch 32] [--warmup 2] [--steps 10] [--threads 2]
                                  [--dim 64] [--depth 6] [--heads 4] [--mlp 128] [--patch 7]
Prints `params=<int>` and `median_ms_per_step=<float>`, which the tfjs bench parses.
"""

import argparse
import os
import statistics
import sys
import time


def _threads_from_argv() -> str:
    # OpenBLAS sizes its own thread pool when it loads, whatever torch.set_num_threads says later.
    argv = sys.argv[1:]
    return argv[argv.index("--threads") + 1] if "--threads" in argv[:-1] else "2"


os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_from_argv())
os.environ.setdefault("OMP_NUM_THREADS", _threads_from_argv())

import torch  # noqa: E402  (after the thread settings above)
from torch import nn  # noqa: E402


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        weights = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, dim: int, depth: int, heads: int, mlp: int, patch: int, size: int = 28, classes: int = 10) -> None:
        super().__init__()
        tokens = (size // patch) ** 2
        self.stem = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x).flatten(2).transpose(1, 2)  # (batch, tokens, dim)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--mlp", type=int, default=128)
    parser.add_argument("--patch", type=int, default=7)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = ViT(args.dim, args.depth, args.heads, args.mlp, args.patch)
    params = sum(p.numel() for p in model.parameters())
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xs = torch.rand(args.batch, 1, 28, 28)
    ys = torch.randint(0, 10, (args.batch,))

    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs), ys)
        loss.backward()
        optimizer.step()
        loss.item()
        elapsed = (time.perf_counter() - start) * 1000
        if i >= args.warmup:
            times.append(elapsed)

    median = statistics.median(times)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, {params} params: "
          f"median {median:.1f} ms/step over {args.steps} steps")
    print(f"params={params}")
    print(f"median_ms_per_step={median:.3f}")


if __name__ == "__main__":
    main()
