"""Writes test/fixtures/diffusion/hybrid-loss.json: improved DDPM's hybrid loss computed by the
authors' own code (openai/improved-diffusion, GaussianDiffusion.training_losses with a cosine
schedule of T = 100, EPSILON mean, LEARNED_RANGE variance, RESCALED_MSE) on a small random batch,
for test/diffusion.test.ts to compare Patchbay's diffusionHybridLoss against.

Usage: /usr/bin/python3 scripts/iddpm-hybrid-fixture.py PATH/TO/improved-diffusion
(a checkout of https://github.com/openai/improved-diffusion; needs numpy and torch).
"""

import json
import sys

import numpy as np
import torch as th

sys.path.insert(0, sys.argv[1])
from improved_diffusion.gaussian_diffusion import GaussianDiffusion, LossType, ModelMeanType, ModelVarType, get_named_beta_schedule  # noqa: E402

T = 100
diffusion = GaussianDiffusion(
    betas=get_named_beta_schedule("cosine", T),
    model_mean_type=ModelMeanType.EPSILON,
    model_var_type=ModelVarType.LEARNED_RANGE,
    loss_type=LossType.RESCALED_MSE,
)
g = th.Generator().manual_seed(0)
n, c, h, w = 6, 2, 3, 3
x0 = th.rand(n, c, h, w, generator=g, dtype=th.float64) * 2 - 1
x0[0, 0, 0, 0], x0[0, 1, 1, 1], x0[3, 0, 2, 2] = -1.0, 1.0, -1.0  # the decoder's edge bins
t = th.tensor([0, 1, 17, 50, 0, 99])
noise = th.randn(n, c, h, w, generator=g, dtype=th.float64)
out = th.randn(n, 2 * c, h, w, generator=g, dtype=th.float64) * 0.5
out[:, c:] = out[:, c:].clamp(-1, 1)
terms = diffusion.training_losses(lambda x, ts: out, x0, t, noise=noise)
xt = diffusion.q_sample(x0, t, noise=noise)
nhwc = lambda a: a.permute(0, 2, 3, 1).tolist()  # noqa: E731
json.dump(
    {
        "schedule": "cosine",
        "timesteps": T,
        "x0": nhwc(x0),
        "xt": nhwc(xt),
        "t": t.tolist(),
        "noise": nhwc(noise),
        "output": nhwc(out),
        "perExample": terms["loss"].tolist(),
        "loss": float(terms["loss"].mean()),
    },
    open("test/fixtures/diffusion/hybrid-loss.json", "w"),
)
print("wrote test/fixtures/diffusion/hybrid-loss.json", float(terms["loss"].mean()))
