"""ConvMixer-64/4 training step in PyTorch on the CPU, for comparison with bench/training-step.bench.ts.

Same model as the tfjs benchmark: patch embedding conv 2x2/2 (1 -> 64), GELU, BatchNorm; 4 blocks of
[residual(depthwise 5x5 'same', GELU, BatchNorm), pointwise 1x1 conv, GELU, BatchNorm]; global average
pooling; dense 64 -> 10. BatchNorm momentum 0.1 in PyTorch's convention is Keras' 0.9; eps 1e-5.
Adam 1e-3, cross-entropy on logits (= softmax + categorical cross-entropy), batch 32, 28x28x1 random data.

Usage: python3 bench/torch_convmixer.py [--batch 32] [--warmup 2] [--steps 10] [--threads 2]
Prints one line `median_ms_per_step=<float>` (plus a human-readable line), which the tfjs bench parses.
"""

import argparse
import statistics
import time

import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x) + x


def conv_mixer(dim: int = 64, depth: int = 4, kernel: int = 5, patch: int = 2, classes: int = 10) -> nn.Module:
    def bn() -> nn.BatchNorm2d:
        return nn.BatchNorm2d(dim, momentum=0.1, eps=1e-5)

    return nn.Sequential(
        nn.Conv2d(1, dim, kernel_size=patch, stride=patch),
        nn.GELU(),
        bn(),
        *[
            nn.Sequential(
                Residual(nn.Sequential(nn.Conv2d(dim, dim, kernel, groups=dim, padding="same"), nn.GELU(), bn())),
                nn.Conv2d(dim, dim, kernel_size=1),
                nn.GELU(),
                bn(),
            )
            for _ in range(depth)
        ],
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(dim, classes),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = conv_mixer()
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
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}: "
          f"median {median:.1f} ms/step over {args.steps} steps")
    print(f"median_ms_per_step={median:.3f}")


if __name__ == "__main__":
    main()
