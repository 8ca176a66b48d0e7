import * as tf from '@tensorflow/tfjs';

/** What PatchbayMultiHeadSelfAttention takes: tfjs's own layer arguments (name, trainable…) plus its params. */
export type PatchbayMultiHeadSelfAttentionArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & {
  /** How many heads attend in parallel. */
  numHeads: number;
  /** Size of each head's queries, keys and values; 0 (or left out) derives it as the input width / numHeads. */
  keyDim?: number;
  /** Dropout rate on the attention weights while training. */
  dropout?: number;
  /** Each token attends only to itself and the tokens before it (text transformers). */
  causal?: boolean;
  /** Biases on the fused query/key/value projection and the output projection. */
  useBias?: boolean;
  /** Seeds the attention dropout; a seeded training loop sets it before each step. */
  seed?: number;
};

/**
 * Multi-head self-attention (Vaswani et al. 2017; ViT's MSA and CLIP's text attention): one fused
 * projection to queries, keys and values ([width, 3·heads·keyDim], laid out as timm's and CLIP's
 * `qkv` Linear: q for every head, then k, then v), softmax(q·kᵀ/√keyDim) per head (with a causal mask
 * when asked), the weighted values concatenated over heads, and an output projection back to the
 * input width. Written only with reshape, split, transpose, batched matMul and softmax of rank ≤ 4,
 * so that autodiff gives its gradient on every backend (tfjs's own attention uses einsum, which has
 * none). Input and output (batch, tokens, width).
 */
export class PatchbayMultiHeadSelfAttention extends tf.layers.Layer {
  /** The name tfjs keys its serialisation on (model.json's class_name); prefixed so that it cannot meet a tfjs class. */
  static className = 'PatchbayMultiHeadSelfAttention';
  readonly numHeads: number;
  readonly keyDim: number;
  readonly dropout: number;
  readonly causal: boolean;
  readonly useBias: boolean;
  seed: number | undefined;
  /** Named like tfjs's own initialiser fields, so that a seeded build gives each its own seed. */
  qkvKernelInitializer = tf.initializers.glorotUniform({});
  outputKernelInitializer = tf.initializers.glorotUniform({});
  biasInitializer = tf.initializers.zeros();
  private qkvKernel: tf.LayerVariable | null = null;
  private qkvBias: tf.LayerVariable | null = null;
  private outputKernel: tf.LayerVariable | null = null;
  private outputBias: tf.LayerVariable | null = null;

  constructor(args: PatchbayMultiHeadSelfAttentionArgs) {
    super(args);
    if (!Number.isInteger(args.numHeads) || args.numHeads < 1)
      throw new Error(`MultiHeadSelfAttention needs a whole number of heads of at least 1, got ${args.numHeads}.`);
    this.numHeads = args.numHeads;
    this.keyDim = args.keyDim ?? 0;
    this.dropout = args.dropout ?? 0;
    this.causal = args.causal ?? false;
    this.useBias = args.useBias ?? true;
    this.seed = args.seed;
  }

  /** The size of each head: keyDim, or the width split evenly over the heads. */
  private headSize(width: number): number {
    if (this.keyDim > 0) return this.keyDim;
    if (width % this.numHeads !== 0)
      throw new Error(`MultiHeadSelfAttention splits a width of ${width} over ${this.numHeads} heads, but ${width} is not a multiple of ${this.numHeads}.`);
    return width / this.numHeads;
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const width = shape[shape.length - 1];
    if (shape.length !== 3 || width == null)
      throw new Error(`MultiHeadSelfAttention takes (batch, tokens, width) with a known width, got input shape [${shape.join(', ')}].`);
    const inner = this.numHeads * this.headSize(width);
    this.qkvKernel = this.addWeight('qkv_kernel', [width, 3 * inner], 'float32', this.qkvKernelInitializer);
    if (this.useBias) this.qkvBias = this.addWeight('qkv_bias', [3 * inner], 'float32', this.biasInitializer);
    this.outputKernel = this.addWeight('output_kernel', [inner, width], 'float32', this.outputKernelInitializer);
    if (this.useBias) this.outputBias = this.addWeight('output_bias', [width], 'float32', this.biasInitializer);
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /**
   * The attention probabilities softmax(q·kᵀ/√keyDim) per head (causal mask included) and the values
   * they weight, each [batch, heads, tokens, ·]. `call` and `attentionWeights` both take them from
   * here, so the weights the editor shows are the ones the output is made of.
   */
  private weightsAndValues(x: tf.Tensor): { weights: tf.Tensor; v: tf.Tensor } {
    const [batch, tokens, width] = x.shape as [number, number, number];
    const heads = this.numHeads;
    const size = this.headSize(width);
    let qkv = tf.matMul(tf.reshape(x, [batch * tokens, width]), this.qkvKernel!.read());
    if (this.qkvBias) qkv = tf.add(qkv, this.qkvBias.read());
    // Columns: q of every head, then k, then v; each to [batch, heads, tokens, size].
    const [q, k, v] = tf.split(qkv, 3, 1).map((part) => tf.transpose(tf.reshape(part, [batch, tokens, heads, size]), [0, 2, 1, 3]));
    let scores = tf.matMul(tf.mul(q!, 1 / Math.sqrt(size)), k!, false, true); // [batch, heads, tokens, tokens]
    if (this.causal) {
      // A large negative number rather than -Infinity: the softmax gives the same zeros, and its gradient stays finite.
      const mask = new Float32Array(tokens * tokens);
      for (let i = 0; i < tokens; i++) for (let j = i + 1; j < tokens; j++) mask[i * tokens + j] = -1e9;
      scores = tf.add(scores, tf.tensor2d(mask, [tokens, tokens]));
    }
    return { weights: tf.softmax(scores), v: v! };
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const [batch, tokens, width] = x.shape as [number, number, number];
      const inner = this.numHeads * this.headSize(width);
      const softmax = this.weightsAndValues(x);
      const weights = kwargs?.training && this.dropout > 0 ? tf.dropout(softmax.weights, this.dropout, undefined, this.seed) : softmax.weights;
      const attended = tf.matMul(weights, softmax.v); // [batch, heads, tokens, size]
      const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [batch * tokens, inner]);
      let out = tf.matMul(merged, this.outputKernel!.read());
      if (this.outputBias) out = tf.add(out, this.outputBias.read());
      return tf.reshape(out, [batch, tokens, width]);
    });
  }

  /**
   * How much each token attends to each other token, [batch, heads, tokens (query), tokens (key)]:
   * each row sums to 1. Computed with the current weights on this (batch, tokens, width) input, as
   * at inference (no dropout); the layer's output is not touched. For looking inside a trained
   * model (the editor's attention maps), not for training.
   */
  attentionWeights(input: tf.Tensor): tf.Tensor4D {
    if (!this.built) throw new Error('MultiHeadSelfAttention has no weights yet: build or apply the layer before asking for its attention.');
    if (input.rank !== 3) throw new Error(`MultiHeadSelfAttention takes (batch, tokens, width), got a tensor of shape [${input.shape.join(', ')}].`);
    return tf.tidy(() => this.weightsAndValues(input).weights as tf.Tensor4D);
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numHeads: this.numHeads, keyDim: this.keyDim, dropout: this.dropout, causal: this.causal, useBias: this.useBias };
  }
}
tf.serialization.registerClass(PatchbayMultiHeadSelfAttention);
