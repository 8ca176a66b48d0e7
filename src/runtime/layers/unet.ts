import * as tf from '@tensorflow/tfjs';

/** What PatchbayUNet takes: tfjs's own layer arguments (name, trainable…) plus the UNet's shape. */
export type PatchbayUNetArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** Channels of the first level (DDPM's ch); the timestep MLP is 4× as wide. */
  channels: number;
  /** Channel multiplier per level; one level fewer downsamplings than entries. */
  channelMult: number[];
  /** Residual blocks per level on the way down (one more on the way up, as DDPM). */
  resBlocks: number;
  /** Spatial sizes (height) at which a self-attention block follows each residual block. */
  attentionResolutions: number[];
  /** Output channels (the image's channels for ε prediction). */
  outChannels: number;
  /** Dropout in the residual blocks while training. */
  dropout?: number;
  /** GroupNorm groups (32 in DDPM). */
  groups?: number;
  /** Attention heads (DDPM: 1). */
  heads?: number;
  /** ADM's AdaGN: the timestep gives a scale and a shift after the second norm, instead of DDPM's added bias. */
  scaleShift?: boolean;
};

/** One stage of the network, in order: a residual block, an attention block, a down- or upsampling. */
type PatchbayUNetStage =
  | { kind: 'res'; name: string; index: number; inC: number; outC: number; skip: 'push' | 'pop' | 'none' }
  | { kind: 'attn'; name: string; c: number; push: boolean }
  | { kind: 'down'; name: string; c: number }
  | { kind: 'up'; name: string; c: number };

/**
 * The DDPM UNet (Ho et al. 2020, diffusion_tf/models/unet.py) as one layer, channels last, with
 * ADM's scale-shift norm as an option. Inputs: the noisy image [batch, H, W, C] and a sinusoidal
 * timestep embedding [batch, E] (the TimestepEmbedding layer). Inside:
 * - timestep MLP E → 4ch → swish → 4ch;
 * - conv 3×3 in; per level `resBlocks` residual blocks (GN, swish, conv, + dense(swish(temb)), GN,
 *   swish, dropout, zero-initialised conv; a 1×1 shortcut when the channels change), each followed
 *   by self-attention when the resolution is listed; a stride-2 conv between levels;
 * - middle: residual, attention, residual;
 * - on the way up `resBlocks + 1` residual blocks per level over the concatenation with the skip
 *   saved on the way down, nearest ×2 upsampling + conv between levels;
 * - GN, swish, zero-initialised conv 3×3 out.
 * Weight counts equal the paper's (35,746,307 for the CIFAR-10 model). 1×1 layers are matrix
 * products on [positions, channels] (faster to differentiate than 1×1 convolutions in tfjs).
 * Everything this layer needs is in this file, since the export copies it into a module of its own.
 */
export class PatchbayUNet extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayUNet';
  readonly channels: number;
  readonly channelMult: number[];
  readonly resBlocks: number;
  readonly attentionResolutions: number[];
  readonly outChannels: number;
  readonly dropout: number;
  readonly groups: number;
  readonly heads: number;
  readonly scaleShift: boolean;
  /** Named like tfjs's initialiser fields, so that a seeded build gives it a seed; each weight derives its own from it. */
  kernelInitializer: ReturnType<typeof tf.initializers.zeros> = tf.initializers.glorotUniform({});
  /** Dropout's seed; a seeded run sets it before each training step (seedStep), so masks repeat with the run. */
  seed: number | undefined = undefined;
  private weightsByName = new Map<string, tf.LayerVariable>();
  private stages: PatchbayUNetStage[] = [];

  constructor(args: PatchbayUNetArgs) {
    super(args);
    this.channels = args.channels;
    this.channelMult = [...args.channelMult];
    this.resBlocks = args.resBlocks;
    this.attentionResolutions = [...args.attentionResolutions];
    this.outChannels = args.outChannels;
    this.dropout = args.dropout ?? 0;
    this.groups = args.groups ?? 32;
    this.heads = args.heads ?? 1;
    this.scaleShift = args.scaleShift ?? false;
    if (!this.channelMult.length) throw new Error('A UNet needs at least one level (channelMult).');
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const [x, emb] = inputShape as tf.Shape[];
    if (!x || !emb || x.length !== 4 || emb.length !== 2)
      throw new Error('A UNet takes two inputs: images [batch, height, width, channels] and a timestep embedding [batch, features].');
    const [height, inC, embC] = [x[1]!, x[3]!, emb[1]!];
    const ch = this.channels;
    const tembC = 4 * ch;
    let seedIndex = 0;
    const base = (this.kernelInitializer.getConfig() as { seed?: number }).seed;
    const add = (name: string, shape: number[], init: 'glorot' | 'zeros' | 'ones') => {
      seedIndex++;
      const initializer =
        init === 'zeros'
          ? tf.initializers.zeros()
          : init === 'ones'
            ? tf.initializers.ones()
            : tf.initializers.glorotUniform(base === undefined ? {} : { seed: ((base + seedIndex * 7919) % 2147483646) + 1 });
      this.weightsByName.set(name, this.addWeight(name, shape, 'float32', initializer));
    };
    const dense = (name: string, i: number, o: number, zero = false) => {
      add(`${name}/kernel`, [i, o], zero ? 'zeros' : 'glorot');
      add(`${name}/bias`, [o], 'zeros');
    };
    const conv = (name: string, i: number, o: number, zero = false) => {
      add(`${name}/kernel`, [3, 3, i, o], zero ? 'zeros' : 'glorot');
      add(`${name}/bias`, [o], 'zeros');
    };
    const norm = (name: string, c: number) => {
      if (c % this.groups !== 0)
        throw new Error(`The UNet's GroupNorm splits ${c} channels into ${this.groups} groups, but ${c} is not a multiple of ${this.groups}.`);
      add(`${name}/gamma`, [c], 'ones');
      add(`${name}/beta`, [c], 'zeros');
    };
    const stages: PatchbayUNetStage[] = [];
    const res = (name: string, c: number, o: number, skip: 'push' | 'pop' | 'none') => {
      norm(`${name}/norm1`, c);
      conv(`${name}/conv1`, c, o);
      dense(`${name}/temb`, tembC, this.scaleShift ? 2 * o : o);
      norm(`${name}/norm2`, o);
      conv(`${name}/conv2`, o, o, true);
      if (c !== o) dense(`${name}/shortcut`, c, o);
      stages.push({ kind: 'res', name, index: stages.length, inC: c, outC: o, skip });
    };
    const attn = (name: string, c: number, push: boolean) => {
      if (c % this.heads !== 0)
        throw new Error(`The UNet's attention splits ${c} channels into ${this.heads} heads, but ${c} is not a multiple of ${this.heads}.`);
      norm(`${name}/norm`, c);
      dense(`${name}/qkv`, c, 3 * c);
      dense(`${name}/proj`, c, c, true);
      stages.push({ kind: 'attn', name, c, push });
    };
    dense('time/dense0', embC, tembC);
    dense('time/dense1', tembC, tembC);
    conv('conv_in', inC, ch);
    const skips = [ch];
    let c = ch;
    let size = height;
    const levels = this.channelMult.length;
    for (let level = 0; level < levels; level++) {
      const o = ch * this.channelMult[level]!;
      for (let b = 0; b < this.resBlocks; b++) {
        const wantsAttn = this.attentionResolutions.includes(size);
        res(`down${level}_${b}`, c, o, wantsAttn ? 'none' : 'push');
        c = o;
        if (wantsAttn) attn(`down${level}_${b}_attn`, c, true);
        skips.push(c);
      }
      if (level !== levels - 1) {
        conv(`down${level}/conv`, c, c);
        stages.push({ kind: 'down', name: `down${level}/conv`, c });
        skips.push(c);
        size = Math.ceil(size / 2);
      }
    }
    res('mid_0', c, c, 'none');
    attn('mid_attn', c, false);
    res('mid_1', c, c, 'none');
    for (let level = levels - 1; level >= 0; level--) {
      const o = ch * this.channelMult[level]!;
      for (let b = 0; b < this.resBlocks + 1; b++) {
        res(`up${level}_${b}`, c + skips.pop()!, o, 'pop');
        c = o;
        if (this.attentionResolutions.includes(size)) attn(`up${level}_${b}_attn`, c, false);
      }
      if (level !== 0) {
        conv(`up${level}/conv`, c, c);
        stages.push({ kind: 'up', name: `up${level}/conv`, c });
        size *= 2;
      }
    }
    norm('out/norm', c);
    conv('out/conv', c, this.outChannels, true);
    this.stages = stages;
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const x = (inputShape as tf.Shape[])[0]!;
    return [x[0]!, x[1]!, x[2]!, this.outChannels];
  }

  private get(name: string): tf.Tensor {
    return this.weightsByName.get(name)!.read();
  }

  private groupNorm(name: string, x: tf.Tensor): tf.Tensor {
    const c = x.shape[3]!;
    const grouped = tf.reshape(x, [x.shape[0]!, -1, this.groups, c / this.groups]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true);
    const normalized = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, 1e-5))), x.shape);
    return tf.add(tf.mul(normalized, this.get(`${name}/gamma`)), this.get(`${name}/beta`));
  }

  private conv(name: string, x: tf.Tensor, strides = 1): tf.Tensor {
    return tf.add(tf.conv2d(x as tf.Tensor4D, this.get(`${name}/kernel`) as tf.Tensor4D, strides, 'same'), this.get(`${name}/bias`));
  }

  /** A dense layer on the last axis, as a matrix product over every position. */
  private dense(name: string, x: tf.Tensor): tf.Tensor {
    const kernel = this.get(`${name}/kernel`) as tf.Tensor2D;
    const rows = tf.reshape(x, [-1, kernel.shape[0]]) as tf.Tensor2D;
    return tf.reshape(tf.add(tf.matMul(rows, kernel), this.get(`${name}/bias`)), [...x.shape.slice(0, -1), kernel.shape[1]]);
  }

  private swish(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, tf.sigmoid(x));
  }

  private resBlock(s: Extract<PatchbayUNetStage, { kind: 'res' }>, x: tf.Tensor, temb: tf.Tensor, training: boolean): tf.Tensor {
    let h = this.conv(`${s.name}/conv1`, this.swish(this.groupNorm(`${s.name}/norm1`, x)));
    const e = tf.reshape(this.dense(`${s.name}/temb`, this.swish(temb)), [x.shape[0]!, 1, 1, -1]);
    if (this.scaleShift) {
      const [scale, shift] = tf.split(e, 2, 3);
      h = tf.add(tf.mul(this.groupNorm(`${s.name}/norm2`, h), tf.add(scale!, 1)), shift!);
    } else h = this.groupNorm(`${s.name}/norm2`, tf.add(h, e));
    h = this.swish(h);
    if (training && this.dropout > 0) h = tf.dropout(h, this.dropout, undefined, this.seed === undefined ? undefined : this.seed + s.index);
    h = this.conv(`${s.name}/conv2`, h);
    const shortcut = s.inC === s.outC ? x : this.dense(`${s.name}/shortcut`, x);
    return tf.add(shortcut, h);
  }

  /** Multi-head self-attention over the positions (DDPM's AttnBlock with 1 head), residual. */
  private attention(name: string, x: tf.Tensor): tf.Tensor {
    const [b, height, width, c] = x.shape as [number, number, number, number];
    const n = height * width;
    const heads = this.heads;
    const d = c / heads;
    const qkv = this.dense(`${name}/qkv`, tf.reshape(this.groupNorm(`${name}/norm`, x), [b, n, c]));
    // [b, n, 3, heads, d] → three [b·heads, n, d]: batch dims equal, so matMul's gradient is right (tfjs#8721).
    const perHead = (part: number) =>
      tf.reshape(tf.transpose(tf.reshape(tf.slice(qkv, [0, 0, part * c], [b, n, c]), [b, n, heads, d]), [0, 2, 1, 3]), [b * heads, n, d]);
    const [q, k, v] = [perHead(0), perHead(1), perHead(2)];
    const weights = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d)));
    const mixed = tf.reshape(tf.transpose(tf.reshape(tf.matMul(weights, v), [b, heads, n, d]), [0, 2, 1, 3]), [b, height, width, c]);
    return tf.add(x, this.dense(`${name}/proj`, mixed));
  }

  /**
   * Nearest-neighbour ×2 as a broadcast product with ones: [b, h, 1, w, 1, c] × [1, 1, 2, 1, 2, 1]. Its
   * gradient is one sum over the two new axes (a stack's is an unstack, several times slower in tfjs).
   */
  private upsample(x: tf.Tensor): tf.Tensor {
    const [b, h, w, c] = x.shape as [number, number, number, number];
    const spread = tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1]));
    return tf.reshape(spread, [b, 2 * h, 2 * w, c]);
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const [x, emb] = inputs as tf.Tensor[];
      const training = kwargs.training === true;
      const temb = this.dense('time/dense1', this.swish(this.dense('time/dense0', emb!)));
      let h = this.conv('conv_in', x!);
      const skips: tf.Tensor[] = [h];
      for (const s of this.stages) {
        switch (s.kind) {
          case 'res':
            h = this.resBlock(s, s.skip === 'pop' ? tf.concat([h, skips.pop()!], 3) : h, temb, training);
            if (s.skip === 'push') skips.push(h);
            break;
          case 'attn':
            h = this.attention(s.name, h);
            if (s.push) skips.push(h);
            break;
          case 'down':
            h = this.conv(s.name, h, 2);
            skips.push(h);
            break;
          case 'up':
            h = this.conv(s.name, this.upsample(h));
            break;
        }
      }
      return this.conv('out/conv', this.swish(this.groupNorm('out/norm', h)));
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      channels: this.channels,
      channelMult: this.channelMult,
      resBlocks: this.resBlocks,
      attentionResolutions: this.attentionResolutions,
      outChannels: this.outChannels,
      dropout: this.dropout,
      groups: this.groups,
      heads: this.heads,
      scaleShift: this.scaleShift,
    };
  }
}
tf.serialization.registerClass(PatchbayUNet);
