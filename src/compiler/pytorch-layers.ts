/**
 * How each tfjs layer of a plan becomes PyTorch: the module its class constructs in `__init__`, the
 * line its `forward` runs, and where its weights go. One function per tfjs factory; a factory
 * without one is an export error naming the node, never a silent gap.
 *
 * Layout: the graph is channels-last (tfjs: N, H, W, C). In the export every image (a rank-4 value)
 * is N, C, H, W, PyTorch's own layout; other ranks keep the graph's order. Layers whose meaning
 * depends on the axis order (Dense, LayerNorm, Reshape, Flatten, Permute, softmax, axes) move to
 * the graph's order and back where they must, so the numbers match the graph exactly.
 */
import { pyLiteral } from './escape-python';
import { ATTENTION_EMITTERS, ATTENTION_HELPERS, type AttentionHelperName } from './pytorch-layers-attention';
import { GENERATIVE_EMITTERS, GENERATIVE_HELPERS, type GenerativeHelperName } from './pytorch-layers-generative';
import { GLOM_HELPERS, glomEmitters, type GlomHelperName } from './pytorch-layers-glom';

/** One value in `forward`: its Python name and its shape in the graph's order, without the batch. */
export interface PyValue {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** How a tfjs weight is laid out against its PyTorch parameter. */
export type WeightLayout = 'copy' | 'dense' | 'conv' | 'depthwise';

export interface WeightEntry {
  /** The tfjs weight name relative to the class: `layer/kernel`. */
  tfjs: string;
  /** The state_dict key relative to the class: `layer.weight`. */
  torch: string;
  layout: WeightLayout;
  /** The tfjs shape. */
  shape: number[];
  trainable: boolean;
}

/** What a layer emitter writes into its class. */
export interface LayerContext {
  /** The attribute the layer's module gets (`self.<attr>`), already unique and safe. */
  attr: string;
  /** The tfjs layer name relative to the class (the weight-name prefix). */
  layerName: string;
  init: (line: string) => void;
  /** A second attribute of the layer's own (`<attr>_gamma`), unique in the class. */
  ownAttr: (suffix: string) => string;
  forward: (line: string) => void;
  /** `own`: the key is a parameter of the class itself (`attr_gamma`), not of the layer's module. */
  weight: (name: string, torch: string, layout: WeightLayout, shape: number[], trainable?: boolean, own?: boolean) => void;
  /** Marks a helper function of model.py as used. */
  helper: (name: HelperName) => void;
}

export type HelperName =
  | 'SeparableConv2d'
  | 'RandomTranslation'
  | 'avg_pool_excluding_padding'
  | 'resize_bilinear_tf'
  | 'hard_sigmoid'
  | AttentionHelperName
  | GenerativeHelperName
  | GlomHelperName;

/** An export refusal: a layer or setting the PyTorch export cannot write faithfully. */
export class PytorchExportError extends Error {
  constructor(
    message: string,
    readonly nodeId?: string,
  ) {
    super(message);
    this.name = 'PytorchExportError';
  }
}

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)]);
const tuple = (xs: readonly number[]) => pyLiteral(xs);
const isImage = (v: PyValue) => v.shape.length === 3;

/** The graph's axis (batch = 0, negative from the end) as a PyTorch dim, for a value of this rank. */
export function torchAxis(axis: number, rank: number): number {
  const a = axis < 0 ? rank + axis : axis;
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a]!;
}

/** To the graph's order (N, H, W, C) and back, for images. */
const toChannelsLast = (x: string) => `${x}.permute(0, 2, 3, 1)`;
const toChannelsFirst = (x: string) => `${x}.permute(0, 3, 1, 2)`;

/** Applies `fn` on the channels-last view of an image (a layer that acts on the last axis). */
const onLastAxis = (v: PyValue, fn: (x: string) => string) => (isImage(v) ? toChannelsFirst(fn(toChannelsLast(v.name))) : fn(v.name));

/** The activation as an expression over `x`, for a value shaped like `v` (softmax's axis). */
export function activation(name: string, x: string, v: PyValue, ctx: LayerContext): string {
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return `F.relu(${x})`;
    case 'relu6':
      return `F.relu6(${x})`;
    case 'gelu':
      return `F.gelu(${x})`;
    case 'gelu_new':
      return `F.gelu(${x}, approximate="tanh")`;
    case 'swish':
      return `F.silu(${x})`;
    case 'mish':
      return `F.mish(${x})`;
    case 'sigmoid':
      return `torch.sigmoid(${x})`;
    case 'hardSigmoid':
      ctx.helper('hard_sigmoid');
      return `hard_sigmoid(${x})`;
    case 'tanh':
      return `torch.tanh(${x})`;
    case 'softmax':
      return `F.softmax(${x}, dim=${isImage(v) ? 1 : -1})`;
    case 'softplus':
      return `F.softplus(${x})`;
    case 'softsign':
      return `F.softsign(${x})`;
    case 'elu':
      return `F.elu(${x})`;
    case 'selu':
      return `F.selu(${x})`;
    default:
      throw new PytorchExportError(`The activation "${name}" has no PyTorch equivalent in the export.`);
  }
}

/** TensorFlow's "same" padding for one axis: the odd pixel goes after (bottom, right). */
function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/**
 * The padding of a window over an image: `[[top, bottom], [left, right]]`. A symmetric one goes
 * into the module (`padding=(h, w)`); an asymmetric one is an explicit F.pad in forward.
 */
function windowPads(
  v: PyValue,
  padding: unknown,
  kernel: [number, number],
  strides: [number, number],
  dilation: [number, number],
): [[number, number], [number, number]] {
  if (padding !== 'same')
    return [
      [0, 0],
      [0, 0],
    ];
  return [samePads(v.shape[0]!, kernel[0], strides[0], dilation[0]), samePads(v.shape[1]!, kernel[1], strides[1], dilation[1])];
}
const symmetric = (p: [[number, number], [number, number]]) => p[0][0] === p[0][1] && p[1][0] === p[1][1];
const fPad = (x: string, p: [[number, number], [number, number]], value?: string) =>
  `F.pad(${x}, (${p[1][0]}, ${p[1][1]}, ${p[0][0]}, ${p[0][1]})${value ? `, value=${value}` : ''})`;

/** Keyword arguments, leaving out PyTorch's defaults so the module reads like hand-written code. */
function kwargs(entries: Array<[string, string, string?]>): string {
  return entries
    .filter(([, value, fallback]) => value !== fallback)
    .map(([k, v]) => `, ${k}=${v}`)
    .join('');
}

type LayerEmitter = (config: Record<string, unknown>, inputs: PyValue[], out: PyValue, ctx: LayerContext) => string;

/** Conv2D and DepthwiseConv2D share the module and the padding; `groups` differs. */
function convolution(config: Record<string, unknown>, x: PyValue, out: PyValue, ctx: LayerContext, depthwise: boolean): string {
  const k = pair(config.kernelSize);
  const s = pair(config.strides ?? 1);
  const d = pair(config.dilationRate ?? 1);
  const cin = x.shape[2]!;
  const cout = out.shape[2]!;
  const pads = windowPads(x, config.padding, k, s, d);
  const inline = symmetric(pads);
  const bias = config.useBias !== false;
  ctx.init(
    `self.${ctx.attr} = nn.Conv2d(${cin}, ${cout}, ${tuple(k)}${kwargs([
      ['stride', tuple(s), '(1, 1)'],
      ['padding', tuple([pads[0][0], pads[1][0]]), inline ? '(0, 0)' : tuple([pads[0][0], pads[1][0]])],
      ['dilation', tuple(d), '(1, 1)'],
      ['groups', String(cin), depthwise ? undefined : String(cin)],
      ['bias', bias ? 'True' : 'False', 'True'],
    ])})`,
  );
  if (depthwise) ctx.weight('depthwise_kernel', 'weight', 'depthwise', [k[0], k[1], cin, cout / cin]);
  else ctx.weight('kernel', 'weight', 'conv', [k[0], k[1], cin, cout]);
  if (bias) ctx.weight('bias', 'bias', 'copy', [cout]);
  const input = inline ? x.name : fPad(x.name, pads);
  return activation(String(config.activation ?? 'linear'), `self.${ctx.attr}(${input})`, out, ctx);
}

function pooling(kind: 'max' | 'avg'): LayerEmitter {
  return (config, [x], out, ctx) => {
    const k = pair(config.poolSize);
    const s = pair(config.strides ?? config.poolSize);
    const pads = windowPads(x!, config.padding, k, s, [1, 1]);
    const inline = symmetric(pads) && pads[0][0] <= k[0] / 2 && pads[1][0] <= k[1] / 2;
    const padding = tuple([pads[0][0], pads[1][0]]);
    if (kind === 'max') {
      ctx.init(`self.${ctx.attr} = nn.MaxPool2d(${tuple(k)}, ${tuple(s)}${inline ? kwargs([['padding', padding, '(0, 0)']]) : ''})`);
      // Max pooling pads with -inf, as TensorFlow's "same" does, so a padded pixel never wins.
      return `self.${ctx.attr}(${inline ? x!.name : fPad(x!.name, pads, 'float("-inf")')})`;
    }
    if (inline) {
      // TensorFlow averages over the pixels inside the image only: count_include_pad=False.
      ctx.init(`self.${ctx.attr} = nn.AvgPool2d(${tuple(k)}, ${tuple(s)}${kwargs([['padding', padding, '(0, 0)']])}, count_include_pad=False)`);
      return `self.${ctx.attr}(${x!.name})`;
    }
    ctx.helper('avg_pool_excluding_padding');
    return `avg_pool_excluding_padding(${x!.name}, ${tuple(k)}, ${tuple(s)}, (${pads[1][0]}, ${pads[1][1]}, ${pads[0][0]}, ${pads[0][1]}))`;
  };
}

/**
 * A learned scale or offset alone (center xor scale): PyTorch's norms learn both or neither, so the
 * norm runs without its affine part and the one the graph learns is its own parameter.
 */
function partialAffine(config: Record<string, unknown>, c: number, y: string, channelDim: 'last' | 'second', ctx: LayerContext): string {
  const view = channelDim === 'second' ? '.view(-1, 1, 1)' : '';
  if (config.scale !== false) {
    const gamma = ctx.ownAttr('gamma');
    ctx.init(`self.${gamma} = nn.Parameter(torch.ones(${c}))`);
    ctx.weight('gamma', gamma, 'copy', [c], true, true);
    return `${y} * self.${gamma}${view}`;
  }
  const beta = ctx.ownAttr('beta');
  ctx.init(`self.${beta} = nn.Parameter(torch.zeros(${c}))`);
  ctx.weight('beta', beta, 'copy', [c], true, true);
  return `${y} + self.${beta}${view}`;
}

/** BatchNorm over the graph's last axis: BatchNorm2d on images, BatchNorm1d on (N, C) and (N, L, C). */
const batchNormalization: LayerEmitter = (config, [x], _out, ctx) => {
  const c = x!.shape[x!.shape.length - 1]!;
  const rank = x!.shape.length + 1;
  if (rank > 4) throw new PytorchExportError(`BatchNormalization on a rank-${rank} value has no PyTorch module in the export.`);
  const both = config.center !== false && config.scale !== false;
  const partial = config.center !== config.scale;
  const momentum = 1 - Number(config.momentum ?? 0.99);
  ctx.init(
    `self.${ctx.attr} = nn.BatchNorm${rank === 4 ? 2 : 1}d(${c}, eps=${pyLiteral(Number(config.epsilon ?? 1e-3))}, momentum=${pyLiteral(Number(momentum.toPrecision(12)))}${both ? '' : ', affine=False'})`,
  );
  // tfjs's weight order: gamma, beta, moving mean, moving variance.
  if (both) {
    ctx.weight('gamma', 'weight', 'copy', [c]);
    ctx.weight('beta', 'bias', 'copy', [c]);
  }
  const y = rank === 3 ? `self.${ctx.attr}(${x!.name}.transpose(1, 2)).transpose(1, 2)` : `self.${ctx.attr}(${x!.name})`;
  const result = partial ? partialAffine(config, c, y, rank === 4 ? 'second' : 'last', ctx) : y;
  ctx.weight('moving_mean', 'running_mean', 'copy', [c], false);
  ctx.weight('moving_variance', 'running_var', 'copy', [c], false);
  return result;
};

const layerNormalization: LayerEmitter = (config, [x], _out, ctx) => {
  const c = x!.shape[x!.shape.length - 1]!;
  const both = config.center !== false && config.scale !== false;
  ctx.init(`self.${ctx.attr} = nn.LayerNorm(${c}, eps=${pyLiteral(Number(config.epsilon ?? 1e-3))}${both ? '' : ', elementwise_affine=False'})`);
  if (both) {
    ctx.weight('gamma', 'weight', 'copy', [c]);
    ctx.weight('beta', 'bias', 'copy', [c]);
  }
  return onLastAxis(x!, (v) => {
    const y = `self.${ctx.attr}(${v})`;
    return config.center !== config.scale ? partialAffine(config, c, y, 'last', ctx) : y;
  });
};

/** A reshape in the graph's order: images move to channels-last before and back after. */
function graphOrderReshape(x: PyValue, out: PyValue, target: (v: string) => string): string {
  const input = isImage(x) ? toChannelsLast(x.name) : x.name;
  const result = target(input);
  return isImage(out) ? toChannelsFirst(result) : result;
}

/** Composes permutations: `x.permute(a).permute(b)` is `x.permute(compose(a, b))`. */
const compose = (a: number[], b: number[]) => b.map((i) => a[i]!);

export const LAYER_EMITTERS: Record<string, LayerEmitter> = {
  dense(config, [x], out, ctx) {
    const cin = x!.shape[x!.shape.length - 1]!;
    const units = Number(config.units);
    const bias = config.useBias !== false;
    ctx.init(`self.${ctx.attr} = nn.Linear(${cin}, ${units}${bias ? '' : ', bias=False'})`);
    ctx.weight('kernel', 'weight', 'dense', [cin, units]);
    if (bias) ctx.weight('bias', 'bias', 'copy', [units]);
    return activation(
      String(config.activation ?? 'linear'),
      onLastAxis(x!, (v) => `self.${ctx.attr}(${v})`),
      out,
      ctx,
    );
  },
  conv2d: (config, [x], out, ctx) => convolution(config, x!, out, ctx, false),
  depthwiseConv2d: (config, [x], out, ctx) => convolution(config, x!, out, ctx, true),
  separableConv2d(config, [x], out, ctx) {
    ctx.helper('SeparableConv2d');
    const k = pair(config.kernelSize);
    const s = pair(config.strides ?? 1);
    const d = pair(config.dilationRate ?? 1);
    const cin = x!.shape[2]!;
    const dm = Number(config.depthMultiplier ?? 1);
    const filters = out.shape[2]!;
    const pads = windowPads(x!, config.padding, k, s, d);
    const inline = symmetric(pads);
    const bias = config.useBias !== false;
    ctx.init(
      `self.${ctx.attr} = SeparableConv2d(${cin}, ${filters}, ${tuple(k)}, stride=${tuple(s)}, padding=${tuple(inline ? [pads[0][0], pads[1][0]] : [0, 0])}, dilation=${tuple(d)}, depth_multiplier=${dm}, bias=${bias ? 'True' : 'False'})`,
    );
    ctx.weight('depthwise_kernel', 'depthwise.weight', 'depthwise', [k[0], k[1], cin, dm]);
    ctx.weight('pointwise_kernel', 'pointwise.weight', 'conv', [1, 1, cin * dm, filters]);
    if (bias) ctx.weight('bias', 'pointwise.bias', 'copy', [filters]);
    return activation(String(config.activation ?? 'linear'), `self.${ctx.attr}(${inline ? x!.name : fPad(x!.name, pads)})`, out, ctx);
  },
  conv2dTranspose(config, [x], out, ctx) {
    const k = pair(config.kernelSize);
    const s = pair(config.strides ?? 1);
    const cin = x!.shape[2]!;
    const filters = out.shape[2]!;
    const bias = config.useBias !== false;
    // PyTorch's full output is (in - 1) * s + k (+ output_padding at the end); tfjs's is in * s
    // (+ max(k - s, 0) with "valid"). Rows tfjs adds past the kernel's reach come from
    // output_padding; rows "same" drops are cropped, the odd one at the end as TensorFlow does.
    const outputPadding = [0, 1].map((a) => Math.max(s[a]! - k[a]!, 0));
    const crop = [0, 1].map((a) => {
      const full = (x!.shape[a]! - 1) * s[a]! + k[a]! + outputPadding[a]!;
      const total = full - out.shape[a]!;
      const before = Math.floor(total / 2);
      return [before, total - before] as [number, number];
    });
    const inline = crop.every(([b, a]) => b === a);
    const padding = inline ? crop.map(([b]) => b) : [0, 0];
    ctx.init(
      `self.${ctx.attr} = nn.ConvTranspose2d(${cin}, ${filters}, ${tuple(k)}${kwargs([
        ['stride', tuple(s), '(1, 1)'],
        ['padding', tuple(padding), '(0, 0)'],
        ['output_padding', tuple(outputPadding), '(0, 0)'],
        ['bias', bias ? 'True' : 'False', 'True'],
      ])})`,
    );
    ctx.weight('kernel', 'weight', 'conv', [k[0], k[1], filters, cin]);
    if (bias) ctx.weight('bias', 'bias', 'copy', [filters]);
    let y = `self.${ctx.attr}(${x!.name})`;
    if (!inline) y = `${y}[:, :, ${crop[0]![0]}:${crop[0]![0] + out.shape[0]!}, ${crop[1]![0]}:${crop[1]![0] + out.shape[1]!}]`;
    return activation(String(config.activation ?? 'linear'), y, out, ctx);
  },
  maxPooling2d: pooling('max'),
  averagePooling2d: pooling('avg'),
  globalAveragePooling1d: (_c, [x]) => `${x!.name}.mean(dim=1)`,
  globalAveragePooling2d: (_c, [x]) => `${x!.name}.mean(dim=(2, 3))`,
  batchNormalization,
  layerNormalization,
  PatchbayGroupNormalization(config, [x], _out, ctx) {
    const c = x!.shape[x!.shape.length - 1]!;
    ctx.init(`self.${ctx.attr} = nn.GroupNorm(${Number(config.groups)}, ${c}, eps=${pyLiteral(Number(config.epsilon ?? 1e-5))})`);
    ctx.weight('gamma', 'weight', 'copy', [c]);
    ctx.weight('beta', 'bias', 'copy', [c]);
    // nn.GroupNorm wants channels second; (N, L, C) sequences move there and back.
    return x!.shape.length === 2 ? `self.${ctx.attr}(${x!.name}.transpose(1, 2)).transpose(1, 2)` : `self.${ctx.attr}(${x!.name})`;
  },
  PatchbayRandomTranslation(config, [x], _out, ctx) {
    ctx.helper('RandomTranslation');
    ctx.init(`self.${ctx.attr} = RandomTranslation(${Number(config.pixels ?? 2)})`);
    return `self.${ctx.attr}(${x!.name})`;
  },
  PatchbayL2Normalize: (config, [x]) =>
    `F.normalize(${x!.name}, dim=${torchAxis(Number(config.axis ?? -1), x!.shape.length + 1)}, eps=${pyLiteral(Number(config.epsilon ?? 1e-12))})`,
  activation: (config, [x], out, ctx) => activation(String(config.activation), x!.name, out, ctx),
  dropout(config, [x], _out, ctx) {
    ctx.init(`self.${ctx.attr} = nn.Dropout(${pyLiteral(Number(config.rate))})`);
    return `self.${ctx.attr}(${x!.name})`;
  },
  embedding(config, [x], _out, ctx) {
    const n = Number(config.inputDim);
    const d = Number(config.outputDim);
    ctx.init(`self.${ctx.attr} = nn.Embedding(${n}, ${d})`);
    ctx.weight('embeddings', 'weight', 'copy', [n, d]);
    return `self.${ctx.attr}(${x!.name}.long())`;
  },
  flatten: (_c, [x]) => `torch.flatten(${isImage(x!) ? toChannelsLast(x!.name) : x!.name}, 1)`,
  reshape: (_c, [x], out) => graphOrderReshape(x!, out, (v) => `${v}.reshape(-1, ${out.shape.join(', ')})`),
  permute(config, [x], out) {
    const dims = [0, ...(config.dims as number[])];
    const before = isImage(x!) ? [0, 2, 3, 1] : dims.map((_, i) => i);
    const after = isImage(out) ? [0, 3, 1, 2] : dims.map((_, i) => i);
    return `${x!.name}.permute(${compose(compose(before, dims), after).join(', ')})`;
  },
  upSampling2d(config, [x], out, ctx) {
    const [sh, sw] = pair(config.size ?? 2);
    if (config.interpolation === 'bilinear') {
      // tfjs resizes with TensorFlow's legacy sampling (no half-pixel centres), not PyTorch's.
      ctx.helper('resize_bilinear_tf');
      return `resize_bilinear_tf(${x!.name}, (${out.shape[0]}, ${out.shape[1]}))`;
    }
    return `F.interpolate(${x!.name}, scale_factor=(${sh}, ${sw}), mode="nearest")`;
  },
  add: (_c, inputs) => inputs.map((v) => v.name).join(' + '),
  multiply: (_c, inputs) => inputs.map((v) => v.name).join(' * '),
  concatenate: (config, inputs) =>
    `torch.cat([${inputs.map((v) => v.name).join(', ')}], dim=${torchAxis(Number(config.axis ?? -1), inputs[0]!.shape.length + 1)})`,
  // ViT's and CLIP's token layers and CapsNet's capsules: ./pytorch-layers-attention.
  ...ATTENTION_EMITTERS,
  // The flow steps (RealNVP, Glow) and the diffusion layers (DDPM): ./pytorch-layers-generative.
  ...GENERATIVE_EMITTERS,
  // GLOM's levels, update and patches-to-image: ./pytorch-layers-glom.
  ...glomEmitters((message) => new PytorchExportError(message)),
};

/** ZeroPadding2D: one number, [height, width] or [[top, bottom], [left, right]], as Keras accepts. */
LAYER_EMITTERS.zeroPadding2d = (config, [x]) => {
  const p = config.padding;
  const pads: [[number, number], [number, number]] =
    typeof p === 'number'
      ? [
          [p, p],
          [p, p],
        ]
      : Array.isArray(p) && typeof p[0] === 'number'
        ? [
            [Number(p[0]), Number(p[0])],
            [Number(p[1]), Number(p[1])],
          ]
        : (p as [[number, number], [number, number]]);
  return fPad(x!.name, pads);
};

/** Helper functions and classes model.py carries when a layer needs them. */
export const HELPERS: Record<HelperName, string> = {
  SeparableConv2d: `class SeparableConv2d(nn.Module):
    """A depthwise convolution then a 1x1 pointwise one, as tfjs's SeparableConv2D (one bias, after both)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, depth_multiplier, bias):
        super().__init__()
        mid = in_channels * depth_multiplier
        self.depthwise = nn.Conv2d(in_channels, mid, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(mid, out_channels, 1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))`,
  RandomTranslation: `class RandomTranslation(nn.Module):
    """Augmentation inside the model, as the graph's RandomTranslation: while training, each image
    moves by its own whole-pixel offset in [-pixels, pixels] on both axes and zeros move in from
    outside; in eval mode the input passes through unchanged. No weights."""

    def __init__(self, pixels):
        super().__init__()
        self.pixels = pixels

    def forward(self, x):
        if not self.training or self.pixels == 0:
            return x
        n, _, height, width = x.shape
        p = self.pixels
        dy = torch.randint(-p, p + 1, (n, 1), device=x.device)
        dx = torch.randint(-p, p + 1, (n, 1), device=x.device)
        # Source rows and columns in the zero-padded image: pixel (r, c) reads (r - dy, c - dx).
        rows = torch.arange(height, device=x.device).view(1, height) - dy + p
        cols = torch.arange(width, device=x.device).view(1, width) - dx + p
        padded = F.pad(x, (p, p, p, p)).permute(0, 2, 3, 1)
        batch = torch.arange(n, device=x.device).view(n, 1, 1)
        return padded[batch, rows.view(n, height, 1), cols.view(n, 1, width)].permute(0, 3, 1, 2)`,
  avg_pool_excluding_padding: `def avg_pool_excluding_padding(x, kernel, stride, pads):
    """Average pooling over padded windows that counts only the pixels inside the image, as
    TensorFlow's padding "same" does (pads: left, right, top, bottom; they may differ)."""
    ones = torch.ones_like(x[:, :1])
    total = F.avg_pool2d(F.pad(x, pads), kernel, stride)
    count = F.avg_pool2d(F.pad(ones, pads), kernel, stride)
    return total / count`,
  resize_bilinear_tf: `def resize_bilinear_tf(x, size):
    """Bilinear resize with TensorFlow's legacy sampling (align_corners=False, no half-pixel
    centres), which tfjs's UpSampling2D uses: output pixel i reads input position i * in / out."""
    height, width = x.shape[2], x.shape[3]
    out_h, out_w = size
    ys = torch.arange(out_h, dtype=x.dtype, device=x.device) * (height / out_h)
    xs = torch.arange(out_w, dtype=x.dtype, device=x.device) * (width / out_w)
    y0 = ys.floor().long()
    x0 = xs.floor().long()
    y1 = (y0 + 1).clamp(max=height - 1)
    x1 = (x0 + 1).clamp(max=width - 1)
    wy = (ys - y0).view(1, 1, out_h, 1)
    wx = (xs - x0).view(1, 1, 1, out_w)
    top = x[:, :, y0][:, :, :, x0] * (1 - wx) + x[:, :, y0][:, :, :, x1] * wx
    bottom = x[:, :, y1][:, :, :, x0] * (1 - wx) + x[:, :, y1][:, :, :, x1] * wx
    return top * (1 - wy) + bottom * wy`,
  hard_sigmoid: `def hard_sigmoid(x):
    """tfjs's hardSigmoid: clip(0.2 x + 0.5, 0, 1) (PyTorch's F.hardsigmoid uses x / 6 + 0.5)."""
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)`,
  ...ATTENTION_HELPERS,
  ...GENERATIVE_HELPERS,
  ...GLOM_HELPERS,
};
