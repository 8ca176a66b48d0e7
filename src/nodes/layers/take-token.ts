import { z } from 'zod';
import { times } from '../cost';
import { formatShape } from '../shape';
import { defineSpec, IN, OUT } from '../spec';
import { tokenWidth } from './multi-head-self-attention';

/**
 * One token out of a sequence: ViT's class token (position 0), or CLIP's end-of-text token, at the
 * position of each example's largest token id (ids on the second port). Lowers to the custom layer
 * PatchbayTakeToken (src/runtime/layers).
 */
export const TakeTokenSpec = defineSpec({
  type: 'TakeToken',
  version: 1,
  label: 'Take token',
  category: 'Reshaping',
  aliases: ['cls', 'class token output', 'eot', 'end of text', 'pool token', 'select token'],
  description:
    'Takes one token out of the sequence, (batch, tokens, width) → (batch, width): the first (the class token), or per example the token at the end-of-text position, where the token ids wired to "ids" are largest.',
  inputs: [
    { ...IN, minRank: 3, maxRank: 3 },
    // Variadic with no connection needed: an optional port, used only in endOfText mode (the spec checks there is at most one wire).
    { name: 'ids', label: 'token ids', minRank: 2, maxRank: 2, variadic: true, minConnections: 0 },
  ],
  outputs: [OUT],
  params: z.object({
    mode: z
      .enum(['first', 'endOfText'])
      .default('first')
      .describe(
        '"first": the token at position 0 (ViT\'s class token). "endOfText": the token where the ids are largest (CLIP\'s end-of-text token has the largest id); wire the ids to the second port.',
      ),
  }),
  keyParams: ['mode'],
  infer(p, inputs) {
    const [x, ...ids] = inputs;
    const width = tokenWidth(x!, 'Take token');
    if (typeof width !== 'number') return width;
    if (p.mode === 'first') {
      if (ids.length > 0)
        return {
          code: 'PB300',
          param: 'mode',
          port: 'ids',
          message: 'Received token ids on "ids" in "first" mode, which does not read them.',
          help: 'Set mode to "endOfText" to take the token at the end-of-text position, or remove the wire into "ids".',
        };
      return [x![0]!, width];
    }
    if (ids.length !== 1)
      return {
        code: 'PB200',
        port: 'ids',
        message: `Received ${ids.length} wires into "ids" in "endOfText" mode, expected one: the token ids, (batch, tokens).`,
        help: 'Wire the token ids (the Input of the text) to "ids".',
      };
    const id = ids[0]!;
    if (id.length !== 2 || (id[1] !== null && x![1] !== null && id[1] !== x![1]))
      return {
        code: 'PB302',
        port: 'ids',
        message: `Received token ids of shape ${formatShape(id)} for tokens of shape ${formatShape(x!)}, expected ids shaped (batch, ${x![1] ?? 'tokens'}).`,
        help: 'Wire the ids of the same text whose tokens come in on the first port.',
      };
    return [x![0]!, width];
  },
  countParams: () => ({ trainable: 0, nonTrainable: 0 }),
  // "first" is a slice; "endOfText" multiplies a one-hot row into the tokens.
  cost: (p, [x]) => ({ macs: p.mode === 'endOfText' ? times(x![1] ?? null, x![2] ?? null) : 0 }),
  lower: (p) => ({ kind: 'layer', factory: 'PatchbayTakeToken', custom: true, config: { mode: p.mode } }),
  examples: [
    { params: {}, inputs: [[5, 6]] },
    { params: { mode: 'endOfText' }, inputs: [[7, 4], [7]] },
  ],
});
