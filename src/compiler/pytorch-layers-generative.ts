/**
 * The PyTorch export of the generative layers: the flow steps (RealNVP, Glow: affine coupling,
 * ActNorm, invertible 1×1 convolution, squeeze, split, learned prior, logit) and the diffusion layers (timestep embedding,
 * residual block with a timestep, spatial attention, the DDPM UNet). Each becomes a readable
 * nn.Module of model.py (the helper classes below) with the weight names of its tfjs layer, so that
 * weights.py moves them both ways. The classes compute what src/runtime/layers computes, in the same
 * order of operations, channels first.
 *
 * Flow steps also get `forward_flow(x) → (y, logdet)` and `inverse(y)`, as their tfjs layers have
 * `forwardFlow` and `inverseFlow`; `forward` is the tfjs layer's `call` (y only), which is what
 * the plan and the tfjs model run.
 *
 * Registered in ./pytorch-layers (LAYER_EMITTERS, HELPERS). Only types come from there, so that
 * this module can load before it. No document string reaches the code: the emitters write numbers
 * (pyLiteral) and fixed words only.
 */
import { pyLiteral } from './escape-python';
import type { PlanBody } from './plan';
import type { LayerContext, PyValue, WeightLayout } from './pytorch-layers';

export type GenerativeHelperName =
  | 'FlowSqueeze'
  | 'FlowSplit'
  | 'FlowPrior'
  | 'FlowLogit'
  | 'ActNorm'
  | 'InvertibleConv1x1'
  | 'AffineCouplingMLP'
  | 'AffineCouplingConv'
  | 'TimestepEmbedding'
  | 'TimeResBlock'
  | 'SpatialAttention'
  | 'UNetDownsample'
  | 'UNetUpsample'
  | 'UNet';

type GenerativeContext = Omit<LayerContext, 'helper'> & { helper: (name: GenerativeHelperName) => void };
type GenerativeEmitter = (config: Record<string, unknown>, inputs: PyValue[], out: PyValue, ctx: GenerativeContext) => string;

const isImage = (v: PyValue) => v.shape.length === 3;
const last = (v: PyValue) => v.shape[v.shape.length - 1]!;
const py = (v: unknown) => pyLiteral(v);
const bool = (v: unknown) => (v === true ? 'True' : 'False');

/** One weight of a composite layer: tfjs name and state_dict key (both relative to the layer), layout, tfjs shape. */
type Weight = [tfjs: string, torch: string, layout: WeightLayout, shape: number[]];

const groupNormWeights = (tfjs: string, torch: string, c: number): Weight[] => [
  [`${tfjs}/gamma`, `${torch}.weight`, 'copy', [c]],
  [`${tfjs}/beta`, `${torch}.bias`, 'copy', [c]],
];
const denseWeights = (tfjs: string, torch: string, i: number, o: number): Weight[] => [
  [`${tfjs}/kernel`, `${torch}.weight`, 'dense', [i, o]],
  [`${tfjs}/bias`, `${torch}.bias`, 'copy', [o]],
];
const conv3Weights = (tfjs: string, torch: string, i: number, o: number): Weight[] => [
  [`${tfjs}/kernel`, `${torch}.weight`, 'conv', [3, 3, i, o]],
  [`${tfjs}/bias`, `${torch}.bias`, 'copy', [o]],
];

/** PatchbayTimeResBlock's weights in its build order (the UNet's residual blocks are the same). */
function resBlockWeights(tfjs: string, torch: string, c: number, o: number, e: number, scaleShift: boolean): Weight[] {
  const at = (name: string) => [tfjs ? `${tfjs}/${name}` : name, torch ? `${torch}.${name}` : name] as const;
  return [
    ...groupNormWeights(...at('norm1'), c),
    ...conv3Weights(...at('conv1'), c, o),
    ...denseWeights(...at('temb'), e, scaleShift ? 2 * o : o),
    ...groupNormWeights(...at('norm2'), o),
    ...conv3Weights(...at('conv2'), o, o),
    ...(c !== o ? denseWeights(...at('shortcut'), c, o) : []),
  ];
}

/** PatchbaySpatialAttention's weights in its build order (the UNet's attention blocks are the same). */
function attentionWeights(tfjs: string, torch: string, c: number): Weight[] {
  const at = (name: string) => [tfjs ? `${tfjs}/${name}` : name, torch ? `${torch}.${name}` : name] as const;
  return [...groupNormWeights(...at('norm'), c), ...denseWeights(...at('qkv'), c, 3 * c), ...denseWeights(...at('proj'), c, c)];
}

interface UNetConfig {
  channels: number;
  channelMult: number[];
  resBlocks: number;
  attentionResolutions: number[];
  outChannels: number;
  scaleShift: boolean;
}

/**
 * The UNet's weights in PatchbayUNet.build's order: the same walk over levels, with each stage's
 * tfjs name (`down0_1`, `mid_attn`, `up1/conv`) and its key in the PyTorch UNet's `stages`.
 */
export function unetWeights(p: UNetConfig, inC: number, embC: number, height: number): Weight[] {
  const ch = p.channels;
  const temb = 4 * ch;
  const out: Weight[] = [...denseWeights('time/dense0', 'time.dense0', embC, temb), ...denseWeights('time/dense1', 'time.dense1', temb, temb)];
  out.push(...conv3Weights('conv_in', 'conv_in', inC, ch));
  const res = (name: string, c: number, o: number) => out.push(...resBlockWeights(name, `stages.${name}`, c, o, temb, p.scaleShift));
  const attn = (name: string, c: number) => out.push(...attentionWeights(name, `stages.${name}`, c));
  const skips = [ch];
  let c = ch;
  let size = height;
  const levels = p.channelMult.length;
  for (let level = 0; level < levels; level++) {
    const o = ch * p.channelMult[level]!;
    for (let b = 0; b < p.resBlocks; b++) {
      res(`down${level}_${b}`, c, o);
      c = o;
      if (p.attentionResolutions.includes(size)) attn(`down${level}_${b}_attn`, c);
      skips.push(c);
    }
    if (level !== levels - 1) {
      out.push(...conv3Weights(`down${level}/conv`, `stages.down${level}.conv`, c, c));
      skips.push(c);
      size = Math.ceil(size / 2);
    }
  }
  res('mid_0', c, c);
  attn('mid_attn', c);
  res('mid_1', c, c);
  for (let level = levels - 1; level >= 0; level--) {
    const o = ch * p.channelMult[level]!;
    for (let b = 0; b < p.resBlocks + 1; b++) {
      res(`up${level}_${b}`, c + skips.pop()!, o);
      c = o;
      if (p.attentionResolutions.includes(size)) attn(`up${level}_${b}_attn`, c);
    }
    if (level !== 0) {
      out.push(...conv3Weights(`up${level}/conv`, `stages.up${level}.conv`, c, c));
      size *= 2;
    }
  }
  out.push(...groupNormWeights('out/norm', 'out.norm', c), ...conv3Weights('out/conv', 'out.conv', c, p.outChannels));
  return out;
}

const addWeights = (ctx: GenerativeContext, weights: Weight[]) => {
  for (const [tfjs, torch, layout, shape] of weights) ctx.weight(tfjs, torch, layout, shape);
};

/** The tfjs factories of the flow steps: a network of only these has forward_flow and inverse. */
export const FLOW_FACTORIES: ReadonlySet<string> = new Set([
  'PatchbayAffineCoupling',
  'PatchbayActNorm',
  'PatchbayInvertibleConv1x1',
  'PatchbayFlowSqueeze',
  'PatchbayFlowSplit',
  'PatchbayFlowPrior',
  'PatchbayFlowLogit',
]);

/**
 * The model class's `forward_flow` and `inverse` when its graph is one chain of flow steps from its
 * one input to its one output (RealNVP, Glow: what src/runtime/program/flows.ts walks), else null.
 * `attrOf` gives each layer step's module attribute (by the step's value). Lines are relative to
 * the class body; only fixed words and those attributes (already safe identifiers) appear.
 */
export function flowMethods(main: PlanBody, attrOf: ReadonlyMap<string, string>): string[] | null {
  const inputs = main.steps.filter((s) => s.kind === 'input');
  if (inputs.length !== 1 || main.outputs.length !== 1) return null;
  let previous = inputs[0]!.value;
  const attrs: string[] = [];
  let splits = false;
  for (const step of main.steps) {
    if (step.kind === 'input') continue;
    if (step.kind !== 'layer' || !FLOW_FACTORIES.has(step.factory) || step.when !== undefined) return null;
    if (step.inputs.length !== 1 || step.inputs[0] !== previous || !attrOf.has(step.value)) return null;
    attrs.push(attrOf.get(step.value)!);
    splits ||= step.factory === 'PatchbayFlowSplit';
    previous = step.value;
  }
  if (!attrs.length || main.outputs[0]!.value !== previous) return null;
  const I = '    ';
  // `for step in (\n self.a,\n self.b,\n ):` — one step a line.
  const loop = (list: string[]) => [`${I}for step in (`, ...list.map((a) => `${I}${I}self.${a},`), `${I}):`];
  if (splits)
    return [
      'def forward_flow(self, x, factored=None):',
      `${I}${pyLiteral("x -> (z, log|det dz/dx|) per example: the flow's density direction, each step adding its log-determinant and each split its factored-out half's log-likelihood. Pass a list as factored to get those halves back (in standard form, one per split, in order) for inverse.")}`,
      `${I}logdet = x.new_zeros(x.shape[0])`,
      ...loop(attrs),
      `${I}${I}x, step_logdet, *eps = step.forward_flow(x)`,
      `${I}${I}logdet = logdet + step_logdet`,
      `${I}${I}if factored is not None:`,
      `${I}${I}${I}factored.extend(eps)`,
      `${I}return x, logdet`,
      '',
      'def inverse(self, z, factored=None, temperature=1.0):',
      `${I}${pyLiteral("z -> x: the steps backwards, each inverted. Each split takes its factored-out half from factored (forward_flow's, to get x back) or draws it from N(0, temperature^2); to sample, draw z from N(0, temperature^2) too.")}`,
      `${I}pending = list(factored) if factored is not None else []`,
      ...loop([...attrs].reverse()),
      `${I}${I}if isinstance(step, FlowSplit):`,
      `${I}${I}${I}z = step.inverse(z, pending.pop() if pending else None, temperature)`,
      `${I}${I}else:`,
      `${I}${I}${I}z = step.inverse(z)`,
      `${I}return z`,
    ];
  return [
    'def forward_flow(self, x):',
    `${I}${pyLiteral("x -> (z, log|det dz/dx|) per example: the flow's density direction, each step adding its log-determinant.")}`,
    `${I}logdet = x.new_zeros(x.shape[0])`,
    ...loop(attrs),
    `${I}${I}x, step_logdet = step.forward_flow(x)`,
    `${I}${I}logdet = logdet + step_logdet`,
    `${I}return x, logdet`,
    '',
    'def inverse(self, z):',
    `${I}${pyLiteral('z -> x: the steps backwards, each inverted (sampling: z from a standard normal).')}`,
    ...loop([...attrs].reverse()),
    `${I}${I}z = step.inverse(z)`,
    `${I}return z`,
  ];
}

export const GENERATIVE_EMITTERS: Record<string, GenerativeEmitter> = {
  PatchbayFlowSqueeze(_config, [x], _out, ctx) {
    ctx.helper('FlowSqueeze');
    ctx.init(`self.${ctx.attr} = FlowSqueeze()`);
    return `self.${ctx.attr}(${x!.name})`;
  },
  PatchbayFlowSplit(_config, [x], _out, ctx) {
    const c = last(x!);
    const [kept, factored] = [Math.floor(c / 2), c - Math.floor(c / 2)];
    ctx.helper('FlowSplit');
    ctx.init(`self.${ctx.attr} = FlowSplit(${c})`);
    ctx.weight('prior_kernel', 'prior.weight', 'conv', [3, 3, kept, 2 * factored]);
    ctx.weight('prior_bias', 'prior.bias', 'copy', [2 * factored]);
    ctx.weight('prior_log_scale', 'prior_log_scale', 'copy', [2 * factored]);
    return `self.${ctx.attr}(${x!.name})`;
  },
  PatchbayFlowPrior(_config, [x], _out, ctx) {
    const c = last(x!);
    ctx.helper('FlowPrior');
    ctx.init(`self.${ctx.attr} = FlowPrior(${c}, image=${bool(isImage(x!))})`);
    ctx.weight('mean', 'mean', 'copy', [c]);
    ctx.weight('log_scale', 'log_scale', 'copy', [c]);
    return `self.${ctx.attr}(${x!.name})`;
  },
  PatchbayFlowLogit(config, [x], _out, ctx) {
    ctx.helper('FlowLogit');
    ctx.init(`self.${ctx.attr} = FlowLogit(${py(config.alpha)})`);
    return `self.${ctx.attr}(${x!.name})`;
  },
  PatchbayActNorm(_config, [x], _out, ctx) {
    const c = last(x!);
    ctx.helper('ActNorm');
    ctx.init(`self.${ctx.attr} = ActNorm(${c}, image=${bool(isImage(x!))})`);
    ctx.weight('log_scale', 'log_scale', 'copy', [c]);
    ctx.weight('bias', 'bias', 'copy', [c]);
    // The data-dependent initialisation's flag: 1 once the first batch has set bias and log_scale.
    ctx.weight('initialized', 'initialized', 'copy', [], false);
    return `self.${ctx.attr}(${x!.name})`;
  },
  PatchbayInvertibleConv1x1(_config, [x], _out, ctx) {
    const c = last(x!);
    ctx.helper('InvertibleConv1x1');
    ctx.init(`self.${ctx.attr} = InvertibleConv1x1(${c}, image=${bool(isImage(x!))})`);
    // W = P·L·(U + diag(sign·exp(log_s))): the LU factors as the tfjs layer stores them.
    ctx.weight('permutation', 'permutation', 'copy', [c, c], false);
    ctx.weight('lower', 'lower', 'copy', [c, c]);
    ctx.weight('upper', 'upper', 'copy', [c, c]);
    ctx.weight('log_s', 'log_s', 'copy', [c]);
    ctx.weight('sign_s', 'sign_s', 'copy', [c], false);
    return `self.${ctx.attr}(${x!.name})`;
  },
  PatchbayAffineCoupling(config, [x], _out, ctx) {
    const parity = Number(config.parity ?? 0) === 1 ? 1 : 0;
    const hidden = Number(config.hidden);
    if (!isImage(x!)) {
      const d = x!.shape[0]!;
      const depth = Number(config.depth ?? 3);
      const kept = parity === 0 ? Math.ceil(d / 2) : Math.floor(d / 2);
      ctx.helper('AffineCouplingMLP');
      ctx.init(`self.${ctx.attr} = AffineCouplingMLP(${d}, parity=${parity}, hidden=${py(hidden)}, depth=${py(depth)})`);
      let width = kept;
      for (let i = 0; i <= depth; i++) {
        const o = i === depth ? d - kept : hidden;
        ctx.weight(i === depth ? 'kernel_out' : `kernel_${i}`, `kernels.${i}`, 'copy', [2, width, o]);
        ctx.weight(i === depth ? 'bias_out' : `bias_${i}`, `biases.${i}`, 'copy', [2, 1, o]);
        width = o;
      }
      return `self.${ctx.attr}(${x!.name})`;
    }
    const c = last(x!);
    ctx.helper('AffineCouplingConv');
    ctx.init(
      `self.${ctx.attr} = AffineCouplingConv(${c}, parity=${parity}, hidden=${py(hidden)}, mask=${config.mask === 'channel' ? '"channel"' : '"checkerboard"'}${config.scale === 'tanh' ? ', scale="tanh"' : ''})`,
    );
    ctx.weight('conv1_kernel', 'conv1.weight', 'conv', [3, 3, c, hidden]);
    ctx.weight('conv1_bias', 'conv1.bias', 'copy', [hidden]);
    ctx.weight('mix_kernel', 'mix.weight', 'dense', [hidden, hidden]);
    ctx.weight('mix_bias', 'mix.bias', 'copy', [hidden]);
    ctx.weight('conv2_kernel', 'conv2.weight', 'conv', [3, 3, hidden, 2 * c]);
    ctx.weight('conv2_bias', 'conv2.bias', 'copy', [2 * c]);
    return `self.${ctx.attr}(${x!.name})`;
  },
  PatchbayTimestepEmbedding(config, [t], _out, ctx) {
    ctx.helper('TimestepEmbedding');
    ctx.init(`self.${ctx.attr} = TimestepEmbedding(${py(Number(config.dim))}, max_period=${py(Number(config.maxPeriod ?? 10000))})`);
    return `self.${ctx.attr}(${t!.name})`;
  },
  PatchbayTimeResBlock(config, [x, emb], _out, ctx) {
    const [c, e, o] = [last(x!), last(emb!), Number(config.filters)];
    const scaleShift = config.scaleShift === true;
    ctx.helper('TimeResBlock');
    ctx.init(
      `self.${ctx.attr} = TimeResBlock(${c}, ${py(o)}, ${e}, groups=${py(Number(config.groups ?? 32))}, dropout=${py(Number(config.dropout ?? 0))}, scale_shift=${bool(scaleShift)})`,
    );
    addWeights(ctx, resBlockWeights('', '', c, o, e, scaleShift));
    return `self.${ctx.attr}(${x!.name}, ${emb!.name})`;
  },
  PatchbaySpatialAttention(config, [x], _out, ctx) {
    const c = last(x!);
    ctx.helper('SpatialAttention');
    ctx.init(`self.${ctx.attr} = SpatialAttention(${c}, heads=${py(Number(config.heads ?? 1))}, groups=${py(Number(config.groups ?? 32))})`);
    addWeights(ctx, attentionWeights('', '', c));
    return `self.${ctx.attr}(${x!.name})`;
  },
  PatchbayUNet(config, [x, emb], _out, ctx) {
    const p: UNetConfig = {
      channels: Number(config.channels),
      channelMult: (config.channelMult as unknown[]).map(Number),
      resBlocks: Number(config.resBlocks),
      attentionResolutions: (config.attentionResolutions as unknown[]).map(Number),
      outChannels: Number(config.outChannels),
      scaleShift: config.scaleShift === true,
    };
    const [height, , inC] = x!.shape as [number, number, number];
    const embC = last(emb!);
    for (const h of ['TimeResBlock', 'SpatialAttention', 'UNetDownsample', 'UNetUpsample', 'UNet'] as const) ctx.helper(h);
    ctx.init(
      `self.${ctx.attr} = UNet(${inC}, ${embC}, ${py(p.outChannels)}, height=${height}, channels=${py(p.channels)}, channel_mult=${py(p.channelMult)}, res_blocks=${py(p.resBlocks)}, attention_resolutions=${py(p.attentionResolutions)}, dropout=${py(Number(config.dropout ?? 0))}, groups=${py(Number(config.groups ?? 32))}, heads=${py(Number(config.heads ?? 1))}, scale_shift=${bool(p.scaleShift)})`,
    );
    addWeights(ctx, unetWeights(p, inC, embC, height));
    return `self.${ctx.attr}(${x!.name}, ${emb!.name})`;
  },
};

/** The Python classes model.py carries when a generative layer needs them. */
export const GENERATIVE_HELPERS: Record<GenerativeHelperName, string> = {
  FlowSqueeze: `class FlowSqueeze(nn.Module):
    """RealNVP's squeeze, a flow step: each 2x2 patch of C channels becomes one pixel of 4C channels,
    channel (2 * dy + dx) * C + c as the graph's channels-last layer orders them. A permutation:
    log|det J| = 0. No weights."""

    def forward(self, x):
        n, c, h, w = x.shape
        patches = x.reshape(n, c, h // 2, 2, w // 2, 2)  # n, c, row, dy, column, dx
        return patches.permute(0, 3, 5, 1, 2, 4).reshape(n, 4 * c, h // 2, w // 2)

    def forward_flow(self, x):
        return self(x), x.new_zeros(x.shape[0])

    def inverse(self, y):
        n, c4, h, w = y.shape
        patches = y.reshape(n, 2, 2, c4 // 4, h, w)  # n, dy, dx, c, row, column
        return patches.permute(0, 3, 4, 1, 5, 2).reshape(n, c4 // 4, 2 * h, 2 * w)`,
  FlowSplit: `class FlowSplit(nn.Module):
    """Glow's split (factor-out), a flow step: the first C // 2 channels are kept; the rest are
    factored out and modelled by a Gaussian whose mean and log-scale a 3x3 convolution of the kept
    half gives (Glow's split2d_prior: weights and bias start at zero and the output is scaled by
    exp(3 * prior_log_scale), so a new split's prior is the standard normal). forward_flow returns
    the kept half, the factored half's log-likelihood (added to the log-determinant) and that half in
    standard form, eps = (factored - mean) * exp(-log_scale); inverse(y, eps) puts it back, drawing
    eps from N(0, temperature^2) when none is given."""

    def __init__(self, channels):
        super().__init__()
        self.kept = channels // 2
        factored = channels - self.kept
        self.prior = nn.Conv2d(self.kept, 2 * factored, 3, padding=1)
        self.prior_log_scale = nn.Parameter(torch.zeros(2 * factored))
        nn.init.zeros_(self.prior.weight)
        nn.init.zeros_(self.prior.bias)

    def prior_of(self, kept):
        h = self.prior(kept) * torch.exp(3 * self.prior_log_scale).view(1, -1, 1, 1)
        mean, log_scale = h.chunk(2, dim=1)
        return mean, log_scale

    def forward(self, x):
        return x[:, : self.kept]

    def forward_flow(self, x):
        kept, factored = x[:, : self.kept], x[:, self.kept :]
        mean, log_scale = self.prior_of(kept)
        eps = (factored - mean) * torch.exp(-log_scale)
        log_p = (-0.5 * eps.square() - log_scale).sum(dim=(1, 2, 3)) - eps[0].numel() * 0.5 * math.log(2 * math.pi)
        return kept, log_p, eps

    def inverse(self, y, eps=None, temperature=1.0):
        mean, log_scale = self.prior_of(y)
        if eps is None:
            eps = torch.randn_like(mean) * temperature
        return torch.cat([y, mean + torch.exp(log_scale) * eps], dim=1)`,
  FlowPrior: `class FlowPrior(nn.Module):
    """Glow's learned top prior as the last flow step: the flow's output h is modelled by
    N(mean, exp(log_scale)^2) per channel, written as z = (h - mean) * exp(-log_scale) (standard
    normal), log|det J| = -positions * sum(log_scale). Both start at zero."""

    def __init__(self, channels, image):
        super().__init__()
        self.image = image
        self.mean = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))

    def _per_channel(self, v):
        return v.view(1, -1, 1, 1) if self.image else v

    def forward(self, x):
        return (x - self._per_channel(self.mean)) * torch.exp(-self._per_channel(self.log_scale))

    def forward_flow(self, x):
        positions = x.shape[2] * x.shape[3] if self.image else 1
        return self(x), (-self.log_scale.sum() * positions).expand(x.shape[0])

    def inverse(self, y):
        return y * torch.exp(self._per_channel(self.log_scale)) + self._per_channel(self.mean)`,
  FlowLogit: `class FlowLogit(nn.Module):
    """RealNVP's logit preprocessing as the first flow step: dequantised pixels x in [0, 1) become
    y = logit(p), p = alpha + (1 - 2 * alpha) * x, so the flow models the whole real line.
    log|det J| = sum(log(1 - 2 * alpha) - log(p) - log(1 - p)); the inverse is
    (sigmoid(y) - alpha) / (1 - 2 * alpha). No weights."""

    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return self.forward_flow(x)[0]

    def forward_flow(self, x):
        p = x * (1 - 2 * self.alpha) + self.alpha
        log_p, log_q = torch.log(p), torch.log1p(-p)
        logdet = (math.log(1 - 2 * self.alpha) - log_p - log_q).flatten(1).sum(1)
        return log_p - log_q, logdet

    def inverse(self, y):
        return (torch.sigmoid(y) - self.alpha) / (1 - 2 * self.alpha)`,
  ActNorm: `class ActNorm(nn.Module):
    """Glow's ActNorm, a flow step: y = (x + bias) * exp(log_scale) per channel (dim 1 of images,
    the last dim of vectors). While the buffer \`initialized\` is not 1, a batch sets bias and
    log_scale so that it comes out with zero mean and unit variance per channel, then sets it to 1
    (data-dependent initialisation, as the graph's layer does in any mode); loaded weights carry it.
    Under DistributedDataParallel, initialise before wrapping (one forward on a batch, or loaded
    weights): DDP copies rank 0's parameters to the others only when it wraps the model.
    log|det J| = positions * sum(log_scale)."""

    def __init__(self, channels, image):
        super().__init__()
        self.image = image
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("initialized", torch.zeros(()))

    def _per_channel(self, v):
        return v.view(1, -1, 1, 1) if self.image else v

    @torch.no_grad()
    def initialize_from(self, x):
        dims = (0, 2, 3) if self.image else (0,)
        mean = x.mean(dim=dims, keepdim=True)
        variance = (x - mean).square().mean(dim=dims)
        self.bias.copy_(-mean.flatten())
        self.log_scale.copy_(-torch.log(torch.sqrt(variance) + 1e-6))
        self.initialized.fill_(1)

    def forward(self, x):
        if self.initialized.item() != 1:
            self.initialize_from(x)
        return (x + self._per_channel(self.bias)) * torch.exp(self._per_channel(self.log_scale))

    def forward_flow(self, x):
        y = self(x)
        positions = x.shape[2] * x.shape[3] if self.image else 1
        return y, (self.log_scale.sum() * positions).expand(x.shape[0])

    def inverse(self, y):
        return y * torch.exp(-self._per_channel(self.log_scale)) - self._per_channel(self.bias)`,
  InvertibleConv1x1: `class InvertibleConv1x1(nn.Module):
    """Glow's invertible 1x1 convolution, a flow step: every position's channels times one matrix
    W = P @ L @ (U + diag(sign_s * exp(log_s))), kept in LU form as the graph's layer keeps it: P a
    fixed permutation and sign_s fixed signs (buffers), L unit lower and U strictly upper triangular
    (the parts of \`lower\` and \`upper\` outside the triangles are ignored).
    log|det J| = positions * sum(log_s); the inverse is exact. Starts as a random rotation."""

    def __init__(self, channels, image):
        super().__init__()
        self.image = image
        p, l, u = torch.linalg.lu(torch.linalg.qr(torch.randn(channels, channels))[0])
        s = torch.diagonal(u)
        self.register_buffer("permutation", p)
        self.lower = nn.Parameter(torch.tril(l, -1))
        self.upper = nn.Parameter(torch.triu(u, 1))
        self.log_s = nn.Parameter(torch.log(s.abs()))
        self.register_buffer("sign_s", torch.where(s < 0, -torch.ones_like(s), torch.ones_like(s)))

    def weight_matrix(self):
        eye = torch.eye(self.log_s.shape[0], dtype=self.log_s.dtype, device=self.log_s.device)
        lower = torch.tril(self.lower, -1) + eye
        upper = torch.triu(self.upper, 1) + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.permutation @ (lower @ upper)

    def _apply_matrix(self, w, x):
        if not self.image:
            return x @ w.T
        n, c, h, width = x.shape
        return (w @ x.reshape(n, c, h * width)).reshape(n, c, h, width)

    def forward(self, x):
        return self._apply_matrix(self.weight_matrix(), x)

    def forward_flow(self, x):
        positions = x.shape[2] * x.shape[3] if self.image else 1
        return self(x), (self.log_s.sum() * positions).expand(x.shape[0])

    def inverse(self, y):
        return self._apply_matrix(torch.linalg.inv(self.weight_matrix()), y)`,
  AffineCouplingMLP: `class AffineCouplingMLP(nn.Module):
    """An affine coupling of vectors, a flow step (RealNVP): the even (parity 0) or odd features are
    kept, and two MLPs s and t of \`depth\` hidden layers (LeakyReLU 0.2) of them give
    y_changed = x_changed * exp(s) + t. s and t are held stacked, as the graph's layer holds them:
    kernels[i][0] is s's layer i and kernels[i][1] is t's (in, out), biases[i] likewise (1, out).
    log|det J| = sum(s). The last layers start at zero, so a new coupling is the identity."""

    def __init__(self, features, parity, hidden, depth):
        super().__init__()
        self.parity = parity
        kept = len(range(parity, features, 2))
        widths = [kept] + [hidden] * depth + [features - kept]
        self.kernels = nn.ParameterList()
        self.biases = nn.ParameterList()
        for i, (width, out) in enumerate(zip(widths[:-1], widths[1:])):
            kernel = torch.zeros(2, width, out)
            if i < depth:
                for net in kernel:
                    nn.init.xavier_uniform_(net)
            self.kernels.append(nn.Parameter(kernel))
            self.biases.append(nn.Parameter(torch.zeros(2, 1, out)))

    def scale_and_shift(self, kept):
        h = torch.stack([kept, kept])
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            h = torch.bmm(h, kernel) + bias
            if i < len(self.kernels) - 1:
                h = F.leaky_relu(h, 0.2)
        return h[0], h[1]

    def forward_flow(self, x):
        kept, changed = x[:, self.parity::2], x[:, 1 - self.parity::2]
        s, t = self.scale_and_shift(kept)
        y = x.clone()
        y[:, 1 - self.parity::2] = changed * torch.exp(s) + t
        return y, s.sum(dim=1)

    def forward(self, x):
        return self.forward_flow(x)[0]

    def inverse(self, y):
        kept, changed = y[:, self.parity::2], y[:, 1 - self.parity::2]
        s, t = self.scale_and_shift(kept)
        x = y.clone()
        x[:, 1 - self.parity::2] = (changed - t) * torch.exp(-s)
        return x`,
  AffineCouplingConv: `class AffineCouplingConv(nn.Module):
    """An affine coupling of images, a flow step (Glow): a checkerboard of pixels or half of the
    channels (mask m = 1) is kept; a conv net of m * x (3x3 conv, ReLU, 1x1, ReLU, 3x3 conv) gives a
    shift and h for the rest: y = m * x + (1 - m) * (x + shift) * scale, scale = sigmoid(h + 2) as
    Glow or exp(tanh(h)) (scale="tanh": bounded both ways, so sampling cannot overflow).
    log|det J| = sum((1 - m) * log scale). The 1x1 layer is a Linear over the channels, as the graph's
    layer holds it; the last conv starts at zero, so a new coupling is nearly the identity."""

    def __init__(self, channels, parity, hidden, mask, scale="sigmoid"):
        super().__init__()
        self.channels = channels
        self.tanh_scale = scale == "tanh"
        self.parity = parity
        self.checkerboard = mask == "checkerboard"
        self.conv1 = nn.Conv2d(channels, hidden, 3, padding=1)
        self.mix = nn.Linear(hidden, hidden)
        self.conv2 = nn.Conv2d(hidden, 2 * channels, 3, padding=1)
        for layer in (self.conv1, self.mix):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def mask(self, x):
        """1 where x is kept: (1, 1, H, W) for the checkerboard, (1, C, 1, 1) for the channels."""
        _, c, h, w = x.shape
        if self.checkerboard:
            rows = torch.arange(h, device=x.device).view(h, 1)
            columns = torch.arange(w, device=x.device).view(1, w)
            return ((rows + columns + self.parity) % 2 == 0).to(x.dtype).view(1, 1, h, w)
        first_half = torch.arange(c, device=x.device) < c / 2
        return (first_half != (self.parity == 1)).to(x.dtype).view(1, c, 1, 1)

    def conditioner(self, kept):
        a = F.relu(self.conv1(kept))
        b = F.relu(self.mix(a.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
        out = self.conv2(b)
        shift, raw = out[:, : self.channels], out[:, self.channels :]
        return shift, torch.tanh(raw) if self.tanh_scale else -F.softplus(-(raw + 2))

    def forward_flow(self, x):
        m = self.mask(x)
        free = 1 - m
        shift, log_scale = self.conditioner(x * m)
        y = x * m + free * ((x + shift) * torch.exp(log_scale))
        return y, (free * log_scale).sum(dim=(1, 2, 3))

    def forward(self, x):
        return self.forward_flow(x)[0]

    def inverse(self, y):
        m = self.mask(y)
        shift, log_scale = self.conditioner(y * m)
        return y * m + (1 - m) * (y * torch.exp(-log_scale) - shift)`,
  TimestepEmbedding: `class TimestepEmbedding(nn.Module):
    """The diffusion UNets' sinusoidal timestep embedding: t (N, 1) becomes
    [cos(t * f_0) ... cos(t * f_{h-1}), sin(t * f_0) ... sin(t * f_{h-1})], h = dim // 2,
    f_i = max_period ** (-i / h) (an odd dim gets a zero last). No weights."""

    def __init__(self, dim, max_period=10000):
        super().__init__()
        self.dim = dim
        half = dim // 2
        # Worked out in double precision, then float32, as the graph's layer does (not a buffer: no state).
        self.freqs = [math.exp(-math.log(max_period) * i / half) for i in range(half)]

    def forward(self, t):
        freqs = torch.tensor(self.freqs, dtype=torch.float32, device=t.device).view(1, -1)
        args = t.reshape(-1, 1) * freqs
        parts = [torch.cos(args), torch.sin(args)]
        if self.dim % 2 == 1:
            parts.append(args.new_zeros(args.shape[0], 1))
        return torch.cat(parts, dim=1)`,
  TimeResBlock: `class TimeResBlock(nn.Module):
    """The diffusion UNets' residual block: h = conv1(swish(norm1(x))); the timestep embedding
    temb(swish(emb)) is added before norm2 (DDPM) or scales and shifts norm2's output
    (ADM's AdaGN, scale_shift); swish, dropout, conv2 (started at zero); plus x, through a 1x1
    shortcut (a Linear over the channels) when the channels change. GroupNorm eps 1e-5."""

    def __init__(self, in_channels, out_channels, emb_channels, groups=32, dropout=0.0, scale_shift=False):
        super().__init__()
        self.scale_shift = scale_shift
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=1e-5)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.temb = nn.Linear(emb_channels, 2 * out_channels if scale_shift else out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=1e-5)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Linear(in_channels, out_channels) if in_channels != out_channels else None
        for layer in (self.conv1, self.temb, self.shortcut):
            if layer is not None:
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        e = self.temb(F.silu(emb))[:, :, None, None]
        if self.scale_shift:
            scale, shift = e.chunk(2, dim=1)
            h = self.norm2(h) * (scale + 1) + shift
        else:
            h = self.norm2(h + e)
        h = self.conv2(self.dropout(F.silu(h)))
        if self.shortcut is None:
            return x + h
        return self.shortcut(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2) + h`,
  SpatialAttention: `class SpatialAttention(nn.Module):
    """Self-attention over an image's positions, residual (DDPM's AttnBlock, ADM's AttentionBlock):
    q, k, v from one Linear on norm(x), softmax(q k^T / sqrt(d)) v per head, then proj (started at
    zero), added to x. GroupNorm eps 1e-5."""

    def __init__(self, channels, heads=1, groups=32):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels, eps=1e-5)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        nn.init.xavier_uniform_(self.qkv.weight)
        nn.init.zeros_(self.qkv.bias)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        n, c, h, w = x.shape
        d = c // self.heads
        tokens = self.norm(x).reshape(n, c, h * w).transpose(1, 2)  # n, positions, c
        q, k, v = (part.reshape(n, h * w, self.heads, d).transpose(1, 2) for part in self.qkv(tokens).split(c, dim=-1))
        weights = torch.softmax((q @ k.transpose(2, 3)) * (1 / math.sqrt(d)), dim=-1)
        mixed = (weights @ v).transpose(1, 2).reshape(n, h * w, c)
        return x + self.proj(mixed).transpose(1, 2).reshape(n, c, h, w)`,
  UNetDownsample: `class UNetDownsample(nn.Module):
    """The UNet's step down a level: a 3x3 convolution with stride 2 and TensorFlow's "same"
    padding (an even size pads one pixel after, none before)."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x):
        pads = []
        for size in (x.shape[3], x.shape[2]):  # F.pad's order: left, right, top, bottom
            total = max(((size + 1) // 2 - 1) * 2 + 3 - size, 0)
            pads += [total // 2, total - total // 2]
        return self.conv(F.pad(x, pads))`,
  UNetUpsample: `class UNetUpsample(nn.Module):
    """The UNet's step up a level: nearest-neighbour x2, then a 3x3 convolution."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))`,
  UNet: `class UNet(nn.Module):
    """The DDPM UNet (Ho et al. 2020), built in the graph's layer's order and with its names: a
    timestep MLP (emb -> 4 ch -> swish -> 4 ch); conv_in; per level \`res_blocks\` residual blocks
    (each followed by attention where the image's height is in attention_resolutions) and a
    stride-2 conv between levels; the middle (residual, attention, residual); per level on the way
    up \`res_blocks + 1\` residual blocks over the concatenation with the skip saved on the way down,
    and nearest x2 + conv between levels; then GroupNorm, swish, conv out. \`stages\` holds the
    blocks by the graph's names (down0_0, down0_0_attn, down0, mid_0, up1_2, up1...) and
    \`skips\` says which stage saves its output for the way up ("push") and which takes one ("pop")."""

    def __init__(self, in_channels, emb_channels, out_channels, height, channels, channel_mult, res_blocks, attention_resolutions, dropout=0.0, groups=32, heads=1, scale_shift=False):
        super().__init__()
        temb = 4 * channels
        self.time = nn.ModuleDict({"dense0": nn.Linear(emb_channels, temb), "dense1": nn.Linear(temb, temb)})
        self.conv_in = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.stages = nn.ModuleDict()
        self.skips = []

        def res(name, c, o, skip):
            self.stages[name] = TimeResBlock(c, o, temb, groups=groups, dropout=dropout, scale_shift=scale_shift)
            self.skips.append(skip)

        def attn(name, c, skip):
            self.stages[name] = SpatialAttention(c, heads=heads, groups=groups)
            self.skips.append(skip)

        saved = [channels]
        c = channels
        size = height
        levels = len(channel_mult)
        for level in range(levels):
            o = channels * channel_mult[level]
            for b in range(res_blocks):
                wants_attn = size in attention_resolutions
                res(f"down{level}_{b}", c, o, "none" if wants_attn else "push")
                c = o
                if wants_attn:
                    attn(f"down{level}_{b}_attn", c, "push")
                saved.append(c)
            if level != levels - 1:
                self.stages[f"down{level}"] = UNetDownsample(c)
                self.skips.append("push")
                saved.append(c)
                size = (size + 1) // 2
        res("mid_0", c, c, "none")
        attn("mid_attn", c, "none")
        res("mid_1", c, c, "none")
        for level in reversed(range(levels)):
            o = channels * channel_mult[level]
            for b in range(res_blocks + 1):
                res(f"up{level}_{b}", c + saved.pop(), o, "pop")
                c = o
                if size in attention_resolutions:
                    attn(f"up{level}_{b}_attn", c, "none")
            if level != 0:
                self.stages[f"up{level}"] = UNetUpsample(c)
                self.skips.append("none")
                size *= 2
        self.out = nn.ModuleDict({"norm": nn.GroupNorm(groups, c, eps=1e-5), "conv": nn.Conv2d(c, out_channels, 3, padding=1)})
        for layer in (self.time["dense0"], self.time["dense1"], self.conv_in, *(s.conv for s in self.stages.values() if isinstance(s, (UNetDownsample, UNetUpsample)))):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.out["conv"].weight)
        nn.init.zeros_(self.out["conv"].bias)

    def forward(self, x, emb):
        temb = self.time["dense1"](F.silu(self.time["dense0"](emb)))
        h = self.conv_in(x)
        saved = [h]
        for stage, skip in zip(self.stages.values(), self.skips):
            if skip == "pop":
                h = torch.cat([h, saved.pop()], dim=1)
            h = stage(h, temb) if isinstance(stage, TimeResBlock) else stage(h)
            if skip == "push":
                saved.append(h)
        return self.out["conv"](F.silu(self.out["norm"](h)))`,
};
