"""MLP-Mixer `mnist` training step in PyTorch on the CPU, for comparison with bench/training-step.bench.ts.

Same model as Patchbay's `mlp-mixer` template with its `mnist` preset (148,110 parameters): patch
embedding conv 4x4/4 (1 -> 64) flattened to 49 tokens; 4 Mixer blocks of [LayerNorm, token-mixing MLP
49 -> 32 -> 49 across the tokens with GELU, skip] then [LayerNorm, channel-mixing MLP 64 -> 256 -> 64
with GELU, skip]; LayerNorm; mean over the tokens; dense 64 -> 10. LayerNorm eps 1e-6, exact (erf)
GELU as tfjs's 'gelu'. Adam 1e-3, cross-entropy on logits (= softmax + categorical cross-entropy),
batch 32, 28x28x1 random data.

Usage: python3 bench/torch_mixer.py [--batch 32] [--warmup 2] [--steps 10] [--threads 2]
Prints one line `median_ms_per_step=<float>` (plus a human-readable line), which the tfjs bench parses.
"""

import argparse
import os
import statistics
import sys
import time


def _threads_from_argv() -> str:
    # OpenBLAS sizes its own thread pool when it loads, whatever torch.set_num_threads says later:
    # without this, "1 thread" still runs OpenBLAS on every core (and stalls when they are busy).
    argv = sys.argv[1:]
    return argv[argv.index("--threads") + 1] if "--threads" in argv[:-1] else "2"


os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_from_argv())
os.environ.setdefault("OMP_NUM_THREADS", _threads_from_argv())

import torch  # noqa: E402  (after the thread settings above)
from torch import nn  # noqa: E402


class MlpBlock(nn.Sequential):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class MixerBlock(nn.Module):
    def __init__(self, tokens: int, dim: int, token_mlp: int, channel_mlp: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.token_mlp = MlpBlock(tokens, token_mlp)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.channel_mlp = MlpBlock(dim, channel_mlp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, tokens, dim)
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mlp(self.norm2(x))


class Mixer(nn.Module):
    def __init__(self, dim: int = 64, depth: int = 4, patch: int = 4, size: int = 28, token_mlp: int = 32,
                 channel_mlp: int = 256, classes: int = 10) -> None:
        super().__init__()
        tokens = (size // patch) ** 2
        self.stem = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        self.blocks = nn.Sequential(*[MixerBlock(tokens, dim, token_mlp, channel_mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x).flatten(2).transpose(1, 2)  # (batch, tokens, dim)
        x = self.norm(self.blocks(x))
        return self.head(x.mean(dim=1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Mixer()
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
