"""CLIP training step in PyTorch on the CPU, for comparison with bench/clip-step.bench.ts.

The networks are Patchbay's own PyTorch export of the `clip` template (networks/<id>/model.py, which
test/pytorch-export.test.ts checks against tfjs from the same weights): the image tower (ViT) and the
text tower (token and position embeddings, causal blocks, the features at the end-of-text token).
The tfjs bench writes them to --module-dir and passes the template's step settings, so this script
repeats none of the template's sizes. One step, as the template's "Contrastive training" procedure:

- Captions: each example gets one of the template's sentence templates at random, filled with its
  class; the ids come from --captions, every template x class caption tokenised by Patchbay's
  tokenizer (src/runtime/program/clip.ts), gathered by template * classes + class, as the Captions
  node does.
- InfoNCE: both embeddings L2-normalised, logits = exp(t) * a @ b^T (t the learned temperature, a
  0-d Parameter), cross-entropy of the logits against the diagonal, both ways, averaged.
- AdamW (eps 1e-7, as tfjs's Adam) with decoupled weight decay on the weights of rank >= 2 only (the
  kernels, embeddings and position embeddings; Patchbay's Minimizer decays those), the learning rate
  of the template's schedule at each step, the temperature clamped to [min, max] after the step, the
  loss read back. PyTorch's AdamW decays before its update, Patchbay after: the same work.

Random images (the step's cost does not depend on the pixels), labels cycling through the classes.

Usage: python3 bench/torch_clip.py --module-dir DIR --captions DIR/captions.json [--batch 128]
  [--warmup 1] [--steps 3] [--threads 2] [--total 8] [--image-network model] [--text-network text]
  [--scale-init 2.659] [--scale-min 0] [--scale-max 4.605] [--exp-scale 1] [--optimizer adamw]
  [--lr 1e-3] [--schedule warmup-cosine] [--warmup-steps 50] [--weight-decay 1e-4] [--clip-norm 0]
Prints `params=<int>` and `median_ms_per_step=<float>`, which the tfjs bench parses.
"""

import argparse
import json
import math
import statistics
import sys
import time

from torch_program_step import learning_rate_at, load_network  # noqa: E402  (sets the threads before torch loads)
import torch  # noqa: E402  (after the thread settings above)
import torch.nn.functional as F  # noqa: E402


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    # Patchbay's l2normalize: x / max(|x|, 1e-12).
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module-dir", required=True)
    parser.add_argument("--captions", required=True)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--total", type=int, default=8, help="the run's steps, for the schedule")
    parser.add_argument("--image-network", default="model")
    parser.add_argument("--text-network", default="text")
    parser.add_argument("--scale-init", type=float, default=math.log(1 / 0.07))
    parser.add_argument("--scale-min", type=float, default=0.0)
    parser.add_argument("--scale-max", type=float, default=math.log(100))
    parser.add_argument("--exp-scale", type=int, default=1)
    parser.add_argument("--optimizer", default="adamw")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--schedule", default="warmup-cosine")
    parser.add_argument("--warmup-steps", type=int, default=50)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--clip-norm", type=float, default=0.0)
    args = parser.parse_args()
    if args.optimizer != "adamw":
        sys.exit(f"torch_clip.py writes the template's AdamW step, not {args.optimizer}")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    image_module = load_network(args.module_dir, args.image_network)
    image_tower = image_module.create_model()
    text_tower = load_network(args.module_dir, args.text_network).create_model()
    logit_scale = torch.nn.Parameter(torch.tensor(args.scale_init))
    weights = [*image_tower.parameters(), *text_tower.parameters(), logit_scale]
    params = sum(p.numel() for p in weights if p.requires_grad)
    image_tower.train()
    text_tower.train()
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p in weights if p.dim() >= 2], "weight_decay": args.weight_decay},
            {"params": [p for p in weights if p.dim() < 2], "weight_decay": 0.0},
        ],
        lr=args.lr,
        eps=1e-7,
    )

    with open(args.captions, encoding="utf8") as f:
        captions = json.load(f)
    table = torch.tensor(captions["ids"], dtype=torch.long)  # (templates * classes, context)
    classes, templates = captions["classes"], captions["templates"]
    image_shape = next(iter(image_module.INPUTS.values()))[0]  # one example, (C, H, W)
    xs = torch.rand(args.batch, *image_shape)
    labels = torch.arange(args.batch) % classes
    target = torch.arange(args.batch)

    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(args.schedule, args.lr, args.warmup_steps, i, args.total)
        optimizer.zero_grad(set_to_none=True)
        tokens = table[torch.randint(0, templates, (args.batch,)) * classes + labels]
        a = unit_rows(image_tower(xs))
        b = unit_rows(text_tower(tokens))
        scale = logit_scale.exp() if args.exp_scale else logit_scale
        logits = a @ b.t() * scale
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
        loss.backward()
        if args.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(weights, args.clip_norm)
        optimizer.step()
        with torch.no_grad():
            logit_scale.clamp_(args.scale_min, args.scale_max)
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
