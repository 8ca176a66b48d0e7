/** Whether a plan can train on the built-in dataset (MNIST), in words a user can act on. */
import type { Plan } from '../compiler/plan';
import { formatShape } from '../nodes/shape';

/** Why this plan cannot train on MNIST, in words, or null when it fits. */
export function mnistMismatch(plan: Plan): string | null {
  const hint = 'To try training, load the ConvMixer template with the mnist preset (Templates).';
  const inputs = plan.main.steps.filter((s) => s.kind === 'input');
  const input = inputs[0];
  if (inputs.length !== 1 || plan.main.outputs.length !== 1 || !input || input.kind !== 'input') {
    return `Training on MNIST needs a graph with one Input and one output; this one has ${inputs.length} input${inputs.length === 1 ? '' : 's'} and ${plan.main.outputs.length} output${plan.main.outputs.length === 1 ? '' : 's'}. ${hint}`;
  }
  if (input.shape.join('x') !== '28x28x1') {
    return `The model takes ${formatShape([null, ...input.shape])}, but MNIST digits are (None, 28, 28, 1): set the Input's shape to [28, 28, 1]. ${hint}`;
  }
  const out = plan.main.outputs[0]!.shape;
  if (!out || out.length !== 2 || out[1] !== 10) {
    return `The model outputs ${out ? formatShape(out) : 'an unknown shape'}, but MNIST has 10 classes: end with Dense(10) and a softmax. ${hint}`;
  }
  return null;
}

