import { z } from 'zod';
import { defineSpec, IN, NO_PARAMS, OUT } from '../spec';
import { VIEW } from '../cost';

const portName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
  .default('x')
  .describe('The port name the block shows for this connection.');

/** Inside a block body: where an input of the block enters. Its shape comes from the caller. */
export const BlockInputSpec = defineSpec({
  type: 'BlockInput',
  version: 1,
  label: 'Block input',
  category: 'Blocks',
  internal: true,
  description: 'An input port of the block being edited.',
  inputs: [],
  outputs: [OUT],
  params: z.object({ name: portName }),
  keyParams: ['name'],
  // The compiler substitutes the caller's shape; on its own a block input has no shape.
  infer: () => ({ code: 'PB209', message: 'A block input has no shape outside a block.', help: 'Use Input in the main graph.' }),
  countParams: () => NO_PARAMS,
  // Ports pass the tensor through: nothing computed, nothing new kept.
  cost: VIEW,
  lower: () => ({ kind: 'input' }),
  examples: [],
});

/** Inside a block body: what the block returns. */
export const BlockOutputSpec = defineSpec({
  type: 'BlockOutput',
  version: 1,
  label: 'Block output',
  category: 'Blocks',
  internal: true,
  description: 'An output port of the block being edited.',
  inputs: [IN],
  outputs: [],
  params: z.object({ name: portName.default('y') }),
  keyParams: ['name'],
  infer: (_p, [x]) => x!,
  countParams: () => NO_PARAMS,
  // Ports pass the tensor through: nothing computed, nothing new kept.
  cost: VIEW,
  lower: () => ({ kind: 'identity' }),
  examples: [],
});
