"""Reference forward pass of Patchbay's UNet layer in PyTorch, for test/diffusion.test.ts.

Reads a JSON file (argv[1]) with the UNet's config, its weights by name (as PatchbayUNet names them,
tfjs layouts: conv kernels [3, 3, in, out], dense kernels [in, out]), an input image batch (NHWC) and
a timestep-embedding batch, runs the DDPM/ADM UNet written here with torch's own modules (Conv2d,
GroupNorm, Linear, einsum attention, nearest interpolation), and prints the output as JSON (NHWC).
The down-sampling conv pads (0, 1) as TensorFlow's SAME does for stride 2 on even sizes (DDPM's
original code is TensorFlow; improved-diffusion's padding=1 would shift the grid by one pixel).
"""

import json
import math
import sys

import torch
import torch.nn.functional as F


def main() -> None:
    spec = json.load(open(sys.argv[1]))
    cfg = spec["config"]
    w = {name: torch.tensor(value["data"], dtype=torch.float64).reshape(value["shape"]) for name, value in spec["weights"].items()}
    groups, heads, scale_shift = cfg["groups"], cfg["heads"], cfg["scaleShift"]

    def conv(name, x, stride=1):
        kernel = w[f"{name}/kernel"].permute(3, 2, 0, 1)
        if stride == 2:
            return F.conv2d(F.pad(x, (0, 1, 0, 1)), kernel, w[f"{name}/bias"], stride=2)
        return F.conv2d(x, kernel, w[f"{name}/bias"], padding=1)

    def dense(name, x):
        return x @ w[f"{name}/kernel"] + w[f"{name}/bias"]

    def norm(name, x):
        return F.group_norm(x, groups, w[f"{name}/gamma"], w[f"{name}/beta"], eps=1e-5)

    def nin(name, x):  # a 1x1 layer over channels, NCHW
        return torch.einsum("bchw,co->bohw", x, w[f"{name}/kernel"]) + w[f"{name}/bias"][None, :, None, None]

    def res(name, x, temb):
        h = conv(f"{name}/conv1", F.silu(norm(f"{name}/norm1", x)))
        e = dense(f"{name}/temb", F.silu(temb))[:, :, None, None]
        if scale_shift:
            scale, shift = e.chunk(2, dim=1)
            h = norm(f"{name}/norm2", h) * (1 + scale) + shift
        else:
            h = norm(f"{name}/norm2", h + e)
        h = conv(f"{name}/conv2", F.silu(h))
        skip = nin(f"{name}/shortcut", x) if x.shape[1] != h.shape[1] else x
        return skip + h

    def attn(name, x):
        b, c, hh, ww = x.shape
        qkv = nin(f"{name}/qkv", norm(f"{name}/norm", x)).reshape(b, 3, heads, c // heads, hh * ww)
        q, k, v = qkv.unbind(1)
        weights = torch.softmax(torch.einsum("bhdi,bhdj->bhij", q, k) / math.sqrt(c // heads), dim=-1)
        out = torch.einsum("bhij,bhdj->bhdi", weights, v).reshape(b, c, hh, ww)
        return x + nin(f"{name}/proj", out)

    x = torch.tensor(spec["x"], dtype=torch.float64).permute(0, 3, 1, 2)
    emb = torch.tensor(spec["emb"], dtype=torch.float64)
    temb = dense("time/dense1", F.silu(dense("time/dense0", emb)))
    h = conv("conv_in", x)
    skips = [h]
    mult, levels = cfg["channelMult"], len(cfg["channelMult"])
    for level in range(levels):
        for b in range(cfg["resBlocks"]):
            h = res(f"down{level}_{b}", h, temb)
            if h.shape[2] in cfg["attentionResolutions"]:
                h = attn(f"down{level}_{b}_attn", h)
            skips.append(h)
        if level != levels - 1:
            h = conv(f"down{level}/conv", h, 2)
            skips.append(h)
    h = res("mid_1", attn("mid_attn", res("mid_0", h, temb)), temb)
    for level in reversed(range(levels)):
        for b in range(cfg["resBlocks"] + 1):
            h = res(f"up{level}_{b}", torch.cat([h, skips.pop()], 1), temb)
            if h.shape[2] in cfg["attentionResolutions"]:
                h = attn(f"up{level}_{b}_attn", h)
        if level != 0:
            h = conv(f"up{level}/conv", F.interpolate(h, scale_factor=2, mode="nearest"))
    out = conv("out/conv", F.silu(norm("out/norm", h)))
    print(json.dumps(out.permute(0, 2, 3, 1).tolist()))


if __name__ == "__main__":
    main()
