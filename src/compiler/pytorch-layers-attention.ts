/**
 * The PyTorch export of the attention/token family (ViT, CLIP) and the capsule family (CapsNet): one
 * emitter per custom tfjs layer in src/runtime/layers, registered in ./pytorch-layers. Each writes what
 * the layer computes, number for number: the same epsilons, the same mask value, the same softmax axis
 * and the same order of q, k and v in the fused projection, so that tfjs's weights give tfjs's outputs.
 *
 * Only type imports from ./pytorch-layers: that module imports this one to register the emitters, and
 * a value import back would be a cycle whose order depends on which module is loaded first.
 */
import { pyLiteral } from './escape-python';
import type { LayerContext, PyValue } from './pytorch-layers';

type Emitter = (config: Record<string, unknown>, inputs: PyValue[], out: PyValue, ctx: LayerContext) => string;

/** The Python helpers these layers need in model.py (their names are reserved there). */
export type AttentionHelperName = 'MultiHeadSelfAttention' | 'PrimaryCapsules' | 'DigitCapsules' | 'squash';

const isImage = (v: PyValue) => v.shape.length === 3;
const numberOr = (value: unknown, fallback: number) => (value === undefined || value === null ? fallback : Number(value));

/** TensorFlow's "same" padding of one axis, the odd pixel after (as pytorch-layers' convolutions pad). */
function tfSamePads(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

export const ATTENTION_EMITTERS: Record<string, Emitter> = {
  PatchbayMultiHeadSelfAttention(config, [x], _out, ctx) {
    const width = x!.shape[1]!;
    const heads = Number(config.numHeads);
    const keyDim = numberOr(config.keyDim, 0);
    const headDim = keyDim > 0 ? keyDim : width / heads;
    const inner = heads * headDim;
    const bias = config.useBias !== false;
    const dropout = numberOr(config.dropout, 0);
    const options = [dropout > 0 ? `, dropout=${pyLiteral(dropout)}` : '', config.causal === true ? ', causal=True' : '', bias ? '' : ', bias=False'].join('');
    ctx.helper('MultiHeadSelfAttention');
    ctx.init(`self.${ctx.attr} = MultiHeadSelfAttention(${width}, ${heads}, ${headDim}${options})`);
    // tfjs's weight order: the fused q/k/v kernel [width, 3·inner] (q of every head, then k, then v:
    // the rows of PyTorch's qkv Linear in the same order) and its bias, then the output projection.
    ctx.weight('qkv_kernel', 'qkv.weight', 'dense', [width, 3 * inner]);
    if (bias) ctx.weight('qkv_bias', 'qkv.bias', 'copy', [3 * inner]);
    ctx.weight('output_kernel', 'proj.weight', 'dense', [inner, width]);
    if (bias) ctx.weight('output_bias', 'proj.bias', 'copy', [width]);
    return `self.${ctx.attr}(${x!.name})`;
  },

  PatchbayClassToken(_config, [x], _out, ctx) {
    const width = x!.shape[1]!;
    // A vector of the width, as the graph stores it (zeros at the start, as ViT's reference code).
    ctx.init(`self.${ctx.attr} = nn.Parameter(torch.zeros(${width}))`);
    ctx.weight('token', ctx.attr, 'copy', [width], true, true);
    return `torch.cat([self.${ctx.attr}.expand(${x!.name}.shape[0], 1, ${width}), ${x!.name}], dim=1)`;
  },

  PatchbayPositionEmbedding(config, [x], _out, ctx) {
    const [tokens, width] = [x!.shape[0]!, x!.shape[1]!];
    ctx.init(`self.${ctx.attr} = nn.Parameter(torch.randn(${tokens}, ${width}) * ${pyLiteral(numberOr(config.stddev, 0.02))})`);
    ctx.weight('embeddings', ctx.attr, 'copy', [tokens, width], true, true);
    return `${x!.name} + self.${ctx.attr}`;
  },

  PatchbayTakeToken(config, [x, ids]) {
    if (config.mode !== 'endOfText') return `${x!.name}[:, 0]`;
    // Per example, the token where the ids are largest (CLIP's end-of-text id is its vocabulary's
    // largest); argmax takes the first of equal ids, as tfjs's does.
    return `${x!.name}[torch.arange(${x!.name}.shape[0], device=${x!.name}.device), ${ids!.name}.argmax(dim=1)]`;
  },

  PatchbayGelu(config, [x]) {
    if (config.approximate === 'quick') return `${x!.name} * torch.sigmoid(1.702 * ${x!.name})`; // CLIP's QuickGELU
    if (config.approximate === 'tanh') return `F.gelu(${x!.name}, approximate="tanh")`;
    return `F.gelu(${x!.name})`;
  },

  PatchbaySquash(config, [x], _out, ctx) {
    ctx.helper('squash');
    const epsilon = pyLiteral(numberOr(config.epsilon, 1e-7));
    // Along the graph's last axis: an image's channels, which PyTorch holds second.
    if (isImage(x!)) return `squash(${x!.name}.permute(0, 2, 3, 1), ${epsilon}).permute(0, 3, 1, 2)`;
    return `squash(${x!.name}, ${epsilon})`;
  },

  PatchbayCapsuleLength: (config, [x]) => `torch.sqrt(${x!.name}.square().sum(dim=-1) + ${pyLiteral(numberOr(config.epsilon, 1e-7))})`,

  PatchbayPrimaryCapsules(config, [x], _out, ctx) {
    const [height, width, channels] = x!.shape as [number, number, number];
    const capsules = Number(config.capsules);
    const capsuleDim = Number(config.capsuleDim);
    const kernel = Number(config.kernelSize);
    const stride = Number(config.strides);
    const same = config.padding === 'same';
    const [top, bottom] = same ? tfSamePads(height, kernel, stride) : [0, 0];
    const [left, right] = same ? tfSamePads(width, kernel, stride) : [0, 0];
    const epsilon = numberOr(config.epsilon, 1e-7);
    ctx.helper('PrimaryCapsules');
    ctx.helper('squash');
    ctx.init(
      `self.${ctx.attr} = PrimaryCapsules(${channels}, ${capsules}, ${capsuleDim}, ${kernel}, ${stride}${
        same ? `, padding=${pyLiteral([left, right, top, bottom])}` : ''
      }${epsilon === 1e-7 ? '' : `, epsilon=${pyLiteral(epsilon)}`})`,
    );
    const filters = capsules * capsuleDim;
    ctx.weight('kernel', 'conv.weight', 'conv', [kernel, kernel, channels, filters]);
    ctx.weight('bias', 'conv.bias', 'copy', [filters]);
    return `self.${ctx.attr}(${x!.name})`;
  },

  PatchbayDigitCapsules(config, [x], _out, ctx) {
    const [inCapsules, inDim] = [x!.shape[0]!, x!.shape[1]!];
    const capsules = Number(config.capsules);
    const capsuleDim = Number(config.capsuleDim);
    const routings = numberOr(config.routings, 3);
    const stddev = numberOr(config.weightStddev, 0.05);
    const epsilon = numberOr(config.epsilon, 1e-7);
    ctx.helper('DigitCapsules');
    ctx.helper('squash');
    ctx.init(
      `self.${ctx.attr} = DigitCapsules(${inCapsules}, ${inDim}, ${capsules}, ${capsuleDim}, routings=${routings}${
        stddev === 0.05 ? '' : `, weight_stddev=${pyLiteral(stddev)}`
      }${epsilon === 1e-7 ? '' : `, epsilon=${pyLiteral(epsilon)}`})`,
    );
    ctx.weight('kernel', 'weight', 'copy', [inCapsules, capsules, capsuleDim, inDim]);
    return `self.${ctx.attr}(${x!.name})`;
  },
};

export const ATTENTION_HELPERS: Record<AttentionHelperName, string> = {
  MultiHeadSelfAttention: `class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention as ViT's and CLIP's code write it: one fused qkv Linear (its outputs
    are q for every head, then k, then v), softmax(q k^T / sqrt(head_dim)) over the keys in each head,
    optionally causal, the heads' values concatenated, and an output projection back to the width.
    Input and output (N, tokens, width)."""

    def __init__(self, width, num_heads, head_dim, dropout=0.0, causal=False, bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.scale = head_dim**-0.5
        self.causal = causal
        self.qkv = nn.Linear(width, 3 * num_heads * head_dim, bias=bias)
        self.attn_drop = nn.Dropout(dropout)
        self.proj = nn.Linear(num_heads * head_dim, width, bias=bias)

    def forward(self, x):
        n, tokens, _ = x.shape
        qkv = self.qkv(x).reshape(n, tokens, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each (N, heads, tokens, head_dim)
        scores = (q * self.scale) @ k.transpose(-2, -1)
        if self.causal:
            # -1e9 above the diagonal, as the graph adds (not -inf): the same zeros after the softmax.
            scores = scores + torch.full((tokens, tokens), -1e9, dtype=scores.dtype, device=scores.device).triu(1)
        weights = self.attn_drop(scores.softmax(dim=-1))
        return self.proj((weights @ v).transpose(1, 2).reshape(n, tokens, -1))`,
  squash: `def squash(s, epsilon):
    """CapsNet's non-linearity (Sabour et al. 2017, eq. 1) along the last axis, as the graph computes
    it: s * |s|^2 / ((1 + |s|^2) * sqrt(|s|^2 + epsilon)). Keeps the direction; the length goes into [0, 1)."""
    squared_norm = s.square().sum(dim=-1, keepdim=True)
    return s * (squared_norm / ((1 + squared_norm) * torch.sqrt(squared_norm + epsilon)))`,
  PrimaryCapsules: `class PrimaryCapsules(nn.Module):
    """CapsNet's primary capsules: a convolution with capsules * capsule_dim filters whose output, read
    channels-last, is height * width * capsules capsules of capsule_dim values (channel
    c * capsule_dim + d is value d of capsule type c), each squashed. padding is (left, right, top,
    bottom), as F.pad takes it: TensorFlow's "same" puts the odd pixel after. Output (N, capsules, dim)."""

    def __init__(self, in_channels, capsules, capsule_dim, kernel_size, stride, padding=(0, 0, 0, 0), epsilon=1e-7):
        super().__init__()
        self.capsule_dim = capsule_dim
        self.padding = padding
        self.epsilon = epsilon
        self.conv = nn.Conv2d(in_channels, capsules * capsule_dim, kernel_size, stride=stride)

    def forward(self, x):
        if any(self.padding):
            x = F.pad(x, self.padding)
        s = self.conv(x).permute(0, 2, 3, 1).reshape(x.shape[0], -1, self.capsule_dim)
        return squash(s, self.epsilon)`,
  DigitCapsules: `class DigitCapsules(nn.Module):
    """Capsules routed by agreement (Sabour et al. 2017, procedure 1). weight[i, j] is the
    (capsule_dim, in_dim) matrix from input capsule i to output capsule j. From logits b = 0, routings
    times: c = softmax of b over the output capsules, s_j = sum_i c_ij u_hat_j|i, v_j = squash(s_j),
    and (except after the last) b_ij += u_hat_j|i . v_j. Input (N, in_capsules, in_dim), output
    (N, capsules, capsule_dim)."""

    def __init__(self, in_capsules, in_dim, capsules, capsule_dim, routings=3, weight_stddev=0.05, epsilon=1e-7):
        super().__init__()
        self.routings = routings
        self.epsilon = epsilon
        self.weight = nn.Parameter(torch.randn(in_capsules, capsules, capsule_dim, in_dim) * weight_stddev)

    def forward(self, u):
        u_hat = torch.einsum("ijkd,nid->nijk", self.weight, u)  # every input capsule's prediction of every output: (N, I, J, D)
        logits = torch.zeros(u_hat.shape[:3], dtype=u.dtype, device=u.device)
        for r in range(self.routings):
            coupling = logits.softmax(dim=2)
            v = squash(torch.einsum("nij,nijk->njk", coupling, u_hat), self.epsilon)
            if r < self.routings - 1:
                logits = logits + torch.einsum("nijk,njk->nij", u_hat, v)
        return v`,
};
