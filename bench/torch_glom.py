"""GLOM training step in PyTorch on the CPU, for comparison with bench/glom-step.bench.ts.

The networks are Patchbay's own PyTorch export of the `glom` template (networks/<id>/model.py, which
test/pytorch-export.test.ts checks against tfjs from the same weights): the columns network (patch
embedding and the learned starting levels), the GLOM update (bottom-up and top-down level networks,
position embedding, cosine-consensus attention between columns) and the decoder (levels to pixels).
The tfjs bench writes them to --module-dir and passes the template's step settings, so this script
repeats none of the template's sizes. One step, as the template's training procedure:

- CorruptImage: per example, each patch x patch block blanked with probability --drop-patches,
  Gaussian noise of --stddev added to every pixel, clipped to [0, 1]. Patchbay draws the mask on the
  host and uploads it; here it is drawn with torch.rand: the same work on the device.
- columns -> update applied --iterations times with the same weights -> decoder.
- loss: --reconstruction-weight x mean squared error between the decoder's image and the clean one,
  plus --consensus-weight x GLOM's contrastive consensus term (src/runtime/program/glom.ts), which is
  not computed at weight 0, as Patchbay's op does not compute it (the small preset carries it at 0).
- Adam (eps 1e-7, as tfjs's), gradients clipped to --clip-norm when > 0, the learning rate of the
  template's schedule at each step, the loss read back.

Random images (the step's cost does not depend on the pixels).

Usage: python3 bench/torch_glom.py --module-dir DIR [--batch 64] [--warmup 1] [--steps 3] [--threads 2]
  [--total 8] [--columns-network model] [--update-network update] [--decoder-network decoder]
  [--iterations 3] [--stddev 0.3] [--drop-patches 0.25] [--patch-size 4] [--reconstruction-weight 1]
  [--consensus-weight 0] [--temperature 0.1] [--optimizer adam] [--lr 2e-3] [--schedule cosine]
  [--warmup-steps 0] [--weight-decay 0] [--clip-norm 0]
Prints `params=<int>` and `median_ms_per_step=<float>`, which the tfjs bench parses.
"""

import argparse
import math
import statistics
import sys
import time

from torch_program_step import learning_rate_at, load_network  # noqa: E402  (sets the threads before torch loads)
import torch  # noqa: E402  (after the thread settings above)
import torch.nn.functional as F  # noqa: E402


def corrupt(x: torch.Tensor, stddev: float, drop: float, patch: int) -> torch.Tensor:
    n, _, h, w = x.shape
    keep = (torch.rand(n, 1, math.ceil(h / patch), math.ceil(w / patch)) >= drop).to(x.dtype)
    keep = keep.repeat_interleave(patch, 2).repeat_interleave(patch, 3)[:, :, :h, :w]
    noisy = x * keep + torch.randn_like(x) * stddev if stddev > 0 else x * keep
    return noisy.clamp(0, 1)


def consensus_loss(levels: torch.Tensor, temperature: float) -> torch.Tensor:
    """glomConsensusLoss: levels (N, columns, levels, width) on a square grid, InfoNCE per column and
    level between a column and the mean of its 4-neighbours, the other images' means as negatives."""
    n, columns, count, width = levels.shape
    side = math.isqrt(columns)
    adjacency = torch.zeros(columns, columns)
    for c in range(columns):
        r, k = divmod(c, side)
        near = [(a, b) for a, b in ((r - 1, k), (r + 1, k), (r, k - 1), (r, k + 1)) if 0 <= a < side and 0 <= b < side]
        for a, b in near:
            adjacency[c, a * side + b] = 1 / len(near)
    z = levels / torch.sqrt(levels.square().sum(-1, keepdim=True) + 1e-12)
    mean = (adjacency @ z.permute(1, 0, 2, 3).reshape(columns, -1)).reshape(columns, n, count, width).permute(0, 2, 1, 3)
    mean = mean.reshape(columns * count, n, width)
    target = mean / torch.sqrt(mean.square().sum(-1, keepdim=True) + 1e-12)
    query = z.permute(1, 2, 0, 3).reshape(columns * count, n, width)
    logits = query @ target.transpose(1, 2) / temperature
    return -(logits.log_softmax(-1) * torch.eye(n)).sum() / (columns * count * n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module-dir", required=True)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--total", type=int, default=8, help="the run's steps, for the schedule")
    parser.add_argument("--columns-network", default="model")
    parser.add_argument("--update-network", default="update")
    parser.add_argument("--decoder-network", default="decoder")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--stddev", type=float, default=0.3)
    parser.add_argument("--drop-patches", type=float, default=0.25)
    parser.add_argument("--patch-size", type=int, default=4)
    parser.add_argument("--reconstruction-weight", type=float, default=1.0)
    parser.add_argument("--consensus-weight", type=float, default=0.0)
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--schedule", default="cosine")
    parser.add_argument("--warmup-steps", type=int, default=0)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--clip-norm", type=float, default=0.0)
    args = parser.parse_args()
    if args.optimizer != "adam":
        sys.exit(f"torch_glom.py writes the template's Adam step, not {args.optimizer}")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    columns_module = load_network(args.module_dir, args.columns_network)
    update_module = load_network(args.module_dir, args.update_network)
    columns, update = columns_module.create_model(), update_module.create_model()
    decoder = load_network(args.module_dir, args.decoder_network).create_model()
    weights = [*columns.parameters(), *update.parameters(), *decoder.parameters()]
    params = sum(p.numel() for p in weights if p.requires_grad)
    for net in (columns, update, decoder):
        net.train()
    # Adam ignores weight decay in Patchbay's Minimizer (SGD adds it to the gradients, AdamW decouples it).
    optimizer = torch.optim.Adam(weights, lr=args.lr, eps=1e-7)

    image_shape = next(iter(columns_module.INPUTS.values()))[0]  # one example, (C, H, W)
    xs = torch.rand(args.batch, *image_shape)
    outputs = list(columns_module.OUTPUTS)

    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(args.schedule, args.lr, args.warmup_steps, i, args.total)
        optimizer.zero_grad(set_to_none=True)
        out = columns(corrupt(xs, args.stddev, args.drop_patches, args.patch_size))
        values = dict(zip(outputs, out))
        for _ in range(args.iterations):
            # The update network's inputs by name (levels, patches), in its forward's order.
            values["levels"] = update(*(values[name] for name in update_module.INPUTS))
        loss = args.reconstruction_weight * F.mse_loss(decoder(values["levels"]), xs)
        if args.consensus_weight != 0:
            # The export holds rank-4 values as (N, C, H, W): GLOM's (N, columns, levels, width) is (N, width, columns, levels).
            loss = loss + args.consensus_weight * consensus_loss(values["levels"].permute(0, 2, 3, 1), args.temperature)
        loss.backward()
        if args.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(weights, args.clip_norm)
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
