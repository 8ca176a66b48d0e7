"""CapsNet `small` training step in PyTorch on the CPU, for comparison with bench/capsnet-step.bench.ts.

The same model and step as Patchbay's `capsnet` template with its `small` preset (1,071,808 + 1,411,344
parameters): conv 1 -> 32, 9x9, ReLU; primary capsules: conv 32 -> 16*8, 9x9 stride 2, read as
6*6*16 = 576 capsules of 8-D, squashed; digit capsules: one 16x8 matrix per (input, output) pair
(576 x 10), 3 routing iterations (Sabour et al., procedure 1); decoder on the capsules masked by the
label: 160 -> 512 -> 1024 -> 784 (ReLU, ReLU, sigmoid). Loss: margin loss (0.9, 0.1, 0.5) + 0.0005 x
the per-example sum of squared reconstruction errors, averaged over the batch; inputs shifted by up
to 2 pixels (zero fill), as the template's Random translate node. Adam 1e-3, batch 64, random data.

Usage: python3 bench/torch_capsnet.py [--batch 64] [--warmup 2] [--steps 5] [--threads 2]
Prints one line `median_ms_per_step=<float>`, which the tfjs bench parses.
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

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


def squash(s: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    n2 = (s * s).sum(-1, keepdim=True)
    return s * n2 / ((1 + n2) * torch.sqrt(n2 + eps))


class CapsNet(nn.Module):
    def __init__(self, conv: int = 32, caps: int = 16, in_caps: int = 576, classes: int = 10, dim: int = 16, routings: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, conv, 9)
        self.primary = nn.Conv2d(conv, caps * 8, 9, stride=2)
        self.W = nn.Parameter(torch.randn(in_caps, classes, dim, 8) * 0.05)
        self.routings = routings
        self.decoder = nn.Sequential(nn.Linear(classes * dim, 512), nn.ReLU(), nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 784), nn.Sigmoid())

    def forward(self, x: torch.Tensor, label: torch.Tensor):
        h = F.relu(self.conv1(x))
        p = self.primary(h).permute(0, 2, 3, 1)  # channels last, as tfjs: capsule c, dim d = channel c*8+d
        u = squash(p.reshape(x.shape[0], -1, 8))  # (N, I, 8)
        # The same computation as the tfjs layer: one batched matmul per input capsule, laid out (I, N, J, D).
        n, (i_caps, j_caps, d, k) = u.shape[0], self.W.shape
        u_hat = torch.bmm(u.transpose(0, 1), self.W.reshape(i_caps, j_caps * d, k).transpose(1, 2)).reshape(i_caps, n, j_caps, d)
        b = torch.zeros(u_hat.shape[:3])
        for r in range(self.routings):
            c = b.softmax(-1)
            v = squash((c.unsqueeze(-1) * u_hat).sum(0))  # (N, J, D)
            if r < self.routings - 1:
                b = b + (u_hat * v).sum(-1)
        lengths = torch.sqrt((v * v).sum(-1) + 1e-7)
        recon = self.decoder((v * label.unsqueeze(-1)).flatten(1))
        return lengths, recon


def margin_loss(lengths: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    present = label * F.relu(0.9 - lengths) ** 2
    absent = 0.5 * (1 - label) * F.relu(lengths - 0.1) ** 2
    return (present + absent).sum(-1).mean()


def shift(x: torch.Tensor, pixels: int = 2) -> torch.Tensor:
    padded = F.pad(x, (pixels,) * 4)
    offsets = torch.randint(0, 2 * pixels + 1, (x.shape[0], 2))
    return torch.stack([padded[i, :, r:r + 28, c:c + 28] for i, (r, c) in enumerate(offsets.tolist())])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = CapsNet()
    params = sum(p.numel() for p in model.parameters())
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs = torch.rand(args.batch, 1, 28, 28)
    label = F.one_hot(torch.randint(0, 10, (args.batch,)), 10).float()

    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        x = shift(xs)
        lengths, recon = model(x, label)
        loss = margin_loss(lengths, label) + 0.0005 * ((recon - x.flatten(1)) ** 2).sum(-1).mean()
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
