import { z } from 'zod';
import { times } from '../cost';
import { formatShape, requireRank } from '../shape';
import { defineSpec, IN, OUT, type Shape, type ShapeProblem } from '../spec';

/** Checks a (batch, tokens, width) input and returns its width, or the problem (shared by the token layers). */
export function tokenWidth(x: Shape, what: string): number | ShapeProblem {
  const problem = requireRank(
    x,
    3,
    3,
    `${what} takes a sequence of tokens (batch, tokens, width); flatten an image's patches first (Patch embed with tokens on).`,
  );
  if (problem) return problem;
  const width = x[2];
  if (width === null || width === undefined)
    return {
      code: 'PB305',
      port: 'in',
      message: `Received ${formatShape(x)} with an unknown width, expected a known size.`,
      help: 'Give the tokens a fixed last dimension.',
    };
  return width;
}

/**
 * Multi-head self-attention with a fused query/key/value projection, as ViT's and CLIP's code has it.
 * tfjs's own attention is built on einsum, which has no gradient, so this lowers to the custom layer
 * PatchbayMultiHeadSelfAttention (src/runtime/layers), written with batched matMul.
 */
export const MultiHeadSelfAttentionSpec = defineSpec({
  type: 'MultiHeadSelfAttention',
  version: 1,
  label: 'Multi-head self-attention',
  category: 'Core',
  aliases: ['attention', 'mhsa', 'msa', 'self-attention', 'transformer', 'MultiHeadAttention'],
  description:
    'Every token attends to every token (or, causal, to those before it): softmax(q·kᵀ/√d)·v in several heads, from one fused q/k/v projection, then an output projection back to the width. Shape unchanged.',
  inputs: [{ ...IN, minRank: 3, maxRank: 3 }],
  outputs: [OUT],
  params: z.object({
    numHeads: z.number().int().min(1).default(4).describe('How many heads attend in parallel (ViT-B: 12).'),
    keyDim: z.number().int().min(0).default(0).describe('Size of each head; 0 splits the width evenly over the heads (width / numHeads), as ViT and CLIP do.'),
    dropout: z.number().min(0).max(1).default(0).describe('Dropout on the attention weights while training (0 in ViT and CLIP).'),
    causal: z.boolean().default(false).describe('Each token sees only itself and the tokens before it, as in a text transformer.'),
    useBias: z.boolean().default(true).describe('Biases on the q/k/v and output projections.'),
  }),
  keyParams: ['numHeads'],
  infer(p, [x]) {
    const width = tokenWidth(x!, 'Multi-head self-attention');
    if (typeof width !== 'number') return width;
    if (p.keyDim === 0 && width % p.numHeads !== 0) {
      const fits =
        Array.from({ length: width }, (_, i) => i + 1)
          .filter((d) => width % d === 0 && d <= p.numHeads)
          .pop() ?? 1;
      return {
        code: 'PB300',
        param: 'numHeads',
        message: `Received ${p.numHeads} heads for a width of ${width}, expected a number of heads that divides the width (or a keyDim).`,
        help: `Use ${fits} heads (or another divisor of ${width}), or set keyDim to the size of each head.`,
      };
    }
    return x!;
  },
  countParams(p, [x]) {
    const width = x![2] ?? 0;
    const inner = p.numHeads * (p.keyDim || width / p.numHeads);
    // Fused q/k/v kernel and output kernel, and their biases.
    return { trainable: width * 3 * inner + inner * width + (p.useBias ? 3 * inner + width : 0), nonTrainable: 0 };
  },
  cost(p, [x]) {
    const [tokens, width] = [x![1] ?? null, x![2] ?? 0];
    const inner = p.numHeads * (p.keyDim || width / p.numHeads);
    // q/k/v projection, q·kᵀ, weights·v, output projection.
    const macs = times(tokens, 3 * width * inner + inner * width);
    const square = times(tokens, tokens);
    return {
      macs: macs === null || square === null ? null : macs + 2 * square * inner,
      // Kept for the backward pass: q, k, v, the scores and their softmax per head, the heads' outputs, the output.
      activations: tokens === null || square === null ? null : 3 * tokens * inner + 2 * p.numHeads * square + tokens * inner + tokens * width,
    };
  },
  lower: (p) => ({
    kind: 'layer',
    factory: 'PatchbayMultiHeadSelfAttention',
    custom: true,
    config: { numHeads: p.numHeads, keyDim: p.keyDim, dropout: p.dropout, causal: p.causal, useBias: p.useBias },
  }),
  examples: [
    { params: { numHeads: 2 }, inputs: [[5, 8]] },
    { params: { numHeads: 3, keyDim: 4, causal: true, useBias: false }, inputs: [[6, 10]] },
    { params: { numHeads: 4, dropout: 0.1 }, inputs: [[17, 64]] },
  ],
});
